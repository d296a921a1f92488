/* testhttp.h - a tiny blocking HTTP/1.1 client for the integration tests (REST writes to the test
   Parse Server over loopback). Not part of livequery.h.

   One request per connection ("Connection: close"), bounded by a deadline: connect, send and the
   whole response must finish within timeout_ms. Only http:// URLs. The response body is decoded
   (Content-Length, chunked, or up to EOF) into a malloc'ed NUL-terminated buffer.

       th_response res;
       const char *h[] = {"X-Parse-Application-Id: app", "X-Parse-Master-Key: mk"};
       if (th_request("http://127.0.0.1:1337/parse", "POST", "/classes/GameScore", h, 2,
                      "{\"score\":1}", 5000, &res) == 0 && res.status == 201) { ... res.body ... }
       th_response_free(&res);

   POSIX only. Include after _POSIX_C_SOURCE >= 200112L is in effect. All functions are static. */
#ifndef TESTHTTP_H_INCLUDED
#define TESTHTTP_H_INCLUDED

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/types.h>

#if defined(__GNUC__) || defined(__clang__)
#define TH__UNUSED __attribute__((unused))
#else
#define TH__UNUSED
#endif

#ifndef TH_MAX_RESPONSE
#define TH_MAX_RESPONSE (8u * 1024u * 1024u)
#endif

typedef struct th_response {
    int status;                 /* HTTP status, 0 when there was no valid response */
    char *body;                 /* decoded body, NUL-terminated (never NULL after th_request) */
    size_t body_len;
    char error[160];            /* why th_request failed, "" on success */
} th_response;

static uint64_t th__now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int th__fail(th_response *res, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->error, sizeof res->error, fmt, ap);
    va_end(ap);
    return -1;
}

/* Milliseconds left before the deadline, 0 when it has passed. */
static int th__left(uint64_t deadline) {
    uint64_t now = th__now_ms();
    return now >= deadline ? 0 : (int)(deadline - now);
}

/* Waits for events on fd until the deadline: 1 ready, 0 timed out, -1 error. */
static int th__poll(int fd, short events, uint64_t deadline) {
    for (;;) {
        struct pollfd p;
        int left = th__left(deadline), r;
        if (left == 0) return 0;
        p.fd = fd;
        p.events = events;
        p.revents = 0;
        r = poll(&p, 1, left);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) return 0;
        return 1;
    }
}

/* Splits "http://host[:port][/prefix]" into its parts. */
static int th__parse_url(const char *url, char *host, size_t hcap, char *port, size_t pcap,
                         char *prefix, size_t xcap) {
    const char *h, *hend, *colon;
    size_t n;
    if (strncmp(url, "http://", 7) != 0) return -1;
    h = url + 7;
    hend = h + strcspn(h, "/");
    colon = memchr(h, ':', (size_t)(hend - h));
    n = (size_t)((colon ? colon : hend) - h);
    if (n == 0 || n >= hcap) return -1;
    memcpy(host, h, n);
    host[n] = 0;
    if (colon) {
        n = (size_t)(hend - colon - 1);
        if (n == 0 || n >= pcap) return -1;
        memcpy(port, colon + 1, n);
        port[n] = 0;
    } else {
        if (pcap < 3) return -1;
        memcpy(port, "80", 3);
    }
    n = strlen(hend);
    while (n && hend[n - 1] == '/') n--;                    /* "/parse/" + "/classes/..." */
    if (n >= xcap) return -1;
    memcpy(prefix, hend, n);
    prefix[n] = 0;
    return 0;
}

/* A growable buffer with a hard cap. */
typedef struct th__buf {
    char *data;
    size_t len, cap;
} th__buf;

static int th__put(th__buf *b, const void *p, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        char *d;
        while (cap < b->len + n + 1) cap *= 2;
        if (cap > TH_MAX_RESPONSE + 1) return -1;
        d = (char *)realloc(b->data, cap);
        if (!d) return -1;
        b->data = d;
        b->cap = cap;
    }
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
    return 0;
}

static int th__putf(th__buf *b, const char *fmt, ...) {
    char line[1024];
    int n;
    va_list ap;
    va_start(ap, fmt);
    n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line) return -1;
    return th__put(b, line, (size_t)n);
}

/* Non-blocking connect to host:port, finished before the deadline. Returns the fd or -1. */
static int th__connect(const char *host, const char *port, uint64_t deadline, th_response *res) {
    struct addrinfo hints, *ai = NULL, *a;
    int fd = -1, rc;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0 || !ai) {
        th__fail(res, "cannot resolve %s: %s", host, gai_strerror(rc));
        return -1;
    }
    for (a = ai; a; a = a->ai_next) {
        int err = 0;
        socklen_t len = sizeof err;
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd < 0) continue;
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK);
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
        if (errno != EINPROGRESS && errno != EINTR) {
            th__fail(res, "connect %s:%s: %s", host, port, strerror(errno));
            close(fd);
            fd = -1;
            continue;
        }
        rc = th__poll(fd, POLLOUT, deadline);
        if (rc == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) break;
        th__fail(res, "connect %s:%s: %s", host, port, rc == 0 ? "timed out" : strerror(err ? err : errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

static int th__send_all(int fd, const char *p, size_t n, uint64_t deadline, th_response *res) {
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                int rc = th__poll(fd, POLLOUT, deadline);
                if (rc == 1) continue;
                return th__fail(res, "send: %s", rc == 0 ? "timed out" : strerror(errno));
            }
            return th__fail(res, "send: %s", strerror(errno));
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Case-insensitive search of a header's value in the header block [h, end). */
static const char *th__header(const char *h, const char *end, const char *name, size_t *vlen) {
    size_t nl = strlen(name);
    const char *line = strstr(h, "\r\n");
    while (line && line + 2 < end) {
        const char *s = line + 2, *e = strstr(s, "\r\n");
        size_t i;
        if (!e || e > end) e = end;
        if ((size_t)(e - s) > nl && s[nl] == ':') {
            for (i = 0; i < nl; i++) {
                int a = s[i], b = name[i];
                if (a >= 'A' && a <= 'Z') a += 32;
                if (b >= 'A' && b <= 'Z') b += 32;
                if (a != b) break;
            }
            if (i == nl) {
                const char *v = s + nl + 1;
                while (v < e && (*v == ' ' || *v == '\t')) v++;
                *vlen = (size_t)(e - v);
                while (*vlen && (v[*vlen - 1] == ' ' || v[*vlen - 1] == '\t')) (*vlen)--;
                return v;
            }
        }
        line = e < end ? e : NULL;
    }
    return NULL;
}

/* Decodes a chunked body in place; returns its length or -1. */
static long th__dechunk(char *p, size_t n) {
    size_t in = 0, out = 0;
    for (;;) {
        unsigned long size;
        char *end;
        const char *crlf;
        if (in >= n) return -1;
        size = strtoul(p + in, &end, 16);
        if (end == p + in) return -1;
        crlf = strstr(end, "\r\n");
        if (!crlf) return -1;
        in = (size_t)(crlf - p) + 2;
        if (size == 0) break;
        if (size > n - in) return -1;
        memmove(p + out, p + in, size);
        out += size;
        in += size + 2;
    }
    p[out] = 0;
    return (long)out;
}

static int th__parse_response(th__buf *raw, th_response *res) {
    char *hend, *body;
    const char *v;
    size_t vlen, blen;
    int status;
    if (!raw->data || raw->len < 12 || strncmp(raw->data, "HTTP/1.", 7) != 0)
        return th__fail(res, "not an HTTP response (%lu bytes)", (unsigned long)raw->len);
    if (sscanf(raw->data + 8, " %3d", &status) != 1 || status < 100 || status > 999)
        return th__fail(res, "bad status line");
    hend = strstr(raw->data, "\r\n\r\n");
    if (!hend) return th__fail(res, "response headers are cut");
    body = hend + 4;
    blen = raw->len - (size_t)(body - raw->data);
    v = th__header(raw->data, hend + 2, "Transfer-Encoding", &vlen);
    if (v && vlen >= 7 && strncmp(v + vlen - 7, "chunked", 7) == 0) {
        long n = th__dechunk(body, blen);
        if (n < 0) return th__fail(res, "bad chunked body");
        blen = (size_t)n;
    } else if ((v = th__header(raw->data, hend + 2, "Content-Length", &vlen)) != NULL) {
        unsigned long cl = strtoul(v, NULL, 10);
        if (cl > blen) return th__fail(res, "body cut: %lu of %lu bytes", (unsigned long)blen, cl);
        blen = (size_t)cl;
    }
    res->body = (char *)malloc(blen + 1);
    if (!res->body) return th__fail(res, "out of memory");
    memcpy(res->body, body, blen);
    res->body[blen] = 0;
    res->body_len = blen;
    res->status = status;
    return 0;
}

static TH__UNUSED void th_response_free(th_response *res) {
    free(res->body);
    res->body = NULL;
    res->body_len = 0;
}

/* One request. headers: "Name: value" strings. body may be NULL (no body). Returns 0 when a
   response was read (any status), -1 on failure (res->error says why); res->body is always set. */
static TH__UNUSED int th_request(const char *base_url, const char *method, const char *path,
                                 const char *const *headers, int num_headers, const char *body,
                                 int timeout_ms, th_response *res) {
    char host[256], port[16], prefix[256];
    uint64_t deadline = th__now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 10000);
    th__buf req, raw;
    size_t blen = body ? strlen(body) : 0;
    int fd, i, rc = -1;
    memset(res, 0, sizeof *res);
    memset(&req, 0, sizeof req);
    memset(&raw, 0, sizeof raw);
    if (th__parse_url(base_url, host, sizeof host, port, sizeof port, prefix, sizeof prefix) != 0) {
        th__fail(res, "unusable URL %s (only http://host[:port][/path])", base_url);
        goto done;
    }
    if (th__putf(&req, "%s %s%s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n", method, prefix, path,
                 host, port) != 0 ||
        th__putf(&req, "Accept: application/json\r\nContent-Length: %lu\r\n", (unsigned long)blen) != 0 ||
        (body && th__putf(&req, "Content-Type: application/json\r\n") != 0)) {
        th__fail(res, "request line too long");
        goto done;
    }
    for (i = 0; i < num_headers; i++) {
        if (!headers[i] || strpbrk(headers[i], "\r\n") || th__putf(&req, "%s\r\n", headers[i]) != 0) {
            th__fail(res, "bad header %d", i);
            goto done;
        }
    }
    if (th__put(&req, "\r\n", 2) != 0 || (blen && th__put(&req, body, blen) != 0)) {
        th__fail(res, "out of memory");
        goto done;
    }
    fd = th__connect(host, port, deadline, res);
    if (fd < 0) goto done;
    if (th__send_all(fd, req.data, req.len, deadline, res) == 0) {
        for (;;) {                                          /* read to EOF (Connection: close) */
            char chunk[8192];
            ssize_t r = recv(fd, chunk, sizeof chunk, 0);
            if (r > 0) {
                if (th__put(&raw, chunk, (size_t)r) != 0) { th__fail(res, "response over the limit"); break; }
                continue;
            }
            if (r == 0) { rc = th__parse_response(&raw, res); break; }
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                int p = th__poll(fd, POLLIN, deadline);
                if (p == 1) continue;
                th__fail(res, "%s %s: %s after %lu bytes", method, path, p == 0 ? "timed out" : strerror(errno),
                         (unsigned long)raw.len);
                break;
            }
            th__fail(res, "recv: %s", strerror(errno));
            break;
        }
    }
    close(fd);
done:
    free(req.data);
    free(raw.data);
    if (!res->body) {
        res->body = (char *)calloc(1, 1);
        res->body_len = 0;
    }
    if (rc != 0) res->status = 0;
    return rc;
}

#endif /* TESTHTTP_H_INCLUDED */
