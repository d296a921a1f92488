/* conformance.c - the client against a scripted raw-TCP server on 127.0.0.1.

   One case per numbered point of shared/docs/rfc6455-client.md (names "pNN ..."), and our own
   cases with the ideas of the Autobahn|Testsuite families 1-7 and 9 (names "aN.M ..."). The
   client under test is the real thing: lq_client_create with ws://127.0.0.1:PORT/parse, driven by
   lq_step on its built-in TCP transport; the server (loopback.h) runs in the same loop. Each case
   asserts
     - the Close code the client sends (frames unmasked from what the server received), that it
       sends nothing after its Close, and that every frame it sends is masked, final and minimal;
     - what the application sees: the ERROR result and message, the CLOSE code, the data events;
     - that the client closed its TCP connection, within the case's time bound;
     - that no memory is lost (a counting allocator: nothing allocated after lq_client_destroy;
       the suite is also built with ASan/LSan).
   Usage: test_conformance [substring]   runs the cases whose name contains substring. */
#define LIVEQUERY_IMPLEMENTATION
#include "../../livequery.h"
#include "../testutil.h"
#include "loopback.h"
#include <sys/ioctl.h>


/* ---- cases ------------------------------------------------------------------------------------ */

enum { PH_HS, PH_OPEN, PH_CONNECTED, PH_SUBSCRIBED };      /* what the server does before the script */
enum { X_ALIVE, X_FAIL, X_HS_FAIL, X_CLOSED, X_DROPPED, X_ANY };   /* how the case must end */

static const char *const FAMILIES[] = {
    "RFC 6455 4.1 opening handshake (points 1-7)",
    "RFC 6455 5 framing (points 8-19)",
    "RFC 6455 5.5.1/7 closing (points 20-24)",
    "Autobahn-like 1: framing, text and binary lengths",
    "Autobahn-like 2: ping and pong",
    "Autobahn-like 3: reserved bits",
    "Autobahn-like 4: opcodes",
    "Autobahn-like 5: fragmentation",
    "Autobahn-like 6: UTF-8",
    "Autobahn-like 7: close handling",
    "Autobahn-like 9: limits and sizes",
};
#define NFAM ((int)(sizeof FAMILIES / sizeof FAMILIES[0]))
enum { F_HS, F_FRAME, F_CLOSE, A1, A2, A3, A4, A5, A6, A7, A9 };

struct cres;
typedef struct ccase {
    char name[120];
    int family, phase;
    tbuf hs;                    /* PH_HS: the server's whole answer (sent as part of the script) */
    tbuf script;                /* bytes after the setup */
    tbuf echo_prefix;           /* bytes the server sends before answering the client's Close */
    int delay_ms, trickle_ms, end;
    size_t chunk;               /* bytes per write when trickling */
    bool silent;                /* the server never answers the request */
    /* client settings */
    size_t max_message, max_handshake;
    uint32_t connect_timeout, close_timeout;
    bool reconnect;
    int close_after_connections; /* call lq_close once this many requests arrived */
    /* expectations */
    int expect;
    int code;                   /* X_FAIL: the Close code sent; X_CLOSED: the code echoed (-1 empty);
                                   X_HS_FAIL: the HTTP status in lq_error_detail (0: not checked) */
    lq_result why;              /* X_FAIL, X_HS_FAIL, X_DROPPED: the ERROR result (LQ_OK: no ERROR) */
    const char *needle;         /* the ERROR message contains this */
    int close_event;            /* X_CLOSED: the CLOSE event's code */
    int events;                 /* data events (CREATE..DELETE); -1: not checked */
    int errors;                 /* X_ALIVE: ERROR events (-1: not checked) */
    long max_ms;                /* the client must be done within this (0: the default bound) */
    void (*check)(const struct ccase *k, const struct cres *r);
} ccase;

typedef struct cres {
    tu_harness h;               /* first: the event callback's user_data */
    int data_events, errors, closes, opens;
    int first_error_result;
    char first_error[256];
    int close_code;             /* of the last CLOSE event */
    int close_events_after_error;
    lb_server s;
    tu_cframes fr;              /* what the client sent after its request */
    bool created;
    bool alive_at_quiet;        /* still connected when all was sent and quiet */
    bool done;                  /* the client reached DISCONNECTED with no link */
    bool timed_out;
    int detail;
    char err[256];
    uint64_t t0, t_done;
    size_t leaked, peak;
    size_t data_bytes;          /* object bytes of the data events */
    char last_obj[512];
} cres;

static void on_event(lq_client *c, const lq_event *ev, void *user) {
    cres *r = (cres *)user;
    tu_on_event(c, ev, &r->h);
    switch (ev->type) {
    case LQ_EVENT_CREATE: case LQ_EVENT_ENTER: case LQ_EVENT_UPDATE: case LQ_EVENT_LEAVE: case LQ_EVENT_DELETE: {
        size_t n;
        const char *raw = lq_json_raw(ev->object, &n);
        r->data_events++;
        r->data_bytes += n;
        snprintf(r->last_obj, sizeof r->last_obj, "%.*s", (int)(n < 500 ? n : 500), raw);
        break;
    }
    case LQ_EVENT_ERROR:
        if (!r->errors++) {
            r->first_error_result = ev->result;
            snprintf(r->first_error, sizeof r->first_error, "%s", ev->error_message ? ev->error_message : "");
        }
        break;
    case LQ_EVENT_CLOSE:
        r->closes++;
        r->close_code = ev->close_code;
        if (r->errors) r->close_events_after_error++;
        break;
    case LQ_EVENT_OPEN: r->opens++; break;
    default: break;
    }
}

static ccase *cc_new(int family, int phase, int expect, const char *fmt, ...) TU_PRINTF(4, 5);
static ccase *cc_new(int family, int phase, int expect, const char *fmt, ...) {
    ccase *k = (ccase *)calloc(1, sizeof *k);
    va_list ap;
    if (!k) exit(2);
    va_start(ap, fmt);
    vsnprintf(k->name, sizeof k->name, fmt, ap);
    va_end(ap);
    k->family = family;
    k->phase = phase;
    k->expect = expect;
    k->events = expect == X_ALIVE ? -1 : 0;
    k->why = expect == X_FAIL ? LQ_ERR_PROTOCOL : expect == X_HS_FAIL ? LQ_ERR_HANDSHAKE : LQ_OK;
    k->code = expect == X_FAIL ? 1002 : 0;
    tb_put(&k->script, "", 0);
    return k;
}

static void cc_free(ccase *k) {
    tb_free(&k->hs);
    tb_free(&k->script);
    tb_free(&k->echo_prefix);
    free(k);
}

/* ---- the runner ------------------------------------------------------------------------------- */

#define QUIET_MS 60u

static void subscribe_one(lq_client *c) {
    lq_query q;
    memset(&q, 0, sizeof q);
    q.class_name = "GameScore";
    q.where = "{\"score\":{\"$gt\":10}}";
    lq_subscribe(c, &q, NULL);
}

/* Nothing unread in the client's socket and no frame half-decoded (white box). */
static bool client_idle(const lq_client *c) {
    int unread = 0, fd = lq_fd(c);
    if (fd >= 0 && ioctl(fd, FIONREAD, &unread) == 0 && unread > 0) return false;
    return c->rx.left == 0 && c->rx.hdr_have == 0 && c->rx.msg_opcode == 0;
}

static void run_case(const ccase *k, cres *r) {
    lq_desc d;
    lq_client *c = NULL;
    char url[64];
    uint64_t deadline, now;
    long bound;
    int activity = 0;
    bool closing = false;
    memset(r, 0, sizeof *r);
    tu_harness_init(&r->h);
    if (!lb_listen(&r->s)) { CHECKF(false, "cannot listen on 127.0.0.1"); return; }
    r->s.end = k->end;
    r->s.delay_ms = k->delay_ms;
    r->s.trickle_ms = k->trickle_ms;
    r->s.chunk = k->chunk;
    r->s.answer = !k->silent;
    tb_put(&r->s.setup, "", 0);
    if (k->phase >= PH_OPEN) tb_puts(&r->s.setup, HS101);
    if (k->phase >= PH_CONNECTED) tu_text(&r->s.setup, CONNECTED);
    if (k->phase >= PH_SUBSCRIBED) tu_text(&r->s.setup, SUBSCRIBED1);
    if (k->phase == PH_HS) tb_put(&r->s.script, k->hs.p, k->hs.len);
    tb_put(&r->s.script, k->script.p, k->script.len);
    tb_put(&r->s.echo_prefix, k->echo_prefix.p, k->echo_prefix.len);

    snprintf(url, sizeof url, "ws://127.0.0.1:%d/parse", r->s.port);
    memset(&d, 0, sizeof d);
    d.server_url = url;
    d.application_id = "myAppId";
    d.javascript_key = "myJsKey";
    d.on_event = on_event;
    d.user_data = r;
    tu_use_alloc(&d, &r->h);
    d.no_reconnect = !k->reconnect;
    d.max_reconnect_delay_ms = 30;
    d.connect_timeout_ms = k->connect_timeout ? k->connect_timeout : 3000;
    d.close_timeout_ms = k->close_timeout ? k->close_timeout : 500;
    d.max_message_bytes = k->max_message;
    d.max_handshake_bytes = k->max_handshake;
    if (lq_client_create(&d, &c) != LQ_OK) {
        CHECKF(false, "lq_client_create failed");
        lb_free(&r->s);
        return;
    }
    r->created = true;
    if (k->phase >= PH_SUBSCRIBED || k->phase == PH_HS) subscribe_one(c);
    r->t0 = lb_now();
    bound = k->max_ms ? k->max_ms : (long)(d.connect_timeout_ms + d.close_timeout_ms + 3000);
    deadline = r->t0 + (uint64_t)bound + 2000;
    for (;;) {
        struct pollfd p[2];
        int n = 0, t = lq_timeout_ms(c), ts, ev, fd = lq_fd(c);
        lq_result rc;
        now = lb_now();
        if (now >= deadline) { r->timed_out = true; break; }
        ev = lq_fd_events(c);
        if (fd >= 0) {
            p[n].fd = fd;
            p[n].events = (short)((ev & LQ_WANT_READ ? POLLIN : 0) | (ev & LQ_WANT_WRITE ? POLLOUT : 0));
            p[n].revents = 0;
            n++;
        }
        n += lb_pollfds(&r->s, &p[n]);
        ts = lb_timeout(&r->s, now);
        if (t < 0 || t > 20) t = 20;
        if (ts >= 0 && ts < t) t = ts;
        poll(p, (nfds_t)n, t);
        rc = lq_step(c);
        lb_service(&r->s);
        now = lb_now();
        if (r->h.nev_total != activity) { activity = r->h.nev_total; r->s.last_activity = now; }
        if (rc == LQ_ERR_CLOSED && !r->done) {
            r->done = true;
            r->t_done = now;
            snprintf(r->err, sizeof r->err, "%s", lq_error_message(c));
            r->detail = lq_error_detail(c);
        }
        if (r->done && (r->s.eof || now > r->t_done + 500)) break;
        if (!closing && k->close_after_connections && r->s.connections >= k->close_after_connections && r->s.req_len) {
            closing = true;
            lq_close(c);
        }
        if (!closing && !r->done && r->s.script_done && r->s.req_len && now > r->s.last_activity + QUIET_MS &&
            lq_client_state(c) == LQ_STATE_CONNECTED && c->link == LQ__L_OPEN && client_idle(c)) {
            r->alive_at_quiet = true;
            closing = true;
            lq_close(c);
        }
    }
    if (!r->done) {
        snprintf(r->err, sizeof r->err, "%s", lq_error_message(c));
        r->detail = lq_error_detail(c);
    }
    r->peak = r->h.peak;
    lq_client_destroy(c);
    r->leaked = r->h.live;
    tu_parse_client(r->s.sent.p, r->s.sent.len, &r->fr);
}

static void cres_free(cres *r) {
    tu_cframes_free(&r->fr);
    lb_free(&r->s);
    tu_harness_free(&r->h);
}

/* ---- expectations ----------------------------------------------------------------------------- */

static int count_frames(const cres *r, unsigned opcode) {
    int i, n = 0;
    for (i = 0; i < r->fr.n; i++) n += r->fr.f[i].opcode == opcode;
    return n;
}

static const tu_cframe *first_close(const cres *r) {
    int i;
    for (i = 0; i < r->fr.n; i++)
        if (r->fr.f[i].opcode == 8) return &r->fr.f[i];
    return NULL;
}

/* What every case must satisfy. */
static void check_common(const ccase *k, const cres *r) {
    int i;
    bool closed = false;
    CHECKF(!r->timed_out, "the case ended within its bound (client done: %d, server saw EOF: %d)", r->done, r->s.eof);
    CHECKF(r->done, "the client reached DISCONNECTED with no link");
    CHECKF(r->s.eof, "the client closed its TCP connection");
    CHECKF(r->leaked == 0, "%lu bytes still allocated after lq_client_destroy", (unsigned long)r->leaked);
    CHECKF(r->fr.trailing == 0, "%lu bytes of an incomplete client frame", (unsigned long)r->fr.trailing);
    for (i = 0; i < r->fr.n; i++) {
        const tu_cframe *f = &r->fr.f[i];
        CHECKF(!closed, "frame %d (opcode %u) sent after the client's Close", i, f->opcode);
        CHECKF(f->masked, "frame %d is masked (point 8)", i);
        CHECKF(f->fin && f->rsv == 0 && f->minimal, "frame %d: FIN, no RSV, shortest length", i);
        CHECKF(f->opcode == 1 || f->opcode == 8 || f->opcode == 9 || f->opcode == 10, "frame %d opcode %u", i, f->opcode);
        if (f->opcode == 8) {
            int code = tu_close_code(f);
            CHECKF(code != -2 && code != 1005 && code != 1006 && code != 1015, "Close code %d on the wire (point 23)", code);
            closed = true;
        }
    }
    CHECKF(r->closes >= 1, "a CLOSE event reached the application");
    if (k->events >= 0) CHECKF(r->data_events == k->events, "%d data events, expected %d", r->data_events, k->events);
    if (k->max_ms) CHECKF(r->t_done && (long)(r->t_done - r->t0) <= k->max_ms, "done in %ld ms, bound %ld ms",
                          (long)(r->t_done - r->t0), k->max_ms);
}

static void check_fail(const ccase *k, const cres *r) {
    const tu_cframe *cl = first_close(r), *last = r->fr.n ? &r->fr.f[r->fr.n - 1] : NULL;
    CHECKF(!r->alive_at_quiet, "the client failed the connection (it stayed connected)");
    CHECKF(cl != NULL, "the client sent a Close (%d frames)", r->fr.n);
    if (cl) CHECKF(tu_close_code(cl) == k->code, "Close code %d, expected %d", tu_close_code(cl), k->code);
    CHECKF(last == cl, "the Close is the client's last frame");
    CHECKF(count_frames(r, 8) == 1, "exactly one Close (%d)", count_frames(r, 8));
    CHECKF(r->errors >= 1 && r->first_error_result == (int)k->why, "an ERROR event with %s (got %d: %s)",
           lq_result_str(k->why), r->errors ? r->first_error_result : 0, r->first_error);
    CHECKF(r->first_error[0] != 0, "the ERROR tells why");
    if (k->needle) CHECKF(strstr(r->first_error, k->needle) != NULL, "ERROR \"%s\" mentions \"%s\"", r->first_error, k->needle);
    CHECKF(r->close_events_after_error >= 1 && r->close_code == 1006, "then CLOSE 1006 (got %d)", r->close_code);
}

static void check_hs_fail(const ccase *k, const cres *r) {
    CHECKF(r->opens == 0, "no OPEN after a bad handshake");
    CHECKF(r->s.sent.len == 0, "nothing sent after the request (%lu bytes)", (unsigned long)r->s.sent.len);
    CHECKF(r->errors >= 1 && r->first_error_result == (int)k->why, "an ERROR event with %s (got %d: %s)",
           lq_result_str(k->why), r->errors ? r->first_error_result : 0, r->first_error);
    if (k->needle) CHECKF(strstr(r->first_error, k->needle) != NULL, "ERROR \"%s\" mentions \"%s\"", r->first_error, k->needle);
    if (k->code) CHECKF(r->detail == k->code, "lq_error_detail %d, expected %d", r->detail, k->code);
    CHECKF(r->close_code == 1006, "CLOSE 1006 (got %d)", r->close_code);
}

static void check_alive(const ccase *k, const cres *r) {
    const tu_cframe *cl = first_close(r);
    CHECKF(r->alive_at_quiet, "the client is still connected after the script (error: %s)", r->first_error);
    CHECKF(cl && tu_close_code(cl) == 1000, "the only Close is ours, lq_close's 1000 (got %d)", cl ? tu_close_code(cl) : -3);
    if (k->errors >= 0) CHECKF(r->errors == k->errors, "%d ERROR events, expected %d (first: %s)", r->errors, k->errors, r->first_error);
    CHECKF(r->close_code == 1000, "CLOSE 1000 after lq_close (got %d)", r->close_code);
}

static void check_closed(const ccase *k, const cres *r) {
    const tu_cframe *cl = first_close(r);
    CHECKF(!r->alive_at_quiet, "the server's Close ended the connection");
    CHECKF(cl != NULL && tu_close_code(cl) == k->code, "the client echoes %d (sent %d)", k->code, cl ? tu_close_code(cl) : -3);
    CHECKF(count_frames(r, 8) == 1, "exactly one Close (%d)", count_frames(r, 8));
    CHECKF(r->errors == 0, "no ERROR (got: %s)", r->first_error);
    CHECKF(r->close_code == k->close_event, "CLOSE %d (got %d)", k->close_event, r->close_code);
}

static void check_dropped(const ccase *k, const cres *r) {
    CHECKF(count_frames(r, 8) == 0, "no Close on a dropped link");
    if (k->why == LQ_OK) CHECKF(r->errors == 0, "no ERROR for a plain drop (got: %s)", r->first_error);
    else CHECKF(r->errors >= 1 && r->first_error_result == (int)k->why, "an ERROR with %s (got %d)",
                lq_result_str(k->why), r->first_error_result);
    CHECKF(r->close_code == 1006, "CLOSE 1006 (got %d)", r->close_code);
}

static int fam_cases[NFAM], fam_passed[NFAM];
static const char *g_filter;

static void run(ccase *k) {
    cres *r;
    int before = tu_failed;
    if (g_filter && !strstr(k->name, g_filter)) { cc_free(k); return; }
    r = (cres *)calloc(1, sizeof *r);
    if (!r) exit(2);
    tu_set_ctx("%s", k->name);
    run_case(k, r);
    if (r->created) {
        check_common(k, r);
        switch (k->expect) {
        case X_FAIL: check_fail(k, r); break;
        case X_HS_FAIL: check_hs_fail(k, r); break;
        case X_ALIVE: check_alive(k, r); break;
        case X_CLOSED: check_closed(k, r); break;
        case X_DROPPED: check_dropped(k, r); break;
        default: break;
        }
        if (k->check) k->check(k, r);
    }
    fam_cases[k->family]++;
    if (tu_failed == before) fam_passed[k->family]++;
    else printf("  case failed: %s (events: %s)\n", k->name, tb_str(&r->h.log));
    tu_ctx[0] = 0;
    cres_free(r);
    free(r);
    cc_free(k);
}

/* ---- script helpers --------------------------------------------------------------------------- */

/* A create event for requestId 1 whose object holds a string of n bytes of ch. */
static void create_sized(tbuf *json, size_t n, int ch) {
    tb_puts(json, "{\"op\":\"create\",\"clientId\":\"" CLIENT_ID "\",\"requestId\":1,\"object\":{\"objectId\":\"x\",\"s\":\"");
    tb_fill(json, ch, n);
    tb_puts(json, "\"}}");
}

/* A text message of exactly total bytes that is a create event (total >= 80). */
static void create_exact(tbuf *json, size_t total) {
    tbuf probe = {0};
    create_sized(&probe, 0, 'a');
    create_sized(json, total - probe.len, 'a');
    tb_free(&probe);
}

static void fail_case(int fam, const char *name, const tbuf *bad, int code, lq_result why) {
    ccase *k = cc_new(fam, PH_SUBSCRIBED, X_FAIL, "%s", name);
    tb_put(&k->script, bad->p, bad->len);
    k->code = code;
    k->why = why;
    run(k);
}

static void frame_fail(int fam, const char *name, unsigned b0, const void *p, size_t n, int code, lq_result why) {
    tbuf b = {0};
    tu_frame(&b, b0, p, n);
    fail_case(fam, name, &b, code, why);
    tb_free(&b);
}

/* ---- 1-7: the opening handshake --------------------------------------------------------------- */

static void chk_request(const ccase *k, const cres *r) {
    char v[128], host[64];
    unsigned char raw[64];
    const char *req = tb_str(&r->s.req);
    (void)k;
    CHECKF(strncmp(req, "GET /parse HTTP/1.1\r\n", 21) == 0, "request line: %.40s", req);
    snprintf(host, sizeof host, "127.0.0.1:%d", r->s.port);
    CHECK_INT(tu_http_header(req, "Host", v, sizeof v), 1);
    CHECK_STR(v, host);
    CHECK_INT(tu_http_header(req, "Upgrade", v, sizeof v), 1);
    CHECKF(tu_ieq(v, "websocket"), "Upgrade: %s", v);
    CHECK_INT(tu_http_header(req, "Connection", v, sizeof v), 1);
    CHECKF(tu_ieq(v, "Upgrade"), "Connection: %s", v);
    CHECK_INT(tu_http_header(req, "Sec-WebSocket-Version", v, sizeof v), 1);
    CHECK_STR(v, "13");
    CHECK_INT(tu_http_header(req, "Sec-WebSocket-Key", v, sizeof v), 1);
    CHECK_INT(tu_base64_decode(v, raw, sizeof raw), 16);
    CHECKF(r->fr.n >= 1 && r->fr.f[0].opcode == 1 && strstr((const char *)r->fr.f[0].payload, "\"op\":\"connect\""),
           "the connect op is the first frame");
}

static void chk_nothing_before_101(const ccase *k, const cres *r) {
    (void)k;
    CHECKF(r->s.sent_before_script == 0, "%lu bytes sent before the 101", (unsigned long)r->s.sent_before_script);
    CHECKF(r->opens == 1 && r->fr.n >= 2, "connect, then the queued subscribe, after the 101");
}

static void chk_fresh_keys(const ccase *k, const cres *r) {
    unsigned char raw[3][32];
    int i;
    (void)k;
    CHECKF(r->s.connections >= 3, "the client reconnected (%d connections)", r->s.connections);
    for (i = 0; i < 3; i++) CHECKF(tu_base64_decode(r->s.keys[i], raw[i], sizeof raw[i]) == 16, "key %d is 16 bytes", i);
    CHECKF(strcmp(r->s.keys[0], r->s.keys[1]) != 0 && strcmp(r->s.keys[1], r->s.keys[2]) != 0 &&
           strcmp(r->s.keys[0], r->s.keys[2]) != 0, "a fresh key per connection (%s %s %s)", r->s.keys[0], r->s.keys[1], r->s.keys[2]);
}

static void chk_bounded_memory(const ccase *k, const cres *r) {
    (void)k;
    CHECKF(r->peak < 3 * 16384, "memory stays bounded by max_handshake_bytes (peak %lu)", (unsigned long)r->peak);
}

static void chk_one_event(const ccase *k, const cres *r) {
    (void)k;
    CHECKF(r->data_events == 1 && strstr(r->last_obj, "Qd8DdJGVgH"), "the create event arrived (%s)", r->last_obj);
}

static void hs_case(const char *name, const char *head, int expect, const char *needle, int status) {
    ccase *k = cc_new(F_HS, PH_HS, expect, "%s", name);
    tb_puts(&k->hs, head);
    if (expect == X_ALIVE) tu_text(&k->hs, CONNECTED);
    k->needle = needle;
    k->code = status;
    run(k);
}

static void points_1_to_7(void) {
    ccase *k;
    k = cc_new(F_HS, PH_CONNECTED, X_ALIVE, "p01 request line and headers");
    k->check = chk_request;
    run(k);

    k = cc_new(F_HS, PH_HS, X_ALIVE, "p01 no frame before the 101 (subscribe queued, 101 after 300 ms)");
    tb_puts(&k->hs, HS101);
    tu_text(&k->hs, CONNECTED);
    k->delay_ms = 300;
    k->check = chk_nothing_before_101;
    run(k);

    k = cc_new(F_HS, PH_OPEN, X_ANY, "p01 a fresh key per connection (3 connections)");
    k->end = SV_CLOSE;
    k->reconnect = true;
    k->close_after_connections = 3;
    k->check = chk_fresh_keys;
    run(k);

    hs_case("p02 403 with a JSON body", "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: 21\r\n\r\n"
            "{\"error\":\"forbidden\"}", X_HS_FAIL, "403", 403);
    k = cc_new(F_HS, PH_HS, X_HS_FAIL, "p02 500 with a body and no length, then the server closes");
    tb_puts(&k->hs, "HTTP/1.1 500 Internal Server Error\r\n\r\n<html>internal error</html>");
    k->end = SV_CLOSE;
    k->needle = "internal error";
    k->code = 500;
    run(k);
    hs_case("p02 200 OK with an HTML body", "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n<html></html>", X_HS_FAIL, "200", 200);
    hs_case("p02 302 redirect", "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1/\r\nContent-Length: 0\r\n\r\n", X_HS_FAIL, "302", 302);
    hs_case("p02 503 with a body longer than 100 bytes",
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 300\r\n\r\nmaintenance: "
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            X_HS_FAIL, "maintenance", 503);
    k = cc_new(F_HS, PH_HS, X_HS_FAIL, "p02 404 with a chunked body, the server keeps the socket open");
    tb_puts(&k->hs, "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n9\r\nnot found\r\n0\r\n\r\n");
    k->end = SV_SILENT;
    k->needle = "404";
    k->code = 404;
    k->connect_timeout = 1500;
    run(k);
    k = cc_new(F_HS, PH_HS, X_HS_FAIL, "p02 a 403 whose head nearly fills max_handshake_bytes, then its body");
    tb_puts(&k->hs, "HTTP/1.1 403 Forbidden\r\nContent-Length: 50\r\nX-Pad: ");
    tb_fill(&k->hs, 'p', 1000 - k->hs.len - 4);
    tb_puts(&k->hs, "\r\n\r\n");
    tb_fill(&k->hs, 'b', 50);
    k->max_handshake = 1024;
    k->end = SV_SILENT;
    k->needle = "403";
    k->code = 403;
    k->connect_timeout = 3000;
    k->max_ms = 1500;
    run(k);
    hs_case("p02 not HTTP at all", "SSH-2.0-OpenSSH_9.2\r\n\r\n", X_HS_FAIL, "HTTP", 0);
    /* status 000 once passed for "no status": every check of the 101 was skipped */
    hs_case("p02 status 000, then a connected", "HTTP/1.1 000 Whatever\r\n" UP CO AC "\r\n", X_HS_FAIL, "status", 0);
    hs_case("p02 HTTP/1.x", "HTTP/1.x 101 Switching Protocols\r\n" UP CO AC "\r\n", X_HS_FAIL, "HTTP", 0);
    hs_case("p02 a bare CR hides a header", ST UP "X: a\rbConnection: Upgrade\r\n" AC "\r\n", X_HS_FAIL, "bare CR", 101);

    hs_case("p03 no Upgrade header", ST CO AC "\r\n", X_HS_FAIL, "Upgrade", 101);
    hs_case("p03 Upgrade: h2c", ST "Upgrade: h2c\r\n" CO AC "\r\n", X_HS_FAIL, "Upgrade", 101);
    hs_case("p03 no Connection header", ST UP AC "\r\n", X_HS_FAIL, "Connection", 101);
    hs_case("p03 Connection: keep-alive only", ST UP "Connection: keep-alive\r\n" AC "\r\n", X_HS_FAIL, "Connection", 101);
    hs_case("p03 no Sec-WebSocket-Accept", ST UP CO "\r\n", X_HS_FAIL, "Accept", 101);
    hs_case("p03 Sec-WebSocket-Accept twice", ST UP CO AC AC "\r\n", X_HS_FAIL, "twice", 101);
    hs_case("p03 the RFC's sample accept, not ours", ST UP CO "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
            X_HS_FAIL, "Accept", 101);
    hs_case("p03 accept with a byte more", ST UP CO "Sec-WebSocket-Accept: {ACCEPT}x\r\n\r\n", X_HS_FAIL, "Accept", 101);
    hs_case("p03 header names and tokens in any case", "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\n"
            "connection: keep-alive, Upgrade\r\nSEC-WEBSOCKET-ACCEPT: {ACCEPT}\r\nServer: x\r\n\r\n", X_ALIVE, NULL, 0);

    hs_case("p04 unoffered extension", ST UP CO AC "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n", X_HS_FAIL, "extension", 101);
    hs_case("p04 unoffered subprotocol", ST UP CO AC "Sec-WebSocket-Protocol: chat\r\n\r\n", X_HS_FAIL, "subprotocol", 101);

    k = cc_new(F_HS, PH_HS, X_ALIVE, "p05 frames in the same write as the 101 are kept");
    tb_puts(&k->hs, HS101);
    tu_text(&k->hs, CONNECTED);
    tu_text(&k->hs, SUBSCRIBED1);
    tu_text(&k->hs, CREATE1);
    k->check = chk_one_event;
    run(k);

    k = cc_new(F_HS, PH_HS, X_HS_FAIL, "p06 headers that never end (1 MiB of header lines)");
    tb_puts(&k->hs, "HTTP/1.1 101 Switching Protocols\r\n");
    while (k->hs.len < 1048576) tb_puts(&k->hs, "X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    k->end = SV_SILENT;
    k->needle = "over";
    k->check = chk_bounded_memory;
    run(k);

    k = cc_new(F_HS, PH_HS, X_HS_FAIL, "p06 one byte every 100 ms (connect_timeout_ms 1500)");
    tb_puts(&k->hs, HS101);
    tu_text(&k->hs, CONNECTED);
    k->trickle_ms = 100;
    k->end = SV_SILENT;
    k->connect_timeout = 1500;
    k->why = LQ_ERR_TIMEOUT;
    k->needle = "1500 ms";
    k->max_ms = 2600;
    run(k);

    k = cc_new(F_HS, PH_HS, X_HS_FAIL, "p06 a server that accepts and never answers");
    k->silent = true;
    k->end = SV_SILENT;
    k->connect_timeout = 800;
    k->why = LQ_ERR_TIMEOUT;
    k->max_ms = 2000;
    run(k);

    k = cc_new(F_HS, PH_HS, X_HS_FAIL, "p06 the server closes in the middle of the headers");
    tb_puts(&k->hs, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: webs");
    k->end = SV_CLOSE;
    k->needle = "closed during the handshake";
    run(k);
}

/* The logger's lines, "level message" each. */
static tbuf g_log;
static void log_line(lq_log_level level, const char *msg, void *user) {
    (void)user;
    tb_printf(&g_log, "%d %s\n", (int)level, msg);
}

/* Point 7 needs a wss:// URL: with LQ_USE_MBEDTLS a plain-TCP server must fail the TLS handshake;
   without it, create refuses the URL and says why through desc.log. */
static void point_7(void) {
    int before = tu_failed;
    lb_server s;
    tu_harness h;
    lq_desc d;
    lq_client *c = NULL;
    char url[64];
    lq_result rc;
    uint64_t end;
    if (g_filter && !strstr("p07 wss:// to a server that does not speak TLS", g_filter)) return;
    tu_set_ctx("p07 wss:// to a server that does not speak TLS");
    memset(&s, 0, sizeof s);
    tu_harness_init(&h);
    if (!lb_listen(&s)) return;
    tb_puts(&s.setup, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    s.end = SV_CLOSE;
    snprintf(url, sizeof url, "wss://127.0.0.1:%d/parse", s.port);
    memset(&d, 0, sizeof d);
    d.server_url = url;
    d.application_id = "myAppId";
    d.on_event = tu_on_event;
    d.user_data = &h;
    tu_use_alloc(&d, &h);
    d.no_reconnect = true;
    d.connect_timeout_ms = 2000;
    d.log = log_line;
    tb_reset(&g_log);
    rc = lq_client_create(&d, &c);
#ifdef LQ_USE_MBEDTLS
    CHECKF(rc == LQ_OK, "create with wss:// (%s)", lq_result_str(rc));
    end = lb_now() + 4000;
    while (c && lb_now() < end && lq_step(c) != LQ_ERR_CLOSED) {
        struct pollfd p[2];
        int n = 0;
        if (lq_fd(c) >= 0) { p[0].fd = lq_fd(c); p[0].events = POLLIN; p[0].revents = 0; n = 1; }
        n += lb_pollfds(&s, &p[n]);
        poll(p, (nfds_t)n, 10);
        lb_service(&s);
        s.req_len = s.req_len ? s.req_len : (s.rx.len ? 1 : 0);    /* TLS hello: answer with HTTP */
        if (s.req_len == 1 && !s.out.len) { tb_put(&s.out, s.setup.p, s.setup.len); s.setup_len = s.out.len; }
    }
    CHECKF(tu_count_events(&h, LQ_EVENT_OPEN) == 0, "no OPEN over a failed TLS handshake");
    {
        int ie = tu_find_event(&h, LQ_EVENT_ERROR, 0);
        CHECKF(ie >= 0 && (h.ev[ie].result == LQ_ERR_TLS || h.ev[ie].result == LQ_ERR_HANDSHAKE),
               "an ERROR with LQ_ERR_TLS (got %d)", ie >= 0 ? (int)h.ev[ie].result : 0);
    }
    CHECKF(tu_find_event(&h, LQ_EVENT_CLOSE, 0) >= 0, "a CLOSE event");
#else
    (void)end;
    CHECKF(rc == LQ_ERR_TLS_UNAVAILABLE && c == NULL, "wss:// without LQ_USE_MBEDTLS: LQ_ERR_TLS_UNAVAILABLE (got %s)",
           lq_result_str(rc));
    CHECKF(strncmp(tb_str(&g_log), "0 ", 2) == 0 && strstr(tb_str(&g_log), "needs TLS") != NULL,
           "the refusal is logged as an error, saying why (log: %s)", tb_str(&g_log));
#endif
    tb_free(&g_log);
    lq_client_destroy(c);
    CHECKF(h.live == 0, "%lu bytes leaked", (unsigned long)h.live);
    fam_cases[F_HS]++;
    if (tu_failed == before) fam_passed[F_HS]++;
    tu_ctx[0] = 0;
    tu_harness_free(&h);
    lb_free(&s);
}

/* ---- 8-19: framing ---------------------------------------------------------------------------- */

static void chk_masks_distinct(const ccase *k, const cres *r) {
    int i, j, same = 0;
    (void)k;
    CHECKF(r->fr.n >= 7, "connect, subscribe, 5 pongs, Close (%d frames)", r->fr.n);
    for (i = 0; i < r->fr.n; i++)
        for (j = i + 1; j < r->fr.n; j++) same += memcmp(r->fr.f[i].mask, r->fr.f[j].mask, 4) == 0;
    CHECKF(same == 0, "every frame has its own mask (%d pairs equal)", same);
}

static void chk_pongs(const ccase *k, const cres *r, int want, const unsigned char *payload, size_t n) {
    int i, pongs = 0;
    (void)k;
    for (i = 0; i < r->fr.n; i++) {
        if (r->fr.f[i].opcode != 10) continue;
        pongs++;
        if (payload) CHECKF(r->fr.f[i].len == n && memcmp(r->fr.f[i].payload, payload, n) == 0, "pong %d echoes the ping's payload", pongs);
    }
    CHECKF(pongs == want, "%d pongs, expected %d", pongs, want);
}

static unsigned char g_ping[125];
static void chk_pong125(const ccase *k, const cres *r) { chk_pongs(k, r, 1, g_ping, 125); }
static void chk_pong_hello(const ccase *k, const cres *r) { chk_pongs(k, r, 1, (const unsigned char *)"Hello", 5); }
static void chk_pong_empty(const ccase *k, const cres *r) { chk_pongs(k, r, 1, (const unsigned char *)"", 0); }
static void chk_pong_none(const ccase *k, const cres *r) { chk_pongs(k, r, 0, NULL, 0); }
static void chk_pong10(const ccase *k, const cres *r) {
    int i, pongs = 0;
    chk_pongs(k, r, 10, NULL, 0);
    for (i = 0; i < r->fr.n; i++) {
        char want[16];
        if (r->fr.f[i].opcode != 10) continue;
        snprintf(want, sizeof want, "p%d", pongs++);
        CHECKF(strcmp((const char *)r->fr.f[i].payload, want) == 0, "pong %d answers ping %s in order", pongs - 1, want);
    }
}

/* The pong left before the fragmented message completed. */
static void chk_pong_between(const ccase *k, const cres *r) {
    chk_pongs(k, r, 1, (const unsigned char *)"mid", 3);
    CHECKF(r->data_events == 1, "the message around the ping arrived");
}

static void alive_case(int fam, const char *name, const tbuf *script, int events, void (*check)(const ccase *, const cres *)) {
    ccase *k = cc_new(fam, PH_SUBSCRIBED, X_ALIVE, "%s", name);
    tb_put(&k->script, script->p, script->len);
    k->events = events;
    k->check = check;
    run(k);
}

static void points_8_to_19(void) {
    tbuf b = {0}, msg = {0};
    ccase *k;
    int i;
    static const int reserved_ops[] = {3, 4, 5, 6, 7, 11, 12, 13, 14, 15};
    static const unsigned char mask[4] = {1, 2, 3, 4};

    for (i = 0; i < 5; i++) tu_frame(&b, 0x89, "p", 1);
    alive_case(F_FRAME, "p08 every client frame masked with its own key", &b, 0, chk_masks_distinct);
    tb_reset(&b);

    tu_frame_ex(&b, 0x81, CREATE1, strlen(CREATE1), 0, mask);
    fail_case(F_FRAME, "p09 masked text frame from the server", &b, 1002, LQ_ERR_PROTOCOL);
    tb_reset(&b);
    tu_frame_ex(&b, 0x89, "x", 1, 0, mask);
    fail_case(F_FRAME, "p09 masked ping from the server", &b, 1002, LQ_ERR_PROTOCOL);
    tb_reset(&b);
    {
        unsigned char body[2] = {0x03, 0xE8};
        tu_frame_ex(&b, 0x88, body, 2, 0, mask);
        fail_case(F_FRAME, "p09 masked close from the server", &b, 1002, LQ_ERR_PROTOCOL);
        tb_reset(&b);
    }

    for (i = 1; i <= 7; i++) {                              /* Autobahn 3.x: RSV on any frame */
        char name[80];
        static const unsigned kinds[] = {0x81, 0x82, 0x89, 0x8A, 0x88, 0x01};
        unsigned b0 = kinds[(i - 1) % 6] | ((unsigned)i << 4);
        snprintf(name, sizeof name, "a3.%d p10 RSV=%d on opcode %u", i, i, b0 & 15u);
        tu_frame(&b, b0, (b0 & 15u) == 8 ? "\x03\xe8" : "{}", 2);
        if (i == 2) {                                       /* after a valid message */
            tbuf pre = {0};
            tu_text(&pre, CREATE1);
            tb_put(&pre, b.p, b.len);
            tb_copy(&b, &pre);
            tb_free(&pre);
        }
        {
            ccase *kk = cc_new(A3, PH_SUBSCRIBED, X_FAIL, "%s", name);
            tb_put(&kk->script, b.p, b.len);
            kk->events = i == 2 ? 1 : 0;
            run(kk);
        }
        tb_reset(&b);
    }

    for (i = 0; i < 10; i++) {                              /* Autobahn 4.x: reserved opcodes */
        char name[80];
        snprintf(name, sizeof name, "a4.%d p11 reserved opcode %d", i + 1, reserved_ops[i]);
        frame_fail(A4, name, 0x80u | (unsigned)reserved_ops[i], i % 2 ? "" : "{}", i % 2 ? 0 : 2, 1002, LQ_ERR_PROTOCOL);
    }

    /* 12: lengths */
    tu_frame_ex(&b, 0x81, CREATE1, strlen(CREATE1), 16, NULL);
    alive_case(F_FRAME, "p12 a 16-bit length for a short message is read", &b, 1, chk_one_event);
    tb_reset(&b);
    tu_frame_ex(&b, 0x81, CREATE1, strlen(CREATE1), 64, NULL);
    alive_case(F_FRAME, "p12 a 64-bit length for a short message is read", &b, 1, chk_one_event);
    tb_reset(&b);
    tb_puts(&b, "\x81\x7f\x80");
    tb_fill(&b, 0, 6);
    tb_byte(&b, 5);
    tb_puts(&b, "hello");
    fail_case(F_FRAME, "p12 a 64-bit length with the top bit set", &b, 1002, LQ_ERR_PROTOCOL);
    tb_reset(&b);

    /* 13: limits */
    create_exact(&msg, 5000);
    k = cc_new(F_FRAME, PH_SUBSCRIBED, X_FAIL, "p13 a 5000-byte message over max_message_bytes 4096");
    tu_text(&k->script, tb_str(&msg));
    k->max_message = 4096;
    k->code = 1009;
    k->why = LQ_ERR_LIMIT;
    run(k);
    k = cc_new(F_FRAME, PH_SUBSCRIBED, X_FAIL, "p13 a fragmented message over the limit (3 x 2000 bytes)");
    tu_frame(&k->script, 0x01, msg.p, 2000);
    tu_frame(&k->script, 0x00, msg.p + 2000, 2000);
    tu_frame(&k->script, 0x80, msg.p + 4000, 1000);
    k->max_message = 4096;
    k->code = 1009;
    k->why = LQ_ERR_LIMIT;
    run(k);
    tb_reset(&msg);
    create_exact(&msg, 4096);
    k = cc_new(F_FRAME, PH_SUBSCRIBED, X_ALIVE, "p13 a message of exactly max_message_bytes");
    tu_text(&k->script, tb_str(&msg));
    k->max_message = 4096;
    k->events = 1;
    run(k);
    tb_reset(&msg);
    tb_puts(&b, "\x81\x7f\x40");
    tb_fill(&b, 0, 7);
    fail_case(F_FRAME, "p13 a 2^62-byte length (default limit)", &b, 1009, LQ_ERR_LIMIT);
    tb_reset(&b);

    /* 14: control frames */
    frame_fail(A2, "a2.5 p14 ping of 126 bytes", 0x89, (tb_fill(&b, 'x', 126), b.p), 126, 1002, LQ_ERR_PROTOCOL);
    tb_reset(&b);
    frame_fail(F_FRAME, "p14 close of 126 bytes", 0x88, (tb_puts(&b, "\x03\xe8"), tb_fill(&b, 'x', 124), b.p), 126, 1002, LQ_ERR_PROTOCOL);
    tb_reset(&b);
    frame_fail(F_FRAME, "p14 pong of 126 bytes", 0x8A, (tb_fill(&b, 'x', 126), b.p), 126, 1002, LQ_ERR_PROTOCOL);
    tb_reset(&b);
    frame_fail(A5, "a5.1 p14 fragmented ping", 0x09, "ab", 2, 1002, LQ_ERR_PROTOCOL);
    frame_fail(A5, "a5.2 p14 fragmented pong", 0x0A, "ab", 2, 1002, LQ_ERR_PROTOCOL);

    /* 15: control frames between fragments */
    tu_frame(&b, 0x01, CREATE1, 20);
    tu_frame(&b, 0x89, "mid", 3);
    tu_frame(&b, 0x80, CREATE1 + 20, strlen(CREATE1) - 20);
    alive_case(F_FRAME, "p15 a ping between fragments is answered at once", &b, 1, chk_pong_between);
    tb_reset(&b);
    k = cc_new(F_FRAME, PH_SUBSCRIBED, X_CLOSED, "p15 a Close between fragments ends it (the message is dropped)");
    tu_frame(&k->script, 0x01, CREATE1, 20);
    tu_close(&k->script, 1001, "bye");
    k->code = 1001;
    k->close_event = 1001;
    run(k);

    /* 16: continuation errors */
    frame_fail(F_FRAME, "p16 continuation with no message open", 0x80, "{}", 2, 1002, LQ_ERR_PROTOCOL);
    tu_frame(&b, 0x01, "{\"a\":", 5);
    tu_frame(&b, 0x81, "{}", 2);
    fail_case(F_FRAME, "p16 a new text frame inside a fragmented message", &b, 1002, LQ_ERR_PROTOCOL);
    tb_reset(&b);

    /* 17: zero-length fragments, any split */
    tu_frame(&b, 0x01, "", 0);
    tu_frame(&b, 0x00, CREATE1, 30);
    tu_frame(&b, 0x00, "", 0);
    tu_frame(&b, 0x80, CREATE1 + 30, strlen(CREATE1) - 30);
    alive_case(F_FRAME, "p17 zero-length fragments", &b, 1, chk_one_event);
    tb_reset(&b);
    k = cc_new(F_FRAME, PH_SUBSCRIBED, X_ALIVE, "p17 one byte per TCP segment");
    tu_text(&k->script, CREATE1);
    tu_frame(&k->script, 0x89, "Hello", 5);
    k->trickle_ms = -1;
    k->events = 1;
    k->check = chk_pong_hello;
    run(k);

    /* 18: UTF-8 */
    {
        static const unsigned char bad_ff[] = {'{', '"', 0xFF, '"', ':', '1', '}'};
        frame_fail(F_FRAME, "p18 0xFF in a text message", 0x81, bad_ff, sizeof bad_ff, 1007, LQ_ERR_UTF8);
    }
    {
        ccase *kk = cc_new(F_FRAME, PH_SUBSCRIBED, X_FAIL, "p18 fail fast: the bad byte in the first fragment, the rest never comes");
        tu_frame(&kk->script, 0x01, "{\"a\":\"\xC0\xAF", 8);
        kk->end = SV_SILENT;
        kk->code = 1007;
        kk->why = LQ_ERR_UTF8;
        kk->max_ms = 1500;
        run(kk);
    }
    {
        const char *s = "{\"op\":\"create\",\"clientId\":\"x\",\"requestId\":1,\"object\":{\"n\":\"\xF0\x9F\x98\x80\"}}";
        size_t cut = (size_t)(strstr(s, "\xF0") - s) + 2;
        tu_frame(&b, 0x01, s, cut);
        tu_frame(&b, 0x80, s + cut, strlen(s) - cut);
        alive_case(F_FRAME, "p18 a code point split across fragments", &b, 1, NULL);
        tb_reset(&b);
    }

    /* 19: ping and pong */
    for (i = 0; i < 125; i++) g_ping[i] = (unsigned char)(i * 7);
    tu_frame(&b, 0x89, "Hello", 5);
    alive_case(F_FRAME, "p19 a ping is answered with the same payload", &b, 0, chk_pong_hello);
    tb_reset(&b);
    tu_frame(&b, 0x8A, "unsolicited", 11);
    alive_case(F_FRAME, "p19 an unsolicited pong is ignored", &b, 0, chk_pong_none);
    tb_reset(&b);
    tb_free(&b);
    tb_free(&msg);
}

/* ---- 20-24: closing --------------------------------------------------------------------------- */

static void close_case(int fam, const char *name, int code, const char *reason, int echo, int event) {
    ccase *k = cc_new(fam, PH_SUBSCRIBED, X_CLOSED, "%s", name);
    tu_close(&k->script, code, reason);
    k->code = echo;
    k->close_event = event;
    run(k);
}

static void chk_close_timeout(const ccase *k, const cres *r) {
    long waited = r->s.t_eof && r->s.t_script_done ? (long)(r->s.t_eof - r->s.t_script_done) : -1;
    (void)k;
    CHECKF(waited >= 300 && waited <= 900, "the client closed TCP after close_timeout_ms 500 (waited %ld ms)", waited);
}

static void chk_no_pong_after_close(const ccase *k, const cres *r) {
    (void)k;
    CHECKF(count_frames(r, 10) == 0, "no pong after a failure or a Close");
}

static void points_20_to_24(void) {
    tbuf b = {0};
    ccase *k;
    size_t i;
    static const int valid[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999};
    static const int invalid[] = {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535};

    close_case(F_CLOSE, "p20 an empty Close is answered with an empty Close (CLOSE 1005)", -1, NULL, -1, 1005);
    frame_fail(F_CLOSE, "p20 a 1-byte Close body", 0x88, "\x03", 1, 1002, LQ_ERR_PROTOCOL);
    {
        char reason[124];
        memset(reason, 'r', 123);
        reason[123] = 0;
        close_case(F_CLOSE, "p20 a 123-byte reason", 1000, reason, 1000, 1000);
    }
    frame_fail(F_CLOSE, "p20 a reason that is not UTF-8", 0x88, "\x03\xe8\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80", 16,
               1007, LQ_ERR_UTF8);

    for (i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        char name[80];
        snprintf(name, sizeof name, "a7.7.%lu p21 valid close code %d is echoed", (unsigned long)i + 1, valid[i]);
        close_case(A7, name, valid[i], "ok", valid[i], valid[i]);
    }
    for (i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        char name[80];
        unsigned char body[2];
        body[0] = (unsigned char)(invalid[i] >> 8);
        body[1] = (unsigned char)invalid[i];
        snprintf(name, sizeof name, "a7.9.%lu p21 invalid close code %d", (unsigned long)i + 1, invalid[i]);
        frame_fail(A7, name, 0x88, body, 2, 1002, LQ_ERR_PROTOCOL);
    }

    k = cc_new(F_CLOSE, PH_SUBSCRIBED, X_CLOSED, "p22 server Close, then the server never closes TCP");
    tu_close(&k->script, 1000, NULL);
    k->end = SV_SILENT;
    k->code = 1000;
    k->close_event = 1000;
    k->check = chk_close_timeout;
    run(k);
    k = cc_new(F_CLOSE, PH_SUBSCRIBED, X_CLOSED, "p22 data after the server's Close is not delivered");
    tu_close(&k->script, 1001, NULL);
    tu_text(&k->script, CREATE1);
    tu_frame(&k->script, 0x89, "x", 1);
    k->code = 1001;
    k->close_event = 1001;
    k->check = chk_no_pong_after_close;
    run(k);
    k = cc_new(F_CLOSE, PH_SUBSCRIBED, X_ALIVE, "p22 after our Close, data frames are discarded");
    tu_text(&k->echo_prefix, CREATE1);
    tu_frame(&k->echo_prefix, 0x89, "x", 1);
    k->events = 0;
    k->check = chk_no_pong_after_close;
    run(k);

    k = cc_new(F_CLOSE, PH_SUBSCRIBED, X_DROPPED, "p23 TCP closed without a Close: CLOSE 1006");
    k->end = SV_CLOSE;
    run(k);
    k = cc_new(F_CLOSE, PH_SUBSCRIBED, X_DROPPED, "p23 TCP reset without a Close: CLOSE 1006");
    k->end = SV_RESET;
    k->why = LQ_ERR_IO;
    tu_text(&k->script, CREATE1);
    k->events = -1;
    run(k);
    k = cc_new(F_CLOSE, PH_SUBSCRIBED, X_DROPPED, "p23 TCP closed in the middle of a frame");
    tu_text(&b, CREATE1);
    tb_put(&k->script, b.p, b.len / 2);
    tb_reset(&b);
    k->end = SV_CLOSE;
    run(k);

    k = cc_new(F_CLOSE, PH_SUBSCRIBED, X_FAIL, "p24 input after the bad frame is not processed");
    tu_frame(&k->script, 0xC1, "{}", 2);
    tu_text(&k->script, CREATE1);
    tu_frame(&k->script, 0x89, "x", 1);
    tu_close(&k->script, 1000, NULL);
    k->check = chk_no_pong_after_close;
    run(k);
    tb_free(&b);
}

/* ---- Autobahn-like families ------------------------------------------------------------------- */

static void chk_obj_bytes(const ccase *k, const cres *r) {
    (void)k;
    CHECKF(r->data_events >= 1 && r->data_bytes > 0, "object bytes delivered (%lu)", (unsigned long)r->data_bytes);
}

static void family_1(void) {
    static const size_t text_len[] = {125, 126, 127, 128, 65535, 65536};
    static const size_t bin_len[] = {0, 125, 126, 65535, 65536};
    size_t i;
    tbuf b = {0}, m = {0};
    ccase *k;
    for (i = 0; i < sizeof text_len / sizeof text_len[0]; i++) {
        char name[80];
        create_exact(&m, text_len[i]);
        tu_text(&b, tb_str(&m));
        snprintf(name, sizeof name, "a1.1.%lu a text message of %lu bytes", (unsigned long)i + 1, (unsigned long)text_len[i]);
        alive_case(A1, name, &b, 1, chk_obj_bytes);
        tb_reset(&b);
        tb_reset(&m);
    }
    k = cc_new(A1, PH_SUBSCRIBED, X_ALIVE, "a1.1.7 an empty text message (not JSON: one ERROR, still connected)");
    tu_frame(&k->script, 0x81, "", 0);
    k->errors = 1;
    k->events = 0;
    run(k);
    for (i = 0; i < sizeof bin_len / sizeof bin_len[0]; i++) {
        char name[80];
        tb_fill(&m, 0xFE, bin_len[i]);
        tu_frame(&b, 0x82, m.p, m.len);
        snprintf(name, sizeof name, "a1.2.%lu a binary message of %lu bytes is ignored", (unsigned long)i + 1, (unsigned long)bin_len[i]);
        alive_case(A1, name, &b, 0, NULL);
        tb_reset(&b);
        tb_reset(&m);
    }
    k = cc_new(A1, PH_SUBSCRIBED, X_ALIVE, "a1.3 a 64 KiB message in writes of 997 bytes, 1 ms apart");
    create_exact(&m, 65536);
    tu_text(&k->script, tb_str(&m));
    k->trickle_ms = 1;
    k->chunk = 997;
    k->events = 1;
    run(k);
    tb_free(&b);
    tb_free(&m);
}

static void family_2(void) {
    tbuf b = {0};
    ccase *k;
    int i;
    tu_frame(&b, 0x89, "", 0);
    alive_case(A2, "a2.1 a ping without payload", &b, 0, chk_pong_empty);
    tb_reset(&b);
    tu_frame(&b, 0x89, "Hello", 5);
    alive_case(A2, "a2.2 a ping with a text payload", &b, 0, chk_pong_hello);
    tb_reset(&b);
    tu_frame(&b, 0x89, g_ping, 125);
    alive_case(A2, "a2.3 a ping with 125 binary bytes", &b, 0, chk_pong125);
    tb_reset(&b);
    tu_frame(&b, 0x8A, "Hello", 5);
    alive_case(A2, "a2.6 an unsolicited pong with payload", &b, 0, chk_pong_none);
    tb_reset(&b);
    tu_frame(&b, 0x8A, "", 0);
    tu_frame(&b, 0x89, "Hello", 5);
    alive_case(A2, "a2.7 an unsolicited pong, then a ping", &b, 0, chk_pong_hello);
    tb_reset(&b);
    for (i = 0; i < 10; i++) {
        char p[16];
        snprintf(p, sizeof p, "p%d", i);
        tu_frame(&b, 0x89, p, strlen(p));
    }
    alive_case(A2, "a2.8 ten pings in one write, ten pongs in order", &b, 0, chk_pong10);
    tb_reset(&b);
    k = cc_new(A2, PH_SUBSCRIBED, X_ALIVE, "a2.9 ten pings one byte at a time");
    for (i = 0; i < 10; i++) {
        char p[16];
        snprintf(p, sizeof p, "p%d", i);
        tu_frame(&k->script, 0x89, p, strlen(p));
    }
    k->trickle_ms = -1;
    k->check = chk_pong10;
    run(k);
    k = cc_new(A2, PH_SUBSCRIBED, X_CLOSED, "a2.10 a ping after the server's Close is not answered");
    tu_close(&k->script, 1000, NULL);
    tu_frame(&k->script, 0x89, "late", 4);
    k->code = 1000;
    k->close_event = 1000;
    k->check = chk_no_pong_after_close;
    run(k);
    tb_free(&b);
}

static void family_5(void) {
    tbuf b = {0};
    ccase *k;
    size_t n = strlen(CREATE1), i;
    tu_frame(&b, 0x01, CREATE1, n / 2);
    tu_frame(&b, 0x80, CREATE1 + n / 2, n - n / 2);
    alive_case(A5, "a5.3 a text message in two fragments", &b, 1, chk_one_event);
    tb_reset(&b);
    k = cc_new(A5, PH_SUBSCRIBED, X_ALIVE, "a5.5 two fragments, 100 ms apart (one byte per write)");
    tu_frame(&k->script, 0x01, CREATE1, n / 2);
    tu_frame(&k->script, 0x80, CREATE1 + n / 2, n - n / 2);
    k->trickle_ms = 1;
    k->events = 1;
    run(k);
    tu_frame(&b, 0x01, CREATE1, 10);
    tu_frame(&b, 0x89, "mid", 3);
    tu_frame(&b, 0x00, CREATE1 + 10, 10);
    tu_frame(&b, 0x8A, "pong", 4);
    tu_frame(&b, 0x80, CREATE1 + 20, n - 20);
    alive_case(A5, "a5.6 a ping and a pong between fragments", &b, 1, chk_pong_between);
    tb_reset(&b);
    for (i = 0; i < n; i++) tu_frame(&b, i == 0 ? 0x01 : i + 1 == n ? 0x80 : 0x00, CREATE1 + i, 1);
    alive_case(A5, "a5.7 a message in one-byte fragments", &b, 1, chk_one_event);
    tb_reset(&b);
    frame_fail(A5, "a5.9 a final continuation with no message open", 0x80, "x", 1, 1002, LQ_ERR_PROTOCOL);
    frame_fail(A5, "a5.10 a non-final continuation with no message open", 0x00, "x", 1, 1002, LQ_ERR_PROTOCOL);
    tu_text(&b, CREATE1);
    tu_frame(&b, 0x80, "x", 1);
    k = cc_new(A5, PH_SUBSCRIBED, X_FAIL, "a5.11 a continuation after a complete message");
    tb_put(&k->script, b.p, b.len);
    k->events = 1;
    run(k);
    tb_reset(&b);
    tu_frame(&b, 0x01, "{\"a\":", 5);
    tu_frame(&b, 0x02, "xx", 2);
    fail_case(A5, "a5.12 a binary frame inside a fragmented text message", &b, 1002, LQ_ERR_PROTOCOL);
    tb_reset(&b);
    tu_frame(&b, 0x02, "xx", 2);
    tu_frame(&b, 0x01, "{}", 2);
    fail_case(A5, "a5.13 a text frame inside a fragmented binary message", &b, 1002, LQ_ERR_PROTOCOL);
    tb_reset(&b);
    tu_frame(&b, 0x02, "ab", 2);
    tu_frame(&b, 0x80, "cd", 2);
    tu_text(&b, CREATE1);
    alive_case(A5, "a5.14 a fragmented binary message is ignored", &b, 1, chk_one_event);
    tb_reset(&b);
    tb_free(&b);
}

static void family_6(void) {
    static const struct { const char *name; const char *bytes; size_t n; } bad[] = {
        {"a6.1 overlong 2-byte (C0 AF)", "\xC0\xAF", 2},
        {"a6.2 overlong 3-byte (E0 80 AF)", "\xE0\x80\xAF", 3},
        {"a6.3 UTF-16 surrogate (ED A0 80)", "\xED\xA0\x80", 3},
        {"a6.4 above U+10FFFF (F4 90 80 80)", "\xF4\x90\x80\x80", 4},
        {"a6.5 lone continuation byte (80)", "\x80", 1},
        {"a6.6 5-byte form (F8 88 80 80 80)", "\xF8\x88\x80\x80\x80", 5},
        {"a6.7 FE", "\xFE", 1},
        {"a6.8 a sequence cut by an ASCII byte (E2 82 41)", "\xE2\x82\x41", 3},
    };
    tbuf b = {0};
    size_t i;
    const char *good = "{\"op\":\"create\",\"clientId\":\"x\",\"requestId\":1,\"object\":{\"greek\":\"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\"}}";
    tu_text(&b, good);
    alive_case(A6, "a6.0 valid multi-byte text (kosme)", &b, 1, NULL);
    tb_reset(&b);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tb_puts(&b, "{\"op\":\"create\",\"s\":\"");
        tb_put(&b, bad[i].bytes, bad[i].n);
        tb_puts(&b, "\"}");
        frame_fail(A6, bad[i].name, 0x81, b.p, b.len, 1007, LQ_ERR_UTF8);
        tb_reset(&b);
    }
    {
        tbuf m = {0};
        tb_puts(&m, "{\"s\":\"\xE2\x82");                   /* ends inside a sequence */
        tu_frame(&b, 0x81, m.p, m.len);
        fail_case(A6, "a6.9 a message that ends inside a sequence", &b, 1007, LQ_ERR_UTF8);
        tb_reset(&b);
        tu_frame(&b, 0x01, m.p, m.len);
        tu_frame(&b, 0x80, "\xAC\"}", 3);
        alive_case(A6, "a6.10 the same sequence completed in the next fragment", &b, 0, NULL);
        tb_reset(&b);
        tb_free(&m);
    }
    tb_free(&b);
}

static void family_7(void) {
    ccase *k;
    close_case(A7, "a7.1.1 a Close is echoed", 1000, NULL, 1000, 1000);
    k = cc_new(A7, PH_SUBSCRIBED, X_CLOSED, "a7.1.2 two Closes: the second is ignored");
    tu_close(&k->script, 1000, NULL);
    tu_close(&k->script, 1001, NULL);
    k->code = 1000;
    k->close_event = 1000;
    run(k);
    k = cc_new(A7, PH_SUBSCRIBED, X_CLOSED, "a7.1.3 a message, then Close");
    tu_text(&k->script, CREATE1);
    tu_close(&k->script, 1000, NULL);
    k->code = 1000;
    k->close_event = 1000;
    k->events = 1;
    run(k);
    k = cc_new(A7, PH_SUBSCRIBED, X_CLOSED, "a7.1.4 a 64 KiB message, then Close");
    {
        tbuf m = {0};
        create_exact(&m, 65536);
        tu_text(&k->script, tb_str(&m));
        tb_free(&m);
    }
    tu_close(&k->script, 1000, NULL);
    k->code = 1000;
    k->close_event = 1000;
    k->events = 1;
    run(k);
    close_case(A7, "a7.3.1 an empty Close body", -1, NULL, -1, 1005);
    frame_fail(A7, "a7.3.2 a 1-byte Close body", 0x88, "\x03", 1, 1002, LQ_ERR_PROTOCOL);
    close_case(A7, "a7.3.3 a Close with code only", 1000, NULL, 1000, 1000);
    {
        char reason[124];
        memset(reason, 'x', 123);
        reason[123] = 0;
        close_case(A7, "a7.3.5 a Close with a 123-byte reason", 1000, reason, 1000, 1000);
    }
    {
        tbuf b = {0};
        tb_puts(&b, "\x03\xe8");
        tb_fill(&b, 'x', 124);
        frame_fail(A7, "a7.3.6 a Close with a 124-byte reason (126 bytes)", 0x88, b.p, b.len, 1002, LQ_ERR_PROTOCOL);
        tb_free(&b);
    }
    frame_fail(A7, "a7.5.1 a Close reason that is not UTF-8", 0x88, "\x03\xe8\xff", 3, 1007, LQ_ERR_UTF8);
}

static void chk_many(const ccase *k, const cres *r) {
    (void)k;
    CHECKF(r->data_events == 1000, "1000 events (got %d)", r->data_events);
}

static void family_9(void) {
    static const size_t sizes[] = {262144, 1048576, 4194304};
    tbuf m = {0}, b = {0};
    ccase *k;
    size_t i;
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        k = cc_new(A9, PH_SUBSCRIBED, X_ALIVE, "a9.1.%lu a text message of %lu bytes", (unsigned long)i + 1, (unsigned long)sizes[i]);
        create_exact(&m, sizes[i]);
        tu_text(&k->script, tb_str(&m));
        k->events = 1;
        k->check = chk_obj_bytes;
        run(k);
        tb_reset(&m);
    }
    k = cc_new(A9, PH_SUBSCRIBED, X_ALIVE, "a9.2 a 4 MiB binary message is ignored");
    tb_fill(&m, 0xAB, 4194304);
    tu_frame(&k->script, 0x82, m.p, m.len);
    k->events = 0;
    run(k);
    tb_reset(&m);
    k = cc_new(A9, PH_SUBSCRIBED, X_ALIVE, "a9.3 a 1 MiB message in 64-byte fragments");
    create_exact(&m, 1048576);
    for (i = 0; i < m.len; i += 64) {
        size_t n = m.len - i < 64 ? m.len - i : 64;
        tu_frame(&k->script, i == 0 ? 0x01 : i + n == m.len ? 0x80 : 0x00, m.p + i, n);
    }
    k->events = 1;
    run(k);
    tb_reset(&m);
    k = cc_new(A9, PH_SUBSCRIBED, X_ALIVE, "a9.4 1000 events in one write");
    for (i = 0; i < 1000; i++) tu_text(&k->script, CREATE1);
    k->events = 1000;
    k->check = chk_many;
    run(k);
    k = cc_new(A9, PH_SUBSCRIBED, X_ALIVE, "a9.5 a 64 KiB message one byte per write");
    create_exact(&m, 65536);
    tu_text(&k->script, tb_str(&m));
    k->trickle_ms = -1;
    k->events = 1;
    run(k);
    tb_reset(&m);
    k = cc_new(A9, PH_SUBSCRIBED, X_FAIL, "a9.6 the default 16 MiB limit: a 17 MiB message");
    tb_puts(&k->script, "\x81\x7f");
    tb_fill(&k->script, 0, 4);
    tb_byte(&k->script, 0x01);                          /* 0x01100000 = 17 MiB */
    tb_byte(&k->script, 0x10);
    tb_fill(&k->script, 0, 2);
    tb_fill(&k->script, 'x', 1000);
    k->end = SV_SILENT;
    k->code = 1009;
    k->why = LQ_ERR_LIMIT;
    run(k);
    tb_free(&m);
    tb_free(&b);
}

int main(int argc, char **argv) {
    int i, total = 0, passed = 0;
    g_filter = argc > 1 ? argv[1] : NULL;
    points_1_to_7();
    point_7();
    points_8_to_19();
    points_20_to_24();
    family_1();
    family_2();
    family_5();
    family_6();
    family_7();
    family_9();
    printf("\n%-50s %6s %8s\n", "case family", "cases", "passing");
    for (i = 0; i < NFAM; i++) {
        printf("%-50s %6d %8d\n", FAMILIES[i], fam_cases[i], fam_passed[i]);
        total += fam_cases[i];
        passed += fam_passed[i];
    }
    printf("%-50s %6d %8d\n", "all", total, passed);
    return tu_report("test_conformance");
}
