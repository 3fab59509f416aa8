/*
 * libFuzzer target for gzip decompression.
 *
 * Arbitrary bytes are decompressed with a 1 MiB output cap; the call must
 * return a known code without crashing or leaking, and must never produce
 * more than the cap. When the input is valid gzip, its output is compressed
 * again at a level picked from the input and decompressed once more, and the
 * two outputs must match byte for byte.
 */
#include "common/buf.h"
#include "common/error.h"
#include "common/gzip.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OUT ((size_t)1 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ward_buf out = WARD_BUF_INIT;
    int r = ward_gzip_decompress(data, size, SIZE_MAX, MAX_OUT, &out);
    if (r != 0) {
        if (r != WARD_E_GZIP_CORRUPT && r != WARD_E_GZIP_TOO_LARGE && r != -ENOMEM) {
            fprintf(stderr, "fuzz-gzip: unexpected result %d\n", r);
            abort();
        }
        if (out.len != 0 || out.cap > MAX_OUT + 1)
            abort();
        ward_buf_done(&out);
        return 0;
    }
    if (out.len > MAX_OUT || out.data[out.len] != '\0')
        abort();

    int level = size ? 1 + data[size - 1] % 12 : 6;
    struct ward_buf gz = WARD_BUF_INIT, again = WARD_BUF_INIT;
    if (ward_gzip_compress(out.data, out.len, level, &gz) != 0)
        abort();
    if (ward_gzip_decompress(gz.data, gz.len, gz.len, out.len, &again) != 0)
        abort();
    if (again.len != out.len || memcmp(again.data, out.data, out.len) != 0)
        abort();

    ward_buf_done(&out);
    ward_buf_done(&gz);
    ward_buf_done(&again);
    return 0;
}
