/*
 * Conformance suite of the store, part five: the command queue and its
 * audit log. Queueing with its cap, dispatch (order, expiry, four threads
 * on one host), results, expiry, pruning, the audit entries of a whole
 * lifecycle, the tenant filter, a purge, a reopen, and the argument checks
 * of the store.c wrappers. test-store.c runs it against every backend; see
 * there and test-store.h for how the tests stay apart.
 *
 * Expiry and pruning act on every command of the database, not just a
 * test's own. The tests that call them use small absolute times (from
 * 100 ms after the epoch on) that no other test uses, and every other test
 * gives its commands times around T0 that expire long after; so on a
 * database other tests have written to, expiry and pruning find only what
 * the calling test made. Where an earlier run against a shared database
 * (WARD_TEST_STORE_DSN) may have left some, counts are checked as lower
 * bounds there.
 */
#include "test-store.h"

#include "common/error.h"
#include "common/uuid.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOUR_MS 3600000LL

/* A command as a callback saw it, copied. */
struct cmd {
    char *id, *host_id, *type, *args, *state, *requested_by, *error, *output;
    int64_t created_ms, expires_ms, dispatched_ms, finished_ms, exit_code, output_bytes;
    bool truncated;
};

struct cmds {
    struct cmd *v;
    size_t n, cap;
    int result; /* the callback returns it */
};

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int collect_cmd(const struct ward_command *c, void *userdata)
{
    struct cmds *l = userdata;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        struct cmd *v = realloc(l->v, cap * sizeof(*v));
        if (v == NULL)
            return -ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    struct cmd *k = &l->v[l->n++];
    *k = (struct cmd){
        .id = dup_or_null(c->id),
        .host_id = dup_or_null(c->host_id),
        .type = dup_or_null(c->type),
        .args = dup_or_null(c->args),
        .state = dup_or_null(c->state),
        .requested_by = dup_or_null(c->requested_by),
        .error = dup_or_null(c->error),
        .created_ms = c->created_ms,
        .expires_ms = c->expires_ms,
        .dispatched_ms = c->dispatched_ms,
        .finished_ms = c->finished_ms,
        .exit_code = c->exit_code,
        .output_bytes = c->output_bytes,
        .truncated = c->truncated,
    };
    if (c->output != NULL && c->output_bytes >= 0) {
        k->output = malloc((size_t)c->output_bytes + 1);
        if (k->output == NULL)
            return -ENOMEM;
        memcpy(k->output, c->output, (size_t)c->output_bytes + 1);
    }
    return l->result;
}

static void cmds_free(struct cmds *l)
{
    for (size_t i = 0; i < l->n; i++) {
        struct cmd *k = &l->v[i];
        char *fields[] = {k->id,    k->host_id,      k->type,  k->args,
                          k->state, k->requested_by, k->error, k->output};
        for (size_t j = 0; j < sizeof(fields) / sizeof(fields[0]); j++)
            free(fields[j]);
    }
    free(l->v);
    *l = (struct cmds){0};
}

/* One audit entry, copied. */
struct aud {
    int64_t id, ts_ms;
    char *command_id, *host_id, *actor, *event, *detail;
};

struct auds {
    struct aud *v;
    size_t n, cap;
};

static int collect_audit(const struct ward_audit_entry *e, void *userdata)
{
    struct auds *l = userdata;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        struct aud *v = realloc(l->v, cap * sizeof(*v));
        if (v == NULL)
            return -ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = (struct aud){
        .id = e->id,
        .ts_ms = e->ts_ms,
        .command_id = dup_or_null(e->command_id),
        .host_id = dup_or_null(e->host_id),
        .actor = dup_or_null(e->actor),
        .event = dup_or_null(e->event),
        .detail = dup_or_null(e->detail),
    };
    return 0;
}

static void auds_free(struct auds *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].command_id);
        free(l->v[i].host_id);
        free(l->v[i].actor);
        free(l->v[i].event);
        free(l->v[i].detail);
    }
    free(l->v);
    *l = (struct auds){0};
}

/* Makes host known to the store: commands are queued only for known hosts. */
static void make_host(struct ward_store *s, const char *host)
{
    struct ward_sample v = gauge("cpu", "usage", "{}", T0, 1);
    assert_int_equal(ward_store_ingest(s, host, NULL, &v, 1), 0);
}

/* A command of host, queued at created_ms, with a fresh id written to id. */
static struct ward_command command(char id[WARD_UUID_STR_LEN], const char *host, const char *type,
                                   int64_t created_ms, int64_t expires_ms)
{
    assert_int_equal(ward_uuid_v7(id), 0);
    return (struct ward_command){
        .id = id,
        .host_id = host,
        .type = type,
        .args = "{}",
        .requested_by = "admin",
        .created_ms = created_ms,
        .expires_ms = expires_ms,
    };
}

/* Queues a command and fails the test unless that worked. */
static void add_ok(struct ward_store *s, char id[WARD_UUID_STR_LEN], const char *host,
                   const char *type, int64_t created_ms, int64_t expires_ms)
{
    struct ward_command c = command(id, host, type, created_ms, expires_ms);
    assert_int_equal(ward_store_command_add(s, &c, 100), 0);
}

/* Fetches command id; fails the test unless it is there. Free with cmds_free(). */
static struct cmds get_ok(struct ward_store *s, const char *id)
{
    struct cmds l = {0};
    assert_int_equal(ward_store_command_get(s, id, collect_cmd, &l), 0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].id, id);
    return l;
}

static void assert_state(struct ward_store *s, const char *id, const char *state)
{
    struct cmds l = get_ok(s, id);
    assert_string_equal(l.v[0].state, state);
    cmds_free(&l);
}

/* Dispatches the next command of host at now_ms and checks that it is want. */
static void dispatch_ok(struct ward_store *s, const char *host, int64_t now_ms, const char *want)
{
    struct cmds l = {0};
    assert_int_equal(ward_store_command_dispatch(s, host, now_ms, collect_cmd, &l), 0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].id, want);
    assert_string_equal(l.v[0].state, "dispatched");
    assert_int_equal(l.v[0].dispatched_ms, now_ms);
    assert_string_equal(l.v[0].host_id, host);
    cmds_free(&l);
}

static struct ward_command_result result(const char *state, int64_t exit_code, const char *output,
                                         int64_t finished_ms)
{
    return (struct ward_command_result){
        .state = state,
        .exit_code = exit_code,
        .output = output,
        .output_len = output ? strlen(output) : 0,
        .finished_ms = finished_ms,
    };
}

static struct cmds list_of(struct ward_store *s, struct ward_command_filter f)
{
    struct cmds l = {0};
    assert_int_equal(ward_store_command_list(s, &f, collect_cmd, &l), 0);
    return l;
}

static struct auds audit_of(struct ward_store *s, struct ward_audit_filter f)
{
    struct auds l = {0};
    assert_int_equal(ward_store_audit_list(s, &f, collect_audit, &l), 0);
    return l;
}

/* Counts of what a call did to the whole database: exact unless it is shared with other runs. */
static void assert_count(const struct store_env *e, int got, int want)
{
    if (e->backend == &store_external)
        assert_true(got >= want);
    else
        assert_int_equal(got, want);
}

/* ---- Queueing ---- */

static void test_command_add_get_list(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    make_host(s, e->host[0]);
    make_host(s, e->host[1]);

    char id[3][WARD_UUID_STR_LEN], other[WARD_UUID_STR_LEN];
    struct ward_command c = command(id[0], e->host[0], "ping", T0, T0 + HOUR_MS);
    c.args = "{\"count\":\"3\",\"target\":\"10.0.0.1\"}";
    c.requested_by = "token-ops";
    c.state = "done"; /* ignored: a new command is queued */
    c.dispatched_ms = 5;
    assert_int_equal(ward_store_command_add(s, &c, 10), 0);
    add_ok(s, id[1], e->host[0], "uptime", T0 + 2000, T0 + HOUR_MS);
    add_ok(s, id[2], e->host[0], "ping", T0 + 1000, T0 + HOUR_MS);
    add_ok(s, other, e->host[1], "ping", T0 + 1500, T0 + HOUR_MS);

    struct cmds l = get_ok(s, id[0]);
    struct cmd *k = &l.v[0];
    assert_string_equal(k->host_id, e->host[0]);
    assert_string_equal(k->type, "ping");
    assert_string_equal(k->args, "{\"count\":\"3\",\"target\":\"10.0.0.1\"}");
    assert_string_equal(k->state, "queued");
    assert_string_equal(k->requested_by, "token-ops");
    assert_int_equal(k->created_ms, T0);
    assert_int_equal(k->expires_ms, T0 + HOUR_MS);
    assert_int_equal(k->dispatched_ms, 0);
    assert_int_equal(k->finished_ms, 0);
    assert_int_equal(k->exit_code, 0);
    assert_null(k->error);
    assert_null(k->output);
    assert_int_equal(k->output_bytes, 0);
    assert_false(k->truncated);
    cmds_free(&l);

    /* Newest first, by creation time, whatever the order they were queued in. */
    l = list_of(s, (struct ward_command_filter){.host_id = e->host[0]});
    assert_int_equal(l.n, 3);
    assert_string_equal(l.v[0].id, id[1]);
    assert_string_equal(l.v[1].id, id[2]);
    assert_string_equal(l.v[2].id, id[0]);
    cmds_free(&l);

    l = list_of(s, (struct ward_command_filter){.host_id = e->host[0], .limit = 2});
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].id, id[1]);
    assert_string_equal(l.v[1].id, id[2]);
    cmds_free(&l);

    l = list_of(s, (struct ward_command_filter){.host_id = e->host[0], .type = "ping"});
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].id, id[2]);
    assert_string_equal(l.v[1].id, id[0]);
    cmds_free(&l);

    l = list_of(s, (struct ward_command_filter){.host_id = e->host[0], .since_ms = T0 + 1000});
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].id, id[1]);
    assert_string_equal(l.v[1].id, id[2]);
    cmds_free(&l);

    l = list_of(s, (struct ward_command_filter){.host_id = e->host[0], .state = "dispatched"});
    assert_int_equal(l.n, 0);
    cmds_free(&l);
    l = list_of(s, (struct ward_command_filter){.host_id = e->host[0], .state = "queued"});
    assert_int_equal(l.n, 3);
    cmds_free(&l);

    /* Without a host filter: both hosts, newest first. */
    l = list_of(s, (struct ward_command_filter){.since_ms = T0, .limit = SIZE_MAX});
    size_t mine = 0;
    const char *order[4] = {id[1], other, id[2], id[0]};
    for (size_t i = 0; i < l.n; i++) {
        if (i > 0)
            assert_true(l.v[i - 1].created_ms > l.v[i].created_ms ||
                        (l.v[i - 1].created_ms == l.v[i].created_ms &&
                         strcmp(l.v[i - 1].id, l.v[i].id) > 0));
        if (mine < 4 && strcmp(l.v[i].id, order[mine]) == 0)
            mine++;
    }
    assert_int_equal(mine, 4);
    cmds_free(&l);

    /* A host without commands, an unknown id. */
    char nobody[WARD_UUID_STR_LEN];
    assert_int_equal(ward_uuid_v7(nobody), 0);
    l = list_of(s, (struct ward_command_filter){.host_id = nobody});
    assert_int_equal(l.n, 0);
    assert_int_equal(ward_store_command_get(s, nobody, collect_cmd, &l), WARD_E_NOT_FOUND);
    assert_int_equal(l.n, 0);

    /* An id in use, and args that are not a JSON object. */
    struct ward_command again = command(nobody, e->host[0], "ping", T0, T0 + HOUR_MS);
    again.id = id[0];
    assert_int_equal(ward_store_command_add(s, &again, 10), -EEXIST);
    struct ward_command bad = command(nobody, e->host[0], "ping", T0, T0 + HOUR_MS);
    bad.args = "[1]";
    assert_int_equal(ward_store_command_add(s, &bad, 10), -EINVAL);
    bad.args = "{\"a\":";
    assert_int_equal(ward_store_command_add(s, &bad, 10), -EINVAL);
    assert_int_equal(ward_store_command_get(s, nobody, collect_cmd, &l), WARD_E_NOT_FOUND);
    l = list_of(s, (struct ward_command_filter){.host_id = e->host[0]});
    assert_int_equal(l.n, 3);
    cmds_free(&l);
    ward_store_close(s);
}

static void test_command_depth_cap(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    make_host(s, e->host[0]);
    make_host(s, e->host[1]);
    char id[4][WARD_UUID_STR_LEN], extra[WARD_UUID_STR_LEN];
    for (int i = 0; i < 3; i++) {
        struct ward_command c = command(id[i], e->host[0], "ping", T0 + i, T0 + HOUR_MS);
        assert_int_equal(ward_store_command_add(s, &c, 3), 0);
    }
    struct ward_command c = command(id[3], e->host[0], "ping", T0 + 3, T0 + HOUR_MS);
    assert_int_equal(ward_store_command_add(s, &c, 3), WARD_E_LIMIT);
    struct cmds l = {0};
    assert_int_equal(ward_store_command_get(s, id[3], collect_cmd, &l), WARD_E_NOT_FOUND);
    struct auds a = audit_of(s, (struct ward_audit_filter){.command_id = id[3]});
    assert_int_equal(a.n, 0);
    auds_free(&a);

    /* The cap is per host. */
    struct ward_command o = command(extra, e->host[1], "ping", T0, T0 + HOUR_MS);
    assert_int_equal(ward_store_command_add(s, &o, 3), 0);

    /* A dispatched command still counts. */
    dispatch_ok(s, e->host[0], T0 + 10, id[0]);
    assert_int_equal(ward_store_command_add(s, &c, 3), WARD_E_LIMIT);
    /* A finished one does not. */
    struct ward_command_result res = result("done", 0, "ok", T0 + 20);
    assert_int_equal(ward_store_command_finish(s, id[0], e->host[0], &res), 0);
    assert_int_equal(ward_store_command_add(s, &c, 3), 0);
    assert_int_equal(ward_store_command_add(s, &o, 10), -EEXIST);
    struct ward_command d = command(extra, e->host[0], "ping", T0 + 4, T0 + HOUR_MS);
    assert_int_equal(ward_store_command_add(s, &d, 3), WARD_E_LIMIT);
    assert_int_equal(ward_store_command_add(s, &d, 4), 0);
    /* A cap of 0 refuses everything. */
    struct ward_command z = command(extra, e->host[1], "ping", T0, T0 + HOUR_MS);
    assert_int_equal(ward_store_command_add(s, &z, 0), WARD_E_LIMIT);

    l = list_of(s, (struct ward_command_filter){.host_id = e->host[0]});
    assert_int_equal(l.n, 5);
    cmds_free(&l);
    ward_store_close(s);
}

static void test_command_unknown_host(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    char id[WARD_UUID_STR_LEN];
    struct ward_command c = command(id, e->host[0], "ping", T0, T0 + HOUR_MS);
    assert_int_equal(ward_store_command_add(s, &c, 10), WARD_E_NOT_FOUND);
    struct cmds l = {0};
    assert_int_equal(ward_store_command_get(s, id, collect_cmd, &l), WARD_E_NOT_FOUND);
    struct auds a = audit_of(s, (struct ward_audit_filter){.host_id = e->host[0]});
    assert_int_equal(a.n, 0);
    auds_free(&a);
    /* Once the host is known, the same command is queued. */
    make_host(s, e->host[0]);
    assert_int_equal(ward_store_command_add(s, &c, 10), 0);
    assert_state(s, id, "queued");
    ward_store_close(s);
}

/* ---- Dispatch ---- */

static void test_command_dispatch_order(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    make_host(s, e->host[0]);
    make_host(s, e->host[1]);
    /* Queued out of order; two share a creation time, and then the smaller id goes first. */
    char id[4][WARD_UUID_STR_LEN], other[WARD_UUID_STR_LEN];
    add_ok(s, id[0], e->host[0], "ping", T0 + 300, T0 + HOUR_MS);
    add_ok(s, id[1], e->host[0], "ping", T0 + 100, T0 + HOUR_MS);
    add_ok(s, id[2], e->host[0], "ping", T0 + 200, T0 + HOUR_MS);
    add_ok(s, id[3], e->host[0], "ping", T0 + 200, T0 + HOUR_MS);
    add_ok(s, other, e->host[1], "ping", T0, T0 + HOUR_MS);
    const char *lo = strcmp(id[2], id[3]) < 0 ? id[2] : id[3];
    const char *hi = lo == id[2] ? id[3] : id[2];

    dispatch_ok(s, e->host[0], T0 + 1000, id[1]);
    dispatch_ok(s, e->host[0], T0 + 1001, lo);
    dispatch_ok(s, e->host[0], T0 + 1002, hi);
    dispatch_ok(s, e->host[0], T0 + 1003, id[0]);
    struct cmds l = {0};
    assert_int_equal(ward_store_command_dispatch(s, e->host[0], T0 + 1004, collect_cmd, &l),
                     WARD_E_NOT_FOUND);
    assert_int_equal(l.n, 0);

    /* What dispatch handed out is stored so. */
    l = get_ok(s, id[1]);
    assert_string_equal(l.v[0].state, "dispatched");
    assert_int_equal(l.v[0].dispatched_ms, T0 + 1000);
    assert_int_equal(l.v[0].finished_ms, 0);
    cmds_free(&l);
    /* The other host's command was not handed out. */
    assert_state(s, other, "queued");
    dispatch_ok(s, e->host[1], T0 + 1005, other);

    /* A callback that fails does not undo the dispatch. */
    char late[WARD_UUID_STR_LEN];
    add_ok(s, late, e->host[0], "ping", T0 + 400, T0 + HOUR_MS);
    l.result = -42;
    assert_int_equal(ward_store_command_dispatch(s, e->host[0], T0 + 2000, collect_cmd, &l), -42);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].id, late);
    cmds_free(&l);
    assert_state(s, late, "dispatched");
    ward_store_close(s);
}

static void test_command_dispatch_skips_expired(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    make_host(s, e->host[0]);
    char gone[WARD_UUID_STR_LEN], edge[WARD_UUID_STR_LEN], live[WARD_UUID_STR_LEN];
    add_ok(s, gone, e->host[0], "ping", T0, T0 + 10000);
    add_ok(s, edge, e->host[0], "ping", T0 + 1, T0 + 20000);
    add_ok(s, live, e->host[0], "ping", T0 + 2, T0 + 20001);
    /* An expiry at exactly now counts as expired. */
    dispatch_ok(s, e->host[0], T0 + 20000, live);
    struct cmds l = {0};
    assert_int_equal(ward_store_command_dispatch(s, e->host[0], T0 + 20000, collect_cmd, &l),
                     WARD_E_NOT_FOUND);
    assert_int_equal(l.n, 0);
    /* Skipped ones stay queued until expired; at an earlier now they are still handed out. */
    assert_state(s, gone, "queued");
    assert_state(s, edge, "queued");
    dispatch_ok(s, e->host[0], T0 + 15000, edge);
    dispatch_ok(s, e->host[0], T0 + 5000, gone);
    ward_store_close(s);
}

static void test_command_dispatch_none(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    struct cmds l = {0};
    /* An unknown host, and a known one without commands. */
    assert_int_equal(ward_store_command_dispatch(s, e->host[0], T0, collect_cmd, &l),
                     WARD_E_NOT_FOUND);
    make_host(s, e->host[0]);
    assert_int_equal(ward_store_command_dispatch(s, e->host[0], T0, collect_cmd, &l),
                     WARD_E_NOT_FOUND);
    /* Nothing but a finished command. */
    char id[WARD_UUID_STR_LEN];
    add_ok(s, id, e->host[0], "ping", T0, T0 + HOUR_MS);
    dispatch_ok(s, e->host[0], T0 + 1, id);
    assert_int_equal(ward_store_command_dispatch(s, e->host[0], T0 + 2, collect_cmd, &l),
                     WARD_E_NOT_FOUND);
    struct ward_command_result res = result("failed", 1, NULL, T0 + 3);
    assert_int_equal(ward_store_command_finish(s, id, e->host[0], &res), 0);
    assert_int_equal(ward_store_command_dispatch(s, e->host[0], T0 + 4, collect_cmd, &l),
                     WARD_E_NOT_FOUND);
    assert_int_equal(l.n, 0);
    ward_store_close(s);
}

/* ---- Results ---- */

static void test_command_finish_from_dispatched_only(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    make_host(s, e->host[0]);
    make_host(s, e->host[1]);
    char id[WARD_UUID_STR_LEN], nobody[WARD_UUID_STR_LEN];
    assert_int_equal(ward_uuid_v7(nobody), 0);
    add_ok(s, id, e->host[0], "ping", T0, T0 + HOUR_MS);
    struct ward_command_result res = result("done", 0, "pong", T0 + 500);

    /* Queued, not dispatched: nothing to finish yet. */
    assert_int_equal(ward_store_command_finish(s, id, e->host[0], &res), -EALREADY);
    assert_state(s, id, "queued");
    dispatch_ok(s, e->host[0], T0 + 100, id);

    /* Only its own host may report it. */
    assert_int_equal(ward_store_command_finish(s, id, e->host[1], &res), WARD_E_NOT_FOUND);
    assert_int_equal(ward_store_command_finish(s, nobody, e->host[0], &res), WARD_E_NOT_FOUND);
    assert_state(s, id, "dispatched");

    assert_int_equal(ward_store_command_finish(s, id, e->host[0], &res), 0);
    /* Once finished, a second report, even another, changes nothing. */
    struct ward_command_result other = result("failed", 9, "late", T0 + 900);
    assert_int_equal(ward_store_command_finish(s, id, e->host[0], &res), -EALREADY);
    assert_int_equal(ward_store_command_finish(s, id, e->host[0], &other), -EALREADY);
    assert_int_equal(ward_store_command_finish(s, id, e->host[1], &res), WARD_E_NOT_FOUND);

    struct cmds l = get_ok(s, id);
    assert_string_equal(l.v[0].state, "done");
    assert_string_equal(l.v[0].output, "pong");
    assert_int_equal(l.v[0].finished_ms, T0 + 500);
    assert_int_equal(l.v[0].dispatched_ms, T0 + 100);
    cmds_free(&l);

    /* The audit log has one entry per change, none for the refused reports. */
    struct auds a = audit_of(s, (struct ward_audit_filter){.command_id = id});
    assert_int_equal(a.n, 3);
    auds_free(&a);
    ward_store_close(s);
}

static void test_command_output_round_trip(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    make_host(s, e->host[0]);
    enum {
        BIG = 256 * 1024
    };
    /* Every byte but NUL, invalid UTF-8 included, over 256 KiB. */
    char *big = malloc(BIG + 1);
    assert_non_null(big);
    for (size_t i = 0; i < BIG; i++)
        big[i] = (char)(1 + (i * 7 + i / 255) % 255);
    big[BIG] = '\0';
    static const char odd[] = "tab\there\r\nquote\" backslash\\ \x01\x7f\xc3\x28\xff\xfe end";

    struct {
        const char *state, *error, *output;
        size_t len;
        int64_t exit_code;
        bool truncated;
    } cases[] = {
        {"done", NULL, odd, sizeof(odd) - 1, 0, false},
        {"done", NULL, big, BIG, 3, true},
        {"failed", "diagnostic not allowed", NULL, 0, -95, false},
        {"failed", "timed out", "", 0, -110, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char id[WARD_UUID_STR_LEN];
        add_ok(s, id, e->host[0], "ping", T0 + (int64_t)i, T0 + HOUR_MS);
        dispatch_ok(s, e->host[0], T0 + 100, id);
        struct ward_command_result res = {
            .state = cases[i].state,
            .exit_code = cases[i].exit_code,
            .error = cases[i].error,
            .output = cases[i].output,
            .output_len = cases[i].len,
            .truncated = cases[i].truncated,
            .finished_ms = T0 + 200 + (int64_t)i,
        };
        assert_int_equal(ward_store_command_finish(s, id, e->host[0], &res), 0);
        if (e->backend->persistent && i == 1) {
            ward_store_close(s);
            s = open_ok(e->dsn);
        }

        struct cmds l = get_ok(s, id);
        struct cmd *k = &l.v[0];
        assert_string_equal(k->state, cases[i].state);
        assert_int_equal(k->exit_code, cases[i].exit_code);
        assert_int_equal(k->output_bytes, (int64_t)cases[i].len);
        assert_int_equal(k->truncated, cases[i].truncated);
        assert_int_equal(k->finished_ms, T0 + 200 + (int64_t)i);
        if (cases[i].error)
            assert_string_equal(k->error, cases[i].error);
        else
            assert_null(k->error);
        if (cases[i].output) {
            assert_non_null(k->output);
            assert_memory_equal(k->output, cases[i].output, cases[i].len);
            assert_int_equal(k->output[cases[i].len], '\0');
        } else {
            assert_null(k->output);
        }
        cmds_free(&l);
    }
    free(big);
    ward_store_close(s);
}

/* ---- Expiry and pruning ---- */

static int stop_at_first(const struct ward_command *c, void *userdata)
{
    (void)c;
    (*(int *)userdata)++;
    return -7;
}

static void test_command_expire(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    make_host(s, e->host[0]);
    make_host(s, e->host[1]);
    /* host[0]: queued ones; host[1]: dispatched ones. Times are small (see the top). */
    char q_old[WARD_UUID_STR_LEN], q_edge[WARD_UUID_STR_LEN], q_live[WARD_UUID_STR_LEN];
    add_ok(s, q_old, e->host[0], "ping", 1000, 5000);
    add_ok(s, q_edge, e->host[0], "ping", 1001, 10000);
    add_ok(s, q_live, e->host[0], "ping", 1002, 10001);
    char d_done[WARD_UUID_STR_LEN], d_late[WARD_UUID_STR_LEN], d_edge[WARD_UUID_STR_LEN];
    add_ok(s, d_done, e->host[1], "ping", 100, 20000);
    add_ok(s, d_late, e->host[1], "ping", 200, 20000);
    add_ok(s, d_edge, e->host[1], "ping", 300, 20000);
    dispatch_ok(s, e->host[1], 2000, d_done);
    dispatch_ok(s, e->host[1], 8000, d_late);
    dispatch_ok(s, e->host[1], 9000, d_edge);
    struct ward_command_result res = result("done", 0, "ok", 2500);
    assert_int_equal(ward_store_command_finish(s, d_done, e->host[1], &res), 0);

    struct cmds l = {0};
    int n = ward_store_command_expire(s, 10000, 9000, collect_cmd, &l);
    assert_count(e, n, 3);
    assert_int_equal((size_t)n, l.n);
    /* Oldest first, each as it is after the change. */
    const char *want[3] = {d_late, q_old, q_edge};
    size_t mine = 0;
    for (size_t i = 0; i < l.n; i++) {
        struct cmd *k = &l.v[i];
        assert_string_equal(k->state, "expired");
        assert_int_equal(k->finished_ms, 10000);
        if (mine == 3 || strcmp(k->id, want[mine]) != 0)
            continue;
        mine++;
        if (strcmp(k->host_id, e->host[1]) == 0) {
            assert_string_equal(k->error, "no result in time");
            assert_int_equal(k->dispatched_ms, 8000);
        } else {
            assert_string_equal(k->error, "not picked up before it expired");
            assert_int_equal(k->dispatched_ms, 0);
        }
    }
    assert_int_equal(mine, 3);
    cmds_free(&l);

    assert_state(s, q_live, "queued");
    assert_state(s, d_edge, "dispatched");
    assert_state(s, d_done, "done");
    /* Expired is final: no dispatch, no result. */
    assert_int_equal(ward_store_command_finish(s, d_late, e->host[1], &res), -EALREADY);
    assert_int_equal(ward_store_command_expire(s, 10000, 9000, collect_cmd, &l), 0);
    assert_int_equal(l.n, 0);
    dispatch_ok(s, e->host[0], 10000, q_live);
    assert_int_equal(ward_store_command_finish(s, d_edge, e->host[1], &res), 0);

    struct auds a = audit_of(s, (struct ward_audit_filter){.command_id = d_late});
    assert_int_equal(a.n, 3);
    assert_string_equal(a.v[0].event, "expired");
    assert_string_equal(a.v[0].actor, "server");
    assert_int_equal(a.v[0].ts_ms, 10000);
    assert_string_equal(a.v[0].detail, "{\"reason\":\"no result in time\"}");
    auds_free(&a);
    a = audit_of(s, (struct ward_audit_filter){.command_id = q_old});
    assert_int_equal(a.n, 2);
    assert_string_equal(a.v[0].detail, "{\"reason\":\"not picked up before it expired\"}");
    assert_string_equal(a.v[1].event, "queued");
    auds_free(&a);

    /* Without a callback; and a callback that fails stops the calls, not the expiry. */
    char more[2][WARD_UUID_STR_LEN];
    add_ok(s, more[0], e->host[0], "ping", 3000, 11000);
    assert_count(e, ward_store_command_expire(s, 11000, 0, NULL, NULL), 1);
    assert_state(s, more[0], "expired");
    add_ok(s, more[0], e->host[0], "ping", 3000, 12000);
    add_ok(s, more[1], e->host[0], "ping", 3001, 12000);
    int calls = 0;
    assert_int_equal(ward_store_command_expire(s, 12000, 0, stop_at_first, &calls), -7);
    assert_int_equal(calls, 1);
    assert_state(s, more[0], "expired");
    assert_state(s, more[1], "expired");
    ward_store_close(s);
}

static void test_command_prune(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    make_host(s, e->host[0]);
    /* Small times (see the top), below those of the expiry test. */
    char done[WARD_UUID_STR_LEN], failed[WARD_UUID_STR_LEN], queued[WARD_UUID_STR_LEN],
        running[WARD_UUID_STR_LEN];
    add_ok(s, done, e->host[0], "ping", 100, 1000000);
    add_ok(s, failed, e->host[0], "ping", 101, 1000000);
    add_ok(s, running, e->host[0], "ping", 102, 1000000);
    add_ok(s, queued, e->host[0], "ping", 103, 1000000);
    dispatch_ok(s, e->host[0], 150, done);
    dispatch_ok(s, e->host[0], 150, failed);
    dispatch_ok(s, e->host[0], 150, running);
    struct ward_command_result ok = result("done", 0, "ok", 200);
    struct ward_command_result bad = result("failed", 1, "no", 300);
    assert_int_equal(ward_store_command_finish(s, done, e->host[0], &ok), 0);
    assert_int_equal(ward_store_command_finish(s, failed, e->host[0], &bad), 0);

    /* Commands finished before 250, entries before 160: the queued and dispatched ones. */
    assert_count(e, ward_store_command_prune(s, 250, 160), 1);
    struct cmds l = {0};
    assert_int_equal(ward_store_command_get(s, done, collect_cmd, &l), WARD_E_NOT_FOUND);
    assert_state(s, failed, "failed");
    assert_state(s, running, "dispatched");
    assert_state(s, queued, "queued");
    struct auds a = audit_of(s, (struct ward_audit_filter){.host_id = e->host[0]});
    assert_int_equal(a.n, 2);
    assert_string_equal(a.v[0].command_id, failed);
    assert_string_equal(a.v[0].event, "failed");
    /* An entry outlives its command. */
    assert_string_equal(a.v[1].command_id, done);
    assert_string_equal(a.v[1].event, "done");
    auds_free(&a);

    /* A bound at a finish time keeps it; unfinished commands are never pruned. */
    assert_count(e, ward_store_command_prune(s, 300, 0), 0);
    assert_count(e, ward_store_command_prune(s, 301, 0), 1);
    assert_int_equal(ward_store_command_get(s, failed, collect_cmd, &l), WARD_E_NOT_FOUND);
    l = list_of(s, (struct ward_command_filter){.host_id = e->host[0]});
    assert_int_equal(l.n, 2);
    cmds_free(&l);
    a = audit_of(s, (struct ward_audit_filter){.host_id = e->host[0]});
    assert_int_equal(a.n, 2);
    auds_free(&a);
    assert_count(e, ward_store_command_prune(s, 0, 201), 0);
    a = audit_of(s, (struct ward_audit_filter){.host_id = e->host[0]});
    assert_int_equal(a.n, 1);
    assert_string_equal(a.v[0].command_id, failed);
    auds_free(&a);
    ward_store_close(s);
}

/* ---- The audit log ---- */

static void test_command_audit_lifecycle(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    make_host(s, e->host[0]);
    char ok[WARD_UUID_STR_LEN], bad[WARD_UUID_STR_LEN];
    struct ward_command c = command(ok, e->host[0], "ping", T0, T0 + HOUR_MS);
    c.args = "{\"count\":\"3\",\"target\":\"10.0.0.1\"}";
    c.requested_by = "ops \"night\" token";
    assert_int_equal(ward_store_command_add(s, &c, 10), 0);
    struct ward_command d = command(bad, e->host[0], "tcpdump", T0 + 1, T0 + HOUR_MS);
    assert_int_equal(ward_store_command_add(s, &d, 10), 0);

    dispatch_ok(s, e->host[0], T0 + 5000, ok);
    dispatch_ok(s, e->host[0], T0 + 5001, bad);
    struct ward_command_result res = result("done", 0, "hello", T0 + 7000);
    assert_int_equal(ward_store_command_finish(s, ok, e->host[0], &res), 0);
    struct ward_command_result fail = result("failed", -95, "abc", T0 + 8000);
    fail.error = "diagnostic \"tcpdump\" not allowed\n";
    fail.truncated = true;
    assert_int_equal(ward_store_command_finish(s, bad, e->host[0], &fail), 0);

    struct {
        const char *command, *actor, *event, *detail;
        int64_t ts;
    } want[] = {
        {ok, "ops \"night\" token", "queued",
         "{\"type\":\"ping\",\"args\":{\"count\":\"3\",\"target\":\"10.0.0.1\"}}", T0},
        {bad, "admin", "queued", "{\"type\":\"tcpdump\",\"args\":{}}", T0 + 1},
        {ok, "agent", "dispatched", "{}", T0 + 5000},
        {bad, "agent", "dispatched", "{}", T0 + 5001},
        {ok, "agent", "done", "{\"exit_code\":0,\"output_bytes\":5,\"truncated\":false}",
         T0 + 7000},
        {bad, "agent", "failed",
         "{\"exit_code\":-95,\"output_bytes\":3,\"truncated\":true,"
         "\"error\":\"diagnostic \\\"tcpdump\\\" not allowed\\n\"}",
         T0 + 8000},
    };
    enum {
        N = sizeof(want) / sizeof(want[0])
    };
    /* Newest first, so the lifecycle reads backwards. */
    struct auds a = audit_of(s, (struct ward_audit_filter){.host_id = e->host[0]});
    assert_int_equal(a.n, N);
    for (size_t i = 0; i < N; i++) {
        struct aud *x = &a.v[N - 1 - i];
        assert_string_equal(x->command_id, want[i].command);
        assert_string_equal(x->host_id, e->host[0]);
        assert_string_equal(x->actor, want[i].actor);
        assert_string_equal(x->event, want[i].event);
        assert_string_equal(x->detail, want[i].detail);
        assert_int_equal(x->ts_ms, want[i].ts);
        if (i > 0)
            assert_true(x->id > a.v[N - i].id);
    }
    auds_free(&a);

    /* By command, with a limit, and all filters at once. */
    a = audit_of(s, (struct ward_audit_filter){.command_id = ok});
    assert_int_equal(a.n, 3);
    assert_string_equal(a.v[0].event, "done");
    assert_string_equal(a.v[1].event, "dispatched");
    assert_string_equal(a.v[2].event, "queued");
    auds_free(&a);
    a = audit_of(s, (struct ward_audit_filter){.host_id = e->host[0], .limit = 2});
    assert_int_equal(a.n, 2);
    assert_string_equal(a.v[0].event, "failed");
    assert_string_equal(a.v[1].event, "done");
    auds_free(&a);
    a = audit_of(s, (struct ward_audit_filter){.host_id = e->host[0],
                                               .command_id = bad,
                                               .tenant_id = WARD_DEFAULT_TENANT});
    assert_int_equal(a.n, 3);
    auds_free(&a);
    a = audit_of(s, (struct ward_audit_filter){.host_id = e->host[1], .command_id = bad});
    assert_int_equal(a.n, 0);
    auds_free(&a);
    /* Without a filter: this test's entries are the newest, unless tests run side by side. */
    a = audit_of(s, (struct ward_audit_filter){0});
    assert_true(a.n >= N);
    for (size_t i = 1; i < a.n; i++)
        assert_true(a.v[i - 1].id > a.v[i].id);
    auds_free(&a);
    ward_store_close(s);
}

/* Makes a tenant with one section and moves host there. */
static void move_to_new_tenant(struct ward_store *s, const struct store_env *e, const char *host,
                               const char *what, char tenant[WARD_STORE_ID_LEN])
{
    char name[64], section[WARD_STORE_ID_LEN];
    tagged(e, what, name, sizeof(name));
    struct ward_group t = {.name = name};
    assert_int_equal(ward_store_group_add(s, &t, tenant), 0);
    struct ward_group sec = {.tenant_id = tenant, .name = "main"};
    assert_int_equal(ward_store_group_add(s, &sec, section), 0);
    struct ward_host_change ch = {.id = host, .section_id = section};
    assert_int_equal(ward_store_host_change(s, &ch), 0);
}

static void test_command_tenant_filter(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    make_host(s, e->host[0]);
    make_host(s, e->host[1]);
    char tenant[WARD_STORE_ID_LEN];
    move_to_new_tenant(s, e, e->host[1], "cmd-tenant", tenant);
    char mine[2][WARD_UUID_STR_LEN], theirs[WARD_UUID_STR_LEN];
    add_ok(s, mine[0], e->host[1], "ping", T0, T0 + HOUR_MS);
    add_ok(s, mine[1], e->host[1], "uptime", T0 + 1, T0 + HOUR_MS);
    add_ok(s, theirs, e->host[0], "ping", T0 + 2, T0 + HOUR_MS);

    struct cmds l = list_of(s, (struct ward_command_filter){.tenant_id = tenant});
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].id, mine[1]);
    assert_string_equal(l.v[1].id, mine[0]);
    cmds_free(&l);
    l = list_of(s, (struct ward_command_filter){.tenant_id = tenant, .type = "ping"});
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].id, mine[0]);
    cmds_free(&l);
    l = list_of(s, (struct ward_command_filter){.tenant_id = tenant, .host_id = e->host[0]});
    assert_int_equal(l.n, 0);
    cmds_free(&l);
    l = list_of(s, (struct ward_command_filter){.tenant_id = WARD_DEFAULT_TENANT, .limit = 1000});
    bool seen = false;
    for (size_t i = 0; i < l.n; i++) {
        assert_string_not_equal(l.v[i].host_id, e->host[1]);
        seen = seen || strcmp(l.v[i].id, theirs) == 0;
    }
    assert_true(seen);
    cmds_free(&l);

    struct auds a = audit_of(s, (struct ward_audit_filter){.tenant_id = tenant});
    assert_int_equal(a.n, 2);
    assert_string_equal(a.v[0].command_id, mine[1]);
    assert_string_equal(a.v[1].command_id, mine[0]);
    auds_free(&a);
    a = audit_of(s, (struct ward_audit_filter){.tenant_id = tenant, .host_id = e->host[0]});
    assert_int_equal(a.n, 0);
    auds_free(&a);

    /*
     * Commands and entries keep the tenant their host was in when they were
     * queued: a host moved to another tenant takes none of them along, and
     * the entries of a purged host stay its old tenant's, so an agent that
     * registers later under the purged id cannot see them from its tenant.
     */
    char other[WARD_STORE_ID_LEN];
    move_to_new_tenant(s, e, e->host[1], "cmd-other", other);
    l = list_of(s, (struct ward_command_filter){.tenant_id = other});
    assert_int_equal(l.n, 0);
    cmds_free(&l);
    a = audit_of(s, (struct ward_audit_filter){.tenant_id = other});
    assert_int_equal(a.n, 0);
    auds_free(&a);
    assert_int_equal(ward_store_host_purge(s, e->host[1]), 0);
    a = audit_of(s, (struct ward_audit_filter){.host_id = e->host[1], .tenant_id = tenant});
    assert_int_equal(a.n, 2);
    auds_free(&a);
    a = audit_of(s, (struct ward_audit_filter){.host_id = e->host[1], .tenant_id = other});
    assert_int_equal(a.n, 0);
    auds_free(&a);
    ward_store_close(s);
}

static void test_command_host_purge(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    make_host(s, e->host[0]);
    make_host(s, e->host[1]);
    char id[3][WARD_UUID_STR_LEN], kept[WARD_UUID_STR_LEN];
    add_ok(s, id[0], e->host[0], "ping", T0, T0 + HOUR_MS);
    add_ok(s, id[1], e->host[0], "ping", T0 + 1, T0 + HOUR_MS);
    add_ok(s, id[2], e->host[0], "ping", T0 + 2, T0 + HOUR_MS);
    add_ok(s, kept, e->host[1], "ping", T0, T0 + HOUR_MS);
    dispatch_ok(s, e->host[0], T0 + 10, id[0]);
    dispatch_ok(s, e->host[0], T0 + 11, id[1]);
    struct ward_command_result res = result("done", 0, "ok", T0 + 20);
    assert_int_equal(ward_store_command_finish(s, id[0], e->host[0], &res), 0);

    assert_int_equal(ward_store_host_purge(s, e->host[0]), 0);
    struct cmds l = {0};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(ward_store_command_get(s, id[i], collect_cmd, &l), WARD_E_NOT_FOUND);
    l = list_of(s, (struct ward_command_filter){.host_id = e->host[0]});
    assert_int_equal(l.n, 0);
    assert_int_equal(ward_store_command_dispatch(s, e->host[0], T0 + 30, collect_cmd, &l),
                     WARD_E_NOT_FOUND);
    /* Its audit log stays: 3 queued, 2 dispatched, 1 done. */
    struct auds a = audit_of(s, (struct ward_audit_filter){.host_id = e->host[0]});
    assert_int_equal(a.n, 6);
    auds_free(&a);
    /* A purged host is unknown: no new commands for it. */
    char again[WARD_UUID_STR_LEN];
    struct ward_command c = command(again, e->host[0], "ping", T0, T0 + HOUR_MS);
    assert_int_equal(ward_store_command_add(s, &c, 10), WARD_E_NOT_FOUND);

    /* The other host keeps its command. */
    assert_state(s, kept, "queued");
    dispatch_ok(s, e->host[1], T0 + 40, kept);
    ward_store_close(s);
}

static void test_command_persistence(void **state)
{
    struct store_env *e = *state;
    if (!e->backend->persistent)
        skip();
    struct ward_store *s = open_ok(e->dsn);
    make_host(s, e->host[0]);
    char id[2][WARD_UUID_STR_LEN];
    struct ward_command c = command(id[0], e->host[0], "ping", T0, T0 + HOUR_MS);
    c.args = "{\"target\":\"example.org\"}";
    assert_int_equal(ward_store_command_add(s, &c, 10), 0);
    add_ok(s, id[1], e->host[0], "uptime", T0 + 1, T0 + HOUR_MS);
    dispatch_ok(s, e->host[0], T0 + 5, id[0]);
    ward_store_close(s);

    s = open_ok(e->dsn);
    struct cmds l = get_ok(s, id[1]);
    assert_string_equal(l.v[0].state, "queued");
    assert_string_equal(l.v[0].type, "uptime");
    cmds_free(&l);
    l = get_ok(s, id[0]);
    assert_string_equal(l.v[0].state, "dispatched");
    assert_string_equal(l.v[0].args, "{\"target\":\"example.org\"}");
    assert_int_equal(l.v[0].dispatched_ms, T0 + 5);
    cmds_free(&l);
    /* The queue goes on where it was. */
    dispatch_ok(s, e->host[0], T0 + 6, id[1]);
    struct ward_command_result res = result("done", 0, "up", T0 + 7);
    assert_int_equal(ward_store_command_finish(s, id[0], e->host[0], &res), 0);
    struct auds a = audit_of(s, (struct ward_audit_filter){.host_id = e->host[0]});
    assert_int_equal(a.n, 5);
    auds_free(&a);
    ward_store_close(s);
}

/* ---- Threads ---- */

enum {
    DISPATCH_THREADS = 4,
    DISPATCH_COMMANDS = 200
};

struct dispatcher {
    struct ward_store *s;
    const char *host;
    char ids[DISPATCH_COMMANDS][WARD_UUID_STR_LEN];
    size_t n;
    atomic_int *failures;
};

static int remember(const struct ward_command *c, void *userdata)
{
    struct dispatcher *d = userdata;
    if (d->n == DISPATCH_COMMANDS || strlen(c->id) >= WARD_UUID_STR_LEN ||
        strcmp(c->state, "dispatched") != 0)
        return -EOVERFLOW;
    memcpy(d->ids[d->n++], c->id, strlen(c->id) + 1);
    return 0;
}

static void *dispatch_all(void *arg)
{
    struct dispatcher *d = arg;
    for (;;) {
        int r = ward_store_command_dispatch(d->s, d->host, T0 + 1000, remember, d);
        if (r == WARD_E_NOT_FOUND)
            break;
        if (r != 0) {
            atomic_fetch_add(d->failures, 1);
            break;
        }
    }
    return NULL;
}

static int id_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_command_concurrent_dispatch(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    make_host(s, e->host[0]);
    static char queued[DISPATCH_COMMANDS][WARD_UUID_STR_LEN];
    for (int i = 0; i < DISPATCH_COMMANDS; i++) {
        struct ward_command c = command(queued[i], e->host[0], "ping", T0 + i, T0 + HOUR_MS);
        assert_int_equal(ward_store_command_add(s, &c, DISPATCH_COMMANDS), 0);
    }

    atomic_int failures = 0;
    struct dispatcher *d = calloc(DISPATCH_THREADS, sizeof(*d));
    assert_non_null(d);
    pthread_t t[DISPATCH_THREADS];
    for (int i = 0; i < DISPATCH_THREADS; i++) {
        d[i] = (struct dispatcher){.s = s, .host = e->host[0], .failures = &failures};
        assert_int_equal(pthread_create(&t[i], NULL, dispatch_all, &d[i]), 0);
    }
    for (int i = 0; i < DISPATCH_THREADS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&failures), 0);

    /* Every command handed out exactly once, across the threads. */
    static char got[DISPATCH_COMMANDS][WARD_UUID_STR_LEN];
    size_t n = 0;
    for (int i = 0; i < DISPATCH_THREADS; i++) {
        assert_true(n + d[i].n <= DISPATCH_COMMANDS);
        memcpy(got[n], d[i].ids, d[i].n * WARD_UUID_STR_LEN);
        n += d[i].n;
    }
    assert_int_equal(n, DISPATCH_COMMANDS);
    qsort(got, n, WARD_UUID_STR_LEN, id_cmp);
    qsort(queued, n, WARD_UUID_STR_LEN, id_cmp);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(got[i], queued[i]);
    free(d);

    struct cmds l = list_of(s, (struct ward_command_filter){
                                   .host_id = e->host[0], .state = "dispatched", .limit = 1000});
    assert_int_equal(l.n, DISPATCH_COMMANDS);
    cmds_free(&l);
    struct auds a = audit_of(s, (struct ward_audit_filter){.host_id = e->host[0], .limit = 1000});
    assert_int_equal(a.n, 2 * DISPATCH_COMMANDS);
    auds_free(&a);
    ward_store_close(s);
}

/* ---- Arguments ---- */

static int never_command(const struct ward_command *c, void *userdata)
{
    (void)c;
    (*(int *)userdata)++;
    return 0;
}

static int never_audit(const struct ward_audit_entry *a, void *userdata)
{
    (void)a;
    (*(int *)userdata)++;
    return 0;
}

static void test_command_invalid_arguments(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    make_host(s, e->host[0]);
    int calls = 0;
    char id[WARD_UUID_STR_LEN];
    struct ward_command c = command(id, e->host[0], "ping", T0, T0 + HOUR_MS);
    struct ward_command bad[10] = {c, c, c, c, c, c, c, c, c, c};
    bad[0].id = NULL;
    bad[1].id = "";
    bad[2].host_id = NULL;
    bad[3].host_id = "";
    bad[4].type = NULL;
    bad[5].type = "";
    bad[6].args = NULL;
    bad[7].args = "";
    bad[8].requested_by = NULL;
    bad[9].requested_by = "";
    assert_int_equal(ward_store_command_add(NULL, &c, 10), -EINVAL);
    assert_int_equal(ward_store_command_add(s, NULL, 10), -EINVAL);
    for (size_t i = 0; i < 10; i++)
        assert_int_equal(ward_store_command_add(s, &bad[i], 10), -EINVAL);

    assert_int_equal(ward_store_command_dispatch(NULL, e->host[0], T0, never_command, &calls),
                     -EINVAL);
    assert_int_equal(ward_store_command_dispatch(s, NULL, T0, never_command, &calls), -EINVAL);
    assert_int_equal(ward_store_command_dispatch(s, "", T0, never_command, &calls), -EINVAL);
    assert_int_equal(ward_store_command_dispatch(s, e->host[0], T0, NULL, NULL), -EINVAL);

    struct ward_command_result res = result("done", 0, "x", T0);
    struct ward_command_result rbad[4] = {res, res, res, res};
    rbad[0].state = NULL;
    rbad[1].state = "queued";
    rbad[2].state = "expired";
    rbad[3].output = NULL; /* with a length */
    assert_int_equal(ward_store_command_finish(NULL, id, e->host[0], &res), -EINVAL);
    assert_int_equal(ward_store_command_finish(s, NULL, e->host[0], &res), -EINVAL);
    assert_int_equal(ward_store_command_finish(s, "", e->host[0], &res), -EINVAL);
    assert_int_equal(ward_store_command_finish(s, id, NULL, &res), -EINVAL);
    assert_int_equal(ward_store_command_finish(s, id, "", &res), -EINVAL);
    assert_int_equal(ward_store_command_finish(s, id, e->host[0], NULL), -EINVAL);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(ward_store_command_finish(s, id, e->host[0], &rbad[i]), -EINVAL);

    assert_int_equal(ward_store_command_get(NULL, id, never_command, &calls), -EINVAL);
    assert_int_equal(ward_store_command_get(s, NULL, never_command, &calls), -EINVAL);
    assert_int_equal(ward_store_command_get(s, "", never_command, &calls), -EINVAL);
    assert_int_equal(ward_store_command_get(s, id, NULL, NULL), -EINVAL);
    struct ward_command_filter f = {.host_id = e->host[0]};
    assert_int_equal(ward_store_command_list(NULL, &f, never_command, &calls), -EINVAL);
    assert_int_equal(ward_store_command_list(s, &f, NULL, NULL), -EINVAL);
    assert_int_equal(ward_store_command_expire(NULL, T0, T0, never_command, &calls), -EINVAL);
    assert_int_equal(ward_store_command_prune(NULL, T0, T0), -EINVAL);
    struct ward_audit_filter af = {.host_id = e->host[0]};
    assert_int_equal(ward_store_audit_list(NULL, &af, never_audit, &calls), -EINVAL);
    assert_int_equal(ward_store_audit_list(s, &af, NULL, NULL), -EINVAL);
    assert_int_equal(calls, 0);

    /* Nothing above reached the store. A NULL filter lists everything. */
    int any = 0;
    assert_int_equal(ward_store_command_list(s, NULL, never_command, &any), 0);
    assert_int_equal(ward_store_audit_list(s, NULL, never_audit, &any), 0);
    assert_int_equal(ward_store_command_list(s, &f, never_command, &calls), 0);
    assert_int_equal(ward_store_audit_list(s, &af, never_audit, &calls), 0);
    assert_int_equal(calls, 0);
    ward_store_close(s);
}

const struct CMUnitTest store_command_tests[] = {
    T(test_command_add_get_list),
    T(test_command_depth_cap),
    T(test_command_unknown_host),
    T(test_command_dispatch_order),
    T(test_command_dispatch_skips_expired),
    T(test_command_dispatch_none),
    T(test_command_finish_from_dispatched_only),
    T(test_command_output_round_trip),
    T(test_command_expire),
    T(test_command_prune),
    T(test_command_audit_lifecycle),
    T(test_command_tenant_filter),
    T(test_command_host_purge),
    T(test_command_persistence),
    T(test_command_concurrent_dispatch),
    T(test_command_invalid_arguments),
};

const size_t store_command_tests_count =
    sizeof(store_command_tests) / sizeof(store_command_tests[0]);
