/*
 * Series selection for queries (see query.h).
 *
 * The store can only filter by exact host, category and name, so those go
 * into its series listing, and everything else is decided here, one listed
 * series at a time: regular expressions on the fields, label matchers on
 * the series' canonical label object, and host matchers that need the
 * hostname. Hostnames are not part of a series, so host matchers other than
 * a plain UUID are first resolved against the host list into a sorted set
 * of host ids; when that set holds one host it becomes the store's filter.
 *
 * Regular expressions come from users, and the C library's compiler and
 * matcher are only as fast as the expression is small once its repetitions
 * are expanded (their time grows with the square of that size or faster),
 * and exponential on a few shapes of any size. Every expression is
 * therefore read once before it is compiled: it is measured, and
 * back-references, stacked repetitions and repetitions of parts that match
 * the empty string are refused (see regex_check()). The number of
 * expressions in one selection is bounded too. Anchoring wraps the expression as ^(...)$, which is
 * only done after the bare expression compiled and has no unmatched ')', so
 * that the wrapping cannot change what it means or turn an invalid
 * expression such as "a)(b" into a valid one.
 */
#include "server/query.h"

#include "common/error.h"
#include "common/json.h"
#include "common/uuid.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest count in a repetition such as {m,n}. */
#define MAX_REPEAT 255
/* Deepest nesting of groups in an expression. */
#define MAX_GROUP_DEPTH 32

static int fail(struct ward_buf *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct ward_buf *err, int code, const char *fmt, ...)
{
    if (err) {
        ward_buf_reset(err);
        va_list ap;
        va_start(ap, fmt);
        ward_buf_vprintf(err, fmt, ap);
        va_end(ap);
    }
    return code;
}

/*
 * Returns the index of the ']' that closes the bracket expression opening at
 * re[i], or len when it is not closed. A ']' right after "[" or "[^" is a
 * member, and so is one inside "[:alpha:]", "[.x.]" or "[=e=]".
 */
static size_t bracket_end(const char *re, size_t len, size_t i)
{
    size_t j = i + 1;
    if (j < len && re[j] == '^')
        j++;
    if (j < len && re[j] == ']')
        j++;
    while (j < len && re[j] != ']') {
        if (re[j] == '[' && j + 1 < len &&
            (re[j + 1] == ':' || re[j + 1] == '.' || re[j + 1] == '=')) {
            char d = re[j + 1];
            size_t k = j + 2;
            while (k + 1 < len && !(re[k] == d && re[k + 1] == ']'))
                k++;
            if (k + 1 >= len)
                return len;
            j = k + 2;
            continue;
        }
        j++;
    }
    return j;
}

/*
 * Parses the repetition "{m}", "{m,}", "{m,n}" or "{,n}" at re[i]. Returns
 * the index of its '}' and stores m and the largest count it allows (m + 1
 * for "{m,}"), or returns 0 when re[i] does not start a well-formed
 * repetition, which the C library then judges.
 */
static size_t repeat_end(const char *re, size_t len, size_t i, size_t *min, size_t *count)
{
    size_t j = i + 1, m = 0, n = 0;
    bool comma = false, has_n = false;
    if (j >= len || ((re[j] < '0' || re[j] > '9') && re[j] != ','))
        return 0;
    /* Counts saturate just above the bound, so long digit strings cannot overflow. */
    for (; j < len && re[j] >= '0' && re[j] <= '9'; j++)
        if (m <= MAX_REPEAT)
            m = m * 10 + (size_t)(re[j] - '0');
    if (j < len && re[j] == ',') {
        comma = true;
        for (j++; j < len && re[j] >= '0' && re[j] <= '9'; j++) {
            if (n <= MAX_REPEAT)
                n = n * 10 + (size_t)(re[j] - '0');
            has_n = true;
        }
    }
    if (j >= len || re[j] != '}')
        return 0;
    *min = m;
    *count = has_n ? n : comma ? m + 1 : m;
    if (m > MAX_REPEAT || n > MAX_REPEAT)
        *count = SIZE_MAX;
    return j;
}

/* What regex_check() knows about the group being read. */
struct re_frame {
    size_t total;       /* cost of the group so far */
    size_t last;        /* cost of its last element, which a repetition applies to */
    bool last_nullable; /* the last element can match the empty string */
    bool branch;        /* the current alternative, up to the last element, can match "" */
    bool branch_before; /* the same without the last element */
    bool alt;           /* an earlier alternative can match "" */
    bool after_repeat;  /* the last thing read was a repetition */
};

static void re_atom(struct re_frame *f, size_t cost, bool nullable)
{
    f->total += cost;
    f->last = cost;
    f->last_nullable = nullable;
    f->branch_before = f->branch;
    f->branch = f->branch && nullable;
    f->after_repeat = false;
}

/*
 * Applies a repetition of count copies (SIZE_MAX: too many) that may match
 * no copy (optional) to the last element of f. Returns 0 or an error.
 */
static int re_repeat(struct re_frame *f, size_t extra, size_t factor, bool optional,
                     struct ward_buf *err)
{
    if (f->after_repeat)
        return fail(err, -EINVAL,
                    "a repetition must not follow another one (as in a*? or a+*): POSIX leaves "
                    "them undefined");
    if (f->last > 0 && f->last_nullable)
        return fail(err, -EINVAL,
                    "a repeated or optional part must not match the empty string (as in (a*)* "
                    "or (a|)+)");
    f->total += f->last * (factor - 1) + extra;
    f->last = f->last * factor + extra;
    if (optional)
        f->branch = f->branch_before;
    f->after_repeat = true;
    return 0;
}

/*
 * Measures re as described in query.h (WARD_QUERY_MAX_REGEX_COST): every
 * atom counts 1, a group its contents plus 2, alternatives add up, and a
 * repetition multiplies what it repeats. The C library compiles "x+" as
 * "xx*", so '+' doubles. Its compiler is also exponential in a few shapes
 * whatever their size: stacked repetitions ("a??????") and repetitions of
 * parts that match the empty string ("(()*)*"), which POSIX leaves
 * undefined or which mean nothing more than a simpler expression, so those
 * are refused, as are back-references, which make matching exponential.
 * Returns 0, -EINVAL or WARD_E_LIMIT.
 */
static int regex_check(const char *re, struct ward_buf *err)
{
    size_t len = strlen(re);
    if (len > WARD_QUERY_MAX_REGEX_LEN)
        return fail(err, WARD_E_LIMIT, "regular expression longer than %d bytes",
                    WARD_QUERY_MAX_REGEX_LEN);
    struct re_frame frames[MAX_GROUP_DEPTH + 1];
    size_t depth = 0;
    frames[0] = (struct re_frame){.branch = true};
    for (size_t i = 0; i < len; i++) {
        struct re_frame *f = &frames[depth];
        size_t count;
        int r = 0;
        switch (re[i]) {
        case '\\':
            if (i + 1 < len && re[i + 1] >= '1' && re[i + 1] <= '9')
                return fail(err, -EINVAL, "back-references such as \\%c are not supported",
                            re[i + 1]);
            /* Word boundaries match the empty string; other escapes one character. */
            re_atom(f, 1, i + 1 < len && strchr("bB<>`'", re[i + 1]));
            if (i + 1 < len)
                i++;
            break;
        case '[':
            i = bracket_end(re, len, i);
            re_atom(f, 1, false);
            break;
        case '^':
        case '$':
            re_atom(f, 1, true);
            break;
        case '(':
            if (depth == MAX_GROUP_DEPTH)
                return fail(err, WARD_E_LIMIT, "groups nested deeper than %d", MAX_GROUP_DEPTH);
            frames[++depth] = (struct re_frame){.branch = true};
            break;
        case ')': {
            /* The C library takes a lone ')' as a literal, which anchoring would change. */
            if (depth == 0)
                return fail(err, -EINVAL, "unmatched ) in regular expression");
            bool nullable = f->alt || f->branch;
            size_t cost = f->total + 2;
            re_atom(&frames[--depth], cost, nullable);
            break;
        }
        case '|':
            f->alt = f->alt || f->branch;
            f->branch = f->branch_before = true;
            f->last = 0;
            f->after_repeat = false;
            break;
        case '*':
        case '?':
            r = re_repeat(f, 1, 1, true, err);
            break;
        case '+':
            r = re_repeat(f, 1, 2, false, err);
            break;
        case '{': {
            size_t min, end = repeat_end(re, len, i, &min, &count);
            if (end == 0) {
                re_atom(f, 1, false); /* a literal, or an error the C library reports */
                break;
            }
            if (count > MAX_REPEAT)
                return fail(err, WARD_E_LIMIT, "repetition counts above %d are not supported",
                            MAX_REPEAT);
            r = re_repeat(f, 0, count ? count : 1, min == 0, err);
            i = end;
            break;
        }
        default:
            re_atom(f, 1, false);
            break;
        }
        if (r < 0)
            return r;
        if (frames[depth].total > WARD_QUERY_MAX_REGEX_COST)
            return fail(err, WARD_E_LIMIT,
                        "regular expression too complex: its repetitions expand to more than "
                        "%d elements",
                        WARD_QUERY_MAX_REGEX_COST);
    }
    return 0;
}

/* Compiles re anchored at both ends into *out. Returns 0, -EINVAL, WARD_E_LIMIT or -ENOMEM. */
static int regex_compile(const char *re, regex_t *out, struct ward_buf *err)
{
    int r = regex_check(re, err);
    if (r < 0)
        return r;
    regex_t bare;
    int e = regcomp(&bare, re, REG_EXTENDED | REG_NOSUB);
    if (e != 0) {
        char msg[128];
        regerror(e, &bare, msg, sizeof(msg));
        return fail(err, e == REG_ESPACE ? -ENOMEM : -EINVAL, "invalid regular expression: %s",
                    msg);
    }
    regfree(&bare);

    struct ward_buf anchored = WARD_BUF_INIT;
    r = ward_buf_printf(&anchored, "^(%s)$", re);
    if (r < 0)
        return fail(err, r, "out of memory");
    e = regcomp(out, anchored.data, REG_EXTENDED | REG_NOSUB);
    ward_buf_done(&anchored);
    if (e != 0) {
        char msg[128];
        regerror(e, out, msg, sizeof(msg));
        return fail(err, e == REG_ESPACE ? -ENOMEM : -EINVAL, "invalid regular expression: %s",
                    msg);
    }
    return 0;
}

static void matcher_done(struct ward_matcher *m)
{
    free(m->key);
    free(m->value);
    if (m->regex)
        regfree(&m->re);
    *m = (struct ward_matcher){0};
}

void ward_selector_init(struct ward_selector *s)
{
    *s = (struct ward_selector){0};
}

void ward_selector_set_tenant(struct ward_selector *s, const char *tenant_id)
{
    snprintf(s->tenant, sizeof(s->tenant), "%s", tenant_id ? tenant_id : "");
}

void ward_selector_done(struct ward_selector *s)
{
    for (size_t i = 0; i < s->n; i++)
        matcher_done(&s->m[i]);
    ward_selector_init(s);
}

static const char *field_name(enum ward_select_field f)
{
    switch (f) {
    case WARD_SELECT_HOST:
        return "host";
    case WARD_SELECT_CATEGORY:
        return "category";
    case WARD_SELECT_NAME:
        return "name";
    case WARD_SELECT_LABEL:
        return "label";
    }
    return "?";
}

int ward_selector_add(struct ward_selector *s, enum ward_select_field field, const char *key,
                      bool regex, const char *value, struct ward_buf *err)
{
    if (!value || field > WARD_SELECT_LABEL || (field == WARD_SELECT_LABEL) != (key != NULL))
        return fail(err, -EINVAL, "invalid matcher");
    if (field == WARD_SELECT_LABEL) {
        if (!*key)
            return fail(err, -EINVAL, "empty label name");
        if (strlen(key) > WARD_LABELS_MAX_KEY)
            return fail(err, WARD_E_LIMIT, "label name longer than %d bytes", WARD_LABELS_MAX_KEY);
        if (s->n_labels == WARD_QUERY_MAX_MATCHERS)
            return fail(err, WARD_E_LIMIT, "more than %d label matchers", WARD_QUERY_MAX_MATCHERS);
    } else {
        for (size_t i = 0; i < s->n; i++)
            if (s->m[i].field == field && s->m[i].regex == regex)
                return fail(err, -EINVAL, "%s%s given twice", field_name(field),
                            regex ? " expression" : "");
    }
    if (regex && s->n_regexes == WARD_QUERY_MAX_REGEXES)
        return fail(err, WARD_E_LIMIT, "more than %d regular expressions", WARD_QUERY_MAX_REGEXES);
    if (!regex && strlen(value) > WARD_QUERY_MAX_VALUE)
        return fail(err, WARD_E_LIMIT, "value longer than %d bytes", WARD_QUERY_MAX_VALUE);

    struct ward_matcher m = {.field = field, .regex = regex};
    m.key = key ? strdup(key) : NULL;
    m.value = strdup(value);
    if ((key && !m.key) || !m.value) {
        free(m.key);
        free(m.value);
        return fail(err, -ENOMEM, "out of memory");
    }
    if (regex) {
        int r = regex_compile(value, &m.re, err);
        if (r < 0) {
            m.regex = false;
            matcher_done(&m);
            return r;
        }
        s->n_regexes++;
    }
    if (field == WARD_SELECT_LABEL)
        s->n_labels++;
    s->m[s->n++] = m;
    return 0;
}

/* Removes the matchers added after the first n, as if they never were. */
static void selector_truncate(struct ward_selector *s, size_t n)
{
    while (s->n > n) {
        struct ward_matcher *m = &s->m[--s->n];
        if (m->field == WARD_SELECT_LABEL)
            s->n_labels--;
        if (m->regex)
            s->n_regexes--;
        matcher_done(m);
    }
}

/* Returns the end of the expression that starts at p: see ward_selector_parse_labels(). */
static const char *regex_value_end(const char *p)
{
    size_t depth = 0, len = strlen(p);
    for (size_t i = 0; i < len; i++) {
        switch (p[i]) {
        case '\\':
            if (i + 1 < len)
                i++;
            break;
        case '[':
            i = bracket_end(p, len, i);
            if (i == len)
                return p + len;
            break;
        case '(':
        case '{':
            depth++;
            break;
        case ')':
        case '}':
            if (depth > 0)
                depth--;
            break;
        case ',':
            if (depth == 0)
                return p + i;
            break;
        default:
            break;
        }
    }
    return p + len;
}

static int parse_one_label(struct ward_selector *s, const char **pp, struct ward_buf *key,
                           struct ward_buf *value, struct ward_buf *err)
{
    const char *p = *pp;
    const char *eq = p;
    while (*eq && *eq != '=' && *eq != ',')
        eq++;
    if (*eq != '=')
        return fail(err, -EINVAL, "'%.*s': expected key=value or key=~regex",
                    (int)(eq - p > 64 ? 64 : eq - p), p);
    ward_buf_reset(key);
    ward_buf_reset(value);
    if (eq - p > WARD_LABELS_MAX_KEY)
        return fail(err, WARD_E_LIMIT, "label name longer than %d bytes", WARD_LABELS_MAX_KEY);
    int r = ward_buf_append(key, p, (size_t)(eq - p));
    p = eq + 1;
    bool regex = *p == '~';
    if (regex) {
        p++;
        const char *end = regex_value_end(p);
        if (r == 0)
            r = ward_buf_append(value, p, (size_t)(end - p));
        p = end;
    } else {
        while (r == 0 && *p && *p != ',') {
            if (p[0] == '\\' && (p[1] == ',' || p[1] == '\\'))
                p++;
            r = ward_buf_putc(value, *p++);
        }
    }
    if (r < 0)
        return fail(err, r, "out of memory");
    r = ward_selector_add(s, WARD_SELECT_LABEL, key->data ? key->data : "", regex,
                          value->data ? value->data : "", err);
    if (r < 0)
        return r;
    *pp = p;
    return 0;
}

int ward_selector_parse_labels(struct ward_selector *s, const char *list, struct ward_buf *err)
{
    size_t n0 = s->n;
    struct ward_buf key = WARD_BUF_INIT, value = WARD_BUF_INIT;
    const char *p = list;
    int r = 0;
    if (!p || !*p)
        r = fail(err, -EINVAL, "expected key=value or key=~regex");
    while (r == 0) {
        r = parse_one_label(s, &p, &key, &value, err);
        if (r < 0 || *p == '\0')
            break;
        p++; /* the comma */
        if (*p == '\0')
            r = fail(err, -EINVAL, "a comma must be followed by another matcher");
    }
    ward_buf_done(&key);
    ward_buf_done(&value);
    if (r < 0)
        selector_truncate(s, n0);
    return r;
}

/* ---- Reading canonical labels ---- */

int ward_query_labels_each(const char *labels, ward_label_fn fn, void *userdata)
{
    size_t len = strlen(labels);
    struct ward_json_limits lim = {.max_depth = 2};
    struct ward_json_reader rd;
    struct ward_json_token tok;
    struct ward_buf key = WARD_BUF_INIT;
    ward_json_reader_init(&rd, labels, len, &lim);
    int r = ward_json_expect(&rd, WARD_JSON_OBJECT_BEGIN, &tok);
    while (r == 0) {
        r = ward_json_next(&rd, &tok);
        if (r < 0 || tok.type == WARD_JSON_OBJECT_END)
            break;
        /* A key decoded into the reader's scratch buffer is overwritten by its value. */
        const char *k = tok.str;
        size_t klen = tok.len;
        if (k < labels || k >= labels + len) {
            ward_buf_reset(&key);
            r = ward_buf_append(&key, tok.str, tok.len);
            k = key.data ? key.data : "";
        }
        if (r == 0)
            r = ward_json_expect(&rd, WARD_JSON_STRING, &tok);
        if (r == 0)
            r = fn(k, klen, tok.str, tok.len, userdata);
    }
    if (r == 0 && (ward_json_next(&rd, &tok) < 0 || tok.type != WARD_JSON_END))
        r = WARD_E_PARSE;
    if (r < 0 && r >= WARD_E_JSON_SYNTAX && r <= WARD_E_JSON_TYPE)
        r = WARD_E_PARSE;
    ward_buf_done(&key);
    ward_json_reader_done(&rd);
    return r;
}

/* ---- Selection ---- */

struct select_ctx {
    const struct ward_selector *sel;
    size_t max_series;
    struct ward_series_set *out;
    size_t matched;
    bool use_host_set;     /* hosts holds the only hosts allowed */
    struct ward_buf hosts; /* sorted array of host ids, WARD_UUID_STR_LEN bytes each */
    size_t n_hosts;
    char host_ids[WARD_SELECTOR_MAX][WARD_UUID_STR_LEN]; /* exact UUID host matchers, lower case */
    bool label_ok[WARD_SELECTOR_MAX];
    struct ward_buf value; /* a label value, NUL-terminated for regexec() */
    int error;
    struct ward_buf *err;
};

/* True when the NUL-terminated s, or the len bytes at s, satisfy m. */
static bool matches(const struct ward_matcher *m, const char *s, size_t len)
{
    if (m->regex)
        return memchr(s, '\0', len) == NULL && regexec(&m->re, s, 0, NULL, 0) == 0;
    return strlen(m->value) == len && memcmp(m->value, s, len) == 0;
}

static bool matches_z(const struct ward_matcher *m, const char *s)
{
    return s && matches(m, s, strlen(s));
}

static int host_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static int collect_host(const struct ward_host_row *row, void *userdata)
{
    struct select_ctx *c = userdata;
    const struct ward_selector *sel = c->sel;
    if (!row->id || strlen(row->id) != WARD_UUID_STR_LEN - 1)
        return 0;
    if (sel->tenant[0] && (!row->tenant_id || strcmp(row->tenant_id, sel->tenant) != 0))
        return 0;
    for (size_t i = 0; i < sel->n; i++) {
        const struct ward_matcher *m = &sel->m[i];
        if (m->field != WARD_SELECT_HOST)
            continue;
        bool ok = matches_z(m, row->hostname);
        if (m->regex)
            ok = ok || matches_z(m, row->id);
        else
            ok = ok || (c->host_ids[i][0] && strcmp(c->host_ids[i], row->id) == 0);
        if (!ok)
            return 0;
    }
    int r = ward_buf_append(&c->hosts, row->id, WARD_UUID_STR_LEN);
    if (r < 0)
        return c->error = r;
    c->n_hosts++;
    return 0;
}

static int check_label(const char *key, size_t key_len, const char *value, size_t value_len,
                       void *userdata)
{
    struct select_ctx *c = userdata;
    const struct ward_selector *sel = c->sel;
    for (size_t i = 0; i < sel->n; i++) {
        const struct ward_matcher *m = &sel->m[i];
        if (m->field != WARD_SELECT_LABEL || strlen(m->key) != key_len ||
            memcmp(m->key, key, key_len) != 0)
            continue;
        ward_buf_reset(&c->value);
        int r = ward_buf_append(&c->value, value, value_len);
        if (r < 0)
            return c->error = r;
        c->label_ok[i] = matches(m, c->value.data ? c->value.data : "", value_len);
    }
    return 0;
}

static bool series_selected(struct select_ctx *c, const struct ward_series_row *row, int *error)
{
    const struct ward_selector *sel = c->sel;
    *error = 0;
    if (c->use_host_set &&
        !bsearch(row->host_id, c->hosts.data, c->n_hosts, WARD_UUID_STR_LEN, host_cmp))
        return false;
    for (size_t i = 0; i < sel->n; i++) {
        const struct ward_matcher *m = &sel->m[i];
        c->label_ok[i] = false;
        if (m->field == WARD_SELECT_HOST && !c->use_host_set &&
            strcmp(c->host_ids[i], row->host_id) != 0)
            return false;
        if (m->field == WARD_SELECT_CATEGORY && !matches_z(m, row->category))
            return false;
        if (m->field == WARD_SELECT_NAME && !matches_z(m, row->name))
            return false;
    }
    if (sel->n_labels == 0)
        return true;
    int r = ward_query_labels_each(row->labels, check_label, c);
    if (r < 0) {
        *error = c->error ? c->error : r;
        return false;
    }
    for (size_t i = 0; i < sel->n; i++)
        if (sel->m[i].field == WARD_SELECT_LABEL && !c->label_ok[i])
            return false;
    return true;
}

static int series_copy(const struct ward_series_row *row, struct ward_series_info *out)
{
    size_t lens[4] = {strlen(row->host_id), strlen(row->category), strlen(row->name),
                      strlen(row->labels)};
    char *mem = malloc(lens[0] + lens[1] + lens[2] + lens[3] + 4);
    if (!mem)
        return -ENOMEM;
    const char *src[4] = {row->host_id, row->category, row->name, row->labels};
    const char *dst[4];
    char *p = mem;
    for (size_t i = 0; i < 4; i++) {
        memcpy(p, src[i], lens[i] + 1);
        dst[i] = p;
        p += lens[i] + 1;
    }
    *out = (struct ward_series_info){
        .id = row->id,
        .kind = row->kind,
        .host_id = dst[0],
        .category = dst[1],
        .name = dst[2],
        .labels = dst[3],
        .mem = mem,
    };
    return 0;
}

static int take_series(const struct ward_series_row *row, void *userdata)
{
    struct select_ctx *c = userdata;
    if (!row->host_id || !row->category || !row->name || !row->labels)
        return c->error = fail(c->err, WARD_E_STORE, "store: series %lld without its strings",
                               (long long)row->id);
    int r;
    if (!series_selected(c, row, &r)) {
        if (r == WARD_E_PARSE)
            fail(c->err, r, "series %lld has malformed labels", (long long)row->id);
        return r < 0 ? (c->error = r) : 0;
    }
    c->matched++;
    if (c->matched > c->max_series)
        return 0;
    struct ward_series_set *set = c->out;
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 64;
        struct ward_series_info *v = reallocarray(set->v, cap, sizeof(*v));
        if (!v)
            return c->error = -ENOMEM;
        set->v = v;
        set->cap = cap;
    }
    r = series_copy(row, &set->v[set->n]);
    if (r < 0)
        return c->error = r;
    set->n++;
    return 0;
}

void ward_series_set_init(struct ward_series_set *set)
{
    *set = (struct ward_series_set){0};
}

void ward_series_set_done(struct ward_series_set *set)
{
    for (size_t i = 0; i < set->n; i++)
        free(set->v[i].mem);
    free(set->v);
    ward_series_set_init(set);
}

/* Fills the store's filter and c's host constraint; returns 1 when nothing can match. */
static int prepare(struct select_ctx *c, struct ward_store *st, struct ward_series_filter *f)
{
    const struct ward_selector *sel = c->sel;
    bool need_hosts = false;
    for (size_t i = 0; i < sel->n; i++) {
        const struct ward_matcher *m = &sel->m[i];
        if (m->field == WARD_SELECT_HOST && !m->regex &&
            ward_uuid_normalize(m->value, c->host_ids[i]) == 0) {
            if (!f->host_id)
                f->host_id = c->host_ids[i];
        } else if (m->field == WARD_SELECT_HOST) {
            need_hosts = true;
        } else if (m->field == WARD_SELECT_CATEGORY && !m->regex && !f->category) {
            f->category = m->value;
        } else if (m->field == WARD_SELECT_NAME && !m->regex && !f->name) {
            f->name = m->value;
        }
    }
    /* A tenant limit is a host constraint: only its hosts are candidates. */
    if (!need_hosts && !sel->tenant[0])
        return 0;
    int r = ward_store_host_list(st, collect_host, c);
    if (r < 0 && c->error)
        return fail(c->err, c->error, "out of memory");
    if (r < 0)
        return fail(c->err, WARD_E_STORE, "store: %s", ward_strerror(r));
    if (c->n_hosts == 0)
        return 1;
    qsort(c->hosts.data, c->n_hosts, WARD_UUID_STR_LEN, host_cmp);
    c->use_host_set = true;
    f->host_id = c->n_hosts == 1 ? c->hosts.data : NULL;
    return 0;
}

int ward_query_select(struct ward_store *st, const struct ward_selector *sel, size_t max_series,
                      struct ward_series_set *out, struct ward_buf *err)
{
    struct select_ctx c = {.sel = sel, .max_series = max_series, .out = out, .err = err};
    struct ward_series_filter f = {0};
    int r = prepare(&c, st, &f);
    if (r == 0)
        r = ward_store_series_list(st, &f, take_series, &c);
    if (r < 0 && c.error) {
        r = c.error;
        if (r == -ENOMEM)
            fail(err, r, "out of memory");
    } else if (r < 0) {
        r = fail(err, WARD_E_STORE, "store: %s", ward_strerror(r));
    } else if (c.matched > max_series) {
        r = fail(err, WARD_E_LIMIT,
                 "the selection matches %zu series, more than the limit of %zu: narrow it with "
                 "host, category, name or label",
                 c.matched, max_series);
    } else {
        r = 0;
    }
    ward_buf_done(&c.hosts);
    ward_buf_done(&c.value);
    if (r < 0)
        ward_series_set_done(out);
    return r;
}
