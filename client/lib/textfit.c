/* wcwidth is an X/Open function. */
#define _XOPEN_SOURCE 700
#include "textfit.h"

#include <stdbool.h>
#include <string.h>

#define ELLIPSIS L'\u2026'

/* Decodes the next character of s[*i..len), advancing *i; an invalid or
 * unprintable one comes back as '?' one column wide. */
static wchar_t next_char(const char *s, size_t len, size_t *i, mbstate_t *state, int *cols) {
    wchar_t wc;
    size_t n = mbrtowc(&wc, s + *i, len - *i, state);
    if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
        memset(state, 0, sizeof *state);
        *i += 1;
        *cols = 1;
        return L'?';
    }
    *i += n;
    *cols = wcwidth(wc);
    if (*cols < 0) {
        *cols = 1;
        return L'?';
    }
    return wc;
}

/* The ellipsis takes one column where the locale can show it. */
static wchar_t ellipsis(void) {
    return wcwidth(ELLIPSIS) == 1 ? ELLIPSIS : L'~';
}

int textfit(const char *s, int max_cols, wchar_t *out, size_t cap) {
    mbstate_t state;
    memset(&state, 0, sizeof state);
    size_t len = strlen(s), i = 0, n = 0;
    int used = 0;
    /* Where the text stood when it last left room for an ellipsis. */
    size_t n_at_room = 0;
    int used_at_room = 0;
    bool cut = false;
    while (i < len && n + 1 < cap) {
        int cols;
        wchar_t wc = next_char(s, len, &i, &state, &cols);
        if (used + cols > max_cols) {
            cut = true;
            break;
        }
        if (used + cols <= max_cols - 1) {
            n_at_room = n + 1;
            used_at_room = used + cols;
        }
        out[n++] = wc;
        used += cols;
    }
    /* Cut by columns, n < cap - 1 still: the ellipsis fits after n_at_room. */
    if (cut && max_cols >= 1) {
        n = n_at_room;
        used = used_at_room;
        out[n++] = ellipsis();
        used += 1;
    }
    out[n] = L'\0';
    return used;
}

size_t textfit_wrap(const char *s, int max_cols, const char **next) {
    mbstate_t state;
    memset(&state, 0, sizeof state);
    size_t len = strlen(s), i = 0, end = len, blank = 0;
    int used = 0;
    while (i < len) {
        size_t start = i;
        int cols;
        wchar_t wc = next_char(s, len, &i, &state, &cols);
        if (used + cols > max_cols && start > 0) {
            end = blank > 0 ? blank : start;
            break;
        }
        if (wc == L' ')
            blank = start;
        used += cols;
    }
    size_t after = end;
    while (s[after] == ' ')
        after++;
    *next = s + after;
    return end;
}
