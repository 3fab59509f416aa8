/*
 * The route table of ward-server.
 *
 * One line per route, in one place, so the whole API surface and who may
 * call each route can be read at a glance. The router takes the first
 * match, so literal paths go before patterns that would also match them.
 * Every route states its access class (auth.h); the compiler refuses one
 * that does not.
 */
#include "server/api/api.h"

#define PUBLIC WARD_ACCESS_PUBLIC
#define AGENT  WARD_ACCESS_AGENT
#define SIGNED WARD_ACCESS_SIGNED
#define READ   WARD_ACCESS_READ
#define ADMIN  WARD_ACCESS_ADMIN
#define ANYONE WARD_ACCESS_OPTIONAL

const struct ward_route ward_api_routes[] = {
    /* Health and the server's own metrics (seed 001, smotra). */
    {"GET", "/health", ward_api_health, PUBLIC},
    {"GET", "/healthz", ward_api_healthz, PUBLIC},
    {"GET", "/healthz/live", ward_api_healthz_live, PUBLIC},
    {"GET", "/healthz/ready", ward_api_healthz_ready, PUBLIC},
    {"GET", "/metrics", ward_api_prometheus, PUBLIC},
    {"GET", "/api/v1", ward_api_version, PUBLIC},
    /* Registration and claim (smotra, spectra). */
    {"POST", "/agent/register", ward_api_agent_register, PUBLIC},
    {"POST", "/api/v1/agent/register", ward_api_agent_register, PUBLIC},
    {"GET", "/agents/{id}/claim-status", ward_api_agent_claim_status, PUBLIC},
    {"POST", "/agents/claim", ward_api_agent_claim, ADMIN},
    /* Central agent configuration (smotra). */
    {"GET", "/agent/{id}/configuration", ward_api_agent_configuration, AGENT},
    {"GET", "/api/v1/hosts/{id}/configuration", ward_api_host_config_get, ADMIN},
    {"PUT", "/api/v1/hosts/{id}/configuration", ward_api_host_config_put, ADMIN},
    {"GET", "/api/v1/sections/{id}/configuration", ward_api_section_config_get, ADMIN},
    {"PUT", "/api/v1/sections/{id}/configuration", ward_api_section_config_put, ADMIN},
    /* Hosts (seed 001 calls them servers). */
    {"POST", "/api/v1/servers", ward_api_servers_register, AGENT},
    {"GET", "/api/v1/servers", ward_api_servers_list, READ},
    {"GET", "/api/v1/hosts", ward_api_hosts, READ},
    {"GET", "/api/v1/hosts/{id}", ward_api_host_show, READ},
    {"DELETE", "/api/v1/hosts/{id}", ward_api_host_delete, ADMIN},
    {"POST", "/api/v1/hosts/{id}/rotate-key", ward_api_host_rotate_key, ADMIN},
    {"POST", "/api/v1/hosts/{id}/revoke-key", ward_api_host_revoke_key, ADMIN},
    /* Diagnostics: the command queue (canonical, then spectra's triggers). */
    {"GET", "/api/v1/agent/command", ward_api_agent_command, AGENT},
    {"POST", "/api/v1/agent/command_result", ward_api_agent_command_result, AGENT},
    {"POST", "/api/v1/hosts/{id}/commands", ward_api_commands_create, ADMIN},
    {"GET", "/api/v1/commands", ward_api_commands_list, ADMIN},
    {"GET", "/api/v1/commands/{id}", ward_api_commands_get, ADMIN},
    {"GET", "/api/v1/audit", ward_api_audit_list, ADMIN},
    {"POST", "/admin/trigger_logs", ward_api_trigger_logs, ADMIN},
    {"POST", "/admin/trigger_disk", ward_api_trigger_disk, ADMIN},
    {"POST", "/admin/trigger_network", ward_api_trigger_network, ADMIN},
    /* Credentials, tenants and sections. */
    {"GET", "/api/v1/tokens", ward_api_tokens_list, ADMIN},
    {"POST", "/api/v1/tokens", ward_api_tokens_create, ADMIN},
    {"DELETE", "/api/v1/tokens/{id}", ward_api_tokens_revoke, ADMIN},
    {"GET", "/api/v1/tenants", ward_api_tenants_list, ADMIN},
    {"POST", "/api/v1/tenants", ward_api_tenants_create, ADMIN},
    {"GET", "/api/v1/sections", ward_api_sections_list, ADMIN},
    {"POST", "/api/v1/sections", ward_api_sections_create, ADMIN},
    /* The dashboard: login, the live stream, its files. */
    {"POST", "/api/v1/session", ward_api_session_login, PUBLIC},
    {"GET", "/api/v1/session", ward_api_session_show, ANYONE},
    {"DELETE", "/api/v1/session", ward_api_session_logout, PUBLIC},
    {"GET", "/api/v1/stream", ward_api_stream, ANYONE},
    {"GET", "/ui/{file}", ward_api_ui_asset, PUBLIC},
    /* Data in and out. */
    {"POST", "/api/v1/ingest", ward_api_ingest, SIGNED},
    {"GET", "/api/v1/metrics", ward_api_metrics_query, READ},
    {"POST", "/api/v1/metrics", ward_api_spectra_metrics, AGENT},
    {"GET", "/api/v1/query", ward_api_query, READ},
    {"GET", "/api/v1/series", ward_api_series, READ},
    /* golectra (seed 000); "/" matches the root only, and shows a login page to others. */
    {"GET", "/", ward_api_golectra_index, ANYONE},
    {"GET", "/ping", ward_api_golectra_ping, PUBLIC},
    {"POST", "/update", ward_api_golectra_update, SIGNED},
    {"POST", "/updates", ward_api_golectra_updates, SIGNED},
    {"POST", "/value", ward_api_golectra_value, READ},
    {"POST", "/update/{type}/{name}/{value}", ward_api_golectra_update_text, SIGNED},
    {"GET", "/value/{type}/{name}", ward_api_golectra_value_text, READ},
};

const size_t ward_api_n_routes = sizeof(ward_api_routes) / sizeof(ward_api_routes[0]);
