/* migrate: the schema. Versioned SQL files server/sql/NNN_name.sql are
 * compiled into the binary and applied in order at start, before the event
 * loop runs (the only place blocking libpq calls are allowed), each in its
 * own transaction and recorded in schema_migrations. A session-level
 * advisory lock keeps several daemons starting at once from racing. */
#ifndef CALLFLOOR_MIGRATE_H
#define CALLFLOOR_MIGRATE_H

#include <stddef.h>

/* Applies every migration newer than the database's version. Returns the
 * schema version now in force (>= 1), or -1 with a sentence in `err`.
 * `applied` (may be NULL) receives how many were applied by this call.
 * Fails if the database is newer than this binary knows. */
int migrate_run(const char *conninfo, int *applied, char *err, size_t errlen);
/* The newest version compiled into this binary. */
int migrate_latest_version(void);

/* Creates the first admin account named `username` from the first line of
 * `password_file` if no admin exists yet; does nothing otherwise. Blocking;
 * for start-up only. Returns 1 if created, 0 if an admin already existed,
 * -1 with a sentence in `err`. */
int migrate_bootstrap_admin(const char *conninfo, const char *username, const char *password_file,
                            char *err, size_t errlen);

#endif
