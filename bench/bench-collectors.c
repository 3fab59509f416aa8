/*
 * CPU time of one collect() call of each collector, on this machine.
 *
 * Every collector in the table runs against the real /proc and /sys (or
 * the root given as the first argument) many times; each call's thread CPU
 * time is recorded and the median printed, with the samples the call
 * emitted and the CPU cost per sample. A counting sink stands in for the
 * batch, so the figures are the collectors' own cost.
 */
#include "agent/collector.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RUNS 201

struct counter_sink {
    struct ward_sink sink;
    size_t n;
};

static int count(struct ward_sink *sink, const struct ward_metric *m, double value,
                 const struct ward_label *labels, size_t n_labels)
{
    (void)m;
    (void)value;
    (void)labels;
    (void)n_labels;
    ((struct counter_sink *)sink)->n++;
    return 0;
}

static double thread_cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const char *root = argc > 1 ? argv[1] : "";
    static const struct ward_collect_settings settings = {
        .net_exclude = WARD_NET_EXCLUDE_DEFAULT,
        .net_max_interfaces = WARD_NET_MAX_INTERFACES,
        .top_n = WARD_TOP_N_DEFAULT,
        .statvfs_timeout_ms = WARD_STATVFS_TIMEOUT_MS,
    };
    printf("collector CPU time per collect() call, median of %d runs (thread CPU time)\n", RUNS);
    printf("%-12s %12s %9s %14s\n", "collector", "median us", "samples", "ns per sample");
    double total_us = 0;
    size_t total_samples = 0;
    for (size_t i = 0; i < ward_n_collectors; i++) {
        const struct ward_collector *c = ward_collectors[i];
        void *state = NULL;
        if (c->init && c->init(&state) < 0) {
            printf("%-12s %12s\n", c->name, "init failed");
            continue;
        }
        struct counter_sink sink = {.sink.emit = count};
        struct ward_collect_ctx ctx = {.root = root, .settings = &settings, .sink = &sink.sink};
        double us[RUNS];
        int last = 0;
        for (int run = -1; run < RUNS; run++) {
            sink.n = 0;
            ctx.now_ms = 1700000000000 + (int64_t)(run + 1) * 1000;
            double t0 = thread_cpu_us();
            last = c->collect(state, &ctx);
            double t = thread_cpu_us() - t0;
            if (run >= 0)
                us[run] = t;
        }
        qsort(us, RUNS, sizeof(us[0]), cmp_double);
        double med = us[RUNS / 2];
        if (last < 0) {
            printf("%-12s %12.1f %9s %14s  (%s)\n", c->name, med, "-", "-",
                   last == -ENOENT ? "absent here" : strerror(-last));
        } else {
            printf("%-12s %12.1f %9zu %14.0f\n", c->name, med, sink.n,
                   sink.n ? med * 1000 / (double)sink.n : 0);
            total_us += med;
            total_samples += sink.n;
        }
        if (c->done)
            c->done(state);
    }
    printf("%-12s %12.1f %9zu %14.0f\n", "all", total_us, total_samples,
           total_samples ? total_us * 1000 / (double)total_samples : 0);
    return 0;
}
