/*
 * The agent's spool: sealed batches on disk until every output took them.
 *
 * A spool is one SQLite database in WAL mode. Each row is one sealed batch
 * (its gzip-compressed wire JSON, its (boot, seq) and its sample count) and
 * a bit mask of the outputs that still have to deliver it; a row goes when
 * the last of them has. Rows are numbered in the order they were appended,
 * and numbers are never reused, so "the oldest batch after number N" is a
 * cursor each output can keep on its own.
 *
 * The spool is bounded in bytes. A row costs its body rounded up to whole
 * database pages, which is what it takes on disk; when an append would go
 * past the budget, the oldest rows are dropped first, in the same
 * transaction, and their samples are added to a drop counter that is kept
 * in the database too, so it is exact across restarts. A batch larger than
 * the whole budget is dropped and counted itself. A disk that fills up
 * before the cap is met the same way: the oldest rows make room for the
 * new one, and only when that fails is the new batch dropped (and counted).
 *
 * A spool that cannot be opened or fails SQLite's quick check (a truncated
 * file, junk bytes) is moved aside to PATH.corrupt, replacing an older one,
 * and a fresh spool is started: the agent keeps collecting, and the
 * recovery is counted and reported. Corruption found later, by a read or a
 * write, is handled the same way.
 *
 * Calls are serialised by a lock, so the spool may be shared by threads.
 */
#ifndef WARD_SPOOL_H
#define WARD_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* Outputs a batch may be pending for; a row's mask is a set of these. */
#define WARD_SPOOL_SERVER 1u
#define WARD_SPOOL_VM     2u

/* Smallest spool the agent accepts, in bytes. */
#define WARD_SPOOL_MIN_BYTES (1 << 20)

struct ward_spool;

/* One spooled batch, as ward_spool_next() returns it. */
struct ward_spool_batch {
    int64_t id; /* position in the spool: larger is newer */
    int64_t boot, seq;
    int64_t samples;
    struct ward_buf body; /* gzip-compressed wire JSON */
};

struct ward_spool_stats {
    int64_t rows;             /* batches held */
    int64_t samples;          /* samples held */
    int64_t bytes;            /* what the rows cost against the cap */
    int64_t budget;           /* bytes the rows may cost */
    uint64_t dropped_samples; /* dropped to stay within the cap, ever */
    uint64_t dropped_batches;
    uint64_t dead_samples; /* refused by an output and given up on, ever */
    uint64_t dead_batches;
    uint64_t recovered; /* corrupt spools moved aside by this process */
};

/*
 * Opens or creates the spool at path, holding at most max_bytes on disk
 * (database, WAL and shared memory together, give or take a batch), for
 * the outputs in the mask `outputs` (new rows are pending for all of them).
 * A corrupt spool is moved aside first. Returns 0, or a negative error with
 * a message in err.
 */
int ward_spool_open(const char *path, int64_t max_bytes, unsigned outputs, struct ward_spool **out,
                    struct ward_buf *err);

/* Closes the spool. Accepts NULL. */
void ward_spool_close(struct ward_spool *s);

/*
 * Appends a sealed batch of n_samples samples, dropping the oldest rows as
 * the cap needs. Returns 0, or a negative error (the batch is then lost and
 * counted as dropped).
 */
int ward_spool_append(struct ward_spool *s, int64_t boot, int64_t seq, int64_t n_samples,
                      const void *body, size_t len);

/*
 * Reads the oldest batch after id `after` that output still has to
 * deliver into *b (whose body buffer is reused). Returns 1 when there is
 * one, 0 when there is none, or a negative error.
 */
int ward_spool_next(struct ward_spool *s, unsigned output, int64_t after,
                    struct ward_spool_batch *b);

/* Records that output delivered batch id; the row goes once no output needs it. */
int ward_spool_delivered(struct ward_spool *s, unsigned output, int64_t id);

/* Gives up on batch id for output, counting its samples as dead letters. */
int ward_spool_dead(struct ward_spool *s, unsigned output, int64_t id);

/*
 * Counts n_samples that never reached the spool (a batch that could not be
 * encoded) as dropped; saved with the next append.
 */
void ward_spool_lost(struct ward_spool *s, int64_t n_samples);

/* Copies the spool's figures. */
void ward_spool_stats(struct ward_spool *s, struct ward_spool_stats *out);

/* The file a corrupt spool was last moved to by this process, or "" when none. */
const char *ward_spool_moved_to(struct ward_spool *s);

#endif
