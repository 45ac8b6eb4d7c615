/* script: see script.h. One command runs at a time: input is paused while
 * an answer is awaited, so the answers come in the order of the commands. */
#include "script.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cmdin.h"
#include "deskjson.h"
#include "i18n.h"
#include "json.h"
#include "role.h"

#define MAX_MEMBERS 32

/* The events a "wait" command can wait for. */
typedef enum script_event {
    EV_LEAD_OFFER,
    EV_STATUS,
    EV_OUTCOME_ACK,
    EV_NOTICE,
    EV_COUNT
} script_event;

static const char *const event_names[EV_COUNT] = {"lead_offer", "status", "outcome_ack", "notice"};

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
    uint64_t offer_lead;       /* the lead of the last offer, 0 after it went */
    uint64_t call_id;          /* the last call dialled, 0 before the first */
    unsigned unseen[EV_COUNT]; /* events not yet consumed by a wait */
    int waiting_for;           /* a script_event, or -1 */
    char awaiting_key[65];     /* the outcome whose answer is awaited */
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
             _("unknown command '%s'; commands: whoami, passwd, ping, quit, and the JSON "
               "commands ready, pause, dial, outcome, wait"),
             word);
    emit_failure(s, "USAGE", message);
    return true;
}

/* ---- the desk's work, as JSON commands and events ---- */

static void emit_error_event(script *s, const char *code, const char *message) {
    buf out = BUF_INIT;
    deskjson_error(&out, code, message);
    emit(s, &out);
}

static void emit_reply_error(script *s, int status, const envelope *reply) {
    cli_failure f;
    if (status < 0)
        cli_failure_from_status(&f, status, NULL, CALLFLOOR__ERROR_CODE__ERROR_CODE_UNSPECIFIED);
    else
        cli_failure_from_error(&f, reply->error);
    emit_error_event(s, f.code, f.message);
}

/* An event happened: a "wait" for it ends, or it is kept for the next one. */
static void saw_event(script *s, script_event ev) {
    if (s->waiting_for == (int)ev) {
        s->waiting_for = -1;
        answered(s, 0);
    } else {
        s->unseen[ev]++;
    }
}

static void on_push(desk *d, const envelope *push, void *arg) {
    script *s = arg;
    (void)d;
    buf out = BUF_INIT;
    if (!deskjson_push(&out, push)) {
        buf_free(&out);
        return;
    }
    emit(s, &out);
    if (push->body_case == CALLFLOOR__ENVELOPE__BODY_LEAD_OFFER) {
        s->offer_lead = push->lead_offer->lead_id;
        s->call_id = push->lead_offer->call_id;
        saw_event(s, EV_LEAD_OFFER);
    } else if (push->body_case == CALLFLOOR__ENVELOPE__BODY_NOTICE) {
        saw_event(s, EV_NOTICE);
    } else {
        if (push->agent_status->state != CALLFLOOR__AGENT_STATE__AGENT_ON_CALL)
            s->offer_lead = 0;
        saw_event(s, EV_STATUS);
    }
}

static void on_status_reply(desk *d, int status, const envelope *reply, void *arg) {
    script *s = arg;
    (void)d;
    if (status == 0 && reply->body_case == CALLFLOOR__ENVELOPE__BODY_AGENT_STATUS) {
        buf out = BUF_INIT;
        deskjson_status(&out, reply->agent_status);
        emit(s, &out);
    } else if (status == 0) {
        emit_reply_error(s, status, reply);
    }
    answered(s, status);
}

static bool send_request(script *s, envelope *req, desk_reply_cb cb) {
    int rc = desk_request(s->d, req, cb, s);
    if (rc < 0) {
        send_failed(s, rc);
        return true;
    }
    await_answer(s);
    return false;
}

static bool json_ready(script *s, const json_member *m, int n) {
    (void)m;
    (void)n;
    Callfloor__AgentReady msg = CALLFLOOR__AGENT_READY__INIT;
    envelope req = CALLFLOOR__ENVELOPE__INIT;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_AGENT_READY;
    req.agent_ready = &msg;
    return send_request(s, &req, on_status_reply);
}

static bool json_pause(script *s, const json_member *m, int n) {
    const json_member *reason = json_find(m, n, "reason");
    Callfloor__AgentPause msg = CALLFLOOR__AGENT_PAUSE__INIT;
    msg.reason = reason && reason->type == JSON_STRING ? (char *)reason->value : "";
    envelope req = CALLFLOOR__ENVELOPE__INIT;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_AGENT_PAUSE;
    req.agent_pause = &msg;
    return send_request(s, &req, on_status_reply);
}

static void on_dial_reply(desk *d, int status, const envelope *reply, void *arg) {
    script *s = arg;
    (void)d;
    if (status == 0 && reply->body_case == CALLFLOOR__ENVELOPE__BODY_DIAL_REPLY) {
        s->call_id = reply->dial_reply->call_id;
        buf out = BUF_INIT;
        deskjson_call_started(&out, s->offer_lead, reply->dial_reply);
        emit(s, &out);
    } else if (status == 0) {
        emit_reply_error(s, status, reply);
    }
    answered(s, status);
}

static bool json_dial(script *s, const json_member *m, int n) {
    const json_member *lead = json_find(m, n, "lead_id");
    if (lead != NULL)
        s->offer_lead = strtoull(lead->value, NULL, 10);
    Callfloor__Dial msg = CALLFLOOR__DIAL__INIT;
    msg.lead_id = s->offer_lead;
    envelope req = CALLFLOOR__ENVELOPE__INIT;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_DIAL;
    req.dial = &msg;
    return send_request(s, &req, on_dial_reply);
}

static void on_outcome_answer(desk *d, const char *key, int status, const envelope *reply,
                              bool settled, void *arg) {
    script *s = arg;
    (void)d;
    bool awaited = strcmp(key, s->awaiting_key) == 0;
    buf out = BUF_INIT;
    if (status == 0 && reply->body_case == CALLFLOOR__ENVELOPE__BODY_OUTCOME_REPLY) {
        deskjson_outcome_ack(&out, key, reply->outcome_reply);
        emit(s, &out);
        saw_event(s, EV_OUTCOME_ACK);
    } else {
        buf_free(&out);
        if (status == 0)
            emit_reply_error(s, status, reply);
        else if (!settled)
            emit_error_event(s, "QUEUED",
                             _("the outcome is kept in the outbox and sent again after the next "
                               "login"));
    }
    if (awaited) {
        s->awaiting_key[0] = '\0';
        if (s->busy && s->waiting_for < 0)
            answered(s, status);
    }
}

static bool json_outcome(script *s, const json_member *m, int n) {
    deskjson_outcome o;
    const char *problem = deskjson_parse_outcome(m, n, s->call_id, &o);
    if (problem != NULL) {
        emit_error_event(s, "INVALID_ARGUMENT", problem);
        return true;
    }
    bool connected = desk_get_state(s->d) == DESK_CONNECTED;
    int rc = desk_submit_outcome(s->d, &o.outcome);
    if (rc < 0) {
        char message[CLI_MESSAGE_MAX];
        snprintf(message, sizeof message,
                 _("the outcome could not be kept in the outbox (%s); note it down and retry"),
                 rc == OUTBOX_E_FULL ? _("it is full") : strerror(-rc));
        emit_error_event(s, "OUTBOX", message);
        return true;
    }
    if (!connected)
        return true; /* kept; sent after the next login */
    snprintf(s->awaiting_key, sizeof s->awaiting_key, "%s", o.key);
    await_answer(s);
    return false;
}

static bool json_wait(script *s, const json_member *m, int n) {
    const json_member *ev = json_find(m, n, "event");
    for (int k = 0; ev != NULL && k < EV_COUNT; k++) {
        if (strcmp(ev->value, event_names[k]) != 0)
            continue;
        if (s->unseen[k] > 0) {
            s->unseen[k]--;
            return true;
        }
        s->waiting_for = k;
        await_answer(s);
        return false;
    }
    emit_error_event(s, "USAGE",
                     _("wait for which event? lead_offer, status, outcome_ack or notice"));
    return true;
}

typedef bool (*json_command)(script *s, const json_member *m, int n);

static const struct {
    const char *name;
    json_command run;
} json_commands[] = {
    {"ready", json_ready},     {"pause", json_pause}, {"dial", json_dial},
    {"outcome", json_outcome}, {"wait", json_wait},
};

static bool run_json(script *s, char *line) {
    json_member m[MAX_MEMBERS];
    size_t where = 0;
    int n = json_parse_flat(line, m, MAX_MEMBERS, &where);
    const json_member *cmd = n < 0 ? NULL : json_find(m, n, "cmd");
    if (cmd == NULL || cmd->type != JSON_STRING) {
        emit_error_event(s, "USAGE",
                         n < 0 ? json_strerror(n) : _("a JSON command has a \"cmd\" member"));
        return true;
    }
    for (size_t k = 0; k < sizeof json_commands / sizeof json_commands[0]; k++)
        if (strcmp(cmd->value, json_commands[k].name) == 0)
            return json_commands[k].run(s, m, n);
    char word[64];
    snprintf(word, sizeof word, "%s", cmd->value);
    return run_command(s, word);
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
    return line[strspn(line, " \t")] == '{' ? run_json(s, line) : run_command(s, line);
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
    script s = {.d = d, .timeout_ms = timeout_ms, .waiting_for = -1};
    uv_timer_init(loop, &s.timeout);
    s.timeout.data = &s;
    desk_on_event(d, on_desk_event, &s);
    desk_on_push(d, on_push, &s);
    desk_on_outcome(d, on_outcome_answer, &s);
    int rc = cmdin_open(loop, STDIN_FILENO, on_line, &s, &s.in);
    if (rc < 0) {
        fprintf(stderr, _("callfloor-agent: cannot read standard input: %s\n"), uv_strerror(rc));
        finish(&s, CLI_EXIT_USAGE);
    }
    uv_run(loop, UV_RUN_DEFAULT);
    return s.exit_code;
}
