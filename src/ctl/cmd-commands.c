/*
 * The commands that read back what run queued: commands lists the
 * diagnostics commands, commands show prints one with its output, and
 * audit lists who queued what and what came back (api-commands.c;
 * docs/api.md, "Diagnostics"). cmd-run.c queues a command; this file only
 * reads.
 *
 * It also holds the one reader of a command object as the server returns
 * it, which run --wait uses on each poll, so that run and commands show
 * agree on what a command is. The short members (ids, state, times) are
 * cut to a fixed field and have their control characters replaced; the
 * output is kept as it came and goes to stdout byte for byte, so that it
 * can be piped, and only on a terminal are its control characters
 * replaced.
 *
 * The listings check their filters before they send anything: --state
 * against the states a command has, --type with common/diag.h, --command
 * as a UUID, and --host is looked up as run looks up its host (cmd-run.c).
 * --limit after the command overrides the program's --limit; either is
 * bounded by the most rows the server lists.
 */
#include "ctl/ctl.h"
#include "ctl/http.h"
#include "ctl/table.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/diag.h"
#include "common/error.h"
#include "common/json.h"
#include "common/parse.h"
#include "common/uuid.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Rows the server lists at most (docs/api.md). */
#define MAX_LIST 1000

/* ---- Answers from the server ---- */

/* ---- Commands as the server returns them ---- */

void ward_ctl_command_info_done(struct ward_ctl_command_info *ci)
{
    ward_buf_done(&ci->error);
    ward_buf_done(&ci->output);
    memset(ci, 0, sizeof(*ci));
}

/* Reads the value of one member of a command (the key is read). */
static int read_command_member(struct ward_json_reader *r, const struct ward_json_token *key,
                               struct ward_ctl_command_info *ci)
{
    const char *keys[] = {"id",         "host_id",       "type",       "state",
                          "created_at", "dispatched_at", "finished_at"};
    char *fields[] = {ci->id,         ci->host_id,       ci->type,       ci->state,
                      ci->created_at, ci->dispatched_at, ci->finished_at};
    size_t k = 0;
    while (k < WARD_ARRAY_SIZE(keys) && !ward_json_key_is(key, keys[k]))
        k++;
    bool is_exit = ward_json_key_is(key, "exit_code"),
         is_trunc = ward_json_key_is(key, "truncated");
    bool is_error = ward_json_key_is(key, "error"), is_output = ward_json_key_is(key, "output");
    if (k == WARD_ARRAY_SIZE(keys) && !is_exit && !is_trunc && !is_error && !is_output)
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
    } else if (k < WARD_ARRAY_SIZE(keys) && t.type == WARD_JSON_STRING) {
        ward_ctl_copy_text(fields[k], WARD_CTL_FIELD_MAX, &t);
    } else {
        e = WARD_E_JSON_TYPE;
    }
    return e;
}

/* Reads the command object in body into *ci (empty or done). Prints why not. */
int ward_ctl_read_command(const struct ward_buf *body, struct ward_ctl_command_info *ci)
{
    struct ward_json_reader r;
    struct ward_json_token t;
    ward_json_reader_init(&r, body->data ? body->data : "", body->len, NULL);
    int e = ward_json_expect(&r, WARD_JSON_OBJECT_BEGIN, &t);
    while (e == 0 && (e = ward_json_next(&r, &t)) == 0 && t.type == WARD_JSON_KEY)
        e = read_command_member(&r, &t, ci);
    if (e < 0)
        ward_ctl_unexpected(&r, e);
    else if (!ci->id[0] || !ci->state[0])
        fprintf(stderr, "wardctl: unexpected answer from the server: no command id or state\n");
    ward_json_reader_done(&r);
    return e < 0 ? e : !ci->id[0] || !ci->state[0] ? -EPROTO : 0;
}

/*
 * Prints a command's output to stdout: as it is, or on a terminal with
 * control characters other than newline and tab replaced and a final
 * newline.
 */
void ward_ctl_print_output(const struct ward_buf *output)
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

/* ---- commands, commands show, audit ---- */

static const char *const states[] = {"queued", "dispatched", "done", "failed", "expired"};

static const struct ward_ctl_column command_columns[] = {
    {"ID", "id"},       {"HOST", "host_id"},       {"TYPE", "type"},
    {"STATE", "state"}, {"CREATED", "created_at"}, {"EXIT", "exit_code"},
};

static const struct ward_ctl_table commands_table = {
    .key = "commands",
    .cols = command_columns,
    .n_cols = WARD_ARRAY_SIZE(command_columns),
    .empty = "no commands",
};

static const struct ward_ctl_column audit_columns[] = {
    {"TIME", "time"},   {"HOST", "host_id"}, {"COMMAND", "command_id"},
    {"EVENT", "event"}, {"ACTOR", "actor"},  {"DETAIL", "detail"},
};

static const struct ward_ctl_table audit_table = {
    .key = "entries",
    .cols = audit_columns,
    .n_cols = WARD_ARRAY_SIZE(audit_columns),
    .empty = "no audit entries",
};

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
        e = ward_ctl_add_param(&path, params[i].key, params[i].value);
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
    while (state && s < WARD_ARRAY_SIZE(states) && strcmp(state, states[s]) != 0)
        s++;
    if (state && s == WARD_ARRAY_SIZE(states))
        return ward_ctl_usage("--state: queued, dispatched, done, failed or expired");
    enum ward_diag_type t;
    if (type && ward_diag_type_of(type, &t) < 0)
        return ward_ctl_unknown_diagnostic(type);
    char host_id[WARD_CTL_FIELD_MAX];
    if (host && (rc = ward_ctl_resolve_host(cfg, host, false, host_id)) != WARD_CTL_OK)
        return rc;
    const struct ward_ctl_member params[] = {
        {"host_id", host ? host_id : NULL},
        {"state", state},
        {"type", type ? ward_diag_name(t) : NULL},
    };
    return list(cfg, "/api/v1/commands?", limit, params, WARD_ARRAY_SIZE(params), &commands_table);
}

/* Prints a command: every member but the output as "key: value" lines, then the output. */
static int show_command(const struct ward_buf *body, const void *ctx)
{
    (void)ctx;
    struct ward_ctl_command_info ci = {0};
    int e = ward_ctl_read_command(body, &ci);
    if (e == 0)
        e = ward_ctl_render_fields(body, "output");
    if (e == 0 && ci.output.len) {
        printf("output:\n");
        ward_ctl_print_output(&ci.output);
    } else if (e == 0) {
        printf("output: -\n");
    }
    ward_ctl_command_info_done(&ci);
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
    char host_id[WARD_CTL_FIELD_MAX];
    if (host && (rc = ward_ctl_resolve_host(cfg, host, false, host_id)) != WARD_CTL_OK)
        return rc;
    const struct ward_ctl_member params[] = {
        {"host_id", host ? host_id : NULL},
        {"command_id", command ? command_id : NULL},
    };
    return list(cfg, "/api/v1/audit?", limit, params, WARD_ARRAY_SIZE(params), &audit_table);
}
