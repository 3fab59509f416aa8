/*
 * The helpers collectors share.
 *
 * Collectors only see this file's helpers and their sink, never the
 * scheduler or the uploader: that keeps each one testable against a
 * recorded tree with a sink that just records what it got. The helpers
 * exist because every /proc and /sys reader needs the same few things: a
 * path under the host root, a small attribute file, a row of numbers, and
 * a counter that survives wraps and resets.
 */
#include "agent/collector.h"

#include "common/cleanup.h"
#include "common/json.h"
#include "common/parse.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ward_emit(const struct ward_collect_ctx *ctx, const struct ward_metric *m, double value,
              const struct ward_label *labels, size_t n)
{
    return ctx->sink->emit(ctx->sink, m, value, labels, n);
}

int ward_emit0(const struct ward_collect_ctx *ctx, const struct ward_metric *m, double value)
{
    return ctx->sink->emit(ctx->sink, m, value, NULL, 0);
}

int ward_emit1(const struct ward_collect_ctx *ctx, const struct ward_metric *m, double value,
               const char *key, const char *label)
{
    struct ward_label l = {key, label};
    return ctx->sink->emit(ctx->sink, m, value, &l, 1);
}

int ward_collect_path(const struct ward_collect_ctx *ctx, const char *path, char *out, size_t size)
{
    int n = snprintf(out, size, "%s%s", ctx->root ? ctx->root : "", path);
    if (n < 0 || (size_t)n >= size)
        return -ENAMETOOLONG;
    return 0;
}

bool ward_collect_live(const struct ward_collect_ctx *ctx)
{
    return !ctx->root || !ctx->root[0] || strcmp(ctx->root, "/") == 0;
}

FILE *ward_collect_open(const struct ward_collect_ctx *ctx, const char *path)
{
    char full[4096];
    int r = ward_collect_path(ctx, path, full, sizeof(full));
    if (r < 0) {
        errno = -r;
        return NULL;
    }
    return fopen(full, "re");
}

int ward_collect_read(const struct ward_collect_ctx *ctx, const char *path, char *out, size_t size)
{
    char full[4096];
    int r = ward_collect_path(ctx, path, full, sizeof(full));
    if (r < 0)
        return r;
    if (size == 0)
        return -EINVAL;
    _cleanup_close_ int fd = open(full, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    ssize_t n;
    do
        n = read(fd, out, size - 1);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' ' || out[n - 1] == '\t'))
        n--;
    out[n] = '\0';
    return (int)n;
}

int ward_collect_read_line(FILE *f, char *buf, size_t size)
{
    size_t len = 0;
    bool bad = false;
    int ch;
    while ((ch = getc_unlocked(f)) != EOF && ch != '\n') {
        if (ch == '\0' || len + 1 >= size)
            bad = true;
        else
            buf[len++] = (char)ch;
    }
    if (ch == EOF && len == 0 && !bad)
        return -1;
    buf[len] = '\0';
    return bad ? -2 : (int)len;
}

int ward_collect_read_int(const struct ward_collect_ctx *ctx, const char *path, int64_t *out)
{
    char text[64];
    int r = ward_collect_read(ctx, path, text, sizeof(text));
    if (r < 0)
        return r;
    return ward_parse_int64(text, out) < 0 ? -EINVAL : 0;
}

/* Deepest path ward_collect_resolve() follows. */
#define PATH_MAX_DEPTH 64

/*
 * Joins rel to the directory base (root-relative; an absolute rel starts
 * from the root) without ".", ".." or empty components; refuses to climb
 * above the root. Writes out only on success.
 */
static int join_path(const char *base, const char *rel, char *out, size_t size)
{
    char tmp[WARD_COLLECT_PATH_MAX];
    size_t marks[PATH_MAX_DEPTH];
    size_t len = 0, depth = 0;
    const char *parts[2] = {rel[0] == '/' ? "" : base, rel};
    for (size_t i = 0; i < 2; i++) {
        const char *p = parts[i];
        while (*p) {
            p += strspn(p, "/");
            size_t n = strcspn(p, "/");
            if (n == 0 || (n == 1 && p[0] == '.')) {
                /* nothing to add */
            } else if (n == 2 && p[0] == '.' && p[1] == '.') {
                if (depth == 0)
                    return -EINVAL;
                len = marks[--depth];
            } else {
                if (depth == PATH_MAX_DEPTH || len + 1 + n >= sizeof(tmp))
                    return -ENAMETOOLONG;
                marks[depth++] = len;
                tmp[len++] = '/';
                memcpy(tmp + len, p, n);
                len += n;
            }
            p += n;
        }
    }
    if (len == 0)
        tmp[len++] = '/';
    if (len >= size)
        return -ENAMETOOLONG;
    memcpy(out, tmp, len);
    out[len] = '\0';
    return 0;
}

int ward_collect_resolve(const struct ward_collect_ctx *ctx, const char *path, char *out,
                         size_t size)
{
    char full[4096], target[WARD_COLLECT_PATH_MAX];
    int r = ward_collect_path(ctx, path, full, sizeof(full));
    if (r < 0)
        return r;
    struct stat sb;
    if (lstat(full, &sb) < 0)
        return -errno;
    if (S_ISDIR(sb.st_mode)) {
        if (strlen(path) >= size)
            return -ENAMETOOLONG;
        memcpy(out, path, strlen(path) + 1);
        return 0;
    }
    if (S_ISLNK(sb.st_mode)) {
        ssize_t n = readlink(full, target, sizeof(target));
        if (n < 0)
            return -errno;
        if ((size_t)n >= sizeof(target))
            return -ENAMETOOLONG;
        target[n] = '\0';
    } else if (S_ISREG(sb.st_mode)) {
        r = ward_collect_read(ctx, path, target, sizeof(target));
        if (r < 0)
            return r;
        if (target[0] != '.' && target[0] != '/')
            return -ENOTDIR;
    } else {
        return -ENOTDIR;
    }
    char base[WARD_COLLECT_PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t blen = slash ? (size_t)(slash - path) : 0;
    if (blen >= sizeof(base))
        return -ENAMETOOLONG;
    memcpy(base, path, blen);
    base[blen] = '\0';
    return join_path(base, target, out, size);
}

/* Directory entries examined by one listing, so a huge directory stays cheap. */
#define LIST_MAX_ENTRIES 4096

static int cmp_unsigned(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return x < y ? -1 : x > y;
}

int ward_collect_list_numbered(const struct ward_collect_ctx *ctx, const char *dir,
                               const char *prefix, unsigned *out, size_t max)
{
    char full[4096];
    int r = ward_collect_path(ctx, dir, full, sizeof(full));
    if (r < 0)
        return r;
    DIR *d = opendir(full);
    if (!d)
        return -errno;
    size_t plen = strlen(prefix), n = 0, looked = 0;
    struct dirent *e;
    while (looked++ < LIST_MAX_ENTRIES && (e = readdir(d))) {
        if (strncmp(e->d_name, prefix, plen) != 0)
            continue;
        const char *num = e->d_name + plen;
        int64_t v;
        if (*num < '0' || *num > '9' || (*num == '0' && num[1]))
            continue; /* not a kernel name: "hwmon", "hwmon01" */
        if (ward_parse_int_range(num, 0, 999999, &v) < 0)
            continue;
        if (n < max) {
            out[n++] = (unsigned)v;
            continue;
        }
        /* Full: keep the lowest numbers. */
        size_t big = 0;
        for (size_t i = 1; i < n; i++)
            if (out[i] > out[big])
                big = i;
        if (n > 0 && (unsigned)v < out[big])
            out[big] = (unsigned)v;
    }
    closedir(d);
    qsort(out, n, sizeof(*out), cmp_unsigned);
    return (int)n;
}

size_t ward_parse_u64_fields(const char *s, uint64_t *out, size_t max)
{
    size_t n = 0;
    while (n < max) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s < '0' || *s > '9')
            break;
        uint64_t v = 0;
        while (*s >= '0' && *s <= '9') {
            unsigned d = (unsigned)(*s++ - '0');
            v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d; /* saturate */
        }
        out[n++] = v;
    }
    return n;
}

double ward_counter_update(struct ward_counter *c, uint64_t raw)
{
    if (!c->valid) {
        *c = (struct ward_counter){.last_raw = raw, .total = (double)raw, .valid = true};
        return c->total;
    }
    if (raw >= c->last_raw) {
        c->total += (double)(raw - c->last_raw);
    } else {
        /* A 32-bit counter that wrapped moves forward by less than half its range. */
        uint64_t wrapped = raw + (UINT64_C(1) << 32) - c->last_raw;
        if (c->last_raw <= UINT32_MAX && wrapped < (UINT64_C(1) << 31))
            c->total += (double)wrapped;
        else
            c->total += (double)raw; /* a reset: count from zero again */
    }
    c->last_raw = raw;
    return c->total;
}

bool ward_valid_ifname(const char *name, size_t len)
{
    if (len == 0 || len >= 16) /* IFNAMSIZ */
        return false;
    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (ch <= ' ' || ch >= 0x7f || ch == '/' || ch == ':' || ch == '|')
            return false;
    }
    return true;
}

void ward_label_copy(char *dst, size_t size, const char *src, size_t len)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t o = 0;
    if (size == 0)
        return;
    for (size_t i = 0; i < len;) {
        int k = ward_json_utf8_sequence(s + i, len - i);
        if (k < 0 || (k == 1 && (s[i] < 0x20 || s[i] == 0x7f))) {
            if (o + 1 >= size)
                break;
            dst[o++] = '?';
            i += k < 0 ? (size_t)-k : 1;
            continue;
        }
        if (o + (size_t)k >= size)
            break;
        memcpy(dst + o, s + i, (size_t)k);
        o += (size_t)k;
        i += (size_t)k;
    }
    dst[o] = '\0';
}

bool ward_match_any(const char *patterns, const char *name)
{
    if (!patterns)
        return false;
    const char *p = patterns;
    while (*p) {
        const char *end = strchrnul(p, ',');
        size_t len = (size_t)(end - p);
        char pat[128];
        if (len > 0 && len < sizeof(pat)) {
            memcpy(pat, p, len);
            pat[len] = '\0';
            if (fnmatch(pat, name, 0) == 0)
                return true;
        }
        p = *end ? end + 1 : end;
    }
    return false;
}
