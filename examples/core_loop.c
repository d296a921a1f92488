/* core_loop: livequery.h's I/O-free core driven by sockets of the program's own, without lq_step
   and without desc.transport. This is all lq_step does, in one poll loop: connect when the core
   says LQ_IO_CONNECT, feed it what arrives, send what it has, close when it says LQ_IO_CLOSE, tick
   its timers, and stop at LQ_IO_DONE. Plain ws:// only (a program with TLS of its own would run
   its TLS between the socket and lq_core_feed / lq_core_peek).
   Usage: core_loop [CLASS [WHERE_JSON]] (default GameScore): prints each event, exits 0 after the
   first delete event, 4 after 30 s. Env: PARSE_SERVER_URL, PARSE_APP_ID, PARSE_JAVASCRIPT_KEY. */
#define _POSIX_C_SOURCE 200809L
#define LQ_NO_SOCKETS
#define LIVEQUERY_IMPLEMENTATION
#include "../livequery.h"
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

typedef struct app {
    int fd;                     /* -1: no connection */
    bool connected;             /* the connect finished: bytes flow */
    int exit_code;              /* -1 while running */
} app;

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The core needs unpredictable bytes for WebSocket keys and masks. */
static bool os_random(void *buf, size_t len, void *user) {
    FILE *f = fopen("/dev/urandom", "rb");
    bool ok = f && fread(buf, 1, len, f) == len;
    (void)user;
    if (f) fclose(f);
    return ok;
}

static void on_event(lq_client *c, const lq_event *ev, void *user) {
    app *a = (app *)user;
    size_t n = 0;
    const char *raw = lq_json_exists(ev->object) ? lq_json_raw(ev->object, &n) : "";
    (void)c;
    printf("%s %d %.*s%s\n", lq_event_str(ev->type), (int)ev->request_id, (int)n, raw,
           ev->type == LQ_EVENT_ERROR ? ev->error_message : "");
    fflush(stdout);
    if (ev->type == LQ_EVENT_DELETE) a->exit_code = 0;
    if (ev->type == LQ_EVENT_ERROR && ev->fatal) a->exit_code = 3;
}

/* Starts a non-blocking connect to the URL's host (getaddrinfo blocks: a real program would
   resolve asynchronously). Failures go back to the core, which reconnects with backoff. */
static void start_connect(lq_client *c, app *a, uint64_t now) {
    const lq_url *u = lq_client_url(c);
    struct addrinfo hints, *res = NULL;
    char host[256], port[8];
    int rc;
    snprintf(host, sizeof host, "%.*s", (int)u->host_len, u->host);
    snprintf(port, sizeof port, "%u", (unsigned)u->port);
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
        lq_core_closed(c, LQ_ERR_DNS, rc, now);
        return;
    }
    a->fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    if (a->fd >= 0) fcntl(a->fd, F_SETFL, O_NONBLOCK);
    if (a->fd < 0 || (connect(a->fd, res->ai_addr, res->ai_addrlen) != 0 && errno != EINPROGRESS)) {
        if (a->fd >= 0) close(a->fd);
        a->fd = -1;
        lq_core_closed(c, LQ_ERR_CONNECT, errno, now);
    }
    freeaddrinfo(res);
}

static void drop(lq_client *c, app *a, lq_result why, int detail, uint64_t now) {
    if (a->fd >= 0) close(a->fd);
    a->fd = -1;
    a->connected = false;
    lq_core_closed(c, why, detail, now);
}

/* The socket is writable while connecting: did the connect work? */
static void finish_connect(lq_client *c, app *a, uint64_t now) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) { drop(c, a, LQ_ERR_CONNECT, err, now); return; }
    a->connected = true;
    lq_core_opened(c, now);
}

static void read_some(lq_client *c, app *a, uint64_t now) {
    char buf[8192];
    ssize_t n = recv(a->fd, buf, sizeof buf, 0);
    if (n > 0) lq_core_feed(c, buf, (size_t)n, now);
    else if (n == 0) drop(c, a, LQ_OK, 0, now);                         /* the server closed */
    else if (errno != EAGAIN && errno != EINTR) drop(c, a, LQ_ERR_IO, errno, now);
}

static void write_some(lq_client *c, app *a, uint64_t now) {
    size_t len;
    const void *p;
    while (a->connected && (p = lq_core_peek(c, &len)) != NULL && len) {
        ssize_t w = send(a->fd, p, len, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno != EAGAIN && errno != EINTR) drop(c, a, LQ_ERR_IO, errno, now);
            return;
        }
        lq_core_consume(c, (size_t)w);
    }
}

int main(int argc, char **argv) {
    app a = {-1, false, -1};
    lq_desc desc;
    lq_query q;
    lq_client *c;
    uint64_t deadline = now_ms() + 30000;
    memset(&desc, 0, sizeof desc);
    memset(&q, 0, sizeof q);
    desc.server_url = getenv("PARSE_SERVER_URL");
    desc.application_id = getenv("PARSE_APP_ID");
    desc.javascript_key = getenv("PARSE_JAVASCRIPT_KEY");
    desc.random = os_random;
    desc.on_event = on_event;
    desc.user_data = &a;
    q.class_name = argc > 1 ? argv[1] : "GameScore";
    q.where = argc > 2 ? argv[2] : NULL;
    if (lq_client_create(&desc, &c) != LQ_OK) { fprintf(stderr, "core_loop: cannot create the client\n"); return 1; }
    if (lq_client_url(c)->tls || lq_subscribe(c, &q, NULL) != LQ_OK) {
        fprintf(stderr, "core_loop: needs a ws:// URL and a valid query\n");
        lq_client_destroy(c);
        return 1;
    }
    for (;;) {
        uint64_t now = now_ms();
        struct pollfd p;
        size_t pending = 0;
        int64_t t;
        lq_io io = lq_core_io(c);
        if (io == LQ_IO_DONE) break;
        if (a.exit_code >= 0 || now >= deadline) {
            if (a.exit_code < 0) a.exit_code = 4;
            lq_close(c);                            /* then the loop runs until LQ_IO_DONE */
        }
        if (io == LQ_IO_CLOSE) { drop(c, &a, LQ_OK, 0, now); continue; }
        if (io == LQ_IO_CONNECT && a.fd < 0) { start_connect(c, &a, now); continue; }
        lq_core_peek(c, &pending);
        p.fd = a.fd;
        p.events = (short)(!a.connected ? POLLOUT : POLLIN | (pending ? POLLOUT : 0));
        p.revents = 0;
        t = lq_core_timeout(c, now);
        if (t < 0 || t > 1000) t = 1000;            /* and look at the deadline once a second */
        poll(&p, a.fd >= 0 ? 1 : 0, (int)t);
        now = now_ms();
        if (a.fd >= 0 && !a.connected && p.revents) finish_connect(c, &a, now);
        else if (a.connected && (p.revents & (POLLIN | POLLHUP | POLLERR))) read_some(c, &a, now);
        write_some(c, &a, now);
        lq_core_tick(c, now);
    }
    if (a.fd >= 0) close(a.fd);
    lq_client_destroy(c);
    return a.exit_code;
}
