/* textfit: text from the server or the translations made fit for a
 * terminal cell grid. UTF-8 is decoded to wide characters for the curses
 * wide-character calls; characters that cannot be shown (control
 * characters, invalid bytes) become '?', so server text cannot move the
 * cursor or recolour the screen; and text wider than the space it has is
 * cut with an ellipsis, never through a double-width character (a Chinese
 * name takes two columns per character). */
#ifndef CALLFLOOR_TEXTFIT_H
#define CALLFLOOR_TEXTFIT_H

#include <stddef.h>
#include <wchar.h>

/* Writes at most `cap` - 1 wide characters of `s`, taking at most
 * `max_cols` columns, and a terminating L'\0' to `out` (cap > 0). Returns
 * the columns the written text takes. */
int textfit(const char *s, int max_cols, wchar_t *out, size_t cap);
/* Wraps `s` at `max_cols` columns: returns how many bytes of it make the
 * first line (up to the last blank that fits, or as many characters as
 * fit where no blank does, at least one), and sets *next to where the next
 * line starts (after the blanks). */
size_t textfit_wrap(const char *s, int max_cols, const char **next);

#endif
