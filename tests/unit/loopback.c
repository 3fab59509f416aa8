/*
 * Loopback TCP for the tests; see loopback.h.
 */
#include "loopback.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

int loopback_socket(int family, bool listen_too, int *port)
{
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_storage ss = {0};
    socklen_t len;
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        len = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(*a);
    }
    assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), 0);
    if (listen_too)
        assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
    *port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                     : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

void loopback_send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        c += w;
        n -= (size_t)w;
    }
}

static void *server_main(void *arg)
{
    struct loopback_server *ls = arg;
    while (!ls->stop) {
        struct pollfd p = {.fd = ls->fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(ls->fd, NULL, NULL);
        if (fd < 0)
            continue;
        ls->serve(ls->ctx, fd);
        close(fd);
    }
    return NULL;
}

void loopback_server_start(struct loopback_server *ls, loopback_serve_fn serve, void *ctx)
{
    ls->serve = serve;
    ls->ctx = ctx;
    ls->stop = false;
    ls->fd = loopback_socket(AF_INET, true, &ls->port);
    assert_int_equal(pthread_create(&ls->thread, NULL, server_main, ls), 0);
}

void loopback_server_stop(struct loopback_server *ls)
{
    ls->stop = true;
    pthread_join(ls->thread, NULL);
    close(ls->fd);
}
