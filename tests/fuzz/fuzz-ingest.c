/*
 * Fuzz target for ingest decoding: what POST /api/v1/ingest does with a body.
 *
 * Gzip input is inflated under a cap first, as the HTTP layer does, then the
 * batch is decoded. A decoded batch must satisfy what the store relies on:
 * names within bounds, finite values, and label text that is itself valid
 * canonical JSON (re-decoding it must succeed).
 */
#include "common/buf.h"
#include "common/gzip.h"
#include "common/json.h"
#include "server/ingest.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_labels(const char *labels)
{
    struct ward_json_reader r;
    struct ward_json_token t;
    ward_json_reader_init(&r, labels, strlen(labels), NULL);
    if (ward_json_next(&r, &t) < 0 || t.type != WARD_JSON_OBJECT_BEGIN)
        abort();
    while (ward_json_next(&r, &t) == 0 && t.type != WARD_JSON_END)
        ;
    if (t.type != WARD_JSON_END)
        abort();
    ward_json_reader_done(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ward_buf plain = WARD_BUF_INIT, err = WARD_BUF_INIT;
    const char *json = (const char *)data;
    size_t len = size;
    if (ward_gzip_is_gzip(data, size)) {
        if (ward_gzip_decompress(data, size, 1 << 20, 1 << 20, &plain) < 0) {
            ward_buf_done(&plain);
            return 0;
        }
        json = plain.data ? plain.data : "";
        len = plain.len;
    }
    struct ward_ingest in;
    ward_ingest_init(&in);
    if (ward_ingest_decode(&in, json, len, 1, &err) == 0) {
        for (size_t i = 0; i < in.n_samples; i++) {
            const struct ward_sample *s = &in.samples[i];
            size_t c = strlen(s->category), n = strlen(s->name);
            if (!c || c > WARD_INGEST_MAX_NAME || !n || n > WARD_INGEST_MAX_NAME ||
                !isfinite(s->value))
                abort();
            check_labels(s->labels);
        }
    } else if (!err.data || !err.len) {
        abort(); /* every refusal must say why */
    }
    ward_ingest_done(&in);
    ward_buf_done(&plain);
    ward_buf_done(&err);
    return 0;
}
