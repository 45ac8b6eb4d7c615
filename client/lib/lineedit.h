/* lineedit: one line typed on a curses screen (a password, a notice, a
 * number), kept as UTF-8 up to a byte limit: Backspace removes the last
 * character, Ctrl-U the whole line, Enter submits and Escape cancels. The
 * text may be a password, so every byte removed is wiped. */
#ifndef CALLFLOOR_LINEEDIT_H
#define CALLFLOOR_LINEEDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <wchar.h>

#define LINEEDIT_MAX 1024 /* bytes, not counting the NUL */

typedef enum lineedit_result {
    LINEEDIT_EDITED,   /* the key changed the line, or was ignored */
    LINEEDIT_TOO_LONG, /* the character did not fit and was dropped */
    LINEEDIT_SUBMIT,   /* Enter: the line is complete */
    LINEEDIT_CANCEL,   /* Escape */
} lineedit_result;

typedef struct lineedit {
    size_t len;
    size_t max; /* at most LINEEDIT_MAX */
    char text[LINEEDIT_MAX + 1];
} lineedit;

/* Empties (and wipes) the line, which from now on holds at most `max`
 * bytes. */
void lineedit_reset(lineedit *e, size_t max);
/* Applies one key as get_wch gave it: `is_key_code` for KEY_CODE_YES. */
lineedit_result lineedit_key(lineedit *e, bool is_key_code, wint_t ch);

#endif
