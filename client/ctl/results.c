/* callfloorctl results import and csat import: the bank's decisions on
 * applications and the customers' satisfaction surveys, from CSV files
 * streamed in batches (upload.c). The server checks every row (the
 * application exists, the result follows the one before, the dates are in
 * order) and applies each whole or rejects it with its line. */
#include <stdio.h>

#include "ctl.h"
#include "i18n.h"
#include "json.h"
#include "upload.h"

enum { RES_APPLICATION, RES_RESULT, RES_DATE, RES_NCOLS };
static const char *const result_columns[RES_NCOLS] = {"application", "result", "date"};

enum { CSAT_CUSTOMER, CSAT_CALL, CSAT_AGENT, CSAT_SCORE, CSAT_COMMENT, CSAT_DATE, CSAT_NCOLS };
static const char *const csat_columns[CSAT_NCOLS] = {"customer", "call",    "agent",
                                                     "score",    "comment", "date"};

typedef struct counts {
    unsigned long long applied, unchanged;
} counts;

static void add_counts(upload *u, counts *c, uint32_t applied, uint32_t unchanged,
                       Callfloor__RowRejected *const *rejected, size_t n) {
    c->applied += applied;
    c->unchanged += unchanged;
    for (size_t k = 0; k < n; k++)
        upload_reject(u, rejected[k]->line, rejected[k]->reason);
}

/* ---- bank results ---- */

static int send_results(upload *u, void *arg) {
    Callfloor__ResultRow rows[UPLOAD_BATCH], *ptrs[UPLOAD_BATCH];
    size_t n = upload_rows(u);
    for (size_t i = 0; i < n; i++) {
        char *const *cell = upload_cells(u, i);
        callfloor__result_row__init(&rows[i]);
        rows[i].line = upload_line(u, i);
        rows[i].application = cell[RES_APPLICATION];
        rows[i].result = cell[RES_RESULT];
        rows[i].date = cell[RES_DATE];
        ptrs[i] = &rows[i];
    }
    Callfloor__ResultsImport msg = CALLFLOOR__RESULTS_IMPORT__INIT;
    msg.rows = ptrs;
    msg.n_rows = n;
    envelope req = CALLFLOOR__ENVELOPE__INIT, *reply;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_RESULTS_IMPORT;
    req.results_import = &msg;
    int rc = ctl_call(upload_ctl(u), &req, CALLFLOOR__ENVELOPE__BODY_RESULTS_IMPORT_REPLY, &reply);
    if (rc != CLI_EXIT_OK)
        return rc;
    const Callfloor__RowsImportReply *r = reply->results_import_reply;
    add_counts(u, arg, r->applied, r->unchanged, r->rejected, r->n_rejected);
    envelope_free(reply);
    return CLI_EXIT_OK;
}

/* {"applied": N, "unchanged": N, "rejected": N} under the names given. */
static void report_json(upload *u, const counts *c, const char *applied) {
    json_writer w;
    json_init(&w, &upload_ctl(u)->out);
    json_object_begin(&w);
    json_kv_uint(&w, applied, c->applied);
    json_kv_uint(&w, "unchanged", c->unchanged);
    json_kv_uint(&w, "rejected", upload_rejected(u));
    json_object_end(&w);
}

static void report_results(upload *u, void *arg, const char *path) {
    const counts *c = arg;
    ctl *x = upload_ctl(u);
    if (x->json) {
        report_json(u, c, "applied");
        return;
    }
    buf_appendf(&x->out,
                _("Imported %s: %llu results applied, %llu already known, %llu rejected.\n"), path,
                c->applied, c->unchanged, upload_rejected(u));
    upload_append_rejects(u);
}

static const upload_spec results_upload = {
    .command = "results import",
    .columns = result_columns,
    .ncolumns = RES_NCOLS,
    .required = 1ul << RES_APPLICATION | 1ul << RES_RESULT | 1ul << RES_DATE,
    .cell_max = 64,
    .send = send_results,
    .report = report_results,
};

int ctl_run_results_import(ctl *x, const ctl_args *a) {
    counts c = {0};
    return upload_run(x, &results_upload, a->name, ctl_opt(a, OPT_REJECTS), &c);
}

/* ---- satisfaction surveys ---- */

static int send_csat(upload *u, void *arg) {
    Callfloor__CsatRow rows[UPLOAD_BATCH], *ptrs[UPLOAD_BATCH];
    size_t n = upload_rows(u);
    for (size_t i = 0; i < n; i++) {
        char *const *cell = upload_cells(u, i);
        callfloor__csat_row__init(&rows[i]);
        rows[i].line = upload_line(u, i);
        rows[i].customer = cell[CSAT_CUSTOMER];
        rows[i].call = cell[CSAT_CALL];
        rows[i].agent = cell[CSAT_AGENT];
        rows[i].score = cell[CSAT_SCORE];
        rows[i].comment = cell[CSAT_COMMENT];
        rows[i].date = cell[CSAT_DATE];
        ptrs[i] = &rows[i];
    }
    Callfloor__CsatImport msg = CALLFLOOR__CSAT_IMPORT__INIT;
    msg.rows = ptrs;
    msg.n_rows = n;
    envelope req = CALLFLOOR__ENVELOPE__INIT, *reply;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_CSAT_IMPORT;
    req.csat_import = &msg;
    int rc = ctl_call(upload_ctl(u), &req, CALLFLOOR__ENVELOPE__BODY_CSAT_IMPORT_REPLY, &reply);
    if (rc != CLI_EXIT_OK)
        return rc;
    const Callfloor__RowsImportReply *r = reply->csat_import_reply;
    add_counts(u, arg, r->applied, r->unchanged, r->rejected, r->n_rejected);
    envelope_free(reply);
    return CLI_EXIT_OK;
}

static void report_csat(upload *u, void *arg, const char *path) {
    const counts *c = arg;
    ctl *x = upload_ctl(u);
    if (x->json) {
        report_json(u, c, "imported");
        return;
    }
    buf_appendf(&x->out,
                _("Imported %s: %llu surveys imported, %llu already known, %llu rejected.\n"), path,
                c->applied, c->unchanged, upload_rejected(u));
    upload_append_rejects(u);
}

static const upload_spec csat_upload = {
    .command = "csat import",
    .columns = csat_columns,
    .ncolumns = CSAT_NCOLS,
    .required = 1ul << CSAT_SCORE,
    .cell_max = 3000, /* a comment of 1000 characters */
    .send = send_csat,
    .report = report_csat,
};

int ctl_run_csat_import(ctl *x, const ctl_args *a) {
    counts c = {0};
    return upload_run(x, &csat_upload, a->name, ctl_opt(a, OPT_REJECTS), &c);
}
