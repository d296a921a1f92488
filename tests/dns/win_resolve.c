/* win_resolve: the built-in resolver where it runs on Windows (tests/run-portability.sh, under wine):
   the host name is asked of the nameserver in desc.dns_servers (tests/dns/fakedns.js), its
   addresses raced (Happy Eyeballs), and the real Parse Server says connected.

   usage: win_resolve URL DNS_SERVERS     exit 0 on OPEN within 15 s, else 1 (the reason on stderr) */
#define LIVEQUERY_IMPLEMENTATION
#include "../../livequery.h"

static int opened;

static void on_event(lq_client *c, const lq_event *ev, void *user) {
    (void)c; (void)user;
    if (ev->type == LQ_EVENT_OPEN) opened = 1;
    if (ev->type == LQ_EVENT_ERROR) fprintf(stderr, "win_resolve: %s\n", ev->error_message);
}

int main(int argc, char **argv) {
    lq_desc d = LQ_ZERO;
    lq_client *c = NULL;
    uint64_t t0 = lq_now_ms();
    if (argc != 3) { fprintf(stderr, "usage: win_resolve URL DNS_SERVERS\n"); return 2; }
    d.server_url = argv[1];
    d.application_id = getenv("PARSE_APP_ID") ? getenv("PARSE_APP_ID") : "testAppId";
    d.javascript_key = getenv("PARSE_JAVASCRIPT_KEY");
    d.dns_servers = argv[2];
    d.no_reconnect = true;
    d.on_event = on_event;
    if (lq_client_create(&d, &c) != LQ_OK) return 1;
    while (!opened && lq_now_ms() - t0 < 15000 && lq_client_state(c) != LQ_STATE_DISCONNECTED) lq_wait(c, 50);
    if (opened) printf("open after %u ms\n", (unsigned)(lq_now_ms() - t0));
    lq_client_destroy(c);
    return opened ? 0 : 1;
}
