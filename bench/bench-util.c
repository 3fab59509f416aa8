/*
 * Small helpers the benchmark programs share (see bench-util.h).
 *
 * They live apart from the figures read from /proc (proc-sample.c) and the
 * HTTP client (http-io.c) because bench-query, which has neither, needs
 * them too.
 */
#include "bench-util.h"

#include "common/json.h"
#include "common/parse.h"

#include <errno.h>

uint64_t ward_xorshift64(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

void ward_ingest_envelope_begin(struct ward_json_writer *w, const char *id, uint64_t seq,
                                int64_t boot)
{
    ward_json_write_object_begin(w);
    ward_json_write_keyz(w, "server_id");
    ward_json_write_stringz(w, id);
    ward_json_write_keyz(w, "batch");
    ward_json_write_object_begin(w);
    ward_json_write_keyz(w, "seq");
    ward_json_write_uint(w, seq);
    ward_json_write_keyz(w, "boot");
    ward_json_write_int(w, boot);
    ward_json_write_object_end(w);
}

int ward_cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

double ward_percentile(const int64_t *sorted, size_t n, int pct, double unit)
{
    return n ? (double)sorted[(n - 1) * (size_t)pct / 100] / unit : 0;
}

int ward_int_option(const char *s, int64_t min, int64_t max, int *out)
{
    int64_t v;
    if (ward_parse_int_range(s, min, max, &v) < 0)
        return -EINVAL;
    *out = (int)v;
    return 0;
}
