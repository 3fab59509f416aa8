/*
 * The simulated agents of bench-stream: threads that post batches of
 * samples to POST /api/v1/ingest on a fixed schedule, one keep-alive
 * connection each, so that together they send a set rate. Each sample's
 * timestamp is the wall clock when its batch is built, which is what the
 * stream clients measure their latency against.
 */
#ifndef WARD_BENCH_STREAM_INGEST_H
#define WARD_BENCH_STREAM_INGEST_H

#include "bench-stream.h"

#include "common/buf.h"
#include "common/uuid.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Answers are counted by status below this; anything else is counted at 0. */
#define WARD_STREAM_MAX_STATUS 600

/* The schedule the agents share with the thread that starts and watches them. */
struct ward_stream_pace {
    pthread_barrier_t go;          /* every agent and the starting thread */
    int64_t start_ns, deadline_ns; /* CLOCK_MONOTONIC; written before go */
    atomic_int done;               /* agents that have finished */
    /* The slowest answer to a request (us) since the last progress line reset it. */
    _Atomic int64_t interval_post_us;
};

struct ward_stream_series;

/*
 * One agent. Its thread owns it while it runs; sent and acked may be read
 * at any time, every other figure once the thread has been joined.
 */
struct ward_stream_agent {
    const struct ward_stream_options *opt;
    struct ward_stream_pace *pace;
    int idx;
    char id[WARD_UUID_STR_LEN]; /* its server_id */
    int fd;                     /* the connection; -1 between connections */
    uint64_t rng;
    struct ward_stream_series *series; /* opt->batch of them */
    int64_t boot, last_ts;
    struct ward_buf json, gz, req, in;
    _Atomic uint64_t sent, acked; /* samples */
    uint64_t requests, late, conn_errors;
    uint32_t status[WARD_STREAM_MAX_STATUS];
    int64_t *post_us; /* latency of each answered request, up to cap_post */
    size_t n_post, cap_post;
    int error; /* why the agent stopped early, or 0 */
    char what[160];
};

/*
 * Sets up agent idx of o in a: its server_id, its series and its first
 * connection to o->addr, with room for the latencies of cap_post requests.
 * Returns 0 or -errno; either way ward_stream_agent_done() frees a.
 */
int ward_stream_agent_init(struct ward_stream_agent *a, const struct ward_stream_options *o,
                           struct ward_stream_pace *pace, int idx, size_t cap_post);

/* Closes a's connection and frees what it holds; a may be NULL. */
void ward_stream_agent_done(struct ward_stream_agent *a);

/*
 * The thread of agent arg (a struct ward_stream_agent): waits on pace->go,
 * then sends its batches until pace->deadline_ns, and counts itself in
 * pace->done. Always returns NULL; a failure is left in error and what.
 */
void *ward_stream_agent_main(void *arg);

/* Sleeps until t, CLOCK_MONOTONIC nanoseconds, through interruptions. */
void ward_sleep_until_ns(int64_t t);

#endif
