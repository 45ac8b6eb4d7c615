/* metrics: the daemon's counters and latency histograms, served in the
 * Prometheus text format at http://metrics.listen/metrics (default
 * 127.0.0.1:9464; empty turns the endpoint off). Modules record into fixed
 * slots: no allocation and no lock, since everything runs on the loop
 * thread. Gauges (sessions, connections, the database pool, hoppers) are
 * read when scraped. Recording with srv->metrics NULL does nothing, so
 * modules need not care whether the endpoint runs. */
#ifndef CALLFLOOR_METRICS_H
#define CALLFLOOR_METRICS_H

#include <stdint.h>

#include "buf.h"
#include "server.h"

typedef enum metrics_counter {
    METRIC_LEADS_OFFERED,
    METRIC_TLS_HANDSHAKES,
    METRIC_TLS_FAILURES,
    METRIC_PUSHES,
    METRIC_COUNTERS
} metrics_counter;

typedef enum metrics_histogram {
    METRIC_OFFER_LATENCY,   /* an agent ready to the offer sent */
    METRIC_DB_ROUNDTRIP,    /* a transaction submitted to its answer */
    METRIC_PUSH_LATENCY,    /* a leaderboard change to its push sent */
    METRIC_OUTCOME_LATENCY, /* an outcome received to its acknowledgement */
    METRIC_HISTOGRAMS
} metrics_histogram;

/* Creates srv->metrics and, if metrics.listen is set, the endpoint.
 * Returns 0, -ENOMEM, or a negative libuv code with `err` saying why. */
int metrics_start(server *srv, char *err, size_t errlen);
/* Stops the endpoint and frees srv->metrics (run the loop once more). */
void metrics_close(server *srv);

void metrics_count(server *srv, metrics_counter c);
/* Records one duration, in nanoseconds (uv_hrtime differences). */
void metrics_observe(server *srv, metrics_histogram h, uint64_t ns);
/* Counts an outcome recorded with `disposition`. */
void metrics_outcome(server *srv, const char *disposition);

uint64_t metrics_counter_value(const server *srv, metrics_counter c);
uint64_t metrics_outcomes_total(const server *srv);
/* The upper bound, in milliseconds, of the bucket holding quantile `q`
 * (0.5, 0.99) of histogram `h`; 0 when nothing was recorded. */
double metrics_quantile_ms(const server *srv, metrics_histogram h, double q);

/* Appends the text exposition of everything to `out`. */
int metrics_render(const server *srv, buf *out);

#endif
