/* db_exercise: drives server/db.c on a real libuv loop against a real
 * PostgreSQL, one scenario per run, for tests/integration/test_db_pool.sh.
 *
 *   db_exercise CONNINFO SCENARIO
 *
 * Scenarios: basic, error, queue, catalog, unavailable, broken, restart,
 * slow, close.
 * Exits 0 when every check holds, 1 with a "FAIL:" line on stderr when one
 * does not, 2 on bad usage. Tables are created with blocking libpq calls
 * before the loop starts, as the daemon does with its migrations. */
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <uv.h>

#include "db.h"
#include "log.h"

#define BASIC_TXNS        1000
#define ERROR_GOOD_TXNS   40
#define QUEUE_EXTRA       50
#define RESTART_PARALLEL  32
#define RESTART_WANT_OK   200
#define CLOSE_TXNS        300
#define UNAVAILABLE_RUNMS 2000
#define BROKEN_TXNS       5

static const char *const catalog[][2] = {
    {"ins", "INSERT INTO cf_dbx_rows (txn, step, note) VALUES ($1::int, $2::int, $3)"
            " RETURNING id, txn, step"},
    {"count", "SELECT count(*) FROM cf_dbx_rows"},
    {"uins", "INSERT INTO cf_dbx_unique (k) VALUES ($1)"},
    {"ucount", "SELECT count(*) FROM cf_dbx_unique WHERE k = $1"},
    {"one", "SELECT 1"},
    {"sleep", "SELECT pg_sleep($1::float8)"},
    {"types", "SELECT $1::text IS NULL, 9007199254740993::bigint, NULL::bigint, 'abc'::text,"
              " true, false, 'junk'::text"},
    {"terminate", "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                  " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                  " AND state = 'active' AND query LIKE 'SELECT pg_sleep%'"},
};

static struct {
    uv_loop_t loop;
    uv_timer_t tick;
    const char *conninfo;
    const char *scenario;
    bool in_commit;
    bool (*wait_done)(void);
    uint64_t wait_deadline;
    bool wait_expired;
} g;

/* ---- checking ---- */

__attribute__((format(printf, 1, 2))) static void expect_failed(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "db_exercise %s: FAIL: ", g.scenario);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

#define EXPECT(cond, ...)               \
    do {                                \
        if (!(cond))                    \
            expect_failed(__VA_ARGS__); \
    } while (0)

/* Every callback starts with this: the contract says never from inside
 * db_txn_commit. */
static void expect_async(void) {
    EXPECT(!g.in_commit, "a callback ran inside db_txn_commit");
}

static const char *status_name(int status) {
    switch (status) {
    case DB_OK:
        return "DB_OK";
    case DB_E_UNAVAILABLE:
        return "DB_E_UNAVAILABLE";
    case DB_E_QUERY:
        return "DB_E_QUERY";
    case DB_E_SHUTDOWN:
        return "DB_E_SHUTDOWN";
    case DB_E_NOMEM:
        return "DB_E_NOMEM";
    case DB_E_TOO_MANY:
        return "DB_E_TOO_MANY";
    default:
        return "unknown";
    }
}

static void expect_status(const db_reply *r, int want, const char *what) {
    EXPECT(r->status == want, "%s: got %s (sqlstate \"%s\", message \"%s\"), want %s", what,
           status_name(r->status), r->sqlstate, r->message, status_name(want));
}

/* ---- blocking set-up and verification, outside the loop ---- */

static PGconn *blocking_connect(void) {
    PGconn *pg = PQconnectdb(g.conninfo);
    EXPECT(PQstatus(pg) == CONNECTION_OK, "cannot connect: %s", PQerrorMessage(pg));
    return pg;
}

static void blocking_exec(const char *sql) {
    PGconn *pg = blocking_connect();
    PGresult *res = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(res);
    EXPECT(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "set-up failed: %s",
           PQresultErrorMessage(res));
    PQclear(res);
    PQfinish(pg);
}

static int64_t blocking_count(const char *sql) {
    PGconn *pg = blocking_connect();
    PGresult *res = PQexec(pg, sql);
    EXPECT(PQresultStatus(res) == PGRES_TUPLES_OK, "count failed: %s", PQresultErrorMessage(res));
    int64_t n = db_int64(res, 0, 0);
    PQclear(res);
    PQfinish(pg);
    return n;
}

static void create_tables(void) {
    blocking_exec("SET client_min_messages = warning;"
                  "DROP TABLE IF EXISTS cf_dbx_rows, cf_dbx_unique;"
                  "CREATE TABLE cf_dbx_rows (id bigserial PRIMARY KEY, txn int NOT NULL,"
                  " step int NOT NULL, note text);"
                  "CREATE TABLE cf_dbx_unique (k text, CONSTRAINT cf_dbx_unique_k UNIQUE (k));"
                  "INSERT INTO cf_dbx_unique (k) VALUES ('dup');");
}

/* ---- loop helpers ---- */

static void on_tick(uv_timer_t *timer) {
    if (g.wait_done()) {
        uv_stop(timer->loop);
    } else if (uv_now(timer->loop) >= g.wait_deadline) {
        g.wait_expired = true;
        uv_stop(timer->loop);
    }
}

/* Runs the loop until done() holds; fails after timeout_ms. */
static void wait_until(bool (*done)(void), uint64_t timeout_ms, const char *what) {
    g.wait_done = done;
    g.wait_expired = false;
    uv_update_time(&g.loop);
    g.wait_deadline = uv_now(&g.loop) + timeout_ms;
    uv_timer_start(&g.tick, on_tick, 5, 5);
    uv_run(&g.loop, UV_RUN_DEFAULT);
    uv_timer_stop(&g.tick);
    EXPECT(!g.wait_expired, "timed out after %" PRIu64 " ms waiting for %s", timeout_ms, what);
}

static db_pool *pool_create(const char *conninfo, int size) {
    db_pool *pool = db_pool_create(&g.loop, conninfo, size);
    EXPECT(pool != NULL, "db_pool_create returned NULL");
    for (size_t i = 0; i < sizeof catalog / sizeof catalog[0]; i++)
        EXPECT(db_pool_prepare(pool, catalog[i][0], catalog[i][1]) == 0, "cannot prepare %s",
               catalog[i][0]);
    EXPECT(db_pool_prepare(pool, "ins", "SELECT 1") < 0, "a duplicate name was accepted");
    return pool;
}

static db_pool *pool_open(const char *conninfo, int size) {
    db_pool *pool = pool_create(conninfo, size);
    EXPECT(db_pool_start(pool) == 0, "db_pool_start failed");
    EXPECT(db_pool_prepare(pool, "late", "SELECT 1") < 0, "prepare after start was accepted");
    return pool;
}

static db_pool *ready_pool;

static bool all_ready(void) {
    db_pool_stats st;
    db_pool_get_stats(ready_pool, &st);
    return st.ready == st.connections;
}

static db_pool *pool_open_ready(int size) {
    ready_pool = pool_open(g.conninfo, size);
    wait_until(all_ready, 10000, "every connection to be ready");
    EXPECT(db_pool_available(ready_pool), "ready connections but the pool is not available");
    return ready_pool;
}

static int closed_calls;

static void on_pool_closed(void *arg) {
    int *calls = arg;
    (*calls)++;
}

static bool pool_is_closed(void) {
    return closed_calls > 0;
}

static void pool_shut(db_pool *pool) {
    closed_calls = 0;
    db_pool_close(pool, on_pool_closed, &closed_calls);
    wait_until(pool_is_closed, 10000, "on_closed");
    EXPECT(closed_calls == 1, "on_closed called %d times", closed_calls);
}

static void commit(db_txn *txn, db_reply_cb cb, void *arg) {
    g.in_commit = true;
    db_txn_commit(txn, cb, arg);
    g.in_commit = false;
}

static void query(db_txn *txn, const char *statement, int nparams, const char *const *params) {
    int rc = db_txn_query(txn, statement, nparams, params);
    EXPECT(rc == 0, "db_txn_query(%s) returned %d", statement, rc);
}

static db_txn *begin(db_pool *pool) {
    db_txn *txn = db_txn_begin(pool);
    EXPECT(txn != NULL, "db_txn_begin returned NULL");
    return txn;
}

/* One transaction of three inserts tagged with `n`; the last note is SQL
 * NULL so NULL parameters are exercised too. */
static db_txn *three_inserts(db_pool *pool, int n) {
    char tag[16];
    snprintf(tag, sizeof tag, "%d", n);
    db_txn *txn = begin(pool);
    query(txn, "ins", 3, (const char *[]){tag, "0", "first"});
    query(txn, "ins", 3, (const char *[]){tag, "1", "second"});
    query(txn, "ins", 3, (const char *[]){tag, "2", NULL});
    return txn;
}

/* ---- basic ---- */

static int basic_calls[BASIC_TXNS];
static int basic_done;
static int64_t counted_rows = -1;
static bool types_checked;

static void on_basic_reply(const db_reply *r, void *arg) {
    int n = (int)(intptr_t)arg;
    expect_async();
    basic_calls[n]++;
    basic_done++;
    expect_status(r, DB_OK, "basic transaction");
    EXPECT(r->nresults == 3 && r->failed_statement == -1 && r->retry_after_ms == 0,
           "transaction %d: %d results, failed_statement %d", n, r->nresults, r->failed_statement);
    EXPECT(r->sqlstate[0] == '\0' && r->message[0] == '\0' && r->constraint[0] == '\0',
           "a success carries error text");
    for (int s = 0; s < 3; s++) {
        const PGresult *res = r->results[s];
        EXPECT(PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1,
               "transaction %d statement %d: bad result", n, s);
        EXPECT(db_int64(res, 0, 0) > 0 && db_int64(res, 0, 1) == n && db_int64(res, 0, 2) == s,
               "transaction %d statement %d: results out of order", n, s);
    }
}

static void on_count_reply(const db_reply *r, void *arg) {
    (void)arg;
    expect_async();
    expect_status(r, DB_OK, "count");
    counted_rows = db_int64(r->results[0], 0, 0);
}

static void on_types_reply(const db_reply *r, void *arg) {
    (void)arg;
    expect_async();
    expect_status(r, DB_OK, "types");
    const PGresult *res = r->results[0];
    EXPECT(db_bool(res, 0, 0), "a NULL parameter did not arrive as SQL NULL");
    EXPECT(db_int64(res, 0, 1) == INT64_C(9007199254740993), "db_int64 lost precision");
    EXPECT(db_int64(res, 0, 2) == 0 && strcmp(db_value(res, 0, 2), "") == 0,
           "NULL is not 0 and \"\"");
    EXPECT(strcmp(db_value(res, 0, 3), "abc") == 0, "db_value of text");
    EXPECT(db_bool(res, 0, 4) && !db_bool(res, 0, 5), "db_bool");
    EXPECT(db_int64(res, 0, 6) == 0, "db_int64 of junk is not 0");
    EXPECT(strcmp(db_value(res, 5, 0), "") == 0 && strcmp(db_value(res, 0, 99), "") == 0,
           "db_value out of range is not \"\"");
    types_checked = true;
}

static bool basic_all_done(void) {
    return basic_done == BASIC_TXNS;
}

static bool basic_checks_done(void) {
    return counted_rows >= 0 && types_checked;
}

static void scenario_basic(void) {
    create_tables();
    db_pool *pool = pool_open_ready(4);
    for (int n = 0; n < BASIC_TXNS; n++)
        commit(three_inserts(pool, n), on_basic_reply, (void *)(intptr_t)n);
    db_pool_stats st;
    db_pool_get_stats(pool, &st);
    EXPECT(st.in_flight > 0 && st.queued > 0 && st.in_flight + st.queued == BASIC_TXNS,
           "after submitting: %d in flight, %d queued", st.in_flight, st.queued);
    wait_until(basic_all_done, 60000, "every basic transaction");
    for (int n = 0; n < BASIC_TXNS; n++)
        EXPECT(basic_calls[n] == 1, "transaction %d answered %d times", n, basic_calls[n]);

    db_txn *txn = begin(pool);
    query(txn, "count", 0, NULL);
    commit(txn, on_count_reply, NULL);
    txn = begin(pool);
    query(txn, "types", 1, (const char *[]){NULL});
    commit(txn, on_types_reply, NULL);
    wait_until(basic_checks_done, 10000, "the count and the types");
    EXPECT(counted_rows == 3 * BASIC_TXNS, "%" PRId64 " rows, want %d", counted_rows,
           3 * BASIC_TXNS);

    db_pool_get_stats(pool, &st);
    EXPECT(st.committed == BASIC_TXNS + 2 && st.failed == 0 && st.in_flight == 0 &&
               st.queued == 0 && st.ready == 4 && st.reconnects == 0,
           "stats: committed %" PRIu64 " failed %" PRIu64 " in flight %d queued %d ready %d",
           st.committed, st.failed, st.in_flight, st.queued, st.ready);
    pool_shut(pool);
    EXPECT(blocking_count("SELECT count(*) FROM cf_dbx_rows") == 3 * BASIC_TXNS,
           "rows after closing");
    printf("basic: %d transactions of 3 statements committed\n", BASIC_TXNS);
}

/* ---- error ---- */

static int good_replies;
static int bad_replies;
static int checks_pending;

static void on_good_reply(const db_reply *r, void *arg) {
    (void)arg;
    expect_async();
    expect_status(r, DB_OK, "a transaction beside the failing one");
    good_replies++;
}

static void on_unique_reply(const db_reply *r, void *arg) {
    (void)arg;
    expect_async();
    expect_status(r, DB_E_QUERY, "the duplicate insert");
    EXPECT(db_is_unique_violation(r), "not a unique violation: sqlstate \"%s\"", r->sqlstate);
    EXPECT(strcmp(r->sqlstate, "23505") == 0, "sqlstate \"%s\"", r->sqlstate);
    EXPECT(r->failed_statement == 1, "failed_statement %d, want 1", r->failed_statement);
    EXPECT(strcmp(r->constraint, "cf_dbx_unique_k") == 0, "constraint \"%s\"", r->constraint);
    EXPECT(r->message[0] != '\0' && r->nresults == 0, "message or results on failure");
    bad_replies++;
}

static void on_unknown_reply(const db_reply *r, void *arg) {
    (void)arg;
    expect_async();
    expect_status(r, DB_E_QUERY, "an unknown statement");
    EXPECT(r->sqlstate[0] == '\0', "sqlstate \"%s\" for our own error", r->sqlstate);
    EXPECT(strstr(r->message, "no_such_statement") != NULL, "message \"%s\" does not name it",
           r->message);
    EXPECT(r->failed_statement == 1 && !db_is_unique_violation(r), "failed_statement %d",
           r->failed_statement);
    bad_replies++;
}

static void on_sqlstate_reply(const db_reply *r, void *arg) {
    const char *want = arg;
    expect_async();
    expect_status(r, DB_E_QUERY, want);
    EXPECT(strcmp(r->sqlstate, want) == 0 && r->failed_statement == 0,
           "sqlstate \"%s\" at statement %d, want \"%s\" at 0", r->sqlstate, r->failed_statement,
           want);
    EXPECT(!db_is_unique_violation(r), "db_is_unique_violation on %s", want);
    bad_replies++;
}

static void on_ucount_reply(const db_reply *r, void *arg) {
    const char *const *expected = arg; /* {key, count} */
    expect_async();
    expect_status(r, DB_OK, "ucount");
    int64_t got = db_int64(r->results[0], 0, 0);
    EXPECT(got == strtoll(expected[1], NULL, 10), "%" PRId64 " rows with key %s, want %s", got,
           expected[0], expected[1]);
    checks_pending--;
}

static bool error_all_done(void) {
    return good_replies == ERROR_GOOD_TXNS && bad_replies == 4;
}

static bool error_checks_done(void) {
    return checks_pending == 0;
}

static void commit_good_unique(db_pool *pool, int n) {
    char key[16];
    snprintf(key, sizeof key, "g%d", n);
    db_txn *txn = begin(pool);
    query(txn, "uins", 1, (const char *[]){key});
    commit(txn, on_good_reply, NULL);
}

static void commit_ucount(db_pool *pool, const char *const *expected) {
    db_txn *txn = begin(pool);
    query(txn, "ucount", 1, (const char *[]){expected[0]});
    commit(txn, on_ucount_reply, (void *)expected);
    checks_pending++;
}

static void commit_error_cases(db_pool *pool) {
    db_txn *txn = begin(pool);
    query(txn, "uins", 1, (const char *[]){"a1"});
    query(txn, "uins", 1, (const char *[]){"dup"});
    query(txn, "uins", 1, (const char *[]){"c1"});
    commit(txn, on_unique_reply, NULL);

    txn = begin(pool);
    query(txn, "uins", 1, (const char *[]){"never"});
    EXPECT(db_txn_query(txn, "no_such_statement", 0, NULL) == -EINVAL, "unknown statement");
    EXPECT(db_txn_query(txn, "uins", DB_MAX_PARAMS + 1, (const char * [DB_MAX_PARAMS + 1]){0}) ==
               -EINVAL,
           "too many parameters");
    commit(txn, on_unknown_reply, NULL);

    txn = begin(pool);
    query(txn, "ins", 3, (const char *[]){"not a number", "0", NULL});
    commit(txn, on_sqlstate_reply, "22P02");

    /* A Bind with the wrong parameter count is a protocol error the
     * connection survives. */
    txn = begin(pool);
    query(txn, "ins", 1, (const char *[]){"1"});
    commit(txn, on_sqlstate_reply, "08P01");
}

static void scenario_error(void) {
    /* {key, rows expected}: the statements around the duplicate rolled
     * back, the refused transaction sent nothing, the neighbours kept. */
    static const char *const expected[][2] = {{"a1", "0"}, {"c1", "0"},  {"never", "0"},
                                              {"g0", "1"}, {"g39", "1"}, {"dup", "1"}};
    create_tables();
    /* One connection puts every transaction in the same pipeline, so the
     * failure has neighbours on both sides of its sync. */
    db_pool *pool = pool_open_ready(1);
    for (int n = 0; n < ERROR_GOOD_TXNS / 2; n++)
        commit_good_unique(pool, n);
    commit_error_cases(pool);
    for (int n = ERROR_GOOD_TXNS / 2; n < ERROR_GOOD_TXNS; n++)
        commit_good_unique(pool, n);
    wait_until(error_all_done, 30000, "the error scenario's transactions");

    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        commit_ucount(pool, expected[i]);
    wait_until(error_checks_done, 10000, "the row checks");

    db_pool_stats st;
    db_pool_get_stats(pool, &st);
    EXPECT(st.failed == 4 && st.committed == ERROR_GOOD_TXNS + 6 && st.ready == 1,
           "stats: committed %" PRIu64 " failed %" PRIu64, st.committed, st.failed);
    pool_shut(pool);
    EXPECT(blocking_count("SELECT count(*) FROM cf_dbx_unique") == ERROR_GOOD_TXNS + 1,
           "unique rows after closing");
    printf("error: unique violation isolated, bad statements refused\n");
}

/* ---- queue ---- */

static int queue_ok;
static int queue_too_many;

static void on_queue_reply(const db_reply *r, void *arg) {
    (void)arg;
    expect_async();
    if (r->status == DB_E_TOO_MANY) {
        queue_too_many++;
        return;
    }
    expect_status(r, DB_OK, "a queued transaction");
    queue_ok++;
}

static int queue_total;

static bool queue_all_done(void) {
    return queue_ok + queue_too_many == queue_total;
}

static void commit_one(db_pool *pool) {
    db_txn *txn = begin(pool);
    query(txn, "one", 0, NULL);
    commit(txn, on_queue_reply, NULL);
}

/* Fills every connection's pipeline and the whole queue, then overflows it
 * by QUEUE_EXTRA; the loop does not run meanwhile, so nothing drains. */
static void scenario_queue(void) {
    db_pool *pool = pool_open_ready(2);
    db_pool_stats st;
    int sent = 0;
    do {
        commit_one(pool);
        sent++;
        db_pool_get_stats(pool, &st);
    } while (st.queued == 0);
    int sendable = sent - 1;
    queue_total = sendable + DB_MAX_QUEUED + QUEUE_EXTRA;
    while (sent < queue_total) {
        commit_one(pool);
        sent++;
    }
    db_pool_get_stats(pool, &st);
    EXPECT(st.queued == DB_MAX_QUEUED && st.in_flight == sendable,
           "%d queued and %d in flight, want %d and %d", st.queued, st.in_flight, DB_MAX_QUEUED,
           sendable);
    wait_until(queue_all_done, 120000, "every queued transaction");
    EXPECT(queue_too_many == QUEUE_EXTRA, "%d answered DB_E_TOO_MANY, want %d", queue_too_many,
           QUEUE_EXTRA);
    pool_shut(pool);
    printf("queue: %d in flight, %d queued, %d refused\n", sendable, DB_MAX_QUEUED, QUEUE_EXTRA);
}

/* ---- slow transactions ---- */

#define SLOW_FAST_COUNT 10

static int slow_fast_replies;
static bool slow_replied;

static void on_slow_reply(const db_reply *r, void *arg) {
    (void)arg;
    expect_async();
    expect_status(r, DB_OK, "the slow transaction");
    slow_replied = true;
}

static void on_fast_reply(const db_reply *r, void *arg) {
    (void)arg;
    expect_async();
    expect_status(r, DB_OK, "a quick transaction");
    EXPECT(!slow_replied, "a quick transaction waited behind the slow one");
    slow_fast_replies++;
}

static bool slow_all_done(void) {
    return slow_replied && slow_fast_replies == SLOW_FAST_COUNT;
}

/* A transaction marked slow (a 2 s sleep) keeps its connection; the quick
 * ones committed after it, in one burst, all go to the other connection
 * and are answered before it ends. */
static void scenario_slow(void) {
    db_pool *pool = pool_open_ready(2);
    db_txn *txn = begin(pool);
    query(txn, "sleep", 1, (const char *[]){"2"});
    db_txn_mark_slow(txn);
    commit(txn, on_slow_reply, NULL);
    for (int i = 0; i < SLOW_FAST_COUNT; i++) {
        txn = begin(pool);
        query(txn, "one", 0, NULL);
        commit(txn, on_fast_reply, NULL);
    }
    wait_until(slow_all_done, 30000, "the slow and the quick transactions");
    pool_shut(pool);
    printf("slow: %d quick transactions answered before the slow one\n", SLOW_FAST_COUNT);
}

/* ---- catalog ---- */

static int catalog_replies;

static void on_catalog_reply(const db_reply *r, void *arg) {
    (void)arg;
    expect_async();
    expect_status(r, DB_E_UNAVAILABLE, "a pool whose catalog does not prepare");
    catalog_replies++;
}

static uint64_t catalog_deadline;

static bool catalog_settled(void) {
    return uv_now(&g.loop) >= catalog_deadline;
}

static bool catalog_replied(void) {
    return catalog_replies == 1;
}

/* A bad statement in the catalog is a start-up bug: the tool checks the
 * pool stays unavailable; the script checks the log names the statement. */
static void scenario_catalog(void) {
    db_pool *pool = db_pool_create(&g.loop, g.conninfo, 2);
    EXPECT(pool != NULL, "db_pool_create returned NULL");
    EXPECT(db_pool_prepare(pool, "fine", "SELECT 1") == 0, "prepare fine");
    EXPECT(db_pool_prepare(pool, "cf_broken", "SELEC 1") == 0, "prepare cf_broken");
    db_pool_start(pool);
    catalog_deadline = uv_now(&g.loop) + 1500;
    wait_until(catalog_settled, 5000, "the connections to settle");
    db_pool_stats st;
    db_pool_get_stats(pool, &st);
    EXPECT(!db_pool_available(pool) && st.ready == 0, "%d connections ready with a bad catalog",
           st.ready);
    db_txn *txn = begin(pool);
    query(txn, "fine", 0, NULL);
    commit(txn, on_catalog_reply, NULL);
    wait_until(catalog_replied, 5000, "the reply");
    pool_shut(pool);
    printf("catalog: a bad statement keeps the pool unavailable\n");
}

/* ---- unavailable ---- */

static struct {
    db_pool *pool;
    uv_timer_t retry;
    uint64_t sent_ns;
    uint64_t end_ms;
    int replies;
    bool finished;
} unavail;

static void unavailable_send(void);

static void on_unavailable_retry(uv_timer_t *timer) {
    (void)timer;
    unavailable_send();
}

static void on_unavailable_reply(const db_reply *r, void *arg) {
    (void)arg;
    expect_async();
    uint64_t waited_ms = (uv_hrtime() - unavail.sent_ns) / 1000000;
    expect_status(r, DB_E_UNAVAILABLE, "a commit without a server");
    EXPECT(r->retry_after_ms > 0 && r->retry_after_ms <= 5000, "retry_after_ms %" PRIu32,
           r->retry_after_ms);
    EXPECT(waited_ms < 100, "the failure took %" PRIu64 " ms", waited_ms);
    EXPECT(r->failed_statement == -1 && r->nresults == 0, "failure carries a statement or results");
    unavail.replies++;
    if (uv_now(&g.loop) >= unavail.end_ms) {
        unavail.finished = true;
        return;
    }
    uv_timer_start(&unavail.retry, on_unavailable_retry, r->retry_after_ms, 0);
}

static void unavailable_send(void) {
    db_txn *txn = begin(unavail.pool);
    query(txn, "one", 0, NULL);
    unavail.sent_ns = uv_hrtime();
    commit(txn, on_unavailable_reply, NULL);
}

static bool unavailable_finished(void) {
    return unavail.finished;
}

static void scenario_unavailable(void) {
    unavail.pool = pool_open(g.conninfo, 2);
    uv_timer_init(&g.loop, &unavail.retry);
    unavail.end_ms = uv_now(&g.loop) + UNAVAILABLE_RUNMS;
    unavailable_send();
    wait_until(unavailable_finished, UNAVAILABLE_RUNMS + 10000, "the retries to end");
    db_pool_stats st;
    db_pool_get_stats(unavail.pool, &st);
    /* Two connections retrying after 100, 200, 400 and 800 ms make about
     * eight attempts in two seconds; at least four shows the backoff runs
     * and does not stop. */
    EXPECT(st.reconnects >= 4 && st.ready == 0 && !db_pool_available(unavail.pool),
           "stats: reconnects %" PRIu64 " ready %d", st.reconnects, st.ready);
    EXPECT(st.failed == (uint64_t)unavail.replies && st.committed == 0, "stats: failed %" PRIu64,
           st.failed);
    uv_close((uv_handle_t *)&unavail.retry, NULL);
    pool_shut(unavail.pool);
    printf("unavailable: %d commits failed fast, %" PRIu64 " reconnect attempts\n", unavail.replies,
           st.reconnects);
}

/* ---- broken ---- */

static struct {
    db_pool *victim;
    db_pool *killer;
    uv_timer_t again;
    int calls[BROKEN_TXNS];
    int failed;
    int terminated;
    bool recovered;
} bk;

static void on_broken_reply(const db_reply *r, void *arg) {
    int n = (int)(intptr_t)arg;
    expect_async();
    bk.calls[n]++;
    expect_status(r, DB_E_UNAVAILABLE, "a transaction on a killed connection");
    EXPECT(r->retry_after_ms > 0 && r->failed_statement == -1 && r->nresults == 0,
           "retry_after_ms %" PRIu32 ", failed_statement %d", r->retry_after_ms,
           r->failed_statement);
    bk.failed++;
}

static void broken_terminate(void);

static void on_terminate_again(uv_timer_t *timer) {
    (void)timer;
    broken_terminate();
}

/* The sleeping statement may not have reached the server yet: try again
 * until it has been terminated. */
static void on_terminate_reply(const db_reply *r, void *arg) {
    (void)arg;
    expect_async();
    expect_status(r, DB_OK, "pg_terminate_backend");
    bk.terminated += (int)db_int64(r->results[0], 0, 0);
    if (bk.terminated == 0)
        uv_timer_start(&bk.again, on_terminate_again, 20, 0);
}

static void broken_terminate(void) {
    db_txn *txn = begin(bk.killer);
    query(txn, "terminate", 0, NULL);
    commit(txn, on_terminate_reply, NULL);
}

static void on_recovered_reply(const db_reply *r, void *arg) {
    (void)arg;
    expect_async();
    expect_status(r, DB_OK, "the first transaction after the reconnect");
    bk.recovered = true;
}

static bool broken_all_failed(void) {
    return bk.failed == BROKEN_TXNS;
}

static bool broken_recovered(void) {
    return bk.recovered;
}

/* A backend killed under a pipeline: every transaction in flight on it
 * fails with DB_E_UNAVAILABLE (nobody can know whether it committed), and
 * the connection comes back by itself. */
static void scenario_broken(void) {
    bk.killer = pool_open_ready(1);
    bk.victim = pool_open_ready(1);
    uv_timer_init(&g.loop, &bk.again);
    db_txn *txn = begin(bk.victim);
    query(txn, "sleep", 1, (const char *[]){"60"});
    commit(txn, on_broken_reply, (void *)(intptr_t)0);
    for (int n = 1; n < BROKEN_TXNS; n++) {
        txn = begin(bk.victim);
        query(txn, "one", 0, NULL);
        commit(txn, on_broken_reply, (void *)(intptr_t)n);
    }
    broken_terminate();
    wait_until(broken_all_failed, 20000, "the killed connection's transactions");
    for (int n = 0; n < BROKEN_TXNS; n++)
        EXPECT(bk.calls[n] == 1, "transaction %d answered %d times", n, bk.calls[n]);
    EXPECT(bk.terminated == 1, "%d backends terminated", bk.terminated);

    ready_pool = bk.victim;
    wait_until(all_ready, 10000, "the killed connection to come back");
    txn = begin(bk.victim);
    query(txn, "one", 0, NULL);
    commit(txn, on_recovered_reply, NULL);
    wait_until(broken_recovered, 10000, "a transaction after the reconnect");
    db_pool_stats st;
    db_pool_get_stats(bk.victim, &st);
    EXPECT(st.reconnects >= 1 && st.failed == BROKEN_TXNS && st.committed == 1,
           "stats: reconnects %" PRIu64 " failed %" PRIu64 " committed %" PRIu64, st.reconnects,
           st.failed, st.committed);
    uv_close((uv_handle_t *)&bk.again, NULL);
    pool_shut(bk.victim);
    pool_shut(bk.killer);
    printf("broken: %d in-flight transactions failed as unavailable, then recovered\n",
           BROKEN_TXNS);
}

/* ---- restart ---- */

static struct {
    db_pool *pool;
    uv_signal_t restarted_signal;
    uv_timer_t retry[RESTART_PARALLEL];
    bool busy[RESTART_PARALLEL];
    bool restarted;
    bool stopping;
    bool announced;
    int outstanding;
    int ok_before;
    int ok_after;
    int unavailable;
} rs;

static void restart_send(int slot);

static void on_restart_retry(uv_timer_t *timer) {
    restart_send((int)(intptr_t)timer->data);
}

static void on_restart_reply(const db_reply *r, void *arg) {
    int slot = (int)(intptr_t)arg;
    expect_async();
    EXPECT(rs.busy[slot], "slot %d answered twice", slot);
    rs.busy[slot] = false;
    rs.outstanding--;
    if (r->status == DB_OK) {
        if (rs.restarted)
            rs.ok_after++;
        else
            rs.ok_before++;
    } else {
        expect_status(r, DB_E_UNAVAILABLE, "a transaction across the restart");
        EXPECT(r->retry_after_ms > 0, "DB_E_UNAVAILABLE without a retry hint");
        rs.unavailable++;
    }
    if (!rs.announced && rs.ok_before >= RESTART_WANT_OK) {
        rs.announced = true;
        printf("READY\n");
        fflush(stdout);
    }
    if (rs.stopping)
        return;
    uint64_t delay = r->status == DB_OK ? 0 : r->retry_after_ms;
    uv_timer_start(&rs.retry[slot], on_restart_retry, delay, 0);
}

static void restart_send(int slot) {
    char tag[16];
    snprintf(tag, sizeof tag, "%d", slot);
    db_txn *txn = begin(rs.pool);
    query(txn, "ins", 3, (const char *[]){tag, "0", NULL});
    query(txn, "count", 0, NULL);
    rs.outstanding++;
    rs.busy[slot] = true;
    commit(txn, on_restart_reply, (void *)(intptr_t)slot);
}

static void on_restarted(uv_signal_t *handle, int signum) {
    (void)handle;
    (void)signum;
    rs.restarted = true;
}

static bool restart_recovered(void) {
    return rs.ok_after >= RESTART_WANT_OK;
}

static bool restart_quiet(void) {
    return rs.outstanding == 0;
}

/* The script restarts PostgreSQL after READY and then sends SIGUSR1; the
 * pool must come back on its own and fail nothing but DB_E_UNAVAILABLE. */
static void scenario_restart(void) {
    create_tables();
    rs.pool = pool_open_ready(4);
    uv_signal_init(&g.loop, &rs.restarted_signal);
    uv_signal_start(&rs.restarted_signal, on_restarted, SIGUSR1);
    for (int slot = 0; slot < RESTART_PARALLEL; slot++) {
        uv_timer_init(&g.loop, &rs.retry[slot]);
        rs.retry[slot].data = (void *)(intptr_t)slot;
        restart_send(slot);
    }
    wait_until(restart_recovered, 180000, "SIGUSR1 and transactions after the restart");
    rs.stopping = true;
    for (int slot = 0; slot < RESTART_PARALLEL; slot++)
        uv_close((uv_handle_t *)&rs.retry[slot], NULL);
    uv_close((uv_handle_t *)&rs.restarted_signal, NULL);
    wait_until(restart_quiet, 30000, "the last transactions");
    db_pool_stats st;
    db_pool_get_stats(rs.pool, &st);
    EXPECT(st.reconnects > 0, "no reconnects: the restart did not reach the pool");
    EXPECT(st.failed == (uint64_t)rs.unavailable, "stats: failed %" PRIu64 ", counted %d",
           st.failed, rs.unavailable);
    pool_shut(rs.pool);
    printf("restart: %d ok before, %d ok after, %d unavailable, %" PRIu64 " reconnects\n",
           rs.ok_before, rs.ok_after, rs.unavailable, st.reconnects);
}

/* ---- close ---- */

static struct {
    db_pool *pool;
    int calls[CLOSE_TXNS + 2];
    int ok;
    int shutdown;
    int unavailable;
    int answered;
    int answered_at_close;
    bool close_from_callback;
} cl;

static void on_close_phase_closed(void *arg) {
    int *calls = arg;
    EXPECT(cl.answered_at_close < 0, "on_closed called twice");
    cl.answered_at_close = cl.answered;
    (*calls)++;
}

static void on_close_reply(const db_reply *r, void *arg) {
    int n = (int)(intptr_t)arg;
    expect_async();
    EXPECT(closed_calls == 0, "a reply after on_closed");
    cl.calls[n]++;
    cl.answered++;
    if (r->status == DB_OK)
        cl.ok++;
    else if (r->status == DB_E_SHUTDOWN)
        cl.shutdown++;
    else if (r->status == DB_E_UNAVAILABLE)
        cl.unavailable++;
    else
        expect_status(r, DB_OK, "a transaction around db_pool_close");
    if (cl.close_from_callback) {
        cl.close_from_callback = false;
        db_pool_close(cl.pool, on_close_phase_closed, &closed_calls);
        db_txn *txn = begin(cl.pool);
        query(txn, "one", 0, NULL);
        commit(txn, on_close_reply, (void *)(intptr_t)(CLOSE_TXNS + 1));
    }
}

static void close_reset(db_pool *pool) {
    memset(cl.calls, 0, sizeof cl.calls);
    cl.pool = pool;
    cl.ok = cl.shutdown = cl.unavailable = cl.answered = 0;
    cl.answered_at_close = -1;
    closed_calls = 0;
}

static void close_expect_each_once(int total, const char *phase) {
    wait_until(pool_is_closed, 30000, "on_closed");
    EXPECT(closed_calls == 1, "%s: on_closed called %d times", phase, closed_calls);
    EXPECT(cl.answered_at_close == total, "%s: %d of %d answered before on_closed", phase,
           cl.answered_at_close, total);
    for (int n = 0; n < CLOSE_TXNS + 2; n++)
        EXPECT(cl.calls[n] <= 1, "%s: transaction %d answered %d times", phase, n, cl.calls[n]);
}

/* Closing with transactions in flight and queued: all of them commit, and
 * so does one committed after the close while a connection is up (a
 * drain's last lease releases come that way). */
static void close_with_work(void) {
    close_reset(pool_open_ready(2));
    for (int n = 0; n < CLOSE_TXNS; n++) {
        db_txn *txn = three_inserts(cl.pool, 100000 + n);
        if (n % 10 == 0)
            query(txn, "sleep", 1, (const char *[]){"0.05"});
        commit(txn, on_close_reply, (void *)(intptr_t)n);
    }
    db_pool_stats st;
    db_pool_get_stats(cl.pool, &st);
    EXPECT(st.in_flight > 0 && st.queued > 0, "nothing queued: %d in flight", st.in_flight);
    db_pool_close(cl.pool, on_close_phase_closed, &closed_calls);
    db_txn *late = begin(cl.pool);
    query(late, "one", 0, NULL);
    commit(late, on_close_reply, (void *)(intptr_t)CLOSE_TXNS);
    EXPECT(!db_pool_available(cl.pool), "a closing pool says it is available");
    close_expect_each_once(CLOSE_TXNS + 1, "in flight");
    EXPECT(cl.ok == st.in_flight + st.queued + 1 && cl.shutdown == 0 && cl.unavailable == 0,
           "%d ok (want %d), %d shutdown (want 0), %d unavailable", cl.ok,
           st.in_flight + st.queued + 1, cl.shutdown, cl.unavailable);
    EXPECT(blocking_count("SELECT count(*) FROM cf_dbx_rows WHERE txn >= 100000") == 3 * CLOSE_TXNS,
           "rows of the committed transactions");
}

/* db_pool_close from inside a reply callback, with more in flight, and a
 * commit right after it: everything is answered, once, before on_closed. */
static void close_from_callback(void) {
    close_reset(pool_open_ready(1));
    cl.close_from_callback = true;
    for (int n = 0; n < 20; n++) {
        db_txn *txn = begin(cl.pool);
        query(txn, "sleep", 1, (const char *[]){"0.01"});
        commit(txn, on_close_reply, (void *)(intptr_t)n);
    }
    close_expect_each_once(21, "from a callback");
    EXPECT(cl.ok == 21 && cl.shutdown == 0, "%d ok, %d shutdown", cl.ok, cl.shutdown);
}

/* A pool closed before it ever started still answers and frees. */
static void close_unstarted(void) {
    db_pool *pool = pool_create(g.conninfo, 3);
    close_reset(pool);
    db_txn *txn = begin(pool);
    query(txn, "one", 0, NULL);
    commit(txn, on_close_reply, (void *)(intptr_t)0);
    db_txn_abort(three_inserts(pool, 7));
    db_pool_close(pool, on_close_phase_closed, &closed_calls);
    close_expect_each_once(1, "never started");
    EXPECT(cl.unavailable == 1, "the early commit was not DB_E_UNAVAILABLE");
}

static void scenario_close(void) {
    create_tables();
    close_with_work();
    close_from_callback();
    close_unstarted();
    printf("close: every callback once, then on_closed\n");
}

/* ---- main ---- */

static const struct {
    const char *name;
    void (*run)(void);
} scenarios[] = {
    {"basic", scenario_basic},     {"error", scenario_error},
    {"queue", scenario_queue},     {"slow", scenario_slow},
    {"catalog", scenario_catalog}, {"unavailable", scenario_unavailable},
    {"broken", scenario_broken},   {"restart", scenario_restart},
    {"close", scenario_close},
};

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: db_exercise CONNINFO SCENARIO\n");
        return 2;
    }
    g.conninfo = argv[1];
    g.scenario = argv[2];
    log_init(LOG_LEVEL_INFO);
    uv_loop_init(&g.loop);
    uv_timer_init(&g.loop, &g.tick);
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
        if (strcmp(scenarios[i].name, g.scenario) != 0)
            continue;
        scenarios[i].run();
        uv_close((uv_handle_t *)&g.tick, NULL);
        uv_run(&g.loop, UV_RUN_DEFAULT);
        EXPECT(uv_loop_close(&g.loop) == 0, "handles left open on the loop");
        return 0;
    }
    fprintf(stderr, "db_exercise: unknown scenario \"%s\"\n", g.scenario);
    return 2;
}
