/* One load thread: its connections, one epoll, its share of the schedule. */
#ifndef DITTO_WORKER_H
#define DITTO_WORKER_H

#include <pthread.h>

#include "load.h"
#include "rng.h"

/* An outstanding request, kept in send order per connection. */
typedef struct fent {
    int64_t intended; /* when the schedule wanted it sent (closed loop: actual send) */
    int64_t sent;     /* actual send */
    uint32_t key, arg;
    uint8_t op, measured, tries;
} fent_t;

enum { CS_DOWN, CS_CONNECTING, CS_UP };

typedef struct conn {
    struct worker *w;
    int fd, state;
    int dirty;    /* on the worker's list of connections to top up / flush */
    int want_out; /* EPOLLOUT registered: the socket buffer was full */
    int graceful; /* the last close was an orderly http close, not a failure */
    int answered; /* a response arrived since the connection was opened */
    char *obuf;
    size_t olen, ooff, ocap;
    char *rbuf;
    size_t rlen, rpos, rcap, rneed;
    fent_t *q; /* ring, capacity a power of two */
    uint32_t qhead, qcount, qcap;
    int64_t retry_at, backoff, conn_start;
} conn_t;

typedef struct worker {
    int id;
    pthread_t tid;
    int epfd;
    conn_t *conns;
    int nconns, live;
    conn_t **dirty;
    int ndirty;
    rng_t rng_arrival, rng_req, rng_pre;
    /* open loop schedule */
    double next_t, gap_ns;
    int seg; /* poisson: 0 warm-up, 1 measured window, 2 over */
    double seg_start, seg_len, seg_w;
    uint64_t seg_left;
    int rr, sched_done, held;
    double late_mean, late_dev; /* how late timed wake-ups are, ns (EWMA) */
    int64_t outstanding, measured_out;
    int64_t last_up; /* last time a connection was up (or nothing needed one) */
    int phase;
    uint64_t pre_next;
    stats_t st;
    hist_t hist;
} worker_t;

/* fds: already connected sockets this worker owns. */
worker_t *worker_new(int id, const int *fds, int nfds);
void *worker_main(void *arg);
void worker_free(worker_t *w);

#endif
