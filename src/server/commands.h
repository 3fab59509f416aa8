/*
 * The live half of the command queue: requests that wait for something to
 * happen (an agent's long-poll for its next command, an admin's wait for a
 * result), and the timer that ends their wait and expires old commands.
 *
 * The queue itself is in the store (ward_store_command_*); this module
 * holds no command. A waiting request is suspended (ward_http_suspend()),
 * so it holds no HTTP thread: it sits on a list under a key (the agent's
 * host id, or a command id) until ward_commands_wake() names its key, its
 * deadline passes, or the server stops. One timer thread serves every
 * waiter, whatever their number, and ends a wait as soon as its client
 * hangs up.
 *
 * A wake that comes between a handler's look at the store and its call to
 * ward_commands_wait() is not lost: the handler reads the key's sequence
 * number (ward_commands_seq()) before it looks, and a wait whose sequence
 * number is stale ends at once, as with a futex.
 */
#ifndef WARD_COMMANDS_H
#define WARD_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/http/http.h"
#include "server/store/store.h"

/* Longest wait of a long-poll, in ms (GET /api/v1/agent/command, GET /api/v1/commands/{id}). */
#define WARD_COMMANDS_MAX_WAIT_MS 30000

struct ward_commands_config {
    int64_t result_timeout_ms; /* a dispatched command without a result expires after this */
    int64_t retention_ms;      /* finished commands are kept this long; the audit log 10 times it */
    size_t max_waiters;        /* requests waiting at once; one more is refused */
};

struct ward_commands;

/* Counters for GET /metrics. */
struct ward_commands_stats {
    uint64_t waiting;   /* requests waiting now */
    uint64_t woken;     /* waits ended by a wake */
    uint64_t timed_out; /* waits ended by their deadline */
    uint64_t refused;   /* waits refused: too many waiting */
    uint64_t replaced;  /* waits ended by a newer one on the same key */
    uint64_t gone;      /* waits ended because their client hung up */
    uint64_t expired;   /* commands expired by the sweep */
};

/* Why a wait ended, for the resume callback (ward_commands_resumed()). */
enum ward_wait_end {
    WARD_WAIT_WOKEN,    /* ward_commands_wake() named its key, or the sequence number was stale */
    WARD_WAIT_TIMEOUT,  /* its deadline passed */
    WARD_WAIT_STOPPING, /* the server is stopping */
    WARD_WAIT_REPLACED, /* a newer exclusive wait on its key took its place */
    WARD_WAIT_GONE,     /* its client hung up: nobody reads the answer */
};

/*
 * Starts the timer thread, which also expires commands in store every
 * second and prunes old ones. Returns 0, -EINVAL or -ENOMEM, or a
 * pthread error.
 */
int ward_commands_new(const struct ward_commands_config *cfg, struct ward_store *store,
                      struct ward_commands **out);

/*
 * Ends every wait (WARD_WAIT_STOPPING) and makes later waits fail with
 * -ESHUTDOWN, so a graceful stop does not wait for long-polls. Idempotent.
 */
void ward_commands_release(struct ward_commands *c);

/* Releases every waiter, stops the timer thread and frees c. Accepts NULL. */
void ward_commands_free(struct ward_commands *c);

/* The sequence number of key, to pass to ward_commands_wait(). */
uint64_t ward_commands_seq(struct ward_commands *c, const char *key);

/*
 * Suspends req until key is woken, deadline_ms (monotonic) passes, or the
 * server stops; then resume runs on an HTTP thread and must call
 * ward_commands_resumed() first. When the sequence number of key is no
 * longer seq, the wait ends at once as woken. An exclusive wait ends the
 * other waits on its key (WARD_WAIT_REPLACED): an agent waits once, so one
 * key cannot hold many slots. Returns 0 when req was suspended (the
 * handler returns without responding), WARD_E_LIMIT when max_waiters wait
 * already, or -ESHUTDOWN after ward_commands_release(); then req is not
 * suspended and the caller answers it.
 */
int ward_commands_wait(struct ward_commands *c, struct ward_http_request *req, const char *key,
                       uint64_t seq, int64_t deadline_ms, bool exclusive,
                       ward_http_handler_fn resume);

/*
 * In the resume callback of a wait: says why it ended, writes its deadline
 * to *deadline_ms (may be NULL) and frees what the wait held.
 */
enum ward_wait_end ward_commands_resumed(struct ward_http_request *req, int64_t *deadline_ms);

/* Ends the waits on key and moves its sequence number on. */
void ward_commands_wake(struct ward_commands *c, const char *key);

void ward_commands_stats(struct ward_commands *c, struct ward_commands_stats *out);

#endif
