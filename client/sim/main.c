/* callfloor-sim: a load generator over the real protocol. It logs in
 * supervisor and agent sessions over TLS, paced and bounded; the agents
 * work the queue (ready, offer, dial, talk, outcome) with a realistic mix
 * of outcomes and the supervisors watch the board, for a set duration.
 * Then it reports throughput and latency percentiles, and the daemon's
 * memory and CPU when told its process id. It creates no accounts: the
 * users PREFIX0001 ... must exist (see --help). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <uv.h>

#include "cli.h"
#include "i18n.h"
#include "json.h"
#include "sim.h"
#include "version.h"

#define PROGRAM         "callfloor-sim"
#define SIM_CONTINUE    (-1)
#define MAX_SESSIONS    100000
#define FDS_PER_SESSION 1
#define FDS_SPARE       64
/* Connections being set up (TCP, TLS, Hello, Login) at once. A server that
 * checks passwords slower than the connect rate would otherwise gather a
 * queue that grows for the whole ramp until logins time out; bounded, the
 * login latency stays a measure of the server rather than of the backlog. */
#define MAX_SETUPS 64
/* How long the calls still open at the end may take to be answered, and
 * the supervisors' boards to show them. */
#define SETTLE_MAX_MS 10000
/* Each ping round is spread over this many ticks, or one a millisecond
 * when --ping-ms is shorter (see sim_ping_slice); a round lasts --ping-ms
 * rounded down to a whole number of ticks. */
#define PING_SLICES 20

typedef struct run_state {
    sim *s;
    uv_timer_t pacer, pinger, stopper;
    uint64_t measured_from, measured_to;   /* uv_hrtime */
    uint64_t settle_deadline;              /* uv_now */
    process_usage before, after;           /* the daemon's, --server-pid */
    process_usage self_before, self_after; /* this simulator's own */
    unsigned ping_slice, ping_slices;      /* the next to ping, of how many */
} run_state;

static void print_help(void) {
    printf(_("Usage: %s --agents N [OPTIONS]\n"
             "\n"
             "Logs in M supervisor and N agent sessions over TLS, paced. The agents work\n"
             "the queue for the duration: ready, lead offer, dial, a conversation of about\n"
             "--talk-ms, then an outcome (55%% no answer, 10%% busy, 25%% not interested,\n"
             "10%% application), and ask for the next lead; the supervisors watch their\n"
             "team's board of today. A lost session connects again and resends an\n"
             "unanswered outcome with its key. The report gives throughput (outcomes\n"
             "acknowledged a second while every session was in) and latency percentiles\n"
             "(p50, p90, p99, max) of login, ready to lead offer, outcome to\n"
             "acknowledgement (durable), outcome to the supervisors' board push,\n"
             "acknowledgement to that push (the server's fan-out) and ping round trips,\n"
             "and the pushes the supervisors received; offers, outcomes, pushes and pings\n"
             "are timed only while every session is in. When the time is up the calls still\n"
             "open are ended all at once; their acknowledgements are reported apart\n"
             "(wind-down ack), and the supervisors whose board does not come to show every\n"
             "agent's last outcome within 10 s are counted (the agents and supervisors being\n"
             "of one team).\n"
             "\n"
             "Options:\n"
             "  --agents N            how many agent sessions (1-100000; required)\n"
             "  --supervisors M       how many supervisor sessions (default 0)\n"
             "  --duration SECONDS    how long to work once all are in (default 10)\n"
             "  --talk-ms MS          the average conversation (default 2000; 0: none)\n"
             "  --idle                agents only stay connected and ping, taking no leads\n"
             "  --ping-ms MS          how often each session pings to time the round trip\n"
             "                        (default 1000; 0: never)\n"
             "  --connect-rate N      new connections per second (default 200)\n"
             "  --user-prefix P       agents log in as P0001, P0002, ... (default sim)\n"
             "  --supervisor-prefix P supervisors log in as P0001, ... (default simsup)\n"
             "  --acks FILE           write the call id of every acknowledged outcome\n"
             "  --server-pid PID      report this local daemon's memory and CPU time\n"
             "  --json                print the report as one JSON object\n"
             "  -q, --quiet           no progress line on standard error\n"
             "  -h, --help            show this help\n"
             "  -V, --version         show the version\n"
             "\n"),
           PROGRAM);
    cli_conn_print_help(stdout);
    printf(_("\n"
             "All sessions share the password from --password-file or CALLFLOOR_PASSWORD.\n"
             "The accounts must exist, the agents in a team that works a campaign with\n"
             "leads; an administrator can make them, e.g.:\n"
             "  for i in $(seq -w 1 100); do\n"
             "    echo sim-password-1 | callfloorctl user add sim0$i --role agent --team 一组\n"
             "  done\n"
             "\n"
             "Exit status: 0 every session logged in, stayed connected and had every\n"
             "outcome accepted; 1 otherwise; 2 wrong usage; 3 the server could not be\n"
             "reached.\n"));
}

static int usage_error(const char *message) {
    fprintf(stderr, "%s: %s\n", PROGRAM, message);
    fprintf(stderr, _("Try '%s --help'.\n"), PROGRAM);
    return CLI_EXIT_USAGE;
}

static int parse_count(const char *flag, const char *value, unsigned min, unsigned max,
                       unsigned *out) {
    char *end;
    unsigned long v = strtoul(value, &end, 10);
    if (value[0] < '0' || value[0] > '9' || *end != '\0' || v < min || v > max) {
        char message[CLI_MESSAGE_MAX];
        snprintf(message, sizeof message, _("invalid %s '%s': a number from %u to %u"), flag, value,
                 min, max);
        return usage_error(message);
    }
    *out = (unsigned)v;
    return SIM_CONTINUE;
}

static int parse_option(sim *s, int argc, char **argv, int *i) {
    static const struct {
        const char *flag;
        size_t offset;
        unsigned min, max;
    } counts[] = {
        {"--agents", offsetof(sim, agents), 1, MAX_SESSIONS},
        {"--supervisors", offsetof(sim, supervisors), 0, MAX_SESSIONS},
        {"--connect-rate", offsetof(sim, connect_rate), 1, 10000},
        {"--duration", offsetof(sim, duration_s), 1, 86400},
        {"--talk-ms", offsetof(sim, talk_ms), 0, 3600000},
        {"--ping-ms", offsetof(sim, ping_ms), 0, 3600000},
        {"--server-pid", offsetof(sim, server_pid), 1, 4194304},
    };
    static const struct {
        const char *flag;
        size_t offset;
    } texts[] = {
        {"--user-prefix", offsetof(sim, prefix)},
        {"--supervisor-prefix", offsetof(sim, supervisor_prefix)},
        {"--acks", offsetof(sim, acks_path)},
    };
    char err[CLI_MESSAGE_MAX];
    const char *value;
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
        int rc = cli_flag_value(argc, argv, i, counts[k].flag, &value, err, sizeof err);
        if (rc < 0)
            return usage_error(err);
        if (rc > 0)
            return parse_count(counts[k].flag, value, counts[k].min, counts[k].max,
                               (unsigned *)((char *)s + counts[k].offset));
    }
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
        int rc = cli_flag_value(argc, argv, i, texts[k].flag, &value, err, sizeof err);
        if (rc < 0)
            return usage_error(err);
        if (rc > 0) {
            *(const char **)((char *)s + texts[k].offset) = value;
            return SIM_CONTINUE;
        }
    }
    int rc = cli_conn_parse_flag(&s->conn, argc, argv, i, err, sizeof err);
    if (rc < 0)
        return usage_error(err);
    if (rc == 0) {
        snprintf(err, sizeof err, _("unknown option '%s'"), argv[*i]);
        return usage_error(err);
    }
    return SIM_CONTINUE;
}

static int parse_args(sim *s, int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            print_help();
            return CLI_EXIT_OK;
        }
        if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
            printf("%s (callfloor) %s\n", PROGRAM, CALLFLOOR_VERSION);
            return CLI_EXIT_OK;
        }
        if (strcmp(argv[i], "--json") == 0) {
            s->json = true;
            continue;
        }
        if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0) {
            s->quiet = true;
            continue;
        }
        if (strcmp(argv[i], "--idle") == 0) {
            s->idle = true;
            continue;
        }
        int rc = parse_option(s, argc, argv, &i);
        if (rc != SIM_CONTINUE)
            return rc;
    }
    if (s->agents == 0)
        return usage_error(_("--agents N is required"));
    if (s->agents + s->supervisors > MAX_SESSIONS)
        return usage_error(_("at most 100000 sessions in all"));
    if (s->conn.user != NULL)
        return usage_error(_("the sessions log in as --user-prefix P (P0001, P0002, ...), not "
                             "--user"));
    /* Only for the password prompt's sake: each session has its own name. */
    s->conn.user = s->prefix;
    return SIM_CONTINUE;
}

/* Each session needs a descriptor; the soft limit is raised to the hard
 * one when that is not enough. */
static int ensure_descriptors(unsigned sessions) {
    struct rlimit lim;
    rlim_t need = (rlim_t)sessions * FDS_PER_SESSION + FDS_SPARE;
    if (getrlimit(RLIMIT_NOFILE, &lim) < 0 || lim.rlim_cur >= need)
        return 0;
    lim.rlim_cur = lim.rlim_max < need ? lim.rlim_max : need;
    setrlimit(RLIMIT_NOFILE, &lim);
    if (lim.rlim_cur >= need)
        return 0;
    fprintf(stderr,
            _("%s: %u sessions need %llu open files, but the limit is %llu (raise it with "
              "'ulimit -n' or LimitNOFILE=)\n"),
            PROGRAM, sessions, (unsigned long long)need, (unsigned long long)lim.rlim_max);
    return -1;
}

/* ---- pacing and time ---- */

static unsigned setups_in_flight(const sim *s) {
    return s->started - s->settled;
}

static void close_timers(run_state *rs) {
    uv_close((uv_handle_t *)&rs->pacer, NULL);
    uv_close((uv_handle_t *)&rs->pinger, NULL);
    uv_close((uv_handle_t *)&rs->stopper, NULL);
}

static void finish(run_state *rs) {
    sim *s = rs->s;
    s->left_open = sim_left_open(s);
    s->boards_behind = sim_boards_behind(s);
    sim_stop_all(s);
    close_timers(rs);
}

static void on_settle(uv_timer_t *t) {
    run_state *rs = t->data;
    if ((sim_settled(rs->s) && sim_boards_behind(rs->s) == 0) ||
        uv_now(rs->s->loop) >= rs->settle_deadline)
        finish(rs);
}

static void on_duration_over(uv_timer_t *t) {
    run_state *rs = t->data;
    rs->measured_to = uv_hrtime();
    rs->s->measuring = false;
    /* The daemon's figures over the same window as the counts. */
    if (rs->s->server_pid)
        process_usage_read(rs->s->server_pid, &rs->after);
    process_usage_read((unsigned)getpid(), &rs->self_after);
    sim_wind_down(rs->s);
    rs->settle_deadline = uv_now(rs->s->loop) + SETTLE_MAX_MS;
    uv_timer_start(&rs->stopper, on_settle, 0, 50);
}

/* The pacer starts connect_rate / 10 sessions every 100 ms, fewer when
 * MAX_SETUPS are still being set up, the supervisors first so that they
 * see the agents' work from its start; once every session has started and
 * settled, the duration begins. */
static void on_pace(uv_timer_t *t) {
    run_state *rs = t->data;
    sim *s = rs->s;
    unsigned batch = s->connect_rate / 10 ? s->connect_rate / 10 : 1;
    for (unsigned k = 0; k < batch && s->started < s->total && setups_in_flight(s) < MAX_SETUPS;
         k++) {
        if (s->started == s->supervisors && setups_in_flight(s) > 0)
            break;
        sim_session_start(s, s->started++);
    }
    if (s->started < s->total || setups_in_flight(s) > 0)
        return;
    uv_timer_stop(&rs->pacer);
    if (s->ok == 0) {
        finish(rs);
        return;
    }
    if (!s->quiet)
        fprintf(stderr, _("%u of %u sessions logged in; working for %u s\n"), s->ok, s->total,
                s->duration_s);
    rs->measured_from = uv_hrtime();
    s->measuring = true;
    if (s->server_pid)
        process_usage_read(s->server_pid, &rs->before);
    process_usage_read((unsigned)getpid(), &rs->self_before);
    uv_timer_start(&rs->stopper, on_duration_over, (uint64_t)s->duration_s * 1000, 0);
}

static void on_ping_tick(uv_timer_t *t) {
    run_state *rs = t->data;
    sim_ping_slice(rs->s, rs->ping_slice, rs->ping_slices);
    rs->ping_slice = (rs->ping_slice + 1) % rs->ping_slices;
}

/* ---- the report ---- */

static const char *const latency_names[] = {
    "login_ms", "offer_ms", "ack_ms", "push_ms", "fanout_ms", "ping_rtt_ms", "wind_down_ack_ms"};

static samples *latency_set(sim *s, size_t k) {
    samples *sets[] = {&s->login,  &s->offer, &s->ack,          &s->push,
                       &s->fanout, &s->rtt,   &s->wind_down_ack};
    return sets[k];
}

static double measured_seconds(const run_state *rs) {
    if (rs->measured_to <= rs->measured_from || rs->measured_from == 0)
        return 0;
    return (double)(rs->measured_to - rs->measured_from) / 1e9;
}

static void json_latency(json_writer *w, const char *name, const samples *sm) {
    static const double points[] = {50, 90, 99, 100};
    static const char *const keys[] = {"p50", "p90", "p99", "max"};
    json_key(w, name);
    json_object_begin(w);
    json_kv_uint(w, "count", sm->n);
    for (size_t k = 0; k < 4; k++) {
        json_key(w, keys[k]);
        json_double(w, samples_percentile(sm, points[k]));
    }
    json_object_end(w);
}

static void json_server(json_writer *w, const run_state *rs) {
    json_key(w, "server");
    if (!rs->after.known) {
        json_null(w);
        return;
    }
    json_object_begin(w);
    json_kv_uint(w, "rss_kb", rs->after.rss_kb);
    json_kv_uint(w, "peak_rss_kb", rs->after.hwm_kb);
    json_key(w, "cpu_s");
    json_double(w, rs->before.known ? rs->after.cpu_s - rs->before.cpu_s : NAN);
    json_object_end(w);
}

static void report_json(const run_state *rs) {
    const sim *s = rs->s;
    buf out = BUF_INIT;
    json_writer w;
    json_init(&w, &out);
    json_object_begin(&w);
    json_kv_uint(&w, "agents", s->agents);
    json_kv_uint(&w, "supervisors", s->supervisors);
    json_kv_uint(&w, "logins_ok", s->ok);
    json_kv_uint(&w, "logins_failed", s->failed);
    json_kv_uint(&w, "sessions_lost", s->lost);
    json_kv_uint(&w, "reconnects", s->reconnects);
    json_key(&w, "first_failure");
    if (s->first_failure[0])
        json_string(&w, s->first_failure);
    else
        json_null(&w);
    json_key(&w, "seconds");
    json_double(&w, measured_seconds(rs));
    json_kv_uint(&w, "offers", s->offers);
    json_kv_uint(&w, "dials", s->dials);
    json_kv_uint(&w, "dials_refused", s->dials_refused);
    json_kv_uint(&w, "outcomes_acked", s->acked);
    json_kv_uint(&w, "outcomes_replayed", s->replayed);
    json_kv_uint(&w, "retried", s->retried);
    json_kv_uint(&w, "refused", s->refused);
    json_kv_uint(&w, "left_open", s->left_open);
    json_kv_uint(&w, "boards_behind", s->boards_behind);
    json_kv_uint(&w, "applications", s->applications);
    json_key(&w, "outcomes_per_s");
    double secs = measured_seconds(rs);
    json_double(&w, secs > 0 ? (double)s->acked_in_window / secs : NAN);
    json_kv_uint(&w, "supervisor_pushes", s->supervisor_pushes);
    json_kv_uint(&w, "supervisor_push_bytes", s->supervisor_push_bytes);
    json_kv_uint(&w, "fanout_before_ack", s->fanout_before_ack);
    for (size_t k = 0; k < sizeof latency_names / sizeof latency_names[0]; k++)
        json_latency(&w, latency_names[k], latency_set(rs->s, k));
    json_server(&w, rs);
    json_key(&w, "sim_cpu_s");
    json_double(&w, rs->self_before.known && rs->self_after.known
                        ? rs->self_after.cpu_s - rs->self_before.cpu_s
                        : NAN);
    json_object_end(&w);
    buf_append_str(&out, "\n");
    cli_write_stdout(&out);
    buf_free(&out);
}

static void report_line(const char *what, const samples *sm) {
    if (sm->n == 0) {
        printf(_("%-14s %7zu samples\n"), what, sm->n);
        return;
    }
    printf(_("%-14s %7zu samples   p50 %8.2f ms   p90 %8.2f ms   p99 %8.2f ms   max %8.2f ms\n"),
           what, sm->n, samples_percentile(sm, 50), samples_percentile(sm, 90),
           samples_percentile(sm, 99), samples_percentile(sm, 100));
}

static void report_text(const run_state *rs) {
    const sim *s = rs->s;
    double secs = measured_seconds(rs);
    printf(_("%u of %u sessions logged in, %u failed, %u lost while connected, %u reconnected\n"),
           s->ok, s->total, s->failed, s->lost, s->reconnects);
    if (s->first_failure[0])
        printf(_("first failure: %s\n"), s->first_failure);
    printf(_("%.1f s: %llu offers, %llu dials (%llu refused), %llu outcomes acknowledged "
             "(%.1f a second), %llu applications, %llu requests refused\n"),
           secs, (unsigned long long)s->offers, (unsigned long long)s->dials,
           (unsigned long long)s->dials_refused, (unsigned long long)s->acked,
           secs > 0 ? (double)s->acked_in_window / secs : 0.0, (unsigned long long)s->applications,
           (unsigned long long)s->refused);
    if (s->left_open > 0)
        printf(_("%u agents were left with a call open or an answer missing\n"), s->left_open);
    if (s->boards_behind > 0)
        printf(_("%u supervisors' boards did not show every agent's last outcome at the end\n"),
               s->boards_behind);
    const char *labels[] = {_("login"),         _("ready->offer"), _("outcome->ack"),
                            _("outcome->push"), _("ack->push"),    _("ping rtt"),
                            _("wind-down ack")};
    for (size_t k = 0; k < sizeof labels / sizeof labels[0]; k++)
        report_line(labels[k], latency_set(rs->s, k));
    if (s->supervisor_pushes > 0)
        printf(_("supervisors: %llu pushes received, %.0f bytes each on average\n"),
               (unsigned long long)s->supervisor_pushes,
               (double)s->supervisor_push_bytes / (double)s->supervisor_pushes);
    if (rs->after.known)
        printf(_("server: %lu KiB resident (peak %lu KiB), %.2f s of CPU during the run\n"),
               rs->after.rss_kb, rs->after.hwm_kb,
               rs->before.known ? rs->after.cpu_s - rs->before.cpu_s : 0.0);
    if (rs->self_before.known && rs->self_after.known)
        printf(_("simulator: %.2f s of CPU during the run\n"),
               rs->self_after.cpu_s - rs->self_before.cpu_s);
}

static void free_samples(sim *s) {
    samples_free(&s->login);
    samples_free(&s->offer);
    samples_free(&s->ack);
    samples_free(&s->push);
    samples_free(&s->fanout);
    samples_free(&s->rtt);
    samples_free(&s->wind_down_ack);
}

static int exit_status(const sim *s) {
    if (s->ok == 0 && s->first_failure_status != CLIENT_E_AUTH &&
        s->first_failure_status != CLIENT_E_SERVER)
        return CLI_EXIT_CONNECT;
    return s->failed || s->lost || s->refused || s->left_open ? CLI_EXIT_SERVER : CLI_EXIT_OK;
}

static int run(sim *s) {
    s->total = s->agents + s->supervisors;
    s->sessions = calloc(s->total, sizeof *s->sessions);
    if (s->sessions == NULL) {
        fprintf(stderr, _("%s: out of memory for %u sessions\n"), PROGRAM, s->total);
        return CLI_EXIT_SERVER;
    }
    run_state rs = {.s = s};
    uv_timer_init(s->loop, &rs.pacer);
    uv_timer_init(s->loop, &rs.pinger);
    uv_timer_init(s->loop, &rs.stopper);
    rs.pacer.data = rs.pinger.data = rs.stopper.data = &rs;
    uv_timer_start(&rs.pacer, on_pace, 0, 100);
    if (s->ping_ms > 0) {
        rs.ping_slices = s->ping_ms < PING_SLICES ? s->ping_ms : PING_SLICES;
        uint64_t tick = s->ping_ms / rs.ping_slices;
        uv_timer_start(&rs.pinger, on_ping_tick, tick, tick);
    }
    uv_run(s->loop, UV_RUN_DEFAULT);
    for (size_t k = 0; k < sizeof latency_names / sizeof latency_names[0]; k++)
        samples_sort(latency_set(s, k));
    if (s->json)
        report_json(&rs);
    else
        report_text(&rs);
    free(s->sessions);
    free_samples(s);
    return exit_status(s);
}

static int open_acks(sim *s) {
    if (s->acks_path == NULL)
        return 0;
    s->acks = fopen(s->acks_path, "w");
    if (s->acks != NULL)
        return 0;
    char message[CLI_MESSAGE_MAX];
    snprintf(message, sizeof message, _("cannot write %s: %s"), s->acks_path, strerror(errno));
    return usage_error(message);
}

int main(int argc, char **argv) {
    i18n_init();
    cli_setup_process();
    uv_loop_t loop;
    sim s = {.loop = &loop,
             .prefix = "sim",
             .supervisor_prefix = "simsup",
             .connect_rate = 200,
             .duration_s = 10,
             .talk_ms = 2000,
             .ping_ms = 1000,
             .rng = 0x9e3779b97f4a7c15ull ^ uv_hrtime()};
    cli_conn_init(&s.conn);
    int rc = parse_args(&s, argc, argv);
    char err[CLI_MESSAGE_MAX];
    if (rc == SIM_CONTINUE && cli_conn_finish(&s.conn, err, sizeof err) < 0)
        rc = usage_error(err);
    if (rc == SIM_CONTINUE && ensure_descriptors(s.agents + s.supervisors) < 0)
        rc = CLI_EXIT_USAGE;
    if (rc == SIM_CONTINUE && open_acks(&s) != 0)
        rc = CLI_EXIT_USAGE;
    if (rc == SIM_CONTINUE) {
        uv_loop_init(&loop);
        rc = run(&s);
        uv_loop_close(&loop);
    }
    if (s.acks != NULL && fclose(s.acks) != 0) {
        fprintf(stderr, _("%s: cannot write %s: %s\n"), PROGRAM, s.acks_path, strerror(errno));
        rc = CLI_EXIT_SERVER;
    }
    cli_conn_wipe(&s.conn);
    return rc;
}
