/*
 * Delivery of sealed batches through the spool (see delivery.h).
 *
 * Each output (ward-server, and VictoriaMetrics when --vm-url is set) keeps
 * its own cursor, the spool id of the last batch it is done with, and its
 * own back-off, so one output's outage never holds up the other: each
 * upload asks the spool for the oldest batch after its cursor. Cursors live
 * in memory only; after a restart an output starts from the oldest row it
 * still has pending. For VictoriaMetrics a batch is converted to import
 * lines (vm-import.h) on the way out. A 401 of the server about the
 * credential (it carries WWW-Authenticate) pauses its output rather than
 * backing it off: retrying with the same key cannot help, and the agent's
 * main loop sees the pause and registers for a key (enroll.h), which
 * resumes the output. A 401 without WWW-Authenticate is about the request's
 * signature (-k, or the clock): a new key cannot help either, so it backs
 * off like a failure and leaves the key and the registration alone.
 */
#include "agent/delivery.h"

#include "agent/spool.h"
#include "agent/uploader.h"
#include "agent/vm-import.h"
#include "common/credential.h"
#include "common/crypto.h"
#include "common/error.h"
#include "common/gzip.h"
#include "common/log.h"
#include "common/time-util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BACKOFF_BASE_MS      INT64_C(1000)
#define MAX_FAILURE_EXPONENT 30

/* Largest VictoriaMetrics body built from one batch, before gzip. */
#define VM_BODY_MAX (256 * 1024 * 1024)

/* One request of a wave: its batch, the body as sent, and the answer. */
struct slot {
    struct ward_uploader *up; /* its own connection */
    const char *path;
    struct ward_spool_batch batch;
    struct ward_buf json, vm;    /* the VictoriaMetrics conversion */
    const struct ward_buf *body; /* what is sent: batch.body or vm; NULL: not converted */
    int convert_error;           /* why body is NULL */
    struct ward_buf resp, err;
    int r;
    long status;
    double seconds;
    struct ward_http_response hr;
    bool have_hr;
    int64_t answered_ms; /* wall clock when the answer came, for the skew */
    pthread_t thread;
};

/* One destination of the spooled batches. */
struct output {
    const char *name;  /* "server" or "vm": the output label */
    const char *check; /* its /health condition */
    unsigned bit;      /* WARD_SPOOL_SERVER or WARD_SPOOL_VM */
    struct slot slot[WARD_DELIVERY_MAX_INFLIGHT];
    size_t inflight;  /* requests at once: slots in use */
    int64_t after;    /* the cursor into the spool */
    bool drained;     /* the last look found nothing after the cursor */
    int64_t retry_at; /* monotonic; uploads wait until then */
    unsigned failures;
    bool paused;         /* the server answered 401: wait for a key (server output only) */
    bool forbidden_told; /* a 403 was logged, and no upload got through since */
    bool signature_told; /* a signature 401 was logged, and no upload got through since */
    /* Figures for the agent's metrics. */
    uint64_t uploaded_samples, uploaded_batches, upload_failures;
    double upload_seconds; /* of the last upload */
};

struct ward_delivery {
    struct ward_spool *spool;
    struct ward_health *health;
    int64_t backoff_max_ms;
    struct output out[2];
    size_t n_out;
    uint64_t dropped_seen; /* the spool's drop count after the last append */
    bool dropping;         /* appends dropped data, and the spool is not below half yet */
    int append_error;      /* of the last append, or 0 */
    bool have_skew;
    int64_t skew_ms; /* local clock minus the server's */
    bool skew_warned;
    bool have_api_key; /* uploads to the server carry one */
};

static const struct ward_metric m_rows = {"agent", "spool_batches", WARD_SAMPLE_GAUGE,
                                          "Batches in the spool."};
static const struct ward_metric m_spool_samples = {"agent", "spool_samples", WARD_SAMPLE_GAUGE,
                                                   "Samples in the spool."};
static const struct ward_metric m_bytes = {"agent", "spool_bytes", WARD_SAMPLE_GAUGE,
                                           "Bytes the spooled batches take on disk."};
static const struct ward_metric m_budget = {"agent", "spool_capacity_bytes", WARD_SAMPLE_GAUGE,
                                            "Bytes the spooled batches may take."};
static const struct ward_metric m_dropped = {
    "agent", "spool_dropped_samples_total", WARD_SAMPLE_COUNTER,
    "Samples dropped, oldest first, to keep the spool within its cap."};
static const struct ward_metric m_dead = {
    "agent", "dead_letter_samples_total", WARD_SAMPLE_COUNTER,
    "Samples in batches an output refused for good (4xx), given up on."};
static const struct ward_metric m_recovered = {
    "agent", "spool_recovered_total", WARD_SAMPLE_COUNTER,
    "Corrupt spools moved aside and replaced since the agent started."};
static const struct ward_metric m_uploaded = {"agent", "uploaded_samples_total",
                                              WARD_SAMPLE_COUNTER, "Samples the output accepted."};
static const struct ward_metric m_uploaded_batches = {
    "agent", "uploaded_batches_total", WARD_SAMPLE_COUNTER, "Batches the output accepted."};
static const struct ward_metric m_failures = {
    "agent", "upload_failures_total", WARD_SAMPLE_COUNTER,
    "Uploads that failed and will be retried (network errors, timeouts, a 401 for the signature, "
    "403, 408, 429, 5xx)."};
static const struct ward_metric m_upload_seconds = {"agent", "upload_seconds", WARD_SAMPLE_GAUGE,
                                                    "Duration of the last upload."};
static const struct ward_metric m_claimed = {
    "agent", "claimed", WARD_SAMPLE_GAUGE,
    "1 when uploads carry an API key the server has not rejected, else 0."};
static const struct ward_metric m_skew = {
    "agent", "time_skew_ms", WARD_SAMPLE_GAUGE,
    "The agent's clock minus the server's, from the server's Date header."};

/* Sets up output o's slots, one connection each, to address. */
static int output_init(struct output *o, const struct ward_delivery_config *cfg,
                       const char *address, const char *path, const char *key, struct ward_buf *err)
{
    o->inflight = cfg->inflight < 1                            ? 1
                  : cfg->inflight > WARD_DELIVERY_MAX_INFLIGHT ? WARD_DELIVERY_MAX_INFLIGHT
                                                               : (size_t)cfg->inflight;
    for (size_t i = 0; i < o->inflight; i++) {
        struct slot *sl = &o->slot[i];
        sl->path = path;
        sl->batch.body = (struct ward_buf)WARD_BUF_INIT;
        ward_buf_init(&sl->json, VM_BODY_MAX);
        ward_buf_init(&sl->vm, VM_BODY_MAX);
        ward_buf_init(&sl->resp, 0);
        ward_buf_init(&sl->err, 0);
        int r = ward_uploader_new_ca(address, (long)cfg->timeout_ms, cfg->tls_ca, &sl->up, err);
        if (r == 0)
            r = ward_uploader_set_key(sl->up, key);
        if (r == 0 && o->bit == WARD_SPOOL_SERVER)
            r = ward_uploader_set_api_key(sl->up, cfg->api_key);
        if (r < 0)
            return r;
    }
    return 0;
}

static void output_done(struct output *o)
{
    for (size_t i = 0; i < o->inflight; i++) {
        struct slot *sl = &o->slot[i];
        ward_uploader_free(sl->up);
        ward_buf_done(&sl->batch.body);
        ward_buf_done(&sl->json);
        ward_buf_done(&sl->vm);
        ward_buf_done(&sl->resp);
        ward_buf_done(&sl->err);
    }
}

/*
 * Sets the spool's health: error while appends drop data (the cap, or a
 * full disk), until an append keeps everything and the spool is below half
 * full again; degraded above half full.
 */
static void check_spool(struct ward_delivery *d)
{
    if (!d->health)
        return;
    struct ward_spool_stats st;
    ward_spool_stats(d->spool, &st);
    char reason[4200];
    if (st.recovered) {
        snprintf(reason, sizeof(reason), "the spool was corrupt and was moved to %s",
                 ward_spool_moved_to(d->spool));
        ward_health_set(d->health, "spool-recovered", WARD_HEALTH_DEGRADED, reason, ward_now_ms());
    }
    if (d->append_error) {
        snprintf(reason, sizeof(reason), "cannot write the spool (%s): dropped %llu samples so far",
                 ward_strerror(d->append_error), (unsigned long long)st.dropped_samples);
        ward_health_set(d->health, "spool", WARD_HEALTH_ERROR, reason, ward_now_ms());
    } else if (d->dropping) {
        snprintf(reason, sizeof(reason), "spool full: dropped %llu samples so far, oldest first",
                 (unsigned long long)st.dropped_samples);
        ward_health_set(d->health, "spool", WARD_HEALTH_ERROR, reason, ward_now_ms());
    } else if (st.bytes > st.budget / 2) {
        snprintf(reason, sizeof(reason), "spool %lld%% full",
                 (long long)(st.bytes * 100 / (st.budget ? st.budget : 1)));
        ward_health_set(d->health, "spool", WARD_HEALTH_DEGRADED, reason, ward_now_ms());
    } else {
        ward_health_set(d->health, "spool", WARD_HEALTH_OK, NULL, ward_now_ms());
    }
}

int ward_delivery_new(const struct ward_delivery_config *cfg, struct ward_delivery **out,
                      struct ward_buf *err)
{
    struct ward_delivery *d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->health = cfg->health;
    d->backoff_max_ms = cfg->backoff_max_ms;
    d->out[0] = (struct output){.name = "server", .check = "upload", .bit = WARD_SPOOL_SERVER};
    d->n_out = 1;
    d->have_api_key = cfg->api_key && *cfg->api_key;
    int r = output_init(&d->out[0], cfg, cfg->address, "/api/v1/ingest", cfg->key, err);
    if (r == 0 && cfg->vm_url && *cfg->vm_url) {
        d->out[1] = (struct output){.name = "vm", .check = "upload-vm", .bit = WARD_SPOOL_VM};
        d->n_out = 2;
        r = output_init(&d->out[1], cfg, cfg->vm_url, "/api/v1/import", NULL, err);
    }
    if (r == 0)
        r = ward_spool_open(cfg->spool_path, cfg->spool_bytes,
                            WARD_SPOOL_SERVER | (d->n_out > 1 ? WARD_SPOOL_VM : 0), &d->spool, err);
    if (r < 0) {
        ward_delivery_free(d);
        return r;
    }
    struct ward_spool_stats st;
    ward_spool_stats(d->spool, &st);
    d->dropped_seen = st.dropped_samples;
    check_spool(d);
    *out = d;
    return 0;
}

void ward_delivery_free(struct ward_delivery *d)
{
    if (!d)
        return;
    ward_spool_close(d->spool);
    for (size_t i = 0; i < d->n_out; i++)
        output_done(&d->out[i]);
    free(d);
}

const char *ward_delivery_url(const struct ward_delivery *d)
{
    return ward_uploader_url(d->out[0].slot[0].up);
}

void ward_delivery_store(struct ward_delivery *d, int64_t boot, int64_t seq, int64_t n_samples,
                         const void *body, size_t len)
{
    int r = ward_spool_append(d->spool, boot, seq, n_samples, body, len);
    struct ward_spool_stats st;
    ward_spool_stats(d->spool, &st);
    char n[24];
    snprintf(n, sizeof(n), "%lld", (long long)n_samples);
    if (r == -E2BIG) {
        ward_log_error(NULL, "a batch is larger than the whole spool; dropped and counted",
                       "samples", n);
        r = 0;
    }
    /* Logged when it starts failing and when it works again, not every round. */
    if (r < 0 && r != d->append_error)
        ward_log_error(NULL, "cannot spool a batch; its samples are counted as dropped", "samples",
                       n, "error", ward_strerror(r));
    if (r >= 0 && d->append_error)
        ward_log_info(NULL, "the spool takes batches again");
    d->append_error = r < 0 ? r : 0;
    if (st.dropped_samples != d->dropped_seen)
        d->dropping = true;
    else if (st.bytes <= st.budget / 2)
        d->dropping = false;
    d->dropped_seen = st.dropped_samples;
    for (size_t i = 0; i < d->n_out; i++)
        d->out[i].drained = false;
    check_spool(d);
}

void ward_delivery_lost(struct ward_delivery *d, int64_t n_samples)
{
    ward_spool_lost(d->spool, n_samples);
    check_spool(d);
}

int64_t ward_delivery_due(const struct ward_delivery *d)
{
    int64_t due = INT64_MAX;
    for (size_t i = 0; i < d->n_out; i++)
        if (!d->out[i].drained && !d->out[i].paused && d->out[i].retry_at < due)
            due = d->out[i].retry_at;
    return due;
}

bool ward_delivery_key_rejected(const struct ward_delivery *d)
{
    return d->out[0].paused;
}

int ward_delivery_set_api_key(struct ward_delivery *d, const char *key)
{
    struct output *o = &d->out[0];
    if (key && *key && ward_cred_check(key) < 0)
        return -EINVAL;
    for (size_t i = 0; i < o->inflight; i++) {
        int r = ward_uploader_set_api_key(o->slot[i].up, key);
        if (r < 0) {
            /* Out of memory: no slot keeps the old key, so none sends a mix. */
            for (size_t j = 0; j < o->inflight; j++)
                ward_uploader_set_api_key(o->slot[j].up, NULL);
            d->have_api_key = false;
            return r;
        }
    }
    d->have_api_key = key && *key;
    if (o->paused) {
        o->paused = false;
        o->retry_at = 0;
        o->drained = false;
        ward_log_info(NULL, "uploads resume with a new API key", "output", o->name);
    }
    return 0;
}

int64_t ward_delivery_backlog(struct ward_delivery *d)
{
    struct ward_spool_stats st;
    ward_spool_stats(d->spool, &st);
    return st.rows;
}

/* Notes the clock skew from a response's Date header (which has whole seconds). */
static void note_skew(struct ward_delivery *d, const char *date, int64_t local_ms)
{
    int64_t server_ms;
    if (!ward_http_date_parse(date, &server_ms))
        return;
    d->skew_ms = local_ms - (server_ms + 500);
    d->have_skew = true;
    bool big = d->skew_ms > WARD_SKEW_WARN_MS || d->skew_ms < -WARD_SKEW_WARN_MS;
    if (big && !d->skew_warned) {
        char ms[24];
        snprintf(ms, sizeof(ms), "%lld", (long long)d->skew_ms);
        ward_log_warn(NULL, "the agent's clock differs from the server's", "skew_ms", ms);
    }
    d->skew_warned = big;
}

/* Waits before the next attempt: full jitter over an exponential window, or Retry-After. */
static void back_off(struct ward_delivery *d, struct output *o, int64_t retry_after)
{
    unsigned n = o->failures < MAX_FAILURE_EXPONENT ? o->failures : MAX_FAILURE_EXPONENT;
    int64_t window = BACKOFF_BASE_MS << n;
    if (window > d->backoff_max_ms || window <= 0)
        window = d->backoff_max_ms;
    uint64_t rnd = 0;
    ward_random_bytes(&rnd, sizeof(rnd));
    int64_t wait = (int64_t)(rnd % (uint64_t)(window + 1));
    if (retry_after > wait)
        wait = retry_after;
    o->retry_at = ward_mono_ms() + wait;
    if (o->failures < MAX_FAILURE_EXPONENT)
        o->failures++;
}

/*
 * Sets sl->body to what output o sends for sl->batch: the spooled gzip as
 * it is for the server; for VictoriaMetrics, its import lines,
 * gzip-compressed. NULL when the batch cannot be converted.
 */
static void prepare(const struct output *o, struct slot *sl)
{
    sl->body = &sl->batch.body;
    if (o->bit == WARD_SPOOL_SERVER)
        return;
    ward_buf_reset(&sl->json);
    ward_buf_reset(&sl->vm);
    struct ward_buf lines = WARD_BUF_INIT, err = WARD_BUF_INIT;
    int r = ward_gzip_decompress(sl->batch.body.data, sl->batch.body.len, sl->batch.body.len,
                                 VM_BODY_MAX, &sl->json);
    if (r == 0)
        r = ward_vm_import_convert(sl->json.data, sl->json.len, &lines, &err);
    if (r >= 0)
        r = ward_gzip_compress(lines.data ? lines.data : "", lines.len, 1, &sl->vm);
    if (r < 0)
        ward_log_error(NULL, "cannot convert a batch for VictoriaMetrics", "error",
                       err.data ? err.data : ward_strerror(r));
    sl->body = r < 0 ? NULL : &sl->vm;
    sl->convert_error = r < 0 ? r : 0;
    ward_buf_done(&lines);
    ward_buf_done(&err);
}

/* True when a stop signal is pending; takes it. */
static bool stop_requested(const sigset_t *stop)
{
    struct timespec zero = {0};
    return stop && sigtimedwait(stop, NULL, &zero) > 0;
}

/* Sends one slot's request; runs on the wave's threads. */
static void *send_slot(void *arg)
{
    struct slot *sl = arg;
    ward_buf_reset(&sl->resp);
    ward_buf_reset(&sl->err);
    sl->status = 0;
    int64_t t0 = ward_mono_ns();
    sl->r = ward_uploader_post_gzip(sl->up, sl->path, sl->body->data, sl->body->len, &sl->status,
                                    &sl->resp, &sl->err);
    sl->seconds = (double)(ward_mono_ns() - t0) / 1e9;
    sl->answered_ms = ward_now_ms();
    const struct ward_http_response *hr = ward_uploader_last_response(sl->up);
    sl->have_hr = sl->r == 0 && hr;
    if (sl->have_hr)
        sl->hr = *hr;
    return NULL;
}

/* Sends slots [0, n) at once: the first on this thread, the others on their own. */
static void send_wave(struct output *o, size_t n)
{
    bool started[WARD_DELIVERY_MAX_INFLIGHT] = {false};
    for (size_t i = 1; i < n; i++)
        started[i] = o->slot[i].body &&
                     pthread_create(&o->slot[i].thread, NULL, send_slot, &o->slot[i]) == 0;
    for (size_t i = 0; i < n; i++)
        if (o->slot[i].body && (i == 0 || !started[i]))
            send_slot(&o->slot[i]); /* without a thread, in turn */
    for (size_t i = 1; i < n; i++)
        if (started[i])
            pthread_join(o->slot[i].thread, NULL);
}

enum outcome {
    DELIVERED,
    DEAD,     /* refused for good, or unconvertible */
    RETRY,    /* try again after the back-off */
    REJECTED, /* the server does not take the agent's key (401): pause for a new one */
};

/*
 * A 401 without WWW-Authenticate: the server knows the credential but not
 * the request's signature (a -k other than the server's, or a clock off by
 * more than the server allows). Neither a new key nor a registration can
 * help, so both are left alone; the batch stays and uploads back off.
 */
static enum outcome refused_signature(struct ward_delivery *d, struct output *o, struct slot *sl)
{
    o->upload_failures++;
    if (!o->signature_told)
        ward_log_error(NULL,
                       "the server refused the request signature: check that -k is the server's "
                       "key and that the agent's clock is right; batches are kept and retried",
                       "output", o->name, "status", "401", "response",
                       sl->resp.data ? sl->resp.data : "");
    o->signature_told = true;
    if (d->health)
        ward_health_set(d->health, o->check, WARD_HEALTH_DEGRADED,
                        "the server refused the request signature (401): check -k and the clock",
                        ward_now_ms());
    return RETRY;
}

/* Settles a 401 or 403 of the server, which keeps the batch: it is not the batch's fault. */
static enum outcome refused_credentials(struct ward_delivery *d, struct output *o, struct slot *sl)
{
    const char *why = sl->resp.data ? sl->resp.data : "";
    if (sl->status == 401 && !(sl->have_hr && sl->hr.www_authenticate))
        return refused_signature(d, o, sl);
    if (sl->status == 401) {
        if (!o->paused)
            ward_log_warn(NULL,
                          "the server refused the agent's credentials; uploads to it pause until "
                          "the agent has a key it takes",
                          "output", o->name, "status", "401", "response", why);
        o->paused = true;
        if (d->health)
            ward_health_set(d->health, o->check, WARD_HEALTH_DEGRADED,
                            d->have_api_key ? "the server rejected the agent's API key (401)"
                                            : "the server requires an API key (401)",
                            ward_now_ms());
        return REJECTED;
    }
    o->upload_failures++;
    if (!o->forbidden_told)
        ward_log_error(NULL,
                       "the server refused the agent's API key: it belongs to another agent; "
                       "batches are kept and retried",
                       "output", o->name, "status", "403", "response", why);
    o->forbidden_told = true;
    if (d->health)
        ward_health_set(d->health, o->check, WARD_HEALTH_DEGRADED,
                        "the server refused the agent's API key: it belongs to another agent (403)",
                        ward_now_ms());
    return RETRY;
}

/* Settles one answered slot in the spool and the figures. */
static enum outcome settle(struct ward_delivery *d, struct output *o, struct slot *sl)
{
    if (!sl->body) {
        /* Out of memory passes; a batch that cannot be converted never will. */
        if (sl->convert_error == -ENOMEM)
            return RETRY;
        return ward_spool_dead(d->spool, o->bit, sl->batch.id) < 0 ? RETRY : DEAD;
    }
    o->upload_seconds = sl->seconds;
    if (sl->have_hr && o->bit == WARD_SPOOL_SERVER)
        note_skew(d, sl->hr.date, sl->answered_ms);
    char code[16];
    snprintf(code, sizeof(code), "%ld", sl->status);
    if (sl->r == 0 && sl->status >= 200 && sl->status < 300) {
        o->uploaded_samples += (uint64_t)sl->batch.samples;
        o->uploaded_batches++;
        /* Unrecorded, it would be sent again: the server takes it once anyway. */
        return ward_spool_delivered(d->spool, o->bit, sl->batch.id) < 0 ? RETRY : DELIVERED;
    }
    long st = sl->status;
    if (sl->r == 0 && (st == 401 || st == 403) && o->bit == WARD_SPOOL_SERVER)
        return refused_credentials(d, o, sl);
    if (sl->r == 0 && st >= 400 && st < 500 && st != 408 && st != 429) {
        char seq[48];
        snprintf(seq, sizeof(seq), "%lld/%lld", (long long)sl->batch.boot,
                 (long long)sl->batch.seq);
        ward_log_error(NULL, "an output refused a batch for good; dropping it", "output", o->name,
                       "status", code, "batch", seq, "response",
                       sl->resp.data ? sl->resp.data : "");
        return ward_spool_dead(d->spool, o->bit, sl->batch.id) < 0 ? RETRY : DEAD;
    }
    o->upload_failures++;
    const char *why = sl->r < 0 ? (sl->err.data ? sl->err.data : "no connection") : code;
    if (d->health) {
        char reason[200];
        snprintf(reason, sizeof(reason), "uploads to %s failing: %s", ward_uploader_url(sl->up),
                 why);
        ward_health_set(d->health, o->check, WARD_HEALTH_DEGRADED, reason, ward_now_ms());
    }
    if (o->failures == 0)
        ward_log_warn(NULL, "upload failed, will retry", "output", o->name, "url",
                      ward_uploader_url(sl->up), "status", code, "error",
                      sl->r < 0 ? why : (sl->resp.data ? sl->resp.data : ""));
    return RETRY;
}

/*
 * One wave of output o: the next batches after its cursor, at most one per
 * slot, sent at once and settled in order. The cursor moves past the
 * batches settled before the first one to retry; later ones that got
 * through are gone from o's pending set, so the next wave does not see
 * them. Returns false when o should stop for now (drained, or backing off).
 */
static bool run_wave(struct ward_delivery *d, struct output *o)
{
    size_t n = 0;
    int64_t after = o->after;
    while (n < o->inflight) {
        struct slot *sl = &o->slot[n];
        int r = ward_spool_next(d->spool, o->bit, after, &sl->batch);
        if (r < 0) {
            ward_log_error(NULL, "cannot read the spool", "error", ward_strerror(r));
            back_off(d, o, 0);
            return false;
        }
        if (r == 0)
            break;
        after = sl->batch.id;
        prepare(o, sl);
        n++;
    }
    if (n == 0) {
        o->drained = true;
        return false;
    }
    send_wave(o, n);
    bool retry = false;
    int64_t retry_after = 0;
    for (size_t i = 0; i < n; i++) {
        struct slot *sl = &o->slot[i];
        enum outcome out = settle(d, o, sl);
        if ((out == RETRY || out == REJECTED) && !retry) {
            retry = true;
            if (sl->have_hr)
                retry_after = ward_http_retry_after_ms(&sl->hr);
        }
        if (!retry)
            o->after = sl->batch.id;
    }
    if (o->paused)
        return false; /* until ward_delivery_set_api_key() */
    if (retry) {
        back_off(d, o, retry_after);
        return false;
    }
    if (o->failures) {
        ward_log_info(NULL, "uploads recovered", "output", o->name);
        o->failures = 0;
    }
    o->forbidden_told = o->signature_told = false;
    if (d->health)
        ward_health_set(d->health, o->check, WARD_HEALTH_OK, NULL, ward_now_ms());
    return true;
}

/* Runs output o until it is drained, fails, the deadline passes or a stop comes. */
static bool run_output(struct ward_delivery *d, struct output *o, int64_t deadline_ms,
                       const sigset_t *stop)
{
    bool stopping = false;
    while (!o->drained && !o->paused && ward_mono_ms() >= o->retry_at &&
           ward_mono_ms() < deadline_ms && !(stopping = stop_requested(stop)) && run_wave(d, o)) {
    }
    return stopping;
}

bool ward_delivery_run(struct ward_delivery *d, int64_t deadline_ms, const sigset_t *stop)
{
    bool stopping = false;
    for (size_t i = 0; i < d->n_out && !stopping; i++)
        stopping = run_output(d, &d->out[i], deadline_ms, stop);
    check_spool(d);
    return stopping;
}

void ward_delivery_emit(struct ward_delivery *d, const struct ward_collect_ctx *ctx)
{
    struct ward_spool_stats st;
    ward_spool_stats(d->spool, &st);
    ward_emit0(ctx, &m_rows, (double)st.rows);
    ward_emit0(ctx, &m_spool_samples, (double)st.samples);
    ward_emit0(ctx, &m_bytes, (double)st.bytes);
    ward_emit0(ctx, &m_budget, (double)st.budget);
    ward_emit0(ctx, &m_dropped, (double)st.dropped_samples);
    ward_emit0(ctx, &m_dead, (double)st.dead_samples);
    ward_emit0(ctx, &m_recovered, (double)st.recovered);
    for (size_t i = 0; i < d->n_out; i++) {
        const struct output *o = &d->out[i];
        ward_emit1(ctx, &m_uploaded, (double)o->uploaded_samples, "output", o->name);
        ward_emit1(ctx, &m_uploaded_batches, (double)o->uploaded_batches, "output", o->name);
        ward_emit1(ctx, &m_failures, (double)o->upload_failures, "output", o->name);
        ward_emit1(ctx, &m_upload_seconds, o->upload_seconds, "output", o->name);
    }
    ward_emit0(ctx, &m_claimed, d->have_api_key && !d->out[0].paused ? 1 : 0);
    if (d->have_skew)
        ward_emit0(ctx, &m_skew, (double)d->skew_ms);
}
