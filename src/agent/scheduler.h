/*
 * The collector runtime of ward-agent.
 *
 * The scheduler owns one runner per enabled collector: its state, its
 * interval, its failure count and the samples of its last run. The agent's
 * main loop calls ward_scheduler_run_due() whenever the next collector is
 * due; the samples go to the batch it passes and are also kept as the
 * collector's latest snapshot, which the HTTP listener exposes on /metrics
 * from another thread. The agent's own metrics (memory, CPU, collector
 * timings and errors, golectra's PollCount and RandomValue) come from the
 * scheduler itself, as the "agent" collector.
 */
#ifndef WARD_SCHEDULER_H
#define WARD_SCHEDULER_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/batch.h"
#include "agent/collector.h"
#include "agent/health.h"
#include "common/buf.h"

/* The name under which the agent's own metrics are configured. */
#define WARD_SELF_COLLECTOR   "agent"
#define WARD_SELF_INTERVAL_MS 10000
#define WARD_MAX_COLLECTORS   32

/* How one collector is to run. */
struct ward_collector_config {
    const char *name; /* a collector's name, or WARD_SELF_COLLECTOR */
    bool enabled;
    int64_t interval_ms; /* 0 = the collector's default */
};

struct ward_scheduler_config {
    const char *root; /* host root for collectors */
    const struct ward_collect_settings *settings;
    const struct ward_collector_config
        *collectors; /* entries for names not listed run by default */
    size_t n_collectors;
    int64_t poll_ms;            /* when > 0, the interval of every collector without its own */
    struct ward_health *health; /* may be NULL */
    /* Emits more of the agent's own metrics in its runs; may be NULL. */
    void (*self_emit)(void *arg, const struct ward_collect_ctx *ctx);
    void *self_arg;
};

struct ward_scheduler;

/*
 * Creates the runners and initialises every enabled collector. A name in
 * the configuration that matches no collector is an error (-EINVAL, with a
 * message in err). Returns 0 or a negative error.
 */
int ward_scheduler_new(const struct ward_scheduler_config *cfg, struct ward_scheduler **out,
                       struct ward_buf *err);
void ward_scheduler_free(struct ward_scheduler *s);

/*
 * Runs every collector due at monotonic time now_ms, emitting into out (its
 * ts_ms is set here). Returns the monotonic time at which the next collector
 * is due.
 */
int64_t ward_scheduler_run_due(struct ward_scheduler *s, int64_t now_ms, struct ward_batch *out);

/* Runs every enabled collector now, whatever its schedule. */
void ward_scheduler_run_all(struct ward_scheduler *s, struct ward_batch *out);

/* Samples the collectors produced since the scheduler started. */
uint64_t ward_scheduler_samples_total(struct ward_scheduler *s);

/* Appends the latest samples of every collector in Prometheus text format. Thread-safe. */
int ward_scheduler_exposition(struct ward_scheduler *s, struct ward_buf *out);

#endif
