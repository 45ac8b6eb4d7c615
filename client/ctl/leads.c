/* callfloorctl leads import: a lead list (CSV with a header row) streamed
 * to the server in batches, so a file of a million rows takes the memory
 * of one batch. Rows the reader can already tell are wrong (a cell count
 * that differs from the header's, a phone number that is not one) are
 * reported here; the server checks every row again. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csv.h"
#include "ctl.h"
#include "i18n.h"
#include "json.h"
#include "phone.h"
#include "pii.h"

#define BATCH        1000 /* the server's LEADS_IMPORT_BATCH_MAX */
#define CELL_MAX     256
#define SHOW_REJECTS 20

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

typedef struct import {
    ctl *x;
    const char *campaign;
    csv_reader csv;
    FILE *in, *rejects;
    long long size, done;
    bool progress, have_header;
    int status;
    int index[NCOLS];
    size_t header_cells;
    char cells[BATCH][NCOLS][CELL_MAX + 1];
    unsigned lines[BATCH];
    size_t n;
    unsigned long long imported, duplicates, suppressed, invalid;
    buf shown;
    unsigned nshown;
} import;

static void reject(import *im, unsigned line, const char *reason) {
    im->invalid++;
    if (im->nshown++ < SHOW_REJECTS)
        buf_appendf(&im->shown, _("  line %u: %s\n"), line, reason);
    if (im->rejects != NULL) {
        fprintf(im->rejects, "%u,\"", line);
        for (const char *p = reason; *p; p++)
            fputs(*p == '"' ? "\"\"" : (char[2]){*p, '\0'}, im->rejects);
        fputs("\"\n", im->rejects);
    }
}

static int send_batch(import *im) {
    Callfloor__LeadRow rows[BATCH], *ptrs[BATCH];
    for (size_t i = 0; i < im->n; i++) {
        char *cell[NCOLS];
        for (int c = 0; c < NCOLS; c++)
            cell[c] = im->cells[i][c];
        callfloor__lead_row__init(&rows[i]);
        rows[i].line = im->lines[i];
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
    msg.campaign = (char *)im->campaign;
    msg.rows = ptrs;
    msg.n_rows = im->n;
    envelope req = CALLFLOOR__ENVELOPE__INIT, *reply;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_LEADS_IMPORT;
    req.leads_import = &msg;
    int rc = ctl_call(im->x, &req, CALLFLOOR__ENVELOPE__BODY_LEADS_IMPORT_REPLY, &reply);
    pii_wipe(im->cells, sizeof im->cells);
    im->n = 0;
    if (rc != CLI_EXIT_OK)
        return rc;
    const Callfloor__LeadsImportReply *r = reply->leads_import_reply;
    im->imported += r->imported;
    im->duplicates += r->duplicates;
    im->suppressed += r->suppressed;
    for (size_t k = 0; k < r->n_rejected; k++)
        reject(im, r->rejected[k]->line, r->rejected[k]->reason);
    envelope_free(reply);
    ctl_progress(im->progress, im->done, im->size, im->csv.line, false);
    return CLI_EXIT_OK;
}

static bool read_header(import *im, const csv_record *r) {
    size_t bad;
    int rc = csv_map_header(r, columns, NCOLS, im->index, &bad);
    if (rc < 0) {
        im->status = ctl_usage_error(im->x, "leads import",
                                     rc == CSV_E_HEADER_UNKNOWN
                                         ? _("line 1: unknown column '%s'; the columns are name, "
                                             "phone, time_zone, tier, age_band, income_band, "
                                             "spend_profile, travel_interest, score, external_id")
                                         : _("line 1: the column '%s' is given twice"),
                                     r->fields[bad]);
        return false;
    }
    if (im->index[COL_NAME] < 0 || im->index[COL_PHONE] < 0) {
        im->status = ctl_usage_error(im->x, "leads import",
                                     _("line 1: the header needs the columns name and phone"));
        return false;
    }
    im->have_header = true;
    im->header_cells = r->nfields;
    return true;
}

/* Checks what needs no server and queues the row. */
static bool on_record(const csv_record *r, void *arg) {
    import *im = arg;
    if (!im->have_header && r->invalid_utf8) {
        im->status = ctl_usage_error(im->x, "leads import",
                                     _("line %u: the header is not UTF-8 text; save the file as "
                                       "UTF-8 and import it again"),
                                     r->line);
        return false;
    }
    if (!im->have_header)
        return read_header(im, r);
    if (r->invalid_utf8) {
        reject(im, r->line, _("the row is not UTF-8 text; correct it and import it again"));
        return true;
    }
    if (r->nfields != im->header_cells) {
        reject(im, r->line, _("the row's cell count differs from the header's"));
        return true;
    }
    char canonical[PHONE_MAX];
    int rc = phone_normalize(r->fields[im->index[COL_PHONE]], canonical);
    pii_wipe(canonical, sizeof canonical);
    if (rc < 0) {
        reject(im, r->line, phone_strerror(rc));
        return true;
    }
    for (int c = 0; c < NCOLS; c++) {
        const char *cell = im->index[c] >= 0 ? r->fields[im->index[c]] : "";
        if (strlen(cell) > CELL_MAX) {
            reject(im, r->line, _("a cell is longer than 256 bytes"));
            return true;
        }
        memcpy(im->cells[im->n][c], cell, strlen(cell) + 1);
    }
    im->lines[im->n++] = r->line;
    if (im->n == BATCH)
        im->status = send_batch(im);
    return im->status == CLI_EXIT_OK;
}

static int read_file(import *im, const char *path) {
    char chunk[65536];
    size_t n;
    int rc = 0;
    csv_init(&im->csv, on_record, im);
    csv_tolerate_bad_utf8(&im->csv);
    while (rc == 0 && (n = fread(chunk, 1, sizeof chunk, im->in)) > 0) {
        im->done += (long long)n;
        rc = csv_feed(&im->csv, chunk, n);
        ctl_progress(im->progress, im->done, im->size, im->csv.line, false);
    }
    pii_wipe(chunk, sizeof chunk);
    if (rc == 0 && ferror(im->in))
        return ctl_usage_error(im->x, NULL, _("cannot read %s: %s"), path, strerror(errno));
    if (rc == 0)
        rc = csv_finish(&im->csv);
    if (rc == CSV_E_STOPPED)
        return im->status;
    int sent = im->n > 0 ? send_batch(im) : CLI_EXIT_OK;
    if (sent != CLI_EXIT_OK || rc == 0)
        return sent;
    return ctl_usage_error(im->x, NULL, _("%s:%u: %s; the lines before it were imported"), path,
                           im->csv.line, csv_strerror(rc));
}

static void report(import *im, const char *path) {
    ctl *x = im->x;
    if (x->json) {
        json_writer w;
        json_init(&w, &x->out);
        json_object_begin(&w);
        json_kv_uint(&w, "imported", im->imported);
        json_kv_uint(&w, "duplicates", im->duplicates);
        json_kv_uint(&w, "suppressed", im->suppressed);
        json_kv_uint(&w, "invalid", im->invalid);
        json_object_end(&w);
        return;
    }
    buf_appendf(&x->out,
                _("Imported %s into %s: %llu imported, %llu duplicates, %llu on the do-not-call "
                  "list, %llu invalid.\n"),
                path, im->campaign, im->imported, im->duplicates, im->suppressed, im->invalid);
    buf_append(&x->out, buf_head(&im->shown), buf_pending(&im->shown));
    if (im->nshown > SHOW_REJECTS)
        buf_appendf(&x->out, _("  ... and %u more (--rejects FILE writes them all)\n"),
                    im->nshown - SHOW_REJECTS);
}

static int open_files(import *im, const ctl_args *a) {
    im->in = fopen(a->file, "r");
    if (im->in == NULL)
        return ctl_usage_error(im->x, NULL, _("cannot open %s: %s"), a->file, strerror(errno));
    const char *rejects = ctl_opt(a, OPT_REJECTS);
    if (rejects != NULL) {
        im->rejects = fopen(rejects, "w");
        if (im->rejects == NULL)
            return ctl_usage_error(im->x, NULL, _("cannot write %s: %s"), rejects, strerror(errno));
        fputs("line,reason\n", im->rejects);
    }
    struct stat sb;
    im->size = fstat(fileno(im->in), &sb) == 0 && S_ISREG(sb.st_mode) ? sb.st_size : 0;
    return CLI_EXIT_OK;
}

int ctl_run_leads_import(ctl *x, const ctl_args *a) {
    import *im = calloc(1, sizeof *im);
    if (im == NULL)
        return ctl_report_status(x, CLIENT_E_NOMEM);
    im->x = x;
    im->campaign = a->name;
    im->progress = !x->json && isatty(STDERR_FILENO);
    int rc = open_files(im, a);
    if (rc == CLI_EXIT_OK)
        rc = read_file(im, a->file);
    ctl_progress(im->progress, im->done, im->size, im->csv.line, true);
    if (rc == CLI_EXIT_OK)
        report(im, a->file);
    if (im->in)
        fclose(im->in);
    if (im->rejects && fclose(im->rejects) != 0 && rc == CLI_EXIT_OK)
        rc = ctl_usage_error(x, NULL, _("cannot write the rejects file: %s"), strerror(errno));
    buf_free(&im->shown);
    free(im);
    return rc;
}
