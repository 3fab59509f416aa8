/*
 * The settings of one bench-stream run, shared by its pieces: the paced
 * ingest (stream-ingest.c), the WebSocket clients of the stream
 * (stream-clients.c) and the program that parses them and reports
 * (bench-stream.c).
 */
#ifndef WARD_BENCH_STREAM_H
#define WARD_BENCH_STREAM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct ward_stream_options {
    const char *address; /* HOST:PORT, also sent as Host */
    struct sockaddr_storage addr;
    int clients;
    int agents;
    int batch; /* samples per request */
    int rate;  /* samples per second, all agents together */
    int64_t duration_ms;
    int64_t drain_ms;
    int server_pid;
    bool mixed;        /* every second client filters by one agent's server_id */
    int progress_s;    /* 0 = no interval lines */
    int level;         /* gzip level; 0 = plain JSON */
    const char *token; /* admin token: Bearer on ingest, auth message on the stream */
};

#endif
