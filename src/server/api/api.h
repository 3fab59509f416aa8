/*
 * The HTTP API of ward-server: the route table and the state handlers share.
 *
 * Each resource has its own api-*.c file with its handlers; this header
 * declares them, and ward_api_routes[] in routes.c binds them to
 * paths. Every handler gets struct ward_api
 * as its app pointer.
 */
#ifndef WARD_API_H
#define WARD_API_H

#include <stddef.h>
#include <stdint.h>

#include "server/http/http.h"
#include "server/store/store.h"

/* Bounds of GET /api/v1/metrics. */
#define WARD_API_DEFAULT_LIMIT  1000
#define WARD_API_MAX_LIMIT      100000
#define WARD_API_DEFAULT_WINDOW (3600 * 1000) /* ms before "to" when "from" is absent */

struct ward_writer;
struct ward_latest;
struct ward_golectra;
struct ward_server_metrics;

struct ward_api {
    struct ward_store *store;
    struct ward_writer *writer;            /* every write goes through it (writer.h) */
    struct ward_latest *latest;            /* newest value of every series (latest.h) */
    struct ward_golectra *golectra;        /* state of the golectra routes (api-golectra.c) */
    struct ward_server_metrics *metrics;   /* the server's own metrics (GET /metrics) */
    int64_t started_ms;                    /* Unix ms when the server started */
    /* Bounds of GET /api/v1/query and discovery. */
    size_t query_max_series; /* series a query may select */
    size_t query_max_points; /* points a response may hold */
    /* Host liveness: stale after this long without data, offline after the second. */
    int64_t stale_after_ms;
    int64_t offline_after_ms;
    /* Key of the ingest request signature (X-Ward-Signature); NULL or "" = not checked. */
    const char *signature_key;
    /* Largest difference between X-Ward-Timestamp and the server clock, in ms. */
    int64_t signature_skew_ms;
};

extern const struct ward_route ward_api_routes[];
extern const size_t ward_api_n_routes;

/*
 * The check_raw hook of the HTTP server (see http.h): when a signature key is
 * configured, refuses a POST /api/v1/ingest whose signature headers are
 * missing, malformed, wrong or out of the allowed clock skew with 401, before
 * its body is decompressed or parsed. Other routes pass. Returns 0 to go on,
 * or a negative error after answering the request.
 */
int ward_api_check_raw(struct ward_http_request *req, void *app);

void ward_api_health(struct ward_http_request *req, void *app);
void ward_api_ingest(struct ward_http_request *req, void *app);
void ward_api_metrics_query(struct ward_http_request *req, void *app);

#endif
