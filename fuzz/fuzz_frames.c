/* libFuzzer target: the frame decoder and the protocol behind it. The client is past a valid
   handshake, connected and subscribed (requestIds 1 and 2); every input byte after the first is
   server frame data.

   First byte: bits 0-2 cut the data into feeds of 2^k bytes (7: one feed); bit 3 sets
   max_message_bytes to 300 instead of 64 KiB; bit 4 calls lq_close halfway; bit 5 ends with the
   server closing TCP instead of the clock running out; bit 6 lets callbacks subscribe, update and
   unsubscribe.

   Checked on every input: lq_core_feed consumes no more than it is given; every byte the client
   sends parses as whole, masked, final frames with valid opcodes, control payloads <= 125, the
   shortest length encoding, no 1005/1006/1015 or 1-byte Close body, and nothing after its Close;
   memory stays bounded by the message limit; a handle is valid in its events' callbacks and
   refused by every call after its UNSUBSCRIBED; the session ends finished (LQ_IO_DONE);
   everything allocated is freed (the counting allocator of tests/testutil.h).

   Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -I. fuzz/fuzz_frames.c */
#define LIVEQUERY_IMPLEMENTATION
#define LQ_NO_SOCKETS
#include "../livequery.h"
#include "../tests/testutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fz {
    tu_harness h;               /* its counting allocator */
    bool meddle;
    int events;
    lq_sub ended[16];           /* handles after their UNSUBSCRIBED (the first 16) */
    int nended;
} fz;

static void require(bool ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

static bool fz_random(void *buf, size_t len, void *user) {
    unsigned char *p = (unsigned char *)buf;
    size_t i;
    (void)user;
    for (i = 0; i < len; i++) p[i] = (unsigned char)(0x5a + i);
    return true;
}

static void fz_event(lq_client *c, const lq_event *ev, void *user) {
    fz *f = (fz *)user;
    lq_query q;
    char tmp[32];
    lq_json v;
    f->events++;
    for (v = lq_json_child(ev->object); lq_json_exists(v); v = lq_json_next(v)) {
        lq_json_string(lq_json_key(v), tmp, sizeof tmp);
        (void)lq_json_int(v, 0);
    }
    if (ev->sub.id) require(lq_sub_valid(c, ev->sub), "a handle is valid in the callback of its event");
    if (ev->type == LQ_EVENT_UNSUBSCRIBED) {
        require(lq_unsubscribe(c, ev->sub) == LQ_ERR_INVALID_ARG, "no unsubscribe inside UNSUBSCRIBED");
        if (f->nended < 16) f->ended[f->nended++] = ev->sub;
    }
    if (!f->meddle || !ev->sub.id) return;
    memset(&q, 0, sizeof q);
    q.class_name = "B";
    if (ev->type == LQ_EVENT_CREATE) lq_update(c, ev->sub, &q);
    else if (ev->type == LQ_EVENT_DELETE) lq_unsubscribe(c, ev->sub);
    else if (ev->type == LQ_EVENT_ENTER && f->events < 50) lq_subscribe(c, &q, NULL);
}

static void take(lq_client *c, tbuf *sent) {
    size_t n;
    const void *p = lq_core_peek(c, &n);
    while (n) {
        tb_put(sent, p, n);
        lq_core_consume(c, n);
        p = lq_core_peek(c, &n);
    }
}

static void frame_text(lq_client *c, const char *s, uint64_t now) {
    tbuf b = {0};
    tu_text(&b, s);
    lq_core_feed(c, b.p, b.len, now);
    tb_free(&b);
}

/* Whatever the server did, the client's bytes stay RFC 6455 (points 8, 12, 14, 20-24). */
static void check_sent(const tbuf *sent, size_t from) {
    tu_cframes fs;
    int i;
    bool closed = false;
    tu_parse_client(sent->p + from, sent->len - from, &fs);
    require(fs.trailing == 0, "the client's output ends on a frame boundary");
    for (i = 0; i < fs.n; i++) {
        const tu_cframe *fr = &fs.f[i];
        require(!closed, "no frame after the client's Close");
        require(fr->masked && fr->fin && fr->rsv == 0 && fr->minimal, "masked, final, no RSV, shortest length");
        require(fr->opcode == 1 || fr->opcode == 8 || fr->opcode == 9 || fr->opcode == 10, "opcode");
        if (fr->opcode >= 8) require(fr->len <= 125, "control payload <= 125");
        if (fr->opcode == 8) {
            int code = tu_close_code(fr);
            require(code != -2 && code != 1005 && code != 1006 && code != 1015, "Close code on the wire");
            require(code == -1 || (code >= 1000 && code <= 4999), "Close code range");
            closed = true;
        }
    }
    tu_cframes_free(&fs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char accept[29], key[32];
    const char *k;
    lq_desc d;
    lq_client *c = NULL;
    lq_query q;
    fz f;
    tbuf sent = {0}, resp = {0};
    uint64_t now = 1000;
    size_t chunk, i = 1, after_req, limit, half;
    unsigned mode;
    int j;
    if (size < 1) return 0;
    mode = data[0];
    memset(&f, 0, sizeof f);
    tu_harness_init(&f.h);
    f.meddle = (mode & 0x40) != 0;
    memset(&d, 0, sizeof d);
    d.server_url = "ws://127.0.0.1:8080/parse";
    d.application_id = "a";
    d.random = fz_random;
    d.on_event = fz_event;
    d.user_data = &f;
    tu_use_alloc(&d, &f.h);
    d.max_message_bytes = (mode & 0x08) ? 300 : 65536;
    d.no_reconnect = true;
    limit = d.max_message_bytes;
    if (lq_client_create(&d, &c) != LQ_OK) return 0;
    memset(&q, 0, sizeof q);
    q.class_name = "A";
    lq_subscribe(c, &q, NULL);
    lq_subscribe(c, &q, NULL);
    lq_core_tick(c, now);
    lq_core_opened(c, now);
    take(c, &sent);
    k = strstr(tb_str(&sent), "Sec-WebSocket-Key: ");
    require(k != NULL, "key");
    memcpy(key, k + 19, 24);
    key[24] = 0;
    tu_ws_accept(key, accept);
    tb_printf(&resp, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\n\r\n", accept);
    after_req = sent.len;
    lq_core_feed(c, resp.p, resp.len, now);
    frame_text(c, "{\"op\":\"connected\",\"clientId\":\"fz\"}", now);
    frame_text(c, "{\"op\":\"subscribed\",\"clientId\":\"fz\",\"requestId\":1}", now);
    frame_text(c, "{\"op\":\"subscribed\",\"clientId\":\"fz\",\"requestId\":2}", now);
    take(c, &sent);
    require(lq_client_state(c) == LQ_STATE_CONNECTED, "connected");
    chunk = (mode & 7) == 7 ? size : (size_t)1 << (mode & 7);
    half = 1 + (size - 1) / 2;
    while (i < size && c->link != LQ__L_IDLE && lq_core_io(c) == LQ_IO_NONE) {
        size_t n = size - i < chunk ? size - i : chunk, used;
        if ((mode & 0x10) && i < half && i + n >= half) lq_close(c);
        used = lq_core_feed(c, data + i, n, now);
        require(used <= n, "feed consumed more than given");
        take(c, &sent);
        i += n;
        now += 5;
        lq_core_tick(c, now);
        take(c, &sent);
        require(f.h.peak <= 40 * limit + 65536, "memory bounded by the message limit");
    }
    if (lq_core_io(c) != LQ_IO_CLOSE && c->link != LQ__L_IDLE) {
        if (mode & 0x20) lq_core_closed(c, LQ_OK, 0, now);
        else { now += 40000; lq_core_tick(c, now); take(c, &sent); }
    }
    if (lq_core_io(c) == LQ_IO_CLOSE) lq_core_closed(c, LQ_OK, 0, now);
    lq_close(c);
    lq_core_tick(c, now + 1);
    take(c, &sent);
    if (lq_core_io(c) == LQ_IO_CLOSE) lq_core_closed(c, LQ_OK, 0, now + 1);
    check_sent(&sent, after_req);
    for (j = 0; j < f.nended; j++) {
        lq_query q2;
        memset(&q2, 0, sizeof q2);
        q2.class_name = "C";
        require(!lq_sub_valid(c, f.ended[j]) && lq_sub_user_data(c, f.ended[j]) == NULL, "an ended handle is invalid");
        require(lq_unsubscribe(c, f.ended[j]) == LQ_ERR_INVALID_ARG && lq_update(c, f.ended[j], &q2) == LQ_ERR_INVALID_ARG &&
                lq_sub_set_user_data(c, f.ended[j], &f) == LQ_ERR_INVALID_ARG, "an ended handle is refused");
    }
    require(lq_core_io(c) == LQ_IO_DONE || c->link != LQ__L_IDLE, "finished once the link is down");
    lq_client_destroy(c);
    require(f.h.live == 0, "everything allocated is freed");
    tb_free(&sent);
    tb_free(&resp);
    return 0;
}
