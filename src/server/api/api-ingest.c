/*
 * POST /api/v1/ingest: a batch of samples from an agent (seed 001's bulk
 * ingest plus the delivery fields of DESIGN.md).
 *
 * The body arrives decoded from gzip by the HTTP layer. It is decoded here in
 * full before anything is stored, so a bad batch is refused as a whole, and
 * the answer is sent only after the store committed: a 2xx means durable.
 * A batch that was stored before gets the same 200 with "duplicate": true.
 *
 * When the server has a key, the request signature (DESIGN.md, "Wire
 * protocol") is checked by ward_api_check_raw(), which the HTTP layer calls
 * after routing and before it undoes the gzip encoding. The signature covers
 * the body as sent, and checking it first means an unsigned client cannot
 * make the server inflate or parse anything. The check lives here rather
 * than in http/ because what to sign, with which key, is a property of this
 * resource; http/ only offers the hook and the raw bytes.
 */
#include "server/api/api.h"

#include "common/crypto.h"
#include "common/error.h"
#include "common/log.h"
#include "common/parse.h"
#include "common/time-util.h"
#include "server/ingest.h"
#include "server/writer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Digits of the largest X-Ward-Timestamp accepted; 18 always fit an int64_t. */
#define TIMESTAMP_DIGITS_MAX 18

static unsigned status_for(int err)
{
    if (err == WARD_E_LIMIT)
        return 413;
    if (err == -ENOMEM)
        return 503;
    return 400;
}

/*
 * Parses X-Ward-Timestamp: Unix milliseconds as decimal digits without sign
 * or leading zeros. That is the only form ward_signature_compute() signs, so
 * the server verifies over exactly the text the client sent.
 */
static int parse_timestamp(const char *s, int64_t *ms)
{
    size_t n = strnlen(s, TIMESTAMP_DIGITS_MAX + 1);
    if (n == 0 || n > TIMESTAMP_DIGITS_MAX || (s[0] == '0' && n > 1))
        return WARD_E_PARSE;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return WARD_E_PARSE;
    return ward_parse_int64(s, ms);
}

/* Answers 401 with the reason, which is logged too (it never holds a secret). */
__attribute__((format(printf, 2, 3))) static int refuse(struct ward_http_request *req,
                                                        const char *fmt, ...)
{
    char why[192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    ward_log_warn(ward_http_request_id(req), "ingest refused", "reason", why);
    ward_http_error(req, 401, "%s", why);
    return -EACCES;
}

int ward_api_check_raw(struct ward_http_request *req, void *app)
{
    struct ward_api *api = app;
    int r = ward_auth_admit(req, api->store, api->sessions, &api->policy);
    if (r < 0)
        return r;
    const char *key = api->signature_key;
    if (ward_http_route(req)->handler != ward_api_ingest || !key || !*key)
        return 0;

    const char *sig = ward_http_header(req, WARD_SIGNATURE_HEADER);
    const char *ts = ward_http_header(req, WARD_TIMESTAMP_HEADER);
    if (!sig || !ts)
        return refuse(req, "missing %s header; this server requires signed requests",
                      sig ? WARD_TIMESTAMP_HEADER : WARD_SIGNATURE_HEADER);
    int64_t ms;
    if (parse_timestamp(ts, &ms) < 0)
        return refuse(req, "malformed %s; expected Unix time in milliseconds",
                      WARD_TIMESTAMP_HEADER);

    size_t len;
    const char *body = ward_http_raw_body(req, &len);
    r = ward_signature_verify(key, strlen(key), ms, body, len, sig, strlen(sig));
    if (r == WARD_E_PARSE)
        return refuse(req, "malformed %s; expected %d hex digits", WARD_SIGNATURE_HEADER,
                      WARD_SIGNATURE_HEX_LEN);
    if (r == -EBADMSG)
        return refuse(req, "signature mismatch");
    if (r < 0) {
        ward_log_error(ward_http_request_id(req), "cannot check signature", "error",
                       ward_strerror(r));
        ward_http_error(req, 500, "cannot check the request signature");
        return r;
    }

    /*
     * The skew is checked only once the signature holds, so the clock is
     * discussed only with a client that has the key. Both values are
     * non-negative, so the difference cannot overflow.
     */
    int64_t now = ward_now_ms();
    if ((ms > now ? ms - now : now - ms) > api->signature_skew_ms)
        return refuse(req, "timestamp outside allowed skew of %" PRId64 " ms from the server clock",
                      api->signature_skew_ms);
    return 0;
}

/* An ingest batch waiting for the writer's group commit. */
struct pending {
    struct ward_write_job job;
    struct ward_ingest in;
    int submit_error; /* why the writer refused the job, or 0 */
};

/* The writer's completion: hand the request back to an HTTP thread. */
static void committed(struct ward_write_job *job)
{
    ward_http_resume(job->userdata);
}

static void retry_later(struct ward_http_request *req, const char *why)
{
    ward_http_add_header(req, "Retry-After", "1");
    ward_http_error(req, 503, "%s, retry later", why);
}

/* Resume callback: answers with the outcome of the write, then frees the batch. */
static void answer(struct ward_http_request *req, void *app)
{
    (void)app;
    struct pending *p = ward_http_userdata(req);
    int r = p->submit_error ? p->submit_error : p->job.w.result;
    if (r == -EAGAIN) {
        retry_later(req, "write queue full");
    } else if (r == WARD_E_LIMIT) {
        ward_http_error(req, 413, "batch of %zu samples is larger than the write queue",
                        p->in.n_samples);
    } else if (r == -ESHUTDOWN) {
        retry_later(req, "server shutting down");
    } else if (r < 0) {
        ward_log_error(ward_http_request_id(req), "ingest failed", "server_id", p->in.server_id,
                       "error", ward_strerror(r));
        retry_later(req, "storage unavailable");
    } else {
        char resp[96];
        int n =
            snprintf(resp, sizeof(resp), "{\"status\":\"ok\",\"accepted\":%zu,\"duplicate\":%s}",
                     r == 1 ? 0 : p->in.n_samples, r == 1 ? "true" : "false");
        ward_http_respond(req, 200, "application/json", resp, (size_t)n);
    }
    ward_ingest_done(&p->in);
    free(p);
}

/*
 * Decodes the batch, then hands it to the writer and suspends the request
 * until the commit: no HTTP thread waits for the disk, and many requests
 * share one commit.
 */
void ward_api_ingest(struct ward_http_request *req, void *app)
{
    struct ward_api *api = app;
    size_t len;
    const char *body = ward_http_body(req, &len);
    if (len == 0) {
        ward_http_error(req, 400, "empty body; expected a JSON ingest batch");
        return;
    }

    struct pending *p = calloc(1, sizeof(*p));
    if (!p) {
        retry_later(req, "out of memory");
        return;
    }
    struct ward_buf err = WARD_BUF_INIT;
    ward_ingest_init(&p->in);
    int r = ward_ingest_decode(&p->in, body, len, ward_now_ms(), &err);
    if (r < 0) {
        if (r == -ENOMEM)
            ward_http_add_header(req, "Retry-After", "1");
        ward_http_error(req, status_for(r), "%s", err.data ? err.data : ward_strerror(r));
        ward_buf_done(&err);
        ward_ingest_done(&p->in);
        free(p);
        return;
    }
    ward_buf_done(&err);
    const struct ward_principal *who = ward_auth_principal(req);
    if (who->caller == WARD_CALLER_AGENT && strcmp(who->host_id, p->in.server_id) != 0) {
        ward_http_error(req, 403, "this API key belongs to agent %s, not to server_id %s",
                        who->host_id, p->in.server_id);
        ward_ingest_done(&p->in);
        free(p);
        return;
    }

    p->job = (struct ward_write_job){
        .w = {.host_id = p->in.server_id,
              .batch = p->in.has_batch ? &p->in.batch : NULL,
              .samples = p->in.samples,
              .n = p->in.n_samples},
        .done = committed,
        .userdata = req,
    };
    ward_http_set_userdata(req, p);
    ward_http_suspend(req, answer);
    r = ward_writer_submit(api->writer, &p->job);
    if (r < 0) {
        p->submit_error = r;
        ward_http_resume(req);
    }
}
