/*
 * Tests of the store writer thread.
 *
 * The writer runs against a fake backend defined here, whose write method
 * records each group it is given and can be held in the middle of a write
 * until the test releases it. Holding the writer makes every scenario
 * deterministic: the test knows exactly which jobs are in flight and which
 * are queued, without sleeping or timing anything.
 */
#include "common/error.h"
#include "server/latest.h"
#include "server/store/store.h"
#include "server/writer.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define HOST       "0190c1d2-0000-7000-8000-000000000001"
#define MAX_GROUPS 64

struct fake {
    struct ward_store base;
    bool hold;     /* writes wait for a release */
    sem_t entered; /* posted when a write starts */
    sem_t release; /* a held write waits for this */
    int fail;      /* error every write returns, or 0 */
    size_t groups[MAX_GROUPS];
    size_t n_groups;
    int prune_left; /* prune calls that still report "more left" */
    size_t prune_calls;
    sem_t pruned;         /* posted when a retention pass ends */
    int64_t prune_before; /* cutoff of the last prune */
};

static int fake_write(struct ward_store *s, struct ward_write *w, size_t n)
{
    struct fake *f = (struct fake *)s;
    sem_post(&f->entered);
    if (f->hold)
        sem_wait(&f->release);
    if (f->n_groups < MAX_GROUPS)
        f->groups[f->n_groups++] = n;
    for (size_t i = 0; i < n; i++)
        w[i].result = f->fail ? f->fail : (w[i].batch && w[i].batch->seq == 99 ? 1 : 0);
    return f->fail;
}

static int fake_prune(struct ward_store *s, int64_t before_ms, size_t max_rows, size_t *deleted)
{
    struct fake *f = (struct fake *)s;
    f->prune_calls++;
    f->prune_before = before_ms;
    *deleted = max_rows;
    if (f->prune_left-- > 0)
        return 1;
    sem_post(&f->pruned);
    return 0;
}

static const struct ward_store_ops fake_ops = {
    .size = sizeof(struct ward_store_ops),
    .name = "fake",
    .write = fake_write,
    .prune = fake_prune,
};

static struct fake *fake_new(void)
{
    struct fake *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->base.ops = &fake_ops;
    sem_init(&f->entered, 0, 0);
    sem_init(&f->release, 0, 0);
    sem_init(&f->pruned, 0, 0);
    return f;
}

static void fake_free(struct fake *f)
{
    sem_destroy(&f->entered);
    sem_destroy(&f->release);
    sem_destroy(&f->pruned);
    free(f);
}

/* Jobs that record their completion, in order. */
static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static int done_order[64];
static size_t n_done;

static void record_done(struct ward_write_job *job)
{
    pthread_mutex_lock(&done_lock);
    done_order[n_done++] = (int)(intptr_t)job->userdata;
    pthread_mutex_unlock(&done_lock);
}

static struct ward_sample samples[8] = {
    {"cpu", "usage", "{}", WARD_KIND_GAUGE, 1000, 1.0},
    {"cpu", "usage", "{}", WARD_KIND_GAUGE, 2000, 2.0},
    {"cpu", "usage", "{}", WARD_KIND_GAUGE, 3000, 3.0},
    {"ram", "used", "{}", WARD_KIND_GAUGE, 1000, 10.0},
    {"ram", "used", "{}", WARD_KIND_GAUGE, 2000, 20.0},
    {"net", "rx", "{\"if\":\"eth0\"}", WARD_KIND_COUNTER, 1000, 5.0},
    {"net", "rx", "{\"if\":\"eth0\"}", WARD_KIND_COUNTER, 2000, 6.0},
    {"net", "rx", "{\"if\":\"eth0\"}", WARD_KIND_COUNTER, 3000, 7.0},
};

static void job_init(struct ward_write_job *j, int id, size_t n)
{
    *j = (struct ward_write_job){
        .w = {.host_id = HOST, .samples = samples, .n = n},
        .done = record_done,
        .userdata = (void *)(intptr_t)id,
    };
}

static int reset(void **state)
{
    (void)state;
    n_done = 0;
    return 0;
}

static void test_groups_and_order(void **state)
{
    (void)state;
    struct fake *f = fake_new();
    f->hold = true;
    struct ward_latest *latest = NULL;
    assert_int_equal(ward_latest_new(&latest), 0);
    struct ward_writer_config cfg = {.queue_samples = 100, .group_samples = 6, .latest = latest};
    struct ward_writer *w = NULL;
    assert_int_equal(ward_writer_start(&f->base, &cfg, &w), 0);

    struct ward_write_job jobs[5];
    job_init(&jobs[0], 0, 8);
    assert_int_equal(ward_writer_submit(w, &jobs[0]), 0);
    sem_wait(&f->entered); /* job 0 is being written alone */
    for (int i = 1; i < 5; i++) {
        job_init(&jobs[i], i, 3);
        assert_int_equal(ward_writer_submit(w, &jobs[i]), 0);
    }
    for (int i = 0; i < 3; i++)
        sem_post(&f->release);
    ward_writer_free(w);

    /* Groups hold at most 6 samples, but always at least one job. */
    assert_int_equal(f->n_groups, 3);
    assert_int_equal(f->groups[0], 1);
    assert_int_equal(f->groups[1], 2);
    assert_int_equal(f->groups[2], 2);
    assert_int_equal(n_done, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(done_order[i], i);
        assert_int_equal(jobs[i].w.result, 0);
    }
    /* The latest values are the newest committed ones. */
    struct ward_latest_row row;
    assert_int_equal(ward_latest_get(latest, HOST, "cpu", "usage", "{}", &row), 0);
    assert_int_equal(row.ts_ms, 3000);
    assert_true(row.value == 3.0);
    assert_int_equal(ward_latest_count(latest), 3);
    ward_latest_free(latest);
    fake_free(f);
}

static void test_back_pressure(void **state)
{
    (void)state;
    struct fake *f = fake_new();
    f->hold = true;
    struct ward_writer_config cfg = {.queue_samples = 10};
    struct ward_writer *w = NULL;
    assert_int_equal(ward_writer_start(&f->base, &cfg, &w), 0);

    struct ward_write_job a, b, c, huge;
    job_init(&a, 0, 5);
    job_init(&b, 1, 5);
    job_init(&c, 2, 1);
    job_init(&huge, 3, 8);
    huge.w.n = 11;
    assert_int_equal(ward_writer_submit(w, &a), 0);
    sem_wait(&f->entered);
    /* Samples being written still count: 5 + 5 fill the queue. */
    assert_int_equal(ward_writer_submit(w, &b), 0);
    assert_int_equal(ward_writer_submit(w, &c), -EAGAIN);
    assert_int_equal(ward_writer_submit(w, &huge), WARD_E_LIMIT);

    struct ward_writer_stats st;
    ward_writer_stats(w, &st);
    assert_int_equal(st.queued_samples, 10);
    assert_int_equal(st.rejected_jobs, 1);

    sem_post(&f->release);
    sem_post(&f->release);
    ward_writer_free(w);
    assert_int_equal(n_done, 2);
    fake_free(f);
}

static void test_failed_commit(void **state)
{
    (void)state;
    struct fake *f = fake_new();
    f->fail = -EIO;
    struct ward_writer_config cfg = {0};
    struct ward_writer *w = NULL;
    assert_int_equal(ward_writer_start(&f->base, &cfg, &w), 0);
    assert_int_equal(ward_writer_write(w, HOST, NULL, samples, 3), -EIO);
    struct ward_writer_stats st;
    ward_writer_stats(w, &st);
    assert_int_equal(st.failed_commits, 1);
    assert_int_equal(st.committed_samples, 0);
    assert_int_equal(st.queued_samples, 0);
    ward_writer_free(w);
    fake_free(f);
}

static void test_duplicate_and_stats(void **state)
{
    (void)state;
    struct fake *f = fake_new();
    struct ward_writer_config cfg = {0};
    struct ward_writer *w = NULL;
    assert_int_equal(ward_writer_start(&f->base, &cfg, &w), 0);
    struct ward_batch_key dup = {.boot = 1, .seq = 99}, fresh = {.boot = 1, .seq = 1};
    assert_int_equal(ward_writer_write(w, HOST, &fresh, samples, 4), 0);
    assert_int_equal(ward_writer_write(w, HOST, &dup, samples, 4), 1);
    struct ward_writer_stats st;
    ward_writer_stats(w, &st);
    assert_int_equal(st.committed_samples, 4);
    assert_int_equal(st.committed_batches, 1);
    assert_int_equal(st.duplicate_batches, 1);
    ward_writer_free(w);
    fake_free(f);
}

static void *stop_thread(void *arg)
{
    ward_writer_stop(arg);
    return NULL;
}

static void test_stop_drains_queue(void **state)
{
    (void)state;
    struct fake *f = fake_new();
    f->hold = true;
    struct ward_writer_config cfg = {.group_samples = 1};
    struct ward_writer *w = NULL;
    assert_int_equal(ward_writer_start(&f->base, &cfg, &w), 0);
    struct ward_write_job jobs[4];
    for (int i = 0; i < 4; i++) {
        job_init(&jobs[i], i, 1);
        assert_int_equal(ward_writer_submit(w, &jobs[i]), 0);
    }
    sem_wait(&f->entered);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, stop_thread, w), 0);
    for (int i = 0; i < 4; i++)
        sem_post(&f->release);
    pthread_join(t, NULL);
    /* Every accepted job was written and answered, one group each. */
    assert_int_equal(n_done, 4);
    assert_int_equal(f->n_groups, 4);
    /* A stopped writer refuses new work but stays valid until freed. */
    struct ward_write_job late;
    job_init(&late, 9, 1);
    assert_int_equal(ward_writer_submit(w, &late), -ESHUTDOWN);
    assert_int_equal(ward_writer_write(w, HOST, NULL, samples, 1), -ESHUTDOWN);
    ward_writer_stop(w); /* a second stop does nothing */
    ward_writer_free(w);
    fake_free(f);
}

static void test_retention_runs_in_chunks(void **state)
{
    (void)state;
    struct fake *f = fake_new();
    f->prune_left = 2;
    struct ward_writer_config cfg = {.retention_ms = 3600 * 1000};
    struct ward_writer *w = NULL;
    assert_int_equal(ward_writer_start(&f->base, &cfg, &w), 0);
    sem_wait(&f->pruned); /* the first pass runs at start */
    /* The pass is counted after its last chunk returns: ask once a later job is done. */
    assert_int_equal(ward_writer_write(w, HOST, NULL, samples, 1), 0);
    struct ward_writer_stats st;
    ward_writer_stats(w, &st);
    ward_writer_free(w);
    assert_int_equal(f->prune_calls, 3);
    assert_int_equal(st.pruned_samples, 3 * WARD_WRITER_PRUNE_CHUNK);
    /* The cutoff is the retention period before now, which is after 2020. */
    assert_true(f->prune_before > INT64_C(1577836800000));
    fake_free(f);
}

static void test_no_retention_no_prune(void **state)
{
    (void)state;
    struct fake *f = fake_new();
    struct ward_writer_config cfg = {0};
    struct ward_writer *w = NULL;
    assert_int_equal(ward_writer_start(&f->base, &cfg, &w), 0);
    assert_int_equal(ward_writer_write(w, HOST, NULL, samples, 1), 0);
    ward_writer_free(w);
    assert_int_equal(f->prune_calls, 0);
    fake_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_groups_and_order, reset),
        cmocka_unit_test_setup(test_back_pressure, reset),
        cmocka_unit_test_setup(test_failed_commit, reset),
        cmocka_unit_test_setup(test_duplicate_and_stats, reset),
        cmocka_unit_test_setup(test_stop_drains_queue, reset),
        cmocka_unit_test_setup(test_retention_runs_in_chunks, reset),
        cmocka_unit_test_setup(test_no_retention_no_prune, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
