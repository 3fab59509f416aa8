/*
 * The route table of ward-server.
 *
 * One line per route, in one place, so the whole API surface can be read at
 * a glance. The router takes the first match, so literal paths go before
 * patterns that would also match them.
 */
#include "server/api/api.h"

const struct ward_route ward_api_routes[] = {
    {"GET", "/health", ward_api_health},
    {"POST", "/api/v1/ingest", ward_api_ingest},
    {"GET", "/api/v1/metrics", ward_api_metrics_query},
};

const size_t ward_api_n_routes = sizeof(ward_api_routes) / sizeof(ward_api_routes[0]);
