/* source: a loopback LiveQuery event source for the ingest benchmarks.

   usage: source [PORT]      (0 or nothing: the OS picks one; prints "PORT <n>" when listening)

   Listens on 127.0.0.1 and serves every connection in a child process: answers the WebSocket
   upgrade, "connect" with "connected", every "subscribe" with "subscribed" and "unsubscribe" with
   "unsubscribed", like parse-server 9.10.0. The request path sets the stream (ws://host:port/parse?n=N):
     n=N   after the first "subscribe", send N update events for its requestId, all frames built
           once in one buffer and written in 1 MiB chunks, as fast as the socket takes them
     o=1   send the update with "original" (519 bytes) instead of the 298-byte one
   Then it keeps answering until the client closes. Runs until killed. */
#define _GNU_SOURCE
#include "benchutil.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/prctl.h>
#include <sys/socket.h>

typedef struct conn {
    int fd;
    long events;                /* to stream after the first subscribe */
    bool original, streamed;
    unsigned char in[1 << 16];
    size_t have;
} conn;

static void die(const char *what) {
    perror(what);
    exit(1);
}

static bool send_all(int fd, const void *p, size_t n) {
    const char *s = (const char *)p;
    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        s += w;
        n -= (size_t)w;
    }
    return true;
}

static bool send_text(int fd, const char *text) {
    unsigned char f[512];
    size_t n = strlen(text);
    if (n + 10 > sizeof f) return false;
    return send_all(fd, f, bu_server_frame(f, text, n));
}

/* Reads until the end of the HTTP request, answers 101; false on a bad request. */
static bool handshake(conn *c) {
    char *end, *key, *path, accept[29], resp[256];
    size_t klen;
    for (;;) {
        ssize_t r;
        c->in[c->have] = 0;
        if ((end = strstr((char *)c->in, "\r\n\r\n")) != NULL) break;
        if (c->have >= sizeof c->in - 1) return false;
        r = recv(c->fd, c->in + c->have, sizeof c->in - 1 - c->have, 0);
        if (r <= 0) return false;
        c->have += (size_t)r;
    }
    *end = 0;
    path = strchr((char *)c->in, ' ');
    if (path) {
        char *q = strchr(path, '?'), *eol = strchr(path, '\r');
        while (q && (!eol || q < eol)) {
            q++;
            if (q[0] == 'n' && q[1] == '=') c->events = atol(q + 2);
            if (q[0] == 'o' && q[1] == '=') c->original = q[2] == '1';
            q = strchr(q, '&');
        }
    }
    key = strcasestr((char *)c->in, "\r\nSec-WebSocket-Key:");
    if (!key) return false;
    key += 20;
    while (*key == ' ') key++;
    for (klen = 0; key[klen] && key[klen] != '\r' && key[klen] != ' '; klen++) {}
    bu_ws_accept(key, klen, accept);
    snprintf(resp, sizeof resp,
             "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Accept: %s\r\n\r\n", accept);
    {
        size_t used = (size_t)(end + 4 - (char *)c->in);
        memmove(c->in, c->in + used, c->have - used);
        c->have -= used;
    }
    return send_all(c->fd, resp, strlen(resp));
}

static void stream(conn *c, int rid) {
    char payload[1024];
    unsigned char *buf;
    size_t plen, flen, per, i;
    long left = c->events;
    plen = (size_t)snprintf(payload, sizeof payload, c->original ? bu_update_orig_fmt : bu_update_fmt, rid);
    flen = plen + (plen < 126 ? 2 : 4);
    per = ((size_t)1 << 20) / flen;
    if ((long)per > left) per = (size_t)left;
    if (per == 0) return;
    buf = (unsigned char *)malloc(per * flen);
    if (!buf) die("malloc");
    for (i = 0; i < per; i++) bu_server_frame(buf + i * flen, payload, plen);
    while (left > 0) {
        size_t k = (long)per < left ? per : (size_t)left;
        if (!send_all(c->fd, buf, k * flen)) break;
        left -= (long)k;
    }
    free(buf);
}

static int request_id(const char *msg) {
    const char *r = strstr(msg, "\"requestId\":");
    return r ? atoi(r + 12) : 0;
}

static void on_text(conn *c, char *msg) {
    char out[256];
    if (strstr(msg, "\"op\":\"connect\"")) {
        send_text(c->fd, "{\"op\":\"connected\",\"clientId\":\"" BU_CLIENT_ID "\"}");
    } else if (strstr(msg, "\"op\":\"subscribe\"") || strstr(msg, "\"op\":\"update\"")) {
        int rid = request_id(msg);
        snprintf(out, sizeof out, "{\"op\":\"subscribed\",\"clientId\":\"" BU_CLIENT_ID "\",\"requestId\":%d}", rid);
        send_text(c->fd, out);
        if (c->events > 0 && !c->streamed) {
            c->streamed = true;
            stream(c, rid);
        }
    } else if (strstr(msg, "\"op\":\"unsubscribe\"")) {
        snprintf(out, sizeof out, "{\"op\":\"unsubscribed\",\"clientId\":\"" BU_CLIENT_ID "\",\"requestId\":%d}",
                 request_id(msg));
        send_text(c->fd, out);
    }
}

/* Handles the complete client frames at the start of c->in; false when the connection is done. */
static bool frames(conn *c) {
    for (;;) {
        size_t h = 2, len, i;
        unsigned char *p = c->in, *mask, op;
        if (c->have < 2) return true;
        op = p[0] & 0x0F;
        len = p[1] & 0x7F;
        if (len == 126) h = 4;
        else if (len == 127) h = 10;
        if (c->have < h + 4) return true;
        if (h == 4) len = (size_t)p[2] << 8 | p[3];
        if (h == 10) for (len = 0, i = 0; i < 8; i++) len = len << 8 | p[2 + i];
        if (!(p[1] & 0x80) || len > sizeof c->in - 16) return false;
        if (c->have < h + 4 + len) return true;
        mask = p + h;
        for (i = 0; i < len; i++) p[h + 4 + i] ^= mask[i & 3];
        if (op == 1) {
            char save = (char)p[h + 4 + len];
            p[h + 4 + len] = 0;
            on_text(c, (char *)p + h + 4);
            p[h + 4 + len] = (unsigned char)save;
        } else if (op == 8) {
            unsigned char close[4] = {0x88, 0x02, 0x03, 0xE8};
            send_all(c->fd, close, 4);
            return false;
        } else if (op == 9) {
            unsigned char pong[2 + 125];
            pong[0] = 0x8A;
            pong[1] = (unsigned char)len;
            memcpy(pong + 2, p + h + 4, len);
            send_all(c->fd, pong, 2 + len);
        }
        memmove(c->in, c->in + h + 4 + len, c->have - (h + 4 + len));
        c->have -= h + 4 + len;
    }
}

static void serve(int fd) {
    static conn c;
    int one = 1;
    memset(&c, 0, sizeof c);
    c.fd = fd;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (!handshake(&c)) return;
    while (frames(&c)) {
        ssize_t r = recv(fd, c.in + c.have, sizeof c.in - c.have, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return;
        c.have += (size_t)r;
    }
}

int main(int argc, char **argv) {
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    struct sigaction sa;
    int ls, one = 1;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sa.sa_flags = SA_NOCLDWAIT;                 /* children reap themselves */
    sigaction(SIGCHLD, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    ls = socket(AF_INET, SOCK_STREAM, 0);
    if (ls < 0) die("socket");
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)(argc > 1 ? atoi(argv[1]) : 0));
    if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
    if (listen(ls, 1024) < 0) die("listen");
    if (getsockname(ls, (struct sockaddr *)&a, &alen) < 0) die("getsockname");
    printf("PORT %u\n", (unsigned)ntohs(a.sin_port));
    fflush(stdout);
    for (;;) {
        int fd = accept(ls, NULL, NULL);
        pid_t pid;
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            die("accept");
        }
        pid = fork();
        if (pid == 0) {
            close(ls);
            prctl(PR_SET_PDEATHSIG, SIGTERM);  /* never outlive the benchmark's source */
            serve(fd);
            close(fd);
            _exit(0);
        }
        close(fd);
    }
}
