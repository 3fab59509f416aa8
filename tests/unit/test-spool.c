/*
 * Tests of the agent's spool: batches come back oldest first and survive a
 * reopen; a batch stays until every output delivered it; the byte cap drops
 * the oldest batches and counts exactly the samples it dropped, and the
 * files on disk stay within the cap plus a batch; dead letters are counted;
 * a spool with junk bytes or cut short is moved aside and a fresh one
 * works.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/spool.h"
#include "common/error.h"

#define BOTH (WARD_SPOOL_SERVER | WARD_SPOOL_VM)

static char dir[] = "/tmp/ward-test-spool-XXXXXX";
static char path[256];

static int setup(void **unused)
{
    (void)unused;
    snprintf(dir, sizeof(dir), "/tmp/ward-test-spool-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof(path), "%s/spool.db", dir);
    return 0;
}

static int teardown(void **unused)
{
    (void)unused;
    static const char *const files[] = {"", "-wal", "-shm", ".corrupt", ".corrupt-wal"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char p[300];
        snprintf(p, sizeof(p), "%s%s", path, files[i]);
        unlink(p);
    }
    rmdir(dir);
    return 0;
}

static struct ward_spool *open_spool(int64_t cap, unsigned outputs)
{
    struct ward_spool *s = NULL;
    struct ward_buf err = WARD_BUF_INIT;
    int r = ward_spool_open(path, cap, outputs, &s, &err);
    if (r < 0)
        fail_msg("open: %s", err.data ? err.data : ward_strerror(r));
    ward_buf_done(&err);
    return s;
}

/* Appends batch seq with a body of len bytes naming it. */
static void append(struct ward_spool *s, int64_t seq, int64_t samples, size_t len)
{
    char *body = calloc(1, len);
    assert_non_null(body);
    snprintf(body, len, "batch %lld", (long long)seq);
    assert_int_equal(ward_spool_append(s, 7, seq, samples, body, len), 0);
    free(body);
}

/* The seq of the next batch for output after id, or -1; *id gets its id. */
static int64_t next_seq(struct ward_spool *s, unsigned output, int64_t after, int64_t *id)
{
    struct ward_spool_batch b = {.body = WARD_BUF_INIT};
    int r = ward_spool_next(s, output, after, &b);
    assert_true(r >= 0);
    int64_t seq = -1;
    if (r == 1) {
        char want[32];
        snprintf(want, sizeof(want), "batch %lld", (long long)b.seq);
        assert_string_equal(b.body.data, want);
        assert_int_equal(b.boot, 7);
        seq = b.seq;
        *id = b.id;
    }
    ward_buf_done(&b.body);
    return seq;
}

static void oldest_first_and_durable(void **unused)
{
    (void)unused;
    struct ward_spool *s = open_spool(8 << 20, WARD_SPOOL_SERVER);
    for (int64_t seq = 1; seq <= 5; seq++)
        append(s, seq, 10, 100);
    int64_t id = 0;
    assert_int_equal(next_seq(s, WARD_SPOOL_SERVER, 0, &id), 1);
    assert_int_equal(ward_spool_delivered(s, WARD_SPOOL_SERVER, id), 0);
    assert_int_equal(next_seq(s, WARD_SPOOL_SERVER, 0, &id), 2);
    ward_spool_close(s);

    /* Reopened: batches 2 to 5 are still there, in order. */
    s = open_spool(8 << 20, WARD_SPOOL_SERVER);
    struct ward_spool_stats st;
    ward_spool_stats(s, &st);
    assert_int_equal(st.rows, 4);
    assert_int_equal(st.samples, 40);
    int64_t after = 0;
    for (int64_t want = 2; want <= 5; want++) {
        assert_int_equal(next_seq(s, WARD_SPOOL_SERVER, after, &id), want);
        after = id;
    }
    assert_int_equal(next_seq(s, WARD_SPOOL_SERVER, after, &id), -1);
    /* Delivering twice, or an unknown id, changes nothing. */
    assert_int_equal(ward_spool_delivered(s, WARD_SPOOL_SERVER, after), 0);
    assert_int_equal(ward_spool_delivered(s, WARD_SPOOL_SERVER, after), 0);
    assert_int_equal(ward_spool_delivered(s, WARD_SPOOL_SERVER, 999), 0);
    ward_spool_stats(s, &st);
    assert_int_equal(st.rows, 3);
    ward_spool_close(s);
}

static void every_output_delivers(void **unused)
{
    (void)unused;
    struct ward_spool *s = open_spool(8 << 20, BOTH);
    append(s, 1, 5, 50);
    append(s, 2, 5, 50);
    int64_t id1, id2;
    assert_int_equal(next_seq(s, WARD_SPOOL_SERVER, 0, &id1), 1);
    assert_int_equal(ward_spool_delivered(s, WARD_SPOOL_SERVER, id1), 0);
    /* The server is past batch 1; the other output still has it. */
    assert_int_equal(next_seq(s, WARD_SPOOL_SERVER, 0, &id2), 2);
    assert_int_equal(next_seq(s, WARD_SPOOL_VM, 0, &id1), 1);
    struct ward_spool_stats st;
    ward_spool_stats(s, &st);
    assert_int_equal(st.rows, 2);
    assert_int_equal(ward_spool_delivered(s, WARD_SPOOL_VM, id1), 0);
    ward_spool_stats(s, &st);
    assert_int_equal(st.rows, 1);
    /* A dead letter for one output counts its samples once; the row goes after both. */
    assert_int_equal(ward_spool_dead(s, WARD_SPOOL_VM, id2), 0);
    assert_int_equal(ward_spool_dead(s, WARD_SPOOL_VM, id2), 0);
    ward_spool_stats(s, &st);
    assert_int_equal(st.dead_samples, 5);
    assert_int_equal(st.dead_batches, 1);
    assert_int_equal(st.rows, 1);
    assert_int_equal(ward_spool_delivered(s, WARD_SPOOL_SERVER, id2), 0);
    ward_spool_stats(s, &st);
    assert_int_equal(st.rows, 0);
    assert_int_equal(st.samples, 0);
    assert_int_equal(st.bytes, 0);
    ward_spool_close(s);
}

static off_t file_size(const char *suffix)
{
    char p[300];
    struct stat sb;
    snprintf(p, sizeof(p), "%s%s", path, suffix);
    return stat(p, &sb) == 0 ? sb.st_size : 0;
}

static void cap_drops_oldest_exactly(void **unused)
{
    (void)unused;
    const int64_t cap = 1 << 20, batch = 20000;
    struct ward_spool *s = open_spool(cap, WARD_SPOOL_SERVER);
    int64_t appended = 0;
    for (int64_t seq = 1; seq <= 200; seq++) {
        append(s, seq, seq, (size_t)batch);
        appended += seq;
        off_t disk = file_size("") + file_size("-wal") + file_size("-shm");
        if (disk > cap + batch)
            fail_msg("after batch %lld the spool takes %lld bytes", (long long)seq,
                     (long long)disk);
    }
    struct ward_spool_stats st;
    ward_spool_stats(s, &st);
    assert_true(st.bytes <= st.budget);
    assert_true(st.dropped_batches > 0);
    /* What is held and what was dropped add up to what came in; the newest are held. */
    assert_int_equal((int64_t)st.dropped_samples + st.samples, appended);
    assert_int_equal(st.rows + (int64_t)st.dropped_batches, 200);
    int64_t id, first = next_seq(s, WARD_SPOOL_SERVER, 0, &id);
    assert_int_equal(first, 200 - st.rows + 1);
    assert_int_equal((int64_t)st.dropped_samples, (first - 1) * first / 2);

    /* A batch larger than the whole budget is dropped and counted. */
    char *huge = calloc(1, (size_t)cap);
    assert_non_null(huge);
    assert_int_equal(ward_spool_append(s, 7, 201, 1000, huge, (size_t)cap), -E2BIG);
    free(huge);
    ward_spool_close(s);

    /* The counters are in the file. */
    s = open_spool(cap, WARD_SPOOL_SERVER);
    struct ward_spool_stats again;
    ward_spool_stats(s, &again);
    assert_int_equal(again.dropped_samples, st.dropped_samples + 1000);
    assert_int_equal(again.dropped_batches, st.dropped_batches + 1);
    assert_int_equal(again.rows, st.rows);
    /* Samples lost before the spool count too, and are saved by the next write. */
    ward_spool_lost(s, 7);
    assert_true(next_seq(s, WARD_SPOOL_SERVER, 0, &id) > 0);
    assert_int_equal(ward_spool_delivered(s, WARD_SPOOL_SERVER, id), 0);
    ward_spool_close(s);
    s = open_spool(cap, WARD_SPOOL_SERVER);
    ward_spool_stats(s, &again);
    assert_int_equal(again.dropped_samples, st.dropped_samples + 1007);
    assert_int_equal(again.dropped_batches, st.dropped_batches + 2);
    ward_spool_close(s);
}

static void write_at(off_t at, const char *junk, size_t len)
{
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, junk, len, at), (ssize_t)len);
    close(fd);
}

static void corrupt_spool_is_moved_aside(void **unused)
{
    (void)unused;
    /* Junk where the header is. */
    struct ward_spool *s = open_spool(8 << 20, WARD_SPOOL_SERVER);
    append(s, 1, 3, 100);
    ward_spool_close(s);
    write_at(0, "this is no database at all, just junk bytes......", 48);
    s = open_spool(8 << 20, WARD_SPOOL_SERVER);
    struct ward_spool_stats st;
    ward_spool_stats(s, &st);
    assert_int_equal(st.recovered, 1);
    assert_int_equal(st.rows, 0);
    assert_true(strstr(ward_spool_moved_to(s), ".corrupt") != NULL);
    assert_true(file_size(".corrupt") > 0);
    append(s, 2, 3, 100);
    int64_t id;
    assert_int_equal(next_seq(s, WARD_SPOOL_SERVER, 0, &id), 2);
    ward_spool_close(s);

    /* Cut short in the middle of its pages. */
    s = open_spool(8 << 20, WARD_SPOOL_SERVER);
    for (int64_t seq = 3; seq < 40; seq++)
        append(s, seq, 3, 9000);
    ward_spool_close(s);
    assert_int_equal(truncate(path, file_size("") / 2 + 100), 0);
    s = open_spool(8 << 20, WARD_SPOOL_SERVER);
    ward_spool_stats(s, &st);
    assert_int_equal(st.recovered, 1);
    append(s, 50, 3, 100);
    assert_int_equal(next_seq(s, WARD_SPOOL_SERVER, 0, &id), 50);
    ward_spool_close(s);
}

static void bad_arguments(void **unused)
{
    (void)unused;
    struct ward_spool *s = NULL;
    struct ward_buf err = WARD_BUF_INIT;
    assert_int_equal(ward_spool_open(path, 1000, WARD_SPOOL_SERVER, &s, &err), -EINVAL);
    assert_int_equal(ward_spool_open(path, 8 << 20, 0, &s, &err), -EINVAL);
    ward_buf_reset(&err);
    assert_true(ward_spool_open("/nonexistent-dir/spool.db", 8 << 20, WARD_SPOOL_SERVER, &s, &err) <
                0);
    assert_non_null(err.data);
    ward_buf_done(&err);
    assert_null(s);
}

static void removed_output_lets_its_rows_go(void **unused)
{
    (void)unused;
    struct ward_spool *s = open_spool(8 << 20, BOTH);
    append(s, 1, 4, 100);
    append(s, 2, 4, 100);
    int64_t id;
    assert_int_equal(next_seq(s, WARD_SPOOL_SERVER, 0, &id), 1);
    assert_int_equal(ward_spool_delivered(s, WARD_SPOOL_SERVER, id), 0);
    ward_spool_close(s);
    /* VictoriaMetrics is no longer configured: batch 1 is done, batch 2 waits for the server. */
    s = open_spool(8 << 20, WARD_SPOOL_SERVER);
    struct ward_spool_stats st;
    ward_spool_stats(s, &st);
    assert_int_equal(st.rows, 1);
    assert_int_equal(st.samples, 4);
    assert_int_equal(next_seq(s, WARD_SPOOL_SERVER, 0, &id), 2);
    /* New rows continue the numbering. */
    append(s, 3, 4, 100);
    int64_t id3;
    assert_int_equal(next_seq(s, WARD_SPOOL_SERVER, id, &id3), 3);
    assert_true(id3 > id);
    ward_spool_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(oldest_first_and_durable, setup, teardown),
        cmocka_unit_test_setup_teardown(every_output_delivers, setup, teardown),
        cmocka_unit_test_setup_teardown(cap_drops_oldest_exactly, setup, teardown),
        cmocka_unit_test_setup_teardown(corrupt_spool_is_moved_aside, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(removed_output_lets_its_rows_go, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
