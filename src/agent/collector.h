/*
 * The collector interface of ward-agent.
 *
 * A collector reads one data source (a /proc or /sys file, a socket) and
 * emits samples through ward_emit(). Collectors are const structs listed in
 * one table in collector.c; adding a data source is one new file plus one
 * line there. Every file a collector opens goes through ward_collect_open(),
 * which prefixes the configurable host root, so tests run collectors on
 * recorded trees.
 *
 * A collector keeps whatever it needs between calls (previous counters for
 * rates) in its own state, created by init and freed by done.
 */
#ifndef WARD_COLLECTOR_H
#define WARD_COLLECTOR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define WARD_SAMPLE_MAX_LABELS 4

enum ward_sample_kind {
    WARD_SAMPLE_GAUGE = 0,
    WARD_SAMPLE_COUNTER = 1,
};

struct ward_label {
    const char *key;
    const char *value;
};

/* Where samples go; implemented by the scheduler (batch.c) and by tests. */
struct ward_sink {
    /*
     * Receives one sample. category and name must be string literals (they
     * are kept by pointer); label strings are copied. Returns 0 or a
     * negative error.
     */
    int (*emit)(struct ward_sink *sink, const char *category, const char *name,
                enum ward_sample_kind kind, double value, const struct ward_label *labels,
                size_t n_labels);
};

struct ward_collect_ctx {
    const char *root; /* host root: "" for the real system, or a fixture tree */
    int64_t now_ms;   /* timestamp of this collection */
    struct ward_sink *sink;
};

struct ward_collector {
    size_t size;                 /* sizeof(struct ward_collector) */
    const char *name;            /* "cpu", "memory", ... */
    int64_t default_interval_ms; /* how often it runs unless configured */
    /* Creates the collector's state in *state (may stay NULL). Returns 0 or an error. */
    int (*init)(void **state);
    /* Reads its source and emits samples. Returns 0 or a negative error. */
    int (*collect)(void *state, const struct ward_collect_ctx *ctx);
    /* Frees the state. Accepts NULL. */
    void (*done)(void *state);
};

/* The table of all collectors, in the order they run. */
extern const struct ward_collector *const ward_collectors[];
extern const size_t ward_n_collectors;

/* Emits a sample without labels. */
int ward_emit(const struct ward_collect_ctx *ctx, const char *category, const char *name,
              enum ward_sample_kind kind, double value);

/* Emits a sample with one label. */
int ward_emit1(const struct ward_collect_ctx *ctx, const char *category, const char *name,
               enum ward_sample_kind kind, double value, const char *key, const char *label);

/* Opens root + path for reading (close-on-exec). Returns NULL with errno set. */
FILE *ward_collect_open(const struct ward_collect_ctx *ctx, const char *path);

/*
 * Parses up to max whitespace-separated unsigned decimal fields from s.
 * Returns the number parsed (stopping at the first non-number), never more
 * than max.
 */
size_t ward_parse_u64_fields(const char *s, uint64_t *out, size_t max);
#endif
