/*
 * Label sets in their canonical form.
 *
 * Labels are a flat map of strings. ward stores a label set as a compact
 * JSON object with its keys in byte order, so the same set always has the
 * same spelling and can be compared as a string (it is part of a series'
 * identity). A set is built by adding pairs in any order and then written
 * once; the bounds are those of the wire protocol.
 */
#ifndef WARD_LABELS_H
#define WARD_LABELS_H

#include <stddef.h>

#include "common/buf.h"

#define WARD_LABELS_MAX       16   /* labels per set */
#define WARD_LABELS_MAX_KEY   128  /* bytes of a label name */
#define WARD_LABELS_MAX_VALUE 1024 /* bytes of a label value */

struct ward_label_ref {
    size_t key, key_len, value, value_len; /* offsets into the set's text */
};

struct ward_labels {
    struct ward_buf text; /* keys and values, back to back */
    size_t n;
    struct ward_label_ref l[WARD_LABELS_MAX];
};

void ward_labels_init(struct ward_labels *ls);
void ward_labels_done(struct ward_labels *ls);

/* Empties the set, keeping its memory. */
void ward_labels_reset(struct ward_labels *ls);

/*
 * Adds one pair. Returns 0; WARD_E_LIMIT when the set is full or the value
 * is longer than WARD_LABELS_MAX_VALUE; WARD_E_PARSE when the key is empty
 * or longer than WARD_LABELS_MAX_KEY; or -ENOMEM.
 */
int ward_labels_add(struct ward_labels *ls, const char *key, size_t key_len, const char *value,
                    size_t value_len);

/*
 * Appends the canonical JSON of the set to out. Returns 0, or -EEXIST when a
 * key was added twice (then *dup, if not NULL, points to that key in the
 * set's text and *dup_len is its length), or -ENOMEM.
 */
int ward_labels_write(struct ward_labels *ls, struct ward_buf *out, const char **dup,
                      size_t *dup_len);

#endif
