/*
 * What the pieces of bench-commands share, and its setup: the settings of
 * a run and its agents (an id and an API key each), the small helpers the
 * setup and the loop both use, and the registration of every agent with
 * the enrollment token, from a few threads on blocking keep-alive
 * connections, before anything is measured.
 */
#ifndef WARD_BENCH_COMMANDS_SETUP_H
#define WARD_BENCH_COMMANDS_SETUP_H

#include "common/uuid.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define MAX_REG_THREADS 64
#define KEY_MAX         64

struct ward_buf;
struct ward_http_response;

struct options {
    const char *address, *admin_token, *enroll_token;
    struct sockaddr_storage addr;
    int agents, rate, admins, resulters, reg_threads, wait_s, server_pid, seed;
    int64_t duration_ms, drain_ms;
};

struct agent {
    char id[WARD_UUID_STR_LEN];
    char key[KEY_MAX];
};

/* Copies the string at top-level key of the JSON object in the len bytes at body into out. */
int ward_cmdbench_json_string_field(const char *body, size_t len, const char *key, char *out,
                                    size_t size);

/* The body of an answer read into in, as text for a message, at most size - 1 bytes. */
void ward_cmdbench_body_excerpt(const struct ward_buf *in, const struct ward_http_response *resp,
                                char *out, size_t size);

/* Whether the server is on IPv4 loopback, where a connection may take any 127.0.0.0/8 source. */
bool ward_cmdbench_loopback_server(const struct sockaddr_storage *sa);

/* Registers every agent from o->reg_threads threads. Returns 0 or -1 after printing why. */
int ward_cmdbench_register_agents(const struct options *o, struct agent *agents);

#endif
