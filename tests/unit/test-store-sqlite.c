/*
 * Tests of the SQLite backend itself, beyond the conformance suite: DSN
 * forms, WAL mode, schema versions and migration, damaged files, in-memory
 * databases, synchronous FULL, rollbacks injected with triggers, the
 * series-id cache, registration that must not write, and retention in
 * bounded steps. They look into the database file with a connection of
 * their own where the store interface cannot show what they check.
 *
 * Every test gets a fresh temporary directory with the DSN of a database
 * in it (the sqlite-file backend of test-store-util.c).
 */
#include "test-store.h"

#include "common/error.h"
#include "server/store/store.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Opens the test's database file directly, beside the store. */
static sqlite3 *raw_open(const struct store_env *e)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/ward.db", e->dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_busy_timeout(db, 5000), SQLITE_OK);
    return db;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err ? err : "?");
}

static int64_t raw_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/*
 * A failure in the middle of an ingest, injected with a trigger, rolls back
 * everything the call wrote, including series it created, and a retry stores
 * the whole batch.
 */
static void test_sqlite_failed_ingest_rolls_back(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/ward.db", e->dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db,
                     "CREATE TRIGGER inject BEFORE INSERT ON head_log"
                     " WHEN NEW.value = 666 BEGIN SELECT RAISE(ABORT, 'injected'); END",
                     NULL, NULL, NULL),
        SQLITE_OK);

    struct ward_batch_key b = {.boot = 1, .seq = 1};
    struct ward_sample v[] = {
        gauge("cpu", "new_series", "{}", T0, 1),
        gauge("ram", "other_new_series", "{}", T0, 2),
        gauge("cpu", "new_series", "{}", T0 + 1, 666),
    };
    assert_int_equal(ward_store_ingest(s, e->host[0], &b, v, 3), WARD_E_STORE);
    assert_int_equal(count(s, e->host[0]), 0);

    assert_int_equal(sqlite3_exec(db, "DROP TRIGGER inject", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    v[2].value = 3;
    assert_int_equal(ward_store_ingest(s, e->host[0], &b, v, 3), 0);
    assert_int_equal(count(s, e->host[0]), 3);
    ward_store_close(s);

    s = open_ok(e->dsn);
    assert_int_equal(count(s, e->host[0]), 3);
    ward_store_close(s);
}

static void put_one(const char *dsn, const char *host, int64_t ts)
{
    struct ward_store *s = open_ok(dsn);
    struct ward_sample v = gauge("cpu", "usage", "{}", ts, 1);
    assert_int_equal(ward_store_ingest(s, host, NULL, &v, 1), 0);
    ward_store_close(s);
}

static void test_sqlite_dsn_forms(void **state)
{
    struct store_env *e = *state;
    char path[PATH_MAX + 16], dsn[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/forms.db", e->dir);
    const char *forms[] = {"sqlite:%s", "sqlite://%s", "file:%s", "%s"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(dsn, sizeof(dsn), forms[i], path);
        put_one(dsn, e->host[0], T0 + (int64_t)i);
    }
    /* All four forms named the same file. */
    struct ward_store *s = open_ok(path);
    assert_int_equal(count(s, e->host[0]), 4);
    ward_store_close(s);

    /* A relative plain path is relative to the working directory. */
    char cwd[PATH_MAX];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(e->dir), 0);
    s = open_ok("forms.db");
    size_t n = count(s, e->host[0]);
    ward_store_close(s);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(n, 4);
}

static void test_sqlite_wal_and_version(void **state)
{
    struct store_env *e = *state;
    put_one(e->dsn, e->host[0], T0);

    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/ward.db", e->dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 5);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT count(*) FROM hosts WHERE id = ?1"
                                        " AND last_seen > 0 AND created_at > 0",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, e->host[0], -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void test_sqlite_future_schema(void **state)
{
    struct store_env *e = *state;
    put_one(e->dsn, e->host[0], T0);
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/ward.db", e->dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    struct ward_store *s = NULL;
    assert_int_equal(ward_store_open(e->dsn, NULL, &s), WARD_E_STORE);
    assert_null(s);
}

static void test_sqlite_not_a_database(void **state)
{
    struct store_env *e = *state;
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/garbage.db", e->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 512; i++)
        fputs("this is not an SQLite database\n", f);
    fclose(f);
    struct ward_store *s = NULL;
    assert_int_equal(ward_store_open(path, NULL, &s), WARD_E_STORE);
    assert_null(s);

    /* A directory where the file should be, and a file where the directory should be. */
    snprintf(path, sizeof(path), "%s/sub", e->dir);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_true(ward_store_open(path, NULL, &s) < 0);
    snprintf(path, sizeof(path), "%s/garbage.db/x.db", e->dir);
    assert_int_equal(ward_store_open(path, NULL, &s), -ENOTDIR);
    assert_null(s);
}

static void test_sqlite_memory(void **state)
{
    struct store_env *e = *state;
    struct ward_store_options opt = {.synchronous_full = true};
    struct ward_store *s = NULL;
    assert_int_equal(ward_store_open(":memory:", &opt, &s), 0);
    struct ward_batch_key b = {.boot = 1, .seq = 1};
    struct ward_sample v[] = {
        gauge("cpu", "usage", "{}", T0, 1),
        gauge("cpu", "usage", "{}", T0 + 1, 2),
    };
    assert_int_equal(ward_store_ingest(s, e->host[0], &b, v, 2), 0);
    assert_int_equal(ward_store_ingest(s, e->host[0], &b, v, 2), 1);
    struct rows rs = run(s, all_of(e->host[0]));
    assert_int_equal(rs.n, 2);
    assert_true(rs.v[0].value == 2);
    rows_free(&rs);
    ward_store_close(s);

    /* Each open is a new, empty database. */
    assert_int_equal(ward_store_open("sqlite::memory:", NULL, &s), 0);
    assert_int_equal(count(s, e->host[0]), 0);
    ward_store_close(s);
}

static void test_sqlite_synchronous_full(void **state)
{
    struct store_env *e = *state;
    struct ward_store_options opt = {.synchronous_full = true};
    struct ward_store *s = NULL;
    assert_int_equal(ward_store_open(e->dsn, &opt, &s), 0);
    put_series(s, e->host[0], "cpu", "usage", 100, 1000);
    ward_store_close(s);
    s = open_ok(e->dsn);
    assert_int_equal(count(s, e->host[0]), 100);
    ward_store_close(s);
}

/*
 * A bad batch in a group, made to fail inside the backend by a trigger: the
 * other batches are stored, the series the failed batch created are gone,
 * and the series-id cache has forgotten them. The batch after the failed
 * one creates a series that gets the id the rolled-back one had, so a cache
 * that remembered the undone series would now send its samples elsewhere.
 */
static void test_sqlite_bad_batch_in_group(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    sqlite3 *db = raw_open(e);
    raw_exec(db, "CREATE TRIGGER inject BEFORE INSERT ON head_log"
                 " WHEN NEW.value = 666 BEGIN SELECT RAISE(ABORT, 'injected'); END");

    struct ward_batch_key k[3] = {
        {.boot = 1, .seq = 1}, {.boot = 1, .seq = 2}, {.boot = 1, .seq = 3}};
    struct ward_sample x = gauge("cpu", "x", "{}", T0, 1);
    struct ward_sample y[] = {gauge("cpu", "y", "{}", T0, 2), gauge("cpu", "y", "{}", T0 + 1, 666)};
    struct ward_sample z = gauge("cpu", "z", "{}", T0, 3);
    struct ward_write w[] = {
        {.host_id = e->host[0], .batch = &k[0], .samples = &x, .n = 1},
        {.host_id = e->host[0], .batch = &k[1], .samples = y, .n = 2},
        {.host_id = e->host[0], .batch = &k[2], .samples = &z, .n = 1},
    };
    assert_int_equal(ward_store_write(s, w, 3), 0);
    assert_int_equal(w[0].result, 0);
    assert_int_equal(w[1].result, WARD_E_STORE);
    assert_int_equal(w[2].result, 0);
    assert_int_equal(count(s, e->host[0]), 2);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM series WHERE name = 'y'"), 0);

    raw_exec(db, "DROP TRIGGER inject");
    y[1].value = 4;
    struct ward_sample more[] = {gauge("cpu", "z", "{}", T0 + 5, 30), y[0], y[1]};
    assert_int_equal(ward_store_ingest(s, e->host[0], &k[1], more, 3), 0);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM series"), 3);
    struct ward_query q = all_of(e->host[0]);
    q.name = "y";
    struct rows rs = run(s, q);
    assert_int_equal(rs.n, 2);
    assert_true(rs.v[0].value == 4 && rs.v[1].value == 2);
    rows_free(&rs);
    q.name = "z";
    rs = run(s, q);
    assert_int_equal(rs.n, 2);
    assert_true(rs.v[0].value == 30 && rs.v[1].value == 3);
    rows_free(&rs);
    sqlite3_close(db);
    ward_store_close(s);
}

/* The schema of version 1, as released, with a host that has a hostname. */
static const char schema_v1[] =
    "CREATE TABLE hosts (id TEXT PRIMARY KEY, hostname TEXT, ip_address TEXT, os TEXT,"
    " labels TEXT NOT NULL DEFAULT '{}', agent_version TEXT,"
    " status TEXT NOT NULL DEFAULT 'active', last_seen INTEGER, created_at INTEGER,"
    " updated_at INTEGER);"
    "CREATE TABLE series (id INTEGER PRIMARY KEY, host_id TEXT NOT NULL REFERENCES hosts(id),"
    " category TEXT NOT NULL, name TEXT NOT NULL, labels TEXT NOT NULL, kind INTEGER NOT NULL,"
    " UNIQUE (host_id, category, name, labels));"
    "CREATE TABLE samples (series_id INTEGER NOT NULL, ts INTEGER NOT NULL,"
    " value REAL NOT NULL, PRIMARY KEY (series_id, ts)) WITHOUT ROWID;"
    "CREATE TABLE batches (host_id TEXT NOT NULL, boot INTEGER NOT NULL, seq INTEGER NOT NULL,"
    " received_at INTEGER NOT NULL, PRIMARY KEY (host_id, boot, seq)) WITHOUT ROWID;"
    "INSERT INTO hosts (id, hostname, created_at, updated_at)"
    " VALUES ('0190c1d2-0000-7000-8000-0000000000aa', 'old-host', 1, 1);"
    "INSERT INTO series VALUES (1, '0190c1d2-0000-7000-8000-0000000000aa', 'cpu', 'usage', '{}', "
    "0);"
    "INSERT INTO samples VALUES (1, 1700000000000, 42.0);"
    "PRAGMA user_version = 1;";

static void test_sqlite_migrates_v1(void **state)
{
    struct store_env *e = *state;
    sqlite3 *db = raw_open(e);
    raw_exec(db, schema_v1);
    sqlite3_close(db);

    struct ward_store *s = open_ok(e->dsn);
    db = raw_open(e);
    assert_int_equal(raw_int(db, "PRAGMA user_version"), 5);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'index'"
                                 " AND name IN ('hosts_hostname', 'batches_received_at')"),
                     2);
    sqlite3_close(db);

    /* The old host is found by its name, and its data is all there. */
    struct ward_host_info info = {.hostname = "old-host"};
    char id[WARD_STORE_ID_LEN];
    bool created = true;
    assert_int_equal(ward_store_host_register(s, &info, id, &created), 0);
    assert_false(created);
    assert_string_equal(id, "0190c1d2-0000-7000-8000-0000000000aa");
    assert_int_equal(count(s, id), 1);
    struct ward_sample v = gauge("cpu", "usage", "{}", T0 + 1, 43);
    assert_int_equal(ward_store_ingest(s, id, NULL, &v, 1), 0);
    assert_int_equal(count(s, id), 2);
    ward_store_close(s);

    /* Opening again finds version 3 and changes nothing. */
    s = open_ok(e->dsn);
    assert_int_equal(count(s, id), 2);
    ward_store_close(s);
}

/* The schema of version 3, as released: version 1 with the indexes of 2 and the head_log of 3. */
static const char schema_v3[] =
    "CREATE TABLE hosts (id TEXT PRIMARY KEY, hostname TEXT, ip_address TEXT, os TEXT,"
    " labels TEXT NOT NULL DEFAULT '{}', agent_version TEXT,"
    " status TEXT NOT NULL DEFAULT 'active', last_seen INTEGER, created_at INTEGER,"
    " updated_at INTEGER);"
    "CREATE TABLE series (id INTEGER PRIMARY KEY, host_id TEXT NOT NULL REFERENCES hosts(id),"
    " category TEXT NOT NULL, name TEXT NOT NULL, labels TEXT NOT NULL, kind INTEGER NOT NULL,"
    " UNIQUE (host_id, category, name, labels));"
    "CREATE TABLE samples (series_id INTEGER NOT NULL, ts INTEGER NOT NULL,"
    " value REAL NOT NULL, PRIMARY KEY (series_id, ts)) WITHOUT ROWID;"
    "CREATE TABLE batches (host_id TEXT NOT NULL, boot INTEGER NOT NULL, seq INTEGER NOT NULL,"
    " received_at INTEGER NOT NULL, PRIMARY KEY (host_id, boot, seq)) WITHOUT ROWID;"
    "CREATE INDEX hosts_hostname ON hosts (hostname, id);"
    "CREATE INDEX batches_received_at ON batches (received_at);"
    "CREATE TABLE head_log (seq INTEGER PRIMARY KEY, series_id INTEGER NOT NULL,"
    " ts INTEGER NOT NULL, value REAL NOT NULL);"
    "INSERT INTO hosts (id, hostname, status, created_at, updated_at)"
    " VALUES ('0190c1d2-0000-7000-8000-0000000000bb', 'v3-host', 'active', 1, 1);"
    "INSERT INTO hosts (id, last_seen, created_at, updated_at)"
    " VALUES ('0190c1d2-0000-7000-8000-0000000000cc', 5, 5, 5);"
    "INSERT INTO series VALUES (1, '0190c1d2-0000-7000-8000-0000000000bb', 'cpu', 'usage', '{}', "
    "0);"
    "INSERT INTO samples VALUES (1, 1700000000000, 42.0);"
    "INSERT INTO head_log (series_id, ts, value) VALUES (1, 1700000001000, 43.0);"
    "PRAGMA user_version = 3;";

struct v3_host {
    size_t calls;
    char status[16], section[WARD_STORE_ID_LEN], tenant[WARD_STORE_ID_LEN];
    bool name_null, hash_null;
};

static int v3_host_row(const struct ward_host_row *row, void *userdata)
{
    struct v3_host *h = userdata;
    h->calls++;
    snprintf(h->status, sizeof(h->status), "%s", row->status);
    snprintf(h->section, sizeof(h->section), "%s", row->section_id ? row->section_id : "");
    snprintf(h->tenant, sizeof(h->tenant), "%s", row->tenant_id ? row->tenant_id : "");
    h->name_null = row->name == NULL;
    h->hash_null = row->claim_token_hash == NULL;
    return 0;
}

static int v3_group_row(const struct ward_group *g, void *userdata)
{
    char(*names)[2][64] = userdata;
    size_t i =
        strcmp(g->id, WARD_DEFAULT_TENANT) == 0 || strcmp(g->id, WARD_DEFAULT_SECTION) == 0 ? 0 : 1;
    snprintf((*names)[i], sizeof((*names)[i]), "%s", g->name);
    return 0;
}

/*
 * Version 3 to 4 adds the registry: the default tenant and section exist,
 * the hosts of before are in that section, and their data, the head's
 * samples included, is all there.
 */
static void test_sqlite_migrates_v3(void **state)
{
    struct store_env *e = *state;
    sqlite3 *db = raw_open(e);
    raw_exec(db, schema_v3);
    sqlite3_close(db);

    struct ward_store *s = open_ok(e->dsn);
    db = raw_open(e);
    assert_int_equal(raw_int(db, "PRAGMA user_version"), 5);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM tenants WHERE id = '" WARD_DEFAULT_TENANT
                                 "' AND name = 'default'"),
                     1);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM sections WHERE id = '" WARD_DEFAULT_SECTION
                                 "' AND tenant_id = '" WARD_DEFAULT_TENANT "'"),
                     1);
    assert_int_equal(
        raw_int(db, "SELECT count(*) FROM hosts WHERE section_id = '" WARD_DEFAULT_SECTION "'"), 2);
    sqlite3_close(db);

    static const char *const ids[2] = {"0190c1d2-0000-7000-8000-0000000000bb",
                                       "0190c1d2-0000-7000-8000-0000000000cc"};
    for (size_t i = 0; i < 2; i++) {
        struct v3_host h = {0};
        assert_int_equal(ward_store_host_get(s, ids[i], v3_host_row, &h), 0);
        assert_int_equal(h.calls, 1);
        assert_string_equal(h.status, "active");
        assert_string_equal(h.section, WARD_DEFAULT_SECTION);
        assert_string_equal(h.tenant, WARD_DEFAULT_TENANT);
        assert_true(h.name_null);
        assert_true(h.hash_null);
    }
    char names[2][64] = {"", ""};
    assert_int_equal(ward_store_group_list(s, false, NULL, v3_group_row, &names), 0);
    assert_string_equal(names[0], "default");
    assert_string_equal(names[1], "");
    assert_int_equal(ward_store_group_list(s, true, NULL, v3_group_row, &names), 0);
    assert_string_equal(names[0], "default");
    assert_string_equal(names[1], "");
    assert_int_equal(count(s, ids[0]), 2);

    /* An old host has no claim token: no agent can enroll as it. */
    struct ward_enrollment en = {
        .id = ids[0], .claim_token_hash = "ab", .info = {.hostname = "v3-host"}};
    char status[WARD_STORE_STATUS_LEN];
    assert_int_equal(ward_store_host_enroll(s, &en, status), -EEXIST);
    ward_store_close(s);

    /* Opening again finds version 5 and changes nothing. */
    s = open_ok(e->dsn);
    assert_int_equal(count(s, ids[0]), 2);
    db = raw_open(e);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM tenants"), 1);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM sections"), 1);
    sqlite3_close(db);
    ward_store_close(s);
}

/*
 * A purge deletes a host's series; should they have the highest ids, SQLite
 * hands the same ids to the next series it makes. A group that makes such a
 * series and fails must still make the writer forget it, or the writer
 * keeps an id with no series behind it: the host's later samples go
 * nowhere, and another host's next series inherits them.
 */
static void test_sqlite_purge_then_failed_ingest(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    struct ward_sample first[] = {gauge("cpu", "usage", "{}", T0, 1),
                                  gauge("ram", "usage", "{}", T0, 2)};
    assert_int_equal(ward_store_ingest(s, e->host[0], NULL, first, 2), 0);
    assert_int_equal(ward_store_ingest(s, e->host[1], NULL, first, 2), 0);
    assert_int_equal(ward_store_host_purge(s, e->host[1]), 0);

    sqlite3 *db = raw_open(e);
    raw_exec(db, "CREATE TRIGGER inject BEFORE INSERT ON head_log"
                 " WHEN NEW.value = 666 BEGIN SELECT RAISE(ABORT, 'injected'); END");
    struct ward_sample doomed[] = {gauge("cpu", "usage", "{}", T0, 1),
                                   gauge("ram", "usage", "{}", T0, 666)};
    assert_int_equal(ward_store_ingest(s, e->host[1], NULL, doomed, 2), WARD_E_STORE);
    raw_exec(db, "DROP TRIGGER inject");
    sqlite3_close(db);

    struct ward_sample again[] = {gauge("cpu", "usage", "{}", T0, 3),
                                  gauge("ram", "usage", "{}", T0, 4)};
    assert_int_equal(ward_store_ingest(s, e->host[1], NULL, again, 2), 0);
    assert_int_equal(count(s, e->host[1]), 2);
    int64_t cpu = series_id_of(s, e->host[1], "cpu", "usage", "{}");
    int64_t ram = series_id_of(s, e->host[1], "ram", "usage", "{}");
    assert_true(cpu != ram);

    /* Another host's new series gets an id of its own, and its sample. */
    struct ward_sample disk = gauge("disk", "free", "{}", T0, 9);
    assert_int_equal(ward_store_ingest(s, e->host[0], NULL, &disk, 1), 0);
    int64_t d = series_id_of(s, e->host[0], "disk", "free", "{}");
    assert_true(d != cpu && d != ram);
    struct ward_query q = all_of(e->host[0]);
    q.category = "disk";
    struct rows rs = run(s, q);
    assert_int_equal(rs.n, 1);
    assert_true(rs.v[0].value == 9);
    rows_free(&rs);
    assert_int_equal(count(s, e->host[0]), 3);
    assert_int_equal(count(s, e->host[1]), 2);
    ward_store_close(s);

    /* And so does the file, read afresh. */
    s = open_ok(e->dsn);
    assert_int_equal(count(s, e->host[0]), 3);
    assert_int_equal(count(s, e->host[1]), 2);
    ward_store_close(s);
}

/*
 * Registration that changes nothing must not write. data_version of another
 * connection changes exactly when some connection commits to the file.
 */
static void test_sqlite_register_noop_does_not_write(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    char name[64], id[WARD_STORE_ID_LEN];
    tagged(e, "quiet", name, sizeof(name));
    struct ward_host_info info = {.hostname = name, .os = "linux", .agent_version = "1"};
    bool created;
    assert_int_equal(ward_store_host_register(s, &info, id, &created), 0);
    assert_true(created);

    sqlite3 *db = raw_open(e);
    int64_t v0 = raw_int(db, "PRAGMA data_version");
    for (int i = 0; i < 3; i++)
        assert_int_equal(ward_store_host_register(s, &info, id, &created), 0);
    struct ward_host_info part = {.hostname = name, .os = "linux"};
    assert_int_equal(ward_store_host_register(s, &part, id, &created), 0);
    assert_int_equal(raw_int(db, "PRAGMA data_version"), v0);

    info.agent_version = "2";
    assert_int_equal(ward_store_host_register(s, &info, id, &created), 0);
    assert_false(created);
    assert_true(raw_int(db, "PRAGMA data_version") != v0);
    sqlite3_close(db);
    ward_store_close(s);
}

/*
 * The series-id cache holds 100,000 series, so steady ingest never asks the
 * series table. To see that from outside, the test changes the labels of
 * every stored series behind the store's back: a store that looked a series
 * up would no longer find it and would create a new one.
 */
static void test_sqlite_cache_holds_100k_series(void **state)
{
    enum {
        SERIES = 100000,
        GROUP = 50,
        PER_BATCH = SERIES / GROUP
    };
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    char(*labels)[24] = calloc(SERIES, sizeof(*labels));
    struct ward_sample *v = calloc(SERIES, sizeof(*v));
    assert_non_null(labels);
    assert_non_null(v);
    for (int i = 0; i < SERIES; i++)
        snprintf(labels[i], sizeof(labels[i]), "{\"i\":\"%d\"}", i);

    struct ward_write w[GROUP];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < SERIES; i++)
            v[i] = gauge("cpu", "usage", labels[i], T0 + round, i);
        for (int b = 0; b < GROUP; b++)
            w[b] = (struct ward_write){
                .host_id = e->host[b % 2], .samples = v + b * PER_BATCH, .n = PER_BATCH};
        assert_int_equal(ward_store_write(s, w, GROUP), 0);
        for (int b = 0; b < GROUP; b++)
            assert_int_equal(w[b].result, 0);
        if (round == 0) {
            sqlite3 *db = raw_open(e);
            raw_exec(db, "UPDATE series SET labels = labels || ' '");
            sqlite3_close(db);
        }
    }
    struct ward_store_stats st;
    assert_int_equal(ward_store_stats(s, &st), 0);
    assert_int_equal(st.series, SERIES);
    assert_int_equal(count(s, e->host[0]) + count(s, e->host[1]), 2 * SERIES);
    free(labels);
    free(v);
    ward_store_close(s);
}

/* Retention visits a bounded number of series per call and resumes where it stopped. */
static void test_sqlite_prune_resumes(void **state)
{
    enum {
        SERIES = 5000
    };
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    char(*labels)[24] = calloc(SERIES, sizeof(*labels));
    struct ward_sample *v = calloc(2 * SERIES, sizeof(*v));
    assert_non_null(labels);
    assert_non_null(v);
    for (int i = 0; i < SERIES; i++) {
        snprintf(labels[i], sizeof(labels[i]), "{\"i\":\"%d\"}", i);
        v[2 * i] = gauge("cpu", "usage", labels[i], 1000, i);
        v[2 * i + 1] = gauge("cpu", "usage", labels[i], T0, i);
    }
    assert_int_equal(ward_store_ingest(s, e->host[0], NULL, v, 2 * SERIES), 0);

    size_t total = 0, deleted = 0, calls = 0;
    int r;
    do {
        r = ward_store_prune(s, 2000, 1000000, &deleted);
        assert_true(r >= 0);
        assert_true(deleted < SERIES);
        total += deleted;
    } while (r == 1 && ++calls < 10);
    assert_int_equal(r, 0);
    assert_true(calls >= 1);
    assert_int_equal(total, SERIES);
    assert_int_equal(count(s, e->host[0]), SERIES);
    free(labels);
    free(v);
    ward_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_sqlite_dsn_forms),
        T(test_sqlite_failed_ingest_rolls_back),
        T(test_sqlite_bad_batch_in_group),
        T(test_sqlite_wal_and_version),
        T(test_sqlite_migrates_v1),
        T(test_sqlite_migrates_v3),
        T(test_sqlite_purge_then_failed_ingest),
        T(test_sqlite_future_schema),
        T(test_sqlite_not_a_database),
        T(test_sqlite_memory),
        T(test_sqlite_synchronous_full),
        T(test_sqlite_register_noop_does_not_write),
        T(test_sqlite_cache_holds_100k_series),
        T(test_sqlite_prune_resumes),
    };
    store_current = &store_sqlite_file;
    return cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);
}
