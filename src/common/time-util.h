/*
 * Clocks and RFC 3339 timestamps.
 *
 * Timestamps are int64_t milliseconds since the Unix epoch, UTC, everywhere
 * in ward: samples, API parameters, log lines. This module reads the clocks
 * and converts between that representation and RFC 3339 text without
 * touching the locale or the TZ environment.
 */
#ifndef WARD_TIME_UTIL_H
#define WARD_TIME_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Size of a buffer that holds any formatted timestamp plus its NUL. */
#define WARD_RFC3339_LEN 32

/* Milliseconds since the Unix epoch by CLOCK_REALTIME (wall clock; may jump). */
int64_t ward_now_ms(void);

/* Milliseconds by CLOCK_MONOTONIC, for intervals and deadlines. */
int64_t ward_mono_ms(void);

/* Nanoseconds by CLOCK_MONOTONIC, for intervals and deadlines. */
int64_t ward_mono_ns(void);

/*
 * Formats ms (Unix epoch milliseconds) as "YYYY-MM-DDTHH:MM:SS.mmmZ" in UTC,
 * always with three fractional digits. Times before 1970 are handled; the
 * supported range is years 0000 to 9999. Returns the length written (24),
 * or 0 with out set to "" when ms lies outside that range.
 */
size_t ward_time_format_rfc3339(int64_t ms, char out[WARD_RFC3339_LEN]);

/*
 * Parses exactly len bytes of s as an RFC 3339 date-time:
 * "YYYY-MM-DD" 'T'|'t'|' ' "hh:mm:ss" ["." 1*DIGIT] ('Z'|'z'|('+'|'-') "hh:mm").
 * Every field is range-checked (day against the month, leap years included;
 * offsets up to 23:59). Fractional digits beyond milliseconds are truncated.
 * A leap second (ss = 60) is accepted in any minute and clamped to ss = 59.999,
 * since Unix time cannot represent it. s need not be NUL-terminated.
 * Returns 0 and sets *ms, or WARD_E_PARSE (*ms untouched).
 */
int ward_time_parse_rfc3339(const char *s, size_t len, int64_t *ms);

/*
 * Parses a NUL-terminated timestamp given either as a base-10 integer of
 * Unix milliseconds (optionally negative) or as RFC 3339 (see above), as the
 * query parameters `from` and `to` allow. Returns 0 and sets *ms, or
 * WARD_E_PARSE (*ms untouched).
 */
int ward_time_parse(const char *s, int64_t *ms);

#endif
