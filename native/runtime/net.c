/* The network and thread models. The main thread of each serving process also waits for the stop signals
 * (through a signalfd), so a clone has no thread the original did not have beyond its planned roles. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime.h"

/* Epoll data of the two descriptors that are not connections. */
static char listen_tag, signal_tag;

void set_nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void set_nonblocking(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void spawn(void *(*fn)(void *), void *arg)
{
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &attr, fn, arg))
        die("creating a thread");
    pthread_attr_destroy(&attr);
}

static int stop_fd(int with_children)
{
    sigset_t set = ditto_stop_signals;
    if (with_children)
        sigaddset(&set, SIGCHLD);
    int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0)
        die("signalfd");
    return fd;
}

static void watch(int epfd, int fd, uint32_t events, void *ptr)
{
    struct epoll_event ev = {.events = events, .data.ptr = ptr};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev))
        die("epoll_ctl");
}

static void rewatch(int epfd, conn *c, uint32_t events)
{
    struct epoll_event ev = {.events = events | EPOLLRDHUP, .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void close_conn(int epfd, conn *c)
{
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    conn_free(c);
}

static void adopt(int epfd, int fd)
{
    set_nonblocking(fd);
    set_nodelay(fd);
    watch(epfd, fd, EPOLLIN | EPOLLRDHUP, conn_new(fd));
}

/* Reads and answers what a ready connection sent; 0 when it closed (and is freed). */
static int serve_input(int epfd, conn *c, ditto_thread *t)
{
    if (c->waiting_out)
        return 1;
    if (conn_read(c) < 0) {
        close_conn(epfd, c);
        return 0;
    }
    conn_process(c, t);
    return 1;
}

static void flush_conn(int epfd, conn *c, ditto_thread *t)
{
    int r = out_flush(&c->out, c->fd, t->data_fd);
    if (r < 0 || (r > 0 && c->close_after)) {
        close_conn(epfd, c);
    } else if (r == 0 && !c->waiting_out) {
        /* Stop reading until the peer takes what it asked for, so a slow reader cannot grow our buffers. */
        c->waiting_out = 1;
        rewatch(epfd, c, EPOLLOUT);
    } else if (r > 0 && c->waiting_out) {
        c->waiting_out = 0;
        /* Level-triggered: input that arrived meanwhile wakes this loop again. */
        rewatch(epfd, c, EPOLLIN);
    }
}

/* One epoll network thread: serves its connections, and accepts too when `accepts`; returns on a stop signal.
 * With loop-pass ops, a pass answers its ready connections, makes the ops once for all of them, and only then
 * sends their responses, as a server that logs and syncs a pass's writes before it acknowledges them. */
static void epoll_loop(int epfd, int accepts)
{
    ditto_thread t;
    thread_init(&t);
    int hold = plan_has_pass_ops();
    struct epoll_event ev[64];
    conn *held[64];
    for (;;) {
        int n = epoll_wait(epfd, ev, 64, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("epoll_wait");
        int nheld = 0;
        for (int i = 0; i < n; i++) {
            void *p = ev[i].data.ptr;
            if (p == &signal_tag) {
                return;
            } else if (p == &listen_tag) {
                for (int k = 0; accepts && k < 64; k++) {
                    int fd = accept4(ditto_listen_fd, NULL, NULL, SOCK_CLOEXEC);
                    if (fd < 0)
                        break;
                    adopt(epfd, fd);
                }
            } else if (serve_input(epfd, p, &t)) {
                if (hold)
                    held[nheld++] = p;
                else
                    flush_conn(epfd, p, &t);
            }
        }
        pass_work(&t);
        for (int i = 0; i < nheld; i++)
            flush_conn(epfd, held[i], &t);
    }
}

static int new_epoll(int accepts, int sigfd)
{
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0)
        die("epoll_create1");
    /* Exclusive: a new connection wakes one of the loops sharing the listening socket, not all of them. */
    if (accepts)
        watch(epfd, ditto_listen_fd, EPOLLIN | EPOLLEXCLUSIVE, &listen_tag);
    if (sigfd >= 0)
        watch(epfd, sigfd, EPOLLIN, &signal_tag);
    return epfd;
}

static void *network_thread(void *arg)
{
    int *spec = arg; /* [epfd, accepts] */
    epoll_loop(spec[0], spec[1]);
    return NULL;
}

/* `count` event loops, the first on the calling thread with the stop signals; returns on a stop signal. */
static void event_loops(uint32_t count, int accepts)
{
    for (uint32_t i = 1; i < count; i++) {
        int *spec = malloc(2 * sizeof *spec);
        if (!spec)
            die("allocating a network thread");
        spec[0] = new_epoll(accepts, -1);
        spec[1] = accepts;
        spawn(network_thread, spec);
    }
    epoll_loop(new_epoll(accepts, stop_fd(0)), accepts);
}

/* Acceptors of the dispatch and thread-per-connection models. */
typedef void (*conn_handler)(int fd);
static conn_handler handle_accepted;
static int *dispatch_epfd;
static uint32_t dispatch_count;
static atomic_uint next_thread;

static void to_network_thread(int fd)
{
    adopt(dispatch_epfd[atomic_fetch_add(&next_thread, 1) % dispatch_count], fd);
}

static void *connection_thread(void *arg)
{
    int fd = (int)(intptr_t)arg;
    ditto_thread t;
    thread_init(&t);
    serve_connection(fd, &t, ditto_clone_config.io == DITTO_IO_NONBLOCKING);
    thread_release(&t);
    return NULL;
}

static void to_new_thread(int fd)
{
    spawn(connection_thread, (void *)(intptr_t)fd);
}

/* Waits for connections (and, with sigfd >= 0, the stop signals); returns on a stop signal. */
static void accept_loop(int sigfd)
{
    struct pollfd p[2] = {{.fd = ditto_listen_fd, .events = POLLIN}, {.fd = sigfd, .events = POLLIN}};
    for (;;) {
        if (poll(p, sigfd >= 0 ? 2 : 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            die("poll");
        }
        if (sigfd >= 0 && p[1].revents)
            return;
        if (p[0].revents) {
            int fd = accept4(ditto_listen_fd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0)
                handle_accepted(fd);
        }
    }
}

static void *acceptor_thread(void *arg)
{
    (void)arg;
    accept_loop(-1);
    return NULL;
}

static void acceptors(uint32_t count)
{
    for (uint32_t i = 1; i < count; i++)
        spawn(acceptor_thread, NULL);
    accept_loop(stop_fd(0));
}

/* Child processes of the two process models, and what the master does when one of them dies. */
static pid_t *children;
static size_t nchildren, children_cap;

static void add_child(pid_t pid)
{
    if (nchildren == children_cap) {
        children_cap = children_cap ? children_cap * 2 : 16;
        children = realloc(children, children_cap * sizeof *children);
        if (!children)
            die("allocating the child table");
    }
    children[nchildren++] = pid;
}

static void stop_children(void)
{
    for (size_t i = 0; i < nchildren; i++)
        kill(children[i], SIGTERM);
    for (size_t i = 0; i < nchildren; i++)
        waitpid(children[i], NULL, 0);
    nchildren = 0;
}

/* Reaps exited children. A worker that exits ends the service; a crash ends it with the same signal, so
 * whoever started the clone sees the crash. */
static void reap(int workers_must_live)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (size_t i = 0; i < nchildren; i++)
            if (children[i] == pid)
                children[i] = children[--nchildren];
        if (WIFSIGNALED(status) && WTERMSIG(status) != SIGTERM) {
            int sig = WTERMSIG(status);
            fprintf(stderr, "clone: process %d killed by signal %d\n", (int)pid, sig);
            stop_children();
            exit(128 + sig);
        }
        if (workers_must_live) {
            fprintf(stderr, "clone: worker %d exited\n", (int)pid);
            stop_children();
            exit(WIFEXITED(status) && WEXITSTATUS(status) ? WEXITSTATUS(status) : 1);
        }
    }
}

/* Drains the signalfd; 1 when a stop signal was among what arrived. */
static int stop_requested(int sigfd)
{
    struct signalfd_siginfo si;
    int stop = 0;
    while (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si)
        if (si.ssi_signo != SIGCHLD)
            stop = 1;
    return stop;
}

static void process_workers(void)
{
    uint32_t workers = ditto_clone_config.worker_processes ? ditto_clone_config.worker_processes : 1;
    int sigfd = stop_fd(1);
    for (uint32_t i = 0; i < workers; i++) {
        pid_t pid = fork();
        if (pid < 0)
            die("fork");
        if (pid == 0) {
            close(sigfd);
            event_loops(ditto_clone_config.network_threads, 1);
            exit(0);
        }
        add_child(pid);
    }
    start_background();
    struct pollfd p = {.fd = sigfd, .events = POLLIN};
    for (;;) {
        if (poll(&p, 1, -1) < 0 && errno != EINTR)
            die("poll");
        if (stop_requested(sigfd))
            break;
        reap(1);
    }
    stop_children();
}

static void on_child_term(int sig)
{
    (void)sig;
    _exit(0);
}

static void process_per_connection(void)
{
    int sigfd = stop_fd(1);
    start_background();
    struct pollfd p[2] = {{.fd = ditto_listen_fd, .events = POLLIN}, {.fd = sigfd, .events = POLLIN}};
    for (;;) {
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            die("poll");
        }
        if (p[1].revents) {
            if (stop_requested(sigfd))
                break;
            reap(0);
        }
        if (!p[0].revents)
            continue;
        int fd = accept4(ditto_listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        pid_t pid = fork();
        if (pid == 0) {
            /* The child only serves its connection; a stop signal ends it at once. */
            close(ditto_listen_fd);
            close(sigfd);
            signal(SIGTERM, on_child_term);
            signal(SIGINT, on_child_term);
            sigprocmask(SIG_UNBLOCK, &ditto_stop_signals, NULL);
            ditto_thread t;
            thread_init(&t);
            serve_connection(fd, &t, ditto_clone_config.io == DITTO_IO_NONBLOCKING);
            _exit(0);
        }
        close(fd);
        if (pid > 0)
            add_child(pid);
    }
    stop_children();
}

int model_forks(void)
{
    ditto_model m = ditto_clone_config.model;
    return m == DITTO_MODEL_PROCESS_WORKERS || m == DITTO_MODEL_PROCESS_PER_CONNECTION;
}

int run_model(void)
{
    const ditto_config *cfg = &ditto_clone_config;
    uint32_t acceptor_count = cfg->accept_threads ? cfg->accept_threads : 1;
    switch (cfg->model) {
    case DITTO_MODEL_DISPATCH:
        dispatch_count = cfg->network_threads;
        dispatch_epfd = malloc(dispatch_count * sizeof *dispatch_epfd);
        if (!dispatch_epfd)
            die("allocating network threads");
        for (uint32_t i = 0; i < dispatch_count; i++) {
            int *spec = malloc(2 * sizeof *spec);
            if (!spec)
                die("allocating a network thread");
            spec[0] = dispatch_epfd[i] = new_epoll(0, -1);
            spec[1] = 0;
            spawn(network_thread, spec);
        }
        handle_accepted = to_network_thread;
        start_background();
        acceptors(acceptor_count);
        break;
    case DITTO_MODEL_EVENT_LOOP:
        start_background();
        event_loops(cfg->network_threads, 1);
        break;
    case DITTO_MODEL_THREAD_PER_CONNECTION:
        handle_accepted = to_new_thread;
        start_background();
        acceptors(acceptor_count);
        break;
    case DITTO_MODEL_PROCESS_WORKERS:
        process_workers();
        break;
    case DITTO_MODEL_PROCESS_PER_CONNECTION:
        process_per_connection();
        break;
    }
    return 0;
}
