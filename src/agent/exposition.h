/*
 * Prometheus text exposition (format 0.0.4) of the agent's latest samples.
 */
#ifndef WARD_EXPOSITION_H
#define WARD_EXPOSITION_H

#include <stddef.h>

#include "agent/batch.h"
#include "common/buf.h"

#define WARD_EXPOSITION_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/*
 * Appends the samples of n batches to out, one metric family at a time:
 * "# HELP", "# TYPE", then every sample of the family. The family name is
 * category_name. A family that appears in several batches, or interleaved
 * with others, is still written once. Returns 0 or a negative error.
 */
int ward_exposition_write(const struct ward_batch *const *batches, size_t n, struct ward_buf *out);

#endif
