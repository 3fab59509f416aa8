/*
 * gzip of whole buffers, with hard caps, over libdeflate.
 *
 * libdeflate decompresses a whole buffer in one call and fails with
 * LIBDEFLATE_INSUFFICIENT_SPACE when the output does not fit, rather than
 * streaming. So decompression guesses an output size, and on that failure
 * doubles it and decompresses the member again, up to max_out; the repeated
 * work is bounded by about twice the final size. The first guess is the
 * member's ISIZE trailer, which is exact for honest single-member input, but
 * since it is attacker-controlled (and only the size mod 2^32) it is clamped
 * to max_out and to the 1032:1 ratio that DEFLATE cannot exceed, so a lying
 * trailer on a tiny body cannot make the server allocate max_out at once.
 *
 * ward_buf_reserve() rounds capacity up to a power of two, which would let a
 * body capped at max_out allocate nearly twice that. The output here is
 * therefore grown by an exact realloc of the buffer's storage, keeping the
 * buffer's invariants (NUL after len, cap = allocated size, limit honoured).
 *
 * Compressor and decompressor objects are allocated per call: measured on
 * libdeflate 1.14, a decompressor costs about 0.15 us and a level-6
 * compressor about 5 us, against roughly 50 us to inflate and 200 us to
 * deflate a 16 KiB JSON batch. A per-thread cache would not pay for the
 * thread-exit cleanup it needs.
 */
#include "common/gzip.h"

#include "common/error.h"

#include <errno.h>
#include <libdeflate.h>
#include <stdint.h>
#include <stdlib.h>

/* DEFLATE emits at least 2 bits per 258 output bytes, so no member inflates more than this. */
#define DEFLATE_MAX_RATIO 1032
/* A 10-byte header, at least one byte of deflate data, and an 8-byte trailer. */
#define MIN_MEMBER 19
/* Smallest output size tried after a first guess that was too small. */
#define MIN_GROWTH 4096

static size_t first_guess(const uint8_t *in, size_t n, size_t max_out)
{
    size_t guess = 0;
    if (n >= 4)
        guess = (size_t)in[n - 4] | (size_t)in[n - 3] << 8 | (size_t)in[n - 2] << 16 |
                (size_t)in[n - 1] << 24;
    if (n < SIZE_MAX / DEFLATE_MAX_RATIO && guess > n * DEFLATE_MAX_RATIO)
        guess = n * DEFLATE_MAX_RATIO;
    return guess < max_out ? guess : max_out;
}

/* Inflates every member of in into out->data + out->len; see ward_gzip_decompress. */
static int inflate_members(struct libdeflate_decompressor *d, const uint8_t *in, size_t n,
                           size_t max_out, struct ward_buf *out, size_t *total_ret)
{
    /* The buffer's own limit may be the tighter bound; it has its own error. */
    size_t cap = max_out;
    int over = WARD_E_GZIP_TOO_LARGE;
    if (out->limit && (out->len >= out->limit || out->limit - out->len < cap)) {
        cap = out->len >= out->limit ? 0 : out->limit - out->len;
        over = WARD_E_LIMIT;
    }

    size_t avail = first_guess(in, n, cap);
    int r = ward_buf_reserve_exact(out, avail);
    if (r < 0)
        return r;

    size_t pos = 0, total = 0;
    while (pos < n) {
        size_t in_used = 0, out_used = 0;
        enum libdeflate_result res = libdeflate_gzip_decompress_ex(
            d, in + pos, n - pos, out->data + out->len + total, avail - total, &in_used, &out_used);
        if (res == LIBDEFLATE_INSUFFICIENT_SPACE) {
            if (avail >= cap)
                return over;
            size_t next = avail < MIN_GROWTH ? MIN_GROWTH : avail;
            avail = next > cap - avail ? cap : avail + next;
            r = ward_buf_reserve_exact(out, avail);
            if (r < 0)
                return r;
            continue; /* inflate this member again into the larger space */
        }
        if (res != LIBDEFLATE_SUCCESS || in_used == 0)
            return WARD_E_GZIP_CORRUPT;
        pos += in_used;
        total += out_used;
    }
    *total_ret = total;
    return 0;
}

int ward_gzip_decompress(const void *in, size_t n, size_t max_in, size_t max_out,
                         struct ward_buf *out)
{
    if (n > max_in)
        return WARD_E_LIMIT;
    /* Reject what is not even shaped like gzip before allocating for it. */
    if (n < MIN_MEMBER || !in || !ward_gzip_is_gzip(in, n))
        return WARD_E_GZIP_CORRUPT;
    if (max_out > SIZE_MAX / 4)
        max_out = SIZE_MAX / 4;

    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    if (!d)
        return -ENOMEM;
    size_t total = 0;
    int r = inflate_members(d, in, n, max_out, out, &total);
    libdeflate_free_decompressor(d);

    if (r < 0) {
        /* Inflating wrote past len; restore the terminator. */
        if (out->data)
            out->data[out->len] = '\0';
        return r;
    }
    out->len += total;
    out->data[out->len] = '\0';
    return 0;
}

int ward_gzip_compress(const void *in, size_t n, int level, struct ward_buf *out)
{
    static const char empty[1];
    if (level == 0)
        level = WARD_GZIP_DEFAULT_LEVEL;
    if (level < 1 || level > 12)
        return -EINVAL;

    struct libdeflate_compressor *c = libdeflate_alloc_compressor(level);
    if (!c)
        return -ENOMEM;
    size_t bound = libdeflate_gzip_compress_bound(c, n);
    int r = ward_buf_reserve(out, bound);
    if (r == 0) {
        size_t size = libdeflate_gzip_compress(c, n ? in : empty, n, out->data + out->len, bound);
        if (size == 0) {
            /* Cannot happen with the bound above; never report success with no output. */
            r = -EIO;
            out->data[out->len] = '\0';
        } else {
            out->len += size;
            out->data[out->len] = '\0';
        }
    }
    libdeflate_free_compressor(c);
    return r;
}

bool ward_gzip_is_gzip(const void *in, size_t n)
{
    const uint8_t *p = in;
    return n >= 3 && p[0] == 0x1f && p[1] == 0x8b && p[2] == 8;
}
