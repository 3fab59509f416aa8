/*
 * The diagnostics an admin may ask an agent to run, and the one check of
 * their arguments, shared by the server (which refuses a bad command when
 * it is queued) and the agent (which checks again before it runs one).
 *
 * A diagnostic has a fixed name and a fixed list of arguments. Every
 * argument has a kind, and a value is accepted only when the whole string
 * matches that kind's pattern (anchored at both ends): no control
 * characters, no newline, no leading '-', host names and IP addresses
 * only where a host is expected, absolute paths without "." or ".."
 * components only where a path is expected, decimal integers within
 * bounds, or one of a fixed list of words. Arguments that are not given
 * take their defaults, so a parsed command is complete and canonical.
 */
#ifndef WARD_DIAG_H
#define WARD_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

enum ward_diag_type {
    WARD_DIAG_LOGS,
    WARD_DIAG_DISK_USAGE,
    WARD_DIAG_MOUNTS,
    WARD_DIAG_PING,
    WARD_DIAG_CONNECT,
    WARD_DIAG_NETSTAT,
    WARD_DIAG_TRACEROUTE,
    WARD_DIAG_N
};

/* Arguments of one diagnostic at most, and the longest value of one. */
#define WARD_DIAG_MAX_ARGS 4
#define WARD_DIAG_ARG_MAX  255

/* What an argument's value must be. */
enum ward_diag_kind {
    WARD_DIAG_ARG_HOST,      /* a host name (RFC 1123), an IPv4 or an IPv6 address */
    WARD_DIAG_ARG_HOST_PORT, /* HOST:PORT, or [IPV6]:PORT */
    WARD_DIAG_ARG_PATH,      /* an absolute path */
    WARD_DIAG_ARG_INT,       /* a decimal integer from min to max */
    WARD_DIAG_ARG_WORD,      /* one of words */
    WARD_DIAG_ARG_UNIT,      /* a systemd unit name, or "" for every unit */
};

struct ward_diag_arg_spec {
    const char *name;
    enum ward_diag_kind kind;
    const char *def; /* NULL: required */
    int64_t min, max;
    const char *const *words; /* WARD_DIAG_ARG_WORD: NULL-terminated */
    const char *help;
};

struct ward_diag_spec {
    const char *name;
    const char *help;
    size_t n_args;
    struct ward_diag_arg_spec args[WARD_DIAG_MAX_ARGS];
};

/* A checked command: every argument of its type, in the order of its spec. */
struct ward_diag_args {
    enum ward_diag_type type;
    char values[WARD_DIAG_MAX_ARGS][WARD_DIAG_ARG_MAX + 1];
};

/* The spec of type; NULL outside the enum. */
const struct ward_diag_spec *ward_diag_spec(enum ward_diag_type type);

/* Finds a diagnostic by name ("disk" also names disk_usage). Returns 0 or -ENOENT. */
int ward_diag_type_of(const char *name, enum ward_diag_type *out);

/* The name of type; "" outside the enum. */
const char *ward_diag_name(enum ward_diag_type type);

/*
 * Starts *out for type with every argument at its default (required ones
 * empty). Returns 0, or -EINVAL for a type outside the enum.
 */
int ward_diag_init(enum ward_diag_type type, struct ward_diag_args *out);

/*
 * Sets argument name to value after checking it against the argument's
 * kind. Returns 0, or -EINVAL with a message appended to err (may be
 * NULL) for an unknown name or a value that does not match.
 */
int ward_diag_set(struct ward_diag_args *a, const char *name, const char *value,
                  struct ward_buf *err);

/*
 * Checks that every required argument was given. Returns 0, or -EINVAL
 * with a message appended to err (may be NULL).
 */
int ward_diag_complete(const struct ward_diag_args *a, struct ward_buf *err);

/* The value of argument name (never NULL for a name of the type's spec; "" otherwise). */
const char *ward_diag_get(const struct ward_diag_args *a, const char *name);

/* The value of integer argument name; 0 when it is not one of the type's. */
int64_t ward_diag_get_int(const struct ward_diag_args *a, const char *name);

/* True when value matches kind (and, for WARD_DIAG_ARG_INT and _WORD, spec). */
bool ward_diag_valid(const struct ward_diag_arg_spec *spec, const char *value);

/*
 * Splits HOST:PORT or [IPV6]:PORT (as checked by WARD_DIAG_ARG_HOST_PORT)
 * into host (size bytes, brackets removed) and *port. Returns 0 or -EINVAL.
 */
int ward_diag_split_host_port(const char *s, char *host, size_t size, unsigned *port);

#endif
