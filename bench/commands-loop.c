/*
 * The event loop of bench-commands (see commands-loop.h).
 *
 * Each connection has at most one request in flight. A long-poll asks
 * again the moment an answer (200 or 204) arrives; the admin connections
 * post command k when it is due, k/rate s into the phase; and each
 * delivered command's result is posted, so that no host's queue (16
 * commands queued or dispatched) ever fills. The 201 of a command and its
 * delivery may arrive in either order, so whichever comes second files the
 * latency. A broken connection is opened again after a moment, and connects
 * are kept to a few hundred in flight so that the listen backlog never
 * fills.
 */
#include "commands-loop.h"

#include "common/time-util.h"

#include "bench-util.h"
#include "http-io.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONNECTING 256 /* connects in flight at once, so the listen backlog never fills */
#define READ_CHUNK     4096
#define EVENTS         256
#define RETRY_NS       (200 * 1000000LL) /* before a broken connection is opened again */
#define LATE_NS        (10 * 1000000LL)  /* a POST this much behind its schedule is late */

static const char COMMAND_BODY[] = "{\"type\":\"connect\",\"args\":{\"target\":\"127.0.0.1:1\"}}";

/* ---- The loop: connections ---- */

static void set_events(struct bench *b, struct conn *c, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    epoll_ctl(b->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void retry_later(struct bench *b, struct conn *c, int64_t now)
{
    if (!c->retry_ns)
        b->n_retry++;
    c->retry_ns = now + RETRY_NS;
}

static void conn_close(struct bench *b, struct conn *c)
{
    if (c->fd < 0)
        return;
    epoll_ctl(b->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    if (c->connecting)
        b->connecting--;
    c->connecting = c->busy = c->writing = c->closing = false;
    ward_buf_reset(&c->in);
    ward_buf_reset(&c->out);
    c->out_off = 0;
}

/* Starts a non-blocking connect of c; a failure is counted and retried later. */
static void conn_start(struct bench *b, struct conn *c, int64_t now)
{
    const struct sockaddr_storage *sa = &b->o->addr;
    int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        b->c.connect_failed++;
        retry_later(b, c, now);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    socklen_t len =
        sa->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    if ((connect(fd, (const struct sockaddr *)sa, len) < 0 && errno != EINPROGRESS) ||
        epoll_ctl(b->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        close(fd);
        b->c.connect_failed++;
        retry_later(b, c, now);
        return;
    }
    c->fd = fd;
    c->connecting = true;
    b->connecting++;
}

/* Writes what is left of c->out; waits for EPOLLOUT when the socket is full. */
static int conn_flush(struct bench *b, struct conn *c)
{
    while (c->out_off < c->out.len) {
        ssize_t w = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            if (!c->writing)
                set_events(b, c, EPOLLIN | EPOLLOUT);
            c->writing = true;
            return 0;
        }
        if (w < 0)
            return -errno;
        c->out_off += (size_t)w;
    }
    if (c->writing)
        set_events(b, c, EPOLLIN);
    c->writing = false;
    ward_buf_reset(&c->out);
    c->out_off = 0;
    return 0;
}

/* Puts the request built in c->out on its way; the time it goes out is c->sent_ns. */
static int conn_send(struct bench *b, struct conn *c)
{
    c->busy = true;
    c->sent_ns = ward_mono_ns();
    return conn_flush(b, c);
}

static int send_poll(struct bench *b, struct conn *c)
{
    const struct agent *a = &b->agents[c->idx];
    int r = ward_buf_printf(&c->out,
                            "GET /api/v1/agent/command?wait=%d HTTP/1.1\r\nHost: %s\r\n"
                            "User-Agent: bench-commands\r\nX-Agent-API-Key: %s\r\n\r\n",
                            b->o->wait_s, b->o->address, a->key);
    if (r < 0)
        return r;
    b->c.polls++;
    return conn_send(b, c);
}

/* ---- The loop: commands ---- */

static uint64_t hash_id(const char *id)
{
    uint64_t h = 1469598103934665603ull;
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 1099511628211ull;
    return h;
}

static void index_put(struct bench *b, int k)
{
    size_t i = hash_id(b->cmds[k].id) & b->index_mask;
    while (b->index[i])
        i = (i + 1) & b->index_mask;
    b->index[i] = (uint32_t)k + 1;
}

static int index_find(const struct bench *b, const char *id)
{
    size_t i = hash_id(id) & b->index_mask;
    for (; b->index[i]; i = (i + 1) & b->index_mask)
        if (strcmp(b->cmds[b->index[i] - 1].id, id) == 0)
            return (int)b->index[i] - 1;
    return -1;
}

static void queue_result(struct bench *b, int k)
{
    if (b->q_len < b->cap_cmds)
        b->queue[(b->q_head + b->q_len++) % b->cap_cmds] = k;
}

/* Files the latency of command k once both its 201 and its delivery are in. */
static void delivered(struct bench *b, int k, int agent, int64_t at_ns)
{
    struct command *cmd = &b->cmds[k];
    if (cmd->delivered) {
        b->c.duplicates++;
        return;
    }
    cmd->delivered = true;
    cmd->delivered_ns = at_ns;
    b->c.delivered++;
    if (cmd->agent != agent)
        b->c.wrong_agent++;
    b->lat_ns[b->n_lat++] = at_ns - cmd->sent_ns;
    queue_result(b, k);
}

static void on_created(struct bench *b, int k, const char *id, int64_t now)
{
    struct command *cmd = &b->cmds[k];
    memcpy(cmd->id, id, sizeof(cmd->id));
    b->c.created++;
    b->post_ns[b->n_post++] = now - cmd->sent_ns;
    index_put(b, k);
    for (size_t i = 0; i < b->n_early; i++)
        if (strcmp(b->early[i].id, id) == 0) {
            delivered(b, k, b->early[i].agent, b->early[i].at_ns);
            b->early[i] = b->early[--b->n_early];
            break;
        }
}

static void on_delivery(struct bench *b, int agent, const char *id, int64_t now)
{
    int k = index_find(b, id);
    if (k >= 0) {
        delivered(b, k, agent, now);
    } else if (b->n_early < MAX_EARLY) {
        struct early *e = &b->early[b->n_early++];
        snprintf(e->id, sizeof(e->id), "%s", id);
        e->agent = agent;
        e->at_ns = now;
    } else {
        b->c.unknown_ids++;
    }
}

static void note_bad(struct bench *b, const struct conn *c, const struct ward_http_response *resp)
{
    b->c.bad_status = resp->status;
    ward_cmdbench_body_excerpt(&c->in, resp, b->c.bad_body, sizeof(b->c.bad_body));
}

/* Handles one answer on c, at now; returns 0 or -errno to close c. */
static int on_answer(struct bench *b, struct conn *c, const struct ward_http_response *resp,
                     int64_t now)
{
    const char *body = c->in.data + resp->head_len;
    char id[WARD_UUID_STR_LEN];
    if (!c->busy) {
        b->c.proto_errors++;
        return -EPROTO;
    }
    c->busy = false;
    switch (c->kind) {
    case CONN_POLL:
        if (!c->answered)
            b->answered++;
        c->answered = true;
        if (resp->status == 200 && ward_cmdbench_json_string_field(body, resp->content_length, "id",
                                                                   id, sizeof(id)) == 0) {
            b->c.answers200++;
            on_delivery(b, c->idx, id, now);
        } else if (resp->status == 204) {
            b->c.answers204++;
            b->first204_ns = b->first204_ns ? b->first204_ns : now;
            b->last204_ns = now;
        } else {
            b->c.poll_errors++;
            note_bad(b, c, resp);
            retry_later(b, c, now); /* poll again in a moment, not in a tight loop */
            return 0;
        }
        return c->closing || atomic_load(&b->phase) == PHASE_STOP ? 0 : send_poll(b, c);
    case CONN_ADMIN:
        if (resp->status == 201 && ward_cmdbench_json_string_field(body, resp->content_length, "id",
                                                                   id, sizeof(id)) == 0) {
            on_created(b, c->cmd, id, now);
        } else {
            b->c.admin_errors++;
            note_bad(b, c, resp);
        }
        return 0;
    case CONN_RESULT:
        if (resp->status == 200) {
            b->c.results_ok++;
        } else {
            b->c.result_errors++;
            note_bad(b, c, resp);
        }
        return 0;
    }
    return 0;
}

/* Reads what c has and handles every whole answer in it. */
static int conn_read(struct bench *b, struct conn *c)
{
    for (;;) {
        if (ward_buf_reserve(&c->in, READ_CHUNK) < 0)
            return -ENOMEM;
        ssize_t n = recv(c->fd, c->in.data + c->in.len, READ_CHUNK, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -ECONNRESET;
        c->in.len += (size_t)n;
        c->in.data[c->in.len] = '\0';
        if (n < READ_CHUNK)
            break;
    }
    int64_t now = ward_mono_ns();
    struct ward_http_response resp;
    int r;
    while ((r = ward_http_parse_response(c->in.data, c->in.len, &resp)) == 0) {
        /* An answer that ends the connection: no poll goes out on it, a new one asks again. */
        c->closing = resp.close;
        r = on_answer(b, c, &resp, now);
        ward_http_drop_response(&c->in, &resp);
        if (r < 0)
            return r;
        if (c->closing) {
            b->c.closed_idle++;
            conn_close(b, c);
            if (c->kind == CONN_POLL && atomic_load(&b->phase) != PHASE_STOP)
                conn_start(b, c, now);
            else
                retry_later(b, c, now);
            return 0;
        }
    }
    if (r == -EPROTO)
        b->c.proto_errors++;
    return r == -EAGAIN ? 0 : r;
}

/* c broke: counts it, gives up its request in flight, and opens it again shortly. */
static void conn_broken(struct bench *b, struct conn *c, int64_t now)
{
    bool busy = c->busy;
    if (busy)
        b->c.closed_busy++;
    else
        b->c.closed_idle++;
    if (busy && c->kind == CONN_ADMIN)
        b->c.admin_errors++;
    if (busy && c->kind == CONN_RESULT)
        b->c.result_errors++;
    conn_close(b, c);
    if (atomic_load(&b->phase) != PHASE_STOP)
        retry_later(b, c, now);
}

static void conn_connected(struct bench *b, struct conn *c)
{
    c->connecting = false;
    b->connecting--;
    set_events(b, c, EPOLLIN);
    if (c->kind == CONN_POLL) {
        bool first = !c->sent_ns;
        if (send_poll(b, c) < 0)
            conn_broken(b, c, ward_mono_ns());
        else if (first)
            atomic_fetch_add(&b->polls_started, 1);
    }
}

static void conn_event(struct bench *b, struct conn *c, uint32_t events)
{
    int r = 0;
    if (c->connecting) {
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        if (err) {
            b->c.connect_failed++;
            conn_close(b, c);
            retry_later(b, c, ward_mono_ns());
            return;
        }
        if (events & EPOLLOUT)
            conn_connected(b, c);
        return;
    }
    if (events & EPOLLOUT)
        r = conn_flush(b, c);
    if (r >= 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        r = conn_read(b, c);
    if (r < 0 && c->fd >= 0)
        conn_broken(b, c, ward_mono_ns());
}

/* ---- The loop: schedule ---- */

static struct conn *idle(struct conn *pool, int n)
{
    for (int i = 0; i < n; i++)
        if (pool[i].fd >= 0 && !pool[i].connecting && !pool[i].busy)
            return &pool[i];
    return NULL;
}

static void post_command(struct bench *b, struct conn *c, int agent)
{
    int k = (int)b->n_cmds;
    int r = ward_buf_printf(&c->out,
                            "POST /api/v1/hosts/%s/commands HTTP/1.1\r\nHost: %s\r\n"
                            "User-Agent: bench-commands\r\nAuthorization: Bearer %s\r\n"
                            "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                            b->agents[agent].id, b->o->address, b->o->admin_token,
                            sizeof(COMMAND_BODY) - 1, COMMAND_BODY);
    if (r < 0) {
        b->c.admin_errors++;
        return;
    }
    b->n_cmds++;
    b->c.posted++;
    c->cmd = k;
    b->cmds[k] = (struct command){.agent = agent};
    r = conn_send(b, c);
    b->cmds[k].sent_ns = c->sent_ns;
    if (r < 0)
        conn_broken(b, c, ward_mono_ns());
}

static void post_result(struct bench *b, struct conn *c, int k)
{
    const struct command *cmd = &b->cmds[k];
    char body[160];
    int n =
        snprintf(body, sizeof(body),
                 "{\"id\":\"%s\",\"status\":\"done\",\"exit_code\":0,\"output\":\"\"}", cmd->id);
    int r = ward_buf_printf(&c->out,
                            "POST /api/v1/agent/command_result HTTP/1.1\r\nHost: %s\r\n"
                            "User-Agent: bench-commands\r\nX-Agent-API-Key: %s\r\n"
                            "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                            b->o->address, b->agents[cmd->agent].key, n, body);
    c->cmd = k;
    if (r < 0) {
        b->c.result_errors++;
        ward_buf_reset(&c->out);
        return;
    }
    if (conn_send(b, c) < 0)
        conn_broken(b, c, ward_mono_ns()); /* which counts the result as lost */
}

/* Posts the commands that are due; returns how long (ms) the loop may sleep. */
static int schedule(struct bench *b, int64_t now)
{
    const struct options *o = b->o;
    struct conn *c;
    while (b->q_len && (c = idle(b->results, o->resulters))) {
        int k = b->queue[b->q_head];
        b->q_head = (b->q_head + 1) % b->cap_cmds;
        b->q_len--;
        post_result(b, c, k);
    }
    if (atomic_load(&b->phase) != PHASE_MEASURE || atomic_load(&b->done))
        return 50;
    if (!b->start_ns) {
        b->start_ns = now;
        b->end_ns = now + o->duration_ms * 1000000;
    }
    /* Command k is due k/rate s into the phase; the phase holds duration x rate of them. */
    int64_t drain_end = b->end_ns + o->drain_ms * 1000000;
    while (b->n_cmds < b->cap_cmds) {
        int64_t due = b->start_ns + (int64_t)b->n_cmds * 1000000000LL / o->rate;
        if (due > now)
            return (int)((due - now + 999999) / 1000000);
        if (!(c = idle(b->admins, o->admins))) {
            if (now < drain_end)
                return 1;
            break;
        }
        if (now - due > LATE_NS)
            b->c.late_posts++;
        if (now - due > b->max_lag_ns)
            b->max_lag_ns = now - due;
        post_command(b, c, (int)(ward_xorshift64(&b->rng) % (uint64_t)o->agents));
    }
    /* The drain: every POST answered, every command delivered and its result stored. */
    bool admins_busy = false, results_busy = false;
    for (int i = 0; i < o->admins; i++)
        admins_busy |= b->admins[i].busy;
    for (int i = 0; i < o->resulters; i++)
        results_busy |= b->results[i].busy;
    bool settled = !admins_busy && !results_busy && !b->q_len && b->c.delivered >= b->c.created;
    if ((settled && b->n_cmds == b->cap_cmds && now >= b->end_ns) || now >= drain_end) {
        b->done_ns = now;
        b->c.unsent = b->cap_cmds - b->n_cmds;
        atomic_store(&b->done, true);
        return 50;
    }
    return 5;
}

static void retry_due(struct bench *b, struct conn *c, int64_t now)
{
    if (!c->retry_ns || now < c->retry_ns)
        return;
    c->retry_ns = 0;
    b->n_retry--;
    if (c->fd < 0)
        conn_start(b, c, now);
    else if (c->kind == CONN_POLL && !c->connecting && !c->busy && send_poll(b, c) < 0)
        conn_broken(b, c, now);
}

void *ward_cmdbench_loop_main(void *arg)
{
    struct bench *b = arg;
    const struct options *o = b->o;
    struct epoll_event ev[EVENTS];
    int64_t now = ward_mono_ns();
    for (int i = 0; i < o->admins; i++)
        conn_start(b, &b->admins[i], now);
    for (int i = 0; i < o->resulters; i++)
        conn_start(b, &b->results[i], now);
    while (atomic_load(&b->phase) != PHASE_STOP) {
        now = ward_mono_ns();
        while (b->next_connect < o->agents && b->connecting < MAX_CONNECTING)
            conn_start(b, &b->polls[b->next_connect++], now);
        if (b->n_retry) {
            for (int i = 0; i < o->agents; i++)
                retry_due(b, &b->polls[i], now);
            for (int i = 0; i < o->admins; i++)
                retry_due(b, &b->admins[i], now);
            for (int i = 0; i < o->resulters; i++)
                retry_due(b, &b->results[i], now);
        }
        int timeout = schedule(b, now);
        int n = epoll_wait(b->epfd, ev, EVENTS, b->n_retry && timeout > 50 ? 50 : timeout);
        if (n < 0 && errno != EINTR) {
            perror("bench-commands: epoll_wait");
            atomic_store(&b->failed, true);
            break;
        }
        for (int i = 0; i < n; i++)
            conn_event(b, ev[i].data.ptr, ev[i].events);
    }
    for (int i = 0; i < o->agents; i++)
        conn_close(b, &b->polls[i]);
    for (int i = 0; i < o->admins; i++)
        conn_close(b, &b->admins[i]);
    for (int i = 0; i < o->resulters; i++)
        conn_close(b, &b->results[i]);
    return NULL;
}

static void conns_init(struct conn *c, int n, enum conn_kind kind)
{
    for (int i = 0; i < n; i++)
        c[i] = (struct conn){.kind = kind, .idx = i, .fd = -1};
}

static void conns_done(struct conn *c, int n)
{
    for (int i = 0; i < n; i++) {
        ward_buf_done(&c[i].in);
        ward_buf_done(&c[i].out);
    }
}

int ward_cmdbench_init(struct bench *b, const struct options *o, const struct agent *agents)
{
    *b = (struct bench){.o = o, .agents = agents, .epfd = -1};
    b->rng = (uint64_t)o->seed * 2654435761u + 1;
    b->cap_cmds = (size_t)((o->duration_ms * o->rate + 999) / 1000);
    size_t slots = 1;
    while (slots < 2 * b->cap_cmds)
        slots <<= 1;
    b->index_mask = slots - 1;
    b->polls = calloc((size_t)o->agents, sizeof(*b->polls));
    b->cmds = calloc(b->cap_cmds, sizeof(*b->cmds));
    b->index = calloc(slots, sizeof(*b->index));
    b->queue = calloc(b->cap_cmds, sizeof(*b->queue));
    b->lat_ns = calloc(b->cap_cmds, sizeof(*b->lat_ns));
    b->post_ns = calloc(b->cap_cmds, sizeof(*b->post_ns));
    b->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!b->polls || !b->cmds || !b->index || !b->queue || !b->lat_ns || !b->post_ns || b->epfd < 0)
        return -ENOMEM;
    conns_init(b->polls, o->agents, CONN_POLL);
    conns_init(b->admins, o->admins, CONN_ADMIN);
    conns_init(b->results, o->resulters, CONN_RESULT);
    return 0;
}

void ward_cmdbench_done(struct bench *b)
{
    if (b->polls)
        conns_done(b->polls, b->o->agents);
    conns_done(b->admins, MAX_ADMINS);
    conns_done(b->results, MAX_RESULTERS);
    if (b->epfd >= 0)
        close(b->epfd);
    free(b->polls);
    free(b->cmds);
    free(b->index);
    free(b->queue);
    free(b->lat_ns);
    free(b->post_ns);
}
