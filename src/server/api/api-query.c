/*
 * GET /api/v1/query, /api/v1/series and /api/v1/hosts: the query API and
 * discovery.
 *
 * The selection parameters, shared by /query and /series:
 *
 *   host=ID|HOSTNAME   host_re=RE
 *   category=C         category_re=RE     (category alias metric_type)
 *   name=N             name_re=RE         (name alias metric_name)
 *   label=k=v,k=~RE    label matchers, comma-separated (see query.h)
 *
 * /query adds from and to (RFC 3339 or Unix ms; to defaults to now, from to
 * an hour before to), step (60s, 5m or integer ms), agg and by. The engine
 * in query.h does the work; this file only turns parameters into a selector
 * and a spec, and the result into JSON. A bad parameter is a 400 whose
 * message starts with the parameter's name, a limit is a 400 with the
 * numbers, and a store failure is a 503 with Retry-After, as elsewhere.
 */
#include "server/api/api.h"

#include "common/error.h"
#include "common/json.h"
#include "common/log.h"
#include "common/time-util.h"
#include "server/query.h"

#include <errno.h>
#include <math.h>
#include <string.h>

/* Every label argument adds its matchers; "label=a=1&label=b=~x" and "label=a=1,b=~x" agree. */
struct label_args {
    struct ward_selector *sel;
    struct ward_buf *err;
};

static int add_labels(const char *value, void *userdata)
{
    struct label_args *la = userdata;
    if (!*value)
        return 0;
    return ward_selector_parse_labels(la->sel, value, la->err);
}

/* Reads the selection parameters into sel; returns false after answering 400. */
static bool selection_params(struct ward_http_request *req, struct ward_selector *sel)
{
    static const struct {
        const char *name, *alias;
        enum ward_select_field field;
        bool regex;
    } params[] = {
        {"host", NULL, WARD_SELECT_HOST, false},
        {"host_re", NULL, WARD_SELECT_HOST, true},
        {"category", "metric_type", WARD_SELECT_CATEGORY, false},
        {"category_re", NULL, WARD_SELECT_CATEGORY, true},
        {"name", "metric_name", WARD_SELECT_NAME, false},
        {"name_re", NULL, WARD_SELECT_NAME, true},
    };
    struct ward_buf err = WARD_BUF_INIT;
    bool ok = true;
    for (size_t i = 0; ok && i < sizeof(params) / sizeof(params[0]); i++) {
        const char *name = params[i].name;
        const char *v = ward_api_query_arg(req, name);
        if (params[i].alias && ward_api_query_arg(req, params[i].alias)) {
            if (v) {
                ward_http_error(req, 400, "%s: give either %s or %s, not both", params[i].alias,
                                name, params[i].alias);
                ok = false;
                break;
            }
            name = params[i].alias;
            v = ward_api_query_arg(req, name);
        }
        if (v && ward_selector_add(sel, params[i].field, NULL, params[i].regex, v, &err) < 0) {
            ward_http_error(req, 400, "%s: %s", name, err.data);
            ok = false;
        }
    }
    struct label_args la = {.sel = sel, .err = &err};
    if (ok && ward_http_query_each(req, "label", add_labels, &la) < 0) {
        ward_http_error(req, 400, "label: %s", err.data);
        ok = false;
    }
    ward_buf_done(&err);
    return ok;
}

/* Reads from, to, step, agg and by into spec; returns false after answering 400. */
static bool range_params(struct ward_http_request *req, struct ward_query_spec *spec)
{
    spec->to_ms = ward_now_ms();
    if (!ward_api_time_arg(req, "to", &spec->to_ms))
        return false;
    spec->from_ms = spec->to_ms - WARD_API_DEFAULT_WINDOW;
    if (!ward_api_time_arg(req, "from", &spec->from_ms))
        return false;
    const char *v = ward_api_query_arg(req, "step");
    if (v && ward_query_step_parse(v, &spec->step_ms) < 0) {
        ward_http_error(req, 400,
                        "step: expected a duration such as 60s or 5m, or integer milliseconds, "
                        "of at least 1 ms");
        return false;
    }
    v = ward_api_query_arg(req, "agg");
    if (v && ward_query_agg_parse(v, &spec->agg) < 0) {
        ward_http_error(req, 400, "agg: expected avg, min, max, sum, count, last or rate");
        return false;
    }
    v = ward_api_query_arg(req, "by");
    if (v) {
        struct ward_buf err = WARD_BUF_INIT;
        int r = ward_query_by_parse(v, &spec->by, &err);
        if (r < 0)
            ward_http_error(req, 400, "by: %s", err.data);
        ward_buf_done(&err);
        if (r < 0)
            return false;
    }
    return true;
}

/* Answers a failed query or selection: 400 for the caller's mistakes, else 503 or 500. */
static void respond_failure(struct ward_http_request *req, int r, const struct ward_buf *err)
{
    const char *msg = err->data ? err->data : ward_strerror(r);
    if (r == -EINVAL || r == WARD_E_LIMIT) {
        ward_http_error(req, 400, "%s", msg);
        return;
    }
    ward_log_error(ward_http_request_id(req), "query failed", "error", msg);
    if (r == WARD_E_PARSE) {
        ward_http_error(req, 500, "stored labels are malformed");
        return;
    }
    ward_http_add_header(req, "Retry-After", "1");
    ward_http_error(req, 503, "storage unavailable, retry later");
}

static void write_series_fields(struct ward_json_writer *w, const struct ward_series_info *s)
{
    ward_json_write_keyz(w, "host_id");
    ward_json_write_stringz(w, s->host_id);
    ward_json_write_keyz(w, "category");
    ward_json_write_stringz(w, s->category);
    ward_json_write_keyz(w, "name");
    ward_json_write_stringz(w, s->name);
    ward_json_write_keyz(w, "labels");
    ward_json_write_raw(w, s->labels, strlen(s->labels));
    ward_json_write_keyz(w, "kind");
    ward_json_write_stringz(w, s->kind == WARD_KIND_COUNTER ? "counter" : "gauge");
}

static void write_entry(struct ward_json_writer *w, const struct ward_query_series *e)
{
    ward_json_write_object_begin(w);
    if (e->group) {
        ward_json_write_keyz(w, "group");
        ward_json_write_raw(w, e->group, strlen(e->group));
        ward_json_write_keyz(w, "series_count");
        ward_json_write_uint(w, e->series_count);
    } else {
        write_series_fields(w, e->series);
    }
    ward_json_write_keyz(w, "points");
    ward_json_write_array_begin(w);
    for (size_t i = 0; i < e->n_points; i++) {
        ward_json_write_array_begin(w);
        ward_json_write_int(w, e->points[i].ts_ms);
        /* A sum can overflow to infinity, which JSON cannot carry. */
        if (isfinite(e->points[i].value))
            ward_json_write_double(w, e->points[i].value);
        else
            ward_json_write_null(w);
        ward_json_write_array_end(w);
    }
    ward_json_write_array_end(w);
    ward_json_write_object_end(w);
}

/* Sends the JSON in out, or 503 when writing it failed. */
static void respond_json(struct ward_http_request *req, struct ward_json_writer *w,
                         struct ward_buf *out)
{
    int r = ward_json_writer_finish(w);
    if (r < 0) {
        ward_log_error(ward_http_request_id(req), "response failed", "error", ward_strerror(r));
        ward_buf_done(out);
        ward_http_add_header(req, "Retry-After", "1");
        ward_http_error(req, 503, "cannot build the response, retry later");
        return;
    }
    ward_http_respond_buf(req, 200, "application/json", out);
}

/* A token limited to a tenant selects among that tenant's hosts only. */
static void limit_to_tenant(const struct ward_http_request *req, struct ward_selector *sel)
{
    const struct ward_principal *p = ward_auth_principal(req);
    ward_selector_set_tenant(sel, ward_auth_all_tenants(p) ? NULL : p->tenant_id);
}

static size_t max_series(const struct ward_api *api)
{
    return api->query_max_series ? api->query_max_series : WARD_QUERY_DEFAULT_MAX_SERIES;
}

void ward_api_query(struct ward_http_request *req, void *app)
{
    struct ward_api *api = app;
    struct ward_selector sel;
    struct ward_query_spec spec = {
        .max_series = max_series(api),
        .max_points = api->query_max_points ? api->query_max_points : WARD_QUERY_DEFAULT_MAX_POINTS,
    };
    ward_selector_init(&sel);
    limit_to_tenant(req, &sel);
    if (!selection_params(req, &sel) || !range_params(req, &spec)) {
        ward_selector_done(&sel);
        return;
    }
    struct ward_query_result res;
    struct ward_buf err = WARD_BUF_INIT;
    ward_query_result_init(&res);
    int r = ward_query_run(api->store, &sel, &spec, &res, &err);
    ward_selector_done(&sel);
    if (r < 0) {
        respond_failure(req, r, &err);
        ward_buf_done(&err);
        return;
    }
    ward_buf_done(&err);

    struct ward_buf out = WARD_BUF_INIT;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &out);
    ward_json_write_object_begin(&w);
    ward_json_write_keyz(&w, "from");
    ward_json_write_int(&w, res.from_ms);
    ward_json_write_keyz(&w, "to");
    ward_json_write_int(&w, res.to_ms);
    ward_json_write_keyz(&w, "step");
    if (res.step_ms > 0)
        ward_json_write_int(&w, res.step_ms);
    else
        ward_json_write_null(&w);
    ward_json_write_keyz(&w, "agg");
    if (ward_query_agg_name(res.agg))
        ward_json_write_stringz(&w, ward_query_agg_name(res.agg));
    else
        ward_json_write_null(&w);
    ward_json_write_keyz(&w, "series");
    ward_json_write_array_begin(&w);
    for (size_t i = 0; i < res.n_series; i++)
        write_entry(&w, &res.series[i]);
    ward_json_write_array_end(&w);
    ward_json_write_object_end(&w);
    ward_query_result_done(&res);
    respond_json(req, &w, &out);
}

void ward_api_series(struct ward_http_request *req, void *app)
{
    struct ward_api *api = app;
    struct ward_selector sel;
    ward_selector_init(&sel);
    limit_to_tenant(req, &sel);
    if (!selection_params(req, &sel)) {
        ward_selector_done(&sel);
        return;
    }
    struct ward_series_set set;
    struct ward_buf err = WARD_BUF_INIT;
    ward_series_set_init(&set);
    int r = ward_query_select(api->store, &sel, max_series(api), &set, &err);
    ward_selector_done(&sel);
    if (r < 0) {
        respond_failure(req, r, &err);
        ward_buf_done(&err);
        return;
    }
    ward_buf_done(&err);

    struct ward_buf out = WARD_BUF_INIT;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &out);
    ward_json_write_object_begin(&w);
    ward_json_write_keyz(&w, "series");
    ward_json_write_array_begin(&w);
    for (size_t i = 0; i < set.n; i++) {
        ward_json_write_object_begin(&w);
        write_series_fields(&w, &set.v[i]);
        ward_json_write_object_end(&w);
    }
    ward_json_write_array_end(&w);
    ward_json_write_keyz(&w, "count");
    ward_json_write_uint(&w, set.n);
    ward_json_write_object_end(&w);
    ward_series_set_done(&set);
    respond_json(req, &w, &out);
}

void ward_api_hosts(struct ward_http_request *req, void *app)
{
    struct ward_api *api = app;
    struct ward_buf out = WARD_BUF_INIT;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &out);
    ward_json_write_object_begin(&w);
    ward_json_write_keyz(&w, "hosts");
    ward_json_write_array_begin(&w);
    int r = ward_api_write_hosts(req, api, &w, NULL);
    ward_json_write_array_end(&w);
    ward_json_write_object_end(&w);
    if (r < 0) {
        ward_buf_done(&out);
        ward_api_store_failed(req, "host list failed", r);
        return;
    }
    respond_json(req, &w, &out);
}
