/*
 * Speed of the store: group writes, the two read shapes of the dashboard,
 * and the size of a stored sample.
 *
 * Every phase runs in a child process of its own, so each reports its own
 * peak RSS (wait4() returns the child's) and none inherits the heap of
 * another. The databases live in a temporary directory (argument 1 to put
 * them elsewhere, such as the disk ward-server uses); further arguments
 * name the phases to run.
 *
 * write*:  WRITE_HOSTS hosts of SERIES_PER_HOST series. Each batch is one
 *          host's series over ROUNDS collections, as the agent sends them;
 *          a group is GROUP_BATCHES batches (BIG_GROUP_BATCHES for
 *          write-big, the writer's default group of 200,000 samples).
 *          Before the timing starts every series gets PREFILL_POINTS
 *          samples, so that it fills leaf pages of its own, as in a store
 *          that has run for a while: a group then changes about two pages
 *          per series it touches, which is what a commit costs. A young
 *          database, where series still share pages, writes several times
 *          faster and would flatter the numbers. write-memory is the same
 *          in memory: the CPU cost without I/O.
 * read:    READ_SERIES series of a day of 10 s samples; the median time to
 *          read one whole series (8,640 points) and the last hour of every
 *          series (READ_SERIES x 360 points) in one call.
 * prune:   retention in the writer's chunks of PRUNE_CHUNK rows: time per call.
 * 100k:    BIG_SERIES series written BIG_ROUNDS times, to see the series-id
 *          cache hold them all and what that costs in memory.
 *
 * "written to storage" is /proc/self/io's write_bytes over the timed part:
 * the WAL and the checkpoints into the database file. Times are wall clock;
 * CPU is the process's user and system time, which shows how much of a
 * group is waiting for the disk.
 */
#include "common/error.h"
#include "server/store/store.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define T0 1700000000000LL

/* The write phases. */
#define WRITE_HOSTS       100
#define SERIES_PER_HOST   100
#define ROUNDS            10 /* collections per batch */
#define BATCH_SAMPLES     (SERIES_PER_HOST * ROUNDS)
#define GROUP_BATCHES     50
#define BIG_GROUP_BATCHES 200
#define WRITE_SAMPLES     3000000 /* timed, per phase */
#define PREFILL_POINTS    720

/* The read phase: a day of 10 s samples. */
#define READ_SERIES 1000
#define READ_POINTS 8640
#define HOUR_POINTS 360
#define READ_REPEAT 21

/* The prune phase: READ_SERIES series, the older half of their samples in chunks. */
#define PRUNE_POINTS 2880
#define PRUNE_CHUNK  50000

/* The 100k phase: hosts of SERIES_PER_HOST series, one collection per batch. */
#define BIG_SERIES 100000
#define BIG_ROUNDS 5
#define BIG_GROUP  500

static char dir[4096];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Bytes this process has caused to be written to storage, or -1 when unknown. */
static double io_written(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    if (f == NULL)
        return -1;
    char line[128];
    double v = -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "write_bytes: ", 13) == 0)
            v = strtod(line + 13, NULL);
    fclose(f);
    return v;
}

static void die(const char *what, int r)
{
    fprintf(stderr, "bench-store: %s: %s\n", what, ward_strerror(r));
    exit(1);
}

/* Opens dir/name, or a database in memory when name is NULL. */
static struct ward_store *open_db(const char *name, bool full)
{
    char dsn[4200];
    if (name)
        snprintf(dsn, sizeof(dsn), "sqlite:%s/%s", dir, name);
    else
        snprintf(dsn, sizeof(dsn), ":memory:");
    struct ward_store_options opt = {.synchronous_full = full};
    struct ward_store *s = NULL;
    int r = ward_store_open(dsn, &opt, &s);
    if (r < 0)
        die("open", r);
    return s;
}

static void remove_db(const char *name)
{
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; name && i < 3; i++) {
        char p[4300];
        snprintf(p, sizeof(p), "%s/%s%s", dir, name, suffixes[i]);
        unlink(p);
    }
}

static double file_size(const char *name)
{
    char p[4200];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    struct stat st;
    return stat(p, &st) == 0 ? (double)st.st_size : 0;
}

/* Host ids and label strings, made once per phase. */
static char (*host_ids)[WARD_STORE_ID_LEN];
static char (*labels)[32];

static void make_names(size_t hosts, size_t series)
{
    host_ids = calloc(hosts, sizeof(*host_ids));
    labels = calloc(series, sizeof(*labels));
    if (host_ids == NULL || labels == NULL)
        die("names", -ENOMEM);
    for (size_t h = 0; h < hosts; h++)
        snprintf(host_ids[h], sizeof(host_ids[h]), "0190c1d2-0000-7000-8000-%012x", (unsigned)h);
    for (size_t i = 0; i < series; i++)
        snprintf(labels[i], sizeof(labels[i]), "{\"core\":\"%zu\"}", i);
}

/* What a run of groups writes: hosts of series, rounds collections per batch, step_ms apart. */
struct shape {
    size_t hosts, series, rounds, group_batches;
    int64_t step_ms;
};

/*
 * Fills w with batches first to first + n of a run: batch k is host k % hosts
 * at collection tick + (k / hosts) * rounds, so every host's batches follow
 * each other in time.
 */
static void fill_group(const struct shape *sh, struct ward_write *w, struct ward_sample *v,
                       size_t first, size_t n, int64_t tick)
{
    for (size_t b = 0; b < n; b++) {
        size_t k = first + b;
        int64_t t0 = tick + (int64_t)(k / sh->hosts * sh->rounds);
        struct ward_sample *x = v + b * sh->series * sh->rounds;
        for (size_t r = 0; r < sh->rounds; r++)
            for (size_t i = 0; i < sh->series; i++)
                x[r * sh->series + i] = (struct ward_sample){
                    .category = "cpu",
                    .name = "usage_percent",
                    .labels = labels[i],
                    .kind = WARD_KIND_GAUGE,
                    .ts_ms = T0 + (t0 + (int64_t)r) * sh->step_ms,
                    .value = (double)((t0 + (int64_t)r) % 1000) * 0.25 + (double)i,
                };
        w[b] = (struct ward_write){
            .host_id = host_ids[k % sh->hosts], .samples = x, .n = sh->series * sh->rounds};
    }
}

/*
 * Writes groups of sh, hosts in turn, starting at collection tick; returns
 * the seconds spent in ward_store_write().
 */
static double write_groups(struct ward_store *s, const struct shape *sh, size_t groups,
                           int64_t tick)
{
    static int64_t seq;
    struct ward_write *w = calloc(sh->group_batches, sizeof(*w));
    struct ward_sample *v = calloc(sh->group_batches * sh->series * sh->rounds, sizeof(*v));
    struct ward_batch_key *keys = calloc(sh->group_batches, sizeof(*keys));
    if (w == NULL || v == NULL || keys == NULL)
        die("alloc", -ENOMEM);
    double spent = 0;
    for (size_t g = 0; g < groups; g++) {
        fill_group(sh, w, v, g * sh->group_batches, sh->group_batches, tick);
        for (size_t b = 0; b < sh->group_batches; b++) {
            keys[b] = (struct ward_batch_key){.boot = 1, .seq = seq++};
            w[b].batch = &keys[b];
        }
        double t = now_s();
        int r = ward_store_write(s, w, sh->group_batches);
        spent += now_s() - t;
        if (r < 0)
            die("write", r);
        for (size_t b = 0; b < sh->group_batches; b++)
            if (w[b].result != 0)
                die("write result", w[b].result < 0 ? w[b].result : WARD_E_STORE);
    }
    free(w);
    free(v);
    free(keys);
    return spent;
}

static void phase_write(const char *label, const char *name, bool full, size_t group_batches)
{
    remove_db(name);
    make_names(WRITE_HOSTS, SERIES_PER_HOST);
    struct ward_store *s = open_db(name, full);
    const size_t series = WRITE_HOSTS * SERIES_PER_HOST;

    /* The history, a host per group in long batches, like a restore. */
    struct shape prefill = {WRITE_HOSTS, SERIES_PER_HOST, PREFILL_POINTS, 1, 1000};
    double secs = write_groups(s, &prefill, WRITE_HOSTS, 0);
    double before = (double)series * PREFILL_POINTS;
    printf("%-12s prefill %zu series x %d points: %.0f samples/s\n", label, series, PREFILL_POINTS,
           before / secs);
    fflush(stdout);

    struct shape sh = {WRITE_HOSTS, SERIES_PER_HOST, ROUNDS, group_batches, 1000};
    size_t groups = WRITE_SAMPLES / (group_batches * BATCH_SAMPLES);
    double n = (double)groups * (double)(group_batches * BATCH_SAMPLES);
    double c0 = cpu_s(), io0 = io_written();
    secs = write_groups(s, &sh, groups, PREFILL_POINTS);
    double cpu = cpu_s() - c0, io = io_written() - io0;
    ward_store_close(s);

    size_t touched = group_batches < WRITE_HOSTS ? group_batches : WRITE_HOSTS;
    printf("%-12s %zu groups of %zu x %d samples, each to %zu of %zu series: %.0f samples/s\n",
           label, groups, group_batches, BATCH_SAMPLES, touched * SERIES_PER_HOST, series,
           n / secs);
    printf("  %.1f ms per group, %.1f ms CPU\n", secs * 1000 / (double)groups,
           cpu * 1000 / (double)groups);
    if (name && io0 >= 0)
        printf("  written to storage: %.0f bytes per sample\n", io / n);
    if (name)
        printf("  on disk after close: %.1f bytes per sample\n", file_size(name) / (n + before));
    remove_db(name);
}

static void write_normal(void)
{
    phase_write("write", "write.db", false, GROUP_BATCHES);
}

static void write_full(void)
{
    phase_write("write-full", "write-full.db", true, GROUP_BATCHES);
}

static void write_big(void)
{
    phase_write("write-big", "write-big.db", false, BIG_GROUP_BATCHES);
}

static void write_memory(void)
{
    phase_write("write-memory", NULL, false, GROUP_BATCHES);
}

struct read_count {
    size_t points;
};

static int count_point(size_t index, int64_t ts_ms, double value, void *userdata)
{
    (void)index;
    (void)ts_ms;
    (void)value;
    ((struct read_count *)userdata)->points++;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int collect_id(const struct ward_series_row *row, void *userdata)
{
    int64_t **p = userdata;
    *(*p)++ = row->id;
    return 0;
}

static void phase_read(void)
{
    const char *name = "read.db";
    enum {
        HOSTS = READ_SERIES / SERIES_PER_HOST
    };
    remove_db(name);
    make_names(HOSTS, SERIES_PER_HOST);
    struct ward_store *s = open_db(name, false);
    /* A day of 10 s samples: each batch is a host's series over an hour. */
    struct shape sh = {HOSTS, SERIES_PER_HOST, HOUR_POINTS, HOSTS, 10000};
    double wsecs = write_groups(s, &sh, READ_POINTS / HOUR_POINTS, 0);
    double n = (double)READ_SERIES * READ_POINTS;
    printf("read         filled %d series x %d points: %.0f samples/s\n", READ_SERIES, READ_POINTS,
           n / wsecs);

    int64_t *ids = calloc(READ_SERIES, sizeof(*ids)), *end = ids;
    if (ids == NULL)
        die("alloc", -ENOMEM);
    int r = ward_store_series_list(s, NULL, collect_id, &end);
    if (r < 0 || end - ids != READ_SERIES)
        die("series_list", r < 0 ? r : WARD_E_STORE);

    double one[READ_REPEAT], hour[READ_REPEAT];
    int64_t last = T0 + (int64_t)(READ_POINTS - 1) * 10000;
    for (int i = 0; i < READ_REPEAT; i++) {
        struct read_count c = {0};
        double t = now_s();
        r = ward_store_read(s, &ids[i * 37 % READ_SERIES], 1, INT64_MIN, INT64_MAX, count_point,
                            &c);
        one[i] = now_s() - t;
        if (r < 0 || c.points != READ_POINTS)
            die("read one", r < 0 ? r : WARD_E_STORE);

        c = (struct read_count){0};
        t = now_s();
        r = ward_store_read(s, ids, READ_SERIES, last - (HOUR_POINTS - 1) * 10000, last,
                            count_point, &c);
        hour[i] = now_s() - t;
        if (r < 0 || c.points != (size_t)READ_SERIES * HOUR_POINTS)
            die("read hour", r < 0 ? r : WARD_E_STORE);
    }
    qsort(one, READ_REPEAT, sizeof(double), cmp_double);
    qsort(hour, READ_REPEAT, sizeof(double), cmp_double);
    printf("  read 1 series x %d points: p50 %.2f ms\n", READ_POINTS, one[READ_REPEAT / 2] * 1000);
    printf("  read %d series x %d points: p50 %.2f ms\n", READ_SERIES, HOUR_POINTS,
           hour[READ_REPEAT / 2] * 1000);
    free(ids);
    ward_store_close(s);
    printf("  on disk after close: %.1f bytes per sample\n", file_size(name) / n);
    remove_db(name);
}

/*
 * Retention as the writer runs it: chunks of PRUNE_CHUNK rows, one
 * transaction each, deleting the older half of PRUNE_POINTS samples of
 * READ_SERIES series. Every call holds the writer for its duration, so the
 * slowest call is what ingest may wait.
 */
static void phase_prune(void)
{
    const char *name = "prune.db";
    enum {
        HOSTS = READ_SERIES / SERIES_PER_HOST,
        CALLS = 1000
    };
    remove_db(name);
    make_names(HOSTS, SERIES_PER_HOST);
    struct ward_store *s = open_db(name, false);
    struct shape sh = {HOSTS, SERIES_PER_HOST, HOUR_POINTS, HOSTS, 10000};
    write_groups(s, &sh, PRUNE_POINTS / HOUR_POINTS, 0);

    static double took[CALLS];
    size_t calls = 0, total = 0;
    int64_t before = T0 + (int64_t)PRUNE_POINTS / 2 * 10000;
    double t0 = now_s();
    int r;
    do {
        size_t deleted = 0;
        double t = now_s();
        r = ward_store_prune(s, before, PRUNE_CHUNK, &deleted);
        took[calls++] = now_s() - t;
        if (r < 0)
            die("prune", r);
        total += deleted;
    } while (r == 1 && calls < CALLS);
    double secs = now_s() - t0;
    ward_store_close(s);
    qsort(took, calls, sizeof(double), cmp_double);
    printf("prune        %zu of %d samples in %zu calls of at most %d rows: %.0f rows/s\n", total,
           READ_SERIES * PRUNE_POINTS, calls, PRUNE_CHUNK, (double)total / secs);
    printf("  per call: p50 %.1f ms, max %.1f ms\n", took[calls / 2] * 1000,
           took[calls - 1] * 1000);
    remove_db(name);
}

static int count_latest(const struct ward_series_row *row, int64_t ts, double value, void *userdata)
{
    (void)row;
    (void)ts;
    (void)value;
    (*(size_t *)userdata)++;
    return 0;
}

static void phase_big(void)
{
    const char *name = "big.db";
    enum {
        HOSTS = BIG_SERIES / SERIES_PER_HOST
    };
    remove_db(name);
    make_names(HOSTS, SERIES_PER_HOST);
    struct ward_store *s = open_db(name, false);
    struct shape sh = {HOSTS, SERIES_PER_HOST, 1, BIG_GROUP, 10000};
    double first = write_groups(s, &sh, HOSTS / BIG_GROUP, 0);
    double secs = write_groups(s, &sh, HOSTS / BIG_GROUP * (BIG_ROUNDS - 1), 1);
    double t = now_s();
    size_t latest = 0;
    int r = ward_store_latest(s, count_latest, &latest);
    double latest_s = now_s() - t;
    if (r < 0)
        die("latest", r);
    struct ward_store_stats st = {0};
    r = ward_store_stats(s, &st);
    if (r < 0)
        die("stats", r);
    ward_store_close(s);
    printf("100k         %llu series of %llu hosts: first round %.0f samples/s (creates the"
           " series), then %d rounds %.0f samples/s\n",
           (unsigned long long)st.series, (unsigned long long)st.hosts, BIG_SERIES / first,
           BIG_ROUNDS - 1, (double)BIG_SERIES * (BIG_ROUNDS - 1) / secs);
    printf("  latest of %zu series: %.1f ms\n", latest, latest_s * 1000);
    remove_db(name);
}

static void run(const char *label, void (*fn)(void))
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        die("fork", -errno);
    if (pid == 0) {
        fn();
        fflush(stdout);
        _exit(0);
    }
    int status = 0;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench-store: phase %s failed\n", label);
        exit(1);
    }
    printf("  peak RSS %ld MiB\n", ru.ru_maxrss / 1024);
}

int main(int argc, char **argv)
{
    char tmp[] = "/tmp/ward-bench-store-XXXXXX";
    const char *where = argc > 1 ? argv[1] : mkdtemp(tmp);
    if (where == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(dir, sizeof(dir), "%s", where);
    static const struct {
        const char *name;
        void (*fn)(void);
    } phases[] = {
        {"write", write_normal},  {"write-full", write_full},
        {"write-big", write_big}, {"write-memory", write_memory},
        {"read", phase_read},     {"prune", phase_prune},
        {"100k", phase_big},
    };
    for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++) {
        bool wanted = argc <= 2;
        for (int a = 2; a < argc; a++)
            wanted = wanted || strcmp(argv[a], phases[i].name) == 0;
        if (wanted)
            run(phases[i].name, phases[i].fn);
    }
    if (argc <= 1)
        rmdir(where);
    return 0;
}
