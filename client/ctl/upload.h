/* upload: a CSV file with a header row, streamed to the server in batches
 * of at most UPLOAD_BATCH rows, so that a file of a million rows takes the
 * memory of one batch. What every import shares is done here: the header
 * mapped onto the command's columns, rows that are not UTF-8 or whose cell
 * count differs from the header's, cells too long, a progress bar on a
 * terminal, and the rejected rows (the first 20 shown, all written to
 * --rejects FILE). The command checks its own rows and sends the batches
 * through the callbacks of its upload_spec. Cells are wiped once sent:
 * they may hold phone numbers. */
#ifndef CALLFLOOR_CTL_UPLOAD_H
#define CALLFLOOR_CTL_UPLOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "ctl.h"

#define UPLOAD_BATCH 1000 /* rows; the servers' *_IMPORT_BATCH_MAX */

typedef struct upload upload;

typedef struct upload_spec {
    const char *command;        /* "leads import": names the help in errors */
    const char *const *columns; /* the columns a header may name */
    size_t ncolumns;
    unsigned long required; /* bit c: column c must be in the header */
    size_t cell_max;        /* bytes in one cell */
    /* Why a row cannot be sent as it is, or NULL; `cells` has ncolumns
     * cells, "" for the columns the header lacks. May be NULL. */
    const char *(*check_row)(char *const *cells);
    /* Sends the rows queued (upload_rows, upload_cells, upload_line) and
     * adds the answer to `arg`, with upload_reject for the rows the server
     * refused. Returns a CLI exit code. */
    int (*send)(upload *u, void *arg);
    /* Appends the summary of the whole file to the output (text or JSON),
     * once everything is sent. */
    void (*report)(upload *u, void *arg, const char *path);
} upload_spec;

/* Uploads `path`; `rejects` (or NULL) is the file the rejected rows go to.
 * Returns a CLI exit code. */
int upload_run(ctl *x, const upload_spec *spec, const char *path, const char *rejects, void *arg);

ctl *upload_ctl(upload *u);
size_t upload_rows(const upload *u);
char *const *upload_cells(const upload *u, size_t row);
unsigned upload_line(const upload *u, size_t row);
/* Counts a rejected row and lists it. */
void upload_reject(upload *u, unsigned line, const char *reason);
unsigned long long upload_rejected(const upload *u);
/* Appends the rejected rows shown (text output) to the output. */
void upload_append_rejects(upload *u);

#endif
