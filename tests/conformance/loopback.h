/* loopback.h - a scripted raw-TCP server on 127.0.0.1 for the hostile-peer tests.

   The server lives in the test process and is serviced from the same loop that drives the client
   under test (lq_step on its real socket layer), so a case needs no second process, no thread and
   no sleep: the loop polls the client's socket and the server's sockets together. The server:
     - accepts one connection at a time (a reconnecting client gets the next one),
     - reads the upgrade request and records it, computes Sec-WebSocket-Accept for its key,
     - sends its setup bytes at once, then its script after delay_ms, all at once or one byte per
       trickle_ms (-1: one byte per send() without pause; chunk: bytes per send instead of one),
     - records every byte the client sends after its request, and parses them as client frames,
     - on the client's Close: by default drops the rest of its script, sends echo_prefix (data a
       closing client must discard) and a Close with the same code, then closes TCP; with
       SV_SILENT it never answers nor closes (the client must give up on its own);
     - SV_CLOSE shuts its side of TCP right after the script, SV_RESET resets the connection.
   Include after livequery.h and testutil.h. */
#ifndef LOOPBACK_H
#define LOOPBACK_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { SV_ECHO = 0, SV_CLOSE, SV_SILENT, SV_RESET };

typedef struct lb_server {
    int lfd, fd;
    int port;
    int connections;
    /* what to send (the caller fills these before each connection, or once) */
    tbuf setup;                 /* right after the request; "{ACCEPT}" is replaced */
    tbuf script;                /* then, after delay_ms; "{ACCEPT}" is replaced */
    tbuf echo_prefix;           /* sent before the echo of the client's Close */
    int delay_ms, trickle_ms, end;
    size_t chunk;               /* bytes per write while trickling (0: 1) */
    bool answer;                /* false: say nothing at all after the request */
    /* the current connection */
    tbuf rx;                    /* every byte from the client */
    size_t req_len;             /* 0 until the request head is complete */
    tbuf out;                   /* setup + script, with {ACCEPT} replaced */
    size_t out_sent, setup_len;
    uint64_t script_at, next_byte_at;
    bool script_done;           /* everything queued was sent */
    bool closed_write;          /* we shut our side */
    bool saw_close;             /* the client's Close arrived */
    bool echoed;
    /* results, kept across connections */
    tbuf req;                   /* the first request */
    tbuf sent;                  /* the first connection's bytes after its request */
    char keys[8][64];           /* Sec-WebSocket-Key of each connection */
    bool eof;                   /* the client closed the last connection */
    bool reset_seen;
    uint64_t last_activity;
    uint64_t t_script_done, t_client_close, t_eof;
    size_t sent_before_script;  /* client bytes after the request when the script started */
} lb_server;

static TU_UNUSED uint64_t lb_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static TU_UNUSED void lb_nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK); }

static TU_UNUSED bool lb_listen(lb_server *s) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int one = 1;
    s->fd = -1;
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (s->lfd < 0) return false;
    setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (bind(s->lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(s->lfd, 8) < 0 ||
        getsockname(s->lfd, (struct sockaddr *)&a, &len) < 0) {
        close(s->lfd);
        s->lfd = -1;
        return false;
    }
    lb_nonblock(s->lfd);
    s->port = ntohs(a.sin_port);
    s->answer = true;
    return true;
}

static TU_UNUSED void lb_drop(lb_server *s) {
    if (s->fd >= 0) close(s->fd);
    s->fd = -1;
}

static TU_UNUSED void lb_free(lb_server *s) {
    lb_drop(s);
    if (s->lfd >= 0) close(s->lfd);
    s->lfd = -1;
    tb_free(&s->setup);
    tb_free(&s->script);
    tb_free(&s->echo_prefix);
    tb_free(&s->rx);
    tb_free(&s->out);
    tb_free(&s->req);
    tb_free(&s->sent);
}

/* The poll entries of the server: the listener while no connection is up, else the connection. */
static TU_UNUSED int lb_pollfds(const lb_server *s, struct pollfd *p) {
    if (s->fd >= 0) {
        p->fd = s->fd;
        p->events = POLLIN;
        if (s->out_sent < s->out.len && s->trickle_ms == 0) p->events |= POLLOUT;
    } else {
        p->fd = s->lfd;
        p->events = POLLIN;
    }
    p->revents = 0;
    return 1;
}

/* Milliseconds until the server has something to do on its own (a paused script byte). */
static TU_UNUSED int lb_timeout(const lb_server *s, uint64_t now) {
    uint64_t at;
    if (s->fd < 0 || s->out_sent >= s->out.len || !s->req_len) return -1;
    at = s->out_sent < s->setup_len ? now : (s->script_at > s->next_byte_at ? s->script_at : s->next_byte_at);
    return at > now ? (int)(at - now) : 0;
}

static TU_UNUSED void lb_accept(lb_server *s, uint64_t now) {
    int fd = accept(s->lfd, NULL, NULL), one = 1;
    if (fd < 0) return;
    lb_nonblock(fd);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    s->fd = fd;
    s->connections++;
    tb_reset(&s->rx);
    tb_reset(&s->out);
    s->req_len = 0;
    s->out_sent = s->setup_len = 0;
    s->script_done = s->closed_write = s->saw_close = s->echoed = false;
    s->eof = false;
    s->last_activity = now;
}

static TU_UNUSED void lb_request_done(lb_server *s, uint64_t now) {
    char key[64], accept[32];
    tbuf tmp = {0};
    int n = s->connections - 1;
    tu_http_header((const char *)s->rx.p, "Sec-WebSocket-Key", key, sizeof key);
    if (n >= 0 && n < 8) snprintf(s->keys[n], sizeof s->keys[n], "%s", key);
    if (s->connections == 1) tb_put(&s->req, s->rx.p, s->req_len);
    tu_ws_accept(key, accept);
    if (!s->answer) { s->script_done = true; tb_free(&tmp); return; }
    tb_copy(&tmp, &s->setup);
    tb_replace(&tmp, "{ACCEPT}", accept);
    tb_put(&s->out, tmp.p, tmp.len);
    s->setup_len = tmp.len;
    tb_copy(&tmp, &s->script);
    tb_replace(&tmp, "{ACCEPT}", accept);
    tb_put(&s->out, tmp.p, tmp.len);
    tb_free(&tmp);
    s->script_at = now + (uint64_t)(s->delay_ms > 0 ? s->delay_ms : 0);
    s->next_byte_at = s->script_at;
}

static TU_UNUSED void lb_shut(lb_server *s, uint64_t now) {
    if (s->closed_write || s->fd < 0) return;
    if (s->end == SV_RESET) {
        struct linger lg;
        lg.l_onoff = 1;
        lg.l_linger = 0;
        setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        lb_drop(s);
        s->eof = true;
        s->t_eof = now;
        return;
    }
    shutdown(s->fd, SHUT_WR);
    s->closed_write = true;
}

/* Looks for the client's Close among its frames; answers it unless silent. */
static TU_UNUSED void lb_client_frames(lb_server *s, uint64_t now) {
    tu_cframes fs;
    int i;
    if (!s->req_len || s->saw_close) return;
    tu_parse_client(s->rx.p + s->req_len, s->rx.len - s->req_len, &fs);
    for (i = 0; i < fs.n; i++) {
        if (fs.f[i].opcode != 8) continue;
        s->saw_close = true;
        if (!s->t_client_close) s->t_client_close = now;
        if (s->end == SV_SILENT || s->closed_write) break;
        /* a real server stops its script and answers */
        s->out.len = s->out_sent;
        tb_put(&s->out, s->echo_prefix.p, s->echo_prefix.len);
        tu_frame(&s->out, 0x88, fs.f[i].payload, fs.f[i].len >= 2 ? 2 : 0);
        s->echoed = true;
        s->script_at = s->next_byte_at = now;
        s->trickle_ms = 0;
        break;
    }
    tu_cframes_free(&fs);
}

static TU_UNUSED void lb_write(lb_server *s, uint64_t now) {
    while (s->fd >= 0 && s->out_sent < s->out.len) {
        size_t n = s->out.len - s->out_sent;
        ssize_t w;
        bool in_script = s->out_sent >= s->setup_len;
        if (in_script && now < s->script_at) return;
        if (in_script && s->trickle_ms != 0) {
            size_t most = s->chunk ? s->chunk : 1;
            if (now < s->next_byte_at) return;
            if (n > most) n = most;
        }
        if (in_script && s->out_sent == s->setup_len && !s->sent_before_script && s->connections == 1)
            s->sent_before_script = s->rx.len - s->req_len;
        if (!in_script && n > s->setup_len - s->out_sent) n = s->setup_len - s->out_sent;
        w = send(s->fd, s->out.p + s->out_sent, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
            lb_drop(s);                             /* the client is gone */
            s->eof = true;
            s->t_eof = now;
            return;
        }
        s->out_sent += (size_t)w;
        s->last_activity = now;
        if (in_script && s->trickle_ms > 0) {
            s->next_byte_at = now + (uint64_t)s->trickle_ms;
            return;
        }
    }
    if (s->fd >= 0 && s->req_len && s->out_sent >= s->out.len && !s->script_done) {
        s->script_done = true;
        s->t_script_done = now;
    }
    if (s->fd >= 0 && s->script_done && !s->closed_write &&
        ((s->end == SV_CLOSE || s->end == SV_RESET) || (s->echoed && s->end == SV_ECHO)))
        lb_shut(s, now);
}

/* Does all the server can do now without blocking. */
static TU_UNUSED void lb_service(lb_server *s) {
    uint64_t now = lb_now();
    unsigned char buf[65536];
    if (s->fd < 0) {
        lb_accept(s, now);
        if (s->fd < 0) return;
    }
    for (;;) {
        ssize_t r = recv(s->fd, buf, sizeof buf, 0);
        if (r > 0) {
            tb_put(&s->rx, buf, (size_t)r);
            if (s->req_len && s->connections == 1) tb_put(&s->sent, buf, (size_t)r);
            s->last_activity = now;
            if (!s->req_len) {
                const char *e = strstr((const char *)s->rx.p, "\r\n\r\n");
                if (e) {
                    s->req_len = (size_t)(e + 4 - (const char *)s->rx.p);
                    if (s->connections == 1) tb_put(&s->sent, s->rx.p + s->req_len, s->rx.len - s->req_len);
                    lb_request_done(s, now);
                }
            }
            continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            if (r < 0 && errno == ECONNRESET) s->reset_seen = true;
            lb_drop(s);
            s->eof = true;
            s->t_eof = now;
            s->last_activity = now;
            return;
        }
        break;
    }
    lb_client_frames(s, now);
    lb_write(s, now);
}

#endif /* LOOPBACK_H */
