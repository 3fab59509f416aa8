/*
 * The connect diagnostic: one TCP connection to HOST:PORT, with the time
 * the connect took or the reason it failed.
 *
 * It is the reachability collector's TCP probe (probe-tcp.c) run once:
 * the probe already resolves names within its deadline (getaddrinfo_a,
 * never a blocking lookup), tries every address of a name in turn, and
 * tells a refusal from a silent target. So this file only turns the
 * checked argument into a probe spec and the result into a line of text.
 *
 * The target is split (common/diag.h) and put together again in the
 * probe's own syntax, brackets around an IPv6 address, rather than passed
 * through as it came: the two checks are written apart, and what reaches
 * the probe is then what the diagnostic understood. The probe's timeout
 * is the argument's, cut to the time left before the run's deadline; with
 * less than the probe's least timeout left, the diagnostic does not start.
 *
 * The probe reports no address, so for a host name the output names the
 * target only, not which of its addresses answered.
 */
#include "agent/diagnostics/diagnostics.h"

#include "agent/probe.h"
#include "common/agent-rules.h"
#include "common/error.h"
#include "common/time-util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int ward_diag_connect(const struct ward_diag_args *args, const struct ward_diag_ctx *ctx,
                      struct ward_diag_out *out)
{
    const char *target = ward_diag_get(args, "target");
    int64_t timeout_ms = ward_diag_get_int(args, "timeout") * 1000;
    char host[WARD_DIAG_ARG_MAX + 1];
    unsigned port;
    if (ward_diag_split_host_port(target, host, sizeof(host), &port) < 0) {
        ward_diag_out_printf(out, "invalid target\n");
        return -EINVAL;
    }

    int64_t left = ctx->deadline_ms - ward_mono_ms();
    if (timeout_ms > left)
        timeout_ms = left;
    if (timeout_ms < WARD_PROBE_TIMEOUT_MIN_MS) {
        ward_diag_out_printf(out, "cannot connect to %s: no time left before the deadline\n",
                             target);
        return -ETIMEDOUT;
    }

    struct ward_probe_spec spec;
    ward_probe_spec_init(&spec);
    spec.type = WARD_PROBE_TCP;
    bool v6 = strchr(host, ':') != NULL;
    int n = snprintf(spec.target, sizeof(spec.target), v6 ? "[%s]:%u" : "%s:%u", host, port);
    if (n < 0 || (size_t)n >= sizeof(spec.target)) {
        ward_diag_out_printf(out, "invalid target\n");
        return -EINVAL;
    }
    spec.timeout_ms = timeout_ms;
    spec.interval_ms = WARD_PROBE_INTERVAL_MAX_MS; /* unused by one run; must not be below it */

    struct ward_probe_result res;
    int r = ward_probe_run(&spec, &res);
    if (r < 0) {
        ward_diag_out_printf(out, "cannot run the probe for %s: %s\n", target, ward_strerror(r));
        return r;
    }
    if (res.up) {
        ward_diag_out_printf(out, "connected to %s in %.1f ms\n", target, res.latency_ms);
        return 0;
    }
    /* The probe's -ENXIO means that the name does not resolve: say so, not strerror's words. */
    ward_diag_out_printf(out, "cannot connect to %s: %s\n", target,
                         res.error == -ENXIO ? "the host name does not resolve"
                                             : ward_strerror(res.error));
    return 1;
}
