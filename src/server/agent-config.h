/*
 * Central agent configuration documents (smotra's agent configuration).
 *
 * An admin stores one document per section and one per agent:
 *
 *   {"collectors": {"cpu": {"enabled": true, "interval": "5s"}},
 *    "labels": {"env": "prod"},
 *    "probes": [{"type": "tcp", "target": "db:5432", "interval": "30s",
 *                "timeout": "2s", "tags": {"role": "db"}},
 *               {"type": "icmp", "target": "gw", "count": 3, "spacing": "200ms"}]}
 *
 * Every part is optional. The server checks the shape and the bounds of
 * every field, and a probe's timing and tags by the rules the agent uses
 * (common/agent-rules.h); the agent, which knows its collectors and
 * resolves targets, checks the rest before it applies a document. An agent is served its
 * section's document with its own laid over it: a collector's fields and
 * a label set by the agent's document win, and the probes of both apply.
 */
#ifndef WARD_AGENT_CONFIG_H
#define WARD_AGENT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/agent-rules.h"
#include "common/buf.h"

#define WARD_ACFG_MAX_BYTES      (64 * 1024)
#define WARD_ACFG_MAX_COLLECTORS 32
#define WARD_ACFG_NAME_MAX       32
/* A sample carries at most 16 labels, 6 of them its collector's: 10 are left for these. */
#define WARD_ACFG_MAX_LABELS      10
#define WARD_ACFG_LABEL_KEY_MAX   64
#define WARD_ACFG_LABEL_VALUE_MAX 256
#define WARD_ACFG_MAX_PROBES      64
#define WARD_ACFG_TARGET_MAX      255
#define WARD_ACFG_MAX_TAGS        4
#define WARD_ACFG_TAG_KEY_MAX     63
#define WARD_ACFG_TAG_VALUE_MAX   127
#define WARD_ACFG_DURATION_MAX    23

struct ward_acfg_collector {
    char name[WARD_ACFG_NAME_MAX + 1];
    int enabled;                               /* -1 unset, 0, 1 */
    char interval[WARD_ACFG_DURATION_MAX + 1]; /* "" unset */
};

struct ward_acfg_pair {
    char key[WARD_ACFG_LABEL_KEY_MAX + 1];
    char value[WARD_ACFG_LABEL_VALUE_MAX + 1];
};

struct ward_acfg_probe {
    char type[8]; /* icmp, tcp, http */
    char target[WARD_ACFG_TARGET_MAX + 1];
    char interval[WARD_ACFG_DURATION_MAX + 1]; /* "" unset */
    char timeout[WARD_ACFG_DURATION_MAX + 1];
    char spacing[WARD_ACFG_DURATION_MAX + 1];
    int64_t count; /* 0 unset */
    struct ward_acfg_pair tags[WARD_ACFG_MAX_TAGS];
    size_t n_tags;
};

struct ward_acfg {
    struct ward_acfg_collector collectors[WARD_ACFG_MAX_COLLECTORS];
    size_t n_collectors;
    struct ward_acfg_pair labels[WARD_ACFG_MAX_LABELS];
    size_t n_labels;
    struct ward_acfg_probe probes[WARD_ACFG_MAX_PROBES];
    size_t n_probes;
};

/*
 * Parses and checks a document into *out. Returns 0, or a negative error
 * with one line naming the field in err: WARD_E_LIMIT for a bound passed,
 * another error for a malformed or unknown field.
 */
int ward_acfg_parse(const char *json, size_t len, struct ward_acfg *out, struct ward_buf *err);

/*
 * Lays over on top of base: collector fields and labels set in over
 * replace base's, probes are appended. Probes beyond WARD_ACFG_MAX_PROBES
 * are dropped; returns how many were, or WARD_E_LIMIT when collectors or
 * labels do not fit (base is then unchanged).
 */
int ward_acfg_merge(struct ward_acfg *base, const struct ward_acfg *over);

struct ward_json_writer;

/* Writes the "collectors", "labels" and "probes" members into the open object of w. */
void ward_acfg_write(const struct ward_acfg *c, struct ward_json_writer *w);

#endif
