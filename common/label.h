/* label: the rule for names people type and read (team, product, campaign
 * and segment names, which may be Chinese): not empty, bounded in bytes,
 * and free of control characters, which could move a terminal's cursor
 * or break the one-line formats (logs, CSV, list columns) they appear in. */
#ifndef CALLFLOOR_LABEL_H
#define CALLFLOOR_LABEL_H

#include <stdbool.h>
#include <stddef.h>

bool label_valid(const char *s, size_t max_len);

#endif
