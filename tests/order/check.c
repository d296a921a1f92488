/* check.c - the C half of tests/order/live.sh: reads what live.js wrote (the server's answers to
   GET /parse/classes/OrderCheck?order=...) and checks lq__order_parse and lq__order_cmp with it.

     check RESULTS_JSON

   For every answer with rows: an order that ends every tie (objectId among its keys) must sort
   the same rows into the server's very sequence; any other must find the server's sequence in
   order (each row not after the next) with the ties left to the server. An order the server
   refuses as an invalid field name (code 105) must be refused by lq__order_parse, and one it
   answers must be taken, but for the few listed below. Prints one line per order; exit 1 on any
   mismatch. */
#define LIVEQUERY_IMPLEMENTATION
#define LQ_NO_SOCKETS
#include "../../livequery.h"

/* Two rows in the view's order, as the view compares them: each row's values cached, then compared. */
static int lq__order_cmp(const lq__order *o, lq_json a, lq_json b) {
    lq__order_kv x[LQ__ORDER_MAX + 1], y[LQ__ORDER_MAX + 1];
    lq__order_cache(o, a, x);
    lq__order_cache(o, b, y);
    return lq__order_kcmp(o, x, y);
}

/* Orders the parser refuses on purpose though the server answers them. */
static const char *const refused_on_purpose[] = {
    "o.", "o.,objectId",    /* an empty part: the server reads "o"->0, NULL in every row */
};

static int failures;

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        if (f) fclose(f);
        return NULL;
    }
    buf = (char *)malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

static bool on_purpose(const char *order) {
    size_t i;
    for (i = 0; i < sizeof refused_on_purpose / sizeof refused_on_purpose[0]; i++)
        if (strcmp(order, refused_on_purpose[i]) == 0) return true;
    return false;
}

static const lq__order *sort_order;

static int by_order(const void *x, const void *y) {
    return lq__order_cmp(sort_order, *(const lq_json *)x, *(const lq_json *)y);
}

static void print_row(const char *what, lq_json row) {
    size_t n;
    const char *raw = lq_json_raw(row, &n);
    printf("    %s %.*s\n", what, n > 300 ? 300 : (int)n, raw);
}

/* The server's rows in its sequence, against ours. */
static bool check_rows(const char *order, bool exact, lq_json results) {
    size_t n = lq_json_count(results), i;
    lq_json *rows = (lq_json *)malloc((n ? n : 1) * sizeof *rows), *sorted = (lq_json *)malloc((n ? n : 1) * sizeof *rows);
    lq__order o;
    bool ok = true;
    if (!rows || !sorted) exit(2);
    lq__order_parse(order, &o);
    for (i = 0; i < n; i++) rows[i] = sorted[i] = lq_json_at(results, i);
    if (exact) {
        sort_order = &o;
        qsort(sorted, n, sizeof *sorted, by_order);
        for (i = 0; i < n && ok; i++) {
            ok = lq_json_raw(sorted[i], NULL) == lq_json_raw(rows[i], NULL);
            if (!ok) {
                printf("FAIL %-36s row %u: the server has, we have:\n", order, (unsigned)i);
                print_row("server", rows[i]);
                print_row("ours  ", sorted[i]);
            }
        }
    } else {
        o.n--;                                      /* the appended objectId: ties are the server's */
        for (i = 0; i + 1 < n && ok; i++) {
            ok = lq__order_cmp(&o, rows[i], rows[i + 1]) <= 0;
            if (!ok) {
                printf("FAIL %-36s rows %u and %u are out of order for us:\n", order, (unsigned)i, (unsigned)i + 1);
                print_row("first ", rows[i]);
                print_row("second", rows[i + 1]);
            }
        }
    }
    free(rows);
    free(sorted);
    return ok;
}

static void check_answer(lq_json e) {
    char order[256], error[256];
    lq__order o;
    int status = (int)lq_json_int(lq_json_get(e, "status"), 0);
    int code = (int)lq_json_int(lq_json_get(e, "code"), 0);
    bool exact = lq_json_bool(lq_json_get(e, "exact"), false);
    lq_json results = lq_json_get(e, "results");
    lq_result parsed;
    lq_json_string(lq_json_get(e, "order"), order, sizeof order);
    lq_json_string(lq_json_get(e, "error"), error, sizeof error);
    parsed = lq__order_parse(order, &o);
    if (status != 200) {
        bool ok = code == 105 ? parsed == LQ_ERR_INVALID_ARG : parsed == LQ_OK;
        printf("%s %-36s server %d code %d \"%s\"; lq__order_parse: %s\n", ok ? "ok  " : "FAIL", order, status, code,
               error, lq_result_str(parsed));
        failures += !ok;
        return;
    }
    if (parsed != LQ_OK) {
        bool ok = on_purpose(order);
        printf("%s %-36s server answered %u rows; lq__order_parse: %s%s\n", ok ? "ok  " : "FAIL", order,
               (unsigned)lq_json_count(results), lq_result_str(parsed), ok ? " (on purpose)" : "");
        failures += !ok;
        return;
    }
    if (!check_rows(order, exact, results)) {
        failures++;
        return;
    }
    printf("ok   %-36s %u rows, %s\n", order, (unsigned)lq_json_count(results),
           exact ? "the server's sequence" : "in order, the server's ties");
}

int main(int argc, char **argv) {
    size_t len;
    char *text;
    lq_json_token *tokens;
    lq_json root, e;
    int n, count = 0;
    if (argc != 2) {
        fprintf(stderr, "usage: check RESULTS_JSON\n");
        return 2;
    }
    text = read_file(argv[1], &len);
    if (!text) {
        fprintf(stderr, "check: cannot read %s\n", argv[1]);
        return 2;
    }
    n = lq_json_parse(text, len, NULL, 0, 0, NULL);
    tokens = n > 0 ? (lq_json_token *)malloc((size_t)n * sizeof *tokens) : NULL;
    if (!tokens || lq_json_parse(text, len, tokens, (size_t)n, 0, &root) != n || lq_json_kind(root) != LQ_JSON_ARRAY) {
        fprintf(stderr, "check: %s is not the JSON array live.js writes (%s)\n", argv[1], lq_result_str((lq_result)n));
        return 2;
    }
    for (e = lq_json_child(root); e.tok; e = lq_json_next(e), count++) check_answer(e);
    printf("live order check: %d answers, %d failed\n", count, failures);
    free(tokens);
    free(text);
    return failures || count == 0 ? 1 : 0;
}
