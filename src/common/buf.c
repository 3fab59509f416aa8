/*
 * Dynamic byte buffer.
 *
 * Capacity doubles, so appending n bytes costs O(n) amortised. One byte past
 * len is always reserved for the terminating NUL.
 */
#include "common/buf.h"

#include "common/error.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ward_buf_init(struct ward_buf *b, size_t limit)
{
    *b = (struct ward_buf){.limit = limit};
}

void ward_buf_done(struct ward_buf *b)
{
    size_t limit = b->limit;
    free(b->data);
    *b = (struct ward_buf){.limit = limit};
}

void ward_buf_reset(struct ward_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

/* Grows the storage to hold len + extra + NUL; exact = no rounding up. */
static int grow(struct ward_buf *b, size_t extra, bool exact)
{
    size_t max = b->limit ? b->limit : SIZE_MAX / 2;
    if (extra > max || b->len > max - extra)
        return WARD_E_LIMIT;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = need;
    if (!exact) {
        cap = b->cap ? b->cap : 64;
        while (cap < need)
            cap *= 2;
        /* Never allocate past the limit: a capped buffer holds at most limit + NUL. */
        if (b->limit && cap > b->limit + 1)
            cap = b->limit + 1;
    }
    char *p = realloc(b->data, cap);
    if (!p)
        return -ENOMEM;
    if (!b->data)
        p[0] = '\0';
    b->data = p;
    b->cap = cap;
    return 0;
}

int ward_buf_reserve(struct ward_buf *b, size_t extra)
{
    return grow(b, extra, false);
}

int ward_buf_reserve_exact(struct ward_buf *b, size_t extra)
{
    return grow(b, extra, true);
}

int ward_buf_append(struct ward_buf *b, const void *p, size_t n)
{
    int r = ward_buf_reserve(b, n);
    if (r < 0)
        return r;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int ward_buf_puts(struct ward_buf *b, const char *s)
{
    return ward_buf_append(b, s, strlen(s));
}

int ward_buf_putc(struct ward_buf *b, char c)
{
    return ward_buf_append(b, &c, 1);
}

int ward_buf_vprintf(struct ward_buf *b, const char *fmt, va_list ap)
{
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    if (n < 0)
        return -EINVAL;
    int r = ward_buf_reserve(b, (size_t)n);
    if (r < 0)
        return r;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int ward_buf_printf(struct ward_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = ward_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return r;
}

char *ward_buf_steal(struct ward_buf *b)
{
    char *p = b->data;
    if (!p)
        p = calloc(1, 1);
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}
