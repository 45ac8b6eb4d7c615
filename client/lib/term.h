/* term: what the full-screen programs (the agent desk, the monitor) check
 * before they take the terminal over: that standard input and output are
 * a terminal, and that curses can drive the one $TERM names. */
#ifndef CALLFLOOR_TERM_H
#define CALLFLOOR_TERM_H

#include <stddef.h>

/* Returns 0, or -1 with a sentence in `err` that points at `instead`, the
 * option that works without a terminal (e.g. "--script"). */
int term_check(const char *instead, char *err, size_t errlen);

#endif
