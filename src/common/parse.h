/*
 * Checked parsers for numbers, durations and booleans.
 *
 * These replace atoi() and friends: the whole string must be consumed,
 * overflow is an error, and the output is written only on success.
 */
#ifndef WARD_PARSE_H
#define WARD_PARSE_H

#include <stdbool.h>
#include <stdint.h>

/* Parses a base-10 signed integer. Returns 0, -EINVAL or -ERANGE. */
int ward_parse_int64(const char *s, int64_t *out);

/* Parses a base-10 integer within [min, max]. Returns 0, -EINVAL or -ERANGE. */
int ward_parse_int_range(const char *s, int64_t min, int64_t max, int64_t *out);

/* Parses a finite double. Returns 0, -EINVAL or -ERANGE. */
int ward_parse_double(const char *s, double *out);

/*
 * Parses a duration into milliseconds: a plain number means seconds (as the
 * golectra flags do); suffixes ms, s, m, h and d are accepted ("1.5s", "5m").
 * Returns 0, -EINVAL or -ERANGE.
 */
int ward_parse_duration_ms(const char *s, int64_t *out);

/* Parses true/false, yes/no, on/off, 1/0 (case-insensitive). Returns 0 or -EINVAL. */
int ward_parse_bool(const char *s, bool *out);

#endif
