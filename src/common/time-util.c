/*
 * Clocks and RFC 3339 timestamps.
 *
 * Conversions go through a day count: a civil date maps to days since
 * 1970-01-01 with a closed formula over 400-year Gregorian cycles (the
 * calendar repeats exactly every 146097 days), and back. This is exact for
 * negative times, needs no tables, and does not depend on the locale, the TZ
 * variable or the range of time_t the way gmtime/timegm do. Formatting writes
 * digits by hand because log lines format a timestamp each.
 *
 * The parser is strict on purpose: timestamps arrive from agents and query
 * strings, and a silently misread date is worse than a 400 response.
 */
#include "common/time-util.h"

#include "common/error.h"
#include "common/parse.h"

#include <stdbool.h>
#include <string.h>
#include <time.h>

#define MS_PER_DAY     INT64_C(86400000)
#define DAYS_PER_ERA   146097 /* days in 400 Gregorian years */
#define EPOCH_FROM_0M1 719468 /* days from 0000-03-01 to 1970-01-01 */

/* The formatter's range: 0000-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z. */
#define MIN_MS (INT64_C(-62167219200000))
#define MAX_MS (INT64_C(253402300799999))

static int64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    /* Cannot fail for these clock ids on Linux. */
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t ward_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ward_mono_ms(void)
{
    return clock_ns(CLOCK_MONOTONIC) / 1000000;
}

int64_t ward_mono_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

/* Division rounding towards negative infinity (b > 0). */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b < 0) ? q - 1 : q;
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
    static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

/*
 * Days since 1970-01-01 of a proleptic Gregorian date. Counting years from
 * March puts the leap day last, so the day of the year follows from the
 * month by a linear formula: the month lengths from March on repeat the
 * pattern 31 30 31 30 31, which (153 * mp + 2) / 5 reproduces.
 */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    if (m <= 2)
        y -= 1;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;                         /* [0, 399] */
    int64_t mp = (m + 9) % 12;                           /* March = 0 */
    int64_t doy = (153 * mp + 2) / 5 + d - 1;            /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; /* [0, 146096] */
    return era * DAYS_PER_ERA + doe - EPOCH_FROM_0M1;
}

/* The inverse of days_from_civil(). */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += EPOCH_FROM_0M1;
    int64_t era = floor_div(z, DAYS_PER_ERA);
    int64_t doe = z - era * DAYS_PER_ERA;
    /* Undo the leap-day corrections to find the year within the era. */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static char *put_digits(char *p, int64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

size_t ward_time_format_rfc3339(int64_t ms, char out[WARD_RFC3339_LEN])
{
    if (ms < MIN_MS || ms > MAX_MS) {
        out[0] = '\0';
        return 0;
    }
    int64_t days = floor_div(ms, MS_PER_DAY);
    int64_t rem = ms - days * MS_PER_DAY; /* [0, MS_PER_DAY) */
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);

    char *p = out;
    p = put_digits(p, y, 4);
    *p++ = '-';
    p = put_digits(p, m, 2);
    *p++ = '-';
    p = put_digits(p, d, 2);
    *p++ = 'T';
    p = put_digits(p, rem / 3600000, 2);
    *p++ = ':';
    p = put_digits(p, rem / 60000 % 60, 2);
    *p++ = ':';
    p = put_digits(p, rem / 1000 % 60, 2);
    *p++ = '.';
    p = put_digits(p, rem % 1000, 3);
    *p++ = 'Z';
    *p = '\0';
    return (size_t)(p - out);
}

/* Reads exactly n decimal digits at s[*i]. */
static bool get_digits(const char *s, size_t len, size_t *i, int n, int *out)
{
    if (len - *i < (size_t)n)
        return false;
    int v = 0;
    for (int k = 0; k < n; k++) {
        char c = s[*i + (size_t)k];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *i += (size_t)n;
    *out = v;
    return true;
}

static bool get_char(const char *s, size_t len, size_t *i, char c)
{
    if (*i >= len || s[*i] != c)
        return false;
    (*i)++;
    return true;
}

int ward_time_parse_rfc3339(const char *s, size_t len, int64_t *ms)
{
    size_t i = 0;
    int year = 0, mon = 0, day = 0, hour = 0, min = 0, sec = 0, frac = 0;

    if (!s || !get_digits(s, len, &i, 4, &year) || !get_char(s, len, &i, '-') ||
        !get_digits(s, len, &i, 2, &mon) || !get_char(s, len, &i, '-') ||
        !get_digits(s, len, &i, 2, &day))
        return WARD_E_PARSE;
    if (i >= len || (s[i] != 'T' && s[i] != 't' && s[i] != ' '))
        return WARD_E_PARSE;
    i++;
    if (!get_digits(s, len, &i, 2, &hour) || !get_char(s, len, &i, ':') ||
        !get_digits(s, len, &i, 2, &min) || !get_char(s, len, &i, ':') ||
        !get_digits(s, len, &i, 2, &sec))
        return WARD_E_PARSE;

    if (i < len && s[i] == '.') {
        i++;
        size_t start = i;
        int scale = 100;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            frac += (s[i] - '0') * scale;
            scale /= 10;
            i++;
        }
        if (i == start)
            return WARD_E_PARSE;
    }

    int offset_min = 0;
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        int sign = s[i] == '-' ? -1 : 1;
        int oh, om;
        i++;
        if (!get_digits(s, len, &i, 2, &oh) || !get_char(s, len, &i, ':') ||
            !get_digits(s, len, &i, 2, &om) || oh > 23 || om > 59)
            return WARD_E_PARSE;
        offset_min = sign * (oh * 60 + om);
    } else {
        return WARD_E_PARSE;
    }
    if (i != len)
        return WARD_E_PARSE;

    if (mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon) || hour > 23 || min > 59 ||
        sec > 60)
        return WARD_E_PARSE;
    if (sec == 60) {
        sec = 59;
        frac = 999;
    }

    int64_t days = days_from_civil(year, mon, day);
    int64_t secs = days * 86400 + hour * 3600 + min * 60 + sec - (int64_t)offset_min * 60;
    *ms = secs * 1000 + frac;
    return 0;
}

int ward_time_parse(const char *s, int64_t *ms)
{
    if (!s || !*s)
        return WARD_E_PARSE;
    size_t len = strlen(s);
    size_t digits = strspn(s + (s[0] == '-'), "0123456789");
    if (digits > 0 && digits + (s[0] == '-') == len) {
        int64_t v;
        if (ward_parse_int64(s, &v) < 0)
            return WARD_E_PARSE;
        *ms = v;
        return 0;
    }
    return ward_time_parse_rfc3339(s, len, ms);
}
