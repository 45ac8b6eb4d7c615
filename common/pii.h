/* pii: helpers that keep personal data out of places that do not need it. */
#ifndef CALLFLOOR_PII_H
#define CALLFLOOR_PII_H

#include <stddef.h>

/* Writes a masked phone number: the first 3 and last 4 digits kept, the
 * rest as '*' ("13812345678" -> "138****5678"); numbers of fewer than 8
 * digits are masked entirely. A "+86"/"0086" prefix is dropped. Always
 * NUL-terminates `out` when cap > 0. Returns the length written. */
size_t pii_mask_phone(const char *phone, char *out, size_t cap);
/* Overwrites `len` bytes in a way the compiler may not optimise away; used
 * for passwords and keys once they are no longer needed. */
void pii_wipe(void *p, size_t len);

#endif
