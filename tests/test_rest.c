/* test_rest.c - the REST client's HTTP/1.1 on the core's REST link, against scripted responses.

   The client runs on the I/O-free core (LQ_NO_SOCKETS) with a fake clock and the counting
   allocator; this test plays the server of the REST link through lq_core_link_*: it opens the
   connection when asked, reads the request the client wrote, and feeds a response (in one piece,
   or a byte at a time). What a real Parse Server cannot be made to send is here: chunk extensions
   and trailers, a body cut by EOF, a reset mid-body, an oversize body, bad JSON, an HTTP 500 page,
   a status line that is not HTTP, a server that closes an idle connection under a request. The
   real server's answers are in test_live.c (rest_*). Nothing may be left allocated at the end. */
#define LIVEQUERY_IMPLEMENTATION
#define LQ_NO_SOCKETS
#include "../livequery.h"
#include "testutil.h"

#define R LQ_LINK_REST

typedef struct got {
    int n;
    lq_result result[16];
    int status[16], code[16];
    char msg[16][200];
    char results[16][400];
    uint32_t id[16];
} got;

typedef struct fx {
    tu_harness h;               /* first: the callbacks get it as user_data */
    lq_client *c;
    uint64_t now;
    got g;
    tbuf req;                   /* what the client sent on the REST link */
} fx;

static void on_resp(lq_client *c, const lq_response *r, void *ud) {
    got *g = (got *)ud;
    size_t n = 0;
    const char *raw = lq_json_raw(r->results, &n);
    (void)c;
    if (g->n >= 16) return;
    g->result[g->n] = r->result;
    g->status[g->n] = r->status;
    g->code[g->n] = r->error_code;
    g->id[g->n] = r->request.id;
    snprintf(g->msg[g->n], sizeof g->msg[0], "%s", r->error_message);
    snprintf(g->results[g->n], sizeof g->results[0], "%.*s", raw ? (int)(n < 399 ? n : 399) : 0, raw ? raw : "");
    g->n++;
}

static void fx_open(fx *x, size_t max_response) {
    lq_desc d;
    memset(x, 0, sizeof *x);
    tu_harness_init(&x->h);
    memset(&d, 0, sizeof d);
    d.server_url = "ws://127.0.0.1:1337/parse";
    d.application_id = "app";
    d.javascript_key = "jsk";
    d.session_token = "r:client";
    d.random = tu_random_cb;
    d.user_data = &x->h;
    d.max_response_bytes = max_response;
    tu_use_alloc(&d, &x->h);
    x->now = 1000;
    CHECK(lq_client_create(&d, &x->c) == LQ_OK);
}

static void fx_close(fx *x) {
    lq_client_destroy(x->c);
    CHECKF(x->h.live == 0, "%lu bytes left after lq_client_destroy", (unsigned long)x->h.live);
    tu_harness_free(&x->h);
    tb_free(&x->req);
}

/* Takes what the client has for the REST link into x->req. */
static void fx_take(fx *x) {
    size_t n;
    const void *p = lq_core_link_peek(x->c, R, &n);
    if (n) tb_put(&x->req, p, n);
    lq_core_link_consume(x->c, R, n);
}

static void fx_feed(fx *x, const char *s, bool bytewise) {
    size_t i, n = strlen(s);
    if (!bytewise) { lq_core_link_feed(x->c, R, s, n, x->now); return; }
    for (i = 0; i < n; i++) lq_core_link_feed(x->c, R, s + i, 1, x->now);
}

static void fx_tick(fx *x, uint64_t ms) {
    x->now += ms;
    lq_core_tick(x->c, x->now);
}

static lq_find_desc fdesc(fx *x) {
    lq_find_desc f;
    memset(&f, 0, sizeof f);
    f.class_name = "GameScore";
    f.on_response = on_resp;
    f.user_data = &x->g;
    return f;
}

/* Opens the REST link when the client asks, and reads the request. */
static void fx_accept(fx *x) {
    fx_tick(x, 0);
    CHECKF(lq_core_link_io(x->c, R) == LQ_IO_CONNECT, "the REST link asks to connect (io %d)", lq_core_link_io(x->c, R));
    lq_core_link_opened(x->c, R, x->now);
    fx_take(x);
}

#define OK_HEAD "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
#define RESULTS "{\"results\":[{\"objectId\":\"a1\",\"score\":7}]}"

static void t_request_text(void) {
    fx x;
    lq_find_desc f;
    char v[200];
    const char *body;
    lq_request q;
    tu_set_ctx("request text");
    fx_open(&x, 0);
    CHECK(lq_core_link_io(x.c, R) == LQ_IO_NONE);            /* no call, no connection */
    {
        const lq_url *u = lq_core_link_url(x.c, R);         /* from server_url: ws:// is http:// */
        CHECK(u && !u->tls && u->port == 1337 && u->host_len == 9 && memcmp(u->host, "127.0.0.1", 9) == 0);
    }
    f = fdesc(&x);
    f.where = "{\"score\":{\"$gt\":5}}";
    f.order = "-score,name";
    f.limit = 10;
    f.skip = 20;
    f.keys = "score";
    f.include = "owner";
    f.count = true;
    CHECK(lq_find(x.c, &f, &q) == LQ_OK && q.id != 0);
    fx_accept(&x);
    CHECKF(strncmp(tb_str(&x.req), "POST /parse/classes/GameScore HTTP/1.1\r\n", 40) == 0, "request line: %.60s", tb_str(&x.req));
    CHECK_INT(tu_http_header(tb_str(&x.req), "Host", v, sizeof v), 1);
    CHECK_STR(v, "127.0.0.1:1337");
    CHECK_INT(tu_http_header(tb_str(&x.req), "X-Parse-Application-Id", v, sizeof v), 1);
    CHECK_STR(v, "app");
    CHECK_INT(tu_http_header(tb_str(&x.req), "X-Parse-JavaScript-Key", v, sizeof v), 1);
    CHECK_STR(v, "jsk");
    CHECK_INT(tu_http_header(tb_str(&x.req), "X-Parse-Session-Token", v, sizeof v), 1);
    CHECK_STR(v, "r:client");
    CHECK_INT(tu_http_header(tb_str(&x.req), "X-Parse-Master-Key", v, sizeof v), 0);
    body = strstr(tb_str(&x.req), "\r\n\r\n");
    CHECK(body != NULL);
    if (body) {
        body += 4;
        CHECK_STR(body, "{\"_method\":\"GET\",\"where\":{\"score\":{\"$gt\":5}},\"order\":\"-score,name\",\"keys\":\"score\","
                        "\"include\":\"owner\",\"limit\":10,\"skip\":20,\"count\":1}");
        CHECK_INT(tu_http_header(tb_str(&x.req), "Content-Length", v, sizeof v), 1);
        CHECK_INT(atoi(v), (long long)strlen(body));
    }
    fx_feed(&x, OK_HEAD "Content-Length: 41\r\n\r\n" RESULTS, false);
    CHECK(x.g.n == 1 && x.g.result[0] == LQ_OK && x.g.status[0] == 200 && x.g.id[0] == q.id);
    CHECK_STR(x.g.results[0], "[{\"objectId\":\"a1\",\"score\":7}]");
    /* get, with its session token, keys and include in the query string */
    tb_reset(&x.req);
    f = fdesc(&x);
    f.object_id = "a1";
    f.keys = "score,name";
    f.include = "owner.team";
    f.session_token = "r:mine";
    CHECK(lq_get(x.c, &f, NULL) == LQ_OK);
    fx_take(&x);                                            /* kept alive: sent at once */
    CHECKF(strncmp(tb_str(&x.req), "GET /parse/classes/GameScore/a1?keys=score,name&include=owner.team HTTP/1.1\r\n", 76) == 0,
           "get: %.80s", tb_str(&x.req));
    CHECK_INT(tu_http_header(tb_str(&x.req), "X-Parse-Session-Token", v, sizeof v), 1);
    CHECK_STR(v, "r:mine");
    fx_feed(&x, OK_HEAD "Content-Length: 27\r\n\r\n{\"objectId\":\"a1\",\"score\":7}", false);
    CHECK(x.g.n == 2 && x.g.result[1] == LQ_OK);
    CHECK_STR(x.g.results[1], "{\"objectId\":\"a1\",\"score\":7}");
    /* login: no session header, a revocable session asked for */
    tb_reset(&x.req);
    CHECK(lq_login(x.c, "bob", "pw\"1", on_resp, &x.g, NULL) == LQ_OK);
    fx_take(&x);
    CHECKF(strncmp(tb_str(&x.req), "POST /parse/login HTTP/1.1\r\n", 28) == 0, "login: %.60s", tb_str(&x.req));
    CHECK_INT(tu_http_header(tb_str(&x.req), "X-Parse-Session-Token", v, sizeof v), 0);
    CHECK_INT(tu_http_header(tb_str(&x.req), "X-Parse-Revocable-Session", v, sizeof v), 1);
    CHECK_HAS(tb_str(&x.req), "\r\n\r\n{\"username\":\"bob\",\"password\":\"pw\\\"1\"}");
    fx_close(&x);                                           /* a call in flight: dropped, no callback */
    CHECK(x.g.n == 2);
}

/* Chunked, with an extension and a trailer, fed whole and a byte at a time. */
static void t_chunked(void) {
    int bytewise;
    for (bytewise = 0; bytewise < 2; bytewise++) {
        fx x;
        lq_find_desc f;
        tu_set_ctx("chunked%s", bytewise ? " bytewise" : "");
        fx_open(&x, 0);
        f = fdesc(&x);
        CHECK(lq_find(x.c, &f, NULL) == LQ_OK);
        CHECK(lq_find(x.c, &f, NULL) == LQ_OK);
        fx_accept(&x);
        fx_feed(&x, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"
                    "c;name=value\r\n{\"results\":[\r\n"
                    "1D\r\n{\"objectId\":\"a1\",\"score\":7}]}\r\n"
                    "0\r\nX-Trailer: 1\r\n\r\n", bytewise != 0);
        CHECKF(x.g.n == 1 && x.g.result[0] == LQ_OK, "%d responses, %s (%s)", x.g.n, lq_result_str(x.g.result[0]), x.g.msg[0]);
        CHECK_STR(x.g.results[0], "[{\"objectId\":\"a1\",\"score\":7}]");
        /* the second goes out on the same connection, and is answered with Content-Length */
        tb_reset(&x.req);
        fx_take(&x);
        CHECK(strncmp(tb_str(&x.req), "POST ", 5) == 0);
        fx_feed(&x, OK_HEAD "content-length: 41\r\n\r\n" RESULTS, bytewise != 0);
        CHECK(x.g.n == 2 && x.g.result[1] == LQ_OK);
        CHECK(lq_core_link_io(x.c, R) == LQ_IO_NONE);
        fx_tick(&x, 3999);
        CHECK(lq_core_link_io(x.c, R) == LQ_IO_NONE);
        CHECK(lq__rest_timeout(x.c, x.now) == 1);
        fx_tick(&x, 1);                                     /* idle for 4 s: closed */
        CHECK(lq_core_link_io(x.c, R) == LQ_IO_CLOSE);
        lq_core_link_closed(x.c, R, LQ_OK, 0, x.now);
        CHECK(lq_core_link_io(x.c, R) == LQ_IO_NONE);
        fx_close(&x);
    }
}

/* Connection: close and a body up to EOF; the next call opens a new connection. */
static void t_close_delimited(void) {
    fx x;
    lq_find_desc f;
    tu_set_ctx("close-delimited");
    fx_open(&x, 0);
    f = fdesc(&x);
    CHECK(lq_find(x.c, &f, NULL) == LQ_OK);
    CHECK(lq_find(x.c, &f, NULL) == LQ_OK);
    fx_accept(&x);
    fx_feed(&x, OK_HEAD "Connection: close\r\nContent-Length: 41\r\n\r\n" RESULTS, false);
    CHECK(x.g.n == 1 && x.g.result[0] == LQ_OK);
    CHECK(lq_core_link_io(x.c, R) == LQ_IO_CLOSE);
    lq_core_link_closed(x.c, R, LQ_OK, 0, x.now);
    fx_accept(&x);                                          /* the second call */
    fx_feed(&x, "HTTP/1.0 200 OK\r\n\r\n" RESULTS, false);   /* no length: up to EOF */
    CHECK(x.g.n == 1);
    lq_core_link_closed(x.c, R, LQ_OK, 0, x.now);
    CHECKF(x.g.n == 2 && x.g.result[1] == LQ_OK, "EOF ends the body: %s (%s)", lq_result_str(x.g.result[1]), x.g.msg[1]);
    CHECK(lq_core_link_io(x.c, R) == LQ_IO_NONE);
    fx_close(&x);
}

/* Errors: each fails its call with the right result, and the client goes on. */
static void t_errors(void) {
    static const struct { const char *name, *response; lq_result result; int status, code; const char *msg; } cases[] = {
        {"Parse error", "HTTP/1.1 400 Bad Request\r\nContent-Length: 46\r\n\r\n{\"code\":209,\"error\":\"Invalid session token\"}  ",
         LQ_ERR_SERVER, 400, 209, "Invalid session token"},
        {"HTTP 500 page", "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 21\r\n\r\n<h1>it broke</h1>\n\n\n\n",
         LQ_ERR_HTTP, 500, 0, "HTTP 500: <h1>it broke</h1>"},
        {"bad JSON", OK_HEAD "Content-Length: 12\r\n\r\n{\"results\":[", LQ_ERR_JSON, 200, 0, "HTTP 200: {\"results\":["},
        {"not results", OK_HEAD "Content-Length: 2\r\n\r\n{}", LQ_ERR_JSON, 200, 0, "HTTP 200 with an unexpected body"},
        {"not HTTP", "SSH-2.0-OpenSSH\r\n\r\n", LQ_ERR_PROTOCOL, 0, 0, "not an HTTP response"},
        {"bad length", OK_HEAD "Content-Length: x\r\n\r\n", LQ_ERR_PROTOCOL, 200, 0, "bad Content-Length"},
        {"bad chunk", OK_HEAD "Transfer-Encoding: chunked\r\n\r\nzz\r\n", LQ_ERR_PROTOCOL, 200, 0, "bad chunk size"},
        {"oversize length", OK_HEAD "Content-Length: 5000\r\n\r\n", LQ_ERR_LIMIT, 200, 0, "a response of 5000 bytes is over max_response_bytes (1000)"},
        {"oversize chunk", OK_HEAD "Transfer-Encoding: chunked\r\n\r\n1000\r\n", LQ_ERR_LIMIT, 200, 0, "the response is over max_response_bytes (1000)"},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fx x;
        lq_find_desc f;
        tu_set_ctx("error: %s", cases[i].name);
        fx_open(&x, 1000);
        f = fdesc(&x);
        CHECK(lq_find(x.c, &f, NULL) == LQ_OK);
        fx_accept(&x);
        fx_feed(&x, cases[i].response, false);
        CHECKF(x.g.n == 1 && x.g.result[0] == cases[i].result && x.g.status[0] == cases[i].status && x.g.code[0] == cases[i].code,
               "%d responses: %s, HTTP %d, code %d (%s)", x.g.n, lq_result_str(x.g.result[0]), x.g.status[0], x.g.code[0], x.g.msg[0]);
        CHECK_STR(x.g.msg[0], cases[i].msg);
        if (cases[i].result == LQ_ERR_SERVER || cases[i].result == LQ_ERR_HTTP || cases[i].result == LQ_ERR_JSON) {
            CHECK(lq_core_link_io(x.c, R) == LQ_IO_NONE);   /* a whole response: the connection stays */
        } else {
            CHECK(lq_core_link_io(x.c, R) == LQ_IO_CLOSE);  /* the stream cannot be trusted */
            lq_core_link_closed(x.c, R, LQ_OK, 0, x.now);
        }
        tb_reset(&x.req);
        CHECK(lq_find(x.c, &f, NULL) == LQ_OK);             /* and the next call works */
        if (lq_core_link_io(x.c, R) == LQ_IO_CONNECT) fx_accept(&x); else fx_take(&x);
        CHECK(strncmp(tb_str(&x.req), "POST ", 5) == 0);
        fx_feed(&x, OK_HEAD "Content-Length: 41\r\n\r\n" RESULTS, false);
        CHECK(x.g.n == 2 && x.g.result[1] == LQ_OK);
        fx_close(&x);
    }
}

/* The link breaks: refused, reset mid-body, a reused connection closed before any answer
   (sent again once), a server that never answers. */
static void t_link_failures(void) {
    fx x;
    lq_find_desc f;
    tu_set_ctx("link failures");
    fx_open(&x, 0);
    f = fdesc(&x);
    CHECK(lq_find(x.c, &f, NULL) == LQ_OK);
    fx_tick(&x, 0);
    CHECK(lq_core_link_io(x.c, R) == LQ_IO_CONNECT);
    lq_core_link_closed(x.c, R, LQ_ERR_CONNECT, 111, x.now);   /* refused */
    CHECKF(x.g.n == 1 && x.g.result[0] == LQ_ERR_CONNECT && x.g.status[0] == 0, "refused: %s", lq_result_str(x.g.result[0]));
    CHECK(lq_core_link_io(x.c, R) == LQ_IO_NONE);
    /* reset mid-body */
    CHECK(lq_find(x.c, &f, NULL) == LQ_OK);
    fx_accept(&x);
    fx_feed(&x, OK_HEAD "Content-Length: 44\r\n\r\n{\"results\":", false);
    lq_core_link_closed(x.c, R, LQ_ERR_IO, 104, x.now);
    CHECKF(x.g.n == 2 && x.g.result[1] == LQ_ERR_IO && x.g.status[1] == 200, "reset: %s HTTP %d", lq_result_str(x.g.result[1]), x.g.status[1]);
    /* EOF mid-body */
    CHECK(lq_find(x.c, &f, NULL) == LQ_OK);
    fx_accept(&x);
    fx_feed(&x, OK_HEAD "Content-Length: 44\r\n\r\n{\"results\":", false);
    lq_core_link_closed(x.c, R, LQ_OK, 0, x.now);
    CHECKF(x.g.n == 3 && x.g.result[2] == LQ_ERR_CLOSED, "EOF mid-body: %s", lq_result_str(x.g.result[2]));
    CHECK_STR(x.g.msg[2], "the server closed the connection before the response was complete");
    /* a kept-alive connection closed by the server before it answers: sent again, once */
    CHECK(lq_find(x.c, &f, NULL) == LQ_OK);
    fx_accept(&x);
    fx_feed(&x, OK_HEAD "Content-Length: 41\r\n\r\n" RESULTS, false);
    CHECK(x.g.n == 4 && x.g.result[3] == LQ_OK);
    tb_reset(&x.req);
    CHECK(lq_find(x.c, &f, NULL) == LQ_OK);
    fx_take(&x);
    lq_core_link_closed(x.c, R, LQ_OK, 0, x.now);           /* the idle close crossed the request */
    CHECK(x.g.n == 4);
    tb_reset(&x.req);
    fx_accept(&x);
    CHECKF(strncmp(tb_str(&x.req), "POST ", 5) == 0, "sent again on a new connection");
    lq_core_link_closed(x.c, R, LQ_OK, 0, x.now);           /* a new connection closed: no second retry */
    CHECKF(x.g.n == 5 && x.g.result[4] == LQ_ERR_CLOSED, "not retried on a fresh connection: %d, %s", x.g.n, lq_result_str(x.g.result[4]));
    /* no answer within rest_timeout_ms (30 s) */
    CHECK(lq_find(x.c, &f, NULL) == LQ_OK);
    fx_accept(&x);
    fx_tick(&x, 29999);
    CHECK(x.g.n == 5 && lq__rest_timeout(x.c, x.now) == 1);
    fx_tick(&x, 1);
    CHECKF(x.g.n == 6 && x.g.result[5] == LQ_ERR_TIMEOUT, "timeout: %s (%s)", lq_result_str(x.g.result[5]), x.g.msg[5]);
    CHECK(lq_core_link_io(x.c, R) == LQ_IO_CLOSE);
    lq_core_link_closed(x.c, R, LQ_OK, 0, x.now);
    /* a connect that never completes times out the same way */
    CHECK(lq_find(x.c, &f, NULL) == LQ_OK);
    fx_tick(&x, 0);
    fx_tick(&x, 30000);
    CHECK(x.g.n == 7 && x.g.result[6] == LQ_ERR_TIMEOUT && lq_core_link_io(x.c, R) == LQ_IO_CLOSE);
    lq_core_link_closed(x.c, R, LQ_OK, 0, x.now);
    CHECK(lq_core_link_io(x.c, R) == LQ_IO_NONE && lq__rest_timeout(x.c, x.now) == -1);
    fx_close(&x);
}

/* lq_cancel, lq_close and the arguments the calls refuse. */
static void t_cancel_close(void) {
    fx x;
    lq_find_desc f;
    lq_request a, b, c;
    tu_set_ctx("cancel and close");
    fx_open(&x, 0);
    f = fdesc(&x);
    CHECK(lq_find(x.c, &f, &a) == LQ_OK && lq_find(x.c, &f, &b) == LQ_OK && lq_find(x.c, &f, &c) == LQ_OK);
    CHECK(a.id != b.id && b.id != c.id);
    fx_accept(&x);
    CHECK(lq_cancel(x.c, a) == LQ_OK);                      /* on the wire: its answer is read, not reported */
    CHECK(lq_cancel(x.c, b) == LQ_OK);                      /* queued: never sent */
    CHECK(lq_cancel(x.c, a) == LQ_ERR_INVALID_ARG && lq_cancel(x.c, b) == LQ_ERR_INVALID_ARG);
    fx_feed(&x, OK_HEAD "Content-Length: 41\r\n\r\n" RESULTS, false);
    CHECK(x.g.n == 0);
    tb_reset(&x.req);
    fx_take(&x);                                            /* c went out, b did not */
    CHECK(strncmp(tb_str(&x.req), "POST ", 5) == 0 && strstr(tb_str(&x.req) + 5, "POST ") == NULL);
    fx_feed(&x, OK_HEAD "Content-Length: 41\r\n\r\n" RESULTS, false);
    CHECK(x.g.n == 1 && x.g.id[0] == c.id);
    CHECK(lq_cancel(x.c, c) == LQ_ERR_INVALID_ARG);
    a.id = 0;
    CHECK(lq_cancel(x.c, a) == LQ_ERR_INVALID_ARG && lq_cancel(NULL, c) == LQ_ERR_INVALID_ARG);
    /* refused arguments */
    f.class_name = "Game/Score";
    CHECK(lq_find(x.c, &f, NULL) == LQ_ERR_INVALID_ARG);
    f.class_name = "GameScore";
    f.where = "{\"a\":";
    CHECK(lq_find(x.c, &f, NULL) == LQ_ERR_JSON);
    f.where = NULL;
    f.order = "\xff";
    CHECK(lq_find(x.c, &f, NULL) == LQ_ERR_UTF8);
    f.order = NULL;
    CHECK(lq_get(x.c, &f, NULL) == LQ_ERR_INVALID_ARG);     /* no object_id */
    f.object_id = "a/../b";
    CHECK(lq_get(x.c, &f, NULL) == LQ_ERR_INVALID_ARG);
    f.object_id = NULL;
    f.session_token = "r:x\nEvil: 1";
    CHECK(lq_find(x.c, &f, NULL) == LQ_ERR_INVALID_ARG);
    f.session_token = NULL;
    CHECK(lq_login(x.c, NULL, "pw", on_resp, &x.g, NULL) == LQ_ERR_INVALID_ARG);
    CHECK(lq_login(x.c, "bob", "pw", NULL, &x.g, NULL) == LQ_ERR_INVALID_ARG);
    CHECK(lq_find(NULL, &f, NULL) == LQ_ERR_INVALID_ARG && lq_find(x.c, NULL, NULL) == LQ_ERR_INVALID_ARG);
    /* lq_close: what is queued fails with LQ_ERR_CLOSED, the connection closes, then DONE */
    CHECK(lq_find(x.c, &f, &a) == LQ_OK && lq_find(x.c, &f, &b) == LQ_OK);
    CHECK(lq_close(x.c) == LQ_OK);
    CHECK(x.g.n == 3 && x.g.result[1] == LQ_ERR_CLOSED && x.g.result[2] == LQ_ERR_CLOSED && x.g.id[1] == a.id);
    CHECK(lq_find(x.c, &f, NULL) == LQ_ERR_STATE);
    CHECK(lq_core_link_io(x.c, R) == LQ_IO_CLOSE);
    CHECK(lq_core_io(x.c) != LQ_IO_DONE);                   /* not while the REST link is open */
    lq_core_link_closed(x.c, R, LQ_OK, 0, x.now);
    lq_core_closed(x.c, LQ_OK, 0, x.now);
    fx_tick(&x, 0);
    CHECKF(lq_core_io(x.c) == LQ_IO_DONE && lq_core_link_io(x.c, R) == LQ_IO_DONE, "done: %d %d", lq_core_io(x.c),
           lq_core_link_io(x.c, R));
    fx_close(&x);
}

/* A callback that makes the next call from inside: it goes out on the same connection. */
static void chain(lq_client *c, const lq_response *r, void *ud) {
    fx *x = (fx *)ud;
    lq_find_desc f;
    on_resp(c, r, &x->g);
    if (x->g.n < 3) {
        f = fdesc(x);
        f.on_response = chain;
        f.user_data = x;
        CHECK(lq_find(c, &f, NULL) == LQ_OK);
    }
}

static void t_call_from_callback(void) {
    fx x;
    lq_find_desc f;
    int i;
    tu_set_ctx("a call from the callback");
    fx_open(&x, 0);
    f = fdesc(&x);
    f.on_response = chain;
    f.user_data = &x;
    CHECK(lq_find(x.c, &f, NULL) == LQ_OK);
    fx_accept(&x);
    for (i = 0; i < 3; i++) {
        tb_reset(&x.req);
        fx_feed(&x, OK_HEAD "Content-Length: 41\r\n\r\n" RESULTS, false);
        fx_take(&x);
        CHECKF(x.g.n == i + 1 && x.g.result[i] == LQ_OK, "response %d", i);
        CHECKF((i < 2) == (strncmp(tb_str(&x.req), "POST ", 5) == 0), "the next request %s", i < 2 ? "went out" : "is none");
    }
    fx_close(&x);
}

static char proxy_why[200];
static void t_proxy_log(lq_log_level level, const char *message, void *user) {
    (void)user;
    if (level == LQ_LOG_ERROR) snprintf(proxy_why, sizeof proxy_why, "%s", message);
}

/* desc.proxy_url needs the socket layer: with LQ_NO_SOCKETS it is refused, not ignored (the
   caller's own I/O would connect past the proxy it asked for). "" is none. */
static void t_proxy_without_sockets(void) {
    lq_desc d;
    lq_client *c = NULL;
    tu_harness h;
    tu_harness_init(&h);
    memset(&d, 0, sizeof d);
    d.server_url = "ws://127.0.0.1:1337/parse";
    d.application_id = "app";
    d.random = tu_random_cb;
    d.log = t_proxy_log;
    d.user_data = &h;
    d.proxy_url = "http://127.0.0.1:3128";
    CHECK_INT(lq_client_create(&d, &c), LQ_ERR_INVALID_ARG);
    CHECK_HAS(proxy_why, "desc.proxy_url needs the socket layer");
    d.proxy_url = "";
    CHECK_INT(lq_client_create(&d, &c), LQ_OK);
    lq_client_destroy(c);
    tu_harness_free(&h);
}

int main(void) {
    t_proxy_without_sockets();
    t_request_text();
    t_chunked();
    t_close_delimited();
    t_errors();
    t_link_failures();
    t_cancel_close();
    t_call_from_callback();
    tu_ctx[0] = 0;
    return tu_report("rest");
}
