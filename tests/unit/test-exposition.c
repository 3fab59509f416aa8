/*
 * Tests of the Prometheus text exposition: one HELP/TYPE per family however
 * samples are interleaved, Prometheus naming, label escaping and values.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "agent/batch.h"
#include "agent/exposition.h"

static const struct ward_metric usage = {"cpu", "usage_percent", WARD_SAMPLE_GAUGE, "CPU use."};
static const struct ward_metric secs = {"cpu", "seconds_total", WARD_SAMPLE_COUNTER, "CPU time."};
static const struct ward_metric polls = {"agent", "PollCount", WARD_SAMPLE_COUNTER, "Rounds."};
static const struct ward_metric rnd = {"agent", "RandomValue", WARD_SAMPLE_GAUGE, "Random\\value."};

static void families_are_grouped_and_named(void **unused)
{
    (void)unused;
    struct ward_batch a, b;
    ward_batch_init(&a, 100);
    ward_batch_init(&b, 100);
    struct ward_label core0 = {"core", "0"};
    struct ward_label two[2] = {{"mode", "user"}, {"core", "1"}};
    a.sink.emit(&a.sink, &usage, 12.5, NULL, 0);
    a.sink.emit(&a.sink, &secs, 3, two, 2);
    a.sink.emit(&a.sink, &usage, 50, &core0, 1);
    b.sink.emit(&b.sink, &polls, 7, NULL, 0);
    b.sink.emit(&b.sink, &rnd, 0.25, NULL, 0);
    const struct ward_batch *batches[] = {&a, &b};
    struct ward_buf out = WARD_BUF_INIT;
    assert_int_equal(ward_exposition_write(batches, 2, &out), 0);
    assert_string_equal(out.data, "# HELP agent_poll_count_total Rounds.\n"
                                  "# TYPE agent_poll_count_total counter\n"
                                  "agent_poll_count_total 7.0\n"
                                  "# HELP agent_random_value Random\\\\value.\n"
                                  "# TYPE agent_random_value gauge\n"
                                  "agent_random_value 0.25\n"
                                  "# HELP cpu_seconds_total CPU time.\n"
                                  "# TYPE cpu_seconds_total counter\n"
                                  "cpu_seconds_total{core=\"1\",mode=\"user\"} 3.0\n"
                                  "# HELP cpu_usage_percent CPU use.\n"
                                  "# TYPE cpu_usage_percent gauge\n"
                                  "cpu_usage_percent 12.5\n"
                                  "cpu_usage_percent{core=\"0\"} 50.0\n");
    ward_buf_done(&out);
    ward_batch_done(&a);
    ward_batch_done(&b);
}

static void label_values_are_escaped(void **unused)
{
    (void)unused;
    struct ward_batch a;
    ward_batch_init(&a, 10);
    struct ward_label l = {"name", "a\"b\\c\nd"};
    a.sink.emit(&a.sink, &usage, 1, &l, 1);
    const struct ward_batch *batches[] = {&a};
    struct ward_buf out = WARD_BUF_INIT;
    assert_int_equal(ward_exposition_write(batches, 1, &out), 0);
    assert_non_null(strstr(out.data, "cpu_usage_percent{name=\"a\\\"b\\\\c\\nd\"} 1.0\n"));
    ward_buf_done(&out);
    ward_batch_done(&a);
}

static void empty_batches_write_nothing(void **unused)
{
    (void)unused;
    struct ward_batch a;
    ward_batch_init(&a, 10);
    const struct ward_batch *batches[] = {&a};
    struct ward_buf out = WARD_BUF_INIT;
    assert_int_equal(ward_exposition_write(batches, 1, &out), 0);
    assert_int_equal(out.len, 0);
    ward_batch_done(&a);
}

static void non_finite_values_are_refused_at_the_batch(void **unused)
{
    (void)unused;
    struct ward_batch a;
    ward_batch_init(&a, 10);
    assert_int_equal(a.sink.emit(&a.sink, &usage, 0.0 / 0.0, NULL, 0), -EDOM);
    assert_int_equal(ward_batch_count(&a), 0);
    ward_batch_done(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(families_are_grouped_and_named),
        cmocka_unit_test(label_values_are_escaped),
        cmocka_unit_test(empty_batches_write_nothing),
        cmocka_unit_test(non_finite_values_are_refused_at_the_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
