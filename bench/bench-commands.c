/*
 * Diagnostics command benchmark: N agents long-poll
 * GET /api/v1/agent/command while an admin queues commands for random ones
 * at a fixed rate, and the time from queueing to delivery is measured, with
 * what the waiting agents cost the server in threads and memory.
 *
 * One process plays every side. The setup, kept out of the measured phase,
 * registers the agents with the enrollment token (POST /agent/register with
 * X-Ward-Enroll-Token answers with the key at once) from a few threads on
 * blocking keep-alive connections. The server allows 120 registrations per
 * client address in ten minutes, so against an IPv4 loopback server each
 * connection is bound to a source address of its own, 127.0.0.2, .3, ...,
 * AGENTS_PER_SOURCE agents each.
 *
 * Then one epoll thread holds every other connection, all non-blocking: a
 * keep-alive long-poll per agent, which asks again the moment an answer
 * (200 or 204) arrives; a few admin connections that queue commands
 * (POST /api/v1/hosts/{id}/commands) on a fixed schedule; and a small pool
 * that posts the result of each delivered command, so that no host's queue
 * (16 commands queued or dispatched) ever fills. Once GET /metrics says
 * that every agent waits, the server's thread count and memory are read
 * from /proc/PID/status and set against what they were before any poll:
 * a waiting request is meant to hold no thread. They are read again after
 * the measured phase, when every agent waits once more but most of them
 * on a connection that has carried an answer, which is what a server that
 * has run a while holds; the larger reading is the one judged.
 *
 * A command's delivery latency runs from just before its POST is written
 * to the arrival of the 200 that carries its id on its agent's long-poll,
 * both seen by the one thread on the monotonic clock. The 201 and the
 * delivery may arrive in either order, so whichever comes second files the
 * figure. Latencies are kept whole (at most rate x duration of them) and
 * sorted at the end. The exit status is 0 when the targets are met, 1 when
 * one is missed, 2 when the run could not take place.
 */
#include "common/error.h"
#include "common/json.h"
#include "common/parse.h"
#include "common/time-util.h"
#include "common/uuid.h"

#include "bench-util.h"
#include "http-io.h"
#include "proc-sample.h"
#include "proc-schedstat.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define MAX_AGENTS         20000
#define MAX_ADMINS         32
#define MAX_RESULTERS      64
#define MAX_REG_THREADS    64
#define AGENTS_PER_SOURCE  100  /* below the server's 120 registrations per address and window */
#define MAX_CONNECTING     256  /* connects in flight at once, so the listen backlog never fills */
#define MAX_EARLY          4096 /* deliveries whose 201 has not come yet */
#define KEY_MAX            64
#define READ_CHUNK         4096
#define EVENTS             256
#define WAITING_TIMEOUT_MS 60000
#define RETRY_NS           (200 * 1000000LL) /* before a broken connection is opened again */
#define LATE_NS            (10 * 1000000LL)  /* a POST this much behind its schedule is late */
#define SLOWEST            5

/* Targets (docs/performance.md). */
#define TARGET_RSS_KB  (100 * 1024)
#define TARGET_THREADS 2 /* more server threads with N waiters than with none, at most */
#define TARGET_P99_NS  (200 * 1000000LL)

static const char COMMAND_BODY[] = "{\"type\":\"connect\",\"args\":{\"target\":\"127.0.0.1:1\"}}";

struct options {
    const char *address, *admin_token, *enroll_token;
    struct sockaddr_storage addr;
    int agents, rate, admins, resulters, reg_threads, wait_s, server_pid, seed;
    int64_t duration_ms, drain_ms;
};

struct agent {
    char id[WARD_UUID_STR_LEN];
    char key[KEY_MAX];
};

enum conn_kind {
    CONN_POLL,
    CONN_ADMIN,
    CONN_RESULT,
};

/* One non-blocking connection of the loop, with at most one request in flight. */
struct conn {
    enum conn_kind kind;
    int idx; /* the agent of a poll; the slot of an admin or result connection */
    int fd;  /* -1 while closed */
    bool connecting, busy, writing, closing;
    bool answered; /* a poll: it has had an answer (its server-side memory is in use) */
    struct ward_buf in, out;
    size_t out_off;
    int64_t sent_ns;  /* when the request in flight was written */
    int64_t retry_ns; /* when to connect (or poll) again; 0 = not waiting for that */
    int cmd;          /* the command of an admin's or a result's request in flight */
};

/* A queued command, from its POST to its result. */
struct command {
    char id[WARD_UUID_STR_LEN];
    int agent;
    int64_t sent_ns, answered_ns, delivered_ns; /* delivered_ns: also before the 201 came */
    bool created, delivered, finished;
};

/* A delivery that came before the 201 of its command. */
struct early {
    char id[WARD_UUID_STR_LEN];
    int agent;
    int64_t at_ns;
};

struct counts {
    uint64_t polls, answers200, answers204, posted, created, delivered, results_ok;
    uint64_t poll_errors, admin_errors, result_errors, closed_busy, closed_idle, connect_failed;
    uint64_t proto_errors, unknown_ids, wrong_agent, duplicates, late_posts, unsent;
    unsigned bad_status;
    char bad_body[160];
};

enum phase {
    PHASE_POLL,
    PHASE_MEASURE,
    PHASE_STOP,
};

struct bench {
    const struct options *o;
    const struct agent *agents;
    struct conn *polls;
    struct conn admins[MAX_ADMINS], results[MAX_RESULTERS];
    int epfd;
    int next_connect, connecting, n_retry, answered;
    struct command *cmds;
    size_t cap_cmds, n_cmds;
    uint32_t *index; /* open addressing by command id: slot -> command + 1 */
    size_t index_mask;
    struct early early[MAX_EARLY];
    size_t n_early;
    int *queue; /* commands whose result is due, a ring of cap_cmds */
    size_t q_head, q_len;
    uint64_t rng;
    int64_t *lat_ns, *post_ns;
    size_t n_lat, n_post;
    struct counts c;
    int64_t start_ns, end_ns, done_ns, first204_ns, last204_ns, max_lag_ns;
    atomic_int phase;
    atomic_int polls_started; /* agents whose first poll went out */
    atomic_bool done;         /* the measured phase and its drain are over */
    atomic_bool failed;       /* the loop could not run */
};

/* ---- Small helpers ---- */

/* The figure of key in /proc/PID/status (kB for memory), or -1. */
static long status_value(int pid, const char *key)
{
    char path[64], line[256];
    size_t k = strlen(key);
    long v = -1;
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, key, k) == 0 && line[k] == ':') {
            v = strtol(line + k + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

struct server_status {
    long threads, rss_kb, hwm_kb;
};

static struct server_status server_status(int pid)
{
    return (struct server_status){status_value(pid, "Threads"), status_value(pid, "VmRSS"),
                                  status_value(pid, "VmHWM")};
}

/* Copies the string at top-level key of the JSON object in the len bytes at body into out. */
static int json_string_field(const char *body, size_t len, const char *key, char *out, size_t size)
{
    struct ward_json_reader r;
    struct ward_json_token t;
    int e, found = -ENOENT;
    ward_json_reader_init(&r, body, len, NULL);
    e = ward_json_expect(&r, WARD_JSON_OBJECT_BEGIN, &t);
    while (e == 0 && (e = ward_json_next(&r, &t)) == 0 && t.type == WARD_JSON_KEY) {
        if (!ward_json_key_is(&t, key)) {
            e = ward_json_skip(&r);
            continue;
        }
        e = ward_json_expect(&r, WARD_JSON_STRING, &t);
        if (e == 0 && t.len < size) {
            memcpy(out, t.str, t.len);
            out[t.len] = '\0';
            found = 0;
        }
        break;
    }
    ward_json_reader_done(&r);
    return e < 0 ? e : found;
}

/* The body of an answer read into in, as text for a message, at most size - 1 bytes. */
static void body_excerpt(const struct ward_buf *in, const struct ward_http_response *resp,
                         char *out, size_t size)
{
    size_t n = resp->content_length < size - 1 ? resp->content_length : size - 1;
    memcpy(out, in->data + resp->head_len, n);
    out[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (out[i] == '\n' || out[i] == '\r')
            out[i] = ' ';
}

/* Whether the server is on IPv4 loopback, where a connection may take any 127.0.0.0/8 source. */
static bool loopback_server(const struct sockaddr_storage *sa)
{
    if (sa->ss_family != AF_INET)
        return false;
    uint32_t a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
    return (a >> 24) == 127;
}

/* A blocking connection to sa, bound to 127.0.0.0 + source unless source is 0. */
static int connect_from(const struct sockaddr_storage *sa, uint32_t source)
{
    int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    struct timeval tv = {.tv_sec = 60};
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (source) {
        struct sockaddr_in src = {.sin_family = AF_INET,
                                  .sin_addr.s_addr = htonl(0x7f000000u | source)};
        if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
            int err = -errno;
            close(fd);
            return err;
        }
    }
    socklen_t len =
        sa->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (connect(fd, (const struct sockaddr *)sa, len) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

/* ---- Setup: registration ---- */

struct reg_job {
    const struct options *o;
    struct agent *agents;
    int from, to;
    bool loopback;
    char why[256]; /* empty unless the job failed */
};

/* Registers agent i on *fd (opened or reopened as needed); 0, or -1 with job->why set. */
static int register_one(struct reg_job *job, int i, int *fd, uint32_t *source, struct ward_buf *in)
{
    struct agent *a = &job->agents[i];
    uint32_t want = job->loopback ? 2 + (uint32_t)(i / AGENTS_PER_SOURCE) : 0;
    struct ward_buf req = WARD_BUF_INIT;
    struct ward_http_response resp;
    int r = ward_uuid_v7(a->id);
    if (r < 0) {
        snprintf(job->why, sizeof(job->why), "cannot make a UUID: %s", ward_strerror(r));
        return -1;
    }
    char body[160];
    int n = snprintf(body, sizeof(body), "{\"agentId\":\"%s\",\"hostname\":\"bench-agent-%05d\"}",
                     a->id, i);
    r = ward_buf_printf(&req,
                        "POST /agent/register HTTP/1.1\r\nHost: %s\r\n"
                        "User-Agent: bench-commands\r\nContent-Type: application/json\r\n"
                        "X-Ward-Enroll-Token: %s\r\nContent-Length: %d\r\n\r\n%s",
                        job->o->address, job->o->enroll_token, n, body);
    for (int attempt = 0; r >= 0 && attempt < 2; attempt++) {
        if (*fd >= 0 && *source != want) {
            close(*fd);
            *fd = -1;
        }
        if (*fd < 0) {
            ward_buf_reset(in);
            r = *fd = connect_from(&job->o->addr, want);
            if (r < 0)
                break;
            *source = want;
        }
        r = ward_http_send_all(*fd, req.data, req.len);
        if (r >= 0)
            r = ward_http_read_response(*fd, in, &resp);
        if (r >= 0)
            break;
        /* A keep-alive connection the server closed: once more on a new one. */
        close(*fd);
        *fd = -1;
    }
    ward_buf_done(&req);
    if (r < 0) {
        snprintf(job->why, sizeof(job->why), "agent %d: registration failed: %s", i,
                 ward_strerror(r));
        return -1;
    }
    if (resp.status != 200) {
        char excerpt[160];
        body_excerpt(in, &resp, excerpt, sizeof(excerpt));
        snprintf(job->why, sizeof(job->why), "agent %d: registration answered %u: %s", i,
                 resp.status, excerpt);
        return -1;
    }
    r = json_string_field(in->data + resp.head_len, resp.content_length, "apiKey", a->key,
                          sizeof(a->key));
    if (r < 0) {
        snprintf(job->why, sizeof(job->why),
                 "agent %d: no apiKey in the registration answer (is the enrollment token "
                 "right?)",
                 i);
        return -1;
    }
    ward_http_drop_response(in, &resp);
    if (resp.close) {
        close(*fd);
        *fd = -1;
    }
    return 0;
}

static void *register_range(void *arg)
{
    struct reg_job *job = arg;
    struct ward_buf in = WARD_BUF_INIT;
    int fd = -1;
    uint32_t source = 0;
    for (int i = job->from; i < job->to; i++)
        if (register_one(job, i, &fd, &source, &in) < 0)
            break;
    if (fd >= 0)
        close(fd);
    ward_buf_done(&in);
    return NULL;
}

/* Registers every agent from o->reg_threads threads. Returns 0 or -1 after printing why. */
static int register_agents(const struct options *o, struct agent *agents)
{
    struct reg_job jobs[MAX_REG_THREADS];
    pthread_t threads[MAX_REG_THREADS];
    int n = o->reg_threads < o->agents ? o->reg_threads : o->agents, started = 0, failed = 0;
    bool loopback = loopback_server(&o->addr);
    for (int t = 0; t < n; t++) {
        jobs[t] = (struct reg_job){.o = o,
                                   .agents = agents,
                                   .from = (int)((int64_t)o->agents * t / n),
                                   .to = (int)((int64_t)o->agents * (t + 1) / n),
                                   .loopback = loopback};
        if (pthread_create(&threads[t], NULL, register_range, &jobs[t]) != 0)
            break;
        started++;
    }
    for (int t = 0; t < started; t++) {
        pthread_join(threads[t], NULL);
        if (jobs[t].why[0] && failed++ < 3)
            fprintf(stderr, "bench-commands: %s\n", jobs[t].why);
    }
    if (started < n)
        fprintf(stderr, "bench-commands: cannot start the registration threads\n");
    if (failed || started < n)
        return -1;
    return 0;
}

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
    cmd->created = true;
    cmd->answered_ns = now;
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
    body_excerpt(&c->in, resp, b->c.bad_body, sizeof(b->c.bad_body));
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
        if (resp->status == 200 &&
            json_string_field(body, resp->content_length, "id", id, sizeof(id)) == 0) {
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
        if (resp->status == 201 &&
            json_string_field(body, resp->content_length, "id", id, sizeof(id)) == 0) {
            on_created(b, c->cmd, id, now);
        } else {
            b->c.admin_errors++;
            note_bad(b, c, resp);
        }
        return 0;
    case CONN_RESULT:
        if (resp->status == 200) {
            b->c.results_ok++;
            b->cmds[c->cmd].finished = true;
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

static void *loop_main(void *arg)
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

static int bench_init(struct bench *b, const struct options *o, const struct agent *agents)
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

static void bench_done(struct bench *b)
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

/* ---- Main thread: waiting for the waiters ---- */

/*
 * The value of ward_command_waiters on the server's GET /metrics, or -1.
 * One blocking connection per call: it is asked a few times a second at
 * most, and never during the measured phase.
 */
static long server_waiters(const struct options *o)
{
    struct ward_buf req = WARD_BUF_INIT, in = WARD_BUF_INIT;
    struct ward_http_response resp;
    long v = -1;
    int fd = connect_from(&o->addr, 0);
    if (fd < 0)
        return -1;
    if (ward_buf_printf(&req, "GET /metrics HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                        o->address) >= 0 &&
        ward_http_send_all(fd, req.data, req.len) >= 0 &&
        ward_http_read_response(fd, &in, &resp) >= 0 && resp.status == 200) {
        const char *body = in.data + resp.head_len, *end = body + resp.content_length;
        static const char name[] = "\nward_command_waiters ";
        const char *p = memmem(body, (size_t)(end - body), name, sizeof(name) - 1);
        if (p)
            v = strtol(p + sizeof(name) - 1, NULL, 10);
    }
    close(fd);
    ward_buf_done(&req);
    ward_buf_done(&in);
    return v;
}

static void sleep_ms(int ms)
{
    usleep((useconds_t)ms * 1000);
}

/* ---- Options, report, main ---- */

static int usage(const char *why)
{
    if (why)
        fprintf(stderr, "bench-commands: %s\n", why);
    fprintf(stderr,
            "Usage: bench-commands -t ADMIN_TOKEN -e ENROLL_TOKEN [-c HOST:PORT] [-n AGENTS]\n"
            "                      [-r COMMANDS_PER_S] [-d SECONDS] [-w SECONDS] [-W SECONDS]\n"
            "                      [-a ADMIN_CONNS] [-R RESULT_CONNS] [-j THREADS] [-P PID]\n"
            "                      [-s SEED]\n"
            "  -c  server address (127.0.0.1:8080)\n"
            "  -t  admin token, to queue commands\n"
            "  -e  the server's enrollment token, to register the agents\n"
            "  -n  agents, each with one long-poll connection (2000)\n"
            "  -r  commands queued per second, for random agents (50)\n"
            "  -d  measured phase in seconds (30)\n"
            "  -w  drain: longest wait after the phase for the last deliveries (5)\n"
            "  -W  wait parameter of the long-poll, 0 to 30 seconds (30)\n"
            "  -a  admin connections that queue commands (4)\n"
            "  -R  connections that post results (8)\n"
            "  -j  registration threads (16)\n"
            "  -P  pid of ward-server: its threads, RSS and CPU, and the targets\n"
            "  -s  seed of the choice of agents (1)\n");
    return 2;
}

static int parse_options(int argc, char **argv, struct options *o)
{
    *o = (struct options){.address = "127.0.0.1:8080",
                          .agents = 2000,
                          .rate = 50,
                          .admins = 4,
                          .resulters = 8,
                          .reg_threads = 16,
                          .wait_s = 30,
                          .seed = 1,
                          .duration_ms = 30000,
                          .drain_ms = 5000};
    int c;
    while ((c = getopt(argc, argv, "c:t:e:n:r:d:w:W:a:R:j:P:s:h")) != -1) {
        int r = 0;
        switch (c) {
        case 'c':
            o->address = optarg;
            break;
        case 't':
            o->admin_token = optarg;
            break;
        case 'e':
            o->enroll_token = optarg;
            break;
        case 'n':
            r = ward_int_option(optarg, 1, MAX_AGENTS, &o->agents);
            break;
        case 'r':
            r = ward_int_option(optarg, 1, 100000, &o->rate);
            break;
        case 'd':
            r = ward_parse_duration_ms(optarg, &o->duration_ms);
            break;
        case 'w':
            r = ward_parse_duration_ms(optarg, &o->drain_ms);
            break;
        case 'W':
            r = ward_int_option(optarg, 0, 30, &o->wait_s);
            break;
        case 'a':
            r = ward_int_option(optarg, 1, MAX_ADMINS, &o->admins);
            break;
        case 'R':
            r = ward_int_option(optarg, 1, MAX_RESULTERS, &o->resulters);
            break;
        case 'j':
            r = ward_int_option(optarg, 1, MAX_REG_THREADS, &o->reg_threads);
            break;
        case 'P':
            r = ward_int_option(optarg, 1, INT32_MAX, &o->server_pid);
            break;
        case 's':
            r = ward_int_option(optarg, 0, INT32_MAX, &o->seed);
            break;
        default:
            return usage(NULL);
        }
        if (r < 0 || o->duration_ms < 0 || o->drain_ms < 0) {
            char why[64];
            snprintf(why, sizeof(why), "bad value for -%c", c);
            return usage(why);
        }
    }
    if (optind != argc)
        return usage("unexpected argument");
    if (!o->admin_token || !o->enroll_token)
        return usage("-t and -e are required");
    if (o->duration_ms <= 0 || o->duration_ms > 3600 * 1000)
        return usage("-d must be more than 0 and at most an hour");
    if (ward_http_server_address("bench-commands", o->address, &o->addr) < 0)
        return 2;
    return 0;
}

static void print_status(const char *when, const struct server_status *s)
{
    printf("server %s: %ld threads, VmRSS %.1f MB, VmHWM %.1f MB\n", when, s->threads,
           (double)s->rss_kb / 1024, (double)s->hwm_kb / 1024);
}

static int64_t latency_of(const struct command *c)
{
    return c->delivered_ns - c->sent_ns;
}

/* Prints the slowest deliveries with when they were queued, to put them next to other events. */
static void print_slowest(const struct bench *b)
{
    int best[SLOWEST], n = 0;
    for (size_t k = 0; k < b->n_cmds; k++) {
        if (!b->cmds[k].delivered)
            continue;
        int64_t lat = latency_of(&b->cmds[k]);
        int at;
        if (n < SLOWEST)
            at = n++;
        else if (lat > latency_of(&b->cmds[best[SLOWEST - 1]]))
            at = SLOWEST - 1;
        else
            continue;
        while (at > 0 && lat > latency_of(&b->cmds[best[at - 1]])) {
            best[at] = best[at - 1];
            at--;
        }
        best[at] = (int)k;
    }
    printf("slowest deliveries (latency @ when queued, s into the phase):");
    for (int i = 0; i < n; i++) {
        const struct command *c = &b->cmds[best[i]];
        printf(" %.1f ms @ %.2f s;", (double)latency_of(c) / 1e6,
               (double)(c->sent_ns - b->start_ns) / 1e9);
    }
    printf("\n");
}

int main(int argc, char **argv)
{
    struct options o;
    int r = parse_options(argc, argv, &o);
    if (r != 0)
        return r;
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct agent *agents = calloc((size_t)o.agents, sizeof(*agents));
    static struct bench b;
    if (!agents || bench_init(&b, &o, agents) < 0) {
        fprintf(stderr, "bench-commands: out of memory\n");
        return 2;
    }

    int64_t t0 = ward_mono_ns();
    if (register_agents(&o, agents) < 0)
        return 2;
    printf("setup: %d agents registered with the enrollment token in %.1f s (%d threads%s)\n",
           o.agents, (double)(ward_mono_ns() - t0) / 1e9, o.reg_threads,
           loopback_server(&o.addr) ? ", one source address per 100 agents" : "");

    struct server_status st0 = {0}, stn = {0}, st1 = {0};
    if (o.server_pid) {
        sleep_ms(500);
        st0 = server_status(o.server_pid);
        print_status("with 0 waiters", &st0);
    }

    /* Long-polls of clients gone before us still count until their wait ends. */
    long base = server_waiters(&o);
    base = base > 0 ? base : 0;
    pthread_t loop;
    if (pthread_create(&loop, NULL, loop_main, &b) != 0) {
        fprintf(stderr, "bench-commands: cannot start the loop thread\n");
        return 2;
    }
    t0 = ward_mono_ns();
    long waiters = -1;
    while (!atomic_load(&b.failed) && ward_mono_ns() - t0 < WAITING_TIMEOUT_MS * 1000000LL) {
        if (atomic_load(&b.polls_started) == o.agents) {
            waiters = server_waiters(&o);
            if (waiters >= base + o.agents)
                break;
            if (waiters < 0) {
                /* A server without the gauge: give the last polls a moment to be suspended. */
                sleep_ms(2000);
                break;
            }
        }
        sleep_ms(100);
    }
    double wait_s = (double)(ward_mono_ns() - t0) / 1e9;
    int started = atomic_load(&b.polls_started);
    bool all_waiting = waiters >= base + o.agents || (waiters < 0 && started == o.agents);
    printf("long-polls: %d of %d agents polling after %.1f s; ward_command_waiters %ld%s\n",
           started, o.agents, wait_s, waiters,
           waiters < 0 ? " (not on this server's /metrics: waiting not confirmed)"
           : base > 0  ? " (some of them left by earlier clients)"
                       : "");
    if (!all_waiting)
        fprintf(stderr, "bench-commands: not every agent is waiting; measuring anyway\n");
    if (o.server_pid) {
        sleep_ms(1000);
        stn = server_status(o.server_pid);
        print_status(all_waiting ? "with every agent waiting" : "with the agents polling", &stn);
    }

    struct ward_cpu_snapshot *cpu = calloc(2, sizeof(*cpu));
    struct ward_sched_snapshot *sched = calloc(2, sizeof(*sched));
    if (!cpu || !sched) {
        fprintf(stderr, "bench-commands: out of memory\n");
        return 2;
    }
    ward_cpu_snapshot_take(o.server_pid, &cpu[0]);
    if (o.server_pid)
        ward_sched_take(o.server_pid, &sched[0]);
    atomic_store(&b.phase, PHASE_MEASURE);
    while (!atomic_load(&b.done) && !atomic_load(&b.failed))
        sleep_ms(20);
    ward_cpu_snapshot_take(o.server_pid, &cpu[1]);
    if (o.server_pid)
        ward_sched_take(o.server_pid, &sched[1]);
    /* Every agent is waiting again, most on a connection that has answered by now. */
    sleep_ms(500);
    long waiters_after = server_waiters(&o);
    if (o.server_pid)
        st1 = server_status(o.server_pid);
    atomic_store(&b.phase, PHASE_STOP);
    pthread_join(loop, NULL);

    /* The loop thread is gone: its figures are ours now. */
    const struct counts *c = &b.c;
    double secs = (double)(b.end_ns - b.start_ns) / 1e9;
    qsort(b.lat_ns, b.n_lat, sizeof(*b.lat_ns), ward_cmp_i64);
    qsort(b.post_ns, b.n_post, sizeof(*b.post_ns), ward_cmp_i64);
    printf("measured phase: %.1f s, %d commands/s for random agents on %d admin connections, "
           "results on %d; drain %.2f s\n",
           secs, o.rate, o.admins, o.resulters, (double)(b.done_ns - b.end_ns) / 1e9);
    printf("commands: %" PRIu64 " sent, %" PRIu64 " queued (201), %" PRIu64 " delivered, %" PRIu64
           " results stored; %" PRIu64 " not sent in time, %" PRIu64
           " sent more than 10 ms late (at most %.1f ms)\n",
           c->posted, c->created, c->delivered, c->results_ok, c->unsent, c->late_posts,
           (double)b.max_lag_ns / 1e6);
    printf("delivery latency (POST written -> its 200 on the long-poll): p50 %.2f ms, p90 %.2f "
           "ms, p99 %.2f ms, max %.2f ms\n",
           ward_percentile(b.lat_ns, b.n_lat, 50, 1e6), ward_percentile(b.lat_ns, b.n_lat, 90, 1e6),
           ward_percentile(b.lat_ns, b.n_lat, 99, 1e6),
           ward_percentile(b.lat_ns, b.n_lat, 100, 1e6));
    printf("queueing (POST written -> 201): p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
           ward_percentile(b.post_ns, b.n_post, 50, 1e6),
           ward_percentile(b.post_ns, b.n_post, 99, 1e6),
           ward_percentile(b.post_ns, b.n_post, 100, 1e6));
    print_slowest(&b);
    printf("long-poll answers: %" PRIu64 " polls, %" PRIu64 " with a command, %" PRIu64
           " empty (204)",
           c->polls, c->answers200, c->answers204);
    if (c->answers204)
        printf(", the 204s from %.2f s to %.2f s into the phase",
               (double)(b.first204_ns - b.start_ns) / 1e9,
               (double)(b.last204_ns - b.start_ns) / 1e9);
    printf("\n");
    uint64_t errors = c->poll_errors + c->admin_errors + c->result_errors + c->closed_busy +
                      c->connect_failed + c->proto_errors + c->unknown_ids + b.n_early +
                      c->wrong_agent + c->duplicates;
    printf("errors: %" PRIu64 " (polls %" PRIu64 ", admin %" PRIu64 ", results %" PRIu64
           ", closed with a request in flight %" PRIu64 ", failed connects %" PRIu64
           ", protocol %" PRIu64 ", unknown ids %zu, wrong agent %" PRIu64
           ", delivered twice %" PRIu64
           "); idle connections the server closed (its --connection-timeout) %" PRIu64 "\n",
           errors, c->poll_errors, c->admin_errors, c->result_errors, c->closed_busy,
           c->connect_failed, c->proto_errors, (size_t)c->unknown_ids + b.n_early, c->wrong_agent,
           c->duplicates, c->closed_idle);
    if (c->bad_status)
        printf("last unexpected answer: %u %s\n", c->bad_status, c->bad_body);

    double hz = (double)sysconf(_SC_CLK_TCK), phase_s = (double)(b.done_ns - b.start_ns) / 1e9;
    double gen = (ward_cpu_self_seconds(&cpu[0], &cpu[1], true) +
                  ward_cpu_self_seconds(&cpu[0], &cpu[1], false)) /
                 phase_s;
    printf("bench-commands CPU: %.3f cores\n", gen);
    double p99 = ward_percentile(b.lat_ns, b.n_lat, 99, 1e6);
    bool delivered_all = all_waiting && c->posted > 0 && c->delivered == c->posted &&
                         c->created == c->posted && c->unsent == 0;
    bool fast = c->delivered > 0 && p99 * 1e6 < (double)TARGET_P99_NS;
    bool small = true, threads_flat = true;
    /* The agents are waiting in both readings of the server: the larger one counts. */
    long rss = stn.rss_kb > st1.rss_kb ? stn.rss_kb : st1.rss_kb;
    long threads = stn.threads > st1.threads ? stn.threads : st1.threads;
    if (o.server_pid) {
        struct ward_thread_ticks sum[WARD_CPU_MAX_THREADS];
        int count[WARD_CPU_MAX_THREADS];
        size_t names;
        double cores =
            (double)ward_cpu_server_ticks(&cpu[0], &cpu[1], sum, count, &names) / hz / phase_s;
        printf("server CPU (pid %d): %.3f cores\n", o.server_pid, cores);
        ward_sched_print("server", &sched[0], &sched[1], phase_s);
        printf("after the phase: ward_command_waiters %ld; %d of %d agents have had an answer on "
               "their long-poll connection\n",
               waiters_after, b.answered, o.agents);
        print_status("after the phase", &st1);
        printf("server memory per waiting agent: %.1f kB when it first waits, %.1f kB after "
               "the phase\n",
               (double)(stn.rss_kb - st0.rss_kb) / o.agents,
               (double)(st1.rss_kb - st0.rss_kb) / o.agents);
        small = stn.rss_kb >= 0 && st1.rss_kb >= 0 && rss < TARGET_RSS_KB;
        threads_flat = st0.threads >= 0 && threads >= 0 && threads <= st0.threads + TARGET_THREADS;
        printf("target RSS < 100 MB with %d waiters: %.1f MB, %s\n", o.agents, (double)rss / 1024,
               small ? "met" : "MISSED");
        printf("target threads with %d waiters at most %d more than with none: %ld and %ld, %s\n",
               o.agents, TARGET_THREADS, threads, st0.threads, threads_flat ? "met" : "MISSED");
    }
    printf("target p99 < 200 ms: %.2f ms, %s\n", p99, fast ? "met" : "MISSED");
    printf("target every command delivered: %" PRIu64 " of %" PRIu64 "%s, %s\n", c->delivered,
           c->posted + c->unsent, all_waiting ? "" : " (not every agent was waiting)",
           delivered_all ? "met" : "MISSED");
    bool met = delivered_all && fast && small && threads_flat;
    printf("targets: %s\n", !o.server_pid ? "server figures not judged without -P"
                            : met         ? "met"
                                          : "MISSED");
    printf("result agents=%d waiting=%ld rate=%d seconds=%.1f threads0=%ld threadsN=%ld "
           "rss0_mb=%.1f rssN_mb=%.1f rss_after_mb=%.1f hwm_mb=%.1f sent=%" PRIu64
           " delivered=%" PRIu64 " p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f empty=%" PRIu64
           " errors=%" PRIu64 " met=%d\n",
           o.agents, waiters, o.rate, secs, st0.threads, threads, (double)st0.rss_kb / 1024,
           (double)stn.rss_kb / 1024, (double)st1.rss_kb / 1024, (double)st1.hwm_kb / 1024,
           c->posted, c->delivered, ward_percentile(b.lat_ns, b.n_lat, 50, 1e6),
           ward_percentile(b.lat_ns, b.n_lat, 90, 1e6), p99,
           ward_percentile(b.lat_ns, b.n_lat, 100, 1e6), c->answers204, errors, met);
    free(cpu);
    free(sched);
    bench_done(&b);
    free(agents);
    return met ? 0 : 1;
}
