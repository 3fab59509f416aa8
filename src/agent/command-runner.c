/*
 * The agent's command runner (command-runner.h).
 *
 * One thread, one loop: wait for a key, long-poll, run what came, post the
 * result, poll again. After a failed request the loop waits with full
 * jitter over an exponential window, as delivery does, so a fleet that
 * lost its server does not come back in step. Stopping writes an eventfd
 * that every wait of the thread also watches: the backoff sleep, and,
 * through ward_http_conn_set_interrupt(), the long-poll itself.
 *
 * A result is posted a few times within its own deadline when the server
 * cannot be reached; after that it is dropped and the command expires on
 * the server, which is the admin's signal that the agent could not
 * answer. The command is never run twice.
 */
#include "agent/command-runner.h"

#include "agent/diagnostics/diagnostics.h"
#include "agent/http-conn.h"
#include "agent/uploader.h"
#include "common/credential.h"
#include "common/crypto.h"
#include "common/error.h"
#include "common/gzip.h"
#include "common/json.h"
#include "common/log.h"
#include "common/time-util.h"
#include "common/uuid.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define POLL_PATH        "/api/v1/agent/command?wait=30"
#define RESULT_PATH      "/api/v1/agent/command_result"
#define POLL_WAIT_MS     30000
#define RETRY_BASE_MS    1000
#define NOT_FOUND_WAIT   3600000 /* a server without the route: ask again in an hour */
#define NO_KEY_CHECK_MS  1000
#define MIN_POLL_MS      1000 /* an empty answer sooner than this waits out the rest */
#define RESULT_TRIES     5
#define MAX_COMMAND_JSON (64 * 1024)

struct ward_runner {
    struct ward_runner_config cfg;
    char *address, *tls_ca, *root;
    int stop_fd;
    pthread_t thread;
    pthread_mutex_t lock;
    char key[WARD_CRED_MAX]; /* under lock; "" for none */
    uint64_t key_gen;        /* under lock; grows with every change */
    struct ward_uploader *up;
    uint64_t applied_gen;
    int64_t failures;
};

/* Sleeps ms or until stopped. Returns false when stopped. */
static bool sleep_or_stop(struct ward_runner *r, int64_t ms)
{
    struct pollfd p = {.fd = r->stop_fd, .events = POLLIN};
    return poll(&p, 1, ms > 0 ? (int)(ms > 3600000 ? 3600000 : ms) : 0) == 0;
}

static bool stopped(struct ward_runner *r)
{
    return !sleep_or_stop(r, 0);
}

/* Equal jitter (half the window, and up to as much again) after the nth failure in a row. */
static int64_t backoff_ms(const struct ward_runner *r)
{
    int64_t window = RETRY_BASE_MS;
    for (int64_t i = 1; i < r->failures && window < r->cfg.backoff_max_ms; i++)
        window *= 2;
    if (window > r->cfg.backoff_max_ms)
        window = r->cfg.backoff_max_ms;
    uint32_t rnd = 0;
    ward_random_bytes(&rnd, sizeof(rnd));
    return window / 2 + (int64_t)(rnd % (uint64_t)(window / 2 + 1));
}

/* ---- One command ---- */

struct command {
    char id[WARD_UUID_STR_LEN];
    char type[32];
    struct ward_diag_args args;
    bool typed;
    struct ward_buf err; /* why the command is refused; empty when it is runnable */
};

/* Reads the command object; ids and refusals go into c. Returns 0, or -EINVAL without an id. */
static int parse_command(const char *json, size_t len, struct command *c)
{
    struct ward_json_limits lim = {
        .max_depth = 2, .max_size = MAX_COMMAND_JSON, .max_string = WARD_DIAG_ARG_MAX + 1};
    struct ward_json_reader rd;
    ward_json_reader_init(&rd, json, len, &lim);
    struct ward_json_token t;
    /* Arguments may come before the type; they are checked once it is known. */
    char names[WARD_DIAG_MAX_ARGS * 2][WARD_DIAG_ARG_MAX + 1];
    char values[WARD_DIAG_MAX_ARGS * 2][WARD_DIAG_ARG_MAX + 1];
    size_t n = 0;
    bool seen_id = false, seen_type = false, seen_args = false, repeated = false;
    int e = ward_json_expect(&rd, WARD_JSON_OBJECT_BEGIN, &t);
    while (e == 0 && (e = ward_json_next(&rd, &t)) == 0 && t.type == WARD_JSON_KEY) {
        bool *seen = ward_json_key_is(&t, "id")     ? &seen_id
                     : ward_json_key_is(&t, "type") ? &seen_type
                     : ward_json_key_is(&t, "args") ? &seen_args
                                                    : NULL;
        if (seen && *seen)
            repeated = true;
        if (seen)
            *seen = true;
        if (ward_json_key_is(&t, "id")) {
            e = ward_json_expect(&rd, WARD_JSON_STRING, &t);
            char id[WARD_UUID_STR_LEN] = "";
            if (e == 0 && t.len < sizeof(id))
                memcpy(id, t.str, t.len);
            if (e == 0 && ward_uuid_normalize(id, c->id) < 0)
                c->id[0] = '\0';
        } else if (ward_json_key_is(&t, "type")) {
            e = ward_json_expect(&rd, WARD_JSON_STRING, &t);
            if (e == 0) {
                /* Printable only: the name goes into the result's error and the log. */
                size_t keep = t.len < sizeof(c->type) ? t.len : sizeof(c->type) - 1;
                for (size_t i = 0; i < keep; i++)
                    c->type[i] = t.str[i] >= 0x20 && t.str[i] < 0x7f ? t.str[i] : '?';
                c->type[keep] = '\0';
                enum ward_diag_type type;
                c->typed = keep == t.len && ward_diag_type_of(c->type, &type) == 0 &&
                           ward_diag_init(type, &c->args) == 0;
            }
        } else if (ward_json_key_is(&t, "args")) {
            e = ward_json_expect(&rd, WARD_JSON_OBJECT_BEGIN, &t);
            while (e == 0 && (e = ward_json_next(&rd, &t)) == 0 && t.type == WARD_JSON_KEY) {
                bool fits = n < WARD_DIAG_MAX_ARGS * 2 && t.len <= WARD_DIAG_ARG_MAX &&
                            !memchr(t.str, '\0', t.len);
                if (fits) {
                    memcpy(names[n], t.str, t.len);
                    names[n][t.len] = '\0';
                }
                e = ward_json_expect(&rd, WARD_JSON_STRING, &t);
                if (e == 0 && fits && t.len <= WARD_DIAG_ARG_MAX && !memchr(t.str, '\0', t.len)) {
                    memcpy(values[n], t.str, t.len);
                    values[n++][t.len] = '\0';
                } else if (e == 0 && c->err.len == 0) {
                    ward_buf_puts(&c->err, "an argument is too long, or there are too many");
                }
            }
        } else {
            e = ward_json_skip(&rd);
        }
    }
    /* The object, and the document with it, must end here: nothing may follow. */
    if (e == 0 && t.type == WARD_JSON_OBJECT_END)
        e = ward_json_expect(&rd, WARD_JSON_END, &t);
    if (c->err.len == 0 && e != 0)
        ward_buf_printf(&c->err, "not a command: %s", ward_json_error_message(&rd));
    if (c->err.len == 0 && repeated)
        ward_buf_puts(&c->err, "not a command: a key is given twice");
    ward_json_reader_done(&rd);
    if (!c->id[0])
        return -EINVAL;
    if (c->err.len == 0 && !c->typed)
        ward_buf_printf(&c->err, "unknown diagnostic '%.31s'", c->type);
    for (size_t i = 0; c->err.len == 0 && i < n; i++)
        ward_diag_set(&c->args, names[i], values[i], &c->err);
    if (c->err.len == 0)
        ward_diag_complete(&c->args, &c->err);
    return 0;
}

/*
 * Makes text valid UTF-8 in place without making it longer: a byte that
 * starts no valid sequence becomes '?', and a sequence cut at the end (the
 * output cap cuts anywhere) is dropped. JSON would turn each such byte into
 * a 3-byte U+FFFD, and a result past the server's cap would be refused.
 */
static void make_utf8(struct ward_buf *text)
{
    unsigned char *p = (unsigned char *)text->data;
    size_t n = text->len;
    for (size_t i = 0; i < n;) {
        int k = p[i] < 0x80 ? 1 : ward_json_utf8_sequence(p + i, n - i);
        if (k > 0) {
            i += (size_t)k;
        } else if (i + (size_t)-k == n && p[i] >= 0xc2 && p[i] <= 0xf4) {
            text->len = i; /* a character cut by the cap */
            p[i] = '\0';
            break;
        } else {
            p[i++] = '?';
        }
    }
}

static void write_result(struct ward_buf *out, const char *id, const char *status,
                         int64_t exit_code, struct ward_diag_out *o, const char *error,
                         int64_t duration_ms)
{
    make_utf8(&o->text);
    struct ward_json_writer w;
    ward_json_writer_init(&w, out);
    ward_json_write_object_begin(&w);
    ward_json_write_keyz(&w, "id");
    ward_json_write_stringz(&w, id);
    ward_json_write_keyz(&w, "status");
    ward_json_write_stringz(&w, status);
    ward_json_write_keyz(&w, "exit_code");
    ward_json_write_int(&w, exit_code);
    ward_json_write_keyz(&w, "output");
    ward_json_write_string(&w, o->text.data ? o->text.data : "", o->text.len);
    ward_json_write_keyz(&w, "truncated");
    ward_json_write_bool(&w, o->truncated);
    ward_json_write_keyz(&w, "error");
    if (error)
        ward_json_write_stringz(&w, error);
    else
        ward_json_write_null(&w);
    ward_json_write_keyz(&w, "duration_ms");
    ward_json_write_int(&w, duration_ms);
    ward_json_write_object_end(&w);
    ward_json_writer_finish(&w);
}

/*
 * Runs one command given as the JSON object a long-poll returns, and
 * writes the result body to post into result; a run ends early when
 * stop_fd becomes readable. Returns 0, or -EINVAL when json is not a
 * command at all (no id to answer to).
 */
static int execute(const struct ward_runner_config *cfg, int stop_fd, const char *json, size_t len,
                   struct ward_buf *result)
{
    struct command c = {.typed = false};
    ward_buf_init(&c.err, 4096);
    if (parse_command(json, len, &c) < 0) {
        ward_buf_done(&c.err);
        return -EINVAL;
    }
    struct ward_diag_out o;
    ward_diag_out_init(&o, WARD_DIAG_OUTPUT_MAX);
    int64_t started = ward_mono_ms();
    if (c.err.len == 0 && !cfg->enabled)
        ward_buf_puts(&c.err, "refused: diagnostics are turned off in this agent's configuration "
                              "(diagnostics.enabled)");
    else if (c.err.len == 0 && !cfg->allowed[c.args.type])
        ward_buf_printf(&c.err,
                        "refused: the %s diagnostic is turned off in this agent's configuration "
                        "(diagnostics.%s.enabled)",
                        ward_diag_name(c.args.type), ward_diag_name(c.args.type));
    if (c.err.len) {
        ward_log_warn(NULL, "command refused", "command", c.id, "type", c.type, "reason",
                      c.err.data);
        write_result(result, c.id, "failed", -1, &o, c.err.data, 0);
    } else {
        int64_t timeout =
            cfg->run_timeout_ms > 0 ? cfg->run_timeout_ms : WARD_DIAG_TIMEOUT_DEFAULT_MS;
        struct ward_diag_ctx ctx = {.deadline_ms = started + timeout,
                                    .root = cfg->root ? cfg->root : "",
                                    .stop_fd = stop_fd};
        ward_log_info(NULL, "running a command", "command", c.id, "type", c.type);
        int r = ward_diag_function(c.args.type)(&c.args, &ctx, &o);
        int64_t took = ward_mono_ms() - started;
        if (r >= 0)
            write_result(result, c.id, "done", r, &o, NULL, took);
        else
            write_result(result, c.id, "failed", r, &o, ward_strerror(r), took);
    }
    ward_diag_out_done(&o);
    ward_buf_done(&c.err);
    return 0;
}

/* ---- The loop ---- */

/* Applies a new key to the connection, if there is one. Returns false while there is no key. */
static bool apply_key(struct ward_runner *r)
{
    char key[WARD_CRED_MAX];
    pthread_mutex_lock(&r->lock);
    uint64_t gen = r->key_gen;
    memcpy(key, r->key, sizeof(key));
    pthread_mutex_unlock(&r->lock);
    if (gen != r->applied_gen) {
        ward_uploader_set_api_key(r->up, key[0] ? key : NULL);
        r->applied_gen = gen;
    }
    bool have = key[0] != '\0';
    explicit_bzero(key, sizeof(key));
    return have;
}

/* Posts a result, a few times if the server cannot be reached. */
static void post_result(struct ward_runner *r, const struct ward_buf *result)
{
    struct ward_buf gz = WARD_BUF_INIT, resp = WARD_BUF_INIT, err = WARD_BUF_INIT;
    if (ward_gzip_compress(result->data, result->len, 6, &gz) < 0) {
        ward_log_error(NULL, "cannot compress a command result");
        goto out;
    }
    for (int attempt = 0; attempt < RESULT_TRIES && !stopped(r); attempt++) {
        long status = 0;
        ward_buf_reset(&err);
        ward_buf_reset(&resp);
        int e = ward_uploader_post_gzip(r->up, RESULT_PATH, gz.data, gz.len, &status, &resp, &err);
        if (e == 0 && status >= 200 && status < 300)
            goto out;
        if (e == 0 && status != 503 && status != 429) {
            ward_log_warn(NULL, "the server did not take a command result", "status",
                          status == 409 ? "409 (expired or answered already)" : "refused",
                          "response", resp.data ? resp.data : "");
            goto out;
        }
        ward_log_warn(NULL, "cannot send a command result", "error",
                      err.data ? err.data : "server busy");
        if (!sleep_or_stop(r, (int64_t)RETRY_BASE_MS << attempt))
            break;
    }
    ward_log_error(NULL, "gave up sending a command result");
out:
    ward_buf_done(&gz);
    ward_buf_done(&resp);
    ward_buf_done(&err);
}

/* One long-poll and what follows. Returns how long to wait before the next. */
static int64_t poll_once(struct ward_runner *r)
{
    struct ward_buf resp = WARD_BUF_INIT, err = WARD_BUF_INIT;
    long status = 0;
    int64_t wait = 0, start = ward_mono_ms();
    int e = ward_uploader_get(r->up, POLL_PATH, &status, &resp, &err);
    if (e < 0) {
        if (!stopped(r)) {
            r->failures++;
            wait = backoff_ms(r);
            ward_log_debug(NULL, "cannot fetch commands", "error", err.data ? err.data : "");
        }
    } else if (status == 200) {
        struct ward_buf result = WARD_BUF_INIT;
        if (execute(&r->cfg, r->stop_fd, resp.data ? resp.data : "", resp.len, &result) == 0) {
            r->failures = 0;
            post_result(r, &result);
        } else {
            ward_log_warn(NULL, "the server sent something that is not a command");
            r->failures++;
            wait = backoff_ms(r);
        }
        ward_buf_done(&result);
    } else if (status == 204) {
        /* Another poll with this key took the slot, or the server does not hold polls. */
        r->failures = 0;
        wait = MIN_POLL_MS - (ward_mono_ms() - start);
    } else if (status == 404) {
        ward_log_info(NULL, "the server has no command queue; asking again in an hour");
        wait = NOT_FOUND_WAIT;
    } else {
        r->failures++;
        wait = backoff_ms(r);
        int64_t after = ward_http_retry_after_ms(ward_uploader_last_response(r->up));
        if (after > wait)
            wait = after;
        if (status == 401 || status == 403)
            ward_log_debug(NULL, "the server refused the agent's key for commands");
    }
    ward_buf_done(&resp);
    ward_buf_done(&err);
    return wait;
}

static void *runner_main(void *arg)
{
    struct ward_runner *r = arg;
    ward_http_conn_set_interrupt(r->stop_fd);
    while (!stopped(r)) {
        if (!apply_key(r)) {
            sleep_or_stop(r, NO_KEY_CHECK_MS);
            continue;
        }
        sleep_or_stop(r, poll_once(r));
    }
    return NULL;
}

int ward_runner_set_api_key(struct ward_runner *r, const char *key)
{
    if (key && *key && (strlen(key) >= WARD_CRED_MAX || ward_cred_check(key) < 0))
        return -EINVAL;
    pthread_mutex_lock(&r->lock);
    snprintf(r->key, sizeof(r->key), "%s", key ? key : "");
    r->key_gen++;
    pthread_mutex_unlock(&r->lock);
    return 0;
}

int ward_runner_start(const struct ward_runner_config *cfg, struct ward_runner **out,
                      struct ward_buf *err)
{
    struct ward_runner *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->cfg = *cfg;
    r->stop_fd = -1;
    if (r->cfg.backoff_max_ms < RETRY_BASE_MS)
        r->cfg.backoff_max_ms = RETRY_BASE_MS;
    pthread_mutex_init(&r->lock, NULL);
    int e = -ENOMEM;
    r->root = strdup(cfg->root ? cfg->root : "");
    if (!r->root)
        goto fail;
    r->cfg.root = r->root;
    r->cfg.address = r->cfg.tls_ca = NULL;
    e = ward_uploader_new_ca(cfg->address, (long)(cfg->request_timeout_ms + POLL_WAIT_MS),
                             cfg->tls_ca, &r->up, err);
    if (e < 0)
        goto fail;
    e = ward_runner_set_api_key(r, cfg->api_key);
    if (e < 0)
        goto fail;
    r->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (r->stop_fd < 0) {
        e = -errno;
        goto fail;
    }
    e = -pthread_create(&r->thread, NULL, runner_main, r);
    if (e < 0)
        goto fail;
    *out = r;
    return 0;
fail:
    if (r->stop_fd >= 0)
        close(r->stop_fd);
    ward_uploader_free(r->up);
    free(r->root);
    pthread_mutex_destroy(&r->lock);
    free(r);
    return e;
}

void ward_runner_stop(struct ward_runner *r)
{
    if (!r)
        return;
    uint64_t one = 1;
    if (write(r->stop_fd, &one, sizeof(one)) < 0)
        ward_log_error(NULL, "cannot stop the command runner", "error", strerror(errno));
    pthread_join(r->thread, NULL);
    close(r->stop_fd);
    ward_uploader_free(r->up);
    explicit_bzero(r->key, sizeof(r->key));
    free(r->root);
    pthread_mutex_destroy(&r->lock);
    free(r);
}
