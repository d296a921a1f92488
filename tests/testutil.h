/* testutil.h - small helpers for the livequery.h unit tests.

   Include after livequery.h (with LIVEQUERY_IMPLEMENTATION). It gives:
     CHECK/CHECKF/CHECK_INT/CHECK_STR/CHECK_HAS  count passed and failed checks, print file:line
                         (and tu_ctx, the case being run); tu_report prints the totals
     tbuf                a growable byte buffer (always NUL-terminated)
     tu_harness          the desc.user_data of a test client: a fake random source (a counter,
                         scriptable), the counting allocator and an event recorder
     tu_alloc, tu_free   the counting allocator (user_data: a tu_harness): live and peak bytes,
                         and allocation failures on demand (the Nth, the Nth and all later, a size)
     tu_frame_*          server frames (unmasked unless asked), any length encoding
     tu_parse_client     unmasks and splits the bytes a client sent into frames
     tu_srv              the in-memory server: a client on the I/O-free core with a fake clock,
                         the upgrade answered, the client's frames decoded
     tu_sha1, tu_base64  our own SHA-1 and base64, to answer the handshake independently
   Everything is static: one test program includes it once. */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define TU_UNUSED __attribute__((unused))
#define TU_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TU_UNUSED
#define TU_PRINTF(f, a)
#endif

/* ---- checks ----------------------------------------------------------------------------------- */

static int tu_passed, tu_failed;
static char tu_ctx[160];            /* the case being run, printed with failures */

static TU_UNUSED TU_PRINTF(4, 5) bool tu_check(bool ok, const char *file, int line, const char *fmt, ...) {
    va_list ap;
    if (ok) { tu_passed++; return true; }
    tu_failed++;
    printf("%s:%d: FAIL%s%s%s: ", file, line, tu_ctx[0] ? " [" : "", tu_ctx, tu_ctx[0] ? "]" : "");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    return false;
}

static TU_UNUSED void tu_set_ctx(const char *fmt, ...) TU_PRINTF(1, 2);
static TU_UNUSED void tu_set_ctx(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tu_ctx, sizeof tu_ctx, fmt, ap);
    va_end(ap);
}

#define CHECK(cond) tu_check(!!(cond), __FILE__, __LINE__, "%s", #cond)
#define CHECKF(cond, ...) tu_check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define CHECK_INT(a, b) tu_check_int((long long)(a), (long long)(b), #a, #b, __FILE__, __LINE__)
#define CHECK_STR(a, b) tu_check_str((a), (b), #a, #b, __FILE__, __LINE__)
#define CHECK_HAS(hay, needle) tu_check_has((hay), (needle), #hay, __FILE__, __LINE__)

static TU_UNUSED bool tu_check_int(long long a, long long b, const char *as, const char *bs, const char *file, int line) {
    return tu_check(a == b, file, line, "%s == %s (%lld != %lld)", as, bs, a, b);
}

static TU_UNUSED bool tu_check_str(const char *a, const char *b, const char *as, const char *bs, const char *file, int line) {
    bool ok = a && b && strcmp(a, b) == 0;
    return tu_check(ok, file, line, "%s == %s (\"%s\" != \"%s\")", as, bs, a ? a : "(null)", b ? b : "(null)");
}

static TU_UNUSED bool tu_check_has(const char *hay, const char *needle, const char *hs, const char *file, int line) {
    bool ok = hay && needle && strstr(hay, needle) != NULL;
    return tu_check(ok, file, line, "%s contains \"%s\" (it is \"%s\")", hs, needle, hay ? hay : "(null)");
}

static TU_UNUSED int tu_report(const char *suite) {
    printf("%s: %d passed, %d failed\n", suite, tu_passed, tu_failed);
    return tu_failed ? 1 : 0;
}

/* ---- byte buffer ------------------------------------------------------------------------------ */

typedef struct tbuf {
    unsigned char *p;
    size_t len, cap;
} tbuf;

static TU_UNUSED void tb_put(tbuf *b, const void *d, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        unsigned char *q;
        while (cap < b->len + n + 1) cap *= 2;
        q = (unsigned char *)realloc(b->p, cap);
        if (!q) { fprintf(stderr, "out of memory\n"); exit(2); }
        b->p = q;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, d, n);
    b->len += n;
    b->p[b->len] = 0;
}

static TU_UNUSED void tb_puts(tbuf *b, const char *s) { tb_put(b, s, strlen(s)); }
static TU_UNUSED void tb_byte(tbuf *b, unsigned v) { unsigned char c = (unsigned char)v; tb_put(b, &c, 1); }
static TU_UNUSED void tb_fill(tbuf *b, int ch, size_t n) { size_t i; for (i = 0; i < n; i++) tb_byte(b, (unsigned)ch); }
static TU_UNUSED void tb_reset(tbuf *b) { b->len = 0; if (b->p) b->p[0] = 0; }
static TU_UNUSED void tb_free(tbuf *b) { free(b->p); b->p = NULL; b->len = b->cap = 0; }
static TU_UNUSED const char *tb_str(const tbuf *b) { return b->p ? (const char *)b->p : ""; }
static TU_UNUSED void tb_copy(tbuf *dst, const tbuf *src) { tb_reset(dst); tb_put(dst, src->p, src->len); }

static TU_UNUSED void tb_drop_front(tbuf *b, size_t n) {
    if (n > b->len) n = b->len;
    if (!n) return;
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
    b->p[b->len] = 0;
}

static TU_UNUSED TU_PRINTF(2, 3) void tb_printf(tbuf *b, const char *fmt, ...) {
    char tmp[1024];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    tb_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static TU_UNUSED bool tb_eq(const tbuf *a, const tbuf *b) {
    return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

/* Case-insensitive comparison of two NUL-terminated strings. */
static TU_UNUSED bool tu_ieq(const char *a, const char *b) {
    for (; *a && *b; a++, b++) {
        int x = (unsigned char)*a, y = (unsigned char)*b;
        if (x >= 'A' && x <= 'Z') x += 32;
        if (y >= 'A' && y <= 'Z') y += 32;
        if (x != y) return false;
    }
    return *a == *b;
}

static TU_UNUSED uint32_t tu_hash(const void *data, size_t n) {   /* FNV-1a */
    const unsigned char *p = (const unsigned char *)data;
    uint32_t h = 2166136261u;
    size_t i;
    for (i = 0; i < n; i++) { h ^= p[i]; h *= 16777619u; }
    return h;
}

/* Replaces every occurrence of pat in b by rep. */
static TU_UNUSED void tb_replace(tbuf *b, const char *pat, const char *rep) {
    tbuf out = {0};
    size_t i = 0, pn = strlen(pat);
    while (i < b->len) {
        if (i + pn <= b->len && memcmp(b->p + i, pat, pn) == 0) { tb_puts(&out, rep); i += pn; }
        else tb_byte(&out, b->p[i++]);
    }
    tb_free(b);
    *b = out;
    if (!b->p) tb_put(b, "", 0);
}

/* ---- SHA-1 and base64 (independent of the header's) --------------------------------------------- */

static TU_UNUSED void tu_sha1(const void *data, size_t n, unsigned char out[20]) {
    uint32_t h[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
    const unsigned char *msg = (const unsigned char *)data;
    size_t total = ((n + 8) / 64 + 1) * 64, blk, i;
    unsigned char *m = (unsigned char *)calloc(total, 1);
    uint64_t bits = (uint64_t)n * 8u;
    if (!m) exit(2);
    if (n) memcpy(m, msg, n);
    m[n] = 0x80;
    for (i = 0; i < 8; i++) m[total - 1 - i] = (unsigned char)(bits >> (8 * i));
    for (blk = 0; blk < total; blk += 64) {
        uint32_t w[80], a, b, c, d, e, t;
        for (i = 0; i < 16; i++)
            w[i] = (uint32_t)m[blk + 4 * i] << 24 | (uint32_t)m[blk + 4 * i + 1] << 16 |
                   (uint32_t)m[blk + 4 * i + 2] << 8 | (uint32_t)m[blk + 4 * i + 3];
        for (i = 16; i < 80; i++) {
            uint32_t x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
            w[i] = (x << 1) | (x >> 31);
        }
        a = h[0]; b = h[1]; c = h[2]; d = h[3]; e = h[4];
        for (i = 0; i < 80; i++) {
            uint32_t f, k;
            if (i < 20) { f = (b & c) | (~b & d); k = 0x5A827999u; }
            else if (i < 40) { f = b ^ c ^ d; k = 0x6ED9EBA1u; }
            else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDCu; }
            else { f = b ^ c ^ d; k = 0xCA62C1D6u; }
            t = ((a << 5) | (a >> 27)) + f + e + k + w[i];
            e = d; d = c; c = (b << 30) | (b >> 2); b = a; a = t;
        }
        h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
    }
    free(m);
    for (i = 0; i < 20; i++) out[i] = (unsigned char)(h[i / 4] >> (24 - 8 * (i % 4)));
}

static const char tu_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static TU_UNUSED void tu_base64(const unsigned char *in, size_t n, char *out) {
    size_t i;
    for (i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n) v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n) v |= in[i + 2];
        *out++ = tu_b64[v >> 18];
        *out++ = tu_b64[(v >> 12) & 63];
        *out++ = i + 1 < n ? tu_b64[(v >> 6) & 63] : '=';
        *out++ = i + 2 < n ? tu_b64[v & 63] : '=';
    }
    *out = 0;
}

/* Strict decoding (padding required); returns the byte count or -1. */
static TU_UNUSED int tu_base64_decode(const char *s, unsigned char *out, size_t cap) {
    size_t n = strlen(s), i, o = 0;
    if (n % 4) return -1;
    for (i = 0; i < n; i += 4) {
        uint32_t v = 0;
        int j, pad = 0;
        for (j = 0; j < 4; j++) {
            const char *q;
            char ch = s[i + (size_t)j];
            if (ch == '=' && i + 4 == n && j >= 2) { pad++; v <<= 6; continue; }
            if (pad || !ch) return -1;
            q = strchr(tu_b64, ch);
            if (!q) return -1;
            v = v << 6 | (uint32_t)(q - tu_b64);
        }
        for (j = 0; j < 3 - pad; j++) {
            if (o >= cap) return -1;
            out[o++] = (unsigned char)(v >> (16 - 8 * j));
        }
    }
    return (int)o;
}

static TU_UNUSED void tu_ws_accept(const char *key, char out[29]) {
    char tmp[128];
    unsigned char d[20];
    snprintf(tmp, sizeof tmp, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
    tu_sha1(tmp, strlen(tmp), d);
    tu_base64(d, 20, out);
}

/* ---- HTTP request helpers --------------------------------------------------------------------- */

/* Counts the header lines called name (case-insensitive) in an HTTP head and copies the first
   value (trimmed) into out. */
static TU_UNUSED int tu_http_header(const char *head, const char *name, char *out, size_t cap) {
    const char *line = strstr(head, "\r\n"), *end = strstr(head, "\r\n\r\n");
    size_t nn = strlen(name);
    int count = 0;
    if (cap) out[0] = 0;
    if (!line || !end) return 0;
    for (line += 2; line < end + 2; ) {
        const char *eol = strstr(line, "\r\n");
        size_t i;
        bool match = (size_t)(eol - line) > nn && line[nn] == ':';
        for (i = 0; match && i < nn; i++)
            if ((line[i] | 0x20) != (name[i] | 0x20)) match = false;
        if (match) {
            const char *v = line + nn + 1, *ve = eol;
            while (v < ve && (*v == ' ' || *v == '\t')) v++;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
            if (count == 0 && cap) {
                size_t k = (size_t)(ve - v) < cap - 1 ? (size_t)(ve - v) : cap - 1;
                memcpy(out, v, k);
                out[k] = 0;
            }
            count++;
        }
        line = eol + 2;
    }
    return count;
}

/* ---- server frames ---------------------------------------------------------------------------- */

/* A frame with first byte b0 (FIN | RSV | opcode). lenform 0 picks the shortest length encoding,
   7, 16 or 64 forces one; mask NULL sends it unmasked (as a server must). */
static TU_UNUSED void tu_frame_ex(tbuf *b, unsigned b0, const void *payload, size_t n, int lenform,
                                  const unsigned char *mask) {
    const unsigned char *p = (const unsigned char *)payload;
    unsigned mbit = mask ? 0x80u : 0u;
    size_t i;
    if (lenform == 0) lenform = n < 126 ? 7 : n <= 0xFFFF ? 16 : 64;
    tb_byte(b, b0);
    if (lenform == 7) tb_byte(b, mbit | (unsigned)n);
    else if (lenform == 16) { tb_byte(b, mbit | 126u); tb_byte(b, (unsigned)(n >> 8) & 0xFFu); tb_byte(b, (unsigned)n & 0xFFu); }
    else {
        uint64_t v = (uint64_t)n;
        tb_byte(b, mbit | 127u);
        for (i = 0; i < 8; i++) tb_byte(b, (unsigned)(v >> (56 - 8 * i)) & 0xFFu);
    }
    if (mask) tb_put(b, mask, 4);
    for (i = 0; i < n; i++) tb_byte(b, mask ? (unsigned)(p[i] ^ mask[i & 3]) : p[i]);
}

static TU_UNUSED void tu_frame(tbuf *b, unsigned b0, const void *payload, size_t n) {
    tu_frame_ex(b, b0, payload, n, 0, NULL);
}

static TU_UNUSED void tu_text(tbuf *b, const char *s) { tu_frame(b, 0x81, s, strlen(s)); }

/* A Close frame: code < 0 for an empty body, else the code and the reason. */
static TU_UNUSED void tu_close(tbuf *b, int code, const char *reason) {
    unsigned char body[200];
    size_t n = 0, rl = reason ? strlen(reason) : 0;
    if (code >= 0) {
        body[0] = (unsigned char)((unsigned)code >> 8);
        body[1] = (unsigned char)((unsigned)code & 0xFFu);
        n = 2;
        if (rl > sizeof body - 2) rl = sizeof body - 2;
        if (rl) memcpy(body + 2, reason, rl);
        n += rl;
    }
    tu_frame(b, 0x88, body, n);
}

/* ---- client frames ---------------------------------------------------------------------------- */

typedef struct tu_cframe {
    unsigned b0;
    bool fin, masked, minimal;      /* minimal: the shortest length encoding was used */
    unsigned rsv, opcode;
    unsigned char mask[4];
    int lenform;                    /* 7, 16 or 64 */
    size_t len;
    unsigned char *payload;         /* unmasked, NUL-terminated */
} tu_cframe;

typedef struct tu_cframes {
    tu_cframe *f;
    int n, cap;
    size_t trailing;                /* bytes of an incomplete frame at the end */
} tu_cframes;

static TU_UNUSED void tu_parse_client(const unsigned char *p, size_t n, tu_cframes *out) {
    size_t at = 0;
    memset(out, 0, sizeof *out);
    while (at < n) {
        tu_cframe fr;
        size_t h = 2, i;
        uint64_t len;
        memset(&fr, 0, sizeof fr);
        if (n - at < 2) break;
        fr.b0 = p[at];
        fr.fin = (p[at] & 0x80) != 0;
        fr.rsv = (p[at] >> 4) & 7u;
        fr.opcode = p[at] & 0x0Fu;
        fr.masked = (p[at + 1] & 0x80) != 0;
        len = p[at + 1] & 0x7Fu;
        fr.lenform = 7;
        if (len == 126) {
            if (n - at < 4) break;
            len = (uint64_t)p[at + 2] << 8 | p[at + 3];
            h = 4;
            fr.lenform = 16;
        } else if (len == 127) {
            if (n - at < 10) break;
            len = 0;
            for (i = 0; i < 8; i++) len = len << 8 | p[at + 2 + i];
            h = 10;
            fr.lenform = 64;
        }
        fr.minimal = (fr.lenform == 7) || (fr.lenform == 16 && len >= 126) || (fr.lenform == 64 && len > 0xFFFF);
        if (fr.masked) {
            if (n - at < h + 4) break;
            memcpy(fr.mask, p + at + h, 4);
            h += 4;
        }
        if (len > n - at - h) break;
        fr.len = (size_t)len;
        fr.payload = (unsigned char *)malloc(fr.len + 1);
        if (!fr.payload) exit(2);
        for (i = 0; i < fr.len; i++) fr.payload[i] = (unsigned char)(p[at + h + i] ^ (fr.masked ? fr.mask[i & 3] : 0));
        fr.payload[fr.len] = 0;
        if (out->n == out->cap) {
            int cap = out->cap ? out->cap * 2 : 8;
            tu_cframe *q = (tu_cframe *)realloc(out->f, (size_t)cap * sizeof *q);
            if (!q) exit(2);
            out->f = q;
            out->cap = cap;
        }
        out->f[out->n++] = fr;
        at += h + fr.len;
    }
    out->trailing = n - at;
}

static TU_UNUSED void tu_cframes_free(tu_cframes *fs) {
    int i;
    for (i = 0; i < fs->n; i++) free(fs->f[i].payload);
    free(fs->f);
    memset(fs, 0, sizeof *fs);
}

/* The code of a Close frame: -1 for an empty body, -2 for a 1-byte body. */
static TU_UNUSED int tu_close_code(const tu_cframe *f) {
    if (f->len == 0) return -1;
    if (f->len == 1) return -2;
    return f->payload[0] << 8 | f->payload[1];
}

/* ---- the harness: fake random, counting allocator, event recorder -------------------------------- */

typedef struct tu_event {
    lq_event_type type;
    int close_code, error_code, attempt;
    int32_t request_id;
    uint32_t sub_id;                /* the handle */
    void *sub_user_data;
    lq_result result;
    bool fatal, resubscribe, has_original;
    uint32_t delay_ms;
    char msg[256];
    size_t obj_len;
    uint32_t obj_hash;
    char obj[512];                  /* the object's JSON when it fits, else its first bytes */
} tu_event;

#define TU_MAX_EVENTS 32
#define TU_MAX_RANDOM_CALLS 128

typedef struct tu_harness {
    /* random: a byte counter; prefix bytes come first; override4 answers the next 4-byte call */
    uint8_t counter;
    const unsigned char *prefix;
    size_t prefix_len, produced;
    long fail_after;                /* fail once this many bytes were produced (< 0: never) */
    bool have_override4;
    unsigned char override4[4];
    int ncalls;
    size_t call_len[TU_MAX_RANDOM_CALLS];
    unsigned char call_bytes[TU_MAX_RANDOM_CALLS][16];
    /* allocator: nallocs counts every call (failed ones too), numbering them from 1; fail_at
       refuses call number fail_at (0: none), and every later one too with fail_later;
       fail_size refuses every request of exactly that many bytes (0: none) */
    size_t live, peak;
    long nallocs, nfailed;
    long fail_at;
    bool fail_later;
    size_t fail_size;
    /* events */
    tbuf log;
    tu_event ev[TU_MAX_EVENTS];
    int nev, nev_total;
} tu_harness;

static TU_UNUSED void tu_harness_init(tu_harness *h) {
    memset(h, 0, sizeof *h);
    h->counter = 1;
    h->fail_after = -1;
}

static TU_UNUSED void tu_harness_free(tu_harness *h) { tb_free(&h->log); }

static TU_UNUSED void tu_events_clear(tu_harness *h) {
    tb_reset(&h->log);
    h->nev = h->nev_total = 0;
}

static TU_UNUSED bool tu_random_cb(void *buf, size_t len, void *user) {
    tu_harness *h = (tu_harness *)user;
    unsigned char *p = (unsigned char *)buf;
    size_t i;
    if (h->fail_after >= 0 && h->produced + len > (size_t)h->fail_after) return false;
    if (len == 4 && h->have_override4) {
        memcpy(p, h->override4, 4);
        h->have_override4 = false;
    } else {
        for (i = 0; i < len; i++) {
            size_t at = h->produced + i;
            p[i] = at < h->prefix_len ? h->prefix[at] : h->counter++;
        }
    }
    h->produced += len;
    if (h->ncalls < TU_MAX_RANDOM_CALLS) {
        h->call_len[h->ncalls] = len;
        memcpy(h->call_bytes[h->ncalls], p, len < 16 ? len : 16);
        h->ncalls++;
    }
    return true;
}

#define TU_ALLOC_HDR 16

static TU_UNUSED void *tu_alloc(size_t n, void *user) {
    tu_harness *h = (tu_harness *)user;
    unsigned char *p;
    h->nallocs++;
    if ((h->fail_at && (h->nallocs == h->fail_at || (h->fail_later && h->nallocs > h->fail_at))) ||
        (h->fail_size && n == h->fail_size)) {
        h->nfailed++;
        return NULL;
    }
    p = (unsigned char *)malloc(n + TU_ALLOC_HDR);
    if (!p) return NULL;
    memcpy(p, &n, sizeof n);
    h->live += n;
    if (h->live > h->peak) h->peak = h->live;
    return p + TU_ALLOC_HDR;
}

static TU_UNUSED void tu_free(void *ptr, void *user) {
    tu_harness *h = (tu_harness *)user;
    unsigned char *p;
    size_t n;
    if (!ptr) return;
    p = (unsigned char *)ptr - TU_ALLOC_HDR;
    memcpy(&n, p, sizeof n);
    h->live -= n;
    free(p);
}

static TU_UNUSED void tu_on_event(lq_client *c, const lq_event *ev, void *user) {
    tu_harness *h = (tu_harness *)user;
    tu_event e;
    (void)c;
    memset(&e, 0, sizeof e);
    e.type = ev->type;
    e.close_code = ev->close_code;
    e.error_code = ev->error_code;
    e.attempt = ev->attempt;
    e.request_id = ev->request_id;
    e.sub_id = ev->sub.id;
    e.sub_user_data = ev->sub_user_data;
    e.result = ev->result;
    e.fatal = ev->fatal;
    e.resubscribe = ev->resubscribe;
    e.delay_ms = ev->delay_ms;
    if (ev->type == LQ_EVENT_ERROR && ev->error_message) snprintf(e.msg, sizeof e.msg, "%s", ev->error_message);
    if (ev->type == LQ_EVENT_OPEN && ev->client_id) snprintf(e.msg, sizeof e.msg, "%s", ev->client_id);
    if (lq_json_exists(ev->object)) {
        size_t n;
        const char *raw = lq_json_raw(ev->object, &n);
        e.obj_len = n;
        e.obj_hash = tu_hash(raw, n);
        memcpy(e.obj, raw, n < sizeof e.obj - 1 ? n : sizeof e.obj - 1);
    }
    e.has_original = lq_json_exists(ev->original);
    tb_printf(&h->log, "%s close=%d result=%d code=%d fatal=%d rid=%d attempt=%d delay=%u resub=%d msg=\"%s\" obj=%lu/%08lx orig=%d\n",
              lq_event_str(ev->type), e.close_code, (int)e.result, e.error_code, (int)e.fatal, (int)e.request_id,
              e.attempt, (unsigned)e.delay_ms, (int)e.resubscribe, e.msg, (unsigned long)e.obj_len,
              (unsigned long)e.obj_hash, (int)e.has_original);
    if (h->nev < TU_MAX_EVENTS) h->ev[h->nev++] = e;
    h->nev_total++;
}

/* The index of the first event of a type (from index from on), or -1. */
static TU_UNUSED int tu_find_event(const tu_harness *h, lq_event_type type, int from) {
    int i;
    for (i = from < 0 ? 0 : from; i < h->nev; i++)
        if (h->ev[i].type == type) return i;
    return -1;
}

static TU_UNUSED int tu_count_events(const tu_harness *h, lq_event_type type) {
    int i, n = 0;
    for (i = 0; i < h->nev; i++) n += h->ev[i].type == type;
    return n;
}

/* Sets the desc's allocator to the counting one of h. */
static TU_UNUSED void tu_use_alloc(lq_desc *d, tu_harness *h) {
    d->allocator.alloc = tu_alloc;
    d->allocator.free = tu_free;
    d->allocator.user_data = h;
}

/* ---- captured server data (shared/docs/captured-frames.txt, parse-server 9.10.0) ------------- */

#define CLIENT_ID "3a8a95f1-8308-4b7e-ae96-8d0d2860ba3d"
static const char CONNECTED[] = "{\"op\":\"connected\",\"clientId\":\"" CLIENT_ID "\"}";
static const char SUBSCRIBED1[] = "{\"op\":\"subscribed\",\"clientId\":\"" CLIENT_ID "\",\"requestId\":1}";
static const char CREATE1[] =
    "{\"op\":\"create\",\"clientId\":\"" CLIENT_ID "\",\"requestId\":1,\"object\":{\"score\":20,"
    "\"playerName\":\"high\",\"tags\":[\"x\"],\"createdAt\":\"2026-11-27T23:40:37.606Z\",\"updatedAt\":"
    "\"2026-11-27T23:40:37.606Z\",\"className\":\"GameScore\",\"objectId\":\"Qd8DdJGVgH\"}}";
static const char UPDATE1[] =
    "{\"op\":\"update\",\"clientId\":\"" CLIENT_ID "\",\"requestId\":1,\"object\":{\"createdAt\":"
    "\"2026-11-27T23:40:37.606Z\",\"updatedAt\":\"2026-11-27T23:40:38.043Z\",\"score\":30,\"playerName\":"
    "\"high\",\"tags\":[\"x\"],\"className\":\"GameScore\",\"objectId\":\"Qd8DdJGVgH\"},\"original\":{"
    "\"createdAt\":\"2026-11-27T23:40:37.606Z\",\"updatedAt\":\"2026-11-27T23:40:37.606Z\",\"score\":20,"
    "\"playerName\":\"high\",\"tags\":[\"x\"],\"className\":\"GameScore\",\"objectId\":\"Qd8DdJGVgH\"}}";

/* The usual answer; run3 replaces {ACCEPT} with the accept for the key the client sent. */
static const char HS101[] =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Accept: {ACCEPT}\r\n\r\n";

/* Pieces of a 101 answer, for cases that leave one out; {ACCEPT} as in HS101. */
#define ST "HTTP/1.1 101 Switching Protocols\r\n"
#define UP "Upgrade: websocket\r\n"
#define CO "Connection: Upgrade\r\n"
#define AC "Sec-WebSocket-Accept: {ACCEPT}\r\n"

/* ---- the in-memory server ----------------------------------------------------------------------
   A client on the I/O-free core with a fake clock: tu_srv_accept answers the upgrade of a
   connection the client asked for, every call that moves bytes takes what the client wrote and
   decodes its frames (text messages, Close frames, pings). The caller creates s->c. */

#define TU_SRV_TEXTS 64

typedef struct tu_srv {
    lq_client *c;
    uint64_t now;
    tbuf req;                       /* the last upgrade request */
    tbuf pend;                      /* client bytes after it that are not a whole frame yet */
    char sent[TU_SRV_TEXTS][1024];  /* the client's first text messages, unmasked (cut at 1023) */
    int nsent;                      /* of them kept in sent */
    long ntexts;                    /* text messages in all */
    char last[1024];                /* the latest one */
    int closes, close_code;         /* Close frames, and the code of the last (1005 when empty) */
    int pings;
} tu_srv;

static TU_UNUSED void tu_srv_init(tu_srv *s, uint64_t now) {
    memset(s, 0, sizeof *s);
    s->now = now;
}

static TU_UNUSED void tu_srv_free(tu_srv *s) {
    tb_free(&s->req);
    tb_free(&s->pend);
}

static TU_UNUSED void tu_srv_frame(tu_srv *s, const tu_cframe *f) {
    if (f->opcode == 1) {
        size_t n = f->len < sizeof s->sent[0] - 1 ? f->len : sizeof s->sent[0] - 1;
        if (s->nsent < TU_SRV_TEXTS) {
            memcpy(s->sent[s->nsent], f->payload, n);
            s->sent[s->nsent++][n] = 0;
        }
        memcpy(s->last, f->payload, n);
        s->last[n] = 0;
        s->ntexts++;
    } else if (f->opcode == 8) {
        int code = tu_close_code(f);
        s->closes++;
        s->close_code = code < 0 ? 1005 : code;
    } else if (f->opcode == 9) {
        s->pings++;
    }
}

/* Takes everything the client wants to send (a request head, then frames). */
static TU_UNUSED void tu_srv_drain(tu_srv *s) {
    size_t n;
    const char *p = (const char *)lq_core_peek(s->c, &n);
    tu_cframes fs;
    int i;
    if (!n) return;
    while (n) {
        tb_put(&s->pend, p, n);
        lq_core_consume(s->c, n);
        p = (const char *)lq_core_peek(s->c, &n);
    }
    if (s->pend.len >= 4 && memcmp(s->pend.p, "GET ", 4) == 0) {
        const char *e = strstr(tb_str(&s->pend), "\r\n\r\n");
        size_t head = e ? (size_t)(e + 4 - tb_str(&s->pend)) : s->pend.len;
        tb_reset(&s->req);
        tb_put(&s->req, s->pend.p, head);
        tb_drop_front(&s->pend, head);
    }
    tu_parse_client(s->pend.p, s->pend.len, &fs);
    for (i = 0; i < fs.n; i++) tu_srv_frame(s, &fs.f[i]);
    tb_drop_front(&s->pend, s->pend.len - fs.trailing);
    tu_cframes_free(&fs);
}

static TU_UNUSED void tu_srv_feed(tu_srv *s, const void *p, size_t n) {
    lq_core_feed(s->c, p, n, s->now);
    tu_srv_drain(s);
}

/* A text frame from the server, in two feeds: the header, then the payload. */
static TU_UNUSED void tu_srv_text(tu_srv *s, const char *json) {
    tbuf b = {0};
    size_t n = strlen(json), hl = n < 126 ? 2 : n <= 0xFFFF ? 4 : 10;
    tu_text(&b, json);
    tu_srv_feed(s, b.p, hl);
    tu_srv_feed(s, b.p + hl, b.len - hl);
    tb_free(&b);
}

static TU_UNUSED void tu_srv_tick(tu_srv *s, uint64_t advance) {
    s->now += advance;
    lq_core_tick(s->c, s->now);
    tu_srv_drain(s);
}

/* Opens the connection the client asked for and answers its upgrade correctly. */
static TU_UNUSED void tu_srv_accept(tu_srv *s) {
    char key[64], accept[32];
    tbuf resp = {0};
    CHECK(lq_core_io(s->c) == LQ_IO_CONNECT);
    lq_core_opened(s->c, s->now);
    tb_reset(&s->req);
    tu_srv_drain(s);
    CHECK(tu_http_header(tb_str(&s->req), "Sec-WebSocket-Key", key, sizeof key) == 1);
    tu_ws_accept(key, accept);
    tb_puts(&resp, HS101);
    tb_replace(&resp, "{ACCEPT}", accept);
    tu_srv_feed(s, resp.p, resp.len);
    tb_free(&resp);
}

/* ... then the connect op is answered: connected, clientId "abc". */
static TU_UNUSED void tu_srv_connect(tu_srv *s) {
    tu_srv_accept(s);
    CHECK(s->nsent > 0 && strstr(s->sent[s->nsent - 1], "\"op\":\"connect\"") != NULL);
    tu_srv_text(s, "{\"op\":\"connected\",\"clientId\":\"abc\"}");
}

/* The transport ends (the server closed TCP). */
static TU_UNUSED void tu_srv_drop(tu_srv *s) {
    lq_core_closed(s->c, LQ_OK, 0, s->now);
    tu_srv_drain(s);
}

#endif /* TESTUTIL_H */
