#include "upload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csv.h"
#include "i18n.h"
#include "pii.h"

#define SHOW_REJECTS 20
#define MAX_COLUMNS  16
/* A batch is sent once its cells reach this many bytes, well inside the
 * server's default frame limit (session.max_frame, 1 MiB), whatever the
 * row count: a thousand long survey comments would not fit. */
#define BATCH_BYTES (512 * 1024)

struct upload {
    ctl *x;
    const upload_spec *spec;
    void *arg;
    csv_reader csv;
    FILE *in, *rejects;
    long long size, done;
    bool progress, have_header;
    int status;
    int index[MAX_COLUMNS];
    size_t header_cells;
    char *cells[UPLOAD_BATCH][MAX_COLUMNS];
    unsigned lines[UPLOAD_BATCH];
    size_t n;
    size_t bytes; /* of the cells queued */
    unsigned long long rejected;
    buf shown;
    unsigned nshown;
};

ctl *upload_ctl(upload *u) {
    return u->x;
}

size_t upload_rows(const upload *u) {
    return u->n;
}

char *const *upload_cells(const upload *u, size_t row) {
    return u->cells[row];
}

unsigned upload_line(const upload *u, size_t row) {
    return u->lines[row];
}

unsigned long long upload_rejected(const upload *u) {
    return u->rejected;
}

void upload_reject(upload *u, unsigned line, const char *reason) {
    u->rejected++;
    if (u->nshown++ < SHOW_REJECTS)
        buf_appendf(&u->shown, _("  line %u: %s\n"), line, reason);
    if (u->rejects != NULL) {
        fprintf(u->rejects, "%u,\"", line);
        for (const char *p = reason; *p; p++)
            fputs(*p == '"' ? "\"\"" : (char[2]){*p, '\0'}, u->rejects);
        fputs("\"\n", u->rejects);
    }
}

void upload_append_rejects(upload *u) {
    buf_append(&u->x->out, buf_head(&u->shown), buf_pending(&u->shown));
    if (u->nshown > SHOW_REJECTS)
        buf_appendf(&u->x->out, _("  ... and %u more (--rejects FILE writes them all)\n"),
                    u->nshown - SHOW_REJECTS);
}

/* Wipes and frees the cells of rows `from` and on. */
static void drop_rows(upload *u, size_t from) {
    for (size_t i = from; i < u->n; i++)
        for (size_t c = 0; c < u->spec->ncolumns; c++) {
            size_t len = strlen(u->cells[i][c]);
            u->bytes -= len;
            pii_wipe(u->cells[i][c], len);
            free(u->cells[i][c]);
        }
    u->n = from;
}

static int send_batch(upload *u) {
    int rc = u->spec->send(u, u->arg);
    drop_rows(u, 0);
    ctl_progress(u->progress, u->done, u->size, u->csv.line, false);
    return rc;
}

/* The header's columns, checked; false after reporting what is wrong. */
static bool read_header(upload *u, const csv_record *r) {
    const upload_spec *s = u->spec;
    size_t bad;
    int rc = csv_map_header(r, s->columns, s->ncolumns, u->index, &bad);
    char names[512] = "";
    for (size_t c = 0, used = 0; c < s->ncolumns && used < sizeof names; c++)
        used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", c ? ", " : "",
                                 s->columns[c]);
    if (rc < 0) {
        u->status = ctl_usage_error(u->x, s->command,
                                    rc == CSV_E_HEADER_UNKNOWN
                                        ? _("line 1: unknown column '%s'; the columns are %s")
                                        : _("line 1: the column '%s' is given twice (%s)"),
                                    r->fields[bad], names);
    }
    for (size_t c = 0; rc == 0 && c < s->ncolumns; c++)
        if ((s->required >> c & 1) && u->index[c] < 0) {
            u->status = ctl_usage_error(u->x, s->command,
                                        _("line 1: the header lacks the column %s; the columns "
                                          "are %s"),
                                        s->columns[c], names);
            rc = -1;
        }
    u->have_header = rc == 0;
    u->header_cells = r->nfields;
    return rc == 0;
}

/* The row's cells in the command's column order; false when one is too
 * long or memory ran out (the row is then rejected or the upload ends). */
static bool queue_row(upload *u, const csv_record *r) {
    char **cells = u->cells[u->n];
    for (size_t c = 0; c < u->spec->ncolumns; c++) {
        const char *cell = u->index[c] >= 0 ? r->fields[u->index[c]] : "";
        cells[c] = strlen(cell) <= u->spec->cell_max ? strdup(cell) : NULL;
        if (cells[c] == NULL) {
            for (size_t k = 0; k < c; k++) {
                pii_wipe(cells[k], strlen(cells[k]));
                free(cells[k]);
            }
            return false;
        }
    }
    for (size_t c = 0; c < u->spec->ncolumns; c++)
        u->bytes += strlen(cells[c]);
    u->lines[u->n++] = r->line;
    return true;
}

static bool on_record(const csv_record *r, void *arg) {
    upload *u = arg;
    if (!u->have_header && r->invalid_utf8) {
        u->status = ctl_usage_error(u->x, u->spec->command,
                                    _("line %u: the header is not UTF-8 text; save the file as "
                                      "UTF-8 and import it again"),
                                    r->line);
        return false;
    }
    if (!u->have_header)
        return read_header(u, r);
    const char *why = NULL;
    if (r->invalid_utf8)
        why = _("the row is not UTF-8 text; correct it and import it again");
    else if (r->nfields != u->header_cells)
        why = _("the row's cell count differs from the header's");
    else if (!queue_row(u, r))
        why = _("a cell is too long");
    else if (u->spec->check_row != NULL && (why = u->spec->check_row(u->cells[u->n - 1])) != NULL)
        drop_rows(u, u->n - 1);
    if (why != NULL) {
        upload_reject(u, r->line, why);
        return true;
    }
    if (u->n == UPLOAD_BATCH || u->bytes >= BATCH_BYTES)
        u->status = send_batch(u);
    return u->status == CLI_EXIT_OK;
}

static int read_file(upload *u, const char *path) {
    char chunk[65536];
    size_t n;
    int rc = 0;
    csv_init(&u->csv, on_record, u);
    csv_tolerate_bad_utf8(&u->csv);
    while (rc == 0 && (n = fread(chunk, 1, sizeof chunk, u->in)) > 0) {
        u->done += (long long)n;
        rc = csv_feed(&u->csv, chunk, n);
        ctl_progress(u->progress, u->done, u->size, u->csv.line, false);
    }
    pii_wipe(chunk, sizeof chunk);
    if (rc == 0 && ferror(u->in))
        return ctl_usage_error(u->x, NULL, _("cannot read %s: %s"), path, strerror(errno));
    if (rc == 0)
        rc = csv_finish(&u->csv);
    if (rc == CSV_E_STOPPED)
        return u->status;
    int sent = u->n > 0 ? send_batch(u) : CLI_EXIT_OK;
    if (sent != CLI_EXIT_OK || rc == 0)
        return sent;
    return ctl_usage_error(u->x, NULL, _("%s:%u: %s; the lines before it were imported"), path,
                           u->csv.line, csv_strerror(rc));
}

static int open_files(upload *u, const char *path, const char *rejects) {
    u->in = fopen(path, "r");
    if (u->in == NULL)
        return ctl_usage_error(u->x, NULL, _("cannot open %s: %s"), path, strerror(errno));
    if (rejects != NULL) {
        u->rejects = fopen(rejects, "w");
        if (u->rejects == NULL)
            return ctl_usage_error(u->x, NULL, _("cannot write %s: %s"), rejects, strerror(errno));
        fputs("line,reason\n", u->rejects);
    }
    struct stat sb;
    u->size = fstat(fileno(u->in), &sb) == 0 && S_ISREG(sb.st_mode) ? sb.st_size : 0;
    return CLI_EXIT_OK;
}

int upload_run(ctl *x, const upload_spec *spec, const char *path, const char *rejects, void *arg) {
    upload *u = spec->ncolumns <= MAX_COLUMNS ? calloc(1, sizeof *u) : NULL;
    if (u == NULL)
        return ctl_report_status(x, CLIENT_E_NOMEM);
    u->x = x;
    u->spec = spec;
    u->arg = arg;
    u->progress = !x->json && isatty(STDERR_FILENO);
    int rc = open_files(u, path, rejects);
    if (rc == CLI_EXIT_OK)
        rc = read_file(u, path);
    ctl_progress(u->progress, u->done, u->size, u->csv.line, true);
    if (rc == CLI_EXIT_OK)
        spec->report(u, arg, path);
    drop_rows(u, 0);
    if (u->in)
        fclose(u->in);
    if (u->rejects && fclose(u->rejects) != 0 && rc == CLI_EXIT_OK)
        rc = ctl_usage_error(x, NULL, _("cannot write the rejects file: %s"), strerror(errno));
    buf_free(&u->shown);
    free(u);
    return rc;
}
