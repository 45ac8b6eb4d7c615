/* Unit tests for common/json: string escaping (quotes, backslash, control
 * characters), UTF-8 passed through or repaired with U+FFFD, comma placement
 * in nested containers, and number formatting, including under a locale
 * whose decimal separator is not '.'. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "json.h"

#define FFFD "\xEF\xBF\xBD"

/* The writer's output so far as a C string (the buffer has no NUL). */
static const char *text_of(buf *b) {
    assert_int_equal(buf_append(b, "", 1), 0);
    b->len--;
    return (const char *)buf_head(b);
}

static void assert_escaped(const char *in, const char *expected) {
    buf b = BUF_INIT;
    json_escape(&b, in);
    assert_string_equal(text_of(&b), expected);
    buf_free(&b);
}

static void test_escape_quotes_and_backslash(void **state) {
    (void)state;
    assert_escaped("say \"hi\"", "say \\\"hi\\\"");
    assert_escaped("C:\\path\\", "C:\\\\path\\\\");
    assert_escaped("", "");
    assert_escaped("plain ascii / slash", "plain ascii / slash");
}

static void test_escape_control_characters(void **state) {
    (void)state;
    assert_escaped("a\nb\tc\rd\be\ff", "a\\nb\\tc\\rd\\be\\ff");
    assert_escaped("\x01\x1f", "\\u0001\\u001f");
    assert_escaped("del\x7f stays", "del\x7f stays");
}

static void test_utf8_passes_through(void **state) {
    (void)state;
    assert_escaped("张三", "张三");
    assert_escaped("客户：李四 ✓ 😀", "客户：李四 ✓ 😀");
    assert_escaped("\xF4\x8F\xBF\xBF", "\xF4\x8F\xBF\xBF"); /* U+10FFFF, the last code point */
}

static void test_invalid_utf8_replaced(void **state) {
    (void)state;
    assert_escaped("a\xFF"
                   "b",
                   "a" FFFD "b");
    assert_escaped("\x80", FFFD);
    /* A lead byte cut short by the end of the string or by ASCII. */
    assert_escaped("\xE5\xBC", FFFD);
    assert_escaped("\xE5\xBC"
                   "x",
                   FFFD "x");
    /* Overlong '/', a UTF-16 surrogate and a code point above U+10FFFF. */
    assert_escaped("\xC0\xAF", FFFD FFFD);
    assert_escaped("\xED\xA0\x80", FFFD FFFD FFFD);
    assert_escaped("\xF4\x90\x80\x80", FFFD FFFD FFFD FFFD);
    /* A valid character right after a broken one survives. */
    assert_escaped("\xE5张", FFFD "张");
}

static void test_nesting_and_commas(void **state) {
    (void)state;
    buf b = BUF_INIT;
    json_writer w;
    json_init(&w, &b);
    json_object_begin(&w);
    json_kv_string(&w, "name", "张三");
    json_key(&w, "empty");
    json_object_begin(&w);
    json_object_end(&w);
    json_key(&w, "list");
    json_array_begin(&w);
    json_int(&w, 1);
    json_array_begin(&w);
    json_array_end(&w);
    json_object_begin(&w);
    json_kv_bool(&w, "ok", true);
    json_kv_bool(&w, "bad", false);
    json_object_end(&w);
    json_null(&w);
    json_string(&w, NULL);
    json_array_end(&w);
    json_kv_int(&w, "n", -3);
    json_kv_uint(&w, "u", 4);
    json_object_end(&w);
    assert_string_equal(text_of(&b), "{\"name\":\"张三\",\"empty\":{},\"list\":[1,[],{\"ok\":true,"
                                     "\"bad\":false},null,null],\"n\":-3,\"u\":4}");
    assert_int_equal(w.depth, 0);
    buf_free(&b);
}

static void test_keys_are_escaped(void **state) {
    (void)state;
    buf b = BUF_INIT;
    json_writer w;
    json_init(&w, &b);
    json_object_begin(&w);
    json_kv_string(&w, "a\"b", "x\ny");
    json_object_end(&w);
    assert_string_equal(text_of(&b), "{\"a\\\"b\":\"x\\ny\"}");
    buf_free(&b);
}

static void test_integers(void **state) {
    (void)state;
    buf b = BUF_INIT;
    json_writer w;
    json_init(&w, &b);
    json_array_begin(&w);
    json_int(&w, INT64_MIN);
    json_int(&w, INT64_MAX);
    json_uint(&w, UINT64_MAX);
    json_int(&w, 0);
    json_array_end(&w);
    assert_string_equal(text_of(&b),
                        "[-9223372036854775808,9223372036854775807,18446744073709551615,0]");
    buf_free(&b);
}

/* Numbers as PostgreSQL writes them pass as they are; anything else is
 * null rather than broken JSON. */
static void test_number_text(void **state) {
    (void)state;
    buf b = BUF_INIT;
    json_writer w;
    json_init(&w, &b);
    json_array_begin(&w);
    const char *in[] = {"0", "-12", "0.6667", "180.0", "1e-5", "12.", ".5", "01", "NaN", "", "1,5"};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
        json_number_text(&w, in[i]);
    json_array_end(&w);
    assert_string_equal(text_of(&b), "[0,-12,0.6667,180.0,1e-5,null,null,null,null,null,null]");
    buf_free(&b);
}

static const char *doubles_text(buf *b) {
    json_writer w;
    json_init(&w, b);
    json_array_begin(&w);
    json_double(&w, 0.5);
    json_double(&w, 0.1);
    json_double(&w, 3.0);
    json_double(&w, -1.25e-7);
    json_double(&w, 1e300);
    json_double(&w, NAN);
    json_double(&w, INFINITY);
    json_array_end(&w);
    return text_of(b);
}

static void test_doubles(void **state) {
    (void)state;
    buf b = BUF_INIT;
    assert_string_equal(doubles_text(&b), "[0.5,0.1,3,-1.25e-07,1e+300,null,null]");
    buf_free(&b);
}

/* i18n_init sets LC_NUMERIC from the environment; a German locale must not
 * turn 0.5 into 0,5. Skipped where no such locale is installed. */
static void test_doubles_ignore_locale_decimal_comma(void **state) {
    (void)state;
    static const char *const comma_locales[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8",
                                                "ru_RU.UTF-8"};
    const char *found = NULL;
    for (size_t i = 0; i < sizeof comma_locales / sizeof comma_locales[0] && !found; i++)
        if (setlocale(LC_NUMERIC, comma_locales[i]) != NULL)
            found = comma_locales[i];
    if (found == NULL)
        skip();
    assert_string_equal(localeconv()->decimal_point, ",");
    buf b = BUF_INIT;
    const char *text = doubles_text(&b);
    setlocale(LC_NUMERIC, "C");
    assert_string_equal(text, "[0.5,0.1,3,-1.25e-07,1e+300,null,null]");
    buf_free(&b);
}

static void test_parse_flat_members(void **state) {
    (void)state;
    char text[] = " {\"cmd\" : \"passwd\",\"n\":-12.5e1, \"ok\":true,\"x\":null,\"e\":\"\"} ";
    json_member m[8];
    assert_int_equal(json_parse_flat(text, m, 8, NULL), 5);
    assert_string_equal(json_find(m, 5, "cmd")->value, "passwd");
    assert_int_equal(json_find(m, 5, "n")->type, JSON_NUMBER);
    assert_string_equal(json_find(m, 5, "n")->value, "-12.5e1");
    assert_int_equal(json_find(m, 5, "ok")->type, JSON_BOOL);
    assert_string_equal(json_find(m, 5, "ok")->value, "true");
    assert_int_equal(json_find(m, 5, "x")->type, JSON_NULL);
    assert_string_equal(json_find(m, 5, "e")->value, "");
    assert_null(json_find(m, 5, "missing"));
}

static void test_parse_flat_unescapes(void **state) {
    (void)state;
    /* 张 is U+5F20; U+1F600 needs a surrogate pair. */
    char text[] = "{\"s\":\"a\\\"b\\\\c\\n\\u5f20\\ud83d\\ude00\"}";
    json_member m[2];
    assert_int_equal(json_parse_flat(text, m, 2, NULL), 1);
    assert_string_equal(m[0].value, "a\"b\\c\n\xE5\xBC\xA0\xF0\x9F\x98\x80");
}

static void test_parse_flat_refuses(void **state) {
    (void)state;
    static const struct {
        const char *text;
        int code;
    } cases[] = {
        {"", JSON_E_SYNTAX},
        {"[1]", JSON_E_SYNTAX},
        {"{\"a\":1} x", JSON_E_SYNTAX},
        {"{\"a\":{}}", JSON_E_NESTED},
        {"{\"a\":[1]}", JSON_E_NESTED},
        {"{\"a\":1,}", JSON_E_SYNTAX},
        {"{\"a\" 1}", JSON_E_SYNTAX},
        {"{\"a\":\"unterminated}", JSON_E_SYNTAX},
        {"{\"a\":\"\\ud83d\"}", JSON_E_SYNTAX},
        {"{\"a\":\"\\u0000\"}", JSON_E_SYNTAX},
        {"{\"a\":\"\\q\"}", JSON_E_SYNTAX},
        {"{\"a\":tru}", JSON_E_SYNTAX},
        {"{\"a\":1,\"b\":2,\"c\":3}", JSON_E_TOO_MANY},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[64];
        snprintf(text, sizeof text, "%s", cases[i].text);
        json_member m[2];
        size_t where = 0;
        int rc = json_parse_flat(text, m, 2, &where);
        if (rc != cases[i].code)
            fail_msg("'%s': got %d, want %d", cases[i].text, rc, cases[i].code);
        assert_non_null(json_strerror(rc));
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_quotes_and_backslash),
        cmocka_unit_test(test_parse_flat_members),
        cmocka_unit_test(test_parse_flat_unescapes),
        cmocka_unit_test(test_parse_flat_refuses),
        cmocka_unit_test(test_escape_control_characters),
        cmocka_unit_test(test_utf8_passes_through),
        cmocka_unit_test(test_invalid_utf8_replaced),
        cmocka_unit_test(test_nesting_and_commas),
        cmocka_unit_test(test_keys_are_escaped),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_number_text),
        cmocka_unit_test(test_doubles),
        cmocka_unit_test(test_doubles_ignore_locale_decimal_comma),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
