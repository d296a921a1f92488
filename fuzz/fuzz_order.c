/* libFuzzer target for the order of a live view's rows (>>order).
   Input: an order parameter up to the first newline, then up to three JSON rows, one a line.
   The parse must give a valid order or LQ_ERR_INVALID_ARG and nothing; the comparison, under
   that order and a few fixed ones, must be reflexive, antisymmetric and transitive on the rows,
   so that a sort of them is well defined.
   Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -I. fuzz/fuzz_order.c -o fuzz_order
   Run:   ./fuzz_order -max_total_time=60 */
#define LIVEQUERY_IMPLEMENTATION
#define LQ_NO_SOCKETS
#include "../livequery.h"

/* Two rows in the view's order, as the view compares them: each row's values cached, then compared. */
static int lq__order_cmp(const lq__order *o, lq_json a, lq_json b) {
    lq__order_kv x[LQ__ORDER_MAX + 1], y[LQ__ORDER_MAX + 1];
    lq__order_cache(o, a, x);
    lq__order_cache(o, b, y);
    return lq__order_kcmp(o, x, y);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ROWS 3

static void require(bool ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

static int sign(int x) { return (x > 0) - (x < 0); }

static void check_parse(const char *s, lq_result r, const lq__order *o) {
    int i;
    if (r != LQ_OK) {
        require(r == LQ_ERR_INVALID_ARG && o->n == 0, "a refused order has no keys");
        return;
    }
    require(o->n >= 1 && o->n <= LQ__ORDER_MAX + 1, "key count");
    require(lq__order_find(o, "objectId", 8) >= 0, "objectId is a key");
    for (i = 0; i < o->n; i++) {
        const lq__order_key *k = &o->key[i];
        bool inside = k->name >= s && k->name + k->len <= s + strlen(s);
        require(k->len > 0 && (inside || lq__order_is(k->name, k->len, "objectId") ||
                               lq__order_is(k->name, k->len, "createdAt") || lq__order_is(k->name, k->len, "updatedAt")),
                "keys point into the string or at static names");
        require(lq__order_find(o, k->name, k->len) == i, "no key twice");
    }
}

/* c(x, y) for every pair and triple of rows. */
static void check_cmp(const lq__order *o, const lq_json *rows, int n) {
    int i, j, k, c[ROWS][ROWS];
    for (i = 0; i < n; i++)
        for (j = 0; j < n; j++) c[i][j] = sign(lq__order_cmp(o, rows[i], rows[j]));
    for (i = 0; i < n; i++) {
        require(c[i][i] == 0, "reflexive");
        for (j = 0; j < n; j++) {
            require(c[i][j] == -c[j][i], "antisymmetric");
            for (k = 0; k < n; k++) {
                if (c[i][j] <= 0 && c[j][k] <= 0) require(c[i][k] <= 0, "transitive");
                if (c[i][j] == 0) require(c[i][k] == c[j][k], "equal rows sort alike");
            }
        }
    }
}

static void check_jsonb(const lq_json *rows, int n) {
    int i, j, k, c[ROWS][ROWS];
    for (i = 0; i < n; i++)
        for (j = 0; j < n; j++) c[i][j] = sign(lq__order_jsonb(rows[i], rows[j], 0));
    for (i = 0; i < n; i++)
        for (j = 0; j < n; j++) {
            require(c[i][j] == -c[j][i], "jsonb antisymmetric");
            for (k = 0; k < n; k++)
                if (c[i][j] <= 0 && c[j][k] <= 0) require(c[i][k] <= 0, "jsonb transitive");
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const fixed[] = {"x", "-x,y", "x.b", "-x.0,createdAt", "createdAt,-updatedAt"};
    const char *text = (const char *)data, *end = text + size, *nl;
    char order[256];
    lq_json_token *tokens = (lq_json_token *)malloc((size + 1) * sizeof *tokens);
    lq_json rows[ROWS];
    lq__order o;
    size_t used = 0, i;
    int n = 0;
    lq_result r;
    if (!tokens) return 0;
    nl = (const char *)memchr(text, '\n', size);
    if (!nl) nl = end;
    i = (size_t)(nl - text) < sizeof order - 1 ? (size_t)(nl - text) : sizeof order - 1;
    memcpy(order, text, i);
    order[i] = 0;
    o.n = 7;
    r = lq__order_parse(order, &o);
    check_parse(order, r, &o);
    for (text = nl; text < end && n < ROWS; text = nl) {
        lq_json root;
        int got;
        text++;
        nl = text < end ? (const char *)memchr(text, '\n', (size_t)(end - text)) : NULL;
        if (!nl) nl = end;
        got = lq_json_parse(text, (size_t)(nl - text), tokens + used, size + 1 - used, 0, &root);
        if (got > 0) {
            rows[n++] = root;
            used += (size_t)got;
        }
    }
    if (r == LQ_OK) check_cmp(&o, rows, n);
    for (i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        require(lq__order_parse(fixed[i], &o) == LQ_OK, "fixed order");
        check_cmp(&o, rows, n);
    }
    check_jsonb(rows, n);
    free(tokens);
    return 0;
}
