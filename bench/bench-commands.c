/*
 * Diagnostics command benchmark: N agents long-poll
 * GET /api/v1/agent/command while an admin queues commands for random ones
 * at a fixed rate, and the time from queueing to delivery is measured, with
 * what the waiting agents cost the server in threads and memory.
 *
 * One process plays every side. The setup, kept out of the measured phase,
 * registers the agents with the enrollment token (POST /agent/register with
 * X-Ward-Enroll-Token answers with the key at once) from a few threads on
 * blocking keep-alive connections. The server allows 120 registrations per
 * client address in ten minutes, so against an IPv4 loopback server each
 * connection is bound to a source address of its own, 127.0.0.2, .3, ...,
 * AGENTS_PER_SOURCE agents each.
 *
 * Then one epoll thread holds every other connection, all non-blocking: a
 * keep-alive long-poll per agent, which asks again the moment an answer
 * (200 or 204) arrives; a few admin connections that queue commands
 * (POST /api/v1/hosts/{id}/commands) on a fixed schedule; and a small pool
 * that posts the result of each delivered command, so that no host's queue
 * (16 commands queued or dispatched) ever fills. Once GET /metrics says
 * that every agent waits, the server's thread count and memory are read
 * from /proc/PID/status and set against what they were before any poll:
 * a waiting request is meant to hold no thread. They are read again after
 * the measured phase, when every agent waits once more but most of them
 * on a connection that has carried an answer, which is what a server that
 * has run a while holds; the larger reading is the one judged.
 *
 * A command's delivery latency runs from just before its POST is written
 * to the arrival of the 200 that carries its id on its agent's long-poll,
 * both seen by the one thread on the monotonic clock. The 201 and the
 * delivery may arrive in either order, so whichever comes second files the
 * figure. Latencies are kept whole (at most rate x duration of them) and
 * sorted at the end. The exit status is 0 when the targets are met, 1 when
 * one is missed, 2 when the run could not take place.
 *
 * The pieces: commands-setup.c registers the agents, commands-loop.c runs
 * the loop thread, and this file parses the options, reads the server's
 * /proc status, waits for every agent to wait and prints the figures.
 */
#include "common/parse.h"
#include "common/time-util.h"

#include "bench-util.h"
#include "commands-loop.h"
#include "commands-setup.h"
#include "http-io.h"
#include "proc-sample.h"
#include "proc-schedstat.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_AGENTS         20000
#define WAITING_TIMEOUT_MS 60000
#define SLOWEST            5

/* Targets (docs/performance.md). */
#define TARGET_RSS_KB  (100 * 1024)
#define TARGET_THREADS 2 /* more server threads with N waiters than with none, at most */
#define TARGET_P99_NS  (200 * 1000000LL)

/* ---- Small helpers ---- */

struct server_status {
    long threads, rss_kb, hwm_kb;
};

static struct server_status server_status(int pid)
{
    return (struct server_status){ward_proc_status(pid, "Threads"), ward_proc_status(pid, "VmRSS"),
                                  ward_proc_status(pid, "VmHWM")};
}

/* ---- Main thread: waiting for the waiters ---- */

/*
 * The value of ward_command_waiters on the server's GET /metrics, or -1.
 * One blocking connection per call: it is asked a few times a second at
 * most, and never during the measured phase.
 */
static long server_waiters(const struct options *o)
{
    struct ward_buf req = WARD_BUF_INIT, in = WARD_BUF_INIT;
    struct ward_http_response resp;
    long v = -1;
    int fd = ward_http_connect(&o->addr, 60);
    if (fd < 0)
        return -1;
    if (ward_buf_printf(&req, "GET /metrics HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                        o->address) >= 0 &&
        ward_http_send_all(fd, req.data, req.len) >= 0 &&
        ward_http_read_response(fd, &in, &resp) >= 0 && resp.status == 200) {
        const char *body = in.data + resp.head_len, *end = body + resp.content_length;
        static const char name[] = "\nward_command_waiters ";
        const char *p = memmem(body, (size_t)(end - body), name, sizeof(name) - 1);
        if (p)
            v = strtol(p + sizeof(name) - 1, NULL, 10);
    }
    close(fd);
    ward_buf_done(&req);
    ward_buf_done(&in);
    return v;
}

static void sleep_ms(int ms)
{
    usleep((useconds_t)ms * 1000);
}

/* ---- Options, report, main ---- */

static int usage(const char *why)
{
    if (why)
        fprintf(stderr, "bench-commands: %s\n", why);
    fprintf(stderr,
            "Usage: bench-commands -t ADMIN_TOKEN -e ENROLL_TOKEN [-c HOST:PORT] [-n AGENTS]\n"
            "                      [-r COMMANDS_PER_S] [-d SECONDS] [-w SECONDS] [-W SECONDS]\n"
            "                      [-a ADMIN_CONNS] [-R RESULT_CONNS] [-j THREADS] [-P PID]\n"
            "                      [-s SEED]\n"
            "  -c  server address (127.0.0.1:8080)\n"
            "  -t  admin token, to queue commands\n"
            "  -e  the server's enrollment token, to register the agents\n"
            "  -n  agents, each with one long-poll connection (2000)\n"
            "  -r  commands queued per second, for random agents (50)\n"
            "  -d  measured phase in seconds (30)\n"
            "  -w  drain: longest wait after the phase for the last deliveries (5)\n"
            "  -W  wait parameter of the long-poll, 0 to 30 seconds (30)\n"
            "  -a  admin connections that queue commands (4)\n"
            "  -R  connections that post results (8)\n"
            "  -j  registration threads (16)\n"
            "  -P  pid of ward-server: its threads, RSS and CPU, and the targets\n"
            "  -s  seed of the choice of agents (1)\n");
    return 2;
}

static int parse_options(int argc, char **argv, struct options *o)
{
    *o = (struct options){.address = "127.0.0.1:8080",
                          .agents = 2000,
                          .rate = 50,
                          .admins = 4,
                          .resulters = 8,
                          .reg_threads = 16,
                          .wait_s = 30,
                          .seed = 1,
                          .duration_ms = 30000,
                          .drain_ms = 5000};
    int c;
    while ((c = getopt(argc, argv, "c:t:e:n:r:d:w:W:a:R:j:P:s:h")) != -1) {
        int r = 0;
        switch (c) {
        case 'c':
            o->address = optarg;
            break;
        case 't':
            o->admin_token = optarg;
            break;
        case 'e':
            o->enroll_token = optarg;
            break;
        case 'n':
            r = ward_int_option(optarg, 1, MAX_AGENTS, &o->agents);
            break;
        case 'r':
            r = ward_int_option(optarg, 1, 100000, &o->rate);
            break;
        case 'd':
            r = ward_parse_duration_ms(optarg, &o->duration_ms);
            break;
        case 'w':
            r = ward_parse_duration_ms(optarg, &o->drain_ms);
            break;
        case 'W':
            r = ward_int_option(optarg, 0, 30, &o->wait_s);
            break;
        case 'a':
            r = ward_int_option(optarg, 1, MAX_ADMINS, &o->admins);
            break;
        case 'R':
            r = ward_int_option(optarg, 1, MAX_RESULTERS, &o->resulters);
            break;
        case 'j':
            r = ward_int_option(optarg, 1, MAX_REG_THREADS, &o->reg_threads);
            break;
        case 'P':
            r = ward_int_option(optarg, 1, INT32_MAX, &o->server_pid);
            break;
        case 's':
            r = ward_int_option(optarg, 0, INT32_MAX, &o->seed);
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
    if (!o->admin_token || !o->enroll_token)
        return usage("-t and -e are required");
    if (o->duration_ms <= 0 || o->duration_ms > 3600 * 1000)
        return usage("-d must be more than 0 and at most an hour");
    if (ward_http_server_address("bench-commands", o->address, &o->addr) < 0)
        return 2;
    return 0;
}

static void print_status(const char *when, const struct server_status *s)
{
    printf("server %s: %ld threads, VmRSS %.1f MB, VmHWM %.1f MB\n", when, s->threads,
           (double)s->rss_kb / 1024, (double)s->hwm_kb / 1024);
}

static int64_t latency_of(const struct command *c)
{
    return c->delivered_ns - c->sent_ns;
}

/* Prints the slowest deliveries with when they were queued, to put them next to other events. */
static void print_slowest(const struct bench *b)
{
    int best[SLOWEST], n = 0;
    for (size_t k = 0; k < b->n_cmds; k++) {
        if (!b->cmds[k].delivered)
            continue;
        int64_t lat = latency_of(&b->cmds[k]);
        int at;
        if (n < SLOWEST)
            at = n++;
        else if (lat > latency_of(&b->cmds[best[SLOWEST - 1]]))
            at = SLOWEST - 1;
        else
            continue;
        while (at > 0 && lat > latency_of(&b->cmds[best[at - 1]])) {
            best[at] = best[at - 1];
            at--;
        }
        best[at] = (int)k;
    }
    printf("slowest deliveries (latency @ when queued, s into the phase):");
    for (int i = 0; i < n; i++) {
        const struct command *c = &b->cmds[best[i]];
        printf(" %.1f ms @ %.2f s;", (double)latency_of(c) / 1e6,
               (double)(c->sent_ns - b->start_ns) / 1e9);
    }
    printf("\n");
}

int main(int argc, char **argv)
{
    struct options o;
    int r = parse_options(argc, argv, &o);
    if (r != 0)
        return r;
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct agent *agents = calloc((size_t)o.agents, sizeof(*agents));
    static struct bench b;
    if (!agents || ward_cmdbench_init(&b, &o, agents) < 0) {
        fprintf(stderr, "bench-commands: out of memory\n");
        return 2;
    }

    int64_t t0 = ward_mono_ns();
    if (ward_cmdbench_register_agents(&o, agents) < 0)
        return 2;
    printf("setup: %d agents registered with the enrollment token in %.1f s (%d threads%s)\n",
           o.agents, (double)(ward_mono_ns() - t0) / 1e9, o.reg_threads,
           ward_cmdbench_loopback_server(&o.addr) ? ", one source address per 100 agents" : "");

    struct server_status st0 = {0}, stn = {0}, st1 = {0};
    if (o.server_pid) {
        sleep_ms(500);
        st0 = server_status(o.server_pid);
        print_status("with 0 waiters", &st0);
    }

    /* Long-polls of clients gone before us still count until their wait ends. */
    long base = server_waiters(&o);
    base = base > 0 ? base : 0;
    pthread_t loop;
    if (pthread_create(&loop, NULL, ward_cmdbench_loop_main, &b) != 0) {
        fprintf(stderr, "bench-commands: cannot start the loop thread\n");
        return 2;
    }
    t0 = ward_mono_ns();
    long waiters = -1;
    while (!atomic_load(&b.failed) && ward_mono_ns() - t0 < WAITING_TIMEOUT_MS * 1000000LL) {
        if (atomic_load(&b.polls_started) == o.agents) {
            waiters = server_waiters(&o);
            if (waiters >= base + o.agents)
                break;
            if (waiters < 0) {
                /* A server without the gauge: give the last polls a moment to be suspended. */
                sleep_ms(2000);
                break;
            }
        }
        sleep_ms(100);
    }
    double wait_s = (double)(ward_mono_ns() - t0) / 1e9;
    int started = atomic_load(&b.polls_started);
    bool all_waiting = waiters >= base + o.agents || (waiters < 0 && started == o.agents);
    printf("long-polls: %d of %d agents polling after %.1f s; ward_command_waiters %ld%s\n",
           started, o.agents, wait_s, waiters,
           waiters < 0 ? " (not on this server's /metrics: waiting not confirmed)"
           : base > 0  ? " (some of them left by earlier clients)"
                       : "");
    if (!all_waiting)
        fprintf(stderr, "bench-commands: not every agent is waiting; measuring anyway\n");
    if (o.server_pid) {
        sleep_ms(1000);
        stn = server_status(o.server_pid);
        print_status(all_waiting ? "with every agent waiting" : "with the agents polling", &stn);
    }

    struct ward_cpu_snapshot *cpu = calloc(2, sizeof(*cpu));
    struct ward_sched_snapshot *sched = calloc(2, sizeof(*sched));
    if (!cpu || !sched) {
        fprintf(stderr, "bench-commands: out of memory\n");
        return 2;
    }
    ward_cpu_snapshot_take(o.server_pid, &cpu[0]);
    if (o.server_pid)
        ward_sched_take(o.server_pid, &sched[0]);
    atomic_store(&b.phase, PHASE_MEASURE);
    while (!atomic_load(&b.done) && !atomic_load(&b.failed))
        sleep_ms(20);
    ward_cpu_snapshot_take(o.server_pid, &cpu[1]);
    if (o.server_pid)
        ward_sched_take(o.server_pid, &sched[1]);
    /* Every agent is waiting again, most on a connection that has answered by now. */
    sleep_ms(500);
    long waiters_after = server_waiters(&o);
    if (o.server_pid)
        st1 = server_status(o.server_pid);
    atomic_store(&b.phase, PHASE_STOP);
    pthread_join(loop, NULL);

    /* The loop thread is gone: its figures are ours now. */
    const struct counts *c = &b.c;
    double secs = (double)(b.end_ns - b.start_ns) / 1e9;
    qsort(b.lat_ns, b.n_lat, sizeof(*b.lat_ns), ward_cmp_i64);
    qsort(b.post_ns, b.n_post, sizeof(*b.post_ns), ward_cmp_i64);
    printf("measured phase: %.1f s, %d commands/s for random agents on %d admin connections, "
           "results on %d; drain %.2f s\n",
           secs, o.rate, o.admins, o.resulters, (double)(b.done_ns - b.end_ns) / 1e9);
    printf("commands: %" PRIu64 " sent, %" PRIu64 " queued (201), %" PRIu64 " delivered, %" PRIu64
           " results stored; %" PRIu64 " not sent in time, %" PRIu64
           " sent more than 10 ms late (at most %.1f ms)\n",
           c->posted, c->created, c->delivered, c->results_ok, c->unsent, c->late_posts,
           (double)b.max_lag_ns / 1e6);
    printf("delivery latency (POST written -> its 200 on the long-poll): p50 %.2f ms, p90 %.2f "
           "ms, p99 %.2f ms, max %.2f ms\n",
           ward_percentile(b.lat_ns, b.n_lat, 50, 1e6), ward_percentile(b.lat_ns, b.n_lat, 90, 1e6),
           ward_percentile(b.lat_ns, b.n_lat, 99, 1e6),
           ward_percentile(b.lat_ns, b.n_lat, 100, 1e6));
    printf("queueing (POST written -> 201): p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
           ward_percentile(b.post_ns, b.n_post, 50, 1e6),
           ward_percentile(b.post_ns, b.n_post, 99, 1e6),
           ward_percentile(b.post_ns, b.n_post, 100, 1e6));
    print_slowest(&b);
    printf("long-poll answers: %" PRIu64 " polls, %" PRIu64 " with a command, %" PRIu64
           " empty (204)",
           c->polls, c->answers200, c->answers204);
    if (c->answers204)
        printf(", the 204s from %.2f s to %.2f s into the phase",
               (double)(b.first204_ns - b.start_ns) / 1e9,
               (double)(b.last204_ns - b.start_ns) / 1e9);
    printf("\n");
    uint64_t errors = c->poll_errors + c->admin_errors + c->result_errors + c->closed_busy +
                      c->connect_failed + c->proto_errors + c->unknown_ids + b.n_early +
                      c->wrong_agent + c->duplicates;
    printf("errors: %" PRIu64 " (polls %" PRIu64 ", admin %" PRIu64 ", results %" PRIu64
           ", closed with a request in flight %" PRIu64 ", failed connects %" PRIu64
           ", protocol %" PRIu64 ", unknown ids %zu, wrong agent %" PRIu64
           ", delivered twice %" PRIu64
           "); idle connections the server closed (its --connection-timeout) %" PRIu64 "\n",
           errors, c->poll_errors, c->admin_errors, c->result_errors, c->closed_busy,
           c->connect_failed, c->proto_errors, (size_t)c->unknown_ids + b.n_early, c->wrong_agent,
           c->duplicates, c->closed_idle);
    if (c->bad_status)
        printf("last unexpected answer: %u %s\n", c->bad_status, c->bad_body);

    double hz = (double)sysconf(_SC_CLK_TCK), phase_s = (double)(b.done_ns - b.start_ns) / 1e9;
    double gen = (ward_cpu_self_seconds(&cpu[0], &cpu[1], true) +
                  ward_cpu_self_seconds(&cpu[0], &cpu[1], false)) /
                 phase_s;
    printf("bench-commands CPU: %.3f cores\n", gen);
    double p99 = ward_percentile(b.lat_ns, b.n_lat, 99, 1e6);
    bool delivered_all = all_waiting && c->posted > 0 && c->delivered == c->posted &&
                         c->created == c->posted && c->unsent == 0;
    bool fast = c->delivered > 0 && p99 * 1e6 < (double)TARGET_P99_NS;
    bool small = true, threads_flat = true;
    /* The agents are waiting in both readings of the server: the larger one counts. */
    long rss = stn.rss_kb > st1.rss_kb ? stn.rss_kb : st1.rss_kb;
    long threads = stn.threads > st1.threads ? stn.threads : st1.threads;
    if (o.server_pid) {
        struct ward_thread_ticks sum[WARD_CPU_MAX_THREADS];
        int count[WARD_CPU_MAX_THREADS];
        size_t names;
        double cores =
            (double)ward_cpu_server_ticks(&cpu[0], &cpu[1], sum, count, &names) / hz / phase_s;
        printf("server CPU (pid %d): %.3f cores\n", o.server_pid, cores);
        ward_sched_print("server", &sched[0], &sched[1], phase_s);
        printf("after the phase: ward_command_waiters %ld; %d of %d agents have had an answer on "
               "their long-poll connection\n",
               waiters_after, b.answered, o.agents);
        print_status("after the phase", &st1);
        printf("server memory per waiting agent: %.1f kB when it first waits, %.1f kB after "
               "the phase\n",
               (double)(stn.rss_kb - st0.rss_kb) / o.agents,
               (double)(st1.rss_kb - st0.rss_kb) / o.agents);
        small = stn.rss_kb >= 0 && st1.rss_kb >= 0 && rss < TARGET_RSS_KB;
        threads_flat = st0.threads >= 0 && threads >= 0 && threads <= st0.threads + TARGET_THREADS;
        printf("target RSS < 100 MB with %d waiters: %.1f MB, %s\n", o.agents, (double)rss / 1024,
               small ? "met" : "MISSED");
        printf("target threads with %d waiters at most %d more than with none: %ld and %ld, %s\n",
               o.agents, TARGET_THREADS, threads, st0.threads, threads_flat ? "met" : "MISSED");
    }
    printf("target p99 < 200 ms: %.2f ms, %s\n", p99, fast ? "met" : "MISSED");
    printf("target every command delivered: %" PRIu64 " of %" PRIu64 "%s, %s\n", c->delivered,
           c->posted + c->unsent, all_waiting ? "" : " (not every agent was waiting)",
           delivered_all ? "met" : "MISSED");
    bool met = delivered_all && fast && small && threads_flat;
    printf("targets: %s\n", !o.server_pid ? "server figures not judged without -P"
                            : met         ? "met"
                                          : "MISSED");
    printf("result agents=%d waiting=%ld rate=%d seconds=%.1f threads0=%ld threadsN=%ld "
           "rss0_mb=%.1f rssN_mb=%.1f rss_after_mb=%.1f hwm_mb=%.1f sent=%" PRIu64
           " delivered=%" PRIu64 " p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f empty=%" PRIu64
           " errors=%" PRIu64 " met=%d\n",
           o.agents, waiters, o.rate, secs, st0.threads, threads, (double)st0.rss_kb / 1024,
           (double)stn.rss_kb / 1024, (double)st1.rss_kb / 1024, (double)st1.hwm_kb / 1024,
           c->posted, c->delivered, ward_percentile(b.lat_ns, b.n_lat, 50, 1e6),
           ward_percentile(b.lat_ns, b.n_lat, 90, 1e6), p99,
           ward_percentile(b.lat_ns, b.n_lat, 100, 1e6), c->answers204, errors, met);
    free(cpu);
    free(sched);
    ward_cmdbench_done(&b);
    free(agents);
    return met ? 0 : 1;
}
