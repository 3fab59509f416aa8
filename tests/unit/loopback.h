/*
 * Loopback TCP for the tests of code that talks to a server or a target:
 * a socket on a free 127.0.0.1 (or ::1) port, a send that writes it all,
 * and a server thread that hands each connection to the test's function.
 * Failures of the plumbing fail the test.
 */
#ifndef WARD_TEST_LOOPBACK_H
#define WARD_TEST_LOOPBACK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

/* A TCP socket bound to a free loopback port of family, listening when listen_too. */
int loopback_socket(int family, bool listen_too, int *port);

/* Sends the n bytes at p, until the peer goes away. */
void loopback_send_all(int fd, const void *p, size_t n);

/* Serves one connection fd; the server closes it afterwards. */
typedef void (*loopback_serve_fn)(void *ctx, int fd);

struct loopback_server {
    int fd;
    int port;
    pthread_t thread;
    atomic_bool stop;
    loopback_serve_fn serve;
    void *ctx;
};

/* Listens on a free IPv4 loopback port and serves connections one at a time on a thread. */
void loopback_server_start(struct loopback_server *ls, loopback_serve_fn serve, void *ctx);

/* Stops the thread (within about 50 ms) and closes the socket. */
void loopback_server_stop(struct loopback_server *ls);

#endif
