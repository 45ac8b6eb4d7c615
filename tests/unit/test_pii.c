/* Unit tests for common/pii: phone masking with and without the Chinese
 * country code, short numbers, separators, truncation to the caller's
 * buffer, and wiping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "pii.h"

static void assert_masked(const char *phone, const char *expected) {
    char out[32];
    size_t n = pii_mask_phone(phone, out, sizeof out);
    assert_string_equal(out, expected);
    assert_int_equal(n, strlen(expected));
}

static void test_mobile_number(void **state) {
    (void)state;
    assert_masked("13812345678", "138****5678");
}

static void test_country_code_dropped(void **state) {
    (void)state;
    assert_masked("+8613812345678", "138****5678");
    assert_masked("008613812345678", "138****5678");
}

static void test_short_numbers_fully_masked(void **state) {
    (void)state;
    assert_masked("1234567", "*******");
    assert_masked("110", "***");
    assert_masked("", "");
    assert_masked("+86", "");
}

static void test_eight_digits_show_head_and_tail(void **state) {
    (void)state;
    assert_masked("12345678", "123*5678");
    assert_masked("02161234567", "021****4567");
}

/* Separators and stray characters never reach the output. */
static void test_only_digits_and_stars_come_out(void **state) {
    (void)state;
    assert_masked("138-1234-5678", "138****5678");
    assert_masked("+86 138 1234 5678", "138****5678");
    assert_masked("ext. 12", "**");
}

static void test_truncation_always_terminated(void **state) {
    (void)state;
    char out[6];
    memset(out, 'X', sizeof out);
    assert_int_equal(pii_mask_phone("13812345678", out, sizeof out), 5);
    assert_string_equal(out, "138**");

    char one[1] = {'X'};
    assert_int_equal(pii_mask_phone("13812345678", one, sizeof one), 0);
    assert_int_equal(one[0], '\0');

    char exact[12];
    assert_int_equal(pii_mask_phone("13812345678", exact, sizeof exact), 11);
    assert_string_equal(exact, "138****5678");

    char guard[2] = {'G', 'G'};
    assert_int_equal(pii_mask_phone("13812345678", guard, 0), 0);
    assert_int_equal(guard[0], 'G');
}

static void test_wipe(void **state) {
    (void)state;
    char secret[] = "hunter2";
    pii_wipe(secret, sizeof secret);
    static const char zeros[sizeof secret] = {0};
    assert_memory_equal(secret, zeros, sizeof secret);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mobile_number),
        cmocka_unit_test(test_country_code_dropped),
        cmocka_unit_test(test_short_numbers_fully_masked),
        cmocka_unit_test(test_eight_digits_show_head_and_tail),
        cmocka_unit_test(test_only_digits_and_stars_come_out),
        cmocka_unit_test(test_truncation_always_terminated),
        cmocka_unit_test(test_wipe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
