/* test_handles.c - subscription handles (lq_sub): every way a subscription ends, and what every
   function that takes a handle does with it afterwards.

   A handle is a number the client looks up in its own table; nothing the caller holds is
   dereferenced. After a subscription's UNSUBSCRIBED event, and for a handle that was never valid
   or that another client made, lq_unsubscribe, lq_update and lq_sub_set_user_data give
   LQ_ERR_INVALID_ARG, lq_sub_valid false and lq_sub_user_data NULL; nothing is sent, nothing else
   changes, nothing crashes (the suite runs under ASan/UBSan). Inside its UNSUBSCRIBED callback the
   handle is still valid: its user data can be read and set, it cannot be unsubscribed or updated.

   The clients run on the I/O-free core against the in-memory server of testutil.h (tu_srv) with a
   fake clock, the counting allocator (nothing may be left after lq_client_destroy) and the fake
   random source. A client's handles carry a tag drawn from desc.random when it is created: the
   clients of one case get different seeds, as clients with an OS random source do (1 in 255 pairs
   of such clients still share a tag). Built with LQ_NO_SOCKETS: the handles are the core's. */
#define LIVEQUERY_IMPLEMENTATION
#define LQ_NO_SOCKETS
#include "../livequery.h"
#include "testutil.h"

typedef struct hctx {
    tu_harness h;                   /* first: tu_random_cb reads it as user_data */
    tu_srv s;
    unsigned char seed[4];
    lq_sub ended[64];               /* the first handles whose UNSUBSCRIBED callback ran */
    int nended;
    long unsubscribed;              /* UNSUBSCRIBED events in all */
    lq_sub unsub_in_cb;             /* unsubscribed inside the next UNSUBSCRIBED callback */
    bool subscribe_in_cb;           /* a subscribe inside the next UNSUBSCRIBED callback */
    lq_sub made_in_cb;
    bool unsub_on_create;           /* a CREATE callback unsubscribes its subscription */
} hctx;

static hctx X, Y, Z;                /* large (the server keeps 64 messages): not on the stack */
static int marker_a, marker_b, marker_c;

/* ---- the client, its events --------------------------------------------------------------------- */

static void in_unsubscribed(lq_client *c, const lq_event *ev, hctx *x) {
    lq_query q;
    memset(&q, 0, sizeof q);
    q.class_name = "Other";
    CHECKF(ev->sub.id != 0 && ev->request_id > 0, "UNSUBSCRIBED names its subscription");
    CHECKF(lq_sub_valid(c, ev->sub), "valid inside its UNSUBSCRIBED callback");
    CHECKF(lq_sub_user_data(c, ev->sub) == ev->sub_user_data, "its user data there is the event's");
    CHECKF(lq_unsubscribe(c, ev->sub) == LQ_ERR_INVALID_ARG, "no second unsubscribe inside the callback");
    CHECKF(lq_update(c, ev->sub, &q) == LQ_ERR_INVALID_ARG, "no update inside the callback");
    CHECKF(lq_sub_set_user_data(c, ev->sub, &marker_c) == LQ_OK && lq_sub_user_data(c, ev->sub) == &marker_c,
           "its user data can be set inside the callback");
    CHECK(lq_sub_set_user_data(c, ev->sub, ev->sub_user_data) == LQ_OK);
    if (x->nended < 64) x->ended[x->nended++] = ev->sub;
    x->unsubscribed++;
    if (x->unsub_in_cb.id) {
        CHECKF(lq_unsubscribe(c, x->unsub_in_cb) == LQ_OK, "another subscription unsubscribed inside the callback");
        x->unsub_in_cb.id = 0;
    }
    if (x->subscribe_in_cb) {
        x->subscribe_in_cb = false;
        CHECKF(lq_subscribe(c, &q, &x->made_in_cb) == LQ_OK && x->made_in_cb.id != 0 && x->made_in_cb.id != ev->sub.id,
               "a subscribe inside the callback gets a new handle");
    }
}

static void h_event(lq_client *c, const lq_event *ev, void *user) {
    hctx *x = (hctx *)user;
    tu_on_event(c, ev, &x->h);
    if (ev->type == LQ_EVENT_OPEN || ev->type == LQ_EVENT_CLOSE || ev->type == LQ_EVENT_RECONNECTING)
        CHECKF(ev->sub.id == 0 && ev->request_id == 0 && ev->sub_user_data == NULL, "%s is about the client: no handle",
               lq_event_str(ev->type));
    CHECKF((ev->sub.id == 0) == (ev->request_id == 0), "%s: a handle exactly when there is a requestId (%d)",
           lq_event_str(ev->type), (int)ev->request_id);
    if (ev->sub.id) {
        CHECKF(lq_sub_valid(c, ev->sub), "the handle of a %s event is valid in its callback", lq_event_str(ev->type));
        CHECKF(lq_sub_user_data(c, ev->sub) == ev->sub_user_data, "%s: lq_sub_user_data is sub_user_data",
               lq_event_str(ev->type));
    }
    if (ev->type == LQ_EVENT_CREATE && x->unsub_on_create) {
        CHECKF(lq_unsubscribe(c, ev->sub) == LQ_OK, "unsubscribe from a CREATE callback");
        CHECKF(lq_sub_valid(c, ev->sub), "still valid until its UNSUBSCRIBED");
        CHECKF(lq_unsubscribe(c, ev->sub) == LQ_ERR_INVALID_ARG, "but not twice");
    }
    if (ev->type == LQ_EVENT_UNSUBSCRIBED) in_unsubscribed(c, ev, x);
}

/* A client with the seed as the first bytes of its random source (the tag comes from them). */
static lq_client *h_open(hctx *x, const lq_desc *extra, unsigned seed) {
    lq_desc d;
    memset(x, 0, sizeof *x);
    tu_harness_init(&x->h);
    x->seed[0] = (unsigned char)seed;
    x->seed[1] = (unsigned char)(seed >> 8);
    x->h.prefix = x->seed;
    x->h.prefix_len = sizeof x->seed;
    tu_srv_init(&x->s, 1000);
    if (extra) d = *extra; else memset(&d, 0, sizeof d);
    if (!d.server_url) d.server_url = "ws://127.0.0.1:1337/parse";
    d.application_id = "app";
    d.on_event = h_event;
    d.user_data = x;
    d.random = tu_random_cb;
    tu_use_alloc(&d, &x->h);
    CHECK(lq_client_create(&d, &x->s.c) == LQ_OK);
    tu_srv_tick(&x->s, 0);
    return x->s.c;
}

static void h_close(hctx *x) {
    lq_client_destroy(x->s.c);
    x->s.c = NULL;
    CHECKF(x->h.live == 0, "%lu bytes left after lq_client_destroy", (unsigned long)x->h.live);
    tu_srv_free(&x->s);
    tu_harness_free(&x->h);
}

static lq_sub h_sub(hctx *x, const char *cls, void *user_data) {
    lq_query q;
    lq_sub out;
    memset(&q, 0, sizeof q);
    q.class_name = cls;
    q.user_data = user_data;
    CHECK(lq_subscribe(x->s.c, &q, &out) == LQ_OK && out.id != 0);
    tu_srv_drain(&x->s);
    return out;
}

/* The server's answer about request rid: subscribed, unsubscribed, create... */
static void answer(hctx *x, const char *op, long rid) {
    char m[200];
    snprintf(m, sizeof m, "{\"op\":\"%s\",\"clientId\":\"abc\",\"requestId\":%ld%s}", op, rid,
             strcmp(op, "subscribed") && strcmp(op, "unsubscribed") ? ",\"object\":{\"objectId\":\"o\"}" : "");
    tu_srv_text(&x->s, m);
}

static void server_error(hctx *x, int code, bool reconnect, long rid) {
    char m[200];
    snprintf(m, sizeof m, "{\"op\":\"error\",\"error\":\"refused\",\"code\":%d,\"reconnect\":%s,\"requestId\":%ld}", code,
             reconnect ? "true" : "false", rid);
    tu_srv_text(&x->s, m);
}

/* The requestId of the client's latest message, or -1. */
static long last_rid(const hctx *x) {
    const char *at = strstr(x->s.last, "\"requestId\":");
    return at ? strtol(at + 12, NULL, 10) : -1;
}

/* Every function that takes a handle, on one that must be invalid for x's client: refused, and
   nothing sent, nothing changed. */
#define EXPECT_DEAD(x, h) expect_dead((x), (h), __FILE__, __LINE__)
static void expect_dead(hctx *x, lq_sub h, const char *file, int line) {
    lq_client *c = x->s.c;
    lq_query q;
    long texts;
    int count = lq_subscription_count(c), nev = x->h.nev_total;
    memset(&q, 0, sizeof q);
    q.class_name = "GameScore";
    q.user_data = &marker_c;
    tu_srv_drain(&x->s);
    texts = x->s.ntexts;
    tu_check(!lq_sub_valid(c, h), file, line, "lq_sub_valid(%08lx) is false", (unsigned long)h.id);
    tu_check(lq_unsubscribe(c, h) == LQ_ERR_INVALID_ARG, file, line, "lq_unsubscribe(%08lx) is LQ_ERR_INVALID_ARG",
             (unsigned long)h.id);
    tu_check(lq_update(c, h, &q) == LQ_ERR_INVALID_ARG, file, line, "lq_update(%08lx) is LQ_ERR_INVALID_ARG", (unsigned long)h.id);
    tu_check(lq_sub_user_data(c, h) == NULL, file, line, "lq_sub_user_data(%08lx) is NULL", (unsigned long)h.id);
    tu_check(lq_sub_set_user_data(c, h, &marker_c) == LQ_ERR_INVALID_ARG, file, line,
             "lq_sub_set_user_data(%08lx) is LQ_ERR_INVALID_ARG", (unsigned long)h.id);
    tu_check(lq_sub_user_data(c, h) == NULL && !lq_sub_valid(c, h), file, line, "still invalid after the calls");
    tu_srv_tick(&x->s, 0);
    tu_check(x->s.ntexts == texts && lq_subscription_count(c) == count && x->h.nev_total == nev, file, line,
             "nothing sent, no event, the other subscriptions untouched");
}

static bool was_ended(const hctx *x, lq_sub h) {
    int i;
    for (i = 0; i < x->nended; i++)
        if (x->ended[i].id == h.id) return true;
    return false;
}

/* ---- the ways a subscription ends ------------------------------------------------------------- */

static void t_unsubscribe_answered(void) {
    lq_client *c = h_open(&X, NULL, 0x11);
    lq_sub a, b;
    lq_query q;
    int e;
    tu_set_ctx("lq_unsubscribe answered by the server");
    a = h_sub(&X, "GameScore", &marker_a);
    b = h_sub(&X, "Player", &marker_b);
    tu_srv_connect(&X.s);
    answer(&X, "subscribed", 1);
    answer(&X, "subscribed", 2);
    CHECK(a.id != b.id && lq_sub_valid(c, a) && lq_sub_user_data(c, a) == &marker_a);
    CHECK(lq_unsubscribe(c, a) == LQ_OK);
    tu_srv_drain(&X.s);
    CHECK_STR(X.s.last, "{\"op\":\"unsubscribe\",\"requestId\":1}");
    /* under way: still valid (the server may still send its events), but ending */
    memset(&q, 0, sizeof q);
    q.class_name = "GameScore";
    CHECK(lq_sub_valid(c, a) && lq_sub_user_data(c, a) == &marker_a);
    CHECK(lq_unsubscribe(c, a) == LQ_ERR_INVALID_ARG && lq_update(c, a, &q) == LQ_ERR_INVALID_ARG);
    CHECK(lq_sub_set_user_data(c, a, &marker_c) == LQ_OK && lq_sub_user_data(c, a) == &marker_c);
    CHECK(X.unsubscribed == 0);
    answer(&X, "unsubscribed", 1);
    e = tu_find_event(&X.h, LQ_EVENT_UNSUBSCRIBED, 0);
    CHECK(e >= 0 && X.h.ev[e].sub_id == a.id && X.h.ev[e].request_id == 1 && X.h.ev[e].sub_user_data == &marker_c);
    CHECK(X.unsubscribed == 1 && was_ended(&X, a));
    EXPECT_DEAD(&X, a);
    answer(&X, "create", 1);                                /* late news for the ended id: dropped */
    CHECK_INT(tu_count_events(&X.h, LQ_EVENT_CREATE), 0);
    EXPECT_DEAD(&X, a);
    CHECK(lq_sub_valid(c, b) && lq_sub_user_data(c, b) == &marker_b);
    answer(&X, "create", 2);
    e = tu_find_event(&X.h, LQ_EVENT_CREATE, 0);
    CHECK(e >= 0 && X.h.ev[e].sub_id == b.id && X.h.ev[e].sub_user_data == &marker_b);
    h_close(&X);
}

/* A server error about one request that ends it: code 1 or 4 (a subscribe it could not read), or
   reconnect:false for a subscribe not yet answered (a refused session token). reconnect:false about
   a live subscription is about one event: that one stays. */
static void t_server_error_ends_it(void) {
    static const struct { const char *name; int code; bool reconnect, live, ends; } cases[] = {
        {"code 1, subscribe unanswered", 1, true, false, true},
        {"reconnect:false, subscribe unanswered", 209, false, false, true},
        {"code 4, subscribe unanswered", 4, false, false, true},
        {"code 1, live subscription", 1, true, true, true},
        {"reconnect:false, live subscription (one event failed)", 141, false, true, false},
    };
    size_t k;
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        lq_client *c = h_open(&X, NULL, 0x12);
        lq_sub a, b;
        int e;
        tu_set_ctx("server error: %s", cases[k].name);
        a = h_sub(&X, "_Session", &marker_a);
        b = h_sub(&X, "Player", &marker_b);
        tu_srv_connect(&X.s);
        answer(&X, "subscribed", 2);
        if (cases[k].live) answer(&X, "subscribed", 1);
        server_error(&X, cases[k].code, cases[k].reconnect, 1);
        e = tu_find_event(&X.h, LQ_EVENT_ERROR, 0);
        CHECK(e >= 0 && X.h.ev[e].sub_id == a.id && X.h.ev[e].request_id == 1 && X.h.ev[e].fatal == cases[k].ends);
        CHECK(lq_client_state(c) == LQ_STATE_CONNECTED && X.s.closes == 0);
        if (cases[k].ends) {
            CHECK(X.unsubscribed == 1 && was_ended(&X, a));
            EXPECT_DEAD(&X, a);
        } else {
            CHECK(X.unsubscribed == 0 && lq_sub_valid(c, a) && lq_sub_user_data(c, a) == &marker_a);
        }
        CHECK(lq_sub_valid(c, b) && lq_sub_user_data(c, b) == &marker_b);
        CHECK_INT(lq_subscription_count(c), cases[k].ends ? 1 : 2);
        h_close(&X);
    }
}

/* lq_close with subscriptions in every state: live, subscribe unanswered, unsubscribe unanswered. */
static void t_close(void) {
    lq_client *c = h_open(&X, NULL, 0x13);
    lq_sub live, sent, leaving, late;
    lq_query q;
    int cl;
    tu_set_ctx("lq_close");
    live = h_sub(&X, "A", &marker_a);
    sent = h_sub(&X, "B", &marker_b);
    leaving = h_sub(&X, "C", NULL);
    tu_srv_connect(&X.s);
    answer(&X, "subscribed", 1);
    answer(&X, "subscribed", 3);
    CHECK(lq_unsubscribe(c, leaving) == LQ_OK);
    tu_events_clear(&X.h);
    CHECK(lq_close(c) == LQ_OK);
    CHECK(lq_sub_valid(c, live) && lq_sub_valid(c, sent) && lq_sub_valid(c, leaving));   /* until reported */
    CHECK(lq_unsubscribe(c, live) == LQ_ERR_INVALID_ARG);
    tu_srv_tick(&X.s, 0);
    CHECK(X.unsubscribed == 3 && was_ended(&X, live) && was_ended(&X, sent) && was_ended(&X, leaving));
    EXPECT_DEAD(&X, live);
    EXPECT_DEAD(&X, sent);
    EXPECT_DEAD(&X, leaving);
    memset(&q, 0, sizeof q);
    q.class_name = "D";
    late.id = 12345;
    CHECK(lq_subscribe(c, &q, &late) == LQ_ERR_STATE && late.id == 0);   /* a failed subscribe: no handle */
    EXPECT_DEAD(&X, late);
    tu_srv_feed(&X.s, "\x88\x02\x03\xe8", 4);              /* the server's Close, then TCP */
    tu_srv_drop(&X.s);
    cl = tu_find_event(&X.h, LQ_EVENT_CLOSE, 0);
    CHECK(cl >= 0 && tu_find_event(&X.h, LQ_EVENT_UNSUBSCRIBED, cl) < 0 && lq_core_io(c) == LQ_IO_DONE);
    EXPECT_DEAD(&X, live);
    h_close(&X);

    /* while waiting to reconnect: subscriptions the current link never carried */
    c = h_open(&X, NULL, 0x14);
    tu_set_ctx("lq_close while reconnecting");
    live = h_sub(&X, "A", &marker_a);
    tu_srv_connect(&X.s);
    answer(&X, "subscribed", 1);
    tu_srv_drop(&X.s);
    CHECK(lq_client_state(c) == LQ_STATE_RECONNECTING);
    sent = h_sub(&X, "B", &marker_b);                       /* never sent */
    CHECK(lq_close(c) == LQ_OK);
    tu_srv_tick(&X.s, 0);
    CHECK(X.unsubscribed == 2 && lq_core_io(c) == LQ_IO_DONE);
    EXPECT_DEAD(&X, live);
    EXPECT_DEAD(&X, sent);
    h_close(&X);

    /* a fatal error of the whole client (code 4 about no request) ends every subscription */
    c = h_open(&X, NULL, 0x15);
    tu_set_ctx("a fatal client error");
    live = h_sub(&X, "A", &marker_a);
    sent = h_sub(&X, "B", &marker_b);
    tu_srv_connect(&X.s);
    answer(&X, "subscribed", 1);
    tu_srv_text(&X.s, "{\"op\":\"error\",\"error\":\"Key in request is not valid\",\"code\":4,\"reconnect\":true,\"requestId\":null}");
    CHECK(lq_client_state(c) == LQ_STATE_DISCONNECTED && X.unsubscribed == 2);
    EXPECT_DEAD(&X, live);
    EXPECT_DEAD(&X, sent);
    h_close(&X);
}

/* no_reconnect: a lost link ends every subscription, UNSUBSCRIBED before CLOSE. */
static void t_no_reconnect_link_loss(void) {
    lq_desc d;
    lq_client *c;
    lq_sub live, sent;
    int cl;
    memset(&d, 0, sizeof d);
    d.no_reconnect = true;
    c = h_open(&X, &d, 0x16);
    tu_set_ctx("no_reconnect link loss");
    live = h_sub(&X, "A", &marker_a);
    sent = h_sub(&X, "B", &marker_b);
    tu_srv_connect(&X.s);
    answer(&X, "subscribed", 1);
    tu_events_clear(&X.h);
    tu_srv_drop(&X.s);
    cl = tu_find_event(&X.h, LQ_EVENT_CLOSE, 0);
    CHECK(X.unsubscribed == 2 && cl >= 0 && tu_find_event(&X.h, LQ_EVENT_UNSUBSCRIBED, cl) < 0);
    CHECK(lq_client_state(c) == LQ_STATE_DISCONNECTED && lq_core_io(c) == LQ_IO_DONE);
    EXPECT_DEAD(&X, live);
    EXPECT_DEAD(&X, sent);
    h_close(&X);
}

/* Unsubscribed with no link to tell: before the first connection, and while reconnecting. Nothing
   is sent for it, the UNSUBSCRIBED comes with the next tick, the others resubscribe as they were. */
static void t_unsubscribe_while_disconnected(void) {
    lq_client *c = h_open(&X, NULL, 0x17);
    lq_sub a, b, gone;
    int e;
    tu_set_ctx("unsubscribe before the first connection");
    gone = h_sub(&X, "Gone", &marker_c);
    a = h_sub(&X, "A", &marker_a);
    CHECK(lq_client_state(c) == LQ_STATE_CONNECTING);
    CHECK(lq_unsubscribe(c, gone) == LQ_OK);
    CHECK(lq_sub_valid(c, gone) && lq_unsubscribe(c, gone) == LQ_ERR_INVALID_ARG);   /* until reported */
    CHECK(lq_core_timeout(c, X.s.now) == 0);                /* an UNSUBSCRIBED is owed */
    tu_srv_tick(&X.s, 0);
    CHECK(X.unsubscribed == 1 && was_ended(&X, gone));
    EXPECT_DEAD(&X, gone);
    tu_srv_connect(&X.s);
    CHECK(X.s.nsent == 2 && strstr(X.s.sent[1], "\"requestId\":2") != NULL);   /* connect, then only a */
    answer(&X, "subscribed", 2);

    tu_set_ctx("unsubscribe while reconnecting");
    b = h_sub(&X, "B", &marker_b);
    answer(&X, "subscribed", 3);
    tu_srv_drop(&X.s);
    CHECK(lq_client_state(c) == LQ_STATE_RECONNECTING);
    CHECK(lq_unsubscribe(c, a) == LQ_OK);
    tu_srv_tick(&X.s, 0);
    CHECK(X.unsubscribed == 2 && was_ended(&X, a));
    EXPECT_DEAD(&X, a);
    tu_srv_tick(&X.s, 60000);
    X.s.nsent = 0;
    tu_events_clear(&X.h);
    tu_srv_connect(&X.s);
    CHECK(X.s.nsent == 2 && strstr(X.s.sent[1], "\"op\":\"subscribe\",\"requestId\":3") != NULL);
    answer(&X, "subscribed", 3);
    e = tu_find_event(&X.h, LQ_EVENT_SUBSCRIBED, 0);
    CHECK(e >= 0 && X.h.ev[e].sub_id == b.id && X.h.ev[e].resubscribe);   /* the same handle after a reconnect */
    CHECK(lq_sub_valid(c, b) && lq_sub_user_data(c, b) == &marker_b);
    EXPECT_DEAD(&X, a);
    EXPECT_DEAD(&X, gone);
    h_close(&X);
}

/* ---- handles that were never valid here -------------------------------------------------------- */

static void t_never_valid(void) {
    static const uint32_t fixed[] = {0u, 1u, 2u, 0x7FFFFFFFu, 0x80000000u, 0x80000001u, 0xFFFFFFFEu, UINT32_MAX};
    lq_client *c = h_open(&X, NULL, 0x18);
    lq_sub a, b, h, failed;
    lq_query q;
    uint32_t rnd = 12345u;
    size_t i;
    int tried = 0;
    tu_set_ctx("never-valid handles, no subscription yet");
    for (i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        h.id = fixed[i];
        EXPECT_DEAD(&X, h);
    }
    memset(&q, 0, sizeof q);
    failed.id = 77;
    CHECK(lq_subscribe(c, &q, &failed) == LQ_ERR_INVALID_ARG && failed.id == 0);     /* no class name */
    q.class_name = "A";
    q.where = "[1]";
    failed.id = 77;
    CHECK(lq_subscribe(c, &q, &failed) == LQ_ERR_JSON && failed.id == 0);
    CHECK(lq_subscribe(NULL, &q, &failed) == LQ_ERR_INVALID_ARG && failed.id == 0);
    EXPECT_DEAD(&X, failed);

    tu_set_ctx("never-valid handles next to live ones");
    a = h_sub(&X, "A", &marker_a);
    b = h_sub(&X, "B", &marker_b);
    tu_srv_connect(&X.s);
    answer(&X, "subscribed", 1);
    answer(&X, "subscribed", 2);
    for (i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        h.id = fixed[i];
        if (h.id != a.id && h.id != b.id) EXPECT_DEAD(&X, h);
    }
    for (i = 0; i < 2000; i++) {                            /* random numbers (an LCG): none names one */
        rnd = rnd * 1664525u + 1013904223u;
        h.id = rnd;
        if (h.id == a.id || h.id == b.id) continue;
        CHECKF(!lq_sub_valid(c, h) && lq_unsubscribe(c, h) == LQ_ERR_INVALID_ARG && lq_update(c, h, &q) == LQ_ERR_INVALID_ARG &&
               lq_sub_user_data(c, h) == NULL && lq_sub_set_user_data(c, h, &marker_c) == LQ_ERR_INVALID_ARG,
               "random handle %08lx refused", (unsigned long)h.id);
        tried++;
    }
    CHECK(tried >= 1990);
    h.id = a.id ^ 0x80000000u;                              /* a live handle with a flipped bit */
    EXPECT_DEAD(&X, h);
    tu_srv_drain(&X.s);
    CHECK(X.s.ntexts == 3 && lq_subscription_count(c) == 2);   /* connect and two subscribes: nothing else */
    CHECK(lq_sub_valid(c, a) && lq_sub_user_data(c, a) == &marker_a && lq_sub_valid(c, b) && lq_sub_user_data(c, b) == &marker_b);
    /* no client */
    CHECK(!lq_sub_valid(NULL, a) && lq_sub_user_data(NULL, a) == NULL);
    CHECK(lq_unsubscribe(NULL, a) == LQ_ERR_INVALID_ARG && lq_update(NULL, a, &q) == LQ_ERR_INVALID_ARG);
    CHECK(lq_sub_set_user_data(NULL, a, &marker_c) == LQ_ERR_INVALID_ARG && lq_update(c, a, NULL) == LQ_ERR_INVALID_ARG);
    CHECK(lq_sub_valid(c, a) && lq_sub_user_data(c, a) == &marker_a);
    h_close(&X);
}

/* Clients X and Y each have a subscription with requestId 1: neither takes the other's handle,
   and neither does a client made after one of them was destroyed. */
static void t_foreign_handles(void) {
    lq_client *cx = h_open(&X, NULL, 0x21), *cy = h_open(&Y, NULL, 0x22), *cz;
    lq_sub xa, ya, za;
    int e;
    tu_set_ctx("another client's handle");
    xa = h_sub(&X, "GameScore", &marker_a);
    ya = h_sub(&Y, "GameScore", &marker_b);
    tu_srv_connect(&X.s);
    tu_srv_connect(&Y.s);
    answer(&X, "subscribed", 1);
    answer(&Y, "subscribed", 1);
    CHECK(strstr(X.s.last, "\"requestId\":1") && strstr(Y.s.last, "\"requestId\":1"));   /* the same wire id */
    CHECK(xa.id != ya.id);
    EXPECT_DEAD(&Y, xa);
    EXPECT_DEAD(&X, ya);
    CHECK(lq_sub_valid(cx, xa) && lq_sub_user_data(cx, xa) == &marker_a);
    CHECK(lq_sub_valid(cy, ya) && lq_sub_user_data(cy, ya) == &marker_b);
    answer(&X, "create", 1);
    e = tu_find_event(&X.h, LQ_EVENT_CREATE, 0);
    CHECK(e >= 0 && X.h.ev[e].sub_id == xa.id && X.h.ev[e].request_id == 1);

    tu_set_ctx("a handle of a destroyed client");
    h_close(&X);
    EXPECT_DEAD(&Y, xa);
    CHECK(lq_sub_valid(cy, ya) && lq_sub_user_data(cy, ya) == &marker_b);
    cz = h_open(&Z, NULL, 0x23);                            /* may well take the freed memory */
    za = h_sub(&Z, "GameScore", &marker_c);
    CHECK(za.id != xa.id && za.id != ya.id);
    EXPECT_DEAD(&Z, xa);
    EXPECT_DEAD(&Z, ya);
    CHECK(lq_sub_valid(cz, za) && lq_sub_user_data(cz, za) == &marker_c);
    CHECK(lq_unsubscribe(cy, ya) == LQ_OK);
    answer(&Y, "unsubscribed", 1);
    EXPECT_DEAD(&Y, ya);
    CHECK(lq_sub_valid(cz, za));
    h_close(&Y);
    h_close(&Z);
}

/* Inside an UNSUBSCRIBED callback (see in_unsubscribed) the ending handle is valid but closed to
   unsubscribe and update; other handles work as anywhere; a subscribe made there is new. */
static void t_in_callbacks(void) {
    lq_client *c = h_open(&X, NULL, 0x31);
    lq_sub a, b, d;
    tu_set_ctx("handles inside the callbacks");
    a = h_sub(&X, "A", &marker_a);
    b = h_sub(&X, "B", &marker_b);
    d = h_sub(&X, "D", NULL);
    tu_srv_connect(&X.s);
    answer(&X, "subscribed", 1);
    answer(&X, "subscribed", 2);
    answer(&X, "subscribed", 3);
    X.unsub_in_cb = b;
    X.subscribe_in_cb = true;
    CHECK(lq_unsubscribe(c, a) == LQ_OK);
    answer(&X, "unsubscribed", 1);
    CHECK(X.unsubscribed == 1 && X.ended[0].id == a.id);
    EXPECT_DEAD(&X, a);
    CHECK(lq_sub_valid(c, b) && lq_unsubscribe(c, b) == LQ_ERR_INVALID_ARG);   /* its unsubscribe went out */
    CHECK(X.made_in_cb.id != 0 && X.made_in_cb.id != a.id && X.made_in_cb.id != b.id && X.made_in_cb.id != d.id);
    CHECK(lq_sub_valid(c, X.made_in_cb) && lq_sub_user_data(c, X.made_in_cb) == NULL);
    CHECK(X.s.nsent >= 2 && strcmp(X.s.sent[X.s.nsent - 2], "{\"op\":\"unsubscribe\",\"requestId\":2}") == 0 &&
          strncmp(X.s.sent[X.s.nsent - 1], "{\"op\":\"subscribe\",\"requestId\":4,", 32) == 0);
    answer(&X, "unsubscribed", 2);
    CHECK(X.unsubscribed == 2);
    EXPECT_DEAD(&X, b);
    X.unsub_on_create = true;                               /* d ends from its own CREATE callback */
    answer(&X, "create", 3);
    CHECK(lq_sub_valid(c, d) && X.unsubscribed == 2);
    CHECK_STR(X.s.last, "{\"op\":\"unsubscribe\",\"requestId\":3}");
    answer(&X, "unsubscribed", 3);
    CHECK(X.unsubscribed == 3 && X.ended[2].id == d.id);
    EXPECT_DEAD(&X, d);
    CHECK(lq_sub_valid(c, X.made_in_cb));
    h_close(&X);
}

/* ---- 10000 subscriptions, one after the other --------------------------------------------------- */

static int cmp_u32(const void *pa, const void *pb) {
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    return a < b ? -1 : a > b;
}

/* Each ends a different way: unsubscribed after subscribed; unsubscribed before its subscribed
   (the unsubscribe waits for it); refused with reconnect:false; ended by code 1 once live. No
   handle comes back, each is invalid once it ended, and the memory stays flat. */
static void t_ten_thousand(void) {
    enum { N = 10000 };
    static uint32_t ids[N];
    lq_client *c = h_open(&X, NULL, 0x41);
    lq_sub h, next;
    size_t live_early = 0;
    int i, dup = 0, bad_rid = 0, not_ended = 0, still_valid = 0;
    tu_set_ctx("10000 subscribe/unsubscribe");
    tu_srv_connect(&X.s);
    for (i = 0; i < N; i++) {
        long rid;
        h = h_sub(&X, "GameScore", &ids[i]);
        ids[i] = h.id;
        rid = last_rid(&X);
        if (rid != i + 1) bad_rid++;
        if (i && h.id == ids[i - 1]) dup++;
        switch (i % 4) {
        case 0:
            answer(&X, "subscribed", rid);
            if (lq_unsubscribe(c, h) != LQ_OK) not_ended++;
            answer(&X, "unsubscribed", rid);
            break;
        case 1:
            if (lq_unsubscribe(c, h) != LQ_OK) not_ended++;
            answer(&X, "subscribed", rid);
            answer(&X, "unsubscribed", rid);
            break;
        case 2:
            server_error(&X, 209, false, rid);
            break;
        default:
            answer(&X, "subscribed", rid);
            server_error(&X, 1, true, rid);
            break;
        }
        if (X.unsubscribed != i + 1) not_ended++;
        if (lq_sub_valid(c, h) || lq_unsubscribe(c, h) != LQ_ERR_INVALID_ARG || lq_sub_user_data(c, h) != NULL ||
            lq_sub_set_user_data(c, h, &marker_c) != LQ_ERR_INVALID_ARG)
            still_valid++;
        if (i == 100) live_early = X.h.live;
        tu_events_clear(&X.h);
        X.s.nsent = 0;
    }
    CHECK_INT(bad_rid, 0);                                  /* requestIds 1, 2, ... as before */
    CHECK_INT(dup, 0);
    CHECK_INT(not_ended, 0);
    CHECK_INT(still_valid, 0);
    CHECK_INT(lq_subscription_count(c), 0);
    CHECK(lq_client_state(c) == LQ_STATE_CONNECTED && X.s.closes == 0);
    CHECKF(X.h.live <= live_early, "memory flat: %lu bytes after 100, %lu after %d", (unsigned long)live_early,
           (unsigned long)X.h.live, N);
    next = h_sub(&X, "GameScore", NULL);
    qsort(ids, N, sizeof ids[0], cmp_u32);
    for (i = 1, dup = 0; i < N; i++) dup += ids[i] == ids[i - 1] || ids[i] == 0;
    CHECKF(dup == 0 && ids[0] != 0, "%d handles came twice", dup);
    CHECK(bsearch(&next.id, ids, N, sizeof ids[0], cmp_u32) == NULL && lq_sub_valid(c, next));
    for (i = 0; i < N; i += 997) {
        h.id = ids[i];
        EXPECT_DEAD(&X, h);
    }
    h_close(&X);
}

/* ---- the old API's use-after-free --------------------------------------------------------------- */

/* With lq_subscription *, a pointer kept after the server ended the subscription pointed to freed
   memory, and lq_unsubscribe wrote into it. The same program with a handle: a clean refusal. */
static void t_old_use_after_free(void) {
    lq_client *c = h_open(&X, NULL, 0x51);
    lq_query q;
    lq_sub kept;
    tu_set_ctx("the old use-after-free");
    memset(&q, 0, sizeof q);
    q.class_name = "_Session";
    CHECK(lq_subscribe(c, &q, &kept) == LQ_OK);
    tu_srv_connect(&X.s);
    tu_srv_text(&X.s, "{\"op\":\"error\",\"error\":\"Invalid session token\",\"code\":209,\"reconnect\":false,\"requestId\":1}");
    tu_srv_tick(&X.s, 1000);                                /* the application goes on, the handle kept */
    CHECK(X.unsubscribed == 1);
    CHECK(lq_unsubscribe(c, kept) == LQ_ERR_INVALID_ARG);
    CHECK(lq_update(c, kept, &q) == LQ_ERR_INVALID_ARG);
    CHECK(lq_sub_set_user_data(c, kept, &q) == LQ_ERR_INVALID_ARG && lq_sub_user_data(c, kept) == NULL);
    CHECK(!lq_sub_valid(c, kept));
    h_close(&X);
}

/* The core alone takes a wss:// URL (its user brings TLS), and its handles work the same. */
static void t_core_takes_wss(void) {
    lq_desc d;
    lq_client *c;
    lq_sub a;
    memset(&d, 0, sizeof d);
    d.server_url = "wss://127.0.0.1:1337/parse";
    tu_set_ctx("wss:// on the core alone");
    c = h_open(&X, &d, 0x71);
    CHECK(c != NULL && lq_client_url(c)->tls && lq_client_url(c)->port == 1337);
    if (!c) return;
    a = h_sub(&X, "A", &marker_a);
    tu_srv_connect(&X.s);
    answer(&X, "subscribed", 1);
    CHECK(lq_client_state(c) == LQ_STATE_CONNECTED && lq_sub_valid(c, a));
    CHECK(lq_unsubscribe(c, a) == LQ_OK);
    answer(&X, "unsubscribed", 1);
    EXPECT_DEAD(&X, a);
    h_close(&X);
}

/* The handle stays the same through a reconnect and an update; lq_update may change the user data. */
static void t_handle_is_stable(void) {
    lq_client *c = h_open(&X, NULL, 0x61);
    lq_sub a;
    lq_query q;
    int e;
    tu_set_ctx("one handle through reconnect and update");
    a = h_sub(&X, "A", &marker_a);
    tu_srv_connect(&X.s);
    answer(&X, "subscribed", 1);
    tu_srv_drop(&X.s);
    tu_srv_tick(&X.s, 60000);
    tu_srv_connect(&X.s);
    tu_events_clear(&X.h);
    answer(&X, "subscribed", 1);
    memset(&q, 0, sizeof q);
    q.class_name = "A";
    q.user_data = &marker_b;
    CHECK(lq_update(c, a, &q) == LQ_OK && lq_sub_user_data(c, a) == &marker_b);
    answer(&X, "subscribed", 1);
    answer(&X, "create", 1);
    e = tu_find_event(&X.h, LQ_EVENT_SUBSCRIBED, 0);
    CHECK(e >= 0 && X.h.ev[e].sub_id == a.id && X.h.ev[e].resubscribe);
    e = tu_find_event(&X.h, LQ_EVENT_CREATE, 0);
    CHECK(e >= 0 && X.h.ev[e].sub_id == a.id && X.h.ev[e].sub_user_data == &marker_b);
    q.user_data = NULL;                                     /* NULL keeps the user data */
    CHECK(lq_update(c, a, &q) == LQ_OK && lq_sub_user_data(c, a) == &marker_b);
    CHECK(lq_sub_set_user_data(c, a, NULL) == LQ_OK && lq_sub_valid(c, a) && lq_sub_user_data(c, a) == NULL);
    h_close(&X);
}

int main(void) {
    t_unsubscribe_answered();
    t_server_error_ends_it();
    t_close();
    t_no_reconnect_link_loss();
    t_unsubscribe_while_disconnected();
    t_never_valid();
    t_foreign_handles();
    t_in_callbacks();
    t_ten_thousand();
    t_old_use_after_free();
    t_handle_is_stable();
    t_core_takes_wss();
    tu_ctx[0] = 0;
    return tu_report("handles");
}
