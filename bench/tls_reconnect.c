/* tls_reconnect: the cost of a TLS reconnect with and without session resumption.

   usage: tls_reconnect URL CA_FILE N       (URL: wss:// to a TLS front of the event source)

   "resumed": one client, its link cut N times (a transport of the caller's whose next recv
   fails); each reconnect offers the saved session. "full": N fresh clients, each a full
   handshake. For each: wall time from the cut (or the create) to OPEN, and this process's CPU
   time, per reconnect. Prints one line:
     resumed_ms=... resumed_cpu_ms=... full_ms=... full_cpu_ms=... n=N
   Built with -DLQ_USE_MBEDTLS or -DLQ_USE_OPENSSL. */
#define _POSIX_C_SOURCE 200809L
#define LIVEQUERY_IMPLEMENTATION
#include "../livequery.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

typedef struct run { int opens; bool cut; } run;

static double cpu_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static double wall_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void on_event(lq_client *c, const lq_event *ev, void *user) {
    (void)c;
    if (ev->type == LQ_EVENT_OPEN) ((run *)user)->opens++;
}

/* plain TCP to an IPv4 address, with a cut on demand */
static int t_connect(lq_client *c, void *self, void **conn, const lq_url *url) {
    int *fd = (int *)*conn, err = 0;
    socklen_t len = sizeof err;
    struct pollfd p;
    (void)self;
    if (!fd) {
        struct sockaddr_in a;
        char host[64];
        int one = 1;
        fd = (int *)malloc(sizeof *fd);
        if (!fd) return LQ_ERR_NOMEM;
        *conn = fd;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_port = htons(url->port);
        snprintf(host, sizeof host, "%.*s", (int)url->host_len, url->host);
        inet_pton(AF_INET, host, &a.sin_addr);
        *fd = socket(AF_INET, SOCK_STREAM, 0);
        fcntl(*fd, F_SETFL, O_NONBLOCK);
        setsockopt(*fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);    /* as the built-in TCP */
        if (connect(*fd, (struct sockaddr *)&a, sizeof a) == 0 || errno == EINPROGRESS) return LQ_IO_WANT_WRITE;
        lq_transport_error(c, errno, strerror(errno));
        return LQ_ERR_CONNECT;
    }
    p.fd = *fd; p.events = POLLOUT; p.revents = 0;
    if (poll(&p, 1, 0) == 0) return LQ_IO_WANT_WRITE;
    getsockopt(*fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (!err) return LQ_OK;
    lq_transport_error(c, err, strerror(err));
    return LQ_ERR_CONNECT;
}

static long t_io(lq_client *c, ssize_t n, long want) {
    if (n >= 0) return (long)n;
    if (errno == EAGAIN || errno == EINTR) return want;
    lq_transport_error(c, errno, strerror(errno));
    return LQ_ERR_IO;
}

static long t_send(lq_client *c, void *self, void *conn, const void *buf, size_t n) {
    (void)self;
    return t_io(c, send(*(int *)conn, buf, n, MSG_NOSIGNAL), LQ_IO_WANT_WRITE);
}

static long t_recv(lq_client *c, void *self, void *conn, void *buf, size_t n) {
    run *r = (run *)self;
    if (r->cut) { r->cut = false; lq_transport_error(c, ECONNRESET, "cut"); return LQ_ERR_IO; }
    return t_io(c, recv(*(int *)conn, buf, n, 0), LQ_IO_WANT_READ);
}

static void t_close(lq_client *c, void *self, void *conn) {
    (void)c; (void)self;
    if (conn) { close(*(int *)conn); free(conn); }
}

static int t_fd(lq_client *c, void *self, void *conn) { (void)c; (void)self; return conn ? *(int *)conn : -1; }

static lq_client *make(const char *url, const char *ca, run *r, const lq_transport *tr) {
    lq_desc d;
    lq_client *c = NULL;
    memset(&d, 0, sizeof d);
    d.server_url = url;
    d.application_id = "bench";
    d.tls_ca_file = ca;
    d.on_event = on_event;
    d.user_data = r;
    d.transport = tr;
    d.max_reconnect_delay_ms = 1;                           /* reconnect at once: time the handshake */
    if (lq_client_create(&d, &c) != LQ_OK) { fprintf(stderr, "tls_reconnect: cannot create a client\n"); exit(1); }
    return c;
}

static bool until_open(lq_client *c, run *r, int opens) {
    uint64_t end = lq_now_ms() + 10000;
    while (r->opens < opens && lq_now_ms() < end) lq_wait(c, 5);
    return r->opens >= opens;
}

static void finish(lq_client *c) {
    int i;
    lq_close(c);
    for (i = 0; i < 100 && lq_step(c) != LQ_ERR_CLOSED; i++) lq_wait(c, 5);
    lq_client_destroy(c);
}

int main(int argc, char **argv) {
    run r = {0, false};
    lq_transport tr;
    lq_client *c;
    int n, i;
    double t0, cpu0, resumed_ms, resumed_cpu, full_ms, full_cpu;
    if (argc != 4 || (n = atoi(argv[3])) <= 0) { fprintf(stderr, "usage: tls_reconnect URL CA_FILE N\n"); return 2; }
    memset(&tr, 0, sizeof tr);
    tr.connect = t_connect; tr.send = t_send; tr.recv = t_recv; tr.close = t_close; tr.fd = t_fd; tr.self = &r;
    c = make(argv[1], argv[2], &r, &tr);
    if (!until_open(c, &r, 1)) { fprintf(stderr, "tls_reconnect: no OPEN: %s\n", lq_error_message(c)); return 1; }
    lq_wait(c, 50);                                         /* TLS 1.3 tickets come after the handshake */
    lq_wait(c, 50);
    t0 = wall_ms();
    cpu0 = cpu_ms();
    for (i = 0; i < n; i++) {
        r.cut = true;
        lq_step(c);                                         /* the cut, now: then time the reconnect */
        if (!until_open(c, &r, i + 2)) { fprintf(stderr, "tls_reconnect: reconnect %d: %s\n", i, lq_error_message(c)); return 1; }
    }
    resumed_ms = (wall_ms() - t0) / n;
    resumed_cpu = (cpu_ms() - cpu0) / n;
    finish(c);
    full_ms = full_cpu = 0;
    for (i = 0; i < n; i++) {                               /* create to OPEN; the close is not timed */
        run f = {0, false};
        lq_client *fresh;
        t0 = wall_ms();
        cpu0 = cpu_ms();
        fresh = make(argv[1], argv[2], &f, NULL);
        if (!until_open(fresh, &f, 1)) { fprintf(stderr, "tls_reconnect: full %d: %s\n", i, lq_error_message(fresh)); return 1; }
        full_ms += wall_ms() - t0;
        full_cpu += cpu_ms() - cpu0;
        finish(fresh);
    }
    full_ms /= n;
    full_cpu /= n;
    printf("resumed_ms=%.2f resumed_cpu_ms=%.3f full_ms=%.2f full_cpu_ms=%.3f n=%d\n", resumed_ms, resumed_cpu, full_ms,
           full_cpu, n);
    return 0;
}
