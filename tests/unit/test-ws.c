/*
 * Tests of the WebSocket support over real sockets.
 *
 * Each test starts ward_http on 127.0.0.1 port 0 with a route whose handler
 * calls ward_ws_upgrade() with an echo handler, and talks to it through a
 * small hand-written client: raw sockets, masked frames as RFC 6455 asks
 * of clients, so that what is checked is what a browser would see on the
 * wire. Beyond the handshake and echo, the tests cover what the limits and
 * the shutdown promise: oversized, binary and invalid messages close the
 * connection with the right code, a client that never reads cannot make
 * the server queue without bound, quiescing sends 1001, ward_http_stop()
 * returns with WebSockets open, and on_close runs exactly once for every
 * upgrade (ASan checks the rest).
 *
 * Nothing waits on a clock to decide an outcome: waits are on conditions or
 * blocking reads, with a generous deadline only so that a bug fails the
 * test instead of hanging it. The ping test waits for the server's own
 * timer, so it takes a few seconds.
 */
#include "common/error.h"
#include "common/time-util.h"
#include "server/http/http-util.h"
#include "server/http/http.h"
#include "server/http/ws-internal.h"
#include "server/http/ws.h"

#include "http-raw.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
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

/* Deadline of every wait, only so that a bug fails instead of hanging. */
#define SAFETY_S 60

#define RFC_KEY    "dGhlIHNhbXBsZSBub25jZQ=="
#define RFC_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

/* ---- The application under test ---- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static atomic_int upgrades_ok, opens, closes, double_closes, bad_thread, burst_refused;
static pthread_t ws_thread;
static bool ws_thread_known;

/* The flood: on_wake sends to flood_ws until it is refused. */
static struct ward_ws *flood_ws;
static int flood_rounds, flood_accepted, flood_last_round_accepted, flood_last_error;
static size_t flood_max_queued;

/* The request /ws-later parked until the test resumes it. */
static struct ward_http_request *parked;

/* The wake tests. */
static int wakes;
static bool block_wake, wake_blocked;

struct conn {
    bool opened;
    int closes;
};

static void reset_state(void)
{
    atomic_store(&upgrades_ok, 0);
    atomic_store(&opens, 0);
    atomic_store(&closes, 0);
    atomic_store(&double_closes, 0);
    atomic_store(&bad_thread, 0);
    atomic_store(&burst_refused, 0);
    ws_thread_known = false;
    flood_ws = NULL;
    flood_rounds = flood_accepted = flood_last_round_accepted = flood_last_error = 0;
    flood_max_queued = 0;
    wakes = 0;
    block_wake = wake_blocked = false;
    parked = NULL;
}

/* Every callback must run on the one WebSocket thread. */
static void check_thread(void)
{
    pthread_mutex_lock(&mu);
    if (!ws_thread_known) {
        ws_thread = pthread_self();
        ws_thread_known = true;
    } else if (!pthread_equal(ws_thread, pthread_self())) {
        atomic_fetch_add(&bad_thread, 1);
    }
    pthread_mutex_unlock(&mu);
}

static void on_open(struct ward_ws *ws, void *app)
{
    (void)app;
    check_thread();
    struct conn *c = ward_ws_userdata(ws);
    c->opened = true;
    atomic_fetch_add(&opens, 1);
    pthread_mutex_lock(&mu);
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void on_text(struct ward_ws *ws, const char *msg, size_t len, void *app)
{
    (void)app;
    check_thread();
    if (len > 6 && memcmp(msg, "close:", 6) == 0) {
        char code[8] = {0};
        memcpy(code, msg + 6, len - 6 < 7 ? len - 6 : 7);
        ward_ws_close(ws, (uint16_t)strtoul(code, NULL, 10), "bye");
        /* Closing: nothing more is sent. */
        if (ward_ws_send_text(ws, "x", 1) != -ESHUTDOWN)
            atomic_fetch_add(&bad_thread, 100);
        return;
    }
    if (len == 5 && memcmp(msg, "flood", 5) == 0) {
        pthread_mutex_lock(&mu);
        flood_ws = ws;
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
        return;
    }
    if (len == 5 && memcmp(msg, "burst", 5) == 0) {
        /* More than the queue holds, in one callback: the socket takes the excess. */
        static char chunk[12288];
        memset(chunk, 'b', sizeof(chunk));
        for (int i = 0; i < 8; i++)
            if (ward_ws_send_text(ws, chunk, sizeof(chunk)) != 0)
                atomic_fetch_add(&burst_refused, 1);
        return;
    }
    if (len == 6 && memcmp(msg, "remote", 6) == 0) {
        const char *r = ward_ws_remote(ws);
        ward_ws_send_text(ws, r, strlen(r));
        return;
    }
    ward_ws_send_text(ws, msg, len);
}

static void on_close(struct ward_ws *ws, void *app)
{
    (void)app;
    check_thread();
    struct conn *c = ward_ws_userdata(ws);
    if (ward_ws_send_text(ws, "x", 1) != -ESHUTDOWN)
        atomic_fetch_add(&bad_thread, 100);
    pthread_mutex_lock(&mu);
    if (ws == flood_ws)
        flood_ws = NULL;
    /* on_open may not have run (the client left first, or the server was stopping). */
    c->closes++;
    if (c->closes != 1)
        atomic_fetch_add(&double_closes, 1);
    free(c);
    atomic_fetch_add(&closes, 1);
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static const struct ward_ws_handler echo_handler = {
    .on_open = on_open,
    .on_text = on_text,
    .on_close = on_close,
};

static void on_wake(void *app)
{
    (void)app;
    check_thread();
    pthread_mutex_lock(&mu);
    wakes++;
    pthread_cond_broadcast(&cv);
    if (block_wake) {
        wake_blocked = true;
        pthread_cond_broadcast(&cv);
        while (block_wake)
            pthread_cond_wait(&cv, &mu);
        wake_blocked = false;
    }
    struct ward_ws *ws = flood_ws;
    pthread_mutex_unlock(&mu);
    if (!ws)
        return;
    /* Send until the connection's queue is full. */
    static char chunk[16384];
    memset(chunk, 'f', sizeof(chunk));
    int accepted = 0, r;
    while ((r = ward_ws_send_text(ws, chunk, sizeof(chunk))) == 0)
        accepted++;
    pthread_mutex_lock(&mu);
    size_t q = ward_ws_queued_bytes(ws);
    if (q > flood_max_queued)
        flood_max_queued = q;
    flood_last_error = r;
    flood_accepted += accepted;
    flood_last_round_accepted = accepted;
    flood_rounds++;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void h_ws(struct ward_http_request *req, void *app)
{
    (void)app;
    struct conn *c = calloc(1, sizeof(*c));
    if (!c) {
        ward_http_error(req, 500, "oom");
        return;
    }
    int r = ward_ws_upgrade(req, &echo_handler, c);
    if (r == 0)
        atomic_fetch_add(&upgrades_ok, 1);
    else
        free(c);
}

static void h_hello(struct ward_http_request *req, void *app)
{
    (void)app;
    ward_http_respond(req, 200, "text/plain", "hello", 5);
}

/* /ws-later: the upgrade waits until the test resumes the request. */

static void resume_ws(struct ward_http_request *req, void *app)
{
    h_ws(req, app);
}

static void h_ws_later(struct ward_http_request *req, void *app)
{
    (void)app;
    ward_http_suspend(req, resume_ws);
    pthread_mutex_lock(&mu);
    parked = req;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static const struct ward_route routes[] = {
    {"GET", "/ws", h_ws, 0},
    {"GET", "/ws-later", h_ws_later, 0},
    {"GET", "/hello", h_hello, 0},
};

static struct ward_http_config base_config(void)
{
    return (struct ward_http_config){
        .address = "127.0.0.1:0",
        .threads = 2,
        .max_body = 8192,
        .max_decoded_body = 65536,
        .connection_timeout_s = 60,
        .max_connections = 256,
        .routes = routes,
        .n_routes = sizeof(routes) / sizeof(routes[0]),
        .access_log = "off",
        .stop_drain_ms = 1,
        .ws_on_wake = on_wake,
        .ws_max_message = 1024,
        .ws_max_queue = 65536,
    };
}

static struct ward_http_server *start(const struct ward_http_config *cfg)
{
    reset_state();
    return http_raw_start(cfg);
}

/* Stops the server and checks that every upgrade got exactly one on_close. */
static void stop(struct ward_http_server *s)
{
    ward_http_stop(s);
    assert_int_equal(atomic_load(&closes), atomic_load(&upgrades_ok));
    assert_int_equal(atomic_load(&double_closes), 0);
    assert_int_equal(atomic_load(&bad_thread), 0);
}

/* Waits until cond(arg) holds, under mu; false after SAFETY_S. */
static bool wait_for(bool (*cond)(void *), void *arg)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += SAFETY_S;
    pthread_mutex_lock(&mu);
    bool ok;
    while (!(ok = cond(arg)))
        if (pthread_cond_timedwait(&cv, &mu, &deadline) == ETIMEDOUT) {
            ok = cond(arg);
            break;
        }
    pthread_mutex_unlock(&mu);
    return ok;
}

static bool closes_reach(void *arg)
{
    return atomic_load(&closes) >= *(int *)arg;
}

static bool opens_reach(void *arg)
{
    return atomic_load(&opens) >= *(int *)arg;
}

/* ---- A raw WebSocket client ---- */

/* Connects to the server under test; a failure fails the test. */
static int connect_to(uint16_t port)
{
    int fd = http_raw_connect(port);
    assert_true(fd >= 0);
    return fd;
}

/* Builds a masked client frame into out; returns its length. */
static size_t make_frame(uint8_t *out, int fin, int opcode, const void *payload, size_t len)
{
    static const uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
    size_t i = 0;
    out[i++] = (uint8_t)((fin ? 0x80 : 0) | opcode);
    if (len < 126) {
        out[i++] = (uint8_t)(0x80 | len);
    } else if (len < 65536) {
        out[i++] = 0x80 | 126;
        out[i++] = (uint8_t)(len >> 8);
        out[i++] = (uint8_t)len;
    } else {
        out[i++] = 0x80 | 127;
        for (int b = 7; b >= 0; b--)
            out[i++] = (uint8_t)((uint64_t)len >> (8 * b));
    }
    memcpy(out + i, mask, 4);
    i += 4;
    const uint8_t *p = payload;
    for (size_t k = 0; k < len; k++)
        out[i + k] = p[k] ^ mask[k % 4];
    return i + len;
}

static int send_frame(int fd, int fin, int opcode, const void *payload, size_t len)
{
    uint8_t *buf = malloc(len + 14);
    assert_non_null(buf);
    size_t n = make_frame(buf, fin, opcode, payload, len);
    int r = http_raw_send(fd, buf, n);
    free(buf);
    return r;
}

static int send_text(int fd, const char *s)
{
    return send_frame(fd, 1, 0x1, s, strlen(s));
}

struct frame {
    int opcode;
    bool fin;
    size_t len;
    char data[65536];
};

/* Reads one server frame (unmasked); -1 on EOF or error. */
static int read_frame(int fd, struct frame *f)
{
    uint8_t hdr[2];
    if (http_raw_recv_exact(fd, hdr, 2) < 0)
        return -1;
    f->fin = hdr[0] & 0x80;
    f->opcode = hdr[0] & 0x0f;
    if (hdr[1] & 0x80)
        return -1; /* servers never mask */
    uint64_t len = hdr[1] & 0x7f;
    if (len == 126) {
        uint8_t e[2];
        if (http_raw_recv_exact(fd, e, 2) < 0)
            return -1;
        len = (uint64_t)e[0] << 8 | e[1];
    } else if (len == 127) {
        uint8_t e[8];
        if (http_raw_recv_exact(fd, e, 8) < 0)
            return -1;
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | e[i];
    }
    if (len >= sizeof(f->data))
        return -1;
    f->len = (size_t)len;
    if (http_raw_recv_exact(fd, f->data, f->len) < 0)
        return -1;
    f->data[f->len] = '\0';
    return 0;
}

/* Reads frames until a text frame or a close frame, answering nothing; returns its opcode. */
static int read_message(int fd, struct frame *f)
{
    for (;;) {
        if (read_frame(fd, f) < 0)
            return -1;
        if (f->opcode == 0x1 || f->opcode == 0x8)
            return f->opcode;
    }
}

/* Reads until a close frame; returns its code (0 without one), -1 on EOF first. */
static int read_close(int fd, char *reason, size_t n)
{
    struct frame *f = malloc(sizeof(*f));
    assert_non_null(f);
    int code = -1;
    while (read_frame(fd, f) == 0) {
        if (f->opcode != 0x8)
            continue;
        code = f->len >= 2 ? ((uint8_t)f->data[0] << 8 | (uint8_t)f->data[1]) : 0;
        if (reason && n) {
            size_t rl = f->len > 2 ? f->len - 2 : 0;
            if (rl >= n)
                rl = n - 1;
            memcpy(reason, f->data + 2, rl);
            reason[rl] = '\0';
        }
        break;
    }
    free(f);
    return code;
}

/* Sends a handshake with extra header lines; the key defaults to the RFC's. */
static int send_handshake(int fd, const char *extra)
{
    char req[2048];
    snprintf(req, sizeof(req),
             "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
             "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\n%s\r\n",
             extra ? extra : "Sec-WebSocket-Key: " RFC_KEY "\r\n");
    return http_raw_send_str(fd, req);
}

/* Completes a handshake on fd; asserts the 101. */
static void handshake_ok(int fd)
{
    assert_int_equal(send_handshake(fd, NULL), 0);
    struct http_raw_response h;
    assert_int_equal(http_raw_read_response(fd, &h, false), 0);
    assert_int_equal(h.status, 101);
    http_raw_response_done(&h);
}

/* Connects and completes a handshake; asserts the 101. */
static int ws_open(uint16_t port)
{
    int fd = connect_to(port);
    handshake_ok(fd);
    return fd;
}

/* Opens n WebSockets into fds, and waits until on_open has run for them all. */
static void ws_open_all(uint16_t port, int *fds, int n)
{
    for (int i = 0; i < n; i++)
        fds[i] = ws_open(port);
    assert_true(wait_for(opens_reach, &n));
}

/*
 * Sends a handshake with the given extra lines and returns the status; the
 * caller frees h with http_raw_response_done().
 */
static int handshake_status(uint16_t port, const char *extra, struct http_raw_response *h)
{
    int fd = connect_to(port);
    assert_int_equal(send_handshake(fd, extra), 0);
    assert_int_equal(http_raw_read_response(fd, h, false), 0);
    close(fd);
    return h->status;
}

/* ---- Parsers ---- */

static void handshake_parsers(void **state)
{
    (void)state;
    char out[WARD_WS_ACCEPT_LEN + 1];
    assert_int_equal(ward_ws_accept_key(RFC_KEY, out), 0);
    assert_string_equal(out, RFC_ACCEPT);
    assert_int_equal(ward_ws_accept_key(" " RFC_KEY "\t", out), 0);
    assert_string_equal(out, RFC_ACCEPT);

    assert_true(ward_ws_key_valid(RFC_KEY));
    assert_true(ward_ws_key_valid("  AAAAAAAAAAAAAAAAAAAAAA== "));
    assert_false(ward_ws_key_valid(NULL));
    assert_false(ward_ws_key_valid(""));
    assert_false(ward_ws_key_valid("dGhlIHNhbXBsZSBub25jZQ="));   /* 23 characters */
    assert_false(ward_ws_key_valid("dGhlIHNhbXBsZSBub25jZQ===")); /* 25 */
    assert_false(ward_ws_key_valid("dGhlIHNhbXBsZSBub25jZQAA"));  /* 18 bytes */
    assert_false(ward_ws_key_valid("dGhlIHNhbXBsZSBub25jZ*=="));  /* not base64 */
    assert_false(ward_ws_key_valid("dGhlIHNhbX BsZSBub25jZQ==")); /* inner space */

    assert_true(ward_http_has_token("Upgrade", "upgrade"));
    assert_true(ward_http_has_token("keep-alive, Upgrade", "upgrade"));
    assert_true(ward_http_has_token(" keep-alive ,\tUPGRADE\t", "upgrade"));
    assert_false(ward_http_has_token("keep-alive", "upgrade"));
    assert_false(ward_http_has_token("upgrades", "upgrade"));
    assert_false(ward_http_has_token("x-upgrade", "upgrade"));
    assert_false(ward_http_has_token("", "upgrade"));
    assert_false(ward_http_has_token(",,,", "upgrade"));
    assert_false(ward_http_has_token(NULL, "upgrade"));
}

/* ---- Over the wire ---- */

static void handshake_and_echo(void **state)
{
    (void)state;
    struct ward_http_config cfg = base_config();
    struct ward_http_server *s = start(&cfg);
    uint16_t port = ward_http_port(s);

    int fd = connect_to(port);
    assert_int_equal(send_handshake(fd, "Sec-WebSocket-Key: " RFC_KEY "\r\nX-Request-Id: ws-1\r\n"),
                     0);
    struct http_raw_response h;
    assert_int_equal(http_raw_read_response(fd, &h, false), 0);
    assert_int_equal(h.status, 101);
    char v[256];
    assert_true(http_raw_header(&h, "Sec-WebSocket-Accept", v, sizeof(v)));
    assert_string_equal(v, RFC_ACCEPT);
    assert_true(http_raw_header(&h, "Upgrade", v, sizeof(v)));
    assert_string_equal(v, "websocket");
    assert_true(http_raw_header(&h, "Connection", v, sizeof(v)));
    assert_true(ward_http_has_token(v, "upgrade"));
    assert_true(http_raw_header(&h, "X-Request-Id", v, sizeof(v)));
    assert_string_equal(v, "ws-1");
    http_raw_response_done(&h);

    struct frame *f = malloc(sizeof(*f));
    assert_non_null(f);
    assert_int_equal(send_text(fd, "hello"), 0);
    assert_int_equal(read_message(fd, f), 0x1);
    assert_string_equal(f->data, "hello");

    /* An empty message, a fragmented one, one in the 16-bit length form, UTF-8. */
    assert_int_equal(send_text(fd, ""), 0);
    assert_int_equal(read_message(fd, f), 0x1);
    assert_int_equal(f->len, 0);
    assert_int_equal(send_frame(fd, 0, 0x1, "frag", 4), 0);
    assert_int_equal(send_frame(fd, 1, 0x9, "in-between", 10), 0); /* a ping amid fragments */
    assert_int_equal(send_frame(fd, 1, 0x0, "mented", 6), 0);
    assert_int_equal(read_message(fd, f), 0x1);
    assert_string_equal(f->data, "fragmented");
    char big[1000];
    memset(big, 'b', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(send_text(fd, big), 0);
    assert_int_equal(read_message(fd, f), 0x1);
    assert_string_equal(f->data, big);
    assert_int_equal(send_text(fd, "h\xc3\xa9llo \xe2\x82\xac"), 0);
    assert_int_equal(read_message(fd, f), 0x1);
    assert_string_equal(f->data, "h\xc3\xa9llo \xe2\x82\xac");
    assert_int_equal(send_text(fd, "remote"), 0);
    assert_int_equal(read_message(fd, f), 0x1);
    assert_string_equal(f->data, "127.0.0.1");

    /* Ping gets a pong with the same payload. */
    assert_int_equal(send_frame(fd, 1, 0x9, "abc", 3), 0);
    do
        assert_int_equal(read_frame(fd, f), 0);
    while (f->opcode != 0xA);
    assert_string_equal(f->data, "abc");

    /* The client closes: the server answers with the same code, then closes the socket. */
    uint8_t payload[] = {0x03, 0xE8, 'o', 'k'};
    assert_int_equal(send_frame(fd, 1, 0x8, payload, sizeof(payload)), 0);
    char reason[128];
    assert_int_equal(read_close(fd, reason, sizeof(reason)), 1000);
    assert_string_equal(reason, "ok");
    assert_true(http_raw_closed_by_peer(fd));
    close(fd);
    int one = 1;
    assert_true(wait_for(closes_reach, &one));

    /* The server closes on request (a code it may not send goes out as 1000). */
    fd = ws_open(port);
    assert_int_equal(send_text(fd, "close:4001"), 0);
    assert_int_equal(read_close(fd, reason, sizeof(reason)), 4001);
    assert_string_equal(reason, "bye");
    assert_true(http_raw_closed_by_peer(fd));
    close(fd);
    fd = ws_open(port);
    assert_int_equal(send_text(fd, "close:1005"), 0);
    assert_int_equal(read_close(fd, NULL, 0), 1000);
    close(fd);

    struct ward_ws_stats st;
    ward_ws_stats(s, &st);
    assert_int_equal(st.opened, 3);
    assert_true(st.messages_received >= 8);
    assert_true(st.messages_sent >= 6);
    assert_true(st.bytes_sent > 1000);
    free(f);
    stop(s);
    assert_int_equal(atomic_load(&upgrades_ok), 3);
}

/* A first frame in the same write as the handshake: MHD reads it with the head (extra_in). */
static void frame_with_handshake(void **state)
{
    (void)state;
    struct ward_http_config cfg = base_config();
    struct ward_http_server *s = start(&cfg);
    struct frame *f = malloc(sizeof(*f));
    assert_non_null(f);
    for (int i = 0; i < 20; i++) {
        int fd = connect_to(ward_http_port(s));
        char buf[2048];
        int n = snprintf(buf, sizeof(buf),
                         "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                         "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                         "Sec-WebSocket-Key: " RFC_KEY "\r\n\r\n");
        size_t len = (size_t)n;
        len += make_frame((uint8_t *)buf + len, 1, 0x1, "early", 5);
        len += make_frame((uint8_t *)buf + len, 1, 0x1, "bird", 4);
        assert_int_equal(http_raw_send(fd, buf, len), 0);
        struct http_raw_response h;
        assert_int_equal(http_raw_read_response(fd, &h, false), 0);
        assert_int_equal(h.status, 101);
        http_raw_response_done(&h);
        assert_int_equal(read_message(fd, f), 0x1);
        assert_string_equal(f->data, "early");
        assert_int_equal(read_message(fd, f), 0x1);
        assert_string_equal(f->data, "bird");
        close(fd);
    }
    free(f);
    stop(s);
}

/* Oversized, binary and invalid UTF-8 messages close the connection with their codes. */
static void bad_messages(void **state)
{
    (void)state;
    struct ward_http_config cfg = base_config();
    struct ward_http_server *s = start(&cfg);
    uint16_t port = ward_http_port(s);
    char reason[128];

    /* Over ws_max_message (1024), in one frame: the rest of it is never read, nor needed. */
    int fd = ws_open(port);
    char *big = malloc(200000);
    assert_non_null(big);
    memset(big, 'x', 199999);
    big[199999] = '\0';
    assert_int_equal(send_text(fd, big), 0);
    assert_int_equal(read_close(fd, NULL, 0), 1009);
    assert_true(http_raw_closed_by_peer(fd));
    close(fd);

    /* Over the limit only in total, across fragments. */
    fd = ws_open(port);
    assert_int_equal(send_frame(fd, 0, 0x1, big, 600), 0);
    assert_int_equal(send_frame(fd, 1, 0x0, big, 600), 0);
    assert_int_equal(read_close(fd, NULL, 0), 1009);
    close(fd);
    free(big);

    fd = ws_open(port);
    assert_int_equal(send_frame(fd, 1, 0x2, "\x01\x02\x03", 3), 0);
    assert_int_equal(read_close(fd, reason, sizeof(reason)), 1003);
    assert_string_equal(reason, "binary messages are not accepted");
    assert_true(http_raw_closed_by_peer(fd));
    close(fd);

    fd = ws_open(port);
    assert_int_equal(send_text(fd, "ok \xc3\x28 no"), 0);
    assert_int_equal(read_close(fd, NULL, 0), 1007);
    close(fd);

    /* An unmasked frame is a protocol error. */
    fd = ws_open(port);
    uint8_t raw[] = {0x81, 0x02, 'h', 'i'};
    assert_int_equal(http_raw_send(fd, raw, sizeof(raw)), 0);
    assert_int_equal(read_close(fd, NULL, 0), 1002);
    close(fd);

    /* A fragmented control frame breaks the framing: wslay sends a bare close frame. */
    fd = ws_open(port);
    assert_int_equal(send_frame(fd, 0, 0x9, "p", 1), 0);
    assert_int_equal(read_close(fd, NULL, 0), 0);
    assert_true(http_raw_closed_by_peer(fd));
    close(fd);

    /* A peer that just goes away. */
    fd = ws_open(port);
    close(fd);

    int n = 7;
    assert_true(wait_for(closes_reach, &n));
    struct ward_ws_stats st;
    ward_ws_stats(s, &st);
    assert_int_equal(st.messages_received, 0);
    assert_int_equal(st.open, 0);
    assert_int_equal(st.closed, 7);
    stop(s);
}

static void handshake_refusals(void **state)
{
    (void)state;
    struct ward_http_config cfg = base_config();
    cfg.cors_origin_list = "https://dash.example";
    cfg.ws_max_connections = 2;
    struct ward_http_server *s = start(&cfg);
    uint16_t port = ward_http_port(s);
    struct http_raw_response h;
    char v[256];

    assert_int_equal(handshake_status(port,
                                      "Sec-WebSocket-Key: " RFC_KEY "\r\n"
                                      "Origin: https://evil.example\r\n",
                                      &h),
                     403);
    assert_non_null(strstr(h.body, "evil.example"));
    assert_true(http_raw_header(&h, "X-Request-Id", v, sizeof(v)));
    http_raw_response_done(&h);
    assert_int_equal(handshake_status(port, "Origin: http://127.0.0.1\r\n", &h), 400);
    assert_non_null(strstr(h.body, "Sec-WebSocket-Key"));
    http_raw_response_done(&h);
    assert_int_equal(handshake_status(port, "Sec-WebSocket-Key: short==\r\n", &h), 400);
    http_raw_response_done(&h);

    /* A version other than 13. */
    int fd = connect_to(port);
    const char *v8 = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Version: 8\r\n"
                     "Sec-WebSocket-Key: " RFC_KEY "\r\n\r\n";
    assert_int_equal(http_raw_send_str(fd, v8), 0);
    assert_int_equal(http_raw_read_response(fd, &h, false), 0);
    assert_int_equal(h.status, 426);
    assert_true(http_raw_header(&h, "Sec-WebSocket-Version", v, sizeof(v)));
    assert_string_equal(v, "13");
    http_raw_response_done(&h);
    close(fd);

    /* Not a handshake at all. */
    fd = connect_to(port);
    const char *plain = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    assert_int_equal(http_raw_send_str(fd, plain), 0);
    assert_int_equal(http_raw_read_response(fd, &h, false), 0);
    assert_int_equal(h.status, 400);
    http_raw_response_done(&h);
    /* The connection stays usable for HTTP. */
    const char *hello = "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    assert_int_equal(http_raw_send_str(fd, hello), 0);
    assert_int_equal(http_raw_read_response(fd, &h, false), 0);
    assert_int_equal(h.status, 200);
    http_raw_response_done(&h);
    close(fd);
    assert_int_equal(atomic_load(&upgrades_ok), 0);

    /* Same origin, a configured origin, and no Origin at all are allowed. */
    fd = connect_to(port);
    assert_int_equal(send_handshake(fd, "Sec-WebSocket-Key: " RFC_KEY "\r\n"
                                        "Origin: http://127.0.0.1\r\n"),
                     0);
    assert_int_equal(http_raw_read_response(fd, &h, false), 0);
    assert_int_equal(h.status, 101);
    http_raw_response_done(&h);
    int fd2 = connect_to(port);
    assert_int_equal(send_handshake(fd2, "Sec-WebSocket-Key: " RFC_KEY "\r\n"
                                         "Origin: https://DASH.example\r\n"),
                     0);
    assert_int_equal(http_raw_read_response(fd2, &h, false), 0);
    assert_int_equal(h.status, 101);
    http_raw_response_done(&h);

    /* Two are open: the third is refused. */
    assert_int_equal(handshake_status(port, NULL, &h), 503);
    assert_true(http_raw_header(&h, "Retry-After", v, sizeof(v)));
    http_raw_response_done(&h);
    struct ward_ws_stats st;
    ward_ws_stats(s, &st);
    assert_int_equal(st.refused, 1);

    /* Once one closed, there is room again. */
    close(fd);
    int one = 1;
    assert_true(wait_for(closes_reach, &one));
    int fd3 = ws_open(port);
    close(fd3);
    close(fd2);
    stop(s);
    assert_int_equal(atomic_load(&upgrades_ok), 3);
}

static bool flood_started(void *arg)
{
    (void)arg;
    return flood_ws != NULL;
}

static bool round_done(void *arg)
{
    return flood_rounds >= *(int *)arg;
}

/* A client that never reads: the queue stops at ws_max_queue, and sending is refused. */
static void slow_reader(void **state)
{
    (void)state;
    struct ward_http_config cfg = base_config();
    struct ward_http_server *s = start(&cfg);
    int fd = http_raw_connect_rcvbuf(ward_http_port(s), 4096);
    assert_true(fd >= 0);
    handshake_ok(fd);
    assert_int_equal(send_text(fd, "flood"), 0);
    assert_true(wait_for(flood_started, NULL));

    /*
     * Each wake fills the queue; the thread then writes what the kernel
     * takes. Once the socket buffers are full, a wake finds the queue still
     * full and nothing more is accepted.
     */
    int round = 0;
    for (;;) {
        round++;
        ward_ws_wake(s);
        assert_true(wait_for(round_done, &round));
        pthread_mutex_lock(&mu);
        int accepted = flood_last_round_accepted;
        pthread_mutex_unlock(&mu);
        if (accepted == 0)
            break;
        assert_true(round < 100000);
    }
    pthread_mutex_lock(&mu);
    assert_int_equal(flood_last_error, WARD_E_LIMIT);
    assert_true(flood_max_queued <= cfg.ws_max_queue);
    assert_true(flood_max_queued > cfg.ws_max_queue - 16384);
    /* What was accepted is what the kernel buffers hold plus one queue: bounded. */
    assert_true((size_t)flood_accepted * 16384 < (size_t)64 << 20);
    pthread_mutex_unlock(&mu);
    struct ward_ws_stats st;
    ward_ws_stats(s, &st);
    assert_true(st.queue_full >= 1);

    /* The client reads at last: messages arrive whole and in order. */
    struct frame *f = malloc(sizeof(*f));
    assert_non_null(f);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(read_message(fd, f), 0x1);
        assert_int_equal(f->len, 16384);
        assert_int_equal(f->data[0], 'f');
    }
    free(f);
    close(fd);
    int one = 1;
    assert_true(wait_for(closes_reach, &one));
    stop(s);
}

/* A burst larger than the queue, to a client that reads: nothing is refused. */
static void burst(void **state)
{
    (void)state;
    struct ward_http_config cfg = base_config();
    struct ward_http_server *s = start(&cfg);
    int fd = http_raw_connect_rcvbuf(ward_http_port(s), 1 << 20);
    assert_true(fd >= 0);
    handshake_ok(fd);
    struct frame *f = malloc(sizeof(*f));
    assert_non_null(f);
    for (int round = 0; round < 3; round++) {
        assert_int_equal(send_text(fd, "burst"), 0);
        for (int i = 0; i < 8; i++) {
            assert_int_equal(read_message(fd, f), 0x1);
            assert_int_equal(f->len, 12288);
        }
    }
    free(f);
    assert_int_equal(atomic_load(&burst_refused), 0);
    close(fd);
    stop(s);
}

static void *waker(void *arg)
{
    ward_ws_wake(arg);
    return NULL;
}

static bool wakes_reach(void *arg)
{
    return wakes >= *(int *)arg;
}

static bool blocked(void *arg)
{
    (void)arg;
    return wake_blocked;
}

static void wake_from_other_threads(void **state)
{
    (void)state;
    struct ward_http_config cfg = base_config();
    struct ward_http_server *s = start(&cfg);
    int fd = ws_open(ward_http_port(s)); /* on_open tells which thread is the WebSocket one */
    int one = 1;
    assert_true(wait_for(opens_reach, &one));

    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, waker, s), 0);
    pthread_join(t, NULL);
    assert_true(wait_for(wakes_reach, &one));
    pthread_mutex_lock(&mu);
    assert_false(pthread_equal(ws_thread, pthread_self()));
    pthread_mutex_unlock(&mu);

    /* Wakes while the thread is busy coalesce into one call. */
    pthread_mutex_lock(&mu);
    block_wake = true;
    pthread_mutex_unlock(&mu);
    ward_ws_wake(s);
    assert_true(wait_for(blocked, NULL));
    pthread_t many[8];
    for (int i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&many[i], NULL, waker, s), 0);
    for (int i = 0; i < 8; i++)
        pthread_join(many[i], NULL);
    for (int i = 0; i < 100; i++)
        ward_ws_wake(s);
    pthread_mutex_lock(&mu);
    int before = wakes;
    block_wake = false;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    int want = before + 1;
    assert_true(wait_for(wakes_reach, &want));
    /* A round trip through the thread: any further wake call would have come before. */
    struct frame *f = malloc(sizeof(*f));
    assert_non_null(f);
    assert_int_equal(send_text(fd, "sync"), 0);
    assert_int_equal(read_message(fd, f), 0x1);
    free(f);
    pthread_mutex_lock(&mu);
    assert_int_equal(wakes, before + 1);
    pthread_mutex_unlock(&mu);
    close(fd);
    stop(s);
}

/* Quiescing sends 1001 to every WebSocket and refuses new ones; stop does not wait long. */
static void quiesce_closes_websockets(void **state)
{
    (void)state;
    char path[] = "/tmp/ward-test-ws-log-XXXXXX";
    int lfd = mkstemp(path);
    assert_true(lfd >= 0);
    close(lfd);
    struct ward_http_config cfg = base_config();
    cfg.stop_drain_ms = 0; /* the full default grace: the WebSockets must not use it up */
    cfg.access_log = path;
    struct ward_http_server *s = start(&cfg);
    uint16_t port = ward_http_port(s);
    enum {
        N = 4
    };
    int fds[N];
    ws_open_all(port, fds, N);

    int64_t t0 = ward_mono_ms();
    assert_int_equal(ward_http_quiesce(s), 0);
    char reason[128];
    for (int i = 0; i < N; i++) {
        assert_int_equal(read_close(fds[i], reason, sizeof(reason)), 1001);
        assert_string_equal(reason, "server shutting down");
    }
    struct http_raw_response h;
    assert_int_equal(handshake_status(port, NULL, &h), 503);
    http_raw_response_done(&h);
    /* Two answer the close, one just goes, one does nothing: the drain still ends soon. */
    uint8_t payload[] = {0x03, 0xE9};
    assert_int_equal(send_frame(fds[0], 1, 0x8, payload, 2), 0);
    assert_true(http_raw_closed_by_peer(fds[0]));
    assert_int_equal(send_frame(fds[1], 1, 0x8, payload, 2), 0);
    close(fds[2]);
    assert_true(ward_http_drain(s, SAFETY_S * 1000));
    ward_http_stop(s);
    int64_t took = ward_mono_ms() - t0;
    assert_true(took < WARD_HTTP_STOP_DRAIN_MS - 2000);
    assert_true(http_raw_closed_by_peer(fds[3]));
    for (int i = 0; i < N; i++)
        if (i != 2)
            close(fds[i]);
    assert_int_equal(atomic_load(&closes), N);
    assert_int_equal(atomic_load(&double_closes), 0);

    /* The access log shows each WebSocket as a 101 that lasted its lifetime. */
    FILE *fl = fopen(path, "re");
    assert_non_null(fl);
    char line[4096];
    int upgrades = 0;
    while (fgets(line, sizeof(line), fl)) {
        json_error_t jerr;
        json_t *j = json_loads(line, 0, &jerr);
        assert_non_null(j);
        if (json_integer_value(json_object_get(j, "status")) == 101) {
            upgrades++;
            assert_string_equal(json_string_value(json_object_get(j, "route")), "/ws");
            assert_true(json_real_value(json_object_get(j, "duration_ms")) > 0.0);
        }
        json_decref(j);
    }
    fclose(fl);
    unlink(path);
    assert_int_equal(upgrades, N);
}

/* Stop without a quiesce or a grace: open WebSockets are closed and stop returns. */
static void stop_with_open_websockets(void **state)
{
    (void)state;
    struct ward_http_config cfg = base_config();
    struct ward_http_server *s = start(&cfg);
    uint16_t port = ward_http_port(s);
    enum {
        N = 8
    };
    int fds[N];
    ws_open_all(port, fds, N);
    /* Upgrades and plain requests racing the stop. */
    int late[4];
    for (int i = 0; i < 4; i++) {
        late[i] = connect_to(port);
        send_handshake(late[i], NULL);
    }
    stop(s);
    for (int i = 0; i < N; i++) {
        int code = read_close(fds[i], NULL, 0);
        assert_true(code == 1001 || code == -1);
        close(fds[i]);
    }
    for (int i = 0; i < 4; i++)
        close(late[i]);
}

/* Clients that vanish right after sending the handshake: on_close still runs exactly once. */
static void clients_vanish(void **state)
{
    (void)state;
    struct ward_http_config cfg = base_config();
    struct ward_http_server *s = start(&cfg);
    for (int i = 0; i < 50; i++) {
        int fd = connect_to(ward_http_port(s));
        send_handshake(fd, NULL);
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        close(fd);
    }
    /* Every upgrade the handler saw ends with on_close, whether it opened or not. */
    int fd = ws_open(ward_http_port(s));
    close(fd);
    stop(s);
    assert_true(atomic_load(&opens) <= atomic_load(&upgrades_ok));
}

static bool is_parked(void *arg)
{
    (void)arg;
    return parked != NULL;
}

/*
 * The client is gone (reset) when the 101 is queued: MHD never upgrades,
 * and on_close runs all the same, without on_open.
 */
static void client_gone_before_upgrade(void **state)
{
    (void)state;
    struct ward_http_config cfg = base_config();
    struct ward_http_server *s = start(&cfg);
    int fd = connect_to(ward_http_port(s));
    const char *req = "GET /ws-later HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                      "Sec-WebSocket-Key: " RFC_KEY "\r\n\r\n";
    assert_int_equal(http_raw_send_str(fd, req), 0);
    assert_true(wait_for(is_parked, NULL));
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
    ward_http_resume(parked);
    int one = 1;
    assert_true(wait_for(closes_reach, &one));
    assert_int_equal(atomic_load(&upgrades_ok), 1);
    assert_int_equal(atomic_load(&opens), 0);
    struct ward_ws_stats st;
    ward_ws_stats(s, &st);
    assert_int_equal(st.opened, 0);
    stop(s);
}

/* The server pings, and closes a peer that answers nothing for two intervals. */
static void ping_and_idle_timeout(void **state)
{
    (void)state;
    struct ward_http_config cfg = base_config();
    cfg.ws_ping_interval_s = 1;
    cfg.connection_timeout_s = 1; /* MHD's own timeout must not hit upgraded connections */
    struct ward_http_server *s = start(&cfg);
    int fd = ws_open(ward_http_port(s));
    struct frame *f = malloc(sizeof(*f));
    assert_non_null(f);
    int pings = 0, code = -1;
    while (read_frame(fd, f) == 0) {
        if (f->opcode == 0x9)
            pings++;
        if (f->opcode == 0x8) {
            code = f->len >= 2 ? ((uint8_t)f->data[0] << 8 | (uint8_t)f->data[1]) : 0;
            break;
        }
    }
    assert_true(pings >= 1);
    assert_int_equal(code, 1011);
    assert_string_equal(f->data + 2, "ping timeout");
    close(fd);

    /* A peer that answers pings stays. */
    fd = ws_open(ward_http_port(s));
    int64_t until = ward_mono_ms() + 3500;
    pings = 0;
    while (ward_mono_ms() < until) {
        assert_int_equal(read_frame(fd, f), 0);
        assert_int_equal(f->opcode, 0x9);
        pings++;
        assert_int_equal(send_frame(fd, 1, 0xA, f->data, f->len), 0);
    }
    assert_true(pings >= 2);
    assert_int_equal(send_text(fd, "still here"), 0);
    assert_int_equal(read_message(fd, f), 0x1);
    assert_string_equal(f->data, "still here");
    free(f);
    close(fd);
    stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(handshake_parsers),
        cmocka_unit_test(handshake_and_echo),
        cmocka_unit_test(frame_with_handshake),
        cmocka_unit_test(bad_messages),
        cmocka_unit_test(handshake_refusals),
        cmocka_unit_test(slow_reader),
        cmocka_unit_test(burst),
        cmocka_unit_test(wake_from_other_threads),
        cmocka_unit_test(quiesce_closes_websockets),
        cmocka_unit_test(stop_with_open_websockets),
        cmocka_unit_test(clients_vanish),
        cmocka_unit_test(client_gone_before_upgrade),
        cmocka_unit_test(ping_and_idle_timeout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
