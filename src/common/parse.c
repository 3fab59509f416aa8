/*
 * Checked parsers for numbers, durations and booleans.
 *
 * Built on strtoll/strtod with the checks they leave to the caller: empty
 * input, trailing junk, leading whitespace, overflow and non-finite values.
 */
#include "common/parse.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int ward_parse_int64(const char *s, int64_t *out)
{
    if (!s || !*s || isspace((unsigned char)*s))
        return -EINVAL;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno == ERANGE)
        return -ERANGE;
    if (end == s || *end)
        return -EINVAL;
    *out = v;
    return 0;
}

int ward_parse_int_range(const char *s, int64_t min, int64_t max, int64_t *out)
{
    int64_t v;
    int r = ward_parse_int64(s, &v);
    if (r < 0)
        return r;
    if (v < min || v > max)
        return -ERANGE;
    *out = v;
    return 0;
}

/* strtod() also reads hex floats; ward's inputs are decimal only. */
static bool decimal(const char *s)
{
    return !strchr(s, 'x') && !strchr(s, 'X');
}

/*
 * strtod() sets ERANGE on underflow too, but a subnormal or zero result is
 * a fine value; only overflow to infinity is out of range.
 */
static bool overflowed(double v)
{
    return errno == ERANGE && isinf(v);
}

int ward_parse_double(const char *s, double *out)
{
    if (!s || !*s || isspace((unsigned char)*s) || !decimal(s))
        return -EINVAL;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end)
        return -EINVAL;
    if (overflowed(v) || !isfinite(v))
        return -ERANGE;
    *out = v;
    return 0;
}

int ward_parse_duration_ms(const char *s, int64_t *out)
{
    static const struct {
        const char *suffix;
        double ms;
    } units[] = {
        {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
    };
    if (!s || !*s || isspace((unsigned char)*s) || !decimal(s))
        return -EINVAL;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || overflowed(v) || !isfinite(v) || v < 0)
        return end == s ? -EINVAL : -ERANGE;
    double mult = 1000;
    if (*end) {
        mult = 0;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
            if (strcmp(end, units[i].suffix) == 0)
                mult = units[i].ms;
        if (mult == 0)
            return -EINVAL;
    }
    double ms = v * mult;
    if (ms > 9.0e15)
        return -ERANGE;
    *out = (int64_t)llround(ms);
    return 0;
}

int ward_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    if (!s)
        return -EINVAL;
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -EINVAL;
}
