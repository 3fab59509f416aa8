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

#include "server/http/http.h"
#include "server/store/store.h"

/* Bounds of GET /api/v1/metrics. */
#define WARD_API_DEFAULT_LIMIT  1000
#define WARD_API_MAX_LIMIT      100000
#define WARD_API_DEFAULT_WINDOW (3600 * 1000) /* ms before "to" when "from" is absent */

struct ward_api {
    struct ward_store *store;
};

extern const struct ward_route ward_api_routes[];
extern const size_t ward_api_n_routes;

void ward_api_health(struct ward_http_request *req, void *app);
void ward_api_ingest(struct ward_http_request *req, void *app);
void ward_api_metrics_query(struct ward_http_request *req, void *app);

#endif
