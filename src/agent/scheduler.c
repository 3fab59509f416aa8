/*
 * The collector runtime of ward-agent.
 *
 * One thread (the agent's main loop) runs collectors; the HTTP listener reads
 * their latest samples from another. Each runner therefore has two batches:
 * a collector emits into the batch bound for the server, its samples are
 * then copied into the runner's scratch batch (labels already serialised,
 * so that is two memcpy calls), and the scratch and the published snapshot
 * are swapped under the lock. The listener only ever
 * holds the lock while it formats snapshots, and the collectors never run
 * under it.
 *
 * Failing collectors back off: each consecutive failure doubles the wait, up
 * to 16 intervals or ten minutes, and raises a health condition; a collector
 * whose hardware is absent (-ENOENT: no wifi, not a Raspberry Pi) is checked
 * again only every ten intervals, without any alarm. A collect call that
 * takes longer than its interval is an overrun: it is counted and logged,
 * as collectd does.
 *
 * Every collector has a runner, switched off ones too, so a central
 * override can switch one on later. A runner keeps its local settings and
 * the override apart, and the rounds apply a changed override first
 * (ward_scheduler_configure() only records it): initialising a collector
 * switched on, freeing the state of one switched off and clearing its
 * snapshot, so /metrics shows nothing of it.
 */
#include "agent/scheduler.h"

#include "agent/exposition.h"
#include "common/crypto.h"
#include "common/error.h"
#include "common/log.h"
#include "common/time-util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define MAX_BACKOFF_FACTOR 16
#define MAX_BACKOFF_MS     (10 * 60 * 1000)
#define ABSENT_FACTOR      10
#define BATCH_MAX_SAMPLES  100000

struct runner {
    const struct ward_collector *c; /* NULL for the agent's own metrics */
    const char *name;
    void *state;
    bool running;               /* enabled and initialised */
    bool local_enabled;         /* the configuration file and flags */
    int64_t local_interval_ms;  /* the same, after -p and the collector's default */
    int remote_enabled;         /* the override: -1 none, 0 or 1 */
    int64_t remote_interval_ms; /* the override: 0 none */
    bool changed;               /* the override changed since the last round */
    int64_t interval_ms;
    int64_t next_due;
    unsigned failures; /* consecutive */
    bool absent;
    uint64_t runs, errors, overruns;
    double last_seconds;
    struct ward_batch last, scratch;
};

struct ward_scheduler {
    struct ward_scheduler_config cfg;
    struct runner runners[WARD_MAX_COLLECTORS + 1];
    size_t n;
    pthread_mutex_t lock; /* guards every runner's last batch and counters */
    uint64_t poll_count;
    uint64_t samples_total;
};

static const struct ward_metric m_rss = {"agent", "rss_bytes", WARD_SAMPLE_GAUGE,
                                         "Resident memory of the agent."};
static const struct ward_metric m_cpu = {"agent", "cpu_seconds_total", WARD_SAMPLE_COUNTER,
                                         "CPU time the agent used, user and system."};
static const struct ward_metric m_samples = {"agent", "samples_total", WARD_SAMPLE_COUNTER,
                                             "Samples the collectors produced."};
static const struct ward_metric m_collect = {"agent", "collect_seconds", WARD_SAMPLE_GAUGE,
                                             "Duration of the collector's last run."};
static const struct ward_metric m_up = {"agent", "collector_up", WARD_SAMPLE_GAUGE,
                                        "1 when the collector's last run worked, else 0."};
static const struct ward_metric m_errors = {"agent", "collector_errors_total", WARD_SAMPLE_COUNTER,
                                            "Failed runs of the collector."};
static const struct ward_metric m_overruns = {
    "agent", "collector_overruns_total", WARD_SAMPLE_COUNTER,
    "Runs that took longer than the collector's interval."};
static const struct ward_metric m_poll = {"agent", "PollCount", WARD_SAMPLE_COUNTER,
                                          "Collection rounds since the agent started (golectra)."};
static const struct ward_metric m_random = {"agent", "RandomValue", WARD_SAMPLE_GAUGE,
                                            "A random value in [0, 1) per round (golectra)."};

static double self_rss_bytes(void)
{
    char text[128];
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    text[n] = '\0';
    uint64_t v[2];
    if (ward_parse_u64_fields(text, v, 2) != 2)
        return 0;
    return (double)v[1] * (double)sysconf(_SC_PAGESIZE);
}

/* The agent's own metrics; reads the other runners' counters under the lock. */
static int collect_self(struct ward_scheduler *s, const struct ward_collect_ctx *ctx)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    uint64_t rnd = 0;
    ward_random_bytes(&rnd, sizeof(rnd));

    ward_emit0(ctx, &m_rss, self_rss_bytes());
    ward_emit0(ctx, &m_cpu, cpu);
    ward_emit0(ctx, &m_poll, (double)s->poll_count);
    ward_emit0(ctx, &m_random, (double)(rnd >> 11) / 9007199254740992.0);
    pthread_mutex_lock(&s->lock);
    ward_emit0(ctx, &m_samples, (double)s->samples_total);
    for (size_t i = 0; i < s->n; i++) {
        const struct runner *r = &s->runners[i];
        if (!r->c || !r->running || r->absent || r->runs == 0)
            continue;
        ward_emit1(ctx, &m_collect, r->last_seconds, "collector", r->name);
        ward_emit1(ctx, &m_up, r->failures ? 0 : 1, "collector", r->name);
        ward_emit1(ctx, &m_errors, (double)r->errors, "collector", r->name);
        ward_emit1(ctx, &m_overruns, (double)r->overruns, "collector", r->name);
    }
    pthread_mutex_unlock(&s->lock);
    if (s->cfg.self_emit)
        s->cfg.self_emit(s->cfg.self_arg, ctx);
    return 0;
}

static const struct ward_collector_config *find_config(const struct ward_scheduler_config *cfg,
                                                       const char *name)
{
    for (size_t i = 0; i < cfg->n_collectors; i++)
        if (strcmp(cfg->collectors[i].name, name) == 0)
            return &cfg->collectors[i];
    return NULL;
}

bool ward_scheduler_knows(const char *name)
{
    if (strcmp(name, WARD_SELF_COLLECTOR) == 0)
        return true;
    for (size_t i = 0; i < ward_n_collectors; i++)
        if (strcmp(ward_collectors[i]->name, name) == 0)
            return true;
    return false;
}

static void add_runner(struct ward_scheduler *s, const struct ward_collector *c, const char *name,
                       int64_t default_ms)
{
    const struct ward_collector_config *cc = find_config(&s->cfg, name);
    struct runner *r = &s->runners[s->n++];
    r->c = c;
    r->name = name;
    r->local_enabled = !cc || cc->enabled;
    r->local_interval_ms = cc && cc->interval_ms > 0 ? cc->interval_ms
                           : s->cfg.poll_ms > 0      ? s->cfg.poll_ms
                                                     : default_ms;
    r->remote_enabled = -1;
    r->interval_ms = r->local_interval_ms;
    ward_batch_init(&r->last, BATCH_MAX_SAMPLES);
    ward_batch_init(&r->scratch, BATCH_MAX_SAMPLES);
}

int ward_scheduler_new(const struct ward_scheduler_config *cfg, struct ward_scheduler **out,
                       struct ward_buf *err)
{
    for (size_t i = 0; i < cfg->n_collectors; i++) {
        if (!ward_scheduler_knows(cfg->collectors[i].name)) {
            ward_buf_printf(err, "unknown collector '%s'", cfg->collectors[i].name);
            return -EINVAL;
        }
    }
    if (ward_n_collectors > WARD_MAX_COLLECTORS)
        return -E2BIG;
    struct ward_scheduler *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->cfg = *cfg;
    pthread_mutex_init(&s->lock, NULL);
    for (size_t i = 0; i < ward_n_collectors; i++)
        add_runner(s, ward_collectors[i], ward_collectors[i]->name,
                   ward_collectors[i]->default_interval_ms);
    add_runner(s, NULL, WARD_SELF_COLLECTOR, WARD_SELF_INTERVAL_MS);

    for (size_t i = 0; i < s->n; i++) {
        struct runner *r = &s->runners[i];
        if (!r->local_enabled)
            continue;
        int e = r->c && r->c->init ? r->c->init(&r->state) : 0;
        if (e < 0) {
            ward_buf_printf(err, "collector '%s' failed to start: %s", r->name, ward_strerror(e));
            ward_scheduler_free(s);
            return e;
        }
        r->running = true;
    }
    /* The collector settings were only needed here; the caller's array may go away. */
    s->cfg.collectors = NULL;
    s->cfg.n_collectors = 0;
    *out = s;
    return 0;
}

void ward_scheduler_free(struct ward_scheduler *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        struct runner *r = &s->runners[i];
        if (r->running && r->c && r->c->done)
            r->c->done(r->state);
        ward_batch_done(&r->last);
        ward_batch_done(&r->scratch);
    }
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static void note_health(struct ward_scheduler *s, struct runner *r, int res, int64_t now_ms)
{
    if (!s->cfg.health)
        return;
    char key[64], reason[160];
    snprintf(key, sizeof(key), "collector:%s", r->name);
    if (res >= 0 || res == -ENOENT) {
        ward_health_set(s->cfg.health, key, WARD_HEALTH_OK, NULL, now_ms);
        return;
    }
    /* Failing on every run since start is an error; failing after working, degraded. */
    bool always = r->failures == r->runs && r->runs >= 3;
    snprintf(reason, sizeof(reason), "failed %u time%s in a row: %s", r->failures,
             r->failures == 1 ? "" : "s", ward_strerror(res));
    ward_health_set(s->cfg.health, key, always ? WARD_HEALTH_ERROR : WARD_HEALTH_DEGRADED, reason,
                    now_ms);
}

static int64_t next_wait(const struct runner *r)
{
    int64_t wait = r->interval_ms;
    if (r->absent)
        wait *= ABSENT_FACTOR;
    else if (r->failures)
        wait *= r->failures >= 4 ? MAX_BACKOFF_FACTOR : (int64_t)1 << r->failures;
    if (wait > MAX_BACKOFF_MS && r->interval_ms < MAX_BACKOFF_MS)
        wait = MAX_BACKOFF_MS;
    return wait;
}

/*
 * The runner's next due time on a fixed grid: one wait after its last due
 * time, not after now, so runners with the same interval stay in the same
 * round however late the rounds run, and a slow interval (an absent
 * collector's) lands on a round of the fast ones. After a stall the grid
 * starts again from now, without a burst of catch-up runs.
 */
static int64_t next_due(const struct runner *r, int64_t now_ms)
{
    int64_t wait = next_wait(r);
    if (r->next_due == 0 || r->next_due + wait <= now_ms)
        return now_ms + wait;
    return r->next_due + wait;
}

static void run_one(struct ward_scheduler *s, struct runner *r, struct ward_batch *out)
{
    int64_t wall = ward_now_ms();
    out->ts_ms = wall;
    struct ward_collect_ctx ctx = {
        .root = s->cfg.root,
        .now_ms = wall,
        .settings = s->cfg.settings,
        .sink = &out->sink,
    };
    size_t first = ward_batch_count(out);
    int64_t t0 = ward_mono_ns();
    int res = r->c ? r->c->collect(r->state, &ctx) : collect_self(s, &ctx);
    double seconds = (double)(ward_mono_ns() - t0) / 1e9;
    size_t produced = ward_batch_count(out) - first;
    ward_batch_reset(&r->scratch);
    r->scratch.ts_ms = wall;
    if (ward_batch_copy_tail(&r->scratch, out, first) < 0)
        ward_batch_reset(&r->scratch); /* out of memory: /metrics shows nothing of it this time */

    pthread_mutex_lock(&s->lock);
    struct ward_batch tmp = r->last;
    r->last = r->scratch;
    r->scratch = tmp;
    r->runs++;
    r->last_seconds = seconds;
    r->absent = res == -ENOENT;
    if (res < 0 && !r->absent) {
        r->failures++;
        r->errors++;
    } else {
        r->failures = 0;
    }
    bool overrun = seconds * 1000 > (double)r->interval_ms;
    r->overruns += overrun;
    s->samples_total += produced;
    pthread_mutex_unlock(&s->lock);

    if (overrun) {
        char ms[32];
        snprintf(ms, sizeof(ms), "%.0f", seconds * 1000);
        ward_log_warn(NULL, "collector overran its interval", "collector", r->name, "ms", ms);
    }
    if (res < 0 && !r->absent && r->failures == 1)
        ward_log_warn(NULL, "collector failed", "collector", r->name, "error", ward_strerror(res));
    note_health(s, r, res, wall);
}

static struct runner *find_runner(struct ward_scheduler *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->runners[i].name, name) == 0)
            return &s->runners[i];
    return NULL;
}

int ward_scheduler_configure(struct ward_scheduler *s, const char *name, int enabled,
                             int64_t interval_ms)
{
    struct runner *r = find_runner(s, name);
    if (!r || interval_ms < 0)
        return -EINVAL;
    enabled = enabled < 0 ? -1 : enabled > 0;
    if (r->remote_enabled != enabled || r->remote_interval_ms != interval_ms) {
        r->remote_enabled = enabled;
        r->remote_interval_ms = interval_ms;
        r->changed = true;
    }
    return 0;
}

/* Whether the runner is to run, overrides included. */
static bool wanted(const struct runner *r)
{
    return r->remote_enabled >= 0 ? r->remote_enabled == 1 : r->local_enabled;
}

/* The runner's interval, overrides included. */
static int64_t wanted_interval(const struct runner *r)
{
    return r->remote_interval_ms > 0 ? r->remote_interval_ms : r->local_interval_ms;
}

int ward_scheduler_setting(struct ward_scheduler *s, const char *name, bool *enabled,
                           int64_t *interval_ms)
{
    struct runner *r = find_runner(s, name);
    if (!r)
        return -EINVAL;
    *enabled = wanted(r);
    *interval_ms = wanted_interval(r);
    return 0;
}

/* Stops a collector: frees its state and forgets its snapshot and health condition. */
static void stop_runner(struct ward_scheduler *s, struct runner *r, int64_t wall_ms)
{
    if (r->c && r->c->done)
        r->c->done(r->state);
    r->state = NULL;
    r->running = false;
    pthread_mutex_lock(&s->lock);
    ward_batch_reset(&r->last);
    pthread_mutex_unlock(&s->lock);
    if (s->cfg.health) {
        char key[64];
        snprintf(key, sizeof(key), "collector:%s", r->name);
        ward_health_set(s->cfg.health, key, WARD_HEALTH_OK, NULL, wall_ms);
    }
    ward_log_info(NULL, "collector stopped", "collector", r->name);
}

/* Starts a collector: a fresh state, no back-off, and a run in this round. */
static void start_runner(struct runner *r)
{
    int e = r->c && r->c->init ? r->c->init(&r->state) : 0;
    if (e < 0) {
        /* Tried again when the override changes; the local configuration never had it on. */
        ward_log_error(NULL, "collector failed to start", "collector", r->name, "error",
                       ward_strerror(e));
        r->state = NULL;
        return;
    }
    r->running = true;
    r->failures = 0;
    r->absent = false;
    r->next_due = 0;
    ward_log_info(NULL, "collector started", "collector", r->name);
}

/* Applies the overrides that changed since the last round. */
static void apply_changes(struct ward_scheduler *s, int64_t now_ms)
{
    for (size_t i = 0; i < s->n; i++) {
        struct runner *r = &s->runners[i];
        if (!r->changed)
            continue;
        r->changed = false;
        bool enabled = wanted(r);
        int64_t interval = wanted_interval(r);
        if (r->running && !enabled)
            stop_runner(s, r, ward_now_ms());
        else if (!r->running && enabled)
            start_runner(r);
        if (interval != r->interval_ms) {
            r->interval_ms = interval;
            /* A longer interval starts from the run already due; a shorter one comes sooner. */
            if (r->next_due > now_ms + interval)
                r->next_due = now_ms + interval;
        }
    }
}

int64_t ward_scheduler_run_due(struct ward_scheduler *s, int64_t now_ms, struct ward_batch *out)
{
    int64_t next = INT64_MAX;
    bool any = false;
    apply_changes(s, now_ms);
    for (size_t i = 0; i < s->n; i++) {
        struct runner *r = &s->runners[i];
        if (!r->running)
            continue;
        if (r->next_due <= now_ms) {
            if (!any)
                s->poll_count++;
            any = true;
            run_one(s, r, out);
            r->next_due = next_due(r, now_ms);
        }
        if (r->next_due < next)
            next = r->next_due;
    }
    return next;
}

void ward_scheduler_run_all(struct ward_scheduler *s, struct ward_batch *out)
{
    apply_changes(s, ward_mono_ms());
    s->poll_count++;
    for (size_t i = 0; i < s->n; i++)
        if (s->runners[i].running)
            run_one(s, &s->runners[i], out);
}

uint64_t ward_scheduler_samples_total(struct ward_scheduler *s)
{
    pthread_mutex_lock(&s->lock);
    uint64_t n = s->samples_total;
    pthread_mutex_unlock(&s->lock);
    return n;
}

int ward_scheduler_exposition(struct ward_scheduler *s, struct ward_buf *out)
{
    const struct ward_batch *batches[WARD_MAX_COLLECTORS + 1];
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->n; i++)
        batches[i] = &s->runners[i].last;
    int r = ward_exposition_write(batches, s->n, out);
    pthread_mutex_unlock(&s->lock);
    return r;
}
