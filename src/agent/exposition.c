/*
 * Prometheus text exposition.
 *
 * Family names follow Prometheus conventions (see ward_exposition_name()), so a
 * collector may keep a name another system made popular, such as golectra's
 * PollCount, on the wire.
 *
 * The format wants every sample of a family together under one HELP and
 * TYPE line, while collectors emit in whatever order suits them. So the
 * samples of all batches are first gathered as (family, position) pairs and
 * sorted by family, keeping the collectors' order inside each family; then
 * one pass writes them out. Labels are kept in batches as canonical JSON;
 * they are read back with the JSON reader and re-escaped the way the text
 * format wants (backslash, double quote and newline).
 */
#include "agent/exposition.h"

#include "common/error.h"
#include "common/json.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct item {
    const struct ward_metric *metric;
    uint32_t batch, index; /* position, for a stable order within a family */
};

static int cmp_family(const struct ward_metric *a, const struct ward_metric *b)
{
    int c = strcmp(a->category, b->category);
    return c ? c : strcmp(a->name, b->name);
}

static int cmp_items(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    int c = cmp_family(x->metric, y->metric);
    if (!c)
        c = (x->batch > y->batch) - (x->batch < y->batch);
    if (!c)
        c = (x->index > y->index) - (x->index < y->index);
    return c;
}

int ward_exposition_name(const char *category, const char *name, enum ward_sample_kind kind,
                         struct ward_buf *out)
{
    size_t start = out->len;
    const char *parts[2] = {category, name};
    int r = 0;
    for (int p = 0; p < 2 && r == 0; p++) {
        if (p)
            r = ward_buf_putc(out, '_');
        char prev = '_';
        for (const char *s = parts[p]; *s && r == 0; s++) {
            char c = *s;
            if (c >= 'A' && c <= 'Z') {
                if ((prev >= 'a' && prev <= 'z') || (prev >= '0' && prev <= '9'))
                    r = ward_buf_putc(out, '_');
                c = (char)(c - 'A' + 'a');
            } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ':')) {
                c = '_';
            }
            if (r == 0)
                r = ward_buf_putc(out, c);
            prev = *s;
        }
    }
    if (r < 0)
        return r;
    static const char total[] = "_total";
    size_t n = out->len - start, t = sizeof(total) - 1;
    if (kind == WARD_SAMPLE_COUNTER && (n < t || memcmp(out->data + out->len - t, total, t) != 0))
        r = ward_buf_puts(out, total);
    return r;
}

/*
 * The family name of m. As before the name was shared, a failed append is not
 * checked here: a buffer that cannot grow fails again at the sample line's
 * final newline, which is.
 */
static void put_name(struct ward_buf *out, const struct ward_metric *m)
{
    ward_exposition_name(m->category, m->name, m->kind, out);
}

static void put_escaped(struct ward_buf *out, const char *s, size_t len, bool quote_too)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\')
            ward_buf_puts(out, "\\\\");
        else if (s[i] == '\n')
            ward_buf_puts(out, "\\n");
        else if (quote_too && s[i] == '"')
            ward_buf_puts(out, "\\\"");
        else
            ward_buf_putc(out, s[i]);
    }
}

/* Writes {k="v",...} from canonical label JSON. */
static int put_labels(struct ward_buf *out, const char *json)
{
    struct ward_json_reader r;
    struct ward_json_token t;
    ward_json_reader_init(&r, json, strlen(json), NULL);
    int e = ward_json_expect(&r, WARD_JSON_OBJECT_BEGIN, &t);
    bool first = true;
    while (e == 0 && (e = ward_json_next(&r, &t)) == 0 && t.type == WARD_JSON_KEY) {
        ward_buf_putc(out, first ? '{' : ',');
        first = false;
        put_escaped(out, t.str, t.len, false);
        ward_buf_puts(out, "=\"");
        if ((e = ward_json_expect(&r, WARD_JSON_STRING, &t)) < 0)
            break;
        put_escaped(out, t.str, t.len, true);
        ward_buf_putc(out, '"');
    }
    if (e == 0 && !first)
        ward_buf_putc(out, '}');
    ward_json_reader_done(&r);
    return e;
}

int ward_exposition_write(const struct ward_batch *const *batches, size_t n, struct ward_buf *out)
{
    size_t total = 0;
    for (size_t b = 0; b < n; b++)
        total += ward_batch_count(batches[b]);
    if (total == 0)
        return 0;
    struct item *items = calloc(total, sizeof(*items));
    if (!items)
        return -ENOMEM;
    size_t k = 0;
    for (size_t b = 0; b < n; b++) {
        for (size_t i = 0, c = ward_batch_count(batches[b]); i < c; i++) {
            struct ward_batch_sample s;
            ward_batch_get(batches[b], i, &s);
            items[k++] = (struct item){s.metric, (uint32_t)b, (uint32_t)i};
        }
    }
    qsort(items, total, sizeof(*items), cmp_items);

    int r = 0;
    for (size_t i = 0; i < total && r == 0; i++) {
        struct ward_batch_sample s;
        ward_batch_get(batches[items[i].batch], items[i].index, &s);
        if (i == 0 || cmp_family(items[i - 1].metric, s.metric) != 0) {
            ward_buf_puts(out, "# HELP ");
            put_name(out, s.metric);
            ward_buf_putc(out, ' ');
            put_escaped(out, s.metric->help, strlen(s.metric->help), false);
            ward_buf_puts(out, "\n# TYPE ");
            put_name(out, s.metric);
            ward_buf_puts(out, s.metric->kind == WARD_SAMPLE_COUNTER ? " counter\n" : " gauge\n");
        }
        put_name(out, s.metric);
        if (s.labels)
            r = put_labels(out, s.labels);
        char num[WARD_JSON_DOUBLE_MAX];
        ward_json_format_double(s.value, num);
        ward_buf_putc(out, ' ');
        ward_buf_puts(out, num);
        r = r < 0 ? r : ward_buf_putc(out, '\n');
    }
    free(items);
    return r;
}
