/*
 * Scope-bound cleanup helpers.
 *
 * A variable declared with _cleanup_free_ is freed when it leaves scope, so a
 * function that owns several resources can return early without a goto chain.
 * Types with their own destructor declare a matching helper with
 * WARD_DEFINE_CLEANUP and use _cleanup_(type_freep).
 */
#ifndef WARD_CLEANUP_H
#define WARD_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void ward_freep(void *p)
{
    free(*(void **)p);
}

static inline void ward_closep(int *fd)
{
    if (*fd >= 0)
        close(*fd);
}

static inline void ward_fclosep(FILE **f)
{
    if (*f)
        fclose(*f);
}

#define _cleanup_free_   _cleanup_(ward_freep)
#define _cleanup_close_  _cleanup_(ward_closep)
#define _cleanup_fclose_ _cleanup_(ward_fclosep)

/* Defines `static inline void NAME##p(TYPE **p)` calling FREE on *p (FREE accepts NULL). */
#define WARD_DEFINE_CLEANUP(TYPE, FREE)                                                            \
    static inline void FREE##p(TYPE **p)                                                           \
    {                                                                                              \
        FREE(*p);                                                                                  \
    }

/* Returns the pointer and leaves NULL behind, to hand ownership out of a cleanup scope. */
#define WARD_TAKE_PTR(p)                                                                           \
    ({                                                                                             \
        __typeof__(p) _tmp = (p);                                                                  \
        (p) = NULL;                                                                                \
        _tmp;                                                                                      \
    })

#define WARD_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
