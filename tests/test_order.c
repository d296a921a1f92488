/* test_order.c - the order of a live view's rows (>>order: lq__order_parse, lq__order_cmp).

   The expected orders are what Parse Server 9.10.0 on PostgreSQL 15 (cluster made with
   --locale=C.UTF-8) answered for GET /parse/classes/<Class>?order=... (tests/order/live.sh checks
   the same against a running server). Every comparison is checked both ways (a before b, and b
   after a), and sorts of fixture rows must come out in the server's sequence.
   Built with LQ_NO_SOCKETS: the order is the core's. */
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
#include "testutil.h"

static lq_json_token pool[1 << 16];
static size_t pool_used;

/* Parses a document into the pool; the pool is reset between cases. */
static lq_json doc(const char *s) {
    lq_json root;
    int n = lq_json_parse(s, strlen(s), pool + pool_used, sizeof pool / sizeof pool[0] - pool_used, 0, &root);
    if (!CHECKF(n > 0, "parse %d: %s", n, s)) {
        root.tok = NULL;
        return root;
    }
    pool_used += (size_t)n;
    return root;
}

static lq__order order_of(const char *s) {
    lq__order o;
    lq_result r = lq__order_parse(s, &o);
    CHECKF(r == LQ_OK, "order \"%s\": %s", s, lq_result_str(r));
    return o;
}

static int sign(int x) { return (x > 0) - (x < 0); }

/* The comparison of rows a and b under order, checked against its mirror image. */
static int cmp3(const char *order, const char *a, const char *b) {
    lq__order o = order_of(order);
    lq_json x, y;
    int ab, ba;
    pool_used = 0;
    x = doc(a);
    y = doc(b);
    ab = sign(lq__order_cmp(&o, x, y));
    ba = sign(lq__order_cmp(&o, y, x));
    CHECKF(ab == -ba, "not antisymmetric: %d, %d for %s | %s | %s", ab, ba, order, a, b);
    CHECKF(lq__order_cmp(&o, x, x) == 0, "not reflexive: %s | %s", order, a);
    return ab;
}

#define LESS(order, a, b) CHECKF(cmp3(order, a, b) < 0, "%s: %s before %s", order, a, b)
#define SAME(order, a, b) CHECKF(cmp3(order, a, b) == 0, "%s: %s with %s", order, a, b)

/* One value of key x in a row. */
static void lt_x(const char *a, const char *b) {
    char ra[512], rb[512];
    snprintf(ra, sizeof ra, "{\"x\":%s}", a);
    snprintf(rb, sizeof rb, "{\"x\":%s}", b);
    LESS("x", ra, rb);
    LESS("-x", rb, ra);
}

static void eq_x(const char *a, const char *b) {
    char ra[512], rb[512];
    snprintf(ra, sizeof ra, "{\"x\":%s}", a);
    snprintf(rb, sizeof rb, "{\"x\":%s}", b);
    SAME("x", ra, rb);
    SAME("-x", ra, rb);
}

/* ---- parsing ---------------------------------------------------------------------------------- */

static bool key_is(const lq__order *o, int i, const char *name, bool desc) {
    return i < o->n && o->key[i].len == strlen(name) && memcmp(o->key[i].name, name, o->key[i].len) == 0 &&
           o->key[i].desc == desc;
}

static void bad_order(const char *s) {
    lq__order o;
    o.n = 5;
    CHECKF(lq__order_parse(s, &o) == LQ_ERR_INVALID_ARG && o.n == 0, "order \"%s\" is refused", s);
}

static void test_parse(void) {
    static const char s[] = "-score,playerName";
    const char *bad[] = {",", "a,", ",a", "a,,b", " , ", " ", "-", "--a", "- a", "$score", "-$score", "_x", "1a",
                         "a b", "a-b", "className", "length", "-length.x", "authData.facebook.id", "o.", "o..b",
                         ".o", "\xc3\xa9", "a,b,c,d,e,f,g,h,i", "_created_atx", "_rperm", "ACL,"};
    const char *good[] = {"lengthy", "classNames", "authData.fb.idx", "authData.id", "authData.a.b.id", "o.b",
                          "arr.0", "o.a b", "o.$x", "a_1,B2", "a,b,c,d,e,f,g,objectId", "ACL"};
    lq__order o;
    size_t i;
    CHECK(lq__order_parse(s, &o) == LQ_OK && o.n == 3);
    CHECK(key_is(&o, 0, "score", true) && key_is(&o, 1, "playerName", false) && key_is(&o, 2, "objectId", false));
    CHECK(o.key[0].name == s + 1 && o.key[1].name == s + 7);          /* into the caller's string */
    CHECK(o.key[0].kind == LQ__ORDER_FIELD);
    CHECK(lq__order_parse("", &o) == LQ_OK && o.n == 1 && key_is(&o, 0, "objectId", false));
    CHECK(lq__order_parse(NULL, &o) == LQ_OK && o.n == 1 && key_is(&o, 0, "objectId", false));
    CHECK(lq__order_parse("-objectId", &o) == LQ_OK && o.n == 1 && key_is(&o, 0, "objectId", true));
    CHECK(lq__order_parse("objectId,n", &o) == LQ_OK && o.n == 2 && key_is(&o, 1, "n", false));
    CHECK(lq__order_parse("  -score\t, name \r\n", &o) == LQ_OK && o.n == 3);        /* trimmed */
    CHECK(key_is(&o, 0, "score", true) && key_is(&o, 1, "name", false));
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) bad_order(bad[i]);
    for (i = 0; i < sizeof good / sizeof good[0]; i++)
        CHECKF(lq__order_parse(good[i], &o) == LQ_OK, "order \"%s\" is taken", good[i]);
    /* 8 keys and objectId; the 8 of the last good one include objectId */
    CHECK(lq__order_parse("a,b,c,d,e,f,g,h", &o) == LQ_OK && o.n == 9 && key_is(&o, 8, "objectId", false));
    CHECK(lq__order_parse("a,b,c,d,e,f,g,objectId", &o) == LQ_OK && o.n == 8);
    /* a repeated key keeps its first place and takes its last direction (server: t,b,-t = -t,b) */
    CHECK(lq__order_parse("t,b,-t", &o) == LQ_OK && o.n == 3 && key_is(&o, 0, "t", true) && key_is(&o, 1, "b", false));
    CHECK(lq__order_parse("a,a,a,a,a,a,a,a,a,a,-a", &o) == LQ_OK && o.n == 2 && key_is(&o, 0, "a", true));
    /* _created_at: createdAt's place if there, else the end; its own direction */
    CHECK(lq__order_parse("_created_at,b", &o) == LQ_OK && o.n == 3);
    CHECK(key_is(&o, 0, "b", false) && key_is(&o, 1, "createdAt", false) && key_is(&o, 2, "objectId", false));
    CHECK(o.key[1].kind == LQ__ORDER_TIME);
    CHECK(lq__order_parse("-createdAt,n,_created_at", &o) == LQ_OK && o.n == 3);
    CHECK(key_is(&o, 0, "createdAt", false) && key_is(&o, 1, "n", false));
    CHECK(lq__order_parse("_created_at,-createdAt", &o) == LQ_OK && o.n == 2 && key_is(&o, 0, "createdAt", false));
    CHECK(lq__order_parse("-_updated_at,_created_at,x", &o) == LQ_OK && o.n == 4);
    CHECK(key_is(&o, 0, "x", false) && key_is(&o, 1, "createdAt", false) && key_is(&o, 2, "updatedAt", true));
    CHECK(lq__order_parse("a,b,c,d,e,f,g,_created_at", &o) == LQ_OK && o.n == 9 && key_is(&o, 7, "createdAt", false));
    CHECK(lq__order_parse("updatedAt,o.b,arr.0", &o) == LQ_OK && o.n == 4);
    CHECK(o.key[0].kind == LQ__ORDER_TIME && o.key[1].kind == LQ__ORDER_PATH && o.key[2].kind == LQ__ORDER_PATH);
}

/* ---- values ----------------------------------------------------------------------------------- */

static void test_strings(void) {
    /* C.UTF-8: bytes, which is code point order; the server put them in this order */
    static const char *seq[] = {"\"\"", "\"\\t\"", "\" \"", "\"10\"", "\"9\"", "\"B\"", "\"Z\"", "\"a\"", "\"ab\"",
                                "\"b\"", "\"e\\u0301\"", "\"z\"", "\"\\u00e9\"", "\"\\uE000\"", "\"\\uFFFD\"",
                                "\"\\ud83d\\ude00\""};
    size_t i;
    for (i = 0; i + 1 < sizeof seq / sizeof seq[0]; i++) lt_x(seq[i], seq[i + 1]);
    eq_x("\"\\u00e9\"", "\"\xc3\xa9\"");                  /* decoded before comparing */
    eq_x("\"\\u0041\\/\"", "\"A/\"");
    eq_x("\"\xf0\x9f\x98\x80\"", "\"\\uD83D\\uDE00\"");
    lt_x("\"\xee\x80\x80\"", "\"\\ud83d\\ude00\"");       /* UTF-16 order would say the opposite */
    lt_x("\"a\\\"\"", "\"a\\\\\"");                       /* a" < a\ */
    lt_x("\"\\u0001\"", "\"\\n\"");
    lt_x("\"ab\\u00e9\"", "\"ab\\u00e9x\"");
    lt_x("\"\\u00e9\"", "\"\\u00e9\\u0000\"");             /* a prefix first, even before a NUL */
    lt_x("\"A\"", "\"a\"");                               /* no case folding */
}

static void test_numbers(void) {
    static const char *seq[] = {"-1e300", "-1000.5", "-1", "-0.5", "-5e-324", "0", "5e-324", "0.1",
                                "0.30000000000000004", "1", "2.5", "3", "999", "1e3", "1000.5", "9007199254740992",
                                "1e300", "1e400"};
    size_t i;
    for (i = 0; i + 1 < sizeof seq / sizeof seq[0]; i++) lt_x(seq[i], seq[i + 1]);
    lt_x("-1e400", "-1e300");
    eq_x("-1e400", "-1.7976931348623157e308");           /* beyond a double: the largest one */
    eq_x("1e3", "1000");
    eq_x("1000.0", "1000");
    eq_x("0", "-0");
    eq_x("-0.0", "0e5");
    eq_x("0.5", "5e-1");
    eq_x("2", "2.0000000000000000001");                   /* doubles, as double precision columns */
    eq_x("9007199254740993", "9007199254740992");
    lt_x("12", "100");                                    /* not as text */
    lt_x("-2", "-1");
}

static void test_booleans_and_null(void) {
    lt_x("false", "true");
    eq_x("true", "true");
    /* missing and null: SQL NULL, after every value ascending, before every value descending */
    SAME("x", "{}", "{\"x\":null}");
    LESS("x", "{\"x\":true}", "{}");
    LESS("x", "{\"x\":\"\"}", "{\"x\":null}");
    LESS("x", "{\"x\":1e300}", "{}");
    LESS("x", "{\"x\":[]}", "{}");
    LESS("x", "{\"x\":{}}", "{\"x\":null}");
    LESS("x", "{\"x\":{\"__type\":\"GeoPoint\",\"latitude\":1,\"longitude\":2}}", "{}");
    LESS("-x", "{}", "{\"x\":false}");
    LESS("-x", "{\"x\":null}", "{\"x\":\"\"}");
    LESS("x", "{\"x\":1}", "7");                          /* a row that is no object has nothing */
    SAME("x", "7", "[]");
}

static void time_is(const char *iso, int64_t want) {
    char text[80];
    int64_t ms = 12345;
    lq_json v;
    snprintf(text, sizeof text, "\"%s\"", iso);
    pool_used = 0;
    v = doc(text);
    CHECKF(lq__order_time(v, &ms) && ms == want, "%s: %lld ms, not %lld", iso, (long long)ms, (long long)want);
}

static void not_time(const char *iso) {
    char text[80];
    int64_t ms;
    snprintf(text, sizeof text, "\"%s\"", iso);
    pool_used = 0;
    CHECKF(!lq__order_time(doc(text), &ms), "%s is no time", iso);
}

static void test_time_parse(void) {
    const char *bad[] = {"", "2020", "2020-01", "2020-1-01", "2020-13-01", "2020-00-01", "2020-01-32",
                         "2020-01-00", "2020-01-01T", "2020-01-01T24:00:00Z", "2020-01-01T12:60", "2020-01-01T12:00:60",
                         "2020-01-01T12:00:00.", "2020-01-01T12:00:00Zx", "2020-01-01T12:00:00+2", "2020-01-01T12:00:00+24:00",
                         "2020-01-01T12:00:00+01:60", "+20200-01-01", "x2020-01-01", "2020-01-01 12", "2020-01-01T1:00",
                         "2020-01-01T12:00:00.000000000000000000000000000000000000000000Z"};
    size_t i;
    time_is("1970-01-01T00:00:00.000Z", 0);
    time_is("1970-01-01T00:00:00.001Z", 1);
    time_is("1969-12-31T23:59:59.999Z", -1);
    time_is("2000-03-01T00:00:00.000Z", 951868800000);
    time_is("2024-02-29T00:00:00.000Z", 1709164800000);
    time_is("2100-03-01T00:00:00.000Z", 4107542400000);       /* 2100 is no leap year */
    time_is("2026-11-27T23:40:37.606Z", 1795822837606);
    time_is("0001-01-01T00:00:00.000Z", -62135596800000);
    time_is("0000-03-01T00:00:00.000Z", -62162035200000);     /* year 0 is a leap year */
    time_is("9999-12-31T23:59:59.999Z", 253402300799999);
    time_is("+010000-01-01T00:00:00.000Z", 253402300800000);
    time_is("-000001-01-01T00:00:00.000Z", -62198755200000);
    time_is("+275760-09-13T00:00:00.000Z", 8640000000000000);  /* JavaScript's last day */
    time_is("2019-06-01T12:00:00.000+02:00", 1559383200000);
    time_is("2019-06-01T10:00:00Z", 1559383200000);
    time_is("2019-06-01T11:30:00+0130", 1559383200000);
    time_is("2019-06-01T08:30:00-01:30", 1559383200000);
    time_is("2019-06-01T10:00:00.0009Z", 1559383200000);      /* past ms: dropped, as the server does */
    time_is("2019-06-01T10:00:00.5Z", 1559383200500);
    time_is("2019-06-01T10:00Z", 1559383200000);
    time_is("2019-06-01t10:00:00z", 1559383200000);
    time_is("2019-06-01 10:00:00", 1559383200000);
    time_is("2019-06-01", 1559347200000);
    time_is("2019-06-01T10:00:00+02", 1559376000000);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) not_time(bad[i]);
    pool_used = 0;
    {
        int64_t ms;
        CHECK(!lq__order_time(doc("\"2019-06-01T10:00:00Z\\u0000\""), &ms));
        CHECK(lq__order_time(doc("\"2019\\u002d06-01T10:00:00Z\""), &ms) && ms == 1559383200000);
    }
}

#define DATE(iso) "{\"__type\":\"Date\",\"iso\":\"" iso "\"}"

static void test_dates(void) {
    static const char *seq[] = {DATE("0001-01-01T00:00:00.000Z"), DATE("1969-12-31T23:59:59.999Z"),
                                DATE("1970-01-01T00:00:00.000Z"), DATE("2019-06-01T12:00:00.000+02:00"),
                                DATE("2019-06-01T11:00:00Z"), DATE("2020-01-01T00:00:00.000Z"),
                                DATE("9999-12-31T23:59:59.999Z"), DATE("+010000-01-01T00:00:00.000Z"),
                                DATE("not a time"), DATE("zz")};
    size_t i;
    for (i = 0; i + 1 < sizeof seq / sizeof seq[0]; i++) lt_x(seq[i], seq[i + 1]);
    lt_x(DATE("-000001-01-01T00:00:00.000Z"), DATE("0001-01-01T00:00:00.000Z"));
    eq_x(DATE("2019-06-01T12:00:00.000+02:00"), DATE("2019-06-01T10:00:00.000Z"));
    /* createdAt and updatedAt come as plain strings: by time too */
    LESS("createdAt", "{\"createdAt\":\"2025-12-31T23:59:59.999Z\"}", "{\"createdAt\":\"2026-01-01T00:00:00.000Z\"}");
    LESS("createdAt", "{\"createdAt\":\"9999-12-31T23:59:59.999Z\"}", "{\"createdAt\":\"+010000-01-01T00:00:00.000Z\"}");
    LESS("-updatedAt", "{\"updatedAt\":\"2026-01-01T00:00:00.001Z\"}", "{\"updatedAt\":\"2026-01-01T00:00:00.000Z\"}");
    SAME("createdAt", "{\"createdAt\":\"2026-01-01T01:00:00+01:00\"}", "{\"createdAt\":\"2026-01-01T00:00:00.000Z\"}");
    SAME("createdAt", "{\"createdAt\":" DATE("2026-01-01T00:00:00.000Z") "}", "{\"createdAt\":\"2026-01-01T00:00:00.000Z\"}");
    LESS("_created_at", "{\"createdAt\":\"2026-01-01T00:00:00.000Z\"}", "{\"createdAt\":\"bad\"}");
    LESS("createdAt", "{\"createdAt\":\"2026-01-01T00:00:00.000Z\"}", "{}");
    /* another key's string is a string, not a time */
    LESS("x", "{\"x\":\"+010000-01-01T00:00:00.000Z\"}", "{\"x\":\"9999-12-31T23:59:59.999Z\"}");
    SAME("x", DATE("2020-01-01T00:00:00Z"), DATE("2020-01-01T00:00:00Z"));
}

static void test_pointers_files_geo(void) {
#define PTR(id) "{\"__type\":\"Pointer\",\"className\":\"_User\",\"objectId\":\"" id "\"}"
    lt_x(PTR("AAA"), PTR("mmm"));
    lt_x(PTR("Zz"), PTR("a"));
    lt_x(PTR("mmm"), PTR("zzz"));
    /* include puts the object in the pointer's place: still by objectId */
    lt_x("{\"__type\":\"Object\",\"className\":\"_User\",\"objectId\":\"AAA\",\"username\":\"zed\"}", PTR("BBB"));
    eq_x("{\"__type\":\"Object\",\"className\":\"_User\",\"objectId\":\"AAA\"}", PTR("AAA"));
    /* a File column holds the name */
    lt_x("{\"__type\":\"File\",\"name\":\"a.txt\",\"url\":\"http://x/z.txt\"}",
         "{\"__type\":\"File\",\"name\":\"b.txt\",\"url\":\"http://x/a.txt\"}");
    lt_x("{\"__type\":\"File\",\"name\":\"B.txt\"}", "{\"__type\":\"File\",\"name\":\"a.txt\"}");
    /* the server refuses to sort by a GeoPoint or Polygon: they compare equal */
    eq_x("{\"__type\":\"GeoPoint\",\"latitude\":10,\"longitude\":10}", "{\"__type\":\"GeoPoint\",\"latitude\":-5,\"longitude\":1}");
    eq_x("{\"__type\":\"Polygon\",\"coordinates\":[[0,0],[0,1],[1,0]]}", "{\"__type\":\"Polygon\",\"coordinates\":[[5,5],[0,1],[1,0]]}");
    /* Bytes are jsonb: by base64 (keys __type, base64 of one length: __type first) */
    lt_x("{\"__type\":\"Bytes\",\"base64\":\"AAAA\"}", "{\"__type\":\"Bytes\",\"base64\":\"BB\"}");
#undef PTR
}

static void test_jsonb(void) {
    /* Array column: the server's order (GET ?order=arr); jsonb compares lengths first */
    static const char *arrays[] = {"[]", "[null]", "[\"a\"]", "[\"b\"]", "[5]", "[false]", "[true]", "[[]]", "[[1]]", "[{}]",
                                   "[{\"x\":1}]", "[null,null]", "[\"b\",\"a\"]", "[1,2]", "[1,3]", "[1,\"a\",3]"};
    /* Object column: members first, then member by member */
    static const char *objects[] = {"{}", "{\"b\":null}", "{\"b\":\"\"}", "{\"b\":\"str\"}", "{\"b\":-2.5}", "{\"b\":3}",
                                    "{\"b\":true}", "{\"b\":[]}", "{\"b\":[1]}", "{\"b\":{\"k\":1}}", "{\"c\":1}",
                                    "{\"zz\":0}", "{\"b\":3,\"c\":\"x\"}"};
    size_t i;
    for (i = 0; i + 1 < sizeof arrays / sizeof arrays[0]; i++) lt_x(arrays[i], arrays[i + 1]);
    for (i = 0; i + 1 < sizeof objects / sizeof objects[0]; i++) lt_x(objects[i], objects[i + 1]);
    /* keys in jsonb's storage order, shortest first: b before aa */
    lt_x("{\"b\":1,\"aa\":2}", "{\"b\":2,\"aa\":1}");
    lt_x("{\"aa\":2,\"b\":1}", "{\"aa\":1,\"b\":2}");
    lt_x("{\"b\":1,\"aa\":9}", "{\"b\":1,\"ab\":0}");
    lt_x("{\"aa\":1}", "{\"b\":0}");                    /* one member: the keys by bytes */
    eq_x("{\"a\":1,\"b\":[1,{\"c\":null}]}", "{\"b\":[1,{\"c\":null}],\"a\":1}");
    eq_x("{\"\\u0061\":1}", "{\"a\":1}");
    eq_x("[1e3,\"\\u00e9\"]", "[1000,\"\xc3\xa9\"]");
    lt_x("[[3]]", "[[1,2]]");                            /* nested arrays: length first as well */
    lt_x("[{\"b\":1}]", "[{\"a\":1,\"b\":1}]");
}

static void test_dotted(void) {
    /* GET ?order=o.b: "o"->'b' in jsonb's order, [] before null at the top, a missing b last */
    static const char *seq[] = {"{\"o\":{\"b\":[]}}", "{\"o\":{\"b\":null}}", "{\"o\":{\"b\":\"\"}}", "{\"o\":{\"b\":\"str\"}}",
                                "{\"o\":{\"b\":-2.5}}", "{\"o\":{\"b\":3}}", "{\"o\":{\"b\":true}}", "{\"o\":{\"b\":[1]}}",
                                "{\"o\":{\"b\":[1,2]}}", "{\"o\":{\"b\":{}}}", "{\"o\":{\"b\":{\"k\":1}}}", "{\"o\":{\"c\":1}}"};
    size_t i;
    for (i = 0; i + 1 < sizeof seq / sizeof seq[0]; i++) {
        LESS("o.b", seq[i], seq[i + 1]);
        LESS("-o.b", seq[i + 1], seq[i]);
    }
    SAME("o.b", "{\"o\":{\"c\":1}}", "{}");
    SAME("o.b", "{\"o\":null}", "{\"o\":\"str\"}");
    SAME("o.b", "{\"o\":[{\"b\":1}]}", "{}");            /* a name does not reach into an array */
    LESS("o.b.k", "{\"o\":{\"b\":{\"k\":[]}}}", "{\"o\":{\"b\":{\"k\":\"z\"}}}");   /* [] first at the top */
    /* a Date inside an Object is a jsonb object: by the text of its iso, not by time */
    LESS("o.d", "{\"o\":{\"d\":" DATE("2020-01-01T01:30:00.000Z") "}}", "{\"o\":{\"d\":" DATE("2020-01-01T02:00:00.000+01:00") "}}");
    /* digits index arrays only (arr.0 is "arr"->0); on an object they find nothing */
    LESS("arr.0", "{\"arr\":[null]}", "{\"arr\":[\"a\"]}");
    LESS("arr.0", "{\"arr\":[\"a\",9]}", "{\"arr\":[1]}");
    LESS("arr.0", "{\"arr\":[{\"x\":1}]}", "{\"arr\":[]}");
    LESS("arr.1", "{\"arr\":[9,\"a\"]}", "{\"arr\":[0,2]}");
    LESS("arr.01", "{\"arr\":[9,\"a\"]}", "{\"arr\":[0,2]}");
    SAME("o.0", "{\"o\":{\"0\":1}}", "{}");
    SAME("arr.99999999999999999999", "{\"arr\":[1]}", "{}");
    LESS("o.a b", "{\"o\":{\"a b\":1}}", "{\"o\":{\"a b\":2}}");
    LESS("o.\\u00e9", "{\"o\":{\"\\\\u00e9\":1}}", "{\"o\":{\"\\\\u00e9\":2}}");
    /* an unknown key is missing everywhere: it changes nothing */
    SAME("nosuch", "{\"x\":1}", "{\"x\":2}");
    LESS("nosuch,-x", "{\"x\":2}", "{\"x\":1}");
}

static void test_depth(void) {
    char a[400], b[400];
    int i, n = 0;
    for (i = 0; i < 70; i++) a[n++] = '[';
    a[n++] = '1';
    for (i = 0; i < 70; i++) a[n++] = ']';
    a[n] = 0;
    memcpy(b, a, (size_t)n + 1);
    b[70] = '2';
    {
        char ra[480], rb[480];
        snprintf(ra, sizeof ra, "{\"x\":%s}", a);
        snprintf(rb, sizeof rb, "{\"x\":%s}", b);
        pool_used = 0;
        {
            lq__order o = order_of("x");
            lq_json_token t[200];
            lq_json x, y;
            CHECK(lq_json_parse(ra, strlen(ra), t, 100, 100, &x) > 0);
            CHECK(lq_json_parse(rb, strlen(rb), t + 100, 100, 100, &y) > 0);
            CHECK(lq__order_cmp(&o, x, y) == 0);            /* deeper than LQ__ORDER_DEPTH: equal */
        }
    }
    lt_x("[[[[[[[[[[1]]]]]]]]]]", "[[[[[[[[[[2]]]]]]]]]]");
}

static void test_keys_and_ties(void) {
    LESS("-score,playerName", "{\"score\":9,\"playerName\":\"b\"}", "{\"score\":3,\"playerName\":\"a\"}");
    LESS("-score,playerName", "{\"score\":3,\"playerName\":\"a\"}", "{\"score\":3,\"playerName\":\"b\"}");
    LESS("-score,playerName", "{\"score\":3,\"playerName\":\"b\"}", "{\"score\":3}");
    LESS("-score,playerName", "{\"playerName\":\"a\"}", "{\"score\":99}");        /* null first descending */
    LESS("score", "{\"score\":3,\"objectId\":\"A\"}", "{\"score\":3,\"objectId\":\"B\"}");
    LESS("-score", "{\"score\":3,\"objectId\":\"A\"}", "{\"score\":3,\"objectId\":\"B\"}");   /* ties: objectId ascending */
    LESS("score,-objectId", "{\"score\":3,\"objectId\":\"B\"}", "{\"score\":3,\"objectId\":\"A\"}");
    SAME("score", "{\"score\":3,\"objectId\":\"A\"}", "{\"score\":3,\"objectId\":\"A\",\"x\":1}");
    LESS("", "{\"objectId\":\"0\"}", "{\"objectId\":\"a\"}");
    LESS("b,-n", "{\"b\":false,\"n\":1}", "{\"b\":true,\"n\":2}");
    LESS("b,-n", "{\"b\":true,\"n\":2}", "{\"b\":true,\"n\":1}");
    LESS("b,-n", "{\"b\":true}", "{\"n\":5}");
    LESS("score", "{\"sc\\u006fre\":1}", "{\"score\":2}");                     /* keys decoded */
}

/* Values of different kinds (one column holds one kind): by kind, so a sort still works. */
static void test_mixed_kinds(void) {
    static const char *seq[] = {"\"zz\"", "-5", "false", DATE("2020-01-01T00:00:00.000Z"), "[]", "{\"a\":1}",
                                "{\"__type\":\"GeoPoint\",\"latitude\":1,\"longitude\":2}", "null"};
    size_t i, j;
    for (i = 0; i < sizeof seq / sizeof seq[0]; i++)
        for (j = i + 1; j < sizeof seq / sizeof seq[0]; j++)
            lt_x(seq[i], seq[j]);
}

/* ---- sorting: the server's sequences ---------------------------------------------------------- */

/* The objects of class Ex2 as the server stored them (t = "11" was refused: "o" was a string),
   with createdAt in creation order. */
static const char *const ex2[] = {
    "{\"t\":\"1\",\"b\":true,\"d\":" DATE("2020-01-01T00:00:00.000Z") ",\"p\":{\"__type\":\"Pointer\",\"className\":\"_User\",\"objectId\":\"zzz\"},\"arr\":[5],\"g\":{\"__type\":\"GeoPoint\",\"latitude\":10,\"longitude\":10},\"o\":{\"b\":3,\"c\":\"x\"},\"objectId\":\"V9AyQsxxhC\",\"createdAt\":\"2026-12-01T13:45:23.858Z\"}",
    "{\"t\":\"2\",\"b\":false,\"d\":" DATE("2019-06-01T10:00:00.000Z") ",\"p\":{\"__type\":\"Pointer\",\"className\":\"_User\",\"objectId\":\"AAA\"},\"arr\":[1,2],\"g\":{\"__type\":\"GeoPoint\",\"latitude\":-5,\"longitude\":1},\"o\":{\"b\":\"str\"},\"objectId\":\"3pMXPR3qTP\",\"createdAt\":\"2026-12-01T13:45:23.873Z\"}",
    "{\"t\":\"3\",\"d\":" DATE("2019-06-01T11:00:00.000Z") ",\"arr\":[],\"o\":{\"b\":null},\"objectId\":\"qVZP86NA1u\",\"createdAt\":\"2026-12-01T13:45:23.887Z\"}",
    "{\"t\":\"4\",\"b\":true,\"p\":{\"__type\":\"Pointer\",\"className\":\"_User\",\"objectId\":\"mmm\"},\"arr\":[\"a\"],\"o\":{\"b\":true},\"objectId\":\"x1yzIB3LqR\",\"createdAt\":\"2026-12-01T13:45:23.900Z\"}",
    "{\"t\":\"5\",\"arr\":[{\"x\":1}],\"o\":{\"b\":[1]},\"objectId\":\"Hka3F8fztg\",\"createdAt\":\"2026-12-01T13:45:23.913Z\"}",
    "{\"t\":\"6\",\"arr\":[[1]],\"o\":{\"b\":{\"k\":1}},\"objectId\":\"c8VN71qPws\",\"createdAt\":\"2026-12-01T13:45:23.927Z\"}",
    "{\"t\":\"7\",\"arr\":[null],\"o\":{\"c\":1},\"objectId\":\"zQlgXDhWGM\",\"createdAt\":\"2026-12-01T13:45:23.940Z\"}",
    "{\"t\":\"8\",\"arr\":[true],\"o\":{\"b\":-2.5},\"objectId\":\"ZkHqAcdxQG\",\"createdAt\":\"2026-12-01T13:45:23.954Z\"}",
    "{\"t\":\"9\",\"arr\":[\"b\",\"a\"],\"o\":{\"b\":\"\"},\"objectId\":\"dj48500sQ3\",\"createdAt\":\"2026-12-01T13:45:23.966Z\"}",
    "{\"t\":\"10\",\"o\":{\"b\":[]},\"objectId\":\"6Nu83FIvU5\",\"createdAt\":\"2026-12-01T13:45:23.982Z\"}",
};

/* The server's answers: order, then the t of each row in sequence. Those without a final key that
   breaks every tie had none in the server's answer either. */
static const char *const ex2_orders[][2] = {
    {"b,t", "2 1 4 10 3 5 6 7 8 9"},
    {"-b,t", "10 3 5 6 7 8 9 1 4 2"},
    {"p,t", "2 4 1 10 3 5 6 7 8 9"},
    {"-p,t", "10 3 5 6 7 8 9 1 4 2"},
    {"d,t", "2 3 1 10 4 5 6 7 8 9"},
    {"arr,t", "3 7 4 1 8 6 5 9 2 10"},
    {"-arr,t", "10 2 9 5 6 8 1 4 7 3"},
    {"o,t", "3 9 2 8 4 10 5 6 7 1"},
    {"o.b,t", "10 3 9 2 8 1 4 5 6 7"},
    {"-o.b,t", "7 6 5 4 1 8 2 9 3 10"},
    {"arr.0,t", "7 4 9 2 1 8 6 5 10 3"},
    {"arr.1", "9 2 10 5 1 8 6 3 4 7"},        /* the server's ties (1 10 3 4 ...) broken by objectId */
    {"o.B,-t", "9 8 7 6 5 4 3 2 10 1"},
    {"nosuch,t", "1 10 2 3 4 5 6 7 8 9"},
    {"-nosuch,-t", "9 8 7 6 5 4 3 2 10 1"},
    {"t,b,-t", "9 8 7 6 5 4 3 2 10 1"},
    {"b,t,-b", "10 3 5 6 7 8 9 1 4 2"},
    {"_created_at", "1 2 3 4 5 6 7 8 9 10"},
    {"-_created_at", "10 9 8 7 6 5 4 3 2 1"},
    {"_created_at,b", "2 1 4 3 5 6 7 8 9 10"},
    {"-createdAt,_created_at", "1 2 3 4 5 6 7 8 9 10"},
    {"objectId", "2 10 5 1 8 6 9 3 4 7"},
    {"-objectId,t", "7 4 3 9 6 8 1 5 10 2"},
    {"g,t", "1 2 10 3 4 5 6 7 8 9"},          /* the server refuses it (code 1); ours: ties */
};

static const lq__order *sort_order;
static lq_json sort_rows[64];

static int by_order(const void *x, const void *y) {
    return lq__order_cmp(sort_order, sort_rows[*(const int *)x], sort_rows[*(const int *)y]);
}

/* Sorts the rows (from a shuffled start) and lists their t values. */
static void sorted_ts(const char *order, size_t n, unsigned shuffle, char *out, size_t cap) {
    lq__order o = order_of(order);
    int idx[64];
    size_t i, len = 0;
    for (i = 0; i < n; i++) idx[i] = (int)((i * shuffle + 3) % n);
    sort_order = &o;
    qsort(idx, n, sizeof idx[0], by_order);
    out[0] = 0;
    for (i = 0; i < n; i++) {
        char t[16];
        lq_json_string(lq_json_get(sort_rows[idx[i]], "t"), t, sizeof t);
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? " " : "", t);
    }
}

static void test_server_sequences(void) {
    size_t i, n = sizeof ex2 / sizeof ex2[0];
    unsigned shuffles[] = {1, 3, 7};
    pool_used = 0;
    for (i = 0; i < n; i++) sort_rows[i] = doc(ex2[i]);
    for (i = 0; i < sizeof ex2_orders / sizeof ex2_orders[0]; i++) {
        size_t s;
        for (s = 0; s < sizeof shuffles / sizeof shuffles[0]; s++) {
            char got[256];
            sorted_ts(ex2_orders[i][0], n, shuffles[s], got, sizeof got);
            tu_set_ctx("order %s", ex2_orders[i][0]);
            CHECK_STR(got, ex2_orders[i][1]);
        }
    }
    tu_set_ctx("%s", "");
}

/* ---- properties --------------------------------------------------------------------------------- */

static uint32_t rng = 12345;

static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static const char *const vals[] = {
    "null", "true", "false", "0", "-0", "1", "1e3", "1000", "-2.5", "\"\"", "\"a\"", "\"A\"", "\"\\u00e9\"",
    "\"\xc3\xa9\"", "\"e\\u0301\"", "\"\\ud83d\\ude00\"", "[]", "[null]", "[1,2]", "[\"b\",\"a\"]", "[[1]]", "{}",
    "{\"b\":1}", "{\"b\":null}", "{\"b\":1,\"aa\":2}", "{\"aa\":1,\"b\":2}", "{\"c\":[]}", DATE("2020-01-01T00:00:00.000Z"),
    DATE("2020-01-01T01:00:00.000+01:00"), DATE("1999-01-01T00:00:00.000Z"), DATE("junk"),
    "{\"__type\":\"Pointer\",\"className\":\"_User\",\"objectId\":\"k\"}",
    "{\"__type\":\"GeoPoint\",\"latitude\":1,\"longitude\":2}", "\"2020-01-01T00:00:00.000Z\"", "\"bad\""};

/* Random rows: the sort must be a total preorder (every pair in the sorted sequence agrees). */
static void test_random_consistency(void) {
    static char texts[64][400];
    const char *orders[] = {"x", "-x", "x,-y", "o.b", "-o.b,x", "createdAt,x", "arr.0,-x", "y,x.b"};
    size_t oi, round;
    for (round = 0; round < 20; round++) {
        size_t i, j, n = 40;
        pool_used = 0;
        for (i = 0; i < n; i++) {
            size_t nv = sizeof vals / sizeof vals[0];
            snprintf(texts[i], sizeof texts[i], "{\"x\":%s,\"y\":%s,\"o\":{\"b\":%s},\"arr\":[%s],\"createdAt\":%s}",
                     vals[rnd() % nv], vals[rnd() % nv], vals[rnd() % nv], vals[rnd() % nv], vals[rnd() % nv]);
            sort_rows[i] = doc(texts[i]);
        }
        for (oi = 0; oi < sizeof orders / sizeof orders[0]; oi++) {
            lq__order o = order_of(orders[oi]);
            int idx[64];
            bool ok = true;
            for (i = 0; i < n; i++) idx[i] = (int)i;
            sort_order = &o;
            qsort(idx, n, sizeof idx[0], by_order);
            for (i = 0; i < n && ok; i++)
                for (j = i + 1; j < n && ok; j++)
                    ok = lq__order_cmp(&o, sort_rows[idx[i]], sort_rows[idx[j]]) <= 0 &&
                         lq__order_cmp(&o, sort_rows[idx[j]], sort_rows[idx[i]]) >= 0;
            CHECKF(ok, "order %s, round %u: not a total preorder", orders[oi], (unsigned)round);
        }
    }
}

int main(void) {
    test_parse();
    test_strings();
    test_numbers();
    test_booleans_and_null();
    test_time_parse();
    test_dates();
    test_pointers_files_geo();
    test_jsonb();
    test_dotted();
    test_depth();
    test_keys_and_ties();
    test_mixed_kinds();
    test_server_sequences();
    test_random_consistency();
    return tu_report("order");
}
