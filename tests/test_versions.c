/* Every Parse Server version without configuration, on the I/O-free core with scripted answers:
   the key list is "fields" up to 6.5 and "keys" from 6.1, watch needs 6.1, and the server refuses
   the other with code 1 "Additional properties not allowed" and requestId null (measured:
   tests/versions/server-facts.md). The client sends a refused subscribe again in the other
   spelling or without watch (then filters the events itself), with no ERROR and one SUBSCRIBED. */
#define LIVEQUERY_IMPLEMENTATION
#include "../livequery.h"
#include "testutil.h"

#define REFUSAL "{\"op\":\"error\",\"error\":\"Additional properties not allowed\",\"code\":1,\"reconnect\":true,\"requestId\":null}"

static bool fake_random(void *buf, size_t len, void *user) {
    unsigned char *p = (unsigned char *)buf;
    size_t i;
    (void)user;
    for (i = 0; i < len; i++) p[i] = (unsigned char)(i * 7 + 1);
    return true;
}

typedef struct rec {
    lq_event_type type[128];
    int32_t rid[128];
    char text[128][256];        /* the object, or the error message */
    int n;
    lq_client *c;
    lq_sub update_on_subscribed;    /* lq_update this one inside its first SUBSCRIBED */
    const lq_query *update_query;
} rec;

static void on_event(lq_client *c, const lq_event *ev, void *user) {
    rec *r = (rec *)user;
    if (r->n >= 128) return;
    r->type[r->n] = ev->type;
    r->rid[r->n] = ev->request_id;
    r->text[r->n][0] = 0;
    if (ev->type == LQ_EVENT_ERROR) snprintf(r->text[r->n], sizeof r->text[0], "%s", ev->error_message);
    if (lq_json_exists(ev->object)) {
        size_t n;
        const char *raw = lq_json_raw(ev->object, &n);
        snprintf(r->text[r->n], sizeof r->text[0], "%.*s", (int)n, raw);
    }
    r->n++;
    if (ev->type == LQ_EVENT_SUBSCRIBED && r->update_query && ev->sub.id == r->update_on_subscribed.id) {
        CHECK(lq_update(c, ev->sub, r->update_query) == LQ_OK);
        r->update_query = NULL;
    }
}

static int count(const rec *r, lq_event_type t, int32_t rid) {
    int i, n = 0;
    for (i = 0; i < r->n; i++) n += r->type[i] == t && (rid < 0 || r->rid[i] == rid);
    return n;
}

static tu_harness g_mem;

static lq_client *make(tu_srv *s, rec *r, bool use_fields) {
    lq_desc d;
    tu_srv_init(s, 1000);
    memset(r, 0, sizeof *r);
    memset(&d, 0, sizeof d);
    d.server_url = "ws://127.0.0.1:1337/parse";
    d.application_id = "app";
    d.random = fake_random;
    d.on_event = on_event;
    d.user_data = r;
    d.use_fields = use_fields;
    tu_use_alloc(&d, &g_mem);
    CHECK(lq_client_create(&d, &s->c) == LQ_OK);
    r->c = s->c;
    tu_srv_tick(s, 0);
    return s->c;
}

static void finish(tu_srv *s) {
    lq_client_destroy(s->c);
    s->c = NULL;
    tu_srv_free(s);
    CHECKF(g_mem.live == 0, "%lu bytes left after lq_client_destroy", (unsigned long)g_mem.live);
}

/* A query on GameScore; keys and watch as comma-separated lists ("" for none). */
typedef struct qbuf {
    lq_query q;
    char text[2][128];
    const char *items[2][8];
} qbuf;

static int split(char *s, const char **out) {
    int n = 0;
    char *p = s;
    if (!*s) return 0;
    for (;;) {
        char *e = strchr(p, ',');
        out[n++] = p;
        if (!e || n == 8) break;
        *e = 0;
        p = e + 1;
    }
    return n;
}

static const lq_query *query(qbuf *b, const char *where, const char *keys, const char *watch) {
    memset(b, 0, sizeof *b);
    snprintf(b->text[0], sizeof b->text[0], "%s", keys);
    snprintf(b->text[1], sizeof b->text[1], "%s", watch);
    b->q.class_name = "GameScore";
    b->q.where = where;
    b->q.num_keys = split(b->text[0], b->items[0]);
    b->q.keys = b->q.num_keys ? b->items[0] : NULL;
    b->q.num_watch = split(b->text[1], b->items[1]);
    b->q.watch = b->q.num_watch ? b->items[1] : NULL;
    return &b->q;
}

static lq_sub subscribe(lq_client *c, const char *keys, const char *watch) {
    qbuf b;
    lq_sub h;
    CHECK(lq_subscribe(c, query(&b, NULL, keys, watch), &h) == LQ_OK);
    return h;
}

static const char *last(const tu_srv *s) { return s->nsent ? s->sent[s->nsent - 1] : ""; }

static bool sent_is(const tu_srv *s, int i, const char *want) {
    return CHECKF(i >= 0 && i < s->nsent && strcmp(s->sent[i], want) == 0, "message %d: %s\n   want %s", i,
                  i >= 0 && i < s->nsent ? s->sent[i] : "(none)", want);
}

#define SUB(id, rest) "{\"op\":\"subscribe\",\"requestId\":" #id ",\"query\":{\"className\":\"GameScore\",\"where\":{}" rest "}}"
#define UPD(id, rest) "{\"op\":\"update\",\"requestId\":" #id ",\"query\":{\"className\":\"GameScore\",\"where\":{}" rest "}}"
#define SUBSCRIBED(id) "{\"op\":\"subscribed\",\"clientId\":\"abc\",\"requestId\":" #id "}"

/* Parse Server 6.0: a key list is "fields". keys -> fields, silently, and remembered. */
static void t_keys_to_fields(void) {
    tu_srv s; rec r;
    lq_client *c = make(&s, &r, false);
    int base;
    subscribe(c, "score", "");
    tu_srv_connect(&s);
    sent_is(&s, 1, SUB(1, ",\"keys\":[\"score\"]"));
    tu_srv_text(&s, REFUSAL);
    sent_is(&s, 2, SUB(1, ",\"fields\":[\"score\"]"));
    CHECK(count(&r, LQ_EVENT_ERROR, -1) == 0 && lq_client_state(c) == LQ_STATE_CONNECTED);
    tu_srv_text(&s, SUBSCRIBED(1));
    CHECK(count(&r, LQ_EVENT_SUBSCRIBED, 1) == 1);
    base = s.nsent;
    subscribe(c, "score,playerName", "");                  /* learned: fields at once */
    tu_srv_drain(&s);
    CHECK(s.nsent == base + 1);
    sent_is(&s, base, SUB(2, ",\"fields\":[\"score\",\"playerName\"]"));
    tu_srv_text(&s, SUBSCRIBED(2));
    tu_srv_text(&s, "{\"op\":\"create\",\"requestId\":2,\"object\":{\"objectId\":\"a\",\"score\":1}}");
    CHECK(count(&r, LQ_EVENT_CREATE, 2) == 1 && count(&r, LQ_EVENT_SUBSCRIBED, -1) == 2);
    CHECK(count(&r, LQ_EVENT_ERROR, -1) == 0);
    finish(&s);
}

/* Parse Server 7 and later: use_fields set, "fields" refused: keys. */
static void t_fields_to_keys(void) {
    tu_srv s; rec r;
    lq_client *c = make(&s, &r, true);
    subscribe(c, "score", "");
    tu_srv_connect(&s);
    sent_is(&s, 1, SUB(1, ",\"fields\":[\"score\"]"));
    tu_srv_text(&s, REFUSAL);
    sent_is(&s, 2, SUB(1, ",\"keys\":[\"score\"]"));
    tu_srv_text(&s, SUBSCRIBED(1));
    CHECK(count(&r, LQ_EVENT_SUBSCRIBED, 1) == 1 && count(&r, LQ_EVENT_ERROR, -1) == 0);
    CHECK(s.nsent == 3);
    finish(&s);
}

/* A server that refuses both spellings: nothing left to try. The refusal ends that subscription
   only (it is the probe's), with one fatal ERROR; the client and its other subscriptions stay. */
static void t_both_spellings_refused(void) {
    tu_srv s; rec r;
    lq_client *c = make(&s, &r, false);
    subscribe(c, "", "");
    subscribe(c, "score", "");
    tu_srv_connect(&s);
    tu_srv_text(&s, SUBSCRIBED(1));
    tu_srv_text(&s, REFUSAL);
    sent_is(&s, 3, SUB(2, ",\"fields\":[\"score\"]"));
    tu_srv_text(&s, REFUSAL);
    tu_srv_tick(&s, 0);
    CHECK(count(&r, LQ_EVENT_ERROR, 2) == 1 && count(&r, LQ_EVENT_UNSUBSCRIBED, 2) == 1);
    CHECK(count(&r, LQ_EVENT_SUBSCRIBED, 2) == 0 && count(&r, LQ_EVENT_ERROR, -1) == 1);
    CHECK(lq_client_state(c) == LQ_STATE_CONNECTED && lq_subscription_count(c) == 1);
    CHECK(s.nsent == 4 && s.closes == 0);
    finish(&s);
}

/* Parse Server 6.0 and keys + watch: refused, fields + watch refused, then fields without watch,
   the list bringing the watched key; the client filters creates and updates as the server would. */
static void t_watch_emulated(void) {
    tu_srv s; rec r;
    lq_client *c = make(&s, &r, false);
    int n;
    subscribe(c, "score", "playerName,score");
    tu_srv_connect(&s);
    sent_is(&s, 1, SUB(1, ",\"keys\":[\"score\"],\"watch\":[\"playerName\",\"score\"]"));
    tu_srv_text(&s, REFUSAL);
    sent_is(&s, 2, SUB(1, ",\"fields\":[\"score\"],\"watch\":[\"playerName\",\"score\"]"));
    tu_srv_text(&s, REFUSAL);
    sent_is(&s, 3, SUB(1, ",\"fields\":[\"score\",\"playerName\"]"));
    tu_srv_text(&s, SUBSCRIBED(1));
    CHECK(count(&r, LQ_EVENT_SUBSCRIBED, 1) == 1 && count(&r, LQ_EVENT_ERROR, -1) == 0);
    n = r.n;
    tu_srv_text(&s, "{\"op\":\"update\",\"requestId\":1,\"object\":{\"objectId\":\"a\",\"score\":2,\"playerName\":\"x\",\"updatedAt\":\"t2\"},"
                    "\"original\":{\"objectId\":\"a\",\"score\":2,\"playerName\":\"x\",\"updatedAt\":\"t1\"}}");
    CHECK(r.n == n);                                        /* nothing watched changed: dropped */
    tu_srv_text(&s, "{\"op\":\"update\",\"requestId\":1,\"object\":{\"objectId\":\"a\",\"score\":3,\"playerName\":\"x\"},"
                    "\"original\":{\"objectId\":\"a\",\"score\":2,\"playerName\":\"x\"}}");
    CHECK(r.n == n + 1 && r.type[n] == LQ_EVENT_UPDATE && strstr(r.text[n], "\"score\":3") != NULL);
    tu_srv_text(&s, "{\"op\":\"update\",\"requestId\":1,\"object\":{\"objectId\":\"a\",\"score\":3,\"playerName\":\"y\"},"
                    "\"original\":{\"objectId\":\"a\",\"score\":3}}");
    CHECK(r.n == n + 2 && r.type[n + 1] == LQ_EVENT_UPDATE);   /* a watched key appeared */
    tu_srv_text(&s, "{\"op\":\"update\",\"requestId\":1,\"object\":{\"objectId\":\"a\",\"score\":3},"
                    "\"original\":{\"objectId\":\"a\",\"score\":3,\"playerName\":\"y\"}}");
    CHECK(r.n == n + 3 && r.type[n + 2] == LQ_EVENT_UPDATE);   /* ... or went away */
    tu_srv_text(&s, "{\"op\":\"update\",\"requestId\":1,\"object\":{\"objectId\":\"a\",\"score\":3}}");
    CHECK(r.n == n + 4 && r.type[n + 3] == LQ_EVENT_UPDATE);   /* no original: cannot compare, kept */
    tu_srv_text(&s, "{\"op\":\"update\",\"requestId\":1,\"object\":{\"objectId\":\"a\"},\"original\":null}");
    CHECK(r.n == n + 5 && r.type[n + 4] == LQ_EVENT_UPDATE);   /* even with no watched key */
    tu_srv_text(&s, "{\"op\":\"create\",\"requestId\":1,\"object\":{\"objectId\":\"b\",\"tags\":[1]}}");
    CHECK(r.n == n + 5);                                    /* a create without a watched key */
    tu_srv_text(&s, "{\"op\":\"create\",\"requestId\":1,\"object\":{\"objectId\":\"c\",\"playerName\":\"z\"}}");
    CHECK(r.n == n + 6 && r.type[n + 5] == LQ_EVENT_CREATE);
    tu_srv_text(&s, "{\"op\":\"enter\",\"requestId\":1,\"object\":{\"objectId\":\"a\",\"score\":3},\"original\":{\"objectId\":\"a\",\"score\":3}}");
    tu_srv_text(&s, "{\"op\":\"leave\",\"requestId\":1,\"object\":{\"objectId\":\"a\",\"score\":3},\"original\":{\"objectId\":\"a\",\"score\":3}}");
    tu_srv_text(&s, "{\"op\":\"delete\",\"requestId\":1,\"object\":{\"objectId\":\"a\",\"score\":3}}");
    CHECK(r.n == n + 9 && r.type[n + 6] == LQ_EVENT_ENTER && r.type[n + 7] == LQ_EVENT_LEAVE && r.type[n + 8] == LQ_EVENT_DELETE);
    CHECK(count(&r, LQ_EVENT_ERROR, -1) == 0);
    finish(&s);
}

/* watch alone on 6.0: sent again without it and with no key list (the objects are whole). A
   later subscription with watch goes without it at once. */
static void t_watch_only(void) {
    tu_srv s; rec r;
    lq_client *c = make(&s, &r, false);
    int n, base;
    subscribe(c, "", "score");
    tu_srv_connect(&s);
    sent_is(&s, 1, SUB(1, ",\"watch\":[\"score\"]"));
    tu_srv_text(&s, REFUSAL);
    sent_is(&s, 2, SUB(1, ""));
    tu_srv_text(&s, SUBSCRIBED(1));
    base = s.nsent;
    subscribe(c, "", "playerName");
    tu_srv_drain(&s);
    sent_is(&s, base, SUB(2, ""));
    tu_srv_text(&s, SUBSCRIBED(2));
    n = r.n;
    tu_srv_text(&s, "{\"op\":\"update\",\"requestId\":2,\"object\":{\"score\":3,\"playerName\":\"x\"},\"original\":{\"score\":2,\"playerName\":\"x\"}}");
    tu_srv_text(&s, "{\"op\":\"update\",\"requestId\":1,\"object\":{\"score\":3,\"playerName\":\"x\"},\"original\":{\"score\":2,\"playerName\":\"x\"}}");
    CHECK(r.n == n + 1 && r.rid[n] == 1);                   /* 2 watches playerName: unchanged */
    CHECK(count(&r, LQ_EVENT_SUBSCRIBED, -1) == 2 && count(&r, LQ_EVENT_ERROR, -1) == 0);
    finish(&s);
}

/* On a server with watch, nothing is emulated: the server's events pass as they are. */
static void t_watch_native(void) {
    tu_srv s; rec r;
    lq_client *c = make(&s, &r, false);
    subscribe(c, "score", "playerName");
    tu_srv_connect(&s);
    tu_srv_text(&s, SUBSCRIBED(1));
    tu_srv_text(&s, "{\"op\":\"update\",\"requestId\":1,\"object\":{\"score\":3},\"original\":{\"score\":3}}");
    CHECK(count(&r, LQ_EVENT_UPDATE, 1) == 1);
    finish(&s);
}

/* Parse Server answers a refusal at once and a subscribe later (8.x and 9.x: the refusal of the
   third request came before the subscribed of the first two): requests that carry what this
   connection has not seen accepted go one at a time, the rest go at once. */
static void t_several_in_flight(void) {
    tu_srv s; rec r;
    lq_client *c = make(&s, &r, false);
    int base;
    subscribe(c, "score", "");                              /* 1 */
    subscribe(c, "", "");                                   /* 2 */
    subscribe(c, "playerName", "");                         /* 3 */
    subscribe(c, "score", "score");                         /* 4 */
    subscribe(c, "", "");                                   /* 5 */
    tu_srv_connect(&s);
    CHECK(s.nsent == 4);
    sent_is(&s, 1, SUB(1, ",\"keys\":[\"score\"]"));
    sent_is(&s, 2, SUB(2, ""));
    sent_is(&s, 3, SUB(5, ""));
    tu_srv_text(&s, REFUSAL);                               /* 1's: the only one that could be */
    CHECK(s.nsent == 5);
    sent_is(&s, 4, SUB(1, ",\"fields\":[\"score\"]"));
    tu_srv_text(&s, SUBSCRIBED(5));
    tu_srv_text(&s, SUBSCRIBED(2));
    CHECK(s.nsent == 5);                                    /* fields not accepted yet */
    tu_srv_text(&s, SUBSCRIBED(1));                         /* now it is: 3 goes, 4 probes watch */
    CHECK(s.nsent == 7);
    sent_is(&s, 5, SUB(3, ",\"fields\":[\"playerName\"]"));
    sent_is(&s, 6, SUB(4, ",\"fields\":[\"score\"],\"watch\":[\"score\"]"));
    tu_srv_text(&s, SUBSCRIBED(3));
    tu_srv_text(&s, REFUSAL);
    sent_is(&s, 7, SUB(4, ",\"fields\":[\"score\"]"));      /* score is in the list already */
    tu_srv_text(&s, SUBSCRIBED(4));
    CHECK(count(&r, LQ_EVENT_SUBSCRIBED, 1) == 1 && count(&r, LQ_EVENT_SUBSCRIBED, 2) == 1 &&
          count(&r, LQ_EVENT_SUBSCRIBED, 3) == 1 && count(&r, LQ_EVENT_SUBSCRIBED, 4) == 1 &&
          count(&r, LQ_EVENT_SUBSCRIBED, 5) == 1);
    CHECK(count(&r, LQ_EVENT_ERROR, -1) == 0 && count(&r, LQ_EVENT_UNSUBSCRIBED, -1) == 0);
    base = s.nsent;
    subscribe(c, "score", "score");                         /* all known: at once, as learned */
    tu_srv_drain(&s);
    sent_is(&s, base, SUB(6, ",\"fields\":[\"score\"]"));
    finish(&s);
}

/* A refusal that names the probe's requestId is the same thing; one that names another request,
   or comes with no probe in flight, is reported as before (here: the subscription ends, fatal). */
static void t_refusal_with_request_id(void) {
    tu_srv s; rec r;
    lq_client *c = make(&s, &r, false);
    subscribe(c, "score", "");
    subscribe(c, "", "");
    tu_srv_connect(&s);
    tu_srv_text(&s, "{\"op\":\"error\",\"error\":\"Additional properties not allowed\",\"code\":1,\"reconnect\":true,\"requestId\":1}");
    sent_is(&s, 3, SUB(1, ",\"fields\":[\"score\"]"));
    CHECK(count(&r, LQ_EVENT_ERROR, -1) == 0);
    tu_srv_text(&s, "{\"op\":\"error\",\"error\":\"Additional properties not allowed\",\"code\":1,\"reconnect\":true,\"requestId\":2}");
    tu_srv_tick(&s, 0);
    CHECK(count(&r, LQ_EVENT_ERROR, 2) == 1 && count(&r, LQ_EVENT_UNSUBSCRIBED, 2) == 1);
    CHECK(s.nsent == 4 && lq_client_state(c) == LQ_STATE_CONNECTED);
    tu_srv_text(&s, SUBSCRIBED(1));
    CHECK(count(&r, LQ_EVENT_SUBSCRIBED, 1) == 1);
    tu_srv_text(&s, REFUSAL);                               /* nothing in flight: the client's */
    CHECK(count(&r, LQ_EVENT_ERROR, -1) == 2 && lq_client_state(c) == LQ_STATE_DISCONNECTED);
    finish(&s);
}

/* lq_update follows the same rules: an update op with a key list on 7+ (use_fields) is refused
   and sent again with keys; the old query stays live meanwhile. An update made inside the
   SUBSCRIBED of a refused-then-accepted subscribe goes in the learned spelling. */
static void t_update_refused(void) {
    tu_srv s; rec r;
    lq_client *c = make(&s, &r, true);
    qbuf b;
    lq_sub a = subscribe(c, "", "");
    tu_srv_connect(&s);
    tu_srv_text(&s, SUBSCRIBED(1));
    CHECK(lq_update(c, a, query(&b, "{\"score\":1}", "score", "")) == LQ_OK);
    tu_srv_drain(&s);
    CHECK(strcmp(last(&s), "{\"op\":\"update\",\"requestId\":1,\"query\":{\"className\":\"GameScore\",\"where\":{\"score\":1},\"fields\":[\"score\"]}}") == 0);
    tu_srv_text(&s, REFUSAL);
    CHECK(strcmp(last(&s), "{\"op\":\"update\",\"requestId\":1,\"query\":{\"className\":\"GameScore\",\"where\":{\"score\":1},\"keys\":[\"score\"]}}") == 0);
    tu_srv_text(&s, "{\"op\":\"create\",\"requestId\":1,\"object\":{\"score\":5}}");
    CHECK(count(&r, LQ_EVENT_CREATE, 1) == 1);              /* the old query's */
    tu_srv_text(&s, SUBSCRIBED(1));
    CHECK(count(&r, LQ_EVENT_SUBSCRIBED, 1) == 2 && count(&r, LQ_EVENT_ERROR, -1) == 0);
    finish(&s);

    c = make(&s, &r, false);
    r.update_on_subscribed = subscribe(c, "score", "");
    r.update_query = query(&b, NULL, "playerName", "");
    tu_srv_connect(&s);
    tu_srv_text(&s, REFUSAL);
    tu_srv_text(&s, SUBSCRIBED(1));
    sent_is(&s, 3, UPD(1, ",\"fields\":[\"playerName\"]"));
    tu_srv_text(&s, SUBSCRIBED(1));
    CHECK(count(&r, LQ_EVENT_SUBSCRIBED, 1) == 2 && count(&r, LQ_EVENT_ERROR, -1) == 0);
    finish(&s);
}

/* The query changes while the refused subscribe is in flight: the retry carries the new one. An
   unsubscribe while it is in flight: the refused subscription just ends (the server never had
   it; no unsubscribe is sent), without SUBSCRIBED or ERROR. */
static void t_changed_while_in_flight(void) {
    tu_srv s; rec r;
    lq_client *c = make(&s, &r, false);
    qbuf b;
    lq_sub a = subscribe(c, "score", "");
    tu_srv_connect(&s);
    CHECK(lq_update(c, a, query(&b, "{\"score\":2}", "score,playerName", "")) == LQ_OK);
    tu_srv_drain(&s);
    CHECK(s.nsent == 2);
    tu_srv_text(&s, REFUSAL);
    CHECK(strcmp(last(&s), "{\"op\":\"subscribe\",\"requestId\":1,\"query\":{\"className\":\"GameScore\",\"where\":{\"score\":2},\"fields\":[\"score\",\"playerName\"]}}") == 0);
    tu_srv_text(&s, SUBSCRIBED(1));
    CHECK(s.nsent == 3 && count(&r, LQ_EVENT_SUBSCRIBED, 1) == 1);
    finish(&s);

    c = make(&s, &r, false);
    a = subscribe(c, "score", "");
    tu_srv_connect(&s);
    CHECK(lq_unsubscribe(c, a) == LQ_OK);
    tu_srv_drain(&s);
    tu_srv_text(&s, REFUSAL);
    tu_srv_tick(&s, 0);
    CHECK(s.nsent == 2 && count(&r, LQ_EVENT_UNSUBSCRIBED, 1) == 1);
    CHECK(count(&r, LQ_EVENT_SUBSCRIBED, -1) == 0 && count(&r, LQ_EVENT_ERROR, -1) == 0);
    CHECK(lq_subscription_count(c) == 0 && lq_client_state(c) == LQ_STATE_CONNECTED);
    finish(&s);
}

/* Another answer to the probe (an invalid session token) lets the next one go. */
static void t_probe_answered_by_an_error(void) {
    tu_srv s; rec r;
    lq_client *c = make(&s, &r, false);
    subscribe(c, "score", "");
    subscribe(c, "score", "");
    tu_srv_connect(&s);
    CHECK(s.nsent == 2);
    tu_srv_text(&s, "{\"op\":\"error\",\"error\":\"Invalid session token\",\"code\":209,\"reconnect\":false,\"requestId\":1}");
    sent_is(&s, 2, SUB(2, ",\"keys\":[\"score\"]"));
    tu_srv_tick(&s, 0);
    CHECK(count(&r, LQ_EVENT_UNSUBSCRIBED, 1) == 1 && count(&r, LQ_EVENT_ERROR, 1) == 1);
    tu_srv_text(&s, SUBSCRIBED(2));
    CHECK(count(&r, LQ_EVENT_SUBSCRIBED, 2) == 1);
    finish(&s);
}

/* A new connection starts from what the last one learned (fields, watch emulated) and learns
   again, one request at a time: behind a load balancer it may be another version, which refuses
   fields and is answered with keys. */
static void t_reconnect(void) {
    tu_srv s; rec r;
    lq_client *c = make(&s, &r, false);
    int base;
    subscribe(c, "score", "playerName");
    subscribe(c, "score", "");
    tu_srv_connect(&s);
    tu_srv_text(&s, REFUSAL);
    tu_srv_text(&s, REFUSAL);
    tu_srv_text(&s, SUBSCRIBED(1));
    tu_srv_text(&s, SUBSCRIBED(2));
    CHECK(count(&r, LQ_EVENT_SUBSCRIBED, -1) == 2);
    tu_srv_drop(&s);
    tu_srv_tick(&s, 1000);
    base = s.nsent;
    tu_srv_connect(&s);
    CHECK(s.nsent == base + 2);                             /* connect, and the first alone */
    sent_is(&s, base + 1, SUB(1, ",\"fields\":[\"score\",\"playerName\"]"));
    tu_srv_text(&s, REFUSAL);                               /* this one takes keys */
    sent_is(&s, base + 2, SUB(1, ",\"keys\":[\"score\",\"playerName\"]"));
    tu_srv_text(&s, SUBSCRIBED(1));
    sent_is(&s, base + 3, SUB(2, ",\"keys\":[\"score\"]"));
    tu_srv_text(&s, SUBSCRIBED(2));
    CHECK(count(&r, LQ_EVENT_SUBSCRIBED, 1) == 2 && count(&r, LQ_EVENT_SUBSCRIBED, 2) == 2);
    CHECK(count(&r, LQ_EVENT_ERROR, -1) == 0);
    tu_srv_text(&s, "{\"op\":\"update\",\"requestId\":1,\"object\":{\"score\":3,\"playerName\":\"x\"},\"original\":{\"score\":2,\"playerName\":\"x\"}}");
    CHECK(count(&r, LQ_EVENT_UPDATE, 1) == 0);              /* still emulated */
    finish(&s);
}

/* The largest request a retry can make still fits the limit that lq_subscribe checked. */
static void t_limit_counts_the_retry(void) {
    tu_srv s; rec r;
    lq_desc d;
    lq_query q;
    char key[200];
    const char *keys[1], *watch[1];
    memset(&d, 0, sizeof d);
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = 0;
    tu_srv_init(&s, 1000);
    memset(&r, 0, sizeof r);
    d.server_url = "ws://127.0.0.1:1337/parse";
    d.application_id = "app";
    d.random = fake_random;
    d.on_event = on_event;
    d.user_data = &r;
    d.max_outgoing_bytes = 400;
    tu_use_alloc(&d, &g_mem);
    CHECK(lq_client_create(&d, &s.c) == LQ_OK);
    memset(&q, 0, sizeof q);
    q.class_name = "GameScore";
    keys[0] = "a";
    watch[0] = key;
    q.keys = keys; q.num_keys = 1;
    q.watch = watch; q.num_watch = 1;
    CHECK(lq_subscribe(s.c, &q, NULL) == LQ_ERR_LIMIT);     /* 333 bytes, 535 with the watched key listed */
    keys[0] = key;
    watch[0] = "a";
    CHECK(lq_subscribe(s.c, &q, NULL) == LQ_OK);            /* the same size, but the retry adds 4 */
    finish(&s);
}

int main(void) {
    tu_harness_init(&g_mem);
    t_keys_to_fields();
    t_fields_to_keys();
    t_both_spellings_refused();
    t_watch_emulated();
    t_watch_only();
    t_watch_native();
    t_several_in_flight();
    t_refusal_with_request_id();
    t_update_refused();
    t_changed_while_in_flight();
    t_probe_answered_by_an_error();
    t_reconnect();
    t_limit_counts_the_retry();
    return tu_report("versions");
}
