/*
 * Flat JSON bodies of text fields; see api-body.h.
 */
#include "server/api/api-body.h"

#include "common/error.h"
#include "common/json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#define MAX_FIELDS 16

__attribute__((format(printf, 3, 4))) static int fail(struct ward_buf *err, int code,
                                                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ward_buf_vprintf(err, fmt, ap);
    va_end(ap);
    return code;
}

static bool printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static int read_value(struct ward_json_reader *r, const struct ward_api_field *f,
                      struct ward_buf *err)
{
    struct ward_json_token tok;
    int rc = ward_json_next(r, &tok);
    if (rc < 0)
        return fail(err, rc, "%s: %s", f->name, ward_json_error_message(r));
    if (tok.type == WARD_JSON_NULL)
        return 0;
    if (tok.type != WARD_JSON_STRING)
        return fail(err, WARD_E_JSON_TYPE, "%s: expected a string", f->name);
    if (tok.len > f->max)
        return fail(err, WARD_E_LIMIT, "%s: longer than %zu bytes", f->name, f->max);
    if (!printable(tok.str, tok.len))
        return fail(err, WARD_E_JSON_TYPE, "%s: must not contain control characters", f->name);
    memcpy(f->dst, tok.str, tok.len);
    f->dst[tok.len] = '\0';
    return 0;
}

static int read_fields(struct ward_json_reader *r, const struct ward_api_field *fields, size_t n,
                       struct ward_buf *err)
{
    uint32_t seen = 0;
    struct ward_json_token tok;
    for (;;) {
        int rc = ward_json_next(r, &tok);
        if (rc < 0)
            return fail(err, rc, "body: %s", ward_json_error_message(r));
        if (tok.type == WARD_JSON_OBJECT_END)
            return 0;
        size_t i = 0;
        while (i < n && !ward_json_key_is(&tok, fields[i].name))
            i++;
        if (i == n) {
            rc = ward_json_skip(r);
            if (rc < 0)
                return fail(err, rc, "body: %s", ward_json_error_message(r));
            continue;
        }
        if (seen & (1u << i))
            return fail(err, WARD_E_JSON_TYPE, "%s: given twice", fields[i].name);
        seen |= 1u << i;
        rc = read_value(r, &fields[i], err);
        if (rc < 0)
            return rc;
    }
}

int ward_api_body_decode(const char *body, size_t len, const struct ward_api_field *fields,
                         size_t n, struct ward_buf *err)
{
    if (n > MAX_FIELDS)
        return fail(err, -EINVAL, "too many fields");
    for (size_t i = 0; i < n; i++)
        fields[i].dst[0] = '\0';
    struct ward_json_limits lim = {.max_depth = 8};
    struct ward_json_reader r;
    ward_json_reader_init(&r, body, len, &lim);
    struct ward_json_token tok;
    int rc = ward_json_expect(&r, WARD_JSON_OBJECT_BEGIN, &tok);
    if (rc < 0)
        rc = fail(err, rc, "body: expected a JSON object: %s", ward_json_error_message(&r));
    if (rc == 0)
        rc = read_fields(&r, fields, n, err);
    if (rc == 0 && (rc = ward_json_next(&r, &tok)) < 0)
        rc = fail(err, rc, "body: %s", ward_json_error_message(&r));
    ward_json_reader_done(&r);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (fields[i].required && !fields[i].dst[0])
            rc = fail(err, WARD_E_JSON_TYPE, "%s: required", fields[i].name);
    return rc;
}
