/*
 * ward-agent: collects host metrics and ships them to ward-server.
 *
 * One thread runs the whole cycle. Every poll interval each collector emits
 * into the open batch; every report interval the batch is sealed, encoded,
 * gzip-compressed and queued, and the queue is sent oldest first until the
 * server fails to take a batch. The queue is bounded and drops its oldest
 * batch when full, counting what it dropped. The wait between steps is a
 * sigtimedwait() on SIGINT and SIGTERM, so a stop request ends the wait at
 * once and the agent makes one last delivery attempt before it exits.
 */
#include "agent/batch.h"
#include "agent/collector.h"
#include "agent/identity.h"
#include "agent/uploader.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/config.h"
#include "common/error.h"
#include "common/gzip.h"
#include "common/log.h"
#include "common/time-util.h"
#include "ward-version.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Batches kept while the server is unreachable: an hour at the default report interval. */
#define QUEUE_MAX 360
/* Samples in one batch; more are dropped and counted. */
#define BATCH_MAX_SAMPLES 100000

struct agent_config {
    char *address;
    int64_t poll_ms;
    int64_t report_ms;
    char *state_dir;
    char *root;
    int64_t timeout_ms;
    char *log_level;
    char *log_format;
};

/* One option; a trailing argument may add a field such as .choices. */
#define OPT(name_, short_, env_, type_, field, def_, min_, max_, metavar_, help_, ...)             \
    {                                                                                              \
        .name = name_, .short_name = short_, .env = env_, .type = type_,                           \
        .offset = offsetof(struct agent_config, field), .def = def_, .min = min_, .max = max_,     \
        .metavar = metavar_, .help = help_, __VA_ARGS__                                            \
    }

static const struct ward_option options[] = {
    OPT("address", 'a', "ADDRESS", WARD_OPT_STRING, address, "http://localhost:8080", 0, 0, "URL",
        "server URL, or HOST:PORT for http"),
    OPT("poll-interval", 'p', "POLL_INTERVAL", WARD_OPT_DURATION, poll_ms, "2s", 100, 86400000,
        "DURATION", "how often to collect samples"),
    OPT("report-interval", 'r', "REPORT_INTERVAL", WARD_OPT_DURATION, report_ms, "10s", 100,
        86400000, "DURATION", "how often to send collected samples"),
    OPT("state-dir", 0, "WARD_STATE_DIR", WARD_OPT_STRING, state_dir, "/var/lib/ward-agent", 0, 0,
        "DIR", "where the agent keeps its id"),
    OPT("root", 0, "WARD_ROOT", WARD_OPT_STRING, root, "", 0, 0, "DIR",
        "read /proc and /sys under this directory (for containers and tests)"),
    OPT("timeout", 0, "WARD_TIMEOUT", WARD_OPT_DURATION, timeout_ms, "10s", 100, 600000, "DURATION",
        "time limit of one upload"),
    OPT("log-level", 0, "WARD_LOG_LEVEL", WARD_OPT_STRING, log_level, "info", 0, 0, "LEVEL",
        "debug, info, warn or error", .choices = ward_log_level_choices),
    OPT("log-format", 0, "WARD_LOG_FORMAT", WARD_OPT_STRING, log_format, "text", 0, 0, "FORMAT",
        "text or json", .choices = ward_log_format_choices),
};

static const struct ward_program program = {
    .name = "ward-agent",
    .version = WARD_VERSION,
    .summary = "Collects host metrics and sends them to ward-server.",
    .options = options,
    .n_options = sizeof(options) / sizeof(options[0]),
};

struct pending {
    char *body; /* gzip-compressed JSON */
    size_t len;
    int64_t seq;
};

struct agent {
    const struct agent_config *cfg;
    char id[WARD_UUID_STR_LEN];
    int64_t boot;
    int64_t seq;
    void *states[16];
    struct ward_batch batch;
    struct ward_uploader *up;
    struct pending queue[QUEUE_MAX];
    size_t head, count;
    uint64_t dropped_batches;
    bool failing;
};

static void collect(struct agent *a)
{
    struct ward_collect_ctx ctx = {.root = a->cfg->root, .sink = &a->batch.sink};
    ctx.now_ms = a->batch.ts_ms = ward_now_ms();
    for (size_t i = 0; i < ward_n_collectors; i++) {
        int r = ward_collectors[i]->collect(a->states[i], &ctx);
        if (r < 0)
            ward_log_warn(NULL, "collector failed", "collector", ward_collectors[i]->name, "error",
                          ward_strerror(r));
    }
}

static void enqueue(struct agent *a, char *body, size_t len, int64_t seq)
{
    if (a->count == QUEUE_MAX) {
        struct pending *old = &a->queue[a->head];
        free(old->body);
        a->head = (a->head + 1) % QUEUE_MAX;
        a->count--;
        a->dropped_batches++;
        char n[24];
        snprintf(n, sizeof(n), "%llu", (unsigned long long)a->dropped_batches);
        ward_log_warn(NULL, "queue full, dropped the oldest batch", "dropped_total", n);
    }
    a->queue[(a->head + a->count) % QUEUE_MAX] = (struct pending){body, len, seq};
    a->count++;
}

/* Seals the open batch into the queue. */
static void seal(struct agent *a)
{
    if (ward_batch_count(&a->batch) == 0)
        return;
    struct ward_buf json = WARD_BUF_INIT, gz = WARD_BUF_INIT;
    int64_t seq = ++a->seq;
    int r = ward_batch_encode(&a->batch, a->id, a->boot, seq, &json);
    if (r == 0)
        r = ward_gzip_compress(json.data, json.len, 0, &gz);
    ward_batch_reset(&a->batch);
    ward_buf_done(&json);
    if (r < 0) {
        ward_log_error(NULL, "cannot encode batch", "error", ward_strerror(r));
        ward_buf_done(&gz);
        return;
    }
    size_t len = gz.len;
    enqueue(a, ward_buf_steal(&gz), len, seq);
}

/* Sends queued batches oldest first; stops at the first one the server does not take. */
static void deliver(struct agent *a)
{
    struct ward_buf err = WARD_BUF_INIT, resp = WARD_BUF_INIT;
    while (a->count) {
        struct pending *p = &a->queue[a->head];
        long status = 0;
        ward_buf_reset(&resp);
        int r =
            ward_uploader_post_gzip(a->up, "/api/v1/ingest", p->body, p->len, &status, &resp, &err);
        char code[16];
        snprintf(code, sizeof(code), "%ld", status);
        bool done = r == 0 && status >= 200 && status < 300;
        bool rejected = r == 0 && status >= 400 && status < 500 && status != 408 && status != 429;
        if (!done && !rejected) {
            if (!a->failing)
                ward_log_warn(NULL, "upload failed, will retry", "url", ward_uploader_url(a->up),
                              "status", code, "error",
                              r < 0       ? err.data
                              : resp.data ? resp.data
                                          : "");
            a->failing = true;
            break;
        }
        if (rejected)
            ward_log_error(NULL, "server rejected a batch, dropping it", "status", code, "response",
                           resp.data ? resp.data : "");
        else if (a->failing)
            ward_log_info(NULL, "uploads recovered");
        a->failing = false;
        free(p->body);
        a->head = (a->head + 1) % QUEUE_MAX;
        a->count--;
    }
    ward_buf_done(&err);
    ward_buf_done(&resp);
}

/* Waits until the monotonic deadline; returns true when a stop signal came. */
static bool wait_until(int64_t deadline_ms, const sigset_t *stop)
{
    int64_t left = deadline_ms - ward_mono_ms();
    if (left <= 0)
        return false;
    struct timespec ts = {.tv_sec = left / 1000, .tv_nsec = (left % 1000) * 1000000};
    for (;;) {
        int sig = sigtimedwait(stop, NULL, &ts);
        if (sig > 0)
            return true;
        if (errno == EAGAIN)
            return false;
        /* EINTR: another signal; wait again for what is left. */
        left = deadline_ms - ward_mono_ms();
        if (left <= 0)
            return false;
        ts = (struct timespec){.tv_sec = left / 1000, .tv_nsec = (left % 1000) * 1000000};
    }
}

/* Advances a periodic deadline past now without bursts after a stall. */
static int64_t next_tick(int64_t tick, int64_t period, int64_t now)
{
    tick += period;
    return tick > now ? tick : now + period;
}

static int run(struct agent *a, const sigset_t *stop)
{
    const struct agent_config *cfg = a->cfg;
    int64_t now = ward_mono_ms();
    int64_t next_poll = now, next_report = now + cfg->report_ms;
    for (;;) {
        int64_t deadline = next_poll < next_report ? next_poll : next_report;
        if (wait_until(deadline, stop))
            break;
        now = ward_mono_ms();
        if (now >= next_poll) {
            collect(a);
            next_poll = next_tick(next_poll, cfg->poll_ms, now);
        }
        if (now >= next_report) {
            seal(a);
            deliver(a);
            next_report = next_tick(next_report, cfg->report_ms, ward_mono_ms());
        }
    }
    ward_log_info(NULL, "stopping: sending what is collected");
    seal(a);
    deliver(a);
    if (a->count) {
        char n[24];
        snprintf(n, sizeof(n), "%zu", a->count);
        ward_log_warn(NULL, "batches not delivered at exit", "batches", n);
    }
    return 0;
}

static int agent_main(const struct agent_config *cfg, const sigset_t *stop)
{
    struct agent *a = calloc(1, sizeof(*a));
    if (!a)
        return 1;
    a->cfg = cfg;
    a->boot = ward_now_ms();
    int status = 1;
    struct ward_buf err = WARD_BUF_INIT;
    int r = ward_identity_load(cfg->state_dir, a->id, &err);
    if (r < 0) {
        ward_log_error(NULL, "cannot load agent id", "error", err.data ? err.data : "");
        goto out;
    }
    r = ward_uploader_new(cfg->address, (long)cfg->timeout_ms, &a->up);
    if (r < 0) {
        ward_log_error(NULL, "bad server address; expected http(s)://HOST:PORT or HOST:PORT",
                       "address", cfg->address);
        goto out;
    }
    ward_batch_init(&a->batch, BATCH_MAX_SAMPLES);
    for (size_t i = 0; i < ward_n_collectors && i < WARD_ARRAY_SIZE(a->states); i++) {
        const struct ward_collector *c = ward_collectors[i];
        if (c->init && (r = c->init(&a->states[i])) < 0) {
            ward_log_error(NULL, "collector init failed", "collector", c->name, "error",
                           ward_strerror(r));
            goto out_batch;
        }
    }

    ward_log_info(NULL, "ward-agent started", "version", WARD_VERSION, "id", a->id, "server",
                  ward_uploader_url(a->up));
    status = run(a, stop);

out_batch:
    for (size_t i = 0; i < ward_n_collectors && i < WARD_ARRAY_SIZE(a->states); i++)
        if (ward_collectors[i]->done)
            ward_collectors[i]->done(a->states[i]);
    ward_batch_done(&a->batch);
    for (size_t i = 0; i < a->count; i++)
        free(a->queue[(a->head + i) % QUEUE_MAX].body);
out:
    ward_uploader_free(a->up);
    ward_buf_done(&err);
    free(a);
    return status;
}

int main(int argc, char **argv)
{
    /*
     * Block the stop signals first thing, before any thread exists, so every
     * thread inherits the mask and a stop request is never lost to the
     * default action while starting up; the main loop waits for them.
     */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct agent_config cfg;
    int first_arg;
    int r = ward_config_main(&program, &cfg, argc, argv, &first_arg);
    if (r >= 0)
        return r;
    ward_log_setup_named(cfg.log_level, cfg.log_format, NULL);
    r = agent_main(&cfg, &stop);
    ward_config_done(&program, &cfg);
    return r;
}
