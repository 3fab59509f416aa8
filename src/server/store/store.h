/*
 * Storage interface of ward-server.
 *
 * A backend is a const struct of function pointers (struct ward_store_ops)
 * chosen by the scheme of the DSN. Its per-connection state embeds
 * struct ward_store as its first member. Methods are only ever appended to
 * ward_store_ops, and ops->size says how many a backend provides, so an old
 * backend keeps working when the interface grows.
 *
 * The store owns the data model of DESIGN.md: hosts, series keyed by
 * (host, category, name, labels), and samples keyed by (series, timestamp).
 * Writing a sample whose series and timestamp are already stored is a no-op,
 * and a batch whose (host, boot, seq) was stored before is acknowledged
 * without writing, so delivery retries are always safe.
 *
 * All functions are safe to call from several threads at once.
 */
#ifndef WARD_STORE_H
#define WARD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ward_metric_kind {
    WARD_KIND_GAUGE = 0,
    WARD_KIND_COUNTER = 1,
};

/* One sample to store. All strings are NUL-terminated and borrowed for the call. */
struct ward_sample {
    const char *category; /* the seeds' metric_type: "cpu", "ram", ... */
    const char *name;     /* the seeds' metric_name: "usage_percent", ... */
    const char *labels;   /* canonical JSON object with sorted keys, "{}" when none */
    enum ward_metric_kind kind;
    int64_t ts_ms; /* Unix time in milliseconds */
    double value;
};

/* Identifies a delivery batch of one host: (boot, seq) as in the wire protocol. */
struct ward_batch_key {
    int64_t boot;
    int64_t seq;
};

/* One batch of a group write (ward_store_write()). */
struct ward_write {
    const char *host_id;                /* lower-case UUID; the host is created if unknown */
    const struct ward_batch_key *batch; /* NULL: no dedupe key */
    const struct ward_sample *samples;
    size_t n;
    int result; /* out: 0 stored, 1 duplicate batch, or a negative error */
};

/* What a client tells about a host (seed 001's server registration). NULL = unknown/unchanged. */
struct ward_host_info {
    const char *hostname; /* required for ward_store_host_register() */
    const char *ip_address;
    const char *os;
    const char *labels; /* canonical JSON object */
    const char *agent_version;
};

/* A stored host. Strings are valid only during the callback; absent ones are NULL. */
struct ward_host_row {
    const char *id;
    const char *hostname;
    const char *ip_address;
    const char *os;
    const char *labels; /* canonical JSON object, "{}" when none */
    const char *agent_version;
    const char *status;   /* "pending", "active", "revoked", "deregistered" */
    int64_t last_seen_ms; /* 0 when never seen */
    int64_t created_ms;
    int64_t updated_ms;
    const char *name;             /* given by the admin who claimed it */
    const char *section_id;       /* NULL: the default section */
    const char *tenant_id;        /* the section's tenant; never NULL */
    const char *claim_token_hash; /* hex SHA-256 of the agent's claim token */
};

typedef int (*ward_store_host_fn)(const struct ward_host_row *row, void *userdata);

/* An agent that registers itself (smotra's POST /agent/register, spectra, enrollment). */
struct ward_enrollment {
    const char *id;               /* the agent's UUID, which becomes the host id */
    const char *claim_token_hash; /* hex SHA-256 of its claim token; NULL for none */
    struct ward_host_info info;   /* hostname is required */
    bool activate;                /* active at once (enrollment token) instead of pending */
};

/* A change of a host's registry fields; NULL fields stay as they are. */
struct ward_host_change {
    const char *id;
    const char *status;     /* "pending", "active", "revoked", "deregistered" */
    const char *section_id; /* must exist */
    const char *name;
    /*
     * When set, the change happens only if the host's status is this one
     * ("pending" also matches "revoked": both wait for a claim), else
     * -EALREADY and nothing changes. Two claims of one agent: one wins.
     */
    const char *from_status;
};

/* An API key of an agent or an admin token, as stored: never the secret itself. */
struct ward_credential {
    const char *id;        /* UUID */
    const char *kind;      /* "agent" or "admin" */
    const char *lookup;    /* public part, unique (credential.h) */
    const char *hash;      /* hex SHA-256 of the whole credential */
    const char *host_id;   /* agent keys: the agent */
    const char *tenant_id; /* admin tokens: the tenant it is limited to, NULL for all */
    const char *name;      /* what the admin called it */
    int64_t created_ms;
    int64_t revoked_ms; /* 0 while valid */
};

typedef int (*ward_store_credential_fn)(const struct ward_credential *c, void *userdata);

/* A tenant (tenant_id NULL) or a section of one. */
struct ward_group {
    const char *id;
    const char *tenant_id;
    const char *name;
    int64_t created_ms;
};

typedef int (*ward_store_group_fn)(const struct ward_group *g, void *userdata);

/* A stored configuration document of an agent or section; version grows with every change. */
typedef int (*ward_store_config_fn)(const char *body, int64_t version, int64_t updated_ms,
                                    void *userdata);

/* Selects series by exact fields; NULL matches any. */
struct ward_series_filter {
    const char *host_id;
    const char *category;
    const char *name;
};

/* A stored series. id is the backend's handle for ward_store_read(). */
struct ward_series_row {
    int64_t id;
    const char *host_id;
    const char *category;
    const char *name;
    const char *labels;
    enum ward_metric_kind kind;
};

typedef int (*ward_store_series_fn)(const struct ward_series_row *row, void *userdata);

/* One point of ward_store_read(): index is the position of its series in the ids array. */
typedef int (*ward_store_point_fn)(size_t index, int64_t ts_ms, double value, void *userdata);

/* A series with its newest sample, for ward_store_latest(). */
typedef int (*ward_store_latest_fn)(const struct ward_series_row *row, int64_t ts_ms, double value,
                                    void *userdata);

struct ward_store_stats {
    uint64_t hosts;
    uint64_t series;
    uint64_t bytes; /* on disk, including the write-ahead log; 0 in memory */
};

/* A range query over one host's samples. */
struct ward_query {
    const char *host_id;  /* required */
    const char *category; /* NULL matches every category */
    const char *name;     /* NULL matches every name */
    int64_t from_ms;      /* inclusive */
    int64_t to_ms;        /* inclusive */
    size_t limit;         /* maximum rows; newest rows are returned first */
};

/* One row of a query result. Strings are valid only during the callback. */
struct ward_sample_row {
    const char *host_id;
    const char *category;
    const char *name;
    const char *labels;
    enum ward_metric_kind kind;
    int64_t ts_ms;
    double value;
};

/* Receives query rows. Returning a negative value stops the query with that value. */
typedef int (*ward_store_row_fn)(const struct ward_sample_row *row, void *userdata);

/*
 * A diagnostic command of the queue. States: "queued" (waiting for its
 * agent), "dispatched" (handed to the agent), "done" (its result came
 * back), "failed" (the agent could not run it, or refused it) and
 * "expired" (not dispatched before expires_ms, or no result in time).
 * Strings are valid only during a callback; absent ones are NULL.
 */
struct ward_command {
    const char *id;           /* UUIDv7 */
    const char *host_id;      /* the agent that runs it */
    const char *type;         /* the diagnostic's name (common/diag.h) */
    const char *args;         /* canonical JSON object of its arguments, every value a string */
    const char *state;        /* see above */
    const char *requested_by; /* who asked: the caller's credential name (or id) */
    int64_t created_ms;
    int64_t expires_ms;    /* a queued command expires at this time */
    int64_t dispatched_ms; /* 0 until dispatched */
    int64_t finished_ms;   /* 0 until done, failed or expired */
    int64_t exit_code;     /* done, failed: the diagnostic's exit status or negative error */
    const char *error;     /* failed, expired: why */
    const char *output;    /* done, failed: the text that came back */
    int64_t output_bytes;  /* length of output */
    bool truncated;        /* the agent cut the output at its cap */
    const char *tenant_id; /* the tenant its host was in when it was queued */
};

typedef int (*ward_store_command_fn)(const struct ward_command *c, void *userdata);

/* The result of a command, as its agent reports it (ward_store_command_finish()). */
struct ward_command_result {
    const char *state; /* "done" or "failed" */
    int64_t exit_code;
    const char *error;  /* NULL for none */
    const char *output; /* may be NULL */
    size_t output_len;
    bool truncated;
    int64_t finished_ms;
};

/* Selects commands for ward_store_command_list(); NULL fields match any. */
struct ward_command_filter {
    const char *host_id;
    const char *tenant_id; /* only commands queued while their host was in this tenant */
    const char *state;
    const char *type;
    int64_t since_ms; /* created at or after; 0 for any */
    size_t limit;     /* newest first; 0 means 100 */
};

/* One entry of the audit log of commands. Strings as in ward_command. */
struct ward_audit_entry {
    int64_t id; /* grows with every entry */
    int64_t ts_ms;
    const char *command_id;
    const char *host_id;
    const char *actor;  /* who: the requester for "queued", "agent" or "server" otherwise */
    const char *event;  /* "queued", "dispatched", "done", "failed", "expired" */
    const char *detail; /* JSON object: type and args when queued; sizes, exit status after */
};

typedef int (*ward_store_audit_fn)(const struct ward_audit_entry *e, void *userdata);

/* Selects audit entries; NULL fields match any. */
struct ward_audit_filter {
    const char *host_id;
    const char *command_id;
    const char *tenant_id;
    size_t limit; /* newest first; 0 means 100 */
};

struct ward_store_options {
    bool synchronous_full; /* fsync on every commit instead of at checkpoints */
};

struct ward_store_ops;

/* Base of every backend's state; backends put it first. */
struct ward_store {
    const struct ward_store_ops *ops;
};

struct ward_store_ops {
    size_t size;      /* sizeof(struct ward_store_ops) the backend was built against */
    const char *name; /* "sqlite", "postgres" */

    /* Returns true when this backend handles dsn. */
    bool (*accepts)(const char *dsn);

    /*
     * Opens (and creates or migrates) the database named by dsn.
     * On success stores a new handle in *out and returns 0.
     */
    int (*open)(const char *dsn, const struct ward_store_options *opt, struct ward_store **out);

    /* Closes the handle. Accepts NULL. */
    void (*close)(struct ward_store *s);

    /*
     * Stores the n batches of w in one transaction (group commit), creating
     * hosts and series as needed, and returns only after the commit. Each
     * batch succeeds or fails on its own: its result is 0 when stored, 1 when
     * w[i].batch was stored before, in an earlier group or earlier in this
     * one (nothing written), or a negative error that undid only that batch.
     * The call returns 0 when the transaction committed, or a negative error
     * when it did not, in which case every w[i].result holds that error and
     * nothing is stored. Arguments were checked by store.c (see
     * ward_store_write()).
     */
    int (*write)(struct ward_store *s, struct ward_write *w, size_t n);

    /*
     * Calls fn for every matching sample, newest first, at most q->limit
     * times. fn must not call back into the same store. Returns 0, or the
     * negative value fn returned, or a negative error.
     */
    int (*query)(struct ward_store *s, const struct ward_query *q, ward_store_row_fn fn,
                 void *userdata);

    /*
     * Registers a host by hostname: when a host with info->hostname exists
     * (the oldest, should there be several), its fields for which info has a
     * non-NULL value are updated and its id returned with *created = false;
     * else a host with a new UUIDv7 and status "active" is made, *created =
     * true. A registration that changes nothing writes nothing, so callers
     * may register on every request. The id is written to id_out
     * (WARD_STORE_ID_LEN bytes). Returns 0 or a negative error.
     */
    int (*host_register)(struct ward_store *s, const struct ward_host_info *info, char *id_out,
                         bool *created);

    /*
     * Calls fn for every host, ordered by hostname then id; hosts without a
     * hostname (made by ingest, never registered) come first. Returns 0, the
     * negative value fn returned, or a negative error.
     */
    int (*host_list)(struct ward_store *s, ward_store_host_fn fn, void *userdata);

    /*
     * Calls fn for every series matching f, ordered by host, category, name
     * and labels. Returns 0, the negative value fn returned, or a negative
     * error.
     */
    int (*series_list)(struct ward_store *s, const struct ward_series_filter *f,
                       ward_store_series_fn fn, void *userdata);

    /*
     * Calls fn for every sample of the n series ids with from_ms <= ts <=
     * to_ms: series by series in the order of ids, each oldest first, all
     * from one snapshot. Unknown ids yield nothing. Returns 0, the negative
     * value fn returned, or a negative error.
     */
    int (*read)(struct ward_store *s, const int64_t *ids, size_t n, int64_t from_ms, int64_t to_ms,
                ward_store_point_fn fn, void *userdata);

    /*
     * Calls fn for every series that has a sample, with its newest one, in
     * no particular order. Costs a seek per series, not a scan of the
     * samples. Returns 0, the negative value fn returned, or a negative error.
     */
    int (*latest)(struct ward_store *s, ward_store_latest_fn fn, void *userdata);

    /*
     * Retention, one bounded step: deletes samples with ts < before_ms, at
     * most max_rows of them, and batch keys received before before_ms, at
     * most max_rows of those too, in a transaction of its own. Stores the
     * number of samples deleted in *deleted. Returns 1 when the step ended
     * before the work was done (call again; a backend may also stop early to
     * keep the step short, even with nothing deleted), 0 when nothing older
     * is left, or a negative error (nothing deleted, *deleted untouched).
     */
    int (*prune)(struct ward_store *s, int64_t before_ms, size_t max_rows, size_t *deleted);

    /* Counts hosts and series and measures the database. Returns 0 or a negative error. */
    int (*stats)(struct ward_store *s, struct ward_store_stats *out);

    /* Checks that the database answers (a trivial read). Returns 0 or a negative error. */
    int (*ping)(struct ward_store *s);

    /*
     * The registry: agents and their lifecycle, credentials, tenants,
     * sections and central configuration. Every host belongs to a section
     * (NULL: the default section, of the default tenant, which the store
     * creates).
     */

    /*
     * Registers an agent under its own id. A new host is made "pending", or
     * "active" when e->activate. A known host (a deregistered one too) must
     * bring the claim token hash it was registered with, else -EEXIST and
     * nothing changes; one made without a hash (by ingest or by an admin)
     * is adopted only by an enrollment that activates and brings a hash.
     * A known host takes the info given and keeps its status, except that a
     * "pending" one becomes "active" when e->activate and a "deregistered"
     * one comes back "revoked": what an admin decided (revoked, deleted)
     * waits for a claim and is not undone by an enrollment. Writes the
     * host's status after the call into status_out (16 bytes). Returns 0
     * or a negative error.
     */
    int (*host_enroll)(struct ward_store *s, const struct ward_enrollment *e, char *status_out);

    /* Calls fn once with host id. Returns 0, WARD_E_NOT_FOUND, fn's negative value or an error. */
    int (*host_get)(struct ward_store *s, const char *id, ward_store_host_fn fn, void *userdata);

    /*
     * Applies c. Returns 0, WARD_E_NOT_FOUND (host or section), -EALREADY
     * when c->from_status does not match, or a negative error.
     */
    int (*host_change)(struct ward_store *s, const struct ward_host_change *c);

    /*
     * Deletes host id with its series, samples, batch keys, credentials,
     * configuration and commands; the audit entries of its commands stay.
     * Returns 0, WARD_E_NOT_FOUND or a negative error.
     */
    int (*host_purge)(struct ward_store *s, const char *id);

    /*
     * Stores a new credential c (id, kind, lookup and hash required). With
     * revoke_host_keys, every other valid key of c->host_id is revoked in
     * the same transaction. Returns 0, -EEXIST for a lookup in use, or an error.
     */
    int (*credential_add)(struct ward_store *s, const struct ward_credential *c,
                          bool revoke_host_keys);

    /* Calls fn with the credential of lookup, revoked or not. Returns 0 or WARD_E_NOT_FOUND. */
    int (*credential_find)(struct ward_store *s, const char *lookup, ward_store_credential_fn fn,
                           void *userdata);

    /* Calls fn for every credential of kind ("agent", "admin"), oldest first. */
    int (*credential_list)(struct ward_store *s, const char *kind, ward_store_credential_fn fn,
                           void *userdata);

    /*
     * Revokes credential id, or (id NULL) every valid key of host_id.
     * Returns the number revoked, or a negative error.
     */
    int (*credential_revoke)(struct ward_store *s, const char *id, const char *host_id);

    /*
     * Makes a tenant (g->tenant_id NULL) or a section of tenant g->tenant_id
     * with a new UUIDv7, written to id_out. Names are unique within their
     * parent: -EEXIST. An unknown tenant is WARD_E_NOT_FOUND.
     */
    int (*group_add)(struct ward_store *s, const struct ward_group *g, char *id_out);

    /*
     * Calls fn for every tenant (sections false) or every section (true),
     * limited to tenant_id unless it is NULL, ordered by name.
     */
    int (*group_list)(struct ward_store *s, bool sections, const char *tenant_id,
                      ward_store_group_fn fn, void *userdata);

    /* Calls fn with the configuration of scope ("agent", "section") id, or returns
     * WARD_E_NOT_FOUND. */
    int (*config_get)(struct ward_store *s, const char *scope, const char *id,
                      ward_store_config_fn fn, void *userdata);

    /*
     * Stores body (a JSON document, checked by the caller) as the
     * configuration of scope id, with a version above every version stored
     * before, written to *version. Returns 0 or a negative error.
     */
    int (*config_set)(struct ward_store *s, const char *scope, const char *id, const char *body,
                      int64_t *version);
    /*
     * The command queue. Every change of a command's state appends an entry
     * to the audit log in the same transaction; entries outlive their
     * commands.
     */

    /*
     * Queues command c (id, host_id, type, args, requested_by, created_ms
     * and expires_ms set; state is taken as "queued") unless its host has
     * max_pending commands queued or dispatched already: WARD_E_LIMIT. An
     * unknown host is WARD_E_NOT_FOUND. Returns 0 or a negative error.
     */
    int (*command_add)(struct ward_store *s, const struct ward_command *c, size_t max_pending);

    /*
     * Hands out the oldest queued command of host_id that has not expired
     * by now_ms: marks it dispatched at now_ms and calls fn with it.
     * Returns 0, WARD_E_NOT_FOUND when there is none, fn's negative value
     * (the change stands) or an error.
     */
    int (*command_dispatch)(struct ward_store *s, const char *host_id, int64_t now_ms,
                            ward_store_command_fn fn, void *userdata);

    /*
     * Stores the result of command id, which must be a dispatched command
     * of host_id: it becomes res->state. Returns 0, WARD_E_NOT_FOUND (no
     * such command of that host), -EALREADY (it is not dispatched:
     * finished or expired already) or an error.
     */
    int (*command_finish)(struct ward_store *s, const char *id, const char *host_id,
                          const struct ward_command_result *res);

    /* Calls fn once with command id. Returns 0, WARD_E_NOT_FOUND, fn's value or an error. */
    int (*command_get)(struct ward_store *s, const char *id, ward_store_command_fn fn,
                       void *userdata);

    /* Calls fn for every command matching f, newest first; output is NULL in a list. */
    int (*command_list)(struct ward_store *s, const struct ward_command_filter *f,
                        ward_store_command_fn fn, void *userdata);

    /*
     * Expires queued commands whose expires_ms <= now_ms ("not picked up
     * in time") and dispatched ones dispatched before result_before_ms
     * ("no result in time"), calling fn (may be NULL) with each after the
     * change. Returns the number expired, fn's negative value (which stops
     * the calls; the changes stand) or a negative error.
     */
    int (*command_expire)(struct ward_store *s, int64_t now_ms, int64_t result_before_ms,
                          ward_store_command_fn fn, void *userdata);

    /*
     * Deletes commands that finished before before_ms, and audit entries
     * older than audit_before_ms. Returns the number of commands deleted,
     * or a negative error.
     */
    int (*command_prune)(struct ward_store *s, int64_t before_ms, int64_t audit_before_ms);

    /* Calls fn for every audit entry matching f, newest first. */
    int (*audit_list)(struct ward_store *s, const struct ward_audit_filter *f,
                      ward_store_audit_fn fn, void *userdata);
};

/* Ids of the tenant and section that exist in every store; hosts start in the section. */
#define WARD_DEFAULT_TENANT  "00000000-0000-7000-8000-000000000001"
#define WARD_DEFAULT_SECTION "00000000-0000-7000-8000-000000000002"

/* Size of a host id buffer: a UUID string and its NUL. */
#define WARD_STORE_ID_LEN 37

/*
 * Opens the backend that accepts dsn: "sqlite:PATH", a plain file path, or
 * "postgres://..." once that backend exists. Returns 0, -EINVAL for an
 * empty DSN, WARD_E_NOT_FOUND when no backend accepts it, or the backend's
 * error.
 */
int ward_store_open(const char *dsn, const struct ward_store_options *opt, struct ward_store **out);

/* Closes a store opened by ward_store_open(). Accepts NULL. */
void ward_store_close(struct ward_store *s);

/*
 * See ward_store_ops.write. Checks every batch first: a batch with a missing
 * host id, string, a non-finite value or an unknown kind gets result
 * -EINVAL and is not passed on; the others are written.
 */
int ward_store_write(struct ward_store *s, struct ward_write *w, size_t n);

/*
 * Stores one batch (a group write of one). Returns 0 when stored, 1 when
 * the batch was a duplicate, or a negative error.
 */
int ward_store_ingest(struct ward_store *s, const char *host_id, const struct ward_batch_key *batch,
                      const struct ward_sample *samples, size_t n);

/* See the ward_store_ops method of the same name. */
int ward_store_host_register(struct ward_store *s, const struct ward_host_info *info, char *id_out,
                             bool *created);
int ward_store_host_list(struct ward_store *s, ward_store_host_fn fn, void *userdata);
int ward_store_series_list(struct ward_store *s, const struct ward_series_filter *f,
                           ward_store_series_fn fn, void *userdata);
int ward_store_read(struct ward_store *s, const int64_t *ids, size_t n, int64_t from_ms,
                    int64_t to_ms, ward_store_point_fn fn, void *userdata);
int ward_store_latest(struct ward_store *s, ward_store_latest_fn fn, void *userdata);
int ward_store_prune(struct ward_store *s, int64_t before_ms, size_t max_rows, size_t *deleted);
int ward_store_stats(struct ward_store *s, struct ward_store_stats *out);
int ward_store_ping(struct ward_store *s);

int ward_store_host_enroll(struct ward_store *s, const struct ward_enrollment *e, char *status_out);
int ward_store_host_get(struct ward_store *s, const char *id, ward_store_host_fn fn,
                        void *userdata);
int ward_store_host_change(struct ward_store *s, const struct ward_host_change *c);
int ward_store_host_purge(struct ward_store *s, const char *id);
int ward_store_credential_add(struct ward_store *s, const struct ward_credential *c,
                              bool revoke_host_keys);
int ward_store_credential_find(struct ward_store *s, const char *lookup,
                               ward_store_credential_fn fn, void *userdata);
int ward_store_credential_list(struct ward_store *s, const char *kind, ward_store_credential_fn fn,
                               void *userdata);
int ward_store_credential_revoke(struct ward_store *s, const char *id, const char *host_id);
int ward_store_group_add(struct ward_store *s, const struct ward_group *g, char *id_out);
int ward_store_group_list(struct ward_store *s, bool sections, const char *tenant_id,
                          ward_store_group_fn fn, void *userdata);
int ward_store_config_get(struct ward_store *s, const char *scope, const char *id,
                          ward_store_config_fn fn, void *userdata);
int ward_store_config_set(struct ward_store *s, const char *scope, const char *id, const char *body,
                          int64_t *version);
int ward_store_command_add(struct ward_store *s, const struct ward_command *c, size_t max_pending);
int ward_store_command_dispatch(struct ward_store *s, const char *host_id, int64_t now_ms,
                                ward_store_command_fn fn, void *userdata);
int ward_store_command_finish(struct ward_store *s, const char *id, const char *host_id,
                              const struct ward_command_result *res);
int ward_store_command_get(struct ward_store *s, const char *id, ward_store_command_fn fn,
                           void *userdata);
int ward_store_command_list(struct ward_store *s, const struct ward_command_filter *f,
                            ward_store_command_fn fn, void *userdata);
int ward_store_command_expire(struct ward_store *s, int64_t now_ms, int64_t result_before_ms,
                              ward_store_command_fn fn, void *userdata);
int ward_store_command_prune(struct ward_store *s, int64_t before_ms, int64_t audit_before_ms);
int ward_store_audit_list(struct ward_store *s, const struct ward_audit_filter *f,
                          ward_store_audit_fn fn, void *userdata);

/* Length of a host status buffer (ward_store_host_enroll()). */
#define WARD_STORE_STATUS_LEN 16

/* See ward_store_ops.query. */
int ward_store_query(struct ward_store *s, const struct ward_query *q, ward_store_row_fn fn,
                     void *userdata);

/* Backends, in the order ward_store_open() asks them; the table is in store.c. */
extern const struct ward_store_ops ward_store_sqlite_ops;

#endif
