/*
 * Tests of query execution against the fake store of test-query-fake.c:
 * raw points, every aggregation with hand-computed results, bucket
 * alignment, rate across resets and from the previous sample, grouping
 * with by and its pseudo-labels, the point limits, bad specs, empty
 * results and store failures; then the parameter parsers and host
 * liveness.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/error.h"
#include "server/query.h"
#include "test-query-fake.h"

/* ---- Ranges and aggregation ---- */

/* Series 1 and 2 (host 1, cpu usage) over a minute, and beyond it. */
static const struct fake_point cpu_points[] = {
    {1, T0, 10},          {1, T0 + 10 * S, 20}, {1, T0 + 20 * S, 30}, {1, T0 + 30 * S, 40},
    {1, T0 + 40 * S, 50}, {1, T0 + 50 * S, 60}, {1, T0 + 60 * S, 70}, {2, T0 + 5 * S, 1},
    {2, T0 + 35 * S, 3},  {2, T0 + 45 * S, 5},
};

struct run {
    struct ward_selector sel;
    struct ward_query_spec spec;
    struct ward_query_result res;
    struct ward_buf err;
    int r;
};

static void run_init(struct run *q, int64_t from, int64_t to, int64_t step, enum ward_query_agg agg)
{
    ward_selector_init(&q->sel);
    q->spec = (struct ward_query_spec){.from_ms = from,
                                       .to_ms = to,
                                       .step_ms = step,
                                       .agg = agg,
                                       .max_series = 100,
                                       .max_points = 1000};
    ward_query_result_init(&q->res);
    ward_buf_init(&q->err, 0);
}

static void run_by(struct run *q, const char *by)
{
    assert_int_equal(ward_query_by_parse(by, &q->spec.by, &q->err), 0);
}

static int run_exec(struct run *q)
{
    q->r = ward_query_run(&fake.base, &q->sel, &q->spec, &q->res, &q->err);
    return q->r;
}

static void run_done(struct run *q)
{
    ward_selector_done(&q->sel);
    ward_query_result_done(&q->res);
    ward_buf_done(&q->err);
}

/* Checks entry i: its points are the n (ts, value) pairs in want. */
static void expect_points(const struct run *q, size_t i, const double *want, size_t n)
{
    if (q->r < 0)
        fail_msg("query failed: %d %s", q->r, q->err.data ? q->err.data : "");
    if (i >= q->res.n_series)
        fail_msg("entry %zu missing, have %zu", i, q->res.n_series);
    const struct ward_query_series *e = &q->res.series[i];
    if (e->n_points != n / 2)
        fail_msg("entry %zu: %zu points, want %zu", i, e->n_points, n / 2);
    for (size_t j = 0; j < n / 2; j++) {
        if (e->points[j].ts_ms != (int64_t)want[2 * j] ||
            fabs(e->points[j].value - want[2 * j + 1]) > 1e-9)
            fail_msg("entry %zu point %zu: [%lld, %g], want [%lld, %g]", i, j,
                     (long long)e->points[j].ts_ms, e->points[j].value, (long long)want[2 * j],
                     want[2 * j + 1]);
    }
}

#define EXPECT(q, i, ...)                                                                          \
    expect_points(q, i, (const double[]){__VA_ARGS__},                                             \
                  sizeof((const double[]){__VA_ARGS__}) / sizeof(double))

static void raw_points(void **unused)
{
    (void)unused;
    STORE(cpu_points);
    struct run q;
    run_init(&q, T0 + 10 * S, T0 + 40 * S, 0, WARD_AGG_NONE);
    sel_add(&q.sel, WARD_SELECT_HOST, false, H1);
    assert_int_equal(run_exec(&q), 0);
    assert_int_equal(q.res.n_series, 2); /* series 3 and 4 have no samples: left out */
    assert_int_equal(q.res.agg, WARD_AGG_NONE);
    assert_int_equal(q.res.step_ms, 0);
    assert_int_equal(q.res.series[0].series->id, 1);
    assert_string_equal(q.res.series[0].series->labels, "{\"core\":\"0\"}");
    assert_null(q.res.series[0].group);
    EXPECT(&q, 0, T0 + 10 * S, 20, T0 + 20 * S, 30, T0 + 30 * S, 40, T0 + 40 * S, 50);
    EXPECT(&q, 1, T0 + 35 * S, 3);
    assert_int_equal(q.res.n_points, 5);
    assert_int_equal(fake.read_from, T0 + 10 * S);
    assert_int_equal(fake.read_to, T0 + 40 * S);
    run_done(&q);
}

static void each_aggregation(void **unused)
{
    (void)unused;
    static const struct {
        enum ward_query_agg agg;
        double b0, b1; /* series 1, buckets [0s, 30s) and [30s, 60s) */
    } cases[] = {
        {WARD_AGG_AVG, 20, 50},  {WARD_AGG_MIN, 10, 40}, {WARD_AGG_MAX, 30, 60},
        {WARD_AGG_SUM, 60, 150}, {WARD_AGG_COUNT, 3, 3}, {WARD_AGG_LAST, 30, 60},
        {WARD_AGG_RATE, 1, 1},
    };
    STORE(cpu_points);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct run q;
        run_init(&q, T0, T0 + 60 * S - 1, 30 * S, cases[i].agg);
        sel_labels(&q.sel, "core=0");
        sel_add(&q.sel, WARD_SELECT_HOST, false, H1);
        run_exec(&q);
        EXPECT(&q, 0, T0, cases[i].b0, T0 + 30 * S, cases[i].b1);
        assert_int_equal(q.res.step_ms, 30 * S);
        assert_int_equal(q.res.agg, cases[i].agg);
        run_done(&q);
    }
}

static void grouped_aggregation(void **unused)
{
    (void)unused;
    /* Series 1 and 2 merged: bucket 0 holds 10, 20, 30 and 1; bucket 1 40, 50, 60, 3 and 5. */
    static const struct {
        enum ward_query_agg agg;
        double b0, b1;
    } cases[] = {
        {WARD_AGG_AVG, 61.0 / 4, 158.0 / 5}, /* not (20 + 1) / 2: no average of averages */
        {WARD_AGG_MIN, 1, 3},
        {WARD_AGG_MAX, 30, 60},
        {WARD_AGG_SUM, 61, 158},
        {WARD_AGG_COUNT, 4, 5},
        {WARD_AGG_LAST, 30, 60},
        {WARD_AGG_RATE, 1, 1 + 0.1}, /* series 2: none in bucket 0, +4 over 40 s in 1 */
    };
    STORE(cpu_points);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct run q;
        run_init(&q, T0, T0 + 60 * S - 1, 30 * S, cases[i].agg);
        sel_add(&q.sel, WARD_SELECT_HOST, false, H1);
        run_by(&q, "name");
        run_exec(&q);
        assert_int_equal(q.res.n_series, 1);
        assert_true(q.res.grouped);
        assert_null(q.res.series[0].series);
        assert_string_equal(q.res.series[0].group, "{\"name\":\"usage\"}");
        assert_int_equal(q.res.series[0].series_count, 2);
        EXPECT(&q, 0, T0, cases[i].b0, T0 + 30 * S, cases[i].b1);
        run_done(&q);
    }
}

static void rate_with_resets(void **unused)
{
    (void)unused;
    static const struct fake_point points[] = {
        /* Series 4: the previous sample before from, a reset at 20 s. */
        {4, T0 - 6 * 60 * S, 1}, /* beyond the lookback: never read */
        {4, T0 - 60 * S, 100},
        {4, T0, 200},
        {4, T0 + 10 * S, 300},
        {4, T0 + 20 * S, 50},
        {4, T0 + 30 * S, 150},
        {4, T0 + 40 * S, 250},
        /* Series 8: no previous sample; bucket 1 has a single sample after bucket 0. */
        {8, T0, 10},
        {8, T0 + 10 * S, 20},
        {8, T0 + 50 * S, 60},
    };
    STORE(points);
    struct run q;
    run_init(&q, T0, T0 + 60 * S - 1, 30 * S, WARD_AGG_RATE);
    sel_add(&q.sel, WARD_SELECT_NAME, false, "rx_bytes");
    run_exec(&q);
    assert_int_equal(fake.read_from, T0 - WARD_QUERY_RATE_LOOKBACK_MS);
    /* Bucket 0: +100 +100 +50 (reset) over 80 s; bucket 1: +100 +100 over 20 s. */
    EXPECT(&q, 0, T0, 250.0 / 80, T0 + 30 * S, 10);
    /* Bucket 1 of series 8: one sample, paired with the one at 10 s: +40 over 40 s. */
    EXPECT(&q, 1, T0, 1, T0 + 30 * S, 1);
    run_done(&q);

    /* Grouped, the rates of the series add up. */
    run_init(&q, T0, T0 + 60 * S - 1, 30 * S, WARD_AGG_RATE);
    sel_add(&q.sel, WARD_SELECT_NAME, false, "rx_bytes");
    run_by(&q, "category,iface");
    run_exec(&q);
    assert_int_equal(q.res.n_series, 1);
    assert_string_equal(q.res.series[0].group, "{\"category\":\"net\",\"iface\":\"eth0\"}");
    EXPECT(&q, 0, T0, 250.0 / 80 + 1, T0 + 30 * S, 11);
    run_done(&q);

    /* One sample and nothing before it: no rate at all. */
    run_init(&q, T0 + 45 * S, T0 + 60 * S, 0, WARD_AGG_RATE);
    sel_add(&q.sel, WARD_SELECT_HOST, false, H3);
    fake.points = points + 9;
    fake.n_points = 1;
    run_exec(&q);
    assert_int_equal(q.r, 0);
    assert_int_equal(q.res.n_series, 0);
    run_done(&q);
}

static void bucket_alignment(void **unused)
{
    (void)unused;
    static const struct fake_point points[] = {
        {1, T0 + 4999, 1},   {1, T0 + 5 * S, 2},  {1, T0 + 14999, 3},
        {1, T0 + 15 * S, 4}, {1, T0 + 20 * S, 5}, {1, T0 + 20 * S + 1, 6},
    };
    STORE(points);
    struct run q;
    /* Buckets start at from, not at multiples of step since the epoch; to is inclusive. */
    run_init(&q, T0 + 5 * S, T0 + 20 * S, 10 * S, WARD_AGG_COUNT);
    sel_labels(&q.sel, "core=0");
    sel_add(&q.sel, WARD_SELECT_HOST, false, H1);
    run_exec(&q);
    EXPECT(&q, 0, T0 + 5 * S, 2, T0 + 15 * S, 2);
    run_done(&q);

    /* agg without step: one bucket over the range, at from. */
    run_init(&q, T0 + 5 * S, T0 + 20 * S, 0, WARD_AGG_SUM);
    sel_labels(&q.sel, "core=0");
    run_exec(&q);
    EXPECT(&q, 0, T0 + 5 * S, 2 + 3 + 4 + 5);
    assert_int_equal(q.res.step_ms, 0);
    run_done(&q);

    /* step without agg: avg. */
    run_init(&q, T0 + 5 * S, T0 + 20 * S, 10 * S, WARD_AGG_NONE);
    sel_labels(&q.sel, "core=0");
    run_exec(&q);
    assert_int_equal(q.res.agg, WARD_AGG_AVG);
    EXPECT(&q, 0, T0 + 5 * S, 2.5, T0 + 15 * S, 4.5);
    run_done(&q);

    /* A step longer than the range: one bucket. A step of 1 ms: one bucket per sample. */
    run_init(&q, T0 + 5 * S, T0 + 20 * S, 3600 * S, WARD_AGG_MAX);
    sel_labels(&q.sel, "core=0");
    run_exec(&q);
    EXPECT(&q, 0, T0 + 5 * S, 5);
    run_done(&q);
    run_init(&q, T0 + 14999, T0 + 15 * S, 1, WARD_AGG_LAST);
    sel_labels(&q.sel, "core=0");
    run_exec(&q);
    EXPECT(&q, 0, T0 + 14999, 3, T0 + 15 * S, 4);
    run_done(&q);
}

static void grouping_and_pseudo_labels(void **unused)
{
    (void)unused;
    static const struct fake_point points[] = {
        {1, T0, 1}, {2, T0, 2}, {5, T0, 4}, {7, T0, 8}, {7, T0 + 1, 16},
    };
    STORE(points);
    struct run q;
    run_init(&q, T0, T0 + 10 * S, 0, WARD_AGG_SUM);
    sel_add(&q.sel, WARD_SELECT_CATEGORY, false, "cpu");
    run_by(&q, "core");
    run_exec(&q);
    /* Ordered by group; series without the label form the null group. */
    assert_int_equal(q.res.n_series, 3);
    assert_string_equal(q.res.series[0].group, "{\"core\":\"0\"}");
    assert_int_equal(q.res.series[0].series_count, 2);
    EXPECT(&q, 0, T0, 5);
    assert_string_equal(q.res.series[1].group, "{\"core\":\"1\"}");
    EXPECT(&q, 1, T0, 2);
    assert_string_equal(q.res.series[2].group, "{\"core\":null}");
    EXPECT(&q, 2, T0, 24);
    run_done(&q);

    /* Pseudo-labels, in the order given. */
    run_init(&q, T0, T0 + 10 * S, 0, WARD_AGG_COUNT);
    sel_add(&q.sel, WARD_SELECT_CATEGORY, false, "cpu");
    run_by(&q, "host,category");
    run_exec(&q);
    assert_int_equal(q.res.n_series, 3);
    assert_string_equal(q.res.series[0].group, "{\"host\":\"" H1 "\",\"category\":\"cpu\"}");
    assert_int_equal(q.res.series[0].series_count, 2);
    EXPECT(&q, 0, T0, 2);
    assert_string_equal(q.res.series[2].group, "{\"host\":\"" H3 "\",\"category\":\"cpu\"}");
    EXPECT(&q, 2, T0, 2);
    run_done(&q);

    /* last across a group: on equal times the series listed last wins. */
    run_init(&q, T0, T0, 0, WARD_AGG_LAST);
    sel_add(&q.sel, WARD_SELECT_HOST, false, H1);
    sel_add(&q.sel, WARD_SELECT_CATEGORY, false, "cpu");
    run_by(&q, "category");
    run_exec(&q);
    EXPECT(&q, 0, T0, 2);
    run_done(&q);
}

static void limits(void **unused)
{
    (void)unused;
    STORE(cpu_points);
    struct run q;
    /* Raw points are counted as they are read. */
    run_init(&q, T0, T0 + 60 * S, 0, WARD_AGG_NONE);
    sel_add(&q.sel, WARD_SELECT_HOST, false, H1);
    q.spec.max_points = 9;
    assert_int_equal(run_exec(&q), WARD_E_LIMIT);
    assert_non_null(strstr(q.err.data, "more than 9 points"));
    assert_non_null(strstr(q.err.data, "shorter range"));
    assert_int_equal(q.res.n_series, 0);
    q.spec.max_points = 10;
    ward_buf_reset(&q.err);
    assert_int_equal(run_exec(&q), 0);
    assert_int_equal(q.res.n_points, 10);
    run_done(&q);

    /* With buckets the bound is checked before anything is read. */
    run_init(&q, T0, T0 + 60 * S - 1, 30 * S, WARD_AGG_AVG);
    sel_add(&q.sel, WARD_SELECT_CATEGORY, false, "cpu");
    q.spec.max_points = 7;
    fake.reads = 0;
    assert_int_equal(run_exec(&q), WARD_E_LIMIT);
    assert_non_null(strstr(q.err.data, "4 series x 2 buckets"));
    assert_non_null(strstr(q.err.data, "limit of 7 points"));
    assert_non_null(strstr(q.err.data, "larger step"));
    assert_int_equal(fake.reads, 0);
    run_by(&q, "name");
    assert_int_equal(run_exec(&q), 0); /* one group x 2 buckets */
    run_done(&q);

    /* A tiny step over a long range never overflows. */
    run_init(&q, -WARD_QUERY_MAX_TIME, WARD_QUERY_MAX_TIME, 1, WARD_AGG_AVG);
    fake.reads = 0;
    assert_int_equal(run_exec(&q), WARD_E_LIMIT);
    assert_int_equal(fake.reads, 0);
    run_done(&q);

    run_init(&q, T0, T0 + 60 * S, 0, WARD_AGG_NONE);
    q.spec.max_series = 7;
    assert_int_equal(run_exec(&q), WARD_E_LIMIT);
    assert_non_null(strstr(q.err.data, "matches 8 series, more than the limit of 7"));
    run_done(&q);
}

static void spec_errors(void **unused)
{
    (void)unused;
    STORE(cpu_points);
    static const struct {
        int64_t from, to, step;
        enum ward_query_agg agg;
        const char *by;
        const char *want;
    } cases[] = {
        {T0 + 1, T0, 0, WARD_AGG_NONE, NULL, "from: must not be after to"},
        {T0, T0, -1, WARD_AGG_AVG, NULL, "step: out of range"},
        {-WARD_QUERY_MAX_TIME - 1, T0, 0, WARD_AGG_NONE, NULL, "from: out of range"},
        {T0, WARD_QUERY_MAX_TIME + 1, 0, WARD_AGG_NONE, NULL, "to: out of range"},
        {T0, T0, 0, WARD_AGG_NONE, "core", "by: needs agg or step"},
        {T0, T0, 0, (enum ward_query_agg)99, NULL, "agg: unknown"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct run q;
        run_init(&q, cases[i].from, cases[i].to, cases[i].step, cases[i].agg);
        if (cases[i].by)
            run_by(&q, cases[i].by);
        assert_int_equal(run_exec(&q), -EINVAL);
        if (!strstr(q.err.data, cases[i].want))
            fail_msg("case %zu: '%s', want '%s'", i, q.err.data, cases[i].want);
        assert_int_equal(fake.series_lists, 0);
        run_done(&q);
    }
}

static void empty_results_and_store_failures(void **unused)
{
    (void)unused;
    STORE(cpu_points);
    struct run q;
    run_init(&q, T0, T0 + 60 * S, 0, WARD_AGG_AVG);
    sel_add(&q.sel, WARD_SELECT_NAME, false, "none");
    assert_int_equal(run_exec(&q), 0);
    assert_int_equal(q.res.n_series, 0);
    assert_int_equal(fake.reads, 0);
    run_done(&q);

    /* Series without samples in the range are left out. */
    run_init(&q, T0 + 100 * S, T0 + 200 * S, 10 * S, WARD_AGG_AVG);
    sel_add(&q.sel, WARD_SELECT_HOST, false, H1);
    assert_int_equal(run_exec(&q), 0);
    assert_int_equal(q.res.n_series, 0);
    assert_int_equal(fake.reads, 1);
    run_done(&q);

    run_init(&q, T0, T0 + 60 * S, 0, WARD_AGG_NONE);
    fake.fail_read = -EIO;
    assert_int_equal(run_exec(&q), WARD_E_STORE);
    assert_non_null(strstr(q.err.data, "store:"));
    fake.fail_read = 0;
    fake.bad_index = true;
    assert_int_equal(run_exec(&q), WARD_E_STORE);
    assert_int_equal(q.res.n_series, 0);
    fake.bad_index = false;
    run_done(&q);

    /* A sum beyond the doubles is infinite, for the API to show as null. */
    static const struct fake_point huge[] = {{1, T0, 1e308}, {1, T0 + 1, 1e308}};
    STORE(huge);
    run_init(&q, T0, T0 + 60 * S, 0, WARD_AGG_SUM);
    assert_int_equal(run_exec(&q), 0);
    assert_true(isinf(q.res.series[0].points[0].value));
    run_done(&q);
}

/* ---- Parameters and liveness ---- */

static void parameter_parsers(void **unused)
{
    (void)unused;
    int64_t ms = -1;
    assert_int_equal(ward_query_step_parse("60s", &ms), 0);
    assert_int_equal(ms, 60000);
    assert_int_equal(ward_query_step_parse("5m", &ms), 0);
    assert_int_equal(ms, 300000);
    assert_int_equal(ward_query_step_parse("1.5m", &ms), 0);
    assert_int_equal(ms, 90000);
    assert_int_equal(ward_query_step_parse("1500", &ms), 0);
    assert_int_equal(ms, 1500);
    assert_int_equal(ward_query_step_parse("250ms", &ms), 0);
    assert_int_equal(ms, 250);
    const char *bad[] = {"",   "0",     "-5", "1.5", "abc",
                         "5x", "0.1ms", "0s", " 5s", "99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ms = 42;
        if (ward_query_step_parse(bad[i], &ms) >= 0)
            fail_msg("step '%s' accepted", bad[i]);
        assert_int_equal(ms, 42);
    }

    enum ward_query_agg agg;
    const char *names[] = {"avg", "min", "max", "sum", "count", "last", "rate"};
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(ward_query_agg_parse(names[i], &agg), 0);
        assert_string_equal(ward_query_agg_name(agg), names[i]);
    }
    assert_int_equal(ward_query_agg_parse("AVG", &agg), -EINVAL);
    assert_int_equal(ward_query_agg_parse("", &agg), -EINVAL);
    assert_null(ward_query_agg_name(WARD_AGG_NONE));

    struct ward_query_by by;
    struct ward_buf err = WARD_BUF_INIT;
    assert_int_equal(ward_query_by_parse("host,mount", &by, &err), 0);
    assert_int_equal(by.n, 2);
    assert_string_equal(by.key[1], "mount");
    assert_int_equal(ward_query_by_parse("a,,b", &by, &err), -EINVAL);
    assert_non_null(strstr(err.data, "empty label name"));
    assert_int_equal(ward_query_by_parse("", &by, &err), -EINVAL);
    assert_int_equal(ward_query_by_parse("a,", &by, &err), -EINVAL);
    assert_int_equal(ward_query_by_parse("a,b,a", &by, &err), -EINVAL);
    assert_non_null(strstr(err.data, "'a' given twice"));
    assert_int_equal(ward_query_by_parse("a,b,c,d,e,f,g,h,i", &by, &err), WARD_E_LIMIT);
    assert_non_null(strstr(err.data, "more than 8 labels"));
    char key[WARD_LABELS_MAX_KEY + 2];
    memset(key, 'k', sizeof(key) - 1);
    key[sizeof(key) - 1] = '\0';
    assert_int_equal(ward_query_by_parse(key, &by, &err), WARD_E_LIMIT);
    ward_buf_done(&err);
}

static void liveness(void **unused)
{
    (void)unused;
    const int64_t now = T0, stale = 30 * S, offline = 300 * S;
    assert_int_equal(ward_host_liveness(0, now, stale, offline), WARD_LIVE_OFFLINE);
    assert_int_equal(ward_host_liveness(now, now, stale, offline), WARD_LIVE_ONLINE);
    assert_int_equal(ward_host_liveness(now + 5 * S, now, stale, offline), WARD_LIVE_ONLINE);
    assert_int_equal(ward_host_liveness(now - stale, now, stale, offline), WARD_LIVE_ONLINE);
    assert_int_equal(ward_host_liveness(now - stale - 1, now, stale, offline), WARD_LIVE_STALE);
    assert_int_equal(ward_host_liveness(now - offline, now, stale, offline), WARD_LIVE_STALE);
    assert_int_equal(ward_host_liveness(now - offline - 1, now, stale, offline), WARD_LIVE_OFFLINE);
    assert_string_equal(ward_liveness_name(WARD_LIVE_ONLINE), "online");
    assert_string_equal(ward_liveness_name(WARD_LIVE_STALE), "stale");
    assert_string_equal(ward_liveness_name(WARD_LIVE_OFFLINE), "offline");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(raw_points),
        cmocka_unit_test(each_aggregation),
        cmocka_unit_test(grouped_aggregation),
        cmocka_unit_test(rate_with_resets),
        cmocka_unit_test(bucket_alignment),
        cmocka_unit_test(grouping_and_pseudo_labels),
        cmocka_unit_test(limits),
        cmocka_unit_test(spec_errors),
        cmocka_unit_test(empty_results_and_store_failures),
        cmocka_unit_test(parameter_parsers),
        cmocka_unit_test(liveness),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
