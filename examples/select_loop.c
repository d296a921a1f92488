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

int main(void) {
    lq_desc desc = {0};
    lq_query q = {0};
    lq_client *c;
    uint64_t end = lq_now_ms() + 30000;
    desc.server_url = getenv("PARSE_SERVER_URL");
    desc.application_id = getenv("PARSE_APP_ID");
    desc.javascript_key = getenv("PARSE_JAVASCRIPT_KEY");
    desc.on_event = on_event;
    if (lq_client_create(&desc, &c) != LQ_OK) return 1;
    q.class_name = "GameScore";
    lq_subscribe(c, &q, NULL);
    while (!done && lq_now_ms() < end) {
        fd_set rd, wr;
        struct timeval tv, *tvp = NULL;
        int fd = lq_fd(c), ev = lq_fd_events(c), ms = lq_timeout_ms(c);
        FD_ZERO(&rd);
        FD_ZERO(&wr);
        if (fd >= 0 && (ev & LQ_WANT_READ)) FD_SET(fd, &rd);
        if (fd >= 0 && (ev & LQ_WANT_WRITE)) FD_SET(fd, &wr);
        if (ms >= 0) {
            tv.tv_sec = ms / 1000;
            tv.tv_usec = (ms % 1000) * 1000;
            tvp = &tv;
        }
        if (select(fd + 1, &rd, &wr, NULL, tvp) < 0) break;
        lq_step(c);
    }
    lq_client_destroy(c);
    return done ? 0 : 4;
}
