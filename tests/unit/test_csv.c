/* csv: RFC 4180 as lead lists really come: quotes, embedded commas and
 * line breaks, CRLF and lone CRs, a BOM, Chinese text, a last line without
 * a break; the same records however the bytes are split into chunks;
 * errors with the line they are on; bounded memory for any input; header
 * mapping. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "csv.h"

/* Records rendered as "line:field|field\n" for comparison. */
typedef struct collected {
    char text[16384];
    size_t len;
    unsigned records;
    unsigned stop_after; /* 0: never stop */
} collected;

static bool collect(const csv_record *r, void *arg) {
    collected *c = arg;
    c->len += (size_t)snprintf(c->text + c->len, sizeof c->text - c->len, "%u:", r->line);
    for (size_t i = 0; i < r->nfields; i++) {
        assert_int_equal(r->lengths[i], strlen(r->fields[i]));
        c->len += (size_t)snprintf(c->text + c->len, sizeof c->text - c->len, "%s%s", i ? "|" : "",
                                   r->fields[i]);
    }
    c->len += (size_t)snprintf(c->text + c->len, sizeof c->text - c->len, "\n");
    assert_true(c->len < sizeof c->text);
    c->records++;
    return c->stop_after == 0 || c->records < c->stop_after;
}

/* A small deterministic generator, so a failing split can be replayed. */
static uint64_t next_random(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Parses `in` in chunks: `chunk` bytes each, 0 for all at once, or random
 * sizes from 1 to 16 when `seed` is not 0. Returns the reader for its line
 * and error; the caller frees it. */
static csv_reader *parse_split(const char *in, size_t len, size_t chunk, uint64_t seed,
                               collected *out, int *rc) {
    csv_reader *r = malloc(sizeof *r);
    assert_non_null(r);
    memset(out, 0, sizeof *out);
    csv_init(r, collect, out);
    *rc = 0;
    for (size_t at = 0; at < len && *rc == 0;) {
        size_t want = seed ? 1 + next_random(&seed) % 16 : chunk ? chunk : len;
        size_t n = want < len - at ? want : len - at;
        *rc = csv_feed(r, in + at, n);
        at += n;
    }
    if (*rc == 0)
        *rc = csv_finish(r);
    return r;
}

static int parse(const char *in, size_t len, size_t chunk, collected *out) {
    int rc;
    free(parse_split(in, len, chunk, 0, out, &rc));
    return rc;
}

/* Every chunk size from all-at-once down to byte by byte. */
static void expect(const char *in, const char *want) {
    size_t len = strlen(in);
    for (size_t chunk = 0; chunk <= len; chunk++) {
        collected *got = malloc(sizeof *got);
        int rc = parse(in, len, chunk, got);
        if (rc != 0 || strcmp(got->text, want) != 0)
            fail_msg("'%s' in chunks of %zu: rc %d, got\n%s\nwant\n%s", in, chunk, rc, got->text,
                     want);
        free(got);
    }
}

static void test_plain_and_quoted(void **state) {
    (void)state;
    expect("name,phone\n张伟,13812345678\n", "1:name|phone\n2:张伟|13812345678\n");
    expect("a,b\r\nc,d\r\n", "1:a|b\n2:c|d\n");
    expect("a,b\nc,d", "1:a|b\n2:c|d\n");
    expect("\"x, y\",\"say \"\"hi\"\"\"\n", "1:x, y|say \"hi\"\n");
    expect("\"\"\"\"\n", "1:\"\n");
    expect("\"two\nlines\",z\nnext,row\n", "1:two\nlines|z\n3:next|row\n");
    expect("\"x\r\ny\"\r\nz\r\n", "1:x\r\ny\n3:z\n");
    expect("\"a\rb\",c\rnext\n", "1:a\rb|c\n3:next\n");
    expect("a,,c,\n", "1:a||c|\n");
    expect(",\n,,\n", "1:|\n2:||\n");
    expect(" a , b \n", "1: a | b \n");
    expect("a\n\n\nb\n", "1:a\n4:b\n");
    expect("a\r\n\r\n\r\nb\r\n", "1:a\n4:b\n");
    expect("a\rb\n", "1:a\n2:b\n");
    expect("a\r", "1:a\n");
    expect("\"q\"", "1:q\n");
    expect("\"\",x\n", "1:|x\n");
    expect("\"\"\r\nx\r\n", "1:\n2:x\n");
    expect("x\n\"\"", "1:x\n2:\n");
    expect("", "");
    expect("\n\n", "");
    expect("😀,ü\n", "1:😀|ü\n");
}

static void test_byte_order_mark(void **state) {
    (void)state;
    expect("\xEF\xBB\xBFname\n李娜\n", "1:name\n2:李娜\n");
    expect("\xEF\xBB\xBF\"name\",x\r\n", "1:name|x\n");
    expect("\xEF\xBB\xBF", "");
    /* U+FEFE starts like a byte order mark but is a character. */
    expect("\xEF\xBB\xBE,x\n", "1:\xEF\xBB\xBE|x\n");
    /* Only at the very start: later it is data. */
    expect("a\n\xEF\xBB\xBF"
           "b\n",
           "1:a\n2:\xEF\xBB\xBF"
           "b\n");
}

/* One input with every feature, split at random places many times. */
static void test_random_splits(void **state) {
    (void)state;
    static const char in[] = "\xEF\xBB\xBFname,phone,note\r\n"
                             "张伟,+86 138 1234 5678,\"说 \"\"你好\"\", then\r\nleft\"\r\n"
                             "\"李\nNa\",13912345678,\r\n"
                             "\r\n"
                             "王芳,\"\",\"a,b\"\n"
                             "x\ry,\"\"\"\"\n"
                             "last,\"no break\"";
    static const char want[] = "1:name|phone|note\n"
                               "2:张伟|+86 138 1234 5678|说 \"你好\", then\r\nleft\n"
                               "4:李\nNa|13912345678|\n"
                               "7:王芳||a,b\n"
                               "8:x\n"
                               "9:y|\"\n"
                               "10:last|no break\n";
    collected *got = malloc(sizeof *got);
    for (uint64_t seed = 1; seed <= 2000; seed++) {
        int rc;
        free(parse_split(in, sizeof in - 1, 0, seed, got, &rc));
        if (rc != 0 || strcmp(got->text, want) != 0)
            fail_msg("seed %llu: rc %d, got\n%s", (unsigned long long)seed, rc, got->text);
    }
    int rc;
    free(parse_split(in, sizeof in - 1, 1, 0, got, &rc));
    assert_int_equal(rc, 0);
    assert_string_equal(got->text, want);
    free(got);
}

static void expect_error_n(const char *in, size_t len, int code, unsigned line) {
    for (size_t chunk = 0; chunk <= len; chunk++) {
        collected *got = malloc(sizeof *got);
        int rc;
        csv_reader *r = parse_split(in, len, chunk, 0, got, &rc);
        unsigned at_line = r->line;
        /* The error sticks: nothing more is read after it. */
        int again = csv_feed(r, "a\n", 2);
        int finished = csv_finish(r);
        free(r);
        free(got);
        if (rc != code || at_line != line || again != code || finished != code)
            fail_msg("'%s' in chunks of %zu: rc %d at line %u (then %d, %d), want %d at line %u",
                     in, chunk, rc, at_line, again, finished, code, line);
    }
    /* Each code has its own sentence. */
    assert_ptr_not_equal(csv_strerror(code), csv_strerror(-1000));
}

static void expect_error(const char *in, int code, unsigned line) {
    expect_error_n(in, strlen(in), code, line);
}

static void test_errors_with_lines(void **state) {
    (void)state;
    expect_error("a,b\nc\"d,e\n", CSV_E_QUOTE, 2);
    expect_error("a\n\"b\"c\n", CSV_E_QUOTE, 2);
    expect_error("a\n\"b\" ,c\n", CSV_E_QUOTE, 2);
    expect_error("\"x\ny\"z\n", CSV_E_QUOTE, 2);
    expect_error("a\rb\r\"c\"\"d\"e\r", CSV_E_QUOTE, 3);
    expect_error("a\nb\n\"open\nstill\n", CSV_E_UNTERMINATED, 3);
    expect_error("a,\"open", CSV_E_UNTERMINATED, 1);
    expect_error("ok\nbad\xff\n", CSV_E_UTF8, 2);
    expect_error("ok\n\xe5\xbc\n", CSV_E_UTF8, 2);
    expect_error("cut \xe5\xbc", CSV_E_UTF8, 1);
    expect_error("\x80", CSV_E_UTF8, 1);
    expect_error("\xEF\xBB", CSV_E_UTF8, 1);
    expect_error("x\r\n\xC0\xAF\r\n", CSV_E_UTF8, 2);   /* overlong '/' */
    expect_error("x\n\n\xE0\x80\xAF\n", CSV_E_UTF8, 3); /* overlong, three bytes */
    expect_error("\xED\xA0\x80\n", CSV_E_UTF8, 1);      /* a UTF-16 surrogate */
    expect_error("\xF0\x8F\xBF\xBF\n", CSV_E_UTF8, 1);  /* overlong, four bytes */
    expect_error("\xF4\x90\x80\x80\n", CSV_E_UTF8, 1);  /* past U+10FFFF */
    expect_error("\xF5\x80\x80\x80\n", CSV_E_UTF8, 1);
    expect_error("\"\xE4\xB8\nx\"\n", CSV_E_UTF8, 1); /* cut short inside quotes */
    expect_error_n("a\nb\0c\n", 6, CSV_E_NUL, 2);
    expect_error_n("\xFF\xFEn\0a\0", 6, CSV_E_UTF8, 1); /* UTF-16 text */
}

static void test_bounds(void **state) {
    (void)state;
    static char in[CSV_FIELD_MAX + 8];
    collected *got = malloc(sizeof *got);
    memset(in, 'x', CSV_FIELD_MAX);
    in[CSV_FIELD_MAX] = '\n';
    assert_int_equal(parse(in, CSV_FIELD_MAX + 1, 0, got), 0);
    assert_int_equal(got->records, 1);
    memset(in, 'x', CSV_FIELD_MAX + 1);
    assert_int_equal(parse(in, CSV_FIELD_MAX + 1, 0, got), CSV_E_FIELD_LONG);
    in[0] = '"'; /* then CSV_FIELD_MAX 'x': a quoted field at its largest */
    in[CSV_FIELD_MAX + 1] = '"';
    assert_int_equal(parse(in, CSV_FIELD_MAX + 2, 0, got), 0);
    in[CSV_FIELD_MAX + 1] = 'x';
    in[CSV_FIELD_MAX + 2] = '"';
    assert_int_equal(parse(in, CSV_FIELD_MAX + 3, 0, got), CSV_E_FIELD_LONG);

    char many[3 * CSV_FIELDS_MAX + 4];
    size_t n = 0;
    for (int i = 0; i < CSV_FIELDS_MAX; i++)
        n += (size_t)snprintf(many + n, sizeof many - n, "%s1", i ? "," : "");
    assert_int_equal(parse(many, n, 0, got), 0);
    many[n] = ',';
    assert_int_equal(parse(many, n + 1, 0, got), CSV_E_TOO_MANY); /* the ',' after the last */
    free(got);
}

/* Every field at its largest, each one quoted and full of doubled quotes:
 * the worst a record can ask of the buffer. */
static bool check_full_record(const csv_record *r, void *arg) {
    (void)arg;
    assert_int_equal(r->nfields, CSV_FIELDS_MAX);
    for (size_t i = 0; i < r->nfields; i++) {
        assert_int_equal(r->lengths[i], CSV_FIELD_MAX);
        assert_int_equal(r->fields[i][0], '"');
        assert_int_equal(r->fields[i][CSV_FIELD_MAX - 1], 'a' + (int)(i % 26));
    }
    return true;
}

static void test_largest_record(void **state) {
    (void)state;
    size_t field = 2 + 2 + (CSV_FIELD_MAX - 1); /* "", "" and the rest */
    char *in = malloc(CSV_FIELDS_MAX * (field + 1));
    size_t n = 0;
    for (size_t i = 0; i < CSV_FIELDS_MAX; i++) {
        in[n++] = '"';
        in[n++] = '"';
        in[n++] = '"';
        memset(in + n, 'a' + (int)(i % 26), CSV_FIELD_MAX - 1);
        n += CSV_FIELD_MAX - 1;
        in[n++] = '"';
        in[n++] = i + 1 < CSV_FIELDS_MAX ? ',' : '\n';
    }
    csv_reader *r = malloc(sizeof *r);
    csv_init(r, check_full_record, NULL);
    assert_int_equal(csv_feed(r, in, n), 0);
    assert_int_equal(csv_finish(r), 0);
    free(r);
    free(in);
}

/* A hostile file, a quote that never closes, is refused as soon as the
 * field passes its limit, not at the end of the file. */
static void test_hostile_quote(void **state) {
    (void)state;
    size_t size = 1 << 20;
    char *in = malloc(size);
    memset(in, 'x', size);
    in[0] = '"';
    csv_reader *r = malloc(sizeof *r);
    collected *got = malloc(sizeof *got);
    memset(got, 0, sizeof *got);
    csv_init(r, collect, got);
    assert_int_equal(csv_feed(r, in, size), CSV_E_FIELD_LONG);
    assert_int_equal(r->len, CSV_FIELD_MAX);
    assert_int_equal(got->records, 0);
    free(got);
    free(r);
    free(in);
}

/* A million rows stream through one reader in 64 KiB chunks that cut
 * records anywhere. Every 1000th row has a line break inside quotes, so
 * record numbers and line numbers drift apart as they do in real files. */
typedef struct million {
    const csv_reader *reader;
    unsigned rows;
    unsigned next_line;
    size_t most_buffered;
} million;

static bool check_row(const csv_record *r, void *arg) {
    million *m = arg;
    if (r->line != m->next_line || r->nfields != 3 || strcmp(r->fields[2], "VIP") != 0)
        fail_msg("row %u: line %u, want %u, %zu fields", m->rows, r->line, m->next_line,
                 r->nfields);
    if (m->reader->len > m->most_buffered)
        m->most_buffered = m->reader->len;
    m->next_line += m->rows % 1000 == 999 ? 2 : 1;
    m->rows++;
    return true;
}

static size_t make_row(unsigned i, char *out, size_t cap) {
    const char *name = i % 1000 == 999 ? "客户\n%u" : "客户%u";
    char quoted[32];
    snprintf(quoted, sizeof quoted, name, i);
    return (size_t)snprintf(out, cap, "\"%s\",139%08u,VIP\r\n", quoted, i);
}

static void test_million_rows(void **state) {
    (void)state;
    csv_reader *r = malloc(sizeof *r);
    million m = {r, 0, 1, 0};
    csv_init(r, check_row, &m);
    static char chunk[65536];
    size_t used = 0;
    for (unsigned i = 0; i < 1000000; i++) {
        char row[64];
        size_t len = make_row(i, row, sizeof row);
        size_t first = len < sizeof chunk - used ? len : sizeof chunk - used;
        memcpy(chunk + used, row, first);
        used += first;
        if (used == sizeof chunk) {
            assert_int_equal(csv_feed(r, chunk, used), 0);
            memcpy(chunk, row + first, len - first);
            used = len - first;
        }
    }
    assert_int_equal(csv_feed(r, chunk, used), 0);
    assert_int_equal(csv_finish(r), 0);
    assert_int_equal(m.rows, 1000000);
    assert_int_equal(r->line, 1001001);
    /* What the reader holds is one record, never the ones before it. */
    assert_true(m.most_buffered < 64);
    free(r);
}

static void test_stop(void **state) {
    (void)state;
    collected *got = malloc(sizeof *got);
    csv_reader *r = malloc(sizeof *r);
    memset(got, 0, sizeof *got);
    got->stop_after = 2;
    csv_init(r, collect, got);
    assert_int_equal(csv_feed(r, "a\nb\nc\n", 6), CSV_E_STOPPED);
    assert_int_equal(got->records, 2);
    assert_int_equal(csv_feed(r, "d\n", 2), CSV_E_STOPPED);
    assert_int_equal(csv_finish(r), CSV_E_STOPPED);
    assert_int_equal(got->records, 2);
    free(r);
    free(got);
}

/* The header of a real file, through the reader. */
typedef struct header_case {
    int rc;
    size_t bad;
    int index[4];
} header_case;

static const char *const known[] = {"name", "phone", "tier", "external id"};

static bool map_first(const csv_record *r, void *arg) {
    header_case *h = arg;
    h->bad = 99;
    h->rc = csv_map_header(r, known, 4, h->index, &h->bad);
    return false;
}

static header_case map(const char *text) {
    header_case h;
    csv_reader *r = malloc(sizeof *r);
    csv_init(r, map_first, &h);
    int rc = csv_feed(r, text, strlen(text));
    if (rc == 0)
        rc = csv_finish(r);
    assert_int_equal(rc, CSV_E_STOPPED);
    free(r);
    return h;
}

/* Writing: a field is quoted only when it must be, and what is written
 * reads back as it was. */
static void test_append_field(void **state) {
    (void)state;
    const char *in[] = {"plain", "张伟", "a,b", "say \"hi\"", "two\nlines", " padded", "", "\"\""};
    const char *want[] = {"plain",          "张伟",        "\"a,b\"", "\"say \"\"hi\"\"\"",
                          "\"two\nlines\"", "\" padded\"", "",        "\"\"\"\"\"\""};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        buf b = BUF_INIT;
        assert_int_equal(csv_append_field(&b, in[i]), 0);
        assert_int_equal(buf_append(&b, "", 1), 0);
        assert_string_equal((const char *)buf_head(&b), want[i]);
        buf_free(&b);
    }
}

static void test_header_mapping(void **state) {
    (void)state;
    header_case h = map("\xEF\xBB\xBF Phone ,NAME,\"External ID\"\r\n");
    assert_int_equal(h.rc, 0);
    assert_int_equal(h.index[0], 1);
    assert_int_equal(h.index[1], 0);
    assert_int_equal(h.index[2], -1);
    assert_int_equal(h.index[3], 2);
    h = map("name,phone,,\t\n");
    assert_int_equal(h.rc, 0);
    assert_int_equal(h.index[1], 1);
    h = map("name,colour,phone\n");
    assert_int_equal(h.rc, CSV_E_HEADER_UNKNOWN);
    assert_int_equal(h.bad, 1);
    h = map("name,phone,Name\n");
    assert_int_equal(h.rc, CSV_E_HEADER_DUPLICATE);
    assert_int_equal(h.bad, 2);
    h = map("names\n");
    assert_int_equal(h.rc, CSV_E_HEADER_UNKNOWN);
    assert_int_equal(h.bad, 0);
    assert_non_null(strstr(csv_strerror(CSV_E_HEADER_DUPLICATE), "twice"));
}

/* Lines marked bad, as "line!:fields," for each record (! when invalid_utf8). */
static bool collect_bad(const csv_record *r, void *arg) {
    collected *c = arg;
    c->len += (size_t)snprintf(c->text + c->len, sizeof c->text - c->len, "%u%s:%zu,", r->line,
                               r->invalid_utf8 ? "!" : "", r->nfields);
    return true;
}

/* Tolerating bad UTF-8: the bad records are marked, every record and line
 * break is still found, and the reading goes on to the end. */
static void test_tolerated_utf8(void **state) {
    (void)state;
    const struct {
        const char *in;
        const char *want;
    } cases[] = {
        {"ok\nbad\xff\nok,2\n", "1:1,2!:1,3:2,"},
        {"a\xe5\xbc,b\nc\n", "1!:2,2:1,"},         /* cut short by a comma */
        {"\"x\xe5\xbc\ny\",z\nw\n", "1!:2,3:1,"},  /* inside quotes, over a line break */
        {"\xC0\xAF\r\nok\r\n", "1!:1,2:1,"},       /* overlong */
        {"ok\ncut \xe5\xbc", "1:1,2!:1,"},         /* at the very end */
        {"\xef\xbb\xbfname\n\xff\n", "1:1,2!:1,"}, /* after a byte order mark */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        collected out;
        memset(&out, 0, sizeof out);
        csv_reader *r = malloc(sizeof *r);
        assert_non_null(r);
        csv_init(r, collect_bad, &out);
        csv_tolerate_bad_utf8(r);
        int rc = csv_feed(r, cases[k].in, strlen(cases[k].in));
        if (rc == 0)
            rc = csv_finish(r);
        free(r);
        if (rc != 0 || strcmp(out.text, cases[k].want) != 0)
            fail_msg("case %zu: rc %d, got '%s', want '%s'", k, rc, out.text, cases[k].want);
    }
    /* NUL is refused all the same: PostgreSQL text cannot hold it. */
    collected out;
    memset(&out, 0, sizeof out);
    csv_reader *r = malloc(sizeof *r);
    assert_non_null(r);
    csv_init(r, collect_bad, &out);
    csv_tolerate_bad_utf8(r);
    assert_int_equal(csv_feed(r, "a\0b\n", 4), CSV_E_NUL);
    free(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_quoted),
        cmocka_unit_test(test_byte_order_mark),
        cmocka_unit_test(test_random_splits),
        cmocka_unit_test(test_errors_with_lines),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_largest_record),
        cmocka_unit_test(test_hostile_quote),
        cmocka_unit_test(test_million_rows),
        cmocka_unit_test(test_stop),
        cmocka_unit_test(test_header_mapping),
        cmocka_unit_test(test_append_field),
        cmocka_unit_test(test_tolerated_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
