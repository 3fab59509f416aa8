/*
 * Query latency of ward-server.
 *
 *   bench-query [-n REPEAT] [-w WARMUP] BASE_URL NAME:PATH...
 *
 * Each NAME:PATH is one query, such as
 * "day:/api/v1/query?host=...&category=cpu&name=usage&from=...&to=...". It is
 * sent WARMUP times untimed, then REPEAT times one after another on one
 * keep-alive connection, and the wall time of each request (send to the last
 * byte of the body) is recorded; the table gives its percentiles, the size
 * of the answer and how many series and points it held. The data must be in
 * the server already: bench/ingest.sh loads it through the ingest path with
 * bench-ingest.
 *
 * This client uses libcurl, unlike the load generator: it runs one request
 * at a time, so its own cost is small next to what it measures, and the
 * query answers may arrive in any framing HTTP allows.
 */
#include "common/buf.h"
#include "common/json.h"
#include "common/parse.h"
#include "common/time-util.h"

#include "bench-util.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BODY_MAX    ((size_t)256 << 20) /* bytes of one answer */
#define MAX_REPEAT  100000
#define SHOW_ERRORS 300 /* bytes of an error body printed */

static size_t on_body(char *p, size_t size, size_t n, void *userdata)
{
    struct ward_buf *b = userdata;
    return ward_buf_append(b, p, size * n) < 0 ? 0 : size * n;
}

/*
 * Counts the series and points of an answer {"series":[{...,"points":[[ts,v],
 * ...]}]}: every array that is the value of a "points" key is one series,
 * and each array directly inside it one point. Returns false when the body
 * is not JSON.
 */
static bool count_points(const struct ward_buf *body, size_t *series, size_t *points)
{
    struct ward_json_reader r;
    struct ward_json_token tok;
    struct ward_json_limits lim = {.max_size = BODY_MAX};
    size_t depth = 0, points_depth = 0;
    bool after_key = false, ok = true;
    *series = *points = 0;
    ward_json_reader_init(&r, body->data ? body->data : "", body->len, &lim);
    for (;;) {
        if (ward_json_next(&r, &tok) < 0) {
            ok = false;
            break;
        }
        if (tok.type == WARD_JSON_END)
            break;
        bool key = tok.type == WARD_JSON_KEY && ward_json_key_is(&tok, "points");
        if (tok.type == WARD_JSON_ARRAY_BEGIN || tok.type == WARD_JSON_OBJECT_BEGIN) {
            if (tok.type == WARD_JSON_ARRAY_BEGIN && after_key && !points_depth) {
                (*series)++;
                points_depth = depth + 1;
            } else if (tok.type == WARD_JSON_ARRAY_BEGIN && points_depth && depth == points_depth) {
                (*points)++;
            }
            depth++;
        } else if (tok.type == WARD_JSON_ARRAY_END || tok.type == WARD_JSON_OBJECT_END) {
            depth--;
            if (depth < points_depth)
                points_depth = 0;
        }
        after_key = key;
    }
    ward_json_reader_done(&r);
    return ok;
}

/* Times one query; prints a row of the table and a result line. */
static int time_query(CURL *curl, const char *base, const char *spec, long repeat, long warmup)
{
    const char *colon = strchr(spec, ':');
    if (!colon || colon[1] != '/') {
        fprintf(stderr, "bench-query: '%s' is not NAME:PATH\n", spec);
        return -1;
    }
    char name[40];
    size_t nlen = (size_t)(colon - spec) < sizeof(name) ? (size_t)(colon - spec) : sizeof(name) - 1;
    memcpy(name, spec, nlen);
    name[nlen] = '\0';
    struct ward_buf url = WARD_BUF_INIT, body = WARD_BUF_INIT;
    int64_t *lat = calloc((size_t)repeat, sizeof(*lat));
    int rc = -1;
    if (!lat || ward_buf_printf(&url, "%s%s", base, colon + 1) < 0)
        goto out;
    ward_buf_init(&body, BODY_MAX);
    curl_easy_setopt(curl, CURLOPT_URL, url.data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    long status = 0;
    for (long i = -warmup; i < repeat; i++) {
        ward_buf_reset(&body);
        int64_t t = ward_mono_ns();
        CURLcode c = curl_easy_perform(curl);
        t = ward_mono_ns() - t;
        if (c != CURLE_OK) {
            fprintf(stderr, "bench-query: %s: %s\n", name, curl_easy_strerror(c));
            goto out;
        }
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        if (status != 200) {
            printf("%-22s status %ld: %.*s\n", name, status,
                   (int)(body.len < SHOW_ERRORS ? body.len : SHOW_ERRORS),
                   body.data ? body.data : "");
            printf("result query=%s status=%ld\n", name, status);
            rc = 0;
            goto out;
        }
        if (i >= 0)
            lat[i] = t;
    }
    qsort(lat, (size_t)repeat, sizeof(*lat), ward_cmp_i64);
    size_t series, points;
    bool json = count_points(&body, &series, &points);
    char sbuf[24] = "?", pbuf[24] = "?";
    if (json) {
        snprintf(sbuf, sizeof(sbuf), "%zu", series);
        snprintf(pbuf, sizeof(pbuf), "%zu", points);
    }
    size_t n = (size_t)repeat;
    printf("%-22s %6ld %9zu %7s %8s %8.2f %8.2f %8.2f %8.2f\n", name, status, body.len, sbuf, pbuf,
           ward_percentile(lat, n, 50, 1e6), ward_percentile(lat, n, 90, 1e6),
           ward_percentile(lat, n, 99, 1e6), ward_percentile(lat, n, 100, 1e6));
    printf("result query=%s status=%ld bytes=%zu series=%s points=%s p50_ms=%.2f p90_ms=%.2f "
           "p99_ms=%.2f\n",
           name, status, body.len, sbuf, pbuf, ward_percentile(lat, n, 50, 1e6),
           ward_percentile(lat, n, 90, 1e6), ward_percentile(lat, n, 99, 1e6));
    rc = 0;
out:
    fflush(stdout);
    free(lat);
    ward_buf_done(&url);
    ward_buf_done(&body);
    return rc;
}

int main(int argc, char **argv)
{
    int64_t repeat = 200, warmup = 5;
    int c;
    while ((c = getopt(argc, argv, "n:w:")) != -1) {
        if (c == 'n' && ward_parse_int_range(optarg, 1, MAX_REPEAT, &repeat) == 0)
            continue;
        if (c == 'w' && ward_parse_int_range(optarg, 0, MAX_REPEAT, &warmup) == 0)
            continue;
        optind = argc + 1;
        break;
    }
    if (optind >= argc - 1) {
        fprintf(stderr, "Usage: bench-query [-n REPEAT] [-w WARMUP] BASE_URL NAME:PATH...\n");
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        return 1;
    CURL *curl = curl_easy_init();
    if (!curl)
        return 1;
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "bench-query");
    printf("queries: %lld timed runs each after %lld untimed, one connection\n", (long long)repeat,
           (long long)warmup);
    printf("%-22s %6s %9s %7s %8s %8s %8s %8s %8s\n", "query", "status", "bytes", "series",
           "points", "p50 ms", "p90 ms", "p99 ms", "max ms");
    int rc = 0;
    for (int i = optind + 1; i < argc; i++)
        if (time_query(curl, argv[optind], argv[i], (long)repeat, (long)warmup) < 0)
            rc = 1;
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    return rc;
}
