/* csv: a streaming RFC 4180 reader for the files operators import (lead
 * lists, do-not-call lists, bank results). Bytes are fed in chunks of any
 * size, split anywhere (even inside a UTF-8 character or a CRLF); each
 * complete record is handed over with the physical line it started on, so
 * errors can say "line N".
 *
 * What it accepts: fields separated by ',' and records ended by LF, CRLF
 * or a lone CR; a final record without a line break; quoted fields that
 * hold commas, line breaks and doubled quotes (""); empty fields; a UTF-8
 * byte order mark at the very start (skipped). A line with nothing on it
 * is skipped rather than read as a record of one empty field ("" on a
 * line is such a record). Physical lines are counted the way an editor
 * shows them: LF, CRLF and a lone CR each end one, inside quotes too.
 *
 * What it refuses, with a CSV_E_* code: a quote inside an unquoted field
 * or text after a closing quote, a quote still open at the end, bytes
 * that are not UTF-8 (overlong forms and surrogates included), NUL bytes
 * (PostgreSQL text cannot hold them), a field over CSV_FIELD_MAX bytes and
 * a record over CSV_FIELDS_MAX fields.
 *
 * Memory: the reader never allocates. It is one fixed-size struct whose
 * buffer holds a single record at its largest, so a hostile or huge file
 * costs the same as a small one. */
#ifndef CALLFLOOR_CSV_H
#define CALLFLOOR_CSV_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define CSV_FIELD_MAX  4096
#define CSV_FIELDS_MAX 64

enum {
    CSV_E_QUOTE = -1,          /* a quote inside an unquoted field, or text after a closing quote */
    CSV_E_UNTERMINATED = -2,   /* the input ended inside a quoted field */
    CSV_E_FIELD_LONG = -3,     /* a field longer than CSV_FIELD_MAX */
    CSV_E_TOO_MANY = -4,       /* more than CSV_FIELDS_MAX fields */
    CSV_E_UTF8 = -5,           /* bytes that are not UTF-8 */
    CSV_E_STOPPED = -6,        /* the record callback asked to stop */
    CSV_E_NUL = -7,            /* a NUL byte */
    CSV_E_HEADER_UNKNOWN = -8, /* csv_map_header: a column nobody asked for */
    CSV_E_HEADER_DUPLICATE = -9, /* csv_map_header: a column given twice */
};

/* One record, lent to the callback: the fields and lengths point into the
 * reader and are valid only until the callback returns. Every field is
 * NUL-terminated and holds no other NUL, so lengths[i] == strlen(fields[i]). */
typedef struct csv_record {
    unsigned line; /* the physical line the record starts on, from 1 */
    size_t nfields;
    const char *const *fields;
    const size_t *lengths;
    /* Only after csv_tolerate_bad_utf8: the record holds bytes that are not
     * UTF-8 (its fields hold them as they came). */
    bool invalid_utf8;
} csv_record;

/* Returns false to stop reading (csv_feed then returns CSV_E_STOPPED). */
typedef bool (*csv_record_cb)(const csv_record *r, void *arg);

/* Only `line` is for callers to read: while reading, the line being read
 * (for a progress display); after an error, the line of the problem (for
 * CSV_E_UNTERMINATED, the line where the open quote is). The other members
 * are the reader's own. */
typedef struct csv_reader {
    unsigned line;
    csv_record_cb cb;
    void *arg;
    int error;            /* once set, every later call returns it */
    unsigned record_line; /* where the current record started */
    unsigned quote_line;  /* where the current quoted field opened */
    int state;
    bool prev_cr;         /* the last byte was a CR: an LF now is the same line break */
    bool has_content;     /* the current record is not a blank line */
    size_t bom_seen;      /* byte order mark bytes matched; SIZE_MAX once past the start */
    int utf8_left;        /* continuation bytes still expected */
    bool tolerate_utf8;   /* bad UTF-8 marks its record instead of stopping */
    bool record_bad_utf8; /* ... and this record has some */
    unsigned char utf8_lo, utf8_hi; /* the range the next continuation byte must be in */
    size_t nfields;
    size_t len; /* bytes of the current record in buf */
    size_t starts[CSV_FIELDS_MAX];
    char buf[CSV_FIELDS_MAX * (CSV_FIELD_MAX + 1)];
} csv_reader;

/* Prepares `r` to read a new input, handing each record to `cb` with
 * `arg`. The reader is large (about 260 KiB, its bounded buffer): embed it
 * in a heap object, never on the stack. There is nothing to free. */
void csv_init(csv_reader *r, csv_record_cb cb, void *arg);
/* Reads `len` more bytes, calling the callback for each record they
 * complete. Returns 0 or a CSV_E_* code; after a code, r->line says where
 * and every further csv_feed or csv_finish returns the same code. */
int csv_feed(csv_reader *r, const char *data, size_t len);
/* Ends the input: delivers a last record that has no line break, and
 * reports a quote or UTF-8 character left open. Returns 0 or a CSV_E_*
 * code, as csv_feed. */
int csv_finish(csv_reader *r);
/* From now on bytes that are not UTF-8 do not stop the reader: the record
 * that holds them is delivered with invalid_utf8 set, so that an import can
 * refuse that one line and go on with the next. Call after csv_init. */
void csv_tolerate_bad_utf8(csv_reader *r);
/* A sentence describing a CSV_E_* code, fit to follow "line N: ". */
const char *csv_strerror(int code);

/* Maps a header record onto the columns the caller knows. For each name
 * in `known`, index[k] becomes its position in `header`, or -1 when the
 * header lacks it. Names compare case-insensitively, blanks and tabs
 * around the header's cells ignored; blank header cells are skipped,
 * because spreadsheets export trailing empty columns. Returns 0, or
 * CSV_E_HEADER_UNKNOWN / CSV_E_HEADER_DUPLICATE with *bad set to the
 * position in `header` of the first offending cell, so it can be named. */
int csv_map_header(const csv_record *header, const char *const *known, size_t nknown, int *index,
                   size_t *bad);

/* Writing: appends `s` as one RFC 4180 field, quoted (with its quotes
 * doubled) when it holds a comma, a quote, a line break, or blanks at
 * either end. Returns 0 or -ENOMEM. */
int csv_append_field(buf *out, const char *s);

#endif
