#include "phone.h"

#include <string.h>

/* Separators people type inside numbers: "138 1234 5678", "(0086)138-...". */
static int is_separator(char c) {
    return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '\t';
}

/* Collects the digits (and one leading '+') of `in`. Returns how many
 * digits, or a PHONE_E_* code. */
static int collect_digits(const char *in, char *digits, size_t cap, int *plus) {
    size_t n = 0;
    *plus = 0;
    for (const char *p = in; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            if (n + 1 >= cap)
                return PHONE_E_LENGTH;
            digits[n++] = *p;
        } else if (*p == '+' && n == 0 && !*plus) {
            *plus = 1;
        } else if (!is_separator(*p)) {
            return PHONE_E_CHARS;
        }
    }
    digits[n] = '\0';
    return n == 0 && !*plus ? PHONE_E_EMPTY : (int)n;
}

/* The national number once a country code is taken off: "+86..." and
 * "0086..." always have one; bare "86..." only when 13 digits long. */
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

int phone_normalize(const char *in, char out[PHONE_MAX]) {
    char digits[32];
    int plus;
    int rc = collect_digits(in, digits, sizeof digits, &plus);
    if (rc < 0)
        return rc;
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
