/*
 * What the parts of wardctl share: the loaded options, the arguments of one
 * command, and the commands themselves.
 *
 * main.c loads the options, finds the command in its table, parses the
 * arguments after it into a struct ward_ctl_args and calls the command's
 * function. A command returns the exit status: 0 on success, 1 when the
 * server answered with an error or could not be reached, 2 for bad usage.
 */
#ifndef WARD_CTL_H
#define WARD_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit statuses of wardctl. */
enum {
    WARD_CTL_OK = 0,
    WARD_CTL_FAILED = 1,
    WARD_CTL_USAGE = 2,
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
    WARD_CTL_N_FLAGS,
};

/* Most positional arguments a command takes. */
#define WARD_CTL_MAX_ARGS 3

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

/* The commands, one function each (cmd-metrics.c, cmd-agents.c, cmd-admin.c). */
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

#endif
