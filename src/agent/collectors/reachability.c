/*
 * Reachability of other hosts: runs the configured probes (probe.h) and
 * reports, per probe, whether its target answered, how fast, with what
 * loss or HTTP status, and how many runs and failures it has had.
 *
 * The probe set. ward_reachability_configure() may replace it at any time
 * from any thread; it checks and copies the new set, swaps it in under a
 * lock and bumps a generation number. The collector compares that number
 * with the one it last loaded (an atomic read, so an unchanged or empty
 * set costs nothing more) and reloads only when it moved. A probe whose
 * type, target and tags survive a reload is the same series, so it keeps
 * its counters and its schedule; the set is global because the agent
 * runs one such collector.
 *
 * With no probe configured the collector says so as an absent device does
 * (-ENOENT), so the scheduler checks it only every ten intervals, without
 * an alarm and without self-metrics: enabled by default, it costs nothing
 * until probes arrive (within ten seconds at the default interval).
 *
 * Scheduling. The collector runs often (every second by default); each
 * probe runs when its own interval has come, on a fixed grid (one
 * interval after its last due time, not after its run), so the probes of
 * one interval stay together and a probe does not slip by a collector
 * round when a call comes a little early. A clock that jumps restarts the
 * grid.
 *
 * Deadlines. All probes due in a round run together in one poll loop, so
 * the round takes at most the largest timeout among them (at most 60 s,
 * and never more than a probe's interval), however many are due.
 *
 * Samples. A probe's samples are emitted in the round it runs, one set
 * per measurement, with the labels type, target and its tags. up is 1 or
 * 0; latency_ms only when up; loss_percent for icmp; status_code for http
 * (0 when no response came); probes_total and failures_total count runs.
 */
#include "agent/collector.h"
#include "agent/probe.h"

#include "common/error.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* How early a probe may run, so a call a few ms before its time is not a round late. */
#define DUE_SLACK_MS 250
/* Room for one configuration error message. */
#define CONFIG_ERR_MAX 512

static const struct ward_metric m_up = {"reachability", "up", WARD_SAMPLE_GAUGE,
                                        "1 when the target answered the probe's last run, else 0."};
static const struct ward_metric m_latency = {
    "reachability", "latency_ms", WARD_SAMPLE_GAUGE,
    "Milliseconds of the last successful run: echo round trip, TCP connect, or HTTP connect to "
    "the end of the response head."};
static const struct ward_metric m_loss = {"reachability", "loss_percent", WARD_SAMPLE_GAUGE,
                                          "Echo requests of the last ICMP run without an answer."};
static const struct ward_metric m_status = {
    "reachability", "status_code", WARD_SAMPLE_GAUGE,
    "HTTP status of the last HTTP run; 0 when no response arrived."};
static const struct ward_metric m_runs = {"reachability", "probes_total", WARD_SAMPLE_COUNTER,
                                          "Runs of the probe."};
static const struct ward_metric m_failures = {"reachability", "failures_total", WARD_SAMPLE_COUNTER,
                                              "Runs of the probe that found its target down."};

/* The configured set, written by ward_reachability_configure(). */
static pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ward_probe_spec *config_specs;
static size_t config_n;
static atomic_uint_fast64_t config_gen;

struct probe_state {
    struct ward_probe_spec spec;
    int64_t next_due_ms; /* wall clock; 0 until the first run */
    uint64_t runs, failures;
};

struct reach {
    uint64_t gen; /* of the set loaded into probes */
    struct probe_state *probes;
    size_t n;
};

static bool has_tag(const struct ward_probe_spec *s, const struct ward_probe_tag *t)
{
    for (size_t i = 0; i < s->n_tags; i++)
        if (strcmp(s->tags[i].key, t->key) == 0 && strcmp(s->tags[i].value, t->value) == 0)
            return true;
    return false;
}

/* True when a and b have the same labels, and so make the same series. */
static bool same_series(const struct ward_probe_spec *a, const struct ward_probe_spec *b)
{
    if (a->type != b->type || strcmp(a->target, b->target) != 0 || a->n_tags != b->n_tags)
        return false;
    for (size_t i = 0; i < a->n_tags; i++)
        if (!has_tag(b, &a->tags[i]))
            return false;
    return true;
}

/* Checks each spec and that no two make the same series. */
static int check_set(const struct ward_probe_spec *specs, size_t n, struct ward_buf *err)
{
    for (size_t i = 0; i < n; i++) {
        struct ward_buf msg;
        ward_buf_init(&msg, CONFIG_ERR_MAX);
        int r = ward_probe_spec_check(&specs[i], &msg);
        if (r < 0 && err)
            ward_buf_printf(err, "probe %zu: %s", i, msg.data ? msg.data : "");
        ward_buf_done(&msg);
        if (r < 0)
            return r;
        for (size_t j = 0; j < i; j++) {
            if (same_series(&specs[i], &specs[j])) {
                if (err)
                    ward_buf_printf(err, "probe %zu: same type, target and tags as probe %zu", i,
                                    j);
                return WARD_E_CONFIG;
            }
        }
    }
    return 0;
}

int ward_reachability_check(const struct ward_probe_spec *specs, size_t n, struct ward_buf *err)
{
    if (n > WARD_PROBE_MAX) {
        if (err)
            ward_buf_printf(err, "%zu probes configured; at most %d are allowed", n,
                            WARD_PROBE_MAX);
        return WARD_E_LIMIT;
    }
    return check_set(specs, n, err);
}

int ward_reachability_configure(const struct ward_probe_spec *specs, size_t n, struct ward_buf *err)
{
    int r = ward_reachability_check(specs, n, err);
    if (r < 0)
        return r;
    struct ward_probe_spec *copy = NULL;
    if (n > 0) {
        copy = malloc(n * sizeof(*copy));
        if (!copy)
            return -ENOMEM;
        memcpy(copy, specs, n * sizeof(*copy));
    }
    pthread_mutex_lock(&config_lock);
    struct ward_probe_spec *old = config_specs;
    config_specs = copy;
    config_n = n;
    atomic_fetch_add(&config_gen, 1);
    pthread_mutex_unlock(&config_lock);
    free(old);
    return 0;
}

/* Loads the configured set, keeping the state of probes that stay. */
static int reload(struct reach *rs)
{
    pthread_mutex_lock(&config_lock);
    size_t n = config_n;
    struct probe_state *fresh = n ? calloc(n, sizeof(*fresh)) : NULL;
    if (n && !fresh) {
        pthread_mutex_unlock(&config_lock);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        fresh[i].spec = config_specs[i];
        for (size_t j = 0; j < rs->n; j++) {
            if (same_series(&rs->probes[j].spec, &fresh[i].spec)) {
                fresh[i].next_due_ms = rs->probes[j].next_due_ms;
                fresh[i].runs = rs->probes[j].runs;
                fresh[i].failures = rs->probes[j].failures;
            }
        }
    }
    rs->gen = atomic_load(&config_gen);
    pthread_mutex_unlock(&config_lock);
    free(rs->probes);
    rs->probes = fresh;
    rs->n = n;
    return 0;
}

/* True when p should run at now: its time has come, or the clock went back. */
static bool is_due(const struct probe_state *p, int64_t now)
{
    return p->next_due_ms == 0 || now >= p->next_due_ms - DUE_SLACK_MS ||
           p->next_due_ms > now + p->spec.interval_ms + DUE_SLACK_MS;
}

/* Sets p's next due time after a run at now. */
static void schedule(struct probe_state *p, int64_t now)
{
    int64_t interval = p->spec.interval_ms;
    int64_t next = p->next_due_ms ? p->next_due_ms + interval : now + interval;
    if (next <= now || next > now + interval + DUE_SLACK_MS)
        next = now + interval; /* missed rounds or a clock jump: start the grid again */
    p->next_due_ms = next;
}

static void emit(const struct ward_collect_ctx *ctx, const struct probe_state *p,
                 const struct ward_probe_result *res)
{
    struct ward_label labels[WARD_SAMPLE_MAX_LABELS];
    size_t n = 0;
    labels[n++] = (struct ward_label){"type", ward_probe_type_name(p->spec.type)};
    labels[n++] = (struct ward_label){"target", p->spec.target};
    for (size_t i = 0; i < p->spec.n_tags; i++)
        labels[n++] = (struct ward_label){p->spec.tags[i].key, p->spec.tags[i].value};
    ward_emit(ctx, &m_up, res->up ? 1 : 0, labels, n);
    if (res->up)
        ward_emit(ctx, &m_latency, res->latency_ms, labels, n);
    if (p->spec.type == WARD_PROBE_ICMP)
        ward_emit(ctx, &m_loss, res->loss_percent, labels, n);
    if (p->spec.type == WARD_PROBE_HTTP)
        ward_emit(ctx, &m_status, res->status_code, labels, n);
    ward_emit(ctx, &m_runs, (double)p->runs, labels, n);
    ward_emit(ctx, &m_failures, (double)p->failures, labels, n);
}

static int reach_collect(void *state, const struct ward_collect_ctx *ctx)
{
    struct reach *rs = state;
    if (atomic_load(&config_gen) != rs->gen) {
        int r = reload(rs);
        if (r < 0)
            return r;
    }
    if (rs->n == 0)
        return -ENOENT;
    const struct ward_probe_spec *due[WARD_PROBE_MAX];
    struct ward_probe_result results[WARD_PROBE_MAX];
    size_t which[WARD_PROBE_MAX], k = 0;
    for (size_t i = 0; i < rs->n; i++) {
        if (is_due(&rs->probes[i], ctx->now_ms)) {
            due[k] = &rs->probes[i].spec;
            which[k++] = i;
        }
    }
    if (k == 0)
        return 0;
    int r = ward_probe_run_many(due, k, results);
    if (r < 0)
        return r;
    for (size_t j = 0; j < k; j++) {
        struct probe_state *p = &rs->probes[which[j]];
        schedule(p, ctx->now_ms);
        p->runs++;
        p->failures += !results[j].up;
        emit(ctx, p, &results[j]);
    }
    return 0;
}

static int reach_init(void **state)
{
    struct reach *rs = calloc(1, sizeof(*rs));
    if (!rs)
        return -ENOMEM;
    *state = rs;
    return 0;
}

static void reach_done(void *state)
{
    struct reach *rs = state;
    if (!rs)
        return;
    free(rs->probes);
    free(rs);
}

const struct ward_collector ward_collector_reachability = {
    .size = sizeof(struct ward_collector),
    .name = "reachability",
    .default_interval_ms = 1000,
    .init = reach_init,
    .collect = reach_collect,
    .done = reach_done,
};
