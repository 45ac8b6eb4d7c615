/* Unit tests for the reports' period check: dates are YYYY-MM-DD of real
 * days (leap years included), counted in days since 1970-01-01. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "report.h"

static void test_real_days(void **state) {
    (void)state;
    long d;
    assert_true(report_parse_date("2026-12-01", &d));
    assert_int_equal(d, 20788);
    assert_true(report_parse_date("2000-01-01", &d));
    assert_int_equal(d, 10957);
    assert_true(report_parse_date("2028-02-29", &d));
    long next;
    assert_true(report_parse_date("2028-03-01", &next));
    assert_int_equal(next - d, 1);
}

static void test_not_days(void **state) {
    (void)state;
    long d;
    const char *bad[] = {"2026-02-29", "2026-13-01", "2026-00-10",  "2026-04-31",
                         "2026-1-01",  "26-01-01",   "2026-01-01x", "",
                         "1999-12-31", "2026/01/01", "2026-+1-01",  "2026-1 -01"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(report_parse_date(bad[i], &d));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_days),
        cmocka_unit_test(test_not_days),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
