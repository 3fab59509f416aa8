/*
 * The store writer thread (see writer.h).
 *
 * A job queue in the style of a single-purpose worker: submitters append
 * jobs to a linked list under a mutex and signal a condition variable; the
 * thread takes a group of jobs from the head, writes them with one
 * ward_store_write() call (one transaction, one commit), then completes
 * them in order. Samples count against the queue bound from submission
 * until completion, so the bound covers the group being written too and
 * memory held by waiting requests never exceeds it.
 *
 * Retention runs on the same thread, between groups. SQLite admits one
 * writer at a time, so deleting from another thread would only wait for
 * this one, and here a prune chunk can never collide with an ingest group.
 * A pass deletes WARD_WRITER_PRUNE_CHUNK rows per transaction and yields to
 * queued jobs between chunks until nothing older than the cutoff is left.
 *
 * On stop the thread finishes every queued job before it exits, so an
 * accepted request is always answered and nothing acknowledged is lost.
 */
#include "server/writer.h"

#include "common/error.h"
#include "common/log.h"
#include "common/time-util.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ward_writer {
    struct ward_store *store;
    struct ward_writer_config cfg;
    pthread_t thread;

    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct ward_write_job *head, *tail; /* queued, not yet taken */
    bool stopping;
    struct ward_writer_stats stats; /* guarded by lock */

    /* Owned by the writer thread. */
    struct ward_write *group;
    size_t group_cap;
    int64_t next_prune_ms;
    uint64_t pass_pruned; /* rows deleted in the current retention pass */
};

/* Takes jobs from the head, at least one and at most group_samples samples. */
static struct ward_write_job *take_group(struct ward_writer *w, size_t *n_jobs)
{
    struct ward_write_job *first = w->head, *last = NULL;
    size_t samples = 0, n = 0;
    for (struct ward_write_job *j = w->head; j; j = j->next) {
        if (n > 0 && samples + j->w.n > w->cfg.group_samples)
            break;
        samples += j->w.n;
        last = j;
        n++;
    }
    w->head = last->next;
    if (!w->head)
        w->tail = NULL;
    last->next = NULL;
    *n_jobs = n;
    return first;
}

static int reserve_group(struct ward_writer *w, size_t n)
{
    if (n <= w->group_cap)
        return 0;
    size_t cap = w->group_cap ? w->group_cap : 64;
    while (cap < n)
        cap *= 2;
    struct ward_write *g = realloc(w->group, cap * sizeof(*g));
    if (!g)
        return -ENOMEM;
    w->group = g;
    w->group_cap = cap;
    return 0;
}

/* Writes a group of jobs in one transaction and completes each of them. */
static void write_group(struct ward_writer *w, struct ward_write_job *jobs, size_t n)
{
    int r = reserve_group(w, n);
    size_t i = 0;
    if (r == 0) {
        for (struct ward_write_job *j = jobs; j; j = j->next)
            w->group[i++] = j->w;
        r = ward_store_write(w->store, w->group, n);
    }
    if (r < 0)
        ward_log_error(NULL, "store write failed", "error", ward_strerror(r));

    uint64_t samples = 0, batches = 0, duplicates = 0, done_samples = 0;
    i = 0;
    for (struct ward_write_job *j = jobs; j; j = j->next, i++) {
        j->w.result = r < 0 ? r : w->group[i].result;
        done_samples += j->w.n;
        if (j->w.result == 0) {
            samples += j->w.n;
            batches++;
            if (w->cfg.latest &&
                ward_latest_update(w->cfg.latest, j->w.host_id, j->w.samples, j->w.n) < 0)
                ward_log_warn(NULL, "latest values not updated", "error", ward_strerror(-ENOMEM));
            if (w->cfg.on_commit)
                w->cfg.on_commit(w->cfg.on_commit_userdata, j->w.host_id, j->w.samples, j->w.n);
        } else if (j->w.result == 1) {
            duplicates++;
        }
    }

    pthread_mutex_lock(&w->lock);
    w->stats.queued_samples -= done_samples;
    w->stats.committed_samples += samples;
    w->stats.committed_batches += batches;
    w->stats.duplicate_batches += duplicates;
    if (r < 0)
        w->stats.failed_commits++;
    pthread_mutex_unlock(&w->lock);

    /* Completion may free the job (it belongs to its submitter): read next first. */
    for (struct ward_write_job *j = jobs, *next; j; j = next) {
        next = j->next;
        j->done(j);
    }
}

/* Runs one chunk of retention if it is due. Returns true when more is left to delete now. */
static bool prune_step(struct ward_writer *w)
{
    if (w->cfg.retention_ms <= 0)
        return false;
    int64_t now = ward_now_ms();
    if (ward_mono_ms() < w->next_prune_ms)
        return false;
    size_t deleted = 0;
    int r =
        ward_store_prune(w->store, now - w->cfg.retention_ms, WARD_WRITER_PRUNE_CHUNK, &deleted);
    w->pass_pruned += deleted;
    pthread_mutex_lock(&w->lock);
    w->stats.pruned_samples += deleted;
    pthread_mutex_unlock(&w->lock);
    if (r == 1)
        return true;
    if (r < 0) {
        ward_log_warn(NULL, "retention pass failed; will retry", "error", ward_strerror(r));
    } else if (w->pass_pruned > 0) {
        char n[24];
        snprintf(n, sizeof(n), "%" PRIu64, w->pass_pruned);
        ward_log_info(NULL, "retention pass done", "deleted_samples", n);
    }
    w->pass_pruned = 0;
    w->next_prune_ms = ward_mono_ms() + w->cfg.prune_every_ms;
    return false;
}

/* Waits until jobs are queued, the writer stops, or retention is due. */
static void wait_for_work(struct ward_writer *w)
{
    while (!w->head && !w->stopping) {
        if (w->cfg.retention_ms <= 0) {
            pthread_cond_wait(&w->wake, &w->lock);
            continue;
        }
        int64_t left = w->next_prune_ms - ward_mono_ms();
        if (left <= 0)
            return;
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += left / 1000;
        until.tv_nsec += (left % 1000) * 1000000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        if (pthread_cond_timedwait(&w->wake, &w->lock, &until) == ETIMEDOUT)
            return;
    }
}

static void *writer_main(void *arg)
{
    struct ward_writer *w = arg;
    bool prune_more = false;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        if (!prune_more)
            wait_for_work(w);
        if (!w->head && w->stopping)
            break;
        size_t n = 0;
        struct ward_write_job *jobs = w->head ? take_group(w, &n) : NULL;
        bool stopping = w->stopping;
        pthread_mutex_unlock(&w->lock);
        if (jobs)
            write_group(w, jobs, n);
        /* Retention yields to a shutdown: what is left is deleted after the restart. */
        prune_more = !stopping && prune_step(w);
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int ward_writer_start(struct ward_store *s, const struct ward_writer_config *cfg,
                      struct ward_writer **out)
{
    struct ward_writer *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->store = s;
    w->cfg = *cfg;
    if (!w->cfg.queue_samples)
        w->cfg.queue_samples = WARD_WRITER_DEFAULT_QUEUE;
    if (!w->cfg.group_samples)
        w->cfg.group_samples = WARD_WRITER_DEFAULT_GROUP;
    if (!w->cfg.prune_every_ms)
        w->cfg.prune_every_ms = WARD_WRITER_DEFAULT_PRUNE_EVERY;
    /* The first retention pass runs right after start: the server may have been down for long. */
    w->next_prune_ms = ward_mono_ms();
    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&w->wake, &attr);
    pthread_condattr_destroy(&attr);
    int r = -pthread_create(&w->thread, NULL, writer_main, w);
    if (r == 0)
        pthread_setname_np(w->thread, "ward-writer"); /* shows in top -H and perf */
    if (r < 0) {
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->lock);
        free(w);
        return r;
    }
    *out = w;
    return 0;
}

void ward_writer_stop(struct ward_writer *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    bool running = !w->stopping;
    w->stopping = true;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    if (running)
        pthread_join(w->thread, NULL);
}

void ward_writer_free(struct ward_writer *w)
{
    if (!w)
        return;
    ward_writer_stop(w);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    free(w->group);
    free(w);
}

int ward_writer_submit(struct ward_writer *w, struct ward_write_job *job)
{
    if (job->w.n > w->cfg.queue_samples)
        return WARD_E_LIMIT;
    pthread_mutex_lock(&w->lock);
    int r = 0;
    if (w->stopping) {
        r = -ESHUTDOWN;
    } else if (w->stats.queued_samples + job->w.n > w->cfg.queue_samples) {
        w->stats.rejected_jobs++;
        r = -EAGAIN;
    } else {
        job->next = NULL;
        if (w->tail)
            w->tail->next = job;
        else
            w->head = job;
        w->tail = job;
        w->stats.queued_samples += job->w.n;
        pthread_cond_signal(&w->wake);
    }
    pthread_mutex_unlock(&w->lock);
    return r;
}

/* A job and the means to wait for it, for ward_writer_write(). */
struct waiter {
    struct ward_write_job job;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
};

static void waiter_done(struct ward_write_job *job)
{
    struct waiter *wt = job->userdata;
    pthread_mutex_lock(&wt->lock);
    wt->done = true;
    pthread_cond_signal(&wt->cond);
    pthread_mutex_unlock(&wt->lock);
}

int ward_writer_write(struct ward_writer *w, const char *host_id,
                      const struct ward_batch_key *batch, const struct ward_sample *samples,
                      size_t n)
{
    struct waiter wt = {
        .job = {.w = {.host_id = host_id, .batch = batch, .samples = samples, .n = n},
                .done = waiter_done},
        .lock = PTHREAD_MUTEX_INITIALIZER,
        .cond = PTHREAD_COND_INITIALIZER,
    };
    wt.job.userdata = &wt;
    int r = ward_writer_submit(w, &wt.job);
    if (r == 0) {
        pthread_mutex_lock(&wt.lock);
        while (!wt.done)
            pthread_cond_wait(&wt.cond, &wt.lock);
        pthread_mutex_unlock(&wt.lock);
        r = wt.job.w.result;
    }
    pthread_cond_destroy(&wt.cond);
    pthread_mutex_destroy(&wt.lock);
    return r;
}

void ward_writer_stats(struct ward_writer *w, struct ward_writer_stats *out)
{
    pthread_mutex_lock(&w->lock);
    *out = w->stats;
    out->queue_capacity = w->cfg.queue_samples;
    pthread_mutex_unlock(&w->lock);
}
