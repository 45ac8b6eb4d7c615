/* The campaign module's validation of what admins type: calling-window
 * times, money and rates as decimal strings, and the array literals
 * (db_text_array) that carry product codes, team names and segments to
 * PostgreSQL. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "campaign.h"
#include "db.h"

static void test_clock_times(void **state) {
    (void)state;
    assert_int_equal(campaign_parse_clock("00:00"), 0);
    assert_int_equal(campaign_parse_clock("09:00"), 540);
    assert_int_equal(campaign_parse_clock("20:30"), 1230);
    assert_int_equal(campaign_parse_clock("23:59"), 1439);
    const char *bad[] = {"24:00", "9:00",  "09:60", "0900", "09:00:00",
                         "",      "ab:cd", "-1:00", "09.00"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (campaign_parse_clock(bad[i]) != -1)
            fail_msg("'%s' was taken for a time of day", bad[i]);
}

static void test_decimals(void **state) {
    (void)state;
    assert_true(campaign_valid_decimal("0", 2));
    assert_true(campaign_valid_decimal("300.00", 2));
    assert_true(campaign_valid_decimal("18.25", 3));
    assert_true(campaign_valid_decimal("18.255", 3));
    const char *bad[] = {"",    ".5", "5.", "1.234", "-1",        "1e3",
                         "1,5", " 1", "1 ", "0x10",  "1234567890"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (campaign_valid_decimal(bad[i], 2))
            fail_msg("'%s' was taken for a decimal with two places", bad[i]);
}

static void test_text_arrays(void **state) {
    (void)state;
    char out[64];
    char *none[] = {NULL};
    assert_true(db_text_array(out, sizeof out, none, 0));
    assert_string_equal(out, "{}");
    char *items[] = {"CB01", "一组", "say \"hi\"", "back\\slash", "a,b"};
    assert_true(db_text_array(out, sizeof out, items, 5));
    assert_string_equal(out, "{\"CB01\",\"一组\",\"say \\\"hi\\\"\",\"back\\\\slash\",\"a,b\"}");
    /* Too small: refused, never cut short into a different list. */
    for (size_t cap = 0; cap < strlen(out) + 1; cap++) {
        char small[64];
        if (db_text_array(small, cap, items, 5))
            fail_msg("a %zu-byte buffer was said to hold the literal", cap);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clock_times),
        cmocka_unit_test(test_decimals),
        cmocka_unit_test(test_text_arrays),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
