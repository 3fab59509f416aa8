/*
 * Canonical label sets (see labels.h).
 *
 * Keys and values are copied into one buffer as they are added and
 * referenced by offset, because the buffer may move while it grows. Writing
 * sorts the references by key and emits them with the JSON writer, which
 * escapes them the one way it always does.
 */
#include "server/labels.h"

#include "common/error.h"
#include "common/json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void ward_labels_init(struct ward_labels *ls)
{
    ward_buf_init(&ls->text, 0);
    ls->n = 0;
}

void ward_labels_done(struct ward_labels *ls)
{
    ward_buf_done(&ls->text);
}

void ward_labels_reset(struct ward_labels *ls)
{
    ward_buf_reset(&ls->text);
    ls->n = 0;
}

int ward_labels_add(struct ward_labels *ls, const char *key, size_t key_len, const char *value,
                    size_t value_len)
{
    if (ls->n == WARD_LABELS_MAX || value_len > WARD_LABELS_MAX_VALUE)
        return WARD_E_LIMIT;
    if (key_len == 0 || key_len > WARD_LABELS_MAX_KEY)
        return WARD_E_PARSE;
    struct ward_label_ref *l = &ls->l[ls->n];
    l->key = ls->text.len;
    l->key_len = key_len;
    int r = ward_buf_append(&ls->text, key, key_len);
    l->value = ls->text.len;
    l->value_len = value_len;
    if (r == 0)
        r = ward_buf_append(&ls->text, value, value_len);
    if (r < 0)
        return r;
    ls->n++;
    return 0;
}

static int ref_cmp(const void *a, const void *b, void *text)
{
    const struct ward_label_ref *x = a, *y = b;
    const char *t = text;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(t + x->key, t + y->key, n);
    if (c)
        return c;
    return (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

int ward_labels_write(struct ward_labels *ls, struct ward_buf *out, const char **dup,
                      size_t *dup_len)
{
    char *text = ls->text.data;
    qsort_r(ls->l, ls->n, sizeof(ls->l[0]), ref_cmp, text);
    for (size_t i = 1; i < ls->n; i++) {
        if (ref_cmp(&ls->l[i - 1], &ls->l[i], text) == 0) {
            if (dup) {
                *dup = text + ls->l[i].key;
                *dup_len = ls->l[i].key_len;
            }
            return -EEXIST;
        }
    }
    struct ward_json_writer w;
    ward_json_writer_init(&w, out);
    ward_json_write_object_begin(&w);
    for (size_t i = 0; i < ls->n; i++) {
        ward_json_write_key(&w, text + ls->l[i].key, ls->l[i].key_len);
        ward_json_write_string(&w, text + ls->l[i].value, ls->l[i].value_len);
    }
    ward_json_write_object_end(&w);
    return ward_json_writer_finish(&w);
}
