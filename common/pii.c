#include "pii.h"

#include <string.h>

#define PII_KEEP_HEAD     3
#define PII_KEEP_TAIL     4
#define PII_MIN_TO_REVEAL 8

/* The country code says nothing about the person but would shift which
 * digits stay visible, so it goes before masking. */
static const char *skip_country_code(const char *phone) {
    static const char *const prefixes[] = {"+86", "0086"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(phone, prefixes[i], n) == 0)
            return phone + n;
    }
    return phone;
}

static int is_digit(char c) {
    return c >= '0' && c <= '9';
}

static size_t count_digits(const char *s) {
    size_t n = 0;
    for (; *s != '\0'; s++)
        n += is_digit(*s) ? 1 : 0;
    return n;
}

/* Only digits and '*' reach the output, so separators or stray text in the
 * stored value can never carry anything through. */
size_t pii_mask_phone(const char *phone, char *out, size_t cap) {
    if (cap == 0)
        return 0;
    const char *digits = skip_country_code(phone);
    size_t total = count_digits(digits);
    int reveal = total >= PII_MIN_TO_REVEAL;
    size_t written = 0;
    size_t index = 0;
    for (const char *p = digits; *p != '\0' && written + 1 < cap; p++) {
        if (!is_digit(*p))
            continue;
        int shown = reveal && (index < PII_KEEP_HEAD || index >= total - PII_KEEP_TAIL);
        out[written++] = shown ? *p : '*';
        index++;
    }
    out[written] = '\0';
    return written;
}

void pii_wipe(void *p, size_t len) {
    explicit_bzero(p, len);
}
