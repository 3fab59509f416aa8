/*
 * The event loop of bench-commands: one epoll thread that holds every
 * connection of the measured side, all non-blocking: a keep-alive
 * long-poll per agent, the admin connections that queue commands on a
 * fixed schedule, and the pool that posts the result of each delivered
 * command. It files each command's delivery latency, and what the main
 * thread reports once it has been joined.
 */
#ifndef WARD_BENCH_COMMANDS_LOOP_H
#define WARD_BENCH_COMMANDS_LOOP_H

#include "commands-setup.h"

#include "common/buf.h"
#include "common/uuid.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_ADMINS    32
#define MAX_RESULTERS 64
#define MAX_EARLY     4096 /* deliveries whose 201 has not come yet */

enum conn_kind {
    CONN_POLL,
    CONN_ADMIN,
    CONN_RESULT,
};

/* One non-blocking connection of the loop, with at most one request in flight. */
struct conn {
    enum conn_kind kind;
    int idx; /* the agent of a poll; the slot of an admin or result connection */
    int fd;  /* -1 while closed */
    bool connecting, busy, writing, closing;
    bool answered; /* a poll: it has had an answer (its server-side memory is in use) */
    struct ward_buf in, out;
    size_t out_off;
    int64_t sent_ns;  /* when the request in flight was written */
    int64_t retry_ns; /* when to connect (or poll) again; 0 = not waiting for that */
    int cmd;          /* the command of an admin's or a result's request in flight */
};

/* A queued command, from its POST to its result. */
struct command {
    char id[WARD_UUID_STR_LEN];
    int agent;
    int64_t sent_ns, delivered_ns; /* delivered_ns: also before the 201 came */
    bool delivered;
};

/* A delivery that came before the 201 of its command. */
struct early {
    char id[WARD_UUID_STR_LEN];
    int agent;
    int64_t at_ns;
};

struct counts {
    uint64_t polls, answers200, answers204, posted, created, delivered, results_ok;
    uint64_t poll_errors, admin_errors, result_errors, closed_busy, closed_idle, connect_failed;
    uint64_t proto_errors, unknown_ids, wrong_agent, duplicates, late_posts, unsent;
    unsigned bad_status;
    char bad_body[160];
};

enum phase {
    PHASE_POLL,
    PHASE_MEASURE,
    PHASE_STOP,
};

struct bench {
    const struct options *o;
    const struct agent *agents;
    struct conn *polls;
    struct conn admins[MAX_ADMINS], results[MAX_RESULTERS];
    int epfd;
    int next_connect, connecting, n_retry, answered;
    struct command *cmds;
    size_t cap_cmds, n_cmds;
    uint32_t *index; /* open addressing by command id: slot -> command + 1 */
    size_t index_mask;
    struct early early[MAX_EARLY];
    size_t n_early;
    int *queue; /* commands whose result is due, a ring of cap_cmds */
    size_t q_head, q_len;
    uint64_t rng;
    int64_t *lat_ns, *post_ns;
    size_t n_lat, n_post;
    struct counts c;
    int64_t start_ns, end_ns, done_ns, first204_ns, last204_ns, max_lag_ns;
    atomic_int phase;
    atomic_int polls_started; /* agents whose first poll went out */
    atomic_bool done;         /* the measured phase and its drain are over */
    atomic_bool failed;       /* the loop could not run */
};

/*
 * Sets up b (zeroed here; large, so not on a stack) for the run of o with
 * agents, which must outlive b: its connections, room for every command
 * of the phase and the epoll instance. Returns 0 or -ENOMEM; either way
 * ward_cmdbench_done() frees b.
 */
int ward_cmdbench_init(struct bench *b, const struct options *o, const struct agent *agents);

/* Frees what b holds; after the loop thread has been joined. */
void ward_cmdbench_done(struct bench *b);

/*
 * The loop thread (arg is the bench): connects every connection, keeps the
 * agents polling, queues the commands of the measured phase once phase is
 * PHASE_MEASURE and sets done after its drain, and closes everything when
 * phase is PHASE_STOP. Always returns NULL; failed is set if it could not
 * run.
 */
void *ward_cmdbench_loop_main(void *arg);

#endif
