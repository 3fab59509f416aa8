/*
 * Diagnostics for agents: the long-poll for the next command, and the
 * route its result comes back by (docs/api.md, "The agent's side").
 *
 *   GET  /api/v1/agent/command[?wait=N]  200 with a command, or 204 after N s (at most 30)
 *   POST /api/v1/agent/command_result    {"id", "status", "exit_code", "output", ...}
 *
 * A poll that finds nothing waits suspended (commands.h), holding no
 * thread, under its host's id: queueing a command for the host wakes it,
 * and it looks again. Only an agent key may call these routes, since a
 * command belongs to exactly one host.
 *
 * A command is marked dispatched when it is put in a response. A poll
 * whose agent closed its connection while it waited takes nothing; if the
 * agent is gone anyway (the connection broke without a word) the command
 * is lost to it and expires after --command-result-timeout: a diagnostic
 * runs at most once, never twice.
 */
#include "server/api/api.h"

#include "common/error.h"
#include "common/json.h"
#include "common/log.h"
#include "common/time-util.h"
#include "common/uuid.h"
#include "server/auth.h"
#include "server/commands.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Bounds of a result: the body on the wire (JSON escapes included), and the output in it. */
#define MAX_RESULT_BODY   (2 * 1024 * 1024)
#define MAX_RESULT_OUTPUT (256 * 1024)
#define MAX_RESULT_ERROR  1024

/* The agent's host, or NULL after answering 403: only an agent key has one. */
static const char *agent_host(struct ward_http_request *req)
{
    const struct ward_principal *p = ward_auth_principal(req);
    if (p->caller == WARD_CALLER_AGENT)
        return p->host_id;
    ward_http_error(req, 403, "only an agent's key can fetch commands and send results");
    return NULL;
}

static int write_for_agent(const struct ward_command *c, void *userdata)
{
    struct ward_json_writer *w = userdata;
    char ts[WARD_RFC3339_LEN];
    ward_json_write_object_begin(w);
    ward_json_write_keyz(w, "id");
    ward_json_write_stringz(w, c->id);
    ward_json_write_keyz(w, "type");
    ward_json_write_stringz(w, c->type);
    ward_json_write_keyz(w, "args");
    ward_json_write_raw(w, c->args, strlen(c->args));
    ward_time_format_rfc3339(c->created_ms, ts);
    ward_json_write_keyz(w, "created_at");
    ward_json_write_stringz(w, ts);
    ward_time_format_rfc3339(c->expires_ms, ts);
    ward_json_write_keyz(w, "expires_at");
    ward_json_write_stringz(w, ts);
    ward_json_write_object_end(w);
    return 0;
}

static void poll_commands(struct ward_http_request *req, struct ward_api *api, const char *host,
                          int64_t deadline);

static void resume_poll(struct ward_http_request *req, void *app)
{
    int64_t deadline;
    enum ward_wait_end end = ward_commands_resumed(req, &deadline);
    if (end == WARD_WAIT_STOPPING) {
        ward_http_add_header(req, "Retry-After", "5");
        ward_http_error(req, 503, "the server is stopping");
        return;
    }
    if (end == WARD_WAIT_REPLACED || end == WARD_WAIT_GONE) {
        /* A newer poll of the same agent waits, or nobody reads this: no command for it. */
        ward_http_respond(req, 204, NULL, NULL, 0);
        return;
    }
    const struct ward_principal *p = ward_auth_principal(req);
    /* Look once more after a timeout too: it costs one read, and the answer is never stale. */
    poll_commands(req, app, p->host_id, end == WARD_WAIT_WOKEN ? deadline : 0);
}

/* Answers with the host's next command, or waits for one until deadline (monotonic ms). */
static void poll_commands(struct ward_http_request *req, struct ward_api *api, const char *host,
                          int64_t deadline)
{
    /* An agent that left while its poll waited must not be handed a command it never reads. */
    if (ward_http_peer_gone(req)) {
        ward_http_respond(req, 204, NULL, NULL, 0);
        return;
    }
    uint64_t seq = ward_commands_seq(api->commands, host);
    struct ward_buf out = WARD_BUF_INIT;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &out);
    int r = ward_store_command_dispatch(api->store, host, ward_now_ms(), write_for_agent, &w);
    if (r == 0) {
        ward_api_respond_json(req, 200, &w, &out);
        return;
    }
    ward_buf_done(&out);
    if (r != WARD_E_NOT_FOUND) {
        ward_api_store_failed(req, "cannot hand out a command", r);
        return;
    }
    if (deadline > ward_mono_ms()) {
        r = ward_commands_wait(api->commands, req, host, seq, deadline, true, resume_poll);
        if (r == 0)
            return;
        ward_http_add_header(req, "Retry-After", "5");
        ward_http_error(req, 503, "%s",
                        r == -ESHUTDOWN     ? "the server is stopping"
                        : r == WARD_E_LIMIT ? "too many agents are waiting"
                                            : "cannot wait for a command");
        return;
    }
    ward_http_respond(req, 204, NULL, NULL, 0);
}

void ward_api_agent_command(struct ward_http_request *req, void *app)
{
    /* A HEAD would hand out a command and send no body: the command would be lost. */
    if (strcmp(ward_http_method(req), "GET") != 0) {
        ward_http_add_header(req, "Allow", "GET");
        ward_http_error(req, 405, "fetching a command takes GET");
        return;
    }
    const char *host = agent_host(req);
    int64_t deadline;
    if (host && ward_api_wait_param(req, WARD_COMMANDS_MAX_WAIT_MS / 1000, &deadline))
        poll_commands(req, app, host, deadline);
}

/* A result as the agent sends it; output and error are copies. */
struct result {
    char id[WARD_UUID_STR_LEN];
    struct ward_command_result res;
    struct ward_buf output, error;
};

/* Copies a JSON string into b, NUL bytes made '?', so the text stays one C string. */
static int copy_text(const struct ward_json_token *t, struct ward_buf *b, size_t max)
{
    if (t->len > max)
        return WARD_E_LIMIT;
    ward_buf_reset(b);
    if (ward_buf_reserve(b, t->len + 1) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < t->len; i++)
        b->data[b->len++] = t->str[i] ? t->str[i] : '?';
    b->data[b->len] = '\0';
    return 0;
}

/* Reads a result body; answers 400 or 413 and returns a negative error when it is not one. */
static int read_result(struct ward_http_request *req, const char *body, size_t len,
                       struct result *out)
{
    struct ward_json_limits lim = {
        .max_depth = 2, .max_size = MAX_RESULT_BODY, .max_string = MAX_RESULT_BODY};
    struct ward_json_reader r;
    ward_json_reader_init(&r, body, len, &lim);
    struct ward_json_token t;
    const char *why = NULL;
    char limit[48];
    bool too_big = false;
    int e = ward_json_expect(&r, WARD_JSON_OBJECT_BEGIN, &t);
    while (e == 0 && !why && (e = ward_json_next(&r, &t)) == 0 && t.type == WARD_JSON_KEY) {
        if (ward_json_key_is(&t, "id")) {
            e = ward_json_expect(&r, WARD_JSON_STRING, &t);
            char id[WARD_UUID_STR_LEN] = "";
            if (e == 0 && t.len < sizeof(id))
                memcpy(id, t.str, t.len);
            if (e == 0 && ward_uuid_normalize(id, out->id) < 0)
                why = "id: not a UUID";
        } else if (ward_json_key_is(&t, "status")) {
            e = ward_json_expect(&r, WARD_JSON_STRING, &t);
            if (e == 0 && ward_json_key_is(&t, "done"))
                out->res.state = "done";
            else if (e == 0 && ward_json_key_is(&t, "failed"))
                out->res.state = "failed";
            else if (e == 0)
                why = "status: done or failed";
        } else if (ward_json_key_is(&t, "exit_code")) {
            e = ward_json_expect(&r, WARD_JSON_INT, &t);
            if (e == 0 && (t.i < -100000 || t.i > 100000))
                why = "exit_code: out of range";
            out->res.exit_code = t.i;
        } else if (ward_json_key_is(&t, "truncated")) {
            e = ward_json_next(&r, &t);
            if (e == 0 && t.type != WARD_JSON_TRUE && t.type != WARD_JSON_FALSE)
                why = "truncated: true or false";
            out->res.truncated = t.type == WARD_JSON_TRUE;
        } else if (ward_json_key_is(&t, "output") || ward_json_key_is(&t, "error")) {
            bool output = ward_json_key_is(&t, "output");
            e = ward_json_next(&r, &t);
            if (e == 0 && t.type == WARD_JSON_STRING) {
                int c = copy_text(&t, output ? &out->output : &out->error,
                                  output ? MAX_RESULT_OUTPUT : MAX_RESULT_ERROR);
                too_big = output && c == WARD_E_LIMIT;
                if (c < 0) {
                    snprintf(limit, sizeof(limit), "%s: at most %d bytes",
                             output ? "output" : "error",
                             output ? MAX_RESULT_OUTPUT : MAX_RESULT_ERROR);
                    why = limit;
                }
            } else if (e == 0 && t.type != WARD_JSON_NULL) {
                why = output ? "output: a string" : "error: a string";
            }
        } else {
            e = ward_json_skip(&r);
        }
    }
    if (e == 0 && !why &&
        (t.type != WARD_JSON_OBJECT_END || ward_json_next(&r, &t) != 0 || t.type != WARD_JSON_END))
        e = WARD_E_JSON_SYNTAX;
    if (e == WARD_E_JSON_SIZE)
        too_big = true;
    if (!why && e == 0 && (!out->id[0] || !out->res.state))
        why = "id and status are required";
    int result = 0;
    if (too_big) {
        ward_http_error(req, 413, "a result holds at most %d bytes of output", MAX_RESULT_OUTPUT);
        result = WARD_E_LIMIT;
    } else if (why || e != 0) {
        ward_http_error(req, 400, "not a command result: %s",
                        why ? why : ward_json_error_message(&r));
        result = -EINVAL;
    }
    ward_json_reader_done(&r);
    return result;
}

void ward_api_agent_command_result(struct ward_http_request *req, void *app)
{
    struct ward_api *api = app;
    const char *host = agent_host(req);
    if (!host)
        return;
    size_t len;
    const char *body = ward_http_body(req, &len);
    if (len > MAX_RESULT_BODY) {
        ward_http_error(req, 413, "a result body holds at most %d bytes", MAX_RESULT_BODY);
        return;
    }
    struct result res = {.res = {.finished_ms = 0}};
    ward_buf_init(&res.output, 0);
    ward_buf_init(&res.error, 0);
    if (read_result(req, body ? body : "", len, &res) == 0) {
        res.res.output = res.output.data;
        res.res.output_len = res.output.len;
        res.res.error = res.error.len ? res.error.data : NULL;
        res.res.finished_ms = ward_now_ms();
        int r = ward_store_command_finish(api->store, res.id, host, &res.res);
        if (r == WARD_E_NOT_FOUND) {
            ward_http_error(req, 404, "no command %s for this agent", res.id);
        } else if (r == -EALREADY) {
            ward_http_error(req, 409, "command %s is not waiting for a result", res.id);
        } else if (r < 0) {
            ward_api_store_failed(req, "cannot store a result", r);
        } else {
            char code[24], bytes[24];
            snprintf(code, sizeof(code), "%lld", (long long)res.res.exit_code);
            snprintf(bytes, sizeof(bytes), "%zu", res.output.len);
            ward_log_info(ward_http_request_id(req), "command finished", "command", res.id, "host",
                          host, "status", res.res.state, "exit_code", code, "output_bytes", bytes);
            ward_commands_wake(api->commands, res.id);
            static const char ok[] = "{\"status\":\"ok\"}";
            ward_http_respond(req, 200, "application/json", ok, sizeof(ok) - 1);
        }
    }
    ward_buf_done(&res.output);
    ward_buf_done(&res.error);
}
