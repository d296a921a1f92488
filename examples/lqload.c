/* lqload: many LiveQuery clients in one process, against a real Parse Server.

   usage: lqload [options]
     -s URL     LiveQuery URL (env PARSE_SERVER_URL)      -a ID    application id (env PARSE_APP_ID)
     -k KEY     javascript key (env PARSE_JAVASCRIPT_KEY) -m KEY   master key for the REST writes
                                                                   (env PARSE_MASTER_KEY)
     -r URL     REST URL, http://127.0.0.1:PORT/parse (env PARSE_HTTP_URL)
     -c N       clients (default 1000)                    -n N     subscriptions per client (10)
     -w N       REST writes after all are subscribed (30) -i MS    between writes (100)
     -t SEC     give up after SEC seconds (120)

   All clients start at once; each polls its own socket from one poll() loop. Subscription j of a
   client watches GameScore where playerName is "lqload-<j % 10>"; write i creates a GameScore with
   playerName "lqload-<i % 10>" and score = the monotonic clock in microseconds, so every matching
   subscription gets a create event that carries its own send time. Prints one JSON line:
     connect_ms  start -> "connected" per client (p50, p90, p99, max)
     ready_ms    start -> every subscription of the client confirmed
     latency_ms  REST request sent -> create event in the client (over all events)
     heap_bytes  live bytes of all clients through desc.allocator, when all were ready
   Exit status 0 when every client got ready and every expected event arrived. */
#define LIVEQUERY_IMPLEMENTATION
#include "../livequery.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#define QUERIES 10

typedef struct counter {
    size_t live;
    uint64_t allocs;
} counter;

typedef struct loader loader;

typedef struct client_slot {
    loader *l;
    lq_client *c;
    int64_t connect_us, ready_us;   /* -1 until reached */
    int subscribed;
} client_slot;

struct loader {
    const char *url, *app, *key, *master, *rest;
    int clients, subs, writes, interval_ms, timeout_s;
    client_slot *slots;
    counter mem;
    int64_t start_us;
    double *lat;                    /* latencies of received events, microseconds */
    size_t nlat, caplat;
    long errors;
    int ready;
    /* the writer thread */
    char rest_host[64], rest_path[128];
    int rest_port;
    pthread_mutex_t lock;           /* guards writes_done */
    int writes_done, write_failures;
};

static int64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Sizes travel in a header in front of each block so that live bytes can be counted. */
static void *count_alloc(size_t n, void *user) {
    counter *k = (counter *)user;
    unsigned char *p = (unsigned char *)malloc(n + 16);
    if (!p) return NULL;
    memcpy(p, &n, sizeof n);
    k->live += n;
    k->allocs++;
    return p + 16;
}

static void count_free(void *ptr, void *user) {
    counter *k = (counter *)user;
    size_t n;
    if (!ptr) return;
    memcpy(&n, (unsigned char *)ptr - 16, sizeof n);
    k->live -= n;
    free((unsigned char *)ptr - 16);
}

static void on_event(lq_client *c, const lq_event *ev, void *user) {
    client_slot *s = (client_slot *)user;
    loader *l = s->l;
    (void)c;
    switch (ev->type) {
    case LQ_EVENT_OPEN:
        if (s->connect_us < 0) s->connect_us = now_us() - l->start_us;
        break;
    case LQ_EVENT_SUBSCRIBED:
        if (++s->subscribed == l->subs && s->ready_us < 0) {
            s->ready_us = now_us() - l->start_us;
            l->ready++;
        }
        break;
    case LQ_EVENT_CREATE: {
        double sent = lq_json_number(lq_json_get(ev->object, "score"), -1);
        if (sent >= 0 && l->nlat < l->caplat) l->lat[l->nlat++] = (double)now_us() - sent;
        break;
    }
    case LQ_EVENT_ERROR:
        if (l->errors++ < 5) fprintf(stderr, "lqload: error: %s\n", ev->error_message ? ev->error_message : "");
        break;
    default:
        break;
    }
}

/* ---- REST writes (a thread with blocking sockets; it never touches a client) ------------------- */

static bool parse_rest_url(loader *l) {
    const char *p = l->rest;
    const char *colon, *slash;
    size_t hn;
    if (strncmp(p, "http://", 7) != 0) return false;
    p += 7;
    colon = strchr(p, ':');
    slash = strchr(p, '/');
    if (!slash) slash = p + strlen(p);
    hn = (size_t)((colon && colon < slash ? colon : slash) - p);
    if (hn == 0 || hn >= sizeof l->rest_host) return false;
    memcpy(l->rest_host, p, hn);
    l->rest_host[hn] = 0;
    l->rest_port = colon && colon < slash ? atoi(colon + 1) : 80;
    snprintf(l->rest_path, sizeof l->rest_path, "%s", *slash ? slash : "/");
    return l->rest_port > 0;
}

/* One POST /classes/GameScore, Connection: close; true on 201. */
static bool rest_create(loader *l, int i) {
    char body[128], req[1024], resp[512];
    struct sockaddr_in a;
    size_t got = 0;
    int fd, n;
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return false;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)l->rest_port);
    if (inet_pton(AF_INET, l->rest_host, &a.sin_addr) != 1 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return false;
    }
    snprintf(body, sizeof body, "{\"playerName\":\"lqload-%d\",\"score\":%lld}", i % QUERIES, (long long)now_us());
    n = snprintf(req, sizeof req,
                 "POST %s/classes/GameScore HTTP/1.1\r\nHost: %s:%d\r\nX-Parse-Application-Id: %s\r\n"
                 "X-Parse-Master-Key: %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                 "Connection: close\r\n\r\n%s", l->rest_path, l->rest_host, l->rest_port, l->app, l->master,
                 strlen(body), body);
    if (n < 0 || send(fd, req, (size_t)n, 0) != n) {
        close(fd);
        return false;
    }
    for (;;) {
        ssize_t r = recv(fd, resp + got, sizeof resp - 1 - got, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
        if (got == sizeof resp - 1) break;
    }
    resp[got] = 0;
    close(fd);
    return strncmp(resp, "HTTP/1.1 201", 12) == 0;
}

static void *writer(void *arg) {
    loader *l = (loader *)arg;
    int i;
    for (i = 0; i < l->writes; i++) {
        struct timespec pause;
        if (!rest_create(l, i)) l->write_failures++;
        pause.tv_sec = l->interval_ms / 1000;
        pause.tv_nsec = (long)(l->interval_ms % 1000) * 1000000L;
        nanosleep(&pause, NULL);
    }
    pthread_mutex_lock(&l->lock);
    l->writes_done = 1;
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

/* ---- statistics ------------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* "[p50,p90,p99,max]" in milliseconds of n microsecond samples (sorted here). */
static void print_pcts(const char *name, double *v, size_t n) {
    static const double q[] = {0.50, 0.90, 0.99, 1.0};
    size_t k;
    qsort(v, n, sizeof *v, cmp_double);
    printf(",\"%s\":[", name);
    for (k = 0; k < 4; k++) {
        size_t at = n ? (size_t)(q[k] * (double)(n - 1) + 0.5) : 0;
        printf("%s%.2f", k ? "," : "", n ? v[at] / 1000.0 : -1.0);
    }
    printf("]");
}

/* ---- main ------------------------------------------------------------------------------------- */

static const char *arg_or_env(const char *v, const char *env, const char *def) {
    const char *e = getenv(env);
    return v ? v : e && *e ? e : def;
}

static bool start_clients(loader *l) {
    static const char *const players[QUERIES] = {"lqload-0", "lqload-1", "lqload-2", "lqload-3", "lqload-4",
                                                 "lqload-5", "lqload-6", "lqload-7", "lqload-8", "lqload-9"};
    char where[QUERIES][64];
    int i, j;
    for (j = 0; j < QUERIES; j++) snprintf(where[j], sizeof where[j], "{\"playerName\":\"%s\"}", players[j]);
    for (i = 0; i < l->clients; i++) {
        client_slot *s = &l->slots[i];
        lq_desc desc;
        memset(&desc, 0, sizeof desc);
        desc.server_url = l->url;
        desc.application_id = l->app;
        desc.javascript_key = l->key;
        desc.on_event = on_event;
        desc.user_data = s;
        desc.allocator.alloc = count_alloc;
        desc.allocator.free = count_free;
        desc.allocator.user_data = &l->mem;
        s->l = l;
        s->connect_us = s->ready_us = -1;
        if (lq_client_create(&desc, &s->c) != LQ_OK) return false;
        for (j = 0; j < l->subs; j++) {
            lq_query q;
            memset(&q, 0, sizeof q);
            q.class_name = "GameScore";
            q.where = where[j % QUERIES];
            if (lq_subscribe(s->c, &q, NULL) != LQ_OK) return false;
        }
    }
    return true;
}

/* One round: poll every socket, step the clients that have something (all of them every 50 ms). */
static void pump(loader *l, struct pollfd *pfd, int64_t *last_all) {
    int i, n = l->clients;
    int64_t now;
    for (i = 0; i < n; i++) {
        int ev = lq_fd_events(l->slots[i].c);
        pfd[i].fd = lq_fd(l->slots[i].c);
        pfd[i].events = (short)((ev & LQ_WANT_READ ? POLLIN : 0) | (ev & LQ_WANT_WRITE ? POLLOUT : 0));
        pfd[i].revents = 0;
    }
    poll(pfd, (nfds_t)n, 10);
    now = now_us();
    for (i = 0; i < n; i++)
        if (pfd[i].revents || now - *last_all >= 50000) lq_step(l->slots[i].c);
    if (now - *last_all >= 50000) *last_all = now;
}

int main(int argc, char **argv) {
    static loader l;
    struct pollfd *pfd;
    struct rlimit rl;
    pthread_t th;
    int64_t last_all = 0, deadline, ready_at = 0, stop_at;
    size_t expected, heap_ready = 0;
    double *connect, *ready;
    int i, n = 0;
    bool writing = false;
    const char *url = NULL, *app = NULL, *key = NULL, *master = NULL, *rest = NULL;
    pthread_mutex_init(&l.lock, NULL);
    l.clients = 1000;
    l.subs = 10;
    l.writes = 30;
    l.interval_ms = 100;
    l.timeout_s = 120;
    for (i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v || o[0] != '-' || strlen(o) != 2) {
            fprintf(stderr, "usage: lqload [-s URL] [-a APP] [-k KEY] [-m MASTER] [-r REST_URL] [-c CLIENTS] "
                            "[-n SUBS] [-w WRITES] [-i MS] [-t SEC]\n");
            return 2;
        }
        i++;
        switch (o[1]) {
        case 's': url = v; break;
        case 'a': app = v; break;
        case 'k': key = v; break;
        case 'm': master = v; break;
        case 'r': rest = v; break;
        case 'c': l.clients = atoi(v); break;
        case 'n': l.subs = atoi(v); break;
        case 'w': l.writes = atoi(v); break;
        case 'i': l.interval_ms = atoi(v); break;
        case 't': l.timeout_s = atoi(v); break;
        default: fprintf(stderr, "lqload: unknown option %s\n", o); return 2;
        }
    }
    l.url = arg_or_env(url, "PARSE_SERVER_URL", NULL);
    l.app = arg_or_env(app, "PARSE_APP_ID", NULL);
    l.key = arg_or_env(key, "PARSE_JAVASCRIPT_KEY", NULL);
    l.master = arg_or_env(master, "PARSE_MASTER_KEY", "");
    l.rest = arg_or_env(rest, "PARSE_HTTP_URL", "");
    if (!l.url || !l.app || l.clients < 1 || l.subs < 1 || l.writes < 0 || (l.writes && !parse_rest_url(&l))) {
        fprintf(stderr, "lqload: need -s URL, -a APP, and -r http://HOST:PORT/parse for writes\n");
        return 2;
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)l.clients + 64) {
        rl.rlim_cur = rl.rlim_max;                      /* one socket per client */
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    l.slots = (client_slot *)calloc((size_t)l.clients, sizeof *l.slots);
    pfd = (struct pollfd *)calloc((size_t)l.clients, sizeof *pfd);
    connect = (double *)calloc((size_t)l.clients, sizeof *connect);
    ready = (double *)calloc((size_t)l.clients, sizeof *ready);
    expected = (size_t)l.writes * (size_t)l.clients * (size_t)(l.subs / QUERIES);
    for (i = 0; i < l.writes; i++)          /* subscriptions beyond a multiple of 10 */
        expected += (size_t)l.clients * (size_t)(i % QUERIES < l.subs % QUERIES);
    l.caplat = expected;
    l.lat = (double *)calloc(expected + 1, sizeof *l.lat);
    if (!l.slots || !pfd || !connect || !ready || !l.lat) return 1;
    l.start_us = now_us();
    if (!start_clients(&l)) {
        fprintf(stderr, "lqload: cannot create the clients\n");
        return 1;
    }
    deadline = l.start_us + (int64_t)l.timeout_s * 1000000;
    stop_at = deadline;
    while (now_us() < stop_at) {
        pump(&l, pfd, &last_all);
        if (!writing && l.ready == l.clients) {
            ready_at = now_us();
            heap_ready = l.mem.live;
            if (l.writes && pthread_create(&th, NULL, writer, &l) != 0) break;
            writing = true;
        }
        if (writing && l.nlat >= expected) break;
        if (writing && stop_at == deadline) {
            int done;
            pthread_mutex_lock(&l.lock);
            done = l.writes_done || !l.writes;
            pthread_mutex_unlock(&l.lock);
            if (done) stop_at = now_us() + 10000000;    /* 10 s more for stragglers */
        }
    }
    if (writing && l.writes) pthread_join(th, NULL);
    for (i = 0; i < l.clients; i++) {
        if (l.slots[i].connect_us >= 0) connect[n] = (double)l.slots[i].connect_us;
        if (l.slots[i].ready_us >= 0) ready[n] = (double)l.slots[i].ready_us;
        n += l.slots[i].ready_us >= 0;
    }
    {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf("{\"clients\":%d,\"subscriptions\":%d,\"ready_clients\":%d", l.clients, l.subs, l.ready);
        printf(",\"ready_after_s\":%.2f", ready_at ? (double)(ready_at - l.start_us) / 1e6 : -1.0);
        print_pcts("connect_ms", connect, (size_t)n);
        print_pcts("ready_ms", ready, (size_t)n);
        printf(",\"writes\":%d,\"write_failures\":%d,\"events_expected\":%zu,\"events\":%zu", l.writes,
               l.write_failures, expected, l.nlat);
        print_pcts("latency_ms", l.lat, l.nlat);
        printf(",\"heap_bytes\":%zu,\"heap_per_client\":%.0f,\"rss_kb\":%ld,\"cpu_s\":%.2f,\"errors\":%ld}\n", heap_ready,
               (double)heap_ready / l.clients, ru.ru_maxrss,
               (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
               l.errors);
    }
    for (i = 0; i < l.clients; i++) lq_close(l.slots[i].c);
    deadline = now_us() + 3000000;
    while (now_us() < deadline) {
        int open = 0;
        pump(&l, pfd, &last_all);
        for (i = 0; i < l.clients; i++) open += lq_fd(l.slots[i].c) >= 0;
        if (!open) break;
    }
    for (i = 0; i < l.clients; i++) lq_client_destroy(l.slots[i].c);
    return l.ready == l.clients && l.nlat >= expected && !l.write_failures ? 0 : 1;
}
