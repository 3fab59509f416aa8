/*
 * Structured logging for the programs (agent, server, ctl).
 *
 * Library code in common/ and the store backends never log; they return
 * errors, and the program that called them decides what to log. A log line
 * is a message plus key/value string pairs, written as logfmt-style text or
 * as one JSON object per line:
 *
 *   2026-11-22T07:40:00.123Z level=info msg="listening" request_id=abc addr=127.0.0.1:8080
 *   {"ts":"2026-11-22T07:40:00.123Z","level":"info","msg":"listening","request_id":"abc",...}
 *
 * Values are escaped so that no input can split a line or forge a field, and
 * a line never exceeds WARD_LOG_LINE_MAX bytes. Never pass a secret as a
 * value.
 */
#ifndef WARD_LOG_H
#define WARD_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

enum ward_log_level {
    WARD_LOG_DEBUG,
    WARD_LOG_INFO,
    WARD_LOG_WARN,
    WARD_LOG_ERROR,
};

enum ward_log_format {
    WARD_LOG_TEXT,
    WARD_LOG_JSON,
};

/*
 * Longest line written, newline included. A longer line is cut inside the
 * value that overflows (which then ends in "..."), later fields are dropped,
 * and the line gets a final field truncated=true.
 */
#define WARD_LOG_LINE_MAX 8192

/*
 * Sets the minimum level written, the format, and the stream (NULL means
 * stderr). The stream stays owned by the caller, who must keep it open until
 * the next call to ward_log_setup. Before the first call the logger writes
 * text at level info and above to stderr. Thread-safe, but meant for
 * start-up and configuration reloads.
 */
void ward_log_setup(enum ward_log_level min, enum ward_log_format fmt, FILE *out);

/*
 * Parses a level name: "debug", "info", "warn" (or "warning") or "error",
 * case-insensitive. Returns 0, or -EINVAL (*out untouched).
 */
int ward_log_level_parse(const char *s, enum ward_log_level *out);

/* Parses a format name: "text" or "json", case-insensitive. Returns 0, or -EINVAL. */
int ward_log_format_parse(const char *s, enum ward_log_format *out);

/* The names the two parsers accept, NULL-terminated: for option tables. */
extern const char *const ward_log_level_choices[];
extern const char *const ward_log_format_choices[];

/*
 * ward_log_setup() from the names of a level and a format, as programs take
 * them from their configuration. Returns 0, or -EINVAL when either name is
 * not valid (nothing changes then).
 */
int ward_log_setup_named(const char *level, const char *format, FILE *out);

/* Returns the lowercase name of a level ("info"), or "unknown". Never NULL. */
const char *ward_log_level_name(enum ward_log_level level);

/* Returns true when a line at this level would be written, to skip costly preparation. */
bool ward_log_enabled(enum ward_log_level level);

/*
 * Writes one line if level is at least the configured minimum.
 * request_id is added as the request_id field unless it is NULL or empty.
 * msg is the human-readable event. The variable arguments are pairs of
 * `const char *key, const char *value`, ended by a NULL key; a NULL value is
 * written as null. Keys are code constants: in text they are reduced to
 * [A-Za-z0-9_.-] and cut to 128 bytes. Nothing passed in is retained. The
 * line is written with a single fwrite and flushed, under a lock, so lines
 * from concurrent threads never interleave. Output errors are ignored: there
 * is nowhere to report them.
 *
 * Prefer the macros below, which append the NULL and reject at compile time
 * a key without a value or an argument that is not a string.
 */
void ward_log(enum ward_log_level level, const char *request_id, const char *msg, ...)
    __attribute__((sentinel));

/* ward_log() with the key/value pairs (ended by a NULL key) in a va_list. */
void ward_logv(enum ward_log_level level, const char *request_id, const char *msg, va_list ap);

/* True when the arguments are a message plus whole key/value pairs, all strings. */
#define WARD_LOG_ARGS_OK_(...)                                                                     \
    (sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *) % 2 == 1)

#define WARD_LOG_AT_(level, rid, ...)                                                              \
    do {                                                                                           \
        _Static_assert(WARD_LOG_ARGS_OK_(__VA_ARGS__), "log key without a value");                 \
        ward_log((level), (rid), __VA_ARGS__, NULL);                                               \
    } while (0)

/* ward_log_info(rid, "listening", "addr", addr) and so on; rid may be NULL. */
#define ward_log_debug(rid, ...) WARD_LOG_AT_(WARD_LOG_DEBUG, rid, __VA_ARGS__)
#define ward_log_info(rid, ...)  WARD_LOG_AT_(WARD_LOG_INFO, rid, __VA_ARGS__)
#define ward_log_warn(rid, ...)  WARD_LOG_AT_(WARD_LOG_WARN, rid, __VA_ARGS__)
#define ward_log_error(rid, ...) WARD_LOG_AT_(WARD_LOG_ERROR, rid, __VA_ARGS__)

#endif
