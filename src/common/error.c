/*
 * Names for error codes.
 *
 * A table indexed by project code, falling back to strerror() for -errno, so
 * every negative return in the project has a printable name.
 */
#include "common/error.h"

#include <string.h>

static const char *const names[] = {
    [WARD_E_JSON_SYNTAX - WARD_E_BASE] = "malformed JSON",
    [WARD_E_JSON_DEPTH - WARD_E_BASE] = "JSON nested too deeply",
    [WARD_E_JSON_SIZE - WARD_E_BASE] = "JSON too large",
    [WARD_E_JSON_UTF8 - WARD_E_BASE] = "invalid UTF-8 in JSON",
    [WARD_E_JSON_NUMBER - WARD_E_BASE] = "invalid JSON number",
    [WARD_E_JSON_TYPE - WARD_E_BASE] = "wrong JSON type",
    [WARD_E_GZIP_CORRUPT - WARD_E_BASE] = "corrupt gzip data",
    [WARD_E_GZIP_TOO_LARGE - WARD_E_BASE] = "decompressed data too large",
    [WARD_E_CONFIG - WARD_E_BASE] = "invalid configuration",
    [WARD_E_USAGE - WARD_E_BASE] = "invalid usage",
    [WARD_E_LIMIT - WARD_E_BASE] = "limit exceeded",
    [WARD_E_NOT_FOUND - WARD_E_BASE] = "not found",
    [WARD_E_STORE - WARD_E_BASE] = "storage error",
    [WARD_E_PARSE - WARD_E_BASE] = "malformed input",
    [WARD_E_HTTP - WARD_E_BASE] = "HTTP error",
    [WARD_E_CORRUPT - WARD_E_BASE] = "database file is damaged",
};

const char *ward_strerror(int err)
{
    if (err >= WARD_E_BASE && err < WARD_E_LAST) {
        const char *s = names[err - WARD_E_BASE];
        return s ? s : "unknown error";
    }
    if (err < 0 && err > -4096)
        return strerrordesc_np(-err) ? strerrordesc_np(-err) : "unknown errno";
    return "unknown error";
}
