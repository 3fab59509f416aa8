/*
 * Small helpers the benchmark programs share: a fast random generator for
 * synthetic data, the envelope of an ingest body, sorting and percentiles
 * of latency samples, and an integer command-line option.
 */
#ifndef WARD_BENCH_UTIL_H
#define WARD_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

struct ward_json_writer;

/*
 * Steps the xorshift64 generator whose state is *s (never 0) and returns
 * the new state: cheap, reproducible from a seed, and good enough for
 * synthetic values. Not for anything secret.
 */
uint64_t ward_xorshift64(uint64_t *s);

/*
 * Begins an ingest body in w: opens its object and writes "server_id": id
 * and "batch": {"seq": seq, "boot": boot}. The caller adds the samples
 * ("series" or "metrics"), closes the object and finishes w, which reports
 * any failure.
 */
void ward_ingest_envelope_begin(struct ward_json_writer *w, const char *id, uint64_t seq,
                                int64_t boot);

/* qsort() comparison of two int64_t, ascending. */
int ward_cmp_i64(const void *x, const void *y);

/*
 * The pct-th percentile (0 to 100) of the n values at sorted, which are in
 * ascending order, divided by unit: 1e6 turns nanoseconds into
 * milliseconds. Returns 0 when n is 0.
 */
double ward_percentile(const int64_t *sorted, size_t n, int pct, double unit);

/*
 * Parses option value s as a decimal integer from min to max (both within
 * int) into *out. Returns 0 or -EINVAL; *out is written only on success.
 */
int ward_int_option(const char *s, int64_t min, int64_t max, int *out);

#endif
