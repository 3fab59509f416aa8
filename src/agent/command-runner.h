/*
 * The agent's command runner: a thread that long-polls ward-server for
 * diagnostic commands, runs each one through its typed diagnostic
 * (diagnostics/diagnostics.h) and posts the result back.
 *
 *   GET  /api/v1/agent/command?wait=30    200 a command, 204 none yet
 *   POST /api/v1/agent/command_result     {"id", "status", "exit_code", "output", ...}
 *
 * A command's arguments are checked again here (common/diag.h), whatever
 * the server did, and a diagnostic the configuration turns off is refused:
 * the refusal goes back as a failed result, so the admin sees why. One
 * command runs at a time. The thread has its own connection, so a
 * long-poll never delays an upload; stopping interrupts a long-poll at once.
 */
#ifndef WARD_COMMAND_RUNNER_H
#define WARD_COMMAND_RUNNER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/diag.h"

struct ward_runner_config {
    const char *address; /* the server: URL or HOST:PORT */
    const char *tls_ca;  /* PEM CA file, or NULL/"" for the system store */
    const char *api_key; /* NULL/"": none yet (the runner waits for ward_runner_set_api_key()) */
    const char *root;    /* read /proc and /sys under this prefix; "" for / */
    bool enabled;        /* false: every command is refused */
    bool allowed[WARD_DIAG_N];  /* per diagnostic, when enabled */
    int64_t run_timeout_ms;     /* longest run of one diagnostic */
    int64_t request_timeout_ms; /* one request, apart from the long-poll's wait */
    int64_t backoff_max_ms;     /* longest wait after a failed request */
};

struct ward_runner;

/*
 * Starts the runner's thread. Returns 0, or a negative error with a
 * message in err (-EINVAL for a bad address or key).
 */
int ward_runner_start(const struct ward_runner_config *cfg, struct ward_runner **out,
                      struct ward_buf *err);

/* Uses key (NULL or "": none) from the next request on. Thread-safe. Returns 0 or -EINVAL. */
int ward_runner_set_api_key(struct ward_runner *r, const char *key);

/*
 * Stops the thread and frees r. A long-poll is interrupted; a running
 * diagnostic ends as at its deadline where it waits on a child, the
 * network or a long walk (ping and connect end by their own timeouts, at
 * most 30 s), and its result is not sent. Accepts NULL.
 */
void ward_runner_stop(struct ward_runner *r);

#endif
