/*
 * Tests of the reachability collector: the samples and labels of an open
 * and a closed loopback port, probes skipped until their interval has
 * come, counters kept across a reconfiguration, an empty set that emits
 * nothing, and configurations refused whole.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "loopback.h"

#include "agent/probe.h"
#include "collector-test.h"
#include "common/error.h"

extern const struct ward_collector ward_collector_reachability;
static const struct ward_collector *const c = &ward_collector_reachability;

#define T0 COLLECTOR_TEST_NOW_MS

static struct ward_probe_spec tcp_spec(int port)
{
    struct ward_probe_spec s;
    ward_probe_spec_init(&s);
    s.type = WARD_PROBE_TCP;
    snprintf(s.target, sizeof(s.target), "127.0.0.1:%d", port);
    s.timeout_ms = 1000;
    return s;
}

struct two_ports {
    int open_fd, closed_fd;
    char open_labels[128], closed_labels[128];
    struct ward_probe_spec specs[2];
};

/* An open port tagged role=db and a closed one, as two probes. */
static void two_ports_init(struct two_ports *tp)
{
    int open_port, closed_port;
    tp->open_fd = loopback_socket(AF_INET, true, &open_port);
    tp->closed_fd = loopback_socket(AF_INET, false, &closed_port);
    tp->specs[0] = tcp_spec(open_port);
    tp->specs[0].n_tags = 1;
    snprintf(tp->specs[0].tags[0].key, sizeof(tp->specs[0].tags[0].key), "role");
    snprintf(tp->specs[0].tags[0].value, sizeof(tp->specs[0].tags[0].value), "db");
    tp->specs[1] = tcp_spec(closed_port);
    snprintf(tp->open_labels, sizeof(tp->open_labels), "type=tcp,target=127.0.0.1:%d,role=db",
             open_port);
    snprintf(tp->closed_labels, sizeof(tp->closed_labels), "type=tcp,target=127.0.0.1:%d",
             closed_port);
}

static void two_ports_done(struct two_ports *tp)
{
    close(tp->open_fd);
    close(tp->closed_fd);
}

static void open_and_closed_port(void **unused)
{
    (void)unused;
    struct two_ports tp;
    two_ports_init(&tp);
    assert_int_equal(ward_reachability_configure(tp.specs, 2, NULL), 0);
    void *state = NULL;
    assert_int_equal(c->init(&state), 0);
    struct recorder r;
    rec_init(&r);
    assert_int_equal(collector_run_at(c, state, "", NULL, T0, &r), 0);

    assert_true(rec_value(&r, "reachability_up", tp.open_labels) == 1);
    assert_true(rec_value(&r, "reachability_latency_ms", tp.open_labels) >= 0);
    assert_true(rec_value(&r, "reachability_probes_total", tp.open_labels) == 1);
    assert_true(rec_value(&r, "reachability_failures_total", tp.open_labels) == 0);
    assert_true(rec_value(&r, "reachability_up", tp.closed_labels) == 0);
    assert_null(rec_find(&r, "reachability_latency_ms", tp.closed_labels));
    assert_true(rec_value(&r, "reachability_probes_total", tp.closed_labels) == 1);
    assert_true(rec_value(&r, "reachability_failures_total", tp.closed_labels) == 1);
    /* No loss without icmp, no status without http. */
    assert_int_equal(rec_count(&r, "reachability_loss_percent"), 0);
    assert_int_equal(rec_count(&r, "reachability_status_code"), 0);
    assert_int_equal(r.n, 7);
    for (size_t i = 0; i < r.n; i++) {
        const struct ward_metric *m = r.samples[i].metric;
        assert_string_equal(m->category, "reachability");
        bool counter = strstr(m->name, "_total") != NULL;
        assert_int_equal(m->kind, counter ? WARD_SAMPLE_COUNTER : WARD_SAMPLE_GAUGE);
    }

    /* Within the interval (30 s by default) nothing runs; a little early still counts. */
    assert_int_equal(collector_run_at(c, state, "", NULL, T0 + 1000, &r), 0);
    assert_int_equal(r.n, 0);
    assert_int_equal(collector_run_at(c, state, "", NULL, T0 + 29000, &r), 0);
    assert_int_equal(r.n, 0);
    assert_int_equal(collector_run_at(c, state, "", NULL, T0 + 29990, &r), 0);
    assert_int_equal(r.n, 7);
    assert_true(rec_value(&r, "reachability_probes_total", tp.open_labels) == 2);
    assert_true(rec_value(&r, "reachability_failures_total", tp.closed_labels) == 2);

    /* The same probes with another interval keep their counters and schedule. */
    tp.specs[0].interval_ms = 60000;
    tp.specs[1].interval_ms = 60000;
    assert_int_equal(ward_reachability_configure(tp.specs, 2, NULL), 0);
    assert_int_equal(collector_run_at(c, state, "", NULL, T0 + 31000, &r), 0);
    assert_int_equal(r.n, 0);
    assert_int_equal(collector_run_at(c, state, "", NULL, T0 + 60000, &r), 0);
    assert_true(rec_value(&r, "reachability_probes_total", tp.open_labels) == 3);
    assert_true(rec_value(&r, "reachability_failures_total", tp.closed_labels) == 3);

    /* A clock that goes back restarts the schedule instead of stopping it. */
    assert_int_equal(collector_run_at(c, state, "", NULL, T0 - 3600000, &r), 0);
    assert_int_equal(r.n, 7);

    /* A shorter interval takes effect at once. */
    tp.specs[0].interval_ms = 10000;
    tp.specs[1].interval_ms = 10000;
    assert_int_equal(ward_reachability_configure(tp.specs, 2, NULL), 0);
    assert_int_equal(collector_run_at(c, state, "", NULL, T0 - 3599000, &r), 0);
    assert_int_equal(r.n, 7);
    assert_int_equal(collector_run_at(c, state, "", NULL, T0 - 3595000, &r), 0);
    assert_int_equal(r.n, 0);
    assert_int_equal(collector_run_at(c, state, "", NULL, T0 - 3589000, &r), 0);
    assert_int_equal(r.n, 7);

    /* No probes: nothing, and the scheduler is told there is nothing here. */
    assert_int_equal(ward_reachability_configure(NULL, 0, NULL), 0);
    assert_int_equal(collector_run_at(c, state, "", NULL, T0 + 120000, &r), -ENOENT);
    assert_int_equal(r.n, 0);
    assert_int_equal(collector_run_at(c, state, "", NULL, T0 + 240000, &r), -ENOENT);
    assert_int_equal(r.n, 0);

    /* Configured again, a probe starts from zero. */
    assert_int_equal(ward_reachability_configure(tp.specs, 1, NULL), 0);
    assert_int_equal(collector_run_at(c, state, "", NULL, T0 + 241000, &r), 0);
    assert_true(rec_value(&r, "reachability_probes_total", tp.open_labels) == 1);
    assert_int_equal(r.n, 4);

    rec_done(&r);
    c->done(state);
    two_ports_done(&tp);
}

static void nothing_configured(void **unused)
{
    (void)unused;
    void *state = NULL;
    assert_int_equal(c->init(&state), 0);
    struct recorder r;
    rec_init(&r);
    assert_int_equal(collector_run(c, state, "", NULL, &r), -ENOENT);
    assert_int_equal(r.n, 0);
    rec_done(&r);
    c->done(state);
    c->done(NULL);
}

static void icmp_and_http_samples(void **unused)
{
    (void)unused;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMP);
    if (fd < 0)
        fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
    if (fd < 0) {
        print_message("skipped: no ICMP socket: %s\n", strerror(errno));
        skip();
    }
    close(fd);
    int port;
    int lfd = loopback_socket(AF_INET, true, &port); /* never answers: the http probe times out */
    struct ward_probe_spec specs[2];
    ward_probe_spec_init(&specs[0]);
    snprintf(specs[0].target, sizeof(specs[0].target), "127.0.0.1");
    specs[0].spacing_ms = 10;
    ward_probe_spec_init(&specs[1]);
    specs[1].type = WARD_PROBE_HTTP;
    snprintf(specs[1].target, sizeof(specs[1].target), "http://127.0.0.1:%d/", port);
    specs[1].timeout_ms = 100;
    assert_int_equal(ward_reachability_configure(specs, 2, NULL), 0);
    void *state = NULL;
    assert_int_equal(c->init(&state), 0);
    struct recorder r;
    rec_init(&r);
    assert_int_equal(collector_run(c, state, "", NULL, &r), 0);
    const char *icmp = "type=icmp,target=127.0.0.1";
    char http[128];
    snprintf(http, sizeof(http), "type=http,target=http://127.0.0.1:%d/", port);
    assert_true(rec_value(&r, "reachability_up", icmp) == 1);
    assert_true(rec_value(&r, "reachability_loss_percent", icmp) == 0);
    assert_true(rec_value(&r, "reachability_latency_ms", icmp) >= 0);
    assert_true(rec_value(&r, "reachability_up", http) == 0);
    assert_true(rec_value(&r, "reachability_status_code", http) == 0);
    assert_true(rec_value(&r, "reachability_failures_total", http) == 1);
    rec_done(&r);
    c->done(state);
    close(lfd);
}

static void refused_configurations(void **unused)
{
    (void)unused;
    static struct ward_probe_spec many[WARD_PROBE_MAX + 1];
    for (size_t i = 0; i < WARD_PROBE_MAX + 1; i++) {
        many[i] = tcp_spec(1000 + (int)i);
        many[i].interval_ms = 3600000;
    }
    struct ward_buf err;
    ward_buf_init(&err, 0);
    assert_int_equal(ward_reachability_configure(many, WARD_PROBE_MAX + 1, &err), WARD_E_LIMIT);
    assert_non_null(strstr(err.data, "65 probes configured; at most 64"));
    ward_buf_reset(&err);

    /* Two that would be one series. */
    struct ward_probe_spec two[2] = {tcp_spec(1000), tcp_spec(1000)};
    two[1].interval_ms = 60000;
    assert_int_equal(ward_reachability_configure(two, 2, &err), WARD_E_CONFIG);
    assert_non_null(strstr(err.data, "probe 1: same type, target and tags as probe 0"));
    ward_buf_reset(&err);
    /* The check alone says the same, and applies nothing. */
    assert_int_equal(ward_reachability_check(two, 2, &err), WARD_E_CONFIG);
    assert_non_null(strstr(err.data, "probe 1: same type, target and tags as probe 0"));
    assert_int_equal(ward_reachability_check(two, 1, NULL), 0);
    assert_int_equal(ward_reachability_check(many, WARD_PROBE_MAX + 1, NULL), WARD_E_LIMIT);
    ward_buf_reset(&err);
    /* Tags in another order are the same labels. */
    for (size_t i = 0; i < 2; i++) {
        two[i].n_tags = 2;
        snprintf(two[i].tags[i].key, sizeof(two[i].tags[i].key), "a");
        snprintf(two[i].tags[i].value, sizeof(two[i].tags[i].value), "1");
        snprintf(two[i].tags[1 - i].key, sizeof(two[i].tags[1 - i].key), "b");
        snprintf(two[i].tags[1 - i].value, sizeof(two[i].tags[1 - i].value), "2");
    }
    assert_int_equal(ward_reachability_configure(two, 2, &err), WARD_E_CONFIG);
    ward_buf_reset(&err);
    snprintf(two[1].tags[0].value, sizeof(two[1].tags[0].value), "3");
    assert_int_equal(ward_reachability_configure(two, 2, &err), 0);

    /* A bad spec, named by its index; the set in force stays. */
    two[1].timeout_ms = 0;
    assert_int_equal(ward_reachability_configure(two, 2, &err), WARD_E_CONFIG);
    assert_non_null(strstr(err.data, "probe 1: timeout: must be"));
    ward_buf_done(&err);

    /* Exactly the limit is fine. */
    assert_int_equal(ward_reachability_configure(many, WARD_PROBE_MAX, NULL), 0);
}

static void metric_shape(void **unused)
{
    (void)unused;
    assert_string_equal(c->name, "reachability");
    assert_int_equal(c->size, sizeof(struct ward_collector));
    assert_int_equal(c->default_interval_ms, 1000);
}

/* Empties the global probe set, so a failed test leaves nothing to the next. */
static int unconfigure(void **unused)
{
    (void)unused;
    return ward_reachability_configure(NULL, 0, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(open_and_closed_port, unconfigure),
        cmocka_unit_test_teardown(nothing_configured, unconfigure),
        cmocka_unit_test_teardown(icmp_and_http_samples, unconfigure),
        cmocka_unit_test_teardown(refused_configurations, unconfigure),
        cmocka_unit_test(metric_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
