/* test_hostile.c - a hostile LiveQuery server: what the client does with messages that are valid
   WebSocket but bad LiveQuery. Invalid JSON, JSON of the wrong shape (no op, an object that is not
   an object, a requestId of no subscription, huge numbers, deep nesting, a 10 MB string), events
   before connected, duplicates, and error frames of every code.

   For every case: nothing crashes (the suite runs under ASan/UBSan), the application gets a clear
   ERROR event or the logger a clear line, nothing allocated is left after lq_client_destroy, and
   the client either stays usable (a create for a live subscription still arrives afterwards) or
   fails cleanly as shared/docs/livequery-protocol.md demands (fatal codes stop it with a Close
   1000, no reconnect; others reconnect).

   The client runs on the I/O-free core with a fake clock and random source (tests/testutil.h). */
#define LIVEQUERY_IMPLEMENTATION
#include "../livequery.h"
#include "testutil.h"

static const char PROBE[] = "{\"op\":\"create\",\"clientId\":\"" CLIENT_ID "\",\"requestId\":1,\"object\":"
                            "{\"className\":\"GameScore\",\"objectId\":\"probe\",\"score\":99}}";

typedef struct hsess {
    tu_harness h;
    lq_client *c;
    lq_sub s1, s2;                  /* requestIds 1 and 2 */
    uint64_t now;
    tbuf sent;                      /* the client's bytes after its request */
    tbuf log;                       /* logger lines */
    int unsubscribed;
} hsess;

static int fam_cases, fam_passed;
static struct { const char *name; int cases, passed; } fams[8];
static int nfams;

static void fam_begin(const char *name) {
    fams[nfams].name = name;
    nfams++;
}

static int case_before;
static void case_begin(const char *fmt, ...) TU_PRINTF(1, 2);
static void case_begin(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tu_ctx, sizeof tu_ctx, fmt, ap);
    va_end(ap);
    case_before = tu_failed;
}

static void case_end(void) {
    fams[nfams - 1].cases++;
    fam_cases++;
    if (tu_failed == case_before) { fams[nfams - 1].passed++; fam_passed++; }
    tu_ctx[0] = 0;
}

static void on_log(lq_log_level level, const char *msg, void *user) {
    hsess *s = (hsess *)user;
    tb_printf(&s->log, "%d %s\n", (int)level, msg);
}

static void on_event(lq_client *c, const lq_event *ev, void *user) {
    hsess *s = (hsess *)user;
    tu_on_event(c, ev, &s->h);
    if (ev->type == LQ_EVENT_UNSUBSCRIBED) {
        s->unsubscribed++;
        if (ev->sub.id == s->s1.id) s->s1.id = 0;
        if (ev->sub.id == s->s2.id) s->s2.id = 0;
    }
}

static void take(hsess *s) {
    size_t n;
    const void *p = lq_core_peek(s->c, &n);
    while (n) {
        tb_put(&s->sent, p, n);
        lq_core_consume(s->c, n);
        p = lq_core_peek(s->c, &n);
    }
}

static void feed_raw(hsess *s, const void *p, size_t n) {
    lq_core_feed(s->c, p, n, s->now);
    take(s);
}

static void feed_text(hsess *s, const char *json, size_t n) {
    tbuf b = {0};
    tu_frame(&b, 0x81, json, n);
    feed_raw(s, b.p, b.len);
    tb_free(&b);
}

static void feed_json(hsess *s, const char *json) { feed_text(s, json, strlen(json)); }

/* Creates a client with subscriptions 1 and 2; upto: 0 transport opened, 1 after the 101,
   2 connected, 3 both subscribed. */
static void sess_open(hsess *s, int upto, size_t max_message) {
    lq_desc d;
    lq_query q;
    char key[64], accept[32];
    tbuf b = {0};
    memset(s, 0, sizeof *s);
    tu_harness_init(&s->h);
    s->now = 1000;
    memset(&d, 0, sizeof d);
    d.server_url = "ws://127.0.0.1:1337/parse";
    d.application_id = "myAppId";
    d.javascript_key = "myJsKey";
    d.on_event = on_event;
    d.user_data = s;
    d.random = tu_random_cb;
    d.log = on_log;
    d.allocator.alloc = tu_alloc;
    d.allocator.free = tu_free;
    d.allocator.user_data = &s->h;
    d.max_message_bytes = max_message;
    if (lq_client_create(&d, &s->c) != LQ_OK) { CHECKF(false, "create"); return; }
    /* the fake random source reads the harness: hand it over (d.user_data is the session) */
    memset(&q, 0, sizeof q);
    q.class_name = "GameScore";
    q.where = "{\"score\":{\"$gt\":10}}";
    CHECKF(lq_subscribe(s->c, &q, &s->s1) == LQ_OK, "subscribe 1");
    q.class_name = "Player";
    CHECKF(lq_subscribe(s->c, &q, &s->s2) == LQ_OK, "subscribe 2");
    lq_core_tick(s->c, s->now);
    lq_core_opened(s->c, s->now);
    tb_reset(&b);
    {
        size_t n;
        const char *p = (const char *)lq_core_peek(s->c, &n);
        tb_put(&b, p, n);
        lq_core_consume(s->c, n);
    }
    tu_http_header(tb_str(&b), "Sec-WebSocket-Key", key, sizeof key);
    tu_ws_accept(key, accept);
    tb_reset(&b);
    if (upto >= 1) {
        tb_printf(&b, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Accept: %s\r\n\r\n", accept);
        feed_raw(s, b.p, b.len);
    }
    if (upto >= 2) feed_json(s, CONNECTED);
    if (upto >= 3) {
        feed_json(s, "{\"op\":\"subscribed\",\"clientId\":\"" CLIENT_ID "\",\"requestId\":1}");
        feed_json(s, "{\"op\":\"subscribed\",\"clientId\":\"" CLIENT_ID "\",\"requestId\":2}");
    }
    tb_free(&b);
    tu_events_clear(&s->h);
    tb_reset(&s->log);
}

/* Ends the session: lq_close, the transport closed, destroy; checks nothing leaked. */
static void sess_close(hsess *s) {
    int i;
    if (!s->c) return;
    lq_close(s->c);
    take(s);
    for (i = 0; i < 4 && lq_core_io(s->c) != LQ_IO_CLOSE; i++) {
        s->now += 1000;
        lq_core_tick(s->c, s->now);
        take(s);
    }
    if (lq_core_io(s->c) != LQ_IO_DONE) lq_core_closed(s->c, LQ_OK, 0, s->now);   /* the server closes TCP */
    lq_core_tick(s->c, s->now);
    CHECKF(lq_client_state(s->c) == LQ_STATE_DISCONNECTED, "DISCONNECTED after lq_close");
    CHECKF(lq_core_io(s->c) == LQ_IO_DONE, "finished: every event reported");
    CHECKF(!lq_sub_valid(s->c, s->s1) && !lq_sub_valid(s->c, s->s2), "the handles are invalid");
    lq_client_destroy(s->c);
    CHECKF(s->h.live == 0, "%lu bytes still allocated after lq_client_destroy", (unsigned long)s->h.live);
    tu_harness_free(&s->h);
    tb_free(&s->sent);
    tb_free(&s->log);
}

/* The client still works: a create for subscription 1 arrives as an event. */
static void expect_usable(hsess *s) {
    int before = tu_count_events(&s->h, LQ_EVENT_CREATE);
    CHECKF(lq_client_state(s->c) == LQ_STATE_CONNECTED, "still CONNECTED (state %s, error \"%s\")",
           lq_state_str(lq_client_state(s->c)), lq_error_message(s->c));
    CHECKF(lq_core_io(s->c) == LQ_IO_NONE, "the link stays up");
    feed_json(s, PROBE);
    CHECKF(tu_count_events(&s->h, LQ_EVENT_CREATE) == before + 1, "a create still arrives (log: %s)", tb_str(&s->h.log));
}

static int client_frames(const hsess *s, unsigned opcode, int *last_close) {
    tu_cframes fs;
    int i, n = 0;
    tu_parse_client(s->sent.p, s->sent.len, &fs);
    if (last_close) *last_close = -3;
    for (i = 0; i < fs.n; i++) {
        if (fs.f[i].opcode == opcode) n++;
        if (fs.f[i].opcode == 8 && last_close) *last_close = tu_close_code(&fs.f[i]);
    }
    tu_cframes_free(&fs);
    return n;
}

/* ---- simple cases: one message, one kind of outcome -------------------------------------------- */

enum { O_ERROR, O_IGNORED, O_SUB_ERROR, O_DELIVERED, O_NOT_ROUTED };

static void one_message(const char *name, const char *json, size_t len, int outcome, lq_result result) {
    hsess s;
    int ie;
    case_begin("%s", name);
    sess_open(&s, 3, 0);
    feed_text(&s, json, len);
    ie = tu_find_event(&s.h, LQ_EVENT_ERROR, 0);
    switch (outcome) {
    case O_ERROR:
        CHECKF(ie >= 0, "an ERROR event (log: %s)", tb_str(&s.h.log));
        if (ie >= 0) {
            CHECKF(s.h.ev[ie].result == result, "result %s, expected %s", lq_result_str(s.h.ev[ie].result), lq_result_str(result));
            CHECKF(!s.h.ev[ie].fatal, "not fatal");
            CHECKF(s.h.ev[ie].request_id == 0, "a client ERROR (no subscription)");
            CHECKF(strstr(s.h.ev[ie].msg, "server message ignored") != NULL, "clear message: \"%s\"", s.h.ev[ie].msg);
        }
        break;
    case O_SUB_ERROR:
        CHECKF(ie >= 0 && s.h.ev[ie].request_id == 1 && !s.h.ev[ie].fatal && s.h.ev[ie].result == result,
               "a non-fatal ERROR for subscription 1 (log: %s)", tb_str(&s.h.log));
        CHECKF(ie >= 0 && s.h.ev[ie].msg[0], "with a message");
        break;
    case O_IGNORED:
    case O_NOT_ROUTED:
        CHECKF(s.h.nev == 0, "no event (log: %s)", tb_str(&s.h.log));
        CHECKF(s.log.len > 0, "the logger says why it was ignored");
        break;
    case O_DELIVERED:
        CHECKF(ie < 0, "no ERROR (log: %s)", tb_str(&s.h.log));
        CHECKF(s.h.nev >= 1 && s.h.ev[0].type >= LQ_EVENT_CREATE && s.h.ev[0].type <= LQ_EVENT_DELETE, "delivered");
        break;
    default: break;
    }
    CHECKF(client_frames(&s, 8, NULL) == 0, "no Close sent");
    expect_usable(&s);
    sess_close(&s);
    case_end();
}

static void msg_case(const char *name, const char *json, int outcome, lq_result result) {
    one_message(name, json, strlen(json), outcome, result);
}

static void invalid_json(void) {
    static const struct { const char *name, *json; } cases[] = {
        {"not JSON at all", "hello"},
        {"an unfinished object", "{\"op\":\"create\",\"requestId\":1,"},
        {"a lone brace", "{"},
        {"trailing garbage", "{\"op\":\"create\"}}"},
        {"single quotes", "{'op':'create'}"},
        {"a trailing comma", "{\"op\":\"create\",}"},
        {"a leading zero", "{\"op\":\"create\",\"requestId\":01}"},
        {"NaN", "{\"op\":\"create\",\"requestId\":NaN}"},
        {"a bad escape", "{\"op\":\"cr\\xeate\"}"},
        {"a raw control character in a string", "{\"op\":\"cre\tate\"}"},
        {"a byte-order mark first", "\xEF\xBB\xBF{\"op\":\"create\"}"},
        {"two documents", "{\"op\":\"create\"}{\"op\":\"create\"}"},
        {"an unterminated string", "{\"op\":\"create"},
        {"a key without a value", "{\"op\"}"},
        {"an empty message", ""},
    };
    size_t i;
    fam_begin("invalid JSON");
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[120];
        snprintf(name, sizeof name, "json: %s", cases[i].name);
        msg_case(name, cases[i].json, O_ERROR, LQ_ERR_JSON);
    }
}

static void wrong_shape(void) {
    static const struct { const char *name, *json; int outcome; lq_result r; } cases[] = {
        {"an array root", "[1,2,3]", O_ERROR, LQ_ERR_JSON},
        {"a string root", "\"create\"", O_ERROR, LQ_ERR_JSON},
        {"a number root", "42", O_ERROR, LQ_ERR_JSON},
        {"null", "null", O_ERROR, LQ_ERR_JSON},
        {"no op", "{\"requestId\":1,\"object\":{\"a\":1}}", O_IGNORED, LQ_OK},
        {"op is a number", "{\"op\":5,\"requestId\":1,\"object\":{}}", O_IGNORED, LQ_OK},
        {"op is null", "{\"op\":null,\"requestId\":1,\"object\":{}}", O_IGNORED, LQ_OK},
        {"op is an object", "{\"op\":{\"op\":\"create\"},\"requestId\":1,\"object\":{}}", O_IGNORED, LQ_OK},
        {"op is an array", "{\"op\":[\"create\"],\"requestId\":1,\"object\":{}}", O_IGNORED, LQ_OK},
        {"an unknown op", "{\"op\":\"explode\",\"requestId\":1}", O_IGNORED, LQ_OK},
        {"op with an escaped NUL", "{\"op\":\"create\\u0000\",\"requestId\":1,\"object\":{}}", O_IGNORED, LQ_OK},
        {"op in upper case", "{\"op\":\"CREATE\",\"requestId\":1,\"object\":{}}", O_IGNORED, LQ_OK},
        {"object is a number", "{\"op\":\"create\",\"requestId\":1,\"object\":5}", O_SUB_ERROR, LQ_ERR_JSON},
        {"object is a string", "{\"op\":\"update\",\"requestId\":1,\"object\":\"{}\"}", O_SUB_ERROR, LQ_ERR_JSON},
        {"object is an array", "{\"op\":\"enter\",\"requestId\":1,\"object\":[{}]}", O_SUB_ERROR, LQ_ERR_JSON},
        {"object is null", "{\"op\":\"leave\",\"requestId\":1,\"object\":null}", O_SUB_ERROR, LQ_ERR_JSON},
        {"object is missing", "{\"op\":\"delete\",\"requestId\":1}", O_SUB_ERROR, LQ_ERR_JSON},
        {"original is a number (the event comes without it)", "{\"op\":\"update\",\"requestId\":1,\"object\":{},\"original\":5}", O_DELIVERED, LQ_OK},
        {"requestId of no subscription", "{\"op\":\"create\",\"requestId\":99,\"object\":{}}", O_NOT_ROUTED, LQ_OK},
        {"requestId 0", "{\"op\":\"create\",\"requestId\":0,\"object\":{}}", O_NOT_ROUTED, LQ_OK},
        {"requestId -1", "{\"op\":\"create\",\"requestId\":-1,\"object\":{}}", O_NOT_ROUTED, LQ_OK},
        {"requestId as a string", "{\"op\":\"create\",\"requestId\":\"1\",\"object\":{}}", O_NOT_ROUTED, LQ_OK},
        {"requestId 1.5", "{\"op\":\"create\",\"requestId\":1.5,\"object\":{}}", O_NOT_ROUTED, LQ_OK},
        {"requestId 1e300", "{\"op\":\"create\",\"requestId\":1e300,\"object\":{}}", O_NOT_ROUTED, LQ_OK},
        {"requestId 2^31", "{\"op\":\"create\",\"requestId\":2147483648,\"object\":{}}", O_NOT_ROUTED, LQ_OK},
        {"requestId 2^32+1 (1 modulo 2^32)", "{\"op\":\"create\",\"requestId\":4294967297,\"object\":{}}", O_NOT_ROUTED, LQ_OK},
        {"requestId -(2^32-1) (1 modulo 2^32)", "{\"op\":\"create\",\"requestId\":-4294967295,\"object\":{}}", O_NOT_ROUTED, LQ_OK},
        {"requestId 2^64+1", "{\"op\":\"create\",\"requestId\":18446744073709551617,\"object\":{}}", O_NOT_ROUTED, LQ_OK},
        {"huge numbers in the object", "{\"op\":\"create\",\"requestId\":1,\"object\":{\"a\":1e308,\"b\":1e999,\"c\":-1e999,"
                                       "\"d\":123456789012345678901234567890,\"e\":-0.0,\"f\":4.9e-324}}", O_DELIVERED, LQ_OK},
        {"a duplicate requestId key (the first wins)", "{\"op\":\"create\",\"requestId\":1,\"requestId\":2,\"object\":{}}", O_DELIVERED, LQ_OK},
        {"unsubscribed for a subscription we did not end", "{\"op\":\"unsubscribed\",\"requestId\":1}", O_IGNORED, LQ_OK},
    };
    size_t i;
    fam_begin("JSON of the wrong shape");
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[160];
        snprintf(name, sizeof name, "shape: %s", cases[i].name);
        if (cases[i].outcome == O_IGNORED && strstr(cases[i].name, "unsubscribed")) {
            hsess s;                                        /* logged at debug level: no line needed */
            case_begin("%s", name);
            sess_open(&s, 3, 0);
            feed_json(&s, cases[i].json);
            CHECKF(s.h.nev == 0, "no event (%s)", tb_str(&s.h.log));
            CHECKF(lq_subscription_count(s.c) == 2, "both subscriptions live");
            expect_usable(&s);
            sess_close(&s);
            case_end();
            continue;
        }
        msg_case(name, cases[i].json, cases[i].outcome, cases[i].r);
    }
}

/* ---- nesting and size ------------------------------------------------------------------------- */

static void nested(tbuf *b, size_t depth, bool arrays) {
    size_t i;
    tb_puts(b, "{\"op\":\"create\",\"requestId\":1,\"object\":{\"a\":");
    for (i = 0; i < depth; i++) tb_puts(b, arrays ? "[" : "{\"k\":");
    tb_puts(b, "1");
    for (i = 0; i < depth; i++) tb_puts(b, arrays ? "]" : "}");
    tb_puts(b, "}}");
}

static void big_cases(void) {
    static const struct { size_t depth; bool arrays; int outcome; } deep[] = {
        {61, false, O_DELIVERED}, {62, true, O_DELIVERED}, {63, false, O_ERROR}, {100, true, O_ERROR},
        {10000, false, O_ERROR}, {1000000, true, O_ERROR},
    };
    size_t i;
    tbuf b = {0};
    fam_begin("nesting, huge strings and counts");
    for (i = 0; i < sizeof deep / sizeof deep[0]; i++) {
        char name[120];
        nested(&b, deep[i].depth, deep[i].arrays);
        snprintf(name, sizeof name, "size: %lu nested %s (message depth %lu, max_json_depth 64)", (unsigned long)deep[i].depth,
                 deep[i].arrays ? "arrays" : "objects", (unsigned long)deep[i].depth + 2);
        one_message(name, (const char *)b.p, b.len, deep[i].outcome, LQ_ERR_LIMIT);
        tb_reset(&b);
    }
    {   /* a 10 MB string: delivered whole, memory about twice the message */
        hsess s;
        size_t n = 10u * 1000u * 1000u, got;
        int ic;
        case_begin("size: a 10 MB string value");
        sess_open(&s, 3, 0);
        tb_puts(&b, "{\"op\":\"create\",\"clientId\":\"" CLIENT_ID "\",\"requestId\":1,\"object\":{\"objectId\":\"big\",\"s\":\"");
        tb_fill(&b, 'z', n);
        tb_puts(&b, "\"}}");
        s.h.peak = s.h.live;
        feed_text(&s, (const char *)b.p, b.len);
        ic = tu_find_event(&s.h, LQ_EVENT_CREATE, 0);
        got = ic >= 0 ? s.h.ev[ic].obj_len : 0;
        CHECKF(ic >= 0 && got == n + 25, "the object arrives whole (%lu bytes)", (unsigned long)got);
        CHECKF(s.h.peak < 3 * b.len, "memory peak %lu for a %lu-byte message", (unsigned long)s.h.peak, (unsigned long)b.len);
        expect_usable(&s);
        sess_close(&s);
        case_end();
        tb_reset(&b);
    }
    {   /* the same string in a message over max_message_bytes: close 1009, then reconnect */
        hsess s;
        int code;
        case_begin("size: a 10 MB string over max_message_bytes 1 MiB");
        sess_open(&s, 3, 1u << 20);
        tb_puts(&b, "{\"op\":\"create\",\"requestId\":1,\"object\":{\"s\":\"");
        tb_fill(&b, 'z', 10u * 1000u * 1000u);
        tb_puts(&b, "\"}}");
        feed_text(&s, (const char *)b.p, b.len);
        CHECK(client_frames(&s, 8, &code) == 1 && code == 1009);
        CHECK(tu_count_events(&s.h, LQ_EVENT_CREATE) == 0);
        CHECK(lq_core_io(s.c) == LQ_IO_CLOSE);
        lq_core_closed(s.c, LQ_OK, 0, s.now);
        CHECKF(tu_find_event(&s.h, LQ_EVENT_ERROR, 0) >= 0 && s.h.ev[tu_find_event(&s.h, LQ_EVENT_ERROR, 0)].result == LQ_ERR_LIMIT,
               "ERROR LQ_ERR_LIMIT (%s)", tb_str(&s.h.log));
        CHECK(tu_count_events(&s.h, LQ_EVENT_RECONNECTING) == 1);
        sess_close(&s);
        case_end();
        tb_reset(&b);
    }
    {   /* 200000 members: the token array grows to fit, once */
        hsess s;
        int ic;
        case_begin("size: an object with 200000 members");
        sess_open(&s, 3, 0);
        tb_puts(&b, "{\"op\":\"create\",\"requestId\":1,\"object\":{");
        for (i = 0; i < 200000; i++) tb_printf(&b, "%s\"k%lu\":%lu", i ? "," : "", (unsigned long)i, (unsigned long)i);
        tb_puts(&b, "}}");
        feed_text(&s, (const char *)b.p, b.len);
        ic = tu_find_event(&s.h, LQ_EVENT_CREATE, 0);
        CHECKF(ic >= 0, "delivered (%s)", tb_str(&s.h.log));
        expect_usable(&s);
        sess_close(&s);
        case_end();
        tb_reset(&b);
    }
    {   /* a 64-character clientId cut to fit, a numeric and an object clientId */
        static const char *const ids[] = {
            "{\"op\":\"connected\",\"clientId\":\"0123456789012345678901234567890123456789012345678901234567890123456789\"}",
            "{\"op\":\"connected\",\"clientId\":12345678901234567890123456789012345678901234567890123456789012345678901234567890}",
            "{\"op\":\"connected\",\"clientId\":{\"a\":[1,2,3]}}",
            "{\"op\":\"connected\"}",
        };
        for (i = 0; i < 4; i++) {
            hsess s;
            case_begin("size: connected with clientId form %lu", (unsigned long)i + 1);
            sess_open(&s, 1, 0);
            feed_json(&s, ids[i]);
            CHECKF(tu_count_events(&s.h, LQ_EVENT_OPEN) == 1, "OPEN");
            CHECKF(strlen(lq_client_id(s.c)) < 64, "clientId fits (%lu)", (unsigned long)strlen(lq_client_id(s.c)));
            feed_json(&s, "{\"op\":\"subscribed\",\"requestId\":1}");
            expect_usable(&s);
            sess_close(&s);
            case_end();
        }
    }
    tb_free(&b);
}

/* ---- order: events before connected, duplicates ----------------------------------------------- */

static void order_cases(void) {
    {
        hsess s;
        int ie;
        case_begin("order: an empty message in two empty fragments");
        sess_open(&s, 3, 0);
        feed_raw(&s, "\x01\x00\x80\x00", 4);
        ie = tu_find_event(&s.h, LQ_EVENT_ERROR, 0);
        CHECKF(ie >= 0 && s.h.ev[ie].result == LQ_ERR_JSON, "a JSON error, as for an empty unfragmented one (%d)",
               ie >= 0 ? (int)s.h.ev[ie].result : 0);
        expect_usable(&s);
        sess_close(&s);
        case_end();
    }
    static const char *const early[] = {
        "{\"op\":\"create\",\"requestId\":1,\"object\":{\"a\":1}}",
        "{\"op\":\"subscribed\",\"requestId\":1}",
        "{\"op\":\"unsubscribed\",\"requestId\":1}",
        "{\"op\":\"delete\",\"requestId\":2,\"object\":{}}",
    };
    size_t i;
    fam_begin("order: before connected, duplicates");
    for (i = 0; i < sizeof early / sizeof early[0]; i++) {
        hsess s;
        case_begin("order: %.40s before connected", early[i]);
        sess_open(&s, 1, 0);
        feed_json(&s, early[i]);
        CHECKF(tu_count_events(&s.h, LQ_EVENT_CREATE) + tu_count_events(&s.h, LQ_EVENT_DELETE) +
               tu_count_events(&s.h, LQ_EVENT_SUBSCRIBED) == 0, "not delivered (%s)", tb_str(&s.h.log));
        CHECKF(s.log.len > 0, "the logger or an ERROR tells why");
        CHECK(lq_client_state(s.c) == LQ_STATE_CONNECTING);
        feed_json(&s, CONNECTED);
        feed_json(&s, "{\"op\":\"subscribed\",\"requestId\":1}");
        CHECKF(tu_count_events(&s.h, LQ_EVENT_SUBSCRIBED) == 1, "the subscription is confirmed after connected");
        expect_usable(&s);
        sess_close(&s);
        case_end();
    }
    {
        hsess s;
        case_begin("order: connected twice");
        sess_open(&s, 2, 0);
        feed_json(&s, "{\"op\":\"connected\",\"clientId\":\"other\"}");
        CHECK(tu_count_events(&s.h, LQ_EVENT_OPEN) == 0);
        CHECK(strcmp(lq_client_id(s.c), CLIENT_ID) == 0);
        feed_json(&s, "{\"op\":\"subscribed\",\"requestId\":1}");
        expect_usable(&s);
        sess_close(&s);
        case_end();
    }
    {
        hsess s;
        case_begin("order: a duplicate subscribed");
        sess_open(&s, 2, 0);
        feed_json(&s, "{\"op\":\"subscribed\",\"requestId\":1}");
        feed_json(&s, "{\"op\":\"subscribed\",\"requestId\":1}");
        CHECK(tu_count_events(&s.h, LQ_EVENT_SUBSCRIBED) == 1);
        expect_usable(&s);
        sess_close(&s);
        case_end();
    }
    {
        hsess s;
        case_begin("order: events after our unsubscribe are dropped");
        sess_open(&s, 3, 0);
        CHECK(lq_unsubscribe(s.c, s.s2) == LQ_OK);
        take(&s);
        feed_json(&s, "{\"op\":\"create\",\"requestId\":2,\"object\":{}}");
        CHECK(tu_count_events(&s.h, LQ_EVENT_CREATE) == 0);
        feed_json(&s, "{\"op\":\"unsubscribed\",\"requestId\":2}");
        feed_json(&s, "{\"op\":\"unsubscribed\",\"requestId\":2}");
        CHECK(tu_count_events(&s.h, LQ_EVENT_UNSUBSCRIBED) == 1);
        feed_json(&s, "{\"op\":\"create\",\"requestId\":2,\"object\":{}}");
        CHECK(tu_count_events(&s.h, LQ_EVENT_CREATE) == 0);
        expect_usable(&s);
        sess_close(&s);
        case_end();
    }
}

/* ---- error frames ----------------------------------------------------------------------------- */

/* ER_SUB_FATAL: the answer to an unanswered subscribe (the other subscription is live).
   ER_SUB_KEPT: about one event of a live subscription (a failed afterLiveQueryEvent trigger or
   permission check): reported on it, nothing else. ER_NOTHING: about no subscription we have. */
enum { ER_CLIENT_FATAL, ER_SUB_FATAL, ER_RECONNECT, ER_SUB_KEPT, ER_NOTHING };

static void error_case(const char *json, int outcome, int code, int rid) {
    hsess s;
    int ie, close_code, texts0;
    case_begin("error: %s", json);
    sess_open(&s, outcome == ER_SUB_FATAL ? 2 : 3, 0);
    if (outcome == ER_SUB_FATAL) {                          /* only the other one is answered */
        feed_json(&s, rid == 1 ? "{\"op\":\"subscribed\",\"requestId\":2}" : "{\"op\":\"subscribed\",\"requestId\":1}");
        tu_events_clear(&s.h);
    }
    texts0 = client_frames(&s, 1, NULL);
    feed_json(&s, json);
    ie = tu_find_event(&s.h, LQ_EVENT_ERROR, 0);
    CHECKF(ie >= 0, "an ERROR event (%s)", tb_str(&s.h.log));
    if (ie < 0) { sess_close(&s); case_end(); return; }
    CHECKF(s.h.ev[ie].result == LQ_ERR_SERVER && s.h.ev[ie].error_code == code, "LQ_ERR_SERVER with code %d (got %d)", code,
           s.h.ev[ie].error_code);
    CHECKF(s.h.ev[ie].request_id == rid, "routed to requestId %d (got %d)", rid, s.h.ev[ie].request_id);
    CHECKF(strlen(s.h.ev[ie].msg) < 256, "message bounded");
    CHECKF(lq_error_detail(s.c) == code, "lq_error_detail is the code");
    switch (outcome) {
    case ER_CLIENT_FATAL:
        CHECKF(s.h.ev[ie].fatal, "fatal");
        CHECKF(lq_client_state(s.c) == LQ_STATE_DISCONNECTED, "the client stops (%s)", lq_state_str(lq_client_state(s.c)));
        CHECKF(client_frames(&s, 8, &close_code) == 1 && close_code == 1000, "Close 1000 sent (%d)", close_code);
        s.now += 3000;
        lq_core_tick(s.c, s.now);
        if (lq_core_io(s.c) == LQ_IO_CLOSE) lq_core_closed(s.c, LQ_OK, 0, s.now);
        lq_core_tick(s.c, s.now);
        CHECKF(tu_count_events(&s.h, LQ_EVENT_RECONNECTING) == 0, "no reconnect");
        CHECKF(tu_count_events(&s.h, LQ_EVENT_UNSUBSCRIBED) == 2, "both subscriptions end");
        CHECKF(tu_count_events(&s.h, LQ_EVENT_CLOSE) == 1, "one CLOSE");
        CHECKF(lq_core_io(s.c) == LQ_IO_DONE, "finished");
        CHECKF(lq_subscribe(s.c, &(lq_query){.class_name = "X"}, NULL) == LQ_ERR_STATE, "subscribe refused after a fatal error");
        break;
    case ER_SUB_FATAL:
        CHECKF(s.h.ev[ie].fatal, "fatal for the subscription");
        CHECKF(tu_count_events(&s.h, LQ_EVENT_UNSUBSCRIBED) == 1 && s.unsubscribed == 1, "that subscription ends");
        CHECKF(rid == 1 ? s.s1.id == 0 && s.s2.id != 0 : s.s2.id == 0 && s.s1.id != 0, "its handle, and only its, ended");
        CHECKF(lq_subscription_count(s.c) == 1, "the other lives");
        if (rid == 1) {                                     /* probe through subscription 2 instead */
            feed_json(&s, "{\"op\":\"create\",\"requestId\":2,\"object\":{\"a\":1}}");
            CHECKF(tu_count_events(&s.h, LQ_EVENT_CREATE) == 1, "subscription 2 still delivers");
            CHECK(lq_client_state(s.c) == LQ_STATE_CONNECTED);
        } else {
            expect_usable(&s);
        }
        break;
    case ER_SUB_KEPT:
    case ER_NOTHING:
        CHECKF(!s.h.ev[ie].fatal, "not fatal");
        CHECKF(client_frames(&s, 8, &close_code) == 0 && client_frames(&s, 1, NULL) == texts0, "nothing sent, no Close");
        CHECKF(tu_count_events(&s.h, LQ_EVENT_UNSUBSCRIBED) == 0 && lq_subscription_count(s.c) == 2, "both subscriptions live");
        feed_json(&s, rid == 1 ? "{\"op\":\"create\",\"requestId\":1,\"object\":{\"a\":1}}"
                               : "{\"op\":\"create\",\"requestId\":2,\"object\":{\"a\":1}}");
        CHECKF(tu_count_events(&s.h, LQ_EVENT_CREATE) == 1, "the next event arrives");
        expect_usable(&s);
        break;
    case ER_RECONNECT:
        CHECKF(!s.h.ev[ie].fatal, "not fatal");
        CHECKF(client_frames(&s, 8, &close_code) == 1 && close_code == 1000, "the link is closed with 1000 (%d)", close_code);
        CHECK(lq_core_io(s.c) == LQ_IO_CLOSE);
        lq_core_closed(s.c, LQ_OK, 0, s.now);
        CHECKF(tu_count_events(&s.h, LQ_EVENT_RECONNECTING) == 1, "a reconnect is scheduled");
        CHECKF(lq_subscription_count(s.c) == 2, "subscriptions kept for the resubscribe");
        break;
    default: break;
    }
    sess_close(&s);
    case_end();
}

static void error_cases(void) {
    tbuf b = {0};
    fam_begin("error frames of every code");
    error_case("{\"op\":\"error\",\"error\":\"Missing required property: op\",\"code\":1,\"reconnect\":true,\"requestId\":null}", ER_CLIENT_FATAL, 1, 0);
    error_case("{\"op\":\"error\",\"error\":\"Additional properties not allowed\",\"code\":1,\"reconnect\":true,\"requestId\":1}", ER_SUB_FATAL, 1, 1);
    error_case("{\"op\":\"error\",\"error\":\"Can not find this client\",\"code\":2,\"reconnect\":true,\"requestId\":null}", ER_RECONNECT, 2, 0);
    error_case("{\"op\":\"error\",\"error\":\"Cannot find subscription\",\"code\":2,\"reconnect\":true,\"requestId\":2}", ER_RECONNECT, 2, 2);
    error_case("{\"op\":\"error\",\"error\":\"Key in request is not valid\",\"code\":4,\"reconnect\":true,\"requestId\":null}", ER_CLIENT_FATAL, 4, 0);
    error_case("{\"op\":\"error\",\"error\":\"Invalid session token\",\"code\":209,\"reconnect\":false,\"requestId\":1}", ER_SUB_FATAL, 209, 1);
    error_case("{\"op\":\"error\",\"error\":\"beforeConnect failed\",\"code\":141,\"reconnect\":false,\"requestId\":null}", ER_CLIENT_FATAL, 141, 0);
    error_case("{\"op\":\"error\",\"error\":\"Permission denied\",\"code\":101,\"reconnect\":false,\"requestId\":2}", ER_SUB_FATAL, 101, 2);
    error_case("{\"op\":\"error\",\"error\":\"Protected field\",\"code\":119,\"reconnect\":false,\"requestId\":2}", ER_SUB_FATAL, 119, 2);
    error_case("{\"op\":\"error\",\"error\":\"Invalid query\",\"code\":102,\"reconnect\":false,\"requestId\":1}", ER_SUB_FATAL, 102, 1);
    error_case("{\"op\":\"error\",\"error\":\"something new\",\"code\":999,\"reconnect\":true}", ER_RECONNECT, 999, 0);
    error_case("{\"op\":\"error\",\"error\":\"no reconnect flag\",\"code\":2}", ER_RECONNECT, 2, 0);
    error_case("{\"op\":\"error\",\"error\":\"a code as a string\",\"code\":\"1\",\"reconnect\":true}", ER_RECONNECT, 0, 0);
    error_case("{\"op\":\"error\",\"code\":1}", ER_CLIENT_FATAL, 1, 0);
    error_case("{\"op\":\"error\"}", ER_RECONNECT, 0, 0);
    error_case("{\"op\":\"error\",\"error\":\"for no subscription\",\"code\":209,\"reconnect\":false,\"requestId\":77}", ER_NOTHING, 209, 0);
    error_case("{\"op\":\"error\",\"error\":\"afterLiveQueryEvent threw\",\"code\":141,\"reconnect\":false,\"requestId\":1}", ER_SUB_KEPT, 141, 1);
    error_case("{\"op\":\"error\",\"error\":\"Permission denied\",\"code\":119,\"reconnect\":false,\"requestId\":2}", ER_SUB_KEPT, 119, 2);
    error_case("{\"op\":\"error\",\"error\":\"huge code\",\"code\":1e300,\"reconnect\":true}", ER_RECONNECT, 0, 0);
    error_case("{\"op\":\"error\",\"error\":\"code 2^32+1\",\"code\":4294967297,\"reconnect\":true}", ER_RECONNECT, 0, 0);
    tb_puts(&b, "{\"op\":\"error\",\"error\":\"");
    tb_fill(&b, 'e', 10000);
    tb_puts(&b, "\",\"code\":141,\"reconnect\":false,\"requestId\":1}");
    error_case(tb_str(&b), ER_SUB_FATAL, 141, 1);
    tb_free(&b);
}

int main(void) {
    int i;
    invalid_json();
    wrong_shape();
    big_cases();
    order_cases();
    error_cases();
    printf("\n%-45s %6s %8s\n", "case family", "cases", "passing");
    for (i = 0; i < nfams; i++) printf("%-45s %6d %8d\n", fams[i].name, fams[i].cases, fams[i].passed);
    printf("%-45s %6d %8d\n", "all", fam_cases, fam_passed);
    return tu_report("test_hostile");
}
