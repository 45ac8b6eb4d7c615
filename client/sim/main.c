/* callfloor-sim: a load generator over the real protocol. It logs in many
 * agent sessions over TLS, paced and bounded, keeps them connected for a
 * while, each sending a Ping every second besides the library's heartbeat,
 * and reports login and round-trip latency percentiles. It creates no
 * accounts: the users PREFIX0001 ... PREFIXNNNN must exist (see --help). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <uv.h>

#include "cli.h"
#include "i18n.h"
#include "json.h"
#include "version.h"

#define PROGRAM          "callfloor-sim"
#define SIM_CONTINUE     (-1)
#define PING_INTERVAL_MS 1000
#define MAX_AGENTS       100000
#define FDS_PER_SESSION  1
#define FDS_SPARE        64
/* Connections being set up (TCP, TLS, Hello, Login) at once. A server that
 * checks passwords slower than the connect rate would otherwise gather a
 * queue that grows for the whole ramp until logins time out; bounded, the
 * login latency stays a measure of the server rather than of the backlog. */
#define MAX_SETUPS 64

typedef struct samples {
    double *ms;
    size_t n, cap;
} samples;

typedef struct sim sim;

typedef struct session {
    sim *s;
    client *c;
    char username[80];
    uint64_t started_at; /* uv_hrtime at connect */
    uint64_t ping_sent_at;
    bool ping_in_flight;
    bool ready;
} session;

struct sim {
    uv_loop_t *loop;
    cli_conn_options conn;
    const char *prefix;
    unsigned agents;
    unsigned connect_rate;
    unsigned duration_s;
    bool json;
    session *sessions;
    unsigned started, finished, ok, failed, lost;
    char first_failure[CLI_MESSAGE_MAX];
    int first_failure_status;
    samples login, rtt;
    uv_timer_t pacer, pinger, stopper;
    bool stopping;
};

static void print_help(void) {
    printf(_("Usage: %s --agents N [OPTIONS]\n"
             "\n"
             "Logs in N agent sessions over TLS, paced, keeps them connected for the\n"
             "duration with a Ping per session every second, then reports login and\n"
             "round-trip latency percentiles (p50, p90, p99, max).\n"
             "\n"
             "Options:\n"
             "  --agents N            how many sessions (1-100000; required)\n"
             "  --connect-rate N      new connections per second (default 200)\n"
             "  --duration SECONDS    how long to stay connected once all are in (default 10)\n"
             "  --user-prefix P       log in as P0001, P0002, ... (default sim)\n"
             "  --json                print the report as one JSON object\n"
             "  -h, --help            show this help\n"
             "  -V, --version         show the version\n"
             "\n"),
           PROGRAM);
    cli_conn_print_help(stdout);
    printf(_("\n"
             "All sessions share the password from --password-file or CALLFLOOR_PASSWORD.\n"
             "The accounts must exist; an administrator can make them, e.g.:\n"
             "  for i in $(seq -w 1 100); do\n"
             "    echo sim-password-1 | callfloorctl user add sim0$i --role agent --team 一组\n"
             "  done\n"
             "\n"
             "Exit status: 0 every session logged in; 1 some login failed; 2 wrong usage;\n"
             "3 the server could not be reached.\n"));
}

static int usage_error(const char *message) {
    fprintf(stderr, "%s: %s\n", PROGRAM, message);
    fprintf(stderr, _("Try '%s --help'.\n"), PROGRAM);
    return CLI_EXIT_USAGE;
}

static int parse_count(const char *flag, const char *value, unsigned max, unsigned *out) {
    char *end;
    unsigned long v = strtoul(value, &end, 10);
    if (value[0] < '0' || value[0] > '9' || *end != '\0' || v == 0 || v > max) {
        char message[CLI_MESSAGE_MAX];
        snprintf(message, sizeof message, _("invalid %s '%s': a number from 1 to %u"), flag, value,
                 max);
        return usage_error(message);
    }
    *out = (unsigned)v;
    return SIM_CONTINUE;
}

static int parse_option(sim *s, int argc, char **argv, int *i) {
    static const struct {
        const char *flag;
        size_t offset;
        unsigned max;
    } counts[] = {
        {"--agents", offsetof(sim, agents), MAX_AGENTS},
        {"--connect-rate", offsetof(sim, connect_rate), 10000},
        {"--duration", offsetof(sim, duration_s), 86400},
    };
    char err[CLI_MESSAGE_MAX];
    const char *value;
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
        int rc = cli_flag_value(argc, argv, i, counts[k].flag, &value, err, sizeof err);
        if (rc < 0)
            return usage_error(err);
        if (rc > 0)
            return parse_count(counts[k].flag, value, counts[k].max,
                               (unsigned *)((char *)s + counts[k].offset));
    }
    int rc = cli_flag_value(argc, argv, i, "--user-prefix", &s->prefix, err, sizeof err);
    if (rc == 0)
        rc = cli_conn_parse_flag(&s->conn, argc, argv, i, err, sizeof err);
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
        int rc = parse_option(s, argc, argv, &i);
        if (rc != SIM_CONTINUE)
            return rc;
    }
    if (s->agents == 0)
        return usage_error(_("--agents N is required"));
    if (s->conn.user != NULL)
        return usage_error(_("the sessions log in as --user-prefix P (P0001, P0002, ...), not "
                             "--user"));
    /* Only for the password prompt's sake: each session has its own name. */
    s->conn.user = s->prefix;
    return SIM_CONTINUE;
}

/* Each session needs a descriptor; the soft limit is raised to the hard
 * one when that is not enough. */
static int ensure_descriptors(unsigned agents) {
    struct rlimit lim;
    rlim_t need = (rlim_t)agents * FDS_PER_SESSION + FDS_SPARE;
    if (getrlimit(RLIMIT_NOFILE, &lim) < 0 || lim.rlim_cur >= need)
        return 0;
    lim.rlim_cur = lim.rlim_max < need ? lim.rlim_max : need;
    setrlimit(RLIMIT_NOFILE, &lim);
    if (lim.rlim_cur >= need)
        return 0;
    fprintf(stderr,
            _("%s: %u sessions need %llu open files, but the limit is %llu (raise it with "
              "'ulimit -n' or LimitNOFILE=)\n"),
            PROGRAM, agents, (unsigned long long)need, (unsigned long long)lim.rlim_max);
    return -1;
}

/* ---- measurements ---- */

static void sample_add(samples *sm, double ms) {
    if (sm->n == sm->cap) {
        size_t cap = sm->cap ? sm->cap * 2 : 1024;
        double *grown = realloc(sm->ms, cap * sizeof *grown);
        if (grown == NULL)
            return; /* a lost sample skews nothing enough to stop the run */
        sm->ms = grown;
        sm->cap = cap;
    }
    sm->ms[sm->n++] = ms;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void samples_sort(samples *sm) {
    if (sm->n > 0) /* qsort's array may not be NULL, even when empty */
        qsort(sm->ms, sm->n, sizeof *sm->ms, compare_doubles);
}

/* Nearest-rank percentile of sorted samples; NAN when there are none. */
static double percentile(const samples *sm, double p) {
    if (sm->n == 0)
        return NAN;
    size_t rank = (size_t)ceil(p / 100.0 * (double)sm->n);
    return sm->ms[rank == 0 ? 0 : rank - 1];
}

static double elapsed_ms(uint64_t since) {
    return (double)(uv_hrtime() - since) / 1e6;
}

/* ---- sessions ---- */

static void session_done(session *se) {
    sim *s = se->s;
    if (se->c != NULL) {
        client_destroy(se->c);
        se->c = NULL;
        s->finished++;
    }
}

static void note_failure(sim *s, int status, const char *why) {
    s->failed++;
    if (s->first_failure[0] == '\0') {
        snprintf(s->first_failure, sizeof s->first_failure, "%s", why);
        s->first_failure_status = status;
    }
}

static void on_closed(client *c, int status, const char *reason, void *arg) {
    session *se = arg;
    (void)c;
    (void)status;
    if (!se->s->stopping) {
        se->s->lost++;
        note_failure(se->s, CLIENT_E_CLOSED, reason);
        se->s->failed--; /* counted as lost, not as a failed login */
    }
    se->ready = false;
    session_done(se);
}

static void on_ready(client *c, int status, void *arg) {
    session *se = arg;
    if (status < 0) {
        note_failure(se->s, status, client_last_error(c));
        session_done(se);
        return;
    }
    se->ready = true;
    se->s->ok++;
    sample_add(&se->s->login, elapsed_ms(se->started_at));
}

static void start_session(sim *s, unsigned k) {
    session *se = &s->sessions[k];
    se->s = s;
    snprintf(se->username, sizeof se->username, "%s%04u", s->prefix, k + 1);
    client_options co;
    cli_conn_to_client(&s->conn, PROGRAM, &co);
    co.username = se->username;
    se->c = client_create(s->loop, &co);
    if (se->c == NULL) {
        note_failure(s, CLIENT_E_NOMEM, _("out of memory"));
        return;
    }
    client_on_closed(se->c, on_closed, se);
    se->started_at = uv_hrtime();
    int rc = client_connect(se->c, on_ready, se);
    if (rc < 0) {
        note_failure(s, rc, client_last_error(se->c));
        session_done(se);
    }
}

static void on_pong(client *c, int status, const envelope *reply, void *arg) {
    session *se = arg;
    (void)c;
    se->ping_in_flight = false;
    if (status == 0 && reply->body_case == CALLFLOOR__ENVELOPE__BODY_PONG)
        sample_add(&se->s->rtt, elapsed_ms(se->ping_sent_at));
}

static void on_ping_tick(uv_timer_t *t) {
    sim *s = t->data;
    for (unsigned k = 0; k < s->started; k++) {
        session *se = &s->sessions[k];
        if (!se->ready || se->ping_in_flight)
            continue;
        Callfloor__Ping ping = CALLFLOOR__PING__INIT;
        ping.nonce = k;
        envelope req = CALLFLOOR__ENVELOPE__INIT;
        req.body_case = CALLFLOOR__ENVELOPE__BODY_PING;
        req.ping = &ping;
        se->ping_sent_at = uv_hrtime();
        if (client_request(se->c, &req, on_pong, se) == 0)
            se->ping_in_flight = true;
    }
}

static void stop_all(sim *s) {
    s->stopping = true;
    for (unsigned k = 0; k < s->started; k++)
        session_done(&s->sessions[k]);
    uv_close((uv_handle_t *)&s->pacer, NULL);
    uv_close((uv_handle_t *)&s->pinger, NULL);
    uv_close((uv_handle_t *)&s->stopper, NULL);
}

static void on_stop(uv_timer_t *t) {
    stop_all(t->data);
}

static unsigned setups_in_flight(const sim *s) {
    return s->started - s->ok - s->failed;
}

/* The pacer starts connect_rate / 10 sessions every 100 ms, fewer when
 * MAX_SETUPS are still being set up; once every session has started and
 * settled, the duration begins. */
static void on_pace(uv_timer_t *t) {
    sim *s = t->data;
    unsigned batch = s->connect_rate / 10 ? s->connect_rate / 10 : 1;
    for (unsigned k = 0; k < batch && s->started < s->agents && setups_in_flight(s) < MAX_SETUPS;
         k++)
        start_session(s, s->started++);
    if (s->started < s->agents || s->ok + s->failed < s->agents)
        return;
    uv_timer_stop(&s->pacer);
    if (s->ok == 0) {
        stop_all(s);
        return;
    }
    uv_timer_start(&s->stopper, on_stop, (uint64_t)s->duration_s * 1000, 0);
}

/* ---- the report ---- */

static void report_json(sim *s) {
    buf out = BUF_INIT;
    json_writer w;
    json_init(&w, &out);
    json_object_begin(&w);
    json_kv_uint(&w, "agents", s->agents);
    json_kv_uint(&w, "logins_ok", s->ok);
    json_kv_uint(&w, "logins_failed", s->failed);
    json_kv_uint(&w, "sessions_lost", s->lost);
    json_key(&w, "first_failure");
    if (s->first_failure[0])
        json_string(&w, s->first_failure);
    else
        json_null(&w);
    const samples *sets[] = {&s->login, &s->rtt};
    const char *names[] = {"login_ms", "ping_rtt_ms"};
    for (size_t k = 0; k < 2; k++) {
        json_key(&w, names[k]);
        json_object_begin(&w);
        json_kv_uint(&w, "count", sets[k]->n);
        json_key(&w, "p50");
        json_double(&w, percentile(sets[k], 50));
        json_key(&w, "p90");
        json_double(&w, percentile(sets[k], 90));
        json_key(&w, "p99");
        json_double(&w, percentile(sets[k], 99));
        json_key(&w, "max");
        json_double(&w, percentile(sets[k], 100));
        json_object_end(&w);
    }
    json_object_end(&w);
    buf_append_str(&out, "\n");
    cli_write_stdout(&out);
    buf_free(&out);
}

static void report_line(const char *what, const samples *sm) {
    printf(_("%-12s %6zu samples   p50 %8.2f ms   p90 %8.2f ms   p99 %8.2f ms   max %8.2f ms\n"),
           what, sm->n, percentile(sm, 50), percentile(sm, 90), percentile(sm, 99),
           percentile(sm, 100));
}

static void report_text(sim *s) {
    printf(_("%u of %u sessions logged in, %u failed, %u lost while connected\n"), s->ok, s->agents,
           s->failed, s->lost);
    if (s->first_failure[0])
        printf(_("first failure: %s\n"), s->first_failure);
    report_line(_("login"), &s->login);
    report_line(_("ping rtt"), &s->rtt);
}

static int run(sim *s) {
    s->sessions = calloc(s->agents, sizeof *s->sessions);
    if (s->sessions == NULL) {
        fprintf(stderr, _("%s: out of memory for %u sessions\n"), PROGRAM, s->agents);
        return CLI_EXIT_SERVER;
    }
    uv_timer_init(s->loop, &s->pacer);
    uv_timer_init(s->loop, &s->pinger);
    uv_timer_init(s->loop, &s->stopper);
    s->pacer.data = s->pinger.data = s->stopper.data = s;
    uv_timer_start(&s->pacer, on_pace, 0, 100);
    uv_timer_start(&s->pinger, on_ping_tick, PING_INTERVAL_MS, PING_INTERVAL_MS);
    uv_run(s->loop, UV_RUN_DEFAULT);
    samples_sort(&s->login);
    samples_sort(&s->rtt);
    if (s->json)
        report_json(s);
    else
        report_text(s);
    free(s->sessions);
    free(s->login.ms);
    free(s->rtt.ms);
    if (s->ok == 0 && s->first_failure_status != CLIENT_E_AUTH &&
        s->first_failure_status != CLIENT_E_SERVER)
        return CLI_EXIT_CONNECT;
    return s->failed || s->lost ? CLI_EXIT_SERVER : CLI_EXIT_OK;
}

int main(int argc, char **argv) {
    i18n_init();
    cli_setup_process();
    uv_loop_t loop;
    sim s = {.loop = &loop, .prefix = "sim", .connect_rate = 200, .duration_s = 10};
    cli_conn_init(&s.conn);
    int rc = parse_args(&s, argc, argv);
    char err[CLI_MESSAGE_MAX];
    if (rc == SIM_CONTINUE && cli_conn_finish(&s.conn, err, sizeof err) < 0)
        rc = usage_error(err);
    if (rc == SIM_CONTINUE && ensure_descriptors(s.agents) < 0)
        rc = CLI_EXIT_USAGE;
    if (rc == SIM_CONTINUE) {
        uv_loop_init(&loop);
        rc = run(&s);
        uv_loop_close(&loop);
    }
    cli_conn_wipe(&s.conn);
    return rc;
}
