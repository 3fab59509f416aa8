/*
 * Tests of the collector scheduler's timing: runners keep to a fixed grid,
 * so however late the rounds run, collectors with the same interval share
 * every round, and a collector whose hardware is absent (checked every ten
 * intervals) never makes a round of its own.
 */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(late_rounds_stay_together),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
