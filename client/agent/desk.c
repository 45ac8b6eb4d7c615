/* desk: see desk.h. One client object per login attempt: the client
 * library cannot reconnect a used client, so every attempt creates a new
 * one from the options kept here. */
#include "desk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "i18n.h"
#include "pii.h"

enum {
    BACKOFF_FIRST_MS = 1000,
    BACKOFF_MAX_MS = 30000,
    NS_PER_MS = 1000000,
};

typedef enum call_kind {
    CALL_PASSWD,
    CALL_PING,
    CALL_PLAIN,   /* any other request: the answer goes to reply_cb */
    CALL_OUTCOME, /* an outcome from the outbox */
} call_kind;

/* One request on its way; freed when its answer (or failure) came. */
typedef struct desk_call {
    desk *d;
    call_kind kind;
    desk_reply_cb reply_cb;
    desk_ping_cb ping_cb;
    void *arg;
    uint64_t sent_ns;
    char key[65]; /* CALL_OUTCOME: its idempotency key */
} desk_call;

struct desk {
    uv_loop_t *loop;
    cli_conn_options conn; /* strings point into argv and the environment */
    const char *client_name;
    bool reconnect;
    unsigned probe_interval_ms;
    client *client;
    desk_state state;
    bool destroying;
    bool ever_connected;
    bool probe_in_flight;
    bool passwd_pending;
    unsigned attempts; /* failed logins since the session dropped */
    int open_handles;
    uv_timer_t retry_timer;
    uv_timer_t probe_timer;
    uint64_t retry_at;
    uint32_t jitter_state;
    bool have_user;
    desk_user user;
    char *server_version;
    time_t logged_in_at;
    int rtt_ms;
    int failure_status;
    Callfloor__ErrorCode server_code;
    char drop_reason[CLI_MESSAGE_MAX];
    char attempt_error[CLI_MESSAGE_MAX];
    char new_password[CLI_PASSWORD_MAX + 1];
    desk_event_cb event_cb;
    void *event_arg;
    desk_push_cb push_cb;
    void *push_arg;
    outbox *outbox;
    desk_outcome_cb outcome_cb;
    void *outcome_arg;
};

static void attempt_login(desk *d);

static void notify(desk *d) {
    if (d->event_cb && !d->destroying)
        d->event_cb(d, d->event_arg);
}

/* ---- who is logged in ---- */

static void free_user(desk_user *u) {
    free(u->username);
    free(u->display_name);
    free(u->team);
    memset(u, 0, sizeof *u);
}

/* The identity is copied: the client that reported it is gone after a drop,
 * and the desk still shows whose desk it is while it reconnects. */
static int remember_session(desk *d, client *c) {
    const Callfloor__User *u = client_user(c);
    const char *version = client_server_version(c);
    if (u == NULL)
        return CLIENT_E_PROTOCOL;
    desk_user fresh = {strdup(u->username), strdup(u->display_name), strdup(u->team), u->role};
    char *fresh_version = strdup(version ? version : "");
    if (!fresh.username || !fresh.display_name || !fresh.team || !fresh_version) {
        free_user(&fresh);
        free(fresh_version);
        return CLIENT_E_NOMEM;
    }
    free_user(&d->user);
    free(d->server_version);
    d->user = fresh;
    d->server_version = fresh_version;
    d->have_user = true;
    return 0;
}

/* ---- backoff ---- */

/* xorshift32: the jitter only needs to differ between agents. */
static uint32_t next_jitter(desk *d) {
    uint32_t x = d->jitter_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    d->jitter_state = x;
    return x;
}

/* 1 s, 2 s, 4 s ... up to 30 s, each stretched by up to a quarter so that
 * a floor of agents dropped together by a restart does not log in again
 * in one burst. */
static uint64_t backoff_ms(desk *d) {
    unsigned shift = d->attempts < 5 ? d->attempts : 5;
    uint64_t base = (uint64_t)BACKOFF_FIRST_MS << shift;
    uint64_t delay = base + next_jitter(d) % (base / 4 + 1);
    return delay < BACKOFF_MAX_MS ? delay : BACKOFF_MAX_MS;
}

static void on_retry_timer(uv_timer_t *t) {
    attempt_login(t->data);
}

static void schedule_retry(desk *d) {
    uint64_t delay = backoff_ms(d);
    d->attempts++;
    d->state = DESK_WAITING;
    d->retry_at = uv_now(d->loop) + delay;
    uv_timer_start(&d->retry_timer, on_retry_timer, delay, 0);
}

/* ---- session life ---- */

static void drop_client(desk *d) {
    if (d->client == NULL)
        return;
    client_destroy(d->client);
    d->client = NULL;
}

static void record_failure(desk *d, int status, const char *sentence, char *into, size_t cap) {
    d->failure_status = status;
    d->server_code = d->client ? client_last_server_code(d->client)
                               : CALLFLOOR__ERROR_CODE__ERROR_CODE_UNSPECIFIED;
    cli_failure f;
    cli_failure_from_status(&f, status, sentence, d->server_code);
    snprintf(into, cap, "%s", f.message);
}

/* A login that failed this way fails the same way on every retry, and
 * repeating a refused password helps nobody. */
static bool login_failure_is_final(int status, Callfloor__ErrorCode code) {
    return status == CLIENT_E_AUTH || status == CLIENT_E_NOMEM ||
           (status == CLIENT_E_SERVER && code == CALLFLOOR__ERROR_CODE__UNSUPPORTED_VERSION);
}

/* The server ended the session on purpose, and a login with the stored
 * password would be refused (disabled account, password changed). */
static bool drop_is_final(Callfloor__ErrorCode code) {
    return code == CALLFLOOR__ERROR_CODE__ACCOUNT_DISABLED ||
           code == CALLFLOOR__ERROR_CODE__UNAUTHENTICATED;
}

static void login_failed(desk *d, int status, const char *sentence) {
    if (d->ever_connected)
        record_failure(d, status, sentence, d->attempt_error, sizeof d->attempt_error);
    else
        record_failure(d, status, sentence, d->drop_reason, sizeof d->drop_reason);
    drop_client(d);
    if (d->ever_connected && d->reconnect && !login_failure_is_final(status, d->server_code))
        schedule_retry(d);
    else
        d->state = DESK_CLOSED;
    notify(d);
}

static void on_probe_done(desk *d, int status, unsigned rtt_ms, void *arg) {
    (void)rtt_ms;
    (void)arg;
    d->probe_in_flight = false;
    if (status == 0)
        notify(d);
}

static void on_probe_timer(uv_timer_t *t) {
    desk *d = t->data;
    if (!d->probe_in_flight && desk_ping(d, on_probe_done, NULL) == 0)
        d->probe_in_flight = true;
}

static void resend_outbox(desk *d);

static void session_started(desk *d) {
    int rc = remember_session(d, d->client);
    if (rc < 0) {
        login_failed(d, rc, NULL);
        return;
    }
    d->state = DESK_CONNECTED;
    d->ever_connected = true;
    d->attempts = 0;
    d->drop_reason[0] = d->attempt_error[0] = '\0';
    d->logged_in_at = time(NULL);
    d->rtt_ms = -1;
    if (d->probe_interval_ms > 0)
        uv_timer_start(&d->probe_timer, on_probe_timer, 0, d->probe_interval_ms);
    notify(d);
    resend_outbox(d);
}

static void on_ready(client *c, int status, void *arg) {
    desk *d = arg;
    if (status == 0)
        session_started(d);
    else
        login_failed(d, status, client_last_error(c));
}

static void on_closed(client *c, int status, const char *reason, void *arg) {
    desk *d = arg;
    (void)c;
    record_failure(d, status, reason, d->drop_reason, sizeof d->drop_reason);
    d->attempt_error[0] = '\0';
    d->attempts = 0;
    d->logged_in_at = 0;
    d->rtt_ms = -1;
    uv_timer_stop(&d->probe_timer);
    drop_client(d);
    if (d->reconnect && !drop_is_final(d->server_code))
        schedule_retry(d);
    else
        d->state = DESK_CLOSED;
    notify(d);
}

static void on_push(client *c, const envelope *push, void *arg) {
    desk *d = arg;
    (void)c;
    if (d->push_cb && !d->destroying)
        d->push_cb(d, push, d->push_arg);
}

static int start_client(desk *d) {
    client_options co;
    cli_conn_to_client(&d->conn, d->client_name, &co);
    d->client = client_create(d->loop, &co);
    if (d->client == NULL)
        return CLIENT_E_NOMEM;
    client_on_closed(d->client, on_closed, d);
    client_on_push(d->client, on_push, d);
    return client_connect(d->client, on_ready, d);
}

static void attempt_login(desk *d) {
    d->state = DESK_CONNECTING;
    int rc = start_client(d);
    if (rc < 0) {
        login_failed(d, rc, d->client ? client_last_error(d->client) : NULL);
        return;
    }
    notify(d);
}

/* ---- requests ---- */

static void finish_passwd(desk *d, int status, const envelope *reply) {
    d->passwd_pending = false;
    if (status == 0 && reply->body_case == CALLFLOOR__ENVELOPE__BODY_OK) {
        pii_wipe(d->conn.password, sizeof d->conn.password);
        memcpy(d->conn.password, d->new_password, sizeof d->conn.password);
    }
    pii_wipe(d->new_password, sizeof d->new_password);
}

static void finish_ping(desk_call *call, int status, const envelope *reply) {
    desk *d = call->d;
    unsigned rtt = 0;
    if (status == 0 && reply->body_case != CALLFLOOR__ENVELOPE__BODY_PONG)
        status = CLIENT_E_PROTOCOL;
    if (status == 0) {
        uint64_t ns = uv_hrtime() - call->sent_ns;
        rtt = (unsigned)((ns + NS_PER_MS / 2) / NS_PER_MS);
        d->rtt_ms = (int)rtt;
    }
    if (!d->destroying)
        call->ping_cb(d, status, rtt, call->arg);
}

/* Whether resending this answer's outcome could ever be recorded: not
 * after a success, nor after a refusal of its content. */
static bool outcome_settled(int status, const envelope *reply) {
    if (status < 0)
        return false;
    if (reply->body_case != CALLFLOOR__ENVELOPE__BODY_ERROR)
        return true;
    Callfloor__ErrorCode code = reply->error->code;
    return code != CALLFLOOR__ERROR_CODE__UNAVAILABLE && code != CALLFLOOR__ERROR_CODE__INTERNAL &&
           code != CALLFLOOR__ERROR_CODE__SHUTTING_DOWN &&
           code != CALLFLOOR__ERROR_CODE__RATE_LIMITED;
}

static void finish_outcome(desk_call *call, int status, const envelope *reply) {
    desk *d = call->d;
    bool settled = outcome_settled(status, reply);
    int rc = settled && d->outbox ? outbox_remove(d->outbox, call->key) : 0;
    if (rc < 0)
        fprintf(stderr, _("callfloor-agent: cannot update the outbox %s: %s\n"),
                outbox_path(d->outbox), strerror(-rc));
    if (d->outcome_cb && !d->destroying)
        d->outcome_cb(d, call->key, status, reply, settled, d->outcome_arg);
}

static void on_call_reply(client *c, int status, const envelope *reply, void *arg) {
    desk_call *call = arg;
    desk *d = call->d;
    (void)c;
    if (call->kind == CALL_PING) {
        finish_ping(call, status, reply);
    } else if (call->kind == CALL_OUTCOME) {
        finish_outcome(call, status, reply);
    } else if (call->kind == CALL_PLAIN) {
        if (!d->destroying)
            call->reply_cb(d, status, reply, call->arg);
    } else {
        finish_passwd(d, status, reply);
        if (!d->destroying)
            call->reply_cb(d, status, reply, call->arg);
    }
    free(call);
}

static int send_call(desk *d, envelope *req, desk_call *proto) {
    if (d->state != DESK_CONNECTED || d->client == NULL)
        return CLIENT_E_CLOSED;
    desk_call *call = malloc(sizeof *call);
    if (call == NULL)
        return CLIENT_E_NOMEM;
    *call = *proto;
    call->d = d;
    call->sent_ns = uv_hrtime();
    int rc = client_request(d->client, req, on_call_reply, call);
    if (rc < 0)
        free(call);
    return rc;
}

int desk_change_password(desk *d, const char *password, desk_reply_cb cb, void *arg) {
    if (d->passwd_pending)
        return DESK_E_BUSY;
    if (!d->have_user)
        return CLIENT_E_CLOSED;
    size_t len = strlen(password);
    if (len > CLI_PASSWORD_MAX)
        return DESK_E_TOO_LONG;
    memcpy(d->new_password, password, len + 1);
    Callfloor__UserPasswd msg = CALLFLOOR__USER_PASSWD__INIT;
    msg.username = d->user.username;
    msg.password = d->new_password;
    envelope req = CALLFLOOR__ENVELOPE__INIT;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_USER_PASSWD;
    req.user_passwd = &msg;
    desk_call proto = {.kind = CALL_PASSWD, .reply_cb = cb, .arg = arg};
    int rc = send_call(d, &req, &proto);
    if (rc < 0)
        pii_wipe(d->new_password, sizeof d->new_password);
    else
        d->passwd_pending = true;
    return rc;
}

int desk_ping(desk *d, desk_ping_cb cb, void *arg) {
    Callfloor__Ping msg = CALLFLOOR__PING__INIT;
    msg.nonce = uv_hrtime();
    envelope req = CALLFLOOR__ENVELOPE__INIT;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_PING;
    req.ping = &msg;
    desk_call proto = {.kind = CALL_PING, .ping_cb = cb, .arg = arg};
    return send_call(d, &req, &proto);
}

int desk_request(desk *d, envelope *req, desk_reply_cb cb, void *arg) {
    desk_call proto = {.kind = CALL_PLAIN, .reply_cb = cb, .arg = arg};
    return send_call(d, req, &proto);
}

/* ---- outcomes ---- */

static int send_outcome(desk *d, const Callfloor__Outcome *o) {
    Callfloor__Outcome copy = *o;
    envelope req = CALLFLOOR__ENVELOPE__INIT;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_OUTCOME;
    req.outcome = &copy;
    desk_call proto = {.kind = CALL_OUTCOME};
    snprintf(proto.key, sizeof proto.key, "%s", o->idempotency_key);
    return send_call(d, &req, &proto);
}

static void resend_outbox(desk *d) {
    for (size_t i = 0; d->outbox && i < outbox_count(d->outbox); i++) {
        Callfloor__Outcome *o = outbox_get(d->outbox, i);
        if (o == NULL)
            return;
        int rc = send_outcome(d, o);
        callfloor__outcome__free_unpacked(o, NULL);
        if (rc < 0)
            return; /* the session dropped again; the next login resends */
    }
}

void desk_set_outbox(desk *d, outbox *ob) {
    d->outbox = ob;
}

const outbox *desk_outbox(const desk *d) {
    return d->outbox;
}

void desk_on_outcome(desk *d, desk_outcome_cb cb, void *arg) {
    d->outcome_cb = cb;
    d->outcome_arg = arg;
}

int desk_submit_outcome(desk *d, const Callfloor__Outcome *o) {
    int rc = d->outbox ? outbox_add(d->outbox, o) : 0;
    if (rc < 0)
        return rc;
    rc = send_outcome(d, o);
    /* Not connected: it waits in the outbox for the next login. */
    return rc == CLIENT_E_CLOSED && d->outbox ? 0 : rc;
}

void desk_on_push(desk *d, desk_push_cb cb, void *arg) {
    d->push_cb = cb;
    d->push_arg = arg;
}

/* ---- life cycle ---- */

desk *desk_create(uv_loop_t *loop, const desk_options *opts) {
    desk *d = calloc(1, sizeof *d);
    if (d == NULL)
        return NULL;
    d->loop = loop;
    d->conn = *opts->conn;
    d->client_name = opts->client_name;
    d->reconnect = opts->reconnect;
    d->probe_interval_ms = opts->probe_interval_ms;
    d->state = DESK_CLOSED;
    d->rtt_ms = -1;
    d->jitter_state = (uint32_t)(uv_hrtime() ^ ((uint64_t)getpid() << 16)) | 1u;
    uv_timer_init(loop, &d->retry_timer);
    uv_timer_init(loop, &d->probe_timer);
    d->retry_timer.data = d;
    d->probe_timer.data = d;
    d->open_handles = 2;
    return d;
}

int desk_open(desk *d) {
    attempt_login(d);
    while (d->state == DESK_CONNECTING && uv_run(d->loop, UV_RUN_ONCE) != 0)
        continue;
    if (d->state == DESK_CONNECTED)
        return 0;
    return d->failure_status < 0 ? d->failure_status : CLIENT_E_CLOSED;
}

void desk_on_event(desk *d, desk_event_cb cb, void *arg) {
    d->event_cb = cb;
    d->event_arg = arg;
}

void desk_retry(desk *d) {
    if (d->destroying || (d->state != DESK_WAITING && d->state != DESK_CLOSED))
        return;
    uv_timer_stop(&d->retry_timer);
    attempt_login(d);
}

static void on_handle_closed(uv_handle_t *h) {
    desk *d = h->data;
    if (--d->open_handles > 0)
        return;
    free_user(&d->user);
    free(d->server_version);
    free(d);
}

void desk_destroy(desk *d) {
    if (d == NULL || d->destroying)
        return;
    d->destroying = true;
    drop_client(d);
    cli_conn_wipe(&d->conn);
    pii_wipe(d->new_password, sizeof d->new_password);
    uv_close((uv_handle_t *)&d->retry_timer, on_handle_closed);
    uv_close((uv_handle_t *)&d->probe_timer, on_handle_closed);
}

/* ---- what the screen shows ---- */

desk_state desk_get_state(const desk *d) {
    return d->state;
}

const desk_user *desk_get_user(const desk *d) {
    return d->have_user ? &d->user : NULL;
}

const char *desk_server(const desk *d) {
    return d->conn.server;
}

const char *desk_server_version(const desk *d) {
    return d->server_version ? d->server_version : "";
}

time_t desk_logged_in_at(const desk *d) {
    return d->logged_in_at;
}

int desk_rtt_ms(const desk *d) {
    return d->rtt_ms;
}

const char *desk_drop_reason(const desk *d) {
    return d->drop_reason;
}

const char *desk_attempt_error(const desk *d) {
    return d->attempt_error;
}

Callfloor__ErrorCode desk_server_code(const desk *d) {
    return d->server_code;
}

uint64_t desk_retry_at(const desk *d) {
    return d->retry_at;
}
