#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "version.h"

/* Mozilla's "intermediate" TLS 1.2 suites: forward secret AEADs only. */
#define TLS_INTERMEDIATE_CIPHERS                                 \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:" \
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384"

/* The server resumes no sessions (setup_server_protocols); OpenSSL still
 * wants a session id context whenever it verifies client certificates, so
 * one is set all the same. */
#define TLS_SESSION_CONTEXT "callfloord"

#define TLS_ERROR_MAX 384

/* OpenSSL reads ciphertext from `cipher_in` and writes it to `cipher_out`
 * through one BIO of our own (cipher_bio_new). Memory BIOs would keep
 * two BIOs and the capacity of their largest burst per connection, which
 * is most of what an idle session costs beyond OpenSSL's own state. */
struct tls_conn {
    SSL *ssl;
    bool is_server;
    int sticky;      /* TLS_E_CLOSED or TLS_E_PROTOCOL once the session ended */
    buf pending;     /* plaintext accepted by tls_write, not yet given to OpenSSL */
    buf cipher_in;   /* received ciphertext OpenSSL has not read yet */
    buf cipher_out;  /* ciphertext OpenSSL wrote, for tls_take_output */
    char *peer_name; /* client side: the name the certificate must match */
    char *error;     /* TLS_ERROR_MAX bytes, allocated by the first failure */
};

/* ---- error sentences ---- */

/* Sets the connection's error sentence. Most connections never fail, so
 * the buffer is allocated here; without memory the fixed sentence of
 * tls_error_string stands in. */
__attribute__((format(printf, 2, 3))) static void set_error(tls_conn *t, const char *fmt, ...) {
    if (t->error == NULL && (t->error = malloc(TLS_ERROR_MAX)) == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->error, TLS_ERROR_MAX, fmt, ap);
    va_end(ap);
}

/* The reason of the oldest queued OpenSSL error (usually the root cause),
 * then the queue is emptied so it cannot leak into another connection. */
static const char *take_openssl_reason(char *out, size_t cap) {
    unsigned long e = ERR_peek_error();
    const char *reason = e != 0 ? ERR_reason_error_string(e) : NULL;
    if (reason != NULL)
        snprintf(out, cap, "%s", reason);
    else if (e != 0)
        ERR_error_string_n(e, out, cap);
    else
        snprintf(out, cap, "no reason given by OpenSSL");
    ERR_clear_error();
    return out;
}

typedef struct tls_reason_text {
    int reason;
    const char *text;
} tls_reason_text;

/* Sentences for the failures an operator is likely to meet. */
static const tls_reason_text tls_reason_texts[] = {
    {SSL_R_HTTP_REQUEST, "the peer sent a plain HTTP request, not TLS (wrong port or scheme?)"},
    {SSL_R_HTTPS_PROXY_REQUEST, "the peer sent an HTTP proxy request, not TLS (wrong port?)"},
    {SSL_R_WRONG_VERSION_NUMBER, "the peer does not speak TLS (wrong version number in its first "
                                 "record; wrong port?)"},
    {SSL_R_PACKET_LENGTH_TOO_LONG, "the peer sent an oversized record; it probably does not "
                                   "speak TLS (wrong port?)"},
    {SSL_R_UNSUPPORTED_PROTOCOL, "no TLS version in common with the peer (TLS 1.2 is the "
                                 "minimum; tls.profile = modern requires TLS 1.3)"},
    {SSL_R_TLSV1_ALERT_PROTOCOL_VERSION, "the peer refused our TLS version (it may require TLS "
                                         "1.3, or allow only versions older than TLS 1.2)"},
    {SSL_R_NO_SHARED_CIPHER, "no cipher suite in common with the peer"},
    {SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE, "the peer aborted the handshake (no common cipher "
                                          "suite or key type?)"},
    {SSL_R_NO_APPLICATION_PROTOCOL,
     "the client offered ALPN protocols but not " CALLFLOOR_ALPN "; it is not a callfloor client"},
    {SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL,
     "the server does not accept ALPN " CALLFLOOR_ALPN " (is this a callfloord port?)"},
    {SSL_R_TLSV1_ALERT_UNKNOWN_CA, "the peer does not trust the CA that signed our certificate"},
    {SSL_R_SSLV3_ALERT_BAD_CERTIFICATE, "the peer rejected our certificate as bad"},
    {SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED, "the peer says our certificate has expired"},
    {SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED, "the server requires a client certificate (use "
                                              "--cert and --key)"},
    {SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC, "a TLS record failed its integrity check (data "
                                                "altered in transit?)"},
    {SSL_R_NO_RENEGOTIATION, "the peer refused a renegotiation"},
};

static const char *reason_text(int reason) {
    for (size_t i = 0; i < sizeof tls_reason_texts / sizeof tls_reason_texts[0]; i++)
        if (tls_reason_texts[i].reason == reason)
            return tls_reason_texts[i].text;
    return NULL;
}

static void describe_verify_failure(tls_conn *t, long verify) {
    if (t->is_server) {
        set_error(t, "client certificate verify failed: %s (check tls.client_ca)",
                  X509_verify_cert_error_string(verify));
    } else if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
        set_error(t,
                  "certificate verify failed: the server's certificate is not valid for '%s' "
                  "(connect with a name the certificate lists)",
                  t->peer_name != NULL ? t->peer_name : "");
    } else {
        set_error(t, "certificate verify failed: %s (check --ca)",
                  X509_verify_cert_error_string(verify));
    }
}

/* Turns the queued OpenSSL errors into one sentence in t->error. */
static void describe_failure(tls_conn *t, int ssl_error) {
    unsigned long e = ERR_peek_error();
    long verify = SSL_get_verify_result(t->ssl);
    const char *text = ERR_GET_LIB(e) == ERR_LIB_SSL ? reason_text(ERR_GET_REASON(e)) : NULL;
    if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED &&
        verify != X509_V_OK) {
        describe_verify_failure(t, verify);
    } else if (text != NULL) {
        set_error(t, "%s", text);
    } else if (e == 0 && ssl_error == SSL_ERROR_SYSCALL) {
        set_error(t, "the TLS session ended without close_notify");
    } else {
        char reason[160];
        set_error(t, "TLS error: %s", take_openssl_reason(reason, sizeof reason));
    }
    ERR_clear_error();
}

/* Maps the result of an SSL_* call to TLS_E_WANT, TLS_E_CLOSED or
 * TLS_E_PROTOCOL; the last two stick, as the session cannot recover. */
static int classify(tls_conn *t, int rc) {
    int ssl_error = SSL_get_error(t->ssl, rc);
    switch (ssl_error) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        return TLS_E_WANT;
    case SSL_ERROR_ZERO_RETURN:
        set_error(t, "the peer closed the TLS session (close_notify)");
        t->sticky = TLS_E_CLOSED;
        return TLS_E_CLOSED;
    default:
        describe_failure(t, ssl_error);
        t->sticky = TLS_E_PROTOCOL;
        return TLS_E_PROTOCOL;
    }
}

/* ---- contexts ---- */

static size_t alpn_wire(unsigned char *out) {
    size_t n = strlen(CALLFLOOR_ALPN);
    out[0] = (unsigned char)n;
    memcpy(out + 1, CALLFLOOR_ALPN, n);
    return n + 1;
}

/* Accepts only callfloor/1 from a client that offers ALPN at all; OpenSSL
 * answers SSL_TLSEXT_ERR_ALERT_FATAL with the no_application_protocol
 * alert. */
static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg) {
    size_t want = strlen(CALLFLOOR_ALPN);
    (void)ssl;
    (void)arg;
    for (unsigned int i = 0; i < inlen; i += 1u + in[i]) {
        size_t n = in[i];
        if (i + 1 + n > inlen)
            break;
        if (n == want && memcmp(in + i + 1, CALLFLOOR_ALPN, n) == 0) {
            *out = (const unsigned char *)CALLFLOOR_ALPN;
            *outlen = (unsigned char)n;
            return SSL_TLSEXT_ERR_OK;
        }
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* Checks that `path` opens, so the error names the file and errno rather
 * than OpenSSL's "system lib". */
static int check_readable(const char *path, const char *what, char *err, size_t errlen) {
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "cannot open the %s '%s': %s", what, path, strerror(errno));
        return -1;
    }
    fclose(f);
    return 0;
}

static bool is_key_mismatch(unsigned long e) {
    return (ERR_GET_LIB(e) == ERR_LIB_X509 && ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH) ||
           (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_PRIVATE_KEY_MISMATCH);
}

static int load_cert_and_key(SSL_CTX *ctx, const char *cert_file, const char *key_file, char *err,
                             size_t errlen) {
    char reason[160];
    if (check_readable(cert_file, "certificate file", err, errlen) < 0 ||
        check_readable(key_file, "private key file", err, errlen) < 0)
        return -1;
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        snprintf(err, errlen, "'%s' holds no usable PEM certificate: %s", cert_file,
                 take_openssl_reason(reason, sizeof reason));
        return -1;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) == 1 &&
        SSL_CTX_check_private_key(ctx) == 1) {
        ERR_clear_error();
        return 0;
    }
    if (is_key_mismatch(ERR_peek_error()) || is_key_mismatch(ERR_peek_last_error())) {
        ERR_clear_error();
        snprintf(err, errlen, "the private key in '%s' does not belong to the certificate in '%s'",
                 key_file, cert_file);
    } else {
        snprintf(err, errlen, "'%s' holds no usable PEM private key: %s", key_file,
                 take_openssl_reason(reason, sizeof reason));
    }
    return -1;
}

static SSL_CTX *new_ctx(const SSL_METHOD *method, int min_version, char *err, size_t errlen) {
    SSL_CTX *ctx = SSL_CTX_new(method);
    if (ctx == NULL) {
        char reason[160];
        snprintf(err, errlen, "cannot create a TLS context: %s",
                 take_openssl_reason(reason, sizeof reason));
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, min_version);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    /* Plaintext waiting in tls_conn.pending moves when that buffer grows. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    return ctx;
}

static int setup_client_ca(SSL_CTX *ctx, const char *client_ca, char *err, size_t errlen) {
    char reason[160];
    if (check_readable(client_ca, "client CA file", err, errlen) < 0)
        return -1;
    if (SSL_CTX_load_verify_locations(ctx, client_ca, NULL) != 1) {
        snprintf(err, errlen, "'%s' holds no usable CA certificate: %s", client_ca,
                 take_openssl_reason(reason, sizeof reason));
        return -1;
    }
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(client_ca);
    if (names == NULL) {
        snprintf(err, errlen, "'%s' holds no CA certificate to name to clients: %s", client_ca,
                 take_openssl_reason(reason, sizeof reason));
        return -1;
    }
    SSL_CTX_set_client_CA_list(ctx, names);
    /* Requested and verified, but optional: clients may log in with a
     * password instead. */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    return 0;
}

static int setup_server_protocols(SSL_CTX *ctx, tls_profile profile, char *err, size_t errlen) {
    char reason[160];
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
    if (profile == TLS_PROFILE_INTERMEDIATE) {
        if (SSL_CTX_set_cipher_list(ctx, TLS_INTERMEDIATE_CIPHERS) != 1) {
            snprintf(err, errlen, "cannot set the intermediate cipher list: %s",
                     take_openssl_reason(reason, sizeof reason));
            return -1;
        }
        SSL_CTX_set_dh_auto(ctx, 1);
    }
    const unsigned char *session_ctx = (const unsigned char *)TLS_SESSION_CONTEXT;
    if (SSL_CTX_set_session_id_context(ctx, session_ctx, strlen(TLS_SESSION_CONTEXT)) != 1) {
        snprintf(err, errlen, "cannot set the TLS session context: %s",
                 take_openssl_reason(reason, sizeof reason));
        return -1;
    }
    SSL_CTX_set_alpn_select_cb(ctx, select_alpn, NULL);
    /* Clients keep one connection for a whole shift and never resume a
     * session, so the server issues no tickets (SSL_OP_NO_TICKET for TLS
     * 1.2, none of TLS 1.3's) and caches no sessions: less work in each
     * handshake, and no cache filling with sessions nobody asks for. */
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    return 0;
}

SSL_CTX *tls_server_ctx_new(const char *cert_file, const char *key_file, const char *client_ca,
                            tls_profile profile, char *err, size_t errlen) {
    int min_version = profile == TLS_PROFILE_MODERN ? TLS1_3_VERSION : TLS1_2_VERSION;
    SSL_CTX *ctx = new_ctx(TLS_server_method(), min_version, err, errlen);
    if (ctx == NULL)
        return NULL;
    if (setup_server_protocols(ctx, profile, err, errlen) < 0 ||
        load_cert_and_key(ctx, cert_file, key_file, err, errlen) < 0 ||
        (client_ca != NULL && setup_client_ca(ctx, client_ca, err, errlen) < 0)) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static int setup_trust(SSL_CTX *ctx, const char *ca_file, char *err, size_t errlen) {
    char reason[160];
    if (ca_file == NULL) {
        if (SSL_CTX_set_default_verify_paths(ctx) == 1)
            return 0;
        snprintf(err, errlen, "cannot load the system's CA certificates: %s (use --ca)",
                 take_openssl_reason(reason, sizeof reason));
        return -1;
    }
    if (check_readable(ca_file, "CA file", err, errlen) < 0)
        return -1;
    if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
        snprintf(err, errlen, "'%s' holds no usable CA certificate: %s", ca_file,
                 take_openssl_reason(reason, sizeof reason));
        return -1;
    }
    return 0;
}

SSL_CTX *tls_client_ctx_new(const char *ca_file, const char *cert_file, const char *key_file,
                            char *err, size_t errlen) {
    if (cert_file == NULL && key_file != NULL) {
        snprintf(err, errlen, "a client key was given without its certificate (use --cert too)");
        return NULL;
    }
    SSL_CTX *ctx = new_ctx(TLS_client_method(), TLS1_2_VERSION, err, errlen);
    if (ctx == NULL)
        return NULL;
    unsigned char alpn[256];
    size_t alpn_len = alpn_wire(alpn);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    /* SSL_CTX_set_alpn_protos returns 0 on success. */
    if (SSL_CTX_set_alpn_protos(ctx, alpn, (unsigned)alpn_len) != 0) {
        snprintf(err, errlen, "cannot offer ALPN %s: out of memory", CALLFLOOR_ALPN);
        SSL_CTX_free(ctx);
        return NULL;
    }
    /* A key may live in the certificate's own PEM file. */
    const char *key = key_file != NULL ? key_file : cert_file;
    if (setup_trust(ctx, ca_file, err, errlen) < 0 ||
        (cert_file != NULL && load_cert_and_key(ctx, cert_file, key, err, errlen) < 0)) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* ---- connections ---- */

/* OpenSSL asks for ciphertext; an empty `cipher_in` means "none yet",
 * never end of stream. */
static int cipher_bio_read(BIO *b, char *out, int cap) {
    tls_conn *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    size_t n = buf_pending(&t->cipher_in);
    if (n == 0 || cap <= 0) {
        BIO_set_retry_read(b);
        return -1;
    }
    if (n > (size_t)cap)
        n = (size_t)cap;
    memcpy(out, buf_head(&t->cipher_in), n);
    buf_consume(&t->cipher_in, n);
    return (int)n;
}

static int cipher_bio_write(BIO *b, const char *data, int len) {
    tls_conn *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (len <= 0)
        return 0;
    if (buf_append(&t->cipher_out, data, (size_t)len) < 0) {
        /* Queued, so that the failure reads as what it is. */
        ERR_raise(ERR_LIB_BIO, ERR_R_MALLOC_FAILURE);
        return -1;
    }
    return len;
}

/* OpenSSL flushes after each handshake flight; the bytes wait in
 * `cipher_out` for tls_take_output, so a flush always succeeds. */
static long cipher_bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
    (void)num;
    (void)ptr;
    tls_conn *t = BIO_get_data(b);
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_CTRL_PENDING:
        return (long)buf_pending(&t->cipher_in);
    case BIO_CTRL_WPENDING:
        return (long)buf_pending(&t->cipher_out);
    default:
        return 0;
    }
}

static pthread_once_t cipher_bio_once = PTHREAD_ONCE_INIT;
static BIO_METHOD *cipher_bio_methods;

static void cipher_bio_method_create(void) {
    int index = BIO_get_new_index();
    BIO_METHOD *m =
        index < 0 ? NULL : BIO_meth_new(index | BIO_TYPE_SOURCE_SINK, "callfloor ciphertext");
    if (m != NULL && (BIO_meth_set_read(m, cipher_bio_read) != 1 ||
                      BIO_meth_set_write(m, cipher_bio_write) != 1 ||
                      BIO_meth_set_ctrl(m, cipher_bio_ctrl) != 1)) {
        BIO_meth_free(m);
        m = NULL;
    }
    cipher_bio_methods = m;
}

/* The BIO of `t`'s ciphertext, or NULL without memory. The method is made
 * once for the process and lives as long as it. */
static BIO *cipher_bio_new(tls_conn *t) {
    pthread_once(&cipher_bio_once, cipher_bio_method_create);
    if (cipher_bio_methods == NULL)
        return NULL;
    BIO *b = BIO_new(cipher_bio_methods);
    if (b == NULL)
        return NULL;
    BIO_set_data(b, t);
    BIO_set_init(b, 1);
    return b;
}

static bool is_ip_literal(const char *name) {
    unsigned char addr[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1;
}

/* SNI is only for host names (RFC 6066); an IP literal is checked against
 * the certificate's IP addresses instead. */
static int expect_peer_name(tls_conn *t, const char *name) {
    t->peer_name = strdup(name);
    if (t->peer_name == NULL)
        return -1;
    if (is_ip_literal(name))
        return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), name) == 1 ? 0 : -1;
    SSL_set_hostflags(t->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (SSL_set_tlsext_host_name(t->ssl, name) != 1 || SSL_set1_host(t->ssl, name) != 1)
        return -1;
    return 0;
}

tls_conn *tls_conn_new(SSL_CTX *ctx, bool is_server, const char *server_name) {
    tls_conn *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->is_server = is_server;
    t->ssl = SSL_new(ctx);
    BIO *bio = t->ssl != NULL ? cipher_bio_new(t) : NULL;
    if (bio == NULL) {
        tls_conn_free(t);
        ERR_clear_error();
        return NULL;
    }
    /* One BIO both ways: SSL_set_bio takes a single reference then. */
    SSL_set_bio(t->ssl, bio, bio);
    if (is_server) {
        SSL_set_accept_state(t->ssl);
    } else {
        SSL_set_connect_state(t->ssl);
        if (server_name != NULL && expect_peer_name(t, server_name) < 0) {
            tls_conn_free(t);
            ERR_clear_error();
            return NULL;
        }
    }
    return t;
}

void tls_conn_free(tls_conn *t) {
    if (t == NULL)
        return;
    SSL_free(t->ssl);
    free(t->peer_name);
    free(t->error);
    buf_free(&t->pending);
    buf_free(&t->cipher_in);
    buf_free(&t->cipher_out);
    free(t);
}

int tls_feed(tls_conn *t, const void *data, size_t len) {
    return buf_append(&t->cipher_in, data, len) == 0 ? 0 : TLS_E_NOMEM;
}

/* Hands buffered plaintext to OpenSSL once the handshake allows it. */
static int flush_pending(tls_conn *t) {
    while (buf_pending(&t->pending) > 0 && SSL_is_init_finished(t->ssl)) {
        size_t written = 0;
        ERR_clear_error();
        int rc = SSL_write_ex(t->ssl, buf_head(&t->pending), buf_pending(&t->pending), &written);
        if (rc != 1) {
            int e = classify(t, rc);
            return e == TLS_E_WANT ? 0 : e;
        }
        buf_consume(&t->pending, written);
    }
    return 0;
}

int tls_handshake(tls_conn *t) {
    if (t->sticky != 0)
        return TLS_E_PROTOCOL;
    if (!SSL_is_init_finished(t->ssl)) {
        ERR_clear_error();
        int rc = SSL_do_handshake(t->ssl);
        if (rc != 1)
            return classify(t, rc) == TLS_E_WANT ? 0 : TLS_E_PROTOCOL;
    }
    return flush_pending(t) < 0 ? TLS_E_PROTOCOL : 1;
}

bool tls_established(const tls_conn *t) {
    return t->sticky == 0 && SSL_is_init_finished(t->ssl);
}

/* Fills `out` from every record OpenSSL can decrypt now: one call may
 * leave decrypted bytes inside SSL (SSL_pending) or whole records in the
 * read BIO, so reading stops only at WANT or a full buffer. The caller
 * loops until TLS_E_WANT. An end reached after some data is reported on
 * the next call. */
int tls_read(tls_conn *t, void *out, size_t cap) {
    if (t->sticky != 0)
        return t->sticky;
    if (flush_pending(t) < 0)
        return t->sticky;
    size_t limit = cap > INT_MAX ? INT_MAX : cap;
    size_t total = 0;
    int rc = TLS_E_WANT;
    while (total < limit) {
        size_t got = 0;
        ERR_clear_error();
        int ok = SSL_read_ex(t->ssl, (char *)out + total, limit - total, &got);
        if (ok != 1) {
            rc = classify(t, ok);
            break;
        }
        total += got;
    }
    if (total > 0)
        return (int)total;
    return rc;
}

int tls_write(tls_conn *t, const void *data, size_t len) {
    if (t->sticky != 0)
        return t->sticky;
    if (len == 0)
        return 0;
    if (buf_pending(&t->pending) == 0 && SSL_is_init_finished(t->ssl)) {
        size_t written = 0;
        ERR_clear_error();
        int rc = SSL_write_ex(t->ssl, data, len, &written);
        if (rc == 1)
            return 0;
        if (classify(t, rc) != TLS_E_WANT)
            return t->sticky;
    }
    /* Not yet writable (handshaking, or OpenSSL wants input first): keep
     * the bytes for flush_pending. */
    if (buf_append(&t->pending, data, len) < 0)
        return TLS_E_NOMEM;
    return flush_pending(t);
}

int tls_take_output(tls_conn *t, buf *out) {
    size_t n = buf_pending(&t->cipher_out);
    if (n == 0)
        return 0;
    if (n > INT_MAX)
        n = INT_MAX;
    if (buf_append(out, buf_head(&t->cipher_out), n) < 0)
        return TLS_E_NOMEM;
    buf_consume(&t->cipher_out, n);
    return (int)n;
}

void tls_shutdown(tls_conn *t) {
    /* Before the handshake ends there is no session to close cleanly; after
     * the peer's close_notify, ours completes the closing exchange. */
    if (t->sticky == TLS_E_PROTOCOL || !SSL_is_init_finished(t->ssl))
        return;
    ERR_clear_error();
    SSL_shutdown(t->ssl);
    ERR_clear_error();
}

void tls_release_buffers(tls_conn *t) {
    SSL_free_buffers(t->ssl);
    ERR_clear_error();
    if (buf_pending(&t->cipher_in) == 0)
        buf_free(&t->cipher_in);
    if (buf_pending(&t->cipher_out) == 0)
        buf_free(&t->cipher_out);
    if (buf_pending(&t->pending) == 0)
        buf_free(&t->pending);
}

const char *tls_error_string(const tls_conn *t) {
    if (t->error != NULL)
        return t->error;
    return t->sticky != 0 ? "TLS error (no memory left to describe it)" : "no TLS error";
}

const char *tls_describe(const tls_conn *t, char *out, size_t cap) {
    snprintf(out, cap, "%s %s", SSL_get_version(t->ssl), SSL_get_cipher_name(t->ssl));
    return out;
}

int tls_alpn_selected(const tls_conn *t, char *out, size_t cap) {
    const unsigned char *proto = NULL;
    unsigned int n = 0;
    SSL_get0_alpn_selected(t->ssl, &proto, &n);
    if (proto == NULL || n == 0 || n >= cap)
        return -1;
    memcpy(out, proto, n);
    out[n] = '\0';
    return (int)n;
}

/* Copies the certificate's only subject CN; a subject with several CNs
 * names no single user and is refused. */
static int copy_common_name(X509 *cert, char *out, size_t cap) {
    X509_NAME *subject = X509_get_subject_name(cert);
    int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (i < 0 || X509_NAME_get_index_by_NID(subject, NID_commonName, i) >= 0)
        return -1;
    unsigned char *utf8 = NULL;
    int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i)));
    if (n < 0) {
        ERR_clear_error();
        return -1;
    }
    bool fits = (size_t)n < cap && memchr(utf8, '\0', (size_t)n) == NULL;
    if (fits) {
        memcpy(out, utf8, (size_t)n);
        out[n] = '\0';
    }
    OPENSSL_free(utf8);
    return fits ? n : -1;
}

int tls_peer_common_name(const tls_conn *t, char *out, size_t cap) {
    X509 *cert = SSL_get0_peer_certificate(t->ssl);
    if (cert == NULL || SSL_get_verify_result(t->ssl) != X509_V_OK)
        return -1;
    return copy_common_name(cert, out, cap);
}
