/* db: the asynchronous PostgreSQL pool on the event loop.
 *
 * The pool holds `size` libpq connections, each non-blocking, watched with a
 * uv_poll_t and in pipeline mode. Every statement is prepared on every
 * connection when it connects, from the catalog given with db_pool_prepare
 * before db_pool_start. Work is submitted as transactions: the statements
 * added to a db_txn run in one implicit transaction (one pipeline sync), so
 * they commit together or not at all, and the callback runs only after the
 * commit (or the failure) is known.
 *
 * A connection that fails is reconnected with exponential backoff (100 ms
 * doubling to 5 s, each wait jittered between half and all of it). While no connection is up, new
 * transactions fail at once with DB_E_UNAVAILABLE and a retry hint, and transactions that were in
 * flight on a broken connection fail the same way: the caller cannot know
 * whether they committed, so writes must be idempotent or reported as
 * retryable. Nothing here blocks the loop. */
#ifndef CALLFLOOR_DB_H
#define CALLFLOOR_DB_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>
#include <uv.h>

enum {
    DB_OK = 0,
    DB_E_UNAVAILABLE = -3001, /* no connection, or it broke mid-transaction */
    DB_E_QUERY = -3002,       /* PostgreSQL reported an error; see sqlstate */
    DB_E_SHUTDOWN = -3003,    /* the pool is closing */
    DB_E_NOMEM = -3004,
    DB_E_TOO_MANY = -3005, /* more than DB_MAX_QUEUED transactions waiting */
};

#define DB_MAX_PARAMS 32
#define DB_MAX_QUEUED 10000

typedef struct db_pool db_pool;
typedef struct db_txn db_txn;

/* What a transaction's callback receives. Everything it points to is owned
 * by the pool and valid only during the callback. */
typedef struct db_reply {
    int status;              /* DB_OK or a DB_E_* code */
    const char *sqlstate;    /* five characters on DB_E_QUERY, else "" */
    const char *message;     /* PostgreSQL's primary message, or ours; "" on success */
    const char *constraint;  /* violated constraint name on DB_E_QUERY, else "" */
    int failed_statement;    /* index of the statement that failed, or -1 */
    uint32_t retry_after_ms; /* a hint with DB_E_UNAVAILABLE, else 0 */
    int nresults;            /* on DB_OK: one result per statement, in order */
    PGresult *const *results;
} db_reply;

/* Called exactly once per committed transaction, always from the loop and
 * never from inside db_txn_commit. */
typedef void (*db_reply_cb)(const db_reply *reply, void *arg);

typedef struct db_pool_stats {
    int connections;     /* configured size */
    int ready;           /* connected and prepared */
    int in_flight;       /* transactions sent and not yet answered */
    int queued;          /* transactions waiting for a connection */
    uint64_t committed;  /* transactions answered DB_OK since start */
    uint64_t failed;     /* transactions answered with an error since start */
    uint64_t reconnects; /* connection attempts after a failure */
} db_pool_stats;

/* Creates a pool; nothing connects until db_pool_start. Returns NULL on
 * out-of-memory. The conninfo string is copied. */
db_pool *db_pool_create(uv_loop_t *loop, const char *conninfo, int size);
/* Adds a statement to the catalog. Only before db_pool_start. `name` and
 * `sql` must outlive the pool (string literals). Returns 0 or -EINVAL
 * (duplicate name, too late) / -ENOMEM. */
int db_pool_prepare(db_pool *pool, const char *name, const char *sql);
/* Adds `n` statements given as {name, sql} pairs, as db_pool_prepare. */
int db_pool_prepare_all(db_pool *pool, const char *const (*statements)[2], size_t n);
/* Starts connecting every connection. Returns 0; failures to connect are
 * retried in the background and visible in db_pool_stats. */
int db_pool_start(db_pool *pool);
/* True when at least one connection is ready. */
bool db_pool_available(const db_pool *pool);
/* Adds a statement that sets up the transaction (e.g. who acts, for the
 * audit triggers) before any other: the reply leaves its result out, so
 * that results[0] is still the caller's first statement. */
int db_txn_context(db_txn *txn, const char *statement, int nparams, const char *const *params);
/* A notification: the channel, its payload, and whether one of the pool's
 * own sessions sent it (whose transaction's reply then told the sender). */
typedef void (*db_notify_cb)(const char *channel, const char *payload, bool from_this_pool,
                             void *arg);
/* Has one ready connection at a time run catalog statement `statement` (a
 * LISTEN) and passes every notification it then hears to `on_notify`.
 * `on_listening` (may be NULL) runs each time a connection starts
 * listening: notifications sent while none listened are lost, and the
 * owner catches up then. Returns 0, or -EINVAL for an unknown statement. */
int db_pool_listen(db_pool *pool, const char *statement, db_notify_cb on_notify,
                   void (*on_listening)(void *arg), void *arg);
/* Calls `cb` with the nanoseconds from each db_txn_commit to its answer
 * (queueing included), just before the answer is delivered. */
void db_pool_on_roundtrip(db_pool *pool, void (*cb)(uint64_t ns, void *arg), void *arg);
void db_pool_get_stats(const db_pool *pool, db_pool_stats *out);
/* Runs every transaction committed before the pool is idle, including
 * those committed from the replies of earlier ones (a drain's last lease
 * releases), while a connection is up to run them; once none is, they fail
 * with DB_E_SHUTDOWN. Then it closes every connection and handle, calls
 * `on_closed` and frees the pool. The caller stops its timers and
 * sessions first, so that the work runs out. `on_closed`
 * may be NULL; it runs after the pool is freed and after every reply. */
void db_pool_close(db_pool *pool, void (*on_closed)(void *arg), void *arg);

/* Starts a transaction. Never NULL except on out-of-memory. */
db_txn *db_txn_begin(db_pool *pool);
/* Adds a prepared statement by catalog name with text-format parameters
 * (NULL entries are SQL NULL); the parameters are copied. Returns 0,
 * -EINVAL (unknown statement, too many parameters) or -ENOMEM; after an
 * error the transaction still must be committed or aborted. */
int db_txn_query(db_txn *txn, const char *statement, int nparams, const char *const *params);
/* Submits the transaction; `cb` is called later exactly once and the txn
 * is consumed. If an earlier db_txn_query failed, nothing is sent and `cb`
 * gets status DB_E_QUERY with sqlstate "" and a message naming the bad
 * statement. */
void db_txn_commit(db_txn *txn, db_reply_cb cb, void *arg);
/* Discards a transaction that was not committed. */
void db_txn_abort(db_txn *txn);
/* Marks a transaction that may run for a long time (a scan of a whole
 * table: counts, rebuilds, reports). While any connection has none such in
 * flight, the pool sends other transactions there rather than queue them
 * behind it. Call before db_txn_commit. */
void db_txn_mark_slow(db_txn *txn);

/* Helpers for reading results. */
const char *db_value(const PGresult *res, int row, int col); /* "" for NULL */
int64_t db_int64(const PGresult *res, int row, int col);     /* 0 for NULL or junk */
bool db_bool(const PGresult *res, int row, int col);         /* "t" is true */
bool db_is_unique_violation(const db_reply *reply);          /* sqlstate 23505 */
/* Writes the text-format array literal of `items` ({"a","b"}, quoted and
 * escaped) to `out`, NUL-terminated, at most `cap` bytes, for a $n::text[]
 * parameter. Returns false when it does not fit. */
bool db_text_array(char *out, size_t cap, char *const *items, size_t n);
/* The numbers of `text`, a bigint[] in PostgreSQL's text form ("{1,2}") or
 * a comma-separated list, in a new array of `*n`; NULL on out-of-memory. */
int64_t *db_parse_ids(const char *text, size_t *n);
/* The text form of a $n::bigint[] parameter holding `ids`, to be freed;
 * NULL on out-of-memory. */
char *db_id_array(const int64_t *ids, size_t n);
/* Writes `n` bytes as 2n lower-case hex digits and a NUL (decode(x, 'hex')
 * reads them back in SQL). */
void db_hex(const uint8_t *bytes, size_t n, char *out);

#endif
