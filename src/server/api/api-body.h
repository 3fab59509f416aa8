/*
 * Request bodies that are one flat JSON object of text fields, such as
 * {"agentId": "...", "claimToken": "..."}: the form of most registry and
 * admin requests.
 *
 * Each field is described once, with the buffer it goes into; the decoder
 * checks type, length, control characters, repeats and required fields,
 * and skips keys it does not know, as every route of ward does. A JSON null
 * counts as absent.
 */
#ifndef WARD_API_BODY_H
#define WARD_API_BODY_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

struct ward_api_field {
    const char *name;
    char *dst;  /* holds max + 1 bytes; "" when absent */
    size_t max; /* longest value in bytes */
    bool required;
};

/*
 * Decodes body into the n fields. Returns 0, or a negative error with a
 * message naming the field in err: WARD_E_LIMIT for a value too long (413
 * is not right for it: callers answer 400 for every error).
 */
int ward_api_body_decode(const char *body, size_t len, const struct ward_api_field *fields,
                         size_t n, struct ward_buf *err);

#endif
