/* callfloord: the callfloor daemon. Start-up runs the blocking steps
 * (configuration, migrations, the first admin) before the event loop
 * starts; from then on everything happens on the loop. */
#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "audit.h"
#include "board.h"
#include "db.h"
#include "dispatch.h"
#include "floor.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "peers.h"
#include "migrate.h"
#include "passwd.h"
#include "server.h"
#include "session.h"
#include "tls.h"
#include "vault.h"
#include "version.h"

enum {
    EXIT_OK = 0,
    EXIT_RUNTIME = 1, /* the database, the network or the certificates failed */
    EXIT_USAGE = 2,   /* bad command line or configuration */
};

typedef struct options {
    const char *config_path;
    char **overrides;
    int noverrides;
    bool migrate_only;
    bool check_config;
} options;

typedef struct daemon_state {
    server srv;
    options opts;
    uv_signal_t sigterm, sigint, sighup;
    uv_timer_t notify; /* READY=1, WATCHDOG=1 and STATUS= to systemd */
    uint64_t notify_every_ms;
    bool ready_sent;
} daemon_state;

/* systemd hears from the loop itself: a loop stuck for WatchdogSec stops
 * the WATCHDOG=1 messages and systemd restarts the daemon. STATUS= shows
 * the floor at a glance in systemctl status. */
#define STATUS_EVERY_MS 5000

static void usage(FILE *out) {
    fprintf(out,
            "Usage: callfloord [OPTION]...\n"
            "The callfloor daemon: sessions of agents, supervisors and admins over TLS,\n"
            "backed by PostgreSQL.\n"
            "\n"
            "  -c, --config FILE    read settings from FILE (see callfloord.conf.example)\n"
            "      --set KEY=VALUE  override one setting, e.g. --set server.listen=0.0.0.0:7443\n"
            "      --migrate-only   apply database migrations and the first admin, then exit\n"
            "      --check-config   check the settings and certificates, then exit\n"
            "  -h, --help           show this help and exit\n"
            "  -V, --version        show the version and exit\n"
            "\n"
            "Signals: SIGTERM or SIGINT drains and exits 0; SIGHUP reloads certificates and\n"
            "the settings marked reloadable.\n"
            "Exit status: 0 clean stop, 1 runtime failure (database, network, certificates),\n"
            "2 bad command line or configuration.\n");
}

static int parse_options(int argc, char **argv, options *o) {
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"set", required_argument, NULL, 's'},
        {"migrate-only", no_argument, NULL, 'm'},
        {"check-config", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    o->overrides = calloc((size_t)argc, sizeof *o->overrides);
    if (o->overrides == NULL)
        return EXIT_RUNTIME;
    int ch;
    while ((ch = getopt_long(argc, argv, "c:hV", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            o->config_path = optarg;
            break;
        case 's':
            o->overrides[o->noverrides++] = optarg;
            break;
        case 'm':
            o->migrate_only = true;
            break;
        case 'k':
            o->check_config = true;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        case 'V':
            printf("callfloord %s\n", CALLFLOOR_VERSION);
            return EXIT_OK;
        default:
            fprintf(stderr, "Try 'callfloord --help'.\n");
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "callfloord: unexpected argument '%s'\nTry 'callfloord --help'.\n",
                argv[optind]);
        return EXIT_USAGE;
    }
    return -1;
}

static SSL_CTX *make_tls_ctx(const settings *cfg) {
    char err[512] = "";
    tls_profile profile =
        strcmp(cfg->tls_profile, "modern") == 0 ? TLS_PROFILE_MODERN : TLS_PROFILE_INTERMEDIATE;
    SSL_CTX *ctx = tls_server_ctx_new(cfg->tls_cert, cfg->tls_key,
                                      cfg->tls_client_ca[0] != '\0' ? cfg->tls_client_ca : NULL,
                                      profile, err, sizeof err);
    if (ctx == NULL)
        log_error("%s", err);
    return ctx;
}

static int load_settings(daemon_state *d, settings *out) {
    char err[512] = "";
    if (settings_load(out, d->opts.config_path, d->opts.overrides, d->opts.noverrides, err,
                      sizeof err) == 0)
        return 0;
    log_error("configuration: %s", err);
    settings_free(out);
    return -1;
}

/* The blocking part of start-up: allowed only because the loop is not
 * running yet. */
static int prepare_database(daemon_state *d) {
    char err[512] = "";
    settings *cfg = &d->srv.cfg;
    int applied = 0;
    int version = migrate_run(cfg->db_conninfo, &applied, err, sizeof err);
    if (version < 0) {
        log_error("%s", err);
        return -1;
    }
    d->srv.schema_version = version;
    log_info("database schema at version %d (%d migration%s applied now)", version, applied,
             applied == 1 ? "" : "s");
    /* Computed now so that the first login of an unknown user does not
     * run argon2 on the loop thread. */
    passwd_dummy_hash();
    if (cfg->bootstrap_password_file[0] == '\0')
        return 0;
    int created = migrate_bootstrap_admin(cfg->db_conninfo, cfg->bootstrap_admin,
                                          cfg->bootstrap_password_file, err, sizeof err);
    if (created < 0) {
        log_error("%s", err);
        return -1;
    }
    if (created == 1)
        log_notice("created the first admin account '%s'", cfg->bootstrap_admin);
    return 0;
}

static void on_handle_closed(uv_handle_t *h) {
    (void)h;
}

/* READY=1 waits for a database connection as well as the listener:
 * until one is up, the tick looks every READY_POLL_MS. */
#define READY_POLL_MS 50

static void on_notify_tick(uv_timer_t *t) {
    daemon_state *d = t->data;
    server *srv = &d->srv;
    if (!d->ready_sent) {
        if (srv->db == NULL || !db_pool_available(srv->db))
            return;
        sd_notify(0, "READY=1");
        d->ready_sent = true;
        uv_timer_set_repeat(t, d->notify_every_ms);
    }
    session_counts c;
    session_get_counts(srv, &c);
    uint64_t watchdog_usec;
    bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0;
    sd_notifyf(0,
               "%sSTATUS=%u agents, %u supervisors, %u admins; %llu leads offered, %llu "
               "outcomes; database %s",
               watchdog ? "WATCHDOG=1\n" : "", c.agents, c.supervisors, c.admins,
               (unsigned long long)metrics_counter_value(srv, METRIC_LEADS_OFFERED),
               (unsigned long long)metrics_outcomes_total(srv),
               srv->db && db_pool_available(srv->db) ? "ok" : "unreachable");
}

/* Only under systemd (NOTIFY_SOCKET set); twice per WatchdogSec, at least
 * every STATUS_EVERY_MS. */
static void start_notify(daemon_state *d) {
    uv_timer_init(d->srv.loop, &d->notify);
    d->notify.data = d;
    if (getenv("NOTIFY_SOCKET") == NULL)
        return;
    uint64_t usec = 0, every = STATUS_EVERY_MS;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec / 2000 < every)
        every = usec / 2000 > 0 ? usec / 2000 : 1;
    d->notify_every_ms = every;
    uv_timer_start(&d->notify, on_notify_tick, 0, READY_POLL_MS);
}

static void on_db_closed(void *arg) {
    daemon_state *d = arg;
    d->srv.db = NULL;
    uv_close((uv_handle_t *)&d->notify, on_handle_closed);
    uv_close((uv_handle_t *)&d->sigterm, on_handle_closed);
    uv_close((uv_handle_t *)&d->sigint, on_handle_closed);
    uv_close((uv_handle_t *)&d->sighup, on_handle_closed);
    log_notice("stopped");
}

static void on_listener_closed(void *arg) {
    daemon_state *d = arg;
    d->srv.listener = NULL;
    peers_close(&d->srv);
    floor_close(&d->srv);
    board_close(&d->srv);
    metrics_close(&d->srv);
    audit_close(&d->srv);
    db_pool_close(d->srv.db, on_db_closed, d);
}

static void on_stop_signal(uv_signal_t *h, int signum) {
    daemon_state *d = h->data;
    if (d->srv.draining)
        return;
    d->srv.draining = true;
    log_notice("%s received: draining", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    sd_notify(0, "STOPPING=1");
    listener_shutdown(d->srv.listener, "the server is shutting down; reconnect shortly",
                      on_listener_closed, d);
}

static void reload(daemon_state *d) {
    settings next;
    if (load_settings(d, &next) < 0) {
        log_error("reload failed; keeping the current settings");
        return;
    }
    SSL_CTX *ctx = make_tls_ctx(&next);
    if (ctx == NULL) {
        log_error("reload failed; keeping the current settings and certificates");
        settings_free(&next);
        return;
    }
    char fixed[512];
    if (config_changed_fixed_keys(settings_table, &d->srv.cfg, &next, fixed, sizeof fixed) > 0)
        log_warn("reload: %s changed but only take effect after a restart", fixed);
    settings_apply_reload(&d->srv.cfg, &next);
    settings_free(&next);
    listener_set_tls_ctx(d->srv.listener, ctx);
    SSL_CTX_free(ctx);
    log_level level = LOG_LEVEL_INFO;
    log_level_parse(d->srv.cfg.log_level, &level);
    log_set_level(level);
    log_notice("configuration and certificates reloaded");
}

static void on_reload_signal(uv_signal_t *h, int signum) {
    daemon_state *d = h->data;
    (void)signum;
    if (d->srv.draining)
        return;
    /* Before READY=1 systemd would not expect a reload to end. */
    if (d->ready_sent)
        sd_notify(0, "RELOADING=1");
    reload(d);
    if (d->ready_sent)
        sd_notify(0, "READY=1");
}

static void start_signal(daemon_state *d, uv_signal_t *h, uv_signal_cb cb, int signum) {
    uv_signal_init(d->srv.loop, h);
    h->data = d;
    uv_signal_start(h, cb, signum);
}

static void on_db_roundtrip(uint64_t ns, void *arg) {
    metrics_observe(arg, METRIC_DB_ROUNDTRIP, ns);
}

static int start_services(daemon_state *d, SSL_CTX *ctx) {
    server *srv = &d->srv;
    srv->db = db_pool_create(srv->loop, srv->cfg.db_conninfo, srv->cfg.db_pool_size);
    srv->sessions = session_registry_create();
    srv->listener = listener_create(srv, ctx);
    if (srv->db == NULL || srv->sessions == NULL || srv->listener == NULL) {
        log_error("out of memory at start-up");
        return -1;
    }
    if (dispatch_prepare_statements(srv->db) < 0) {
        log_error("cannot build the statement catalog");
        return -1;
    }
    db_pool_start(srv->db);
    if (floor_start(srv) < 0 || board_start(srv) < 0 || peers_start(srv) < 0) {
        log_error("out of memory at start-up");
        return -1;
    }
    char err[512] = "";
    if (listener_start(srv->listener, err, sizeof err) < 0) {
        log_error("%s", err);
        return -1;
    }
    if (metrics_start(srv, err, sizeof err) < 0 || audit_start(srv, err, sizeof err) < 0) {
        log_error("%s", err[0] ? err : "out of memory at start-up");
        return -1;
    }
    db_pool_on_roundtrip(srv->db, on_db_roundtrip, srv);
    start_signal(d, &d->sigterm, on_stop_signal, SIGTERM);
    start_signal(d, &d->sigint, on_stop_signal, SIGINT);
    start_signal(d, &d->sighup, on_reload_signal, SIGHUP);
    start_notify(d);
    return 0;
}

static void set_instance_id(server *srv) {
    if (srv->cfg.instance_id[0] != '\0') {
        snprintf(srv->instance_id, sizeof srv->instance_id, "%s", srv->cfg.instance_id);
        return;
    }
    if (gethostname(srv->instance_id, sizeof srv->instance_id - 1) < 0)
        snprintf(srv->instance_id, sizeof srv->instance_id, "callfloord");
}

/* libuv sizes its thread pool from the environment when it first uses it
 * (the first password hash). Its default of 4 makes logins queue behind
 * argon2 on larger machines, so the daemon sizes it to the CPUs. */
static void size_thread_pool(const settings *cfg) {
    long threads = cfg->worker_threads;
    if (threads == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cpus > 4 ? cpus : 4;
    }
    char value[24];
    snprintf(value, sizeof value, "%ld", threads);
    setenv("UV_THREADPOOL_SIZE", value, 1);
}

/* The keys are read once, before the loop runs. */
static int open_vault(server *srv) {
    char err[512] = "";
    srv->vault = vault_open(srv->cfg.vault_key_file, err, sizeof err);
    if (srv->vault == NULL)
        log_error("%s", err);
    return srv->vault ? 0 : -1;
}

static int run(daemon_state *d) {
    server *srv = &d->srv;
    SSL_CTX *ctx = make_tls_ctx(&srv->cfg);
    if (ctx == NULL)
        return EXIT_RUNTIME;
    if (open_vault(srv) < 0) {
        SSL_CTX_free(ctx);
        return EXIT_RUNTIME;
    }
    if (d->opts.check_config) {
        SSL_CTX_free(ctx);
        printf("callfloord: configuration OK\n");
        return EXIT_OK;
    }
    /* --migrate-only succeeds only when the first admin could be made too:
     * a deployment job must not report success for a database nobody can
     * log in to. */
    int prepared = prepare_database(d);
    if (prepared < 0 || d->opts.migrate_only) {
        SSL_CTX_free(ctx);
        return prepared < 0 ? EXIT_RUNTIME : EXIT_OK;
    }
    set_instance_id(srv);
    size_thread_pool(&srv->cfg);
    uv_loop_t loop;
    uv_loop_init(&loop);
    srv->loop = &loop;
    srv->started_ms = uv_now(&loop);
    int rc = start_services(d, ctx);
    SSL_CTX_free(ctx);
    if (rc == 0) {
        log_notice("callfloord %s listening on %s as instance %s", CALLFLOOR_VERSION,
                   srv->cfg.listen, srv->instance_id);
        uv_run(&loop, UV_RUN_DEFAULT);
    } else if (srv->listener != NULL) {
        /* Start-up failed half way: stop what started so nothing leaks. */
        srv->draining = true;
        listener_shutdown(srv->listener, NULL, NULL, NULL);
        peers_close(srv);
        floor_close(srv);
        board_close(srv);
        metrics_close(srv);
        audit_close(srv);
        if (srv->db != NULL)
            db_pool_close(srv->db, NULL, NULL);
        uv_run(&loop, UV_RUN_DEFAULT);
    }
    session_registry_destroy(srv->sessions);
    uv_loop_close(&loop);
    return rc == 0 ? EXIT_OK : EXIT_RUNTIME;
}

int main(int argc, char **argv) {
    static daemon_state d;
    /* Password hashes (passwd_hash) allocate an argon2 block of
     * PASSWD_M_COST KiB in libuv's workers. Once one was freed, glibc would
     * raise its mmap threshold above that size and keep every worker's
     * block in the worker's arena for good: 20 MB a worker, counted against
     * the sessions. A fixed threshold maps and unmaps blocks of 1 MiB or
     * more each time instead. Logins' checks, the frequent ones, keep
     * their blocks in passwd's own pool. */
#ifdef __GLIBC__
    (void)mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
#endif
    log_init(LOG_LEVEL_INFO);
    int rc = parse_options(argc, argv, &d.opts);
    if (rc >= 0) {
        free(d.opts.overrides);
        return rc;
    }
    d.srv.config_path = d.opts.config_path;
    if (load_settings(&d, &d.srv.cfg) < 0) {
        free(d.opts.overrides);
        return EXIT_USAGE;
    }
    log_level level = LOG_LEVEL_INFO;
    log_level_parse(d.srv.cfg.log_level, &level);
    log_set_level(level);
    signal(SIGPIPE, SIG_IGN);
    rc = run(&d);
    vault_close(d.srv.vault);
    settings_free(&d.srv.cfg);
    free(d.opts.overrides);
    return rc;
}
