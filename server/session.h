/* session: one client's protocol session on top of a conn: Hello, Login
 * (argon2id verification in the thread pool), Ping, the logged-in user and
 * role, and the registry of all sessions (counts by role, lookup by user).
 * Every request becomes a `request` that is answered exactly once. */
#ifndef CALLFLOOR_SESSION_H
#define CALLFLOOR_SESSION_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "envelope.h"
#include "server.h"

struct conn;
typedef struct session session;

/* A request in flight. It owns the decoded message and a reference on the
 * conn, and copies who asked, so it stays valid after the client has gone.
 * Exactly one of request_reply and request_fail must be called on it; both
 * free it. */
typedef struct request {
    server *srv;
    struct conn *conn;
    uint64_t id;
    envelope *msg;
    uint64_t user_id; /* 0 before login */
    Callfloor__Role role;
    char username[65];
    uint64_t received_ns; /* uv_hrtime when the request was decoded */
} request;

typedef struct session_counts {
    unsigned total, agents, supervisors, admins;
} session_counts;

/* Creates the registry; NULL on out-of-memory. */
struct session_registry *session_registry_create(void);
void session_registry_destroy(struct session_registry *r);
/* Adds the session's statements to the database catalog. */
int session_prepare_statements(db_pool *pool);

/* Called by the listener when TLS is established and when the conn closes. */
session *session_create(server *srv, struct conn *c);
void session_destroy(session *s);
/* Handles one decoded envelope; takes ownership of `env`. */
void session_handle(session *s, envelope *env);
bool session_logged_in(const session *s);

void session_get_counts(const server *srv, session_counts *out);
/* Closes every session of `user_id` except `keep` (may be NULL). */
void session_close_user(server *srv, uint64_t user_id, const session *keep,
                        Callfloor__ErrorCode code, const char *reason);
/* Pushes `env` (id 0) to the session's client; as conn_send. */
int session_send(session *s, const envelope *env);
/* Pushes one frame packed once for many sessions; as conn_send_frame. */
int session_send_frame(session *s, const uint8_t *frame, size_t len);
struct conn *session_conn(const session *s);
/* The session a request came from, or NULL if it has closed. */
session *request_session(const request *req);

/* Sends `reply` (its id is set to the request's) if the client is still
 * there, then frees the request. */
void request_reply(request *req, envelope *reply);
/* Answers with an Error. `retry_after_ms` is 0 unless retrying can help. */
void request_fail(request *req, Callfloor__ErrorCode code, uint32_t retry_after_ms, const char *fmt,
                  ...) __attribute__((format(printf, 4, 5)));
/* Answers with an empty Ok. */
void request_ok(request *req);
/* Answers a failed database transaction: UNAVAILABLE with the retry hint
 * when PostgreSQL is unreachable, otherwise INTERNAL (and logs the cause
 * under `what`, a short description of the operation). */
void request_fail_db(request *req, const db_reply *reply, const char *what);

/* Sets who acts in `txn` for the audit triggers (server/sql/010_audit.sql):
 * the session's user, or the name a Login tries. request_begin does it;
 * call it on a transaction begun otherwise for a request. */
void request_actor(db_txn *txn, const request *req);
/* Starts a transaction on behalf of `req`; NULL after answering the
 * request (shutting down, out of memory). */
db_txn *request_begin(request *req);
/* As request_query, but for a supervisor `check` runs first in the same
 * transaction: a statement calling cf_oversee (server/sql/013_oversight.sql)
 * with the supervisor's id and `target`, which fails the transaction with
 * CF403, answered by request_fail_db as PERMISSION_DENIED, when the target
 * is not in their team. Admins oversee everyone: for them it is skipped. */
bool request_query_overseen(request *req, const char *check, const char *target,
                            const char *statement, int nparams, const char *const *params,
                            db_reply_cb cb, void *arg);
/* Runs one prepared statement as a transaction on behalf of `req`. Returns
 * true when submitted (then `cb` runs later); false after answering the
 * request with an out-of-memory error. */
bool request_query(request *req, const char *statement, int nparams, const char *const *params,
                   db_reply_cb cb, void *arg);
/* Writes an audit row for what `req` did or tried (server/sql/010_audit.sql),
 * in a transaction of its own: for what changes no table, such as a
 * failed login. */
void request_audit(request *req, const char *action, const char *target, const char *detail);

/* Dispatch table handlers for the messages this module owns. */
void session_on_hello(request *req);
void session_on_login(request *req);
void session_on_ping(request *req);

#endif
