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
#include "common/error.h"
#include "common/log.h"
#include "server/api/api.h"
#include "server/http/http.h"
#include "server/store/store.h"
#include "ward-version.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

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
    bool synchronous_full;
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
        "secret that ingest requests must be signed with (X-Ward-Signature); empty = unsigned"),
    OPT("signature-skew", 0, "WARD_SIGNATURE_SKEW", WARD_OPT_DURATION, signature_skew_ms, "5m",
        1000, 3600000, "DURATION", "largest difference between X-Ward-Timestamp and this clock"),
    OPT("log-level", 0, "WARD_LOG_LEVEL", WARD_OPT_STRING, log_level, "info", 0, 0, "LEVEL",
        "debug, info, warn or error", .choices = ward_log_level_choices),
    OPT("log-format", 0, "WARD_LOG_FORMAT", WARD_OPT_STRING, log_format, "text", 0, 0, "FORMAT",
        "text or json", .choices = ward_log_format_choices),
    OPT("threads", 0, "WARD_THREADS", WARD_OPT_INT, threads, "0", 0, 256, "N",
        "HTTP worker threads; 0 means one per CPU"),
    OPT("max-body-bytes", 0, "WARD_MAX_BODY_BYTES", WARD_OPT_INT, max_body, "10485760", 1024,
        INT64_C(1) << 30, "BYTES", "largest request body accepted, as sent"),
    OPT("max-decoded-body-bytes", 0, "WARD_MAX_DECODED_BODY_BYTES", WARD_OPT_INT, max_decoded_body,
        "67108864", 1024, INT64_C(4) << 30, "BYTES",
        "largest request body accepted after gzip decoding"),
    OPT("connection-timeout", 0, "WARD_CONNECTION_TIMEOUT", WARD_OPT_DURATION,
        connection_timeout_ms, "30s", 1000, 3600000, "DURATION",
        "idle connections close after this"),
    OPT("max-connections", 0, "WARD_MAX_CONNECTIONS", WARD_OPT_INT, max_connections, "1024", 1,
        65536, "N", "concurrent client connections"),
    OPT("synchronous-full", 0, "WARD_SYNCHRONOUS_FULL", WARD_OPT_BOOL, synchronous_full, "false", 0,
        0, NULL, "sync the database on every commit (see docs/storage.md)"),
};

static const struct ward_program program = {
    .name = "ward-server",
    .version = WARD_VERSION,
    .summary = "Receives metrics from ward agents, stores them and serves queries.",
    .options = options,
    .n_options = sizeof(options) / sizeof(options[0]),
};

static int serve(const struct server_config *cfg, const sigset_t *stop)
{
    struct ward_store_options sopt = {.synchronous_full = cfg->synchronous_full};
    struct ward_api api = {
        .signature_key = cfg->key,
        .signature_skew_ms = cfg->signature_skew_ms,
    };
    int r = ward_store_open(cfg->database, &sopt, &api.store);
    if (r < 0) {
        ward_log_error(NULL, "cannot open database", "dsn", cfg->database, "error",
                       ward_strerror(r));
        return 1;
    }

    struct ward_http_config hcfg = {
        .address = cfg->address,
        .threads = (unsigned)cfg->threads,
        .max_body = (size_t)cfg->max_body,
        .max_decoded_body = (size_t)cfg->max_decoded_body,
        .connection_timeout_s = (unsigned)((cfg->connection_timeout_ms + 999) / 1000),
        .max_connections = (unsigned)cfg->max_connections,
        .routes = ward_api_routes,
        .n_routes = ward_api_n_routes,
        .app = &api,
        .check_raw = ward_api_check_raw,
    };
    struct ward_http_server *http = NULL;
    struct ward_buf err = WARD_BUF_INIT;
    r = ward_http_start(&hcfg, &http, &err);
    if (r < 0) {
        ward_log_error(NULL, "cannot start HTTP server", "error", err.data);
        ward_buf_done(&err);
        ward_store_close(api.store);
        return 1;
    }
    char port[8];
    snprintf(port, sizeof(port), "%u", ward_http_port(http));
    ward_log_info(NULL, "ward-server started", "version", WARD_VERSION, "address", cfg->address,
                  "port", port, "database", cfg->database, "signatures",
                  cfg->key && *cfg->key ? "required" : "off");

    int sig = 0;
    sigwait(stop, &sig);
    ward_log_info(NULL, "stopping", "signal", sig == SIGINT ? "SIGINT" : "SIGTERM");
    ward_http_stop(http);
    ward_store_close(api.store);
    ward_log_info(NULL, "stopped");
    return 0;
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
    r = serve(&cfg, &stop);
    ward_config_done(&program, &cfg);
    return r;
}
