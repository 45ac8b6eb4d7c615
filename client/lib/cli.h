/* cli: plumbing shared by the command-line programs (callfloorctl, the agent,
 * the monitor, the simulator): connection options from flags and the
 * environment, passwords, exit codes, failures as sentences that say what to
 * do next, and text tables aligned by display width (CJK characters take two
 * columns). Nothing here runs on the libuv loop: it is used before connecting
 * and after the answers are in. */
#ifndef CALLFLOOR_CLI_H
#define CALLFLOOR_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "client.h"

enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_SERVER = 1,  /* the server refused or failed the request or the login */
    CLI_EXIT_USAGE = 2,   /* a bad command line, or input such as a password missing */
    CLI_EXIT_CONNECT = 3, /* connection, TLS, protocol failure or timeout */
};

#define CLI_DEFAULT_SERVER "127.0.0.1:7443"
#define CLI_PASSWORD_MAX   1024 /* bytes, not counting the NUL */
#define CLI_MESSAGE_MAX    768

/* Where to connect and as whom. The string fields point into argv or the
 * environment and are not owned; the password is held inline so that
 * cli_conn_wipe can erase it. */
typedef struct cli_conn_options {
    const char *server;        /* --server, else $CALLFLOOR_SERVER, else CLI_DEFAULT_SERVER */
    const char *ca_file;       /* --ca, else $CALLFLOOR_CA; NULL: the system store */
    const char *cert_file;     /* --cert: log in with a client certificate */
    const char *key_file;      /* --key */
    const char *user;          /* --user, else $CALLFLOOR_USER */
    const char *password_file; /* --password-file */
    unsigned timeout_ms;       /* --timeout SECONDS; 0: the client's default */
    bool have_password;
    char password[CLI_PASSWORD_MAX + 1];
} cli_conn_options;

void cli_conn_init(cli_conn_options *o);
/* Consumes argv[*i] (and its value) when it is one of the connection flags
 * --server, --ca, --cert, --key, --user, --password-file, --timeout, written
 * "--flag VALUE" or "--flag=VALUE"; *i is left on the last word consumed.
 * Returns 1 when consumed, 0 when argv[*i] is something else, or -1 with a
 * sentence in `err` (a missing or bad value). */
int cli_conn_parse_flag(cli_conn_options *o, int argc, char **argv, int *i, char *err,
                        size_t errlen);
/* Fills what no flag set from CALLFLOOR_SERVER, CALLFLOOR_CA and
 * CALLFLOOR_USER (empty variables count as unset), then the defaults. */
void cli_conn_apply_env(cli_conn_options *o);
/* Applies the environment, checks that the options fit together, and gets
 * the login password: the first line of --password-file, else
 * $CALLFLOOR_PASSWORD, else a prompt with echo off when standard input is a
 * terminal. No password is needed for certificate login (--cert without
 * --user). Returns 0, or -1 with a sentence in `err` (exit CLI_EXIT_USAGE). */
int cli_conn_finish(cli_conn_options *o, char *err, size_t errlen);
/* Options for client_create; they point into `o`, which must outlive the
 * client_create call. */
void cli_conn_to_client(const cli_conn_options *o, const char *client_name, client_options *out);
/* Erases the password. */
void cli_conn_wipe(cli_conn_options *o);
/* The help paragraph for the connection flags, for each program's --help. */
void cli_conn_print_help(FILE *out);

/* Matches argv[*i] against "--NAME VALUE" or "--NAME=VALUE" (`name`
 * includes the dashes). Returns 1 and sets *value (advancing *i past a
 * separate value word), 0 when argv[*i] is another word, or -1 with a
 * sentence in `err` when the value is missing. */
int cli_flag_value(int argc, char **argv, int *i, const char *name, const char **value, char *err,
                   size_t errlen);

/* Reads the first line of `path` (without its line end) into `out`; reads
 * at most `cap` bytes. Returns 0, or -1 with a sentence in `err` when the
 * file cannot be read, is empty or its first line does not fit. */
int cli_read_password_file(const char *path, char *out, size_t cap, char *err, size_t errlen);
/* Reads a new password for `username`: on a terminal asked twice with echo
 * off (the two must match), otherwise the first line of standard input.
 * Returns 0, or -1 with a sentence in `err`. The caller wipes `out`. */
int cli_read_new_password(const char *username, char *out, size_t cap, char *err, size_t errlen);

/* A failed step, ready to print: the exit code, a stable code name for
 * --json ("PERMISSION_DENIED", "CONNECT_FAILED", "USAGE", ...) and a
 * sentence that says what went wrong and what to do. */
typedef struct cli_failure {
    int exit_code;
    const char *code;
    char message[CLI_MESSAGE_MAX];
} cli_failure;

/* From a negative CLIENT_E_* status, the client's sentence for it
 * (client_last_error) and the server's code (client_last_server_code). */
void cli_failure_from_status(cli_failure *f, int status, const char *sentence,
                             Callfloor__ErrorCode server_code);
/* From an Error the server answered a request with. */
void cli_failure_from_error(cli_failure *f, const Callfloor__Error *e);
void cli_failure_usage(cli_failure *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* In JSON mode one document {"error":{"code":..,"message":..}} on standard
 * output; otherwise "PROGRAM: message" on standard error. */
void cli_failure_print(const cli_failure *f, const char *program, bool json);

/* Terminal columns `s` takes when printed by cli_append_padded: wcwidth of
 * each character in the current locale, one column for each character
 * that cannot be shown (control characters, invalid bytes). */
size_t cli_display_width(const char *s);
/* Appends `s` with characters that cannot be shown replaced by '?' (server
 * text must not move the cursor or recolour the terminal), then spaces up
 * to `width` columns. Returns 0 or -ENOMEM. */
int cli_append_padded(buf *out, const char *s, size_t width);

/* A table of text cells printed with aligned columns: two spaces between
 * columns, no trailing spaces. Cells are copied. */
typedef struct cli_table {
    size_t ncols;
    size_t nrows; /* including the header row, if any */
    size_t cap_rows;
    char **cells; /* row-major */
} cli_table;

/* `header` holds `ncols` titles, or is NULL for a table without one.
 * Returns 0 or -ENOMEM. */
int cli_table_init(cli_table *t, size_t ncols, const char *const *header);
/* `cells` holds `ncols` strings; NULL cells print as empty. */
int cli_table_add_row(cli_table *t, const char *const *cells);
int cli_table_render(const cli_table *t, buf *out);
void cli_table_free(cli_table *t);

/* Writes the server's status as one JSON object, with the same keys for
 * every program (callfloorctl status --json, callfloor-monitor --json). */
struct json_writer;
void cli_json_status(struct json_writer *w, const Callfloor__StatusReply *s);

/* "2026-11-22 18:00" in local time. */
void cli_format_local_time(int64_t unix_s, char *out, size_t cap);
/* "2026-11-22T17:00:00Z", for JSON. */
void cli_format_utc_time(int64_t unix_s, char *out, size_t cap);

/* Process set-up every program runs after i18n_init: SIGPIPE is ignored
 * (libuv writes with write(2), and a server that hangs up must be an error,
 * not a silent death), and a bare "C" character locale becomes C.UTF-8 so
 * that Chinese names print and align. */
void cli_setup_process(void);
/* Writes `b` to standard output and flushes. Returns 0 or -1 (errno set). */
int cli_write_stdout(const buf *b);

#endif
