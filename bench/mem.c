/* mem: heap of a livequery.h client, measured with a counting desc.allocator.

   usage: mem PORT [SUBS]     (bench/source on PORT; SUBS subscriptions, default 1000)

   1. idle: a client connected to the source (handshake done, "connected" received), no
      subscription, no event yet: live heap bytes and the number of blocks.
   2. per subscription: SUBS subscriptions of a typical query, all confirmed ("subscribed"):
      (live heap - idle) / SUBS.
   Prints key=value: idle_heap, idle_blocks, client_struct, sub_bytes, subs. */
#define LIVEQUERY_IMPLEMENTATION
#include "../livequery.h"
#include "benchutil.h"

#include <poll.h>

typedef struct state {
    bool open, failed;
    long subscribed;
} state;

static void on_event(lq_client *c, const lq_event *ev, void *user) {
    state *s = (state *)user;
    (void)c;
    if (ev->type == LQ_EVENT_OPEN) s->open = true;
    if (ev->type == LQ_EVENT_SUBSCRIBED) s->subscribed++;
    if (ev->type == LQ_EVENT_ERROR || ev->type == LQ_EVENT_CLOSE) {
        fprintf(stderr, "mem: %s %s\n", lq_event_str(ev->type), ev->error_message ? ev->error_message : "");
        s->failed = true;
    }
}

/* Steps the client until done() or 30 s. */
static bool run_until(lq_client *c, state *s, bool (*done)(const state *, long), long arg) {
    uint64_t deadline = bu_now_ns() + 30ull * 1000000000u;
    while (!done(s, arg) && !s->failed && bu_now_ns() < deadline) lq_wait(c, 100);
    return done(s, arg);
}

static bool is_open(const state *s, long arg) { (void)arg; return s->open; }
static bool all_subscribed(const state *s, long want) { return s->subscribed >= want; }

int main(int argc, char **argv) {
    static bu_counter mem;
    static state st;
    char url[128];
    lq_desc desc;
    lq_query q;
    lq_client *c;
    size_t idle;
    uint64_t idle_blocks;
    long subs = argc > 2 ? atol(argv[2]) : 1000, i;
    if (argc < 2) {
        fprintf(stderr, "usage: mem PORT [SUBS]\n");
        return 2;
    }
    snprintf(url, sizeof url, "ws://127.0.0.1:%s/parse", argv[1]);
    memset(&desc, 0, sizeof desc);
    desc.server_url = url;
    desc.application_id = "benchApp";
    desc.javascript_key = "benchKey";
    desc.on_event = on_event;
    desc.user_data = &st;
    desc.no_reconnect = true;
    desc.allocator.alloc = bu_alloc;
    desc.allocator.free = bu_free;
    desc.allocator.user_data = &mem;
    if (lq_client_create(&desc, &c) != LQ_OK) return 1;
    if (!run_until(c, &st, is_open, 0)) return 1;
    lq_wait(c, 50);
    idle = mem.live;
    idle_blocks = mem.allocs - mem.frees;

    memset(&q, 0, sizeof q);
    q.class_name = "GameScore";
    q.where = "{\"score\":{\"$gt\":1000},\"playerName\":\"Sean Plott\"}";
    for (i = 0; i < subs; i++)
        if (lq_subscribe(c, &q, NULL) != LQ_OK) return 1;
    if (!run_until(c, &st, all_subscribed, subs)) return 1;
    /* 1000 answers at once fill the 8 KiB read buffer, so the client took the large one: a
       quiet second and a bit gives it back, and what is left is the subscriptions. */
    {
        uint64_t until = bu_now_ns() + 1300000000u;
        while (bu_now_ns() < until) lq_wait(c, 100);
    }
    printf("idle_heap=%zu idle_blocks=%llu client_struct=%zu sub_bytes=%.1f subs=%ld heap=%zu\n", idle,
           (unsigned long long)idle_blocks, sizeof(struct lq_client), (double)(mem.live - idle) / (double)subs,
           subs, mem.live);
    lq_client_destroy(c);
    return 0;
}
