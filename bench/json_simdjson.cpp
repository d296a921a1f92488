// json_simdjson: the reference for bench/json_alone.c. The same payload and the same work with
// simdjson (https://simdjson.org), the fastest JSON parser we know of. Built only when
// libsimdjson-dev is installed; not part of livequery.h and never linked into it.
//
//   usage: json_simdjson [N]      (default 2000000)
//
// dom:       parser.parse() (the whole document validated into its tape), then
//            ["object"]["score"] and ["object"]["playerName"]
// ondemand:  iterate(), then the same two fields; On-Demand validates only what it reads
// Prints dom_ns, ondemand_ns (median of 5 rounds, ns per iteration) and the kernel simdjson
// chose at run time (icelake = AVX-512, haswell = AVX2). Under valgrind (no AVX-512) it picks
// haswell; json_dom_once and json_od_once are noinline so callgrind can count them.
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

extern "C" {
#include "benchutil.h"
}

#define JS_STR2(x) #x
#define JS_STR(x) JS_STR2(x)

static uint64_t now_ns() {
    return (uint64_t)std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch()).count();
}

__attribute__((noinline)) static double json_dom_once(simdjson::dom::parser &p, const simdjson::padded_string &d) {
    simdjson::dom::element root;
    double score = 0;
    std::string_view name;
    if (p.parse(d).get(root)) return -1;
    if (root["object"]["score"].get_double().get(score)) return -1;
    if (root["object"]["playerName"].get_string().get(name)) return -1;
    return score + (double)name.size();
}

__attribute__((noinline)) static double json_od_once(simdjson::ondemand::parser &p, const simdjson::padded_string &d) {
    simdjson::ondemand::document doc;
    simdjson::ondemand::object object;
    double score = 0;
    std::string_view name;
    if (p.iterate(d).get(doc)) return -1;
    if (doc["object"].get_object().get(object)) return -1;
    if (object["score"].get_double().get(score)) return -1;
    if (object["playerName"].get_string().get(name)) return -1;
    return score + (double)name.size();
}

template <class F> static double median_ns(long n, double &sum, F f) {
    uint64_t ns[5];
    for (int r = 0; r < 5; r++) {
        uint64_t t0 = now_ns();
        for (long i = 0; i < n; i++) sum += f();
        ns[r] = now_ns() - t0;
    }
    std::sort(ns, ns + 5);
    return (double)ns[2] / (double)(n ? n : 1);
}

int main(int argc, char **argv) {
    char buf[600];
    long n = argc > 1 ? atol(argv[1]) : 2000000;
    int len = snprintf(buf, sizeof buf, bu_update_fmt, 1);
    simdjson::padded_string doc(buf, (size_t)len);
    simdjson::dom::parser dp;
    simdjson::ondemand::parser op;
    double sum = 0;
    if (json_dom_once(dp, doc) != 50 || json_od_once(op, doc) != 50) {
        std::fprintf(stderr, "json_simdjson: wrong result\n");
        return 1;
    }
    double dom = median_ns(n, sum, [&] { return json_dom_once(dp, doc); });
    double od = median_ns(n, sum, [&] { return json_od_once(op, doc); });
    std::printf("dom_ns=%.1f ondemand_ns=%.1f kernel=%s version=%s check=%.0f\n", dom, od,
                simdjson::get_active_implementation()->name().c_str(), JS_STR(SIMDJSON_VERSION), sum);
    return 0;
}
