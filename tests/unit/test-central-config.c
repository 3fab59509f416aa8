/*
 * Tests of the agent's central configuration (central-config.c) against a
 * fake ward-server: a thread on a loopback socket that answers GET
 * /agent/ID/configuration with the status, body and ETag the test sets
 * (304 when If-None-Match names the current ETag), one request per
 * connection, and records what it got. The configuration is applied to a
 * real scheduler over a recorded /proc tree, a real batch and the real
 * reachability collector, whose probes aim at loopback ports, so every
 * outcome is decided by the kernel at once. The steps run one by one;
 * nothing depends on timing.
 */
#include <arpa/inet.h>
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

#include "agent/batch.h"
#include "agent/central-config.h"
#include "agent/health.h"
#include "agent/probe.h"
#include "agent/scheduler.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/log.h"
#include "common/time-util.h"

#define AGENT_ID "0190d3a4-5b6c-7d8e-9f00-112233445566"
#define API_KEY  "wk_abcdefghijkl_abcdefghijklmnopqrstuvwxyz"
#define PATH     "/agent/" AGENT_ID "/configuration"

struct server {
    struct loopback_server net;
    pthread_mutex_t lock;
    /* What to answer. */
    int status;
    char body[70000];
    char etag[64];  /* "" for none */
    bool challenge; /* a 401 carries WWW-Authenticate, as one about the key does */
    /* What came. */
    int requests, not_modified, others;
    char head[8192];
};

static void respond(int fd, int status, const char *etag, bool challenge, const char *body)
{
    char head[512], tag[128] = "";
    if (*etag)
        snprintf(tag, sizeof(tag), "ETag: %s\r\n", etag);
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "%s%sConnection: close\r\n\r\n",
                     status, strlen(body), tag,
                     challenge ? "WWW-Authenticate: Bearer realm=\"ward\"\r\n" : "");
    loopback_send_all(fd, head, (size_t)n);
    loopback_send_all(fd, body, strlen(body));
}

/* Reads one request head and answers it. */
static void serve(void *ctx, int fd)
{
    struct server *s = ctx;
    char buf[8192] = "";
    size_t len = 0;
    while (!strstr(buf, "\r\n\r\n")) {
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
    }
    pthread_mutex_lock(&s->lock);
    if (strncmp(buf, "GET " PATH " ", strlen("GET " PATH " ")) == 0) {
        s->requests++;
        snprintf(s->head, sizeof(s->head), "%s", buf);
        char match[128];
        snprintf(match, sizeof(match), "If-None-Match: %s\r\n", s->etag);
        if (s->status == 200 && *s->etag && strstr(buf, match)) {
            s->not_modified++;
            respond(fd, 304, s->etag, false, "");
        } else {
            respond(fd, s->status, s->status == 200 ? s->etag : "",
                    s->status == 401 && s->challenge, s->body);
        }
    } else {
        s->others++;
        respond(fd, 404, "", false, "{\"error\":\"not found\"}");
    }
    pthread_mutex_unlock(&s->lock);
}

static struct server *server_start(void)
{
    struct server *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    pthread_mutex_init(&s->lock, NULL);
    s->status = 200;
    loopback_server_start(&s->net, serve, s);
    return s;
}

static void server_stop(struct server *s)
{
    loopback_server_stop(&s->net);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* Sets what the server answers from now on. */
static void server_set(struct server *s, int status, const char *etag, const char *body)
{
    pthread_mutex_lock(&s->lock);
    s->status = status;
    snprintf(s->etag, sizeof(s->etag), "%s", etag);
    snprintf(s->body, sizeof(s->body), "%s", body);
    pthread_mutex_unlock(&s->lock);
}

static int count(struct server *s, const int *field)
{
    pthread_mutex_lock(&s->lock);
    int n = *field;
    pthread_mutex_unlock(&s->lock);
    return n;
}

/* The local configuration: cpu and processes on, the rest off but for reachability. */
static const struct ward_collector_config local[] = {
    {"cpu", true, 0},          {"load", false, 0},     {"memory", false, 0},
    {"disk", false, 0},        {"diskio", false, 0},   {"network", false, 0},
    {"wifi", false, 0},        {"processes", true, 0}, {"system", false, 0},
    {"temperature", false, 0}, {"thermal", false, 0},  {"rpi", false, 0},
    {"reachability", true, 0}, {"agent", true, 0},
};

struct fixture {
    char dir[64];
    char url[64];
    struct server *server;
    struct ward_health *health;
    struct ward_collect_settings settings;
    struct ward_scheduler *sched;
    struct ward_batch batch;
    struct ward_central *central;
    int open_fd, closed_fd, open_port, closed_port;
    int64_t now; /* the scheduler's clock */
    FILE *log;
};

static void scheduler_new(struct fixture *f)
{
    f->settings = (struct ward_collect_settings){.top_n = 10, .statvfs_timeout_ms = 1000};
    struct ward_scheduler_config cfg = {
        .root = WARD_SOURCE_ROOT "/tests/fixtures/cpu-a",
        .settings = &f->settings,
        .collectors = local,
        .n_collectors = sizeof(local) / sizeof(local[0]),
        .health = f->health,
    };
    struct ward_buf err = WARD_BUF_INIT;
    assert_int_equal(ward_scheduler_new(&cfg, &f->sched, &err), 0);
    ward_buf_done(&err);
    ward_batch_init(&f->batch, 100000);
}

static void scheduler_free(struct fixture *f)
{
    ward_scheduler_free(f->sched);
    ward_batch_done(&f->batch);
    f->sched = NULL;
}

static struct ward_central_config config(struct fixture *f)
{
    return (struct ward_central_config){
        .address = f->url,
        .state_dir = f->dir,
        .agent_id = AGENT_ID,
        .api_key = API_KEY,
        .interval_ms = 60000,
        .timeout_ms = 5000,
        .scheduler = f->sched,
        .batch = &f->batch,
        .probes = true,
        .health = f->health,
    };
}

static struct ward_central *central_new(const struct ward_central_config *cfg)
{
    struct ward_central *c = NULL;
    struct ward_buf err = WARD_BUF_INIT;
    int r = ward_central_new(cfg, &c, &err);
    if (r < 0)
        fail_msg("ward_central_new: %s", err.data ? err.data : ward_strerror(r));
    ward_buf_done(&err);
    return c;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/ward-test-central-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->server = server_start();
    snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d", f->server->net.port);
    f->health = ward_health_new();
    assert_non_null(f->health);
    f->log = tmpfile();
    assert_non_null(f->log);
    ward_log_setup(WARD_LOG_DEBUG, WARD_LOG_TEXT, f->log);
    f->open_fd = loopback_socket(AF_INET, true, &f->open_port);
    f->closed_fd = loopback_socket(AF_INET, false, &f->closed_port);
    f->now = 1000000;
    scheduler_new(f);
    struct ward_central_config cfg = config(f);
    f->central = central_new(&cfg);
    *state = f;
    return 0;
}

/* The log so far. */
static void read_log(const struct fixture *f, struct ward_buf *out)
{
    ward_buf_reset(out);
    fflush(f->log);
    rewind(f->log);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f->log)) > 0)
        assert_int_equal(ward_buf_append(out, chunk, n), 0);
    assert_int_equal(ward_buf_putc(out, '\0'), 0);
    fseek(f->log, 0, SEEK_END);
}

/* How often text is in the log. */
static int log_count(const struct fixture *f, const char *text)
{
    struct ward_buf log = WARD_BUF_INIT;
    read_log(f, &log);
    int n = 0;
    for (const char *p = log.data; (p = strstr(p, text)); p++)
        n++;
    ward_buf_done(&log);
    return n;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    struct ward_buf log = WARD_BUF_INIT;
    read_log(f, &log);
    if (strstr(log.data, API_KEY))
        fail_msg("the API key is in the log:\n%s", log.data);
    ward_buf_done(&log);
    ward_log_setup(WARD_LOG_INFO, WARD_LOG_TEXT, NULL);
    fclose(f->log);
    ward_central_free(f->central);
    scheduler_free(f);
    ward_reachability_configure(NULL, 0, NULL);
    server_stop(f->server);
    ward_health_free(f->health);
    close(f->open_fd);
    close(f->closed_fd);
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", f->dir, WARD_CENTRAL_FILE);
    unlink(path);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* The first document: cpu every 2 s, processes off, two labels, two probes. */
static void doc_v12(const struct fixture *f, char *out, size_t size)
{
    snprintf(out, size,
             "{\"agentId\": \"%s\", \"version\": 12, \"updatedAt\": \"2026-01-01T00:00:00Z\",\n"
             " \"collectors\": {\"cpu\": {\"interval\": \"2s\"}, \"processes\": {\"enabled\": "
             "false}},\n"
             " \"labels\": {\"env\": \"prod\", \"role\": \"web\"},\n"
             " \"probes\": [{\"type\": \"tcp\", \"target\": \"127.0.0.1:%d\", \"interval\": "
             "\"30s\", \"timeout\": \"2s\", \"tags\": {\"role\": \"db\"}},\n"
             "            {\"type\": \"tcp\", \"target\": \"127.0.0.1:%d\"}]}",
             AGENT_ID, f->open_port, f->closed_port);
}

/* One scheduler round, well after the last, into a fresh batch. */
static void round_(struct fixture *f)
{
    ward_batch_reset(&f->batch);
    f->now += 3600000;
    ward_scheduler_run_due(f->sched, f->now, &f->batch);
}

/* The labels of the first sample of category_name in the batch, or NULL. */
static const char *labels_of(const struct fixture *f, const char *category, const char *name,
                             const char *containing)
{
    for (size_t i = 0; i < ward_batch_count(&f->batch); i++) {
        struct ward_batch_sample s;
        ward_batch_get(&f->batch, i, &s);
        if (strcmp(s.metric->category, category) == 0 && strcmp(s.metric->name, name) == 0 &&
            (!containing || (s.labels && strstr(s.labels, containing))))
            return s.labels ? s.labels : "";
    }
    return NULL;
}

static bool runs(const struct fixture *f, const char *name, int64_t *interval)
{
    bool on;
    int64_t ms;
    assert_int_equal(ward_scheduler_setting(f->sched, name, &on, &ms), 0);
    if (interval)
        *interval = ms;
    return on;
}

/* The health document, for a look at the "configuration" condition. */
static void health_json(const struct fixture *f, struct ward_buf *out)
{
    ward_buf_reset(out);
    assert_int_equal(ward_health_json(f->health, out, NULL), 0);
}

/* The value of agent_<name> the central configuration emits. */
static double self_metric(const struct fixture *f, const char *name)
{
    struct ward_batch b;
    ward_batch_init(&b, 100);
    struct ward_collect_ctx ctx = {.root = "", .sink = &b.sink};
    ward_central_emit(f->central, &ctx);
    double v = -1;
    for (size_t i = 0; i < ward_batch_count(&b); i++) {
        struct ward_batch_sample s;
        ward_batch_get(&b, i, &s);
        if (strcmp(s.metric->name, name) == 0)
            v = s.value;
    }
    ward_batch_done(&b);
    return v;
}

static void applied_then_not_modified(void **state)
{
    struct fixture *f = *state;
    char doc[4096], probe[64];
    doc_v12(f, doc, sizeof(doc));
    server_set(f->server, 200, "\"v12\"", doc);
    assert_int_equal(ward_central_version(f->central), 0);
    assert_true(ward_central_due(f->central) <= ward_mono_ms());

    assert_true(ward_central_run(f->central));
    assert_int_equal(count(f->server, &f->server->requests), 1);
    assert_non_null(strstr(f->server->head, "X-Agent-API-Key: " API_KEY "\r\n"));
    assert_null(strstr(f->server->head, "If-None-Match"));
    assert_int_equal(ward_central_version(f->central), 12);
    assert_int_equal(log_count(f, "configuration applied"), 1);
    assert_int_equal(log_count(f, "version=12"), 1);
    assert_true(self_metric(f, "config_version") == 12);
    assert_true(self_metric(f, "config_errors_total") == 0);

    /* The overrides; what the document does not name keeps its local setting. */
    int64_t interval;
    assert_true(runs(f, "cpu", &interval));
    assert_int_equal(interval, 2000);
    assert_false(runs(f, "processes", NULL));
    assert_false(runs(f, "memory", NULL));
    assert_true(runs(f, "agent", &interval));
    assert_int_equal(interval, WARD_SELF_INTERVAL_MS);

    /* A round: labels on every sample, a collector's own label wins, probes ran. */
    round_(f);
    assert_null(labels_of(f, "processes", "pids", NULL));
    const char *cpu = labels_of(f, "cpu", "context_switches_total", NULL);
    assert_non_null(cpu);
    assert_non_null(strstr(cpu, "\"env\":\"prod\""));
    assert_non_null(strstr(cpu, "\"role\":\"web\""));
    snprintf(probe, sizeof(probe), "\"target\":\"127.0.0.1:%d\"", f->open_port);
    const char *up = labels_of(f, "reachability", "up", probe);
    assert_non_null(up);
    assert_non_null(strstr(up, "\"role\":\"db\""));
    assert_non_null(strstr(up, "\"env\":\"prod\""));
    snprintf(probe, sizeof(probe), "\"target\":\"127.0.0.1:%d\"", f->closed_port);
    assert_non_null(labels_of(f, "reachability", "up", probe));
    struct ward_buf text = WARD_BUF_INIT;
    assert_int_equal(ward_scheduler_exposition(f->sched, &text), 0);
    assert_non_null(strstr(text.data, "env=\"prod\""));

    /* Stored as it came, 0600. */
    char path[128];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", f->dir, WARD_CENTRAL_FILE);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    FILE *file = fopen(path, "r");
    assert_non_null(file);
    char stored[4096];
    size_t n = fread(stored, 1, sizeof(stored) - 1, file);
    fclose(file);
    stored[n] = '\0';
    assert_int_equal(strncmp(stored, doc, strlen(doc)), 0);

    /* Asked again: If-None-Match, 304, nothing changes. */
    int64_t before = ward_mono_ms();
    assert_false(ward_central_run(f->central));
    assert_true(ward_central_due(f->central) >= before + 60000);
    assert_int_equal(count(f->server, &f->server->not_modified), 1);
    assert_non_null(strstr(f->server->head, "If-None-Match: \"v12\"\r\n"));
    assert_int_equal(ward_central_version(f->central), 12);
    assert_int_equal(log_count(f, "configuration applied"), 1);
    health_json(f, &text);
    assert_null(strstr(text.data, "configuration"));
    ward_buf_done(&text);
}

/* A refused document of the server, with its field named in the log and /health. */
static void expect_refused(struct fixture *f, const char *etag, const char *body, const char *field)
{
    int before = log_count(f, "configuration refused");
    server_set(f->server, 200, etag, body);
    assert_false(ward_central_run(f->central));
    assert_int_equal(log_count(f, "configuration refused"), before + 1);
    struct ward_buf log = WARD_BUF_INIT, health = WARD_BUF_INIT;
    read_log(f, &log);
    const char *last = log.data;
    for (const char *p = log.data; (p = strstr(p, "configuration refused")); p++)
        last = p;
    if (!strstr(last, field))
        fail_msg("expected '%s' in the last refusal:\n%s", field, last);
    health_json(f, &health);
    if (!strstr(health.data, "\"check\":\"configuration\"") || !strstr(health.data, field))
        fail_msg("expected the refusal of '%s' in /health:\n%s", field, health.data);
    assert_int_equal(ward_health_level(f->health), WARD_HEALTH_DEGRADED);
    ward_buf_done(&log);
    ward_buf_done(&health);
}

static void bad_documents_keep_the_previous(void **state)
{
    struct fixture *f = *state;
    char doc[4096];
    doc_v12(f, doc, sizeof(doc));
    server_set(f->server, 200, "\"v12\"", doc);
    assert_true(ward_central_run(f->central));

    expect_refused(f, "\"b1\"", "{\"version\": 13, \"collectors\": {\"cpux\": {}}}",
                   "collectors.cpux: unknown collector");
    /* The same document again: 304, not logged or counted again; still degraded. */
    assert_false(ward_central_run(f->central));
    assert_int_equal(count(f->server, &f->server->not_modified), 1);
    assert_int_equal(log_count(f, "configuration refused"), 1);
    assert_true(self_metric(f, "config_errors_total") == 1);
    assert_int_equal(ward_health_level(f->health), WARD_HEALTH_DEGRADED);
    /* Without an ETag, the same bytes are recognised too. */
    expect_refused(f, "", "{\"version\": 13, \"collectors\": {\"cpu\": {\"interval\": \"fast\"}}}",
                   "collectors.cpu.interval: expected a duration");
    assert_false(ward_central_run(f->central));
    assert_int_equal(log_count(f, "configuration refused"), 2);

    expect_refused(f, "\"b3\"", "{\"collectors\": {\"cpu\": {\"interval\": \"10ms\"}}}",
                   "collectors.cpu.interval: must be 1s to 24h");
    expect_refused(f, "\"b4\"", "{\"collectors\": {\"cpu\": {\"enabled\": \"yes\"}}}",
                   "collectors.cpu.enabled: expected true or false");
    expect_refused(f, "\"b5\"", "{\"collectors\": {\"cpu\": {\"every\": \"5s\"}}}",
                   "collectors.cpu.every: unknown key");
    expect_refused(f, "\"b6\"", "{\"labels\": {\"__name__\": \"x\"}}",
                   "labels.__name__: not a label name");
    expect_refused(f, "\"b7\"", "{\"labels\": {\"env\": \"\"}}", "labels.env: must be 1 to 256");
    expect_refused(f, "\"b8\"",
                   "{\"labels\": {\"a\":\"1\",\"b\":\"1\",\"c\":\"1\",\"d\":\"1\",\"e\":\"1\","
                   "\"f\":\"1\",\"g\":\"1\",\"h\":\"1\",\"i\":\"1\",\"j\":\"1\",\"k\":\"1\","
                   "\"l\":\"1\",\"m\":\"1\",\"n\":\"1\",\"o\":\"1\",\"p\":\"1\",\"q\":\"1\"}}",
                   "labels: more than 16");
    expect_refused(f, "\"b9\"", "{\"probes\": [{\"type\": \"tcp\", \"target\": \"nowhere\"}]}",
                   "probes[0]: target");
    expect_refused(f, "\"b10\"", "{\"probes\": [{\"type\": \"udp\", \"target\": \"127.0.0.1\"}]}",
                   "probes[0]: type");
    expect_refused(f, "\"b11\"",
                   "{\"probes\": [{\"type\": \"icmp\", \"target\": \"127.0.0.1\"}, "
                   "{\"type\": \"icmp\", \"target\": \"127.0.0.1\", \"interval\": \"1m\"}]}",
                   "probes: probe 1: same type, target and tags as probe 0");
    expect_refused(f, "\"b12\"", "{\"agentId\": \"0190d3a4-5b6c-7d8e-9f00-000000000000\"}",
                   "agentId: not this agent's id");
    expect_refused(f, "\"b13\"", "{\"version\": -1}", "version: expected a whole number");
    expect_refused(f, "\"b14\"", "{\"version\": 1, \"version\": 2}", "version: given twice");
    expect_refused(f, "\"b15\"", "[1, 2]", "document: ");
    expect_refused(f, "\"b16\"", "{\"labels\": {\"env\": \"prod\"}", "document: ");
    /* 65 probes, each a valid one: the probe module's limit. */
    static char many[70000];
    size_t at = (size_t)snprintf(many, sizeof(many), "{\"probes\": [");
    for (int i = 0; i <= WARD_PROBE_MAX; i++)
        at += (size_t)snprintf(many + at, sizeof(many) - at,
                               "%s{\"type\": \"tcp\", \"target\": \"127.0.0.1:%d\"}", i ? "," : "",
                               1000 + i);
    snprintf(many + at, sizeof(many) - at, "]}");
    expect_refused(f, "\"b17\"", many, "probes: more than 64");
    /* A document of 64 KiB or more. */
    memset(many, ' ', sizeof(many) - 1);
    many[0] = '{';
    many[sizeof(many) - 2] = '}';
    many[sizeof(many) - 1] = '\0';
    expect_refused(f, "\"b18\"", many, "document: larger than");

    /* Through all of it the first document stayed in force. */
    int64_t interval;
    assert_int_equal(ward_central_version(f->central), 12);
    assert_true(runs(f, "cpu", &interval));
    assert_int_equal(interval, 2000);
    assert_false(runs(f, "processes", NULL));
    round_(f);
    assert_non_null(
        strstr(labels_of(f, "cpu", "context_switches_total", NULL), "\"env\":\"prod\""));
    assert_int_equal(log_count(f, "configuration applied"), 1);

    /* A good one clears /health. */
    server_set(f->server, 200, "\"v14\"", "{\"version\": 14}");
    assert_true(ward_central_run(f->central));
    assert_int_equal(ward_health_level(f->health), WARD_HEALTH_OK);
    assert_int_equal(ward_central_version(f->central), 14);
}

static void new_version_applies_live(void **state)
{
    struct fixture *f = *state;
    char doc[4096], probe[64];
    doc_v12(f, doc, sizeof(doc));
    server_set(f->server, 200, "\"v12\"", doc);
    assert_true(ward_central_run(f->central));
    round_(f);

    /* Version 13: cpu's override gone, processes back on, memory on, one label, one probe. */
    snprintf(doc, sizeof(doc),
             "{\"agentId\": \"%s\", \"version\": 13, \"collectors\": {\"memory\": {\"enabled\": "
             "true, \"interval\": \"1m\"}}, \"labels\": {\"env\": \"staging\"}, \"probes\": "
             "[{\"type\": \"tcp\", \"target\": \"127.0.0.1:%d\", \"tags\": {\"role\": "
             "\"cache\"}}]}",
             AGENT_ID, f->open_port);
    server_set(f->server, 200, "\"v13\"", doc);
    assert_true(ward_central_run(f->central));
    assert_int_equal(ward_central_version(f->central), 13);
    int64_t interval;
    assert_true(runs(f, "cpu", &interval));
    assert_int_equal(interval, 5000); /* the collector's default: nothing local set it */
    assert_true(runs(f, "processes", NULL));
    assert_true(runs(f, "memory", &interval));
    assert_int_equal(interval, 60000);

    round_(f);
    const char *cpu = labels_of(f, "cpu", "context_switches_total", NULL);
    assert_non_null(cpu);
    assert_non_null(strstr(cpu, "\"env\":\"staging\""));
    assert_null(strstr(cpu, "\"role\""));
    snprintf(probe, sizeof(probe), "\"role\":\"cache\"");
    assert_non_null(labels_of(f, "reachability", "up", probe));
    snprintf(probe, sizeof(probe), "\"target\":\"127.0.0.1:%d\"", f->closed_port);
    assert_null(labels_of(f, "reachability", "up", probe));

    /* Version 14: nothing configured. Every local setting is back; no labels; no probes. */
    server_set(f->server, 200, "\"v14\"",
               "{\"version\": 14, \"collectors\": {}, \"labels\": {}, \"probes\": []}");
    assert_true(ward_central_run(f->central));
    assert_false(runs(f, "memory", NULL));
    assert_true(runs(f, "processes", NULL));
    round_(f);
    assert_null(strstr(labels_of(f, "cpu", "context_switches_total", NULL), "env"));
    assert_null(labels_of(f, "reachability", "up", NULL));
    assert_int_equal(log_count(f, "configuration applied"), 3);
}

static void stored_document_survives_a_restart(void **state)
{
    struct fixture *f = *state;
    char doc[4096];
    doc_v12(f, doc, sizeof(doc));
    server_set(f->server, 200, "\"v12\"", doc);
    assert_true(ward_central_run(f->central));

    /* A new agent: the stored document is in force before any request. */
    ward_central_free(f->central);
    scheduler_free(f);
    ward_reachability_configure(NULL, 0, NULL);
    scheduler_new(f);
    struct ward_central_config cfg = config(f);
    f->central = central_new(&cfg);
    assert_int_equal(count(f->server, &f->server->requests), 1);
    assert_int_equal(ward_central_version(f->central), 12);
    assert_int_equal(log_count(f, "source=stored"), 1);
    int64_t interval;
    assert_true(runs(f, "cpu", &interval));
    assert_int_equal(interval, 2000);
    assert_false(runs(f, "processes", NULL));
    round_(f);
    assert_non_null(
        strstr(labels_of(f, "cpu", "context_switches_total", NULL), "\"env\":\"prod\""));
    assert_non_null(labels_of(f, "reachability", "up", "\"role\":\"db\""));

    /* The server sends the same document (the ETag was not kept): nothing to do. */
    assert_false(ward_central_run(f->central));
    assert_int_equal(count(f->server, &f->server->requests), 2);
    assert_int_equal(log_count(f, "configuration applied"), 2);

    /* With --config-interval 0 the stored document is not applied, and nothing is asked. */
    ward_central_free(f->central);
    scheduler_free(f);
    scheduler_new(f);
    cfg = config(f);
    cfg.interval_ms = 0;
    f->central = central_new(&cfg);
    assert_int_equal(ward_central_version(f->central), 0);
    assert_int_equal(ward_central_due(f->central), INT64_MAX);
    assert_false(ward_central_run(f->central));
    assert_int_equal(count(f->server, &f->server->requests), 2);
    assert_true(runs(f, "processes", NULL));

    /* A stored document that no longer passes is refused and shown, and not applied. */
    ward_central_free(f->central);
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", f->dir, WARD_CENTRAL_FILE);
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs("{\"version\": 3, \"collectors\": {\"gone\": {}}}\n", file);
    fclose(file);
    cfg = config(f);
    f->central = central_new(&cfg);
    assert_int_equal(ward_central_version(f->central), 0);
    assert_int_equal(log_count(f, "source=stored"), 2);
    assert_int_equal(ward_health_level(f->health), WARD_HEALTH_DEGRADED);
}

static void not_found_stops_asking(void **state)
{
    struct fixture *f = *state;
    server_set(f->server, 404, "", "{\"error\":\"not found\"}");
    int64_t before = ward_mono_ms();
    assert_false(ward_central_run(f->central));
    assert_true(ward_central_due(f->central) >= before + WARD_CENTRAL_NOT_FOUND_WAIT_MS);
    assert_int_equal(log_count(f, "does not serve agent configuration"), 1);
    /* Asked again anyway: told once. */
    assert_false(ward_central_run(f->central));
    assert_int_equal(log_count(f, "does not serve agent configuration"), 1);
    assert_int_equal(ward_health_level(f->health), WARD_HEALTH_OK);
    assert_int_equal(ward_central_version(f->central), 0);
}

static void other_answers(void **state)
{
    struct fixture *f = *state;
    /* 401 without WWW-Authenticate (a signature): not about the key, registration stays off. */
    server_set(f->server, 401, "", "{\"error\":\"signature mismatch\"}");
    assert_false(ward_central_run(f->central));
    assert_false(ward_central_key_rejected(f->central));
    /* 401 with it: the key is refused, and the agent hands that to registration. */
    pthread_mutex_lock(&f->server->lock);
    f->server->challenge = true;
    pthread_mutex_unlock(&f->server->lock);
    server_set(f->server, 401, "", "{\"error\":\"invalid key\"}");
    int64_t before = ward_mono_ms();
    assert_false(ward_central_run(f->central));
    assert_true(ward_central_key_rejected(f->central));
    assert_true(ward_central_due(f->central) >= before + 60000);
    /* A new key: asked at once, with it; the rejection is over. */
    assert_int_equal(ward_central_set_api_key(f->central, "wk_bad key"), -EINVAL);
    assert_true(ward_central_key_rejected(f->central));
    assert_int_equal(ward_central_set_api_key(f->central, NULL), 0);
    assert_false(ward_central_key_rejected(f->central));
    assert_true(ward_central_due(f->central) <= ward_mono_ms());
    server_set(f->server, 200, "", "{\"version\": 2}");
    assert_true(ward_central_run(f->central));
    assert_null(strstr(f->server->head, "X-Agent-API-Key"));

    /* 503, twice: logged once, nothing changes. */
    server_set(f->server, 503, "", "{\"error\":\"busy\"}");
    assert_false(ward_central_run(f->central));
    assert_false(ward_central_run(f->central));
    assert_int_equal(log_count(f, "cannot fetch the configuration"), 1);
    assert_int_equal(ward_central_version(f->central), 2);
    assert_int_equal(ward_health_level(f->health), WARD_HEALTH_OK);

    /* Bad settings. */
    struct ward_central_config cfg = config(f);
    struct ward_central *c = NULL;
    struct ward_buf err = WARD_BUF_INIT;
    cfg.interval_ms = 500;
    assert_int_equal(ward_central_new(&cfg, &c, &err), -EINVAL);
    assert_non_null(strstr(err.data, "--config-interval"));
    cfg = config(f);
    cfg.agent_id = "nope";
    ward_buf_reset(&err);
    assert_int_equal(ward_central_new(&cfg, &c, &err), -EINVAL);
    cfg = config(f);
    cfg.address = "ftp://x";
    ward_buf_reset(&err);
    assert_int_equal(ward_central_new(&cfg, &c, &err), -EINVAL);
    ward_buf_done(&err);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(applied_then_not_modified, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_documents_keep_the_previous, setup, teardown),
        cmocka_unit_test_setup_teardown(new_version_applies_live, setup, teardown),
        cmocka_unit_test_setup_teardown(stored_document_survives_a_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(not_found_stops_asking, setup, teardown),
        cmocka_unit_test_setup_teardown(other_answers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
