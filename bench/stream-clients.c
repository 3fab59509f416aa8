/*
 * The WebSocket clients of bench-stream (see stream-clients.h).
 *
 * The clients live on one epoll thread (ws-client.c does the protocol) and
 * parse every metrics message just far enough to find each "timestamp".
 * A sample's latency is the wall clock when the bytes holding it were read
 * minus that timestamp, so it spans the whole path: the request, decoding,
 * the writer's queue and commit, the stream hub and the WebSocket thread,
 * the socket, and this reader. Latencies go into histograms of 1 ms buckets
 * up to 60 s, which bounds memory whatever the run length. Samples of one
 * batch share their timestamp, so the parser remembers the last one it
 * converted and adds runs of equal latency to a bucket at once.
 */
#include "stream-clients.h"

#include "common/error.h"
#include "common/json.h"
#include "common/time-util.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define CLOSE_WAIT_MS 1000 /* for the server's close frames at the end */

/* Counts the samples of one metrics message and files their latencies. */
static void take_samples(struct ward_stream_hub *h, struct ward_stream_client *c, const char *p,
                         size_t len, int64_t now)
{
    static const char key[] = "\"timestamp\":\"";
    const char *q = p, *end = p + len;
    struct ward_latency_hist *hg = &h->hist[c->agent >= 0];
    uint64_t count = 0, run = 0;
    int64_t run_ms = INT64_MIN;
    while (q < end && (q = memmem(q, (size_t)(end - q), key, sizeof(key) - 1))) {
        q += sizeof(key) - 1;
        const char *close = memchr(q, '"', (size_t)(end - q));
        if (!close)
            break;
        size_t n = (size_t)(close - q);
        int64_t ts;
        if (n == c->last_ts_len && memcmp(q, c->last_ts, n) == 0) {
            ts = c->last_ts_ms;
        } else if (n < sizeof(c->last_ts) && ward_time_parse_rfc3339(q, n, &ts) == 0) {
            memcpy(c->last_ts, q, n);
            c->last_ts_len = n;
            c->last_ts_ms = ts;
        } else {
            c->bad_timestamps++;
            q = close + 1;
            continue;
        }
        int64_t ms = now - ts;
        if (ms != run_ms) {
            if (run)
                ward_latency_add(hg, run_ms, run);
            run_ms = ms;
            run = 0;
        }
        run++;
        count++;
        q = close + 1;
    }
    if (run)
        ward_latency_add(hg, run_ms, run);
    uint64_t had = atomic_load_explicit(&c->samples, memory_order_relaxed);
    atomic_store_explicit(&c->samples, had + count, memory_order_relaxed);
}

/* One complete text message from the server. */
static void on_message(struct ward_ws_loop *l, struct ward_ws_client *wc, const char *p, size_t len,
                       int64_t now)
{
    struct ward_stream_hub *h = (struct ward_stream_hub *)l;
    struct ward_stream_client *c = (struct ward_stream_client *)wc;
    size_t lead = len < 48 ? len : 48;
    c->messages++;
    c->bytes += len;
    if (memmem(p, lead, "\"type\":\"metrics\"", 16)) {
        take_samples(h, c, p, len, now);
    } else if (memmem(p, lead, "\"type\":\"ready\"", 14)) {
        if (!c->ready)
            atomic_fetch_add(&h->ready, 1);
        c->ready = true;
    } else if (memmem(p, lead, "\"type\":\"error\"", 14)) {
        if (!c->error_messages++)
            fprintf(stderr, "bench-stream: client %d: server says %.*s\n", c->idx,
                    (int)(len < 200 ? len : 200), p);
    }
}

/* The handshake is done: with a token, authenticate before anything else. */
static void on_open(struct ward_ws_loop *l, struct ward_ws_client *c)
{
    const struct ward_stream_hub *h = (const struct ward_stream_hub *)l;
    if (!h->opt->token)
        return;
    struct ward_buf m = WARD_BUF_INIT;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &m);
    ward_json_write_object_begin(&w);
    ward_json_write_keyz(&w, "type");
    ward_json_write_stringz(&w, "auth");
    ward_json_write_keyz(&w, "token");
    ward_json_write_stringz(&w, h->opt->token);
    ward_json_write_object_end(&w);
    if (ward_json_writer_finish(&w) < 0 || ward_ws_send_text(l, c, m.data, m.len) < 0)
        ward_ws_fail(l, c, "%s", "cannot queue the auth message");
    ward_buf_done(&m);
}

static const struct ward_ws_handler handler = {.open = on_open, .message = on_message};

int ward_stream_hub_init(struct ward_stream_hub *h, const struct ward_stream_options *o,
                         const struct ward_stream_agent *agents, struct ward_stream_client *clients)
{
    h->opt = o;
    h->agents = agents;
    h->clients = clients;
    for (int i = 0; i < o->clients; i++) {
        clients[i].idx = i;
        clients[i].agent = o->mixed && i % 2 ? (i / 2) % o->agents : -1;
        ward_ws_client_init(&clients[i].ws);
    }
    return ward_ws_loop_init(&h->loop, &handler);
}

void ward_stream_hub_done(struct ward_stream_hub *h)
{
    for (int i = 0; i < h->opt->clients; i++)
        ward_ws_client_done(&h->clients[i].ws);
    ward_ws_loop_done(&h->loop);
}

void *ward_stream_clients_main(void *arg)
{
    struct ward_stream_hub *h = arg;
    struct ward_ws_loop *l = &h->loop;
    const struct ward_stream_options *o = h->opt;
    pthread_setname_np(pthread_self(), "ws-clients");
    for (int i = 0; i < o->clients; i++) {
        struct ward_stream_client *c = &h->clients[i];
        char target[96];
        snprintf(target, sizeof(target), "/api/v1/stream%s%s", c->agent >= 0 ? "?server_id=" : "",
                 c->agent >= 0 ? h->agents[c->agent].id : "");
        int r = ward_ws_client_start(l, &c->ws, &o->addr, o->address, target);
        if (r < 0) {
            char why[96];
            snprintf(why, sizeof(why), "%s", ward_strerror(r));
            ward_ws_fail(l, &c->ws, "cannot connect: %s", why);
        }
    }
    while (!atomic_load(&h->stop))
        ward_ws_loop_run(l, 50);
    /* Close what is open, and wait a moment for the server's answers. */
    for (int i = 0; i < o->clients; i++) {
        struct ward_ws_client *c = &h->clients[i].ws;
        if (c->state == WARD_WS_OPEN)
            ward_ws_close(l, c, 1000);
    }
    int64_t until = ward_mono_ms() + CLOSE_WAIT_MS;
    for (;;) {
        bool open = false;
        for (int i = 0; i < o->clients && !open; i++)
            open = h->clients[i].ws.state != WARD_WS_DONE;
        if (!open || ward_mono_ms() >= until)
            break;
        ward_ws_loop_run(l, 20);
    }
    for (int i = 0; i < o->clients; i++)
        if (h->clients[i].ws.state != WARD_WS_DONE)
            ward_ws_finish(l, &h->clients[i].ws);
    return NULL;
}
