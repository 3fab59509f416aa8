/*
 * The fake store of the query tests (see test-query-fake.h).
 */
#include "test-query-fake.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* store.c lists the real backends; these tests link none, only the fake below. */
const struct ward_store_ops ward_store_sqlite_ops = {.size = sizeof(struct ward_store_ops)};

/* Ordered as a store lists them: host, category, name, labels. */
static const struct ward_series_row all_series[] = {
    {1, H1, "cpu", "usage", "{\"core\":\"0\"}", WARD_KIND_GAUGE},
    {2, H1, "cpu", "usage", "{\"core\":\"1\"}", WARD_KIND_GAUGE},
    {3, H1, "disk", "used", "{\"mount\":\"/\"}", WARD_KIND_GAUGE},
    {4, H1, "net", "rx_bytes", "{\"iface\":\"eth0\"}", WARD_KIND_COUNTER},
    {5, H2, "cpu", "usage", "{\"core\":\"0\"}", WARD_KIND_GAUGE},
    {6, H2, "disk", "used", "{\"mount\":\"/home\"}", WARD_KIND_GAUGE},
    {7, H3, "cpu", "usage", "{}", WARD_KIND_GAUGE},
    {8, H3, "net", "rx_bytes", "{\"iface\":\"eth0\"}", WARD_KIND_COUNTER},
};

static const struct ward_host_row all_hosts[] = {
    {.id = H3, .hostname = "db-1", .labels = "{}", .status = "active"},
    {.id = H1, .hostname = "web-1", .labels = "{}", .status = "active"},
    {.id = H2, .hostname = "web-2", .labels = "{}", .status = "active"},
};

struct fake fake;

static int fake_host_list(struct ward_store *s, ward_store_host_fn fn, void *userdata)
{
    struct fake *f = (struct fake *)s;
    f->host_lists++;
    if (f->fail_hosts)
        return f->fail_hosts;
    for (size_t i = 0; i < sizeof(all_hosts) / sizeof(all_hosts[0]); i++) {
        int r = fn(&all_hosts[i], userdata);
        if (r < 0)
            return r;
    }
    return 0;
}

static void copy_filter(char *dst, const char *src)
{
    snprintf(dst, 64, "%s", src ? src : "");
}

static int fake_series_list(struct ward_store *s, const struct ward_series_filter *flt,
                            ward_store_series_fn fn, void *userdata)
{
    struct fake *f = (struct fake *)s;
    f->series_lists++;
    copy_filter(f->filter_host, flt->host_id);
    copy_filter(f->filter_category, flt->category);
    copy_filter(f->filter_name, flt->name);
    if (f->fail_series)
        return f->fail_series;
    for (size_t i = 0; i < f->n_series; i++) {
        const struct ward_series_row *row = &f->series[i];
        if ((flt->host_id && strcmp(flt->host_id, row->host_id)) ||
            (flt->category && strcmp(flt->category, row->category)) ||
            (flt->name && strcmp(flt->name, row->name)))
            continue;
        int r = fn(row, userdata);
        if (r < 0)
            return r;
    }
    return 0;
}

static int fake_read(struct ward_store *s, const int64_t *ids, size_t n, int64_t from_ms,
                     int64_t to_ms, ward_store_point_fn fn, void *userdata)
{
    struct fake *f = (struct fake *)s;
    f->reads++;
    f->read_from = from_ms;
    f->read_to = to_ms;
    if (f->fail_read)
        return f->fail_read;
    if (f->bad_index)
        return fn(n, from_ms, 1, userdata);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < f->n_points; j++) {
            const struct fake_point *p = &f->points[j];
            if (p->series != ids[i] || p->ts < from_ms || p->ts > to_ms)
                continue;
            int r = fn(i, p->ts, p->v, userdata);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

static const struct ward_store_ops fake_ops = {
    .size = sizeof(struct ward_store_ops),
    .name = "fake",
    .host_list = fake_host_list,
    .series_list = fake_series_list,
    .read = fake_read,
};

struct ward_store *fake_store(const struct fake_point *points, size_t n)
{
    fake = (struct fake){
        .base = {.ops = &fake_ops},
        .series = all_series,
        .n_series = sizeof(all_series) / sizeof(all_series[0]),
        .points = points,
        .n_points = n,
    };
    return &fake.base;
}

void sel_add(struct ward_selector *sel, enum ward_select_field f, bool regex, const char *v)
{
    struct ward_buf err = WARD_BUF_INIT;
    if (ward_selector_add(sel, f, NULL, regex, v, &err) < 0)
        fail_msg("adding %s: %s", v, err.data);
    ward_buf_done(&err);
}

void sel_labels(struct ward_selector *sel, const char *list)
{
    struct ward_buf err = WARD_BUF_INIT;
    if (ward_selector_parse_labels(sel, list, &err) < 0)
        fail_msg("labels %s: %s", list, err.data);
    ward_buf_done(&err);
}
