/*
 * JSON throughput benchmark: our reader and writer against jansson.
 *
 * Builds a metrics batch of about 1 MB in the ingest wire shape, with
 * varied metric types, label sets, values (percentages with two decimals,
 * byte counts, load averages, full-precision ratios) and millisecond
 * timestamps, then times four jobs on it: a full token walk with our reader,
 * json_loadb(), writing the batch with our writer from plain C structs, and
 * json_dumps() of the equivalent jansson tree. Each job is timed over
 * several runs and the median is printed, in MB/s of JSON text (1 MB =
 * 10^6 bytes). Time is the process's CPU time, so that other work on a
 * shared machine disturbs the figures less. The program asserts nothing;
 * it only prints figures. With the argument "reader" or "writer" (and
 * optionally a count) it instead repeats that one job of ours, for perf
 * record or callgrind.
 */
#include "common/buf.h"
#include "common/error.h"
#include "common/json.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TARGET_SIZE 1000000
#define RUNS        21
#define REPEAT      8

struct metric {
    const char *type;
    const char *name;
    const char *kind;
    double value;
    int64_t timestamp;
    int nlabels;
    const char *label_key[2];
    char label_value[2][24];
};

static uint64_t rng = 0x5eed;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double uniform(void)
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
}

static void make_metric(struct metric *m, size_t i)
{
    static const char *const ifaces[] = {"eth0", "eth1", "lo", "wlan0", "bond0"};
    static const char *const disks[] = {"nvme0n1", "sda", "sdb", "dm-0"};
    static const char *const mounts[] = {"/", "/var", "/home", "/srv/data"};
    *m = (struct metric){.kind = "gauge", .timestamp = 1763632800123LL + (int64_t)(i / 40) * 10000};
    switch (rnd() % 7) {
    case 0:
        m->type = "cpu";
        m->name = "usage_percent";
        m->value = (double)(rnd() % 10000) / 100; /* 12.34 */
        m->nlabels = 1;
        m->label_key[0] = "core";
        snprintf(m->label_value[0], sizeof(m->label_value[0]), "%u", (unsigned)(rnd() % 32));
        break;
    case 1:
        m->type = "mem";
        m->name = rnd() % 2 ? "used_bytes" : "available_bytes";
        m->value = (double)(rnd() % 64000000000ULL);
        break;
    case 2:
        m->type = "net";
        m->name = rnd() % 2 ? "rx_bytes" : "tx_bytes";
        m->kind = "counter";
        m->value = (double)(rnd() % 1000000000000ULL);
        m->nlabels = 1;
        m->label_key[0] = "iface";
        snprintf(m->label_value[0], sizeof(m->label_value[0]), "%s", ifaces[rnd() % 5]);
        break;
    case 3:
        m->type = "load";
        m->name = "load1";
        m->value = (double)(rnd() % 20000) / 1000; /* 3.125 */
        break;
    case 4:
        m->type = "disk";
        m->name = "used_ratio";
        m->value = uniform(); /* full precision */
        m->nlabels = 2;
        m->label_key[0] = "device";
        m->label_key[1] = "mount";
        snprintf(m->label_value[0], sizeof(m->label_value[0]), "%s", disks[rnd() % 4]);
        snprintf(m->label_value[1], sizeof(m->label_value[1]), "%s", mounts[rnd() % 4]);
        break;
    case 5:
        m->type = "disk";
        m->name = "io_time_ms";
        m->kind = "counter";
        m->value = (double)(rnd() % 100000000);
        m->nlabels = 1;
        m->label_key[0] = "device";
        snprintf(m->label_value[0], sizeof(m->label_value[0]), "%s", disks[rnd() % 4]);
        break;
    default:
        m->type = "sensor";
        m->name = "temperature_celsius";
        m->value = (double)(200 + rnd() % 700) / 10; /* 45.6 */
        m->nlabels = 1;
        m->label_key[0] = "chip";
        snprintf(m->label_value[0], sizeof(m->label_value[0]), "coretemp-isa-%04u",
                 (unsigned)(rnd() % 4));
        break;
    }
}

static int write_batch(struct ward_buf *out, const struct metric *ms, size_t n)
{
    struct ward_json_writer w;
    ward_json_writer_init(&w, out);
    ward_json_write_object_begin(&w);
    ward_json_write_keyz(&w, "server_id");
    ward_json_write_stringz(&w, "0192f0c4-6b1e-7c3a-9d2e-5a4b3c2d1e0f");
    ward_json_write_keyz(&w, "batch");
    ward_json_write_object_begin(&w);
    ward_json_write_keyz(&w, "seq");
    ward_json_write_int(&w, 1);
    ward_json_write_keyz(&w, "boot");
    ward_json_write_int(&w, 1);
    ward_json_write_object_end(&w);
    ward_json_write_keyz(&w, "metrics");
    ward_json_write_array_begin(&w);
    for (size_t i = 0; i < n; i++) {
        const struct metric *m = &ms[i];
        ward_json_write_object_begin(&w);
        ward_json_write_keyz(&w, "metric_type");
        ward_json_write_stringz(&w, m->type);
        ward_json_write_keyz(&w, "metric_name");
        ward_json_write_stringz(&w, m->name);
        ward_json_write_keyz(&w, "value");
        ward_json_write_double(&w, m->value);
        ward_json_write_keyz(&w, "labels");
        ward_json_write_object_begin(&w);
        for (int j = 0; j < m->nlabels; j++) {
            ward_json_write_keyz(&w, m->label_key[j]);
            ward_json_write_stringz(&w, m->label_value[j]);
        }
        ward_json_write_object_end(&w);
        ward_json_write_keyz(&w, "timestamp");
        ward_json_write_int(&w, m->timestamp);
        ward_json_write_keyz(&w, "kind");
        ward_json_write_stringz(&w, m->kind);
        ward_json_write_object_end(&w);
    }
    ward_json_write_array_end(&w);
    ward_json_write_object_end(&w);
    return ward_json_writer_finish(&w);
}

static json_t *jansson_batch(const struct metric *ms, size_t n)
{
    json_t *root = json_object(), *arr = json_array();
    json_object_set_new(root, "server_id", json_string("0192f0c4-6b1e-7c3a-9d2e-5a4b3c2d1e0f"));
    json_object_set_new(root, "batch", json_pack("{s:i,s:i}", "seq", 1, "boot", 1));
    for (size_t i = 0; i < n; i++) {
        const struct metric *m = &ms[i];
        json_t *labels = json_object();
        for (int j = 0; j < m->nlabels; j++)
            json_object_set_new(labels, m->label_key[j], json_string(m->label_value[j]));
        json_array_append_new(arr,
                              json_pack("{s:s,s:s,s:f,s:o,s:I,s:s}", "metric_type", m->type,
                                        "metric_name", m->name, "value", m->value, "labels", labels,
                                        "timestamp", (json_int_t)m->timestamp, "kind", m->kind));
    }
    json_object_set_new(root, "metrics", arr);
    return root;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Shared by the jobs, so the compiler cannot drop their work. */
static volatile uint64_t sink;

static const char *g_text;
static size_t g_len;
static const struct metric *g_metrics;
static size_t g_count;
static json_t *g_tree;

static void job_ward_read(void)
{
    struct ward_json_reader r;
    struct ward_json_token t;
    uint64_t n = 0;
    ward_json_reader_init(&r, g_text, g_len, NULL);
    while (ward_json_next(&r, &t) == 0 && t.type != WARD_JSON_END)
        n += t.type + t.len;
    ward_json_reader_done(&r);
    sink += n;
}

static void job_jansson_load(void)
{
    json_error_t err;
    json_t *v = json_loadb(g_text, g_len, 0, &err);
    sink += v != NULL;
    json_decref(v);
}

/* The output buffer is reused, as a sender building one batch after another would. */
static struct ward_buf g_out = WARD_BUF_INIT;

static void job_ward_write(void)
{
    ward_buf_reset(&g_out);
    write_batch(&g_out, g_metrics, g_count);
    sink += g_out.len;
}

static void job_jansson_dump(void)
{
    char *s = json_dumps(g_tree, JSON_COMPACT);
    sink += strlen(s);
    free(s);
}

/* Returns the median throughput of job in MB/s of g_len bytes. */
static double measure(void (*job)(void))
{
    double mbps[RUNS];
    job(); /* warm up */
    for (int i = 0; i < RUNS; i++) {
        double t0 = now();
        for (int k = 0; k < REPEAT; k++)
            job();
        double dt = now() - t0;
        mbps[i] = (double)g_len * REPEAT / dt / 1e6;
    }
    qsort(mbps, RUNS, sizeof(mbps[0]), cmp_double);
    return mbps[RUNS / 2];
}

int main(int argc, char **argv)
{
    size_t cap = 16384, n = 0;
    struct metric *ms = malloc(cap * sizeof(*ms));
    struct ward_buf text = WARD_BUF_INIT;
    if (!ms)
        return 1;
    /* Grow the batch until its JSON reaches the target size. */
    do {
        for (size_t k = 0; k < 256 && n < cap; k++, n++)
            make_metric(&ms[n], n);
        ward_buf_reset(&text);
        if (write_batch(&text, ms, n) < 0) {
            fprintf(stderr, "bench-json: writing the batch failed\n");
            return 1;
        }
    } while (text.len < TARGET_SIZE && n < cap);
    g_text = text.data;
    g_len = text.len;
    g_metrics = ms;
    g_count = n;
    g_tree = jansson_batch(ms, n);

    /* A benchmark of a reader that fails early would measure nothing. */
    struct ward_json_reader r;
    struct ward_json_token t;
    int e;
    ward_json_reader_init(&r, g_text, g_len, NULL);
    while ((e = ward_json_next(&r, &t)) == 0 && t.type != WARD_JSON_END)
        ;
    ward_json_reader_done(&r);
    if (e < 0) {
        fprintf(stderr, "bench-json: the batch does not read back: %s\n", ward_strerror(e));
        return 1;
    }

    /* "bench-json reader|writer [times]" runs one of our jobs in a loop, for a profiler. */
    if (argc > 1) {
        void (*job)(void) = strcmp(argv[1], "writer") == 0 ? job_ward_write : job_ward_read;
        int times = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 500;
        for (int i = 0; i < times; i++)
            job();
        return 0;
    }
    double rd = measure(job_ward_read), jl = measure(job_jansson_load);
    double wr = measure(job_ward_write), jd = measure(job_jansson_dump);
    printf("JSON benchmark: %zu bytes, %zu metrics, CPU time, median of %d runs x %d\n", g_len, n,
           RUNS, REPEAT);
    printf("%-28s %10s %10s\n", "job", "MB/s", "vs jansson");
    printf("%-28s %10.0f %9.1fx\n", "ward reader (token walk)", rd, rd / jl);
    printf("%-28s %10.0f %10s\n", "jansson json_loadb", jl, "1.0x");
    printf("%-28s %10.0f %9.1fx\n", "ward writer", wr, wr / jd);
    printf("%-28s %10.0f %10s\n", "jansson json_dumps", jd, "1.0x");
    json_decref(g_tree);
    ward_buf_done(&g_out);
    ward_buf_done(&text);
    free(ms);
    return 0;
}
