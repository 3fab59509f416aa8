/*
 * CPU cost of the agent's spool per sample.
 *
 * One real collection of this machine is encoded and gzip-compressed as a
 * sealed batch, like the agent does every report interval; then BATCHES
 * copies go through the spool the way delivery uses it: append, read the
 * oldest, mark delivered. The process CPU time (user and system, which
 * includes SQLite's writes to its WAL) is divided by the samples that went
 * through. The spool lives in a temporary directory (argument 1 to put it
 * elsewhere, such as the disk the agent's state directory is on).
 */
#include "agent/batch.h"
#include "agent/collector.h"
#include "agent/spool.h"
#include "common/gzip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define BATCHES 2000
#define ROUNDS  10 /* collections per batch: a 10 s report interval at 1 s */

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    char dir[] = "/tmp/ward-bench-spool-XXXXXX";
    const char *where = argc > 1 ? argv[1] : mkdtemp(dir);
    if (!where) {
        perror("mkdtemp");
        return 1;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/spool.db", where);

    /* A batch of ROUNDS collections of every collector on this machine. */
    static const struct ward_collect_settings settings = {
        .net_exclude = WARD_NET_EXCLUDE_DEFAULT,
        .net_max_interfaces = WARD_NET_MAX_INTERFACES,
        .top_n = WARD_TOP_N_DEFAULT,
        .statvfs_timeout_ms = WARD_STATVFS_TIMEOUT_MS,
    };
    struct ward_batch batch;
    ward_batch_init(&batch, 1000000);
    void *states[64] = {0};
    for (size_t i = 0; i < ward_n_collectors; i++)
        if (ward_collectors[i]->init)
            ward_collectors[i]->init(&states[i]);
    for (int round = 0; round < ROUNDS; round++) {
        batch.ts_ms = 1700000000000 + round * 1000;
        struct ward_collect_ctx ctx = {
            .root = "", .now_ms = batch.ts_ms, .settings = &settings, .sink = &batch.sink};
        for (size_t i = 0; i < ward_n_collectors; i++)
            ward_collectors[i]->collect(states[i], &ctx);
    }
    struct ward_buf json = WARD_BUF_INIT, gz = WARD_BUF_INIT;
    const char id[] = "00000000-0000-0000-0000-000000000000";
    if (ward_batch_encode_series(&batch, id, 1, 1, &json) < 0 ||
        ward_gzip_compress(json.data, json.len, 1, &gz) < 0) {
        fprintf(stderr, "cannot encode the batch\n");
        return 1;
    }
    int64_t samples = (int64_t)ward_batch_count(&batch);

    struct ward_spool *s;
    struct ward_buf err = WARD_BUF_INIT;
    if (ward_spool_open(path, (int64_t)1 << 30, WARD_SPOOL_SERVER, &s, &err) < 0) {
        fprintf(stderr, "cannot open the spool: %s\n", err.data);
        return 1;
    }
    struct ward_spool_batch b = {.body = WARD_BUF_INIT};
    double t0 = cpu_seconds();
    for (int64_t seq = 1; seq <= BATCHES; seq++)
        ward_spool_append(s, 1, seq, samples, gz.data, gz.len);
    double t1 = cpu_seconds();
    int64_t after = 0;
    while (ward_spool_next(s, WARD_SPOOL_SERVER, after, &b) == 1) {
        ward_spool_delivered(s, WARD_SPOOL_SERVER, b.id);
        after = b.id;
    }
    double t2 = cpu_seconds();
    double n = (double)samples * BATCHES;
    printf("spool CPU per sample: %d batches of %lld samples (%zu bytes gzip), %s\n", BATCHES,
           (long long)samples, gz.len, path);
    printf("%-24s %10.3f us/sample %10.1f us/batch\n", "append", (t1 - t0) * 1e6 / n,
           (t1 - t0) * 1e6 / BATCHES);
    printf("%-24s %10.3f us/sample %10.1f us/batch\n", "read + delivered", (t2 - t1) * 1e6 / n,
           (t2 - t1) * 1e6 / BATCHES);
    printf("%-24s %10.3f us/sample\n", "total", (t2 - t0) * 1e6 / n);

    ward_buf_done(&b.body);
    ward_spool_close(s);
    unlink(path);
    char side[4200];
    snprintf(side, sizeof(side), "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", path);
    unlink(side);
    if (argc <= 1)
        rmdir(where);
    for (size_t i = 0; i < ward_n_collectors; i++)
        if (ward_collectors[i]->done)
            ward_collectors[i]->done(states[i]);
    ward_batch_done(&batch);
    ward_buf_done(&json);
    ward_buf_done(&gz);
    ward_buf_done(&err);
    return 0;
}
