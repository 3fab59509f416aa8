/*
 * The run command: run a diagnostic on a host and, with --wait, wait for
 * its output (api-commands.c; docs/api.md, "Diagnostics"). It also holds
 * the host lookup that commands and audit (cmd-commands.c) use for their
 * --host, and the part of --help about diagnostics.
 *
 * run checks the diagnostic and its arguments with common/diag.h, the
 * check the server and the agent make, before it sends anything: a typo
 * costs no request, nothing is queued, and the message is the one the
 * server would give. A host may be named by its id, its host name or the
 * name an admin gave it; a name is looked up in the host list, and one
 * that fits several hosts is refused with their ids rather than guessed
 * at (unless only one of them is active: only an active host can take a
 * command).
 *
 * With --wait, run long-polls the command (GET /api/v1/commands/ID?wait=N)
 * until it is finished or --timeout passes. Each poll's request time limit
 * is its wait plus the program's --timeout, so a long-poll is not taken for
 * a dead server. The output goes to stdout byte for byte, so that it can be
 * piped; the state, exit code and duration go to stderr on one line. Only
 * when stdout is a terminal are control characters replaced, as table.c
 * does with everything else that comes from the server. Each answer is
 * read by the reader commands show uses (cmd-commands.c).
 */
#include "ctl/ctl.h"
#include "ctl/http.h"
#include "ctl/table.h"

#include "common/buf.h"
#include "common/diag.h"
#include "common/error.h"
#include "common/json.h"
#include "common/parse.h"
#include "common/time-util.h"
#include "common/uuid.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* How long run --wait waits by default, and at most. */
#define DEFAULT_WAIT_MS  (2 * 60 * 1000)
#define DEFAULT_WAIT_STR "2m"
#define MAX_WAIT_MS      (24LL * 3600 * 1000)

/* The longest wait of one poll the server accepts, in seconds (docs/api.md). */
#define POLL_WAIT_S 30

/* A command's time to live on the server, in seconds at most (docs/api.md). */
#define MAX_TTL_S 86400

/* Hosts named in the message about an ambiguous host name. */
#define MAX_LISTED_HOSTS 8

/* The column where the help of a diagnostic's argument starts in --help. */
#define HELP_COLUMN 28

/* ---- Hosts by name ---- */

/* The hosts whose host name or given name is the one looked for. */
struct host_matches {
    const char *name;
    size_t n, active;
    char id[MAX_LISTED_HOSTS][WARD_CTL_FIELD_MAX];
    char status[MAX_LISTED_HOSTS][WARD_CTL_FIELD_MAX];
    char active_id[WARD_CTL_FIELD_MAX];
};

/* Reads one host object (its '{' is read) and records it when its name fits. */
static int match_host(struct ward_json_reader *r, struct host_matches *m)
{
    char id[WARD_CTL_FIELD_MAX] = "", status[WARD_CTL_FIELD_MAX] = "";
    size_t n = strlen(m->name);
    bool match = false;
    struct ward_json_token t;
    int e;
    while ((e = ward_json_next(r, &t)) == 0 && t.type == WARD_JSON_KEY) {
        bool is_id = ward_json_key_is(&t, "id"), is_status = ward_json_key_is(&t, "status");
        bool is_name = ward_json_key_is(&t, "hostname") || ward_json_key_is(&t, "name");
        if (!is_id && !is_status && !is_name) {
            if ((e = ward_json_skip(r)) < 0)
                return e;
            continue;
        }
        if ((e = ward_json_next(r, &t)) < 0)
            return e;
        if (t.type == WARD_JSON_NULL)
            continue;
        if (t.type != WARD_JSON_STRING)
            return WARD_E_JSON_TYPE;
        if (is_id)
            ward_ctl_copy_text(id, sizeof(id), &t);
        else if (is_status)
            ward_ctl_copy_text(status, sizeof(status), &t);
        else
            match |= t.len == n && memcmp(t.str, m->name, n) == 0;
    }
    if (e < 0 || !match)
        return e;
    if (strcmp(status, "active") == 0 && m->active++ == 0)
        snprintf(m->active_id, sizeof(m->active_id), "%s", id);
    if (m->n < MAX_LISTED_HOSTS) {
        snprintf(m->id[m->n], sizeof(m->id[m->n]), "%s", id);
        snprintf(m->status[m->n], sizeof(m->status[m->n]), "%s", status);
    }
    m->n++;
    return 0;
}

/* Reads the host list in body into *m. Prints why not. */
static int read_hosts(const struct ward_buf *body, struct host_matches *m)
{
    struct ward_json_reader r;
    struct ward_json_token t;
    bool found = false;
    ward_json_reader_init(&r, body->data ? body->data : "", body->len, NULL);
    int e = ward_json_expect(&r, WARD_JSON_OBJECT_BEGIN, &t);
    while (e == 0 && !found && (e = ward_json_next(&r, &t)) == 0 && t.type == WARD_JSON_KEY) {
        found = ward_json_key_is(&t, "hosts");
        e = found ? ward_json_expect(&r, WARD_JSON_ARRAY_BEGIN, &t) : ward_json_skip(&r);
    }
    if (e == 0 && !found)
        e = WARD_E_NOT_FOUND;
    while (e == 0 && (e = ward_json_next(&r, &t)) == 0 && t.type != WARD_JSON_ARRAY_END)
        e = t.type == WARD_JSON_OBJECT_BEGIN ? match_host(&r, m) : WARD_E_JSON_TYPE;
    if (e == WARD_E_NOT_FOUND)
        fprintf(stderr, "wardctl: unexpected answer from the server: no member 'hosts'\n");
    else if (e < 0)
        ward_ctl_unexpected(&r, e);
    ward_json_reader_done(&r);
    return e;
}

/*
 * Finds the id of the host named host: a host id as it is, else the one
 * host whose host name or given name is host (with for_command, the one
 * active host among several). Returns an exit status, after saying why
 * on stderr when it is not WARD_CTL_OK.
 */
int ward_ctl_resolve_host(const struct ward_ctl_config *cfg, const char *host, bool for_command,
                          char id[WARD_CTL_FIELD_MAX])
{
    char uuid[WARD_UUID_STR_LEN];
    if (ward_uuid_normalize(host, uuid) == 0) {
        snprintf(id, WARD_CTL_FIELD_MAX, "%s", uuid);
        return WARD_CTL_OK;
    }
    struct ward_buf body = WARD_BUF_INIT;
    struct host_matches m = {.name = host};
    int e = ward_ctl_request(cfg, "GET", "/api/v1/hosts", NULL, WARD_CTL_BEARER, &body);
    if (e == 0)
        e = read_hosts(&body, &m);
    ward_buf_done(&body);
    if (e < 0)
        return WARD_CTL_FAILED;
    if (m.n == 1 || (for_command && m.active == 1)) {
        snprintf(id, WARD_CTL_FIELD_MAX, "%s", m.n == 1 ? m.id[0] : m.active_id);
        return WARD_CTL_OK;
    }
    if (m.n == 0) {
        fprintf(stderr,
                "wardctl: no host has the id, host name or name '%s'; see wardctl agents list\n",
                host);
        return WARD_CTL_FAILED;
    }
    fprintf(stderr, "wardctl: %zu hosts are named '%s':", m.n, host);
    for (size_t i = 0; i < m.n && i < MAX_LISTED_HOSTS; i++)
        fprintf(stderr, "%s %s (%s)", i ? "," : "", m.id[i], m.status[i][0] ? m.status[i] : "?");
    fprintf(stderr, "%s; give the host id\n", m.n > MAX_LISTED_HOSTS ? ", ..." : "");
    return WARD_CTL_FAILED;
}

/* ---- run ---- */

/* True when [s, eq) can be an argument's name, so that s is NAME=VALUE and not a bare value. */
static bool is_name(const char *s, const char *eq)
{
    if (eq == s)
        return false;
    for (const char *p = s; p < eq; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return false;
    return true;
}

/* The argument a bare value sets: the first required one, else the first; NULL for none. */
static const char *bare_argument(const struct ward_diag_spec *spec)
{
    for (size_t i = 0; i < spec->n_args; i++)
        if (!spec->args[i].def)
            return spec->args[i].name;
    return spec->n_args > 0 ? spec->args[0].name : NULL;
}

int ward_ctl_unknown_diagnostic(const char *name)
{
    struct ward_buf why = WARD_BUF_INIT;
    ward_buf_printf(&why, "unknown diagnostic '%.64s'; diagnostics:", name);
    for (int i = 0; i < WARD_DIAG_N; i++)
        ward_buf_printf(&why, "%s %s%s", i ? "," : "", ward_diag_name((enum ward_diag_type)i),
                        i == WARD_DIAG_DISK_USAGE ? " (disk)" : "");
    int rc = ward_ctl_usage(why.data ? why.data : "unknown diagnostic");
    ward_buf_done(&why);
    return rc;
}

/*
 * Checks DIAGNOSTIC [NAME=VALUE | VALUE]... (a->arg[1] on) into *d, and
 * marks in given the arguments named. Returns an exit status.
 */
static int parse_diagnostic(const struct ward_ctl_args *a, struct ward_diag_args *d,
                            bool given[WARD_DIAG_MAX_ARGS])
{
    enum ward_diag_type type;
    if (ward_diag_type_of(a->arg[1], &type) < 0)
        return ward_ctl_unknown_diagnostic(a->arg[1]);
    ward_diag_init(type, d);
    const struct ward_diag_spec *spec = ward_diag_spec(type);
    struct ward_buf err = WARD_BUF_INIT;
    bool bare = false;
    int rc = WARD_CTL_OK;
    for (size_t i = 2; rc == WARD_CTL_OK && i < a->n; i++) {
        const char *s = a->arg[i], *eq = strchr(s, '=');
        char name[WARD_DIAG_ARG_MAX + 1];
        const char *value = s;
        if (eq && is_name(s, eq) && (size_t)(eq - s) < sizeof(name)) {
            memcpy(name, s, (size_t)(eq - s));
            name[eq - s] = '\0';
            value = eq + 1;
        } else if (bare) {
            rc = ward_ctl_usage("only one value may go without its name; give the others as"
                                " NAME=VALUE");
            break;
        } else if (!bare_argument(spec)) {
            ward_buf_printf(&err, "%s takes no arguments", spec->name);
            rc = ward_ctl_usage(err.data);
            break;
        } else {
            bare = true;
            snprintf(name, sizeof(name), "%s", bare_argument(spec));
        }
        size_t k = 0;
        while (k < spec->n_args && strcmp(spec->args[k].name, name) != 0)
            k++;
        if (k < spec->n_args && given[k]) {
            ward_buf_printf(&err, "%s: %s is given twice", spec->name, name);
            rc = ward_ctl_usage(err.data);
        } else if (ward_diag_set(d, name, value, &err) < 0) {
            rc = ward_ctl_usage(err.data ? err.data : "bad argument");
        } else {
            given[k] = true;
        }
    }
    if (rc == WARD_CTL_OK && ward_diag_complete(d, &err) < 0)
        rc = ward_ctl_usage(err.data ? err.data : "missing argument");
    ward_buf_done(&err);
    return rc;
}

/* Parses a duration flag into *ms, from 1 ms to max_ms. */
static bool parse_duration(const char *s, int64_t max_ms, int64_t *ms)
{
    int64_t v;
    if (ward_parse_duration_ms(s, &v) < 0 || v < 1 || v > max_ms)
        return false;
    *ms = v;
    return true;
}

/* Writes {"type": ..., "args": {the given ones}, "ttl": ...} into the empty buffer out. */
static int request_body(struct ward_buf *out, const struct ward_diag_args *d,
                        const bool given[WARD_DIAG_MAX_ARGS], int64_t ttl_s)
{
    const struct ward_diag_spec *spec = ward_diag_spec(d->type);
    struct ward_json_writer w;
    ward_json_writer_init(&w, out);
    ward_json_write_object_begin(&w);
    ward_json_write_keyz(&w, "type");
    ward_json_write_stringz(&w, spec->name);
    ward_json_write_keyz(&w, "args");
    ward_json_write_object_begin(&w);
    for (size_t i = 0; i < spec->n_args; i++) {
        if (!given[i])
            continue;
        ward_json_write_keyz(&w, spec->args[i].name);
        ward_json_write_stringz(&w, d->values[i]);
    }
    ward_json_write_object_end(&w);
    if (ttl_s > 0) {
        ward_json_write_keyz(&w, "ttl");
        ward_json_write_int(&w, ttl_s);
    }
    ward_json_write_object_end(&w);
    int e = ward_json_writer_finish(&w);
    if (e < 0)
        fprintf(stderr, "wardctl: cannot write the request: %s\n", ward_strerror(e));
    return e;
}

static bool finished(const char *state)
{
    return strcmp(state, "done") == 0 || strcmp(state, "failed") == 0 ||
           strcmp(state, "expired") == 0;
}

/*
 * Polls command id until it is finished or timeout_ms pass, leaving the
 * last answer in body (empty or done) and *ci (empty or done). Returns
 * WARD_CTL_OK when it finished, WARD_CTL_TIMED_OUT when the time ran out,
 * or WARD_CTL_FAILED after saying why.
 */
static int poll_command(const struct ward_ctl_config *cfg, const char *id, int64_t timeout_ms,
                        struct ward_buf *body, struct ward_ctl_command_info *ci)
{
    int64_t deadline = ward_mono_ms() + timeout_ms;
    struct ward_ctl_config poll = *cfg;
    struct ward_buf path = WARD_BUF_INIT;
    int rc = WARD_CTL_TIMED_OUT;
    for (int64_t left; (left = deadline - ward_mono_ms()) > 0;) {
        int64_t wait_s = (left + 999) / 1000;
        wait_s = wait_s > POLL_WAIT_S ? POLL_WAIT_S : wait_s;
        poll.timeout_ms = cfg->timeout_ms + wait_s * 1000;
        ward_buf_reset(&path);
        char suffix[32];
        snprintf(suffix, sizeof(suffix), "?wait=%lld", (long long)wait_s);
        if (ward_ctl_path(&path, "/api/v1/commands/", id, suffix) < 0) {
            rc = WARD_CTL_FAILED;
            break;
        }
        ward_buf_done(body);
        ward_ctl_command_info_done(ci);
        if (ward_ctl_request(&poll, "GET", path.data, NULL, WARD_CTL_BEARER, body) < 0 ||
            ward_ctl_read_command(body, ci) < 0) {
            rc = WARD_CTL_FAILED;
            break;
        }
        if (finished(ci->state)) {
            rc = WARD_CTL_OK;
            break;
        }
    }
    ward_buf_done(&path);
    return rc;
}

/* Prints the line about a finished command to stderr. */
static void say_finished(const struct ward_ctl_command_info *ci, const char *host)
{
    int64_t start, end;
    const char *from = ci->dispatched_at[0] ? ci->dispatched_at : ci->created_at;
    bool timed = ward_time_parse(ci->finished_at, &end) == 0 && ward_time_parse(from, &start) == 0;
    struct ward_buf line = WARD_BUF_INIT;
    ward_buf_printf(&line, "%s on %s: %s", ci->type, host, ci->state);
    if (ci->has_exit_code && strcmp(ci->state, "done") == 0)
        ward_buf_printf(&line, ", exit %lld", (long long)ci->exit_code);
    if (ci->error.len)
        ward_buf_printf(&line, ": %s", ci->error.data);
    if (timed && end >= start && strcmp(ci->state, "expired") != 0)
        ward_buf_printf(&line, ", %.2fs", (double)(end - start) / 1000.0);
    if (ci->truncated)
        ward_buf_puts(&line, ", output truncated");
    ward_buf_printf(&line, " (command %s)", ci->id);
    fprintf(stderr, "%s\n", line.data ? line.data : "");
    ward_buf_done(&line);
}

/* The exit status for a finished command: see --help. */
static int command_status(const struct ward_ctl_command_info *ci)
{
    if (strcmp(ci->state, "done") == 0)
        return ci->has_exit_code && ci->exit_code == 0 ? WARD_CTL_OK : WARD_CTL_FAILED;
    return strcmp(ci->state, "expired") == 0 ? WARD_CTL_TIMED_OUT : WARD_CTL_FAILED;
}

/* Waits for the command queued in *ci and reports it; returns run's exit status. */
static int wait_and_report(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a,
                           int64_t timeout_ms, struct ward_buf *body,
                           struct ward_ctl_command_info *ci)
{
    const char *host = a->arg[0];
    char id[WARD_CTL_FIELD_MAX];
    snprintf(id, sizeof(id), "%s", ci->id);
    int rc = poll_command(cfg, id, timeout_ms, body, ci);
    if (rc == WARD_CTL_FAILED)
        return rc;
    if (cfg->json && body->len)
        printf("%s\n", body->data);
    if (rc == WARD_CTL_TIMED_OUT) {
        const char *waited = a->flag[WARD_CTL_FLAG_WAIT_TIMEOUT];
        fprintf(stderr, "wardctl: %s on %s is still %s after %s; see wardctl commands show %s\n",
                ci->type, host, ci->state[0] ? ci->state : "queued",
                waited ? waited : DEFAULT_WAIT_STR, id);
        return rc;
    }
    if (!cfg->json) {
        ward_ctl_print_output(&ci->output);
        fflush(stdout);
        say_finished(ci, host);
    }
    return command_status(ci);
}

int ward_ctl_run(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a)
{
    struct ward_diag_args d;
    bool given[WARD_DIAG_MAX_ARGS] = {false};
    int rc = parse_diagnostic(a, &d, given);
    if (rc != WARD_CTL_OK)
        return rc;
    bool wait = a->flag[WARD_CTL_FLAG_WAIT] != NULL;
    int64_t timeout_ms = DEFAULT_WAIT_MS, ttl_ms = 0;
    const char *timeout = a->flag[WARD_CTL_FLAG_WAIT_TIMEOUT], *ttl = a->flag[WARD_CTL_FLAG_TTL];
    if (timeout && !wait)
        return ward_ctl_usage("--timeout says how long --wait waits; give --wait too");
    if (timeout && !parse_duration(timeout, MAX_WAIT_MS, &timeout_ms))
        return ward_ctl_usage("--timeout: a duration such as 30s or 5m, at most 24h");
    if (ttl && !parse_duration(ttl, (int64_t)MAX_TTL_S * 1000, &ttl_ms))
        return ward_ctl_usage("--ttl: a duration from 1s to 24h");
    if (ttl && ttl_ms < 1000)
        return ward_ctl_usage("--ttl: a duration from 1s to 24h");

    char host_id[WARD_CTL_FIELD_MAX];
    if ((rc = ward_ctl_resolve_host(cfg, a->arg[0], true, host_id)) != WARD_CTL_OK)
        return rc;
    struct ward_buf request = WARD_BUF_INIT, path = WARD_BUF_INIT, body = WARD_BUF_INIT;
    struct ward_ctl_command_info ci = {0};
    rc = WARD_CTL_FAILED;
    if (request_body(&request, &d, given, (ttl_ms + 999) / 1000) == 0 &&
        ward_ctl_path(&path, "/api/v1/hosts/", host_id, "/commands") == 0 &&
        ward_ctl_request(cfg, "POST", path.data, &request, WARD_CTL_BEARER, &body) == 0 &&
        ward_ctl_read_command(&body, &ci) == 0) {
        if (wait)
            rc = wait_and_report(cfg, a, timeout_ms, &body, &ci);
        else if (cfg->json)
            rc = printf("%s\n", body.data) < 0 ? WARD_CTL_FAILED : WARD_CTL_OK;
        else
            rc =
                printf("%s %s (%s on %s)\n", ci.state, ci.id, ward_diag_name(d.type), a->arg[0]) < 0
                    ? WARD_CTL_FAILED
                    : WARD_CTL_OK;
    }
    ward_ctl_command_info_done(&ci);
    ward_buf_done(&request);
    ward_buf_done(&path);
    ward_buf_done(&body);
    return rc;
}

/* ---- --help ---- */

/* Appends what a value of argument arg looks like: HOST, 1..10, all|tcp|udp. */
static int put_metavar(struct ward_buf *out, const struct ward_diag_arg_spec *arg)
{
    switch (arg->kind) {
    case WARD_DIAG_ARG_HOST:
        return ward_buf_puts(out, "HOST");
    case WARD_DIAG_ARG_HOST_PORT:
        return ward_buf_puts(out, "HOST:PORT");
    case WARD_DIAG_ARG_PATH:
        return ward_buf_puts(out, "PATH");
    case WARD_DIAG_ARG_INT:
        return ward_buf_printf(out, "%lld..%lld", (long long)arg->min, (long long)arg->max);
    case WARD_DIAG_ARG_WORD: {
        int e = 0;
        for (const char *const *w = arg->words; e >= 0 && w && *w; w++)
            e = ward_buf_printf(out, "%s%s", w == arg->words ? "" : "|", *w);
        return e;
    }
    case WARD_DIAG_ARG_UNIT:
        return ward_buf_puts(out, "UNIT");
    }
    return 0;
}

int ward_ctl_run_help(struct ward_buf *out)
{
    int e = ward_buf_puts(
        out, "Diagnostics (run HOST DIAGNOSTIC [NAME=VALUE]...). HOST is a host id, host name or"
             " the name an\nadmin gave it. One VALUE may go without its NAME=: it sets the first"
             " required argument,\nor else the first (run web1 ping 127.0.0.1, run web1 disk"
             " /var top_n=5).\n");
    for (int i = 0; e >= 0 && i < WARD_DIAG_N; i++) {
        const struct ward_diag_spec *spec = ward_diag_spec((enum ward_diag_type)i);
        e = ward_buf_printf(out, "  %s%s: %s%s\n", spec->name,
                            i == WARD_DIAG_DISK_USAGE ? " (or disk)" : "", spec->help,
                            spec->n_args ? "" : "; no arguments");
        for (size_t k = 0; e >= 0 && k < spec->n_args; k++) {
            const struct ward_diag_arg_spec *arg = &spec->args[k];
            size_t start = out->len;
            e = ward_buf_printf(out, "      %s=", arg->name);
            if (e >= 0)
                e = put_metavar(out, arg);
            size_t used = out->len - start;
            if (e >= 0 && used + 2 > HELP_COLUMN)
                e = ward_buf_printf(out, "\n%*s", HELP_COLUMN, "");
            else if (e >= 0)
                e = ward_buf_printf(out, "%*s", (int)(HELP_COLUMN - used), "");
            if (e >= 0)
                e = ward_buf_printf(out, "%s (%s%s)\n", arg->help,
                                    !arg->def   ? "required"
                                    : *arg->def ? "default "
                                                : "optional",
                                    arg->def ? arg->def : "");
        }
    }
    if (e >= 0)
        e = ward_buf_puts(
            out, "Without --wait, run prints the command's id and exits 0 once it is queued."
                 " With --wait it\nprints the output (metadata on stderr) and exits 0 when the"
                 " diagnostic ran and exited 0,\n1 when it exited non-zero or failed (an agent"
                 " may refuse it), 3 when it expired or\n--timeout (default " DEFAULT_WAIT_STR
                 ") passed first. --ttl (default: the server's) is how long the command\nwaits"
                 " for its agent. commands --host HOST --state STATE --type DIAGNOSTIC lists"
                 " them;\naudit --host HOST --command ID shows who queued what and what came"
                 " back.");
    return e;
}
