/*
 * Shared by the two source files of the test-json binary.
 *
 * test-json.c holds the rule-by-rule tests, their helpers and main();
 * test-json-diff.c holds the differential and property tests. The helpers
 * below are defined in test-json.c and used by both; each fails the running
 * test through cmocka instead of returning an error.
 */
#ifndef WARD_TEST_JSON_H
#define WARD_TEST_JSON_H

#include "common/buf.h"
#include "common/json.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The bit pattern of d, so that comparisons tell 0.0 from -0.0. */
static inline uint64_t bits_of(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof(u));
    return u;
}

/*
 * Reads the NUL-terminated doc with default limits and fails the test unless
 * reading stops with error code at byte offset.
 */
void check_error(const char *doc, int code, size_t offset);

/*
 * Reads doc, which must be a single number and nothing else, and returns its
 * token (WARD_JSON_INT or WARD_JSON_DOUBLE). Fails the test otherwise. The
 * token's str points into doc.
 */
struct ward_json_token read_single_number(const char *doc);

/*
 * Returns depth copies of open followed by depth copies of close, as a
 * NUL-terminated string allocated with malloc(); the caller frees it.
 */
char *nested(size_t depth, const char *open, const char *close);

/*
 * Finishes w, which writes into b, and fails the test unless that succeeds,
 * b holds exactly want, and the reader accepts it.
 */
void check_output(struct ward_json_writer *w, struct ward_buf *b, const char *want);

/* The tests in test-json-diff.c, for the list in main(). */
void test_doubles(void **state);
void test_doubles_halfway(void **state);
void test_writer_integers(void **state);
void test_writer_doubles(void **state);
void test_differential_edges(void **state);
void test_differential_random(void **state);
void test_differential_deep(void **state);
void test_differential_numbers(void **state);

#endif
