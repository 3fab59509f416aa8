/*
 * The store writer: one thread that commits every write, in groups.
 *
 * HTTP handlers never write to the store themselves. They hand a job to the
 * writer and are told when it is durable. The writer takes every job queued
 * since its last commit (up to a group size) and stores them in one
 * transaction (ward_store_write()), so many small requests share the cost of
 * one commit. Jobs complete in the order they were submitted.
 *
 * The queue is bounded in samples. A job that does not fit is refused at
 * once with -EAGAIN, so a flood of requests becomes 503 with Retry-After and
 * never unbounded memory. Between groups the writer also enforces retention:
 * every retention interval it deletes samples older than the retention
 * period, a bounded chunk per turn, so ingest is never stalled for long.
 *
 * After each commit the writer records the stored samples in the latest-value
 * table and passes them to the observer, if any (the live stream).
 */
#ifndef WARD_WRITER_H
#define WARD_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "server/latest.h"
#include "server/store/store.h"

struct ward_writer;

struct ward_writer_config {
    size_t queue_samples;       /* samples waiting at most; 0 = WARD_WRITER_DEFAULT_QUEUE */
    size_t group_samples;       /* samples per transaction at most; 0 = WARD_WRITER_DEFAULT_GROUP */
    int64_t retention_ms;       /* samples older than this are deleted; 0 = keep forever */
    int64_t prune_every_ms;     /* how often retention runs; 0 = WARD_WRITER_DEFAULT_PRUNE_EVERY */
    struct ward_latest *latest; /* updated after each commit; may be NULL */
    /*
     * Called on the writer thread with the samples of each batch it stored,
     * right after the commit (the live stream). It must not block. NULL for
     * none.
     */
    void (*on_commit)(void *userdata, const char *host_id, const struct ward_sample *v, size_t n);
    void *on_commit_userdata;
};

#define WARD_WRITER_DEFAULT_QUEUE       2000000
#define WARD_WRITER_DEFAULT_GROUP       200000
#define WARD_WRITER_DEFAULT_PRUNE_EVERY (10 * 60 * 1000)
#define WARD_WRITER_PRUNE_CHUNK         50000 /* rows deleted per transaction */

struct ward_write_job;

/*
 * Called on the writer thread once the job's batch is committed or failed
 * (job->w.result). It must not block; typically it resumes a suspended
 * request. The job stays owned by its submitter.
 */
typedef void (*ward_write_done_fn)(struct ward_write_job *job);

struct ward_write_job {
    struct ward_write w; /* the batch; w.result is set before done runs */
    ward_write_done_fn done;
    void *userdata;
    struct ward_write_job *next; /* private to the writer */
};

struct ward_writer_stats {
    size_t queued_samples; /* samples waiting now */
    size_t queue_capacity; /* the bound on queued_samples */
    uint64_t committed_samples;
    uint64_t committed_batches;
    uint64_t duplicate_batches;
    uint64_t rejected_jobs; /* refused because the queue was full */
    uint64_t failed_commits;
    uint64_t pruned_samples;
};

/* Starts the writer thread on store s. Returns 0 or a negative error. */
int ward_writer_start(struct ward_store *s, const struct ward_writer_config *cfg,
                      struct ward_writer **out);

/*
 * Stops accepting jobs, commits everything queued, runs the callbacks and
 * joins the thread. Later submits fail with -ESHUTDOWN, so threads that may
 * still submit can keep using w until ward_writer_free(). Accepts NULL; a
 * second call does nothing.
 */
void ward_writer_stop(struct ward_writer *w);

/* Stops the writer if it runs, then frees it. Accepts NULL. */
void ward_writer_free(struct ward_writer *w);

/*
 * Queues job. Returns 0 (done will run later, on the writer thread),
 * -EAGAIN when the queue has no room for its samples, or -ESHUTDOWN once
 * stopping. On an error done is not called. A job with more samples than the
 * whole queue is refused with WARD_E_LIMIT.
 */
int ward_writer_submit(struct ward_writer *w, struct ward_write_job *job);

/*
 * Submits one batch and waits for it: for callers on their own thread (the
 * golectra routes, restore at start). Returns 0 stored, 1 duplicate, or the
 * errors of ward_writer_submit() and of the write.
 */
int ward_writer_write(struct ward_writer *w, const char *host_id,
                      const struct ward_batch_key *batch, const struct ward_sample *samples,
                      size_t n);

void ward_writer_stats(struct ward_writer *w, struct ward_writer_stats *out);

#endif
