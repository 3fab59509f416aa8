/*
 * Tests of the agent's registration and claim (enroll.c), and of delivery's
 * side of it (a 401 pauses uploads and keeps the batch; a new key resumes
 * them), against a fake ward-server: a thread on a loopback socket that
 * answers POST /agent/register, GET /agents/ID/claim-status and POST
 * /api/v1/ingest the way the test asks, one request per connection, and
 * records what it got. The waits are zero in most tests, and the steps are
 * run one by one, so nothing depends on timing; the one test of the default
 * waits checks bounds that hold however slowly it runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "loopback.h"

#include "agent/delivery.h"
#include "agent/enroll.h"
#include "agent/health.h"
#include "common/buf.h"
#include "common/credential.h"
#include "common/error.h"
#include "common/log.h"
#include "common/time-util.h"

#define AGENT_ID "0190d3a4-5b6c-7d8e-9f00-112233445566"
#define NEW_KEY  "wk_abcdefghijkl_abcdefghijklmnopqrstuvwxyz"
#define ENROLL   "enroll-me-please"

enum reg_mode {
    REG_PENDING,  /* 200 pending_claim */
    REG_CLAIMED,  /* 200 claimed with NEW_KEY, when the enrollment token is right; else 403 */
    REG_CONFLICT, /* 409 */
};

struct server {
    struct loopback_server net;
    pthread_mutex_t lock;
    /* What to answer. */
    enum reg_mode reg;
    int pending_polls;  /* claim-status answers "pending" this many times, then "claimed" */
    int poll_not_found; /* the next this many claim-status polls answer 404 */
    int ingest_status;  /* the status of POST /api/v1/ingest */
    bool challenge;     /* its 401 carries WWW-Authenticate (about the key), else not (signature) */
    bool proxy;         /* the challenge is a proxy's Basic login, not ward's */
    /* What came. */
    int registers, polls, ingests, others;
    char reg_head[4096], reg_body[4096], poll_head[4096], ingest_head[4096];
};

/* Answers status with body, and with extra header lines ("" for none). */
static void respond_with(int fd, int status, const char *extra, const char *body)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "%sConnection: close\r\n\r\n",
                     status, strlen(body), extra);
    loopback_send_all(fd, head, (size_t)n);
    loopback_send_all(fd, body, strlen(body));
}

static void respond(int fd, int status, const char *body)
{
    respond_with(fd, status, "", body);
}

static void keep(char *dst, size_t size, const char *src, size_t n)
{
    n = n < size - 1 ? n : size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Reads one request and answers it. */
static void serve(void *ctx, int fd)
{
    struct server *s = ctx;
    char buf[65536];
    size_t len = 0;
    char *end = NULL;
    while (!end) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) == 0) {
            if (s->net.stop)
                return;
            continue;
        }
        ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (n <= 0)
            return;
        len += (size_t)n;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    size_t head = (size_t)(end + 4 - buf);
    const char *cl = strcasestr(buf, "Content-Length:");
    size_t want = cl && cl < end ? strtoul(cl + 15, NULL, 10) : 0;
    while (len - head < want && len < sizeof(buf) - 1) {
        ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (n <= 0)
            return;
        len += (size_t)n;
    }
    buf[len] = '\0';

    pthread_mutex_lock(&s->lock);
    char path[128];
    snprintf(path, sizeof(path), "/agents/%s/claim-status", AGENT_ID);
    if (strncmp(buf, "POST /agent/register ", 21) == 0) {
        s->registers++;
        keep(s->reg_head, sizeof(s->reg_head), buf, head);
        keep(s->reg_body, sizeof(s->reg_body), buf + head, len - head);
        bool token = strstr(s->reg_head, "X-Ward-Enroll-Token: " ENROLL "\r\n") != NULL;
        if (s->reg == REG_CONFLICT)
            respond(fd, 409,
                    "{\"error\":\"agent is registered already with another claim token\"}");
        else if (s->reg == REG_CLAIMED && token)
            respond(fd, 200,
                    "{\"status\":\"claimed\",\"apiKey\":\"" NEW_KEY "\",\"agentId\":\"" AGENT_ID
                    "\",\"hostStatus\":\"active\"}");
        else if (s->reg == REG_CLAIMED)
            respond(fd, 403, "{\"error\":\"wrong enrollment token\"}");
        else
            respond(fd, 200,
                    "{\"status\":\"pending_claim\",\"pollUrl\":\"/agents/" AGENT_ID
                    "/claim-status\",\"claimUrl\":\"/agents/claim\",\"agentId\":\"" AGENT_ID
                    "\",\"hostStatus\":\"pending\"}");
    } else if (strncmp(buf, "GET ", 4) == 0 && strncmp(buf + 4, path, strlen(path)) == 0) {
        s->polls++;
        keep(s->poll_head, sizeof(s->poll_head), buf, head);
        if (s->poll_not_found > 0) {
            s->poll_not_found--;
            respond(fd, 404, "{\"error\":\"no agent; it must register first\"}");
        } else if (s->pending_polls > 0) {
            s->pending_polls--;
            respond(fd, 200, "{\"status\":\"pending\"}");
        } else {
            respond(fd, 200, "{\"status\":\"claimed\",\"apiKey\":\"" NEW_KEY "\"}");
        }
    } else if (strncmp(buf, "POST /api/v1/ingest ", 20) == 0) {
        s->ingests++;
        keep(s->ingest_head, sizeof(s->ingest_head), buf, head);
        bool challenge = s->ingest_status == 401 && s->challenge;
        respond_with(fd, s->ingest_status,
                     !challenge ? ""
                     : s->proxy ? "WWW-Authenticate: Basic realm=\"corp-proxy\"\r\n"
                                : "WWW-Authenticate: Bearer realm=\"ward\"\r\n",
                     s->ingest_status == 200   ? "{}"
                     : s->ingest_status == 401 ? (challenge ? "{\"error\":\"invalid API key\"}"
                                                            : "{\"error\":\"signature mismatch\"}")
                                               : "{\"error\":\"no\"}");
    } else {
        s->others++;
        respond(fd, 404, "{\"error\":\"not found\"}");
    }
    pthread_mutex_unlock(&s->lock);
}

static struct server *server_start(void)
{
    struct server *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    pthread_mutex_init(&s->lock, NULL);
    s->ingest_status = 200;
    s->challenge = true;
    loopback_server_start(&s->net, serve, s);
    return s;
}

static void server_stop(struct server *s)
{
    loopback_server_stop(&s->net);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* A copy of a recorded field, taken under the server's lock. */
static int count(struct server *s, const int *field)
{
    pthread_mutex_lock(&s->lock);
    int n = *field;
    pthread_mutex_unlock(&s->lock);
    return n;
}

/* A fresh state directory and everything a test needs around it. */
struct fixture {
    char dir[64];
    char url[64];
    struct server *server;
    struct ward_health *health;
    FILE *log; /* every log line of the test, checked for secrets at the end */
};

static const struct ward_enroll_timing no_waits = {0, 0, 0, 0};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/ward-test-enroll-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->server = server_start();
    snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d", f->server->net.port);
    f->health = ward_health_new();
    assert_non_null(f->health);
    f->log = tmpfile();
    assert_non_null(f->log);
    ward_log_setup(WARD_LOG_DEBUG, WARD_LOG_TEXT, f->log);
    *state = f;
    return 0;
}

/* The log so far. */
static void read_log(const struct fixture *f, struct ward_buf *out)
{
    fflush(f->log);
    rewind(f->log);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f->log)) > 0)
        assert_int_equal(ward_buf_append(out, chunk, n), 0);
    assert_int_equal(ward_buf_putc(out, '\0'), 0);
    fseek(f->log, 0, SEEK_END);
}

static void remove_file(const struct fixture *f, const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", f->dir, name);
    unlink(path);
}

static int read_state(const struct fixture *f, const char *name, char *out, size_t size);

static int teardown(void **state)
{
    struct fixture *f = *state;
    /* No secret in any log line: not the key, the enrollment token or the claim token. */
    struct ward_buf log = WARD_BUF_INIT;
    read_log(f, &log);
    ward_log_setup(WARD_LOG_INFO, WARD_LOG_TEXT, NULL);
    fclose(f->log);
    char token[128];
    if (read_state(f, "claim-token", token, sizeof(token)) >= 0 && strlen(token) > 1) {
        token[strcspn(token, "\n")] = '\0';
        if (strstr(log.data, token))
            fail_msg("the claim token is in the log:\n%s", log.data);
    }
    if (strstr(log.data, NEW_KEY) || strstr(log.data, ENROLL) ||
        strstr(log.data, "wk_oldoldoldold") || strstr(log.data, "wk_from_the_option") ||
        strstr(log.data, "wk_someone_else"))
        fail_msg("a secret is in the log:\n%s", log.data);
    ward_buf_done(&log);
    server_stop(f->server);
    ward_health_free(f->health);
    static const char *const files[] = {"claim-token",  "api-key",      "spool.db",
                                        "spool.db-wal", "spool.db-shm", "spool.db-journal"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        remove_file(f, files[i]);
    rmdir(f->dir);
    free(f);
    return 0;
}

static struct ward_enroll_config config(const struct fixture *f)
{
    return (struct ward_enroll_config){
        .address = f->url,
        .state_dir = f->dir,
        .agent_id = AGENT_ID,
        .hostname = "test-host",
        .timeout_ms = 5000,
        .backoff_max_ms = 1000,
        .timing = &no_waits,
        .health = f->health,
    };
}

static struct ward_enroll *enroll_new(const struct ward_enroll_config *cfg)
{
    struct ward_enroll *e = NULL;
    struct ward_buf err = WARD_BUF_INIT;
    int r = ward_enroll_new(cfg, &e, &err);
    if (r < 0)
        fail_msg("ward_enroll_new: %s", err.data ? err.data : ward_strerror(r));
    ward_buf_done(&err);
    return e;
}

/* Reads a state file; returns its mode bits, or -1 when it is not there. */
static int read_state(const struct fixture *f, const char *name, char *out, size_t size)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", f->dir, name);
    struct stat st;
    if (stat(path, &st) < 0)
        return -1;
    FILE *in = fopen(path, "r");
    assert_non_null(in);
    size_t n = fread(out, 1, size - 1, in);
    out[n] = '\0';
    fclose(in);
    return (int)(st.st_mode & 0777);
}

static void write_state(const struct fixture *f, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", f->dir, name);
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    fputs(text, out);
    fclose(out);
}

/* The claimTokenHash of the last registration. */
static void sent_hash(struct server *s, char hash[WARD_CRED_HASH])
{
    pthread_mutex_lock(&s->lock);
    const char *p = strstr(s->reg_body, "\"claimTokenHash\":\"");
    assert_non_null(p);
    p += strlen("\"claimTokenHash\":\"");
    memcpy(hash, p, WARD_CRED_HASH - 1);
    hash[WARD_CRED_HASH - 1] = '\0';
    pthread_mutex_unlock(&s->lock);
}

static void expect_health(struct fixture *f, enum ward_health_level level, const char *reason)
{
    struct ward_buf json = WARD_BUF_INIT;
    enum ward_health_level got;
    assert_int_equal(ward_health_json(f->health, &json, &got), 0);
    if (got != level || (reason && !strstr(json.data, reason)))
        fail_msg("health %s; want level %d with '%s'", json.data, level, reason ? reason : "");
    ward_buf_done(&json);
}

/* register -> pending -> polls pending -> claimed: the key is stored, 0600. */
static void test_pending_then_claimed(void **state)
{
    struct fixture *f = *state;
    struct server *s = f->server;
    s->reg = REG_PENDING;
    s->pending_polls = 2;
    struct ward_enroll_config cfg = config(f);
    struct ward_enroll *e = enroll_new(&cfg);
    assert_null(ward_enroll_key(e));
    assert_false(ward_enroll_active(e));
    assert_true(ward_enroll_due(e) == INT64_MAX);
    assert_false(ward_enroll_run(e)); /* nothing to do: nothing sent */
    assert_int_equal(count(s, &s->registers), 0);

    ward_enroll_reject(e);
    assert_true(ward_enroll_active(e));
    assert_true(ward_enroll_due(e) <= ward_mono_ms());
    expect_health(f, WARD_HEALTH_DEGRADED, "the server requires an API key");

    assert_false(ward_enroll_run(e)); /* registers: pending */
    assert_int_equal(count(s, &s->registers), 1);
    assert_int_equal(count(s, &s->polls), 0);
    assert_non_null(strstr(s->reg_head, "Content-Type: application/json\r\n"));
    assert_null(strstr(s->reg_head, "X-Ward-Enroll-Token"));
    assert_null(strstr(s->reg_head, "X-Agent-API-Key"));
    assert_non_null(strstr(s->reg_body, "\"agentId\":\"" AGENT_ID "\""));
    assert_non_null(strstr(s->reg_body, "\"hostname\":\"test-host\""));
    assert_non_null(strstr(s->reg_body, "\"agentVersion\":\""));
    /* The hash sent is that of the token kept, which is 0600 and never sent itself. */
    char token[128], hash[WARD_CRED_HASH], want[WARD_CRED_HASH];
    assert_int_equal(read_state(f, "claim-token", token, sizeof(token)), 0600);
    assert_int_equal(strlen(token), WARD_CRED_SECRET_CHARS + 1);
    token[WARD_CRED_SECRET_CHARS] = '\0'; /* the newline */
    sent_hash(s, hash);
    ward_cred_hash(token, want);
    assert_string_equal(hash, want);
    assert_null(strstr(s->reg_body, token));
    expect_health(f, WARD_HEALTH_DEGRADED, "waiting to be claimed by an admin");
    assert_null(ward_enroll_key(e));
    /* One warn line tells the operator the command, which reads the token from its file. */
    struct ward_buf log = WARD_BUF_INIT;
    read_log(f, &log);
    char want_cmd[256];
    snprintf(want_cmd, sizeof(want_cmd), "wardctl agents claim %s \\\"$(cat ", AGENT_ID);
    if (!strstr(log.data, "level=warn msg=\"waiting to be claimed") ||
        !strstr(log.data, want_cmd) || !strstr(log.data, "/claim-token)"))
        fail_msg("no claim command in the log:\n%s", log.data);
    ward_buf_done(&log);

    assert_false(ward_enroll_run(e)); /* pending */
    assert_false(ward_enroll_run(e)); /* pending */
    assert_int_equal(count(s, &s->polls), 2);
    assert_non_null(strstr(s->poll_head, "GET /agents/" AGENT_ID "/claim-status HTTP/1.1\r\n"));
    assert_null(strstr(s->poll_head, "Content-Length"));
    assert_true(ward_enroll_active(e));

    assert_true(ward_enroll_run(e)); /* claimed */
    assert_int_equal(count(s, &s->polls), 3);
    read_log(f, &log);
    if (!strstr(log.data, "level=info msg=\"claimed\" agent=" AGENT_ID))
        fail_msg("no 'claimed' line in the log:\n%s", log.data);
    const char *w = strstr(log.data, "waiting to be claimed by an admin");
    assert_non_null(w);
    assert_null(strstr(w + 1, "waiting to be claimed by an admin")); /* told once */
    ward_buf_done(&log);
    assert_int_equal(count(s, &s->registers), 1);
    assert_string_equal(ward_enroll_key(e), NEW_KEY);
    assert_false(ward_enroll_active(e));
    assert_true(ward_enroll_due(e) == INT64_MAX);
    char key[128];
    assert_int_equal(read_state(f, "api-key", key, sizeof(key)), 0600);
    assert_string_equal(key, NEW_KEY "\n");
    expect_health(f, WARD_HEALTH_OK, NULL);
    assert_int_equal(count(s, &s->others), 0);
    ward_enroll_free(e);

    /* The next start uploads with the stored key. */
    e = enroll_new(&cfg);
    assert_string_equal(ward_enroll_key(e), NEW_KEY);
    assert_false(ward_enroll_active(e));
    ward_enroll_free(e);
}

/* The right enrollment token gets the key in the registration's answer. */
static void test_enrollment_token(void **state)
{
    struct fixture *f = *state;
    struct server *s = f->server;
    s->reg = REG_CLAIMED;
    struct ward_enroll_config cfg = config(f);
    cfg.enroll_token = ENROLL;
    struct ward_enroll *e = enroll_new(&cfg);
    ward_enroll_reject(e);
    assert_true(ward_enroll_run(e));
    assert_int_equal(count(s, &s->registers), 1);
    assert_int_equal(count(s, &s->polls), 0);
    assert_string_equal(ward_enroll_key(e), NEW_KEY);
    char key[128];
    assert_int_equal(read_state(f, "api-key", key, sizeof(key)), 0600);
    assert_string_equal(key, NEW_KEY "\n");
    expect_health(f, WARD_HEALTH_OK, NULL);
    ward_enroll_free(e);

    /* A wrong token: 403, retried, never claimed. */
    remove_file(f, "api-key");
    cfg.enroll_token = "not-the-token";
    e = enroll_new(&cfg);
    ward_enroll_reject(e);
    assert_false(ward_enroll_run(e));
    assert_false(ward_enroll_run(e));
    assert_int_equal(count(s, &s->registers), 3);
    assert_null(ward_enroll_key(e));
    assert_true(ward_enroll_active(e));
    expect_health(f, WARD_HEALTH_DEGRADED, "refused the enrollment token");
    ward_enroll_free(e);
}

/* 409: another claim token has this id; registration is retried until an admin deletes it. */
static void test_conflict(void **state)
{
    struct fixture *f = *state;
    struct server *s = f->server;
    s->reg = REG_CONFLICT;
    struct ward_enroll_config cfg = config(f);
    struct ward_enroll *e = enroll_new(&cfg);
    ward_enroll_reject(e);
    assert_false(ward_enroll_run(e));
    assert_true(ward_enroll_active(e));
    assert_true(ward_enroll_due(e) < INT64_MAX);
    expect_health(f, WARD_HEALTH_DEGRADED, "registered with another claim token");
    assert_false(ward_enroll_run(e));
    assert_int_equal(count(s, &s->registers), 2);
    assert_int_equal(count(s, &s->polls), 0);
    /* The admin deleted the host: the next registration goes through. */
    pthread_mutex_lock(&s->lock);
    s->reg = REG_PENDING;
    pthread_mutex_unlock(&s->lock);
    assert_false(ward_enroll_run(e));
    assert_int_equal(count(s, &s->registers), 3);
    expect_health(f, WARD_HEALTH_DEGRADED, "waiting to be claimed");
    assert_true(ward_enroll_run(e));
    assert_int_equal(count(s, &s->polls), 1);
    ward_enroll_free(e);
}

/* 404 from the poll: the server forgot the agent, which registers again. */
static void test_poll_not_found(void **state)
{
    struct fixture *f = *state;
    struct server *s = f->server;
    s->reg = REG_PENDING;
    s->poll_not_found = 1;
    struct ward_enroll_config cfg = config(f);
    struct ward_enroll *e = enroll_new(&cfg);
    ward_enroll_reject(e);
    assert_false(ward_enroll_run(e)); /* register */
    char first[WARD_CRED_HASH], second[WARD_CRED_HASH];
    sent_hash(s, first);
    assert_false(ward_enroll_run(e)); /* poll: 404 */
    assert_int_equal(count(s, &s->polls), 1);
    assert_true(ward_enroll_due(e) <= ward_mono_ms());
    assert_false(ward_enroll_run(e)); /* register again */
    assert_int_equal(count(s, &s->registers), 2);
    sent_hash(s, second);
    assert_string_equal(first, second);
    assert_true(ward_enroll_run(e)); /* poll: claimed */
    assert_int_equal(count(s, &s->polls), 2);
    assert_string_equal(ward_enroll_key(e), NEW_KEY);
    ward_enroll_free(e);
}

/* A rejected stored key is removed; a key of --api-key is dropped but never touches the file. */
static void test_rejected_key(void **state)
{
    struct fixture *f = *state;
    write_state(f, "api-key", "wk_oldoldoldold_oldoldoldoldoldoldoldoldoldold\n");
    struct ward_enroll_config cfg = config(f);
    struct ward_enroll *e = enroll_new(&cfg);
    assert_string_equal(ward_enroll_key(e), "wk_oldoldoldold_oldoldoldoldoldoldoldoldoldold");
    ward_enroll_reject(e);
    assert_null(ward_enroll_key(e));
    char text[128];
    assert_int_equal(read_state(f, "api-key", text, sizeof(text)), -1);
    expect_health(f, WARD_HEALTH_DEGRADED, "rejected the API key");
    /* Rejections while registering change nothing. */
    assert_false(ward_enroll_run(e));
    int64_t due = ward_enroll_due(e);
    ward_enroll_reject(e);
    assert_true(ward_enroll_due(e) == due);
    ward_enroll_free(e);

    write_state(f, "api-key", "wk_stored\n");
    cfg.api_key = "wk_from_the_option";
    e = enroll_new(&cfg);
    assert_string_equal(ward_enroll_key(e), "wk_from_the_option");
    ward_enroll_reject(e);
    assert_null(ward_enroll_key(e));
    assert_true(ward_enroll_active(e));
    assert_true(read_state(f, "api-key", text, sizeof(text)) >= 0);
    assert_string_equal(text, "wk_stored\n");
    ward_enroll_free(e);
}

/* The claim token is made once and kept across restarts. */
static void test_claim_token_is_stable(void **state)
{
    struct fixture *f = *state;
    struct server *s = f->server;
    s->reg = REG_PENDING;
    struct ward_enroll_config cfg = config(f);
    struct ward_enroll *e = enroll_new(&cfg);
    char token[128], again[128], h1[WARD_CRED_HASH], h2[WARD_CRED_HASH];
    assert_int_equal(read_state(f, "claim-token", token, sizeof(token)), -1); /* on first need */
    ward_enroll_reject(e);
    assert_false(ward_enroll_run(e));
    sent_hash(s, h1);
    assert_int_equal(read_state(f, "claim-token", token, sizeof(token)), 0600);
    ward_enroll_free(e);

    e = enroll_new(&cfg);
    ward_enroll_reject(e);
    assert_false(ward_enroll_run(e));
    sent_hash(s, h2);
    assert_int_equal(read_state(f, "claim-token", again, sizeof(again)), 0600);
    assert_string_equal(token, again);
    assert_string_equal(h1, h2);
    assert_int_equal(count(s, &s->registers), 2);
    ward_enroll_free(e);

    /* A damaged token file is not replaced (that would orphan the registration). */
    write_state(f, "claim-token", "not a token\n");
    e = enroll_new(&cfg);
    ward_enroll_reject(e);
    assert_false(ward_enroll_run(e));
    assert_int_equal(count(s, &s->registers), 2);
    expect_health(f, WARD_HEALTH_DEGRADED, "no claim token");
    ward_enroll_free(e);
}

/*
 * The default waits: the first poll comes 1 to 2 s after the registration,
 * the next 2 to 4 s after the first, and they never pass 60 s. Each bound
 * is taken around the step, so it holds however long the step takes.
 */
static void test_default_waits(void **state)
{
    struct fixture *f = *state;
    struct server *s = f->server;
    s->reg = REG_PENDING;
    s->pending_polls = 1000;
    struct ward_enroll_config cfg = config(f);
    cfg.timing = NULL;
    struct ward_enroll *e = enroll_new(&cfg);
    ward_enroll_reject(e);
    int64_t lo = WARD_ENROLL_POLL_BASE_MS / 2, hi = WARD_ENROLL_POLL_BASE_MS;
    for (int i = 0; i < 10; i++) {
        int64_t before = ward_mono_ms();
        assert_false(ward_enroll_run(e));
        int64_t after = ward_mono_ms(), due = ward_enroll_due(e);
        if (due < before + lo || due > after + hi)
            fail_msg("step %d: wait %lld ms, want %lld to %lld", i, (long long)(due - before),
                     (long long)lo, (long long)hi);
        hi = hi * 2 < WARD_ENROLL_POLL_MAX_MS ? hi * 2 : WARD_ENROLL_POLL_MAX_MS;
        lo = hi / 2;
    }
    assert_int_equal(count(s, &s->polls), 9);
    ward_enroll_free(e);
}

static void test_bad_settings(void **state)
{
    struct fixture *f = *state;
    struct ward_enroll_config cfg = config(f);
    struct ward_enroll *e = NULL;
    struct ward_buf err = WARD_BUF_INIT;
    cfg.api_key = "has a space";
    assert_int_equal(ward_enroll_new(&cfg, &e, &err), -EINVAL);
    assert_non_null(strstr(err.data, "--api-key"));
    assert_null(strstr(err.data, "has a space"));
    ward_buf_reset(&err);
    cfg.api_key = NULL;
    cfg.enroll_token = "bad\r\nX-Injected: 1";
    assert_int_equal(ward_enroll_new(&cfg, &e, &err), -EINVAL);
    assert_non_null(strstr(err.data, "--enroll-token"));
    ward_buf_reset(&err);
    cfg.enroll_token = NULL;
    cfg.address = "ftp://nowhere";
    assert_int_equal(ward_enroll_new(&cfg, &e, &err), -EINVAL);
    ward_buf_reset(&err);
    cfg.address = f->url;
    write_state(f, "api-key", "two words\n");
    assert_int_equal(ward_enroll_new(&cfg, &e, &err), -EINVAL);
    assert_non_null(strstr(err.data, "api-key does not hold an API key"));
    ward_buf_reset(&err);
    /* No host name given: the system's. */
    remove_file(f, "api-key");
    cfg.hostname = NULL;
    assert_int_equal(ward_enroll_new(&cfg, &e, &err), 0);
    ward_enroll_free(e);
    ward_buf_done(&err);
}

/* ---- Delivery's side ---- */

static struct ward_delivery *delivery_new(const struct fixture *f, const char *api_key)
{
    char spool[128];
    snprintf(spool, sizeof(spool), "%s/spool.db", f->dir);
    struct ward_delivery_config dc = {
        .address = f->url,
        .api_key = api_key,
        .timeout_ms = 5000,
        .spool_path = spool,
        .spool_bytes = 16 << 20,
        .backoff_max_ms = 1000,
        .inflight = 1,
        .health = f->health,
    };
    struct ward_delivery *d = NULL;
    struct ward_buf err = WARD_BUF_INIT;
    int r = ward_delivery_new(&dc, &d, &err);
    if (r < 0)
        fail_msg("ward_delivery_new: %s", err.data ? err.data : ward_strerror(r));
    ward_buf_done(&err);
    return d;
}

/* A sink that keeps the value of agent_claimed. */
struct claimed_sink {
    struct ward_sink sink;
    double claimed;
    int seen;
};

static int claimed_emit(struct ward_sink *sink, const struct ward_metric *m, double value,
                        const struct ward_label *labels, size_t n)
{
    (void)labels;
    (void)n;
    struct claimed_sink *c = (struct claimed_sink *)sink;
    if (strcmp(m->category, "agent") == 0 && strcmp(m->name, "claimed") == 0) {
        c->claimed = value;
        c->seen++;
    }
    return 0;
}

static double claimed_gauge(struct ward_delivery *d)
{
    struct claimed_sink c = {.sink.emit = claimed_emit, .claimed = -1};
    struct ward_collect_ctx ctx = {.root = "", .sink = &c.sink};
    ward_delivery_emit(d, &ctx);
    assert_int_equal(c.seen, 1);
    return c.claimed;
}

static void store_batch(struct ward_delivery *d, int64_t seq)
{
    static const char body[] = "\x1f\x8b not really gzip";
    ward_delivery_store(d, 1, seq, 3, body, sizeof(body) - 1);
}

/* 401 with WWW-Authenticate: the batch stays in the spool, uploads pause, and a new key resumes
 * them. */
static void test_delivery_401_keeps_the_batch(void **state)
{
    struct fixture *f = *state;
    struct server *s = f->server;
    s->ingest_status = 401;
    struct ward_delivery *d = delivery_new(f, NULL);
    assert_false(ward_delivery_key_rejected(d));
    assert_true(claimed_gauge(d) == 0);
    store_batch(d, 1);
    assert_true(ward_delivery_due(d) <= ward_mono_ms());
    ward_delivery_run(d, ward_mono_ms() + 5000, NULL);
    assert_int_equal(count(s, &s->ingests), 1);
    assert_int_equal(ward_delivery_backlog(d), 1);
    assert_true(ward_delivery_key_rejected(d));
    assert_true(ward_delivery_due(d) == INT64_MAX);
    assert_null(strstr(s->ingest_head, "X-Agent-API-Key"));
    expect_health(f, WARD_HEALTH_DEGRADED, "the server requires an API key (401)");
    /* Paused: another batch and another run send nothing. */
    store_batch(d, 2);
    assert_true(ward_delivery_due(d) == INT64_MAX);
    ward_delivery_run(d, ward_mono_ms() + 5000, NULL);
    assert_int_equal(count(s, &s->ingests), 1);
    assert_int_equal(ward_delivery_backlog(d), 2);

    pthread_mutex_lock(&s->lock);
    s->ingest_status = 200;
    pthread_mutex_unlock(&s->lock);
    assert_int_equal(ward_delivery_set_api_key(d, NEW_KEY), 0);
    assert_false(ward_delivery_key_rejected(d));
    assert_true(ward_delivery_due(d) <= ward_mono_ms());
    assert_true(claimed_gauge(d) == 1);
    ward_delivery_run(d, ward_mono_ms() + 5000, NULL);
    assert_int_equal(count(s, &s->ingests), 3);
    assert_int_equal(ward_delivery_backlog(d), 0);
    assert_non_null(strstr(s->ingest_head, "X-Agent-API-Key: " NEW_KEY "\r\n"));
    expect_health(f, WARD_HEALTH_OK, NULL);

    /* A key that could not be a header value is refused, and nothing changes. */
    assert_int_equal(ward_delivery_set_api_key(d, "bad\r\nkey"), -EINVAL);
    assert_true(claimed_gauge(d) == 1);
    ward_delivery_free(d);
}

/* 403 (a key of another agent): the batch stays, no pause, a back-off; 400 still drops it. */
static void test_delivery_403_keeps_the_batch(void **state)
{
    struct fixture *f = *state;
    struct server *s = f->server;
    s->ingest_status = 403;
    struct ward_delivery *d = delivery_new(f, "wk_someone_else");
    assert_true(claimed_gauge(d) == 1);
    store_batch(d, 1);
    ward_delivery_run(d, ward_mono_ms() + 5000, NULL);
    assert_int_equal(count(s, &s->ingests), 1);
    assert_non_null(strstr(s->ingest_head, "X-Agent-API-Key: wk_someone_else\r\n"));
    assert_int_equal(ward_delivery_backlog(d), 1);
    assert_false(ward_delivery_key_rejected(d));
    assert_true(ward_delivery_due(d) < INT64_MAX);
    expect_health(f, WARD_HEALTH_DEGRADED, "belongs to another agent");
    ward_delivery_free(d);

    /* Other 4xx are still dead letters: the batch is dropped. */
    pthread_mutex_lock(&s->lock);
    s->ingest_status = 400;
    pthread_mutex_unlock(&s->lock);
    d = delivery_new(f, "wk_someone_else");
    ward_delivery_run(d, ward_mono_ms() + 5000, NULL);
    assert_int_equal(count(s, &s->ingests), 2);
    assert_int_equal(ward_delivery_backlog(d), 0);
    ward_delivery_free(d);
}

/* Waits until delivery wants to upload again (its back-off is at most backoff_max_ms). */
static void wait_due(struct ward_delivery *d)
{
    int64_t due = ward_delivery_due(d);
    assert_true(due < INT64_MAX);
    while (ward_mono_ms() < due)
        usleep(10 * 1000);
}

/* The agent's step (agent.c): a 401 about the key reaches registration. */
static void agent_step(struct ward_delivery *d, struct ward_enroll *e)
{
    if (ward_delivery_key_rejected(d))
        ward_enroll_reject(e);
}

/*
 * 401 without WWW-Authenticate (the server refused the request signature):
 * the batch and the key stay, nothing registers, uploads back off, and it is
 * logged once. Then a 401 with it: the stored key goes and the agent registers.
 */
static void test_delivery_401_signature_keeps_the_key(void **state)
{
    struct fixture *f = *state;
    struct server *s = f->server;
    s->ingest_status = 401;
    s->challenge = false;
    s->reg = REG_PENDING;
    write_state(f, "api-key", "wk_oldoldoldold_oldoldoldoldoldoldoldoldoldold\n");
    struct ward_enroll_config cfg = config(f);
    struct ward_enroll *e = enroll_new(&cfg);
    struct ward_delivery *d = delivery_new(f, ward_enroll_key(e));
    store_batch(d, 1);
    for (int i = 1; i <= 2; i++) {
        /* The second time a proxy in front of the server asks for its own login: not ward's. */
        if (i > 1) {
            pthread_mutex_lock(&s->lock);
            s->challenge = s->proxy = true;
            pthread_mutex_unlock(&s->lock);
            wait_due(d);
        }
        ward_delivery_run(d, ward_mono_ms() + 5000, NULL);
        agent_step(d, e);
        assert_int_equal(count(s, &s->ingests), i);
        assert_int_equal(ward_delivery_backlog(d), 1);
        assert_false(ward_delivery_key_rejected(d));
        assert_true(ward_delivery_due(d) < INT64_MAX); /* a back-off, not a pause */
        assert_false(ward_enroll_active(e));
        assert_true(ward_enroll_due(e) == INT64_MAX);
    }
    assert_non_null(strstr(s->ingest_head, "X-Agent-API-Key: wk_oldoldoldold_"));
    char text[128];
    assert_true(read_state(f, "api-key", text, sizeof(text)) >= 0);
    assert_string_equal(text, "wk_oldoldoldold_oldoldoldoldoldoldoldoldoldold\n");
    assert_string_equal(ward_enroll_key(e), "wk_oldoldoldold_oldoldoldoldoldoldoldoldoldold");
    assert_int_equal(count(s, &s->registers), 0);
    assert_true(claimed_gauge(d) == 1);
    expect_health(f, WARD_HEALTH_DEGRADED, "the server refused the request signature");
    struct ward_buf log = WARD_BUF_INIT;
    read_log(f, &log);
    const char *line =
        strstr(log.data, "level=error msg=\"the server refused the request signature");
    if (!line || !strstr(line, "signature mismatch") || !strstr(line, "-k"))
        fail_msg("no signature error in the log:\n%s", log.data);
    /* Once per streak. */
    assert_null(strstr(line + 1, "level=error msg=\"the server refused the request signature"));
    ward_buf_done(&log);

    /* A 401 about the key: the stored key is removed and the agent registers. */
    pthread_mutex_lock(&s->lock);
    s->challenge = true;
    s->proxy = false;
    pthread_mutex_unlock(&s->lock);
    wait_due(d);
    ward_delivery_run(d, ward_mono_ms() + 5000, NULL);
    assert_true(ward_delivery_key_rejected(d));
    assert_int_equal(ward_delivery_backlog(d), 1);
    agent_step(d, e);
    assert_true(ward_enroll_active(e));
    assert_null(ward_enroll_key(e));
    assert_int_equal(read_state(f, "api-key", text, sizeof(text)), -1);
    assert_false(ward_enroll_run(e)); /* registers: pending */
    assert_int_equal(count(s, &s->registers), 1);
    ward_delivery_free(d);
    ward_enroll_free(e);
}

/* An enrollment token and no key: registration starts at once, without waiting for a 401. */
static void test_enroll_token_registers_at_start(void **state)
{
    struct fixture *f = *state;
    struct server *s = f->server;
    s->reg = REG_CLAIMED;
    struct ward_enroll_config cfg = config(f);
    cfg.enroll_token = ENROLL;
    struct ward_enroll *e = enroll_new(&cfg);
    assert_null(ward_enroll_key(e));
    assert_true(ward_enroll_active(e));
    assert_true(ward_enroll_due(e) <= ward_mono_ms());
    expect_health(f, WARD_HEALTH_DEGRADED, "registering with the enrollment token");
    assert_int_equal(count(s, &s->registers), 0); /* nothing sent yet */
    assert_true(ward_enroll_run(e));
    assert_int_equal(count(s, &s->registers), 1);
    assert_string_equal(ward_enroll_key(e), NEW_KEY);
    assert_false(ward_enroll_active(e));
    ward_enroll_free(e);

    /* With the key it got, the next start does not register. */
    e = enroll_new(&cfg);
    assert_string_equal(ward_enroll_key(e), NEW_KEY);
    assert_false(ward_enroll_active(e));
    assert_true(ward_enroll_due(e) == INT64_MAX);
    ward_enroll_free(e);
    /* Nor does one without an enrollment token and without a key. */
    remove_file(f, "api-key");
    cfg.enroll_token = NULL;
    e = enroll_new(&cfg);
    assert_false(ward_enroll_active(e));
    ward_enroll_free(e);
    assert_int_equal(count(s, &s->registers), 1);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pending_then_claimed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enrollment_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_poll_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejected_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claim_token_is_stable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_waits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delivery_401_keeps_the_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delivery_403_keeps_the_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delivery_401_signature_keeps_the_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enroll_token_registers_at_start, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
