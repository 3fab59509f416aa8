/*
 * Load generator for ward-server's ingest endpoint.
 *
 * N simulated agents run on one thread each. Every agent has its own host id
 * and S series (cpu/usage, labels core and group), and holds one keep-alive
 * HTTP/1.1 connection to the server, on which it sends gzip-compressed
 * batches of P points per series in the "series" wire shape to
 * POST /api/v1/ingest, back to back, each as soon as the previous one was
 * answered. A 200 means the batch is committed, so the acknowledged rate is
 * a rate of durable samples.
 *
 * All requests are built before the clock starts, with distinct sequence
 * numbers and timestamps so that no batch is a duplicate. During the timed
 * phase an agent only writes a prebuilt buffer and parses a short response,
 * over plain sockets (http-io.c) rather than libcurl: the generator shares
 * the machine with the server it measures, so it should cost little, and its
 * own CPU time (getrusage) is printed next to the rate so the figure can be
 * judged.
 * Given the server's pid (-P), it also prints, from /proc, the server's CPU
 * time per thread name and the bytes it read and wrote over the same
 * interval, and the busy time of the whole machine, so that other load on a
 * shared machine shows next to the figures. With -r it prints the rate of
 * every few seconds, which shows whether the rate holds as the database grows.
 *
 * A 503 with Retry-After is back-pressure: the agent waits as told and sends
 * the same batch again, and the waits are counted. A broken connection is
 * reopened and the batch resent. Any other answer is counted by status and
 * the agent goes on with its next batch.
 */
#include "common/buf.h"
#include "common/error.h"
#include "common/gzip.h"
#include "common/json.h"
#include "common/parse.h"
#include "common/time-util.h"
#include "common/uuid.h"
#include "server/ingest.h"

#include "bench-util.h"
#include "http-io.h"
#include "proc-sample.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define STEP_MS         10000   /* the simulated collection interval */
#define ASSUMED_RATE    1500000 /* samples/s that -n 0 provisions batches for */
#define MAX_AGENTS      4096
#define MAX_SERIES      100000
#define MAX_STATUS      600
#define RESPONSE_MAX    (1u << 20) /* bytes of one response, headers included */
#define IO_TIMEOUT_S    120
#define MAX_CONN_ERRORS 5  /* consecutive failures before an agent gives up */
#define GROUPS          10 /* values of the "group" label */

struct options {
    const char *address;
    struct sockaddr_storage addr;
    int agents;
    int series;
    int points;
    int64_t duration_ms; /* 0 = send every batch */
    int batches;         /* per agent; 0 = enough for duration_ms at ASSUMED_RATE */
    int level;
    int64_t end_ms; /* time of the last point of the last batch */
    const char *first_id;
    int server_pid;
    int progress_s;    /* print the rate of each interval this long; 0 = never */
    const char *token; /* sent as "Authorization: Bearer TOKEN" when set */
};

struct agent {
    const struct options *opt;
    char id[WARD_UUID_STR_LEN];
    uint64_t rng;
    struct ward_buf *requests; /* one complete HTTP request per batch */
    size_t n_requests;
    size_t json_bytes, gz_bytes; /* of all bodies */
    int fd;
    struct ward_buf in; /* bytes received and not yet consumed */
    int error;
    char what[160];

    /* Results of the timed phase. */
    int64_t *latency_ns; /* of each 2xx exchange */
    size_t n_latency;
    _Atomic uint64_t acked_samples; /* read by the progress report while running */
    uint64_t duplicates, backoffs, conn_errors;
    int64_t backoff_ms;
    uint64_t status[MAX_STATUS];
    int64_t done_ns;
    bool ran_out;
};

static pthread_barrier_t ready, go;
static atomic_bool abort_run;
static atomic_int finished; /* agents done with the timed phase */
static int64_t deadline_ns; /* written before the go barrier, read after it */

static void fail_agent(struct agent *a, int err, const char *what)
{
    a->error = err < 0 ? err : -EIO;
    snprintf(a->what, sizeof(a->what), "%s: %s", what, ward_strerror(a->error));
}

/*
 * Writes batch k of agent a as JSON into json: series i holds P points of a
 * random walk between 0 and 100 with two decimals, like a CPU percentage,
 * 10 s apart. Batches follow each other in time and end at opt->end_ms.
 */
static int write_batch(struct agent *a, size_t k, int64_t boot, double *walk, struct ward_buf *json)
{
    const struct options *o = a->opt;
    int64_t t0 = o->end_ms - (((int64_t)a->n_requests - (int64_t)k) * o->points - 1) * STEP_MS;
    struct ward_json_writer w;
    ward_json_writer_init(&w, json);
    ward_ingest_envelope_begin(&w, a->id, (uint64_t)k + 1, boot);
    ward_json_write_keyz(&w, "series");
    ward_json_write_array_begin(&w);
    for (int i = 0; i < o->series; i++) {
        char core[16], group[16];
        snprintf(core, sizeof(core), "%d", i);
        snprintf(group, sizeof(group), "%d", i % GROUPS);
        ward_json_write_object_begin(&w);
        ward_json_write_keyz(&w, "metric_type");
        ward_json_write_stringz(&w, "cpu");
        ward_json_write_keyz(&w, "metric_name");
        ward_json_write_stringz(&w, "usage");
        ward_json_write_keyz(&w, "labels");
        ward_json_write_object_begin(&w);
        ward_json_write_keyz(&w, "core");
        ward_json_write_stringz(&w, core);
        ward_json_write_keyz(&w, "group");
        ward_json_write_stringz(&w, group);
        ward_json_write_object_end(&w);
        ward_json_write_keyz(&w, "kind");
        ward_json_write_stringz(&w, "gauge");
        ward_json_write_keyz(&w, "t0");
        ward_json_write_int(&w, t0);
        ward_json_write_keyz(&w, "dt");
        ward_json_write_array_begin(&w);
        for (int j = 1; j < o->points; j++)
            ward_json_write_int(&w, STEP_MS);
        ward_json_write_array_end(&w);
        ward_json_write_keyz(&w, "values");
        ward_json_write_array_begin(&w);
        for (int j = 0; j < o->points; j++) {
            double v = walk[i] + (double)((int64_t)(ward_xorshift64(&a->rng) % 201) - 100) / 100.0;
            v = v < 0 ? -v : v > 100 ? 200 - v : v;
            walk[i] = nearbyint(v * 100) / 100;
            ward_json_write_double(&w, walk[i]);
        }
        ward_json_write_array_end(&w);
        ward_json_write_object_end(&w);
    }
    ward_json_write_array_end(&w);
    ward_json_write_object_end(&w);
    return ward_json_writer_finish(&w);
}

/* Builds every request of agent a: JSON, gzip, then the HTTP head in front. */
static int build_requests(struct agent *a)
{
    const struct options *o = a->opt;
    a->requests = calloc(a->n_requests, sizeof(*a->requests));
    a->latency_ns = calloc(a->n_requests, sizeof(*a->latency_ns));
    double *walk = calloc((size_t)o->series, sizeof(*walk));
    struct ward_buf json = WARD_BUF_INIT, gz = WARD_BUF_INIT;
    int r = -ENOMEM;
    if (!a->requests || !a->latency_ns || !walk)
        goto out;
    for (int i = 0; i < o->series; i++)
        walk[i] = (double)(ward_xorshift64(&a->rng) % 10000) / 100.0;
    int64_t boot = ward_now_ms();
    for (size_t k = 0; k < a->n_requests; k++) {
        ward_buf_reset(&json);
        ward_buf_reset(&gz);
        r = write_batch(a, k, boot, walk, &json);
        if (r < 0)
            goto out;
        r = ward_gzip_compress(json.data, json.len, o->level, &gz);
        if (r < 0)
            goto out;
        a->json_bytes += json.len;
        a->gz_bytes += gz.len;
        r = ward_http_ingest_request(&a->requests[k], o->address, "bench-ingest", true, o->token,
                                     gz.data, gz.len);
        if (r < 0)
            goto out;
    }
    r = 0;
out:
    free(walk);
    ward_buf_done(&json);
    ward_buf_done(&gz);
    return r;
}

static void close_connection(struct agent *a)
{
    if (a->fd >= 0)
        close(a->fd);
    a->fd = -1;
    ward_buf_reset(&a->in);
}

static int open_connection(struct agent *a)
{
    int fd = ward_http_connect(&a->opt->addr, IO_TIMEOUT_S);
    if (fd < 0)
        return fd;
    a->fd = fd;
    return 0;
}

/*
 * Sends one request and reads its response, opening the connection if
 * needed. *duplicate tells whether the server acknowledged the batch as one
 * it already had.
 */
static int exchange(struct agent *a, const struct ward_buf *req, struct ward_http_response *resp,
                    bool *duplicate)
{
    int r = a->fd < 0 ? open_connection(a) : 0;
    if (r >= 0)
        r = ward_http_send_all(a->fd, req->data, req->len);
    if (r >= 0)
        r = ward_http_read_response(a->fd, &a->in, resp);
    if (r >= 0) {
        *duplicate = memmem(a->in.data + resp->head_len, resp->content_length, "\"duplicate\":true",
                            16) != NULL;
        ward_http_drop_response(&a->in, resp);
    }
    if (r < 0 || resp->close)
        close_connection(a);
    return r;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* The timed phase of one agent: every batch in turn until the deadline. */
static void run(struct agent *a)
{
    uint64_t per_batch = (uint64_t)a->opt->series * (uint64_t)a->opt->points;
    int failures = 0;
    size_t k = 0;
    for (; k < a->n_requests && !atomic_load(&abort_run); k++) {
        if (deadline_ns && ward_mono_ns() >= deadline_ns)
            break;
        for (;;) {
            struct ward_http_response resp;
            bool duplicate;
            int64_t t = ward_mono_ns();
            int r = exchange(a, &a->requests[k], &resp, &duplicate);
            if (r < 0) {
                a->conn_errors++;
                if (++failures > MAX_CONN_ERRORS) {
                    fail_agent(a, r, "connection keeps failing");
                    return;
                }
                sleep_ms(100);
                continue;
            }
            failures = 0;
            t = ward_mono_ns() - t;
            a->status[resp.status < MAX_STATUS ? resp.status : 0]++;
            if (resp.status == 503 && resp.retry_after_ms >= 0) {
                a->backoffs++;
                a->backoff_ms += resp.retry_after_ms;
                sleep_ms(resp.retry_after_ms);
                continue;
            }
            if (resp.status / 100 == 2) {
                a->latency_ns[a->n_latency++] = t;
                if (duplicate)
                    a->duplicates++;
                else
                    atomic_fetch_add_explicit(&a->acked_samples, per_batch, memory_order_relaxed);
            }
            break;
        }
    }
    a->ran_out = k == a->n_requests && deadline_ns && ward_mono_ns() < deadline_ns;
}

static void *agent_main(void *arg)
{
    struct agent *a = arg;
    int r = build_requests(a);
    if (r < 0)
        fail_agent(a, r, "cannot build the requests");
    else if ((r = open_connection(a)) < 0)
        fail_agent(a, r, "cannot connect");
    pthread_barrier_wait(&ready);
    pthread_barrier_wait(&go);
    if (!a->error && !atomic_load(&abort_run))
        run(a);
    a->done_ns = ward_mono_ns();
    atomic_fetch_add(&finished, 1);
    close_connection(a);
    return NULL;
}

struct totals {
    uint64_t acked, dups, backoffs, conn_errors, requests, non2xx;
    uint64_t status[MAX_STATUS];
    int64_t backoff_ms;
    size_t fewest, most; /* batches acknowledged by one agent */
    int ran_out, failed;
    int64_t *latency_ns; /* of every 2xx, sorted */
    size_t n_latency;
};

static int sum_agents(const struct agent *agents, int n, struct totals *t)
{
    *t = (struct totals){.fewest = SIZE_MAX};
    for (int i = 0; i < n; i++) {
        const struct agent *a = &agents[i];
        t->acked += atomic_load(&a->acked_samples);
        t->dups += a->duplicates;
        t->backoffs += a->backoffs;
        t->backoff_ms += a->backoff_ms;
        t->conn_errors += a->conn_errors;
        t->n_latency += a->n_latency;
        t->fewest = a->n_latency < t->fewest ? a->n_latency : t->fewest;
        t->most = a->n_latency > t->most ? a->n_latency : t->most;
        t->ran_out += a->ran_out;
        t->failed += a->error != 0;
        for (int s = 0; s < MAX_STATUS; s++) {
            t->status[s] += a->status[s];
            t->requests += a->status[s];
            t->non2xx += s / 100 != 2 ? a->status[s] : 0;
        }
        if (a->error)
            fprintf(stderr, "bench-ingest: agent %d: %s\n", i, a->what);
    }
    t->latency_ns = malloc((t->n_latency ? t->n_latency : 1) * sizeof(*t->latency_ns));
    if (!t->latency_ns)
        return -ENOMEM;
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        memcpy(t->latency_ns + at, agents[i].latency_ns,
               agents[i].n_latency * sizeof(*t->latency_ns));
        at += agents[i].n_latency;
    }
    qsort(t->latency_ns, t->n_latency, sizeof(*t->latency_ns), ward_cmp_i64);
    return 0;
}

static void print_report(const struct options *o, const struct totals *t, double secs,
                         const struct ward_cpu_snapshot *s0, const struct ward_cpu_snapshot *s1)
{
    const int64_t *lat = t->latency_ns;
    size_t n = t->n_latency;
    double rate = (double)t->acked / secs;
    printf("timed phase %.2f s: %" PRIu64 " samples acknowledged = %.0f samples/s, "
           "%.1f requests/s (%" PRIu64 " requests)\n",
           secs, t->acked, rate, (double)t->requests / secs, t->requests);
    printf("latency per 2xx request: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n",
           ward_percentile(lat, n, 50, 1e6), ward_percentile(lat, n, 90, 1e6),
           ward_percentile(lat, n, 99, 1e6), ward_percentile(lat, n, 100, 1e6));
    printf("batches acknowledged per agent: fewest %zu, most %zu\n", t->fewest, t->most);
    printf("non-2xx:");
    for (int s = 0; s < MAX_STATUS; s++)
        if (s / 100 != 2 && t->status[s])
            printf(" %d x%" PRIu64, s, t->status[s]);
    printf("%s; back-pressure waits (503 + Retry-After) %" PRIu64 ", %.1f s waited in all\n",
           t->non2xx ? "" : " none", t->backoffs, (double)t->backoff_ms / 1000);
    printf("duplicates acknowledged %" PRIu64 ", connection errors %" PRIu64
           ", agents out of batches before the deadline %d, failed agents %d\n",
           t->dups, t->conn_errors, t->ran_out, t->failed);
    double gu = ward_cpu_self_seconds(s0, s1, true), gs = ward_cpu_self_seconds(s0, s1, false);
    printf("generator CPU: %.2f s user + %.2f s system = %.2f cores, %.1f us per request\n", gu, gs,
           (gu + gs) / secs, t->requests ? (gu + gs) * 1e6 / (double)t->requests : 0);
    double server_cores = 0, hz = (double)sysconf(_SC_CLK_TCK);
    if (o->server_pid) {
        struct ward_thread_ticks sum[WARD_CPU_MAX_THREADS];
        int count[WARD_CPU_MAX_THREADS];
        size_t names;
        double cpu = (double)ward_cpu_server_ticks(s0, s1, sum, count, &names) / hz;
        server_cores = cpu / secs;
        printf("server CPU (pid %d): %.2f cores, %.2f us per acknowledged sample\n", o->server_pid,
               server_cores, t->acked ? cpu * 1e6 / (double)t->acked : 0);
        printf("server I/O: %.0f bytes read and %.0f written per acknowledged sample "
               "(rchar, wchar: page cache included, request bodies included)\n",
               t->acked ? (double)(s1->rchar - s0->rchar) / (double)t->acked : 0,
               t->acked ? (double)(s1->wchar - s0->wchar) / (double)t->acked : 0);
        for (size_t k = 0; k < names; k++)
            if (sum[k].ticks > 0)
                printf("    %-20s x%-3d %6.2f cores\n", sum[k].name, count[k],
                       (double)sum[k].ticks / hz / secs);
    }
    double busy = (double)(s1->machine_busy - s0->machine_busy) / hz / secs;
    printf("machine: %.2f of %ld cores busy; other processes%s %.2f cores\n", busy,
           sysconf(_SC_NPROCESSORS_ONLN), o->server_pid ? "" : " (the server included)",
           busy - server_cores - (gu + gs) / secs);
    printf("result agents=%d series=%d points=%d samples_per_s=%.0f requests_per_s=%.1f "
           "p50_ms=%.1f p99_ms=%.1f non2xx=%" PRIu64 " backoffs=%" PRIu64
           " generator_cores=%.2f server_cores=%.2f other_cores=%.2f\n",
           o->agents, o->series, o->points, rate, (double)t->requests / secs,
           ward_percentile(lat, n, 50, 1e6), ward_percentile(lat, n, 99, 1e6), t->non2xx,
           t->backoffs, (gu + gs) / secs, server_cores, busy - server_cores - (gu + gs) / secs);
}

static int usage(const char *why)
{
    if (why)
        fprintf(stderr, "bench-ingest: %s\n", why);
    fprintf(stderr,
            "Usage: bench-ingest [-c HOST:PORT] [-a AGENTS] [-s SERIES] [-p POINTS] [-d SECONDS]\n"
            "                    [-n BATCHES] [-l LEVEL] [-e END_MS] [-i UUID] [-P SERVER_PID] [-t "
            "TOKEN]\n"
            "  -c  server address (127.0.0.1:8080)\n"
            "  -a  simulated agents, one thread and connection each (16)\n"
            "  -s  series per agent (1000)\n"
            "  -p  points per series per batch, 10 s apart (10)\n"
            "  -d  timed phase in seconds; 0 sends every batch (10)\n"
            "  -n  batches per agent, all built beforehand; 0 = enough for -d (0)\n"
            "  -l  gzip level (1, as the agent)\n"
            "  -e  time of the last point, Unix ms (now, rounded down to 10 s)\n"
            "  -i  host id of the first agent (others get new UUIDv7s)\n"
            "  -P  pid of ward-server, to report its CPU time per thread\n"
            "  -r  print the rate of every interval of this many seconds (0: only the total)\n"
            "  -t  admin token to send, for a server that is not in --open-ingest mode\n");
    return 2;
}

static int parse_options(int argc, char **argv, struct options *o)
{
    *o = (struct options){.address = "127.0.0.1:8080",
                          .agents = 16,
                          .series = 1000,
                          .points = 10,
                          .duration_ms = 10000,
                          .level = 1};
    int c;
    while ((c = getopt(argc, argv, "c:a:s:p:d:n:l:e:i:P:r:t:h")) != -1) {
        int r = 0;
        switch (c) {
        case 'c':
            o->address = optarg;
            break;
        case 'a':
            r = ward_int_option(optarg, 1, MAX_AGENTS, &o->agents);
            break;
        case 's':
            r = ward_int_option(optarg, 1, MAX_SERIES, &o->series);
            break;
        case 'p':
            r = ward_int_option(optarg, 1, WARD_INGEST_MAX_METRICS, &o->points);
            break;
        case 'd':
            r = ward_parse_duration_ms(optarg, &o->duration_ms);
            break;
        case 'n':
            r = ward_int_option(optarg, 0, 1000000, &o->batches);
            break;
        case 'l':
            r = ward_int_option(optarg, 1, 12, &o->level);
            break;
        case 'e':
            r = ward_parse_int_range(optarg, 0, INT64_C(253402300799999), &o->end_ms);
            break;
        case 'i':
            if (!ward_uuid_valid(optarg))
                return usage("-i takes a UUID");
            o->first_id = optarg;
            break;
        case 'r':
            r = ward_int_option(optarg, 0, 3600, &o->progress_s);
            break;
        case 't':
            o->token = optarg;
            break;
        case 'P':
            r = ward_int_option(optarg, 1, INT32_MAX, &o->server_pid);
            break;
        default:
            return usage(NULL);
        }
        if (r < 0 || o->duration_ms < 0) {
            char why[64];
            snprintf(why, sizeof(why), "bad value for -%c", c);
            return usage(why);
        }
    }
    if (optind != argc)
        return usage("unexpected argument");
    if ((int64_t)o->series * o->points > WARD_INGEST_MAX_METRICS)
        return usage("a batch (series x points) may hold at most 100000 samples");
    if (ward_http_server_address("bench-ingest", o->address, &o->addr) < 0)
        return 2;
    if (!o->end_ms)
        o->end_ms = ward_now_ms() / STEP_MS * STEP_MS;
    if (!o->batches) {
        double per_second = (double)o->agents * o->series * o->points;
        o->batches = o->duration_ms
                         ? (int)ceil((double)o->duration_ms / 1000 * ASSUMED_RATE / per_second) + 1
                         : 1;
        if (o->batches < 2 && o->duration_ms)
            o->batches = 2;
    }
    return 0;
}

/*
 * Prints the acknowledged rate of every interval of o->progress_s seconds
 * until all agents are done, to show whether the rate holds as the
 * database grows.
 */
static void report_progress(const struct options *o, struct agent *agents, int64_t start_ns)
{
    uint64_t last = 0;
    int64_t last_ns = start_ns;
    while (atomic_load(&finished) < o->agents) {
        int64_t next = last_ns + (int64_t)o->progress_s * 1000000000;
        while (atomic_load(&finished) < o->agents && ward_mono_ns() < next)
            sleep_ms(50);
        uint64_t acked = 0;
        for (int i = 0; i < o->agents; i++)
            acked += atomic_load_explicit(&agents[i].acked_samples, memory_order_relaxed);
        int64_t now = ward_mono_ns();
        if (now - last_ns < (int64_t)o->progress_s * 500000000)
            break; /* the last few requests alone say nothing about the rate */
        printf("  %5.1f s: %.0f samples/s\n", (double)(now - start_ns) / 1e9,
               (double)(acked - last) / ((double)(now - last_ns) / 1e9));
        fflush(stdout);
        last = acked;
        last_ns = now;
    }
}

/* Sets up the agents; each builds its requests and connects on its own thread. */
static int start_agents(const struct options *o, struct agent *agents, pthread_t *threads)
{
    for (int i = 0; i < o->agents; i++) {
        struct agent *a = &agents[i];
        a->opt = o;
        a->fd = -1;
        a->n_requests = (size_t)o->batches;
        a->rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);
        ward_buf_init(&a->in, RESPONSE_MAX);
        int r =
            i == 0 && o->first_id ? ward_uuid_normalize(o->first_id, a->id) : ward_uuid_v7(a->id);
        if (r < 0)
            return r;
    }
    pthread_barrier_init(&ready, NULL, (unsigned)o->agents + 1);
    pthread_barrier_init(&go, NULL, (unsigned)o->agents + 1);
    for (int i = 0; i < o->agents; i++) {
        int r = pthread_create(&threads[i], NULL, agent_main, &agents[i]);
        if (r != 0)
            return -r; /* the barriers count every agent, so the caller must exit */
    }
    return 0;
}

static void free_agents(struct agent *agents, int n)
{
    for (int i = 0; i < n; i++) {
        for (size_t k = 0; agents[i].requests && k < agents[i].n_requests; k++)
            ward_buf_done(&agents[i].requests[k]);
        free(agents[i].requests);
        free(agents[i].latency_ns);
        ward_buf_done(&agents[i].in);
    }
    free(agents);
}

int main(int argc, char **argv)
{
    struct options o;
    int r = parse_options(argc, argv, &o);
    if (r > 0)
        return r;
    uint64_t per_batch = (uint64_t)o.series * (uint64_t)o.points;
    printf("ingest: %d agents x %d series x %d points = %" PRIu64 " samples per batch, "
           "%d batches per agent built beforehand, %s%.1f s, server %s\n",
           o.agents, o.series, o.points, per_batch, o.batches, o.duration_ms ? "" : "no limit, ",
           (double)o.duration_ms / 1000, o.address);
    fflush(stdout);

    struct agent *agents = calloc((size_t)o.agents, sizeof(*agents));
    pthread_t *threads = calloc((size_t)o.agents, sizeof(*threads));
    if (!agents || !threads) {
        fprintf(stderr, "bench-ingest: out of memory\n");
        return 1;
    }
    int64_t build_ns = ward_mono_ns();
    r = start_agents(&o, agents, threads);
    if (r < 0) {
        fprintf(stderr, "bench-ingest: cannot start the agents: %s\n", ward_strerror(r));
        return 1;
    }
    pthread_barrier_wait(&ready);
    build_ns = ward_mono_ns() - build_ns;
    size_t json_bytes = 0, gz_bytes = 0;
    for (int i = 0; i < o.agents; i++) {
        json_bytes += agents[i].json_bytes;
        gz_bytes += agents[i].gz_bytes;
        if (agents[i].error) {
            fprintf(stderr, "bench-ingest: agent %d: %s\n", i, agents[i].what);
            atomic_store(&abort_run, true);
        }
    }
    double built = (double)o.agents * o.batches;
    printf("built in %.1f s: %.1f KB JSON -> %.1f KB gzip per batch, %.2f wire bytes per sample\n",
           (double)build_ns / 1e9, (double)json_bytes / built / 1e3, (double)gz_bytes / built / 1e3,
           (double)gz_bytes / built / (double)per_batch);
    fflush(stdout);

    static struct ward_cpu_snapshot s0, s1;
    ward_cpu_snapshot_take(o.server_pid, &s0);
    int64_t start_ns = ward_mono_ns();
    deadline_ns = o.duration_ms ? start_ns + o.duration_ms * 1000000 : 0;
    pthread_barrier_wait(&go);
    if (o.progress_s)
        report_progress(&o, agents, start_ns);
    int64_t end_ns = start_ns;
    for (int i = 0; i < o.agents; i++) {
        pthread_join(threads[i], NULL);
        if (agents[i].done_ns > end_ns)
            end_ns = agents[i].done_ns;
    }
    ward_cpu_snapshot_take(o.server_pid, &s1);
    if (atomic_load(&abort_run))
        return 1;

    struct totals t;
    if (sum_agents(agents, o.agents, &t) < 0) {
        fprintf(stderr, "bench-ingest: out of memory\n");
        return 1;
    }
    print_report(&o, &t, (double)(end_ns - start_ns) / 1e9, &s0, &s1);
    free(t.latency_ns);
    free_agents(agents, o.agents);
    free(threads);
    pthread_barrier_destroy(&ready);
    pthread_barrier_destroy(&go);
    return t.failed ? 1 : 0;
}
