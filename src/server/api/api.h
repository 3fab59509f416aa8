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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/auth.h"
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
struct ward_claims;
struct ward_sessions;
struct ward_stream;
struct ward_commands;

struct ward_api {
    struct ward_store *store;
    struct ward_writer *writer;          /* every write goes through it (writer.h) */
    struct ward_latest *latest;          /* newest value of every series (latest.h) */
    struct ward_golectra *golectra;      /* state of the golectra routes (api-golectra.c) */
    struct ward_server_metrics *metrics; /* the server's own metrics (GET /metrics) */
    int64_t started_ms;                  /* Unix ms when the server started */
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
    /* Who may call which routes without a credential (auth.h). */
    struct ward_auth_policy policy;
    /* Agents presenting this token are active at once; NULL or "" = none. */
    const char *enroll_token;
    struct ward_claims *claims;     /* keys waiting for delivery, claim attempt limits */
    struct ward_sessions *sessions; /* dashboard logins (session.h) */
    struct ward_stream *stream;     /* live subscribers (stream.h) */
    /* The command queue: waiting requests (commands.h), and its bounds. */
    struct ward_commands *commands;
    int64_t command_ttl_ms; /* a queued command expires after this unless the request says */
    size_t command_queue;   /* commands queued or dispatched per host at most */
};

extern const struct ward_route ward_api_routes[];

struct ward_json_writer;

/* Logs r and answers 503 with Retry-After: the store could not do what was asked. */
void ward_api_store_failed(struct ward_http_request *req, const char *what, int r);

/*
 * Checks that the caller may see host_id: always for a caller of every
 * tenant, else the host must be in the caller's tenant. Answers 404 (or
 * 503) and returns a negative error when not.
 */
int ward_api_check_host(struct ward_http_request *req, struct ward_api *api, const char *host_id);

/* The query argument name when it is present and not empty, else NULL. */
const char *ward_api_query_arg(struct ward_http_request *req, const char *name);

/*
 * Reads the optional query argument name, an RFC 3339 time or Unix
 * milliseconds, into *ms, which stays as it is when the argument is absent
 * or empty. Returns false after answering 400 when it is not a time.
 */
bool ward_api_time_arg(struct ward_http_request *req, const char *name, int64_t *ms);

/* Writes key and ms as an RFC 3339 time, or null for 0 (never). */
void ward_api_write_time(struct ward_json_writer *w, const char *key, int64_t ms);

/* Writes key and v, or null for NULL. */
void ward_api_write_opt(struct ward_json_writer *w, const char *key, const char *v);

/* Finishes w and sends out (its buffer) with status; 503 if the JSON could not be built. */
void ward_api_respond_json(struct ward_http_request *req, unsigned status,
                           struct ward_json_writer *w, struct ward_buf *out);
extern const size_t ward_api_n_routes;

/*
 * The check_raw hook of the HTTP server (see http.h), which runs before a
 * body is decompressed or parsed. It admits the caller by the access class
 * of the route (ward_auth_admit()), and, when a signature key is
 * configured, refuses a POST /api/v1/ingest whose signature headers are
 * missing, malformed, wrong or out of the allowed clock skew with 401.
 * Returns 0 to go on, or a negative error after answering the request.
 */
int ward_api_check_raw(struct ward_http_request *req, void *app);

/* The completion hook of the HTTP server: counts the request for GET /metrics. */
void ward_api_on_complete(const struct ward_route *route, const char *method, unsigned status,
                          int64_t duration_ns, size_t bytes_in, size_t bytes_out, void *app);

/* The dashboard (api-ui.c): its files, and the page shell of GET /. */
void ward_api_ui_asset(struct ward_http_request *req, void *app);
/*
 * Answers with the HTML page: the dashboard's stylesheet and scripts in
 * its head, and body (len bytes of HTML) inside <main id="MAIN_ID">.
 */
void ward_api_ui_page(struct ward_http_request *req, unsigned status, const char *main_id,
                      const char *body, size_t len);
/* Answers 401 with the login page. */
void ward_api_ui_login(struct ward_http_request *req);

/* Dashboard sessions (api-session.c) and the live stream (api-stream.c). */
void ward_api_session_login(struct ward_http_request *req, void *app);
void ward_api_session_show(struct ward_http_request *req, void *app);
void ward_api_session_logout(struct ward_http_request *req, void *app);
void ward_api_stream(struct ward_http_request *req, void *app);

void ward_api_health(struct ward_http_request *req, void *app);
void ward_api_healthz(struct ward_http_request *req, void *app);
void ward_api_healthz_live(struct ward_http_request *req, void *app);
void ward_api_healthz_ready(struct ward_http_request *req, void *app);
void ward_api_version(struct ward_http_request *req, void *app);
void ward_api_prometheus(struct ward_http_request *req, void *app);
void ward_api_servers_register(struct ward_http_request *req, void *app);

struct ward_json_writer;
/*
 * Writes the fields of a host (id, hostname, ip_address, os, labels,
 * agent_version, status, last_seen, liveness, name, section_id, tenant_id,
 * created_at, updated_at) into the open object of w: every route shows a
 * host the same way.
 */
void ward_api_write_host_fields(struct ward_json_writer *w, const struct ward_host_row *h,
                                const struct ward_api *api);

/*
 * Writes every host the caller of req may see (only: just that one) as
 * objects into the open array of w. Returns 0, WARD_E_NOT_FOUND when only
 * is not there or not visible, or a store error.
 */
int ward_api_write_hosts(struct ward_http_request *req, const struct ward_api *api,
                         struct ward_json_writer *w, const char *only);

/* Writes the tenant of section into tenant. Returns 0, WARD_E_NOT_FOUND or a store error. */
int ward_api_section_tenant(struct ward_api *api, const char *section, char *tenant);
void ward_api_servers_list(struct ward_http_request *req, void *app);
void ward_api_ingest(struct ward_http_request *req, void *app);
void ward_api_metrics_query(struct ward_http_request *req, void *app);
void ward_api_query(struct ward_http_request *req, void *app);
void ward_api_series(struct ward_http_request *req, void *app);
void ward_api_hosts(struct ward_http_request *req, void *app);

/*
 * The golectra routes (seed 000, api-golectra.c). Golectra metrics are the
 * series of one host named "golectra": category "gauge" or "counter", name
 * the golectra id, no labels. A snapshot of them can be kept in a JSON file
 * as golectra does (-f, -i, -r).
 */
struct ward_golectra_config {
    const char *file_path;     /* snapshot file (-f); NULL or "" = no snapshot */
    int64_t store_interval_ms; /* -i: how often it is written; 0 = after every update */
    bool restore;              /* -r: load it at start and write its values */
};

/*
 * Finds the golectra host if it exists (the first golectra write makes
 * it), restores the snapshot when asked (a missing file is not an error; a
 * bad one is logged and skipped), and starts the thread that writes the
 * snapshot every store_interval_ms. writer and latest must be the server's
 * (the writer updates latest). Returns 0 or a negative error (the store's,
 * -ENOMEM, -EINVAL).
 */
int ward_golectra_new(const struct ward_golectra_config *cfg, struct ward_store *store,
                      struct ward_writer *writer, struct ward_latest *latest,
                      struct ward_golectra **out);

/*
 * Stops the snapshot thread, writes a last snapshot if anything changed
 * since the previous one, and frees g. Call it before stopping the writer.
 * Accepts NULL.
 */
void ward_golectra_free(struct ward_golectra *g);

/*
 * The before_send hook of the HTTP server: when the server has a key (-k),
 * adds HashSHA256 of the response body, as golectra does for every
 * response.
 */
void ward_api_golectra_before_send(struct ward_http_request *req, const void *body, size_t len,
                                   void *app);

void ward_api_golectra_update_text(struct ward_http_request *req, void *app);
void ward_api_golectra_value_text(struct ward_http_request *req, void *app);
void ward_api_golectra_update(struct ward_http_request *req, void *app);
void ward_api_golectra_value(struct ward_http_request *req, void *app);
void ward_api_golectra_updates(struct ward_http_request *req, void *app);
void ward_api_golectra_ping(struct ward_http_request *req, void *app);
void ward_api_golectra_index(struct ward_http_request *req, void *app);

/* Registration and claim (api-agents.c). */
void ward_api_agent_register(struct ward_http_request *req, void *app);
void ward_api_agent_claim_status(struct ward_http_request *req, void *app);
void ward_api_agent_claim(struct ward_http_request *req, void *app);

/* Central agent configuration (api-config.c). */
void ward_api_agent_configuration(struct ward_http_request *req, void *app);
void ward_api_host_config_get(struct ward_http_request *req, void *app);
void ward_api_host_config_put(struct ward_http_request *req, void *app);
void ward_api_section_config_get(struct ward_http_request *req, void *app);
void ward_api_section_config_put(struct ward_http_request *req, void *app);

/* Hosts, credentials, tenants and sections for admins (api-admin.c). */
void ward_api_host_show(struct ward_http_request *req, void *app);
void ward_api_host_delete(struct ward_http_request *req, void *app);
void ward_api_host_rotate_key(struct ward_http_request *req, void *app);
void ward_api_host_revoke_key(struct ward_http_request *req, void *app);
void ward_api_tokens_list(struct ward_http_request *req, void *app);
void ward_api_tokens_create(struct ward_http_request *req, void *app);
void ward_api_tokens_revoke(struct ward_http_request *req, void *app);
void ward_api_tenants_list(struct ward_http_request *req, void *app);
void ward_api_tenants_create(struct ward_http_request *req, void *app);
void ward_api_sections_list(struct ward_http_request *req, void *app);
void ward_api_sections_create(struct ward_http_request *req, void *app);

/* Diagnostics for admins (api-commands.c), spectra's triggers among them. */
void ward_api_commands_create(struct ward_http_request *req, void *app);
void ward_api_commands_get(struct ward_http_request *req, void *app);
void ward_api_commands_list(struct ward_http_request *req, void *app);
void ward_api_audit_list(struct ward_http_request *req, void *app);
void ward_api_trigger_logs(struct ward_http_request *req, void *app);
void ward_api_trigger_disk(struct ward_http_request *req, void *app);
void ward_api_trigger_network(struct ward_http_request *req, void *app);

/*
 * Reads ?wait= (seconds, 0 to 30; def_s when absent) into a monotonic
 * deadline. Answers 400 and returns false for anything else.
 */
bool ward_api_wait_param(struct ward_http_request *req, int64_t def_s, int64_t *deadline);

/* Diagnostics for agents (api-agent-commands.c): the long-poll and the result. */
void ward_api_agent_command(struct ward_http_request *req, void *app);
void ward_api_agent_command_result(struct ward_http_request *req, void *app);

/* POST /api/v1/metrics: spectra envelopes (seed 002, api-spectra.c). */
void ward_api_spectra_metrics(struct ward_http_request *req, void *app);

#endif
