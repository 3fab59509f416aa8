/*
 * Tests of series selection: exact and regular-expression matchers on
 * hosts (by id and by hostname), categories, names and labels, the label
 * list syntax, the bounds on expressions, and the selection limit, against
 * the fake store of test-query-fake.c.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/error.h"
#include "server/query.h"
#include "test-query-fake.h"

/* ---- Selection ---- */

/* Selects with sel and checks that exactly the series ids in want (0-terminated) came out. */
static void expect_selected(struct ward_selector *sel, const int64_t *want)
{
    struct ward_series_set set;
    struct ward_buf err = WARD_BUF_INIT;
    ward_series_set_init(&set);
    int r = ward_query_select(&fake.base, sel, 100, &set, &err);
    if (r < 0)
        fail_msg("select: %d %s", r, err.data ? err.data : "");
    size_t n = 0;
    while (want[n])
        n++;
    char got[256] = "";
    for (size_t i = 0; i < set.n; i++)
        snprintf(got + strlen(got), sizeof(got) - strlen(got), " %lld", (long long)set.v[i].id);
    if (set.n != n)
        fail_msg("selected%s, want %zu series", got, n);
    for (size_t i = 0; i < n; i++)
        if (set.v[i].id != want[i])
            fail_msg("selected%s, series %zu should be %lld", got, i, (long long)want[i]);
    ward_series_set_done(&set);
    ward_buf_done(&err);
}

static void select_exact_fields(void **unused)
{
    (void)unused;
    STORE((struct fake_point[]){{0}});
    struct ward_selector sel;
    ward_selector_init(&sel);
    expect_selected(&sel, (int64_t[]){1, 2, 3, 4, 5, 6, 7, 8, 0});

    sel_add(&sel, WARD_SELECT_CATEGORY, false, "cpu");
    expect_selected(&sel, (int64_t[]){1, 2, 5, 7, 0});
    assert_string_equal(fake.filter_category, "cpu");
    assert_int_equal(fake.host_lists, 0);

    /* A UUID in any case is the store's host filter, without a host lookup. */
    sel_add(&sel, WARD_SELECT_HOST, false, "0190C1D2-0000-7000-8000-000000000001");
    expect_selected(&sel, (int64_t[]){1, 2, 0});
    assert_string_equal(fake.filter_host, H1);
    assert_int_equal(fake.host_lists, 0);

    sel_add(&sel, WARD_SELECT_NAME, false, "nope");
    expect_selected(&sel, (int64_t[]){0});
    ward_selector_done(&sel);
}

static void select_host_by_name_and_regex(void **unused)
{
    (void)unused;
    STORE((struct fake_point[]){{0}});
    struct ward_selector sel;
    ward_selector_init(&sel);
    sel_add(&sel, WARD_SELECT_HOST, false, "web-2");
    expect_selected(&sel, (int64_t[]){5, 6, 0});
    assert_string_equal(fake.filter_host, H2); /* one host: the store filters */
    assert_int_equal(fake.host_lists, 1);
    ward_selector_done(&sel);

    ward_selector_init(&sel);
    sel_add(&sel, WARD_SELECT_HOST, true, "web-.*");
    expect_selected(&sel, (int64_t[]){1, 2, 3, 4, 5, 6, 0});
    assert_string_equal(fake.filter_host, ""); /* two hosts: filtered here */
    ward_selector_done(&sel);

    /* An expression matches the id as well as the hostname; anchored, "web" is not "web-1". */
    ward_selector_init(&sel);
    sel_add(&sel, WARD_SELECT_HOST, true, "0190c1d2-.*-000000000003");
    expect_selected(&sel, (int64_t[]){7, 8, 0});
    ward_selector_done(&sel);
    ward_selector_init(&sel);
    sel_add(&sel, WARD_SELECT_HOST, true, "web");
    fake.series_lists = 0;
    expect_selected(&sel, (int64_t[]){0});
    assert_int_equal(fake.series_lists, 0); /* no host matched: nothing to list */
    ward_selector_done(&sel);

    /* Exact and expression together: both must hold. */
    ward_selector_init(&sel);
    sel_add(&sel, WARD_SELECT_HOST, false, "web-1");
    sel_add(&sel, WARD_SELECT_HOST, true, "web-[0-9]");
    sel_add(&sel, WARD_SELECT_NAME, true, "rx_.*");
    expect_selected(&sel, (int64_t[]){4, 0});
    ward_selector_done(&sel);

    ward_selector_init(&sel);
    sel_add(&sel, WARD_SELECT_HOST, false, "unknown-host");
    expect_selected(&sel, (int64_t[]){0});
    ward_selector_done(&sel);
}

static void select_regex_fields(void **unused)
{
    (void)unused;
    STORE((struct fake_point[]){{0}});
    struct ward_selector sel;
    ward_selector_init(&sel);
    sel_add(&sel, WARD_SELECT_NAME, true, "rx_.*");
    expect_selected(&sel, (int64_t[]){4, 8, 0});
    assert_string_equal(fake.filter_name, "");
    ward_selector_done(&sel);

    ward_selector_init(&sel);
    sel_add(&sel, WARD_SELECT_NAME, true, "rx");
    expect_selected(&sel, (int64_t[]){0});
    ward_selector_done(&sel);

    ward_selector_init(&sel);
    sel_add(&sel, WARD_SELECT_CATEGORY, true, "cpu|disk");
    sel_add(&sel, WARD_SELECT_NAME, true, "us.*");
    expect_selected(&sel, (int64_t[]){1, 2, 3, 5, 6, 7, 0});
    ward_selector_done(&sel);
}

static void select_labels(void **unused)
{
    (void)unused;
    STORE((struct fake_point[]){{0}});
    struct ward_selector sel;
    ward_selector_init(&sel);
    sel_labels(&sel, "core=0");
    expect_selected(&sel, (int64_t[]){1, 5, 0}); /* 7 has no core label */
    ward_selector_done(&sel);

    ward_selector_init(&sel);
    sel_labels(&sel, "core=~[01]");
    expect_selected(&sel, (int64_t[]){1, 2, 5, 0});
    ward_selector_done(&sel);

    /* A matcher needs the label: even one that matches "" does not select series without it. */
    ward_selector_init(&sel);
    sel_labels(&sel, "mount=~.*");
    expect_selected(&sel, (int64_t[]){3, 6, 0});
    ward_selector_done(&sel);
    ward_selector_init(&sel);
    sel_labels(&sel, "core=");
    expect_selected(&sel, (int64_t[]){0});
    ward_selector_done(&sel);

    /* Several matchers, on one key too, must all hold. */
    ward_selector_init(&sel);
    sel_labels(&sel, "core=~.*,core=1");
    expect_selected(&sel, (int64_t[]){2, 0});
    ward_selector_done(&sel);
    ward_selector_init(&sel);
    sel_labels(&sel, "mount=~/.+,iface=eth0");
    expect_selected(&sel, (int64_t[]){0});
    ward_selector_done(&sel);
}

static void label_list_syntax(void **unused)
{
    (void)unused;
    static const struct ward_series_row odd[] = {
        {1, H1, "fs", "free", "{\"path\":\"a,b\"}", WARD_KIND_GAUGE},
        {2, H1, "fs", "free", "{\"path\":\"a\\\\b\"}", WARD_KIND_GAUGE},
        {3, H1, "fs", "free", "{\"path\":\"aab\",\"x\":\"\\\"q\\\"\"}", WARD_KIND_GAUGE},
    };
    STORE((struct fake_point[]){{0}});
    fake.series = odd;
    fake.n_series = 3;
    struct ward_selector sel;
    ward_selector_init(&sel);
    sel_labels(&sel, "path=a\\,b");
    expect_selected(&sel, (int64_t[]){1, 0});
    ward_selector_done(&sel);

    ward_selector_init(&sel);
    sel_labels(&sel, "path=a\\\\b");
    expect_selected(&sel, (int64_t[]){2, 0});
    ward_selector_done(&sel);

    /* A comma inside braces or brackets belongs to the expression. */
    ward_selector_init(&sel);
    sel_labels(&sel, "path=~a{1,2}b,x=~[\",]q[\",]");
    assert_int_equal(sel.n, 2);
    expect_selected(&sel, (int64_t[]){3, 0});
    ward_selector_done(&sel);

    ward_selector_init(&sel);
    sel_labels(&sel, "path=~a[,]b");
    expect_selected(&sel, (int64_t[]){1, 0});
    ward_selector_done(&sel);
}

/* Checks that parsing list fails with code and a message containing want, adding nothing. */
static void label_refused(const char *list, int code, const char *want)
{
    struct ward_selector sel;
    struct ward_buf err = WARD_BUF_INIT;
    ward_selector_init(&sel);
    sel_labels(&sel, "keep=1");
    int r = ward_selector_parse_labels(&sel, list, &err);
    if (r != code || !err.data || !strstr(err.data, want))
        fail_msg("labels '%s': got %d '%s', want %d '%s'", list, r, err.data ? err.data : "", code,
                 want);
    assert_int_equal(sel.n, 1);
    assert_int_equal(sel.n_labels, 1);
    assert_int_equal(sel.n_regexes, 0);
    ward_selector_done(&sel);
    ward_buf_done(&err);
}

static void label_list_errors(void **unused)
{
    (void)unused;
    label_refused("", -EINVAL, "expected key=value");
    label_refused("core", -EINVAL, "'core': expected key=value");
    label_refused("a=1,b", -EINVAL, "'b': expected");
    label_refused("=x", -EINVAL, "empty label name");
    label_refused("a=1,", -EINVAL, "comma");
    label_refused("a=1,b=~(", -EINVAL, "invalid regular expression");
    label_refused("a=~x,b=~(x)\\1", -EINVAL, "back-references");
    char many[256] = "";
    for (int i = 0; i < WARD_QUERY_MAX_MATCHERS; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "k%d=v,", i);
    many[strlen(many) - 1] = '\0';
    label_refused(many, WARD_E_LIMIT, "more than 16 label matchers");
    char key[WARD_LABELS_MAX_KEY + 8];
    memset(key, 'k', sizeof(key) - 3);
    memcpy(key + sizeof(key) - 3, "=v", 3);
    label_refused(key, WARD_E_LIMIT, "label name longer");
}

static void regex_refused(const char *re, int code, const char *want)
{
    struct ward_selector sel;
    struct ward_buf err = WARD_BUF_INIT;
    ward_selector_init(&sel);
    int r = ward_selector_add(&sel, WARD_SELECT_NAME, NULL, true, re, &err);
    if (r != code || !err.data || !strstr(err.data, want))
        fail_msg("regex '%s': got %d '%s', want %d '%s'", re, r, err.data ? err.data : "", code,
                 want);
    assert_int_equal(sel.n, 0);
    ward_selector_done(&sel);
    ward_buf_done(&err);
}

static void regex_bounds(void **unused)
{
    (void)unused;
    regex_refused("(", -EINVAL, "invalid regular expression");
    regex_refused("a)(b", -EINVAL, "unmatched )"); /* not rescued by anchoring */
    regex_refused("*a", -EINVAL, "invalid regular expression");
    regex_refused("x{2,1}", -EINVAL, "invalid regular expression");
    regex_refused("(a)\\1", -EINVAL, "back-references");
    regex_refused("a{256}", WARD_E_LIMIT, "repetition counts above 255");
    regex_refused("a{1,99999999999999999999}", WARD_E_LIMIT, "repetition counts");
    regex_refused("(a{16}){17}", WARD_E_LIMIT, "too complex");
    regex_refused("((a|b|c|d){10}){8}", WARD_E_LIMIT, "too complex");
    /* The C library compiles x+ as xx*, so each + doubles. */
    regex_refused("((((((b+)+)+)+)+)+)+", WARD_E_LIMIT, "too complex");
    regex_refused("(a{2,100}){2,100}", WARD_E_LIMIT, "too complex");
    /* Shapes on which the C library's compiler is exponential, whatever their size. */
    regex_refused("b++", -EINVAL, "must not follow another");
    regex_refused("a??????????????????????????????", -EINVAL, "must not follow another");
    regex_refused(".*?", -EINVAL, "must not follow another");
    regex_refused("a{,9}{,9}", -EINVAL, "must not follow another");
    regex_refused("(()*)*", -EINVAL, "must not match the empty string");
    regex_refused("(a*)*", -EINVAL, "must not match the empty string");
    regex_refused("(a|)+", -EINVAL, "must not match the empty string");
    regex_refused("(x(a?b*)){3}(\\<)?", -EINVAL, "must not match the empty string");
    regex_refused("((^))*", -EINVAL, "must not match the empty string");
    char deep[40];
    memset(deep, '(', 33);
    deep[33] = '\0';
    regex_refused(deep, WARD_E_LIMIT, "nested deeper than 32");
    regex_refused("(){0,127}", -EINVAL, "must not match the empty string");
    regex_refused("){0,255}", -EINVAL, "unmatched )"); /* a literal to the C library */
    char long_re[WARD_QUERY_MAX_REGEX_LEN + 2];
    memset(long_re, 'a', sizeof(long_re) - 1);
    long_re[sizeof(long_re) - 1] = '\0';
    regex_refused(long_re, WARD_E_LIMIT, "longer than 512 bytes");

    /* These are fine: classes, a ']' as the first member, moderate repetition. */
    struct ward_selector sel;
    struct ward_buf err = WARD_BUF_INIT;
    ward_selector_init(&sel);
    const char *fine[] = {"[]a]+",      "[[:alpha:]_]+", "([0-9]{1,3}\\.){3}[0-9]{1,3}",
                          ".{0,100}",   "a|b|",          "",
                          "(foo|bar)+", "(-[0-9]*)?",    "a{0}",
                          "x*y*",       "^(a|b)$"};
    for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
        struct ward_selector one;
        ward_selector_init(&one);
        if (ward_selector_add(&one, WARD_SELECT_NAME, NULL, true, fine[i], &err) < 0)
            fail_msg("'%s' refused: %s", fine[i], err.data);
        ward_selector_done(&one);
    }
    /* The number of expressions is bounded. */
    for (int i = 0; i < WARD_QUERY_MAX_REGEXES; i++) {
        char key[8];
        snprintf(key, sizeof(key), "k%d", i);
        assert_int_equal(ward_selector_add(&sel, WARD_SELECT_LABEL, key, true, "x", &err), 0);
    }
    assert_int_equal(ward_selector_add(&sel, WARD_SELECT_NAME, NULL, true, "x", &err),
                     WARD_E_LIMIT);
    assert_non_null(strstr(err.data, "more than 8 regular expressions"));
    /* A field takes one exact value and one expression. */
    assert_int_equal(ward_selector_add(&sel, WARD_SELECT_NAME, NULL, false, "x", &err), 0);
    assert_int_equal(ward_selector_add(&sel, WARD_SELECT_NAME, NULL, false, "y", &err), -EINVAL);
    assert_non_null(strstr(err.data, "name given twice"));
    assert_int_equal(ward_selector_add(&sel, WARD_SELECT_HOST, "k", false, "y", &err), -EINVAL);
    ward_selector_done(&sel);
    ward_buf_done(&err);
}

static void select_limit_and_failures(void **unused)
{
    (void)unused;
    STORE((struct fake_point[]){{0}});
    struct ward_selector sel;
    struct ward_series_set set;
    struct ward_buf err = WARD_BUF_INIT;
    ward_selector_init(&sel);
    ward_series_set_init(&set);
    sel_add(&sel, WARD_SELECT_CATEGORY, false, "cpu");
    assert_int_equal(ward_query_select(&fake.base, &sel, 3, &set, &err), WARD_E_LIMIT);
    assert_non_null(strstr(err.data, "matches 4 series, more than the limit of 3"));
    assert_non_null(strstr(err.data, "narrow"));
    assert_int_equal(set.n, 0);
    assert_int_equal(ward_query_select(&fake.base, &sel, 4, &set, &err), 0);
    assert_int_equal(set.n, 4);
    ward_series_set_done(&set);

    fake.fail_series = -EIO;
    assert_int_equal(ward_query_select(&fake.base, &sel, 4, &set, &err), WARD_E_STORE);
    assert_non_null(strstr(err.data, "store:"));
    fake.fail_series = 0;

    fake.fail_hosts = -EIO;
    sel_add(&sel, WARD_SELECT_HOST, false, "web-1");
    assert_int_equal(ward_query_select(&fake.base, &sel, 4, &set, &err), WARD_E_STORE);
    fake.fail_hosts = 0;
    ward_selector_done(&sel);

    static const struct ward_series_row bad[] = {{1, H1, "a", "b", "[1]", WARD_KIND_GAUGE}};
    fake.series = bad;
    fake.n_series = 1;
    ward_selector_init(&sel);
    sel_labels(&sel, "a=b");
    assert_int_equal(ward_query_select(&fake.base, &sel, 4, &set, &err), WARD_E_PARSE);
    assert_non_null(strstr(err.data, "malformed labels"));
    ward_selector_done(&sel);
    ward_buf_done(&err);
}

static int collect_pair(const char *key, size_t key_len, const char *value, size_t value_len,
                        void *userdata)
{
    struct ward_buf *b = userdata;
    ward_buf_append(b, key, key_len);
    ward_buf_putc(b, '=');
    ward_buf_append(b, value, value_len);
    return ward_buf_putc(b, ';');
}

static void labels_each(void **unused)
{
    (void)unused;
    struct ward_buf b = WARD_BUF_INIT;
    assert_int_equal(ward_query_labels_each("{\"a\\\"b\":\"x\",\"c\":\"\\u0041\",\"d\\n\":\"\"}",
                                            collect_pair, &b),
                     0);
    assert_string_equal(b.data, "a\"b=x;c=A;d\n=;");
    ward_buf_reset(&b);
    assert_int_equal(ward_query_labels_each("{}", collect_pair, &b), 0);
    assert_int_equal(b.len, 0);
    const char *bad[] = {"", "[]", "{\"a\":1}", "{\"a\":{}}", "{\"a\":\"b\"} x", "{\"a\""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(ward_query_labels_each(bad[i], collect_pair, &b), WARD_E_PARSE);
    ward_buf_done(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(select_exact_fields), cmocka_unit_test(select_host_by_name_and_regex),
        cmocka_unit_test(select_regex_fields), cmocka_unit_test(select_labels),
        cmocka_unit_test(label_list_syntax),   cmocka_unit_test(label_list_errors),
        cmocka_unit_test(regex_bounds),        cmocka_unit_test(select_limit_and_failures),
        cmocka_unit_test(labels_each),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
