/*
 * Conformance suite of the store, part four: the registry. Enrollment and
 * the lifecycle of hosts, host_get, host_change and host_purge,
 * credentials, tenants and sections, and central configuration, each with
 * the argument checks of its store.c wrapper. test-store.c runs it against
 * every backend; see there and test-store.h for how the tests stay
 * independent of each other's data.
 *
 * On a shared database (WARD_TEST_STORE_DSN) the tests meet tenants,
 * sections, credentials and configurations of other tests and earlier
 * runs, so every name and lookup a test makes carries its tag, lists are
 * filtered to what the test made, and versions are compared, never
 * expected to have a particular value.
 */
#include "test-store.h"

#include "common/cleanup.h"
#include "common/error.h"
#include "common/uuid.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Hex SHA-256 stand-ins: the store keeps claim token hashes and key hashes as given. */
#define HASH_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HASH_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HASH_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static char *dup_or_null(const char *s)
{
    char *p = s ? strdup(s) : NULL;
    if (s != NULL)
        assert_non_null(p);
    return p;
}

static void fresh_id(char id[WARD_UUID_STR_LEN])
{
    assert_int_equal(ward_uuid_v7(id), 0);
}

/* ---- Hosts ---- */

/* A host row, copied out of the callback. */
struct host_copy {
    size_t calls;
    char *id, *hostname, *ip_address, *os, *labels, *agent_version, *status;
    char *name, *section_id, *tenant_id, *claim_token_hash;
    int64_t last_seen_ms, created_ms, updated_ms;
};

static void host_copy_free(struct host_copy *h)
{
    char **fields[] = {&h->id,         &h->hostname,      &h->ip_address,      &h->os,
                       &h->labels,     &h->agent_version, &h->status,          &h->name,
                       &h->section_id, &h->tenant_id,     &h->claim_token_hash};
    for (size_t i = 0; i < WARD_ARRAY_SIZE(fields); i++) {
        free(*fields[i]);
        *fields[i] = NULL;
    }
    h->calls = 0;
}

static void host_copy_fill(struct host_copy *h, const struct ward_host_row *row)
{
    host_copy_free(h);
    h->id = dup_or_null(row->id);
    h->hostname = dup_or_null(row->hostname);
    h->ip_address = dup_or_null(row->ip_address);
    h->os = dup_or_null(row->os);
    h->labels = dup_or_null(row->labels);
    h->agent_version = dup_or_null(row->agent_version);
    h->status = dup_or_null(row->status);
    h->name = dup_or_null(row->name);
    h->section_id = dup_or_null(row->section_id);
    h->tenant_id = dup_or_null(row->tenant_id);
    h->claim_token_hash = dup_or_null(row->claim_token_hash);
    h->last_seen_ms = row->last_seen_ms;
    h->created_ms = row->created_ms;
    h->updated_ms = row->updated_ms;
}

static int copy_host(const struct ward_host_row *row, void *userdata)
{
    struct host_copy *h = userdata;
    size_t calls = h->calls;
    host_copy_fill(h, row);
    h->calls = calls + 1;
    return 0;
}

/* Fetches host id into h (freed by the caller); fails the test unless it is there. */
static void get_host(struct ward_store *s, const char *id, struct host_copy *h)
{
    host_copy_free(h);
    assert_int_equal(ward_store_host_get(s, id, copy_host, h), 0);
    assert_int_equal(h->calls, 1);
    assert_string_equal(h->id, id);
}

static struct ward_enrollment enrollment(const char *id, const char *hostname, const char *hash,
                                         bool activate)
{
    return (struct ward_enrollment){
        .id = id, .claim_token_hash = hash, .info = {.hostname = hostname}, .activate = activate};
}

/* Enrolls and checks the status the store reports. */
static void enroll_ok(struct ward_store *s, const struct ward_enrollment *e, const char *want)
{
    char status[WARD_STORE_STATUS_LEN] = "";
    assert_int_equal(ward_store_host_enroll(s, e, status), 0);
    assert_string_equal(status, want);
}

static void test_enroll_new_host(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    char name[64], other[64];
    tagged(e, "enroll", name, sizeof(name));
    tagged(e, "enroll-active", other, sizeof(other));

    struct ward_enrollment en = enrollment(e->host[0], name, HASH_A, false);
    en.info.ip_address = "10.1.0.1";
    en.info.os = "linux";
    en.info.agent_version = "2.0.0";
    enroll_ok(s, &en, "pending");

    struct host_copy h = {0};
    get_host(s, e->host[0], &h);
    assert_string_equal(h.hostname, name);
    assert_string_equal(h.ip_address, "10.1.0.1");
    assert_string_equal(h.os, "linux");
    assert_string_equal(h.labels, "{}");
    assert_string_equal(h.agent_version, "2.0.0");
    assert_string_equal(h.status, "pending");
    assert_string_equal(h.claim_token_hash, HASH_A);
    assert_string_equal(h.tenant_id, WARD_DEFAULT_TENANT);
    assert_string_equal(h.section_id, WARD_DEFAULT_SECTION);
    assert_null(h.name);
    assert_int_equal(h.last_seen_ms, 0);
    assert_true(h.created_ms > 0);

    /* An enrollment token makes the host active at once. */
    struct ward_enrollment act = enrollment(e->host[1], other, HASH_B, true);
    enroll_ok(s, &act, "active");
    get_host(s, e->host[1], &h);
    assert_string_equal(h.status, "active");
    assert_string_equal(h.hostname, other);
    assert_string_equal(h.claim_token_hash, HASH_B);
    assert_string_equal(h.tenant_id, WARD_DEFAULT_TENANT);
    host_copy_free(&h);
    ward_store_close(s);
}

static void test_enroll_again_same_hash(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    char name[64], renamed[64];
    tagged(e, "again", name, sizeof(name));
    tagged(e, "again-renamed", renamed, sizeof(renamed));

    struct ward_enrollment en = enrollment(e->host[0], name, HASH_A, false);
    en.info.ip_address = "10.1.0.2";
    en.info.agent_version = "1.0.0";
    enroll_ok(s, &en, "pending");

    /* The same agent again, upgraded: still pending, with what it tells now. */
    struct ward_enrollment up = enrollment(e->host[0], renamed, HASH_A, false);
    up.info.agent_version = "1.1.0";
    enroll_ok(s, &up, "pending");
    struct host_copy h = {0};
    get_host(s, e->host[0], &h);
    assert_string_equal(h.status, "pending");
    assert_string_equal(h.agent_version, "1.1.0");
    assert_string_equal(h.hostname, renamed);
    assert_string_equal(h.ip_address, "10.1.0.2"); /* not told: kept */
    assert_string_equal(h.claim_token_hash, HASH_A);

    /* An active host stays active when it enrolls again without a token. */
    struct ward_enrollment act = enrollment(e->host[1], name, HASH_B, true);
    enroll_ok(s, &act, "active");
    act.activate = false;
    act.info.agent_version = "3.0.0";
    enroll_ok(s, &act, "active");
    get_host(s, e->host[1], &h);
    assert_string_equal(h.status, "active");
    assert_string_equal(h.agent_version, "3.0.0");
    host_copy_free(&h);
    ward_store_close(s);
}

static void test_enroll_other_hash_refused(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    char name[64], thief[64];
    tagged(e, "owner", name, sizeof(name));
    tagged(e, "thief", thief, sizeof(thief));
    struct ward_enrollment en = enrollment(e->host[0], name, HASH_A, false);
    en.info.agent_version = "1.0.0";
    enroll_ok(s, &en, "pending");
    struct host_copy before = {0};
    get_host(s, e->host[0], &before);

    /* Another claim token, or none, cannot take the host over, even with activate. */
    struct ward_enrollment other = enrollment(e->host[0], thief, HASH_B, true);
    other.info.agent_version = "6.6.6";
    other.info.ip_address = "192.0.2.1";
    char status[WARD_STORE_STATUS_LEN] = "untouched";
    assert_int_equal(ward_store_host_enroll(s, &other, status), -EEXIST);
    other.claim_token_hash = NULL;
    assert_int_equal(ward_store_host_enroll(s, &other, status), -EEXIST);
    assert_string_equal(status, "untouched");

    struct host_copy h = {0};
    get_host(s, e->host[0], &h);
    assert_string_equal(h.hostname, name);
    assert_string_equal(h.agent_version, "1.0.0");
    assert_null(h.ip_address);
    assert_string_equal(h.status, "pending");
    assert_string_equal(h.claim_token_hash, HASH_A);
    assert_int_equal(h.updated_ms, before.updated_ms);
    host_copy_free(&h);
    host_copy_free(&before);
    ward_store_close(s);
}

static void test_enroll_ingested_host_refused(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    struct ward_sample v = gauge("cpu", "usage", "{}", T0, 1);
    assert_int_equal(ward_store_ingest(s, e->host[0], NULL, &v, 1), 0);

    /* The host exists without a claim token hash: no agent can claim it. */
    char name[64];
    tagged(e, "ingested", name, sizeof(name));
    struct ward_enrollment en = enrollment(e->host[0], name, HASH_A, false);
    char status[WARD_STORE_STATUS_LEN] = "untouched";
    assert_int_equal(ward_store_host_enroll(s, &en, status), -EEXIST);
    en.claim_token_hash = NULL;
    en.activate = true;
    assert_int_equal(ward_store_host_enroll(s, &en, status), -EEXIST);
    assert_string_equal(status, "untouched");

    struct host_copy h = {0};
    get_host(s, e->host[0], &h);
    assert_null(h.hostname);
    assert_null(h.claim_token_hash);
    assert_string_equal(h.status, "active");
    assert_string_equal(h.tenant_id, WARD_DEFAULT_TENANT);
    assert_string_equal(h.section_id, WARD_DEFAULT_SECTION);
    assert_true(h.last_seen_ms > 0);
    assert_int_equal(count(s, e->host[0]), 1);
    host_copy_free(&h);
    ward_store_close(s);
}

static void test_enroll_adopts_ingested_host_when_trusted(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    struct ward_sample v = gauge("cpu", "usage", "{}", T0, 1);
    assert_int_equal(ward_store_ingest(s, e->host[0], NULL, &v, 1), 0);

    /* An enrollment token vouches for the agent: it adopts the host, keeping its data. */
    char name[64];
    tagged(e, "adopted", name, sizeof(name));
    struct ward_enrollment en = enrollment(e->host[0], name, HASH_A, true);
    enroll_ok(s, &en, "active");
    struct host_copy h = {0};
    get_host(s, e->host[0], &h);
    assert_string_equal(h.claim_token_hash, HASH_A);
    assert_string_equal(h.hostname, name);
    host_copy_free(&h);
    assert_int_equal(count(s, e->host[0]), 1);
    /* From now on the hash binds it like any other agent. */
    en.claim_token_hash = HASH_B;
    char status[WARD_STORE_STATUS_LEN];
    assert_int_equal(ward_store_host_enroll(s, &en, status), -EEXIST);
    ward_store_close(s);
}

static void test_enroll_pending_activates(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    char name[64];
    tagged(e, "activate", name, sizeof(name));
    struct ward_enrollment en = enrollment(e->host[0], name, HASH_A, false);
    enroll_ok(s, &en, "pending");
    enroll_ok(s, &en, "pending");
    en.activate = true;
    enroll_ok(s, &en, "active");
    struct host_copy h = {0};
    get_host(s, e->host[0], &h);
    assert_string_equal(h.status, "active");
    assert_string_equal(h.claim_token_hash, HASH_A);
    host_copy_free(&h);
    ward_store_close(s);
}

static void test_enroll_after_deregister(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    char name[64];
    tagged(e, "dereg", name, sizeof(name));
    struct ward_enrollment en = enrollment(e->host[0], name, HASH_A, true);
    enroll_ok(s, &en, "active");
    struct ward_host_change ch = {.id = e->host[0], .status = "deregistered"};
    assert_int_equal(ward_store_host_change(s, &ch), 0);
    struct host_copy h = {0};
    get_host(s, e->host[0], &h);
    assert_string_equal(h.status, "deregistered");

    /*
     * Its id keeps its claim token: another token is refused (its data must
     * not change hands), and its own agent comes back "revoked", waiting
     * for a claim even with an enrollment token.
     */
    struct ward_enrollment other = enrollment(e->host[0], name, HASH_B, true);
    char status[WARD_STORE_STATUS_LEN] = "untouched";
    assert_int_equal(ward_store_host_enroll(s, &other, status), -EEXIST);
    assert_string_equal(status, "untouched");
    host_copy_free(&h);
    enroll_ok(s, &en, "revoked");
    get_host(s, e->host[0], &h);
    assert_string_equal(h.status, "revoked");
    assert_string_equal(h.claim_token_hash, HASH_A);
    enroll_ok(s, &en, "revoked");

    /* A claim (a change from "pending", which "revoked" matches) brings it back, once. */
    struct ward_host_change claim = {
        .id = e->host[0], .status = "active", .from_status = "pending"};
    assert_int_equal(ward_store_host_change(s, &claim), 0);
    assert_int_equal(ward_store_host_change(s, &claim), -EALREADY);
    struct ward_host_change unknown = {
        .id = e->host[1], .status = "active", .from_status = "pending"};
    assert_int_equal(ward_store_host_change(s, &unknown), WARD_E_NOT_FOUND);
    host_copy_free(&h);
    ward_store_close(s);
}

static int never_host(const struct ward_host_row *row, void *userdata)
{
    (void)row;
    (*(size_t *)userdata)++;
    return -1;
}

static void test_host_get_unknown(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    size_t calls = 0;
    assert_int_equal(ward_store_host_get(s, e->host[0], never_host, &calls), WARD_E_NOT_FOUND);
    /* A host made by another means is found; the callback's error comes back. */
    struct ward_sample v = gauge("cpu", "usage", "{}", T0, 1);
    assert_int_equal(ward_store_ingest(s, e->host[1], NULL, &v, 1), 0);
    assert_int_equal(ward_store_host_get(s, e->host[0], never_host, &calls), WARD_E_NOT_FOUND);
    assert_int_equal(calls, 0);
    assert_int_equal(ward_store_host_get(s, e->host[1], never_host, &calls), -1);
    assert_int_equal(calls, 1);
    ward_store_close(s);
}

/* Makes a tenant and a section in it, named after the test. */
static void make_section(struct ward_store *s, const struct store_env *e, const char *suffix,
                         char tenant[WARD_STORE_ID_LEN], char section[WARD_STORE_ID_LEN])
{
    char name[64];
    tagged(e, suffix, name, sizeof(name));
    struct ward_group t = {.name = name};
    assert_int_equal(ward_store_group_add(s, &t, tenant), 0);
    struct ward_group sec = {.tenant_id = tenant, .name = "main"};
    assert_int_equal(ward_store_group_add(s, &sec, section), 0);
}

static void test_host_change(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    char name[64], tenant[WARD_STORE_ID_LEN], section[WARD_STORE_ID_LEN];
    tagged(e, "change", name, sizeof(name));
    make_section(s, e, "change-tenant", tenant, section);
    struct ward_enrollment en = enrollment(e->host[0], name, HASH_A, false);
    en.info.agent_version = "1.0.0";
    enroll_ok(s, &en, "pending");

    struct ward_host_change ch = {
        .id = e->host[0], .status = "active", .section_id = section, .name = "web-1"};
    assert_int_equal(ward_store_host_change(s, &ch), 0);
    struct host_copy h = {0};
    get_host(s, e->host[0], &h);
    assert_string_equal(h.status, "active");
    assert_string_equal(h.section_id, section);
    assert_string_equal(h.tenant_id, tenant);
    assert_string_equal(h.name, "web-1");
    /* What the agent told stays. */
    assert_string_equal(h.hostname, name);
    assert_string_equal(h.agent_version, "1.0.0");
    assert_string_equal(h.claim_token_hash, HASH_A);

    /* NULL fields keep their values. */
    struct ward_host_change rename = {.id = e->host[0], .name = "web-2"};
    assert_int_equal(ward_store_host_change(s, &rename), 0);
    get_host(s, e->host[0], &h);
    assert_string_equal(h.name, "web-2");
    assert_string_equal(h.status, "active");
    assert_string_equal(h.section_id, section);
    struct ward_host_change nothing = {.id = e->host[0]};
    assert_int_equal(ward_store_host_change(s, &nothing), 0);
    get_host(s, e->host[0], &h);
    assert_string_equal(h.name, "web-2");
    assert_string_equal(h.status, "active");
    assert_string_equal(h.section_id, section);

    /* Back to the default section. */
    struct ward_host_change back = {.id = e->host[0], .section_id = WARD_DEFAULT_SECTION};
    assert_int_equal(ward_store_host_change(s, &back), 0);
    get_host(s, e->host[0], &h);
    assert_string_equal(h.section_id, WARD_DEFAULT_SECTION);
    assert_string_equal(h.tenant_id, WARD_DEFAULT_TENANT);
    assert_string_equal(h.name, "web-2");
    host_copy_free(&h);
    ward_store_close(s);
}

static void test_host_change_unknown(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    struct ward_host_change ch = {.id = e->host[1], .status = "active", .name = "ghost"};
    assert_int_equal(ward_store_host_change(s, &ch), WARD_E_NOT_FOUND);
    size_t calls = 0;
    assert_int_equal(ward_store_host_get(s, e->host[1], never_host, &calls), WARD_E_NOT_FOUND);

    char name[64], nowhere[WARD_STORE_ID_LEN];
    tagged(e, "change-unknown", name, sizeof(name));
    fresh_id(nowhere);
    struct ward_enrollment en = enrollment(e->host[0], name, HASH_A, false);
    enroll_ok(s, &en, "pending");
    struct host_copy before = {0};
    get_host(s, e->host[0], &before);

    /* An unknown section fails the whole change: the other fields are not applied either. */
    struct ward_host_change bad = {
        .id = e->host[0], .status = "active", .section_id = nowhere, .name = "lost"};
    assert_int_equal(ward_store_host_change(s, &bad), WARD_E_NOT_FOUND);
    /* A tenant's id is not a section's. */
    bad.section_id = WARD_DEFAULT_TENANT;
    assert_int_equal(ward_store_host_change(s, &bad), WARD_E_NOT_FOUND);
    struct host_copy h = {0};
    get_host(s, e->host[0], &h);
    assert_string_equal(h.status, "pending");
    assert_null(h.name);
    assert_string_equal(h.section_id, WARD_DEFAULT_SECTION);
    assert_int_equal(h.updated_ms, before.updated_ms);
    host_copy_free(&h);
    host_copy_free(&before);
    ward_store_close(s);
}

/* Copies the rows of the test's hosts, and checks every row of the list. */
struct host_list {
    const char *want[2];
    struct host_copy v[2];
    size_t rows;
    size_t bad; /* rows without a tenant or a section */
};

static int list_host(const struct ward_host_row *row, void *userdata)
{
    struct host_list *l = userdata;
    l->rows++;
    if (row->tenant_id == NULL || row->tenant_id[0] == '\0' || row->status == NULL)
        l->bad++;
    for (size_t i = 0; i < 2; i++)
        if (strcmp(row->id, l->want[i]) == 0)
            copy_host(row, &l->v[i]);
    return 0;
}

static void test_host_list_registry_fields(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    char name[64], tenant[WARD_STORE_ID_LEN], section[WARD_STORE_ID_LEN];
    tagged(e, "listed", name, sizeof(name));
    make_section(s, e, "list-tenant", tenant, section);
    struct ward_enrollment en = enrollment(e->host[0], name, HASH_A, true);
    enroll_ok(s, &en, "active");
    struct ward_host_change ch = {.id = e->host[0], .section_id = section, .name = "db-1"};
    assert_int_equal(ward_store_host_change(s, &ch), 0);
    struct ward_sample v = gauge("cpu", "usage", "{}", T0, 1);
    assert_int_equal(ward_store_ingest(s, e->host[1], NULL, &v, 1), 0);

    struct host_list l = {.want = {e->host[0], e->host[1]}};
    assert_int_equal(ward_store_host_list(s, list_host, &l), 0);
    assert_true(l.rows >= 2);
    assert_int_equal(l.bad, 0);
    assert_int_equal(l.v[0].calls, 1);
    assert_int_equal(l.v[1].calls, 1);
    assert_string_equal(l.v[0].name, "db-1");
    assert_string_equal(l.v[0].section_id, section);
    assert_string_equal(l.v[0].tenant_id, tenant);
    assert_string_equal(l.v[0].claim_token_hash, HASH_A);
    assert_string_equal(l.v[0].status, "active");
    assert_null(l.v[1].name);
    assert_null(l.v[1].claim_token_hash);
    assert_string_equal(l.v[1].section_id, WARD_DEFAULT_SECTION);
    assert_string_equal(l.v[1].tenant_id, WARD_DEFAULT_TENANT);
    host_copy_free(&l.v[0]);
    host_copy_free(&l.v[1]);
    ward_store_close(s);
}

/* ---- Purge ---- */

struct credential_copy {
    size_t calls;
    char *id, *kind, *lookup, *hash, *host_id, *tenant_id, *name;
    int64_t created_ms, revoked_ms;
};

static void credential_copy_free(struct credential_copy *c)
{
    char **fields[] = {&c->id,      &c->kind,      &c->lookup, &c->hash,
                       &c->host_id, &c->tenant_id, &c->name};
    for (size_t i = 0; i < WARD_ARRAY_SIZE(fields); i++) {
        free(*fields[i]);
        *fields[i] = NULL;
    }
    c->calls = 0;
}

static int copy_credential(const struct ward_credential *cr, void *userdata)
{
    struct credential_copy *c = userdata;
    size_t calls = c->calls;
    credential_copy_free(c);
    c->calls = calls + 1;
    c->id = dup_or_null(cr->id);
    c->kind = dup_or_null(cr->kind);
    c->lookup = dup_or_null(cr->lookup);
    c->hash = dup_or_null(cr->hash);
    c->host_id = dup_or_null(cr->host_id);
    c->tenant_id = dup_or_null(cr->tenant_id);
    c->name = dup_or_null(cr->name);
    c->created_ms = cr->created_ms;
    c->revoked_ms = cr->revoked_ms;
    return 0;
}

/* Finds the credential of lookup into c (freed by the caller); fails the test when absent. */
static void find_credential(struct ward_store *s, const char *lookup, struct credential_copy *c)
{
    credential_copy_free(c);
    assert_int_equal(ward_store_credential_find(s, lookup, copy_credential, c), 0);
    assert_int_equal(c->calls, 1);
    assert_string_equal(c->lookup, lookup);
}

/* An agent key of host, with a fresh id (written to id) and lookup "<tag>-<suffix>". */
static void add_key(struct ward_store *s, const struct store_env *e, const char *host,
                    const char *suffix, bool rotate, char id[WARD_STORE_ID_LEN], char lookup[64])
{
    fresh_id(id);
    tagged(e, suffix, lookup, 64);
    struct ward_credential c = {
        .id = id, .kind = "agent", .lookup = lookup, .hash = HASH_C, .host_id = host};
    assert_int_equal(ward_store_credential_add(s, &c, rotate), 0);
}

static int never_credential(const struct ward_credential *c, void *userdata)
{
    (void)c;
    (*(size_t *)userdata)++;
    return -1;
}

static int never_config(const char *body, int64_t version, int64_t updated_ms, void *userdata)
{
    (void)body;
    (void)version;
    (void)updated_ms;
    (*(size_t *)userdata)++;
    return -1;
}

static int count_point(size_t index, int64_t ts, double value, void *userdata)
{
    (void)index;
    (void)ts;
    (void)value;
    (*(size_t *)userdata)++;
    return 0;
}

static int count_series(const struct ward_series_row *row, void *userdata)
{
    (void)row;
    (*(size_t *)userdata)++;
    return 0;
}

/* Series of host (all of them, with their samples or not). */
static size_t series_of(struct ward_store *s, const char *host)
{
    struct ward_series_filter f = {.host_id = host};
    size_t n = 0;
    assert_int_equal(ward_store_series_list(s, &f, count_series, &n), 0);
    return n;
}

/* Points that ward_store_read() returns for ids. */
static size_t points_of(struct ward_store *s, const int64_t *ids, size_t n)
{
    size_t points = 0;
    assert_int_equal(ward_store_read(s, ids, n, INT64_MIN, INT64_MAX, count_point, &points), 0);
    return points;
}

struct latest_hosts {
    const char *host;
    size_t n;
};

static int latest_of_host(const struct ward_series_row *row, int64_t ts, double value,
                          void *userdata)
{
    (void)ts;
    (void)value;
    struct latest_hosts *l = userdata;
    if (strcmp(row->host_id, l->host) == 0)
        l->n++;
    return 0;
}

static size_t latest_of(struct ward_store *s, const char *host)
{
    struct latest_hosts l = {.host = host};
    assert_int_equal(ward_store_latest(s, latest_of_host, &l), 0);
    return l.n;
}

/* Twenty samples of two series for host, from T0 on. */
static void put_two_series(struct ward_store *s, const char *host, const struct ward_batch_key *b,
                           double base)
{
    struct ward_sample v[20];
    for (int i = 0; i < 20; i++)
        v[i] = gauge(i % 2 ? "cpu" : "ram", "usage", "{}", T0 + i / 2 * 1000, base + i);
    assert_int_equal(ward_store_ingest(s, host, b, v, 20), 0);
}

static void test_purge_host(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    char name[64];
    tagged(e, "purged", name, sizeof(name));
    struct ward_enrollment en = enrollment(e->host[0], name, HASH_A, true);
    enroll_ok(s, &en, "active");
    struct ward_batch_key b = {.boot = 1, .seq = 1};
    put_two_series(s, e->host[0], &b, 0);
    put_two_series(s, e->host[1], &b, 100);
    char id0[WARD_STORE_ID_LEN], id1[WARD_STORE_ID_LEN], lk0[64], lk1[64];
    add_key(s, e, e->host[0], "purge-key0", false, id0, lk0);
    add_key(s, e, e->host[1], "purge-key1", false, id1, lk1);
    int64_t version = 0;
    assert_int_equal(ward_store_config_set(s, "agent", e->host[0], "{\"a\":1}", &version), 0);
    assert_int_equal(ward_store_config_set(s, "agent", e->host[1], "{\"b\":2}", &version), 0);
    int64_t ids[2] = {series_id_of(s, e->host[0], "cpu", "usage", "{}"),
                      series_id_of(s, e->host[0], "ram", "usage", "{}")};
    int64_t other[2] = {series_id_of(s, e->host[1], "cpu", "usage", "{}"),
                        series_id_of(s, e->host[1], "ram", "usage", "{}")};
    assert_int_equal(points_of(s, ids, 2), 20);

    assert_int_equal(ward_store_host_purge(s, e->host[0]), 0);

    size_t calls = 0;
    assert_int_equal(ward_store_host_get(s, e->host[0], never_host, &calls), WARD_E_NOT_FOUND);
    assert_int_equal(series_of(s, e->host[0]), 0);
    assert_int_equal(points_of(s, ids, 2), 0);
    assert_int_equal(count(s, e->host[0]), 0);
    assert_int_equal(latest_of(s, e->host[0]), 0);
    assert_int_equal(ward_store_credential_find(s, lk0, never_credential, &calls),
                     WARD_E_NOT_FOUND);
    assert_int_equal(ward_store_config_get(s, "agent", e->host[0], never_config, &calls),
                     WARD_E_NOT_FOUND);
    assert_int_equal(calls, 0);
    struct host_list l = {.want = {e->host[0], e->host[1]}};
    assert_int_equal(ward_store_host_list(s, list_host, &l), 0);
    assert_int_equal(l.v[0].calls, 0);
    assert_int_equal(l.v[1].calls, 1);
    host_copy_free(&l.v[1]);

    /* The other host keeps everything. */
    assert_int_equal(series_of(s, e->host[1]), 2);
    assert_int_equal(points_of(s, other, 2), 20);
    assert_int_equal(count(s, e->host[1]), 20);
    assert_int_equal(latest_of(s, e->host[1]), 2);
    struct credential_copy c = {0};
    find_credential(s, lk1, &c);
    assert_string_equal(c.host_id, e->host[1]);
    assert_int_equal(c.revoked_ms, 0);
    credential_copy_free(&c);
    assert_int_equal(ward_store_config_get(s, "agent", e->host[1], never_config, &calls), -1);
    assert_int_equal(ward_store_ingest(s, e->host[1], &b, NULL, 0), 1);
    ward_store_close(s);
}

static void test_purge_unknown(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    assert_int_equal(ward_store_host_purge(s, e->host[0]), WARD_E_NOT_FOUND);
    struct ward_sample v = gauge("cpu", "usage", "{}", T0, 1);
    assert_int_equal(ward_store_ingest(s, e->host[1], NULL, &v, 1), 0);
    assert_int_equal(ward_store_host_purge(s, e->host[1]), 0);
    assert_int_equal(ward_store_host_purge(s, e->host[1]), WARD_E_NOT_FOUND);
    ward_store_close(s);
}

/*
 * A purged host that sends again starts from nothing: its series are made
 * anew, its batch keys are forgotten, and samples at the timestamps it had
 * before are stored, not taken for repeats. On SQLite this checks that the
 * writer's series cache and its head forgot the purged series.
 */
static void test_purge_then_ingest(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    struct ward_batch_key b = {.boot = 2, .seq = 1};
    put_two_series(s, e->host[0], &b, 0);
    put_two_series(s, e->host[1], &b, 100);

    /* host[1] made the newest series, so a backend may hand their ids out again. */
    for (int round = 0; round < 2; round++) {
        const char *host = e->host[1 - round];
        assert_int_equal(ward_store_host_purge(s, host), 0);
        put_two_series(s, host, &b, 1000);
        assert_int_equal(series_of(s, host), 2);
        assert_int_equal(count(s, host), 20);
        int64_t ids[2] = {series_id_of(s, host, "ram", "usage", "{}"),
                          series_id_of(s, host, "cpu", "usage", "{}")};
        assert_int_equal(points_of(s, ids, 2), 20);
        struct rows rs = run(s, all_of(host));
        assert_int_equal(rs.n, 20);
        for (size_t i = 0; i < rs.n; i++)
            assert_true(rs.v[i].value >= 1000);
        rows_free(&rs);

        /* The batch is known again, and the next samples find the new series. */
        assert_int_equal(ward_store_ingest(s, host, &b, NULL, 0), 1);
        struct ward_sample more = gauge("cpu", "usage", "{}", T0 + 60000, 7);
        assert_int_equal(ward_store_ingest(s, host, NULL, &more, 1), 0);
        assert_int_equal(points_of(s, &ids[1], 1), 11);
        assert_int_equal(series_of(s, host), 2);
        assert_int_equal(latest_of(s, host), 2);
    }
    /* The first host purged and written again is intact too. */
    assert_int_equal(count(s, e->host[1]), 21);
    ward_store_close(s);
}

/* ---- Credentials ---- */

static void test_credential_add_find(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    char id[WARD_STORE_ID_LEN], lookup[64];
    fresh_id(id);
    tagged(e, "key", lookup, sizeof(lookup));
    struct ward_credential key = {.id = id,
                                  .kind = "agent",
                                  .lookup = lookup,
                                  .hash = HASH_A,
                                  .host_id = e->host[0],
                                  .name = "laptop"};
    assert_int_equal(ward_store_credential_add(s, &key, false), 0);
    struct credential_copy c = {0};
    find_credential(s, lookup, &c);
    assert_string_equal(c.id, id);
    assert_string_equal(c.kind, "agent");
    assert_string_equal(c.hash, HASH_A);
    assert_string_equal(c.host_id, e->host[0]);
    assert_null(c.tenant_id);
    assert_string_equal(c.name, "laptop");
    assert_true(c.created_ms > 0);
    assert_int_equal(c.revoked_ms, 0);

    /* An admin token limited to a tenant, without a host or a name. */
    char tid[WARD_STORE_ID_LEN], tlookup[64];
    fresh_id(tid);
    tagged(e, "admin", tlookup, sizeof(tlookup));
    struct ward_credential admin = {.id = tid,
                                    .kind = "admin",
                                    .lookup = tlookup,
                                    .hash = HASH_B,
                                    .tenant_id = WARD_DEFAULT_TENANT};
    assert_int_equal(ward_store_credential_add(s, &admin, false), 0);
    find_credential(s, tlookup, &c);
    assert_string_equal(c.id, tid);
    assert_string_equal(c.kind, "admin");
    assert_string_equal(c.hash, HASH_B);
    assert_null(c.host_id);
    assert_string_equal(c.tenant_id, WARD_DEFAULT_TENANT);
    assert_null(c.name);
    assert_int_equal(c.revoked_ms, 0);

    char missing[64];
    tagged(e, "missing", missing, sizeof(missing));
    size_t calls = 0;
    assert_int_equal(ward_store_credential_find(s, missing, never_credential, &calls),
                     WARD_E_NOT_FOUND);
    assert_int_equal(calls, 0);
    assert_int_equal(ward_store_credential_find(s, lookup, never_credential, &calls), -1);
    credential_copy_free(&c);
    ward_store_close(s);
}

static void test_credential_duplicate_lookup(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    char id[WARD_STORE_ID_LEN], lookup[64];
    add_key(s, e, e->host[0], "dup", false, id, lookup);

    char other[WARD_STORE_ID_LEN];
    fresh_id(other);
    struct ward_credential dup = {
        .id = other, .kind = "agent", .lookup = lookup, .hash = HASH_B, .host_id = e->host[1]};
    assert_int_equal(ward_store_credential_add(s, &dup, false), -EEXIST);
    /* With rotation the refused key revokes nothing either. */
    assert_int_equal(ward_store_credential_add(s, &dup, true), -EEXIST);
    dup.host_id = e->host[0];
    assert_int_equal(ward_store_credential_add(s, &dup, true), -EEXIST);

    struct credential_copy c = {0};
    find_credential(s, lookup, &c);
    assert_string_equal(c.id, id);
    assert_string_equal(c.hash, HASH_C);
    assert_string_equal(c.host_id, e->host[0]);
    assert_int_equal(c.revoked_ms, 0);
    credential_copy_free(&c);
    ward_store_close(s);
}

/* The test's credentials of a listing, in the order listed. */
struct credential_list {
    const char *tag;
    const char *kind;
    char lookup[8][64];
    size_t n;
    size_t wrong_kind;
};

static int list_credential(const struct ward_credential *c, void *userdata)
{
    struct credential_list *l = userdata;
    if (strcmp(c->kind, l->kind) != 0)
        l->wrong_kind++;
    if (strncmp(c->lookup, l->tag, strlen(l->tag)) != 0)
        return 0;
    if (l->n == 8)
        return -ENOSPC;
    snprintf(l->lookup[l->n++], sizeof(l->lookup[0]), "%s", c->lookup);
    return 0;
}

static void test_credential_list_by_kind(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    static const char *const kinds[4] = {"agent", "admin", "agent", "agent"};
    static const char *const suffixes[4] = {"k3", "a1", "k1", "k2"};
    char ids[4][WARD_STORE_ID_LEN], lookups[4][64];
    for (size_t i = 0; i < 4; i++) {
        /* UUIDv7s made in order: the oldest has the smallest id too. */
        fresh_id(ids[i]);
        tagged(e, suffixes[i], lookups[i], sizeof(lookups[i]));
        struct ward_credential c = {.id = ids[i],
                                    .kind = kinds[i],
                                    .lookup = lookups[i],
                                    .hash = HASH_A,
                                    .host_id = strcmp(kinds[i], "agent") == 0 ? e->host[0] : NULL};
        assert_int_equal(ward_store_credential_add(s, &c, false), 0);
    }
    struct credential_list agents = {.tag = e->tag, .kind = "agent"};
    assert_int_equal(ward_store_credential_list(s, "agent", list_credential, &agents), 0);
    assert_int_equal(agents.wrong_kind, 0);
    assert_int_equal(agents.n, 3);
    /* Oldest first, whatever the lookups say. */
    assert_string_equal(agents.lookup[0], lookups[0]);
    assert_string_equal(agents.lookup[1], lookups[2]);
    assert_string_equal(agents.lookup[2], lookups[3]);

    struct credential_list admins = {.tag = e->tag, .kind = "admin"};
    assert_int_equal(ward_store_credential_list(s, "admin", list_credential, &admins), 0);
    assert_int_equal(admins.wrong_kind, 0);
    assert_int_equal(admins.n, 1);
    assert_string_equal(admins.lookup[0], lookups[1]);

    /* Revoked keys are listed too. */
    assert_int_equal(ward_store_credential_revoke(s, ids[2], NULL), 1);
    struct credential_list again = {.tag = e->tag, .kind = "agent"};
    assert_int_equal(ward_store_credential_list(s, "agent", list_credential, &again), 0);
    assert_int_equal(again.n, 3);

    struct credential_list none = {.tag = e->tag, .kind = "nobody"};
    assert_int_equal(ward_store_credential_list(s, "nobody", list_credential, &none), 0);
    assert_int_equal(none.n, 0);
    assert_int_equal(none.wrong_kind, 0);
    ward_store_close(s);
}

static void test_credential_revoke(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    char id[WARD_STORE_ID_LEN], lookup[64], keep_id[WARD_STORE_ID_LEN], keep[64];
    add_key(s, e, e->host[0], "revoked", false, id, lookup);
    add_key(s, e, e->host[0], "kept", false, keep_id, keep);

    assert_int_equal(ward_store_credential_revoke(s, id, NULL), 1);
    struct credential_copy c = {0};
    find_credential(s, lookup, &c);
    assert_true(c.revoked_ms > 0);
    assert_true(c.revoked_ms >= c.created_ms);
    int64_t revoked = c.revoked_ms;

    /* Revoking again changes nothing, not even the time. */
    assert_int_equal(ward_store_credential_revoke(s, id, NULL), 0);
    find_credential(s, lookup, &c);
    assert_int_equal(c.revoked_ms, revoked);

    char unknown[WARD_STORE_ID_LEN];
    fresh_id(unknown);
    assert_int_equal(ward_store_credential_revoke(s, unknown, NULL), 0);
    find_credential(s, keep, &c);
    assert_int_equal(c.revoked_ms, 0);
    credential_copy_free(&c);
    ward_store_close(s);
}

static void test_credential_rotate(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    char ids[4][WARD_STORE_ID_LEN], lookups[4][64];
    add_key(s, e, e->host[0], "old1", false, ids[0], lookups[0]);
    add_key(s, e, e->host[0], "old2", false, ids[1], lookups[1]);
    add_key(s, e, e->host[1], "other", false, ids[2], lookups[2]);
    assert_int_equal(ward_store_credential_revoke(s, ids[1], NULL), 1);
    struct credential_copy c = {0};
    find_credential(s, lookups[1], &c);
    int64_t revoked = c.revoked_ms;

    add_key(s, e, e->host[0], "new", true, ids[3], lookups[3]);
    find_credential(s, lookups[0], &c);
    assert_true(c.revoked_ms > 0);
    find_credential(s, lookups[1], &c);
    assert_int_equal(c.revoked_ms, revoked); /* revoked before: left as it was */
    find_credential(s, lookups[2], &c);
    assert_int_equal(c.revoked_ms, 0); /* another host's */
    find_credential(s, lookups[3], &c);
    assert_int_equal(c.revoked_ms, 0); /* the new key itself */
    assert_string_equal(c.id, ids[3]);

    /* Rotating the only valid key of a host keeps just the newest. */
    char id5[WARD_STORE_ID_LEN], lookup5[64];
    add_key(s, e, e->host[0], "newer", true, id5, lookup5);
    find_credential(s, lookups[3], &c);
    assert_true(c.revoked_ms > 0);
    find_credential(s, lookup5, &c);
    assert_int_equal(c.revoked_ms, 0);
    credential_copy_free(&c);
    ward_store_close(s);
}

static void test_credential_revoke_host(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    char ids[4][WARD_STORE_ID_LEN], lookups[4][64];
    add_key(s, e, e->host[0], "h0a", false, ids[0], lookups[0]);
    add_key(s, e, e->host[0], "h0b", false, ids[1], lookups[1]);
    add_key(s, e, e->host[0], "h0c", false, ids[2], lookups[2]);
    add_key(s, e, e->host[1], "h1a", false, ids[3], lookups[3]);
    assert_int_equal(ward_store_credential_revoke(s, ids[2], NULL), 1);

    /* Only the valid keys count. */
    assert_int_equal(ward_store_credential_revoke(s, NULL, e->host[0]), 2);
    struct credential_copy c = {0};
    for (size_t i = 0; i < 3; i++) {
        find_credential(s, lookups[i], &c);
        assert_true(c.revoked_ms > 0);
    }
    find_credential(s, lookups[3], &c);
    assert_int_equal(c.revoked_ms, 0);
    assert_int_equal(ward_store_credential_revoke(s, NULL, e->host[0]), 0);

    char nobody[WARD_STORE_ID_LEN];
    fresh_id(nobody);
    assert_int_equal(ward_store_credential_revoke(s, NULL, nobody), 0);
    credential_copy_free(&c);
    ward_store_close(s);
}

/* ---- Tenants and sections ---- */

struct group_copy {
    char id[WARD_STORE_ID_LEN];
    char tenant_id[WARD_STORE_ID_LEN];
    char name[64];
    int64_t created_ms;
};

/* The groups of a listing whose ids are wanted, in the order listed. */
struct group_list {
    const char *want[4];
    struct group_copy v[4];
    size_t n;
    size_t rows;
    size_t with_tenant; /* rows that name a tenant */
    const char *tenant; /* non-NULL: every row must have this tenant_id */
    size_t foreign;     /* rows of another tenant */
};

static int list_group(const struct ward_group *g, void *userdata)
{
    struct group_list *l = userdata;
    l->rows++;
    if (g->tenant_id != NULL)
        l->with_tenant++;
    if (l->tenant != NULL && (g->tenant_id == NULL || strcmp(g->tenant_id, l->tenant) != 0))
        l->foreign++;
    for (size_t i = 0; i < 4 && l->want[i]; i++) {
        if (strcmp(g->id, l->want[i]) != 0 || l->n == 4)
            continue;
        struct group_copy *c = &l->v[l->n++];
        snprintf(c->id, sizeof(c->id), "%s", g->id);
        snprintf(c->tenant_id, sizeof(c->tenant_id), "%s", g->tenant_id ? g->tenant_id : "");
        snprintf(c->name, sizeof(c->name), "%s", g->name);
        c->created_ms = g->created_ms;
    }
    return 0;
}

static void test_group_tenants(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    char name[64], id[WARD_STORE_ID_LEN], again[WARD_STORE_ID_LEN] = "untouched";
    tagged(e, "acme", name, sizeof(name));
    struct ward_group t = {.name = name};
    assert_int_equal(ward_store_group_add(s, &t, id), 0);
    assert_true(ward_uuid_valid(id));
    assert_string_not_equal(id, WARD_DEFAULT_TENANT);
    assert_int_equal(ward_store_group_add(s, &t, again), -EEXIST);
    assert_string_equal(again, "untouched");

    struct group_list l = {.want = {WARD_DEFAULT_TENANT, id}};
    assert_int_equal(ward_store_group_list(s, false, NULL, list_group, &l), 0);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.with_tenant, 0);
    /* By name: "default" sorts before "t...". */
    assert_string_equal(l.v[0].id, WARD_DEFAULT_TENANT);
    assert_string_equal(l.v[0].name, "default");
    assert_string_equal(l.v[1].id, id);
    assert_string_equal(l.v[1].name, name);
    assert_true(l.v[1].created_ms > 0);

    /* Limited to one tenant. */
    struct group_list one = {.want = {id}};
    assert_int_equal(ward_store_group_list(s, false, id, list_group, &one), 0);
    assert_int_equal(one.rows, 1);
    assert_int_equal(one.n, 1);
    ward_store_close(s);
}

static void test_group_sections(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    char na[64], nb[64], ta[WARD_STORE_ID_LEN], tb[WARD_STORE_ID_LEN];
    tagged(e, "tenant-a", na, sizeof(na));
    tagged(e, "tenant-b", nb, sizeof(nb));
    struct ward_group a = {.name = na}, b = {.name = nb};
    assert_int_equal(ward_store_group_add(s, &a, ta), 0);
    assert_int_equal(ward_store_group_add(s, &b, tb), 0);

    char web[WARD_STORE_ID_LEN], db[WARD_STORE_ID_LEN], web_b[WARD_STORE_ID_LEN];
    char out[WARD_STORE_ID_LEN] = "untouched";
    struct ward_group sec = {.tenant_id = ta, .name = "web"};
    assert_int_equal(ward_store_group_add(s, &sec, web), 0);
    assert_true(ward_uuid_valid(web));
    assert_int_equal(ward_store_group_add(s, &sec, out), -EEXIST);
    sec.name = "db";
    assert_int_equal(ward_store_group_add(s, &sec, db), 0);
    /* The same name in another tenant is another section. */
    sec.tenant_id = tb;
    sec.name = "web";
    assert_int_equal(ward_store_group_add(s, &sec, web_b), 0);
    assert_string_not_equal(web_b, web);

    char nowhere[WARD_STORE_ID_LEN];
    fresh_id(nowhere);
    sec.tenant_id = nowhere;
    assert_int_equal(ward_store_group_add(s, &sec, out), WARD_E_NOT_FOUND);
    /* A section's id is not a tenant's. */
    sec.tenant_id = WARD_DEFAULT_SECTION;
    assert_int_equal(ward_store_group_add(s, &sec, out), WARD_E_NOT_FOUND);
    assert_string_equal(out, "untouched");

    /* Tenant a's sections only, by name. */
    struct group_list la = {.want = {web, db, web_b}, .tenant = ta};
    assert_int_equal(ward_store_group_list(s, true, ta, list_group, &la), 0);
    assert_int_equal(la.rows, 2);
    assert_int_equal(la.foreign, 0);
    assert_int_equal(la.n, 2);
    assert_string_equal(la.v[0].id, db);
    assert_string_equal(la.v[0].name, "db");
    assert_string_equal(la.v[0].tenant_id, ta);
    assert_string_equal(la.v[1].id, web);
    assert_true(la.v[1].created_ms > 0);

    struct group_list lb = {.want = {web_b}, .tenant = tb};
    assert_int_equal(ward_store_group_list(s, true, tb, list_group, &lb), 0);
    assert_int_equal(lb.rows, 1);
    assert_int_equal(lb.n, 1);
    assert_int_equal(lb.foreign, 0);

    /* Every section: the default one too, each with its tenant. */
    struct group_list all = {.want = {WARD_DEFAULT_SECTION, web, db, web_b}};
    assert_int_equal(ward_store_group_list(s, true, NULL, list_group, &all), 0);
    assert_int_equal(all.n, 4);
    assert_int_equal(all.with_tenant, all.rows);
    for (size_t i = 0; i < 4; i++)
        if (strcmp(all.v[i].id, WARD_DEFAULT_SECTION) == 0)
            assert_string_equal(all.v[i].tenant_id, WARD_DEFAULT_TENANT);

    /* A tenant without sections lists none. */
    char nc[64], tc[WARD_STORE_ID_LEN];
    tagged(e, "tenant-c", nc, sizeof(nc));
    struct ward_group c = {.name = nc};
    assert_int_equal(ward_store_group_add(s, &c, tc), 0);
    struct group_list lc = {.tenant = tc};
    assert_int_equal(ward_store_group_list(s, true, tc, list_group, &lc), 0);
    assert_int_equal(lc.rows, 0);
    ward_store_close(s);
}

static void test_group_host_moves(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    char tenant[WARD_STORE_ID_LEN], section[WARD_STORE_ID_LEN], name[64];
    make_section(s, e, "mover", tenant, section);
    tagged(e, "moved", name, sizeof(name));
    struct ward_enrollment en = enrollment(e->host[0], name, HASH_A, true);
    enroll_ok(s, &en, "active");
    struct ward_sample v = gauge("cpu", "usage", "{}", T0, 1);
    assert_int_equal(ward_store_ingest(s, e->host[1], NULL, &v, 1), 0);

    /* Enrolled and ingested hosts alike can move. */
    struct host_copy h = {0};
    for (size_t i = 0; i < 2; i++) {
        struct ward_host_change ch = {.id = e->host[i], .section_id = section};
        assert_int_equal(ward_store_host_change(s, &ch), 0);
        get_host(s, e->host[i], &h);
        assert_string_equal(h.section_id, section);
        assert_string_equal(h.tenant_id, tenant);
        assert_string_equal(h.status, "active");
    }
    /* A host keeps its section when it enrolls again. */
    enroll_ok(s, &en, "active");
    get_host(s, e->host[0], &h);
    assert_string_equal(h.section_id, section);
    assert_string_equal(h.tenant_id, tenant);
    host_copy_free(&h);
    ward_store_close(s);
}

/* ---- Configuration ---- */

struct config_copy {
    size_t calls;
    char body[256];
    int64_t version, updated_ms;
};

static int copy_config(const char *body, int64_t version, int64_t updated_ms, void *userdata)
{
    struct config_copy *c = userdata;
    c->calls++;
    snprintf(c->body, sizeof(c->body), "%s", body);
    c->version = version;
    c->updated_ms = updated_ms;
    return 0;
}

static struct config_copy get_config(struct ward_store *s, const char *scope, const char *id)
{
    struct config_copy c = {0};
    assert_int_equal(ward_store_config_get(s, scope, id, copy_config, &c), 0);
    assert_int_equal(c.calls, 1);
    return c;
}

static void test_config_unknown(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    size_t calls = 0;
    assert_int_equal(ward_store_config_get(s, "agent", e->host[0], never_config, &calls),
                     WARD_E_NOT_FOUND);
    assert_int_equal(ward_store_config_get(s, "section", e->host[0], never_config, &calls),
                     WARD_E_NOT_FOUND);
    assert_int_equal(calls, 0);
    ward_store_close(s);
}

static void test_config_versions(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    int64_t v1 = 0, v2 = 0, v3 = 0, v4 = 0;
    assert_int_equal(ward_store_config_set(s, "agent", e->host[0], "{\"interval\":10}", &v1), 0);
    assert_true(v1 > 0);
    struct config_copy c = get_config(s, "agent", e->host[0]);
    assert_string_equal(c.body, "{\"interval\":10}");
    assert_int_equal(c.version, v1);
    assert_true(c.updated_ms > 0);

    /* The same document again is still a new version. */
    assert_int_equal(ward_store_config_set(s, "agent", e->host[0], "{\"interval\":10}", &v2), 0);
    assert_true(v2 > v1);
    c = get_config(s, "agent", e->host[0]);
    assert_int_equal(c.version, v2);
    assert_int_equal(ward_store_config_set(s, "agent", e->host[0], "{\"interval\":20}", &v3), 0);
    assert_true(v3 > v2);
    c = get_config(s, "agent", e->host[0]);
    assert_string_equal(c.body, "{\"interval\":20}");
    assert_int_equal(c.version, v3);

    /* Versions come from one sequence across ids and scopes. */
    assert_int_equal(ward_store_config_set(s, "agent", e->host[1], "{}", &v4), 0);
    assert_true(v4 > v3);
    int64_t v5 = 0;
    assert_int_equal(ward_store_config_set(s, "section", e->host[1], "{}", &v5), 0);
    assert_true(v5 > v4);
    c = get_config(s, "agent", e->host[0]);
    assert_int_equal(c.version, v3);
    ward_store_close(s);
}

/*
 * A purge deletes the host's configuration, but not the versions it had:
 * an agent that enrolls again under its id may still hold the last one it
 * fetched, and must see the next document as newer.
 */
static void test_config_version_after_purge(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    struct ward_sample v = gauge("cpu", "usage", "{}", T0, 1);
    assert_int_equal(ward_store_ingest(s, e->host[0], NULL, &v, 1), 0);
    int64_t v1 = 0, v2 = 0;
    assert_int_equal(ward_store_config_set(s, "agent", e->host[0], "{\"old\":true}", &v1), 0);
    assert_int_equal(ward_store_host_purge(s, e->host[0]), 0);
    size_t calls = 0;
    assert_int_equal(ward_store_config_get(s, "agent", e->host[0], never_config, &calls),
                     WARD_E_NOT_FOUND);
    assert_int_equal(ward_store_config_set(s, "agent", e->host[0], "{\"new\":true}", &v2), 0);
    assert_true(v2 > v1);
    struct config_copy c = get_config(s, "agent", e->host[0]);
    assert_string_equal(c.body, "{\"new\":true}");
    assert_int_equal(c.version, v2);
    ward_store_close(s);

    /* The versions handed out survive a reopen too. */
    if (!e->backend->persistent)
        return;
    s = open_ok(e->dsn);
    assert_int_equal(ward_store_host_purge(s, e->host[0]), WARD_E_NOT_FOUND);
    assert_int_equal(ward_store_ingest(s, e->host[0], NULL, &v, 1), 0);
    assert_int_equal(ward_store_host_purge(s, e->host[0]), 0);
    int64_t v3 = 0;
    assert_int_equal(ward_store_config_set(s, "agent", e->host[1], "{}", &v3), 0);
    assert_true(v3 > v2);
    ward_store_close(s);
}

static void test_config_scopes(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    char tenant[WARD_STORE_ID_LEN], section[WARD_STORE_ID_LEN];
    make_section(s, e, "config", tenant, section);
    int64_t va = 0, vs = 0;
    /* One id under both scopes: two documents. */
    assert_int_equal(ward_store_config_set(s, "section", section, "{\"scope\":\"section\"}", &vs),
                     0);
    size_t calls = 0;
    assert_int_equal(ward_store_config_get(s, "agent", section, never_config, &calls),
                     WARD_E_NOT_FOUND);
    assert_int_equal(ward_store_config_set(s, "agent", section, "{\"scope\":\"agent\"}", &va), 0);
    struct config_copy c = get_config(s, "section", section);
    assert_string_equal(c.body, "{\"scope\":\"section\"}");
    assert_int_equal(c.version, vs);
    c = get_config(s, "agent", section);
    assert_string_equal(c.body, "{\"scope\":\"agent\"}");
    assert_int_equal(c.version, va);

    /* An unknown scope is refused before any backend sees it. */
    int64_t v = 7;
    assert_int_equal(ward_store_config_set(s, "bogus", section, "{}", &v), -EINVAL);
    assert_int_equal(v, 7);
    assert_int_equal(ward_store_config_get(s, "bogus", section, never_config, &calls), -EINVAL);
    assert_int_equal(ward_store_config_set(s, "Agent", section, "{}", &v), -EINVAL);
    assert_int_equal(calls, 0);
    ward_store_close(s);
}

/* ---- Arguments ---- */

static int never_group(const struct ward_group *g, void *userdata)
{
    (void)g;
    (void)userdata;
    return -1;
}

static void test_registry_invalid_arguments(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    char status[WARD_STORE_STATUS_LEN], id[WARD_STORE_ID_LEN];
    size_t calls = 0;

    struct ward_enrollment en = enrollment(e->host[0], "h", HASH_A, false);
    struct ward_enrollment no_id = enrollment(NULL, "h", HASH_A, false);
    struct ward_enrollment empty_id = enrollment("", "h", HASH_A, false);
    struct ward_enrollment no_name = enrollment(e->host[0], NULL, HASH_A, false);
    struct ward_enrollment empty_name = enrollment(e->host[0], "", HASH_A, false);
    assert_int_equal(ward_store_host_enroll(NULL, &en, status), -EINVAL);
    assert_int_equal(ward_store_host_enroll(s, NULL, status), -EINVAL);
    assert_int_equal(ward_store_host_enroll(s, &en, NULL), -EINVAL);
    assert_int_equal(ward_store_host_enroll(s, &no_id, status), -EINVAL);
    assert_int_equal(ward_store_host_enroll(s, &empty_id, status), -EINVAL);
    assert_int_equal(ward_store_host_enroll(s, &no_name, status), -EINVAL);
    assert_int_equal(ward_store_host_enroll(s, &empty_name, status), -EINVAL);

    assert_int_equal(ward_store_host_get(NULL, e->host[0], never_host, &calls), -EINVAL);
    assert_int_equal(ward_store_host_get(s, NULL, never_host, &calls), -EINVAL);
    assert_int_equal(ward_store_host_get(s, "", never_host, &calls), -EINVAL);
    assert_int_equal(ward_store_host_get(s, e->host[0], NULL, NULL), -EINVAL);

    struct ward_host_change ch = {.id = e->host[0], .name = "x"};
    struct ward_host_change ch_null = {.name = "x"}, ch_empty = {.id = "", .name = "x"};
    assert_int_equal(ward_store_host_change(NULL, &ch), -EINVAL);
    assert_int_equal(ward_store_host_change(s, NULL), -EINVAL);
    assert_int_equal(ward_store_host_change(s, &ch_null), -EINVAL);
    assert_int_equal(ward_store_host_change(s, &ch_empty), -EINVAL);

    assert_int_equal(ward_store_host_purge(NULL, e->host[0]), -EINVAL);
    assert_int_equal(ward_store_host_purge(s, NULL), -EINVAL);
    assert_int_equal(ward_store_host_purge(s, ""), -EINVAL);

    char lookup[64];
    tagged(e, "args", lookup, sizeof(lookup));
    struct ward_credential c = {
        .id = e->host[1], .kind = "agent", .lookup = lookup, .hash = HASH_A, .host_id = NULL};
    struct ward_credential bad[5] = {c, c, c, c, c};
    bad[0].id = NULL;
    bad[1].kind = "";
    bad[2].lookup = NULL;
    bad[3].hash = "";
    bad[4].id = "";
    assert_int_equal(ward_store_credential_add(NULL, &c, false), -EINVAL);
    assert_int_equal(ward_store_credential_add(s, NULL, false), -EINVAL);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(ward_store_credential_add(s, &bad[i], false), -EINVAL);
    /* Rotation needs the host whose keys it revokes. */
    assert_int_equal(ward_store_credential_add(s, &c, true), -EINVAL);
    assert_int_equal(ward_store_credential_find(s, lookup, never_credential, &calls),
                     WARD_E_NOT_FOUND);

    assert_int_equal(ward_store_credential_find(NULL, lookup, never_credential, &calls), -EINVAL);
    assert_int_equal(ward_store_credential_find(s, NULL, never_credential, &calls), -EINVAL);
    assert_int_equal(ward_store_credential_find(s, "", never_credential, &calls), -EINVAL);
    assert_int_equal(ward_store_credential_find(s, lookup, NULL, NULL), -EINVAL);
    assert_int_equal(ward_store_credential_list(NULL, "agent", never_credential, &calls), -EINVAL);
    assert_int_equal(ward_store_credential_list(s, NULL, never_credential, &calls), -EINVAL);
    assert_int_equal(ward_store_credential_list(s, "", never_credential, &calls), -EINVAL);
    assert_int_equal(ward_store_credential_list(s, "agent", NULL, NULL), -EINVAL);
    assert_int_equal(ward_store_credential_revoke(NULL, e->host[1], NULL), -EINVAL);
    assert_int_equal(ward_store_credential_revoke(s, NULL, NULL), -EINVAL);
    assert_int_equal(ward_store_credential_revoke(s, "", ""), -EINVAL);

    struct ward_group g = {.name = "x"}, unnamed = {0}, empty = {.name = ""};
    assert_int_equal(ward_store_group_add(NULL, &g, id), -EINVAL);
    assert_int_equal(ward_store_group_add(s, NULL, id), -EINVAL);
    assert_int_equal(ward_store_group_add(s, &unnamed, id), -EINVAL);
    assert_int_equal(ward_store_group_add(s, &empty, id), -EINVAL);
    assert_int_equal(ward_store_group_add(s, &g, NULL), -EINVAL);
    assert_int_equal(ward_store_group_list(NULL, false, NULL, never_group, &calls), -EINVAL);
    assert_int_equal(ward_store_group_list(s, true, NULL, NULL, NULL), -EINVAL);

    int64_t v = 7;
    assert_int_equal(ward_store_config_get(NULL, "agent", e->host[0], never_config, &calls),
                     -EINVAL);
    assert_int_equal(ward_store_config_get(s, NULL, e->host[0], never_config, &calls), -EINVAL);
    assert_int_equal(ward_store_config_get(s, "agent", NULL, never_config, &calls), -EINVAL);
    assert_int_equal(ward_store_config_get(s, "agent", "", never_config, &calls), -EINVAL);
    assert_int_equal(ward_store_config_get(s, "agent", e->host[0], NULL, NULL), -EINVAL);
    assert_int_equal(ward_store_config_set(NULL, "agent", e->host[0], "{}", &v), -EINVAL);
    assert_int_equal(ward_store_config_set(s, NULL, e->host[0], "{}", &v), -EINVAL);
    assert_int_equal(ward_store_config_set(s, "agent", NULL, "{}", &v), -EINVAL);
    assert_int_equal(ward_store_config_set(s, "agent", "", "{}", &v), -EINVAL);
    assert_int_equal(ward_store_config_set(s, "agent", e->host[0], NULL, &v), -EINVAL);
    assert_int_equal(ward_store_config_set(s, "agent", e->host[0], "", &v), -EINVAL);
    assert_int_equal(ward_store_config_set(s, "agent", e->host[0], "{}", NULL), -EINVAL);
    assert_int_equal(v, 7);
    assert_int_equal(calls, 0);

    /* Nothing above reached the store. */
    assert_int_equal(ward_store_host_get(s, e->host[0], never_host, &calls), WARD_E_NOT_FOUND);
    assert_int_equal(ward_store_config_get(s, "agent", e->host[0], never_config, &calls),
                     WARD_E_NOT_FOUND);
    assert_int_equal(calls, 0);
    ward_store_close(s);
}

const struct CMUnitTest store_registry_tests[] = {
    T(test_enroll_new_host),
    T(test_enroll_again_same_hash),
    T(test_enroll_other_hash_refused),
    T(test_enroll_ingested_host_refused),
    T(test_enroll_adopts_ingested_host_when_trusted),
    T(test_enroll_pending_activates),
    T(test_enroll_after_deregister),
    T(test_host_get_unknown),
    T(test_host_change),
    T(test_host_change_unknown),
    T(test_host_list_registry_fields),
    T(test_purge_host),
    T(test_purge_unknown),
    T(test_purge_then_ingest),
    T(test_credential_add_find),
    T(test_credential_duplicate_lookup),
    T(test_credential_list_by_kind),
    T(test_credential_revoke),
    T(test_credential_rotate),
    T(test_credential_revoke_host),
    T(test_group_tenants),
    T(test_group_sections),
    T(test_group_host_moves),
    T(test_config_unknown),
    T(test_config_versions),
    T(test_config_version_after_purge),
    T(test_config_scopes),
    T(test_registry_invalid_arguments),
};

const size_t store_registry_tests_count =
    sizeof(store_registry_tests) / sizeof(store_registry_tests[0]);
