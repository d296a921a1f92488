/* step_probe: a game loop's view of a broken network. lq_step every millisecond, through
   tests/faults/relay.js, while the relay breaks the link during connect and while subscribed; the
   longest single lq_step of each phase (issue 14: nothing blocks while the network is cut).

   usage: step_probe URL CONTROL_PORT        (URL: the relay's; CONTROL_PORT: the relay's control)
   env:   PARSE_APP_ID (default "bench"), PARSE_JAVASCRIPT_KEY (default none)

   The phases, in order, each bounded in time (connect timeout 1000 ms, dead link 1500 ms, a ping
   every 500 ms, backoff capped at 500 ms):
     noanswer   the relay's port never answers a SYN: connects time out           (2500 ms)
     refused    the relay's port refuses: connects fail at once                    (1500 ms)
     silent     connects are accepted and nothing comes back: handshakes time out  (2500 ms)
     reconnect  healed: until subscribed
     partition  a silent partition while subscribed: until the dead link is seen, then 1000 ms more
     resync     healed: until subscribed again (resubscribe)
     cut        every connection reset while subscribed: until subscribed again
   Prints one line per phase, "phase=NAME ms=... steps=... max_us=... max_cpu_us=... over_1ms=...
   events=...", then "all: steps=... max_us=... max_cpu_us=... max_phase=... cut_us=...
   silent_us=... reconnect_us=... detect_ms=... subscribed=N ok=0|1" (max_us: wall time of the
   longest step, which includes any preemption on a busy machine; max_cpu_us: the longest in this
   thread's CPU time; over_1ms: steps of 1 ms or more; cut_us, silent_us, reconnect_us: the longest
   step of noanswer and refused, of silent and partition, of reconnect, resync and cut; detect_ms:
   cut to the dead link's RECONNECTING in the partition; subscribed: SUBSCRIBED events, 3 when
   every phase that waits for one got it). Exit 0 when every phase reached its end. */
#define LIVEQUERY_IMPLEMENTATION
#include "../../livequery.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

typedef struct probe {
    int subscribed, reconnecting, events;
    uint64_t reconnecting_at;       /* when the last RECONNECTING came (ns) */
} probe;

typedef struct phase {
    const char *name;
    int steps, over_1ms, events;
    uint64_t start, end, max, max_cpu;
} phase;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t thread_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void on_event(lq_client *c, const lq_event *ev, void *user) {
    probe *p = (probe *)user;
    (void)c;
    p->events++;
    if (ev->type == LQ_EVENT_SUBSCRIBED) p->subscribed++;
    if (ev->type == LQ_EVENT_RECONNECTING) { p->reconnecting++; p->reconnecting_at = now_ns(); }
    if (ev->type == LQ_EVENT_ERROR) fprintf(stderr, "step_probe: %s\n", ev->error_message ? ev->error_message : "");
}

/* One command to the relay, answered "ok" once it is in effect. Blocking, outside every lq_step. */
static bool relay(int port, const char *cmd) {
    struct sockaddr_in a;
    char reply[256];
    size_t n = 0;
    ssize_t r;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    bool ok = false;
    if (fd < 0) return false;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0 && write(fd, cmd, strlen(cmd)) == (ssize_t)strlen(cmd) &&
        write(fd, "\n", 1) == 1) {
        while (n < sizeof reply - 1 && (r = read(fd, reply + n, sizeof reply - 1 - n)) > 0) {
            n += (size_t)r;
            if (memchr(reply, '\n', n)) break;
        }
        reply[n] = 0;
        ok = strncmp(reply, "ok", 2) == 0;
    }
    close(fd);
    if (!ok) fprintf(stderr, "step_probe: the relay did not take \"%s\": %s\n", cmd, reply);
    return ok;
}

/* Steps every millisecond for at most ms more, or until *until (when not NULL) reaches target. A
   phase run twice goes on counting. */
static bool run(lq_client *c, probe *p, phase *ph, uint64_t ms, const int *until, int target) {
    int events0 = p->events - ph->events;
    uint64_t t0 = now_ns();
    if (!ph->steps) ph->start = t0;
    while (now_ns() - t0 < ms * 1000000u) {
        uint64_t s = now_ns(), cs = thread_cpu_ns(), took, cpu;
        lq_step(c);
        took = now_ns() - s;
        cpu = thread_cpu_ns() - cs;
        ph->steps++;
        if (took > ph->max) ph->max = took;
        if (cpu > ph->max_cpu) ph->max_cpu = cpu;
        if (took >= 1000000u) ph->over_1ms++;
        ph->events = p->events - events0;
        ph->end = now_ns();
        if (until && *until >= target) return true;
        poll(NULL, 0, 1);
    }
    return until == NULL;
}

static double longest_us(const phase *a, const phase *b, const phase *c) {
    uint64_t m = a->max > b->max ? a->max : b->max;
    if (c && c->max > m) m = c->max;
    return (double)m / 1e3;
}

static void report(const phase *ph) {
    printf("phase=%s ms=%.0f steps=%d max_us=%.1f max_cpu_us=%.1f over_1ms=%d events=%d\n", ph->name,
           (double)(ph->end - ph->start) / 1e6, ph->steps, (double)ph->max / 1e3, (double)ph->max_cpu / 1e3,
           ph->over_1ms, ph->events);
    fflush(stdout);
}

int main(int argc, char **argv) {
    enum { NOANSWER, REFUSED, SILENT, RECONNECT, PARTITION, RESYNC, CUT, PHASES };
    static const char *names[PHASES] = {"noanswer", "refused", "silent", "reconnect", "partition", "resync", "cut"};
    phase ph[PHASES];
    lq_desc d = LQ_ZERO;
    lq_query q = LQ_ZERO;
    lq_client *c = NULL;
    probe p;
    int ctl, i, worst = 0, steps = 0, reconnecting0;
    uint64_t max_cpu = 0, cut_at;
    double detect_ms = -1;
    bool ok = true;
    if (argc != 3 || (ctl = atoi(argv[2])) <= 0) {
        fprintf(stderr, "usage: step_probe URL CONTROL_PORT\n");
        return 2;
    }
    memset(&p, 0, sizeof p);
    memset(ph, 0, sizeof ph);
    for (i = 0; i < PHASES; i++) ph[i].name = names[i];
    d.server_url = argv[1];
    d.application_id = getenv("PARSE_APP_ID") ? getenv("PARSE_APP_ID") : "bench";
    d.javascript_key = getenv("PARSE_JAVASCRIPT_KEY");
    d.connect_timeout_ms = 1000;
    d.dead_link_ms = 1500;
    d.ping_interval_ms = 500;
    d.max_reconnect_delay_ms = 500;
    d.on_event = on_event;
    d.user_data = &p;
    q.class_name = "GameScore";
    q.where = "{\"playerName\":\"step_probe: no such player\"}";

    ok = ok && relay(ctl, "noanswer");
    if (ok && (lq_client_create(&d, &c) != LQ_OK || lq_subscribe(c, &q, NULL) != LQ_OK)) return 1;
    ok = ok && run(c, &p, &ph[NOANSWER], 2500, NULL, 0);
    ok = ok && relay(ctl, "refuse") && run(c, &p, &ph[REFUSED], 1500, NULL, 0);
    ok = ok && relay(ctl, "heal") && relay(ctl, "blackhole") && run(c, &p, &ph[SILENT], 2500, NULL, 0);
    ok = ok && relay(ctl, "heal") && run(c, &p, &ph[RECONNECT], 15000, &p.subscribed, 1);
    if (ok) {                       /* a silent partition: until the dead link is seen, then 1 s more */
        reconnecting0 = p.reconnecting;
        ok = relay(ctl, "blackhole");
        cut_at = now_ns();
        ok = ok && run(c, &p, &ph[PARTITION], 10000, &p.reconnecting, reconnecting0 + 1);
        if (ok) {
            detect_ms = (double)(p.reconnecting_at - cut_at) / 1e6;
            run(c, &p, &ph[PARTITION], 1000, NULL, 0);
        }
    }
    ok = ok && relay(ctl, "heal") && run(c, &p, &ph[RESYNC], 15000, &p.subscribed, 2);
    ok = ok && relay(ctl, "cut") && run(c, &p, &ph[CUT], 15000, &p.subscribed, 3);
    for (i = 0; i < PHASES; i++) {
        if (!ph[i].steps) continue;
        report(&ph[i]);
        steps += ph[i].steps;
        if (ph[i].max > ph[worst].max) worst = i;
        if (ph[i].max_cpu > max_cpu) max_cpu = ph[i].max_cpu;
    }
    printf("all: steps=%d max_us=%.1f max_cpu_us=%.1f max_phase=%s cut_us=%.1f silent_us=%.1f reconnect_us=%.1f "
           "detect_ms=%.0f subscribed=%d ok=%d\n", steps, (double)ph[worst].max / 1e3, (double)max_cpu / 1e3, ph[worst].name,
           longest_us(&ph[NOANSWER], &ph[REFUSED], NULL), longest_us(&ph[SILENT], &ph[PARTITION], NULL),
           longest_us(&ph[RECONNECT], &ph[RESYNC], &ph[CUT]), detect_ms, p.subscribed, ok);
    if (c) lq_client_destroy(c);
    return ok ? 0 : 1;
}
