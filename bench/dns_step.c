/* dns_step: the longest lq_step while the nameserver is slow (issue 14: nothing blocks, DNS included).

   usage: dns_step URL DNS_SERVERS      (ws://slow.test:PORT/parse, "127.0.0.1:P": fakedns answering late)

   Calls lq_step every millisecond from lq_client_create until LQ_EVENT_OPEN and prints
   "open_ms=... steps=... max_step_us=... max_step_at=... max_step_cpu_us=... p99_step_us=...
   resolve_steps=..." (wall time of the longest step, which includes any preemption on a busy
   machine, and the step's index; the longest in this thread's CPU time; resolve_steps: the steps
   taken while the name was being resolved, the socket being the resolver's). */
#define LIVEQUERY_IMPLEMENTATION
#include "../livequery.h"
#include "benchutil.h"

#include <poll.h>

static bool opened;
static void on_event(lq_client *c, const lq_event *ev, void *user) {
    (void)c; (void)user;
    if (ev->type == LQ_EVENT_OPEN) opened = true;
    if (ev->type == LQ_EVENT_ERROR) fprintf(stderr, "dns_step: %s\n", ev->error_message);
}

static uint64_t thread_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    static uint64_t took[60000];
    lq_desc d = LQ_ZERO;
    lq_client *c = NULL;
    uint64_t t0, max = 0, max_cpu = 0;
    int n = 0, resolving = 0, max_at = 0;
    if (argc != 3) { fprintf(stderr, "usage: dns_step URL DNS_SERVERS\n"); return 2; }
    d.server_url = argv[1];
    d.application_id = "bench";
    d.dns_servers = argv[2];
    d.on_event = on_event;
    t0 = bu_now_ns();
    if (lq_client_create(&d, &c) != LQ_OK) return 1;
    while (!opened && n < 60000) {
        uint64_t s = bu_now_ns(), cs = thread_cpu_ns(), cpu;
        lq__tcp *t;
        lq_step(c);
        took[n] = bu_now_ns() - s;
        cpu = thread_cpu_ns() - cs;
        if (cpu > max_cpu) max_cpu = cpu;
        if (took[n] > max) { max = took[n]; max_at = n; }
        t = (lq__tcp *)c->conn[LQ_LINK_LIVEQUERY].state;
        resolving += c->conn[LQ_LINK_LIVEQUERY].active && t && t->dns != NULL;
        n++;
        poll(NULL, 0, 1);
    }
    qsort(took, (size_t)n, sizeof took[0], cmp_u64);
    printf("open_ms=%.0f steps=%d max_step_us=%.1f max_step_at=%d max_step_cpu_us=%.1f p99_step_us=%.1f resolve_steps=%d\n",
           (double)(bu_now_ns() - t0) / 1e6, n, (double)max / 1e3, max_at, (double)max_cpu / 1e3, (double)took[n * 99 / 100] / 1e3, resolving);
    lq_client_destroy(c);
    return opened ? 0 : 1;
}
