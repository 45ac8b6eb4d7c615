/* db: the asynchronous PostgreSQL pool (see db.h).
 *
 * Each connection moves through one state machine (conn_set_state is the
 * only place that changes it): CONNECTING while PQconnectPoll runs,
 * PREPARING while the catalog is being prepared, READY, and WAITING for its
 * reconnect timer after a failure. A connection whose catalog does not
 * prepare is UNUSABLE: that is a bug in our SQL, and retrying would only
 * repeat it. Transactions sent on a connection wait in its in-flight FIFO
 * in the order the server answers them, so every result belongs to the
 * head of that FIFO.
 *
 * Replies that are known at once (pool down, bad statement, shutdown) go
 * through the `deferred` list and an idle handle (`kick`), so a callback
 * never runs inside db_txn_commit. The same handle services connections
 * that were sent to from outside their own poll callback. */
#include "db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define DB_BACKOFF_MIN_MS  100
#define DB_LISTEN_RETRY_MS 1000
#define DB_BACKOFF_MAX_MS  5000
/* Deep enough to keep a connection busy across a round trip, shallow
 * enough that one broken connection fails only a bounded number of
 * transactions and the others share the load. */
#define DB_MAX_IN_FLIGHT 64

typedef enum db_conn_state {
    DB_CONN_IDLE,
    DB_CONN_CONNECTING,
    DB_CONN_PREPARING,
    DB_CONN_READY,
    DB_CONN_UNUSABLE,
    DB_CONN_WAITING,
    DB_CONN_CLOSED,
} db_conn_state;

typedef struct db_statement {
    const char *name;
    const char *sql;
} db_statement;

typedef struct db_call {
    int statement; /* index in the pool's catalog */
    int nparams;
    char **params; /* one block: the pointers, then the strings */
} db_call;

typedef struct db_fifo {
    db_txn *head;
    db_txn *tail;
    int count;
} db_fifo;

struct db_txn {
    db_pool *pool;
    db_txn *next;
    db_call *calls;
    PGresult **results;
    int ncalls;
    int capacity;
    int current;     /* the statement whose results are arriving */
    PGresult *error; /* the first error PostgreSQL reported */
    bool invalid;    /* a db_txn_query failed: never sent */
    int hidden;      /* leading statements (db_txn_context) whose results the reply leaves out */
    bool prepares;   /* the internal transaction preparing the catalog */
    bool slow;       /* db_txn_mark_slow */
    int status;
    const char *message;
    int failed_statement;
    uint32_t retry_after_ms;
    db_reply_cb cb;
    void *arg;
    uint64_t committed_ns; /* uv_hrtime at db_txn_commit */
    char detail[160];
};

typedef struct db_conn db_conn;

/* A poll handle lives on the heap because libpq may replace its socket
 * while connecting and a reconnect always does: the old handle must finish
 * closing (and only then may its descriptor be closed) while the
 * connection already watches the new one. */
typedef struct db_watch {
    uv_poll_t handle;
    db_conn *conn;
    PGconn *finish_on_close;
    int fd;
    int events;
} db_watch;

struct db_conn {
    db_pool *pool;
    int number;
    db_conn_state state;
    PGconn *pg;
    db_watch *watch;
    uv_timer_t reconnect;
    uint32_t backoff_ms;
    int failed_attempts; /* since the last time it was ready; to log an outage once */
    bool needs_service;  /* sent to since its results were last taken */
    db_fifo in_flight;
    int slow_in_flight; /* of in_flight, those marked slow */
};

struct db_pool {
    uv_loop_t *loop;
    char *conninfo;
    db_statement *catalog;
    int ncatalog;
    int catalog_capacity;
    db_conn *conns;
    int size;
    int ready;
    int in_flight; /* user transactions only, not catalog preparation */
    db_fifo queued;
    db_fifo deferred;
    uv_idle_t kick;
    int open_handles;
    bool started;
    bool closing;
    bool tearing_down;
    void (*on_closed)(void *arg);
    void *on_closed_arg;
    uint64_t committed;
    uint64_t failed;
    uint64_t reconnects;
    void (*on_roundtrip)(uint64_t ns, void *arg);
    void *roundtrip_arg;
    /* LISTEN: the catalog statement that starts it (-1: none), the one
     * connection that listens (NULL while none does) and who hears. */
    int listen_statement;
    db_conn *listener;
    uint64_t listen_after; /* uv_now before which a failed LISTEN is not tried again */
    db_notify_cb on_notify;
    void (*on_listening)(void *arg);
    void *notify_arg;
};

static void on_poll(uv_poll_t *handle, int status, int events);
static void conn_fail(db_conn *c, const char *why);
static void conn_send(db_conn *c, db_txn *txn);

/* ---- small helpers ---- */

static void fifo_push(db_fifo *q, db_txn *txn) {
    txn->next = NULL;
    if (q->tail != NULL)
        q->tail->next = txn;
    else
        q->head = txn;
    q->tail = txn;
    q->count++;
}

static db_txn *fifo_pop(db_fifo *q) {
    db_txn *txn = q->head;
    if (txn == NULL)
        return NULL;
    q->head = txn->next;
    if (q->head == NULL)
        q->tail = NULL;
    q->count--;
    txn->next = NULL;
    return txn;
}

/* libpq's messages end in a newline and continue with indented hints; the
 * first line says what happened and keeps the log one line per event. */
static int first_line_length(const char *msg) {
    return (int)strcspn(msg, "\n");
}

static const char *error_field(const PGresult *res, int field) {
    const char *value = res != NULL ? PQresultErrorField(res, field) : NULL;
    return value != NULL ? value : "";
}

static uint32_t min_u32(uint32_t a, uint32_t b) {
    return a < b ? a : b;
}

static int catalog_find(const db_pool *pool, const char *name) {
    for (int i = 0; i < pool->ncatalog; i++)
        if (strcmp(pool->catalog[i].name, name) == 0)
            return i;
    return -1;
}

/* ---- transactions ---- */

static void txn_free(db_txn *txn) {
    for (int i = 0; i < txn->ncalls; i++) {
        free(txn->calls[i].params);
        PQclear(txn->results[i]);
    }
    PQclear(txn->error);
    free(txn->calls);
    free(txn->results);
    free(txn);
}

static int txn_grow(db_txn *txn) {
    int capacity = txn->capacity > 0 ? txn->capacity * 2 : 4;
    db_call *calls = realloc(txn->calls, (size_t)capacity * sizeof *calls);
    if (calls == NULL)
        return -ENOMEM;
    txn->calls = calls;
    PGresult **results = realloc(txn->results, (size_t)capacity * sizeof *results);
    if (results == NULL)
        return -ENOMEM;
    txn->results = results;
    txn->capacity = capacity;
    return 0;
}

static char **copy_params(int nparams, const char *const *params) {
    size_t size = (size_t)nparams * sizeof(char *);
    for (int i = 0; i < nparams; i++)
        if (params[i] != NULL)
            size += strlen(params[i]) + 1;
    char **copy = malloc(size);
    if (copy == NULL)
        return NULL;
    char *text = (char *)(copy + nparams);
    for (int i = 0; i < nparams; i++) {
        copy[i] = NULL;
        if (params[i] == NULL)
            continue;
        size_t len = strlen(params[i]) + 1;
        memcpy(text, params[i], len);
        copy[i] = text;
        text += len;
    }
    return copy;
}

static int txn_add_call(db_txn *txn, int statement, int nparams, const char *const *params) {
    if (txn->ncalls == txn->capacity && txn_grow(txn) < 0)
        return -ENOMEM;
    char **copy = NULL;
    if (nparams > 0 && (copy = copy_params(nparams, params)) == NULL)
        return -ENOMEM;
    txn->calls[txn->ncalls] = (db_call){.statement = statement, .nparams = nparams, .params = copy};
    txn->results[txn->ncalls] = NULL;
    txn->ncalls++;
    return 0;
}

static int txn_invalidate(db_txn *txn, int rc, const char *what, const char *statement) {
    if (!txn->invalid) {
        txn->invalid = true;
        txn->failed_statement = txn->ncalls;
        snprintf(txn->detail, sizeof txn->detail, "%s \"%s\"", what, statement);
    }
    return rc;
}

static void reply_fill(db_reply *r, const db_txn *txn) {
    *r = (db_reply){.status = txn->status,
                    .sqlstate = "",
                    .message = txn->message != NULL ? txn->message : "",
                    .constraint = "",
                    .failed_statement = txn->failed_statement >= txn->hidden
                                            ? txn->failed_statement - txn->hidden
                                            : txn->failed_statement,
                    .retry_after_ms = txn->retry_after_ms};
    if (txn->status == DB_OK) {
        r->failed_statement = -1;
        r->nresults = txn->ncalls - txn->hidden;
        r->results = txn->results + txn->hidden;
    } else if (txn->status == DB_E_QUERY && txn->error != NULL) {
        r->sqlstate = error_field(txn->error, PG_DIAG_SQLSTATE);
        r->message = error_field(txn->error, PG_DIAG_MESSAGE_PRIMARY);
        r->constraint = error_field(txn->error, PG_DIAG_CONSTRAINT_NAME);
    }
}

/* Runs the callback and frees the transaction; only ever called from a
 * libuv callback, never from inside the public API. */
static void txn_reply(db_txn *txn) {
    db_pool *pool = txn->pool;
    db_reply reply;
    reply_fill(&reply, txn);
    if (reply.status == DB_OK)
        pool->committed++;
    else
        pool->failed++;
    if (pool->on_roundtrip != NULL && txn->committed_ns != 0)
        pool->on_roundtrip(uv_hrtime() - txn->committed_ns, pool->roundtrip_arg);
    if (txn->cb != NULL)
        txn->cb(&reply, txn->arg);
    txn_free(txn);
}

/* ---- the pool's deferred work ---- */

static void on_kick(uv_idle_t *idle);

/* Once teardown has begun the idle handle is closing; what is deferred
 * then is answered just before the pool is freed. */
static void pool_kick(db_pool *pool) {
    if (!pool->tearing_down)
        uv_idle_start(&pool->kick, on_kick);
}

/* When the next connection attempt is due: the soonest moment a retry can
 * find the database up again. */
static uint32_t pool_retry_hint(const db_pool *pool) {
    uint32_t hint = DB_BACKOFF_MAX_MS;
    for (int i = 0; i < pool->size; i++) {
        const db_conn *c = &pool->conns[i];
        if (c->state == DB_CONN_WAITING)
            hint = min_u32(hint, (uint32_t)uv_timer_get_due_in(&c->reconnect));
        else if (c->state != DB_CONN_UNUSABLE && c->state != DB_CONN_CLOSED)
            hint = DB_BACKOFF_MIN_MS;
    }
    return hint < DB_BACKOFF_MIN_MS ? DB_BACKOFF_MIN_MS : hint;
}

static void txn_defer(db_txn *txn, int status, const char *message) {
    db_pool *pool = txn->pool;
    txn->status = status;
    txn->message = message;
    if (status != DB_E_QUERY)
        txn->failed_statement = -1;
    if (status == DB_E_UNAVAILABLE)
        txn->retry_after_ms = pool_retry_hint(pool);
    fifo_push(&pool->deferred, txn);
    pool_kick(pool);
}

static void fifo_defer_all(db_fifo *q, int status, const char *message) {
    db_txn *txn;
    while ((txn = fifo_pop(q)) != NULL)
        txn_defer(txn, status, message);
}

static void pool_deliver_deferred(db_pool *pool) {
    db_fifo due = pool->deferred;
    pool->deferred = (db_fifo){0};
    db_txn *txn;
    while ((txn = fifo_pop(&due)) != NULL)
        txn_reply(txn);
}

/* Transactions committed while the handles were closing still get their
 * answer here, from a close callback, before the pool goes away. */
static void pool_handle_closed(db_pool *pool) {
    if (--pool->open_handles > 0 || !pool->tearing_down)
        return;
    while (pool->deferred.head != NULL)
        pool_deliver_deferred(pool);
    void (*on_closed)(void *) = pool->on_closed;
    void *arg = pool->on_closed_arg;
    free(pool->conns);
    free(pool->catalog);
    free(pool->conninfo);
    free(pool);
    if (on_closed != NULL)
        on_closed(arg);
}

static void on_kick_closed(uv_handle_t *handle) {
    pool_handle_closed(handle->data);
}

static void on_timer_closed(uv_handle_t *handle) {
    const db_conn *c = handle->data;
    pool_handle_closed(c->pool);
}

/* ---- connection state ---- */

static void conn_set_state(db_conn *c, db_conn_state next) {
    db_pool *pool = c->pool;
    bool was_ready = c->state == DB_CONN_READY;
    c->state = next;
    if (was_ready == (next == DB_CONN_READY))
        return;
    pool->ready += was_ready ? -1 : 1;
    if (pool->ready == 0)
        fifo_defer_all(&pool->queued, DB_E_UNAVAILABLE, "no database connection is available");
}

static void on_watch_closed(uv_handle_t *handle) {
    db_watch *w = handle->data;
    db_pool *pool = w->conn->pool;
    PQfinish(w->finish_on_close);
    free(w);
    pool_handle_closed(pool);
}

/* Closing the handle stops polling at once; the descriptor is closed by
 * PQfinish only in the close callback, so libuv never watches a closed or
 * reused descriptor. */
static void watch_close(db_watch *w, PGconn *finish) {
    w->finish_on_close = finish;
    uv_close((uv_handle_t *)&w->handle, on_watch_closed);
}

static int watch_set_events(db_watch *w, int events) {
    if (w->events == events)
        return 0;
    int rc = events != 0 ? uv_poll_start(&w->handle, events, on_poll) : uv_poll_stop(&w->handle);
    w->events = rc == 0 ? events : 0;
    return rc;
}

/* Makes sure the watch is on the connection's current socket. */
static int conn_watch_socket(db_conn *c) {
    int fd = PQsocket(c->pg);
    if (fd < 0)
        return -EBADF;
    if (c->watch != NULL && c->watch->fd == fd)
        return 0;
    if (c->watch != NULL)
        watch_close(c->watch, NULL);
    c->watch = NULL;
    db_watch *w = calloc(1, sizeof *w);
    if (w == NULL)
        return -ENOMEM;
    int rc = uv_poll_init_socket(c->pool->loop, &w->handle, fd);
    if (rc < 0) {
        free(w);
        return rc;
    }
    w->handle.data = w;
    w->conn = c;
    w->fd = fd;
    c->pool->open_handles++;
    c->watch = w;
    return 0;
}

static void conn_set_events(db_conn *c, int events) {
    int rc = conn_watch_socket(c);
    if (rc == 0)
        rc = watch_set_events(c->watch, events);
    if (rc < 0)
        conn_fail(c, uv_strerror(rc));
}

/* Hands the connection's transactions to `failed` and lets go of its
 * socket. The catalog transaction has no caller to answer and is freed. */
static void conn_release(db_conn *c, db_fifo *failed) {
    db_txn *txn;
    c->slow_in_flight = 0;
    while ((txn = fifo_pop(&c->in_flight)) != NULL) {
        if (txn->prepares) {
            txn_free(txn);
            continue;
        }
        c->pool->in_flight--;
        fifo_push(failed, txn);
    }
    if (c->watch != NULL)
        watch_close(c->watch, c->pg);
    else
        PQfinish(c->pg);
    c->watch = NULL;
    c->pg = NULL;
    c->needs_service = false;
}

static void conn_log_failure(db_conn *c, const char *why) {
    int len = first_line_length(why);
    if (c->state == DB_CONN_READY || c->state == DB_CONN_UNUSABLE) {
        log_warn("database connection %d lost: %.*s", c->number, len, why);
    } else if (c->failed_attempts++ == 0) {
        log_warn("database connection %d cannot connect: %.*s; retrying with backoff", c->number,
                 len, why);
    } else {
        log_debug("database connection %d cannot connect: %.*s", c->number, len, why);
    }
}

static void on_reconnect_timer(uv_timer_t *timer);

/* Half the backoff plus a random part of the other half, so that the
 * connections broken together by a restart do not all knock again at the
 * same instant. The clock's low bits are random enough for spreading. */
static uint32_t jittered(const db_conn *c) {
    uint32_t half = c->backoff_ms / 2;
    uint32_t noise = (uint32_t)(uv_hrtime() ^ ((uint64_t)c->number * 2654435761u));
    return half + noise % (half + 1);
}

/* The transactions that were in flight may or may not have committed; the
 * caller has to treat them as retryable, hence DB_E_UNAVAILABLE. */
static void conn_fail(db_conn *c, const char *why) {
    db_pool *pool = c->pool;
    db_fifo failed = {0};
    conn_log_failure(c, why);
    if (pool->listener == c) {
        pool->listener = NULL; /* another connection takes over, see pool_ensure_listener */
        pool_kick(pool);
    }
    conn_release(c, &failed);
    if (pool->closing) {
        conn_set_state(c, DB_CONN_CLOSED);
    } else {
        conn_set_state(c, DB_CONN_WAITING);
        uv_timer_start(&c->reconnect, on_reconnect_timer, jittered(c), 0);
        c->backoff_ms = min_u32(c->backoff_ms * 2, DB_BACKOFF_MAX_MS);
    }
    fifo_defer_all(&failed, DB_E_UNAVAILABLE, "the database connection broke");
    if (pool->closing)
        pool_kick(pool);
}

/* ---- connecting ---- */

/* Replaces libpq's default of printing to stderr. Only the primary
 * message is logged: the detail may quote row values. */
static void on_notice(void *arg, const PGresult *res) {
    const db_conn *c = arg;
    const char *severity = error_field(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    bool serious = strcmp(severity, "WARNING") == 0 || strcmp(severity, "FATAL") == 0 ||
                   strcmp(severity, "PANIC") == 0;
    log_write(serious ? LOG_LEVEL_WARN : LOG_LEVEL_DEBUG,
              "database connection %d: server %s %s: %s", c->number, severity,
              error_field(res, PG_DIAG_SQLSTATE), error_field(res, PG_DIAG_MESSAGE_PRIMARY));
}

static db_txn *catalog_txn(db_pool *pool) {
    db_txn *txn = db_txn_begin(pool);
    if (txn == NULL)
        return NULL;
    txn->prepares = true;
    for (int i = 0; i < pool->ncatalog; i++) {
        if (txn_add_call(txn, i, 0, NULL) < 0) {
            txn_free(txn);
            return NULL;
        }
    }
    return txn;
}

static void conn_on_connected(db_conn *c) {
    if (PQsetnonblocking(c->pg, 1) != 0 || PQenterPipelineMode(c->pg) != 1) {
        conn_fail(c, PQerrorMessage(c->pg));
        return;
    }
    db_txn *txn = catalog_txn(c->pool);
    if (txn == NULL) {
        conn_fail(c, "out of memory");
        return;
    }
    conn_set_state(c, DB_CONN_PREPARING);
    conn_send(c, txn);
}

/* libpq may close its socket and open another inside PQconnectPoll (next
 * address, SSL fallback), so polling stops before the call and resumes on
 * whatever socket it leaves. */
static void conn_continue_connect(db_conn *c) {
    watch_set_events(c->watch, 0);
    switch (PQconnectPoll(c->pg)) {
    case PGRES_POLLING_OK:
        conn_on_connected(c);
        break;
    case PGRES_POLLING_READING:
        conn_set_events(c, UV_READABLE);
        break;
    case PGRES_POLLING_WRITING:
        conn_set_events(c, UV_WRITABLE);
        break;
    default:
        conn_fail(c, PQerrorMessage(c->pg));
        break;
    }
}

/* PQconnectStart resolves a host name synchronously; deployments keep the
 * loop free by naming a socket directory or a numeric hostaddr. */
static void conn_connect(db_conn *c) {
    c->pg = PQconnectStart(c->pool->conninfo);
    conn_set_state(c, DB_CONN_CONNECTING);
    if (c->pg == NULL) {
        conn_fail(c, "out of memory");
        return;
    }
    if (PQstatus(c->pg) == CONNECTION_BAD) {
        conn_fail(c, PQerrorMessage(c->pg));
        return;
    }
    PQsetNoticeReceiver(c->pg, on_notice, c);
    /* libpq's rule for a fresh PQconnectStart: wait as if PQconnectPoll
     * had asked for writing. */
    conn_set_events(c, UV_WRITABLE);
}

static void on_reconnect_timer(uv_timer_t *timer) {
    db_conn *c = timer->data;
    c->pool->reconnects++;
    conn_connect(c);
}

/* ---- sending ---- */

static bool txn_send(PGconn *pg, const db_pool *pool, const db_txn *txn) {
    for (int i = 0; i < txn->ncalls; i++) {
        const db_call *call = &txn->calls[i];
        const db_statement *st = &pool->catalog[call->statement];
        int ok = txn->prepares
                     ? PQsendPrepare(pg, st->name, st->sql, 0, NULL)
                     : PQsendQueryPrepared(pg, st->name, call->nparams,
                                           (const char *const *)call->params, NULL, NULL, 0);
        if (!ok)
            return false;
    }
    return PQpipelineSync(pg) == 1;
}

/* A half-sent transaction would merge into the next one's implicit
 * transaction, so any send failure gives up the whole connection. The
 * connection is serviced from the idle handle rather than here: libpq may
 * have read results into its buffer while sending, where no readable event
 * will announce them, and taking them here would run callbacks inside
 * db_txn_commit. It also batches the flush of a burst of commits. */
static void conn_send(db_conn *c, db_txn *txn) {
    fifo_push(&c->in_flight, txn);
    c->slow_in_flight += txn->slow;
    if (!txn->prepares)
        c->pool->in_flight++;
    if (!txn_send(c->pg, c->pool, txn)) {
        conn_fail(c, PQerrorMessage(c->pg));
        return;
    }
    c->needs_service = true;
    pool_kick(c->pool);
}

/* Whether `a` should take the next transaction before `b`: a connection
 * running a slow transaction would hold it until that ends, so it comes
 * last; then the one with the fewest in flight. */
static bool conn_less_busy(const db_conn *a, const db_conn *b) {
    if ((a->slow_in_flight > 0) != (b->slow_in_flight > 0))
        return a->slow_in_flight == 0;
    return a->in_flight.count < b->in_flight.count;
}

static db_conn *pool_least_busy(db_pool *pool) {
    db_conn *best = NULL;
    for (int i = 0; i < pool->size; i++) {
        db_conn *c = &pool->conns[i];
        if (c->state != DB_CONN_READY || c->in_flight.count >= DB_MAX_IN_FLIGHT)
            continue;
        if (best == NULL || conn_less_busy(c, best))
            best = c;
    }
    return best;
}

static void pool_drain_queue(db_pool *pool) {
    db_conn *c;
    while (pool->queued.head != NULL && (c = pool_least_busy(pool)) != NULL)
        conn_send(c, fifo_pop(&pool->queued));
}

/* ---- receiving ---- */

static void conn_catalog_done(db_conn *c, db_txn *txn) {
    if (txn->error != NULL) {
        const db_statement *st = &c->pool->catalog[txn->failed_statement];
        log_error("database connection %d: statement \"%s\" does not prepare: %s", c->number,
                  st->name, error_field(txn->error, PG_DIAG_MESSAGE_PRIMARY));
        conn_set_state(c, DB_CONN_UNUSABLE);
    } else {
        log_info("database connection %d is up", c->number);
        c->backoff_ms = DB_BACKOFF_MIN_MS;
        c->failed_attempts = 0;
        conn_set_state(c, DB_CONN_READY);
        if (c->pool->listen_statement >= 0)
            pool_kick(c->pool); /* it may be the one to listen */
    }
    txn_free(txn);
}

static void conn_complete_head(db_conn *c) {
    db_txn *txn = fifo_pop(&c->in_flight);
    c->slow_in_flight -= txn->slow;
    if (txn->prepares) {
        conn_catalog_done(c, txn);
        return;
    }
    c->pool->in_flight--;
    txn->status = txn->error != NULL ? DB_E_QUERY : DB_OK;
    txn_reply(txn);
}

static void txn_store_result(db_txn *txn, PGresult *res) {
    if (txn->current >= txn->ncalls) {
        PQclear(res);
        return;
    }
    PQclear(txn->results[txn->current]);
    txn->results[txn->current] = res;
}

/* Files one PQgetResult outcome under the head transaction. Returns false
 * when libpq has nothing more for now. */
static bool conn_take_result(db_conn *c, PGresult *res) {
    db_txn *txn = c->in_flight.head;
    if (res == NULL) {
        if (txn->current >= txn->ncalls)
            return false;
        txn->current++;
        return true;
    }
    switch (PQresultStatus(res)) {
    case PGRES_PIPELINE_SYNC:
        PQclear(res);
        conn_complete_head(c);
        break;
    case PGRES_PIPELINE_ABORTED:
        PQclear(res);
        break;
    case PGRES_TUPLES_OK:
    case PGRES_COMMAND_OK:
        txn_store_result(txn, res);
        break;
    default:
        if (txn->error == NULL) {
            txn->error = res;
            txn->failed_statement = txn->current;
        } else {
            PQclear(res);
        }
        break;
    }
    return true;
}

/* Returns false if the connection failed. A callback run from here may
 * send on this very connection or even break it, hence the checks of
 * c->pg on every turn. */
static bool conn_take_results(db_conn *c) {
    while (c->pg != NULL && c->in_flight.head != NULL) {
        if (PQisBusy(c->pg))
            return true;
        if (PQstatus(c->pg) == CONNECTION_BAD) {
            conn_fail(c, PQerrorMessage(c->pg));
            return false;
        }
        if (!conn_take_result(c, PQgetResult(c->pg)))
            return true;
    }
    return c->pg != NULL;
}

/* Whether backend `pid` serves one of this pool's connections: its
 * notifications were sent by this daemon. */
static bool pool_owns_backend(const db_pool *pool, int pid) {
    for (int i = 0; i < pool->size; i++)
        if (pool->conns[i].pg != NULL && PQbackendPID(pool->conns[i].pg) == pid)
            return true;
    return false;
}

static void conn_take_notifies(db_conn *c) {
    db_pool *pool = c->pool;
    PGnotify *n;
    while (c->pg != NULL && (n = PQnotifies(c->pg)) != NULL) {
        if (pool->on_notify != NULL)
            pool->on_notify(n->relname, n->extra, pool_owns_backend(pool, n->be_pid),
                            pool->notify_arg);
        PQfreemem(n);
    }
}

/* Takes what results libpq has, then flushes; writability is watched only
 * while libpq still holds unsent data. */
static void conn_service(db_conn *c) {
    c->needs_service = false;
    if (!conn_take_results(c))
        return;
    int pending = PQflush(c->pg);
    if (pending < 0) {
        conn_fail(c, PQerrorMessage(c->pg));
        return;
    }
    conn_set_events(c, pending ? UV_READABLE | UV_WRITABLE : UV_READABLE);
    /* libpq also reads while it sends and flushes: take what came. */
    conn_take_notifies(c);
}

static void conn_on_io(db_conn *c, int events) {
    if ((events & UV_READABLE) && !PQconsumeInput(c->pg)) {
        conn_fail(c, PQerrorMessage(c->pg));
        return;
    }
    conn_service(c);
}

/* ---- listening ---- */

static void on_listen_retry(uv_timer_t *timer) {
    db_conn *c = timer->data;
    pool_kick(c->pool);
}

static void on_listening(const db_reply *reply, void *arg) {
    db_conn *c = arg;
    db_pool *pool = c->pool;
    if (reply->status == DB_E_QUERY && strncmp(reply->sqlstate, "42", 2) == 0) {
        log_error("database connection %d cannot listen: %s; other daemons' events will not "
                  "be heard",
                  c->number, reply->message);
        pool->listen_statement = -1;
        pool->listener = NULL;
    } else if (reply->status == DB_E_QUERY) {
        /* A standby during a failover, say: try again in a while. */
        log_warn("database connection %d cannot listen yet: %s", c->number, reply->message);
        pool->listener = NULL;
        pool->listen_after = uv_now(pool->loop) + DB_LISTEN_RETRY_MS;
        if (c->state == DB_CONN_READY)
            uv_timer_start(&c->reconnect, on_listen_retry, DB_LISTEN_RETRY_MS, 0);
    } else if (reply->status != DB_OK) {
        if (pool->listener == c)
            pool->listener = NULL; /* the next connection up takes over */
    } else if (pool->listener == c) {
        log_info("database connection %d listens for other daemons' events", c->number);
        if (pool->on_listening != NULL)
            pool->on_listening(pool->notify_arg);
    }
}

/* One ready connection runs the LISTEN statement and so hears every
 * notification, once; when it breaks, the next one up does it again. */
static void pool_ensure_listener(db_pool *pool) {
    if (pool->listen_statement < 0 || pool->listener != NULL || pool->closing ||
        uv_now(pool->loop) < pool->listen_after)
        return;
    for (int i = 0; i < pool->size; i++) {
        db_conn *c = &pool->conns[i];
        if (c->state != DB_CONN_READY)
            continue;
        db_txn *txn = db_txn_begin(pool);
        if (txn == NULL || txn_add_call(txn, pool->listen_statement, 0, NULL) < 0) {
            db_txn_abort(txn);
            return; /* tried again on the next kick */
        }
        txn->cb = on_listening;
        txn->arg = c;
        pool->listener = c;
        conn_send(c, txn);
        return;
    }
}

static void on_poll(uv_poll_t *handle, int status, int events) {
    db_watch *w = handle->data;
    db_conn *c = w->conn;
    db_pool *pool = c->pool;
    if (status < 0) {
        /* libuv reports a socket error (POLLERR) this way and has stopped
         * the handle. libpq learns what the error was when it reads, and
         * may still hand out results that arrived before it. */
        w->events = 0;
        events = UV_READABLE;
    }
    if (c->state == DB_CONN_CONNECTING)
        conn_continue_connect(c);
    else
        conn_on_io(c, events);
    pool_drain_queue(pool);
    if (pool->closing)
        pool_kick(pool);
}

/* ---- closing ---- */

static void conn_shut(db_conn *c) {
    /* Teardown starts only once no user transaction is in flight, so
     * nothing released here is owed an answer. */
    db_fifo none = {0};
    if (c->pg != NULL)
        conn_release(c, &none);
    uv_timer_stop(&c->reconnect);
    conn_set_state(c, DB_CONN_CLOSED);
    uv_close((uv_handle_t *)&c->reconnect, on_timer_closed);
}

/* Teardown waits until nothing is in flight and every reply has been
 * delivered, so the last callbacks still find a live pool. */
static void pool_try_teardown(db_pool *pool) {
    if (!pool->closing || pool->tearing_down)
        return;
    if (pool->ready == 0)
        fifo_defer_all(&pool->queued, DB_E_SHUTDOWN, "the database pool is closing");
    if (pool->in_flight > 0 || pool->deferred.head != NULL || pool->queued.head != NULL)
        return;
    pool->tearing_down = true;
    for (int i = 0; i < pool->size; i++)
        conn_shut(&pool->conns[i]);
    uv_close((uv_handle_t *)&pool->kick, on_kick_closed);
}

static void pool_service_conns(db_pool *pool) {
    for (int i = 0; i < pool->size; i++) {
        db_conn *c = &pool->conns[i];
        if (c->needs_service && c->pg != NULL)
            conn_service(c);
    }
}

static bool pool_has_kick_work(const db_pool *pool) {
    if (pool->deferred.head != NULL)
        return true;
    for (int i = 0; i < pool->size; i++)
        if (pool->conns[i].needs_service)
            return true;
    return false;
}

static void on_kick(uv_idle_t *idle) {
    db_pool *pool = idle->data;
    pool_deliver_deferred(pool);
    pool_service_conns(pool);
    pool_ensure_listener(pool);
    pool_drain_queue(pool);
    if (!pool_has_kick_work(pool))
        uv_idle_stop(idle);
    pool_try_teardown(pool);
}

/* ---- public API ---- */

db_pool *db_pool_create(uv_loop_t *loop, const char *conninfo, int size) {
    db_pool *pool = calloc(1, sizeof *pool);
    if (pool == NULL)
        return NULL;
    /* A pool of no connections could never answer anything. */
    pool->size = size > 0 ? size : 1;
    pool->loop = loop;
    pool->listen_statement = -1;
    pool->conninfo = strdup(conninfo != NULL ? conninfo : "");
    pool->conns = calloc((size_t)pool->size, sizeof *pool->conns);
    if (pool->conninfo == NULL || pool->conns == NULL) {
        free(pool->conninfo);
        free(pool->conns);
        free(pool);
        return NULL;
    }
    uv_idle_init(loop, &pool->kick);
    pool->kick.data = pool;
    for (int i = 0; i < pool->size; i++) {
        db_conn *c = &pool->conns[i];
        c->pool = pool;
        c->number = i + 1;
        c->backoff_ms = DB_BACKOFF_MIN_MS;
        uv_timer_init(loop, &c->reconnect);
        c->reconnect.data = c;
    }
    pool->open_handles = 1 + pool->size;
    return pool;
}

int db_pool_prepare(db_pool *pool, const char *name, const char *sql) {
    if (pool->started || pool->closing || name == NULL || sql == NULL)
        return -EINVAL;
    if (catalog_find(pool, name) >= 0)
        return -EINVAL;
    if (pool->ncatalog == pool->catalog_capacity) {
        int capacity = pool->catalog_capacity > 0 ? pool->catalog_capacity * 2 : 16;
        db_statement *grown = realloc(pool->catalog, (size_t)capacity * sizeof *grown);
        if (grown == NULL)
            return -ENOMEM;
        pool->catalog = grown;
        pool->catalog_capacity = capacity;
    }
    pool->catalog[pool->ncatalog++] = (db_statement){.name = name, .sql = sql};
    return 0;
}

int db_pool_prepare_all(db_pool *pool, const char *const (*statements)[2], size_t n) {
    for (size_t i = 0; i < n; i++) {
        int rc = db_pool_prepare(pool, statements[i][0], statements[i][1]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int db_pool_start(db_pool *pool) {
    if (pool->started || pool->closing)
        return 0;
    pool->started = true;
    for (int i = 0; i < pool->size; i++)
        conn_connect(&pool->conns[i]);
    return 0;
}

bool db_pool_available(const db_pool *pool) {
    return pool->ready > 0 && !pool->closing;
}

void db_pool_get_stats(const db_pool *pool, db_pool_stats *out) {
    *out = (db_pool_stats){.connections = pool->size,
                           .ready = pool->ready,
                           .in_flight = pool->in_flight,
                           .queued = pool->queued.count,
                           .committed = pool->committed,
                           .failed = pool->failed,
                           .reconnects = pool->reconnects};
}

void db_pool_close(db_pool *pool, void (*on_closed)(void *arg), void *arg) {
    if (pool->closing)
        return;
    pool->closing = true;
    pool->on_closed = on_closed;
    pool->on_closed_arg = arg;
    for (int i = 0; i < pool->size; i++) {
        db_conn *c = &pool->conns[i];
        if (c->state == DB_CONN_WAITING) {
            uv_timer_stop(&c->reconnect);
            conn_set_state(c, DB_CONN_CLOSED);
        }
    }
    pool_kick(pool);
}

db_txn *db_txn_begin(db_pool *pool) {
    db_txn *txn = calloc(1, sizeof *txn);
    if (txn == NULL)
        return NULL;
    txn->pool = pool;
    txn->failed_statement = -1;
    return txn;
}

int db_txn_query(db_txn *txn, const char *statement, int nparams, const char *const *params) {
    const char *name = statement != NULL ? statement : "(null)";
    int index = statement != NULL ? catalog_find(txn->pool, statement) : -1;
    if (index < 0)
        return txn_invalidate(txn, -EINVAL, "unknown statement", name);
    if (nparams < 0 || nparams > DB_MAX_PARAMS || (nparams > 0 && params == NULL))
        return txn_invalidate(txn, -EINVAL, "bad parameter count for statement", name);
    int rc = txn_add_call(txn, index, nparams, params);
    if (rc < 0)
        return txn_invalidate(txn, rc, "out of memory adding statement", name);
    return 0;
}

int db_txn_context(db_txn *txn, const char *statement, int nparams, const char *const *params) {
    if (txn->ncalls != txn->hidden)
        return txn_invalidate(txn, -EINVAL, "context after a statement", statement);
    int rc = db_txn_query(txn, statement, nparams, params);
    if (rc == 0)
        txn->hidden++;
    return rc;
}

int db_pool_listen(db_pool *pool, const char *statement, db_notify_cb on_notify,
                   void (*on_listening_cb)(void *arg), void *arg) {
    int index = statement != NULL ? catalog_find(pool, statement) : -1;
    if (index < 0 || on_notify == NULL)
        return -EINVAL;
    pool->listen_statement = index;
    pool->on_notify = on_notify;
    pool->on_listening = on_listening_cb;
    pool->notify_arg = arg;
    pool_kick(pool);
    return 0;
}

void db_pool_on_roundtrip(db_pool *pool, void (*cb)(uint64_t ns, void *arg), void *arg) {
    pool->on_roundtrip = cb;
    pool->roundtrip_arg = arg;
}

void db_txn_commit(db_txn *txn, db_reply_cb cb, void *arg) {
    db_pool *pool = txn->pool;
    txn->cb = cb;
    txn->arg = arg;
    txn->committed_ns = uv_hrtime();
    if (pool->tearing_down || (pool->closing && pool->ready == 0)) {
        txn_defer(txn, DB_E_SHUTDOWN, "the database pool is closing");
    } else if (txn->invalid) {
        txn_defer(txn, DB_E_QUERY, txn->detail);
    } else if (pool->ready == 0) {
        txn_defer(txn, DB_E_UNAVAILABLE, "no database connection is available");
    } else {
        db_conn *c = pool_least_busy(pool);
        if (c != NULL)
            conn_send(c, txn);
        else if (pool->queued.count < DB_MAX_QUEUED)
            fifo_push(&pool->queued, txn);
        else
            txn_defer(txn, DB_E_TOO_MANY, "too many database transactions are waiting");
    }
}

void db_txn_abort(db_txn *txn) {
    if (txn != NULL)
        txn_free(txn);
}

void db_txn_mark_slow(db_txn *txn) {
    txn->slow = true;
}

const char *db_value(const PGresult *res, int row, int col) {
    if (res == NULL || row < 0 || row >= PQntuples(res) || col < 0 || col >= PQnfields(res))
        return "";
    if (PQgetisnull(res, row, col))
        return "";
    return PQgetvalue(res, row, col);
}

int64_t db_int64(const PGresult *res, int row, int col) {
    const char *text = db_value(res, row, col);
    char *end;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (end == text || *end != '\0' || errno != 0)
        return 0;
    return (int64_t)value;
}

bool db_bool(const PGresult *res, int row, int col) {
    return strcmp(db_value(res, row, col), "t") == 0;
}

bool db_is_unique_violation(const db_reply *reply) {
    return reply != NULL && reply->status == DB_E_QUERY && strcmp(reply->sqlstate, "23505") == 0;
}

int64_t *db_parse_ids(const char *text, size_t *n) {
    size_t count = 0;
    for (const char *p = text; *p; p++)
        count += *p == ',';
    int64_t *ids = calloc(count + 2, sizeof *ids);
    *n = 0;
    if (ids == NULL)
        return NULL;
    for (const char *p = text; *p;) {
        char *end;
        if (*p >= '0' && *p <= '9') {
            ids[(*n)++] = strtoll(p, &end, 10);
            p = end;
        } else {
            p++;
        }
    }
    return ids;
}

char *db_id_array(const int64_t *ids, size_t n) {
    size_t cap = 3 + n * 21, len = 0;
    char *array = malloc(cap);
    if (array == NULL)
        return NULL;
    array[len++] = '{';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(array + len, cap - len, "%s%lld", i ? "," : "", (long long)ids[i]);
    snprintf(array + len, cap - len, "}");
    return array;
}

bool db_text_array(char *out, size_t cap, char *const *items, size_t n) {
    size_t len = 0;
    if (cap < 3)
        return false;
    out[len++] = '{';
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && len < cap)
            out[len++] = ',';
        if (len < cap)
            out[len++] = '"';
        for (const char *p = items[i]; *p && len < cap; p++) {
            if ((*p == '"' || *p == '\\') && len + 1 < cap)
                out[len++] = '\\';
            out[len++] = *p;
        }
        if (len < cap)
            out[len++] = '"';
    }
    if (len + 2 > cap)
        return false;
    out[len++] = '}';
    out[len] = '\0';
    return true;
}

void db_hex(const uint8_t *bytes, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 0xf];
    }
    out[2 * n] = '\0';
}
