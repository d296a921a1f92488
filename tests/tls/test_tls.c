/* test_tls: livequery.h over wss:// with mbedTLS, against the real Parse Server behind the Node
   TLS fronts of tests/tls (run by tests/tls/run.sh).

     test_tls GOOD_URL WRONG_HOST_URL CA_FILE OTHER_CA_FILE CREATE_COMMAND

   GOOD_URL is a front whose certificate CA_FILE signed (run.sh gives the --split one, so every TLS
   record arrives cut into one-byte reads); WRONG_HOST_URL serves a certificate for another name;
   OTHER_CA_FILE is an unrelated CA. CREATE_COMMAND (run by system()) creates a GameScore with
   playerName "test_tls". The CA goes in as PEM text (desc.tls_ca_pem), freed right after
   lq_client_create: the client must keep its own copy. The events also come through a plain TCP
   transport of the caller's (tls = false: mbedTLS runs over it); with tls = true the same
   transport is used as it is, and the TLS front hears plain HTTP.
   Build: cc -std=c99 -DLQ_USE_MBEDTLS -fsanitize=address,undefined -I. tests/tls/test_tls.c
          -lmbedtls -lmbedx509 -lmbedcrypto     (or -DLQ_USE_OPENSSL ... -lssl -lcrypto)
   Windows: x86_64-w64-mingw32-gcc -std=c99 -DLQ_USE_SCHANNEL -I. tests/tls/test_tls.c -lsecur32
          -lcrypt32 -lws2_32 -lbcrypt (tests/tls/run-schannel.sh runs it under wine). With
          TLS_NO_RESUMPTION set in the environment, the resumption case checks the reconnect and
          reports the resumed handshakes without requiring one (wine's Schannel keeps no cache). */
#define LIVEQUERY_IMPLEMENTATION
#include "livequery.h"
#include "../testutil.h"

#ifdef _WIN32                   /* the implementation brought in winsock2.h */
typedef SOCKET plain_socket;
#define PLAIN_BAD INVALID_SOCKET
#define plain_errno() WSAGetLastError()
#define PLAIN_AGAIN(e) ((e) == WSAEWOULDBLOCK)
#define PLAIN_INTR(e) ((e) == WSAEINTR)
#define PLAIN_RESET WSAECONNRESET
#define plain_closesocket closesocket
#define MSG_NOSIGNAL 0
typedef int plain_len;
static void plain_nonblocking(plain_socket s) { u_long one = 1; ioctlsocket(s, (long)FIONBIO, &one); }
#else
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
typedef int plain_socket;
#define PLAIN_BAD (-1)
#define plain_errno() errno
#define PLAIN_AGAIN(e) ((e) == EAGAIN || (e) == EWOULDBLOCK)
#define PLAIN_INTR(e) ((e) == EINTR)
#define PLAIN_RESET ECONNRESET
#define plain_closesocket close
typedef size_t plain_len;
static void plain_nonblocking(plain_socket s) { fcntl(s, F_SETFL, fcntl(s, F_GETFL, 0) | O_NONBLOCK); }
#endif

typedef struct seen {
    int open, subscribed, create, error, close;
    lq_result error_result;
    bool error_before_open;
    char error_message[512];
    char last_error[512];       /* of the latest ERROR event */
    char player[64];
    double score;
} seen;

static void on_event(lq_client *c, const lq_event *ev, void *user) {
    seen *s = (seen *)user;
    (void)c;
    switch (ev->type) {
    case LQ_EVENT_OPEN: s->open++; break;
    case LQ_EVENT_SUBSCRIBED: s->subscribed++; break;
    case LQ_EVENT_CREATE:
        s->create++;
        lq_json_string(lq_json_get(ev->object, "playerName"), s->player, sizeof s->player);
        s->score = lq_json_number(lq_json_get(ev->object, "score"), -1);
        break;
    case LQ_EVENT_ERROR:
        snprintf(s->last_error, sizeof s->last_error, "%s", ev->error_message ? ev->error_message : "");
        if (s->error++ == 0) {
            s->error_result = ev->result;
            s->error_before_open = s->open == 0;
            snprintf(s->error_message, sizeof s->error_message, "%s", ev->error_message ? ev->error_message : "");
        }
        break;
    case LQ_EVENT_CLOSE: s->close++; break;
    default: break;
    }
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    char *text;
    long n;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) { fclose(f); return NULL; }
    text = (char *)malloc((size_t)n + 1);
    if (text && fread(text, 1, (size_t)n, f) != (size_t)n) { free(text); text = NULL; }
    if (text) text[n] = 0;
    fclose(f);
    return text;
}

/* ---- a plain TCP transport of the caller's: one socket per connection (its conn) -------------- */

typedef struct plain {
    int connects, closes;
    bool cut;                   /* the next recv fails: the link is lost, the client reconnects */
    int refuse;                 /* this many connects fail (then the next endpoint is tried) */
    char last_host[64];         /* of the last connect */
} plain;

static int plain_connect(lq_client *c, void *self, void **conn, const lq_url *url) {
    struct sockaddr_in a;
    char host[64];
    plain_socket *fd = (plain_socket *)malloc(sizeof *fd);
    if (!fd) return LQ_ERR_NOMEM;
    ((plain *)self)->connects++;
    *fd = socket(AF_INET, SOCK_STREAM, 0);
    *conn = fd;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(url->port);
    snprintf(host, sizeof host, "%.*s", (int)url->host_len, url->host);
    snprintf(((plain *)self)->last_host, sizeof ((plain *)self)->last_host, "%s", host);
    if (((plain *)self)->refuse > 0) {
        ((plain *)self)->refuse--;
        lq_transport_error(c, ECONNREFUSED, "plain transport: refused on purpose");
        return LQ_ERR_CONNECT;
    }
    if (strcmp(host, "localhost") == 0) snprintf(host, sizeof host, "127.0.0.1");
    if (*fd == PLAIN_BAD || inet_pton(AF_INET, host, &a.sin_addr) != 1 || connect(*fd, (struct sockaddr *)&a, sizeof a) != 0) {
        lq_transport_error(c, plain_errno(), "plain transport: cannot connect (the fronts listen on 127.0.0.1)");
        return LQ_ERR_CONNECT;
    }
    plain_nonblocking(*fd);
    return LQ_OK;
}

/* A send or recv's answer in the transport's terms. */
static long plain_io(lq_client *c, long n, int want) {
    int e = plain_errno();
    if (n >= 0) return n;
    if (PLAIN_AGAIN(e)) return want;
    lq_transport_error(c, e, "plain transport: send or recv failed");
    return LQ_ERR_IO;
}

static long plain_send(lq_client *c, void *self, void *conn, const void *buf, size_t len) {
    plain_socket fd = *(plain_socket *)conn;
    long n;
    (void)self;
    do n = (long)send(fd, (const char *)buf, (plain_len)len, MSG_NOSIGNAL); while (n < 0 && PLAIN_INTR(plain_errno()));
    return plain_io(c, n, LQ_IO_WANT_WRITE);
}

static long plain_recv(lq_client *c, void *self, void *conn, void *buf, size_t len) {
    plain_socket fd = *(plain_socket *)conn;
    long n;
    if (((plain *)self)->cut) {
        ((plain *)self)->cut = false;
        lq_transport_error(c, PLAIN_RESET, "cut by the test");
        return LQ_ERR_IO;
    }
    if (len > 0x40000000u) len = 0x40000000u;
    do n = (long)recv(fd, (char *)buf, (plain_len)len, 0); while (n < 0 && PLAIN_INTR(plain_errno()));
    return plain_io(c, n, LQ_IO_WANT_READ);
}

static void plain_close(lq_client *c, void *self, void *conn) {
    (void)c;
    ((plain *)self)->closes++;
    if (conn && *(plain_socket *)conn != PLAIN_BAD) plain_closesocket(*(plain_socket *)conn);
    free(conn);
}

static int plain_fd(lq_client *c, void *self, void *conn) {
    (void)c; (void)self;
    return conn ? (int)*(plain_socket *)conn : -1;
}

static lq_transport plain_transport(plain *p, bool tls) {
    lq_transport t;
    memset(&t, 0, sizeof t);
    t.connect = plain_connect;
    t.send = plain_send;
    t.recv = plain_recv;
    t.close = plain_close;
    t.fd = plain_fd;
    t.self = p;
    t.tls = tls;
    return t;
}

/* ---- the cases ---------------------------------------------------------------------------------- */

/* What the backend says about a chain from another CA, and a name the certificate lacks. */
#if defined(LQ_USE_OPENSSL)
#define BAD_CA "unable to get local issuer certificate"
#define BAD_NAME "hostname mismatch"
#elif defined(LQ_USE_SCHANNEL)
#define BAD_CA "it is not signed by a trusted CA"
#define BAD_NAME "it does not name host"
#else
#define BAD_CA "not correctly signed by the trusted CA"
#define BAD_NAME "Common Name (CN) does not match"
#endif

/* The pins of the clients make_client_on makes (none unless a test sets them). */
static const char *const *g_pins;
static int g_num_pins;
static const char *const *g_more_urls;          /* desc.server_urls of the next clients */
static int g_num_more_urls;

/* lq.test and its subdomains are 127.0.0.1 (the wildcard front): no DNS, no /etc/hosts. */
static bool resolve_lq_test(const char *host, char *out, size_t cap, void *user) {
    size_t n = strlen(host);
    (void)user;
    if (!(strcmp(host, "lq.test") == 0 || (n > 8 && strcmp(host + n - 8, ".lq.test") == 0))) return false;
    snprintf(out, cap, "127.0.0.1");
    return true;
}

/* A client for url trusting the PEM text ca_pem (NULL: none set); it reconnects only if asked;
   through transport tr (NULL: the built-in TCP). */
static lq_client *make_client_on(const char *url, const char *ca_pem, bool insecure, bool reconnect,
                                 const lq_transport *tr, seen *s) {
    lq_desc d;
    lq_query q;
    lq_client *c = NULL;
    char *copy = ca_pem ? (char *)malloc(strlen(ca_pem) + 1) : NULL;
    lq_result r;
    memset(&d, 0, sizeof d);
    memset(&q, 0, sizeof q);
    memset(s, 0, sizeof *s);
    if (copy) strcpy(copy, ca_pem);
    d.server_url = url;
    d.application_id = getenv("PARSE_APP_ID");
    d.javascript_key = getenv("PARSE_JAVASCRIPT_KEY");
    d.tls_ca_pem = copy;
    d.tls_insecure_skip_verify_for_tests_only = insecure;
    d.no_reconnect = !reconnect;
    d.max_reconnect_delay_ms = 1000;
    d.connect_timeout_ms = 8000;
    d.on_event = on_event;
    d.user_data = s;
    d.transport = tr;
    d.resolve = resolve_lq_test;
    d.tls_pin_sha256 = g_pins;
    d.num_tls_pin_sha256 = g_num_pins;
    d.server_urls = g_more_urls;
    d.num_server_urls = g_num_more_urls;
    r = lq_client_create(&d, &c);
    if (copy) { memset(copy, 'x', strlen(copy)); free(copy); }     /* the client has its own copy */
    CHECKF(r == LQ_OK, "lq_client_create(%s): %s", url, lq_result_str(r));
    if (r != LQ_OK) return NULL;
    q.class_name = "GameScore";
    q.where = "{\"playerName\":\"test_tls\"}";
    r = lq_subscribe(c, &q, NULL);
    CHECKF(r == LQ_OK, "lq_subscribe: %s", lq_result_str(r));
    return c;
}

static lq_client *make_client(const char *url, const char *ca_pem, bool insecure, bool reconnect, seen *s) {
    return make_client_on(url, ca_pem, insecure, reconnect, NULL, s);
}

/* Steps c until done(s) or the deadline; true when done. */
static bool run_until(lq_client *c, seen *s, bool (*done)(const seen *), uint64_t ms) {
    uint64_t end = lq_now_ms() + ms;
    while (!done(s) && lq_now_ms() < end && lq_client_state(c) != LQ_STATE_DISCONNECTED) lq_wait(c, 50);
    return done(s);
}

static bool is_subscribed(const seen *s) { return s->subscribed > 0 || s->error > 0; }
static bool has_create(const seen *s) { return s->create > 0 || s->error > 0; }
static bool has_error(const seen *s) { return s->error > 0; }
static bool has_3_errors(const seen *s) { return s->error >= 3 || s->open > 0; }

static void finish_client(lq_client *c) {
    int i;
    lq_close(c);
    for (i = 0; i < 100 && lq_step(c) != LQ_ERR_CLOSED; i++) lq_wait(c, 20);
    lq_client_destroy(c);
}

/* Verified TLS through one-byte TCP writes: open, subscribe, and a create event; over the built-in
   TCP, or over the caller's transport tr (tls = false: mbedTLS wraps it). */
static void test_events(const char *url, const char *ca_pem, const char *create_cmd, const lq_transport *tr) {
    seen s;
    lq_client *c = make_client_on(url, ca_pem, false, false, tr, &s);
    if (!c) return;
    CHECKF(lq_client_url(c)->tls, "%s is not a TLS URL", url);
    CHECKF(run_until(c, &s, is_subscribed, 15000) && s.subscribed == 1, "no SUBSCRIBED (error: %s)", s.error_message);
    CHECKF(s.open == 1, "%d OPEN events", s.open);
    CHECKF(lq_fd(c) >= 0, "no socket while connected");
    if (s.subscribed) {
        int rc = system(create_cmd);
        CHECKF(rc == 0, "create command failed (%d): %s", rc, create_cmd);
        CHECKF(run_until(c, &s, has_create, 15000) && s.create == 1, "no CREATE (error: %s)", s.error_message);
        CHECKF(strcmp(s.player, "test_tls") == 0 && s.score == 7, "CREATE carries playerName %s score %g", s.player, s.score);
    }
    CHECKF(s.error == 0, "unexpected ERROR: %s", s.error_message);
    finish_client(c);
    printf("events over TLS%s: open %d, subscribed %d, create %d\n", tr ? " on the caller's plain transport" : "", s.open,
           s.subscribed, s.create);
}

/* The events over the caller's plain transport: the library runs TLS over it, and closes every
   connection it opened through it. */
static void test_events_plain(const char *url, const char *ca_pem, const char *create_cmd) {
    plain p = {0, 0, false, 0, {0}};
    lq_transport tr = plain_transport(&p, false);
    test_events(url, ca_pem, create_cmd, &tr);
    CHECKF(p.connects >= 1 && p.closes == p.connects, "plain transport: %d connections, %d closed", p.connects, p.closes);
}

/* A transport that says it does TLS is used as it is: this one does not, so the front hears a
   plain upgrade request and the handshake fails, and not in the TLS layer. */
static void test_transport_says_tls(const char *url, const char *ca_pem) {
    plain p = {0, 0, false, 0, {0}};
    lq_transport tr = plain_transport(&p, true);
    seen s;
    lq_client *c = make_client_on(url, ca_pem, false, false, &tr, &s);
    if (!c) return;
    CHECKF(run_until(c, &s, has_error, 10000), "tls = true over plain TCP: no ERROR event");
    CHECKF(s.open == 0 && s.error_result != LQ_ERR_TLS, "tls = true: no TLS layer was added (%s: %s)",
           lq_result_str(s.error_result), s.error_message);
    printf("tls = true over plain TCP: %s\n", s.error_message);
    finish_client(c);
    CHECKF(p.connects == 1 && p.closes == 1, "tls = true: %d connections, %d closed", p.connects, p.closes);
}

/* A connection that must fail in the TLS layer, before OPEN, with a message naming the cause. */
static void test_rejected(const char *what, const char *url, const char *ca_pem, const char *cause) {
    seen s;
    uint64_t t0 = lq_now_ms();
    lq_client *c = make_client(url, ca_pem, false, false, &s);
    if (!c) return;
    CHECKF(run_until(c, &s, has_error, 10000), "%s: no ERROR event", what);
    CHECKF(s.error_result == LQ_ERR_TLS, "%s: result %s, want LQ_ERR_TLS", what, lq_result_str(s.error_result));
    CHECKF(s.error_before_open && s.open == 0 && s.subscribed == 0, "%s: the link opened", what);
    CHECKF(strstr(s.error_message, cause) != NULL, "%s: event message \"%s\" lacks \"%s\"", what, s.error_message, cause);
    CHECKF(strstr(lq_error_message(c), cause) != NULL, "%s: lq_error_message \"%s\" lacks \"%s\"", what,
          lq_error_message(c), cause);
    CHECKF(lq_now_ms() - t0 < 5000, "%s: took %u ms", what, (unsigned)(lq_now_ms() - t0));
    printf("%s: %s\n", what, lq_error_message(c));
    finish_client(c);
}

/* A certificate for *.lq.test names a.lq.test: one label, the left-most, and only that. */
static void test_wildcard(const char *port, const char *ca_pem) {
    char url[128];
    seen s;
    lq_client *c;
    snprintf(url, sizeof url, "wss://a.lq.test:%s/parse", port);
    c = make_client(url, ca_pem, false, false, &s);
    if (c) {
        CHECKF(run_until(c, &s, is_subscribed, 15000) && s.subscribed == 1, "%s: no SUBSCRIBED (error: %s)", url, s.error_message);
        printf("wildcard: %s subscribed\n", url);
        finish_client(c);
    }
    snprintf(url, sizeof url, "wss://a.b.lq.test:%s/parse", port);
    test_rejected("wildcard, two labels", url, ca_pem, BAD_NAME);
    snprintf(url, sizeof url, "wss://lq.test:%s/parse", port);
    test_rejected("wildcard, the bare domain", url, ca_pem, BAD_NAME);
}

/* The front's "secure" lines (one per completed handshake) that say resumed=true. */
static int resumed_lines(const char *front_log) {
    char *text = read_file(front_log), *p;
    int n = 0;
    for (p = text; p && (p = strstr(p, "\nsecure ")) != NULL; p++) {
        char *eol = strchr(p + 1, '\n');
        char *hit = strstr(p, " resumed=true ");
        if (hit && (!eol || hit < eol)) n++;
    }
    free(text);
    return n;
}

static bool resubscribed(const seen *s) { return s->subscribed >= 2; }   /* the cut itself is an ERROR */
static bool subscribed3(const seen *s) { return s->subscribed >= 3; }

/* A reconnect to the same server resumes the TLS session of the first connection (TLS 1.2
   tickets or sessions, TLS 1.3 tickets): the front says so for the second handshake. */
static void test_resumption(const char *url, const char *ca_pem, const char *front_log) {
    plain p = {0, 0, false, 0, {0}};
    lq_transport tr = plain_transport(&p, false);
    seen s;
    int before = resumed_lines(front_log);
    lq_client *c = make_client_on(url, ca_pem, false, true, &tr, &s);
    if (!c) return;
    CHECKF(run_until(c, &s, is_subscribed, 15000) && s.subscribed == 1, "resumption: no SUBSCRIBED (%s)", s.error_message);
    run_until(c, &s, has_error, 300);                      /* TLS 1.3 tickets come after the handshake */
    p.cut = true;
    CHECKF(run_until(c, &s, resubscribed, 15000) && s.subscribed == 2, "resumption: no second SUBSCRIBED after the cut (%s)",
           s.error_message);
    CHECKF(p.connects == 2, "resumption: %d connections", p.connects);
    finish_client(c);
    if (getenv("TLS_NO_RESUMPTION")) {
        printf("resumption: SKIP the resumed handshake (TLS_NO_RESUMPTION=%s): the reconnect worked, %d resumed\n",
               getenv("TLS_NO_RESUMPTION"), resumed_lines(front_log) - before);
        return;
    }
    CHECKF(resumed_lines(front_log) == before + 1, "resumption: the front saw %d resumed handshakes, want 1",
           resumed_lines(front_log) - before);
    printf("resumption: the reconnect resumed the TLS session (%d resumed handshakes)\n", resumed_lines(front_log) - before);
}

/* A saved session is offered only to the host it came from: a reconnect that moves to another
   endpoint (localhost, the same front) makes a full handshake, and one back to it resumes. */
static void test_resumption_per_host(const char *url, const char *ca_pem, const char *front_log) {
    plain p;
    lq_transport tr;
    seen s;
    char other[128];
    const char *more[1];
    const char *port = strrchr(url, ':');
    int before = resumed_lines(front_log), secure_before;
    lq_client *c;
    memset(&p, 0, sizeof p);
    tr = plain_transport(&p, false);
    snprintf(other, sizeof other, "wss://localhost%.*s", (int)strcspn(port, "/"), port);
    more[0] = other;
    g_more_urls = more;
    g_num_more_urls = 1;
    c = make_client_on(url, ca_pem, false, true, &tr, &s);
    g_more_urls = NULL;
    g_num_more_urls = 0;
    if (!c) return;
    CHECKF(run_until(c, &s, is_subscribed, 15000) && s.subscribed == 1, "per host: no SUBSCRIBED (%s)", s.error_message);
    run_until(c, &s, has_error, 300);                      /* TLS 1.3 tickets come after the handshake */
    p.cut = true;
    p.refuse = 1;                                          /* 127.0.0.1 again fails: localhost next */
    CHECKF(run_until(c, &s, resubscribed, 15000) && s.subscribed == 2, "per host: no SUBSCRIBED on localhost (%s)",
           s.error_message);
    CHECKF(strcmp(p.last_host, "localhost") == 0, "per host: the reconnect went to %s", p.last_host);
    CHECKF(resumed_lines(front_log) == before, "per host: 127.0.0.1's session was offered to localhost (%d resumed)",
           resumed_lines(front_log) - before);
    secure_before = resumed_lines(front_log);
    run_until(c, &s, has_error, 300);
    p.cut = true;                                          /* up on localhost: it reconnects there, resumed */
    CHECKF(run_until(c, &s, subscribed3, 15000) && s.subscribed == 3, "per host: no third SUBSCRIBED (%s)", s.error_message);
    CHECKF(strcmp(p.last_host, "localhost") == 0, "per host: the third connect went to %s", p.last_host);
    if (getenv("TLS_NO_RESUMPTION"))
        printf("resumption per host: SKIP the resumed handshake on localhost (TLS_NO_RESUMPTION)\n");
    else
        CHECKF(resumed_lines(front_log) == secure_before + 1, "per host: localhost's own session was not resumed (%d)",
               resumed_lines(front_log) - secure_before);
    finish_client(c);
    printf("resumption per host: none offered across hosts, resumed on the same host\n");
}

/* Public-key pins: the leaf's key among them connects, none of them fails closed, a pin that is
   not a base64 SHA-256 is refused by lq_client_create. */
static void test_pins(const char *url, const char *ca_pem, const char *good) {
    static const char *const other = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    const char *one[1], *two[2], *bad[1];
    seen s;
    lq_client *c;
    lq_desc d;
    one[0] = good;
    two[0] = other; two[1] = good;
    g_pins = one; g_num_pins = 1;
    c = make_client(url, ca_pem, false, false, &s);
    if (c) {
        CHECKF(run_until(c, &s, is_subscribed, 15000) && s.subscribed == 1, "pinned key: no SUBSCRIBED (%s)", s.error_message);
        finish_client(c);
    }
    g_pins = two; g_num_pins = 2;
    c = make_client(url, ca_pem, false, false, &s);
    if (c) {
        CHECKF(run_until(c, &s, is_subscribed, 15000) && s.subscribed == 1, "second of two pins: no SUBSCRIBED (%s)", s.error_message);
        finish_client(c);
    }
    one[0] = other;
    g_pins = one; g_num_pins = 1;
    test_rejected("a key not pinned", url, ca_pem, "is not one of desc.tls_pin_sha256");
    bad[0] = "not-a-pin";
    memset(&d, 0, sizeof d);
    d.server_url = url;
    d.application_id = "app";
    d.tls_pin_sha256 = bad;
    d.num_tls_pin_sha256 = 1;
    c = NULL;
    CHECK(lq_client_create(&d, &c) == LQ_ERR_INVALID_ARG && c == NULL);
    g_pins = NULL; g_num_pins = 0;
    printf("pins: the pinned key connects, another fails closed\n");
}

/* A TLS configuration that failed (here: CA text that does not parse) must fail the same way on
   every reconnect, never go on with a half-made configuration. */
static void test_bad_config_every_attempt(const char *url) {
    seen s;
    lq_client *c = make_client(url, "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", false, true, &s);
    if (!c) return;
    CHECKF(run_until(c, &s, has_3_errors, 8000), "bad CA PEM with reconnects: %d ERROR events in 8 s", s.error);
    CHECKF(s.open == 0, "bad CA PEM with reconnects: the link opened");
    CHECKF(strstr(s.last_error, "CA PEM") != NULL, "bad CA PEM, attempt %d: \"%s\" (the first said \"%s\")",
          s.error, s.last_error, s.error_message);
    printf("bad CA PEM, attempt %d: %s\n", s.error, s.last_error);
    finish_client(c);
}

/* tls_insecure_skip_verify_for_tests_only connects whatever the certificate. */
static void test_insecure(const char *url) {
    seen s;
    lq_client *c = make_client(url, NULL, true, false, &s);
    if (!c) return;
    CHECKF(run_until(c, &s, is_subscribed, 15000) && s.open == 1 && s.subscribed == 1,
          "insecure mode did not connect to %s: %s", url, s.error_message);
    finish_client(c);
}

int main(int argc, char **argv) {
    char *ca, *other_ca;
    if (argc != 9) {
        fprintf(stderr, "usage: test_tls GOOD_URL WRONG_HOST_URL CA_FILE OTHER_CA_FILE CREATE_COMMAND WILDCARD_PORT PIN "
                "GOOD_URL_FRONT_LOG\n");
        return 2;
    }
    ca = read_file(argv[3]);
    other_ca = read_file(argv[4]);
    if (!ca || !other_ca || !getenv("PARSE_APP_ID")) {
        fprintf(stderr, "test_tls: cannot read %s / %s, or PARSE_APP_ID is not set\n", argv[3], argv[4]);
        return 2;
    }
    test_events(argv[1], ca, argv[5], NULL);
    test_events_plain(argv[1], ca, argv[5]);
    test_transport_says_tls(argv[1], ca);
    test_rejected("wrong CA", argv[1], other_ca, BAD_CA);
    test_rejected("wrong host", argv[2], ca, "names no IP address 127.0.0.1");
    test_rejected("bad CA PEM", argv[1], "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", "CA PEM");
    test_wildcard(argv[6], ca);
    test_pins(argv[1], ca, argv[7]);
    test_resumption(argv[1], ca, argv[8]);
    test_resumption_per_host(argv[1], ca, argv[8]);
    test_bad_config_every_attempt(argv[1]);
    test_insecure(argv[2]);
    free(ca);
    free(other_ca);
    return tu_report("test_tls");
}
