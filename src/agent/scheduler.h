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
 *
 * The configuration the scheduler starts with is the local one (file and
 * flags). ward_scheduler_configure() lays a central override over it per
 * collector (enabled, interval) while the agent runs, and takes it away
 * again; the change takes effect at the next round: a collector switched
 * on is initialised and runs at once, one switched off is stopped and its
 * state freed.
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

/* True when name is a collector's name or WARD_SELF_COLLECTOR. */
bool ward_scheduler_knows(const char *name);

/*
 * Overrides the local configuration of the collector name from the next
 * round on: enabled is 0 or 1, or -1 for the local setting; interval_ms
 * above 0 replaces the local interval, 0 returns to it. A shorter interval
 * brings the collector's next run closer; a collector switched on runs in
 * the next round. Call it from the thread that runs the rounds. Returns 0,
 * or -EINVAL for a name the scheduler does not know or a negative interval.
 */
int ward_scheduler_configure(struct ward_scheduler *s, const char *name, int enabled,
                             int64_t interval_ms);

/*
 * Reads the settings name runs with from the next round on, overrides
 * included: whether it runs, and its interval. Returns 0 or -EINVAL for an
 * unknown name.
 */
int ward_scheduler_setting(struct ward_scheduler *s, const char *name, bool *enabled,
                           int64_t *interval_ms);

/* Runs every enabled collector now, whatever its schedule. */
void ward_scheduler_run_all(struct ward_scheduler *s, struct ward_batch *out);

/* Samples the collectors produced since the scheduler started. */
uint64_t ward_scheduler_samples_total(struct ward_scheduler *s);

/* Appends the latest samples of every collector in Prometheus text format. Thread-safe. */
int ward_scheduler_exposition(struct ward_scheduler *s, struct ward_buf *out);

#endif
