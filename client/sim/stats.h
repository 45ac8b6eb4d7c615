/* stats: latency samples in milliseconds and their nearest-rank
 * percentiles, for the load simulator's report. */
#ifndef CALLFLOOR_SIM_STATS_H
#define CALLFLOOR_SIM_STATS_H

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

#endif
