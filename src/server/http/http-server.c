/*
 * The life of the HTTP server: start, quiesce, drain and stop.
 *
 * Starting configures MHD: an epoll loop in a pool of threads, suspend and
 * resume allowed, per-connection memory sized for heads only (the numbers
 * are explained below), and the connection limits. Stopping is where the
 * care is: MHD must never be stopped with a connection suspended (it would
 * abort), and requests in flight deserve their answer. So a stop quiesces
 * (new requests are refused with 503), drains for a grace period, then marks the server
 * stopping, hands every parked request back to MHD to be answered 503,
 * waits until nothing is suspended any more, and only then stops MHD. The
 * server struct itself outlives that while the owner of a suspension still
 * holds a request (see http-internal.h).
 *
 * WebSockets fit into the same steps. Their upgraded connections stay
 * suspended inside MHD and count as requests in flight until closed, so
 * quiescing makes the WebSocket thread send them close frames, and the
 * drain then waits only for their close handshakes. Before MHD stops, the
 * thread gives every socket back to MHD (MHD would otherwise close them
 * under the thread); the thread itself ends after MHD stopped, as MHD may
 * report an upgrade that never happened while stopping, and that
 * connection's on_close must still run there.
 */
#include "server/http/http-internal.h"
#include "server/http/ws-internal.h"

#include "common/error.h"
#include "common/log.h"
#include "common/net.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/*
 * MHD's per-connection memory pool holds the request head, the read buffer
 * and the response head; bodies never stay in it, since every chunk is
 * copied into our own buffer as it arrives. MHD gives half the pool to the
 * read buffer at first, so 32 KiB takes a request head of up to 16 KiB
 * (paths are bounded by WARD_ROUTE_MAX_PATH, and browsers' headers stay
 * well below that) and reads bodies in chunks of up to 16 KiB. A head
 * that outgrows the first buffer grows it in 8 KiB steps instead of MHD's
 * 1 KiB, so a big head costs a few steps, not dozens.
 *
 * The pool is the memory of an idle connection: once a connection has
 * answered, MHD's reset between requests touches all of it, so every
 * kept-alive connection (every waiting long-poll, above all) holds the
 * whole pool. 32 KiB is MHD's own default; 64 KiB doubled what 2000
 * long-polling agents cost the server (bench/commands.sh) for nothing a
 * request needs.
 */
#define CONNECTION_MEMORY_LIMIT     ((size_t)32 * 1024)
#define CONNECTION_MEMORY_INCREMENT ((size_t)8 * 1024)

/* Connections when the configuration says 0. */
#define DEFAULT_MAX_CONNECTIONS 1024

/* After a forced shutdown, how long the 503 answers get to go out. */
#define STOP_FLUSH_MS 2000

void ward_http_server_free(struct ward_http_server *s)
{
    ward_http_origins_done(&s->origins);
    ward_access_log_close(&s->log);
    pthread_cond_destroy(&s->changed);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    ward_log_warn(NULL, "http", "detail", msg);
}

static int server_init(struct ward_http_server *s, const struct ward_http_config *cfg,
                       struct ward_buf *err)
{
    s->cfg = *cfg;
    atomic_init(&s->quiesced, false);
    atomic_init(&s->stopping, false);
    atomic_init(&s->log_failed, false);
    int r = ward_http_origins_init(&s->origins, cfg->cors_origins, cfg->n_cors_origins,
                                   cfg->cors_origin_list, err);
    if (r < 0)
        return r;
    s->cfg.cors_origins = NULL;
    s->cfg.n_cors_origins = 0;
    s->cfg.cors_origin_list = NULL;
    r = ward_access_log_open(&s->log, cfg->access_log, err);
    if (r < 0) {
        ward_http_origins_done(&s->origins);
        return r;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->changed, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&s->lock, NULL);
    return 0;
}

int ward_http_start(const struct ward_http_config *cfg, struct ward_http_server **out,
                    struct ward_buf *err)
{
    struct sockaddr_storage ss = {0};
    int r = ward_listen_address(cfg->address, &ss, err);
    if (r < 0)
        return r;

    struct ward_http_server *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    r = server_init(s, cfg, err);
    if (r < 0) {
        free(s);
        return r;
    }
    unsigned threads = cfg->threads;
    if (!threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned)n : 2;
    }
    unsigned max_conn = cfg->max_connections ? cfg->max_connections : DEFAULT_MAX_CONNECTIONS;
    r = ward_ws_hub_new(s, &s->ws);
    if (r < 0) {
        ward_buf_printf(err, "cannot start the WebSocket thread: %s", strerror(-r));
        ward_http_server_free(s);
        return r;
    }
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_ALLOW_UPGRADE;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* The logger option must come first so it also covers the other options. */
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, &ward_http_on_request, s, MHD_OPTION_EXTERNAL_LOGGER, &on_mhd_log,
        NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_TIMEOUT, cfg->connection_timeout_s, MHD_OPTION_CONNECTION_LIMIT,
        max_conn, MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->max_connections_per_ip,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONNECTION_MEMORY_LIMIT,
        MHD_OPTION_CONNECTION_MEMORY_INCREMENT, CONNECTION_MEMORY_INCREMENT,
        MHD_OPTION_NOTIFY_COMPLETED, &ward_http_on_completed, s, MHD_OPTION_END);
    if (!s->daemon) {
        ward_buf_printf(err, "cannot listen on %s (address in use or not available)", cfg->address);
        ward_ws_hub_free(s->ws);
        ward_http_server_free(s);
        return -EADDRNOTAVAIL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : 0;
    *out = s;
    return 0;
}

uint16_t ward_http_port(const struct ward_http_server *s)
{
    return s->port;
}

int ward_http_quiesce(struct ward_http_server *s)
{
    /*
     * MHD_quiesce_daemon() is not used: on an epoll daemon that runs its own
     * threads it races with the workers' own removal of the listening socket
     * from their epoll sets, and libmicrohttpd 0.9.75 aborts the process when
     * it loses. The listening socket therefore stays open until the daemon
     * stops, and every request that starts from now on is refused with 503
     * and "Connection: close" (see dispatch() in http.c), which stops the
     * work as surely and lets clients retry elsewhere or later.
     */
    atomic_store(&s->quiesced, true);
    ward_ws_hub_quiesce(s->ws);
    return 0;
}

static struct timespec deadline_after(int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (ms < 0)
        ms = 0;
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

bool ward_http_drain(struct ward_http_server *s, int64_t timeout_ms)
{
    struct timespec deadline = deadline_after(timeout_ms);
    pthread_mutex_lock(&s->lock);
    while (s->in_flight > 0)
        if (pthread_cond_timedwait(&s->changed, &s->lock, &deadline) == ETIMEDOUT)
            break;
    bool idle = s->in_flight == 0;
    pthread_mutex_unlock(&s->lock);
    return idle;
}

/* Hands every parked request back to MHD, whose threads then answer it 503. */
static void resume_parked(struct ward_http_server *s)
{
    for (;;) {
        pthread_mutex_lock(&s->lock);
        struct ward_http_request *req = s->suspended;
        while (req && req->susp != WARD_HTTP_SUSP_PARKED)
            req = req->next;
        struct MHD_Connection *conn = req ? req->conn : NULL;
        if (req)
            req->susp = WARD_HTTP_SUSP_RESUMING;
        pthread_mutex_unlock(&s->lock);
        if (!req)
            return;
        MHD_resume_connection(conn);
    }
}

void ward_http_stop(struct ward_http_server *s)
{
    if (!s)
        return;
    ward_http_quiesce(s);
    int64_t grace = s->cfg.stop_drain_ms ? s->cfg.stop_drain_ms : WARD_HTTP_STOP_DRAIN_MS;
    if (!ward_http_drain(s, grace))
        ward_log_warn(NULL, "requests still in flight at shutdown; answering them 503");

    /*
     * From here new and suspended requests get 503. MHD must not stop with a
     * connection suspended, so wait until every request has left suspension:
     * each does soon, as it is either being resumed or on its way back from
     * its handler, which sees the flag.
     */
    atomic_store(&s->stopping, true);
    resume_parked(s);
    pthread_mutex_lock(&s->lock);
    while (s->n_suspended > 0)
        pthread_cond_wait(&s->changed, &s->lock);
    pthread_mutex_unlock(&s->lock);
    /* WebSockets still open lose their sockets now; MHD then reports them finished. */
    ward_ws_hub_close_all(s->ws);
    ward_http_drain(s, STOP_FLUSH_MS);

    MHD_stop_daemon(s->daemon);
    ward_ws_hub_free(s->ws);
    s->ws = NULL;
    pthread_mutex_lock(&s->lock);
    s->stopped = true;
    bool last = s->n_requests == 0;
    pthread_mutex_unlock(&s->lock);
    if (last)
        ward_http_server_free(s);
}
