/* client: see client.h. One connection per client object, driven entirely
 * by the caller's libuv loop. Memory is released only from close callbacks,
 * so a user callback may destroy the client at any point: every path that
 * calls back into the user checks the state afterwards before going on. */
#include "client.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "i18n.h"
#include "pii.h"
#include "tls.h"
#include "version.h"

enum {
    DEFAULT_TIMEOUT_MS = 10000,
    /* A reply such as a long user list may exceed what the server accepts
     * from clients, so the client takes larger frames than it may send. */
    RECEIVE_MAX = 16 * 1024 * 1024,
    READ_CHUNK = 64 * 1024,
    PLAIN_CHUNK = 16 * 1024,
    ERROR_MAX = 512,
    /* The server closes a session silent for three intervals; the client
     * gives up on a server after as many unanswered pings. */
    MAX_UNANSWERED_PINGS = 3,
};

static const char default_port[] = "7443";

typedef enum conn_state {
    STATE_IDLE,
    STATE_RESOLVING,
    STATE_CONNECTING,
    STATE_HANDSHAKING,
    STATE_HELLO,
    STATE_LOGIN,
    STATE_READY,
    STATE_CLOSED,
} conn_state;

typedef struct pending {
    struct pending *next;
    uint64_t id;
    client_reply_cb cb;
    void *arg;
    /* Set by client_call_sync: the reply is handed over instead of freed. */
    envelope **take;
} pending;

typedef struct write_req {
    uv_write_t req; /* first member, so a uv_write_t pointer is a write_req */
    buf data;
} write_req;

typedef struct sync_wait {
    bool done;
    int status;
} sync_wait;

struct client {
    uv_loop_t *loop;
    client_options opts; /* every string is a heap copy */
    char *host;
    char *port;
    conn_state state;
    bool destroying;
    bool resolving;  /* a getaddrinfo request is outstanding */
    bool tcp_open;   /* tcp is initialised and its close callback has not run */
    bool retry_next; /* connect to next_addr once tcp has closed */
    int open_handles;
    uv_getaddrinfo_t resolver;
    struct addrinfo *addrs;
    struct addrinfo *next_addr;
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    uv_timer_t deadline;
    uv_timer_t heartbeat;
    unsigned unanswered_pings;
    SSL_CTX *ssl_ctx;
    tls_conn *tls;
    buf outgoing;
    frame_decoder decoder;
    uint64_t last_id;
    uint64_t handshake_id; /* the outstanding Hello or Login */
    uint64_t sync_id;      /* the request client_call_sync waits for */
    pending **buckets;
    size_t nbuckets; /* a power of two, or 0 */
    size_t npending;
    client_ready_cb ready_cb;
    void *ready_arg;
    client_push_cb push_cb;
    void *push_arg;
    client_closed_cb closed_cb;
    void *closed_arg;
    envelope *hello_reply;
    envelope *login_reply;
    Callfloor__ErrorCode server_code;
    bool have_goodbye;
    char goodbye[ERROR_MAX]; /* why the server said it was closing */
    char last_error[ERROR_MAX];
    char read_buf[READ_CHUNK];
};

static void client_fail(client *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_error(client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void connect_next(client *c);

static void set_error(client *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->last_error, sizeof c->last_error, fmt, ap);
    va_end(ap);
}

static double timeout_seconds(const client *c) {
    return c->opts.timeout_ms / 1000.0;
}

/* ---- options ---- */

static int copy_string(char **dst, const char *src) {
    *dst = NULL;
    if (src == NULL)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : -1;
}

static void free_options(client_options *o) {
    free((char *)o->server);
    free((char *)o->ca_file);
    free((char *)o->cert_file);
    free((char *)o->key_file);
    free((char *)o->username);
    if (o->password)
        pii_wipe((char *)o->password, strlen(o->password));
    free((char *)o->password);
    free((char *)o->client_name);
    memset(o, 0, sizeof *o);
}

static int copy_options(client_options *dst, const client_options *src) {
    char *s[7];
    const char *from[7] = {src->server,   src->ca_file,  src->cert_file,  src->key_file,
                           src->username, src->password, src->client_name};
    int rc = 0;
    for (size_t i = 0; i < 7; i++)
        rc |= copy_string(&s[i], from[i]);
    dst->server = s[0];
    dst->ca_file = s[1];
    dst->cert_file = s[2];
    dst->key_file = s[3];
    dst->username = s[4];
    dst->password = s[5];
    dst->client_name = s[6];
    dst->timeout_ms = src->timeout_ms ? src->timeout_ms : DEFAULT_TIMEOUT_MS;
    return rc;
}

/* Forgets the password as soon as Login has been sent: nothing needs it
 * afterwards, and a core dump or swap page should not hold it. */
static void forget_password(client *c) {
    char *pw = (char *)c->opts.password;
    if (pw == NULL)
        return;
    pii_wipe(pw, strlen(pw));
    free(pw);
    c->opts.password = NULL;
}

/* ---- pending requests, keyed by id ---- */

static int pending_reserve(client *c) {
    if (c->npending < c->nbuckets)
        return 0;
    size_t n = c->nbuckets ? c->nbuckets * 2 : 16;
    pending **b = calloc(n, sizeof *b);
    if (b == NULL)
        return -1;
    for (size_t i = 0; i < c->nbuckets; i++) {
        pending *p;
        while ((p = c->buckets[i]) != NULL) {
            c->buckets[i] = p->next;
            p->next = b[p->id & (n - 1)];
            b[p->id & (n - 1)] = p;
        }
    }
    free(c->buckets);
    c->buckets = b;
    c->nbuckets = n;
    return 0;
}

/* Needs a prior successful pending_reserve. */
static void pending_put(client *c, pending *p) {
    pending **head = &c->buckets[p->id & (c->nbuckets - 1)];
    p->next = *head;
    *head = p;
    c->npending++;
}

static pending *pending_take(client *c, uint64_t id) {
    if (c->nbuckets == 0)
        return NULL;
    for (pending **link = &c->buckets[id & (c->nbuckets - 1)]; *link; link = &(*link)->next) {
        pending *p = *link;
        if (p->id == id) {
            *link = p->next;
            c->npending--;
            return p;
        }
    }
    return NULL;
}

static void pending_finish(client *c, pending *p, int status, const envelope *reply) {
    if (p->cb)
        p->cb(c, status, reply, p->arg);
    free(p);
}

/* Each entry is unlinked before its callback runs, so a callback that
 * destroys the client (and so fails the rest again) sees a consistent table. */
static void fail_pending(client *c, int status) {
    for (size_t i = 0; i < c->nbuckets; i++) {
        pending *p;
        while ((p = c->buckets[i]) != NULL) {
            c->buckets[i] = p->next;
            c->npending--;
            pending_finish(c, p, status, NULL);
        }
    }
}

/* ---- handle lifetime ---- */

static void free_client(client *c) {
    if (c->tls)
        tls_conn_free(c->tls);
    if (c->ssl_ctx)
        SSL_CTX_free(c->ssl_ctx);
    frame_decoder_free(&c->decoder);
    if (c->hello_reply)
        envelope_free(c->hello_reply);
    if (c->login_reply)
        envelope_free(c->login_reply);
    free(c->buckets);
    uv_freeaddrinfo(c->addrs);
    buf_free(&c->outgoing);
    free(c->host);
    free(c->port);
    free_options(&c->opts);
    free(c);
}

static void release_if_unused(client *c) {
    if (c->destroying && c->open_handles == 0 && !c->resolving)
        free_client(c);
}

static void on_timer_closed(uv_handle_t *h) {
    client *c = h->data;
    c->open_handles--;
    release_if_unused(c);
}

static void on_tcp_closed(uv_handle_t *h) {
    client *c = h->data;
    c->tcp_open = false;
    c->open_handles--;
    if (c->retry_next && c->state == STATE_CONNECTING) {
        c->retry_next = false;
        connect_next(c);
        return;
    }
    release_if_unused(c);
}

static void close_tcp(client *c) {
    if (c->tcp_open && !uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, on_tcp_closed);
}

static void shut_down(client *c) {
    c->state = STATE_CLOSED;
    c->retry_next = false;
    uv_timer_stop(&c->deadline);
    uv_timer_stop(&c->heartbeat);
    if (c->resolving)
        uv_cancel((uv_req_t *)&c->resolver);
    close_tcp(c);
}

/* Ends the connection with `status`. The user hears about it once: through
 * the ready callback while connecting, the closed callback afterwards. */
static void client_fail(client *c, int status, const char *fmt, ...) {
    if (c->state == STATE_CLOSED)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->last_error, sizeof c->last_error, fmt, ap);
    va_end(ap);
    bool was_ready = c->state == STATE_READY;
    shut_down(c);
    fail_pending(c, status);
    if (c->destroying)
        return;
    if (was_ready) {
        if (c->closed_cb)
            c->closed_cb(c, status, c->last_error, c->closed_arg);
    } else if (c->ready_cb) {
        c->ready_cb(c, status, c->ready_arg);
    }
}

static int lost_status(const client *c) {
    return c->state == STATE_READY ? CLIENT_E_CLOSED : CLIENT_E_CONNECT;
}

/* A broken connection: the server's Closing reason, if it gave one, says
 * more than the socket error that followed it. */
static void connection_lost(client *c, int uv_status) {
    if (c->have_goodbye)
        client_fail(c, CLIENT_E_CLOSED, "%s", c->goodbye);
    else
        client_fail(c, lost_status(c),
                    _("the connection to %s failed: %s (check the network and the server's log)"),
                    c->opts.server, uv_strerror(uv_status));
}

/* tls_error_string already ends in a parenthesised hint when it knows a
 * specific one ("wrong port?", "check --ca"); the generic one is added
 * only when it does not. */
static const char *tls_hint(const client *c, const char *generic) {
    return strchr(tls_error_string(c->tls), '(') ? "" : generic;
}

/* ---- output ---- */

static void on_written(uv_write_t *req, int status) {
    write_req *w = (write_req *)req;
    client *c = req->handle->data;
    buf_free(&w->data);
    free(w);
    if (status < 0 && status != UV_ECANCELED)
        connection_lost(c, status);
}

static bool tcp_writable(const client *c) {
    return c->tcp_open && !uv_is_closing((const uv_handle_t *)&c->tcp);
}

/* Sends whatever TLS produced. Called after every TLS call, because
 * handshakes and TLS 1.3 tickets produce output even while reading. */
static int flush_tls(client *c) {
    if (tls_take_output(c->tls, &c->outgoing) < 0) {
        client_fail(c, CLIENT_E_NOMEM, _("out of memory"));
        return CLIENT_E_NOMEM;
    }
    if (buf_pending(&c->outgoing) == 0)
        return 0;
    if (!tcp_writable(c)) {
        buf_reset(&c->outgoing);
        return CLIENT_E_CLOSED;
    }
    write_req *w = calloc(1, sizeof *w);
    if (w == NULL) {
        client_fail(c, CLIENT_E_NOMEM, _("out of memory"));
        return CLIENT_E_NOMEM;
    }
    w->data = c->outgoing;
    c->outgoing = (buf)BUF_INIT;
    uv_buf_t b = uv_buf_init((char *)buf_head(&w->data), (unsigned)buf_pending(&w->data));
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written);
    if (rc < 0) {
        buf_free(&w->data);
        free(w);
        connection_lost(c, rc);
        return lost_status(c);
    }
    return 0;
}

/* Best effort: close_notify tells the server the session ended on purpose.
 * uv_close would cancel a queued uv_write, so it is written directly. */
static void say_goodbye(client *c) {
    if (c->tls == NULL || !tls_established(c->tls) || !tcp_writable(c))
        return;
    tls_shutdown(c->tls);
    if (tls_take_output(c->tls, &c->outgoing) > 0 && c->tcp.write_queue_size == 0) {
        uv_buf_t b =
            uv_buf_init((char *)buf_head(&c->outgoing), (unsigned)buf_pending(&c->outgoing));
        (void)uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    }
    buf_reset(&c->outgoing);
}

/* Every plaintext frame is wiped after encryption: Login, UserAdd and
 * UserPasswd carry passwords, and telling them apart is not worth it. */
static int send_envelope(client *c, envelope *env) {
    buf frame = BUF_INIT;
    int n = envelope_append_frame(&frame, env);
    int rc = 0;
    uint32_t limit = c->hello_reply ? c->hello_reply->hello_reply->max_frame : 0;
    if (n == -ENOMEM) {
        set_error(c, _("out of memory"));
        rc = CLIENT_E_NOMEM;
    } else if (n < 0 || (limit > 0 && (size_t)n - FRAME_HEADER_SIZE > limit)) {
        set_error(c, _("the request is too large for the server (it accepts at most %u bytes)"),
                  limit);
        rc = CLIENT_E_PROTOCOL;
    } else if (tls_write(c->tls, buf_head(&frame), buf_pending(&frame)) < 0) {
        client_fail(c, CLIENT_E_TLS, _("TLS failure on the connection to %s: %s%s"), c->opts.server,
                    tls_error_string(c->tls), tls_hint(c, ""));
        rc = CLIENT_E_TLS;
    }
    pii_wipe(frame.data, frame.cap);
    buf_free(&frame);
    return rc ? rc : flush_tls(c);
}

/* ---- requests ---- */

static int start_request(client *c, envelope *req, client_reply_cb cb, void *arg, envelope **take) {
    if (c->state != STATE_READY)
        return CLIENT_E_CLOSED;
    pending *p = calloc(1, sizeof *p);
    if (p == NULL || pending_reserve(c) < 0) {
        free(p);
        set_error(c, _("out of memory"));
        return CLIENT_E_NOMEM;
    }
    req->id = ++c->last_id;
    /* The reply cannot arrive before send returns, so the entry goes in
     * afterwards: a failed send then never reaches the callback. */
    int rc = send_envelope(c, req);
    if (rc < 0) {
        free(p);
        return rc;
    }
    *p = (pending){.id = req->id, .cb = cb, .arg = arg, .take = take};
    pending_put(c, p);
    return 0;
}

static void on_pong(client *c, int status, const envelope *reply, void *arg) {
    (void)c;
    (void)status;
    (void)reply;
    (void)arg;
}

static void send_ping(client *c) {
    Callfloor__Ping ping = CALLFLOOR__PING__INIT;
    ping.nonce = uv_now(c->loop);
    envelope env = CALLFLOOR__ENVELOPE__INIT;
    env.body_case = CALLFLOOR__ENVELOPE__BODY_PING;
    env.ping = &ping;
    if (start_request(c, &env, on_pong, NULL, NULL) == 0)
        c->unanswered_pings++;
}

/* Counting unanswered pings rather than comparing clocks keeps a program
 * that left the loop idle for a while (a prompt, say) from declaring a
 * healthy server dead the moment the loop runs again. */
static void on_heartbeat(uv_timer_t *t) {
    client *c = t->data;
    if (c->unanswered_pings >= MAX_UNANSWERED_PINGS) {
        client_fail(c, CLIENT_E_TIMEOUT,
                    _("%s stopped answering (%u pings unanswered); check the network and the "
                      "server, then reconnect"),
                    c->opts.server, c->unanswered_pings);
        return;
    }
    send_ping(c);
}

static void expire_sync_call(client *c) {
    pending *p = pending_take(c, c->sync_id);
    c->sync_id = 0;
    if (p == NULL)
        return;
    set_error(c,
              _("%s did not answer within %g s (the server may be overloaded: check its log, or "
                "raise --timeout)"),
              c->opts.server, timeout_seconds(c));
    pending_finish(c, p, CLIENT_E_TIMEOUT, NULL);
}

static void on_deadline(uv_timer_t *t) {
    client *c = t->data;
    const char *server = c->opts.server;
    double s = timeout_seconds(c);
    switch (c->state) {
    case STATE_RESOLVING:
        client_fail(c, CLIENT_E_TIMEOUT,
                    _("cannot resolve %s: no answer within %g s (check --server and DNS, or "
                      "raise --timeout)"),
                    server, s);
        break;
    case STATE_CONNECTING:
        client_fail(c, CLIENT_E_TIMEOUT,
                    _("cannot connect to %s: no answer within %g s (is a firewall dropping "
                      "packets? check --server, or raise --timeout)"),
                    server, s);
        break;
    case STATE_HANDSHAKING:
        client_fail(c, CLIENT_E_TIMEOUT,
                    _("TLS handshake with %s timed out after %g s (is --server the callfloord "
                      "TLS port?)"),
                    server, s);
        break;
    case STATE_HELLO:
    case STATE_LOGIN:
        client_fail(c, CLIENT_E_TIMEOUT,
                    _("%s did not answer the login within %g s (check the server's log, or "
                      "raise --timeout)"),
                    server, s);
        break;
    case STATE_READY:
        expire_sync_call(c);
        break;
    case STATE_IDLE:
    case STATE_CLOSED:
        break;
    }
}

/* ---- the handshake: Hello, then Login ---- */

static int send_handshake_step(client *c, envelope *env) {
    env->id = c->handshake_id = ++c->last_id;
    return send_envelope(c, env);
}

static int send_hello(client *c) {
    Callfloor__Hello hello = CALLFLOOR__HELLO__INIT;
    hello.protocol_version = CALLFLOOR__PROTOCOL_VERSION__PROTOCOL_VERSION_CURRENT;
    hello.client_name = (char *)(c->opts.client_name ? c->opts.client_name : "libcallfloor");
    hello.client_version = (char *)CALLFLOOR_VERSION;
    hello.certificate_login =
        c->opts.cert_file && *c->opts.cert_file && !(c->opts.username && *c->opts.username);
    envelope env = CALLFLOOR__ENVELOPE__INIT;
    env.body_case = CALLFLOOR__ENVELOPE__BODY_HELLO;
    env.hello = &hello;
    return send_handshake_step(c, &env);
}

static void send_login(client *c) {
    Callfloor__Login login = CALLFLOOR__LOGIN__INIT;
    login.username = (char *)c->opts.username;
    login.password = (char *)(c->opts.password ? c->opts.password : "");
    envelope env = CALLFLOOR__ENVELOPE__INIT;
    env.body_case = CALLFLOOR__ENVELOPE__BODY_LOGIN;
    env.login = &login;
    c->state = STATE_LOGIN;
    send_handshake_step(c, &env);
    forget_password(c);
}

static void become_ready(client *c) {
    c->state = STATE_READY;
    c->handshake_id = 0;
    uv_timer_stop(&c->deadline);
    uint32_t interval = c->hello_reply->hello_reply->heartbeat_interval_ms;
    if (interval > 0)
        uv_timer_start(&c->heartbeat, on_heartbeat, interval, interval);
    if (c->ready_cb)
        c->ready_cb(c, 0, c->ready_arg);
}

static const char *error_text(const Callfloor__Error *e) {
    return e->message && *e->message ? e->message : envelope_error_name(e->code);
}

static void handshake_refused(client *c, const Callfloor__Error *e) {
    const char *server = c->opts.server;
    c->server_code = e->code;
    switch (e->code) {
    case CALLFLOOR__ERROR_CODE__INVALID_CREDENTIALS:
        if (c->opts.username && *c->opts.username)
            client_fail(c, CLIENT_E_AUTH,
                        _("login refused: invalid user name or password (check --user and the "
                          "password)"));
        else /* a certificate login: the server says what is wrong with it */
            client_fail(c, CLIENT_E_AUTH, _("certificate login refused: %s"), error_text(e));
        break;
    case CALLFLOOR__ERROR_CODE__ACCOUNT_DISABLED:
        client_fail(c, CLIENT_E_AUTH,
                    _("login refused: the account %s is disabled (ask an administrator to enable "
                      "it)"),
                    c->opts.username);
        break;
    case CALLFLOOR__ERROR_CODE__UNSUPPORTED_VERSION:
        client_fail(c, CLIENT_E_SERVER,
                    _("%s does not speak this client's protocol version: %s (install matching "
                      "versions of the server and the clients)"),
                    server, error_text(e));
        break;
    case CALLFLOOR__ERROR_CODE__SHUTTING_DOWN:
        client_fail(c, CLIENT_E_SERVER, _("%s is shutting down: %s (try again in a moment)"),
                    server, error_text(e));
        break;
    default:
        client_fail(c, CLIENT_E_SERVER,
                    _("%s refused the session: %s (%s; check the server's log)"), server,
                    error_text(e), envelope_error_name(e->code));
        break;
    }
}

/* Takes `env`; returns true when it is the expected answer to the current
 * handshake step, and otherwise fails the connection and frees it. */
static bool accept_handshake_reply(client *c, envelope *env, Callfloor__Envelope__BodyCase want,
                                   const char *step) {
    if (env->id == c->handshake_id && env->body_case == want)
        return true;
    if (env->id == c->handshake_id && env->body_case == CALLFLOOR__ENVELOPE__BODY_ERROR)
        handshake_refused(c, env->error);
    else
        client_fail(c, CLIENT_E_PROTOCOL,
                    _("%s answered %s with %s (is --server a callfloord of a matching version?)"),
                    c->opts.server, step, envelope_body_name(env));
    envelope_free(env);
    return false;
}

static void handle_hello_reply(client *c, envelope *env) {
    if (!accept_handshake_reply(c, env, CALLFLOOR__ENVELOPE__BODY_HELLO_REPLY, "Hello"))
        return;
    uint32_t version = env->hello_reply->protocol_version;
    if (version != CALLFLOOR__PROTOCOL_VERSION__PROTOCOL_VERSION_CURRENT) {
        envelope_free(env);
        client_fail(c, CLIENT_E_PROTOCOL,
                    _("%s speaks protocol version %u, this client version %d (install matching "
                      "versions of the server and the clients)"),
                    c->opts.server, version,
                    (int)CALLFLOOR__PROTOCOL_VERSION__PROTOCOL_VERSION_CURRENT);
        return;
    }
    c->hello_reply = env;
    if (c->opts.username && *c->opts.username)
        send_login(c);
    else
        become_ready(c);
}

static void handle_login_reply(client *c, envelope *env) {
    if (!accept_handshake_reply(c, env, CALLFLOOR__ENVELOPE__BODY_LOGIN_REPLY, "Login"))
        return;
    c->login_reply = env;
    become_ready(c);
}

/* ---- replies and pushes ---- */

static void deliver_reply(client *c, envelope *env) {
    pending *p = pending_take(c, env->id);
    if (p == NULL) {
        /* An id already issued belongs to a request that timed out. */
        if (env->id > c->last_id)
            client_fail(c, CLIENT_E_PROTOCOL,
                        _("%s answered a request that was never sent (check the server's log)"),
                        c->opts.server);
        envelope_free(env);
        return;
    }
    if (p->take) {
        *p->take = env;
        pending_finish(c, p, 0, env);
        return;
    }
    pending_finish(c, p, 0, env);
    envelope_free(env);
}

static void remember_goodbye(client *c, Callfloor__ErrorCode code, const char *reason) {
    bool has_reason = reason && *reason;
    c->server_code = code;
    c->have_goodbye = true;
    /* The server's reason for a drain already says when to come back. */
    if (code == CALLFLOOR__ERROR_CODE__SHUTTING_DOWN && has_reason)
        snprintf(c->goodbye, sizeof c->goodbye, _("%s is shutting down: %s"), c->opts.server,
                 reason);
    else if (code == CALLFLOOR__ERROR_CODE__SHUTTING_DOWN)
        snprintf(c->goodbye, sizeof c->goodbye, _("%s is shutting down (reconnect in a moment)"),
                 c->opts.server);
    else
        snprintf(c->goodbye, sizeof c->goodbye, _("%s ended the session: %s (%s)"), c->opts.server,
                 has_reason ? reason : envelope_error_name(code), envelope_error_name(code));
}

static void handle_push(client *c, const envelope *env) {
    if (env->body_case == CALLFLOOR__ENVELOPE__BODY_CLOSING)
        remember_goodbye(c, env->closing->code, env->closing->reason);
    else if (env->body_case == CALLFLOOR__ENVELOPE__BODY_ERROR)
        remember_goodbye(c, env->error->code, env->error->message);
    if (c->push_cb)
        c->push_cb(c, env, c->push_arg);
}

static void handle_envelope(client *c, envelope *env) {
    if (env->id == 0) {
        handle_push(c, env);
        envelope_free(env);
        return;
    }
    switch (c->state) {
    case STATE_HELLO:
        handle_hello_reply(c, env);
        break;
    case STATE_LOGIN:
        handle_login_reply(c, env);
        break;
    case STATE_READY:
        deliver_reply(c, env);
        break;
    default:
        envelope_free(env);
        break;
    }
}

static int on_frame(void *arg, const uint8_t *payload, size_t len) {
    client *c = arg;
    envelope *env = envelope_unpack(payload, len);
    if (env == NULL) {
        client_fail(c, CLIENT_E_PROTOCOL,
                    _("%s sent a message this client cannot read (is --server a callfloord of a "
                      "matching version?)"),
                    c->opts.server);
        return 1;
    }
    handle_envelope(c, env);
    return c->state == STATE_CLOSED;
}

/* ---- input ---- */

static void peer_closed(client *c) {
    const char *server = c->opts.server;
    if (c->have_goodbye)
        client_fail(c, CLIENT_E_CLOSED, "%s", c->goodbye);
    else if (c->state == STATE_HANDSHAKING)
        client_fail(c, CLIENT_E_TLS,
                    _("TLS handshake with %s failed: the server closed the connection (is "
                      "--server the callfloord TLS port? does it need --cert and --key?)"),
                    server);
    else if (c->state != STATE_READY)
        client_fail(c, CLIENT_E_CLOSED,
                    _("%s closed the connection during login (check the server's log)"), server);
    else
        client_fail(c, CLIENT_E_CLOSED,
                    _("%s closed the connection (check the server's log, then reconnect)"), server);
}

static void read_plaintext(client *c) {
    uint8_t plain[PLAIN_CHUNK];
    while (c->state != STATE_CLOSED) {
        int n = tls_read(c->tls, plain, sizeof plain);
        if (flush_tls(c) < 0 || n == TLS_E_WANT)
            return;
        if (n == TLS_E_CLOSED) {
            peer_closed(c);
            return;
        }
        if (n < 0) {
            client_fail(c, CLIENT_E_TLS, _("TLS failure on the connection to %s: %s%s"),
                        c->opts.server, tls_error_string(c->tls),
                        tls_hint(c, _(" (check --ca, --cert and --key)")));
            return;
        }
        int rc = frame_decoder_feed(&c->decoder, plain, (size_t)n, on_frame, c);
        if (rc < 0 && rc != FRAME_E_STOPPED)
            client_fail(c, CLIENT_E_PROTOCOL,
                        _("%s sent a malformed frame: %s (is --server the callfloord port?)"),
                        c->opts.server, frame_strerror(rc));
        if (rc < 0)
            return;
    }
}

/* Returns 1 once established and Hello is on its way, 0 while the
 * handshake needs more input, -1 when the connection failed. */
static int advance_handshake(client *c) {
    int rc = tls_handshake(c->tls);
    if (flush_tls(c) < 0)
        return -1;
    if (rc < 0) {
        client_fail(c, CLIENT_E_TLS, _("TLS handshake with %s failed: %s%s"), c->opts.server,
                    tls_error_string(c->tls), tls_hint(c, _(" (check --ca)")));
        return -1;
    }
    if (rc == 0)
        return 0;
    c->state = STATE_HELLO;
    return send_hello(c) < 0 ? -1 : 1;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
    client *c = h->data;
    (void)suggested;
    *b = uv_buf_init(c->read_buf, sizeof c->read_buf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b) {
    client *c = s->data;
    if (nread == 0 || c->state == STATE_CLOSED)
        return;
    if (nread == UV_EOF) {
        peer_closed(c);
        return;
    }
    if (nread < 0) {
        connection_lost(c, (int)nread);
        return;
    }
    c->unanswered_pings = 0;
    if (tls_feed(c->tls, b->base, (size_t)nread) < 0) {
        client_fail(c, CLIENT_E_NOMEM, _("out of memory"));
        return;
    }
    if (c->state == STATE_HANDSHAKING && advance_handshake(c) <= 0)
        return;
    read_plaintext(c);
}

/* ---- connecting ---- */

static void connect_failed(client *c, int status) {
    if (c->next_addr) {
        c->retry_next = true;
        close_tcp(c);
        return;
    }
    client_fail(c, CLIENT_E_CONNECT,
                _("cannot connect to %s: %s (is callfloord running? check --server)"),
                c->opts.server, uv_strerror(status));
}

static void on_connected(uv_connect_t *req, int status) {
    client *c = req->handle->data;
    if (c->state != STATE_CONNECTING)
        return;
    if (status < 0) {
        connect_failed(c, status);
        return;
    }
    uv_freeaddrinfo(c->addrs);
    c->addrs = c->next_addr = NULL;
    uv_tcp_nodelay(&c->tcp, 1);
    c->tls = tls_conn_new(c->ssl_ctx, false, c->host);
    if (c->tls == NULL) {
        client_fail(c, CLIENT_E_NOMEM, _("out of memory"));
        return;
    }
    int rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (rc < 0) {
        connection_lost(c, rc);
        return;
    }
    c->state = STATE_HANDSHAKING;
    advance_handshake(c);
}

static void connect_next(client *c) {
    struct addrinfo *ai = c->next_addr;
    c->next_addr = ai->ai_next;
    int rc = uv_tcp_init(c->loop, &c->tcp);
    if (rc < 0) {
        client_fail(c, CLIENT_E_CONNECT, _("cannot connect to %s: %s"), c->opts.server,
                    uv_strerror(rc));
        return;
    }
    c->tcp.data = c;
    c->tcp_open = true;
    c->open_handles++;
    rc = uv_tcp_connect(&c->connect_req, &c->tcp, ai->ai_addr, on_connected);
    if (rc < 0)
        connect_failed(c, rc);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
    client *c = req->data;
    c->resolving = false;
    if (c->state != STATE_RESOLVING) {
        uv_freeaddrinfo(res);
        release_if_unused(c);
        return;
    }
    if (status < 0) {
        client_fail(c, CLIENT_E_CONNECT, _("cannot resolve %s: %s (check --server)"),
                    c->opts.server, uv_strerror(status));
        return;
    }
    c->addrs = c->next_addr = res;
    c->state = STATE_CONNECTING;
    connect_next(c);
}

static bool valid_port(const char *p) {
    size_t n = strspn(p, "0123456789");
    if (n == 0 || n > 5 || p[n] != '\0')
        return false;
    long v = strtol(p, NULL, 10);
    return v >= 1 && v <= 65535;
}

/* Splits "host:port", "[v6]:port" or a bare host (default port) into
 * c->host and c->port. */
static int parse_server(client *c) {
    const char *s = c->opts.server;
    if (s == NULL || *s == '\0') {
        set_error(c, _("no server address given (use --server HOST:PORT)"));
        return CLIENT_E_CONNECT;
    }
    const char *host = s, *host_end, *port = NULL;
    if (*s == '[') {
        host = s + 1;
        host_end = strchr(host, ']');
        if (host_end && host_end[1] == ':')
            port = host_end + 2;
        else if (host_end && host_end[1] != '\0')
            host_end = NULL;
    } else {
        const char *colon = strrchr(s, ':');
        if (colon && strchr(s, ':') != colon)
            host_end = NULL; /* an IPv6 literal without brackets: port ambiguous */
        else
            host_end = colon ? colon : s + strlen(s);
        port = colon ? colon + 1 : NULL;
    }
    if (host_end == NULL || host_end == host || (port && !valid_port(port))) {
        set_error(c,
                  _("invalid server address '%s': expected HOST:PORT, or [IPV6-ADDRESS]:PORT "
                    "(check --server)"),
                  s);
        return CLIENT_E_CONNECT;
    }
    c->host = strndup(host, (size_t)(host_end - host));
    c->port = strdup(port ? port : default_port);
    if (c->host == NULL || c->port == NULL) {
        set_error(c, _("out of memory"));
        return CLIENT_E_NOMEM;
    }
    return 0;
}

static int create_tls_context(client *c) {
    char err[ERROR_MAX / 2];
    c->ssl_ctx =
        tls_client_ctx_new(c->opts.ca_file, c->opts.cert_file, c->opts.key_file, err, sizeof err);
    if (c->ssl_ctx)
        return 0;
    set_error(c, _("%s (check --ca, --cert and --key)"), err);
    return CLIENT_E_TLS;
}

/* ---- public API ---- */

client *client_create(uv_loop_t *loop, const client_options *opts) {
    client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    if (copy_options(&c->opts, opts) < 0) {
        free_options(&c->opts);
        free(c);
        return NULL;
    }
    c->loop = loop;
    frame_decoder_init(&c->decoder, RECEIVE_MAX);
    uv_timer_init(loop, &c->deadline);
    uv_timer_init(loop, &c->heartbeat);
    c->deadline.data = c;
    c->heartbeat.data = c;
    c->open_handles = 2;
    c->state = STATE_IDLE;
    return c;
}

int client_connect(client *c, client_ready_cb cb, void *arg) {
    if (c->state != STATE_IDLE) {
        set_error(c, _("this client was already used; create a new one to reconnect"));
        return CLIENT_E_CLOSED;
    }
    int rc = parse_server(c);
    if (rc == 0)
        rc = create_tls_context(c);
    if (rc == 0) {
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
        c->resolver.data = c;
        int uv_rc = uv_getaddrinfo(c->loop, &c->resolver, on_resolved, c->host, c->port, &hints);
        if (uv_rc < 0) {
            set_error(c, _("cannot resolve %s: %s (check --server)"), c->opts.server,
                      uv_strerror(uv_rc));
            rc = CLIENT_E_CONNECT;
        }
    }
    if (rc < 0) {
        c->state = STATE_CLOSED;
        return rc;
    }
    c->resolving = true;
    c->state = STATE_RESOLVING;
    c->ready_cb = cb;
    c->ready_arg = arg;
    uv_timer_start(&c->deadline, on_deadline, c->opts.timeout_ms, 0);
    return 0;
}

void client_on_push(client *c, client_push_cb cb, void *arg) {
    c->push_cb = cb;
    c->push_arg = arg;
}

void client_on_closed(client *c, client_closed_cb cb, void *arg) {
    c->closed_cb = cb;
    c->closed_arg = arg;
}

int client_request(client *c, envelope *req, client_reply_cb cb, void *arg) {
    return start_request(c, req, cb, arg, NULL);
}

void client_destroy(client *c) {
    if (c == NULL || c->destroying)
        return;
    c->destroying = true;
    if (c->state != STATE_CLOSED) {
        set_error(c, _("the connection was closed by this program"));
        say_goodbye(c);
        shut_down(c);
    }
    fail_pending(c, CLIENT_E_CLOSED);
    uv_close((uv_handle_t *)&c->deadline, on_timer_closed);
    uv_close((uv_handle_t *)&c->heartbeat, on_timer_closed);
}

bool client_is_ready(const client *c) {
    return c->state == STATE_READY;
}

const char *client_last_error(const client *c) {
    return c->last_error;
}

Callfloor__ErrorCode client_last_server_code(const client *c) {
    return c->server_code;
}

const Callfloor__User *client_user(const client *c) {
    return c->login_reply ? c->login_reply->login_reply->user : NULL;
}

const char *client_server_version(const client *c) {
    return c->hello_reply ? c->hello_reply->hello_reply->server_version : NULL;
}

/* ---- blocking helpers ---- */

static void run_until_done(client *c, sync_wait *w) {
    while (!w->done && uv_run(c->loop, UV_RUN_ONCE) != 0)
        continue;
    if (!w->done) {
        set_error(c, _("the event loop stopped before the server answered"));
        w->status = CLIENT_E_CLOSED;
    }
}

static void on_sync_ready(client *c, int status, void *arg) {
    sync_wait *w = arg;
    (void)c;
    w->done = true;
    w->status = status;
}

static void on_sync_reply(client *c, int status, const envelope *reply, void *arg) {
    (void)reply;
    on_sync_ready(c, status, arg);
}

int client_connect_sync(client *c) {
    sync_wait w = {false, 0};
    int rc = client_connect(c, on_sync_ready, &w);
    if (rc < 0)
        return rc;
    run_until_done(c, &w);
    return w.status;
}

int client_call_sync(client *c, envelope *req, envelope **reply) {
    sync_wait w = {false, 0};
    *reply = NULL;
    int rc = start_request(c, req, on_sync_reply, &w, reply);
    if (rc < 0)
        return rc;
    c->sync_id = req->id;
    uv_timer_start(&c->deadline, on_deadline, c->opts.timeout_ms, 0);
    run_until_done(c, &w);
    c->sync_id = 0;
    if (c->state == STATE_READY)
        uv_timer_stop(&c->deadline);
    return w.status;
}
