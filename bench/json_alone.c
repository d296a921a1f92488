/* json_alone: the update event's JSON alone, in a loop, with no socket and no frame: what
   livequery.h's reader costs next to the budget of the two targets it misses (bench/run.sh,
   section 6; bench/json_simdjson.cpp measures simdjson the same way).

   usage: json_alone [N]      (default 2000000)

   Each iteration does what ingest_lq's callback and lq__on_message need from the JSON: parse the
   298-byte payload into tokens (UTF-8 checked on the way), find "object", read "score" as a
   number and "playerName" as a string. Prints lq_ns=<median of 5 rounds, ns per iteration>.
   json_lq_once is noinline, so callgrind gives its instructions per iteration. */
#define _POSIX_C_SOURCE 200809L
#define LQ_NO_SOCKETS
#define LIVEQUERY_IMPLEMENTATION
#include "../livequery.h"
#include "benchutil.h"

static lq_json_token toks[256];

BU_NOINLINE static double json_lq_once(const char *doc, size_t len) {
    lq_json root, object;
    char name[32];
    double v;
    if (lq_json_parse(doc, len, toks, sizeof toks / sizeof toks[0], 0, &root) < 0) return -1;
    object = lq_json_get(root, "object");
    v = lq_json_number(lq_json_get(object, "score"), 0);
    return v + (double)lq_json_string(lq_json_get(object, "playerName"), name, sizeof name);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    char doc[600];
    long n = argc > 1 ? atol(argv[1]) : 2000000, i;
    int len = snprintf(doc, sizeof doc, bu_update_fmt, 1), r;
    uint64_t ns[5];
    double sum = 0;
    if (json_lq_once(doc, (size_t)len) != 43 + 7) {
        fprintf(stderr, "json_alone: wrong result\n");
        return 1;
    }
    for (r = 0; r < 5; r++) {
        uint64_t t0 = bu_now_ns();
        for (i = 0; i < n; i++) sum += json_lq_once(doc, (size_t)len);
        ns[r] = bu_now_ns() - t0;
    }
    qsort(ns, 5, sizeof ns[0], cmp_u64);
    printf("lq_ns=%.1f bytes=%d check=%.0f\n", (double)ns[2] / (double)(n ? n : 1), len, sum);
    return 0;
}
