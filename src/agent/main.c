/*
 * ward-agent: collects host metrics and ships them to ward-server.
 *
 * This file is the command line: the option table, and main(), which
 * blocks the stop signals before anything else and hands over to the run
 * mode in agent.c.
 */
#include "agent/agent.h"
#include "agent/central-config.h"
#include "common/config.h"
#include "common/log.h"
#include "ward-version.h"

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>

/* One option; a trailing argument may add a field such as .choices. */
#define OPT(name_, short_, env_, type_, field, def_, min_, max_, metavar_, help_, ...)             \
    {                                                                                              \
        .name = name_, .short_name = short_, .env = env_, .type = type_,                           \
        .offset = offsetof(struct agent_config, field), .def = def_, .min = min_, .max = max_,     \
        .metavar = metavar_, .help = help_, __VA_ARGS__                                            \
    }

#define DAY_MS 86400000

/* collectors.NAME.enabled and collectors.NAME.interval for one collector. */
#define X(name)                                                                                    \
    OPT("collectors." #name ".enabled", 0, NULL, WARD_OPT_BOOL,                                    \
        collectors[WARD_COLLECTOR_CFG_##name].enabled, "true", 0, 0, NULL,                         \
        "run the " #name " collector"),                                                            \
        OPT("collectors." #name ".interval", 0, NULL, WARD_OPT_DURATION,                           \
            collectors[WARD_COLLECTOR_CFG_##name].interval_ms, "0", 0, DAY_MS, NULL,               \
            "how often the " #name " collector runs (0: --poll-interval, else its own default)"),

/* diagnostics.NAME.enabled for one diagnostic. */
#define DIAGNOSTIC(name, NAME)                                                                     \
    OPT("diagnostics." #name ".enabled", 0, NULL, WARD_OPT_BOOL, diagnostic[WARD_DIAG_##NAME],     \
        "true", 0, 0, NULL,                                                                        \
        "run the " #name " diagnostic when the server asks (and diagnostics.enabled)"),

static const char *const format_choices[] = {"json", "prom", "vm", NULL};

static const struct ward_option options[] = {
    OPT("address", 'a', "ADDRESS", WARD_OPT_STRING, address, "http://localhost:8080", 0, 0, "URL",
        "server URL, or HOST:PORT for http"),
    OPT("key", 'k', "KEY", WARD_OPT_STRING, key, "", 0, 0, "KEY",
        "sign every upload with this key (HMAC-SHA256); the server must have the same key"),
    OPT("api-key", 0, "WARD_API_KEY", WARD_OPT_STRING, api_key, "", 0, 0, "KEY",
        "upload with this API key, and never store it (default: the key the agent got by "
        "registering, kept in --state-dir)"),
    OPT("enroll-token", 0, "WARD_ENROLL_TOKEN", WARD_OPT_STRING, enroll_token, "", 0, 0, "TOKEN",
        "register with the server's enrollment token: the agent gets its key without an admin's "
        "claim"),
    OPT("hostname", 0, "WARD_HOSTNAME", WARD_OPT_STRING, hostname, "", 0, 0, "NAME",
        "the host name the agent registers with (default: the system's node name)"),
    OPT("vm-url", 0, "WARD_VM_URL", WARD_OPT_STRING, vm_url, "", 0, 0, "URL",
        "also send every batch to VictoriaMetrics at URL (/api/v1/import)"),
    OPT("tls-ca", 0, "WARD_TLS_CA", WARD_OPT_STRING, tls_ca, "", 0, 0, "FILE",
        "verify an https server against the CA certificates in FILE (PEM) instead of the system's"),
    OPT("poll-interval", 'p', "POLL_INTERVAL", WARD_OPT_DURATION, poll_ms, "0", 0, DAY_MS,
        "DURATION", "collect with every collector this often (0: each collector's own interval)"),
    OPT("report-interval", 'r', "REPORT_INTERVAL", WARD_OPT_DURATION, report_ms, "10s", 100, DAY_MS,
        "DURATION", "how often to send collected samples"),
    OPT("state-dir", 0, "WARD_STATE_DIR", WARD_OPT_STRING, state_dir, "/var/lib/ward-agent", 0, 0,
        "DIR",
        "where the agent keeps its id, its claim token, its API key and its spool of unsent "
        "batches"),
    OPT("spool-size", 0, "WARD_SPOOL_SIZE", WARD_OPT_INT, spool_mib, "100", 1, 1048576, "MIB",
        "most disk space the spool takes; past it the oldest samples are dropped and counted"),
    OPT("batch-size", 0, "WARD_BATCH_SIZE", WARD_OPT_INT, batch_samples, "10000", 100, 100000,
        "SAMPLES", "seal a batch early once it holds this many samples"),
    OPT("rate-limit", 'l', "RATE_LIMIT", WARD_OPT_INT, rate_limit, "1", 1, 64, "N",
        "most uploads in flight at once, per output"),
    OPT("backoff-max", 0, "WARD_BACKOFF_MAX", WARD_OPT_DURATION, backoff_max_ms, "5m", 1000,
        3600000, "DURATION", "longest wait between upload retries"),
    OPT("config-interval", 0, "WARD_CONFIG_INTERVAL", WARD_OPT_DURATION, config_interval_ms, "60s",
        0, DAY_MS, "DURATION",
        "how often to ask the server for the agent's central configuration (at least 1s; 0: "
        "never, and the stored one is not applied)"),
    OPT("root", 0, "WARD_ROOT", WARD_OPT_STRING, root, "", 0, 0, "DIR",
        "read /proc, /sys and the logs of the logs diagnostic under this directory (for "
        "containers and tests)"),
    OPT("timeout", 0, "WARD_TIMEOUT", WARD_OPT_DURATION, timeout_ms, "10s", 100, 600000, "DURATION",
        "time limit of one upload"),
    OPT("listen", 0, "WARD_LISTEN", WARD_OPT_STRING, listen, "127.0.0.1:9100", 0, 0, "ADDR",
        "serve /metrics and /health here; empty to turn off"),
    OPT("once", 0, NULL, WARD_OPT_BOOL, once, "false", 0, 0, NULL,
        "collect once, print the samples to stdout and exit"),
    OPT("format", 0, NULL, WARD_OPT_STRING, format, "json", 0, 0, "FORMAT",
        "output of --once: json (the per-sample wire shape), prom (Prometheus text) or vm "
        "(VictoriaMetrics import lines)",
        .choices = format_choices),
    OPT("log-level", 0, "WARD_LOG_LEVEL", WARD_OPT_STRING, log_level, "info", 0, 0, "LEVEL",
        "debug, info, warn or error", .choices = ward_log_level_choices),
    OPT("log-format", 0, "WARD_LOG_FORMAT", WARD_OPT_STRING, log_format, "text", 0, 0, "FORMAT",
        "text or json", .choices = ward_log_format_choices),
    OPT("network.exclude", 0, NULL, WARD_OPT_STRING, net_exclude, WARD_NET_EXCLUDE_DEFAULT, 0, 0,
        "GLOBS", "network interfaces not reported, comma-separated patterns"),
    OPT("network.max-interfaces", 0, NULL, WARD_OPT_INT, net_max_interfaces, "32", 1, 4096, "N",
        "most network interfaces reported"),
    OPT("processes.top", 0, NULL, WARD_OPT_INT, top_n, "10", 0, 100, "N",
        "processes listed by CPU and by memory"),
    OPT("disk.timeout", 0, NULL, WARD_OPT_DURATION, statvfs_timeout_ms, "2s", 10, 60000, "DURATION",
        "how long a filesystem may take to report its size"),
    OPT("diagnostics.enabled", 0, "WARD_DIAGNOSTICS", WARD_OPT_BOOL, diagnostics, "true", 0, 0,
        NULL,
        "run the diagnostics an admin asks for through the server (logs, disk usage, "
        "mounts, ping, connect, netstat, traceroute); false refuses them all"),
    OPT("diagnostics.timeout", 0, NULL, WARD_OPT_DURATION, diagnostics_timeout_ms, "30s", 1000,
        120000, "DURATION", "longest run of one diagnostic"),
    WARD_AGENT_DIAGNOSTICS(DIAGNOSTIC) WARD_AGENT_COLLECTORS};
#undef X
#undef DIAGNOSTIC

static const struct ward_program program = {
    .name = "ward-agent",
    .version = WARD_VERSION,
    .summary = "Collects host metrics and sends them to ward-server.",
    .options = options,
    .n_options = sizeof(options) / sizeof(options[0]),
};

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

    struct agent_config cfg;
    int first_arg;
    int r = ward_config_main(&program, &cfg, argc, argv, &first_arg);
    if (r >= 0)
        return r;
    if (cfg.config_interval_ms > 0 && cfg.config_interval_ms < WARD_CENTRAL_MIN_INTERVAL_MS) {
        fprintf(stderr, "%s: --config-interval: 0 (never) or at least 1s\n", program.name);
        ward_config_done(&program, &cfg);
        return 1;
    }
    ward_log_setup_named(cfg.log_level, cfg.log_format, NULL);
    r = cfg.once ? ward_agent_once(&cfg, &stop) : ward_agent_run(&cfg, &stop);
    ward_config_done(&program, &cfg);
    return r;
}
