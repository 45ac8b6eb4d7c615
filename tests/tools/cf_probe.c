/* cf_probe: keeps one logged-in session open and sends a database-backed
 * request (TeamList) every 100 ms for a given time, then prints one line:
 *   ok=N unavailable=N other=N last=ok|unavailable|other connected=yes|no
 * The integration tests restart PostgreSQL meanwhile and check that the
 * session survives, that failures are only UNAVAILABLE with a retry hint
 * (anything else counts as "other"), and that requests succeed again.
 * Connection settings come from CALLFLOOR_SERVER, CALLFLOOR_CA,
 * CALLFLOOR_USER and CALLFLOOR_PASSWORD. On start it prints "ready" once
 * logged in. SIGTERM ends it early, with the same line. With "idle" it
 * sends nothing of its own: only the client library's heartbeat keeps the
 * session. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "client.h"

#define PROBE_INTERVAL_MS 100

typedef struct probe {
    client *c;
    uv_timer_t tick;
    uv_timer_t stop;
    uv_signal_t term;
    unsigned ok, unavailable, other;
    const char *last;
    bool in_flight;
    bool connected;
    bool finishing; /* requests cut off by our own close do not count */
} probe;

static void on_reply(client *c, int status, const envelope *reply, void *arg) {
    probe *p = arg;
    (void)c;
    p->in_flight = false;
    if (p->finishing)
        return;
    if (status == 0 && reply->body_case == CALLFLOOR__ENVELOPE__BODY_TEAM_LIST_REPLY) {
        p->ok++;
        p->last = "ok";
    } else if (status == 0 && reply->body_case == CALLFLOOR__ENVELOPE__BODY_ERROR &&
               reply->error->code == CALLFLOOR__ERROR_CODE__UNAVAILABLE &&
               reply->error->retry_after_ms > 0) {
        p->unavailable++;
        p->last = "unavailable";
    } else {
        p->other++;
        p->last = "other";
        fprintf(stderr, "cf_probe: unexpected answer (status %d, %s)\n", status,
                reply != NULL ? envelope_body_name(reply) : "none");
    }
}

static void on_tick(uv_timer_t *t) {
    probe *p = t->data;
    if (p->in_flight || !client_is_ready(p->c))
        return;
    Callfloor__TeamList tl = CALLFLOOR__TEAM_LIST__INIT;
    envelope req = CALLFLOOR__ENVELOPE__INIT;
    req.body_case = CALLFLOOR__ENVELOPE__BODY_TEAM_LIST;
    req.team_list = &tl;
    if (client_request(p->c, &req, on_reply, p) == 0)
        p->in_flight = true;
}

static void probe_finish(probe *p) {
    p->finishing = true;
    p->connected = client_is_ready(p->c);
    uv_close((uv_handle_t *)&p->tick, NULL);
    uv_close((uv_handle_t *)&p->stop, NULL);
    uv_close((uv_handle_t *)&p->term, NULL);
    client_destroy(p->c);
}

static void on_stop(uv_timer_t *t) {
    probe_finish(t->data);
}

static void on_term(uv_signal_t *sig, int signum) {
    (void)signum;
    probe_finish(sig->data);
}

static void on_closed(client *c, int status, const char *reason, void *arg) {
    probe *p = arg;
    (void)c;
    (void)status;
    fprintf(stderr, "cf_probe: connection closed: %s\n", reason);
    p->connected = false;
}

int main(int argc, char **argv) {
    bool idle = argc == 3 && strcmp(argv[2], "idle") == 0;
    if ((argc != 2 && !idle) || atoi(argv[1]) <= 0) {
        fprintf(stderr, "usage: cf_probe SECONDS [idle]\n");
        return 2;
    }
    uv_loop_t *loop = uv_default_loop();
    client_options opts = {
        .server = getenv("CALLFLOOR_SERVER"),
        .ca_file = getenv("CALLFLOOR_CA"),
        .username = getenv("CALLFLOOR_USER"),
        .password = getenv("CALLFLOOR_PASSWORD"),
        .client_name = "cf_probe",
    };
    probe p = {.c = client_create(loop, &opts), .last = "none"};
    if (p.c == NULL || client_connect_sync(p.c) != 0) {
        fprintf(stderr, "cf_probe: %s\n", p.c ? client_last_error(p.c) : "out of memory");
        return 3;
    }
    client_on_closed(p.c, on_closed, &p);
    printf("ready\n");
    fflush(stdout);
    uv_timer_init(loop, &p.tick);
    uv_timer_init(loop, &p.stop);
    uv_signal_init(loop, &p.term);
    p.tick.data = p.stop.data = p.term.data = &p;
    uv_signal_start_oneshot(&p.term, on_term, SIGTERM);
    if (!idle)
        uv_timer_start(&p.tick, on_tick, 0, PROBE_INTERVAL_MS);
    uv_timer_start(&p.stop, on_stop, (uint64_t)atoi(argv[1]) * 1000, 0);
    uv_run(loop, UV_RUN_DEFAULT);
    printf("ok=%u unavailable=%u other=%u last=%s connected=%s\n", p.ok, p.unavailable, p.other,
           p.last, p.connected ? "yes" : "no");
    uv_loop_close(loop);
    return 0;
}
