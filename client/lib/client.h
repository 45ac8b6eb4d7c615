/* client: the client side of the callfloor protocol, on a libuv loop.
 *
 * A client resolves and connects to the server, completes TLS (verifying the
 * server certificate against the given CA and the host name, ALPN
 * "callfloor/1"), sends Hello, then Login with the user's password, and from
 * then on sends requests and receives their answers and the server's pushes.
 * It sends Pings at the heartbeat interval the server announced.
 *
 * Every request gets exactly one callback: with the server's answer (which
 * may carry an Error body), or with a negative CLIENT_E_* status when the
 * connection failed before the answer came. Blocking helpers (_sync) run the
 * loop until done, for the command-line tools. */
#ifndef CALLFLOOR_CLIENT_H
#define CALLFLOOR_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "envelope.h"

enum {
    CLIENT_E_CONNECT = -5001,  /* DNS or TCP failure */
    CLIENT_E_TLS = -5002,      /* handshake or certificate failure */
    CLIENT_E_PROTOCOL = -5003, /* the server sent something unparseable */
    CLIENT_E_CLOSED = -5004,   /* the connection closed before the answer */
    CLIENT_E_TIMEOUT = -5005,
    CLIENT_E_AUTH = -5006, /* login refused; client_last_error has the server's words */
    CLIENT_E_NOMEM = -5007,
    CLIENT_E_SERVER = -5008, /* the server answered Hello or Login with another error */
};

typedef struct client_options {
    const char *server;    /* "host:port"; "[v6]:port" for IPv6 literals */
    const char *ca_file;   /* PEM CA to verify the server; NULL = system store */
    const char *cert_file; /* optional client certificate (PEM) */
    const char *key_file;
    const char *username; /* NULL or "": no Login (client-certificate auth) */
    const char *password;
    const char *client_name; /* e.g. "callfloorctl" */
    unsigned timeout_ms;     /* connect+handshake+login, and each _sync call; 0 = 10000 */
} client_options;

typedef struct client client;

/* `status` is 0 when the session is logged in and usable. */
typedef void (*client_ready_cb)(client *c, int status, void *arg);
/* `reply` is valid only during the call; it is NULL when status < 0. */
typedef void (*client_reply_cb)(client *c, int status, const envelope *reply, void *arg);
/* A server push (id 0); valid only during the call. */
typedef void (*client_push_cb)(client *c, const envelope *push, void *arg);
/* The connection ended (after being ready); `reason` is a sentence. */
typedef void (*client_closed_cb)(client *c, int status, const char *reason, void *arg);

/* Copies the options. Returns NULL on out-of-memory. */
client *client_create(uv_loop_t *loop, const client_options *opts);
/* Connects, handshakes, sends Hello and Login, then calls `cb`. Returns 0 or
 * a CLIENT_E_* code (then `cb` is never called). */
int client_connect(client *c, client_ready_cb cb, void *arg);
void client_on_push(client *c, client_push_cb cb, void *arg);
void client_on_closed(client *c, client_closed_cb cb, void *arg);
/* Sends `req` with a fresh id (its id field is overwritten). Returns 0 or a
 * CLIENT_E_* code (then `cb` is never called). */
int client_request(client *c, envelope *req, client_reply_cb cb, void *arg);
/* Closes the connection (pending requests get CLIENT_E_CLOSED) and frees
 * the client once its handles are closed; `c` must not be used afterwards.
 * Safe to call from any of the client's callbacks. The memory is released
 * by close callbacks, so the loop must run once more (uv_run) afterwards. */
void client_destroy(client *c);
bool client_is_ready(const client *c);
/* The last failure as a sentence that says what to do next. */
const char *client_last_error(const client *c);
/* The code of the last Error the server sent instead of a HelloReply or
 * LoginReply, or in a Closing push; ERROR_CODE_UNSPECIFIED if none. Lets
 * callers tell INVALID_CREDENTIALS from ACCOUNT_DISABLED after CLIENT_E_AUTH. */
Callfloor__ErrorCode client_last_server_code(const client *c);
/* What the server said in HelloReply and LoginReply. */
const Callfloor__User *client_user(const client *c);
const char *client_server_version(const client *c);

/* Blocking helpers: run the client's loop until the step completes. */
int client_connect_sync(client *c);
/* On 0, `*reply` is the server's answer (possibly an Error body), to be
 * freed with envelope_free. */
int client_call_sync(client *c, envelope *req, envelope **reply);

#endif
