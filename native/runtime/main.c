/* The clone's entry point: `clone --port P [--host H]`. Sets up the listening socket, the scratch data file and
 * the background threads, then runs the network model until SIGTERM or SIGINT, and exits 0. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "runtime.h"

int ditto_listen_fd = -1;
const char *ditto_data_path;
sigset_t ditto_stop_signals;

static char data_dir[4096];
static char data_file[4200];
static pid_t main_pid;

_Noreturn void die(const char *what)
{
    fprintf(stderr, "clone: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void usage(void)
{
    fprintf(stderr, "usage: clone --port P [--host H]\n");
    exit(1);
}

static void remove_data_file(void)
{
    /* Worker processes exit too; only the process that created the directory removes it. */
    if (getpid() != main_pid || !data_dir[0])
        return;
    unlink(data_file);
    rmdir(data_dir);
}

static void create_data_file(void)
{
    uint64_t bytes = ditto_clone_config.data_file_bytes;
    if (!bytes)
        return;
    const char *tmp = getenv("TMPDIR");
    snprintf(data_dir, sizeof data_dir, "%s/ditto-clone-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(data_dir)) {
        data_dir[0] = 0;
        die("creating the data directory");
    }
    atexit(remove_data_file);
    snprintf(data_file, sizeof data_file, "%s/data", data_dir);
    int fd = open(data_file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        die("creating the data file");
    /* Real blocks of filler, so that reads and sendfile move bytes as the original's file accesses did. */
    static char chunk[1 << 20];
    memset(chunk, 'x', sizeof chunk);
    for (uint64_t left = bytes; left;) {
        size_t n = left < sizeof chunk ? (size_t)left : sizeof chunk;
        ssize_t w = write(fd, chunk, n);
        if (w <= 0)
            die("writing the data file");
        left -= (uint64_t)w;
    }
    close(fd);
    ditto_data_path = data_file;
}

static void listen_on(const char *host, int port)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "clone: --host %s is not an IPv4 address\n", host);
        exit(1);
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr))
        die("bind");
    if (listen(fd, 1024))
        die("listen");
    ditto_listen_fd = fd;
}

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* The request rate the processes serve, for threads whose period follows it: re-estimated at most every 50 ms
 * (one clock read per estimate, not per wake-up, keeps the thread's own instructions small), each estimate moving
 * halfway or more toward the rate over the time since the last. */
typedef struct {
    double rate;
    uint64_t served;
    struct timespec at;
} load_estimate;

#define LOAD_ESTIMATE_S 0.05
/* The plan's slope is fitted between the profiled rate and 4x it; it is followed down to 1% of the reference (an
 * idle service does not stop the thread) and up to 100x, and never below a 10 us period. */
#define LOAD_RATIO_MIN 0.01
#define LOAD_RATIO_MAX 100.0
#define MIN_PERIOD_NS 10000.0

static uint64_t period_at_load(const ditto_background_config *b, load_estimate *e, const struct timespec *now)
{
    uint64_t served = served_requests_so_far();
    double dt = seconds_between(&e->at, now);
    double weight = dt < 2 * LOAD_ESTIMATE_S ? dt / (2 * LOAD_ESTIMATE_S) : 1;
    e->rate += weight * ((double)(served - e->served) / dt - e->rate);
    e->served = served;
    e->at = *now;
    double ratio = e->rate / b->reference_rate;
    ratio = ratio < LOAD_RATIO_MIN ? LOAD_RATIO_MIN : ratio > LOAD_RATIO_MAX ? LOAD_RATIO_MAX : ratio;
    double period = (double)b->period_ns * pow(ratio, -b->rate_exponent);
    return (uint64_t)(period < MIN_PERIOD_NS ? MIN_PERIOD_NS : period);
}

/* Moves the next wake-up no earlier than what keeps the time awake since `woke` to `share` of wall time: a wake-up
 * slowed down (valgrind, a contended CPU) spaces the next ones out instead of running them back to back. */
static void keep_busy_share(double share, const struct timespec *woke, struct timespec *next)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double rest = seconds_between(woke, &now) * (1 / share - 1);
    uint64_t ns = (uint64_t)now.tv_nsec + (uint64_t)(rest * 1e9);
    struct timespec earliest = {.tv_sec = now.tv_sec + (time_t)(ns / 1000000000u), .tv_nsec = (long)(ns % 1000000000u)};
    if (seconds_between(next, &earliest) > 0)
        *next = earliest;
}

static void *background_thread(void *arg)
{
    const ditto_background_config *b = arg;
    if (!b->period_ns) {
        /* Idle: exists, as the original's thread did, and never runs. Stop signals are blocked here. */
        for (;;)
            pause();
    }
    ditto_thread t;
    thread_init(&t);
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    load_estimate load = {.rate = b->reference_rate, .served = served_requests_so_far(), .at = next};
    uint64_t period_ns = b->period_ns;
    for (;;) {
        uint64_t ns = (uint64_t)next.tv_nsec + period_ns;
        next.tv_sec += (time_t)(ns / 1000000000u);
        next.tv_nsec = (long)(ns % 1000000000u);
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
            ;
        if (b->body) {
            struct timespec woke;
            if (b->busy_share > 0)
                clock_gettime(CLOCK_MONOTONIC, &woke);
            b->body(&t.ctx);
            t.ctx.request_id++;
            if (b->busy_share > 0)
                keep_busy_share(b->busy_share, &woke, &next);
        }
        if (b->reference_rate > 0 && seconds_between(&load.at, &next) >= LOAD_ESTIMATE_S) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            period_ns = period_at_load(b, &load, &now);
            /* Fallen behind by more than a period (CPU contention): start again from now rather than run the
             * missed wake-ups back to back. */
            if (seconds_between(&next, &now) * 1e9 > (double)period_ns)
                next = now;
        }
    }
    return NULL;
}

void start_background(void)
{
    for (size_t g = 0; g < ditto_clone_config.background_count; g++) {
        const ditto_background_config *b = &ditto_clone_config.background[g];
        for (uint32_t i = 0; i < b->count; i++) {
            pthread_t th;
            if (pthread_create(&th, NULL, background_thread, (void *)b))
                die("creating a background thread");
            pthread_detach(th);
        }
    }
}

int main(int argc, char **argv)
{
    /* The generated bodies address their far streams with rorx (src/emit/body/block.ts). */
    if (!__builtin_cpu_supports("bmi2")) {
        fprintf(stderr, "clone: this CPU lacks BMI2 (rorx), which the generated code uses; "
                        "run it on an x86-64 CPU from 2013 or later\n");
        return 1;
    }
    const char *host = "127.0.0.1";
    int port = -1;
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--port") == 0) {
            char *end;
            long p = strtol(argv[++i], &end, 10);
            if (*end || p < 0 || p > 65535)
                usage();
            port = (int)p;
        } else if (i + 1 < argc && strcmp(argv[i], "--host") == 0) {
            host = argv[++i];
        } else {
            usage();
        }
    }
    if (port < 0)
        usage();
    main_pid = getpid();
    /* Stop signals are taken from a signalfd by the main thread; every thread inherits the blocked mask. */
    sigemptyset(&ditto_stop_signals);
    sigaddset(&ditto_stop_signals, SIGTERM);
    sigaddset(&ditto_stop_signals, SIGINT);
    sigset_t blocked = ditto_stop_signals;
    sigaddset(&blocked, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &blocked, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* The file and the bodies' data first: the service is ready when the port accepts, not while its first
     * thread still writes and touches tens of MiB (0.3 s under valgrind for redis's clone; its first request
     * waited that long). Forked workers build their own after the fork: each keeps its own copy (work.c). */
    create_data_file();
    for (size_t g = 0; g < ditto_clone_config.background_count; g++)
        if (ditto_clone_config.background[g].reference_rate > 0) {
            count_served_requests();
            break;
        }
    if (!model_forks())
        prepare_body_data();
    listen_on(host, port);
    run_model();
    exit(0);
}
