/* view_load: a live view's first load of N objects from a real Parse Server (make bench, section 8),
   next to a plain lq_find of the same objects. Prints key=value (medians of ROUNDS):
     load_ms       lq_view_create to READY (subscribe, find with count, find of all, rows built)
     find_ms       lq_find of the same objects (the REST client alone: request, response, JSON)
     heap_peak     the client's peak heap during the load (counting desc.allocator)
     view_bytes    lq_view_heap_bytes once ready; per_row = view_bytes / N
   Usage: view_load WS_URL APP_ID JS_KEY TAG N [ROUNDS] */
#define _POSIX_C_SOURCE 200809L
#define LIVEQUERY_IMPLEMENTATION
#include "../livequery.h"
#include "benchutil.h"

typedef struct run { int ready, rows; bool failed; int found; } run;

static void on_view(lq_view *v, const lq_view_event *ev, void *user) {
    run *r = (run *)user;
    if (ev->type == LQ_VIEW_READY) { r->ready++; r->rows = lq_view_count(v); }
    if (ev->type == LQ_VIEW_ERROR) { fprintf(stderr, "view_load: %s\n", ev->error_message); r->failed = true; }
}

static void on_found(lq_client *c, const lq_response *res, void *user) {
    run *r = (run *)user;
    (void)c;
    if (res->result != LQ_OK) { fprintf(stderr, "view_load: find: %s\n", res->error_message); r->failed = true; }
    r->found = (int)lq_json_count(res->results);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    int n = argc > 5 ? atoi(argv[5]) : 0, rounds = argc > 6 ? atoi(argv[6]) : 3, i;
    double load[16], find[16];
    size_t peak = 0, view_bytes = 0;
    char where[256];
    if (argc < 6 || n <= 0 || rounds < 1 || rounds > 16) {
        fprintf(stderr, "usage: view_load WS_URL APP_ID JS_KEY TAG N [ROUNDS]\n");
        return 2;
    }
    snprintf(where, sizeof where, "{\"playerName\":\"%s\"}", argv[4]);
    for (i = 0; i < rounds; i++) {
        static bu_counter mem;
        lq_desc d;
        lq_view_desc vd;
        lq_find_desc f;
        lq_client *c;
        lq_view *v;
        run r;
        uint64_t t0, dl;
        memset(&mem, 0, sizeof mem);
        memset(&r, 0, sizeof r);
        memset(&d, 0, sizeof d);
        d.server_url = argv[1];
        d.application_id = argv[2];
        d.javascript_key = argv[3];
        d.allocator.alloc = bu_alloc;
        d.allocator.free = bu_free;
        d.allocator.user_data = &mem;
        if (lq_client_create(&d, &c) != LQ_OK) return 1;
        memset(&vd, 0, sizeof vd);
        vd.class_name = "GameScore";
        vd.where = where;
        vd.order = "-score";
        vd.on_event = on_view;
        vd.user_data = &r;
        t0 = bu_now_ns();
        if (lq_view_create(c, &vd, &v) != LQ_OK) return 1;
        dl = lq_now_ms() + 60000;
        while (!r.ready && !r.failed && lq_now_ms() < dl) lq_wait(c, 100);
        load[i] = (double)(bu_now_ns() - t0) / 1e6;
        if (!r.ready || r.rows != n) { fprintf(stderr, "view_load: %d rows of %d\n", r.rows, n); return 1; }
        peak = mem.peak;
        view_bytes = lq_view_heap_bytes(v);
        memset(&f, 0, sizeof f);
        f.class_name = "GameScore";
        f.where = where;
        f.order = "-score";
        f.limit = n + 1000;
        f.on_response = on_found;
        f.user_data = &r;
        t0 = bu_now_ns();
        if (lq_find(c, &f, NULL) != LQ_OK) return 1;
        while (!r.found && !r.failed && lq_now_ms() < dl) lq_wait(c, 100);
        find[i] = (double)(bu_now_ns() - t0) / 1e6;
        if (r.found != n) return 1;
        lq_client_destroy(c);
    }
    qsort(load, (size_t)rounds, sizeof load[0], cmp_double);
    qsort(find, (size_t)rounds, sizeof find[0], cmp_double);
    printf("rows=%d load_ms=%.1f find_ms=%.1f heap_peak=%lu view_bytes=%lu per_row=%.0f\n", n, load[rounds / 2],
           find[rounds / 2], (unsigned long)peak, (unsigned long)view_bytes, (double)view_bytes / n);
    return 0;
}
