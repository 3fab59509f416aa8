/*
 * Hosts of the SQLite store: registration by hostname and the host list.
 *
 * Some clients register on every request, so registration must be cheap
 * when nothing changed: it first looks the host up on a read connection,
 * which never waits for the writer, and returns when the stored host
 * already says what the client tells. Only a new host or a changed field
 * takes the writer, and then the lookup is repeated inside the write
 * transaction, because another registration of the same hostname may have
 * committed in between; so two clients registering one new hostname at the
 * same time get one host, not two.
 *
 * A hostname is not unique in the schema (hosts made by ingest have none,
 * and an older database may hold duplicates); registration uses the oldest
 * host of that name, which is the one with the smallest id because ids are
 * UUIDv7. The index on (hostname, id) serves that lookup and the order of
 * the host list.
 */
#include "common/error.h"
#include "common/uuid.h"
#include "server/store/store-sqlite.h"
#include "server/store/store.h"

#include <errno.h>
#include <sqlite3.h>
#include <string.h>

_Static_assert(WARD_STORE_ID_LEN == WARD_UUID_STR_LEN, "host ids are UUIDs");

static const char *column_str(sqlite3_stmt *st, int col)
{
    return (const char *)sqlite3_column_text(st, col);
}

/* True when the client tells a value (want) that the stored column does not hold. */
static bool field_differs(const char *want, sqlite3_stmt *st, int col)
{
    if (want == NULL)
        return false;
    const char *have = column_str(st, col);
    return have == NULL || strcmp(want, have) != 0;
}

/*
 * Looks the host of info->hostname up on c. Returns 1 with its id in id and
 * whether info changes it in *differs, 0 when there is none, or an error.
 */
static int host_find(struct conn *c, const struct ward_host_info *info, char id[WARD_STORE_ID_LEN],
                     bool *differs)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(c, ST_HOST_BY_NAME, &st);
    if (r < 0)
        return r;
    r = ward_sqlite_bind_rc(c, ward_sqlite_bind_text(st, 1, info->hostname));
    if (r < 0)
        return r;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? 0 : ward_sqlite_rc(c->db, rc);
    const char *found = column_str(st, 0);
    if (found == NULL || strlen(found) >= WARD_STORE_ID_LEN)
        return WARD_E_STORE;
    memcpy(id, found, strlen(found) + 1);
    *differs = field_differs(info->ip_address, st, 1) || field_differs(info->os, st, 2) ||
               field_differs(info->labels, st, 3) || field_differs(info->agent_version, st, 4);
    return 1;
}

/* Binds ip_address, os, labels and agent_version to parameters first to first + 3. */
static int bind_details(sqlite3_stmt *st, int first, const struct ward_host_info *info)
{
    int rc = ward_sqlite_bind_opt(st, first, info->ip_address);
    rc = rc ?: ward_sqlite_bind_opt(st, first + 1, info->os);
    rc = rc ?: ward_sqlite_bind_opt(st, first + 2, info->labels);
    return rc ?: ward_sqlite_bind_opt(st, first + 3, info->agent_version);
}

static int host_insert(struct conn *c, const char *id, const struct ward_host_info *info,
                       int64_t now)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(c, ST_HOST_INSERT, &st);
    if (r < 0)
        return r;
    int rc = ward_sqlite_bind_text(st, 1, id);
    rc = rc ?: ward_sqlite_bind_text(st, 2, info->hostname);
    rc = rc ?: bind_details(st, 3, info);
    rc = rc ?: sqlite3_bind_int64(st, 7, now);
    r = ward_sqlite_bind_rc(c, rc);
    return r < 0 ? r : ward_sqlite_step_done(c, st);
}

static int host_update(struct conn *c, const char *id, const struct ward_host_info *info,
                       int64_t now)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(c, ST_HOST_UPDATE, &st);
    if (r < 0)
        return r;
    int rc = ward_sqlite_bind_text(st, 1, id);
    rc = rc ?: bind_details(st, 2, info);
    rc = rc ?: sqlite3_bind_int64(st, 6, now);
    r = ward_sqlite_bind_rc(c, rc);
    return r < 0 ? r : ward_sqlite_step_done(c, st);
}

/* The write transaction of a registration. Returns 1 when it made the host, 0, or an error. */
static int register_tx(struct conn *c, const struct ward_host_info *info,
                       char id[WARD_STORE_ID_LEN])
{
    bool differs = false;
    int r = host_find(c, info, id, &differs);
    if (r < 0)
        return r;
    int64_t now = ward_sqlite_now_ms();
    if (r == 1)
        return differs ? host_update(c, id, info, now) : 0;
    r = ward_uuid_v7(id);
    if (r < 0)
        return r;
    r = host_insert(c, id, info, now);
    return r < 0 ? r : 1;
}

int ward_sqlite_host_register(struct sqlite_store *s, const struct ward_host_info *info,
                              char *id_out, bool *created)
{
    char id[WARD_STORE_ID_LEN];
    bool differs = false;
    struct conn *c = ward_sqlite_reader_lock(s);
    int r = host_find(c, info, id, &differs);
    ward_sqlite_reader_unlock(c);
    if (r < 0)
        return r;
    if (r == 0 || differs) {
        c = &s->writer;
        pthread_mutex_lock(&c->lock);
        r = ward_sqlite_exec(c->db, "BEGIN IMMEDIATE");
        if (r == 0)
            r = register_tx(c, info, id);
        if (r >= 0) {
            int rc = ward_sqlite_exec(c->db, "COMMIT");
            if (rc < 0)
                r = rc;
        }
        if (r < 0)
            ward_sqlite_rollback(c->db);
        pthread_mutex_unlock(&c->lock);
        if (r < 0)
            return r;
    } else {
        r = 0;
    }
    memcpy(id_out, id, WARD_STORE_ID_LEN);
    *created = r == 1;
    return 0;
}

int ward_sqlite_host_row(sqlite3_stmt *st, ward_store_host_fn fn, void *userdata)
{
    const char *labels = column_str(st, 4);
    struct ward_host_row row = {
        .id = column_str(st, 0),
        .hostname = column_str(st, 1),
        .ip_address = column_str(st, 2),
        .os = column_str(st, 3),
        .labels = labels ? labels : "{}",
        .agent_version = column_str(st, 5),
        .status = column_str(st, 6),
        .last_seen_ms = sqlite3_column_int64(st, 7),
        .created_ms = sqlite3_column_int64(st, 8),
        .updated_ms = sqlite3_column_int64(st, 9),
        .name = column_str(st, 10),
        .section_id = column_str(st, 11),
        .tenant_id = column_str(st, 12),
        .claim_token_hash = column_str(st, 13),
    };
    if (row.id == NULL || row.status == NULL || row.tenant_id == NULL)
        return WARD_E_STORE;
    return fn(&row, userdata);
}

static int host_list_locked(struct conn *c, ward_store_host_fn fn, void *userdata)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(c, ST_HOST_LIST, &st);
    if (r < 0)
        return r;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        r = ward_sqlite_host_row(st, fn, userdata);
        if (r < 0)
            return r;
    }
    return rc == SQLITE_DONE ? 0 : ward_sqlite_rc(c->db, rc);
}

int ward_sqlite_host_list(struct sqlite_store *s, ward_store_host_fn fn, void *userdata)
{
    struct conn *c = ward_sqlite_reader_lock(s);
    int r = host_list_locked(c, fn, userdata);
    ward_sqlite_reader_unlock(c);
    return r;
}
