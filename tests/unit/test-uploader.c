/*
 * Tests for the agent's HTTP client and uploader against a test double: a
 * tiny HTTP server on a loopback socket, run in a thread, that answers each
 * request the way the test asks (Content-Length, chunked, an oversized
 * body, keep-alive, closing an idle connection, never answering, malformed
 * or oversized heads). Also URL parsing, good and bad.
 */
#include <errno.h>
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "loopback.h"

#include "agent/http-client.h"
#include "agent/uploader.h"
#include "common/buf.h"
#include "common/error.h"

enum mode {
    OK_LENGTH,   /* 200 with Content-Length, Date and Retry-After */
    CHUNKED,     /* 200 with a chunked body and a trailer */
    BIG,         /* a body far past what the client keeps */
    CLOSE_IDLE,  /* answers, then closes the connection without saying so */
    DROP_SECOND, /* answers the first request, drops the connection at the second */
    SILENT,      /* reads the request, never answers */
    MALFORMED,   /* a broken status line */
    HUGE_HEAD,   /* a head past the client's bound */
    NO_SPACE,    /* a header written without a space after the colon */
    EARLY_413,   /* answers 413 after the head and closes without reading the body */
};

struct server {
    struct loopback_server net;
    enum mode mode;
    atomic_int connections;
    atomic_int requests;
    char last_head[4096];
};

/* Reads one request (head and Content-Length body). Returns false when the client went away. */
static bool read_request(struct server *s, int fd)
{
    char buf[65536];
    size_t len = 0;
    char *end = NULL;
    while (!end) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) == 0) {
            if (s->net.stop)
                return false;
            continue;
        }
        ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (n <= 0)
            return false;
        len += (size_t)n;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    size_t head = (size_t)(end + 4 - buf);
    size_t keep = head < sizeof(s->last_head) - 1 ? head : sizeof(s->last_head) - 1;
    memcpy(s->last_head, buf, keep);
    s->last_head[keep] = '\0';
    const char *cl = strcasestr(buf, "Content-Length:");
    size_t want = cl ? strtoul(cl + 15, NULL, 10) : 0;
    size_t have = len - head;
    while (have < want) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0)
            return false;
        have += (size_t)n;
    }
    s->requests++;
    return true;
}

/* Waits until the client closes or the test ends. */
static void wait_close(struct server *s, int fd)
{
    char b[256];
    while (!s->net.stop) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) > 0 && recv(fd, b, sizeof(b), 0) <= 0)
            return;
    }
}

static void serve(void *ctx, int fd)
{
    struct server *s = ctx;
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nDate: Sun, 22 Nov 2026 "
                             "10:00:00 GMT\r\nRetry-After: 5\r\n\r\nok";
    int conn = s->connections++;
    if (s->mode == EARLY_413) {
        /* Like ward-server refusing a declared Content-Length: answer, close, read nothing. */
        char c, last4[4] = {0};
        while (memcmp(last4, "\r\n\r\n", 4) != 0 && recv(fd, &c, 1, 0) == 1) {
            memmove(last4, last4 + 1, 3);
            last4[3] = c;
        }
        static const char r[] = "HTTP/1.1 413 Content Too Large\r\nContent-Length: 8\r\n"
                                "Connection: close\r\n\r\ntoo big!";
        loopback_send_all(fd, r, strlen(r));
        s->requests++;
        return;
    }
    for (int n = 0; read_request(s, fd); n++) {
        switch (s->mode) {
        case OK_LENGTH:
            loopback_send_all(fd, ok, strlen(ok));
            break;
        case CHUNKED: {
            static const char r[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                    "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n";
            loopback_send_all(fd, r, strlen(r));
            break;
        }
        case BIG: {
            size_t size = 200 * 1024;
            char head[128];
            int h = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n",
                             size);
            loopback_send_all(fd, head, (size_t)h);
            char *body = malloc(size);
            memset(body, 'x', size);
            loopback_send_all(fd, body, size);
            free(body);
            break;
        }
        case CLOSE_IDLE:
            loopback_send_all(fd, ok, strlen(ok));
            return;
        case DROP_SECOND:
            if (conn == 0 && n == 1)
                return;
            loopback_send_all(fd, ok, strlen(ok));
            break;
        case SILENT:
            wait_close(s, fd);
            return;
        case MALFORMED: {
            static const char r[] = "HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n";
            loopback_send_all(fd, r, strlen(r));
            break;
        }
        case NO_SPACE: {
            static const char r[] = "HTTP/1.1 200 OK\r\nContent-Length:2\r\n\r\nok";
            loopback_send_all(fd, r, strlen(r));
            break;
        }
        case EARLY_413:
            break; /* answered above */
        case HUGE_HEAD: {
            struct ward_buf b = WARD_BUF_INIT;
            ward_buf_puts(&b, "HTTP/1.1 200 OK\r\n");
            for (int i = 0; i < 400; i++)
                ward_buf_printf(&b, "X-Filler-%d: %060d\r\n", i, i);
            ward_buf_puts(&b, "Content-Length: 0\r\n\r\n");
            loopback_send_all(fd, b.data, b.len);
            ward_buf_done(&b);
            break;
        }
        }
    }
}

static struct server *server_start(enum mode mode)
{
    struct server *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    s->mode = mode;
    loopback_server_start(&s->net, serve, s);
    return s;
}

static void server_stop(struct server *s)
{
    loopback_server_stop(&s->net);
    free(s);
}

static struct ward_uploader *uploader(const struct server *s, long timeout_ms)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", s->net.port);
    struct ward_uploader *u = NULL;
    assert_int_equal(ward_uploader_new(url, timeout_ms, &u), 0);
    return u;
}

/* Posts a small body; returns what ward_uploader_post_gzip() returned. */
static int post(struct ward_uploader *u, long *status, struct ward_buf *body, struct ward_buf *err)
{
    static const char data[] = "\x1f\x8b not really gzip";
    ward_buf_reset(body);
    return ward_uploader_post_gzip(u, "/api/v1/ingest", data, sizeof(data) - 1, status, body, err);
}

static void test_content_length(void **state)
{
    (void)state;
    struct server *s = server_start(OK_LENGTH);
    struct ward_uploader *u = uploader(s, 5000);
    struct ward_buf body = WARD_BUF_INIT, err = WARD_BUF_INIT;
    long status = 0;
    assert_null(ward_uploader_last_response(u));
    assert_int_equal(post(u, &status, &body, &err), 0);
    assert_int_equal(status, 200);
    assert_string_equal(body.data, "ok");
    const struct ward_http_response *r = ward_uploader_last_response(u);
    assert_non_null(r);
    assert_string_equal(r->date, "Sun, 22 Nov 2026 10:00:00 GMT");
    assert_string_equal(r->retry_after, "5");
    /* The request as sent: prefix-free path, the headers the server relies on. */
    assert_non_null(strstr(s->last_head, "POST /api/v1/ingest HTTP/1.1\r\n"));
    assert_non_null(strstr(s->last_head, "Host: 127.0.0.1:"));
    assert_non_null(strstr(s->last_head, "User-Agent: ward-agent/"));
    assert_non_null(strstr(s->last_head, "Content-Type: application/json\r\n"));
    assert_non_null(strstr(s->last_head, "Content-Encoding: gzip\r\n"));
    assert_non_null(strstr(s->last_head, "Content-Length: 18\r\n"));
    ward_uploader_free(u);
    server_stop(s);
    ward_buf_done(&body);
    ward_buf_done(&err);
}

static void test_header_without_space(void **state)
{
    (void)state;
    struct server *s = server_start(NO_SPACE);
    struct ward_uploader *u = uploader(s, 5000);
    struct ward_buf body = WARD_BUF_INIT, err = WARD_BUF_INIT;
    long status = 0;
    assert_int_equal(post(u, &status, &body, &err), 0);
    assert_int_equal(status, 200);
    assert_string_equal(body.data, "ok");
    ward_uploader_free(u);
    server_stop(s);
    ward_buf_done(&body);
    ward_buf_done(&err);
}

static void test_early_answer_to_a_big_body(void **state)
{
    (void)state;
    struct server *s = server_start(EARLY_413);
    struct ward_uploader *u = uploader(s, 5000);
    struct ward_buf body = WARD_BUF_INIT, err = WARD_BUF_INIT;
    size_t size = 8u << 20;
    char *data = calloc(1, size);
    assert_non_null(data);
    long status = 0;
    int r = ward_uploader_post_gzip(u, "/api/v1/ingest", data, size, &status, &body, &err);
    /* The 413 is what the caller sees, not the reset of the unread body. */
    assert_int_equal(r, 0);
    assert_int_equal(status, 413);
    assert_string_equal(body.data, "too big!");
    free(data);
    ward_uploader_free(u);
    server_stop(s);
    ward_buf_done(&body);
    ward_buf_done(&err);
}

static void test_chunked(void **state)
{
    (void)state;
    struct server *s = server_start(CHUNKED);
    struct ward_uploader *u = uploader(s, 5000);
    struct ward_buf body = WARD_BUF_INIT, err = WARD_BUF_INIT;
    long status = 0;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(post(u, &status, &body, &err), 0);
        assert_int_equal(status, 200);
        assert_string_equal(body.data, "hello world");
    }
    /* The trailer was consumed: the connection stayed in step and was reused. */
    assert_int_equal(s->connections, 1);
    ward_uploader_free(u);
    server_stop(s);
    ward_buf_done(&body);
    ward_buf_done(&err);
}

static void test_big_body(void **state)
{
    (void)state;
    struct server *s = server_start(BIG);
    struct ward_uploader *u = uploader(s, 5000);
    struct ward_buf body = WARD_BUF_INIT, err = WARD_BUF_INIT;
    long status = 0;
    assert_int_equal(post(u, &status, &body, &err), 0);
    assert_int_equal(status, 200);
    assert_int_equal(body.len, WARD_HTTP_BODY_KEEP);
    assert_int_equal(post(u, &status, &body, &err), 0);
    assert_int_equal(body.len, WARD_HTTP_BODY_KEEP);
    assert_int_equal(s->connections, 1);
    ward_uploader_free(u);
    server_stop(s);
    ward_buf_done(&body);
    ward_buf_done(&err);
}

static void test_keep_alive(void **state)
{
    (void)state;
    struct server *s = server_start(OK_LENGTH);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", s->net.port);
    struct ward_http_client_config cfg = {.url = url, .timeout_ms = 5000};
    struct ward_http_client *c = NULL;
    struct ward_buf body = WARD_BUF_INIT, err = WARD_BUF_INIT;
    assert_int_equal(ward_http_client_new(&cfg, &c, &err), 0);
    struct ward_http_response resp;
    for (int i = 0; i < 3; i++) {
        ward_buf_reset(&body);
        assert_int_equal(ward_http_client_post(c, "/x", NULL, "ab", 2, &resp, &body, &err), 0);
        assert_int_equal(resp.status, 200);
    }
    assert_int_equal(ward_http_client_connections(c), 1);
    assert_int_equal(s->connections, 1);
    assert_int_equal(s->requests, 3);
    ward_http_client_free(c);
    server_stop(s);
    ward_buf_done(&body);
    ward_buf_done(&err);
}

/* The server closes each connection after one answer: the client notices and reconnects. */
static void test_reconnect_after_idle_close(void **state)
{
    (void)state;
    struct server *s = server_start(CLOSE_IDLE);
    struct ward_uploader *u = uploader(s, 5000);
    struct ward_buf body = WARD_BUF_INIT, err = WARD_BUF_INIT;
    long status = 0;
    assert_int_equal(post(u, &status, &body, &err), 0);
    usleep(100 * 1000); /* the server has closed by now */
    assert_int_equal(post(u, &status, &body, &err), 0);
    assert_int_equal(status, 200);
    assert_int_equal(s->connections, 2);
    assert_int_equal(s->requests, 2);
    ward_uploader_free(u);
    server_stop(s);
    ward_buf_done(&body);
    ward_buf_done(&err);
}

/* The reused connection dies after the request is sent, before any answer: sent again. */
static void test_retry_on_stale_keep_alive(void **state)
{
    (void)state;
    struct server *s = server_start(DROP_SECOND);
    struct ward_uploader *u = uploader(s, 5000);
    struct ward_buf body = WARD_BUF_INIT, err = WARD_BUF_INIT;
    long status = 0;
    assert_int_equal(post(u, &status, &body, &err), 0);
    assert_int_equal(post(u, &status, &body, &err), 0);
    assert_int_equal(status, 200);
    assert_string_equal(body.data, "ok");
    assert_int_equal(s->connections, 2);
    assert_int_equal(s->requests, 3);
    ward_uploader_free(u);
    server_stop(s);
    ward_buf_done(&body);
    ward_buf_done(&err);
}

static void test_timeout(void **state)
{
    (void)state;
    struct server *s = server_start(SILENT);
    struct ward_uploader *u = uploader(s, 300);
    struct ward_buf body = WARD_BUF_INIT, err = WARD_BUF_INIT;
    long status = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(post(u, &status, &body, &err), WARD_E_HTTP);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    assert_true(ms >= 250 && ms < 3000);
    assert_non_null(strstr(err.data, "timeout after 300 ms"));
    ward_uploader_free(u);
    server_stop(s);
    ward_buf_done(&body);
    ward_buf_done(&err);
}

static void test_refused(void **state)
{
    (void)state;
    /* A port that was just free: nothing listens there. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    char url[64], want[64];
    snprintf(url, sizeof(url), "127.0.0.1:%d", ntohs(a.sin_port));
    snprintf(want, sizeof(want), "connect to 127.0.0.1:%d: Connection refused", ntohs(a.sin_port));
    struct ward_uploader *u = NULL;
    assert_int_equal(ward_uploader_new(url, 2000, &u), 0);
    struct ward_buf body = WARD_BUF_INIT, err = WARD_BUF_INIT;
    long status = 0;
    assert_int_equal(post(u, &status, &body, &err), WARD_E_HTTP);
    assert_string_equal(err.data, want);
    ward_uploader_free(u);
    ward_buf_done(&body);
    ward_buf_done(&err);
}

static void expect_failure(enum mode mode, const char *message)
{
    struct server *s = server_start(mode);
    struct ward_uploader *u = uploader(s, 5000);
    struct ward_buf body = WARD_BUF_INIT, err = WARD_BUF_INIT;
    long status = 0;
    assert_int_equal(post(u, &status, &body, &err), WARD_E_HTTP);
    assert_non_null(err.data);
    if (!strstr(err.data, message))
        fail_msg("error '%s' does not contain '%s'", err.data, message);
    ward_uploader_free(u);
    server_stop(s);
    ward_buf_done(&body);
    ward_buf_done(&err);
}

static void test_malformed_status(void **state)
{
    (void)state;
    expect_failure(MALFORMED, "malformed status line");
}

static void test_huge_head(void **state)
{
    (void)state;
    expect_failure(HUGE_HEAD, "response head larger than 16384 bytes");
}

static void test_url_parse(void **state)
{
    (void)state;
    struct ward_http_url u;
    assert_int_equal(ward_http_url_parse("http://example.com", &u), 0);
    assert_false(u.tls);
    assert_string_equal(u.host, "example.com");
    assert_string_equal(u.port, "80");
    assert_string_equal(u.prefix, "");
    assert_int_equal(ward_http_url_parse("https://ward.example.com:8443/base/path/", &u), 0);
    assert_true(u.tls);
    assert_string_equal(u.host, "ward.example.com");
    assert_string_equal(u.port, "8443");
    assert_string_equal(u.prefix, "/base/path");
    assert_int_equal(ward_http_url_parse("https://10.0.0.1", &u), 0);
    assert_string_equal(u.port, "443");
    assert_int_equal(ward_http_url_parse("http://[::1]:9000/p", &u), 0);
    assert_string_equal(u.host, "::1");
    assert_string_equal(u.port, "9000");
    assert_string_equal(u.prefix, "/p");
    assert_int_equal(ward_http_url_parse("HTTP://[fe80::1]", &u), 0);
    assert_string_equal(u.host, "fe80::1");

    static const char *const bad[] = {
        "",
        "example.com",
        "ftp://example.com",
        "http://",
        "http://:80",
        "http://host:",
        "http://host:0",
        "http://host:65536",
        "http://host:123456",
        "http://host:80x",
        "http://user@host",
        "http://host/p?q=1",
        "http://host/p#frag",
        "http://ho st",
        "http://[::1",
        "http://[not-v6]:80",
        "http://::1:80",
        "http://host\\x",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (ward_http_url_parse(bad[i], &u) != -EINVAL)
            fail_msg("'%s' was accepted", bad[i]);
}

/* The prefix of the base URL goes before every path; the port is left out when it is the default.
 */
static void test_prefix_and_host(void **state)
{
    (void)state;
    struct server *s = server_start(OK_LENGTH);
    char url[64];
    snprintf(url, sizeof(url), "http://localhost:%d/ward/", s->net.port);
    struct ward_uploader *u = NULL;
    assert_int_equal(ward_uploader_new(url, 5000, &u), 0);
    char want[64];
    snprintf(want, sizeof(want), "http://localhost:%d/ward", s->net.port);
    assert_string_equal(ward_uploader_url(u), want);
    struct ward_buf body = WARD_BUF_INIT, err = WARD_BUF_INIT;
    long status = 0;
    int r = post(u, &status, &body, &err);
    if (r != 0)
        fail_msg("post failed: %s", err.data);
    assert_non_null(strstr(s->last_head, "POST /ward/api/v1/ingest HTTP/1.1\r\n"));
    snprintf(want, sizeof(want), "Host: localhost:%d\r\n", s->net.port);
    assert_non_null(strstr(s->last_head, want));
    ward_uploader_free(u);
    server_stop(s);
    ward_buf_done(&body);
    ward_buf_done(&err);
}

/* The API key goes in its header on every request; a GET says nothing of a body. */
static void test_api_key_and_get(void **state)
{
    (void)state;
    struct server *s = server_start(OK_LENGTH);
    struct ward_uploader *u = uploader(s, 5000);
    struct ward_buf body = WARD_BUF_INIT, err = WARD_BUF_INIT;
    long status = 0;
    assert_int_equal(ward_uploader_set_api_key(u, "bad key"), -EINVAL);
    assert_int_equal(ward_uploader_set_api_key(u, "wk\r\nX-Injected: 1"), -EINVAL);
    assert_int_equal(post(u, &status, &body, &err), 0);
    assert_null(strstr(s->last_head, "X-Agent-API-Key"));
    assert_int_equal(ward_uploader_set_api_key(u, "wk_lookup_secret"), 0);
    assert_int_equal(post(u, &status, &body, &err), 0);
    assert_non_null(strstr(s->last_head, "X-Agent-API-Key: wk_lookup_secret\r\n"));
    ward_buf_reset(&body);
    assert_int_equal(ward_uploader_get(u, "/agents/x/claim-status", &status, &body, &err), 0);
    assert_int_equal(status, 200);
    assert_string_equal(body.data, "ok");
    assert_non_null(strstr(s->last_head, "GET /agents/x/claim-status HTTP/1.1\r\n"));
    assert_non_null(strstr(s->last_head, "X-Agent-API-Key: wk_lookup_secret\r\n"));
    assert_null(strstr(s->last_head, "Content-Length"));
    assert_null(strstr(s->last_head, "Content-Type"));
    ward_buf_reset(&body);
    assert_int_equal(ward_uploader_post_json(u, "/agent/register", "X-Ward-Enroll-Token: t\r\n",
                                             "{}", 2, &status, &body, &err),
                     0);
    assert_non_null(strstr(s->last_head, "POST /agent/register HTTP/1.1\r\n"));
    assert_non_null(strstr(s->last_head, "Content-Type: application/json\r\n"));
    assert_non_null(strstr(s->last_head, "X-Ward-Enroll-Token: t\r\n"));
    assert_non_null(strstr(s->last_head, "Content-Length: 2\r\n"));
    assert_null(strstr(s->last_head, "Content-Encoding"));
    /* All on one kept-alive connection. */
    assert_int_equal(s->connections, 1);
    assert_int_equal(ward_uploader_set_api_key(u, NULL), 0);
    assert_int_equal(post(u, &status, &body, &err), 0);
    assert_null(strstr(s->last_head, "X-Agent-API-Key"));
    ward_uploader_free(u);
    server_stop(s);
    ward_buf_done(&body);
    ward_buf_done(&err);
}

static void test_bad_addresses(void **state)
{
    (void)state;
    struct ward_uploader *u = NULL;
    assert_int_equal(ward_uploader_new("", 1000, &u), -EINVAL);
    assert_int_equal(ward_uploader_new("ftp://x", 1000, &u), -EINVAL);
    assert_int_equal(ward_uploader_new("http://x y", 1000, &u), -EINVAL);
    struct ward_buf err = WARD_BUF_INIT;
    assert_int_equal(ward_uploader_new_ca("https://x", 1000, "/nonexistent/ca.pem", &u, &err),
                     WARD_E_HTTP);
    assert_non_null(strstr(err.data, "/nonexistent/ca.pem"));
    ward_buf_done(&err);
}

/* Retry-After: whole seconds or an HTTP-date, capped at an hour; anything else is no wait. */
static void test_retry_after(void **state)
{
    (void)state;
    struct ward_http_response hr = {0};
    assert_int_equal(ward_http_retry_after_ms(NULL), 0);
    assert_int_equal(ward_http_retry_after_ms(&hr), 0);
    const struct {
        const char *value;
        int64_t ms;
    } cases[] = {
        {"5", 5000}, {"3600", 3600000}, {"99999", 3600000}, {"0", 0},
        {"-5", 0},   {"5s", 0},         {"soon", 0},        {"Thu, 01 Jan 1970 00:00:00 GMT", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(hr.retry_after, sizeof(hr.retry_after), "%s", cases[i].value);
        assert_int_equal(ward_http_retry_after_ms(&hr), cases[i].ms);
    }
    /* A date ten minutes ahead: about 600 s, less what the test itself took. */
    time_t later = time(NULL) + 600;
    strftime(hr.retry_after, sizeof(hr.retry_after), "%a, %d %b %Y %H:%M:%S GMT", gmtime(&later));
    int64_t ms = ward_http_retry_after_ms(&hr);
    assert_true(ms > 590000 && ms <= 600000);
    int64_t at;
    assert_true(ward_http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT", &at));
    assert_int_equal(at, 784111777000LL);
    assert_false(ward_http_date_parse("Sunday, 06-Nov-94 08:49:37 GMT", &at));
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_length),
        cmocka_unit_test(test_header_without_space),
        cmocka_unit_test(test_early_answer_to_a_big_body),
        cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_big_body),
        cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_reconnect_after_idle_close),
        cmocka_unit_test(test_retry_on_stale_keep_alive),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_malformed_status),
        cmocka_unit_test(test_huge_head),
        cmocka_unit_test(test_url_parse),
        cmocka_unit_test(test_prefix_and_host),
        cmocka_unit_test(test_api_key_and_get),
        cmocka_unit_test(test_bad_addresses),
        cmocka_unit_test(test_retry_after),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
