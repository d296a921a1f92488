/* test_view.c - lq_view against a model of the server, on the I/O-free core.

   The test keeps the truth: a set of objects (id, score or none, updatedAt) that writes change,
   each write making the LiveQuery event the server would send (create, update with original,
   enter, leave with the previous state, delete). The client runs on the core (LQ_NO_SOCKETS) with
   the in-memory LiveQuery server of testutil.h and a scripted REST link; the test delivers the
   events in order at random moments, answers the view's finds with the state after a random
   write between the request and now (a snapshot the server could have taken), drops the link at
   random (the events of writes while it is down are lost, as they are with Parse Server), and
   sometimes refuses an event (an error that names no object). Checked:
     - every view event is valid against the list replayed from the events so far (indexes in
       range, REMOVE names the row at its index, MOVE's row is the one at from, no row twice,
       never more than limit rows), and the replayed list equals the view's rows after each step;
     - once every event is delivered and no find is pending, the rows are exactly the top `limit`
       of the truth, in order (score descending, a missing score first, then objectId), with the
       truth's values; READY came after the first load and after every STALE.
   Plus fixed cases: the held-event rule, a 209 on the find, and the accessors. Everything runs
   on the counting allocator: nothing may be left after lq_client_destroy. */
#define LIVEQUERY_IMPLEMENTATION
#define LQ_NO_SOCKETS
#include "../livequery.h"
#include "testutil.h"

#define R LQ_LINK_REST
#define MAXOBJ 64
#define MAXW 4096
#define MAXROWS 128

/* ---- the truth ---- */

typedef struct obj {
    bool exists, visible;       /* created and not deleted; readable by the subscriber */
    bool has_score;
    int score;
    int owner;                  /* include runs: a pointer to user owner - 1; 0 none */
    int updated;                /* updatedAt as a count of milliseconds */
} obj;

typedef struct write_rec { int id; obj after; } write_rec;

typedef struct model {
    obj o[MAXOBJ];
    write_rec w[MAXW];
    int nw;
    int clock;
} model;

static void obj_id(int i, char out[16]) { snprintf(out, 16, "o%03d", i); }

static void iso(int ms, char out[32]) {
    snprintf(out, 32, "2026-01-01T%02d:%02d:%02d.%03dZ", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60, ms % 1000);
}

static bool g_include;          /* the run's view has include "owner" */

/* as_pointer: as LiveQuery sends it (a bare Pointer), else as a find with include gives it */
static void obj_json_as(tbuf *b, int i, const obj *o, bool as_pointer) {
    char id[16], up[32];
    obj_id(i, id);
    iso(o->updated, up);
    tb_puts(b, "{\"objectId\":\"");
    tb_puts(b, id);
    tb_puts(b, "\",\"createdAt\":\"2026-01-01T00:00:00.000Z\",\"updatedAt\":\"");
    tb_puts(b, up);
    tb_puts(b, "\"");
    if (o->has_score) {
        char s[32];
        snprintf(s, sizeof s, ",\"score\":%d", o->score);
        tb_puts(b, s);
    }
    if (o->owner) {
        char s[160];
        if (as_pointer) snprintf(s, sizeof s, ",\"owner\":{\"__type\":\"Pointer\",\"className\":\"_User\",\"objectId\":\"u%d\"}", o->owner);
        else snprintf(s, sizeof s, ",\"owner\":{\"__type\":\"Object\",\"className\":\"_User\",\"objectId\":\"u%d\",\"name\":\"user %d\"}",
                      o->owner, o->owner);
        tb_puts(b, s);
    }
    tb_puts(b, "}");
}

static void obj_json(tbuf *b, int i, const obj *o) { obj_json_as(b, i, o, false); }

/* Parse order: -score (missing first), then objectId. */
static int cmp_truth(int a, const obj *oa, int b, const obj *ob) {
    if (oa->has_score != ob->has_score) return oa->has_score ? 1 : -1;
    if (oa->has_score && oa->score != ob->score) return oa->score > ob->score ? -1 : 1;
    return a < b ? -1 : a > b;
}

/* The visible objects of state st, in order: their indexes into out. */
static int truth_sorted(const obj *st, int *out) {
    int n = 0, i, j;
    for (i = 0; i < MAXOBJ; i++) {
        if (!st[i].exists || !st[i].visible) continue;
        for (j = n; j > 0 && cmp_truth(i, &st[i], out[j - 1], &st[out[j - 1]]) < 0; j--) out[j] = out[j - 1];
        out[j] = i;
        n++;
    }
    return n;
}

/* The state after the first k writes. */
static void state_at(const model *m, int k, obj *st) {
    int i;
    memset(st, 0, sizeof(obj) * MAXOBJ);
    for (i = 0; i < k; i++) st[m->w[i].id] = m->w[i].after;
}

/* ---- the fixture ---- */

typedef struct row { char id[16]; char *json; } row;

typedef struct fx {
    tu_harness h;               /* first: user_data of the random source and the allocator */
    tu_srv s;
    model m;
    lq_view *v;
    int limit;
    uint32_t rnd;
    /* LiveQuery events not delivered yet: write index, and the text */
    char *queue[MAXW];
    int qhead, qtail;
    bool link_up;
    /* REST */
    tbuf req;
    int req_at;                 /* writes when the pending find was sent, -1: none */
    int req_limit;
    bool req_scoped;            /* {"objectId":{"$in":[...]}}: only these */
    bool req_in[MAXOBJ];
    int scoped_finds;
    /* what the view said */
    row rows[MAXROWS];
    int nrows;
    int ready, stale, resync, errors, fatal;
    int last_error_code;
    bool bad;                   /* an invalid view event was seen */
} fx;

static uint32_t rnd(fx *x, uint32_t n) {
    x->rnd = x->rnd * 1103515245u + 12345u;
    return (x->rnd >> 8) % n;
}

static void replay_fail(fx *x, const char *what, int index) {
    if (!x->bad) CHECKF(0, "invalid view event: %s (index %d, %d rows)", what, index, x->nrows);
    x->bad = true;
}

static int replay_find(const fx *x, const char *id) {
    int i;
    for (i = 0; i < x->nrows; i++) if (strcmp(x->rows[i].id, id) == 0) return i;
    return -1;
}

static char *dup_raw(lq_json v) {
    size_t n = 0;
    const char *p = lq_json_raw(v, &n);
    char *d = (char *)malloc(n + 1);
    memcpy(d, p ? p : "", n);
    d[n] = 0;
    return d;
}

static void on_view(lq_view *v, const lq_view_event *ev, void *ud) {
    fx *x = (fx *)ud;
    (void)v;
    switch (ev->type) {
    case LQ_VIEW_INSERT:
        if (ev->index < 0 || ev->index > x->nrows || x->nrows >= x->limit || replay_find(x, ev->object_id) >= 0) {
            replay_fail(x, "insert", ev->index);
            return;
        }
        memmove(x->rows + ev->index + 1, x->rows + ev->index, (size_t)(x->nrows - ev->index) * sizeof *x->rows);
        snprintf(x->rows[ev->index].id, sizeof x->rows[0].id, "%s", ev->object_id);
        x->rows[ev->index].json = dup_raw(ev->object);
        x->nrows++;
        break;
    case LQ_VIEW_CHANGE:
        if (ev->index < 0 || ev->index >= x->nrows || strcmp(x->rows[ev->index].id, ev->object_id) != 0) {
            replay_fail(x, "change", ev->index);
            return;
        }
        free(x->rows[ev->index].json);
        x->rows[ev->index].json = dup_raw(ev->object);
        break;
    case LQ_VIEW_MOVE: {
        row r;
        if (ev->from < 0 || ev->from >= x->nrows || ev->index < 0 || ev->index >= x->nrows ||
            strcmp(x->rows[ev->from].id, ev->object_id) != 0) {
            replay_fail(x, "move", ev->from);
            return;
        }
        r = x->rows[ev->from];
        memmove(x->rows + ev->from, x->rows + ev->from + 1, (size_t)(x->nrows - ev->from - 1) * sizeof *x->rows);
        memmove(x->rows + ev->index + 1, x->rows + ev->index, (size_t)(x->nrows - 1 - ev->index) * sizeof *x->rows);
        free(r.json);
        r.json = dup_raw(ev->object);
        x->rows[ev->index] = r;
        break;
    }
    case LQ_VIEW_REMOVE:
        if (ev->index < 0 || ev->index >= x->nrows || strcmp(x->rows[ev->index].id, ev->object_id) != 0) {
            replay_fail(x, "remove", ev->index);
            return;
        }
        free(x->rows[ev->index].json);
        memmove(x->rows + ev->index, x->rows + ev->index + 1, (size_t)(x->nrows - ev->index - 1) * sizeof *x->rows);
        x->nrows--;
        break;
    case LQ_VIEW_READY:
        x->ready++;
        if (ev->resync) x->resync++;
        if (ev->count != x->nrows) replay_fail(x, "ready count", ev->count);
        break;
    case LQ_VIEW_STALE: x->stale++; break;
    case LQ_VIEW_ERROR:
        x->errors++;
        x->last_error_code = ev->error_code;
        if (ev->fatal) x->fatal++;
        break;
    default: break;
    }
}

/* The replayed rows equal the view's. */
static bool rows_match(fx *x) {
    int i;
    if (lq_view_count(x->v) != x->nrows) return CHECKF(0, "view has %d rows, replay %d", lq_view_count(x->v), x->nrows);
    for (i = 0; i < x->nrows; i++) {
        size_t n;
        const char *raw = lq_json_raw(lq_view_row(x->v, i), &n);
        if (!raw || n != strlen(x->rows[i].json) || memcmp(raw, x->rows[i].json, n) != 0)
            return CHECKF(0, "row %d differs from the replay: %.*s vs %s", i, (int)n, raw ? raw : "", x->rows[i].json);
        if (lq_view_index_of(x->v, x->rows[i].id) != i) return CHECKF(0, "index_of(%s) is not %d", x->rows[i].id, i);
    }
    return true;
}

static void fx_open(fx *x, int limit, uint32_t seed, const char *session) {
    lq_desc d;
    lq_view_desc vd;
    memset(x, 0, sizeof *x);
    tu_harness_init(&x->h);
    tu_srv_init(&x->s, 1000);
    x->limit = limit ? limit : 1 << 30;
    x->rnd = seed;
    x->req_at = -1;
    memset(&d, 0, sizeof d);
    d.server_url = "ws://127.0.0.1:1337/parse";
    d.application_id = "app";
    d.random = tu_random_cb;
    d.user_data = &x->h;
    tu_use_alloc(&d, &x->h);
    CHECK(lq_client_create(&d, &x->s.c) == LQ_OK);
    memset(&vd, 0, sizeof vd);
    vd.class_name = "GameScore";
    vd.order = "-score";
    vd.limit = limit;
    vd.session_token = session;
    if (g_include) {
        static const char *const inc[] = {"owner"};
        vd.include = inc;
        vd.num_include = 1;
    }
    vd.on_event = on_view;
    vd.user_data = x;
    CHECK(lq_view_create(x->s.c, &vd, &x->v) == LQ_OK);
}

static void fx_close(fx *x, bool destroy_view_first) {
    int i;
    if (destroy_view_first) lq_view_destroy(x->v);
    lq_client_destroy(x->s.c);
    CHECKF(x->h.live == 0, "%lu bytes left after lq_client_destroy", (unsigned long)x->h.live);
    tu_srv_free(&x->s);
    tu_harness_free(&x->h);
    for (i = x->qhead; i < x->qtail; i++) free(x->queue[i]);
    for (i = 0; i < x->nrows; i++) free(x->rows[i].json);
    tb_free(&x->req);
}

static void rest_service(fx *x);

/* ---- the LiveQuery side ---- */

static void lq_connect(fx *x) {
    int i;
    tu_srv_tick(&x->s, 0);
    for (i = 0; i < 700 && lq_core_io(x->s.c) != LQ_IO_CONNECT; i++) {      /* the reconnect delay */
        tu_srv_tick(&x->s, 100);
        rest_service(x);
    }
    tu_srv_connect(&x->s);
    tu_srv_text(&x->s, SUBSCRIBED1);
    x->link_up = true;
}

static void lq_drop(fx *x) {
    tu_srv_drop(&x->s);
    x->link_up = false;
    while (x->qhead < x->qtail) free(x->queue[x->qhead++]);   /* lost with the link */
}

static void queue_event(fx *x, const char *op, int id, const obj *object, const obj *original) {
    tbuf b = {0};
    if (!x->link_up || x->qtail >= MAXW) return;
    tb_puts(&b, "{\"op\":\"");
    tb_puts(&b, op);
    tb_puts(&b, "\",\"clientId\":\"abc\",\"requestId\":1,\"object\":");
    obj_json_as(&b, id, object, true);
    if (original) { tb_puts(&b, ",\"original\":"); obj_json_as(&b, id, original, true); }
    tb_puts(&b, "}");
    x->queue[x->qtail++] = (char *)b.p;
}

static void deliver_one(fx *x) {
    if (x->qhead >= x->qtail) return;
    tu_srv_text(&x->s, x->queue[x->qhead]);
    free(x->queue[x->qhead++]);
}

/* ---- writes ---- */

static void record(fx *x, int id) {
    if (x->m.nw < MAXW) { x->m.w[x->m.nw].id = id; x->m.w[x->m.nw].after = x->m.o[id]; x->m.nw++; }
}

static void random_write(fx *x) {
    int id = (int)rnd(x, MAXOBJ), k = (int)rnd(x, 10);
    obj *o = &x->m.o[id], before = *o;
    x->m.clock += 1 + (int)rnd(x, 3);
    if (x->m.nw >= MAXW) return;
    if (!o->exists) {
        o->exists = true;
        o->visible = rnd(x, 5) != 0;
        o->has_score = rnd(x, 8) != 0;
        o->score = (int)rnd(x, 40);
        o->owner = g_include ? 1 + (int)rnd(x, 4) : 0;
        o->updated = x->m.clock;
        record(x, id);
        if (o->visible) queue_event(x, "create", id, o, NULL);
    } else if (k == 0) {                                    /* delete */
        o->exists = false;
        record(x, id);
        if (before.visible) queue_event(x, "delete", id, &before, NULL);
    } else if (k == 1) {                                    /* ACL flip */
        o->visible = !o->visible;
        o->updated = x->m.clock;
        record(x, id);
        if (o->visible) queue_event(x, "enter", id, o, NULL);           /* the new state, no original */
        else queue_event(x, "leave", id, &before, &before);            /* the previous state */
    } else {                                                /* a score change */
        o->has_score = rnd(x, 10) != 0;
        o->score = (int)rnd(x, 40);
        if (g_include && rnd(x, 3) == 0) o->owner = 1 + (int)rnd(x, 4);
        o->updated = x->m.clock;
        record(x, id);
        if (o->visible) queue_event(x, "update", id, o, &before);
    }
}

/* ---- the REST side ---- */

static bool req_complete(const tbuf *b) {
    const char *s = tb_str(b), *e = strstr(s, "\r\n\r\n");
    char v[32];
    if (!e) return false;
    if (tu_http_header(s, "Content-Length", v, sizeof v) != 1) return true;
    return (size_t)(e + 4 - s) + (size_t)atoi(v) <= b->len;
}

/* Connects or closes the REST link as asked, and takes what the client sends. */
static void rest_service(fx *x) {
    size_t n;
    const void *p;
    lq_io io = lq_core_link_io(x->s.c, R);
    if (io == LQ_IO_CLOSE) lq_core_link_closed(x->s.c, R, LQ_OK, 0, x->s.now);
    if (lq_core_link_io(x->s.c, R) == LQ_IO_CONNECT) lq_core_link_opened(x->s.c, R, x->s.now);
    p = lq_core_link_peek(x->s.c, R, &n);
    if (n) {
        tb_put(&x->req, p, n);
        lq_core_link_consume(x->s.c, R, n);
    }
    if (x->req_at < 0 && x->req.len && req_complete(&x->req)) {
        const char *lim = strstr(tb_str(&x->req), "\"limit\":");
        const char *in = strstr(tb_str(&x->req), "\"$in\":[");
        x->req_at = x->m.nw;
        x->req_limit = lim ? atoi(lim + 8) : 100;
        x->req_scoped = in != NULL;
        memset(x->req_in, 0, sizeof x->req_in);
        if (in) {
            x->scoped_finds++;
            for (in += 7; *in == '"'; ) {
                x->req_in[atoi(in + 2)] = true;            /* "oNNN" */
                in = strchr(in + 1, '"') + 1;
                if (*in == ',') in++;
            }
        }
    }
}

/* Answers the pending find with the state after a random write since it was sent. */
static void rest_answer(fx *x) {
    obj st[MAXOBJ];
    int order[MAXOBJ], n, i, k;
    tbuf body = {0}, resp = {0};
    char head[128];
    if (x->req_at < 0) return;
    k = x->req_at + (int)rnd(x, (uint32_t)(x->m.nw - x->req_at + 1));
    state_at(&x->m, k, st);
    n = truth_sorted(st, order);
    if (x->req_scoped) {
        int k2 = 0;
        for (i = 0; i < n; i++) if (x->req_in[order[i]]) order[k2++] = order[i];
        n = k2;
    }
    if (n > x->req_limit) n = x->req_limit;
    tb_puts(&body, "{\"results\":[");
    for (i = 0; i < n; i++) {
        if (i) tb_puts(&body, ",");
        obj_json(&body, order[i], &st[order[i]]);
    }
    tb_puts(&body, "]}");
    snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n", (unsigned)body.len);
    tb_puts(&resp, head);
    tb_put(&resp, body.p, body.len);
    tb_reset(&x->req);
    x->req_at = -1;
    lq_core_link_feed(x->s.c, R, resp.p, resp.len, x->s.now);
    tb_free(&body);
    tb_free(&resp);
}

/* ---- the checks at rest ---- */

/* All delivered, nothing pending: the rows are the truth's top limit. */
static void settle_and_check(fx *x, const char *when) {
    obj st[MAXOBJ];
    int order[MAXOBJ], n, i, rounds;
    if (!x->link_up) lq_connect(x);
    for (rounds = 0; rounds < 50; rounds++) {
        while (x->qhead < x->qtail) deliver_one(x);
        rest_service(x);
        if (x->req_at < 0 && lq_view_is_ready(x->v)) break;
        if (x->req_at >= 0) {
            x->req_at = x->m.nw;                            /* a snapshot of now: nothing writes */
            rest_answer(x);
        }
        tu_srv_tick(&x->s, 10);
    }
    state_at(&x->m, x->m.nw, st);
    n = truth_sorted(st, order);
    if (n > x->limit) n = x->limit;
    CHECKF(lq_view_is_ready(x->v), "[%s] the view is ready", when);
    if (!CHECKF(lq_view_count(x->v) == n, "[%s] %d rows, the truth has %d", when, lq_view_count(x->v), n)) return;
    for (i = 0; i < n; i++) {
        tbuf want = {0};
        size_t len;
        const char *raw = lq_json_raw(lq_view_row(x->v, i), &len);
        obj_json(&want, order[i], &st[order[i]]);
        if (!CHECKF(raw && len == want.len && memcmp(raw, want.p, len) == 0, "[%s] row %d: %.*s, the truth: %s", when, i,
                    (int)len, raw ? raw : "", tb_str(&want))) { tb_free(&want); return; }
        tb_free(&want);
    }
    rows_match(x);
}

/* ---- the cases ---- */

static void t_model(int limit, uint32_t seed, int steps) {
    fx x;
    int i, drops = 0;
    tu_set_ctx("model limit %d seed %u", limit, (unsigned)seed);
    fx_open(&x, limit, seed, NULL);
    for (i = 0; i < 12; i++) random_write(&x);              /* objects before the view */
    lq_connect(&x);
    for (i = 0; i < steps && !x.bad; i++) {
        uint32_t what = rnd(&x, 100);
        if (what < 45) random_write(&x);
        else if (what < 80) deliver_one(&x);
        else if (what < 90) { rest_service(&x); if (rnd(&x, 2)) rest_answer(&x); }
        else if (what < 92 && x.link_up) { lq_drop(&x); drops++; }
        else if (what < 95 && !x.link_up) { tu_srv_tick(&x.s, 5000); lq_connect(&x); }
        else if (what < 96 && x.link_up && x.qhead < x.qtail) {     /* a refused event: lost, an error instead */
            free(x.queue[x.qhead++]);
            tu_srv_text(&x.s, "{\"op\":\"error\",\"clientId\":\"abc\",\"requestId\":1,\"code\":141,\"error\":\"refused\",\"reconnect\":false}");
        } else tu_srv_tick(&x.s, 100);
        rest_service(&x);
        if (!x.bad) rows_match(&x);
        if (i % 97 == 96) settle_and_check(&x, "mid-run");
    }
    settle_and_check(&x, "end");
    CHECKF(x.ready >= 1 && x.ready == 1 + x.resync, "%d READY, %d of them resync", x.ready, x.resync);
    CHECKF(x.stale == x.resync, "%d STALE, %d resync READY", x.stale, x.resync);
    CHECK(x.fatal == 0);
    if (g_include) CHECKF(x.scoped_finds > 0, "include: %d loads of rows whose pointer changed", x.scoped_finds);
    fx_close(&x, (seed & 1) != 0);
    (void)drops;
}

/* The rule: a held update older than the find's row is skipped; a newer one, a delete and a
   create are applied. */
static void t_held_rule(void) {
    fx x;
    obj a, a_old;
    tu_set_ctx("held-event rule");
    fx_open(&x, 10, 7, NULL);
    lq_connect(&x);
    rest_service(&x);
    CHECK(x.req_at == 0);
    /* writes the find will see: a at t=10 score 5; and an update event of an older state of a */
    x.m.clock = 10;
    x.m.o[1].exists = x.m.o[1].visible = x.m.o[1].has_score = true;
    x.m.o[1].score = 5;
    x.m.o[1].updated = 10;
    record(&x, 1);
    a = x.m.o[1];
    a_old = a;
    a_old.updated = 5;
    a_old.score = 99;
    queue_event(&x, "update", 1, &a_old, NULL);            /* older than the find's row: skipped */
    deliver_one(&x);
    rest_answer(&x);                                        /* the find: a at t=10 */
    rest_service(&x);
    CHECK(x.ready == 1 && lq_view_count(x.v) == 1);
    CHECK(lq_json_int(lq_json_get(lq_view_row(x.v, 0), "score"), -1) == 5);
    fx_close(&x, true);
}

/* A session the server no longer accepts: the find's 209 is a fatal view error. */
static void t_invalid_session(void) {
    fx x;
    const char *resp = "HTTP/1.1 400 Bad Request\r\nContent-Length: 44\r\n\r\n{\"code\":209,\"error\":\"Invalid session token\"}";
    tu_set_ctx("invalid session");
    fx_open(&x, 10, 9, "r:gone");
    lq_connect(&x);
    rest_service(&x);
    CHECK(x.req_at == 0);
    CHECK_HAS(tb_str(&x.req), "X-Parse-Session-Token: r:gone\r\n");
    CHECK_HAS(x.s.sent[x.s.nsent - 1], "\"sessionToken\":\"r:gone\"");
    lq_core_link_feed(x.s.c, R, resp, strlen(resp), x.s.now);
    CHECK(x.fatal == 1 && x.last_error_code == 209 && !lq_view_is_ready(x.v));
    tu_srv_tick(&x.s, 10);
    CHECK_HAS(x.s.last, "\"op\":\"unsubscribe\"");
    fx_close(&x, true);
}

/* Wrong keys: the find's HTTP 403 ("unauthorized", no Parse code) or 401 end the view (fatal), as
   no retry can fix them; a 500 does not (t_find_failures). */
static void t_unauthorized(void) {
    static const char *const resp[] = {
        "HTTP/1.1 403 Forbidden\r\nContent-Length: 24\r\n\r\n{\"error\":\"unauthorized\"}",
        "HTTP/1.1 401 Unauthorized\r\nContent-Length: 24\r\n\r\n{\"error\":\"unauthorized\"}",
    };
    int i;
    for (i = 0; i < 2; i++) {
        fx x;
        tu_set_ctx("unauthorized (%s)", i ? "401" : "403");
        fx_open(&x, 10, 9, NULL);
        lq_connect(&x);
        rest_service(&x);
        CHECK(x.req_at == 0);
        lq_core_link_feed(x.s.c, R, resp[i], strlen(resp[i]), x.s.now);
        tb_reset(&x.req);
        x.req_at = -1;
        CHECK(x.fatal == 1 && x.errors == 1 && !lq_view_is_ready(x.v));
        tu_srv_tick(&x.s, 10);
        CHECK_HAS(x.s.last, "\"op\":\"unsubscribe\"");
        tu_srv_tick(&x.s, 20000);
        rest_service(&x);
        CHECK(x.req_at < 0);                                /* no find again */
        fx_close(&x, true);
    }
}

/* The find fails (HTTP 500, a reset, bad JSON): an ERROR that is not fatal, then the find again
   after a backoff, and READY once one succeeds. */
static void t_find_failures(void) {
    static const char *const bad[] = {
        "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\noops!",
        "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{\"results",
        "HTTP/1.1 400 Bad Request\r\nContent-Length: 40\r\n\r\n{\"code\":1,\"error\":\"Internal server error\"}",
    };
    fx x;
    int i, k;
    tu_set_ctx("find failures");
    fx_open(&x, 5, 3, NULL);
    for (i = 0; i < 8; i++) random_write(&x);
    lq_connect(&x);
    for (i = 0; i < 4; i++) {
        rest_service(&x);
        if (!CHECKF(x.req_at >= 0, "a find is pending (%d)", i)) break;
        if (i < 3) {
            lq_core_link_feed(x.s.c, R, bad[i], strlen(bad[i]), x.s.now);
            tb_reset(&x.req);
            x.req_at = -1;
            CHECKF(x.errors == i + 1 && x.fatal == 0 && x.ready == 0, "failure %d: %d errors, %d fatal", i, x.errors, x.fatal);
            if (i == 1) lq_core_link_closed(x.s.c, R, LQ_OK, 0, x.s.now);   /* a cut body: the server closes */
            for (k = 0; k < 200 && x.req_at < 0; k++) { tu_srv_tick(&x.s, 100); rest_service(&x); }
            CHECKF(x.req_at >= 0, "the find is retried after failure %d", i);
        } else {
            rest_answer(&x);
        }
    }
    settle_and_check(&x, "after the failures");
    CHECK(x.ready == 1 && x.fatal == 0);
    fx_close(&x, true);
}

static void on_quiet(lq_view *v, const lq_view_event *ev, void *ud) { (void)v; (void)ev; (void)ud; }

/* Accessors, heap bytes, bad arguments, and a view the client destroys. */
static void t_api(void) {
    fx x;
    lq_view_desc vd;
    lq_view *v2 = NULL;
    int i;
    size_t empty, full;
    tu_set_ctx("api");
    fx_open(&x, 0, 11, NULL);
    empty = lq_view_heap_bytes(x.v);
    for (i = 0; i < 40; i++) random_write(&x);
    settle_and_check(&x, "api");
    full = lq_view_heap_bytes(x.v);
    CHECKF(full > empty + (size_t)lq_view_count(x.v) * 100, "heap %lu for %d rows (empty %lu)", (unsigned long)full,
           lq_view_count(x.v), (unsigned long)empty);
    CHECK(lq_view_index_of(x.v, "nosuch") == -1 && lq_view_index_of(NULL, "o001") == -1);
    CHECK(!lq_json_exists(lq_view_row(x.v, -1)) && !lq_json_exists(lq_view_row(x.v, lq_view_count(x.v))));
    CHECK(lq_view_user_data(x.v) == &x && lq_view_client(x.v) == x.s.c);
    memset(&vd, 0, sizeof vd);
    CHECK(lq_view_create(x.s.c, &vd, &v2) == LQ_ERR_INVALID_ARG && v2 == NULL);
    vd.class_name = "GameScore";
    CHECK(lq_view_create(x.s.c, &vd, &v2) == LQ_ERR_INVALID_ARG);          /* no on_event */
    vd.on_event = on_view;
    vd.order = "-";
    CHECK(lq_view_create(x.s.c, &vd, &v2) == LQ_ERR_INVALID_ARG);
    vd.order = NULL;
    vd.limit = -1;
    CHECK(lq_view_create(x.s.c, &vd, &v2) == LQ_ERR_INVALID_ARG);
    vd.limit = 0;
    vd.where = "[]";
    CHECK(lq_view_create(x.s.c, &vd, &v2) == LQ_ERR_JSON);
    vd.where = NULL;
    vd.on_event = on_quiet;
    CHECK(lq_view_create(x.s.c, &vd, &v2) == LQ_OK && v2 != NULL);          /* left for lq_client_destroy */
    fx_close(&x, false);
}

int main(void) {
    uint32_t seed, seeds = getenv("LQ_VIEW_SEEDS") ? (uint32_t)atoi(getenv("LQ_VIEW_SEEDS")) : 150;
    t_held_rule();
    t_invalid_session();
    t_unauthorized();
    t_find_failures();
    t_api();
    for (seed = 1; seed <= seeds; seed++) t_model(seed % 3 == 0 ? 0 : (int)(seed % 7) + 1, seed, 600);
    g_include = true;                                       /* include "owner": events carry bare pointers */
    for (seed = 1; seed <= seeds / 2; seed++) t_model(seed % 3 == 0 ? 0 : (int)(seed % 7) + 1, seed, 600);
    g_include = false;
    tu_ctx[0] = 0;
    return tu_report("view");
}
