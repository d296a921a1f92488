/* libFuzzer target for the JSON reader, the JSON string writer and the UTF-8 checker.
   Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -I. fuzz/fuzz_json.c -o fuzz_json
   Run:   ./fuzz_json -max_total_time=60 */
#define LIVEQUERY_IMPLEMENTATION
#include "../livequery.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SMALL 8

static void require(bool ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

/* Calls every getter on one value and checks what can be checked. */
static void poke(lq_json v) {
    char small[5], big[4096];
    size_t len, full, i;
    double la, lo;
    lq_json a, b;
    lq_json_type kind = lq_json_kind(v);
    const char *raw = lq_json_raw(v, &len);
    int64_t i1 = lq_json_int(v, 1), i2 = lq_json_int(v, 2);
    double d = lq_json_number(v, 0.5);

    require(raw != NULL, "raw");
    require(lq_json_exists(v) && kind != LQ_JSON_NONE, "kind");
    require(lq_json_is_null(v) == (kind == LQ_JSON_NULL), "is_null");
    (void)lq_json_bool(v, false);
    full = lq_json_string(v, NULL, 0);
    require(lq_json_string(v, small, sizeof small) == full, "string length");
    require(strlen(small) < sizeof small && lq__utf8_valid((const unsigned char *)small, strlen(small)),
            "cut string is UTF-8");
    if (kind == LQ_JSON_STRING && full < sizeof big) {
        lq_json_string(v, big, sizeof big);
        require(lq__utf8_valid((const unsigned char *)big, full), "decoded string is UTF-8");
        require(memcmp(small, big, strlen(small)) == 0, "cut string is a prefix");
        if (strlen(big) == full) require(lq_json_string_eq(v, big), "string_eq of the decoding");
    }
    if (kind == LQ_JSON_NUMBER) {
        char copy[512];
        require(i1 == i2 || (i1 == 1 && i2 == 2), "int default");
        if (i1 == i2) require(d == (double)i1, "int and number agree");
        if (len < sizeof copy) {
            double want;
            memcpy(copy, raw, len);
            copy[len] = 0;
            want = strtod(copy, NULL);
            if (want - want == 0) require(memcmp(&want, &d, sizeof d) == 0, "number equals strtod");
            else require(d == 0.5, "non-finite number gives the default");
        }
    } else {
        require(i1 == 1 && i2 == 2 && d == 0.5, "non-number getters give defaults");
    }
    if (kind == LQ_JSON_OBJECT || kind == LQ_JSON_ARRAY) {
        size_t count = lq_json_count(v), seen = 0;
        lq_json c;
        for (c = lq_json_child(v); lq_json_exists(c); c = lq_json_next(c)) {
            require(c.tok > v.tok && c.tok < v.tok + v.tok->skip, "child inside parent");
            if (kind == LQ_JSON_ARRAY) {
                require(lq_json_at(v, seen).tok == c.tok, "at");
                require(!lq_json_exists(lq_json_key(c)), "array items have no key");
            } else {
                lq_json k = lq_json_key(c), found;
                require(lq_json_kind(k) == LQ_JSON_STRING && k.tok == c.tok - 1, "key");
                full = lq_json_string(k, big, sizeof big);
                if (full < sizeof big) {
                    found = lq_json_getn(v, big, full);
                    require(found.tok && found.tok <= c.tok, "getn finds the member or an earlier twin");
                    require(lq_json_string_eq(lq_json_key(found), big) || strlen(big) != full, "twin key");
                }
            }
            seen++;
            require(seen <= count, "count");
        }
        require(seen == count, "count matches iteration");
        require(!lq_json_exists(lq_json_at(v, count)), "at past the end");
    } else {
        require(lq_json_count(v) == 0 && !lq_json_exists(lq_json_child(v)), "scalars have no children");
    }
    (void)lq_json_date(v, &a);
    (void)lq_json_pointer(v, &a, &b);
    (void)lq_json_file(v, &a, &b);
    (void)lq_json_geopoint(v, &la, &lo);
    (void)lq_json_get(v, "__type");
    (void)lq_json_path(v, "a.0.b");
    for (i = 0; i < 3; i++) (void)lq_json_at(v, i);
}

static void check_layout(const lq_json_token *t, int n, size_t size) {
    int i;
    require(t[0].skip == (uint32_t)n, "root spans all tokens");
    require(t[0].flags & LQ__TOK_ROOT, "root flag");
    for (i = 0; i < n; i++) {
        require(t[i].skip >= 1 && (size_t)i + t[i].skip <= (size_t)n, "skip in range");
        require((size_t)t[i].start + t[i].len <= size && t[i].len >= 1, "extent in range");
        require(i == 0 || !(t[i].flags & LQ__TOK_ROOT), "one root");
        if (t[i].flags & LQ__TOK_KEY) {
            require(t[i].type == LQ_JSON_STRING && t[i].skip == 1 && i + 1 < n, "key shape");
            require(!(t[i + 1].flags & LQ__TOK_KEY), "key then value");
        }
    }
}

static void fuzz_json(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    lq_json_token small[SMALL];
    lq_json_token *big = (lq_json_token *)malloc((size + 1) * sizeof *big);
    lq_json_token *raw = (lq_json_token *)malloc((size + 1) * sizeof *raw);
    lq_json root, root2;
    int n, n_small, n_raw, i;

    n = lq_json_parse(text, size, big, size + 1, 0, &root);
    require(n != LQ_ERR_TOO_SMALL, "a token per byte is always enough");
    n_small = lq_json_parse(text, size, small, SMALL, 0, &root2);
    if (n > 0) require(n_small == (n <= SMALL ? n : LQ_ERR_TOO_SMALL), "small array");
    else require(n_small == n || n_small == LQ_ERR_TOO_SMALL, "small array, bad text");
    n_raw = lq__json_parse(text, size, raw, size + 1, 0, false, &root2);
    if (n > 0) require(n_raw == n && memcmp(raw, big, (size_t)n * sizeof *big) == 0, "unchecked parse agrees");
    if (n_raw == LQ_ERR_JSON) require(n == LQ_ERR_JSON || n == LQ_ERR_UTF8, "unchecked JSON error");

    if (n > 0) {
        require(root.tok == big, "root");
        check_layout(big, n, size);
        for (i = 0; i < n; i++) {
            lq_json v;
            v.src = text;
            v.tok = &big[i];
            poke(v);
            (void)lq_json_next(v);
            (void)lq_json_key(v);
        }
    } else {
        require(root.tok == NULL, "no root on failure");
    }
    /* the unchecked parse must be safe on any bytes, too */
    if (n_raw > 0) {
        for (i = 0; i < n_raw; i++) {
            char buf[16];
            lq_json v;
            v.src = text;
            v.tok = &raw[i];
            (void)lq_json_string(v, buf, sizeof buf);
            (void)lq_json_string_eq(v, "op");
            (void)lq_json_get(v, "op");
            (void)lq_json_number(v, 0);
            (void)lq_json_next(v);
        }
    }
    free(big);
    free(raw);
}

static void fuzz_utf8(const uint8_t *data, size_t size) {
    const unsigned char *s = (const unsigned char *)data;
    bool whole = lq__utf8_valid(s, size);
    size_t cut = size ? (size_t)(data[0] * 31u + data[size - 1]) % (size + 1) : 0, i;
    uint32_t st = lq__utf8_step(0, s, cut);
    st = lq__utf8_step(st, s + cut, size - cut);
    require((st == 0) == whole, "split step equals one shot");
    if (size < 64) {
        for (st = 0, i = 0; i < size; i++) st = lq__utf8_step(st, s + i, 1);
        require((st == 0) == whole, "byte steps equal one shot");
    }
}

static void fuzz_writer(const uint8_t *data, size_t size) {
    static lq_allocator a = { lq__default_alloc, lq__default_free, NULL };
    lq__buf b;
    lq_result r;
    memset(&b, 0, sizeof b);
    b.a = &a;
    b.limit = (size_t)1 << 24;
    lq__json_put_str(&b, (const char *)data, size);
    r = b.err;
    if (!lq__utf8_valid(data, size)) {
        require(r == LQ_ERR_UTF8 && b.len == 0, "writer refuses bad UTF-8");
    } else {
        lq_json_token t[1];
        lq_json root;
        char *out = (char *)malloc(size + 1);
        require(r == LQ_OK, "writer");
        require(lq_json_parse(b.data, b.len, t, 1, 0, &root) == 1, "written string parses");
        require(lq_json_string(root, out, size + 1) == size && memcmp(out, data, size) == 0, "round trip");
        free(out);
    }
    lq__buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_json(data, size);
    fuzz_utf8(data, size);
    fuzz_writer(data, size);
    return 0;
}
