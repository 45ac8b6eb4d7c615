/* migrate_sources: the SQL migrations compiled into the binary. The
 * definitions are generated at build time by cmake/embed_sql.cmake from
 * server/sql/NNN_name.sql, which guarantees that there is at least one and
 * that migrate_sources[i].version == i + 1. */
#ifndef CALLFLOOR_MIGRATE_SOURCES_H
#define CALLFLOOR_MIGRATE_SOURCES_H

typedef struct migrate_source {
    int version;      /* NNN of the file name */
    const char *name; /* the part after "NNN_", without ".sql" */
    const char *sql;  /* the file's bytes, NUL-terminated */
} migrate_source;

extern const migrate_source migrate_sources[];
extern const int migrate_source_count;

#endif
