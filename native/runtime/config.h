/*
 * The per-clone configuration of the runtime. The generator (src/emit/runtime) writes one `ditto_clone_config`
 * from the clone plan; the runtime reads it as a C struct, so a clone parses nothing at start.
 */
#ifndef DITTO_CONFIG_H
#define DITTO_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "body.h"

typedef enum { DITTO_PROTO_MEMCACHED, DITTO_PROTO_REDIS, DITTO_PROTO_HTTP } ditto_protocol;

typedef enum {
    DITTO_MODEL_DISPATCH,
    DITTO_MODEL_EVENT_LOOP,
    DITTO_MODEL_THREAD_PER_CONNECTION,
    DITTO_MODEL_PROCESS_WORKERS,
    DITTO_MODEL_PROCESS_PER_CONNECTION
} ditto_model;

typedef enum { DITTO_IO_EPOLL, DITTO_IO_BLOCKING, DITTO_IO_NONBLOCKING } ditto_io;

/* The system calls that move request and response bytes on a connection, as the original made them. Vectored
 * calls carry one iovec per contiguous range of output (headers and filler; file ranges go out with sendfile). */
typedef enum { DITTO_RECV_READ, DITTO_RECV_READV, DITTO_RECV_RECVFROM, DITTO_RECV_RECVMSG } ditto_recv_call;
typedef enum { DITTO_SEND_WRITE, DITTO_SEND_WRITEV, DITTO_SEND_SENDTO, DITTO_SEND_SENDMSG } ditto_send_call;

typedef enum {
    DITTO_OP_FILE_READ,
    DITTO_OP_FILE_WRITE,
    DITTO_OP_FILE_PREAD,
    DITTO_OP_FILE_PWRITE,
    DITTO_OP_FSYNC,
    DITTO_OP_FDATASYNC,
    DITTO_OP_OPEN_CLOSE,
    DITTO_OP_STAT,
    DITTO_OP_SENDFILE
} ditto_op;

/* Where a file call starts: after the thread's previous one, anywhere, or at the end of the file (writes only:
 * they grow it). */
typedef enum { DITTO_PATTERN_SEQUENTIAL, DITTO_PATTERN_RANDOM, DITTO_PATTERN_APPEND } ditto_pattern;

/* When an op is made: while serving each request, or once per event-loop pass for all the requests it served,
 * before the pass's responses go out (then `bytes` is what each request adds to the pass's call). */
typedef enum { DITTO_BATCH_REQUEST, DITTO_BATCH_LOOP } ditto_batch;

/* Probabilities are fixed point: p * 2^32, so that a draw is one compare of the PRNG's high 32 bits. */
#define DITTO_P_ONE 4294967296ULL

/* One entry of a payload-size distribution: `cumulative` is P(size index <= this one) * 2^32; the last is 2^32. */
typedef struct {
    uint64_t size;
    uint64_t cumulative;
} ditto_size_weight;

typedef struct {
    ditto_op op;
    /* Calls per request: `calls`, plus one more with probability extra / 2^32. */
    uint32_t calls;
    uint64_t extra;
    uint64_t bytes;
    ditto_pattern pattern;
    ditto_batch batch;
} ditto_syscall_op;

/* Request classes, indexed by what a request is: reads (get-like) and writes (set-like). */
typedef enum { DITTO_CLASS_GET, DITTO_CLASS_SET, DITTO_CLASS_COUNT } ditto_class_id;

typedef struct {
    /* 0 when the plan has no such class: its requests are answered with empty payloads and do no work. */
    int present;
    const ditto_size_weight *payload;
    size_t payload_count;
    const ditto_syscall_op *syscalls;
    size_t syscall_count;
    /* NULL when the class has no body. */
    ditto_body_fn body;
} ditto_class_config;

typedef struct {
    uint32_t count;
    /* 0: idle threads that only exist. */
    uint64_t period_ns;
    /* When reference_rate > 0, the period follows the request rate the process serves:
     * period_ns * (rate / reference_rate)^-rate_exponent. */
    double reference_rate;
    double rate_exponent;
    ditto_body_fn body;
    /* > 0: after a wake-up the thread sleeps at least what keeps its awake time to this share of wall time. */
    double busy_share;
} ditto_background_config;

typedef struct {
    ditto_protocol protocol;
    ditto_model model;
    ditto_io io;
    ditto_recv_call recv_call;
    ditto_send_call send_call;
    uint32_t accept_threads;
    uint32_t network_threads;
    uint32_t worker_processes;
    ditto_class_config classes[DITTO_CLASS_COUNT];
    const ditto_background_config *background;
    size_t background_count;
    /* Size of the scratch data file the syscall ops use; 0: no file. */
    uint64_t data_file_bytes;
    uint64_t seed;
} ditto_config;

extern const ditto_config ditto_clone_config;

#endif
