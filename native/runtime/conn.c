/* Connections: input buffering, answering complete requests in order, and the blocking per-connection loop. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "runtime.h"

#define READ_CHUNK 16384
/* A request never needs more than a maximal line plus a maximal value and their framing. */
#define MAX_INPUT (DITTO_MAX_LINE + DITTO_MAX_VALUE + 4096)

/* Closed connections kept with their buffers for the next ones, last closed first (the warmest lines), as servers
 * keep theirs (nginx's free connection list, memcached's per-descriptor connections). Allocating each anew put
 * fresh heap lines on every new connection's path: ~100 L2 misses per batch of new connections in nginx's clone,
 * where nginx had a few. Buffers beyond SPARE_BUFFER (a large request's or response's) are not kept. */
#define SPARE_MAX 256
#define SPARE_BUFFER (READ_CHUNK * 4)
static conn *spares[SPARE_MAX];
static int spare_count;
static pthread_mutex_t spares_lock = PTHREAD_MUTEX_INITIALIZER;

conn *conn_new(int fd)
{
    pthread_mutex_lock(&spares_lock);
    conn *c = spare_count ? spares[--spare_count] : NULL;
    pthread_mutex_unlock(&spares_lock);
    if (!c)
        c = calloc(1, sizeof *c);
    if (!c)
        die("allocating a connection");
    c->fd = fd;
    return c;
}

void conn_free(conn *c)
{
    close(c->fd);
    if (c->in_cap > SPARE_BUFFER) {
        free(c->in);
        c->in = NULL;
        c->in_cap = 0;
    }
    c->in_len = 0;
    if (c->out.cap > SPARE_BUFFER)
        out_free(&c->out);
    out_clear(&c->out);
    c->close_after = c->waiting_out = 0;
    pthread_mutex_lock(&spares_lock);
    int kept = spare_count < SPARE_MAX;
    if (kept)
        spares[spare_count++] = c;
    pthread_mutex_unlock(&spares_lock);
    if (!kept) {
        free(c->in);
        out_free(&c->out);
        free(c);
    }
}

/* One receive with the planned call. */
static ssize_t sock_recv(int fd, char *buf, size_t len)
{
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    switch (ditto_clone_config.recv_call) {
    case DITTO_RECV_READV:
        return readv(fd, &iov, 1);
    case DITTO_RECV_RECVFROM:
        return recvfrom(fd, buf, len, 0, NULL, NULL);
    case DITTO_RECV_RECVMSG:
        return recvmsg(fd, &msg, 0);
    default:
        return read(fd, buf, len);
    }
}

static int read_once(conn *c)
{
    if (c->in_cap - c->in_len < READ_CHUNK) {
        if (c->in_cap >= MAX_INPUT)
            return -1;
        size_t cap = c->in_cap ? c->in_cap * 2 : READ_CHUNK * 2;
        c->in = realloc(c->in, cap);
        if (!c->in)
            die("growing an input buffer");
        c->in_cap = cap;
    }
    ssize_t n = sock_recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
    if (n > 0) {
        c->in_len += (size_t)n;
        return 1;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    return -1;
}

int conn_read(conn *c)
{
    int got = 0;
    for (;;) {
        int r = read_once(c);
        if (r < 0)
            return got ? 1 : -1;
        if (r == 0)
            return got;
        got = 1;
        /* A short read means the socket is drained; a full one may have more behind it. */
        if (c->in_len < c->in_cap)
            return 1;
    }
}

void conn_process(conn *c, ditto_thread *t)
{
    size_t off = 0;
    while (off < c->in_len && !c->close_after) {
        size_t used = 0;
        const char *in = c->in + off;
        size_t len = c->in_len - off;
        int r;
        switch (ditto_clone_config.protocol) {
        case DITTO_PROTO_MEMCACHED:
            r = proto_memcached(in, len, c, t, &used);
            break;
        case DITTO_PROTO_REDIS:
            r = proto_redis(in, len, c, t, &used);
            break;
        default:
            r = proto_http(in, len, c, t, &used);
            break;
        }
        if (r < 0) {
            /* Answers to the requests before the bad one still go out; then the connection closes. */
            c->close_after = 1;
            off = c->in_len;
            break;
        }
        if (!used)
            break;
        off += used;
    }
    /* Mostly nothing is left: memmove of 0 bytes costs a mispredicted branch per request in glibc. */
    if (off < c->in_len)
        memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
}

static int flush_blocking(conn *c, ditto_thread *t, int spin)
{
    for (;;) {
        int r = out_flush(&c->out, c->fd, t->data_fd);
        if (r != 0 || !spin)
            return r;
    }
}

void serve_connection(int fd, ditto_thread *t, int spin)
{
    conn *c = conn_new(fd);
    set_nodelay(fd);
    if (spin)
        set_nonblocking(fd);
    for (;;) {
        /* Non-blocking I/O here means polling the socket: read again while it has nothing. */
        int r = read_once(c);
        if (r == 0)
            continue;
        if (r < 0)
            break;
        conn_process(c, t);
        /* A thread serving one connection: each read is its pass. */
        pass_work(t);
        if (flush_blocking(c, t, spin) < 0 || c->close_after)
            break;
    }
    conn_free(c);
}
