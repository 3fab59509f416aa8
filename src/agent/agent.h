/*
 * ward-agent's run modes, apart from option parsing (main.c).
 */
#ifndef WARD_AGENT_H
#define WARD_AGENT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent/collector.h"
#include "agent/scheduler.h"
#include "common/diag.h"

/* Diagnostics with a configuration key (diagnostics.NAME.enabled), named as in common/diag.h. */
/* clang-format off */
#define WARD_AGENT_DIAGNOSTICS(D) \
    D(logs, LOGS)                 \
    D(disk_usage, DISK_USAGE)     \
    D(mounts, MOUNTS)             \
    D(ping, PING)                 \
    D(connect, CONNECT)           \
    D(netstat, NETSTAT)           \
    D(traceroute, TRACEROUTE)
/* clang-format on */

/* Collector names that have configuration keys (collectors.NAME.enabled and .interval). */
/* clang-format off */
#define WARD_AGENT_COLLECTORS \
    X(cpu)                    \
    X(load)                   \
    X(memory)                 \
    X(disk)                   \
    X(diskio)                 \
    X(network)                \
    X(wifi)                   \
    X(processes)              \
    X(system)                 \
    X(temperature)            \
    X(thermal)                \
    X(rpi)                    \
    X(reachability)           \
    X(agent)
/* clang-format on */

enum {
#define X(name) WARD_COLLECTOR_CFG_##name,
    WARD_AGENT_COLLECTORS
#undef X
        WARD_AGENT_N_COLLECTORS
};

struct agent_config {
    char *address;
    char *tls_ca;
    char *key;
    char *api_key;
    char *enroll_token;
    char *hostname;
    char *vm_url;
    int64_t poll_ms;
    int64_t report_ms;
    char *state_dir;
    char *root;
    int64_t timeout_ms;
    char *listen;
    bool once;
    char *format;
    char *log_level;
    char *log_format;
    char *net_exclude;
    int64_t net_max_interfaces;
    int64_t top_n;
    int64_t statvfs_timeout_ms;
    int64_t spool_mib;
    int64_t backoff_max_ms;
    int64_t rate_limit;
    int64_t batch_samples;
    int64_t config_interval_ms; /* central configuration; 0: never asked */
    struct {
        bool enabled;
        int64_t interval_ms;
    } collectors[WARD_AGENT_N_COLLECTORS];
    bool diagnostics;             /* run diagnostics the server asks for */
    bool diagnostic[WARD_DIAG_N]; /* each one, when diagnostics is on */
    int64_t diagnostics_timeout_ms;
};

/*
 * Runs until a signal in stop arrives: collects on schedule, spools a batch
 * every report interval, uploads the spool, serves the listener. Returns
 * the exit status.
 */
int ward_agent_run(const struct agent_config *cfg, const sigset_t *stop);

/*
 * Collects once (after a baseline round, so rates have something to
 * compare with), prints the samples to stdout as the wire JSON ("json"),
 * Prometheus text ("prom") or VictoriaMetrics import lines ("vm"), and
 * returns the exit status.
 */
int ward_agent_once(const struct agent_config *cfg, const sigset_t *stop);

#endif
