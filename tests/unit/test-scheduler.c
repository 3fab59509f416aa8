/*
 * Tests of the collector scheduler's timing: runners keep to a fixed grid,
 * so however late the rounds run, collectors with the same interval share
 * every round, and a collector whose hardware is absent (checked every ten
 * intervals) never makes a round of its own; and central overrides: a
 * collector switched off stops emitting and leaves /metrics, one switched
 * on runs in the next round, a shorter interval comes sooner, and an
 * override taken away returns to the local setting.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "agent/batch.h"
#include "agent/scheduler.h"

/* The value of agent PollCount in b, or -1 when b has none. */
static double poll_count(const struct ward_batch *b)
{
    for (size_t i = 0; i < ward_batch_count(b); i++) {
        struct ward_batch_sample s;
        ward_batch_get(b, i, &s);
        if (strcmp(s.metric->name, "PollCount") == 0)
            return s.value;
    }
    return -1;
}

static void late_rounds_stay_together(void **unused)
{
    (void)unused;
    /* cpu reads a recorded tree; wifi finds nothing there and backs off tenfold. */
    const struct ward_collector_config cc[] = {
        {"cpu", true, 0},          {"load", false, 0},      {"memory", false, 0},
        {"disk", false, 0},        {"diskio", false, 0},    {"network", false, 0},
        {"wifi", true, 0},         {"processes", false, 0}, {"system", false, 0},
        {"temperature", false, 0}, {"thermal", false, 0},   {"rpi", false, 0},
        {"agent", true, 0},
    };
    struct ward_collect_settings settings = {.top_n = 10, .statvfs_timeout_ms = 1000};
    struct ward_scheduler_config cfg = {
        .root = WARD_SOURCE_ROOT "/tests/fixtures/cpu-a",
        .settings = &settings,
        .collectors = cc,
        .n_collectors = sizeof(cc) / sizeof(cc[0]),
        .poll_ms = 1000,
    };
    struct ward_scheduler *s;
    struct ward_buf err = WARD_BUF_INIT;
    assert_int_equal(ward_scheduler_new(&cfg, &s, &err), 0);
    struct ward_batch b;
    ward_batch_init(&b, 10000);
    int64_t now = 1000000;
    for (int round = 1; round <= 40; round++) {
        ward_batch_reset(&b);
        int64_t next = ward_scheduler_run_due(s, now, &b);
        /* Every wake-up is a whole round: the agent's own metrics are in each. */
        assert_int_equal(poll_count(&b), round);
        assert_true(next > now);
        now = next + 7; /* every round runs a little late */
    }
    ward_batch_done(&b);
    ward_scheduler_free(s);
    ward_buf_done(&err);
}

/* Samples of category in b. */
static size_t count_category(const struct ward_batch *b, const char *category)
{
    size_t n = 0;
    for (size_t i = 0; i < ward_batch_count(b); i++) {
        struct ward_batch_sample s;
        ward_batch_get(b, i, &s);
        n += strcmp(s.metric->category, category) == 0;
    }
    return n;
}

static void central_overrides(void **unused)
{
    (void)unused;
    /* cpu on (its default interval), load off, the agent's own metrics on. */
    const struct ward_collector_config cc[] = {
        {"cpu", true, 0},           {"load", false, 0},      {"memory", false, 0},
        {"disk", false, 0},         {"diskio", false, 0},    {"network", false, 0},
        {"wifi", false, 0},         {"processes", false, 0}, {"system", false, 0},
        {"temperature", false, 0},  {"thermal", false, 0},   {"rpi", false, 0},
        {"reachability", false, 0}, {"agent", true, 0},
    };
    struct ward_collect_settings settings = {.top_n = 10, .statvfs_timeout_ms = 1000};
    struct ward_scheduler_config cfg = {
        .root = WARD_SOURCE_ROOT "/tests/fixtures/cpu-a",
        .settings = &settings,
        .collectors = cc,
        .n_collectors = sizeof(cc) / sizeof(cc[0]),
    };
    struct ward_scheduler *s;
    struct ward_buf err = WARD_BUF_INIT, prom = WARD_BUF_INIT;
    assert_int_equal(ward_scheduler_new(&cfg, &s, &err), 0);
    struct ward_batch b;
    ward_batch_init(&b, 10000);
    int64_t now = 1000000;
    ward_scheduler_run_due(s, now, &b);
    assert_true(count_category(&b, "cpu") > 0);

    bool on;
    int64_t interval;
    assert_true(ward_scheduler_knows("cpu"));
    assert_true(ward_scheduler_knows("agent"));
    assert_false(ward_scheduler_knows("cpux"));
    assert_int_equal(ward_scheduler_configure(s, "cpux", 1, 0), -EINVAL);
    assert_int_equal(ward_scheduler_configure(s, "cpu", 1, -1), -EINVAL);
    assert_int_equal(ward_scheduler_setting(s, "cpu", &on, &interval), 0);
    assert_true(on);
    assert_int_equal(interval, 5000);

    /* cpu off: nothing of it in the next round, nor in /metrics. */
    assert_int_equal(ward_scheduler_configure(s, "cpu", 0, 0), 0);
    assert_int_equal(ward_scheduler_setting(s, "cpu", &on, &interval), 0);
    assert_false(on);
    ward_batch_reset(&b);
    now += 5000;
    ward_scheduler_run_due(s, now, &b);
    assert_int_equal(count_category(&b, "cpu"), 0);
    assert_int_equal(ward_scheduler_exposition(s, &prom), 0);
    assert_null(strstr(prom.data, "cpu_usage_percent"));

    /* On again with a shorter interval: it runs in the very next round, then every 2 s. */
    assert_int_equal(ward_scheduler_configure(s, "cpu", -1, 2000), 0);
    ward_batch_reset(&b);
    now += 1;
    int64_t next = ward_scheduler_run_due(s, now, &b);
    assert_true(count_category(&b, "cpu") > 0);
    assert_int_equal(next, now + 2000);

    /* A shorter interval of a running collector brings its next run closer. */
    assert_int_equal(ward_scheduler_configure(s, "cpu", -1, 1000), 0);
    ward_batch_reset(&b);
    next = ward_scheduler_run_due(s, now + 1, &b);
    assert_int_equal(count_category(&b, "cpu"), 0);
    assert_int_equal(next, now + 1 + 1000);

    /* load, off locally, switched on; then the overrides taken away: the local settings. */
    assert_int_equal(ward_scheduler_configure(s, "load", 1, 0), 0);
    assert_int_equal(ward_scheduler_setting(s, "load", &on, &interval), 0);
    assert_true(on);
    assert_int_equal(ward_scheduler_configure(s, "load", -1, 0), 0);
    assert_int_equal(ward_scheduler_configure(s, "cpu", -1, 0), 0);
    assert_int_equal(ward_scheduler_setting(s, "load", &on, &interval), 0);
    assert_false(on);
    assert_int_equal(ward_scheduler_setting(s, "cpu", &on, &interval), 0);
    assert_true(on);
    assert_int_equal(interval, 5000);

    /* The agent's own metrics can be switched off too. */
    assert_int_equal(ward_scheduler_configure(s, "agent", 0, 0), 0);
    ward_batch_reset(&b);
    ward_scheduler_run_all(s, &b);
    assert_int_equal(count_category(&b, "agent"), 0);
    assert_true(count_category(&b, "cpu") > 0);

    ward_buf_done(&prom);
    ward_batch_done(&b);
    ward_scheduler_free(s);
    ward_buf_done(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(late_rounds_stay_together),
        cmocka_unit_test(central_overrides),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
