/* ingest_lq: livequery.h receiving N update events from bench/source through lq_step().

   usage: ingest_lq PORT N [original]

   Subscribes to GameScore, then for every event parses the object and reads two fields (score as
   a number, playerName as a string). Prints one line of key=value:
     events, secs (first to last event), cpu (process CPU seconds over the same span), sys (the
     kernel's part of cpu),
     allocs (allocations between event WARM and the last one), heap (live bytes at the end),
     rss_kb (peak RSS). */
#define LIVEQUERY_IMPLEMENTATION
#include "../livequery.h"
#include "benchutil.h"

#include <poll.h>

#define WARM 1000

typedef struct run {
    long want, got;
    uint64_t t0, t1, cpu0, cpu1, sys0, sys1, allocs_warm, allocs_end;
    double sum;
    size_t name_len;
    bu_counter *mem;
    bool failed;
} run;

static void on_event(lq_client *c, const lq_event *ev, void *user) {
    run *r = (run *)user;
    char name[32];
    (void)c;
    if (ev->type == LQ_EVENT_ERROR || ev->type == LQ_EVENT_CLOSE) {
        fprintf(stderr, "ingest_lq: %s %s\n", lq_event_str(ev->type), ev->error_message ? ev->error_message : "");
        r->failed = true;
        return;
    }
    if (ev->type != LQ_EVENT_UPDATE) return;
    r->sum += lq_json_number(lq_json_get(ev->object, "score"), 0);
    r->name_len += lq_json_string(lq_json_get(ev->object, "playerName"), name, sizeof name);
    r->got++;
    if (r->got == 1) { r->t0 = bu_now_ns(); r->cpu0 = bu_cpu_ns(); r->sys0 = bu_sys_ns(); }
    if (r->got == WARM) r->allocs_warm = r->mem->allocs;
    if (r->got == r->want) { r->t1 = bu_now_ns(); r->cpu1 = bu_cpu_ns(); r->sys1 = bu_sys_ns(); r->allocs_end = r->mem->allocs; }
}

int main(int argc, char **argv) {
    static bu_counter mem;
    static run r;
    char url[128];
    lq_desc desc;
    lq_query q;
    lq_client *c;
    uint64_t deadline;
    if (argc < 3) {
        fprintf(stderr, "usage: ingest_lq PORT N [original]\n");
        return 2;
    }
    r.want = atol(argv[2]);
    r.mem = &mem;
    if (r.want <= WARM) r.want = WARM + 1;
    snprintf(url, sizeof url, "ws://127.0.0.1:%s/parse?n=%ld%s", argv[1], r.want, argc > 3 ? "&o=1" : "");
    memset(&desc, 0, sizeof desc);
    desc.server_url = url;
    desc.application_id = "benchApp";
    desc.javascript_key = "benchKey";
    desc.on_event = on_event;
    desc.user_data = &r;
    desc.no_reconnect = true;
    desc.allocator.alloc = bu_alloc;
    desc.allocator.free = bu_free;
    desc.allocator.user_data = &mem;
    if (lq_client_create(&desc, &c) != LQ_OK) return 1;
    memset(&q, 0, sizeof q);
    q.class_name = "GameScore";
    if (lq_subscribe(c, &q, NULL) != LQ_OK) return 1;
    deadline = bu_now_ns() + 120ull * 1000000000u;
    while (r.got < r.want && !r.failed && bu_now_ns() < deadline) {
        struct pollfd p;
        int ev = lq_fd_events(c);
        p.fd = lq_fd(c);
        p.events = (short)((ev & LQ_WANT_READ ? POLLIN : 0) | (ev & LQ_WANT_WRITE ? POLLOUT : 0));
        p.revents = 0;
        poll(&p, p.fd >= 0 ? 1u : 0u, lq_timeout_ms(c) < 0 || lq_timeout_ms(c) > 1000 ? 1000 : lq_timeout_ms(c));
        lq_step(c);
    }
    if (r.got < r.want) {
        fprintf(stderr, "ingest_lq: %ld of %ld events\n", r.got, r.want);
        return 1;
    }
    printf("events=%ld secs=%.6f cpu=%.6f sys=%.6f allocs=%llu heap=%zu rss_kb=%ld check=%.0f/%zu\n", r.want,
           (double)(r.t1 - r.t0) / 1e9, (double)(r.cpu1 - r.cpu0) / 1e9, (double)(r.sys1 - r.sys0) / 1e9,
           (unsigned long long)(r.allocs_end - r.allocs_warm), mem.live, bu_maxrss_kb(), r.sum, r.name_len);
    lq_client_destroy(c);
    return 0;
}
