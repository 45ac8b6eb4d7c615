/* guard: failed logins throttled per account name, the same for names
 * that have no account (so that throttling tells nothing about which
 * exist). After GUARD_FREE_FAILURES failures in a row a name waits before
 * its next password check: 1 s, doubling, at most 15 minutes; and no name
 * gets more than GUARD_HOURLY password checks an hour. A success clears
 * the name. Kept in memory per daemon, in a fixed table: a flood of made-up
 * names evicts the oldest entries rather than growing it. */
#ifndef CALLFLOOR_GUARD_H
#define CALLFLOOR_GUARD_H

#include <stdbool.h>
#include <stdint.h>

#define GUARD_FREE_FAILURES 3
#define GUARD_HOURLY        100

/* Whether `name` may have its password checked at `now_ms`; if not,
 * *retry_after_ms says when it may. An admitted check counts as a failure
 * until guard_succeeded clears it, so parallel guesses wait like guesses
 * in a row. */
bool guard_allows(const char *name, uint64_t now_ms, uint32_t *retry_after_ms);
/* Records how an admitted check of `name` ended. */
void guard_failed(const char *name, uint64_t now_ms);
void guard_succeeded(const char *name);

#endif
