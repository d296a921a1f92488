/* test_live.c - integration tests of livequery.h against a real Parse Server.

   Config from the environment (STATE_DIR/env written by tests/server/lqserver.sh):
     PARSE_SERVER_URL PARSE_HTTP_URL PARSE_APP_ID PARSE_JAVASCRIPT_KEY PARSE_MASTER_KEY
     PARSE_CLIENT_KEY, and LQ_STATE (the state dir, so the server can be killed and restarted).
   Optional: LQ_SERVER_SH (path of lqserver.sh, default tests/server/lqserver.sh),
     LQ_TEST_VERBOSE=1 (print every event), arguments: names of the cases to run (default all).

   Every case runs real clients, writes through REST (testhttp.h) and pumps the clients until a
   condition holds or a deadline passes. Every client is destroyed at the end of its case, so
   LeakSanitizer sees any leak. Prints "live: N passed, M failed"; exit status 1 on a failure. */
#define _POSIX_C_SOURCE 200809L
#define LIVEQUERY_IMPLEMENTATION
#include "../livequery.h"
#include "testutil.h"
#include "testhttp.h"

#include <poll.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* ---- checks: CHECK and CHECKF of testutil.h, tu_ctx the case --------------------------------- */

static int g_case_failed;       /* tu_failed when the case began */

static bool case_failed(void) { return tu_failed > g_case_failed; }

static void note(const char *fmt, ...) TU_PRINTF(1, 2);
static void note(const char *fmt, ...) {
    va_list ap;
    printf("     ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

/* ---- configuration ----------------------------------------------------------------------------- */

static struct {
    const char *ws_url, *http_url, *app_id, *js_key, *master_key, *client_key, *state, *server_sh;
    bool verbose;
} cfg;

static const char *env_or(const char *name, const char *def) {
    const char *v = getenv(name);
    return v && *v ? v : def;
}

/* ---- event recorder ------------------------------------------------------------------------------
   Each client records copies of its events; the cases inspect them after pumping. */

#define MAXEV 2048

typedef struct rev {
    lq_event_type type;
    lq_sub sub;
    int32_t rid;
    void *sub_ud;
    int code;
    lq_result result;
    bool fatal, resub;
    int close_code, attempt;
    uint32_t delay;
    lq_state state;             /* lq_client_state inside the callback */
    uint64_t t;                 /* lq_now_ms when it arrived */
    char *obj, *orig, *msg;     /* raw JSON of object/original, error message */
    char objid[48];             /* object.objectId read inside the callback */
    char client_id[64];
    bool id_matches;            /* OPEN: client_id == lq_client_id(c) inside the callback */
} rev;

typedef struct rec {
    const char *name;
    rev *ev;
    int n, dropped;
    /* optional: called inside the callback after recording (to call the API from a callback) */
    void (*hook)(lq_client *c, const lq_event *ev, struct rec *r);
    void *ctx;
} rec;

static char *dup_n(const char *s, size_t n) {
    char *d = (char *)malloc(n + 1);
    if (!d) abort();
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

static bool is_obj_event(lq_event_type t) {
    return t == LQ_EVENT_CREATE || t == LQ_EVENT_ENTER || t == LQ_EVENT_UPDATE || t == LQ_EVENT_LEAVE ||
           t == LQ_EVENT_DELETE;
}

static void print_event(const rec *r, const rev *e) {
    printf("     [%s] %-12s rid=%d", r->name, lq_event_str(e->type), (int)e->rid);
    switch (e->type) {
    case LQ_EVENT_OPEN: printf(" clientId=%s", e->client_id); break;
    case LQ_EVENT_CLOSE: printf(" code=%d result=%s", e->close_code, lq_result_str(e->result)); break;
    case LQ_EVENT_ERROR:
        printf(" code=%d fatal=%d result=%s msg=%s", e->code, e->fatal, lq_result_str(e->result), e->msg ? e->msg : "");
        break;
    case LQ_EVENT_RECONNECTING: printf(" attempt=%d delay=%u", e->attempt, (unsigned)e->delay); break;
    case LQ_EVENT_SUBSCRIBED: printf(" resubscribe=%d", e->resub); break;
    default: break;
    }
    if (e->obj) printf(" object=%.160s", e->obj);
    if (e->orig) printf(" original=%.120s", e->orig);
    printf("\n");
}

static void on_event(lq_client *c, const lq_event *ev, void *user) {
    rec *r = (rec *)user;
    rev *e;
    size_t n;
    const char *raw;
    if (r->n >= MAXEV) {
        r->dropped++;
        return;
    }
    e = &r->ev[r->n];
    memset(e, 0, sizeof *e);
    e->type = ev->type;
    e->sub = ev->sub;
    e->rid = ev->request_id;
    e->sub_ud = ev->sub_user_data;
    e->code = ev->error_code;
    e->result = ev->result;
    e->fatal = ev->fatal;
    e->resub = ev->resubscribe;
    e->close_code = ev->close_code;
    e->attempt = ev->attempt;
    e->delay = ev->delay_ms;
    e->state = lq_client_state(c);
    e->t = lq_now_ms();
    if (is_obj_event(ev->type)) {
        if (lq_json_exists(ev->object)) {
            raw = lq_json_raw(ev->object, &n);
            e->obj = dup_n(raw, n);
        }
        if (lq_json_exists(ev->original)) {
            raw = lq_json_raw(ev->original, &n);
            e->orig = dup_n(raw, n);
        }
        lq_json_string(lq_json_get(ev->object, "objectId"), e->objid, sizeof e->objid);
    }
    if (ev->type == LQ_EVENT_ERROR && ev->error_message) e->msg = dup_n(ev->error_message, strlen(ev->error_message));
    if (ev->type == LQ_EVENT_OPEN && ev->client_id) {
        snprintf(e->client_id, sizeof e->client_id, "%s", ev->client_id);
        e->id_matches = strcmp(ev->client_id, lq_client_id(c)) == 0;
    }
    r->n++;
    if (cfg.verbose) {
        print_event(r, e);
        fflush(stdout);
    }
    if (r->hook) r->hook(c, ev, r);
}

static void rec_init(rec *r, const char *name) {
    memset(r, 0, sizeof *r);
    r->name = name;
    r->ev = (rev *)calloc(MAXEV, sizeof *r->ev);
    if (!r->ev) abort();
}

/* Frees the copies; dumps the events when the case has failed (and they were not printed). */
static void rec_free(rec *r) {
    int i;
    CHECKF(r->dropped == 0, "[%s] %d events beyond the recorder's %d were dropped", r->name, r->dropped, MAXEV);
    if (case_failed() && !cfg.verbose) {
        printf("     events of [%s]%s:\n", r->name, r->n > 80 ? " (last 80)" : "");
        for (i = r->n > 80 ? r->n - 80 : 0; i < r->n; i++) print_event(r, &r->ev[i]);
    }
    for (i = 0; i < r->n; i++) {
        free(r->ev[i].obj);
        free(r->ev[i].orig);
        free(r->ev[i].msg);
    }
    free(r->ev);
    memset(r, 0, sizeof *r);
}

/* Events of a type (LQ_EVENT_NONE: any) for a request id (< 0: any). */
static int count_ev(const rec *r, lq_event_type t, int32_t rid) {
    int i, n = 0;
    for (i = 0; i < r->n; i++)
        if ((t == LQ_EVENT_NONE || r->ev[i].type == t) && (rid < 0 || r->ev[i].rid == rid)) n++;
    return n;
}

static const rev *nth_ev(const rec *r, lq_event_type t, int32_t rid, int nth) {
    int i;
    for (i = 0; i < r->n; i++)
        if ((t == LQ_EVENT_NONE || r->ev[i].type == t) && (rid < 0 || r->ev[i].rid == rid) && nth-- == 0)
            return &r->ev[i];
    return NULL;
}

/* Events of a type at index from or later. */
static int count_from(const rec *r, lq_event_type t, int from) {
    int i, n = 0;
    for (i = from; i < r->n; i++) n += r->ev[i].type == t;
    return n;
}

static const rev *last_ev(const rec *r, lq_event_type t) {
    int i;
    for (i = r->n - 1; i >= 0; i--)
        if (r->ev[i].type == t) return &r->ev[i];
    return NULL;
}

/* Object events (any of create..delete) for a request id (< 0: any). */
static int count_obj(const rec *r, int32_t rid) {
    int i, n = 0;
    for (i = 0; i < r->n; i++)
        if (is_obj_event(r->ev[i].type) && (rid < 0 || r->ev[i].rid == rid)) n++;
    return n;
}

/* The event of type t (LQ_EVENT_NONE: any object event) about objectId id. */
static const rev *find_obj(const rec *r, lq_event_type t, int32_t rid, const char *id) {
    int i;
    for (i = 0; i < r->n; i++) {
        const rev *e = &r->ev[i];
        if (!is_obj_event(e->type) || (t != LQ_EVENT_NONE && e->type != t) || (rid >= 0 && e->rid != rid)) continue;
        if (strcmp(e->objid, id) == 0) return e;
    }
    return NULL;
}

static int index_of(const rec *r, const rev *e) { return e ? (int)(e - r->ev) : -1; }

/* The requestId of subscription s, as its events tell (a handle is not a requestId): -1 before
   its first event, -2 if two of its events disagree. */
static int32_t rid_of(const rec *r, lq_sub s) {
    int i;
    int32_t rid = -1;
    for (i = 0; i < r->n; i++) {
        if (!s.id || r->ev[i].sub.id != s.id) continue;
        if (rid == -1) rid = r->ev[i].rid;
        else if (r->ev[i].rid != rid) return -2;
    }
    return rid;
}

/* ---- JSON helpers ------------------------------------------------------------------------------ */

typedef struct jdoc {
    lq_json_token t[2048];
    lq_json root;
    int n;
} jdoc;

static lq_json jparse(jdoc *d, const char *text) {
    memset(&d->root, 0, sizeof d->root);
    if (!text) return d->root;
    d->n = lq_json_parse(text, strlen(text), d->t, sizeof d->t / sizeof d->t[0], 0, &d->root);
    if (d->n < 0) d->root.tok = NULL;
    return d->root;
}

static double jnum(lq_json v) { return lq_json_number(v, -99999.0); }

/* Copies a string value (or "" for anything else). */
static const char *jstr(lq_json v, char *buf, size_t cap) {
    lq_json_string(v, buf, cap);
    return buf;
}

/* Deep equality: objects in any member order, numbers by value, strings decoded. */
static bool jeq(lq_json a, lq_json b) {
    lq_json_type ka = lq_json_kind(a), kb = lq_json_kind(b);
    lq_json x, y;
    if (ka != kb) return false;
    switch (ka) {
    case LQ_JSON_NUMBER: return lq_json_number(a, 0) <= lq_json_number(b, 0) && lq_json_number(a, 0) >= lq_json_number(b, 0);
    case LQ_JSON_STRING: {
        char sa[1024], sb[1024];
        size_t na = lq_json_string(a, sa, sizeof sa), nb = lq_json_string(b, sb, sizeof sb);
        return na == nb && strcmp(sa, sb) == 0;
    }
    case LQ_JSON_ARRAY:
        if (lq_json_count(a) != lq_json_count(b)) return false;
        for (x = lq_json_child(a), y = lq_json_child(b); lq_json_exists(x); x = lq_json_next(x), y = lq_json_next(y))
            if (!jeq(x, y)) return false;
        return true;
    case LQ_JSON_OBJECT:
        if (lq_json_count(a) != lq_json_count(b)) return false;
        for (x = lq_json_child(a); lq_json_exists(x); x = lq_json_next(x)) {
            char key[256];
            jstr(lq_json_key(x), key, sizeof key);
            if (!jeq(x, lq_json_get(b, key))) return false;
        }
        return true;
    default: return true;
    }
}

/* Is every member of the event object equal to the REST object's (className aside), and the other
   way round? Reports the first difference in why. */
static bool same_as_rest(lq_json ev_obj, lq_json rest_obj, char *why, size_t cap) {
    lq_json m;
    snprintf(why, cap, "ok");
    if (lq_json_kind(ev_obj) != LQ_JSON_OBJECT || lq_json_kind(rest_obj) != LQ_JSON_OBJECT) {
        snprintf(why, cap, "not objects");
        return false;
    }
    for (m = lq_json_child(rest_obj); lq_json_exists(m); m = lq_json_next(m)) {
        char key[256];
        jstr(lq_json_key(m), key, sizeof key);
        if (!jeq(m, lq_json_get(ev_obj, key))) {
            snprintf(why, cap, "member %.80s differs from REST", key);
            return false;
        }
    }
    for (m = lq_json_child(ev_obj); lq_json_exists(m); m = lq_json_next(m)) {
        char key[256];
        jstr(lq_json_key(m), key, sizeof key);
        if (strcmp(key, "className") != 0 && !lq_json_exists(lq_json_get(rest_obj, key))) {
            snprintf(why, cap, "member %.80s is not in the REST object", key);
            return false;
        }
    }
    return true;
}

/* ---- REST (testhttp.h) -------------------------------------------------------------------------- */

typedef enum { AS_MASTER, AS_JS, AS_SESSION } rest_auth;

static bool g_rest_quiet;       /* an error status is expected: do not print it */

/* One REST call; returns the HTTP status (0 on a transport failure). The body (malloc'ed, the
   caller frees it) is parsed into doc, whose values point into it. */
static int rest(rest_auth auth, const char *session, const char *method, const char *path, const char *body,
                jdoc *doc, char **body_out) {
    char h[3][300];
    const char *hp[3] = {h[0], h[1], h[2]};
    th_response res;
    int status;
    snprintf(h[0], sizeof h[0], "X-Parse-Application-Id: %s", cfg.app_id);
    snprintf(h[1], sizeof h[1], "X-Parse-Javascript-Key: %s", cfg.js_key);
    if (auth == AS_MASTER) snprintf(h[2], sizeof h[2], "X-Parse-Master-Key: %s", cfg.master_key);
    else snprintf(h[2], sizeof h[2], "X-Parse-Session-Token: %s", session ? session : "");
    if (th_request(cfg.http_url, method, path, hp, auth == AS_JS ? 2 : 3, body, 15000, &res) != 0) {
        note("REST %s %s failed: %s", method, path, res.error);
        th_response_free(&res);
        if (doc) jparse(doc, NULL);
        if (body_out) *body_out = NULL;
        return 0;
    }
    status = res.status;
    if ((status < 200 || status > 299) && !g_rest_quiet) note("REST %s %s -> HTTP %d %.300s", method, path, status, res.body);
    if (doc) jparse(doc, res.body);
    if (body_out) {
        *body_out = res.body;
        res.body = NULL;
    }
    th_response_free(&res);
    return status;
}

/* POST /classes/CLS; fills id and createdAt. */
static bool rest_create(const char *cls, const char *json, char *id, size_t idcap, char *created, size_t ccap) {
    static jdoc d;
    char path[128], *b = NULL;
    int st;
    snprintf(path, sizeof path, "/classes/%.60s", cls);
    st = rest(AS_MASTER, NULL, "POST", path, json, &d, &b);
    if (id) jstr(lq_json_get(d.root, "objectId"), id, idcap);
    if (created) jstr(lq_json_get(d.root, "createdAt"), created, ccap);
    free(b);
    return st == 201 && (!id || id[0]);
}

/* PUT /classes/CLS/ID; fills updatedAt. */
static bool rest_update(const char *cls, const char *id, const char *json, char *updated, size_t cap) {
    static jdoc d;
    char path[160], *b = NULL, up[64];
    int st;
    snprintf(path, sizeof path, "/classes/%.40s/%.60s", cls, id);
    st = rest(AS_MASTER, NULL, "PUT", path, json, &d, &b);
    jstr(lq_json_get(d.root, "updatedAt"), up, sizeof up);
    if (updated) snprintf(updated, cap, "%.40s", up);
    free(b);
    return st == 200 && up[0];
}

static bool rest_delete(const char *cls, const char *id) {
    char path[160];
    snprintf(path, sizeof path, "/classes/%.40s/%.60s", cls, id);
    return rest(AS_MASTER, NULL, "DELETE", path, NULL, NULL, NULL) == 200;
}

/* GET /classes/CLS/ID into doc; the caller frees *body. */
static bool rest_get(const char *cls, const char *id, jdoc *doc, char **body) {
    char path[160];
    snprintf(path, sizeof path, "/classes/%.40s/%.60s", cls, id);
    return rest(AS_MASTER, NULL, "GET", path, NULL, doc, body) == 200;
}

/* POST /users (sign up, javascript key only): fills objectId and sessionToken. */
static bool rest_signup(const char *user, const char *pw, char *id, size_t idcap, char *token, size_t tcap) {
    static jdoc d;
    char body[256];
    int st;
    snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\"}", user, pw);
    char *b = NULL;
    st = rest(AS_JS, NULL, "POST", "/users", body, &d, &b);
    jstr(lq_json_get(d.root, "objectId"), id, idcap);
    jstr(lq_json_get(d.root, "sessionToken"), token, tcap);
    free(b);
    return st == 201 && id[0] && token[0];
}

/* ---- clients and pumping -------------------------------------------------------------------------- */

#define MAXCLI 16
static lq_client *g_cli[MAXCLI];
static int g_ncli;

/* A desc with the server, the app id, the callback and the javascript key. */
static void base_desc(lq_desc *d, rec *r) {
    memset(d, 0, sizeof *d);
    d->server_url = cfg.ws_url;
    d->application_id = cfg.app_id;
    d->javascript_key = cfg.js_key;
    d->on_event = on_event;
    d->user_data = r;
}

static lq_client *new_client(const lq_desc *d) {
    lq_client *c = NULL;
    lq_result res = lq_client_create(d, &c);
    if (!CHECKF(res == LQ_OK && c, "lq_client_create: %s", lq_result_str(res))) return NULL;
    if (g_ncli < MAXCLI) g_cli[g_ncli++] = c;
    return c;
}

static void free_client(lq_client *c) {
    int i;
    if (!c) return;
    for (i = 0; i < g_ncli; i++)
        if (g_cli[i] == c) {
            g_cli[i] = g_cli[--g_ncli];
            break;
        }
    lq_client_destroy(c);
}

static void sleep_ms(int ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0) {}
}

/* One round for every registered client, waiting at most ms. A single client uses lq_wait; several
   share one poll() built from lq_pollfds (the WebSocket and the REST socket) and lq_timeout_ms. */
static void pump(int ms) {
    struct pollfd p[MAXCLI * LQ_LINK_COUNT];
    int i, k, n = 0, t = ms;
    if (g_ncli == 0) {
        sleep_ms(ms);
        return;
    }
    if (g_ncli == 1) {
        lq_wait(g_cli[0], ms);
        return;
    }
    for (i = 0; i < g_ncli; i++) {
        lq_pollfd f[LQ_LINK_COUNT];
        int nf = lq_pollfds(g_cli[i], f, LQ_LINK_COUNT), to = lq_timeout_ms(g_cli[i]);
        if (to >= 0 && to < t) t = to;
        for (k = 0; k < nf && k < LQ_LINK_COUNT; k++) {
            p[n].fd = f[k].fd;
            p[n].events = (short)(((f[k].events & LQ_WANT_READ) ? POLLIN : 0) | ((f[k].events & LQ_WANT_WRITE) ? POLLOUT : 0));
            p[n].revents = 0;
            n++;
        }
    }
    if (n) poll(p, (nfds_t)n, t);
    else if (t > 0) sleep_ms(t);
    for (i = 0; i < g_ncli; i++) lq_step(g_cli[i]);
}

static void pump_for(int ms) {
    uint64_t dl = lq_now_ms() + (uint64_t)ms;
    uint64_t now;
    while ((now = lq_now_ms()) < dl) pump((int)(dl - now < 50 ? dl - now : 50));
}

/* Pumps until cond holds or ms pass. Follow it with a CHECK of cond. */
#define WAIT_UNTIL(cond, ms)                                                                     \
    do {                                                                                         \
        uint64_t dl_ = lq_now_ms() + (uint64_t)(ms);                                             \
        while (!(cond) && lq_now_ms() < dl_) pump(50);                                           \
    } while (0)

/* One round for client c that trusts the library's timers: poll lq_fd for lq_fd_events for
   lq_timeout_ms (only cut by the deadline), then lq_step. Late timers show up as late events. */
static void pump_exact(lq_client *c, uint64_t deadline) {
    struct pollfd p;
    uint64_t now = lq_now_ms();
    int t = lq_timeout_ms(c), fd = lq_fd(c), ev = lq_fd_events(c);
    int left = now >= deadline ? 0 : (int)(deadline - now);
    if (t < 0 || t > left) t = left;
    if (fd >= 0) {
        p.fd = fd;
        p.events = (short)(((ev & LQ_WANT_READ) ? POLLIN : 0) | ((ev & LQ_WANT_WRITE) ? POLLOUT : 0));
        p.revents = 0;
        poll(&p, 1, t);
    } else if (t > 0) {
        sleep_ms(t);
    }
    lq_step(c);
}

#define WAIT_EXACT(c, cond, ms)                                                                  \
    do {                                                                                         \
        uint64_t dle_ = lq_now_ms() + (uint64_t)(ms);                                            \
        while (!(cond) && lq_now_ms() < dle_) pump_exact((c), dle_);                             \
    } while (0)

static lq_sub subscribe(lq_client *c, const char *cls, const char *where, void *ud) {
    lq_query q;
    lq_sub s;
    lq_result r;
    memset(&q, 0, sizeof q);
    q.class_name = cls;
    q.where = where;
    q.user_data = ud;
    r = lq_subscribe(c, &q, &s);
    CHECKF(r == LQ_OK && s.id != 0, "lq_subscribe(%s, %s): %s", cls, where, lq_result_str(r));
    return s;
}

/* ---- the server ----------------------------------------------------------------------------------- */

static int g_stopped_pid;       /* a SIGSTOPped server to continue, whatever happens */

static int server_ctl(const char *cmd, const char *arg) {
    char line[1200];
    int rc;
    snprintf(line, sizeof line, "bash '%s' %s '%s' %s >/dev/null", cfg.server_sh, cmd, cfg.state, arg ? arg : "");
    rc = system(line);
    if (rc != 0) note("'%s' exited with %d", line, rc);
    return rc;
}

/* PARSE_PID from STATE/env (it changes on every restart), 0 when the server is down. */
static int parse_pid(void) {
    char path[1100], line[256];
    FILE *f;
    int pid = 0;
    snprintf(path, sizeof path, "%s/env", cfg.state);
    f = fopen(path, "r");
    if (!f) return 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "PARSE_PID=", 10) == 0) pid = atoi(line + 10);
    fclose(f);
    return pid;
}

/* Is pid the parse server (guards against signalling a recycled pid)? */
static bool is_parse_server(int pid) {
    char path[64], cmd[4096];
    FILE *f;
    size_t n, i;
    if (pid <= 0) return false;
    snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
    f = fopen(path, "r");
    if (!f) return false;
    n = fread(cmd, 1, sizeof cmd - 1, f);
    fclose(f);
    for (i = 0; i < n; i++)
        if (cmd[i] == 0) cmd[i] = ' ';
    cmd[n] = 0;
    return strstr(cmd, "server.js") != NULL;
}

static void continue_server(void) {
    if (g_stopped_pid > 0 && is_parse_server(g_stopped_pid)) kill((pid_t)g_stopped_pid, SIGCONT);
    g_stopped_pid = 0;
}

/* After a case that stops or kills the server: make sure it runs again. */
static void ensure_server_up(void) {
    continue_server();
    if (!is_parse_server(parse_pid())) {
        note("the parse server is down: starting it again");
        server_ctl("start-parse", NULL);
    }
}

/* ---- helpers for the cases ---------------------------------------------------------------------- */

static char g_tag[64];
static int g_tagn;

/* A tag unique to this run and call, to keep the cases' objects apart. */
static const char *new_tag(void) {
    snprintf(g_tag, sizeof g_tag, "lt%ld-%ld-%d", (long)getpid(), (long)time(NULL) % 100000, ++g_tagn);
    return g_tag;
}

/* Waits for OPEN and the SUBSCRIBED of n subscriptions. */
static bool wait_ready(const rec *r, int n, int ms) {
    WAIT_UNTIL(count_ev(r, LQ_EVENT_SUBSCRIBED, -1) >= n || count_ev(r, LQ_EVENT_ERROR, -1) > 0, ms);
    return CHECKF(count_ev(r, LQ_EVENT_OPEN, -1) >= 1 && count_ev(r, LQ_EVENT_SUBSCRIBED, -1) >= n,
                  "[%s] not ready: %d OPEN, %d SUBSCRIBED of %d, %d ERROR", r->name, count_ev(r, LQ_EVENT_OPEN, -1),
                  count_ev(r, LQ_EVENT_SUBSCRIBED, -1), n, count_ev(r, LQ_EVENT_ERROR, -1));
}

/* ---- cases --------------------------------------------------------------------------------------- */

/* Connects with one kind of key, checks OPEN and that a subscription delivers. */
static void connect_with(const char *name, const char *js, const char *client, const char *master,
                         void (*tweak)(lq_desc *)) {
    rec r;
    lq_desc d;
    lq_client *c;
    lq_sub s;
    char where[160], body[200], id[48];
    const rev *e;
    const char *tag = new_tag();
    rec_init(&r, name);
    base_desc(&d, &r);
    d.javascript_key = js;
    d.client_key = client;
    d.master_key = master;
    if (tweak) tweak(&d);
    c = new_client(&d);
    if (!c) goto out;
    CHECK(lq_client_state(c) == LQ_STATE_INITIALIZED);
    CHECK(strcmp(lq_client_id(c), "") == 0);
    snprintf(where, sizeof where, "{\"playerName\":\"%s\"}", tag);
    s = subscribe(c, "GameScore", where, NULL);
    if (!wait_ready(&r, 1, 10000)) goto out;
    e = nth_ev(&r, LQ_EVENT_OPEN, -1, 0);
    CHECK(count_ev(&r, LQ_EVENT_OPEN, -1) == 1);
    CHECK(e && e->client_id[0] != 0);
    CHECK(e && e->id_matches);
    CHECK(e && e->rid == 0 && e->sub.id == 0);
    CHECK(e && e->state == LQ_STATE_CONNECTED);
    CHECK(lq_client_state(c) == LQ_STATE_CONNECTED);
    CHECK(e && strcmp(lq_client_id(c), e->client_id) == 0);
    CHECK(count_ev(&r, LQ_EVENT_ERROR, -1) == 0);
    CHECK(index_of(&r, e) < index_of(&r, nth_ev(&r, LQ_EVENT_SUBSCRIBED, -1, 0)));
    e = nth_ev(&r, LQ_EVENT_SUBSCRIBED, -1, 0);
    CHECK(e && e->sub.id == s.id && e->rid > 0 && e->rid == rid_of(&r, s) && !e->resub);
    CHECK(lq_sub_valid(c, s));
    snprintf(body, sizeof body, "{\"playerName\":\"%s\",\"score\":1}", tag);
    CHECK(rest_create("GameScore", body, id, sizeof id, NULL, 0));
    WAIT_UNTIL(find_obj(&r, LQ_EVENT_CREATE, -1, id) != NULL, 10000);
    CHECKF(find_obj(&r, LQ_EVENT_CREATE, -1, id) != NULL, "no CREATE for %s", id);
out:
    free_client(c);
    rec_free(&r);
}

static char g_url[300];

/* the http:// form of the server URL */
static void tweak_http_url(lq_desc *d) { d->server_url = cfg.http_url; }

/* a host name (localhost may resolve to ::1 first, where nothing listens) */
static void tweak_localhost(lq_desc *d) {
    snprintf(g_url, sizeof g_url, "ws://localhost:%s/parse", env_or("PARSE_PORT", "1"));
    d->server_url = g_url;
}

static void tweak_extras(lq_desc *d) {
    static const char *const headers[] = {"X-Test-Header: livequery.h", "User-Agent: test_live/1"};
    d->installation_id = "test-installation-0001";
    d->extra_headers = headers;
    d->num_extra_headers = 2;
}

static void case_connect_keys(void) {
    connect_with("jsKey", cfg.js_key, NULL, NULL, NULL);
    connect_with("clientKey", NULL, cfg.client_key, NULL, NULL);
    connect_with("masterKey", NULL, NULL, cfg.master_key, NULL);
    connect_with("httpUrl", cfg.js_key, NULL, NULL, tweak_http_url);
    connect_with("localhost", cfg.js_key, NULL, NULL, tweak_localhost);
    connect_with("installationId+headers", cfg.js_key, NULL, NULL, tweak_extras);
}

/* Wrong application id and wrong keys: error code 4, fatal, DISCONNECTED, no reconnect. */
static void case_wrong_keys(void) {
    rec r;
    lq_desc d;
    lq_client *c;
    lq_sub s;
    const rev *e;
    lq_query q;
    lq_result res;
    int i;
    rec_init(&r, "wrongKeys");
    base_desc(&d, &r);
    d.application_id = "wrongAppId";
    d.javascript_key = "wrongJsKey";
    c = new_client(&d);
    if (!c) goto out;
    s = subscribe(c, "GameScore", "{}", NULL);
    WAIT_UNTIL(count_ev(&r, LQ_EVENT_ERROR, -1) > 0, 10000);
    e = nth_ev(&r, LQ_EVENT_ERROR, -1, 0);
    if (!CHECKF(e != NULL, "no ERROR within 10 s")) goto out;
    CHECKF(e->code == 4, "code %d", e->code);
    CHECK(e->fatal);
    CHECK(e->result == LQ_ERR_SERVER);
    CHECK(e->sub.id == 0 && e->rid == 0);
    CHECK(e->msg && e->msg[0]);
    CHECKF(lq_client_state(c) == LQ_STATE_DISCONNECTED, "state %s", lq_state_str(lq_client_state(c)));
    CHECK(lq_error_detail(c) == 4);
    CHECK(lq_error_message(c)[0] != 0);
    pump_for(3000);
    CHECK(count_ev(&r, LQ_EVENT_RECONNECTING, -1) == 0);
    CHECK(count_ev(&r, LQ_EVENT_OPEN, -1) == 0);
    CHECK(count_ev(&r, LQ_EVENT_SUBSCRIBED, -1) == 0);
    CHECK(count_ev(&r, LQ_EVENT_ERROR, -1) == 1);
    CHECKF(count_ev(&r, LQ_EVENT_CLOSE, -1) == 1, "%d CLOSE events", count_ev(&r, LQ_EVENT_CLOSE, -1));
    /* the queued subscription ended with the client */
    e = nth_ev(&r, LQ_EVENT_UNSUBSCRIBED, -1, 0);
    CHECKF(e && e->sub.id == s.id, "no UNSUBSCRIBED for the subscription");
    CHECK(!lq_sub_valid(c, s) && lq_unsubscribe(c, s) == LQ_ERR_INVALID_ARG);   /* the handle ended with it */
    CHECK(lq_subscription_count(c) == 0);
    CHECK(lq_client_state(c) == LQ_STATE_DISCONNECTED);
    res = lq_step(c);
    CHECKF(res == LQ_ERR_CLOSED, "lq_step: %s", lq_result_str(res));
    memset(&q, 0, sizeof q);
    q.class_name = "GameScore";
    CHECK(lq_subscribe(c, &q, NULL) == LQ_ERR_STATE);
    for (i = 0; i < 5; i++) pump(10);
    CHECK(count_ev(&r, LQ_EVENT_RECONNECTING, -1) == 0);
out:
    free_client(c);
    rec_free(&r);
}

/* use_fields on Parse Server 7+ (which rejects "fields" with code 1, requestId null): the client
   subscribes again with keys, silently: no ERROR, one SUBSCRIBED, the events carry only score. */
static void case_fields_fallback(void) {
    rec r;
    lq_desc d;
    lq_client *c;
    lq_query q;
    lq_sub h;
    const char *keys[1] = {"score"};
    char where[160], body[300], id[48];
    const char *tag = new_tag();
    const rev *e;
    rec_init(&r, "fieldsFallback");
    base_desc(&d, &r);
    d.use_fields = true;
    c = new_client(&d);
    if (!c) goto out;
    snprintf(where, sizeof where, "{\"playerName\":\"%s\"}", tag);
    memset(&q, 0, sizeof q);
    q.class_name = "GameScore";
    q.where = where;
    q.keys = keys;
    q.num_keys = 1;
    CHECK(lq_subscribe(c, &q, &h) == LQ_OK);
    if (!wait_ready(&r, 1, 10000)) goto out;
    snprintf(body, sizeof body, "{\"playerName\":\"%s\",\"score\":3}", tag);
    CHECK(rest_create("GameScore", body, id, sizeof id, NULL, 0));
    WAIT_UNTIL(find_obj(&r, LQ_EVENT_CREATE, rid_of(&r, h), id), 10000);
    e = find_obj(&r, LQ_EVENT_CREATE, rid_of(&r, h), id);
    if (CHECKF(e != NULL, "no CREATE after the fallback to keys")) {
        CHECKF(strstr(e->obj, "\"score\":3") != NULL, "%s", e->obj);
        CHECKF(strstr(e->obj, "playerName") == NULL, "playerName in %s", e->obj);
    }
    CHECK(count_ev(&r, LQ_EVENT_ERROR, -1) == 0);
    CHECK(count_ev(&r, LQ_EVENT_SUBSCRIBED, -1) == 1);
    CHECK(count_ev(&r, LQ_EVENT_RECONNECTING, -1) == 0);
    CHECK(lq_subscription_count(c) == 1);
out:
    free_client(c);
    rec_free(&r);
}

/* create, update, leave, enter, delete with object and original as the server sent them. */
static void case_events(void) {
    rec r;
    lq_desc d;
    lq_client *c;
    lq_sub s;
    int marker = 42, base;
    char where[200], body[400], idA[48], idB[48], cA[48], cB[48], u1[48], u2[48], u3[48], buf[128], why[128];
    char *gb = NULL;
    const rev *e;
    jdoc *o = (jdoc *)malloc(sizeof *o), *g = (jdoc *)malloc(sizeof *g), *rs = (jdoc *)malloc(sizeof *rs);
    lq_json obj, orig, iso, tags;
    double lat = 0, lon = 0;
    const char *tag = new_tag();
    int32_t rid;
    rec_init(&r, "events");
    base_desc(&d, &r);
    c = new_client(&d);
    if (!c || !o || !g || !rs) goto out;
    snprintf(where, sizeof where, "{\"playerName\":\"%s\",\"score\":{\"$gt\":10}}", tag);
    s = subscribe(c, "GameScore", where, &marker);
    if (!wait_ready(&r, 1, 10000)) goto out;
    rid = rid_of(&r, s);
    CHECK(rid > 0);
    CHECK(lq_sub_user_data(c, s) == &marker);
    e = nth_ev(&r, LQ_EVENT_SUBSCRIBED, -1, 0);
    CHECK(e && e->sub.id == s.id && e->rid == rid && e->sub_ud == &marker && !e->resub);
    base = r.n;

    /* A: score 5 does not match; B: score 20 does */
    snprintf(body, sizeof body, "{\"playerName\":\"%s\",\"score\":5}", tag);
    CHECK(rest_create("GameScore", body, idA, sizeof idA, cA, sizeof cA));
    snprintf(body, sizeof body,
             "{\"playerName\":\"%s\",\"score\":20,\"tags\":[\"x\",\"y\"],"
             "\"loc\":{\"__type\":\"GeoPoint\",\"latitude\":1.5,\"longitude\":-2.25},"
             "\"when\":{\"__type\":\"Date\",\"iso\":\"2020-01-02T03:04:05.678Z\"}}",
             tag);
    CHECK(rest_create("GameScore", body, idB, sizeof idB, cB, sizeof cB));
    WAIT_UNTIL(find_obj(&r, LQ_EVENT_CREATE, rid, idB), 10000);
    e = find_obj(&r, LQ_EVENT_CREATE, rid, idB);
    if (CHECKF(e != NULL, "no CREATE for %s", idB)) {
        CHECK(e->sub.id == s.id && e->sub_ud == &marker);
        CHECK(e->orig == NULL);                             /* create has no original */
        obj = jparse(o, e->obj);
        CHECK(lq_json_kind(obj) == LQ_JSON_OBJECT);
        CHECK(lq_json_string_eq(lq_json_get(obj, "objectId"), idB));
        CHECK(lq_json_string_eq(lq_json_get(obj, "className"), "GameScore"));
        CHECK(lq_json_int(lq_json_get(obj, "score"), -1) == 20);
        CHECK(lq_json_string_eq(lq_json_get(obj, "playerName"), tag));
        CHECK(lq_json_string_eq(lq_json_get(obj, "createdAt"), cB));
        CHECK(lq_json_string_eq(lq_json_get(obj, "updatedAt"), cB));
        tags = lq_json_get(obj, "tags");
        CHECK(lq_json_kind(tags) == LQ_JSON_ARRAY && lq_json_count(tags) == 2);
        CHECK(lq_json_string_eq(lq_json_path(obj, "tags.1"), "y"));
        CHECK(lq_json_geopoint(lq_json_get(obj, "loc"), &lat, &lon) && lat > 1.49 && lat < 1.51 && lon < -2.24 && lon > -2.26);
        CHECK(lq_json_date(lq_json_get(obj, "when"), &iso) && lq_json_string_eq(iso, "2020-01-02T03:04:05.678Z"));
        /* the whole object is what the server stores: compare with a REST GET */
        if (CHECK(rest_get("GameScore", idB, g, &gb)))
            CHECKF(same_as_rest(obj, g->root, why, sizeof why), "%s\n     event: %s\n     REST:  %s", why, e->obj, gb);
        free(gb);
        gb = NULL;
    }
    CHECK(find_obj(&r, LQ_EVENT_NONE, -1, idA) == NULL);

    /* update: both match */
    CHECK(rest_update("GameScore", idB, "{\"score\":30}", u1, sizeof u1));
    WAIT_UNTIL(find_obj(&r, LQ_EVENT_UPDATE, rid, idB), 10000);
    e = find_obj(&r, LQ_EVENT_UPDATE, rid, idB);
    if (CHECKF(e != NULL, "no UPDATE for %s", idB)) {
        obj = jparse(o, e->obj);
        orig = jparse(g, e->orig);
        CHECK(e->orig != NULL);
        CHECK(lq_json_int(lq_json_get(obj, "score"), -1) == 30);
        CHECK(lq_json_int(lq_json_get(orig, "score"), -1) == 20);
        CHECK(lq_json_string_eq(lq_json_get(obj, "updatedAt"), u1));
        CHECK(lq_json_string_eq(lq_json_get(orig, "updatedAt"), cB));
        CHECK(lq_json_string_eq(lq_json_get(orig, "objectId"), idB));
        CHECK(lq_json_string_eq(lq_json_get(orig, "createdAt"), cB));
        CHECK(lq_json_string_eq(lq_json_path(orig, "tags.0"), "x"));
        CHECK(jeq(lq_json_get(obj, "loc"), lq_json_get(orig, "loc")));
        if (CHECK(rest_get("GameScore", idB, rs, &gb)))
            CHECKF(same_as_rest(obj, rs->root, why, sizeof why), "%s\n     event: %s\n     REST:  %s", why, e->obj, gb);
        free(gb);
        gb = NULL;
    }

    /* leave: B no longer matches */
    CHECK(rest_update("GameScore", idB, "{\"score\":3}", u2, sizeof u2));
    WAIT_UNTIL(find_obj(&r, LQ_EVENT_LEAVE, rid, idB), 10000);
    e = find_obj(&r, LQ_EVENT_LEAVE, rid, idB);
    if (CHECKF(e != NULL, "no LEAVE for %s", idB)) {
        obj = jparse(o, e->obj);
        orig = jparse(g, e->orig);
        CHECK(e->orig != NULL);
        CHECK(jnum(lq_json_get(obj, "score")) == 3);
        CHECK(jnum(lq_json_get(orig, "score")) == 30);
        CHECK(lq_json_string_eq(lq_json_get(obj, "updatedAt"), u2));
        CHECK(lq_json_string_eq(lq_json_get(orig, "updatedAt"), u1));
    }

    /* enter: A starts matching */
    CHECK(rest_update("GameScore", idA, "{\"score\":50}", u3, sizeof u3));
    WAIT_UNTIL(find_obj(&r, LQ_EVENT_ENTER, rid, idA), 10000);
    e = find_obj(&r, LQ_EVENT_ENTER, rid, idA);
    if (CHECKF(e != NULL, "no ENTER for %s", idA)) {
        obj = jparse(o, e->obj);
        CHECK(lq_json_int(lq_json_get(obj, "score"), -1) == 50);
        CHECK(lq_json_string_eq(lq_json_get(obj, "createdAt"), cA));
        CHECK(lq_json_string_eq(lq_json_get(obj, "updatedAt"), u3));
        /* parse-server sends the previous version with enter */
        if (CHECKF(e->orig != NULL, "ENTER without original")) {
            orig = jparse(g, e->orig);
            CHECK(lq_json_int(lq_json_get(orig, "score"), -1) == 5);
            CHECK(lq_json_string_eq(lq_json_get(orig, "updatedAt"), cA));
        }
    }

    /* delete: A (matching) gives DELETE, B (not matching) nothing */
    CHECK(rest_delete("GameScore", idA));
    CHECK(rest_delete("GameScore", idB));
    WAIT_UNTIL(find_obj(&r, LQ_EVENT_DELETE, rid, idA), 10000);
    e = find_obj(&r, LQ_EVENT_DELETE, rid, idA);
    if (CHECKF(e != NULL, "no DELETE for %s", idA)) {
        obj = jparse(o, e->obj);
        CHECK(e->orig == NULL);                             /* delete has no original */
        CHECK(lq_json_string_eq(lq_json_get(obj, "objectId"), idA));
        CHECK(lq_json_int(lq_json_get(obj, "score"), -1) == 50);
        CHECK(lq_json_string_eq(lq_json_get(obj, "updatedAt"), u3));
        CHECK(strcmp(jstr(lq_json_get(obj, "className"), buf, sizeof buf), "GameScore") == 0);
    }
    pump_for(1000);
    CHECKF(count_obj(&r, rid) == 5, "%d object events, want 5", count_obj(&r, rid));
    CHECK(find_obj(&r, LQ_EVENT_DELETE, -1, idB) == NULL);
    /* the order: create, update, leave, enter, delete; nothing else in between */
    if (r.n - base == 5) {
        CHECK(r.ev[base].type == LQ_EVENT_CREATE && r.ev[base + 1].type == LQ_EVENT_UPDATE &&
              r.ev[base + 2].type == LQ_EVENT_LEAVE && r.ev[base + 3].type == LQ_EVENT_ENTER &&
              r.ev[base + 4].type == LQ_EVENT_DELETE);
    } else {
        CHECKF(r.n - base == 5, "%d events after SUBSCRIBED, want 5", r.n - base);
    }
out:
    free(o);
    free(g);
    free(rs);
    free_client(c);
    rec_free(&r);
}

/* keys: only the listed fields (plus className/objectId/createdAt/updatedAt/ACL). */
static void case_keys(void) {
    rec r;
    lq_desc d;
    lq_client *c;
    lq_sub sk, sa;
    int32_t rk, ra;
    lq_query q;
    const char *keys[1] = {"score"};
    char where[160], body[300], id[48];
    const rev *e;
    jdoc *o = (jdoc *)malloc(sizeof *o), *g = (jdoc *)malloc(sizeof *g);
    lq_json obj, m;
    const char *tag = new_tag();
    lq_result res;
    rec_init(&r, "keys");
    base_desc(&d, &r);
    c = new_client(&d);
    if (!c || !o || !g) goto out;
    snprintf(where, sizeof where, "{\"playerName\":\"%s\"}", tag);
    memset(&q, 0, sizeof q);
    q.class_name = "GameScore";
    q.where = where;
    q.keys = keys;
    q.num_keys = 1;
    res = lq_subscribe(c, &q, &sk);
    CHECKF(res == LQ_OK, "lq_subscribe with keys: %s", lq_result_str(res));
    sa = subscribe(c, "GameScore", where, NULL);           /* control: all fields */
    if (res != LQ_OK || !wait_ready(&r, 2, 10000)) goto out;
    rk = rid_of(&r, sk);
    ra = rid_of(&r, sa);
    CHECK(rk > 0 && ra > 0 && rk != ra);
    snprintf(body, sizeof body, "{\"playerName\":\"%s\",\"score\":7,\"tags\":[\"k\"]}", tag);
    CHECK(rest_create("GameScore", body, id, sizeof id, NULL, 0));
    WAIT_UNTIL(find_obj(&r, LQ_EVENT_CREATE, rk, id) &&
                   find_obj(&r, LQ_EVENT_CREATE, ra, id), 10000);
    e = find_obj(&r, LQ_EVENT_CREATE, rk, id);
    if (CHECKF(e != NULL, "no CREATE on the keys subscription")) {
        obj = jparse(o, e->obj);
        CHECK(lq_json_int(lq_json_get(obj, "score"), -1) == 7);
        CHECK(lq_json_string_eq(lq_json_get(obj, "objectId"), id));
        CHECK(lq_json_string_eq(lq_json_get(obj, "className"), "GameScore"));
        CHECK(lq_json_kind(lq_json_get(obj, "createdAt")) == LQ_JSON_STRING);
        CHECK(lq_json_kind(lq_json_get(obj, "updatedAt")) == LQ_JSON_STRING);
        CHECKF(!lq_json_exists(lq_json_get(obj, "playerName")), "playerName in %s", e->obj);
        CHECKF(!lq_json_exists(lq_json_get(obj, "tags")), "tags in %s", e->obj);
        for (m = lq_json_child(obj); lq_json_exists(m); m = lq_json_next(m)) {
            char key[64];
            jstr(lq_json_key(m), key, sizeof key);
            CHECKF(strcmp(key, "score") == 0 || strcmp(key, "className") == 0 || strcmp(key, "objectId") == 0 ||
                       strcmp(key, "createdAt") == 0 || strcmp(key, "updatedAt") == 0 || strcmp(key, "ACL") == 0,
                   "unexpected member %s", key);
        }
    }
    e = find_obj(&r, LQ_EVENT_CREATE, ra, id);
    if (CHECKF(e != NULL, "no CREATE on the control subscription")) {
        obj = jparse(o, e->obj);
        CHECK(lq_json_string_eq(lq_json_get(obj, "playerName"), tag));
        CHECK(lq_json_string_eq(lq_json_path(obj, "tags.0"), "k"));
    }
    CHECK(rest_update("GameScore", id, "{\"score\":8}", NULL, 0));
    WAIT_UNTIL(find_obj(&r, LQ_EVENT_UPDATE, rk, id), 10000);
    e = find_obj(&r, LQ_EVENT_UPDATE, rk, id);
    if (CHECKF(e != NULL, "no UPDATE on the keys subscription")) {
        obj = jparse(o, e->obj);
        CHECK(lq_json_int(lq_json_get(obj, "score"), -1) == 8);
        CHECK(!lq_json_exists(lq_json_get(obj, "playerName")));
        if (CHECK(e->orig != NULL)) {
            lq_json orig = jparse(g, e->orig);
            CHECK(lq_json_int(lq_json_get(orig, "score"), -1) == 7);
            CHECK(!lq_json_exists(lq_json_get(orig, "playerName")));
            CHECK(!lq_json_exists(lq_json_get(orig, "tags")));
        }
    }
    CHECK(rest_delete("GameScore", id));
out:
    free(o);
    free(g);
    free_client(c);
    rec_free(&r);
}

/* watch: an update of an unwatched field gives no event, of a watched field one. */
static void case_watch(void) {
    rec r;
    lq_desc d;
    lq_client *c;
    lq_sub sw, sa;
    lq_query q;
    const char *watch[1] = {"playerName"};
    char where[160], body[300], id[48];
    const rev *e;
    jdoc *o = (jdoc *)malloc(sizeof *o), *g = (jdoc *)malloc(sizeof *g);
    const char *tag = new_tag();
    int32_t rw, ra;
    lq_result res;
    rec_init(&r, "watch");
    base_desc(&d, &r);
    c = new_client(&d);
    if (!c || !o || !g) goto out;
    snprintf(body, sizeof body, "{\"playerName\":\"p0\",\"score\":1,\"tags\":[\"%s\"]}", tag);
    CHECK(rest_create("GameScore", body, id, sizeof id, NULL, 0));
    snprintf(where, sizeof where, "{\"tags\":\"%s\"}", tag);
    memset(&q, 0, sizeof q);
    q.class_name = "GameScore";
    q.where = where;
    q.watch = watch;
    q.num_watch = 1;
    res = lq_subscribe(c, &q, &sw);
    CHECKF(res == LQ_OK, "lq_subscribe with watch: %s", lq_result_str(res));
    sa = subscribe(c, "GameScore", where, NULL);
    if (res != LQ_OK || !wait_ready(&r, 2, 10000)) goto out;
    rw = rid_of(&r, sw);
    ra = rid_of(&r, sa);
    CHECK(rw > 0 && ra > 0 && rw != ra);
    CHECK(rest_update("GameScore", id, "{\"score\":2}", NULL, 0));
    WAIT_UNTIL(count_obj(&r, ra) >= 1, 10000);
    CHECKF(count_obj(&r, ra) == 1, "the control subscription has %d events", count_obj(&r, ra));
    pump_for(1500);
    CHECKF(count_obj(&r, rw) == 0, "the watch subscription got %d events for an unwatched field", count_obj(&r, rw));
    CHECK(rest_update("GameScore", id, "{\"playerName\":\"p1\"}", NULL, 0));
    WAIT_UNTIL(count_obj(&r, rw) >= 1 && count_obj(&r, ra) >= 2, 10000);
    e = find_obj(&r, LQ_EVENT_UPDATE, rw, id);
    if (CHECKF(e != NULL, "no UPDATE on the watch subscription")) {
        lq_json obj = jparse(o, e->obj), orig = jparse(g, e->orig);
        CHECK(lq_json_string_eq(lq_json_get(obj, "playerName"), "p1"));
        CHECK(lq_json_int(lq_json_get(obj, "score"), -1) == 2);
        CHECK(lq_json_string_eq(lq_json_get(orig, "playerName"), "p0"));
    }
    pump_for(300);
    CHECK(count_obj(&r, rw) == 1);
    CHECK(count_obj(&r, ra) == 2);
    CHECK(rest_delete("GameScore", id));
out:
    free(o);
    free(g);
    free_client(c);
    rec_free(&r);
}

/* lq_update: SUBSCRIBED again, then events follow the new query only. */
static void case_update_op(void) {
    rec r;
    lq_desc d;
    lq_client *c;
    lq_sub s;
    lq_query q;
    char where[160], where2[160], body[200], id20[48], id30[48], id5[48];
    const rev *e;
    jdoc *o = (jdoc *)malloc(sizeof *o);
    const char *tag = new_tag();
    int32_t rid;
    lq_result res;
    int marker2 = 2;
    rec_init(&r, "update");
    base_desc(&d, &r);
    c = new_client(&d);
    if (!c || !o) goto out;
    snprintf(where, sizeof where, "{\"playerName\":\"%s\",\"score\":{\"$gt\":10}}", tag);
    snprintf(where2, sizeof where2, "{\"playerName\":\"%s\",\"score\":{\"$lt\":10}}", tag);
    s = subscribe(c, "GameScore", where, NULL);
    if (!wait_ready(&r, 1, 10000)) goto out;
    rid = rid_of(&r, s);
    snprintf(body, sizeof body, "{\"playerName\":\"%s\",\"score\":20}", tag);
    CHECK(rest_create("GameScore", body, id20, sizeof id20, NULL, 0));
    WAIT_UNTIL(find_obj(&r, LQ_EVENT_CREATE, rid, id20), 10000);
    CHECK(find_obj(&r, LQ_EVENT_CREATE, rid, id20) != NULL);

    memset(&q, 0, sizeof q);
    q.class_name = "GameScore";
    q.where = where2;
    q.user_data = &marker2;
    res = lq_update(c, s, &q);
    CHECKF(res == LQ_OK, "lq_update: %s", lq_result_str(res));
    WAIT_UNTIL(count_ev(&r, LQ_EVENT_SUBSCRIBED, rid) >= 2, 10000);
    e = nth_ev(&r, LQ_EVENT_SUBSCRIBED, rid, 1);
    if (CHECKF(e != NULL, "no second SUBSCRIBED after lq_update")) {
        CHECK(e->sub.id == s.id);
        CHECK(!e->resub);
        CHECK(e->sub_ud == &marker2);
    }
    CHECK(rid > 0 && rid_of(&r, s) == rid);                 /* the same requestId, the same handle */
    CHECK(lq_sub_valid(c, s) && lq_sub_user_data(c, s) == &marker2);
    CHECK(lq_subscription_count(c) == 1);
    CHECK(count_ev(&r, LQ_EVENT_UNSUBSCRIBED, -1) == 0);

    snprintf(body, sizeof body, "{\"playerName\":\"%s\",\"score\":30}", tag);
    CHECK(rest_create("GameScore", body, id30, sizeof id30, NULL, 0));   /* old query only */
    snprintf(body, sizeof body, "{\"playerName\":\"%s\",\"score\":5}", tag);
    CHECK(rest_create("GameScore", body, id5, sizeof id5, NULL, 0));     /* new query */
    WAIT_UNTIL(find_obj(&r, LQ_EVENT_CREATE, rid, id5), 10000);
    CHECKF(find_obj(&r, LQ_EVENT_CREATE, rid, id5) != NULL, "no CREATE under the new query");
    /* 20 -> 4: did not match the new query, now does: enter */
    CHECK(rest_update("GameScore", id20, "{\"score\":4}", NULL, 0));
    WAIT_UNTIL(find_obj(&r, LQ_EVENT_ENTER, rid, id20), 10000);
    e = find_obj(&r, LQ_EVENT_ENTER, rid, id20);
    if (CHECKF(e != NULL, "no ENTER under the new query")) {
        lq_json obj = jparse(o, e->obj);
        CHECK(lq_json_int(lq_json_get(obj, "score"), -1) == 4);
        CHECK(e->sub_ud == &marker2);
    }
    pump_for(1000);
    CHECKF(find_obj(&r, LQ_EVENT_NONE, -1, id30) == NULL, "an event for an object of the old query only");
    CHECK(count_obj(&r, rid) == 3);
    CHECK(rest_delete("GameScore", id20));
    CHECK(rest_delete("GameScore", id30));
    CHECK(rest_delete("GameScore", id5));
out:
    free(o);
    free_client(c);
    rec_free(&r);
}

/* Queries made with the lq_where_* builder, matched by the real server: each subscription gets
   exactly the objects its query selects. */
#define NWHERE 14
static void case_where_builder(void) {
    rec r;
    lq_desc d;
    lq_client *c;
    lq_where w[NWHERE], o1, o2;
    const lq_where *ors[2];
    lq_sub s[NWHERE];
    char where[NWHERE][512], body[400], id[3][48], ptr[120];
    const char *tag = new_tag();
    /* expected objects per query: bit k = object k (O0 score 5, O1 score 15, O2 score 25) */
    static const int want[NWHERE] = {2, 4, 5, 2, 2, 3, 4, 1, 4, 5, 5, 2, 1, 1};
    lq_value in2[2], all2[2];
    int i, k;
    lq_result res;
    rec_init(&r, "where");
    base_desc(&d, &r);
    c = new_client(&d);
    if (!c) goto out;
    snprintf(ptr, sizeof ptr, "{\"__type\":\"Pointer\",\"className\":\"_User\",\"objectId\":\"%.20s\"}", "ptrTarget1");
    in2[0] = lq_int(5);
    in2[1] = lq_int(25);
    all2[0] = lq_string("b");
    all2[1] = lq_string("c");
    for (i = 0; i < NWHERE; i++) {
        lq_where_init(&w[i]);
        lq_where_equal_to(&w[i], "playerName", lq_string(tag));
    }
    lq_where_greater_than(&w[0], "score", lq_int(10));               /* merged: {"$gt":10,"$lt":20} */
    lq_where_less_than(&w[0], "score", lq_int(20));
    lq_where_greater_than_or_equal_to(&w[1], "score", lq_int(25));
    lq_where_contained_in(&w[2], "score", in2, 2);
    lq_where_not_contained_in(&w[3], "score", in2, 2);
    lq_where_contains_all(&w[4], "tags", all2, 2);
    lq_where_exists(&w[5], "tags");
    lq_where_does_not_exist(&w[6], "tags");
    lq_where_matches(&w[7], "label", "^al", "i");
    lq_where_starts_with(&w[8], "label", "Ga");
    lq_where_init(&o1);
    lq_where_equal_to(&o1, "score", lq_int(5));
    lq_where_init(&o2);
    lq_where_equal_to(&o2, "score", lq_int(25));
    ors[0] = &o1;
    ors[1] = &o2;
    lq_where_or(&w[9], ors, 2);
    lq_where_not_equal_to(&w[10], "score", lq_int(15));
    lq_where_equal_to(&w[11], "owner", lq_raw_json(ptr));
    lq_where_equal_to(&w[12], "active", lq_bool(true));
    lq_where_less_than_or_equal_to(&w[13], "score", lq_number(10.5));
    for (i = 0; i < NWHERE; i++) {
        lq_json_token t[128];
        lq_json root;
        size_t len = 0;
        res = lq_where_build(&w[i], where[i], sizeof where[i], &len);
        if (!CHECKF(res == LQ_OK, "lq_where_build %d: %s", i, lq_result_str(res))) goto out;
        CHECKF(lq_json_parse(where[i], len, t, 128, 0, &root) > 0 && lq_json_kind(root) == LQ_JSON_OBJECT,
               "query %d is not a JSON object: %s", i, where[i]);
        s[i] = subscribe(c, "GameScore", where[i], NULL);
        if (!s[i].id) goto out;
    }
    if (!wait_ready(&r, NWHERE, 10000)) goto out;
    snprintf(body, sizeof body, "{\"playerName\":\"%s\",\"score\":5,\"tags\":[\"a\",\"b\"],\"label\":\"Alpha\",\"active\":true}", tag);
    CHECK(rest_create("GameScore", body, id[0], sizeof id[0], NULL, 0));
    snprintf(body, sizeof body, "{\"playerName\":\"%s\",\"score\":15,\"tags\":[\"b\",\"c\"],\"label\":\"beta\",\"active\":false,\"owner\":%s}", tag, ptr);
    CHECK(rest_create("GameScore", body, id[1], sizeof id[1], NULL, 0));
    snprintf(body, sizeof body, "{\"playerName\":\"%s\",\"score\":25,\"label\":\"Gamma\"}", tag);
    CHECK(rest_create("GameScore", body, id[2], sizeof id[2], NULL, 0));
    {
        int total = 0;
        for (i = 0; i < NWHERE; i++)
            for (k = 0; k < 3; k++) total += (want[i] >> k) & 1;
        WAIT_UNTIL(count_obj(&r, -1) >= total, 10000);
        pump_for(1000);
        CHECKF(count_obj(&r, -1) == total, "%d events, want %d", count_obj(&r, -1), total);
    }
    for (i = 0; i < NWHERE; i++) {
        int32_t rid = rid_of(&r, s[i]);
        CHECKF(rid > 0, "query %d: no requestId", i);
        for (k = 0; k < 3; k++) {
            bool got = find_obj(&r, LQ_EVENT_CREATE, rid, id[k]) != NULL;
            CHECKF(got == (((want[i] >> k) & 1) != 0), "query %s: object %d (%s) %s", where[i], k, id[k],
                   got ? "delivered but should not match" : "matches but was not delivered");
        }
    }
    CHECK(count_ev(&r, LQ_EVENT_ERROR, -1) == 0);
    for (k = 0; k < 3; k++) rest_delete("GameScore", id[k]);
out:
    free_client(c);
    rec_free(&r);
}

/* ACL: only the user's session token (in the query or in the desc) and the master key see a private
   object; a client without a token does not. */
static void case_acl(void) {
    rec ra, rb, rc, rd;
    lq_desc d;
    lq_client *ca = NULL, *cb = NULL, *cc = NULL, *cd = NULL;
    lq_query q;
    lq_sub sa = {0};
    char user[64], uid[48], token[96], where[300], body[400], idP[48], idU[48], path[160];
    const char *tag = new_tag();
    const rev *e;
    jdoc *o = (jdoc *)malloc(sizeof *o);
    rec *all[4];
    int i;
    rec_init(&ra, "acl:subToken");
    rec_init(&rb, "acl:descToken");
    rec_init(&rc, "acl:noToken");
    rec_init(&rd, "acl:master");
    all[0] = &ra; all[1] = &rb; all[2] = &rc; all[3] = &rd;
    if (!o) goto out;
    snprintf(user, sizeof user, "u%.60s", tag);
    if (!CHECK(rest_signup(user, "pw123456", uid, sizeof uid, token, sizeof token))) goto out;
    snprintf(where, sizeof where, "{\"secret\":{\"$in\":[\"%s-priv\",\"%s-pub\"]}}", tag, tag);

    base_desc(&d, &ra);                                      /* token in the subscription */
    ca = new_client(&d);
    base_desc(&d, &rb);                                      /* token in the desc */
    d.session_token = token;
    cb = new_client(&d);
    base_desc(&d, &rc);                                      /* no token */
    cc = new_client(&d);
    base_desc(&d, &rd);                                      /* master key only */
    d.javascript_key = NULL;
    d.master_key = cfg.master_key;
    cd = new_client(&d);
    if (!ca || !cb || !cc || !cd) goto out;
    memset(&q, 0, sizeof q);
    q.class_name = "Private";
    q.where = where;
    q.session_token = token;
    CHECK(lq_subscribe(ca, &q, &sa) == LQ_OK);
    subscribe(cb, "Private", where, NULL);
    subscribe(cc, "Private", where, NULL);
    subscribe(cd, "Private", where, NULL);
    WAIT_UNTIL(count_ev(&ra, LQ_EVENT_SUBSCRIBED, -1) && count_ev(&rb, LQ_EVENT_SUBSCRIBED, -1) &&
                   count_ev(&rc, LQ_EVENT_SUBSCRIBED, -1) && count_ev(&rd, LQ_EVENT_SUBSCRIBED, -1), 10000);
    for (i = 0; i < 4; i++) CHECKF(count_ev(all[i], LQ_EVENT_SUBSCRIBED, -1) == 1, "[%s] not subscribed", all[i]->name);

    snprintf(body, sizeof body, "{\"secret\":\"%s-priv\",\"ACL\":{\"%s\":{\"read\":true,\"write\":true}}}", tag, uid);
    CHECK(rest_create("Private", body, idP, sizeof idP, NULL, 0));
    snprintf(body, sizeof body, "{\"secret\":\"%s-pub\"}", tag);
    CHECK(rest_create("Private", body, idU, sizeof idU, NULL, 0));
    WAIT_UNTIL(find_obj(&ra, LQ_EVENT_CREATE, -1, idP) && find_obj(&ra, LQ_EVENT_CREATE, -1, idU) &&
                   find_obj(&rb, LQ_EVENT_CREATE, -1, idP) && find_obj(&rb, LQ_EVENT_CREATE, -1, idU) &&
                   find_obj(&rd, LQ_EVENT_CREATE, -1, idP) && find_obj(&rd, LQ_EVENT_CREATE, -1, idU) &&
                   find_obj(&rc, LQ_EVENT_CREATE, -1, idU), 10000);
    /* the public object proves the no-token client's link works; give the private one time too */
    CHECKF(find_obj(&rc, LQ_EVENT_CREATE, -1, idU) != NULL, "no-token client: no CREATE of the public object");
    pump_for(1500);
    CHECKF(find_obj(&ra, LQ_EVENT_CREATE, -1, idP) != NULL, "subscription token: private object not seen");
    CHECKF(find_obj(&rb, LQ_EVENT_CREATE, -1, idP) != NULL, "desc token: private object not seen");
    CHECKF(find_obj(&rd, LQ_EVENT_CREATE, -1, idP) != NULL, "master key: private object not seen");
    CHECKF(find_obj(&rc, LQ_EVENT_NONE, -1, idP) == NULL, "no-token client saw the private object");
    for (i = 0; i < 4; i++) if (i != 2) CHECK(find_obj(all[i], LQ_EVENT_CREATE, -1, idU) != NULL);
    e = find_obj(&ra, LQ_EVENT_CREATE, -1, idP);
    if (e) {
        lq_json obj = jparse(o, e->obj);
        snprintf(path, sizeof path, "ACL.%s.read", uid);
        CHECK(lq_json_bool(lq_json_path(obj, path), false));
        CHECK(e->sub.id == sa.id);
    }
    /* the user writes its own object with its session token (ACL write) */
    snprintf(path, sizeof path, "/classes/Private/%s", idP);
    CHECK(rest(AS_SESSION, token, "PUT", path, "{\"note\":\"by the owner\"}", NULL, NULL) == 200);
    g_rest_quiet = true;
    CHECK(rest(AS_JS, NULL, "PUT", path, "{\"note\":\"anonymous\"}", NULL, NULL) == 404);  /* no ACL write */
    g_rest_quiet = false;
    WAIT_UNTIL(find_obj(&ra, LQ_EVENT_UPDATE, -1, idP) && find_obj(&rb, LQ_EVENT_UPDATE, -1, idP) &&
                   find_obj(&rd, LQ_EVENT_UPDATE, -1, idP), 10000);
    for (i = 0; i < 4; i++) {
        e = find_obj(all[i], LQ_EVENT_UPDATE, -1, idP);
        if (i == 2) {
            CHECKF(e == NULL, "no-token client saw the update of the private object");
        } else if (CHECKF(e != NULL, "[%s] no UPDATE of the private object", all[i]->name)) {
            lq_json obj = jparse(o, e->obj);
            CHECK(lq_json_string_eq(lq_json_get(obj, "note"), "by the owner"));
            CHECK(e->orig != NULL && strstr(e->orig, "by the owner") == NULL);
        }
    }
    CHECK(rest_delete("Private", idP));
    CHECK(rest_delete("Private", idU));
    WAIT_UNTIL(find_obj(&ra, LQ_EVENT_DELETE, -1, idP) && find_obj(&rb, LQ_EVENT_DELETE, -1, idP) &&
                   find_obj(&rd, LQ_EVENT_DELETE, -1, idP) && find_obj(&rc, LQ_EVENT_DELETE, -1, idU), 10000);
    CHECK(find_obj(&ra, LQ_EVENT_DELETE, -1, idP) != NULL);
    CHECK(find_obj(&rb, LQ_EVENT_DELETE, -1, idP) != NULL);
    CHECK(find_obj(&rd, LQ_EVENT_DELETE, -1, idP) != NULL);
    CHECK(find_obj(&rc, LQ_EVENT_DELETE, -1, idU) != NULL);
    pump_for(500);
    CHECK(find_obj(&rc, LQ_EVENT_NONE, -1, idP) == NULL);
    for (i = 0; i < 4; i++) CHECK(count_ev(all[i], LQ_EVENT_ERROR, -1) == 0);
out:
    free(o);
    free_client(ca);
    free_client(cb);
    free_client(cc);
    free_client(cd);
    for (i = 0; i < 4; i++) rec_free(all[i]);
}

/* unsubscribe: UNSUBSCRIBED, then no more events for it. */
static void case_unsubscribe(void) {
    rec r;
    lq_desc d;
    lq_client *c;
    lq_sub s1, s2;
    int m1 = 1, m2 = 2;
    int32_t r1, r2;
    char where[160], body[200], id1[48], id2[48];
    const char *tag = new_tag();
    const rev *e;
    rec_init(&r, "unsubscribe");
    base_desc(&d, &r);
    c = new_client(&d);
    if (!c) goto out;
    snprintf(where, sizeof where, "{\"playerName\":\"%s\"}", tag);
    s1 = subscribe(c, "GameScore", where, &m1);
    s2 = subscribe(c, "GameScore", where, &m2);
    if (!wait_ready(&r, 2, 10000)) goto out;
    r1 = rid_of(&r, s1);
    r2 = rid_of(&r, s2);
    CHECK(r1 > 0 && r2 > 0 && r1 != r2 && s1.id != s2.id);
    CHECK(lq_subscription_count(c) == 2);
    snprintf(body, sizeof body, "{\"playerName\":\"%s\",\"score\":1}", tag);
    CHECK(rest_create("GameScore", body, id1, sizeof id1, NULL, 0));
    WAIT_UNTIL(find_obj(&r, LQ_EVENT_CREATE, r1, id1) && find_obj(&r, LQ_EVENT_CREATE, r2, id1), 10000);
    CHECK(find_obj(&r, LQ_EVENT_CREATE, r1, id1) != NULL);
    CHECK(find_obj(&r, LQ_EVENT_CREATE, r2, id1) != NULL);

    CHECK(lq_unsubscribe(c, s1) == LQ_OK);
    WAIT_UNTIL(count_ev(&r, LQ_EVENT_UNSUBSCRIBED, -1) >= 1, 10000);
    e = nth_ev(&r, LQ_EVENT_UNSUBSCRIBED, -1, 0);
    if (CHECKF(e != NULL, "no UNSUBSCRIBED")) {
        CHECK(e->sub.id == s1.id);
        CHECK(e->rid == r1);
        CHECK(e->sub_ud == &m1);
    }
    CHECK(lq_subscription_count(c) == 1);
    CHECK(!lq_sub_valid(c, s1) && lq_sub_user_data(c, s1) == NULL && lq_unsubscribe(c, s1) == LQ_ERR_INVALID_ARG);
    CHECK(lq_sub_valid(c, s2) && lq_sub_user_data(c, s2) == &m2);
    CHECK(rest_create("GameScore", body, id2, sizeof id2, NULL, 0));
    WAIT_UNTIL(find_obj(&r, LQ_EVENT_CREATE, r2, id2), 10000);
    CHECK(find_obj(&r, LQ_EVENT_CREATE, r2, id2) != NULL);
    pump_for(1000);
    CHECKF(find_obj(&r, LQ_EVENT_NONE, r1, id2) == NULL, "an event for the unsubscribed subscription");
    CHECK(count_obj(&r, r1) == 1);
    CHECK(count_ev(&r, LQ_EVENT_UNSUBSCRIBED, -1) == 1);
    CHECK(count_ev(&r, LQ_EVENT_ERROR, -1) == 0);
    CHECK(rest_delete("GameScore", id1));
    CHECK(rest_delete("GameScore", id2));
out:
    free_client(c);
    rec_free(&r);
}

/* An afterLiveQueryEvent trigger that throws (tests/server/server.js, class Guarded, note
   "refuse"): parse-server sends {"op":"error",...,"reconnect":false,"requestId":N} for that one
   event and keeps the subscription. The client reports it on the subscription, not fatal, keeps
   it, and the next events arrive; a second refusal changes nothing either. */
static void case_event_refused(void) {
    rec r;
    lq_desc d;
    lq_client *c;
    lq_sub s1, s2;
    char where[160], body[200], id1[48], id2[48], id3[48];
    const char *tag = new_tag();
    const rev *e;
    int32_t r1, r2;
    rec_init(&r, "eventRefused");
    base_desc(&d, &r);
    c = new_client(&d);
    if (!c) goto out;
    snprintf(where, sizeof where, "{\"tag\":\"%s\"}", tag);
    s1 = subscribe(c, "Guarded", where, NULL);
    snprintf(where, sizeof where, "{\"playerName\":\"%s\"}", tag);
    s2 = subscribe(c, "GameScore", where, NULL);
    if (!wait_ready(&r, 2, 10000)) goto out;
    r1 = rid_of(&r, s1);
    r2 = rid_of(&r, s2);
    snprintf(body, sizeof body, "{\"tag\":\"%s\",\"note\":\"refuse\"}", tag);
    CHECK(rest_create("Guarded", body, id1, sizeof id1, NULL, 0));
    WAIT_UNTIL(count_ev(&r, LQ_EVENT_ERROR, -1) >= 1, 10000);
    e = nth_ev(&r, LQ_EVENT_ERROR, -1, 0);
    if (CHECKF(e != NULL, "no ERROR for the refused event")) {
        CHECKF(e->sub.id == s1.id && e->rid == r1, "routed to rid %d", e->rid);
        CHECKF(e->code == 141 && e->result == LQ_ERR_SERVER, "code %d", e->code);
        CHECK(!e->fatal);
        CHECKF(e->msg && strstr(e->msg, "refused this event"), "message %s", e->msg ? e->msg : "(none)");
    }
    CHECK(rest_create("Guarded", body, id2, sizeof id2, NULL, 0));  /* a second refusal */
    WAIT_UNTIL(count_ev(&r, LQ_EVENT_ERROR, -1) >= 2, 10000);
    CHECK(count_ev(&r, LQ_EVENT_ERROR, -1) == 2);
    snprintf(body, sizeof body, "{\"tag\":\"%s\",\"note\":\"fine\"}", tag);
    CHECK(rest_create("Guarded", body, id3, sizeof id3, NULL, 0));
    WAIT_UNTIL(find_obj(&r, LQ_EVENT_CREATE, r1, id3), 10000);
    CHECKF(find_obj(&r, LQ_EVENT_CREATE, r1, id3) != NULL, "the next event did not arrive");
    CHECK(find_obj(&r, LQ_EVENT_NONE, r1, id1) == NULL);
    snprintf(body, sizeof body, "{\"playerName\":\"%s\",\"score\":1}", tag);
    CHECK(rest_create("GameScore", body, id1, sizeof id1, NULL, 0));
    WAIT_UNTIL(find_obj(&r, LQ_EVENT_CREATE, r2, id1), 10000);
    CHECKF(find_obj(&r, LQ_EVENT_CREATE, r2, id1) != NULL, "the other subscription");
    CHECK(lq_client_state(c) == LQ_STATE_CONNECTED);
    CHECK(lq_subscription_count(c) == 2);
    CHECK(lq_sub_valid(c, s1) && lq_sub_valid(c, s2));     /* both handles still live */
    CHECK(count_ev(&r, LQ_EVENT_UNSUBSCRIBED, -1) == 0);
    CHECK(count_ev(&r, LQ_EVENT_CLOSE, -1) == 0);
    CHECK(count_ev(&r, LQ_EVENT_RECONNECTING, -1) == 0);
    CHECK(rest_delete("GameScore", id1));
out:
    free_client(c);
    rec_free(&r);
}

/* 50 subscriptions on one client, each on its own where: each gets exactly its own event. */
#define NSUBS 50
static void case_many_subs(void) {
    rec r;
    lq_desc d;
    lq_client *c;
    lq_sub s[NSUBS];
    int idx[NSUBS], i, total;
    char where[160], body[200], ids[NSUBS][48];
    const char *tag = new_tag();
    jdoc *o = (jdoc *)malloc(sizeof *o);
    rec_init(&r, "many");
    base_desc(&d, &r);
    c = new_client(&d);
    if (!c || !o) goto out;
    for (i = 0; i < NSUBS; i++) {
        idx[i] = i;
        snprintf(where, sizeof where, "{\"n\":%d,\"room\":\"%s\"}", i, tag);
        s[i] = subscribe(c, "Message", where, &idx[i]);
        if (!s[i].id) goto out;
    }
    CHECK(lq_subscription_count(c) == NSUBS);
    if (!wait_ready(&r, NSUBS, 20000)) goto out;
    for (i = 0; i < NSUBS; i++) {
        snprintf(body, sizeof body, "{\"n\":%d,\"room\":\"%s\",\"text\":\"m%d\"}", i, tag, i);
        if (!CHECK(rest_create("Message", body, ids[i], sizeof ids[i], NULL, 0))) ids[i][0] = 0;
    }
    WAIT_UNTIL(count_obj(&r, -1) >= NSUBS, 20000);
    pump_for(1000);
    total = count_obj(&r, -1);
    CHECKF(total == NSUBS, "%d object events, want %d", total, NSUBS);
    for (i = 0; i < NSUBS; i++) {
        int32_t rid = rid_of(&r, s[i]);
        const rev *e = nth_ev(&r, LQ_EVENT_CREATE, rid, 0);
        if (!CHECKF(count_obj(&r, rid) == 1 && e, "subscription %d (n=%d): %d events", (int)rid, i, count_obj(&r, rid)))
            continue;
        CHECK(e->sub.id == s[i].id && e->sub_ud == &idx[i] && lq_sub_user_data(c, s[i]) == &idx[i]);
        CHECKF(strcmp(e->objid, ids[i]) == 0, "subscription n=%d got %s, want %s", i, e->objid, ids[i]);
        CHECK(lq_json_int(lq_json_get(jparse(o, e->obj), "n"), -1) == i);
    }
    for (i = 0; i < NSUBS; i++)
        if (ids[i][0]) rest_delete("Message", ids[i]);
out:
    free(o);
    free_client(c);
    rec_free(&r);
}

/* Checks the RECONNECTING events after index from: attempts 1,2,... and delays within the bounds,
   each honoured before the next attempt. */
static void check_backoff(const rec *r, int from, int max_delay_s) {
    int i, want = 1;
    const rev *prev = NULL;
    for (i = from; i < r->n; i++) {
        const rev *e = &r->ev[i];
        uint32_t bound;
        if (e->type != LQ_EVENT_RECONNECTING) continue;
        bound = (uint32_t)((want >= 5 ? max_delay_s : ((1 << want) - 1) < max_delay_s ? (1 << want) - 1 : max_delay_s)) * 1000u;
        CHECKF(e->attempt == want, "RECONNECTING attempt %d, want %d", e->attempt, want);
        CHECKF(e->delay <= bound, "attempt %d: delay %u ms over %u", e->attempt, (unsigned)e->delay, (unsigned)bound);
        if (prev) CHECKF(e->t + 30 >= prev->t + prev->delay, "attempt %d came %d ms after attempt %d with delay %u",
                         e->attempt, (int)(e->t - prev->t), prev->attempt, (unsigned)prev->delay);
        prev = e;
        want++;
    }
}

/* The SUBSCRIBED of request id rid at index from or later. */
static const rev *subscribed_after(const rec *r, int from, int32_t rid) {
    int i;
    for (i = from; i < r->n; i++)
        if (r->ev[i].type == LQ_EVENT_SUBSCRIBED && r->ev[i].rid == rid) return &r->ev[i];
    return NULL;
}

/* One outage: kill the server (SIGKILL or SIGTERM), expect CLOSE and RECONNECTING 1,2,..., call
   during() while it is down, restart it, expect OPEN and nlive SUBSCRIBED. Returns the index of
   the first event of the outage, or -1 when the client did not come back. */
static int outage_round(rec *r, lq_client *c, bool sigkill, int nlive, void (*during)(void *), void *ctx) {
    int from = r->n, nopen = count_ev(r, LQ_EVENT_OPEN, -1), i;
    const rev *e, *close_ev = NULL, *open_ev;
    char old_id[64];
    e = last_ev(r, LQ_EVENT_OPEN);
    snprintf(old_id, sizeof old_id, "%s", e ? e->client_id : "");
    note("%s the parse server", sigkill ? "SIGKILL" : "SIGTERM");
    if (!CHECK(server_ctl("kill-parse", sigkill ? "--kill" : NULL) == 0)) return -1;
    /* attempt 1 waits up to 1 s and fails at once (nothing listens): attempt 2 follows */
    WAIT_UNTIL(count_from(r, LQ_EVENT_CLOSE, from) > 0 && count_from(r, LQ_EVENT_RECONNECTING, from) >= 2, 8000);
    for (i = from; i < r->n; i++)
        if (r->ev[i].type == LQ_EVENT_CLOSE) { close_ev = &r->ev[i]; break; }
    if (CHECKF(close_ev != NULL, "no CLOSE after the server died")) {
        CHECKF(close_ev->close_code == (sigkill ? 1006 : 1005), "close code %d", close_ev->close_code);
        CHECK(index_of(r, close_ev) == from || r->ev[from].type == LQ_EVENT_ERROR);
    }
    CHECKF(count_from(r, LQ_EVENT_RECONNECTING, from) >= 2, "fewer than 2 RECONNECTING while the server is down");
    CHECK(lq_client_state(c) == LQ_STATE_RECONNECTING || lq_client_state(c) == LQ_STATE_CONNECTING);
    if (during) during(ctx);
    pump(10);
    note("restarting the parse server");
    CHECK(server_ctl("start-parse", NULL) == 0);
    WAIT_UNTIL(count_from(r, LQ_EVENT_SUBSCRIBED, from) >= nlive, 40000);
    if (!CHECKF(count_from(r, LQ_EVENT_SUBSCRIBED, from) == nlive, "%d of %d SUBSCRIBED within 40 s after restart",
                count_from(r, LQ_EVENT_SUBSCRIBED, from), nlive))
        return -1;
    check_backoff(r, from, 30);
    for (i = from; i < r->n; i++) CHECKF(!(r->ev[i].type == LQ_EVENT_ERROR && r->ev[i].fatal), "a fatal ERROR");
    CHECK(count_ev(r, LQ_EVENT_OPEN, -1) == nopen + 1);
    open_ev = last_ev(r, LQ_EVENT_OPEN);
    CHECK(index_of(r, open_ev) > index_of(r, last_ev(r, LQ_EVENT_RECONNECTING)));
    CHECK(index_of(r, last_ev(r, LQ_EVENT_SUBSCRIBED)) > index_of(r, open_ev));
    CHECK(open_ev && open_ev->client_id[0] && strcmp(open_ev->client_id, old_id) != 0);
    CHECK(lq_client_state(c) == LQ_STATE_CONNECTED);
    return from;
}

typedef struct restart_ctx {
    lq_client *c;
    lq_sub s, sp, sx, s2;
    int32_t rx;
    char tag[64], where_late[160], where_upd[160];
} restart_ctx;

/* While the server is down (SIGKILL round): a new subscription, queued until connected. */
static void during_kill(void *p) {
    restart_ctx *x = (restart_ctx *)p;
    x->s2 = subscribe(x->c, "GameScore", x->where_late, NULL);
}

/* While the server is down (SIGTERM round): unsubscribe one, change the query of another. */
static void during_term(void *p) {
    restart_ctx *x = (restart_ctx *)p;
    lq_query q;
    CHECK(lq_unsubscribe(x->c, x->sx) == LQ_OK);
    memset(&q, 0, sizeof q);
    q.class_name = "GameScore";
    q.where = x->where_upd;
    CHECK(lq_update(x->c, x->s, &q) == LQ_OK);
}

/* Creates an object and waits for its CREATE on request id rid. */
static bool create_seen(rec *r, int32_t rid, const char *cls, const char *body, char *id, size_t cap) {
    if (!CHECK(rest_create(cls, body, id, cap, NULL, 0))) return false;
    WAIT_UNTIL(find_obj(r, LQ_EVENT_CREATE, rid, id), 10000);
    return CHECKF(find_obj(r, LQ_EVENT_CREATE, rid, id) != NULL, "no CREATE of %s %s on request %d", cls, id, (int)rid);
}

/* The server killed (SIGKILL, then SIGTERM) and restarted while a client with a session token and
   several subscriptions runs; subscriptions added, removed and changed during the outages. */
static void case_server_restart(void) {
    rec r;
    lq_desc d;
    restart_ctx x;
    char where[160], body[300], id[48], uid[48], token[96], user[80];
    const rev *e;
    int from;
    int32_t rs = 0, rp = 0, r2 = 0;
    memset(&x, 0, sizeof x);
    snprintf(x.tag, sizeof x.tag, "%s", new_tag());
    rec_init(&r, "restart");
    snprintf(user, sizeof user, "r%.60s", x.tag);
    if (!CHECK(rest_signup(user, "pw123456", uid, sizeof uid, token, sizeof token))) goto out;
    base_desc(&d, &r);
    d.session_token = token;                                /* connect and subscriptions carry it */
    x.c = new_client(&d);
    if (!x.c) goto out;
    snprintf(where, sizeof where, "{\"playerName\":\"%s\"}", x.tag);
    snprintf(x.where_late, sizeof x.where_late, "{\"playerName\":\"%s-late\"}", x.tag);
    snprintf(x.where_upd, sizeof x.where_upd, "{\"playerName\":\"%s-upd\"}", x.tag);
    x.s = subscribe(x.c, "GameScore", where, NULL);
    snprintf(where, sizeof where, "{\"secret\":\"%s\"}", x.tag);
    x.sp = subscribe(x.c, "Private", where, NULL);
    snprintf(where, sizeof where, "{\"playerName\":\"%s-x\"}", x.tag);
    x.sx = subscribe(x.c, "GameScore", where, NULL);
    if (!wait_ready(&r, 3, 10000)) goto out;
    rs = rid_of(&r, x.s);
    rp = rid_of(&r, x.sp);
    x.rx = rid_of(&r, x.sx);
    snprintf(body, sizeof body, "{\"secret\":\"%s\",\"ACL\":{\"%s\":{\"read\":true}}}", x.tag, uid);
    create_seen(&r, rp, "Private", body, id, sizeof id);

    tu_set_ctx("restart/SIGKILL");
    from = outage_round(&r, x.c, true, 4, during_kill, &x);
    if (from >= 0 && x.s2.id) {
        r2 = rid_of(&r, x.s2);
        e = subscribed_after(&r, from, rs);
        CHECKF(e && e->resub && e->sub.id == x.s.id, "no SUBSCRIBED with resubscribe for the first subscription");
        e = subscribed_after(&r, from, rp);
        CHECKF(e && e->resub, "no SUBSCRIBED with resubscribe for the private subscription");
        e = subscribed_after(&r, from, r2);
        CHECKF(e && !e->resub && e->sub.id == x.s2.id, "the subscription made during the outage: no first SUBSCRIBED");
        snprintf(body, sizeof body, "{\"playerName\":\"%s\",\"score\":9}", x.tag);
        create_seen(&r, rs, "GameScore", body, id, sizeof id);
        snprintf(body, sizeof body, "{\"playerName\":\"%s-late\",\"score\":9}", x.tag);
        create_seen(&r, r2, "GameScore", body, id, sizeof id);
        /* the session token was sent again: the private object is still visible */
        snprintf(body, sizeof body, "{\"secret\":\"%s\",\"ACL\":{\"%s\":{\"read\":true}}}", x.tag, uid);
        create_seen(&r, rp, "Private", body, id, sizeof id);
    }
    ensure_server_up();

    /* the attempt counter starts at 1 again after a successful resubscribe */
    tu_set_ctx("restart/SIGTERM");
    if (lq_client_state(x.c) == LQ_STATE_CONNECTED && x.s2.id) {
        from = outage_round(&r, x.c, false, 3, during_term, &x);
        if (from >= 0) {
            e = nth_ev(&r, LQ_EVENT_UNSUBSCRIBED, x.rx, 0);
            CHECKF(e && index_of(&r, e) >= from && index_of(&r, e) < index_of(&r, last_ev(&r, LQ_EVENT_OPEN)),
                   "no UNSUBSCRIBED during the outage for the subscription removed then");
            CHECK(subscribed_after(&r, from, x.rx) == NULL);
            CHECK(!lq_sub_valid(x.c, x.sx) && lq_sub_valid(x.c, x.s) && lq_sub_valid(x.c, x.s2));
            e = subscribed_after(&r, from, rs);
            CHECKF(e && e->resub, "the updated subscription: no SUBSCRIBED with resubscribe");
            CHECK(lq_subscription_count(x.c) == 3);
            snprintf(body, sizeof body, "{\"playerName\":\"%s\",\"score\":15}", x.tag);     /* the old query */
            CHECK(rest_create("GameScore", body, id, sizeof id, NULL, 0));
            snprintf(body, sizeof body, "{\"playerName\":\"%s-upd\",\"score\":15}", x.tag);  /* the new one */
            create_seen(&r, rs, "GameScore", body, id, sizeof id);
            snprintf(body, sizeof body, "{\"playerName\":\"%s-late\",\"score\":15}", x.tag);
            create_seen(&r, r2, "GameScore", body, id, sizeof id);
            snprintf(body, sizeof body, "{\"secret\":\"%s\",\"ACL\":{\"%s\":{\"read\":true}}}", x.tag, uid);
            create_seen(&r, rp, "Private", body, id, sizeof id);
            pump_for(500);
            CHECKF(count_obj(&r, rs) == 2, "the updated subscription has %d events, want 2", count_obj(&r, rs));
        }
    }
    tu_set_ctx("server_restart");
out:
    free_client(x.c);
    rec_free(&r);
    ensure_server_up();
}

/* The server frozen (SIGSTOP): the dead-link timer closes the link; after SIGCONT the client comes back. */
static void case_server_frozen(void) {
    rec r;
    lq_desc d;
    lq_client *c;
    lq_sub s;
    char where[160], body[200], id[48];
    const char *tag = new_tag();
    const rev *e;
    int pid, from, nsub;
    uint64_t t_stop;
    rec_init(&r, "frozen");
    base_desc(&d, &r);
    d.dead_link_ms = 3000;
    d.ping_interval_ms = 1000;
    c = new_client(&d);
    if (!c) goto out;
    snprintf(where, sizeof where, "{\"playerName\":\"%s\"}", tag);
    s = subscribe(c, "GameScore", where, NULL);
    if (!wait_ready(&r, 1, 10000)) goto out;
    /* idle for longer than dead_link_ms: the pings keep the link alive (the server pings only every 10 s) */
    CHECKF(lq_timeout_ms(c) >= 0 && lq_timeout_ms(c) <= 1000, "lq_timeout_ms %d with ping_interval_ms 1000",
           lq_timeout_ms(c));
    WAIT_EXACT(c, count_ev(&r, LQ_EVENT_CLOSE, -1) > 0, 4500);
    CHECKF(count_ev(&r, LQ_EVENT_CLOSE, -1) == 0, "the link died while idle with pings on");
    pid = parse_pid();
    if (!CHECKF(is_parse_server(pid), "PARSE_PID %d is not the parse server", pid)) goto out;
    from = r.n;
    nsub = count_ev(&r, LQ_EVENT_SUBSCRIBED, -1);
    note("SIGSTOP the parse server (pid %d)", pid);
    g_stopped_pid = pid;
    t_stop = lq_now_ms();
    CHECK(kill((pid_t)pid, SIGSTOP) == 0);
    WAIT_EXACT(c, count_ev(&r, LQ_EVENT_CLOSE, -1) > 0, 8000);
    e = nth_ev(&r, LQ_EVENT_CLOSE, -1, 0);
    if (CHECKF(e != NULL, "no CLOSE within 8 s of SIGSTOP")) {
        int dt = (int)(e->t - t_stop);
        note("CLOSE %d ms after SIGSTOP", dt);
        CHECKF(dt >= 1500 && dt <= 5000, "CLOSE came %d ms after SIGSTOP (dead_link_ms 3000)", dt);
        CHECK(e->close_code == 1006);
        CHECK(index_of(&r, e) >= from);
    }
    WAIT_EXACT(c, false, 1500);
    CHECK(count_ev(&r, LQ_EVENT_RECONNECTING, -1) >= 1);
    CHECK(count_ev(&r, LQ_EVENT_OPEN, -1) == 1);
    note("SIGCONT");
    continue_server();
    WAIT_EXACT(c, count_ev(&r, LQ_EVENT_SUBSCRIBED, -1) > nsub, 30000);
    e = last_ev(&r, LQ_EVENT_SUBSCRIBED);
    if (CHECKF(count_ev(&r, LQ_EVENT_SUBSCRIBED, -1) == nsub + 1, "not resubscribed within 30 s of SIGCONT")) {
        CHECK(e->resub && e->sub.id == s.id);
        CHECK(count_ev(&r, LQ_EVENT_OPEN, -1) == 2);
        check_backoff(&r, from, 30);
        snprintf(body, sizeof body, "{\"playerName\":\"%s\",\"score\":3}", tag);
        CHECK(rest_create("GameScore", body, id, sizeof id, NULL, 0));
        WAIT_UNTIL(find_obj(&r, LQ_EVENT_CREATE, -1, id), 10000);
        CHECKF(find_obj(&r, LQ_EVENT_CREATE, -1, id) != NULL, "no CREATE after SIGCONT");
    }
out:
    free_client(c);
    rec_free(&r);
    ensure_server_up();
}

/* lq_close while the server is frozen: no Close comes back, close_timeout_ms ends the wait. A client
   destroyed in the middle of its handshake leaks nothing. */
static void case_close_frozen(void) {
    rec r, r3;
    lq_desc d;
    lq_client *c = NULL, *c3 = NULL;
    char where[160];
    const char *tag = new_tag();
    int pid, from, i;
    uint64_t t0, dl;
    lq_result res = LQ_OK;
    rec_init(&r, "closeFrozen");
    rec_init(&r3, "handshakeFrozen");
    base_desc(&d, &r);
    d.close_timeout_ms = 1500;
    c = new_client(&d);
    if (!c) goto out;
    snprintf(where, sizeof where, "{\"playerName\":\"%s\"}", tag);
    subscribe(c, "GameScore", where, NULL);
    subscribe(c, "GameScore", where, NULL);
    if (!wait_ready(&r, 2, 10000)) goto out;
    pid = parse_pid();
    if (!CHECKF(is_parse_server(pid), "PARSE_PID %d is not the parse server", pid)) goto out;
    g_stopped_pid = pid;
    CHECK(kill((pid_t)pid, SIGSTOP) == 0);
    from = r.n;
    t0 = lq_now_ms();
    CHECK(lq_close(c) == LQ_OK);
    CHECK(lq_client_state(c) == LQ_STATE_DISCONNECTED);
    dl = t0 + 6000;
    while (lq_now_ms() < dl && (res = lq_wait(c, 50)) != LQ_ERR_CLOSED) {}
    CHECKF(res == LQ_ERR_CLOSED, "lq_close against a frozen server did not finish in 6 s");
    if (CHECKF(last_ev(&r, LQ_EVENT_CLOSE) != NULL, "no CLOSE")) {
        int dt = (int)(last_ev(&r, LQ_EVENT_CLOSE)->t - t0);
        note("CLOSE %d ms after lq_close (close_timeout_ms 1500)", dt);
        CHECKF(dt >= 1000 && dt <= 3000, "CLOSE %d ms after lq_close, close_timeout_ms 1500", dt);
    }
    CHECKF(r.n - from == 3, "%d events after lq_close, want 2 UNSUBSCRIBED + CLOSE", r.n - from);
    for (i = from; i < r.n && i < from + 2; i++) CHECK(r.ev[i].type == LQ_EVENT_UNSUBSCRIBED);
    CHECK(count_ev(&r, LQ_EVENT_RECONNECTING, -1) == 0);
    free_client(c);
    c = NULL;

    /* a new client against the frozen server: TCP connects (the kernel accepts), the upgrade hangs */
    base_desc(&d, &r3);
    c3 = new_client(&d);
    if (!c3) goto out;
    subscribe(c3, "GameScore", where, NULL);
    pump_for(500);
    CHECKF(lq_client_state(c3) == LQ_STATE_CONNECTING, "state %s", lq_state_str(lq_client_state(c3)));
    CHECK(lq_fd(c3) >= 0);
    CHECK(r3.n == 0);
out:
    free_client(c3);                                        /* mid-handshake */
    free_client(c);
    continue_server();
    rec_free(&r);
    rec_free(&r3);
    ensure_server_up();
}

/* lq_close: UNSUBSCRIBED for each subscription, then CLOSE; DISCONNECTED; nothing afterwards. */
static void case_close(void) {
    rec r;
    lq_desc d;
    lq_client *c;
    lq_sub s[3];
    char where[160], body[200], id[48];
    const char *tag = new_tag();
    int i, from, seen[3] = {0, 0, 0};
    int32_t rids[3];
    lq_result res = LQ_OK;
    lq_query q;
    uint64_t dl;
    rec_init(&r, "close");
    base_desc(&d, &r);
    c = new_client(&d);
    if (!c) goto out;
    for (i = 0; i < 3; i++) {
        snprintf(where, sizeof where, "{\"playerName\":\"%s\",\"score\":%d}", tag, i);
        s[i] = subscribe(c, "GameScore", where, NULL);
    }
    if (!wait_ready(&r, 3, 10000)) goto out;
    for (i = 0; i < 3; i++) rids[i] = rid_of(&r, s[i]);
    from = r.n;
    CHECK(lq_close(c) == LQ_OK);
    CHECK(lq_client_state(c) == LQ_STATE_DISCONNECTED);
    dl = lq_now_ms() + 5000;
    while (lq_now_ms() < dl && (res = lq_wait(c, 50)) != LQ_ERR_CLOSED) {}
    CHECKF(res == LQ_ERR_CLOSED, "lq_wait/lq_step never returned LQ_ERR_CLOSED: %s", lq_result_str(res));
    CHECKF(r.n - from == 4, "%d events after lq_close, want 3 UNSUBSCRIBED + CLOSE", r.n - from);
    for (i = from; i < r.n; i++) {
        const rev *e = &r.ev[i];
        int k;
        if (i < from + 3) {
            CHECKF(e->type == LQ_EVENT_UNSUBSCRIBED, "event %d after lq_close is %s", i - from, lq_event_str(e->type));
            for (k = 0; k < 3; k++)
                if (e->sub.id == s[k].id && e->rid == rids[k]) seen[k]++;
        } else if (i == from + 3) {
            CHECKF(e->type == LQ_EVENT_CLOSE, "the last event after lq_close is %s", lq_event_str(e->type));
        }
    }
    for (i = 0; i < 3; i++) CHECKF(seen[i] == 1, "subscription %d: %d UNSUBSCRIBED", i, seen[i]);
    for (i = 0; i < 3; i++)
        CHECKF(!lq_sub_valid(c, s[i]) && lq_unsubscribe(c, s[i]) == LQ_ERR_INVALID_ARG, "handle %d ended with lq_close", i);
    CHECK(lq_subscription_count(c) == 0);
    CHECK(lq_client_state(c) == LQ_STATE_DISCONNECTED);
    CHECK(lq_close(c) == LQ_OK);                            /* twice is harmless */
    memset(&q, 0, sizeof q);
    q.class_name = "GameScore";
    CHECK(lq_subscribe(c, &q, NULL) == LQ_ERR_STATE);
    snprintf(body, sizeof body, "{\"playerName\":\"%s\",\"score\":0}", tag);
    CHECK(rest_create("GameScore", body, id, sizeof id, NULL, 0));
    pump_for(2500);
    CHECKF(r.n - from == 4, "%d events after lq_close", r.n - from);
    CHECK(count_ev(&r, LQ_EVENT_RECONNECTING, -1) == 0);
    CHECK(count_obj(&r, -1) == 0);
    CHECK(lq_step(c) == LQ_ERR_CLOSED);
    CHECK(lq_fd(c) == -1);
    CHECK(rest_delete("GameScore", id));
out:
    free_client(c);
    rec_free(&r);
}

/* The API from inside callbacks: unsubscribe the subscription whose event this is, subscribe
   another, and later lq_close. */
typedef struct reentry {
    lq_sub a, b;
    char where_b[160];
    int step;
    lq_result r_unsub, r_sub, r_close;
} reentry;

static void reentry_hook(lq_client *c, const lq_event *ev, rec *r) {
    reentry *x = (reentry *)r->ctx;
    if (ev->type == LQ_EVENT_CREATE && ev->sub.id == x->a.id && x->step == 0) {
        lq_query q;
        x->step = 1;
        x->r_unsub = lq_unsubscribe(c, x->a);
        memset(&q, 0, sizeof q);
        q.class_name = "GameScore";
        q.where = x->where_b;
        x->r_sub = lq_subscribe(c, &q, &x->b);
    } else if (ev->type == LQ_EVENT_CREATE && x->b.id && ev->sub.id == x->b.id && x->step == 1) {
        x->step = 2;
        x->r_close = lq_close(c);
    }
}

static void case_callbacks(void) {
    rec r;
    lq_desc d;
    lq_client *c;
    reentry x;
    char where[160], body[200], id1[48], id2[48], id3[48];
    const char *tag = new_tag();
    int32_t ra, rb = -1;
    lq_result res = LQ_OK;
    uint64_t dl;
    memset(&x, 0, sizeof x);
    rec_init(&r, "callbacks");
    r.hook = reentry_hook;
    r.ctx = &x;
    base_desc(&d, &r);
    c = new_client(&d);
    if (!c) goto out;
    snprintf(where, sizeof where, "{\"playerName\":\"%s-a\"}", tag);
    snprintf(x.where_b, sizeof x.where_b, "{\"playerName\":\"%s-b\"}", tag);
    x.a = subscribe(c, "GameScore", where, NULL);
    if (!wait_ready(&r, 1, 10000)) goto out;
    ra = rid_of(&r, x.a);
    snprintf(body, sizeof body, "{\"playerName\":\"%s-a\"}", tag);
    CHECK(rest_create("GameScore", body, id1, sizeof id1, NULL, 0));
    WAIT_UNTIL(x.step >= 1 && count_ev(&r, LQ_EVENT_UNSUBSCRIBED, ra) && count_ev(&r, LQ_EVENT_SUBSCRIBED, -1) >= 2, 10000);
    CHECK(x.step == 1);
    CHECK(x.r_unsub == LQ_OK);
    CHECK(x.r_sub == LQ_OK && x.b.id != 0 && x.b.id != x.a.id);
    CHECKF(count_ev(&r, LQ_EVENT_UNSUBSCRIBED, ra) == 1, "no UNSUBSCRIBED for the subscription ended in its callback");
    if (!CHECKF(count_ev(&r, LQ_EVENT_SUBSCRIBED, -1) == 2, "the subscription made in a callback: no SUBSCRIBED")) goto out;
    rb = rid_of(&r, x.b);
    CHECK(rb > ra && !lq_sub_valid(c, x.a) && lq_sub_valid(c, x.b));
    CHECK(lq_subscription_count(c) == 1);
    CHECK(rest_create("GameScore", body, id2, sizeof id2, NULL, 0));          /* a's query: nobody */
    snprintf(body, sizeof body, "{\"playerName\":\"%s-b\"}", tag);
    CHECK(rest_create("GameScore", body, id3, sizeof id3, NULL, 0));
    WAIT_UNTIL(x.step == 2, 10000);
    CHECKF(x.step == 2 && x.r_close == LQ_OK, "lq_close in a callback: step %d", x.step);
    CHECK(find_obj(&r, LQ_EVENT_CREATE, rb, id3) != NULL);
    dl = lq_now_ms() + 5000;
    while (lq_now_ms() < dl && (res = lq_wait(c, 50)) != LQ_ERR_CLOSED) {}
    CHECK(res == LQ_ERR_CLOSED);
    CHECK(count_ev(&r, LQ_EVENT_UNSUBSCRIBED, rb) == 1);
    CHECK(count_ev(&r, LQ_EVENT_CLOSE, -1) == 1);
    CHECK(index_of(&r, last_ev(&r, LQ_EVENT_CLOSE)) == r.n - 1);
    CHECK(find_obj(&r, LQ_EVENT_NONE, -1, id2) == NULL);
    CHECK(lq_client_state(c) == LQ_STATE_DISCONNECTED);
    CHECK(count_ev(&r, LQ_EVENT_RECONNECTING, -1) == 0);
    rest_delete("GameScore", id1);
    rest_delete("GameScore", id2);
    rest_delete("GameScore", id3);
out:
    free_client(c);
    rec_free(&r);
}

/* 200 events in a burst (batch writes: many messages per read) and a 1 MiB object. */
#define NBURST 200
static void case_burst(void) {
    rec r;
    lq_desc d;
    lq_client *c;
    char where[160], *body = NULL, *big = NULL, *text = NULL, *resp = NULL, id[48];
    const char *tag = new_tag();
    jdoc *o = (jdoc *)malloc(sizeof *o);
    int i, k, st, seen[NBURST], dup = 0, bad = 0;
    size_t cap = 64 * 1024, len, bigsz = 1024 * 1024;
    const rev *e;
    rec_init(&r, "burst");
    base_desc(&d, &r);
    c = new_client(&d);
    body = (char *)malloc(cap);
    if (!c || !o || !body) goto out;
    snprintf(where, sizeof where, "{\"room\":\"%s\"}", tag);
    subscribe(c, "Message", where, NULL);
    if (!wait_ready(&r, 1, 10000)) goto out;
    for (k = 0; k < NBURST / 50; k++) {
        len = (size_t)snprintf(body, cap, "{\"requests\":[");
        for (i = k * 50; i < (k + 1) * 50; i++)
            len += (size_t)snprintf(body + len, cap - len,
                                    "%s{\"method\":\"POST\",\"path\":\"/parse/classes/Message\",\"body\":{\"room\":\"%s\",\"n\":%d}}",
                                    i % 50 ? "," : "", tag, i);
        snprintf(body + len, cap - len, "]}");
        st = rest(AS_MASTER, NULL, "POST", "/batch", body, o, &resp);
        CHECKF(st == 200 && lq_json_count(o->root) == 50, "batch %d: HTTP %d, %d results", k, st, (int)lq_json_count(o->root));
        free(resp);
        resp = NULL;
    }
    WAIT_UNTIL(count_obj(&r, -1) >= NBURST, 20000);
    pump_for(500);
    CHECKF(count_obj(&r, -1) == NBURST, "%d events of %d", count_obj(&r, -1), NBURST);
    memset(seen, 0, sizeof seen);
    for (i = 0; i < r.n; i++) {
        int64_t n;
        if (r.ev[i].type != LQ_EVENT_CREATE) continue;
        n = lq_json_int(lq_json_get(jparse(o, r.ev[i].obj), "n"), -1);
        if (n < 0 || n >= NBURST) bad++;
        else if (seen[n]++) dup++;
    }
    CHECK(bad == 0);
    CHECK(dup == 0);
    for (i = 0; i < NBURST; i++) CHECKF(seen[i] == 1, "n=%d seen %d times", i, seen[i]);

    /* one big object: 1 MiB of text, split over many reads and TCP segments */
    big = (char *)malloc(bigsz + 200);
    text = (char *)malloc(bigsz + 1);
    if (!CHECK(big && text)) goto out;
    len = (size_t)snprintf(big, 200, "{\"room\":\"%s\",\"n\":-1,\"text\":\"", tag);
    for (i = 0; i < (int)bigsz; i++) big[len + (size_t)i] = (char)('a' + (i * 7 + i / 26) % 26);
    snprintf(big + len + bigsz, 200, "\"}");
    if (CHECK(rest_create("Message", big, id, sizeof id, NULL, 0))) {
        WAIT_UNTIL(find_obj(&r, LQ_EVENT_CREATE, -1, id), 20000);
        e = find_obj(&r, LQ_EVENT_CREATE, -1, id);
        if (CHECKF(e != NULL, "no CREATE for the 1 MiB object")) {
            size_t n = lq_json_string(lq_json_get(jparse(o, e->obj), "text"), text, bigsz + 1);
            CHECKF(n == bigsz, "text of %lu bytes, want %lu", (unsigned long)n, (unsigned long)bigsz);
            CHECK(memcmp(text, big + len, bigsz) == 0);
        }
    }
    CHECK(count_ev(&r, LQ_EVENT_ERROR, -1) == 0);
    CHECK(count_ev(&r, LQ_EVENT_CLOSE, -1) == 0);
out:
    free(body);
    free(big);
    free(text);
    free(o);
    free_client(c);
    rec_free(&r);
}

/* Idle links stay up: the server pings every 10 s and drops a client that does not answer; a
   client whose dead_link_ms is 12 s lives on the server's pings alone. */
static void case_idle(void) {
    rec ra, rb;
    lq_desc d;
    lq_client *ca, *cb;
    char where[160], body[200], id[48];
    const char *tag = new_tag();
    rec_init(&ra, "idle:default");
    rec_init(&rb, "idle:deadLink12s");
    base_desc(&d, &ra);
    ca = new_client(&d);
    base_desc(&d, &rb);
    d.dead_link_ms = 12000;
    cb = new_client(&d);
    if (!ca || !cb) goto out;
    snprintf(where, sizeof where, "{\"playerName\":\"%s\"}", tag);
    subscribe(ca, "GameScore", where, NULL);
    subscribe(cb, "GameScore", where, NULL);
    WAIT_UNTIL(count_ev(&ra, LQ_EVENT_SUBSCRIBED, -1) && count_ev(&rb, LQ_EVENT_SUBSCRIBED, -1), 10000);
    if (!CHECK(count_ev(&ra, LQ_EVENT_SUBSCRIBED, -1) == 1 && count_ev(&rb, LQ_EVENT_SUBSCRIBED, -1) == 1)) goto out;
    pump_for(22000);
    CHECKF(ra.n == 2, "default client: %d events while idle", ra.n - 2);
    CHECKF(rb.n == 2, "dead_link_ms 12000 client: %d events while idle", rb.n - 2);
    snprintf(body, sizeof body, "{\"playerName\":\"%s\"}", tag);
    CHECK(rest_create("GameScore", body, id, sizeof id, NULL, 0));
    WAIT_UNTIL(find_obj(&ra, LQ_EVENT_CREATE, -1, id) && find_obj(&rb, LQ_EVENT_CREATE, -1, id), 10000);
    CHECK(find_obj(&ra, LQ_EVENT_CREATE, -1, id) != NULL);
    CHECK(find_obj(&rb, LQ_EVENT_CREATE, -1, id) != NULL);
    rest_delete("GameScore", id);
out:
    free_client(ca);
    free_client(cb);
    rec_free(&ra);
    rec_free(&rb);
}

/* ---- main --------------------------------------------------------------------------------------- */

typedef struct tcase {
    const char *name;
    void (*fn)(void);
} tcase;

/* ---- REST: lq_find, lq_get, lq_login, lq_cancel on the client's REST link ---------------------- */

#define MAXRESP 64

typedef struct rresp {
    int n;                      /* responses so far */
    struct {
        lq_request req;
        void *ud;
        lq_result result;
        int status, code;
        char msg[256];
        char *body;             /* raw JSON of the body, malloc'ed, or NULL */
        char *results;          /* raw JSON of results */
    } r[MAXRESP];
} rresp;

static char *dupn(const char *s, size_t n) {
    char *d = (char *)malloc(n + 1);
    if (d) { memcpy(d, s, n); d[n] = 0; }
    return d;
}

/* A loopback port nobody listens on (bound, then closed). */
static int free_port(void) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = 9;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

static void on_resp(lq_client *c, const lq_response *res, void *ud) {
    rresp *x = (rresp *)ud;
    size_t n;
    const char *raw;
    (void)c;
    if (x->n >= MAXRESP) return;
    x->r[x->n].req = res->request;
    x->r[x->n].ud = res->user_data;
    x->r[x->n].result = res->result;
    x->r[x->n].status = res->status;
    x->r[x->n].code = res->error_code;
    snprintf(x->r[x->n].msg, sizeof x->r[x->n].msg, "%s", res->error_message ? res->error_message : "(NULL)");
    raw = lq_json_raw(res->body, &n);
    x->r[x->n].body = raw ? dupn(raw, n) : NULL;
    raw = lq_json_raw(res->results, &n);
    x->r[x->n].results = raw ? dupn(raw, n) : NULL;
    x->n++;
}

static void rresp_free(rresp *x) {
    int i;
    for (i = 0; i < x->n && i < MAXRESP; i++) { free(x->r[i].body); free(x->r[i].results); }
    x->n = 0;
}

/* A client for REST calls (it connects its WebSocket too, as any client does). */
static lq_client *rest_client(rec *r, const char *name, const char *rest_url) {
    lq_desc d;
    rec_init(r, name);
    base_desc(&d, r);
    d.rest_url = rest_url;
    return new_client(&d);
}

static lq_find_desc find_desc(const char *cls, rresp *x) {
    lq_find_desc f;
    memset(&f, 0, sizeof f);
    f.class_name = cls;
    f.on_response = on_resp;
    f.user_data = x;
    return f;
}

/* Pumps c until x has n responses. */
static bool wait_resp(rresp *x, int n, int ms) {
    WAIT_UNTIL(x->n >= n, ms);
    return CHECKF(x->n >= n, "%d responses of %d within %d ms", x->n, n, ms);
}

static void case_rest_find(void) {
    rec r;
    rresp x;
    lq_client *c;
    lq_find_desc f;
    lq_request q1, q2;
    jdoc d, e;
    char where[160], body[200], id[6][48], path[400];
    const char *tag = new_tag();
    int i, st;
    memset(&x, 0, sizeof x);
    c = rest_client(&r, "rest_find", NULL);
    if (!c) goto out;
    for (i = 0; i < 6; i++) {
        snprintf(body, sizeof body, "{\"playerName\":\"%s\",\"score\":%d}", tag, (i * 37) % 11);
        if (!CHECK(rest_create("GameScore", body, id[i], sizeof id[i], NULL, 0))) goto out;
    }
    snprintf(where, sizeof where, "{\"playerName\":\"%s\"}", tag);
    f = find_desc("GameScore", &x);
    f.where = where;
    f.order = "-score,objectId";
    f.limit = 4;
    f.count = true;
    CHECK(lq_find(c, &f, &q1) == LQ_OK && q1.id != 0);
    f.order = NULL;
    f.limit = 0;
    f.count = false;
    f.keys = "score";
    f.user_data = &x;
    CHECK(lq_find(c, &f, &q2) == LQ_OK && q2.id != 0 && q2.id != q1.id);
    if (!wait_resp(&x, 2, 10000)) goto out;
    CHECKF(x.r[0].req.id == q1.id && x.r[1].req.id == q2.id, "responses in the order of the calls");
    CHECKF(x.r[0].result == LQ_OK && x.r[0].status == 200, "find: %s, HTTP %d, %s", lq_result_str(x.r[0].result),
           x.r[0].status, x.r[0].msg);
    CHECK_STR(x.r[0].msg, "");
    jparse(&d, x.r[0].body);
    CHECKF(lq_json_int(lq_json_get(d.root, "count"), -1) == 6, "count is 6: %.200s", x.r[0].body ? x.r[0].body : "");
    jparse(&e, x.r[0].results);
    CHECKF(lq_json_count(e.root) == 4, "limit 4: %d results", (int)lq_json_count(e.root));
    /* the same query through the test's own HTTP client: the same objects in the same order */
    {
        jdoc g;
        char *gb = NULL;
        lq_json a, b;
        snprintf(path, sizeof path, "/classes/GameScore?where=%%7B%%22playerName%%22%%3A%%22%s%%22%%7D&order=-score,objectId&limit=4", tag);
        st = rest(AS_MASTER, NULL, "GET", path, NULL, &g, &gb);
        CHECK(st == 200);
        a = lq_json_child(e.root);
        b = lq_json_child(lq_json_get(g.root, "results"));
        for (i = 0; i < 4; i++, a = lq_json_next(a), b = lq_json_next(b)) {
            char ia[48], ib[48];
            CHECKF(strcmp(jstr(lq_json_get(a, "objectId"), ia, sizeof ia), jstr(lq_json_get(b, "objectId"), ib, sizeof ib)) == 0,
                   "row %d: %s, REST GET says %s", i, ia, ib);
            CHECKF(jeq(a, b), "row %d equals the GET's", i);
        }
        free(gb);
    }
    jparse(&e, x.r[1].results);
    CHECKF(x.r[1].result == LQ_OK && lq_json_count(e.root) == 6, "keys=score: %s, %d results", lq_result_str(x.r[1].result),
           (int)lq_json_count(e.root));
    CHECKF(!lq_json_exists(lq_json_get(lq_json_child(e.root), "playerName")) &&
           lq_json_exists(lq_json_get(lq_json_child(e.root), "score")), "keys=score leaves playerName out");
    /* get: one object, and a missing one (Parse code 101) */
    f = find_desc("GameScore", &x);
    f.object_id = id[2];
    CHECK(lq_get(c, &f, NULL) == LQ_OK);
    f.object_id = "nosuchobject1";
    CHECK(lq_get(c, &f, NULL) == LQ_OK);
    if (!wait_resp(&x, 4, 10000)) goto out;
    jparse(&d, x.r[2].results);
    CHECKF(x.r[2].result == LQ_OK && lq_json_string_eq(lq_json_get(d.root, "objectId"), id[2]), "get: %s %s",
           lq_result_str(x.r[2].result), x.r[2].msg);
    CHECKF(x.r[3].result == LQ_ERR_SERVER && x.r[3].code == 101 && x.r[3].status == 404, "missing: %s code %d HTTP %d (%s)",
           lq_result_str(x.r[3].result), x.r[3].code, x.r[3].status, x.r[3].msg);
    CHECKF(strstr(x.r[3].msg, "not found") != NULL, "message: %s", x.r[3].msg);
    /* bad input is refused at the call */
    f = find_desc("Game Score", &x);
    CHECK(lq_find(c, &f, NULL) == LQ_ERR_INVALID_ARG);
    f = find_desc("GameScore", &x);
    f.where = "[1]";
    CHECK(lq_find(c, &f, NULL) == LQ_ERR_JSON);
    f.where = NULL;
    f.on_response = NULL;
    CHECK(lq_find(c, &f, NULL) == LQ_ERR_INVALID_ARG);
    f = find_desc("GameScore", &x);
    f.session_token = "r:abc\r\nX-Evil: 1";
    CHECK(lq_find(c, &f, NULL) == LQ_ERR_INVALID_ARG);
    f.session_token = NULL;
    f.limit = -1;
    CHECK(lq_find(c, &f, NULL) == LQ_ERR_INVALID_ARG);
    CHECK(x.n == 4);
out:
    free_client(c);
    rresp_free(&x);
    rec_free(&r);
}

/* Three calls over one kept-alive connection; it closes when idle, and the next call opens another. */
static void case_rest_keepalive(void) {
    rec r;
    rresp x;
    lq_client *c;
    lq_find_desc f;
    lq_pollfd p[LQ_LINK_COUNT];
    int i, n, fd = -1, same = 0;
    uint64_t t0;
    memset(&x, 0, sizeof x);
    c = rest_client(&r, "rest_keepalive", NULL);
    if (!c) goto out;
    WAIT_UNTIL(count_ev(&r, LQ_EVENT_OPEN, -1) >= 1, 10000);
    if (!CHECK(count_ev(&r, LQ_EVENT_OPEN, -1) == 1)) goto out;
    CHECK(lq_pollfds(c, p, LQ_LINK_COUNT) == 1);          /* the WebSocket only */
    f = find_desc("GameScore", &x);
    f.limit = 1;
    for (i = 0; i < 3; i++) {
        CHECK(lq_find(c, &f, NULL) == LQ_OK);
        n = lq_pollfds(c, p, LQ_LINK_COUNT);
        if (!wait_resp(&x, i + 1, 10000)) goto out;
        n = lq_pollfds(c, p, LQ_LINK_COUNT);
        CHECKF(n == 2 && p[0].fd == lq_fd(c) && p[1].fd >= 0 && (p[1].events & LQ_WANT_READ), "%d sockets after call %d", n, i);
        if (n == 2 && i == 0) fd = p[1].fd;
        if (n == 2 && p[1].fd == fd) same++;
        CHECK(x.r[i].result == LQ_OK);
    }
    CHECKF(same == 3, "one connection for 3 calls (%d on the first)", same);
    t0 = lq_now_ms();
    WAIT_UNTIL(lq_pollfds(c, p, LQ_LINK_COUNT) == 1, 8000);
    CHECKF(lq_pollfds(c, p, LQ_LINK_COUNT) == 1, "the idle REST connection is closed");
    CHECKF(lq_now_ms() - t0 >= 3000, "closed after %lu ms idle, want about 4000", (unsigned long)(lq_now_ms() - t0));
    CHECK(lq_find(c, &f, NULL) == LQ_OK);
    if (!wait_resp(&x, 4, 10000)) goto out;
    CHECK(x.r[3].result == LQ_OK);
out:
    free_client(c);
    rresp_free(&x);
    rec_free(&r);
}

/* Log in, then use the session: the user's find sees what its ACL allows; a bad token gets 209. */
static void case_rest_login(void) {
    rec r;
    rresp x;
    lq_client *c;
    lq_find_desc f;
    jdoc d;
    char user[64], uid[48], token[96], tok2[96], body[400], where[200], pid[48];
    const char *tag = new_tag();
    memset(&x, 0, sizeof x);
    snprintf(user, sizeof user, "u_%s", tag);
    c = rest_client(&r, "rest_login", NULL);
    if (!c) goto out;
    if (!CHECK(rest_signup(user, "pw123456", uid, sizeof uid, token, sizeof token))) goto out;
    snprintf(body, sizeof body, "{\"secret\":\"%s\",\"ACL\":{\"%s\":{\"read\":true}}}", tag, uid);
    if (!CHECK(rest_create("Private", body, pid, sizeof pid, NULL, 0))) goto out;
    CHECK(lq_login(c, user, "pw123456", on_resp, &x, NULL) == LQ_OK);
    CHECK(lq_login(c, user, "wrong", on_resp, &x, NULL) == LQ_OK);
    if (!wait_resp(&x, 2, 10000)) goto out;
    jparse(&d, x.r[0].results);
    jstr(lq_json_get(d.root, "sessionToken"), tok2, sizeof tok2);
    CHECKF(x.r[0].result == LQ_OK && strncmp(tok2, "r:", 2) == 0, "login: %s, token \"%s\"", lq_result_str(x.r[0].result), tok2);
    CHECKF(lq_json_string_eq(lq_json_get(d.root, "objectId"), uid), "login gives the user");
    CHECKF(x.r[1].result == LQ_ERR_SERVER && x.r[1].code == 101, "wrong password: %s code %d (%s)",
           lq_result_str(x.r[1].result), x.r[1].code, x.r[1].msg);
    snprintf(where, sizeof where, "{\"secret\":\"%s\"}", tag);
    f = find_desc("Private", &x);
    f.where = where;
    f.session_token = tok2;
    CHECK(lq_find(c, &f, NULL) == LQ_OK);
    f.session_token = NULL;                                 /* no session: the ACL hides it */
    CHECK(lq_find(c, &f, NULL) == LQ_OK);
    f.session_token = "r:nosuchsession";
    CHECK(lq_find(c, &f, NULL) == LQ_OK);
    if (!wait_resp(&x, 5, 10000)) goto out;
    jparse(&d, x.r[2].results);
    CHECKF(x.r[2].result == LQ_OK && lq_json_count(d.root) == 1, "with the session: %d rows", (int)lq_json_count(d.root));
    jparse(&d, x.r[3].results);
    CHECKF(x.r[3].result == LQ_OK && lq_json_count(d.root) == 0, "without: %d rows", (int)lq_json_count(d.root));
    CHECKF(x.r[4].result == LQ_ERR_SERVER && x.r[4].code == 209 && x.r[4].status >= 400, "bad token: %s code %d HTTP %d (%s)",
           lq_result_str(x.r[4].result), x.r[4].code, x.r[4].status, x.r[4].msg);
    CHECKF(strstr(x.r[4].msg, "nvalid session token") != NULL, "209's message: %s", x.r[4].msg);
out:
    free_client(c);
    rresp_free(&x);
    rec_free(&r);
}

/* include: the pointer comes back as the object, so a dotted path reaches into it. */
static void case_rest_include(void) {
    rec r;
    rresp x;
    lq_client *c;
    lq_find_desc f;
    jdoc d;
    char user[64], uid[48], token[96], body[400], where[200], name[64];
    const char *tag = new_tag();
    memset(&x, 0, sizeof x);
    snprintf(user, sizeof user, "o_%s", tag);
    c = rest_client(&r, "rest_include", NULL);
    if (!c) goto out;
    if (!CHECK(rest_signup(user, "pw123456", uid, sizeof uid, token, sizeof token))) goto out;
    snprintf(body, sizeof body, "{\"playerName\":\"%s\",\"score\":5,\"owner\":{\"__type\":\"Pointer\",\"className\":\"_User\",\"objectId\":\"%s\"}}",
             tag, uid);
    if (!CHECK(rest_create("GameScore", body, NULL, 0, NULL, 0))) goto out;
    snprintf(where, sizeof where, "{\"playerName\":\"%s\"}", tag);
    f = find_desc("GameScore", &x);
    f.where = where;
    f.include = "owner";
    f.session_token = token;                                /* users are private: the owner reads itself */
    CHECK(lq_find(c, &f, NULL) == LQ_OK);
    f.include = NULL;
    CHECK(lq_find(c, &f, NULL) == LQ_OK);
    f.include = "owner";
    f.session_token = NULL;                                 /* an unreadable pointer: the server drops it */
    CHECK(lq_find(c, &f, NULL) == LQ_OK);
    if (!wait_resp(&x, 3, 10000)) goto out;
    jparse(&d, x.r[0].results);
    jstr(lq_json_path(lq_json_child(d.root), "owner.username"), name, sizeof name);
    CHECKF(x.r[0].result == LQ_OK && strcmp(name, user) == 0, "owner.username is \"%s\" (%s: %.400s)", name,
           lq_result_str(x.r[0].result), x.r[0].results ? x.r[0].results : x.r[0].msg);
    jparse(&d, x.r[1].results);
    CHECKF(lq_json_pointer(lq_json_get(lq_json_child(d.root), "owner"), NULL, NULL), "without include: a Pointer");
    jparse(&d, x.r[2].results);
    CHECKF(x.r[2].result == LQ_OK && lq_json_count(d.root) == 1 && !lq_json_exists(lq_json_get(lq_json_child(d.root), "owner")),
           "include of a pointer the session cannot read: no owner (%.300s)", x.r[2].results ? x.r[2].results : "");
out:
    free_client(c);
    rresp_free(&x);
    rec_free(&r);
}

/* Failures: a refused connection, a response over max_response_bytes, lq_cancel, lq_close. */
static void case_rest_failures(void) {
    rec r;
    rresp x;
    lq_client *c = NULL;
    lq_find_desc f;
    lq_desc d;
    lq_request q1, q2, q3;
    char url[128];
    uint64_t dl;
    lq_result res = LQ_OK;
    memset(&x, 0, sizeof x);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/parse", free_port());
    c = rest_client(&r, "rest_refused", url);
    if (!c) goto out;
    f = find_desc("GameScore", &x);
    CHECK(lq_find(c, &f, NULL) == LQ_OK);
    if (!wait_resp(&x, 1, 10000)) goto out;
    CHECKF(x.r[0].result == LQ_ERR_CONNECT && x.r[0].status == 0 && x.r[0].msg[0], "refused: %s (%s)",
           lq_result_str(x.r[0].result), x.r[0].msg);
    free_client(c);
    rresp_free(&x);
    rec_free(&r);
    /* a small max_response_bytes */
    rec_init(&r, "rest_limit");
    base_desc(&d, &r);
    d.max_response_bytes = 300;
    c = new_client(&d);
    if (!c) goto out;
    f.limit = 20;
    CHECK(lq_find(c, &f, NULL) == LQ_OK);
    f.limit = 1;
    f.keys = "objectId";
    CHECK(lq_find(c, &f, NULL) == LQ_OK);                   /* a small one after it still works */
    if (!wait_resp(&x, 2, 10000)) goto out;
    CHECKF(x.r[0].result == LQ_ERR_LIMIT && strstr(x.r[0].msg, "max_response_bytes"), "over the limit: %s (%s)",
           lq_result_str(x.r[0].result), x.r[0].msg);
    CHECKF(x.r[1].result == LQ_OK, "the next call: %s (%s)", lq_result_str(x.r[1].result), x.r[1].msg);
    /* cancel: the one on the wire and one queued behind it; neither calls back */
    f.keys = NULL;
    CHECK(lq_find(c, &f, &q1) == LQ_OK && lq_find(c, &f, &q2) == LQ_OK && lq_find(c, &f, &q3) == LQ_OK);
    lq_step(c);
    CHECK(lq_cancel(c, q1) == LQ_OK && lq_cancel(c, q2) == LQ_OK);
    CHECK(lq_cancel(c, q1) == LQ_ERR_INVALID_ARG && lq_cancel(c, q2) == LQ_ERR_INVALID_ARG);
    if (!wait_resp(&x, 3, 10000)) goto out;
    pump_for(300);
    CHECKF(x.n == 3 && x.r[2].req.id == q3.id && x.r[2].result == LQ_OK, "only the third answered (%d responses)", x.n);
    CHECK(lq_cancel(c, q3) == LQ_ERR_INVALID_ARG);
    /* lq_close fails what is queued */
    CHECK(lq_find(c, &f, &q1) == LQ_OK && lq_find(c, &f, &q2) == LQ_OK);
    CHECK(lq_close(c) == LQ_OK);
    CHECKF(x.n == 5 && x.r[3].result == LQ_ERR_CLOSED && x.r[4].result == LQ_ERR_CLOSED, "lq_close: %d responses", x.n);
    CHECK(lq_find(c, &f, NULL) == LQ_ERR_STATE);
    dl = lq_now_ms() + 5000;
    while (lq_now_ms() < dl && (res = lq_wait(c, 50)) != LQ_ERR_CLOSED) {}
    CHECK(res == LQ_ERR_CLOSED && lq_pollfds(c, NULL, 0) == 0);
out:
    free_client(c);
    rresp_free(&x);
    rec_free(&r);
}

/* A subscription and REST calls in one loop: lq_wait polls both sockets. */
static void case_rest_with_events(void) {
    rec r;
    rresp x;
    lq_client *c;
    lq_find_desc f;
    char where[160], body[200];
    const char *tag = new_tag();
    int i;
    memset(&x, 0, sizeof x);
    c = rest_client(&r, "rest_with_events", NULL);
    if (!c) goto out;
    snprintf(where, sizeof where, "{\"playerName\":\"%s\"}", tag);
    subscribe(c, "GameScore", where, NULL);
    if (!wait_ready(&r, 1, 10000)) goto out;
    f = find_desc("GameScore", &x);
    f.where = where;
    for (i = 0; i < 5; i++) {
        snprintf(body, sizeof body, "{\"playerName\":\"%s\",\"score\":%d}", tag, i);
        CHECK(rest_create("GameScore", body, NULL, 0, NULL, 0));
        CHECK(lq_find(c, &f, NULL) == LQ_OK);
    }
    WAIT_UNTIL(x.n >= 5 && count_ev(&r, LQ_EVENT_CREATE, -1) >= 5, 10000);
    CHECKF(x.n == 5 && count_ev(&r, LQ_EVENT_CREATE, -1) == 5, "%d responses, %d CREATE", x.n, count_ev(&r, LQ_EVENT_CREATE, -1));
    for (i = 0; i < x.n; i++) {
        jdoc d;
        jparse(&d, x.r[i].results);
        CHECKF(x.r[i].result == LQ_OK && (int)lq_json_count(d.root) >= i + 1, "find %d: %d rows", i, (int)lq_json_count(d.root));
    }
out:
    free_client(c);
    rresp_free(&x);
    rec_free(&r);
}

/* ---- live views against the real server ---- */

typedef struct vrec { int ready, errors, fatal, code, events; } vrec;

static void on_vev(lq_view *v, const lq_view_event *ev, void *ud) {
    vrec *r = (vrec *)ud;
    (void)v;
    r->events++;
    if (ev->type == LQ_VIEW_READY) r->ready++;
    if (ev->type == LQ_VIEW_ERROR) { r->errors++; r->code = ev->error_code; if (ev->fatal) r->fatal++; }
}

/* The owner's name of the view's row id ("" when it has none). */
static const char *view_owner(lq_view *v, const char *id, char *buf, size_t cap) {
    int i = lq_view_index_of(v, id);
    buf[0] = 0;
    if (i >= 0) jstr(lq_json_path(lq_view_row(v, i), "owner.username"), buf, cap);
    return buf;
}

/* include through a pointer: rows carry the owner object; a new owner is fetched, an unchanged one
   kept (LiveQuery sends bare pointers). With the master key: users are private. */
static void case_view_include(void) {
    rec r;
    vrec vr;
    lq_desc d;
    lq_client *c;
    lq_view *v = NULL;
    lq_view_desc vd;
    static const char *const inc[] = {"owner"};
    char ua[64], ub[64], ida[48], idb[48], tok[96], where[160], body[400], id1[48], id2[48], name[64];
    const char *tag = new_tag();
    memset(&vr, 0, sizeof vr);
    snprintf(ua, sizeof ua, "va_%s", tag);
    snprintf(ub, sizeof ub, "vb_%s", tag);
    rec_init(&r, "view_include");
    base_desc(&d, &r);
    d.master_key = cfg.master_key;
    c = new_client(&d);
    if (!c) goto out;
    if (!CHECK(rest_signup(ua, "pw123456", ida, sizeof ida, tok, sizeof tok)) ||
        !CHECK(rest_signup(ub, "pw123456", idb, sizeof idb, tok, sizeof tok))) goto out;
    snprintf(body, sizeof body, "{\"playerName\":\"%s\",\"score\":1,\"owner\":{\"__type\":\"Pointer\",\"className\":\"_User\",\"objectId\":\"%s\"}}", tag, ida);
    if (!CHECK(rest_create("GameScore", body, id1, sizeof id1, NULL, 0))) goto out;
    snprintf(where, sizeof where, "{\"playerName\":\"%s\"}", tag);
    memset(&vd, 0, sizeof vd);
    vd.class_name = "GameScore";
    vd.where = where;
    vd.order = "-score";
    vd.include = inc;
    vd.num_include = 1;
    vd.on_event = on_vev;
    vd.user_data = &vr;
    if (!CHECK(lq_view_create(c, &vd, &v) == LQ_OK)) goto out;
    WAIT_UNTIL(vr.ready >= 1, 10000);
    CHECKF(vr.ready == 1 && lq_view_count(v) == 1, "ready %d, %d rows", vr.ready, lq_view_count(v));
    CHECK_STR(view_owner(v, id1, name, sizeof name), ua);
    /* a new object: its row has the owner too */
    snprintf(body, sizeof body, "{\"playerName\":\"%s\",\"score\":2,\"owner\":{\"__type\":\"Pointer\",\"className\":\"_User\",\"objectId\":\"%s\"}}", tag, idb);
    if (!CHECK(rest_create("GameScore", body, id2, sizeof id2, NULL, 0))) goto out;
    WAIT_UNTIL(lq_view_count(v) == 2 && view_owner(v, id2, name, sizeof name)[0], 10000);
    CHECK_STR(view_owner(v, id2, name, sizeof name), ub);
    CHECK(lq_view_index_of(v, id2) == 0);
    /* the score changes, the owner does not: still included */
    CHECK(rest_update("GameScore", id1, "{\"score\":5}", NULL, 0));
    WAIT_UNTIL(lq_view_index_of(v, id1) == 0, 10000);
    CHECK(lq_view_index_of(v, id1) == 0);
    CHECK_STR(view_owner(v, id1, name, sizeof name), ua);
    /* a new owner: fetched */
    snprintf(body, sizeof body, "{\"owner\":{\"__type\":\"Pointer\",\"className\":\"_User\",\"objectId\":\"%s\"}}", idb);
    CHECK(rest_update("GameScore", id1, body, NULL, 0));
    WAIT_UNTIL(strcmp(view_owner(v, id1, name, sizeof name), ub) == 0, 10000);
    CHECK_STR(view_owner(v, id1, name, sizeof name), ub);
    CHECK(vr.errors == 0);
out:
    lq_view_destroy(v);
    free_client(c);
    rec_free(&r);
}

/* keys (and an order on another field, and objectId among the keys): each key once on the wire
   (LiveQuery refuses a repeated one), the rows carry only those fields. */
static void case_view_keys(void) {
    rec r;
    vrec vr;
    lq_desc d;
    lq_client *c;
    lq_view *v = NULL;
    lq_view_desc vd;
    static const char *const keys[] = {"playerName", "objectId"};
    char where[160], body[200], id1[48], id2[48];
    const char *tag = new_tag();
    memset(&vr, 0, sizeof vr);
    rec_init(&r, "view_keys");
    base_desc(&d, &r);
    c = new_client(&d);
    if (!c) goto out;
    snprintf(body, sizeof body, "{\"playerName\":\"%s\",\"score\":1,\"cheatMode\":true}", tag);
    if (!CHECK(rest_create("GameScore", body, id1, sizeof id1, NULL, 0))) goto out;
    snprintf(where, sizeof where, "{\"playerName\":\"%s\"}", tag);
    memset(&vd, 0, sizeof vd);
    vd.class_name = "GameScore";
    vd.where = where;
    vd.order = "-score";
    vd.keys = keys;
    vd.num_keys = 2;
    vd.on_event = on_vev;
    vd.user_data = &vr;
    if (!CHECK(lq_view_create(c, &vd, &v) == LQ_OK)) goto out;
    WAIT_UNTIL(vr.ready >= 1 || vr.errors, 10000);
    CHECKF(vr.ready == 1 && vr.errors == 0 && lq_view_count(v) == 1, "ready %d, errors %d, %d rows", vr.ready, vr.errors,
           lq_view_count(v));
    CHECK(!lq_json_exists(lq_json_get(lq_view_row(v, 0), "cheatMode")));
    CHECK(lq_json_exists(lq_json_get(lq_view_row(v, 0), "score")));           /* the order's key */
    snprintf(body, sizeof body, "{\"playerName\":\"%s\",\"score\":2,\"cheatMode\":false}", tag);
    if (!CHECK(rest_create("GameScore", body, id2, sizeof id2, NULL, 0))) goto out;
    WAIT_UNTIL(lq_view_count(v) == 2 || vr.errors, 10000);                   /* the event came: subscribed */
    CHECK(lq_view_count(v) == 2 && lq_view_index_of(v, id2) == 0);
    CHECK(!lq_json_exists(lq_json_get(lq_view_row(v, 0), "cheatMode")));
    CHECK(vr.errors == 0);
out:
    lq_view_destroy(v);
    free_client(c);
    rec_free(&r);
}

/* A session the server no longer accepts: the view's find says 209, a fatal view error. */
static void case_view_bad_session(void) {
    rec r;
    vrec vr;
    lq_desc d;
    lq_client *c;
    lq_view *v = NULL;
    lq_view_desc vd;
    memset(&vr, 0, sizeof vr);
    rec_init(&r, "view_bad_session");
    base_desc(&d, &r);
    c = new_client(&d);
    if (!c) goto out;
    memset(&vd, 0, sizeof vd);
    vd.class_name = "GameScore";
    vd.limit = 3;
    vd.session_token = "r:not-a-session";
    vd.on_event = on_vev;
    vd.user_data = &vr;
    if (!CHECK(lq_view_create(c, &vd, &v) == LQ_OK)) goto out;
    WAIT_UNTIL(vr.fatal >= 1, 10000);
    CHECKF(vr.fatal == 1 && vr.code == 209 && vr.ready == 0, "fatal %d, code %d, ready %d", vr.fatal, vr.code, vr.ready);
out:
    lq_view_destroy(v);
    free_client(c);
    rec_free(&r);
}

static const tcase cases[] = {
    {"connect_keys", case_connect_keys},
    {"wrong_keys", case_wrong_keys},
    {"fields_fallback", case_fields_fallback},
    {"events", case_events},
    {"keys", case_keys},
    {"watch", case_watch},
    {"update_op", case_update_op},
    {"where_builder", case_where_builder},
    {"acl", case_acl},
    {"unsubscribe", case_unsubscribe},
    {"event_refused", case_event_refused},
    {"many_subs", case_many_subs},
    {"close", case_close},
    {"callbacks", case_callbacks},
    {"burst", case_burst},
    {"idle", case_idle},
    {"server_frozen", case_server_frozen},
    {"close_frozen", case_close_frozen},
    {"server_restart", case_server_restart},
    {"rest_find", case_rest_find},
    {"rest_keepalive", case_rest_keepalive},
    {"rest_login", case_rest_login},
    {"rest_include", case_rest_include},
    {"rest_failures", case_rest_failures},
    {"rest_with_events", case_rest_with_events},
    {"view_include", case_view_include},
    {"view_bad_session", case_view_bad_session},
    {"view_keys", case_view_keys},
};

static bool wanted(const char *name, int argc, char **argv) {
    int i;
    if (argc < 2) return true;
    for (i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0) return true;
    return false;
}

int main(int argc, char **argv) {
    size_t i;
    uint64_t t0 = lq_now_ms();
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    cfg.ws_url = env_or("PARSE_SERVER_URL", NULL);
    cfg.http_url = env_or("PARSE_HTTP_URL", NULL);
    cfg.app_id = env_or("PARSE_APP_ID", NULL);
    cfg.js_key = env_or("PARSE_JAVASCRIPT_KEY", NULL);
    cfg.master_key = env_or("PARSE_MASTER_KEY", NULL);
    cfg.client_key = env_or("PARSE_CLIENT_KEY", NULL);
    cfg.state = env_or("LQ_STATE", NULL);
    cfg.server_sh = env_or("LQ_SERVER_SH", "tests/server/lqserver.sh");
    cfg.verbose = env_or("LQ_TEST_VERBOSE", NULL) != NULL;
    if (!cfg.ws_url || !cfg.http_url || !cfg.app_id || !cfg.js_key || !cfg.master_key || !cfg.client_key ||
        !cfg.state) {
        printf("test_live: set PARSE_SERVER_URL PARSE_HTTP_URL PARSE_APP_ID PARSE_JAVASCRIPT_KEY PARSE_MASTER_KEY\n"
               "           PARSE_CLIENT_KEY (source STATE_DIR/env) and LQ_STATE=STATE_DIR\n");
        printf("live: 0 passed, 1 failed\n");
        return 2;
    }
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t t = lq_now_ms();
        if (!wanted(cases[i].name, argc, argv)) continue;
        tu_set_ctx("%s", cases[i].name);
        g_case_failed = tu_failed;
        printf("== %s\n", cases[i].name);
        cases[i].fn();
        tu_set_ctx("%s", cases[i].name);
        printf("   %s: %s (%.1f s)\n", cases[i].name, case_failed() ? "FAILED" : "ok", (double)(lq_now_ms() - t) / 1000.0);
    }
    continue_server();
    printf("live: run time %.1f s\n", (double)(lq_now_ms() - t0) / 1000.0);
    tu_ctx[0] = 0;
    return tu_report("live");
}
