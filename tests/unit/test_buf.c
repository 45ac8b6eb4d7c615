/* Unit tests for common/buf: appending, consuming with compaction, reserving,
 * formatted appends longer than the first allocation, reset and free. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "buf.h"

static void test_append_and_head(void **state) {
    (void)state;
    buf b = BUF_INIT;
    assert_int_equal(buf_append(&b, "abc", 3), 0);
    assert_int_equal(buf_append_str(&b, "def"), 0);
    assert_int_equal(buf_append(&b, NULL, 0), 0);
    assert_int_equal(buf_pending(&b), 6);
    assert_memory_equal(buf_head(&b), "abcdef", 6);
    buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
}

static void test_consume_then_compact(void **state) {
    (void)state;
    buf b = BUF_INIT;
    assert_int_equal(buf_append_str(&b, "hello world"), 0);
    buf_consume(&b, 6);
    assert_int_equal(buf_pending(&b), 5);
    assert_memory_equal(buf_head(&b), "world", 5);
    assert_int_equal(b.off, 6);
    uint8_t *storage = b.data;
    buf_consume(&b, 100);
    assert_int_equal(buf_pending(&b), 0);
    assert_int_equal(b.off, 0);
    assert_int_equal(b.len, 0);
    assert_ptr_equal(b.data, storage);
    assert_int_equal(buf_append_str(&b, "again"), 0);
    assert_memory_equal(b.data, "again", 5);
    buf_free(&b);
}

static void test_reserve(void **state) {
    (void)state;
    buf b = BUF_INIT;
    assert_int_equal(buf_reserve(&b, 1000), 0);
    assert_true(b.cap >= 1000);
    assert_int_equal(b.len, 0);
    uint8_t *storage = b.data;
    memset(b.data, 'x', 1000);
    b.len = 1000;
    assert_int_equal(buf_reserve(&b, 0), 0);
    assert_ptr_equal(b.data, storage);
    assert_int_equal(buf_reserve(&b, 5000), 0);
    assert_true(b.cap - b.len >= 5000);
    assert_int_equal(b.data[999], 'x');
    assert_int_equal(buf_reserve(&b, SIZE_MAX), -ENOMEM);
    assert_int_equal(b.len, 1000);
    buf_free(&b);
}

static void test_append_too_much_leaves_buffer_unchanged(void **state) {
    (void)state;
    buf b = BUF_INIT;
    assert_int_equal(buf_append_str(&b, "keep"), 0);
    assert_int_equal(buf_append(&b, "x", SIZE_MAX - 1), -ENOMEM);
    assert_int_equal(buf_pending(&b), 4);
    assert_memory_equal(buf_head(&b), "keep", 4);
    buf_free(&b);
}

static void test_appendf(void **state) {
    (void)state;
    buf b = BUF_INIT;
    assert_int_equal(buf_appendf(&b, "%s=%d", "n", 42), 0);
    assert_int_equal(buf_appendf(&b, ";%05.1f", 2.25), 0);
    assert_int_equal(buf_pending(&b), strlen("n=42;002.2"));
    assert_memory_equal(buf_head(&b), "n=42;002.2", strlen("n=42;002.2"));
    assert_int_equal(buf_appendf(&b, "%s", ""), 0);
    assert_int_equal(buf_pending(&b), strlen("n=42;002.2"));
    buf_free(&b);
}

/* Longer than any first allocation, so the text must survive a regrowth. */
static void test_appendf_long(void **state) {
    (void)state;
    char word[5000];
    memset(word, 'w', sizeof word - 1);
    word[sizeof word - 1] = '\0';
    buf b = BUF_INIT;
    assert_int_equal(buf_append_str(&b, "<"), 0);
    assert_int_equal(buf_appendf(&b, "%s>", word), 0);
    assert_int_equal(buf_pending(&b), sizeof word + 1);
    assert_int_equal(buf_head(&b)[0], '<');
    assert_memory_equal(buf_head(&b) + 1, word, sizeof word - 1);
    assert_int_equal(buf_head(&b)[sizeof word], '>');
    buf_free(&b);
}

static void test_reset_keeps_storage(void **state) {
    (void)state;
    buf b = BUF_INIT;
    assert_int_equal(buf_append_str(&b, "something"), 0);
    buf_consume(&b, 2);
    uint8_t *storage = b.data;
    size_t cap = b.cap;
    buf_reset(&b);
    assert_int_equal(buf_pending(&b), 0);
    assert_int_equal(b.off, 0);
    assert_ptr_equal(b.data, storage);
    assert_int_equal(b.cap, cap);
    buf_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_head),
        cmocka_unit_test(test_consume_then_compact),
        cmocka_unit_test(test_reserve),
        cmocka_unit_test(test_append_too_much_leaves_buffer_unchanged),
        cmocka_unit_test(test_appendf),
        cmocka_unit_test(test_appendf_long),
        cmocka_unit_test(test_reset_keeps_storage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
