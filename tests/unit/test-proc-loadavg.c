/*
 * Tests of the /proc/loadavg collector: node_exporter's recorded machine,
 * and damaged files where each bad field costs only its own sample.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "collector-test.h"

extern const struct ward_collector ward_collector_proc_loadavg;
static const struct ward_collector *const c = &ward_collector_proc_loadavg;

/* Exact comparison: the collector must pass the kernel's decimal through unchanged. */
static void eq(double got, double want)
{
    if (got != want)
        fail_msg("got %.17g, want %.17g", got, want);
}

static void expect_none(const struct recorder *r)
{
    assert_int_equal(rec_count(r, "cpu_load1"), 0);
    assert_int_equal(rec_count(r, "cpu_load5"), 0);
    assert_int_equal(rec_count(r, "cpu_load15"), 0);
    assert_int_equal(rec_count(r, "cpu_threads_runnable"), 0);
    assert_int_equal(rec_count(r, "cpu_threads_existing"), 0);
}

static void recorded_machine(void **unused)
{
    (void)unused;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(collector_run(c, NULL, NODE_FIXTURE, NULL, &r), 0);
    /*
     * node_exporter's e2e-output.txt reads the same file as node_load1 0.21,
     * node_load5 0.37 and node_load15 0.39; our load1/5/15 are the same
     * numbers. The "1/719" field has no node_exporter counterpart.
     */
    eq(rec_value(&r, "cpu_load1", ""), 0.21);
    eq(rec_value(&r, "cpu_load5", ""), 0.37);
    eq(rec_value(&r, "cpu_load15", ""), 0.39);
    eq(rec_value(&r, "cpu_threads_runnable", ""), 1);
    eq(rec_value(&r, "cpu_threads_existing", ""), 719);
    assert_int_equal(r.n, 5);
    rec_done(&r);
}

static void metric_shape(void **unused)
{
    (void)unused;
    assert_string_equal(c->name, "load");
    assert_int_equal(c->default_interval_ms, 5000);
    assert_int_equal(c->size, sizeof(struct ward_collector));
    struct recorder r;
    rec_init(&r);
    assert_int_equal(collector_run(c, NULL, NODE_FIXTURE, NULL, &r), 0);
    for (size_t i = 0; i < r.n; i++) {
        assert_int_equal(r.samples[i].metric->kind, WARD_SAMPLE_GAUGE);
        assert_string_equal(r.samples[i].metric->category, "cpu");
        assert_string_equal(r.samples[i].labels, "");
    }
    rec_done(&r);
}

static void bad_fields_are_skipped_alone(void **unused)
{
    (void)unused;
    struct recorder r;
    rec_init(&r);
    /* "0.21 abc 0.39 1/x 19737" */
    assert_int_equal(collector_run(c, NULL, FIXTURES "/load-malformed", NULL, &r), 0);
    eq(rec_value(&r, "cpu_load1", ""), 0.21);
    assert_int_equal(rec_count(&r, "cpu_load5"), 0);
    eq(rec_value(&r, "cpu_load15", ""), 0.39);
    assert_int_equal(rec_count(&r, "cpu_threads_runnable"), 0);
    assert_int_equal(rec_count(&r, "cpu_threads_existing"), 0);
    assert_int_equal(r.n, 2);
    /* "nan inf 0x10 7/300 1": no infinities, no hex. */
    assert_int_equal(collector_run(c, NULL, FIXTURES "/load-odd", NULL, &r), 0);
    eq(rec_value(&r, "cpu_threads_runnable", ""), 7);
    eq(rec_value(&r, "cpu_threads_existing", ""), 300);
    assert_int_equal(r.n, 2);
    /* Runs of spaces and tabs separate fields too; "3/" is incomplete. */
    assert_int_equal(collector_run(c, NULL, FIXTURES "/load-split", NULL, &r), 0);
    eq(rec_value(&r, "cpu_load1", ""), 0.5);
    eq(rec_value(&r, "cpu_load5", ""), 0.25);
    eq(rec_value(&r, "cpu_load15", ""), 0.125);
    assert_int_equal(rec_count(&r, "cpu_threads_runnable"), 0);
    assert_int_equal(r.n, 3);
    rec_done(&r);
}

static void truncated_line(void **unused)
{
    (void)unused;
    struct recorder r;
    rec_init(&r);
    /* Three fields, no task counts. */
    assert_int_equal(collector_run(c, NULL, FIXTURES "/load-three", NULL, &r), 0);
    eq(rec_value(&r, "cpu_load1", ""), 0.1);
    eq(rec_value(&r, "cpu_load5", ""), 0.2);
    eq(rec_value(&r, "cpu_load15", ""), 0.3);
    assert_int_equal(r.n, 3);
    /* "1.50 0.3" without a newline */
    assert_int_equal(collector_run(c, NULL, FIXTURES "/load-truncated", NULL, &r), 0);
    eq(rec_value(&r, "cpu_load1", ""), 1.5);
    eq(rec_value(&r, "cpu_load5", ""), 0.3);
    assert_int_equal(r.n, 2);
    rec_done(&r);
}

static void huge_numbers(void **unused)
{
    (void)unused;
    struct recorder r;
    rec_init(&r);
    /* Overflow, a value beyond any task count, a sign, a 20-digit count: nothing usable. */
    assert_int_equal(collector_run(c, NULL, FIXTURES "/load-huge", NULL, &r), -ENODATA);
    expect_none(&r);
    /* Exactly the bound is accepted, one past it is not. */
    assert_int_equal(collector_run(c, NULL, FIXTURES "/load-bounds", NULL, &r), 0);
    eq(rec_value(&r, "cpu_load1", ""), 4194304);
    assert_int_equal(rec_count(&r, "cpu_load5"), 0);
    eq(rec_value(&r, "cpu_load15", ""), 0);
    assert_int_equal(rec_count(&r, "cpu_threads_runnable"), 0);
    assert_int_equal(r.n, 2);
    rec_done(&r);
}

static void overlong_file(void **unused)
{
    (void)unused;
    struct recorder r;
    rec_init(&r);
    /* "2.00 " then 1000 zeros and "1.5": the cut number must not be read as 0. */
    assert_int_equal(collector_run(c, NULL, FIXTURES "/load-long", NULL, &r), 0);
    eq(rec_value(&r, "cpu_load1", ""), 2.0);
    assert_int_equal(r.n, 1);
    rec_done(&r);
}

static void empty_garbage_missing_unreadable(void **unused)
{
    (void)unused;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(collector_run(c, NULL, FIXTURES "/load-empty", NULL, &r), -ENODATA);
    expect_none(&r);
    assert_int_equal(collector_run(c, NULL, FIXTURES "/load-garbage", NULL, &r), -ENODATA);
    expect_none(&r);
    assert_int_equal(collector_run(c, NULL, FIXTURES "/empty", NULL, &r), -ENOENT);
    expect_none(&r);
    /* A directory where the file should be: the read fails as a whole. */
    assert_int_equal(collector_run(c, NULL, FIXTURES "/load-dir", NULL, &r), -EISDIR);
    expect_none(&r);
    rec_done(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(recorded_machine),
        cmocka_unit_test(metric_shape),
        cmocka_unit_test(bad_fields_are_skipped_alone),
        cmocka_unit_test(truncated_line),
        cmocka_unit_test(huge_numbers),
        cmocka_unit_test(overlong_file),
        cmocka_unit_test(empty_garbage_missing_unreadable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
