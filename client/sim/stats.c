#include "stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static unsigned long status_kb(const char *text, const char *field) {
    const char *at = strstr(text, field);
    return at ? strtoul(at + strlen(field), NULL, 10) : 0;
}

/* Reads up to `cap` - 1 bytes of a small /proc file into `text`. */
static void read_proc_file(const char *path, char *text, size_t cap) {
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(text, 1, cap - 1, f) : 0;
    if (f)
        fclose(f);
    text[n] = '\0';
}

bool process_usage_read(unsigned pid, process_usage *u) {
    char path[64], text[4096];
    snprintf(path, sizeof path, "/proc/%u/stat", pid);
    read_proc_file(path, text, sizeof text);
    const char *after_name = strrchr(text, ')');
    unsigned long long utime, stime;
    /* After the name: state, then fields 4 to 13, then utime and stime. */
    if (after_name == NULL ||
        sscanf(after_name + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
               &stime) != 2)
        return false;
    u->cpu_s = (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
    snprintf(path, sizeof path, "/proc/%u/status", pid);
    read_proc_file(path, text, sizeof text);
    u->rss_kb = status_kb(text, "VmRSS:");
    u->hwm_kb = status_kb(text, "VmHWM:");
    u->known = true;
    return true;
}
