/* Tests of the UTF-8 checker, the JSON string writer and the JSON reader in livequery.h.
   Build: cc -std=c99 -I. tests/test_json.c && ./a.out   (from the repository root) */
#define LIVEQUERY_IMPLEMENTATION
#include "../livequery.h"

#include <locale.h>
#include "testutil.h"

static tu_harness heap;             /* the counting allocator of the writer tests */

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint32_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 32);
}

static lq_json_token toks[4096];

/* Counting mode (tokens NULL) must give what the parse gave: the count, or the same error. Every
   parse in these tests goes through here, so each corpus checks both modes. The private entry
   without the UTF-8 check checks it all the same when counting. Returns parsed. */
static int counted(const char *s, size_t n, int max_depth, int parsed) {
    lq_json root;
    int c = lq_json_parse(s, n, NULL, 1, max_depth, &root);
    int unchecked = lq__json_parse(s, n, NULL, 0, max_depth, false, NULL);
    bool ok = c == parsed && unchecked == parsed && root.src == s && root.tok == NULL;
    if (!ok)
        printf("  counted %d (unchecked %d), parsed %d: %.*s\n", c, unchecked, parsed, n < 80 ? (int)n : 80, s);
    CHECK(ok);
    return parsed;
}

static int parse(const char *s, lq_json *root) {
    size_t n = strlen(s);
    return counted(s, n, 0, lq_json_parse(s, n, toks, sizeof toks / sizeof toks[0], 0, root));
}

static lq_json doc(const char *s) {
    lq_json root;
    int n = parse(s, &root);
    if (n < 1) printf("cannot parse (%d): %s\n", n, s);
    return root;
}

static bool str_is(lq_json v, const char *want) {
    char buf[256];
    size_t n = lq_json_string(v, buf, sizeof buf);
    return n == strlen(want) && strcmp(buf, want) == 0;
}

static bool same_double(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

/* ---- UTF-8 ------------------------------------------------------------------------------------ */

/* A plain decoder, the reference for the DFA. */
static bool ref_utf8(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        uint32_t cp, min;
        size_t len, k;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xC0 && c < 0xE0) { len = 2; cp = c & 0x1Fu; min = 0x80; }
        else if (c >= 0xE0 && c < 0xF0) { len = 3; cp = c & 0x0Fu; min = 0x800; }
        else if (c >= 0xF0 && c < 0xF8) { len = 4; cp = c & 0x07u; min = 0x10000; }
        else return false;
        if (n - i < len) return false;
        for (k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (s[i + k] & 0x3Fu);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += len;
    }
    return true;
}

static size_t put_utf8(unsigned char *o, uint32_t cp) {
    if (cp < 0x80) { o[0] = (unsigned char)cp; return 1; }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

static uint32_t random_cp(void) {
    switch (rnd() % 5) {
    case 0: return rnd() % 0x80;
    case 1: return 0x80 + rnd() % (0x800 - 0x80);
    case 2: { uint32_t c = 0x800 + rnd() % (0x10000 - 0x800); return (c >= 0xD800 && c <= 0xDFFF) ? 0xE000 : c; }
    case 3: return 0x10000 + rnd() % (0x110000 - 0x10000);
    default: return 0x20 + rnd() % 0x5F;
    }
}

/* Validity fed in every two-way split and byte by byte equals the one-shot answer. */
static void check_splits(const unsigned char *s, size_t n) {
    bool whole = lq__utf8_valid(s, n);
    size_t cut, i;
    uint32_t st;
    int bad = 0;
    for (cut = 0; cut <= n; cut++) {
        st = lq__utf8_step(0, s, cut);
        st = lq__utf8_step(st, s + cut, n - cut);
        if ((st == 0) != whole) bad++;
    }
    for (st = 0, i = 0; i < n; i++) st = lq__utf8_step(st, s + i, 1);
    if ((st == 0) != whole) bad++;
    CHECK(bad == 0);
    CHECK(whole == ref_utf8(s, n));
}

static void test_utf8(void) {
    static const struct { const char *s; bool ok; } cases[] = {
        { "", true }, { "plain ascii", true }, { "\xC2\x80", true }, { "\xDF\xBF", true },
        { "\xE0\xA0\x80", true }, { "\xED\x9F\xBF", true }, { "\xEE\x80\x80", true },
        { "\xEF\xBF\xBF", true }, { "\xF0\x90\x80\x80", true }, { "\xF4\x8F\xBF\xBF", true },
        { "caf\xC3\xA9 \xF0\x9F\x98\x80!", true },
        /* overlong */
        { "\xC0\x80", false }, { "\xC1\xBF", false }, { "\xE0\x80\x80", false }, { "\xE0\x9F\xBF", false },
        { "\xF0\x80\x80\x80", false }, { "\xF0\x8F\xBF\xBF", false },
        /* surrogates */
        { "\xED\xA0\x80", false }, { "\xED\xBF\xBF", false }, { "\xED\xB0\x80", false },
        /* above U+10FFFF */
        { "\xF4\x90\x80\x80", false }, { "\xF5\x80\x80\x80", false }, { "\xF7\xBF\xBF\xBF", false },
        { "\xF8\x88\x80\x80\x80", false }, { "\xFF", false }, { "\xFE", false },
        /* truncated */
        { "\xC3", false }, { "\xE2\x82", false }, { "\xF0\x9F\x98", false }, { "a\xC3", false },
        { "\xE2\x82z", false }, { "\xF0\x9F\x98z", false },
        /* stray continuation */
        { "\x80", false }, { "a\xBFz", false }, { "\xC3\xA9\xA9", false }
    };
    size_t i, j, k;
    unsigned char buf[80];
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const unsigned char *s = (const unsigned char *)cases[i].s;
        CHECK(lq__utf8_valid(s, strlen(cases[i].s)) == cases[i].ok);
        check_splits(s, strlen(cases[i].s));
    }
    /* A bad byte anywhere in a long ASCII run (every alignment of the 8-byte fast path). */
    for (i = 0; i < 70; i++) {
        int bad = 0;
        memset(buf, 'a', sizeof buf);
        buf[i] = 0x80;
        if (lq__utf8_valid(buf, sizeof buf)) bad++;
        buf[i] = 0xC3;
        if (lq__utf8_valid(buf, sizeof buf)) bad++;
        if (i + 1 < sizeof buf) {
            buf[i + 1] = 0xA9;
            if (!lq__utf8_valid(buf, sizeof buf)) bad++;
        }
        CHECK(bad == 0);
    }
    /* Every 1- and 2-byte string, and every 3-byte string that starts with a lead byte. */
    {
        int bad = 0;
        for (i = 0; i < 65536; i++) {
            buf[0] = (unsigned char)(i >> 8);
            buf[1] = (unsigned char)i;
            if (lq__utf8_valid(buf, 2) != ref_utf8(buf, 2)) bad++;
            if (i < 256 && lq__utf8_valid(buf + 1, 1) != ref_utf8(buf + 1, 1)) bad++;
        }
        for (i = 0xC0; i < 0x100; i++)
            for (j = 0; j < 65536; j++) {
                buf[0] = (unsigned char)i;
                buf[1] = (unsigned char)(j >> 8);
                buf[2] = (unsigned char)j;
                if (lq__utf8_valid(buf, 3) != ref_utf8(buf, 3)) bad++;
            }
        CHECK(bad == 0);
    }
    /* 4-byte strings: every lead byte with continuation bytes from each edge. */
    {
        static const unsigned char edge[] = { 0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF };
        int bad = 0;
        size_t a, b2, c2;
        for (i = 0xE0; i < 0x100; i++)
            for (a = 0; a < sizeof edge; a++)
                for (b2 = 0; b2 < sizeof edge; b2++)
                    for (c2 = 0; c2 < sizeof edge; c2++) {
                        buf[0] = (unsigned char)i;
                        buf[1] = edge[a];
                        buf[2] = edge[b2];
                        buf[3] = edge[c2];
                        if (lq__utf8_valid(buf, 4) != ref_utf8(buf, 4)) bad++;
                    }
        CHECK(bad == 0);
    }
    /* Random valid text, and random corruptions of it, split everywhere. */
    for (k = 0; k < 300; k++) {
        size_t n = 0;
        while (n < 60) n += put_utf8(buf + n, random_cp());
        check_splits(buf, n);
        buf[rnd() % n] = (unsigned char)rnd();
        check_splits(buf, n);
    }
    /* every code point */
    {
        int bad = 0;
        uint32_t cp;
        for (cp = 0; cp < 0x110000; cp++) {
            size_t n = put_utf8(buf, cp);
            bool want = cp < 0xD800 || cp > 0xDFFF;
            if (lq__utf8_valid(buf, n) != want) bad++;
        }
        CHECK(bad == 0);
    }
    CHECK(lq__utf8_step(LQ__UTF8_REJECT, (const unsigned char *)"abc", 3) == LQ__UTF8_REJECT);
    CHECK(lq__utf8_step(0, (const unsigned char *)"\xE2", 1) > LQ__UTF8_REJECT);
}

/* ---- writer ------------------------------------------------------------------------------------- */

static lq_allocator test_alloc = { tu_alloc, tu_free, &heap };

static lq__buf new_buf(size_t limit) {
    lq__buf b;
    memset(&b, 0, sizeof b);
    b.limit = limit;
    b.a = &test_alloc;
    return b;
}

static bool buf_is(const lq__buf *b, const char *want) {
    return b->len == strlen(want) && memcmp(b->data, want, b->len) == 0;
}

/* The writer's error is sticky; these put one string on a clean error (keeping the text) and
   return what it left there. */
static lq_result put_str(lq__buf *b, const char *s, size_t n) {
    b->err = LQ_OK;
    lq__json_put_str(b, s, n);
    return b->err;
}

static lq_result put_strz(lq__buf *b, const char *s) {
    b->err = LQ_OK;
    lq__json_put_strz(b, s);
    return b->err;
}

/* put_str, then parse and decode: must give back the input. */
static bool round_trip(const char *s, size_t n) {
    lq__buf b = new_buf(1u << 20);
    lq_json_token t[4];
    lq_json root;
    char *out;
    size_t got;
    bool ok;
    if (put_str(&b, s, n) != LQ_OK) return false;
    if (counted(b.data, b.len, 0, lq_json_parse(b.data, b.len, t, 4, 0, &root)) != 1) {
        lq__buf_free(&b);
        return false;
    }
    out = (char *)malloc(n + 1);
    got = lq_json_string(root, out, n + 1);
    ok = got == n && memcmp(out, s, n) == 0 && out[n] == 0 && lq_json_kind(root) == LQ_JSON_STRING;
    free(out);
    lq__buf_free(&b);
    return ok;
}

static void test_writer(void) {
    lq__buf b = new_buf(1024);
    char all[128];
    size_t i;
    CHECK(put_strz(&b, "plain") == LQ_OK);
    CHECK(buf_is(&b, "\"plain\""));
    b.len = 0;
    CHECK(put_strz(&b, "a\"b\\c/d\n\r\t\b\f") == LQ_OK);
    CHECK(buf_is(&b, "\"a\\\"b\\\\c/d\\n\\r\\t\\b\\f\""));
    b.len = 0;
    CHECK(put_str(&b, "\0\x01\x1F\x7F", 4) == LQ_OK);
    CHECK(buf_is(&b, "\"\\u0000\\u0001\\u001f\x7F\""));
    b.len = 0;
    CHECK(put_strz(&b, "") == LQ_OK);
    CHECK(buf_is(&b, "\"\""));
    b.len = 0;
    CHECK(put_strz(&b, "caf\xC3\xA9 \xF0\x9F\x98\x80 \xE2\x80\xA8") == LQ_OK);
    CHECK(buf_is(&b, "\"caf\xC3\xA9 \xF0\x9F\x98\x80 \xE2\x80\xA8\""));
    /* invalid UTF-8 is refused and leaves the buffer as it was */
    b.len = 0;
    CHECK(put_strz(&b, "ok") == LQ_OK);
    CHECK(put_strz(&b, "bad\xC0\x80") == LQ_ERR_UTF8);
    CHECK(put_strz(&b, "\xED\xA0\x80") == LQ_ERR_UTF8);
    CHECK(put_strz(&b, "\xF4\x90\x80\x80") == LQ_ERR_UTF8);
    CHECK(put_strz(&b, "trunc\xE2\x82") == LQ_ERR_UTF8);
    CHECK(put_strz(&b, "\x80") == LQ_ERR_UTF8);
    CHECK(buf_is(&b, "\"ok\""));
    CHECK(put_strz(&b, NULL) == LQ_ERR_INVALID_ARG);
    CHECK(put_str(&b, NULL, 0) == LQ_OK);
    CHECK(buf_is(&b, "\"ok\"\"\""));
    /* once failed, later strings are not written */
    CHECK(put_strz(&b, "\x80") == LQ_ERR_UTF8);
    lq__json_put_strz(&b, "x");
    CHECK(b.err == LQ_ERR_UTF8 && buf_is(&b, "\"ok\"\"\""));
    /* the limit */
    b.len = 0;
    b.limit = 8;
    CHECK(put_strz(&b, "123456") == LQ_OK);
    b.len = 0;
    CHECK(put_strz(&b, "1234567") == LQ_ERR_LIMIT);
    CHECK(b.len == 0);
    CHECK(put_strz(&b, "\n\n\n\n") == LQ_ERR_LIMIT);
    CHECK(put_strz(&b, "\n\n\n") == LQ_OK);
    lq__buf_free(&b);

    /* round trips */
    for (i = 0; i < 128; i++) all[i] = (char)i;
    CHECK(round_trip(all, 128));
    CHECK(round_trip("", 0));
    CHECK(round_trip("hello, world", 12));
    CHECK(round_trip("\"\\/\b\f\n\r\t", 8));
    CHECK(round_trip("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF", 13));
    {
        int bad = 0, k;
        unsigned char s[200];
        for (k = 0; k < 500; k++) {
            size_t n = 0, lim = rnd() % 150;
            while (n < lim) n += put_utf8(s + n, random_cp());
            if (!round_trip((const char *)s, n)) bad++;
        }
        CHECK(bad == 0);
    }
}

/* ---- reader: errors ----------------------------------------------------------------------------- */

static int parse_n(const char *s, size_t n, int max_depth) {
    lq_json root;
    int r = lq_json_parse(s, n, toks, sizeof toks / sizeof toks[0], max_depth, &root);
    if (r < 0 && root.tok != NULL) return 1000;   /* a failed parse must leave no root */
    return counted(s, n, max_depth, r);
}

static int parse_s(const char *s) { return parse_n(s, strlen(s), 0); }

static void test_invalid(void) {
    static const char *const bad_json[] = {
        "", " ", " \t\r\n ", "{", "}", "[", "]", "[1,]", "[,1]", "[1 2]", "{,}", "{\"a\":1,}",
        "{\"a\" 1}", "{\"a\":}", "{\"a\"}", "{1:2}", "{a:1}", "{'a':1}", "['a']", "[1]]", "[[1]",
        "{\"a\":1}}", "1 2", "[] []", "nul", "nulll", "true1", "tru", "True", "NULL", "falsey",
        "01", "-01", "00", "+1", ".5", "1.", "-", "-.5", "1e", "1e+", "1E-", "1.e5", "--1", "0x10",
        "NaN", "Infinity", "-Infinity", "1_000", "\"abc", "\"\\\"", "\"\\x\"", "\"\\u12\"",
        "\"\\u12G4\"", "\"\\U0041\"", "\"\\'\"", "\"\\a\"", "\"\\0\"", "\"a\tb\"", "\"a\nb\"",
        "\"\x01\"", "\"\x1F\"", "/* c */ 1", "1 // c", "# c\n1", "[1,/*x*/2]", "\"\\ud800\"",
        "\"\\udfff\"", "\"\\udc00\\ud800\"", "\"\\ud800\\ud800\"", "\"\\ud800x\"", "\"\\ud800\\n\"",
        "\"\\ud800\\u0041\"", "\"\\ud800\\", "\"\\ud800\\u", "\"\\ud800\\udc0", "[1]x", "{}\"\"",
        "\xEF\xBB\xBF{}", "{\"a\":1 \"b\":2}", "[true false]", "\"\\uD83D\\uDE00", "[\"a\",",
        "{\"a\":[}", "{\"a\":{]}", "[{]}", "\f1", "\v1", "1\f", "\xC2\xA0\x31", "[1\xC2\xA0]"
    };
    static const char *const bad_utf8[] = {
        "\"\xC0\x80\"", "\"\xED\xA0\x80\"", "\"\xF4\x90\x80\x80\"", "\"\xE2\x82\"", "\"\x80\"",
        "\"abc\xFF\"", "{\"\xC3\":1}", "{\"k\":\"a\xF0\x9F\x98\"}", "[\"\xE0\x9F\xBF\"]",
        "\"aaaaaaaaaaaaaaaaaaaaaaa\xC1\xBF\""
    };
    size_t i;
    for (i = 0; i < sizeof bad_json / sizeof bad_json[0]; i++) {
        int r = parse_s(bad_json[i]);
        if (r != LQ_ERR_JSON) printf("  expected LQ_ERR_JSON, got %d: %s\n", r, bad_json[i]);
        CHECK(r == LQ_ERR_JSON);
    }
    for (i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) {
        lq_json root;
        const char *s = bad_utf8[i];
        CHECK(parse_s(s) == LQ_ERR_UTF8);
        /* without the check (the WebSocket layer validated already) the bytes pass through */
        CHECK(lq__json_parse(s, strlen(s), toks, 64, 0, false, &root) >= 1);
    }
    /* a NUL byte is just a byte: outside strings an error, inside a raw control character */
    CHECK(parse_n("1\0", 2, 0) == LQ_ERR_JSON);
    CHECK(parse_n("\"\0\"", 3, 0) == LQ_ERR_JSON);
    CHECK(parse_n("[1]", 3, 0) == 2);
    /* arguments */
    {
        lq_json root;
        CHECK(lq_json_parse(NULL, 0, toks, 10, 0, &root) == LQ_ERR_INVALID_ARG);
        CHECK(lq_json_parse("1", 1, toks, 10, -1, &root) == LQ_ERR_INVALID_ARG);
        CHECK(lq_json_parse("1", 1, toks, 10, 0, NULL) == 1);
        CHECK(lq_json_parse("1", 1, toks, 0, 0, &root) == LQ_ERR_TOO_SMALL);
        CHECK(lq_json_parse("[1,2]", 5, toks, 2, 0, &root) == LQ_ERR_TOO_SMALL);
        CHECK(root.tok == NULL);
        CHECK(lq_json_parse("[1,2]", 5, toks, 3, 0, &root) == 3);
        CHECK(lq_json_parse("{\"a\":1}", 7, toks, 1, 0, &root) == LQ_ERR_TOO_SMALL);
        CHECK(lq_json_parse("{\"a\":1}", 7, toks, 2, 0, &root) == LQ_ERR_TOO_SMALL);
        CHECK(lq_json_parse("{\"a\":1}", 7, toks, 3, 0, &root) == 3);
#if SIZE_MAX > 0xFFFFFFFFu
        CHECK(lq_json_parse("1", (size_t)1 << 32, toks, 10, 0, &root) == LQ_ERR_LIMIT);
#endif
    }
}

/* Every proper prefix of a document that is an object or array is an error. */
static void check_prefixes(const char *s) {
    size_t n = strlen(s), i;
    int bad = 0;
    char *copy = (char *)malloc(n);
    CHECK(parse_s(s) >= 1);
    for (i = 0; i < n; i++) {
        int r;
        memcpy(copy, s, i);    /* a private copy of exactly i bytes: ASan sees any overread */
        r = parse_n(copy, i, 0);
        if (r != LQ_ERR_JSON && r != LQ_ERR_UTF8) {
            printf("  prefix %u of %s: %d\n", (unsigned)i, s, r);
            bad++;
        }
    }
    free(copy);
    CHECK(bad == 0);
}

static void test_prefixes(void) {
    check_prefixes("{\"op\":\"update\",\"requestId\":1,\"object\":{\"score\":-30.5e+2,\"t\":[true,false,null,"
                   "\"x\\u00e9\\ud83d\\ude00\\n\"],\"e\":{},\"a\":[]}}");
    check_prefixes("[0,-0,1.5,1e5,1E-5,\"\",\"\\\\\\\"\\/\\b\\f\\n\\r\\t\",\"caf\xC3\xA9\xF0\x9F\x98\x80\",[[]],{\"\":{}}]");
    check_prefixes(" [ { \"a\" : 1 , \"b\" : [ 2 , 3 ] } ]");
}

static void test_depth(void) {
    static char deep[200002];
    static lq_json_token big[100001];
    lq_json root;
    size_t i;
    int r;
    char s[300];
    /* the default limit is 64 */
    for (i = 0; i < 64; i++) { s[i] = '['; s[128 - 1 - i] = ']'; }
    CHECK(parse_n(s, 128, 0) == 64);
    CHECK(parse_n(s, 128, 64) == 64);
    CHECK(parse_n(s, 128, 63) == LQ_ERR_LIMIT);
    for (i = 0; i < 65; i++) { s[i] = '['; s[130 - 1 - i] = ']'; }
    CHECK(parse_n(s, 130, 0) == LQ_ERR_LIMIT);
    CHECK(parse_n(s, 130, 65) == 65);
    /* objects count too */
    {
        size_t n = 0, d;
        for (d = 0; d < 3; d++) { memcpy(s + n, "{\"a\":", 5); n += 5; }
        s[n++] = '1';
        for (d = 0; d < 3; d++) s[n++] = '}';
        CHECK(parse_n(s, n, 3) == 7);
        CHECK(parse_n(s, n, 2) == LQ_ERR_LIMIT);
    }
    /* 100000 deep: no recursion, so no stack to overflow; the token array holds the nesting */
    for (i = 0; i < 100000; i++) { deep[i] = '['; deep[200000 - 1 - i] = ']'; }
    r = lq_json_parse(deep, 200000, big, 100001, 0, &root);
    CHECK(r == LQ_ERR_LIMIT);
    r = lq_json_parse(deep, 200000, big, 100001, 100000, &root);
    CHECK(r == 100000);
    CHECK(root.tok && root.tok->skip == 100000 && root.tok->len == 200000);
    CHECK(lq_json_count(root) == 1);
    CHECK(big[99999].skip == 1 && big[99999].start == 99999 && big[99999].len == 2);
    CHECK(lq_json_kind(lq_json_next(lq_json_child(root))) == LQ_JSON_NONE);
    r = lq_json_parse(deep, 200000, big, 100001, 99999, &root);
    CHECK(r == LQ_ERR_LIMIT);
    r = lq_json_parse(deep, 200000, big, 99999, 100000, &root);
    CHECK(r == LQ_ERR_TOO_SMALL);
    deep[199999] = ' ';
    r = lq_json_parse(deep, 200000, big, 100001, 100000, &root);
    CHECK(r == LQ_ERR_JSON);
    deep[199999] = ']';
    /* counting: the default limit; then max_depth is capped at 4096 (its bit stack), so deeper
       documents that a parse accepts are LQ_ERR_LIMIT there */
    CHECK(lq_json_parse(deep, 200000, NULL, 0, 0, NULL) == LQ_ERR_LIMIT);
    CHECK(lq_json_parse(deep, 200000, NULL, 0, 100000, NULL) == LQ_ERR_LIMIT);
    CHECK(lq_json_parse(deep + 100000 - 4096, 2 * 4096, NULL, 0, 4096, NULL) == 4096);
    CHECK(lq_json_parse(deep + 100000 - 4096, 2 * 4096, NULL, 0, 100000, NULL) == 4096);
    CHECK(lq_json_parse(deep + 100000 - 4096, 2 * 4096, NULL, 0, 4095, NULL) == LQ_ERR_LIMIT);
    CHECK(lq_json_parse(deep + 100000 - 4097, 2 * 4097, NULL, 0, 5000, NULL) == LQ_ERR_LIMIT);
    CHECK(lq_json_parse(deep + 100000 - 4097, 2 * 4097, big, 100001, 5000, NULL) == 4097);
    /* the limit is found where the parse finds it: before a later error, after an earlier one */
    CHECK(parse_n("[[x", 3, 1) == LQ_ERR_LIMIT);
    CHECK(parse_n("[x,[[", 5, 1) == LQ_ERR_JSON);
    CHECK(parse_n("{\"a\":{\"b\":1}", 13, 1) == LQ_ERR_LIMIT);
    CHECK(parse_n("[[]", 3, 2) == LQ_ERR_JSON);
}

/* ---- reader: counting mode ------------------------------------------------------------------- */

/* A random JSON text, written into a fixed buffer; budget bounds its size (and so its tokens). */
typedef struct gen {
    char buf[8192];
    size_t n, budget;
} gen;

static void gen_put(gen *g, const char *s, size_t k) {
    if (g->n + k > sizeof g->buf) return;
    memcpy(g->buf + g->n, s, k);
    g->n += k;
}

static void gen_ws(gen *g) {
    static const char ws[] = " \t\r\n";
    while (rnd() % 5 == 0) gen_put(g, ws + rnd() % 4, 1);
}

static void gen_string(gen *g) {
    static const char *const esc[] = { "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t",
                                       "\\u00e9", "\\u20AC", "\\ud83d\\ude00", "\\u0000" };
    size_t k, len = rnd() % 8 == 0 ? 20 + rnd() % 60 : rnd() % 12;   /* long ones: the wide scan */
    gen_put(g, "\"", 1);
    for (k = 0; k < len; k++) {
        unsigned char u[4];
        switch (rnd() % 6) {
        case 0: {
            const char *e = esc[rnd() % (sizeof esc / sizeof esc[0])];
            gen_put(g, e, strlen(e));
            break;
        }
        case 1: gen_put(g, (const char *)u, put_utf8(u, random_cp() | 0x80)); break;   /* non-ASCII */
        default: u[0] = (unsigned char)('a' + rnd() % 26); gen_put(g, (const char *)u, 1); break;
        }
    }
    gen_put(g, "\"", 1);
}

static void gen_number(gen *g) {
    char tmp[48];
    int m = snprintf(tmp, sizeof tmp, "%s%u", rnd() % 3 ? "" : "-", rnd() % 4 ? rnd() % 1000 : 0);
    if (rnd() % 3 == 0) m += snprintf(tmp + m, sizeof tmp - (size_t)m, ".%u", rnd() % 100000);
    if (rnd() % 4 == 0)
        snprintf(tmp + m, sizeof tmp - (size_t)m, "%s%u", rnd() % 2 ? "e-" : "E+", rnd() % 40);
    gen_put(g, tmp, strlen(tmp));
}

static void gen_value(gen *g, int depth) {
    unsigned kind = rnd() % (depth > 0 && g->n < g->budget ? 9 : 6);
    gen_ws(g);
    if (kind >= 6) {
        bool object = kind == 8 || (kind == 7 && rnd() % 2);
        unsigned i, items = rnd() % 6;
        gen_put(g, object ? "{" : "[", 1);
        for (i = 0; i < items && g->n < g->budget; i++) {
            if (i) gen_put(g, ",", 1);
            if (object) {
                gen_ws(g);
                gen_string(g);
                gen_ws(g);
                gen_put(g, ":", 1);
            }
            gen_value(g, depth - 1);
        }
        gen_ws(g);
        gen_put(g, object ? "}" : "]", 1);
    } else if (kind == 0) {
        gen_put(g, "null", 4);
    } else if (kind == 1) {
        if (rnd() % 2) gen_put(g, "true", 4);
        else gen_put(g, "false", 5);
    } else if (kind < 4) {
        gen_string(g);
    } else {
        gen_number(g);
    }
    gen_ws(g);
}

static void test_count_random(void) {
    /* bytes that matter to JSON, for the mutations */
    static const char edits[] = "\"\\[]{},:0-+.eE tnfu\x01\x7F\x80\xBF\xC3\xE2\xED\xF0\xFF";
    static gen g, m;
    int k, valid = 0, json_errors = 0, utf8_errors = 0, depth_errors = 0;
    for (k = 0; k < 3000; k++) {
        size_t at;
        int r;
        g.n = 0;
        g.budget = 1 + rnd() % 3000;
        gen_value(&g, (int)(rnd() % 8));
        r = parse_n(g.buf, g.n, 0);
        if (r >= 1) valid++;
        /* a mutation: one byte changed, dropped or doubled, or the text cut short */
        m = g;
        at = rnd() % g.n;
        switch (rnd() % 4) {
        case 0: m.buf[at] = edits[rnd() % (sizeof edits - 1)]; break;
        case 1: memmove(m.buf + at, m.buf + at + 1, --m.n - at); break;
        case 2: if (m.n < sizeof m.buf) { memmove(m.buf + at + 1, m.buf + at, m.n++ - at); } break;
        default: m.n = at; break;
        }
        r = parse_n(m.buf, m.n, (int)(rnd() % 10));
        if (r == LQ_ERR_JSON) json_errors++;
        else if (r == LQ_ERR_UTF8) utf8_errors++;
        else if (r == LQ_ERR_LIMIT) depth_errors++;
    }
    CHECK(valid == 3000);
    CHECK(json_errors > 500 && utf8_errors > 20 && depth_errors > 20);
}

/* Random nesting across many words of the bit stack, with a sibling after some closes (a key in
   an object, a plain value in an array: wrong if the parent's kind came back wrong), and then one
   closer of the wrong kind at a random depth. */
static void test_count_nesting(void) {
    static char s[300 * 16];
    int k, bad = 0;
    for (k = 0; k < 300; k++) {
        bool object[300];
        size_t n = 0, closer_at[300];
        int depth = 1 + (int)(rnd() % 300), d, want = 1;
        for (d = 0; d < depth; d++) {
            object[d] = rnd() % 2;
            if (object[d]) {
                memcpy(s + n, "{\"k\":", 5);
                n += 5;
            } else {
                s[n++] = '[';
            }
            want += object[d] ? 2 : 1;
        }
        s[n++] = '7';
        for (d = depth - 1; d >= 0; d--) {
            closer_at[d] = n;
            s[n++] = object[d] ? '}' : ']';
            if (d > 0 && rnd() % 2) {
                memcpy(s + n, object[d - 1] ? ",\"q\":1" : ",1", object[d - 1] ? 6 : 2);
                n += object[d - 1] ? 6 : 2;
                want += object[d - 1] ? 2 : 1;
            }
        }
        if (parse_n(s, n, 300) != want) bad++;
        d = (int)(rnd() % (unsigned)depth);
        s[closer_at[d]] = object[d] ? ']' : '}';
        if (parse_n(s, n, 300) != LQ_ERR_JSON) bad++;
    }
    CHECK(bad == 0);
}

static void test_count_args(void) {
    const char *s = "[1,{\"a\":2}]";
    lq_json root;
    root.src = "x";
    root.tok = toks;
    CHECK(lq_json_parse(s, strlen(s), NULL, 0, 0, NULL) == 5);            /* no root */
    CHECK(lq_json_parse(s, strlen(s), NULL, SIZE_MAX, 0, &root) == 5);    /* max_tokens ignored */
    CHECK(root.src == s && root.tok == NULL);
    CHECK(lq_json_parse(s, strlen(s), NULL, 0, 1, &root) == LQ_ERR_LIMIT);
    CHECK(lq_json_parse(NULL, 0, NULL, 0, 0, &root) == LQ_ERR_INVALID_ARG && root.tok == NULL);
    CHECK(lq_json_parse(s, strlen(s), NULL, 0, -1, &root) == LQ_ERR_INVALID_ARG);
    CHECK(lq_json_parse(s, 0, NULL, 0, 0, &root) == LQ_ERR_JSON);
#if SIZE_MAX > 0xFFFFFFFFu
    CHECK(lq_json_parse(s, (size_t)1 << 32, NULL, 0, 0, &root) == LQ_ERR_LIMIT);
#endif
}

/* A 1 MB array of zeros, counted with no token array at all; then parsed with as many tokens as
   the count asked for. Then 1 MB of one string, with an error near its end. */
static void test_count_huge(void) {
    const size_t zeros = 524287, n = 2 * zeros + 1;
    char *s = (char *)malloc(n);
    lq_json_token *t = (lq_json_token *)malloc(sizeof *t * (zeros + 1));
    size_t i;
    s[0] = '[';
    for (i = 0; i < zeros; i++) {
        s[1 + 2 * i] = '0';
        s[2 + 2 * i] = ',';
    }
    s[n - 1] = ']';
    CHECK(n == 1048575);
    CHECK(lq_json_parse(s, n, NULL, 0, 0, NULL) == (int)zeros + 1);
    CHECK(lq_json_parse(s, n, t, zeros + 1, 0, NULL) == (int)zeros + 1);
    CHECK(lq_json_parse(s, n, t, zeros, 0, NULL) == LQ_ERR_TOO_SMALL);
    CHECK(lq_json_parse(s, n - 1, NULL, 0, 0, NULL) == LQ_ERR_JSON);
    memset(s, 'a', n);
    s[0] = s[n - 1] = '"';
    CHECK(lq_json_parse(s, n, NULL, 0, 0, NULL) == 1);
    s[n - 3] = '\xC3';
    CHECK(lq_json_parse(s, n, NULL, 0, 0, NULL) == LQ_ERR_UTF8);
    CHECK(lq__json_parse(s, n, NULL, 0, 0, false, NULL) == LQ_ERR_UTF8);
    s[n - 3] = '\x01';
    CHECK(lq_json_parse(s, n, NULL, 0, 0, NULL) == LQ_ERR_JSON);
    free(t);
    free(s);
}

/* ---- reader: layout and access ------------------------------------------------------------------ */

static void test_layout(void) {
    const char *s = "{\"a\":1,\"b\":[],\"c\":{},\"d\":[1,[2,3],{\"e\":null}],\"f\":\"s\"}";
    lq_json root, v, d;
    int n = parse(s, &root);
    int i;
    CHECK(n == 18);
    CHECK(toks[0].type == LQ_JSON_OBJECT && toks[0].skip == 18 && toks[0].start == 0);
    CHECK(toks[0].len == strlen(s));
    CHECK(toks[1].type == LQ_JSON_STRING && (toks[1].flags & LQ__TOK_KEY) && toks[1].skip == 1);
    CHECK(toks[1].start == 1 && toks[1].len == 3);
    CHECK(toks[2].type == LQ_JSON_NUMBER && !(toks[2].flags & LQ__TOK_KEY) && toks[2].len == 1);
    CHECK(toks[4].type == LQ_JSON_ARRAY && toks[4].skip == 1 && toks[4].len == 2);
    CHECK(toks[6].type == LQ_JSON_OBJECT && toks[6].skip == 1 && toks[6].len == 2);
    CHECK(toks[8].type == LQ_JSON_ARRAY && toks[8].skip == 8);
    CHECK(toks[10].type == LQ_JSON_ARRAY && toks[10].skip == 3 && (toks[10].flags & LQ__TOK_LAST) == 0);
    CHECK(toks[12].flags & LQ__TOK_LAST);
    CHECK(toks[13].type == LQ_JSON_OBJECT && toks[13].skip == 3 && (toks[13].flags & LQ__TOK_LAST));
    CHECK(toks[15].type == LQ_JSON_NULL && (toks[15].flags & LQ__TOK_LAST));
    CHECK(toks[17].type == LQ_JSON_STRING && (toks[17].flags & LQ__TOK_LAST) && toks[17].len == 3);
    CHECK((toks[0].flags & LQ__TOK_LAST) && (toks[0].flags & LQ__TOK_ROOT));
    for (i = 0; i < n; i++) CHECK(toks[i].start + toks[i].len <= strlen(s) && toks[i].skip >= 1);

    CHECK(lq_json_count(root) == 5);
    /* iterate the members */
    {
        const char *names = "abcdf";
        int k = 0;
        for (v = lq_json_child(root); lq_json_exists(v); v = lq_json_next(v), k++) {
            char name[8];
            CHECK(lq_json_string(lq_json_key(v), name, sizeof name) == 1);
            CHECK(name[0] == names[k]);
        }
        CHECK(k == 5);
    }
    d = lq_json_get(root, "d");
    CHECK(lq_json_count(d) == 3);
    v = lq_json_child(d);
    CHECK(lq_json_int(v, 0) == 1);
    CHECK(!lq_json_exists(lq_json_key(v)));
    v = lq_json_next(v);
    CHECK(lq_json_kind(v) == LQ_JSON_ARRAY && lq_json_count(v) == 2);
    CHECK(lq_json_int(lq_json_next(lq_json_child(v)), 0) == 3);
    CHECK(!lq_json_exists(lq_json_next(lq_json_next(lq_json_child(v)))));
    v = lq_json_next(v);
    CHECK(lq_json_kind(v) == LQ_JSON_OBJECT);
    CHECK(lq_json_is_null(lq_json_child(v)));
    CHECK(str_is(lq_json_key(lq_json_child(v)), "e"));
    CHECK(!lq_json_exists(lq_json_next(lq_json_child(v))));
    CHECK(!lq_json_exists(lq_json_next(v)));
    /* empty containers */
    CHECK(lq_json_count(lq_json_get(root, "b")) == 0 && !lq_json_exists(lq_json_child(lq_json_get(root, "b"))));
    CHECK(lq_json_count(lq_json_get(root, "c")) == 0 && !lq_json_exists(lq_json_child(lq_json_get(root, "c"))));
    CHECK(lq_json_kind(lq_json_next(lq_json_get(root, "c"))) == LQ_JSON_ARRAY);
    /* the root has no key and no sibling */
    CHECK(!lq_json_exists(lq_json_next(root)) && !lq_json_exists(lq_json_key(root)));
    /* a key handle: a string, without siblings */
    v = lq_json_key(lq_json_get(root, "f"));
    CHECK(lq_json_string_eq(v, "f") && !lq_json_exists(lq_json_next(v)) && !lq_json_exists(lq_json_key(v)));
    /* at */
    CHECK(lq_json_int(lq_json_at(d, 0), 0) == 1);
    CHECK(lq_json_kind(lq_json_at(d, 2)) == LQ_JSON_OBJECT);
    CHECK(!lq_json_exists(lq_json_at(d, 3)));
    CHECK(!lq_json_exists(lq_json_at(root, 0)));
    /* scalars as the root */
    CHECK(parse(" \"x\" ", &root) == 1 && str_is(root, "x") && toks[0].start == 1 && toks[0].len == 3);
    CHECK(parse("-0.5", &root) == 1 && lq_json_number(root, 0) == -0.5);
    CHECK(parse("null", &root) == 1 && lq_json_is_null(root) && !lq_json_exists(lq_json_next(root)));
    CHECK(parse("[]", &root) == 1 && lq_json_count(root) == 0);
    CHECK(parse("{}", &root) == 1 && lq_json_count(root) == 0);
    /* the escape flag lets plain strings compare with memcmp */
    CHECK(parse("[\"plain\",\"esc\\n\",{\"k\\u0065y\":1}]", &root) == 6);
    CHECK(!(toks[1].flags & LQ__TOK_ESC) && (toks[2].flags & LQ__TOK_ESC));
    CHECK((toks[4].flags & (LQ__TOK_ESC | LQ__TOK_KEY)) == (LQ__TOK_ESC | LQ__TOK_KEY));
    CHECK(toks[0].reserved == 0 && toks[4].reserved == 0);
    /* whitespace everywhere it may be */
    CHECK(parse(" \t\r\n{ \"a\" :\n[ 1 ,\t2 ] , \"b\" : { } }\r\n", &root) == 7);
    CHECK(lq_json_int(lq_json_path(root, "a.1"), 0) == 2);
}

static void test_big_count(void) {
    static char s[2 * 70000 + 2];
    static lq_json_token t[70001];
    lq_json root, v;
    size_t i, n = 0;
    s[n++] = '[';
    for (i = 0; i < 70000; i++) {
        s[n++] = (char)('0' + i % 10);
        s[n++] = ',';
    }
    s[n - 1] = ']';
    CHECK(lq_json_parse(s, n, t, 70001, 0, &root) == 70001);
    CHECK(lq_json_count(root) == 70000);
    CHECK(lq_json_int(lq_json_at(root, 69999), -1) == 9);
    CHECK(lq_json_int(lq_json_at(root, 65535), -1) == 5);
    CHECK(!lq_json_exists(lq_json_at(root, 70000)));
    v = lq_json_at(root, 69998);
    CHECK(lq_json_int(lq_json_next(v), -1) == 9 && !lq_json_exists(lq_json_next(lq_json_next(v))));
}

static void test_access(void) {
    lq_json root, v, none;
    char buf[64];
    size_t len;
    root = doc("{\"name\":\"Zo\\u00eb\",\"a\\u0062c\":1,\"a\\\"b\":2,\"tab\\tkey\":3,\"\":4,"
               "\"arr\":[10,[20,21],{\"x\":{\"y\":\"deep\"}}],\"0\":\"zero\",\"n\":null,"
               "\"t\":true,\"f\":false,\"dup\":1,\"dup\":2,\"nul\\u0000\":5,"
               "\"\\ud83d\\ude00\":\"emoji\",\"caf\xC3\xA9\":\"raw\"}");
    none.src = root.src;
    none.tok = NULL;
    CHECK(lq_json_kind(root) == LQ_JSON_OBJECT);
    CHECK(str_is(lq_json_get(root, "name"), "Zo\xC3\xAB"));
    CHECK(lq_json_string_eq(lq_json_get(root, "name"), "Zo\xC3\xAB"));
    CHECK(!lq_json_string_eq(lq_json_get(root, "name"), "Zo"));
    CHECK(!lq_json_string_eq(lq_json_get(root, "name"), "Zo\\u00eb"));
    /* escaped keys compare decoded */
    CHECK(lq_json_int(lq_json_get(root, "abc"), 0) == 1);
    CHECK(!lq_json_exists(lq_json_get(root, "a\\u0062c")));
    CHECK(lq_json_int(lq_json_get(root, "a\"b"), 0) == 2);
    CHECK(lq_json_int(lq_json_get(root, "tab\tkey"), 0) == 3);
    CHECK(lq_json_int(lq_json_get(root, ""), 0) == 4);
    CHECK(lq_json_int(lq_json_getn(root, "nul\0", 4), 0) == 5);
    CHECK(!lq_json_exists(lq_json_get(root, "nul")));
    CHECK(lq_json_int(lq_json_getn(root, "abcdef", 3), 0) == 1);
    CHECK(lq_json_int(lq_json_getn(root, NULL, 0), 0) == 4);
    CHECK(!lq_json_exists(lq_json_getn(root, NULL, 2)));
    CHECK(!lq_json_exists(lq_json_get(root, NULL)));
    CHECK(str_is(lq_json_get(root, "\xF0\x9F\x98\x80"), "emoji"));
    CHECK(str_is(lq_json_get(root, "caf\xC3\xA9"), "raw"));
    CHECK(lq_json_int(lq_json_get(root, "dup"), 0) == 1);   /* the first wins */
    CHECK(!lq_json_exists(lq_json_get(root, "missing")));
    CHECK(!lq_json_exists(lq_json_get(root, "nam")));
    CHECK(!lq_json_exists(lq_json_get(root, "namex")));
    /* path */
    CHECK(lq_json_int(lq_json_path(root, "arr.0"), 0) == 10);
    CHECK(lq_json_int(lq_json_path(root, "arr.1.1"), 0) == 21);
    CHECK(str_is(lq_json_path(root, "arr.2.x.y"), "deep"));
    CHECK(str_is(lq_json_path(root, "0"), "zero"));          /* digits are a key in an object */
    CHECK(!lq_json_exists(lq_json_path(root, "arr.3")));
    CHECK(!lq_json_exists(lq_json_path(root, "arr.x")));
    CHECK(!lq_json_exists(lq_json_path(root, "arr.-1")));
    CHECK(!lq_json_exists(lq_json_path(root, "arr.")));
    CHECK(!lq_json_exists(lq_json_path(root, "arr.1a")));
    CHECK(!lq_json_exists(lq_json_path(root, "arr.99999999999999999999999")));
    CHECK(!lq_json_exists(lq_json_path(root, "arr.2.x.y.z")));
    CHECK(!lq_json_exists(lq_json_path(root, "name.x")));
    CHECK(!lq_json_exists(lq_json_path(root, NULL)));
    CHECK(lq_json_path(root, "").tok == root.tok);
    CHECK(lq_json_int(lq_json_path(root, "abc"), 0) == 1);
    CHECK(!lq_json_exists(lq_json_path(none, "a.b")));
    /* scalars */
    CHECK(lq_json_is_null(lq_json_get(root, "n")) && lq_json_exists(lq_json_get(root, "n")));
    CHECK(!lq_json_is_null(lq_json_get(root, "t")) && !lq_json_is_null(none));
    CHECK(lq_json_bool(lq_json_get(root, "t"), false) == true);
    CHECK(lq_json_bool(lq_json_get(root, "f"), true) == false);
    CHECK(lq_json_bool(lq_json_get(root, "n"), true) == true);
    CHECK(lq_json_bool(lq_json_get(root, "name"), false) == false);
    CHECK(lq_json_int(lq_json_get(root, "name"), -7) == -7);
    CHECK(lq_json_number(lq_json_get(root, "t"), 2.5) == 2.5);
    CHECK(lq_json_string(lq_json_get(root, "arr"), buf, sizeof buf) == 0 && buf[0] == 0);
    CHECK(!lq_json_string_eq(lq_json_get(root, "t"), "true"));
    CHECK(!lq_json_string_eq(lq_json_get(root, "name"), NULL));
    /* raw */
    {
        const char *r = lq_json_raw(lq_json_get(root, "arr"), &len);
        CHECK(len == 31 && memcmp(r, "[10,[20,21],{\"x\":{\"y\":\"deep\"}}]", len) == 0);
        r = lq_json_raw(lq_json_get(root, "name"), &len);
        CHECK(len == 10 && memcmp(r, "\"Zo\\u00eb\"", len) == 0);
        CHECK(lq_json_raw(root, NULL) == root.src);
    }
    /* NONE handles everywhere */
    CHECK(lq_json_kind(none) == LQ_JSON_NONE && !lq_json_exists(none));
    CHECK(!lq_json_exists(lq_json_get(none, "a")) && !lq_json_exists(lq_json_getn(none, "a", 1)));
    CHECK(!lq_json_exists(lq_json_at(none, 0)) && lq_json_count(none) == 0);
    CHECK(!lq_json_exists(lq_json_child(none)) && !lq_json_exists(lq_json_next(none)));
    CHECK(!lq_json_exists(lq_json_key(none)));
    CHECK(lq_json_raw(none, &len) != NULL && len == 0);
    strcpy(buf, "junk");
    CHECK(lq_json_string(none, buf, sizeof buf) == 0 && buf[0] == 0);
    CHECK(lq_json_string(none, NULL, 0) == 0);
    CHECK(!lq_json_string_eq(none, ""));
    CHECK(lq_json_number(none, 1.25) == 1.25 && lq_json_int(none, 9) == 9);
    CHECK(lq_json_bool(none, true) == true && lq_json_bool(none, false) == false);
    /* wrong kinds */
    v = lq_json_get(root, "t");
    CHECK(lq_json_count(v) == 0 && !lq_json_exists(lq_json_child(v)) && !lq_json_exists(lq_json_at(v, 0)));
    CHECK(!lq_json_exists(lq_json_get(v, "a")));
    CHECK(!lq_json_exists(lq_json_get(lq_json_get(root, "arr"), "0")));
}

static void test_string_decode(void) {
    lq_json root;
    char buf[64];
    size_t cap;
    const char *full = "a\xC3\xA9" "b\xE2\x82\xAC" "c\xF0\x9F\x98\x80" "d\n\"\\/";
    size_t full_len = strlen(full);
    root = doc("[\"a\\u00e9b\\u20acc\\ud83d\\ude00d\\n\\\"\\\\\\/\",\"a\xC3\xA9" "b\xE2\x82\xAC"
               "c\xF0\x9F\x98\x80" "d\\n\\\"\\\\/\",\"\\uD83D\\uDE00\\u0041\\u00E9\"]");
    CHECK(str_is(lq_json_at(root, 0), full));
    CHECK(str_is(lq_json_at(root, 1), full));
    CHECK(str_is(lq_json_at(root, 2), "\xF0\x9F\x98\x80" "A\xC3\xA9"));
    CHECK(lq_json_string_eq(lq_json_at(root, 0), full));
    CHECK(lq_json_string_eq(lq_json_at(root, 1), full));
    CHECK(lq_json_string(lq_json_at(root, 0), NULL, 0) == full_len);
    /* cut at every size: a prefix of the whole, valid UTF-8, as long as fits */
    {
        int i, bad = 0;
        for (i = 0; i < 2; i++) {
            for (cap = 0; cap <= full_len + 2; cap++) {
                size_t got, w;
                memset(buf, 'Z', sizeof buf);
                got = lq_json_string(lq_json_at(root, (size_t)i), buf, cap);
                if (got != full_len) bad++;
                if (cap == 0) {
                    if (buf[0] != 'Z') bad++;
                    continue;
                }
                w = strlen(buf);
                if (w > cap - 1 || memcmp(buf, full, w) != 0) bad++;
                if (!lq__utf8_valid((const unsigned char *)buf, w)) bad++;
                /* maximal: the next code point would not have fitted */
                if (w < full_len) {
                    size_t next = w + 1;
                    while (next < full_len && (full[next] & 0xC0) == 0x80) next++;
                    if (next <= cap - 1) bad++;
                }
            }
        }
        CHECK(bad == 0);
    }
}

/* ---- numbers ------------------------------------------------------------------------------------ */

static double num(const char *s) {
    lq_json root;
    if (parse(s, &root) != 1) return -12345.0;
    return lq_json_number(root, -999.0);
}

static int64_t inum(const char *s, int64_t def) {
    lq_json root;
    if (parse(s, &root) != 1) return -12345;
    return lq_json_int(root, def);
}

static void test_numbers(void) {
    static const char *const exact[] = {
        "0", "-0", "1", "-1", "12", "0.5", "-0.5", "3.14159", "1e10", "1E10", "1e+10", "1e-10",
        "123456789012345678", "9007199254740992", "9007199254740993", "18446744073709551615",
        "18446744073709551616", "1.7976931348623157e308", "2.2250738585072014e-308",
        "4.9406564584124654e-324", "2.4703282292062327e-324", "2.4703282292062328e-324",
        "0.1", "0.2", "0.3", "1e22", "1e23", "8.988465674311579e+307", "123.456e-7",
        "0.000000000000000000000000000000000000001", "100000000000000000000000000000000000000",
        "12345678901234567890123456789", "1.00000000000000011102230246251565404236316680908203125",
        "1.00000000000000011102230246251565404236316680908203124",
        "1.00000000000000011102230246251565404236316680908203126",
        "2.225073858507201136057409796709131975934819546351645648e-308",
        "9007199254740993.0000000000000000000000000000000000000001",
        "1e-400", "-1e-400", "0e999999999999", "0.0000e-5", "7e-10", "3e22", "3e37",
        "5e-324", "1.5e300", "4503599627370497.5"
    };
    size_t i;
    for (i = 0; i < sizeof exact / sizeof exact[0]; i++) {
        double want = strtod(exact[i], NULL), got = num(exact[i]);
        if (!same_double(want, got)) printf("  number %s: %.17g != %.17g\n", exact[i], got, want);
        CHECK(same_double(want, got));
    }
    /* 800 significant digits: the sticky digit decides the rounding */
    {
        char s[1000];
        memset(s, '0', sizeof s);
        memcpy(s, "9007199254740993", 16);   /* 2^53 + 1: halfway between two doubles */
        memcpy(s + 900, "e-884", 6);
        CHECK(same_double(num(s), 9007199254740992.0));
        s[899] = '1';                       /* just above halfway: rounds up */
        CHECK(same_double(num(s), 9007199254740994.0));
        CHECK(same_double(num(s), strtod(s, NULL)));
        s[900] = 0;
        memcpy(s, "0.", 2);
        memcpy(s + 2, "9007199254740993", 16);
        s[899] = '0';
        CHECK(same_double(num(s), strtod(s, NULL)));
        s[899] = '1';
        CHECK(same_double(num(s), strtod(s, NULL)));
    }
    /* not finite: the default */
    CHECK(num("1e999999") == -999.0);
    CHECK(num("-1e309") == -999.0);
    CHECK(num("1.8e308") == -999.0);
    CHECK(num("1e99999999999999999999999") == -999.0);
    CHECK(same_double(num("1e-99999999999999999999999"), 0.0));
    CHECK(same_double(num("-0.0"), -0.0));
    /* random numbers against the C library (this process runs in the C locale) */
    {
        int k, bad = 0;
        for (k = 0; k < 20000; k++) {
            char s[64];
            int m = snprintf(s, sizeof s, "%s%u", (rnd() & 1) ? "-" : "", rnd() % 1000000);
            if (rnd() & 1) m += snprintf(s + m, sizeof s - (size_t)m, ".%u%u", rnd(), rnd());
            if (rnd() & 1) snprintf(s + m, sizeof s - (size_t)m, "e%d", (int)(rnd() % 700) - 350);
            double want = strtod(s, NULL);
            if (want - want != 0) want = -999.0;    /* not finite: the default */
            if (!same_double(num(s), want)) {
                if (bad++ < 5) printf("  number %s: %.17g != %.17g\n", s, num(s), strtod(s, NULL));
            }
        }
        CHECK(bad == 0);
    }
    /* ints: exact only */
    CHECK(inum("0", 7) == 0);
    CHECK(inum("-0", 7) == 0);
    CHECK(inum("12", 7) == 12);
    CHECK(inum("-3", 7) == -3);
    CHECK(inum("1e3", 7) == 1000);
    CHECK(inum("1E+3", 7) == 1000);
    CHECK(inum("2.5e1", 7) == 25);
    CHECK(inum("1.0", 7) == 1);
    CHECK(inum("1500e-2", 7) == 15);
    CHECK(inum("1.5", 7) == 7);
    CHECK(inum("1e-1", 7) == 7);
    CHECK(inum("0.0001e3", 7) == 7);
    CHECK(inum("0.001e3", 7) == 1);
    CHECK(inum("9223372036854775807", 7) == INT64_MAX);
    CHECK(inum("-9223372036854775808", 7) == INT64_MIN);
    CHECK(inum("9223372036854775808", 7) == 7);
    CHECK(inum("-9223372036854775809", 7) == 7);
    CHECK(inum("18446744073709551616", 7) == 7);
    CHECK(inum("100000000000000000000", 7) == 7);
    CHECK(inum("1000000000000000000", 7) == 1000000000000000000);
    CHECK(inum("1000000000000000000000e-3", 7) == 1000000000000000000);
    CHECK(inum("922337203685477580.7e1", 7) == INT64_MAX);
    CHECK(inum("9.223372036854775807e18", 7) == INT64_MAX);
    CHECK(inum("9.2233720368547758071e18", 7) == 7);
    CHECK(inum("1e19", 7) == 7);
    CHECK(inum("1e999999999999999", 7) == 7);
    CHECK(inum("0e999999999999999", 7) == 0);
    CHECK(inum("1e-999999999999999", 7) == 7);
    CHECK(inum("12345678901234567890123", 7) == 7);
    CHECK(inum("1.00000000000000000000000001", 7) == 7);
    CHECK(inum("100000000000000000000000000e-20", 7) == 1000000);
}

/* Midpoints between two doubles at the bottom of the range have up to 768 significant digits:
   m * 2^-1075 (m odd, below 2^54) is m * 5^1075 / 10^1075, and m * 5^1075 has 768 digits once
   m >= 4048045066146213 (about 1e-308 up to 2^-1021, 4.45e-308). Rounding such a number needs all
   768, plus whether anything nonzero follows. Writes the digits of m * 5^1075; returns how many. */
static size_t midpoint_digits(uint64_t m, char *out) {
    unsigned char d[800];       /* little-endian decimal digits */
    size_t n = 0, i, k;
    for (; m; m /= 10) d[n++] = (unsigned char)(m % 10);
    for (k = 0; k < 1075; k++) {
        unsigned carry = 0;
        for (i = 0; i < n; i++) {
            unsigned v = d[i] * 5u + carry;
            d[i] = (unsigned char)(v % 10);
            carry = v / 10;
        }
        if (carry) d[n++] = (unsigned char)carry;
    }
    for (i = 0; i < n; i++) out[i] = (char)('0' + d[n - 1 - i]);
    out[n] = 0;
    return n;
}

static uint64_t double_bits(double x) {
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

/* The digits D of m * 5^1075 written as D * 10^-1075, just below it (the last 5 becomes 4 and 200
   nines follow) or just above it (200 zeros, then a 1, 969 digits after the first). */
enum { BELOW, ON, ABOVE };

static void midpoint_text(uint64_t m, int where, char *out) {
    size_t n = midpoint_digits(m, out);
    if (where == BELOW) {
        out[n - 1] = (char)(out[n - 1] - 1);
        memset(out + n, '9', 200);
        sprintf(out + n + 200, "e-%d", 1075 + 200);
    } else if (where == ABOVE) {
        memset(out + n, '0', 200);
        sprintf(out + n + 200, "1e-%d", 1075 + 201);
    } else {
        strcpy(out + n, "e-1075");
    }
}

static int platform_skipped;

/* lq_json_number hands long numbers to the C library's strtod, so it is exactly as right as that:
   mingw-w64's (run under wine here) turns some long subnormal texts into DBL_MIN. Where the
   platform itself is wrong this cannot test livequery.h: such a case is skipped, not passed. */
static bool platform_misrounds(const char *text, uint64_t want) {
#ifdef _WIN32
    if (double_bits(strtod(text, NULL)) == want) return false;
    if (!platform_skipped++) printf("  note: this platform's strtod misrounds %.20s...; such cases are skipped\n", text);
    return true;
#else
    (void)text; (void)want;
    return false;
#endif
}

/* lq_json_number of text, as bits, must be want and what strtod gives for the whole text (this
   process runs in the C locale); also negated, and in plain decimal notation. */
static bool rounds_to(const char *text, uint64_t want) {
    static char alt[2048];
    const char *e = strchr(text, 'e');
    int exp = atoi(e + 1);
    size_t digits = (size_t)(e - text), lead = (size_t)(-exp) - digits;
    bool ok;
    ok = double_bits(num(text)) == want && double_bits(strtod(text, NULL)) == want;
    alt[0] = '-';
    strcpy(alt + 1, text);
    ok = ok && double_bits(num(alt)) == (want | 0x8000000000000000u);
    memcpy(alt, "0.", 2);                             /* D * 10^exp = 0.000...D */
    memset(alt + 2, '0', lead);
    memcpy(alt + 2 + lead, text, digits);
    alt[2 + lead + digits] = 0;
    ok = ok && double_bits(num(alt)) == want && double_bits(strtod(alt, NULL)) == want;
    if (!ok) printf("  %.20s... (%u digits) %016llx, want %016llx\n", text, (unsigned)digits,
                    (unsigned long long)double_bits(num(text)), (unsigned long long)want);
    return ok;
}

static void test_midpoints(void) {
    /* m, then the bits of the double just below, on and just above m * 2^-1075; computed apart
       from the C library, with Python's decimal and fractions (exact rational rounding) */
    static const uint64_t rows[][4] = {
        /* the largest subnormal | DBL_MIN; DBL_MIN | the next; then two above it */
        { 0x001FFFFFFFFFFFFFu, 0x000FFFFFFFFFFFFFu, 0x0010000000000000u, 0x0010000000000000u },
        { 0x0020000000000001u, 0x0010000000000000u, 0x0010000000000000u, 0x0010000000000001u },
        { 0x0020000000000003u, 0x0010000000000001u, 0x0010000000000002u, 0x0010000000000002u },
        /* the top of the first normal binade, up to 2^-1021 */
        { 0x003FFFFFFFFFFFFFu, 0x001FFFFFFFFFFFFFu, 0x0020000000000000u, 0x0020000000000000u },
        { 0x003FFFFFFFFFFFFDu, 0x001FFFFFFFFFFFFEu, 0x001FFFFFFFFFFFFEu, 0x001FFFFFFFFFFFFFu },
        { 0x0030000000000001u, 0x0018000000000000u, 0x0018000000000000u, 0x0018000000000001u },
        /* subnormals with 768 digits, the last the smallest such m */
        { 0x001FFFFFFFFFFFFDu, 0x000FFFFFFFFFFFFEu, 0x000FFFFFFFFFFFFEu, 0x000FFFFFFFFFFFFFu },
        { 0x0018000000000247u, 0x000C000000000123u, 0x000C000000000124u, 0x000C000000000124u },
        { 0x000E7416571C2F57u, 0x00073A0B2B8E17ABu, 0x00073A0B2B8E17ACu, 0x00073A0B2B8E17ACu },
        { 0x000E61ACF033D1A5u, 0x000730D67819E8D2u, 0x000730D67819E8D2u, 0x000730D67819E8D3u },
        /* fewer digits: 767, 752 and 753 */
        { 0x000E61ACF033D1A3u, 0x000730D67819E8D1u, 0x000730D67819E8D2u, 0x000730D67819E8D2u },
        { 0x0000000000000003u, 0x0000000000000001u, 0x0000000000000002u, 0x0000000000000002u },
        { 0x0000000000000005u, 0x0000000000000002u, 0x0000000000000002u, 0x0000000000000003u }
    };
    const uint64_t first768 = 0x000E61ACF033D1A5u, span = ((uint64_t)1 << 54) - first768;
    static char text[1400];
    size_t i;
    int k, w, bad = 0;
    CHECK(midpoint_digits(0x001FFFFFFFFFFFFFu, text) == 768);
    CHECK(midpoint_digits(first768, text) == 768 && midpoint_digits(first768 - 2, text) == 767);
    for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        for (w = BELOW; w <= ABOVE; w++) {
            midpoint_text(rows[i][0], w, text);
            if (!platform_misrounds(text, rows[i][1 + w])) CHECK(rounds_to(text, rows[i][1 + w]));
        }
        /* exactly on it, with zeros after digit 768: still the tie, to even */
        midpoint_text(rows[i][0], ON, text);
        strcpy(strchr(text, 'e'), "00000000000000000000e-1095");
        if (!platform_misrounds(text, rows[i][2])) CHECK(rounds_to(text, rows[i][2]));
    }
    /* random midpoints with 768 digits (m from first768 to 2^54 - 1, where a double's bits are
       its value in units of 2^-1074): below rounds down, above up, on to the even neighbour */
    for (k = 0; k < 300; k++) {
        uint64_t m = (first768 + (((uint64_t)rnd() << 32 | rnd()) % span)) | 1;
        uint64_t lo = (m - 1) / 2, hi = (m + 1) / 2;
        midpoint_digits(m, text);
        if (strlen(text) != 768) bad++;
        for (w = BELOW; w <= ABOVE; w++) {
            uint64_t want = w == BELOW ? lo : w == ABOVE ? hi : (lo % 2 ? hi : lo);
            midpoint_text(m, w, text);
            if (!platform_misrounds(text, want) && !rounds_to(text, want)) bad++;
        }
    }
    CHECK(bad == 0);
}

/* The C library may read "1.5" as 1 in a comma locale; the reader must not. */
static void test_locale(void) {
    static const char *const names[] = { "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "de_DE", "fr_FR" };
    size_t i;
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (setlocale(LC_NUMERIC, names[i])) {
            CHECK(num("1.5") == 1.5);
            CHECK(num("-1234.5678e-2") == -12.345678);
            CHECK(same_double(num("0.1000000000000000055511151231257827021181583404541015625000001"), 0.1));
            setlocale(LC_NUMERIC, "C");
            return;
        }
    }
}

/* ---- Parse types and real frames ---------------------------------------------------------------- */

static void test_parse_types(void) {
    lq_json root, a, b;
    double la = 1, lo = 1;
    root = doc("{\"when\":{\"__type\":\"Date\",\"iso\":\"2026-11-27T23:40:37.606Z\"},"
               "\"owner\":{\"__type\":\"Pointer\",\"className\":\"_User\",\"objectId\":\"yRYE8AkN7R\"},"
               "\"where\":{\"__type\":\"GeoPoint\",\"latitude\":40.0,\"longitude\":-30.5},"
               "\"pic\":{\"__type\":\"File\",\"name\":\"abc_pic.png\",\"url\":\"http://127.0.0.1:1337/parse/files/myAppId/abc_pic.png\"},"
               "\"bad1\":{\"__type\":\"Date\",\"iso\":5},"
               "\"bad2\":{\"__type\":\"GeoPoint\",\"latitude\":\"40\",\"longitude\":1},"
               "\"bad3\":{\"__type\":\"GeoPoint\",\"latitude\":1e999,\"longitude\":1},"
               "\"bad4\":{\"__type\":\"Pointer\",\"className\":\"_User\"},"
               "\"bad5\":{\"__typ\\u0065\":\"Fil\\u0065\",\"name\":\"n\",\"url\":\"u\"},"
               "\"bad6\":[\"__type\",\"Date\"]}");
    CHECK(lq_json_date(lq_json_get(root, "when"), &a));
    CHECK(str_is(a, "2026-11-27T23:40:37.606Z"));
    CHECK(lq_json_date(lq_json_get(root, "when"), NULL));
    CHECK(!lq_json_date(lq_json_get(root, "owner"), &a) && !lq_json_exists(a));
    CHECK(!lq_json_date(lq_json_get(root, "bad1"), &a) && !lq_json_exists(a));
    CHECK(!lq_json_date(lq_json_get(root, "bad6"), &a));
    CHECK(lq_json_pointer(lq_json_get(root, "owner"), &a, &b));
    CHECK(str_is(a, "_User") && str_is(b, "yRYE8AkN7R"));
    CHECK(!lq_json_pointer(lq_json_get(root, "bad4"), &a, &b) && !lq_json_exists(a) && !lq_json_exists(b));
    CHECK(lq_json_geopoint(lq_json_get(root, "where"), &la, &lo));
    CHECK(la == 40.0 && lo == -30.5);
    CHECK(lq_json_geopoint(lq_json_get(root, "where"), NULL, NULL));
    CHECK(!lq_json_geopoint(lq_json_get(root, "bad2"), &la, &lo) && la == 0 && lo == 0);
    CHECK(!lq_json_geopoint(lq_json_get(root, "bad3"), &la, &lo));
    CHECK(!lq_json_geopoint(lq_json_get(root, "pic"), &la, &lo));
    CHECK(lq_json_file(lq_json_get(root, "pic"), &a, &b));
    CHECK(str_is(a, "abc_pic.png") && lq_json_string_eq(b, "http://127.0.0.1:1337/parse/files/myAppId/abc_pic.png"));
    CHECK(lq_json_file(lq_json_get(root, "bad5"), &a, &b));     /* escapes decode in keys and values */
    a.tok = NULL;
    CHECK(!lq_json_file(a, &a, &b) && !lq_json_pointer(a, NULL, NULL) && !lq_json_geopoint(a, &la, NULL));
    CHECK(!lq_json_date(a, NULL));
}

/* Frames as parse-server 9.10.0 sent them (docs/captured-frames.txt). */
static void test_frames(void) {
    lq_json root, o;
    char buf[64];
    root = doc("{\"op\":\"update\",\"clientId\":\"3a8a95f1-8308-4b7e-ae96-8d0d2860ba3d\",\"requestId\":1,"
               "\"object\":{\"createdAt\":\"2026-11-27T23:40:37.606Z\",\"updatedAt\":\"2026-11-27T23:40:38.043Z\","
               "\"score\":30,\"playerName\":\"high\",\"tags\":[\"x\"],\"className\":\"GameScore\","
               "\"objectId\":\"Qd8DdJGVgH\"},\"original\":{\"createdAt\":\"2026-11-27T23:40:37.606Z\","
               "\"updatedAt\":\"2026-11-27T23:40:37.606Z\",\"score\":20,\"playerName\":\"high\",\"tags\":[\"x\"],"
               "\"className\":\"GameScore\",\"objectId\":\"Qd8DdJGVgH\"}}");
    CHECK(lq_json_string_eq(lq_json_get(root, "op"), "update"));
    CHECK(lq_json_int(lq_json_get(root, "requestId"), 0) == 1);
    CHECK(lq_json_int(lq_json_path(root, "object.score"), 0) == 30);
    CHECK(lq_json_number(lq_json_path(root, "object.score"), 0) == 30.0);
    CHECK(lq_json_int(lq_json_path(root, "original.score"), 0) == 20);
    CHECK(str_is(lq_json_path(root, "original.playerName"), "high"));
    CHECK(str_is(lq_json_path(root, "object.tags.0"), "x"));
    CHECK(!lq_json_exists(lq_json_path(root, "object.tags.1")));
    CHECK(lq_json_count(lq_json_get(root, "object")) == 7);
    CHECK(lq_json_count(root) == 5);
    o = lq_json_get(root, "object");
    CHECK(lq_json_string(lq_json_get(o, "objectId"), buf, sizeof buf) == 10 && strcmp(buf, "Qd8DdJGVgH") == 0);

    root = doc("{\"op\":\"create\",\"clientId\":\"ba5f1a1f-0962-4418-ba68-9222a313dd8c\",\"requestId\":1,"
               "\"object\":{\"score\":42,\"playerName\":\"private\",\"ACL\":{\"yRYE8AkN7R\":{\"read\":true,"
               "\"write\":true}},\"createdAt\":\"2026-11-27T23:40:44.564Z\",\"updatedAt\":\"2026-11-27T23:40:44.564Z\","
               "\"className\":\"GameScore\",\"objectId\":\"esJ2W988g1\"}}");
    CHECK(lq_json_bool(lq_json_path(root, "object.ACL.yRYE8AkN7R.write"), false));
    CHECK(str_is(lq_json_key(lq_json_child(lq_json_path(root, "object.ACL"))), "yRYE8AkN7R"));
    CHECK(!lq_json_exists(lq_json_get(root, "original")));

    root = doc("{\"op\":\"error\",\"error\":\"No enum match for: \\\"foo\\\"\",\"code\":1,\"reconnect\":true,\"requestId\":null}");
    CHECK(str_is(lq_json_get(root, "error"), "No enum match for: \"foo\""));
    CHECK(lq_json_int(lq_json_get(root, "code"), 0) == 1);
    CHECK(lq_json_bool(lq_json_get(root, "reconnect"), false));
    CHECK(lq_json_is_null(lq_json_get(root, "requestId")));
    CHECK(lq_json_int(lq_json_get(root, "requestId"), -1) == -1);

    root = doc("{\"op\":\"connected\",\"clientId\":\"3a8a95f1-8308-4b7e-ae96-8d0d2860ba3d\"}");
    CHECK(lq_json_string_eq(lq_json_get(root, "clientId"), "3a8a95f1-8308-4b7e-ae96-8d0d2860ba3d"));
}

/* Every server frame of the capture parses, if the capture is at hand. */
static void test_capture_file(void) {
    static const char *const paths[] = { "../shared/docs/captured-frames.txt", "/work/shared/docs/captured-frames.txt" };
    static char line[65536];
    FILE *f = NULL;
    size_t i;
    int frames = 0, bad = 0;
    for (i = 0; i < sizeof paths / sizeof paths[0] && !f; i++) f = fopen(paths[i], "r");
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        char *p = strstr(line, "<< {");
        size_t n;
        lq_json root;
        if (!p) continue;
        p += 3;
        n = strcspn(p, "\r\n");
        frames++;
        if (counted(p, n, 0, lq_json_parse(p, n, toks, sizeof toks / sizeof toks[0], 0, &root)) < 1 ||
            !lq_json_exists(lq_json_get(root, "op")))
            bad++;
    }
    fclose(f);
    CHECK(frames > 50 && bad == 0);
}

int main(void) {
    tu_harness_init(&heap);
    test_utf8();
    test_writer();
    test_invalid();
    test_prefixes();
    test_depth();
    test_layout();
    test_big_count();
    test_count_random();
    test_count_nesting();
    test_count_args();
    test_count_huge();
    test_access();
    test_string_decode();
    test_numbers();
    test_midpoints();
    test_locale();
    test_parse_types();
    test_frames();
    test_capture_file();
    CHECK(heap.live == 0);                            /* every writer buffer was given back */
    if (platform_skipped) printf("json: %d midpoint cases skipped (the platform's strtod is wrong on them)\n", platform_skipped);
    return tu_report("json");
}
