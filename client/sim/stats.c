#include "stats.h"

#include <math.h>
#include <stdlib.h>

#include <uv.h>

void samples_add(samples *sm, double ms) {
    if (sm->n == sm->cap) {
        size_t cap = sm->cap ? sm->cap * 2 : 1024;
        double *grown = realloc(sm->ms, cap * sizeof *grown);
        if (grown == NULL)
            return;
        sm->ms = grown;
        sm->cap = cap;
    }
    sm->ms[sm->n++] = ms;
}

void samples_add_since(samples *sm, uint64_t since) {
    samples_add(sm, (double)(uv_hrtime() - since) / 1e6);
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void samples_sort(samples *sm) {
    if (sm->n > 0) /* qsort's array may not be NULL, even when empty */
        qsort(sm->ms, sm->n, sizeof *sm->ms, compare_doubles);
}

double samples_percentile(const samples *sm, double p) {
    if (sm->n == 0)
        return NAN;
    size_t rank = (size_t)ceil(p / 100.0 * (double)sm->n);
    return sm->ms[rank == 0 ? 0 : rank - 1];
}

void samples_free(samples *sm) {
    free(sm->ms);
    *sm = (samples){0};
}
