#include "phone.h"

#include <string.h>

#include "pii.h"

/* Separators people type inside numbers: "138 1234 5678", "(0086)138-...". */
static int is_separator(char c) {
    return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '\t';
}

/* The ASCII character `p` stands for, or 0 for one that no number has;
 * returns the bytes it takes. The full-width block U+FF01..U+FF3F is
 * ASCII 0x21..0x5F moved up, which is how Chinese input methods type
 * digits and punctuation; the ideographic and no-break spaces are blanks. */
static size_t next_char(const unsigned char *p, char *ascii) {
    if (p[0] < 0x80) {
        *ascii = (char)p[0];
        return 1;
    }
    if (p[0] == 0xEF && p[1] == 0xBC && p[2] >= 0x81 && p[2] <= 0xBF) {
        *ascii = (char)(p[2] - 0x60);
        return 3;
    }
    if (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80) {
        *ascii = ' ';
        return 3;
    }
    if (p[0] == 0xC2 && p[1] == 0xA0) {
        *ascii = ' ';
        return 2;
    }
    *ascii = 0;
    return 1;
}

/* Collects the digits (and one leading '+') of `in`. Returns how many
 * digits, or a PHONE_E_* code. */
static int collect_digits(const char *in, char *digits, size_t cap, int *plus) {
    size_t n = 0;
    *plus = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p != '\0';) {
        char c;
        p += next_char(p, &c);
        if (c >= '0' && c <= '9') {
            if (n + 1 >= cap)
                return PHONE_E_LENGTH;
            digits[n++] = c;
        } else if (c == '+' && n == 0 && !*plus) {
            *plus = 1;
        } else if (!is_separator(c)) {
            return PHONE_E_CHARS;
        }
    }
    digits[n] = '\0';
    return n == 0 && !*plus ? PHONE_E_EMPTY : (int)n;
}

/* The national number once a country code is taken off: "+86..." and
 * "0086..." always have one; bare "86..." only when 13 digits long, since
 * eleven digits starting 86 are simply not a mobile number. */
static const char *national(const char *digits, int plus) {
    size_t n = strlen(digits);
    if (plus)
        return strncmp(digits, "86", 2) == 0 ? digits + 2 : NULL;
    if (n == PHONE_DIGITS + 4 && strncmp(digits, "0086", 4) == 0)
        return digits + 4;
    if (n == PHONE_DIGITS + 2 && strncmp(digits, "86", 2) == 0)
        return digits + 2;
    return digits;
}

static int check_mobile(const char *digits, int plus, char out[PHONE_MAX]) {
    const char *number = national(digits, plus);
    if (number == NULL)
        return PHONE_E_PREFIX;
    if (strlen(number) != PHONE_DIGITS)
        return PHONE_E_LENGTH;
    if (number[0] != '1' || number[1] < '3' || number[1] > '9')
        return PHONE_E_PREFIX;
    memcpy(out, number, PHONE_MAX);
    return 0;
}

int phone_normalize(const char *in, char out[PHONE_MAX]) {
    if (in == NULL)
        return PHONE_E_EMPTY;
    char digits[32];
    int plus;
    int rc = collect_digits(in, digits, sizeof digits, &plus);
    if (rc >= 0)
        rc = check_mobile(digits, plus, out);
    pii_wipe(digits, sizeof digits);
    return rc;
}

const char *phone_strerror(int code) {
    switch (code) {
    case PHONE_E_EMPTY:
        return "the phone number is empty";
    case PHONE_E_CHARS:
        return "the phone number has characters other than digits, '+', spaces, dashes, dots "
               "and parentheses";
    case PHONE_E_LENGTH:
        return "the phone number does not have 11 digits after the country code";
    case PHONE_E_PREFIX:
        return "not a mainland China mobile number (11 digits starting 13-19, optionally "
               "+86 or 0086)";
    default:
        return "the phone number is not valid";
    }
}
