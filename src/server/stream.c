/*
 * The live stream hub; see stream.h.
 *
 * Two threads meet here. The writer thread calls ward_stream_publish(),
 * which renders a batch to JSON and appends it to the pending list under
 * the lock. Everything else, the subscriber list included, belongs to the
 * WebSocket thread, which takes the whole pending list at once in
 * ward_stream_on_wake() and hands it out. So the lock guards only the
 * pending list and the counters, and is never held while a client is
 * served.
 */
#include "server/stream.h"

#include "common/error.h"
#include "common/json.h"
#include "common/log.h"
#include "common/time-util.h"
#include "server/claims.h"
#include "server/stream-filter.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One sample of a batch: where its JSON object is, and what filters look at. */
struct item {
    size_t json_off, json_len;
    size_t category_off, name_off; /* NUL-terminated, in the batch's strings */
};

/* One committed batch of one host, rendered once for every subscriber. */
struct batch {
    struct batch *next;
    char host_id[WARD_STORE_ID_LEN];
    char tenant_id[WARD_STORE_ID_LEN]; /* looked up only while a limited subscriber listens */
    size_t n;
    struct item *items;
    struct ward_buf json;    /* the samples' objects, back to back */
    struct ward_buf strings; /* categories and names */
};

struct ward_stream_client {
    struct ward_stream *hub;
    struct ward_ws *ws;
    struct ward_stream_client *prev, *next; /* on hub->clients, once open */
    struct ward_stream_filter filter;
    bool admitted; /* let in at the handshake: ready once open */
    bool ready;    /* access granted; it gets samples */
    bool closing;  /* closed by the hub; on_close follows */
    bool owned;    /* an admin token stands behind it: checked again from time to time */
    bool session;  /* ... through a session cookie */
    char session_id[WARD_CRED_MAX];
    struct ward_session_owner owner;
    char tenant_id[WARD_STORE_ID_LEN]; /* "" = every tenant */
    int64_t opened_ms, checked_ms;
};

struct ward_stream {
    struct ward_store *store;
    struct ward_sessions *sessions;
    struct ward_claims *claims; /* failed logins by the auth message count with the others */
    atomic_size_t n_ready;      /* subscribers let in; publish does nothing without any */
    atomic_size_t n_limited;    /* ... of them limited to a tenant: batches carry their tenant */

    pthread_mutex_t lock;          /* guards the fields below */
    struct ward_http_server *http; /* whose WebSocket thread to wake; NULL once it stops */
    struct batch *head, *tail;
    size_t pending; /* samples in the pending batches */
    struct ward_stream_stats stats;

    /* The WebSocket thread's own. */
    struct ward_stream_client *clients;
    struct ward_buf message;
};

int ward_stream_new(struct ward_store *store, struct ward_sessions *sessions,
                    struct ward_claims *claims, struct ward_stream **out)
{
    struct ward_stream *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->store = store;
    s->sessions = sessions;
    s->claims = claims;
    pthread_mutex_init(&s->lock, NULL);
    ward_buf_init(&s->message, 0);
    *out = s;
    return 0;
}

static void batch_free(struct batch *b)
{
    ward_buf_done(&b->json);
    ward_buf_done(&b->strings);
    free(b->items);
    free(b);
}

void ward_stream_free(struct ward_stream *s)
{
    if (!s)
        return;
    while (s->head) {
        struct batch *b = s->head;
        s->head = b->next;
        batch_free(b);
    }
    ward_buf_done(&s->message);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void ward_stream_attach(struct ward_stream *s, struct ward_http_server *http)
{
    pthread_mutex_lock(&s->lock);
    s->http = http;
    pthread_mutex_unlock(&s->lock);
}

/* ---- The writer's side ---- */

static int render_sample(struct ward_buf *out, const char *host_id, const struct ward_sample *v)
{
    char ts[WARD_RFC3339_LEN];
    ward_time_format_rfc3339(v->ts_ms, ts);
    struct ward_json_writer w;
    ward_json_writer_init(&w, out);
    ward_json_write_object_begin(&w);
    ward_json_write_keyz(&w, "server_id");
    ward_json_write_stringz(&w, host_id);
    ward_json_write_keyz(&w, "metric_type");
    ward_json_write_stringz(&w, v->category);
    ward_json_write_keyz(&w, "metric_name");
    ward_json_write_stringz(&w, v->name);
    ward_json_write_keyz(&w, "value");
    ward_json_write_double(&w, v->value);
    ward_json_write_keyz(&w, "labels");
    ward_json_write_raw(&w, v->labels, strlen(v->labels));
    ward_json_write_keyz(&w, "timestamp");
    ward_json_write_stringz(&w, ts);
    ward_json_write_keyz(&w, "kind");
    ward_json_write_stringz(&w, v->kind == WARD_KIND_COUNTER ? "counter" : "gauge");
    ward_json_write_object_end(&w);
    return ward_json_writer_finish(&w);
}

static int copy_tenant(const struct ward_host_row *h, void *userdata)
{
    struct batch *b = userdata;
    snprintf(b->tenant_id, sizeof(b->tenant_id), "%s", h->tenant_id);
    return 0;
}

static struct batch *render(struct ward_stream *s, const char *host_id, const struct ward_sample *v,
                            size_t n)
{
    struct batch *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    snprintf(b->host_id, sizeof(b->host_id), "%s", host_id);
    /* A host the store cannot place goes to no limited subscriber (tenant_id stays ""). */
    if (atomic_load(&s->n_limited) > 0)
        ward_store_host_get(s->store, host_id, copy_tenant, b);
    ward_buf_init(&b->json, 0);
    ward_buf_init(&b->strings, 0);
    b->items = calloc(n, sizeof(*b->items));
    int r = b->items ? 0 : -ENOMEM;
    for (size_t i = 0; i < n && r == 0; i++) {
        struct item *it = &b->items[i];
        it->json_off = b->json.len;
        r = render_sample(&b->json, host_id, &v[i]);
        it->json_len = b->json.len - it->json_off;
        it->category_off = b->strings.len;
        if (r == 0)
            r = ward_buf_append(&b->strings, v[i].category, strlen(v[i].category) + 1);
        it->name_off = b->strings.len;
        if (r == 0)
            r = ward_buf_append(&b->strings, v[i].name, strlen(v[i].name) + 1);
    }
    b->n = n;
    if (r < 0) {
        batch_free(b);
        return NULL;
    }
    return b;
}

void ward_stream_publish(void *userdata, const char *host_id, const struct ward_sample *v, size_t n)
{
    struct ward_stream *s = userdata;
    if (n == 0 || atomic_load(&s->n_ready) == 0)
        return;
    pthread_mutex_lock(&s->lock);
    bool room = s->pending + n <= WARD_STREAM_MAX_PENDING;
    pthread_mutex_unlock(&s->lock);
    struct batch *b = room ? render(s, host_id, v, n) : NULL;
    pthread_mutex_lock(&s->lock);
    if (b) {
        if (s->tail)
            s->tail->next = b;
        else
            s->head = b;
        s->tail = b;
        s->pending += n;
    } else {
        s->stats.dropped += n;
    }
    /* Under the lock, so the server cannot go away meanwhile (ward_stream_attach()). */
    if (b && s->http)
        ward_ws_wake(s->http);
    pthread_mutex_unlock(&s->lock);
}

/* ---- The WebSocket thread's side ---- */

/* Lets c in (it gets samples from now on) or out, keeping the hub's counts. */
static void set_ready(struct ward_stream_client *c, bool ready)
{
    if (c->ready == ready)
        return;
    c->ready = ready;
    if (ready)
        atomic_fetch_add(&c->hub->n_ready, 1);
    else
        atomic_fetch_sub(&c->hub->n_ready, 1);
    if (c->tenant_id[0] && ready)
        atomic_fetch_add(&c->hub->n_limited, 1);
    else if (c->tenant_id[0])
        atomic_fetch_sub(&c->hub->n_limited, 1);
}

static void client_close(struct ward_stream_client *c, uint16_t code, const char *reason)
{
    if (c->closing)
        return;
    c->closing = true;
    set_ready(c, false);
    ward_ws_close(c->ws, code, reason);
}

/* Sends a small JSON control message; a client that cannot take it is closed as slow. */
static void send_control(struct ward_stream_client *c, struct ward_buf *msg)
{
    if (c->closing)
        return;
    if (msg->data && ward_ws_send_text(c->ws, msg->data, msg->len) == WARD_E_LIMIT)
        client_close(c, WARD_WS_TRY_LATER, "slow consumer: send queue full");
}

static void send_error(struct ward_stream_client *c, const char *message)
{
    struct ward_buf out = WARD_BUF_INIT;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &out);
    ward_json_write_object_begin(&w);
    ward_json_write_keyz(&w, "type");
    ward_json_write_stringz(&w, "error");
    ward_json_write_keyz(&w, "error");
    ward_json_write_stringz(&w, message);
    ward_json_write_object_end(&w);
    send_control(c, &out);
    ward_buf_done(&out);
}

/* Tells the client it gets samples now ("ready") or what it selects now ("subscribed"). */
static void send_state(struct ward_stream_client *c, const char *type)
{
    struct ward_buf out = WARD_BUF_INIT;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &out);
    ward_json_write_object_begin(&w);
    ward_json_write_keyz(&w, "type");
    ward_json_write_stringz(&w, type);
    ward_json_write_keyz(&w, "authenticated");
    ward_json_write_bool(&w, c->owned);
    ward_json_write_keyz(&w, "filter");
    ward_json_write_object_begin(&w);
    ward_stream_filter_write(&c->filter, &w);
    ward_json_write_object_end(&w);
    ward_json_write_object_end(&w);
    send_control(c, &out);
    ward_buf_done(&out);
}

/* True when c may see the samples of b: always without a tenant limit, else by b's tenant. */
static bool sees_batch(const struct ward_stream_client *c, const struct batch *b)
{
    return !c->tenant_id[0] || strcmp(c->tenant_id, b->tenant_id) == 0;
}

/*
 * Writes into m the next message of the samples of b that pass f (NULL:
 * all), starting at sample *pos: as many as fit in WARD_STREAM_MESSAGE
 * bytes, and at least one. Returns how many it holds; 0 when none is left.
 */
static size_t next_message(const struct batch *b, const struct ward_stream_filter *f, size_t *pos,
                           struct ward_buf *m)
{
    m->len = 0;
    size_t k = 0;
    int r = 0;
    for (; *pos < b->n && r == 0; ++*pos) {
        const struct item *it = &b->items[*pos];
        if (f && !ward_stream_filter_sample(f, b->strings.data + it->category_off,
                                            b->strings.data + it->name_off))
            continue;
        if (k > 0 && m->len + it->json_len + 2 > WARD_STREAM_MESSAGE)
            break;
        r = ward_buf_puts(m, k++ ? "," : "{\"type\":\"metrics\",\"metrics\":[");
        if (r == 0)
            r = ward_buf_append(m, b->json.data + it->json_off, it->json_len);
    }
    if (r == 0 && k > 0)
        r = ward_buf_puts(m, "]}");
    return r == 0 ? k : 0;
}

/* The messages of a whole batch, made once for every subscriber that takes all of it. */
struct whole {
    struct ward_buf *msg;
    size_t *count;
    size_t n;
    bool built, failed;
};

static void whole_build(struct whole *w, const struct batch *b)
{
    w->built = true;
    size_t pos = 0;
    while (pos < b->n) {
        struct ward_buf *grown = realloc(w->msg, (w->n + 1) * sizeof(*grown));
        size_t *counts = grown ? realloc(w->count, (w->n + 1) * sizeof(*counts)) : NULL;
        if (grown)
            w->msg = grown;
        if (counts)
            w->count = counts;
        if (!grown || !counts) {
            w->failed = true;
            return;
        }
        ward_buf_init(&w->msg[w->n], 0);
        w->count[w->n] = next_message(b, NULL, &pos, &w->msg[w->n]);
        if (w->count[w->n++] == 0) {
            w->failed = true;
            return;
        }
    }
}

static void whole_done(struct whole *w)
{
    for (size_t i = 0; i < w->n; i++)
        ward_buf_done(&w->msg[i]);
    free(w->msg);
    free(w->count);
}

/* Counts of one delivery, added to the stats at the end. */
struct tally {
    uint64_t messages, samples, slow;
};

/* Sends one message to c; closes c as slow when its queue is full. False once c is closing. */
static bool send_metrics(struct ward_stream_client *c, const struct ward_buf *m, size_t count,
                         struct tally *t)
{
    int r = ward_ws_send_text(c->ws, m->data, m->len);
    if (r == 0) {
        t->messages++;
        t->samples += count;
        return true;
    }
    if (r == WARD_E_LIMIT) {
        t->slow++;
        ward_log_warn(ward_ws_request_id(c->ws), "stream client too slow, closing it", "client",
                      ward_ws_remote(c->ws));
        client_close(c, WARD_WS_TRY_LATER, "slow consumer: send queue full");
    }
    return false;
}

static void deliver(struct ward_stream *s, const struct batch *b)
{
    struct whole whole = {0};
    struct tally t = {0};
    struct ward_stream_client *next;
    for (struct ward_stream_client *c = s->clients; c; c = next) {
        next = c->next;
        if (!c->ready || !ward_stream_filter_host(&c->filter, b->host_id) || !sees_batch(c, b))
            continue;
        if (ward_stream_filter_takes_all(&c->filter)) {
            if (!whole.built)
                whole_build(&whole, b);
            for (size_t i = 0; i < whole.n && !whole.failed; i++)
                if (!send_metrics(c, &whole.msg[i], whole.count[i], &t))
                    break;
        } else {
            size_t pos = 0, count;
            while ((count = next_message(b, &c->filter, &pos, &s->message)) > 0)
                if (!send_metrics(c, &s->message, count, &t))
                    break;
        }
    }
    whole_done(&whole);
    pthread_mutex_lock(&s->lock);
    s->stats.messages += t.messages;
    s->stats.samples += t.samples;
    s->stats.slow_closed += t.slow;
    pthread_mutex_unlock(&s->lock);
}

void ward_stream_on_wake(struct ward_stream *s)
{
    pthread_mutex_lock(&s->lock);
    struct batch *list = s->head;
    s->head = s->tail = NULL;
    pthread_mutex_unlock(&s->lock);
    while (list) {
        struct batch *b = list;
        list = b->next;
        deliver(s, b);
        pthread_mutex_lock(&s->lock);
        s->pending -= b->n;
        pthread_mutex_unlock(&s->lock);
        batch_free(b);
    }
}

/* Checks again that the token (and the session) behind c is valid. */
static bool still_allowed(struct ward_stream_client *c)
{
    struct ward_session_owner o;
    if (c->session && (!c->hub->sessions ||
                       ward_sessions_find(c->hub->sessions, c->session_id, ward_now_ms(), &o) < 0))
        return false;
    return ward_auth_owner_valid(c->hub->store, &c->owner) != 0; /* a store error keeps it */
}

void ward_stream_on_tick(struct ward_stream *s)
{
    int64_t now = ward_now_ms();
    struct ward_stream_client *next;
    for (struct ward_stream_client *c = s->clients; c; c = next) {
        next = c->next;
        if (c->closing)
            continue;
        if (!c->ready && now - c->opened_ms >= WARD_STREAM_AUTH_TIMEOUT_MS) {
            client_close(c, WARD_WS_POLICY, "authentication required: send {\"type\":\"auth\"}");
        } else if (c->owned && now - c->checked_ms >= WARD_STREAM_RECHECK_MS) {
            c->checked_ms = now;
            if (!still_allowed(c))
                client_close(c, WARD_WS_POLICY, "the session or token is no longer valid");
        }
    }
}

/* ---- Subscribers ---- */

static int add_query(const char *value, void *userdata)
{
    void **args = userdata;
    return ward_stream_filter_add_list(args[0], *(enum ward_stream_field *)args[1], value, args[2]);
}

struct ward_stream_client *ward_stream_client_new(struct ward_stream *s,
                                                  struct ward_http_request *req,
                                                  const struct ward_principal *p,
                                                  const struct ward_auth_policy *policy)
{
    struct ward_stream_client *c = calloc(1, sizeof(*c));
    if (!c) {
        ward_http_error(req, 503, "out of memory");
        return NULL;
    }
    c->hub = s;
    struct ward_buf err = WARD_BUF_INIT;
    static const char *const params[] = {"server_id", "metric_type", "name", "metric_name"};
    static const enum ward_stream_field fields[] = {WARD_STREAM_SERVER_ID, WARD_STREAM_METRIC_TYPE,
                                                    WARD_STREAM_NAME, WARD_STREAM_NAME};
    int r = 0;
    for (size_t i = 0; i < sizeof(params) / sizeof(params[0]) && r == 0; i++) {
        enum ward_stream_field f = fields[i];
        void *args[3] = {&c->filter, &f, &err};
        r = ward_http_query_each(req, params[i], add_query, args);
    }
    if (r < 0) {
        if (r == -ENOMEM)
            ward_http_error(req, 503, "out of memory");
        else
            ward_http_error(req, 400, "%s", err.data ? err.data : "bad filter");
        ward_buf_done(&err);
        ward_stream_client_free(c);
        return NULL;
    }
    ward_buf_done(&err);
    /*
     * A session cookie counts only from the server's own pages: SameSite
     * keeps other sites' pages from sending it, not a sibling origin listed
     * in --cors-origin. Such a page sends the auth message instead.
     */
    struct ward_principal anonymous = {0};
    if (p->session && !ward_auth_same_origin(req))
        p = &anonymous;
    if (p->caller == WARD_CALLER_ADMIN) {
        c->owned = true;
        c->session = p->session;
        memcpy(c->owner.lookup, p->lookup, sizeof(c->owner.lookup));
        memcpy(c->owner.credential_id, p->credential_id, sizeof(c->owner.credential_id));
        memcpy(c->tenant_id, p->tenant_id, sizeof(c->tenant_id));
        if (c->session)
            ward_auth_cookie(req, WARD_SESSION_COOKIE, c->session_id, sizeof(c->session_id));
    }
    c->admitted = ward_auth_can_read(p, policy);
    return c;
}

void ward_stream_client_free(struct ward_stream_client *c)
{
    if (!c)
        return;
    ward_stream_filter_done(&c->filter);
    explicit_bzero(c, sizeof(*c));
    free(c);
}

static void on_open(struct ward_ws *ws, void *app)
{
    (void)app;
    struct ward_stream_client *c = ward_ws_userdata(ws);
    struct ward_stream *s = c->hub;
    c->ws = ws;
    c->opened_ms = c->checked_ms = ward_now_ms();
    c->next = s->clients;
    if (s->clients)
        s->clients->prev = c;
    s->clients = c;
    pthread_mutex_lock(&s->lock);
    s->stats.clients++;
    pthread_mutex_unlock(&s->lock);
    if (c->admitted) {
        set_ready(c, true);
        send_state(c, "ready");
    }
}

static void on_close(struct ward_ws *ws, void *app)
{
    (void)app;
    struct ward_stream_client *c = ward_ws_userdata(ws);
    struct ward_stream *s = c->hub;
    if (c->ws) { /* it was opened, so it is listed */
        if (c->prev)
            c->prev->next = c->next;
        else
            s->clients = c->next;
        if (c->next)
            c->next->prev = c->prev;
        set_ready(c, false);
        pthread_mutex_lock(&s->lock);
        s->stats.clients--;
        pthread_mutex_unlock(&s->lock);
    }
    ward_stream_client_free(c);
}

/* A client message: {"type": "auth", "token": ...} or {"type": "subscribe", filters...}. */
struct message {
    char type[16];
    char token[WARD_CRED_INPUT_MAX + 1];
    struct ward_stream_filter filter;
    bool has_filter;
};

static int read_values(struct ward_json_reader *r, struct message *m, enum ward_stream_field f,
                       struct ward_buf *err)
{
    struct ward_json_token t;
    int rc = ward_json_next(r, &t);
    if (rc < 0)
        return rc;
    m->has_filter = true;
    if (t.type == WARD_JSON_STRING)
        return ward_stream_filter_add(&m->filter, f, t.str, t.len, err);
    if (t.type != WARD_JSON_ARRAY_BEGIN) {
        ward_buf_printf(err, "a filter is a string or an array of strings");
        return -EINVAL;
    }
    for (;;) {
        if ((rc = ward_json_next(r, &t)) < 0)
            return rc;
        if (t.type == WARD_JSON_ARRAY_END)
            return 0;
        if (t.type != WARD_JSON_STRING) {
            ward_buf_printf(err, "a filter is a string or an array of strings");
            return -EINVAL;
        }
        if ((rc = ward_stream_filter_add(&m->filter, f, t.str, t.len, err)) < 0)
            return rc;
    }
}

static int copy_string(struct ward_json_reader *r, char *out, size_t size, const char *what,
                       struct ward_buf *err)
{
    struct ward_json_token t;
    int rc = ward_json_expect(r, WARD_JSON_STRING, &t);
    if (rc < 0)
        return rc;
    if (t.len >= size || memchr(t.str, '\0', t.len)) {
        ward_buf_printf(err, "%s: too long", what);
        return -EINVAL;
    }
    memcpy(out, t.str, t.len);
    out[t.len] = '\0';
    return 0;
}

static int parse_message(const char *text, size_t len, struct message *m, struct ward_buf *err)
{
    struct ward_json_limits lim = {.max_depth = 4, .max_size = 64 * 1024, .max_string = 1024};
    struct ward_json_reader r;
    ward_json_reader_init(&r, text, len, &lim);
    struct ward_json_token t;
    int rc = ward_json_expect(&r, WARD_JSON_OBJECT_BEGIN, &t);
    while (rc == 0) {
        if ((rc = ward_json_next(&r, &t)) < 0 || t.type == WARD_JSON_OBJECT_END)
            break;
        int f = ward_stream_field_of(t.str, t.len);
        if (ward_json_key_is(&t, "type"))
            rc = copy_string(&r, m->type, sizeof(m->type), "type", err);
        else if (ward_json_key_is(&t, "token"))
            rc = copy_string(&r, m->token, sizeof(m->token), "token", err);
        else if (f >= 0)
            rc = read_values(&r, m, (enum ward_stream_field)f, err);
        else
            rc = ward_json_skip(&r);
    }
    if (rc < 0 && !err->len)
        ward_buf_printf(err, "bad message: %s", ward_json_error_message(&r));
    ward_json_reader_done(&r);
    return rc;
}

static void authenticate(struct ward_stream_client *c, const char *token)
{
    if (c->owned || c->ready) {
        send_error(c, "already authenticated");
        return;
    }
    const char *client = ward_ws_remote(c->ws);
    int64_t now = ward_now_ms();
    if (!ward_claims_login_allowed(c->hub->claims, client, now)) {
        client_close(c, WARD_WS_POLICY, "too many failed logins; wait before trying again");
        return;
    }
    struct ward_session_owner owner;
    char tenant[WARD_STORE_ID_LEN];
    int r = ward_auth_login(c->hub->store, token, &owner, tenant);
    if (r < 0) {
        if (r == -EACCES)
            ward_claims_login_failed(c->hub->claims, client, now);
        client_close(c, WARD_WS_POLICY,
                     r == -EACCES ? "invalid or revoked token" : "cannot check the token now");
        return;
    }
    c->owned = true;
    c->owner = owner;
    c->checked_ms = now;
    memcpy(c->tenant_id, tenant, sizeof(c->tenant_id));
    set_ready(c, true);
    send_state(c, "ready");
}

static void on_text(struct ward_ws *ws, const char *text, size_t len, void *app)
{
    (void)app;
    struct ward_stream_client *c = ward_ws_userdata(ws);
    if (c->closing)
        return;
    struct message m = {0};
    struct ward_buf err = WARD_BUF_INIT;
    int r = parse_message(text, len, &m, &err);
    if (r == 0 && strcmp(m.type, "auth") == 0) {
        authenticate(c, m.token);
    } else if (r == 0 && strcmp(m.type, "subscribe") == 0) {
        ward_stream_filter_done(&c->filter);
        c->filter = m.filter;
        memset(&m.filter, 0, sizeof(m.filter));
        send_state(c, "subscribed");
    } else if (!c->ready) {
        client_close(c, WARD_WS_POLICY, "authentication required: send {\"type\":\"auth\"}");
    } else {
        send_error(c, r < 0 ? (err.data ? err.data : "bad message")
                            : "unknown message type; expected auth or subscribe");
    }
    explicit_bzero(m.token, sizeof(m.token));
    ward_stream_filter_done(&m.filter);
    ward_buf_done(&err);
}

const struct ward_ws_handler ward_stream_ws_handler = {
    .on_open = on_open,
    .on_text = on_text,
    .on_close = on_close,
};

void ward_stream_stats(struct ward_stream *s, struct ward_stream_stats *out)
{
    pthread_mutex_lock(&s->lock);
    *out = s->stats;
    pthread_mutex_unlock(&s->lock);
}
