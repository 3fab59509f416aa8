/*
 * Harness for collector tests: a sink that records every sample, and lookups
 * by metric name and labels.
 *
 * A test runs a collector on a fixture tree with collector_run() and then
 * asserts exact values with rec_value(), which fails the test when the
 * sample is missing or appears twice.
 */
#ifndef WARD_COLLECTOR_TEST_H
#define WARD_COLLECTOR_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/collector.h"

/* Fixture trees of the project, and the node_exporter trees beside the repository. */
#define FIXTURES     WARD_SOURCE_ROOT "/tests/fixtures"
#define NODE_FIXTURE WARD_SOURCE_ROOT "/../shared/fixtures/node_exporter"

struct rec_sample {
    const struct ward_metric *metric;
    double value;
    char labels[256]; /* "k1=v1,k2=v2" in the order emitted */
};

struct recorder {
    struct ward_sink sink; /* first */
    struct rec_sample *samples;
    size_t n, cap;
};

/* Prepares an empty recorder. */
void rec_init(struct recorder *r);
/* Frees the recorder's samples. */
void rec_done(struct recorder *r);

/* The collection time collector_run() gives collectors. */
#define COLLECTOR_TEST_NOW_MS INT64_C(1700000000000)

/*
 * Runs c->collect on root with settings (NULL for the defaults), after
 * emptying r, at COLLECTOR_TEST_NOW_MS. Returns what collect returned.
 */
int collector_run(const struct ward_collector *c, void *state, const char *root,
                  const struct ward_collect_settings *settings, struct recorder *r);

/* Like collector_run(), at now_ms. */
int collector_run_at(const struct ward_collector *c, void *state, const char *root,
                     const struct ward_collect_settings *settings, int64_t now_ms,
                     struct recorder *r);

/*
 * Returns the sample of the metric named name ("category_name" or just
 * "name") whose labels are exactly labels ("k1=v1,k2=v2" in emitted order,
 * "" for none), or NULL.
 */
const struct rec_sample *rec_find(const struct recorder *r, const char *name, const char *labels);

/* Like rec_find(), but fails the test unless exactly one such sample exists. */
double rec_value(const struct recorder *r, const char *name, const char *labels);

/* Number of samples of the metric named name. */
size_t rec_count(const struct recorder *r, const char *name);

/*
 * A scratch host root, /tmp/ward-NAME-XXXXXX, for trees a test writes
 * itself. scratch_free() removes it; a test that fails before that leaves
 * it to scratch_teardown(), a cmocka group teardown.
 */
char *scratch_new(const char *name);
void scratch_free(char *dir);
int scratch_teardown(void **unused);

/* Writes text to root + rel (rel starts with '/'), making the directories on the way. */
void scratch_put(const char *root, const char *rel, const char *text);

#endif
