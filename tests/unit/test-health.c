/*
 * Tests of the agent's health set: the worst level wins, clearing a
 * condition restores the status, "since" moves only when the status changes,
 * and the JSON names every condition.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "agent/health.h"

static void worst_level_wins(void **unused)
{
    (void)unused;
    struct ward_health *h = ward_health_new();
    assert_non_null(h);
    assert_int_equal(ward_health_level(h), WARD_HEALTH_OK);
    ward_health_set(h, "upload", WARD_HEALTH_DEGRADED, "refused", 1000);
    assert_int_equal(ward_health_level(h), WARD_HEALTH_DEGRADED);
    ward_health_set(h, "collector:disk", WARD_HEALTH_ERROR, "EIO", 2000);
    assert_int_equal(ward_health_level(h), WARD_HEALTH_ERROR);
    ward_health_set(h, "collector:disk", WARD_HEALTH_OK, NULL, 3000);
    assert_int_equal(ward_health_level(h), WARD_HEALTH_DEGRADED);
    ward_health_set(h, "upload", WARD_HEALTH_OK, NULL, 4000);
    assert_int_equal(ward_health_level(h), WARD_HEALTH_OK);
    ward_health_free(h);
}

static void json_lists_conditions(void **unused)
{
    (void)unused;
    struct ward_health *h = ward_health_new();
    ward_health_set(h, "upload", WARD_HEALTH_DEGRADED, "a \"quoted\" reason", 1700000000000);
    ward_health_set(h, "upload", WARD_HEALTH_DEGRADED, "still failing", 1700000005000);
    struct ward_buf out = WARD_BUF_INIT;
    enum ward_health_level level = WARD_HEALTH_OK;
    assert_int_equal(ward_health_json(h, &out, &level), 0);
    assert_int_equal(level, WARD_HEALTH_DEGRADED);
    assert_string_equal(out.data,
                        "{\"status\":\"degraded\",\"since\":\"2023-11-14T22:13:20.000Z\","
                        "\"reasons\":[{\"check\":\"upload\",\"level\":\"degraded\",\"reason\":"
                        "\"still failing\",\"since\":\"2023-11-14T22:13:20.000Z\"}]}");
    ward_buf_done(&out);
    ward_health_free(h);
}

static void many_conditions_stay_bounded(void **unused)
{
    (void)unused;
    struct ward_health *h = ward_health_new();
    char key[32];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "check-%d", i);
        ward_health_set(h, key, WARD_HEALTH_DEGRADED, "x", i);
    }
    assert_int_equal(ward_health_level(h), WARD_HEALTH_DEGRADED);
    struct ward_buf out = WARD_BUF_INIT;
    assert_int_equal(ward_health_json(h, &out, NULL), 0);
    assert_non_null(strstr(out.data, "more conditions than can be listed"));
    ward_buf_done(&out);
    ward_health_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(worst_level_wins),
        cmocka_unit_test(json_lists_conditions),
        cmocka_unit_test(many_conditions_stay_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
