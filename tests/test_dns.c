/* test_dns.c - the built-in resolver and Happy Eyeballs, against real nameservers on loopback.

   test_dns FAKE_PORT DNSMASQ_PORT QUERY_LOG MODE
     FAKE_PORT     tests/dns/fakedns.js (the faults: slow, lost, wrong ID, truncated, ...)
     DNSMASQ_PORT  dnsmasq with tests/dns's hosts (0: not running)
     QUERY_LOG     fakedns's log of the queries it got (JSON lines)
     MODE          "plain": nameservers given by desc.dns_servers; "netns": inside a user and
                   network namespace whose /etc/resolv.conf and /etc/hosts are run.sh's (search
                   corp.test, ndots:2, timeout:1, attempts:2; fakedns on 127.0.0.1 port 53)

   Each case points a client at ws://NAME:PORT/parse where PORT is a listener of this program,
   steps it every millisecond and records where it connected, how long it took, the longest
   lq_step, and the error if it failed. */
#define LIVEQUERY_IMPLEMENTATION
#include "../livequery.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <poll.h>
#include <net/if.h>
#include <sys/stat.h>
#include <sys/time.h>

static int fake_port, dnsmasq_port;
static const char *query_log;
static bool netns;

static uint64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* A listener on addr (port 0: any); its port in *port. backlog_full: it never accepts and its
   queue is filled, so a connect to it is never answered. */
typedef struct listener { int fd, port, fill[4]; } listener;

static listener listen_on(const char *addr, int port, bool backlog_full) {
    listener l;
    lq__sa a;
    socklen_t len;
    int one = 1, i;
    memset(&l, 0, sizeof l);
    if (!lq__sa_numeric(addr, (unsigned)port, &a)) { l.fd = -1; return l; }
    l.fd = socket(a.sa.sa_family, SOCK_STREAM, 0);
    setsockopt(l.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (a.sa.sa_family == AF_INET6) setsockopt(l.fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(l.fd, &a.sa, lq__sa_len(&a)) != 0 || listen(l.fd, backlog_full ? 0 : 16) != 0) {
        close(l.fd);
        l.fd = -1;
        return l;
    }
    len = sizeof a;
    getsockname(l.fd, &a.sa, &len);
    l.port = ntohs(a.sa.sa_family == AF_INET6 ? a.v6.sin6_port : a.v4.sin_port);
    fcntl(l.fd, F_SETFL, O_NONBLOCK);
    for (i = 0; backlog_full && i < 4; i++) {
        l.fill[i] = socket(a.sa.sa_family, SOCK_STREAM, 0);
        fcntl(l.fill[i], F_SETFL, O_NONBLOCK);
        if (connect(l.fill[i], &a.sa, lq__sa_len(&a)) != 0 && errno != EINPROGRESS) { close(l.fill[i]); l.fill[i] = -1; }
    }
    if (backlog_full) poll(NULL, 0, 100);
    return l;
}

static void listener_close(listener *l) {
    int i;
    if (l->fd >= 0) close(l->fd);
    for (i = 0; i < 4; i++) if (l->fill[i] > 0) close(l->fill[i]);
}

typedef struct outcome {
    bool connected;             /* a listener accepted the client */
    int family;                 /* of the accepted connection */
    uint64_t ms;                /* from create to accept (or to the error) */
    uint64_t max_step_us;       /* the longest lq_step */
    int first_family;           /* of the first socket lq_fd showed while connecting (0: none) */
    lq_result err;
    int detail;                 /* lq_error_detail at the error */
    char msg[256];
} outcome;

static outcome *cur;

static void on_event(lq_client *c, const lq_event *ev, void *user) {
    (void)user;
    if (ev->type == LQ_EVENT_ERROR && !cur->err) {
        cur->err = ev->result;
        cur->detail = lq_error_detail(c);
        snprintf(cur->msg, sizeof cur->msg, "%s", ev->error_message);
    }
}

static int fd_family(int fd) {
    lq__sa a;
    socklen_t len = sizeof a;
    if (fd < 0 || getsockname(fd, &a.sa, &len) != 0) return 0;
    return a.sa.sa_family == AF_INET6 ? 6 : 4;
}

/* Connects a client to ws://host:port/parse (dns_servers: NULL in netns mode, else the given) and
   steps it every millisecond until a listener accepts, an error comes, or limit_ms pass. */
static outcome run_client(const char *host, int port, const char *servers, listener *ls, int nls, int limit_ms,
                          lq_desc *base, lq_client **keep) {
    static outcome o;
    char url[300];
    lq_desc d = LQ_ZERO;
    lq_client *c = NULL;
    uint64_t t0 = now_us();
    memset(&o, 0, sizeof o);
    cur = &o;
    if (base) d = *base;
    snprintf(url, sizeof url, "ws://%s:%d/parse", host, port);
    d.server_url = url;
    d.application_id = "app";
    d.no_reconnect = true;
    d.on_event = on_event;
    if (!d.dns_servers && servers && *servers) d.dns_servers = servers;
    if (lq_client_create(&d, &c) != LQ_OK) { o.err = LQ_ERR_INVALID_ARG; return o; }
    while (now_us() - t0 < (uint64_t)limit_ms * 1000u) {
        uint64_t s = now_us(), took;
        int i;
        lq_step(c);
        took = now_us() - s;
        if (took > o.max_step_us) o.max_step_us = took;
        if (!o.first_family) {
            int fd = lq_fd(c);
            struct stat st;
            if (fd >= 0 && fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode)) {
                int type = 0;
                socklen_t tl = sizeof type;
                getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl);
                if (type == SOCK_STREAM && fd_family(fd) && lq_client_state(c) == LQ_STATE_CONNECTING) {
                    lq__tcp *t = (lq__tcp *)c->conn[LQ_LINK_LIVEQUERY].state;
                    if (t && t->nrace) o.first_family = fd_family(fd);
                }
            }
        }
        for (i = 0; i < nls; i++) {
            lq__sa a;
            socklen_t len = sizeof a;
            int fd = accept(ls[i].fd, &a.sa, &len);
            if (fd >= 0) {
                o.connected = true;
                o.family = a.sa.sa_family == AF_INET6 ? 6 : 4;
                close(fd);
            }
        }
        if (o.connected || o.err) break;
        poll(NULL, 0, 1);
    }
    o.ms = (now_us() - t0) / 1000u;
    if (keep) *keep = c;
    else lq_client_destroy(c);
    return o;
}

/* The queries fakedns logged for name (and "udp"/"tcp", NULL: either). */
static int logged(const char *name, const char *proto) {
    char line[512], pat[300], pp[32];
    int n = 0;
    FILE *f = fopen(query_log, "r");
    if (!f) return 0;
    snprintf(pat, sizeof pat, "\"name\":\"%s\"", name);
    snprintf(pp, sizeof pp, "\"proto\":\"%s\"", proto ? proto : "");
    while (fgets(line, sizeof line, f))
        if (strstr(line, pat) && (!proto || strstr(line, pp))) n++;
    fclose(f);
    return n;
}

/* The distinct values of a numeric field ("id", "port") over the logged queries. */
static int distinct(const char *field, int *total) {
    char line[512], pat[32];
    long seen[512];
    int n = 0, i, all = 0;
    FILE *f = fopen(query_log, "r");
    if (!f) return 0;
    snprintf(pat, sizeof pat, "\"%s\":", field);
    while (fgets(line, sizeof line, f) && all < 512) {
        const char *p = strstr(line, pat);
        long v;
        bool dup = false;
        if (!p || !strstr(line, "\"udp\"")) continue;
        v = strtol(p + strlen(pat), NULL, 10);
        all++;
        for (i = 0; i < n; i++) dup = dup || seen[i] == v;
        if (!dup) seen[n++] = v;
    }
    fclose(f);
    *total = all;
    return n;
}

static char fake[64], both[96];

static void t_found(listener *l4) {
    outcome o;
    tu_set_ctx("a name the nameserver has");
    o = run_client("he.test", l4->port, fake, l4, 1, 3000, NULL, NULL);
    CHECKF(o.connected && o.family == 4, "connected %d family %d: %s", o.connected, o.family, o.msg);
    /* the first client of the process: cold pages and files; a blocking lookup is t_slow's case */
    CHECKF(o.max_step_us < 1000000, "longest lq_step %llu us", (unsigned long long)o.max_step_us);
    CHECK(logged("he.test", "udp") >= 2);                          /* A and AAAA */

    tu_set_ctx("a CNAME, its target's address before it in the answer");
    o = run_client("cname.test", l4->port, fake, l4, 1, 3000, NULL, NULL);
    CHECKF(o.connected, "%s", o.msg);

    tu_set_ctx("the hosts file, with no query");
    o = run_client(netns ? "hostsonly.test" : "localhost", l4->port, fake, l4, 1, 3000, NULL, NULL);
    CHECKF(o.connected, "%s", o.msg);
    CHECK_INT(logged(netns ? "hostsonly.test" : "localhost", NULL), 0);
}

static void t_faults(listener *l4) {
    outcome o;
    int total = 0, ids, ports;
    tu_set_ctx("NXDOMAIN");
    o = run_client("nx.test", l4->port, fake, l4, 1, 3000, NULL, NULL);
    CHECK(!o.connected);
    CHECK_INT(o.err, LQ_ERR_DNS);
    CHECK_HAS(o.msg, "cannot resolve nx.test: no such host");
    CHECK_INT(o.detail, 3);                                         /* NXDOMAIN's RCODE */
    CHECKF(o.ms < 500, "%llu ms", (unsigned long long)o.ms);

    tu_set_ctx("a name with no address");
    o = run_client("v6.test", l4->port, fake, l4, 1, 3000, NULL, NULL);   /* AAAA ::1: no listener there */
    CHECK(!o.connected);
    CHECK_INT(o.err, LQ_ERR_CONNECT);
    CHECK_HAS(o.msg, "cannot connect to v6.test");

    tu_set_ctx("answers with a wrong ID, name, type or class, malformed, or not an answer");
    o = run_client("wrongid.test", l4->port, fake, l4, 1, 3000, NULL, NULL);
    CHECKF(o.connected && o.family == 4, "%s", o.msg);            /* 127.0.0.2 and ::1 were never taken */

    tu_set_ctx("truncated over UDP: TCP");
    o = run_client("trunc.test", l4->port, fake, l4, 1, 3000, NULL, NULL);
    CHECKF(o.connected, "%s", o.msg);
    CHECK(logged("trunc.test", "udp") >= 1);
    CHECK(logged("trunc.test", "tcp") >= 1);

    tu_set_ctx("SERVFAIL from every server");
    o = run_client("servfail.test", l4->port, fake, l4, 1, 5000, NULL, NULL);
    CHECK_INT(o.err, LQ_ERR_DNS);
    CHECK_HAS(o.msg, "cannot resolve servfail.test: the nameserver failed");
    CHECK_INT(o.detail, 2);

    tu_set_ctx("a nameserver that refuses (nothing on its port), then one that answers");
    {
        char two[96];
        snprintf(two, sizeof two, "127.0.0.1:9 %s", fake);
        o = run_client("he.test", l4->port, netns ? NULL : two, l4, 1, 3000, NULL, NULL);
        CHECKF(o.connected, "%s", o.msg);
        CHECKF(netns || o.ms < 1000, "%llu ms", (unsigned long long)o.ms);
    }

    tu_set_ctx("random query IDs and source ports");
    ids = distinct("id", &total);
    CHECKF(total >= 10 && ids >= total - 2, "%d IDs in %d queries", ids, total);
    ports = distinct("port", &total);
    CHECKF(ports >= total / 2 && ports > 4, "%d ports in %d queries", ports, total);
}

static void t_slow(listener *l4) {
    outcome o;
    /* no lq_step waits for it (make bench measures the longest step; here a loaded machine may
       stretch one, never by the 3 s a blocking lookup takes: 250 ms leaves room for a stall) */
    tu_set_ctx("a nameserver that answers after 3 s: lq_step does not wait for it");
    o = run_client("slow.test", l4->port, fake, l4, 1, 8000, NULL, NULL);
    CHECKF(o.connected, "%s", o.msg);
    CHECKF(o.ms >= 2900 && o.ms < 4500, "%llu ms", (unsigned long long)o.ms);
    CHECKF(o.max_step_us < 250000, "longest lq_step %llu us", (unsigned long long)o.max_step_us);
    printf("slow nameserver: connected after %llu ms, longest lq_step %llu us\n", (unsigned long long)o.ms,
           (unsigned long long)o.max_step_us);
}

/* Inside the namespace: resolv.conf's timeout (1 s), search domains and ndots. */
static void t_resolv_conf(listener *l4) {
    outcome o;
    tu_set_ctx("a lost query: asked again after resolv.conf's timeout");
    o = run_client("lost.test", l4->port, NULL, l4, 1, 5000, NULL, NULL);
    CHECKF(o.connected, "%s", o.msg);
    CHECKF(o.ms >= 900 && o.ms < 2500, "%llu ms", (unsigned long long)o.ms);
    CHECK(logged("lost.test", "udp") >= 4);

    tu_set_ctx("search domains: a short name");
    o = run_client("short", l4->port, NULL, l4, 1, 3000, NULL, NULL);
    CHECKF(o.connected, "%s", o.msg);
    CHECK(logged("short.corp.test", NULL) >= 2);

    tu_set_ctx("ndots:2: a name with one dot is searched first, with two is asked as it is first");
    o = run_client("dots.a.b", l4->port, NULL, l4, 1, 3000, NULL, NULL);
    CHECKF(o.connected, "%s", o.msg);
    CHECK_INT(logged("dots.a.b.corp.test", NULL), 0);
    o = run_client("nothere.x", l4->port, NULL, l4, 1, 3000, NULL, NULL);
    CHECK_INT(o.err, LQ_ERR_DNS);
    CHECK(logged("nothere.x.corp.test", NULL) >= 1);
    CHECK(logged("nothere.x", NULL) >= 1);

    tu_set_ctx("a trailing dot: no search");
    o = run_client("short.", l4->port, NULL, l4, 1, 3000, NULL, NULL);
    CHECK_INT(o.err, LQ_ERR_DNS);

    tu_set_ctx("no answer at all: two attempts of 1 s, then the message");
    o = run_client("silent.test", l4->port, "127.0.0.1:9", l4, 1, 5000, NULL, NULL);
    CHECK_INT(o.err, LQ_ERR_DNS);
}

/* A real nameserver: dnsmasq. */
static void t_dnsmasq(listener *l4) {
    outcome o;
    char ns[64];
    if (!dnsmasq_port) { printf("dnsmasq: SKIP (not installed)\n"); return; }
    snprintf(ns, sizeof ns, "127.0.0.1:%d", dnsmasq_port);
    tu_set_ctx("dnsmasq: an A record");
    o = run_client("one.lq.test", l4->port, ns, l4, 1, 3000, NULL, NULL);
    CHECKF(o.connected, "%s", o.msg);
    tu_set_ctx("dnsmasq: NXDOMAIN");
    o = run_client("missing.lq.test", l4->port, ns, l4, 1, 3000, NULL, NULL);
    CHECK_INT(o.err, LQ_ERR_DNS);
    CHECK_HAS(o.msg, "no such host");
    tu_set_ctx("dnsmasq: 60 addresses, truncated over UDP, whole over TCP");
    {
        lq_desc e = LQ_ZERO;
        lq_client *c = NULL;
        lq__dns *d = (lq__dns *)calloc(1, sizeof *d);
        int r = LQ_IO_WANT_READ, i;
        uint64_t wake = 0;
        e.server_url = "ws://127.0.0.1:1/parse";
        e.application_id = "app";
        CHECK_INT(lq_client_create(&e, &c), LQ_OK);
        d->fd = LQ__BAD_SOCKET;
        snprintf(d->host, sizeof d->host, "many.lq.test");
        d->port = 80;
        lq__conf_load(&d->conf, ns);
        CHECK(lq__dns_begin(c, d, 0, lq_now_ms()));
        for (i = 0; i < 2000 && r == LQ_IO_WANT_READ; i++) { poll(NULL, 0, 1); r = lq__dns_run(c, d, lq_now_ms(), &wake); }
        CHECK_INT(r, LQ_OK);
        CHECK(d->tcp);
        CHECK_INT(d->found.n[0], LQ__ADDR_MAX);             /* 61 came; the first 16 are kept */
        CHECK_INT(d->found.n[1], 0);
        lq__dns_close(d);
        free(d->tcpbuf);
        free(d);
        lq_client_destroy(c);
    }
    tu_set_ctx("dnsmasq: a CNAME");
    o = run_client("alias.lq.test", l4->port, ns, l4, 1, 3000, NULL, NULL);
    CHECKF(o.connected, "%s", o.msg);
}

/* Happy Eyeballs: ::1 never answers (a full backlog), 127.0.0.1 does. */
static void t_happy_eyeballs(void) {
    listener l[2];
    outcome o;
    lq_client *c = NULL;
    l[0] = listen_on("127.0.0.1", 0, false);
    l[1] = listen_on("::1", l[0].port, true);
    if (l[0].fd < 0 || l[1].fd < 0) { printf("happy eyeballs: SKIP (no ::1)\n"); return; }
    tu_set_ctx("Happy Eyeballs: IPv6 first, IPv4 250 ms later wins");
    o = run_client("he.test", l[0].port, fake, l, 1, 5000, NULL, &c);
    CHECKF(o.connected && o.family == 4, "%s", o.msg);
    CHECK_INT(o.first_family, 6);
    CHECKF(o.ms >= 240 && o.ms < 1000, "%llu ms", (unsigned long long)o.ms);
    printf("happy eyeballs: IPv4 connected %llu ms after the start, IPv6 unanswered\n", (unsigned long long)o.ms);
    {
        /* the address that connected is remembered: the next connect of this client starts there */
        lq__tcp *t;
        int i;
        uint64_t t0 = now_us();
        bool got = false, checked = false;
        for (i = 0; i < 100 && !c->good_key[LQ_LINK_LIVEQUERY]; i++) { lq_step(c); poll(NULL, 0, 1); }  /* the win seen */
        CHECK(c->good_key[LQ_LINK_LIVEQUERY] != 0);
        lq__conn_close(c, LQ_LINK_LIVEQUERY);
        c->conn[LQ_LINK_LIVEQUERY].active = true;
        c->io_link = LQ_LINK_LIVEQUERY;
        lq__tcp_connect(c, NULL, &c->conn[LQ_LINK_LIVEQUERY].state, lq_core_link_url(c, LQ_LINK_LIVEQUERY));
        for (i = 0; i < 2000 && !got; i++) {
            lq__sa a;
            socklen_t len = sizeof a;
            int fd;
            lq__tcp_connect(c, NULL, &c->conn[LQ_LINK_LIVEQUERY].state, lq_core_link_url(c, LQ_LINK_LIVEQUERY));
            t = (lq__tcp *)c->conn[LQ_LINK_LIVEQUERY].state;
            if (t->nrace && !checked) { CHECK_INT(fd_family((int)t->race[0]), 4); checked = true; }
            fd = accept(l[0].fd, &a.sa, &len);
            if (fd >= 0) { got = true; close(fd); }
            poll(NULL, 0, 1);
        }
        tu_set_ctx("Happy Eyeballs: the address that connected is tried first next time");
        CHECK(got);
        CHECK(checked);
        CHECKF((now_us() - t0) / 1000u < 200, "%llu ms", (unsigned long long)((now_us() - t0) / 1000u));
        lq_client_destroy(c);
    }
    listener_close(&l[0]);
    listener_close(&l[1]);
}

/* Numeric hosts need no lookup: IPv4, IPv6 in brackets, an IPv6 zone. */
static void t_numeric(listener *l4) {
    listener l6 = listen_on("::1", 0, false);
    outcome o;
    lq__sa a;
    tu_set_ctx("a numeric IPv4 host");
    o = run_client("127.0.0.1", l4->port, "127.0.0.1:9", l4, 1, 3000, NULL, NULL);    /* no nameserver would answer */
    CHECKF(o.connected && o.family == 4, "%s", o.msg);
    if (l6.fd >= 0) {
        tu_set_ctx("a numeric IPv6 host");
        o = run_client("[::1]", l6.port, "127.0.0.1:9", &l6, 1, 3000, NULL, NULL);
        CHECKF(o.connected && o.family == 6, "%s", o.msg);
        listener_close(&l6);
    }
    tu_set_ctx("numeric addresses parsed without getaddrinfo");
    CHECK(lq__sa_numeric("10.1.2.3", 80, &a) && a.sa.sa_family == AF_INET && ntohs(a.v4.sin_port) == 80);
    CHECK(lq__sa_numeric("fe80::1%1", 80, &a) && a.sa.sa_family == AF_INET6 && a.v6.sin6_scope_id == 1);
    CHECK(lq__sa_numeric("fe80::1%lo", 80, &a) && a.v6.sin6_scope_id == if_nametoindex("lo"));
    CHECK(!lq__sa_numeric("fe80::1%", 80, &a));
    CHECK(!lq__sa_numeric("fe80::1%nosuchif0", 80, &a));
    CHECK(!lq__sa_numeric("10.1.2.3%1", 80, &a));
    CHECK(!lq__sa_numeric("10.1.2", 80, &a));
    CHECK(!lq__sa_numeric("localhost", 80, &a));
    CHECK(!lq__sa_numeric("", 80, &a));
}

/* The nameservers stop answering: the address that last connected is tried. */
static void t_fallback(listener *l4) {
    lq_client *c = NULL;
    outcome o;
    int i;
    bool got = false;
    tu_set_ctx("no answer from the nameservers: the last good address");
    o = run_client("he.test", l4->port, fake, l4, 1, 3000, NULL, &c);
    CHECKF(o.connected, "%s", o.msg);
    for (i = 0; i < 200 && !c->good_key[LQ_LINK_LIVEQUERY]; i++) { lq_step(c); poll(NULL, 0, 1); }
    lq__free(&c->a, c->dns_servers);
    CHECK(lq__copy_str(c, &c->dns_servers, "127.0.0.1:9") == LQ_OK);      /* refuses: no answer */
    lq__conn_close(c, LQ_LINK_LIVEQUERY);
    c->conn[LQ_LINK_LIVEQUERY].active = true;
    c->io_link = LQ_LINK_LIVEQUERY;
    lq__tcp_connect(c, NULL, &c->conn[LQ_LINK_LIVEQUERY].state, lq_core_link_url(c, LQ_LINK_LIVEQUERY));
    for (i = 0; i < 3000 && !got; i++) {
        lq__sa a;
        socklen_t len = sizeof a;
        int fd, rc = lq__tcp_connect(c, NULL, &c->conn[LQ_LINK_LIVEQUERY].state, lq_core_link_url(c, LQ_LINK_LIVEQUERY));
        if (rc < 0 && rc != LQ_IO_WANT_READ && rc != LQ_IO_WANT_WRITE) { CHECKF(false, "failed: %s", lq_error_message(c)); break; }
        fd = accept(l4->fd, &a.sa, &len);
        if (fd >= 0) { got = true; close(fd); }
        poll(NULL, 0, 1);
    }
    CHECK(got);
    CHECK_HAS(lq_error_message(c), "cannot resolve he.test: no answer from the nameservers");
    lq_client_destroy(c);
}

/* Allocation failures at each allocation of a connect by name (the lookup, its TCP buffer, the
   address list, the connection): no crash, nothing leaked. */
static void t_alloc_failures(listener *l4) {
    int k, hit = 0;
    for (k = 1; k <= 16; k++) {
        tu_harness h;
        lq_desc d = LQ_ZERO;
        lq_client *c = NULL;
        char url[128];
        int i;
        memset(&h, 0, sizeof h);
        tu_use_alloc(&d, &h);
        snprintf(url, sizeof url, "ws://trunc.test:%d/parse", l4->port);
        d.server_url = url;
        d.application_id = "app";
        d.no_reconnect = true;
        d.dns_servers = fake;
        if (lq_client_create(&d, &c) != LQ_OK) continue;
        h.fail_at = h.nallocs + k;
        for (i = 0; i < 400 && lq_client_state(c) != LQ_STATE_DISCONNECTED; i++) {
            int fd = accept(l4->fd, NULL, NULL);
            if (fd >= 0) close(fd);
            lq_step(c);
            poll(NULL, 0, 1);
        }
        hit += h.nfailed > 0;
        lq_client_destroy(c);
        tu_set_ctx("allocation %d of a connect by name fails", k);
        CHECKF(h.live == 0, "%lu bytes left", (unsigned long)h.live);
    }
    tu_set_ctx("allocation failures");
    CHECKF(hit >= 4, "only %d runs met a failure", hit);
}

/* desc.resolve_async, and desc.dns_servers validated. */
static int async_calls;
static int resolve_later(const char *host, char *out, size_t cap, void *user) {
    (void)user;
    if (strcmp(host, "later.test") != 0) return -1;
    if (++async_calls < 5) return 0;
    snprintf(out, cap, "::1 127.0.0.1");
    return 1;
}

static void t_hooks(listener *l4) {
    lq_desc d = LQ_ZERO;
    outcome o;
    lq_client *c;
    const char *bad[] = {"", "nameserver", "127.0.0.1:0", "127.0.0.1:65536", "[::1", "::1]:53", "1.2.3.4 5.6.7.8 9.9.9.9 1.1.1.1",
                         "host.example:53", "127.0.0.1:5x"};
    const char *good[] = {"127.0.0.1", "127.0.0.1:5353", "::1", "[::1]:5353", " 10.0.0.1, 10.0.0.2 "};
    size_t i;
    d.resolve_async = resolve_later;
    tu_set_ctx("desc.resolve_async: pending four times, then two addresses");
    o = run_client("later.test", l4->port, NULL, l4, 1, 3000, &d, NULL);
    CHECKF(o.connected && o.family == 4, "%s", o.msg);
    CHECK_INT(async_calls, 5);
    tu_set_ctx("desc.resolve_async: the host does not resolve");
    o = run_client("never.test", l4->port, NULL, l4, 1, 3000, &d, NULL);
    CHECK_INT(o.err, LQ_ERR_DNS);
    CHECK_HAS(o.msg, "cannot resolve never.test");
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lq_desc e = LQ_ZERO;
        e.server_url = "ws://127.0.0.1:1/parse";
        e.application_id = "app";
        e.dns_servers = bad[i];
        tu_set_ctx("desc.dns_servers \"%s\" is refused", bad[i]);
        CHECK_INT(lq_client_create(&e, &c), LQ_ERR_INVALID_ARG);
    }
    for (i = 0; i < sizeof good / sizeof good[0]; i++) {
        lq_desc e = LQ_ZERO;
        e.server_url = "ws://127.0.0.1:1/parse";
        e.application_id = "app";
        e.dns_servers = good[i];
        c = NULL;
        tu_set_ctx("desc.dns_servers \"%s\" is taken", good[i]);
        CHECK_INT(lq_client_create(&e, &c), LQ_OK);
        lq_client_destroy(c);
    }
}

int main(int argc, char **argv) {
    listener l4;
    if (argc != 5) { fprintf(stderr, "usage: test_dns FAKE_PORT DNSMASQ_PORT QUERY_LOG plain|netns\n"); return 2; }
    fake_port = atoi(argv[1]);
    dnsmasq_port = atoi(argv[2]);
    query_log = argv[3];
    netns = strcmp(argv[4], "netns") == 0;
    snprintf(fake, sizeof fake, "127.0.0.1:%d", fake_port);
    snprintf(both, sizeof both, "%s", fake);
    l4 = listen_on("127.0.0.1", 0, false);
    if (l4.fd < 0) { fprintf(stderr, "test_dns: no listener\n"); return 2; }
    if (netns) {
        fake[0] = 0;                    /* resolv.conf's nameserver: fakedns on port 53 */
        t_found(&l4);
        t_resolv_conf(&l4);
        t_faults(&l4);
    } else {
        t_found(&l4);
        t_faults(&l4);
        t_slow(&l4);
        t_dnsmasq(&l4);
        t_happy_eyeballs();
        t_hooks(&l4);
        t_numeric(&l4);
        t_fallback(&l4);
        t_alloc_failures(&l4);
    }
    listener_close(&l4);
    return tu_report(netns ? "dns (resolv.conf, in a namespace)" : "dns");
}
