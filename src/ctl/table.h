/*
 * Rendering the server's JSON answers as text for people: tables, "key:
 * value" lines and single fields. Every string from the server passes
 * through one filter that replaces control characters, so a hostname an
 * agent chose cannot send escape sequences to the operator's terminal.
 */
#ifndef WARD_CTL_TABLE_H
#define WARD_CTL_TABLE_H

#include "common/buf.h"
#include "common/json.h"

#include <stdbool.h>
#include <stddef.h>

/* Most columns a table may have. */
#define WARD_CTL_MAX_COLUMNS 16

/* One column of a table: its heading and the member of each row object it shows. */
struct ward_ctl_column {
    const char *header;
    const char *key;
};

/* A table of the objects in an answer. */
struct ward_ctl_table {
    const char
        *key; /* the answer's member that holds the rows; NULL when the answer is the array */
    const struct ward_ctl_column *cols;
    size_t n_cols;     /* 1 to WARD_CTL_MAX_COLUMNS */
    const char *empty; /* said on stderr when there are no rows, or NULL */
};

/*
 * Renders a body, taking a context: the callback type of ward_ctl_call()
 * (http.h). Returns 0, or a negative error after printing why to stderr.
 */
typedef int (*ward_ctl_render_fn)(const struct ward_buf *body, const void *ctx);

/*
 * Appends n bytes of server text to out with control characters (C0, DEL
 * and C1) replaced by '?', so nothing a server or an agent sent can drive
 * the terminal; with lines, newlines and tabs are kept. Returns 0 or the
 * buffer's error.
 */
int ward_ctl_put_text(struct ward_buf *out, const char *s, size_t n, bool lines);

/*
 * Copies the string token t into dst (size bytes, at least 1) for display,
 * control characters replaced as by ward_ctl_put_text(); longer text is
 * cut. dst is left empty when memory runs out.
 */
void ward_ctl_copy_text(char *dst, size_t size, const struct ward_json_token *t);

/*
 * Says on stderr that an answer was not what wardctl expected: the error
 * message of the reader r, or else ward_strerror(e).
 */
void ward_ctl_unexpected(const struct ward_json_reader *r, int e);

/*
 * Prints the rows of body as a table to stdout: one heading line, then one
 * line per object, columns padded to their widest cell and separated by two
 * spaces. A missing, null or empty member shows as "-"; nested objects show
 * as k=v,k=v and arrays as a,b. ctx is a const struct ward_ctl_table.
 * Returns 0, or a WARD_E_JSON_* code or -ENOMEM after printing
 * "unexpected answer" to stderr.
 */
int ward_ctl_render_table(const struct ward_buf *body, const void *ctx);

/*
 * Prints every member of the object in body as a "key: value" line to
 * stdout, in the server's order, but the one named by ctx (a const char *
 * key, or NULL for none). Returns as ward_ctl_render_table().
 */
int ward_ctl_render_fields(const struct ward_buf *body, const void *ctx);

/*
 * Writes the member key of the object in body, rendered as in a table cell
 * (but empty rather than "-"), into out, which it resets first. Prints
 * nothing. Returns 0, WARD_E_NOT_FOUND when the member is absent, a
 * WARD_E_JSON_* code when body is not an object, or -ENOMEM.
 */
int ward_ctl_json_field(const struct ward_buf *body, const char *key, struct ward_buf *out);

#endif
