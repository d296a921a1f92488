/* callgrind_event: instructions per event, for valgrind --tool=callgrind.

   usage: callgrind_event [N [CHUNK [original]]]     (N events, default 20000; CHUNK bytes per
                                                     lq_core_feed, default 8192 like lq_step)

   Builds the I/O-free core (LQ_NO_SOCKETS) with a fake transport: answers the handshake, connect
   and subscribe, then feeds N copies of the update frame through lq_core_feed in CHUNK-byte
   pieces, with the same callback as ingest_lq (parse the object, read score and playerName).
   Every phase is a noinline function, so callgrind_annotate --inclusive=yes shows its total:
     bench_feed      the whole path: lq_core_feed -> frame -> UTF-8 -> JSON -> dispatch -> callback
     bench_message   lq__on_message on the payload: JSON + dispatch + callback
     bench_json      lq__json_parse on the payload, as lq__on_message calls it
     bench_utf8      lq__utf8_step over the payload, as lq__ws_read calls it
     bench_callback  the callback alone, on a parsed event
   Frame decode, copy and UTF-8 check = feed - message (bench_utf8 is what a separate UTF-8 pass
   costs on its own); dispatch = message - json - callback. bench_feed also ran the WARM warm-up
   frames. Also prints the allocations made during the measured bench_feed (must be 0). */
#define _POSIX_C_SOURCE 200809L
#define LQ_NO_SOCKETS
#define LIVEQUERY_IMPLEMENTATION
#include "../livequery.h"
#include "benchutil.h"

#define WARM 100

typedef struct sink {
    double sum;
    size_t name_len;
    long events;
} sink;

static bool fake_random(void *buf, size_t len, void *user) {
    static uint32_t x = 0x12345678u;
    unsigned char *p = (unsigned char *)buf;
    (void)user;
    while (len--) {
        x = x * 1664525u + 1013904223u;
        *p++ = (unsigned char)(x >> 24);
    }
    return true;
}

/* What the benchmark's user does with an event: the same as ingest_lq. */
BU_NOINLINE static void read_fields(sink *s, lq_json object) {
    char name[32];
    s->sum += lq_json_number(lq_json_get(object, "score"), 0);
    s->name_len += lq_json_string(lq_json_get(object, "playerName"), name, sizeof name);
}

static void on_event(lq_client *c, const lq_event *ev, void *user) {
    sink *s = (sink *)user;
    (void)c;
    if (ev->type == LQ_EVENT_ERROR) {
        fprintf(stderr, "callgrind_event: error %s\n", ev->error_message);
        exit(1);
    }
    if (ev->type != LQ_EVENT_UPDATE) return;
    read_fields(s, ev->object);
    s->events++;
}

static void drain_output(lq_client *c, char *last, size_t cap) {
    size_t n;
    const void *p = lq_core_peek(c, &n);
    if (last && cap) {
        size_t k = n < cap - 1 ? n : cap - 1;
        memcpy(last, p ? p : "", k);
        last[k] = 0;
    }
    lq_core_consume(c, n);
}

static void feed_text(lq_client *c, const char *text) {
    unsigned char f[512];
    size_t n = bu_server_frame(f, text, strlen(text));
    if (lq_core_feed(c, f, n, 1) != n) {
        fprintf(stderr, "callgrind_event: feed failed: %s\n", lq_error_message(c));
        exit(1);
    }
}

/* Handshake, connected, subscribed: the client is live with subscription 1. */
static void open_client(lq_client *c) {
    char req[1024], accept[29], resp[256];
    const char *k;
    size_t klen = 0;
    lq_core_tick(c, 1);
    if (lq_core_io(c) != LQ_IO_CONNECT) exit(1);
    lq_core_opened(c, 1);
    drain_output(c, req, sizeof req);
    k = strstr(req, "Sec-WebSocket-Key: ");
    if (!k) exit(1);
    k += 19;
    while (k[klen] && k[klen] != '\r') klen++;
    bu_ws_accept(k, klen, accept);
    snprintf(resp, sizeof resp, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
    lq_core_feed(c, resp, strlen(resp), 1);
    drain_output(c, NULL, 0);                   /* connect */
    feed_text(c, "{\"op\":\"connected\",\"clientId\":\"" BU_CLIENT_ID "\"}");
    drain_output(c, NULL, 0);                   /* subscribe */
    feed_text(c, "{\"op\":\"subscribed\",\"clientId\":\"" BU_CLIENT_ID "\",\"requestId\":1}");
    if (lq_client_state(c) != LQ_STATE_CONNECTED) exit(1);
}

BU_NOINLINE static void bench_feed(lq_client *c, const unsigned char *stream, size_t len, size_t chunk) {
    size_t at = 0;
    while (at < len) {
        size_t n = len - at < chunk ? len - at : chunk;
        lq_core_feed(c, stream + at, n, 2);
        at += n;
    }
}

BU_NOINLINE static void bench_message(lq_client *c, const char *payload, size_t n, long times) {
    long i;
    for (i = 0; i < times; i++) lq__on_message(c, payload, n);
}

BU_NOINLINE static int bench_json(lq_client *c, const char *payload, size_t n, long times) {
    lq_json root;
    long i;
    int got = 0;
    for (i = 0; i < times; i++) got += lq__json_parse(payload, n, c->toks, c->ntoks, c->max_depth, false, &root);
    return got;
}

BU_NOINLINE static uint32_t bench_utf8(const char *payload, size_t n, long times) {
    uint32_t st = 0;
    long i;
    for (i = 0; i < times; i++) st |= lq__utf8_step(0, (const unsigned char *)payload, n);
    return st;
}

BU_NOINLINE static void bench_callback(sink *s, lq_json object, long times) {
    long i;
    for (i = 0; i < times; i++) read_fields(s, object);
}

int main(int argc, char **argv) {
    static bu_counter mem;
    static sink s;
    long n = argc > 1 ? atol(argv[1]) : 20000, i;
    size_t chunk = argc > 2 ? (size_t)atol(argv[2]) : 8192;
    const char *fmt = argc > 3 ? bu_update_orig_fmt : bu_update_fmt;
    char payload[1024];
    unsigned char *stream;
    size_t plen, flen;
    lq_desc desc;
    lq_query q;
    lq_client *c;
    lq_json root;
    uint64_t allocs;
    int got;

    memset(&desc, 0, sizeof desc);
    desc.server_url = "ws://127.0.0.1:1/parse";
    desc.application_id = "benchApp";
    desc.javascript_key = "benchKey";
    desc.on_event = on_event;
    desc.user_data = &s;
    desc.random = fake_random;
    desc.allocator.alloc = bu_alloc;
    desc.allocator.free = bu_free;
    desc.allocator.user_data = &mem;
    if (lq_client_create(&desc, &c) != LQ_OK) return 1;
    memset(&q, 0, sizeof q);
    q.class_name = "GameScore";
    if (lq_subscribe(c, &q, NULL) != LQ_OK) return 1;
    open_client(c);

    plen = (size_t)snprintf(payload, sizeof payload, fmt, 1);
    stream = (unsigned char *)malloc((size_t)n * (plen + 10));
    if (!stream) return 1;
    for (flen = 0, i = 0; i < n; i++) flen += bu_server_frame(stream + flen, payload, plen);

    /* warm up: buffers reach their size (WARM frames span several chunks, so a frame split
       between two chunks has been assembled once) */
    bench_feed(c, stream, flen / (size_t)n * (size_t)(n < WARM ? n : WARM), chunk);
    s.events = 0;
    allocs = mem.allocs;
    bench_feed(c, stream, flen, chunk);
    allocs = mem.allocs - allocs;
    if (s.events != n) {
        fprintf(stderr, "callgrind_event: %ld of %ld events\n", s.events, n);
        return 1;
    }
    bench_message(c, payload, plen, n);
    got = bench_json(c, payload, plen, n);
    got += (int)bench_utf8(payload, plen, n);
    lq__json_parse(payload, plen, c->toks, c->ntoks, 0, false, &root);
    bench_callback(&s, lq_json_get(root, "object"), n);
    printf("events=%ld warm=%ld payload=%zu frame=%zu tokens=%d allocs=%llu heap=%zu check=%.0f/%zu\n", n,
           n < WARM ? n : WARM, plen, flen / (size_t)n, got / (int)n, (unsigned long long)allocs, mem.live, s.sum, s.name_len);
    lq_client_destroy(c);
    free(stream);
    return 0;
}
