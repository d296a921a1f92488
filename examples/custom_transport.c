/* custom_transport: livequery.h over a transport of your own, set in desc.transport. This one owns
   plain non-blocking POSIX sockets; OpenSSL, a platform TLS stack or a game engine's sockets go in
   the same calls. Subscribes to GameScore, prints each event, exits 0 after the first delete event,
   4 after 30 s. Env: PARSE_SERVER_URL (ws:// to an IPv4 address), PARSE_APP_ID, PARSE_JAVASCRIPT_KEY. */
#define LIVEQUERY_IMPLEMENTATION
#include "../livequery.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

typedef struct my_socket { int fd; } my_socket;     /* the transport's self */

/* Called until it returns LQ_OK: starts a non-blocking connect, then asks whether it finished.
   A failure is told to the client (lq_transport_error), then returned as a negative lq_result. */
static int my_connect(lq_client *c, void *self, const lq_url *url) {
    my_socket *s = (my_socket *)self;
    struct sockaddr_in sa;
    struct pollfd p;
    char host[64];
    int err = 0;
    socklen_t len = sizeof err;
    if (s->fd < 0) {
        memset(&sa, 0, sizeof sa);
        sa.sin_family = AF_INET;
        sa.sin_port = htons(url->port);
        snprintf(host, sizeof host, "%.*s", (int)url->host_len, url->host);
        if (url->tls || inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
            lq_transport_error(c, 0, "this transport speaks ws:// to IPv4 addresses only");
            return LQ_ERR_CONNECT;
        }
        s->fd = socket(AF_INET, SOCK_STREAM, 0);
        if (s->fd >= 0) fcntl(s->fd, F_SETFL, O_NONBLOCK);
        if (s->fd >= 0 && (connect(s->fd, (struct sockaddr *)&sa, sizeof sa) == 0 || errno == EINPROGRESS))
            return LQ_IO_WANT_WRITE;        /* the next calls ask poll whether it finished */
        err = errno;
    } else {
        p.fd = s->fd; p.events = POLLOUT; p.revents = 0;
        if (poll(&p, 1, 0) == 0) return LQ_IO_WANT_WRITE;
        getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (!err) return LQ_OK;
    }
    lq_transport_error(c, err, strerror(err));
    return LQ_ERR_CONNECT;
}

/* send/recv: a byte count (recv: 0 when the server hung up), LQ_IO_WANT_* when the socket is not
   ready, or a negative lq_result. */
static long my_result(lq_client *c, ssize_t r, long want) {
    if (r >= 0) return (long)r;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return want;
    lq_transport_error(c, errno, strerror(errno));
    return LQ_ERR_IO;
}

static long my_send(lq_client *c, void *self, const void *buf, size_t n) {
    return my_result(c, send(((my_socket *)self)->fd, buf, n, MSG_NOSIGNAL), LQ_IO_WANT_WRITE);
}

static long my_recv(lq_client *c, void *self, void *buf, size_t n) {
    return my_result(c, recv(((my_socket *)self)->fd, buf, n, 0), LQ_IO_WANT_READ);
}

static void my_close(lq_client *c, void *self) {
    my_socket *s = (my_socket *)self;
    (void)c;
    if (s->fd >= 0) close(s->fd);
    s->fd = -1;
}

static int my_fd(lq_client *c, void *self) { (void)c; return ((my_socket *)self)->fd; }

static void on_event(lq_client *c, const lq_event *ev, void *user) {
    (void)c;
    printf("%s %s\n", lq_event_str(ev->type), ev->type == LQ_EVENT_ERROR ? ev->error_message : "");
    fflush(stdout);
    if (ev->type == LQ_EVENT_DELETE) *(int *)user = 0;
}

int main(void) {
    my_socket sock = {-1};
    lq_transport tr = {0};
    lq_desc desc = {0};
    lq_query q = {0};
    lq_client *c;
    int exit_code = -1, i;
    uint64_t deadline = lq_now_ms() + 30000;
    tr.connect = my_connect; tr.send = my_send; tr.recv = my_recv; tr.close = my_close; tr.fd = my_fd;
    tr.self = &sock;
    desc.server_url = getenv("PARSE_SERVER_URL");
    desc.application_id = getenv("PARSE_APP_ID");
    desc.javascript_key = getenv("PARSE_JAVASCRIPT_KEY");
    desc.transport = &tr;
    desc.on_event = on_event;
    desc.user_data = &exit_code;
    q.class_name = "GameScore";
    if (lq_client_create(&desc, &c) != LQ_OK || lq_subscribe(c, &q, NULL) != LQ_OK) return 1;
    while (exit_code < 0 && lq_now_ms() < deadline) lq_wait(c, 100);
    lq_close(c);
    for (i = 0; i < 50 && lq_step(c) != LQ_ERR_CLOSED; i++) lq_wait(c, 20);
    lq_client_destroy(c);
    return exit_code < 0 ? 4 : exit_code;
}
