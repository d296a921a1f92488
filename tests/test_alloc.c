/* test_alloc.c - allocation failure at every point a session reaches.

   The counting allocator of testutil.h (tu_alloc) in desc.allocator fails the Nth allocation. One scripted session (create
   with every string and extra headers, two subscriptions with keys/watch/session token, connect,
   events including a 300 KB one that grows the message buffer and the token array, a server
   Close and the reconnect with resubscribe, update, unsubscribe, lq_close, destroy) is run once
   cleanly to count its allocations T, then for every N in 1..T twice:
     - "once":  only allocation N fails. The API call that met it returns LQ_ERR_NOMEM, or the
                client reports an ERROR and recovers: at the end it is connected again and a
                create for the first subscription still arrives;
     - "from":  allocation N and every later one fail. Calls return LQ_OK or LQ_ERR_NOMEM, the
                session ends when lq_close is called, and nothing hangs.
   Every run ends with lq_client_destroy and must have freed everything it allocated (the
   allocator counts; ASan checks the rest). The client runs on the I/O-free core with a fake clock
   and the in-memory peer of tests/conformance/peer.h. */
#define LIVEQUERY_IMPLEMENTATION
#include "../livequery.h"
#include "testutil.h"
#include "conformance/peer.h"

typedef struct actx {
    tu_harness h;               /* first: random and events read it as user_data; its allocator
                                   fails h.fail_at (and with h.fail_later every later one) */
    lq_client *c;
    lq_sub s1, s2;
    peer p;
    uint64_t now;
    int nomem_returns, bad_returns;
    int nomem_errors;           /* ERROR events about memory */
    int creates;
} actx;

static void a_event(lq_client *c, const lq_event *ev, void *user) {
    actx *a = (actx *)user;
    tu_on_event(c, ev, &a->h);
    if (ev->type == LQ_EVENT_UNSUBSCRIBED) {
        if (ev->sub.id == a->s1.id) a->s1.id = 0;
        if (ev->sub.id == a->s2.id) a->s2.id = 0;
    }
    if (ev->type == LQ_EVENT_ERROR && (ev->result == LQ_ERR_NOMEM || strstr(ev->error_message, "memory")))
        a->nomem_errors++;
    if (ev->type == LQ_EVENT_CREATE) a->creates++;
}

static void api(actx *a, lq_result r) {
    if (r == LQ_ERR_NOMEM) a->nomem_returns++;
    else if (r != LQ_OK) a->bad_returns++;
}

/* Moves bytes both ways and runs timers until nothing changes (bounded). */
static void pump(actx *a) {
    int round, idle = 0;
    for (round = 0; round < 200 && idle < 3; round++) {
        size_t n;
        const void *out;
        bool moved = false;
        lq_io io = lq_core_io(a->c);
        if (io == LQ_IO_CONNECT) {
            peer_reset(&a->p);
            lq_core_opened(a->c, a->now);
            moved = true;
        } else if (io == LQ_IO_CLOSE) {
            lq_core_closed(a->c, LQ_OK, 0, a->now);
            peer_reset(&a->p);
            moved = true;
        }
        out = lq_core_peek(a->c, &n);
        if (n) {
            peer_input(&a->p, out, n);
            lq_core_consume(a->c, n);
            moved = true;
        }
        if (a->p.out.len && a->c->link != LQ__L_IDLE && a->c->link != LQ__L_CONNECT) {
            tbuf chunk = {0};
            tb_copy(&chunk, &a->p.out);
            tb_reset(&a->p.out);
            lq_core_feed(a->c, chunk.p, chunk.len, a->now);
            tb_free(&chunk);
            moved = true;
        } else if (a->p.eof && a->c->link != LQ__L_IDLE) {
            lq_core_closed(a->c, LQ_OK, 0, a->now);     /* the server closed TCP after its Close */
            peer_reset(&a->p);
            moved = true;
        }
        if (!moved) {
            a->now += lq_client_state(a->c) == LQ_STATE_RECONNECTING || a->c->link >= LQ__L_CLOSING ? 700 : 10;
            idle++;
        } else {
            idle = 0;
        }
        lq_core_tick(a->c, a->now);
    }
}

static void push(actx *a, const char *json) {
    if (a->c->link != LQ__L_OPEN) return;
    peer_text(&a->p, json);
    pump(a);
}

/* The session; returns false when create failed. */
static bool session(actx *a, bool *recovered) {
    static const char *const headers[] = {"X-Proxy-Auth: secret", "X-Trace: 1"};
    static const char *const keys[] = {"score", "playerName"};
    static const char *const watch[] = {"score"};
    lq_desc d;
    lq_query q;
    lq_result r;
    tbuf big = {0};
    size_t i;
    memset(&d, 0, sizeof d);
    d.server_url = "ws://127.0.0.1:1337/parse";
    d.application_id = "myAppId";
    d.javascript_key = "myJsKey";
    d.client_key = "myClientKey";
    d.master_key = "myMasterKey";
    d.session_token = "r:session";
    d.installation_id = "inst-1";
    d.extra_headers = headers;
    d.num_extra_headers = 2;
    d.on_event = a_event;
    d.user_data = a;
    d.random = tu_random_cb;
    tu_use_alloc(&d, &a->h);
    d.max_reconnect_delay_ms = 500;
    a->now = 1000;
    r = lq_client_create(&d, &a->c);
    if (r != LQ_OK) {
        CHECKF(r == LQ_ERR_NOMEM && a->c == NULL, "create fails with LQ_ERR_NOMEM (%s)", lq_result_str(r));
        return false;
    }
    memset(&q, 0, sizeof q);
    q.class_name = "GameScore";
    q.where = "{\"score\":{\"$gt\":10},\"playerName\":{\"$in\":[\"a\",\"b\"]}}";
    q.keys = keys;
    q.num_keys = 2;
    q.watch = watch;
    q.num_watch = 1;
    q.session_token = "r:sub";
    api(a, lq_subscribe(a->c, &q, &a->s1));
    memset(&q, 0, sizeof q);
    q.class_name = "Player";
    api(a, lq_subscribe(a->c, &q, &a->s2));
    lq_core_tick(a->c, a->now);
    pump(a);

    push(a, "{\"op\":\"create\",\"clientId\":\"peer-client\",\"requestId\":1,\"object\":{\"objectId\":\"a\",\"score\":20}}");
    tb_puts(&big, "{\"op\":\"update\",\"clientId\":\"peer-client\",\"requestId\":2,\"object\":{\"objectId\":\"b\",\"list\":[");
    for (i = 0; i < 30000; i++) tb_printf(&big, "%s%lu", i ? "," : "", (unsigned long)i);
    tb_puts(&big, "],\"s\":\"");
    tb_fill(&big, 'x', 100000);
    tb_puts(&big, "\"},\"original\":{\"objectId\":\"b\"}}");
    push(a, tb_str(&big));
    push(a, "{\"op\":\"delete\",\"clientId\":\"peer-client\",\"requestId\":1,\"object\":{\"objectId\":\"a\"}}");

    if (a->c->link == LQ__L_OPEN) {                         /* the server goes away: Close 1001 */
        tu_close(&a->p.out, 1001, "restart");
        a->p.eof = true;
        pump(a);
    }
    a->now += 2000;
    lq_core_tick(a->c, a->now);
    pump(a);

    if (a->s1.id) {
        memset(&q, 0, sizeof q);
        q.class_name = "GameScore";
        q.where = "{\"score\":{\"$gt\":50}}";
        api(a, lq_update(a->c, a->s1, &q));
    }
    if (a->s2.id) api(a, lq_unsubscribe(a->c, a->s2));
    pump(a);
    push(a, "{\"op\":\"enter\",\"clientId\":\"peer-client\",\"requestId\":1,\"object\":{\"objectId\":\"c\",\"score\":60}}");

    /* recovered: connected again, and subscription 1 delivers */
    for (i = 0; i < 5 && lq_client_state(a->c) != LQ_STATE_CONNECTED; i++) {
        a->now += 1000;
        lq_core_tick(a->c, a->now);
        pump(a);
    }
    *recovered = false;
    if (a->s1.id && lq_client_state(a->c) == LQ_STATE_CONNECTED) {
        int before = a->creates;
        push(a, "{\"op\":\"create\",\"clientId\":\"peer-client\",\"requestId\":1,\"object\":{\"objectId\":\"probe\"}}");
        *recovered = a->creates == before + 1;
    }
    api(a, lq_close(a->c));
    pump(a);
    CHECKF(lq_client_state(a->c) == LQ_STATE_DISCONNECTED, "DISCONNECTED after lq_close (%s)", lq_state_str(lq_client_state(a->c)));
    CHECKF(lq_core_io(a->c) == LQ_IO_DONE, "finished after lq_close: the link down, every event reported");
    CHECKF(!lq_sub_valid(a->c, a->s1) && !lq_sub_valid(a->c, a->s2), "no handle is valid after lq_close");
    lq_client_destroy(a->c);
    a->c = NULL;
    tb_free(&big);
    return true;
}

static void actx_init(actx *a, long fail_at, bool persistent) {
    memset(a, 0, sizeof *a);
    tu_harness_init(&a->h);
    a->h.fail_at = fail_at;
    a->h.fail_later = persistent;
}

static void actx_free(actx *a) {
    tu_harness_free(&a->h);
    peer_free(&a->p);
}

int main(void) {
    actx a;
    long total, n;
    bool recovered = false;
    int once_ok = 0, from_ok = 0, silent = 0, runs = 0;

    actx_init(&a, 0, false);
    tu_set_ctx("clean run");
    CHECK(session(&a, &recovered));
    CHECKF(recovered, "the clean session ends connected and delivering");
    CHECKF(a.h.live == 0, "clean run: %lu bytes leaked", (unsigned long)a.h.live);
    CHECKF(a.h.nev_total > 10 && a.p.conns >= 2 && a.creates >= 2, "the session reaches events and a reconnect");
    CHECKF(a.nomem_returns == 0 && a.nomem_errors == 0 && a.bad_returns == 0, "no errors in the clean run");
    total = a.h.nallocs;
    actx_free(&a);
    printf("clean session: %ld allocations\n", total);

    for (n = 1; n <= total; n++) {
        int mode;
        for (mode = 0; mode < 2; mode++) {
            int before = tu_failed;
            bool created;
            actx_init(&a, n, mode == 1);
            tu_set_ctx("allocation %ld fails%s", n, mode ? ", and every later one" : " once");
            created = session(&a, &recovered);
            runs++;
            CHECKF(a.h.nfailed >= 1, "the failure was reached");
            CHECKF(a.h.live == 0, "%lu bytes leaked", (unsigned long)a.h.live);
            CHECKF(a.bad_returns == 0, "API calls return LQ_OK or LQ_ERR_NOMEM");
            if (created && mode == 0) {
                bool reported = a.nomem_returns > 0 || a.nomem_errors > 0 || tu_find_event(&a.h, LQ_EVENT_ERROR, 0) >= 0;
                CHECKF(reported || recovered, "the failure is reported, or invisible (log: %s)", tb_str(&a.h.log));
                if (!reported) silent++;
                if (a.nomem_returns == 0 || a.s1.id)
                    CHECKF(recovered || !a.s1.id, "the client recovers: connected and delivering (log: %s)", tb_str(&a.h.log));
            }
            if (tu_failed == before) { if (mode) from_ok++; else once_ok++; }
            actx_free(&a);
        }
    }
    tu_ctx[0] = 0;
    printf("allocation failure: %ld points x 2 modes = %d runs; once: %d clean, from-N-on: %d clean; "
           "%d failures absorbed with no visible effect\n", total, runs, once_ok, from_ok, silent);
    printf("\n%-45s %6s %8s\n", "case family", "cases", "passing");
    printf("%-45s %6ld %8d\n", "allocation N fails once", total, once_ok);
    printf("%-45s %6ld %8d\n", "allocation N and all later fail", total, from_ok);
    return tu_report("test_alloc");
}
