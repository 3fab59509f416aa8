/*
 * The paced ingest of bench-stream (see stream-ingest.h).
 *
 * A agents (one thread each, one keep-alive connection each, plain sockets
 * through http-io.c like bench-ingest) post batches of B samples to
 * POST /api/v1/ingest on a fixed schedule, so that together they send R
 * samples per second; agent i starts i/A of a period late, so the batches
 * are spread evenly over time. Each sample's timestamp is the wall clock
 * (Unix ms) when its batch is built, just before it is sent, so a stream
 * client can tell how long the sample took to reach it. If the server
 * answers more slowly than the schedule, the next batch goes at once and
 * the batch counts as late: the achieved rate is printed, not assumed.
 *
 * Requests are built one at a time rather than ahead of the run, unlike
 * bench-ingest, because the timestamps must be those of the moment of
 * sending. The series are about what ward-agent sends for one host, in the
 * per-sample wire shape, so that the messages the stream carries have the
 * size and label mix of real ones.
 */
#include "stream-ingest.h"

#include "common/error.h"
#include "common/gzip.h"
#include "common/json.h"
#include "common/time-util.h"

#include "bench-util.h"
#include "http-io.h"
#include "latency.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define IO_TIMEOUT_S    30
#define MAX_CONN_ERRORS 5 /* consecutive failures before an agent gives up */

struct ward_stream_series {
    const char *type, *name;
    const char *label_key[3];
    char label_value[3][32];
    bool counter;
    double value;
};

/*
 * Fills a's series with what a real host sends, about the catalogue of
 * ward-agent: CPU, memory, disks, disk I/O, network, sensors, system and
 * processes, then one usage series per core until there are opt->batch.
 */
static int make_series(struct ward_stream_agent *a)
{
    static const char *cpu[] = {"usage_percent", "user_percent", "system_percent", "iowait_percent",
                                "steal_percent", "irq_percent",  "idle_percent",   "load1",
                                "load5",         "load15"};
    static const char *ram[] = {"usage_percent",   "total_bytes",      "used_bytes",
                                "available_bytes", "swap_total_bytes", "swap_used_bytes"};
    static const char *disk[] = {"used_percent", "used_bytes", "total_bytes", "avail_bytes"};
    static const char *mounts[][3] = {{"sda1", "ext4", "/"},
                                      {"sda2", "ext4", "/boot"},
                                      {"sdb1", "xfs", "/var"},
                                      {"nvme0n1p1", "ext4", "/home"}};
    static const char *devs[] = {"sda", "sdb", "nvme0n1", "nvme1n1"};
    static const char *ifs[] = {"eth0", "eth1", "lo", "docker0"};
    int n = a->opt->batch, k = 0;
    bool added = false; /* whether the last ADD added a series, so LABEL applies to it */
    a->series = calloc((size_t)n, sizeof(*a->series));
    if (!a->series)
        return -ENOMEM;
#define ADD(t, nm, ctr)                                                                            \
    do {                                                                                           \
        added = k < n;                                                                             \
        if (added)                                                                                 \
            a->series[k++] =                                                                       \
                (struct ward_stream_series){.type = (t), .name = (nm), .counter = (ctr)};          \
    } while (0)
#define LABEL(i, key, ...)                                                                         \
    do {                                                                                           \
        if (added) {                                                                               \
            a->series[k - 1].label_key[i] = (key);                                                 \
            snprintf(a->series[k - 1].label_value[i], 32, __VA_ARGS__);                            \
        }                                                                                          \
    } while (0)
    for (size_t i = 0; i < sizeof(cpu) / sizeof(*cpu); i++)
        ADD("cpu", cpu[i], false);
    for (size_t i = 0; i < sizeof(ram) / sizeof(*ram); i++)
        ADD("ram", ram[i], false);
    for (size_t m = 0; m < 4; m++)
        for (size_t i = 0; i < 4 && k < n; i++) {
            ADD("disk", disk[i], false);
            LABEL(0, "device", "%s", mounts[m][0]);
            LABEL(1, "fstype", "%s", mounts[m][1]);
            LABEL(2, "mountpoint", "%s", mounts[m][2]);
        }
    for (size_t d = 0; d < 4 && k < n; d++) {
        ADD("diskio", "read_bytes_total", true);
        LABEL(0, "device", "%s", devs[d]);
        ADD("diskio", "write_bytes_total", true);
        LABEL(0, "device", "%s", devs[d]);
    }
    for (size_t d = 0; d < 4 && k < n; d++) {
        ADD("network", "receive_bytes_total", true);
        LABEL(0, "interface", "%s", ifs[d]);
        ADD("network", "transmit_bytes_total", true);
        LABEL(0, "interface", "%s", ifs[d]);
    }
    for (int s = 1; s <= 8 && k < n; s++) {
        ADD("sensors", "temperature_celsius", false);
        LABEL(0, "chip", "coretemp-isa-0000");
        LABEL(1, "sensor", "temp%d", s);
    }
    ADD("system", "uptime_seconds", false);
    ADD("processes", "pids", false);
    ADD("processes", "threads", false);
    ADD("agent", "rss_bytes", false);
    for (int core = 0; k < n; core++) {
        ADD("cpu", "usage_percent", false);
        LABEL(0, "core", "%d", core);
    }
#undef ADD
#undef LABEL
    for (int i = 0; i < n; i++)
        a->series[i].value = (double)(ward_xorshift64(&a->rng) % 10000) / 100.0;
    return 0;
}

/* Builds the next request of a into a->req: JSON (per-sample shape), gzip, HTTP head. */
static int build_request(struct ward_stream_agent *a, uint64_t seq)
{
    const struct ward_stream_options *o = a->opt;
    int64_t ts = ward_now_ms();
    if (ts <= a->last_ts)
        ts = a->last_ts + 1; /* never two points of one series at the same time */
    a->last_ts = ts;
    ward_buf_reset(&a->json);
    struct ward_json_writer w;
    ward_json_writer_init(&w, &a->json);
    ward_ingest_envelope_begin(&w, a->id, seq, a->boot);
    ward_json_write_keyz(&w, "metrics");
    ward_json_write_array_begin(&w);
    for (int i = 0; i < o->batch; i++) {
        struct ward_stream_series *s = &a->series[i];
        double step = (double)((int64_t)(ward_xorshift64(&a->rng) % 201) - 100) / 100.0;
        if (s->counter)
            s->value += 1000 + fabs(step) * 1e4;
        else
            s->value = fabs(s->value + step);
        ward_json_write_object_begin(&w);
        ward_json_write_keyz(&w, "metric_type");
        ward_json_write_stringz(&w, s->type);
        ward_json_write_keyz(&w, "metric_name");
        ward_json_write_stringz(&w, s->name);
        ward_json_write_keyz(&w, "value");
        ward_json_write_double(&w, nearbyint(s->value * 100) / 100);
        ward_json_write_keyz(&w, "labels");
        ward_json_write_object_begin(&w);
        for (int l = 0; l < 3 && s->label_key[l]; l++) {
            ward_json_write_keyz(&w, s->label_key[l]);
            ward_json_write_stringz(&w, s->label_value[l]);
        }
        ward_json_write_object_end(&w);
        ward_json_write_keyz(&w, "timestamp");
        ward_json_write_int(&w, ts);
        if (s->counter) {
            ward_json_write_keyz(&w, "kind");
            ward_json_write_stringz(&w, "counter");
        }
        ward_json_write_object_end(&w);
    }
    ward_json_write_array_end(&w);
    ward_json_write_object_end(&w);
    int r = ward_json_writer_finish(&w);
    if (r < 0)
        return r;
    const struct ward_buf *body = &a->json;
    if (o->level) {
        ward_buf_reset(&a->gz);
        r = ward_gzip_compress(a->json.data, a->json.len, o->level, &a->gz);
        if (r < 0)
            return r;
        body = &a->gz;
    }
    ward_buf_reset(&a->req);
    return ward_http_ingest_request(&a->req, o->address, "bench-stream", o->level != 0, o->token,
                                    body->data, body->len);
}

/* Sends a->req and reads the whole answer on a's connection; returns the status or -errno. */
static int exchange(struct ward_stream_agent *a)
{
    struct ward_http_response resp;
    /* Whatever a failed exchange left here is not the start of this answer. */
    ward_buf_reset(&a->in);
    int r = ward_http_send_all(a->fd, a->req.data, a->req.len);
    if (r == 0)
        r = ward_http_read_response(a->fd, &a->in, &resp);
    if (r < 0)
        return r;
    /* An answer that ends the connection closes it here; the next request reconnects. */
    if (resp.close) {
        close(a->fd);
        a->fd = -1;
    }
    return (int)resp.status;
}

void ward_sleep_until_ns(int64_t t)
{
    struct timespec ts = {.tv_sec = t / 1000000000, .tv_nsec = t % 1000000000};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

void *ward_stream_agent_main(void *arg)
{
    struct ward_stream_agent *a = arg;
    const struct ward_stream_options *o = a->opt;
    pthread_setname_np(pthread_self(), "ingest");
    pthread_barrier_wait(&a->pace->go);
    int64_t period = (int64_t)((double)o->batch * o->agents * 1e9 / o->rate);
    int64_t next = a->pace->start_ns + period * a->idx / o->agents;
    int failures = 0;
    for (uint64_t seq = 1; next < a->pace->deadline_ns && !a->error; seq++, next += period) {
        ward_sleep_until_ns(next);
        int64_t t = ward_mono_ns();
        if (t - next > period)
            a->late++;
        int r = build_request(a, seq);
        if (r < 0) {
            a->error = r;
            snprintf(a->what, sizeof(a->what), "cannot build a request: %s", ward_strerror(r));
            break;
        }
        atomic_fetch_add_explicit(&a->sent, (uint64_t)o->batch, memory_order_relaxed);
        a->requests++;
        for (;;) {
            if (a->fd < 0)
                a->fd = ward_http_connect(&o->addr, IO_TIMEOUT_S);
            r = a->fd < 0 ? a->fd : exchange(a);
            if (r >= 0)
                break;
            a->conn_errors++;
            if (a->fd >= 0)
                close(a->fd);
            a->fd = -1;
            if (++failures > MAX_CONN_ERRORS) {
                a->error = r;
                snprintf(a->what, sizeof(a->what), "connection keeps failing: %s",
                         ward_strerror(r));
                break;
            }
        }
        if (r < 0)
            break;
        failures = 0;
        int64_t us = (ward_mono_ns() - t) / 1000;
        ward_latency_raise(&a->pace->interval_post_us, us);
        if (a->n_post < a->cap_post)
            a->post_us[a->n_post++] = us;
        a->status[r < WARD_STREAM_MAX_STATUS ? r : 0]++;
        if (r / 100 == 2)
            atomic_fetch_add_explicit(&a->acked, (uint64_t)o->batch, memory_order_relaxed);
    }
    atomic_fetch_add(&a->pace->done, 1);
    return NULL;
}

int ward_stream_agent_init(struct ward_stream_agent *a, const struct ward_stream_options *o,
                           struct ward_stream_pace *pace, int idx, size_t cap_post)
{
    *a = (struct ward_stream_agent){.opt = o, .pace = pace, .idx = idx, .fd = -1};
    a->rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(idx + 1);
    a->boot = ward_now_ms();
    a->post_us = calloc(cap_post, sizeof(*a->post_us));
    a->cap_post = a->post_us ? cap_post : 0;
    int r = ward_uuid_v7(a->id);
    if (r == 0)
        r = make_series(a);
    if (r == 0 && (a->fd = ward_http_connect(&o->addr, IO_TIMEOUT_S)) < 0)
        r = a->fd;
    return r;
}

void ward_stream_agent_done(struct ward_stream_agent *a)
{
    if (!a)
        return;
    if (a->fd >= 0)
        close(a->fd);
    a->fd = -1;
    ward_buf_done(&a->json);
    ward_buf_done(&a->gz);
    ward_buf_done(&a->req);
    ward_buf_done(&a->in);
    free(a->series);
    a->series = NULL;
    free(a->post_us);
    a->post_us = NULL;
}
