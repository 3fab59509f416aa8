/*
 * Tests of the /proc/stat collector on synthetic and recorded trees: the
 * counters as seconds, percentages from deltas, the first read as baseline,
 * and counters that go backwards.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "collector-test.h"

extern const struct ward_collector ward_collector_proc_stat;
static const struct ward_collector *const c = &ward_collector_proc_stat;

static void near(double got, double want)
{
    if (fabs(got - want) > 1e-9)
        fail_msg("got %.12g, want %.12g", got, want);
}

static void first_read_gives_counters_only(void **unused)
{
    (void)unused;
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(collector_run(c, st, FIXTURES "/cpu-a", NULL, &r), 0);
    assert_int_equal(rec_count(&r, "cpu_usage_percent"), 0);
    double tick = 1.0 / (double)sysconf(_SC_CLK_TCK);
    near(rec_value(&r, "cpu_seconds_total", "core=0,mode=user"), 500 * tick);
    near(rec_value(&r, "cpu_seconds_total", "core=1,mode=iowait"), 200 * tick);
    near(rec_value(&r, "cpu_seconds_total", "core=1,mode=softirq"), 50 * tick);
    assert_int_equal(rec_count(&r, "cpu_seconds_total"), 16); /* 2 cores x 8 modes */
    assert_int_equal(rec_value(&r, "cpu_context_switches_total", ""), 987654);
    assert_int_equal(rec_value(&r, "cpu_interrupts_total", ""), 123456);
    assert_int_equal(rec_value(&r, "cpu_forks_total", ""), 4242);
    c->done(st);
    rec_done(&r);
}

static void percentages_from_deltas(void **unused)
{
    (void)unused;
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(collector_run(c, st, FIXTURES "/cpu-a", NULL, &r), 0);
    assert_int_equal(collector_run(c, st, FIXTURES "/cpu-b", NULL, &r), 0);
    /* Total: +200 ticks; user +50, system +20, idle +90, iowait +40. */
    near(rec_value(&r, "cpu_usage_percent", ""), 35.0);
    near(rec_value(&r, "cpu_user_percent", ""), 25.0);
    near(rec_value(&r, "cpu_system_percent", ""), 10.0);
    near(rec_value(&r, "cpu_iowait_percent", ""), 20.0);
    near(rec_value(&r, "cpu_idle_percent", ""), 45.0);
    near(rec_value(&r, "cpu_steal_percent", ""), 0.0);
    near(rec_value(&r, "cpu_irq_percent", ""), 0.0);
    /* cpu0 busy +60 of +100; cpu1 busy +10 of +100 (iowait counts as idle). */
    near(rec_value(&r, "cpu_usage_percent", "core=0"), 60.0);
    near(rec_value(&r, "cpu_usage_percent", "core=1"), 10.0);
    assert_null(rec_find(&r, "cpu_user_percent", "core=0")); /* the split is for the total */
    c->done(st);
    rec_done(&r);
}

static void counter_going_back_starts_a_new_baseline(void **unused)
{
    (void)unused;
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(collector_run(c, st, FIXTURES "/cpu-b", NULL, &r), 0);
    assert_int_equal(collector_run(c, st, FIXTURES "/cpu-reset", NULL, &r), 0);
    assert_null(rec_find(&r, "cpu_usage_percent", "core=1"));
    near(rec_value(&r, "cpu_usage_percent", "core=0"), 100.0 * 60 / 110);
    /* No time passed since: no sample, and no division by zero. */
    assert_int_equal(collector_run(c, st, FIXTURES "/cpu-reset", NULL, &r), 0);
    assert_int_equal(rec_count(&r, "cpu_usage_percent"), 0);
    c->done(st);
    rec_done(&r);
}

static void missing_file(void **unused)
{
    (void)unused;
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(collector_run(c, st, FIXTURES "/empty", NULL, &r), -ENOENT);
    c->done(st);
    rec_done(&r);
}

static void recorded_machine(void **unused)
{
    (void)unused;
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(collector_run(c, st, NODE_FIXTURE, NULL, &r), 0);
    /*
     * node_exporter's readings of the same tree (e2e-output.txt); USER_HZ is
     * 100 on every Linux architecture.
     */
    near(rec_value(&r, "cpu_seconds_total", "core=0,mode=user"), 444.9);
    near(rec_value(&r, "cpu_seconds_total", "core=0,mode=idle"), 10870.69);
    near(rec_value(&r, "cpu_seconds_total", "core=7,mode=user"), 290.98);
    near(rec_value(&r, "cpu_seconds_total", "core=7,mode=idle"), 11392.82);
    assert_int_equal(rec_value(&r, "cpu_context_switches_total", ""), 38014093);
    c->done(st);
    rec_done(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_read_gives_counters_only),
        cmocka_unit_test(percentages_from_deltas),
        cmocka_unit_test(counter_going_back_starts_a_new_baseline),
        cmocka_unit_test(missing_file),
        cmocka_unit_test(recorded_machine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
