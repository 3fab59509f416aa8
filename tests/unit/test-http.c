/*
 * Tests of the HTTP layer over real sockets.
 *
 * Each test starts ward_http on 127.0.0.1 port 0 with the route table below
 * and talks to it through raw sockets, so what is checked is what a client
 * sees on the wire. The heart of it is suspend and resume: handlers that
 * hand their request to resumer threads (which resume at once, racing the
 * handler's return), resume themselves before returning, or suspend twice,
 * under many concurrent keep-alive clients; and shutdown while requests are
 * parked, with their owners resuming them before, during and after it.
 * ASan and LeakSanitizer then check that every request was freed exactly
 * once, whoever let go of it last.
 *
 * Nothing waits on a clock to decide an outcome: waits are on conditions,
 * with a generous deadline only so that a bug fails the test instead of
 * hanging it. Worker threads never call cmocka assertions; they count
 * failures and the main thread checks the counts.
 */
#include "common/gzip.h"
#include "server/http/access-log.h"
#include "server/http/http-util.h"
#include "server/http/http.h"

#include "http-raw.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

/* Deadline of every wait, only so that a bug fails instead of hanging. */
#define SAFETY_S 60

/* ---- The application under test ---- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

#define QUEUE_MAX 8192
static struct ward_http_request *queue[QUEUE_MAX]; /* requests for the resumer threads */
static size_t q_head, q_len;
static bool resumers_quit;
#define PARK_MAX 256
static struct ward_http_request *parked[PARK_MAX]; /* requests nobody resumes yet */
static size_t n_parked;

static atomic_int resumed_ok, resumed_detached, resumed_other, completions, before_sends;
static const struct ward_route *last_route;
/* When set, before_send resumes a parked request as its 503 is being sent. */
static atomic_bool resume_in_hook;
static atomic_int hook_resumes;

static void reset_state(void)
{
    q_head = q_len = n_parked = 0;
    resumers_quit = false;
    atomic_store(&resumed_ok, 0);
    atomic_store(&resumed_detached, 0);
    atomic_store(&resumed_other, 0);
    atomic_store(&completions, 0);
    atomic_store(&before_sends, 0);
    atomic_store(&resume_in_hook, false);
    atomic_store(&hook_resumes, 0);
    last_route = NULL;
}

static void push(struct ward_http_request *req)
{
    pthread_mutex_lock(&mu);
    if (q_len < QUEUE_MAX) {
        queue[(q_head + q_len) % QUEUE_MAX] = req;
        q_len++;
    }
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void *resumer(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    for (;;) {
        while (q_len == 0 && !resumers_quit)
            pthread_cond_wait(&cv, &mu);
        if (q_len == 0)
            break;
        struct ward_http_request *req = queue[q_head];
        q_head = (q_head + 1) % QUEUE_MAX;
        q_len--;
        pthread_mutex_unlock(&mu);
        ward_http_resume(req);
        pthread_mutex_lock(&mu);
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

/* Waits until n requests are parked; false after SAFETY_S. */
static bool wait_parked(size_t n)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += SAFETY_S;
    pthread_mutex_lock(&mu);
    while (n_parked < n)
        if (pthread_cond_timedwait(&cv, &mu, &deadline) == ETIMEDOUT)
            break;
    bool ok = n_parked >= n;
    pthread_mutex_unlock(&mu);
    return ok;
}

struct later {
    int rounds; /* suspensions still to go */
};

static void resume_cb(struct ward_http_request *req, void *app)
{
    (void)app;
    struct later *l = ward_http_userdata(req);
    if (l && l->rounds > 0) {
        l->rounds--;
        ward_http_suspend(req, resume_cb);
        push(req);
        return;
    }
    free(l);
    ward_http_set_userdata(req, NULL);
    size_t len;
    const char *body = ward_http_body(req, &len);
    char out[512];
    int n = snprintf(out, sizeof(out), "resumed:%.*s", (int)len, body);
    int r = ward_http_respond(req, 200, "text/plain", out, (size_t)n);
    if (r == 0)
        atomic_fetch_add(&resumed_ok, 1);
    else if (r == -ESHUTDOWN)
        atomic_fetch_add(&resumed_detached, 1);
    else
        atomic_fetch_add(&resumed_other, 1);
}

static void h_hello(struct ward_http_request *req, void *app)
{
    (void)app;
    ward_http_respond(req, 200, "text/plain", "hello", 5);
}

/* A compressible body above WARD_HTTP_GZIP_MIN. */
static void h_big(struct ward_http_request *req, void *app)
{
    (void)app;
    char body[4096];
    for (size_t i = 0; i < sizeof(body); i++)
        body[i] = (char)('a' + i % 7);
    ward_http_respond(req, 200, "text/plain", body, sizeof(body));
}

static void h_echo(struct ward_http_request *req, void *app)
{
    (void)app;
    size_t len;
    const char *body = ward_http_body(req, &len);
    ward_http_respond(req, 200, "application/octet-stream", body, len);
}

static void h_remote(struct ward_http_request *req, void *app)
{
    (void)app;
    const char *r = ward_http_remote(req);
    ward_http_respond(req, 200, "text/plain", r, strlen(r));
}

static void h_later(struct ward_http_request *req, void *app)
{
    (void)app;
    const char *mode = ward_http_param(req, "mode");
    if (strcmp(mode, "self") == 0) {
        /* Resumed before the handler returns, on the same thread. */
        ward_http_suspend(req, resume_cb);
        ward_http_resume(req);
    } else if (strcmp(mode, "queue") == 0) {
        ward_http_suspend(req, resume_cb);
        push(req);
        /* Keep the handler busy a varying while, so the resume lands on either side. */
        unsigned n = (unsigned)rand() % 20000;
        for (volatile unsigned i = 0; i < n; i++)
            ;
    } else if (strcmp(mode, "twice") == 0) {
        struct later *l = calloc(1, sizeof(*l));
        l->rounds = 2;
        ward_http_set_userdata(req, l);
        ward_http_suspend(req, resume_cb);
        push(req);
    } else if (strcmp(mode, "park") == 0) {
        ward_http_suspend(req, resume_cb);
        pthread_mutex_lock(&mu);
        if (n_parked < PARK_MAX)
            parked[n_parked++] = req;
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
    } else {
        ward_http_error(req, 400, "unknown mode");
    }
}

static const struct ward_route routes[] = {
    {"GET", "/hello", h_hello, 0},   {"GET", "/big", h_big, 0},
    {"POST", "/echo", h_echo, 0},    {"PUT", "/echo", h_echo, 0},
    {"GET", "/remote", h_remote, 0}, {"POST", "/later/{mode}", h_later, 0},
};

static void before_send(struct ward_http_request *req, const void *body, size_t len, void *app)
{
    (void)body;
    (void)app;
    char v[32];
    snprintf(v, sizeof(v), "len-%zu", len);
    ward_http_add_header(req, "HashSHA256", v);
    atomic_fetch_add(&before_sends, 1);
    if (!atomic_load(&resume_in_hook))
        return;
    /* The owner lets go of the request while the server is answering it. */
    bool found = false;
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < n_parked; i++)
        if (parked[i] == req) {
            parked[i] = NULL;
            found = true;
        }
    pthread_mutex_unlock(&mu);
    if (found) {
        atomic_fetch_add(&hook_resumes, 1);
        ward_http_resume(req);
    }
}

static void on_complete(const struct ward_route *route, const char *method, unsigned status,
                        int64_t duration_ns, size_t bytes_in, size_t bytes_out, void *app)
{
    (void)method;
    (void)status;
    (void)duration_ns;
    (void)bytes_in;
    (void)bytes_out;
    (void)app;
    pthread_mutex_lock(&mu);
    last_route = route;
    pthread_mutex_unlock(&mu);
    atomic_fetch_add(&completions, 1);
}

static struct ward_http_config base_config(void)
{
    return (struct ward_http_config){
        .address = "127.0.0.1:0",
        .threads = 4,
        .max_body = 8192,
        .max_decoded_body = 65536,
        .connection_timeout_s = 60,
        .max_connections = 512,
        .routes = routes,
        .n_routes = sizeof(routes) / sizeof(routes[0]),
        .access_log = "off",
        .stop_drain_ms = 1,
    };
}

static struct ward_http_server *start(const struct ward_http_config *cfg)
{
    reset_state();
    struct ward_http_server *s = http_raw_start(cfg);
    assert_true(ward_http_port(s) > 0);
    return s;
}

/* ---- Requests ---- */

/* Sends one request with a Content-Length body, and reads its response into r. */
static int request(int fd, const char *method, const char *path, const char *extra,
                   const void *body, size_t len, struct http_raw_response *r)
{
    char head[4096];
    snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: t\r\n%sContent-Length: %zu\r\n\r\n",
             method, path, extra ? extra : "", len);
    if (http_raw_send_str(fd, head) < 0 || (len && http_raw_send(fd, body, len) < 0))
        return -1;
    return http_raw_read_response(fd, r, strcmp(method, "HEAD") == 0);
}

/* ---- Parsers ---- */

static void accept_encoding(void **state)
{
    (void)state;
    assert_true(ward_http_same_origin("http://127.0.0.1:8080", "127.0.0.1:8080"));
    assert_true(ward_http_same_origin("https://Ward.Example/", "ward.example"));
    assert_false(ward_http_same_origin("http://127.0.0.1:8081", "127.0.0.1:8080"));
    assert_false(ward_http_same_origin("http://127.0.0.1:8080.evil", "127.0.0.1:8080"));
    assert_false(ward_http_same_origin("null", "127.0.0.1:8080"));
    assert_false(ward_http_same_origin("http://x", NULL));
    assert_true(ward_http_accepts_gzip("gzip"));
    assert_true(ward_http_accepts_gzip("GZip"));
    assert_true(ward_http_accepts_gzip("deflate, gzip;q=0.5, br"));
    assert_true(ward_http_accepts_gzip("x-gzip"));
    assert_true(ward_http_accepts_gzip("*"));
    assert_true(ward_http_accepts_gzip(" gzip ; q=1.000 "));
    assert_true(ward_http_accepts_gzip("identity;q=0, gzip;q=0.001"));
    assert_true(ward_http_accepts_gzip("gzip;level=9"));
    assert_false(ward_http_accepts_gzip(NULL));
    assert_false(ward_http_accepts_gzip(""));
    assert_false(ward_http_accepts_gzip("br, deflate"));
    assert_false(ward_http_accepts_gzip("gzip;q=0"));
    assert_false(ward_http_accepts_gzip("gzip;q=0.000"));
    assert_false(ward_http_accepts_gzip("gzip; Q=0"));
    assert_false(ward_http_accepts_gzip("*;q=0"));
    /* An explicit gzip;q=0 wins over "*". */
    assert_false(ward_http_accepts_gzip("gzip;q=0, *"));
    assert_true(ward_http_accepts_gzip("br, *;q=0.1"));
    /* Not gzip: a longer token, a prefix, a malformed q. */
    assert_false(ward_http_accepts_gzip("gzipx"));
    assert_false(ward_http_accepts_gzip("gzi"));
    assert_false(ward_http_accepts_gzip("gzip;q=2"));
    assert_false(ward_http_accepts_gzip("gzip;q=0.5000"));
    assert_false(ward_http_accepts_gzip("gzip;q="));
    assert_false(ward_http_accepts_gzip("gzip junk"));
    assert_false(ward_http_accepts_gzip(",,,;;;==="));
}

static void origins(void **state)
{
    (void)state;
    struct ward_http_origins o;
    struct ward_buf err = WARD_BUF_INIT;
    const char *const list[] = {"https://A.example/", " http://b.example:8080 "};
    assert_int_equal(
        ward_http_origins_init(&o, list, 2, "https://c.example,, https://d.example", &err), 0);
    assert_int_equal(o.n, 4);
    assert_false(o.any);
    assert_true(ward_http_origins_allow(&o, "https://a.example"));
    assert_true(ward_http_origins_allow(&o, "HTTPS://A.EXAMPLE"));
    assert_true(ward_http_origins_allow(&o, "http://b.example:8080"));
    assert_true(ward_http_origins_allow(&o, "https://d.example"));
    assert_false(ward_http_origins_allow(&o, "http://b.example"));
    assert_false(ward_http_origins_allow(&o, "https://a.example.evil"));
    assert_false(ward_http_origins_allow(&o, "null"));
    assert_false(ward_http_origins_allow(&o, NULL));
    ward_http_origins_done(&o);

    assert_int_equal(ward_http_origins_init(&o, NULL, 0, "*", &err), 0);
    assert_true(o.any);
    assert_true(ward_http_origins_allow(&o, "https://anything.example"));
    assert_false(ward_http_origins_allow(&o, "bad origin"));
    assert_false(ward_http_origins_allow(&o, ""));
    char huge[WARD_HTTP_ORIGIN_MAX + 8];
    memset(huge, 'a', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';
    assert_false(ward_http_origins_allow(&o, huge));
    ward_http_origins_done(&o);

    assert_int_equal(ward_http_origins_init(&o, NULL, 0, NULL, &err), 0);
    assert_false(ward_http_origins_allow(&o, "https://a.example"));
    ward_http_origins_done(&o);

    assert_int_equal(ward_http_origins_init(&o, NULL, 0, "example.org", &err), -EINVAL);
    assert_non_null(strstr(err.data, "example.org"));
    assert_int_equal(ward_http_origins_init(&o, NULL, 0, "https://a.example/path", &err), -EINVAL);
    assert_int_equal(ward_http_origins_init(&o, NULL, 0, "https://", &err), -EINVAL);
    ward_buf_done(&err);
}

static void access_log_line(void **state)
{
    (void)state;
    struct ward_access_entry e = {
        .time_ms = 1700000000123,
        .request_id = "abc",
        .remote = "192.0.2.1",
        .method = "GET",
        .path = "/p\"a\nth\xff",
        .route = NULL,
        .status = 404,
        .duration_ns = 1234567,
        .bytes_in = 0,
        .bytes_out = 77,
        .user_agent = "agent \"x\"\r\n{}",
        .outcome = "ok",
    };
    struct ward_buf out = WARD_BUF_INIT;
    assert_int_equal(ward_access_log_format(&e, &out), 0);
    assert_int_equal(out.data[out.len - 1], '\n');
    assert_null(memchr(out.data, '\n', out.len - 1));
    json_error_t jerr;
    json_t *j = json_loads(out.data, 0, &jerr);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "time")), "2023-11-14T22:13:20.123Z");
    assert_string_equal(json_string_value(json_object_get(j, "path")), "/p\"a\nth\xef\xbf\xbd");
    assert_true(json_is_null(json_object_get(j, "route")));
    assert_int_equal(json_integer_value(json_object_get(j, "status")), 404);
    assert_true(json_real_value(json_object_get(j, "duration_ms")) == 1.234);
    assert_int_equal(json_integer_value(json_object_get(j, "bytes_out")), 77);
    assert_string_equal(json_string_value(json_object_get(j, "user_agent")), e.user_agent);
    json_decref(j);

    /* A huge User-Agent is cut to its bound. */
    char ua[4096];
    memset(ua, 'u', sizeof(ua) - 1);
    ua[sizeof(ua) - 1] = '\0';
    e.user_agent = ua;
    ward_buf_reset(&out);
    assert_int_equal(ward_access_log_format(&e, &out), 0);
    j = json_loads(out.data, 0, &jerr);
    assert_non_null(j);
    assert_int_equal(strlen(json_string_value(json_object_get(j, "user_agent"))),
                     WARD_ACCESS_LOG_USER_AGENT_MAX);
    json_decref(j);
    ward_buf_done(&out);
}

/* ---- Over the wire ---- */

static void keepalive_and_request_id(void **state)
{
    (void)state;
    struct ward_http_config cfg = base_config();
    struct ward_http_server *s = start(&cfg);
    int fd = http_raw_connect(ward_http_port(s));
    assert_true(fd >= 0);
    struct http_raw_response r;
    char v[128];
    for (int i = 0; i < 50; i++) {
        assert_int_equal(request(fd, "GET", "/hello", "X-Request-Id: my-id.1\r\n", NULL, 0, &r), 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "hello");
        assert_true(http_raw_header(&r, "X-Request-Id", v, sizeof(v)));
        assert_string_equal(v, "my-id.1");
        http_raw_response_done(&r);
    }
    /* An unusable id is replaced by a generated one. */
    assert_int_equal(request(fd, "GET", "/hello", "X-Request-Id: bad id!\r\n", NULL, 0, &r), 0);
    assert_true(http_raw_header(&r, "X-Request-Id", v, sizeof(v)));
    assert_int_equal(strlen(v), 16);
    http_raw_response_done(&r);
    assert_int_equal(request(fd, "GET", "/remote", NULL, NULL, 0, &r), 0);
    assert_string_equal(r.body, "127.0.0.1");
    http_raw_response_done(&r);
    close(fd);
    ward_http_stop(s);
}

struct client_args {
    uint16_t port;
    int id;
    int requests;
    atomic_int *failures;
    atomic_int *later;
};

static void *client(void *arg)
{
    struct client_args *a = arg;
    static const char *const modes[] = {"queue", "self", "twice", NULL, "queue"};
    int fd = http_raw_connect(a->port);
    if (fd < 0) {
        atomic_fetch_add(a->failures, 1);
        return NULL;
    }
    for (int i = 0; i < a->requests; i++) {
        const char *mode = modes[i % 5];
        struct http_raw_response r;
        char body[64], path[64], want[128];
        int n = snprintf(body, sizeof(body), "c%d-%d", a->id, i);
        if (mode) {
            snprintf(path, sizeof(path), "/later/%s", mode);
            snprintf(want, sizeof(want), "resumed:%s", body);
            atomic_fetch_add(a->later, 1);
        } else {
            snprintf(path, sizeof(path), "/echo");
            snprintf(want, sizeof(want), "%s", body);
        }
        if (request(fd, "POST", path, NULL, body, (size_t)n, &r) < 0 || r.status != 200 ||
            strcmp(r.body, want) != 0) {
            fprintf(stderr, "client %d request %d (%s): status %d body '%s'\n", a->id, i, path,
                    r.status, r.body ? r.body : "");
            atomic_fetch_add(a->failures, 1);
            http_raw_response_done(&r);
            break;
        }
        http_raw_response_done(&r);
    }
    close(fd);
    return NULL;
}

static void suspend_resume_concurrent(void **state)
{
    (void)state;
    enum {
        CLIENTS = 24,
        REQUESTS = 60,
        RESUMERS = 3
    };
    struct ward_http_config cfg = base_config();
    struct ward_http_server *s = start(&cfg);
    pthread_t res[RESUMERS], cl[CLIENTS];
    for (int i = 0; i < RESUMERS; i++)
        assert_int_equal(pthread_create(&res[i], NULL, resumer, NULL), 0);
    atomic_int failures = 0, later = 0;
    struct client_args args[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        args[i] = (struct client_args){ward_http_port(s), i, REQUESTS, &failures, &later};
        assert_int_equal(pthread_create(&cl[i], NULL, client, &args[i]), 0);
    }
    for (int i = 0; i < CLIENTS; i++)
        pthread_join(cl[i], NULL);
    assert_int_equal(atomic_load(&failures), 0);
    assert_true(ward_http_drain(s, SAFETY_S * 1000));
    ward_http_stop(s);

    pthread_mutex_lock(&mu);
    resumers_quit = true;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < RESUMERS; i++)
        pthread_join(res[i], NULL);
    assert_int_equal(atomic_load(&resumed_ok), atomic_load(&later));
    assert_int_equal(atomic_load(&resumed_detached), 0);
    assert_int_equal(atomic_load(&resumed_other), 0);
}

/* Opens n connections that each park one request; returns them in fds. */
static void park_requests(uint16_t port, int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fds[i] = http_raw_connect(port);
        assert_true(fds[i] >= 0);
        char req[256];
        snprintf(req, sizeof(req),
                 "POST /later/park HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\np%02zu", i);
        assert_int_equal(http_raw_send_str(fds[i], req), 0);
    }
    assert_true(wait_parked(n));
}

static void stop_with_parked_requests(void **state)
{
    (void)state;
    enum {
        N = 8
    };
    struct ward_http_config cfg = base_config();
    struct ward_http_server *s = start(&cfg);
    int fds[N];
    park_requests(ward_http_port(s), fds, N);
    /* Parked requests are in flight, and nobody resumes them. */
    assert_false(ward_http_drain(s, 20));
    ward_http_stop(s);

    for (size_t i = 0; i < N; i++) {
        struct http_raw_response r;
        assert_int_equal(http_raw_read_response(fds[i], &r, false), 0);
        assert_int_equal(r.status, 503);
        assert_non_null(strstr(r.body, "server shutting down"));
        char v[32];
        assert_true(http_raw_header(&r, "Retry-After", v, sizeof(v)));
        http_raw_response_done(&r);
        close(fds[i]);
    }
    /* The owners let go after the server is gone: callbacks run detached, once each. */
    assert_int_equal(atomic_load(&resumed_detached), 0);
    for (size_t i = 0; i < N; i++)
        ward_http_resume(parked[i]);
    assert_int_equal(atomic_load(&resumed_detached), N);
    assert_int_equal(atomic_load(&resumed_ok), 0);
}

/*
 * The owner resumes while ward_http_stop() gives up on its request: the
 * callback must then run exactly once, on the HTTP thread, detached.
 */
static void stop_owner_resumes_during_abandon(void **state)
{
    (void)state;
    enum {
        N = 8
    };
    struct ward_http_config cfg = base_config();
    cfg.before_send = before_send;
    struct ward_http_server *s = start(&cfg);
    int fds[N];
    park_requests(ward_http_port(s), fds, N);
    atomic_store(&resume_in_hook, true);
    ward_http_stop(s);
    for (size_t i = 0; i < N; i++) {
        struct http_raw_response r;
        assert_int_equal(http_raw_read_response(fds[i], &r, false), 0);
        assert_int_equal(r.status, 503);
        http_raw_response_done(&r);
        close(fds[i]);
        assert_null(parked[i]);
    }
    assert_int_equal(atomic_load(&hook_resumes), N);
    assert_int_equal(atomic_load(&resumed_detached), N);
    assert_int_equal(atomic_load(&resumed_ok), 0);
}

/* Resumes the parked requests from the last, yielding between, to spread them over a stop. */
static void *resume_all_parked(void *arg)
{
    size_t n = *(size_t *)arg;
    for (size_t i = n; i-- > 0;) {
        ward_http_resume(parked[i]);
        sched_yield();
    }
    return NULL;
}

static void stop_races_resume(void **state)
{
    (void)state;
    enum {
        N = 48
    };
    struct ward_http_config cfg = base_config();
    struct ward_http_server *s = start(&cfg);
    int fds[N];
    park_requests(ward_http_port(s), fds, N);
    size_t n = N;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, resume_all_parked, &n), 0);
    ward_http_stop(s);
    pthread_join(t, NULL);

    int ok = 0, unavailable = 0;
    for (size_t i = 0; i < N; i++) {
        struct http_raw_response r;
        assert_int_equal(http_raw_read_response(fds[i], &r, false), 0);
        if (r.status == 200) {
            char want[32];
            snprintf(want, sizeof(want), "resumed:p%02zu", i);
            assert_string_equal(r.body, want);
            ok++;
        } else {
            assert_int_equal(r.status, 503);
            unavailable++;
        }
        http_raw_response_done(&r);
        close(fds[i]);
    }
    /* Every callback ran exactly once, and answered exactly the 200s. */
    assert_int_equal(ok + unavailable, N);
    assert_int_equal(atomic_load(&resumed_ok), ok);
    assert_int_equal(atomic_load(&resumed_ok) + atomic_load(&resumed_detached), N);
}

static void client_gone_while_parked(void **state)
{
    (void)state;
    struct ward_http_config cfg = base_config();
    struct ward_http_server *s = start(&cfg);
    int fd;
    park_requests(ward_http_port(s), &fd, 1);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd); /* a reset */
    ward_http_resume(parked[0]);
    assert_true(ward_http_drain(s, SAFETY_S * 1000));
    ward_http_stop(s);
    assert_int_equal(atomic_load(&resumed_ok) + atomic_load(&resumed_detached), 1);
}

static void quiesce_refuses_new_requests(void **state)
{
    (void)state;
    struct ward_http_config cfg = base_config();
    struct ward_http_server *s = start(&cfg);
    int fd = http_raw_connect(ward_http_port(s));
    assert_true(fd >= 0);
    struct http_raw_response r;
    assert_int_equal(request(fd, "GET", "/hello", NULL, NULL, 0, &r), 0);
    char v[32];
    assert_false(http_raw_header(&r, "Connection", v, sizeof(v)) && strcasecmp(v, "close") == 0);
    http_raw_response_done(&r);

    assert_int_equal(ward_http_quiesce(s), 0);
    assert_int_equal(ward_http_quiesce(s), 0);
    /* A request on the open connection is refused, and the connection closed. */
    assert_int_equal(request(fd, "GET", "/hello", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 503);
    assert_true(http_raw_header(&r, "Retry-After", v, sizeof(v)));
    assert_true(http_raw_header(&r, "Connection", v, sizeof(v)));
    assert_string_equal(v, "close");
    http_raw_response_done(&r);
    assert_true(http_raw_closed_by_peer(fd));
    close(fd);
    /* So is one on a new connection. */
    fd = http_raw_connect(ward_http_port(s));
    assert_true(fd >= 0);
    assert_int_equal(request(fd, "GET", "/hello", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 503);
    http_raw_response_done(&r);
    close(fd);
    assert_true(ward_http_drain(s, SAFETY_S * 1000));
    ward_http_stop(s);
}

static void expect_error(int fd, const char *method, const char *path, const char *extra,
                         const void *body, size_t len, int status, const char *words)
{
    struct http_raw_response r;
    assert_int_equal(request(fd, method, path, extra, body, len, &r), 0);
    if (r.status != status)
        fprintf(stderr, "%s %.80s: %d %s\n", method, path, r.status, r.body);
    assert_int_equal(r.status, status);
    json_error_t jerr;
    json_t *j = json_loads(r.body, 0, &jerr);
    assert_non_null(j);
    assert_int_equal(json_object_size(j), 2);
    char id[128];
    assert_true(http_raw_header(&r, "X-Request-Id", id, sizeof(id)));
    assert_string_equal(json_string_value(json_object_get(j, "request_id")), id);
    const char *msg = json_string_value(json_object_get(j, "error"));
    assert_non_null(msg);
    if (!strstr(msg, words))
        fprintf(stderr, "error '%s' lacks '%s'\n", msg, words);
    assert_non_null(strstr(msg, words));
    json_decref(j);
    http_raw_response_done(&r);
}

static void errors(void **state)
{
    (void)state;
    struct ward_http_config cfg = base_config();
    struct ward_http_server *s = start(&cfg);
    uint16_t port = ward_http_port(s);
    int fd = http_raw_connect(port);
    assert_true(fd >= 0);
    expect_error(fd, "GET", "/nope", NULL, NULL, 0, 404, "no route");
    expect_error(fd, "GET", "/%FF%FE/x", NULL, NULL, 0, 404, "no route");
    expect_error(fd, "GET", "*", NULL, NULL, 0, 404, "no route");
    expect_error(fd, "DELETE", "/echo", NULL, NULL, 0, 405, "POST, PUT");
    expect_error(fd, "POST", "/echo", "Content-Encoding: br\r\n", "x", 1, 415, "Content-Encoding");
    expect_error(fd, "POST", "/echo", "Content-Encoding: gzip\r\n", "notgzip", 7, 400, "gzip");
    char path[3000] = "/";
    memset(path + 1, 'a', sizeof(path) - 2);
    path[sizeof(path) - 1] = '\0';
    expect_error(fd, "GET", path, NULL, NULL, 0, 414, "path longer");

    /* A gzip bomb: 1 MiB of zeros in about 1 KiB, over the decoded limit. */
    char *zeros = calloc(1, 1 << 20);
    struct ward_buf bomb = WARD_BUF_INIT;
    assert_int_equal(ward_gzip_compress(zeros, 1 << 20, 9, &bomb), 0);
    free(zeros);
    assert_true(bomb.len < cfg.max_body);
    expect_error(fd, "POST", "/echo", "Content-Encoding: gzip\r\n", bomb.data, bomb.len, 413,
                 "decompressed");
    ward_buf_done(&bomb);
    close(fd);

    /* Too large by Content-Length: refused before any body is sent. */
    fd = http_raw_connect(port);
    struct http_raw_response r;
    assert_int_equal(
        http_raw_send_str(fd, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 999999\r\n\r\n"),
        0);
    assert_int_equal(http_raw_read_response(fd, &r, false), 0);
    assert_int_equal(r.status, 413);
    assert_non_null(strstr(r.body, "999999"));
    http_raw_response_done(&r);
    close(fd);

    /* Too large as a chunked body: read to its end, then refused. */
    fd = http_raw_connect(port);
    assert_int_equal(
        http_raw_send_str(fd,
                          "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"),
        0);
    char chunk[4096 + 16];
    int n = snprintf(chunk, sizeof(chunk), "1000\r\n");
    memset(chunk + n, 'x', 4096);
    memcpy(chunk + n + 4096, "\r\n", 2);
    for (int i = 0; i < 8; i++)
        assert_int_equal(http_raw_send(fd, chunk, (size_t)n + 4096 + 2), 0);
    assert_int_equal(http_raw_send_str(fd, "0\r\n\r\n"), 0);
    assert_int_equal(http_raw_read_response(fd, &r, false), 0);
    assert_int_equal(r.status, 413);
    assert_non_null(strstr(r.body, "exceeds the limit"));
    http_raw_response_done(&r);
    close(fd);

    /* A chunked body within the limit still works. */
    fd = http_raw_connect(port);
    assert_int_equal(http_raw_send_str(fd, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: "
                                           "chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"),
                     0);
    assert_int_equal(http_raw_read_response(fd, &r, false), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "abcde");
    http_raw_response_done(&r);
    close(fd);
    ward_http_stop(s);
}

static void gzip_cors_and_hooks(void **state)
{
    (void)state;
    struct ward_http_config cfg = base_config();
    const char *const list[] = {"https://ok.example"};
    cfg.cors_origins = list;
    cfg.n_cors_origins = 1;
    cfg.before_send = before_send;
    cfg.on_complete = on_complete;
    struct ward_http_server *s = start(&cfg);
    int fd = http_raw_connect(ward_http_port(s));
    assert_true(fd >= 0);
    struct http_raw_response r, h;
    char v[256], cl[32];
    int requests = 0;

    /* gzip when accepted; the same headers, and no body, for HEAD. */
    assert_int_equal(request(fd, "GET", "/big", "Accept-Encoding: br, gzip\r\n", NULL, 0, &r), 0);
    requests++;
    assert_int_equal(r.status, 200);
    assert_true(http_raw_header(&r, "Content-Encoding", v, sizeof(v)));
    assert_string_equal(v, "gzip");
    assert_true(http_raw_header(&r, "Vary", v, sizeof(v)));
    assert_non_null(strstr(v, "Accept-Encoding"));
    assert_true(http_raw_header(&r, "HashSHA256", v, sizeof(v)));
    assert_string_equal(v, "len-4096"); /* before_send sees the uncompressed body */
    struct ward_buf plain = WARD_BUF_INIT;
    assert_int_equal(ward_gzip_decompress(r.body, r.body_len, r.body_len, 1 << 20, &plain), 0);
    assert_int_equal(plain.len, 4096);
    assert_int_equal(plain.data[8], 'a' + 8 % 7);
    ward_buf_done(&plain);
    assert_true(http_raw_header(&r, "Content-Length", cl, sizeof(cl)));
    assert_int_equal(request(fd, "HEAD", "/big", "Accept-Encoding: gzip\r\n", NULL, 0, &h), 0);
    requests++;
    assert_int_equal(h.status, 200);
    assert_true(http_raw_header(&h, "Content-Length", v, sizeof(v)));
    assert_string_equal(v, cl);
    assert_true(http_raw_header(&h, "Content-Encoding", v, sizeof(v)));
    assert_string_equal(v, "gzip");
    http_raw_response_done(&r);
    http_raw_response_done(&h);
    /* The connection is still in step: HEAD sent no body. */
    assert_int_equal(request(fd, "GET", "/big", "Accept-Encoding: gzip;q=0\r\n", NULL, 0, &r), 0);
    requests++;
    assert_false(http_raw_header(&r, "Content-Encoding", v, sizeof(v)));
    assert_int_equal(r.body_len, 4096);
    http_raw_response_done(&r);
    /* Small bodies are never compressed. */
    assert_int_equal(request(fd, "GET", "/hello", "Accept-Encoding: gzip\r\n", NULL, 0, &r), 0);
    requests++;
    assert_false(http_raw_header(&r, "Content-Encoding", v, sizeof(v)));
    assert_string_equal(r.body, "hello");
    http_raw_response_done(&r);

    /* CORS for an allowed origin, on answers and errors alike. */
    assert_int_equal(request(fd, "GET", "/hello", "Origin: https://ok.example\r\n", NULL, 0, &r),
                     0);
    requests++;
    assert_true(http_raw_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
    assert_string_equal(v, "https://ok.example");
    assert_true(http_raw_header(&r, "Access-Control-Expose-Headers", v, sizeof(v)));
    assert_non_null(strstr(v, "X-Request-Id"));
    assert_true(http_raw_header(&r, "Vary", v, sizeof(v)));
    assert_non_null(strstr(v, "Origin"));
    http_raw_response_done(&r);
    assert_int_equal(request(fd, "GET", "/nope", "Origin: https://ok.example\r\n", NULL, 0, &r), 0);
    requests++;
    assert_int_equal(r.status, 404);
    assert_true(http_raw_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
    assert_true(http_raw_header(&r, "HashSHA256", v, sizeof(v)));
    http_raw_response_done(&r);
    assert_int_equal(request(fd, "GET", "/hello", "Origin: https://evil.example\r\n", NULL, 0, &r),
                     0);
    requests++;
    assert_false(http_raw_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
    http_raw_response_done(&r);

    /* Preflight: 204 with Allow, plus CORS only for an allowed origin. */
    assert_int_equal(request(fd, "OPTIONS", "/echo",
                             "Origin: https://ok.example\r\nAccess-Control-Request-Method: PUT\r\n",
                             NULL, 0, &r),
                     0);
    requests++;
    assert_int_equal(r.status, 204);
    assert_true(http_raw_header(&r, "Allow", v, sizeof(v)));
    assert_string_equal(v, "POST, PUT, OPTIONS");
    assert_true(http_raw_header(&r, "Access-Control-Allow-Methods", v, sizeof(v)));
    assert_string_equal(v, "POST, PUT, OPTIONS");
    assert_true(http_raw_header(&r, "Access-Control-Allow-Headers", v, sizeof(v)));
    assert_non_null(strstr(v, "X-Ward-Signature"));
    assert_true(http_raw_header(&r, "Access-Control-Max-Age", v, sizeof(v)));
    assert_string_equal(v, "600");
    assert_true(http_raw_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
    http_raw_response_done(&r);
    assert_int_equal(request(fd, "OPTIONS", "/echo", NULL, NULL, 0, &r), 0);
    requests++;
    assert_int_equal(r.status, 204);
    assert_true(http_raw_header(&r, "Allow", v, sizeof(v)));
    assert_false(http_raw_header(&r, "Access-Control-Allow-Methods", v, sizeof(v)));
    assert_false(http_raw_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
    http_raw_response_done(&r);
    assert_int_equal(request(fd, "OPTIONS", "/nope", NULL, NULL, 0, &r), 0);
    requests++;
    assert_int_equal(r.status, 404);
    http_raw_response_done(&r);

    /* A gzip request body is decoded before the handler sees it. */
    struct ward_buf z = WARD_BUF_INIT;
    assert_int_equal(ward_gzip_compress("squeezed", 8, 1, &z), 0);
    assert_int_equal(request(fd, "POST", "/echo", "Content-Encoding: gzip\r\n", z.data, z.len, &r),
                     0);
    requests++;
    assert_string_equal(r.body, "squeezed");
    http_raw_response_done(&r);
    ward_buf_done(&z);

    assert_int_equal(request(fd, "GET", "/hello", NULL, NULL, 0, &r), 0);
    requests++;
    http_raw_response_done(&r);
    close(fd);
    ward_http_stop(s);
    /* Once per request, after all went out; the last one was routed to /hello. */
    assert_int_equal(atomic_load(&completions), requests);
    assert_int_equal(atomic_load(&before_sends), requests);
    assert_ptr_equal(last_route, &routes[0]);
}

static void access_log_file(void **state)
{
    (void)state;
    char path[] = "/tmp/ward-test-access-XXXXXX";
    int tfd = mkstemp(path);
    assert_true(tfd >= 0);
    close(tfd);
    struct ward_http_config cfg = base_config();
    cfg.access_log = path;
    struct ward_http_server *s = start(&cfg);
    int fd = http_raw_connect(ward_http_port(s));
    struct http_raw_response r;
    assert_int_equal(
        request(fd, "POST", "/echo?token=secret", "User-Agent: t\"ua\r\n", "12345", 5, &r), 0);
    http_raw_response_done(&r);
    assert_int_equal(request(fd, "GET", "/nope", NULL, NULL, 0, &r), 0);
    http_raw_response_done(&r);
    close(fd);
    ward_http_stop(s);

    FILE *f = fopen(path, "re");
    assert_non_null(f);
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof(line), f)) {
        json_error_t jerr;
        json_t *j = json_loads(line, 0, &jerr);
        assert_non_null(j);
        const char *keys[] = {"time",     "request_id", "remote",    "method",
                              "path",     "route",      "status",    "duration_ms",
                              "bytes_in", "bytes_out",  "user_agent"};
        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
            assert_non_null(json_object_get(j, keys[k]));
        assert_string_equal(json_string_value(json_object_get(j, "remote")), "127.0.0.1");
        if (n == 0) {
            assert_string_equal(json_string_value(json_object_get(j, "path")), "/echo");
            assert_string_equal(json_string_value(json_object_get(j, "route")), "/echo");
            assert_string_equal(json_string_value(json_object_get(j, "user_agent")), "t\"ua");
            assert_int_equal(json_integer_value(json_object_get(j, "bytes_in")), 5);
            assert_int_equal(json_integer_value(json_object_get(j, "bytes_out")), 5);
            assert_int_equal(json_integer_value(json_object_get(j, "status")), 200);
        } else {
            assert_true(json_is_null(json_object_get(j, "route")));
            assert_int_equal(json_integer_value(json_object_get(j, "status")), 404);
        }
        assert_null(strstr(line, "secret"));
        json_decref(j);
        n++;
    }
    fclose(f);
    unlink(path);
    assert_int_equal(n, 2);
}

static void bad_config(void **state)
{
    (void)state;
    struct ward_http_config cfg = base_config();
    cfg.cors_origin_list = "not an origin";
    struct ward_http_server *s = NULL;
    struct ward_buf err = WARD_BUF_INIT;
    assert_int_equal(ward_http_start(&cfg, &s, &err), -EINVAL);
    assert_null(s);
    assert_non_null(strstr(err.data, "CORS"));
    ward_buf_reset(&err);
    cfg = base_config();
    cfg.access_log = "/nonexistent-dir/x.log";
    assert_int_equal(ward_http_start(&cfg, &s, &err), -ENOENT);
    assert_non_null(strstr(err.data, "access log"));
    ward_buf_done(&err);
}

int main(void)
{
    srand(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accept_encoding),
        cmocka_unit_test(origins),
        cmocka_unit_test(access_log_line),
        cmocka_unit_test(keepalive_and_request_id),
        cmocka_unit_test(suspend_resume_concurrent),
        cmocka_unit_test(stop_with_parked_requests),
        cmocka_unit_test(stop_owner_resumes_during_abandon),
        cmocka_unit_test(stop_races_resume),
        cmocka_unit_test(client_gone_while_parked),
        cmocka_unit_test(quiesce_refuses_new_requests),
        cmocka_unit_test(errors),
        cmocka_unit_test(gzip_cors_and_hooks),
        cmocka_unit_test(access_log_file),
        cmocka_unit_test(bad_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
