/*
 * The ping diagnostic: count ICMP echo requests to a host within a
 * timeout for the whole run, and a one-line summary of the answers.
 *
 * The echoes are sent in process by the reachability probe (probe.h),
 * which opens an unprivileged ping socket, or a raw socket where the
 * kernel refuses that and the agent has CAP_NET_RAW. The requests are
 * spaced 1 s apart like ping's, closer when count of them would not fit
 * in the timeout, so the last one still has time for its answer. Only
 * when neither socket is allowed (net.ipv4.ping_group_range excludes the
 * agent's group and it has no CAP_NET_RAW) does the diagnostic run the
 * system's ping, which may hold a file capability the agent lacks, with
 * its own deadline set to the timeout and its output passed through line
 * by line, escaped like everything else shown (ward_diag_escape()): what
 * it prints comes from the network too, a reverse name or an error. Its
 * summary line is read back to tell "no answer at all" (1) from "some
 * answers" (0): iputils ping alone exits 1 when fewer than count came.
 *
 * A probe that ends before its first echo request leaves the loss at 0:
 * with -ETIMEDOUT that is a name still resolving at the timeout. That is
 * said as such, not as "count sent, 0 received", which would be false.
 */
#include "agent/diagnostics/diagnostics.h"

#include "agent/probe.h"
#include "common/error.h"
#include "common/time-util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Time between two echo requests, as ping's default. */
#define SPACING_MS 1000
/* ping's output kept for parsing; its summary is a few hundred bytes. */
#define PING_OUTPUT_MAX (64 * 1024)
/* Grace beyond ping's own deadline before it is killed. */
#define PING_GRACE_MS 1500

/* The number before " received" in ping's summary, or -1. */
static long replies_in(const char *text)
{
    const char *p = text ? strstr(text, " received") : NULL;
    if (!p || p == text)
        return -1;
    const char *q = p;
    while (q > text && q[-1] >= '0' && q[-1] <= '9')
        q--;
    if (q == p || p - q > 6)
        return -1;
    long n = 0;
    for (; q < p; q++)
        n = n * 10 + (*q - '0');
    return n;
}

/* Runs the system's ping; why says why the in-process probe could not. */
static int system_ping(const char *target, int64_t count, int64_t timeout_s, int why,
                       const struct ward_diag_ctx *ctx, struct ward_diag_out *out)
{
    char count_s[24], wait_s[24];
    snprintf(count_s, sizeof(count_s), "%lld", (long long)count);
    snprintf(wait_s, sizeof(wait_s), "%lld", (long long)timeout_s);
    const char *argv[] = {"ping", "-n", "-c", count_s, "-W", wait_s, "-w", wait_s, target, NULL};

    struct ward_diag_ctx sub = *ctx;
    int64_t end = ward_mono_ms() + timeout_s * 1000 + PING_GRACE_MS;
    if (end < sub.deadline_ms)
        sub.deadline_ms = end;
    struct ward_diag_out text;
    ward_diag_out_init(&text, PING_OUTPUT_MAX);
    int rc = ward_diag_exec("ping", argv, &sub, &text);
    if (rc == -ENOENT) {
        ward_diag_out_printf(out,
                             "PING %s: the agent may not open ICMP sockets (%s; see "
                             "net.ipv4.ping_group_range), and no ping program was found\n",
                             target, ward_strerror(why));
        ward_diag_out_done(&text);
        return why;
    }
    ward_diag_out_printf(out,
                         "the agent may not open ICMP sockets (%s; see net.ipv4.ping_group_range): "
                         "running ping\n",
                         ward_strerror(why));
    ward_diag_out_append_lines(out, text.text.data, text.text.len);
    if (text.truncated)
        ward_diag_out_printf(out, "[ping's output was cut]\n");
    long replies = replies_in(text.text.data);
    ward_diag_out_done(&text);
    if (rc == -ETIMEDOUT)
        ward_diag_out_printf(out, "[ping was stopped at the deadline]\n");
    else if (rc < 0)
        ward_diag_out_printf(out, "ping could not run: %s\n", ward_strerror(rc));
    if (replies >= 0)
        return replies > 0 ? 0 : 1;
    return rc;
}

int ward_diag_ping(const struct ward_diag_args *args, const struct ward_diag_ctx *ctx,
                   struct ward_diag_out *out)
{
    const char *target = ward_diag_get(args, "target");
    int64_t count = ward_diag_get_int(args, "count");
    int64_t timeout_s = ward_diag_get_int(args, "timeout");
    if (!target[0] || count < 1 || count > WARD_PROBE_COUNT_MAX || timeout_s < 1 ||
        timeout_s > WARD_PROBE_TIMEOUT_MAX_MS / 1000) {
        ward_diag_out_printf(out, "ping: bad arguments\n");
        return -EINVAL;
    }
    int64_t budget = ctx->deadline_ms - ward_mono_ms();
    if (budget > timeout_s * 1000)
        budget = timeout_s * 1000;
    if (budget < WARD_PROBE_TIMEOUT_MIN_MS) {
        ward_diag_out_printf(out, "PING %s: no time left before the deadline\n", target);
        return -ETIMEDOUT;
    }

    struct ward_probe_spec spec;
    ward_probe_spec_init(&spec);
    spec.type = WARD_PROBE_ICMP;
    snprintf(spec.target, sizeof(spec.target), "%s", target);
    spec.count = (int)count;
    spec.timeout_ms = budget;
    spec.spacing_ms = budget / count < SPACING_MS ? budget / count : SPACING_MS;
    spec.interval_ms = budget > WARD_PROBE_INTERVAL_MIN_MS ? budget : WARD_PROBE_INTERVAL_MIN_MS;
    struct ward_probe_result res;
    int rc = ward_probe_run(&spec, &res);
    if (rc < 0) {
        ward_diag_out_printf(out, "PING %s: could not run the probe: %s\n", target,
                             ward_strerror(rc));
        return rc;
    }
    if (res.error == -EACCES || res.error == -EPERM)
        return system_ping(target, count, timeout_s, res.error, ctx, out);

    if (!res.up && res.error == -ENXIO) {
        ward_diag_out_printf(out, "PING %s: the name does not resolve\n", target);
        return 1;
    }
    if (!res.up && res.loss_percent == 0) {
        /* Not one echo went out (that makes the loss 100%): the probe ended before. */
        if (res.error == -ETIMEDOUT)
            ward_diag_out_printf(out,
                                 "PING %s: the name could not be resolved in time (%lld ms); no "
                                 "echo request was sent\n",
                                 target, (long long)budget);
        else
            ward_diag_out_printf(out, "PING %s: no echo request was sent: %s\n", target,
                                 ward_strerror(res.error));
        return 1;
    }
    long received = lround((double)count * (100.0 - res.loss_percent) / 100.0);
    if (!res.up)
        received = 0;
    ward_diag_out_printf(out, "PING %s: %lld sent, %ld received, %.0f%% loss", target,
                         (long long)count, received, res.loss_percent);
    if (res.up)
        ward_diag_out_printf(out, ", avg rtt %.3f ms", res.latency_ms);
    else
        ward_diag_out_printf(out, " (%s)", ward_strerror(res.error));
    ward_diag_out_printf(out, " [in-process ICMP echo]\n");
    return res.up ? 0 : 1;
}
