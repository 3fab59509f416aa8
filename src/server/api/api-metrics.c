/*
 * GET /api/v1/metrics: the samples of one server (seed 001).
 *
 *   ?server_id=UUID          required
 *   &metric_type=cpu         optional category filter
 *   &metric_name=usage       optional name filter
 *   &from=T&to=T             RFC 3339 or Unix ms
 *   &limit=N                 default 1000, at most 100000
 *
 * Without from and to it answers the latest value of every matching series,
 * from the in-memory table, as the seed's "get latest metrics" example
 * expects. With either, it answers the samples in the range (to defaults to
 * now, from to an hour before to), newest first, at most limit of them.
 * Either way the answer is a JSON array of samples in the shape of the seed's
 * ingest items, so what goes in comes back out unchanged.
 */
#include "server/api/api.h"

#include "common/error.h"
#include "common/json.h"
#include "common/log.h"
#include "common/parse.h"
#include "common/time-util.h"
#include "common/uuid.h"
#include "server/latest.h"

#include <errno.h>

#include <string.h>

static int write_sample(struct ward_json_writer *w, const struct ward_sample_row *row)
{
    char ts[WARD_RFC3339_LEN];
    ward_time_format_rfc3339(row->ts_ms, ts);
    ward_json_write_object_begin(w);
    ward_json_write_keyz(w, "server_id");
    ward_json_write_stringz(w, row->host_id);
    ward_json_write_keyz(w, "metric_type");
    ward_json_write_stringz(w, row->category);
    ward_json_write_keyz(w, "metric_name");
    ward_json_write_stringz(w, row->name);
    ward_json_write_keyz(w, "value");
    ward_json_write_double(w, row->value);
    ward_json_write_keyz(w, "labels");
    ward_json_write_raw(w, row->labels, strlen(row->labels));
    ward_json_write_keyz(w, "timestamp");
    ward_json_write_stringz(w, ts);
    ward_json_write_keyz(w, "kind");
    ward_json_write_stringz(w, row->kind == WARD_KIND_COUNTER ? "counter" : "gauge");
    return ward_json_write_object_end(w);
}

static int write_row(const struct ward_sample_row *row, void *userdata)
{
    return write_sample(userdata, row);
}

struct latest_walk {
    struct ward_json_writer *w;
    const char *name; /* NULL for any */
    size_t left;      /* the limit */
};

static int write_latest(const struct ward_latest_row *l, void *userdata)
{
    struct latest_walk *walk = userdata;
    if (walk->name && strcmp(walk->name, l->name) != 0)
        return 0;
    if (walk->left == 0)
        return -ECANCELED;
    walk->left--;
    struct ward_sample_row row = {
        .host_id = l->host_id,
        .category = l->category,
        .name = l->name,
        .labels = l->labels,
        .kind = l->kind,
        .ts_ms = l->ts_ms,
        .value = l->value,
    };
    return write_sample(walk->w, &row);
}

void ward_api_metrics_query(struct ward_http_request *req, void *app)
{
    struct ward_api *api = app;
    const char *id = ward_http_query(req, "server_id");
    char host[WARD_UUID_STR_LEN];
    if (!id || !*id) {
        ward_http_error(req, 400, "server_id: required");
        return;
    }
    if (ward_uuid_normalize(id, host) < 0) {
        ward_http_error(req, 400, "server_id: not a UUID");
        return;
    }
    if (ward_api_check_host(req, api, host) < 0)
        return;
    struct ward_query q = {
        .host_id = host,
        .to_ms = ward_now_ms(),
        .limit = WARD_API_DEFAULT_LIMIT,
    };
    q.category = ward_api_query_arg(req, "metric_type");
    q.name = ward_api_query_arg(req, "metric_name");
    if (!ward_api_time_arg(req, "to", &q.to_ms))
        return;
    q.from_ms = q.to_ms - WARD_API_DEFAULT_WINDOW;
    if (!ward_api_time_arg(req, "from", &q.from_ms))
        return;
    if (q.from_ms > q.to_ms) {
        ward_http_error(req, 400, "from: must not be after to");
        return;
    }
    const char *limit = ward_http_query(req, "limit");
    if (limit && *limit) {
        int64_t n;
        if (ward_parse_int_range(limit, 1, WARD_API_MAX_LIMIT, &n) < 0) {
            ward_http_error(req, 400, "limit: expected an integer from 1 to %d",
                            WARD_API_MAX_LIMIT);
            return;
        }
        q.limit = (size_t)n;
    }

    const char *from = ward_http_query(req, "from"), *to = ward_http_query(req, "to");
    bool latest = !(from && *from) && !(to && *to);

    struct ward_buf out = WARD_BUF_INIT;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &out);
    ward_json_write_array_begin(&w);
    int r;
    if (latest) {
        struct latest_walk walk = {.w = &w, .name = q.name, .left = q.limit};
        r = ward_latest_each(api->latest, host, q.category, write_latest, &walk);
        if (r == -ECANCELED)
            r = 0;
    } else {
        r = ward_store_query(api->store, &q, write_row, &w);
    }
    ward_json_write_array_end(&w);
    if (r >= 0)
        r = ward_json_writer_finish(&w);
    if (r == WARD_E_LIMIT) {
        ward_buf_done(&out);
        ward_http_error(req, 400,
                        "the server has more matching series than one query may merge; "
                        "narrow it with metric_type and metric_name");
        return;
    }
    if (r < 0) {
        ward_log_error(ward_http_request_id(req), "query failed", "server_id", host, "error",
                       ward_strerror(r));
        ward_buf_done(&out);
        ward_http_add_header(req, "Retry-After", "1");
        ward_http_error(req, 503, "storage unavailable, retry later");
        return;
    }
    ward_http_respond_buf(req, 200, "application/json", &out);
}
