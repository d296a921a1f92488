/* libFuzzer target: arbitrary bytes as the server's answer to the WebSocket upgrade request.

   The client runs on the I/O-free core with a fixed random source, so its Sec-WebSocket-Key is
   always "WlpaWlpaWlpaWlpaWlpaWg==" and the matching accept "1nwQI3IBoftOh+fG2YorpTWcrHs=" can sit in
   the seeds. The first input byte picks how the rest is cut into feeds (1..128 bytes, or whole)
   and whether the transport then ends (EOF) or the clock runs past connect_timeout_ms.

   Checked on every input: lq_core_feed never reports more bytes than it was given; until the 101
   is accepted the client sends nothing after its request; a refused handshake is reported as an
   ERROR with a reason and lq_error_message set, and exactly one CLOSE ends the session, after which
   the client is finished (LQ_IO_DONE, its subscription's handle invalid); memory stays under
   max_handshake_bytes plus a fixed slack; everything allocated is freed (the counting allocator of
   tests/testutil.h).

   Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -I. fuzz/fuzz_handshake.c */
#define LIVEQUERY_IMPLEMENTATION
#define LQ_NO_SOCKETS
#include "../livequery.h"
#include "../tests/testutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HS 2048

typedef struct fz {
    tu_harness h;               /* its counting allocator */
    int errors, opens, closes;
    lq_result first_error;
    bool error_has_message;
} fz;

static void require(bool ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

static bool fz_random(void *buf, size_t len, void *user) {
    (void)user;
    memset(buf, 0x5a, len);
    return true;
}

static void fz_event(lq_client *c, const lq_event *ev, void *user) {
    fz *f = (fz *)user;
    (void)c;
    if (ev->type == LQ_EVENT_ERROR) {
        if (!f->errors++) f->first_error = ev->result;
        f->error_has_message = ev->error_message && ev->error_message[0];
    }
    if (ev->type == LQ_EVENT_OPEN) f->opens++;
    if (ev->type == LQ_EVENT_CLOSE) f->closes++;
}

/* Takes what the client sends; returns its size. */
static size_t drain(lq_client *c) {
    size_t n, total = 0;
    lq_core_peek(c, &n);
    while (n) {
        total += n;
        lq_core_consume(c, n);
        lq_core_peek(c, &n);
    }
    return total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lq_desc d;
    lq_client *c = NULL;
    lq_query q;
    lq_sub s;
    fz f;
    uint64_t now = 1000;
    size_t chunk, i = 1, base;
    bool eof, upgraded = false;
    if (size < 1) return 0;
    memset(&f, 0, sizeof f);
    tu_harness_init(&f.h);
    memset(&d, 0, sizeof d);
    d.server_url = "ws://127.0.0.1:8080/parse";
    d.application_id = "a";
    d.random = fz_random;
    d.on_event = fz_event;
    d.user_data = &f;
    tu_use_alloc(&d, &f.h);
    d.max_handshake_bytes = MAX_HS;
    d.max_message_bytes = 4096;
    d.no_reconnect = true;
    d.connect_timeout_ms = 5000;
    if (lq_client_create(&d, &c) != LQ_OK) return 0;
    memset(&q, 0, sizeof q);
    q.class_name = "A";
    require(lq_subscribe(c, &q, &s) == LQ_OK && s.id, "subscribe"); /* queued: must not leave before connected */
    lq_core_tick(c, now);
    require(lq_core_io(c) == LQ_IO_CONNECT, "connect first");
    lq_core_opened(c, now);
    require(drain(c) > 0, "the upgrade request");
    chunk = (data[0] & 0x7f) ? (size_t)(data[0] & 0x7f) : size;
    eof = (data[0] & 0x80) != 0;
    base = f.h.live;
    while (i < size && lq_core_io(c) == LQ_IO_NONE && lq_client_state(c) == LQ_STATE_CONNECTING) {
        size_t n = size - i < chunk ? size - i : chunk, used;
        size_t out;
        used = lq_core_feed(c, data + i, n, now);
        require(used <= n, "feed consumed more than given");
        out = drain(c);
        if (c->sent_connect) upgraded = true;       /* the 101 was accepted: frames may follow */
        else require(out == 0, "nothing sent before the 101");
        i += n;
        now += 3;
        lq_core_tick(c, now);
        require(f.h.live - base <= MAX_HS + 4096 + 1024 || c->link == LQ__L_OPEN, "handshake memory bounded");
    }
    if (lq_client_state(c) == LQ_STATE_CONNECTING && lq_core_io(c) == LQ_IO_NONE) {
        if (eof) lq_core_closed(c, LQ_OK, 0, now);
        else lq_core_tick(c, now + 6000);
    }
    drain(c);
    lq_core_tick(c, now + 9000);                   /* past close_timeout_ms too */
    if (lq_core_io(c) == LQ_IO_CLOSE) lq_core_closed(c, LQ_OK, 0, now + 9000);
    lq_core_tick(c, now + 9000);
    if (f.opens == 0 && !upgraded) {
        require(f.errors >= 1 && f.error_has_message, "a failed upgrade is reported with a reason");
        require(f.first_error == LQ_ERR_HANDSHAKE || f.first_error == LQ_ERR_TIMEOUT ||
                f.first_error == LQ_ERR_PROTOCOL || f.first_error == LQ_ERR_UTF8 ||
                f.first_error == LQ_ERR_LIMIT || f.first_error == LQ_ERR_JSON ||
                f.first_error == LQ_ERR_SERVER, "error kind");
        require(lq_error_message(c)[0] != 0, "lq_error_message set");
    }
    lq_close(c);
    drain(c);
    lq_core_tick(c, now + 12000);
    if (lq_core_io(c) == LQ_IO_CLOSE) lq_core_closed(c, LQ_OK, 0, now + 12000);
    require(f.closes == 1, "one CLOSE event ends the session");
    require(lq_core_io(c) == LQ_IO_DONE, "then the client is finished");
    require(!lq_sub_valid(c, s) && lq_unsubscribe(c, s) == LQ_ERR_INVALID_ARG, "the subscription ended with it");
    lq_client_destroy(c);
    require(f.h.live == 0, "everything allocated is freed");
    return 0;
}
