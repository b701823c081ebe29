/* Shared between main.c (options, threads, output) and worker.c (event loop). */
#ifndef DITTO_LOAD_H
#define DITTO_LOAD_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "hist.h"
#include "keys.h"
#include "proto.h"

typedef struct config {
    const char *host;
    int port;
    const char *protocol;
    const proto_t *proto;
    int is_http;
    double rate; /* total requests/s; 0 = closed loop */
    int poisson;
    int connections, threads;
    double duration, warmup; /* seconds */
    int depth;
    uint64_t keys;
    int key_size;
    int zipf;
    double zipf_s;
    double get_ratio;
    vsizes_t vs;
    int preload;
    int64_t timeout_ns;
    int max_outstanding;
    uint64_t seed;
    int histogram;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char addr_text[300]; /* "host:port" for messages */
    keygen_t kg;
    wl_t wl;
} config_t;

/* Per-thread counters; everything counts the measured window only. */
typedef struct stats {
    uint64_t requests;  /* measured requests sent */
    uint64_t responses; /* ... answered */
    uint64_t errors;    /* ... answered with a protocol-level error */
    uint64_t timeouts;  /* ... unanswered within --timeout-ms */
    uint64_t dropped;   /* ... lost because the connection failed or the run was stopped */
    uint64_t unsent;    /* measured arrivals not sent by the end of the window (open loop) */
    uint64_t protocol_errors;
    uint64_t reconnects;    /* connections reopened after a failure */
    uint64_t server_closes; /* http: orderly closes by the server (Connection: close, keep-alive limit) */
    uint64_t hits, misses, gets, sets;
    uint64_t bytes_sent, bytes_received;
    double lag_sum; /* actual - intended send, ns (open loop) */
    uint64_t lag_n;
    int64_t lag_max;
    uint64_t preloaded;
} stats_t;

extern config_t g_cfg;

/* Phase boundaries, CLOCK_MONOTONIC ns; written by main before the workers start the run. */
extern int64_t g_t_start, g_t_meas, g_t_end, g_deadline;
extern atomic_int g_stop;        /* stop now: signal, abort or deadline */
extern atomic_int g_workers_done;
extern volatile sig_atomic_t g_interrupted;
extern pthread_barrier_t g_barrier; /* workers + main: after preload, and after the times are set */

/* Records the first abort reason and stops the run. */
void load_abort(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static inline int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

#endif
