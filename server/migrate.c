#include "migrate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "log.h"
#include "migrate_sources.h"
#include "passwd.h"
#include "pii.h"

/* Any constant works as long as nothing else takes the same advisory lock;
 * this one is "callflor" in ASCII. Migrations and the admin bootstrap share
 * it, so two daemons starting together do one after the other. */
#define MIGRATE_LOCK_KEY "7161124095326449522"

#define MIGRATE_PG_MESSAGE_MAX 512

static const char create_schema_migrations[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                               " version integer PRIMARY KEY,"
                                               " name text NOT NULL,"
                                               " applied_at timestamptz NOT NULL DEFAULT now())";

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
                                                      ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* libpq's messages end in a newline and put hints on further lines after a
 * tab; a log line and an error sentence want them on one line. */
static void one_line(char *dst, size_t cap, const char *src) {
    size_t n = 0;
    for (; *src != '\0' && n + 2 < cap; src++) {
        if (*src == '\n') {
            dst[n++] = ';';
            dst[n++] = ' ';
        } else if (*src != '\t') {
            dst[n++] = *src;
        }
    }
    while (n > 0 && (dst[n - 1] == ' ' || dst[n - 1] == ';'))
        n--;
    dst[n] = '\0';
}

/* The server's own sentence for a failed statement, without libpq's
 * "ERROR:" prefix, or libpq's message if the server never answered. */
static void pg_message(PGconn *conn, const PGresult *res, char *dst, size_t cap) {
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    one_line(dst, cap, primary ? primary : PQerrorMessage(conn));
}

/* NOTICEs ("relation already exists, skipping") would otherwise go to
 * stderr without a log prefix. */
static void on_notice(void *arg, const char *message) {
    (void)arg;
    char line[MIGRATE_PG_MESSAGE_MAX];
    one_line(line, sizeof line, message);
    log_debug("PostgreSQL: %s", line);
}

static PGconn *connect_db(const char *conninfo, char *err, size_t errlen) {
    PGconn *conn = PQconnectdb(conninfo);
    if (conn == NULL) {
        fail(err, errlen, "cannot connect to PostgreSQL (out of memory)");
        return NULL;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        char why[MIGRATE_PG_MESSAGE_MAX];
        pg_message(conn, NULL, why, sizeof why);
        fail(err, errlen, "cannot connect to PostgreSQL (%s): check database.conninfo", why);
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeProcessor(conn, on_notice, NULL);
    return conn;
}

static bool result_ok(const PGresult *res) {
    ExecStatusType st = PQresultStatus(res);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* Runs `sql`; on failure copies the server's message into `msg`. */
static bool exec_ok(PGconn *conn, const char *sql, char *msg, size_t cap) {
    PGresult *res = PQexec(conn, sql);
    bool ok = result_ok(res);
    if (!ok)
        pg_message(conn, res, msg, cap);
    PQclear(res);
    return ok;
}

static int lock(PGconn *conn, char *err, size_t errlen) {
    char msg[MIGRATE_PG_MESSAGE_MAX];
    if (!exec_ok(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", msg, sizeof msg))
        return fail(err, errlen, "cannot take the migration lock in PostgreSQL: %s", msg);
    return 0;
}

/* Closing the connection would release the lock too; unlocking first just
 * lets a waiting daemon go on without waiting for the disconnect. */
static void unlock(PGconn *conn) {
    PQclear(PQexec(conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")"));
}

/* Runs one query that returns a single integer, as `what` for messages. */
static int query_int(PGconn *conn, const char *sql, const char *what, char *err, size_t errlen) {
    PGresult *res = PQexec(conn, sql);
    int value = -1;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && PQnfields(res) == 1) {
        value = atoi(PQgetvalue(res, 0, 0));
    } else {
        char msg[MIGRATE_PG_MESSAGE_MAX];
        pg_message(conn, res, msg, sizeof msg);
        fail(err, errlen, "cannot read %s from PostgreSQL: %s", what, msg);
    }
    PQclear(res);
    return value;
}

/* The server reports an error position in characters from the start of the
 * statement string; the line number is what someone fixing the file needs. */
static int line_of(const char *sql, const PGresult *res) {
    const char *field = res ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION) : NULL;
    if (field == NULL)
        return 0;
    long chars = strtol(field, NULL, 10);
    int line = 1;
    for (const char *p = sql; *p != '\0' && chars > 1; p++) {
        if (((unsigned char)*p & 0xC0) != 0x80)
            chars--;
        if (*p == '\n')
            line++;
    }
    return line;
}

static bool run_migration_sql(PGconn *conn, const migrate_source *m, char *msg, size_t cap) {
    PGresult *res = PQexec(conn, m->sql);
    bool ok = result_ok(res);
    if (!ok) {
        char why[MIGRATE_PG_MESSAGE_MAX];
        pg_message(conn, res, why, sizeof why);
        int line = line_of(m->sql, res);
        if (line > 0)
            snprintf(msg, cap, "line %d: %s", line, why);
        else
            snprintf(msg, cap, "%s", why);
    }
    PQclear(res);
    return ok;
}

static bool record_migration(PGconn *conn, const migrate_source *m, char *msg, size_t cap) {
    char version[16];
    snprintf(version, sizeof version, "%d", m->version);
    const char *params[] = {version, m->name};
    PGresult *res =
        PQexecParams(conn, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2, NULL,
                     params, NULL, NULL, 0);
    bool ok = result_ok(res);
    if (!ok)
        pg_message(conn, res, msg, cap);
    PQclear(res);
    return ok;
}

/* One transaction per migration: a failed one leaves the schema exactly at
 * the previous version, and the next start tries it again. */
static int apply_migration(PGconn *conn, const migrate_source *m, char *err, size_t errlen) {
    char msg[2 * MIGRATE_PG_MESSAGE_MAX];
    if (exec_ok(conn, "BEGIN", msg, sizeof msg) && run_migration_sql(conn, m, msg, sizeof msg) &&
        record_migration(conn, m, msg, sizeof msg) && exec_ok(conn, "COMMIT", msg, sizeof msg)) {
        log_info("applied migration %03d_%s", m->version, m->name);
        return 0;
    }
    PQclear(PQexec(conn, "ROLLBACK"));
    return fail(err, errlen, "migration %03d_%s failed: %s", m->version, m->name, msg);
}

static int migrate_locked(PGconn *conn, int *applied, char *err, size_t errlen) {
    char msg[MIGRATE_PG_MESSAGE_MAX];
    if (!exec_ok(conn, create_schema_migrations, msg, sizeof msg))
        return fail(err, errlen, "cannot create the schema_migrations table: %s", msg);
    int current = query_int(conn, "SELECT coalesce(max(version), 0) FROM schema_migrations",
                            "the schema version", err, errlen);
    if (current < 0)
        return -1;
    if (current > migrate_latest_version())
        return fail(err, errlen,
                    "the database schema is at version %d, but this callfloord knows only up to "
                    "version %d; run a callfloord at least as new as the one that upgraded it",
                    current, migrate_latest_version());
    /* migrate_sources[i] is version i + 1 (cmake/embed_sql.cmake makes sure),
     * so the first one to apply is at index `current`. */
    for (int i = current; i < migrate_source_count; i++) {
        if (apply_migration(conn, &migrate_sources[i], err, errlen) < 0)
            return -1;
        if (applied != NULL)
            (*applied)++;
    }
    return migrate_latest_version();
}

int migrate_latest_version(void) {
    return migrate_sources[migrate_source_count - 1].version;
}

int migrate_run(const char *conninfo, int *applied, char *err, size_t errlen) {
    if (applied != NULL)
        *applied = 0;
    PGconn *conn = connect_db(conninfo, err, errlen);
    if (conn == NULL)
        return -1;
    int version = -1;
    if (lock(conn, err, errlen) == 0) {
        version = migrate_locked(conn, applied, err, errlen);
        unlock(conn);
    }
    PQfinish(conn);
    return version;
}

/* Reads at most `cap` - 1 bytes, stopping early once a newline arrived:
 * only the first line matters and the file may be large or endless. */
static ssize_t read_head(int fd, char *buf, size_t cap) {
    size_t total = 0;
    while (total + 1 < cap && memchr(buf, '\n', total) == NULL) {
        ssize_t n = read(fd, buf + total, cap - 1 - total);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        total += (size_t)n;
    }
    return (ssize_t)total;
}

/* Leaves the first line of `path`, without its line ending, as a string in
 * `buf`. A line longer than `cap` - 2 bytes is cut there, which the
 * password policy then refuses as too long. */
static int read_first_line(const char *path, char *buf, size_t cap, char *err, size_t errlen) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(err, errlen, "cannot open %s (%s): check bootstrap.admin_password_file", path,
                    strerror(errno));
    ssize_t total = read_head(fd, buf, cap);
    int saved_errno = errno;
    close(fd);
    if (total < 0)
        return fail(err, errlen, "cannot read %s (%s): check bootstrap.admin_password_file", path,
                    strerror(saved_errno));
    const char *newline = memchr(buf, '\n', (size_t)total);
    size_t len = newline ? (size_t)(newline - buf) : (size_t)total;
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    buf[len] = '\0';
    if (len == 0)
        return fail(err, errlen,
                    "the first line of %s is empty; it must hold the first admin's password", path);
    if (memchr(buf, '\0', len) != NULL)
        return fail(err, errlen,
                    "the first line of %s contains a NUL byte; write the password as text", path);
    return 0;
}

static int hash_password_file(const char *path, char *hash, size_t cap, char *err, size_t errlen) {
    char password[PASSWD_MAX_LENGTH + 2];
    int rc = read_first_line(path, password, sizeof password, err, errlen);
    if (rc == 0) {
        int policy = passwd_check_policy(password);
        if (policy == PASSWD_E_TOO_SHORT)
            rc = fail(err, errlen,
                      "the password in %s is too short: it needs at least %d characters", path,
                      PASSWD_MIN_LENGTH);
        else if (policy == PASSWD_E_TOO_LONG)
            rc = fail(err, errlen, "the password in %s is too long: it may have at most %d bytes",
                      path, PASSWD_MAX_LENGTH);
        else if (passwd_hash(password, hash, cap) < 0)
            rc = fail(err, errlen, "cannot hash the first admin's password (out of memory)");
    }
    pii_wipe(password, sizeof password);
    return rc;
}

static int insert_admin_failed(const PGresult *res, const char *username, const char *msg,
                               char *err, size_t errlen) {
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
    if (state != NULL && strcmp(state, "23505") == 0)
        return fail(err, errlen,
                    "cannot create the first admin: a user named '%s' already exists but is not an "
                    "admin; choose another bootstrap.admin_user",
                    username);
    if (constraint != NULL && strcmp(constraint, "users_username_check") == 0)
        return fail(err, errlen,
                    "cannot create the first admin: '%s' is not a valid user name (1-64 characters "
                    "of a-z, 0-9, '.', '_' or '-', starting with a letter or digit); fix "
                    "bootstrap.admin_user",
                    username);
    return fail(err, errlen, "cannot create the first admin '%s': %s", username, msg);
}

static int insert_admin(PGconn *conn, const char *username, const char *hash, char *err,
                        size_t errlen) {
    const char *params[] = {username, hash};
    PGresult *res = PQexecParams(
        conn, "INSERT INTO users (username, role, password_hash) VALUES ($1, 'admin', $2)", 2, NULL,
        params, NULL, NULL, 0);
    int rc = 1;
    if (!result_ok(res)) {
        char msg[MIGRATE_PG_MESSAGE_MAX];
        pg_message(conn, res, msg, sizeof msg);
        rc = insert_admin_failed(res, username, msg, err, errlen);
    }
    PQclear(res);
    return rc;
}

/* The file is read only when an admin is needed, so that it can be deleted
 * once the first start has used it. */
static int bootstrap_locked(PGconn *conn, const char *username, const char *password_file,
                            char *err, size_t errlen) {
    int admins = query_int(conn, "SELECT count(*) FROM users WHERE role = 'admin'",
                           "the number of admins", err, errlen);
    if (admins != 0)
        return admins < 0 ? -1 : 0;
    char hash[PASSWD_HASH_MAX];
    if (hash_password_file(password_file, hash, sizeof hash, err, errlen) < 0)
        return -1;
    return insert_admin(conn, username, hash, err, errlen);
}

int migrate_bootstrap_admin(const char *conninfo, const char *username, const char *password_file,
                            char *err, size_t errlen) {
    PGconn *conn = connect_db(conninfo, err, errlen);
    if (conn == NULL)
        return -1;
    int rc = -1;
    if (lock(conn, err, errlen) == 0) {
        rc = bootstrap_locked(conn, username, password_file, err, errlen);
        unlock(conn);
    }
    PQfinish(conn);
    return rc;
}
