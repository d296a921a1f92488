/* The client state machine, driven through the I/O-free core with a fake clock and a fake random
   source: backoff, resubscribe, queued requests, fatal errors, keepalive, close. */
#define LIVEQUERY_IMPLEMENTATION
#include "../livequery.h"
#include "testutil.h"

/* ---- fakes ---- */
static uint32_t fake_rand_value = 0x80000000u;     /* what random() gives for 4-byte requests */
static bool fake_random_fails;
static bool fake_random(void *buf, size_t len, void *user) {
    unsigned char *p = (unsigned char *)buf;
    size_t i;
    (void)user;
    if (fake_random_fails) return false;
    if (len == 4) { memcpy(p, &fake_rand_value, 4); return true; }
    for (i = 0; i < len; i++) p[i] = (unsigned char)(i * 7 + 1);
    return true;
}

typedef struct rec {
    lq_event_type type[256];
    int32_t rid[256];
    uint32_t sub[256];           /* the handle's id */
    int code[256];
    lq_result result[256];
    bool flag[256];              /* fatal / resubscribe */
    uint32_t delay[256];
    char text[256][200];         /* object raw JSON or error message */
    int n;
    int unsub_in_callback;       /* unsubscribe the event's subscription on its first CREATE */
    bool close_in_callback;
} rec;

static void on_event(lq_client *c, const lq_event *ev, void *user) {
    rec *r = (rec *)user;
    int i = r->n;
    if (i >= 256) return;
    r->type[i] = ev->type;
    r->rid[i] = ev->request_id;
    r->sub[i] = ev->sub.id;
    r->result[i] = ev->result;
    r->code[i] = ev->type == LQ_EVENT_CLOSE ? ev->close_code : ev->type == LQ_EVENT_RECONNECTING ? ev->attempt : ev->error_code;
    r->flag[i] = ev->type == LQ_EVENT_SUBSCRIBED ? ev->resubscribe : ev->fatal;
    r->delay[i] = ev->delay_ms;
    r->text[i][0] = 0;
    if (ev->type == LQ_EVENT_ERROR) snprintf(r->text[i], sizeof r->text[i], "%s", ev->error_message);
    if (lq_json_exists(ev->object)) {
        size_t n;
        const char *raw = lq_json_raw(ev->object, &n);
        snprintf(r->text[i], sizeof r->text[i], "%.*s", (int)n, raw);
    }
    r->n++;
    if (ev->type == LQ_EVENT_CREATE && r->unsub_in_callback == ev->request_id) lq_unsubscribe(c, ev->sub);
    if (ev->type == LQ_EVENT_CREATE && r->close_in_callback) lq_close(c);
}

static int count(const rec *r, lq_event_type t) {
    int i, n = 0;
    for (i = 0; i < r->n; i++) n += r->type[i] == t;
    return n;
}

static int find(const rec *r, lq_event_type t, int from) {
    int i;
    for (i = from; i < r->n; i++) if (r->type[i] == t) return i;
    return -1;
}

/* ---- a client on the in-memory server (tu_srv of testutil.h) ---- */

static tu_harness g_mem;        /* the counting allocator of the clients make() creates */

static lq_client *make(tu_srv *s, rec *r, lq_desc *extra) {
    lq_desc d;
    tu_srv_init(s, 1000);
    memset(r, 0, sizeof *r);
    if (extra) d = *extra; else memset(&d, 0, sizeof d);
    d.server_url = "ws://127.0.0.1:1337/parse";
    d.application_id = "app";
    d.javascript_key = "js";
    d.random = fake_random;
    d.on_event = on_event;
    d.user_data = r;
    tu_use_alloc(&d, &g_mem);
    CHECK(lq_client_create(&d, &s->c) == LQ_OK);
    tu_srv_tick(s, 0);
    return s->c;
}

static void finish(tu_srv *s) {
    lq_client_destroy(s->c);
    s->c = NULL;
    tu_srv_free(s);
    CHECKF(g_mem.live == 0, "%lu bytes left after lq_client_destroy", (unsigned long)g_mem.live);
}

static lq_sub sub(lq_client *c, const char *cls, const char *where, const char *token) {
    lq_query q;
    lq_sub out;
    memset(&q, 0, sizeof q);
    q.class_name = cls;
    q.where = where;
    q.session_token = token;
    CHECK(lq_subscribe(c, &q, &out) == LQ_OK);
    return out;
}

/* ---- tests ---- */

static void t_subscribe_before_connected(void) {
    tu_srv s; rec r;
    lq_client *c = make(&s, &r, NULL);
    lq_sub a = sub(c, "GameScore", "{\"score\":{\"$gt\":10}}", NULL);
    lq_sub b = sub(c, "Message", NULL, "r:tok");
    CHECK(a.id != 0 && b.id != 0 && a.id != b.id);          /* a is request 1, b request 2: see the events */
    CHECK(lq_sub_valid(c, a) && lq_sub_valid(c, b));
    CHECK(lq_client_state(c) == LQ_STATE_CONNECTING);
    tu_srv_accept(&s);
    CHECK(s.nsent == 1);                                    /* only connect before connected */
    CHECK(strcmp(s.sent[0], "{\"op\":\"connect\",\"applicationId\":\"app\",\"javascriptKey\":\"js\"}") == 0);
    tu_srv_text(&s, "{\"op\":\"connected\",\"clientId\":\"abc\"}");
    CHECK(lq_client_state(c) == LQ_STATE_CONNECTED);
    CHECK(strcmp(lq_client_id(c), "abc") == 0);
    CHECK(s.nsent == 3);
    CHECK(strcmp(s.sent[1], "{\"op\":\"subscribe\",\"requestId\":1,\"query\":{\"className\":\"GameScore\",\"where\":{\"score\":{\"$gt\":10}}}}") == 0);
    CHECK(strcmp(s.sent[2], "{\"op\":\"subscribe\",\"requestId\":2,\"query\":{\"className\":\"Message\",\"where\":{}},\"sessionToken\":\"r:tok\"}") == 0);
    CHECK(r.type[0] == LQ_EVENT_OPEN);
    tu_srv_text(&s, "{\"op\":\"subscribed\",\"clientId\":\"abc\",\"requestId\":1}");
    CHECK(r.n == 2 && r.type[1] == LQ_EVENT_SUBSCRIBED && r.rid[1] == 1 && r.sub[1] == a.id && !r.flag[1]);
    tu_srv_text(&s, "{\"op\":\"subscribed\",\"clientId\":\"abc\",\"requestId\":2}");
    CHECK(r.n == 3 && r.type[2] == LQ_EVENT_SUBSCRIBED && r.rid[2] == 2 && r.sub[2] == b.id && !r.flag[2]);
    finish(&s);
}

static void t_backoff_sequence(void) {
    static const uint32_t expect_half[] = {500, 1500, 3500, 7500, 15000, 15000, 15000};
    tu_srv s; rec r;
    lq_client *c;
    int k, at = 0;
    fake_rand_value = 0x80000000u;                          /* random() = 0.5 */
    c = make(&s, &r, NULL);
    for (k = 0; k < 7; k++) {
        CHECK(lq_core_io(c) == LQ_IO_CONNECT);
        lq_core_closed(c, LQ_ERR_CONNECT, 111, s.now);      /* connection refused */
        at = find(&r, LQ_EVENT_RECONNECTING, at);
        CHECK(at >= 0);
        if (at < 0) break;
        CHECK(r.code[at] == k + 1);
        CHECK(r.delay[at] == expect_half[k]);
        CHECK(lq_client_state(c) == LQ_STATE_RECONNECTING);
        CHECK(lq_core_timeout(c, s.now) == (int64_t)expect_half[k]);
        tu_srv_tick(&s, r.delay[at] - 1);
        CHECK(lq_core_io(c) == LQ_IO_NONE);                 /* not before the delay */
        tu_srv_tick(&s, 1);
        CHECK(lq_core_io(c) == LQ_IO_CONNECT);              /* the caller connects: the deadline runs */
        CHECK(lq_core_timeout(c, s.now) == 10000);
        at++;
    }
    CHECK(count(&r, LQ_EVENT_ERROR) == 7);                  /* each failure is reported */
    CHECK(count(&r, LQ_EVENT_CLOSE) == 7);
    finish(&s);
    fake_rand_value = 0xFFFFFFFFu;                          /* random() just under 1: the caps */
    c = make(&s, &r, NULL);
    {
        static const uint32_t cap[] = {1000, 3000, 7000, 15000, 30000, 30000};
        for (k = 0; k < 6; k++) {
            lq_core_closed(c, LQ_ERR_CONNECT, 111, s.now);
            at = find(&r, LQ_EVENT_RECONNECTING, 0);
            at = r.n - 1;
            CHECK(r.type[at] == LQ_EVENT_RECONNECTING && r.delay[at] < cap[k] && r.delay[at] >= cap[k] - 1);
            tu_srv_tick(&s, r.delay[at]);
        }
    }
    finish(&s);
    fake_rand_value = 0x80000000u;
}

/* Several endpoints: a failed connect moves on, a link that was up retries its own first, the
   backoff counts across the list, REST follows the endpoint in use. */
static void no_response(lq_client *c, const lq_response *rs, void *user) { (void)c; (void)rs; (void)user; }

static void t_endpoints(void) {
    static const char *more[] = {"ws://10.0.0.2:1338/parse", "ws://10.0.0.3/live"};
    static const uint32_t half[] = {500, 1500};
    tu_srv s; rec r;
    lq_desc d;
    lq_client *c;
    const lq_url *u;
    lq_find_desc f;
    lq_request q;
    int at;
    memset(&d, 0, sizeof d);
    d.server_urls = more;
    d.num_server_urls = 2;
    fake_rand_value = 0x80000000u;
    c = make(&s, &r, &d);
    u = lq_core_link_url(c, LQ_LINK_LIVEQUERY);
    CHECK(u->port == 1337 && u->host_len == 9 && memcmp(u->host, "127.0.0.1", 9) == 0);
    lq_core_closed(c, LQ_ERR_CONNECT, 111, s.now);          /* the first fails: the second next */
    at = r.n - 1;
    CHECK(r.type[at] == LQ_EVENT_RECONNECTING && r.code[at] == 1 && r.delay[at] == half[0]);
    u = lq_core_link_url(c, LQ_LINK_LIVEQUERY);
    CHECK(u->port == 1338 && u->host_len == 8 && memcmp(u->host, "10.0.0.2", 8) == 0);
    CHECK(lq_client_url(c) == u);
    tu_srv_tick(&s, r.delay[at]);
    CHECK(lq_core_io(c) == LQ_IO_CONNECT);
    lq_core_closed(c, LQ_ERR_TIMEOUT, 0, s.now);            /* the second too: the third */
    at = r.n - 1;
    CHECK(r.type[at] == LQ_EVENT_RECONNECTING && r.code[at] == 2 && r.delay[at] == half[1]);
    u = lq_core_link_url(c, LQ_LINK_LIVEQUERY);
    CHECK(u->port == 80 && u->path_len == 5 && memcmp(u->path, "/live", 5) == 0);
    memset(&f, 0, sizeof f);                                 /* REST: the endpoint in use */
    f.class_name = "GameScore";
    f.on_response = no_response;
    CHECK(lq_find(c, &f, &q) == LQ_OK);
    u = lq_core_link_url(c, LQ_LINK_REST);
    CHECK(u->host_len == 8 && memcmp(u->host, "10.0.0.3", 8) == 0 && u->port == 80);
    CHECK(lq_cancel(c, q) == LQ_OK);
    tu_srv_tick(&s, r.delay[at]);
    tu_srv_connect(&s);
    CHECK(strstr(tb_str(&s.req), "GET /live HTTP/1.1\r\n") != NULL);
    CHECK(strstr(tb_str(&s.req), "\r\nHost: 10.0.0.3\r\n") != NULL);
    CHECK(lq_client_state(c) == LQ_STATE_CONNECTED);
    tu_srv_drop(&s);                                        /* it was up: the same endpoint first */
    at = r.n - 1;                                           /* (connected with no subscription: the count restarts) */
    CHECK(r.type[at] == LQ_EVENT_RECONNECTING && r.code[at] == 1 && r.delay[at] == half[0]);
    u = lq_core_link_url(c, LQ_LINK_LIVEQUERY);
    CHECK(u->host_len == 8 && memcmp(u->host, "10.0.0.3", 8) == 0);
    tu_srv_tick(&s, r.delay[at]);
    lq_core_closed(c, LQ_ERR_CONNECT, 111, s.now);          /* fails there: round to the first */
    at = r.n - 1;
    CHECK(r.type[at] == LQ_EVENT_RECONNECTING && r.code[at] == 2 && r.delay[at] == half[1]);
    u = lq_core_link_url(c, LQ_LINK_LIVEQUERY);
    CHECK(u->port == 1337);
    finish(&s);
    fake_rand_value = 0xFFFFFFFFu;
}

static void t_endpoints_refused(void) {
    static const char *mixed[] = {"wss://10.0.0.2/parse"};
    static const char *with_null[] = {"ws://10.0.0.2/parse", NULL};
    static const char *bad[] = {"ws://10.0.0.2/parse", "ftp://x/parse"};
    static const char *only[] = {"ws://10.0.0.9:7/p", "ws://10.0.0.8:8/p"};
    lq_desc d;
    lq_client *c = NULL;
    memset(&d, 0, sizeof d);
    d.application_id = "app";
    d.random = fake_random;
    CHECK(lq_client_create(&d, &c) == LQ_ERR_INVALID_ARG);          /* no endpoint */
    d.server_url = "ws://127.0.0.1/parse";
    d.server_urls = mixed;
    d.num_server_urls = 1;
    CHECK(lq_client_create(&d, &c) == LQ_ERR_INVALID_ARG && c == NULL);
    d.server_urls = with_null;
    d.num_server_urls = 2;
    CHECK(lq_client_create(&d, &c) == LQ_ERR_INVALID_ARG);
    d.server_urls = bad;
    CHECK(lq_client_create(&d, &c) == LQ_ERR_URL);
    d.num_server_urls = -1;
    CHECK(lq_client_create(&d, &c) == LQ_ERR_INVALID_ARG);
    d.server_url = NULL;                                            /* the list alone */
    d.server_urls = only;
    d.num_server_urls = 2;
    CHECK(lq_client_create(&d, &c) == LQ_OK);
    CHECK(c && lq_client_url(c)->port == 7);
    lq_client_destroy(c);
}

static void t_backoff_resets_on_subscribed(void) {
    tu_srv s; rec r;
    lq_client *c = make(&s, &r, NULL);
    sub(c, "GameScore", NULL, NULL);
    lq_core_closed(c, LQ_ERR_CONNECT, 111, s.now);
    tu_srv_tick(&s, 10000);
    lq_core_closed(c, LQ_ERR_CONNECT, 111, s.now);
    tu_srv_tick(&s, 10000);
    CHECK(r.code[r.n - 1] == 2);                            /* attempt 2 reported */
    tu_srv_connect(&s);                                         /* socket open + connected: no reset */
    tu_srv_drop(&s);
    CHECK(r.type[r.n - 1] == LQ_EVENT_RECONNECTING && r.code[r.n - 1] == 3);
    tu_srv_tick(&s, 10000);
    tu_srv_connect(&s);
    tu_srv_text(&s, "{\"op\":\"subscribed\",\"clientId\":\"abc\",\"requestId\":1}");
    tu_srv_drop(&s);                                          /* subscribed reset the count */
    CHECK(r.type[r.n - 1] == LQ_EVENT_RECONNECTING && r.code[r.n - 1] == 1);
    CHECK(r.delay[r.n - 1] <= 1000);
    finish(&s);
}

static void t_resubscribe_same_ids(void) {
    tu_srv s; rec r;
    lq_client *c = make(&s, &r, NULL);
    lq_query q;
    const char *keys[] = {"score", "playerName"}, *watch[] = {"score"};
    char first[2][1024];
    int base, i;
    tu_srv_connect(&s);
    memset(&q, 0, sizeof q);
    q.class_name = "GameScore";
    q.where = "{\"score\":{\"$gt\":10}}";
    q.keys = keys; q.num_keys = 2;
    q.watch = watch; q.num_watch = 1;
    q.session_token = "r:one";
    CHECK(lq_subscribe(c, &q, NULL) == LQ_OK);
    sub(c, "Message", NULL, "r:two");
    tu_srv_drain(&s);
    CHECK(s.nsent == 3);
    memcpy(first[0], s.sent[1], sizeof first[0]);
    memcpy(first[1], s.sent[2], sizeof first[1]);
    CHECK(strcmp(first[0], "{\"op\":\"subscribe\",\"requestId\":1,\"query\":{\"className\":\"GameScore\",\"where\":{\"score\":{\"$gt\":10}},\"keys\":[\"score\",\"playerName\"],\"watch\":[\"score\"]},\"sessionToken\":\"r:one\"}") == 0);
    tu_srv_text(&s, "{\"op\":\"subscribed\",\"clientId\":\"abc\",\"requestId\":1}");
    tu_srv_text(&s, "{\"op\":\"subscribed\",\"clientId\":\"abc\",\"requestId\":2}");
    tu_srv_drop(&s);
    CHECK(lq_client_state(c) == LQ_STATE_RECONNECTING);
    tu_srv_tick(&s, 1000);
    base = s.nsent;
    tu_srv_connect(&s);
    CHECK(s.nsent == base + 3);
    CHECK(strcmp(s.sent[base + 1], first[0]) == 0);         /* same id, query, keys, watch, token */
    CHECK(strcmp(s.sent[base + 2], first[1]) == 0);
    i = r.n;
    tu_srv_text(&s, "{\"op\":\"subscribed\",\"clientId\":\"abc\",\"requestId\":1}");
    CHECK(r.n == i + 1 && r.type[i] == LQ_EVENT_SUBSCRIBED && r.flag[i]);   /* resubscribe */
    finish(&s);
}

static void t_fatal_errors_do_not_loop(void) {
    static const char *const fatal[] = {
        "{\"op\":\"error\",\"error\":\"Key in request is not valid\",\"code\":4,\"reconnect\":true,\"requestId\":null}",
        "{\"op\":\"error\",\"error\":\"Additional properties not allowed\",\"code\":1,\"reconnect\":true,\"requestId\":null}",
        "{\"op\":\"error\",\"error\":\"beforeConnect threw\",\"code\":141,\"reconnect\":false}"};
    size_t k;
    for (k = 0; k < 3; k++) {
        tu_srv s; rec r;
        lq_client *c = make(&s, &r, NULL);
        int e;
        sub(c, "GameScore", NULL, NULL);
        tu_srv_accept(&s);
        tu_srv_text(&s, fatal[k]);
        e = find(&r, LQ_EVENT_ERROR, 0);
        CHECK(e >= 0 && r.flag[e] && r.rid[e] == 0);
        CHECK(lq_client_state(c) == LQ_STATE_DISCONNECTED);
        CHECK(s.closes == 1 && s.close_code == 1000);
        tu_srv_text(&s, "{\"op\":\"close\"}");
        tu_srv_feed(&s, "\x88\x02\x03\xe8", 4);                    /* the server's Close */
        tu_srv_tick(&s, 3000);
        CHECK(lq_core_io(c) == LQ_IO_CLOSE);
        tu_srv_drop(&s);
        tu_srv_tick(&s, 60000);
        CHECK(count(&r, LQ_EVENT_RECONNECTING) == 0);
        CHECK(count(&r, LQ_EVENT_UNSUBSCRIBED) == 1);
        CHECK(count(&r, LQ_EVENT_CLOSE) == 1);
        CHECK(lq_core_io(c) == LQ_IO_DONE);                 /* finished: nothing more to do */
        CHECK(lq_core_timeout(c, s.now) == -1);
        finish(&s);
    }
}

static void t_error_routing(void) {
    tu_srv s; rec r;
    lq_client *c = make(&s, &r, NULL);
    int e;
    sub(c, "GameScore", NULL, NULL);
    sub(c, "_Session", NULL, NULL);
    tu_srv_connect(&s);
    tu_srv_text(&s, "{\"op\":\"subscribed\",\"clientId\":\"abc\",\"requestId\":1}");
    tu_srv_text(&s, "{\"op\":\"error\",\"error\":\"Invalid session token\",\"code\":209,\"reconnect\":false,\"requestId\":2}");
    e = find(&r, LQ_EVENT_ERROR, 0);
    CHECK(e >= 0 && r.rid[e] == 2 && r.code[e] == 209 && r.flag[e]);
    CHECK(strcmp(r.text[e], "Invalid session token") == 0);
    CHECK(lq_client_state(c) == LQ_STATE_CONNECTED);        /* only that subscription ends */
    CHECK(find(&r, LQ_EVENT_UNSUBSCRIBED, e) > e && r.rid[find(&r, LQ_EVENT_UNSUBSCRIBED, e)] == 2);
    CHECK(lq_subscription_count(c) == 1);
    /* reconnect:true without a request: the client starts over */
    tu_srv_text(&s, "{\"op\":\"error\",\"error\":\"Can not find this client\",\"code\":2,\"reconnect\":true,\"requestId\":null}");
    e = find(&r, LQ_EVENT_ERROR, e + 1);
    CHECK(e >= 0 && !r.flag[e] && r.code[e] == 2);
    CHECK(s.closes == 1);
    tu_srv_drop(&s);
    CHECK(lq_client_state(c) == LQ_STATE_RECONNECTING);
    finish(&s);
}

static void t_dead_link_and_ping(void) {
    tu_srv s; rec r;
    lq_desc d;
    lq_client *c;
    memset(&d, 0, sizeof d);
    d.dead_link_ms = 5000;
    d.ping_interval_ms = 2000;
    c = make(&s, &r, &d);
    tu_srv_connect(&s);
    tu_srv_tick(&s, 1999);
    CHECK(s.pings == 0);
    tu_srv_tick(&s, 1);
    CHECK(s.pings == 1);                                    /* idle: a ping */
    tu_srv_feed(&s, "\x8a\x00", 2);                                /* pong keeps the link alive */
    tu_srv_tick(&s, 4999);
    CHECK(lq_core_io(c) == LQ_IO_NONE);
    tu_srv_tick(&s, 1);
    CHECK(lq_core_io(c) == LQ_IO_CLOSE);                    /* 5 s without a byte: dead */
    tu_srv_drop(&s);
    CHECK(find(&r, LQ_EVENT_ERROR, 0) >= 0 && find(&r, LQ_EVENT_CLOSE, 0) >= 0);
    CHECK(r.code[find(&r, LQ_EVENT_CLOSE, 0)] == 1006);
    CHECK(lq_client_state(c) == LQ_STATE_RECONNECTING);
    finish(&s);
}

static void t_server_ping_answered(void) {
    tu_srv s; rec r;
    lq_client *c = make(&s, &r, NULL);
    size_t n;
    const unsigned char *p;
    tu_cframes fs;
    tu_srv_connect(&s);
    lq_core_feed(c, "\x89\x02hi", 4, s.now);
    p = (const unsigned char *)lq_core_peek(c, &n);
    tu_parse_client(p, n, &fs);
    CHECK(n == 8 && fs.n == 1 && fs.trailing == 0 && fs.f[0].b0 == 0x8a && fs.f[0].masked && fs.f[0].lenform == 7);
    CHECK(fs.n == 1 && fs.f[0].len == 2 && memcmp(fs.f[0].payload, "hi", 2) == 0);
    tu_cframes_free(&fs);
    finish(&s);
}

static void t_close(void) {
    tu_srv s; rec r;
    lq_client *c = make(&s, &r, NULL);
    sub(c, "A", NULL, NULL);
    sub(c, "B", NULL, NULL);
    tu_srv_connect(&s);
    tu_srv_text(&s, "{\"op\":\"subscribed\",\"clientId\":\"abc\",\"requestId\":1}");
    CHECK(lq_close(c) == LQ_OK);
    CHECK(lq_client_state(c) == LQ_STATE_DISCONNECTED);
    tu_srv_tick(&s, 0);
    CHECK(count(&r, LQ_EVENT_UNSUBSCRIBED) == 2);
    CHECK(s.closes == 1 && s.close_code == 1000);
    {
        lq_query q;
        memset(&q, 0, sizeof q);
        q.class_name = "C";
        CHECK(lq_subscribe(c, &q, NULL) == LQ_ERR_STATE);
    }
    tu_srv_text(&s, "{\"op\":\"create\",\"clientId\":\"abc\",\"requestId\":1,\"object\":{}}");
    CHECK(count(&r, LQ_EVENT_CREATE) == 0);                 /* data after our Close is dropped */
    tu_srv_feed(&s, "\x88\x02\x03\xe8", 4);
    CHECK(s.closes == 1);                                   /* no second Close */
    tu_srv_tick(&s, 2000);
    CHECK(lq_core_io(c) == LQ_IO_CLOSE);
    tu_srv_drop(&s);
    CHECK(count(&r, LQ_EVENT_CLOSE) == 1 && r.type[r.n - 1] == LQ_EVENT_CLOSE);
    tu_srv_tick(&s, 100000);
    CHECK(count(&r, LQ_EVENT_RECONNECTING) == 0 && lq_core_io(c) == LQ_IO_DONE);
    finish(&s);
    /* close while waiting to reconnect: CLOSE at once, nothing more */
    c = make(&s, &r, NULL);
    lq_core_closed(c, LQ_ERR_CONNECT, 111, s.now);
    lq_close(c);
    tu_srv_tick(&s, 0);
    CHECK(r.n > 0 && r.type[r.n - 1] == LQ_EVENT_CLOSE && r.code[r.n - 1] == 1000);
    tu_srv_tick(&s, 100000);
    CHECK(lq_core_io(c) == LQ_IO_DONE);
    finish(&s);
}

static void t_unsubscribe_and_update(void) {
    tu_srv s; rec r;
    lq_client *c = make(&s, &r, NULL);
    lq_sub a, b;
    lq_query q;
    a = sub(c, "GameScore", NULL, NULL);
    b = sub(c, "GameScore", "{\"score\":1}", NULL);
    tu_srv_connect(&s);
    tu_srv_text(&s, "{\"op\":\"subscribed\",\"clientId\":\"abc\",\"requestId\":1}");
    tu_srv_text(&s, "{\"op\":\"subscribed\",\"clientId\":\"abc\",\"requestId\":2}");
    CHECK(lq_unsubscribe(c, a) == LQ_OK);
    tu_srv_drain(&s);
    CHECK(strcmp(s.sent[s.nsent - 1], "{\"op\":\"unsubscribe\",\"requestId\":1}") == 0);
    CHECK(lq_unsubscribe(c, a) == LQ_ERR_INVALID_ARG);      /* twice */
    tu_srv_text(&s, "{\"op\":\"create\",\"clientId\":\"abc\",\"requestId\":1,\"object\":{\"a\":1}}");
    CHECK(count(&r, LQ_EVENT_CREATE) == 0);
    tu_srv_text(&s, "{\"op\":\"unsubscribed\",\"clientId\":\"abc\",\"requestId\":1}");
    CHECK(count(&r, LQ_EVENT_UNSUBSCRIBED) == 1 && r.rid[r.n - 1] == 1);
    memset(&q, 0, sizeof q);
    q.class_name = "GameScore";
    q.where = "{\"score\":2}";
    CHECK(lq_update(c, b, &q) == LQ_OK);
    tu_srv_drain(&s);
    CHECK(strcmp(s.sent[s.nsent - 1], "{\"op\":\"update\",\"requestId\":2,\"query\":{\"className\":\"GameScore\",\"where\":{\"score\":2}}}") == 0);
    tu_srv_text(&s, "{\"op\":\"subscribed\",\"clientId\":\"abc\",\"requestId\":2}");
    CHECK(r.type[r.n - 1] == LQ_EVENT_SUBSCRIBED && !r.flag[r.n - 1]);
    q.where = "[1]";
    CHECK(lq_update(c, b, &q) == LQ_ERR_JSON);
    q.where = "{\"a\":";
    CHECK(lq_update(c, b, &q) == LQ_ERR_JSON);
    /* unsubscribe inside the event callback */
    r.unsub_in_callback = 2;
    tu_srv_text(&s, "{\"op\":\"create\",\"clientId\":\"abc\",\"requestId\":2,\"object\":{\"score\":2}}");
    CHECK(count(&r, LQ_EVENT_CREATE) == 1);
    CHECK(strcmp(s.sent[s.nsent - 1], "{\"op\":\"unsubscribe\",\"requestId\":2}") == 0);
    /* unsubscribe of a never-sent subscription: no request, UNSUBSCRIBED at once */
    tu_srv_drop(&s);
    a = sub(c, "X", NULL, NULL);
    CHECK(lq_unsubscribe(c, a) == LQ_OK);
    tu_srv_tick(&s, 0);
    CHECK(r.type[r.n - 1] == LQ_EVENT_UNSUBSCRIBED && r.rid[r.n - 1] == 3 && r.sub[r.n - 1] == a.id);
    CHECK(!lq_sub_valid(c, a) && lq_unsubscribe(c, a) == LQ_ERR_INVALID_ARG);
    finish(&s);
}

static void t_object_events_from_captured_frames(void) {
    tu_srv s; rec r;
    lq_client *c = make(&s, &r, NULL);
    sub(c, "GameScore", "{\"score\":{\"$gt\":10}}", NULL);
    tu_srv_accept(&s);
    tu_srv_text(&s, "{\"op\":\"connected\",\"clientId\":\"3a8a95f1-8308-4b7e-ae96-8d0d2860ba3d\"}");
    tu_srv_text(&s, "{\"op\":\"subscribed\",\"clientId\":\"3a8a95f1-8308-4b7e-ae96-8d0d2860ba3d\",\"requestId\":1}");
    tu_srv_text(&s, "{\"op\":\"create\",\"clientId\":\"3a8a95f1-8308-4b7e-ae96-8d0d2860ba3d\",\"requestId\":1,\"object\":{\"score\":20,\"playerName\":\"high\",\"tags\":[\"x\"],\"createdAt\":\"2026-11-27T23:40:37.606Z\",\"updatedAt\":\"2026-11-27T23:40:37.606Z\",\"className\":\"GameScore\",\"objectId\":\"Qd8DdJGVgH\"}}");
    CHECK(r.type[r.n - 1] == LQ_EVENT_CREATE);
    CHECK(strcmp(r.text[r.n - 1], "{\"score\":20,\"playerName\":\"high\",\"tags\":[\"x\"],\"createdAt\":\"2026-11-27T23:40:37.606Z\",\"updatedAt\":\"2026-11-27T23:40:37.606Z\",\"className\":\"GameScore\",\"objectId\":\"Qd8DdJGVgH\"}") == 0);
    tu_srv_text(&s, "{\"op\":\"update\",\"clientId\":\"3a8a95f1-8308-4b7e-ae96-8d0d2860ba3d\",\"requestId\":1,\"object\":{\"createdAt\":\"2026-11-27T23:40:37.606Z\",\"updatedAt\":\"2026-11-27T23:40:38.043Z\",\"score\":30,\"playerName\":\"high\",\"tags\":[\"x\"],\"className\":\"GameScore\",\"objectId\":\"Qd8DdJGVgH\"},\"original\":{\"createdAt\":\"2026-11-27T23:40:37.606Z\",\"updatedAt\":\"2026-11-27T23:40:37.606Z\",\"score\":20,\"playerName\":\"high\",\"tags\":[\"x\"],\"className\":\"GameScore\",\"objectId\":\"Qd8DdJGVgH\"}}");
    CHECK(r.type[r.n - 1] == LQ_EVENT_UPDATE);
    tu_srv_text(&s, "{\"op\":\"leave\",\"clientId\":\"3a8a95f1-8308-4b7e-ae96-8d0d2860ba3d\",\"requestId\":1,\"object\":{\"score\":3,\"className\":\"GameScore\",\"objectId\":\"Qd8DdJGVgH\"},\"original\":{\"score\":30,\"className\":\"GameScore\",\"objectId\":\"Qd8DdJGVgH\"}}");
    tu_srv_text(&s, "{\"op\":\"enter\",\"clientId\":\"3a8a95f1-8308-4b7e-ae96-8d0d2860ba3d\",\"requestId\":1,\"object\":{\"score\":50,\"className\":\"GameScore\",\"objectId\":\"Qd8DdJGVgH\"},\"original\":null}");
    tu_srv_text(&s, "{\"op\":\"delete\",\"clientId\":\"3a8a95f1-8308-4b7e-ae96-8d0d2860ba3d\",\"requestId\":1,\"object\":{\"score\":50,\"className\":\"GameScore\",\"objectId\":\"Qd8DdJGVgH\"},\"extra\":[1,2,{}]}");
    CHECK(r.n >= 3 && r.type[r.n - 3] == LQ_EVENT_LEAVE && r.type[r.n - 2] == LQ_EVENT_ENTER && r.type[r.n - 1] == LQ_EVENT_DELETE);
    /* tolerated shapes: numeric clientId, requestId null on an error */
    tu_srv_text(&s, "{\"op\":\"error\",\"error\":\"x\",\"code\":2,\"reconnect\":true,\"requestId\":null}");
    CHECK(r.type[r.n - 1] == LQ_EVENT_ERROR && r.rid[r.n - 1] == 0);
    finish(&s);
    c = make(&s, &r, NULL);
    tu_srv_accept(&s);
    tu_srv_text(&s, "{\"op\":\"connected\",\"clientId\":42}");
    CHECK(strcmp(lq_client_id(c), "42") == 0 && r.type[0] == LQ_EVENT_OPEN);
    finish(&s);
}

static void event_fields_cb(lq_client *c, const lq_event *ev, void *user) {
    int *ok = (int *)user;
    char name[16];
    (void)c;
    if (ev->type != LQ_EVENT_UPDATE) return;
    lq_json_string(lq_json_get(ev->original, "playerName"), name, sizeof name);
    *ok = lq_json_int(lq_json_get(ev->object, "score"), 0) == 30 &&
          lq_json_int(lq_json_get(ev->original, "score"), 0) == 20 && strcmp(name, "high") == 0 &&
          lq_json_string_eq(lq_json_path(ev->object, "tags.0"), "x") && ev->request_id == 1;
}

static void t_event_read_api(void) {
    tu_srv s; rec r;
    lq_client *c;
    lq_desc d;
    int ok = 0;
    memset(&d, 0, sizeof d);
    c = make(&s, &r, NULL);
    finish(&s);
    d.server_url = "ws://127.0.0.1/parse";
    d.application_id = "app";
    d.random = fake_random;
    d.on_event = event_fields_cb;
    d.user_data = &ok;
    CHECK(lq_client_create(&d, &s.c) == LQ_OK);
    c = s.c;
    tu_srv_tick(&s, 0);
    sub(c, "GameScore", NULL, NULL);
    tu_srv_connect(&s);
    tu_srv_text(&s, "{\"op\":\"subscribed\",\"requestId\":1}");
    tu_srv_text(&s, "{\"op\":\"update\",\"requestId\":1,\"object\":{\"score\":30,\"tags\":[\"x\"]},\"original\":{\"score\":20,\"playerName\":\"high\"}}");
    CHECK(ok == 1);
    finish(&s);
}

static void t_installation_id_and_fields(void) {
    tu_srv s; rec r;
    lq_desc d;
    lq_client *c;
    const char *keys[] = {"score"};
    lq_query q;
    memset(&d, 0, sizeof d);
    d.installation_id = "inst-1";
    d.use_fields = true;
    c = make(&s, &r, &d);
    tu_srv_accept(&s);
    CHECK(strstr(s.sent[0], "\"installationId\":\"inst-1\"") != NULL);
    tu_srv_text(&s, "{\"op\":\"error\",\"error\":\"Additional properties not allowed\",\"code\":1,\"reconnect\":true,\"requestId\":null}");
    CHECK(s.nsent == 2 && strstr(s.sent[1], "installationId") == NULL && strstr(s.sent[1], "\"op\":\"connect\"") != NULL);
    CHECK(lq_client_state(c) == LQ_STATE_CONNECTING && count(&r, LQ_EVENT_ERROR) == 0);
    tu_srv_text(&s, "{\"op\":\"connected\",\"clientId\":\"abc\"}");
    memset(&q, 0, sizeof q);
    q.class_name = "GameScore";
    q.keys = keys;
    q.num_keys = 1;
    CHECK(lq_subscribe(c, &q, NULL) == LQ_OK);
    tu_srv_drain(&s);
    CHECK(strstr(s.sent[s.nsent - 1], "\"fields\":[\"score\"]") != NULL);
    finish(&s);
}

static void t_bad_input_and_limits(void) {
    tu_srv s; rec r;
    lq_desc d;
    lq_client *c;
    lq_query q;
    const char *bad_header[] = {"X-Evil: a\r\nHost: b"};
    const char *good_header[] = {"Authorization: Bearer x"};
    memset(&d, 0, sizeof d);
    d.max_subscriptions = 2;
    c = make(&s, &r, &d);
    memset(&q, 0, sizeof q);
    CHECK(lq_subscribe(c, &q, NULL) == LQ_ERR_INVALID_ARG);
    q.class_name = "A\xff";
    CHECK(lq_subscribe(c, &q, NULL) == LQ_ERR_UTF8);
    q.class_name = "A";
    q.where = "{\"a\":1} x";
    CHECK(lq_subscribe(c, &q, NULL) == LQ_ERR_JSON);
    q.where = "{\"a\":\"\xc0\xaf\"}";
    CHECK(lq_subscribe(c, &q, NULL) == LQ_ERR_UTF8);
    q.where = NULL;
    q.session_token = "\x80";
    CHECK(lq_subscribe(c, &q, NULL) == LQ_ERR_UTF8);
    q.session_token = NULL;
    CHECK(lq_subscribe(c, &q, NULL) == LQ_OK);
    CHECK(lq_subscribe(c, &q, NULL) == LQ_OK);
    CHECK(lq_subscribe(c, &q, NULL) == LQ_ERR_LIMIT);
    finish(&s);
    memset(&d, 0, sizeof d);
    d.random = fake_random;
    d.application_id = "a";
    d.server_url = "ftp://x";
    CHECK(lq_client_create(&d, &c) == LQ_ERR_URL && c == NULL);
    d.server_url = "ws://x";
    d.application_id = "\xfe";
    CHECK(lq_client_create(&d, &c) == LQ_ERR_UTF8 && c == NULL);
    d.application_id = "a";
    d.extra_headers = bad_header;
    d.num_extra_headers = 1;
    CHECK(lq_client_create(&d, &c) == LQ_ERR_INVALID_ARG);
    d.extra_headers = good_header;
    CHECK(lq_client_create(&d, &c) == LQ_OK);
    s.c = c;
    s.now = 0;
    tu_srv_tick(&s, 0);
    lq_core_opened(c, 0);
    {
        size_t n;
        const char *p = (const char *)lq_core_peek(c, &n);
        CHECK(n > 0 && strstr(p, "\r\nAuthorization: Bearer x\r\n") != NULL);
    }
    finish(&s);
}

static void t_close_inside_callback(void) {
    tu_srv s; rec r;
    lq_client *c = make(&s, &r, NULL);
    sub(c, "A", NULL, NULL);
    sub(c, "B", NULL, NULL);
    tu_srv_connect(&s);
    tu_srv_text(&s, "{\"op\":\"subscribed\",\"requestId\":1}");
    r.close_in_callback = true;
    tu_srv_text(&s, "{\"op\":\"create\",\"requestId\":1,\"object\":{}}");
    CHECK(lq_client_state(c) == LQ_STATE_DISCONNECTED);
    CHECK(count(&r, LQ_EVENT_UNSUBSCRIBED) == 2);
    CHECK(s.closes == 1);
    finish(&s);
}

static void t_where_builder(void) {
    lq_where w, a, b;
    const lq_where *ors[2];
    lq_value in[3];
    char buf[512], tiny[8];
    size_t len = 0;
    lq_where_init(&w);
    lq_where_greater_than(&w, "score", lq_int(10));
    lq_where_less_than_or_equal_to(&w, "score", lq_number(99.5));
    lq_where_equal_to(&w, "playerName", lq_string("Sean \"Plott\""));
    lq_where_exists(&w, "tags");
    lq_where_does_not_exist(&w, "cheat");
    CHECK(lq_where_build(&w, buf, sizeof buf, &len) == LQ_OK);
    CHECK(strcmp(buf, "{\"score\":{\"$gt\":10,\"$lte\":99.5},\"playerName\":\"Sean \\\"Plott\\\"\",\"tags\":{\"$exists\":true},\"cheat\":{\"$exists\":false}}") == 0);
    CHECK(len == strlen(buf));
    CHECK(lq_where_build(&w, tiny, sizeof tiny, &len) == LQ_ERR_TOO_SMALL && len == strlen(buf) && tiny[0] == 0);
    in[0] = lq_int(1); in[1] = lq_string("two"); in[2] = lq_null();
    lq_where_init(&w);
    lq_where_contained_in(&w, "n", in, 3);
    lq_where_not_contained_in(&w, "m", in, 1);
    lq_where_contains_all(&w, "tags", in + 1, 1);
    lq_where_not_equal_to(&w, "x", lq_bool(false));
    lq_where_greater_than_or_equal_to(&w, "y", lq_int(-3));
    CHECK(lq_where_build(&w, buf, sizeof buf, NULL) == LQ_OK);
    CHECK(strcmp(buf, "{\"n\":{\"$in\":[1,\"two\",null]},\"m\":{\"$nin\":[1]},\"tags\":{\"$all\":[\"two\"]},\"x\":{\"$ne\":false},\"y\":{\"$gte\":-3}}") == 0);
    lq_where_init(&w);
    lq_where_starts_with(&w, "name", "a.b*\"");
    lq_where_matches(&w, "city", "^san", "i");
    CHECK(lq_where_build(&w, buf, sizeof buf, NULL) == LQ_OK);
    CHECK(strcmp(buf, "{\"name\":{\"$regex\":\"^a\\\\.b\\\\*\\\"\"},\"city\":{\"$regex\":\"^san\",\"$options\":\"i\"}}") == 0);
    lq_where_init(&a);
    lq_where_equal_to(&a, "score", lq_int(1));
    lq_where_init(&b);
    lq_where_equal_to(&b, "owner", lq_raw_json("{\"__type\":\"Pointer\",\"className\":\"_User\",\"objectId\":\"u1\"}"));
    ors[0] = &a; ors[1] = &b;
    lq_where_init(&w);
    lq_where_or(&w, ors, 2);
    CHECK(lq_where_build(&w, buf, sizeof buf, NULL) == LQ_OK);
    CHECK(strcmp(buf, "{\"$or\":[{\"score\":1},{\"owner\":{\"__type\":\"Pointer\",\"className\":\"_User\",\"objectId\":\"u1\"}}]}") == 0);
    /* equalTo next to other operators on the key becomes $eq */
    lq_where_init(&w);
    lq_where_equal_to(&w, "s", lq_int(5));
    lq_where_exists(&w, "s");
    CHECK(lq_where_build(&w, buf, sizeof buf, NULL) == LQ_OK && strcmp(buf, "{\"s\":{\"$eq\":5,\"$exists\":true}}") == 0);
    /* bad input */
    lq_where_init(&w);
    lq_where_equal_to(&w, "s", lq_raw_json("{bad"));
    CHECK(lq_where_build(&w, buf, sizeof buf, NULL) == LQ_ERR_JSON);
    lq_where_init(&w);
    lq_where_equal_to(&w, "s", lq_string("\xff"));
    CHECK(lq_where_build(&w, buf, sizeof buf, NULL) == LQ_ERR_UTF8);
    lq_where_init(&w);
    lq_where_equal_to(&w, NULL, lq_int(1));
    CHECK(lq_where_build(&w, buf, sizeof buf, NULL) == LQ_ERR_INVALID_ARG);
    lq_where_init(&w);
    for (len = 0; len < LQ_WHERE_MAX + 1; len++) lq_where_exists(&w, "k");
    CHECK(lq_where_build(&w, buf, sizeof buf, NULL) == LQ_ERR_LIMIT);
    lq_where_init(&w);
    CHECK(lq_where_build(&w, buf, sizeof buf, NULL) == LQ_OK && strcmp(buf, "{}") == 0);
}

/* Findings of the review, kept as regressions. */
static void t_long_ipv6_host_rejected(void) {
    char url[700];
    lq_url u;
    memset(url, ':', sizeof url);
    memcpy(url, "ws://[", 6);
    memcpy(url + 606, "]:1337/", 8);
    CHECK(lq_url_parse(url, &u) == LQ_ERR_URL && u.error != NULL);
    CHECK(lq_url_parse("ws://[::ffff:255.255.255.255]:1/", &u) == LQ_OK && u.host_len == 22);
}

static void t_big_request_waits_for_the_queue(void) {
    tu_srv s; rec r;
    lq_desc d;
    lq_client *c;
    char where[1100];
    int k;
    memset(&d, 0, sizeof d);
    d.max_outgoing_bytes = 1200;
    c = make(&s, &r, &d);
    sub(c, "A", NULL, NULL);
    memset(where, ' ', sizeof where);
    memcpy(where, "{\"a\":1", 6);
    memcpy(where + sizeof where - 2, "}", 2);
    sub(c, "B", where, NULL);
    tu_srv_connect(&s);
    for (k = 0; k < 4; k++) tu_srv_drain(&s);                      /* the peer takes what is queued */
    CHECK(count(&r, LQ_EVENT_ERROR) == 0 && count(&r, LQ_EVENT_CLOSE) == 0);
    CHECK(s.nsent >= 3 && strstr(s.sent[s.nsent - 1], "\"requestId\":2") != NULL);
    finish(&s);
}

static void t_unsubscribe_waits_for_the_subscribe_answer(void) {
    tu_srv s; rec r;
    lq_client *c = make(&s, &r, NULL);
    lq_sub a, b;
    lq_query q;
    a = sub(c, "_Session", NULL, NULL);
    b = sub(c, "GameScore", NULL, NULL);
    tu_srv_connect(&s);
    CHECK(s.nsent == 3);
    CHECK(lq_unsubscribe(c, a) == LQ_OK);                   /* its subscribe is unanswered */
    tu_srv_drain(&s);
    CHECK(s.nsent == 3);                                    /* nothing crosses the answer */
    CHECK(lq_unsubscribe(c, a) == LQ_ERR_INVALID_ARG);
    tu_srv_text(&s, "{\"op\":\"error\",\"error\":\"Invalid session token\",\"code\":209,\"reconnect\":false,\"requestId\":1}");
    CHECK(count(&r, LQ_EVENT_UNSUBSCRIBED) == 1 && lq_client_state(c) == LQ_STATE_CONNECTED);
    CHECK(s.nsent == 3 && s.closes == 0);                   /* no unsubscribe, no "code 2", no reconnect */
    /* update while the subscribe is in flight: sent after the answer */
    memset(&q, 0, sizeof q);
    q.class_name = "GameScore";
    q.where = "{\"score\":1}";
    CHECK(lq_update(c, b, &q) == LQ_OK);
    tu_srv_drain(&s);
    CHECK(s.nsent == 3);
    tu_srv_text(&s, "{\"op\":\"subscribed\",\"requestId\":2}");
    CHECK(s.nsent == 4 && strncmp(s.sent[3], "{\"op\":\"update\",\"requestId\":2,", 29) == 0);
    /* unsubscribe after the answer goes out at once */
    tu_srv_text(&s, "{\"op\":\"subscribed\",\"requestId\":2}");
    CHECK(lq_unsubscribe(c, b) == LQ_OK);
    tu_srv_drain(&s);
    CHECK(s.nsent == 5 && strcmp(s.sent[4], "{\"op\":\"unsubscribe\",\"requestId\":2}") == 0);
    finish(&s);
}

static void t_ping_timer_waits_for_output(void) {
    tu_srv s; rec r;
    lq_desc d;
    lq_client *c;
    memset(&d, 0, sizeof d);
    d.ping_interval_ms = 1000;
    c = make(&s, &r, &d);
    tu_srv_connect(&s);
    sub(c, "A", NULL, NULL);                                /* queued output the peer does not take */
    s.now += 5000;
    lq_core_feed(c, "\x8a\x00", 2, s.now);                   /* keep the link alive */
    CHECK(lq_core_timeout(c, s.now) > 0);                   /* no busy loop on a ping that cannot go */
    finish(&s);
}

static void t_big_message_memory_returned(void) {
    tu_srv s; rec r;
    lq_desc d;
    lq_client *c;
    size_t n = 2u << 20, i;
    char *big = (char *)malloc(n + 4);
    memset(&d, 0, sizeof d);
    c = make(&s, &r, &d);
    tu_srv_connect(&s);
    big[0] = (char)0x81; big[1] = 127;
    for (i = 0; i < 8; i++) big[2 + i] = (char)((uint64_t)(n - 10) >> (56 - 8 * i));
    big[10] = '[';
    for (i = 11; i < n - 1; i += 2) { big[i] = '0'; big[i + 1] = ','; }
    big[n - 2] = '0';
    big[n - 1] = ']';
    lq_core_feed(c, big, n, s.now);
    CHECK(find(&r, LQ_EVENT_ERROR, 0) >= 0);                /* not an object: reported, ignored */
    CHECK(c->ntoks <= 16384 && c->msg.cap <= (1u << 20));  /* and its memory is given back */
    tu_srv_text(&s, "{\"op\":\"subscribed\",\"requestId\":9}");
    CHECK(lq_client_state(c) == LQ_STATE_CONNECTED);
    free(big);
    finish(&s);
}

/* A connect that never finishes. Its state is a counter of calls; close frees it. */
typedef struct stuck { int connects, closes, bad_conn; } stuck;

static int stuck_connect(lq_client *c, void *self, void **conn, const lq_url *url) {
    stuck *st = (stuck *)self;
    (void)c; (void)url;
    if (!*conn) {
        int *calls = (int *)malloc(sizeof *calls);
        if (!calls) return LQ_ERR_NOMEM;
        *calls = 0;
        *conn = calls;
        st->connects++;
    }
    ++*(int *)*conn;
    return LQ_IO_WANT_WRITE;
}
static long stuck_io(lq_client *c, void *self, void *conn, const void *buf, size_t n) {
    (void)c; (void)conn; (void)buf; (void)n;
    ((stuck *)self)->bad_conn++;                            /* never called before connect is done */
    return LQ_IO_WANT_WRITE;
}
static long stuck_recv(lq_client *c, void *self, void *conn, void *buf, size_t n) {
    (void)c; (void)conn; (void)buf; (void)n;
    ((stuck *)self)->bad_conn++;
    return LQ_IO_WANT_READ;
}
static void stuck_close(lq_client *c, void *self, void *conn) {
    stuck *st = (stuck *)self;
    (void)c;
    if (!conn || *(int *)conn < 1) st->bad_conn++;
    st->closes++;
    free(conn);
}

static void t_no_busy_loop_while_connecting(void) {
    lq_transport tr;
    lq_desc d;
    lq_client *c;
    stuck st;
    int steps = 0;
    uint64_t end;
    memset(&st, 0, sizeof st);
    memset(&tr, 0, sizeof tr);
    tr.connect = stuck_connect;
    tr.send = stuck_io;
    tr.recv = stuck_recv;
    tr.close = stuck_close;
    tr.self = &st;
    memset(&d, 0, sizeof d);
    d.server_url = "ws://127.0.0.1:9/";
    d.application_id = "a";
    d.transport = &tr;
    CHECK(lq_client_create(&d, &c) == LQ_OK);
    end = lq_now_ms() + 300;
    while (lq_now_ms() < end && steps < 100000) { lq_wait(c, 1000); steps++; }
    CHECK(steps < 100);                                     /* waits ~50 ms per round, no spinning */
    CHECK(st.connects == 1 && st.closes == 0);              /* one connection, still under way */
    lq_client_destroy(c);
    CHECK(st.closes == 1 && st.bad_conn == 0);              /* closed once, with its own state */
}

/* A failed lq_client_create says why through desc.log, at LQ_LOG_ERROR, naming the field. */
static tbuf g_log;
static void log_line(lq_log_level level, const char *msg, void *user) {
    (void)user;
    tb_printf(&g_log, "%d %s\n", (int)level, msg);
}

static void create_fails(lq_desc *d, lq_client **out, lq_result want, const char *needle) {
    lq_result r;
    tb_reset(&g_log);
    d->log = log_line;
    r = lq_client_create(d, out);
    CHECKF(r == want && (!out || *out == NULL), "lq_client_create: %s, want %s", lq_result_str(r), lq_result_str(want));
    CHECKF(strncmp(tb_str(&g_log), "0 ", 2) == 0 && strstr(tb_str(&g_log), needle) != NULL,
           "the failure is logged as an error naming \"%s\" (log: %s)", needle, tb_str(&g_log));
}

static void t_create_failures_are_logged(void) {
    static const char *const bad_header[] = {"Host: evil"};
    lq_desc d;
    lq_client *c = NULL;
    lq_transport tr;
    stuck st;
    tu_harness h;
    memset(&d, 0, sizeof d);
    d.random = fake_random;
    d.application_id = "a";
    create_fails(&d, &c, LQ_ERR_INVALID_ARG, "server_url");
    d.server_url = "ftp://x/parse";
    create_fails(&d, &c, LQ_ERR_URL, "ftp://x/parse");
    d.server_url = "ws://x/parse";
    d.application_id = NULL;
    create_fails(&d, &c, LQ_ERR_INVALID_ARG, "application_id");
    d.application_id = "a";
    d.session_token = "\xc0\xaf";
    create_fails(&d, &c, LQ_ERR_UTF8, "session_token");
    d.session_token = NULL;
    d.extra_headers = bad_header;
    d.num_extra_headers = 1;
    create_fails(&d, &c, LQ_ERR_INVALID_ARG, "extra_headers[0]");
    d.num_extra_headers = 0;
    d.extra_headers = NULL;
    d.allocator.free = tu_free;
    create_fails(&d, &c, LQ_ERR_INVALID_ARG, "allocator");
    tu_harness_init(&h);
    h.fail_at = 1;
    tu_use_alloc(&d, &h);
    create_fails(&d, &c, LQ_ERR_NOMEM, "out of memory");
    CHECK(h.live == 0);
    memset(&d.allocator, 0, sizeof d.allocator);
    create_fails(&d, NULL, LQ_ERR_INVALID_ARG, "out is NULL");
#ifndef LQ_USE_MBEDTLS
    /* no TLS backend: wss:// needs a transport that does TLS itself */
    memset(&st, 0, sizeof st);
    memset(&tr, 0, sizeof tr);
    tr.connect = stuck_connect;
    tr.send = stuck_io;
    tr.recv = stuck_recv;
    tr.close = stuck_close;
    tr.self = &st;
    d.server_url = "wss://x/parse";
    create_fails(&d, &c, LQ_ERR_TLS_UNAVAILABLE, "needs TLS");
    d.transport = &tr;
    create_fails(&d, &c, LQ_ERR_TLS_UNAVAILABLE, "needs TLS");
    tr.tls = true;
    tb_reset(&g_log);
    CHECK(lq_client_create(&d, &c) == LQ_OK && c != NULL && lq_client_url(c)->tls);
    CHECKF(tb_str(&g_log)[0] != '0' && !strstr(tb_str(&g_log), "\n0 "), "no error logged (%s)", tb_str(&g_log));
    lq_client_destroy(c);
    CHECK(st.connects == 0 && st.closes == 0);
#else
    (void)tr;
    (void)st;
#endif
    tb_free(&g_log);
}

/* parse-server reports a failed afterLiveQueryEvent trigger or permission check for one event as
   {"op":"error",...,"reconnect":false,"requestId":R} and keeps the subscription: the error goes to
   that subscription, which stays live, and a second one does not touch the client. */
static void t_event_error_keeps_the_subscription(void) {
    tu_srv s; rec r;
    lq_client *c = make(&s, &r, NULL);
    int e, n;
    sub(c, "GameScore", NULL, NULL);
    sub(c, "Player", NULL, NULL);
    tu_srv_connect(&s);
    tu_srv_text(&s, "{\"op\":\"subscribed\",\"clientId\":\"abc\",\"requestId\":1}");
    tu_srv_text(&s, "{\"op\":\"subscribed\",\"clientId\":\"abc\",\"requestId\":2}");
    n = s.nsent;
    tu_srv_text(&s, "{\"op\":\"error\",\"error\":\"afterEvent threw\",\"code\":141,\"reconnect\":false,\"requestId\":1}");
    e = find(&r, LQ_EVENT_ERROR, 0);
    CHECK(e >= 0 && r.rid[e] == 1 && r.code[e] == 141 && !r.flag[e]);
    CHECK(strcmp(r.text[e], "afterEvent threw") == 0);
    tu_srv_text(&s, "{\"op\":\"error\",\"error\":\"afterEvent threw\",\"code\":141,\"reconnect\":false,\"requestId\":1}");
    e = find(&r, LQ_EVENT_ERROR, e + 1);
    CHECK(e >= 0 && r.rid[e] == 1 && !r.flag[e]);
    CHECK(count(&r, LQ_EVENT_UNSUBSCRIBED) == 0 && count(&r, LQ_EVENT_CLOSE) == 0);
    CHECK(lq_client_state(c) == LQ_STATE_CONNECTED && lq_subscription_count(c) == 2);
    CHECK(s.nsent == n && s.closes == 0);                   /* nothing sent, no reconnect */
    tu_srv_text(&s, "{\"op\":\"create\",\"clientId\":\"abc\",\"requestId\":1,\"object\":{\"objectId\":\"a\"}}");
    CHECK(count(&r, LQ_EVENT_CREATE) == 1);                 /* the next event still arrives */
    /* a requestId the client does not know: reported, nothing else */
    tu_srv_text(&s, "{\"op\":\"error\",\"error\":\"stale\",\"code\":141,\"reconnect\":false,\"requestId\":9}");
    e = find(&r, LQ_EVENT_ERROR, e + 1);
    CHECK(e >= 0 && r.rid[e] == 0 && !r.flag[e]);
    CHECK(lq_client_state(c) == LQ_STATE_CONNECTED && lq_subscription_count(c) == 2 && s.closes == 0);
    finish(&s);
}

/* The server's Close before "connected" leaves the link in DRAIN while the state is CONNECTING:
   past the connect deadline the timeout must not be 0 while the tick has nothing to do. */
static void t_no_spin_draining_while_connecting(void) {
    tu_srv s; rec r;
    lq_desc d;
    lq_client *c;
    int zero = 0, i;
    memset(&d, 0, sizeof d);
    d.connect_timeout_ms = 10000;
    d.close_timeout_ms = 3000;
    c = make(&s, &r, &d);
    tu_srv_tick(&s, 9500);
    tu_srv_accept(&s);
    tu_srv_feed(&s, "\x88\x02\x03\xe9", 4);                        /* Close 1001 before connected */
    for (i = 0; i < 4000 && lq_core_io(c) != LQ_IO_CLOSE; i++) {
        int64_t t = lq_core_timeout(c, s.now);
        if (t == 0) zero++;
        tu_srv_tick(&s, t > 0 ? (uint64_t)t : 1);
    }
    CHECK(zero <= 2);
    CHECK(lq_core_io(c) == LQ_IO_CLOSE);
    finish(&s);
}

/* While the link waits for the caller to connect (LQ_IO_CONNECT), lq_core_timeout is the time to
   the connect deadline, not 0: a core user checks lq_core_io after each call instead. */
static void t_timeout_while_the_caller_connects(void) {
    tu_srv s; rec r;
    lq_desc d;
    lq_client *c;
    int e;
    memset(&d, 0, sizeof d);
    d.connect_timeout_ms = 5000;
    c = make(&s, &r, &d);
    CHECK(lq_core_io(c) == LQ_IO_CONNECT && lq_core_timeout(c, s.now) == 5000);
    tu_srv_tick(&s, 1500);
    CHECK(lq_core_io(c) == LQ_IO_CONNECT && lq_core_timeout(c, s.now) == 3500);
    tu_srv_tick(&s, 3499);
    CHECK(lq_core_io(c) == LQ_IO_CONNECT && lq_core_timeout(c, s.now) == 1);
    tu_srv_tick(&s, 1);                                     /* the deadline: the attempt is given up */
    CHECK(lq_core_io(c) == LQ_IO_CLOSE && lq_core_timeout(c, s.now) == 0);
    tu_srv_drop(&s);
    e = find(&r, LQ_EVENT_ERROR, 0);
    CHECK(e >= 0 && strstr(r.text[e], "5000 ms") != NULL && !r.flag[e]);
    CHECK(r.n > 0 && r.type[r.n - 1] == LQ_EVENT_RECONNECTING);
    CHECK(r.n > 0 && lq_core_io(c) == LQ_IO_NONE && lq_core_timeout(c, s.now) == (int64_t)r.delay[r.n - 1]);
    tu_srv_tick(&s, r.n > 0 ? r.delay[r.n - 1] : 0);
    CHECK(lq_core_io(c) == LQ_IO_CONNECT && lq_core_timeout(c, s.now) == 5000);   /* a fresh deadline */
    tu_srv_accept(&s);                                      /* the deadline covers the handshake too */
    CHECK(lq_core_io(c) == LQ_IO_NONE && lq_core_timeout(c, s.now) == 5000);
    finish(&s);
}

/* no_reconnect: a lost link ends every subscription before CLOSE, as lq_close does. */
static void t_no_reconnect_order(void) {
    tu_srv s; rec r;
    lq_desc d;
    lq_client *c;
    int cl;
    memset(&d, 0, sizeof d);
    d.no_reconnect = true;
    c = make(&s, &r, &d);
    sub(c, "GameScore", NULL, NULL);
    sub(c, "Player", NULL, NULL);
    tu_srv_connect(&s);
    tu_srv_text(&s, "{\"op\":\"subscribed\",\"clientId\":\"abc\",\"requestId\":1}");
    tu_srv_drop(&s);
    cl = find(&r, LQ_EVENT_CLOSE, 0);
    CHECK(cl >= 0 && r.code[cl] == 1006 && count(&r, LQ_EVENT_CLOSE) == 1);
    CHECK(count(&r, LQ_EVENT_UNSUBSCRIBED) == 2 && find(&r, LQ_EVENT_UNSUBSCRIBED, cl) < 0);
    CHECK(lq_client_state(c) == LQ_STATE_DISCONNECTED && lq_subscription_count(c) == 0);
    tu_srv_tick(&s, 1000);
    CHECK(count(&r, LQ_EVENT_CLOSE) == 1);
    finish(&s);
}

/* A live subscription whose update is still queued (the output queue is full) keeps getting the
   old query's events: the server has not been told yet. */
static void t_events_while_update_queued(void) {
    tu_srv s; rec r;
    lq_client *c = make(&s, &r, NULL);
    lq_sub a;
    lq_query q;
    char big[70000];
    a = sub(c, "GameScore", NULL, NULL);
    tu_srv_connect(&s);
    tu_srv_text(&s, "{\"op\":\"subscribed\",\"clientId\":\"abc\",\"requestId\":1}");
    memset(big, 'x', sizeof big - 1);                       /* a subscribe that fills the queue */
    big[sizeof big - 1] = 0;
    memset(&q, 0, sizeof q);
    q.class_name = "Player";
    q.session_token = big;
    CHECK(lq_subscribe(c, &q, NULL) == LQ_OK);
    memset(&q, 0, sizeof q);
    q.class_name = "GameScore";
    q.where = "{\"score\":1}";
    CHECK(lq_update(c, a, &q) == LQ_OK);
    {                                                       /* not sent yet: not in the queue */
        size_t n;
        const unsigned char *p = (const unsigned char *)lq_core_peek(c, &n);
        tu_cframes fs;
        int i, updates = 0;
        tu_parse_client(p, n, &fs);
        for (i = 0; i < fs.n; i++) updates += strstr((const char *)fs.f[i].payload, "\"op\":\"update\"") != NULL;
        CHECK(n >= 65536 && fs.n >= 1 && fs.trailing == 0 && updates == 0);
        tu_cframes_free(&fs);
    }
    lq_core_feed(c, "\x81\x48{\"op\":\"create\",\"clientId\":\"abc\",\"requestId\":1,\"object\":{\"objectId\":\"q\"}}", 74, s.now);
    CHECK(count(&r, LQ_EVENT_CREATE) == 1);
    tu_srv_drain(&s);                                       /* the queue drains: the update goes */
    CHECK(s.nsent >= 1 && strncmp(s.sent[s.nsent - 1], "{\"op\":\"update\",\"requestId\":1,", 29) == 0);
    finish(&s);
}

/* The random source fails for the WebSocket key: the ERROR says so (LQ_ERR_IO), not "out of
   memory"; nothing is sent, and the next attempt goes on. */
static void t_random_fails_for_the_key(void) {
    tu_srv s; rec r;
    lq_client *c = make(&s, &r, NULL);
    size_t n;
    int e;
    CHECK(lq_core_io(c) == LQ_IO_CONNECT);
    fake_random_fails = true;
    lq_core_opened(c, s.now);
    fake_random_fails = false;
    lq_core_peek(c, &n);
    CHECK(n == 0 && lq_core_io(c) == LQ_IO_CLOSE);          /* no request without a key */
    tu_srv_drop(&s);
    e = find(&r, LQ_EVENT_ERROR, 0);
    CHECK(e >= 0 && r.result[e] == LQ_ERR_IO && strstr(r.text[e], "random") != NULL);
    CHECK(strstr(lq_error_message(c), "random") != NULL);
    CHECK(r.n > 0 && r.type[r.n - 1] == LQ_EVENT_RECONNECTING);
    tu_srv_tick(&s, r.n > 0 ? r.delay[r.n - 1] : 0);
    tu_srv_connect(&s);
    CHECK(lq_client_state(c) == LQ_STATE_CONNECTED);
    finish(&s);
}

int main(void) {
    tu_harness_init(&g_mem);
    t_long_ipv6_host_rejected();
    t_big_request_waits_for_the_queue();
    t_unsubscribe_waits_for_the_subscribe_answer();
    t_ping_timer_waits_for_output();
    t_big_message_memory_returned();
    t_no_busy_loop_while_connecting();
    t_where_builder();
    t_subscribe_before_connected();
    t_backoff_sequence();
    t_endpoints();
    t_endpoints_refused();
    t_backoff_resets_on_subscribed();
    t_resubscribe_same_ids();
    t_fatal_errors_do_not_loop();
    t_error_routing();
    t_dead_link_and_ping();
    t_server_ping_answered();
    t_close();
    t_unsubscribe_and_update();
    t_object_events_from_captured_frames();
    t_event_read_api();
    t_installation_id_and_fields();
    t_bad_input_and_limits();
    t_close_inside_callback();
    t_event_error_keeps_the_subscription();
    t_no_spin_draining_while_connecting();
    t_no_reconnect_order();
    t_timeout_while_the_caller_connects();
    t_random_fails_for_the_key();
    t_create_failures_are_logged();
    t_events_while_update_queued();
    return tu_report("core");
}
