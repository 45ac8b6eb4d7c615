#include "admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "label.h"
#include "hopper.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "passwd.h"
#include "pii.h"
#include "role.h"
#include "version.h"

#define NAME_MAX_LEN         64
#define DISPLAY_NAME_MAX_LEN 128
#define DESCRIPTION_MAX_LEN  1024

static const char *const statements[][2] = {
    {"admin_user_insert",
     "INSERT INTO users (username, display_name, role, team_id, password_hash)"
     " SELECT $1, $2, $3, t.id, $5 FROM (SELECT 1) AS one LEFT JOIN teams t ON t.name = $4"
     " WHERE $4 = '' OR t.id IS NOT NULL"
     " RETURNING id, extract(epoch FROM created_at)::bigint"},
    {"admin_user_list",
     "SELECT u.id, u.username, u.display_name, u.role, coalesce(t.name, ''), u.disabled,"
     " extract(epoch FROM u.created_at)::bigint,"
     " coalesce(extract(epoch FROM u.last_login_at)::bigint, 0)"
     " FROM users u LEFT JOIN teams t ON t.id = u.team_id ORDER BY u.username"},
    {"admin_user_set_password",
     "UPDATE users SET password_hash = $2, password_changed_at = now() WHERE username = $1"
     " RETURNING id"},
    {"admin_user_set_disabled", "UPDATE users SET disabled = $2 WHERE username = $1 RETURNING id"},
    {"admin_team_insert", "INSERT INTO teams (name, description) VALUES ($1, $2) RETURNING id"},
    {"admin_team_list", "SELECT t.id, t.name, t.description, count(u.id) FROM teams t"
                        " LEFT JOIN users u ON u.team_id = t.id AND NOT u.disabled"
                        " GROUP BY t.id ORDER BY t.name"},
};

int admin_prepare_statements(db_pool *pool) {
    return db_pool_prepare_all(pool, statements, sizeof statements / sizeof statements[0]);
}

/* A user name is what people type at login: short, lower case, no spaces,
 * so it is never ambiguous on screen or in logs. */
static bool valid_username(const char *name) {
    size_t len = strlen(name);
    if (len == 0 || len > NAME_MAX_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                  (i > 0 && (ch == '.' || ch == '_' || ch == '-'));
        if (!ok)
            return false;
    }
    return true;
}

static bool valid_text(const char *s, size_t max_len) {
    return s[0] == '\0' || label_valid(s, max_len);
}

/* State carried across the password hash in the thread pool. */
typedef struct admin_op {
    request *req;
    char password_hash[PASSWD_HASH_MAX];
    uint64_t user_id;
} admin_op;

static admin_op *admin_op_new(request *req) {
    admin_op *op = calloc(1, sizeof *op);
    if (op == NULL)
        request_fail(req, CALLFLOOR__ERROR_CODE__INTERNAL, 0, "the server is out of memory");
    else
        op->req = req;
    return op;
}

static void wipe_string(char *s) {
    pii_wipe(s, strlen(s));
}

static bool check_new_password(request *req, char *password) {
    int rc = passwd_check_policy(password);
    if (rc == 0)
        return true;
    wipe_string(password);
    request_fail(req, CALLFLOOR__ERROR_CODE__INVALID_ARGUMENT, 0,
                 rc == PASSWD_E_TOO_SHORT ? "the password needs at least %d characters"
                                          : "the password may have at most %d characters",
                 rc == PASSWD_E_TOO_SHORT ? PASSWD_MIN_LENGTH : PASSWD_MAX_LENGTH);
    return false;
}

/* Hashes `password` in the thread pool and continues with `next`. */
static void admin_hash_then(admin_op *op, char *password, passwd_hash_cb next) {
    int rc = passwd_hash_async(op->req->srv->loop, password, next, op);
    wipe_string(password);
    if (rc < 0) {
        request_fail(op->req, CALLFLOOR__ERROR_CODE__INTERNAL, 0, "the server is out of memory");
        free(op);
    }
}

static bool hash_failed(admin_op *op, int status) {
    if (status == 0)
        return false;
    log_error("password hashing failed (%d)", status);
    request_fail(op->req, CALLFLOOR__ERROR_CODE__INTERNAL, 0,
                 "the password could not be hashed; the server log has the details");
    free(op);
    return true;
}

void admin_on_status(request *req) {
    server *srv = req->srv;
    session_counts counts;
    session_get_counts(srv, &counts);
    db_pool_stats db;
    db_pool_get_stats(srv->db, &db);
    Callfloor__StatusReply st = CALLFLOOR__STATUS_REPLY__INIT;
    st.server_version = CALLFLOOR_VERSION;
    st.instance_id = srv->instance_id;
    st.uptime_s = (int64_t)((uv_now(srv->loop) - srv->started_ms) / 1000);
    st.sessions = counts.total;
    st.agents = counts.agents;
    st.supervisors = counts.supervisors;
    st.admins = counts.admins;
    st.db_ok = db.ready > 0;
    st.db_connections = (uint32_t)db.connections;
    st.db_connections_ready = (uint32_t)db.ready;
    st.db_queued = (uint32_t)db.queued;
    st.schema_version = (uint32_t)srv->schema_version;
    st.connections = listener_connection_count(srv->listener);
    st.leads_offered = metrics_counter_value(srv, METRIC_LEADS_OFFERED);
    st.outcomes = metrics_outcomes_total(srv);
    st.tls_handshakes = metrics_counter_value(srv, METRIC_TLS_HANDSHAKES);
    st.tls_failures = metrics_counter_value(srv, METRIC_TLS_FAILURES);
    st.offer_p99_ms = metrics_quantile_ms(srv, METRIC_OFFER_LATENCY, 0.99);
    st.db_p99_ms = metrics_quantile_ms(srv, METRIC_DB_ROUNDTRIP, 0.99);
    st.push_p99_ms = metrics_quantile_ms(srv, METRIC_PUSH_LATENCY, 0.99);
    st.hopper_depth = hopper_depth(srv);
    envelope reply = CALLFLOOR__ENVELOPE__INIT;
    reply.body_case = CALLFLOOR__ENVELOPE__BODY_STATUS_REPLY;
    reply.status_reply = &st;
    request_reply(req, &reply);
}

static void on_user_inserted(const db_reply *reply, void *arg) {
    admin_op *op = arg;
    request *req = op->req;
    const Callfloor__UserAdd *add = req->msg->user_add;
    free(op);
    if (reply->status != DB_OK) {
        if (db_is_unique_violation(reply))
            request_fail(req, CALLFLOOR__ERROR_CODE__ALREADY_EXISTS, 0, "user '%s' already exists",
                         add->username);
        else
            request_fail_db(req, reply, "adding a user");
        return;
    }
    if (PQntuples(reply->results[0]) == 0) {
        request_fail(req, CALLFLOOR__ERROR_CODE__NOT_FOUND, 0,
                     "team '%s' does not exist; create it with 'callfloorctl team add'", add->team);
        return;
    }
    log_info("conn %s: %s added %s %s", conn_name(req->conn), req->username, role_name(add->role),
             add->username);
    Callfloor__User user = CALLFLOOR__USER__INIT;
    user.id = (uint64_t)db_int64(reply->results[0], 0, 0);
    user.username = add->username;
    user.display_name = add->display_name;
    user.role = add->role;
    user.team = add->team;
    user.created_at = db_int64(reply->results[0], 0, 1);
    envelope out = CALLFLOOR__ENVELOPE__INIT;
    out.body_case = CALLFLOOR__ENVELOPE__BODY_USER;
    out.user = &user;
    request_reply(req, &out);
}

static void on_user_add_hashed(int status, const char *hash, void *arg) {
    admin_op *op = arg;
    if (hash_failed(op, status))
        return;
    const Callfloor__UserAdd *add = op->req->msg->user_add;
    const char *params[] = {add->username, add->display_name, role_name(add->role), add->team,
                            hash};
    if (!request_query(op->req, "admin_user_insert", 5, params, on_user_inserted, op))
        free(op);
}

void admin_on_user_add(request *req) {
    Callfloor__UserAdd *add = req->msg->user_add;
    const char *problem = NULL;
    if (!valid_username(add->username))
        problem = "a user name is 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a "
                  "letter or digit";
    else if (add->role == CALLFLOOR__ROLE__ROLE_UNSPECIFIED ||
             strcmp(role_name(add->role), "unknown") == 0)
        problem = "the role must be agent, supervisor or admin";
    else if (!valid_text(add->team, NAME_MAX_LEN))
        problem = "the team name is too long or has control characters";
    else if (!valid_text(add->display_name, DISPLAY_NAME_MAX_LEN))
        problem = "the display name is too long or has control characters";
    if (problem != NULL) {
        wipe_string(add->password);
        request_fail(req, CALLFLOOR__ERROR_CODE__INVALID_ARGUMENT, 0, "%s", problem);
        return;
    }
    if (!check_new_password(req, add->password))
        return;
    admin_op *op = admin_op_new(req);
    if (op != NULL)
        admin_hash_then(op, add->password, on_user_add_hashed);
}

static void user_from_row(Callfloor__User *u, const PGresult *res, int row) {
    callfloor__user__init(u);
    u->id = (uint64_t)db_int64(res, row, 0);
    u->username = (char *)db_value(res, row, 1);
    u->display_name = (char *)db_value(res, row, 2);
    role_parse(db_value(res, row, 3), &u->role);
    u->team = (char *)db_value(res, row, 4);
    u->disabled = db_bool(res, row, 5);
    u->created_at = db_int64(res, row, 6);
    u->last_login_at = db_int64(res, row, 7);
}

static void on_user_list(const db_reply *reply, void *arg) {
    request *req = arg;
    if (reply->status != DB_OK) {
        request_fail_db(req, reply, "listing users");
        return;
    }
    const PGresult *res = reply->results[0];
    int n = PQntuples(res);
    Callfloor__User *users = calloc((size_t)n + 1, sizeof *users);
    Callfloor__User **ptrs = calloc((size_t)n + 1, sizeof *ptrs);
    if (users == NULL || ptrs == NULL) {
        free(users);
        free(ptrs);
        request_fail(req, CALLFLOOR__ERROR_CODE__INTERNAL, 0, "the server is out of memory");
        return;
    }
    for (int i = 0; i < n; i++) {
        user_from_row(&users[i], res, i);
        ptrs[i] = &users[i];
    }
    Callfloor__UserListReply list = CALLFLOOR__USER_LIST_REPLY__INIT;
    list.n_users = (size_t)n;
    list.users = ptrs;
    envelope out = CALLFLOOR__ENVELOPE__INIT;
    out.body_case = CALLFLOOR__ENVELOPE__BODY_USER_LIST_REPLY;
    out.user_list_reply = &list;
    request_reply(req, &out);
    free(ptrs);
    free(users);
}

void admin_on_user_list(request *req) {
    request_query(req, "admin_user_list", 0, NULL, on_user_list, req);
}

static void on_password_stored(const db_reply *reply, void *arg) {
    admin_op *op = arg;
    request *req = op->req;
    free(op);
    if (reply->status != DB_OK) {
        request_fail_db(req, reply, "changing a password");
        return;
    }
    const char *username = req->msg->user_passwd->username;
    if (PQntuples(reply->results[0]) == 0) {
        request_fail(req, CALLFLOOR__ERROR_CODE__NOT_FOUND, 0, "user '%s' does not exist",
                     username);
        return;
    }
    uint64_t user_id = (uint64_t)db_int64(reply->results[0], 0, 0);
    log_info("conn %s: %s changed the password of %s", conn_name(req->conn), req->username,
             username);
    /* Whoever knew the old password loses their sessions; the session that
     * made the change stays. */
    session_close_user(req->srv, user_id, request_session(req),
                       CALLFLOOR__ERROR_CODE__UNAUTHENTICATED,
                       "your password was changed; log in again");
    request_ok(req);
}

static void on_passwd_hashed(int status, const char *hash, void *arg) {
    admin_op *op = arg;
    if (hash_failed(op, status))
        return;
    const char *params[] = {op->req->msg->user_passwd->username, hash};
    if (!request_query(op->req, "admin_user_set_password", 2, params, on_password_stored, op))
        free(op);
}

void admin_on_user_passwd(request *req) {
    Callfloor__UserPasswd *pw = req->msg->user_passwd;
    if (req->role != CALLFLOOR__ROLE__ROLE_ADMIN && strcmp(pw->username, req->username) != 0) {
        wipe_string(pw->password);
        request_fail(req, CALLFLOOR__ERROR_CODE__PERMISSION_DENIED, 0,
                     "you may change only your own password; ask an administrator");
        return;
    }
    if (!check_new_password(req, pw->password))
        return;
    admin_op *op = admin_op_new(req);
    if (op != NULL)
        admin_hash_then(op, pw->password, on_passwd_hashed);
}

static void on_disabled_set(const db_reply *reply, void *arg) {
    request *req = arg;
    const Callfloor__UserSetDisabled *sd = req->msg->user_set_disabled;
    if (reply->status != DB_OK) {
        request_fail_db(req, reply, "changing an account");
        return;
    }
    if (PQntuples(reply->results[0]) == 0) {
        request_fail(req, CALLFLOOR__ERROR_CODE__NOT_FOUND, 0, "user '%s' does not exist",
                     sd->username);
        return;
    }
    log_info("conn %s: %s %s %s", conn_name(req->conn), req->username,
             sd->disabled ? "disabled" : "enabled", sd->username);
    if (sd->disabled)
        session_close_user(req->srv, (uint64_t)db_int64(reply->results[0], 0, 0), NULL,
                           CALLFLOOR__ERROR_CODE__ACCOUNT_DISABLED,
                           "your account was disabled by an administrator");
    request_ok(req);
}

void admin_on_user_set_disabled(request *req) {
    const Callfloor__UserSetDisabled *sd = req->msg->user_set_disabled;
    if (sd->disabled && strcmp(sd->username, req->username) == 0) {
        request_fail(req, CALLFLOOR__ERROR_CODE__FAILED_PRECONDITION, 0,
                     "you cannot disable your own account; ask another administrator");
        return;
    }
    const char *params[] = {sd->username, sd->disabled ? "true" : "false"};
    request_query(req, "admin_user_set_disabled", 2, params, on_disabled_set, req);
}

static void on_team_inserted(const db_reply *reply, void *arg) {
    request *req = arg;
    const Callfloor__TeamAdd *add = req->msg->team_add;
    if (reply->status != DB_OK) {
        if (db_is_unique_violation(reply))
            request_fail(req, CALLFLOOR__ERROR_CODE__ALREADY_EXISTS, 0, "team '%s' already exists",
                         add->name);
        else
            request_fail_db(req, reply, "adding a team");
        return;
    }
    log_info("conn %s: %s added team %s", conn_name(req->conn), req->username, add->name);
    Callfloor__Team team = CALLFLOOR__TEAM__INIT;
    team.id = (uint64_t)db_int64(reply->results[0], 0, 0);
    team.name = add->name;
    team.description = add->description;
    envelope out = CALLFLOOR__ENVELOPE__INIT;
    out.body_case = CALLFLOOR__ENVELOPE__BODY_TEAM;
    out.team = &team;
    request_reply(req, &out);
}

void admin_on_team_add(request *req) {
    const Callfloor__TeamAdd *add = req->msg->team_add;
    if (!label_valid(add->name, NAME_MAX_LEN) ||
        !valid_text(add->description, DESCRIPTION_MAX_LEN)) {
        request_fail(req, CALLFLOOR__ERROR_CODE__INVALID_ARGUMENT, 0,
                     "a team name is 1-64 bytes without control characters, a description at "
                     "most %d",
                     DESCRIPTION_MAX_LEN);
        return;
    }
    const char *params[] = {add->name, add->description};
    request_query(req, "admin_team_insert", 2, params, on_team_inserted, req);
}

static void on_team_list(const db_reply *reply, void *arg) {
    request *req = arg;
    if (reply->status != DB_OK) {
        request_fail_db(req, reply, "listing teams");
        return;
    }
    const PGresult *res = reply->results[0];
    int n = PQntuples(res);
    Callfloor__Team *teams = calloc((size_t)n + 1, sizeof *teams);
    Callfloor__Team **ptrs = calloc((size_t)n + 1, sizeof *ptrs);
    if (teams == NULL || ptrs == NULL) {
        free(teams);
        free(ptrs);
        request_fail(req, CALLFLOOR__ERROR_CODE__INTERNAL, 0, "the server is out of memory");
        return;
    }
    for (int i = 0; i < n; i++) {
        callfloor__team__init(&teams[i]);
        teams[i].id = (uint64_t)db_int64(res, i, 0);
        teams[i].name = (char *)db_value(res, i, 1);
        teams[i].description = (char *)db_value(res, i, 2);
        teams[i].members = (uint32_t)db_int64(res, i, 3);
        ptrs[i] = &teams[i];
    }
    Callfloor__TeamListReply list = CALLFLOOR__TEAM_LIST_REPLY__INIT;
    list.n_teams = (size_t)n;
    list.teams = ptrs;
    envelope out = CALLFLOOR__ENVELOPE__INIT;
    out.body_case = CALLFLOOR__ENVELOPE__BODY_TEAM_LIST_REPLY;
    out.team_list_reply = &list;
    request_reply(req, &out);
    free(ptrs);
    free(teams);
}

void admin_on_team_list(request *req) {
    request_query(req, "admin_team_list", 0, NULL, on_team_list, req);
}
