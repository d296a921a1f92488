/* poll_loop: livequery.h inside a poll() loop that also watches stdin (echoing its lines).
   Prints object events; exits after the first delete, or after 30 s. */
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

int main(void) {
    lq_desc desc = {0};
    lq_query q = {0};
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
    while (!done && lq_now_ms() < end) {
        struct pollfd fds[2];
        int nfds = 1, ev = lq_fd_events(c);
        fds[0].fd = stdin_open ? STDIN_FILENO : -1;   /* poll ignores a negative fd */
        fds[0].events = POLLIN;
        if (lq_fd(c) >= 0) {                /* the socket changes on reconnect: ask each time */
            fds[1].fd = lq_fd(c);
            fds[1].events = (short)((ev & LQ_WANT_READ ? POLLIN : 0) | (ev & LQ_WANT_WRITE ? POLLOUT : 0));
            nfds = 2;
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
