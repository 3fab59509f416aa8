/*
 * Fuzz target for the VictoriaMetrics import conversion.
 *
 * The input is a wire document as the agent would hand it over. A refusal
 * must leave the output exactly as it was and say why. A success must be as
 * many lines as it reports, each one JSON object that our reader takes:
 * {"metric":{"__name__":...,labels sorted, an instance},"values":[numbers],
 * "timestamps":[integers]} with as many values as timestamps, and no
 * series twice. The conversion must be deterministic, and one under a
 * small output cap must either give the same lines or fail with the cap's
 * error, leaving the output alone.
 */
#include "agent/vm-import.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/json.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PREFIX "prefix\n"

static void next(struct ward_json_reader *r, struct ward_json_token *t,
                 enum ward_json_token_type type)
{
    if (ward_json_next(r, t) < 0 || t->type != type)
        abort();
}

/* Checks one line; returns the bytes of its "metric" object (for the duplicate check). */
static void check_line(const char *line, size_t len, const char **metric, size_t *metric_len)
{
    struct ward_json_reader r;
    struct ward_json_token t;
    ward_json_reader_init(&r, line, len, NULL);
    next(&r, &t, WARD_JSON_OBJECT_BEGIN);
    next(&r, &t, WARD_JSON_KEY);
    if (!ward_json_key_is(&t, "metric"))
        abort();
    next(&r, &t, WARD_JSON_OBJECT_BEGIN);
    size_t start = t.offset;
    next(&r, &t, WARD_JSON_KEY);
    if (!ward_json_key_is(&t, "__name__"))
        abort();
    next(&r, &t, WARD_JSON_STRING);
    if (t.len == 0)
        abort();
    /* Labels: sorted, distinct, non-empty values, one of them the instance. */
    char prev[WARD_VM_MAX_LABEL_KEY + 1];
    size_t prev_len = 0, n = 0;
    bool instance = false;
    for (;;) {
        if (ward_json_next(&r, &t) < 0)
            abort();
        if (t.type == WARD_JSON_OBJECT_END)
            break;
        if (t.type != WARD_JSON_KEY || t.len == 0 || t.len > WARD_VM_MAX_LABEL_KEY)
            abort();
        if (n > 0) {
            size_t m = t.len < prev_len ? t.len : prev_len;
            int c = memcmp(prev, t.str, m);
            if (c > 0 || (c == 0 && prev_len >= t.len))
                abort();
        }
        memcpy(prev, t.str, t.len);
        prev_len = t.len;
        instance |= ward_json_key_is(&t, "instance");
        next(&r, &t, WARD_JSON_STRING);
        if (t.len == 0 || t.len > WARD_VM_MAX_LABEL_VALUE)
            abort();
        if (++n > WARD_VM_MAX_LABELS + 1)
            abort();
    }
    if (!instance)
        abort();
    *metric = line + start;
    *metric_len = t.offset + 1 - start;

    size_t values = 0, stamps = 0;
    next(&r, &t, WARD_JSON_KEY);
    if (!ward_json_key_is(&t, "values"))
        abort();
    next(&r, &t, WARD_JSON_ARRAY_BEGIN);
    while (ward_json_next(&r, &t) == 0 && t.type == WARD_JSON_DOUBLE)
        values++;
    if (t.type != WARD_JSON_ARRAY_END)
        abort();
    next(&r, &t, WARD_JSON_KEY);
    if (!ward_json_key_is(&t, "timestamps"))
        abort();
    next(&r, &t, WARD_JSON_ARRAY_BEGIN);
    while (ward_json_next(&r, &t) == 0 && t.type == WARD_JSON_INT) {
        if (t.i < 0)
            abort();
        stamps++;
    }
    if (t.type != WARD_JSON_ARRAY_END || values == 0 || values != stamps)
        abort();
    next(&r, &t, WARD_JSON_OBJECT_END);
    next(&r, &t, WARD_JSON_END);
    ward_json_reader_done(&r);
}

static void check_output(const char *out, size_t len, int lines)
{
    const char **metrics = calloc((size_t)lines + 1, sizeof(*metrics));
    size_t *lens = calloc((size_t)lines + 1, sizeof(*lens));
    if (!metrics || !lens)
        abort();
    int seen = 0;
    for (size_t at = 0; at < len; seen++) {
        const char *nl = memchr(out + at, '\n', len - at);
        if (!nl || seen == lines)
            abort();
        check_line(out + at, (size_t)(nl - out - at), &metrics[seen], &lens[seen]);
        at = (size_t)(nl - out) + 1;
    }
    if (seen != lines)
        abort();
    /* No series twice: quadratic, but fuzz inputs are small. */
    for (int i = 0; i < seen && seen <= 2000; i++)
        for (int j = 0; j < i; j++)
            if (lens[i] == lens[j] && memcmp(metrics[i], metrics[j], lens[i]) == 0)
                abort();
    free(metrics);
    free(lens);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *json = (const char *)data;
    struct ward_buf out = WARD_BUF_INIT, err = WARD_BUF_INIT, again = WARD_BUF_INIT, small;
    ward_buf_puts(&out, PREFIX);
    int r = ward_vm_import_convert(json, size, &out, &err);
    if (r < 0) {
        if (out.len != strlen(PREFIX) || strcmp(out.data, PREFIX) != 0)
            abort(); /* a refusal leaves the output alone */
        if (!err.data || !err.len)
            abort(); /* and says why */
    } else {
        if (memcmp(out.data, PREFIX, strlen(PREFIX)) != 0)
            abort();
        check_output(out.data + strlen(PREFIX), out.len - strlen(PREFIX), r);
    }

    /* Deterministic, with or without an error buffer. */
    if (ward_vm_import_convert(json, size, &again, NULL) != r)
        abort();
    if (r >= 0 && (again.len != out.len - strlen(PREFIX) ||
                   memcmp(again.data ? again.data : "", out.data + strlen(PREFIX), again.len)))
        abort();

    /* Under a cap: all or nothing. */
    ward_buf_init(&small, 256);
    int s = ward_vm_import_convert(json, size, &small, NULL);
    if (r < 0 && s != r)
        abort();
    if (r >= 0 && !(s == r && small.len == again.len) && !(s == WARD_E_LIMIT && small.len == 0))
        abort();

    ward_buf_done(&out);
    ward_buf_done(&err);
    ward_buf_done(&again);
    ward_buf_done(&small);
    return 0;
}
