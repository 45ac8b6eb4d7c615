/* phone: China mobile numbers as customers and lead lists write them,
 * made canonical: eleven digits, 1[3-9]XXXXXXXXX. A "+86", "0086" or "86"
 * country code and spaces, dashes, dots and parentheses are accepted and
 * dropped. The canonical form is what is encrypted, hashed for look-ups
 * (do-not-call, duplicates) and masked for screens (pii_mask_phone).
 * Error sentences never repeat the number: it is personal data. */
#ifndef CALLFLOOR_PHONE_H
#define CALLFLOOR_PHONE_H

#include <stddef.h>

#define PHONE_DIGITS 11
#define PHONE_MAX    (PHONE_DIGITS + 1) /* with the NUL */

enum {
    PHONE_E_EMPTY = -1,  /* nothing but blanks */
    PHONE_E_CHARS = -2,  /* a character no phone number has */
    PHONE_E_LENGTH = -3, /* not eleven digits after the country code */
    PHONE_E_PREFIX = -4, /* eleven digits, but not a mobile number (1[3-9]...) */
};

/* Writes the canonical number to `out`. Returns 0 or a PHONE_E_* code. */
int phone_normalize(const char *in, char out[PHONE_MAX]);
const char *phone_strerror(int code);

#endif
