/*
 * Latency histogram and running maximum (see latency.h).
 *
 * The histogram has a fixed bucket per millisecond rather than a sorted
 * list of samples, so that a run of any length at any rate costs the same
 * memory, and a percentile is one pass over the buckets. Its single writer
 * adds with a relaxed load and store instead of a read-modify-write, which
 * is all a reader on another thread needs to see counts that only grow.
 */
#include "latency.h"

#include <math.h>
#include <stddef.h>

void ward_latency_add(struct ward_latency_hist *h, int64_t ms, uint64_t k)
{
    size_t i = ms < 0 ? 0 : ms > WARD_LATENCY_MS ? WARD_LATENCY_MS : (size_t)ms;
    uint64_t v = atomic_load_explicit(&h->n[i], memory_order_relaxed);
    atomic_store_explicit(&h->n[i], v + k, memory_order_relaxed);
}

void ward_latency_copy(const struct ward_latency_hist *h, uint64_t *out)
{
    for (size_t i = 0; i <= WARD_LATENCY_MS; i++)
        out[i] = atomic_load_explicit(&h->n[i], memory_order_relaxed);
}

int64_t ward_latency_percentile(const uint64_t *n, double pct)
{
    uint64_t total = 0;
    for (size_t i = 0; i <= WARD_LATENCY_MS; i++)
        total += n[i];
    if (!total)
        return -1;
    uint64_t want = (uint64_t)ceil((double)total * pct / 100), seen = 0;
    if (want == 0)
        want = 1;
    for (size_t i = 0; i <= WARD_LATENCY_MS; i++) {
        seen += n[i];
        if (seen >= want)
            return (int64_t)i;
    }
    return WARD_LATENCY_MS;
}

void ward_latency_raise(_Atomic int64_t *max, int64_t v)
{
    int64_t cur = atomic_load_explicit(max, memory_order_relaxed);
    while (v > cur && !atomic_compare_exchange_weak(max, &cur, v))
        ;
}
