/* callfloor-agent: the agent's desk. On a terminal it is a full-screen
 * desk (tui.c); with --script it answers commands from standard input with
 * JSON lines (script.c). Both log in once at start-up, so a wrong password
 * or an unreachable server ends the program with the exit status cli.h
 * defines, before any screen is drawn. */
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "cli.h"
#include "desk.h"
#include "i18n.h"
#include "script.h"
#include "term.h"
#include "tui.h"
#include "version.h"

#define PROGRAM "callfloor-agent"
/* Returned by parsing steps that did not end the program. */
#define AGENT_CONTINUE (-1)

enum {
    DEFAULT_TIMEOUT_MS = 10000,
    /* How often the desk measures the round trip to the server. */
    PROBE_INTERVAL_MS = 10000,
};

typedef struct agent {
    cli_conn_options conn;
    bool script;
    const char *outbox_path; /* NULL: the default under XDG_STATE_HOME */
    char default_outbox[4096];
    int exit_signal; /* the signal that ended the desk, re-raised at exit */
} agent;

static void print_help(void) {
    printf(_("Usage: %s [OPTIONS]\n"
             "\n"
             "The agent's desk: who is logged in, the state of the connection to the\n"
             "callfloor server, and the work the floor hands out. When the connection\n"
             "drops, the desk reconnects by itself (after 1 s, doubling up to 30 s), and\n"
             "outcomes not yet acknowledged wait in the outbox and are sent again.\n"
             "\n"
             "Keys on the desk:\n"
             "  g        take leads: the next lead is offered as soon as one is free\n"
             "  d        dial the lead offered (shows the full number)\n"
             "  1-9, 0   end the call: 1 no answer, 2 busy, 3 voicemail, 4 wrong number,\n"
             "           5 not interested, 6 call back, 7 application (checklist and\n"
             "           pre-screen), 8 ineligible, 9 do not call, 0 complaint\n"
             "  b        take a break: no more leads until g\n"
             "  p        change my password (asked twice, never shown)\n"
             "  r        reconnect now, while not connected\n"
             "  Ctrl-L   redraw the screen\n"
             "  q        quit\n"
             "\n"
             "Options:\n"
             "  --script       no screen: read commands from standard input, one per line,\n"
             "                 and answer each with one JSON object on a line of output\n"
             "  --outbox FILE  where outcomes wait until the server acknowledged them\n"
             "                 (default $XDG_STATE_HOME/callfloor/outbox-USER, or\n"
             "                 ~/.local/state/callfloor/outbox-USER)\n"
             "  -h, --help     show this help\n"
             "  -V, --version  show the version\n"
             "\n"),
           PROGRAM);
    cli_conn_print_help(stdout);
    fputs(
        _("\n"
          "Script commands (--script):\n"
          "  whoami   "
          "{\"ok\":true,\"username\":...,\"display_name\":...,\"role\":...,\"team\":...}\n"
          "  passwd   change my password; the new password is the NEXT input line\n"
          "  ping     {\"ok\":true,\"rtt_ms\":N}\n"
          "  quit     end (so does the end of the input)\n"
          "A command that fails answers {\"ok\":false,\"code\":...,\"error\":...}; a lost\n"
          "connection answers {\"ok\":false,\"code\":\"CLOSED\",\"error\":...} and ends the run.\n"
          "The desk's work is JSON, one object per line (docs/AGENT_SCRIPT.md):\n"
          "  {\"cmd\":\"ready\"}                 take leads; offers come as lead_offer events\n"
          "  {\"cmd\":\"wait\",\"event\":\"lead_offer\"}  wait for an event (or status,\n"
          "                                  outcome_ack)\n"
          "  {\"cmd\":\"dial\"}                  call the offered lead: call_started\n"
          "  {\"cmd\":\"outcome\",\"disposition\":\"NO_ANSWER\"}  end the call: outcome_ack\n"
          "  {\"cmd\":\"pause\",\"reason\":\"lunch\"}  stop taking leads\n"
          "Failures of these answer {\"event\":\"error\",\"code\":...,\"message\":...}.\n"
          "\n"
          "Environment:\n"
          "  CALLFLOOR_SERVER    the server, when --server is not given\n"
          "  CALLFLOOR_CA        the CA certificate file, when --ca is not given\n"
          "  CALLFLOOR_USER      the user name, when --user is not given\n"
          "  CALLFLOOR_PASSWORD  the password, when --password-file is not given\n"
          "  TERM, LANG          the terminal type and the language of the desk\n"
          "\n"
          "Exit status: 0 done; 1 the server refused the login or a request; 2 wrong\n"
          "usage (or no terminal without --script); 3 no connection (network, TLS,\n"
          "protocol, timeout), or the connection was lost in --script mode. Ended by\n"
          "a signal (Ctrl-C, SIGTERM, SIGHUP), the desk restores the terminal first.\n"),
        stdout);
    printf(_("\n"
             "Examples:\n"
             "  %s --server floor.example.com:7443 --user zhangwei\n"
             "  printf 'whoami\\nquit\\n' | %s --script --user zhangwei --password-file pw\n"),
           PROGRAM, PROGRAM);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
    cli_failure f;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f.message, sizeof f.message, fmt, ap);
    va_end(ap);
    f.exit_code = CLI_EXIT_USAGE;
    f.code = "USAGE";
    cli_failure_print(&f, PROGRAM, false);
    fprintf(stderr, _("Try '%s --help'.\n"), PROGRAM);
    return CLI_EXIT_USAGE;
}

static int parse_args(agent *a, int argc, char **argv) {
    char err[CLI_MESSAGE_MAX];
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            print_help();
            return CLI_EXIT_OK;
        }
        if (strcmp(arg, "-V") == 0 || strcmp(arg, "--version") == 0) {
            printf("%s (callfloor) %s\n", PROGRAM, CALLFLOOR_VERSION);
            return CLI_EXIT_OK;
        }
        if (strcmp(arg, "--script") == 0) {
            a->script = true;
            continue;
        }
        if (strcmp(arg, "--outbox") == 0) {
            if (i + 1 >= argc || argv[i + 1][0] == '\0')
                return usage_error(_("--outbox needs a file name"));
            a->outbox_path = argv[++i];
            continue;
        }
        int rc = cli_conn_parse_flag(&a->conn, argc, argv, &i, err, sizeof err);
        if (rc < 0)
            return usage_error("%s", err);
        if (rc == 0 && arg[0] == '-')
            return usage_error(_("unknown option '%s'"), arg);
        if (rc == 0)
            return usage_error(_("unexpected argument '%s'"), arg);
    }
    return AGENT_CONTINUE;
}

/* Everything that can be wrong before connecting is checked first. */
static int check_setup(agent *a) {
    char err[CLI_MESSAGE_MAX];
    if (!a->script && term_check("--script", err, sizeof err) < 0)
        return usage_error("%s", err);
    if (cli_conn_finish(&a->conn, err, sizeof err) < 0)
        return usage_error("%s", err);
    if (a->conn.user == NULL)
        return usage_error(_("the desk logs in with a user name: pass --user NAME or set "
                             "CALLFLOOR_USER"));
    if (a->outbox_path == NULL) {
        if (outbox_default_path(a->conn.user, a->default_outbox, sizeof a->default_outbox) < 0)
            return usage_error(_("neither HOME nor XDG_STATE_HOME is set: pass --outbox FILE"));
        a->outbox_path = a->default_outbox;
    }
    return AGENT_CONTINUE;
}

static int report_login_failure(const agent *a, const desk *d, int status) {
    cli_failure f;
    cli_failure_from_status(&f, status, desk_drop_reason(d), desk_server_code(d));
    if (a->script)
        script_print_failure(&f);
    else
        cli_failure_print(&f, PROGRAM, false);
    return f.exit_code;
}

/* Logs in, then hands the desk to the screen or the script runner, which
 * destroy it. */
static int run_desk(agent *a, uv_loop_t *loop, outbox *ob) {
    desk_options opts = {
        .conn = &a->conn,
        .client_name = PROGRAM,
        .reconnect = !a->script,
        .probe_interval_ms = a->script ? 0 : PROBE_INTERVAL_MS,
    };
    desk *d = desk_create(loop, &opts);
    cli_conn_wipe(&a->conn);
    if (d == NULL) {
        fprintf(stderr, _("%s: out of memory\n"), PROGRAM);
        return CLI_EXIT_SERVER;
    }
    desk_set_outbox(d, ob);
    int status = desk_open(d);
    if (status < 0) {
        int rc = report_login_failure(a, d, status);
        desk_destroy(d);
        return rc;
    }
    if (a->script)
        return script_run(loop, d, a->conn.timeout_ms ? a->conn.timeout_ms : DEFAULT_TIMEOUT_MS);
    return tui_run(loop, d, &a->exit_signal);
}

static int agent_main(agent *a, int argc, char **argv) {
    int rc = parse_args(a, argc, argv);
    if (rc == AGENT_CONTINUE)
        rc = check_setup(a);
    if (rc != AGENT_CONTINUE)
        return rc;
    uv_loop_t loop;
    int uv_rc = uv_loop_init(&loop);
    if (uv_rc < 0) {
        fprintf(stderr, _("%s: cannot start the event loop: %s\n"), PROGRAM, uv_strerror(uv_rc));
        return CLI_EXIT_SERVER;
    }
    char err[CLI_MESSAGE_MAX + 4096];
    outbox *ob = outbox_open(a->outbox_path, err, sizeof err);
    if (ob == NULL) {
        fprintf(stderr, "%s: %s\n", PROGRAM, err);
        uv_loop_close(&loop);
        return CLI_EXIT_USAGE;
    }
    rc = run_desk(a, &loop, ob);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    outbox_close(ob);
    return rc;
}

int main(int argc, char **argv) {
    i18n_init();
    cli_setup_process();
    agent a;
    memset(&a, 0, sizeof a);
    cli_conn_init(&a.conn);
    int rc = agent_main(&a, argc, argv);
    cli_conn_wipe(&a.conn);
    /* Ended by a signal: die of it, as the shell expects, now that the
     * terminal is restored and everything is released. */
    if (a.exit_signal != 0) {
        signal(a.exit_signal, SIG_DFL);
        raise(a.exit_signal);
    }
    return rc;
}
