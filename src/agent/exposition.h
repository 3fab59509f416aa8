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

/*
 * Appends the Prometheus name of a metric to out: category + "_" + name in
 * snake_case ("agent", "PollCount" gives "agent_poll_count"; an upper-case
 * letter after a lower-case letter or a digit starts a new word), every
 * character outside [a-z0-9_:] replaced by '_', and "_total" added to a
 * counter whose name lacks it. category and name are NUL-terminated. Every
 * output that names our metrics (the exposition, the VictoriaMetrics
 * import lines) goes through this function, so a series has one name
 * everywhere. Returns 0, or the buffer's error (-ENOMEM, WARD_E_LIMIT),
 * after which out may hold part of the name.
 */
int ward_exposition_name(const char *category, const char *name, enum ward_sample_kind kind,
                         struct ward_buf *out);

#endif
