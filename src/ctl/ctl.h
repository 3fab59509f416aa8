/*
 * What the parts of wardctl share: the loaded options, the arguments of one
 * command, the commands themselves, and the few helpers that the
 * diagnostics commands in cmd-run.c and cmd-commands.c both use.
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

struct ward_json_reader;
struct ward_json_token;

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

/* The diagnostics commands: run (cmd-run.c); commands, commands show and audit (cmd-commands.c). */
int ward_ctl_run(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a);
int ward_ctl_commands_list(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a);
int ward_ctl_commands_show(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a);
int ward_ctl_audit(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a);

/* ---- Shared by cmd-run.c and cmd-commands.c ---- */

/* Room for one short field from the server, with its NUL: an id, a state, a time. */
#define WARD_CTL_FIELD_MAX 64

/*
 * The members of a command object (GET /api/v1/commands/ID) that wardctl
 * uses. A member that is absent or null stays empty (or false). Start
 * from {0}; free with ward_ctl_command_info_done().
 */
struct ward_ctl_command_info {
    char id[WARD_CTL_FIELD_MAX], host_id[WARD_CTL_FIELD_MAX], type[WARD_CTL_FIELD_MAX];
    char state[WARD_CTL_FIELD_MAX], created_at[WARD_CTL_FIELD_MAX];
    char dispatched_at[WARD_CTL_FIELD_MAX], finished_at[WARD_CTL_FIELD_MAX];
    bool has_exit_code;
    int64_t exit_code;
    bool truncated;
    struct ward_buf error;  /* control characters replaced */
    struct ward_buf output; /* as the server sent it */
};

/* Frees the buffers of ci and empties it, ready for another read. (cmd-commands.c) */
void ward_ctl_command_info_done(struct ward_ctl_command_info *ci);

/*
 * Reads the command object in body into *ci, which must be empty or done.
 * Returns 0; or, after printing "unexpected answer" and why to stderr, a
 * WARD_E_JSON_* code, -ENOMEM, WARD_E_LIMIT, or -EPROTO when the object
 * has no id or no state. *ci may hold part of the answer either way: the
 * caller frees it with ward_ctl_command_info_done(). (cmd-commands.c)
 */
int ward_ctl_read_command(const struct ward_buf *body, struct ward_ctl_command_info *ci);

/*
 * Prints a command's output to stdout: as it is when stdout is not a
 * terminal; on a terminal with control characters other than newline and
 * tab replaced, and a final newline. Prints nothing for empty output, and
 * "out of memory" to stderr when memory runs out. (cmd-commands.c)
 */
void ward_ctl_print_output(const struct ward_buf *output);

/*
 * Finds the id of the host named host and writes it into id: a host id
 * (a UUID) as it is, else the one host whose host name or given name is
 * host, looked up with GET /api/v1/hosts; with for_command, the one
 * active host among several of that name. Returns an exit status: id is
 * written only on WARD_CTL_OK; otherwise it has said why on stderr (no
 * such host, several with their ids, or the request's error). (cmd-run.c)
 */
int ward_ctl_resolve_host(const struct ward_ctl_config *cfg, const char *host, bool for_command,
                          char id[WARD_CTL_FIELD_MAX]);

/*
 * For a diagnostic name that common/diag.h does not know: prints the usage
 * error naming every diagnostic, as ward_ctl_usage() does, and returns
 * WARD_CTL_USAGE. (cmd-run.c)
 */
int ward_ctl_unknown_diagnostic(const char *name);

/*
 * Appends the part of --help about run to out: every diagnostic with its
 * arguments, their values and defaults (from common/diag.h), and what
 * run's exit status means. Returns 0, -ENOMEM or WARD_E_LIMIT.
 */
int ward_ctl_run_help(struct ward_buf *out);

#endif
