/* csv: a streaming RFC 4180 reader for the files operators import (lead
 * lists, do-not-call lists, bank results). Bytes are fed in chunks of any
 * size; each complete record is handed over with the file line it started
 * on, so errors can say "line N". Quoted fields may hold commas, quotes
 * ("") and line breaks; records end with LF or CRLF; a UTF-8 byte order
 * mark at the very start is skipped. Memory stays bounded whatever the
 * file: a field may be at most CSV_FIELD_MAX bytes and a record at most
 * CSV_FIELDS_MAX fields, and the reader's buffer never grows past that. */
#ifndef CALLFLOOR_CSV_H
#define CALLFLOOR_CSV_H

#include <stdbool.h>
#include <stddef.h>

#define CSV_FIELD_MAX  4096
#define CSV_FIELDS_MAX 64

enum {
    CSV_E_QUOTE = -1,        /* a quote inside an unquoted field, or text after a closing quote */
    CSV_E_UNTERMINATED = -2, /* the input ended inside a quoted field */
    CSV_E_FIELD_LONG = -3,   /* a field longer than CSV_FIELD_MAX */
    CSV_E_TOO_MANY = -4,     /* more than CSV_FIELDS_MAX fields */
    CSV_E_UTF8 = -5,         /* bytes that are not UTF-8 */
    CSV_E_STOPPED = -6,      /* the record callback asked to stop */
};

typedef struct csv_record {
    unsigned line; /* where the record starts, from 1 */
    size_t nfields;
    const char *const *fields; /* NUL-terminated, valid during the callback */
} csv_record;

/* Returns false to stop reading (csv_feed then returns CSV_E_STOPPED). */
typedef bool (*csv_record_cb)(const csv_record *r, void *arg);

typedef struct csv_reader {
    csv_record_cb cb;
    void *arg;
    unsigned line;        /* the line being read */
    unsigned record_line; /* where the current record started */
    int state;
    bool at_start; /* nothing read yet: a BOM may come */
    size_t bom_seen;
    int utf8_left; /* continuation bytes still expected */
    size_t nfields;
    size_t len; /* bytes of the current record in buf */
    size_t starts[CSV_FIELDS_MAX];
    char buf[CSV_FIELDS_MAX * (CSV_FIELD_MAX + 1)];
} csv_reader;

/* The reader is large (the bounded buffer): allocate it, don't put it on
 * the stack. */
void csv_init(csv_reader *r, csv_record_cb cb, void *arg);
/* Reads `len` more bytes. Returns 0, or a CSV_E_* code (the line of the
 * problem is in r->line); after an error the reader must not be fed again. */
int csv_feed(csv_reader *r, const char *data, size_t len);
/* Ends the input: delivers a last record without a line break. Returns 0
 * or a CSV_E_* code. */
int csv_finish(csv_reader *r);
const char *csv_strerror(int code);

/* A header's columns: for each name in `known` (case-insensitive, blanks
 * around the header's cells ignored), its index in `header`, or -1.
 * Returns the index in `header` of a column that is not known or is given
 * twice (so it can be reported), or -1 when all are fine. */
int csv_map_header(const csv_record *header, const char *const *known, size_t nknown, int *index);

#endif
