/*
 * Running probes: name resolution and the poll loop that drives them.
 *
 * ward_probe_run_many() starts every probe at once and then serves them
 * all from one ppoll() loop: each probe kind (probe-icmp.c, probe-tcp.c,
 * probe-http.c) is a small state machine over one non-blocking socket that
 * says which events it waits for and, for ICMP's spaced echoes, when its
 * timer is due. The loop ends a probe when its own deadline passes, so a
 * round lasts as long as its slowest timeout however many probes it holds,
 * and one thread does it all: the agent's collectors run on one thread,
 * and nothing here may hold them up longer than that.
 *
 * Names. Addresses are tried as numbers first (getaddrinfo() with
 * AI_NUMERICHOST never blocks). A host name goes to getaddrinfo_a(), which
 * resolves on glibc's own threads; it offers no descriptor to poll, so
 * while a name resolves the loop wakes every LOOKUP_TICK_NS to look. A
 * lookup still running at its probe's deadline is cancelled; one that
 * cannot be cancelled (a stuck DNS server) must keep its request memory
 * until it ends, so it is parked in a list that later rounds reap. At most
 * LOOKUPS_MAX lookups live at once, parked ones included; past that a
 * probe fails with -EBUSY rather than pile up more threads.
 */
#include "agent/probe-internal.h"

#include "common/time-util.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* How often the loop looks at a name being resolved. */
#define LOOKUP_TICK_NS INT64_C(5000000)
/* Lookups in flight or parked at once, over all rounds and threads. */
#define LOOKUPS_MAX 128

struct ward_probe_lookup {
    struct gaicb cb;
    struct addrinfo hints;
    char host[WARD_PROBE_TARGET_MAX + 1];
    char port[6];
};

static pthread_mutex_t lookups_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ward_probe_lookup *parked[LOOKUPS_MAX];
static size_t n_parked, n_live;

static const struct ward_probe_kind *const kinds[] = {
    [WARD_PROBE_ICMP] = &ward_probe_kind_icmp,
    [WARD_PROBE_TCP] = &ward_probe_kind_tcp,
    [WARD_PROBE_HTTP] = &ward_probe_kind_http,
};

void ward_probe_finish(struct ward_probe_op *op, bool up, int error)
{
    op->res.up = up;
    op->res.error = up ? 0 : error;
    if (op->fd >= 0)
        close(op->fd);
    op->fd = -1;
    op->events = 0;
    op->done = true;
}

/* Turns a getaddrinfo() error into a negative errno. */
static int gai_errno(int e)
{
    switch (e) {
    case EAI_NONAME:
    case EAI_NODATA:
    case EAI_ADDRFAMILY:
        return -ENXIO;
    case EAI_AGAIN:
        return -EAGAIN;
    case EAI_MEMORY:
        return -ENOMEM;
    default:
        return -EIO;
    }
}

static void lookup_free(struct ward_probe_lookup *l)
{
    if (l->cb.ar_result)
        freeaddrinfo(l->cb.ar_result);
    free(l);
}

/* Frees the parked lookups that have ended. Called with lookups_lock held. */
static void reap_parked(void)
{
    size_t kept = 0;
    for (size_t i = 0; i < n_parked; i++) {
        if (gai_error(&parked[i]->cb) == EAI_INPROGRESS) {
            parked[kept++] = parked[i];
        } else {
            lookup_free(parked[i]);
            n_live--;
        }
    }
    n_parked = kept;
}

/* Starts resolving host (and port, "" for none) in the background. */
static int lookup_new(const char *host, const char *port, const struct addrinfo *hints,
                      struct ward_probe_lookup **out)
{
    if (strlen(host) > WARD_PROBE_TARGET_MAX || strlen(port) >= sizeof((*out)->port))
        return -EINVAL;
    pthread_mutex_lock(&lookups_lock);
    reap_parked();
    if (n_live == LOOKUPS_MAX) {
        pthread_mutex_unlock(&lookups_lock);
        return -EBUSY;
    }
    struct ward_probe_lookup *l = calloc(1, sizeof(*l));
    if (!l) {
        pthread_mutex_unlock(&lookups_lock);
        return -ENOMEM;
    }
    memcpy(l->host, host, strlen(host) + 1);
    memcpy(l->port, port, strlen(port) + 1);
    l->hints = *hints;
    l->cb.ar_name = l->host;
    l->cb.ar_service = l->port[0] ? l->port : NULL;
    l->cb.ar_request = &l->hints;
    struct gaicb *list[1] = {&l->cb};
    int e = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL);
    if (e != 0) {
        free(l);
        pthread_mutex_unlock(&lookups_lock);
        return gai_errno(e);
    }
    n_live++;
    pthread_mutex_unlock(&lookups_lock);
    *out = l;
    return 0;
}

/* Ends a lookup: frees it, or parks it while glibc still uses it. */
static void lookup_end(struct ward_probe_lookup *l)
{
    pthread_mutex_lock(&lookups_lock);
    if (gai_error(&l->cb) == EAI_INPROGRESS && gai_cancel(&l->cb) == EAI_NOTCANCELED) {
        parked[n_parked++] = l; /* n_parked < n_live <= LOOKUPS_MAX */
    } else {
        lookup_free(l);
        n_live--;
    }
    pthread_mutex_unlock(&lookups_lock);
}

/* Copies the first IPv4 and IPv6 addresses of ai into op. */
static int take_addresses(struct ward_probe_op *op, const struct addrinfo *ai)
{
    for (; ai && op->n_addrs < WARD_PROBE_MAX_ADDRS; ai = ai->ai_next) {
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
            ai->ai_addrlen > sizeof(struct sockaddr_storage))
            continue;
        struct ward_probe_addr *a = &op->addrs[op->n_addrs++];
        memcpy(&a->sa, ai->ai_addr, ai->ai_addrlen);
        a->len = ai->ai_addrlen;
    }
    return op->n_addrs ? 0 : -ENXIO;
}

/* Resolves op's host: at once for an address, else by starting a lookup. */
static void resolve(struct ward_probe_op *op, int64_t now)
{
    const struct ward_probe_kind *k = kinds[op->spec->type];
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC,
        .ai_socktype = k->socktype,
        .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
    };
    struct addrinfo *ai;
    int e = getaddrinfo(op->target.host, op->target.port[0] ? op->target.port : NULL, &hints, &ai);
    if (e == 0) {
        int r = take_addresses(op, ai);
        freeaddrinfo(ai);
        if (r < 0)
            ward_probe_finish(op, false, r);
        else
            k->start(op, now);
        return;
    }
    if (e != EAI_NONAME) {
        ward_probe_finish(op, false, gai_errno(e));
        return;
    }
    hints.ai_flags = AI_NUMERICSERV;
    int r = lookup_new(op->target.host, op->target.port, &hints, &op->lookup);
    if (r < 0)
        ward_probe_finish(op, false, r);
}

int ward_probe_resolve(const char *host, int socktype, int64_t deadline_ms,
                       struct sockaddr_storage *addr)
{
    struct addrinfo hints = {.ai_socktype = socktype, .ai_flags = AI_NUMERICHOST};
    struct addrinfo *ai = NULL;
    const struct addrinfo *found = NULL;
    struct ward_probe_lookup *l = NULL;
    int e = getaddrinfo(host, NULL, &hints, &ai), r = 0;
    if (e == 0) {
        found = ai;
    } else if (e != EAI_NONAME) {
        r = gai_errno(e);
    } else {
        hints.ai_flags = AI_ADDRCONFIG;
        r = lookup_new(host, "", &hints, &l);
        int64_t left;
        while (r == 0 && (e = gai_error(&l->cb)) == EAI_INPROGRESS &&
               (left = deadline_ms - ward_mono_ms()) > 0) {
            struct timespec ts = {.tv_sec = left / 1000, .tv_nsec = (left % 1000) * 1000000};
            const struct gaicb *wait[1] = {&l->cb};
            gai_suspend(wait, 1, &ts);
        }
        if (r == 0)
            r = e == EAI_INPROGRESS ? -ETIMEDOUT : e ? gai_errno(e) : 0;
        if (r == 0)
            found = l->cb.ar_result;
    }
    if (r == 0) {
        r = -ENXIO;
        for (; found; found = found->ai_next)
            if ((found->ai_family == AF_INET || found->ai_family == AF_INET6) &&
                found->ai_addrlen <= sizeof(*addr)) {
                memset(addr, 0, sizeof(*addr));
                memcpy(addr, found->ai_addr, found->ai_addrlen);
                r = 0;
                break;
            }
    }
    if (ai)
        freeaddrinfo(ai);
    if (l)
        lookup_end(l);
    return r;
}

/* Starts op once its lookup has ended. */
static void check_lookup(struct ward_probe_op *op, int64_t now)
{
    int e = gai_error(&op->lookup->cb);
    if (e == EAI_INPROGRESS)
        return;
    int r = e ? gai_errno(e) : take_addresses(op, op->lookup->cb.ar_result);
    lookup_end(op->lookup);
    op->lookup = NULL;
    if (r < 0)
        ward_probe_finish(op, false, r);
    else
        kinds[op->spec->type]->start(op, now);
}

static void op_start(struct ward_probe_op *op, const struct ward_probe_spec *spec, int64_t now)
{
    const char *why;
    *op = (struct ward_probe_op){.spec = spec, .wake_ns = INT64_MAX, .fd = -1};
    if (ward_probe_spec_check(spec, NULL) < 0 ||
        ward_probe_target_parse(spec->type, spec->target, &op->target, &why) < 0) {
        ward_probe_finish(op, false, -EINVAL);
        return;
    }
    op->deadline_ns = now + spec->timeout_ms * 1000000;
    resolve(op, now);
}

static void op_expire(struct ward_probe_op *op)
{
    if (op->lookup) {
        lookup_end(op->lookup);
        op->lookup = NULL;
        ward_probe_finish(op, false, -ETIMEDOUT);
        return;
    }
    kinds[op->spec->type]->expire(op);
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/*
 * Moves every unfinished probe on to now: deadlines, lookups and timers.
 * Returns when the loop must look again (INT64_MAX: every probe is done).
 */
static int64_t advance(struct ward_probe_op *ops, size_t n, int64_t now)
{
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < n; i++) {
        struct ward_probe_op *op = &ops[i];
        if (op->done)
            continue;
        const struct ward_probe_kind *k = kinds[op->spec->type];
        if (now >= op->deadline_ns)
            op_expire(op);
        if (!op->done && op->lookup)
            check_lookup(op, now);
        if (!op->done && !op->lookup && k->wake && now >= op->wake_ns)
            k->wake(op, now);
        if (op->done)
            continue;
        next = min64(next, min64(op->deadline_ns, op->wake_ns));
        if (op->lookup)
            next = min64(next, now + LOOKUP_TICK_NS);
    }
    return next;
}

/* Waits until next (monotonic ns) for socket events and hands them out. */
static int wait_events(struct ward_probe_op *ops, size_t n, int64_t next)
{
    struct pollfd pfds[WARD_PROBE_MAX];
    size_t which[WARD_PROBE_MAX], k = 0;
    for (size_t i = 0; i < n; i++) {
        if (ops[i].done || ops[i].fd < 0 || !ops[i].events)
            continue;
        pfds[k] = (struct pollfd){.fd = ops[i].fd, .events = ops[i].events};
        which[k++] = i;
    }
    int64_t wait = next - ward_mono_ns();
    if (wait < 0)
        wait = 0;
    struct timespec ts = {.tv_sec = wait / 1000000000, .tv_nsec = wait % 1000000000};
    if (ppoll(pfds, k, &ts, NULL) < 0)
        return errno == EINTR ? 0 : -errno;
    int64_t now = ward_mono_ns();
    for (size_t j = 0; j < k; j++) {
        struct ward_probe_op *op = &ops[which[j]];
        if (pfds[j].revents && !op->done)
            kinds[op->spec->type]->ready(op, pfds[j].revents, now);
    }
    return 0;
}

/* Releases what unfinished probes still hold, after a failure of the loop. */
static void release(struct ward_probe_op *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (ops[i].lookup)
            lookup_end(ops[i].lookup);
        ops[i].lookup = NULL;
        if (!ops[i].done)
            ward_probe_finish(&ops[i], false, -ECANCELED);
    }
}

int ward_probe_run_many(const struct ward_probe_spec *const *specs, size_t n,
                        struct ward_probe_result *out)
{
    if (n > WARD_PROBE_MAX)
        return -EINVAL;
    if (n == 0)
        return 0;
    struct ward_probe_op *ops = calloc(n, sizeof(*ops));
    if (!ops)
        return -ENOMEM;
    int64_t now = ward_mono_ns();
    for (size_t i = 0; i < n; i++)
        op_start(&ops[i], specs[i], now);
    int r = 0;
    int64_t next;
    while (r == 0 && (next = advance(ops, n, ward_mono_ns())) != INT64_MAX)
        r = wait_events(ops, n, next);
    release(ops, n);
    if (r == 0)
        for (size_t i = 0; i < n; i++)
            out[i] = ops[i].res;
    free(ops);
    return r;
}

int ward_probe_run(const struct ward_probe_spec *spec, struct ward_probe_result *out)
{
    if (ward_probe_spec_check(spec, NULL) < 0)
        return -EINVAL;
    return ward_probe_run_many(&spec, 1, out);
}
