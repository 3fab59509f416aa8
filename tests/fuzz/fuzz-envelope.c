/*
 * Fuzz target for spectra envelope decoding: what POST /api/v1/metrics does
 * with a body.
 *
 * Gzip input is inflated under a cap first, as the HTTP layer does. A
 * decoded body must satisfy what the store relies on: every sample belongs
 * to exactly one host, names and categories within bounds, finite values,
 * and label text that is a canonical JSON object within the label bounds.
 * A refusal must say why.
 */
#include "common/buf.h"
#include "common/gzip.h"
#include "common/json.h"
#include "server/envelope.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_labels(const char *labels)
{
    struct ward_json_reader r;
    struct ward_json_token t;
    size_t n = 0;
    ward_json_reader_init(&r, labels, strlen(labels), NULL);
    if (ward_json_next(&r, &t) < 0 || t.type != WARD_JSON_OBJECT_BEGIN)
        abort();
    for (;;) {
        if (ward_json_next(&r, &t) < 0)
            abort();
        if (t.type == WARD_JSON_OBJECT_END)
            break;
        if (t.type != WARD_JSON_KEY || t.len == 0 || t.len > WARD_LABELS_MAX_KEY)
            abort();
        if (ward_json_next(&r, &t) < 0 || t.type != WARD_JSON_STRING ||
            t.len > WARD_LABELS_MAX_VALUE)
            abort();
        n++;
    }
    if (n > WARD_LABELS_MAX || ward_json_next(&r, &t) < 0 || t.type != WARD_JSON_END)
        abort();
    ward_json_reader_done(&r);
}

static void check_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > WARD_ENVELOPE_MAX_NAME)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ward_buf plain = WARD_BUF_INIT, err = WARD_BUF_INIT;
    const char *json = (const char *)data;
    size_t len = size;
    if (ward_gzip_is_gzip(data, size)) {
        if (ward_gzip_decompress(data, size, 1 << 20, 1 << 22, &plain) < 0) {
            ward_buf_done(&plain);
            return 0;
        }
        json = plain.data ? plain.data : "";
        len = plain.len;
    }
    struct ward_envelope_batch b;
    ward_envelope_init(&b);
    if (ward_envelope_decode(&b, json, len, 1, &err) == 0) {
        size_t total = 0;
        if (b.n_hosts > WARD_ENVELOPE_MAX_HOSTS || b.n_envelopes > WARD_ENVELOPE_MAX_ENVELOPES ||
            b.n_samples > WARD_ENVELOPE_MAX_SAMPLES)
            abort();
        for (size_t h = 0; h < b.n_hosts; h++) {
            const struct ward_envelope_host *host = &b.hosts[h];
            size_t hn = strlen(host->hostname);
            if (hn == 0 || hn > WARD_ENVELOPE_MAX_HOSTNAME)
                abort();
            for (size_t i = 0; i < host->n; i++) {
                const struct ward_sample *s = &host->samples[i];
                check_name(s->category);
                check_name(s->name);
                if (!isfinite(s->value) || s->ts_ms < 0)
                    abort();
                check_labels(s->labels);
            }
            total += host->n;
        }
        if (total != b.n_samples)
            abort();
    } else if (!err.data || !err.len) {
        abort();
    }
    ward_envelope_done(&b);
    ward_buf_done(&plain);
    ward_buf_done(&err);
    return 0;
}
