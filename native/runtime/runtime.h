/* Internal interfaces of the clone runtime: per-thread state, connections, protocol framing, network models. */
#ifndef DITTO_RUNTIME_H
#define DITTO_RUNTIME_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "body.h"
#include "config.h"

/* Longest request line / header block and largest value a request may carry; more closes the connection. */
#define DITTO_MAX_LINE (1u << 20)
#define DITTO_MAX_VALUE (1u << 20)
#define DITTO_OP_KINDS 9

/* What each serving thread owns: the body's context, the runtime's PRNG, its own descriptor on the data file. */
typedef struct {
    ditto_body_ctx ctx;
    uint64_t rng[4];
    int data_fd;
    /* Append-only descriptor on the data file, opened at the first appending write (-1 until then). */
    int append_fd;
    /* Sequential offsets per class and op kind, so that sequential ops walk the file independently. */
    uint64_t cursor[DITTO_CLASS_COUNT][DITTO_OP_KINDS];
    /* Loop-pass ops (DITTO_BATCH_LOOP) the current pass owes, by op kind: a bit per kind, the bytes its requests
     * added, and the op that first asked (its class and pattern place the call in the file). */
    uint32_t pass_pending;
    uint64_t pass_bytes[DITTO_OP_KINDS];
    const ditto_syscall_op *pass_op[DITTO_OP_KINDS];
    ditto_class_id pass_class[DITTO_OP_KINDS];
    /* This thread's slot among the served-requests counters (work.c). */
    uint32_t served_slot;
} ditto_thread;

/* Builds the process's body data region (work.c) now, not at the first thread's start. */
void prepare_body_data(void);
void thread_init(ditto_thread *t);
/* Counts the requests every process serves from now on (call before forking); background threads whose period
 * follows the load read the count. */
void count_served_requests(void);
uint64_t served_requests_so_far(void);
void thread_release(ditto_thread *t);
uint64_t rng_next(uint64_t s[4]);
/* Draws calls from a mean per request: floor, plus one with the fractional probability. */
uint32_t draw_calls(ditto_thread *t, uint32_t calls, uint64_t extra);

/* One request of a class: its body, then its system calls (loop-pass ops are only noted for pass_work). */
void class_work(ditto_thread *t, ditto_class_id cls);
/* Whether any class has loop-pass ops: then event loops hold a pass's responses until pass_work has run. */
int plan_has_pass_ops(void);
/* The loop-pass ops the requests of this pass asked for, one call each, writes before syncs. */
void pass_work(ditto_thread *t);
uint64_t class_payload_size(ditto_thread *t, ditto_class_id cls);

/* Output: bytes, with spliced segments at given positions: ranges of the data file (sent with sendfile) and
 * filler sent from the shared filler buffer without a copy (gathered into one writev/sendmsg with the bytes around
 * it, as a server sends a value from where it keeps it). */
typedef enum { SEG_FILE, SEG_FILLER } seg_kind;

typedef struct {
    seg_kind kind;
    size_t at;
    uint64_t off;
    uint64_t len;
} out_seg;

typedef struct {
    char *mem;
    size_t len, cap, sent;
    out_seg *segs;
    size_t nseg, segcap, seg_done;
    uint64_t seg_sent;
} outbuf;

/* Makes room for n more bytes. */
void out_grow(outbuf *o, size_t n);
/* Inline, so that literal strings are copied with moves of a known size: through glibc's memcpy every call site
 * shares its size branches, and the simulated predictor missed ~3.6 of them per memcached get, most of the
 * original's 4.8 mispredicts per get in all. */
static inline void out_bytes(outbuf *o, const char *s, size_t n)
{
    if (o->len + n > o->cap)
        out_grow(o, n);
    memcpy(o->mem + o->len, s, n);
    o->len += n;
}
static inline void out_str(outbuf *o, const char *s)
{
    out_bytes(o, s, strlen(s));
}
void out_u64(outbuf *o, uint64_t v);
/* The filler of a response payload of n bytes; sendfile ops of the class deliver part of it from the data file. */
void out_payload(outbuf *o, ditto_thread *t, ditto_class_id cls, uint64_t n);
/* 1: all sent; 0: the socket would block; -1: the peer is gone. */
int out_flush(outbuf *o, int fd, int data_fd);
int out_pending(const outbuf *o);
/* Empties the buffer and keeps its memory. */
void out_clear(outbuf *o);
void out_free(outbuf *o);

typedef struct {
    int fd;
    char *in;
    size_t in_len, in_cap;
    outbuf out;
    /* Close once the output is flushed (quit, Connection: close). */
    int close_after;
    /* Epoll models: waiting for the socket to take the rest of the output (reading paused meanwhile). */
    int waiting_out;
} conn;

conn *conn_new(int fd);
void conn_free(conn *c);
/* Reads what the socket has (non-blocking sockets) or one read (blocking). 1: data; 0: would block; -1: closed. */
int conn_read(conn *c);
/* Answers every complete request in the input buffer; malformed or oversized input sets close_after. */
void conn_process(conn *c, ditto_thread *t);

/* Each answers the one request at in[0..len) if it is complete: 0 with *consumed = its length (0: incomplete),
 * -1 when the input is malformed or oversized. Responses go to c->out. */
int proto_memcached(const char *in, size_t len, conn *c, ditto_thread *t, size_t *consumed);
int proto_redis(const char *in, size_t len, conn *c, ditto_thread *t, size_t *consumed);
int proto_http(const char *in, size_t len, conn *c, ditto_thread *t, size_t *consumed);

/* A connection served to its end by the calling thread with blocking (or spinning non-blocking) I/O. */
void serve_connection(int fd, ditto_thread *t, int spin);

/* The listening socket, the signals main waits for, and the data file shared by every thread. */
extern int ditto_listen_fd;
extern const char *ditto_data_path;
extern sigset_t ditto_stop_signals;

/* Runs the configured network model; returns when a stop signal arrives (in the process that must clean up). */
int run_model(void);
/* The configured model serves in forked processes. */
int model_forks(void);
void start_background(void);
void set_nodelay(int fd);
void set_nonblocking(int fd);
_Noreturn void die(const char *what);

#endif
