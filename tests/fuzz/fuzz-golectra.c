/*
 * Fuzz target for the golectra wire formats: what the golectra routes do
 * with a request, and what a restart does with a snapshot file.
 *
 * Every input goes through each reader. As the text route, it is split at
 * its first two '/' into type, id and value. As JSON, it is decoded as the
 * body of /update, /value and /updates, and, through a memory file, read as
 * a snapshot. Whatever is accepted must hold what the server relies on
 * (a valid id, a finite gauge) and must survive a round trip through the
 * encoder unchanged; whatever is refused must say why.
 */
#include "common/buf.h"
#include "server/golectra.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_metric(const struct ward_golectra_metric *m, bool need_number)
{
    if (!ward_golectra_id_valid(m->id, strlen(m->id)))
        abort();
    if (m->type != WARD_GOLECTRA_GAUGE && m->type != WARD_GOLECTRA_COUNTER)
        abort();
    if (need_number && !m->has_number)
        abort();
    if (m->type == WARD_GOLECTRA_GAUGE && m->has_number) {
        if (!isfinite(m->value))
            abort();
        char text[WARD_GOLECTRA_VALUE_MAX];
        size_t n = ward_golectra_format_value(m->value, text);
        if (n == 0 || n >= sizeof(text) || strtod(text, NULL) != m->value)
            abort();
    }
}

static bool same(const struct ward_golectra_metric *a, const struct ward_golectra_metric *b)
{
    if (strcmp(a->id, b->id) != 0 || a->type != b->type)
        return false;
    return a->type == WARD_GOLECTRA_GAUGE ? a->value == b->value : a->delta == b->delta;
}

/* Encodes the n metrics and decodes them again: the result must be the same. */
static void round_trip(const struct ward_golectra_metric *m, size_t n)
{
    struct ward_buf text = WARD_BUF_INIT, err = WARD_BUF_INIT;
    struct ward_golectra_list back = WARD_GOLECTRA_LIST_INIT;
    if (ward_golectra_encode_list(m, n, &text) < 0 ||
        ward_golectra_decode_updates(text.data, text.len, n ? n : 1, &back, &err) < 0 ||
        back.n != n)
        abort();
    for (size_t i = 0; i < n; i++)
        if (!same(&m[i], &back.items[i]))
            abort();
    ward_golectra_list_done(&back);
    ward_buf_done(&text);
    ward_buf_done(&err);
}

static void text_route(const char *s, size_t size)
{
    char *copy = malloc(size + 1);
    if (!copy)
        return;
    memcpy(copy, s, size);
    copy[size] = '\0';
    char *id = strchr(copy, '/');
    char *value = id ? strchr(id + 1, '/') : NULL;
    if (value) {
        *id++ = '\0';
        *value++ = '\0';
        struct ward_golectra_metric m;
        struct ward_buf err = WARD_BUF_INIT;
        if (ward_golectra_parse_update(copy, id, value, &m, &err) == 0) {
            check_metric(&m, true);
            round_trip(&m, 1);
        } else if (!err.len) {
            abort();
        }
        ward_buf_done(&err);
    }
    free(copy);
}

static void single(const char *s, size_t size, bool update)
{
    struct ward_golectra_metric m;
    struct ward_buf err = WARD_BUF_INIT;
    int r = update ? ward_golectra_decode_update(s, size, &m, &err)
                   : ward_golectra_decode_value(s, size, &m, &err);
    if (r == 0) {
        check_metric(&m, update);
        if (m.has_number)
            round_trip(&m, 1);
    } else if (!err.len) {
        abort();
    }
    ward_buf_done(&err);
}

static void check_list(const struct ward_golectra_list *l, size_t max)
{
    if (l->n > max)
        abort();
    for (size_t i = 0; i < l->n; i++)
        check_metric(&l->items[i], true);
    round_trip(l->items, l->n);
}

static void batch(const char *s, size_t size)
{
    struct ward_golectra_list l = WARD_GOLECTRA_LIST_INIT;
    struct ward_buf err = WARD_BUF_INIT;
    if (ward_golectra_decode_updates(s, size, 64, &l, &err) == 0) {
        check_list(&l, 64);
        struct ward_buf page = WARD_BUF_INIT;
        if (ward_golectra_render_tables(l.items, l.n, &page) < 0)
            abort();
        ward_buf_done(&page);
    } else if (!err.len) {
        abort();
    }
    ward_golectra_list_done(&l);
    ward_buf_done(&err);
}

/* Reads the input as a snapshot file, through a file in memory. */
static void snapshot(const char *s, size_t size)
{
    int fd = memfd_create("snapshot", MFD_CLOEXEC);
    if (fd < 0)
        return;
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(fd, s + off, size - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    struct ward_golectra_list l = WARD_GOLECTRA_LIST_INIT;
    struct ward_buf err = WARD_BUF_INIT;
    if (off == size && ward_golectra_snapshot_read(path, &l, &err) == 0)
        check_list(&l, WARD_GOLECTRA_MAX_SNAPSHOT_METRICS);
    else if (off == size && !err.len)
        abort();
    ward_golectra_list_done(&l);
    ward_buf_done(&err);
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    text_route(s, size);
    single(s, size, true);
    single(s, size, false);
    batch(s, size);
    snapshot(s, size);
    return 0;
}
