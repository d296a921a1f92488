/* ingest_count: the ceiling. A minimal WebSocket reader that only counts frames.

   usage: ingest_count PORT N [BUFSIZE]

   Blocking socket, a fixed upgrade request (the response is skipped, not checked), masked
   connect and subscribe frames, then recv() into a BUFSIZE buffer (default 65536) and walk frame
   headers. No UTF-8 check, no JSON, no callback. Prints the same key=value line as ingest_lq. */
#define _GNU_SOURCE
#include "benchutil.h"

#include <errno.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static void send_masked(int fd, const char *text) {
    unsigned char f[256];
    size_t n = strlen(text), i;
    f[0] = 0x81;
    f[1] = (unsigned char)(0x80 | n);           /* these texts are under 126 bytes */
    memcpy(f + 2, "\x01\x02\x03\x04", 4);
    for (i = 0; i < n; i++) f[6 + i] = (unsigned char)(text[i] ^ f[2 + (i & 3)]);
    if (send(fd, f, 6 + n, 0) != (ssize_t)(6 + n)) exit(1);
}

int main(int argc, char **argv) {
    struct sockaddr_in a;
    unsigned char *buf;
    char req[256];
    size_t cap, have = 0, pos = 0;
    long want, texts = 0, skip = 0;    /* skip: payload bytes of the current frame still to come */
    uint64_t t0 = 0, t1 = 0, cpu0 = 0, cpu1 = 0, sys0 = 0, sys1 = 0, deadline;
    int fd;
    if (argc < 3) {
        fprintf(stderr, "usage: ingest_count PORT N [BUFSIZE]\n");
        return 2;
    }
    want = atol(argv[2]);
    cap = argc > 3 ? (size_t)atol(argv[3]) : 65536;
    buf = (unsigned char *)malloc(cap + 16);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)atoi(argv[1]));
    if (!buf || fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) { perror("ingest_count"); return 1; }
    snprintf(req, sizeof req,
             "GET /parse?n=%ld HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", want);
    if (send(fd, req, strlen(req), 0) < 0) return 1;
    for (;;) {                                          /* skip the response headers */
        ssize_t r = recv(fd, buf + have, cap - have, 0);
        unsigned char *e;
        if (r <= 0) return 1;
        have += (size_t)r;
        e = (unsigned char *)memmem(buf, have, "\r\n\r\n", 4);
        if (e) {
            pos = (size_t)(e + 4 - buf);
            break;
        }
    }
    send_masked(fd, "{\"op\":\"connect\",\"applicationId\":\"benchApp\"}");
    send_masked(fd, "{\"op\":\"subscribe\",\"requestId\":1,\"query\":{\"className\":\"GameScore\",\"where\":{}}}");
    deadline = bu_now_ns() + 120ull * 1000000000u;
    for (;;) {
        ssize_t r;
        /* walk the complete headers in buf[pos..have) */
        while (pos < have) {
            size_t h, len;
            if (skip) {
                size_t take = have - pos < (size_t)skip ? have - pos : (size_t)skip;
                pos += take;
                skip -= (long)take;
                continue;
            }
            if (have - pos < 2) break;
            len = buf[pos + 1] & 0x7F;
            h = len == 126 ? 4 : len == 127 ? 10 : 2;
            if (have - pos < h) break;
            if (len == 126) len = (size_t)buf[pos + 2] << 8 | buf[pos + 3];
            else if (len == 127) { size_t i; for (len = 0, i = 0; i < 8; i++) len = len << 8 | buf[pos + 2 + i]; }
            if ((buf[pos] & 0x0F) == 1) {
                texts++;
                if (texts == 3) { t0 = bu_now_ns(); cpu0 = bu_cpu_ns(); sys0 = bu_sys_ns(); }     /* after connected, subscribed */
                if (texts == want + 2) { t1 = bu_now_ns(); cpu1 = bu_cpu_ns(); sys1 = bu_sys_ns(); }
            }
            pos += h;
            skip = (long)len;
        }
        if (texts >= want + 2 || bu_now_ns() > deadline) break;
        memmove(buf, buf + pos, have - pos);            /* at most a partial header */
        have -= pos;
        pos = 0;
        r = recv(fd, buf + have, cap - have, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        have += (size_t)r;
    }
    if (texts < want + 2) {
        fprintf(stderr, "ingest_count: %ld of %ld events\n", texts - 2, want);
        return 1;
    }
    printf("events=%ld secs=%.6f cpu=%.6f sys=%.6f allocs=0 heap=0 rss_kb=%ld check=0\n", want,
           (double)(t1 - t0) / 1e9, (double)(cpu1 - cpu0) / 1e9, (double)(sys1 - sys0) / 1e9, bu_maxrss_kb());
    close(fd);
    return 0;
}
