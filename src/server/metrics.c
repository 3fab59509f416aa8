/*
 * Request counters and latency histograms of ward-server (see metrics.h).
 *
 * Routes are a fixed table, so every counter has a fixed place: one row per
 * route plus one for requests that matched none, and in each row one slot
 * per status code that ward answers with, plus "other". Unmatched requests
 * carry the method the client sent; it is reduced to a known method or
 * "other", so a client cannot create labels. Counters are 64-bit atomics
 * updated with relaxed order: a scrape may see a request in the counter a
 * moment before its histogram bucket, which Prometheus tolerates.
 */
#include "server/metrics.h"

#include "common/error.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned statuses[] = {101, 200, 201, 204, 303, 304, 400, 401, 403, 404,
                                    405, 408, 413, 414, 415, 426, 429, 500, 503};
#define N_STATUS (sizeof(statuses) / sizeof(statuses[0]) + 1) /* + "other" */

static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"};
#define N_METHOD (sizeof(methods) / sizeof(methods[0]) + 1) /* + "other" */

/* Upper bounds of the latency buckets, in seconds; +Inf is implicit. */
static const double bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                0.25,  0.5,    1,     2.5,  5,     10};
#define N_BUCKET (sizeof(bounds) / sizeof(bounds[0]) + 1)

struct row {
    /* Routed requests use the route's method; unmatched ones are split by method. */
    atomic_uint_fast64_t count[N_METHOD][N_STATUS];
    atomic_uint_fast64_t bucket[N_BUCKET]; /* not cumulative; summed when rendered */
    atomic_uint_fast64_t duration_ns;
    atomic_uint_fast64_t bytes_in;
    atomic_uint_fast64_t bytes_out;
};

struct ward_server_metrics {
    const struct ward_route *routes;
    size_t n_routes;
    struct row *rows; /* n_routes + 1; the last is "unmatched" */
};

int ward_server_metrics_new(const struct ward_route *routes, size_t n_routes,
                            struct ward_server_metrics **out)
{
    struct ward_server_metrics *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->rows = calloc(n_routes + 1, sizeof(*m->rows));
    if (!m->rows) {
        free(m);
        return -ENOMEM;
    }
    m->routes = routes;
    m->n_routes = n_routes;
    *out = m;
    return 0;
}

void ward_server_metrics_free(struct ward_server_metrics *m)
{
    if (!m)
        return;
    free(m->rows);
    free(m);
}

static size_t status_index(unsigned status)
{
    for (size_t i = 0; i < N_STATUS - 1; i++)
        if (statuses[i] == status)
            return i;
    return N_STATUS - 1;
}

static size_t method_index(const char *method)
{
    for (size_t i = 0; i < N_METHOD - 1; i++)
        if (method && strcmp(methods[i], method) == 0)
            return i;
    return N_METHOD - 1;
}

void ward_server_metrics_request(struct ward_server_metrics *m, const struct ward_route *route,
                                 const char *method, unsigned status, int64_t duration_ns,
                                 size_t bytes_in, size_t bytes_out)
{
    size_t r = m->n_routes;
    if (route && route >= m->routes && route < m->routes + m->n_routes)
        r = (size_t)(route - m->routes);
    struct row *row = &m->rows[r];
    atomic_fetch_add_explicit(&row->count[method_index(method)][status_index(status)], 1,
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&row->bytes_in, bytes_in, memory_order_relaxed);
    atomic_fetch_add_explicit(&row->bytes_out, bytes_out, memory_order_relaxed);
    if (status == 101)
        return; /* a WebSocket's duration is its lifetime, not a latency */
    double s = duration_ns > 0 ? (double)duration_ns / 1e9 : 0;
    size_t b = 0;
    while (b < N_BUCKET - 1 && s > bounds[b])
        b++;
    atomic_fetch_add_explicit(&row->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&row->duration_ns, duration_ns > 0 ? (uint64_t)duration_ns : 0,
                              memory_order_relaxed);
}

static uint64_t load(atomic_uint_fast64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

static const char *route_name(const struct ward_server_metrics *m, size_t r)
{
    return r < m->n_routes ? m->routes[r].pattern : "unmatched";
}

static int render_requests(struct ward_server_metrics *m, struct ward_buf *out)
{
    int r = ward_buf_puts(out, "# HELP ward_http_requests_total HTTP requests answered, by route, "
                               "method and status.\n"
                               "# TYPE ward_http_requests_total counter\n");
    for (size_t i = 0; r == 0 && i <= m->n_routes; i++) {
        for (size_t mi = 0; r == 0 && mi < N_METHOD; mi++) {
            for (size_t si = 0; r == 0 && si < N_STATUS; si++) {
                uint64_t n = load(&m->rows[i].count[mi][si]);
                if (!n)
                    continue;
                char status[12];
                if (si < N_STATUS - 1)
                    snprintf(status, sizeof(status), "%u", statuses[si]);
                else
                    snprintf(status, sizeof(status), "other");
                r = ward_buf_printf(out,
                                    "ward_http_requests_total{route=\"%s\",method=\"%s\","
                                    "status=\"%s\"} %" PRIu64 "\n",
                                    route_name(m, i), mi < N_METHOD - 1 ? methods[mi] : "other",
                                    status, n);
            }
        }
    }
    return r;
}

static int render_latency(struct ward_server_metrics *m, struct ward_buf *out)
{
    int r = ward_buf_puts(out, "# HELP ward_http_request_duration_seconds Time from the request "
                               "head to the response, by route.\n"
                               "# TYPE ward_http_request_duration_seconds histogram\n");
    for (size_t i = 0; r == 0 && i <= m->n_routes; i++) {
        struct row *row = &m->rows[i];
        uint64_t total = 0;
        for (size_t b = 0; b < N_BUCKET; b++)
            total += load(&row->bucket[b]);
        if (!total)
            continue;
        uint64_t cum = 0;
        for (size_t b = 0; r == 0 && b < N_BUCKET; b++) {
            cum += load(&row->bucket[b]);
            if (b < N_BUCKET - 1)
                r = ward_buf_printf(out,
                                    "ward_http_request_duration_seconds_bucket{route=\"%s\","
                                    "le=\"%g\"} %" PRIu64 "\n",
                                    route_name(m, i), bounds[b], cum);
            else
                r = ward_buf_printf(out,
                                    "ward_http_request_duration_seconds_bucket{route=\"%s\","
                                    "le=\"+Inf\"} %" PRIu64 "\n",
                                    route_name(m, i), cum);
        }
        if (r == 0)
            r = ward_buf_printf(
                out,
                "ward_http_request_duration_seconds_sum{route=\"%s\"} %.9f\n"
                "ward_http_request_duration_seconds_count{route=\"%s\"} %" PRIu64 "\n",
                route_name(m, i), (double)load(&row->duration_ns) / 1e9, route_name(m, i), cum);
    }
    return r;
}

static int render_bytes(struct ward_server_metrics *m, struct ward_buf *out)
{
    int r = ward_buf_puts(out, "# HELP ward_http_request_bytes_total Request bodies received, as "
                               "sent, by route.\n"
                               "# TYPE ward_http_request_bytes_total counter\n");
    for (size_t i = 0; r == 0 && i <= m->n_routes; i++)
        if (load(&m->rows[i].bytes_in))
            r = ward_buf_printf(out, "ward_http_request_bytes_total{route=\"%s\"} %" PRIu64 "\n",
                                route_name(m, i), load(&m->rows[i].bytes_in));
    if (r == 0)
        r = ward_buf_puts(out, "# HELP ward_http_response_bytes_total Response bodies sent, by "
                               "route.\n"
                               "# TYPE ward_http_response_bytes_total counter\n");
    for (size_t i = 0; r == 0 && i <= m->n_routes; i++)
        if (load(&m->rows[i].bytes_out))
            r = ward_buf_printf(out, "ward_http_response_bytes_total{route=\"%s\"} %" PRIu64 "\n",
                                route_name(m, i), load(&m->rows[i].bytes_out));
    return r;
}

int ward_server_metrics_render(struct ward_server_metrics *m, struct ward_buf *out)
{
    int r = render_requests(m, out);
    if (r == 0)
        r = render_latency(m, out);
    if (r == 0)
        r = render_bytes(m, out);
    return r;
}
