/*
 * gzip of whole buffers, with hard caps.
 *
 * Request and upload bodies are small enough to hold in memory, so ward
 * compresses and decompresses whole buffers through libdeflate rather than
 * streaming. Decompression of untrusted input is bounded on both sides: the
 * compressed size and the decompressed size each have a caller-given cap,
 * and the output never grows past its cap, so a gzip bomb costs at most
 * max_out bytes of memory.
 */
#ifndef WARD_GZIP_H
#define WARD_GZIP_H

#include "common/buf.h"

#include <stdbool.h>
#include <stddef.h>

/* Compression level used when the caller passes 0. */
#define WARD_GZIP_DEFAULT_LEVEL 6

/*
 * Compresses n bytes at in (NULL allowed when n is 0) as one gzip member
 * appended to out. level is 1 (fastest) to 12 (smallest), or 0 for
 * WARD_GZIP_DEFAULT_LEVEL. out must be able to grow by the worst-case
 * compressed size (a little more than n) within its limit.
 * Returns 0, -EINVAL for a bad level, -ENOMEM, WARD_E_LIMIT, or -EIO if
 * libdeflate fails; on failure out keeps its previous contents. The caller owns out and frees it
 * with ward_buf_done().
 */
int ward_gzip_compress(const void *in, size_t n, int level, struct ward_buf *out);

/*
 * Decompresses gzip data and appends the result to out. The input may hold
 * several concatenated members (RFC 1952 section 2.2); their outputs are
 * joined, and nothing but members may follow. The CRC-32 and length trailer
 * of each member are checked.
 *
 * max_in caps the compressed size n, and max_out caps the total decompressed
 * size; both are literal (0 means zero, not unlimited). Storage for out grows
 * geometrically but never beyond max_out plus one byte for the NUL, whatever
 * the input claims about its own size.
 *
 * Returns 0, WARD_E_LIMIT if n > max_in (or out's own limit is reached),
 * WARD_E_GZIP_TOO_LARGE if the output would exceed max_out,
 * WARD_E_GZIP_CORRUPT if the data is not valid gzip (including empty input
 * and trailing bytes that are not a member), or -ENOMEM. On failure out keeps
 * its previous length and contents, though its storage may have grown.
 */
int ward_gzip_decompress(const void *in, size_t n, size_t max_in, size_t max_out,
                         struct ward_buf *out);

/*
 * Returns true when the n bytes at in start like a gzip member: the magic
 * bytes 1f 8b and compression method 8 (deflate). A cheap sniff for
 * Content-Encoding mistakes; it does not validate the rest.
 */
bool ward_gzip_is_gzip(const void *in, size_t n);

#endif
