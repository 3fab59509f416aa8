/*
 * libFuzzer target for the JSON reader and writer.
 *
 * Each input is read three ways under small limits: a plain token walk that
 * also re-serialises every token with the writer; a walk that skips the
 * value of some keys with ward_json_skip(), which must end with the same
 * result and error offset; and, when the input is valid, a lockstep walk of
 * the input against the writer's output, whose token streams must be equal
 * (strings byte for byte, integers exactly, doubles bit for bit). Writing
 * the output's tokens again must reproduce the output exactly. Any
 * disagreement abort()s, which libFuzzer reports as a crash.
 */
#include "common/buf.h"
#include "common/error.h"
#include "common/json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct ward_json_limits limits = {
    .max_depth = 48,
    .max_size = 1 << 20,
    .max_string = 1 << 16,
};

/* The writer's output can be longer than the input ("1e5" -> "100000.0"). */
static const struct ward_json_limits output_limits = {
    .max_depth = 48,
    .max_size = 64 << 20,
    .max_string = 1 << 16,
};

static void write_token(struct ward_json_writer *w, const struct ward_json_token *t)
{
    switch (t->type) {
    case WARD_JSON_OBJECT_BEGIN:
        ward_json_write_object_begin(w);
        break;
    case WARD_JSON_OBJECT_END:
        ward_json_write_object_end(w);
        break;
    case WARD_JSON_ARRAY_BEGIN:
        ward_json_write_array_begin(w);
        break;
    case WARD_JSON_ARRAY_END:
        ward_json_write_array_end(w);
        break;
    case WARD_JSON_KEY:
        ward_json_write_key(w, t->str, t->len);
        break;
    case WARD_JSON_STRING:
        ward_json_write_string(w, t->str, t->len);
        break;
    case WARD_JSON_INT:
        ward_json_write_int(w, t->i);
        break;
    case WARD_JSON_DOUBLE:
        ward_json_write_double(w, t->d);
        break;
    case WARD_JSON_TRUE:
    case WARD_JSON_FALSE:
        ward_json_write_bool(w, t->type == WARD_JSON_TRUE);
        break;
    case WARD_JSON_NULL:
        ward_json_write_null(w);
        break;
    case WARD_JSON_END:
        break;
    }
}

/* Reads every token of the document, writing each to w if w is not NULL. */
static int walk(const char *data, size_t size, const struct ward_json_limits *lim,
                struct ward_json_writer *w, size_t *offset)
{
    struct ward_json_reader r;
    struct ward_json_token t;
    int e;
    ward_json_reader_init(&r, data, size, lim);
    do {
        e = ward_json_next(&r, &t);
        if (e == 0 && w)
            write_token(w, &t);
    } while (e == 0 && t.type != WARD_JSON_END);
    *offset = ward_json_error_offset(&r);
    ward_json_reader_done(&r);
    return e;
}

/* Like walk(), but skips the value of the keys that a hash of their offset picks. */
static int walk_skipping(const char *data, size_t size, size_t *offset)
{
    struct ward_json_reader r;
    struct ward_json_token t;
    int e = 0;
    ward_json_reader_init(&r, data, size, &limits);
    if (size % 7 == 3) /* sometimes skip the whole document at once */
        e = ward_json_skip(&r);
    while (e == 0) {
        e = ward_json_next(&r, &t);
        if (e < 0 || t.type == WARD_JSON_END)
            break;
        if (t.type == WARD_JSON_KEY && ((t.offset * 2654435761u) >> 7) % 3 == 0)
            e = ward_json_skip(&r);
    }
    *offset = ward_json_error_offset(&r);
    ward_json_reader_done(&r);
    return e;
}

static bool same_token(const struct ward_json_token *a, const struct ward_json_token *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case WARD_JSON_KEY:
    case WARD_JSON_STRING:
        return a->len == b->len && memcmp(a->str, b->str, a->len) == 0;
    case WARD_JSON_INT:
        return a->i == b->i;
    case WARD_JSON_DOUBLE:
        return memcmp(&a->d, &b->d, sizeof(double)) == 0;
    default:
        return true;
    }
}

/* Walks both documents in lockstep; both must be valid and token-for-token equal. */
static void compare_streams(const char *a, size_t alen, const char *b, size_t blen)
{
    struct ward_json_reader ra, rb;
    struct ward_json_token ta, tb;
    ward_json_reader_init(&ra, a, alen, &limits);
    ward_json_reader_init(&rb, b, blen, &output_limits);
    do {
        if (ward_json_next(&ra, &ta) < 0 || ward_json_next(&rb, &tb) < 0)
            abort();
        if (!same_token(&ta, &tb))
            abort();
    } while (ta.type != WARD_JSON_END);
    ward_json_reader_done(&ra);
    ward_json_reader_done(&rb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct ward_buf out, again;
    struct ward_json_writer w;
    size_t off1, off2;

    ward_buf_init(&out, 64 << 20);
    ward_json_writer_init(&w, &out);
    int e1 = walk(text, size, &limits, &w, &off1);
    int e2 = walk_skipping(text, size, &off2);
    if (e1 != e2 || off1 != off2)
        abort();
    if (e1 == 0) {
        if (ward_json_writer_finish(&w) != 0)
            abort();
        compare_streams(text, size, out.data, out.len);

        /* The writer's output is a fixed point of read-then-write. */
        ward_buf_init(&again, 64 << 20);
        ward_json_writer_init(&w, &again);
        if (walk(out.data, out.len, &output_limits, &w, &off1) != 0 ||
            ward_json_writer_finish(&w) != 0 || again.len != out.len ||
            memcmp(again.data, out.data, out.len) != 0)
            abort();
        ward_buf_done(&again);
    }
    ward_buf_done(&out);
    return 0;
}
