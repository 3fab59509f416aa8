/*
 * Tests for time-util: the clocks, RFC 3339 formatting (checked against
 * fixed values and against gmtime_r over the whole supported range) and the
 * strict RFC 3339 / Unix-milliseconds parsers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/error.h"
#include "common/time-util.h"

#define MIN_MS (INT64_C(-62167219200000)) /* 0000-01-01T00:00:00.000Z */
#define MAX_MS (INT64_C(253402300799999)) /* 9999-12-31T23:59:59.999Z */

static void assert_format(int64_t ms, const char *want)
{
    char out[WARD_RFC3339_LEN];
    memset(out, 'x', sizeof(out));
    size_t n = ward_time_format_rfc3339(ms, out);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void test_format_known(void **state)
{
    (void)state;
    assert_format(0, "1970-01-01T00:00:00.000Z");
    assert_format(1, "1970-01-01T00:00:00.001Z");
    assert_format(-1, "1969-12-31T23:59:59.999Z");
    assert_format(-1000, "1969-12-31T23:59:59.000Z");
    assert_format(-1001, "1969-12-31T23:59:58.999Z");
    assert_format(INT64_C(1763632800123), "2025-11-20T10:00:00.123Z");
    assert_format(INT64_C(1709251199000), "2024-02-29T23:59:59.000Z");
    assert_format(INT64_C(1709251200000), "2024-03-01T00:00:00.000Z");
    assert_format(INT64_C(-2203891200000), "1900-03-01T00:00:00.000Z");
    assert_format(INT64_C(-2203891200001), "1900-02-28T23:59:59.999Z");
    assert_format(INT64_C(951782400000), "2000-02-29T00:00:00.000Z");
    assert_format(INT64_C(-62135596800000), "0001-01-01T00:00:00.000Z");
    assert_format(MIN_MS, "0000-01-01T00:00:00.000Z");
    assert_format(MAX_MS, "9999-12-31T23:59:59.999Z");
}

static void test_format_out_of_range(void **state)
{
    (void)state;
    assert_format(MIN_MS - 1, "");
    assert_format(MAX_MS + 1, "");
    assert_format(INT64_MIN, "");
    assert_format(INT64_MAX, "");
}

/* Compares against the C library over random instants of the whole range. */
static void test_format_matches_gmtime(void **state)
{
    (void)state;
    srand(12345);
    for (int i = 0; i < 200000; i++) {
        uint64_t r = (uint64_t)rand() << 31 ^ (uint64_t)rand() << 15 ^ (uint64_t)rand();
        int64_t ms = MIN_MS + (int64_t)(r % (uint64_t)(MAX_MS - MIN_MS + 1));
        if (i < 2000)
            ms = (int64_t)(i - 1000) * 86400000 + i; /* densely around the epoch */
        int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
        int frac = (int)(ms - secs * 1000);
        time_t t = (time_t)secs;
        struct tm tm;
        assert_non_null(gmtime_r(&t, &tm));
        char want[64];
        snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
        char got[WARD_RFC3339_LEN];
        ward_time_format_rfc3339(ms, got);
        assert_string_equal(got, want);

        int64_t back = 0;
        assert_int_equal(ward_time_parse_rfc3339(got, strlen(got), &back), 0);
        assert_int_equal(back, ms);
    }
}

static int64_t parse_ok(const char *s)
{
    int64_t ms = 42;
    int r = ward_time_parse_rfc3339(s, strlen(s), &ms);
    if (r != 0)
        fail_msg("rejected valid timestamp \"%s\": %d", s, r);
    return ms;
}

static void parse_bad(const char *s)
{
    int64_t ms = 42;
    int r = ward_time_parse_rfc3339(s, strlen(s), &ms);
    if (r != WARD_E_PARSE)
        fail_msg("accepted invalid timestamp \"%s\" (%d)", s, r);
    assert_int_equal(ms, 42); /* untouched on failure */
}

static void test_parse_valid(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2025-11-20T10:00:00Z"), INT64_C(1763632800000));
    assert_int_equal(parse_ok("2025-11-20t10:00:00z"), INT64_C(1763632800000));
    assert_int_equal(parse_ok("2025-11-20 10:00:00Z"), INT64_C(1763632800000));
    assert_int_equal(parse_ok("2025-11-20T10:00:00.123Z"), INT64_C(1763632800123));
    assert_int_equal(parse_ok("2025-11-20T10:00:00.1Z"), INT64_C(1763632800100));
    assert_int_equal(parse_ok("2025-11-20T10:00:00.12Z"), INT64_C(1763632800120));
    /* Digits past milliseconds are truncated, not rounded. */
    assert_int_equal(parse_ok("2025-11-20T10:00:00.999999999Z"), INT64_C(1763632800999));
    assert_int_equal(parse_ok("2025-11-20T10:00:00.0009Z"), INT64_C(1763632800000));
    assert_int_equal(parse_ok("2025-11-20T12:00:00+02:00"), INT64_C(1763632800000));
    assert_int_equal(parse_ok("2025-11-20T04:30:00-05:30"), INT64_C(1763632800000));
    assert_int_equal(parse_ok("2025-11-20T10:00:00-00:00"), INT64_C(1763632800000));
    assert_int_equal(parse_ok("2025-11-20T10:00:00+00:00"), INT64_C(1763632800000));
    /* An offset can move the instant into another day, month and year. */
    assert_int_equal(parse_ok("2000-01-01T00:30:00+01:00"), INT64_C(946683000000));
    assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(parse_ok("1969-12-31T23:59:59.999Z"), -1);
    assert_int_equal(parse_ok("2024-02-29T23:59:59Z"), INT64_C(1709251199000));
    assert_int_equal(parse_ok("2000-02-29T00:00:00Z"), INT64_C(951782400000));
    assert_int_equal(parse_ok("0000-01-01T00:00:00Z"), MIN_MS);
    assert_int_equal(parse_ok("9999-12-31T23:59:59.999Z"), MAX_MS);
    /* A leap second is clamped to the last millisecond of its minute. */
    assert_int_equal(parse_ok("2016-12-31T23:59:60Z"), INT64_C(1483228799999));
    assert_int_equal(parse_ok("2016-12-31T23:59:60.5Z"), INT64_C(1483228799999));
    assert_int_equal(parse_ok("2016-12-31T23:59:60+00:00"), INT64_C(1483228799999));
}

static void test_parse_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "2025",
        "2025-11-20",
        "2025-11-20T10:00",
        "2025-11-20T10:00:00",       /* no zone */
        "2025-11-20T10:00:00ZZ",     /* trailing junk */
        "2025-11-20T10:00:00Z ",     /* trailing space */
        " 2025-11-20T10:00:00Z",     /* leading space */
        "2025-11-20T10:00:00.Z",     /* dot without digits */
        "2025-11-20T10:00:00,5Z",    /* comma fraction */
        "2025-11-20X10:00:00Z",      /* bad separator */
        "2025-11-20T10:00:00+02",    /* short offset */
        "2025-11-20T10:00:00+0200",  /* offset without colon */
        "2025-11-20T10:00:00+24:00", /* offset hour */
        "2025-11-20T10:00:00+02:60", /* offset minute */
        "2025-13-20T10:00:00Z",      /* month */
        "2025-00-20T10:00:00Z",      /* month */
        "2025-11-00T10:00:00Z",      /* day */
        "2025-11-31T10:00:00Z",      /* November has 30 days */
        "2025-01-32T10:00:00Z",      /* day */
        "2023-02-29T10:00:00Z",      /* not a leap year */
        "1900-02-29T10:00:00Z",      /* century, not a leap year */
        "2025-11-20T24:00:00Z",      /* hour */
        "2025-11-20T10:60:00Z",      /* minute */
        "2025-11-20T10:00:61Z",      /* second */
        "25-11-20T10:00:00Z",        /* two-digit year */
        "12025-11-20T10:00:00Z",     /* five-digit year */
        "-2025-11-20T10:00:00Z",     /* signed year */
        "2025-1-20T10:00:00Z",       /* one-digit month */
        "2025-11-20T1:00:00Z",       /* one-digit hour */
        "2025/11/20T10:00:00Z",      /* wrong date separator */
        "2025-11-20T10-00-00Z",      /* wrong time separator */
        "2025-11-2OT10:00:00Z",      /* letter O */
        "1763632800000",             /* plain milliseconds are not RFC 3339 */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        parse_bad(bad[i]);
}

static void test_parse_respects_len(void **state)
{
    (void)state;
    const char *s = "2025-11-20T10:00:00Zjunk";
    int64_t ms = 0;
    assert_int_equal(ward_time_parse_rfc3339(s, 20, &ms), 0);
    assert_int_equal(ms, INT64_C(1763632800000));
    /* One byte short loses the zone; one more includes junk. */
    assert_int_equal(ward_time_parse_rfc3339(s, 19, &ms), WARD_E_PARSE);
    assert_int_equal(ward_time_parse_rfc3339(s, 21, &ms), WARD_E_PARSE);
    /* An embedded NUL is not a digit. */
    const char nul[] = "2025-11-20T10:00\0:00Z";
    assert_int_equal(ward_time_parse_rfc3339(nul, sizeof(nul) - 1, &ms), WARD_E_PARSE);
    assert_int_equal(ward_time_parse_rfc3339(s, 0, &ms), WARD_E_PARSE);
    assert_int_equal(ward_time_parse_rfc3339(NULL, 0, &ms), WARD_E_PARSE);
}

static void test_time_parse_either(void **state)
{
    (void)state;
    int64_t ms = 7;
    assert_int_equal(ward_time_parse("1763632800123", &ms), 0);
    assert_int_equal(ms, INT64_C(1763632800123));
    assert_int_equal(ward_time_parse("0", &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(ward_time_parse("-5", &ms), 0);
    assert_int_equal(ms, -5);
    assert_int_equal(ward_time_parse("2025-11-20T10:00:00.5+01:00", &ms), 0);
    assert_int_equal(ms, INT64_C(1763632800500) - 3600000);

    ms = 7;
    static const char *const bad[] = {
        "",    "-",
        "12a", "1.5",
        " 12", "12 ",
        "+12", "99999999999999999999",
        "now", "2025-11-20T10:00:00",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ward_time_parse(bad[i], &ms) != WARD_E_PARSE)
            fail_msg("accepted \"%s\"", bad[i]);
    }
    assert_int_equal(ms, 7);
    assert_int_equal(ward_time_parse(NULL, &ms), WARD_E_PARSE);
}

static void test_clocks(void **state)
{
    (void)state;
    int64_t wall = ward_now_ms();
    int64_t sys = (int64_t)time(NULL) * 1000;
    assert_true(wall >= sys - 2000 && wall <= sys + 2000);

    int64_t m1 = ward_mono_ms();
    int64_t n1 = ward_mono_ns();
    struct timespec nap = {.tv_nsec = 20 * 1000 * 1000};
    nanosleep(&nap, NULL);
    int64_t m2 = ward_mono_ms();
    int64_t n2 = ward_mono_ns();
    assert_true(m2 - m1 >= 19);
    assert_true(n2 - n1 >= 20 * 1000 * 1000);
    /* Both monotonic readers use the same clock. */
    assert_true(n2 / 1000000 - m2 >= -1 && n2 / 1000000 - m2 <= 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_known),          cmocka_unit_test(test_format_out_of_range),
        cmocka_unit_test(test_format_matches_gmtime), cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_invalid),         cmocka_unit_test(test_parse_respects_len),
        cmocka_unit_test(test_time_parse_either),     cmocka_unit_test(test_clocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
