/*
 * Tests of central agent configuration documents: the canonical form, every
 * refusal naming its field, the bounds, and how an agent's document is laid
 * over its section's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/error.h"
#include "common/json.h"
#include "server/agent-config.h"

static struct ward_acfg *parse_ok(const char *json)
{
    struct ward_acfg *c = calloc(1, sizeof(*c));
    struct ward_buf err = WARD_BUF_INIT;
    int r = ward_acfg_parse(json, strlen(json), c, &err);
    if (r != 0)
        fail_msg("parse failed: %s", err.data ? err.data : "?");
    ward_buf_done(&err);
    return c;
}

/* Parses json, expecting error code; returns the message (to free). */
static char *parse_fails(const char *json, int code)
{
    struct ward_acfg *c = calloc(1, sizeof(*c));
    struct ward_buf err = WARD_BUF_INIT;
    assert_int_equal(ward_acfg_parse(json, strlen(json), c, &err), code);
    free(c);
    assert_non_null(err.data);
    return err.data;
}

static char *write_doc(const struct ward_acfg *c)
{
    struct ward_buf out = WARD_BUF_INIT;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &out);
    ward_json_write_object_begin(&w);
    ward_acfg_write(c, &w);
    ward_json_write_object_end(&w);
    assert_int_equal(ward_json_writer_finish(&w), 0);
    return out.data;
}

static void test_round_trip(void **state)
{
    (void)state;
    const char *doc = "{\"collectors\":{\"cpu\":{\"enabled\":true,\"interval\":\"5s\"},"
                      "\"processes\":{\"enabled\":false}},\"labels\":{\"env\":\"prod\"},"
                      "\"probes\":[{\"type\":\"tcp\",\"target\":\"127.0.0.1:22\",\"interval\":"
                      "\"30s\",\"timeout\":\"2s\",\"tags\":{\"role\":\"db\"}},{\"type\":"
                      "\"icmp\",\"target\":\"gw\",\"spacing\":\"200ms\",\"count\":3}]}";
    struct ward_acfg *c = parse_ok(doc);
    assert_int_equal(c->n_collectors, 2);
    assert_int_equal(c->collectors[1].enabled, 0);
    char *out = write_doc(c);
    assert_string_equal(out, doc);
    free(out);
    free(c);
}

static void test_empty_and_defaults(void **state)
{
    (void)state;
    struct ward_acfg *c = parse_ok("{}");
    char *out = write_doc(c);
    assert_string_equal(out, "{\"collectors\":{},\"labels\":{},\"probes\":[]}");
    free(out);
    free(c);
}

static void test_refusals_name_the_field(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int code;
        const char *says;
    } cases[] = {
        {"[]", WARD_E_JSON_TYPE, "configuration: expected"},
        {"{\"bogus\":1}", WARD_E_JSON_TYPE, "bogus: unknown field"},
        {"{\"collectors\":{\"CPU\":{}}}", WARD_E_JSON_TYPE, "collectors.CPU"},
        {"{\"collectors\":{\"cpu\":{\"interval\":\"soon\"}}}", WARD_E_JSON_TYPE,
         "collectors.cpu.interval"},
        {"{\"collectors\":{\"cpu\":{\"enabled\":1}}}", WARD_E_JSON_TYPE, "collectors.cpu.enabled"},
        {"{\"collectors\":{\"cpu\":{},\"cpu\":{}}}", WARD_E_JSON_TYPE, "given twice"},
        {"{\"labels\":{\"a\":1}}", WARD_E_JSON_TYPE, "labels"},
        {"{\"labels\":{\"a\":\"x\",\"a\":\"y\"}}", WARD_E_JSON_TYPE, "given twice"},
        {"{\"probes\":[{\"type\":\"udp\",\"target\":\"x\"}]}", WARD_E_JSON_TYPE, "probes[0].type"},
        {"{\"probes\":[{\"type\":\"tcp\"}]}", WARD_E_JSON_TYPE, "type and target are required"},
        {"{\"probes\":[{\"type\":\"icmp\",\"target\":\"x\",\"count\":0}]}", WARD_E_JSON_TYPE,
         "probes[0].count"},
        {"{\"probes\":[{\"type\":\"tcp\",\"target\":\"x\",\"count\":2}]}", WARD_E_JSON_TYPE,
         "icmp probes only"},
        {"{\"probes\":[1]}", WARD_E_JSON_TYPE, "probes[0]: expected an object"},
        {"{\"probes\":[{\"type\":\"tcp\",\"target\":\"x\",\"tags\":{\"a\":\"1\",\"b\":\"2\","
         "\"c\":\"3\",\"d\":\"4\",\"e\":\"5\"}}]}",
         WARD_E_LIMIT, "more than 4 tags"},
        {"{\"labels\":{\"k\":\"\"}}", WARD_E_JSON_TYPE, "must not be empty"},
        {"{} {}", WARD_E_JSON_SYNTAX, "configuration"},
        {"{\"labels\":{\"dc-name\":\"x\"}}", WARD_E_JSON_TYPE, "not a label name"},
        {"{\"labels\":{\"__x\":\"x\"}}", WARD_E_JSON_TYPE, "not a label name"},
        {"{\"collectors\":{\"cpu\":{\"interval\":\"200ms\"}}}", WARD_E_JSON_TYPE,
         "must be 1s to 24h"},
        {"{\"collectors\":{\"cpu\":{\"interval\":\"7d\"}}}", WARD_E_JSON_TYPE, "must be 1s to 24h"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *msg = parse_fails(cases[i].json, cases[i].code);
        if (!strstr(msg, cases[i].says))
            fail_msg("case %zu: '%s' does not say '%s'", i, msg, cases[i].says);
        free(msg);
    }
}

static void test_bounds(void **state)
{
    (void)state;
    /* 65 probes: one too many. */
    struct ward_buf doc = WARD_BUF_INIT;
    ward_buf_printf(&doc, "{\"probes\":[");
    for (int i = 0; i < 65; i++)
        ward_buf_printf(&doc, "%s{\"type\":\"icmp\",\"target\":\"h%d\"}", i ? "," : "", i);
    ward_buf_printf(&doc, "]}");
    char *msg = parse_fails(doc.data, WARD_E_LIMIT);
    assert_non_null(strstr(msg, "more than 64 probes"));
    free(msg);
    ward_buf_done(&doc);

    /* 11 labels. */
    ward_buf_printf(&doc, "{\"labels\":{");
    for (int i = 0; i < 11; i++)
        ward_buf_printf(&doc, "%s\"k%d\":\"v\"", i ? "," : "", i);
    ward_buf_printf(&doc, "}}");
    msg = parse_fails(doc.data, WARD_E_LIMIT);
    free(msg);
    ward_buf_done(&doc);

    /* A document larger than the limit is refused before it is read. */
    size_t big = WARD_ACFG_MAX_BYTES + 1;
    char *huge = malloc(big + 1);
    memset(huge, ' ', big);
    huge[0] = '{';
    huge[big - 1] = '}';
    huge[big] = '\0';
    msg = parse_fails(huge, WARD_E_LIMIT);
    free(msg);
    free(huge);
}

static void test_merge_lays_agent_over_section(void **state)
{
    (void)state;
    struct ward_acfg *section =
        parse_ok("{\"collectors\":{\"cpu\":{\"enabled\":true,\"interval\":\"10s\"},"
                 "\"disk\":{\"interval\":\"1m\"}},\"labels\":{\"env\":\"prod\",\"dc\":\"a\"},"
                 "\"probes\":[{\"type\":\"icmp\",\"target\":\"gw\"}]}");
    struct ward_acfg *agent = parse_ok(
        "{\"collectors\":{\"cpu\":{\"interval\":\"1s\"},\"wifi\":{\"enabled\":false}},"
        "\"labels\":{\"dc\":\"b\"},\"probes\":[{\"type\":\"tcp\",\"target\":\"db:5432\"}]}");
    assert_int_equal(ward_acfg_merge(section, agent), 0);
    char *out = write_doc(section);
    assert_string_equal(out, "{\"collectors\":{\"cpu\":{\"enabled\":true,\"interval\":\"1s\"},"
                             "\"disk\":{\"interval\":\"1m\"},\"wifi\":{\"enabled\":false}},"
                             "\"labels\":{\"env\":\"prod\",\"dc\":\"b\"},"
                             "\"probes\":[{\"type\":\"icmp\",\"target\":\"gw\"},"
                             "{\"type\":\"tcp\",\"target\":\"db:5432\"}]}");
    free(out);
    free(section);
    free(agent);
}

static void test_merge_drops_probes_beyond_the_limit(void **state)
{
    (void)state;
    struct ward_acfg *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    a->n_probes = WARD_ACFG_MAX_PROBES - 1;
    b->n_probes = 3;
    assert_int_equal(ward_acfg_merge(a, b), 2);
    assert_int_equal(a->n_probes, WARD_ACFG_MAX_PROBES);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_empty_and_defaults),
        cmocka_unit_test(test_refusals_name_the_field),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_merge_lays_agent_over_section),
        cmocka_unit_test(test_merge_drops_probes_beyond_the_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
