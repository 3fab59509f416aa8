/*
 * Turns the server's JSON answers into text for people.
 *
 * Every answer goes through the project's pull reader; a value becomes text
 * in one recursive function (render_value), so a table cell, a "key: value"
 * line and a field read for a message all look alike. A table is built in
 * two passes over memory: the cells are rendered into one buffer of
 * NUL-separated strings while the widths are measured, then printed padded.
 * Answers are bounded by the response limit of http.c, so holding a whole
 * table is fine.
 *
 * Text from the server may have been chosen by anyone who registered an
 * agent, so ward_ctl_put_text() replaces C0 and C1 control characters with '?':
 * printing them raw would let a hostname drive the operator's terminal.
 */
#include "ctl/table.h"

#include "common/error.h"
#include "common/json.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int ward_ctl_put_text(struct ward_buf *out, const char *s, size_t n, bool lines)
{
    int e = ward_buf_reserve(out, n);
    for (size_t i = 0; e == 0 && i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool c1 = c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
                  (unsigned char)s[i + 1] <= 0x9F;
        bool kept = lines && (c == '\n' || c == '\t');
        if (c1)
            i++;
        e = ward_buf_putc(out, !kept && (c < 0x20 || c == 0x7F || c1) ? '?' : (char)c);
    }
    return e;
}

/* Appends the value that starts with token t as text; see ward_ctl_render_table(). */
static int render_value(struct ward_json_reader *r, const struct ward_json_token *t,
                        struct ward_buf *out)
{
    switch (t->type) {
    case WARD_JSON_STRING:
        return ward_ctl_put_text(out, t->str, t->len, false);
    case WARD_JSON_INT:
    case WARD_JSON_DOUBLE:
        return ward_buf_append(out, t->str, t->len);
    case WARD_JSON_TRUE:
        return ward_buf_puts(out, "true");
    case WARD_JSON_FALSE:
        return ward_buf_puts(out, "false");
    case WARD_JSON_NULL:
        return 0;
    case WARD_JSON_OBJECT_BEGIN:
    case WARD_JSON_ARRAY_BEGIN:
        break;
    default:
        return WARD_E_JSON_TYPE;
    }
    enum ward_json_token_type end =
        t->type == WARD_JSON_OBJECT_BEGIN ? WARD_JSON_OBJECT_END : WARD_JSON_ARRAY_END;
    struct ward_json_token v;
    int e;
    for (size_t i = 0; (e = ward_json_next(r, &v)) == 0 && v.type != end; i++) {
        if (i > 0 && (e = ward_buf_putc(out, ',')) < 0)
            return e;
        if (v.type == WARD_JSON_KEY) {
            if ((e = ward_ctl_put_text(out, v.str, v.len, false)) < 0 ||
                (e = ward_buf_putc(out, '=')) < 0 || (e = ward_json_next(r, &v)) < 0)
                return e;
        }
        if ((e = render_value(r, &v, out)) < 0)
            return e;
    }
    return e;
}

/* Display width of UTF-8 text: one column per code point. */
static size_t width_of(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

void ward_ctl_copy_text(char *dst, size_t size, const struct ward_json_token *t)
{
    struct ward_buf b = WARD_BUF_INIT;
    dst[0] = '\0';
    if (ward_ctl_put_text(&b, t->str, t->len < size ? t->len : size - 1, false) == 0 && b.data)
        snprintf(dst, size, "%s", b.data);
    ward_buf_done(&b);
}

void ward_ctl_unexpected(const struct ward_json_reader *r, int e)
{
    const char *msg = ward_json_error_message(r);
    fprintf(stderr, "wardctl: unexpected answer from the server: %s\n",
            *msg ? msg : ward_strerror(e));
}

/*
 * Reads up to the first token of the rows array: the document itself when
 * key is NULL, else the member key of the top-level object.
 */
static int find_rows(struct ward_json_reader *r, const char *key)
{
    struct ward_json_token t;
    int e;
    if (!key)
        return ward_json_expect(r, WARD_JSON_ARRAY_BEGIN, &t);
    if ((e = ward_json_expect(r, WARD_JSON_OBJECT_BEGIN, &t)) < 0)
        return e;
    while ((e = ward_json_next(r, &t)) == 0 && t.type == WARD_JSON_KEY) {
        if (ward_json_key_is(&t, key))
            return ward_json_expect(r, WARD_JSON_ARRAY_BEGIN, &t);
        if ((e = ward_json_skip(r)) < 0)
            return e;
    }
    return e < 0 ? e : WARD_E_NOT_FOUND;
}

/* The cells of a table: NUL-terminated strings in text, their offsets in offs. */
struct cells {
    struct ward_buf text;
    struct ward_buf offs; /* size_t per cell, row by row */
    size_t rows;
    size_t width[WARD_CTL_MAX_COLUMNS];
};

/* Reads one row object (its '{' is read) into the cells. */
static int read_row(struct ward_json_reader *r, const struct ward_ctl_table *tab, struct cells *c)
{
    size_t off[WARD_CTL_MAX_COLUMNS] = {0}; /* 0 is the empty string put first */
    struct ward_json_token t;
    int e;
    while ((e = ward_json_next(r, &t)) == 0 && t.type == WARD_JSON_KEY) {
        size_t col = 0;
        while (col < tab->n_cols && !ward_json_key_is(&t, tab->cols[col].key))
            col++;
        if (col == tab->n_cols) {
            if ((e = ward_json_skip(r)) < 0)
                return e;
            continue;
        }
        off[col] = c->text.len;
        if ((e = ward_json_next(r, &t)) < 0 || (e = render_value(r, &t, &c->text)) < 0 ||
            (e = ward_buf_putc(&c->text, '\0')) < 0)
            return e;
    }
    if (e < 0)
        return e;
    if (t.type != WARD_JSON_OBJECT_END)
        return WARD_E_JSON_TYPE;
    for (size_t col = 0; col < tab->n_cols; col++) {
        const char *cell = c->text.data + off[col];
        size_t w = *cell ? width_of(cell) : 1;
        c->width[col] = w > c->width[col] ? w : c->width[col];
    }
    c->rows++;
    return ward_buf_append(&c->offs, off, tab->n_cols * sizeof(off[0]));
}

static void print_line(const struct ward_ctl_table *tab, const struct cells *c, const char **line)
{
    for (size_t col = 0; col < tab->n_cols; col++) {
        const char *s = *line[col] ? line[col] : "-";
        if (col + 1 == tab->n_cols) {
            printf("%s\n", s);
            break;
        }
        printf("%s%*s", s, (int)(c->width[col] - width_of(s) + 2), "");
    }
}

int ward_ctl_render_table(const struct ward_buf *body, const void *ctx)
{
    const struct ward_ctl_table *tab = ctx;
    if (tab->n_cols == 0 || tab->n_cols > WARD_CTL_MAX_COLUMNS)
        return -EINVAL;
    struct cells c = {.text = WARD_BUF_INIT, .offs = WARD_BUF_INIT};
    struct ward_json_reader r;
    struct ward_json_token t;
    ward_json_reader_init(&r, body->data ? body->data : "", body->len, NULL);
    int e = find_rows(&r, tab->key);
    for (size_t col = 0; col < tab->n_cols; col++)
        c.width[col] = width_of(tab->cols[col].header);
    if (e == 0)
        e = ward_buf_putc(&c.text, '\0');
    while (e == 0 && (e = ward_json_next(&r, &t)) == 0 && t.type != WARD_JSON_ARRAY_END)
        e = t.type == WARD_JSON_OBJECT_BEGIN ? read_row(&r, tab, &c) : WARD_E_JSON_TYPE;
    if (e == WARD_E_NOT_FOUND) {
        fprintf(stderr, "wardctl: unexpected answer from the server: no member '%s'\n",
                tab->key ? tab->key : "");
    } else if (e < 0) {
        ward_ctl_unexpected(&r, e);
    } else if (c.rows == 0 && tab->empty) {
        fprintf(stderr, "wardctl: %s\n", tab->empty);
    } else {
        const char *line[WARD_CTL_MAX_COLUMNS];
        for (size_t col = 0; col < tab->n_cols; col++)
            line[col] = tab->cols[col].header;
        print_line(tab, &c, line);
        const size_t *offs = (const size_t *)(const void *)c.offs.data;
        for (size_t row = 0; row < c.rows; row++) {
            for (size_t col = 0; col < tab->n_cols; col++)
                line[col] = c.text.data + offs[row * tab->n_cols + col];
            print_line(tab, &c, line);
        }
    }
    ward_json_reader_done(&r);
    ward_buf_done(&c.text);
    ward_buf_done(&c.offs);
    return e;
}

/*
 * Walks the members of the object in body: calls each(key, value text,
 * userdata) for every member, or only for the one named want when it is
 * not NULL. Returns 0, the first error of each() or the reader.
 */
static int each_member(const struct ward_buf *body, const char *want,
                       int (*each)(const char *key, const char *value, void *userdata),
                       void *userdata)
{
    struct ward_json_reader r;
    struct ward_json_token t;
    struct ward_buf key = WARD_BUF_INIT, value = WARD_BUF_INIT;
    ward_json_reader_init(&r, body->data ? body->data : "", body->len, NULL);
    int e = ward_json_expect(&r, WARD_JSON_OBJECT_BEGIN, &t);
    while (e == 0 && (e = ward_json_next(&r, &t)) == 0 && t.type == WARD_JSON_KEY) {
        if (want && !ward_json_key_is(&t, want)) {
            e = ward_json_skip(&r);
            continue;
        }
        ward_buf_reset(&key);
        ward_buf_reset(&value);
        if ((e = ward_ctl_put_text(&key, t.str, t.len, false)) < 0)
            break;
        if ((e = ward_json_next(&r, &t)) == 0 && (e = render_value(&r, &t, &value)) == 0)
            e = each(key.data ? key.data : "", value.data ? value.data : "", userdata);
    }
    ward_json_reader_done(&r);
    ward_buf_done(&key);
    ward_buf_done(&value);
    return e;
}

static int print_member(const char *key, const char *value, void *userdata)
{
    const char *skip = userdata;
    if (!skip || strcmp(key, skip) != 0)
        printf("%s: %s\n", key, *value ? value : "-");
    return 0;
}

int ward_ctl_render_fields(const struct ward_buf *body, const void *ctx)
{
    int e = each_member(body, NULL, print_member, (void *)(uintptr_t)ctx);
    if (e < 0)
        fprintf(stderr, "wardctl: unexpected answer from the server: %s\n", ward_strerror(e));
    return e;
}

/* Stops the walk at the wanted member with its text in out. */
static int take_member(const char *key, const char *value, void *userdata)
{
    (void)key;
    struct ward_buf *out = userdata;
    int e = ward_buf_puts(out, value);
    return e < 0 ? e : 1;
}

int ward_ctl_json_field(const struct ward_buf *body, const char *key, struct ward_buf *out)
{
    ward_buf_reset(out);
    int e = each_member(body, key, take_member, out);
    return e < 0 ? e : e == 1 ? 0 : WARD_E_NOT_FOUND;
}
