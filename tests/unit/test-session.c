/*
 * Dashboard sessions (server/session.c) and stream filters
 * (server/stream-filter.c): the small state the dashboard's access and
 * the live stream are built on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/error.h"
#include "common/json.h"
#include "server/session.h"
#include "server/stream-filter.h"
#include "server/stream.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const struct ward_session_owner owner = {.lookup = "abcdefghijkl", .credential_id = "id-1"};

static void session_round_trip(void **state)
{
    (void)state;
    struct ward_sessions *s;
    assert_int_equal(ward_sessions_new(60000, &s), 0);
    char id[WARD_CRED_MAX];
    int64_t expires;
    assert_int_equal(ward_sessions_open(s, &owner, 1000, id, &expires), 0);
    assert_int_equal(expires, 61000);
    assert_int_equal(strncmp(id, "ws_", 3), 0);
    assert_int_equal(strlen(id), 3 + WARD_CRED_LOOKUP_CHARS + 1 + WARD_CRED_SECRET_CHARS);

    struct ward_session_owner got;
    assert_int_equal(ward_sessions_find(s, id, 2000, &got), 0);
    assert_string_equal(got.lookup, owner.lookup);
    assert_string_equal(got.credential_id, owner.credential_id);
    /* Expired, forged secret, wrong kind, garbage. */
    assert_int_equal(ward_sessions_find(s, id, 61000, &got), WARD_E_NOT_FOUND);
    char forged[WARD_CRED_MAX];
    snprintf(forged, sizeof(forged), "%s", id);
    forged[strlen(forged) - 1] = forged[strlen(forged) - 1] == 'a' ? 'b' : 'a';
    assert_int_equal(ward_sessions_find(s, forged, 2000, &got), WARD_E_NOT_FOUND);
    char wrong_kind[WARD_CRED_MAX];
    snprintf(wrong_kind, sizeof(wrong_kind), "wt%s", id + 2);
    assert_int_equal(ward_sessions_find(s, wrong_kind, 2000, &got), WARD_E_NOT_FOUND);
    assert_int_equal(ward_sessions_find(s, "", 2000, &got), WARD_E_NOT_FOUND);
    assert_int_equal(ward_sessions_find(s, "ws_ with space", 2000, &got), WARD_E_NOT_FOUND);

    ward_sessions_close(s, id);
    assert_int_equal(ward_sessions_find(s, id, 2000, &got), WARD_E_NOT_FOUND);
    ward_sessions_free(s);
}

static void sessions_are_bounded(void **state)
{
    (void)state;
    struct ward_sessions *s;
    assert_int_equal(ward_sessions_new(0, &s), 0);
    char first[WARD_CRED_MAX], id[WARD_CRED_MAX];
    int64_t expires;
    assert_int_equal(ward_sessions_open(s, &owner, 0, first, &expires), 0);
    assert_int_equal(expires, WARD_SESSION_DEFAULT);
    /* One token's sessions push out only its own. */
    struct ward_session_owner other = {.lookup = "zzzzzzzzzzzz", .credential_id = "id-2"};
    for (int i = 1; i <= 2 * WARD_SESSIONS_PER_OWNER; i++)
        assert_int_equal(ward_sessions_open(s, &other, i, id, &expires), 0);
    struct ward_session_owner got;
    assert_int_equal(ward_sessions_find(s, first, 100, &got), 0);
    assert_int_equal(ward_sessions_find(s, id, 100, &got), 0);
    /* A full table makes room by ending the session that ends first. */
    char owners[WARD_SESSIONS_MAX][WARD_STORE_ID_LEN];
    for (int i = 0; i < WARD_SESSIONS_MAX; i++) {
        struct ward_session_owner o = owner;
        snprintf(owners[i], sizeof(owners[i]), "owner-%d", i);
        memcpy(o.credential_id, owners[i], sizeof(o.credential_id));
        assert_int_equal(ward_sessions_open(s, &o, 100 + i, id, &expires), 0);
    }
    assert_int_equal(ward_sessions_find(s, first, 200, &got), WARD_E_NOT_FOUND);
    assert_int_equal(ward_sessions_find(s, id, 200, &got), 0);
    ward_sessions_free(s);
}

static void filter_lists(void **state)
{
    (void)state;
    struct ward_stream_filter f = {0};
    struct ward_buf err = WARD_BUF_INIT;
    assert_true(ward_stream_filter_takes_all(&f));
    assert_true(ward_stream_filter_host(&f, "anything"));
    assert_int_equal(ward_stream_filter_add_list(&f, WARD_STREAM_METRIC_TYPE, "cpu,ram", &err), 0);
    assert_int_equal(ward_stream_filter_add_list(&f, WARD_STREAM_SERVER_ID,
                                                 "019C1234-5678-7ABC-8EF0-123456789ABC", &err),
                     0);
    assert_false(ward_stream_filter_takes_all(&f));
    assert_true(ward_stream_filter_host(&f, "019c1234-5678-7abc-8ef0-123456789abc"));
    assert_false(ward_stream_filter_host(&f, "019c1234-5678-7abc-8ef0-123456789abd"));
    assert_true(ward_stream_filter_sample(&f, "ram", "usage"));
    assert_false(ward_stream_filter_sample(&f, "disk", "usage"));
    assert_int_equal(ward_stream_filter_add(&f, WARD_STREAM_NAME, "usage", 5, &err), 0);
    assert_true(ward_stream_filter_sample(&f, "cpu", "usage"));
    assert_false(ward_stream_filter_sample(&f, "cpu", "idle"));

    struct ward_buf out = WARD_BUF_INIT;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &out);
    ward_json_write_object_begin(&w);
    ward_stream_filter_write(&f, &w);
    ward_json_write_object_end(&w);
    assert_int_equal(ward_json_writer_finish(&w), 0);
    assert_string_equal(out.data, "{\"server_id\":[\"019c1234-5678-7abc-8ef0-123456789abc\"],"
                                  "\"metric_type\":[\"cpu\",\"ram\"],\"name\":[\"usage\"]}");
    ward_buf_done(&out);
    ward_buf_done(&err);
    ward_stream_filter_done(&f);
}

static void filter_limits(void **state)
{
    (void)state;
    struct ward_stream_filter f = {0};
    struct ward_buf err = WARD_BUF_INIT;
    assert_int_equal(ward_stream_filter_add_list(&f, WARD_STREAM_NAME, "a,,b", &err), -EINVAL);
    assert_int_equal(ward_stream_filter_add(&f, WARD_STREAM_NAME, "a b", 3, &err), -EINVAL);
    assert_int_equal(ward_stream_filter_add(&f, WARD_STREAM_NAME, "a\nb", 3, &err), -EINVAL);
    assert_int_equal(ward_stream_filter_add(&f, WARD_STREAM_SERVER_ID, "nope", 4, &err), -EINVAL);
    /* A list that fails part way keeps what came before; callers then drop the whole filter. */
    ward_stream_filter_done(&f);
    char long_value[WARD_STREAM_MAX_VALUE + 1];
    memset(long_value, 'x', sizeof(long_value));
    assert_int_equal(
        ward_stream_filter_add(&f, WARD_STREAM_NAME, long_value, sizeof(long_value), &err),
        -EINVAL);
    assert_int_equal(
        ward_stream_filter_add(&f, WARD_STREAM_NAME, long_value, WARD_STREAM_MAX_VALUE, &err), 0);
    for (int i = 1; i < WARD_STREAM_MAX_VALUES; i++)
        assert_int_equal(ward_stream_filter_add(&f, WARD_STREAM_NAME, "n", 1, &err), 0);
    ward_buf_reset(&err);
    assert_int_equal(ward_stream_filter_add(&f, WARD_STREAM_NAME, "n", 1, &err), WARD_E_LIMIT);
    assert_non_null(strstr(err.data, "at most 16"));
    assert_int_equal(ward_stream_field_of("metric_name", 11), WARD_STREAM_NAME);
    assert_int_equal(ward_stream_field_of("name", 4), WARD_STREAM_NAME);
    assert_int_equal(ward_stream_field_of("labels", 6), -1);
    ward_buf_done(&err);
    ward_stream_filter_done(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(session_round_trip),
        cmocka_unit_test(sessions_are_bounded),
        cmocka_unit_test(filter_lists),
        cmocka_unit_test(filter_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
