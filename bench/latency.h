/*
 * Latency figures that threads file and another thread reads while they
 * run: a histogram of 1 ms buckets with its percentiles, and a running
 * maximum. Both use relaxed atomics, so a reader sees figures that are at
 * most a moment old, and neither allocates, so their memory is fixed
 * whatever the length of the run.
 */
#ifndef WARD_BENCH_LATENCY_H
#define WARD_BENCH_LATENCY_H

#include <stdatomic.h>
#include <stdint.h>

/* Buckets of 1 ms; the last one holds everything longer. */
#define WARD_LATENCY_MS 60000

/* One writer thread at a time (relaxed load and store); any thread may copy it. */
struct ward_latency_hist {
    _Atomic uint64_t n[WARD_LATENCY_MS + 1];
};

/* Adds k counts to the bucket of ms; below 0 counts as 0, beyond the last as the last. */
void ward_latency_add(struct ward_latency_hist *h, int64_t ms, uint64_t k);

/* Copies the counts of h into out, which holds WARD_LATENCY_MS + 1 of them. */
void ward_latency_copy(const struct ward_latency_hist *h, uint64_t *out);

/*
 * The bucket (ms) at which the share pct (0 to 100) of the counts in n
 * (WARD_LATENCY_MS + 1 of them) is reached; 100 gives the largest. Returns
 * -1 when n holds no count.
 */
int64_t ward_latency_percentile(const uint64_t *n, double pct);

/* Raises *max to v if v is more; from any thread. */
void ward_latency_raise(_Atomic int64_t *max, int64_t v);

#endif
