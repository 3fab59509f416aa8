/*
 * The setup of bench-commands (see commands-setup.h): the helpers shared
 * with the loop and the registration of the agents.
 *
 * Registration is kept out of the measured phase. POST /agent/register
 * with X-Ward-Enroll-Token answers with the key at once; the server allows
 * 120 registrations per client address in ten minutes, so against an IPv4
 * loopback server each connection is bound to a source address of its own,
 * 127.0.0.2, .3, ..., AGENTS_PER_SOURCE agents each.
 */
#include "commands-setup.h"

#include "common/error.h"
#include "common/json.h"

#include "http-io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define AGENTS_PER_SOURCE 100 /* below the server's 120 registrations per address and window */

/* ---- Small helpers ---- */

int ward_cmdbench_json_string_field(const char *body, size_t len, const char *key, char *out,
                                    size_t size)
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

void ward_cmdbench_body_excerpt(const struct ward_buf *in, const struct ward_http_response *resp,
                                char *out, size_t size)
{
    size_t n = resp->content_length < size - 1 ? resp->content_length : size - 1;
    memcpy(out, in->data + resp->head_len, n);
    out[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (out[i] == '\n' || out[i] == '\r')
            out[i] = ' ';
}

bool ward_cmdbench_loopback_server(const struct sockaddr_storage *sa)
{
    if (sa->ss_family != AF_INET)
        return false;
    uint32_t a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
    return (a >> 24) == 127;
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
            r = *fd = ward_http_connect_from(&job->o->addr, want, 60);
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
        ward_cmdbench_body_excerpt(in, &resp, excerpt, sizeof(excerpt));
        snprintf(job->why, sizeof(job->why), "agent %d: registration answered %u: %s", i,
                 resp.status, excerpt);
        return -1;
    }
    r = ward_cmdbench_json_string_field(in->data + resp.head_len, resp.content_length, "apiKey",
                                        a->key, sizeof(a->key));
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

int ward_cmdbench_register_agents(const struct options *o, struct agent *agents)
{
    struct reg_job jobs[MAX_REG_THREADS];
    pthread_t threads[MAX_REG_THREADS];
    int n = o->reg_threads < o->agents ? o->reg_threads : o->agents, started = 0, failed = 0;
    bool loopback = ward_cmdbench_loopback_server(&o->addr);
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
