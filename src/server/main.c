/*
 * ward-server: receives, stores and serves host metrics.
 *
 * main() reads the configuration, opens the store, starts the HTTP server
 * and then waits for SIGINT or SIGTERM with the signals blocked in every
 * thread, so shutdown is an ordinary return: stop accepting, finish
 * in-flight requests, close the store.
 */
#include "common/buf.h"
#include "common/config.h"
#include "common/credential.h"
#include "common/error.h"
#include "common/log.h"
#include "common/time-util.h"
#include "server/api/api.h"
#include "server/auth.h"
#include "server/claims.h"
#include "server/commands.h"
#include "server/http/http.h"
#include "server/latest.h"
#include "server/metrics.h"
#include "server/session.h"
#include "server/store/store.h"
#include "server/stream.h"
#include "server/writer.h"
#include "ward-version.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

struct server_config {
    char *address;
    char *database;
    char *log_level;
    char *log_format;
    char *key;
    int64_t signature_skew_ms;
    int64_t threads;
    int64_t max_body;
    int64_t max_decoded_body;
    int64_t connection_timeout_ms;
    int64_t max_connections;
    int64_t max_connections_per_ip;
    char *cors_origin;
    char *access_log;
    bool synchronous_full;
    int64_t retention_ms;
    int64_t retention_check_ms;
    int64_t write_queue;
    int64_t query_max_series;
    int64_t query_max_points;
    int64_t stale_after_ms;
    int64_t offline_after_ms;
    int64_t shutdown_timeout_ms;
    int64_t command_ttl_ms;
    int64_t command_queue;
    int64_t command_result_timeout_ms;
    int64_t command_retention_ms;
    int64_t command_waiters;
    char *file_storage_path;
    int64_t store_interval_ms;
    bool restore;
    char *admin_token;
    char *enroll_token;
    bool public_read;
    bool open_ingest;
    int64_t session_ttl_ms;
    int64_t stream_queue;
    int64_t stream_clients;
};

/* One option; a trailing argument may add a field such as .choices. */
#define OPT(name_, short_, env_, type_, field, def_, min_, max_, metavar_, help_, ...)             \
    {                                                                                              \
        .name = name_, .short_name = short_, .env = env_, .type = type_,                           \
        .offset = offsetof(struct server_config, field), .def = def_, .min = min_, .max = max_,    \
        .metavar = metavar_, .help = help_, __VA_ARGS__                                            \
    }

static const struct ward_option options[] = {
    OPT("address", 'a', "ADDRESS", WARD_OPT_STRING, address, ":8080", 0, 0, "ADDR",
        "listen address, HOST:PORT or :PORT"),
    OPT("database", 'd', "DATABASE_DSN", WARD_OPT_STRING, database, "ward.db", 0, 0, "DSN",
        "database: a SQLite file path or sqlite:PATH (DATABASE_URL is read too)"),
    OPT("key", 'k', "KEY", WARD_OPT_STRING, key, NULL, 0, 0, "KEY",
        "shared secret: ingest must be signed with it (X-Ward-Signature), golectra POSTs must "
        "carry HashSHA256, and responses carry HashSHA256; empty = off"),
    OPT("signature-skew", 0, "WARD_SIGNATURE_SKEW", WARD_OPT_DURATION, signature_skew_ms, "5m",
        1000, 3600000, "DURATION", "largest difference between X-Ward-Timestamp and this clock"),
    OPT("log-level", 0, "WARD_LOG_LEVEL", WARD_OPT_STRING, log_level, "info", 0, 0, "LEVEL",
        "debug, info, warn or error", .choices = ward_log_level_choices),
    OPT("log-format", 0, "WARD_LOG_FORMAT", WARD_OPT_STRING, log_format, "text", 0, 0, "FORMAT",
        "text or json", .choices = ward_log_format_choices),
    OPT("threads", 0, "WARD_THREADS", WARD_OPT_INT, threads, "0", 0, 256, "N",
        "HTTP worker threads; 0 means one per CPU"),
    OPT("max-body-bytes", 0, "WARD_MAX_BODY_BYTES", WARD_OPT_INT, max_body, "33554432", 1024,
        INT64_C(1) << 30, "BYTES", "largest request body accepted, as sent"),
    OPT("max-decoded-body-bytes", 0, "WARD_MAX_DECODED_BODY_BYTES", WARD_OPT_INT, max_decoded_body,
        "134217728", 1024, INT64_C(4) << 30, "BYTES",
        "largest request body accepted after gzip decoding"),
    OPT("connection-timeout", 0, "WARD_CONNECTION_TIMEOUT", WARD_OPT_DURATION,
        connection_timeout_ms, "30s", 1000, 3600000, "DURATION",
        "idle connections close after this"),
    OPT("max-connections", 0, "WARD_MAX_CONNECTIONS", WARD_OPT_INT, max_connections, "1024", 1,
        65536, "N", "concurrent client connections"),
    OPT("max-connections-per-ip", 0, "WARD_MAX_CONNECTIONS_PER_IP", WARD_OPT_INT,
        max_connections_per_ip, "64", 0, 65536, "N",
        "concurrent connections from one client address; 0 = no limit"),
    OPT("cors-origin", 0, "WARD_CORS_ORIGIN", WARD_OPT_STRING, cors_origin, NULL, 0, 0, "ORIGINS",
        "browser origins allowed to read responses (CORS), comma-separated; * allows any"),
    OPT("access-log", 0, "WARD_ACCESS_LOG", WARD_OPT_STRING, access_log, "-", 0, 0, "FILE",
        "access log of JSON lines: - for stderr, off, or a file to append to"),
    OPT("synchronous-full", 0, "WARD_SYNCHRONOUS_FULL", WARD_OPT_BOOL, synchronous_full, "false", 0,
        0, NULL, "sync the database on every commit (see docs/storage.md)"),
    OPT("file-storage-path", 'f', "FILE_STORAGE_PATH", WARD_OPT_STRING, file_storage_path, NULL, 0,
        0, "FILE", "JSON snapshot file of the golectra metrics; empty = none"),
    OPT("store-interval", 'i', "STORE_INTERVAL", WARD_OPT_DURATION, store_interval_ms, "300", 0,
        INT64_C(365) * 86400000, "DURATION",
        "how often the golectra snapshot is written; 0 = after every update"),
    OPT("restore", 'r', "RESTORE", WARD_OPT_BOOL, restore, "false", 0, 0, NULL,
        "load the golectra snapshot at start and store its values"),
    OPT("retention", 0, "WARD_RETENTION", WARD_OPT_DURATION, retention_ms, "30d", 0,
        INT64_C(100) * 365 * 86400000, "DURATION",
        "samples older than this are deleted in the background; 0 keeps them forever"),
    OPT("retention-check", 0, "WARD_RETENTION_CHECK", WARD_OPT_DURATION, retention_check_ms, "10m",
        1000, INT64_C(7) * 86400000, "DURATION", "how often retention looks for old samples"),
    OPT("write-queue", 0, "WARD_WRITE_QUEUE", WARD_OPT_INT, write_queue, "2000000", 1000, 100000000,
        "SAMPLES",
        "samples waiting to be stored at most; beyond it ingest answers 503 with Retry-After"),
    OPT("query-max-series", 0, "WARD_QUERY_MAX_SERIES", WARD_OPT_INT, query_max_series, "10000", 1,
        1000000, "N", "series one query may select"),
    OPT("query-max-points", 0, "WARD_QUERY_MAX_POINTS", WARD_OPT_INT, query_max_points, "1000000",
        1, 100000000, "N", "points one query response may hold"),
    OPT("stale-after", 0, "WARD_STALE_AFTER", WARD_OPT_DURATION, stale_after_ms, "30s", 1000,
        INT64_C(7) * 86400000, "DURATION", "a host without data for this long is stale"),
    OPT("offline-after", 0, "WARD_OFFLINE_AFTER", WARD_OPT_DURATION, offline_after_ms, "5m", 1000,
        INT64_C(30) * 86400000, "DURATION", "a host without data for this long is offline"),
    OPT("admin-token", 0, "WARD_ADMIN_TOKEN", WARD_OPT_STRING, admin_token, NULL, 0, 0, "TOKEN",
        "an admin token to accept (at least 16 characters); without one, the first start makes"
        " one and prints it once"),
    OPT("enroll-token", 0, "WARD_ENROLL_TOKEN", WARD_OPT_STRING, enroll_token, NULL, 0, 0, "TOKEN",
        "agents that present this token are active at once, without a claim; empty = off"),
    OPT("public-read", 0, "WARD_PUBLIC_READ", WARD_OPT_BOOL, public_read, "false", 0, 0, NULL,
        "let anyone read hosts and metrics without a token"),
    OPT("open-ingest", 0, "WARD_OPEN_INGEST", WARD_OPT_BOOL, open_ingest, "false", 0, 0, NULL,
        "let anyone send metrics and register servers without a key (for clients that have"
        " none)"),
    OPT("shutdown-timeout", 0, "WARD_SHUTDOWN_TIMEOUT", WARD_OPT_DURATION, shutdown_timeout_ms,
        "10s", 0, 3600000, "DURATION", "how long a stop waits for requests in flight"),
    OPT("session-ttl", 0, "WARD_SESSION_TTL", WARD_OPT_DURATION, session_ttl_ms, "12h", 60000,
        30LL * 86400000, "DURATION", "how long a dashboard login lasts"),
    OPT("stream-queue", 0, "WARD_STREAM_QUEUE", WARD_OPT_INT, stream_queue, "4194304", 65536,
        1LL << 30, "BYTES",
        "bytes a live-stream client may fall behind before it is closed as too slow"),
    OPT("command-ttl", 0, "WARD_COMMAND_TTL", WARD_OPT_DURATION, command_ttl_ms, "5m", 1000,
        86400000, "DURATION",
        "how long a diagnostic command waits for its agent before it expires"),
    OPT("command-queue", 0, "WARD_COMMAND_QUEUE", WARD_OPT_INT, command_queue, "16", 1, 1000, "N",
        "diagnostic commands queued or running per host at most"),
    OPT("command-result-timeout", 0, "WARD_COMMAND_RESULT_TIMEOUT", WARD_OPT_DURATION,
        command_result_timeout_ms, "3m", 1000, 86400000, "DURATION",
        "how long a dispatched command may take to report its result before it expires"),
    OPT("command-retention", 0, "WARD_COMMAND_RETENTION", WARD_OPT_DURATION, command_retention_ms,
        "7d", 60000, 3650LL * 86400000, "DURATION",
        "how long finished commands are kept (the audit log: ten times as long)"),
    OPT("command-waiters", 0, "WARD_COMMAND_WAITERS", WARD_OPT_INT, command_waiters, "20000", 1,
        1000000, "N", "long-polls (agents waiting for commands, admins for results) held at once"),
    OPT("stream-clients", 0, "WARD_STREAM_CLIENTS", WARD_OPT_INT, stream_clients, "512", 1, 65536,
        "N", "most live-stream (WebSocket) clients at once; they count against --max-connections"),
};

static const struct ward_program program = {
    .name = "ward-server",
    .version = WARD_VERSION,
    .summary = "Receives metrics from ward agents, stores them and serves queries.",
    .options = options,
    .n_options = sizeof(options) / sizeof(options[0]),
};

/* Closes what state_open() opened, in reverse order. */
static void state_close(struct ward_api *api)
{
    /* Nothing may be serving now: the HTTP server is stopped. */
    ward_golectra_free(api->golectra);
    ward_stream_free(api->stream);
    ward_commands_free(api->commands);
    ward_sessions_free(api->sessions);
    ward_claims_free(api->claims);
    ward_writer_free(api->writer);
    ward_latest_free(api->latest);
    ward_server_metrics_free(api->metrics);
    ward_store_close(api->store);
}

/*
 * Makes sure an admin can get in: the operator's token is stored, or one is
 * made on the first start and shown once, on stderr, where the operator
 * who started the server sees it. It is never logged.
 */
static int bootstrap(struct ward_store *store, const char *token)
{
    if (token && *token && strlen(token) < WARD_CRED_CHOSEN_MIN) {
        ward_log_error(NULL, "the admin token is too short", "minimum", "16 characters");
        return -EINVAL;
    }
    char made[WARD_CRED_MAX];
    int r = ward_auth_bootstrap(store, token, made);
    if (r == -EKEYREVOKED) {
        ward_log_warn(NULL, "the configured admin token was revoked and is not accepted");
        return 0;
    }
    if (r < 0) {
        ward_log_error(NULL, "cannot set up the admin token", "error", ward_strerror(r));
        return r;
    }
    if (made[0]) {
        fprintf(stderr,
                "\nward-server: no admin token was configured, so one was made. It is shown\n"
                "only this once; keep it safe (wardctl --token, or WARD_TOKEN):\n\n    %s\n\n",
                made);
        explicit_bzero(made, sizeof(made));
    }
    return 0;
}

/* Opens the store, the latest values, the writer and the golectra state into api. */
static int state_open(const struct server_config *cfg, struct ward_api *api)
{
    *api = (struct ward_api){
        .signature_key = cfg->key,
        .signature_skew_ms = cfg->signature_skew_ms,
        .started_ms = ward_now_ms(),
        .query_max_series = (size_t)cfg->query_max_series,
        .query_max_points = (size_t)cfg->query_max_points,
        .stale_after_ms = cfg->stale_after_ms,
        .offline_after_ms = cfg->offline_after_ms,
        .policy = {.public_read = cfg->public_read,
                   .open_ingest = cfg->open_ingest,
                   .shared_key = cfg->key && *cfg->key},
        .enroll_token = cfg->enroll_token,
        .command_ttl_ms = cfg->command_ttl_ms,
        .command_queue = (size_t)cfg->command_queue,
    };
    struct ward_store_options sopt = {.synchronous_full = cfg->synchronous_full};
    int r = ward_store_open(cfg->database, &sopt, &api->store);
    if (r < 0) {
        ward_log_error(NULL, "cannot open database", "dsn", cfg->database, "error",
                       ward_strerror(r));
        return r;
    }
    r = bootstrap(api->store, cfg->admin_token);
    if (r == 0)
        r = ward_claims_new(&api->claims);
    if (r == 0)
        r = ward_sessions_new(cfg->session_ttl_ms, &api->sessions);
    if (r == 0)
        r = ward_stream_new(api->store, api->sessions, api->claims, &api->stream);
    if (r == 0) {
        struct ward_commands_config ccfg = {
            .result_timeout_ms = cfg->command_result_timeout_ms,
            .retention_ms = cfg->command_retention_ms,
            .max_waiters = (size_t)cfg->command_waiters,
        };
        r = ward_commands_new(&ccfg, api->store, &api->commands);
    }
    if (r == 0)
        r = ward_server_metrics_new(ward_api_routes, ward_api_n_routes, &api->metrics);
    if (r == 0)
        r = ward_latest_new(&api->latest);
    if (r == 0) {
        r = ward_latest_load(api->latest, api->store);
        if (r < 0)
            ward_log_error(NULL, "cannot load the latest values", "error", ward_strerror(r));
    }
    if (r == 0) {
        struct ward_writer_config wcfg = {
            .queue_samples = (size_t)cfg->write_queue,
            .retention_ms = cfg->retention_ms,
            .prune_every_ms = cfg->retention_check_ms,
            .latest = api->latest,
            .on_commit = ward_stream_publish,
            .on_commit_userdata = api->stream,
        };
        r = ward_writer_start(api->store, &wcfg, &api->writer);
        if (r < 0)
            ward_log_error(NULL, "cannot start the store writer", "error", ward_strerror(r));
    }
    if (r == 0) {
        struct ward_golectra_config gcfg = {
            .file_path = cfg->file_storage_path,
            .store_interval_ms = cfg->store_interval_ms,
            .restore = cfg->restore,
        };
        r = ward_golectra_new(&gcfg, api->store, api->writer, api->latest, &api->golectra);
        if (r < 0)
            ward_log_error(NULL, "cannot start the golectra routes", "error", ward_strerror(r));
    }
    if (r < 0)
        state_close(api);
    return r;
}

/* The WebSocket thread's hooks: the live stream is its only user. */
static void on_ws_wake(void *app)
{
    ward_stream_on_wake(((struct ward_api *)app)->stream);
}

static void on_ws_tick(void *app)
{
    ward_stream_on_tick(((struct ward_api *)app)->stream);
}

static int serve(const struct server_config *cfg, const sigset_t *stop)
{
    struct ward_api state;
    struct ward_api *api = &state;
    int r = state_open(cfg, api);
    if (r < 0)
        return 1;

    struct ward_http_config hcfg = {
        .address = cfg->address,
        .threads = (unsigned)cfg->threads,
        .max_body = (size_t)cfg->max_body,
        .max_decoded_body = (size_t)cfg->max_decoded_body,
        .connection_timeout_s = (unsigned)((cfg->connection_timeout_ms + 999) / 1000),
        .max_connections = (unsigned)cfg->max_connections,
        .max_connections_per_ip = (unsigned)cfg->max_connections_per_ip,
        .cors_origin_list = cfg->cors_origin,
        .access_log = cfg->access_log,
        .stop_drain_ms = cfg->shutdown_timeout_ms > 0 ? cfg->shutdown_timeout_ms : -1,
        .routes = ward_api_routes,
        .n_routes = ward_api_n_routes,
        .app = api,
        .check_raw = ward_api_check_raw,
        .before_send = ward_api_golectra_before_send,
        .on_complete = ward_api_on_complete,
        .ws_on_wake = on_ws_wake,
        .ws_on_tick = on_ws_tick,
        .ws_max_queue = (size_t)cfg->stream_queue,
        .ws_max_connections = (unsigned)cfg->stream_clients,
    };
    struct ward_http_server *http = NULL;
    struct ward_buf err = WARD_BUF_INIT;
    r = ward_http_start(&hcfg, &http, &err);
    if (r < 0) {
        ward_log_error(NULL, "cannot start HTTP server", "error", err.data);
        ward_buf_done(&err);
        state_close(api);
        return 1;
    }
    ward_stream_attach(api->stream, http);
    char port[8];
    snprintf(port, sizeof(port), "%u", ward_http_port(http));
    ward_log_info(NULL, "ward-server started", "version", WARD_VERSION, "address", cfg->address,
                  "port", port, "database", cfg->database, "signatures",
                  cfg->key && *cfg->key ? "required" : "off", "public_read",
                  cfg->public_read ? "on" : "off", "open_ingest", cfg->open_ingest ? "on" : "off");

    int sig = 0;
    sigwait(stop, &sig);
    ward_log_info(NULL, "stopping", "signal", sig == SIGINT ? "SIGINT" : "SIGTERM");
    /*
     * Graceful stop: refuse new requests (503) and let requests in flight
     * finish; their writes are committed by the writer, which still runs.
     * Then the writer commits what is still queued and answers its requests
     * with their real outcome, so no stored batch is answered 503. Only then
     * does the HTTP server stop; a request that arrives on a kept-alive
     * connection meanwhile gets 503 from the stopped writer.
     */
    ward_http_quiesce(http);
    ward_commands_release(api->commands);
    if (!ward_http_drain(http, cfg->shutdown_timeout_ms))
        ward_log_warn(NULL, "requests still in flight at the shutdown timeout");
    ward_writer_stop(api->writer);
    ward_stream_attach(api->stream, NULL);
    ward_http_stop(http);
    state_close(api);
    ward_log_info(NULL, "stopped");
    return 0;
}

/*
 * Every connection is a descriptor, and long-polling agents keep theirs
 * open: lift the soft limit to the hard one (often 1024 against 524288),
 * as servers do, so --max-connections is the limit that counts.
 */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            ward_log_warn(NULL, "cannot raise the open file limit", "error", strerror(errno));
    }
}

int main(int argc, char **argv)
{
    /*
     * Block the stop signals first thing, before any thread exists, so every
     * thread inherits the mask and a stop request is never lost to the
     * default action while starting up; the main loop waits for them.
     */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* DATABASE_URL (seed 001) is the fallback for DATABASE_DSN (golectra). */
    const char *url = getenv("DATABASE_URL");
    const char *dsn = getenv("DATABASE_DSN");
    if (url && *url && !(dsn && *dsn))
        setenv("DATABASE_DSN", url, 1);

    struct server_config cfg;
    int first_arg;
    int r = ward_config_main(&program, &cfg, argc, argv, &first_arg);
    if (r >= 0)
        return r;
    ward_log_setup_named(cfg.log_level, cfg.log_format, NULL);
    raise_fd_limit();
    r = serve(&cfg, &stop);
    ward_config_done(&program, &cfg);
    return r;
}
