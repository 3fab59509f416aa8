/*
 * Dynamic byte buffer.
 *
 * The one growable buffer of the project. It keeps a NUL byte after the data
 * at all times, so text built in it can be handed to C string functions
 * without a copy. A buffer may carry a cap: growth past it fails with
 * WARD_E_LIMIT instead of allocating, which is how every input bound that
 * flows through a buffer is enforced.
 */
#ifndef WARD_BUF_H
#define WARD_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct ward_buf {
    char *data; /* NUL-terminated; NULL until the first growth */
    size_t len;
    size_t cap;
    size_t limit; /* 0 means no limit beyond SIZE_MAX / 2 */
};

#define WARD_BUF_INIT                                                                              \
    {                                                                                              \
        0                                                                                          \
    }

/* Initialises an empty buffer that refuses to grow beyond limit bytes (0 = unlimited). */
void ward_buf_init(struct ward_buf *b, size_t limit);

/* Frees the storage; the buffer is empty and reusable afterwards. */
void ward_buf_done(struct ward_buf *b);

/* Sets the length to 0 and keeps the storage. */
void ward_buf_reset(struct ward_buf *b);

/* Makes room for at least extra more bytes. Returns 0, -ENOMEM or WARD_E_LIMIT. */
int ward_buf_reserve(struct ward_buf *b, size_t extra);

/*
 * Like ward_buf_reserve(), but allocates exactly what is asked for instead
 * of doubling: for a writer that knows its final size, or must never hold
 * more than a bound (gzip output).
 */
int ward_buf_reserve_exact(struct ward_buf *b, size_t extra);

/* Appends n bytes; p must not point into b. Returns 0, -ENOMEM or WARD_E_LIMIT. */
int ward_buf_append(struct ward_buf *b, const void *p, size_t n);

/* Appends a NUL-terminated string. */
int ward_buf_puts(struct ward_buf *b, const char *s);

/* Appends one byte. */
int ward_buf_putc(struct ward_buf *b, char c);

/* Appends printf-formatted text. */
int ward_buf_printf(struct ward_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ward_buf_vprintf(struct ward_buf *b, const char *fmt, va_list ap);

/*
 * Hands the data to the caller, who frees it with free(). The buffer is
 * empty afterwards. Returns an empty allocated string for an empty buffer,
 * or NULL on allocation failure.
 */
char *ward_buf_steal(struct ward_buf *b);

/* Fast path for writers: appends n bytes that the caller has reserved room for. */
static inline void ward_buf_append_unchecked(struct ward_buf *b, const void *p, size_t n)
{
    __builtin_memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

#endif
