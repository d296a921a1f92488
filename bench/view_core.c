/* view_core.c - what a live view (lq_view) costs, on the I/O-free core: no socket, no server.

   A view of every GameScore ordered by -score is loaded from a find of N rows (~190 bytes each),
   then takes E update events that move random rows (each with the original the view holds, so
   that none makes it load again), then the link is lost and the view resyncs against a find in
   which C rows changed. Prints one line of key=value figures:
     load_ms, heap_peak, heap_live, heap_per_row   the first load (diffed into N inserts)
     event_ns                                      per update event, whole path (frame parse of the
                                                   message, JSON, dispatch, the view's move)
     resync_ms                                     the find of the resync: parse, diff into row events
   Run under callgrind, bench_events and bench_resync give instructions per event and per resync.

   Usage: view_core [N [E [C]]]   (10000, 20000, 100) */
#define _POSIX_C_SOURCE 200809L
#define LIVEQUERY_IMPLEMENTATION
#define LQ_NO_SOCKETS
#include "../livequery.h"
#include "benchutil.h"

typedef struct counts { long insert, change, move, remove, ready, stale, error; } counts;

static bool fake_random(void *buf, size_t len, void *user) {
    static uint32_t x = 0x9E3779B9u;
    unsigned char *p = (unsigned char *)buf;
    (void)user;
    while (len--) { x = x * 1664525u + 1013904223u; *p++ = (unsigned char)(x >> 24); }
    return true;
}

static void on_view(lq_view *v, const lq_view_event *ev, void *user) {
    counts *k = (counts *)user;
    (void)v;
    switch (ev->type) {
    case LQ_VIEW_INSERT: k->insert++; break;
    case LQ_VIEW_CHANGE: k->change++; break;
    case LQ_VIEW_MOVE: k->move++; break;
    case LQ_VIEW_REMOVE: k->remove++; break;
    case LQ_VIEW_READY: k->ready++; break;
    case LQ_VIEW_STALE: k->stale++; break;
    case LQ_VIEW_ERROR: k->error++; fprintf(stderr, "view_core: view error %s\n", ev->error_message); break;
    default: break;
    }
}

static uint64_t g_now = 1;

static void drain(lq_client *c, char *last, size_t cap) {
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
    size_t n = strlen(text);
    unsigned char *f = (unsigned char *)malloc(n + 16);
    size_t fl = bu_server_frame(f, text, n);
    lq_core_feed(c, f, fl, g_now);
    free(f);
}

/* Handshake, connected, and the view's subscription confirmed. */
static void open_link(lq_client *c) {
    char req[2048], accept[29], resp[256];
    const char *k;
    size_t klen = 0;
    int i;
    for (i = 0; i < 1000 && lq_core_io(c) != LQ_IO_CONNECT; i++) lq_core_tick(c, g_now += 100);
    if (lq_core_io(c) != LQ_IO_CONNECT) { fprintf(stderr, "view_core: no connect\n"); exit(1); }
    lq_core_opened(c, g_now);
    drain(c, req, sizeof req);
    k = strstr(req, "Sec-WebSocket-Key: ");
    if (!k) exit(1);
    k += 19;
    while (k[klen] && k[klen] != '\r') klen++;
    bu_ws_accept(k, klen, accept);
    snprintf(resp, sizeof resp, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
    lq_core_feed(c, resp, strlen(resp), g_now);
    drain(c, NULL, 0);
    feed_text(c, "{\"op\":\"connected\",\"clientId\":\"" BU_CLIENT_ID "\"}");
    drain(c, NULL, 0);
    feed_text(c, "{\"op\":\"subscribed\",\"clientId\":\"" BU_CLIENT_ID "\",\"requestId\":1}");
}

static int g_score[1 << 20], g_upd[1 << 20];

static void object(char *out, size_t cap, int i) {
    snprintf(out, cap, "{\"objectId\":\"obj%07d\",\"createdAt\":\"2026-01-01T00:00:00.000Z\",\"updatedAt\":"
             "\"2026-01-01T00:%02d:%02d.%03dZ\",\"playerName\":\"player %d of the benchmark\",\"score\":%d,"
             "\"tags\":[\"bench\",\"view\"],\"ACL\":{\"*\":{\"read\":true}}}",
             i, g_upd[i] / 60000 % 60, g_upd[i] / 1000 % 60, g_upd[i] % 1000, i, g_score[i]);
}

/* A response with the first n objects, and "count" when total >= 0. */
static char *find_response(int n, int total, size_t *len) {
    size_t cap = (size_t)n * 300 + 256, at;
    char *body = (char *)malloc(cap), *resp, one[400];
    int i;
    at = (size_t)snprintf(body, cap, "{\"results\":[");
    for (i = 0; i < n; i++) {
        object(one, sizeof one, i);
        at += (size_t)snprintf(body + at, cap - at, "%s%s", i ? "," : "", one);
    }
    at += (size_t)snprintf(body + at, cap - at, "]");
    if (total >= 0) at += (size_t)snprintf(body + at, cap - at, ",\"count\":%d", total);
    at += (size_t)snprintf(body + at, cap - at, "}");
    resp = (char *)malloc(at + 128);
    *len = (size_t)sprintf(resp, "HTTP/1.1 200 OK\r\nContent-Length: %lu\r\n\r\n", (unsigned long)at);
    memcpy(resp + *len, body, at);
    *len += at;
    free(body);
    return resp;
}

/* The REST link: connected when asked, the request taken; returns its limit (0: none pending)
   and whether it asked for the count. */
static int rest_take(lq_client *c, bool *count) {
    size_t n;
    const char *p, *lim;
    char req[4096];
    if (lq_core_link_io(c, LQ_LINK_REST) == LQ_IO_CLOSE) lq_core_link_closed(c, LQ_LINK_REST, LQ_OK, 0, g_now);
    if (lq_core_link_io(c, LQ_LINK_REST) == LQ_IO_CONNECT) lq_core_link_opened(c, LQ_LINK_REST, g_now);
    p = (const char *)lq_core_link_peek(c, LQ_LINK_REST, &n);
    if (!n) return 0;
    snprintf(req, sizeof req, "%.*s", (int)(n < sizeof req - 1 ? n : sizeof req - 1), p);
    lq_core_link_consume(c, LQ_LINK_REST, n);
    lim = strstr(req, "\"limit\":");
    *count = strstr(req, "\"count\":1") != NULL;
    return lim ? atoi(lim + 8) : 100;
}

/* The answers to a view without a limit: its first page with the count, then all rows. Built
   before the clock starts. */
typedef struct answers { char *page, *all; size_t page_len, all_len; int n; } answers;

static void answers_make(answers *a, int n) {
    a->n = n;
    a->page = find_response(n < 1000 ? n : 1000, n, &a->page_len);
    a->all = find_response(n, -1, &a->all_len);
}

static void answers_free(answers *a) { free(a->page); free(a->all); }

/* Answers the view's finds until it is ready (a view without a limit asks twice for n > 1000). */
static void answer_finds(lq_client *c, const answers *a, counts *k, long ready) {
    int rounds;
    for (rounds = 0; rounds < 8 && k->ready < ready; rounds++) {
        bool count = false;
        int limit = rest_take(c, &count);
        if (!limit) break;
        if (count) lq_core_link_feed(c, LQ_LINK_REST, a->page, a->page_len, g_now);
        else lq_core_link_feed(c, LQ_LINK_REST, a->all, a->all_len, g_now);
    }
}

BU_NOINLINE static void bench_load(lq_client *c, const answers *a, counts *k) { answer_finds(c, a, k, 1); }

BU_NOINLINE static void bench_resync(lq_client *c, const answers *a, counts *k) { answer_finds(c, a, k, 2); }

BU_NOINLINE static void bench_events(lq_client *c, char **msgs, size_t *lens, long e) {
    long i;
    for (i = 0; i < e; i++) lq__on_message(c, msgs[i], lens[i]);
}

int main(int argc, char **argv) {
    static bu_counter mem;
    static counts k;
    int n = argc > 1 ? atoi(argv[1]) : 10000;
    long e = argc > 2 ? atol(argv[2]) : 20000, i;
    int changed = argc > 3 ? atoi(argv[3]) : 100;
    lq_desc desc;
    lq_view_desc vd;
    lq_client *c;
    lq_view *v;
    char **msgs, before[400], after[400];
    size_t *lens;
    uint64_t t0, t_load, t_events, t_resync;
    size_t peak, live;
    uint32_t r = 12345;
    answers ans;

    for (i = 0; i < n; i++) { g_score[i] = (int)((i * 7919) % 100000); g_upd[i] = 1; }
    memset(&desc, 0, sizeof desc);
    desc.server_url = "ws://127.0.0.1:1/parse";
    desc.application_id = "benchApp";
    desc.random = fake_random;
    desc.allocator.alloc = bu_alloc;
    desc.allocator.free = bu_free;
    desc.allocator.user_data = &mem;
    desc.max_message_bytes = 64u << 20;
    if (lq_client_create(&desc, &c) != LQ_OK) return 1;
    memset(&vd, 0, sizeof vd);
    vd.class_name = "GameScore";
    vd.order = "-score";
    vd.on_event = on_view;
    vd.user_data = &k;
    if (lq_view_create(c, &vd, &v) != LQ_OK) return 1;
    open_link(c);
    answers_make(&ans, n);
    mem.peak = mem.live;
    t0 = bu_now_ns();
    bench_load(c, &ans, &k);
    t_load = bu_now_ns() - t0;
    answers_free(&ans);
    peak = mem.peak;
    live = mem.live;
    if (k.ready != 1 || k.insert != n || lq_view_count(v) != n) {
        fprintf(stderr, "view_core: load: ready %ld, %ld inserts, %d rows\n", k.ready, k.insert, lq_view_count(v));
        return 1;
    }

    /* E updates, each moving a random row to a new score */
    msgs = (char **)malloc((size_t)e * sizeof *msgs);
    lens = (size_t *)malloc((size_t)e * sizeof *lens);
    for (i = 0; i < e; i++) {
        int o;
        r = r * 1103515245u + 12345u;
        o = (int)((r >> 8) % (uint32_t)n);
        object(before, sizeof before, o);
        r = r * 1103515245u + 12345u;
        g_score[o] = (int)((r >> 8) % 100000);
        g_upd[o]++;
        object(after, sizeof after, o);
        msgs[i] = (char *)malloc(1024);
        lens[i] = (size_t)snprintf(msgs[i], 1024, "{\"op\":\"update\",\"clientId\":\"" BU_CLIENT_ID "\",\"requestId\":1,"
                                   "\"object\":%s,\"original\":%s}", after, before);
    }
    t0 = bu_now_ns();
    bench_events(c, msgs, lens, e);
    t_events = bu_now_ns() - t0;
    if (k.error || lq_view_count(v) != n || k.move + k.change != e) {
        fprintf(stderr, "view_core: events: %ld moves, %ld changes of %ld, %ld errors\n", k.move, k.change, e, k.error);
        return 1;
    }

    /* the link is lost; C rows change meanwhile; the resync */
    lq_core_closed(c, LQ_OK, 0, g_now);
    for (i = 0; i < changed; i++) {
        int o;
        r = r * 1103515245u + 12345u;
        o = (int)((r >> 8) % (uint32_t)n);
        g_score[o] = (int)((r >> 16) % 100000);
        g_upd[o]++;
    }
    open_link(c);
    g_now += 10000;
    lq_core_tick(c, g_now);
    k.move = k.change = 0;
    answers_make(&ans, n);
    t0 = bu_now_ns();
    bench_resync(c, &ans, &k);
    t_resync = bu_now_ns() - t0;
    answers_free(&ans);
    if (k.stale != 1 || k.ready != 2 || lq_view_count(v) != n) {
        fprintf(stderr, "view_core: resync: stale %ld, ready %ld, %d rows\n", k.stale, k.ready, lq_view_count(v));
        return 1;
    }
    printf("rows=%d load_ms=%.1f heap_peak=%lu heap_live=%lu heap_per_row=%.0f view_bytes=%lu events=%ld event_ns=%.0f "
           "resync_changed=%d resync_ms=%.2f resync_moves=%ld\n",
           n, (double)t_load / 1e6, (unsigned long)peak, (unsigned long)live, (double)lq_view_heap_bytes(v) / n,
           (unsigned long)lq_view_heap_bytes(v), e, (double)t_events / (double)e, changed, (double)t_resync / 1e6,
           k.move + k.change);
    for (i = 0; i < e; i++) free(msgs[i]);
    free(msgs);
    free(lens);
    lq_client_destroy(c);
    return 0;
}
