/*
 * Tests of the probes: spec and target parsing and checking (every field,
 * bounds, huge input), and real runs against loopback only: TCP to a listening
 * port and to a bound port that does not listen, HTTP against a responder
 * thread of the test, ICMP echo to 127.0.0.1 and ::1, a name that cannot
 * resolve, and a round of silent targets that must take one timeout, not
 * the sum of them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "loopback.h"

#include "agent/probe.h"
#include "common/error.h"
#include "common/time-util.h"

/* Parses json; returns the code and leaves the message in msg (caller frees). */
static int parse(const char *json, struct ward_probe_spec *out, struct ward_buf *msg)
{
    ward_buf_init(msg, 0);
    return ward_probe_spec_parse(json, strlen(json), out, msg);
}

/* Expects json to fail with code and a message containing text. */
static void refuse(const char *json, int code, const char *text)
{
    struct ward_probe_spec s;
    struct ward_buf msg;
    int r = parse(json, &s, &msg);
    if (r != code || !msg.data || !strstr(msg.data, text))
        fail_msg("%s: got %d \"%s\", want %d with \"%s\"", json, r, msg.data ? msg.data : "", code,
                 text);
    ward_buf_done(&msg);
}

static void parse_good(void **unused)
{
    (void)unused;
    struct ward_probe_spec s;
    struct ward_buf msg;
    assert_int_equal(parse("{\"type\":\"tcp\",\"target\":\"127.0.0.1:22\",\"interval\":\"30s\","
                           "\"timeout\":\"2s\",\"tags\":{\"role\":\"db\",\"dc\":\"eu-1\"}}",
                           &s, &msg),
                     0);
    assert_int_equal(s.type, WARD_PROBE_TCP);
    assert_string_equal(s.target, "127.0.0.1:22");
    assert_int_equal(s.interval_ms, 30000);
    assert_int_equal(s.timeout_ms, 2000);
    assert_int_equal(s.n_tags, 2);
    assert_string_equal(s.tags[0].key, "role");
    assert_string_equal(s.tags[0].value, "db");
    assert_string_equal(s.tags[1].key, "dc");
    assert_string_equal(s.tags[1].value, "eu-1");
    ward_buf_done(&msg);

    /* Defaults, and numbers of seconds as durations. */
    assert_int_equal(parse("{\"target\":\"::1\",\"type\":\"icmp\"}", &s, &msg), 0);
    assert_int_equal(s.type, WARD_PROBE_ICMP);
    assert_int_equal(s.interval_ms, WARD_PROBE_INTERVAL_MS);
    assert_int_equal(s.timeout_ms, WARD_PROBE_TIMEOUT_MS);
    assert_int_equal(s.count, WARD_PROBE_COUNT);
    assert_int_equal(s.spacing_ms, WARD_PROBE_SPACING_MS);
    assert_int_equal(s.n_tags, 0);
    ward_buf_done(&msg);
    assert_int_equal(parse("{\"type\":\"icmp\",\"target\":\"[::1]\",\"count\":5,\"spacing\":"
                           "\"10ms\",\"timeout\":1.5,\"interval\":60}",
                           &s, &msg),
                     0);
    assert_int_equal(s.count, 5);
    assert_int_equal(s.spacing_ms, 10);
    assert_int_equal(s.timeout_ms, 1500);
    assert_int_equal(s.interval_ms, 60000);
    ward_buf_done(&msg);
    assert_int_equal(
        parse("{\"type\":\"http\",\"target\":\"http://localhost:8080/health?x=1\"}", &s, &msg), 0);
    assert_int_equal(s.type, WARD_PROBE_HTTP);
    ward_buf_done(&msg);
    assert_int_equal(parse("{\"type\":\"tcp\",\"target\":\"[::1]:443\",\"tags\":{}}", &s, &msg), 0);
    assert_int_equal(parse("{\"type\":\"http\",\"target\":\"HTTP://[::1]\"}", &s, &msg), 0);
    assert_int_equal(parse("{\"type\":\"icmp\",\"target\":\"db-1.example_net\"}", &s, &msg), 0);
    ward_buf_done(&msg);
}

static void parse_bad_type_and_target(void **unused)
{
    (void)unused;
    refuse("{\"target\":\"127.0.0.1\"}", WARD_E_CONFIG, "type: missing");
    refuse("{\"type\":\"udp\",\"target\":\"127.0.0.1\"}", WARD_E_CONFIG,
           "unknown probe type \"udp\"");
    refuse("{\"type\":1,\"target\":\"127.0.0.1\"}", WARD_E_JSON_TYPE, "type: ");
    refuse("{\"type\":\"icmp\"}", WARD_E_CONFIG, "target: missing");
    refuse("{\"type\":\"icmp\",\"target\":7}", WARD_E_JSON_TYPE, "target: ");
    refuse("{\"type\":\"icmp\",\"target\":\"\"}", WARD_E_CONFIG, "target: empty");
    refuse("{\"type\":\"icmp\",\"target\":\"a b\"}", WARD_E_CONFIG, "target: the host");
    refuse("{\"type\":\"icmp\",\"target\":\"-x\"}", WARD_E_CONFIG, "target: the host");
    refuse("{\"type\":\"icmp\",\"target\":\"::g\"}", WARD_E_CONFIG, "not a valid IPv6");
    refuse("{\"type\":\"icmp\",\"target\":\"[::1\"}", WARD_E_CONFIG, "without ']'");
    refuse("{\"type\":\"icmp\",\"target\":\"a\\u0000b\"}", WARD_E_CONFIG, "NUL");
    refuse("{\"type\":\"tcp\",\"target\":\"127.0.0.1\"}", WARD_E_CONFIG, "port is missing");
    refuse("{\"type\":\"tcp\",\"target\":\"127.0.0.1:0\"}", WARD_E_CONFIG, "1 to 65535");
    refuse("{\"type\":\"tcp\",\"target\":\"127.0.0.1:65536\"}", WARD_E_CONFIG, "1 to 65535");
    refuse("{\"type\":\"tcp\",\"target\":\"127.0.0.1:ssh\"}", WARD_E_CONFIG, "1 to 65535");
    refuse("{\"type\":\"tcp\",\"target\":\"127.0.0.1:\"}", WARD_E_CONFIG, "1 to 65535");
    refuse("{\"type\":\"tcp\",\"target\":\":22\"}", WARD_E_CONFIG, "the host");
    refuse("{\"type\":\"tcp\",\"target\":\"::1:22\"}", WARD_E_CONFIG, "takes brackets");
    refuse("{\"type\":\"tcp\",\"target\":\"[::1]x\"}", WARD_E_CONFIG, "may follow ']'");
    refuse("{\"type\":\"http\",\"target\":\"https://127.0.0.1/\"}", WARD_E_CONFIG,
           "https:// is not supported");
    refuse("{\"type\":\"http\",\"target\":\"ftp://127.0.0.1/\"}", WARD_E_CONFIG, "http:// URL");
    refuse("{\"type\":\"http\",\"target\":\"127.0.0.1:80\"}", WARD_E_CONFIG, "http:// URL");
    refuse("{\"type\":\"http\",\"target\":\"http:///x\"}", WARD_E_CONFIG, "no host");
    refuse("{\"type\":\"http\",\"target\":\"http://u:p@127.0.0.1/\"}", WARD_E_CONFIG, "user");
    refuse("{\"type\":\"http\",\"target\":\"http://127.0.0.1/a b\"}", WARD_E_CONFIG, "path");
    refuse("{\"type\":\"http\",\"target\":\"http://127.0.0.1/#top\"}", WARD_E_CONFIG, "path");
    refuse("{\"type\":\"http\",\"target\":\"http://127.0.0.1:99999/\"}", WARD_E_CONFIG, "port");
}

static void parse_bad_durations_and_count(void **unused)
{
    (void)unused;
    refuse("{\"type\":\"tcp\",\"target\":\"h:1\",\"interval\":\"abc\"}", WARD_E_CONFIG,
           "interval: invalid duration \"abc\"");
    refuse("{\"type\":\"tcp\",\"target\":\"h:1\",\"interval\":\"-1s\"}", WARD_E_CONFIG,
           "interval: invalid");
    refuse("{\"type\":\"tcp\",\"target\":\"h:1\",\"interval\":true}", WARD_E_CONFIG,
           "interval: expected a duration");
    refuse("{\"type\":\"tcp\",\"target\":\"h:1\",\"interval\":\"500ms\"}", WARD_E_CONFIG,
           "interval: must be from 1s to 24h");
    refuse("{\"type\":\"tcp\",\"target\":\"h:1\",\"interval\":\"25h\"}", WARD_E_CONFIG,
           "interval: must be");
    refuse("{\"type\":\"tcp\",\"target\":\"h:1\",\"interval\":1e300}", WARD_E_CONFIG,
           "interval: invalid");
    refuse("{\"type\":\"tcp\",\"target\":\"h:1\",\"timeout\":\"5ms\"}", WARD_E_CONFIG,
           "timeout: must be from 10ms to 60s");
    refuse("{\"type\":\"tcp\",\"target\":\"h:1\",\"timeout\":\"61s\",\"interval\":\"1h\"}",
           WARD_E_CONFIG, "timeout: must be");
    refuse("{\"type\":\"tcp\",\"target\":\"h:1\",\"timeout\":\"5s\",\"interval\":\"2s\"}",
           WARD_E_CONFIG, "must not exceed the interval");
    refuse("{\"type\":\"tcp\",\"target\":\"h:1\",\"timeout\":\"1111111111111111111111111111111111"
           "1111s\"}",
           WARD_E_CONFIG, "timeout: invalid");
    refuse("{\"type\":\"tcp\",\"target\":\"h:1\",\"count\":2}", WARD_E_CONFIG,
           "count: only for icmp");
    refuse("{\"type\":\"http\",\"target\":\"http://h/\",\"spacing\":\"1s\"}", WARD_E_CONFIG,
           "spacing: only for icmp");
    refuse("{\"type\":\"icmp\",\"target\":\"h\",\"count\":0}", WARD_E_CONFIG, "count: must be");
    refuse("{\"type\":\"icmp\",\"target\":\"h\",\"count\":101}", WARD_E_CONFIG, "count: must be");
    refuse("{\"type\":\"icmp\",\"target\":\"h\",\"count\":1.5}", WARD_E_JSON_TYPE, "count: ");
    refuse("{\"type\":\"icmp\",\"target\":\"h\",\"count\":\"3\"}", WARD_E_JSON_TYPE, "count: ");
    refuse("{\"type\":\"icmp\",\"target\":\"h\",\"spacing\":\"11s\",\"timeout\":\"60s\","
           "\"interval\":\"1h\"}",
           WARD_E_CONFIG, "spacing: must be");
    refuse("{\"type\":\"icmp\",\"target\":\"h\",\"count\":11,\"spacing\":\"200ms\"}", WARD_E_CONFIG,
           "do not fit in the timeout");
}

static void parse_bad_tags(void **unused)
{
    (void)unused;
    refuse("{\"type\":\"icmp\",\"target\":\"h\",\"tags\":[]}", WARD_E_JSON_TYPE, "tags: ");
    refuse("{\"type\":\"icmp\",\"target\":\"h\",\"tags\":{\"a\":1}}", WARD_E_JSON_TYPE, "tags: ");
    refuse("{\"type\":\"icmp\",\"target\":\"h\",\"tags\":{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\","
           "\"d\":\"4\",\"e\":\"5\"}}",
           WARD_E_CONFIG, "tags: at most 4");
    refuse("{\"type\":\"icmp\",\"target\":\"h\",\"tags\":{\"type\":\"x\"}}", WARD_E_CONFIG,
           "not type or target");
    refuse("{\"type\":\"icmp\",\"target\":\"h\",\"tags\":{\"target\":\"x\"}}", WARD_E_CONFIG,
           "not type or target");
    refuse("{\"type\":\"icmp\",\"target\":\"h\",\"tags\":{\"1a\":\"x\"}}", WARD_E_CONFIG,
           "tags: a key must be");
    refuse("{\"type\":\"icmp\",\"target\":\"h\",\"tags\":{\"a-b\":\"x\"}}", WARD_E_CONFIG,
           "tags: a key must be");
    refuse("{\"type\":\"icmp\",\"target\":\"h\",\"tags\":{\"\":\"x\"}}", WARD_E_CONFIG,
           "tags: a key must be");
    refuse("{\"type\":\"icmp\",\"target\":\"h\",\"tags\":{\"a\":\"x\",\"a\":\"y\"}}", WARD_E_CONFIG,
           "\"a\" is given twice");
    refuse("{\"type\":\"icmp\",\"target\":\"h\",\"tags\":{\"a\\u0000\":\"x\"}}", WARD_E_CONFIG,
           "a key holds a NUL byte");
    refuse("{\"type\":\"icmp\",\"target\":\"h\",\"tags\":{\"a\":\"\"}}", WARD_E_CONFIG,
           "the value of \"a\"");
    refuse("{\"type\":\"icmp\",\"target\":\"h\",\"tags\":{\"a\":\"x\\ny\"}}", WARD_E_CONFIG,
           "control characters");
    /* The longest key and value fit; one byte more does not. */
    char json[1024], key[WARD_PROBE_TAG_KEY_MAX + 2], value[WARD_PROBE_TAG_VALUE_MAX + 2];
    memset(key, 'k', sizeof(key) - 1);
    key[sizeof(key) - 1] = '\0';
    memset(value, 'v', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    struct ward_probe_spec s;
    struct ward_buf msg;
    snprintf(json, sizeof(json),
             "{\"type\":\"icmp\",\"target\":\"h\",\"tags\":{\"%.*s\":\"%.*s\"}}",
             WARD_PROBE_TAG_KEY_MAX, key, WARD_PROBE_TAG_VALUE_MAX, value);
    assert_int_equal(parse(json, &s, &msg), 0);
    assert_int_equal(strlen(s.tags[0].key), WARD_PROBE_TAG_KEY_MAX);
    assert_int_equal(strlen(s.tags[0].value), WARD_PROBE_TAG_VALUE_MAX);
    ward_buf_done(&msg);
    snprintf(json, sizeof(json), "{\"type\":\"icmp\",\"target\":\"h\",\"tags\":{\"%s\":\"v\"}}",
             key);
    refuse(json, WARD_E_CONFIG, "longer than 63 bytes");
    snprintf(json, sizeof(json), "{\"type\":\"icmp\",\"target\":\"h\",\"tags\":{\"k\":\"%s\"}}",
             value);
    refuse(json, WARD_E_CONFIG, "tags: longer than 127 bytes");
}

static void parse_bad_documents(void **unused)
{
    (void)unused;
    refuse("{\"type\":\"icmp\",\"target\":\"h\",\"tiemout\":\"2s\"}", WARD_E_CONFIG,
           "unknown key \"tiemout\"");
    refuse("{\"type\":\"icmp\",\"target\":\"h\",\"type\":\"tcp\"}", WARD_E_CONFIG,
           "type: given twice");
    refuse("[{\"type\":\"icmp\",\"target\":\"h\"}]", WARD_E_JSON_TYPE, "probe: ");
    refuse("{\"type\":\"icmp\",\"target\":\"h\"} x", WARD_E_JSON_SYNTAX, "at byte");
    refuse("{\"type\":\"icmp\",", WARD_E_JSON_SYNTAX, "at byte");
    refuse("", WARD_E_JSON_SYNTAX, "at byte");
    refuse("{\"type\":\"icmp\",\"target\":\"h\",\"tags\":{\"a\":{\"b\":\"c\"}}}", WARD_E_JSON_DEPTH,
           "at byte");
    refuse("{\"type\":\"icmp\",\"target\":\"h\",\"tags\":{\"a\":\"\xff\"}}", WARD_E_JSON_UTF8,
           "at byte");
}

static void parse_limits(void **unused)
{
    (void)unused;
    struct ward_probe_spec s;
    struct ward_buf msg;
    char json[1024], host[WARD_PROBE_TARGET_MAX + 2];
    /* 255 bytes of target fit, a host of 253; one more does not. */
    memset(host, 'a', sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    snprintf(json, sizeof(json), "{\"type\":\"tcp\",\"target\":\"%.249s:65535\"}", host);
    assert_int_equal(parse(json, &s, &msg), 0);
    assert_int_equal(strlen(s.target), WARD_PROBE_TARGET_MAX);
    ward_buf_done(&msg);
    snprintf(json, sizeof(json), "{\"type\":\"icmp\",\"target\":\"%.253s\"}", host);
    assert_int_equal(parse(json, &s, &msg), 0);
    ward_buf_done(&msg);
    snprintf(json, sizeof(json), "{\"type\":\"icmp\",\"target\":\"%.254s\"}", host);
    refuse(json, WARD_E_CONFIG, "target: the host");
    snprintf(json, sizeof(json), "{\"type\":\"icmp\",\"target\":\"%s\"}", host);
    refuse(json, WARD_E_CONFIG, "target: longer than 255 bytes");

    /* Huge strings stop at the reader's limits, with a message. */
    size_t big = 200 * 1024;
    char *doc = malloc(big + 64);
    assert_non_null(doc);
    int n = snprintf(doc, big + 64, "{\"type\":\"icmp\",\"target\":\"");
    memset(doc + n, 'a', big);
    snprintf(doc + n + big, 64, "\"}");
    assert_int_equal(parse(doc, &s, &msg), WARD_E_JSON_SIZE);
    ward_buf_done(&msg);
    n = snprintf(doc, big + 64, "{\"type\":\"icmp\",\"target\":\"");
    memset(doc + n, 'a', 2000);
    snprintf(doc + n + 2000, 64, "\"}");
    assert_int_equal(parse(doc, &s, &msg), WARD_E_JSON_SIZE);
    assert_non_null(strstr(msg.data, "target: at byte"));
    ward_buf_done(&msg);
    free(doc);

    /* err may be NULL; out is untouched on failure. */
    memset(&s, 0x5a, sizeof(s));
    const char *bad = "{\"type\":\"icmp\"}";
    assert_int_equal(ward_probe_spec_parse(bad, strlen(bad), &s, NULL), WARD_E_CONFIG);
    assert_int_equal(s.count, 0x5a5a5a5a);
}

static void check_specs_built_in_code(void **unused)
{
    (void)unused;
    struct ward_probe_spec s;
    ward_probe_spec_init(&s);
    snprintf(s.target, sizeof(s.target), "127.0.0.1");
    assert_int_equal(ward_probe_spec_check(&s, NULL), 0);
    s.type = (enum ward_probe_type)7;
    assert_int_equal(ward_probe_spec_check(&s, NULL), WARD_E_CONFIG);
    s.type = WARD_PROBE_ICMP;
    memset(s.target, 'a', sizeof(s.target)); /* not terminated */
    assert_int_equal(ward_probe_spec_check(&s, NULL), WARD_E_CONFIG);
    snprintf(s.target, sizeof(s.target), "127.0.0.1");
    s.n_tags = WARD_PROBE_MAX_TAGS + 1;
    assert_int_equal(ward_probe_spec_check(&s, NULL), WARD_E_CONFIG);
    s.n_tags = 0;
    s.count = 0;
    struct ward_probe_result res;
    assert_int_equal(ward_probe_run(&s, &res), -EINVAL);
    /* In a set, a bad spec fails alone. */
    struct ward_probe_spec good;
    ward_probe_spec_init(&good);
    snprintf(good.target, sizeof(good.target), "127.0.0.1");
    const struct ward_probe_spec *set[2] = {&s, &good};
    struct ward_probe_result out[2];
    assert_int_equal(ward_probe_run_many(set, 2, out), 0);
    assert_false(out[0].up);
    assert_int_equal(out[0].error, -EINVAL);
    assert_int_not_equal(out[1].error, -EINVAL);
    assert_int_equal(ward_probe_type_name(WARD_PROBE_HTTP)[0], 'h');
    assert_string_equal(ward_probe_type_name((enum ward_probe_type)9), "");
}

static struct ward_probe_spec make_spec(enum ward_probe_type type, const char *target)
{
    struct ward_probe_spec s;
    ward_probe_spec_init(&s);
    s.type = type;
    snprintf(s.target, sizeof(s.target), "%s", target);
    s.timeout_ms = 1000;
    s.spacing_ms = 10;
    assert_int_equal(ward_probe_spec_check(&s, NULL), 0);
    return s;
}

static void tcp_open_and_closed(void **unused)
{
    (void)unused;
    int open_port, closed_port;
    int lfd = loopback_socket(AF_INET, true, &open_port);
    /* Bound but not listening: the port is ours, and connects are refused. */
    int cfd = loopback_socket(AF_INET, false, &closed_port);
    char target[64];
    snprintf(target, sizeof(target), "127.0.0.1:%d", open_port);
    struct ward_probe_spec s = make_spec(WARD_PROBE_TCP, target);
    struct ward_probe_result res;
    assert_int_equal(ward_probe_run(&s, &res), 0);
    assert_true(res.up);
    assert_int_equal(res.error, 0);
    assert_true(res.latency_ms >= 0);
    assert_true(res.loss_percent == 0);
    assert_int_equal(res.status_code, 0);

    snprintf(target, sizeof(target), "127.0.0.1:%d", closed_port);
    s = make_spec(WARD_PROBE_TCP, target);
    s.timeout_ms = 60000;
    s.interval_ms = 60000;
    int64_t t0 = ward_mono_ms();
    assert_int_equal(ward_probe_run(&s, &res), 0);
    assert_false(res.up);
    assert_int_equal(res.error, -ECONNREFUSED);
    /* A refusal ends the probe, not the 60 s timeout. */
    assert_true(ward_mono_ms() - t0 < 30000);
    close(lfd);
    close(cfd);
}

static void tcp_ipv6_and_names(void **unused)
{
    (void)unused;
    int port;
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        print_message("no IPv6 here: %s\n", strerror(errno));
        skip();
    }
    close(fd);
    int lfd = loopback_socket(AF_INET6, true, &port);
    char target[64];
    snprintf(target, sizeof(target), "[::1]:%d", port);
    struct ward_probe_spec s = make_spec(WARD_PROBE_TCP, target);
    struct ward_probe_result res;
    assert_int_equal(ward_probe_run(&s, &res), 0);
    assert_true(res.up);
    close(lfd);
    /*
     * "localhost" resolves through the lookup path (/etc/hosts). Only
     * 127.0.0.1 listens: when ::1 comes first, it is refused and the next
     * address is tried.
     */
    int lfd4 = loopback_socket(AF_INET, true, &port);
    snprintf(target, sizeof(target), "localhost:%d", port);
    s = make_spec(WARD_PROBE_TCP, target);
    assert_int_equal(ward_probe_run(&s, &res), 0);
    assert_true(res.up);
    close(lfd4);
}

static void unresolvable_name(void **unused)
{
    (void)unused;
    /*
     * A label longer than 63 bytes cannot be put in a DNS query, so the
     * resolver fails at once without asking any server.
     */
    static const char host[] =
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.invalid";
    char target[128];
    snprintf(target, sizeof(target), "%s:80", host);
    struct ward_probe_spec s = make_spec(WARD_PROBE_TCP, target);
    struct ward_probe_result res;
    assert_int_equal(ward_probe_run(&s, &res), 0);
    assert_false(res.up);
    assert_true(res.error < 0);
    s = make_spec(WARD_PROBE_ICMP, host);
    assert_int_equal(ward_probe_run(&s, &res), 0);
    assert_false(res.up);
    assert_true(res.error < 0);
    snprintf(target, sizeof(target), "http://%s/", host);
    s = make_spec(WARD_PROBE_HTTP, target);
    assert_int_equal(ward_probe_run(&s, &res), 0);
    assert_false(res.up);
    assert_true(res.error < 0);
    assert_int_equal(res.status_code, 0);
}

/* A one-connection HTTP server: reads the request head, sends response, closes. */
struct responder {
    int fd, port;
    pthread_t thread;
    const char *response;
    char request[2048];
};

static void *serve(void *arg)
{
    struct responder *rp = arg;
    int c = accept(rp->fd, NULL, NULL);
    if (c < 0)
        return NULL;
    size_t len = 0;
    while (len + 1 < sizeof(rp->request) && !strstr(rp->request, "\r\n\r\n")) {
        ssize_t n = read(c, rp->request + len, sizeof(rp->request) - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        rp->request[len] = '\0';
    }
    loopback_send_all(c, rp->response, strlen(rp->response));
    close(c);
    return NULL;
}

static void responder_start(struct responder *rp, const char *response)
{
    *rp = (struct responder){.response = response};
    rp->fd = loopback_socket(AF_INET, true, &rp->port);
    assert_int_equal(pthread_create(&rp->thread, NULL, serve, rp), 0);
}

static void responder_stop(struct responder *rp)
{
    pthread_join(rp->thread, NULL);
    close(rp->fd);
}

/* Runs an HTTP probe of path against a responder that answers response. */
static struct ward_probe_result http_run(const char *response, const char *path,
                                         struct responder *rp)
{
    char target[128];
    responder_start(rp, response);
    snprintf(target, sizeof(target), "http://127.0.0.1:%d%s", rp->port, path);
    struct ward_probe_spec s = make_spec(WARD_PROBE_HTTP, target);
    struct ward_probe_result res;
    assert_int_equal(ward_probe_run(&s, &res), 0);
    responder_stop(rp);
    return res;
}

static void http_statuses(void **unused)
{
    (void)unused;
    struct responder rp;
    struct ward_probe_result res =
        http_run("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "/health?full=1", &rp);
    assert_true(res.up);
    assert_int_equal(res.status_code, 200);
    assert_int_equal(res.error, 0);
    assert_true(res.latency_ms >= 0);
    char want[128];
    snprintf(want, sizeof(want), "Host: 127.0.0.1:%d\r\n", rp.port);
    assert_non_null(strstr(rp.request, want));
    assert_memory_equal(rp.request, "GET /health?full=1 HTTP/1.1\r\n", 29);
    assert_non_null(strstr(rp.request, "Connection: close\r\n"));

    res = http_run("HTTP/1.1 500 Internal Server Error\r\n\r\n", "", &rp);
    assert_false(res.up);
    assert_int_equal(res.status_code, 500);
    assert_int_equal(res.error, WARD_E_HTTP);
    assert_memory_equal(rp.request, "GET / HTTP/1.1\r\n", 16);

    res = http_run("HTTP/1.0 302 Found\nLocation: /x\n\n", "/", &rp);
    assert_true(res.up);
    assert_int_equal(res.status_code, 302);

    res = http_run("HTTP/1.1 404 Not Found\r\n\r\n", "/", &rp);
    assert_false(res.up);
    assert_int_equal(res.status_code, 404);

    /* Interim responses are skipped. */
    res = http_run("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
                   "/", &rp);
    assert_true(res.up);
    assert_int_equal(res.status_code, 204);
}

static void http_bad_responses(void **unused)
{
    (void)unused;
    struct responder rp;
    struct ward_probe_result res = http_run("SSH-2.0-OpenSSH_9.2\r\n\r\n", "/", &rp);
    assert_false(res.up);
    assert_int_equal(res.status_code, 0);
    assert_int_equal(res.error, WARD_E_HTTP);

    res = http_run("HTTP/1.1 20 OK\r\n\r\n", "/", &rp);
    assert_false(res.up);
    assert_int_equal(res.error, WARD_E_HTTP);

    /* Closed in the middle of the head. */
    res = http_run("HTTP/1.1 200 OK\r\nServer: x\r\n", "/", &rp);
    assert_false(res.up);
    assert_int_equal(res.status_code, 0);
    assert_true(res.error < 0);

    /* A head past 16 KiB. */
    size_t size = 20 * 1024;
    char *big = malloc(size + 1);
    assert_non_null(big);
    memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
    memset(big + 20, 'x', size - 20);
    big[size] = '\0';
    res = http_run(big, "/", &rp);
    assert_false(res.up);
    assert_int_equal(res.error, -EMSGSIZE);
    free(big);
}

static void http_timeout(void **unused)
{
    (void)unused;
    /* Listening, never accepting: the connect succeeds, no answer ever comes. */
    int port;
    int lfd = loopback_socket(AF_INET, true, &port);
    char target[64];
    snprintf(target, sizeof(target), "http://127.0.0.1:%d/", port);
    struct ward_probe_spec s = make_spec(WARD_PROBE_HTTP, target);
    s.timeout_ms = 100;
    struct ward_probe_result res;
    assert_int_equal(ward_probe_run(&s, &res), 0);
    assert_false(res.up);
    assert_int_equal(res.error, -ETIMEDOUT);
    assert_int_equal(res.status_code, 0);
    close(lfd);
}

/* Silent targets run together: the round takes about one timeout, not eight. */
static void round_is_concurrent(void **unused)
{
    (void)unused;
    enum {
        N = 8,
        TIMEOUT_MS = 250
    };
    int port, fds[N];
    struct ward_probe_spec specs[N];
    const struct ward_probe_spec *set[N];
    struct ward_probe_result out[N];
    for (int i = 0; i < N; i++) {
        fds[i] = loopback_socket(AF_INET, true, &port);
        char target[64];
        snprintf(target, sizeof(target), "http://127.0.0.1:%d/", port);
        specs[i] = make_spec(WARD_PROBE_HTTP, target);
        specs[i].timeout_ms = TIMEOUT_MS;
        set[i] = &specs[i];
    }
    int64_t t0 = ward_mono_ms();
    assert_int_equal(ward_probe_run_many(set, N, out), 0);
    int64_t took = ward_mono_ms() - t0;
    for (int i = 0; i < N; i++) {
        assert_false(out[i].up);
        assert_int_equal(out[i].error, -ETIMEDOUT);
        close(fds[i]);
    }
    /* In sequence it would be N * TIMEOUT_MS at least; allow a slow machine plenty. */
    if (took >= N * TIMEOUT_MS)
        fail_msg("a round of %d probes of %d ms took %lld ms", N, TIMEOUT_MS, (long long)took);
    assert_int_equal(ward_probe_run_many(set, 0, out), 0);
    assert_int_equal(ward_probe_run_many(set, WARD_PROBE_MAX + 1, out), -EINVAL);
}

/* Skips the test when this process may open no ICMP socket of family. */
static void need_icmp(int family)
{
    int proto = family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
    int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, proto);
    if (fd < 0)
        fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, proto);
    if (fd < 0) {
        print_message("skipped: no ICMP socket for family %d: %s (needs CAP_NET_RAW or "
                      "net.ipv4.ping_group_range)\n",
                      family, strerror(errno));
        skip();
    }
    close(fd);
}

static void icmp_loopback(void **unused)
{
    (void)unused;
    need_icmp(AF_INET);
    struct ward_probe_spec s = make_spec(WARD_PROBE_ICMP, "127.0.0.1");
    s.count = 4;
    struct ward_probe_result res;
    assert_int_equal(ward_probe_run(&s, &res), 0);
    assert_true(res.up);
    assert_int_equal(res.error, 0);
    assert_true(res.latency_ms >= 0);
    assert_true(res.loss_percent == 0);
    /* Two at once on the same host: each counts only its own answers. */
    struct ward_probe_spec t = make_spec(WARD_PROBE_ICMP, "127.0.0.1");
    t.count = 2;
    t.spacing_ms = 0;
    const struct ward_probe_spec *set[2] = {&s, &t};
    struct ward_probe_result out[2];
    assert_int_equal(ward_probe_run_many(set, 2, out), 0);
    assert_true(out[0].up && out[1].up);
    assert_true(out[0].loss_percent == 0 && out[1].loss_percent == 0);
}

static void icmp_loopback_v6(void **unused)
{
    (void)unused;
    need_icmp(AF_INET6);
    struct ward_probe_spec s = make_spec(WARD_PROBE_ICMP, "::1");
    struct ward_probe_result res;
    assert_int_equal(ward_probe_run(&s, &res), 0);
    assert_true(res.up);
    assert_true(res.loss_percent == 0);
    s = make_spec(WARD_PROBE_ICMP, "[::1]");
    assert_int_equal(ward_probe_run(&s, &res), 0);
    assert_true(res.up);
}

/* Addresses resolve at once; a name through a lookup; nothing too long is looked up. */
static void resolve_to_one_address(void **unused)
{
    (void)unused;
    struct sockaddr_storage sa;
    int64_t deadline = ward_mono_ms() + 10000;
    assert_int_equal(ward_probe_resolve("127.0.0.1", SOCK_DGRAM, deadline, &sa), 0);
    assert_int_equal(sa.ss_family, AF_INET);
    assert_int_equal(ntohl(((struct sockaddr_in *)&sa)->sin_addr.s_addr), INADDR_LOOPBACK);
    assert_int_equal(ward_probe_resolve("::1", SOCK_DGRAM, deadline, &sa), 0);
    assert_int_equal(sa.ss_family, AF_INET6);
    /* localhost is in /etc/hosts on every Debian: a name, but no network needed. */
    assert_int_equal(ward_probe_resolve("localhost", SOCK_DGRAM, deadline, &sa), 0);
    assert_true(sa.ss_family == AF_INET || sa.ss_family == AF_INET6);
    char longest[WARD_PROBE_TARGET_MAX + 2];
    memset(longest, 'a', sizeof(longest) - 1);
    longest[sizeof(longest) - 1] = '\0';
    assert_int_equal(ward_probe_resolve(longest, SOCK_DGRAM, deadline, &sa), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_good),
        cmocka_unit_test(parse_bad_type_and_target),
        cmocka_unit_test(parse_bad_durations_and_count),
        cmocka_unit_test(parse_bad_tags),
        cmocka_unit_test(parse_bad_documents),
        cmocka_unit_test(parse_limits),
        cmocka_unit_test(check_specs_built_in_code),
        cmocka_unit_test(tcp_open_and_closed),
        cmocka_unit_test(tcp_ipv6_and_names),
        cmocka_unit_test(unresolvable_name),
        cmocka_unit_test(http_statuses),
        cmocka_unit_test(http_bad_responses),
        cmocka_unit_test(http_timeout),
        cmocka_unit_test(round_is_concurrent),
        cmocka_unit_test(icmp_loopback),
        cmocka_unit_test(icmp_loopback_v6),
        cmocka_unit_test(resolve_to_one_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
