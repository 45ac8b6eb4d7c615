#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "label.h"
#include "listener.h"
#include "log.h"

#define CAMPAIGN_MAX_BYTES 64
#define MAX_COLUMNS        64 /* ReportRow.nulls has a bit per column */
/* A report holds one of the pool's few connections for seconds: at most
 * this many run at once, and each stops after REPORT_LIMIT, so that
 * offers, outcomes and logins always find a connection. */
#define REPORTS_AT_ONCE      2
#define REPORT_LIMIT         "120s"
#define REPORT_BUSY_RETRY_MS 5000

/* Reports being computed; one daemon per process. */
static unsigned reports_running;

/* The parameters a report's statement takes, in order. */
enum { P_FROM, P_TO, P_BY, P_CAMPAIGN, P_ZONE, P_TEAM, P_AFTER, P_LIMIT, P_COUNT };

typedef struct report_kind {
    const char *name;
    const char *statement;
    const char *const *by; /* the groupings it allows, the default first; NULL: none */
    unsigned params;       /* bit p: takes parameter p */
    bool paged;
} report_kind;

static const char *const kpi_by[] = {"agent", "team",    "campaign", "product",
                                     "hour",  "weekday", NULL};
static const char *const trend_by[] = {"day", "week", "month", NULL};

#define BIT(p) (1u << (p))

static const report_kind kinds[] = {
    {"kpi", "report_kpi", kpi_by,
     BIT(P_FROM) | BIT(P_TO) | BIT(P_BY) | BIT(P_CAMPAIGN) | BIT(P_ZONE) | BIT(P_TEAM), false},
    {"slots", "report_slots", NULL,
     BIT(P_FROM) | BIT(P_TO) | BIT(P_CAMPAIGN) | BIT(P_ZONE) | BIT(P_TEAM), false},
    {"trend", "report_trend", trend_by,
     BIT(P_FROM) | BIT(P_TO) | BIT(P_BY) | BIT(P_CAMPAIGN) | BIT(P_ZONE) | BIT(P_TEAM), false},
    {"calls", "report_calls", NULL,
     BIT(P_FROM) | BIT(P_TO) | BIT(P_CAMPAIGN) | BIT(P_ZONE) | BIT(P_TEAM) | BIT(P_AFTER) |
         BIT(P_LIMIT),
     true},
};

static const char *const statements[][2] = {
    /* The team whose figures the user may see (NULL: every team). */
    {"report_team", "SELECT cf_report_team($1::bigint)"},
    /* For the report's transaction: a time limit; no JIT, whose compiling
     * costs seconds, more than it saves; memory enough to join and group a
     * month of calls without spilling to disk; and a plan made for this
     * report's own parameters, never a generic one that would not know
     * whether it covers one team or all. Set here, not on the SQL
     * functions, which would then be neither inlined nor run in parallel. */
    {"report_limit", "SELECT set_config('statement_timeout', $1, true),"
                     " set_config('jit', 'off', true), set_config('work_mem', '128MB', true),"
                     " set_config('plan_cache_mode', 'force_custom_plan', true)"},
    {"report_kpi", "SELECT * FROM cf_report_kpi($1::date, $2::date, $3, $4, $5, $6::bigint)"},
    {"report_slots", "SELECT * FROM cf_report_slots($1::date, $2::date, $3, $4, $5::bigint)"},
    {"report_trend", "SELECT * FROM cf_report_trend($1::date, $2::date, $3, $4, $5, $6::bigint)"},
    {"report_calls", "SELECT * FROM cf_report_calls_export($1::date, $2::date, $3, $4, $5::bigint,"
                     " $6::bigint, $7::int)"},
};

int report_prepare_statements(db_pool *pool) {
    return db_pool_prepare_all(pool, statements, sizeof statements / sizeof statements[0]);
}

/* ---- checking the request ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil). */
static long days_from_civil(long y, unsigned m, unsigned d) {
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long)doe - 719468;
}

bool report_parse_date(const char *s, long *days) {
    static const unsigned month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned y, m, d;
    char end;
    for (int i = 0; i < 10; i++)
        if (s[i] == '\0' || (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')))
            return false;
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
        sscanf(s, "%4u-%2u-%2u%c", &y, &m, &d, &end) != 3 || y < 2000 || y > 2999 || m < 1 ||
        m > 12 || d < 1 || d > month_days[m - 1])
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m == 2 && d == 29 && !leap)
        return false;
    *days = days_from_civil((long)y, m, d);
    return true;
}

static const report_kind *find_kind(const char *name) {
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kinds[i].name, name) == 0)
            return &kinds[i];
    return NULL;
}

/* The grouping asked for, or the report's default; NULL if it has none of
 * that name. */
static const char *grouping(const report_kind *k, const char *by) {
    if (k->by == NULL)
        return *by == '\0' ? "" : NULL;
    if (*by == '\0')
        return k->by[0];
    for (size_t i = 0; k->by[i] != NULL; i++)
        if (strcmp(k->by[i], by) == 0)
            return k->by[i];
    return NULL;
}

/* Why the request cannot be answered, written to `why`; false if it can. */
static bool refuse(const Callfloor__ReportRequest *r, const report_kind *k, char *why, size_t cap) {
    long from, to;
    if (k == NULL)
        snprintf(why, cap, "there is no report '%s': kpi, slots, trend or calls", r->report);
    else if (!report_parse_date(r->from, &from) || !report_parse_date(r->to, &to))
        snprintf(why, cap, "from and to are dates like 2026-12-01");
    else if (to < from || to - from >= REPORT_MAX_DAYS)
        snprintf(why, cap, "a report covers 1 to %d days, from its first to its last",
                 REPORT_MAX_DAYS);
    else if (grouping(k, r->by) == NULL)
        snprintf(why, cap, "the %s report cannot be grouped by '%s'", k->name, r->by);
    else if (*r->campaign && !label_valid(r->campaign, CAMPAIGN_MAX_BYTES))
        snprintf(why, cap, "the campaign name is not valid");
    else
        return false;
    return true;
}

/* ---- answering ---- */

static const char *column_kind(Oid type) {
    switch (type) {
    case 16:
        return "boolean";
    case 20:
    case 21:
    case 23:
        return "integer";
    case 1700:
        return "decimal";
    case 1082:
        return "date";
    default:
        return "text";
    }
}

typedef struct table {
    Callfloor__ReportColumn columns[MAX_COLUMNS], *column_ptrs[MAX_COLUMNS];
    Callfloor__ReportRow *rows, **row_ptrs;
    char **cells;
} table;

static void table_free(table *t) {
    free(t->rows);
    free(t->row_ptrs);
    free(t->cells);
}

/* Lays the result out as a ReportReply's columns and rows; false on
 * out-of-memory. The cells point into `res`. */
static bool build_table(table *t, const PGresult *res, Callfloor__ReportReply *out) {
    int ncols = PQnfields(res), nrows = PQntuples(res);
    if (ncols > MAX_COLUMNS)
        return false;
    t->rows = calloc((size_t)nrows + 1, sizeof *t->rows);
    t->row_ptrs = calloc((size_t)nrows + 1, sizeof *t->row_ptrs);
    t->cells = calloc((size_t)nrows * (size_t)ncols + 1, sizeof *t->cells);
    if (t->rows == NULL || t->row_ptrs == NULL || t->cells == NULL)
        return false;
    for (int c = 0; c < ncols; c++) {
        callfloor__report_column__init(&t->columns[c]);
        t->columns[c].name = PQfname(res, c);
        t->columns[c].kind = (char *)column_kind(PQftype(res, c));
        t->column_ptrs[c] = &t->columns[c];
    }
    for (int r = 0; r < nrows; r++) {
        Callfloor__ReportRow *row = &t->rows[r];
        callfloor__report_row__init(row);
        row->cells = &t->cells[(size_t)r * (size_t)ncols];
        row->n_cells = (size_t)ncols;
        for (int c = 0; c < ncols; c++) {
            row->cells[c] = PQgetvalue(res, r, c);
            if (PQgetisnull(res, r, c))
                row->nulls |= 1ull << c;
        }
        t->row_ptrs[r] = row;
    }
    out->n_columns = (size_t)ncols;
    out->columns = t->column_ptrs;
    out->n_rows = (size_t)nrows;
    out->rows = t->row_ptrs;
    return true;
}

static void on_report(const db_reply *reply, void *arg) {
    request *req = arg;
    const Callfloor__ReportRequest *r = req->msg->report_request;
    reports_running--;
    if (reply->status == DB_E_QUERY && strcmp(reply->sqlstate, "57014") == 0) {
        request_fail(req, CALLFLOOR__ERROR_CODE__UNAVAILABLE, 0,
                     "the report took longer than %s and was stopped; ask for a shorter period "
                     "or one campaign",
                     REPORT_LIMIT);
        return;
    }
    if (reply->status != DB_OK) {
        request_fail_db(req, reply, "computing a report");
        return;
    }
    const PGresult *res = reply->results[1];
    Callfloor__ReportReply answer = CALLFLOOR__REPORT_REPLY__INIT;
    table t = {0};
    if (!build_table(&t, res, &answer)) {
        table_free(&t);
        request_fail(req, CALLFLOOR__ERROR_CODE__INTERNAL, 0, "the server is out of memory");
        return;
    }
    int n = PQntuples(res);
    if (find_kind(r->report)->paged && n == REPORT_PAGE_ROWS)
        answer.next_after = (uint64_t)db_int64(res, n - 1, 0);
    envelope out = CALLFLOOR__ENVELOPE__INIT;
    out.body_case = CALLFLOOR__ENVELOPE__BODY_REPORT_REPLY;
    out.report_reply = &answer;
    request_reply(req, &out);
    table_free(&t);
}

/* Runs the report of `req` over team `team` (NULL: every team). */
static void run_report(request *req, const char *team) {
    const Callfloor__ReportRequest *r = req->msg->report_request;
    const report_kind *k = find_kind(r->report);
    char after[24], limit[16];
    snprintf(after, sizeof after, "%llu", (unsigned long long)r->after);
    snprintf(limit, sizeof limit, "%d", REPORT_PAGE_ROWS);
    const char *all[P_COUNT] = {
        r->from, r->to, grouping(k, r->by), r->campaign, req->srv->cfg.board_time_zone, team,
        after,   limit};
    const char *params[P_COUNT];
    int n = 0;
    for (int p = 0; p < P_COUNT; p++)
        if (k->params & BIT(p))
            params[n++] = all[p];
    db_txn *txn = request_begin(req);
    if (txn == NULL) {
        reports_running--;
        return;
    }
    const char *budget[] = {REPORT_LIMIT};
    db_txn_query(txn, "report_limit", 1, budget);
    db_txn_query(txn, k->statement, n, params);
    db_txn_mark_slow(txn); /* up to REPORT_LIMIT over a month of calls */
    db_txn_commit(txn, on_report, req);
}

static void on_team(const db_reply *reply, void *arg) {
    request *req = arg;
    if (reply->status != DB_OK) {
        reports_running--;
        request_fail_db(req, reply, "finding the team a report covers");
        return;
    }
    const PGresult *res = reply->results[0];
    run_report(req, PQgetisnull(res, 0, 0) ? NULL : db_value(res, 0, 0));
}

void report_on_request(request *req) {
    const Callfloor__ReportRequest *r = req->msg->report_request;
    const report_kind *k = find_kind(r->report);
    char why[160];
    if (refuse(r, k, why, sizeof why)) {
        request_fail(req, CALLFLOOR__ERROR_CODE__INVALID_ARGUMENT, 0, "%s", why);
        return;
    }
    if (reports_running >= REPORTS_AT_ONCE) {
        request_fail(req, CALLFLOOR__ERROR_CODE__UNAVAILABLE, REPORT_BUSY_RETRY_MS,
                     "%d reports are being computed already; ask again in a few seconds",
                     REPORTS_AT_ONCE);
        return;
    }
    log_info("conn %s: %s asked for the %s report of %s to %s", conn_name(req->conn), req->username,
             k->name, r->from, r->to);
    char user[24];
    snprintf(user, sizeof user, "%llu", (unsigned long long)req->user_id);
    const char *params[] = {user};
    reports_running++;
    if (!request_query(req, "report_team", 1, params, on_team, req))
        reports_running--;
}
