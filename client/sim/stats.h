/* stats: latency samples in milliseconds and their nearest-rank
 * percentiles, and a local process's CPU time and memory, for the load
 * simulator's report and the benchmarks' peers (tests/bench/). */
#ifndef CALLFLOOR_SIM_STATS_H
#define CALLFLOOR_SIM_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct samples {
    double *ms;
    size_t n, cap;
} samples;

/* Adds one sample; one lost to a failed allocation skews nothing enough
 * to stop a run, so it is dropped silently. */
void samples_add(samples *sm, double ms);
/* Adds the milliseconds since `since` (uv_hrtime). */
void samples_add_since(samples *sm, uint64_t since);
/* Sorts; percentiles may be read after this and before the next add. */
void samples_sort(samples *sm);
/* The nearest-rank percentile `p` (0-100] of sorted samples; NAN when
 * there are none. */
double samples_percentile(const samples *sm, double p);
void samples_free(samples *sm);

typedef struct process_usage {
    bool known;
    double cpu_s; /* user and system */
    unsigned long rss_kb, hwm_kb;
} process_usage;

/* Reads the CPU time and memory of local process `pid` from /proc; false
 * when it cannot be read (not running, or not on this machine). */
bool process_usage_read(unsigned pid, process_usage *u);

#endif
