/* The per-thread event loop.
 *
 * Open loop: the thread owns rate/threads of the load. Arrival times come from
 * its own schedule (exponential or constant gaps); each arrival goes to the next
 * connection round-robin and is written as soon as its time comes, even when
 * earlier requests on that connection are still unanswered (the protocols answer
 * in order, so this is plain pipelining). Latency is measured from the intended
 * time, so a slow server never slows the schedule down and queueing shows up in
 * the percentiles (no coordinated omission).
 *
 * Closed loop: each connection keeps --depth requests outstanding; latency is
 * measured from the actual send.
 *
 * All due requests of a wake-up are built into each connection's output buffer
 * and written with one send() per connection. */
#include "worker.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <unistd.h>

#define BACKOFF_MIN_NS 1000000LL   /* reconnect after 1 ms, doubling ...   */
#define BACKOFF_MAX_NS 100000000LL /* ... up to 100 ms                      */
#define PERIODIC_NS 10000000LL     /* timeouts and reconnects checked every 10 ms (or timeout/4) */
#define GRACE_NS 10000000LL        /* open loop: an arrival of the window may be sent this late after its end */
#define PRELOAD_DEPTH 64           /* pipelined sets per connection while preloading */
#define MAX_EVENTS 256
#define MAX_TRIES 3 /* http: a request cut off by a server close is resent at most this often */
#define RBUF_MIN 16384
/* Timer wake-ups arrive late (tens of us in a VM, even with 1 ns timer slack).
 * The open loop therefore sleeps until a margin before the next arrival and
 * polls the rest of the way. The margin follows the observed lateness but is
 * at most SPIN_MAX_NS and SPIN_SHARE of the mean gap, which bounds the CPU
 * spent polling to that share of one core. */
#ifndef SPIN_MAX_NS
#define SPIN_MAX_NS 100000.0
#endif
#ifndef SPIN_SHARE
#define SPIN_SHARE 0.2
#endif

enum { PH_PRELOAD, PH_MAIN };
enum { FAIL_IO, FAIL_EOF, FAIL_PROTO, FAIL_TIMEOUT, FAIL_CONNECT, FAIL_GRACEFUL };
enum { RUN_DONE, RUN_DRAIN_TIMEOUT, RUN_STOPPED };

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q && n)
        abort();
    return q;
}

/* Events (reconnects, protocol errors) count from the start of the measured window on. */
static int counting(const worker_t *w, int64_t now)
{
    return w->phase == PH_MAIN && now >= g_t_meas;
}

static int is_open(const worker_t *w)
{
    return g_cfg.rate > 0 && w->phase == PH_MAIN;
}

static void ep_ctl(conn_t *c, int op, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    (void)epoll_ctl(c->w->epfd, op, c->fd, &ev);
}

static void set_out(conn_t *c, int on)
{
    c->want_out = on;
    ep_ctl(c, EPOLL_CTL_MOD, EPOLLIN | (on ? EPOLLOUT : 0));
}

static void mark_dirty(worker_t *w, conn_t *c)
{
    if (!c->dirty) {
        c->dirty = 1;
        w->dirty[w->ndirty++] = c;
    }
}

/* ---- FIFO of outstanding requests ------------------------------------------ */

static fent_t *q_at(const conn_t *c, uint32_t i)
{
    return &c->q[(c->qhead + i) & (c->qcap - 1)];
}

static fent_t *q_push(conn_t *c)
{
    if (c->qcount == c->qcap) {
        uint32_t ncap = c->qcap ? c->qcap * 2 : 16;
        fent_t *nq = xrealloc(NULL, ncap * sizeof *nq);
        for (uint32_t i = 0; i < c->qcount; i++)
            nq[i] = *q_at(c, i);
        free(c->q);
        c->q = nq;
        c->qcap = ncap;
        c->qhead = 0;
    }
    return &c->q[(c->qhead + c->qcount++) & (c->qcap - 1)];
}

static void q_pop(conn_t *c)
{
    c->qhead = (c->qhead + 1) & (c->qcap - 1);
    c->qcount--;
}

static void obuf_reserve(conn_t *c, size_t n)
{
    if (c->ocap - c->olen >= n)
        return;
    if (c->ooff) {
        memmove(c->obuf, c->obuf + c->ooff, c->olen - c->ooff);
        c->olen -= c->ooff;
        c->ooff = 0;
    }
    if (c->ocap - c->olen < n) {
        size_t ncap = c->ocap ? c->ocap * 2 : 4096;
        while (ncap - c->olen < n)
            ncap *= 2;
        c->obuf = xrealloc(c->obuf, ncap);
        c->ocap = ncap;
    }
}

/* ---- requests --------------------------------------------------------------- */

/* The same seed gives the same sequence: content comes from its own stream. */
static void gen_request(worker_t *w, req_t *r)
{
    const config_t *cfg = &g_cfg;
    if (w->phase == PH_PRELOAD) {
        r->op = OP_SET;
        r->key = (uint32_t)w->pre_next;
        w->pre_next += (uint64_t)cfg->threads;
        r->arg = vsizes_next(&cfg->vs, &w->rng_pre);
        return;
    }
    if (cfg->is_http) {
        r->op = OP_GET;
        r->key = 0;
        r->arg = cfg->wl.npaths > 1 ? (uint32_t)rng_below(&w->rng_req, (uint64_t)cfg->wl.npaths) : 0;
        return;
    }
    int get = rng_double(&w->rng_req) < cfg->get_ratio;
    r->op = get ? OP_GET : OP_SET;
    r->key = (uint32_t)keygen_next(&cfg->kg, &w->rng_req);
    r->arg = get ? 0 : vsizes_next(&cfg->vs, &w->rng_req);
}

static void enqueue(worker_t *w, conn_t *c, const req_t *r, int64_t intended, int64_t now, int measured)
{
    const proto_t *p = g_cfg.proto;
    obuf_reserve(c, p->req_size(&g_cfg.wl, r));
    size_t n = p->build(&g_cfg.wl, r, c->obuf + c->olen);
    c->olen += n;
    fent_t *e = q_push(c);
    e->intended = intended;
    e->sent = now;
    e->key = r->key;
    e->arg = r->arg;
    e->op = r->op;
    e->measured = (uint8_t)measured;
    e->tries = 0;
    w->outstanding++;
    if (measured) {
        stats_t *s = &w->st;
        s->requests++;
        if (r->op == OP_GET)
            s->gets++;
        else
            s->sets++;
        s->bytes_sent += n;
        w->measured_out++;
        if (g_cfg.rate > 0) {
            int64_t lag = now - intended;
            if (lag < 0)
                lag = 0;
            s->lag_sum += (double)lag;
            s->lag_n++;
            if (lag > s->lag_max)
                s->lag_max = lag;
        }
    }
    mark_dirty(w, c);
}

static void complete(worker_t *w, conn_t *c, const fent_t *e, const presult_t *res, int64_t now)
{
    c->backoff = BACKOFF_MIN_NS;
    c->answered = 1;
    w->outstanding--;
    if (w->phase == PH_PRELOAD && res->outcome == OUT_OK)
        w->st.preloaded++;
    if (!is_open(w))
        mark_dirty(w, c); /* closed loop / preload: send the next one */
    if (!e->measured)
        return;
    stats_t *s = &w->st;
    w->measured_out--;
    s->responses++;
    s->bytes_received += res->consumed;
    if (res->outcome == OUT_ERR)
        s->errors++;
    else if (res->outcome == OUT_HIT)
        s->hits++;
    else if (res->outcome == OUT_MISS)
        s->misses++;
    hist_record(&w->hist, now - e->intended);
}

static void drop_entry(worker_t *w, const fent_t *e, int why)
{
    w->outstanding--;
    if (!e->measured)
        return;
    w->measured_out--;
    if (why == FAIL_TIMEOUT) /* the head timed out; those behind it are lost with it */
        w->st.timeouts++;
    else
        w->st.dropped++;
}

/* ---- connections ------------------------------------------------------------- */

static void backoff_retry(conn_t *c, int64_t now)
{
    c->graceful = 0;
    c->retry_at = now + c->backoff;
    c->backoff = c->backoff * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : c->backoff * 2;
}

static void close_fd(worker_t *w, conn_t *c)
{
    if (c->fd >= 0)
        close(c->fd); /* also leaves the epoll set */
    c->fd = -1;
    if (c->state == CS_UP)
        w->live--;
    c->state = CS_DOWN;
    c->want_out = 0;
    c->olen = c->ooff = 0;
    c->rlen = c->rpos = c->rneed = 0;
}

static void start_connect(worker_t *w, conn_t *c, int64_t now);

/* The connection is unusable: close it, account for its outstanding requests,
 * schedule a reconnect. An http server that closes (Connection: close, or just
 * EOF) has not processed the requests pipelined behind the last answer: those
 * are resent on the new connection with their original intended times. */
static void conn_fail(worker_t *w, conn_t *c, int why, int64_t now)
{
    if (why == FAIL_PROTO && counting(w, now))
        w->st.protocol_errors++;
    /* a preload that fails would only fail slowly: give up at once */
    if (w->phase == PH_PRELOAD && why == FAIL_TIMEOUT)
        load_abort("preload: %s did not answer within %lld ms", g_cfg.addr_text,
                   (long long)(g_cfg.timeout_ns / 1000000));
    else if (w->phase == PH_PRELOAD && why == FAIL_PROTO)
        load_abort("preload: %s answered with something that is not %s", g_cfg.addr_text, g_cfg.protocol);
    close_fd(w, c);
    int keep = g_cfg.is_http && (why == FAIL_GRACEFUL || why == FAIL_EOF);
    /* orderly: Connection: close, or a plain close after answering (keep-alive limit, idle timeout) */
    int orderly = why == FAIL_GRACEFUL || (keep && c->answered);
    uint32_t kept = 0;
    for (uint32_t i = 0; i < c->qcount; i++) {
        fent_t *e = q_at(c, i);
        if (keep && e->tries < MAX_TRIES)
            *q_at(c, kept++) = *e;
        else
            drop_entry(w, e, why);
    }
    c->qcount = kept;
    if (orderly) {
        c->graceful = 1;
        start_connect(w, c, now);
    } else {
        backoff_retry(c, now);
    }
}

static void on_connected(worker_t *w, conn_t *c, int64_t now)
{
    c->state = CS_UP;
    w->live++;
    w->last_up = now;
    if (counting(w, now)) {
        if (c->graceful)
            w->st.server_closes++;
        else
            w->st.reconnects++;
    }
    c->graceful = 0;
    c->answered = 0;
    for (uint32_t i = 0; i < c->qcount; i++) {
        fent_t *e = q_at(c, i);
        req_t r = {.op = e->op, .key = e->key, .arg = e->arg};
        obuf_reserve(c, g_cfg.proto->req_size(&g_cfg.wl, &r));
        c->olen += g_cfg.proto->build(&g_cfg.wl, &r, c->obuf + c->olen);
        e->sent = now;
        e->tries++;
    }
    mark_dirty(w, c);
}

static void start_connect(worker_t *w, conn_t *c, int64_t now)
{
    int fd = socket(g_cfg.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        backoff_retry(c, now);
        return;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->fd = fd;
    c->conn_start = now;
    if (connect(fd, (const struct sockaddr *)&g_cfg.addr, g_cfg.addrlen) == 0) {
        ep_ctl(c, EPOLL_CTL_ADD, EPOLLIN);
        on_connected(w, c, now);
        return;
    }
    if (errno == EINPROGRESS) {
        c->state = CS_CONNECTING;
        ep_ctl(c, EPOLL_CTL_ADD, EPOLLOUT);
        return;
    }
    close(fd);
    c->fd = -1;
    backoff_retry(c, now);
}

static void connect_done(worker_t *w, conn_t *c, int64_t now)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err) {
        close_fd(w, c);
        backoff_retry(c, now);
        return;
    }
    ep_ctl(c, EPOLL_CTL_MOD, EPOLLIN);
    on_connected(w, c, now);
}

static void flush(worker_t *w, conn_t *c, int64_t now)
{
    while (c->ooff < c->olen) {
        ssize_t r = send(c->fd, c->obuf + c->ooff, c->olen - c->ooff, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r > 0) {
            c->ooff += (size_t)r;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c->want_out)
                set_out(c, 1);
            return;
        }
        conn_fail(w, c, FAIL_IO, now);
        return;
    }
    c->ooff = c->olen = 0;
    if (c->want_out)
        set_out(c, 0);
}

/* Parses every complete response in the read buffer; completion time is `now`,
 * taken right after the wake-up that delivered the bytes. */
static void parse_responses(worker_t *w, conn_t *c, int64_t now, int eof)
{
    const proto_t *p = g_cfg.proto;
    while (c->state == CS_UP) {
        size_t avail = c->rlen - c->rpos;
        if (avail == 0)
            break;
        if (!eof && c->rneed && avail < c->rneed)
            break;
        if (c->qcount == 0) { /* bytes nobody asked for */
            conn_fail(w, c, FAIL_PROTO, now);
            return;
        }
        fent_t *e = q_at(c, 0);
        req_t r = {.op = e->op, .key = e->key, .arg = e->arg};
        presult_t res = {0};
        int st = p->parse(&r, c->rbuf + c->rpos, avail, eof, &res);
        if (st == PARSE_INCOMPLETE) {
            c->rneed = res.need;
            break;
        }
        if (st == PARSE_BAD) {
            conn_fail(w, c, FAIL_PROTO, now);
            return;
        }
        c->rneed = 0;
        c->rpos += res.consumed;
        fent_t done = *e;
        q_pop(c);
        complete(w, c, &done, &res, now);
        if (res.close) {
            conn_fail(w, c, FAIL_GRACEFUL, now);
            return;
        }
    }
    if (c->rpos == c->rlen)
        c->rpos = c->rlen = 0;
}

static void handle_in(worker_t *w, conn_t *c, int64_t now)
{
    for (;;) {
        size_t have = c->rlen - c->rpos;
        size_t want = RBUF_MIN;
        if (c->rneed > have && c->rneed - have > want)
            want = c->rneed - have;
        if (c->rcap - c->rlen < want) {
            if (c->rpos) {
                memmove(c->rbuf, c->rbuf + c->rpos, have);
                c->rlen = have;
                c->rpos = 0;
            }
            if (c->rcap - c->rlen < want) {
                size_t ncap = c->rcap ? c->rcap : RBUF_MIN;
                while (ncap - c->rlen < want)
                    ncap *= 2;
                c->rbuf = xrealloc(c->rbuf, ncap);
                c->rcap = ncap;
            }
        }
        size_t room = c->rcap - c->rlen;
        ssize_t r = recv(c->fd, c->rbuf + c->rlen, room, MSG_DONTWAIT);
        if (r > 0) {
            c->rlen += (size_t)r;
            parse_responses(w, c, now, 0);
            if (c->state != CS_UP || (size_t)r < room)
                return;
            continue;
        }
        if (r == 0) {
            parse_responses(w, c, now, 1);
            if (c->state == CS_UP)
                conn_fail(w, c, FAIL_EOF, now);
            return;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            conn_fail(w, c, FAIL_IO, now);
        return;
    }
}

static void handle_event(worker_t *w, const struct epoll_event *ev, int64_t now)
{
    conn_t *c = ev->data.ptr;
    if (c->state == CS_CONNECTING) {
        connect_done(w, c, now);
        return;
    }
    if (c->state != CS_UP)
        return;
    if (ev->events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        handle_in(w, c, now);
    if (c->state == CS_UP && (ev->events & EPOLLOUT))
        flush(w, c, now);
}

/* ---- schedule ---------------------------------------------------------------- */

/* Poisson arrivals, conditioned on their count: the warm-up and the measured
 * window each get exactly round(rate x length) arrivals (this thread: its
 * share), placed as independent uniform times, i.e. a Poisson process given
 * its count. Gaps are exponential but for that condition, and the measured
 * window holds exactly the requested number of requests instead of a count
 * that is off by +-1/sqrt(N) (1.4% at 1000/s for 5 s). The sorted uniform
 * times are drawn one after the other, O(1) each: the fraction of the segment
 * still ahead, w, shrinks by V^(1/k) with k arrivals left. */
static void seg_begin(worker_t *w, int seg)
{
    w->seg = seg;
    w->seg_w = 1.0;
    w->seg_left = 0;
    double len_s;
    if (seg == 0) {
        w->seg_start = (double)g_t_start;
        len_s = g_cfg.warmup;
    } else if (seg == 1) {
        w->seg_start = (double)g_t_meas;
        len_s = g_cfg.duration;
    } else {
        return;
    }
    w->seg_len = len_s * 1e9;
    uint64_t total = (uint64_t)llround(g_cfg.rate * len_s);
    uint64_t t = (uint64_t)g_cfg.threads;
    w->seg_left = total / t + ((uint64_t)w->id < total % t ? 1 : 0);
}

static void advance(worker_t *w)
{
    if (!g_cfg.poisson) {
        w->next_t += w->gap_ns;
        return;
    }
    while (w->seg_left == 0 && w->seg < 2)
        seg_begin(w, w->seg + 1);
    if (w->seg_left == 0) {
        w->next_t = (double)g_t_end; /* schedule over */
        return;
    }
    double v = 1.0 - rng_double(&w->rng_arrival); /* (0, 1] */
    w->seg_w *= exp(log(v) / (double)w->seg_left);
    w->seg_left--;
    w->next_t = w->seg_start + (1.0 - w->seg_w) * w->seg_len;
}

static conn_t *pick_conn(worker_t *w)
{
    int n = w->nconns;
    for (int k = 0; k < n; k++) {
        int i = w->rr + k;
        if (i >= n)
            i -= n;
        conn_t *c = &w->conns[i];
        if (c->state == CS_UP && c->qcount < (uint32_t)g_cfg.max_outstanding) {
            w->rr = i + 1 == n ? 0 : i + 1;
            return c;
        }
    }
    return NULL;
}

/* Open loop: send every arrival whose time has come. If no connection can take
 * one (all down or at --max-outstanding), it waits, keeping its intended time. */
static void send_due(worker_t *w, int64_t now)
{
    w->held = 0;
    while (!w->sched_done && (int64_t)w->next_t <= now) {
        int64_t it = (int64_t)w->next_t;
        if (it >= g_t_end) {
            w->sched_done = 1;
            break;
        }
        conn_t *c = pick_conn(w);
        if (!c) {
            w->held = 1;
            break;
        }
        req_t r;
        gen_request(w, &r);
        enqueue(w, c, &r, it, now, it >= g_t_meas);
        advance(w);
    }
}

/* Ends the schedule: arrivals of the window before `limit` never sent count as unsent. */
static void finish_schedule(worker_t *w, int64_t limit)
{
    double left = ((double)limit - w->next_t) / w->gap_ns;
    if (!w->sched_done && left > 1e6) {
        /* far behind a rate the machine cannot reach: count the expected number */
        double from = w->next_t > (double)g_t_meas ? w->next_t : (double)g_t_meas;
        if ((double)limit > from)
            w->st.unsent += (uint64_t)(((double)limit - from) / w->gap_ns + 0.5);
        w->sched_done = 1;
        return;
    }
    while (!w->sched_done && (int64_t)w->next_t < limit) {
        if ((int64_t)w->next_t >= g_t_meas)
            w->st.unsent++;
        advance(w);
    }
    w->sched_done = 1;
}

/* Closed loop and preload: keep the connection's pipeline full. */
static void topup(worker_t *w, conn_t *c, int64_t now)
{
    uint32_t depth = w->phase == PH_PRELOAD ? PRELOAD_DEPTH : (uint32_t)g_cfg.depth;
    int measured = w->phase == PH_MAIN && now >= g_t_meas && now < g_t_end;
    while (c->state == CS_UP && c->qcount < depth) {
        if (w->phase == PH_PRELOAD && w->pre_next >= g_cfg.keys)
            break;
        req_t r;
        gen_request(w, &r);
        enqueue(w, c, &r, now, now, measured);
    }
}

/* Timeouts, connect timeouts, reconnects, and giving up when nothing connects. */
static void periodic(worker_t *w, int64_t now, int sending)
{
    for (int i = 0; i < w->nconns; i++) {
        conn_t *c = &w->conns[i];
        if (c->state == CS_UP && c->qcount && now - q_at(c, 0)->sent >= g_cfg.timeout_ns) {
            conn_fail(w, c, FAIL_TIMEOUT, now);
        } else if (c->state == CS_CONNECTING && now - c->conn_start >= g_cfg.timeout_ns) {
            close_fd(w, c);
            backoff_retry(c, now);
        }
        if (c->state == CS_DOWN && now >= c->retry_at && (sending || c->qcount))
            start_connect(w, c, now);
    }
    if (w->live > 0 || !(sending || w->outstanding > 0))
        w->last_up = now;
    else if (now - w->last_up > g_cfg.timeout_ns)
        load_abort("no connection to %s could be established for %lld ms", g_cfg.addr_text,
                   (long long)(g_cfg.timeout_ns / 1000000));
}

static int wait_events(worker_t *w, struct epoll_event *evs, int64_t ns)
{
    static atomic_int no_pwait2;
    if (!atomic_load_explicit(&no_pwait2, memory_order_relaxed)) {
        struct timespec ts = {.tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL};
        int n = epoll_pwait2(w->epfd, evs, MAX_EVENTS, &ts, NULL);
        if (n >= 0 || errno != ENOSYS)
            return n;
        atomic_store(&no_pwait2, 1);
    }
    /* old kernels: millisecond timeouts, rounded up (the schedule is then late by < 1 ms) */
    return epoll_wait(w->epfd, evs, MAX_EVENTS, (int)((ns + 999999) / 1000000));
}

static int run(worker_t *w)
{
    struct epoll_event evs[MAX_EVENTS];
    int open = is_open(w);
    int64_t now = now_ns();
    w->last_up = now;
    int64_t period = g_cfg.timeout_ns / 4 < PERIODIC_NS ? g_cfg.timeout_ns / 4 : PERIODIC_NS;
    int64_t next_periodic = now + period;
    for (;;) {
        if (atomic_load_explicit(&g_stop, memory_order_relaxed))
            return RUN_STOPPED;
        if (w->phase == PH_MAIN && now >= g_deadline)
            return RUN_STOPPED;
        int sending;
        if (w->phase == PH_PRELOAD) {
            sending = w->pre_next < g_cfg.keys;
        } else if (open) {
            if (!w->sched_done && now >= g_t_end + GRACE_NS)
                finish_schedule(w, g_t_end);
            sending = !w->sched_done;
        } else {
            sending = now < g_t_end;
        }

        if (open && sending)
            send_due(w, now);
        if (now >= next_periodic) {
            periodic(w, now, sending);
            next_periodic = now + period;
        }
        for (int i = 0; i < w->ndirty; i++) {
            conn_t *c = w->dirty[i];
            if (!open && sending && c->state == CS_UP)
                topup(w, c, now);
            if (c->state == CS_UP && c->ooff < c->olen && !c->want_out)
                flush(w, c, now);
            c->dirty = 0;
        }
        w->ndirty = 0;

        if (w->phase == PH_PRELOAD) {
            if (!sending && w->outstanding == 0)
                return RUN_DONE;
        } else if (!sending) {
            if (w->measured_out == 0)
                return RUN_DONE;
            if (now >= g_t_end + GRACE_NS + g_cfg.timeout_ns)
                return RUN_DRAIN_TIMEOUT;
        }

        int64_t wake = next_periodic;
        if (open && sending && !w->held) {
            double margin = w->late_mean + 2 * w->late_dev;
            double cap = SPIN_SHARE * w->gap_ns < SPIN_MAX_NS ? SPIN_SHARE * w->gap_ns : SPIN_MAX_NS;
            int64_t due = (int64_t)(w->next_t - (margin < cap ? margin : cap));
            if (due < wake)
                wake = due;
        }
        int64_t d = wake - now;
        if (d < 0)
            d = 0;
        int n = wait_events(w, evs, d);
        int64_t before = now;
        now = now_ns();
        if (n == 0 && d > 0) { /* a timed sleep ran out: learn how late wake-ups are */
            double late = (double)(now - before - d);
            if (late < 0)
                late = 0;
            w->late_dev += 0.1 * (fabs(late - w->late_mean) - w->late_dev);
            w->late_mean += 0.1 * (late - w->late_mean);
        }
        for (int i = 0; i < n; i++)
            handle_event(w, &evs[i], now);
        if (n > 0)
            now = now_ns();
    }
}

/* ---- thread ---------------------------------------------------------------------- */

worker_t *worker_new(int id, const int *fds, int nfds)
{
    worker_t *w = calloc(1, sizeof *w);
    if (!w)
        abort();
    w->id = id;
    w->nconns = nfds;
    w->conns = calloc((size_t)nfds, sizeof *w->conns);
    w->dirty = calloc((size_t)nfds, sizeof *w->dirty);
    if (!w->conns || !w->dirty)
        abort();
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (w->epfd < 0)
        abort();
    for (int i = 0; i < nfds; i++) {
        conn_t *c = &w->conns[i];
        c->w = w;
        c->fd = fds[i];
        c->state = CS_UP;
        c->backoff = BACKOFF_MIN_NS;
        ep_ctl(c, EPOLL_CTL_ADD, EPOLLIN);
    }
    w->live = nfds;
    rng_seed(&w->rng_arrival, g_cfg.seed, (uint64_t)id * 3);
    rng_seed(&w->rng_req, g_cfg.seed, (uint64_t)id * 3 + 1);
    rng_seed(&w->rng_pre, g_cfg.seed, (uint64_t)id * 3 + 2);
    w->pre_next = (uint64_t)id;
    hist_init(&w->hist);
    w->late_mean = 20000;
    w->late_dev = 10000;
    return w;
}

void worker_free(worker_t *w)
{
    for (int i = 0; i < w->nconns; i++) {
        conn_t *c = &w->conns[i];
        if (c->fd >= 0)
            close(c->fd);
        free(c->obuf);
        free(c->rbuf);
        free(c->q);
    }
    if (w->epfd >= 0)
        close(w->epfd);
    free(w->conns);
    free(w->dirty);
    free(w);
}

static void mark_all_dirty(worker_t *w)
{
    for (int i = 0; i < w->nconns; i++)
        mark_dirty(w, &w->conns[i]);
}

void *worker_main(void *arg)
{
    worker_t *w = arg;
    /* Sleep-precision: the default 50 us timer slack would make every arrival late. */
    (void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);

    if (g_cfg.preload) {
        w->phase = PH_PRELOAD;
        mark_all_dirty(w);
        run(w);
    }
    pthread_barrier_wait(&g_barrier); /* everyone has preloaded */
    pthread_barrier_wait(&g_barrier); /* main has set the phase times */

    w->phase = PH_MAIN;
    if (g_cfg.rate > 0) {
        w->gap_ns = 1e9 * g_cfg.threads / g_cfg.rate;
        w->next_t = (double)g_t_start;
        if (g_cfg.poisson) {
            seg_begin(w, 0);
            advance(w);
        }
        else /* threads interleave their constant-gap arrivals */
            w->next_t += w->gap_ns * w->id / g_cfg.threads;
    }
    mark_all_dirty(w);
    int why = run(w);

    int64_t now = now_ns();
    if (g_cfg.rate > 0 && !w->sched_done)
        finish_schedule(w, now < g_t_end ? now : g_t_end);
    for (int i = 0; i < w->nconns; i++) {
        conn_t *c = &w->conns[i];
        for (uint32_t k = 0; k < c->qcount; k++)
            drop_entry(w, q_at(c, k), why == RUN_DRAIN_TIMEOUT ? FAIL_TIMEOUT : FAIL_IO);
        c->qcount = 0;
    }
    atomic_fetch_add(&g_workers_done, 1);
    return NULL;
}
