/*
 * Live-stream benchmark: WebSocket clients on GET /api/v1/stream while
 * simulated agents ingest at a fixed rate.
 *
 * One process plays both sides. A agents (stream-ingest.c; one thread and
 * one keep-alive connection each) post gzip batches of B samples to
 * POST /api/v1/ingest on a fixed schedule, so that together they send R
 * samples per second; each sample's timestamp is the wall clock when its
 * batch is built. N WebSocket clients (stream-clients.c, on the RFC 6455
 * client of ws-client.c) live on one epoll thread and file the latency of
 * every sample they receive, the wall clock at arrival minus its timestamp,
 * in histograms of 1 ms buckets (latency.c), one for unfiltered clients and
 * one for filtered ones. This file parses the options, runs the phases and
 * prints the figures.
 *
 * Ingest starts when every client has its "ready". After the timed phase
 * and the last answer, clients get up to -w seconds to receive what was
 * acknowledged; each client's shortfall against the samples its filter
 * selects is a drop, summed over the clients the server did not close.
 * Clients the server closed are counted by close code. With -P the
 * server's CPU time per thread (from /proc) and its RSS are printed, and
 * this process's own CPU per thread, since generator, clients and server
 * share the machine, and how long each thread was runnable but waited for
 * a CPU (schedstat). The interval lines add the slowest ingest answer and
 * how late the clients' thread woke, so that a latency spike can be put
 * on the writer, the server's WebSocket side, this reader or the machine.
 * Timing is never asserted: the exit status is 1 only
 * when the run could not take place (no connection, a refused handshake,
 * nothing acknowledged).
 */
#include "common/error.h"
#include "common/parse.h"
#include "common/time-util.h"

#include "bench-stream.h"
#include "bench-util.h"
#include "http-io.h"
#include "latency.h"
#include "proc-sample.h"
#include "proc-schedstat.h"
#include "stream-clients.h"
#include "stream-ingest.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_CLIENTS      10000
#define MAX_AGENTS       1000
#define MAX_BATCH        100000
#define READY_TIMEOUT_MS 10000

/* ---- Options, report, main ---- */

static int usage(const char *why)
{
    if (why)
        fprintf(stderr, "bench-stream: %s\n", why);
    fprintf(stderr,
            "Usage: bench-stream [-c HOST:PORT] [-n CLIENTS] [-r SAMPLES_PER_S] [-a AGENTS]\n"
            "                    [-b BATCH] [-d SECONDS] [-w SECONDS] [-m all|mixed] [-P PID]\n"
            "                    [-i SECONDS] [-l LEVEL] [-t TOKEN]\n"
            "  -c  server address (127.0.0.1:8080)\n"
            "  -n  WebSocket clients on /api/v1/stream (100)\n"
            "  -r  samples per second, all agents together (20000)\n"
            "  -a  simulated agents (hosts), one thread and connection each (20)\n"
            "  -b  samples per ingest request (100); each agent sends R/(A*B) per second\n"
            "  -d  timed phase in seconds (30)\n"
            "  -w  drain: longest wait after the last answer for clients to catch up (2)\n"
            "  -m  all: no client filters (default); mixed: every second client filters\n"
            "      by the server_id of one agent\n"
            "  -P  pid of ward-server, for its CPU time per thread and its RSS\n"
            "  -i  print figures of every interval of this many seconds (5; 0 = never)\n"
            "  -l  gzip level of the requests, 0 = plain JSON (1, as the agent)\n"
            "  -t  admin token, for a server without --open-ingest and --public-read\n");
    return 2;
}

static int parse_options(int argc, char **argv, struct ward_stream_options *o)
{
    *o = (struct ward_stream_options){.address = "127.0.0.1:8080",
                                      .clients = 100,
                                      .agents = 20,
                                      .batch = 100,
                                      .rate = 20000,
                                      .duration_ms = 30000,
                                      .drain_ms = 2000,
                                      .progress_s = 5,
                                      .level = 1};
    int c;
    while ((c = getopt(argc, argv, "c:n:r:a:b:d:w:m:P:i:l:t:h")) != -1) {
        int r = 0;
        switch (c) {
        case 'c':
            o->address = optarg;
            break;
        case 'n':
            r = ward_int_option(optarg, 0, MAX_CLIENTS, &o->clients);
            break;
        case 'r':
            r = ward_int_option(optarg, 1, 100000000, &o->rate);
            break;
        case 'a':
            r = ward_int_option(optarg, 1, MAX_AGENTS, &o->agents);
            break;
        case 'b':
            r = ward_int_option(optarg, 1, MAX_BATCH, &o->batch);
            break;
        case 'd':
            r = ward_parse_duration_ms(optarg, &o->duration_ms);
            break;
        case 'w':
            r = ward_parse_duration_ms(optarg, &o->drain_ms);
            break;
        case 'm':
            if (strcmp(optarg, "mixed") != 0 && strcmp(optarg, "all") != 0)
                return usage("-m takes all or mixed");
            o->mixed = strcmp(optarg, "mixed") == 0;
            break;
        case 'P':
            r = ward_int_option(optarg, 1, INT32_MAX, &o->server_pid);
            break;
        case 'i':
            r = ward_int_option(optarg, 0, 3600, &o->progress_s);
            break;
        case 'l':
            r = ward_int_option(optarg, 0, 12, &o->level);
            break;
        case 't':
            o->token = optarg;
            break;
        default:
            return usage(NULL);
        }
        if (r < 0 || o->duration_ms < 0 || o->drain_ms < 0) {
            char why[64];
            snprintf(why, sizeof(why), "bad value for -%c", c);
            return usage(why);
        }
    }
    if (optind != argc)
        return usage("unexpected argument");
    if (o->duration_ms == 0)
        return usage("-d must be more than 0");
    if (ward_http_server_address("bench-stream", o->address, &o->addr) < 0)
        return 2;
    return 0;
}

static uint64_t acked_total(const struct ward_stream_agent *agents, int n)
{
    uint64_t sum = 0;
    for (int i = 0; i < n; i++)
        sum += atomic_load_explicit(&agents[i].acked, memory_order_relaxed);
    return sum;
}

/* Samples client c should have received: what its filter selects of what was acknowledged. */
static uint64_t expected(const struct ward_stream_client *c, const struct ward_stream_agent *agents,
                         int n_agents)
{
    if (c->agent >= 0)
        return atomic_load(&agents[c->agent].acked);
    return acked_total(agents, n_agents);
}

static bool healthy(const struct ward_stream_client *c)
{
    return !c->ws.failure[0] && !c->ws.closed_by_server && !c->ws.lost;
}

/* Prints the figures of each interval of o->progress_s seconds until the agents are done. */
static void report_progress(const struct ward_stream_options *o,
                            const struct ward_stream_agent *agents, struct ward_stream_pace *pace,
                            struct ward_stream_hub *hub)
{
    static uint64_t h0[2][WARD_LATENCY_MS + 1], h1[WARD_LATENCY_MS + 1];
    const struct ward_stream_client *clients = hub->clients;
    uint64_t acked0 = 0, recv0 = 0;
    int64_t t0 = pace->start_ns;
    ward_latency_copy(&hub->hist[0], h0[0]);
    ward_latency_copy(&hub->hist[1], h0[1]);
    while (atomic_load(&pace->done) < o->agents) {
        int64_t next = t0 + (int64_t)o->progress_s * 1000000000;
        while (atomic_load(&pace->done) < o->agents && ward_mono_ns() < next)
            ward_sleep_until_ns(ward_mono_ns() + 50000000);
        int64_t now = ward_mono_ns();
        if (now - t0 < (int64_t)o->progress_s * 500000000)
            break;
        uint64_t acked = acked_total(agents, o->agents), recv = 0;
        for (int i = 0; i < o->clients; i++)
            recv += atomic_load_explicit(&clients[i].samples, memory_order_relaxed);
        static uint64_t d[WARD_LATENCY_MS + 1];
        memset(d, 0, sizeof(d));
        for (int k = 0; k < 2; k++) {
            ward_latency_copy(&hub->hist[k], h1);
            for (size_t i = 0; i <= WARD_LATENCY_MS; i++) {
                d[i] += h1[i] - h0[k][i];
                h0[k][i] = h1[i];
            }
        }
        double secs = (double)(now - t0) / 1e9;
        printf("  %5.1f s: %.0f samples/s acknowledged, %.0f delivered per client; latency p50 "
               "%" PRId64 " ms, p99 %" PRId64 " ms, max %" PRId64 " ms; slowest ingest answer %.0f "
               "ms; clients' thread up to %.0f ms late, %.0f ms busy\n",
               (double)(now - pace->start_ns) / 1e9, (double)(acked - acked0) / secs,
               o->clients ? (double)(recv - recv0) / secs / o->clients : 0,
               ward_latency_percentile(d, 50), ward_latency_percentile(d, 99),
               ward_latency_percentile(d, 100),
               (double)atomic_exchange(&pace->interval_post_us, 0) / 1e3,
               (double)atomic_exchange(&hub->loop.interval_late_wake_us, 0) / 1e3,
               (double)atomic_exchange(&hub->loop.interval_busy_us, 0) / 1e3);
        fflush(stdout);
        acked0 = acked;
        recv0 = recv;
        t0 = now;
    }
}

struct summary {
    uint64_t sent, acked, requests, late, conn_errors, non2xx;
    uint32_t status[WARD_STREAM_MAX_STATUS];
    int64_t *post_us;
    size_t n_post;
    int failed_agents;
};

static void sum_agents(const struct ward_stream_agent *agents, int n, struct summary *s)
{
    *s = (struct summary){0};
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += agents[i].n_post;
    s->post_us = calloc(total ? total : 1, sizeof(*s->post_us));
    for (int i = 0; i < n; i++) {
        const struct ward_stream_agent *a = &agents[i];
        s->sent += atomic_load(&a->sent);
        s->acked += atomic_load(&a->acked);
        s->requests += a->requests;
        s->late += a->late;
        s->conn_errors += a->conn_errors;
        s->failed_agents += a->error != 0;
        for (int k = 0; k < WARD_STREAM_MAX_STATUS; k++) {
            s->status[k] += a->status[k];
            if (k / 100 != 2)
                s->non2xx += a->status[k];
        }
        if (s->post_us) {
            memcpy(s->post_us + s->n_post, a->post_us, a->n_post * sizeof(*a->post_us));
            s->n_post += a->n_post;
        }
        if (a->error)
            fprintf(stderr, "bench-stream: agent %d: %s\n", i, a->what);
    }
    if (s->post_us)
        qsort(s->post_us, s->n_post, sizeof(*s->post_us), ward_cmp_i64);
}

int main(int argc, char **argv)
{
    struct ward_stream_options o;
    int r = parse_options(argc, argv, &o);
    if (r > 0)
        return r;
    double per_agent = (double)o.rate / o.agents / o.batch;
    printf("stream: %d clients (%s) on /api/v1/stream; ingest %d agents x %d samples per batch x "
           "%.2f batches/s = %d samples/s, %s; %.1f s, drain up to %.1f s, server %s\n",
           o.clients, o.mixed ? "half of them filtered by one server_id" : "unfiltered", o.agents,
           o.batch, per_agent, o.rate, o.level ? "gzip" : "plain JSON",
           (double)o.duration_ms / 1000, (double)o.drain_ms / 1000, o.address);
    fflush(stdout);

    struct ward_stream_agent *agents = calloc((size_t)o.agents, sizeof(*agents));
    struct ward_stream_client *clients = calloc((size_t)o.clients + 1, sizeof(*clients));
    pthread_t *threads = calloc((size_t)o.agents, sizeof(*threads));
    if (!agents || !clients || !threads) {
        fprintf(stderr, "bench-stream: out of memory\n");
        return 1;
    }
    size_t cap_post = (size_t)(per_agent * (double)o.duration_ms / 1000 * 1.1) + 16;
    static struct ward_stream_pace pace;
    for (int i = 0; i < o.agents; i++) {
        r = ward_stream_agent_init(&agents[i], &o, &pace, i, cap_post);
        if (r < 0) {
            fprintf(stderr, "bench-stream: agent %d: %s\n", i, ward_strerror(r));
            return 1;
        }
    }

    static struct ward_stream_hub hub;
    r = ward_stream_hub_init(&hub, &o, agents, clients);
    if (r < 0) {
        fprintf(stderr, "bench-stream: epoll: %s\n", strerror(-r));
        return 1;
    }
    pthread_t ws_thread;
    int64_t t = ward_mono_ns();
    if (pthread_create(&ws_thread, NULL, ward_stream_clients_main, &hub) != 0) {
        fprintf(stderr, "bench-stream: cannot start the client thread\n");
        return 1;
    }
    while (atomic_load(&hub.ready) + atomic_load(&hub.loop.failed) < o.clients &&
           ward_mono_ns() - t < (int64_t)READY_TIMEOUT_MS * 1000000)
        ward_sleep_until_ns(ward_mono_ns() + 5000000);
    int ready = atomic_load(&hub.ready);
    printf("clients: %d of %d ready in %.2f s\n", ready, o.clients,
           (double)(ward_mono_ns() - t) / 1e9);
    if (ready < o.clients) {
        atomic_store(&hub.stop, true);
        pthread_join(ws_thread, NULL);
        int shown = 0;
        for (int i = 0; i < o.clients && shown < 5; i++)
            if (!clients[i].ready) {
                const struct ward_ws_client *c = &clients[i].ws;
                if (c->failure[0])
                    fprintf(stderr, "bench-stream: client %d: %s\n", i, c->failure);
                else if (c->close_code)
                    fprintf(stderr, "bench-stream: client %d: closed by the server: %d %s\n", i,
                            c->close_code, c->close_reason);
                else
                    fprintf(stderr, "bench-stream: client %d: no ready message in time\n", i);
                shown++;
            }
        fprintf(stderr, "bench-stream: not every client got in; no run\n");
        return 1;
    }
    fflush(stdout);

    static struct ward_cpu_snapshot s0, s1, g0, g1;
    static struct ward_sched_snapshot q0, q1, m0, m1;
    long rss0 = o.server_pid ? ward_proc_status(o.server_pid, "VmRSS") : 0;
    pthread_barrier_init(&pace.go, NULL, (unsigned)o.agents + 1);
    for (int i = 0; i < o.agents; i++)
        if (pthread_create(&threads[i], NULL, ward_stream_agent_main, &agents[i]) != 0) {
            fprintf(stderr, "bench-stream: cannot start agent %d\n", i);
            return 1;
        }
    ward_cpu_snapshot_take(o.server_pid, &s0);
    ward_cpu_snapshot_take(getpid(), &g0);
    if (o.server_pid)
        ward_sched_take(o.server_pid, &q0);
    ward_sched_take(getpid(), &m0);
    pace.start_ns = ward_mono_ns() + 10000000;
    pace.deadline_ns = pace.start_ns + o.duration_ms * 1000000;
    pthread_barrier_wait(&pace.go);
    if (o.progress_s)
        report_progress(&o, agents, &pace, &hub);
    for (int i = 0; i < o.agents; i++)
        pthread_join(threads[i], NULL);
    int64_t end_ns = ward_mono_ns();
    ward_cpu_snapshot_take(o.server_pid, &s1);
    ward_cpu_snapshot_take(getpid(), &g1);
    if (o.server_pid)
        ward_sched_take(o.server_pid, &q1);
    ward_sched_take(getpid(), &m1);
    long rss1 = o.server_pid ? ward_proc_status(o.server_pid, "VmRSS") : 0;
    long hwm = o.server_pid ? ward_proc_status(o.server_pid, "VmHWM") : 0;

    /* Drain: until every healthy client has what it should, or -w is up. */
    int64_t drain0 = ward_mono_ns();
    bool complete = false;
    while (!complete) {
        complete = true;
        for (int i = 0; i < o.clients && complete; i++)
            complete = !healthy(&clients[i]) || clients[i].ws.state == WARD_WS_DONE ||
                       atomic_load(&clients[i].samples) >= expected(&clients[i], agents, o.agents);
        if (complete || ward_mono_ns() - drain0 >= o.drain_ms * 1000000)
            break;
        ward_sleep_until_ns(ward_mono_ns() + 10000000);
    }
    double drained = (double)(ward_mono_ns() - drain0) / 1e9;
    atomic_store(&hub.stop, true);
    pthread_join(ws_thread, NULL);

    /* The figures. */
    double secs = (double)(end_ns - pace.start_ns) / 1e9;
    struct summary s;
    sum_agents(agents, o.agents, &s);
    printf("ingest: %" PRIu64 " samples sent in %" PRIu64 " requests = %.0f samples/s, %" PRIu64
           " acknowledged; request latency p50 %.1f ms, p99 %.1f ms, max %.1f ms; "
           "late sends %" PRIu64 ", connection errors %" PRIu64 ", non-2xx",
           s.sent, s.requests, (double)s.sent / secs, s.acked,
           ward_percentile(s.post_us, s.n_post, 50, 1e3),
           ward_percentile(s.post_us, s.n_post, 99, 1e3),
           ward_percentile(s.post_us, s.n_post, 100, 1e3), s.late, s.conn_errors);
    for (int k = 0; k < WARD_STREAM_MAX_STATUS; k++)
        if (k / 100 != 2 && s.status[k])
            printf(" %d x%" PRIu32, k, s.status[k]);
    printf("%s\n", s.non2xx ? "" : " none");

    uint64_t drops = 0, extra = 0, min_recv = UINT64_MAX, sum_recv = 0, messages = 0, bytes = 0;
    uint64_t bad_ts = 0, min_exp = UINT64_MAX, max_exp = 0;
    int n_healthy = 0, by_server = 0, lost = 0, failed = 0, codes[5000] = {0};
    for (int i = 0; i < o.clients; i++) {
        const struct ward_stream_client *c = &clients[i];
        const struct ward_ws_client *ws = &c->ws;
        uint64_t got = atomic_load(&c->samples), want = expected(c, agents, o.agents);
        messages += c->messages;
        bytes += c->bytes;
        bad_ts += c->bad_timestamps;
        sum_recv += got;
        min_recv = got < min_recv ? got : min_recv;
        min_exp = want < min_exp ? want : min_exp;
        max_exp = want > max_exp ? want : max_exp;
        if (ws->failure[0]) {
            failed++;
            fprintf(stderr, "bench-stream: client %d: %s\n", i, ws->failure);
        } else if (ws->closed_by_server) {
            by_server++;
            codes[ws->close_code < 5000 ? ws->close_code : 0]++;
        } else if (ws->lost) {
            lost++;
        }
        if (healthy(c)) {
            n_healthy++;
            drops += got < want ? want - got : 0;
            extra += got > want ? got - want : 0;
        }
    }
    if (!o.clients)
        min_recv = min_exp = 0;
    printf("stream: per client %" PRIu64 " samples received at least, %.0f on average; expected "
           "%" PRIu64,
           min_recv, o.clients ? (double)sum_recv / o.clients : 0, min_exp);
    if (max_exp != min_exp)
        printf(" to %" PRIu64, max_exp);
    printf(" (what its filter selects of the acknowledged)\n");
    printf("drops: %" PRIu64 " samples missing over %d healthy clients after %.2f s of drain%s; "
           "%" PRIu64 " more than expected; closed by the server %d",
           drops, n_healthy, drained, complete ? " (all complete)" : "", extra, by_server);
    for (int k = 0; k < 5000; k++)
        if (codes[k])
            printf(" [code %d x%d]", k, codes[k]);
    printf(", connections lost %d, failed %d, unreadable timestamps %" PRIu64 "\n", lost, failed,
           bad_ts);
    static uint64_t h[2][WARD_LATENCY_MS + 1];
    ward_latency_copy(&hub.hist[0], h[0]);
    ward_latency_copy(&hub.hist[1], h[1]);
    const char *what[2] = {"unfiltered clients", "filtered clients"};
    for (int k = 0; k < 2; k++)
        if (ward_latency_percentile(h[k], 100) >= 0)
            printf("latency, %s (receive - timestamp, 1 ms buckets): p50 %" PRId64
                   " ms, p90 %" PRId64 " ms, p99 %" PRId64 " ms, p99.9 %" PRId64 " ms, max %" PRId64
                   " ms\n",
                   what[k], ward_latency_percentile(h[k], 50), ward_latency_percentile(h[k], 90),
                   ward_latency_percentile(h[k], 99), ward_latency_percentile(h[k], 99.9),
                   ward_latency_percentile(h[k], 100));
    for (size_t i = 0; i <= WARD_LATENCY_MS; i++)
        h[0][i] += h[1][i];
    int64_t p50 = ward_latency_percentile(h[0], 50), p99 = ward_latency_percentile(h[0], 99),
            pmax = ward_latency_percentile(h[0], 100);
    printf("messages: %.0f/s received by all clients (%.1f per client), %.1f MB/s of payload "
           "(%.2f MB/s per client), %.0f bytes per message\n",
           (double)messages / secs, (double)messages / secs / (o.clients ? o.clients : 1),
           (double)bytes / secs / 1e6, (double)bytes / secs / 1e6 / (o.clients ? o.clients : 1),
           messages ? (double)bytes / (double)messages : 0);

    double hz = (double)sysconf(_SC_CLK_TCK), server_cores = 0, gen_cores = 0;
    struct ward_thread_ticks sum[WARD_CPU_MAX_THREADS];
    int count[WARD_CPU_MAX_THREADS];
    size_t names;
    /* Threads that ended (the agents) are gone from /proc, but not from getrusage(). */
    gen_cores =
        (ward_cpu_self_seconds(&g0, &g1, true) + ward_cpu_self_seconds(&g0, &g1, false)) / secs;
    double ws_cores = 0;
    ward_cpu_server_ticks(&g0, &g1, sum, count, &names);
    for (size_t k = 0; k < names; k++)
        if (strcmp(sum[k].name, "ws-clients") == 0)
            ws_cores = (double)sum[k].ticks / hz / secs;
    printf("bench-stream CPU: %.2f cores, of which the WebSocket clients' thread %.2f and the "
           "ingest side %.2f; the clients' thread woke up to %.1f ms late and spent up to %.1f ms "
           "on one pass over its sockets\n",
           gen_cores, ws_cores, gen_cores - ws_cores,
           (double)atomic_load(&hub.loop.late_wake_us) / 1e3,
           (double)atomic_load(&hub.loop.busy_us) / 1e3);
    if (o.server_pid) {
        server_cores = (double)ward_cpu_server_ticks(&s0, &s1, sum, count, &names) / hz / secs;
        printf("server CPU (pid %d): %.2f cores = %.0f%% of one core, %.2f us per acknowledged "
               "sample\n",
               o.server_pid, server_cores, server_cores * 100,
               s.acked ? server_cores * secs * 1e6 / (double)s.acked : 0);
        for (size_t k = 0; k < names; k++)
            if (sum[k].ticks > 0)
                printf("    %-20s x%-3d %6.2f cores\n", sum[k].name, count[k],
                       (double)sum[k].ticks / hz / secs);
        ward_sched_print("server", &q0, &q1, secs);
        printf("server RSS: %.1f MB before, %.1f MB after, VmHWM %.1f MB\n", (double)rss0 / 1024,
               (double)rss1 / 1024, (double)hwm / 1024);
    }
    ward_sched_print("bench-stream", &m0, &m1, secs);
    double busy = (double)(s1.machine_busy - s0.machine_busy) / hz / secs;
    printf("machine: %.2f of %ld cores busy; other processes %.2f cores\n", busy,
           sysconf(_SC_NPROCESSORS_ONLN), busy - server_cores - gen_cores);
    printf("result clients=%d mode=%s rate=%d agents=%d batch=%d sent_per_s=%.0f acked=%" PRIu64
           " p50_ms=%" PRId64 " p99_ms=%" PRId64 " max_ms=%" PRId64 " drops=%" PRIu64
           " healthy=%d closed=%d messages_per_s=%.0f server_cores=%.2f server_rss_mb=%.1f "
           "bench_cores=%.2f other_cores=%.2f\n",
           o.clients, o.mixed ? "mixed" : "all", o.rate, o.agents, o.batch, (double)s.sent / secs,
           s.acked, p50, p99, pmax, drops, n_healthy, by_server + lost + failed,
           (double)messages / secs, server_cores, (double)rss1 / 1024, gen_cores,
           busy - server_cores - gen_cores);

    bool outright = s.failed_agents == o.agents || s.acked == 0 || failed == o.clients ||
                    (o.clients && sum_recv == 0);
    for (int i = 0; i < o.agents; i++)
        ward_stream_agent_done(&agents[i]);
    ward_stream_hub_done(&hub);
    free(s.post_us);
    free(agents);
    free(clients);
    free(threads);
    pthread_barrier_destroy(&pace.go);
    return outright ? 1 : 0;
}
