/* libFuzzer target: the whole client core fed arbitrary server bytes, with a fake clock.
   The first byte picks the mode: bit 0 answers the upgrade correctly first (so the bytes reach the
   frame decoder and the protocol), bits 1-3 pick the chunk size. */
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

static void fz_event(lq_client *c, const lq_event *ev, void *user) {
    char tmp[64];
    lq_json v;
    size_t n;
    (void)user;
    for (v = lq_json_child(ev->object); lq_json_exists(v); v = lq_json_next(v)) {
        lq_json_string(lq_json_key(v), tmp, sizeof tmp);
        lq_json_raw(v, &n);
        (void)lq_json_number(v, 0);
    }
    if (ev->type == LQ_EVENT_DELETE && ev->sub.id) lq_unsubscribe(c, ev->sub);
    if (ev->type == LQ_EVENT_UNSUBSCRIBED && lq_unsubscribe(c, ev->sub) != LQ_ERR_INVALID_ARG) abort();
    if (ev->type == LQ_EVENT_LEAVE) {
        lq_query q;
        memset(&q, 0, sizeof q);
        q.class_name = "B";
        lq_subscribe(c, &q, NULL);
    }
}

static void fz_drain(lq_client *c) {
    size_t n;
    lq_core_peek(c, &n);
    lq_core_consume(c, n);
}

static void fz_open(lq_client *c, uint64_t now, bool answer) {
    char resp[256], key[32], accept[29], req[1024];
    size_t n;
    const char *p, *k;
    lq_core_opened(c, now);
    p = (const char *)lq_core_peek(c, &n);
    if (n >= sizeof req) n = sizeof req - 1;
    if (p) memcpy(req, p, n);
    req[p ? n : 0] = 0;
    k = strstr(req, "Sec-WebSocket-Key: ");
    if (answer && k) {
        memcpy(key, k + 19, 24);
        key[24] = 0;
        lq__ws_accept(key, accept);
        snprintf(resp, sizeof resp, "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
        fz_drain(c);
        lq_core_feed(c, resp, strlen(resp), now);
        lq_core_feed(c, "\x81\x24{\"op\":\"connected\",\"clientId\":\"fz\"}  ", 38, now);
    }
    fz_drain(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lq_desc d;
    lq_client *c = NULL;
    lq_query q;
    static const char *const keys[] = {"k"}, *const watch[] = {"w", "k"};
    uint64_t now = 1;
    size_t chunk, i = 1;
    int rounds = 0;
    if (size < 1) return 0;
    memset(&d, 0, sizeof d);
    d.server_url = "ws://127.0.0.1:1/parse";
    d.application_id = "a";
    d.random = fz_random;
    d.on_event = fz_event;
    d.max_message_bytes = 1 << 16;
    d.max_handshake_bytes = 1024;
    if (lq_client_create(&d, &c) != LQ_OK) return 0;
    memset(&q, 0, sizeof q);
    q.class_name = "A";
    lq_subscribe(c, &q, NULL);
    q.keys = keys;                  /* a refusal with requestId null is this one's: a retry, watch emulated */
    q.num_keys = 1;
    q.watch = watch;
    q.num_watch = 2;
    lq_subscribe(c, &q, NULL);
    chunk = (size_t)1 << ((data[0] >> 1) & 7);
    lq_core_tick(c, now);
    while (i < size && rounds++ < 64) {
        if (lq_core_io(c) == LQ_IO_CONNECT) fz_open(c, now, data[0] & 1);
        while (i < size && lq_core_io(c) == LQ_IO_NONE && c->link != LQ__L_IDLE) {
            size_t n = size - i < chunk ? size - i : chunk;
            lq_core_feed(c, data + i, n, now);
            i += n;
            fz_drain(c);
            now += 7;
            lq_core_tick(c, now);
        }
        if (lq_core_io(c) == LQ_IO_CLOSE || c->link != LQ__L_IDLE) lq_core_closed(c, LQ_OK, 0, now);
        now += 60000;
        lq_core_tick(c, now);
        if (lq_client_state(c) == LQ_STATE_DISCONNECTED) break;
    }
    lq_close(c);
    lq_core_tick(c, now);
    lq_client_destroy(c);
    return 0;
}
