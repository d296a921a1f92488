/* libFuzzer target: the REST link and a live view fed arbitrary server bytes as REST responses,
   with a fake clock. The LiveQuery link is connected and the view's subscription confirmed, so the
   view asks for its rows; everything after the first byte is what the REST server "answers", in
   chunks. The first byte: bit 0 a view with a limit of 3 (else none), bits 1-3 the chunk size,
   bit 4 a find and a get of the caller's own besides. Invariants: no crash, no leak, the view
   never holds more than its limit, every row it shows is found at its index. */
#define LIVEQUERY_IMPLEMENTATION
#define LQ_NO_SOCKETS
#include "../livequery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool fz_random(void *buf, size_t len, void *user) {
    (void)user;
    memset(buf, 0x5a, len);
    return true;
}

static void fz_view(lq_view *v, const lq_view_event *ev, void *user) {
    (void)ev; (void)user;
    if (lq_view_count(v) > 3 && lq_view_user_data(v) != NULL) abort();   /* limited views carry a marker */
}

static void fz_response(lq_client *c, const lq_response *r, void *user) {
    lq_json v;
    size_t n;
    (void)c; (void)user;
    for (v = lq_json_child(r->results); lq_json_exists(v); v = lq_json_next(v)) lq_json_raw(v, &n);
    if (!r->error_message) abort();
}

static void fz_drain(lq_client *c, lq_link l) {
    size_t n;
    lq_core_link_peek(c, l, &n);
    lq_core_link_consume(c, l, n);
}

/* Handshake, connected, the view's subscription confirmed. */
static void fz_open(lq_client *c, uint64_t now) {
    char resp[256], key[32], accept[29], req[1024];
    size_t n;
    const char *p, *k;
    lq_core_opened(c, now);
    p = (const char *)lq_core_peek(c, &n);
    if (n >= sizeof req) n = sizeof req - 1;
    if (p) memcpy(req, p, n);
    req[p ? n : 0] = 0;
    k = strstr(req, "Sec-WebSocket-Key: ");
    if (!k) return;
    memcpy(key, k + 19, 24);
    key[24] = 0;
    lq__ws_accept(key, accept);
    snprintf(resp, sizeof resp, "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
    fz_drain(c, LQ_LINK_LIVEQUERY);
    lq_core_feed(c, resp, strlen(resp), now);
    lq_core_feed(c, "\x81\x24{\"op\":\"connected\",\"clientId\":\"fz\"}  ", 38, now);
    lq_core_feed(c, "\x81\x2a{\"op\":\"subscribed\",\"clientId\":\"fz\",\"requestId\":1}", 44, now);
    fz_drain(c, LQ_LINK_LIVEQUERY);
}

static void fz_check(const lq_view *v, bool limited) {
    int i, n = lq_view_count(v);
    if (limited && n > 3) abort();
    for (i = 0; i < n; i++) {
        char id[80];
        lq_json_string(lq_json_get(lq_view_row(v, i), "objectId"), id, sizeof id);
        if (lq_view_index_of(v, id) != i) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int marker;
    lq_desc d;
    lq_view_desc vd;
    lq_find_desc f;
    lq_client *c = NULL;
    lq_view *v = NULL;
    uint64_t now = 1;
    size_t chunk, i = 1;
    int rounds = 0;
    bool limited;
    if (size < 1) return 0;
    limited = (data[0] & 1) != 0;
    chunk = (size_t)1 << ((data[0] >> 1) & 7);
    memset(&d, 0, sizeof d);
    d.server_url = "ws://127.0.0.1:1/parse";
    d.application_id = "a";
    d.random = fz_random;
    d.max_response_bytes = 1 << 16;
    d.max_handshake_bytes = 1024;
    if (lq_client_create(&d, &c) != LQ_OK) return 0;
    memset(&vd, 0, sizeof vd);
    vd.class_name = "A";
    vd.order = "-score,name";
    vd.limit = limited ? 3 : 0;
    vd.on_event = fz_view;
    vd.user_data = limited ? &marker : NULL;
    if (lq_view_create(c, &vd, &v) != LQ_OK) { lq_client_destroy(c); return 0; }
    if (data[0] & 16) {
        memset(&f, 0, sizeof f);
        f.class_name = "B";
        f.on_response = fz_response;
        lq_find(c, &f, NULL);
        f.object_id = "x1";
        lq_get(c, &f, NULL);
    }
    lq_core_tick(c, now);
    if (lq_core_io(c) == LQ_IO_CONNECT) fz_open(c, now);
    while (i < size && rounds++ < 256) {
        lq_io io = lq_core_link_io(c, LQ_LINK_REST);
        if (io == LQ_IO_CLOSE) lq_core_link_closed(c, LQ_LINK_REST, LQ_OK, 0, now);
        else if (io == LQ_IO_CONNECT) lq_core_link_opened(c, LQ_LINK_REST, now);
        fz_drain(c, LQ_LINK_REST);
        {
            size_t n = size - i < chunk ? size - i : chunk;
            lq_core_link_feed(c, LQ_LINK_REST, data + i, n, now);
            i += n;
        }
        fz_drain(c, LQ_LINK_REST);
        fz_check(v, limited);
        now += 500;
        lq_core_tick(c, now);
        if (lq_core_io(c) == LQ_IO_CONNECT) fz_open(c, now);
    }
    lq_core_link_closed(c, LQ_LINK_REST, LQ_ERR_IO, 104, now);
    fz_check(v, limited);
    lq_view_destroy(v);
    lq_close(c);
    lq_core_tick(c, now);
    lq_client_destroy(c);
    return 0;
}
