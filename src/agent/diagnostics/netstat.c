/*
 * The netstat diagnostic: the TCP and UDP sockets of /proc/net, with the
 * process that owns each.
 *
 * Sockets. ROOT/proc/net/{tcp,tcp6,udp,udp6} hold one line per socket
 * (proc_net_tcp(5)); a missing file (no IPv6) is skipped. Addresses are
 * the kernel's in-memory words printed as hex, so each 32-bit word is
 * read back as a native integer and stored as it was in memory: network
 * byte order again, on any host. For UDP, which has no connection
 * states, state 07 (TCP_CLOSE, an unconnected socket) counts as
 * "listen" and 01 (connected) as "established". The rows that pass the
 * filters are kept up to MAX_ROWS; the rest are counted.
 *
 * Owners. The kernel does not say which process holds a socket: each
 * ROOT/proc/PID/fd/N that is one reads as "socket:[INODE]". So every
 * process's descriptors are read, as ss -p and lsof do, within bounds
 * (MAX_PROCS processes, MAX_FDS descriptors in all, the run's deadline),
 * and an inode found among the kept rows gets that pid and its comm. A
 * process that cannot be read (another user's, when not root; gone
 * meanwhile) leaves its sockets with "-". When a socket is shared (a
 * forked server), the first process found is shown.
 *
 * Program names come from processes and may hold any byte, so bytes
 * outside printable ASCII, and backslashes, are written as \xNN: each row
 * stays one line.
 */
#include "agent/diagnostics/diagnostics.h"

#include "common/time-util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Rows shown at most; more are counted. */
#define MAX_ROWS 10000
/* Processes and descriptors looked at when finding owners. */
#define MAX_PROCS 4096
#define MAX_FDS   65536
/* Lines between two looks at the clock. */
#define CLOCK_EVERY 256
/* A program name as /proc/PID/comm has it (15 bytes), with room to spare. */
#define COMM_MAX 64

struct row {
    const char *proto;
    char local[64], remote[64];
    unsigned state;
    unsigned long long inode;
    int pid; /* 0: unknown */
    char comm[COMM_MAX];
};

struct table {
    struct row *rows;
    size_t n, cap;
    size_t cut; /* rows that passed the filters beyond MAX_ROWS */
    bool late;  /* the deadline came before everything was read */
    int64_t deadline_ms;
};

static const char *const tcp_states[] = {
    [1] = "ESTABLISHED", [2] = "SYN_SENT",  [3] = "SYN_RECV", [4] = "FIN_WAIT1",
    [5] = "FIN_WAIT2",   [6] = "TIME_WAIT", [7] = "CLOSE",    [8] = "CLOSE_WAIT",
    [9] = "LAST_ACK",    [10] = "LISTEN",   [11] = "CLOSING", [12] = "NEW_SYN_RECV",
};

static const char *state_name(const struct row *r)
{
    if (r->proto[0] == 'u')
        return r->state == 7 ? "UNCONN" : r->state == 1 ? "ESTABLISHED" : "?";
    if (r->state < sizeof(tcp_states) / sizeof(tcp_states[0]) && tcp_states[r->state])
        return tcp_states[r->state];
    return "?";
}

static bool wanted_state(bool udp, unsigned st, const char *filter)
{
    if (strcmp(filter, "listen") == 0)
        return st == (udp ? 7u : 10u);
    if (strcmp(filter, "established") == 0)
        return st == 1;
    return true;
}

/* Parses n hex digits at s into *v. */
static bool parse_hex(const char *s, size_t n, uint32_t *v)
{
    uint32_t x = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else
            return false;
        x = x << 4 | d;
    }
    *v = x;
    return true;
}

/* Formats the kernel's "HEX:PORT" (8 or 32 hex digits) as "ADDR:PORT" or "[V6]:PORT". */
static bool format_endpoint(const char *s, char *out, size_t size)
{
    const char *colon = strchr(s, ':');
    uint32_t port, w[4];
    size_t hex = colon ? (size_t)(colon - s) : 0;
    if ((hex != 8 && hex != 32) || strlen(colon + 1) != 4 || !parse_hex(colon + 1, 4, &port))
        return false;
    for (size_t i = 0; i < hex / 8; i++)
        if (!parse_hex(s + 8 * i, 8, &w[i]))
            return false;
    char addr[INET6_ADDRSTRLEN], portbuf[12] = "*";
    unsigned char bytes[16];
    memcpy(bytes, w, hex / 2); /* the words as the kernel held them: network order */
    if (!inet_ntop(hex == 8 ? AF_INET : AF_INET6, bytes, addr, sizeof(addr)))
        return false;
    if (port)
        snprintf(portbuf, sizeof(portbuf), "%u", (unsigned)port);
    snprintf(out, size, hex == 8 ? "%s:%s" : "[%s]:%s", addr, portbuf);
    return true;
}

static int add_row(struct table *t, const struct row *r)
{
    if (t->n == MAX_ROWS) {
        t->cut++;
        return 0;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct row *rows = realloc(t->rows, cap * sizeof(*rows));
        if (!rows)
            return -ENOMEM;
        t->rows = rows;
        t->cap = cap;
    }
    t->rows[t->n++] = *r;
    return 0;
}

/*
 * Reads ROOT/proc/net/NAME, a table of proto sockets, into t. A missing
 * file is not an error. Returns 0 or -ENOMEM.
 */
static int read_table(struct table *t, const char *root, const char *name, const char *proto,
                      const char *state_filter)
{
    char path[4096], line[512];
    snprintf(path, sizeof(path), "%s/proc/net/%s", root, name);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    bool udp = proto[0] == 'u';
    size_t lines = 0;
    int r = 0;
    while (r == 0 && fgets(line, sizeof(line), f)) {
        size_t len = strlen(line);
        if (len > 0 && line[len - 1] != '\n' && !feof(f)) {
            int c; /* skip the rest of an overlong line, which no socket has */
            while ((c = getc(f)) != EOF && c != '\n')
                ;
            continue;
        }
        if (++lines % CLOCK_EVERY == 0 && ward_mono_ms() >= t->deadline_ms) {
            t->late = true;
            break;
        }
        char local[48], remote[48];
        unsigned st;
        unsigned long long inode;
        /* "sl: local remote st tx:rx tr:when retrnsmt uid timeout inode ..." */
        if (sscanf(line, " %*u: %47s %47s %x %*x:%*x %*x:%*x %*x %*u %*u %llu", local, remote, &st,
                   &inode) != 4)
            continue; /* the header, or a line of another shape */
        if (!wanted_state(udp, st, state_filter))
            continue;
        struct row row = {.proto = proto, .state = st, .inode = inode};
        if (!format_endpoint(local, row.local, sizeof(row.local)) ||
            !format_endpoint(remote, row.remote, sizeof(row.remote)))
            continue;
        r = add_row(t, &row);
    }
    fclose(f);
    return r;
}

static int by_inode(const void *a, const void *b)
{
    const struct row *x = *(struct row *const *)a, *y = *(struct row *const *)b;
    return x->inode < y->inode ? -1 : x->inode > y->inode;
}

/* Reads ROOT/proc/PID/comm into out, escaped; "" when it cannot be read. */
static void read_comm(const char *root, const char *pid, char *out, size_t size)
{
    char path[4096], raw[COMM_MAX];
    snprintf(path, sizeof(path), "%s/proc/%s/comm", root, pid);
    out[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, raw, sizeof(raw) - 1);
    close(fd);
    if (n <= 0)
        return;
    raw[n] = '\0';
    raw[strcspn(raw, "\n")] = '\0';
    /* A kernel name has 15 bytes, 60 escaped, and fits; a longer one is left out. */
    struct ward_buf esc = WARD_BUF_INIT;
    ward_diag_escape(&esc, raw, strlen(raw));
    if (esc.data && esc.len < size)
        memcpy(out, esc.data, esc.len + 1);
    ward_buf_done(&esc);
}

static bool is_pid(const char *s)
{
    if (!*s || strlen(s) > 10)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

enum scan {
    SCAN_ON,
    SCAN_FDS,  /* MAX_FDS descriptors were looked at */
    SCAN_LATE, /* the deadline came */
};

/*
 * Looks in the descriptors of one process for the sockets of index (n
 * rows sorted by inode) and gives them pid; *fds counts descriptors.
 */
static enum scan scan_process(const char *root, const char *pid, struct row **index, size_t n,
                              size_t *fds, int64_t deadline_ms)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/proc/%s/fd", root, pid);
    DIR *d = opendir(path);
    if (!d)
        return SCAN_ON;
    int dfd = dirfd(d);
    bool comm_read = false;
    char comm[COMM_MAX] = "";
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        enum scan stop = ++*fds > MAX_FDS                                           ? SCAN_FDS
                         : *fds % CLOCK_EVERY == 0 && ward_mono_ms() >= deadline_ms ? SCAN_LATE
                                                                                    : SCAN_ON;
        if (stop != SCAN_ON) {
            closedir(d);
            return stop;
        }
        char link[64];
        ssize_t len = readlinkat(dfd, de->d_name, link, sizeof(link) - 1);
        if (len <= 0)
            continue;
        link[len] = '\0';
        unsigned long long inode;
        char close_bracket;
        if (sscanf(link, "socket:[%llu%c", &inode, &close_bracket) != 2 || close_bracket != ']')
            continue;
        struct row key = {.inode = inode}, *kp = &key;
        struct row **hit = bsearch(&kp, index, n, sizeof(*index), by_inode);
        if (!hit)
            continue;
        /* Every row of that inode (none share one, but be exact). */
        while (hit > index && hit[-1]->inode == inode)
            hit--;
        for (; hit < index + n && (*hit)->inode == inode; hit++) {
            if ((*hit)->pid)
                continue;
            if (!comm_read) {
                read_comm(root, pid, comm, sizeof(comm));
                comm_read = true;
            }
            (*hit)->pid = (int)strtol(pid, NULL, 10);
            snprintf((*hit)->comm, sizeof((*hit)->comm), "%s", comm);
        }
    }
    closedir(d);
    return SCAN_ON;
}

/* Finds the owners of t's rows. Returns a note on a bound that was reached, or NULL. */
static const char *find_owners(struct table *t, const char *root)
{
    struct row **index = malloc((t->n ? t->n : 1) * sizeof(*index));
    if (!index)
        return "not enough memory to look for the owning processes";
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->rows[i].inode != 0) /* TIME_WAIT and the like belong to nobody */
            index[n++] = &t->rows[i];
    qsort(index, n, sizeof(*index), by_inode);

    char path[4096];
    snprintf(path, sizeof(path), "%s/proc", root);
    DIR *d = n ? opendir(path) : NULL;
    const char *note = NULL;
    size_t procs = 0, fds = 0;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (!is_pid(de->d_name))
            continue;
        if (++procs > MAX_PROCS) {
            note = "owners looked for in the first 4096 processes only";
            break;
        }
        enum scan s = ward_mono_ms() >= t->deadline_ms
                          ? SCAN_LATE
                          : scan_process(root, de->d_name, index, n, &fds, t->deadline_ms);
        if (s != SCAN_ON) {
            note = s == SCAN_LATE ? "owners not all found: the deadline came"
                                  : "owners looked for in the first 65536 descriptors only";
            break;
        }
    }
    if (d)
        closedir(d);
    free(index);
    return note;
}

int ward_diag_netstat(const struct ward_diag_args *args, const struct ward_diag_ctx *ctx,
                      struct ward_diag_out *out)
{
    static const struct {
        const char *file, *proto;
    } files[] = {{"tcp", "tcp"}, {"tcp6", "tcp6"}, {"udp", "udp"}, {"udp6", "udp6"}};
    const char *proto = ward_diag_get(args, "proto");
    const char *state = ward_diag_get(args, "state");
    const char *root = ctx->root ? ctx->root : "";
    struct table t = {.deadline_ms = ctx->deadline_ms};
    int r = 0;

    for (size_t i = 0; r == 0 && !t.late && i < sizeof(files) / sizeof(files[0]); i++)
        if (strcmp(proto, "all") == 0 || strncmp(files[i].proto, proto, 3) == 0)
            r = read_table(&t, root, files[i].file, files[i].proto, state);
    if (r < 0) {
        free(t.rows);
        ward_diag_out_printf(out, "cannot read the socket tables: out of memory\n");
        return r;
    }
    const char *note = t.late ? NULL : find_owners(&t, root);

    int wl = 5, wr = 6; /* "Local", "Remote" */
    for (size_t i = 0; i < t.n; i++) {
        int l = (int)strlen(t.rows[i].local), m = (int)strlen(t.rows[i].remote);
        wl = l > wl ? l : wl;
        wr = m > wr ? m : wr;
    }
    ward_diag_out_printf(out, "%-5s %-*s %-*s %-12s %s\n", "Proto", wl, "Local", wr, "Remote",
                         "State", "PID/Program");
    for (size_t i = 0; i < t.n && !ward_diag_out_full(out); i++) {
        const struct row *row = &t.rows[i];
        char owner[COMM_MAX + 16] = "-";
        if (row->pid)
            snprintf(owner, sizeof(owner), "%d/%s", row->pid, row->comm);
        ward_diag_out_printf(out, "%-5s %-*s %-*s %-12s %s\n", row->proto, wl, row->local, wr,
                             row->remote, state_name(row), owner);
    }
    ward_diag_out_printf(out, "%zu sockets", t.n);
    if (t.cut)
        ward_diag_out_printf(out, "; %zu more not shown (at most %d rows)", t.cut, MAX_ROWS);
    ward_diag_out_printf(out, "\n");
    if (t.late)
        ward_diag_out_printf(out, "partial: the deadline came while reading the socket tables\n");
    if (note)
        ward_diag_out_printf(out, "partial: %s\n", note);
    free(t.rows);
    return 0;
}
