/*
 * Fuzz target for the query engine's parsers and matchers: what GET
 * /api/v1/query does with its label, name_re, by and step parameters.
 *
 * The input is lines: a label matcher list, a name expression, a by list,
 * a step, an aggregation name, and the stored labels of the one series a
 * fake store holds. Whatever parses is run as a query against that series,
 * so expressions are compiled and matched and samples are bucketed and
 * grouped. A refusal must always say why, and a result must stay within
 * its point bound.
 */
#include "common/buf.h"
#include "server/query.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LINES 6
#define T0    INT64_C(1700000000000)

/* store.c lists the real backends; this target links none, only the fake below. */
const struct ward_store_ops ward_store_sqlite_ops = {.size = sizeof(struct ward_store_ops)};

static const char *fake_labels;

static int fake_hosts(struct ward_store *s, ward_store_host_fn fn, void *userdata)
{
    (void)s;
    const struct ward_host_row row = {.id = "0190c1d2-0000-7000-8000-000000000001",
                                      .hostname = "web-1"};
    return fn(&row, userdata);
}

static int fake_series(struct ward_store *s, const struct ward_series_filter *f,
                       ward_store_series_fn fn, void *userdata)
{
    (void)s;
    (void)f;
    const struct ward_series_row row = {
        1, "0190c1d2-0000-7000-8000-000000000001", "cpu", "usage", fake_labels, WARD_KIND_COUNTER};
    return fn(&row, userdata);
}

static int fake_read(struct ward_store *s, const int64_t *ids, size_t n, int64_t from_ms,
                     int64_t to_ms, ward_store_point_fn fn, void *userdata)
{
    (void)s;
    (void)ids;
    static const int64_t offsets[] = {-120000, 0, 1, 999, 60000, 60001, 3599999};
    static const double values[] = {5, 7, 3, 3, 10, 0, 1e308};
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < sizeof(offsets) / sizeof(offsets[0]); j++) {
            int64_t ts = T0 + offsets[j];
            if (ts < from_ms || ts > to_ms)
                continue;
            int r = fn(i, ts, values[j], userdata);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

static const struct ward_store_ops fake_ops = {
    .size = sizeof(struct ward_store_ops),
    .host_list = fake_hosts,
    .series_list = fake_series,
    .read = fake_read,
};

static void check_refusal(int r, const struct ward_buf *err)
{
    if (r < 0 && (!err->data || !err->len))
        abort(); /* every refusal must say why */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    const char *line[LINES] = {"", "", "", "", "", "{}"};
    char *p = text;
    for (size_t i = 0; i < LINES && p; i++) {
        line[i] = p;
        p = strchr(p, '\n');
        if (p)
            *p++ = '\0';
    }
    fake_labels = line[5];

    struct ward_selector sel;
    struct ward_buf err = WARD_BUF_INIT;
    struct ward_query_spec spec = {
        .from_ms = T0,
        .to_ms = T0 + 3600000 - 1,
        .max_series = 4,
        .max_points = 1000,
    };
    ward_selector_init(&sel);
    int r = 0;
    if (*line[0]) {
        r = ward_selector_parse_labels(&sel, line[0], &err);
        check_refusal(r, &err);
    }
    if (r == 0 && *line[1]) {
        r = ward_selector_add(&sel, WARD_SELECT_NAME, NULL, true, line[1], &err);
        check_refusal(r, &err);
    }
    if (r == 0 && *line[2]) {
        r = ward_query_by_parse(line[2], &spec.by, &err);
        check_refusal(r, &err);
    }
    if (r == 0 && *line[3] && ward_query_step_parse(line[3], &spec.step_ms) < 0)
        r = -1;
    if (r == 0 && *line[4] && ward_query_agg_parse(line[4], &spec.agg) < 0)
        r = -1;
    if (r == 0) {
        struct ward_store store = {.ops = &fake_ops};
        struct ward_query_result res;
        ward_query_result_init(&res);
        r = ward_query_run(&store, &sel, &spec, &res, &err);
        check_refusal(r, &err);
        if (r == 0 && res.n_points > spec.max_points)
            abort();
        ward_query_result_done(&res);
    }
    ward_selector_done(&sel);
    ward_buf_done(&err);
    free(text);
    return 0;
}
