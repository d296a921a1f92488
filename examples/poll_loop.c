/* poll_loop: livequery.h inside a poll() loop that also watches stdin (echoing its lines).
   Asks the REST API how many GameScore objects there are, prints object events; exits after the
   first delete, or after 30 s. The client has up to two sockets (the LiveQuery WebSocket, the
   REST connection): lq_pollfds lists them. */
#define LIVEQUERY_IMPLEMENTATION
#include "../livequery.h"
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int done;

static void on_event(lq_client *c, const lq_event *ev, void *user) {
    size_t n;
    const char *raw;
    (void)c; (void)user;
    if (ev->type < LQ_EVENT_CREATE || ev->type > LQ_EVENT_DELETE) return;
    raw = lq_json_raw(ev->object, &n);
    printf("%s %.*s\n", lq_event_str(ev->type), (int)n, raw);
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
    int stdin_open = 1;
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
        struct pollfd fds[1 + LQ_LINK_COUNT];
        lq_pollfd lfds[LQ_LINK_COUNT];
        int i, nfds = 1, n = lq_pollfds(c, lfds, LQ_LINK_COUNT);   /* the sockets change: ask each time */
        fds[0].fd = stdin_open ? STDIN_FILENO : -1;   /* poll ignores a negative fd */
        fds[0].events = POLLIN;
        for (i = 0; i < n; i++, nfds++) {
            fds[nfds].fd = lfds[i].fd;
            fds[nfds].events = (short)((lfds[i].events & LQ_WANT_READ ? POLLIN : 0) |
                                       (lfds[i].events & LQ_WANT_WRITE ? POLLOUT : 0));
        }
        if (poll(fds, (nfds_t)nfds, lq_timeout_ms(c)) < 0) break;
        if (fds[0].revents & (POLLIN | POLLHUP)) {          /* your own work goes here */
            char line[256];
            if (fgets(line, sizeof line, stdin)) printf("stdin: %s", line);
            else stdin_open = 0;
        }
        lq_step(c);
    }
    lq_client_destroy(c);
    return done ? 0 : 4;
}
