/* script: see script.h. One command runs at a time: input is paused while
 * an answer is awaited, so the answers come in the order of the commands. */
#include "script.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "i18n.h"
#include "json.h"
#include "cmdin.h"
#include "role.h"

typedef struct script {
    desk *d;
    cmdin *in;
    uv_timer_t timeout;
    unsigned timeout_ms;
    bool busy;          /* an answer is awaited */
    bool want_password; /* the next line is passwd's new password */
    bool input_ended;
    bool stopping;
    int exit_code;
} script;

/* Returns true to go on with the next line at once, false to wait. */
typedef bool (*script_command)(script *s);

static void finish(script *s, int exit_code) {
    if (s->stopping)
        return;
    s->stopping = true;
    s->exit_code = exit_code;
    if (s->in)
        cmdin_close(s->in);
    s->in = NULL;
    uv_close((uv_handle_t *)&s->timeout, NULL);
    desk_destroy(s->d);
}

/* ---- output ---- */

/* Writes one finished JSON object as a line. Output that cannot be written
 * has no reader left, so the run ends. */
static void emit(script *s, buf *out) {
    if (buf_append_str(out, "\n") < 0 || cli_write_stdout(out) < 0) {
        fprintf(stderr, _("callfloor-agent: cannot write the output; stopping\n"));
        finish(s, CLI_EXIT_SERVER);
    }
    buf_free(out);
}

static void write_failure(buf *out, const char *code, const char *message) {
    json_writer w;
    json_init(&w, out);
    json_object_begin(&w);
    json_kv_bool(&w, "ok", false);
    json_kv_string(&w, "code", code);
    json_kv_string(&w, "error", message);
    json_object_end(&w);
}

static void emit_failure(script *s, const char *code, const char *message) {
    buf out = BUF_INIT;
    write_failure(&out, code, message);
    emit(s, &out);
}

static void emit_ok(script *s) {
    buf out = BUF_INIT;
    json_writer w;
    json_init(&w, &out);
    json_object_begin(&w);
    json_kv_bool(&w, "ok", true);
    json_object_end(&w);
    emit(s, &out);
}

void script_print_failure(const cli_failure *f) {
    buf out = BUF_INIT;
    write_failure(&out, f->code, f->message);
    buf_append_str(&out, "\n");
    cli_write_stdout(&out);
    buf_free(&out);
}

/* ---- waiting for answers ---- */

static void on_timeout(uv_timer_t *t) {
    script *s = t->data;
    char message[CLI_MESSAGE_MAX];
    snprintf(message, sizeof message,
             _("%s did not answer within %g s (check the server, or raise --timeout)"),
             desk_server(s->d), s->timeout_ms / 1000.0);
    emit_failure(s, "TIMEOUT", message);
    finish(s, CLI_EXIT_CONNECT);
}

static void await_answer(script *s) {
    s->busy = true;
    uv_timer_start(&s->timeout, on_timeout, s->timeout_ms, 0);
}

/* After an answer: the next command, or the end if the input ended. A
 * failed status means the connection broke, and the desk's closed event,
 * which follows at once, ends the run. */
static void answered(script *s, int status) {
    s->busy = false;
    uv_timer_stop(&s->timeout);
    if (s->stopping || status < 0)
        return;
    if (s->input_ended)
        finish(s, CLI_EXIT_OK);
    else
        cmdin_resume(s->in);
}

/* A request that could not even be sent: the session is gone, and the
 * desk's event says so, unless the failure was something else. */
static void send_failed(script *s, int status) {
    if (status == CLIENT_E_CLOSED)
        return;
    cli_failure f;
    cli_failure_from_status(&f, status, NULL, CALLFLOOR__ERROR_CODE__ERROR_CODE_UNSPECIFIED);
    emit_failure(s, f.code, f.message);
}

/* ---- commands ---- */

static bool run_whoami(script *s) {
    const desk_user *u = desk_get_user(s->d);
    buf out = BUF_INIT;
    json_writer w;
    json_init(&w, &out);
    json_object_begin(&w);
    json_kv_bool(&w, "ok", true);
    json_kv_string(&w, "username", u->username);
    json_kv_string(&w, "display_name", u->display_name);
    json_kv_string(&w, "role", role_name(u->role));
    json_kv_string(&w, "team", *u->team ? u->team : NULL);
    json_object_end(&w);
    emit(s, &out);
    return true;
}

static void on_pong(desk *d, int status, unsigned rtt_ms, void *arg) {
    script *s = arg;
    (void)d;
    if (status == 0) {
        buf out = BUF_INIT;
        json_writer w;
        json_init(&w, &out);
        json_object_begin(&w);
        json_kv_bool(&w, "ok", true);
        json_kv_uint(&w, "rtt_ms", rtt_ms);
        json_object_end(&w);
        emit(s, &out);
    }
    answered(s, status);
}

static bool run_ping(script *s) {
    int rc = desk_ping(s->d, on_pong, s);
    if (rc < 0) {
        send_failed(s, rc);
        return true;
    }
    await_answer(s);
    return false;
}

static bool run_passwd(script *s) {
    s->want_password = true;
    return true;
}

static bool run_quit(script *s) {
    finish(s, CLI_EXIT_OK);
    return false;
}

static void on_passwd_answer(desk *d, int status, const envelope *reply, void *arg) {
    script *s = arg;
    (void)d;
    if (status == 0 && reply->body_case == CALLFLOOR__ENVELOPE__BODY_ERROR) {
        cli_failure f;
        cli_failure_from_error(&f, reply->error);
        emit_failure(s, f.code, f.message);
    } else if (status == 0) {
        emit_ok(s);
    }
    answered(s, status);
}

static bool change_password(script *s, const char *password) {
    int rc = desk_change_password(s->d, password, on_passwd_answer, s);
    if (rc == DESK_E_TOO_LONG) {
        char message[CLI_MESSAGE_MAX];
        snprintf(message, sizeof message, _("the new password is longer than %d bytes"),
                 CLI_PASSWORD_MAX);
        emit_failure(s, "INVALID_ARGUMENT", message);
        return true;
    }
    if (rc < 0) {
        send_failed(s, rc);
        return true;
    }
    await_answer(s);
    return false;
}

static const struct {
    const char *name;
    script_command run;
} commands[] = {
    {"whoami", run_whoami},
    {"passwd", run_passwd},
    {"ping", run_ping},
    {"quit", run_quit},
};

/* Trims blanks around the command in place. */
static char *trim(char *line) {
    while (*line == ' ' || *line == '\t')
        line++;
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
        line[--n] = '\0';
    return line;
}

static bool run_command(script *s, char *line) {
    const char *word = trim(line);
    if (*word == '\0')
        return true;
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
        if (strcmp(word, commands[k].name) == 0)
            return commands[k].run(s);
    char message[CLI_MESSAGE_MAX];
    snprintf(message, sizeof message,
             _("unknown command '%s'; commands: whoami, passwd, ping, quit"), word);
    emit_failure(s, "USAGE", message);
    return true;
}

static void input_ended(script *s, int status) {
    s->input_ended = true;
    if (status < 0) {
        char message[CLI_MESSAGE_MAX];
        if (status == UV_E2BIG)
            snprintf(message, sizeof message, _("an input line is longer than %d bytes"),
                     CMDIN_MAX);
        else
            snprintf(message, sizeof message, _("cannot read standard input: %s"),
                     uv_strerror(status));
        emit_failure(s, "USAGE", message);
        finish(s, CLI_EXIT_USAGE);
    } else if (s->want_password) {
        emit_failure(s, "USAGE",
                     _("'passwd' needs the new password on the next line, but the input ended"));
        finish(s, CLI_EXIT_USAGE);
    } else if (!s->busy) {
        finish(s, CLI_EXIT_OK);
    }
}

static bool on_line(char *line, int status, void *arg) {
    script *s = arg;
    if (line == NULL) {
        input_ended(s, status);
        return false;
    }
    if (s->want_password) {
        s->want_password = false;
        return change_password(s, line);
    }
    return run_command(s, line);
}

static void on_desk_event(desk *d, void *arg) {
    script *s = arg;
    if (desk_get_state(d) != DESK_CLOSED)
        return;
    buf out = BUF_INIT;
    write_failure(&out, "CLOSED", desk_drop_reason(d));
    emit(s, &out);
    finish(s, CLI_EXIT_CONNECT);
}

int script_run(uv_loop_t *loop, desk *d, unsigned timeout_ms) {
    script s = {.d = d, .timeout_ms = timeout_ms};
    uv_timer_init(loop, &s.timeout);
    s.timeout.data = &s;
    desk_on_event(d, on_desk_event, &s);
    int rc = cmdin_open(loop, STDIN_FILENO, on_line, &s, &s.in);
    if (rc < 0) {
        fprintf(stderr, _("callfloor-agent: cannot read standard input: %s\n"), uv_strerror(rc));
        finish(&s, CLI_EXIT_USAGE);
    }
    uv_run(loop, UV_RUN_DEFAULT);
    return s.exit_code;
}
