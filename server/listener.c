#include "listener.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "log.h"
#include "metrics.h"
#include "session.h"
#include "tls.h"

/* How long a closing conn may take to flush its last bytes before its
 * socket is closed regardless: a peer that stopped reading must not keep
 * memory forever. */
#define DRAIN_TIMEOUT_MS  2000
#define SWEEP_INTERVAL_MS 500
#define TLS_RECORD_MAX    16384

typedef enum conn_state {
    CONN_HANDSHAKING, /* TCP accepted, TLS not finished */
    CONN_OPEN,        /* TLS up, a session attached */
    CONN_DRAINING,    /* no more reads; pending writes are flushed, then CLOSING */
    CONN_CLOSING,     /* uv_close called; waiting for its callback */
    CONN_CLOSED,      /* handle closed; freed when the last reference goes */
} conn_state;

struct conn {
    uv_tcp_t tcp;
    listener *owner;
    conn_state state;
    tls_conn *tls;
    frame_decoder decoder;
    session *session;
    uint64_t opened_ms;
    uint64_t established_ms; /* when TLS came up: the login deadline counts from here */
    uint64_t last_rx_ms;
    uint64_t draining_since_ms;
    int refs;
    char name[80];
    uint8_t addr[16]; /* the peer's address: 4 bytes (IPv4) or 16 (IPv6) */
    uint8_t addr_len;
    conn *prev, *next;
};

struct listener {
    server *srv;
    uv_tcp_t tcp;
    uv_timer_t sweep;
    SSL_CTX *tls_ctx;
    conn *conns;
    unsigned nconns;
    uint64_t next_conn_id;
    bool shutting_down;
    /* Refusals over max_connections are logged at most once a second, with
     * how many there were, so a connection flood does not flood the log. */
    uint64_t refused_unlogged;
    uint64_t refused_logged_ms;
    /* The same for refusals over max_per_address, with the last address. */
    uint64_t crowded_unlogged;
    uint64_t crowded_logged_ms;
    char crowded_last[80];
    int open_handles;
    void (*on_closed)(void *arg);
    void *on_closed_arg;
    /* Shared by every conn: each read is fully consumed inside its callback
     * (TLS copies the ciphertext into its BIO), so one buffer serves all and
     * an idle session holds none. */
    char read_buf[65536];
    uint8_t plain_buf[TLS_RECORD_MAX];
    /* Shared the same way: TLS output is tried on the socket from here, and
     * only what the socket does not take is copied into a queued write. */
    buf out_buf;
};

typedef struct write_req {
    uv_write_t req;
    buf data;
} write_req;

static void conn_set_state(conn *c, conn_state to);

static uint64_t loop_now(const conn *c) {
    return uv_now(c->owner->srv->loop);
}

static void on_write(uv_write_t *req, int status) {
    write_req *w = (write_req *)req;
    conn *c = req->handle->data;
    buf_free(&w->data);
    free(w);
    if (status < 0 && status != UV_ECANCELED && c->state < CONN_CLOSING) {
        /* Once either side has said goodbye, a peer that hangs up before
         * taking our last bytes (a TLS 1.3 ticket, our close_notify) is
         * normal. */
        log_write(c->state == CONN_DRAINING ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO,
                  "conn %s: write failed: %s", c->name, uv_strerror(status));
        conn_set_state(c, CONN_CLOSING);
    }
}

/* Queues `len` bytes for the socket after those already queued. */
static void conn_queue_write(conn *c, const uint8_t *data, size_t len) {
    write_req *w = calloc(1, sizeof *w);
    if (w == NULL || buf_append(&w->data, data, len) < 0) {
        free(w);
        conn_set_state(c, CONN_CLOSING);
        return;
    }
    uv_buf_t b = uv_buf_init((char *)buf_head(&w->data), (unsigned)buf_pending(&w->data));
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    if (rc < 0) {
        buf_free(&w->data);
        free(w);
        log_info("conn %s: write failed: %s", c->name, uv_strerror(rc));
        conn_set_state(c, CONN_CLOSING);
    }
}

/* Moves whatever TLS produced onto the socket. TLS makes output during
 * handshakes and reads too, so this runs after every TLS call. Most of it
 * is a small record that the socket takes at once, with nothing to
 * allocate and no write callback to run; a write is queued only for the
 * rest, when earlier writes are still queued (uv_try_write then takes
 * nothing, which keeps the order) or when the socket failed. */
static void conn_flush_tls(conn *c) {
    if (c->state >= CONN_CLOSING)
        return;
    buf *out = &c->owner->out_buf;
    buf_reset(out);
    int n = tls_take_output(c->tls, out);
    if (n <= 0) {
        if (n < 0)
            conn_set_state(c, CONN_CLOSING);
        return;
    }
    uv_buf_t b = uv_buf_init((char *)buf_head(out), (unsigned)buf_pending(out));
    int sent = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    /* On an error the queued write fails too, and on_write judges it as it
     * judges every failed write, by what the conn is doing by then. */
    size_t taken = sent > 0 ? (size_t)sent : 0;
    if (taken < buf_pending(out))
        conn_queue_write(c, buf_head(out) + taken, buf_pending(out) - taken);
    /* A snapshot of a large board is rare: its buffer is not kept. */
    if (out->cap > sizeof c->owner->read_buf)
        buf_free(out);
}

static void listener_maybe_finish(listener *l);

void conn_ref(conn *c) {
    c->refs++;
}

void conn_unref(conn *c) {
    if (--c->refs > 0)
        return;
    tls_conn_free(c->tls);
    frame_decoder_free(&c->decoder);
    free(c);
}

static void listener_unlink(listener *l, conn *c) {
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        l->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    l->nconns--;
}

static void on_conn_closed(uv_handle_t *h) {
    conn_set_state(h->data, CONN_CLOSED);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
    conn *c = req->handle->data;
    (void)status;
    free(req);
    if (c->state == CONN_DRAINING)
        conn_set_state(c, CONN_CLOSING);
}

static void conn_start_draining(conn *c) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->draining_since_ms = loop_now(c);
    uv_shutdown_t *req = malloc(sizeof *req);
    if (req == NULL || uv_shutdown(req, (uv_stream_t *)&c->tcp, on_shutdown) < 0) {
        free(req);
        conn_set_state(c, CONN_CLOSING);
    }
}

/* The only place a conn changes state; each transition's side effects live
 * here so the life cycle can be read in one screen. */
static void conn_set_state(conn *c, conn_state to) {
    conn_state from = c->state;
    if (to <= from && to != CONN_CLOSED)
        return;
    c->state = to;
    switch (to) {
    case CONN_OPEN:
        c->established_ms = loop_now(c);
        c->session = session_create(c->owner->srv, c);
        if (c->session == NULL)
            conn_set_state(c, CONN_CLOSING);
        break;
    case CONN_DRAINING:
        conn_start_draining(c);
        break;
    case CONN_CLOSING:
        if (!uv_is_closing((uv_handle_t *)&c->tcp))
            uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
        break;
    case CONN_CLOSED: {
        if (c->session != NULL) {
            session_destroy(c->session);
            c->session = NULL;
        }
        listener *l = c->owner;
        listener_unlink(l, c);
        conn_unref(c);
        listener_maybe_finish(l);
        break;
    }
    case CONN_HANDSHAKING:
        break;
    }
}

/* A message that could not be framed or encrypted: the client's view of
 * the session is now behind, so the conn is closed. Returns -ENOMEM. */
static int conn_send_failed(conn *c, const char *what, int rc) {
    log_error("conn %s: cannot send %s (error %d); closing", c->name, what, rc);
    conn_set_state(c, CONN_CLOSING);
    return -ENOMEM;
}

/* Whether `c` may be sent more: open, and its client reads what it is sent.
 * Returns 0, or the error conn_send returns. */
static int conn_can_send(conn *c) {
    if (c->state != CONN_OPEN)
        return -ECONNRESET;
    size_t queued = uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
    if (queued > c->owner->srv->cfg.output_cap) {
        log_warn("conn %s: %zu bytes waiting for a client that does not read; closing", c->name,
                 queued);
        conn_set_state(c, CONN_CLOSING);
        return -ENOBUFS;
    }
    return 0;
}

/* Encrypts `len` bytes of whole frames and queues them. A client may send
 * its last requests and its close_notify in one packet; TLS reads the
 * goodbye before the requests are answered, and nobody is left to read
 * the answers, so they are dropped as the session closes. */
static int conn_send_plain(conn *c, const uint8_t *frames, size_t len, const char *what) {
    int rc = tls_write(c->tls, frames, len);
    if (rc == TLS_E_CLOSED) {
        log_debug("conn %s: the client closed its session before %s could be sent", c->name,
                  what);
        conn_close(c, CALLFLOOR__ERROR_CODE__ERROR_CODE_UNSPECIFIED, NULL);
        return -ECONNRESET;
    }
    if (rc < 0)
        return conn_send_failed(c, what, rc);
    conn_flush_tls(c);
    tls_release_buffers(c->tls);
    return 0;
}

int conn_send(conn *c, const envelope *env) {
    int rc = conn_can_send(c);
    if (rc < 0)
        return rc;
    buf plain = BUF_INIT;
    rc = envelope_append_frame(&plain, env);
    if (rc < 0)
        rc = conn_send_failed(c, envelope_body_name(env), rc);
    else
        rc = conn_send_plain(c, buf_head(&plain), buf_pending(&plain), envelope_body_name(env));
    buf_free(&plain);
    return rc;
}

int conn_send_frame(conn *c, const uint8_t *frame, size_t len) {
    int rc = conn_can_send(c);
    return rc < 0 ? rc : conn_send_plain(c, frame, len, "a push");
}

/* One line per connection closed for a reason, so an operator can tell why
 * any client went away; a drain closes every connection for the same
 * reason, which is logged once elsewhere. */
static void conn_log_close(const conn *c, Callfloor__ErrorCode code, const char *reason) {
    log_level level =
        code == CALLFLOOR__ERROR_CODE__SHUTTING_DOWN ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO;
    log_write(level, "conn %s: closing (%s): %s", c->name, envelope_error_name(code), reason);
}

void conn_close(conn *c, Callfloor__ErrorCode code, const char *reason) {
    if (c->state >= CONN_DRAINING)
        return;
    if (reason != NULL)
        conn_log_close(c, code, reason);
    if (c->state == CONN_OPEN) {
        if (reason != NULL) {
            Callfloor__Closing closing = CALLFLOOR__CLOSING__INIT;
            closing.code = code;
            closing.reason = (char *)reason;
            envelope env = CALLFLOOR__ENVELOPE__INIT;
            env.body_case = CALLFLOOR__ENVELOPE__BODY_CLOSING;
            env.closing = &closing;
            if (conn_send(c, &env) < 0)
                return;
        }
        tls_shutdown(c->tls);
        conn_flush_tls(c);
    }
    conn_set_state(c, CONN_DRAINING);
}

bool conn_is_open(const conn *c) {
    return c->state == CONN_OPEN;
}

const char *conn_name(const conn *c) {
    return c->name;
}

session *conn_session(const conn *c) {
    return c->state == CONN_OPEN ? c->session : NULL;
}

void conn_set_max_frame(conn *c, size_t max_len) {
    frame_decoder_set_max(&c->decoder, max_len);
}

static int on_frame(void *arg, const uint8_t *payload, size_t len) {
    conn *c = arg;
    envelope *env = envelope_unpack(payload, len);
    if (env == NULL) {
        char reason[96];
        snprintf(reason, sizeof reason, "a frame of %zu bytes is not a valid callfloor Envelope",
                 len);
        conn_close(c, CALLFLOOR__ERROR_CODE__PROTOCOL_ERROR, reason);
        return 1;
    }
    session_handle(c->session, env);
    return c->state == CONN_OPEN ? 0 : 1;
}

static void conn_frame_error(conn *c, int rc) {
    char reason[160];
    if (rc == FRAME_E_TOO_LARGE) {
        snprintf(reason, sizeof reason, "a frame of %u bytes exceeds the limit of %zu bytes",
                 c->decoder.bad_len, c->decoder.max_len);
        conn_close(c, CALLFLOOR__ERROR_CODE__FRAME_TOO_LARGE, reason);
    } else if (rc != FRAME_E_STOPPED) {
        conn_close(c, CALLFLOOR__ERROR_CODE__PROTOCOL_ERROR, frame_strerror(rc));
    }
}

static void conn_read_plaintext(conn *c) {
    uint8_t *plain = c->owner->plain_buf;
    while (c->state == CONN_OPEN) {
        int n = tls_read(c->tls, plain, TLS_RECORD_MAX);
        if (n == TLS_E_WANT)
            break;
        if (n == TLS_E_CLOSED) {
            log_debug("conn %s: peer sent close_notify", c->name);
            conn_close(c, CALLFLOOR__ERROR_CODE__ERROR_CODE_UNSPECIFIED, NULL);
            break;
        }
        if (n < 0) {
            log_info("conn %s: TLS error: %s; closing", c->name, tls_error_string(c->tls));
            conn_set_state(c, CONN_CLOSING);
            break;
        }
        int rc = frame_decoder_feed(&c->decoder, plain, (size_t)n, on_frame, c);
        if (rc < 0) {
            conn_frame_error(c, rc);
            break;
        }
    }
}

/* Returns true once TLS is established and application data may flow. */
static bool conn_advance_handshake(conn *c) {
    int rc = tls_handshake(c->tls);
    conn_flush_tls(c);
    if (rc < 0) {
        log_info("conn %s: TLS handshake failed: %s", c->name, tls_error_string(c->tls));
        metrics_count(c->owner->srv, METRIC_TLS_FAILURES);
        conn_set_state(c, CONN_DRAINING);
        return false;
    }
    if (rc == 0)
        return false;
    metrics_count(c->owner->srv, METRIC_TLS_HANDSHAKES);
    char desc[96];
    log_debug("conn %s: %s", c->name, tls_describe(c->tls, desc, sizeof desc));
    conn_set_state(c, CONN_OPEN);
    return c->state == CONN_OPEN;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
    conn *c = h->data;
    (void)suggested;
    *b = uv_buf_init(c->owner->read_buf, sizeof c->owner->read_buf);
}

/* A clean end between frames is how clients say goodbye and is not worth a
 * line; an end in the middle of a frame, or a socket error, is. */
static void conn_log_lost(const conn *c, int status) {
    if (frame_decoder_mid_frame(&c->decoder))
        log_info("conn %s: the connection ended in the middle of a frame (%s)", c->name,
                 status == UV_EOF ? "end of stream" : uv_strerror(status));
    else if (status != UV_EOF)
        log_info("conn %s: read failed: %s", c->name, uv_strerror(status));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b) {
    conn *c = s->data;
    if (nread == 0 || c->state >= CONN_DRAINING)
        return;
    if (nread < 0) {
        conn_log_lost(c, (int)nread);
        conn_set_state(c, CONN_CLOSING);
        return;
    }
    c->last_rx_ms = loop_now(c);
    if (tls_feed(c->tls, b->base, (size_t)nread) < 0) {
        conn_set_state(c, CONN_CLOSING);
        return;
    }
    if (c->state == CONN_HANDSHAKING && !conn_advance_handshake(c))
        return;
    conn_read_plaintext(c);
    conn_flush_tls(c);
    if (c->state == CONN_OPEN)
        tls_release_buffers(c->tls);
}

static void conn_describe_peer(conn *c, uint64_t id) {
    struct sockaddr_storage ss;
    int len = sizeof ss;
    char host[64] = "?";
    int port = 0;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET6) {
            const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
            uv_ip6_name(in6, host, sizeof host);
            port = ntohs(in6->sin6_port);
            memcpy(c->addr, &in6->sin6_addr, 16);
            c->addr_len = 16;
        } else {
            const struct sockaddr_in *in4 = (const struct sockaddr_in *)&ss;
            uv_ip4_name(in4, host, sizeof host);
            port = ntohs(in4->sin_port);
            memcpy(c->addr, &in4->sin_addr, 4);
            c->addr_len = 4;
        }
    }
    snprintf(c->name, sizeof c->name, "#%llu %s:%d", (unsigned long long)id, host, port);
}

static void on_refused_closed(uv_handle_t *h) {
    free(h);
}

/* Called on each refusal and by the sweep, so that the last refusals of a
 * burst are logged too, a second later. */
static void log_refusals(listener *l, uint64_t now) {
    if (l->refused_unlogged == 0 ||
        (l->refused_logged_ms != 0 && now - l->refused_logged_ms < 1000))
        return;
    log_warn("refused %llu connection%s: %u connections open (session.max_connections)",
             (unsigned long long)l->refused_unlogged, l->refused_unlogged == 1 ? "" : "s",
             l->nconns);
    l->refused_unlogged = 0;
    l->refused_logged_ms = now ? now : 1;
}

/* Accepts and immediately closes a connection over the limit, so the
 * kernel's backlog does not fill with clients waiting for nothing. */
static void listener_refuse(listener *l) {
    uv_tcp_t *t = malloc(sizeof *t);
    if (t == NULL)
        return;
    uv_tcp_init(l->srv->loop, t);
    if (uv_accept((uv_stream_t *)&l->tcp, (uv_stream_t *)t) == 0)
        l->refused_unlogged++;
    log_refusals(l, uv_now(l->srv->loop));
    uv_close((uv_handle_t *)t, on_refused_closed);
}

/* Like log_refusals, for the refusals over max_per_address. */
static void log_crowded(listener *l, uint64_t now) {
    if (l->crowded_unlogged == 0 ||
        (l->crowded_logged_ms != 0 && now - l->crowded_logged_ms < 1000))
        return;
    log_warn("refused %llu connection%s: more than %d open from one address "
             "(session.max_per_address), the last from %s",
             (unsigned long long)l->crowded_unlogged, l->crowded_unlogged == 1 ? "" : "s",
             l->srv->cfg.max_per_address, l->crowded_last);
    l->crowded_unlogged = 0;
    l->crowded_logged_ms = now;
}

/* True when `c` would be one connection too many from its address. A scan
 * of the open connections: it runs only with the limit set, and costs less
 * than the TLS handshake the connection would cost otherwise. */
static bool address_crowded(const listener *l, const conn *c) {
    int limit = l->srv->cfg.max_per_address;
    if (limit <= 0 || c->addr_len == 0)
        return false;
    int same = 0;
    for (const conn *o = l->conns; o != NULL; o = o->next)
        same += o != c && o->state != CONN_CLOSING && o->state != CONN_CLOSED &&
                o->addr_len == c->addr_len && memcmp(o->addr, c->addr, c->addr_len) == 0;
    return same >= limit;
}

static conn *conn_create(listener *l) {
    conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->tls = tls_conn_new(l->tls_ctx, true, NULL);
    if (c->tls == NULL) {
        free(c);
        return NULL;
    }
    c->owner = l;
    c->refs = 1;
    c->state = CONN_HANDSHAKING;
    c->tcp.data = c;
    frame_decoder_init(&c->decoder, l->srv->cfg.max_frame_prelogin);
    c->opened_ms = c->last_rx_ms = uv_now(l->srv->loop);
    uv_tcp_init(l->srv->loop, &c->tcp);
    return c;
}

static void listener_link(listener *l, conn *c) {
    c->next = l->conns;
    if (l->conns != NULL)
        l->conns->prev = c;
    l->conns = c;
    l->nconns++;
}

static void on_connection(uv_stream_t *server_stream, int status) {
    listener *l = server_stream->data;
    if (status < 0) {
        log_warn("accept failed: %s", uv_strerror(status));
        return;
    }
    if (l->nconns >= (unsigned)l->srv->cfg.max_connections) {
        listener_refuse(l);
        return;
    }
    conn *c = conn_create(l);
    if (c == NULL) {
        log_error("out of memory accepting a connection");
        listener_refuse(l);
        return;
    }
    listener_link(l, c);
    if (uv_accept(server_stream, (uv_stream_t *)&c->tcp) < 0) {
        conn_set_state(c, CONN_CLOSING);
        return;
    }
    conn_describe_peer(c, ++l->next_conn_id);
    if (address_crowded(l, c)) {
        l->crowded_unlogged++;
        snprintf(l->crowded_last, sizeof l->crowded_last, "%s", c->name);
        log_crowded(l, uv_now(l->srv->loop));
        conn_set_state(c, CONN_CLOSING);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    log_debug("conn %s: accepted", c->name);
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
        conn_set_state(c, CONN_CLOSING);
}

/* Closes connections that stalled: an unfinished handshake or login, a
 * silent session, or a drain the peer never lets finish. */
static void conn_sweep_one(conn *c, uint64_t now, const settings *cfg) {
    uint64_t idle_limit = 3ull * cfg->heartbeat_interval_ms;
    char reason[96];
    switch (c->state) {
    case CONN_HANDSHAKING:
        if (now - c->opened_ms > cfg->handshake_timeout_ms) {
            log_info("conn %s: TLS handshake not finished within %u ms; closing", c->name,
                     cfg->handshake_timeout_ms);
            metrics_count(c->owner->srv, METRIC_TLS_FAILURES);
            conn_set_state(c, CONN_CLOSING);
        }
        break;
    case CONN_OPEN:
        if (!session_logged_in(c->session) && now - c->established_ms > cfg->handshake_timeout_ms) {
            snprintf(reason, sizeof reason, "no login within %u ms of the TLS handshake",
                     cfg->handshake_timeout_ms);
            conn_close(c, CALLFLOOR__ERROR_CODE__IDLE_TIMEOUT, reason);
        } else if (now - c->last_rx_ms > idle_limit) {
            snprintf(reason, sizeof reason,
                     "no message for %llu ms, more than three heartbeat intervals",
                     (unsigned long long)(now - c->last_rx_ms));
            conn_close(c, CALLFLOOR__ERROR_CODE__IDLE_TIMEOUT, reason);
        }
        break;
    case CONN_DRAINING:
        if (now - c->draining_since_ms > DRAIN_TIMEOUT_MS)
            conn_set_state(c, CONN_CLOSING);
        break;
    case CONN_CLOSING:
    case CONN_CLOSED:
        break;
    }
}

static void on_sweep(uv_timer_t *t) {
    listener *l = t->data;
    uint64_t now = uv_now(l->srv->loop);
    log_refusals(l, now);
    log_crowded(l, now);
    conn *next;
    for (conn *c = l->conns; c != NULL; c = next) {
        next = c->next;
        conn_sweep_one(c, now, &l->srv->cfg);
    }
}

listener *listener_create(server *srv, SSL_CTX *tls_ctx) {
    listener *l = calloc(1, sizeof *l);
    if (l == NULL)
        return NULL;
    l->srv = srv;
    SSL_CTX_up_ref(tls_ctx);
    l->tls_ctx = tls_ctx;
    uv_tcp_init(srv->loop, &l->tcp);
    l->tcp.data = l;
    uv_timer_init(srv->loop, &l->sweep);
    l->sweep.data = l;
    l->open_handles = 2;
    return l;
}

int listener_resolve(const char *key, const char *addr, struct sockaddr_storage *ss, char *err,
                     size_t errlen) {
    char host[256];
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon == addr || (size_t)(colon - addr) >= sizeof host) {
        snprintf(err, errlen, "%s '%s' is not host:port (e.g. 0.0.0.0:7443)", key, addr);
        return -1;
    }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || port < 1 || port > 65535) {
        snprintf(err, errlen, "%s '%s' has no valid port", key, addr);
        return -1;
    }
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        host[strlen(host) - 1] = '\0';
        if (uv_ip6_addr(host + 1, (int)port, (struct sockaddr_in6 *)ss) == 0)
            return 0;
    } else if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) == 0) {
        return 0;
    }
    snprintf(err, errlen, "%s '%s' needs a numeric IP address", key, addr);
    return -1;
}

int listener_start(listener *l, char *err, size_t errlen) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (listener_resolve("server.listen", l->srv->cfg.listen, &ss, err, errlen) < 0)
        return -1;
    int rc = uv_tcp_bind(&l->tcp, (struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&l->tcp, 511, on_connection);
    if (rc < 0) {
        snprintf(err, errlen, "cannot listen on %s: %s (is another callfloord running?)",
                 l->srv->cfg.listen, uv_strerror(rc));
        return -1;
    }
    uv_timer_start(&l->sweep, on_sweep, SWEEP_INTERVAL_MS, SWEEP_INTERVAL_MS);
    return 0;
}

void listener_set_tls_ctx(listener *l, SSL_CTX *tls_ctx) {
    SSL_CTX_up_ref(tls_ctx);
    SSL_CTX_free(l->tls_ctx);
    l->tls_ctx = tls_ctx;
}

unsigned listener_connection_count(const listener *l) {
    return l->nconns;
}

static void on_listener_handle_closed(uv_handle_t *h) {
    listener *l = h->data;
    if (--l->open_handles > 0)
        return;
    void (*cb)(void *) = l->on_closed;
    void *arg = l->on_closed_arg;
    SSL_CTX_free(l->tls_ctx);
    buf_free(&l->out_buf);
    free(l);
    if (cb != NULL)
        cb(arg);
}

/* Once shutting down and the last conn is gone, the sweep timer can stop
 * too, and the listener is freed when its handles have closed. */
static void listener_maybe_finish(listener *l) {
    if (!l->shutting_down || l->nconns > 0 || uv_is_closing((uv_handle_t *)&l->sweep))
        return;
    uv_close((uv_handle_t *)&l->sweep, on_listener_handle_closed);
}

void listener_shutdown(listener *l, const char *reason, void (*on_closed)(void *arg), void *arg) {
    l->shutting_down = true;
    l->on_closed = on_closed;
    l->on_closed_arg = arg;
    uv_close((uv_handle_t *)&l->tcp, on_listener_handle_closed);
    conn *next;
    for (conn *c = l->conns; c != NULL; c = next) {
        next = c->next;
        if (c->state == CONN_HANDSHAKING)
            conn_set_state(c, CONN_CLOSING);
        else
            conn_close(c, CALLFLOOR__ERROR_CODE__SHUTTING_DOWN, reason);
    }
    listener_maybe_finish(l);
}

int conn_peer_common_name(const conn *c, char *out, size_t cap) {
    return c->tls != NULL ? tls_peer_common_name(c->tls, out, cap) : -1;
}
