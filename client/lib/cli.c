/* cli: see cli.h. */
/* wcwidth is an X/Open interface. */
#define _XOPEN_SOURCE 700

#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <math.h> /* isfinite, a macro: no libm needed */
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "i18n.h"
#include "json.h"
#include "pii.h"

#define MAX_TIMEOUT_S 86400.0

/* ---- flags ---- */

int cli_flag_value(int argc, char **argv, int *i, const char *name, const char **value, char *err,
                   size_t errlen) {
    const char *arg = argv[*i];
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0)
        return 0;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return 1;
    }
    if (arg[n] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        snprintf(err, errlen, _("%s needs a value"), name);
        return -1;
    }
    *value = argv[++*i];
    return 1;
}

static int parse_timeout(const char *text, unsigned *ms, char *err, size_t errlen) {
    char *end;
    errno = 0;
    double s = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !isfinite(s) || s <= 0 || s > MAX_TIMEOUT_S) {
        snprintf(err, errlen,
                 _("invalid --timeout '%s': give the number of seconds to wait, e.g. --timeout "
                   "30"),
                 text);
        return -1;
    }
    *ms = (unsigned)(s * 1000.0 + 0.5);
    if (*ms == 0)
        *ms = 1;
    return 0;
}

int cli_conn_parse_flag(cli_conn_options *o, int argc, char **argv, int *i, char *err,
                        size_t errlen) {
    static const char *const names[] = {"--server",        "--ca",     "--cert", "--key", "--user",
                                        "--password-file", "--timeout"};
    const char **fields[] = {&o->server,   &o->ca_file, &o->cert_file,
                             &o->key_file, &o->user,    &o->password_file};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        const char *value;
        int rc = cli_flag_value(argc, argv, i, names[k], &value, err, errlen);
        if (rc <= 0) {
            if (rc < 0)
                return -1;
            continue;
        }
        if (*value == '\0') {
            snprintf(err, errlen, _("%s needs a value"), names[k]);
            return -1;
        }
        if (k == sizeof names / sizeof names[0] - 1)
            return parse_timeout(value, &o->timeout_ms, err, errlen) < 0 ? -1 : 1;
        *fields[k] = value;
        return 1;
    }
    return 0;
}

void cli_conn_init(cli_conn_options *o) {
    memset(o, 0, sizeof *o);
}

static const char *env_value(const char *name) {
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

void cli_conn_apply_env(cli_conn_options *o) {
    if (o->server == NULL)
        o->server = env_value("CALLFLOOR_SERVER");
    if (o->server == NULL)
        o->server = CLI_DEFAULT_SERVER;
    if (o->ca_file == NULL)
        o->ca_file = env_value("CALLFLOOR_CA");
    if (o->user == NULL)
        o->user = env_value("CALLFLOOR_USER");
}

/* ---- passwords ---- */

/* Reads up to the first line end, at most cap - 1 bytes, with read(2)
 * rather than stdio so that no copy of a secret stays in a FILE buffer.
 * Bytes after the line end that a read brought in are erased too. Returns
 * 0, -1 for a read error (errno set) or -2 when the line does not fit. */
static int read_first_line(int fd, char *out, size_t cap, size_t *len) {
    size_t got = 0;
    for (;;) {
        char *nl = memchr(out, '\n', got);
        if (nl) {
            size_t n = (size_t)(nl - out);
            pii_wipe(nl, got - n);
            got = n;
            break;
        }
        if (got + 1 >= cap) {
            pii_wipe(out, got);
            return -2;
        }
        ssize_t r = read(fd, out + got, cap - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            pii_wipe(out, got);
            return -1;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    if (got > 0 && out[got - 1] == '\r')
        got--;
    out[got] = '\0';
    *len = got;
    return 0;
}

int cli_read_password_file(const char *path, char *out, size_t cap, char *err, size_t errlen) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, _("cannot read the password file %s: %s (check --password-file)"),
                 path, strerror(errno));
        return -1;
    }
    size_t len = 0;
    int rc = read_first_line(fd, out, cap, &len);
    int saved = errno;
    close(fd);
    if (rc == -1)
        snprintf(err, errlen, _("cannot read the password file %s: %s (check --password-file)"),
                 path, strerror(saved));
    else if (rc == -2)
        snprintf(err, errlen,
                 _("the first line of the password file %s is longer than %zu bytes (is it the "
                   "right file?)"),
                 path, cap - 1);
    else if (len == 0)
        snprintf(err, errlen,
                 _("the password file %s is empty (put the password on its first line)"), path);
    return rc == 0 && len > 0 ? 0 : -1;
}

static struct termios saved_termios;
static const int fatal_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

/* A signal while echo is off must not leave the terminal silent. */
static void restore_terminal_and_die(int sig) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Reads one line from the terminal on standard input with echo off. */
static int prompt_hidden(const char *prompt, char *out, size_t cap, char *err, size_t errlen) {
    if (tcgetattr(STDIN_FILENO, &saved_termios) < 0) {
        snprintf(err, errlen, _("cannot set up the terminal: %s"), strerror(errno));
        return -1;
    }
    struct sigaction restore = {.sa_handler = restore_terminal_and_die};
    struct sigaction old[sizeof fatal_signals / sizeof fatal_signals[0]];
    sigemptyset(&restore.sa_mask);
    for (size_t k = 0; k < sizeof fatal_signals / sizeof fatal_signals[0]; k++)
        sigaction(fatal_signals[k], &restore, &old[k]);
    struct termios quiet = saved_termios;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    quiet.c_lflag |= ECHONL;
    fputs(prompt, stderr);
    fflush(stderr);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    size_t len = 0;
    int rc = read_first_line(STDIN_FILENO, out, cap, &len);
    int saved = errno;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
    for (size_t k = 0; k < sizeof fatal_signals / sizeof fatal_signals[0]; k++)
        sigaction(fatal_signals[k], &old[k], NULL);
    if (rc == -1)
        snprintf(err, errlen, _("cannot read from the terminal: %s"), strerror(saved));
    else if (rc == -2)
        snprintf(err, errlen, _("the password is longer than %zu bytes"), cap - 1);
    else if (len == 0)
        snprintf(err, errlen, _("no password entered"));
    return rc == 0 && len > 0 ? 0 : -1;
}

static int load_login_password(cli_conn_options *o, char *err, size_t errlen) {
    const char *env = env_value("CALLFLOOR_PASSWORD");
    if (o->password_file) {
        if (cli_read_password_file(o->password_file, o->password, sizeof o->password, err, errlen) <
            0)
            return -1;
    } else if (env) {
        if (strlen(env) >= sizeof o->password) {
            snprintf(err, errlen, _("CALLFLOOR_PASSWORD is longer than %zu bytes"),
                     sizeof o->password - 1);
            return -1;
        }
        strcpy(o->password, env);
    } else if (isatty(STDIN_FILENO)) {
        char prompt[256];
        snprintf(prompt, sizeof prompt, _("Password for %s on %s: "), o->user, o->server);
        if (prompt_hidden(prompt, o->password, sizeof o->password, err, errlen) < 0)
            return -1;
    } else {
        snprintf(err, errlen,
                 _("no password for %s: use --password-file FILE or set CALLFLOOR_PASSWORD "
                   "(standard input is not a terminal, so there is no prompt)"),
                 o->user);
        return -1;
    }
    o->have_password = true;
    return 0;
}

int cli_conn_finish(cli_conn_options *o, char *err, size_t errlen) {
    cli_conn_apply_env(o);
    if ((o->cert_file == NULL) != (o->key_file == NULL)) {
        snprintf(err, errlen, _("--cert and --key go together: give both, or neither"));
        return -1;
    }
    if (o->user == NULL) {
        if (o->cert_file)
            return 0;
        snprintf(err, errlen,
                 _("no user name: pass --user NAME or set CALLFLOOR_USER (or log in with a "
                   "certificate: --cert FILE --key FILE)"));
        return -1;
    }
    return load_login_password(o, err, errlen);
}

void cli_conn_to_client(const cli_conn_options *o, const char *client_name, client_options *out) {
    *out = (client_options){
        .server = o->server,
        .ca_file = o->ca_file,
        .cert_file = o->cert_file,
        .key_file = o->key_file,
        .username = o->user,
        .password = o->have_password ? o->password : NULL,
        .client_name = client_name,
        .timeout_ms = o->timeout_ms,
    };
}

void cli_conn_wipe(cli_conn_options *o) {
    pii_wipe(o->password, sizeof o->password);
    o->have_password = false;
}

void cli_conn_print_help(FILE *out) {
    fputs(_("Connection options (also accepted after the command):\n"
            "  --server HOST:PORT    the callfloord to talk to (env CALLFLOOR_SERVER;\n"
            "                        default 127.0.0.1:7443; IPv6 as [ADDRESS]:PORT)\n"
            "  --ca FILE             the CA certificate that signed the server's\n"
            "                        (env CALLFLOOR_CA; default: the system's CAs)\n"
            "  --cert FILE           a client certificate; without --user it logs you in\n"
            "  --key FILE            the client certificate's private key\n"
            "  --user NAME           the account to log in as (env CALLFLOOR_USER)\n"
            "  --password-file FILE  read the password from the first line of FILE;\n"
            "                        otherwise env CALLFLOOR_PASSWORD, otherwise it is\n"
            "                        asked for on a terminal (never give it on the command line)\n"
            "  --timeout SECONDS     how long to wait for the server (default 10)\n"),
          out);
}

int cli_read_new_password(const char *username, char *out, size_t cap, char *err, size_t errlen) {
    if (!isatty(STDIN_FILENO)) {
        size_t len = 0;
        int rc = read_first_line(STDIN_FILENO, out, cap, &len);
        if (rc == -1)
            snprintf(err, errlen, _("cannot read the new password from standard input: %s"),
                     strerror(errno));
        else if (rc == -2)
            snprintf(err, errlen, _("the new password is longer than %zu bytes"), cap - 1);
        else if (len == 0)
            snprintf(err, errlen,
                     _("no new password on standard input (give it as the first line, or run "
                       "the command on a terminal to be asked for it)"));
        return rc == 0 && len > 0 ? 0 : -1;
    }
    char again[CLI_PASSWORD_MAX + 1];
    char prompt[256];
    if (cap > sizeof again)
        cap = sizeof again;
    snprintf(prompt, sizeof prompt, _("New password for %s: "), username);
    if (prompt_hidden(prompt, out, cap, err, errlen) < 0)
        return -1;
    int rc = prompt_hidden(_("Repeat the new password: "), again, cap, err, errlen);
    if (rc == 0 && strcmp(out, again) != 0) {
        snprintf(err, errlen, _("the two passwords differ; nothing was changed (try again)"));
        rc = -1;
    }
    pii_wipe(again, sizeof again);
    if (rc < 0)
        pii_wipe(out, cap);
    return rc;
}

/* ---- failures ---- */

typedef struct error_text {
    Callfloor__ErrorCode code;
    const char *what;
    const char *hint;
} error_text;

static const error_text error_texts[] = {
    {CALLFLOOR__ERROR_CODE__PROTOCOL_ERROR, N_("protocol error"),
     N_("the client and the server may be of different versions")},
    {CALLFLOOR__ERROR_CODE__FRAME_TOO_LARGE, N_("request too large"),
     N_("send less in one request")},
    {CALLFLOOR__ERROR_CODE__UNSUPPORTED_VERSION, N_("unsupported protocol version"),
     N_("install matching versions of the server and the clients")},
    {CALLFLOOR__ERROR_CODE__UNAUTHENTICATED, N_("not logged in"), N_("log in with --user")},
    {CALLFLOOR__ERROR_CODE__INVALID_CREDENTIALS, N_("login refused"),
     N_("check --user and the password")},
    {CALLFLOOR__ERROR_CODE__ACCOUNT_DISABLED, N_("account disabled"),
     N_("ask an administrator to enable it")},
    {CALLFLOOR__ERROR_CODE__PERMISSION_DENIED, N_("permission denied"),
     N_("log in as a user whose role allows this, with --user")},
    {CALLFLOOR__ERROR_CODE__INVALID_ARGUMENT, N_("invalid argument"),
     N_("correct the value and try again")},
    {CALLFLOOR__ERROR_CODE__NOT_FOUND, N_("not found"),
     N_("check the name; the list commands show what exists")},
    {CALLFLOOR__ERROR_CODE__ALREADY_EXISTS, N_("already exists"),
     N_("nothing was changed; the message says what is there")},
    {CALLFLOOR__ERROR_CODE__FAILED_PRECONDITION, N_("not possible now"),
     N_("the current state does not allow it")},
    {CALLFLOOR__ERROR_CODE__UNAVAILABLE, N_("server unavailable"),
     N_("the server cannot reach its database; try again later")},
    {CALLFLOOR__ERROR_CODE__RATE_LIMITED, N_("too many requests"), N_("wait and try again")},
    {CALLFLOOR__ERROR_CODE__SHUTTING_DOWN, N_("server shutting down"), N_("try again in a moment")},
    {CALLFLOOR__ERROR_CODE__INTERNAL, N_("internal server error"),
     N_("the server's log has the details")},
    {CALLFLOOR__ERROR_CODE__UNKNOWN_REQUEST, N_("request not supported"),
     N_("the server is older than this program; upgrade the server")},
    {CALLFLOOR__ERROR_CODE__IDLE_TIMEOUT, N_("session timed out"), N_("reconnect")},
};

static const error_text *find_error_text(Callfloor__ErrorCode code) {
    static const error_text unknown = {CALLFLOOR__ERROR_CODE__ERROR_CODE_UNSPECIFIED,
                                       N_("server error"), N_("the server's log has the details")};
    for (size_t k = 0; k < sizeof error_texts / sizeof error_texts[0]; k++)
        if (error_texts[k].code == code)
            return &error_texts[k];
    return &unknown;
}

void cli_failure_from_error(cli_failure *f, const Callfloor__Error *e) {
    const error_text *t = find_error_text(e->code);
    char hint[128];
    if (e->retry_after_ms > 0)
        snprintf(hint, sizeof hint, _("try again in %u s"), (e->retry_after_ms + 999) / 1000);
    else
        snprintf(hint, sizeof hint, "%s", _(t->hint));
    f->exit_code = CLI_EXIT_SERVER;
    f->code = envelope_error_name(e->code);
    if (e->message && *e->message)
        snprintf(f->message, sizeof f->message, "%s: %s (%s)", _(t->what), e->message, hint);
    else
        snprintf(f->message, sizeof f->message, "%s (%s)", _(t->what), hint);
}

typedef struct status_text {
    int status;
    int exit_code;
    const char *code;
    const char *fallback; /* when the client left no sentence */
} status_text;

static const status_text status_texts[] = {
    {CLIENT_E_CONNECT, CLI_EXIT_CONNECT, "CONNECT_FAILED",
     N_("cannot connect to the server (is callfloord running? check --server)")},
    {CLIENT_E_TLS, CLI_EXIT_CONNECT, "TLS_FAILED", N_("the TLS handshake failed (check --ca)")},
    {CLIENT_E_PROTOCOL, CLI_EXIT_CONNECT, "PROTOCOL_ERROR",
     N_("the server sent something this program cannot read (check --server)")},
    {CLIENT_E_CLOSED, CLI_EXIT_CONNECT, "CONNECTION_CLOSED",
     N_("the connection closed before the server answered (check the server's log)")},
    {CLIENT_E_TIMEOUT, CLI_EXIT_CONNECT, "TIMEOUT",
     N_("the server did not answer in time (raise --timeout, or check the server)")},
    {CLIENT_E_AUTH, CLI_EXIT_SERVER, "LOGIN_REFUSED",
     N_("login refused (check --user and the password)")},
    {CLIENT_E_NOMEM, CLI_EXIT_SERVER, "OUT_OF_MEMORY", N_("out of memory")},
    {CLIENT_E_SERVER, CLI_EXIT_SERVER, "SERVER_ERROR",
     N_("the server refused the session (check the server's log)")},
};

void cli_failure_from_status(cli_failure *f, int status, const char *sentence,
                             Callfloor__ErrorCode server_code) {
    static const status_text unknown = {0, CLI_EXIT_SERVER, "INTERNAL",
                                        N_("an unexpected error occurred")};
    const status_text *t = &unknown;
    for (size_t k = 0; k < sizeof status_texts / sizeof status_texts[0]; k++)
        if (status_texts[k].status == status)
            t = &status_texts[k];
    f->exit_code = t->exit_code;
    f->code = t->code;
    /* The server's own code says more, e.g. ACCOUNT_DISABLED or SHUTTING_DOWN. */
    if (server_code != CALLFLOOR__ERROR_CODE__ERROR_CODE_UNSPECIFIED &&
        (status == CLIENT_E_AUTH || status == CLIENT_E_SERVER || status == CLIENT_E_CLOSED))
        f->code = envelope_error_name(server_code);
    snprintf(f->message, sizeof f->message, "%s",
             sentence && *sentence ? sentence : _(t->fallback));
}

void cli_failure_usage(cli_failure *f, const char *fmt, ...) {
    va_list ap;
    f->exit_code = CLI_EXIT_USAGE;
    f->code = "USAGE";
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof f->message, fmt, ap);
    va_end(ap);
}

void cli_failure_print(const cli_failure *f, const char *program, bool json) {
    if (!json) {
        fprintf(stderr, "%s: %s\n", program, f->message);
        return;
    }
    buf out = BUF_INIT;
    json_writer w;
    json_init(&w, &out);
    json_object_begin(&w);
    json_key(&w, "error");
    json_object_begin(&w);
    json_kv_string(&w, "code", f->code);
    json_kv_string(&w, "message", f->message);
    json_object_end(&w);
    json_object_end(&w);
    buf_append_str(&out, "\n");
    cli_write_stdout(&out);
    buf_free(&out);
}

/* ---- display width ---- */

/* Walks `s` character by character with mbrtowc rather than converting it
 * whole with mbstowcs, so that one invalid byte costs one '?' instead of
 * the whole string. Appends what can be shown to `out` when it is set. */
static int walk_text(const char *s, buf *out, size_t *width) {
    mbstate_t state;
    memset(&state, 0, sizeof state);
    size_t len = strlen(s), i = 0, w = 0;
    while (i < len) {
        wchar_t wc;
        size_t n = mbrtowc(&wc, s + i, len - i, &state);
        int cols = -1;
        if (n == (size_t)-1 || n == (size_t)-2) {
            memset(&state, 0, sizeof state);
            n = 1;
        } else {
            cols = wcwidth(wc);
        }
        int rc = 0;
        if (cols < 0) {
            w += 1;
            rc = out ? buf_append(out, "?", 1) : 0;
        } else {
            w += (size_t)cols;
            rc = out ? buf_append(out, s + i, n) : 0;
        }
        if (rc < 0)
            return rc;
        i += n;
    }
    *width = w;
    return 0;
}

size_t cli_display_width(const char *s) {
    size_t w = 0;
    walk_text(s, NULL, &w);
    return w;
}

int cli_append_padded(buf *out, const char *s, size_t width) {
    size_t w = 0;
    int rc = walk_text(s, out, &w);
    for (; rc == 0 && w < width; w++)
        rc = buf_append(out, " ", 1);
    return rc;
}

/* ---- tables ---- */

int cli_table_init(cli_table *t, size_t ncols, const char *const *header) {
    memset(t, 0, sizeof *t);
    t->ncols = ncols;
    return header ? cli_table_add_row(t, header) : 0;
}

int cli_table_add_row(cli_table *t, const char *const *cells) {
    if (t->nrows == t->cap_rows) {
        size_t cap = t->cap_rows ? t->cap_rows * 2 : 8;
        char **grown = realloc(t->cells, cap * t->ncols * sizeof *grown);
        if (grown == NULL)
            return -ENOMEM;
        t->cells = grown;
        t->cap_rows = cap;
    }
    char **row = t->cells + t->nrows * t->ncols;
    for (size_t j = 0; j < t->ncols; j++) {
        row[j] = strdup(cells[j] ? cells[j] : "");
        if (row[j] == NULL) {
            while (j > 0)
                free(row[--j]);
            return -ENOMEM;
        }
    }
    t->nrows++;
    return 0;
}

static void trim_trailing_spaces(buf *out, size_t row_start) {
    while (out->len > row_start && out->data[out->len - 1] == ' ')
        out->len--;
}

int cli_table_render(const cli_table *t, buf *out) {
    size_t *widths = calloc(t->ncols ? t->ncols : 1, sizeof *widths);
    if (widths == NULL)
        return -ENOMEM;
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t j = 0; j < t->ncols; j++) {
            size_t w = cli_display_width(t->cells[r * t->ncols + j]);
            if (w > widths[j])
                widths[j] = w;
        }
    int rc = 0;
    for (size_t r = 0; r < t->nrows && rc == 0; r++) {
        size_t row_start = out->len;
        for (size_t j = 0; j < t->ncols && rc == 0; j++) {
            bool last = j + 1 == t->ncols;
            rc = cli_append_padded(out, t->cells[r * t->ncols + j], last ? 0 : widths[j]);
            if (rc == 0 && !last)
                rc = buf_append(out, "  ", 2);
        }
        trim_trailing_spaces(out, row_start);
        if (rc == 0)
            rc = buf_append(out, "\n", 1);
    }
    free(widths);
    return rc;
}

void cli_table_free(cli_table *t) {
    for (size_t k = 0; k < t->nrows * t->ncols; k++)
        free(t->cells[k]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

/* ---- time ---- */

static void format_time(int64_t unix_s, bool utc, const char *fmt, char *out, size_t cap) {
    time_t t = (time_t)unix_s;
    struct tm tm;
    struct tm *ok = utc ? gmtime_r(&t, &tm) : localtime_r(&t, &tm);
    if (ok == NULL || strftime(out, cap, fmt, &tm) == 0)
        snprintf(out, cap, "%lld", (long long)unix_s);
}

void cli_format_local_time(int64_t unix_s, char *out, size_t cap) {
    format_time(unix_s, false, "%Y-%m-%d %H:%M", out, cap);
}

void cli_format_utc_time(int64_t unix_s, char *out, size_t cap) {
    format_time(unix_s, true, "%Y-%m-%dT%H:%M:%SZ", out, cap);
}

/* ---- process ---- */

void cli_setup_process(void) {
    signal(SIGPIPE, SIG_IGN);
    const char *ctype = setlocale(LC_CTYPE, NULL);
    if (ctype && (strcmp(ctype, "C") == 0 || strcmp(ctype, "POSIX") == 0))
        setlocale(LC_CTYPE, "C.UTF-8");
}

int cli_write_stdout(const buf *b) {
    size_t n = buf_pending(b);
    if (n > 0 && fwrite(buf_head(b), 1, n, stdout) != n)
        return -1;
    return fflush(stdout) == 0 ? 0 : -1;
}

void cli_json_status(json_writer *w, const Callfloor__StatusReply *s) {
    json_object_begin(w);
    json_kv_string(w, "server_version", s->server_version);
    json_kv_string(w, "instance_id", s->instance_id);
    json_kv_int(w, "uptime_s", s->uptime_s);
    json_kv_uint(w, "connections", s->connections);
    json_kv_uint(w, "sessions", s->sessions);
    json_kv_uint(w, "agents", s->agents);
    json_kv_uint(w, "supervisors", s->supervisors);
    json_kv_uint(w, "admins", s->admins);
    json_kv_bool(w, "db_ok", s->db_ok);
    json_kv_uint(w, "db_connections", s->db_connections);
    json_kv_uint(w, "db_connections_ready", s->db_connections_ready);
    json_kv_uint(w, "db_queued", s->db_queued);
    json_kv_uint(w, "schema_version", s->schema_version);
    json_kv_uint(w, "leads_offered", s->leads_offered);
    json_kv_uint(w, "outcomes", s->outcomes);
    json_kv_uint(w, "tls_handshakes", s->tls_handshakes);
    json_kv_uint(w, "tls_failures", s->tls_failures);
    json_key(w, "offer_p99_ms");
    json_double(w, s->offer_p99_ms);
    json_key(w, "db_p99_ms");
    json_double(w, s->db_p99_ms);
    json_key(w, "push_p99_ms");
    json_double(w, s->push_p99_ms);
    json_kv_uint(w, "hopper_depth", s->hopper_depth);
    json_object_end(w);
}
