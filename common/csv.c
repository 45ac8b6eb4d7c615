#include "csv.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

enum csv_state {
    FIELD_START,     /* before a field's first byte */
    UNQUOTED,        /* inside an unquoted field */
    QUOTED,          /* inside a quoted field */
    QUOTE_IN_QUOTED, /* a quote inside a quoted field: the first of "" or the closing one */
};

#define BOM_DONE SIZE_MAX

#define STRINGIFY_(x) #x
#define STRINGIFY(x)  STRINGIFY_(x)

static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};

/* A new record is empty; record_line 0 means its first byte has not come
 * yet, so blank lines and the LF of a CRLF do not claim it. */
static void reset_record(csv_reader *r) {
    r->record_line = 0;
    r->state = FIELD_START;
    r->has_content = false;
    r->nfields = 0;
    r->len = 0;
    r->starts[0] = 0;
    r->record_bad_utf8 = false;
}

void csv_init(csv_reader *r, csv_record_cb cb, void *arg) {
    r->line = 1;
    r->cb = cb;
    r->arg = arg;
    r->error = 0;
    r->quote_line = 1;
    r->prev_cr = false;
    r->bom_seen = 0;
    r->utf8_left = 0;
    r->tolerate_utf8 = false;
    reset_record(r);
}

void csv_tolerate_bad_utf8(csv_reader *r) {
    r->tolerate_utf8 = true;
}

/* ---- bytes: UTF-8 and lines ---- */

/* A lead byte fixes how many continuation bytes follow and, for a few
 * leads, a narrower range for the first of them: that is what keeps out
 * overlong forms (E0, F0), UTF-16 surrogates (ED) and code points past
 * U+10FFFF (F4). */
static int start_sequence(csv_reader *r, unsigned char c) {
    r->utf8_lo = 0x80;
    r->utf8_hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        r->utf8_left = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        r->utf8_left = 2;
        r->utf8_lo = c == 0xE0 ? 0xA0 : 0x80;
        r->utf8_hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        r->utf8_left = 3;
        r->utf8_lo = c == 0xF0 ? 0x90 : 0x80;
        r->utf8_hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        return CSV_E_UTF8;
    }
    return 0;
}

static int check_byte(csv_reader *r, unsigned char c) {
    if (c == 0)
        return CSV_E_NUL;
    if (r->utf8_left > 0) {
        if (c < r->utf8_lo || c > r->utf8_hi)
            return CSV_E_UTF8;
        r->utf8_left--;
        r->utf8_lo = 0x80;
        r->utf8_hi = 0xBF;
        return 0;
    }
    return c < 0x80 ? 0 : start_sequence(r, c);
}

/* Counted after the byte is parsed, so that a problem on a line break is
 * reported on the line the break ends. */
static void count_line(csv_reader *r, unsigned char c) {
    if (c == '\r' || (c == '\n' && !r->prev_cr))
        r->line++;
    r->prev_cr = c == '\r';
}

/* ---- records ---- */

static int append(csv_reader *r, char c) {
    if (r->len - r->starts[r->nfields] >= CSV_FIELD_MAX)
        return CSV_E_FIELD_LONG;
    r->buf[r->len++] = c;
    return 0;
}

static void end_field(csv_reader *r) {
    r->buf[r->len++] = '\0';
    r->nfields++;
}

static int next_field(csv_reader *r) {
    end_field(r);
    if (r->nfields == CSV_FIELDS_MAX)
        return CSV_E_TOO_MANY;
    r->starts[r->nfields] = r->len;
    r->has_content = true;
    r->state = FIELD_START;
    return 0;
}

static bool deliver(csv_reader *r) {
    const char *fields[CSV_FIELDS_MAX];
    size_t lengths[CSV_FIELDS_MAX];
    for (size_t i = 0; i < r->nfields; i++) {
        size_t end = i + 1 < r->nfields ? r->starts[i + 1] : r->len;
        fields[i] = r->buf + r->starts[i];
        lengths[i] = end - r->starts[i] - 1;
    }
    csv_record rec = {r->record_line, r->nfields, fields, lengths, r->record_bad_utf8};
    return r->cb(&rec, r->arg);
}

static int end_record(csv_reader *r) {
    end_field(r);
    bool go_on = !r->has_content || deliver(r);
    reset_record(r);
    return go_on ? 0 : CSV_E_STOPPED;
}

/* ---- the parser, one byte at a time ---- */

static int outside_quotes(csv_reader *r, char c) {
    if (c == ',')
        return next_field(r);
    if (c == '\n' || c == '\r')
        return end_record(r);
    r->has_content = true;
    r->state = UNQUOTED;
    return append(r, c);
}

static int after_quote(csv_reader *r, char c) {
    if (c == '"') {
        r->state = QUOTED;
        return append(r, '"');
    }
    if (c == ',' || c == '\n' || c == '\r')
        return outside_quotes(r, c);
    return CSV_E_QUOTE;
}

static int step(csv_reader *r, char c) {
    if (r->record_line == 0)
        r->record_line = r->line;
    switch (r->state) {
    case FIELD_START:
        if (c != '"')
            return outside_quotes(r, c);
        r->state = QUOTED;
        r->quote_line = r->line;
        r->has_content = true;
        return 0;
    case UNQUOTED:
        return c == '"' ? CSV_E_QUOTE : outside_quotes(r, c);
    case QUOTED:
        if (c == '"') {
            r->state = QUOTE_IN_QUOTED;
            return 0;
        }
        return append(r, c);
    default:
        return after_quote(r, c);
    }
}

/* Outside quotes a CR has already ended the record, so the LF of its CRLF
 * is no more than the rest of that line break. Inside quotes both bytes
 * are the field's. */
static int feed_byte(csv_reader *r, unsigned char c) {
    int rc = check_byte(r, c);
    if (rc == CSV_E_UTF8 && r->tolerate_utf8) {
        /* The record is marked; the byte is data, or (an ASCII byte that
         * cut a sequence short) a comma, quote or line break as usual. */
        r->record_bad_utf8 = true;
        r->utf8_left = 0;
        rc = 0;
    }
    if (rc == 0 && !(r->prev_cr && c == '\n' && r->state != QUOTED))
        rc = step(r, (char)c);
    if (rc == 0)
        count_line(r, c);
    return rc;
}

/* Bytes that began like a byte order mark but were not one are data. */
static int replay_partial_bom(csv_reader *r) {
    if (r->bom_seen == BOM_DONE)
        return 0;
    size_t n = r->bom_seen;
    r->bom_seen = BOM_DONE;
    for (size_t i = 0; i < n; i++) {
        int rc = feed_byte(r, bom[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int feed_start(csv_reader *r, unsigned char c) {
    if (c == bom[r->bom_seen]) {
        if (++r->bom_seen == sizeof bom)
            r->bom_seen = BOM_DONE;
        return 0;
    }
    int rc = replay_partial_bom(r);
    return rc < 0 ? rc : feed_byte(r, c);
}

static int fail(csv_reader *r, int rc) {
    if (rc < 0)
        r->error = rc;
    return rc;
}

int csv_feed(csv_reader *r, const char *data, size_t len) {
    for (size_t i = 0; i < len && r->error == 0; i++) {
        unsigned char c = (unsigned char)data[i];
        fail(r, r->bom_seen == BOM_DONE ? feed_byte(r, c) : feed_start(r, c));
    }
    return r->error;
}

int csv_finish(csv_reader *r) {
    if (r->error != 0)
        return r->error;
    int rc = replay_partial_bom(r);
    if (rc == 0 && r->utf8_left > 0 && r->tolerate_utf8)
        r->record_bad_utf8 = true;
    else if (rc == 0 && r->utf8_left > 0)
        rc = CSV_E_UTF8;
    if (rc == 0 && r->state == QUOTED) {
        /* The end of the file says nothing useful; where the quote opened does. */
        r->line = r->quote_line;
        rc = CSV_E_UNTERMINATED;
    }
    if (rc == 0 && r->record_line != 0)
        rc = end_record(r);
    return fail(r, rc);
}

const char *csv_strerror(int code) {
    switch (code) {
    case CSV_E_QUOTE:
        return "a quote in the wrong place (quote the whole field and double quotes inside it)";
    case CSV_E_UNTERMINATED:
        return "a quoted field opened here is not closed before the end of the file";
    case CSV_E_FIELD_LONG:
        return "a field is longer than " STRINGIFY(CSV_FIELD_MAX) " bytes";
    case CSV_E_TOO_MANY:
        return "a record has more than " STRINGIFY(CSV_FIELDS_MAX) " fields";
    case CSV_E_UTF8:
        return "the file is not UTF-8 text (save it as UTF-8)";
    case CSV_E_STOPPED:
        return "reading was stopped";
    case CSV_E_NUL:
        return "a NUL byte: the file is not CSV text (save it as CSV UTF-8)";
    case CSV_E_HEADER_UNKNOWN:
        return "the header names a column that is not known";
    case CSV_E_HEADER_DUPLICATE:
        return "the header names a column twice";
    default:
        return "the file is not valid CSV";
    }
}

/* ---- the header ---- */

static void trim(const char *s, size_t *start, size_t *len) {
    size_t n = strlen(s), a = 0;
    while (a < n && (s[a] == ' ' || s[a] == '\t'))
        a++;
    while (n > a && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    *start = a;
    *len = n - a;
}

static size_t find_known(const char *const *known, size_t nknown, const char *name, size_t len) {
    size_t k = 0;
    while (k < nknown && !(strlen(known[k]) == len && strncasecmp(name, known[k], len) == 0))
        k++;
    return k;
}

int csv_map_header(const csv_record *header, const char *const *known, size_t nknown, int *index,
                   size_t *bad) {
    for (size_t k = 0; k < nknown; k++)
        index[k] = -1;
    for (size_t i = 0; i < header->nfields; i++) {
        size_t start, len;
        trim(header->fields[i], &start, &len);
        if (len == 0)
            continue;
        size_t k = find_known(known, nknown, header->fields[i] + start, len);
        if (k == nknown || index[k] >= 0) {
            *bad = i;
            return k == nknown ? CSV_E_HEADER_UNKNOWN : CSV_E_HEADER_DUPLICATE;
        }
        index[k] = (int)i;
    }
    return 0;
}

int csv_append_field(buf *out, const char *s) {
    size_t len = strlen(s);
    bool quote =
        strpbrk(s, ",\"\r\n") != NULL ||
        (len > 0 && (s[0] == ' ' || s[0] == '\t' || s[len - 1] == ' ' || s[len - 1] == '\t'));
    if (!quote)
        return buf_append(out, s, len);
    int rc = buf_append(out, "\"", 1);
    /* Each quote inside is written twice: the run up to and including it,
     * then one more. */
    for (const char *p = s; rc == 0 && *p;) {
        const char *q = strchr(p, '"');
        size_t run = q ? (size_t)(q - p) + 1 : strlen(p);
        rc = buf_append(out, p, run);
        if (rc == 0 && q != NULL)
            rc = buf_append(out, "\"", 1);
        p += run;
    }
    return rc == 0 ? buf_append(out, "\"", 1) : rc;
}
