/*
 * The WebSocket clients of bench-stream: N clients of GET /api/v1/stream on
 * one thread, which count the samples each metrics message carries and file
 * the latency of each (the wall clock at arrival minus its timestamp) in a
 * histogram, one for unfiltered clients and one for filtered ones.
 */
#ifndef WARD_BENCH_STREAM_CLIENTS_H
#define WARD_BENCH_STREAM_CLIENTS_H

#include "bench-stream.h"
#include "latency.h"
#include "stream-ingest.h"
#include "ws-client.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * One client. The clients' thread owns it; samples may be read at any
 * time, every other figure once the thread has been joined.
 */
struct ward_stream_client {
    struct ward_ws_client ws; /* first: the loop hands this back */
    int idx;
    int agent; /* whose server_id it filters by; -1 = none */
    bool ready;
    _Atomic uint64_t samples;
    uint64_t messages, bytes, error_messages, bad_timestamps;
    char last_ts[32]; /* the last timestamp converted, and its value */
    size_t last_ts_len;
    int64_t last_ts_ms;
};

/* The clients, their loop, and what they file. */
struct ward_stream_hub {
    struct ward_ws_loop loop; /* first: the handler gets this back */
    const struct ward_stream_options *opt;
    const struct ward_stream_agent *agents; /* for the server_id of a filtered client */
    struct ward_stream_client *clients;     /* opt->clients of them */
    atomic_int ready;                       /* clients that got their "ready" message */
    atomic_bool stop;                       /* set to make the thread close and return */
    struct ward_latency_hist hist[2];       /* [0] unfiltered clients, [1] filtered ones */
};

/*
 * Sets up h (zeroed by the caller, about 1 MB, so not on a stack) for the
 * clients of o in clients (zeroed, o->clients of them): in mixed mode every
 * second one filters by the server_id of one of agents. Returns 0 or -errno.
 */
int ward_stream_hub_init(struct ward_stream_hub *h, const struct ward_stream_options *o,
                         const struct ward_stream_agent *agents,
                         struct ward_stream_client *clients);

/* Frees what h and its clients hold; after the thread has been joined. */
void ward_stream_hub_done(struct ward_stream_hub *h);

/*
 * The clients' thread (arg is the hub): connects every client, runs until
 * stop is set, then closes them and waits a moment for the server's close
 * frames. Always returns NULL; a client's failure is left in its ws.failure.
 */
void *ward_stream_clients_main(void *arg);

#endif
