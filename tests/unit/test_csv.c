/* csv: RFC 4180 as lead lists really come: quotes, embedded commas and
 * line breaks, CRLF, a BOM, Chinese text, a last line without a break;
 * the same records however the bytes are split into chunks; errors with
 * the line they are on; bounded memory for any input; header mapping. */
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
    char text[8192];
    size_t len;
    unsigned records;
    unsigned stop_after; /* 0: never stop */
} collected;

static bool collect(const csv_record *r, void *arg) {
    collected *c = arg;
    c->len += (size_t)snprintf(c->text + c->len, sizeof c->text - c->len, "%u:", r->line);
    for (size_t i = 0; i < r->nfields; i++)
        c->len += (size_t)snprintf(c->text + c->len, sizeof c->text - c->len, "%s%s", i ? "|" : "",
                                   r->fields[i]);
    c->len += (size_t)snprintf(c->text + c->len, sizeof c->text - c->len, "\n");
    c->records++;
    return c->stop_after == 0 || c->records < c->stop_after;
}

/* Parses `in` fed `chunk` bytes at a time (0: all at once). */
static int parse(const char *in, size_t len, size_t chunk, collected *out) {
    csv_reader *r = malloc(sizeof *r);
    assert_non_null(r);
    memset(out, 0, sizeof *out);
    csv_init(r, collect, out);
    int rc = 0;
    for (size_t at = 0; at < len && rc == 0; at += chunk ? chunk : len) {
        size_t n = chunk && chunk < len - at ? chunk : len - at;
        rc = csv_feed(r, in + at, n);
    }
    if (rc == 0)
        rc = csv_finish(r);
    free(r);
    return rc;
}

static void expect(const char *in, const char *want) {
    size_t len = strlen(in);
    for (size_t chunk = 0; chunk <= len; chunk++) {
        collected got;
        int rc = parse(in, len, chunk, &got);
        if (rc != 0 || strcmp(got.text, want) != 0)
            fail_msg("chunks of %zu: rc %d, got\n%s\nwant\n%s", chunk, rc, got.text, want);
    }
}

static void test_plain_and_quoted(void **state) {
    (void)state;
    expect("name,phone\n张伟,13812345678\n", "1:name|phone\n2:张伟|13812345678\n");
    expect("a,b\r\nc,d\r\n", "1:a|b\n2:c|d\n");
    expect("a,b\nc,d", "1:a|b\n2:c|d\n");
    expect("\"x, y\",\"say \"\"hi\"\"\"\n", "1:x, y|say \"hi\"\n");
    expect("\"two\nlines\",z\nnext,row\n", "1:two\nlines|z\n3:next|row\n");
    expect("a,,c,\n", "1:a||c|\n");
    expect("a\n\n\nb\n", "1:a\n4:b\n");
    expect("\xEF\xBB\xBFname\n李娜\n", "1:name\n2:李娜\n");
    expect("\"\",x\n", "1:|x\n");
    expect("", "");
    expect("a\rb\n", "1:a\n1:b\n");
}

static void expect_error(const char *in, int code, unsigned line) {
    size_t len = strlen(in);
    for (size_t chunk = 0; chunk <= len; chunk++) {
        csv_reader *r = malloc(sizeof *r);
        collected got = {0};
        csv_init(r, collect, &got);
        int rc = 0;
        for (size_t at = 0; at < len && rc == 0; at += chunk ? chunk : len) {
            size_t n = chunk && chunk < len - at ? chunk : len - at;
            rc = csv_feed(r, in + at, n);
        }
        if (rc == 0)
            rc = csv_finish(r);
        unsigned at_line = r->line;
        free(r);
        if (rc != code || at_line != line)
            fail_msg("'%s' in chunks of %zu: rc %d at line %u, want %d at line %u", in, chunk, rc,
                     at_line, code, line);
        assert_non_null(csv_strerror(rc));
    }
}

static void test_errors_with_lines(void **state) {
    (void)state;
    expect_error("a,b\nc\"d,e\n", CSV_E_QUOTE, 2);
    expect_error("a\n\"b\"c\n", CSV_E_QUOTE, 2);
    expect_error("a\nb\n\"open\nstill\n", CSV_E_UNTERMINATED, 5);
    expect_error("ok\nbad\xff\n", CSV_E_UTF8, 2);
    expect_error("ok\n\xe5\xbc\n", CSV_E_UTF8, 2);
    expect_error("cut \xe5\xbc", CSV_E_UTF8, 1);
}

static void test_bounds(void **state) {
    (void)state;
    static char in[CSV_FIELD_MAX + 8];
    memset(in, 'x', CSV_FIELD_MAX);
    in[CSV_FIELD_MAX] = '\n';
    collected got;
    assert_int_equal(parse(in, CSV_FIELD_MAX + 1, 0, &got), 0);
    memset(in, 'x', CSV_FIELD_MAX + 1);
    assert_int_equal(parse(in, CSV_FIELD_MAX + 1, 0, &got), CSV_E_FIELD_LONG);
    char many[3 * CSV_FIELDS_MAX + 4];
    size_t n = 0;
    for (int i = 0; i <= CSV_FIELDS_MAX; i++)
        n += (size_t)snprintf(many + n, sizeof many - n, "%s1", i ? "," : "");
    assert_int_equal(parse(many, n, 0, &got), CSV_E_TOO_MANY);
}

/* A million rows stream through the same fixed-size reader: memory does
 * not depend on the input. */
static bool count_only(const csv_record *r, void *arg) {
    unsigned *count = arg;
    if (r->nfields != 3 || strcmp(r->fields[2], "VIP") != 0)
        return false;
    (*count)++;
    return true;
}

static void test_million_rows(void **state) {
    (void)state;
    csv_reader *r = malloc(sizeof *r);
    unsigned count = 0;
    csv_init(r, count_only, &count);
    char row[64];
    for (unsigned i = 0; i < 1000000; i++) {
        int len = snprintf(row, sizeof row, "\"客户%u\",139%08u,VIP\r\n", i, i);
        assert_int_equal(csv_feed(r, row, (size_t)len), 0);
    }
    assert_int_equal(csv_finish(r), 0);
    assert_int_equal(count, 1000000);
    assert_int_equal(r->line, 1000001);
    free(r);
}

static void test_stop(void **state) {
    (void)state;
    collected got;
    csv_reader *r = malloc(sizeof *r);
    memset(&got, 0, sizeof got);
    got.stop_after = 2;
    csv_init(r, collect, &got);
    assert_int_equal(csv_feed(r, "a\nb\nc\n", 6), CSV_E_STOPPED);
    assert_int_equal(got.records, 2);
    free(r);
}

static void test_header_mapping(void **state) {
    (void)state;
    const char *known[] = {"name", "phone", "tier"};
    int index[3];
    const char *cells[] = {" Phone ", "NAME"};
    csv_record header = {1, 2, cells};
    assert_int_equal(csv_map_header(&header, known, 3, index), -1);
    assert_int_equal(index[0], 1);
    assert_int_equal(index[1], 0);
    assert_int_equal(index[2], -1);
    const char *unknown[] = {"name", "colour"};
    csv_record bad = {1, 2, unknown};
    assert_int_equal(csv_map_header(&bad, known, 3, index), 1);
    const char *twice[] = {"name", "phone", "Name"};
    csv_record dup = {1, 3, twice};
    assert_int_equal(csv_map_header(&dup, known, 3, index), 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_quoted),
        cmocka_unit_test(test_errors_with_lines),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_million_rows),
        cmocka_unit_test(test_stop),
        cmocka_unit_test(test_header_mapping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
