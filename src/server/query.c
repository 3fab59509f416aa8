/*
 * Query execution: ranges, buckets, aggregation and grouping (see query.h).
 *
 * A query first selects its series (query-select.c), then maps each series
 * to its output entry: itself, or with by the group its label values put it
 * in. Groups are found by writing each series' group as a small JSON object
 * and sorting those strings, which gives a stable group order without a
 * hash table. All series are then read in one call, from one snapshot, and
 * every sample is folded into the accumulator of its entry and bucket as it
 * arrives, so memory follows the number of entries times buckets (which
 * the point limit bounds before anything is read), never the number of
 * samples. Only raw points are kept one by one, and they are the output.
 *
 * rate needs the previous sample of each series, which can lie in an
 * earlier bucket or before the range. The store delivers each series oldest
 * first, so a per-series state carries the previous sample and the open
 * bucket's increase; a series' rate for a bucket is final when its next
 * sample falls in a later bucket, and is then added to its entry, which is
 * how rates of a group add up.
 */
#include "server/query.h"

#include "common/error.h"
#include "common/json.h"
#include "common/parse.h"
#include "common/time-util.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(struct ward_buf *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct ward_buf *err, int code, const char *fmt, ...)
{
    if (err) {
        ward_buf_reset(err);
        va_list ap;
        va_start(ap, fmt);
        ward_buf_vprintf(err, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* ---- Parameters ---- */

static const char *const agg_names[] = {
    [WARD_AGG_AVG] = "avg",   [WARD_AGG_MIN] = "min",     [WARD_AGG_MAX] = "max",
    [WARD_AGG_SUM] = "sum",   [WARD_AGG_COUNT] = "count", [WARD_AGG_LAST] = "last",
    [WARD_AGG_RATE] = "rate",
};

int ward_query_agg_parse(const char *s, enum ward_query_agg *out)
{
    for (size_t i = WARD_AGG_AVG; s && i < sizeof(agg_names) / sizeof(agg_names[0]); i++) {
        if (strcmp(s, agg_names[i]) == 0) {
            *out = (enum ward_query_agg)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *ward_query_agg_name(enum ward_query_agg agg)
{
    if (agg == WARD_AGG_NONE || (unsigned)agg > WARD_AGG_RATE)
        return NULL;
    return agg_names[agg];
}

int ward_query_step_parse(const char *s, int64_t *out)
{
    if (!s || !*s)
        return -EINVAL;
    bool digits = true;
    for (const char *p = s; *p; p++)
        digits = digits && isdigit((unsigned char)*p);
    /* A bare number is milliseconds here, while ward_parse_duration_ms() reads it as seconds. */
    if (!digits && !isalpha((unsigned char)s[strlen(s) - 1]))
        return -EINVAL;
    int64_t v;
    int r = digits ? ward_parse_int64(s, &v) : ward_parse_duration_ms(s, &v);
    if (r < 0)
        return r;
    if (v < 1 || v > WARD_QUERY_MAX_TIME)
        return -ERANGE;
    *out = v;
    return 0;
}

int ward_query_by_parse(const char *list, struct ward_query_by *out, struct ward_buf *err)
{
    struct ward_query_by by = {0};
    const char *p = list ? list : "";
    for (;;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 0)
            return fail(err, -EINVAL, "empty label name");
        if (n > WARD_LABELS_MAX_KEY)
            return fail(err, WARD_E_LIMIT, "label name longer than %d bytes", WARD_LABELS_MAX_KEY);
        if (by.n == WARD_QUERY_MAX_BY)
            return fail(err, WARD_E_LIMIT, "more than %d labels", WARD_QUERY_MAX_BY);
        memcpy(by.key[by.n], p, n);
        by.key[by.n][n] = '\0';
        for (size_t i = 0; i < by.n; i++)
            if (strcmp(by.key[i], by.key[by.n]) == 0)
                return fail(err, -EINVAL, "'%s' given twice", by.key[i]);
        by.n++;
        if (!e)
            break;
        p = e + 1;
    }
    *out = by;
    return 0;
}

/* ---- Grouping ---- */

struct group_values {
    const struct ward_query_by *by;
    struct ward_buf text; /* the values found, back to back */
    size_t off[WARD_QUERY_MAX_BY], len[WARD_QUERY_MAX_BY];
    bool found[WARD_QUERY_MAX_BY];
};

static int take_value(const char *key, size_t key_len, const char *value, size_t value_len,
                      void *userdata)
{
    struct group_values *g = userdata;
    for (size_t i = 0; i < g->by->n; i++) {
        if (strlen(g->by->key[i]) != key_len || memcmp(g->by->key[i], key, key_len) != 0)
            continue;
        g->off[i] = g->text.len;
        g->len[i] = value_len;
        g->found[i] = true;
        return ward_buf_append(&g->text, value, value_len);
    }
    return 0;
}

/* Appends the group of s as a JSON object and a NUL to out. */
static int write_group(const struct ward_series_info *s, struct group_values *g,
                       struct ward_buf *out)
{
    ward_buf_reset(&g->text);
    memset(g->found, 0, sizeof(g->found));
    int r = ward_query_labels_each(s->labels, take_value, g);
    if (r < 0)
        return r;
    struct ward_json_writer w;
    ward_json_writer_init(&w, out);
    ward_json_write_object_begin(&w);
    for (size_t i = 0; i < g->by->n; i++) {
        const char *k = g->by->key[i];
        const char *pseudo = strcmp(k, "host") == 0       ? s->host_id
                             : strcmp(k, "category") == 0 ? s->category
                             : strcmp(k, "name") == 0     ? s->name
                                                          : NULL;
        ward_json_write_keyz(&w, k);
        if (pseudo)
            ward_json_write_stringz(&w, pseudo);
        else if (g->found[i])
            ward_json_write_string(&w, g->text.data + g->off[i], g->len[i]);
        else
            ward_json_write_null(&w);
    }
    ward_json_write_object_end(&w);
    r = ward_json_writer_finish(&w);
    return r < 0 ? r : ward_buf_putc(out, '\0');
}

struct group_key {
    size_t off;    /* of the group's text in the groups buffer */
    size_t series; /* index in the selection */
};

static int group_key_cmp(const void *a, const void *b, void *text)
{
    const struct group_key *x = a, *y = b;
    int c = strcmp((const char *)text + x->off, (const char *)text + y->off);
    if (c)
        return c;
    return (x->series > y->series) - (x->series < y->series);
}

/*
 * Assigns every selected series its entry in group_of, and writes the
 * entries' group texts (offsets into out->groups) and sizes. Without by
 * each series is its own entry. Returns the number of entries or an error.
 */
static int64_t make_groups(struct ward_query_result *out, const struct ward_query_by *by,
                           size_t *group_of, size_t *group_off, size_t *group_size,
                           struct ward_buf *err)
{
    size_t n = out->selected.n;
    if (by->n == 0) {
        for (size_t i = 0; i < n; i++) {
            group_of[i] = i;
            group_size[i] = 1;
        }
        return (int64_t)n;
    }
    struct group_key *keys = calloc(n ? n : 1, sizeof(*keys));
    struct group_values g = {.by = by};
    if (!keys)
        return fail(err, -ENOMEM, "out of memory");
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        keys[i] = (struct group_key){.off = out->groups.len, .series = i};
        r = write_group(&out->selected.v[i], &g, &out->groups);
        if (r == WARD_E_PARSE)
            fail(err, r, "series %" PRId64 " has malformed labels", out->selected.v[i].id);
        else if (r < 0)
            fail(err, r, "out of memory");
    }
    ward_buf_done(&g.text);
    if (r < 0) {
        free(keys);
        return r;
    }
    qsort_r(keys, n, sizeof(*keys), group_key_cmp, out->groups.data);
    size_t groups = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(out->groups.data + keys[i - 1].off, out->groups.data + keys[i].off)) {
            group_off[groups] = keys[i].off;
            group_size[groups++] = 0;
        }
        group_of[keys[i].series] = groups - 1;
        group_size[groups - 1]++;
    }
    free(keys);
    return (int64_t)groups;
}

/* ---- Reading ---- */

struct acc {
    double v;   /* sum, min, max, last value, or the sum of rates */
    int64_t ts; /* last: the time of v */
    uint64_t n; /* samples folded in; for rate, series */
};

struct rate_state {
    int64_t prev_ts;
    double prev_v;
    bool has_prev;
    bool open; /* a bucket has samples whose rate is not yet added */
    size_t bucket;
    double inc;
    int64_t t_start, t_last;
};

struct raw_points {
    struct ward_query_point *v;
    size_t n, cap;
};

struct run {
    enum ward_query_agg agg;
    int64_t from, to, width;
    size_t n_buckets;
    size_t n_series;
    const size_t *group_of;
    struct acc *acc;          /* entries x buckets */
    struct rate_state *rate;  /* per series, for rate */
    struct raw_points *raw;   /* per series, for raw points */
    size_t total, max_points; /* raw points so far, and their bound */
    int error;
    struct ward_buf *err;
};

static void rate_close(struct run *q, size_t index)
{
    struct rate_state *s = &q->rate[index];
    if (!s->open)
        return;
    s->open = false;
    if (s->t_last <= s->t_start)
        return;
    struct acc *a = &q->acc[q->group_of[index] * q->n_buckets + s->bucket];
    a->v += s->inc * 1000.0 / (double)(s->t_last - s->t_start);
    a->n++;
}

static void rate_point(struct run *q, size_t index, int64_t ts, double v)
{
    struct rate_state *s = &q->rate[index];
    if (s->has_prev && ts <= s->prev_ts)
        return; /* out of order: a store keeps one sample per time, oldest first */
    if (ts >= q->from) {
        size_t b = (size_t)((ts - q->from) / q->width);
        if (s->open && s->bucket != b)
            rate_close(q, index);
        if (!s->open) {
            s->open = true;
            s->bucket = b;
            s->inc = 0;
            s->t_start = s->has_prev ? s->prev_ts : ts;
        }
        if (s->has_prev)
            s->inc += v >= s->prev_v ? v - s->prev_v : v;
        s->t_last = ts;
    }
    s->prev_ts = ts;
    s->prev_v = v;
    s->has_prev = true;
}

static int raw_point(struct run *q, size_t index, int64_t ts, double v)
{
    if (ts < q->from)
        return 0;
    if (q->total == q->max_points)
        return q->error = fail(q->err, WARD_E_LIMIT,
                               "the query returns more than %zu points, the limit: narrow the "
                               "selection, use a shorter range, or aggregate with step and agg",
                               q->max_points);
    struct raw_points *p = &q->raw[index];
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        struct ward_query_point *nv = reallocarray(p->v, cap, sizeof(*nv));
        if (!nv)
            return q->error = fail(q->err, -ENOMEM, "out of memory");
        p->v = nv;
        p->cap = cap;
    }
    p->v[p->n++] = (struct ward_query_point){ts, v};
    q->total++;
    return 0;
}

static int on_point(size_t index, int64_t ts, double v, void *userdata)
{
    struct run *q = userdata;
    if (index >= q->n_series)
        return q->error = fail(q->err, WARD_E_STORE, "store: sample of series %zu of %zu", index,
                               q->n_series);
    if (ts > q->to)
        return 0;
    if (q->agg == WARD_AGG_NONE)
        return raw_point(q, index, ts, v);
    if (q->agg == WARD_AGG_RATE) {
        rate_point(q, index, ts, v);
        return 0;
    }
    if (ts < q->from)
        return 0;
    size_t b = (size_t)((ts - q->from) / q->width);
    struct acc *a = &q->acc[q->group_of[index] * q->n_buckets + b];
    switch (q->agg) {
    case WARD_AGG_AVG:
    case WARD_AGG_SUM:
        a->v += v;
        break;
    case WARD_AGG_MIN:
        if (a->n == 0 || v < a->v)
            a->v = v;
        break;
    case WARD_AGG_MAX:
        if (a->n == 0 || v > a->v)
            a->v = v;
        break;
    case WARD_AGG_LAST:
        if (a->n == 0 || ts >= a->ts) {
            a->v = v;
            a->ts = ts;
        }
        break;
    default:
        break;
    }
    a->n++;
    return 0;
}

/* ---- Results ---- */

void ward_query_result_init(struct ward_query_result *r)
{
    *r = (struct ward_query_result){0};
    ward_series_set_init(&r->selected);
    ward_buf_init(&r->groups, 0);
}

void ward_query_result_done(struct ward_query_result *r)
{
    for (size_t i = 0; i < r->n_series; i++)
        free(r->series[i].points);
    free(r->series);
    ward_series_set_done(&r->selected);
    ward_buf_done(&r->groups);
    ward_query_result_init(r);
}

/* Moves the raw points of every series that has some into out's entries. */
static void emit_raw(struct run *q, struct ward_query_result *out)
{
    for (size_t i = 0; i < q->n_series; i++) {
        if (q->raw[i].n == 0)
            continue;
        out->series[out->n_series++] = (struct ward_query_series){
            .series = &out->selected.v[i],
            .series_count = 1,
            .points = q->raw[i].v,
            .n_points = q->raw[i].n,
        };
        out->n_points += q->raw[i].n;
        q->raw[i].v = NULL;
    }
}

static int emit_buckets(struct run *q, struct ward_query_result *out, size_t n_groups,
                        const size_t *group_off, const size_t *group_size)
{
    for (size_t g = 0; g < n_groups; g++) {
        const struct acc *a = &q->acc[g * q->n_buckets];
        size_t n = 0;
        for (size_t b = 0; b < q->n_buckets; b++)
            n += a[b].n > 0;
        if (n == 0)
            continue;
        struct ward_query_point *pts = calloc(n, sizeof(*pts));
        if (!pts)
            return -ENOMEM;
        for (size_t b = 0, j = 0; b < q->n_buckets; b++) {
            if (a[b].n == 0)
                continue;
            double v = a[b].v;
            if (q->agg == WARD_AGG_AVG)
                v /= (double)a[b].n;
            else if (q->agg == WARD_AGG_COUNT)
                v = (double)a[b].n;
            pts[j++] = (struct ward_query_point){q->from + (int64_t)b * q->width, v};
        }
        out->series[out->n_series++] = (struct ward_query_series){
            .series = out->grouped ? NULL : &out->selected.v[g],
            .group = out->grouped ? out->groups.data + group_off[g] : NULL,
            .series_count = group_size[g],
            .points = pts,
            .n_points = n,
        };
        out->n_points += n;
    }
    return 0;
}

static int check_spec(const struct ward_query_spec *spec, struct ward_buf *err)
{
    if (spec->from_ms < -WARD_QUERY_MAX_TIME || spec->from_ms > WARD_QUERY_MAX_TIME)
        return fail(err, -EINVAL, "from: out of range");
    if (spec->to_ms < -WARD_QUERY_MAX_TIME || spec->to_ms > WARD_QUERY_MAX_TIME)
        return fail(err, -EINVAL, "to: out of range");
    if (spec->from_ms > spec->to_ms)
        return fail(err, -EINVAL, "from: must not be after to");
    if (spec->step_ms < 0 || spec->step_ms > WARD_QUERY_MAX_TIME)
        return fail(err, -EINVAL, "step: out of range");
    if ((unsigned)spec->agg > WARD_AGG_RATE)
        return fail(err, -EINVAL, "agg: unknown aggregation");
    if (spec->by.n > WARD_QUERY_MAX_BY)
        return fail(err, -EINVAL, "by: more than %d labels", WARD_QUERY_MAX_BY);
    if (spec->by.n > 0 && spec->agg == WARD_AGG_NONE && spec->step_ms == 0)
        return fail(err, -EINVAL, "by: needs agg or step, since raw points cannot be merged");
    if (spec->max_series == 0 || spec->max_points == 0)
        return fail(err, -EINVAL, "the limits must be at least 1");
    return 0;
}

/* Reads the samples into q and turns them into out's entries. */
static int execute(struct run *q, struct ward_store *st, struct ward_query_result *out,
                   size_t n_groups, const size_t *group_off, const size_t *group_size)
{
    size_t n = out->selected.n;
    int64_t *ids = calloc(n, sizeof(*ids));
    out->series = calloc(n_groups, sizeof(*out->series));
    if (q->agg == WARD_AGG_NONE)
        q->raw = calloc(n, sizeof(*q->raw));
    else
        q->acc = calloc(n_groups * q->n_buckets, sizeof(*q->acc));
    if (q->agg == WARD_AGG_RATE)
        q->rate = calloc(n, sizeof(*q->rate));
    int r = 0;
    if (!ids || !out->series || (q->agg == WARD_AGG_NONE ? !q->raw : !q->acc) ||
        (q->agg == WARD_AGG_RATE && !q->rate))
        r = fail(q->err, -ENOMEM, "out of memory");
    if (r == 0) {
        for (size_t i = 0; i < n; i++)
            ids[i] = out->selected.v[i].id;
        int64_t from = q->agg == WARD_AGG_RATE ? q->from - WARD_QUERY_RATE_LOOKBACK_MS : q->from;
        r = ward_store_read(st, ids, n, from, q->to, on_point, q);
        if (r < 0 && q->error)
            r = q->error;
        else if (r < 0)
            r = fail(q->err, WARD_E_STORE, "store: %s", ward_strerror(r));
    }
    if (r == 0 && q->agg == WARD_AGG_NONE) {
        emit_raw(q, out);
    } else if (r == 0) {
        for (size_t i = 0; q->rate && i < n; i++)
            rate_close(q, i);
        r = emit_buckets(q, out, n_groups, group_off, group_size);
        if (r < 0)
            fail(q->err, r, "out of memory");
    }
    for (size_t i = 0; q->raw && i < n; i++)
        free(q->raw[i].v);
    free(q->raw);
    free(q->acc);
    free(q->rate);
    free(ids);
    return r;
}

int ward_query_run(struct ward_store *st, const struct ward_selector *sel,
                   const struct ward_query_spec *spec, struct ward_query_result *out,
                   struct ward_buf *err)
{
    int r = check_spec(spec, err);
    if (r < 0)
        return r;
    struct run q = {
        .agg = spec->agg == WARD_AGG_NONE && spec->step_ms > 0 ? WARD_AGG_AVG : spec->agg,
        .from = spec->from_ms,
        .to = spec->to_ms,
        .max_points = spec->max_points,
        .err = err,
    };
    q.width = spec->step_ms > 0 ? spec->step_ms : spec->to_ms - spec->from_ms + 1;
    q.n_buckets = (size_t)((q.to - q.from) / q.width) + 1;
    out->from_ms = spec->from_ms;
    out->to_ms = spec->to_ms;
    out->step_ms = q.agg == WARD_AGG_NONE ? 0 : spec->step_ms;
    out->agg = q.agg;
    out->grouped = spec->by.n > 0;

    r = ward_query_select(st, sel, spec->max_series, &out->selected, err);
    if (r < 0)
        ward_query_result_done(out);
    if (r < 0 || out->selected.n == 0)
        return r;
    size_t n = out->selected.n;
    size_t *group_of = calloc(n, sizeof(*group_of));
    size_t *group_off = calloc(n, sizeof(*group_off));
    size_t *group_size = calloc(n, sizeof(*group_size));
    int64_t groups = -ENOMEM;
    if (group_of && group_off && group_size)
        groups = make_groups(out, &spec->by, group_of, group_off, group_size, err);
    else
        fail(err, -ENOMEM, "out of memory");
    r = groups < 0 ? (int)groups : 0;

    size_t total;
    if (r == 0 && q.agg != WARD_AGG_NONE &&
        (__builtin_mul_overflow((size_t)groups, q.n_buckets, &total) || total > q.max_points))
        r = fail(err, WARD_E_LIMIT,
                 "the query would return up to %zu %s x %zu buckets of points, more than the "
                 "limit of %zu points: narrow the selection, use a larger step or a shorter "
                 "range",
                 (size_t)groups, out->grouped ? "groups" : "series", q.n_buckets, q.max_points);
    if (r == 0) {
        q.n_series = n;
        q.group_of = group_of;
        r = execute(&q, st, out, (size_t)groups, group_off, group_size);
    }
    free(group_of);
    free(group_off);
    free(group_size);
    if (r < 0) {
        ward_query_result_done(out);
        return r;
    }
    return 0;
}

/* ---- Hosts ---- */

enum ward_liveness ward_host_liveness(int64_t last_seen_ms, int64_t now_ms, int64_t stale_after_ms,
                                      int64_t offline_after_ms)
{
    if (last_seen_ms <= 0)
        return WARD_LIVE_OFFLINE;
    if (last_seen_ms >= now_ms)
        return WARD_LIVE_ONLINE;
    int64_t age = now_ms - last_seen_ms;
    if (age <= stale_after_ms)
        return WARD_LIVE_ONLINE;
    if (age <= offline_after_ms)
        return WARD_LIVE_STALE;
    return WARD_LIVE_OFFLINE;
}

const char *ward_liveness_name(enum ward_liveness l)
{
    switch (l) {
    case WARD_LIVE_ONLINE:
        return "online";
    case WARD_LIVE_STALE:
        return "stale";
    case WARD_LIVE_OFFLINE:
        return "offline";
    }
    return "offline";
}
