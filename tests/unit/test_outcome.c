/* The outcome module's checks made before the database: dispositions,
 * idempotency keys and the truthful-selling checklist named item by item. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "outcome.h"

static void test_dispositions(void **state) {
    (void)state;
    const char *good[] = {"NO_ANSWER",      "BUSY",     "WRONG_NUMBER",          "VOICEMAIL",
                          "NOT_INTERESTED", "CALLBACK", "APPLICATION_SUBMITTED", "INELIGIBLE",
                          "DNC_REQUEST",    "COMPLAINT"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(outcome_valid_disposition(good[i]));
    const char *bad[] = {"", "no_answer", "NO ANSWER", "SALE", "NO_ANSWER "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (outcome_valid_disposition(bad[i]))
            fail_msg("'%s' was taken for a disposition", bad[i]);
}

static void test_keys(void **state) {
    (void)state;
    assert_true(outcome_valid_key("abcdefgh"));
    assert_true(outcome_valid_key("0f3a-9b_Z0f3a9bZ"));
    char longest[65];
    memset(longest, 'k', 64);
    longest[64] = '\0';
    assert_true(outcome_valid_key(longest));
    char too_long[66];
    memset(too_long, 'k', 65);
    too_long[65] = '\0';
    const char *bad[] = {"",          "short",        "abcdefg", "with space1",
                         "quote'or1", "中文中文中文", too_long};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (outcome_valid_key(bad[i]))
            fail_msg("'%s' was taken for an idempotency key", bad[i]);
}

static void test_checklist(void **state) {
    (void)state;
    char missing[256];
    outcome_missing_disclosures(NULL, missing, sizeof missing);
    assert_string_equal(missing, "the whole checklist");
    Callfloor__Disclosure d = CALLFLOOR__DISCLOSURE__INIT;
    outcome_missing_disclosures(&d, missing, sizeof missing);
    assert_string_equal(missing, "identity stated, consent to record, annual fee, APR, interest "
                                 "and penalties, no pressure");
    d.identity_stated = d.recording_consent = d.no_pressure = true;
    outcome_missing_disclosures(&d, missing, sizeof missing);
    assert_string_equal(missing, "annual fee, APR, interest and penalties");
    d.annual_fee_stated = d.apr_stated = true;
    outcome_missing_disclosures(&d, missing, sizeof missing);
    assert_string_equal(missing, "");
    /* A short buffer is cut, never overrun. */
    char tiny[8];
    d.apr_stated = false;
    outcome_missing_disclosures(&d, tiny, sizeof tiny);
    assert_true(strlen(tiny) < sizeof tiny);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dispositions),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_checklist),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
