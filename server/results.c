#include "results.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "listener.h"
#include "log.h"
#include "score.h"

#define MAX_COLUMNS         7 /* the file line and the row's text fields */
#define ANSWER_EVENT_COLUMN 3 /* where cf_import_answer's score event starts */

static const char *const statements[][2] = {
    {"results_apply", "SELECT * FROM cf_apply_results($1::int[], $2::text[], $3::text[],"
                      " $4::text[], $5)"},
    {"results_csat", "SELECT * FROM cf_import_csat($1::int[], $2::text[], $3::text[],"
                     " $4::text[], $5::text[], $6::text[], $7::text[], $8)"},
};

int results_prepare_statements(db_pool *pool) {
    return db_pool_prepare_all(pool, statements, sizeof statements / sizeof statements[0]);
}

/* A batch laid out as columns: cells[c][i] is field c of row i, field 0
 * the row's file line. */
typedef struct columns {
    size_t n, ncols;
    char lines[RESULTS_IMPORT_BATCH_MAX][12];
    char *cells[MAX_COLUMNS][RESULTS_IMPORT_BATCH_MAX];
} columns;

/* The answer to a batch: counts and the rejected lines. */
typedef struct tally {
    uint32_t applied, unchanged;
    size_t nrejected;
    Callfloor__RowRejected *rejected;
    Callfloor__RowRejected **ptrs;
} tally;

static bool tally_answers(tally *t, const PGresult *res) {
    size_t n = (size_t)PQntuples(res);
    t->rejected = calloc(n + 1, sizeof *t->rejected);
    t->ptrs = calloc(n + 1, sizeof *t->ptrs);
    if (t->rejected == NULL || t->ptrs == NULL)
        return false;
    for (int r = 0; r < (int)n; r++) {
        const char *outcome = db_value(res, r, 1);
        if (strcmp(outcome, "applied") == 0) {
            t->applied++;
        } else if (strcmp(outcome, "unchanged") == 0) {
            t->unchanged++;
        } else {
            Callfloor__RowRejected *x = &t->rejected[t->nrejected];
            callfloor__row_rejected__init(x);
            x->line = (uint32_t)db_int64(res, r, 0);
            x->reason = (char *)db_value(res, r, 2);
            t->ptrs[t->nrejected++] = x;
        }
    }
    return true;
}

static void tally_free(tally *t) {
    free(t->rejected);
    free(t->ptrs);
}

/* A batch of `n` rows laid out as `ncols` columns, or NULL after
 * answering the request (a wrong size, out of memory). */
static columns *new_columns(request *req, size_t n, size_t ncols) {
    if (n == 0 || n > RESULTS_IMPORT_BATCH_MAX) {
        request_fail(req, CALLFLOOR__ERROR_CODE__INVALID_ARGUMENT, 0,
                     "an import batch has 1 to %d rows", RESULTS_IMPORT_BATCH_MAX);
        return NULL;
    }
    columns *cols = calloc(1, sizeof *cols);
    if (cols == NULL) {
        request_fail(req, CALLFLOOR__ERROR_CODE__INTERNAL, 0, "the server is out of memory");
        return NULL;
    }
    cols->n = n;
    cols->ncols = ncols;
    return cols;
}

/* The answer's rows counted and sent back, and their score events added
 * to the board. */
static void on_imported(const db_reply *reply, void *arg) {
    request *req = arg;
    bool results = req->msg->body_case == CALLFLOOR__ENVELOPE__BODY_RESULTS_IMPORT;
    const char *what = results ? "bank results" : "satisfaction surveys";
    tally t = {0};
    if (reply->status != DB_OK) {
        request_fail_db(req, reply, what);
        return;
    }
    if (!tally_answers(&t, reply->results[0])) {
        tally_free(&t);
        request_fail(req, CALLFLOOR__ERROR_CODE__INTERNAL, 0, "the server is out of memory");
        return;
    }
    score_apply_events(req->srv, reply->results[0], ANSWER_EVENT_COLUMN);
    log_info("conn %s: %s imported %s: %u applied, %u unchanged, %zu rejected",
             conn_name(req->conn), req->username, what, t.applied, t.unchanged, t.nrejected);
    Callfloor__RowsImportReply r = CALLFLOOR__ROWS_IMPORT_REPLY__INIT;
    r.applied = t.applied;
    r.unchanged = t.unchanged;
    r.n_rejected = t.nrejected;
    r.rejected = t.ptrs;
    envelope out = CALLFLOOR__ENVELOPE__INIT;
    if (results) {
        out.body_case = CALLFLOOR__ENVELOPE__BODY_RESULTS_IMPORT_REPLY;
        out.results_import_reply = &r;
    } else {
        out.body_case = CALLFLOOR__ENVELOPE__BODY_CSAT_IMPORT_REPLY;
        out.csat_import_reply = &r;
    }
    request_reply(req, &out);
    tally_free(&t);
}

/* Runs `statement` over the batch's columns and the business time zone. */
static void run_batch(request *req, const char *statement, const columns *cols) {
    char *arrays[MAX_COLUMNS + 1] = {0};
    const char *params[MAX_COLUMNS + 1];
    char *lines[RESULTS_IMPORT_BATCH_MAX];
    bool ok = true;
    for (size_t i = 0; i < cols->n; i++)
        lines[i] = (char *)cols->lines[i];
    for (size_t c = 0; c < cols->ncols && ok; c++) {
        char *const *cells = c == 0 ? lines : cols->cells[c];
        size_t cap = 3;
        for (size_t i = 0; i < cols->n; i++)
            cap += 2 * strlen(cells[i]) + 3;
        arrays[c] = malloc(cap);
        ok = arrays[c] != NULL && db_text_array(arrays[c], cap, cells, cols->n);
        params[c] = arrays[c];
    }
    params[cols->ncols] = req->srv->cfg.board_time_zone;
    if (!ok)
        request_fail(req, CALLFLOOR__ERROR_CODE__INTERNAL, 0, "the server is out of memory");
    else
        request_query(req, statement, (int)cols->ncols + 1, params, on_imported, req);
    for (size_t c = 0; c < cols->ncols; c++)
        free(arrays[c]);
}

void results_on_import(request *req) {
    const Callfloor__ResultsImport *imp = req->msg->results_import;
    columns *cols = new_columns(req, imp->n_rows, 4);
    for (size_t i = 0; cols != NULL && i < imp->n_rows; i++) {
        const Callfloor__ResultRow *row = imp->rows[i];
        snprintf(cols->lines[i], sizeof cols->lines[i], "%u", row->line);
        cols->cells[1][i] = row->application;
        cols->cells[2][i] = row->result;
        cols->cells[3][i] = row->date;
    }
    if (cols != NULL)
        run_batch(req, "results_apply", cols);
    free(cols);
}

void results_on_csat_import(request *req) {
    const Callfloor__CsatImport *imp = req->msg->csat_import;
    columns *cols = new_columns(req, imp->n_rows, 7);
    for (size_t i = 0; cols != NULL && i < imp->n_rows; i++) {
        const Callfloor__CsatRow *row = imp->rows[i];
        snprintf(cols->lines[i], sizeof cols->lines[i], "%u", row->line);
        cols->cells[1][i] = row->customer;
        cols->cells[2][i] = row->call;
        cols->cells[3][i] = row->agent;
        cols->cells[4][i] = row->score;
        cols->cells[5][i] = row->comment;
        cols->cells[6][i] = row->date;
    }
    if (cols != NULL)
        run_batch(req, "results_csat", cols);
    free(cols);
}
