/* phone_normalize: the ways lead lists write China mobile numbers, and
 * the ways they get them wrong; the masked form screens show. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "phone.h"
#include "pii.h"

static void test_accepted_forms(void **state) {
    (void)state;
    static const char *const forms[] = {
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+8613812345678",
        "+86 138 1234 5678",
        "008613812345678",
        "(0086)138.1234.5678",
        "8613812345678",
        " 13812345678 ",
        "\t138\t1234\t5678",
        "+86-138-1234-5678",
        "(+86) 138 1234 5678",
        "１３８１２３４５６７８",            /* full-width digits */
        "＋８６ １３８－１２３４－５６７８", /* full-width plus and dashes */
        "（０086）138\xE3\x80\x80"
        "1234 5678", /* full-width parentheses, ideographic space */
        "138\xC2\xA0"
        "1234\xC2\xA0"
        "5678", /* no-break spaces from a spreadsheet */
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        char out[PHONE_MAX] = "";
        if (phone_normalize(forms[i], out) != 0 || strcmp(out, "13812345678") != 0)
            fail_msg("form %zu gave '%s'", i, out);
    }
    static const char *const prefixes[] = {"13", "14", "15", "16", "17", "18", "19"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        char in[PHONE_MAX], out[PHONE_MAX];
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
        {"- ( ) .", PHONE_E_EMPTY},
        {"\xE3\x80\x80", PHONE_E_EMPTY},
        {"1381234567", PHONE_E_LENGTH},
        {"138123456789", PHONE_E_LENGTH},
        {"+8613812345", PHONE_E_LENGTH},
        {"00861381234567", PHONE_E_LENGTH},
        {"013812345678", PHONE_E_LENGTH},
        {"1381234567812345678901234567890", PHONE_E_LENGTH},
        {"12812345678", PHONE_E_PREFIX},
        {"10012345678", PHONE_E_PREFIX},
        {"23812345678", PHONE_E_PREFIX},
        {"86123456789", PHONE_E_PREFIX},
        {"8612812345678", PHONE_E_PREFIX},
        {"010-12345678", PHONE_E_PREFIX},
        {"+1 415 555 0100", PHONE_E_PREFIX},
        {"+85291234567", PHONE_E_PREFIX},
        {"+0086 13812345678", PHONE_E_PREFIX},
        {"138l2345678", PHONE_E_CHARS},
        {"138/1234/5678", PHONE_E_CHARS},
        {"13812345678+", PHONE_E_CHARS},
        {"++8613812345678", PHONE_E_CHARS},
        {"tel:13812345678", PHONE_E_CHARS},
        {"13812345678 ext 1", PHONE_E_CHARS},
        {"１３８１２３４５６７８Ａ", PHONE_E_CHARS}, /* a full-width letter */
        {"138\xEF\xBC", PHONE_E_CHARS},              /* a character cut short */
        {"138\xFF"
         "12345678",
         PHONE_E_CHARS},
        {"一三八一二三四五六七八", PHONE_E_CHARS},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[PHONE_MAX] = "untouched";
        int rc = phone_normalize(cases[i].in, out);
        if (rc != cases[i].code)
            fail_msg("case %zu ('%s'): got %d, want %d", i, cases[i].in, rc, cases[i].code);
        assert_string_equal(out, "untouched");
        /* The sentence never repeats the number it refuses. */
        assert_null(strstr(phone_strerror(rc), "1381234"));
        assert_ptr_not_equal(phone_strerror(rc), phone_strerror(-1000));
    }
    char out[PHONE_MAX];
    assert_int_equal(phone_normalize(NULL, out), PHONE_E_EMPTY);
}

/* Screens show the canonical number through pii_mask_phone. */
static void test_masked(void **state) {
    (void)state;
    char canonical[PHONE_MAX], masked[PHONE_MAX];
    assert_int_equal(phone_normalize("+86 139-8765-4321", canonical), 0);
    assert_int_equal(pii_mask_phone(canonical, masked, sizeof masked), PHONE_DIGITS);
    assert_string_equal(masked, "139****4321");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted_forms),
        cmocka_unit_test(test_refused_forms),
        cmocka_unit_test(test_masked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
