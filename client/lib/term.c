#include "term.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <ncurses.h>

#include "i18n.h"

/* Opening a screen on /dev/null tries the terminal description without
 * touching the real terminal. */
static int term_usable(const char *term) {
    FILE *null_out = fopen("/dev/null", "w");
    SCREEN *probe = term && *term && null_out ? newterm(NULL, null_out, stdin) : NULL;
    if (probe) {
        endwin();
        delscreen(probe);
    }
    if (null_out)
        fclose(null_out);
    return probe != NULL;
}

int term_check(const char *instead, char *err, size_t errlen) {
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        snprintf(err, errlen,
                 _("the screen needs a terminal (standard input and output); without one, use %s"),
                 instead);
        return -1;
    }
    const char *term = getenv("TERM");
    if (term_usable(term))
        return 0;
    snprintf(err, errlen,
             _("cannot drive the terminal: TERM is '%s' (set TERM to the terminal's type, e.g. "
               "xterm-256color, or use %s)"),
             term ? term : "", instead);
    return -1;
}
