/*
 * Error codes.
 *
 * Functions return int: 0 or more is success, a negative errno or one of the
 * project codes below is failure. Project codes sit far below any errno so the
 * two ranges never meet; ward_strerror() names both.
 */
#ifndef WARD_ERROR_H
#define WARD_ERROR_H

enum ward_error {
    WARD_E_BASE = -10000,
    WARD_E_JSON_SYNTAX = WARD_E_BASE, /* malformed JSON */
    WARD_E_JSON_DEPTH,                /* nesting deeper than the limit */
    WARD_E_JSON_SIZE,                 /* document or string larger than the limit */
    WARD_E_JSON_UTF8,                 /* invalid UTF-8 or bad \u escape */
    WARD_E_JSON_NUMBER,               /* number out of range or malformed */
    WARD_E_JSON_TYPE,                 /* value of the wrong type for its field */
    WARD_E_GZIP_CORRUPT,              /* compressed data is not valid gzip */
    WARD_E_GZIP_TOO_LARGE,            /* decompressed data exceeds the cap */
    WARD_E_CONFIG,                    /* invalid configuration */
    WARD_E_USAGE,                     /* bad command-line usage */
    WARD_E_LIMIT,                     /* a configured limit was exceeded */
    WARD_E_NOT_FOUND,                 /* no such object */
    WARD_E_STORE,                     /* storage backend failure */
    WARD_E_PARSE,                     /* malformed input that is not JSON */
    WARD_E_HTTP,                      /* HTTP transport or status failure */
    WARD_E_CORRUPT,                   /* a database file is damaged */
    WARD_E_LAST
};

/*
 * Returns a static, human-readable description of a negative error code:
 * a project code, or -errno. Never returns NULL.
 */
const char *ward_strerror(int err);

#endif
