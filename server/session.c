#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board.h"
#include "dispatch.h"
#include "floor.h"
#include "guard.h"
#include "listener.h"
#include "log.h"
#include "passwd.h"
#include "pii.h"
#include "role.h"
#include "version.h"

#define USERNAME_MAX 64

typedef enum session_state {
    SESSION_AWAIT_HELLO,
    SESSION_AWAIT_LOGIN,
    SESSION_LOGGING_IN, /* a password check is in flight */
    SESSION_ACTIVE,
} session_state;

struct session {
    server *srv;
    conn *conn;
    session_state state;
    uint64_t id;
    uint64_t user_id;
    Callfloor__Role role;
    char username[USERNAME_MAX + 1];
    session *prev, *next;
};

struct session_registry {
    session *head;
    uint64_t next_id;
    session_counts counts;
};

/* What a login carries between its database look-up, the password check in
 * the thread pool and the commit of last_login_at. */
typedef struct login_attempt {
    request *req;
    bool found;
    bool disabled;
    char password_hash[PASSWD_HASH_MAX];
    Callfloor__User user;
    char username[USERNAME_MAX + 1];
    char display_name[256];
    char team[USERNAME_MAX + 1];
} login_attempt;

static const char *const statements[][2] = {
    {"session_user_by_name",
     "SELECT u.id, u.username, u.display_name, u.role, coalesce(t.name, ''), u.password_hash,"
     " u.disabled, extract(epoch FROM u.created_at)::bigint,"
     " coalesce(extract(epoch FROM u.last_login_at)::bigint, 0)"
     " FROM users u LEFT JOIN teams t ON t.id = u.team_id WHERE u.username = $1"},
    /* Who acts in this transaction, for the audit triggers (010_audit.sql). */
    {"session_actor",
     "SELECT set_config('callfloor.actor', $1, true),"
     " set_config('callfloor.role', $2, true), set_config('callfloor.peer', $3, true)"},
    {"session_audit", "SELECT cf_audit($1, $2, $3)"},
    /* A client certificate's CN is the account: its login, if active. */
    {"session_cert_login", "UPDATE users SET last_login_at = now()"
                           " WHERE username = $1 AND NOT disabled RETURNING id, role"},
    {"session_touch_login", "UPDATE users SET last_login_at = now() WHERE id = $1"
                            " RETURNING extract(epoch FROM last_login_at)::bigint"},
};

int session_prepare_statements(db_pool *pool) {
    return db_pool_prepare_all(pool, statements, sizeof statements / sizeof statements[0]);
}

struct session_registry *session_registry_create(void) {
    return calloc(1, sizeof(struct session_registry));
}

void session_registry_destroy(struct session_registry *r) {
    free(r);
}

static void counts_adjust(session_counts *c, Callfloor__Role role, int delta) {
    c->total += (unsigned)delta;
    if (role == CALLFLOOR__ROLE__ROLE_AGENT)
        c->agents += (unsigned)delta;
    else if (role == CALLFLOOR__ROLE__ROLE_SUPERVISOR)
        c->supervisors += (unsigned)delta;
    else if (role == CALLFLOOR__ROLE__ROLE_ADMIN)
        c->admins += (unsigned)delta;
}

session *session_create(server *srv, conn *c) {
    session *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    struct session_registry *r = srv->sessions;
    s->srv = srv;
    s->conn = c;
    s->id = ++r->next_id;
    s->next = r->head;
    if (r->head != NULL)
        r->head->prev = s;
    r->head = s;
    return s;
}

void session_destroy(session *s) {
    struct session_registry *r = s->srv->sessions;
    if (s->state == SESSION_ACTIVE && s->role == CALLFLOOR__ROLE__ROLE_AGENT)
        floor_session_closed(s->srv, s, s->user_id);
    if (s->state == SESSION_ACTIVE && s->role != CALLFLOOR__ROLE__ROLE_AGENT)
        board_session_closed(s->srv, s);
    if (s->state == SESSION_ACTIVE) {
        counts_adjust(&r->counts, s->role, -1);
        log_info("conn %s: %s %s logged out", conn_name(s->conn), role_name(s->role), s->username);
    }
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        r->head = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    free(s);
}

int session_send(session *s, const envelope *env) {
    return conn_send(s->conn, env);
}

int session_send_frame(session *s, const uint8_t *frame, size_t len) {
    return conn_send_frame(s->conn, frame, len);
}

struct conn *session_conn(const session *s) {
    return s->conn;
}

bool session_logged_in(const session *s) {
    return s != NULL && s->state == SESSION_ACTIVE;
}

void session_get_counts(const server *srv, session_counts *out) {
    *out = srv->sessions->counts;
}

void session_close_user(server *srv, uint64_t user_id, const session *keep,
                        Callfloor__ErrorCode code, const char *reason) {
    session *next;
    for (session *s = srv->sessions->head; s != NULL; s = next) {
        next = s->next;
        if (s->user_id == user_id && s != keep && s->state == SESSION_ACTIVE)
            conn_close(s->conn, code, reason);
    }
}

static request *request_create(session *s, envelope *env) {
    request *req = calloc(1, sizeof *req);
    if (req == NULL)
        return NULL;
    req->srv = s->srv;
    req->conn = s->conn;
    conn_ref(s->conn);
    req->id = env->id;
    req->msg = env;
    req->received_ns = uv_hrtime();
    if (s->state == SESSION_ACTIVE) {
        req->user_id = s->user_id;
        req->role = s->role;
        memcpy(req->username, s->username, sizeof req->username);
    }
    return req;
}

static void request_free(request *req) {
    envelope_free(req->msg);
    conn_unref(req->conn);
    free(req);
}

session *request_session(const request *req) {
    return conn_session(req->conn);
}

void request_reply(request *req, envelope *reply) {
    reply->id = req->id;
    if (conn_is_open(req->conn))
        conn_send(req->conn, reply);
    request_free(req);
}

void request_fail(request *req, Callfloor__ErrorCode code, uint32_t retry_after_ms, const char *fmt,
                  ...) {
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    Callfloor__Error error = CALLFLOOR__ERROR__INIT;
    error.code = code;
    error.message = message;
    error.retry_after_ms = retry_after_ms;
    envelope reply = CALLFLOOR__ENVELOPE__INIT;
    reply.body_case = CALLFLOOR__ENVELOPE__BODY_ERROR;
    reply.error = &error;
    log_debug("conn %s: %s answered %s: %s", conn_name(req->conn), envelope_body_name(req->msg),
              envelope_error_name(code), message);
    request_reply(req, &reply);
}

void request_ok(request *req) {
    Callfloor__Ok ok = CALLFLOOR__OK__INIT;
    envelope reply = CALLFLOOR__ENVELOPE__INIT;
    reply.body_case = CALLFLOOR__ENVELOPE__BODY_OK;
    reply.ok = &ok;
    request_reply(req, &reply);
}

void request_fail_db(request *req, const db_reply *reply, const char *what) {
    if (reply->status == DB_E_UNAVAILABLE || reply->status == DB_E_TOO_MANY ||
        reply->status == DB_E_SHUTDOWN) {
        uint32_t retry = reply->retry_after_ms > 0 ? reply->retry_after_ms : 1000;
        request_fail(req, CALLFLOOR__ERROR_CODE__UNAVAILABLE, retry,
                     "the database is unavailable; retry in %u ms", retry);
        return;
    }
    if (reply->status == DB_E_QUERY && strcmp(reply->sqlstate, "CF403") == 0) {
        request_fail(req, CALLFLOOR__ERROR_CODE__PERMISSION_DENIED, 0, "%s", reply->message);
        return;
    }
    log_error("conn %s: %s failed: %s [%s]", conn_name(req->conn), what, reply->message,
              reply->sqlstate);
    request_fail(req, CALLFLOOR__ERROR_CODE__INTERNAL, 0,
                 "%s failed because of a database error; the server log has the details", what);
}

void request_actor(db_txn *txn, const request *req) {
    const char *actor = req->username;
    if (*actor == '\0' && req->msg->body_case == CALLFLOOR__ENVELOPE__BODY_LOGIN)
        actor = req->msg->login->username;
    if (*actor == '\0')
        actor = "(unknown)";
    const char *params[] = {actor, req->user_id ? role_name(req->role) : "",
                            req->conn ? conn_name(req->conn) : ""};
    db_txn_context(txn, "session_actor", 3, params);
}

db_txn *request_begin(request *req) {
    if (req->srv->db == NULL) {
        request_fail(req, CALLFLOOR__ERROR_CODE__SHUTTING_DOWN, 0, "the server is shutting down");
        return NULL;
    }
    db_txn *txn = db_txn_begin(req->srv->db);
    if (txn == NULL)
        request_fail(req, CALLFLOOR__ERROR_CODE__INTERNAL, 0, "the server is out of memory");
    else
        request_actor(txn, req);
    return txn;
}

bool request_query_overseen(request *req, const char *check, const char *target,
                            const char *statement, int nparams, const char *const *params,
                            db_reply_cb cb, void *arg) {
    db_txn *txn = request_begin(req);
    if (txn == NULL)
        return false;
    if (req->role == CALLFLOOR__ROLE__ROLE_SUPERVISOR) {
        char staff[24];
        snprintf(staff, sizeof staff, "%llu", (unsigned long long)req->user_id);
        const char *check_params[] = {staff, target};
        db_txn_context(txn, check, 2, check_params);
    }
    db_txn_query(txn, statement, nparams, params);
    db_txn_commit(txn, cb, arg);
    return true;
}

static void on_audited(const db_reply *reply, void *arg) {
    (void)arg;
    if (reply->status != DB_OK)
        log_warn("writing an audit row failed: %s", reply->message);
}

void request_audit(request *req, const char *action, const char *target, const char *detail) {
    db_txn *txn = req->srv->db ? db_txn_begin(req->srv->db) : NULL;
    if (txn == NULL) {
        log_warn("conn %s: no audit row for %s %s: the database pool is gone or out of memory",
                 conn_name(req->conn), action, target);
        return;
    }
    request_actor(txn, req);
    const char *params[] = {action, target, detail};
    db_txn_query(txn, "session_audit", 3, params);
    db_txn_commit(txn, on_audited, NULL);
}

bool request_query(request *req, const char *statement, int nparams, const char *const *params,
                   db_reply_cb cb, void *arg) {
    db_txn *txn = request_begin(req);
    if (txn == NULL)
        return false;
    db_txn_query(txn, statement, nparams, params);
    db_txn_commit(txn, cb, arg);
    return true;
}

void session_handle(session *s, envelope *env) {
    if (env->id == 0) {
        envelope_free(env);
        conn_close(s->conn, CALLFLOOR__ERROR_CODE__PROTOCOL_ERROR,
                   "every request must carry a non-zero id");
        return;
    }
    if (s->state == SESSION_AWAIT_HELLO && env->body_case != CALLFLOOR__ENVELOPE__BODY_HELLO) {
        envelope_free(env);
        conn_close(s->conn, CALLFLOOR__ERROR_CODE__PROTOCOL_ERROR,
                   "the first message must be Hello");
        return;
    }
    request *req = request_create(s, env);
    if (req == NULL) {
        envelope_free(env);
        conn_close(s->conn, CALLFLOOR__ERROR_CODE__INTERNAL, "the server is out of memory");
        return;
    }
    dispatch_request(req, s->state == SESSION_ACTIVE);
}

static void reply_hello(request *req);

/* A login that did not succeed lets the client try again; a session that
 * got logged in meanwhile stays so. */
static void login_undo(session *s) {
    if (s != NULL && s->state == SESSION_LOGGING_IN)
        s->state = SESSION_AWAIT_LOGIN;
}

/* Activates the session of `req` for user `user_id` with `role`. */
static void activate(session *s, uint64_t user_id, Callfloor__Role role, const char *username) {
    s->state = SESSION_ACTIVE;
    s->user_id = user_id;
    s->role = role;
    snprintf(s->username, sizeof s->username, "%s", username);
    counts_adjust(&s->srv->sessions->counts, s->role, 1);
    conn_set_max_frame(s->conn, s->srv->cfg.max_frame);
    log_info("conn %s: %s %s logged in", conn_name(s->conn), role_name(s->role), s->username);
}

static void on_cert_login(const db_reply *reply, void *arg) {
    request *req = arg;
    session *s = request_session(req);
    if (reply->status != DB_OK || PQntuples(reply->results[0]) != 1)
        login_undo(s);
    if (reply->status != DB_OK) {
        request_fail_db(req, reply, "certificate login");
        return;
    }
    if (PQntuples(reply->results[0]) != 1) {
        log_notice("conn %s: the client certificate names '%s', which is no active account",
                   conn_name(req->conn), req->username);
        request_audit(req, "login.failed", req->username, "certificate of no active account");
        request_fail(req, CALLFLOOR__ERROR_CODE__INVALID_CREDENTIALS, 0,
                     "the client certificate names '%s', which is no active account; log in "
                     "with --user instead",
                     req->username);
        return;
    }
    Callfloor__Role role;
    if (s != NULL && role_parse(db_value(reply->results[0], 0, 1), &role) == 0)
        activate(s, (uint64_t)db_int64(reply->results[0], 0, 0), role, req->username);
    reply_hello(req);
}

/* The certificate's CN is the account: looked up (and its last login
 * touched) before HelloReply, so the client's first request finds the
 * session logged in. */
static void certificate_login(request *req) {
    char cn[sizeof req->username];
    if (conn_peer_common_name(req->conn, cn, sizeof cn) <= 0) {
        request_fail(req, CALLFLOOR__ERROR_CODE__INVALID_CREDENTIALS, 0,
                     "no client certificate reached the server (is tls.client_ca set?); log in "
                     "with --user instead");
        return;
    }
    snprintf(req->username, sizeof req->username, "%s", cn); /* the audit row's actor */
    const char *params[] = {cn};
    /* Logging in: a Login sent meanwhile is refused, not run alongside. */
    session *s = request_session(req);
    if (request_query(req, "session_cert_login", 1, params, on_cert_login, req) && s != NULL)
        s->state = SESSION_LOGGING_IN;
}

void session_on_hello(request *req) {
    session *s = request_session(req);
    if (s->state != SESSION_AWAIT_HELLO) {
        request_fail(req, CALLFLOOR__ERROR_CODE__FAILED_PRECONDITION, 0,
                     "Hello was already sent on this connection");
        return;
    }
    const Callfloor__Hello *hello = req->msg->hello;
    if (hello->protocol_version != CALLFLOOR__PROTOCOL_VERSION__PROTOCOL_VERSION_CURRENT) {
        conn *c = req->conn;
        conn_ref(c);
        request_fail(req, CALLFLOOR__ERROR_CODE__UNSUPPORTED_VERSION, 0,
                     "this server speaks protocol version %d, the client %u; upgrade the older "
                     "side",
                     CALLFLOOR__PROTOCOL_VERSION__PROTOCOL_VERSION_CURRENT,
                     hello->protocol_version);
        conn_close(c, CALLFLOOR__ERROR_CODE__UNSUPPORTED_VERSION, "unsupported protocol version");
        conn_unref(c);
        return;
    }
    log_debug("conn %s: hello from %s %s", conn_name(req->conn), hello->client_name,
              hello->client_version);
    s->state = SESSION_AWAIT_LOGIN;
    if (hello->certificate_login)
        certificate_login(req);
    else
        reply_hello(req);
}

static void reply_hello(request *req) {
    const settings *cfg = &req->srv->cfg;
    Callfloor__HelloReply hr = CALLFLOOR__HELLO_REPLY__INIT;
    hr.protocol_version = CALLFLOOR__PROTOCOL_VERSION__PROTOCOL_VERSION_CURRENT;
    hr.server_version = CALLFLOOR_VERSION;
    hr.instance_id = req->srv->instance_id;
    hr.heartbeat_interval_ms = cfg->heartbeat_interval_ms;
    hr.max_frame = (uint32_t)cfg->max_frame;
    envelope reply = CALLFLOOR__ENVELOPE__INIT;
    reply.body_case = CALLFLOOR__ENVELOPE__BODY_HELLO_REPLY;
    reply.hello_reply = &hr;
    request_reply(req, &reply);
}

void session_on_ping(request *req) {
    Callfloor__Pong pong = CALLFLOOR__PONG__INIT;
    pong.nonce = req->msg->ping->nonce;
    envelope reply = CALLFLOOR__ENVELOPE__INIT;
    reply.body_case = CALLFLOOR__ENVELOPE__BODY_PONG;
    reply.pong = &pong;
    request_reply(req, &reply);
}

static void login_wipe_password(request *req) {
    char *password = req->msg->login->password;
    pii_wipe(password, strlen(password));
}

/* Ends a login attempt that did not succeed, so the client may try again. */
static void login_fail(login_attempt *a, Callfloor__ErrorCode code, const char *message) {
    login_undo(request_session(a->req));
    request_fail(a->req, code, 0, "%s", message);
    free(a);
}

static void login_fail_db(login_attempt *a, const db_reply *reply) {
    login_undo(request_session(a->req));
    request_fail_db(a->req, reply, "login");
    free(a);
}

static void on_login_committed(const db_reply *reply, void *arg) {
    login_attempt *a = arg;
    if (reply->status != DB_OK || PQntuples(reply->results[0]) != 1) {
        login_fail_db(a, reply);
        return;
    }
    a->user.last_login_at = db_int64(reply->results[0], 0, 0);
    session *s = request_session(a->req);
    if (s != NULL)
        activate(s, a->user.id, a->user.role, a->username);
    Callfloor__LoginReply lr = CALLFLOOR__LOGIN_REPLY__INIT;
    lr.user = &a->user;
    lr.session_id = s != NULL ? s->id : 0;
    envelope out = CALLFLOOR__ENVELOPE__INIT;
    out.body_case = CALLFLOOR__ENVELOPE__BODY_LOGIN_REPLY;
    out.login_reply = &lr;
    request_reply(a->req, &out);
    free(a);
}

static void on_password_checked(int status, void *arg) {
    login_attempt *a = arg;
    if (!a->found || status != 0)
        guard_failed(a->req->msg->login->username, uv_now(a->req->srv->loop));
    else
        guard_succeeded(a->req->msg->login->username);
    if (!a->found || status != 0) {
        /* A name no account has is not logged: it is too often a password
         * typed into the user name field. */
        if (a->found)
            log_notice("conn %s: failed login for '%s'", conn_name(a->req->conn), a->username);
        else
            log_notice("conn %s: failed login for a user name that has no account",
                       conn_name(a->req->conn));
        if (!a->found) {
            /* Often a password typed into the name field: kept nowhere. */
            char *name = a->req->msg->login->username;
            pii_wipe(name, strlen(name));
        }
        request_audit(a->req, "login.failed", a->found ? a->username : "(no such account)",
                      a->found ? "wrong password" : "");
        login_fail(a, CALLFLOOR__ERROR_CODE__INVALID_CREDENTIALS, "invalid user name or password");
        return;
    }
    if (a->disabled) {
        log_notice("conn %s: login refused for disabled account '%s'", conn_name(a->req->conn),
                   a->username);
        request_audit(a->req, "login.failed", a->username, "account disabled");
        login_fail(a, CALLFLOOR__ERROR_CODE__ACCOUNT_DISABLED,
                   "this account is disabled; ask an administrator to enable it");
        return;
    }
    char id[24];
    snprintf(id, sizeof id, "%llu", (unsigned long long)a->user.id);
    const char *params[] = {id};
    if (!request_query(a->req, "session_touch_login", 1, params, on_login_committed, a))
        free(a);
}

static void login_copy_user(login_attempt *a, const PGresult *res) {
    a->found = true;
    a->user.id = (uint64_t)db_int64(res, 0, 0);
    snprintf(a->username, sizeof a->username, "%s", db_value(res, 0, 1));
    snprintf(a->display_name, sizeof a->display_name, "%s", db_value(res, 0, 2));
    role_parse(db_value(res, 0, 3), &a->user.role);
    snprintf(a->team, sizeof a->team, "%s", db_value(res, 0, 4));
    snprintf(a->password_hash, sizeof a->password_hash, "%s", db_value(res, 0, 5));
    a->disabled = db_bool(res, 0, 6);
    a->user.disabled = a->disabled;
    a->user.created_at = db_int64(res, 0, 7);
    a->user.username = a->username;
    a->user.display_name = a->display_name;
    a->user.team = a->team;
}

static void on_login_user_loaded(const db_reply *reply, void *arg) {
    login_attempt *a = arg;
    if (reply->status != DB_OK) {
        login_wipe_password(a->req);
        login_fail_db(a, reply);
        return;
    }
    if (PQntuples(reply->results[0]) == 1)
        login_copy_user(a, reply->results[0]);
    /* An unknown user is checked against a dummy hash so that the answer
     * takes as long as for a wrong password and gives nothing away. */
    const char *hash = a->found ? a->password_hash : passwd_dummy_hash();
    int rc = passwd_verify_async(a->req->srv->loop, hash, a->req->msg->login->password,
                                 on_password_checked, a);
    /* The worker has its own copy, so the one in the message goes now. */
    login_wipe_password(a->req);
    if (rc < 0)
        login_fail(a, CALLFLOOR__ERROR_CODE__INTERNAL, "the server is out of memory");
}

void session_on_login(request *req) {
    session *s = request_session(req);
    const Callfloor__Login *login = req->msg->login;
    if (s->state != SESSION_AWAIT_LOGIN) {
        request_fail(req, CALLFLOOR__ERROR_CODE__FAILED_PRECONDITION, 0,
                     s->state == SESSION_ACTIVE ? "this session is already logged in"
                                                : "a login is already in progress");
        return;
    }
    if (login->username[0] == '\0' || strlen(login->username) > USERNAME_MAX ||
        login->password[0] == '\0' || strlen(login->password) > PASSWD_MAX_LENGTH) {
        login_wipe_password(req);
        request_fail(req, CALLFLOOR__ERROR_CODE__INVALID_CREDENTIALS, 0,
                     "invalid user name or password");
        return;
    }
    uint32_t wait_ms = 0;
    if (!guard_allows(login->username, uv_now(req->srv->loop), &wait_ms)) {
        login_wipe_password(req);
        request_fail(req, CALLFLOOR__ERROR_CODE__RATE_LIMITED, wait_ms,
                     "too many failed logins with this user name; try again in %u s",
                     (wait_ms + 999) / 1000);
        return;
    }
    login_attempt *a = calloc(1, sizeof *a);
    if (a == NULL) {
        login_wipe_password(req);
        request_fail(req, CALLFLOOR__ERROR_CODE__INTERNAL, 0, "the server is out of memory");
        return;
    }
    callfloor__user__init(&a->user);
    a->req = req;
    const char *params[] = {login->username};
    if (request_query(req, "session_user_by_name", 1, params, on_login_user_loaded, a)) {
        s->state = SESSION_LOGGING_IN;
    } else {
        login_wipe_password(req);
        free(a);
    }
}
