/* custom_transport: livequery.h over a transport of your own, set in desc.transport. This one owns
   plain non-blocking POSIX sockets to IPv4 addresses; a game engine's sockets go in the same calls.
   For a wss:// URL the library's TLS backend (build with -DLQ_USE_MBEDTLS) runs over these very
   sockets; a transport that does TLS itself (OpenSSL, a platform stack) sets tr.tls = true.
   Subscribes to GameScore, prints each event, exits 0 after the first delete event, 4 after 30 s.
   It also counts the GameScore objects with a REST find: the REST connection goes through the same
   transport (and, for wss://, the same TLS backend: https://).
   Env: PARSE_SERVER_URL (ws:// or wss:// to an IPv4 address), PARSE_APP_ID, PARSE_JAVASCRIPT_KEY,
   and for wss:// PARSE_CA_FILE (the server's CA). */
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

typedef struct my_conn { int fd; } my_conn;         /* one connection's state */

/* Fails the connection: the message goes to the client (lq_transport_error), the result back. */
static int my_fail(lq_client *c, int err, const char *what) {
    lq_transport_error(c, err, what ? what : strerror(err));
    return LQ_ERR_CONNECT;
}

/* The first call of a connection (*conn NULL) starts a non-blocking connect; the next ones ask
   whether it finished. */
static int my_connect(lq_client *c, void *self, void **conn, const lq_url *url) {
    my_conn *k = (my_conn *)*conn;
    struct sockaddr_in sa;
    struct pollfd p;
    char host[64];
    int err = 0;
    socklen_t len = sizeof err;
    (void)self;
    if (!k) {
        memset(&sa, 0, sizeof sa);
        sa.sin_family = AF_INET;
        sa.sin_port = htons(url->port);
        snprintf(host, sizeof host, "%.*s", (int)url->host_len, url->host);
        if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) return my_fail(c, 0, "this transport takes IPv4 addresses only");
        k = (my_conn *)malloc(sizeof *k);
        if (!k) return my_fail(c, ENOMEM, NULL);
        *conn = k;                                  /* from here on, close frees it */
        k->fd = socket(AF_INET, SOCK_STREAM, 0);
        if (k->fd < 0) return my_fail(c, errno, NULL);
        fcntl(k->fd, F_SETFL, O_NONBLOCK);
        if (connect(k->fd, (struct sockaddr *)&sa, sizeof sa) == 0 || errno == EINPROGRESS) return LQ_IO_WANT_WRITE;
        return my_fail(c, errno, NULL);
    }
    p.fd = k->fd; p.events = POLLOUT; p.revents = 0;
    if (poll(&p, 1, 0) == 0) return LQ_IO_WANT_WRITE;
    getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    return err ? my_fail(c, err, NULL) : LQ_OK;
}

/* send/recv: a byte count (recv: 0 when the server hung up), LQ_IO_WANT_* when the socket is not
   ready, or a negative lq_result. */
static long my_result(lq_client *c, ssize_t r, long want) {
    if (r >= 0) return (long)r;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return want;
    lq_transport_error(c, errno, strerror(errno));
    return LQ_ERR_IO;
}

static long my_send(lq_client *c, void *self, void *conn, const void *buf, size_t n) {
    (void)self;
    return my_result(c, send(((my_conn *)conn)->fd, buf, n, MSG_NOSIGNAL), LQ_IO_WANT_WRITE);
}

static long my_recv(lq_client *c, void *self, void *conn, void *buf, size_t n) {
    (void)self;
    return my_result(c, recv(((my_conn *)conn)->fd, buf, n, 0), LQ_IO_WANT_READ);
}

static void my_close(lq_client *c, void *self, void *conn) {
    my_conn *k = (my_conn *)conn;
    (void)c; (void)self;
    if (!k) return;
    if (k->fd >= 0) close(k->fd);
    free(k);
}

static int my_fd(lq_client *c, void *self, void *conn) {
    (void)c; (void)self;
    return conn ? ((my_conn *)conn)->fd : -1;
}

static void on_event(lq_client *c, const lq_event *ev, void *user) {
    (void)c;
    printf("%s %s\n", lq_event_str(ev->type), ev->type == LQ_EVENT_ERROR ? ev->error_message : "");
    fflush(stdout);
    if (ev->type == LQ_EVENT_DELETE) *(int *)user = 0;
}

static void on_count(lq_client *c, const lq_response *r, void *user) {
    (void)c; (void)user;
    if (r->result == LQ_OK) printf("find: %d objects\n", (int)lq_json_int(lq_json_get(r->body, "count"), -1));
    else printf("find failed: %s (%s)\n", lq_result_str(r->result), r->error_message);
    fflush(stdout);
}

int main(void) {
    lq_find_desc count;
    lq_transport tr;
    lq_desc desc;
    lq_query q;
    lq_client *c;
    int exit_code = -1, i;
    uint64_t deadline = lq_now_ms() + 30000;
    memset(&tr, 0, sizeof tr);
    memset(&desc, 0, sizeof desc);
    memset(&q, 0, sizeof q);
    tr.connect = my_connect; tr.send = my_send; tr.recv = my_recv; tr.close = my_close; tr.fd = my_fd;
    tr.tls = false;                                 /* plain bytes: wss:// gets the TLS backend over them */
    desc.server_url = getenv("PARSE_SERVER_URL");
    desc.application_id = getenv("PARSE_APP_ID");
    desc.javascript_key = getenv("PARSE_JAVASCRIPT_KEY");
    desc.tls_ca_file = getenv("PARSE_CA_FILE");
    desc.transport = &tr;
    desc.on_event = on_event;
    desc.user_data = &exit_code;
    q.class_name = "GameScore";
    if (lq_client_create(&desc, &c) != LQ_OK) return 1;
    if (lq_subscribe(c, &q, NULL) != LQ_OK) { lq_client_destroy(c); return 1; }
    memset(&count, 0, sizeof count);
    count.class_name = "GameScore";
    count.limit = 1;
    count.count = true;
    count.on_response = on_count;
    lq_find(c, &count, NULL);
    while (exit_code < 0 && lq_now_ms() < deadline) lq_wait(c, 100);
    lq_close(c);
    for (i = 0; i < 50 && lq_step(c) != LQ_ERR_CLOSED; i++) lq_wait(c, 20);
    lq_client_destroy(c);
    return exit_code < 0 ? 4 : exit_code;
}
