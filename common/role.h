/* role: the names of user roles as they appear in the database, on screens
 * and in JSON ("agent", "supervisor", "admin"). */
#ifndef CALLFLOOR_ROLE_H
#define CALLFLOOR_ROLE_H

#include "proto/callfloor.pb-c.h"

/* "agent", "supervisor", "admin", or "unknown". */
const char *role_name(Callfloor__Role role);
/* Parses a role name. Returns 0, or -1 if `name` is not one of the three. */
int role_parse(const char *name, Callfloor__Role *out);

#endif
