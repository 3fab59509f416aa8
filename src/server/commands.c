/*
 * Waiting requests of the command queue, and its timer (commands.h).
 *
 * Every waiter is in the chain of its key's bucket, so a wake finds the
 * waiters of a key without looking at the others, and in a binary
 * min-heap by deadline, so the timer finds the waits that are over by
 * looking only at the top, and a wait of any length goes in or out in
 * O(log n). Buckets also carry the sequence numbers that make a wake
 * between a look at the store and a wait impossible to lose; two keys in
 * one bucket share a number, which costs at most a spurious early end.
 *
 * libmicrohttpd does not watch a suspended connection, so a client that
 * hangs up would keep its slot and its descriptor until its deadline. The
 * timer thread therefore sleeps in epoll on every waiter's socket (for a
 * hang-up only) and on an eventfd that says the earliest deadline moved
 * or the thread must stop, and ends a wait whose client left at once. A
 * watched waiter is also in the chain of its descriptor's slot, which
 * finds the waiter of a socket epoll reports. A descriptor stays open
 * while its waiter is linked (libmicrohttpd never closes a suspended
 * connection), so one descriptor is never two watched waiters' at once.
 *
 * Requests are resumed only after the lock is dropped: a resume can run
 * its callback on the calling thread (when the client is gone), and that
 * callback comes back here.
 */
#include "server/commands.h"

#include "common/error.h"
#include "common/log.h"
#include "common/time-util.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define N_BUCKETS       4096
#define SWEEP_MS        1000
#define PRUNE_EVERY_MS  (3600 * 1000)
#define AUDIT_RETENTION 10 /* the audit log is kept this many times the commands' retention */
#define MAX_EVENTS      64
#define FD_SLOTS        1024 /* the watched waiters are filed by fd % FD_SLOTS */

struct waiter {
    struct ward_http_request *req;
    char key[WARD_STORE_ID_LEN];
    uint32_t bucket;
    int64_t deadline_ms;
    enum ward_wait_end end;
    int fd;                         /* its connection, watched for a hang-up; -1 for none */
    size_t at;                      /* its index in the deadline heap */
    struct waiter *b_prev, *b_next; /* the bucket's chain; b_next also links a batch to resume */
    struct waiter *f_prev, *f_next; /* the chain of its fd's slot in by_fd, while fd >= 0 */
};

struct bucket {
    uint64_t seq;
    struct waiter *head;
};

struct ward_commands {
    struct ward_commands_config cfg;
    struct ward_store *store;
    pthread_mutex_t lock;
    int epoll_fd;
    int wake_fd; /* eventfd: the earliest deadline moved, or stop */
    pthread_t thread;
    bool closing;         /* no new waits */
    bool stop;            /* the timer thread ends */
    struct waiter **heap; /* by deadline, earliest at [0]; room for cfg.max_waiters */
    struct ward_commands_stats stats;
    struct bucket buckets[N_BUCKETS];
    struct waiter *by_fd[FD_SLOTS];
};

static uint32_t bucket_of(const char *key)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % N_BUCKETS;
}

static void heap_set(struct ward_commands *c, size_t i, struct waiter *w)
{
    c->heap[i] = w;
    w->at = i;
}

/* Moves the waiter at i up or down until the heap is in order again. */
static void heap_fix(struct ward_commands *c, size_t i)
{
    struct waiter *w = c->heap[i];
    while (i > 0 && c->heap[(i - 1) / 2]->deadline_ms > w->deadline_ms) {
        heap_set(c, i, c->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= c->stats.waiting)
            break;
        if (child + 1 < c->stats.waiting &&
            c->heap[child + 1]->deadline_ms < c->heap[child]->deadline_ms)
            child++;
        if (c->heap[child]->deadline_ms >= w->deadline_ms)
            break;
        heap_set(c, i, c->heap[child]);
        i = child;
    }
    heap_set(c, i, w);
}

/* Takes w off its chains, out of the heap and out of the epoll set. Call with the lock held. */
static void unlink_waiter(struct ward_commands *c, struct waiter *w)
{
    if (w->fd >= 0) {
        epoll_ctl(c->epoll_fd, EPOLL_CTL_DEL, w->fd, NULL);
        if (w->f_prev)
            w->f_prev->f_next = w->f_next;
        else
            c->by_fd[w->fd % FD_SLOTS] = w->f_next;
        if (w->f_next)
            w->f_next->f_prev = w->f_prev;
        w->f_prev = w->f_next = NULL;
        w->fd = -1;
    }
    struct waiter *last = c->heap[--c->stats.waiting];
    if (last != w) {
        heap_set(c, w->at, last);
        heap_fix(c, last->at);
    }
    if (w->b_prev)
        w->b_prev->b_next = w->b_next;
    else
        c->buckets[w->bucket].head = w->b_next;
    if (w->b_next)
        w->b_next->b_prev = w->b_prev;
    w->b_prev = w->b_next = NULL;
}

/* Unlinks w, records why its wait ends, and puts it on the batch to resume. */
static void end_wait(struct ward_commands *c, struct waiter *w, enum ward_wait_end end,
                     struct waiter **batch)
{
    unlink_waiter(c, w);
    w->end = end;
    w->b_next = *batch;
    *batch = w;
}

/* Resumes a batch made by end_wait(). Call without the lock: w may be freed by the resume. */
static void resume_batch(struct waiter *batch)
{
    while (batch) {
        struct waiter *next = batch->b_next;
        ward_http_resume(batch->req);
        batch = next;
    }
}

/* An expired command is finished: whoever waits for its result is told. */
static int on_expired(const struct ward_command *cmd, void *userdata)
{
    ward_commands_wake(userdata, cmd->id);
    return 0;
}

/* Expires commands, and now and then prunes old ones. Runs without the lock. */
static void sweep(struct ward_commands *c, int64_t *next_prune)
{
    int64_t now = ward_now_ms();
    int r = ward_store_command_expire(c->store, now, now - c->cfg.result_timeout_ms, on_expired, c);
    if (r < 0)
        ward_log_error(NULL, "cannot expire commands", "error", ward_strerror(r));
    if (r > 0) {
        pthread_mutex_lock(&c->lock);
        c->stats.expired += (uint64_t)r;
        pthread_mutex_unlock(&c->lock);
    }
    if (ward_mono_ms() >= *next_prune) {
        int64_t keep = c->cfg.retention_ms;
        r = ward_store_command_prune(c->store, now - keep, now - keep * AUDIT_RETENTION);
        if (r < 0)
            ward_log_error(NULL, "cannot prune old commands", "error", ward_strerror(r));
        *next_prune = ward_mono_ms() + PRUNE_EVERY_MS;
    }
}

/* Tells the timer thread to look again: a new earliest deadline, or stop. */
static void poke(struct ward_commands *c)
{
    uint64_t one = 1;
    if (write(c->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        ward_log_error(NULL, "cannot wake the command timer", "error", strerror(errno));
}

/* Ends the waits whose client hung up: the sockets epoll reported. Locked. */
static void end_gone(struct ward_commands *c, const struct epoll_event *ev, int n,
                     struct waiter **batch)
{
    for (int i = 0; i < n; i++) {
        int fd = ev[i].data.fd;
        if (fd == c->wake_fd)
            continue;
        /*
         * By fd, not by pointer: the waiter may have ended since epoll_wait()
         * returned. Its fd is then closed, or another waiter's, which the
         * check of the connection itself tells apart.
         */
        for (struct waiter *w = c->by_fd[fd % FD_SLOTS]; w; w = w->f_next)
            if (w->fd == fd) {
                if (ward_http_peer_gone(w->req)) {
                    end_wait(c, w, WARD_WAIT_GONE, batch);
                    c->stats.gone++;
                }
                break;
            }
    }
}

static void *timer_main(void *arg)
{
    struct ward_commands *c = arg;
    int64_t next_sweep = ward_mono_ms();
    int64_t next_prune = next_sweep;
    struct epoll_event ev[MAX_EVENTS];
    int n_ev = 0;
    pthread_mutex_lock(&c->lock);
    while (!c->stop) {
        int64_t now = ward_mono_ms();
        struct waiter *batch = NULL;
        end_gone(c, ev, n_ev, &batch);
        n_ev = 0;
        while (c->stats.waiting > 0 && c->heap[0]->deadline_ms <= now) {
            end_wait(c, c->heap[0], WARD_WAIT_TIMEOUT, &batch);
            c->stats.timed_out++;
        }
        bool sweep_due = now >= next_sweep;
        if (batch || sweep_due) {
            pthread_mutex_unlock(&c->lock);
            resume_batch(batch);
            if (sweep_due) {
                sweep(c, &next_prune);
                next_sweep = ward_mono_ms() + SWEEP_MS;
            }
            pthread_mutex_lock(&c->lock);
            continue;
        }
        int64_t until = next_sweep;
        if (c->stats.waiting > 0 && c->heap[0]->deadline_ms < until)
            until = c->heap[0]->deadline_ms;
        pthread_mutex_unlock(&c->lock);
        int64_t ms = until - ward_mono_ms();
        n_ev = epoll_wait(c->epoll_fd, ev, MAX_EVENTS, ms < 0 ? 0 : (int)(ms > 60000 ? 60000 : ms));
        if (n_ev < 0)
            n_ev = 0;
        uint64_t drained;
        if (read(c->wake_fd, &drained, sizeof(drained)) < 0 && errno != EAGAIN)
            ward_log_error(NULL, "cannot read the command timer's eventfd", "error",
                           strerror(errno));
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

int ward_commands_new(const struct ward_commands_config *cfg, struct ward_store *store,
                      struct ward_commands **out)
{
    if (!cfg || !store || !out || cfg->max_waiters == 0 || cfg->result_timeout_ms <= 0 ||
        cfg->retention_ms <= 0)
        return -EINVAL;
    struct ward_commands *c = calloc(1, sizeof(*c));
    if (c)
        c->heap = calloc(cfg->max_waiters, sizeof(*c->heap)); /* touched only as it fills */
    if (!c || !c->heap) {
        free(c);
        return -ENOMEM;
    }
    c->cfg = *cfg;
    c->store = store;
    pthread_mutex_init(&c->lock, NULL);
    c->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = c->wake_fd};
    int r = c->epoll_fd < 0 || c->wake_fd < 0 ||
                    epoll_ctl(c->epoll_fd, EPOLL_CTL_ADD, c->wake_fd, &ev) < 0
                ? errno
                : pthread_create(&c->thread, NULL, timer_main, c);
    if (r != 0) {
        if (c->epoll_fd >= 0)
            close(c->epoll_fd);
        if (c->wake_fd >= 0)
            close(c->wake_fd);
        pthread_mutex_destroy(&c->lock);
        free(c->heap);
        free(c);
        return -r;
    }
    *out = c;
    return 0;
}

void ward_commands_release(struct ward_commands *c)
{
    if (!c)
        return;
    struct waiter *batch = NULL;
    pthread_mutex_lock(&c->lock);
    c->closing = true;
    while (c->stats.waiting > 0) /* from the end: no heap order to restore */
        end_wait(c, c->heap[c->stats.waiting - 1], WARD_WAIT_STOPPING, &batch);
    pthread_mutex_unlock(&c->lock);
    resume_batch(batch);
}

void ward_commands_free(struct ward_commands *c)
{
    if (!c)
        return;
    ward_commands_release(c);
    pthread_mutex_lock(&c->lock);
    c->stop = true;
    pthread_mutex_unlock(&c->lock);
    poke(c);
    pthread_join(c->thread, NULL);
    close(c->epoll_fd);
    close(c->wake_fd);
    pthread_mutex_destroy(&c->lock);
    free(c->heap);
    free(c);
}

uint64_t ward_commands_seq(struct ward_commands *c, const char *key)
{
    pthread_mutex_lock(&c->lock);
    uint64_t seq = c->buckets[bucket_of(key)].seq;
    pthread_mutex_unlock(&c->lock);
    return seq;
}

int ward_commands_wait(struct ward_commands *c, struct ward_http_request *req, const char *key,
                       uint64_t seq, int64_t deadline_ms, bool exclusive,
                       ward_http_handler_fn resume)
{
    if (!key || strlen(key) >= WARD_STORE_ID_LEN)
        return -EINVAL;
    struct waiter *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->req = req;
    memcpy(w->key, key, strlen(key) + 1);
    w->bucket = bucket_of(key);
    w->deadline_ms = deadline_ms;
    w->fd = -1;

    struct waiter *batch = NULL;
    pthread_mutex_lock(&c->lock);
    if (exclusive) {
        for (struct waiter *o = c->buckets[w->bucket].head, *next; o; o = next) {
            next = o->b_next;
            if (strcmp(o->key, key) == 0) {
                end_wait(c, o, WARD_WAIT_REPLACED, &batch);
                c->stats.replaced++;
            }
        }
    }
    if (c->closing || c->stats.waiting >= c->cfg.max_waiters) {
        int r = c->closing ? -ESHUTDOWN : WARD_E_LIMIT;
        if (!c->closing)
            c->stats.refused++;
        pthread_mutex_unlock(&c->lock);
        resume_batch(batch);
        free(w);
        return r;
    }
    ward_http_set_userdata(req, w);
    ward_http_suspend(req, resume);
    struct bucket *b = &c->buckets[w->bucket];
    if (b->seq != seq) {
        w->end = WARD_WAIT_WOKEN;
        c->stats.woken++;
        pthread_mutex_unlock(&c->lock);
        resume_batch(batch);
        ward_http_resume(req);
        return 0;
    }
    w->b_next = b->head;
    if (b->head)
        b->head->b_prev = w;
    b->head = w;
    heap_set(c, c->stats.waiting++, w);
    heap_fix(c, w->at);
    /* A hang-up only: a client that sends more while it waits is no reason to look. */
    struct epoll_event ev = {.events = EPOLLRDHUP, .data.fd = ward_http_fd(req)};
    if (ev.data.fd >= 0 && epoll_ctl(c->epoll_fd, EPOLL_CTL_ADD, ev.data.fd, &ev) == 0) {
        w->fd = ev.data.fd;
        struct waiter **slot = &c->by_fd[w->fd % FD_SLOTS];
        w->f_next = *slot;
        if (*slot)
            (*slot)->f_prev = w;
        *slot = w;
    }
    bool first = w->at == 0;
    pthread_mutex_unlock(&c->lock);
    if (first)
        poke(c);
    resume_batch(batch);
    return 0;
}

enum ward_wait_end ward_commands_resumed(struct ward_http_request *req, int64_t *deadline_ms)
{
    struct waiter *w = ward_http_userdata(req);
    enum ward_wait_end end = w->end;
    if (deadline_ms)
        *deadline_ms = w->deadline_ms;
    ward_http_set_userdata(req, NULL);
    free(w);
    return end;
}

void ward_commands_wake(struct ward_commands *c, const char *key)
{
    struct waiter *batch = NULL;
    pthread_mutex_lock(&c->lock);
    struct bucket *b = &c->buckets[bucket_of(key)];
    b->seq++;
    struct waiter *w = b->head;
    while (w) {
        struct waiter *next = w->b_next;
        if (strcmp(w->key, key) == 0) {
            end_wait(c, w, WARD_WAIT_WOKEN, &batch);
            c->stats.woken++;
        }
        w = next;
    }
    pthread_mutex_unlock(&c->lock);
    resume_batch(batch);
}

void ward_commands_stats(struct ward_commands *c, struct ward_commands_stats *out)
{
    pthread_mutex_lock(&c->lock);
    *out = c->stats;
    pthread_mutex_unlock(&c->lock);
}
