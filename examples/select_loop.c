/* select_loop: livequery.h inside a select() loop. Prints object events; exits after the first
   delete or after 30 s. */
#define LIVEQUERY_IMPLEMENTATION
#include "../livequery.h"
#include <stdio.h>
#include <stdlib.h>
#include <sys/select.h>

static int done;

static void on_event(lq_client *c, const lq_event *ev, void *user) {
    char id[32];
    (void)c; (void)user;
    if (ev->type < LQ_EVENT_CREATE || ev->type > LQ_EVENT_DELETE) return;
    lq_json_string(lq_json_get(ev->object, "objectId"), id, sizeof id);
    printf("%s %s score=%g\n", lq_event_str(ev->type), id, lq_json_number(lq_json_get(ev->object, "score"), 0));
    fflush(stdout);
    if (ev->type == LQ_EVENT_DELETE) done = 1;
}

static void on_count(lq_client *c, const lq_response *r, void *user) {
    (void)c; (void)user;
    if (r->result == LQ_OK) printf("find: %d objects\n", (int)lq_json_int(lq_json_get(r->body, "count"), -1));
    else printf("find failed: %s (%s)\n", lq_result_str(r->result), r->error_message);
    fflush(stdout);
}

int main(void) {
    lq_desc desc = LQ_ZERO;
    lq_query q = LQ_ZERO;
    lq_find_desc count = LQ_ZERO;
    lq_client *c;
    uint64_t end = lq_now_ms() + 30000;
    desc.server_url = getenv("PARSE_SERVER_URL");
    desc.application_id = getenv("PARSE_APP_ID");
    desc.javascript_key = getenv("PARSE_JAVASCRIPT_KEY");
    desc.on_event = on_event;
    if (lq_client_create(&desc, &c) != LQ_OK) return 1;
    q.class_name = "GameScore";
    lq_subscribe(c, &q, NULL);
    count.class_name = "GameScore";
    count.limit = 1;
    count.count = true;
    count.on_response = on_count;
    lq_find(c, &count, NULL);
    while (!done && lq_now_ms() < end) {
        fd_set rd, wr;
        struct timeval tv, *tvp = NULL;
        lq_pollfd fds[LQ_LINK_COUNT];
        int i, maxfd = -1, n = lq_pollfds(c, fds, LQ_LINK_COUNT), ms = lq_timeout_ms(c);
        FD_ZERO(&rd);
        FD_ZERO(&wr);
        for (i = 0; i < n; i++) {           /* the sockets change: ask each time */
            if (fds[i].events & LQ_WANT_READ) FD_SET(fds[i].fd, &rd);
            if (fds[i].events & LQ_WANT_WRITE) FD_SET(fds[i].fd, &wr);
            if (fds[i].fd > maxfd) maxfd = fds[i].fd;
        }
        if (ms >= 0) {
            tv.tv_sec = ms / 1000;
            tv.tv_usec = (ms % 1000) * 1000;
            tvp = &tv;
        }
        if (select(maxfd + 1, &rd, &wr, NULL, tvp) < 0) break;
        lq_step(c);
    }
    lq_client_destroy(c);
    return done ? 0 : 4;
}
