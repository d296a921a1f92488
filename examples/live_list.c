/* live_list: the top 10 GameScore objects by score, kept exact live (lq_view); reprinted on
   every change for 60 s. The README shows it as "a live list in 30 lines". */
#define LIVEQUERY_IMPLEMENTATION
#include "../livequery.h"
#include <stdio.h>
#include <stdlib.h>

static void on_change(lq_view *v, const lq_view_event *ev, void *user) {
    int i;
    (void)user;
    if (ev->type == LQ_VIEW_ERROR) printf("error %d: %s\n", ev->error_code, ev->error_message);
    if (ev->type != LQ_VIEW_READY && !lq_view_is_ready(v)) return;     /* wait for the first load */
    printf("--- top %d\n", lq_view_count(v));
    for (i = 0; i < lq_view_count(v); i++) {
        lq_json row = lq_view_row(v, i);
        char name[64];
        lq_json_string(lq_json_get(row, "playerName"), name, sizeof name);
        printf("%2d. %-20s %.0f\n", i + 1, name, lq_json_number(lq_json_get(row, "score"), 0));
    }
    fflush(stdout);
}

int main(void) {
    lq_desc desc = LQ_ZERO;
    lq_view_desc top = LQ_ZERO;
    lq_client *c;
    lq_view *v;
    uint64_t end = lq_now_ms() + 60000;
    desc.server_url = getenv("PARSE_SERVER_URL");          /* ws://127.0.0.1:1337/parse */
    desc.application_id = getenv("PARSE_APP_ID");
    desc.javascript_key = getenv("PARSE_JAVASCRIPT_KEY");
    if (lq_client_create(&desc, &c) != LQ_OK) return 1;
    top.class_name = "GameScore";
    top.where = "{\"score\":{\"$exists\":true}}";
    top.order = "-score";
    top.limit = 10;
    top.on_event = on_change;
    if (lq_view_create(c, &top, &v) != LQ_OK) return 1;
    while (lq_now_ms() < end) lq_wait(c, 1000);
    lq_client_destroy(c);                                   /* and the view with it */
    return 0;
}
