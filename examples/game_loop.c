/* game_loop: a 60 fps loop that calls lq_step() once per frame and never waits on the socket.
   Keeps a live count of GameScore objects with score > 10; exits after the first delete or 30 s. */
#define LIVEQUERY_IMPLEMENTATION
#include "../livequery.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef struct game { int visible; int done; } game;

static void on_event(lq_client *c, const lq_event *ev, void *user) {
    game *g = (game *)user;
    (void)c;
    switch (ev->type) {
    case LQ_EVENT_SUBSCRIBED: if (ev->resubscribe) printf("resubscribed: re-query here\n"); break;
    case LQ_EVENT_CREATE: case LQ_EVENT_ENTER: g->visible++; break;
    case LQ_EVENT_LEAVE: g->visible--; break;
    case LQ_EVENT_DELETE: g->visible--; g->done = 1; break;
    default: return;
    }
    printf("%s: %d visible\n", lq_event_str(ev->type), g->visible);
    fflush(stdout);
}

int main(void) {
    lq_desc desc = LQ_ZERO;
    lq_query q = LQ_ZERO;
    lq_client *c;
    game g = {0, 0};
    long frame;
    desc.server_url = getenv("PARSE_SERVER_URL");
    desc.application_id = getenv("PARSE_APP_ID");
    desc.javascript_key = getenv("PARSE_JAVASCRIPT_KEY");
    desc.on_event = on_event;
    desc.user_data = &g;
    if (lq_client_create(&desc, &c) != LQ_OK) return 1;
    q.class_name = "GameScore";
    q.where = "{\"score\":{\"$gt\":10}}";
    lq_subscribe(c, &q, NULL);
    for (frame = 0; frame < 60 * 30 && !g.done; frame++) {
        struct timespec sixteen = {0, 16000000};
        lq_step(c);                         /* never blocks */
        /* update and render the frame here */
        nanosleep(&sixteen, NULL);
    }
    lq_client_destroy(c);
    return g.done ? 0 : 4;
}
