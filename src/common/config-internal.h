/*
 * Private declarations shared by config.c and config-yaml.c.
 *
 * config.c owns the option table: defaults, environment, flags and the
 * built-in flags. config-yaml.c reads the YAML file. Both turn text into
 * field values through the same parser, report errors in the same way, and
 * suggest a near name for an unknown one, so those pieces are declared here.
 * This header is not part of the public API: only the two files above include
 * it, and nothing it declares may be used elsewhere.
 */
#ifndef WARD_CONFIG_INTERNAL_H
#define WARD_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/config.h"

/* Values quoted in messages are cut to this many bytes. */
#define WARD_CONFIG_QUOTE_MAX 64

/* Cleanup helper for a struct ward_buf on the stack: _cleanup_(ward_config_buf_donep). */
static inline void ward_config_buf_donep(struct ward_buf *b)
{
    ward_buf_done(b);
}

/* The character a name's character becomes in a YAML key: '_' for '-', others unchanged. */
static inline char ward_config_yaml_char(char c)
{
    return c == '-' ? '_' : c;
}

/*
 * Replaces the content of err with a message formatted from fmt and returns
 * code, so that a failure can be reported and passed up in one statement.
 */
__attribute__((format(printf, 3, 4))) int ward_config_fail(struct ward_buf *err, int code,
                                                           const char *fmt, ...);

/*
 * Parses text as the value of option o and stores it in the field at base +
 * o->offset; a string field gets a copy of text and its old value is freed.
 * Returns 0, -ENOMEM (why untouched), or -EINVAL/-ERANGE after appending to
 * why a description of the problem that starts with the quoted text.
 */
int ward_config_set_value(const struct ward_option *o, void *base, const char *text,
                          struct ward_buf *why);

/*
 * Keeps candidate (cn bytes) in *best and *best_len when it is closer to word
 * (n bytes) than the best so far, whose distance is *best_d, and close enough
 * to suggest as "did you mean". '-' and '_' count as the same character.
 * Start with *best = NULL and *best_d = SIZE_MAX. Nothing is allocated:
 * *best points into candidate.
 */
void ward_config_consider(const char *word, size_t n, const char *candidate, size_t cn,
                          const char **best, size_t *best_len, size_t *best_d);

/*
 * Reads the YAML file at path and applies its values to the options of prog
 * in config. from_env says the path came from WARD_CONFIG rather than -c, for
 * the message when the file cannot be read. Values already in config are
 * overwritten (strings are freed first); options the file does not name are
 * left alone. Returns 0, or WARD_E_CONFIG, WARD_E_LIMIT, -ENOMEM or the
 * -errno of reading the file, after replacing the content of err with one
 * line. On failure some options may already have been set; the caller frees
 * config.
 */
int ward_config_load_file(const struct ward_program *prog, void *config, const char *path,
                          bool from_env, struct ward_buf *err);

#endif
