/*
 * The route table of ward-server.
 *
 * One line per route, in one place, so the whole API surface can be read at
 * a glance. The router takes the first match, so literal paths go before
 * patterns that would also match them.
 */
#include "server/api/api.h"

const struct ward_route ward_api_routes[] = {
    /* Health and the server's own metrics (seed 001, smotra). */
    {"GET", "/health", ward_api_health},
    {"GET", "/healthz", ward_api_healthz},
    {"GET", "/healthz/live", ward_api_healthz_live},
    {"GET", "/healthz/ready", ward_api_healthz_ready},
    {"GET", "/metrics", ward_api_prometheus},
    {"GET", "/api/v1", ward_api_version},
    /* Hosts (seed 001 calls them servers). */
    {"POST", "/api/v1/servers", ward_api_servers_register},
    {"GET", "/api/v1/servers", ward_api_servers_list},
    {"POST", "/api/v1/ingest", ward_api_ingest},
    {"GET", "/api/v1/metrics", ward_api_metrics_query},
    {"POST", "/api/v1/metrics", ward_api_spectra_metrics},
    {"GET", "/api/v1/query", ward_api_query},
    {"GET", "/api/v1/series", ward_api_series},
    {"GET", "/api/v1/hosts", ward_api_hosts},
    /* golectra (seed 000); "/" matches the root only. */
    {"GET", "/", ward_api_golectra_index},
    {"GET", "/ping", ward_api_golectra_ping},
    {"POST", "/update", ward_api_golectra_update},
    {"POST", "/updates", ward_api_golectra_updates},
    {"POST", "/value", ward_api_golectra_value},
    {"POST", "/update/{type}/{name}/{value}", ward_api_golectra_update_text},
    {"GET", "/value/{type}/{name}", ward_api_golectra_value_text},
};

const size_t ward_api_n_routes = sizeof(ward_api_routes) / sizeof(ward_api_routes[0]);
