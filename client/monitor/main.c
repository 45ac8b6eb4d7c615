/* callfloor-monitor: the supervisor's view of the floor. On a terminal it
 * is a full screen refreshed every interval (screen.c); with --json it
 * prints one JSON object per refresh, and with --once just one. The live
 * leaderboard and agent states join this view as the server learns them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "cli.h"
#include "i18n.h"
#include "json.h"
#include "monitor.h"
#include "term.h"
#include "version.h"

#define PROGRAM          MONITOR_PROGRAM
#define MONITOR_CONTINUE (-1)
#define MAX_INTERVAL_S   3600

typedef struct options {
    cli_conn_options conn;
    bool json;
    bool once;
    unsigned interval_ms;
    const char *team; /* the leaderboard's team; "" for every team */
    Callfloor__Period period;
} options;

/* The JSON modes' state: how many snapshots were printed and how it ends. */
typedef struct json_run {
    monitor m;
    options *o;
    int exit_code;
    bool done;
    uint64_t printed_at;
    uint64_t printed_board;  /* the board_seq last printed */
    uint64_t printed_event;  /* the event_seq last printed */
    redial_state last_state; /* a failure is printed once, when it happens */
} json_run;

static void print_help(void) {
    printf(_("Usage: %s [OPTIONS]\n"
             "\n"
             "The supervisor's view of the callfloor floor: the live leaderboard, pushed by\n"
             "the server as outcomes come in, and the server, the sessions of agents,\n"
             "supervisors and admins, the database and the teams, refreshed every few\n"
             "seconds. The connection is kept up: when it drops the monitor reconnects by\n"
             "itself (after 1 s, doubling up to 30 s). Needs a supervisor or admin.\n"
             "\n"
             "Keys: p switches the period (day, week, month), t the team (each in turn,\n"
             "then all), n sends a notice to a team or to @agent, a reviews a call\n"
             "against the quality scorecard, r refreshes now, q quits.\n"
             "\n"
             "Options:\n"
             "  --team NAME         the leaderboard of this team (default: every team)\n"
             "  --period PERIOD     day, week or month (default day), in the business time\n"
             "                      zone\n"
             "  --interval SECONDS  refresh the server's numbers this often (default 2)\n"
             "  --json              no screen: print JSON lines: {\"event\":\"status\",...} per\n"
             "                      refresh and "
             "{\"event\":\"board\",\"snapshot\":...,\"rows\":[...]}\n"
             "                      per leaderboard push (docs/MONITOR_JSON.md)\n"
             "  --once              with --json: print one status line and exit\n"
             "  -h, --help          show this help\n"
             "  -V, --version       show the version\n"
             "\n"),
           PROGRAM);
    cli_conn_print_help(stdout);
    fputs(_("\n"
            "Environment: CALLFLOOR_SERVER, CALLFLOOR_CA, CALLFLOOR_USER and\n"
            "CALLFLOOR_PASSWORD stand in for --server, --ca, --user and --password-file.\n"
            "\n"
            "Exit status: 0 done; 1 the server refused the login or the view (e.g. an\n"
            "agent's account); 2 wrong usage; 3 no connection (network, TLS, protocol,\n"
            "timeout).\n"),
          stdout);
}

static int usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "%s: ", PROGRAM);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, _("\nTry '%s --help'.\n"), PROGRAM);
    return CLI_EXIT_USAGE;
}

static int parse_interval(options *o, const char *value) {
    char *end;
    unsigned long s = strtoul(value, &end, 10);
    if (value[0] < '0' || value[0] > '9' || *end != '\0' || s == 0 || s > MAX_INTERVAL_S)
        return usage_error(_("invalid --interval '%s': a number of seconds from 1 to 3600"), value);
    o->interval_ms = (unsigned)s * 1000;
    return MONITOR_CONTINUE;
}

static int parse_period(options *o, const char *value) {
    static const char *const names[] = {"day", "week", "month"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if (strcmp(value, names[k]) == 0) {
            o->period = (Callfloor__Period)k;
            return MONITOR_CONTINUE;
        }
    return usage_error(_("invalid --period '%s': day, week or month"), value);
}

static int parse_args(options *o, int argc, char **argv) {
    char err[CLI_MESSAGE_MAX];
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *value;
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            print_help();
            return CLI_EXIT_OK;
        }
        if (strcmp(arg, "-V") == 0 || strcmp(arg, "--version") == 0) {
            printf("%s (callfloor) %s\n", PROGRAM, CALLFLOOR_VERSION);
            return CLI_EXIT_OK;
        }
        if (strcmp(arg, "--json") == 0 || strcmp(arg, "--once") == 0) {
            *(arg[2] == 'j' ? &o->json : &o->once) = true;
            continue;
        }
        int rc = cli_flag_value(argc, argv, &i, "--team", &value, err, sizeof err);
        if (rc > 0) {
            o->team = value;
            continue;
        }
        if (rc == 0)
            rc = cli_flag_value(argc, argv, &i, "--period", &value, err, sizeof err);
        if (rc > 0) {
            if (parse_period(o, value) != MONITOR_CONTINUE)
                return CLI_EXIT_USAGE;
            continue;
        }
        if (rc == 0)
            rc = cli_flag_value(argc, argv, &i, "--interval", &value, err, sizeof err);
        if (rc > 0) {
            if (parse_interval(o, value) != MONITOR_CONTINUE)
                return CLI_EXIT_USAGE;
            continue;
        }
        if (rc == 0)
            rc = cli_conn_parse_flag(&o->conn, argc, argv, &i, err, sizeof err);
        if (rc < 0)
            return usage_error("%s", err);
        if (rc == 0)
            return usage_error(_("unknown option '%s'"), arg);
    }
    if (o->once && !o->json)
        return usage_error("%s", _("--once needs --json"));
    return MONITOR_CONTINUE;
}

/* ---- JSON lines ---- */

static void json_snapshot(buf *out, const monitor *m) {
    const Callfloor__StatusReply *s = m->status->status_reply;
    const Callfloor__TeamListReply *teams = m->teams->team_list_reply;
    json_writer w;
    json_init(&w, out);
    json_object_begin(&w);
    json_kv_string(&w, "event", "status");
    json_key(&w, "status");
    cli_json_status(&w, s);
    json_key(&w, "teams");
    json_array_begin(&w);
    for (size_t k = 0; k < teams->n_teams; k++) {
        json_object_begin(&w);
        json_kv_string(&w, "name", teams->teams[k]->name);
        json_kv_uint(&w, "members", teams->teams[k]->members);
        json_object_end(&w);
    }
    json_array_end(&w);
    json_object_end(&w);
    buf_append_str(out, "\n");
}

static const char *period_name(Callfloor__Period p) {
    return p == CALLFLOOR__PERIOD__PERIOD_WEEK    ? "week"
           : p == CALLFLOOR__PERIOD__PERIOD_MONTH ? "month"
                                                  : "day";
}

static void json_board_row(json_writer *w, const Callfloor__BoardRow *r) {
    json_object_begin(w);
    json_kv_uint(w, "rank", r->rank);
    json_kv_string(w, "agent", r->agent);
    json_kv_string(w, "display_name", r->display_name);
    json_kv_string(w, "team", r->team);
    json_kv_int(w, "points", r->points);
    json_kv_uint(w, "dials", r->dials);
    json_kv_uint(w, "connects", r->connects);
    json_kv_uint(w, "applications", r->applications);
    json_kv_uint(w, "approvals", r->approvals);
    json_kv_uint(w, "activations", r->activations);
    json_kv_uint(w, "talk_seconds", r->talk_seconds);
    json_kv_uint(w, "target", r->target);
    json_kv_uint(w, "tier", r->tier);
    json_kv_uint(w, "projected_tier", r->projected_tier);
    json_kv_uint(w, "qa_passed", r->qa_passed);
    json_object_end(w);
}

/* One leaderboard message as it came: the whole board or the rows that
 * changed. */
static void json_board(buf *out, const Callfloor__Board *b) {
    json_writer w;
    json_init(&w, out);
    json_object_begin(&w);
    json_kv_string(&w, "event", "board");
    json_kv_string(&w, "period", period_name(b->period));
    json_kv_string(&w, "team", b->team);
    json_kv_bool(&w, "snapshot", b->snapshot);
    json_kv_int(&w, "at", b->at);
    json_key(&w, "rows");
    json_array_begin(&w);
    for (size_t i = 0; i < b->n_rows; i++)
        json_board_row(&w, b->rows[i]);
    json_array_end(&w);
    json_object_end(&w);
    buf_append_str(out, "\n");
}

static const char *state_name(Callfloor__AgentState s) {
    static const char *const names[] = {"offline", "ready",   "offered",
                                        "on_call", "wrap_up", "paused"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}

static void json_floor(json_writer *w, const Callfloor__Floor *f) {
    json_kv_int(w, "at", f->at);
    json_key(w, "agents");
    json_array_begin(w);
    for (size_t i = 0; i < f->n_agents; i++) {
        const Callfloor__FloorAgent *a = f->agents[i];
        json_object_begin(w);
        json_kv_string(w, "agent", a->agent);
        json_kv_string(w, "display_name", a->display_name);
        json_kv_string(w, "team", a->team);
        json_kv_string(w, "state", state_name(a->state));
        json_kv_string(w, "reason", a->reason);
        json_kv_int(w, "since", a->since);
        json_kv_string(w, "campaign", a->campaign);
        json_object_end(w);
    }
    json_array_end(w);
    json_key(w, "queues");
    json_array_begin(w);
    for (size_t i = 0; i < f->n_queues; i++) {
        json_object_begin(w);
        json_kv_string(w, "campaign", f->queues[i]->campaign);
        json_kv_uint(w, "hopper", f->queues[i]->hopper);
        json_kv_int(w, "eligible", f->queues[i]->eligible);
        json_object_end(w);
    }
    json_array_end(w);
}

/* A floor, alert or notice push as one line. */
static void json_event(buf *out, const envelope *e) {
    json_writer w;
    json_init(&w, out);
    json_object_begin(&w);
    if (e->body_case == CALLFLOOR__ENVELOPE__BODY_FLOOR) {
        json_kv_string(&w, "event", "floor");
        json_floor(&w, e->floor);
    } else if (e->body_case == CALLFLOOR__ENVELOPE__BODY_ALERT) {
        json_kv_string(&w, "event", "alert");
        json_kv_string(&w, "kind", e->alert->kind);
        json_kv_string(&w, "message", e->alert->message);
        json_kv_string(&w, "agent", e->alert->agent);
        json_kv_string(&w, "team", e->alert->team);
        json_kv_int(&w, "at", e->alert->at);
    } else {
        json_kv_string(&w, "event", "notice");
        json_kv_string(&w, "sender", e->notice->sender);
        json_kv_string(&w, "text", e->notice->text);
        json_kv_string(&w, "team", e->notice->team);
        json_kv_string(&w, "agent", e->notice->agent);
        json_kv_int(&w, "at", e->notice->at);
    }
    json_object_end(&w);
    buf_append_str(out, "\n");
}

static void json_problem(buf *out, const monitor *m) {
    json_writer w;
    json_init(&w, out);
    json_object_begin(&w);
    json_key(&w, "error");
    json_object_begin(&w);
    json_kv_string(&w, "code", m->problem_code ? m->problem_code : "CONNECT_FAILED");
    json_kv_string(&w, "message", m->problem);
    json_object_end(&w);
    json_object_end(&w);
    buf_append_str(out, "\n");
}

static void json_finish(json_run *run, int exit_code) {
    if (run->done)
        return;
    run->done = true;
    run->exit_code = exit_code;
    monitor_stop(&run->m);
}

static void write_line(json_run *run, buf *line) {
    if (cli_write_stdout(line) < 0)
        json_finish(run, CLI_EXIT_SERVER);
    buf_free(line);
}

/* Prints each new snapshot; a refusal or, with --once, any failure ends. */
static void on_json_change(monitor *m, void *arg) {
    json_run *run = arg;
    buf line = BUF_INIT;
    redial_state state = redial_current(m->session);
    if (m->event_last != NULL && m->event_seq != run->printed_event && !run->o->once) {
        run->printed_event = m->event_seq;
        json_event(&line, m->event_last);
        write_line(run, &line);
        return;
    }
    if (m->board_last != NULL && m->board_seq != run->printed_board && !run->o->once) {
        run->printed_board = m->board_seq;
        json_board(&line, m->board_last->board);
        write_line(run, &line);
        return;
    }
    if (m->status != NULL && m->snapshot_at != run->printed_at) {
        run->printed_at = m->snapshot_at;
        json_snapshot(&line, m);
        write_line(run, &line);
        if (run->o->once)
            json_finish(run, CLI_EXIT_OK);
        return;
    }
    bool dropped = state != run->last_state && (state == REDIAL_GAVE_UP || state == REDIAL_WAITING);
    run->last_state = state;
    if (m->problem[0] == '\0' && !dropped)
        return;
    if (m->problem[0] == '\0')
        snprintf(m->problem, sizeof m->problem, "%s", redial_reason(m->session));
    json_problem(&line, m);
    write_line(run, &line);
    if (state == REDIAL_GAVE_UP || m->refused)
        json_finish(run, CLI_EXIT_SERVER);
    else if (run->o->once)
        json_finish(run, CLI_EXIT_CONNECT);
    m->problem[0] = '\0';
}

static int run_json(options *o, uv_loop_t *loop, const client_options *co) {
    json_run run = {.o = o, .last_state = REDIAL_CONNECTING};
    if (monitor_start(&run.m, loop, co, o->interval_ms, on_json_change, &run) < 0) {
        fprintf(stderr, _("%s: out of memory\n"), PROGRAM);
        return CLI_EXIT_SERVER;
    }
    monitor_watch_board(&run.m, o->team ? o->team : "", o->period);
    uv_run(loop, UV_RUN_DEFAULT);
    return run.exit_code;
}

int main(int argc, char **argv) {
    i18n_init();
    cli_setup_process();
    options o = {.interval_ms = 2000};
    cli_conn_init(&o.conn);
    int rc = parse_args(&o, argc, argv);
    char err[CLI_MESSAGE_MAX];
    if (rc == MONITOR_CONTINUE && !o.json && term_check("--json", err, sizeof err) < 0)
        rc = usage_error("%s", err);
    if (rc == MONITOR_CONTINUE && cli_conn_finish(&o.conn, err, sizeof err) < 0)
        rc = usage_error("%s", err);
    if (rc != MONITOR_CONTINUE) {
        cli_conn_wipe(&o.conn);
        return rc;
    }
    uv_loop_t loop;
    uv_loop_init(&loop);
    client_options co;
    cli_conn_to_client(&o.conn, PROGRAM, &co);
    rc = o.json ? run_json(&o, &loop, &co)
                : screen_run(&loop, &co, o.interval_ms, o.team ? o.team : "", o.period);
    cli_conn_wipe(&o.conn);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return rc;
}
