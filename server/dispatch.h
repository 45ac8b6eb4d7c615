/* dispatch: the one table that says which message is handled by which
 * function and which roles may send it. Every request passes through
 * dispatch_request; nothing else checks permissions by message type. */
#ifndef CALLFLOOR_DISPATCH_H
#define CALLFLOOR_DISPATCH_H

#include <stdbool.h>

#include "session.h"

#define ROLE_BIT(r)      (1u << (r))
#define ROLES_AGENT      ROLE_BIT(CALLFLOOR__ROLE__ROLE_AGENT)
#define ROLES_SUPERVISOR ROLE_BIT(CALLFLOOR__ROLE__ROLE_SUPERVISOR)
#define ROLES_ADMIN      ROLE_BIT(CALLFLOOR__ROLE__ROLE_ADMIN)
#define ROLES_STAFF      (ROLES_SUPERVISOR | ROLES_ADMIN)
#define ROLES_ANY        (ROLES_AGENT | ROLES_SUPERVISOR | ROLES_ADMIN)

typedef void (*dispatch_handler)(request *req);

typedef struct dispatch_entry {
    Callfloor__Envelope__BodyCase body;
    unsigned roles;    /* ROLE_BIT mask of roles allowed after login */
    bool before_login; /* may be sent before Login succeeds */
    dispatch_handler handler;
} dispatch_entry;

/* The entry for a message type, or NULL if clients may not send it. */
const dispatch_entry *dispatch_find(Callfloor__Envelope__BodyCase body);
/* Checks the table for `req` (logged in or not, role) and runs the handler,
 * or answers UNKNOWN_REQUEST / UNAUTHENTICATED / PERMISSION_DENIED. */
void dispatch_request(request *req, bool logged_in);
/* Adds every handler module's statements to the catalog of `pool`. Returns
 * 0, or a negative errno when one cannot be added. */
int dispatch_prepare_statements(db_pool *pool);
/* For tests: the whole table, terminated by an entry with handler NULL. */
const dispatch_entry *dispatch_table(void);

#endif
