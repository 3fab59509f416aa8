/*
 * The golectra routes (seed 000): a golectra client works against ward
 * unchanged.
 *
 *   POST /update/{type}/{name}/{value}   text; 200, 400 for a bad type or value
 *   GET  /value/{type}/{name}            the value as text; 404 when unknown
 *   POST /update, /value, /updates       JSON, golectra's shapes
 *   GET  /ping                           200 when the store answers, else 500
 *   GET  /                               HTML tables of gauges and counters
 *
 * Golectra metrics are the series of one host named "golectra" (category
 * "gauge" or "counter", name = the id, no labels), so they are stored,
 * queried and streamed like every other series. The host is made by the
 * first golectra write, so a server that never sees a golectra client never
 * lists it. The current value is the
 * newest sample, read from the latest-value table. A gauge update writes the
 * new value; a counter update writes the old total plus the delta, as
 * golectra's counters are cumulative. Updates run one at a time under a
 * mutex, from reading the old total to the commit (ward_writer_write()
 * returns after the writer updated the latest table), so concurrent deltas
 * are never lost. A sample's time is max(now, previous + 1 ms), so two
 * updates within one millisecond are both kept instead of the second being
 * a duplicate the store ignores.
 *
 * With a key (-k), every golectra POST must carry HashSHA256 over its body
 * (after gzip decoding) or is refused with 400, and every response of the
 * server gets HashSHA256 of its body (ward_api_golectra_before_send()).
 *
 * The snapshot file (-f) is golectra's in-memory persistence; ward keeps
 * everything in the store anyway, so the file is only an export and a way
 * to carry values over (-r). It is written every -i seconds by a thread
 * when something changed, after every update when -i is 0, and at shutdown.
 */
#include "server/api/api.h"

#include "common/error.h"
#include "common/log.h"
#include "common/time-util.h"
#include "server/golectra.h"
#include "server/latest.h"
#include "server/writer.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HOSTNAME "golectra"

struct ward_golectra {
    struct ward_store *store;
    struct ward_writer *writer;
    struct ward_latest *latest;
    char host_id[WARD_STORE_ID_LEN]; /* valid once has_host is set */
    atomic_bool has_host;
    char *path; /* snapshot file, or NULL */
    int64_t interval_ms;

    pthread_mutex_t lock; /* one update or snapshot at a time */
    bool dirty;           /* changed since the last snapshot; under lock */

    pthread_t thread;
    bool has_thread;
    pthread_mutex_t stop_lock;
    pthread_cond_t stop_cond;
    bool stopping; /* under stop_lock */
};

/* How a counter in an update combines with the stored total. */
enum combine {
    ADD, /* an update: the delta adds to the total */
    SET, /* a restore: the snapshot holds the total */
};

/*
 * A stored counter as an integer. Totals are kept within 2^53, where a
 * double holds every integer exactly; a value written some other way is
 * clamped to that range.
 */
static int64_t total_of(double v)
{
    if (!(v >= -(double)WARD_GOLECTRA_COUNTER_MAX))
        return -WARD_GOLECTRA_COUNTER_MAX;
    if (v > (double)WARD_GOLECTRA_COUNTER_MAX)
        return WARD_GOLECTRA_COUNTER_MAX;
    return (int64_t)v;
}

/* The golectra host's id, or NULL while it does not exist yet. */
static const char *host(struct ward_golectra *g)
{
    return atomic_load_explicit(&g->has_host, memory_order_acquire) ? g->host_id : NULL;
}

/* Makes the golectra host on the first write; the caller holds g->lock. */
static int ensure_host(struct ward_golectra *g)
{
    if (host(g))
        return 0;
    struct ward_host_info info = {.hostname = HOSTNAME};
    bool created;
    int r = ward_store_host_register(g->store, &info, g->host_id, &created);
    if (r == 0)
        atomic_store_explicit(&g->has_host, true, memory_order_release);
    return r;
}

static int find_host_row(const struct ward_host_row *row, void *userdata)
{
    struct ward_golectra *g = userdata;
    if (strcmp(row->hostname ? row->hostname : "", HOSTNAME) != 0)
        return 0;
    snprintf(g->host_id, sizeof(g->host_id), "%s", row->id);
    atomic_store_explicit(&g->has_host, true, memory_order_release);
    return -ECANCELED; /* found: stop the walk */
}

/* Reads the current value of one metric. Returns 0 or WARD_E_NOT_FOUND. */
static int lookup(struct ward_golectra *g, enum ward_golectra_type type, const char *id,
                  struct ward_golectra_metric *out, int64_t *ts_ms)
{
    const char *h = host(g);
    if (!h)
        return WARD_E_NOT_FOUND;
    struct ward_latest_row row;
    int r = ward_latest_get(g->latest, h, ward_golectra_type_name(type), id, "{}", &row);
    if (r < 0)
        return r;
    struct ward_golectra_metric m = {
        .type = type,
        .has_number = true,
        .value = row.value,
        .delta = total_of(row.value),
    };
    snprintf(m.id, sizeof(m.id), "%s", id);
    *out = m;
    if (ts_ms)
        *ts_ms = row.ts_ms;
    return 0;
}

static int by_series(const void *a, const void *b, void *items)
{
    const struct ward_golectra_metric *m = items;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    if (m[x].type != m[y].type)
        return (int)m[x].type - (int)m[y].type;
    int c = strcmp(m[x].id, m[y].id);
    return c ? c : (x > y) - (x < y);
}

static int by_position(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/*
 * Merges the metrics of one series in an update: the last gauge value wins,
 * counter deltas add up. Writes into m[first] and returns 0, or -ERANGE.
 */
static int merge(struct ward_golectra_metric *m, const size_t *idx, size_t n, enum combine how)
{
    struct ward_golectra_metric *dst = &m[idx[0]];
    for (size_t i = 1; i < n; i++) {
        const struct ward_golectra_metric *src = &m[idx[i]];
        if (src->type == WARD_GOLECTRA_GAUGE || how == SET)
            *dst = *src;
        else if (__builtin_add_overflow(dst->delta, src->delta, &dst->delta))
            return -ERANGE;
    }
    return 0;
}

/* Writes a snapshot of every golectra metric; the caller holds g->lock. */
static int snapshot_locked(struct ward_golectra *g);

static bool exact(int64_t total)
{
    return total <= WARD_GOLECTRA_COUNTER_MAX && total >= -WARD_GOLECTRA_COUNTER_MAX;
}

/*
 * Computes the new value of one series into *res and the sample that stores
 * it; the caller holds g->lock. Returns 0, 1 when nothing needs storing (a
 * restore of a value the store holds already), or -ERANGE with err.
 */
static int next_value(struct ward_golectra *g, const struct ward_golectra_metric *want,
                      enum combine how, int64_t now, struct ward_golectra_metric *res,
                      struct ward_sample *sample, struct ward_buf *err)
{
    struct ward_golectra_metric cur;
    int64_t ts = 0;
    bool known = lookup(g, want->type, want->id, &cur, &ts) == 0;
    bool counter = want->type == WARD_GOLECTRA_COUNTER;
    *res = *want;
    res->has_number = true;
    if (counter && how == ADD &&
        (__builtin_add_overflow(known ? cur.delta : 0, want->delta, &res->delta) ||
         !exact(res->delta))) {
        ward_buf_printf(err,
                        "counter %s: the total would pass %" PRId64
                        ", beyond which it cannot be stored exactly",
                        want->id, WARD_GOLECTRA_COUNTER_MAX);
        return -ERANGE;
    }
    if (counter && !exact(res->delta)) {
        ward_buf_printf(err, "counter %s: %" PRId64 " is beyond %" PRId64, want->id, res->delta,
                        WARD_GOLECTRA_COUNTER_MAX);
        return -ERANGE;
    }
    double value = counter ? (double)res->delta : res->value;
    if (how == SET && known && cur.value == value)
        return 1;
    *sample = (struct ward_sample){
        .category = ward_golectra_type_name(want->type),
        .name = res->id,
        .labels = "{}",
        .kind = counter ? WARD_KIND_COUNTER : WARD_KIND_GAUGE,
        .ts_ms = known && ts >= now ? ts + 1 : now,
        .value = value,
    };
    return 0;
}

/*
 * Applies n metrics (which it may reorder and merge): reads each series'
 * current value, computes the new one, and writes them all as one batch.
 * On success out holds one metric per series with its new value, in the
 * order the series first appear, and *n_out their number. Returns 0;
 * -ERANGE (with err) when a counter would leave the range it is exact in;
 * or the writer's error.
 */
static int apply(struct ward_golectra *g, struct ward_golectra_metric *m, size_t n,
                 enum combine how, struct ward_golectra_metric *out, size_t *n_out,
                 struct ward_buf *err)
{
    size_t *idx = malloc((n ? n : 1) * sizeof(*idx));
    size_t *first = malloc((n ? n : 1) * sizeof(*first));
    struct ward_sample *samples = calloc(n ? n : 1, sizeof(*samples));
    int r = idx && first && samples ? 0 : -ENOMEM;
    size_t groups = 0;
    for (size_t i = 0; i < n && r == 0; i++)
        idx[i] = i;
    if (r == 0 && n > 1)
        qsort_r(idx, n, sizeof(*idx), by_series, m);
    for (size_t i = 0; i < n && r == 0;) {
        size_t j = i + 1;
        while (j < n && m[idx[j]].type == m[idx[i]].type && strcmp(m[idx[j]].id, m[idx[i]].id) == 0)
            j++;
        if (merge(m, idx + i, j - i, how) < 0) {
            ward_buf_printf(err, "counter %s: the deltas add up beyond the range of an integer",
                            m[idx[i]].id);
            r = -ERANGE;
        }
        first[groups++] = idx[i];
        i = j;
    }
    if (r == 0 && groups > 1)
        qsort(first, groups, sizeof(*first), by_position);

    /* From reading the old values to the commit, one update at a time. */
    pthread_mutex_lock(&g->lock);
    int64_t now = ward_now_ms();
    size_t n_samples = 0;
    for (size_t k = 0; k < groups && r == 0; k++) {
        r = next_value(g, &m[first[k]], how, now, &out[k], &samples[n_samples], err);
        if (r == 0)
            n_samples++;
        else if (r == 1)
            r = 0;
    }
    if (r == 0 && n_samples)
        r = ensure_host(g);
    if (r == 0 && n_samples) {
        r = ward_writer_write(g->writer, g->host_id, NULL, samples, n_samples);
        if (r > 0)
            r = 0; /* no batch key: never a duplicate */
        if (r == 0) {
            g->dirty = true;
            if (g->path && g->interval_ms == 0)
                snapshot_locked(g);
        }
    }
    pthread_mutex_unlock(&g->lock);
    if (r == 0)
        *n_out = groups;
    free(idx);
    free(first);
    free(samples);
    return r;
}

static int collect_row(const struct ward_latest_row *row, void *userdata)
{
    struct ward_golectra_list *l = userdata;
    struct ward_golectra_metric m = {.has_number = true, .value = row->value};
    size_t len = strlen(row->name);
    if (ward_golectra_parse_type(row->category, &m.type) < 0 ||
        !ward_golectra_id_valid(row->name, len) || strcmp(row->labels, "{}") != 0)
        return 0; /* not a golectra metric */
    memcpy(m.id, row->name, len + 1);
    m.delta = total_of(row->value);
    return ward_golectra_list_add(l, &m, WARD_GOLECTRA_MAX_SNAPSHOT_METRICS) == -ENOMEM ? -ENOMEM
                                                                                        : 0;
}

/* Every golectra metric with its current value. */
static int collect(struct ward_golectra *g, struct ward_golectra_list *out)
{
    const char *h = host(g);
    return h ? ward_latest_each(g->latest, h, NULL, collect_row, out) : 0;
}

static int snapshot_locked(struct ward_golectra *g)
{
    struct ward_golectra_list l = WARD_GOLECTRA_LIST_INIT;
    int r = collect(g, &l);
    if (r == 0)
        r = ward_golectra_snapshot_write(g->path, l.items, l.n);
    if (r < 0) {
        ward_log_error(NULL, "cannot write the golectra snapshot", "path", g->path, "error",
                       ward_strerror(r));
    } else {
        g->dirty = false;
        char n[24];
        snprintf(n, sizeof(n), "%zu", l.n);
        ward_log_debug(NULL, "golectra snapshot written", "path", g->path, "metrics", n);
    }
    ward_golectra_list_done(&l);
    return r;
}

static void snapshot_if_dirty(struct ward_golectra *g)
{
    pthread_mutex_lock(&g->lock);
    if (g->dirty)
        snapshot_locked(g);
    pthread_mutex_unlock(&g->lock);
}

static void *snapshot_main(void *arg)
{
    struct ward_golectra *g = arg;
    pthread_mutex_lock(&g->stop_lock);
    while (!g->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += (time_t)(g->interval_ms / 1000);
        until.tv_nsec += (long)(g->interval_ms % 1000) * 1000000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        while (!g->stopping &&
               pthread_cond_timedwait(&g->stop_cond, &g->stop_lock, &until) != ETIMEDOUT)
            ;
        if (g->stopping)
            break;
        pthread_mutex_unlock(&g->stop_lock);
        snapshot_if_dirty(g);
        pthread_mutex_lock(&g->stop_lock);
    }
    pthread_mutex_unlock(&g->stop_lock);
    return NULL;
}

/* Loads the snapshot and writes its values. Problems are logged; start goes on. */
static void restore(struct ward_golectra *g)
{
    struct ward_golectra_list l = WARD_GOLECTRA_LIST_INIT;
    struct ward_buf err = WARD_BUF_INIT;
    int r = ward_golectra_snapshot_read(g->path, &l, &err);
    if (r == -ENOENT) {
        ward_log_info(NULL, "no golectra snapshot to restore yet", "path", g->path);
    } else if (r < 0) {
        ward_log_error(NULL, "cannot restore the golectra snapshot; starting without it", "error",
                       err.data ? err.data : ward_strerror(r));
    } else {
        struct ward_golectra_metric *out = calloc(l.n ? l.n : 1, sizeof(*out));
        size_t n = 0;
        ward_buf_reset(&err);
        r = out ? apply(g, l.items, l.n, SET, out, &n, &err) : -ENOMEM;
        char count[24];
        snprintf(count, sizeof(count), "%zu", l.n);
        if (r < 0)
            ward_log_error(NULL, "cannot restore the golectra snapshot", "path", g->path, "error",
                           err.len ? err.data : ward_strerror(r));
        else
            ward_log_info(NULL, "golectra snapshot restored", "path", g->path, "metrics", count);
        free(out);
    }
    ward_golectra_list_done(&l);
    ward_buf_done(&err);
}

int ward_golectra_new(const struct ward_golectra_config *cfg, struct ward_store *store,
                      struct ward_writer *writer, struct ward_latest *latest,
                      struct ward_golectra **out)
{
    if (!store || !writer || !latest || cfg->store_interval_ms < 0)
        return -EINVAL;
    struct ward_golectra *g = calloc(1, sizeof(*g));
    if (!g)
        return -ENOMEM;
    g->store = store;
    g->writer = writer;
    g->latest = latest;
    g->interval_ms = cfg->store_interval_ms;
    if (cfg->file_path && *cfg->file_path && !(g->path = strdup(cfg->file_path))) {
        free(g);
        return -ENOMEM;
    }
    /* The host is made by the first write, so servers that never see golectra never list it. */
    int r = ward_store_host_list(store, find_host_row, g);
    if (r == -ECANCELED)
        r = 0;
    if (r < 0) {
        free(g->path);
        free(g);
        return r;
    }
    pthread_mutex_init(&g->lock, NULL);
    pthread_mutex_init(&g->stop_lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&g->stop_cond, &attr);
    pthread_condattr_destroy(&attr);

    if (g->path && cfg->restore)
        restore(g);
    if (g->path && g->interval_ms > 0) {
        r = -pthread_create(&g->thread, NULL, snapshot_main, g);
        if (r == 0)
            pthread_setname_np(g->thread, "ward-snapshot");
        if (r < 0) {
            ward_golectra_free(g);
            return r;
        }
        g->has_thread = true;
    }
    *out = g;
    return 0;
}

void ward_golectra_free(struct ward_golectra *g)
{
    if (!g)
        return;
    if (g->has_thread) {
        pthread_mutex_lock(&g->stop_lock);
        g->stopping = true;
        pthread_cond_signal(&g->stop_cond);
        pthread_mutex_unlock(&g->stop_lock);
        pthread_join(g->thread, NULL);
    }
    if (g->path)
        snapshot_if_dirty(g);
    pthread_cond_destroy(&g->stop_cond);
    pthread_mutex_destroy(&g->stop_lock);
    pthread_mutex_destroy(&g->lock);
    free(g->path);
    free(g);
}

/* The golectra state, or NULL after answering 503 when the routes are not set up. */
static struct ward_golectra *state(struct ward_http_request *req, struct ward_api *api)
{
    if (!api->golectra) {
        ward_http_error(req, 503, "the golectra routes are not enabled on this server");
        return NULL;
    }
    /* An agent's key is for its own host's data; golectra's belong to no agent. */
    const struct ward_principal *p = ward_auth_principal(req);
    if (p->caller == WARD_CALLER_AGENT) {
        ward_http_error(req, 403,
                        "an agent key sends its own host's data; golectra metrics take the"
                        " server's key (-k, HashSHA256) or an admin token");
        return NULL;
    }
    /* The golectra host is in the default tenant; admins of other tenants do not see it. */
    if (p->caller == WARD_CALLER_ADMIN && !ward_auth_sees_tenant(p, WARD_DEFAULT_TENANT)) {
        ward_http_error(req, 404, "no golectra metrics in this tenant");
        return NULL;
    }
    return api->golectra;
}

/* With a key, checks HashSHA256 of the body; returns false after answering 400. */
static bool hash_ok(struct ward_http_request *req, const struct ward_api *api)
{
    const char *key = api->signature_key;
    if (!key || !*key)
        return true;
    const char *hex = ward_http_header(req, WARD_GOLECTRA_HASH_HEADER);
    if (!hex) {
        ward_http_error(req, 400, "missing %s header; this server requires it",
                        WARD_GOLECTRA_HASH_HEADER);
        return false;
    }
    size_t len;
    const char *body = ward_http_body(req, &len);
    int r = ward_golectra_hash_verify(body, len, key, strlen(key), hex, strlen(hex));
    if (r == 0)
        return true;
    if (r == WARD_E_PARSE)
        ward_http_error(req, 400, "malformed %s; expected %d hex digits", WARD_GOLECTRA_HASH_HEADER,
                        WARD_GOLECTRA_HASH_HEX);
    else if (r == -EBADMSG)
        ward_http_error(req, 400, "%s mismatch: the body or the key differs",
                        WARD_GOLECTRA_HASH_HEADER);
    else
        ward_http_error(req, 503, "cannot check %s: %s", WARD_GOLECTRA_HASH_HEADER,
                        ward_strerror(r));
    return false;
}

void ward_api_golectra_before_send(struct ward_http_request *req, const void *body, size_t len,
                                   void *app)
{
    const struct ward_api *api = app;
    const char *key = api->signature_key;
    if (!key || !*key)
        return;
    char hex[WARD_GOLECTRA_HASH_HEX + 1];
    if (ward_golectra_hash(body, len, key, strlen(key), hex) == 0)
        ward_http_add_header(req, WARD_GOLECTRA_HASH_HEADER, hex);
}

/* Answers a failed apply(). */
static void apply_failed(struct ward_http_request *req, int r, const struct ward_buf *err)
{
    if (r == -ERANGE) {
        ward_http_error(req, 400, "%s", err->data);
        return;
    }
    if (r == WARD_E_LIMIT) {
        ward_http_error(req, 413, "too many metrics for the write queue");
        return;
    }
    ward_log_error(ward_http_request_id(req), "golectra update failed", "error", ward_strerror(r));
    if (r == -EAGAIN || r == -ESHUTDOWN || r == -ENOMEM) {
        ward_http_add_header(req, "Retry-After", "1");
        ward_http_error(req, 503, "server busy, retry later");
        return;
    }
    ward_http_error(req, 500, "cannot store the metrics: %s", ward_strerror(r));
}

void ward_api_golectra_update_text(struct ward_http_request *req, void *app)
{
    struct ward_golectra *g = state(req, app);
    if (!g || !hash_ok(req, app))
        return;
    struct ward_golectra_metric m, out;
    struct ward_buf err = WARD_BUF_INIT;
    size_t n;
    int r = ward_golectra_parse_update(ward_http_param(req, "type"), ward_http_param(req, "name"),
                                       ward_http_param(req, "value"), &m, &err);
    if (r < 0)
        ward_http_error(req, 400, "%s", err.data);
    else if ((r = apply(g, &m, 1, ADD, &out, &n, &err)) < 0)
        apply_failed(req, r, &err);
    else
        ward_http_respond(req, 200, "text/plain; charset=utf-8", "", 0);
    ward_buf_done(&err);
}

void ward_api_golectra_value_text(struct ward_http_request *req, void *app)
{
    struct ward_golectra *g = state(req, app);
    if (!g)
        return;
    const char *type = ward_http_param(req, "type"), *id = ward_http_param(req, "name");
    struct ward_golectra_metric m;
    if (ward_golectra_parse_type(type, &m.type) < 0) {
        ward_http_error(req, 400, "type: must be gauge or counter, got '%.32s'", type);
        return;
    }
    if (!ward_golectra_id_valid(id, strlen(id)) || lookup(g, m.type, id, &m, NULL) < 0) {
        ward_http_error(req, 404, "unknown metric %s/%.128s", ward_golectra_type_name(m.type), id);
        return;
    }
    char text[WARD_GOLECTRA_VALUE_MAX];
    size_t len = m.type == WARD_GOLECTRA_GAUGE
                     ? ward_golectra_format_value(m.value, text)
                     : (size_t)snprintf(text, sizeof(text), "%" PRId64, m.delta);
    ward_http_respond(req, 200, "text/plain; charset=utf-8", text, len);
}

static unsigned decode_status(int r)
{
    return r == WARD_E_LIMIT ? 413 : r == -ENOMEM ? 503 : 400;
}

static void respond_json(struct ward_http_request *req, int r, struct ward_buf *out)
{
    if (r < 0) {
        ward_http_error(req, 503, "cannot encode the response: %s", ward_strerror(r));
        return;
    }
    ward_http_respond_buf(req, 200, "application/json", out);
}

void ward_api_golectra_update(struct ward_http_request *req, void *app)
{
    struct ward_golectra *g = state(req, app);
    if (!g || !hash_ok(req, app))
        return;
    size_t len, n;
    const char *body = ward_http_body(req, &len);
    struct ward_golectra_metric m, out;
    struct ward_buf err = WARD_BUF_INIT, resp = WARD_BUF_INIT;
    int r = ward_golectra_decode_update(body, len, &m, &err);
    if (r < 0)
        ward_http_error(req, decode_status(r), "%s", err.data);
    else if ((r = apply(g, &m, 1, ADD, &out, &n, &err)) < 0)
        apply_failed(req, r, &err);
    else
        respond_json(req, ward_golectra_encode(&out, &resp), &resp);
    ward_buf_done(&err);
    ward_buf_done(&resp);
}

void ward_api_golectra_value(struct ward_http_request *req, void *app)
{
    struct ward_golectra *g = state(req, app);
    if (!g || !hash_ok(req, app))
        return;
    size_t len;
    const char *body = ward_http_body(req, &len);
    struct ward_golectra_metric m;
    struct ward_buf err = WARD_BUF_INIT, resp = WARD_BUF_INIT;
    int r = ward_golectra_decode_value(body, len, &m, &err);
    if (r < 0)
        ward_http_error(req, decode_status(r), "%s", err.data);
    else if (lookup(g, m.type, m.id, &m, NULL) < 0)
        ward_http_error(req, 404, "unknown metric %s/%s", ward_golectra_type_name(m.type), m.id);
    else
        respond_json(req, ward_golectra_encode(&m, &resp), &resp);
    ward_buf_done(&err);
    ward_buf_done(&resp);
}

void ward_api_golectra_updates(struct ward_http_request *req, void *app)
{
    struct ward_golectra *g = state(req, app);
    if (!g || !hash_ok(req, app))
        return;
    size_t len, n = 0;
    const char *body = ward_http_body(req, &len);
    struct ward_golectra_list l = WARD_GOLECTRA_LIST_INIT;
    struct ward_buf err = WARD_BUF_INIT, resp = WARD_BUF_INIT;
    struct ward_golectra_metric *out = NULL;
    int r = ward_golectra_decode_updates(body, len, WARD_GOLECTRA_MAX_BATCH, &l, &err);
    if (r < 0) {
        ward_http_error(req, decode_status(r), "%s", err.data);
    } else if (!(out = calloc(l.n ? l.n : 1, sizeof(*out)))) {
        apply_failed(req, -ENOMEM, &err);
    } else if ((r = apply(g, l.items, l.n, ADD, out, &n, &err)) < 0) {
        apply_failed(req, r, &err);
    } else {
        respond_json(req, ward_golectra_encode_list(out, n, &resp), &resp);
    }
    free(out);
    ward_golectra_list_done(&l);
    ward_buf_done(&err);
    ward_buf_done(&resp);
}

void ward_api_golectra_ping(struct ward_http_request *req, void *app)
{
    struct ward_api *api = app;
    int r = ward_store_ping(api->store);
    if (r < 0) {
        ward_log_error(ward_http_request_id(req), "ping failed", "error", ward_strerror(r));
        ward_http_error(req, 500, "database unavailable: %s", ward_strerror(r));
        return;
    }
    ward_http_respond(req, 200, "text/plain; charset=utf-8", "OK", 2);
}

void ward_api_golectra_index(struct ward_http_request *req, void *app)
{
    struct ward_api *api = app;
    const struct ward_principal *p = ward_auth_principal(req);
    if (!ward_auth_can_read(p, &api->policy)) {
        ward_api_ui_login(req);
        return;
    }
    /* The page is the dashboard's too: an admin of another tenant gets it without the tables. */
    if (p->caller == WARD_CALLER_ADMIN && !ward_auth_sees_tenant(p, WARD_DEFAULT_TENANT)) {
        static const char note[] = "<h1>Metrics</h1>\n<p>golectra's metrics belong to the"
                                   " default tenant.</p>\n";
        ward_api_ui_page(req, 200, "golectra", note, sizeof(note) - 1);
        return;
    }
    struct ward_golectra *g = state(req, app);
    if (!g)
        return;
    struct ward_golectra_list l = WARD_GOLECTRA_LIST_INIT;
    struct ward_buf tables = WARD_BUF_INIT;
    int r = collect(g, &l);
    if (r == 0)
        r = ward_golectra_render_tables(l.items, l.n, &tables);
    if (r < 0)
        ward_http_error(req, 503, "cannot render the page: %s", ward_strerror(r));
    else
        ward_api_ui_page(req, 200, "golectra", tables.data, tables.len);
    ward_golectra_list_done(&l);
    ward_buf_done(&tables);
}
