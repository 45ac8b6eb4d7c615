#include "json.h"

#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* U+FFFD REPLACEMENT CHARACTER in UTF-8. */
static const char replacement[] = "\xEF\xBF\xBD";

void json_init(json_writer *w, buf *out) {
    memset(w, 0, sizeof *w);
    w->out = out;
}

/* Unbalanced or too deep nesting is a bug in the calling code, fixed once and
 * for all; stopping loudly beats writing JSON that does not parse. */
static void misuse(const char *what) {
    fprintf(stderr, "json writer misuse: %s\n", what);
    abort();
}

/* Writes the comma that separates this value or key from the previous one
 * at the same level; a value right after its key needs none. */
static void separate(json_writer *w) {
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth == 0)
        return;
    if (w->need_comma[w->depth - 1])
        buf_append(w->out, ",", 1);
    w->need_comma[w->depth - 1] = true;
}

static void open_container(json_writer *w, char brace) {
    if (w->depth == JSON_MAX_DEPTH)
        misuse("nesting deeper than JSON_MAX_DEPTH");
    separate(w);
    buf_append(w->out, &brace, 1);
    w->need_comma[w->depth++] = false;
}

static void close_container(json_writer *w, char brace) {
    if (w->depth == 0 || w->after_key)
        misuse("container closed without being open, or right after a key");
    w->depth--;
    buf_append(w->out, &brace, 1);
}

void json_object_begin(json_writer *w) {
    open_container(w, '{');
}

void json_object_end(json_writer *w) {
    close_container(w, '}');
}

void json_array_begin(json_writer *w) {
    open_container(w, '[');
}

void json_array_end(json_writer *w) {
    close_container(w, ']');
}

static void append_quoted(buf *out, const char *s) {
    buf_append(out, "\"", 1);
    json_escape(out, s);
    buf_append(out, "\"", 1);
}

void json_key(json_writer *w, const char *key) {
    separate(w);
    append_quoted(w->out, key);
    buf_append(w->out, ":", 1);
    w->after_key = true;
}

void json_string(json_writer *w, const char *s) {
    if (s == NULL) {
        json_null(w);
        return;
    }
    separate(w);
    append_quoted(w->out, s);
}

void json_int(json_writer *w, int64_t v) {
    separate(w);
    buf_appendf(w->out, "%" PRId64, v);
}

void json_uint(json_writer *w, uint64_t v) {
    separate(w);
    buf_appendf(w->out, "%" PRIu64, v);
}

/* printf follows LC_NUMERIC, which i18n_init sets from the environment, so
 * a German locale would print "0,5"; JSON always wants a '.'. */
static void use_json_decimal_point(char *text) {
    const char *point = localeconv()->decimal_point;
    size_t point_len = strlen(point);
    if (point_len == 0 || strcmp(point, ".") == 0)
        return;
    char *at = strstr(text, point);
    if (at == NULL)
        return;
    *at = '.';
    memmove(at + 1, at + point_len, strlen(at + point_len) + 1);
}

/* The shortest of %.15g and %.17g that reads back as the same double. */
static void format_double(double v, char *text, size_t cap) {
    snprintf(text, cap, "%.15g", v);
    if (strtod(text, NULL) != v)
        snprintf(text, cap, "%.17g", v);
    use_json_decimal_point(text);
}

void json_double(json_writer *w, double v) {
    if (!isfinite(v)) {
        json_null(w);
        return;
    }
    char text[32];
    format_double(v, text, sizeof text);
    separate(w);
    buf_append_str(w->out, text);
}

/* Whether `s` is a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool is_json_number(const char *s) {
    if (*s == '-')
        s++;
    if (*s == '0')
        s++;
    else if (*s >= '1' && *s <= '9')
        while (*s >= '0' && *s <= '9')
            s++;
    else
        return false;
    if (*s == '.') {
        if (!(*++s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == '\0';
}

void json_number_text(json_writer *w, const char *text) {
    if (!is_json_number(text)) {
        json_null(w);
        return;
    }
    separate(w);
    buf_append_str(w->out, text);
}

void json_bool(json_writer *w, bool v) {
    separate(w);
    buf_append_str(w->out, v ? "true" : "false");
}

void json_null(json_writer *w) {
    separate(w);
    buf_append_str(w->out, "null");
}

void json_kv_string(json_writer *w, const char *key, const char *s) {
    json_key(w, key);
    json_string(w, s);
}

void json_kv_int(json_writer *w, const char *key, int64_t v) {
    json_key(w, key);
    json_int(w, v);
}

void json_kv_uint(json_writer *w, const char *key, uint64_t v) {
    json_key(w, key);
    json_uint(w, v);
}

void json_kv_bool(json_writer *w, const char *key, bool v) {
    json_key(w, key);
    json_bool(w, v);
}

static bool is_continuation(unsigned char c) {
    return (c & 0xC0) == 0x80;
}

/* Length of the well-formed UTF-8 sequence at `s` (RFC 3629: no overlongs,
 * no surrogates, nothing above U+10FFFF), or, negated, the length of its
 * longest valid-looking start, which becomes one U+FFFD as Unicode
 * recommends. `s` is NUL-terminated and NUL is never a continuation byte,
 * so the scan never reads past the end. */
static int utf8_sequence(const unsigned char *s) {
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xBF;
    int need;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        return -1;
    }
    if (s[1] < lo || s[1] > hi)
        return -1;
    for (int i = 2; i <= need; i++)
        if (!is_continuation(s[i]))
            return -i;
    return need + 1;
}

static void escape_control(buf *out, unsigned char c) {
    static const char short_forms[] = {
        ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'};
    if (c < sizeof short_forms && short_forms[c] != 0)
        buf_appendf(out, "\\%c", short_forms[c]);
    else
        buf_appendf(out, "\\u%04x", c);
}

static bool needs_escape(unsigned char c) {
    return c == '"' || c == '\\' || c < 0x20;
}

/* Copies runs of bytes that need no change in one append, so long text costs
 * one buffer call per escape rather than one per byte. */
void json_escape(buf *out, const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *run = p;
    while (*p != '\0') {
        int n = utf8_sequence(p);
        if (n > 0 && !needs_escape(*p)) {
            p += n;
            continue;
        }
        buf_append(out, run, (size_t)(p - run));
        if (n < 0) {
            buf_append(out, replacement, sizeof replacement - 1);
            p += -n;
        } else if (*p < 0x20) {
            escape_control(out, *p++);
        } else {
            buf_appendf(out, "\\%c", *p++);
        }
        run = p;
    }
    buf_append(out, run, (size_t)(p - run));
}

/* ---- reading flat objects ---- */

typedef struct json_reader {
    char *text;
    size_t pos;
} json_reader;

static void skip_space(json_reader *r) {
    while (r->text[r->pos] == ' ' || r->text[r->pos] == '\t' || r->text[r->pos] == '\n' ||
           r->text[r->pos] == '\r')
        r->pos++;
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static long read_hex4(const char *p) {
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_value(p[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

static size_t put_utf8(char *out, unsigned long cp) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* A \uXXXX escape (with its low surrogate, if it is a high one) at
 * text[pos], which points after the 'u'. Returns the code point or -1. */
static long read_unicode_escape(json_reader *r) {
    long cp = read_hex4(r->text + r->pos);
    if (cp < 0)
        return -1;
    r->pos += 4;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return -1;
    if (cp < 0xD800 || cp > 0xDBFF)
        return cp;
    if (r->text[r->pos] != '\\' || r->text[r->pos + 1] != 'u')
        return -1;
    long low = read_hex4(r->text + r->pos + 2);
    if (low < 0xDC00 || low > 0xDFFF)
        return -1;
    r->pos += 6;
    return 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
}

/* Unescapes the string starting at the opening quote into itself. */
static const char *read_string(json_reader *r) {
    if (r->text[r->pos] != '"')
        return NULL;
    char *start = r->text + ++r->pos;
    char *out = start;
    for (;;) {
        unsigned char c = (unsigned char)r->text[r->pos];
        if (c == '\0' || c < 0x20)
            return NULL;
        r->pos++;
        if (c == '"')
            break;
        if (c != '\\') {
            *out++ = (char)c;
            continue;
        }
        char e = r->text[r->pos++];
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        const char *hit = e != '\0' ? strchr(from, e) : NULL;
        if (hit != NULL) {
            *out++ = to[hit - from];
        } else if (e == 'u') {
            long cp = read_unicode_escape(r);
            if (cp <= 0)
                return NULL;
            out += put_utf8(out, (unsigned long)cp);
        } else {
            return NULL;
        }
    }
    *out = '\0';
    return start;
}

static int read_scalar(json_reader *r, json_member *m) {
    char c = r->text[r->pos];
    if (c == '"') {
        m->type = JSON_STRING;
        m->value = read_string(r);
        return m->value ? 0 : JSON_E_SYNTAX;
    }
    if (c == '{' || c == '[')
        return JSON_E_NESTED;
    static const char *const words[] = {"true", "false", "null"};
    for (size_t i = 0; i < 3; i++) {
        size_t len = strlen(words[i]);
        if (strncmp(r->text + r->pos, words[i], len) == 0) {
            m->type = i < 2 ? JSON_BOOL : JSON_NULL;
            m->value = words[i];
            r->pos += len;
            return 0;
        }
    }
    char *end;
    strtod(r->text + r->pos, &end);
    if (end == r->text + r->pos || !(c == '-' || (c >= '0' && c <= '9')))
        return JSON_E_SYNTAX;
    m->type = JSON_NUMBER;
    m->value = r->text + r->pos;
    r->pos = (size_t)(end - r->text);
    return 0;
}

/* The number is terminated in place only after the separator after it was
 * read, since that separator is where the terminator goes. */
static void terminate_number(json_reader *r, json_member *m, size_t number_end) {
    if (m->type == JSON_NUMBER)
        r->text[number_end] = '\0';
}

int json_parse_flat(char *text, json_member *members, int max, size_t *where) {
    json_reader r = {.text = text};
    int n = 0, rc = JSON_E_SYNTAX;
    skip_space(&r);
    if (text[r.pos++] != '{')
        goto fail;
    skip_space(&r);
    if (text[r.pos] == '}') {
        r.pos++;
    } else {
        for (;;) {
            if (n == max) {
                rc = JSON_E_TOO_MANY;
                goto fail;
            }
            json_member *m = &members[n];
            rc = JSON_E_SYNTAX;
            if ((m->key = read_string(&r)) == NULL)
                goto fail;
            skip_space(&r);
            if (text[r.pos++] != ':')
                goto fail;
            skip_space(&r);
            if ((rc = read_scalar(&r, m)) < 0)
                goto fail;
            size_t value_end = r.pos;
            skip_space(&r);
            char sep = text[r.pos++];
            terminate_number(&r, m, value_end);
            n++;
            rc = JSON_E_SYNTAX;
            if (sep == '}')
                break;
            if (sep != ',')
                goto fail;
            skip_space(&r);
        }
    }
    skip_space(&r);
    if (text[r.pos] == '\0')
        return n;
fail:
    if (where)
        *where = r.pos;
    return rc;
}

const json_member *json_find(const json_member *members, int n, const char *key) {
    for (int i = 0; i < n; i++)
        if (strcmp(members[i].key, key) == 0)
            return &members[i];
    return NULL;
}

const char *json_strerror(int code) {
    switch (code) {
    case JSON_E_NESTED:
        return "only strings, numbers, true, false and null are accepted as values";
    case JSON_E_TOO_MANY:
        return "the object has too many members";
    default:
        return "not a JSON object";
    }
}
