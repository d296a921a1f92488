/* test_proxy.c - desc.proxy_url: the CONNECT tunnel (>>proxy) under the real lq_step.

   A fake inner transport (desc.transport, plain bytes) plays the proxy: it records where the
   client connects (the proxy, not the server) and the CONNECT request, answers it with a scripted
   reply handed out in pieces of every size, and on a 2xx becomes the server at the tunnel's far
   end (tests/conformance/peer.h for the WebSocket, a canned find answer for REST). Cases: 200 with
   and without headers, HTTP/1.0, bare LFs; 407 and 403 (LQ_ERR_PROXY, the status in
   lq_error_detail, "proxy refused CONNECT: 407 ..."); a reply that is not HTTP, one over
   max_handshake_bytes, a proxy that closes before or while answering; bytes after the reply's
   head (they belong to the tunnel and reach the core); Basic credentials, percent-decoded; the
   proxy's default port and IPv6 hosts; a proxy that cannot be reached; the REST link through the
   proxy; proxy_url validation (messages without the password), random URLs and random replies,
   allocation failure at every step of create. Nothing may leak, every connection is closed.
   Last, examples/cli.h, the proxy choice of lqwatch and lqview: no_proxy matching and the
   environment's precedence, as curl has them. */
#define LIVEQUERY_IMPLEMENTATION
#include "../livequery.h"
#include "testutil.h"
#include "conformance/peer.h"
#include "../examples/cli.h"
#include <time.h>

#define MAX_CONNS 8

/* One connection of the fake: the proxy until it answers, then the server behind it. */
typedef struct fconn {
    int n;                      /* 1 for the first connection */
    char where[300];            /* host:port it was asked to connect to */
    tbuf req;                   /* the CONNECT request (everything before the tunnel) */
    bool answered, tunnel, closed;
    tbuf to_client;
    size_t off;
    bool eof;                   /* after to_client: the end of the stream */
    peer p;                     /* the WebSocket server in the tunnel */
    tbuf http;                  /* the REST request in the tunnel */
    bool rest;
} fconn;

typedef struct fx {
    tu_harness h;               /* first: the callbacks get it as user_data */
    lq_client *c;
    const char *answer;         /* the proxy's reply (NULL: the whole default 200) */
    size_t answer_len;
    bool eof_after_answer;
    size_t chunk;               /* bytes per recv (0: all there is) */
    bool refuse;                /* the proxy cannot be reached */
    bool mute;                  /* no server behind the proxy: the tunnel swallows what it gets */
    fconn conns[MAX_CONNS];
    int nconns, closes;
    int errors;
    lq_result err_result;
    int err_detail;
    char err_msg[256];
    int opens, subscribed;
    char log[400];              /* what desc.log said last */
    int finds;
    lq_result find_result;
    char find_body[200];
} fx;

/* ---- the fake inner transport ------------------------------------------------------------------- */

static int f_connect(lq_client *c, void *self, void **conn, const lq_url *url) {
    fx *x = (fx *)self;
    fconn *k;
    if (!*conn) {
        if (x->nconns == MAX_CONNS) return LQ_ERR_CONNECT;
        k = &x->conns[x->nconns++];
        memset(k, 0, sizeof *k);
        k->n = x->nconns;
        snprintf(k->where, sizeof k->where, "%.*s:%u", (int)url->host_len, url->host, (unsigned)url->port);
        *conn = k;
        return LQ_IO_WANT_WRITE;                            /* under way, as a real connect is */
    }
    if (x->refuse) {
        lq_transport_error(c, 111, "cannot connect to the proxy host: Connection refused (fake)");
        return LQ_ERR_CONNECT;
    }
    return LQ_OK;
}

static const char OK200[] = "HTTP/1.1 200 Connection established\r\n\r\n";
static const char FIND_OK[] =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 31\r\n\r\n{\"results\":[{\"objectId\":\"p1\"}]}";

/* The server behind the proxy: a REST request gets FIND_OK, anything else is the WebSocket. */
static void f_server(fconn *k, const void *buf, size_t n) {
    if (!k->rest && !k->p.in.len && n >= 20 && memcmp(buf, "POST /parse/classes/", 20) == 0) k->rest = true;
    if (!k->rest) {
        peer_input(&k->p, buf, n);
        tb_put(&k->to_client, k->p.out.p, k->p.out.len);
        tb_reset(&k->p.out);
        return;
    }
    tb_put(&k->http, buf, n);
    {   /* the head, then Content-Length bytes of body */
        const char *h = tb_str(&k->http), *e = strstr(h, "\r\n\r\n");
        char cl[16];
        if (e && tu_http_header(h, "Content-Length", cl, sizeof cl) == 1 &&
            k->http.len >= (size_t)(e + 4 - h) + strtoul(cl, NULL, 10)) {
            tb_puts(&k->to_client, FIND_OK);
            tb_reset(&k->http);
        }
    }
}

static long f_send(lq_client *c, void *self, void *conn, const void *buf, size_t n) {
    fx *x = (fx *)self;
    fconn *k = (fconn *)conn;
    (void)c;
    if (k->tunnel) { if (!x->mute) f_server(k, buf, n); return (long)n; }
    if (n > 5) n = 5;                                       /* the request in pieces too */
    tb_put(&k->req, buf, n);
    if (!k->answered && strstr(tb_str(&k->req), "\r\n\r\n")) {
        const char *a = x->answer ? x->answer : OK200;
        size_t an = x->answer ? x->answer_len : strlen(OK200);
        k->answered = true;
        tb_put(&k->to_client, a, an);
        k->eof = x->eof_after_answer;
        k->tunnel = an >= 12 && memcmp(a + 9, "200", 3) == 0 && !x->eof_after_answer;
    }
    return (long)n;
}

static long f_recv(lq_client *c, void *self, void *conn, void *buf, size_t n) {
    fx *x = (fx *)self;
    fconn *k = (fconn *)conn;
    size_t avail = k->to_client.len - k->off;
    (void)c;
    if (!avail) return k->eof ? 0 : LQ_IO_WANT_READ;
    if (x->chunk && avail > x->chunk) avail = x->chunk;
    if (avail > n) avail = n;
    memcpy(buf, k->to_client.p + k->off, avail);
    k->off += avail;
    return (long)avail;
}

static void f_close(lq_client *c, void *self, void *conn) {
    fx *x = (fx *)self;
    fconn *k = (fconn *)conn;
    (void)c;
    if (!k) return;
    if (k->closed) x->closes += 1000;                       /* twice: counted as a failure */
    k->closed = true;
    x->closes++;
}

/* ---- the client --------------------------------------------------------------------------------- */

static void on_log(lq_log_level level, const char *message, void *user) {
    fx *x = (fx *)user;
    if (level == LQ_LOG_ERROR) snprintf(x->log, sizeof x->log, "%s", message);
}

static void on_event(lq_client *c, const lq_event *ev, void *user) {
    fx *x = (fx *)user;
    tu_on_event(c, ev, &x->h);
    if (ev->type == LQ_EVENT_OPEN) x->opens++;
    if (ev->type == LQ_EVENT_SUBSCRIBED) x->subscribed++;
    if (ev->type == LQ_EVENT_ERROR && !x->errors++) {
        x->err_result = ev->result;
        x->err_detail = lq_error_detail(c);
        snprintf(x->err_msg, sizeof x->err_msg, "%s", ev->error_message ? ev->error_message : "");
    }
}

static void on_find(lq_client *c, const lq_response *r, void *user) {
    fx *x = (fx *)user;
    size_t n = 0;
    const char *raw = lq_json_raw(r->results, &n);
    (void)c;
    x->finds++;
    x->find_result = r->result;
    snprintf(x->find_body, sizeof x->find_body, "%.*s", raw ? (int)(n < 199 ? n : 199) : 0, raw ? raw : "");
}

static lq_transport fake_transport(fx *x) {
    lq_transport t;
    memset(&t, 0, sizeof t);
    t.connect = f_connect;
    t.send = f_send;
    t.recv = f_recv;
    t.close = f_close;
    t.self = x;
    return t;
}

static void fx_desc(fx *x, lq_desc *d, const lq_transport *t, const char *server, const char *proxy) {
    memset(d, 0, sizeof *d);
    d->server_url = server;
    d->application_id = "app";
    d->on_event = on_event;
    d->user_data = x;
    d->random = tu_random_cb;
    d->log = on_log;
    d->transport = t;
    d->proxy_url = proxy;
    d->no_reconnect = true;
    tu_use_alloc(d, &x->h);
}

static void fx_init(fx *x) {
    memset(x, 0, sizeof *x);
    tu_harness_init(&x->h);
}

static uint64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Steps until cond holds, the client is finished, or 2 s pass. */
static bool drive(fx *x, bool (*cond)(const fx *)) {
    uint64_t end = mono_ms() + 2000;
    while (!cond(x) && mono_ms() < end)
        if (lq_step(x->c) == LQ_ERR_CLOSED) break;
    return cond(x);
}

static bool c_subscribed(const fx *x) { return x->subscribed >= 1; }
static bool c_error(const fx *x) { return x->errors >= 1; }
static bool c_found(const fx *x) { return x->finds >= 1; }
static bool c_asked(const fx *x) { return x->nconns >= 1 && strstr(tb_str(&x->conns[0].req), "\r\n\r\n"); }

static void fx_done(fx *x) {
    int i;
    lq_client_destroy(x->c);
    x->c = NULL;
    CHECKF(x->h.live == 0, "%lu bytes leaked", (unsigned long)x->h.live);
    CHECKF(x->closes == x->nconns, "close once per connection (%d connections, %d closes)", x->nconns, x->closes);
    for (i = 0; i < x->nconns; i++) {
        tb_free(&x->conns[i].req);
        tb_free(&x->conns[i].to_client);
        tb_free(&x->conns[i].http);
        peer_free(&x->conns[i].p);
    }
    tu_harness_free(&x->h);
}

static bool fx_create(fx *x, lq_transport *t, const char *server, const char *proxy) {
    lq_desc d;
    lq_query q;
    *t = fake_transport(x);
    fx_desc(x, &d, t, server, proxy);
    if (lq_client_create(&d, &x->c) != LQ_OK) return false;
    memset(&q, 0, sizeof q);
    q.class_name = "GameScore";
    lq_subscribe(x->c, &q, NULL);
    return true;
}

/* ---- cases -------------------------------------------------------------------------------------- */

/* The proxy answers a, in pieces of chunk bytes; the WebSocket must come up through the tunnel. */
static void tunnel_ok(const char *name, const char *a, size_t chunk) {
    fx x;
    lq_transport t;
    bool ok;
    tu_set_ctx("%s, %lu-byte pieces", name, (unsigned long)chunk);
    fx_init(&x);
    x.answer = a;
    x.answer_len = strlen(a);
    x.chunk = chunk;
    if (!CHECK(fx_create(&x, &t, "ws://127.0.0.1:1337/parse", "http://proxy.test:3128"))) return;
    ok = drive(&x, c_subscribed);
    CHECKF(ok, "subscribed through the tunnel (%s)", tb_str(&x.h.log));
    CHECK_INT(x.errors, 0);
    CHECK_INT(x.nconns, 1);
    CHECK_STR(x.conns[0].where, "proxy.test:3128");
    CHECK_STR(tb_str(&x.conns[0].req), "CONNECT 127.0.0.1:1337 HTTP/1.1\r\nHost: 127.0.0.1:1337\r\n"
                                       "User-Agent: livequery.h\r\n\r\n");
    CHECKF(x.conns[0].p.req_len > 0 && strstr(tb_str(&x.conns[0].p.in), "GET /parse HTTP/1.1\r\n") == tb_str(&x.conns[0].p.in),
           "the upgrade request came through the tunnel, first");
    fx_done(&x);
    tu_ctx[0] = 0;
}

static void test_tunnel_ok(void) {
    static const char *const answers[] = {
        OK200,
        "HTTP/1.0 200 Connection established\r\nProxy-agent: tinyproxy/1.11.1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nVia: 1.1 squid\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\nX-Empty:\r\n\r\n",
        "HTTP/1.1 200\r\n\r\n",
        "HTTP/1.1 200 OK\n\n",                              /* bare LFs */
        "HTTP/1.1 200 OK\nVia: x\r\n\r\n",
    };
    size_t i, chunk;
    for (i = 0; i < sizeof answers / sizeof answers[0]; i++)
        for (chunk = 0; chunk <= strlen(answers[i]); chunk++) tunnel_ok(answers[i], answers[i], chunk);
}

/* The proxy answers a (then, with eof, ends the stream): the connect fails with result, the
   error's detail and a message containing msg. */
static void tunnel_fails(const char *name, const char *a, size_t an, bool eof, size_t max_hs, lq_result result,
                         int detail, const char *msg) {
    size_t chunk;
    for (chunk = 0; chunk <= an && chunk <= 64; chunk += chunk < 8 ? 1 : 7) {
        fx x;
        lq_transport t;
        lq_desc d;
        tu_set_ctx("%s, %lu-byte pieces", name, (unsigned long)chunk);
        fx_init(&x);
        x.answer = a;
        x.answer_len = an;
        x.eof_after_answer = eof;
        x.chunk = chunk;
        t = fake_transport(&x);
        fx_desc(&x, &d, &t, "wss://example.com/parse", "http://10.0.0.1:8080/");
        d.max_handshake_bytes = max_hs;
#ifndef LQ__TLS_BACKEND
        d.server_url = "ws://example.com/parse";
#endif
        if (!CHECK(lq_client_create(&d, &x.c) == LQ_OK)) return;
        CHECK(drive(&x, c_error));
        CHECK_INT(x.err_result, result);
        CHECK_INT(x.err_detail, detail);
        CHECK_HAS(x.err_msg, msg);
        CHECK_INT(x.opens, 0);
        CHECK_STR(x.conns[0].where, "10.0.0.1:8080");
        fx_done(&x);
        if (!an) break;
    }
    tu_ctx[0] = 0;
}

#define FAILS(name, a, eof, max, r, detail, msg) tunnel_fails(name, a, sizeof a - 1, eof, max, r, detail, msg)

static void test_refused(void) {
    static const char a407[] = "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"p\"\r\n"
                               "Content-Length: 11\r\n\r\n<h1>no</h1>";
    static const char a403[] = "HTTP/1.0 403 Access violation\r\n\r\n";
    static const char a502[] = "HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\n";
    static const char ctl[] = "HTTP/1.1 503 Out\x01of\x7fservice \xff\r\n\r\n";
    static const char bare[] = "HTTP/1.1 401\r\n\r\n";
    static const char a100[] = "HTTP/1.1 100 Continue\r\n\r\n";
    FAILS("407", a407, false, 0, LQ_ERR_PROXY, 407, "proxy refused CONNECT: 407 Proxy Authentication Required");
    FAILS("407 then EOF", a407, true, 0, LQ_ERR_PROXY, 407, "proxy refused CONNECT: 407 Proxy Authentication Required");
    FAILS("403", a403, false, 0, LQ_ERR_PROXY, 403, "proxy refused CONNECT: 403 Access violation");
    FAILS("502", a502, false, 0, LQ_ERR_PROXY, 502, "proxy refused CONNECT: 502 Bad Gateway");
    FAILS("controls in the reason", ctl, false, 0, LQ_ERR_PROXY, 503, "proxy refused CONNECT: 503 Out of service  ");
    FAILS("no reason", bare, false, 0, LQ_ERR_PROXY, 401, "proxy refused CONNECT: 401");
    FAILS("100", a100, false, 0, LQ_ERR_PROXY, 100, "proxy refused CONNECT: 100 Continue");
}

static void test_broken(void) {
    static const char ssh[] = "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n\r\n";
    static const char h2[] = "HTTP/2 200\r\n\r\n";
    static const char letters[] = "HTTP/1.1 2OO OK\r\n\r\n";
    static const char nul[] = "HTTP/1.1 200\0OK\r\n\r\n";
    static const char half[] = "HTTP/1.1 200 Connection est";
    static const char none[] = "";
    static const char nothead[] = "HTTP/1.1 200 OK\r\nVia: x\r\n";
    char big[1400];
    size_t i;
    FAILS("ssh", ssh, false, 0, LQ_ERR_PROXY, 0, "proxy answered CONNECT with no HTTP status line: SSH-2.0-OpenSSH_9.2p1 Debian-2");
    FAILS("HTTP/2", h2, false, 0, LQ_ERR_PROXY, 0, "no HTTP status line: HTTP/2 200");
    FAILS("letters", letters, false, 0, LQ_ERR_PROXY, 0, "no HTTP status line");
    FAILS("NUL", nul, false, 0, LQ_ERR_PROXY, 0, "no HTTP status line");
    FAILS("closed mid-answer", half, true, 0, LQ_ERR_PROXY, 0, "proxy closed the connection before it answered CONNECT");
    FAILS("closed at once", none, true, 0, LQ_ERR_PROXY, 0, "proxy closed the connection before it answered CONNECT");
    FAILS("closed before the empty line", nothead, true, 0, LQ_ERR_PROXY, 0, "before it answered CONNECT");
    memcpy(big, "HTTP/1.1 200 OK\r\n", 17);
    for (i = 17; i < sizeof big - 1; i++) big[i] = (i % 60 == 59) ? '\n' : 'x';
    big[sizeof big - 1] = 0;
    tunnel_fails("over max_handshake_bytes", big, sizeof big - 1, false, 1024, LQ_ERR_PROXY, 0,
                 "proxy answered CONNECT with a head over max_handshake_bytes, 1024");
}

/* Bytes after the reply's head in the same read belong to the tunnel: here the server's refusal
   of the upgrade, which the core must see (LQ_ERR_HANDSHAKE 403), however the bytes are cut. */
static void test_bytes_after_head(void) {
    static const char a[] = "HTTP/1.1 200 OK\r\n\r\nHTTP/1.1 403 Forbidden\r\nContent-Length: 4\r\n\r\nnope";
    size_t chunk;
    for (chunk = 0; chunk < sizeof a; chunk++) {
        fx x;
        lq_transport t;
        tu_set_ctx("%lu-byte pieces", (unsigned long)chunk);
        fx_init(&x);
        x.answer = a;
        x.answer_len = sizeof a - 1;
        x.chunk = chunk;
        x.mute = true;
        if (!CHECK(fx_create(&x, &t, "ws://127.0.0.1:1337/parse", "http://127.0.0.1:3128"))) return;
        CHECK(drive(&x, c_error));
        CHECK_INT(x.err_result, LQ_ERR_HANDSHAKE);
        CHECK_INT(x.err_detail, 403);
        CHECK_HAS(x.err_msg, "server answered HTTP 403 instead of 101: nope");
        fx_done(&x);
    }
    tu_ctx[0] = 0;
}

/* Credentials: Basic base64(user:password) of the decoded escapes; host forms; the default port. */
static void request_for(const char *server, const char *proxy, const char *where, const char *connect_line,
                        const char *auth) {
    fx x;
    lq_transport t;
    char got[200];
    tu_set_ctx("%s via %s", server, proxy);
    fx_init(&x);
    if (!CHECK(fx_create(&x, &t, server, proxy))) { CHECKF(0, "create: %s", x.log); return; }
    CHECK(drive(&x, *proxy ? c_subscribed : c_asked));
    CHECK_STR(x.conns[0].where, where);
    CHECKF(strncmp(tb_str(&x.conns[0].req), connect_line, strlen(connect_line)) == 0, "request starts \"%s\": %s",
           connect_line, tb_str(&x.conns[0].req));
    CHECK_INT(tu_http_header(tb_str(&x.conns[0].req), "Proxy-Authorization", got, sizeof got), auth ? 1 : 0);
    if (auth) CHECK_STR(got, auth);
    fx_done(&x);
    tu_ctx[0] = 0;
}

static void test_requests(void) {
    char b64[64], want[80];
    tu_base64((const unsigned char *)"us@er:p:ss w/rd", 15, b64);
    snprintf(want, sizeof want, "Basic %s", b64);
    request_for("ws://127.0.0.1:1337/parse", "http://us%40er:p%3ass%20w%2Frd@127.0.0.1:3128", "127.0.0.1:3128",
                "CONNECT 127.0.0.1:1337 HTTP/1.1\r\nHost: 127.0.0.1:1337\r\n", want);
    request_for("ws://127.0.0.1:1337/parse", "http://Aladdin:open%20sesame@127.0.0.1:3128", "127.0.0.1:3128",
                "CONNECT 127.0.0.1:1337 ", "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");      /* RFC 7617's example */
    tu_base64((const unsigned char *)"user:", 5, b64);
    snprintf(want, sizeof want, "Basic %s", b64);
    request_for("ws://h.example/parse", "HTTP://user@proxy.example", "proxy.example:1080",
                "CONNECT h.example:80 HTTP/1.1\r\nHost: h.example:80\r\n", want);
    tu_base64((const unsigned char *)"u:p@ss", 6, b64);                      /* the last '@' ends the credentials */
    snprintf(want, sizeof want, "Basic %s", b64);
    request_for("ws://[::1]:1337/parse", "http://u:p@ss@[::1]:3128/", "::1:3128",
                "CONNECT [::1]:1337 HTTP/1.1\r\nHost: [::1]:1337\r\n", want);
    request_for("ws://[fe80::1]/parse", "http://[::1]", "::1:1080", "CONNECT [fe80::1]:80 ", NULL);
    tu_base64((const unsigned char *)":", 1, b64);
    snprintf(want, sizeof want, "Basic %s", b64);
    request_for("ws://a.b:9/parse", "http://:@a.b:1", "a.b:1", "CONNECT a.b:9 ", want);
    request_for("ws://127.0.0.1:1337/parse", "", "127.0.0.1:1337", "GET /parse HTTP/1.1", NULL);   /* "": no proxy */
}

/* The proxy cannot be reached: the inner transport's failure, said to be the proxy's. */
static void test_unreachable(void) {
    fx x;
    lq_transport t;
    fx_init(&x);
    x.refuse = true;
    if (!CHECK(fx_create(&x, &t, "ws://127.0.0.1:1337/parse", "http://127.0.0.1:9"))) return;
    CHECK(drive(&x, c_error));
    CHECK_INT(x.err_result, LQ_ERR_CONNECT);
    CHECK_INT(x.err_detail, 111);
    CHECK_STR(x.err_msg, "proxy: cannot connect to the proxy host: Connection refused (fake)");
    fx_done(&x);
}

/* A find on the REST link goes through its own tunnel, to the REST URL's host. */
static void test_rest(void) {
    fx x;
    lq_transport t;
    lq_desc d;
    lq_find_desc f;
    int i, rest = -1;
    fx_init(&x);
    t = fake_transport(&x);
    fx_desc(&x, &d, &t, "ws://127.0.0.1:1337/parse", "http://127.0.0.1:3128");
    d.rest_url = "http://rest.example:8080/parse";
    if (!CHECK(lq_client_create(&d, &x.c) == LQ_OK)) return;
    memset(&f, 0, sizeof f);
    f.class_name = "GameScore";
    f.on_response = on_find;
    f.user_data = &x;
    CHECK(lq_find(x.c, &f, NULL) == LQ_OK);
    CHECK(drive(&x, c_found));
    CHECK_INT(x.find_result, LQ_OK);
    CHECK_STR(x.find_body, "[{\"objectId\":\"p1\"}]");
    for (i = 0; i < x.nconns; i++)
        if (x.conns[i].rest) rest = i;
    CHECKF(rest >= 0, "a REST connection");
    if (rest >= 0) {
        CHECK_STR(x.conns[rest].where, "127.0.0.1:3128");
        CHECK_HAS(tb_str(&x.conns[rest].req), "CONNECT rest.example:8080 HTTP/1.1\r\nHost: rest.example:8080\r\n");
    }
    fx_done(&x);
}

/* create refuses what it cannot use, saying why through desc.log, never echoing a password. */
static void bad_url(const char *url, lq_result want, const char *msg) {
    fx x;
    lq_transport t;
    lq_desc d;
    tu_set_ctx("%s", url);
    fx_init(&x);
    t = fake_transport(&x);
    fx_desc(&x, &d, &t, "ws://127.0.0.1:1337/parse", url);
    CHECK_INT(lq_client_create(&d, &x.c), want);
    CHECK(x.c == NULL);
    CHECK_HAS(x.log, msg);
    CHECKF(!strstr(x.log, "secret"), "the password is not in the message: %s", x.log);
    fx_done(&x);
    tu_ctx[0] = 0;
}

static void test_validation(void) {
    fx x;
    lq_transport t;
    lq_desc d;
    char longhost[400];
    bad_url("https://u:secret@p:3128", LQ_ERR_URL, "desc.proxy_url: https:// proxies (TLS to the proxy) are not supported");
    bad_url("socks5://u:secret@p:1080", LQ_ERR_URL, "desc.proxy_url: only http:// proxies are supported");
    bad_url("p.example:3128", LQ_ERR_URL, "desc.proxy_url: it has no scheme: write http://host:port");
    bad_url("http://", LQ_ERR_URL, "it has no host");
    bad_url("http://u:secret@", LQ_ERR_URL, "it has no host");
    bad_url("http://:3128", LQ_ERR_URL, "it has no host");
    bad_url("http://u:secret@p:0", LQ_ERR_URL, "port out of range");
    bad_url("http://p:65536", LQ_ERR_URL, "port out of range");
    bad_url("http://p:", LQ_ERR_URL, "empty port");
    bad_url("http://p:31x", LQ_ERR_URL, "port is not a number");
    bad_url("http://p:3128/path", LQ_ERR_URL, "a proxy URL has no path, query or fragment");
    bad_url("http://p:3128?x=1", LQ_ERR_URL, "a proxy URL has no path");
    bad_url("http://p:3128#f", LQ_ERR_URL, "a proxy URL has no path");
    bad_url("http://u:secret%zz@p:3128", LQ_ERR_URL, "a bad %-escape in the user name or password");
    bad_url("http://u:secret%4@p:3128", LQ_ERR_URL, "a bad %-escape");
    bad_url("http://u:secret%@p:3128", LQ_ERR_URL, "a bad %-escape");
    bad_url("http://u:sec ret@p:3128", LQ_ERR_URL, "it contains a space, a control or a non-ASCII character");
    bad_url("http://u:secr\xc3\xa9t@p:3128", LQ_ERR_URL, "non-ASCII");
    bad_url("http://[::1:3128", LQ_ERR_URL, "unterminated or empty [IPv6] host");
    bad_url("http://p*x:3128", LQ_ERR_URL, "bad character in host");
    memset(longhost, 'a', sizeof longhost);
    memcpy(longhost, "http://", 7);
    longhost[sizeof longhost - 1] = 0;
    bad_url(longhost, LQ_ERR_URL, "its host is too long");
    longhost[7 + 260] = 0;
    bad_url(longhost, LQ_ERR_URL, "host name longer than 253 characters");
    /* a transport that does TLS itself cannot carry a CONNECT under its TLS */
    fx_init(&x);
    t = fake_transport(&x);
    t.tls = true;
    fx_desc(&x, &d, &t, "wss://127.0.0.1:1337/parse", "http://p:1");
    CHECK_INT(lq_client_create(&d, &x.c), LQ_ERR_INVALID_ARG);
    CHECK_HAS(x.log, "desc.proxy_url needs a desc.transport that carries plain bytes (tls = false)");
    fx_done(&x);
}

/* Allocation failure at every step of create (and of the first connect) leaks nothing. */
static void test_alloc_failures(void) {
    long n;
    bool created = false;
    for (n = 1; n < 200 && !created; n++) {
        fx x;
        lq_transport t;
        lq_desc d;
        lq_result r;
        fx_init(&x);
        x.h.fail_at = n;
        t = fake_transport(&x);
        fx_desc(&x, &d, &t, "ws://127.0.0.1:1337/parse", "http://user:pw@127.0.0.1:3128");
        r = lq_client_create(&d, &x.c);
        CHECKF(r == LQ_OK || r == LQ_ERR_NOMEM, "allocation %ld failing: create says %d", n, (int)r);
        created = r == LQ_OK && x.h.nfailed == 0;
        if (r == LQ_OK) { drive(&x, c_subscribed); }
        fx_done(&x);
    }
    CHECKF(created, "create succeeds once no allocation fails (%ld)", n);
}

static uint32_t rnd_state = 12345;
static uint32_t rnd(void) {
    rnd_state = rnd_state * 1103515245u + 12345u;
    return rnd_state >> 8;
}

/* Random proxy URLs: create says yes or no, no crash, no leak; a yes has a host and port. */
static void test_random_urls(void) {
    static const char alphabet[] = "http:/@[]%:.0123456789abcdefAF?#-_~ \x01\x80";
    static const char *const starts[] = {"http://", "http://u:p@", "http://[", "HTTP://x:", ""};
    int i;
    for (i = 0; i < 20000; i++) {
        char url[64];
        size_t n = strlen(starts[i % 5]), len = n + rnd() % 24, k;
        fx x;
        lq_transport t;
        lq_desc d;
        lq_result r;
        memcpy(url, starts[i % 5], n);
        for (k = n; k < len; k++) url[k] = alphabet[rnd() % (sizeof alphabet - 1)];
        url[len] = 0;
        fx_init(&x);
        t = fake_transport(&x);
        fx_desc(&x, &d, &t, "ws://127.0.0.1:1337/parse", url);
        r = lq_client_create(&d, &x.c);
        if (!CHECKF(r == LQ_OK || r == LQ_ERR_URL, "\"%s\": %d", url, (int)r)) break;
        if (r == LQ_OK && url[0]) {
            lq_step(x.c);
            lq_step(x.c);
            CHECKF(x.nconns == 1 && strchr(x.conns[0].where, ':') != NULL, "\"%s\" connects to a host:port", url);
        }
        fx_done(&x);
    }
}

/* Random replies, cut anywhere, then the end of the stream: a failure (the proxy's, or the
   handshake's after a 2xx), never a crash or a leak. */
static void test_random_answers(void) {
    static const char *const parts[] = {"HTTP/1.1 ", "HTTP/1.0 ", "200", "407", "2", " OK", "\r\n", "\n", "\r",
                                        "X: y", "\r\n\r\n", "\0", "\xff", "HTTP/1.", " "};
    int i;
    for (i = 0; i < 3000; i++) {
        char a[200];
        size_t n = 0;
        int k, parts_n = 1 + (int)(rnd() % 10);
        fx x;
        lq_transport t;
        for (k = 0; k < parts_n; k++) {
            const char *p = parts[rnd() % (sizeof parts / sizeof parts[0])];
            size_t pl = p[0] ? strlen(p) : 1;
            memcpy(a + n, p, pl);
            n += pl;
        }
        fx_init(&x);
        x.answer = a;
        x.answer_len = n;
        x.chunk = rnd() % 5;
        x.eof_after_answer = true;
        if (!CHECK(fx_create(&x, &t, "ws://127.0.0.1:1337/parse", "http://127.0.0.1:3128"))) return;
        drive(&x, c_error);
        CHECKF(x.errors >= 1 && x.opens == 0, "reply %d ends in an error", i);
        fx_done(&x);
    }
}

/* ---- examples/cli.h ------------------------------------------------------------------------------ */

static void test_no_proxy(void) {
    static const struct { const char *host, *list; bool match; } cases[] = {
        {"example.com", "example.com", true}, {"www.example.com", "example.com", true},
        {"a.b.example.com", "example.com", true}, {"notexample.com", "example.com", false},
        {"example.com.org", "example.com", false}, {"example.com", "www.example.com", false},
        {"www.example.com", ".example.com", true}, {"example.com", ".example.com", true},
        {"www.example.com", "*.example.com", true}, {"EXAMPLE.com", "example.COM", true},
        {"example.com.", "example.com", true}, {"example.com", "example.com.", true},
        {"localhost", "localhost", true}, {"localhost", "", false}, {"localhost", ",,", false},
        {"x.org", "a.com, b.net ,x.org", true}, {"x.org", "a.com,	x.org	", true}, {"x.org", "a.com,b.net", false},
        {"anything", "*", true}, {"anything", "a.com,*", true}, {"anything", "*a", false},
        {"127.0.0.1", "127.0.0.1", true}, {"127.0.0.1", "127.0.0.2", false}, {"127.0.0.1", "localhost", false},
        {"localhost", "127.0.0.1", false}, {"127.0.0.1", "0.0.1", false}, {"10.1.2.3", "10.0.0.0/8", true},
        {"11.1.2.3", "10.0.0.0/8", false}, {"192.168.7.9", "192.168.0.0/16", true}, {"10.1.2.3", "10.1.2.3/32", true},
        {"10.1.2.4", "10.1.2.3/32", false}, {"1.2.3.4", "0.0.0.0/0", true}, {"1.2.3.4", "1.2.3.4/33", false},
        {"1.2.3.4", "1.2.3.4/", false}, {"1.2.3.4", "1.2.3.4/x", false}, {"example.com", "10.0.0.0/8", false},
        {"::1", "::1", true}, {"::1", "[::1]", true}, {"::1", "0:0:0:0:0:0:0:1", true}, {"::1", "::2", false},
        {"fe80::1:2", "fe80::/10", true}, {"fec0::1", "fe80::/10", false}, {"2001:db8::7", "2001:DB8::/32", true},
        {"::ffff:10.0.0.1", "::ffff:10.0.0.0/104", true}, {"::1", "127.0.0.1", false}, {"127.0.0.1", "::1", false},
        {"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8", true}, {"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", false},
        {"::1", ":::1", false}, {"::1", "1::2::3", false}, {"1.2.3.4", "1.2.3.4.5", false}, {"1.2.3.4", "256.2.3.4", false},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECKF(cli_no_proxy(cases[i].host, strlen(cases[i].host), cases[i].list) == cases[i].match,
               "no_proxy \"%s\" %s %s", cases[i].list, cases[i].match ? "names" : "does not name", cases[i].host);
}

static const char *const proxy_vars[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY",
                                         "REQUEST_METHOD"};

static void env_clear(void) {
    size_t i;
    for (i = 0; i < sizeof proxy_vars / sizeof proxy_vars[0]; i++) unsetenv(proxy_vars[i]);
}

/* With these variables set, the proxy for url (option as --proxy's) is want (NULL: none). */
static void proxy_choice(const char *vars, const char *url, const char *option, const char *want) {
    char buf[256], list[256], *name;
    const char *got;
    env_clear();
    snprintf(list, sizeof list, "%s", vars);
    for (name = strtok(list, " "); name; name = strtok(NULL, " ")) {
        char *eq = strchr(name, '=');
        *eq = 0;
        setenv(name, eq + 1, 1);
    }
    got = cli_proxy_for(url, option, buf, sizeof buf);
    CHECKF(want ? got && strcmp(got, want) == 0 : got == NULL, "[%s] %s --proxy %s: got %s, want %s", vars, url,
           option ? option : "(none)", got ? got : "none", want ? want : "none");
}

static void test_proxy_choice(void) {
    const char *ws = "ws://127.0.0.1:1337/parse", *wss = "wss://parse.example/parse";
    proxy_choice("", ws, NULL, NULL);
    proxy_choice("http_proxy=http://p:1", ws, NULL, "http://p:1");
    proxy_choice("HTTP_PROXY=http://P:1", ws, NULL, "http://P:1");
    proxy_choice("http_proxy=http://p:1 HTTP_PROXY=http://P:1", ws, NULL, "http://p:1");     /* lower case first */
    proxy_choice("http_proxy= HTTP_PROXY=http://P:1", ws, NULL, "http://P:1");                /* empty is unset */
    proxy_choice("HTTP_PROXY=http://P:1 REQUEST_METHOD=GET", ws, NULL, NULL);                 /* CGI: httpoxy */
    proxy_choice("http_proxy=http://p:1 REQUEST_METHOD=GET", ws, NULL, "http://p:1");
    proxy_choice("HTTPS_PROXY=http://S:1 REQUEST_METHOD=GET", wss, NULL, "http://S:1");
    proxy_choice("https_proxy=http://s:1", ws, NULL, NULL);                                   /* by scheme */
    proxy_choice("http_proxy=http://p:1", "http://h/parse", NULL, "http://p:1");
    proxy_choice("https_proxy=http://s:1 http_proxy=http://p:1", wss, NULL, "http://s:1");
    proxy_choice("HTTPS_PROXY=http://S:1 http_proxy=http://p:1", "https://h/parse", NULL, "http://S:1");
    proxy_choice("http_proxy=http://p:1", wss, NULL, NULL);
    proxy_choice("http_proxy=p.example:3128", ws, NULL, "http://p.example:3128");             /* no scheme: http:// */
    proxy_choice("http_proxy=http://p:1", ws, "http://o:2", "http://o:2");                    /* --proxy wins */
    proxy_choice("", ws, "o:2", "http://o:2");
    proxy_choice("http_proxy=http://p:1", ws, "", NULL);                                      /* --proxy "": none */
    proxy_choice("http_proxy=http://p:1 no_proxy=127.0.0.1", ws, NULL, NULL);
    proxy_choice("http_proxy=http://p:1 NO_PROXY=127.0.0.0/8", ws, NULL, NULL);
    proxy_choice("http_proxy=http://p:1 no_proxy=localhost", ws, NULL, "http://p:1");        /* loopback is proxied */
    proxy_choice("http_proxy=http://p:1 no_proxy=localhost", "ws://localhost:1/p", NULL, NULL);
    proxy_choice("no_proxy=127.0.0.1", ws, "http://o:2", NULL);                              /* as curl: for --proxy too */
    proxy_choice("https_proxy=http://s:1 no_proxy=.example", wss, NULL, NULL);
    proxy_choice("http_proxy=http://p:1", "not a url", NULL, "http://p:1");
    env_clear();
}

/* What lqwatch --retry-connect does not retry. */
static void test_unfixable(void) {
    CHECK(cli_unfixable(LQ_ERR_PROXY, 407) && cli_unfixable(LQ_ERR_PROXY, 401) && cli_unfixable(LQ_ERR_PROXY, 403));
    CHECK(!cli_unfixable(LQ_ERR_PROXY, 502) && !cli_unfixable(LQ_ERR_PROXY, 503) && !cli_unfixable(LQ_ERR_PROXY, 0));
    CHECK(!cli_unfixable(LQ_ERR_PROXY, 404) && !cli_unfixable(LQ_ERR_CONNECT, 407));
    CHECK(cli_unfixable(LQ_ERR_TLS, 0) && cli_unfixable(LQ_ERR_HANDSHAKE, 404) && !cli_unfixable(LQ_ERR_HANDSHAKE, 502));
    CHECK(cli_connect_failure(LQ_ERR_PROXY) && cli_connect_failure(LQ_ERR_CONNECT) && !cli_connect_failure(LQ_ERR_SERVER));
}

int main(void) {
    test_tunnel_ok();
    test_refused();
    test_broken();
    test_bytes_after_head();
    test_requests();
    test_unreachable();
    test_rest();
    test_validation();
    test_alloc_failures();
    test_random_urls();
    test_random_answers();
    test_no_proxy();
    test_proxy_choice();
    test_unfixable();
    return tu_report("proxy");
}
