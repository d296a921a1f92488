/* benchutil.h - helpers shared by the livequery.h benchmarks (bench/run.sh).

   Include after livequery.h (or after the system headers you need). It gives:
     bu_now_ns, bu_cpu_ns       monotonic wall clock and process CPU time (user + system)
     bu_sys_ns                  the system part of the process CPU time
     bu_counter, bu_allocator   a counting allocator for desc.allocator: live bytes, peak bytes,
                                allocation and free counts (sizes are the ones asked for)
     bu_sha1, bu_base64         SHA-1 and base64 for the WebSocket accept key
     bu_frames                  the server frames every benchmark sends or feeds
   Everything is static; a program includes it once. */
#ifndef BENCHUTIL_H
#define BENCHUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#if defined(__GNUC__) || defined(__clang__)
#define BU_UNUSED __attribute__((unused))
#define BU_NOINLINE __attribute__((noinline))
#else
#define BU_UNUSED
#define BU_NOINLINE
#endif

/* ---- clocks ----------------------------------------------------------------------------------- */

static BU_UNUSED uint64_t bu_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static BU_UNUSED uint64_t bu_cpu_ns(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u +
           ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}

/* The system (kernel) part of the process CPU time. */
static BU_UNUSED uint64_t bu_sys_ns(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)ru.ru_stime.tv_sec * 1000000000u + (uint64_t)ru.ru_stime.tv_usec * 1000u;
}

static BU_UNUSED long bu_maxrss_kb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* ---- counting allocator ----------------------------------------------------------------------- */

typedef struct bu_counter {
    size_t live, peak;          /* bytes the client asked for and has not freed */
    uint64_t allocs, frees;
} bu_counter;

/* A header in front of each block keeps the size for free(); 16 bytes keep malloc's alignment. */
#define BU_HDR 16u

static BU_UNUSED void *bu_alloc(size_t n, void *user) {
    bu_counter *k = (bu_counter *)user;
    unsigned char *p = (unsigned char *)malloc(n + BU_HDR);
    if (!p) return NULL;
    memcpy(p, &n, sizeof n);
    k->live += n;
    if (k->live > k->peak) k->peak = k->live;
    k->allocs++;
    return p + BU_HDR;
}

static BU_UNUSED void bu_free(void *ptr, void *user) {
    bu_counter *k = (bu_counter *)user;
    unsigned char *p;
    size_t n;
    if (!ptr) return;
    p = (unsigned char *)ptr - BU_HDR;
    memcpy(&n, p, sizeof n);
    k->live -= n;
    k->frees++;
    free(p);
}

/* ---- SHA-1 (FIPS 180-4) and base64, for Sec-WebSocket-Accept ----------------------------------- */

static BU_UNUSED uint32_t bu_rol(uint32_t v, unsigned n) { return (v << n) | (v >> (32u - n)); }

static BU_UNUSED void bu_sha1_block(uint32_t h[5], const unsigned char *b) {
    uint32_t w[80], a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4];
    unsigned i;
    for (i = 0; i < 16; i++)
        w[i] = (uint32_t)b[4 * i] << 24 | (uint32_t)b[4 * i + 1] << 16 | (uint32_t)b[4 * i + 2] << 8 | b[4 * i + 3];
    for (i = 16; i < 80; i++) w[i] = bu_rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    for (i = 0; i < 80; i++) {
        uint32_t f, k, t;
        if (i < 20) { f = (bb & c) | (~bb & d); k = 0x5A827999u; }
        else if (i < 40) { f = bb ^ c ^ d; k = 0x6ED9EBA1u; }
        else if (i < 60) { f = (bb & c) | (bb & d) | (c & d); k = 0x8F1BBCDCu; }
        else { f = bb ^ c ^ d; k = 0xCA62C1D6u; }
        t = bu_rol(a, 5) + f + e + k + w[i];
        e = d; d = c; c = bu_rol(bb, 30); bb = a; a = t;
    }
    h[0] += a; h[1] += bb; h[2] += c; h[3] += d; h[4] += e;
}

/* Messages up to 119 bytes are all the handshake needs (a 24-byte key and the 36-byte GUID). */
static BU_UNUSED void bu_sha1(const void *data, size_t n, unsigned char out[20]) {
    uint32_t h[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
    unsigned char blk[128];
    uint64_t bits = (uint64_t)n * 8u;
    size_t total = n + 9 <= 64 ? 64 : 128, i;
    if (n > 119) abort();
    memset(blk, 0, sizeof blk);
    memcpy(blk, data, n);
    blk[n] = 0x80;
    for (i = 0; i < 8; i++) blk[total - 1 - i] = (unsigned char)(bits >> (8 * i));
    for (i = 0; i < total; i += 64) bu_sha1_block(h, blk + i);
    for (i = 0; i < 20; i++) out[i] = (unsigned char)(h[i / 4] >> (24 - 8 * (i % 4)));
}

static BU_UNUSED void bu_base64(const unsigned char *in, size_t n, char *out) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;
    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *out++ = tab[v >> 18]; *out++ = tab[(v >> 12) & 63]; *out++ = tab[(v >> 6) & 63]; *out++ = tab[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
        *out++ = tab[v >> 18];
        *out++ = tab[(v >> 12) & 63];
        *out++ = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        *out++ = '=';
    }
    *out = 0;
}

/* accept (29 bytes with the NUL) for a Sec-WebSocket-Key of up to 60 bytes. */
static BU_UNUSED void bu_ws_accept(const char *key, size_t klen, char accept[29]) {
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    char buf[100];
    unsigned char d[20];
    if (klen > 60) klen = 60;
    memcpy(buf, key, klen);
    memcpy(buf + klen, guid, 36);
    bu_sha1(buf, klen + 36, d);
    bu_base64(d, 20, accept);
}

/* ---- frames (docs/captured-frames.txt, parse-server 9.10.0) ------------------------------------ */

#define BU_CLIENT_ID "ba5f1a1f-0962-4418-ba68-9222a313dd8c"

/* The update event of the ACL capture (section A, score 43), without "original": 298 bytes with
   requestId 1. %d is the requestId. Keys in parse-server's order ("op" first). */
static const char bu_update_fmt[] =
    "{\"op\":\"update\",\"clientId\":\"" BU_CLIENT_ID "\",\"requestId\":%d,\"object\":{"
    "\"createdAt\":\"2026-11-27T23:40:44.564Z\",\"updatedAt\":\"2026-11-27T23:40:45.197Z\",\"score\":43,"
    "\"playerName\":\"private\",\"ACL\":{\"yRYE8AkN7R\":{\"read\":true,\"write\":true}},"
    "\"className\":\"GameScore\",\"objectId\":\"esJ2W988g1\"}}";

/* The same event as parse-server sends it, with "original" (519 bytes with requestId 1). */
static const char bu_update_orig_fmt[] =
    "{\"op\":\"update\",\"clientId\":\"" BU_CLIENT_ID "\",\"requestId\":%d,\"object\":{"
    "\"createdAt\":\"2026-11-27T23:40:44.564Z\",\"updatedAt\":\"2026-11-27T23:40:45.197Z\",\"score\":43,"
    "\"playerName\":\"private\",\"ACL\":{\"yRYE8AkN7R\":{\"read\":true,\"write\":true}},"
    "\"className\":\"GameScore\",\"objectId\":\"esJ2W988g1\"},\"original\":{"
    "\"createdAt\":\"2026-11-27T23:40:44.564Z\",\"updatedAt\":\"2026-11-27T23:40:44.564Z\",\"score\":42,"
    "\"playerName\":\"private\",\"ACL\":{\"yRYE8AkN7R\":{\"read\":true,\"write\":true}},"
    "\"className\":\"GameScore\",\"objectId\":\"esJ2W988g1\"}}";

/* Writes an unmasked server text frame (header + payload) into out; returns its length. out needs
   len + 10 bytes. */
static BU_UNUSED size_t bu_server_frame(unsigned char *out, const char *payload, size_t len) {
    size_t h = 2;
    out[0] = 0x81;
    if (len < 126) out[1] = (unsigned char)len;
    else if (len <= 0xFFFF) { out[1] = 126; out[2] = (unsigned char)(len >> 8); out[3] = (unsigned char)len; h = 4; }
    else {
        int i;
        out[1] = 127;
        for (i = 0; i < 8; i++) out[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
        h = 10;
    }
    memcpy(out + h, payload, len);
    return h + len;
}

#endif
