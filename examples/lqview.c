/* lqview: a live, ordered, limited list of a Parse query, one JSON object per change on stdout.
   Its command line and output lines are a contract: see README.md. */
#define LIVEQUERY_IMPLEMENTATION
#include "../livequery.h"
#include "cli.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: lqview [options] CLASS [WHERE_JSON]\n"
    "  -s, --server URL          ws, wss, http or https URL; default from env PARSE_SERVER_URL;\n"
    "                            more than once: endpoints tried in turn (exit 2 once each has failed)\n"
    "      --rest-url URL        the REST API; default env PARSE_REST_URL, else from the -s URL\n"
    "  -a, --app-id ID           env PARSE_APP_ID\n"
    "  -k, --javascript-key KEY  env PARSE_JAVASCRIPT_KEY\n"
    "      --client-key KEY\n"
    "  -m, --master-key KEY      env PARSE_MASTER_KEY (the subscription and the REST calls)\n"
    "  -t, --session-token TOK   session token of the subscription and the REST calls\n"
    "      --installation-id ID\n"
    "      --order KEYS          e.g. -score,playerName (default createdAt, then objectId)\n"
    "      --limit N             at most N rows (default: every matching object)\n"
    "      --keys a,b            only these fields (the order's are always fetched)\n"
    "      --include a,b         pointer fields replaced by their objects\n"
    "      --for SEC             end after SEC seconds (SIGINT and SIGTERM end it too)\n"
    "      --ca FILE             CA certificate for wss and https\n"
    "      --retry-connect       a first connection that fails is retried with the usual backoff\n"
    "      --ping-interval MS    send a ping when the link has been idle this long\n"
    "      --dead-link MS        reconnect when nothing arrived for this long (default 30000)\n"
    "      --connect-timeout MS  socket, handshake and connected within this (default 10000)\n"
    "      --proxy URL           HTTP proxy http://[user:password@]host[:port] (\"\": none) for both\n"
    "                            links; default env https_proxy (wss) or http_proxy (ws) for the -s URL,\n"
    "                            unless no_proxy names its host\n";

typedef struct run {
    bool opened, retry_connect, ready_once;
    int endpoints, failures;     /* -s given; first connections that failed */
    int exit_code;              /* -1 while running */
} run;

static volatile sig_atomic_t stop_signal;
static char create_error[320];

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

static void put_raw(lq_json v) {
    size_t n = 0;
    const char *raw = lq_json_raw(v, &n);
    if (raw) fwrite(raw, 1, n, stdout);
    else fputs("null", stdout);
}

static void put_error(int code, const char *message, bool fatal) {
    printf("{\"event\":\"error\",\"code\":%d,\"message\":", code);
    put_json_string(message ? message : "");
    printf(",\"fatal\":%s}\n", fatal ? "true" : "false");
}

static void on_view(lq_view *v, const lq_view_event *ev, void *user) {
    run *r = (run *)user;
    switch (ev->type) {
    case LQ_VIEW_INSERT: case LQ_VIEW_CHANGE:
        printf("{\"event\":\"%s\",\"index\":%d,\"object\":", ev->type == LQ_VIEW_INSERT ? "insert" : "change", ev->index);
        put_raw(ev->object);
        printf("}\n");
        break;
    case LQ_VIEW_MOVE:
        printf("{\"event\":\"move\",\"from\":%d,\"to\":%d,\"object\":", ev->from, ev->index);
        put_raw(ev->object);
        printf("}\n");
        break;
    case LQ_VIEW_REMOVE:
        printf("{\"event\":\"remove\",\"index\":%d,\"objectId\":", ev->index);
        put_json_string(ev->object_id);
        printf("}\n");
        break;
    case LQ_VIEW_READY:
        printf("{\"event\":\"ready\",\"count\":%d%s}\n", ev->count, ev->resync ? ",\"resync\":true" : "");
        r->ready_once = true;
        break;
    case LQ_VIEW_STALE:
        printf("{\"event\":\"stale\"}\n");
        break;
    case LQ_VIEW_ERROR: {
        /* the REST API cannot be reached for the first load: as a LiveQuery connect failure */
        bool cannot_connect = !r->ready_once && (ev->result == LQ_ERR_CONNECT || ev->result == LQ_ERR_PROXY) &&
            (!r->retry_connect || cli_unfixable(ev->result, lq_error_detail(lq_view_client(v))));
        put_error(ev->error_code, ev->error_message, ev->fatal || cannot_connect);
        if (cannot_connect && r->exit_code < 0) {
            fprintf(stderr, "lqview: cannot connect to the REST API: %s\n", ev->error_message);
            r->exit_code = 2;
        } else if (ev->fatal && r->exit_code < 0) {
            fprintf(stderr, "lqview: server error %d: %s\n", ev->error_code, ev->error_message);
            r->exit_code = 3;
        }
        break;
    }
    default:
        break;
    }
    fflush(stdout);
}

/* The client's own events: connection failures before the first open end the run (exit 2). */
static void on_event(lq_client *c, const lq_event *ev, void *user) {
    run *r = (run *)user;
    if (ev->type == LQ_EVENT_OPEN) r->opened = true;
    if (ev->type != LQ_EVENT_ERROR) return;
    {
        bool connect_failure = !r->opened && cli_connect_failure(ev->result);
        if (connect_failure && ++r->failures < r->endpoints) connect_failure = false;   /* the next endpoint */
        if (r->retry_connect && !cli_unfixable(ev->result, lq_error_detail(c))) connect_failure = false;
        put_error(ev->error_code, ev->error_message ? ev->error_message : lq_result_str(ev->result), ev->fatal || connect_failure);
        if (connect_failure && r->exit_code < 0) {
            fprintf(stderr, "lqview: cannot connect: %s\n", ev->error_message);
            r->exit_code = 2;
        } else if (ev->fatal && r->exit_code < 0) {
            fprintf(stderr, "lqview: server error %d: %s\n", ev->error_code, ev->error_message);
            r->exit_code = 3;
        }
        fflush(stdout);
    }
}

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
    fprintf(stderr, "lqview: %s\n%s", msg, usage);
    return 1;
}

static int fail_option(const char *what, const char *option) {
    fprintf(stderr, "lqview: %s %s\n%s", what, option, usage);
    return 1;
}

static bool parse_ms(const char *v, uint32_t *out) {
    char *end;
    long n = strtol(v, &end, 10);
    if (*v < '0' || *v > '9' || *end || n <= 0 || n > 0x7FFFFFFFL) return false;
    *out = (uint32_t)n;
    return true;
}

static const char *where_problem(const char *where) {
    int n = lq_json_parse(where, strlen(where), NULL, 0, 0, NULL);
    if (n < 0) return n == LQ_ERR_UTF8 ? "WHERE is not valid UTF-8" : "WHERE is not valid JSON";
    while (*where == ' ' || *where == '\t' || *where == '\n' || *where == '\r') where++;
    return *where == '{' ? NULL : "WHERE must be a JSON object";
}

static void put_list(const lq_view *v) {
    int i, n = lq_view_count(v);
    printf("{\"event\":\"list\",\"objects\":[");
    for (i = 0; i < n; i++) {
        if (i) putchar(',');
        put_raw(lq_view_row(v, i));
    }
    printf("]}\n");
    fflush(stdout);
}

int main(int argc, char **argv) {
    lq_desc desc;
    lq_view_desc vd;
    lq_client *c = NULL;
    lq_view *view = NULL;
    run r;
    const char *keys[64], *servers[16], *include[64], *cls = NULL, *where = NULL, *proxy = NULL;
    char proxy_buf[1024];
    double for_sec = 0;
    uint64_t start;
    lq_result res;
    int i, nservers = 0;

    memset(&desc, 0, sizeof desc);
    memset(&vd, 0, sizeof vd);
    memset(&r, 0, sizeof r);
    r.exit_code = -1;
    desc.server_url = getenv("PARSE_SERVER_URL");
    desc.rest_url = getenv("PARSE_REST_URL");
    desc.application_id = getenv("PARSE_APP_ID");
    desc.javascript_key = getenv("PARSE_JAVASCRIPT_KEY");
    desc.master_key = getenv("PARSE_MASTER_KEY");
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define LQV_OPT(s, l) is_opt(a, s, l)
#define LQV_VAL() do { if (!v) return fail_option("a value is missing after", a); i++; } while (0)
        if (LQV_OPT("-h", "--help")) { fputs(usage, stdout); return 0; }
        else if (LQV_OPT("-s", "--server")) {
            LQV_VAL();
            if (nservers == 16) return fail_usage("at most 16 servers (-s)");
            servers[nservers++] = v;
        }
        else if (LQV_OPT(NULL, "--rest-url")) { LQV_VAL(); desc.rest_url = v; }
        else if (LQV_OPT("-a", "--app-id")) { LQV_VAL(); desc.application_id = v; }
        else if (LQV_OPT("-k", "--javascript-key")) { LQV_VAL(); desc.javascript_key = v; }
        else if (LQV_OPT(NULL, "--client-key")) { LQV_VAL(); desc.client_key = v; }
        else if (LQV_OPT("-m", "--master-key")) { LQV_VAL(); desc.master_key = v; }
        else if (LQV_OPT("-t", "--session-token")) { LQV_VAL(); vd.session_token = v; }
        else if (LQV_OPT(NULL, "--installation-id")) { LQV_VAL(); desc.installation_id = v; }
        else if (LQV_OPT(NULL, "--order")) { LQV_VAL(); vd.order = v; }
        else if (LQV_OPT(NULL, "--limit")) {
            char *end;
            long n;
            LQV_VAL();
            n = strtol(v, &end, 10);
            if (*v < '0' || *v > '9' || *end || n <= 0 || n > 100000000L) return fail_usage("--limit needs a positive number");
            vd.limit = (int)n;
        } else if (LQV_OPT(NULL, "--keys")) { LQV_VAL(); vd.num_keys = split_list(argv[i], keys, 64); vd.keys = keys; }
        else if (LQV_OPT(NULL, "--include")) { LQV_VAL(); vd.num_include = split_list(argv[i], include, 64); vd.include = include; }
        else if (LQV_OPT(NULL, "--for")) {
            char *end;
            LQV_VAL();
            for_sec = strtod(v, &end);
            if (*end || !(for_sec > 0)) return fail_usage("--for needs a positive number of seconds");
        } else if (LQV_OPT(NULL, "--ca")) { LQV_VAL(); desc.tls_ca_file = v; }
        else if (LQV_OPT(NULL, "--retry-connect")) r.retry_connect = true;
        else if (LQV_OPT(NULL, "--ping-interval")) { LQV_VAL(); if (!parse_ms(v, &desc.ping_interval_ms)) return fail_option("a positive number of milliseconds is needed by", a); }
        else if (LQV_OPT(NULL, "--dead-link")) { LQV_VAL(); if (!parse_ms(v, &desc.dead_link_ms)) return fail_option("a positive number of milliseconds is needed by", a); }
        else if (LQV_OPT(NULL, "--connect-timeout")) { LQV_VAL(); if (!parse_ms(v, &desc.connect_timeout_ms)) return fail_option("a positive number of milliseconds is needed by", a); }
        else if (LQV_OPT(NULL, "--proxy")) { LQV_VAL(); proxy = v; }
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
    r.endpoints = nservers ? nservers : 1;
    if (!desc.server_url) return fail_usage("no server: give -s URL or set PARSE_SERVER_URL");
    if (!desc.application_id) return fail_usage("no application id: give -a ID or set PARSE_APP_ID");
    desc.proxy_url = cli_proxy_for(desc.server_url, proxy, proxy_buf, sizeof proxy_buf);
    desc.on_event = on_event;
    desc.user_data = &r;
    desc.log = on_log;
    res = lq_client_create(&desc, &c);
    desc.log = NULL;
    if (res != LQ_OK) {
        fprintf(stderr, "lqview: %s\n", create_error[0] ? create_error : lq_result_str(res));
        return res == LQ_ERR_TLS_UNAVAILABLE ? 2 : 1;
    }
    vd.class_name = cls;
    vd.where = where;
    vd.on_event = on_view;
    vd.user_data = &r;
    res = lq_view_create(c, &vd, &view);
    if (res != LQ_OK) {
        fprintf(stderr, "lqview: bad query: %s\n", lq_result_str(res));
        lq_client_destroy(c);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    start = lq_now_ms();
    while (r.exit_code < 0) {
        uint64_t now = lq_now_ms();
        int wait = 250;
        if (stop_signal) r.exit_code = 0;
        else if (for_sec > 0 && (double)(now - start) >= for_sec * 1000.0) r.exit_code = 0;
        else if (lq_client_state(c) == LQ_STATE_DISCONNECTED) r.exit_code = 0;
        if (r.exit_code >= 0) break;
        if (for_sec > 0 && (double)(now - start) + wait > for_sec * 1000.0) wait = (int)(for_sec * 1000.0 - (double)(now - start)) + 1;
        lq_wait(c, wait);
    }
    put_list(view);
    lq_view_destroy(view);
    lq_close(c);
    for (i = 0; i < 100 && lq_step(c) != LQ_ERR_CLOSED; i++) lq_wait(c, 20);
    lq_client_destroy(c);
    return r.exit_code;
}
