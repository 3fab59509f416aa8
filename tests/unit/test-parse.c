/*
 * Tests for the checked parsers: valid input, junk, whitespace, overflow and
 * bounds for integers and doubles, every duration unit, and booleans. Each
 * failure case also checks that the output was not written.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/parse.h"

#define UNTOUCHED INT64_C(-777)
#define SHOW(s)   ((s) ? (s) : "(null)")

static void int_ok(const char *s, int64_t want)
{
    int64_t v = UNTOUCHED;
    int r = ward_parse_int64(s, &v);
    if (r != 0 || v != want)
        fail_msg("int64 \"%s\": r=%d v=%lld, want %lld", SHOW(s), r, (long long)v, (long long)want);
}

static void int_bad(const char *s, int err)
{
    int64_t v = UNTOUCHED;
    int r = ward_parse_int64(s, &v);
    if (r != err || v != UNTOUCHED)
        fail_msg("int64 \"%s\": r=%d v=%lld, want error %d", SHOW(s), r, (long long)v, err);
}

static void test_int64(void **state)
{
    (void)state;
    int_ok("0", 0);
    int_ok("-0", 0);
    int_ok("42", 42);
    int_ok("+42", 42);
    int_ok("-42", -42);
    int_ok("007", 7); /* base 10, not octal */
    int_ok("9223372036854775807", INT64_MAX);
    int_ok("-9223372036854775808", INT64_MIN);

    int_bad("9223372036854775808", -ERANGE);
    int_bad("-9223372036854775809", -ERANGE);
    int_bad("99999999999999999999999", -ERANGE);
    int_bad("", -EINVAL);
    int_bad(NULL, -EINVAL);
    int_bad("-", -EINVAL);
    int_bad("+", -EINVAL);
    int_bad("abc", -EINVAL);
    int_bad("12abc", -EINVAL);
    int_bad("0x10", -EINVAL);
    int_bad("1e3", -EINVAL);
    int_bad("1.0", -EINVAL);
    int_bad(" 1", -EINVAL);
    int_bad("1 ", -EINVAL);
    int_bad("\t1", -EINVAL);
    int_bad("1\n", -EINVAL);
    int_bad("--1", -EINVAL);
}

static void test_int_range(void **state)
{
    (void)state;
    int64_t v = UNTOUCHED;
    assert_int_equal(ward_parse_int_range("1", 1, 65535, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(ward_parse_int_range("65535", 1, 65535, &v), 0);
    assert_int_equal(v, 65535);
    assert_int_equal(ward_parse_int_range("-5", -10, -1, &v), 0);
    assert_int_equal(v, -5);

    v = UNTOUCHED;
    assert_int_equal(ward_parse_int_range("0", 1, 65535, &v), -ERANGE);
    assert_int_equal(ward_parse_int_range("65536", 1, 65535, &v), -ERANGE);
    assert_int_equal(ward_parse_int_range("-1", 0, 10, &v), -ERANGE);
    assert_int_equal(ward_parse_int_range("99999999999999999999", 0, 10, &v), -ERANGE);
    assert_int_equal(ward_parse_int_range("8080x", 1, 65535, &v), -EINVAL);
    assert_int_equal(ward_parse_int_range("", 1, 65535, &v), -EINVAL);
    assert_int_equal(v, UNTOUCHED);

    assert_int_equal(ward_parse_int_range("-9223372036854775808", INT64_MIN, INT64_MAX, &v), 0);
    assert_int_equal(v, INT64_MIN);
}

static void double_ok(const char *s, double want)
{
    double v = -777.0;
    int r = ward_parse_double(s, &v);
    if (r != 0 || v != want)
        fail_msg("double \"%s\": r=%d v=%.17g, want %.17g", SHOW(s), r, v, want);
}

static void double_bad(const char *s, int err)
{
    double v = -777.0;
    int r = ward_parse_double(s, &v);
    if (r != err || v != -777.0)
        fail_msg("double \"%s\": r=%d v=%.17g, want error %d", SHOW(s), r, v, err);
}

static void test_double(void **state)
{
    (void)state;
    double_ok("0", 0.0);
    double_ok("1.5", 1.5);
    double_ok("-1.5", -1.5);
    double_ok("+2", 2.0);
    double_ok(".5", 0.5);
    double_ok("5.", 5.0);
    double_ok("1e3", 1000.0);
    double_ok("1E-3", 0.001);
    double_ok("123456789.125", 123456789.125);
    double_ok("1.7976931348623157e308", DBL_MAX);
    double_ok("-1.7976931348623157e308", -DBL_MAX);
    double_ok("2.2250738585072014e-308", DBL_MIN);

    double_bad("1e309", -ERANGE);
    double_bad("-1e309", -ERANGE);
    double_bad("inf", -ERANGE);
    double_bad("-infinity", -ERANGE);
    double_bad("nan", -ERANGE);
    double_bad("", -EINVAL);
    double_bad(NULL, -EINVAL);
    double_bad("abc", -EINVAL);
    double_bad("1.5x", -EINVAL);
    double_bad("1,5", -EINVAL);
    double_bad(".", -EINVAL);
    double_bad("-", -EINVAL);
    double_bad("e5", -EINVAL);
    double_bad(" 1.5", -EINVAL);
    double_bad("1.5 ", -EINVAL);
}

/*
 * Subnormal numbers are finite doubles and valid JSON/metric values, but
 * strtod reports ERANGE for them (underflow), and ward_parse_double turns
 * that into -ERANGE. Only overflow should be an error: an underflowing value
 * is representable (or rounds to zero).
 */
static void test_double_subnormal(void **state)
{
    (void)state;
    double_ok("1e-310", 1e-310);
    double_ok("4.9406564584124654e-324", 4.9406564584124654e-324);
    double_ok("-2.5e-320", -2.5e-320);
}

static void dur_ok(const char *s, int64_t want)
{
    int64_t v = UNTOUCHED;
    int r = ward_parse_duration_ms(s, &v);
    if (r != 0 || v != want)
        fail_msg("duration \"%s\": r=%d v=%lld, want %lld", SHOW(s), r, (long long)v,
                 (long long)want);
}

static void dur_bad(const char *s, int err)
{
    int64_t v = UNTOUCHED;
    int r = ward_parse_duration_ms(s, &v);
    if (r != err || v != UNTOUCHED)
        fail_msg("duration \"%s\": r=%d v=%lld, want error %d", SHOW(s), r, (long long)v, err);
}

static void test_duration(void **state)
{
    (void)state;
    dur_ok("10", 10000); /* a plain number is seconds */
    dur_ok("0", 0);
    dur_ok("1.5", 1500);
    dur_ok("1.5s", 1500);
    dur_ok("250ms", 250);
    dur_ok("5m", 300000);
    dur_ok("2h", 7200000);
    dur_ok("1d", 86400000);
    dur_ok("0.5ms", 1); /* rounded to the nearest millisecond */
    dur_ok("0.4ms", 0);
    dur_ok(".25s", 250);
    dur_ok("1e3ms", 1000);
    /* Durations are capped at 9e15 ms (about 285000 years), safely inside int64_t. */
    dur_ok("9000000000000000ms", INT64_C(9000000000000000));
    dur_ok("104166666d", INT64_C(104166666) * 86400000);

    dur_bad("-1", -ERANGE);
    dur_bad("-1s", -ERANGE);
    dur_bad("1e400", -ERANGE);
    dur_bad("9000000000000001ms", -ERANGE);
    dur_bad("104166667d", -ERANGE);
    dur_bad("inf", -ERANGE);
    dur_bad("nan", -ERANGE);
    dur_bad("10x", -EINVAL);
    dur_bad("10S", -EINVAL); /* units are lower case */
    dur_bad("10 s", -EINVAL);
    dur_bad("10s ", -EINVAL);
    dur_bad(" 10s", -EINVAL);
    dur_bad("10sec", -EINVAL);
    dur_bad("10msx", -EINVAL);
    dur_bad("1h30m", -EINVAL); /* compound durations are not supported */
    dur_bad("s", -EINVAL);
    dur_bad("ms", -EINVAL);
    dur_bad("", -EINVAL);
    dur_bad(NULL, -EINVAL);
}

static void test_bool(void **state)
{
    (void)state;
    static const char *const yes[] = {"1", "true", "TRUE", "True", "yes", "YES", "on", "On"};
    static const char *const no[] = {"0", "false", "FALSE", "no", "No", "off", "OFF"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        bool v = false;
        assert_int_equal(ward_parse_bool(yes[i], &v), 0);
        assert_true(v);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        bool v = true;
        assert_int_equal(ward_parse_bool(no[i], &v), 0);
        assert_false(v);
    }
    static const char *const bad[] = {"",       "2",     "-1",    "y",     "n",    "t", "f",
                                      "enable", "true ", " true", "truex", "yess", "01"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        bool v = true;
        if (ward_parse_bool(bad[i], &v) != -EINVAL || v != true)
            fail_msg("bool accepted \"%s\"", bad[i]);
    }
    bool v = false;
    assert_int_equal(ward_parse_bool(NULL, &v), -EINVAL);
    assert_false(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int64),    cmocka_unit_test(test_int_range),
        cmocka_unit_test(test_double),   cmocka_unit_test(test_double_subnormal),
        cmocka_unit_test(test_duration), cmocka_unit_test(test_bool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
