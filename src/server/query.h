/*
 * The query engine of ward-server: which series a query selects, and what
 * it returns for them over a time range.
 *
 * A query has three parts, each independent of HTTP so that the API layer
 * only parses parameters and writes JSON:
 *
 * Selection (struct ward_selector). Series are chosen by host, category,
 * name and labels, each by exact value or by regular expression. Exact
 * values go to the store's series listing as a filter; expressions and
 * label matchers are applied here to the listed series. Every matcher must
 * hold for a series to be selected.
 *
 *  - A host matcher matches a host by its id or by its hostname: the exact
 *    value "web-1" and the expression "web-.*" both select the hosts named
 *    so, and a UUID selects that host. Hostnames are resolved through the
 *    store's host list.
 *  - Expressions are POSIX extended regular expressions that must match the
 *    whole value (they are anchored), as in Prometheus: "web" does not match
 *    "web-1", "web.*" does. Refused, because the C library's regex engine
 *    takes exponential time on them: back-references ("(a)\1"), a
 *    repetition right after another ("a*?", "a++"), and a repetition of a
 *    part that can match the empty string ("(a*)*", "(a|)+"). Their size is
 *    bounded too (WARD_QUERY_MAX_REGEX_COST).
 *  - A label matcher only holds for a series that has the label. A series
 *    without the label "mount" is selected neither by mount=/ nor by
 *    mount=~.* (so mount=~.* means "has the label mount"); there is no way
 *    to select by absence.
 *
 * Range and aggregation (struct ward_query_spec). from and to are Unix
 * milliseconds, both inclusive. Without step and agg the points are
 * returned as stored. With step, bucket k covers
 * [from + k*step, from + (k+1)*step - 1] (the last one is cut at to) and
 * its point carries the bucket's start time; buckets are aligned to from,
 * not to the epoch, so the same from and step always give the same
 * buckets. With agg but no step there is one bucket, [from, to], whose
 * point carries from. Step without agg aggregates with avg. Buckets without
 * samples are left out (count gives no 0 point either).
 *
 * The aggregations over the samples of a bucket:
 *  - avg, sum, min, max, count: of the values.
 *  - last: the value of the newest sample.
 *  - rate: the per-second increase of a counter. Take the samples of one
 *    series in the bucket, p1..pn by time, and p0, the series' newest
 *    sample before the bucket if there is one (samples before from count
 *    when they are at most WARD_QUERY_RATE_LOOKBACK_MS older than from).
 *    The increase of a pair (p[i-1], p[i]) is v[i] - v[i-1], or v[i] when
 *    the value dropped (the counter restarted from 0). The rate is the sum
 *    of the increases of the pairs p0..pn divided by the seconds from the
 *    first to the last of those samples. A bucket with a single sample and
 *    no p0 has no rate. Gauges are treated like counters.
 *
 * Grouping (by). With by, series with the same values of the listed labels
 * are merged into one output entry per group and bucket: avg is the sum
 * over the count of all samples of the group in the bucket (not an average
 * of averages), sum, count, min and max are over all those samples, last
 * is the newest of them (on equal times the series listed last), and rate
 * is the sum of the series' rates. The pseudo-labels host, category and
 * name stand for the series' host id, category and name, before any real
 * label of that name. A series without a label of by has null as its value
 * in the group, and such series form their own group.
 *
 * Limits. A selection of more than max_series series fails, and so does a
 * result of more than max_points points: with a bucket size the number is
 * known before anything is read (groups times buckets); raw points are
 * counted as they are read. Both fail with WARD_E_LIMIT and a message that
 * gives the numbers and the way out. Memory follows the size of the
 * result, not of the samples read: samples are folded into their bucket as
 * the store streams them.
 */
#ifndef WARD_QUERY_H
#define WARD_QUERY_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "server/labels.h"
#include "server/store/store.h"

#define WARD_QUERY_MAX_MATCHERS  16  /* label matchers per selection */
#define WARD_QUERY_MAX_REGEXES   8   /* regular expressions per selection, all kinds together */
#define WARD_QUERY_MAX_REGEX_LEN 512 /* bytes of one regular expression */
/*
 * Largest size of one expression with its repetitions expanded: "a{3}"
 * counts 3, "(ab){2}" counts (2 + 2) * 2 = 8, "a+" counts 3. The C library
 * expands them, and its compile and match times grow with the square of
 * that size or faster, so this bound is what keeps one query cheap.
 */
#define WARD_QUERY_MAX_REGEX_COST 128
#define WARD_QUERY_MAX_VALUE      WARD_LABELS_MAX_VALUE    /* bytes of an exact value */
#define WARD_QUERY_MAX_BY         8                        /* labels in by */
#define WARD_QUERY_MAX_TIME       INT64_C(253402300799999) /* 9999-12-31T23:59:59.999Z */
/* How far before from rate looks for each series' previous sample. */
#define WARD_QUERY_RATE_LOOKBACK_MS (5 * 60 * 1000)

/* What the API uses when the server's configuration leaves a bound at 0. */
#define WARD_QUERY_DEFAULT_MAX_SERIES       10000
#define WARD_QUERY_DEFAULT_MAX_POINTS       1000000
#define WARD_QUERY_DEFAULT_STALE_AFTER_MS   (30 * 1000)
#define WARD_QUERY_DEFAULT_OFFLINE_AFTER_MS (5 * 60 * 1000)

enum ward_select_field {
    WARD_SELECT_HOST,
    WARD_SELECT_CATEGORY,
    WARD_SELECT_NAME,
    WARD_SELECT_LABEL,
};

struct ward_matcher {
    enum ward_select_field field;
    char *key;   /* label key; NULL for the other fields */
    char *value; /* the exact value, or the expression as given */
    bool regex;
    regex_t re; /* anchored; valid when regex */
};

/* Matchers of a selector: an exact and an expression for each field, and the label matchers. */
#define WARD_SELECTOR_MAX (6 + WARD_QUERY_MAX_MATCHERS)

struct ward_selector {
    /* All fields are private; use the functions below. */
    struct ward_matcher m[WARD_SELECTOR_MAX];
    size_t n;
    size_t n_labels;
    size_t n_regexes;
    char tenant[WARD_STORE_ID_LEN]; /* "" = hosts of every tenant */
};

/* Prepares an empty selector, which selects every series. */
void ward_selector_init(struct ward_selector *s);

/* Limits the selection to the hosts of tenant_id (NULL or "": no limit). */
void ward_selector_set_tenant(struct ward_selector *s, const char *tenant_id);

/* Frees what the matchers hold; the selector is empty afterwards. */
void ward_selector_done(struct ward_selector *s);

/*
 * Adds a matcher: field must equal value (regex false) or match the regular
 * expression value (regex true). key names the label for WARD_SELECT_LABEL
 * and must be NULL for the other fields. Returns 0; -EINVAL for a bad
 * argument or an expression that does not compile; WARD_E_LIMIT past one of
 * the bounds above; or -ENOMEM. On failure err holds one line for the user
 * ("unmatched ( or \\(", "more than 16 label matchers") and s is
 * unchanged.
 */
int ward_selector_add(struct ward_selector *s, enum ward_select_field field, const char *key,
                      bool regex, const char *value, struct ward_buf *err);

/*
 * Adds the label matchers of list: one or more of "key=value" (exact) or
 * "key=~expression", separated by commas. Within an exact value, "\\,"
 * stands for a comma and "\\\\" for a backslash. An expression ends at the
 * first comma outside parentheses, brackets and braces that is not escaped
 * by a backslash, and is taken as written. Returns what ward_selector_add()
 * returns, or -EINVAL for a malformed list; on failure nothing of list was
 * added.
 */
int ward_selector_parse_labels(struct ward_selector *s, const char *list, struct ward_buf *err);

/* A selected series. The strings belong to the set that holds it. */
struct ward_series_info {
    int64_t id;
    enum ward_metric_kind kind;
    const char *host_id;
    const char *category;
    const char *name;
    const char *labels; /* canonical JSON object */
    char *mem;          /* private: the storage of the strings */
};

struct ward_series_set {
    struct ward_series_info *v; /* in the store's order: host, category, name, labels */
    size_t n;
    size_t cap; /* private */
};

void ward_series_set_init(struct ward_series_set *set);
void ward_series_set_done(struct ward_series_set *set);

/*
 * Lists the series of st that sel selects into out (freshly initialised).
 * Returns 0; WARD_E_LIMIT when more than max_series match, with err giving
 * the number and the limit; WARD_E_PARSE when a series' stored labels are
 * not a flat JSON object of strings; WARD_E_STORE when the store fails (err
 * holds its error, for the log); or -ENOMEM. out is left empty on failure.
 */
int ward_query_select(struct ward_store *st, const struct ward_selector *sel, size_t max_series,
                      struct ward_series_set *out, struct ward_buf *err);

typedef int (*ward_label_fn)(const char *key, size_t key_len, const char *value, size_t value_len,
                             void *userdata);

/*
 * Calls fn for every pair of labels, a canonical label object. Returns 0,
 * the negative value fn returned, or WARD_E_PARSE when labels is not a flat
 * JSON object of strings.
 */
int ward_query_labels_each(const char *labels, ward_label_fn fn, void *userdata);

enum ward_query_agg {
    WARD_AGG_NONE = 0,
    WARD_AGG_AVG,
    WARD_AGG_MIN,
    WARD_AGG_MAX,
    WARD_AGG_SUM,
    WARD_AGG_COUNT,
    WARD_AGG_LAST,
    WARD_AGG_RATE,
};

/* Parses "avg", "min", "max", "sum", "count", "last" or "rate". Returns 0 or -EINVAL. */
int ward_query_agg_parse(const char *s, enum ward_query_agg *out);

/* The name ward_query_agg_parse() reads, or NULL for WARD_AGG_NONE. */
const char *ward_query_agg_name(enum ward_query_agg agg);

/*
 * Parses a step: an integer of milliseconds ("60000") or a number with a
 * unit of ms, s, m, h or d ("60s", "1.5m"), from 1 ms to WARD_QUERY_MAX_TIME.
 * Returns 0, or -EINVAL / -ERANGE (*out untouched).
 */
int ward_query_step_parse(const char *s, int64_t *out);

struct ward_query_by {
    size_t n;
    char key[WARD_QUERY_MAX_BY][WARD_LABELS_MAX_KEY + 1];
};

/*
 * Parses a comma-separated list of label names into out. Returns 0, or
 * -EINVAL for an empty or repeated name, WARD_E_LIMIT for more than
 * WARD_QUERY_MAX_BY names or a name longer than WARD_LABELS_MAX_KEY; err
 * says which.
 */
int ward_query_by_parse(const char *list, struct ward_query_by *out, struct ward_buf *err);

struct ward_query_spec {
    int64_t from_ms; /* inclusive */
    int64_t to_ms;   /* inclusive */
    int64_t step_ms; /* 0: no buckets */
    enum ward_query_agg agg;
    struct ward_query_by by; /* n = 0: no grouping */
    size_t max_series;
    size_t max_points;
};

struct ward_query_point {
    int64_t ts_ms;
    double value; /* may be infinite when a sum overflows */
};

/* One entry of a result: a series, or a group of them with by. */
struct ward_query_series {
    const struct ward_series_info *series; /* without by; NULL with it */
    const char *group;   /* with by: JSON object of the group's values in by order; else NULL */
    size_t series_count; /* selected series in the entry */
    struct ward_query_point *points; /* oldest first */
    size_t n_points;
};

struct ward_query_result {
    int64_t from_ms, to_ms;
    int64_t step_ms;         /* 0 when there were no buckets (raw points, or agg over the range) */
    enum ward_query_agg agg; /* the aggregation applied, WARD_AGG_NONE for raw points */
    bool grouped;            /* by was given */
    struct ward_query_series *series; /* entries with at least one point, in selection order,
                                         or ordered by group with by */
    size_t n_series;
    size_t n_points; /* over all entries */

    /* Private. */
    struct ward_series_set selected;
    struct ward_buf groups;
};

void ward_query_result_init(struct ward_query_result *r);
void ward_query_result_done(struct ward_query_result *r);

/*
 * Runs a query: selects with sel, reads the range of spec from st in one
 * snapshot and aggregates it into out (freshly initialised). Returns 0;
 * -EINVAL for a bad spec, with err naming the parameter ("step: ...",
 * "by: ..."); WARD_E_LIMIT for the limits above; WARD_E_PARSE for stored
 * labels that cannot be read; WARD_E_STORE when the store fails; or
 * -ENOMEM. On failure out is left empty and err holds one line.
 */
int ward_query_run(struct ward_store *st, const struct ward_selector *sel,
                   const struct ward_query_spec *spec, struct ward_query_result *out,
                   struct ward_buf *err);

enum ward_liveness {
    WARD_LIVE_ONLINE,
    WARD_LIVE_STALE,
    WARD_LIVE_OFFLINE,
};

/*
 * How alive a host is at now_ms: online while its newest data is at most
 * stale_after_ms old (or from the future), stale until offline_after_ms,
 * offline after that or when it was never seen (last_seen_ms 0).
 */
enum ward_liveness ward_host_liveness(int64_t last_seen_ms, int64_t now_ms, int64_t stale_after_ms,
                                      int64_t offline_after_ms);

/* "online", "stale" or "offline". */
const char *ward_liveness_name(enum ward_liveness l);

#endif
