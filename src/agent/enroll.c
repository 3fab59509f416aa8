/*
 * Registration and claim (see enroll.h).
 *
 * A small state machine with three states: idle (uploads go on with the key
 * the agent has, or none), register (the next step POSTs the
 * registration) and pending (the next step polls the claim status). Each
 * step is one request on the module's own connection (an uploader of its
 * own, so a registration never waits behind a wave of uploads) and ends by
 * scheduling the next one; the main loop runs a step when ward_enroll_due()
 * has come. Keeping the steps apart from the loop keeps every wait out of
 * this file: a test runs the machine step by step against a fake server.
 *
 * The waits are jittered ("equal jitter": between half the window and the
 * window) so that agents restarted together do not poll in step, and never
 * shorter than WARD_ENROLL_MIN_WAIT_MS, so no answer can make the agent
 * hammer the server. The operator hears of a pending claim once per
 * registration, not once per poll; /health says it for as long as it lasts.
 *
 * Secrets: the claim token and the API key are kept in 0600 files of the
 * state directory (identity.h writes them atomically), wiped from memory
 * when dropped, and never logged. A 2xx body, which may hold a key, is
 * never logged either; error bodies come from the server's error handler.
 */
#include "agent/enroll.h"

#include "agent/identity.h"
#include "agent/uploader.h"
#include "common/credential.h"
#include "common/crypto.h"
#include "common/error.h"
#include "common/json.h"
#include "common/log.h"
#include "common/time-util.h"
#include "common/uuid.h"
#include "ward-version.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#define REGISTER_PATH "/agent/register"
/* The longest Retry-After taken, in seconds. */
#define MAX_EXPONENT 30

enum state {
    IDLE,     /* uploads go on with the key there is, or none */
    REGISTER, /* the next step registers */
    PENDING,  /* registered; the next step polls the claim status */
};

struct ward_enroll {
    struct ward_uploader *up;
    char *state_dir;
    char *shown_dir; /* absolute, for the command the operator runs */
    char id[WARD_UUID_STR_LEN];
    char hostname[WARD_ENROLL_HOSTNAME_MAX + 1];
    char key[WARD_CRED_INPUT_MAX + 1];   /* "" for none */
    bool key_from_option;                /* --api-key: never stored, never removed */
    char token[WARD_CRED_INPUT_MAX + 1]; /* the claim token, "" until needed */
    char enroll_header[sizeof(WARD_ENROLL_TOKEN_HEADER) + WARD_CRED_INPUT_MAX + 4];
    struct ward_enroll_timing timing;
    int64_t backoff_max_ms;
    struct ward_health *health;
    enum state state;
    int64_t due;
    unsigned waits; /* waits in a row since the last change of state */
    bool told;      /* the operator was told how to claim the agent, this time round */
    bool refused;   /* a 403 or 409 was logged, and nothing changed since */
    bool failing;   /* a network error or 5xx was logged, and nothing got through since */
    struct ward_buf resp, err;
};

static const struct ward_enroll_timing default_timing = {
    .poll_base_ms = WARD_ENROLL_POLL_BASE_MS,
    .poll_max_ms = WARD_ENROLL_POLL_MAX_MS,
    .retry_base_ms = WARD_ENROLL_RETRY_BASE_MS,
    .min_ms = WARD_ENROLL_MIN_WAIT_MS,
};

static void wipe(char *s, size_t size)
{
    explicit_bzero(s, size);
}

static void set_health(struct ward_enroll *e, enum ward_health_level level, const char *reason)
{
    if (e->health)
        ward_health_set(e->health, "claim", level, reason, ward_now_ms());
}

/* The next step after a wait of the n-th size in a row: see struct ward_enroll_timing. */
static void wait_next(struct ward_enroll *e, int64_t base, int64_t max, int64_t at_least)
{
    unsigned n = e->waits < MAX_EXPONENT ? e->waits : MAX_EXPONENT;
    int64_t window = base <= 0 ? 0 : base > (max >> n) ? max : base << n;
    uint64_t rnd = 0;
    ward_random_bytes(&rnd, sizeof(rnd));
    int64_t wait = window / 2 + (int64_t)(rnd % (uint64_t)(window - window / 2 + 1));
    if (wait < e->timing.min_ms)
        wait = e->timing.min_ms;
    if (wait < at_least)
        wait = at_least;
    e->due = ward_mono_ms() + wait;
    if (e->waits < MAX_EXPONENT)
        e->waits++;
}

static void wait_poll(struct ward_enroll *e)
{
    wait_next(e, e->timing.poll_base_ms, e->timing.poll_max_ms, 0);
}

/*
 * A request that did not get through (no answer, or 408, 429, 5xx when
 * answered): wait like uploads do, or as long as the answer's Retry-After.
 */
static void transient(struct ward_enroll *e, const char *step, const char *why, bool answered)
{
    if (!e->failing)
        ward_log_warn(NULL, "registration request failed, will retry", "step", step, "url",
                      ward_uploader_url(e->up), "error", why);
    e->failing = true;
    wait_next(e, e->timing.retry_base_ms, e->backoff_max_ms,
              answered ? ward_http_retry_after_ms(ward_uploader_last_response(e->up)) : 0);
}

/* The error body of the last answer: the server's reason (never a 2xx body). */
static const char *reason(const struct ward_enroll *e)
{
    return e->resp.data ? e->resp.data : "";
}

/* Loads the claim token, or makes and stores one on first need. */
static int claim_token(struct ward_enroll *e)
{
    if (e->token[0])
        return 0;
    ward_buf_reset(&e->err);
    int r = ward_state_file_read(e->state_dir, WARD_ENROLL_TOKEN_FILE, e->token, sizeof(e->token),
                                 &e->err);
    if (r > 0 && ward_cred_check(e->token) == 0)
        return 0;
    if (r >= 0 || r == -EFBIG) {
        wipe(e->token, sizeof(e->token));
        ward_buf_reset(&e->err);
        ward_buf_printf(&e->err, "%s/%s does not hold a claim token; fix or remove it",
                        e->state_dir, WARD_ENROLL_TOKEN_FILE);
        return -EINVAL;
    }
    if (r != -ENOENT)
        return r;
    char fresh[WARD_CRED_MAX];
    r = ward_cred_claim_token(fresh);
    if (r == 0)
        r = ward_state_file_write(e->state_dir, WARD_ENROLL_TOKEN_FILE, fresh, &e->err);
    if (r == 0)
        memcpy(e->token, fresh, strlen(fresh) + 1);
    else if (!e->err.len)
        ward_buf_printf(&e->err, "cannot make a claim token: %s", ward_strerror(r));
    wipe(fresh, sizeof(fresh));
    return r;
}

/*
 * Reads {"status": ..., "apiKey": ...} (other keys are skipped) into
 * status and key ("" when absent). Returns 0 or a negative error.
 */
static int parse_answer(const struct ward_buf *body, char *status, size_t status_size, char *key,
                        size_t key_size)
{
    status[0] = key[0] = '\0';
    struct ward_json_limits lim = {.max_depth = 8, .max_size = WARD_HTTP_BODY_KEEP};
    struct ward_json_reader rd;
    ward_json_reader_init(&rd, body->data ? body->data : "", body->len, &lim);
    struct ward_json_token tok = {0};
    int r = ward_json_expect(&rd, WARD_JSON_OBJECT_BEGIN, &tok);
    while (r == 0 && (r = ward_json_next(&rd, &tok)) == 0 && tok.type == WARD_JSON_KEY) {
        char *field = ward_json_key_is(&tok, "status")   ? status
                      : ward_json_key_is(&tok, "apiKey") ? key
                                                         : NULL;
        size_t size = field == status ? status_size : key_size;
        if (!field) {
            r = ward_json_skip(&rd);
            continue;
        }
        r = ward_json_expect(&rd, WARD_JSON_STRING, &tok);
        if (r == 0 && (tok.len >= size || memchr(tok.str, '\0', tok.len)))
            r = -EINVAL;
        if (r == 0) {
            memcpy(field, tok.str, tok.len);
            field[tok.len] = '\0';
        }
    }
    if (r == 0 && tok.type != WARD_JSON_OBJECT_END)
        r = -EINVAL;
    ward_json_reader_done(&rd);
    return r;
}

/* Registration is over: the key is kept, stored and used. */
static bool claimed(struct ward_enroll *e, const char *key)
{
    if (ward_cred_check(key) < 0) {
        ward_log_error(NULL, "the server's answer holds no usable API key; will retry", "agent",
                       e->id);
        wait_poll(e);
        return false;
    }
    wipe(e->key, sizeof(e->key));
    memcpy(e->key, key, strlen(key) + 1);
    e->key_from_option = false;
    ward_buf_reset(&e->err);
    int r = ward_state_file_write(e->state_dir, WARD_ENROLL_KEY_FILE, e->key, &e->err);
    if (r < 0)
        ward_log_error(NULL, "cannot store the API key; it is used until the agent stops", "error",
                       e->err.data ? e->err.data : ward_strerror(r));
    ward_log_info(NULL, "claimed", "agent", e->id);
    e->state = IDLE;
    e->due = INT64_MAX;
    e->waits = 0;
    e->told = e->refused = e->failing = false;
    set_health(e, WARD_HEALTH_OK, NULL);
    return true;
}

/* Registered, not claimed yet: tells the operator once, then polls. */
static void pending(struct ward_enroll *e)
{
    if (e->state != PENDING)
        e->waits = 0;
    e->state = PENDING;
    e->refused = false;
    if (!e->told) {
        char cmd[4200];
        snprintf(cmd, sizeof(cmd), "wardctl agents claim %s \"$(cat %s/%s)\"", e->id, e->shown_dir,
                 WARD_ENROLL_TOKEN_FILE);
        ward_log_warn(NULL, "waiting to be claimed by an admin, who runs the command in 'claim'",
                      "agent", e->id, "hostname", e->hostname, "claim", cmd);
        e->told = true;
    }
    set_health(e, WARD_HEALTH_DEGRADED, "waiting to be claimed by an admin");
    wait_poll(e);
}

/* A 403 or 409 of the registration: logged once, retried slowly, shown in /health. */
static void refused(struct ward_enroll *e, long status)
{
    char why[WARD_UUID_STR_LEN + 200];
    if (status == 409) {
        char cmd[WARD_UUID_STR_LEN + 32];
        snprintf(cmd, sizeof(cmd), "wardctl agents delete %s", e->id);
        if (!e->refused)
            ward_log_error(NULL,
                           "the server has this agent id registered with another claim token; "
                           "an admin must delete the host before the agent can register",
                           "agent", e->id, "delete", cmd, "response", reason(e));
        snprintf(why, sizeof(why),
                 "agent id %s is registered with another claim token; an admin must delete it",
                 e->id);
    } else {
        if (!e->refused)
            ward_log_error(NULL, "the server refused the enrollment token (--enroll-token)",
                           "agent", e->id, "response", reason(e));
        snprintf(why, sizeof(why), "the server refused the enrollment token");
    }
    e->refused = true;
    set_health(e, WARD_HEALTH_DEGRADED, why);
    wait_poll(e);
}

/* An answer that fits none of the cases: logged (without a 2xx body), retried slowly. */
static void unexpected(struct ward_enroll *e, const char *step, long status)
{
    char code[32];
    snprintf(code, sizeof(code), "%ld", status);
    ward_log_error(NULL, "unexpected answer to a registration request, will retry", "step", step,
                   "status", code, "response",
                   status >= 200 && status < 300 ? "(not shown)" : reason(e));
    wait_poll(e);
}

static bool transient_status(long status)
{
    return status == 408 || status == 429 || status >= 500;
}

static int register_body(const struct ward_enroll *e, struct ward_buf *out)
{
    char hash[WARD_CRED_HASH];
    ward_cred_hash(e->token, hash);
    struct ward_json_writer w;
    ward_json_writer_init(&w, out);
    ward_json_write_object_begin(&w);
    ward_json_write_keyz(&w, "agentId");
    ward_json_write_stringz(&w, e->id);
    ward_json_write_keyz(&w, "claimTokenHash");
    ward_json_write_stringz(&w, hash);
    ward_json_write_keyz(&w, "hostname");
    ward_json_write_stringz(&w, e->hostname);
    ward_json_write_keyz(&w, "agentVersion");
    ward_json_write_stringz(&w, WARD_VERSION);
    ward_json_write_object_end(&w);
    return ward_json_writer_finish(&w);
}

static bool do_register(struct ward_enroll *e)
{
    int r = claim_token(e);
    if (r < 0) {
        if (!e->refused)
            ward_log_error(NULL, "cannot register without a claim token; will retry", "error",
                           e->err.data ? e->err.data : ward_strerror(r));
        e->refused = true;
        set_health(e, WARD_HEALTH_DEGRADED, "no claim token: see the log");
        wait_poll(e);
        return false;
    }
    struct ward_buf body = WARD_BUF_INIT;
    r = register_body(e, &body);
    long status = 0;
    ward_buf_reset(&e->resp);
    if (r == 0)
        r = ward_uploader_post_json(e->up, REGISTER_PATH, e->enroll_header, body.data, body.len,
                                    &status, &e->resp, &e->err);
    ward_buf_done(&body);
    if (r < 0) {
        transient(e, "register", e->err.data ? e->err.data : ward_strerror(r), false);
        return false;
    }
    if (transient_status(status)) {
        char code[32];
        snprintf(code, sizeof(code), "status %ld", status);
        transient(e, "register", code, true);
        return false;
    }
    e->failing = false;
    if (status == 403 || status == 409) {
        refused(e, status);
        return false;
    }
    char answer[32], key[WARD_CRED_INPUT_MAX + 1];
    bool got = false;
    if (status != 200 || parse_answer(&e->resp, answer, sizeof(answer), key, sizeof(key)) < 0)
        unexpected(e, "register", status);
    else if (strcmp(answer, "claimed") == 0)
        got = claimed(e, key);
    else if (strcmp(answer, "pending_claim") == 0)
        pending(e);
    else
        unexpected(e, "register", status);
    wipe(key, sizeof(key));
    if (e->resp.data)
        explicit_bzero(e->resp.data, e->resp.len);
    return got;
}

static bool poll_claim(struct ward_enroll *e)
{
    char path[64];
    snprintf(path, sizeof(path), "/agents/%s/claim-status", e->id);
    long status = 0;
    ward_buf_reset(&e->resp);
    int r = ward_uploader_get(e->up, path, &status, &e->resp, &e->err);
    if (r < 0) {
        transient(e, "claim-status", e->err.data ? e->err.data : ward_strerror(r), false);
        return false;
    }
    if (transient_status(status)) {
        char code[32];
        snprintf(code, sizeof(code), "status %ld", status);
        transient(e, "claim-status", code, true);
        return false;
    }
    e->failing = false;
    if (status == 404) {
        ward_log_info(NULL, "the server does not know the agent (any more); registering again",
                      "agent", e->id);
        e->state = REGISTER;
        e->due = ward_mono_ms();
        return false;
    }
    char answer[32], key[WARD_CRED_INPUT_MAX + 1];
    bool got = false;
    if (status != 200 || parse_answer(&e->resp, answer, sizeof(answer), key, sizeof(key)) < 0)
        unexpected(e, "claim-status", status);
    else if (strcmp(answer, "claimed") == 0)
        got = claimed(e, key);
    else if (strcmp(answer, "pending") == 0)
        wait_poll(e);
    else
        unexpected(e, "claim-status", status);
    wipe(key, sizeof(key));
    if (e->resp.data)
        explicit_bzero(e->resp.data, e->resp.len);
    return got;
}

bool ward_enroll_run(struct ward_enroll *e)
{
    switch (e->state) {
    case REGISTER:
        return do_register(e);
    case PENDING:
        return poll_claim(e);
    case IDLE:
        break;
    }
    return false;
}

int64_t ward_enroll_due(const struct ward_enroll *e)
{
    return e->state == IDLE ? INT64_MAX : e->due;
}

const char *ward_enroll_key(const struct ward_enroll *e)
{
    return e->key[0] ? e->key : NULL;
}

bool ward_enroll_active(const struct ward_enroll *e)
{
    return e->state != IDLE;
}

void ward_enroll_reject(struct ward_enroll *e)
{
    if (e->state != IDLE)
        return;
    if (e->key[0] && e->key_from_option) {
        ward_log_error(NULL, "the server rejected the API key of --api-key; registering", "agent",
                       e->id);
    } else if (e->key[0]) {
        ward_buf_reset(&e->err);
        if (ward_state_file_remove(e->state_dir, WARD_ENROLL_KEY_FILE, &e->err) < 0)
            ward_log_error(NULL, "cannot remove the rejected API key", "error", e->err.data);
        ward_log_warn(NULL, "the server rejected the stored API key; removed it, registering",
                      "agent", e->id);
    } else {
        ward_log_info(NULL, "the server requires an API key; registering", "agent", e->id);
    }
    set_health(e, WARD_HEALTH_DEGRADED,
               e->key[0] ? "the server rejected the API key; registering"
                         : "the server requires an API key; registering");
    wipe(e->key, sizeof(e->key));
    e->state = REGISTER;
    e->due = ward_mono_ms();
    e->waits = 0;
    e->refused = e->failing = false;
}

/* Loads the key: the configured one, else the stored one, else none. */
static int load_key(struct ward_enroll *e, const char *option, struct ward_buf *err)
{
    if (option && *option) {
        if (ward_cred_check(option) < 0) {
            ward_buf_printf(err, "--api-key: expected 1 to %d printable characters without spaces",
                            WARD_CRED_INPUT_MAX);
            return -EINVAL;
        }
        memcpy(e->key, option, strlen(option) + 1);
        e->key_from_option = true;
        return 0;
    }
    int r = ward_state_file_read(e->state_dir, WARD_ENROLL_KEY_FILE, e->key, sizeof(e->key), err);
    if (r == -ENOENT)
        return 0;
    if (r == -EFBIG || (r > 0 && ward_cred_check(e->key) < 0)) {
        wipe(e->key, sizeof(e->key));
        ward_buf_reset(err);
        ward_buf_printf(err, "%s/%s does not hold an API key; fix or remove it", e->state_dir,
                        WARD_ENROLL_KEY_FILE);
        return -EINVAL;
    }
    return r < 0 ? r : 0;
}

static int set_names(struct ward_enroll *e, const struct ward_enroll_config *cfg,
                     struct ward_buf *err)
{
    const char *host = cfg->hostname;
    struct utsname u;
    if (!host || !*host) {
        if (uname(&u) < 0) {
            ward_buf_printf(err, "cannot read the host name: %s", strerror(errno));
            return -errno;
        }
        host = u.nodename;
    }
    size_t n = strlen(host);
    if (n == 0 || n > WARD_ENROLL_HOSTNAME_MAX) {
        ward_buf_printf(err, "--hostname: expected 1 to %d bytes", WARD_ENROLL_HOSTNAME_MAX);
        return -EINVAL;
    }
    memcpy(e->hostname, host, n + 1);
    const char *token = cfg->enroll_token;
    if (token && *token) {
        if (ward_cred_check(token) < 0) {
            ward_buf_printf(err,
                            "--enroll-token: expected 1 to %d printable characters without spaces",
                            WARD_CRED_INPUT_MAX);
            return -EINVAL;
        }
        snprintf(e->enroll_header, sizeof(e->enroll_header), "%s: %s\r\n", WARD_ENROLL_TOKEN_HEADER,
                 token);
    }
    if (ward_uuid_normalize(cfg->agent_id, e->id) < 0) {
        ward_buf_printf(err, "not an agent id");
        return -EINVAL;
    }
    e->state_dir = strdup(cfg->state_dir);
    char *abs = realpath(cfg->state_dir, NULL);
    e->shown_dir = abs ? abs : strdup(cfg->state_dir);
    return e->state_dir && e->shown_dir ? 0 : -ENOMEM;
}

int ward_enroll_new(const struct ward_enroll_config *cfg, struct ward_enroll **out,
                    struct ward_buf *err)
{
    struct ward_enroll *e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    e->timing = cfg->timing ? *cfg->timing : default_timing;
    e->backoff_max_ms = cfg->backoff_max_ms > 0 ? cfg->backoff_max_ms : WARD_ENROLL_POLL_MAX_MS;
    e->health = cfg->health;
    e->state = IDLE;
    e->due = INT64_MAX;
    ward_buf_init(&e->resp, 0);
    ward_buf_init(&e->err, 0);
    int r = set_names(e, cfg, err);
    if (r == 0)
        r = load_key(e, cfg->api_key, err);
    if (r == 0) {
        r = ward_uploader_new_ca(cfg->address, (long)cfg->timeout_ms, cfg->tls_ca, &e->up, err);
        if (r == -EINVAL && !err->len)
            ward_buf_printf(err, "bad server address");
    }
    if (r < 0) {
        ward_enroll_free(e);
        return r;
    }
    /*
     * With an enrollment token and no key, register at once: a server with
     * a shared key (-k) takes signed uploads without a key, so no 401 may
     * ever come to start it, and the configuration route still needs one.
     */
    if (!e->key[0] && e->enroll_header[0]) {
        ward_log_info(NULL, "no API key yet; registering with the enrollment token", "agent",
                      e->id);
        set_health(e, WARD_HEALTH_DEGRADED, "registering with the enrollment token");
        e->state = REGISTER;
        e->due = ward_mono_ms();
    }
    *out = e;
    return 0;
}

void ward_enroll_free(struct ward_enroll *e)
{
    if (!e)
        return;
    ward_uploader_free(e->up);
    wipe(e->key, sizeof(e->key));
    wipe(e->token, sizeof(e->token));
    wipe(e->enroll_header, sizeof(e->enroll_header));
    if (e->resp.data)
        explicit_bzero(e->resp.data, e->resp.len);
    ward_buf_done(&e->resp);
    ward_buf_done(&e->err);
    free(e->state_dir);
    free(e->shown_dir);
    free(e);
}
