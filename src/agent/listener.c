/*
 * The agent's local HTTP listener on libmicrohttpd.
 *
 * It serves two read-only resources, so it is deliberately small: one
 * internal thread, a handful of connections, short timeouts, no request
 * bodies. Answers are formatted on demand from the scheduler's latest
 * snapshot and the health set, both of which are safe to read from this
 * thread.
 */
#include "agent/listener.h"

#include "agent/exposition.h"
#include "common/net.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CONNECTIONS 16
#define TIMEOUT_S       10

struct ward_listener {
    struct MHD_Daemon *daemon;
    struct ward_scheduler *sched;
    struct ward_health *health;
    uint16_t port;
};

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *type,
                               struct ward_buf *body)
{
    size_t len = body->len;
    char *data = ward_buf_steal(body);
    if (!data)
        return MHD_NO;
    struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback(len, data, free);
    if (!resp) {
        free(data);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)con_cls;
    struct ward_listener *l = cls;
    /*
     * Every answer is given on the first call, with the headers: no resource
     * here takes a body, and answering before one is read makes MHD close the
     * connection instead of reading it.
     */
    struct ward_buf body = WARD_BUF_INIT;
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (get && strcmp(url, "/metrics") == 0) {
        if (ward_scheduler_exposition(l->sched, &body) < 0) {
            ward_buf_done(&body);
            ward_buf_puts(&body, "{\"error\":\"cannot format metrics\"}");
            return respond(conn, 500, "application/json", &body);
        }
        return respond(conn, 200, WARD_EXPOSITION_CONTENT_TYPE, &body);
    }
    if (get && strcmp(url, "/health") == 0) {
        enum ward_health_level level = WARD_HEALTH_OK;
        ward_health_json(l->health, &body, &level);
        unsigned status = level == WARD_HEALTH_ERROR ? 503 : 200;
        return respond(conn, status, "application/json", &body);
    }
    if (strcmp(url, "/metrics") == 0 || strcmp(url, "/health") == 0) {
        ward_buf_puts(&body, "{\"error\":\"method not allowed; use GET\"}");
        return respond(conn, 405, "application/json", &body);
    }
    ward_buf_puts(&body, "{\"error\":\"not found; try /metrics or /health\"}");
    return respond(conn, 404, "application/json", &body);
}

int ward_listener_start(const char *address, struct ward_scheduler *sched,
                        struct ward_health *health, struct ward_listener **out,
                        struct ward_buf *err)
{
    struct sockaddr_storage ss;
    int r = ward_listen_address(address, &ss, err);
    if (r < 0)
        return r;
    struct ward_listener *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->sched = sched;
    l->health = health;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    l->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, l, MHD_OPTION_SOCK_ADDR,
                                 (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT,
                                 (unsigned)MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
                                 (unsigned)TIMEOUT_S, MHD_OPTION_END);
    if (!l->daemon) {
        ward_buf_printf(err, "cannot listen on %s (address in use or not available)", address);
        free(l);
        return -EADDRNOTAVAIL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(l->daemon, MHD_DAEMON_INFO_BIND_PORT);
    l->port = info ? info->port : 0;
    *out = l;
    return 0;
}

uint16_t ward_listener_port(const struct ward_listener *l)
{
    return l->port;
}

void ward_listener_stop(struct ward_listener *l)
{
    if (!l)
        return;
    MHD_stop_daemon(l->daemon);
    free(l);
}
