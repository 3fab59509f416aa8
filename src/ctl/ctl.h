/*
 * What the parts of wardctl share: the loaded options, the arguments of one
 * command, and the commands themselves.
 *
 * main.c loads the options, finds the command in its table, parses the
 * arguments after it into a struct ward_ctl_args and calls the command's
 * function. A command returns the exit status: 0 on success, 1 when the
 * server answered with an error or could not be reached, 2 for bad usage,
 * and 3 when run --wait saw its command expire or stopped waiting for it.
 */
#ifndef WARD_CTL_H
#define WARD_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* Exit statuses of wardctl. */
enum {
    WARD_CTL_OK = 0,
    WARD_CTL_FAILED = 1,
    WARD_CTL_USAGE = 2,
    WARD_CTL_TIMED_OUT = 3, /* run --wait: the command expired, or the wait ran out */
};

/* The options of wardctl (main.c's option table). */
struct ward_ctl_config {
    char *server;
    char *token; /* admin token, or NULL; never printed */
    char *from;
    char *to;
    int64_t limit;
    int64_t timeout_ms;
    bool json;
};

/* The options a command may take after its name; main.c names them. */
enum ward_ctl_flag {
    WARD_CTL_FLAG_SECTION,
    WARD_CTL_FLAG_NAME,
    WARD_CTL_FLAG_TENANT,
    WARD_CTL_FLAG_CLAIM_TOKEN_FILE,
    WARD_CTL_FLAG_PURGE,
    WARD_CTL_FLAG_WAIT,
    WARD_CTL_FLAG_WAIT_TIMEOUT, /* --timeout after run: how long --wait waits */
    WARD_CTL_FLAG_TTL,
    WARD_CTL_FLAG_HOST,
    WARD_CTL_FLAG_COMMAND,
    WARD_CTL_FLAG_STATE,
    WARD_CTL_FLAG_TYPE,
    WARD_CTL_FLAG_LIMIT,
    WARD_CTL_N_FLAGS,
};

/* Most positional arguments a command takes: run's HOST DIAGNOSTIC and its arguments. */
#define WARD_CTL_MAX_ARGS 8

/* The arguments after a command's name, borrowed from argv. */
struct ward_ctl_args {
    const char *arg[WARD_CTL_MAX_ARGS];
    size_t n;
    const char *flag[WARD_CTL_N_FLAGS]; /* the value, "" for a flag without one, NULL if absent */
};

/*
 * For a command that finds its arguments wrong: prints "wardctl: WHY" and
 * the usage line of the running command to stderr, and returns
 * WARD_CTL_USAGE.
 */
int ward_ctl_usage(const char *why);

/* The commands, one function each (cmd-metrics.c, cmd-agents.c, cmd-admin.c, cmd-config.c). */
typedef int (*ward_ctl_command_fn)(const struct ward_ctl_config *cfg,
                                   const struct ward_ctl_args *a);

int ward_ctl_health(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a);
int ward_ctl_query(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a);

int ward_ctl_agents_list(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a);
int ward_ctl_agents_show(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a);
int ward_ctl_agents_claim(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a);
int ward_ctl_agents_delete(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a);
int ward_ctl_agents_rotate_key(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a);
int ward_ctl_agents_revoke_key(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a);

int ward_ctl_tokens_list(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a);
int ward_ctl_tokens_create(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a);
int ward_ctl_tokens_revoke(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a);
int ward_ctl_tenants_list(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a);
int ward_ctl_tenants_create(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a);
int ward_ctl_sections_list(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a);
int ward_ctl_sections_create(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a);
int ward_ctl_config_get(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a);
int ward_ctl_config_set(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a);

/* The diagnostics commands (cmd-run.c). */
int ward_ctl_run(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a);
int ward_ctl_commands_list(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a);
int ward_ctl_commands_show(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a);
int ward_ctl_audit(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a);

/*
 * Appends the part of --help about run to out: every diagnostic with its
 * arguments, their values and defaults (from common/diag.h), and what
 * run's exit status means. Returns 0, -ENOMEM or WARD_E_LIMIT.
 */
int ward_ctl_run_help(struct ward_buf *out);

#endif
