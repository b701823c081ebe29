/* Per-thread state, the work of one request (body + system calls) and response output with filler payloads. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "runtime.h"

/* What payloads are made of; the data file holds the same byte so sendfile ranges are filler too. */
#define FILLER_BYTE 'x'
#define FILLER_CHUNK 65536
static char filler[FILLER_CHUNK];
static atomic_uint_fast64_t thread_counter;
/* Requests served by all of the service's processes, in slots shared across forks (NULL until counting is asked
 * for). Each serving thread adds to its own slot, a cache line apart from the others, so that counting costs a
 * request no line bouncing between cores; the background thread sums the slots every 50 ms or more. Threads that
 * outnumber the slots share one: the adds stay atomic. */
#define SERVED_SLOTS 64
typedef struct {
    _Alignas(64) _Atomic uint64_t count;
} served_slot;
static served_slot *served_requests;

void count_served_requests(void)
{
    void *shared =
        mmap(NULL, SERVED_SLOTS * sizeof *served_requests, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED)
        die("mapping the served-requests counters");
    served_requests = shared;
}

uint64_t served_requests_so_far(void)
{
    uint64_t sum = 0;
    if (served_requests)
        for (int i = 0; i < SERVED_SLOTS; i++)
            sum += atomic_load_explicit(&served_requests[i].count, memory_order_relaxed);
    return sum;
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256**: full-period 64-bit output whose high bits are as good as its low bits. */
uint64_t rng_next(uint64_t s[4])
{
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

/* The bodies' data region of this process, made on first use and kept until exit: threads come and go (thread per
 * connection) while the working sets they share stay warm. A forked child keeps its own copy. */
static uint8_t *process_data(void)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static uint8_t *data;
    pthread_mutex_lock(&lock);
    if (!data) {
        size_t bytes = ditto_body_data_bytes ? ditto_body_data_bytes : 64;
        bytes = (bytes + 63) & ~(size_t)63;
        /* Zero (string ops compare equal buffers, counters start at 0) and populated by the kernel: pages of their
         * own, never the shared zero page that reads of untouched anonymous memory would all alias, and zeroed
         * outside the simulated caches (a memset would have left the highest regions in the LLC). The generated
         * init then lays out the rings and touches, largest first, the regions a long run keeps in some cache, and
         * leaves cold the ones beyond every LLC. */
        void *p =
            mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        if (p == MAP_FAILED)
            die("allocating the body data region");
        ditto_body_init_data(p);
        data = p;
    }
    pthread_mutex_unlock(&lock);
    return data;
}

void prepare_body_data(void)
{
    (void)process_data();
}

void thread_init(ditto_thread *t)
{
    memset(t, 0, sizeof *t);
    if (!filler[0])
        memset(filler, FILLER_BYTE, sizeof filler);
    /* Distinct streams per thread and per process, reproducible from the plan's seed. */
    uint64_t n = atomic_fetch_add(&thread_counter, 1);
    uint64_t x = ditto_clone_config.seed ^ ((uint64_t)getpid() << 32) ^ n;
    /* Forked processes start from their parent's thread count: the pid spreads their threads over other slots. */
    t->served_slot = (uint32_t)((n + (uint64_t)getpid() * 7) % SERVED_SLOTS);
    for (int i = 0; i < 4; i++) {
        t->rng[i] = splitmix64(&x);
        t->ctx.rng[i] = splitmix64(&x);
    }
    t->ctx.data = process_data();
    t->ctx.data_bytes = ditto_body_data_bytes;
    ditto_body_init(&t->ctx);
    t->data_fd = -1;
    t->append_fd = -1;
    if (ditto_data_path) {
        t->data_fd = open(ditto_data_path, O_RDWR | O_CLOEXEC);
        if (t->data_fd < 0)
            die("opening the data file");
    }
}

void thread_release(ditto_thread *t)
{
    if (t->data_fd >= 0)
        close(t->data_fd);
    if (t->append_fd >= 0)
        close(t->append_fd);
}

uint32_t draw_calls(ditto_thread *t, uint32_t calls, uint64_t extra)
{
    return calls + (extra && (rng_next(t->rng) >> 32) < extra ? 1 : 0);
}

/* Next offset of a `bytes`-sized access within the data file. */
static uint64_t next_offset(ditto_thread *t, ditto_class_id cls, const ditto_syscall_op *op)
{
    uint64_t size = ditto_clone_config.data_file_bytes;
    uint64_t span = size > op->bytes ? size - op->bytes : 0;
    if (op->pattern == DITTO_PATTERN_RANDOM)
        return span ? (rng_next(t->rng) % (span + 1)) & ~(uint64_t)7 : 0;
    uint64_t *cur = &t->cursor[cls][op->op];
    if (*cur > span)
        *cur = 0;
    uint64_t off = *cur;
    *cur += op->bytes;
    return off;
}

/* Bytes appended to the data file by this process since it last cut the file back to its planned size. The cut
 * bounds the disk a long run takes: one ftruncate per APPEND_LIMIT bytes (an append-only log's rewrite, rarer). */
#define APPEND_LIMIT (64ULL << 20)
static atomic_uint_fast64_t appended_bytes;

/* Appends through an append-only descriptor, so that the file grows as the original's log did (its syncs then
 * commit the size too). pwrite lands at the end there as well: Linux ignores its offset on such a descriptor. */
static ssize_t append_io(ditto_thread *t, const ditto_syscall_op *op, const char *buf)
{
    if (t->append_fd < 0) {
        t->append_fd = open(ditto_data_path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (t->append_fd < 0)
            die("opening the data file for appending");
    }
    ssize_t r = op->op == DITTO_OP_FILE_PWRITE ? pwrite(t->append_fd, buf, op->bytes, 0)
                                               : write(t->append_fd, buf, op->bytes);
    if (r > 0 && atomic_fetch_add(&appended_bytes, (uint64_t)r) + (uint64_t)r >= APPEND_LIMIT) {
        atomic_store(&appended_bytes, 0);
        if (ftruncate(t->data_fd, (off_t)ditto_clone_config.data_file_bytes) != 0)
            die("cutting the data file back to its size");
    }
    return r;
}

/* Writes filler of `bytes` through repeated calls of write/pwrite when a call is shorter than a chunk. */
static void file_io(ditto_thread *t, ditto_class_id cls, const ditto_syscall_op *op)
{
    static __thread char *buf;
    static __thread size_t buf_len;
    if (op->bytes > buf_len) {
        free(buf);
        buf = malloc(op->bytes);
        if (!buf)
            die("allocating an I/O buffer");
        memset(buf, FILLER_BYTE, op->bytes);
        buf_len = op->bytes;
    }
    if (op->pattern == DITTO_PATTERN_APPEND &&
        (op->op == DITTO_OP_FILE_WRITE || op->op == DITTO_OP_FILE_PWRITE)) {
        (void)append_io(t, op, buf);
        return;
    }
    uint64_t off = next_offset(t, cls, op);
    ssize_t r = 0;
    switch (op->op) {
    case DITTO_OP_FILE_READ:
    case DITTO_OP_FILE_WRITE:
        /* The descriptor's own position is the sequential cursor; a seek only where the plan says random or
         * the walk wraps, as a program reading a file in place would. */
        if (op->pattern == DITTO_PATTERN_RANDOM || off == 0)
            lseek(t->data_fd, (off_t)off, SEEK_SET);
        r = op->op == DITTO_OP_FILE_READ ? read(t->data_fd, buf, op->bytes) : write(t->data_fd, buf, op->bytes);
        break;
    case DITTO_OP_FILE_PREAD:
        r = pread(t->data_fd, buf, op->bytes, (off_t)off);
        break;
    case DITTO_OP_FILE_PWRITE:
        r = pwrite(t->data_fd, buf, op->bytes, (off_t)off);
        break;
    default:
        break;
    }
    (void)r; /* A short transfer still is the call the profile counted. */
}

static void syscall_op(ditto_thread *t, ditto_class_id cls, const ditto_syscall_op *op)
{
    struct stat st;
    int fd;
    if (t->data_fd < 0)
        return;
    switch (op->op) {
    case DITTO_OP_FILE_READ:
    case DITTO_OP_FILE_WRITE:
    case DITTO_OP_FILE_PREAD:
    case DITTO_OP_FILE_PWRITE:
        file_io(t, cls, op);
        break;
    case DITTO_OP_FSYNC:
        fsync(t->data_fd);
        break;
    case DITTO_OP_FDATASYNC:
        fdatasync(t->data_fd);
        break;
    case DITTO_OP_OPEN_CLOSE:
        fd = open(ditto_data_path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0)
            close(fd);
        break;
    case DITTO_OP_STAT:
        stat(ditto_data_path, &st);
        break;
    case DITTO_OP_SENDFILE:
        /* Made while the response is sent: out_payload splices data-file ranges into the payload. */
        break;
    }
}

static void note_pass_op(ditto_thread *t, ditto_class_id cls, const ditto_syscall_op *op)
{
    uint32_t bit = 1u << op->op;
    if (!(t->pass_pending & bit)) {
        t->pass_pending |= bit;
        t->pass_bytes[op->op] = 0;
        t->pass_op[op->op] = op;
        t->pass_class[op->op] = cls;
    }
    t->pass_bytes[op->op] += op->bytes;
}

void class_work(ditto_thread *t, ditto_class_id cls)
{
    const ditto_class_config *c = &ditto_clone_config.classes[cls];
    if (!c->present)
        return;
    /* Only in clones whose background threads follow the load. */
    if (served_requests)
        atomic_fetch_add_explicit(&served_requests[t->served_slot].count, 1, memory_order_relaxed);
    if (c->body) {
        c->body(&t->ctx);
        t->ctx.request_id++;
    }
    for (size_t i = 0; i < c->syscall_count; i++) {
        const ditto_syscall_op *op = &c->syscalls[i];
        if (op->batch == DITTO_BATCH_LOOP) {
            note_pass_op(t, cls, op);
            continue;
        }
        for (uint32_t n = draw_calls(t, op->calls, op->extra); n; n--)
            syscall_op(t, cls, op);
    }
}

int plan_has_pass_ops(void)
{
    for (int cls = 0; cls < DITTO_CLASS_COUNT; cls++) {
        const ditto_class_config *c = &ditto_clone_config.classes[cls];
        for (size_t i = 0; c->present && i < c->syscall_count; i++)
            if (c->syscalls[i].batch == DITTO_BATCH_LOOP)
                return 1;
    }
    return 0;
}

void pass_work(ditto_thread *t)
{
    /* ditto_op lists file transfers before syncs, so a pass syncs what it wrote. */
    for (int kind = 0; t->pass_pending && kind < DITTO_OP_KINDS; kind++) {
        if (!(t->pass_pending & (1u << kind)))
            continue;
        ditto_syscall_op op = *t->pass_op[kind];
        op.bytes = t->pass_bytes[kind];
        syscall_op(t, t->pass_class[kind], &op);
        t->pass_pending &= ~(1u << kind);
    }
}

uint64_t class_payload_size(ditto_thread *t, ditto_class_id cls)
{
    const ditto_class_config *c = &ditto_clone_config.classes[cls];
    if (!c->present || !c->payload_count)
        return 0;
    uint64_t r = rng_next(t->rng) >> 32;
    for (size_t i = 0; i < c->payload_count; i++)
        if (r < c->payload[i].cumulative)
            return c->payload[i].size;
    return c->payload[c->payload_count - 1].size;
}

void out_grow(outbuf *o, size_t n)
{
    if (o->len + n <= o->cap)
        return;
    size_t cap = o->cap ? o->cap : 4096;
    while (cap < o->len + n)
        cap *= 2;
    o->mem = realloc(o->mem, cap);
    if (!o->mem)
        die("growing an output buffer");
    o->cap = cap;
}

void out_u64(outbuf *o, uint64_t v)
{
    char tmp[24];
    int i = (int)sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    out_bytes(o, tmp + i, sizeof tmp - (size_t)i);
}

static void out_segment(outbuf *o, seg_kind kind, uint64_t off, uint64_t len)
{
    if (o->nseg == o->segcap) {
        o->segcap = o->segcap ? o->segcap * 2 : 8;
        o->segs = realloc(o->segs, o->segcap * sizeof *o->segs);
        if (!o->segs)
            die("growing an output buffer");
    }
    o->segs[o->nseg++] = (out_seg){kind, o->len, off, len};
}

/* The profiled send call takes several buffers at once. */
static int send_gathers(void)
{
    return ditto_clone_config.send_call == DITTO_SEND_WRITEV || ditto_clone_config.send_call == DITTO_SEND_SENDMSG;
}

/* Filler goes out by reference when the send call gathers; otherwise (write, sendto) it is copied, as a server
 * writing one buffer copies the value into it. */
static void out_filler(outbuf *o, uint64_t n)
{
    if (n && send_gathers()) {
        out_segment(o, SEG_FILLER, 0, n);
        return;
    }
    while (n) {
        size_t k = n < FILLER_CHUNK ? (size_t)n : FILLER_CHUNK;
        out_bytes(o, filler, k);
        n -= k;
    }
}

/* The data-file ranges of a payload go out after its filler, so a response leaves as one send of head and filler
 * then sendfile calls, as a server sends headers then a file (not a second send after the file). */
void out_payload(outbuf *o, ditto_thread *t, ditto_class_id cls, uint64_t n)
{
    const ditto_class_config *c = &ditto_clone_config.classes[cls];
    size_t first = o->nseg;
    for (size_t i = 0; c->present && t->data_fd >= 0 && i < c->syscall_count && n; i++) {
        const ditto_syscall_op *op = &c->syscalls[i];
        if (op->op != DITTO_OP_SENDFILE || !op->bytes)
            continue;
        for (uint32_t k = draw_calls(t, op->calls, op->extra); k && n; k--) {
            uint64_t len = op->bytes < n ? op->bytes : n;
            if (len > ditto_clone_config.data_file_bytes)
                len = ditto_clone_config.data_file_bytes;
            if (!len)
                break;
            ditto_syscall_op at = *op;
            at.bytes = len;
            out_segment(o, SEG_FILE, next_offset(t, cls, &at), len);
            n -= len;
        }
    }
    size_t files = o->nseg, before = o->len;
    out_filler(o, n);
    if (files == first)
        return;
    if (o->len > before) {
        /* Copied filler: the file ranges now start after it. */
        for (size_t i = first; i < files; i++)
            o->segs[i].at = o->len;
    } else if (o->nseg > files) {
        /* Filler by reference, at the same position: ahead of the file ranges in the segment order. */
        out_seg filler_seg = o->segs[files];
        memmove(&o->segs[first + 1], &o->segs[first], (files - first) * sizeof *o->segs);
        o->segs[first] = filler_seg;
    }
}

int out_pending(const outbuf *o)
{
    return o->sent < o->len || o->seg_done < o->nseg;
}

/* One send with the planned call; SIGPIPE is ignored, so write and writev to a closed peer fail with EPIPE too.
 * Several buffers only with a gathering call (send_gathers). */
static ssize_t sock_send(int fd, struct iovec *iov, int count)
{
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)count};
    switch (ditto_clone_config.send_call) {
    case DITTO_SEND_WRITEV:
        return writev(fd, iov, count);
    case DITTO_SEND_SENDTO:
        return sendto(fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL, NULL, 0);
    case DITTO_SEND_SENDMSG:
        return sendmsg(fd, &msg, MSG_NOSIGNAL);
    default:
        return write(fd, iov[0].iov_base, iov[0].iov_len);
    }
}

#define GATHER_MAX 16

/* The buffers from the current position up to the next file segment (or the end): output bytes and filler. */
static int gather(const outbuf *o, struct iovec *iov)
{
    size_t pos = o->sent, seg = o->seg_done;
    uint64_t seg_sent = o->seg_sent;
    int count = 0;
    while (count < GATHER_MAX) {
        size_t next = seg < o->nseg ? o->segs[seg].at : o->len;
        if (pos < next) {
            iov[count++] = (struct iovec){o->mem + pos, next - pos};
            pos = next;
            continue;
        }
        if (seg >= o->nseg || o->segs[seg].kind == SEG_FILE)
            break;
        uint64_t left = o->segs[seg].len - seg_sent;
        size_t k = left < FILLER_CHUNK ? (size_t)left : FILLER_CHUNK;
        iov[count++] = (struct iovec){filler, k};
        if ((seg_sent += k) == o->segs[seg].len) {
            seg++;
            seg_sent = 0;
        }
    }
    return count;
}

/* Advances past n bytes sent from gather's buffers. */
static void consume(outbuf *o, size_t n)
{
    while (n) {
        size_t next = o->seg_done < o->nseg ? o->segs[o->seg_done].at : o->len;
        if (o->sent < next) {
            size_t k = n < next - o->sent ? n : next - o->sent;
            o->sent += k;
            n -= k;
            continue;
        }
        const out_seg *s = &o->segs[o->seg_done];
        uint64_t k = n < s->len - o->seg_sent ? n : s->len - o->seg_sent;
        n -= (size_t)k;
        if ((o->seg_sent += k) == s->len) {
            o->seg_done++;
            o->seg_sent = 0;
        }
    }
}

int out_flush(outbuf *o, int fd, int data_fd)
{
    while (out_pending(o)) {
        const out_seg *s = o->seg_done < o->nseg ? &o->segs[o->seg_done] : NULL;
        ssize_t n;
        if (s && s->kind == SEG_FILE && o->sent == s->at) {
            off_t off = (off_t)(s->off + o->seg_sent);
            n = sendfile(fd, data_fd, &off, s->len - o->seg_sent);
            if (n > 0 && (o->seg_sent += (uint64_t)n) == s->len) {
                o->seg_done++;
                o->seg_sent = 0;
            }
        } else {
            struct iovec iov[GATHER_MAX];
            n = sock_send(fd, iov, gather(o, iov));
            if (n > 0)
                consume(o, (size_t)n);
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
    }
    out_clear(o);
    return 1;
}

void out_clear(outbuf *o)
{
    o->len = o->sent = o->nseg = o->seg_done = 0;
    o->seg_sent = 0;
}

void out_free(outbuf *o)
{
    free(o->mem);
    free(o->segs);
    memset(o, 0, sizeof *o);
}
