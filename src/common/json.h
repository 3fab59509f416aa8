/*
 * JSON streaming reader and writer.
 *
 * The reader is a pull parser over a complete in-memory document: each call
 * to ward_json_next() returns one token. It never allocates per value:
 * strings without escapes point into the input, strings with escapes are
 * decoded into one scratch buffer owned by the reader, and the nesting stack
 * is a fixed bit array. It accepts exactly RFC 8259 JSON (one top-level
 * value, strict UTF-8) within configurable depth and size limits, and every
 * error carries a byte offset and a message.
 *
 * The writer appends compact JSON to a struct ward_buf. It inserts commas
 * itself, checks that calls form a well-nested document, and keeps the first
 * error, which ward_json_writer_finish() returns.
 *
 * docs/json.md describes the guarantees and limits in more detail.
 */
#ifndef WARD_JSON_H
#define WARD_JSON_H

#include "common/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Compile-time ceiling on nesting for the reader and the writer. */
#define WARD_JSON_MAX_DEPTH 1024

/* Defaults used when ward_json_reader_init() gets NULL limits or a zero field. */
#define WARD_JSON_DEFAULT_MAX_DEPTH  64
#define WARD_JSON_DEFAULT_MAX_SIZE   ((size_t)64 << 20)
#define WARD_JSON_DEFAULT_MAX_STRING ((size_t)16 << 20)

enum ward_json_token_type {
    WARD_JSON_END, /* the document is complete; returned again on later calls */
    WARD_JSON_OBJECT_BEGIN,
    WARD_JSON_OBJECT_END,
    WARD_JSON_ARRAY_BEGIN,
    WARD_JSON_ARRAY_END,
    WARD_JSON_KEY,
    WARD_JSON_STRING,
    WARD_JSON_INT,
    WARD_JSON_DOUBLE,
    WARD_JSON_TRUE,
    WARD_JSON_FALSE,
    WARD_JSON_NULL,
};

struct ward_json_token {
    enum ward_json_token_type type;
    /*
     * KEY and STRING: the decoded bytes (valid UTF-8, may contain NUL), not
     * NUL-terminated. INT and DOUBLE: the literal as written in the input.
     * The pointer is into the input or into the reader's scratch buffer, and
     * is valid until the next call on the reader.
     */
    const char *str;
    size_t len;
    int64_t i;     /* INT: the exact value */
    double d;      /* DOUBLE: the correctly rounded value; INT: (double)i */
    size_t offset; /* byte offset of the token's first byte in the input */
};

struct ward_json_limits {
    size_t max_depth;  /* nested arrays/objects; capped at WARD_JSON_MAX_DEPTH */
    size_t max_size;   /* bytes of input */
    size_t max_string; /* bytes of one decoded string or key, and of one number literal */
};

struct ward_json_reader {
    /* All fields are private; use the functions below. */
    const char *data;
    size_t len;
    size_t pos;
    struct ward_json_limits lim;
    size_t depth;
    int state;
    int error;
    size_t error_offset;
    struct ward_buf scratch;
    char message[96];
    uint64_t stack[WARD_JSON_MAX_DEPTH / 64]; /* bit set = object */
};

/*
 * Prepares r to read the len bytes at data, which must stay unchanged until
 * ward_json_reader_done(). lim may be NULL for the defaults; a zero field
 * also selects its default. Does not allocate and cannot fail: a document
 * larger than max_size makes the first ward_json_next() fail with
 * WARD_E_JSON_SIZE.
 */
void ward_json_reader_init(struct ward_json_reader *r, const char *data, size_t len,
                           const struct ward_json_limits *lim);

/* Frees the scratch buffer. Tokens read from r are invalid afterwards. */
void ward_json_reader_done(struct ward_json_reader *r);

/*
 * Reads the next token into *tok. Returns 0, or on failure one of
 * WARD_E_JSON_SYNTAX, _DEPTH, _SIZE, _UTF8, _NUMBER, or -ENOMEM (the scratch
 * buffer could not grow). Errors are sticky: every later call returns the
 * same code, and ward_json_error_offset()/_message() describe it. *tok is
 * written only on success. After the top-level value the reader checks that
 * only whitespace follows and then returns WARD_JSON_END, on every later call
 * too.
 */
int ward_json_next(struct ward_json_reader *r, struct ward_json_token *tok);

/*
 * Skips the value that starts at the next token: a scalar, or a whole array
 * or object. If the next token is a key, skips the key and its value. Meant
 * for unknown keys: call it right after reading the key. Returns 0 or the
 * reader's error; if the next token is the end of a container or of the
 * document, fails with a sticky WARD_E_JSON_TYPE.
 */
int ward_json_skip(struct ward_json_reader *r);

/*
 * Reads the next token and checks its type. Expecting WARD_JSON_DOUBLE also
 * accepts WARD_JSON_INT (tok->d holds the value either way). Returns 0, the
 * reader's error, or a sticky WARD_E_JSON_TYPE whose message names the
 * expected and the actual token ("expected string, got number").
 */
int ward_json_expect(struct ward_json_reader *r, enum ward_json_token_type type,
                     struct ward_json_token *tok);

/* Returns true if tok is a key or string equal to the NUL-terminated literal. */
static inline bool ward_json_key_is(const struct ward_json_token *tok, const char *literal)
{
    size_t n = strlen(literal);
    return (tok->type == WARD_JSON_KEY || tok->type == WARD_JSON_STRING) && tok->len == n &&
           memcmp(tok->str, literal, n) == 0;
}

/* Returns the byte offset of the error, or 0 if there is none. */
size_t ward_json_error_offset(const struct ward_json_reader *r);

/* Returns the error message (valid as long as r), or "" if there is none. */
const char *ward_json_error_message(const struct ward_json_reader *r);

/* Returns a short name for a token type ("string", "number", "object"...). */
const char *ward_json_type_name(enum ward_json_token_type type);

/*
 * The helpers below are shared by the reader and the writer.
 *
 * ward_json_special_bytes() takes 8 bytes loaded little-endian and returns
 * a mask with the high bit set in each byte that a string literal cannot
 * carry as is: '"', '\\', a control character or a non-ASCII byte. Borrows
 * can set the bit spuriously, but only in bytes after a genuine match, so
 * the lowest set byte is exact.
 */
static inline uint64_t ward_json_special_bytes(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
    return (((q - ones) & ~q) | ((b - ones) & ~b) | (x - ones * 0x20) | x) & highs;
}

/*
 * Returns the length of the longest prefix of the n bytes at s that a
 * string literal carries as is, looking at 8 bytes per step.
 */
static inline size_t ward_json_plain_span(const unsigned char *s, size_t n)
{
    size_t i = 0;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (i < n) {
        uint64_t x;
        if (n - i >= 8) {
            memcpy(&x, s + i, 8);
        } else {
            /*
             * The tail, read without going past the end and padded with
             * plain bytes. It is assembled in a register: building it in
             * memory would stall the 8-byte load on the smaller stores.
             */
            const unsigned char *t = s + i;
            size_t left = n - i;
            unsigned shift = 0;
            x = 0;
            if (left & 4) {
                uint32_t v;
                memcpy(&v, t, 4);
                x = v;
                shift = 32;
                t += 4;
            }
            if (left & 2) {
                uint16_t v;
                memcpy(&v, t, 2);
                x |= (uint64_t)v << shift;
                shift += 16;
                t += 2;
            }
            if (left & 1) {
                x |= (uint64_t)*t << shift;
                shift += 8;
            }
            x |= 0x4141414141414141ULL << shift; /* 'A', shift < 64 as left < 8 */
        }
        uint64_t m = ward_json_special_bytes(x);
        if (m)
            return i + ((size_t)__builtin_ctzll(m) >> 3);
        i += 8;
    }
    return n;
#else
    for (; i < n; i++)
        if (s[i] < 0x20 || s[i] >= 0x80 || s[i] == '"' || s[i] == '\\')
            break;
    return i;
#endif
}

/*
 * Returns the length of the well-formed UTF-8 sequence at s (1 to 4 bytes,
 * n > 0 available), or minus the length of its maximal ill-formed prefix
 * (the bytes to replace by one U+FFFD): overlongs, encoded surrogates, code
 * points above U+10FFFF and truncated sequences are ill-formed.
 */
int ward_json_utf8_sequence(const unsigned char *s, size_t n);

struct ward_json_writer {
    /* All fields are private; use the functions below. */
    struct ward_buf *out;
    int error;
    size_t depth;
    bool need_comma;                          /* a value was written in the current container */
    bool after_key;                           /* a key was written, its value is due */
    bool done;                                /* the top-level value is complete */
    uint64_t stack[WARD_JSON_MAX_DEPTH / 64]; /* bit set = object */
};

/*
 * Prepares w to append one JSON document to out, which the caller owns and
 * which must outlive w. Writes nothing yet.
 */
void ward_json_writer_init(struct ward_json_writer *w, struct ward_buf *out);

/*
 * Returns 0 if a complete document was written, else the first error: an
 * error from the buffer (-ENOMEM, WARD_E_LIMIT), WARD_E_JSON_DEPTH, or
 * -EINVAL for misuse (a value without its key in an object, a key outside an
 * object, a mismatched end, a second top-level value, an unfinished document).
 */
int ward_json_writer_finish(struct ward_json_writer *w);

/*
 * The write functions below append one element and return the writer's
 * error state: 0, or the first error so far (after which they write nothing).
 * A caller may check each result or only the one of _finish().
 */
int ward_json_write_object_begin(struct ward_json_writer *w);
int ward_json_write_object_end(struct ward_json_writer *w);
int ward_json_write_array_begin(struct ward_json_writer *w);
int ward_json_write_array_end(struct ward_json_writer *w);

/*
 * Writes an object key, or a string value. The bytes are escaped: '"', '\\'
 * and control characters; valid UTF-8 passes through unchanged; each
 * maximal ill-formed UTF-8 subsequence is replaced by U+FFFD, so the output
 * is always valid JSON. s may contain NUL bytes.
 */
int ward_json_write_key(struct ward_json_writer *w, const char *s, size_t len);
int ward_json_write_string(struct ward_json_writer *w, const char *s, size_t len);

/* NUL-terminated conveniences for the two functions above. */
static inline int ward_json_write_keyz(struct ward_json_writer *w, const char *s)
{
    return ward_json_write_key(w, s, strlen(s));
}

static inline int ward_json_write_stringz(struct ward_json_writer *w, const char *s)
{
    return ward_json_write_string(w, s, strlen(s));
}

int ward_json_write_int(struct ward_json_writer *w, int64_t v);
int ward_json_write_uint(struct ward_json_writer *w, uint64_t v);

/*
 * Writes the shortest decimal that reads back as exactly v (for subnormals,
 * at most 17 significant digits), always with a '.' or an exponent so it
 * reads back as a double ("12.0", "0.1", "1e300", "-0.0"). NaN and the
 * infinities are not JSON: they fail with a sticky WARD_E_JSON_NUMBER.
 */
int ward_json_write_double(struct ward_json_writer *w, double v);

/* Room for any formatted double, with its NUL. */
#define WARD_JSON_DOUBLE_MAX 64

/*
 * Formats v as ward_json_write_double() writes it, NUL-terminated, for other
 * text formats that want the same shortest round-trip form. Returns the
 * length, or 0 (and "") for NaN and the infinities.
 */
size_t ward_json_format_double(double v, char out[WARD_JSON_DOUBLE_MAX]);

int ward_json_write_bool(struct ward_json_writer *w, bool v);
int ward_json_write_null(struct ward_json_writer *w);

/*
 * Writes len bytes of pre-encoded JSON as one value, unchecked: the caller
 * guarantees that it is exactly one valid JSON value.
 */
int ward_json_write_raw(struct ward_json_writer *w, const char *json, size_t len);

#endif
