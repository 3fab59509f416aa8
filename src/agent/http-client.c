/*
 * A small HTTP/1.1 client: the agent's uploads to ward-server.
 *
 * The agent mostly sends one kind of request, a POST of a compressed batch,
 * to one server (besides its registration: a small POST, and GETs of its
 * claim status), so the client is shaped around that: a parsed base URL, one
 * connection kept alive between report intervals (http-conn.c does TCP,
 * TLS and the deadlines), a request written in one go with Content-Length,
 * and a response read through one fixed buffer. Everything the server
 * sends is bounded: the head (status line and headers) must fit the
 * buffer and have at most WARD_HTTP_HEADERS_MAX lines; of the body, framed
 * by Content-Length, chunked encoding or the end of the connection, the
 * first WARD_HTTP_BODY_KEEP bytes are kept and the rest is read and
 * dropped up to WARD_HTTP_BODY_MAX, past which the connection is closed.
 * One deadline covers the whole request. A kept-alive connection that the
 * server closed while idle is noticed before or after sending, as long as
 * no response byte has arrived, and the request is then sent once more on
 * a new connection. A server may have processed a request whose answer it
 * never sent, so this retry relies on the request being idempotent, as the
 * agent's uploads are: the server stores a batch, identified by (server_id,
 * boot, seq), only once. Its other requests are too: a registration with
 * the same id and claim token hash changes nothing the second time, and a
 * GET reads. A reset while sending may also mean the server
 * answered early (a 413 for a body it will not read); that answer is read
 * and returned.
 */
#include "agent/http-client.h"

#include "agent/http-conn.h"
#include "common/error.h"
#include "common/time-util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Longest chunk-size line accepted in a chunked body. */
#define RETRY_AFTER_MAX_MS (60 * 60 * 1000) /* a longer Retry-After is taken as an hour */
#define CHUNK_LINE_MAX     1024
/* Interim (1xx) responses skipped before the final one. */
#define INTERIM_MAX 4

/* The connection ended before any byte of the response: a stale keep-alive. */
#define STALE 1

struct ward_http_client {
    struct ward_http_url url;
    struct ward_tls *tls;
    char *user_agent;
    int64_t timeout_ms, connect_timeout_ms;
    struct ward_http_conn *conn;
    uint64_t connections;
    /* The response reader: buf[start, end) is received and not yet consumed. */
    char buf[WARD_HTTP_HEAD_MAX];
    size_t start, end;
    size_t received; /* bytes of this response so far */
    int64_t deadline;
};

static bool host_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '-' || ch == '.' || ch == '_';
}

int ward_http_url_parse(const char *url, struct ward_http_url *out)
{
    struct ward_http_url u = {0};
    const char *p;
    if (strncasecmp(url, "http://", 7) == 0) {
        p = url + 7;
    } else if (strncasecmp(url, "https://", 8) == 0) {
        p = url + 8;
        u.tls = true;
    } else {
        return -EINVAL;
    }
    if (strpbrk(url, "?#@ \t\r\n"))
        return -EINVAL;
    const char *h = p, *h_end;
    if (*p == '[') {
        h = ++p;
        h_end = strchr(p, ']');
        if (!h_end)
            return -EINVAL;
        p = h_end + 1;
    } else {
        while (host_char(*p))
            p++;
        h_end = p;
    }
    size_t hlen = (size_t)(h_end - h);
    if (hlen == 0 || hlen > WARD_HTTP_HOST_MAX)
        return -EINVAL;
    memcpy(u.host, h, hlen);
    if (h[-1] == '[') {
        struct in6_addr a;
        if (inet_pton(AF_INET6, u.host, &a) != 1)
            return -EINVAL;
    }
    if (*p == ':') {
        const char *d = ++p;
        unsigned long port = 0;
        while (isdigit((unsigned char)*p) && p - d < 5)
            port = port * 10 + (unsigned long)(*p++ - '0');
        if (p == d || port == 0 || port > 65535 || isdigit((unsigned char)*p))
            return -EINVAL;
        memcpy(u.port, d, (size_t)(p - d));
    } else {
        memcpy(u.port, u.tls ? "443" : "80", u.tls ? 4 : 3);
    }
    if (*p && *p != '/')
        return -EINVAL;
    size_t plen = strlen(p);
    while (plen && p[plen - 1] == '/')
        plen--;
    if (plen > WARD_HTTP_PREFIX_MAX)
        return -EINVAL;
    for (size_t i = 0; i < plen; i++)
        if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f)
            return -EINVAL;
    memcpy(u.prefix, p, plen);
    *out = u;
    return 0;
}

int ward_http_client_new(const struct ward_http_client_config *cfg, struct ward_http_client **out,
                         struct ward_buf *err)
{
    struct ward_http_client *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    int r = ward_http_url_parse(cfg->url, &c->url);
    if (r == 0 && c->url.tls)
        r = ward_tls_new(cfg->ca_file, &c->tls, err);
    if (r == 0 && !(c->user_agent = strdup(cfg->user_agent ? cfg->user_agent : "ward")))
        r = -ENOMEM;
    if (r < 0) {
        ward_http_client_free(c);
        return r;
    }
    c->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 10000;
    c->connect_timeout_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : c->timeout_ms;
    *out = c;
    return 0;
}

static void drop_conn(struct ward_http_client *c)
{
    ward_http_conn_free(c->conn);
    c->conn = NULL;
}

void ward_http_client_free(struct ward_http_client *c)
{
    if (!c)
        return;
    drop_conn(c);
    ward_tls_free(c->tls);
    free(c->user_agent);
    free(c);
}

uint64_t ward_http_client_connections(const struct ward_http_client *c)
{
    return c->connections;
}

/*
 * Reads more of the response into the buffer. Returns the number of bytes
 * read, STALE-style 0 at the end of the stream, WARD_E_LIMIT when the
 * buffer is full of unconsumed bytes, or WARD_E_HTTP with a message.
 */
static ssize_t fill(struct ward_http_client *c, struct ward_buf *err)
{
    if (c->start == c->end) {
        c->start = c->end = 0;
    } else if (c->start > 0 && c->end == sizeof(c->buf)) {
        memmove(c->buf, c->buf + c->start, c->end - c->start);
        c->end -= c->start;
        c->start = 0;
    }
    if (c->end == sizeof(c->buf))
        return WARD_E_LIMIT;
    ssize_t n = ward_http_conn_read(c->conn, c->buf + c->end, sizeof(c->buf) - c->end, c->deadline,
                                    c->timeout_ms, err);
    if (n > 0) {
        c->end += (size_t)n;
        c->received += (size_t)n;
    }
    return n;
}

/* Like fill(), but the end of the stream is an error: the response was cut short. */
static int fill_more(struct ward_http_client *c, const char *where, struct ward_buf *err)
{
    ssize_t n = fill(c, err);
    if (n > 0)
        return 0;
    if (n == 0)
        ward_buf_printf(err, "connection closed by the server in the %s", where);
    else if (n == WARD_E_LIMIT)
        ward_buf_printf(err, "%s line too long", where);
    return WARD_E_HTTP;
}

/* Takes one CRLF-terminated line out of the buffer, NUL-terminated in place. */
static int take_line(struct ward_http_client *c, size_t max, char **line, const char *where,
                     struct ward_buf *err)
{
    for (;;) {
        char *s = c->buf + c->start;
        char *nl = memchr(s, '\n', c->end - c->start);
        if (nl) {
            if (nl == s || nl[-1] != '\r' || (size_t)(nl - s) - 1 > max) {
                ward_buf_printf(err, "malformed %s", where);
                return WARD_E_HTTP;
            }
            nl[-1] = '\0';
            c->start += (size_t)(nl - s) + 1;
            *line = s;
            return 0;
        }
        if (c->end - c->start > max + 1) {
            ward_buf_printf(err, "%s line too long", where);
            return WARD_E_HTTP;
        }
        int r = fill_more(c, where, err);
        if (r < 0)
            return r;
    }
}

struct framing {
    int64_t length; /* -1: unknown */
    bool chunked;
    bool close; /* the server closes, or the connection cannot be reused */
};

/* Copies a header value into a fixed field, or leaves it empty when it does not fit. */
static void keep_value(char *field, size_t size, const char *value)
{
    size_t n = strlen(value);
    if (n < size)
        memcpy(field, value, n + 1);
}

/* True when the comma-separated list has token (case-insensitive). */
static bool has_token(const char *list, const char *token)
{
    size_t tlen = strlen(token);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if ((size_t)(t - p) == tlen && strncasecmp(p, token, tlen) == 0)
            return true;
        p = e;
    }
    return false;
}

static int parse_header(char *line, struct ward_http_response *resp, struct framing *f,
                        struct ward_buf *err)
{
    char *colon = strchr(line, ':');
    char *ws = strpbrk(line, " \t");
    if (!colon || colon == line || (ws && ws < colon)) {
        ward_buf_puts(err, "malformed header line");
        return WARD_E_HTTP;
    }
    *colon = '\0';
    char *v = colon + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t vlen = strlen(v);
    while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
        v[--vlen] = '\0';
    if (strcasecmp(line, "Content-Length") == 0) {
        int64_t n = 0;
        if (vlen == 0 || vlen > 18 || strspn(v, "0123456789") != vlen) {
            ward_buf_puts(err, "malformed Content-Length");
            return WARD_E_HTTP;
        }
        for (size_t i = 0; i < vlen; i++)
            n = n * 10 + (v[i] - '0');
        if (f->length >= 0 && f->length != n) {
            ward_buf_puts(err, "conflicting Content-Length headers");
            return WARD_E_HTTP;
        }
        f->length = n;
    } else if (strcasecmp(line, "Transfer-Encoding") == 0) {
        if (strcasecmp(v, "chunked") != 0) {
            ward_buf_printf(err, "unsupported Transfer-Encoding '%.40s'", v);
            return WARD_E_HTTP;
        }
        f->chunked = true;
    } else if (strcasecmp(line, "Connection") == 0) {
        if (has_token(v, "close"))
            f->close = true;
    } else if (strcasecmp(line, "Date") == 0) {
        keep_value(resp->date, sizeof(resp->date), v);
    } else if (strcasecmp(line, "Retry-After") == 0) {
        keep_value(resp->retry_after, sizeof(resp->retry_after), v);
    } else if (strcasecmp(line, "ETag") == 0) {
        keep_value(resp->etag, sizeof(resp->etag), v);
    } else if (strcasecmp(line, "WWW-Authenticate") == 0) {
        /* Only ward's own challenge: a proxy's Basic login says nothing of the agent's key. */
        resp->www_authenticate = strcasecmp(v, WARD_HTTP_WARD_CHALLENGE) == 0;
    }
    return 0;
}

/*
 * Reads a response head. Returns 0, STALE when the connection ended before
 * its first byte, or WARD_E_HTTP with a message.
 */
static int read_head(struct ward_http_client *c, struct ward_http_response *resp, struct framing *f,
                     struct ward_buf *err)
{
    for (;;) {
        if (memmem(c->buf + c->start, c->end - c->start, "\r\n\r\n", 4))
            break;
        ssize_t n = fill(c, err);
        if (n == 0 && c->received == 0)
            return STALE;
        if (n == 0)
            ward_buf_puts(err, "connection closed by the server in the response head");
        else if (n == WARD_E_LIMIT)
            ward_buf_printf(err, "response head larger than %d bytes", WARD_HTTP_HEAD_MAX);
        if (n <= 0)
            return WARD_E_HTTP;
    }
    char *line;
    int r = take_line(c, WARD_HTTP_HEAD_MAX, &line, "status line", err);
    if (r < 0)
        return r;
    /* "HTTP/1.x NNN reason" */
    if (strncmp(line, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)line[7]) || line[8] != ' ' ||
        !isdigit((unsigned char)line[9]) || !isdigit((unsigned char)line[10]) ||
        !isdigit((unsigned char)line[11]) || (line[12] != ' ' && line[12] != '\0') ||
        line[9] == '0') {
        ward_buf_puts(err, "malformed status line");
        return WARD_E_HTTP;
    }
    *resp = (struct ward_http_response){.status = (line[9] - '0') * 100 + (line[10] - '0') * 10 +
                                                  (line[11] - '0')};
    *f = (struct framing){.length = -1, .close = line[7] == '0'};
    for (int count = 0;; count++) {
        r = take_line(c, WARD_HTTP_HEAD_MAX, &line, "header", err);
        if (r < 0)
            return r;
        if (!*line)
            return 0;
        if (count == WARD_HTTP_HEADERS_MAX) {
            ward_buf_printf(err, "more than %d response headers", WARD_HTTP_HEADERS_MAX);
            return WARD_E_HTTP;
        }
        r = parse_header(line, resp, f, err);
        if (r < 0)
            return r;
    }
}

/* Where body bytes go: the first WARD_HTTP_BODY_KEEP to the caller, the rest nowhere. */
struct sink {
    struct ward_buf *body;
    size_t kept, total;
};

/*
 * Consumes up to want bytes of body from the connection. Returns the
 * number consumed (0 at the end of the stream), or a negative error.
 */
static ssize_t consume(struct ward_http_client *c, struct sink *s, uint64_t want,
                       struct ward_buf *err)
{
    if (c->start == c->end) {
        ssize_t n = fill(c, err);
        if (n <= 0)
            return n;
    }
    size_t n = c->end - c->start;
    if (n > want)
        n = (size_t)want;
    if (s->body && s->kept < WARD_HTTP_BODY_KEEP) {
        size_t k = n < WARD_HTTP_BODY_KEEP - s->kept ? n : WARD_HTTP_BODY_KEEP - s->kept;
        if (ward_buf_append(s->body, c->buf + c->start, k) < 0)
            return -ENOMEM;
        s->kept += k;
    }
    c->start += n;
    s->total += n;
    return (ssize_t)n;
}

/*
 * Reads length bytes of body (length < 0: until the end of the stream).
 * Sets *over when the body passed WARD_HTTP_BODY_MAX and was left unread.
 */
static int read_body(struct ward_http_client *c, struct sink *s, int64_t length, bool *over,
                     struct ward_buf *err)
{
    uint64_t left = length < 0 ? UINT64_MAX : (uint64_t)length;
    while (left > 0) {
        if (s->total >= WARD_HTTP_BODY_MAX) {
            *over = true;
            return 0;
        }
        ssize_t n = consume(c, s, left, err);
        if (n == 0 && length < 0)
            return 0;
        if (n == 0)
            ward_buf_puts(err, "connection closed by the server in the response body");
        if (n <= 0)
            return n == -ENOMEM ? -ENOMEM : WARD_E_HTTP;
        left -= (uint64_t)n;
    }
    return 0;
}

static int read_chunked(struct ward_http_client *c, struct sink *s, bool *over,
                        struct ward_buf *err)
{
    for (;;) {
        char *line;
        int r = take_line(c, CHUNK_LINE_MAX, &line, "chunk size", err);
        if (r < 0)
            return r;
        char *end;
        errno = 0;
        unsigned long long size = strtoull(line, &end, 16);
        if (end == line || errno || !isxdigit((unsigned char)*line) ||
            (*end && *end != ';' && *end != ' ' && *end != '\t') || size > INT64_MAX) {
            ward_buf_puts(err, "malformed chunk size");
            return WARD_E_HTTP;
        }
        if (size == 0)
            break;
        r = read_body(c, s, (int64_t)size, over, err);
        if (r < 0 || *over)
            return r;
        r = take_line(c, 0, &line, "chunk end", err);
        if (r < 0)
            return r;
    }
    /* Trailer fields, ignored, until the empty line. */
    for (int count = 0;; count++) {
        char *line;
        int r = take_line(c, CHUNK_LINE_MAX, &line, "trailer", err);
        if (r < 0)
            return r;
        if (!*line)
            return 0;
        if (count == WARD_HTTP_HEADERS_MAX) {
            ward_buf_puts(err, "too many trailer fields");
            return WARD_E_HTTP;
        }
    }
}

/*
 * Reads one complete response. Returns 0 (with *close set when the
 * connection cannot be reused), STALE, or a negative error with a message.
 */
static int read_response(struct ward_http_client *c, struct ward_http_response *resp,
                         struct ward_buf *body, bool *close, struct ward_buf *err)
{
    struct framing f;
    int r;
    for (int interim = 0;; interim++) {
        r = read_head(c, resp, &f, err);
        if (r != 0)
            return r;
        if (resp->status >= 200)
            break;
        if (interim == INTERIM_MAX || resp->status == 101) {
            ward_buf_printf(err, "unexpected interim response %ld", resp->status);
            return WARD_E_HTTP;
        }
    }
    struct sink s = {.body = body};
    bool over = false;
    if (resp->status == 204 || resp->status == 304)
        r = 0;
    else if (f.chunked)
        r = read_chunked(c, &s, &over, err);
    else if (f.length >= 0)
        r = read_body(c, &s, f.length, &over, err);
    else
        r = read_body(c, &s, -1, &over, err), f.close = true;
    if (r < 0)
        return r;
    /* Bytes past the response mean the server is out of step: do not reuse. */
    *close = f.close || over || c->start != c->end;
    return 0;
}

/*
 * One attempt on the current connection. Returns 0, STALE when a reused
 * connection turned out closed before any response byte, or an error.
 */
static int attempt(struct ward_http_client *c, const struct ward_buf *head, const void *data,
                   size_t len, bool reused, struct ward_http_response *resp, struct ward_buf *body,
                   bool *close, struct ward_buf *err)
{
    bool reset = false;
    int r = ward_http_conn_write(c->conn, head->data, head->len, c->deadline, c->timeout_ms, &reset,
                                 err);
    if (r == 0 && len)
        r = ward_http_conn_write(c->conn, data, len, c->deadline, c->timeout_ms, &reset, err);
    c->start = c->end = 0;
    c->received = 0;
    if (r < 0 && reset) {
        /*
         * The server may have answered early and closed without reading the
         * rest (ward-server's 413 for an oversized body does): read what it
         * said before concluding anything from the reset.
         */
        struct ward_buf why = WARD_BUF_INIT;
        int rr = read_response(c, resp, body, close, &why);
        ward_buf_done(&why);
        if (rr == 0) {
            *close = true;
            ward_buf_reset(err);
            return 0;
        }
        return reused && c->received == 0 ? STALE : r;
    }
    if (r < 0)
        return r;
    size_t body_len = body ? body->len : 0;
    r = read_response(c, resp, body, close, err);
    if (r != 0 && body)
        body->len = body_len; /* nothing of a failed attempt reaches the caller */
    if (r == STALE && !reused) {
        ward_buf_puts(err, "connection closed by the server before it answered");
        return WARD_E_HTTP;
    }
    return r;
}

int ward_http_client_request(struct ward_http_client *c, const char *method, const char *path,
                             const char *headers, const void *data, size_t len,
                             struct ward_http_response *resp, struct ward_buf *body,
                             struct ward_buf *err)
{
    struct ward_buf head = WARD_BUF_INIT;
    bool v6 = strchr(c->url.host, ':') != NULL;
    bool default_port = strcmp(c->url.port, c->url.tls ? "443" : "80") == 0;
    /* A GET has no body, and says nothing of one. */
    bool framed = strcmp(method, "GET") != 0 || len > 0;
    int r =
        ward_buf_printf(&head, "%s %s%s HTTP/1.1\r\nHost: %s%s%s%s%s\r\nUser-Agent: %s\r\n", method,
                        c->url.prefix, path, v6 ? "[" : "", c->url.host, v6 ? "]" : "",
                        default_port ? "" : ":", default_port ? "" : c->url.port, c->user_agent);
    if (r == 0 && framed)
        r = ward_buf_printf(&head, "Content-Length: %zu\r\n", len);
    if (r == 0)
        r = ward_buf_printf(&head, "Connection: keep-alive\r\n%s\r\n", headers ? headers : "");
    if (r < 0) {
        ward_buf_done(&head);
        return r;
    }
    ward_buf_reset(err);
    c->deadline = ward_mono_ms() + c->timeout_ms;
    struct ward_http_response got;
    bool close = false;
    r = STALE;
    for (int tries = 0; r == STALE && tries < 2; tries++) {
        bool reused = c->conn != NULL;
        if (reused && ward_http_conn_stale(c->conn)) {
            drop_conn(c);
            reused = false;
        }
        if (!c->conn) {
            r = ward_http_conn_open(c->url.host, c->url.port, c->tls, c->connect_timeout_ms,
                                    c->deadline, c->timeout_ms, &c->conn, err);
            if (r < 0)
                break;
            c->connections++;
        }
        ward_buf_reset(err);
        r = attempt(c, &head, data, len, reused, &got, body, &close, err);
        if (r != 0)
            drop_conn(c);
    }
    /* The head may carry a credential (X-Agent-API-Key, an enrollment token). */
    explicit_bzero(head.data, head.len);
    ward_buf_done(&head);
    if (r == STALE) {
        ward_buf_reset(err);
        ward_buf_puts(err, "connection closed by the server before it answered");
        r = WARD_E_HTTP;
    }
    if (r < 0)
        return r;
    if (close)
        drop_conn(c);
    *resp = got;
    return 0;
}

int ward_http_client_post(struct ward_http_client *c, const char *path, const char *headers,
                          const void *data, size_t len, struct ward_http_response *resp,
                          struct ward_buf *body, struct ward_buf *err)
{
    return ward_http_client_request(c, "POST", path, headers, data, len, resp, body, err);
}

bool ward_http_date_parse(const char *s, int64_t *ms)
{
    struct tm tm = {0};
    const char *end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end || *end)
        return false;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return false;
    *ms = (int64_t)t * 1000;
    return true;
}

int64_t ward_http_retry_after_ms(const struct ward_http_response *hr)
{
    const char *v = hr ? hr->retry_after : "";
    if (!*v)
        return 0;
    char *end;
    errno = 0;
    long long secs = strtoll(v, &end, 10);
    int64_t wait = 0;
    if (end != v && !*end && errno == 0 && secs > 0)
        wait = secs > RETRY_AFTER_MAX_MS / 1000 ? RETRY_AFTER_MAX_MS : secs * 1000;
    int64_t at;
    if (end == v && ward_http_date_parse(v, &at))
        wait = at - ward_now_ms();
    return wait < 0 ? 0 : wait > RETRY_AFTER_MAX_MS ? RETRY_AFTER_MAX_MS : wait;
}
