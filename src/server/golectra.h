/*
 * The golectra wire formats: what the golectra compatibility routes read and
 * write, with no server state.
 *
 * A golectra metric is an id, a type (gauge or counter) and a number: a
 * gauge carries a finite double "value", a counter an integer "delta". The
 * routes speak three forms of it:
 *
 *   text   POST /update/{type}/{id}/{value}, GET /value/{type}/{id}
 *   JSON   {"id": "Alloc", "type": "gauge", "value": 12345}
 *          {"id": "PollCount", "type": "counter", "delta": 7}
 *   HTML   GET /, two tables (gauges, counters)
 *
 * plus the HashSHA256 integrity header and the snapshot file (-f), which is
 * a JSON array in the /updates shape. Everything here is pure so it can be
 * unit-tested and fuzzed; api-golectra.c holds the state and the handlers.
 *
 * Numbers are written as golectra's Go code writes them: plain text values
 * in strconv's shortest 'f' form ("12345", "0.001"), JSON numbers in
 * encoding/json's form ("12345", "1e+21"). A counter's "delta" in a response
 * or a snapshot is the counter's total.
 */
#ifndef WARD_GOLECTRA_H
#define WARD_GOLECTRA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/crypto.h"

/* Bytes of a metric id; the same bound as a series name (WARD_INGEST_MAX_NAME). */
#define WARD_GOLECTRA_MAX_ID 128
/* Metrics in one POST /updates body. */
#define WARD_GOLECTRA_MAX_BATCH 10000
/* Metrics in a snapshot file, and the file's size in bytes. */
#define WARD_GOLECTRA_MAX_SNAPSHOT_METRICS 100000
#define WARD_GOLECTRA_MAX_SNAPSHOT_BYTES   ((size_t)32 << 20)
/* JSON nesting of a body: the /updates array, its objects, and room for unknown keys. */
#define WARD_GOLECTRA_MAX_DEPTH 8
/*
 * The largest counter total: 2^53, beyond which a double (the type of every
 * stored sample) no longer holds each integer exactly.
 */
#define WARD_GOLECTRA_COUNTER_MAX INT64_C(9007199254740992)

/* Room for any value formatted by ward_golectra_format_value(), with its NUL. */
#define WARD_GOLECTRA_VALUE_MAX 352

/* The header of the integrity hash, and its length in hex digits. */
#define WARD_GOLECTRA_HASH_HEADER "HashSHA256"
#define WARD_GOLECTRA_HASH_HEX    (2 * WARD_SHA256_LEN)

enum ward_golectra_type {
    WARD_GOLECTRA_GAUGE = 0,
    WARD_GOLECTRA_COUNTER = 1,
};

struct ward_golectra_metric {
    char id[WARD_GOLECTRA_MAX_ID + 1]; /* NUL-terminated */
    enum ward_golectra_type type;
    bool has_number; /* "value" (gauge) or "delta" (counter) was given */
    double value;    /* gauges */
    int64_t delta;   /* counters: the increment in a request, the total in a response */
};

/* A growable array of metrics, for /updates and the snapshot. */
struct ward_golectra_list {
    struct ward_golectra_metric *items;
    size_t n;
    size_t cap;
};

#define WARD_GOLECTRA_LIST_INIT                                                                    \
    {                                                                                              \
        0                                                                                          \
    }

/* Frees the items; the list is empty and reusable afterwards. */
void ward_golectra_list_done(struct ward_golectra_list *l);

/* Appends a copy of m. Returns 0, -ENOMEM or WARD_E_LIMIT (more than max items). */
int ward_golectra_list_add(struct ward_golectra_list *l, const struct ward_golectra_metric *m,
                           size_t max);

/* The type's name, "gauge" or "counter". */
const char *ward_golectra_type_name(enum ward_golectra_type t);

/* Parses a type name (exactly "gauge" or "counter"). Returns 0 or WARD_E_PARSE. */
int ward_golectra_parse_type(const char *s, enum ward_golectra_type *out);

/*
 * Checks a metric id of len bytes: 1 to WARD_GOLECTRA_MAX_ID bytes of
 * printable ASCII other than space and '/'. Returns true when it is valid.
 */
bool ward_golectra_id_valid(const char *s, size_t len);

/*
 * Parses the text route POST /update/{type}/{id}/{value}: the type, the id,
 * and for a gauge a finite decimal number, for a counter a decimal integer
 * (golectra refuses fractions for counters). Fills *out and returns 0, or
 * returns WARD_E_PARSE with a one-line reason in err.
 */
int ward_golectra_parse_update(const char *type, const char *id, const char *value,
                               struct ward_golectra_metric *out, struct ward_buf *err);

/*
 * Decodes the JSON body of POST /update: one object with "id", "type" and,
 * by type, "value" (a number) or "delta" (an integer). Unknown keys are
 * ignored and null counts as absent. Fills *out and returns 0, or returns
 * WARD_E_JSON_* (WARD_E_JSON_TYPE for a missing or wrong field) with a
 * one-line reason in err ("delta: expected an integer, got number").
 */
int ward_golectra_decode_update(const char *json, size_t len, struct ward_golectra_metric *out,
                                struct ward_buf *err);

/*
 * Decodes the JSON body of POST /value: an object with "id" and "type";
 * "value" and "delta" are read if present but not required. Returns as
 * ward_golectra_decode_update().
 */
int ward_golectra_decode_value(const char *json, size_t len, struct ward_golectra_metric *out,
                               struct ward_buf *err);

/*
 * Decodes the JSON body of POST /updates, or a snapshot file: an array of
 * /update objects, at most max of them, appended to out (which must be
 * empty). Returns 0; WARD_E_LIMIT for more than max; WARD_E_JSON_* or
 * -ENOMEM as above. The reason names the item ("[3].type: must be
 * \"gauge\" or \"counter\"").
 */
int ward_golectra_decode_updates(const char *json, size_t len, size_t max,
                                 struct ward_golectra_list *out, struct ward_buf *err);

/*
 * Formats a gauge as golectra's plain-text value: the shortest decimal that
 * reads back as exactly v, never with an exponent ("12345", "0.5",
 * "0.000001"). v must be finite. Returns the length.
 */
size_t ward_golectra_format_value(double v, char out[WARD_GOLECTRA_VALUE_MAX]);

/*
 * Appends m as a JSON object: {"id","type","value"} for a gauge,
 * {"id","type","delta"} for a counter. Returns 0, -ENOMEM or WARD_E_LIMIT.
 */
int ward_golectra_encode(const struct ward_golectra_metric *m, struct ward_buf *out);

/* Appends the n metrics as a JSON array of such objects. Returns as above. */
int ward_golectra_encode_list(const struct ward_golectra_metric *m, size_t n, struct ward_buf *out);

/*
 * Appends the body of the page GET / shows (api-ui.c adds the rest): a
 * heading, a table of gauges and a table of counters, each sorted by id,
 * every id HTML-escaped. Sorts m in place. Returns 0, -ENOMEM or
 * WARD_E_LIMIT.
 */
int ward_golectra_render_tables(struct ward_golectra_metric *m, size_t n, struct ward_buf *out);

/*
 * Computes golectra's HashSHA256: the lowercase hex SHA-256 of the len
 * bytes of body followed by the keylen bytes of key, as
 * printf '%s' "$BODY$KEY" | openssl dgst -sha256 computes it. Writes
 * WARD_GOLECTRA_HASH_HEX digits and a NUL. Returns 0 or -ENOMEM.
 */
int ward_golectra_hash(const void *body, size_t len, const char *key, size_t keylen,
                       char out[WARD_GOLECTRA_HASH_HEX + 1]);

/*
 * Checks a received HashSHA256 (hexlen characters, either case) against
 * the hash of body and key, comparing the digests in constant time.
 * Returns 0 when they match, WARD_E_PARSE when hex is not
 * WARD_GOLECTRA_HASH_HEX hex digits, -EBADMSG when it does not match, or
 * -ENOMEM.
 */
int ward_golectra_hash_verify(const void *body, size_t len, const char *key, size_t keylen,
                              const char *hex, size_t hexlen);

/*
 * Writes the n metrics to path as a snapshot (a JSON array in the /updates
 * shape), atomically: into "PATH.tmp", fsync, rename over path, fsync of
 * the directory. A reader sees the old file or the new one, never a mix.
 * Returns 0 or a negative errno (the temporary file is removed on failure).
 */
int ward_golectra_snapshot_write(const char *path, const struct ward_golectra_metric *m, size_t n);

/*
 * Reads a snapshot written by ward_golectra_snapshot_write() into out (which
 * must be empty), refusing files over WARD_GOLECTRA_MAX_SNAPSHOT_BYTES or
 * with more than WARD_GOLECTRA_MAX_SNAPSHOT_METRICS metrics. An empty file
 * holds no metrics. Returns 0; -ENOENT when the file does not exist; another
 * -errno when it cannot be read; WARD_E_LIMIT or WARD_E_JSON_* for bad
 * content. On failure err holds one line naming the problem.
 */
int ward_golectra_snapshot_read(const char *path, struct ward_golectra_list *out,
                                struct ward_buf *err);

#endif
