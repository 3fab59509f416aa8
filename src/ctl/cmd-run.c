/*
 * The diagnostics commands: run a diagnostic on a host, list the commands
 * and show one with its output, and read the audit log (api-commands.c;
 * docs/api.md, "Diagnostics").
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
 * does with everything else that comes from the server.
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

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* How long run --wait waits by default, and at most. */
#define DEFAULT_WAIT_MS  (2 * 60 * 1000)
#define DEFAULT_WAIT_STR "2m"
#define MAX_WAIT_MS      (24LL * 3600 * 1000)

/* The longest wait of one poll the server accepts, in seconds (docs/api.md). */
#define POLL_WAIT_S 30

/* A command's time to live on the server, in seconds at most (docs/api.md). */
#define MAX_TTL_S 86400

/* Rows the server lists at most (docs/api.md). */
#define MAX_LIST 1000

/* Hosts named in the message about an ambiguous host name. */
#define MAX_LISTED_HOSTS 8

/* The column where the help of a diagnostic's argument starts in --help. */
#define HELP_COLUMN 28

/* Room for one short field from the server: an id, a state, a time. */
#define FIELD_MAX 64

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

static const char *const states[] = {"queued", "dispatched", "done", "failed", "expired"};

static const struct ward_ctl_column command_columns[] = {
    {"ID", "id"},       {"HOST", "host_id"},       {"TYPE", "type"},
    {"STATE", "state"}, {"CREATED", "created_at"}, {"EXIT", "exit_code"},
};

static const struct ward_ctl_table commands_table = {
    .key = "commands",
    .cols = command_columns,
    .n_cols = N_ELEMENTS(command_columns),
    .empty = "no commands",
};

static const struct ward_ctl_column audit_columns[] = {
    {"TIME", "time"},   {"HOST", "host_id"}, {"COMMAND", "command_id"},
    {"EVENT", "event"}, {"ACTOR", "actor"},  {"DETAIL", "detail"},
};

static const struct ward_ctl_table audit_table = {
    .key = "entries",
    .cols = audit_columns,
    .n_cols = N_ELEMENTS(audit_columns),
    .empty = "no audit entries",
};

/* Copies the string token t into dst (size bytes) for display; longer text is cut. */
static void copy_text(char *dst, size_t size, const struct ward_json_token *t)
{
    struct ward_buf b = WARD_BUF_INIT;
    dst[0] = '\0';
    if (ward_ctl_put_text(&b, t->str, t->len < size ? t->len : size - 1, false) == 0 && b.data)
        snprintf(dst, size, "%s", b.data);
    ward_buf_done(&b);
}

/* Says on stderr that an answer was not what wardctl expected. */
static void unexpected(const struct ward_json_reader *r, int e)
{
    const char *msg = ward_json_error_message(r);
    fprintf(stderr, "wardctl: unexpected answer from the server: %s\n",
            *msg ? msg : ward_strerror(e));
}

/* ---- Commands as the server returns them ---- */

/* The members of a command object that wardctl uses. */
struct command_info {
    char id[FIELD_MAX], host_id[FIELD_MAX], type[FIELD_MAX], state[FIELD_MAX];
    char created_at[FIELD_MAX], dispatched_at[FIELD_MAX], finished_at[FIELD_MAX];
    bool has_exit_code;
    int64_t exit_code;
    bool truncated;
    struct ward_buf error;  /* control characters replaced */
    struct ward_buf output; /* as the server sent it */
};

static void command_info_done(struct command_info *ci)
{
    ward_buf_done(&ci->error);
    ward_buf_done(&ci->output);
    memset(ci, 0, sizeof(*ci));
}

/* Reads the value of one member of a command (the key is read). */
static int read_command_member(struct ward_json_reader *r, const struct ward_json_token *key,
                               struct command_info *ci)
{
    const char *keys[] = {"id",         "host_id",       "type",       "state",
                          "created_at", "dispatched_at", "finished_at"};
    char *fields[] = {ci->id,         ci->host_id,       ci->type,       ci->state,
                      ci->created_at, ci->dispatched_at, ci->finished_at};
    size_t k = 0;
    while (k < N_ELEMENTS(keys) && !ward_json_key_is(key, keys[k]))
        k++;
    bool is_exit = ward_json_key_is(key, "exit_code"),
         is_trunc = ward_json_key_is(key, "truncated");
    bool is_error = ward_json_key_is(key, "error"), is_output = ward_json_key_is(key, "output");
    if (k == N_ELEMENTS(keys) && !is_exit && !is_trunc && !is_error && !is_output)
        return ward_json_skip(r);
    struct ward_json_token t;
    int e = ward_json_next(r, &t);
    if (e < 0 || t.type == WARD_JSON_NULL)
        return e;
    if (is_exit && t.type == WARD_JSON_INT) {
        ci->has_exit_code = true;
        ci->exit_code = t.i;
    } else if (is_trunc && (t.type == WARD_JSON_TRUE || t.type == WARD_JSON_FALSE)) {
        ci->truncated = t.type == WARD_JSON_TRUE;
    } else if (is_error && t.type == WARD_JSON_STRING) {
        e = ward_ctl_put_text(&ci->error, t.str, t.len, false);
    } else if (is_output && t.type == WARD_JSON_STRING) {
        e = ward_buf_append(&ci->output, t.str, t.len);
    } else if (k < N_ELEMENTS(keys) && t.type == WARD_JSON_STRING) {
        copy_text(fields[k], FIELD_MAX, &t);
    } else {
        e = WARD_E_JSON_TYPE;
    }
    return e;
}

/* Reads the command object in body into *ci (empty or done). Prints why not. */
static int read_command(const struct ward_buf *body, struct command_info *ci)
{
    struct ward_json_reader r;
    struct ward_json_token t;
    ward_json_reader_init(&r, body->data ? body->data : "", body->len, NULL);
    int e = ward_json_expect(&r, WARD_JSON_OBJECT_BEGIN, &t);
    while (e == 0 && (e = ward_json_next(&r, &t)) == 0 && t.type == WARD_JSON_KEY)
        e = read_command_member(&r, &t, ci);
    if (e < 0)
        unexpected(&r, e);
    else if (!ci->id[0] || !ci->state[0])
        fprintf(stderr, "wardctl: unexpected answer from the server: no command id or state\n");
    ward_json_reader_done(&r);
    return e < 0 ? e : !ci->id[0] || !ci->state[0] ? -EPROTO : 0;
}

static bool finished(const char *state)
{
    return strcmp(state, "done") == 0 || strcmp(state, "failed") == 0 ||
           strcmp(state, "expired") == 0;
}

/*
 * Prints a command's output to stdout: as it is, or on a terminal with
 * control characters other than newline and tab replaced and a final
 * newline.
 */
static void print_output(const struct ward_buf *output)
{
    if (output->len == 0)
        return;
    if (!isatty(STDOUT_FILENO)) {
        fwrite(output->data, 1, output->len, stdout);
        return;
    }
    struct ward_buf text = WARD_BUF_INIT;
    if (ward_ctl_put_text(&text, output->data, output->len, true) == 0 && text.data)
        printf("%s%s", text.data, text.data[text.len - 1] == '\n' ? "" : "\n");
    else
        fprintf(stderr, "wardctl: out of memory\n");
    ward_buf_done(&text);
}

/* ---- Hosts by name ---- */

/* The hosts whose host name or given name is the one looked for. */
struct host_matches {
    const char *name;
    size_t n, active;
    char id[MAX_LISTED_HOSTS][FIELD_MAX];
    char status[MAX_LISTED_HOSTS][FIELD_MAX];
    char active_id[FIELD_MAX];
};

/* Reads one host object (its '{' is read) and records it when its name fits. */
static int match_host(struct ward_json_reader *r, struct host_matches *m)
{
    char id[FIELD_MAX] = "", status[FIELD_MAX] = "";
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
            copy_text(id, sizeof(id), &t);
        else if (is_status)
            copy_text(status, sizeof(status), &t);
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
        unexpected(&r, e);
    ward_json_reader_done(&r);
    return e;
}

/*
 * Finds the id of the host named host: a host id as it is, else the one
 * host whose host name or given name is host (with for_command, the one
 * active host among several). Returns an exit status, after saying why
 * on stderr when it is not WARD_CTL_OK.
 */
static int resolve_host(const struct ward_ctl_config *cfg, const char *host, bool for_command,
                        char id[FIELD_MAX])
{
    char uuid[WARD_UUID_STR_LEN];
    if (ward_uuid_normalize(host, uuid) == 0) {
        snprintf(id, FIELD_MAX, "%s", uuid);
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
        snprintf(id, FIELD_MAX, "%s", m.n == 1 ? m.id[0] : m.active_id);
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

static int unknown_diagnostic(const char *name)
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
        return unknown_diagnostic(a->arg[1]);
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

/*
 * Polls command id until it is finished or timeout_ms pass, leaving the
 * last answer in body (empty or done) and *ci (empty or done). Returns
 * WARD_CTL_OK when it finished, WARD_CTL_TIMED_OUT when the time ran out,
 * or WARD_CTL_FAILED after saying why.
 */
static int poll_command(const struct ward_ctl_config *cfg, const char *id, int64_t timeout_ms,
                        struct ward_buf *body, struct command_info *ci)
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
        command_info_done(ci);
        if (ward_ctl_request(&poll, "GET", path.data, NULL, WARD_CTL_BEARER, body) < 0 ||
            read_command(body, ci) < 0) {
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
static void say_finished(const struct command_info *ci, const char *host)
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
static int command_status(const struct command_info *ci)
{
    if (strcmp(ci->state, "done") == 0)
        return ci->has_exit_code && ci->exit_code == 0 ? WARD_CTL_OK : WARD_CTL_FAILED;
    return strcmp(ci->state, "expired") == 0 ? WARD_CTL_TIMED_OUT : WARD_CTL_FAILED;
}

/* Waits for the command queued in *ci and reports it; returns run's exit status. */
static int wait_and_report(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a,
                           int64_t timeout_ms, struct ward_buf *body, struct command_info *ci)
{
    const char *host = a->arg[0];
    char id[FIELD_MAX];
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
        print_output(&ci->output);
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

    char host_id[FIELD_MAX];
    if ((rc = resolve_host(cfg, a->arg[0], true, host_id)) != WARD_CTL_OK)
        return rc;
    struct ward_buf request = WARD_BUF_INIT, path = WARD_BUF_INIT, body = WARD_BUF_INIT;
    struct command_info ci = {0};
    rc = WARD_CTL_FAILED;
    if (request_body(&request, &d, given, (ttl_ms + 999) / 1000) == 0 &&
        ward_ctl_path(&path, "/api/v1/hosts/", host_id, "/commands") == 0 &&
        ward_ctl_request(cfg, "POST", path.data, &request, WARD_CTL_BEARER, &body) == 0 &&
        read_command(&body, &ci) == 0) {
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
    command_info_done(&ci);
    ward_buf_done(&request);
    ward_buf_done(&path);
    ward_buf_done(&body);
    return rc;
}

/* ---- commands, commands show, audit ---- */

/* Appends "&name=value" with value percent-encoded; nothing when value is NULL. */
static int add_param(struct ward_buf *path, const char *name, const char *value)
{
    if (!value)
        return 0;
    int e = ward_buf_printf(path, "&%s=", name);
    return e < 0 ? e : ward_ctl_escape(path, value);
}

/* The rows a listing asks for: --limit after the command, else the program's --limit. */
static int list_limit(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a,
                      int64_t *limit)
{
    const char *s = a->flag[WARD_CTL_FLAG_LIMIT];
    if (!s) {
        *limit = cfg->limit > MAX_LIST ? MAX_LIST : cfg->limit;
        return WARD_CTL_OK;
    }
    if (ward_parse_int_range(s, 1, MAX_LIST, limit) < 0)
        return ward_ctl_usage("--limit: a number from 1 to 1000");
    return WARD_CTL_OK;
}

/* GETs prefix + "limit=N" + params and renders the answer as table. */
static int list(const struct ward_ctl_config *cfg, const char *prefix, int64_t limit,
                const struct ward_ctl_member *params, size_t n, const struct ward_ctl_table *table)
{
    struct ward_buf path = WARD_BUF_INIT;
    int e = ward_buf_printf(&path, "%slimit=%lld", prefix, (long long)limit);
    for (size_t i = 0; e >= 0 && i < n; i++)
        e = add_param(&path, params[i].key, params[i].value);
    int rc = WARD_CTL_FAILED;
    if (e < 0)
        fprintf(stderr, "wardctl: out of memory\n");
    else
        rc = ward_ctl_call(cfg, "GET", path.data, NULL, ward_ctl_render_table, table);
    ward_buf_done(&path);
    return rc;
}

int ward_ctl_commands_list(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a)
{
    const char *host = a->flag[WARD_CTL_FLAG_HOST], *state = a->flag[WARD_CTL_FLAG_STATE];
    const char *type = a->flag[WARD_CTL_FLAG_TYPE];
    int64_t limit;
    int rc = list_limit(cfg, a, &limit);
    if (rc != WARD_CTL_OK)
        return rc;
    size_t s = 0;
    while (state && s < N_ELEMENTS(states) && strcmp(state, states[s]) != 0)
        s++;
    if (state && s == N_ELEMENTS(states))
        return ward_ctl_usage("--state: queued, dispatched, done, failed or expired");
    enum ward_diag_type t;
    if (type && ward_diag_type_of(type, &t) < 0)
        return unknown_diagnostic(type);
    char host_id[FIELD_MAX];
    if (host && (rc = resolve_host(cfg, host, false, host_id)) != WARD_CTL_OK)
        return rc;
    const struct ward_ctl_member params[] = {
        {"host_id", host ? host_id : NULL},
        {"state", state},
        {"type", type ? ward_diag_name(t) : NULL},
    };
    return list(cfg, "/api/v1/commands?", limit, params, N_ELEMENTS(params), &commands_table);
}

/* Prints one member of a command as "key: value", the value as a table cell shows it. */
static int show_member(const struct ward_buf *body, const char *key)
{
    struct ward_buf value = WARD_BUF_INIT;
    int e = ward_ctl_json_field(body, key, &value);
    if (e == 0)
        printf("%s: %s\n", key, value.len ? value.data : "-");
    ward_buf_done(&value);
    return e;
}

/* Prints a command: every member but the output as "key: value" lines, then the output. */
static int show_command(const struct ward_buf *body, const void *ctx)
{
    (void)ctx;
    struct command_info ci = {0};
    int e = read_command(body, &ci);
    struct ward_json_reader r;
    struct ward_json_token t;
    ward_json_reader_init(&r, body->data ? body->data : "", body->len, NULL);
    if (e == 0)
        e = ward_json_expect(&r, WARD_JSON_OBJECT_BEGIN, &t);
    while (e == 0 && (e = ward_json_next(&r, &t)) == 0 && t.type == WARD_JSON_KEY) {
        char key[FIELD_MAX];
        bool output = ward_json_key_is(&t, "output");
        copy_text(key, sizeof(key), &t);
        if ((e = ward_json_skip(&r)) == 0 && !output)
            e = show_member(body, key);
    }
    if (e == 0 && ci.output.len) {
        printf("output:\n");
        print_output(&ci.output);
    } else if (e == 0) {
        printf("output: -\n");
    } else if (ci.id[0]) {
        unexpected(&r, e);
    }
    ward_json_reader_done(&r);
    command_info_done(&ci);
    return e;
}

int ward_ctl_commands_show(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a)
{
    struct ward_buf path = WARD_BUF_INIT;
    int rc = WARD_CTL_FAILED;
    if (ward_ctl_path(&path, "/api/v1/commands/", a->arg[0], NULL) == 0)
        rc = ward_ctl_call(cfg, "GET", path.data, NULL, show_command, NULL);
    ward_buf_done(&path);
    return rc;
}

int ward_ctl_audit(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a)
{
    const char *host = a->flag[WARD_CTL_FLAG_HOST], *command = a->flag[WARD_CTL_FLAG_COMMAND];
    int64_t limit;
    int rc = list_limit(cfg, a, &limit);
    if (rc != WARD_CTL_OK)
        return rc;
    char command_id[WARD_UUID_STR_LEN];
    if (command && ward_uuid_normalize(command, command_id) < 0)
        return ward_ctl_usage("--command: a command id (a UUID)");
    char host_id[FIELD_MAX];
    if (host && (rc = resolve_host(cfg, host, false, host_id)) != WARD_CTL_OK)
        return rc;
    const struct ward_ctl_member params[] = {
        {"host_id", host ? host_id : NULL},
        {"command_id", command ? command_id : NULL},
    };
    return list(cfg, "/api/v1/audit?", limit, params, N_ELEMENTS(params), &audit_table);
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
