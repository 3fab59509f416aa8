/*
 * Harness of the store tests: backends, fixtures and helpers shared by the
 * conformance suite (test-store.c, test-store-methods.c, test-store-reads.c,
 * test-store-registry.c, test-store-commands.c) and the SQLite tests (test-store-sqlite.c). The
 * helpers are in test-store-util.c.
 *
 * A test gets a struct store_env as its cmocka state: a DSN to open, and
 * host ids, hostnames and categories that no other test uses. Writing only
 * under its own names lets a test run against a database that other tests
 * (or an earlier run) have written to, which is how the suite runs against
 * an external database named by WARD_TEST_STORE_DSN.
 */
#ifndef WARD_TEST_STORE_H
#define WARD_TEST_STORE_H

#include "server/store/store.h"

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define T0 1700000000000LL /* a plausible ms timestamp */

struct store_env;

struct store_backend {
    const char *name;
    bool persistent; /* a store opened again sees what was written */
    bool concurrent; /* reads run while a write commits, on a snapshot */
    bool memory;     /* nothing on disk: stats report 0 bytes */
    int (*setup)(struct store_env *e);
    void (*teardown)(struct store_env *e);
};

struct store_env {
    const struct store_backend *backend;
    char dir[PATH_MAX]; /* a fresh directory, or "" */
    char dsn[PATH_MAX + 32];
    char bad_dsn[PATH_MAX + 32];     /* must fail to open; "" when the backend has none */
    int bad_err;                     /* the error bad_dsn gives, or 0 for any negative */
    char host[2][WARD_STORE_ID_LEN]; /* fresh UUIDv7s, host[0] < host[1] */
    char tag[16];                    /* unique to the test */
};

/* The backends: SQLite in memory and in a fresh file, and the one of WARD_TEST_STORE_DSN. */
extern const struct store_backend store_sqlite_memory;
extern const struct store_backend store_sqlite_file;
extern const struct store_backend store_external;

/* The backend the fixtures set up; chosen before each group runs. */
extern const struct store_backend *store_current;

/* cmocka fixtures: a store_env for store_current, and its removal. */
int store_env_setup(void **state);
int store_env_teardown(void **state);

#define T(f) cmocka_unit_test_setup_teardown(f, store_env_setup, store_env_teardown)

/* Copies "<tag>-<suffix>" into out (a hostname or category of the test). */
void tagged(const struct store_env *e, const char *suffix, char *out, size_t size);

/* Opens dsn or fails the test. */
struct ward_store *open_ok(const char *dsn);

struct ward_sample gauge(const char *cat, const char *name, const char *labels, int64_t ts,
                         double v);

/* Stores n samples of one series at T0 + i * step with value i, in one call. */
void put_series(struct ward_store *s, const char *host, const char *cat, const char *name, size_t n,
                int64_t step);

/* One query row, copied. */
struct row {
    char *host_id, *category, *name, *labels;
    enum ward_metric_kind kind;
    int64_t ts;
    double value;
};

struct rows {
    struct row *v;
    size_t n, cap;
    int stop_after; /* > 0: return -42 from the callback after this many rows */
};

int collect(const struct ward_sample_row *r, void *userdata);
void rows_free(struct rows *rs);
int count_cb(const struct ward_sample_row *r, void *userdata);

/* A query over every sample of host. */
struct ward_query all_of(const char *host);

/* Runs q and returns the rows; fails the test on error. */
struct rows run(struct ward_store *s, struct ward_query q);

/* Samples stored for host. */
size_t count(struct ward_store *s, const char *host);

/* Finds the id of a series of host by category, name and labels; fails the test when absent. */
int64_t series_id_of(struct ward_store *s, const char *host, const char *cat, const char *name,
                     const char *labels);

/*
 * Parts two to five of the conformance suite, in test-store-methods.c,
 * test-store-reads.c, test-store-registry.c and test-store-commands.c.
 */
extern const struct CMUnitTest store_method_tests[];
extern const size_t store_method_tests_count;
extern const struct CMUnitTest store_registry_tests[];
extern const size_t store_registry_tests_count;
extern const struct CMUnitTest store_read_tests[];
extern const size_t store_read_tests_count;
extern const struct CMUnitTest store_command_tests[];
extern const size_t store_command_tests_count;

/* Removes a directory and the files and empty directories in it. */
void remove_tree(const char *dir);

#endif
