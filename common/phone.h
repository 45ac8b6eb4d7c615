/* phone: China mobile numbers as customers and lead lists write them,
 * made canonical: eleven digits, 1[3-9]XXXXXXXXX. A "+86", "0086" or "86"
 * country code and spaces, tabs, dashes, dots and parentheses are accepted
 * and dropped, in their ASCII forms and in the full-width forms Chinese
 * input methods type (１３８－１２３４ ５６７８, ＋８６, （ ）, the
 * ideographic space) as well as the no-break space spreadsheets paste.
 * The canonical form is what is encrypted and hashed (server/vault.h) and,
 * through pii_mask_phone (common/pii.h), masked for screens as
 * "138****5678". Error sentences never repeat the number: it is personal
 * data. */
#ifndef CALLFLOOR_PHONE_H
#define CALLFLOOR_PHONE_H

#include <stddef.h>

#define PHONE_DIGITS 11
#define PHONE_MAX    (PHONE_DIGITS + 1) /* with the NUL */

enum {
    PHONE_E_EMPTY = -1,  /* nothing but blanks (or NULL) */
    PHONE_E_CHARS = -2,  /* a character no phone number has */
    PHONE_E_LENGTH = -3, /* not eleven digits after the country code */
    PHONE_E_PREFIX = -4, /* not a mainland China mobile number: 1[3-9]..., or another country */
};

/* Writes the canonical number, NUL-terminated, to `out`. Returns 0 or a
 * PHONE_E_* code; on a code `out` is left as it was. */
int phone_normalize(const char *in, char out[PHONE_MAX]);
/* A sentence for a PHONE_E_* code, fit to follow "line N: ". */
const char *phone_strerror(int code);

#endif
