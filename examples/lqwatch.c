/* lqwatch: subscribe to a Parse LiveQuery and print one JSON object per event on stdout.
   Its command line and output lines are a contract: see README.md. */
#define LIVEQUERY_IMPLEMENTATION
#include "../livequery.h"
#include "cli.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: lqwatch [options] CLASS [WHERE_JSON]\n"
    "  -s, --server URL          ws, wss, http or https URL; default from env PARSE_SERVER_URL;\n"
    "                            more than once: endpoints tried in turn (exit 2 once each has failed)\n"
    "  -a, --app-id ID           env PARSE_APP_ID\n"
    "  -k, --javascript-key KEY  env PARSE_JAVASCRIPT_KEY\n"
    "      --client-key KEY\n"
    "  -m, --master-key KEY      env PARSE_MASTER_KEY\n"
    "  -t, --session-token TOK   session token of the subscription\n"
    "      --installation-id ID\n"
    "      --keys a,b            --watch a,b\n"
    "  -n, --count N             exit 0 after N object events (create/enter/update/leave/delete)\n"
    "      --timeout SEC         exit 4 when N events have not arrived within SEC seconds\n"
    "  -q, --quiet               print no events, only a last line {\"events\":N,\"seconds\":S}\n"
    "      --ca FILE             CA certificate for wss\n"
    "      --retry-connect       a first connection that fails is retried with the usual backoff\n"
    "                            (a rejected certificate or an HTTP 4xx to the upgrade still exits 2,\n"
    "                            and so does a proxy's 401, 403 or 407)\n"
    "      --ping-interval MS    send a ping when the link has been idle this long\n"
    "      --dead-link MS        reconnect when nothing arrived for this long (default 30000)\n"
    "      --connect-timeout MS  socket, handshake and connected within this (default 10000)\n"
    "      --proxy URL           HTTP proxy http://[user:password@]host[:port] (\"\": none); default\n"
    "                            env https_proxy (wss) or http_proxy (ws), unless no_proxy names the host\n";

typedef struct watch {
    long count, events;
    bool quiet, opened, retry_connect;
    int endpoints, failures;     /* -s given; first connections that failed */
    int exit_code;              /* -1 while running */
} watch;

static volatile sig_atomic_t stop_signal;
static char create_error[320];                  /* why lq_client_create failed, from desc.log */

static void on_log(lq_log_level level, const char *message, void *user) {
    (void)user;
    if (level == LQ_LOG_ERROR) snprintf(create_error, sizeof create_error, "%s", message);
}
static void on_signal(int sig) { stop_signal = sig; }

static void put_json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') printf("\\%c", ch);
        else if (ch < 0x20) printf("\\u%04x", ch);
        else putchar(ch);
    }
    putchar('"');
}

static void put_raw(const char *name, lq_json v) {
    size_t n;
    const char *raw = lq_json_raw(v, &n);
    printf(",\"%s\":", name);
    fwrite(raw, 1, n, stdout);
}

static void on_event(lq_client *c, const lq_event *ev, void *user) {
    watch *w = (watch *)user;
    bool print = !w->quiet;
    switch (ev->type) {
    case LQ_EVENT_OPEN:
        w->opened = true;
        if (print) { printf("{\"event\":\"open\",\"clientId\":"); put_json_string(ev->client_id); printf("}\n"); }
        break;
    case LQ_EVENT_SUBSCRIBED:
        if (print) printf("{\"event\":\"subscribed\",\"requestId\":%d,\"resubscribe\":%s}\n", (int)ev->request_id, ev->resubscribe ? "true" : "false");
        break;
    case LQ_EVENT_CREATE: case LQ_EVENT_ENTER: case LQ_EVENT_UPDATE: case LQ_EVENT_LEAVE: case LQ_EVENT_DELETE:
        w->events++;
        if (print) {
            printf("{\"event\":\"%s\",\"requestId\":%d", lq_event_str(ev->type), (int)ev->request_id);
            put_raw("object", ev->object);
            if (lq_json_exists(ev->original)) put_raw("original", ev->original);
            printf("}\n");
        }
        if (w->count > 0 && w->events >= w->count && w->exit_code < 0) w->exit_code = 0;
        break;
    case LQ_EVENT_ERROR: {
        bool connect_failure = !w->opened && cli_connect_failure(ev->result);
        if (connect_failure && ++w->failures < w->endpoints) connect_failure = false;   /* the next endpoint */
        if (w->retry_connect && !cli_unfixable(ev->result, lq_error_detail(c))) connect_failure = false;
        if (print) {
            printf("{\"event\":\"error\",\"code\":%d,\"message\":", ev->error_code);
            put_json_string(ev->error_message ? ev->error_message : lq_result_str(ev->result));
            printf(",\"fatal\":%s}\n", ev->fatal || connect_failure ? "true" : "false");
        }
        if (connect_failure && w->exit_code < 0) {
            fprintf(stderr, "lqwatch: cannot connect: %s\n", ev->error_message);
            w->exit_code = 2;
        } else if (ev->fatal && w->exit_code < 0) {
            fprintf(stderr, "lqwatch: server error %d: %s\n", ev->error_code, ev->error_message);
            w->exit_code = 3;
        }
        if (w->exit_code >= 0) lq_close(c);
        break;
    }
    case LQ_EVENT_RECONNECTING:
        if (print) printf("{\"event\":\"reconnecting\",\"attempt\":%d,\"delayMs\":%u}\n", ev->attempt, (unsigned)ev->delay_ms);
        break;
    case LQ_EVENT_CLOSE:
        if (print) printf("{\"event\":\"close\",\"code\":%d}\n", ev->close_code);
        break;
    default:
        break;
    }
    if (print) fflush(stdout);
}

/* Splits "a,b,c" in place into at most max items. */
static int split_list(char *s, const char **items, int max) {
    int n = 0;
    char *p = s;
    while (p && *p && n < max) {
        char *comma = strchr(p, ',');
        if (comma) *comma = 0;
        if (*p) items[n++] = p;
        p = comma ? comma + 1 : NULL;
    }
    return n;
}

static bool is_opt(const char *a, const char *short_name, const char *long_name) {
    return (short_name && strcmp(a, short_name) == 0) || strcmp(a, long_name) == 0;
}

static int fail_usage(const char *msg) {
    fprintf(stderr, "lqwatch: %s\n%s", msg, usage);
    return 1;
}

static int fail_option(const char *what, const char *option) {
    fprintf(stderr, "lqwatch: %s %s\n%s", what, option, usage);
    return 1;
}

/* A positive number of milliseconds (at most 2^31 - 1). */
static bool parse_ms(const char *v, uint32_t *out) {
    char *end;
    long n = strtol(v, &end, 10);
    if (*v < '0' || *v > '9' || *end || n <= 0 || n > 0x7FFFFFFFL) return false;
    *out = (uint32_t)n;
    return true;
}

/* NULL when where is one JSON object, else why not. */
static const char *where_problem(const char *where) {
    int n = lq_json_parse(where, strlen(where), NULL, 0, 0, NULL);
    if (n < 0) return n == LQ_ERR_UTF8 ? "WHERE is not valid UTF-8" : "WHERE is not valid JSON";
    while (*where == ' ' || *where == '\t' || *where == '\n' || *where == '\r') where++;
    return *where == '{' ? NULL : "WHERE must be a JSON object";
}

int main(int argc, char **argv) {
    lq_desc desc;
    lq_query q;
    lq_client *c = NULL;
    watch w;
    const char *keys[64], *servers[16], *watchf[64], *cls = NULL, *where = NULL, *session = NULL, *proxy = NULL;
    char proxy_buf[1024];
    double timeout = 0;
    uint64_t start;
    lq_result r;
    int i, nservers = 0;

    memset(&desc, 0, sizeof desc);
    memset(&q, 0, sizeof q);
    memset(&w, 0, sizeof w);
    w.exit_code = -1;
    desc.server_url = getenv("PARSE_SERVER_URL");
    desc.application_id = getenv("PARSE_APP_ID");
    desc.javascript_key = getenv("PARSE_JAVASCRIPT_KEY");
    desc.master_key = getenv("PARSE_MASTER_KEY");
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define LQW_OPT(s, l) is_opt(a, s, l)
#define LQW_VAL() do { if (!v) return fail_option("a value is missing after", a); i++; } while (0)
        if (LQW_OPT("-h", "--help")) { fputs(usage, stdout); return 0; }
        else if (LQW_OPT("-s", "--server")) {
            LQW_VAL();
            if (nservers == 16) return fail_usage("at most 16 servers (-s)");
            servers[nservers++] = v;
        }
        else if (LQW_OPT("-a", "--app-id")) { LQW_VAL(); desc.application_id = v; }
        else if (LQW_OPT("-k", "--javascript-key")) { LQW_VAL(); desc.javascript_key = v; }
        else if (LQW_OPT(NULL, "--client-key")) { LQW_VAL(); desc.client_key = v; }
        else if (LQW_OPT("-m", "--master-key")) { LQW_VAL(); desc.master_key = v; }
        else if (LQW_OPT("-t", "--session-token")) { LQW_VAL(); session = v; }
        else if (LQW_OPT(NULL, "--installation-id")) { LQW_VAL(); desc.installation_id = v; }
        else if (LQW_OPT(NULL, "--keys")) { LQW_VAL(); q.num_keys = split_list(argv[i], keys, 64); q.keys = keys; }
        else if (LQW_OPT(NULL, "--watch")) { LQW_VAL(); q.num_watch = split_list(argv[i], watchf, 64); q.watch = watchf; }
        else if (LQW_OPT("-n", "--count")) {
            char *end;
            LQW_VAL();
            w.count = strtol(v, &end, 10);
            if (*end || w.count <= 0) return fail_usage("--count needs a positive number");
        } else if (LQW_OPT(NULL, "--timeout")) {
            char *end;
            LQW_VAL();
            timeout = strtod(v, &end);
            if (*end || timeout <= 0) return fail_usage("--timeout needs a positive number of seconds");
        } else if (LQW_OPT("-q", "--quiet")) w.quiet = true;
        else if (LQW_OPT(NULL, "--ca")) { LQW_VAL(); desc.tls_ca_file = v; }
        else if (LQW_OPT(NULL, "--retry-connect")) w.retry_connect = true;
        else if (LQW_OPT(NULL, "--ping-interval")) { LQW_VAL(); if (!parse_ms(v, &desc.ping_interval_ms)) return fail_option("a positive number of milliseconds is needed by", a); }
        else if (LQW_OPT(NULL, "--dead-link")) { LQW_VAL(); if (!parse_ms(v, &desc.dead_link_ms)) return fail_option("a positive number of milliseconds is needed by", a); }
        else if (LQW_OPT(NULL, "--connect-timeout")) { LQW_VAL(); if (!parse_ms(v, &desc.connect_timeout_ms)) return fail_option("a positive number of milliseconds is needed by", a); }
        else if (LQW_OPT(NULL, "--proxy")) { LQW_VAL(); proxy = v; }
        else if (a[0] == '-' && a[1]) return fail_option("unknown option", a);
        else if (!cls) cls = a;
        else if (!where) where = a;
        else return fail_usage("too many arguments");
    }
    if (!cls) return fail_usage("no CLASS given");
    if (where && where_problem(where)) return fail_usage(where_problem(where));
    if (nservers) {
        desc.server_url = servers[0];
        desc.server_urls = servers + 1;
        desc.num_server_urls = nservers - 1;
    }
    w.endpoints = nservers ? nservers : 1;
    if (!desc.server_url) return fail_usage("no server: give -s URL or set PARSE_SERVER_URL");
    if (!desc.application_id) return fail_usage("no application id: give -a ID or set PARSE_APP_ID");
    desc.proxy_url = cli_proxy_for(desc.server_url, proxy, proxy_buf, sizeof proxy_buf);
    desc.on_event = on_event;
    desc.user_data = &w;
    desc.log = on_log;
    r = lq_client_create(&desc, &c);
    desc.log = NULL;
    if (r != LQ_OK) {
        fprintf(stderr, "lqwatch: %s\n", create_error[0] ? create_error : lq_result_str(r));
        return r == LQ_ERR_TLS_UNAVAILABLE ? 2 : 1;
    }
    q.class_name = cls;
    q.where = where;
    q.session_token = session;
    r = lq_subscribe(c, &q, NULL);
    if (r != LQ_OK) {
        fprintf(stderr, "lqwatch: bad query: %s\n", lq_result_str(r));
        lq_client_destroy(c);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    start = lq_now_ms();
    while (w.exit_code < 0) {
        uint64_t now = lq_now_ms();
        int wait = 250;
        if (stop_signal) w.exit_code = 0;
        else if (timeout > 0 && (double)(now - start) >= timeout * 1000.0) w.exit_code = w.count > 0 ? 4 : 0;
        else if (lq_client_state(c) == LQ_STATE_DISCONNECTED) w.exit_code = 0;
        if (w.exit_code >= 0) break;
        if (timeout > 0 && (double)(now - start) + wait > timeout * 1000.0) wait = (int)(timeout * 1000.0 - (double)(now - start)) + 1;
        lq_wait(c, wait);
    }
    if (w.exit_code == 4) fprintf(stderr, "lqwatch: timeout: %ld of %ld events in %g s\n", w.events, w.count, timeout);
    lq_close(c);
    for (i = 0; i < 100 && lq_step(c) != LQ_ERR_CLOSED; i++) lq_wait(c, 20);
    if (w.quiet) printf("{\"events\":%ld,\"seconds\":%.3f}\n", w.events, (double)(lq_now_ms() - start) / 1000.0);
    lq_client_destroy(c);
    return w.exit_code;
}
