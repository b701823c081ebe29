/* ditto-load: open-loop (fixed-rate) and closed-loop load generator for
 * memcached (text), redis (RESP) and HTTP/1.1. Options, start-up connections,
 * threads, phase timing and the JSON report live here; the event loop is in
 * worker.c. Exit codes: 0 report printed (also when interrupted or aborted),
 * 2 bad command line, 3 cannot connect at start. */
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "load.h"
#include "worker.h"

config_t g_cfg;
int64_t g_t_start, g_t_meas, g_t_end, g_deadline;
atomic_int g_stop;
atomic_int g_workers_done;
volatile sig_atomic_t g_interrupted;
pthread_barrier_t g_barrier;

static atomic_int g_aborted;
static char g_abort_reason[512];

void load_abort(const char *fmt, ...)
{
    int expected = 0;
    if (atomic_compare_exchange_strong(&g_aborted, &expected, 1)) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(g_abort_reason, sizeof g_abort_reason, fmt, ap);
        va_end(ap);
    }
    atomic_store(&g_stop, 1);
}

static void on_signal(int sig)
{
    (void)sig;
    g_interrupted = 1;
    atomic_store(&g_stop, 1);
}

/* ---- options ---------------------------------------------------------------- */

static const char usage[] =
    "usage: ditto-load --host H --port P --protocol memcached|redis|http [options]\n"
    "  --rate R              total requests/s; 0 or absent: closed loop\n"
    "  --arrival poisson|constant   open-loop inter-arrival gaps (default poisson)\n"
    "  --connections N (8)   --threads T (1)   --depth D (1, closed loop)\n"
    "  --duration S (5)      --warmup S (1)\n"
    "  --keys N (10000)      --key-size B (16)  --key-dist uniform|zipf  --zipf-s X (0.99)\n"
    "  --get-ratio F (0.9)   --value-size B (100) | --value-sizes 64:0.3,1024:0.7\n"
    "  --preload             --paths /a,/b      --host-header H\n"
    "  --timeout-ms M (2000) --max-outstanding K (1024)  --seed S (1)  --histogram\n"
    "Prints one JSON object on stdout.\n";

static void die_opt(const char *opt, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void die_opt(const char *opt, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "ditto-load: %s: %s\n", opt, msg);
    exit(2);
}

static double opt_double(const char *opt, const char *v, double lo, double hi)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(d) || d < lo || d > hi)
        die_opt(opt, "expected a number in [%g, %g], got '%s'", lo, hi, v);
    return d;
}

static uint64_t opt_uint(const char *opt, const char *v, uint64_t lo, uint64_t hi)
{
    char *end;
    errno = 0;
    if (*v < '0' || *v > '9')
        die_opt(opt, "expected an integer in [%llu, %llu], got '%s'", (unsigned long long)lo,
                (unsigned long long)hi, v);
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi)
        die_opt(opt, "expected an integer in [%llu, %llu], got '%s'", (unsigned long long)lo,
                (unsigned long long)hi, v);
    return x;
}

static int has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

typedef struct rawopts {
    const char *paths, *host_header, *value_sizes;
    int have_value_size;
    uint64_t value_size;
    int have_port;
} rawopts_t;

static void parse_args(int argc, char **argv, rawopts_t *ro)
{
    config_t *c = &g_cfg;
    c->host = "127.0.0.1";
    c->poisson = 1;
    c->connections = 8;
    c->threads = 1;
    c->duration = 5;
    c->warmup = 1;
    c->depth = 1;
    c->keys = 10000;
    c->key_size = 16;
    c->zipf_s = 0.99;
    c->get_ratio = 0.9;
    c->timeout_ns = 2000LL * 1000000LL;
    c->max_outstanding = 1024;
    c->seed = 1;
    ro->value_size = 100;

    for (int i = 1; i < argc; i++) {
        char name[64];
        const char *a = argv[i], *val = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            exit(0);
        }
        if (strncmp(a, "--", 2) != 0)
            die_opt(a, "unexpected argument (options start with --)");
        const char *eq = strchr(a, '=');
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        if (nl >= sizeof name)
            die_opt(a, "unknown option");
        memcpy(name, a, nl);
        name[nl] = '\0';
        const char *o = name;
        int is_flag = strcmp(o, "--preload") == 0 || strcmp(o, "--histogram") == 0;
        if (is_flag) {
            if (eq)
                die_opt(o, "takes no value");
        } else if (eq) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        }
#define NEED_VAL()                             \
    do {                                       \
        if (!val)                              \
            die_opt(o, "missing value");       \
    } while (0)
        if (strcmp(o, "--preload") == 0) {
            c->preload = 1;
        } else if (strcmp(o, "--histogram") == 0) {
            c->histogram = 1;
        } else if (strcmp(o, "--host") == 0) {
            NEED_VAL();
            if (!*val)
                die_opt(o, "empty host");
            c->host = val;
        } else if (strcmp(o, "--port") == 0) {
            NEED_VAL();
            c->port = (int)opt_uint(o, val, 1, 65535);
            ro->have_port = 1;
        } else if (strcmp(o, "--protocol") == 0) {
            NEED_VAL();
            if (strcmp(val, "memcached") == 0)
                c->proto = &proto_memcached;
            else if (strcmp(val, "redis") == 0)
                c->proto = &proto_redis;
            else if (strcmp(val, "http") == 0)
                c->proto = &proto_http;
            else
                die_opt(o, "expected memcached, redis or http, got '%s'", val);
            c->protocol = val;
            c->is_http = c->proto == &proto_http;
        } else if (strcmp(o, "--rate") == 0) {
            NEED_VAL();
            c->rate = opt_double(o, val, 0, 1e8);
        } else if (strcmp(o, "--arrival") == 0) {
            NEED_VAL();
            if (strcmp(val, "poisson") == 0)
                c->poisson = 1;
            else if (strcmp(val, "constant") == 0)
                c->poisson = 0;
            else
                die_opt(o, "expected poisson or constant, got '%s'", val);
        } else if (strcmp(o, "--connections") == 0) {
            NEED_VAL();
            c->connections = (int)opt_uint(o, val, 1, 100000);
        } else if (strcmp(o, "--threads") == 0) {
            NEED_VAL();
            c->threads = (int)opt_uint(o, val, 1, 1024);
        } else if (strcmp(o, "--duration") == 0) {
            NEED_VAL();
            c->duration = opt_double(o, val, 1e-3, 1e6);
        } else if (strcmp(o, "--warmup") == 0) {
            NEED_VAL();
            c->warmup = opt_double(o, val, 0, 1e6);
        } else if (strcmp(o, "--depth") == 0) {
            NEED_VAL();
            c->depth = (int)opt_uint(o, val, 1, 65536);
        } else if (strcmp(o, "--keys") == 0) {
            NEED_VAL();
            c->keys = opt_uint(o, val, 1, UINT32_MAX);
        } else if (strcmp(o, "--key-size") == 0) {
            NEED_VAL();
            c->key_size = (int)opt_uint(o, val, 1, 4096);
        } else if (strcmp(o, "--key-dist") == 0) {
            NEED_VAL();
            if (strcmp(val, "uniform") == 0)
                c->zipf = 0;
            else if (strcmp(val, "zipf") == 0)
                c->zipf = 1;
            else
                die_opt(o, "expected uniform or zipf, got '%s'", val);
        } else if (strcmp(o, "--zipf-s") == 0) {
            NEED_VAL();
            c->zipf_s = opt_double(o, val, 0.0, 100.0);
            if (!(c->zipf_s > 0))
                die_opt(o, "must be > 0");
        } else if (strcmp(o, "--get-ratio") == 0) {
            NEED_VAL();
            c->get_ratio = opt_double(o, val, 0, 1);
        } else if (strcmp(o, "--value-size") == 0) {
            NEED_VAL();
            ro->value_size = opt_uint(o, val, 0, VSIZE_MAX);
            ro->have_value_size = 1;
        } else if (strcmp(o, "--value-sizes") == 0) {
            NEED_VAL();
            ro->value_sizes = val;
        } else if (strcmp(o, "--paths") == 0) {
            NEED_VAL();
            ro->paths = val;
        } else if (strcmp(o, "--host-header") == 0) {
            NEED_VAL();
            if (!*val || has_ctl(val))
                die_opt(o, "must be non-empty without control characters");
            ro->host_header = val;
        } else if (strcmp(o, "--timeout-ms") == 0) {
            NEED_VAL();
            c->timeout_ns = (int64_t)opt_uint(o, val, 1, 3600000) * 1000000LL;
        } else if (strcmp(o, "--max-outstanding") == 0) {
            NEED_VAL();
            c->max_outstanding = (int)opt_uint(o, val, 1, 1 << 20);
        } else if (strcmp(o, "--seed") == 0) {
            NEED_VAL();
            c->seed = opt_uint(o, val, 0, UINT64_MAX);
        } else {
            die_opt(o, "unknown option");
        }
#undef NEED_VAL
    }
    if (!ro->have_port)
        die_opt("--port", "required");
    if (!c->proto)
        die_opt("--protocol", "required (memcached, redis or http)");
    if (c->threads > c->connections)
        die_opt("--threads", "must not exceed --connections (%d)", c->connections);
    if (ro->have_value_size && ro->value_sizes)
        die_opt("--value-sizes", "give either --value-size or --value-sizes");
    if (c->preload && c->is_http)
        die_opt("--preload", "only for memcached and redis");
    if (!c->is_http && key_mode(c->keys, c->key_size) < 0)
        die_opt("--key-size", "%d bytes cannot hold %llu distinct keys (needs at least %d)", c->key_size,
                (unsigned long long)c->keys, key_digits_base(c->keys - 1, 62));
    if (c->proto == &proto_memcached && c->key_size > 250)
        die_opt("--key-size", "memcached keys are at most 250 bytes");
    if (!c->is_http && ro->paths)
        die_opt("--paths", "only for http");
}

/* ---- set-up -------------------------------------------------------------------- */

static void fmt_addr(void)
{
    if (strchr(g_cfg.host, ':'))
        snprintf(g_cfg.addr_text, sizeof g_cfg.addr_text, "[%s]:%d", g_cfg.host, g_cfg.port);
    else
        snprintf(g_cfg.addr_text, sizeof g_cfg.addr_text, "%s:%d", g_cfg.host, g_cfg.port);
}

static void resolve(void)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    char port[16];
    snprintf(port, sizeof port, "%d", g_cfg.port);
    int rc = getaddrinfo(g_cfg.host, port, &hints, &res);
    if (rc != 0 || !res) {
        fprintf(stderr, "ditto-load: resolve %s: %s\n", g_cfg.host, gai_strerror(rc));
        exit(3);
    }
    memcpy(&g_cfg.addr, res->ai_addr, res->ai_addrlen);
    g_cfg.addrlen = res->ai_addrlen;
    freeaddrinfo(res);
}

/* Blocking connect with the request timeout; returns the fd or -errno. */
static int connect_one(void)
{
    int fd = socket(g_cfg.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (const struct sockaddr *)&g_cfg.addr, g_cfg.addrlen) != 0) {
        if (errno != EINPROGRESS) {
            int e = errno;
            close(fd);
            return -e;
        }
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int r = poll(&p, 1, (int)(g_cfg.timeout_ns / 1000000));
        int err = 0;
        socklen_t len = sizeof err;
        if (r == 0)
            err = ETIMEDOUT;
        else if (r < 0)
            err = errno;
        else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
            err = errno;
        if (err) {
            close(fd);
            return -err;
        }
    }
    return fd;
}

static void build_workload(const rawopts_t *ro)
{
    config_t *c = &g_cfg;
    char err[256];
    if (ro->value_sizes) {
        if (vsizes_parse(&c->vs, ro->value_sizes, err, sizeof err))
            die_opt("--value-sizes", "%s", err);
    } else {
        vsizes_fixed(&c->vs, (uint32_t)ro->value_size);
    }
    keygen_init(&c->kg, c->keys, c->zipf, c->zipf_s);
    char *filler = malloc(c->vs.max + 1);
    if (!filler)
        abort();
    memset(filler, 'x', c->vs.max);
    c->wl.key_size = c->key_size;
    c->wl.key_mode = key_mode(c->keys, c->key_size);
    c->wl.filler = filler;
    if (c->is_http) {
        const char *paths = ro->paths ? ro->paths : "/";
        char host[400];
        if (ro->host_header)
            snprintf(host, sizeof host, "%s", ro->host_header);
        else
            snprintf(host, sizeof host, "%s", c->addr_text);
        int n = 1;
        for (const char *p = paths; *p; p++)
            n += *p == ',';
        const char **req = calloc((size_t)n, sizeof *req);
        size_t *len = calloc((size_t)n, sizeof *len);
        if (!req || !len)
            abort();
        const char *p = paths;
        for (int i = 0; i < n; i++) {
            const char *e = strchr(p, ',');
            size_t pl = e ? (size_t)(e - p) : strlen(p);
            if (pl == 0 || p[0] != '/')
                die_opt("--paths", "each path must start with '/', got '%.*s'", (int)pl, p);
            for (size_t k = 0; k < pl; k++)
                if ((unsigned char)p[k] <= 0x20 || p[k] == 0x7f)
                    die_opt("--paths", "paths may not contain spaces or control characters");
            char *r;
            int rl = asprintf(&r, "GET %.*s HTTP/1.1\r\nHost: %s\r\n\r\n", (int)pl, p, host);
            if (rl < 0)
                abort();
            req[i] = r;
            len[i] = (size_t)rl;
            p = e ? e + 1 : p + pl;
        }
        c->wl.npaths = n;
        c->wl.http_req = req;
        c->wl.http_len = len;
    }
}

/* ---- report ----------------------------------------------------------------------- */

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void report(worker_t **ws, double meas_s, const struct rusage *ru0, const struct rusage *ru1)
{
    const config_t *c = &g_cfg;
    stats_t s = {0};
    hist_t *h = calloc(1, sizeof *h);
    if (!h)
        abort();
    hist_init(h);
    for (int i = 0; i < c->threads; i++) {
        const stats_t *t = &ws[i]->st;
        s.requests += t->requests;
        s.responses += t->responses;
        s.errors += t->errors;
        s.timeouts += t->timeouts;
        s.dropped += t->dropped;
        s.unsent += t->unsent;
        s.protocol_errors += t->protocol_errors;
        s.reconnects += t->reconnects;
        s.server_closes += t->server_closes;
        s.hits += t->hits;
        s.misses += t->misses;
        s.gets += t->gets;
        s.sets += t->sets;
        s.bytes_sent += t->bytes_sent;
        s.bytes_received += t->bytes_received;
        s.lag_sum += t->lag_sum;
        s.lag_n += t->lag_n;
        if (t->lag_max > s.lag_max)
            s.lag_max = t->lag_max;
        s.preloaded += t->preloaded;
        hist_merge(h, &ws[i]->hist);
    }
    int open = c->rate > 0;
    FILE *f = stdout;
    fprintf(f, "{\"tool\":\"ditto-load\",\"version\":1,\"protocol\":");
    json_str(f, c->protocol);
    fprintf(f, ",\"mode\":\"%s\",\"arrival\":", open ? "open" : "closed");
    if (open)
        fprintf(f, "\"%s\"", c->poisson ? "poisson" : "constant");
    else
        fprintf(f, "null");
    fprintf(f, ",\"requestedRate\":%.3f,\"achievedRate\":%.3f,\"scheduledRate\":", c->rate,
            meas_s > 0 ? (double)s.requests / meas_s : 0.0);
    if (open)
        fprintf(f, "%.3f", meas_s > 0 ? (double)(s.requests + s.unsent) / meas_s : 0.0);
    else
        fprintf(f, "null");
    fprintf(f, ",\"durationS\":%.6f,\"warmupS\":%.6f,\"connections\":%d,\"threads\":%d", meas_s, c->warmup,
            c->connections, c->threads);
    if (!open)
        fprintf(f, ",\"depth\":%d", c->depth);
    fprintf(f,
            ",\"requests\":%llu,\"responses\":%llu,\"errors\":%llu,\"timeouts\":%llu,\"dropped\":%llu"
            ",\"unsent\":%llu,\"protocolErrors\":%llu,\"reconnects\":%llu,\"serverCloses\":%llu",
            (unsigned long long)s.requests, (unsigned long long)s.responses, (unsigned long long)s.errors,
            (unsigned long long)s.timeouts, (unsigned long long)s.dropped, (unsigned long long)s.unsent,
            (unsigned long long)s.protocol_errors, (unsigned long long)s.reconnects,
            (unsigned long long)s.server_closes);
    fprintf(f, ",\"hits\":%llu,\"misses\":%llu,\"gets\":%llu,\"sets\":%llu", (unsigned long long)s.hits,
            (unsigned long long)s.misses, (unsigned long long)s.gets, (unsigned long long)s.sets);
    fprintf(f, ",\"bytesSent\":%llu,\"bytesReceived\":%llu", (unsigned long long)s.bytes_sent,
            (unsigned long long)s.bytes_received);
    if (c->preload)
        fprintf(f, ",\"preloaded\":%llu", (unsigned long long)s.preloaded);
    if (h->total) {
        fprintf(f,
                ",\"latencyUs\":{\"min\":%.3f,\"mean\":%.3f,\"p50\":%.3f,\"p90\":%.3f,\"p95\":%.3f,"
                "\"p99\":%.3f,\"p999\":%.3f,\"p9999\":%.3f,\"max\":%.3f}",
                (double)h->min / 1e3, h->sum / (double)h->total / 1e3, hist_percentile(h, 50) / 1e3,
                hist_percentile(h, 90) / 1e3, hist_percentile(h, 95) / 1e3, hist_percentile(h, 99) / 1e3,
                hist_percentile(h, 99.9) / 1e3, hist_percentile(h, 99.99) / 1e3, (double)h->max / 1e3);
    } else {
        fprintf(f, ",\"latencyUs\":{\"min\":null,\"mean\":null,\"p50\":null,\"p90\":null,\"p95\":null,"
                   "\"p99\":null,\"p999\":null,\"p9999\":null,\"max\":null}");
    }
    if (open && s.lag_n)
        fprintf(f, ",\"scheduleLagUs\":{\"mean\":%.3f,\"max\":%.3f}", s.lag_sum / (double)s.lag_n / 1e3,
                (double)s.lag_max / 1e3);
    else if (open)
        fprintf(f, ",\"scheduleLagUs\":{\"mean\":0,\"max\":0}");
    else
        fprintf(f, ",\"scheduleLagUs\":null");
    double us = 0, sy = 0;
    if (ru0 && ru1) {
        us = tv_s(ru1->ru_utime) - tv_s(ru0->ru_utime);
        sy = tv_s(ru1->ru_stime) - tv_s(ru0->ru_stime);
    }
    fprintf(f, ",\"cpu\":{\"userS\":%.6f,\"systemS\":%.6f}", us, sy);
    fprintf(f, ",\"interrupted\":%s,\"aborted\":", g_interrupted ? "true" : "false");
    if (atomic_load(&g_aborted))
        json_str(f, g_abort_reason);
    else
        fprintf(f, "null");
    if (c->histogram) {
        fprintf(f, ",\"histogram\":[");
        int first = 1;
        for (int i = 0; i < HIST_BUCKETS; i++) {
            if (!h->counts[i])
                continue;
            fprintf(f, "%s[%.4f,%llu]", first ? "" : ",", hist_bucket_value(i) / 1e3,
                    (unsigned long long)h->counts[i]);
            first = 0;
        }
        fprintf(f, "]");
    }
    fprintf(f, "}\n");
    fflush(f);
    free(h);
}

/* ---- main ---------------------------------------------------------------------------- */

static void sleep_until(int64_t t)
{
    struct timespec ts = {.tv_sec = t / 1000000000LL, .tv_nsec = t % 1000000000LL};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !atomic_load(&g_stop))
        ;
}

int main(int argc, char **argv)
{
    rawopts_t ro = {0};
    parse_args(argc, argv, &ro);
    fmt_addr();
    build_workload(&ro);
    resolve();

    config_t *c = &g_cfg;
    int *fds = calloc((size_t)c->connections, sizeof *fds);
    if (!fds)
        abort();
    for (int i = 0; i < c->connections; i++) {
        fds[i] = connect_one();
        if (fds[i] < 0) {
            fprintf(stderr, "ditto-load: connect %s: %s\n", c->addr_text, strerror(-fds[i]));
            return 3;
        }
    }

    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* Connection i goes to thread i % T. */
    worker_t **ws = calloc((size_t)c->threads, sizeof *ws);
    int *tfds = calloc((size_t)c->connections, sizeof *tfds);
    if (!ws || !tfds)
        abort();
    for (int t = 0; t < c->threads; t++) {
        int n = 0;
        for (int i = t; i < c->connections; i += c->threads)
            tfds[n++] = fds[i];
        ws[t] = worker_new(t, tfds, n);
    }
    free(tfds);
    free(fds);

    pthread_barrier_init(&g_barrier, NULL, (unsigned)c->threads + 1);
    /* Workers leave signals to the main thread, so their sleeps are not cut short. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    for (int t = 0; t < c->threads; t++) {
        int rc = pthread_create(&ws[t]->tid, NULL, worker_main, ws[t]);
        if (rc) {
            fprintf(stderr, "ditto-load: cannot start thread: %s\n", strerror(rc));
            return 2;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    pthread_barrier_wait(&g_barrier); /* preload done */
    int64_t now = now_ns();
    g_t_start = now + 1000000; /* 1 ms for the workers to get going */
    g_t_meas = g_t_start + (int64_t)(c->warmup * 1e9);
    g_t_end = g_t_meas + (int64_t)(c->duration * 1e9);
    g_deadline = g_t_end + c->timeout_ns + 2000000000LL;
    pthread_barrier_wait(&g_barrier);

    /* Bracket the measured window with getrusage; wait for the workers. */
    struct rusage ru0, ru1;
    int have0 = 0, have1 = 0;
    int64_t meas_end = g_t_end;
    for (;;) {
        now = now_ns();
        if (!have0 && now >= g_t_meas && !atomic_load(&g_stop)) {
            getrusage(RUSAGE_SELF, &ru0);
            have0 = 1;
        }
        if (!have1 && (now >= g_t_end || atomic_load(&g_stop))) {
            getrusage(RUSAGE_SELF, &ru1);
            have1 = 1;
            meas_end = now < g_t_end ? now : g_t_end;
        }
        if (atomic_load(&g_workers_done) == c->threads)
            break;
        if (now >= g_deadline + 1000000000LL)
            break; /* a worker is stuck: report anyway */
        if (now >= g_deadline)
            atomic_store(&g_stop, 1);
        int64_t next = now + 5000000;
        if (!have0 && g_t_meas < next)
            next = g_t_meas;
        else if (have0 && !have1 && g_t_end < next)
            next = g_t_end;
        sleep_until(next);
    }
    int all_done = atomic_load(&g_workers_done) == c->threads;
    if (all_done)
        for (int t = 0; t < c->threads; t++)
            pthread_join(ws[t]->tid, NULL);

    double meas_s = have0 && meas_end > g_t_meas ? (double)(meas_end - g_t_meas) / 1e9 : 0.0;
    report(ws, meas_s, have0 ? &ru0 : NULL, have0 && have1 ? &ru1 : NULL);
    if (!all_done) {
        fflush(stdout);
        _exit(0);
    }
    for (int t = 0; t < c->threads; t++)
        worker_free(ws[t]);
    free(ws);
    vsizes_free(&c->vs);
    free((void *)c->wl.filler);
    if (c->is_http) {
        for (int i = 0; i < c->wl.npaths; i++)
            free((void *)c->wl.http_req[i]);
        free((void *)c->wl.http_req);
        free((void *)c->wl.http_len);
    }
    return 0;
}
