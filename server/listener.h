/* listener: accepting TCP connections, TLS on each, and framing. A conn is
 * one client connection; its state changes in one function only. Decoded
 * envelopes go to the session module; the session answers through
 * conn_send. A conn is freed after its handle is closed and the last
 * reference (held by requests still in flight) is dropped, never inside its
 * own callbacks. One sweep timer closes handshakes that take longer than
 * session.handshake_timeout and sessions silent for three heartbeat
 * intervals. */
#ifndef CALLFLOOR_LISTENER_H
#define CALLFLOOR_LISTENER_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "envelope.h"
#include "server.h"

typedef struct listener listener;
typedef struct conn conn;

/* Takes a reference on `tls_ctx`. Returns NULL on out-of-memory. */
listener *listener_create(server *srv, SSL_CTX *tls_ctx);
/* Binds and listens on srv->cfg.listen. Returns 0 or -1 with a sentence. */
int listener_start(listener *l, char *err, size_t errlen);
/* New connections use `tls_ctx` from now on (a reference is taken);
 * connections already open keep theirs. */
void listener_set_tls_ctx(listener *l, SSL_CTX *tls_ctx);
/* Stops accepting and closes every connection, telling logged-in clients
 * why with a Closing push; `on_closed` runs once all are closed and the
 * listener is freed. */
void listener_shutdown(listener *l, const char *reason, void (*on_closed)(void *arg), void *arg);
unsigned listener_connection_count(const listener *l);
/* The CN of the certificate the client presented (verified against
 * tls.client_ca during the handshake), or -1 when it presented none. */
int conn_peer_common_name(const conn *c, char *out, size_t cap);
/* Reads "host:port" (IPv4, or IPv6 in brackets) from setting `key`. Returns
 * 0, or -1 with `err` saying what is wrong. */
int listener_resolve(const char *key, const char *addr, struct sockaddr_storage *ss, char *err,
                     size_t errlen);

/* Frames and encrypts `env` and queues it. Returns 0, -ECONNRESET if the
 * conn is closing, or -ENOBUFS when the conn's output passed
 * session.output_cap (the conn is then closed). */
int conn_send(conn *c, const envelope *env);
/* Queues `len` bytes of one frame envelope_append_frame made, as conn_send
 * does: a push packed once for many conns. */
int conn_send_frame(conn *c, const uint8_t *frame, size_t len);
/* Closes the conn. With a non-NULL reason, the reason is logged (at debug
 * level for SHUTTING_DOWN, which a drain gives every conn) and, once TLS is
 * up, the client first gets a Closing push carrying `code` and `reason`.
 * Safe to call more than once. */
void conn_close(conn *c, Callfloor__ErrorCode code, const char *reason);
bool conn_is_open(const conn *c);
void conn_ref(conn *c);
void conn_unref(conn *c);
/* "#12 127.0.0.1:50312" for log lines. */
const char *conn_name(const conn *c);
/* The session attached once TLS is up; NULL before and after. */
struct session *conn_session(const conn *c);
void conn_set_max_frame(conn *c, size_t max_len);

#endif
