/*
 * UUIDs in canonical text form.
 *
 * ward identifies hosts, commands and batches by UUIDv7 (RFC 9562): the
 * leading 48 bits are the creation time in Unix milliseconds, so ids sort by
 * creation time as text and as bytes, which keeps database indexes compact.
 */
#ifndef WARD_UUID_H
#define WARD_UUID_H

#include <stdbool.h>

/* 36 characters of 8-4-4-4-12 hex plus the NUL. */
#define WARD_UUID_STR_LEN 37

/*
 * Writes a new UUIDv7 in lowercase canonical form to out. Within a process,
 * successive ids compare strictly greater (with strcmp) than earlier ones,
 * even when many are made in the same millisecond or the wall clock steps
 * back: a 12-bit counter in rand_a (RFC 9562 section 6.2, method 1) orders
 * ids within a millisecond, and the timestamp never goes backwards. The
 * remaining 62 bits are random. Thread-safe.
 * Returns 0, or -EIO if no random bytes could be had (out untouched).
 */
int ward_uuid_v7(char out[WARD_UUID_STR_LEN]);

/*
 * Returns true when s (NUL-terminated, NULL allowed) is exactly a canonical
 * UUID: 36 characters, hex digits of either case grouped 8-4-4-4-12 by
 * hyphens. Any version and variant is accepted.
 */
bool ward_uuid_valid(const char *s);

/*
 * Copies a valid UUID (see ward_uuid_valid) to out in lowercase, the form in
 * which ward stores and compares ids. Returns 0, or WARD_E_PARSE if in is
 * not a valid UUID (out untouched). in and out may be the same buffer.
 */
int ward_uuid_normalize(const char *in, char out[WARD_UUID_STR_LEN]);

#endif
