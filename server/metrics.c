#include "metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hopper.h"
#include "listener.h"
#include "log.h"
#include "session.h"

#define NBUCKETS       14
#define REQUEST_MAX    2048 /* bytes of an HTTP request head */
#define SCRAPES_MAX    8    /* scrapes served at once; more are closed at once */
#define SCRAPE_TIMEOUT 5000 /* ms for a scraper to send its request */

/* Upper bounds in seconds; a last, implicit bucket is +Inf. */
static const double bucket_bounds[NBUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                               0.1,    0.25,  0.5,    1,     2.5,  5,     10};

static const char *const dispositions[] = {
    "NO_ANSWER",      "BUSY",     "WRONG_NUMBER",          "VOICEMAIL",
    "NOT_INTERESTED", "CALLBACK", "APPLICATION_SUBMITTED", "INELIGIBLE",
    "DNC_REQUEST",    "COMPLAINT"};
#define NDISPOSITIONS (sizeof dispositions / sizeof dispositions[0])

typedef struct histogram {
    uint64_t buckets[NBUCKETS + 1];
    uint64_t count;
    uint64_t sum_ns;
} histogram;

static const struct {
    const char *name, *help;
} counter_info[METRIC_COUNTERS] =
    {
        [METRIC_LEADS_OFFERED] = {"callfloor_leads_offered_total", "Leads offered to agents."},
        [METRIC_TLS_HANDSHAKES] = {"callfloor_tls_handshakes_total", "TLS handshakes completed."},
        [METRIC_TLS_FAILURES] = {"callfloor_tls_handshake_failures_total",
                                 "TLS handshakes that failed or timed out."},
        [METRIC_PUSHES] = {"callfloor_board_pushes_total", "Leaderboard pushes sent."},
},
  histogram_info[METRIC_HISTOGRAMS] = {
      [METRIC_OFFER_LATENCY] = {"callfloor_offer_latency_seconds",
                                "From an agent being ready to the lead offer sent."},
      [METRIC_DB_ROUNDTRIP] = {"callfloor_db_roundtrip_seconds",
                               "From a transaction submitted to PostgreSQL's answer."},
      [METRIC_PUSH_LATENCY] = {"callfloor_push_latency_seconds",
                               "From a leaderboard change to its push sent (coalescing included)."},
      [METRIC_OUTCOME_LATENCY] =
          {"callfloor_outcome_latency_seconds",
           "From an outcome received to its acknowledgement sent (durable)."},
};

struct scrape;

typedef struct metrics {
    server *srv;
    uint64_t counters[METRIC_COUNTERS];
    uint64_t outcomes[NDISPOSITIONS];
    histogram histograms[METRIC_HISTOGRAMS];
    uv_tcp_t tcp;
    bool listening;
    unsigned scrapes;
    struct scrape *scraping; /* the scrapes under way, to detach at close */
} metrics;

/* ---- recording ---- */

void metrics_count(server *srv, metrics_counter c) {
    if (srv->metrics != NULL)
        srv->metrics->counters[c]++;
}

void metrics_observe(server *srv, metrics_histogram h, uint64_t ns) {
    if (srv->metrics == NULL)
        return;
    histogram *x = &srv->metrics->histograms[h];
    size_t b = 0;
    while (b < NBUCKETS && (double)ns > bucket_bounds[b] * 1e9)
        b++;
    x->buckets[b]++;
    x->count++;
    x->sum_ns += ns;
}

void metrics_outcome(server *srv, const char *disposition) {
    for (size_t i = 0; srv->metrics != NULL && i < NDISPOSITIONS; i++)
        if (strcmp(dispositions[i], disposition) == 0)
            srv->metrics->outcomes[i]++;
}

uint64_t metrics_counter_value(const server *srv, metrics_counter c) {
    return srv->metrics ? srv->metrics->counters[c] : 0;
}

uint64_t metrics_outcomes_total(const server *srv) {
    uint64_t n = 0;
    for (size_t i = 0; srv->metrics != NULL && i < NDISPOSITIONS; i++)
        n += srv->metrics->outcomes[i];
    return n;
}

double metrics_quantile_ms(const server *srv, metrics_histogram h, double q) {
    const histogram *x = srv->metrics ? &srv->metrics->histograms[h] : NULL;
    if (x == NULL || x->count == 0)
        return 0;
    uint64_t want = (uint64_t)(q * (double)x->count + 0.999999), seen = 0;
    for (size_t b = 0; b < NBUCKETS; b++)
        if ((seen += x->buckets[b]) >= want)
            return bucket_bounds[b] * 1000;
    return bucket_bounds[NBUCKETS - 1] * 1000; /* beyond the last bound */
}

/* ---- rendering ---- */

static void header(buf *out, const char *name, const char *type, const char *help) {
    buf_appendf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value with \, " and line feeds escaped. */
static void label_value(buf *out, const char *s) {
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            buf_appendf(out, "\\%c", *s);
        else if (*s == '\n')
            buf_append_str(out, "\\n");
        else
            buf_append(out, s, 1);
    }
}

static void render_histogram(buf *out, const char *name, const char *help, const histogram *x) {
    header(out, name, "histogram", help);
    uint64_t cumulative = 0;
    for (size_t b = 0; b < NBUCKETS; b++) {
        cumulative += x->buckets[b];
        buf_appendf(out, "%s_bucket{le=\"%g\"} %llu\n", name, bucket_bounds[b],
                    (unsigned long long)cumulative);
    }
    buf_appendf(out, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.9f\n%s_count %llu\n", name,
                (unsigned long long)x->count, name, (double)x->sum_ns / 1e9, name,
                (unsigned long long)x->count);
}

static void render_depth(const hopper_campaign_stats *c, void *arg) {
    buf *out = arg;
    buf_append_str(out, "callfloor_hopper_depth{campaign=\"");
    label_value(out, c->name);
    buf_appendf(out, "\"} %u\n", c->depth);
}

static void render_claim_size(const hopper_campaign_stats *c, void *arg) {
    buf *out = arg;
    buf_append_str(out, "callfloor_hopper_claim_size{campaign=\"");
    label_value(out, c->name);
    buf_appendf(out, "\"} %u\n", c->claim_size);
}

static void render_eligible(const hopper_campaign_stats *c, void *arg) {
    buf *out = arg;
    if (c->eligible < 0)
        return;
    buf_append_str(out, "callfloor_eligible_leads{campaign=\"");
    label_value(out, c->name);
    buf_appendf(out, "\"} %lld\n", (long long)c->eligible);
}

static void render_gauges(const server *srv, buf *out) {
    session_counts s;
    session_get_counts(srv, &s);
    header(out, "callfloor_sessions", "gauge", "Logged-in sessions by role.");
    buf_appendf(out,
                "callfloor_sessions{role=\"agent\"} %u\ncallfloor_sessions{role=\"supervisor\"} "
                "%u\ncallfloor_sessions{role=\"admin\"} %u\n",
                s.agents, s.supervisors, s.admins);
    header(out, "callfloor_connections", "gauge", "Open connections, logged in or not.");
    buf_appendf(out, "callfloor_connections %u\n",
                srv->listener ? listener_connection_count(srv->listener) : 0);
    db_pool_stats db = {0};
    if (srv->db != NULL)
        db_pool_get_stats(srv->db, &db);
    header(out, "callfloor_db_connections_ready", "gauge", "Database connections ready.");
    buf_appendf(out, "callfloor_db_connections_ready %d\n", db.ready);
    header(out, "callfloor_db_queue_depth", "gauge", "Transactions waiting for a connection.");
    buf_appendf(out, "callfloor_db_queue_depth %d\n", db.queued);
    header(out, "callfloor_db_in_flight", "gauge", "Transactions sent, not yet answered.");
    buf_appendf(out, "callfloor_db_in_flight %d\n", db.in_flight);
    header(out, "callfloor_hopper_depth", "gauge", "Leads held ready to offer, by campaign.");
    hopper_each_campaign(srv, render_depth, out);
    header(out, "callfloor_hopper_claim_size", "gauge",
           "Leads a claim tops the hopper up to, by campaign: queue.hopper_batch, more while "
           "agents wait for leads.");
    hopper_each_campaign(srv, render_claim_size, out);
    header(out, "callfloor_eligible_leads", "gauge",
           "Open leads in the database that could be offered now, by campaign worked here.");
    hopper_each_campaign(srv, render_eligible, out);
    header(out, "callfloor_uptime_seconds", "gauge", "Seconds since the daemon started.");
    buf_appendf(out, "callfloor_uptime_seconds %llu\n",
                (unsigned long long)((uv_now(srv->loop) - srv->started_ms) / 1000));
}

int metrics_render(const server *srv, buf *out) {
    const metrics *m = srv->metrics;
    if (m == NULL)
        return -EINVAL;
    render_gauges(srv, out);
    for (int c = 0; c < METRIC_COUNTERS; c++) {
        header(out, counter_info[c].name, "counter", counter_info[c].help);
        buf_appendf(out, "%s %llu\n", counter_info[c].name, (unsigned long long)m->counters[c]);
    }
    header(out, "callfloor_outcomes_total", "counter", "Call outcomes recorded, by disposition.");
    for (size_t i = 0; i < NDISPOSITIONS; i++)
        buf_appendf(out, "callfloor_outcomes_total{disposition=\"%s\"} %llu\n", dispositions[i],
                    (unsigned long long)m->outcomes[i]);
    for (int h = 0; h < METRIC_HISTOGRAMS; h++)
        render_histogram(out, histogram_info[h].name, histogram_info[h].help, &m->histograms[h]);
    return 0;
}

/* ---- the endpoint ---- */

typedef struct scrape {
    metrics *m; /* NULL once the endpoint closed */
    struct scrape *next;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t write;
    char request[REQUEST_MAX];
    size_t len;
    buf reply;
    int open_handles;
} scrape;

static void on_scrape_closed(uv_handle_t *h) {
    scrape *s = h->data;
    if (--s->open_handles > 0)
        return;
    for (struct scrape **p = s->m ? &s->m->scraping : NULL; p != NULL && *p != NULL;
         p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            s->m->scrapes--;
            break;
        }
    buf_free(&s->reply);
    free(s);
}

static void scrape_close(scrape *s) {
    if (!uv_is_closing((uv_handle_t *)&s->tcp)) {
        uv_close((uv_handle_t *)&s->tcp, on_scrape_closed);
        uv_close((uv_handle_t *)&s->timer, on_scrape_closed);
    }
}

static void on_written(uv_write_t *w, int status) {
    (void)status;
    scrape_close(w->data);
}

static void respond(scrape *s, const char *status, const char *type, const buf *body) {
    size_t n = body ? buf_pending(body) : 0;
    buf_appendf(&s->reply,
                "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: "
                "close\r\n\r\n",
                status, type, n);
    if (n > 0)
        buf_append(&s->reply, buf_head(body), n);
    uv_buf_t b = uv_buf_init((char *)buf_head(&s->reply), (unsigned)buf_pending(&s->reply));
    s->write.data = s;
    if (uv_write(&s->write, (uv_stream_t *)&s->tcp, &b, 1, on_written) < 0)
        scrape_close(s);
}

/* The request line is all that matters: GET /metrics. */
static void answer(scrape *s) {
    char method[8], path[256];
    buf body = BUF_INIT;
    if (sscanf(s->request, "%7s %255s HTTP/1.", method, path) != 2) {
        buf_append_str(&body, "not an HTTP request\n");
        respond(s, "400 Bad Request", "text/plain; charset=utf-8", &body);
    } else if (strcmp(path, "/metrics") != 0 && strncmp(path, "/metrics?", 9) != 0) {
        buf_append_str(&body, "callfloord serves its metrics at /metrics\n");
        respond(s, "404 Not Found", "text/plain; charset=utf-8", &body);
    } else if (strcmp(method, "GET") != 0) {
        buf_append_str(&body, "only GET is served\n");
        respond(s, "405 Method Not Allowed", "text/plain; charset=utf-8", &body);
    } else if (s->m == NULL || metrics_render(s->m->srv, &body) < 0) {
        respond(s, "503 Service Unavailable", "text/plain; charset=utf-8", NULL);
    } else {
        respond(s, "200 OK", "text/plain; version=0.0.4; charset=utf-8", &body);
    }
    buf_free(&body);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
    scrape *s = h->data;
    (void)suggested;
    *b = uv_buf_init(s->request + s->len, (unsigned)(sizeof s->request - 1 - s->len));
}

static void on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *b) {
    scrape *s = stream->data;
    (void)b;
    if (n < 0) {
        scrape_close(s);
        return;
    }
    s->len += (size_t)n;
    s->request[s->len] = '\0';
    if (strstr(s->request, "\r\n\r\n") == NULL && strstr(s->request, "\n\n") == NULL) {
        if (s->len < sizeof s->request - 1)
            return;
        buf body = BUF_INIT;
        buf_append_str(&body, "request head too large\n");
        uv_read_stop(stream);
        respond(s, "431 Request Header Fields Too Large", "text/plain; charset=utf-8", &body);
        buf_free(&body);
        return;
    }
    uv_read_stop(stream);
    answer(s);
}

/* A scraper that does not send its request, or does not read the answer,
 * in time loses its slot. */
static void on_scrape_timeout(uv_timer_t *t) {
    scrape_close(t->data);
}

static void on_connection(uv_stream_t *server_stream, int status) {
    metrics *m = server_stream->data;
    scrape *s = status == 0 ? calloc(1, sizeof *s) : NULL;
    if (s == NULL)
        return;
    s->m = m;
    s->open_handles = 2;
    uv_tcp_init(server_stream->loop, &s->tcp);
    uv_timer_init(server_stream->loop, &s->timer);
    s->tcp.data = s->timer.data = s;
    s->next = m->scraping;
    m->scraping = s;
    m->scrapes++;
    if (uv_accept(server_stream, (uv_stream_t *)&s->tcp) < 0 || m->scrapes > SCRAPES_MAX) {
        scrape_close(s);
        return;
    }
    uv_timer_start(&s->timer, on_scrape_timeout, SCRAPE_TIMEOUT, 0);
    uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read);
}

int metrics_start(server *srv, char *err, size_t errlen) {
    metrics *m = calloc(1, sizeof *m);
    if (m == NULL)
        return -ENOMEM;
    m->srv = srv;
    srv->metrics = m;
    if (srv->cfg.metrics_listen[0] == '\0')
        return 0;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (listener_resolve("metrics.listen", srv->cfg.metrics_listen, &ss, err, errlen) < 0)
        return -EINVAL;
    uv_tcp_init(srv->loop, &m->tcp);
    m->tcp.data = m;
    m->listening = true;
    int rc = uv_tcp_bind(&m->tcp, (struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&m->tcp, 16, on_connection);
    if (rc < 0)
        snprintf(err, errlen, "cannot listen for metrics on %s: %s", srv->cfg.metrics_listen,
                 uv_strerror(rc));
    else
        log_info("metrics at http://%s/metrics", srv->cfg.metrics_listen);
    return rc;
}

static void on_listener_closed(uv_handle_t *h) {
    free(h->data);
}

void metrics_close(server *srv) {
    metrics *m = srv->metrics;
    if (m == NULL)
        return;
    srv->metrics = NULL;
    for (scrape *s = m->scraping; s != NULL; s = s->next) {
        s->m = NULL;
        scrape_close(s);
    }
    if (m->listening)
        uv_close((uv_handle_t *)&m->tcp, on_listener_closed);
    else
        free(m);
}
