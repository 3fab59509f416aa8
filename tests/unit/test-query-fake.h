/*
 * A fake store for the query tests: struct ward_store_ops over fixed arrays.
 *
 * It holds three hosts (H1 and H2 named web-1 and web-2, H3 named db-1) and
 * eight series, listed as a store lists them (by host, category, name and
 * labels), and the samples a test hands it. It filters, reads and lists
 * like a real backend, records what it was asked for, and fails on demand,
 * so the engine can be tested without a database and every expectation
 * can be worked out by hand from the arrays in test-query-fake.c.
 */
#ifndef WARD_TEST_QUERY_FAKE_H
#define WARD_TEST_QUERY_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/query.h"

#define H1 "0190c1d2-0000-7000-8000-000000000001"
#define H2 "0190c1d2-0000-7000-8000-000000000002"
#define H3 "0190c1d2-0000-7000-8000-000000000003"
#define T0 INT64_C(1700000000000)
#define S  INT64_C(1000)

struct fake_point {
    int64_t series; /* id */
    int64_t ts;
    double v;
};

struct fake {
    struct ward_store base;
    const struct ward_series_row *series;
    size_t n_series;
    const struct fake_point *points; /* by series, oldest first */
    size_t n_points;
    int fail_hosts, fail_series, fail_read; /* returned by the method when not 0 */
    bool bad_index;                         /* read reports a series index out of range */
    /* What the engine asked for. */
    size_t host_lists, series_lists, reads;
    char filter_host[64], filter_category[64], filter_name[64];
    int64_t read_from, read_to;
};

extern struct fake fake;

/*
 * Resets the fake to the fixed hosts and series and the n samples at
 * points (by series, oldest first), and returns it as a store.
 */
struct ward_store *fake_store(const struct fake_point *points, size_t n);

#define STORE(points) fake_store(points, sizeof(points) / sizeof(points[0]))

/* Adds a matcher or a label list to sel, failing the test when it is refused. */
void sel_add(struct ward_selector *sel, enum ward_select_field f, bool regex, const char *v);
void sel_labels(struct ward_selector *sel, const char *list);

#endif
