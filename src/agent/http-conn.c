/*
 * TCP and TLS connections with deadlines, for the agent's HTTP client.
 *
 * Every socket is non-blocking and every wait is a poll() bounded by the
 * caller's deadline, so neither a black-holed address nor a server that
 * stops talking can hold the agent. TLS is OpenSSL's libssl driven over the
 * same non-blocking socket: SSL_connect, SSL_read and SSL_write say which
 * direction they wait for, and poll() waits for it. Peers are verified
 * (chain and host name, with SNI) against the system CA store or one CA
 * file. libssl is used instead of a full HTTP library because it is the
 * only part of one the agent needs, and the smallest in resident memory.
 */
#include "agent/http-conn.h"

#include "common/cleanup.h"
#include "common/error.h"
#include "common/time-util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct ward_tls {
    SSL_CTX *ctx;
};

struct ward_http_conn {
    int fd;
    SSL *ssl;
};

/* Appends OpenSSL's first queued error, or what, and clears the queue. */
static void tls_error(struct ward_buf *err, const char *what)
{
    unsigned long e = ERR_get_error();
    char text[256];
    if (e)
        ERR_error_string_n(e, text, sizeof(text));
    ward_buf_printf(err, "TLS: %s%s%s", what, e ? ": " : "", e ? text : "");
    ERR_clear_error();
}

int ward_tls_new(const char *ca_file, struct ward_tls **out, struct ward_buf *err)
{
    struct ward_tls *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    ward_buf_reset(err);
    t->ctx = SSL_CTX_new(TLS_client_method());
    if (!t->ctx) {
        tls_error(err, "cannot create a context");
        free(t);
        return WARD_E_HTTP;
    }
    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_mode(t->ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* Responses are framed by HTTP; a missing close_notify is an ordinary end of stream. */
    SSL_CTX_set_options(t->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    /*
     * The system store is used as a hashed directory, which loads only the
     * CA a server's chain needs, instead of parsing the whole bundle file
     * into memory as SSL_CTX_set_default_verify_paths() would (about 1 MB).
     */
    int ok = ca_file && *ca_file ? SSL_CTX_load_verify_locations(t->ctx, ca_file, NULL)
                                 : SSL_CTX_set_default_verify_dir(t->ctx);
    if (ok != 1) {
        if (ca_file && *ca_file)
            ward_buf_printf(err, "TLS: cannot load CA file %s", ca_file);
        else
            tls_error(err, "cannot load the system CA store");
        ERR_clear_error();
        ward_tls_free(t);
        return WARD_E_HTTP;
    }
    *out = t;
    return 0;
}

void ward_tls_free(struct ward_tls *tls)
{
    if (!tls)
        return;
    SSL_CTX_free(tls->ctx);
    free(tls);
}

/* Milliseconds left until deadline, for poll(); 0 when past. */
static int left_ms(int64_t deadline)
{
    int64_t left = deadline - ward_mono_ms();
    if (left <= 0)
        return 0;
    return left > 60000 ? 60000 : (int)left;
}

/* The calling thread's interrupt (ward_http_conn_set_interrupt()); -1 for none. */
static __thread int interrupt_fd = -1;

void ward_http_conn_set_interrupt(int fd)
{
    interrupt_fd = fd;
}

/*
 * Waits until fd is ready for events or deadline passes. Returns 0, or
 * WARD_E_HTTP with "timeout after N ms" (or "interrupted") in err.
 */
static int wait_fd(int fd, short events, int64_t deadline, int64_t timeout_ms, struct ward_buf *err)
{
    for (;;) {
        int ms = left_ms(deadline);
        if (ms == 0)
            break;
        struct pollfd p[2] = {{.fd = fd, .events = events}, {.fd = interrupt_fd, .events = POLLIN}};
        int n = poll(p, interrupt_fd >= 0 ? 2 : 1, ms);
        if (n > 0 && p[1].revents) {
            ward_buf_puts(err, "interrupted");
            return WARD_E_HTTP;
        }
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR) {
            ward_buf_printf(err, "poll: %s", strerror(errno));
            return WARD_E_HTTP;
        }
    }
    ward_buf_printf(err, "timeout after %lld ms", (long long)timeout_ms);
    return WARD_E_HTTP;
}

/* "127.0.0.1:80" or "[::1]:80" for messages. */
static void format_addr(const struct sockaddr *sa, socklen_t len, char *out, size_t size)
{
    char host[NI_MAXHOST], serv[NI_MAXSERV];
    if (getnameinfo(sa, len, host, sizeof(host), serv, sizeof(serv),
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        snprintf(out, size, "?");
        return;
    }
    snprintf(out, size, sa->sa_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, serv);
}

/* One connect attempt. Returns the socket, or WARD_E_HTTP with a message in err. */
static int connect_one(const struct addrinfo *ai, int64_t deadline, int64_t timeout_ms,
                       struct ward_buf *err)
{
    char where[NI_MAXHOST + NI_MAXSERV + 4];
    format_addr(ai->ai_addr, ai->ai_addrlen, where, sizeof(where));
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        ward_buf_printf(err, "connect to %s: %s", where, strerror(errno));
        return WARD_E_HTTP;
    }
    int e = 0;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        e = errno;
        if (e == EINPROGRESS) {
            ward_buf_printf(err, "connect to %s: ", where);
            if (wait_fd(fd, POLLOUT, deadline, timeout_ms, err) < 0) {
                close(fd);
                return WARD_E_HTTP;
            }
            ward_buf_reset(err);
            socklen_t len = sizeof(e);
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
                e = errno;
        }
    }
    if (e) {
        ward_buf_printf(err, "connect to %s: %s", where, strerror(e));
        close(fd);
        return WARD_E_HTTP;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/*
 * Runs one SSL operation to completion: while it wants to read or write,
 * waits for that. Returns the operation's positive result, 0 for a clean
 * end of stream, or a negative error with a message in err.
 */
static int tls_io(struct ward_http_conn *c, int (*op)(SSL *, void *, int), void *p, int n,
                  int64_t deadline, int64_t timeout_ms, struct ward_buf *err)
{
    for (;;) {
        ERR_clear_error();
        errno = 0;
        int r = op(c->ssl, p, n);
        if (r > 0)
            return r;
        int e = SSL_get_error(c->ssl, r);
        short events;
        if (e == SSL_ERROR_WANT_READ)
            events = POLLIN;
        else if (e == SSL_ERROR_WANT_WRITE)
            events = POLLOUT;
        else if (e == SSL_ERROR_ZERO_RETURN)
            return 0;
        else if (e == SSL_ERROR_SYSCALL && (ERR_peek_error() == 0)) {
            if (errno == 0 || errno == ECONNRESET || errno == EPIPE)
                return errno == EPIPE ? -EPIPE : 0; /* the peer went away */
            ward_buf_printf(err, "TLS: %s", strerror(errno));
            return WARD_E_HTTP;
        } else {
            long v = SSL_get_verify_result(c->ssl);
            if (v != X509_V_OK) {
                ward_buf_printf(err, "TLS: certificate verify failed: %s",
                                X509_verify_cert_error_string(v));
                ERR_clear_error();
            } else {
                tls_error(err, "protocol error");
            }
            return WARD_E_HTTP;
        }
        if (wait_fd(c->fd, events, deadline, timeout_ms, err) < 0)
            return WARD_E_HTTP;
    }
}

static int op_connect(SSL *ssl, void *p, int n)
{
    (void)p;
    (void)n;
    return SSL_connect(ssl);
}

static int op_read(SSL *ssl, void *p, int n)
{
    return SSL_read(ssl, p, n);
}

static int op_write(SSL *ssl, void *p, int n)
{
    return SSL_write(ssl, p, n);
}

static int tls_start(struct ward_http_conn *c, struct ward_tls *tls, const char *host,
                     int64_t deadline, int64_t timeout_ms, struct ward_buf *err)
{
    c->ssl = SSL_new(tls->ctx);
    if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
        tls_error(err, "cannot create a session");
        return WARD_E_HTTP;
    }
    /* An address literal is checked against the certificate's IP SANs, a name against DNS ones. */
    struct in6_addr a6;
    bool literal = inet_pton(AF_INET, host, &a6) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
    int ok;
    if (literal) {
        ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), host);
    } else {
        ok = SSL_set_tlsext_host_name(c->ssl, host) == 1 && SSL_set1_host(c->ssl, host) == 1;
    }
    if (!ok) {
        tls_error(err, "cannot set the server name");
        return WARD_E_HTTP;
    }
    int r = tls_io(c, op_connect, NULL, 0, deadline, timeout_ms, err);
    if (r > 0)
        return 0;
    if (r == 0 || r == -EPIPE)
        ward_buf_puts(err, "TLS: connection closed during the handshake");
    return WARD_E_HTTP;
}

/*
 * A name lookup in flight. getaddrinfo() cannot be given a deadline, so the
 * lookup runs through getaddrinfo_a(), which works on a glibc helper thread,
 * and the caller waits for it with gai_suspend() until its deadline. A
 * lookup still running then is cancelled, or, if it cannot be, abandoned:
 * it is kept on a short list and freed once it has finished. While that list
 * is full no new lookup starts, so a dead resolver costs a bounded amount.
 * Several threads resolve names (delivery's, its wave threads, the command
 * runner's), so the list is under a lock, and a lookup reserves its slot
 * before it starts: one that must be parked always finds one.
 */
struct lookup {
    struct gaicb cb;
    struct addrinfo hints;
    char host[256];
    char port[16];
};

#define MAX_ABANDONED 8

static pthread_mutex_t lookups_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lookup *abandoned[MAX_ABANDONED]; /* under lookups_lock */
static size_t reserved;                         /* lookups in flight, under lookups_lock */

/* Frees the abandoned lookups that have finished. Returns how many are still running. Locked. */
static size_t reap_lookups(void)
{
    size_t running = 0;
    for (size_t i = 0; i < MAX_ABANDONED; i++) {
        struct lookup *l = abandoned[i];
        if (!l)
            continue;
        if (gai_error(&l->cb) == EAI_INPROGRESS) {
            running++;
            continue;
        }
        if (l->cb.ar_result)
            freeaddrinfo(l->cb.ar_result);
        free(l);
        abandoned[i] = NULL;
    }
    return running;
}

/* True once the calling thread's interrupt fd is readable. */
static bool interrupted(void)
{
    struct pollfd p = {.fd = interrupt_fd, .events = POLLIN};
    return interrupt_fd >= 0 && poll(&p, 1, 0) > 0;
}

/* Ends a lookup: frees it, or parks it in the slot it reserved when it is still running. */
static void end_lookup(struct lookup *l, bool running)
{
    pthread_mutex_lock(&lookups_lock);
    reserved--;
    for (size_t i = 0; running && i < MAX_ABANDONED && l; i++)
        if (!abandoned[i])
            abandoned[i] = WARD_TAKE_PTR(l);
    pthread_mutex_unlock(&lookups_lock);
    free(l);
}

static int resolve(const char *host, const char *port, int64_t deadline, struct addrinfo **res,
                   struct ward_buf *err)
{
    pthread_mutex_lock(&lookups_lock);
    bool full = reap_lookups() + reserved >= MAX_ABANDONED;
    if (!full)
        reserved++;
    pthread_mutex_unlock(&lookups_lock);
    if (full) {
        ward_buf_printf(err, "resolve %s: earlier lookups are still hanging", host);
        return WARD_E_HTTP;
    }
    struct lookup *l = calloc(1, sizeof(*l));
    if (!l) {
        end_lookup(NULL, false);
        return -ENOMEM;
    }
    if (snprintf(l->host, sizeof(l->host), "%s", host) >= (int)sizeof(l->host) ||
        snprintf(l->port, sizeof(l->port), "%s", port) >= (int)sizeof(l->port)) {
        end_lookup(l, false);
        ward_buf_printf(err, "resolve %s: name too long", host);
        return WARD_E_HTTP;
    }
    l->hints = (struct addrinfo){.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG};
    l->cb = (struct gaicb){.ar_name = l->host, .ar_service = l->port, .ar_request = &l->hints};
    struct gaicb *list[1] = {&l->cb};
    struct sigevent none = {.sigev_notify = SIGEV_NONE};
    int g = getaddrinfo_a(GAI_NOWAIT, list, 1, &none);
    /* Short slices, so that an interrupt (a stop) is noticed while the resolver hangs. */
    bool stop = false;
    while (g == 0 && gai_error(&l->cb) == EAI_INPROGRESS && !(stop = interrupted())) {
        int left = left_ms(deadline);
        if (left <= 0)
            break;
        if (left > 100)
            left = 100;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)left * 1000000};
        const struct gaicb *wait[1] = {&l->cb};
        gai_suspend(wait, 1, &ts);
    }
    if (g == 0)
        g = gai_error(&l->cb);
    if (g == EAI_INPROGRESS) {
        /* Still running on glibc's thread unless cancelled: then it is parked. */
        end_lookup(l, gai_cancel(&l->cb) != EAI_CANCELED);
        ward_buf_printf(err, "resolve %s: %s", host, stop ? "interrupted" : "timeout");
        return WARD_E_HTTP;
    }
    if (g != 0) {
        ward_buf_printf(err, "resolve %s: %s", host,
                        g == EAI_SYSTEM ? strerror(errno) : gai_strerror(g));
        if (l->cb.ar_result)
            freeaddrinfo(l->cb.ar_result);
        end_lookup(l, false);
        return WARD_E_HTTP;
    }
    *res = l->cb.ar_result;
    end_lookup(l, false);
    return 0;
}

int ward_http_conn_open(const char *host, const char *port, struct ward_tls *tls,
                        int64_t connect_timeout_ms, int64_t deadline, int64_t timeout_ms,
                        struct ward_http_conn **out, struct ward_buf *err)
{
    ward_buf_reset(err);
    struct addrinfo *res;
    int g = resolve(host, port, deadline, &res, err);
    if (g < 0)
        return g;
    int64_t connect_deadline = ward_mono_ms() + connect_timeout_ms;
    if (connect_deadline > deadline)
        connect_deadline = deadline;
    int fd = WARD_E_HTTP;
    for (const struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        ward_buf_reset(err);
        fd = connect_one(ai, connect_deadline, connect_timeout_ms, err);
        if (ward_mono_ms() >= connect_deadline)
            break;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return WARD_E_HTTP;
    struct ward_http_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return -ENOMEM;
    }
    c->fd = fd;
    if (tls) {
        int r = tls_start(c, tls, host, deadline, timeout_ms, err);
        if (r < 0) {
            ward_http_conn_free(c);
            return r;
        }
    }
    *out = c;
    return 0;
}

void ward_http_conn_free(struct ward_http_conn *c)
{
    if (!c)
        return;
    if (c->ssl) {
        /* A close_notify, best effort: the socket is non-blocking. */
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
        ERR_clear_error();
    }
    close(c->fd);
    free(c);
}

int ward_http_conn_write(struct ward_http_conn *c, const void *p, size_t n, int64_t deadline,
                         int64_t timeout_ms, bool *reset, struct ward_buf *err)
{
    const char *s = p;
    while (n > 0) {
        size_t chunk = n < (1u << 30) ? n : (1u << 30);
        ssize_t w;
        if (c->ssl) {
            int r = tls_io(c, op_write, (void *)s, (int)chunk, deadline, timeout_ms, err);
            if (r <= 0) {
                if (r == 0 || r == -EPIPE) {
                    if (reset)
                        *reset = true;
                    ward_buf_puts(err, "connection closed by the server");
                }
                return WARD_E_HTTP;
            }
            w = r;
        } else {
            w = send(c->fd, s, chunk, MSG_NOSIGNAL);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    if (wait_fd(c->fd, POLLOUT, deadline, timeout_ms, err) < 0)
                        return WARD_E_HTTP;
                    continue;
                }
                if (reset && (errno == EPIPE || errno == ECONNRESET))
                    *reset = true;
                ward_buf_printf(err, "send: %s", strerror(errno));
                return WARD_E_HTTP;
            }
        }
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

ssize_t ward_http_conn_read(struct ward_http_conn *c, void *p, size_t n, int64_t deadline,
                            int64_t timeout_ms, struct ward_buf *err)
{
    if (n > (1u << 30))
        n = 1u << 30;
    if (c->ssl) {
        int r = tls_io(c, op_read, p, (int)n, deadline, timeout_ms, err);
        return r == -EPIPE ? 0 : r;
    }
    for (;;) {
        ssize_t r = recv(c->fd, p, n, 0);
        if (r >= 0)
            return r;
        if (errno == EINTR)
            continue;
        if (errno == ECONNRESET)
            return 0;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            ward_buf_printf(err, "recv: %s", strerror(errno));
            return WARD_E_HTTP;
        }
        if (wait_fd(c->fd, POLLIN, deadline, timeout_ms, err) < 0)
            return WARD_E_HTTP;
    }
}

bool ward_http_conn_stale(struct ward_http_conn *c)
{
    if (c->ssl && SSL_pending(c->ssl) > 0)
        return true;
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    /* An idle connection has nothing to read: readable means closed or out of step. */
    return poll(&p, 1, 0) != 0;
}
