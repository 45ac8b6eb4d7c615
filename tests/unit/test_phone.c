/* phone_normalize: the ways lead lists write China mobile numbers, and
 * the ways they get them wrong. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "phone.h"

static void test_accepted_forms(void **state) {
    (void)state;
    static const char *const forms[] = {
        "13812345678",       "138 1234 5678",     "138-1234-5678",       "+8613812345678",
        "+86 138 1234 5678", "008613812345678",   "(0086)138.1234.5678", "8613812345678",
        " 13812345678 ",     "+86-138-1234-5678",
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        char out[PHONE_MAX] = "";
        if (phone_normalize(forms[i], out) != 0 || strcmp(out, "13812345678") != 0)
            fail_msg("'%s' gave '%s'", forms[i], out);
    }
    char out[PHONE_MAX];
    const char *prefixes[] = {"13", "14", "15", "16", "17", "18", "19"};
    for (size_t i = 0; i < 7; i++) {
        char in[16];
        memcpy(in, prefixes[i], 2);
        memcpy(in + 2, "912345678", 10);
        assert_int_equal(phone_normalize(in, out), 0);
        assert_string_equal(out, in);
    }
}

static void test_refused_forms(void **state) {
    (void)state;
    static const struct {
        const char *in;
        int code;
    } cases[] = {
        {"", PHONE_E_EMPTY},
        {"   ", PHONE_E_EMPTY},
        {"1381234567", PHONE_E_LENGTH},
        {"138123456789", PHONE_E_LENGTH},
        {"12812345678", PHONE_E_PREFIX},
        {"10012345678", PHONE_E_PREFIX},
        {"23812345678", PHONE_E_PREFIX},
        {"+1 415 555 0100", PHONE_E_PREFIX},
        {"+8613812345", PHONE_E_LENGTH},
        {"138l2345678", PHONE_E_CHARS},
        {"138/1234/5678", PHONE_E_CHARS},
        {"13812345678+", PHONE_E_CHARS},
        {"010-12345678", PHONE_E_PREFIX},
        {"1381234567812345678901234567890", PHONE_E_LENGTH},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[PHONE_MAX];
        int rc = phone_normalize(cases[i].in, out);
        if (rc != cases[i].code)
            fail_msg("'%s': got %d, want %d", cases[i].in, rc, cases[i].code);
        /* The sentence never repeats the number it refuses. */
        assert_null(strstr(phone_strerror(rc), "1381234"));
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted_forms),
        cmocka_unit_test(test_refused_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
