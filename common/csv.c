#include "csv.h"

#include <string.h>
#include <strings.h>

enum csv_state {
    AT_FIELD,    /* before a field's first byte */
    IN_FIELD,    /* inside an unquoted field */
    IN_QUOTES,   /* inside a quoted field */
    AFTER_QUOTE, /* a quote inside a quoted field: "" or the end of it */
    AFTER_CR,    /* a CR that may start a CRLF */
};

static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};

void csv_init(csv_reader *r, csv_record_cb cb, void *arg) {
    r->cb = cb;
    r->arg = arg;
    r->line = 1;
    r->record_line = 1;
    r->state = AT_FIELD;
    r->at_start = true;
    r->bom_seen = 0;
    r->utf8_left = 0;
    r->nfields = 0;
    r->len = 0;
}

/* Checks the byte against UTF-8's shape (lead and continuation bytes). */
static int check_utf8(csv_reader *r, unsigned char c) {
    if (c >= 0x80 && c <= 0xBF) {
        if (r->utf8_left == 0)
            return CSV_E_UTF8;
        r->utf8_left--;
        return 0;
    }
    if (r->utf8_left > 0)
        return CSV_E_UTF8;
    if (c < 0x80)
        return 0;
    if (c >= 0xC2 && c <= 0xDF)
        r->utf8_left = 1;
    else if (c >= 0xE0 && c <= 0xEF)
        r->utf8_left = 2;
    else if (c >= 0xF0 && c <= 0xF4)
        r->utf8_left = 3;
    else
        return CSV_E_UTF8;
    return 0;
}

static int start_field_if_needed(csv_reader *r) {
    if (r->nfields == CSV_FIELDS_MAX)
        return CSV_E_TOO_MANY;
    r->starts[r->nfields] = r->len;
    return 0;
}

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

/* Hands the record over; a line with nothing on it is not a record. */
static int end_record(csv_reader *r, bool quoted_empty) {
    end_field(r);
    int rc = 0;
    if (r->nfields > 1 || r->buf[0] != '\0' || quoted_empty) {
        const char *fields[CSV_FIELDS_MAX];
        for (size_t i = 0; i < r->nfields; i++)
            fields[i] = r->buf + r->starts[i];
        csv_record rec = {r->record_line, r->nfields, fields};
        rc = r->cb(&rec, r->arg) ? 0 : CSV_E_STOPPED;
    }
    r->nfields = 0;
    r->len = 0;
    r->record_line = r->line;
    r->state = AT_FIELD;
    return rc;
}

/* A byte outside quotes that ends a field or a record; returns 1 when it
 * was one, 0 when it is field content, or an error. */
static int separator(csv_reader *r, char c, bool quoted) {
    if (c == ',') {
        end_field(r);
        r->state = AT_FIELD;
        return 1;
    }
    if (c == '\n') {
        r->line++;
        int rc = end_record(r, quoted);
        return rc < 0 ? rc : 1;
    }
    if (c == '\r') {
        r->state = AFTER_CR;
        return 1;
    }
    return 0;
}

static int step(csv_reader *r, char c) {
    int rc;
    switch (r->state) {
    case AFTER_CR:
        /* A lone CR ends the record too; the byte after it starts the next. */
        r->line += c == '\n' ? 1 : 0;
        if ((rc = end_record(r, false)) < 0 || c == '\n')
            return rc;
        return step(r, c);
    case AT_FIELD:
        if ((rc = start_field_if_needed(r)) < 0)
            return rc;
        if (c == '"') {
            r->state = IN_QUOTES;
            return 0;
        }
        if ((rc = separator(r, c, false)) != 0)
            return rc < 0 ? rc : 0;
        r->state = IN_FIELD;
        return append(r, c);
    case IN_FIELD:
        if (c == '"')
            return CSV_E_QUOTE;
        if ((rc = separator(r, c, false)) != 0)
            return rc < 0 ? rc : 0;
        return append(r, c);
    case IN_QUOTES:
        if (c == '"') {
            r->state = AFTER_QUOTE;
            return 0;
        }
        r->line += c == '\n' ? 1 : 0;
        return append(r, c);
    default: /* AFTER_QUOTE */
        if (c == '"') {
            r->state = IN_QUOTES;
            return append(r, '"');
        }
        if ((rc = separator(r, c, true)) != 0)
            return rc < 0 ? rc : 0;
        return CSV_E_QUOTE;
    }
}

static int feed_byte(csv_reader *r, unsigned char c) {
    int rc = check_utf8(r, c);
    return rc < 0 ? rc : step(r, (char)c);
}

/* The first bytes may be a byte order mark; if they only start like one,
 * they were data after all. */
static int feed_start(csv_reader *r, unsigned char c, bool *consumed) {
    *consumed = false;
    if (c == bom[r->bom_seen]) {
        if (++r->bom_seen == sizeof bom)
            r->at_start = false;
        *consumed = true;
        return 0;
    }
    r->at_start = false;
    for (size_t i = 0; i < r->bom_seen; i++) {
        int rc = feed_byte(r, bom[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int csv_feed(csv_reader *r, const char *data, size_t len) {
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)data[i];
        if (r->at_start) {
            bool consumed;
            int rc = feed_start(r, c, &consumed);
            if (rc < 0 || consumed) {
                if (rc < 0)
                    return rc;
                continue;
            }
        }
        int rc = feed_byte(r, c);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int csv_finish(csv_reader *r) {
    if (r->at_start && r->bom_seen > 0) {
        bool consumed;
        int rc = feed_start(r, 0, &consumed);
        if (rc < 0)
            return rc;
    }
    if (r->utf8_left > 0)
        return CSV_E_UTF8;
    switch (r->state) {
    case IN_QUOTES:
        return CSV_E_UNTERMINATED;
    case AFTER_CR:
        return end_record(r, false);
    case AT_FIELD:
        if (r->nfields == 0 && r->len == 0)
            return 0;
        if (start_field_if_needed(r) < 0)
            return CSV_E_TOO_MANY;
        return end_record(r, false);
    default:
        return end_record(r, r->state == AFTER_QUOTE);
    }
}

const char *csv_strerror(int code) {
    switch (code) {
    case CSV_E_QUOTE:
        return "a quote in the wrong place (quote the whole field and double quotes inside it)";
    case CSV_E_UNTERMINATED:
        return "a quoted field is not closed before the end of the file";
    case CSV_E_FIELD_LONG:
        return "a field is longer than 4096 bytes";
    case CSV_E_TOO_MANY:
        return "a record has more than 64 fields";
    case CSV_E_UTF8:
        return "the file is not UTF-8 text (save it as UTF-8)";
    case CSV_E_STOPPED:
        return "reading was stopped";
    default:
        return "the file is not valid CSV";
    }
}

static void trim(const char *s, size_t *start, size_t *len) {
    size_t n = strlen(s), a = 0;
    while (a < n && (s[a] == ' ' || s[a] == '\t'))
        a++;
    while (n > a && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    *start = a;
    *len = n - a;
}

int csv_map_header(const csv_record *header, const char *const *known, size_t nknown, int *index) {
    for (size_t k = 0; k < nknown; k++)
        index[k] = -1;
    for (size_t i = 0; i < header->nfields; i++) {
        size_t start, len, k;
        trim(header->fields[i], &start, &len);
        for (k = 0; k < nknown; k++)
            if (strlen(known[k]) == len &&
                strncasecmp(header->fields[i] + start, known[k], len) == 0)
                break;
        if (k == nknown || index[k] >= 0)
            return (int)i;
        index[k] = (int)i;
    }
    return -1;
}
