#define _XOPEN_SOURCE_EXTENDED 1
#include "lineedit.h"

#include <limits.h>
#include <string.h>

#include <ncurses.h>

#include "pii.h"

enum { CHAR_CTRL_H = 8, CHAR_CTRL_U = 21, CHAR_ESCAPE = 27, CHAR_DELETE = 127 };

void lineedit_reset(lineedit *e, size_t max) {
    pii_wipe(e->text, sizeof e->text);
    e->len = 0;
    e->max = max < LINEEDIT_MAX ? max : LINEEDIT_MAX;
}

static lineedit_result append(lineedit *e, wchar_t wc) {
    char mb[MB_LEN_MAX];
    mbstate_t state;
    memset(&state, 0, sizeof state);
    size_t n = wcrtomb(mb, wc, &state);
    lineedit_result r = LINEEDIT_EDITED;
    if (n == (size_t)-1) {
        return r;
    } else if (e->len + n > e->max) {
        r = LINEEDIT_TOO_LONG;
    } else {
        memcpy(e->text + e->len, mb, n);
        e->len += n;
        e->text[e->len] = '\0';
    }
    pii_wipe(mb, sizeof mb);
    return r;
}

/* Removes the last character, all of its UTF-8 bytes. */
static void erase_last(lineedit *e) {
    while (e->len > 0 && ((unsigned char)e->text[e->len - 1] & 0xC0) == 0x80)
        e->text[--e->len] = '\0';
    if (e->len > 0)
        e->text[--e->len] = '\0';
}

lineedit_result lineedit_key(lineedit *e, bool is_key_code, wint_t ch) {
    if (is_key_code) {
        if (ch == KEY_ENTER)
            return LINEEDIT_SUBMIT;
        if (ch == KEY_BACKSPACE)
            erase_last(e);
        return LINEEDIT_EDITED;
    }
    if (ch == L'\n' || ch == L'\r')
        return LINEEDIT_SUBMIT;
    if (ch == CHAR_ESCAPE)
        return LINEEDIT_CANCEL;
    if (ch == CHAR_DELETE || ch == CHAR_CTRL_H)
        erase_last(e);
    else if (ch == CHAR_CTRL_U)
        lineedit_reset(e, e->max);
    else if (ch >= L' ')
        return append(e, (wchar_t)ch);
    return LINEEDIT_EDITED;
}
