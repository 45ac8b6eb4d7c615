/* tls: TLS over in-memory buffers, free of any event loop. The owner feeds the
 * encrypted bytes it received with tls_feed, reads plaintext with tls_read,
 * writes plaintext with tls_write, and after every call sends whatever
 * tls_take_output yields: handshakes and TLS 1.3 tickets produce output even
 * while reading. Renegotiation is refused. */
#ifndef CALLFLOOR_TLS_H
#define CALLFLOOR_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "buf.h"

enum {
    TLS_E_WANT = -2001,     /* no plaintext yet; feed more input */
    TLS_E_CLOSED = -2002,   /* the peer sent close_notify */
    TLS_E_PROTOCOL = -2003, /* a TLS error; tls_error_string says which */
    TLS_E_NOMEM = -2004,
};

typedef enum tls_profile {
    TLS_PROFILE_INTERMEDIATE, /* TLS 1.2 and 1.3, Mozilla "intermediate" ciphers */
    TLS_PROFILE_MODERN,       /* TLS 1.3 only */
} tls_profile;

typedef struct tls_conn tls_conn;

/* Creates a server context from PEM files. `client_ca` may be NULL; when set,
 * client certificates are requested and verified but not required. ALPN
 * "callfloor/1" is required of clients that offer ALPN. Returns NULL and
 * writes a sentence into `err` on failure. */
SSL_CTX *tls_server_ctx_new(const char *cert_file, const char *key_file, const char *client_ca,
                            tls_profile profile, char *err, size_t errlen);
/* Creates a client context that verifies the server against `ca_file`
 * (NULL: the system store) and offers ALPN "callfloor/1". `cert_file` and
 * `key_file` may be NULL. */
SSL_CTX *tls_client_ctx_new(const char *ca_file, const char *cert_file, const char *key_file,
                            char *err, size_t errlen);

/* `server_name` (client side only) is sent as SNI and checked against the
 * certificate; may be NULL on the server side. */
tls_conn *tls_conn_new(SSL_CTX *ctx, bool is_server, const char *server_name);
void tls_conn_free(tls_conn *t);

/* Hands received ciphertext to TLS. Returns 0 or TLS_E_NOMEM. */
int tls_feed(tls_conn *t, const void *data, size_t len);
/* Advances the handshake. Returns 1 when established, 0 when it needs more
 * input, or TLS_E_PROTOCOL. */
int tls_handshake(tls_conn *t);
bool tls_established(const tls_conn *t);
/* Reads plaintext into `out`. Returns bytes read (> 0), TLS_E_WANT,
 * TLS_E_CLOSED or TLS_E_PROTOCOL. */
int tls_read(tls_conn *t, void *out, size_t cap);
/* Encrypts all `len` bytes (they are buffered inside if TLS cannot take
 * them at once). Returns 0 or a TLS_E_* code. */
int tls_write(tls_conn *t, const void *data, size_t len);
/* Moves all pending ciphertext into `out` (appending). Returns bytes moved
 * or TLS_E_NOMEM. */
int tls_take_output(tls_conn *t, buf *out);
/* Queues close_notify; take the output afterwards. */
void tls_shutdown(tls_conn *t);
/* Releases the read and write buffers, OpenSSL's and ours, that hold
 * nothing while the connection is idle. */
void tls_release_buffers(tls_conn *t);
/* The last error as a sentence, e.g. "certificate verify failed". */
const char *tls_error_string(const tls_conn *t);
/* Protocol and cipher, e.g. "TLSv1.3 TLS_AES_256_GCM_SHA384". */
const char *tls_describe(const tls_conn *t, char *out, size_t cap);
/* The ALPN protocol both ends agreed on into `out`; returns its length, or
 * -1 when none was negotiated (or it does not fit). */
int tls_alpn_selected(const tls_conn *t, char *out, size_t cap);
/* The subject CN of a verified client certificate into `out`, or -1. */
int tls_peer_common_name(const tls_conn *t, char *out, size_t cap);

#endif
