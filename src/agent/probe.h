/*
 * Reachability probes of ward-agent: ICMP echo, TCP connect and HTTP GET
 * against configured targets, reporting success, latency, loss and status.
 *
 * A probe is described by a struct ward_probe_spec, parsed and checked from
 * one JSON object of the agent's configuration. ward_probe_run_many() runs
 * several probes at once: every socket is non-blocking and one poll() loop
 * serves them all, so a round of probes takes as long as its slowest
 * timeout, not the sum of them. Host names resolve with getaddrinfo_a(),
 * inside the same deadline. A probe that cannot reach its target is not an
 * error of the call: its result says down and why.
 *
 * The reachability collector (collectors/reachability.c) runs the
 * configured probes; ward_reachability_configure() replaces its probe set
 * (the agent's central configuration sets it). With no probes it reports
 * -ENOENT, like a collector whose hardware is absent.
 */
#ifndef WARD_PROBE_H
#define WARD_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "agent/collector.h"
#include "common/agent-rules.h"
#include "common/buf.h"
#include "common/json.h"

/* Longest target text: a host, host:port or URL. */
#define WARD_PROBE_TARGET_MAX 255
/* Tags per probe: the labels of a sample less "type" and "target". */
#define WARD_PROBE_MAX_TAGS (WARD_SAMPLE_MAX_LABELS - 2)
/* Probes the reachability collector holds at once. */
#define WARD_PROBE_MAX 64

/* Defaults and bounds of the spec's fields: common/agent-rules.h. */

enum ward_probe_type {
    WARD_PROBE_ICMP,
    WARD_PROBE_TCP,
    WARD_PROBE_HTTP,
};

struct ward_probe_tag {
    char key[WARD_PROBE_TAG_KEY_MAX + 1];
    char value[WARD_PROBE_TAG_VALUE_MAX + 1];
};

struct ward_probe_spec {
    enum ward_probe_type type;
    /*
     * icmp: a host name, IPv4 address or IPv6 address ("::1" or "[::1]");
     * tcp: "HOST:PORT" or "[V6]:PORT"; http: "http://HOST[:PORT][/PATH]".
     */
    char target[WARD_PROBE_TARGET_MAX + 1];
    int64_t interval_ms; /* how often the probe runs */
    int64_t timeout_ms;  /* the whole probe, name resolution included */
    int count;           /* icmp: echo requests per run */
    int64_t spacing_ms;  /* icmp: time between two echo requests */
    struct ward_probe_tag tags[WARD_PROBE_MAX_TAGS];
    size_t n_tags;
};

/* Returns "icmp", "tcp" or "http"; "" for a value outside the enum. */
const char *ward_probe_type_name(enum ward_probe_type type);

/* Fills *spec with the defaults above, type icmp and an empty target. */
void ward_probe_spec_init(struct ward_probe_spec *spec);

/*
 * Checks a spec: the target parses for its type, every field is within its
 * bounds, (count - 1) * spacing fits in the timeout, the timeout does not
 * exceed the interval, and tag keys are label names ([A-Za-z_][A-Za-z0-9_]*,
 * not "type" or "target", each once) with printable values. Returns 0, or
 * WARD_E_CONFIG with a message appended to err (which may be NULL).
 */
int ward_probe_spec_check(const struct ward_probe_spec *spec, struct ward_buf *err);

/*
 * Reads one probe object from r, whose next value must be that object, e.g.
 * {"type":"tcp","target":"127.0.0.1:22","interval":"30s","timeout":"2s",
 * "tags":{"role":"db"}}. Keys: type and target (required), interval,
 * timeout, count and spacing (icmp only), tags (an object of strings).
 * Durations are strings ("1.5s", "200ms") or numbers of seconds. Unknown
 * and repeated keys are errors. The result is checked as by
 * ward_probe_spec_check(). Returns 0 and fills *out; or WARD_E_CONFIG, or
 * the reader's error, with a message appended to err (may be NULL).
 */
int ward_probe_spec_read(struct ward_json_reader *r, struct ward_probe_spec *out,
                         struct ward_buf *err);

/*
 * Parses a JSON document of len bytes at json that holds one probe object,
 * as ward_probe_spec_read(), within small reader limits (16 KiB, depth 2).
 */
int ward_probe_spec_parse(const char *json, size_t len, struct ward_probe_spec *out,
                          struct ward_buf *err);

/* The outcome of one run of a probe. */
struct ward_probe_result {
    bool up;
    /*
     * Milliseconds: icmp, the mean round trip of the answered echoes; tcp,
     * the connect; http, from the connect to the end of the response head.
     * Name resolution is not included. Meaningful only when up.
     */
    double latency_ms;
    double loss_percent; /* icmp: echo requests without an answer; else 0 */
    int status_code;     /* http: the response's status, 0 when there was none */
    /*
     * 0 when up; else why not: -ETIMEDOUT, -ECONNREFUSED, -ENXIO (the name
     * does not resolve), -EACCES or -EPERM (no ICMP socket may be opened),
     * WARD_E_HTTP (a status other than 2xx or 3xx, or a malformed
     * response), -EMSGSIZE (a response head over 16 KiB), ...
     */
    int error;
};

/*
 * Runs the n probes specs[i] at the same time and writes their results to
 * out[i]. Each probe ends by its own timeout, so the call returns within
 * the largest timeout of the set (plus scheduling delays). Returns 0 (the
 * results say which probes are up), -EINVAL when n exceeds WARD_PROBE_MAX,
 * or -ENOMEM; out is written only on success. A spec that fails
 * ward_probe_spec_check() gets a result with error -EINVAL.
 */
int ward_probe_run_many(const struct ward_probe_spec *const *specs, size_t n,
                        struct ward_probe_result *out);

/*
 * Runs one probe. Returns 0 and fills *out, -EINVAL for a spec that fails
 * ward_probe_spec_check(), or -ENOMEM.
 */
int ward_probe_run(const struct ward_probe_spec *spec, struct ward_probe_result *out);

/*
 * Resolves host (at most WARD_PROBE_TARGET_MAX bytes) to its first IPv4 or
 * IPv6 address for sockets of socktype, by deadline_ms (monotonic): at once
 * for an address, else through the probes' bounded set of lookups. Returns
 * 0, -ENXIO (the name does not resolve), -ETIMEDOUT, -EBUSY (too many
 * lookups still running), -EAGAIN, -ENOMEM or -EIO.
 */
int ward_probe_resolve(const char *host, int socktype, int64_t deadline_ms,
                       struct sockaddr_storage *addr);

/*
 * Replaces the probe set of the reachability collector with copies of the n
 * specs; thread-safe, and takes effect at the collector's next run. Probes
 * that keep their type, target and tags keep their counters and schedule.
 * Returns 0; WARD_E_LIMIT when n exceeds WARD_PROBE_MAX; WARD_E_CONFIG for
 * a spec that fails ward_probe_spec_check() or that repeats the type,
 * target and tags of another (the two would be one series); or -ENOMEM.
 * Messages are appended to err (may be NULL). On failure the set in force
 * stays.
 */
int ward_reachability_configure(const struct ward_probe_spec *specs, size_t n,
                                struct ward_buf *err);

/*
 * Checks a probe set as ward_reachability_configure() does, without
 * applying it. Returns 0, WARD_E_LIMIT or WARD_E_CONFIG, with a message
 * appended to err (may be NULL).
 */
int ward_reachability_check(const struct ward_probe_spec *specs, size_t n, struct ward_buf *err);

#endif
