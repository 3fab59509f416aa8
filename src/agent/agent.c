/*
 * ward-agent's main loop.
 *
 * One thread does the work: it sleeps until the next collector is due, the
 * next report is, or uploads may go on, whichever comes first, in
 * sigtimedwait() on the stop signals, so a stop ends the wait at once.
 * Collectors run through the scheduler into the open batch; every report
 * interval the batch is sealed (it gets the next seq of this boot),
 * encoded, gzip-compressed and stored in the spool, and uploads take the
 * spool's batches oldest first (delivery.h) until it is empty, an upload
 * fails, or the next collection is due. On a stop the open batch is sealed
 * into the spool and uploads get one upload timeout to finish; whatever is
 * left goes out after the next start. The listener answers /metrics and
 * /health from its own thread, reading the scheduler's snapshots and the
 * health set.
 *
 * Registration (enroll.h) runs in the same loop, next to delivery: when
 * the server refuses the agent's key (a 401 with WWW-Authenticate) to an
 * upload, delivery pauses its uploads to the server, and the loop starts a
 * registration; a 401 like it to the configuration request starts one too,
 * while uploads that work go on. Its steps come due like uploads, and the
 * key it ends with resumes them at once.
 *
 * The central configuration (central-config.h) is asked for in the same
 * way, every --config-interval; a new document it applies (collector
 * overrides, labels on the open batch, probes) makes a round of the
 * scheduler due at once, which puts the overrides in force.
 */
#include "agent/agent.h"

#include "agent/batch.h"
#include "agent/central-config.h"
#include "agent/command-runner.h"
#include "agent/delivery.h"
#include "agent/enroll.h"
#include "agent/exposition.h"
#include "agent/health.h"
#include "agent/identity.h"
#include "agent/listener.h"
#include "agent/vm-import.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/gzip.h"
#include "common/log.h"
#include "common/time-util.h"
#include "ward-version.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Samples in one batch; more are dropped, counted and logged. */
#define BATCH_MAX_SAMPLES 100000
/*
 * gzip level of a sealed batch. Level 1 compresses a batch to about 7% of
 * its JSON in two thirds of level 6's time, which gets it to about 5.5%:
 * at a few kilobytes a batch, the agent's CPU matters more than the bytes.
 */
#define BATCH_GZIP_LEVEL 1

struct agent {
    const struct agent_config *cfg;
    char id[WARD_UUID_STR_LEN];
    int64_t boot;
    int64_t seq;
    struct ward_batch batch;
    struct ward_delivery *delivery;
    struct ward_enroll *enroll;
    struct ward_central *central;
    struct ward_runner *runner; /* diagnostics the server asks for */
    struct ward_health *health;
    size_t dropped_samples; /* of the batch, as last reported */
};

static const char *const collector_names[] = {
#define X(name) #name,
    WARD_AGENT_COLLECTORS
#undef X
};

/* The agent's own metrics beyond the scheduler's: delivery's and the central configuration's. */
static void emit_self(void *agent, const struct ward_collect_ctx *ctx)
{
    struct agent *a = agent;
    ward_delivery_emit(a->delivery, ctx);
    if (a->central)
        ward_central_emit(a->central, ctx);
}

/* The scheduler's view of the configuration. */
static int start_scheduler(const struct agent_config *cfg, struct ward_health *health,
                           struct agent *a, struct ward_collect_settings *settings,
                           struct ward_scheduler **out)
{
    struct ward_collector_config cc[WARD_AGENT_N_COLLECTORS];
    for (size_t i = 0; i < WARD_AGENT_N_COLLECTORS; i++)
        cc[i] = (struct ward_collector_config){
            .name = collector_names[i],
            .enabled = cfg->collectors[i].enabled,
            .interval_ms = cfg->collectors[i].interval_ms,
        };
    *settings = (struct ward_collect_settings){
        .net_exclude = cfg->net_exclude,
        .net_max_interfaces = cfg->net_max_interfaces,
        .top_n = cfg->top_n,
        .statvfs_timeout_ms = cfg->statvfs_timeout_ms,
    };
    struct ward_scheduler_config sc = {
        .root = cfg->root,
        .settings = settings,
        .collectors = cc,
        .n_collectors = WARD_AGENT_N_COLLECTORS,
        .poll_ms = cfg->poll_ms,
        .health = health,
        .self_emit = a ? emit_self : NULL,
        .self_arg = a,
    };
    struct ward_buf err = WARD_BUF_INIT;
    int r = ward_scheduler_new(&sc, out, &err);
    if (r < 0)
        ward_log_error(NULL, "cannot start collectors", "error",
                       err.data ? err.data : ward_strerror(r));
    ward_buf_done(&err);
    return r;
}

/* Seals the open batch into the spool. */
static void seal(struct agent *a)
{
    if (ward_batch_count(&a->batch) == 0)
        return;
    struct ward_buf json = WARD_BUF_INIT, gz = WARD_BUF_INIT;
    int64_t seq = a->seq + 1;
    if (a->batch.dropped != a->dropped_samples) {
        size_t lost = a->batch.dropped - a->dropped_samples;
        char n[24];
        snprintf(n, sizeof(n), "%zu", lost);
        ward_log_warn(NULL, "batch full, samples dropped", "dropped", n);
        ward_delivery_lost(a->delivery, (int64_t)lost);
        a->dropped_samples = a->batch.dropped;
    }
    int64_t samples = (int64_t)ward_batch_count(&a->batch);
    int r = ward_batch_encode_series(&a->batch, a->id, a->boot, seq, &json);
    if (r == 0)
        r = ward_gzip_compress(json.data, json.len, BATCH_GZIP_LEVEL, &gz);
    ward_batch_reset(&a->batch);
    ward_buf_done(&json);
    if (r < 0) {
        ward_log_error(NULL, "cannot encode batch; its samples are counted as dropped", "error",
                       ward_strerror(r));
        ward_delivery_lost(a->delivery, samples);
    } else {
        ward_delivery_store(a->delivery, a->boot, seq, samples, gz.data, gz.len);
        a->seq = seq; /* only a sealed batch uses up its number: no false gaps */
    }
    ward_buf_done(&gz);
}

/* Waits until the monotonic deadline; returns true when a stop signal came. */
static bool wait_until(int64_t deadline_ms, const sigset_t *stop)
{
    int64_t left = deadline_ms - ward_mono_ms();
    if (left <= 0)
        left = 0; /* still look for a pending stop: a busy agent must stop too */
    struct timespec ts = {.tv_sec = left / 1000, .tv_nsec = (left % 1000) * 1000000};
    for (;;) {
        int sig = sigtimedwait(stop, NULL, &ts);
        if (sig > 0)
            return true;
        if (errno == EAGAIN)
            return false;
        /* EINTR: another signal; wait again for what is left. */
        left = deadline_ms - ward_mono_ms();
        if (left < 0)
            left = 0;
        ts = (struct timespec){.tv_sec = left / 1000, .tv_nsec = (left % 1000) * 1000000};
    }
}

/* Advances a periodic deadline past now without bursts after a stall. */
static int64_t next_tick(int64_t tick, int64_t period, int64_t now)
{
    tick += period;
    return tick > now ? tick : now + period;
}

static int64_t min5(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e)
{
    int64_t m = a < b ? a : b;
    m = m < c ? m : c;
    m = m < d ? m : d;
    return m < e ? m : e;
}

/*
 * A rejected key starts a registration; the key a registration ends with
 * resumes uploads. This is the one place where a 401 about the key, from
 * the uploads or from the configuration request, reaches registration.
 */
static void enroll(struct agent *a)
{
    if (ward_delivery_key_rejected(a->delivery) || ward_central_key_rejected(a->central))
        ward_enroll_reject(a->enroll);
    if (ward_mono_ms() >= ward_enroll_due(a->enroll) && ward_enroll_run(a->enroll)) {
        int r = ward_delivery_set_api_key(a->delivery, ward_enroll_key(a->enroll));
        if (r == 0)
            r = ward_central_set_api_key(a->central, ward_enroll_key(a->enroll));
        if (r == 0)
            r = ward_runner_set_api_key(a->runner, ward_enroll_key(a->enroll));
        if (r < 0)
            ward_log_error(NULL, "cannot use the new API key", "error", ward_strerror(r));
    }
}

/* Asks for the central configuration when due; a new one makes a round due at once. */
static void central(struct agent *a, int64_t *next_collect)
{
    if (ward_mono_ms() >= ward_central_due(a->central) && ward_central_run(a->central))
        *next_collect = ward_mono_ms();
}

static int loop(struct agent *a, struct ward_scheduler *sched, const sigset_t *stop)
{
    int64_t now = ward_mono_ms();
    int64_t next_collect = now, next_report = now + a->cfg->report_ms;
    for (;;) {
        if (wait_until(min5(next_collect, next_report, ward_delivery_due(a->delivery),
                            ward_enroll_due(a->enroll), ward_central_due(a->central)),
                       stop))
            break;
        /* First, so that a new configuration is in force for this round already. */
        central(a, &next_collect);
        now = ward_mono_ms();
        if (now >= next_collect)
            next_collect = ward_scheduler_run_due(sched, now, &a->batch);
        /* A full batch seals early, so no batch outgrows --batch-size. */
        if (now >= next_report || ward_batch_count(&a->batch) >= (size_t)a->cfg->batch_samples)
            seal(a);
        if (now >= next_report)
            next_report = next_tick(next_report, a->cfg->report_ms, ward_mono_ms());
        /* Uploads yield to the next collection, and go on after it. */
        if (ward_delivery_run(a->delivery, next_collect, stop))
            break;
        enroll(a);
    }
    ward_log_info(NULL, "stopping: spooling what is collected");
    seal(a);
    /* One upload's time at most: a stop must not wait for a whole backlog. */
    ward_delivery_run(a->delivery, ward_mono_ms() + a->cfg->timeout_ms, NULL);
    char samples[24], left[24];
    snprintf(samples, sizeof(samples), "%llu",
             (unsigned long long)ward_scheduler_samples_total(sched));
    snprintf(left, sizeof(left), "%lld", (long long)ward_delivery_backlog(a->delivery));
    ward_log_info(NULL, "ward-agent stopped", "samples_total", samples, "batches_left", left);
    return 0;
}

int ward_agent_run(const struct agent_config *cfg, const sigset_t *stop)
{
    struct agent *a = calloc(1, sizeof(*a));
    if (!a)
        return 1;
    a->cfg = cfg;
    a->boot = ward_now_ms();
    ward_batch_init(&a->batch, BATCH_MAX_SAMPLES);
    int status = 1;
    struct ward_buf err = WARD_BUF_INIT;
    struct ward_collect_settings settings;
    struct ward_scheduler *sched = NULL;
    struct ward_listener *listener = NULL;

    a->health = ward_health_new();
    if (!a->health)
        goto out;
    int r = ward_identity_load(cfg->state_dir, a->id, &err);
    if (r < 0) {
        ward_log_error(NULL, "cannot load agent id", "error", err.data ? err.data : "");
        goto out;
    }
    char spool[4096];
    if (snprintf(spool, sizeof(spool), "%s/spool.db", cfg->state_dir) >= (int)sizeof(spool)) {
        ward_log_error(NULL, "state directory path too long", "state_dir", cfg->state_dir);
        goto out;
    }
    struct ward_enroll_config ec = {
        .address = cfg->address,
        .tls_ca = cfg->tls_ca,
        .state_dir = cfg->state_dir,
        .agent_id = a->id,
        .hostname = cfg->hostname,
        .api_key = cfg->api_key,
        .enroll_token = cfg->enroll_token,
        .timeout_ms = cfg->timeout_ms,
        .backoff_max_ms = cfg->backoff_max_ms,
        .health = a->health,
    };
    r = ward_enroll_new(&ec, &a->enroll, &err);
    if (r < 0) {
        ward_log_error(NULL, "cannot set up registration", "error",
                       err.data && *err.data ? err.data : ward_strerror(r));
        goto out;
    }
    struct ward_delivery_config dc = {
        .address = cfg->address,
        .tls_ca = cfg->tls_ca,
        .key = cfg->key,
        .api_key = ward_enroll_key(a->enroll),
        .vm_url = cfg->vm_url,
        .timeout_ms = cfg->timeout_ms,
        .spool_path = spool,
        .spool_bytes = cfg->spool_mib * 1024 * 1024,
        .backoff_max_ms = cfg->backoff_max_ms,
        .inflight = cfg->rate_limit,
        .health = a->health,
    };
    r = ward_delivery_new(&dc, &a->delivery, &err);
    if (r == -EINVAL && !err.data) {
        ward_log_error(NULL,
                       "bad server address; expected http(s)://HOST[:PORT][/PATH] or HOST:PORT",
                       "address", cfg->address);
        goto out;
    }
    if (r < 0) {
        ward_log_error(NULL, "cannot set up delivery", "error",
                       err.data && *err.data ? err.data : ward_strerror(r));
        goto out;
    }
    if (start_scheduler(cfg, a->health, a, &settings, &sched) < 0)
        goto out;
    struct ward_central_config cc = {
        .address = cfg->address,
        .tls_ca = cfg->tls_ca,
        .state_dir = cfg->state_dir,
        .agent_id = a->id,
        .api_key = ward_enroll_key(a->enroll),
        .interval_ms = cfg->config_interval_ms,
        .timeout_ms = cfg->timeout_ms,
        .scheduler = sched,
        .batch = &a->batch,
        .probes = true,
        .health = a->health,
    };
    r = ward_central_new(&cc, &a->central, &err);
    if (r < 0) {
        ward_log_error(NULL, "cannot set up the central configuration", "error",
                       err.data && *err.data ? err.data : ward_strerror(r));
        goto out;
    }
    struct ward_runner_config rc = {
        .address = cfg->address,
        .tls_ca = cfg->tls_ca,
        .api_key = ward_enroll_key(a->enroll),
        .root = cfg->root,
        .enabled = cfg->diagnostics,
        .run_timeout_ms = cfg->diagnostics_timeout_ms,
        .request_timeout_ms = cfg->timeout_ms,
        .backoff_max_ms = cfg->backoff_max_ms,
    };
    memcpy(rc.allowed, cfg->diagnostic, sizeof(rc.allowed));
    r = ward_runner_start(&rc, &a->runner, &err);
    if (r < 0) {
        ward_log_error(NULL, "cannot start the command runner", "error",
                       err.data && *err.data ? err.data : ward_strerror(r));
        goto out;
    }
    if (cfg->listen && *cfg->listen) {
        r = ward_listener_start(cfg->listen, sched, a->health, &listener, &err);
        if (r < 0) {
            ward_log_error(NULL, "cannot start the metrics listener", "error", err.data);
            goto out;
        }
    }
    char port[8] = "";
    if (listener)
        snprintf(port, sizeof(port), "%u", ward_listener_port(listener));
    ward_log_info(NULL, "ward-agent started", "version", WARD_VERSION, "id", a->id, "server",
                  ward_delivery_url(a->delivery), "listen", listener ? cfg->listen : "off",
                  "listen_port", port, "api_key",
                  ward_enroll_key(a->enroll) ? (cfg->api_key && *cfg->api_key ? "option" : "stored")
                                             : "none");
    status = loop(a, sched, stop);

out:
    ward_listener_stop(listener);
    ward_runner_stop(a->runner);
    ward_central_free(a->central);
    ward_scheduler_free(sched);
    ward_batch_done(&a->batch);
    ward_delivery_free(a->delivery);
    ward_enroll_free(a->enroll);
    ward_health_free(a->health);
    ward_buf_done(&err);
    free(a);
    return status;
}

int ward_agent_once(const struct agent_config *cfg, const sigset_t *stop)
{
    /* Nothing to flush in this mode: let a stop signal end it as usual. */
    pthread_sigmask(SIG_UNBLOCK, stop, NULL);
    struct ward_collect_settings settings;
    struct ward_scheduler *sched = NULL;
    if (start_scheduler(cfg, NULL, NULL, &settings, &sched) < 0)
        return 1;
    struct ward_batch batch;
    ward_batch_init(&batch, BATCH_MAX_SAMPLES);
    /* A baseline round, so that rates and percentages have a previous reading. */
    ward_scheduler_run_all(sched, &batch);
    ward_batch_reset(&batch);
    usleep(1000 * 1000);
    ward_scheduler_run_all(sched, &batch);

    struct ward_buf out = WARD_BUF_INIT;
    int r;
    if (strcmp(cfg->format, "prom") == 0) {
        r = ward_scheduler_exposition(sched, &out);
    } else if (strcmp(cfg->format, "vm") == 0) {
        /* The wire document, converted as the VictoriaMetrics output converts it. */
        char id[WARD_UUID_STR_LEN] = "00000000-0000-0000-0000-000000000000";
        struct ward_buf wire = WARD_BUF_INIT;
        r = ward_batch_encode(&batch, id, 0, 0, &wire);
        if (r == 0)
            r = ward_vm_import_convert(wire.data, wire.len, &out, NULL);
        r = r < 0 ? r : 0;
        ward_buf_done(&wire);
    } else {
        char id[WARD_UUID_STR_LEN] = "00000000-0000-0000-0000-000000000000";
        r = ward_batch_encode(&batch, id, 0, 0, &out);
        if (r == 0)
            r = ward_buf_putc(&out, '\n');
    }
    if (r == 0 && fwrite(out.data ? out.data : "", 1, out.len, stdout) != out.len)
        r = -EIO;
    if (r < 0)
        fprintf(stderr, "ward-agent: cannot print the collection: %s\n", ward_strerror(r));
    ward_buf_done(&out);
    ward_batch_done(&batch);
    ward_scheduler_free(sched);
    return r < 0 ? 1 : 0;
}
