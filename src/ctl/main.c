/*
 * wardctl: administers a running ward-server from a shell.
 *
 *   wardctl [OPTION]... COMMAND [ARG]...
 *
 * Options before the command are the program's options (option table
 * below: flags, environment, configuration file). The command is one or
 * two words looked up in one table, which also yields --help and every
 * usage message; the arguments after it are parsed here against what that
 * table entry accepts, so a command function only gets arguments that fit.
 * A one-word command may share its word with a group ("commands" lists,
 * "commands show ID" shows one): the two-word entry wins when its second
 * word is given.
 *
 * Nearly every command is one HTTP request to the server's API and one
 * rendering of the answer: a table for people, or the raw JSON with --json
 * for scripts (http.c, table.c, cmd-*.c); run --wait polls until its
 * command is finished (cmd-run.c). The exit status is 0 on success, 1 when
 * the server answered with an error or could not be reached, 2 for bad
 * usage, and 3 when run --wait saw its command expire or stopped waiting.
 */
#include "ctl/ctl.h"

#include "common/buf.h"
#include "common/config.h"
#include "common/diag.h"
#include "ward-version.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* One option; a trailing argument may add a field such as .choices. */
#define OPT(name_, short_, env_, type_, field, def_, min_, max_, metavar_, help_, ...)             \
    {                                                                                              \
        .name = name_, .short_name = short_, .env = env_, .type = type_,                           \
        .offset = offsetof(struct ward_ctl_config, field), .def = def_, .min = min_, .max = max_,  \
        .metavar = metavar_, .help = help_, __VA_ARGS__                                            \
    }

static const struct ward_option options[] = {
    OPT("server", 's', "WARD_SERVER", WARD_OPT_STRING, server, "http://localhost:8080", 0, 0, "URL",
        "ward-server base URL"),
    OPT("token", 't', "WARD_TOKEN", WARD_OPT_STRING, token, NULL, 0, 0, "TOKEN",
        "admin token; WARD_TOKEN is safer, ps shows flags"),
    OPT("from", 0, NULL, WARD_OPT_STRING, from, NULL, 0, 0, "TIME",
        "query: start, RFC 3339 or Unix ms (default: an hour before --to)"),
    OPT("to", 0, NULL, WARD_OPT_STRING, to, NULL, 0, 0, "TIME", "query: end (default: now)"),
    OPT("limit", 'n', NULL, WARD_OPT_INT, limit, "20", 1, 100000, "N",
        "query, commands, audit: most rows shown"),
    OPT("timeout", 0, "WARD_TIMEOUT", WARD_OPT_DURATION, timeout_ms, "10s", 100, 600000, "DURATION",
        "time limit of a request (after run, --timeout is how long --wait waits)"),
    OPT("json", 'j', NULL, WARD_OPT_BOOL, json, "false", 0, 0, NULL,
        "print the server's JSON (also accepted after the command)"),
};

/* The options a command may take after its name. */
static const struct {
    const char *name;
    const char *metavar; /* NULL for a flag without a value */
} flags[WARD_CTL_N_FLAGS] = {
    [WARD_CTL_FLAG_SECTION] = {"section", "SECTION_ID"},
    [WARD_CTL_FLAG_NAME] = {"name", "NAME"},
    [WARD_CTL_FLAG_TENANT] = {"tenant", "TENANT_ID"},
    [WARD_CTL_FLAG_CLAIM_TOKEN_FILE] = {"claim-token-file", "PATH"},
    [WARD_CTL_FLAG_PURGE] = {"purge", NULL},
    [WARD_CTL_FLAG_WAIT] = {"wait", NULL},
    [WARD_CTL_FLAG_WAIT_TIMEOUT] = {"timeout", "DURATION"},
    [WARD_CTL_FLAG_TTL] = {"ttl", "DURATION"},
    [WARD_CTL_FLAG_HOST] = {"host", "HOST"},
    [WARD_CTL_FLAG_COMMAND] = {"command", "ID"},
    [WARD_CTL_FLAG_STATE] = {"state", "STATE"},
    [WARD_CTL_FLAG_TYPE] = {"type", "DIAGNOSTIC"},
    [WARD_CTL_FLAG_LIMIT] = {"limit", "N"},
};

_Static_assert(WARD_CTL_N_FLAGS <= 32, "a command's flags are bits of an unsigned");
_Static_assert(2 + WARD_DIAG_MAX_ARGS <= WARD_CTL_MAX_ARGS,
               "run takes every argument of a diagnostic");

#define FLAG(f) (1u << WARD_CTL_FLAG_##f)

struct command {
    const char *group; /* first word, or NULL for a one-word command */
    const char *name;
    const char *args; /* positional arguments for the usage line */
    size_t min_args, max_args;
    unsigned flags; /* FLAG() bits accepted after the name */
    ward_ctl_command_fn run;
    const char *help;
};

static const struct command commands[] = {
    {NULL, "health", "", 0, 0, 0, ward_ctl_health, "whether the server is up (sends no token)"},
    {NULL, "query", "SERVER_ID [METRIC_TYPE [METRIC_NAME]]", 1, 3, 0, ward_ctl_query,
     "samples of a host (--from, --to, --limit)"},
    {"agents", "list", "", 0, 0, 0, ward_ctl_agents_list, "the hosts and their state"},
    {"agents", "show", "ID", 1, 1, 0, ward_ctl_agents_show, "every field of one host"},
    {"agents", "claim", "ID [CLAIM_TOKEN]", 1, 2,
     FLAG(SECTION) | FLAG(NAME) | FLAG(CLAIM_TOKEN_FILE), ward_ctl_agents_claim,
     "claim an agent with the token it shows"},
    {"agents", "delete", "ID", 1, 1, FLAG(PURGE), ward_ctl_agents_delete,
     "deregister a host; --purge deletes its data"},
    {"agents", "rotate-key", "ID", 1, 1, 0, ward_ctl_agents_rotate_key,
     "give a host a new key (the agent fetches it)"},
    {"agents", "revoke-key", "ID", 1, 1, 0, ward_ctl_agents_revoke_key,
     "take a host's key; it must be claimed again"},
    {"tokens", "list", "", 0, 0, 0, ward_ctl_tokens_list, "the admin tokens"},
    {"tokens", "create", "NAME", 1, 1, FLAG(TENANT), ward_ctl_tokens_create,
     "make an admin token (it is shown once)"},
    {"tokens", "revoke", "ID", 1, 1, 0, ward_ctl_tokens_revoke, "revoke an admin token"},
    {"tenants", "list", "", 0, 0, 0, ward_ctl_tenants_list, "the tenants"},
    {"tenants", "create", "NAME", 1, 1, 0, ward_ctl_tenants_create, "make a tenant"},
    {"sections", "list", "", 0, 0, 0, ward_ctl_sections_list, "the sections"},
    {"sections", "create", "NAME", 1, 1, FLAG(TENANT), ward_ctl_sections_create,
     "make a section (default tenant unless --tenant)"},
    {"config", "get", "agent|section ID", 2, 2, 0, ward_ctl_config_get,
     "the stored configuration document"},
    {"config", "set", "agent|section ID FILE", 3, 3, 0, ward_ctl_config_set,
     "store a configuration document (FILE, or - for stdin)"},
    {NULL, "run", "HOST DIAGNOSTIC [NAME=VALUE]...", 2, 2 + WARD_DIAG_MAX_ARGS,
     FLAG(WAIT) | FLAG(WAIT_TIMEOUT) | FLAG(TTL), ward_ctl_run,
     "run a diagnostic on a host (see Diagnostics below)"},
    {NULL, "commands", "", 0, 0, FLAG(HOST) | FLAG(STATE) | FLAG(TYPE) | FLAG(LIMIT),
     ward_ctl_commands_list, "the diagnostic commands, newest first"},
    {"commands", "show", "ID", 1, 1, 0, ward_ctl_commands_show, "one command with its output"},
    {NULL, "audit", "", 0, 0, FLAG(HOST) | FLAG(COMMAND) | FLAG(LIMIT), ward_ctl_audit,
     "who queued which diagnostic, and what came back"},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* Usage lines wider than this put their help on the next line in --help. */
#define HELP_COLUMN 34

/* The command being run, for ward_ctl_usage(). */
static const struct command *running;

/* Appends "[GROUP ]NAME[ ARGS][ [--flag VALUE]]..." to out. */
static void put_usage(struct ward_buf *out, const struct command *c)
{
    ward_buf_printf(out, "%s%s%s%s%s", c->group ? c->group : "", c->group ? " " : "", c->name,
                    *c->args ? " " : "", c->args);
    for (size_t f = 0; f < WARD_CTL_N_FLAGS; f++)
        if (c->flags & (1u << f))
            ward_buf_printf(out, " [--%s%s%s]", flags[f].name, flags[f].metavar ? " " : "",
                            flags[f].metavar ? flags[f].metavar : "");
}

int ward_ctl_usage(const char *why)
{
    struct ward_buf line = WARD_BUF_INIT;
    if (running)
        put_usage(&line, running);
    fprintf(stderr, "wardctl: %s\n", why);
    if (line.data)
        fprintf(stderr, "usage: wardctl [OPTION]... %s\n", line.data);
    else
        fprintf(stderr, "see wardctl --help\n");
    ward_buf_done(&line);
    return WARD_CTL_USAGE;
}

/* Builds the summary of --help: the commands, then what they share. */
static int build_summary(struct ward_buf *out)
{
    struct ward_buf line = WARD_BUF_INIT;
    ward_buf_puts(out, "Administers a ward-server.\n\nCommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++) {
        ward_buf_reset(&line);
        put_usage(&line, &commands[i]);
        const char *usage = line.data ? line.data : "";
        if (line.len + 2 <= HELP_COLUMN)
            ward_buf_printf(out, "  %-*s  %s\n", HELP_COLUMN - 2, usage, commands[i].help);
        else
            ward_buf_printf(out, "  %s\n  %-*s  %s\n", usage, HELP_COLUMN - 2, "",
                            commands[i].help);
    }
    ward_buf_done(&line);
    int e = ward_buf_puts(out,
                          "\nEvery command but health sends the admin token (--token or WARD_TOKEN)"
                          " as\n\"Authorization: Bearer\". Answers print as tables; --json prints"
                          " the server's JSON.\nExit status: 0 success, 1 the server refused or"
                          " could not be reached, 2 bad usage,\n3 run --wait: the command expired"
                          " or --timeout passed (see below).\n\n");
    return e < 0 ? e : ward_ctl_run_help(out);
}

/* Appends the names of the commands of group (NULL: the first words) to out, comma-separated. */
static void put_names(struct ward_buf *out, const char *group)
{
    for (size_t i = 0; i < N_COMMANDS; i++) {
        const struct command *c = &commands[i];
        const char *word = group ? c->name : c->group ? c->group : c->name;
        bool dup = false;
        for (size_t j = 0; !group && j < i; j++)
            dup |= strcmp(word, commands[j].group ? commands[j].group : commands[j].name) == 0;
        if ((group && (!c->group || strcmp(c->group, group) != 0)) || dup)
            continue;
        ward_buf_printf(out, "%s%s", out->len ? ", " : "", word);
    }
}

/*
 * Finds the command named by argv; *words says how many words named it.
 * Prints why not. A two-word command wins over a one-word one of the same
 * first word; a second word that is neither an option nor a command of the
 * group is an unknown command when the one-word command takes no
 * arguments.
 */
static const struct command *find_command(int argc, char **argv, int *words)
{
    struct ward_buf names = WARD_BUF_INIT;
    const struct command *found = NULL, *single = NULL;
    bool group = false;
    for (size_t i = 0; i < N_COMMANDS && !found; i++) {
        const struct command *c = &commands[i];
        if (!c->group && strcmp(c->name, argv[0]) == 0)
            single = c;
        else if (c->group && strcmp(c->group, argv[0]) == 0 && (group = true) && argc > 1 &&
                 strcmp(c->name, argv[1]) == 0)
            found = c, *words = 2;
    }
    if (!found && single && !(group && argc > 1 && argv[1][0] != '-' && single->max_args == 0))
        found = single, *words = 1;
    if (!found && group && argc > 1) {
        fprintf(stderr, "wardctl: unknown command '%s %s'; see --help\n", argv[0], argv[1]);
    } else if (!found && group) {
        put_names(&names, argv[0]);
        fprintf(stderr, "wardctl: '%s' needs a command: %s\n", argv[0],
                names.data ? names.data : "");
    } else if (!found) {
        put_names(&names, NULL);
        fprintf(stderr, "wardctl: unknown command '%s'; commands: %s (see --help)\n", argv[0],
                names.data ? names.data : "");
    }
    ward_buf_done(&names);
    return found;
}

/*
 * Says what is wrong with the unknown option --NAME (n bytes) after command
 * c. Only a name wardctl knows is echoed: anything else may be a secret.
 */
static int unknown_option(const struct command *c, const char *name, size_t n)
{
    char why[96];
    for (size_t f = 0; f < WARD_CTL_N_FLAGS; f++)
        if (strlen(flags[f].name) == n && memcmp(name, flags[f].name, n) == 0) {
            snprintf(why, sizeof(why), "--%s is not an option of %s%s%s", flags[f].name,
                     c->group ? c->group : "", c->group ? " " : "", c->name);
            return ward_ctl_usage(why);
        }
    if (strcmp(c->name, "run") == 0 && !c->group)
        return ward_ctl_usage("unknown option (a diagnostic's arguments go as NAME=VALUE, "
                              "such as count=3)");
    return ward_ctl_usage("unknown option (an argument that starts with '--' goes after a "
                          "lone '--')");
}

/*
 * Parses the arguments after the command's name into a; may set cfg->json.
 * Options are long (--name, --name=VALUE, --name VALUE) apart from -j, so
 * any other word starting with a single '-' is an argument: a claim token
 * may start with one. An unknown option is not echoed, since it may be a
 * secret given in the wrong place; the usage line shows what is accepted.
 */
static int parse_args(const struct command *c, int argc, char **argv, struct ward_ctl_args *a,
                      struct ward_ctl_config *cfg)
{
    bool positional_only = false;
    char why[80];
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        bool option = s[0] == '-' && s[1] == '-' && s[2] != '\0';
        if (positional_only || (!option && strcmp(s, "-j") != 0 && strcmp(s, "--") != 0)) {
            if (a->n == c->max_args)
                return ward_ctl_usage("too many arguments");
            a->arg[a->n++] = s;
            continue;
        }
        if (strcmp(s, "--") == 0) {
            positional_only = true;
            continue;
        }
        if (strcmp(s, "--json") == 0 || strcmp(s, "-j") == 0) {
            cfg->json = true;
            continue;
        }
        const char *eq = strchr(s, '=');
        size_t len = eq ? (size_t)(eq - s) : strlen(s);
        size_t f = 0;
        while (f < WARD_CTL_N_FLAGS &&
               !((c->flags & (1u << f)) && strlen(flags[f].name) == len - 2 &&
                 memcmp(s + 2, flags[f].name, len - 2) == 0))
            f++;
        if (f == WARD_CTL_N_FLAGS)
            return unknown_option(c, s + 2, len - 2);
        const char *value = eq ? eq + 1 : "";
        if (flags[f].metavar && !eq && i + 1 < argc)
            value = argv[++i];
        else if (flags[f].metavar && !eq)
            value = NULL;
        if (!value || (!flags[f].metavar && eq)) {
            snprintf(why, sizeof(why), "--%s %s", flags[f].name,
                     value ? "takes no value" : "needs a value");
            return ward_ctl_usage(why);
        }
        a->flag[f] = value;
    }
    if (a->n < c->min_args)
        return ward_ctl_usage("missing arguments");
    return WARD_CTL_OK;
}

int main(int argc, char **argv)
{
    struct ward_buf summary = WARD_BUF_INIT;
    if (build_summary(&summary) < 0) {
        fprintf(stderr, "wardctl: out of memory\n");
        return WARD_CTL_FAILED;
    }
    const struct ward_program program = {
        .name = "wardctl",
        .version = WARD_VERSION,
        .summary = summary.data,
        .usage_tail = "COMMAND [ARG]...",
        .options = options,
        .n_options = sizeof(options) / sizeof(options[0]),
    };
    struct ward_ctl_config cfg;
    int first;
    int rc = ward_config_main(&program, &cfg, argc, argv, &first);
    if (rc >= 0) {
        ward_buf_done(&summary);
        return rc;
    }
    int words = 0;
    if (first >= argc) {
        struct ward_buf names = WARD_BUF_INIT;
        put_names(&names, NULL);
        fprintf(stderr, "wardctl: missing command; commands: %s (see --help)\n",
                names.data ? names.data : "");
        ward_buf_done(&names);
        rc = WARD_CTL_USAGE;
    } else if (!(running = find_command(argc - first, argv + first, &words))) {
        rc = WARD_CTL_USAGE;
    } else {
        struct ward_ctl_args a = {0};
        rc = parse_args(running, argc - first - words, argv + first + words, &a, &cfg);
        if (rc == WARD_CTL_OK) {
            curl_global_init(CURL_GLOBAL_DEFAULT);
            rc = running->run(&cfg, &a);
            curl_global_cleanup();
        }
    }
    ward_config_done(&program, &cfg);
    ward_buf_done(&summary);
    return rc;
}
