/* test_iofaults.c - I/O that misbehaves, under the real lq_step.

   A custom lq_transport (desc.transport) connects lq_step to the in-memory peer of
   tests/conformance/peer.h and injects faults. It keeps a state per connection (*conn) and checks
   the contract: every call of a connection gets that connection's state, one connection at a
   time, and close comes once for every connection whose connect was called. The faults:
     - every other call returns LQ_IO_WANT_READ/WRITE (EAGAIN), connect included;
     - one byte per send and per recv;
     - every call is interrupted first (EINTR) and retried inside the transport, as the built-in
       one does;
     - a connect that stays in progress for a while;
   each must give exactly the events of the clean run (the random source is fake, so even the
   reconnect delays match). Then the faults that end a connection, each of which must give the
   right failure, a reconnect, and a session that goes on (resubscribed, events flowing):
     - a send that fails mid-frame (the connect op, the upgrade request), a recv that fails;
     - the peer closing mid-frame and mid-handshake; a connect that fails.
   Last, real EINTR: the built-in TCP transport against a loopback server while SIGALRM fires
   every millisecond without SA_RESTART (poll, send and recv get interrupted). */
#define LIVEQUERY_IMPLEMENTATION
#include "../livequery.h"
#include "testutil.h"
#include "conformance/peer.h"
#include "conformance/loopback.h"
#include <signal.h>
#include <sys/time.h>

enum {
    M_CLEAN, M_EAGAIN, M_ONE_BYTE, M_EINTR, M_SLOW_CONNECT, M_ALL_THREE,
    F_SEND_MIDFRAME, F_SEND_REQUEST, F_RECV_ERROR, F_CLOSE_MIDFRAME, F_CLOSE_MIDHANDSHAKE, F_CONNECT_FAIL
};

typedef struct fctx fctx;

/* One connection's state: what connect puts in *conn. */
typedef struct fconn {
    fctx *f;
    int n;                      /* 1 for the first connection */
} fconn;

struct fctx {
    tu_harness h;               /* first: random, events and the allocator read it as user_data */
    int mode;
    peer p;
    tbuf to_client;
    size_t tc_off;
    bool up, eof_pending, recv_fail, hs_cut;
    long progress;              /* bytes moved: the driver sleeps only when nothing moves */
    long send_calls, recv_calls, conn_calls, interrupted, connect_calls;
    size_t recv_max;            /* the largest len lq_step asked recv for */
    size_t recv_last;           /* the len of its last recv */
    bool send_wants_read;       /* send says LQ_IO_WANT_READ (a TLS stack in a renegotiation) */
    long wants_read_sent;       /* sends that said so */
    bool refuse;                /* every connect fails */
    bool check_order;           /* creates must be "o00000", "o00001", ... with a 200-digit name */
    int in_order;
    int conns;
    long sent_on_conn;
    int subscribed, creates, updates, reconnecting, errors, closes;
    lq_client *c;
    fconn *cur;                 /* the connection under way, NULL between them */
    int conns_started, conns_closed, bad_conn;
};

/* ---- the transport ---------------------------------------------------------------------------- */

/* Every other call of each function says "would block" (one counter per function: a shared one
   could fall in step with the caller's pattern and block one function for ever). */
static bool flaky(const fctx *f, long *calls) {
    return (f->mode == M_EAGAIN || f->mode == M_ALL_THREE) && (++*calls & 1);
}

/* The underlying call "failed" with EINTR; like the built-in transport, this one retries it. */
static void interrupt(fctx *f) {
    if (f->mode == M_EINTR || f->mode == M_ALL_THREE) f->interrupted++;
}

static void to_client(fctx *f) {
    if (!f->p.out.len) return;
    if (f->mode == F_CLOSE_MIDHANDSHAKE && !f->hs_cut) {   /* half of the 101, then the peer closes */
        f->hs_cut = true;
        tb_put(&f->to_client, f->p.out.p, f->p.out.len / 2);
        tb_reset(&f->p.out);
        f->eof_pending = true;
        return;
    }
    tb_put(&f->to_client, f->p.out.p, f->p.out.len);
    tb_reset(&f->p.out);
    if (f->p.eof) f->eof_pending = true;
}

/* The state of a call: this connection's, or a contract violation is counted. */
static void own_conn(fctx *f, void *conn) {
    if (!conn || conn != f->cur || ((fconn *)conn)->f != f) f->bad_conn++;
}

static int t_connect(lq_client *c, void *self, void **conn, const lq_url *url) {
    fctx *f = (fctx *)self;
    (void)url;
    if (!*conn) {                                           /* a new connection */
        fconn *k = (fconn *)calloc(1, sizeof *k);
        if (!k) return LQ_ERR_NOMEM;
        if (f->cur) f->bad_conn++;                          /* the last one was not closed */
        k->f = f;
        k->n = ++f->conns_started;
        *conn = f->cur = k;
    }
    own_conn(f, *conn);
    interrupt(f);
    if (flaky(f, &f->conn_calls)) return LQ_IO_WANT_WRITE;
    if (f->mode == M_SLOW_CONNECT && (f->connect_calls++ % 6) != 5) return LQ_IO_WANT_WRITE;
    if (f->refuse || (f->mode == F_CONNECT_FAIL && f->conns == 0 && f->connect_calls++ == 0)) {
        lq_transport_error(c, 111, "connect: Connection refused (injected)");
        return LQ_ERR_CONNECT;
    }
    peer_reset(&f->p);
    tb_reset(&f->to_client);
    f->tc_off = 0;
    f->eof_pending = f->recv_fail = false;
    f->sent_on_conn = 0;
    f->up = true;
    f->conns++;
    return LQ_OK;
}

static long t_send(lq_client *c, void *self, void *conn, const void *buf, size_t len) {
    fctx *f = (fctx *)self;
    size_t n = len;
    own_conn(f, conn);
    interrupt(f);
    if (!f->up) return LQ_ERR_IO;
    if (f->send_wants_read) {
        f->wants_read_sent++;
        return LQ_IO_WANT_READ;
    }
    if (flaky(f, &f->send_calls)) return LQ_IO_WANT_WRITE;
    if (f->mode == M_ONE_BYTE || f->mode == M_ALL_THREE) n = 1;
    if (f->conns == 1 && (f->mode == F_SEND_MIDFRAME || f->mode == F_SEND_REQUEST)) {
        /* the request is about 200 bytes; the connect op comes right after it */
        long fail_at = f->mode == F_SEND_REQUEST ? 40 : (long)f->p.req_len + 10;
        if (f->mode == F_SEND_MIDFRAME && !f->p.req_len) fail_at = 1L << 30;
        if (f->sent_on_conn >= fail_at) {
            lq_transport_error(c, 32, "send: Broken pipe (injected)");
            return LQ_ERR_IO;
        }
        if (f->sent_on_conn + (long)n > fail_at) n = (size_t)(fail_at - f->sent_on_conn);
    }
    peer_input(&f->p, buf, n);
    f->sent_on_conn += (long)n;
    f->progress += (long)n;
    to_client(f);
    return (long)n;
}

static long t_recv(lq_client *c, void *self, void *conn, void *buf, size_t len) {
    fctx *f = (fctx *)self;
    size_t avail, n;
    own_conn(f, conn);
    interrupt(f);
    if (!f->up) return LQ_ERR_IO;
    if (f->recv_fail) {
        lq_transport_error(c, 104, "recv: Connection reset by peer (injected)");
        return LQ_ERR_IO;
    }
    if (flaky(f, &f->recv_calls)) return LQ_IO_WANT_READ;
    if (len > f->recv_max) f->recv_max = len;
    f->recv_last = len;
    to_client(f);
    avail = f->to_client.len - f->tc_off;
    if (!avail) return f->eof_pending ? 0 : LQ_IO_WANT_READ;
    n = avail < len ? avail : len;
    if (f->mode == M_ONE_BYTE || f->mode == M_ALL_THREE) n = 1;
    memcpy(buf, f->to_client.p + f->tc_off, n);
    f->tc_off += n;
    f->progress += (long)n;
    return (long)n;
}

static void t_close(lq_client *c, void *self, void *conn) {
    fctx *f = (fctx *)self;
    (void)c;
    own_conn(f, conn);
    f->conns_closed++;
    free(conn);
    f->cur = NULL;
    f->up = false;
    tb_reset(&f->to_client);
    f->tc_off = 0;
    f->eof_pending = false;
}

/* ---- the session ------------------------------------------------------------------------------ */

static void f_event(lq_client *c, const lq_event *ev, void *user) {
    fctx *f = (fctx *)user;
    tu_on_event(c, ev, &f->h);
    switch (ev->type) {
    case LQ_EVENT_SUBSCRIBED: f->subscribed++; break;
    case LQ_EVENT_CREATE:
        if (f->check_order) {
            char id[16], want[16], name[256];
            lq_json_string(lq_json_get(ev->object, "objectId"), id, sizeof id);
            snprintf(want, sizeof want, "o%05d", f->in_order);
            if (strcmp(id, want) == 0 && lq_json_string(lq_json_get(ev->object, "playerName"), name, sizeof name) == 200 &&
                lq_json_int(lq_json_get(ev->object, "score"), -1) == f->in_order)
                f->in_order++;
        }
        f->creates++;
        break;
    case LQ_EVENT_UPDATE: f->updates++; break;
    case LQ_EVENT_RECONNECTING: f->reconnecting++; break;
    case LQ_EVENT_ERROR: f->errors++; break;
    case LQ_EVENT_CLOSE: f->closes++; break;
    default: break;
    }
}

static void sleep_ms(int ms) {
    struct timespec ts;
    ts.tv_sec = 0;
    ts.tv_nsec = (long)ms * 1000000L;
    nanosleep(&ts, NULL);
}

/* Steps until cond holds or ms pass; false on timeout. */
static bool drive(fctx *f, bool (*cond)(const fctx *), int ms) {
    uint64_t end = lb_now() + (uint64_t)ms;
    int still = 0;
    while (!cond(f)) {
        lq_result r;
        long before = f->progress;
        if (lb_now() > end) return false;
        r = lq_step(f->c);
        to_client(f);
        if (r == LQ_ERR_CLOSED) return cond(f);
        still = f->progress == before ? still + 1 : 0;
        if (still > 4 && lq_timeout_ms(f->c) > 0) sleep_ms(1);     /* nothing moves: wait for a timer */
    }
    return true;
}

static int pongs_on_conn(const fctx *f) {
    tu_cframes fs;
    int i, n = 0;
    if (!f->p.req_len) return 0;
    tu_parse_client(f->p.in.p + f->p.req_len, f->p.in.len - f->p.req_len, &fs);
    for (i = 0; i < fs.n; i++) n += fs.f[i].opcode == 10;
    tu_cframes_free(&fs);
    return n;
}

static bool c_subscribed3(const fctx *f) { return f->subscribed >= 3 && f->creates >= 1; }
static bool c_quiet(const fctx *f) {
    size_t n;
    lq_core_peek(f->c, &n);
    return n == 0;
}
static bool c_subscribed2(const fctx *f) { return f->subscribed >= 2 && lq_core_io(f->c) == LQ_IO_NONE && c_quiet(f); }
static bool c_events(const fctx *f) { return f->creates >= 1 && f->updates >= 1 && pongs_on_conn(f) >= 1; }
static bool c_resubscribed(const fctx *f) { return f->subscribed >= 4; }
static bool c_create2(const fctx *f) { return f->creates >= 2; }
static bool c_closed(const fctx *f) { return lq_core_io(f->c) == LQ_IO_DONE; }
static bool c_reconnected(const fctx *f) {
    return f->reconnecting >= 1 && f->subscribed >= 2 && lq_client_state(f->c) == LQ_STATE_CONNECTED && c_quiet(f);
}
static bool c_create1(const fctx *f) { return f->creates >= 1; }
static bool c_burst_plus1(const fctx *f) { return f->creates >= 301; }

static void push(fctx *f, const char *json) { tu_text(&f->to_client, json); }

static bool start(fctx *f, int mode) {
    lq_desc d;
    lq_transport tr;
    lq_query q;
    memset(f, 0, sizeof *f);
    tu_harness_init(&f->h);
    f->mode = mode;
    memset(&tr, 0, sizeof tr);
    tr.connect = t_connect;
    tr.send = t_send;
    tr.recv = t_recv;
    tr.close = t_close;
    tr.self = f;
    memset(&d, 0, sizeof d);
    d.server_url = "ws://127.0.0.1:1337/parse";
    d.application_id = "myAppId";
    d.on_event = f_event;
    d.user_data = f;
    d.random = tu_random_cb;
    tu_use_alloc(&d, &f->h);
    d.transport = &tr;
    d.max_reconnect_delay_ms = 20;
    d.close_timeout_ms = 300;
    if (lq_client_create(&d, &f->c) != LQ_OK) return false;
    memset(&q, 0, sizeof q);
    q.class_name = "GameScore";
    lq_subscribe(f->c, &q, NULL);
    q.class_name = "Player";
    lq_subscribe(f->c, &q, NULL);
    return true;
}

static void finish(fctx *f) {
    bool ok;
    lq_close(f->c);
    ok = drive(f, c_closed, 3000);
    CHECKF(ok, "closed after lq_close");
    CHECKF(lq_step(f->c) == LQ_ERR_CLOSED, "lq_step says LQ_ERR_CLOSED once finished");
    lq_client_destroy(f->c);
    CHECKF(f->h.live == 0, "%lu bytes leaked", (unsigned long)f->h.live);
    CHECKF(f->conns_started >= 1 && f->conns_closed == f->conns_started && !f->cur,
           "close once for every connection (%d started, %d closed)", f->conns_started, f->conns_closed);
    CHECKF(f->bad_conn == 0, "every call had its connection's state (%d did not)", f->bad_conn);
    tu_harness_free(&f->h);
    peer_free(&f->p);
    tb_free(&f->to_client);
}

/* The clean scenario: subscribed, a create and a 100 KB update, a ping, the server's Close 1001,
   reconnect and resubscribe, one more create, lq_close. Returns the event log. */
static void scenario(int mode, tbuf *log, int *pongs) {
    fctx f;
    bool ok;
    tbuf big = {0};
    size_t i;
    if (!start(&f, mode)) { CHECKF(false, "create"); return; }
    ok = drive(&f, c_subscribed2, 3000);
    CHECKF(ok, "both subscribed (%s)", tb_str(&f.h.log));
    if (!ok) goto out;
    push(&f, "{\"op\":\"create\",\"clientId\":\"peer-client\",\"requestId\":1,\"object\":{\"objectId\":\"a\",\"score\":20}}");
    tb_puts(&big, "{\"op\":\"update\",\"clientId\":\"peer-client\",\"requestId\":2,\"object\":{\"objectId\":\"b\",\"s\":\"");
    for (i = 0; i < 100000; i++) tb_byte(&big, (unsigned)('a' + i % 26));
    tb_puts(&big, "\"}}");
    push(&f, tb_str(&big));
    tu_frame(&f.to_client, 0x89, "keepalive", 9);
    ok = drive(&f, c_events, 5000);
    CHECKF(ok, "the events arrive (%s)", tb_str(&f.h.log));
    if (!ok) goto out;
    *pongs = pongs_on_conn(&f);
    tu_close(&f.to_client, 1001, "restart");
    f.eof_pending = true;
    ok = drive(&f, c_resubscribed, 5000);
    CHECKF(ok, "reconnected and resubscribed (%s)", tb_str(&f.h.log));
    if (!ok) goto out;
    push(&f, "{\"op\":\"create\",\"clientId\":\"peer-client\",\"requestId\":1,\"object\":{\"objectId\":\"c\"}}");
    ok = drive(&f, c_create2, 3000);
    CHECKF(ok, "events after the reconnect");
out:
    finish(&f);
    if (mode == M_EINTR || mode == M_ALL_THREE) CHECKF(f.interrupted > 10, "calls were interrupted (%ld)", f.interrupted);
    tb_copy(log, &f.h.log);
    tb_free(&big);
}

static int fam_cases[5], fam_passed[5];

/* A send that says WANT_READ waits for the socket to be readable: lq_fd_events must not ask for
   POLLOUT then (a writable socket would wake the loop at once, for ever). */
static void send_wants_read(void) {
    fctx f;
    bool ok;
    int before = tu_failed, ev;
    lq_query q;
    tu_set_ctx("a send that wants to read");
    if (!start(&f, M_CLEAN)) { CHECKF(false, "create"); return; }
    ok = drive(&f, c_subscribed2, 3000);
    CHECKF(ok, "both subscribed (%s)", tb_str(&f.h.log));
    if (!ok) goto out;
    f.send_wants_read = true;
    memset(&q, 0, sizeof q);
    q.class_name = "Third";
    CHECKF(lq_subscribe(f.c, &q, NULL) == LQ_OK, "subscribe");
    lq_step(f.c);
    ev = lq_fd_events(f.c);
    CHECKF(f.wants_read_sent >= 1 && (ev & LQ_WANT_READ) && !(ev & LQ_WANT_WRITE),
           "blocked on WANT_READ: lq_fd_events asks for reading only (%d)", ev);
    f.send_wants_read = false;
    push(&f, "{\"op\":\"create\",\"clientId\":\"peer-client\",\"requestId\":1,\"object\":{\"objectId\":\"r\"}}");
    ok = drive(&f, c_subscribed3, 3000);
    CHECKF(ok && f.creates == 1, "readable again: the send is retried and the subscribe answered (%s)", tb_str(&f.h.log));
    CHECKF((lq_fd_events(f.c) & LQ_WANT_WRITE) == 0, "nothing left to write");
out:
    finish(&f);
    fam_cases[4]++;
    if (tu_failed == before) fam_passed[4]++;
    tu_ctx[0] = 0;
}

/* lq_wait(c, -1) waits for the client's own timers: no busy loop while reconnecting. */
static void wait_forever_keeps_timers(void) {
    fctx f;
    int before = tu_failed, calls = 0;
    uint64_t t0;
    tu_set_ctx("lq_wait(c, -1) while reconnecting");
    if (!start(&f, M_CLEAN)) { CHECKF(false, "create"); return; }
    f.refuse = true;
    t0 = lb_now();
    while (lb_now() - t0 < 300) {
        lq_wait(f.c, -1);
        calls++;
    }
    CHECKF(f.reconnecting >= 3, "it keeps trying (%d attempts)", f.reconnecting);
    CHECKF(calls < 200, "each call sleeps until a timer (%d calls in 300 ms)", calls);
    f.refuse = false;
    finish(&f);
    fam_cases[4]++;
    if (tu_failed == before) fam_passed[4]++;
    tu_ctx[0] = 0;
}

static bool c_burst(const fctx *f) { return f->creates >= 300; }
static bool c_rbig_gone(const fctx *f) { return f->recv_last == LQ_READ_BUFFER_BYTES; }

/* A burst: the first read fills the small buffer, so the rest go to the large one (all events
   intact and in order); a quiet second later lq_step gives it back. With no_big the allocator
   refuses the large buffer: the burst arrives whole through the small one. */
static void read_buffer_cycle(bool no_big) {
    fctx f;
    bool ok;
    int before = tu_failed, i;
    size_t idle, busy;
    uint64_t t0;
    tu_set_ctx(no_big ? "read buffer: a burst, the large buffer refused" : "read buffer: a burst, then quiet");
    if (!start(&f, M_CLEAN)) { CHECKF(false, "create"); return; }
    if (no_big) f.h.fail_size = LQ_READ_BUFFER_MAX;        /* the allocator refuses the large buffer */
    ok = drive(&f, c_subscribed2, 3000);
    CHECKF(ok, "both subscribed (%s)", tb_str(&f.h.log));
    if (!ok) goto out;
    CHECKF(f.recv_max == LQ_READ_BUFFER_BYTES, "a quiet link reads into the small buffer (asked %lu)",
           (unsigned long)f.recv_max);
    idle = f.h.live;
    f.check_order = true;
    for (i = 0; i < 300; i++) {
        char m[400];
        snprintf(m, sizeof m, "{\"op\":\"create\",\"clientId\":\"peer-client\",\"requestId\":1,\"object\":{"
                 "\"objectId\":\"o%05d\",\"score\":%d,\"playerName\":\"%0200d\"}}", i, i, i);
        push(&f, m);
    }
    ok = drive(&f, c_burst, 5000);
    CHECKF(ok, "300 creates arrive (%d)", f.creates);
    if (!ok) goto out;
    CHECKF(f.in_order == 300, "the creates are whole and in order (%d)", f.in_order);
    CHECKF(f.errors == 0, "no errors (%s)", tb_str(&f.h.log));
    busy = f.h.live;
    if (no_big) {
        CHECKF(f.recv_max == LQ_READ_BUFFER_BYTES && f.h.nfailed >= 1 && f.h.live < idle + 2048,
               "no large buffer: only a partial frame's copy is added (%lu -> %lu)", (unsigned long)idle, (unsigned long)f.h.live);
        goto out;
    }
    CHECKF(f.recv_last == LQ_READ_BUFFER_MAX && f.recv_max == LQ_READ_BUFFER_MAX, "the burst reads into the large buffer (asked %lu)",
           (unsigned long)f.recv_max);
    CHECKF(busy >= idle + LQ_READ_BUFFER_MAX, "the large buffer is on the heap (%lu -> %lu)", (unsigned long)idle,
           (unsigned long)busy);
    t0 = lb_now();
    ok = drive(&f, c_rbig_gone, 3000);
    CHECKF(ok, "a quiet second gives the large buffer back");
    CHECKF(lb_now() - t0 >= 900, "not before the second is over (%lu ms)", (unsigned long)(lb_now() - t0));
    CHECKF(f.h.live == busy - LQ_READ_BUFFER_MAX, "the heap shrinks by the buffer (%lu -> %lu)", (unsigned long)busy,
           (unsigned long)f.h.live);
    f.recv_max = 0;
    push(&f, "{\"op\":\"create\",\"clientId\":\"peer-client\",\"requestId\":1,\"object\":{\"objectId\":\"z\"}}");
    ok = drive(&f, c_burst_plus1, 3000);
    CHECKF(ok && f.recv_max == LQ_READ_BUFFER_BYTES, "a trickle reads into the small buffer again (asked %lu)",
           (unsigned long)f.recv_max);
out:
    finish(&f);
    fam_cases[3]++;
    if (tu_failed == before) fam_passed[3]++;
    tu_ctx[0] = 0;
}

static void same_as_clean(const char *name, int mode, const tbuf *clean) {
    tbuf log = {0};
    int before = tu_failed, pongs = 0;
    tu_set_ctx("%s", name);
    scenario(mode, &log, &pongs);
    CHECKF(tb_eq(&log, clean), "the same events as the clean run:\n--- clean\n%s--- %s\n%s", tb_str(clean), name, tb_str(&log));
    CHECKF(pongs == 1, "the ping was answered (%d)", pongs);
    fam_cases[0]++;
    if (tu_failed == before) fam_passed[0]++;
    tu_ctx[0] = 0;
    tb_free(&log);
}

/* A fault that ends the first connection: the failure is reported, then the session goes on. */
static void fault_case(const char *name, int mode, lq_result why, const char *needle) {
    fctx f;
    bool ok;
    int before = tu_failed, ie, ic, ir;
    tu_set_ctx("%s", name);
    if (!start(&f, mode)) { CHECKF(false, "create"); return; }
    if (mode == F_RECV_ERROR || mode == F_CLOSE_MIDFRAME) {
        tbuf b = {0};
        ok = drive(&f, c_subscribed2, 3000);
    CHECKF(ok, "subscribed (%s)", tb_str(&f.h.log));
        if (mode == F_RECV_ERROR) {
            f.recv_fail = true;
        } else {
            tu_text(&b, "{\"op\":\"create\",\"clientId\":\"peer-client\",\"requestId\":1,\"object\":{\"objectId\":\"lost\"}}");
            tb_put(&f.to_client, b.p, b.len / 2);
            f.eof_pending = true;
        }
        tb_free(&b);
        f.subscribed = 0;
    }
    ok = drive(&f, c_reconnected, 5000);
    CHECKF(ok, "reconnected and subscribed again (%s)", tb_str(&f.h.log));
    ie = tu_find_event(&f.h, LQ_EVENT_ERROR, 0);
    ic = tu_find_event(&f.h, LQ_EVENT_CLOSE, 0);
    ir = tu_find_event(&f.h, LQ_EVENT_RECONNECTING, 0);
    if (why == LQ_OK) {
        CHECKF(ie < 0, "no ERROR for a plain end of stream (%s)", tb_str(&f.h.log));
    } else {
        CHECKF(ie >= 0 && f.h.ev[ie].result == why, "ERROR %s (%s)", lq_result_str(why), tb_str(&f.h.log));
        if (ie >= 0 && needle) CHECKF(strstr(f.h.ev[ie].msg, needle) != NULL, "the ERROR says \"%s\" (%s)", needle, f.h.ev[ie].msg);
        CHECKF(ie >= 0 && !f.h.ev[ie].fatal, "not fatal");
    }
    CHECKF(ic >= 0 && f.h.ev[ic].close_code == 1006 && ic > ie, "CLOSE 1006 after it");
    CHECKF(ir > ic, "then RECONNECTING");
    CHECKF(f.conns + (mode == F_CONNECT_FAIL) >= 2, "a second connection (%d)", f.conns);
    CHECKF(tu_count_events(&f.h, LQ_EVENT_CREATE) == 0, "no event from a half frame");
    push(&f, "{\"op\":\"create\",\"clientId\":\"peer-client\",\"requestId\":1,\"object\":{\"objectId\":\"after\"}}");
    ok = drive(&f, c_create1, 3000);
    CHECKF(ok, "events flow on the new connection");
    finish(&f);
    fam_cases[1]++;
    if (tu_failed == before) fam_passed[1]++;
    tu_ctx[0] = 0;
}

/* ---- real EINTR: SIGALRM every millisecond, no SA_RESTART -------------------------------------- */

static volatile sig_atomic_t g_alarms;
static void on_alarm(int sig) { (void)sig; g_alarms++; }

static void real_eintr(void) {
    struct sigaction sa;
    struct itimerval it, off;
    lb_server s;
    tu_harness h;
    lq_desc d;
    lq_client *c = NULL;
    lq_query q;
    char url[64];
    tbuf m = {0};
    uint64_t end;
    int i, before = tu_failed;
    bool closing = false;
    tu_set_ctx("real EINTR: SIGALRM every 1 ms during a loopback session");
    memset(&s, 0, sizeof s);
    tu_harness_init(&h);
    if (!lb_listen(&s)) { CHECKF(false, "listen"); return; }
    tb_puts(&s.setup, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Accept: {ACCEPT}\r\n\r\n");
    tu_text(&s.setup, "{\"op\":\"connected\",\"clientId\":\"x\"}");
    tu_text(&s.setup, "{\"op\":\"subscribed\",\"requestId\":1}");
    for (i = 0; i < 200; i++) tu_text(&s.script, "{\"op\":\"create\",\"requestId\":1,\"object\":{\"objectId\":\"e\"}}");
    tb_puts(&m, "{\"op\":\"update\",\"requestId\":1,\"object\":{\"s\":\"");
    tb_fill(&m, 'q', 1 << 20);
    tb_puts(&m, "\"}}");
    tu_text(&s.script, tb_str(&m));
    tu_frame(&s.script, 0x89, "ping", 4);
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/parse", s.port);
    memset(&d, 0, sizeof d);
    d.server_url = url;
    d.application_id = "myAppId";
    d.on_event = tu_on_event;
    d.user_data = &h;
    tu_use_alloc(&d, &h);
    d.no_reconnect = true;
    if (lq_client_create(&d, &c) != LQ_OK) { CHECKF(false, "create"); lb_free(&s); return; }
    memset(&q, 0, sizeof q);
    q.class_name = "GameScore";
    lq_subscribe(c, &q, NULL);

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;                                        /* no SA_RESTART: calls fail with EINTR */
    sigaction(SIGALRM, &sa, NULL);
    memset(&it, 0, sizeof it);
    it.it_interval.tv_usec = 1000;
    it.it_value.tv_usec = 1000;
    setitimer(ITIMER_REAL, &it, NULL);

    end = lb_now() + 8000;
    while (lb_now() < end) {
        lq_result r = lq_wait(c, 2);
        lb_service(&s);
        if (r == LQ_ERR_CLOSED) break;
        CHECKF(r == LQ_OK, "lq_wait: %s", lq_result_str(r));
        if (r != LQ_OK) break;
        if (!closing && h.nev_total >= 203) {               /* subscribed, 200 creates, the update */
            closing = true;
            lq_close(c);
        }
    }
    memset(&off, 0, sizeof off);
    setitimer(ITIMER_REAL, &off, NULL);                     /* our handler stays: a late alarm only counts */
    for (i = 0; i < 50 && !s.eof; i++) { lb_service(&s); sleep_ms(2); }
    {
        tu_cframes fs;
        int pongs = 0, k;
        tu_parse_client(s.sent.p, s.sent.len, &fs);
        for (k = 0; k < fs.n; k++) pongs += fs.f[k].opcode == 10;
        CHECKF(pongs == 1, "the ping was answered (%d pongs)", pongs);
        tu_cframes_free(&fs);
    }
    CHECKF(g_alarms > 10, "signals arrived (%d)", (int)g_alarms);
    CHECKF(tu_count_events(&h, LQ_EVENT_ERROR) == 0, "no ERROR (%s)", tb_str(&h.log));
    CHECKF(h.nev_total >= 203 + 2, "all events arrived, then UNSUBSCRIBED and CLOSE (%d events)", h.nev_total);
    CHECKF(lq_client_state(c) == LQ_STATE_DISCONNECTED, "closed");
    lq_client_destroy(c);
    CHECKF(h.live == 0, "%lu bytes leaked", (unsigned long)h.live);
    printf("real EINTR: %d SIGALRMs during the session\n", (int)g_alarms);
    fam_cases[2]++;
    if (tu_failed == before) fam_passed[2]++;
    tu_ctx[0] = 0;
    tu_harness_free(&h);
    lb_free(&s);
    tb_free(&m);
}

int main(void) {
    tbuf clean = {0};
    int pongs = 0;
    tu_set_ctx("clean run");
    scenario(M_CLEAN, &clean, &pongs);
    CHECKF(pongs == 1, "the clean run answers the ping");
    fam_cases[0]++;
    fam_passed[0] += tu_failed == 0;
    tu_ctx[0] = 0;
    same_as_clean("EAGAIN on every other call", M_EAGAIN, &clean);
    same_as_clean("one byte per send and recv", M_ONE_BYTE, &clean);
    same_as_clean("EINTR on every call, retried", M_EINTR, &clean);
    same_as_clean("a connect in progress for 5 calls", M_SLOW_CONNECT, &clean);
    same_as_clean("all three: EAGAIN, one byte, EINTR", M_ALL_THREE, &clean);

    fault_case("a send that fails in the middle of the connect frame", F_SEND_MIDFRAME, LQ_ERR_IO, "Broken pipe");
    fault_case("a send that fails in the middle of the upgrade request", F_SEND_REQUEST, LQ_ERR_IO, "Broken pipe");
    fault_case("a recv that fails", F_RECV_ERROR, LQ_ERR_IO, "reset");
    fault_case("the peer closes in the middle of a frame", F_CLOSE_MIDFRAME, LQ_OK, NULL);
    fault_case("the peer closes in the middle of the handshake", F_CLOSE_MIDHANDSHAKE, LQ_ERR_HANDSHAKE, "closed during the handshake");
    fault_case("connect fails", F_CONNECT_FAIL, LQ_ERR_CONNECT, "refused");

    read_buffer_cycle(false);
    read_buffer_cycle(true);
    send_wants_read();
    wait_forever_keeps_timers();
    real_eintr();
    tb_free(&clean);
    printf("\n%-45s %6s %8s\n", "case family", "cases", "passing");
    printf("%-45s %6d %8d\n", "I/O slow but correct: same events as clean", fam_cases[0], fam_passed[0]);
    printf("%-45s %6d %8d\n", "I/O faults that end a connection", fam_cases[1], fam_passed[1]);
    printf("%-45s %6d %8d\n", "real EINTR (built-in TCP, SIGALRM)", fam_cases[2], fam_passed[2]);
    printf("%-45s %6d %8d\n", "read buffer: small, large under load, back", fam_cases[3], fam_passed[3]);
    printf("%-45s %6d %8d\n", "waiting: WANT_READ sends, lq_wait(c, -1)", fam_cases[4], fam_passed[4]);
    return tu_report("test_iofaults");
}
