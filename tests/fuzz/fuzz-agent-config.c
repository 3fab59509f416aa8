/*
 * Fuzz target for central agent configuration documents: what
 * PUT /api/v1/hosts/{id}/configuration does with a body.
 *
 * A document either is refused with a message, or parses into bounds and
 * writes back in canonical form, which parses again to the same form.
 */
#include "common/buf.h"
#include "common/json.h"
#include "server/agent-config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *canonical(const struct ward_acfg *c)
{
    struct ward_buf out = WARD_BUF_INIT;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &out);
    ward_json_write_object_begin(&w);
    ward_acfg_write(c, &w);
    ward_json_write_object_end(&w);
    if (ward_json_writer_finish(&w) < 0)
        abort();
    return out.data;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ward_acfg *c = calloc(2, sizeof(*c));
    struct ward_buf err = WARD_BUF_INIT;
    if (!c)
        return 0;
    int r = ward_acfg_parse((const char *)data, size, c, &err);
    if (r < 0 && (!err.data || !*err.data))
        abort();
    if (r == 0) {
        if (c->n_collectors > WARD_ACFG_MAX_COLLECTORS || c->n_labels > WARD_ACFG_MAX_LABELS ||
            c->n_probes > WARD_ACFG_MAX_PROBES)
            abort();
        char *once = canonical(c);
        struct ward_buf err2 = WARD_BUF_INIT;
        if (ward_acfg_parse(once, strlen(once), &c[1], &err2) != 0)
            abort();
        char *twice = canonical(&c[1]);
        if (strcmp(once, twice) != 0)
            abort();
        /* A merge may refuse (too many collectors or labels), but must stay in bounds. */
        ward_acfg_merge(&c[0], &c[1]);
        if (c->n_collectors > WARD_ACFG_MAX_COLLECTORS || c->n_labels > WARD_ACFG_MAX_LABELS ||
            c->n_probes > WARD_ACFG_MAX_PROBES)
            abort();
        free(once);
        free(twice);
        ward_buf_done(&err2);
    }
    ward_buf_done(&err);
    free(c);
    return 0;
}
