/* callfloorctl leads import: a lead list (CSV with a header row) streamed
 * to the server in batches (upload.c). Rows the reader can already tell
 * are wrong (a phone number that is not one) are reported here; the server
 * checks every row again. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "i18n.h"
#include "json.h"
#include "phone.h"
#include "pii.h"
#include "upload.h"

enum {
    COL_NAME,
    COL_PHONE,
    COL_TZ,
    COL_TIER,
    COL_AGE,
    COL_INCOME,
    COL_SPEND,
    COL_TRAVEL,
    COL_SCORE,
    COL_EXTERNAL,
    NCOLS
};

static const char *const columns[NCOLS] = {
    "name",        "phone",         "time_zone",       "tier",  "age_band",
    "income_band", "spend_profile", "travel_interest", "score", "external_id"};

typedef struct lead_counts {
    const char *campaign;
    unsigned long long imported, duplicates, suppressed;
} lead_counts;

static const char *check_phone(char *const *cells) {
    char canonical[PHONE_MAX];
    int rc = phone_normalize(cells[COL_PHONE], canonical);
    pii_wipe(canonical, sizeof canonical);
    return rc < 0 ? phone_strerror(rc) : NULL;
}

static int send_leads(upload *u, void *arg) {
    lead_counts *counts = arg;
    Callfloor__LeadRow rows[UPLOAD_BATCH], *ptrs[UPLOAD_BATCH];
    size_t n = upload_rows(u);
    for (size_t i = 0; i < n; i++) {
        char *const *cell = upload_cells(u, i);
        callfloor__lead_row__init(&rows[i]);
        rows[i].line = upload_line(u, i);
        rows[i].name = cell[COL_NAME];
        rows[i].phone = cell[COL_PHONE];
        rows[i].time_zone = cell[COL_TZ];
        rows[i].tier = cell[COL_TIER];
        rows[i].age_band = cell[COL_AGE];
        rows[i].income_band = cell[COL_INCOME];
        rows[i].spend_profile = cell[COL_SPEND];
        rows[i].travel_interest = cell[COL_TRAVEL];
        rows[i].score = cell[COL_SCORE];
        rows[i].external_id = cell[COL_EXTERNAL];
        ptrs[i] = &rows[i];
    }
    Callfloor__LeadsImport msg = CALLFLOOR__LEADS_IMPORT__INIT;
    msg.campaign = (char *)counts->campaign;
    msg.rows = ptrs;
    msg.n_rows = n;
    envelope req = CALLFLOOR__ENVELOPE__INIT, *reply;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_LEADS_IMPORT;
    req.leads_import = &msg;
    int rc = ctl_call(upload_ctl(u), &req, CALLFLOOR__ENVELOPE__BODY_LEADS_IMPORT_REPLY, &reply);
    if (rc != CLI_EXIT_OK)
        return rc;
    const Callfloor__LeadsImportReply *r = reply->leads_import_reply;
    counts->imported += r->imported;
    counts->duplicates += r->duplicates;
    counts->suppressed += r->suppressed;
    for (size_t k = 0; k < r->n_rejected; k++)
        upload_reject(u, r->rejected[k]->line, r->rejected[k]->reason);
    envelope_free(reply);
    return CLI_EXIT_OK;
}

static void report_leads(upload *u, void *arg, const char *path) {
    const lead_counts *counts = arg;
    ctl *x = upload_ctl(u);
    if (x->json) {
        json_writer w;
        json_init(&w, &x->out);
        json_object_begin(&w);
        json_kv_uint(&w, "imported", counts->imported);
        json_kv_uint(&w, "duplicates", counts->duplicates);
        json_kv_uint(&w, "suppressed", counts->suppressed);
        json_kv_uint(&w, "invalid", upload_rejected(u));
        json_object_end(&w);
        return;
    }
    buf_appendf(&x->out,
                _("Imported %s into %s: %llu imported, %llu duplicates, %llu on the do-not-call "
                  "list, %llu invalid.\n"),
                path, counts->campaign, counts->imported, counts->duplicates, counts->suppressed,
                upload_rejected(u));
    upload_append_rejects(u);
}

static const upload_spec leads_upload = {
    .command = "leads import",
    .columns = columns,
    .ncolumns = NCOLS,
    .required = 1ul << COL_NAME | 1ul << COL_PHONE,
    .cell_max = 256,
    .check_row = check_phone,
    .send = send_leads,
    .report = report_leads,
};

int ctl_run_leads_import(ctl *x, const ctl_args *a) {
    lead_counts counts = {.campaign = a->name};
    return upload_run(x, &leads_upload, a->file, ctl_opt(a, OPT_REJECTS), &counts);
}
