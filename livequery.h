/* livequery.h - a Parse LiveQuery client in one C header (version: LQ_VERSION_* below).

    Do this:
        #define LIVEQUERY_IMPLEMENTATION
    before you include this file in *one* C or C++ file to create the implementation.

    A complete Parse LiveQuery client: URL parsing, an RFC 6455 WebSocket client, a JSON reader and
    writer, the LiveQuery protocol, and a client that connects, reconnects with backoff,
    resubscribes and keeps the link alive; a small HTTP/1.1 client for the Parse REST API (find,
    get, login); and live views (lq_view): a query's current results, ordered and limited, kept
    exact through events, reconnects and partitions. It never blocks and starts no thread: you
    call lq_step() from the loop you already have (poll, select, epoll, or once per frame).

    EXAMPLE
        static void on_event(lq_client *c, const lq_event *ev, void *user) {
            (void)c; (void)user;
            if (ev->type == LQ_EVENT_CREATE) {
                char name[64];
                lq_json_string(lq_json_get(ev->object, "playerName"), name, sizeof name);
                printf("new score %g by %s\n", lq_json_number(lq_json_get(ev->object, "score"), 0), name);
            }
        }
        int main(void) {
            lq_desc desc = LQ_ZERO;
            desc.server_url = "https://example.com/parse";
            desc.application_id = "myAppId";
            desc.javascript_key = "myJsKey";
            desc.on_event = on_event;
            lq_client *c = NULL;
            if (lq_client_create(&desc, &c) != LQ_OK) return 1;
            lq_query q = LQ_ZERO;
            q.class_name = "GameScore";
            q.where = "{\"score\":{\"$gt\":1000}}";
            lq_sub sub;
            lq_subscribe(c, &q, &sub);              (queued until connected)
            for (;;) lq_wait(c, 1000);               (or lq_step(c) in your own loop)
        }

    CONFIGURATION (macros, all optional)
        LIVEQUERY_STATIC    make every function static (several copies in one program)
        LQ_ASSERT(x)        your assert (default: assert from <assert.h>)
        LQ_NO_SOCKETS       build only the I/O-free core: bring your own I/O (see CORE)
        LQ_USE_MBEDTLS      the mbedTLS backend for wss:// (link -lmbedtls -lmbedx509 -lmbedcrypto)
        LQ_USE_OPENSSL      or the OpenSSL backend, 1.1.1 or 3.x (link -lssl -lcrypto)
        LQ_USE_SCHANNEL     or, on Windows, Schannel (mingw-w64: -lsecur32 -lcrypt32; MSVC: by
                            #pragma comment)
        LQ_DEFAULT_*        defaults of the desc's limits (see LIMITS) and timers:
                            LQ_DEFAULT_CONNECT_TIMEOUT_MS (10000), LQ_DEFAULT_DEAD_LINK_MS (30000),
                            LQ_DEFAULT_CLOSE_TIMEOUT_MS (2000), LQ_DEFAULT_MAX_RECONNECT_DELAY_MS (30000)
        LQ_WHERE_MAX        terms in one lq_where (32). It sizes the public struct lq_where: every
                            translation unit of a program must see the same value
        LQ_READ_BUFFER_BYTES  bytes lq_step reads per recv (8192, inside the client struct)
        LQ_READ_BUFFER_MAX  a busy link reads into a heap buffer of this size instead (65536): it
                            is taken when a read fills the small one and given back at the first
                            lq_step after a second without a read larger than the small one.
                            Fewer, larger reads cut the CPU per event at full rate by ~20%; set it
                            to LQ_READ_BUFFER_BYTES (or less) to never allocate it
        LQ_NO_SIMD          scan JSON strings 8 bytes at a time even where SSE2 exists
        LQ_NO_REST          leave out the REST client (lq_find, lq_get, lq_login; about 9.8 KB at -Os)

    EVENT LOOP
        lq_step(c) does all pending work without blocking: connect, read, dispatch events, write,
        timers. Between steps, wait on lq_fd(c) for lq_fd_events(c) (LQ_WANT_READ/LQ_WANT_WRITE, to
        map to POLLIN/POLLOUT) for at most lq_timeout_ms(c) milliseconds. The socket changes on
        every reconnect: ask for it on each iteration. A game loop may simply call lq_step() once per
        frame. lq_wait(c, ms) waits and steps, for programs without a loop of their own.
        A client making REST calls has a second socket: lq_pollfds(c, fds, LQ_LINK_COUNT) lists every
        socket with its events; lq_timeout_ms, lq_wait and lq_step cover them all.
        DNS does not block either: the built-in transport resolves with its own stub resolver (the
        hosts file, then /etc/resolv.conf's nameservers over UDP, TCP when truncated; Windows: the
        system's nameservers), whose socket is the one to poll meanwhile, and races the addresses
        (Happy Eyeballs: IPv6 first, the next one 250 ms later). desc.dns_servers,
        desc.resolve and desc.resolve_async replace parts of it.
        A proxy (desc.proxy_url) changes none of this: its tunnel is set up inside lq_step too.

    EVENTS
        desc.on_event is called from inside lq_step() (or lq_core_* calls) on the caller's thread.
        lq_event holds borrowed pointers, valid only until the callback returns. Inside a callback
        you may call lq_subscribe, lq_unsubscribe, lq_update and lq_close; not lq_client_destroy,
        lq_step or lq_core_*.
        Client:        OPEN (server said connected), CLOSE (link lost or closed, close code),
                       ERROR (code, message, fatal), RECONNECTING (attempt, delay_ms).
        Subscription:  SUBSCRIBED (resubscribe is true after a reconnect: events may have been
                       missed, re-query if you need them), CREATE, ENTER, UPDATE, LEAVE, DELETE
                       (object, and original when the server sent one), ERROR (ev->sub set),
                       UNSUBSCRIBED (the subscription is gone: its handle is invalid once the
                       callback returns).
        Server versions: the key list is "fields" up to Parse Server 6.5 and "keys" from 6.1, and
        watch needs 6.1. A subscribe the server refuses for that ("Additional properties not
        allowed") is sent again in the other spelling, or without watch, and then the client
        compares object and original itself; no ERROR, one SUBSCRIBED. Until the server has taken
        one, such requests go one at a time (the refusal names no request). A new connection
        starts from what the last one learned.
        Subscriptions are value handles (lq_sub): keep them as long as you like. The server may end
        one at any time (a rejected session token, a bad query); after its UNSUBSCRIBED event every
        function given the handle answers LQ_ERR_INVALID_ARG (lq_sub_valid: false), as it does for a
        handle that was never valid or that another client made, alive or destroyed (but for 1
        pair of clients in 255, whose random tags agree). Handles are never dereferenced and never
        reused.

    CORE
        Under lq_step lies an I/O-free core that touches no socket, clock or random source; lq_step
        is built on the calls below and nothing else, so a program with I/O of its own (LQ_NO_SOCKETS,
        a platform's sockets, TLS of its own) can do all it does (examples/core_loop.c):
            io = lq_core_io(c)     LQ_IO_CONNECT: have a connection to lq_client_url(c) under way
                                   (start one if you have none) and call lq_core_opened(c, now) when
                                   it is up (a failed one: lq_core_closed(c, LQ_ERR_CONNECT, errno, now));
                                   LQ_IO_CLOSE: close it, then lq_core_closed(c, LQ_OK, 0, now);
                                   LQ_IO_DONE: the client is finished (after lq_close or a fatal
                                   error, every event reported); LQ_IO_NONE: nothing to do.
            lq_core_feed(c, bytes, n, now)          what arrived (EOF: lq_core_closed(c, LQ_OK, 0, now))
            p = lq_core_peek(c, &n); ... lq_core_consume(c, sent)     what to send
            lq_core_timeout(c, now)                 ms until the next timer (the connect deadline
                                                    included), -1 none; then lq_core_tick(c, now)
        Ask lq_core_io again after every call: any of them may change it. "now" is any monotonic
        millisecond clock. With LQ_NO_SOCKETS, desc.random is required.
        These are the LiveQuery link's. REST calls and views use a second link, LQ_LINK_REST: the
        same calls with the link (lq_core_link_io, _url, _opened, _closed, _feed, _peek,
        _consume) move its bytes; lq_core_timeout and lq_core_tick cover both.

    MEMORY
        Every allocation goes through desc.allocator (default malloc/free). Buffers grow to the
        largest message seen and are then reused: no allocation per event in steady state.

    ERRORS
        Functions return lq_result: LQ_OK (0) or a negative code; lq_result_str() names it.
        lq_client_create says why it failed through desc.log (LQ_LOG_ERROR). On a client,
        lq_error_message(c) tells the last failure in words and lq_error_detail(c) its number:
            LQ_ERR_IO, LQ_ERR_CONNECT      errno (Winsock: WSAGetLastError()) of the failed call
            LQ_ERR_DNS                     the nameserver's RCODE (3 NXDOMAIN, 2 SERVFAIL or 5
                                           REFUSED), 0 when none answered or the name has no address
            LQ_ERR_TLS                     mbedTLS: the negative error code, or for a rejected
                                           certificate the verify flags (MBEDTLS_X509_BADCERT_*);
                                           OpenSSL: the SSL_ERROR_* code, or the X509_V_ERR_* one
            LQ_ERR_HANDSHAKE               the HTTP status when the server answered other than 101,
                                           else 0 (101 for a bad 101 response)
            LQ_ERR_PROXY                   the proxy's HTTP status when it refused the CONNECT (407:
                                           credentials wanted or wrong), else 0 (no HTTP answer)
            LQ_ERR_PROTOCOL, LQ_ERR_UTF8   the offending close code or opcode, else 0
            LQ_ERR_SERVER                  the server's error code (as ev->error_code)
            anything else (TIMEOUT, LIMIT, NOMEM, JSON)   0
        A transport of your own sets both with lq_transport_error(c, detail, message).

    TLS
        The TLS backend wraps any transport that carries plain bytes: the built-in TCP or your
        desc.transport (examples/custom_transport.c runs mbedTLS over sockets of its own). One is
        compiled in with LQ_USE_MBEDTLS (mbedTLS 2.28 or 3.x), LQ_USE_OPENSSL (OpenSSL 1.1.1 or
        3.x: a program that links OpenSSL already needs no second TLS library) or, on Windows,
        LQ_USE_SCHANNEL (the system's TLS and CA store; see >>tls-schannel). Without one,
        wss:// and https:// URLs need a desc.transport that does TLS itself (tls = true), else
        lq_client_create gives LQ_ERR_TLS_UNAVAILABLE. With LQ_NO_SOCKETS the program brings its
        TLS in its own I/O. The chain is verified against the system CA store, or
        desc.tls_ca_file / desc.tls_ca_pem, and the host as RFC 6125 says, on every backend and
        version: an IP literal (wss://127.0.0.1, wss://[::1]) only against iPAddress
        subjectAltNames, byte for byte, and without SNI; a name against DNS subjectAltNames (one
        left-most wildcard), the CN only without them (mbedTLS, Schannel: without any
        subjectAltName).
        desc.tls_pin_sha256 adds public-key pins (base64 SHA-256 of the leaf's SubjectPublicKeyInfo,
        as HPKP's pin-sha256): a chain that verifies but whose key is not pinned fails, LQ_ERR_TLS.
        Only tls_insecure_skip_verify_for_tests_only turns the checks off. mbedTLS and OpenSSL
        allocate with their own allocators, not desc.allocator. Failures are LQ_ERR_TLS in the
        library's words; lq_error_detail is mbedTLS's code or verify flags, OpenSSL's
        SSL_ERROR_* or X509_V_ERR_* code, or Schannel's SECURITY_STATUS or CERT_TRUST_* flags.

    PROXIES
        desc.proxy_url = "http://[user:password@]host[:port]" (port 1080 by default, as curl's;
        the credentials percent-encoded, sent as Basic) sends both links, the WebSocket and the REST
        connection, through an HTTP proxy's CONNECT tunnel: the transport (the built-in TCP, or
        yours with tls == false, which is then given the proxy's host and port) connects to the
        proxy, the tunnel is asked for the server's host and port, and TLS, for wss:// and
        https://, runs inside it, verifying the server, not the proxy. A refusal is LQ_ERR_PROXY,
        "proxy refused CONNECT: 407 Proxy Authentication Required", the status in
        lq_error_detail; a proxy that cannot be reached fails as a server would (LQ_ERR_CONNECT,
        LQ_ERR_DNS), the message starting "proxy: ". Only http:// proxies (no TLS to the proxy, no
        SOCKS), and no transport with tls == true (its TLS would come before the CONNECT). Which
        proxy to use (https_proxy, no_proxy...) is the program's choice: examples/cli.h makes it
        as curl does for lqwatch and lqview. Proxies that cut idle connections: ping_interval_ms.

    THREADS
        A client belongs to one thread. There is no global state.

    LIMITS (desc fields; 0 means the default, LQ_DEFAULT_* at compile time)
        max_message_bytes   16 MiB    largest server message (fragments included); over: close 1009.
                                      Parsing needs up to 8 more bytes per byte for JSON tokens
                                      while a message is handled; memory past 1 MiB is returned
        max_handshake_bytes 16 KiB    largest HTTP response header block
        max_json_depth      64        nesting of server JSON
        max_outgoing_bytes  4 MiB     bytes queued for the server
        max_subscriptions   65536     live subscriptions on one client

    LICENSE
        MIT, see the end of this file.
*/
/* Strict C modes (-std=c99) hide POSIX: ask for it when this file comes first in the
   implementation's translation unit. Include it first there, or define _POSIX_C_SOURCE yourself. */
#if defined(LIVEQUERY_IMPLEMENTATION) && !defined(LQ_NO_SOCKETS) && !defined(_WIN32) && \
    !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE) && !defined(_DEFAULT_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#ifndef LIVEQUERY_H_INCLUDED
#define LIVEQUERY_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* The version: the one place that has it (the Makefile and CMakeLists.txt read these lines). */
#define LQ_VERSION_MAJOR 1
#define LQ_VERSION_MINOR 0
#define LQ_VERSION_PATCH 0
#define LQ__STR2(x) #x
#define LQ__STR(x) LQ__STR2(x)
#define LQ_VERSION_STRING LQ__STR(LQ_VERSION_MAJOR) "." LQ__STR(LQ_VERSION_MINOR) "." LQ__STR(LQ_VERSION_PATCH)

#ifndef LQ_API
#if defined(LIVEQUERY_STATIC) && (defined(__GNUC__) || defined(__clang__))
#define LQ_API static __attribute__((unused))
#elif defined(LIVEQUERY_STATIC)
#define LQ_API static
#else
#define LQ_API extern
#endif
#endif

/* An initializer that zeroes a desc (or any struct of this API) without a warning, in C ({0}) and
   in C++ ({}, where g++ -Wextra warns about each member {0} leaves out):
       lq_desc desc = LQ_ZERO;                                                          */
#ifdef __cplusplus
#define LQ_ZERO {}
#else
#define LQ_ZERO {0}
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lq_result {
    LQ_OK = 0,
    LQ_ERR_INVALID_ARG = -1,     /* a NULL or out-of-range argument */
    LQ_ERR_NOMEM = -2,           /* the allocator failed */
    LQ_ERR_URL = -3,             /* the server URL cannot be used (lq_url_parse says why) */
    LQ_ERR_LIMIT = -4,           /* a configured limit was reached */
    LQ_ERR_UTF8 = -5,            /* a string is not valid UTF-8 */
    LQ_ERR_JSON = -6,            /* JSON is malformed, or not of the expected shape */
    LQ_ERR_STATE = -7,           /* not allowed in the current state (e.g. after lq_close) */
    LQ_ERR_HANDSHAKE = -8,       /* the server refused or botched the WebSocket upgrade */
    LQ_ERR_PROTOCOL = -9,        /* the server broke RFC 6455 */
    LQ_ERR_CLOSED = -10,         /* the connection is closed */
    LQ_ERR_IO = -11,             /* a socket call failed (lq_error_detail is errno) */
    LQ_ERR_DNS = -12,            /* the host name did not resolve */
    LQ_ERR_CONNECT = -13,        /* no address of the host accepted the connection */
    LQ_ERR_TLS = -14,            /* TLS failed */
    LQ_ERR_TLS_UNAVAILABLE = -15,/* wss:// without a TLS backend or a transport that does TLS */
    LQ_ERR_SERVER = -16,         /* the LiveQuery server reported an error */
    LQ_ERR_TIMEOUT = -17,        /* the connection or the link timed out */
    LQ_ERR_TOO_SMALL = -18,      /* an output buffer or token array is too small */
    LQ_ERR_HTTP = -19,           /* a REST call got an HTTP error status without a Parse error body */
    LQ_ERR_PROXY = -20           /* the HTTP proxy (desc.proxy_url) refused or botched the CONNECT tunnel */
} lq_result;

LQ_API const char *lq_result_str(lq_result r);

/* ---- URLs ------------------------------------------------------------------------------------ */

typedef struct lq_url {
    bool tls;                   /* wss: or https: */
    bool ipv6;                  /* host was written as [v6 literal] */
    uint16_t port;              /* given, or 80/443 */
    const char *host;           /* points into the parsed string, without brackets */
    size_t host_len;
    const char *path;           /* path and query, "/" when absent */
    size_t path_len;
    const char *error;          /* why parsing failed (static string), NULL on success */
} lq_url;

/* Accepts ws, wss, http (as ws) and https (as wss). */
LQ_API lq_result lq_url_parse(const char *url, lq_url *out);

/* ---- JSON reader ------------------------------------------------------------------------------
   Zero-copy: a parse fills a caller-given token array; values are handles into it. A missing
   value (absent key, out of range, wrong type) is a handle with tok == NULL; every getter accepts
   it and returns its default, so lookups chain without checks. */

typedef enum lq_json_type {
    LQ_JSON_NONE = 0, LQ_JSON_NULL, LQ_JSON_FALSE, LQ_JSON_TRUE, LQ_JSON_NUMBER, LQ_JSON_STRING,
    LQ_JSON_ARRAY, LQ_JSON_OBJECT
} lq_json_type;

typedef struct lq_json_token {
    uint8_t type;               /* lq_json_type */
    uint8_t flags;              /* internal */
    uint16_t reserved;          /* always 0 */
    uint32_t start;             /* offset of the first byte (the quote, for strings) */
    uint32_t len;               /* bytes of the value's text */
    uint32_t skip;              /* tokens in this value's subtree, itself included */
} lq_json_token;

typedef struct lq_json {
    const char *src;            /* the whole document */
    const lq_json_token *tok;   /* NULL: no value */
} lq_json;

/* Parses text into tokens; max_depth 0 means 64. Returns the number of tokens used, or a negative
   lq_result: LQ_ERR_TOO_SMALL (more tokens needed), LQ_ERR_JSON, LQ_ERR_UTF8, LQ_ERR_LIMIT (depth,
   a document over 4 GiB, or more tokens than an int counts).
   Counting mode: with tokens NULL (max_tokens ignored) the text is checked exactly as a parse
   checks it, UTF-8 included, nothing is written or allocated, and the result is what a parse with
   enough tokens returns: the number of tokens it needs, or the same error. Use it to size the
   token array, or to validate a text of any size. root, if given, gets src = text and no value.
   Counting keeps the open containers in 512 bytes of stack, so there max_depth is capped at 4096
   (deeper is LQ_ERR_LIMIT). */
LQ_API int lq_json_parse(const char *text, size_t len, lq_json_token *tokens, size_t max_tokens,
                         int max_depth, lq_json *root);

LQ_API lq_json_type lq_json_kind(lq_json v);
LQ_API bool lq_json_exists(lq_json v);
LQ_API bool lq_json_is_null(lq_json v);
LQ_API lq_json lq_json_get(lq_json object, const char *key);
LQ_API lq_json lq_json_getn(lq_json object, const char *key, size_t key_len);
LQ_API lq_json lq_json_path(lq_json v, const char *dotted_path);   /* "a.b.2.c": arrays by index; keys with a dot need lq_json_get */
LQ_API lq_json lq_json_at(lq_json array, size_t index);
LQ_API size_t lq_json_count(lq_json v);     /* items of an array, members of an object, else 0 */
/* Iteration: child gives the first item (array) or first member value (object); next the next
   sibling; key the member name of an object member value. */
LQ_API lq_json lq_json_child(lq_json v);
LQ_API lq_json lq_json_next(lq_json v);
LQ_API lq_json lq_json_key(lq_json member_value);
/* The raw JSON text of any value, as the server sent it. */
LQ_API const char *lq_json_raw(lq_json v, size_t *len);
/* Decodes a string value into buf (always NUL-terminated when cap > 0). Returns the decoded
   length, which may exceed cap - 1 (then the output is cut, at a UTF-8 boundary). A non-string
   returns 0 and writes "". */
LQ_API size_t lq_json_string(lq_json v, char *buf, size_t cap);
/* Compares a string value, decoded, with a NUL-terminated string. */
LQ_API bool lq_json_string_eq(lq_json v, const char *s);
/* Exactly rounded up to 19 significant digits; longer numbers as exactly as the C library's
   strtod rounds them. */
LQ_API double lq_json_number(lq_json v, double def);
/* Numbers with an integral value in int64 range (12, -3, 1e3, 1.0); else def. */
LQ_API int64_t lq_json_int(lq_json v, int64_t def);
LQ_API bool lq_json_bool(lq_json v, bool def);
/* Parse types: {"__type":"Date","iso":S}, {"__type":"Pointer","className":S,"objectId":S},
   {"__type":"GeoPoint","latitude":N,"longitude":N}, {"__type":"File","name":S,"url":S}. */
LQ_API bool lq_json_date(lq_json v, lq_json *iso);
LQ_API bool lq_json_pointer(lq_json v, lq_json *class_name, lq_json *object_id);
LQ_API bool lq_json_geopoint(lq_json v, double *latitude, double *longitude);
LQ_API bool lq_json_file(lq_json v, lq_json *name, lq_json *url);

/* ---- Query builder ------------------------------------------------------------------------------
   Builds the "where" JSON of a query without a JSON library: add constraints, then lq_where_build
   into your buffer and pass that as lq_query.where. Several constraints on one key are merged
   ({"score":{"$gt":1,"$lt":9}}). Strings given to the builder are borrowed until lq_where_build. */

typedef enum lq_value_kind { LQ_VALUE_NULL = 0, LQ_VALUE_BOOL, LQ_VALUE_INT, LQ_VALUE_NUMBER, LQ_VALUE_STRING,
                             LQ_VALUE_JSON } lq_value_kind;

typedef struct lq_value {
    lq_value_kind kind;
    bool b;
    int64_t i;
    double n;
    const char *s;              /* STRING: UTF-8 text; JSON: any JSON value, checked when built */
} lq_value;

LQ_API lq_value lq_null(void);
LQ_API lq_value lq_bool(bool b);
LQ_API lq_value lq_int(int64_t i);
LQ_API lq_value lq_number(double n);
LQ_API lq_value lq_string(const char *s);
LQ_API lq_value lq_raw_json(const char *json);     /* e.g. a Pointer or a Date object */

#ifndef LQ_WHERE_MAX
#define LQ_WHERE_MAX 32
#endif

typedef struct lq_where lq_where;
typedef struct lq_where_term {
    const char *key;
    int op;                     /* internal */
    lq_value value;
    const lq_value *values;     /* containedIn, notContainedIn, containsAll */
    int num_values;
    const char *options;        /* matches */
    const lq_where *const *ors; /* or */
} lq_where_term;

struct lq_where {
    lq_where_term terms[LQ_WHERE_MAX];
    int count;
    lq_result error;            /* the first misuse (too many terms, a NULL key), reported by build */
};

LQ_API void lq_where_init(lq_where *w);
LQ_API void lq_where_equal_to(lq_where *w, const char *key, lq_value v);
LQ_API void lq_where_not_equal_to(lq_where *w, const char *key, lq_value v);
LQ_API void lq_where_less_than(lq_where *w, const char *key, lq_value v);
LQ_API void lq_where_less_than_or_equal_to(lq_where *w, const char *key, lq_value v);
LQ_API void lq_where_greater_than(lq_where *w, const char *key, lq_value v);
LQ_API void lq_where_greater_than_or_equal_to(lq_where *w, const char *key, lq_value v);
LQ_API void lq_where_contained_in(lq_where *w, const char *key, const lq_value *values, int n);
LQ_API void lq_where_not_contained_in(lq_where *w, const char *key, const lq_value *values, int n);
LQ_API void lq_where_contains_all(lq_where *w, const char *key, const lq_value *values, int n);
LQ_API void lq_where_exists(lq_where *w, const char *key);
LQ_API void lq_where_does_not_exist(lq_where *w, const char *key);
/* A regular expression (JavaScript syntax on the LiveQuery server); options like "i", or NULL. */
LQ_API void lq_where_matches(lq_where *w, const char *key, const char *regex, const char *options);
LQ_API void lq_where_starts_with(lq_where *w, const char *key, const char *prefix);
/* Any of the sub-queries matches. They are borrowed until lq_where_build. */
LQ_API void lq_where_or(lq_where *w, const lq_where *const *queries, int n);
/* Writes the JSON object, NUL-terminated. *len (optional) gets its length, or the size needed
   with LQ_ERR_TOO_SMALL. */
LQ_API lq_result lq_where_build(const lq_where *w, char *buf, size_t cap, size_t *len);

/* ---- Client ------------------------------------------------------------------------------------ */

typedef struct lq_client lq_client;

/* A subscription, by value. The client looks it up in its own table and never dereferences
   anything the caller holds: a handle that ended (after its UNSUBSCRIBED event) or that was never
   valid gives LQ_ERR_INVALID_ARG, and so does one that another client made, alive or destroyed (a
   handle carries a random tag of the client that made it: two clients share a tag 1 time in
   255). id 0 is none. */
typedef struct lq_sub { uint32_t id; } lq_sub;

typedef enum lq_state {
    LQ_STATE_INITIALIZED = 0,   /* created, lq_open not called yet */
    LQ_STATE_CONNECTING,        /* socket, handshake or connect op under way */
    LQ_STATE_CONNECTED,         /* the server said connected */
    LQ_STATE_RECONNECTING,      /* waiting for the next attempt */
    LQ_STATE_DISCONNECTED       /* after lq_close or a fatal error: terminal */
} lq_state;

typedef enum lq_event_type {
    LQ_EVENT_NONE = 0,
    LQ_EVENT_OPEN,
    LQ_EVENT_CLOSE,
    LQ_EVENT_ERROR,
    LQ_EVENT_RECONNECTING,
    LQ_EVENT_SUBSCRIBED,
    LQ_EVENT_CREATE,
    LQ_EVENT_ENTER,
    LQ_EVENT_UPDATE,
    LQ_EVENT_LEAVE,
    LQ_EVENT_DELETE,
    LQ_EVENT_UNSUBSCRIBED
} lq_event_type;

typedef struct lq_event {
    lq_event_type type;
    lq_sub sub;                 /* id 0 for client events */
    int32_t request_id;         /* the subscription's requestId on the wire, 0 for client events */
    void *sub_user_data;        /* the subscription's user_data */
    /* CREATE..DELETE: the object, and original when the server sent one (else tok == NULL) */
    lq_json object;
    lq_json original;
    /* ERROR */
    int error_code;             /* the server's code, or 0 for a local failure (see lq_error_detail) */
    lq_result result;           /* LQ_ERR_SERVER for server errors, else the local failure */
    const char *error_message;  /* NUL-terminated */
    bool fatal;                 /* no reconnect follows (the client or subscription is finished) */
    /* SUBSCRIBED */
    bool resubscribe;           /* sent again after a reconnect: events may have been missed */
    /* CLOSE */
    int close_code;             /* the server's Close code (1005: it had none), 1006 when the link was
                                   lost without one, 1000 after lq_close */
    /* RECONNECTING */
    int attempt;
    uint32_t delay_ms;
    /* OPEN */
    const char *client_id;
} lq_event;

typedef void (*lq_event_fn)(lq_client *client, const lq_event *event, void *user_data);

typedef struct lq_allocator {
    void *(*alloc)(size_t size, void *user_data);
    void (*free)(void *ptr, void *user_data);
    void *user_data;
} lq_allocator;

typedef enum lq_log_level { LQ_LOG_ERROR = 0, LQ_LOG_WARN, LQ_LOG_INFO, LQ_LOG_DEBUG } lq_log_level;

/* ---- Transports ---------------------------------------------------------------------------------
   Every byte lq_step moves goes through a transport: the built-in TCP one, or yours in
   desc.transport (a game engine's sockets, a platform TLS stack). A transport serves any number of
   connections (the WebSocket, later ones to the same server): connect gets *conn == NULL when a
   connection starts and may set it to its state for that connection; every later call of that
   connection gets it back, and close, called once for every connection whose connect was called
   (even when it failed), ends it and frees that state.
   A transport with tls == false carries plain bytes: for a wss:// URL the compiled-in TLS backend
   (LQ_USE_MBEDTLS) runs over it. With tls == true it does TLS itself and is used as it is. With
   desc.proxy_url (tls == false only) its connect is given the proxy's URL (host and port) and the
   tunnel's CONNECT goes over it.
   Calls return a byte count (recv: 0 means the peer ended the stream), LQ_IO_WANT_READ /
   LQ_IO_WANT_WRITE (nothing now: call again when the socket is readable or writable; a blocked
   send is retried with the same bytes and length, though the buffer may have moved: with OpenSSL
   set SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER), or a negative lq_result, after lq_transport_error()
   has told why. */

#define LQ_IO_WANT_READ (-100)
#define LQ_IO_WANT_WRITE (-101)

typedef struct lq_transport {
    /* Connects to url (host, port) without blocking: LQ_OK when done, WANT_* while under way. */
    int (*connect)(lq_client *c, void *self, void **conn, const lq_url *url);
    long (*send)(lq_client *c, void *self, void *conn, const void *buf, size_t len);
    long (*recv)(lq_client *c, void *self, void *conn, void *buf, size_t len);
    /* Bytes readable without waiting for the socket (data decrypted ahead); NULL means none. */
    size_t (*pending)(lq_client *c, void *self, void *conn);
    /* Ends the connection and frees its state. */
    void (*close)(lq_client *c, void *self, void *conn);
    /* The socket to poll, or -1 (then lq_timeout_ms stays short); NULL means -1. */
    int (*fd)(lq_client *c, void *self, void *conn);
    void *self;
    bool tls;                   /* does TLS itself: never wrapped by the TLS backend */
} lq_transport;

typedef struct lq_desc {
    const char *server_url;             /* ws://, wss://, http:// or https:// ... /parse */
    /* More endpoints (the same server behind several addresses, a fallback region): the first
       connection tries server_url (when set), then these, in order; a link that was up reconnects
       to its endpoint first, and a connect that fails moves on to the next one. The backoff
       counts attempts across the list. Every endpoint is TLS or none is. */
    const char *const *server_urls;
    int num_server_urls;
    const char *application_id;         /* required */
    const char *javascript_key;         /* the keys are optional; the server ORs them */
    const char *client_key;
    const char *master_key;
    const char *session_token;          /* default for subscriptions without their own */
    const char *installation_id;
    const char *const *extra_headers;   /* "Name: value" strings for the upgrade request */
    int num_extra_headers;
    bool use_fields;                    /* first try "fields" instead of "keys" (servers before 6.1);
                                           either way the client adapts to what the server takes */

    lq_event_fn on_event;
    void *user_data;

    /* timers, milliseconds; 0 means the default (LQ_DEFAULT_*, see CONFIGURATION) */
    uint32_t connect_timeout_ms;        /* socket + handshake + connected (10000) */
    uint32_t dead_link_ms;              /* nothing received for this long: reconnect (30000) */
    uint32_t ping_interval_ms;          /* send a ping when idle this long (0: never) */
    uint32_t close_timeout_ms;          /* wait for the server's Close (2000) */
    uint32_t max_reconnect_delay_ms;    /* cap of the backoff (30000) */
    bool no_reconnect;                  /* report CLOSE and stop instead of reconnecting */

    /* limits; 0 means the default (see LIMITS) */
    size_t max_message_bytes;
    size_t max_handshake_bytes;
    int max_json_depth;
    size_t max_outgoing_bytes;
    int max_subscriptions;

    lq_allocator allocator;
    /* Fills buf with unpredictable bytes (the handles' tag: 4 bytes in lq_client_create, first;
       WebSocket keys and masks, reconnect jitter). Required
       with LQ_NO_SOCKETS; defaults to the OS source otherwise. Returns false on failure. */
    bool (*random)(void *buf, size_t len, void *user_data);
    /* Log lines; a failed lq_client_create says why here (LQ_LOG_ERROR) before it returns. */
    void (*log)(lq_log_level level, const char *message, void *user_data);
    /* Optional: maps a host name to a numeric IPv4 or IPv6 address (NUL-terminated in out), so
       the built-in transport skips its own resolver (several addresses may be given, separated by
       spaces). Return false if it cannot: the built-in resolver does. */
    bool (*resolve)(const char *host, char *out, size_t cap, void *user_data);
    /* Optional, the asynchronous form (c-ares, a game engine's resolver): called at each lq_step
       while a connect waits for it. Return 1 when out holds the numeric addresses (separated by
       spaces), 0 while the answer is pending (lq_timeout_ms is then at most 10), -1 when the host
       does not resolve. */
    int (*resolve_async)(const char *host, char *out, size_t cap, void *user_data);
    /* Nameservers for the built-in resolver instead of resolv.conf's: "ip", "ip:port" or
       "[ipv6]:port", up to 3, separated by spaces or commas. */
    const char *dns_servers;

    /* transport and TLS (not with LQ_NO_SOCKETS) */
    const lq_transport *transport;      /* NULL: the built-in TCP (copied) */
    /* An HTTP proxy for both links: http://[user:password@]host[:port] (port 1080 by default;
       user and password percent-encoded, sent as Basic credentials). NULL or "": none. */
    const char *proxy_url;
    const char *tls_ca_file;            /* PEM file of trusted CAs (default: the system bundle) */
    const char *tls_ca_pem;             /* or the PEM text itself */
    /* Optional public-key pins: base64 SHA-256 digests of SubjectPublicKeyInfo (HPKP's
       pin-sha256). With any set, the server's leaf key must be one of them, on top of a chain
       that verifies. */
    const char *const *tls_pin_sha256;
    int num_tls_pin_sha256;
    bool tls_insecure_skip_verify_for_tests_only;   /* accept any certificate: never in production */

    /* REST (see REST; ignored with LQ_NO_REST) */
    const char *rest_url;               /* the REST API: NULL means server_url (ws://h/parse: http://h/parse) */
    uint32_t rest_timeout_ms;           /* a request's connect and answer (LQ_DEFAULT_REST_TIMEOUT_MS, 30000) */
    size_t max_response_bytes;          /* largest REST response body (LQ_DEFAULT_MAX_RESPONSE_BYTES, 64 MiB) */
} lq_desc;

typedef struct lq_query {
    const char *class_name;             /* required */
    const char *where;                  /* a JSON object; NULL means {} */
    const char *const *keys;            /* only these fields in events */
    int num_keys;
    const char *const *watch;           /* creates and updates only when one of these fields
                                           changes (emulated on servers without watch: 6.0) */
    int num_watch;
    const char *session_token;          /* NULL: the client's session token */
    void *user_data;                    /* returned in events as sub_user_data */
} lq_query;

/* A failure says why through desc.log. */
LQ_API lq_result lq_client_create(const lq_desc *desc, lq_client **out);
LQ_API void lq_client_destroy(lq_client *c);
/* Starts connecting (not needed: lq_step opens an initialized client). */
LQ_API lq_result lq_open(lq_client *c);
/* Closes the link, stops reconnecting, ends every subscription (UNSUBSCRIBED each, then CLOSE). */
LQ_API lq_result lq_close(lq_client *c);
/* Queues a subscription (sent when connected); out (optional) gets its handle. */
LQ_API lq_result lq_subscribe(lq_client *c, const lq_query *q, lq_sub *out);
/* Ends it: UNSUBSCRIBED follows, after which the handle is invalid. */
LQ_API lq_result lq_unsubscribe(lq_client *c, lq_sub s);
/* Replaces the query of a live subscription (the protocol's update op). */
LQ_API lq_result lq_update(lq_client *c, lq_sub s, const lq_query *q);
/* True from lq_subscribe until its UNSUBSCRIBED callback has returned. */
LQ_API bool lq_sub_valid(const lq_client *c, lq_sub s);
LQ_API void *lq_sub_user_data(const lq_client *c, lq_sub s);     /* NULL for an invalid handle */
LQ_API lq_result lq_sub_set_user_data(lq_client *c, lq_sub s, void *user_data);

LQ_API lq_state lq_client_state(const lq_client *c);
LQ_API const char *lq_state_str(lq_state s);
LQ_API const char *lq_event_str(lq_event_type t);
LQ_API const char *lq_client_id(const lq_client *c);            /* "" before connected */
LQ_API void *lq_client_user_data(const lq_client *c);
LQ_API const char *lq_error_message(const lq_client *c);        /* last failure, "" if none */
LQ_API int lq_error_detail(const lq_client *c);                 /* see ERRORS */
LQ_API int lq_subscription_count(const lq_client *c);
/* The endpoint in use (with desc.server_urls it moves on after a failed connect: ask at each). */
LQ_API const lq_url *lq_client_url(const lq_client *c);

/* ---- The I/O-free core (see CORE) ----------------------------------------------------------------
   lq_step() drives these with its sockets and nothing else; call them yourself to bring your own
   I/O. Time is any monotonic millisecond clock. */

typedef enum lq_io {
    LQ_IO_NONE = 0,             /* nothing to do about the transport */
    LQ_IO_CONNECT,              /* have a connection to lq_client_url() under way (start one if you
                                   have none), then lq_core_opened() */
    LQ_IO_CLOSE,                /* close the connection, then lq_core_closed() */
    LQ_IO_DONE                  /* finished: disconnected for good, every event reported */
} lq_io;

LQ_API lq_io lq_core_io(const lq_client *c);
LQ_API void lq_core_opened(lq_client *c, uint64_t now_ms);
/* The transport ended: closed on request, EOF, or failure (why says which; LQ_OK for a clean end). */
LQ_API void lq_core_closed(lq_client *c, lq_result why, int detail, uint64_t now_ms);
/* Bytes from the server. Returns the bytes consumed: all of them unless the connection failed. */
LQ_API size_t lq_core_feed(lq_client *c, const void *data, size_t len, uint64_t now_ms);
/* Bytes for the server: peek, send what you can, consume what was sent. */
LQ_API const void *lq_core_peek(const lq_client *c, size_t *len);
LQ_API void lq_core_consume(lq_client *c, size_t n);
/* Runs timers. Call when lq_core_timeout says so, or any time. */
LQ_API void lq_core_tick(lq_client *c, uint64_t now_ms);
/* Milliseconds until lq_core_tick has work (the connect deadline included), or -1 when no timer
   runs. 0 means now. */
LQ_API int64_t lq_core_timeout(const lq_client *c, uint64_t now_ms);

/* Links: the connections a client has. The calls above are those of the LiveQuery WebSocket;
   these take the link, and do the same for it. The REST link (an HTTP/1.1 connection to
   lq_core_link_url(c, LQ_LINK_REST)) asks for LQ_IO_CONNECT when a REST call is queued and for
   LQ_IO_CLOSE when it has been idle a few seconds; with LQ_NO_REST it never asks for anything.
   lq_core_timeout and lq_core_tick cover every link. LQ_IO_DONE comes once no link needs
   anything. */
typedef enum lq_link { LQ_LINK_LIVEQUERY = 0, LQ_LINK_REST = 1 } lq_link;
#define LQ_LINK_COUNT 2

LQ_API lq_io lq_core_link_io(const lq_client *c, lq_link link);
LQ_API const lq_url *lq_core_link_url(const lq_client *c, lq_link link);
LQ_API void lq_core_link_opened(lq_client *c, lq_link link, uint64_t now_ms);
LQ_API void lq_core_link_closed(lq_client *c, lq_link link, lq_result why, int detail, uint64_t now_ms);
LQ_API size_t lq_core_link_feed(lq_client *c, lq_link link, const void *data, size_t len, uint64_t now_ms);
LQ_API const void *lq_core_link_peek(const lq_client *c, lq_link link, size_t *len);
LQ_API void lq_core_link_consume(lq_client *c, lq_link link, size_t n);

/* ---- REST (not with LQ_NO_REST) ---------------------------------------------------------------
   Small calls of the Parse REST API, on the client's REST link: the same keys, session token,
   installation id and extra headers as the WebSocket, as X-Parse-* headers, over the same
   transport (TLS for https://). Calls queue and are sent in order; each ends with exactly one
   call of its on_response, from inside lq_step (or lq_core_*), unless it was cancelled: with the
   result, or why it failed (a refused or lost connection, a timeout, a response over
   max_response_bytes, bad JSON, an HTTP error, a Parse error). lq_response holds borrowed
   pointers, valid until the callback returns. lq_close fails the calls still queued
   (LQ_ERR_CLOSED); lq_client_destroy drops them without a call. */
#ifndef LQ_NO_REST

typedef struct lq_request { uint32_t id; } lq_request;       /* id 0 is none */

typedef struct lq_response {
    lq_request request;
    void *user_data;            /* the call's */
    lq_result result;           /* LQ_OK; LQ_ERR_SERVER: a Parse error (error_code); LQ_ERR_HTTP: another
                                   HTTP error; else a local failure (CONNECT, TIMEOUT, LIMIT, JSON, ...) */
    int status;                 /* the HTTP status, 0 when no response came */
    int error_code;             /* Parse's code ({"code":209,"error":"Invalid session token"}), else 0 */
    const char *error_message;  /* NUL-terminated; "" on success */
    lq_json body;               /* the whole JSON body, when there was one */
    lq_json results;            /* lq_find: the results array; lq_get, lq_login: the object */
} lq_response;

typedef void (*lq_response_fn)(lq_client *client, const lq_response *response, void *user_data);

typedef struct lq_find_desc {
    const char *class_name;     /* required */
    const char *object_id;      /* lq_get: required */
    const char *where;          /* lq_find: a JSON object; NULL means {} */
    const char *order;          /* "-score,playerName": descending score, then name */
    int limit;                  /* 0: the server's default (100) */
    int skip;
    const char *keys;           /* "score,playerName": only these fields */
    const char *include;        /* "owner,owner.team": pointers replaced by their objects */
    bool count;                 /* lq_find: the body gets "count" too */
    const char *session_token;  /* NULL: the client's */
    lq_response_fn on_response; /* required */
    void *user_data;
} lq_find_desc;

LQ_API lq_result lq_find(lq_client *c, const lq_find_desc *d, lq_request *out);
LQ_API lq_result lq_get(lq_client *c, const lq_find_desc *d, lq_request *out);
/* results is the user, with its sessionToken. */
LQ_API lq_result lq_login(lq_client *c, const char *username, const char *password, lq_response_fn on_response,
                          void *user_data, lq_request *out);
/* Its on_response will not be called; LQ_ERR_INVALID_ARG once it has been (or was cancelled). */
LQ_API lq_result lq_cancel(lq_client *c, lq_request r);

/* ---- Live views: a query's current results, in order, kept exact ------------------------------
   A view is a subscription and REST finds working together: it loads the rows (subscribed first,
   its events held until the find has answered, so that nothing is lost or applied twice), keeps
   them in the order of desc.order (Parse syntax: "-score,playerName"; ties by objectId; strings by
   code point, numbers numerically, dates by time, false before true, a missing or null value last
   ascending and first descending, as Parse Server on PostgreSQL orders) and at most desc.limit of
   them, and loads again whenever it cannot know (the link was lost, a row left a full window):
   after each READY its rows are what a fresh find with the same order and limit returns. Row
   positions are 0-based: INSERT's and CHANGE's index and MOVE's index ("to") are positions after
   the change; REMOVE's index and MOVE's from are positions before it. Replaying the events gives
   the rows, never more than limit of them. Events come from inside lq_step (or lq_core_*), on
   the caller's thread; their pointers are valid until the callback returns. */

typedef struct lq_view lq_view;

typedef enum lq_view_event_type {
    LQ_VIEW_NONE = 0,
    LQ_VIEW_INSERT,             /* a row at index */
    LQ_VIEW_CHANGE,             /* the row at index has new values, same place */
    LQ_VIEW_MOVE,               /* the row at from is now at index (with its new values) */
    LQ_VIEW_REMOVE,             /* the row at index (object_id) is gone */
    LQ_VIEW_READY,              /* consistent: after the first load (its rows came as INSERTs), and
                                   after a reload that followed STALE (resync true); count rows */
    LQ_VIEW_STALE,              /* the link was lost: the rows may be behind until READY */
    LQ_VIEW_ERROR               /* a failed REST call (retried, fatal false), or the end (fatal) */
} lq_view_event_type;

typedef struct lq_view_event {
    lq_view_event_type type;
    int index;
    int from;
    lq_json object;             /* INSERT, CHANGE, MOVE, REMOVE: the row */
    const char *object_id;      /* INSERT, CHANGE, MOVE, REMOVE */
    int count;                  /* READY */
    bool resync;                /* READY after STALE */
    lq_result result;           /* ERROR: as lq_response.result */
    int error_code;             /* ERROR: Parse's code (209: the session token is no longer valid) */
    const char *error_message;
    bool fatal;                 /* ERROR: the view is finished (destroy it) */
} lq_view_event;

typedef void (*lq_view_fn)(lq_view *view, const lq_view_event *event, void *user_data);

typedef struct lq_view_desc {
    const char *class_name;     /* required */
    const char *where;          /* a JSON object; NULL means {} */
    const char *order;          /* NULL: createdAt */
    int limit;                  /* rows at most; 0: every matching object */
    const char *const *keys;    /* only these fields (and the order's, objectId, createdAt, updatedAt) */
    int num_keys;
    const char *const *include; /* pointer fields the finds replace by their objects */
    int num_include;
    const char *session_token;  /* NULL: the client's; used by the subscription and the finds */
    lq_view_fn on_event;        /* required */
    void *user_data;
} lq_view_desc;

LQ_API lq_result lq_view_create(lq_client *c, const lq_view_desc *d, lq_view **out);
/* Not inside a callback. lq_client_destroy destroys the views left. */
LQ_API void lq_view_destroy(lq_view *v);
LQ_API int lq_view_count(const lq_view *v);
LQ_API lq_json lq_view_row(const lq_view *v, int index);          /* valid until the next lq_step */
LQ_API int lq_view_index_of(const lq_view *v, const char *object_id);   /* -1: not a row */
LQ_API bool lq_view_is_ready(const lq_view *v);                  /* loaded and not stale */
LQ_API size_t lq_view_heap_bytes(const lq_view *v);              /* all it holds */
LQ_API void *lq_view_user_data(const lq_view *v);
LQ_API lq_client *lq_view_client(const lq_view *v);

#endif /* LQ_NO_REST */

/* ---- Sockets (not with LQ_NO_SOCKETS) -------------------------------------------------------- */
#ifndef LQ_NO_SOCKETS

#define LQ_WANT_READ 0x1        /* map to POLLIN (the same value on POSIX, not on Windows) */
#define LQ_WANT_WRITE 0x4       /* map to POLLOUT */

/* A transport's failure message (detail: errno, TLS code, ...), for lq_error_message. */
LQ_API void lq_transport_error(lq_client *c, int detail, const char *message);
LQ_API lq_result lq_step(lq_client *c);                /* LQ_ERR_CLOSED once lq_core_io is DONE */
LQ_API int lq_fd(const lq_client *c);                  /* -1 when there is no socket */
LQ_API int lq_fd_events(const lq_client *c);           /* LQ_WANT_READ | LQ_WANT_WRITE */
/* Every socket the client has (the LiveQuery WebSocket's, the REST connection's) with the events
   it waits for: fill a struct pollfd, an fd_set or an epoll set from it on each iteration (the
   sockets change). Writes up to max; returns how many there are (at most LQ_LINK_COUNT). */
typedef struct lq_pollfd { int fd; int events; } lq_pollfd;     /* events: LQ_WANT_* */
LQ_API int lq_pollfds(const lq_client *c, lq_pollfd *out, int max);
LQ_API int lq_timeout_ms(const lq_client *c);          /* for poll(); -1: no timer */
LQ_API lq_result lq_wait(lq_client *c, int max_ms);    /* poll the socket (at most max_ms; < 0: until
                                                          the client's next timer), then lq_step */
LQ_API uint64_t lq_now_ms(void);                       /* the monotonic clock lq_step uses */

#endif /* LQ_NO_SOCKETS */

#ifdef __cplusplus
}
#endif
#endif /* LIVEQUERY_H_INCLUDED */

/* ================================================================================================
   IMPLEMENTATION
   ================================================================================================ */
#ifdef LIVEQUERY_IMPLEMENTATION
#ifndef LIVEQUERY_IMPLEMENTATION_INCLUDED
#define LIVEQUERY_IMPLEMENTATION_INCLUDED

#if defined(LQ_NO_SOCKETS) && defined(LQ_USE_MBEDTLS)
#error "LQ_USE_MBEDTLS needs the socket layer: drop LQ_NO_SOCKETS (a core user runs TLS in its own I/O)"
#endif
/* The one place that selects the TLS backend (see >>tls). */
#if defined(LQ_USE_MBEDTLS) + defined(LQ_USE_OPENSSL) + defined(LQ_USE_SCHANNEL) > 1
#error "choose one TLS backend: LQ_USE_MBEDTLS, LQ_USE_OPENSSL or LQ_USE_SCHANNEL"
#elif defined(LQ_USE_MBEDTLS)
#define LQ__TLS_BACKEND "mbedTLS"
#elif defined(LQ_USE_OPENSSL)
#define LQ__TLS_BACKEND "OpenSSL"
#elif defined(LQ_USE_SCHANNEL)
#if !defined(_WIN32)
#error "LQ_USE_SCHANNEL is Windows' own TLS: elsewhere use LQ_USE_OPENSSL or LQ_USE_MBEDTLS"
#endif
#define LQ__TLS_BACKEND "Schannel"
#endif
#if defined(LQ_NO_SOCKETS) && defined(LQ_USE_OPENSSL)
#error "LQ_USE_OPENSSL needs the socket layer: drop LQ_NO_SOCKETS (a core user runs TLS in its own I/O)"
#endif
#if defined(LQ_NO_SOCKETS) && defined(LQ_USE_SCHANNEL)
#error "LQ_USE_SCHANNEL needs the socket layer: drop LQ_NO_SOCKETS (a core user runs TLS in its own I/O)"
#endif

#include <string.h>
#include <stdlib.h>
#include <stdio.h>
#include <stdarg.h>

#ifndef LQ_ASSERT
#include <assert.h>
#define LQ_ASSERT(x) assert(x)
#endif

#ifndef LQ_DEFAULT_MAX_MESSAGE_BYTES
#define LQ_DEFAULT_MAX_MESSAGE_BYTES (16u * 1024u * 1024u)
#endif
#ifndef LQ_DEFAULT_MAX_HANDSHAKE_BYTES
#define LQ_DEFAULT_MAX_HANDSHAKE_BYTES (16u * 1024u)
#endif
#ifndef LQ_DEFAULT_MAX_JSON_DEPTH
#define LQ_DEFAULT_MAX_JSON_DEPTH 64
#endif
#ifndef LQ_DEFAULT_MAX_OUTGOING_BYTES
#define LQ_DEFAULT_MAX_OUTGOING_BYTES (4u * 1024u * 1024u)
#endif
#ifndef LQ_READ_BUFFER_BYTES
#define LQ_READ_BUFFER_BYTES 8192
#endif
#ifndef LQ_READ_BUFFER_MAX
#define LQ_READ_BUFFER_MAX 65536
#endif
#ifndef LQ_DEFAULT_MAX_SUBSCRIPTIONS
#define LQ_DEFAULT_MAX_SUBSCRIPTIONS 65536
#endif
#ifndef LQ_DEFAULT_REST_TIMEOUT_MS
#define LQ_DEFAULT_REST_TIMEOUT_MS 30000
#endif
#ifndef LQ_DEFAULT_MAX_RESPONSE_BYTES
#define LQ_DEFAULT_MAX_RESPONSE_BYTES ((size_t)64 << 20)
#endif
#ifndef LQ_DEFAULT_CONNECT_TIMEOUT_MS
#define LQ_DEFAULT_CONNECT_TIMEOUT_MS 10000
#endif
#ifndef LQ_DEFAULT_DEAD_LINK_MS
#define LQ_DEFAULT_DEAD_LINK_MS 30000
#endif
#ifndef LQ_DEFAULT_CLOSE_TIMEOUT_MS
#define LQ_DEFAULT_CLOSE_TIMEOUT_MS 2000
#endif
#ifndef LQ_DEFAULT_MAX_RECONNECT_DELAY_MS
#define LQ_DEFAULT_MAX_RECONNECT_DELAY_MS 30000
#endif

#if defined(__GNUC__) || defined(__clang__)
#define LQ__UNLIKELY(x) __builtin_expect(!!(x), 0)
#define LQ__COLD __attribute__((cold))
#else
#define LQ__UNLIKELY(x) (x)
#define LQ__COLD
#endif

/* >>utilities ---------------------------------------------------------------------------------- */

static void *lq__default_alloc(size_t size, void *user) { (void)user; return malloc(size); }
static void lq__default_free(void *p, void *user) { (void)user; free(p); }

static void *lq__alloc(const lq_allocator *a, size_t n) { return a->alloc(n, a->user_data); }
static void lq__free(const lq_allocator *a, void *p) { if (p) a->free(p, a->user_data); }

static char *lq__strdup(const lq_allocator *a, const char *s) {
    size_t n;
    char *d;
    if (!s) return NULL;
    n = strlen(s);
    d = (char *)lq__alloc(a, n + 1);
    if (d) memcpy(d, s, n + 1);
    return d;
}

static int64_t lq__until(uint64_t at, uint64_t now) { return at > now ? (int64_t)(at - now) : 0; }

static int64_t lq__min_timer(int64_t a, int64_t b) { return (a < 0 || (b >= 0 && b < a)) ? b : a; }

static int lq__lower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

static bool lq__ieq(const char *a, size_t an, const char *b) {
    size_t i;
    for (i = 0; i < an; i++)
        if (b[i] == 0 || lq__lower((unsigned char)a[i]) != lq__lower((unsigned char)b[i])) return false;
    return b[an] == 0;
}

/* A growable byte buffer with a hard limit and a sticky error: the first failure (limit, memory,
   bad input) is kept in err and every later put does nothing, so a writer checks once at the end.
   Without an allocator it is the caller's fixed array: writes past cap are counted in len but not
   stored (snprintf-like). */
typedef struct lq__buf {
    char *data;
    size_t len, cap, limit;
    const lq_allocator *a;
    lq_result err;
} lq__buf;

static lq_result lq__buf_fail(lq__buf *b, lq_result r) {
    if (b->err == LQ_OK) b->err = r;
    return b->err;
}

static void lq__buf_clear(lq__buf *b) {
    b->len = 0;
    b->err = LQ_OK;
}

static lq_result lq__buf_reserve(lq__buf *b, size_t extra) {
    size_t need, cap;
    char *p;
    if (b->err != LQ_OK) return b->err;
    if (extra > b->limit || b->len > b->limit - extra) return lq__buf_fail(b, LQ_ERR_LIMIT);
    if (!b->a) return LQ_OK;
    need = b->len + extra;
    if (need <= b->cap) return LQ_OK;
    cap = b->cap ? b->cap : 256;
    while (cap < need) cap = (cap > b->limit / 2) ? b->limit : cap * 2;
    p = (char *)lq__alloc(b->a, cap);
    if (!p) return lq__buf_fail(b, LQ_ERR_NOMEM);
    if (b->len) memcpy(p, b->data, b->len);
    lq__free(b->a, b->data);
    b->data = p;
    b->cap = cap;
    return LQ_OK;
}

static void lq__buf_put(lq__buf *b, const void *p, size_t n) {
    if (lq__buf_reserve(b, n) != LQ_OK) return;
    if (n && b->len + n <= b->cap) memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void lq__buf_puts(lq__buf *b, const char *s) { lq__buf_put(b, s, strlen(s)); }

static void lq__buf_putu(lq__buf *b, uint64_t v) {
    char tmp[24];
    size_t i = sizeof tmp;
    do { tmp[--i] = (char)('0' + v % 10); v /= 10; } while (v);
    lq__buf_put(b, tmp + i, sizeof tmp - i);
}

static void lq__buf_drop_front(lq__buf *b, size_t n) {
    LQ_ASSERT(n <= b->len);
    if (n < b->len) memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

static void lq__buf_free(lq__buf *b) {
    lq__free(b->a, b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->err = LQ_OK;
}

const char *lq_result_str(lq_result r) {
    switch (r) {
    case LQ_OK: return "ok";
    case LQ_ERR_INVALID_ARG: return "invalid argument";
    case LQ_ERR_NOMEM: return "out of memory";
    case LQ_ERR_URL: return "invalid URL";
    case LQ_ERR_LIMIT: return "limit exceeded";
    case LQ_ERR_UTF8: return "invalid UTF-8";
    case LQ_ERR_JSON: return "invalid JSON";
    case LQ_ERR_STATE: return "not allowed in this state";
    case LQ_ERR_HANDSHAKE: return "WebSocket handshake failed";
    case LQ_ERR_PROTOCOL: return "WebSocket protocol error";
    case LQ_ERR_CLOSED: return "connection closed";
    case LQ_ERR_IO: return "I/O error";
    case LQ_ERR_DNS: return "host name not resolved";
    case LQ_ERR_CONNECT: return "cannot connect";
    case LQ_ERR_TLS: return "TLS error";
    case LQ_ERR_TLS_UNAVAILABLE: return "TLS not compiled in (LQ_USE_MBEDTLS, LQ_USE_OPENSSL or LQ_USE_SCHANNEL)";
    case LQ_ERR_SERVER: return "server error";
    case LQ_ERR_TIMEOUT: return "timed out";
    case LQ_ERR_TOO_SMALL: return "buffer too small";
    case LQ_ERR_HTTP: return "HTTP error";
    case LQ_ERR_PROXY: return "proxy refused or botched the tunnel";
    }
    return "unknown error";
}

/* >>json --------------------------------------------------------------------------------------- */
/* UTF-8, the JSON writer helper and the JSON reader.

   UTF-8 is checked by a table-driven DFA (RFC 3629: no overlong forms, no surrogates, nothing above
   U+10FFFF) behind an ASCII fast path that tests 8 bytes at a time. The state is a plain integer so
   the WebSocket layer can feed one fragment at a time.

   The reader is a single iterative pass that fills the caller's token array and allocates nothing.
   Open containers form a linked list threaded through their own tokens (skip holds the parent's
   index until the container closes), so nesting depth costs no stack at all and max_depth is a
   policy, not a safety valve. Each value gets one token in pre-order;
   each object member is a key token (flag LQ__TOK_KEY, skip 1) followed by the value's tokens.
   The last value of every array or object, and the root, carry LQ__TOK_LAST: lq_json_next stops
   there, so a handle needs nothing but {src, tok}. The parser keeps the last completed value in a
   local, which is all it needs to set that flag when a container closes. reserved stays 0.
   Without tokens there is nowhere to thread the open containers, so counting (tokens NULL) is a
   second, smaller state machine over the same scanners, with a bit per open container on the
   stack; the parser's loop is left as it was.

   Numbers never meet the C locale's decimal point: up to 19 significant digits are gathered in
   an integer, which gives lq_json_int exactly and lq_json_number exactly rounded when Clinger's
   fast path applies (mantissa <= 2^53, power of ten <= 10^22); anything else goes to strtod as
   significant digits and a decimal exponent ("123e-5", never "1.23"), and is then as exact as
   the C library's strtod (glibc's is; mingw-w64's misrounds some long subnormal texts). */

#define LQ__UTF8_ACCEPT 0u
#define LQ__UTF8_REJECT 1u

#define LQ__TOK_KEY 1u   /* an object member's name */
#define LQ__TOK_ESC 2u   /* a string holding at least one backslash escape */
#define LQ__TOK_LAST 4u  /* the last value of its array or object, or the root */
#define LQ__TOK_ROOT 8u  /* the document's top-level value */

#define LQ__JSON_NO_PARENT 0xFFFFFFFFu

/* Byte classes: 0 ASCII, 1 80..8F, 2 90..9F, 3 A0..BF, 4 never valid (C0 C1 F5..FF), 5 C2..DF,
   6 E0, 7 E1..EC EE EF, 8 ED, 9 F0, 10 F1..F3, 11 F4. */
static const uint8_t lq__utf8_class[256] = {
    0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, 2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,
    3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3, 3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,
    4,4,5,5,5,5,5,5,5,5,5,5,5,5,5,5, 5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,
    6,7,7,7,7,7,7,7,7,7,7,7,7,8,7,7, 9,10,10,10,11,4,4,4,4,4,4,4,4,4,4,4
};

/* States: 0 boundary, 1 rejected, 2..4 need 1..3 continuation bytes, 5 after E0 (A0..BF next),
   6 after ED (80..9F next), 7 after F0 (90..BF next), 8 after F4 (80..8F next). */
static const uint8_t lq__utf8_next[9 * 12] = {
    0,1,1,1,1,2,5,3,6,7,4,8,
    1,1,1,1,1,1,1,1,1,1,1,1,
    1,0,0,0,1,1,1,1,1,1,1,1,
    1,2,2,2,1,1,1,1,1,1,1,1,
    1,3,3,3,1,1,1,1,1,1,1,1,
    1,1,1,2,1,1,1,1,1,1,1,1,
    1,2,2,1,1,1,1,1,1,1,1,1,
    1,1,3,3,1,1,1,1,1,1,1,1,
    1,3,1,1,1,1,1,1,1,1,1,1
};

/* Continues a validation from state: 0 means at a code point boundary and valid so far,
   LQ__UTF8_REJECT invalid for good, anything else in the middle of a sequence. */
static uint32_t lq__utf8_step(uint32_t state, const unsigned char *s, size_t n) {
    size_t i = 0;
    if (state == LQ__UTF8_REJECT) return state;
    while (i < n) {
        if (state == LQ__UTF8_ACCEPT) {
            uint64_t w;
            while (n - i >= 8) {
                memcpy(&w, s + i, 8);
                if (w & 0x8080808080808080u) break;
                i += 8;
            }
            while (i < n && s[i] < 0x80) i++;
            if (i == n) break;
        }
        state = lq__utf8_next[state * 12 + lq__utf8_class[s[i++]]];
        if (LQ__UNLIKELY(state == LQ__UTF8_REJECT)) break;
    }
    return state;
}

static bool lq__utf8_valid(const unsigned char *s, size_t n) {
    return lq__utf8_step(LQ__UTF8_ACCEPT, s, n) == LQ__UTF8_ACCEPT;
}

/* The length of s[0..n) without an incomplete sequence at its end. */
static size_t lq__utf8_trim(const unsigned char *s, size_t n) {
    size_t i = n, need;
    unsigned char lead;
    while (i > 0 && n - i < 3 && (s[i - 1] & 0xC0) == 0x80) i--;
    if (i == 0) return n;
    lead = s[i - 1];
    need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    return n - (i - 1) < need ? i - 1 : n;
}

/* ---- writer ---------------------------------------------------------------------------------- */

/* For bytes below 0x20: the letter of the short escape, or 'u' for \u00XX. */
static const char lq__json_ctl_esc[33] = "uuuuuuuubtnufruuuuuuuuuuuuuuuuuu";

/* Appends s as a quoted JSON string. Fails with LQ_ERR_UTF8 (sticky, nothing written) unless s is
   valid UTF-8. */
static void lq__json_put_str(lq__buf *b, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t i, out = n + 2;
    char *o;
    if (!s && n) { lq__buf_fail(b, LQ_ERR_INVALID_ARG); return; }
    if (n > (SIZE_MAX - 2) / 6) { lq__buf_fail(b, LQ_ERR_LIMIT); return; }
    if (!lq__utf8_valid(u, n)) { lq__buf_fail(b, LQ_ERR_UTF8); return; }
    for (i = 0; i < n; i++) {
        if (u[i] < 0x20) out += lq__json_ctl_esc[u[i]] == 'u' ? 5 : 1;
        else if (u[i] == '"' || u[i] == '\\') out += 1;
    }
    if (lq__buf_reserve(b, out) != LQ_OK) return;
    if (b->len + out > b->cap) { b->len += out; return; }           /* a fixed buffer: count only */
    o = b->data + b->len;
    *o++ = '"';
    for (i = 0; i < n; i++) {
        unsigned char c = u[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *o++ = (char)c;
        } else if (c >= 0x20) {
            *o++ = '\\';
            *o++ = (char)c;
        } else if (lq__json_ctl_esc[c] != 'u') {
            *o++ = '\\';
            *o++ = lq__json_ctl_esc[c];
        } else {
            memcpy(o, "\\u00", 4);
            o[4] = hex[c >> 4];
            o[5] = hex[c & 15];
            o += 6;
        }
    }
    *o++ = '"';
    b->len += out;
}

static void lq__json_put_strz(lq__buf *b, const char *s) {
    if (!s) lq__buf_fail(b, LQ_ERR_INVALID_ARG);
    else lq__json_put_str(b, s, strlen(s));
}

/* ---- reader ---------------------------------------------------------------------------------- */

static int lq__json_hexval(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = (unsigned char)(c | 0x20);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Four hex digits at p, or -1. */
static long lq__json_hex4(const unsigned char *p) {
    int a = lq__json_hexval(p[0]), b = lq__json_hexval(p[1]);
    int c = lq__json_hexval(p[2]), d = lq__json_hexval(p[3]);
    if ((a | b | c | d) < 0) return -1;
    return ((long)a << 12) | ((long)b << 8) | ((long)c << 4) | (long)d;
}

static const unsigned char *lq__json_skip_ws(const unsigned char *p, const unsigned char *end) {
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    return p;
}

/* Compact JSON has no whitespace: one compare decides in the usual case. */
#define LQ__JSON_SKIP_WS(p, end) \
    do { if ((p) < (end) && *(p) <= ' ') (p) = lq__json_skip_ws((p), (end)); } while (0)

/* Checks the escape whose backslash is at p; returns the byte after it, or NULL. */
static const unsigned char *lq__json_check_escape(const unsigned char *p,
                                                  const unsigned char *end) {
    long cp, lo;
    if (end - p < 2) return NULL;
    switch (p[1]) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
        return p + 2;
    case 'u':
        break;
    default:
        return NULL;
    }
    if (end - p < 6 || (cp = lq__json_hex4(p + 2)) < 0) return NULL;
    if (cp >= 0xDC00 && cp <= 0xDFFF) return NULL;
    if (cp < 0xD800 || cp > 0xDBFF) return p + 6;
    if (end - p < 12 || p[6] != '\\' || p[7] != 'u') return NULL;
    lo = lq__json_hex4(p + 8);
    if (lo < 0xDC00 || lo > 0xDFFF) return NULL;
    return p + 12;
}

/* Nonzero when one of the 8 bytes in w is '"', '\\', below 0x20 or 0x80 and above. Each flagged
   byte has its top bit set; bytes after the first hit may be flagged falsely (borrows), the first
   hit and the bytes before it never are. */
static uint64_t lq__json_str_stops(uint64_t w) {
    const uint64_t ones = 0x0101010101010101u, top = 0x8080808080808080u;
    uint64_t q = w ^ (ones * '"'), bs = w ^ (ones * '\\');
    uint64_t hits = ((q - ones) & ~q) | ((bs - ones) & ~bs) | ((w - ones * 0x20) & ~w);
    return (hits | w) & top;
}

/* The bytes the string scan stops at. Bytes 0x80 and above stop it in both modes: one test per
   block serves both, and the rare path decides whether they are checked as UTF-8. */
static bool lq__json_str_stop(unsigned char c) { return c == '"' || c == '\\' || c < 0x20 || c >= 0x80; }

#if (defined(__GNUC__) || defined(__clang__)) && defined(__BYTE_ORDER__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define LQ__JSON_FIRST_STOP(m) ((size_t)__builtin_ctzll(m) >> 3)
#endif

/* SSE2 (every x86-64) scans strings 16 bytes at a time; other targets use the 8-byte SWAR scan. */
#if (defined(__GNUC__) || defined(__clang__)) && defined(__SSE2__) && !defined(LQ_NO_SIMD)
#define LQ__JSON_SSE2 1
#include <emmintrin.h>
#endif

/* Keeps the rare paths out of the string loop, so that the loop can live inside the parser. */
#if defined(__GNUC__) || defined(__clang__)
#define LQ__JSON_COLD __attribute__((noinline, cold))
#define LQ__JSON_HOT __attribute__((always_inline)) inline
#define LQ__JSON_FLAT __attribute__((noinline, flatten))
#else
#define LQ__JSON_COLD
#define LQ__JSON_HOT
#define LQ__JSON_FLAT
#endif

/* Handles a byte that stopped the string scan and is not the closing quote: an escape, a run of
   non-ASCII bytes (checked as UTF-8 when check_utf8), or an error. Returns where scanning goes
   on, or NULL with *err set. */
LQ__JSON_COLD static const unsigned char *
lq__json_scan_special(const unsigned char *p, const unsigned char *end, bool check_utf8, uint8_t *flags,
                      int *err) {
    if (*p == '\\') {
        *flags = (uint8_t)(*flags | LQ__TOK_ESC);
        p = lq__json_check_escape(p, end);
        if (p) return p;
    } else if (*p >= 0x80) {
        const unsigned char *q = p + 1;
        while (q < end && *q >= 0x80) q++;
        if (!check_utf8 || lq__utf8_step(LQ__UTF8_ACCEPT, p, (size_t)(q - p)) == LQ__UTF8_ACCEPT) return q;
        *err = LQ_ERR_UTF8;
        return NULL;
    }
    *err = LQ_ERR_JSON;
    return NULL;
}

/* Scans the rest of a string whose opening quote is just before p. Returns the byte after the
   closing quote, or NULL with *err set. Sets LQ__TOK_ESC in *flags on an escape. wide is where
   16-byte loads stop fitting (end - 15, or the document's start when it is shorter): p < wide is
   one compare. */
LQ__JSON_HOT static const unsigned char *
lq__json_scan_string(const unsigned char *p, const unsigned char *wide, const unsigned char *end,
                     bool check_utf8, uint8_t *flags, int *err) {
#ifdef LQ__JSON_SSE2
    /* Signed "< 0x20" flags the control bytes and 0x80..0xFF at once. */
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
#endif
    (void)wide;                 /* used by the SSE2 path only */
    for (;;) {
#ifdef LQ__JSON_SSE2
        if (p < wide) {
            __m128i w = _mm_loadu_si128((const __m128i *)(const void *)p);
            __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(w, quote), _mm_cmpeq_epi8(w, bslash));
            unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(hit, _mm_cmplt_epi8(w, space)));
            if (!m) {
                p += 16;
                continue;
            }
            p += __builtin_ctz(m);
        } else
#endif
        if (end - p >= 8) {
            uint64_t w, m;
            memcpy(&w, p, 8);
            m = lq__json_str_stops(w);
            if (!m) {
                p += 8;
                continue;
            }
#ifdef LQ__JSON_FIRST_STOP
            p += LQ__JSON_FIRST_STOP(m);
#else
            while (!lq__json_str_stop(*p)) p++;
#endif
        } else {
            while (p < end && !lq__json_str_stop(*p)) p++;
            if (p == end) {
                *err = LQ_ERR_JSON;
                return NULL;
            }
        }
        if (*p == '"') return p + 1;
        p = lq__json_scan_special(p, end, check_utf8, flags, err);
        if (!p) return NULL;
    }
}

/* Scans a number starting at p (a '-' or a digit); returns the byte after it, or NULL. */
static const unsigned char *lq__json_scan_number(const unsigned char *p, const unsigned char *end) {
    if (*p == '-') p++;
    if (p == end) return NULL;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9') p++;
    } else {
        return NULL;
    }
    if (p < end && *p == '.') {
        const unsigned char *d = ++p;
        while (p < end && *p >= '0' && *p <= '9') p++;
        if (p == d) return NULL;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        const unsigned char *d;
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        d = p;
        while (p < end && *p >= '0' && *p <= '9') p++;
        if (p == d) return NULL;
    }
    return p;
}

/* Fills what a token knows at its first byte; the end of the value sets len (and, for a
   container, skip). type, flags and reserved go out as one 32-bit store where the byte order is
   known (field by field, compilers store them as two halves or a vector load). */
LQ__JSON_HOT static void lq__json_tok_begin(lq_json_token *t, uint8_t type, uint8_t flags, uint32_t start) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint32_t head = (uint32_t)type | (uint32_t)flags << 8;
    memcpy(t, &head, 4);
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    uint32_t head = (uint32_t)type << 24 | (uint32_t)flags << 16;
    memcpy(t, &head, 4);
#else
    t->type = type;
    t->flags = flags;
    t->reserved = 0;
#endif
    t->start = start;
    t->skip = 1;
}

/* Counting keeps one bit per open container (set: an object) on the C stack, so its depth stops
   here whatever max_depth says (LQ_ERR_LIMIT beyond). 4096 levels are 512 bytes. */
#define LQ__JSON_COUNT_DEPTH 4096

/* A document can need 2^31 tokens (4 GiB of "[0,0,...]"), one more than an int counts. */
#define LQ__JSON_MAX_TOKENS 0x7FFFFFFFu

/* The parse without tokens: the same checks in the same order, so a document gets the error a
   parse gives it, or the number of tokens a parse fills (0 with *err set on an error). The text
   comes from the caller, not from the WebSocket layer, so its UTF-8 is always checked.
   Two details keep the parser's instruction count as it was (callgrind, GCC 12 -O2): flatten
   inlines the helpers here, so lq__json_parse stays the only caller of the ones the compiler
   inlines into it as called once; and *err, not the return value, carries the error, so that
   lq__json_parse does not end in a tail call, which cost its loop registers. */
LQ__JSON_FLAT static uint32_t lq__json_count(const unsigned char *s, size_t len, int max_depth,
                                             int *err) {
    uint32_t kinds[LQ__JSON_COUNT_DEPTH / 32] = {0};
    const unsigned char *p = s, *end = s + len, *wide = len >= 16 ? end - 15 : s;
    uint32_t count = 0, depth = 0;
    uint32_t limit = max_depth ? (uint32_t)max_depth : LQ_DEFAULT_MAX_JSON_DEPTH;
    uint8_t flags = 0;
    bool object = false;        /* the innermost open container is an object */

    *err = LQ_ERR_JSON;
    if (limit > LQ__JSON_COUNT_DEPTH) limit = LQ__JSON_COUNT_DEPTH;
value:
    LQ__JSON_SKIP_WS(p, end);
    if (p == end) return 0;
    if (++count > LQ__JSON_MAX_TOKENS) goto over_limit;
    switch (*p) {
    case '"':
        p = lq__json_scan_string(p + 1, wide, end, true, &flags, err);
        if (!p) return 0;
        break;
    case '{':
    case '[':
        if (depth == limit) goto over_limit;
        object = *p == '{';
        if (object) kinds[depth >> 5] |= 1u << (depth & 31);
        else kinds[depth >> 5] &= ~(1u << (depth & 31));
        depth++;
        p++;
        LQ__JSON_SKIP_WS(p, end);
        if (p == end) return 0;
        if (*p == (object ? '}' : ']')) goto close;
        if (object) goto key;
        goto value;
    case 't':
        if (end - p < 4 || memcmp(p, "true", 4) != 0) return 0;
        p += 4;
        break;
    case 'f':
        if (end - p < 5 || memcmp(p, "false", 5) != 0) return 0;
        p += 5;
        break;
    case 'n':
        if (end - p < 4 || memcmp(p, "null", 4) != 0) return 0;
        p += 4;
        break;
    default:
        if (*p != '-' && (*p < '0' || *p > '9')) return 0;
        p = lq__json_scan_number(p, end);
        if (!p) return 0;
        break;
    }

after_value:
    LQ__JSON_SKIP_WS(p, end);
    if (depth == 0) return p == end ? count : 0;
    if (p == end) return 0;
    if (*p == ',') {
        p++;
        if (object) goto key;
        goto value;
    }
    if (*p != (object ? '}' : ']')) return 0;

close:
    p++;
    depth--;
    object = depth && (kinds[(depth - 1) >> 5] >> ((depth - 1) & 31) & 1u);
    goto after_value;

key:
    LQ__JSON_SKIP_WS(p, end);
    if (p == end || *p != '"') return 0;
    if (++count > LQ__JSON_MAX_TOKENS) goto over_limit;
    p = lq__json_scan_string(p + 1, wide, end, true, &flags, err);
    if (!p) return 0;
    LQ__JSON_SKIP_WS(p, end);
    if (p == end || *p != ':') return 0;
    p++;
    goto value;

over_limit:
    *err = LQ_ERR_LIMIT;
    return 0;
}

/* A goto state machine, one label per place a value, key or separator may come. The member
   `"key":"string",` of compact JSON, most of an event, runs straight from key back to key with
   one compare per separator; whitespace, other values and closing brackets take the general
   labels. open is the innermost open container (NULL at the root), whose skip holds its parent's
   index until it closes; last is the value just completed, flagged LAST if a close follows. */
static int lq__json_parse(const char *text, size_t len, lq_json_token *tokens, size_t max_tokens,
                          int max_depth, bool check_utf8, lq_json *root) {
    const unsigned char *s = (const unsigned char *)text, *p, *end, *wide;
    lq_json_token *t, *tend, *open = NULL, *last = NULL;
    unsigned char closer = 0;   /* '}' or ']' of open */
    uint32_t cap, parent;
    int depth_left, err = LQ_ERR_JSON;   /* containers that may still open inside open */

    if (root) {
        root->src = text;
        root->tok = NULL;
    }
    if (!text || max_depth < 0) return LQ_ERR_INVALID_ARG;
    if ((uint64_t)len >> 32) return LQ_ERR_LIMIT;             /* also right where size_t is 32 bits */
    if (!tokens) {
        uint32_t n = lq__json_count(s, len, max_depth, &err);
        return n ? (int)n : err;
    }
    depth_left = max_depth ? max_depth : LQ_DEFAULT_MAX_JSON_DEPTH;
    cap = max_tokens > LQ__JSON_MAX_TOKENS ? LQ__JSON_MAX_TOKENS : (uint32_t)max_tokens;
    t = tokens;
    tend = tokens + cap;
    p = s;
    end = s + len;
    wide = len >= 16 ? end - 15 : s;

value:
    LQ__JSON_SKIP_WS(p, end);
    if (p == end) goto fail;
    if (t == tend) goto full;
    if (*p == '"') {
        lq__json_tok_begin(t, LQ_JSON_STRING, 0, (uint32_t)(p - s));
        p = lq__json_scan_string(p + 1, wide, end, check_utf8, &t->flags, &err);
        if (!p) goto fail;
        goto scalar_end;
    }
    switch (*p) {
    case '{':
    case '[':
        lq__json_tok_begin(t, *p == '{' ? LQ_JSON_OBJECT : LQ_JSON_ARRAY, 0, (uint32_t)(p - s));
        if (LQ__UNLIKELY(depth_left == 0)) return LQ_ERR_LIMIT;
        depth_left--;
        t->skip = open ? (uint32_t)(open - tokens) : LQ__JSON_NO_PARENT;
        open = t++;
        closer = (unsigned char)(*p + 2);     /* '{' + 2 is '}', '[' + 2 is ']' */
        p++;
        LQ__JSON_SKIP_WS(p, end);
        if (p == end) goto fail;
        if (*p == closer) goto close;
        if (closer == '}') goto key;
        goto value;
    case 't':
        lq__json_tok_begin(t, LQ_JSON_TRUE, 0, (uint32_t)(p - s));
        if (end - p < 4 || memcmp(p, "true", 4) != 0) goto fail;
        p += 4;
        break;
    case 'f':
        lq__json_tok_begin(t, LQ_JSON_FALSE, 0, (uint32_t)(p - s));
        if (end - p < 5 || memcmp(p, "false", 5) != 0) goto fail;
        p += 5;
        break;
    case 'n':
        lq__json_tok_begin(t, LQ_JSON_NULL, 0, (uint32_t)(p - s));
        if (end - p < 4 || memcmp(p, "null", 4) != 0) goto fail;
        p += 4;
        break;
    default:
        if (*p != '-' && (*p < '0' || *p > '9')) goto fail;
        lq__json_tok_begin(t, LQ_JSON_NUMBER, 0, (uint32_t)(p - s));
        p = lq__json_scan_number(p, end);
        if (!p) goto fail;
        break;
    }
scalar_end:
    t->len = (uint32_t)(p - s) - t->start;
    last = t++;

after_value:
    LQ__JSON_SKIP_WS(p, end);
    if (!open) {
        if (p != end) goto fail;
        tokens[0].flags = (uint8_t)(tokens[0].flags | LQ__TOK_LAST | LQ__TOK_ROOT);
        if (root) root->tok = tokens;
        return (int)(t - tokens);
    }
    if (p == end) goto fail;
    if (*p == ',') {
        p++;
        if (closer == '}') goto key;
        goto value;
    }
    if (*p != closer) goto fail;
    last->flags = (uint8_t)(last->flags | LQ__TOK_LAST);

close:
    p++;
    open->len = (uint32_t)(p - s) - open->start;
    parent = open->skip;
    open->skip = (uint32_t)(t - open);
    last = open;
    depth_left++;
    open = parent == LQ__JSON_NO_PARENT ? NULL : tokens + parent;
    if (open) closer = open->type == LQ_JSON_OBJECT ? '}' : ']';
    goto after_value;

key:
    if (LQ__UNLIKELY(p == end || *p != '"')) {
        LQ__JSON_SKIP_WS(p, end);
        if (p == end || *p != '"') goto fail;
    }
    if (t == tend) goto full;
    lq__json_tok_begin(t, LQ_JSON_STRING, LQ__TOK_KEY, (uint32_t)(p - s));
    p = lq__json_scan_string(p + 1, wide, end, check_utf8, &t->flags, &err);
    if (!p) goto fail;
    t->len = (uint32_t)(p - s) - t->start;
    t++;
    if (LQ__UNLIKELY(p == end || *p != ':')) {
        LQ__JSON_SKIP_WS(p, end);
        if (p == end || *p != ':') goto fail;
    }
    p++;
    if (LQ__UNLIKELY(p == end || *p != '"')) goto value;
    /* the common member: a string value, then ',' and the next key */
    if (t == tend) goto full;
    lq__json_tok_begin(t, LQ_JSON_STRING, 0, (uint32_t)(p - s));
    p = lq__json_scan_string(p + 1, wide, end, check_utf8, &t->flags, &err);
    if (!p) goto fail;
    t->len = (uint32_t)(p - s) - t->start;
    last = t++;
    if (LQ__UNLIKELY(p == end || *p != ',')) goto after_value;
    p++;
    goto key;

full:
    return max_tokens > cap ? LQ_ERR_LIMIT : LQ_ERR_TOO_SMALL;
fail:
    return err;
}

int lq_json_parse(const char *text, size_t len, lq_json_token *tokens, size_t max_tokens,
                  int max_depth, lq_json *root) {
    return lq__json_parse(text, len, tokens, max_tokens, max_depth, true, root);
}

/* ---- access ---------------------------------------------------------------------------------- */

static lq_json lq__json_make(const char *src, const lq_json_token *tok) {
    lq_json v;
    v.src = src;
    v.tok = tok;
    return v;
}

static bool lq__json_is(lq_json v, lq_json_type type) { return v.tok && v.tok->type == type; }

/* Decodes the escape whose backslash is just before *pp (validated by the parser) into out;
   returns the bytes written and moves *pp past the escape. */
static size_t lq__json_unescape(const unsigned char **pp, unsigned char out[4]) {
    const unsigned char *p = *pp;
    uint32_t cp;
    *pp = p + 1;
    switch (*p) {
    case 'b': out[0] = '\b'; return 1;
    case 'f': out[0] = '\f'; return 1;
    case 'n': out[0] = '\n'; return 1;
    case 'r': out[0] = '\r'; return 1;
    case 't': out[0] = '\t'; return 1;
    case 'u': break;
    default: out[0] = *p; return 1;
    }
    cp = (uint32_t)lq__json_hex4(p + 1);
    *pp = p + 5;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)lq__json_hex4(p + 7) - 0xDC00);
        *pp = p + 11;
    }
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Compares the decoded string token t with s[0..n). */
static bool lq__json_str_eqn(const char *src, const lq_json_token *t, const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)src + t->start + 1;
    const unsigned char *end = p + t->len - 2;
    unsigned char tmp[4];
    if (!(t->flags & LQ__TOK_ESC)) return (size_t)(end - p) == n && memcmp(p, s, n) == 0;
    while (p < end) {
        const unsigned char *q = p;
        size_t k;
        while (q < end && *q != '\\') q++;
        k = (size_t)(q - p);
        if (k > n || memcmp(p, s, k) != 0) return false;
        s += k;
        n -= k;
        if (q == end) break;
        q++;
        k = lq__json_unescape(&q, tmp);
        if (k > n || memcmp(tmp, s, k) != 0) return false;
        s += k;
        n -= k;
        p = q;
    }
    return n == 0;
}

lq_json_type lq_json_kind(lq_json v) { return v.tok ? (lq_json_type)v.tok->type : LQ_JSON_NONE; }

bool lq_json_exists(lq_json v) { return v.tok != NULL; }

bool lq_json_is_null(lq_json v) { return lq__json_is(v, LQ_JSON_NULL); }

lq_json lq_json_getn(lq_json object, const char *key, size_t key_len) {
    const lq_json_token *t, *end;
    if (!lq__json_is(object, LQ_JSON_OBJECT)) return lq__json_make(object.src, NULL);
    if (!key) {
        if (key_len) return lq__json_make(object.src, NULL);
        key = "";
    }
    end = object.tok + object.tok->skip;
    for (t = object.tok + 1; t < end; t += 1 + t[1].skip) {
        if (!(t->flags & LQ__TOK_ESC)) {                    /* the usual key: compare in place */
            if (t->len == key_len + 2 && memcmp(object.src + t->start + 1, key, key_len) == 0)
                return lq__json_make(object.src, t + 1);
        } else if (lq__json_str_eqn(object.src, t, key, key_len)) {
            return lq__json_make(object.src, t + 1);
        }
    }
    return lq__json_make(object.src, NULL);
}

lq_json lq_json_get(lq_json object, const char *key) {
    if (!key) return lq__json_make(object.src, NULL);
    return lq_json_getn(object, key, strlen(key));
}

lq_json lq_json_at(lq_json array, size_t index) {
    const lq_json_token *t, *end;
    if (!lq__json_is(array, LQ_JSON_ARRAY)) return lq__json_make(array.src, NULL);
    end = array.tok + array.tok->skip;
    for (t = array.tok + 1; t < end; t += t->skip)
        if (index-- == 0) return lq__json_make(array.src, t);
    return lq__json_make(array.src, NULL);
}

lq_json lq_json_path(lq_json v, const char *dotted_path) {
    const char *seg = dotted_path;
    if (!seg) return lq__json_make(v.src, NULL);
    if (!*seg) return v;
    for (;;) {
        const char *dot = strchr(seg, '.');
        size_t n = dot ? (size_t)(dot - seg) : strlen(seg);
        if (lq__json_is(v, LQ_JSON_ARRAY)) {
            size_t i, index = 0;
            if (n == 0) return lq__json_make(v.src, NULL);
            for (i = 0; i < n; i++) {
                unsigned d = (unsigned)((unsigned char)seg[i] - '0');
                if (d > 9 || index > (SIZE_MAX - 9) / 10) return lq__json_make(v.src, NULL);
                index = index * 10 + d;
            }
            v = lq_json_at(v, index);
        } else {
            v = lq_json_getn(v, seg, n);
        }
        if (!dot || !v.tok) return v;
        seg = dot + 1;
    }
}

size_t lq_json_count(lq_json v) {
    const lq_json_token *t, *end;
    size_t count = 0;
    bool object = lq__json_is(v, LQ_JSON_OBJECT);
    if (!object && !lq__json_is(v, LQ_JSON_ARRAY)) return 0;
    end = v.tok + v.tok->skip;
    for (t = v.tok + 1; t < end; t += object ? 1 + t[1].skip : t->skip) count++;
    return count;
}

lq_json lq_json_child(lq_json v) {
    if (!v.tok || v.tok->skip < 2) return lq__json_make(v.src, NULL);
    if (v.tok->type == LQ_JSON_ARRAY) return lq__json_make(v.src, v.tok + 1);
    if (v.tok->type == LQ_JSON_OBJECT) return lq__json_make(v.src, v.tok + 2);
    return lq__json_make(v.src, NULL);
}

lq_json lq_json_next(lq_json v) {
    const lq_json_token *t;
    if (!v.tok || (v.tok->flags & (LQ__TOK_LAST | LQ__TOK_KEY))) return lq__json_make(v.src, NULL);
    t = v.tok + v.tok->skip;
    return lq__json_make(v.src, (t->flags & LQ__TOK_KEY) ? t + 1 : t);
}

lq_json lq_json_key(lq_json member_value) {
    const lq_json_token *t = member_value.tok;
    if (!t || (t->flags & LQ__TOK_ROOT) || !(t[-1].flags & LQ__TOK_KEY))
        return lq__json_make(member_value.src, NULL);
    return lq__json_make(member_value.src, t - 1);
}

const char *lq_json_raw(lq_json v, size_t *len) {
    if (len) *len = v.tok ? v.tok->len : 0;
    return v.tok ? v.src + v.tok->start : "";
}

size_t lq_json_string(lq_json v, char *buf, size_t cap) {
    const unsigned char *p, *end;
    unsigned char tmp[4];
    size_t total = 0, w = 0, room;
    if (!buf) cap = 0;
    if (cap) buf[0] = 0;
    if (!lq__json_is(v, LQ_JSON_STRING)) return 0;
    p = (const unsigned char *)v.src + v.tok->start + 1;
    end = p + v.tok->len - 2;
    room = cap ? cap - 1 : 0;
    while (p < end) {
        const unsigned char *q = p;
        size_t k;
        if (v.tok->flags & LQ__TOK_ESC) {
            while (q < end && *q != '\\') q++;
        } else {
            q = end;
        }
        k = (size_t)(q - p);
        total += k;
        if (w < room) {
            size_t c = k < room - w ? k : room - w;
            memcpy(buf + w, p, c);
            w += c;
        }
        if (q == end) break;
        q++;
        k = lq__json_unescape(&q, tmp);
        total += k;
        if (k <= room - w) {
            memcpy(buf + w, tmp, k);
            w += k;
        } else {
            room = w;   /* a code point that does not fit ends the output */
        }
        p = q;
    }
    if (cap) {
        if (total > w) w = lq__utf8_trim((const unsigned char *)buf, w);
        buf[w] = 0;
    }
    return total;
}

bool lq_json_string_eq(lq_json v, const char *s) {
    if (!s || !lq__json_is(v, LQ_JSON_STRING)) return false;
    return lq__json_str_eqn(v.src, v.tok, s, strlen(s));
}

/* A number token split into decimal parts: value = D * 10^exp, where D is the integer of its
   significant digits without trailing zeros. mant is D when D has at most 19 digits; otherwise
   inexact is set, mant holds D's first digits and exp counts the dropped places. */
typedef struct lq__json_dec {
    bool neg;
    bool inexact;
    int ndigits;
    uint64_t mant;
    int64_t exp;
} lq__json_dec;

static void lq__json_decimal(const unsigned char *p, const unsigned char *end, lq__json_dec *d) {
    int64_t zeros = 0, e = 0;
    bool frac = false, eneg = false;
    d->neg = *p == '-';
    d->inexact = false;
    d->ndigits = 0;
    d->mant = 0;
    d->exp = 0;
    if (d->neg) p++;
    for (; p < end && *p != 'e' && *p != 'E'; p++) {
        unsigned c = *p;
        if (c == '.') {
            frac = true;
            continue;
        }
        if (frac) d->exp--;
        if (c == '0') {
            if (d->mant) zeros++;   /* held back: they matter only if a nonzero digit follows */
            continue;
        }
        if (d->inexact || d->ndigits + zeros + 1 > 19) {
            d->inexact = true;
            d->exp += zeros + 1;
        } else {
            d->ndigits += (int)zeros + 1;
            for (; zeros; zeros--) d->mant *= 10;
            d->mant = d->mant * 10 + (c - '0');
        }
        zeros = 0;
    }
    d->exp += zeros;
    if (p < end) {
        p++;
        if (*p == '-' || *p == '+') eneg = *p++ == '-';
        for (; p < end; p++)
            if (e < 1000000000) e = e * 10 + (*p - '0');
    }
    d->exp += eneg ? -e : e;
}

/* The slow path: strtod on the significant digits and a decimal exponent, so no decimal point
   (the locale's) is involved. A midpoint between two doubles, the only place where more digits
   can change the rounding, has at most 768 significant digits (m * 2^-1075 for an odd m below
   2^54 is m * 5^1075 / 10^1075, 768 digits from about 1e-308 up to 2^-1021), so the first
   LQ__JSON_DIGITS digits are kept and a sticky 1 after them says that something nonzero was cut:
   it lands above a midpoint exactly when the whole text does. */
#define LQ__JSON_DIGITS 768

static bool lq__json_strtod(const unsigned char *p, const unsigned char *end, double *out) {
    char buf[LQ__JSON_DIGITS + 32];     /* sign, digits, sticky digit, "e-1168" */
    size_t k = 0;
    int64_t kept = 0, e = 0, x = 0;
    bool frac = false, sticky = false, neg = *p == '-', eneg = false;
    if (neg) {
        buf[k++] = '-';
        p++;
    }
    for (; p < end && *p != 'e' && *p != 'E'; p++) {
        if (*p == '.') {
            frac = true;
        } else if (kept == 0 && *p == '0') {
            if (frac) e--;
        } else if (kept < LQ__JSON_DIGITS) {
            buf[k++] = (char)*p;
            kept++;
            if (frac) e--;
        } else {
            if (!frac) e++;
            if (*p != '0') sticky = true;
        }
    }
    if (p < end) {
        p++;
        if (*p == '-' || *p == '+') eneg = *p++ == '-';
        for (; p < end; p++)
            if (x < 1000000000) x = x * 10 + (*p - '0');
    }
    e += eneg ? -x : x;
    if (kept == 0 || e + kept < -400) {
        *out = neg ? -0.0 : 0.0;
        return true;
    }
    if (e + kept > 310) return false;
    if (sticky) {
        buf[k++] = '1';
        e--;
    } else {
        /* trailing zeros say nothing: fewer digits for strtod */
        for (; buf[k - 1] == '0'; k--) e++;
    }
    snprintf(buf + k, sizeof buf - k, "e%d", (int)e);
    *out = strtod(buf, NULL);
    return *out - *out == 0;    /* finite */
}

/* Converts a number token; false when the value is not a finite double. */
static bool lq__json_to_double(const unsigned char *p, const unsigned char *end, double *out) {
    static const double pow10[23] = {
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
        1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
    };
    const uint64_t exact = (uint64_t)1 << 53;
    lq__json_dec d;
    lq__json_decimal(p, end, &d);
    if (d.mant == 0) {
        *out = d.neg ? -0.0 : 0.0;
        return true;
    }
    /* Clinger's fast path: both operands exact, so the one IEEE rounding is the right one. */
    if (!d.inexact && d.mant <= exact && d.exp >= -22 && d.exp <= 22 + 15) {
        uint64_t m = d.mant;
        for (; d.exp > 22 && m <= exact / 10; d.exp--) m *= 10;
        if (d.exp <= 22) {
            double x = (double)m;
            x = d.exp < 0 ? x / pow10[-d.exp] : x * pow10[d.exp];
            *out = d.neg ? -x : x;
            return true;
        }
    }
    return lq__json_strtod(p, end, out);
}

/* Plain integers of up to 15 digits (request ids, scores, counters) skip the general decimal
   path: exact as int64 and as double. False for anything else, "-0" included. */
static bool lq__json_small_int(const unsigned char *p, uint32_t len, int64_t *out) {
    uint32_t i = *p == '-';
    uint64_t m = 0;
    if (len - i > 15) return false;
    for (; i < len; i++) {
        unsigned d = (unsigned)(p[i] - '0');
        if (d > 9) return false;
        m = m * 10 + d;
    }
    if (*p == '-' && m == 0) return false;
    *out = *p == '-' ? -(int64_t)m : (int64_t)m;
    return true;
}

double lq_json_number(lq_json v, double def) {
    const unsigned char *p;
    double x;
    int64_t i;
    if (!lq__json_is(v, LQ_JSON_NUMBER)) return def;
    p = (const unsigned char *)v.src + v.tok->start;
    if (lq__json_small_int(p, v.tok->len, &i)) return (double)i;
    return lq__json_to_double(p, p + v.tok->len, &x) ? x : def;
}

int64_t lq_json_int(lq_json v, int64_t def) {
    const unsigned char *p;
    lq__json_dec d;
    uint64_t m;
    int64_t i;
    if (!lq__json_is(v, LQ_JSON_NUMBER)) return def;
    p = (const unsigned char *)v.src + v.tok->start;
    if (lq__json_small_int(p, v.tok->len, &i)) return i;
    lq__json_decimal(p, p + v.tok->len, &d);
    if (d.mant == 0) return 0;
    /* more than 19 significant digits: a fraction or beyond int64 */
    if (d.inexact || d.exp < 0 || d.exp > 18) return def;
    for (m = d.mant; d.exp > 0; d.exp--) {
        if (m > UINT64_MAX / 10) return def;
        m *= 10;
    }
    if (d.neg) {
        if (m > (uint64_t)INT64_MAX + 1) return def;
        return m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m;
    }
    return m > (uint64_t)INT64_MAX ? def : (int64_t)m;
}

bool lq_json_bool(lq_json v, bool def) {
    if (lq__json_is(v, LQ_JSON_TRUE)) return true;
    if (lq__json_is(v, LQ_JSON_FALSE)) return false;
    return def;
}

/* ---- Parse types ----------------------------------------------------------------------------- */

static bool lq__json_has_type(lq_json v, const char *type) {
    return lq__json_is(v, LQ_JSON_OBJECT) && lq_json_string_eq(lq_json_get(v, "__type"), type);
}

/* Looks up two members of the given kind; sets both outputs (NONE handles on failure). */
static bool lq__json_two(lq_json v, const char *type, const char *k1, const char *k2,
                         lq_json_type kind, lq_json *o1, lq_json *o2) {
    lq_json a = lq_json_get(v, k1), b = lq_json_get(v, k2);
    bool ok = lq__json_has_type(v, type) && lq__json_is(a, kind) && lq__json_is(b, kind);
    if (!ok) a.tok = b.tok = NULL;
    if (o1) *o1 = a;
    if (o2) *o2 = b;
    return ok;
}

bool lq_json_date(lq_json v, lq_json *iso) {
    lq_json i = lq_json_get(v, "iso");
    bool ok = lq__json_has_type(v, "Date") && lq__json_is(i, LQ_JSON_STRING);
    if (!ok) i.tok = NULL;
    if (iso) *iso = i;
    return ok;
}

bool lq_json_pointer(lq_json v, lq_json *class_name, lq_json *object_id) {
    return lq__json_two(v, "Pointer", "className", "objectId", LQ_JSON_STRING, class_name,
                        object_id);
}

bool lq_json_file(lq_json v, lq_json *name, lq_json *url) {
    return lq__json_two(v, "File", "name", "url", LQ_JSON_STRING, name, url);
}

bool lq_json_geopoint(lq_json v, double *latitude, double *longitude) {
    lq_json a, b;
    double la = 0, lo = 0;
    bool ok = lq__json_two(v, "GeoPoint", "latitude", "longitude", LQ_JSON_NUMBER, &a, &b);
    if (ok) {
        const unsigned char *pa = (const unsigned char *)a.src + a.tok->start;
        const unsigned char *pb = (const unsigned char *)b.src + b.tok->start;
        ok = lq__json_to_double(pa, pa + a.tok->len, &la) &&
             lq__json_to_double(pb, pb + b.tok->len, &lo);
        if (!ok) la = lo = 0;
    }
    if (latitude) *latitude = la;
    if (longitude) *longitude = lo;
    return ok;
}

/* >>sha1 >>base64 ------------------------------------------------------------------------------ */

/* SHA-1 is used only to check Sec-WebSocket-Accept; it needs no speed and no secrecy. */
typedef struct lq__sha1 {
    uint32_t h[5];
    uint64_t total;
    unsigned char block[64];
    size_t fill;
} lq__sha1;

static uint32_t lq__rol(uint32_t v, int n) { return (v << n) | (v >> (32 - n)); }

static void lq__sha1_block(lq__sha1 *s, const unsigned char *p) {
    uint32_t w[80], a, b, c, d, e, f, k, t;
    int i;
    for (i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
               (uint32_t)p[4 * i + 3];
    for (i = 16; i < 80; i++) w[i] = lq__rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    a = s->h[0]; b = s->h[1]; c = s->h[2]; d = s->h[3]; e = s->h[4];
    for (i = 0; i < 80; i++) {
        if (i < 20) { f = (b & c) | (~b & d); k = 0x5A827999u; }
        else if (i < 40) { f = b ^ c ^ d; k = 0x6ED9EBA1u; }
        else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDCu; }
        else { f = b ^ c ^ d; k = 0xCA62C1D6u; }
        t = lq__rol(a, 5) + f + e + k + w[i];
        e = d; d = c; c = lq__rol(b, 30); b = a; a = t;
    }
    s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d; s->h[4] += e;
}

static void lq__sha1_init(lq__sha1 *s) {
    s->h[0] = 0x67452301u; s->h[1] = 0xEFCDAB89u; s->h[2] = 0x98BADCFEu;
    s->h[3] = 0x10325476u; s->h[4] = 0xC3D2E1F0u;
    s->total = 0;
    s->fill = 0;
}

static void lq__sha1_update(lq__sha1 *s, const void *data, size_t n) {
    const unsigned char *p = (const unsigned char *)data;
    s->total += n;
    while (n) {
        size_t take = 64 - s->fill;
        if (take > n) take = n;
        memcpy(s->block + s->fill, p, take);
        s->fill += take; p += take; n -= take;
        if (s->fill == 64) { lq__sha1_block(s, s->block); s->fill = 0; }
    }
}

static void lq__sha1_final(lq__sha1 *s, unsigned char out[20]) {
    unsigned char pad[72];
    uint64_t bits = s->total * 8;
    size_t padlen = (s->fill < 56) ? 56 - s->fill : 120 - s->fill;
    int i;
    memset(pad, 0, sizeof pad);
    pad[0] = 0x80;
    for (i = 0; i < 8; i++) pad[padlen + (size_t)i] = (unsigned char)(bits >> (56 - 8 * i));
    lq__sha1_update(s, pad, padlen + 8);
    for (i = 0; i < 20; i++) out[i] = (unsigned char)(s->h[i / 4] >> (24 - 8 * (i % 4)));
}

/* Writes 4 * ceil(n / 3) characters and a NUL. */
static void lq__base64(const unsigned char *in, size_t n, char *out) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;
    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *out++ = tab[v >> 18]; *out++ = tab[(v >> 12) & 63]; *out++ = tab[(v >> 6) & 63]; *out++ = tab[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0u);
        *out++ = tab[v >> 18];
        *out++ = tab[(v >> 12) & 63];
        *out++ = (i + 1 < n) ? tab[(v >> 6) & 63] : '=';
        *out++ = '=';
    }
    *out = 0;
}

/* The Sec-WebSocket-Accept value for a key (RFC 6455 4.1): 28 characters and a NUL. */
static void lq__ws_accept(const char *key, char out[29]) {
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    lq__sha1 s;
    unsigned char digest[20];
    lq__sha1_init(&s);
    lq__sha1_update(&s, key, strlen(key));
    lq__sha1_update(&s, guid, sizeof guid - 1);
    lq__sha1_final(&s, digest);
    lq__base64(digest, 20, out);
}

/* >>url ---------------------------------------------------------------------------------------- */

static lq_result lq__url_fail(lq_url *u, const char *why) {
    u->error = why;
    return LQ_ERR_URL;
}

lq_result lq_url_parse(const char *url, lq_url *u) {
    const char *p, *host_end, *auth_end;
    size_t i;
    if (!u) return LQ_ERR_INVALID_ARG;
    memset(u, 0, sizeof *u);
    if (!url) return lq__url_fail(u, "no URL given");
    for (i = 0; url[i]; i++)
        if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f)
            return lq__url_fail(u, "URL contains a space, a control or a non-ASCII character");
    p = strstr(url, "://");
    if (!p) return lq__url_fail(u, "URL has no scheme (expected ws://, wss://, http:// or https://)");
    {
        size_t n = (size_t)(p - url);
        if (lq__ieq(url, n, "ws") || lq__ieq(url, n, "http")) { u->tls = false; u->port = 80; }
        else if (lq__ieq(url, n, "wss") || lq__ieq(url, n, "https")) { u->tls = true; u->port = 443; }
        else return lq__url_fail(u, "unsupported scheme (expected ws, wss, http or https)");
    }
    p += 3;
    auth_end = p + strcspn(p, "/?#");
    if (memchr(p, '@', (size_t)(auth_end - p))) return lq__url_fail(u, "user info (user@host) is not supported");
    if (*p == '[') {
        host_end = (const char *)memchr(p, ']', (size_t)(auth_end - p));
        if (!host_end || host_end == p + 1) return lq__url_fail(u, "unterminated or empty [IPv6] host");
        if (host_end - p - 1 > 45) return lq__url_fail(u, "[IPv6] host longer than 45 characters");
        for (i = 1; p + i < host_end; i++)
            if (!strchr("0123456789abcdefABCDEF:.", p[i])) return lq__url_fail(u, "bad character in [IPv6] host");
        u->ipv6 = true;
        u->host = p + 1;
        u->host_len = (size_t)(host_end - p - 1);
        p = host_end + 1;
        if (p != auth_end && *p != ':') return lq__url_fail(u, "junk after [IPv6] host");
    } else {
        host_end = p + strcspn(p, ":/?#");
        if (host_end == p) return lq__url_fail(u, "URL has no host");
        for (i = 0; p + i < host_end; i++)
            if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%", p[i]))
                return lq__url_fail(u, "bad character in host");
        if (host_end - p > 253) return lq__url_fail(u, "host name longer than 253 characters");
        u->host = p;
        u->host_len = (size_t)(host_end - p);
        p = host_end;
    }
    if (*p == ':') {
        uint32_t port = 0;
        p++;
        if (p == auth_end) return lq__url_fail(u, "empty port");
        for (; p < auth_end; p++) {
            if (*p < '0' || *p > '9') return lq__url_fail(u, "port is not a number");
            port = port * 10 + (uint32_t)(*p - '0');
            if (port > 65535) return lq__url_fail(u, "port out of range (1-65535)");
        }
        if (port == 0) return lq__url_fail(u, "port out of range (1-65535)");
        u->port = (uint16_t)port;
    }
    if (strchr(p, '#')) return lq__url_fail(u, "WebSocket URLs cannot have a #fragment");
    /* A path starting with '?' (ws://host?x) is sent as "/?x". */
    if (*p == 0) { u->path = "/"; u->path_len = 1; }
    else { u->path = p; u->path_len = strlen(p); }
    return LQ_OK;
}

/* >>where --------------------------------------------------------------------------------------- */

/* One row per operator: its enum, its name on the wire, and how its value is written. Rows may be
   added anywhere: enum and table stay in step. */
#define LQ__WHERE_OPS(X) \
    X(EQ, "$eq", VALUE) X(NE, "$ne", VALUE) X(LT, "$lt", VALUE) X(LTE, "$lte", VALUE) \
    X(GT, "$gt", VALUE) X(GTE, "$gte", VALUE) X(IN, "$in", LIST) X(NIN, "$nin", LIST) \
    X(ALL, "$all", LIST) X(EXISTS, "$exists", TRUE) X(NOT_EXISTS, "$exists", FALSE) \
    X(REGEX, "$regex", REGEX) X(PREFIX, "$regex", PREFIX) X(OR, "$or", OR)

enum { LQ__WK_VALUE, LQ__WK_LIST, LQ__WK_TRUE, LQ__WK_FALSE, LQ__WK_REGEX, LQ__WK_PREFIX, LQ__WK_OR };

#define LQ__WHERE_ENUM(e, name, kind) LQ__W_##e,
enum { LQ__W_NONE = 0, LQ__WHERE_OPS(LQ__WHERE_ENUM) LQ__W_COUNT };
#undef LQ__WHERE_ENUM

#define LQ__WHERE_ROW(e, name, kind) {name, LQ__WK_##kind},
static const struct { const char *name; int kind; } lq__where_op[LQ__W_COUNT] = {{"", LQ__WK_VALUE}, LQ__WHERE_OPS(LQ__WHERE_ROW)};
#undef LQ__WHERE_ROW

lq_value lq_null(void) { lq_value v; memset(&v, 0, sizeof v); return v; }
lq_value lq_bool(bool b) { lq_value v = lq_null(); v.kind = LQ_VALUE_BOOL; v.b = b; return v; }
lq_value lq_int(int64_t i) { lq_value v = lq_null(); v.kind = LQ_VALUE_INT; v.i = i; return v; }
lq_value lq_number(double n) { lq_value v = lq_null(); v.kind = LQ_VALUE_NUMBER; v.n = n; return v; }
lq_value lq_string(const char *s) { lq_value v = lq_null(); v.kind = LQ_VALUE_STRING; v.s = s; return v; }
lq_value lq_raw_json(const char *json) { lq_value v = lq_null(); v.kind = LQ_VALUE_JSON; v.s = json; return v; }

void lq_where_init(lq_where *w) { memset(w, 0, sizeof *w); }

static lq_where_term *lq__where_add(lq_where *w, const char *key, int op) {
    lq_where_term *t;
    if (w->error != LQ_OK) return NULL;
    if (w->count >= LQ_WHERE_MAX) { w->error = LQ_ERR_LIMIT; return NULL; }
    if (!key && op != LQ__W_OR) { w->error = LQ_ERR_INVALID_ARG; return NULL; }
    t = &w->terms[w->count++];
    memset(t, 0, sizeof *t);
    t->key = key;
    t->op = op;
    return t;
}

static void lq__where_value(lq_where *w, const char *key, int op, lq_value v) {
    lq_where_term *t = lq__where_add(w, key, op);
    if (t) t->value = v;
}

static void lq__where_list(lq_where *w, const char *key, int op, const lq_value *values, int n) {
    lq_where_term *t;
    if (n < 0 || (n && !values)) { if (w->error == LQ_OK) w->error = LQ_ERR_INVALID_ARG; return; }
    t = lq__where_add(w, key, op);
    if (t) { t->values = values; t->num_values = n; }
}

void lq_where_equal_to(lq_where *w, const char *key, lq_value v) { lq__where_value(w, key, LQ__W_EQ, v); }
void lq_where_not_equal_to(lq_where *w, const char *key, lq_value v) { lq__where_value(w, key, LQ__W_NE, v); }
void lq_where_less_than(lq_where *w, const char *key, lq_value v) { lq__where_value(w, key, LQ__W_LT, v); }
void lq_where_less_than_or_equal_to(lq_where *w, const char *key, lq_value v) { lq__where_value(w, key, LQ__W_LTE, v); }
void lq_where_greater_than(lq_where *w, const char *key, lq_value v) { lq__where_value(w, key, LQ__W_GT, v); }
void lq_where_greater_than_or_equal_to(lq_where *w, const char *key, lq_value v) { lq__where_value(w, key, LQ__W_GTE, v); }
void lq_where_contained_in(lq_where *w, const char *key, const lq_value *v, int n) { lq__where_list(w, key, LQ__W_IN, v, n); }
void lq_where_not_contained_in(lq_where *w, const char *key, const lq_value *v, int n) { lq__where_list(w, key, LQ__W_NIN, v, n); }
void lq_where_contains_all(lq_where *w, const char *key, const lq_value *v, int n) { lq__where_list(w, key, LQ__W_ALL, v, n); }
void lq_where_exists(lq_where *w, const char *key) { lq__where_add(w, key, LQ__W_EXISTS); }
void lq_where_does_not_exist(lq_where *w, const char *key) { lq__where_add(w, key, LQ__W_NOT_EXISTS); }
void lq_where_starts_with(lq_where *w, const char *key, const char *prefix) { lq__where_value(w, key, LQ__W_PREFIX, lq_string(prefix)); }

void lq_where_matches(lq_where *w, const char *key, const char *regex, const char *options) {
    lq_where_term *t = lq__where_add(w, key, LQ__W_REGEX);
    if (t) { t->value = lq_string(regex); t->options = options; }
}

void lq_where_or(lq_where *w, const lq_where *const *queries, int n) {
    lq_where_term *t;
    if (n <= 0 || !queries) { if (w->error == LQ_OK) w->error = LQ_ERR_INVALID_ARG; return; }
    t = lq__where_add(w, NULL, LQ__W_OR);
    if (t) { t->ors = queries; t->num_values = n; }
}

static void lq__put_value(lq__buf *b, const lq_value *v) {
    char tmp[40];
    switch (v->kind) {
    case LQ_VALUE_NULL: lq__buf_puts(b, "null"); return;
    case LQ_VALUE_BOOL: lq__buf_puts(b, v->b ? "true" : "false"); return;
    case LQ_VALUE_INT:
        snprintf(tmp, sizeof tmp, "%lld", (long long)v->i);
        lq__buf_puts(b, tmp);
        return;
    case LQ_VALUE_NUMBER: {
        char *comma;
        if (v->n != v->n || v->n > 1.7976931348623157e308 || v->n < -1.7976931348623157e308) break;
        snprintf(tmp, sizeof tmp, "%.17g", v->n);
        comma = strchr(tmp, ',');                           /* a locale with a decimal comma */
        if (comma) *comma = '.';
        lq__buf_puts(b, tmp);
        return;
    }
    case LQ_VALUE_STRING:
        if (!v->s) break;
        lq__json_put_strz(b, v->s);
        return;
    case LQ_VALUE_JSON: {
        int got;
        if (!v->s) break;
        got = lq__json_parse(v->s, strlen(v->s), NULL, 0, 0, true, NULL);   /* count: checks any size */
        if (got < 0) lq__buf_fail(b, (lq_result)got);
        else lq__buf_puts(b, v->s);
        return;
    }
    }
    lq__buf_fail(b, LQ_ERR_INVALID_ARG);
}

/* A JSON string holding a regular expression that matches what starts with s. */
static void lq__put_prefix_regex(lq__buf *b, const char *s) {
    if (!s) { lq__buf_fail(b, LQ_ERR_INVALID_ARG); return; }
    if (!lq__utf8_valid((const unsigned char *)s, strlen(s))) { lq__buf_fail(b, LQ_ERR_UTF8); return; }
    lq__buf_puts(b, "\"^");
    for (; *s; s++) {
        char ch = *s;
        if (strchr("\\^$.|?*+()[]{}/-", ch)) lq__buf_puts(b, "\\\\");     /* a regex escape */
        if (ch == '"' || ch == '\\') { char e[2]; e[0] = '\\'; e[1] = ch; lq__buf_put(b, e, 2); }
        else if ((unsigned char)ch < 0x20) {
            char e[8];
            snprintf(e, sizeof e, "\\u%04x", (unsigned)ch);
            lq__buf_puts(b, e);
        } else lq__buf_put(b, s, 1);
    }
    lq__buf_puts(b, "\"");
}

static void lq__put_values(lq__buf *b, const lq_value *values, int n) {
    int k;
    lq__buf_puts(b, "[");
    for (k = 0; k < n; k++) {
        if (k) lq__buf_puts(b, ",");
        lq__put_value(b, &values[k]);
    }
    lq__buf_puts(b, "]");
}

static void lq__where_write(const lq_where *w, lq__buf *b, int depth);

/* The value of one operator term, as its row in lq__where_op says. */
static void lq__where_term_value(const lq_where_term *t, lq__buf *b, int depth) {
    int j;
    switch (lq__where_op[t->op].kind) {
    case LQ__WK_LIST: lq__put_values(b, t->values, t->num_values); break;
    case LQ__WK_TRUE: lq__buf_puts(b, "true"); break;
    case LQ__WK_FALSE: lq__buf_puts(b, "false"); break;
    case LQ__WK_PREFIX: lq__put_prefix_regex(b, t->value.s); break;
    case LQ__WK_REGEX:
        lq__put_value(b, &t->value);
        if (t->options) {
            lq__buf_puts(b, ",\"$options\":");
            lq__json_put_strz(b, t->options);
        }
        break;
    case LQ__WK_OR:
        lq__buf_puts(b, "[");
        for (j = 0; j < t->num_values; j++) {
            if (j) lq__buf_puts(b, ",");
            if (t->ors[j]) lq__where_write(t->ors[j], b, depth + 1);
            else lq__buf_fail(b, LQ_ERR_INVALID_ARG);
        }
        lq__buf_puts(b, "]");
        break;
    default: lq__put_value(b, &t->value); break;
    }
}

static bool lq__same_key(const lq_where_term *a, const lq_where_term *b) {
    return a->op != LQ__W_OR && b->op != LQ__W_OR && strcmp(a->key, b->key) == 0;
}

/* {"$gt":1,"$lt":9}: every operator term of the key of term first. */
static void lq__where_ops(const lq_where *w, int first, lq__buf *b, int depth) {
    int i, n = 0;
    lq__buf_puts(b, "{");
    for (i = first; i < w->count; i++) {
        const lq_where_term *t = &w->terms[i];
        if (!lq__same_key(t, &w->terms[first])) continue;
        if (n++) lq__buf_puts(b, ",");
        lq__buf_puts(b, "\"");
        lq__buf_puts(b, lq__where_op[t->op].name);
        lq__buf_puts(b, "\":");
        lq__where_term_value(t, b, depth);
    }
    lq__buf_puts(b, "}");
}

static void lq__where_write(const lq_where *w, lq__buf *b, int depth) {
    int i, j, n = 0;
    if (w->error != LQ_OK) { lq__buf_fail(b, w->error); return; }
    if (depth > 8) { lq__buf_fail(b, LQ_ERR_LIMIT); return; }
    lq__buf_puts(b, "{");
    for (i = 0; i < w->count; i++) {
        const lq_where_term *t = &w->terms[i];
        bool seen = false, only_eq = true;
        for (j = 0; j < i && !seen; j++) seen = lq__same_key(&w->terms[j], t);
        if (seen) continue;                                 /* merged into the first term of its key */
        if (n++) lq__buf_puts(b, ",");
        if (t->op == LQ__W_OR) {
            lq__buf_puts(b, "\"$or\":");
            lq__where_term_value(t, b, depth);
            continue;
        }
        for (j = i + 1; j < w->count; j++) only_eq = only_eq && !lq__same_key(&w->terms[j], t);
        lq__json_put_strz(b, t->key);
        lq__buf_puts(b, ":");
        if (only_eq && t->op == LQ__W_EQ) lq__put_value(b, &t->value);
        else lq__where_ops(w, i, b, depth);
    }
    lq__buf_puts(b, "}");
}

lq_result lq_where_build(const lq_where *w, char *buf, size_t cap, size_t *len) {
    lq__buf b;
    if (!w || (!buf && cap)) return LQ_ERR_INVALID_ARG;
    memset(&b, 0, sizeof b);
    b.data = buf;
    b.cap = cap ? cap - 1 : 0;                              /* room for the NUL */
    b.limit = (size_t)-1 / 2;
    lq__where_write(w, &b, 0);
    if (len) *len = b.len;
    if (b.err == LQ_OK && b.len > b.cap) b.err = LQ_ERR_TOO_SMALL;
    if (cap) buf[b.len <= b.cap ? b.len : 0] = 0;
    return b.err;
}

/* >>client state --------------------------------------------------------------------------------- */

enum {                          /* the link: one transport's life */
    LQ__L_IDLE = 0,             /* no transport */
    LQ__L_CONNECT,              /* waiting for the caller to open the transport */
    LQ__L_HANDSHAKE,            /* request sent, reading the HTTP response */
    LQ__L_OPEN,                 /* WebSocket open */
    LQ__L_CLOSING,              /* we sent a Close, waiting for the server's */
    LQ__L_DRAIN,                /* done: flush output, wait for the server to close TCP */
    LQ__L_SHUT                  /* waiting for the caller to close the transport */
};

enum {                          /* what a subscription still has to send */
    LQ__S_PENDING = 0,          /* subscribe (or update, when sent before) not sent yet */
    LQ__S_SENT,                 /* sent, waiting for subscribed */
    LQ__S_LIVE,                 /* subscribed */
    LQ__S_UNSUB,                /* unsubscribe not sent yet */
    LQ__S_UNSUB_SENT,           /* unsubscribe sent, waiting for unsubscribed */
    LQ__S_DEAD                  /* gone: UNSUBSCRIBED still to be reported */
};

/* A request sent while another is unanswered could cross a failure of the first (an unsubscribe
   of a rejected subscribe answers "code 2", a client-level error): it waits for the answer. */
enum { LQ__AFTER_NONE = 0, LQ__AFTER_UPDATE, LQ__AFTER_UNSUB };

/* Where a subscription's body keeps what servers spell differently (see lq__put_body). */
typedef struct lq__shape {
    size_t keys_at, keys_end;   /* its ,"keys":[...] member, empty when at == end */
    size_t watch_at, watch_end; /* its ,"watch":[...] member, right after */
    size_t extra_end;           /* after the body: the watch keys the key list lacks, as ,"k" items */
    size_t all;                 /* ... then every watch key, unescaped and NUL-ended, up to here */
} lq__shape;

typedef struct lq__sub {
    int32_t id;
    uint8_t state;
    bool update;                /* the pending send is an update op (the server has this id) */
    uint8_t after;              /* LQ__AFTER_*: what waits for the answer to the request in flight */
    bool was_live;              /* subscribed once: the next subscribed is a resubscribe */
    char *body;                 /* "query":{...}[,"sessionToken":"..."], then what sh says */
    size_t body_len;
    lq__shape sh;
    bool emulate;               /* sent without its watch: the client filters its events */
    void *user_data;
    struct lq_view *view;       /* a view's: its events go there */
    bool silent;                /* a destroyed view's: its events go nowhere */
} lq__sub;

#ifndef LQ_NO_SOCKETS
/* One connection of the socket layer through a transport. */
typedef struct lq__conn {
    void *state;                /* the transport's, for this connection */
    bool active;                /* connect was called: close is owed */
    bool up;                    /* connected: bytes flow */
    bool blocked_read;          /* the blocked send said WANT_READ: waiting for POLLOUT would spin */
    int want;                   /* LQ_WANT_* the transport asked for */
    size_t blocked;             /* length of a send that said WANT_*: retried with the same bytes */
} lq__conn;
#endif

typedef struct lq__frame_rx {
    unsigned char hdr[14];
    size_t hdr_have;
    uint8_t opcode;             /* of the current frame */
    bool fin;
    uint64_t left;              /* payload bytes still to come */
    uint8_t msg_opcode;         /* 1 text or 2 binary while a message is open, else 0 */
    uint32_t utf8;              /* validator state across the fragments of a text message */
    unsigned char ctl[125];
    size_t ctl_len;
} lq__frame_rx;

struct lq_client {
    lq_allocator a;
    lq_event_fn on_event;
    void *user_data;
    bool (*random)(void *buf, size_t len, void *user_data);
    void (*log)(lq_log_level level, const char *message, void *user_data);
    bool (*resolve)(const char *host, char *out, size_t cap, void *user_data);
    int (*resolve_async)(const char *host, char *out, size_t cap, void *user_data);

    /* settings, defaults resolved */
    char *url_text;
    lq_url url;                 /* the endpoint in use: ep[cur_ep] */
    char **ep_text;             /* the endpoints: server_url, then server_urls */
    lq_url *ep;
    int nep, cur_ep;
    char *application_id, *javascript_key, *client_key, *master_key, *session_token, *installation_id;
    char *extra_headers;        /* "Name: value\r\n"..., validated */
    bool use_fields, no_reconnect, drop_installation_id;
    /* What the server accepts (lq__refused): use_fields and no_watch are the guess, kept across
       reconnects; the rest is learned again on each connection. */
    bool no_watch;              /* send no watch: emulate it */
    bool keys_ok, watch_ok;     /* a subscribe with a key list, with a watch, was accepted */
    bool flipped;               /* the key list's spelling was changed once on this connection */
    int32_t probe;              /* the request in flight that carries what is not known yet, or 0 */
    uint32_t connect_timeout_ms, dead_link_ms, ping_interval_ms, close_timeout_ms, max_delay_ms;
    size_t max_message, max_handshake, max_outgoing;
    int max_depth, max_subs;

    /* client */
    lq_state state;
    uint32_t tag;               /* handles are requestId ^ tag: another client's do not match */
    int attempt;                /* reconnect attempts since the last subscribed */
    uint64_t now;               /* last time a core call was given */
    uint64_t reconnect_at;
    uint64_t connect_deadline;
    bool report_close;          /* a CLOSE event is owed (lq_close with no link) */
    bool reap;                  /* some subscription is DEAD */
    int in_callback;
    char client_id[64];
    char errmsg[256];
    int errdetail;

    /* subscriptions, sorted by id (ids only grow) */
    lq__sub **subs;
    int nsubs, capsubs;
    int32_t next_id;
    int pending;                /* subscriptions with something to send */

    /* link */
    int link;
    bool sent_connect;
    bool got_close;             /* the server's Close arrived */
    int close_code;             /* its code (1005 when it had none) */
    lq_result fail;             /* why the link failed, LQ_OK if it did not */
    uint64_t last_rx, last_tx, drain_deadline;
    char ws_key[25];
    lq__buf hs;                 /* HTTP response while in handshake */
    int hs_status;              /* non-101 status, waiting for some of the body */
    size_t hs_body_at, hs_body_want;
    lq__frame_rx rx;
    lq__buf msg;                /* the message being assembled */
    lq__buf out;                /* bytes for the server */
    lq__buf tmp;                /* an outgoing message before framing */
    lq_json_token *toks;
    size_t ntoks;
    struct lq__rest *rest;      /* the REST link (NULL with LQ_NO_REST) */
    struct lq_view *views;      /* the live views on this client */
    lq__sub *emit_sub;          /* the subscription of the event being built */

#ifndef LQ_NO_SOCKETS
    /* the socket layer: it reads nothing above this line but through the public core */
    lq_transport tr[LQ_LINK_COUNT];     /* per link: the caller's or TCP, wrapped by TLS for wss:// */
    lq__conn conn[LQ_LINK_COUNT];
    void *tls[LQ_LINK_COUNT];   /* the TLS backend's state for a link's host */
    struct lq__proxy *proxy;    /* desc.proxy_url's settings (>>proxy), NULL without one */
    char *tls_ca_file, *tls_ca_pem;
    char *pins;                 /* num_pins base64 digests of 44 characters, each NUL-ended */
    int num_pins;
    bool tls_insecure, net_init;
    char *dns_servers;
    int io_link;                /* the link whose transport is being called */
    uint64_t wake[LQ_LINK_COUNT];       /* a connecting transport's next timer (0: none) */
    unsigned char good_addr[LQ_LINK_COUNT][32];  /* the address that last connected (a sockaddr) */
    uint32_t good_key[LQ_LINK_COUNT];   /* its host and port (0: none) */
    unsigned char *rbig;        /* LQ_READ_BUFFER_MAX bytes while the link is busy, else NULL */
    uint64_t rbig_used;         /* when a read last needed more than rbuf */
    unsigned char rbuf[LQ_READ_BUFFER_BYTES];
#endif
};

static void lq__logf(lq_client *c, lq_log_level lvl, const char *fmt, ...) {
    char line[320];
    va_list ap;
    if (!c->log) return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    c->log(lvl, line, c->user_data);
}

/* Records the detail of a failure for lq_error_message / lq_error_detail. */
static void lq__vset_error(lq_client *c, int detail, const char *fmt, va_list ap) {
    vsnprintf(c->errmsg, sizeof c->errmsg, fmt, ap);
    c->errdetail = detail;
    lq__logf(c, LQ_LOG_WARN, "%s", c->errmsg);
}

/* The i-th endpoint: server_url (when set), then server_urls. */
static const char *lq__endpoint(const lq_desc *d, int i) {
    if (d->server_url) return i == 0 ? d->server_url : d->server_urls[i - 1];
    return d->server_urls[i];
}

static int lq__endpoint_count(const lq_desc *d) { return (d->server_url ? 1 : 0) + d->num_server_urls; }

/* A connect failed: the next endpoint, for the next attempt. */
static void lq__endpoint_next(lq_client *c) {
    if (c->nep < 2) return;
    c->cur_ep = (c->cur_ep + 1) % c->nep;
    c->url = c->ep[c->cur_ep];
    lq__logf(c, LQ_LOG_INFO, "next endpoint: %s", c->ep_text[c->cur_ep]);
}

static void lq__set_error(lq_client *c, int detail, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    lq__vset_error(c, detail, fmt, ap);
    va_end(ap);
}

#ifndef LQ_NO_REST
static void lq__view_sub_event(struct lq_view *v, const lq_event *ev);
static void lq__views_client_event(lq_client *c, const lq_event *ev);
static void lq__views_tick(lq_client *c);
static int64_t lq__views_timeout(const lq_client *c, uint64_t now);
static void lq__views_free(lq_client *c);
#endif

static void lq__emit(lq_client *c, lq_event *ev) {
    lq__sub *s = c->emit_sub;
    c->emit_sub = NULL;
    if (s && s->silent) return;
#ifndef LQ_NO_REST
    if (s && s->view) {
        c->in_callback++;
        lq__view_sub_event(s->view, ev);
        c->in_callback--;
        return;
    }
    if (!s && c->views) lq__views_client_event(c, ev);
#endif
    if (!c->on_event) return;
    c->in_callback++;
    c->on_event(c, ev, c->user_data);
    c->in_callback--;
}

static lq_sub lq__handle(const lq_client *c, const lq__sub *s) {
    lq_sub h;
    h.id = s ? (uint32_t)s->id ^ c->tag : 0;
    return h;
}

/* An event about s (NULL: about the client). */
static void lq__event_init(lq_client *c, lq_event *ev, lq_event_type type, lq__sub *s) {
    c->emit_sub = s;
    memset(ev, 0, sizeof *ev);
    ev->type = type;
    ev->sub = lq__handle(c, s);
    if (s) { ev->request_id = s->id; ev->sub_user_data = s->user_data; }
}

static void lq__emit_simple(lq_client *c, lq_event_type type, lq__sub *s) {
    lq_event ev;
    lq__event_init(c, &ev, type, s);
    lq__emit(c, &ev);
}

static void lq__emit_error(lq_client *c, lq__sub *s, lq_result r, int code, bool fatal, const char *msg) {
    lq_event ev;
    lq__event_init(c, &ev, LQ_EVENT_ERROR, s);
    ev.result = r;
    ev.error_code = code;
    ev.fatal = fatal;
    ev.error_message = msg;
    lq__emit(c, &ev);
}

/* >>websocket ---------------------------------------------------------------------------------- */

/* Appends one masked frame to the output. */
static lq_result lq__ws_frame(lq_client *c, int opcode, const void *payload, size_t n) {
    unsigned char h[14], mask[4];
    const unsigned char *p = (const unsigned char *)payload;
    size_t hn = 2, i;
    lq_result r;
    h[0] = (unsigned char)(0x80 | opcode);
    if (n < 126) h[1] = (unsigned char)(0x80 | n);
    else if (n <= 0xFFFF) { h[1] = 0x80 | 126; h[2] = (unsigned char)(n >> 8); h[3] = (unsigned char)n; hn = 4; }
    else {
        uint64_t v = (uint64_t)n;
        h[1] = 0x80 | 127;
        for (i = 0; i < 8; i++) h[2 + i] = (unsigned char)(v >> (56 - 8 * i));
        hn = 10;
    }
    if (!c->random(mask, 4, c->user_data)) {
        lq__set_error(c, 0, "the random source failed");
        return LQ_ERR_IO;
    }
    memcpy(h + hn, mask, 4);
    hn += 4;
    r = lq__buf_reserve(&c->out, hn + n);
    if (r != LQ_OK) {
        c->out.err = LQ_OK;                                 /* a queue: what is in it still goes out */
        return r;
    }
    memcpy(c->out.data + c->out.len, h, hn);
    for (i = 0; i < n; i++) c->out.data[c->out.len + hn + i] = (char)(p[i] ^ mask[i & 3]);
    c->out.len += hn + n;
    return LQ_OK;
}

static void lq__link_lost(lq_client *c);

/* Fail the WebSocket connection (RFC 6455 7.1.7): a Close with the code when the socket is open,
   then no more input and no more data. */
static void lq__ws_fail(lq_client *c, int code, lq_result why) {
    if (c->fail == LQ_OK) c->fail = why;
    if (c->link == LQ__L_OPEN && code) {
        unsigned char b[2];
        b[0] = (unsigned char)(code >> 8);
        b[1] = (unsigned char)code;
        lq__ws_frame(c, 8, b, 2);
    }
    if (c->link == LQ__L_OPEN || c->link == LQ__L_CLOSING) {
        c->link = LQ__L_DRAIN;
        c->drain_deadline = c->now + c->close_timeout_ms;
    } else if (c->link == LQ__L_HANDSHAKE || c->link == LQ__L_CONNECT) {
        c->link = LQ__L_SHUT;
    }
}

/* The server broke RFC 6455: say how, then fail with a Close of code. */
static LQ__COLD void lq__ws_violation(lq_client *c, int code, lq_result why, int detail, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    lq__vset_error(c, detail, fmt, ap);
    va_end(ap);
    lq__ws_fail(c, code, why);
}

static bool lq__close_code_valid(int code) {
    if (code >= 1000 && code <= 1003) return true;
    if (code >= 1007 && code <= 1014) return true;
    return code >= 3000 && code <= 4999;
}

static void lq__on_message(lq_client *c, const char *text, size_t len);

/* After an unusually large message, give its memory back: the next events use small buffers
   again (a 16 MiB message of tiny values needs 8 bytes of tokens per byte while it is parsed). */
static void lq__trim(lq_client *c) {
    if (c->ntoks > 16384) {
        lq__free(&c->a, c->toks);
        c->toks = NULL;
        c->ntoks = 0;
    }
    if (c->msg.cap > (1u << 20)) lq__buf_free(&c->msg);
}
static void lq__on_message_utf8(lq_client *c, const char *text, size_t len, bool check_utf8);

static void lq__ws_control(lq_client *c) {
    lq__frame_rx *f = &c->rx;
    if (f->opcode == 9) {                                   /* ping: pong at once */
        if (c->link == LQ__L_OPEN) lq__ws_frame(c, 10, f->ctl, f->ctl_len);
    } else if (f->opcode == 8) {                            /* close */
        int code = 1005;
        if (f->ctl_len == 1) { lq__ws_violation(c, 1002, LQ_ERR_PROTOCOL, 0, "Close frame with a 1-byte body"); return; }
        if (f->ctl_len >= 2) {
            code = f->ctl[0] << 8 | f->ctl[1];
            if (!lq__close_code_valid(code)) { lq__ws_violation(c, 1002, LQ_ERR_PROTOCOL, code, "invalid close code %d from the server", code); return; }
            if (!lq__utf8_valid(f->ctl + 2, f->ctl_len - 2)) { lq__ws_violation(c, 1007, LQ_ERR_UTF8, code, "Close reason is not UTF-8"); return; }
        }
        c->got_close = true;
        c->close_code = code;
        if (c->link == LQ__L_OPEN) {                        /* echo the code (never 1005 on the wire) */
            if (code == 1005) lq__ws_frame(c, 8, NULL, 0);
            else lq__ws_frame(c, 8, f->ctl, 2);
        }
        c->link = LQ__L_DRAIN;
        c->drain_deadline = c->now + c->close_timeout_ms;
    }                                                       /* pong: ignored */
}

/* Consumes frame bytes; returns bytes used. Stops when the link leaves OPEN/CLOSING. */
static size_t lq__ws_read(lq_client *c, const unsigned char *p, size_t n) {
    lq__frame_rx *f = &c->rx;
    size_t used = 0;
    while (used < n && (c->link == LQ__L_OPEN || c->link == LQ__L_CLOSING)) {
        if (f->left == 0) {                                 /* frame header */
            size_t need = 2, i;
            unsigned len7;
            int op;
            uint64_t len;
            while (f->hdr_have < 2 && used < n) f->hdr[f->hdr_have++] = p[used++];
            if (f->hdr_have < 2) break;
            op = f->hdr[0] & 0x0F;
            len7 = f->hdr[1] & 0x7Fu;
            if (f->hdr[0] & 0x70) { lq__ws_violation(c, 1002, LQ_ERR_PROTOCOL, 0, "frame with RSV bits set"); break; }
            if (f->hdr[1] & 0x80) { lq__ws_violation(c, 1002, LQ_ERR_PROTOCOL, 0, "masked frame from the server"); break; }
            if ((op >= 3 && op <= 7) || op >= 11) { lq__ws_violation(c, 1002, LQ_ERR_PROTOCOL, op, "unknown opcode %d", op); break; }
            if (op >= 8 && (!(f->hdr[0] & 0x80) || len7 > 125)) { lq__ws_violation(c, 1002, LQ_ERR_PROTOCOL, op, "fragmented or oversized control frame"); break; }
            if (op == 0 && !f->msg_opcode) { lq__ws_violation(c, 1002, LQ_ERR_PROTOCOL, 0, "continuation frame with no message open"); break; }
            if ((op == 1 || op == 2) && f->msg_opcode) { lq__ws_violation(c, 1002, LQ_ERR_PROTOCOL, op, "new message inside a fragmented one"); break; }
            if (len7 == 126) need = 4; else if (len7 == 127) need = 10;
            while (f->hdr_have < need && used < n) f->hdr[f->hdr_have++] = p[used++];
            if (f->hdr_have < need) break;
            if (need == 2) len = len7;
            else if (need == 4) len = (uint64_t)f->hdr[2] << 8 | f->hdr[3];
            else {
                len = 0;
                for (i = 0; i < 8; i++) len = len << 8 | f->hdr[2 + i];
                if (len >> 63) { lq__ws_violation(c, 1002, LQ_ERR_PROTOCOL, 0, "64-bit frame length with the top bit set"); break; }
            }
            f->opcode = (uint8_t)op;
            f->fin = (f->hdr[0] & 0x80) != 0;
            f->hdr_have = 0;
            f->left = len;
            f->ctl_len = 0;
            if (op < 8) {
                if (op) { f->msg_opcode = (uint8_t)op; f->utf8 = 0; lq__buf_clear(&c->msg); }
                if (len > (uint64_t)(c->max_message - c->msg.len)) {
                    lq__ws_violation(c, 1009, LQ_ERR_LIMIT, 0, "message over max_message_bytes (%lu)", (unsigned long)c->max_message);
                    break;
                }
                if (op == 1 && f->fin && len <= (uint64_t)(n - used) && c->link == LQ__L_OPEN) {
                    /* A whole unfragmented text frame in this chunk (the usual event): parse it in
                       place, no copy into c->msg, and let the parse check its UTF-8. */
                    f->msg_opcode = 0;
                    f->left = 0;
                    used += (size_t)len;
                    lq__on_message_utf8(c, (const char *)p + used - (size_t)len, (size_t)len, true);
                    lq__trim(c);
                    continue;
                }
                if (lq__buf_reserve(&c->msg, (size_t)len) != LQ_OK) {
                    lq__ws_violation(c, 1011, LQ_ERR_NOMEM, 0, "out of memory for a %lu-byte message", (unsigned long)len);
                    break;
                }
            }
            if (len) continue;
        } else {                                            /* payload bytes */
            size_t take = n - used;
            if ((uint64_t)take > f->left) take = (size_t)f->left;
            if (f->opcode >= 8) {
                memcpy(f->ctl + f->ctl_len, p + used, take);
                f->ctl_len += take;
            } else {
                if (f->msg_opcode == 1) {
                    f->utf8 = lq__utf8_step(f->utf8, p + used, take);
                    if (f->utf8 == LQ__UTF8_REJECT) { lq__ws_violation(c, 1007, LQ_ERR_UTF8, 0, "text message is not UTF-8"); break; }
                }
                memcpy(c->msg.data + c->msg.len, p + used, take);
                c->msg.len += take;
            }
            used += take;
            f->left -= take;
            if (f->left) continue;
        }
        /* a whole frame is in */
        if (f->opcode >= 8) lq__ws_control(c);
        else if (f->fin) {
            int op = f->msg_opcode;
            f->msg_opcode = 0;
            if (op == 1 && f->utf8 != 0) { lq__ws_violation(c, 1007, LQ_ERR_UTF8, 0, "text message ends inside a UTF-8 sequence"); break; }
            if (c->link != LQ__L_OPEN) continue;            /* after our Close: discard data */
            if (op == 1) lq__on_message(c, c->msg.data, c->msg.len);
            else lq__logf(c, LQ_LOG_WARN, "binary message ignored (%lu bytes)", (unsigned long)c->msg.len);
            lq__trim(c);
        }
    }
    return used;
}

/* >>handshake ----------------------------------------------------------------------------------- */

static lq_result lq__hs_request(lq_client *c) {
    unsigned char key[16];
    lq__buf *b = &c->tmp;
    if (!c->random(key, sizeof key, c->user_data)) {
        lq__set_error(c, 0, "the random source failed");
        return LQ_ERR_IO;
    }
    lq__base64(key, sizeof key, c->ws_key);
    lq__buf_clear(b);
    lq__buf_puts(b, "GET ");
    if (c->url.path[0] == '?') lq__buf_puts(b, "/");
    lq__buf_put(b, c->url.path, c->url.path_len);
    lq__buf_puts(b, " HTTP/1.1\r\nHost: ");
    if (c->url.ipv6) lq__buf_puts(b, "[");
    lq__buf_put(b, c->url.host, c->url.host_len);
    if (c->url.ipv6) lq__buf_puts(b, "]");
    if (c->url.port != (c->url.tls ? 443 : 80)) {
        lq__buf_puts(b, ":");
        lq__buf_putu(b, c->url.port);
    }
    lq__buf_puts(b, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
    lq__buf_puts(b, c->ws_key);
    lq__buf_puts(b, "\r\nSec-WebSocket-Version: 13\r\nUser-Agent: livequery.h\r\n");
    if (c->extra_headers) lq__buf_puts(b, c->extra_headers);
    lq__buf_puts(b, "\r\n");
    if (b->err != LQ_OK) return b->err;
    lq__buf_put(&c->out, b->data, b->len);              /* into an empty queue: a fresh link */
    return c->out.err;
}

/* Is token (case-insensitive) one of the comma-separated items of a header value? */
static bool lq__has_token(const char *v, size_t n, const char *token) {
    size_t i = 0;
    while (i < n) {
        size_t s, e;
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) i++;
        s = i;
        while (i < n && v[i] != ',') i++;
        e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t')) e--;
        if (e > s && lq__ieq(v + s, e - s, token)) return true;
    }
    return false;
}

/* The value of the first header called name in a response head, or NULL. */
static const char *lq__hs_header(const char *h, size_t n, const char *name, size_t *vlen) {
    const char *line = h, *end = h + n, *eol;
    size_t nn = strlen(name);
    for (; line < end; line = eol + 2) {
        const char *v, *ve;
        eol = line;
        while (eol < end && *eol != '\r') eol++;
        if ((size_t)(eol - line) <= nn || line[nn] != ':' || !lq__ieq(line, nn, name)) continue;
        v = line + nn + 1;
        while (v < eol && (*v == ' ' || *v == '\t')) v++;
        ve = eol;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
        *vlen = (size_t)(ve - v);
        return v;
    }
    return NULL;
}

static void lq__hs_fail(lq_client *c, int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    lq__vset_error(c, status, fmt, ap);
    va_end(ap);
    lq__ws_fail(c, 0, LQ_ERR_HANDSHAKE);
}

/* Reports a refused upgrade, with the start of the body for 4xx and 5xx. */
static void lq__hs_refused(lq_client *c) {
    char body[120];
    size_t n = c->hs.len - c->hs_body_at, i;
    if (n > c->hs_body_want) n = c->hs_body_want;            /* the same however the bytes came */
    if (n > sizeof body - 1) n = sizeof body - 1;
    for (i = 0; i < n; i++) {
        char ch = c->hs.data[c->hs_body_at + i];
        body[i] = (ch >= 0x20 && ch < 0x7f) ? ch : ' ';
    }
    body[n] = 0;
    lq__hs_fail(c, c->hs_status, "server answered HTTP %d instead of 101%s%s", c->hs_status, n ? ": " : "", body);
}

/* Checks a complete response head (status line and headers, without the blank line). */
static void lq__hs_check(lq_client *c, const char *h, size_t n) {
    const char *line = h, *end = h + n, *eol;
    int status = 0, accepts = 0, i;
    bool upgrade = false, connection = false, accept_ok = false;
    char expect[29];
    eol = line;
    while (eol < end && *eol != '\r') eol++;
    if (eol - line < 12 || memcmp(line, "HTTP/1.", 7) != 0 || line[7] < '0' || line[7] > '9' || line[8] != ' ' ||
        (eol - line > 12 && line[12] != ' ') || (eol < end && (end - eol < 2 || eol[1] != '\n'))) {
        lq__hs_fail(c, 0, "not an HTTP response");
        return;
    }
    for (i = 9; i < 12; i++) {
        if (line[i] < '0' || line[i] > '9') { lq__hs_fail(c, 0, "bad HTTP status line"); return; }
        status = status * 10 + (line[i] - '0');
    }
    if (status < 100) { lq__hs_fail(c, 0, "bad HTTP status line"); return; }   /* hs_status 0 means none */
    if (status != 101) {
        c->hs_status = status;
        return;
    }
    lq__ws_accept(c->ws_key, expect);
    for (line = eol + 2; line < end; line = eol + 2) {
        const char *colon, *v, *ve;
        eol = line;
        while (eol < end && *eol != '\r') eol++;
        if (eol < end && (end - eol < 2 || eol[1] != '\n')) { lq__hs_fail(c, 101, "bare CR in the response headers"); return; }
        if (*line == ' ' || *line == '\t') { lq__hs_fail(c, 101, "folded header line in the response"); return; }
        colon = (const char *)memchr(line, ':', (size_t)(eol - line));
        if (!colon || colon == line) { lq__hs_fail(c, 101, "malformed header line in the response"); return; }
        v = colon + 1;
        while (v < eol && (*v == ' ' || *v == '\t')) v++;
        ve = eol;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
        if (lq__ieq(line, (size_t)(colon - line), "upgrade")) upgrade = lq__ieq(v, (size_t)(ve - v), "websocket");
        else if (lq__ieq(line, (size_t)(colon - line), "connection")) connection = connection || lq__has_token(v, (size_t)(ve - v), "upgrade");
        else if (lq__ieq(line, (size_t)(colon - line), "sec-websocket-accept")) {
            accepts++;
            accept_ok = (size_t)(ve - v) == 28 && memcmp(v, expect, 28) == 0;
        } else if (lq__ieq(line, (size_t)(colon - line), "sec-websocket-extensions")) {
            lq__hs_fail(c, 101, "server chose an extension we did not offer"); return;
        } else if (lq__ieq(line, (size_t)(colon - line), "sec-websocket-protocol")) {
            lq__hs_fail(c, 101, "server chose a subprotocol we did not offer"); return;
        }
    }
    if (!upgrade) lq__hs_fail(c, 101, "response lacks Upgrade: websocket");
    else if (!connection) lq__hs_fail(c, 101, "response lacks Connection: Upgrade");
    else if (accepts == 0) lq__hs_fail(c, 101, "response lacks Sec-WebSocket-Accept");
    else if (accepts > 1) lq__hs_fail(c, 101, "response has Sec-WebSocket-Accept twice");
    else if (!accept_ok) lq__hs_fail(c, 101, "Sec-WebSocket-Accept does not match the key");
}

static void lq__link_opened(lq_client *c);

/* Consumes handshake bytes; returns bytes used (the rest belongs to the frame layer). */
static size_t lq__hs_read(lq_client *c, const unsigned char *p, size_t n) {
    size_t from, take = n, i;
    if (c->hs_status) {                                     /* collecting the start of an error body */
        size_t room = c->hs_body_at + c->hs_body_want - c->hs.len;
        if (take > room) take = room;
        lq__buf_put(&c->hs, p, take);
        if (c->hs.len >= c->hs_body_at + c->hs_body_want) lq__hs_refused(c);
        return n;
    }
    from = c->hs.len > 3 ? c->hs.len - 3 : 0;
    if (take > c->max_handshake - c->hs.len) take = c->max_handshake - c->hs.len;
    lq__buf_put(&c->hs, p, take);
    if (c->hs.err != LQ_OK) { lq__hs_fail(c, 0, "out of memory in the handshake"); return n; }
    for (i = from; i + 4 <= c->hs.len; i++) {
        if (memcmp(c->hs.data + i, "\r\n\r\n", 4) == 0) {
            size_t used = i + 4 - (c->hs.len - take);
            lq__hs_check(c, c->hs.data, i);
            if (c->link != LQ__L_HANDSHAKE) return n;
            if (c->hs_status) {
                size_t vn;
                const char *cl = lq__hs_header(c->hs.data, i, "content-length", &vn);
                c->hs_body_at = i + 4;
                c->hs_body_want = 100;
                if (cl) {
                    size_t want = 0, k;
                    for (k = 0; k < vn && cl[k] >= '0' && cl[k] <= '9' && want < 100; k++) want = want * 10 + (size_t)(cl[k] - '0');
                    if (want < c->hs_body_want) c->hs_body_want = want;
                }
                if (take < n && c->hs.len < c->hs_body_at + c->hs_body_want) {   /* body past the head cap */
                    size_t more = n - take, room = c->hs_body_at + c->hs_body_want - c->hs.len;
                    lq__buf_put(&c->hs, p + take, more < room ? more : room);
                }
                if (c->hs.len >= c->hs_body_at + c->hs_body_want) lq__hs_refused(c);
                return n;
            }
            lq__buf_clear(&c->hs);
            lq__link_opened(c);
            return used;
        }
    }
    if (c->hs.len >= c->max_handshake) lq__hs_fail(c, 0, "response headers over %lu bytes", (unsigned long)c->max_handshake);
    return n;
}

/* >>protocol ------------------------------------------------------------------------------------ */

static void lq__put_member(lq__buf *b, const char *name, const char *value) {
    if (!value) return;
    lq__buf_puts(b, ",\"");
    lq__buf_puts(b, name);
    lq__buf_puts(b, "\":");
    lq__json_put_strz(b, value);
}

/* Frames the message in c->tmp as one text frame. */
static lq_result lq__ws_send_tmp(lq_client *c) {
    if (c->tmp.err != LQ_OK) return c->tmp.err;
    return lq__ws_frame(c, 1, c->tmp.data, c->tmp.len);
}

static lq_result lq__send_connect(lq_client *c) {
    lq__buf *b = &c->tmp;
    lq_result r;
    lq__buf_clear(b);
    lq__buf_puts(b, "{\"op\":\"connect\",\"applicationId\":");
    lq__json_put_strz(b, c->application_id);
    lq__put_member(b, "javascriptKey", c->javascript_key);
    lq__put_member(b, "clientKey", c->client_key);
    lq__put_member(b, "masterKey", c->master_key);
    lq__put_member(b, "sessionToken", c->session_token);
    if (!c->drop_installation_id) lq__put_member(b, "installationId", c->installation_id);
    lq__buf_puts(b, "}");
    r = lq__ws_send_tmp(c);
    if (r == LQ_OK) c->sent_connect = true;
    return r;
}

/* The caller's where: one valid JSON object (counted, not tokenized: any size, no allocation). */
static lq_result lq__where_check(const lq_client *c, const char *where) {
    size_t n = strlen(where), i = 0;
    int got;
    if (n > c->max_outgoing) return LQ_ERR_LIMIT;
    got = lq__json_parse(where, n, NULL, 0, c->max_depth, true, NULL);
    if (got < 0) return (lq_result)got;
    while (where[i] == ' ' || where[i] == '\t' || where[i] == '\n' || where[i] == '\r') i++;
    return where[i] == '{' ? LQ_OK : LQ_ERR_JSON;
}

static void lq__put_list(lq__buf *b, const char *name, const char *const *items, int n) {
    int i;
    if (!n) return;
    lq__buf_puts(b, ",\"");
    lq__buf_puts(b, name);
    lq__buf_puts(b, "\":[");
    for (i = 0; i < n; i++) {
        if (i) lq__buf_puts(b, ",");
        if (!items[i] || !items[i][0]) lq__buf_fail(b, LQ_ERR_INVALID_ARG);
        else lq__json_put_strz(b, items[i]);
    }
    lq__buf_puts(b, "]");
}

static bool lq__listed(const char *const *items, int n, const char *item) {
    int i;
    for (i = 0; i < n; i++)
        if (items[i] && strcmp(items[i], item) == 0) return true;
    return false;
}

/* Builds "query":{...}[,"sessionToken":...] for a subscription into an empty b, with the key list
   spelled "keys", and after it what the other spellings need (lq__shape); *len is the body's
   length. Validates the caller's input. */
static lq_result lq__query_body(lq_client *c, const lq_query *q, lq__buf *b, lq__shape *sh, size_t *len) {
    lq_result r;
    int i;
    if (!q || !q->class_name || !q->class_name[0]) return LQ_ERR_INVALID_ARG;
    if (q->num_keys < 0 || q->num_watch < 0 || (q->num_keys && !q->keys) || (q->num_watch && !q->watch))
        return LQ_ERR_INVALID_ARG;
    if (q->where && (r = lq__where_check(c, q->where)) != LQ_OK) return r;
    lq__buf_puts(b, "\"query\":{\"className\":");
    lq__json_put_strz(b, q->class_name);
    lq__buf_puts(b, ",\"where\":");
    lq__buf_puts(b, q->where ? q->where : "{}");
    sh->keys_at = b->len;
    lq__put_list(b, "keys", q->keys, q->num_keys);
    sh->keys_end = sh->watch_at = b->len;
    lq__put_list(b, "watch", q->watch, q->num_watch);
    sh->watch_end = b->len;
    lq__buf_puts(b, "}");
    lq__put_member(b, "sessionToken", q->session_token ? q->session_token : c->session_token);
    *len = b->len;
    /* An emulated watch compares the watched keys, so the key list must bring them too. */
    for (i = 0; q->num_keys && i < q->num_watch; i++) {
        if (!q->watch[i] || lq__listed(q->keys, q->num_keys, q->watch[i])) continue;
        lq__buf_puts(b, ",");
        lq__json_put_strz(b, q->watch[i]);
    }
    sh->extra_end = b->len;
    for (i = 0; i < q->num_watch; i++)
        if (q->watch[i]) lq__buf_put(b, q->watch[i], strlen(q->watch[i]) + 1);
    sh->all = b->len;
    return b->err;
}

static bool lq__has_keys(const lq__sub *s) { return s->sh.keys_end > s->sh.keys_at; }
static bool lq__has_watch(const lq__sub *s) { return s->sh.watch_end > s->sh.watch_at; }

/* A subscription's body as this server takes it: the key list spelled "fields" or "keys", and
   without watch when the server lacks it (the list then brings the watched keys too). */
static void lq__put_body(const lq_client *c, lq__buf *b, const lq__sub *s) {
    const char *p = s->body;
    const lq__shape *h = &s->sh;
    lq__buf_put(b, p, h->keys_at);
    if (lq__has_keys(s)) {
        lq__buf_puts(b, c->use_fields ? ",\"fields\":[" : ",\"keys\":[");
        lq__buf_put(b, p + h->keys_at + 9, h->keys_end - h->keys_at - 10);     /* the items of ,"keys":[...] */
        if (s->emulate) lq__buf_put(b, p + s->body_len, h->extra_end - s->body_len);
        lq__buf_puts(b, "]");
    }
    if (!s->emulate) lq__buf_put(b, p + h->watch_at, h->watch_end - h->watch_at);
    lq__buf_put(b, p + h->watch_end, s->body_len - h->watch_end);
}

/* Does s carry what this connection has not seen accepted yet? Such a request goes alone: Parse
   Server refuses it without a requestId, and answers out of order, so with two in flight the
   refusal could not be told apart. */
static bool lq__probing(const lq_client *c, const lq__sub *s) {
    return (lq__has_keys(s) && !c->keys_ok) || (lq__has_watch(s) && !c->watch_ok && !c->no_watch);
}

static lq_result lq__send_sub_op(lq_client *c, const char *op, const lq__sub *s, bool with_body) {
    lq__buf *b = &c->tmp;
    lq__buf_clear(b);
    lq__buf_puts(b, "{\"op\":\"");
    lq__buf_puts(b, op);
    lq__buf_puts(b, "\",\"requestId\":");
    lq__buf_putu(b, (uint64_t)s->id);
    if (with_body) {
        lq__buf_puts(b, ",");
        lq__put_body(c, b, s);
    }
    lq__buf_puts(b, "}");
    return lq__ws_send_tmp(c);
}

static int lq__sub_index(const lq_client *c, int32_t id) {
    int lo = 0, hi = c->nsubs;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (c->subs[mid]->id < id) lo = mid + 1; else hi = mid;
    }
    return (lo < c->nsubs && c->subs[lo]->id == id) ? lo : -1;
}

static void lq__sub_set(lq_client *c, lq__sub *s, uint8_t state) {
    bool was = s->state == LQ__S_PENDING || s->state == LQ__S_UNSUB;
    bool is = state == LQ__S_PENDING || state == LQ__S_UNSUB;
    c->pending += (int)is - (int)was;
    s->state = state;
    if (state == LQ__S_DEAD) c->reap = true;
}

/* Sends what subscriptions have queued, while the output has room: a reconnect with thousands of
   subscriptions streams out as the socket takes it instead of ballooning the buffer. */
static void lq__pump(lq_client *c) {
    int i;
    if (c->state != LQ_STATE_CONNECTED || c->link != LQ__L_OPEN) return;
    for (i = 0; i < c->nsubs && c->pending > 0 && c->out.len < 65536; i++) {
        lq__sub *s = c->subs[i];
        lq_result r = LQ_OK;
        bool probe = s->state == LQ__S_PENDING && lq__probing(c, s);
        if (probe && c->probe) continue;                    /* after the one in flight */
        /* Wait for the queue to drain if the request does not fit behind it (it fits alone). */
        if (c->out.len && s->sh.extra_end + 64 > c->max_outgoing - c->out.len) break;
        if (s->state == LQ__S_PENDING) {
            s->emulate = lq__has_watch(s) && c->no_watch;
            r = lq__send_sub_op(c, s->update ? "update" : "subscribe", s, true);
            if (r == LQ_OK) lq__sub_set(c, s, LQ__S_SENT);
            if (r == LQ_OK && probe) c->probe = s->id;
        } else if (s->state == LQ__S_UNSUB) {
            r = lq__send_sub_op(c, "unsubscribe", s, false);
            if (r == LQ_OK) lq__sub_set(c, s, LQ__S_UNSUB_SENT);
        }
        if (r != LQ_OK) {
            lq__set_error(c, 0, "cannot queue the request of subscription %d: %s", s->id, lq_result_str(r));
            lq__ws_fail(c, 1011, r);
            return;
        }
    }
}

/* Reports and frees DEAD subscriptions. Never runs inside a callback. */
static void lq__reap(lq_client *c) {
    int i;
    if (c->in_callback) return;
    while (c->reap) {
        c->reap = false;
        for (i = 0; i < c->nsubs; i++) {
            lq__sub *s = c->subs[i];
            if (s->state != LQ__S_DEAD) continue;
            lq__emit_simple(c, LQ_EVENT_UNSUBSCRIBED, s);
            i = lq__sub_index(c, s->id);                    /* the callback may have added some */
            memmove(c->subs + i, c->subs + i + 1, (size_t)(c->nsubs - i - 1) * sizeof *c->subs);
            c->nsubs--;
            i--;
            lq__free(&c->a, s->body);
            lq__free(&c->a, s);
        }
    }
}

/* Ends every subscription (lq_close, fatal errors, no_reconnect). */
static void lq__kill_all(lq_client *c) {
    int i;
    for (i = 0; i < c->nsubs; i++)
        if (c->subs[i]->state != LQ__S_DEAD) lq__sub_set(c, c->subs[i], LQ__S_DEAD);
}

/* Stops for good: DISCONNECTED, subscriptions ended, the link closed (CLOSE is reported when the
   transport is gone). */
#ifndef LQ_NO_REST
static void lq__rest_shutdown(lq_client *c);
#endif

static void lq__shutdown(lq_client *c) {
    c->state = LQ_STATE_DISCONNECTED;
    lq__kill_all(c);
#ifndef LQ_NO_REST
    lq__rest_shutdown(c);
#endif
    switch (c->link) {
    case LQ__L_OPEN: {
        unsigned char b[2] = {0x03, 0xE8};                  /* 1000 */
        lq__ws_frame(c, 8, b, 2);
        c->link = LQ__L_CLOSING;
        c->drain_deadline = c->now + c->close_timeout_ms;
        break;
    }
    case LQ__L_CONNECT: case LQ__L_HANDSHAKE: c->link = LQ__L_SHUT; break;
    case LQ__L_IDLE: c->report_close = true; break;
    default: break;
    }
}

/* A requestId as the server sent it: 1..INT32_MAX, else -1 (a wider number must not wrap onto a
   live id). Parse-server sends a small decimal integer: read it without the general number path. */
static int32_t lq__request_id(lq_json rid) {
    const char *p = rid.src + rid.tok->start;
    uint32_t i, n = rid.tok->len, v = 0;
    int64_t wide;
    if (n <= 9) {
        for (i = 0; i < n; i++) {
            uint32_t d = (uint32_t)((unsigned char)p[i] - '0');
            if (d > 9) break;
            v = v * 10 + d;
        }
        if (i == n) return v >= 1 ? (int32_t)v : -1;
    }
    wide = lq_json_int(rid, -1);
    return wide >= 1 && wide <= INT32_MAX ? (int32_t)wide : -1;
}

/* A server message: the members the dispatch reads, found in one walk over the root object
   instead of one lq_json_get each (parse-server sends "op" first). The first of duplicate keys
   wins, as in lq_json_get; a key with escapes takes the general comparison. */
typedef struct lq__msg {
    lq_json root, op, request_id, object, original;
} lq__msg;

/* The server refused the probe s (lq__probing) with "Additional properties not allowed": blame
   the key list's spelling first ("fields" up to 6.5, "keys" from 6.1; 6.0 lacks watch too and
   refuses again), then watch, and send it again. False when there is nothing left to change. */
static bool lq__refused(lq_client *c, lq__sub *s) {
    if (lq__has_keys(s) && !c->keys_ok && !c->flipped) {
        c->use_fields = !c->use_fields;
        c->flipped = true;
    } else if (lq__has_watch(s) && !s->emulate && !c->watch_ok) {
        c->no_watch = true;
    } else {
        return false;
    }
    lq__logf(c, LQ_LOG_INFO, "server refused subscription %d: sending it again (key list \"%s\"%s)", s->id,
             c->use_fields ? "fields" : "keys", c->no_watch ? ", watch emulated" : "");
    c->probe = 0;
    if (s->after == LQ__AFTER_UNSUB) lq__sub_set(c, s, s->update ? LQ__S_UNSUB : LQ__S_DEAD);
    else lq__sub_set(c, s, LQ__S_PENDING);               /* an update stays an update */
    s->after = LQ__AFTER_NONE;                              /* the body is the latest query */
    lq__pump(c);
    return true;
}

static void lq__on_error_op(lq_client *c, const lq__msg *m, lq__sub *unused, lq_event_type type) {
    lq_json root = m->root, rid = m->request_id;
    int64_t code64 = lq_json_int(lq_json_get(root, "code"), 0);
    int code = code64 >= -INT32_MAX && code64 <= INT32_MAX ? (int)code64 : 0;   /* no wrap onto 1 or 4 */
    bool reconnect = lq_json_bool(lq_json_get(root, "reconnect"), true);
    bool fatal = code == 1 || code == 4 || !reconnect;
    lq__sub *s = NULL;
    char msg[256];
    (void)unused; (void)type;
    lq_json_string(lq_json_get(root, "error"), msg, sizeof msg);
    if (code == 1 && c->state == LQ_STATE_CONNECTING && c->installation_id && !c->drop_installation_id &&
        strcmp(msg, "Additional properties not allowed") == 0) {
        /* servers before 3.10 do not know installationId: connect again without it */
        lq__logf(c, LQ_LOG_INFO, "server rejects installationId: connecting without it");
        c->drop_installation_id = true;
        if (lq__send_connect(c) != LQ_OK) lq__ws_fail(c, 1011, LQ_ERR_NOMEM);
        return;
    }
    if (code == 1 && c->state == LQ_STATE_CONNECTED && c->probe &&
        (lq_json_kind(rid) != LQ_JSON_NUMBER || lq__request_id(rid) == c->probe) &&
        strcmp(msg, "Additional properties not allowed") == 0) {
        int idx = lq__sub_index(c, c->probe);             /* the refusal is the probe's, whatever its requestId */
        s = idx >= 0 && c->subs[idx]->state == LQ__S_SENT ? c->subs[idx] : NULL;
        if (s && lq__refused(c, s)) return;
    }
    snprintf(c->errmsg, sizeof c->errmsg, "%s", msg);
    c->errdetail = code;
    if (!s && lq_json_kind(rid) == LQ_JSON_NUMBER) {
        int idx = lq__sub_index(c, lq__request_id(rid));
        if (idx >= 0 && c->subs[idx]->state != LQ__S_DEAD) s = c->subs[idx];
    }
    if (s && s->id == c->probe && s->state == LQ__S_SENT) c->probe = 0;    /* answered: the next may go */
    /* reconnect:false about one request: a subscribe (or update) the server refused ends that
       subscription. Any other stays: parse-server also reports a failed afterLiveQueryEvent
       trigger or permission check for one event this way and keeps sending the rest (the JS SDK
       only emits "error" on the subscription). Never the whole client's business. */
    if (lq_json_kind(rid) == LQ_JSON_NUMBER && !reconnect && code != 1 && code != 4 && (!s || s->state != LQ__S_SENT)) {
        lq__emit_error(c, s, LQ_ERR_SERVER, code, false, msg);
        return;
    }
    lq__emit_error(c, s, LQ_ERR_SERVER, code, fatal || (!s && c->no_reconnect), msg);
    if (s && fatal) {
        if (s->state != LQ__S_DEAD) lq__sub_set(c, s, LQ__S_DEAD);
    } else if (fatal) {
        lq__shutdown(c);
    } else if (c->state != LQ_STATE_DISCONNECTED) {
        /* the server lost our state (code 2 and the like): start over on a new connection */
        lq__ws_fail(c, 1000, LQ_ERR_SERVER);
    }
    lq__pump(c);
}

/* A message that needs more tokens than any before it: the counting parse says how many, the
   array is made that size (rounded up to a power of two, at least 16) and kept for the next ones. */
static int lq__parse_grown(lq_client *c, lq_json_token **toks, size_t *ntoks, const char *text, size_t len,
                           bool check_utf8, lq_json *root) {
    int got = lq__json_parse(text, len, NULL, 0, c->max_depth, true, NULL);
    size_t want = 16;
    if (got < 0) return got;
    while (want < (size_t)got) want *= 2;
    lq__free(&c->a, *toks);                                 /* its contents are not needed */
    *ntoks = 0;
    *toks = want <= (size_t)-1 / sizeof **toks ? (lq_json_token *)lq__alloc(&c->a, want * sizeof **toks) : NULL;
    if (!*toks) return LQ_ERR_NOMEM;
    *ntoks = want;
    return lq__json_parse(text, len, *toks, *ntoks, c->max_depth, check_utf8, root);
}

/* The slot of the member whose key token is t, or NULL. Switching on the length leaves one
   fixed-size compare per key, which compilers inline. */
static lq_json *lq__msg_slot(lq__msg *m, const char *src, const lq_json_token *t) {
    static const char *const names[4] = {"op", "requestId", "object", "original"};
    const char *k = src + t->start + 1;
    lq_json *slots[4];
    int i;
    if (LQ__UNLIKELY(t->flags & LQ__TOK_ESC)) {
        slots[0] = &m->op; slots[1] = &m->request_id; slots[2] = &m->object; slots[3] = &m->original;
        for (i = 0; i < 4; i++)
            if (lq__json_str_eqn(src, t, names[i], strlen(names[i]))) return slots[i];
        return NULL;
    }
    switch (t->len) {
    case 4: return memcmp(k, "op", 2) == 0 ? &m->op : NULL;
    case 11: return memcmp(k, "requestId", 9) == 0 ? &m->request_id : NULL;
    case 8: return memcmp(k, "object", 6) == 0 ? &m->object : NULL;
    case 10: return memcmp(k, "original", 8) == 0 ? &m->original : NULL;
    default: return NULL;
    }
}

static void lq__msg_find(lq_json root, lq__msg *m) {
    const lq_json_token *t = root.tok + 1, *end = root.tok + root.tok->skip;
    m->root = root;
    m->op = m->request_id = m->object = m->original = lq__json_make(root.src, NULL);
    for (; t < end; t += 1 + t[1].skip) {
        lq_json *slot = lq__msg_slot(m, root.src, t);
        if (slot && !slot->tok) *slot = lq__json_make(root.src, t + 1);
    }
}

static void lq__on_connected(lq_client *c, const lq__msg *m, lq__sub *s, lq_event_type type) {
    lq_json id = lq_json_get(m->root, "clientId");
    lq_event ev;
    (void)s;
    if (c->state != LQ_STATE_CONNECTING) {
        lq__logf(c, LQ_LOG_WARN, "duplicate connected message ignored");
        return;
    }
    if (lq_json_kind(id) == LQ_JSON_STRING) {
        lq_json_string(id, c->client_id, sizeof c->client_id);
    } else {                                                /* a number or the like: its text */
        size_t n = 0;
        const char *raw = lq_json_exists(id) ? lq_json_raw(id, &n) : "";
        if (n >= sizeof c->client_id) n = sizeof c->client_id - 1;
        memcpy(c->client_id, raw, n);
        c->client_id[n] = 0;
    }
    c->state = LQ_STATE_CONNECTED;
    c->keys_ok = c->watch_ok = c->flipped = false;         /* another server may answer now */
    c->probe = 0;
    if (c->nsubs == 0) c->attempt = 0;
    lq__event_init(c, &ev, type, NULL);
    ev.client_id = c->client_id;
    lq__emit(c, &ev);
    lq__pump(c);
}

static void lq__on_subscribed(lq_client *c, const lq__msg *m, lq__sub *s, lq_event_type type) {
    lq_event ev;
    (void)m;
    if (s->state != LQ__S_SENT) return;                     /* duplicate, or unsubscribed meanwhile */
    c->attempt = 0;
    if (lq__has_keys(s)) c->keys_ok = true;                 /* in this spelling */
    if (lq__has_watch(s) && !s->emulate) c->watch_ok = true;
    if (s->id == c->probe) c->probe = 0;
    if (s->after == LQ__AFTER_UNSUB) {                      /* now the unsubscribe can go */
        s->after = LQ__AFTER_NONE;
        lq__sub_set(c, s, LQ__S_UNSUB);
        lq__pump(c);
        return;
    }
    lq__sub_set(c, s, LQ__S_LIVE);
    lq__event_init(c, &ev, type, s);
    ev.resubscribe = s->was_live && !s->update;
    s->was_live = true;
    s->update = false;
    if (s->after == LQ__AFTER_UPDATE) {                     /* the query changed meanwhile */
        s->after = LQ__AFTER_NONE;
        s->update = true;
        lq__sub_set(c, s, LQ__S_PENDING);
    }
    lq__emit(c, &ev);
    lq__pump(c);
}

static void lq__on_unsubscribed(lq_client *c, const lq__msg *m, lq__sub *s, lq_event_type type) {
    (void)m; (void)type;
    if (s->state == LQ__S_UNSUB_SENT) lq__sub_set(c, s, LQ__S_DEAD);
}

/* Parse Server's watch, for a server without it: a create or update that changes none of the
   watched keys is dropped (the values compared as JSON text). A create has no original: a watched
   key it has counts as changed. An update without original cannot be compared: it is kept. */
static bool lq__watch_passes(const lq__sub *s, lq_event_type type, lq_json object, lq_json original) {
    const char *k = s->body + s->sh.extra_end, *end = s->body + s->sh.all;
    if (type != LQ_EVENT_CREATE && type != LQ_EVENT_UPDATE) return true;
    if (type == LQ_EVENT_UPDATE && lq_json_kind(original) != LQ_JSON_OBJECT) return true;
    for (; k < end; k += strlen(k) + 1) {
        lq_json a = lq_json_get(object, k), b = lq_json_get(original, k);
        size_t na, nb;
        const char *ra = lq_json_raw(a, &na), *rb = lq_json_raw(b, &nb);
        if (lq_json_exists(a) != lq_json_exists(b) || na != nb || memcmp(ra, rb, na) != 0) return true;
    }
    return false;
}

static void lq__on_object_event(lq_client *c, const lq__msg *m, lq__sub *s, lq_event_type type) {
    lq_event ev;
    /* an update waiting in the queue: the old query is still live on the server */
    if (s->state != LQ__S_LIVE && s->state != LQ__S_SENT && !(s->state == LQ__S_PENDING && s->update)) return;
    if (lq_json_kind(m->object) != LQ_JSON_OBJECT) {
        lq__set_error(c, 0, "event without an object ignored");
        lq__emit_error(c, s, LQ_ERR_JSON, 0, false, c->errmsg);
        return;
    }
    if (s->emulate && !lq__watch_passes(s, type, m->object, m->original)) return;
    lq__event_init(c, &ev, type, s);
    ev.object = m->object;
    if (lq_json_kind(m->original) == LQ_JSON_OBJECT) ev.original = m->original;
    else ev.original = lq__json_make(m->root.src, NULL);
    lq__emit(c, &ev);
}

/* One row per server op, the most frequent first. Rows with a subscription get it looked up
   (and are ignored before connected or for no known subscription). */
typedef void (*lq__op_fn)(lq_client *c, const lq__msg *m, lq__sub *s, lq_event_type type);
static const struct lq__op {
    const char *raw;            /* the op as JSON text, quotes included */
    size_t len;
    lq_event_type type;
    bool per_sub;
    lq__op_fn handle;
} lq__ops[] = {
    {"\"update\"", 8, LQ_EVENT_UPDATE, true, lq__on_object_event},
    {"\"create\"", 8, LQ_EVENT_CREATE, true, lq__on_object_event},
    {"\"enter\"", 7, LQ_EVENT_ENTER, true, lq__on_object_event},
    {"\"leave\"", 7, LQ_EVENT_LEAVE, true, lq__on_object_event},
    {"\"delete\"", 8, LQ_EVENT_DELETE, true, lq__on_object_event},
    {"\"subscribed\"", 12, LQ_EVENT_SUBSCRIBED, true, lq__on_subscribed},
    {"\"unsubscribed\"", 14, LQ_EVENT_UNSUBSCRIBED, true, lq__on_unsubscribed},
    {"\"connected\"", 11, LQ_EVENT_OPEN, false, lq__on_connected},
    {"\"error\"", 7, LQ_EVENT_ERROR, false, lq__on_error_op},
};

/* a[0..n) == b[0..n) for 4 <= n <= 16, as two overlapping fixed-size loads (no memcmp call on
   the per-event path). */
static bool lq__eq_short(const char *a, const char *b, size_t n) {
    uint64_t x[2], y[2];
    uint32_t u[2], v[2];
    if (n >= 8) {
        memcpy(&x[0], a, 8); memcpy(&x[1], a + n - 8, 8);
        memcpy(&y[0], b, 8); memcpy(&y[1], b + n - 8, 8);
        return x[0] == y[0] && x[1] == y[1];
    }
    memcpy(&u[0], a, 4); memcpy(&u[1], a + n - 4, 4);
    memcpy(&v[0], b, 4); memcpy(&v[1], b + n - 4, 4);
    return u[0] == v[0] && u[1] == v[1];
}

static const struct lq__op *lq__op_find(lq_json op) {
    size_t i, n;
    const char *raw;
    if (!lq__json_is(op, LQ_JSON_STRING)) return NULL;
    raw = op.src + op.tok->start;
    n = op.tok->len;
    for (i = 0; i < sizeof lq__ops / sizeof lq__ops[0]; i++)
        if (lq__ops[i].len == n && lq__eq_short(lq__ops[i].raw, raw, n)) return &lq__ops[i];
    return NULL;
}

/* The subscription a per-subscription op is about, or NULL when it is to be ignored. */
static lq__sub *lq__op_sub(lq_client *c, const lq__msg *m) {
    int idx;
    if (c->state != LQ_STATE_CONNECTED) {
        lq__set_error(c, 0, "server message before connected ignored");
        lq__emit_error(c, NULL, LQ_ERR_JSON, 0, false, c->errmsg);
        return NULL;
    }
    idx = lq_json_kind(m->request_id) == LQ_JSON_NUMBER ? lq__sub_index(c, lq__request_id(m->request_id)) : -1;
    if (idx < 0) lq__logf(c, LQ_LOG_DEBUG, "message for no subscription ignored");
    return idx < 0 ? NULL : c->subs[idx];
}

/* A complete text message from the server. With check_utf8 its UTF-8 has not been checked yet:
   a successful parse checks it on the way (outside strings JSON allows only ASCII), and a failed
   one is told apart from invalid UTF-8 (close 1007) by one pass of the validator. */
static void lq__on_message_utf8(lq_client *c, const char *text, size_t len, bool check_utf8) {
    lq_json root;
    lq__msg m;
    const struct lq__op *op;
    lq__sub *s = NULL;
    int got = c->ntoks ? lq__json_parse(text, len, c->toks, c->ntoks, c->max_depth, check_utf8, &root) : LQ_ERR_TOO_SMALL;
    if (got == LQ_ERR_TOO_SMALL) got = lq__parse_grown(c, &c->toks, &c->ntoks, text, len, check_utf8, &root);
    if (got < 0 && check_utf8 && !lq__utf8_valid((const unsigned char *)text, len)) {
        lq__set_error(c, 0, "text message is not UTF-8");
        lq__ws_fail(c, 1007, LQ_ERR_UTF8);
        return;
    }
    if (got < 0 || lq_json_kind(root) != LQ_JSON_OBJECT) {
        lq__set_error(c, 0, "server message ignored: %s", got < 0 ? lq_result_str((lq_result)got) : "not a JSON object");
        lq__emit_error(c, NULL, got < 0 ? (lq_result)got : LQ_ERR_JSON, 0, false, c->errmsg);
        return;
    }
    lq__msg_find(root, &m);
    op = lq__op_find(m.op);
    if (!op) {
        lq__logf(c, LQ_LOG_WARN, "message with unknown op ignored");
        return;
    }
    if (op->per_sub && (s = lq__op_sub(c, &m)) == NULL) return;
    op->handle(c, &m, s, op->type);
}

/* A message assembled in c->msg: its UTF-8 was checked frame by frame. */
static void lq__on_message(lq_client *c, const char *text, size_t len) {
    lq__on_message_utf8(c, text ? text : "", len, false);  /* an empty fragmented message has no buffer */
}

/* >>rest: the Parse REST client, HTTP/1.1 on the core's second link ------------------------------
   Requests queue in order; one is on the wire at a time, over one kept-alive connection that is
   made when a request needs it and closed after LQ__REST_IDLE_MS without one (below Node's 5 s
   keep-alive timeout, so that the server seldom closes it first; when it does, a request that got
   no byte back on a reused connection is sent once more on a new one). A response is read whole
   (Content-Length, chunked, or up to EOF), up to max_response_bytes, parsed, and given to the
   request's callback. */
#ifndef LQ_NO_REST

#define LQ__REST_IDLE_MS 4000

enum {                          /* the REST link */
    LQ__H_IDLE = 0,             /* no connection */
    LQ__H_CONNECT,              /* waiting for the caller to open one */
    LQ__H_READY,                /* connected, nothing in flight */
    LQ__H_BUSY,                 /* the head request is being sent or answered */
    LQ__H_SHUT                  /* waiting for the caller to close it */
};

enum {                          /* where the response reader is */
    LQ__RX_HEAD = 0, LQ__RX_LENGTH, LQ__RX_CHUNK_SIZE, LQ__RX_CHUNK, LQ__RX_CHUNK_END, LQ__RX_TRAILER,
    LQ__RX_EOF, LQ__RX_DONE
};

enum { LQ__R_OBJECT = 0, LQ__R_FIND };   /* what lq_response.results is: the body, or its results */

typedef struct lq__req {
    struct lq__req *next;
    uint32_t id;
    uint8_t kind;
    bool retried;               /* sent again after a reused connection closed under it */
    lq_response_fn fn;
    void *user_data;
    char *text;                 /* the whole request, head and body */
    size_t len;
} lq__req;

typedef struct lq__rest {
    lq_url url;                 /* of rest_text */
    char *url_text;
    size_t base_len;            /* of the URL's path without a trailing '/' */
    bool follow;                /* no rest_url and several endpoints: the LiveQuery link's in use */
    int link;                   /* LQ__H_* */
    bool reused;                /* this connection has answered a request before */
    bool got_bytes;             /* some of the current response has arrived */
    bool close_after;           /* the response said Connection: close (or was HTTP/1.0) */
    lq__req *head, *tail;       /* the queue; head is in flight while BUSY */
    uint32_t next_id;
    size_t sent;                /* bytes of head->text consumed */
    uint64_t deadline;          /* the head request must be answered by then (0: set at the next tick) */
    uint64_t idle_at;           /* a READY connection is closed then */
    uint32_t timeout_ms;
    size_t max_response;
    /* the response */
    int rx;
    int status;
    uint64_t left;              /* of the body (LENGTH) or the chunk (CHUNK) */
    lq__buf head_buf;           /* the status line and headers; a chunk-size or trailer line */
    lq__buf body;
    lq_json_token *toks;
    size_t ntoks;
    char msg[256];
} lq__rest;

static lq_result lq__rest_setup(lq_client *c, const lq_desc *d) {
    lq__rest *h;
    const char *src = d->rest_url ? d->rest_url : lq__endpoint(d, 0);
    h = (lq__rest *)lq__alloc(&c->a, sizeof *h);
    if (!h) return LQ_ERR_NOMEM;
    memset(h, 0, sizeof *h);
    c->rest = h;
    h->follow = !d->rest_url && c->nep > 1;
    h->url_text = lq__strdup(&c->a, src);
    if (!h->url_text) return LQ_ERR_NOMEM;
    if (lq_url_parse(h->url_text, &h->url) != LQ_OK) return LQ_ERR_URL;    /* checked in lq__desc_check */
    h->base_len = h->url.path_len;
    while (h->base_len && h->url.path[h->base_len - 1] == '/') h->base_len--;
    h->next_id = 1;
    h->timeout_ms = d->rest_timeout_ms ? d->rest_timeout_ms : LQ_DEFAULT_REST_TIMEOUT_MS;
    h->max_response = d->max_response_bytes ? d->max_response_bytes : LQ_DEFAULT_MAX_RESPONSE_BYTES;
    h->head_buf.a = h->body.a = &c->a;
    h->head_buf.limit = c->max_handshake;
    h->body.limit = h->max_response;
    return LQ_OK;
}

static void lq__rest_req_free(lq_client *c, lq__req *q) {
    lq__free(&c->a, q->text);
    lq__free(&c->a, q);
}

static void lq__rest_free(lq_client *c) {
    lq__rest *h = c->rest;
    if (!h) return;
    while (h->head) {
        lq__req *q = h->head;
        h->head = q->next;
        lq__rest_req_free(c, q);
    }
    lq__buf_free(&h->head_buf);
    lq__buf_free(&h->body);
    lq__free(&c->a, h->toks);
    lq__free(&c->a, h->url_text);
    lq__free(&c->a, h);
    c->rest = NULL;
}

/* The head request goes on the wire: a fresh response reader, the deadline from now. */
static void lq__rest_start(lq_client *c) {
    lq__rest *h = c->rest;
    h->link = LQ__H_BUSY;
    h->sent = 0;
    h->rx = LQ__RX_HEAD;
    h->status = 0;
    h->got_bytes = false;
    h->close_after = false;
    lq__buf_clear(&h->head_buf);
    lq__buf_clear(&h->body);
}

/* What to do with the link when the queue may have changed. */
static void lq__rest_next(lq_client *c) {
    lq__rest *h = c->rest;
    if (!h->head) return;
    if (h->link == LQ__H_IDLE) {
        if (h->follow) {                                    /* no rest_url: the endpoint in use */
            h->url = c->url;
            h->base_len = h->url.path_len;
            while (h->base_len && h->url.path[h->base_len - 1] == '/') h->base_len--;
        }
        h->link = LQ__H_CONNECT;
        h->deadline = 0;                                    /* from the next core call's time */
    } else if (h->link == LQ__H_READY) {
        h->deadline = 0;
        lq__rest_start(c);
    }
}

/* Takes the head request off the queue and reports r on it. */
static void lq__rest_finish(lq_client *c, lq_response *rs) {
    lq__rest *h = c->rest;
    lq__req *q = h->head;
    h->head = q->next;
    if (!h->head) h->tail = NULL;
    rs->request.id = q->id;
    rs->user_data = q->user_data;
    if (!rs->error_message) rs->error_message = "";
    if (q->fn) {
        c->in_callback++;
        q->fn(c, rs, q->user_data);
        c->in_callback--;
    }
    lq__rest_req_free(c, q);
}

/* The head request failed before a usable response: r and a message. */
static void lq__rest_fail_head(lq_client *c, lq_result r, int status, const char *msg) {
    lq_response rs;
    memset(&rs, 0, sizeof rs);
    rs.result = r;
    rs.status = status;
    rs.error_message = msg;
    lq__rest_finish(c, &rs);
}

/* The client is finished (lq_close, a fatal error): every request fails, the connection closes. */
static void lq__rest_shutdown(lq_client *c) {
    lq__rest *h = c->rest;
    if (!h) return;
    while (h->head) lq__rest_fail_head(c, LQ_ERR_CLOSED, 0, "the client is closed");
    if (h->link == LQ__H_CONNECT || h->link == LQ__H_READY || h->link == LQ__H_BUSY) h->link = LQ__H_SHUT;
}

/* The connection cannot go on (a broken response, a timeout): close it, fail the head. */
static void lq__rest_break(lq_client *c, lq_result r, const char *fmt, ...) {
    lq__rest *h = c->rest;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->msg, sizeof h->msg, fmt, ap);
    va_end(ap);
    lq__logf(c, LQ_LOG_WARN, "REST: %s", h->msg);
    h->link = LQ__H_SHUT;
    if (h->head) lq__rest_fail_head(c, r, h->status, h->msg);
}

/* Tokens for a body: the array the last response left, grown as a message's are when too small. */
static int lq__rest_parse(lq_client *c, lq_json *root) {
    lq__rest *h = c->rest;
    int got = h->toks ? lq__json_parse(h->body.data, h->body.len, h->toks, h->ntoks, c->max_depth, true, root)
                      : LQ_ERR_TOO_SMALL;
    if (got == LQ_ERR_TOO_SMALL) got = lq__parse_grown(c, &h->toks, &h->ntoks, h->body.data, h->body.len, true, root);
    return got;
}

/* A complete response: the Parse error in it, or the results, to the callback. */
static void lq__rest_deliver(lq_client *c) {
    lq__rest *h = c->rest;
    lq_response rs;
    lq_json root;
    int got;
    memset(&rs, 0, sizeof rs);
    rs.status = h->status;
    got = h->body.len ? lq__rest_parse(c, &root) : LQ_ERR_JSON;
    if (got >= 0 && h->status >= 200 && h->status < 300) {
        rs.body = root;
        rs.results = h->head->kind == LQ__R_FIND ? lq_json_get(root, "results") : root;
        rs.result = lq_json_kind(rs.results) == (h->head->kind == LQ__R_FIND ? LQ_JSON_ARRAY : LQ_JSON_OBJECT)
                        ? LQ_OK : LQ_ERR_JSON;
        if (rs.result != LQ_OK) snprintf(h->msg, sizeof h->msg, "HTTP %d with an unexpected body", h->status);
    } else if (got >= 0 && lq_json_kind(lq_json_get(root, "code")) == LQ_JSON_NUMBER) {
        rs.body = root;
        rs.result = LQ_ERR_SERVER;
        rs.error_code = (int)lq_json_int(lq_json_get(root, "code"), 0);
        lq_json_string(lq_json_get(root, "error"), h->msg, sizeof h->msg);
    } else {
        size_t i, n = h->body.len < 100 ? h->body.len : 100;
        char snip[101];
        memset(snip, 0, sizeof snip);
        for (i = 0; i < n; i++) snip[i] = (h->body.data[i] >= 0x20 && h->body.data[i] < 0x7f) ? h->body.data[i] : ' ';
        while (n && snip[n - 1] == ' ') n--;
        snip[n] = 0;
        if (got >= 0) rs.body = root;
        rs.result = h->status >= 200 && h->status < 300 ? (got == LQ_ERR_NOMEM ? LQ_ERR_NOMEM : LQ_ERR_JSON) : LQ_ERR_HTTP;
        snprintf(h->msg, sizeof h->msg, "HTTP %d%s%s", h->status, n ? ": " : "", snip);
    }
    if (rs.result != LQ_OK) rs.error_message = h->msg;
    lq__rest_finish(c, &rs);
    if (h->body.cap > (1u << 20)) lq__buf_free(&h->body);  /* give large ones back */
    if (h->ntoks > 65536) { lq__free(&c->a, h->toks); h->toks = NULL; h->ntoks = 0; }
}

/* The response is complete: deliver it, then keep the connection for the next request or close it. */
static void lq__rest_done(lq_client *c) {
    lq__rest *h = c->rest;
    h->rx = LQ__RX_DONE;
    h->link = h->close_after ? LQ__H_SHUT : LQ__H_READY;
    h->reused = true;
    h->idle_at = c->now + LQ__REST_IDLE_MS;
    lq__rest_deliver(c);
    lq__rest_next(c);
}

/* Parses a decimal or hex number of at most 15 digits (a body or chunk size); false if none. */
static bool lq__rest_num(const char *p, size_t n, int base, uint64_t *out) {
    size_t i;
    uint64_t v = 0;
    for (i = 0; i < n && i < 16; i++) {
        int d = lq__json_hexval((unsigned char)p[i]);
        if (d < 0 || d >= base) break;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    *out = v;
    return i > 0 && i < 16;
}

/* A complete head: the status, how the body is delimited, whether the connection stays. */
static void lq__rest_head(lq_client *c) {
    lq__rest *h = c->rest;
    const char *p = h->head_buf.data, *v;
    size_t n = h->head_buf.len, vn;
    uint64_t len = 0;
    const char *cl;
    int i;
    if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ') { lq__rest_break(c, LQ_ERR_PROTOCOL, "not an HTTP response"); return; }
    for (i = 9; i < 12; i++) {
        if (p[i] < '0' || p[i] > '9') { lq__rest_break(c, LQ_ERR_PROTOCOL, "bad HTTP status line"); return; }
        h->status = h->status * 10 + (p[i] - '0');
    }
    if (h->status >= 100 && h->status < 200) {              /* 100 Continue and the like: the real one follows */
        h->status = 0;
        lq__buf_clear(&h->head_buf);
        return;
    }
    h->close_after = p[7] == '0';
    if ((v = lq__hs_header(p, n, "connection", &vn)) != NULL) {
        if (lq__has_token(v, vn, "close")) h->close_after = true;
        else if (lq__has_token(v, vn, "keep-alive")) h->close_after = false;
    }
    if ((v = lq__hs_header(p, n, "transfer-encoding", &vn)) != NULL) {
        h->rx = lq__has_token(v, vn, "chunked") ? LQ__RX_CHUNK_SIZE : LQ__RX_EOF;
        if (h->rx == LQ__RX_EOF) h->close_after = true;
    } else if ((cl = lq__hs_header(p, n, "content-length", &vn)) != NULL) {
        if (!lq__rest_num(cl, vn, 10, &len) || vn > 15) {
            lq__rest_break(c, LQ_ERR_PROTOCOL, "bad Content-Length");
            return;
        }
        if (len > (uint64_t)h->max_response) {
            lq__rest_break(c, LQ_ERR_LIMIT, "a response of %llu bytes is over max_response_bytes (%lu)",
                           (unsigned long long)len, (unsigned long)h->max_response);
            return;
        }
        h->left = len;
        h->rx = LQ__RX_LENGTH;
    } else if (h->status == 204 || h->status == 304) {
        h->rx = LQ__RX_DONE;
    } else {
        h->rx = LQ__RX_EOF;
        h->close_after = true;
    }
    lq__buf_clear(&h->head_buf);
    if (h->rx == LQ__RX_DONE || (h->rx == LQ__RX_LENGTH && h->left == 0)) lq__rest_done(c);
}

/* Collects a line (head, chunk size or trailer) up to its end; returns bytes used. */
static size_t lq__rest_line(lq_client *c, const char *p, size_t n, bool *complete) {
    lq__rest *h = c->rest;
    const char *nl = (const char *)memchr(p, '\n', n);
    size_t take = nl ? (size_t)(nl - p) + 1 : n;
    lq__buf_put(&h->head_buf, p, take);
    *complete = nl != NULL;
    return take;
}

/* The body bytes of the current response; returns bytes used. */
static size_t lq__rest_body(lq_client *c, const char *p, size_t n) {
    lq__rest *h = c->rest;
    size_t take = n;
    if (h->rx != LQ__RX_EOF && (uint64_t)take > h->left) take = (size_t)h->left;
    lq__buf_put(&h->body, p, take);
    if (h->body.err != LQ_OK) {
        lq__rest_break(c, h->body.err, h->body.err == LQ_ERR_LIMIT ? "the response is over max_response_bytes (%lu)"
                                                                   : "out of memory for the response", (unsigned long)h->max_response);
        return n;
    }
    if (h->rx != LQ__RX_EOF) h->left -= take;
    return take;
}

/* One step of the chunked framing on a complete line in head_buf. */
static void lq__rest_chunk_line(lq_client *c) {
    lq__rest *h = c->rest;
    const char *p = h->head_buf.data;
    size_t n = h->head_buf.len;
    uint64_t size;
    bool empty = n <= 2 && (n == 1 || p[0] == '\r');
    if (h->rx == LQ__RX_CHUNK_END) {
        if (!empty) { lq__rest_break(c, LQ_ERR_PROTOCOL, "no CRLF after a chunk"); return; }
        h->rx = LQ__RX_CHUNK_SIZE;
    } else if (h->rx == LQ__RX_TRAILER) {
        if (empty) { lq__buf_clear(&h->head_buf); lq__rest_done(c); return; }
    } else if (!lq__rest_num(p, n, 16, &size)) {
        lq__rest_break(c, LQ_ERR_PROTOCOL, "bad chunk size");
        return;
    } else if (size > (uint64_t)h->max_response) {
        lq__rest_break(c, LQ_ERR_LIMIT, "the response is over max_response_bytes (%lu)", (unsigned long)h->max_response);
        return;
    } else {
        h->left = size;
        h->rx = size ? LQ__RX_CHUNK : LQ__RX_TRAILER;
    }
    lq__buf_clear(&h->head_buf);
}

/* Reads response bytes; returns bytes used (all, but past the end of the response). */
static size_t lq__rest_read(lq_client *c, const char *p, size_t n) {
    lq__rest *h = c->rest;
    size_t used = 0;
    while (used < n && h->link == LQ__H_BUSY && h->rx != LQ__RX_DONE) {
        bool line = false;
        if (h->rx == LQ__RX_LENGTH || h->rx == LQ__RX_CHUNK || h->rx == LQ__RX_EOF) {
            used += lq__rest_body(c, p + used, n - used);
            if (h->link != LQ__H_BUSY) break;
            if (h->rx == LQ__RX_LENGTH && h->left == 0) lq__rest_done(c);
            else if (h->rx == LQ__RX_CHUNK && h->left == 0) h->rx = LQ__RX_CHUNK_END;
            continue;
        }
        used += lq__rest_line(c, p + used, n - used, &line);
        if (h->head_buf.err != LQ_OK) {
            lq__rest_break(c, LQ_ERR_LIMIT, "response headers over %lu bytes", (unsigned long)c->max_handshake);
            break;
        }
        if (!line) continue;
        if (h->rx == LQ__RX_HEAD) {
            size_t k = h->head_buf.len;
            if (k >= 4 && memcmp(h->head_buf.data + k - 4, "\r\n\r\n", 4) == 0) lq__rest_head(c);
        } else {
            lq__rest_chunk_line(c);
        }
    }
    return used;
}

/* ---- the REST link, for the core calls ---- */

static lq_io lq__rest_io(const lq_client *c) {
    const lq__rest *h = c->rest;
    if (!h) return LQ_IO_NONE;
    if (h->link == LQ__H_CONNECT) return LQ_IO_CONNECT;
    if (h->link == LQ__H_SHUT) return LQ_IO_CLOSE;
    return LQ_IO_NONE;
}

static void lq__rest_opened(lq_client *c) {
    lq__rest *h = c->rest;
    if (!h || h->link != LQ__H_CONNECT) return;
    h->reused = false;
    if (h->deadline == 0) h->deadline = c->now + h->timeout_ms;
    if (h->head) lq__rest_start(c);
    else h->link = LQ__H_READY, h->idle_at = c->now + LQ__REST_IDLE_MS;
}

static void lq__rest_closed(lq_client *c, lq_result why) {
    lq__rest *h = c->rest;
    int was;
    if (!h || h->link == LQ__H_IDLE) return;
    was = h->link;
    h->link = LQ__H_IDLE;
    if (was == LQ__H_BUSY && h->rx == LQ__RX_EOF && why == LQ_OK) {
        h->close_after = true;                              /* the end of the stream ends this body */
        lq__rest_done(c);
        h->link = LQ__H_IDLE;                               /* closed already */
    } else if (was == LQ__H_BUSY && h->reused && !h->got_bytes && !h->head->retried && why == LQ_OK) {
        h->head->retried = true;                            /* the server closed an idle connection */
    } else if (h->head && (was == LQ__H_BUSY || was == LQ__H_CONNECT)) {
        lq_result r = why;
        const char *m = c->errmsg[0] ? c->errmsg : lq_result_str(why);
        if (why == LQ_OK && was == LQ__H_CONNECT) {
            r = LQ_ERR_CONNECT;
        } else if (why == LQ_OK) {
            r = LQ_ERR_CLOSED;
            m = "the server closed the connection before the response was complete";
        }
        snprintf(h->msg, sizeof h->msg, "%s", m);
        lq__rest_fail_head(c, r, h->status, h->msg);
    }
    if (h->link == LQ__H_IDLE) lq__rest_next(c);
}

static size_t lq__rest_feed(lq_client *c, const void *data, size_t n) {
    lq__rest *h = c->rest;
    if (!h || h->link != LQ__H_BUSY) return h && h->link == LQ__H_READY ? n : 0;   /* unasked bytes: ignored */
    if (n) h->got_bytes = true;
    return lq__rest_read(c, (const char *)data, n);
}

static const void *lq__rest_peek(const lq_client *c, size_t *len) {
    const lq__rest *h = c->rest;
    if (!h || h->link != LQ__H_BUSY || !h->head || h->sent >= h->head->len) { *len = 0; return NULL; }
    *len = h->head->len - h->sent;
    return h->head->text + h->sent;
}

static void lq__rest_consume(lq_client *c, size_t n) {
    lq__rest *h = c->rest;
    size_t left;
    if (!h || h->link != LQ__H_BUSY || !h->head) return;
    left = h->head->len - h->sent;
    h->sent += n < left ? n : left;
}

static void lq__rest_tick(lq_client *c) {
    lq__rest *h = c->rest;
    if (!h) return;
    if ((h->link == LQ__H_BUSY || h->link == LQ__H_CONNECT) && h->deadline == 0) h->deadline = c->now + h->timeout_ms;
    if ((h->link == LQ__H_BUSY || h->link == LQ__H_CONNECT) && c->now >= h->deadline)
        lq__rest_break(c, LQ_ERR_TIMEOUT, "no response within %u ms", (unsigned)h->timeout_ms);
    if (h->link == LQ__H_READY && c->now >= h->idle_at) h->link = LQ__H_SHUT;
}

static int64_t lq__rest_timeout(const lq_client *c, uint64_t now) {
    const lq__rest *h = c->rest;
    if (!h) return -1;
    if (h->link == LQ__H_SHUT) return 0;
    if (h->link == LQ__H_CONNECT || h->link == LQ__H_BUSY) return h->deadline ? lq__until(h->deadline, now) : 0;
    if (h->link == LQ__H_READY) return lq__until(h->idle_at, now);
    return -1;
}

/* ---- building requests ---- */

static bool lq__rest_name_ok(const char *s, bool id) {
    size_t i;
    if (!s || !s[0]) return false;
    for (i = 0; s[i]; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || (id && ch == '-')))
            return false;
    }
    return i < 256;
}

/* Percent-encodes a query value. */
static void lq__rest_put_query(lq__buf *b, const char *s) {
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || strchr("-_.,~", ch)) {
            lq__buf_put(b, s, 1);
        } else {
            char e[3];
            e[0] = '%'; e[1] = hex[ch >> 4]; e[2] = hex[ch & 15];
            lq__buf_put(b, e, 3);
        }
    }
}

/* A header value of printable text (a session token): no CR or LF to inject headers with. */
static bool lq__header_value_ok(const char *v) {
    size_t i;
    for (i = 0; v[i]; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) return false;
    return i < 4096;
}

static void lq__rest_header(lq__buf *b, const char *name, const char *value) {
    if (!value) return;
    lq__buf_puts(b, name);
    lq__buf_puts(b, ": ");
    lq__buf_puts(b, value);
    lq__buf_puts(b, "\r\n");
}

/* The request line's start: METHOD base-path; the caller adds the rest of the path. */
static void lq__rest_begin(lq_client *c, lq__buf *b, const char *method, const char *path) {
    lq__buf_puts(b, method);
    lq__buf_puts(b, " ");
    if (c->rest->base_len == 0 || c->rest->url.path[0] != '/') lq__buf_puts(b, "/");
    lq__buf_put(b, c->rest->url.path, c->rest->base_len);
    lq__buf_puts(b, path);
}

/* The headers after the request target, then the body; queues it. */
static lq_result lq__rest_queue(lq_client *c, lq__buf *b, const char *session, bool revocable, const lq__buf *body,
                                uint8_t kind, lq_response_fn fn, void *user_data, lq_request *out) {
    lq__rest *h = c->rest;
    const lq_url *u = &h->url;
    const char *values[6];
    lq__req *q;
    int i;
    values[0] = c->application_id; values[1] = c->javascript_key; values[2] = c->client_key;
    values[3] = c->master_key; values[4] = session; values[5] = c->installation_id;
    for (i = 0; i < 6; i++)
        if (values[i] && !lq__header_value_ok(values[i])) return LQ_ERR_INVALID_ARG;   /* no header injection */
    lq__buf_puts(b, " HTTP/1.1\r\nHost: ");
    if (u->ipv6) lq__buf_puts(b, "[");
    lq__buf_put(b, u->host, u->host_len);
    if (u->ipv6) lq__buf_puts(b, "]");
    if (u->port != (u->tls ? 443 : 80)) { lq__buf_puts(b, ":"); lq__buf_putu(b, u->port); }
    lq__buf_puts(b, "\r\nUser-Agent: livequery.h\r\n");
    lq__rest_header(b, "X-Parse-Application-Id", c->application_id);
    lq__rest_header(b, "X-Parse-JavaScript-Key", c->javascript_key);
    lq__rest_header(b, "X-Parse-Client-Key", c->client_key);
    lq__rest_header(b, "X-Parse-Master-Key", c->master_key);
    lq__rest_header(b, "X-Parse-Session-Token", session);
    lq__rest_header(b, "X-Parse-Installation-Id", c->installation_id);
    if (revocable) lq__buf_puts(b, "X-Parse-Revocable-Session: 1\r\n");
    if (c->extra_headers) lq__buf_puts(b, c->extra_headers);
    if (body) {
        lq__buf_puts(b, "Content-Type: application/json\r\nContent-Length: ");
        lq__buf_putu(b, body->len);
        lq__buf_puts(b, "\r\n\r\n");
        lq__buf_put(b, body->data, body->len);
    } else {
        lq__buf_puts(b, "\r\n");
    }
    if (b->err != LQ_OK) return b->err;
    q = (lq__req *)lq__alloc(&c->a, sizeof *q);
    if (!q) return LQ_ERR_NOMEM;
    memset(q, 0, sizeof *q);
    q->text = b->data;                                      /* the buffer's memory moves to the request */
    q->len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    q->kind = kind;
    q->fn = fn;
    q->user_data = user_data;
    q->id = h->next_id++ ^ c->tag;
    if (h->next_id == 0x01000000u) h->next_id = 1;         /* ids stay under the tag's byte */
    if (h->tail) h->tail->next = q; else h->head = q;
    h->tail = q;
    if (out) out->id = q->id;
    lq__rest_next(c);
    return LQ_OK;
}

static lq_result lq__rest_usable(const lq_client *c, lq_response_fn fn) {
    if (!c->rest) return LQ_ERR_STATE;
    if (!fn) return LQ_ERR_INVALID_ARG;
    return c->state == LQ_STATE_DISCONNECTED ? LQ_ERR_STATE : LQ_OK;
}

static void lq__buf_init(lq__buf *b, lq_client *c) {
    memset(b, 0, sizeof *b);
    b->a = &c->a;
    b->limit = c->max_outgoing;
}

/* The text built in b, NUL-terminated and taken from it; NULL (b freed) if it failed. */
static char *lq__buf_cstr(lq__buf *b) {
    lq__buf_put(b, "", 1);
    if (b->err != LQ_OK) { lq__buf_free(b); return NULL; }
    return b->data;
}

/* The find's JSON body: POST with "_method":"GET" carries the where as it is, of any size. */
static void lq__rest_find_body(lq__buf *b, const lq_find_desc *d) {
    lq__buf_puts(b, "{\"_method\":\"GET\",\"where\":");
    lq__buf_puts(b, d->where ? d->where : "{}");
    if (d->order) { lq__buf_puts(b, ",\"order\":"); lq__json_put_strz(b, d->order); }
    if (d->keys) { lq__buf_puts(b, ",\"keys\":"); lq__json_put_strz(b, d->keys); }
    if (d->include) { lq__buf_puts(b, ",\"include\":"); lq__json_put_strz(b, d->include); }
    if (d->limit) { lq__buf_puts(b, ",\"limit\":"); lq__buf_putu(b, (uint64_t)d->limit); }
    if (d->skip) { lq__buf_puts(b, ",\"skip\":"); lq__buf_putu(b, (uint64_t)d->skip); }
    if (d->count) lq__buf_puts(b, ",\"count\":1");
    lq__buf_puts(b, "}");
}

static lq_result lq__find_check(const lq_client *c, const lq_find_desc *d, bool get) {
    lq_result r;
    if (!c || !d) return LQ_ERR_INVALID_ARG;
    if ((r = lq__rest_usable(c, d->on_response)) != LQ_OK) return r;
    if (!lq__rest_name_ok(d->class_name, false) || d->limit < 0 || d->skip < 0) return LQ_ERR_INVALID_ARG;
    if (get && !lq__rest_name_ok(d->object_id, true)) return LQ_ERR_INVALID_ARG;
    if (!get && d->where && (r = lq__where_check(c, d->where)) != LQ_OK) return r;
    if ((d->order && !lq__utf8_valid((const unsigned char *)d->order, strlen(d->order))) ||
        (d->keys && !lq__utf8_valid((const unsigned char *)d->keys, strlen(d->keys))) ||
        (d->include && !lq__utf8_valid((const unsigned char *)d->include, strlen(d->include))))
        return LQ_ERR_UTF8;
    return LQ_OK;
}

lq_result lq_find(lq_client *c, const lq_find_desc *d, lq_request *out) {
    lq__buf b, body;
    lq_result r;
    if (out) out->id = 0;
    if ((r = lq__find_check(c, d, false)) != LQ_OK) return r;
    lq__buf_init(&b, c);
    lq__buf_init(&body, c);
    lq__rest_find_body(&body, d);
    lq__rest_begin(c, &b, "POST", "/classes/");
    lq__buf_puts(&b, d->class_name);
    r = body.err != LQ_OK ? body.err : lq__rest_queue(c, &b, d->session_token ? d->session_token : c->session_token,
                                                      false, &body, LQ__R_FIND, d->on_response, d->user_data, out);
    lq__buf_free(&b);
    lq__buf_free(&body);
    return r;
}

lq_result lq_get(lq_client *c, const lq_find_desc *d, lq_request *out) {
    lq__buf b;
    lq_result r;
    if (out) out->id = 0;
    if ((r = lq__find_check(c, d, true)) != LQ_OK) return r;
    lq__buf_init(&b, c);
    lq__rest_begin(c, &b, "GET", "/classes/");
    lq__buf_puts(&b, d->class_name);
    lq__buf_puts(&b, "/");
    lq__buf_puts(&b, d->object_id);
    if (d->keys) { lq__buf_puts(&b, "?keys="); lq__rest_put_query(&b, d->keys); }
    if (d->include) { lq__buf_puts(&b, d->keys ? "&include=" : "?include="); lq__rest_put_query(&b, d->include); }
    r = lq__rest_queue(c, &b, d->session_token ? d->session_token : c->session_token, false, NULL,
                       LQ__R_OBJECT, d->on_response, d->user_data, out);
    lq__buf_free(&b);
    return r;
}

lq_result lq_login(lq_client *c, const char *username, const char *password, lq_response_fn fn, void *user_data,
                   lq_request *out) {
    lq__buf b, body;
    lq_result r;
    if (out) out->id = 0;
    if (!c || !username || !password) return LQ_ERR_INVALID_ARG;
    if ((r = lq__rest_usable(c, fn)) != LQ_OK) return r;
    if (!lq__utf8_valid((const unsigned char *)username, strlen(username)) ||
        !lq__utf8_valid((const unsigned char *)password, strlen(password)))
        return LQ_ERR_UTF8;
    lq__buf_init(&b, c);
    lq__buf_init(&body, c);
    lq__buf_puts(&body, "{\"username\":");
    lq__json_put_strz(&body, username);
    lq__buf_puts(&body, ",\"password\":");
    lq__json_put_strz(&body, password);
    lq__buf_puts(&body, "}");
    lq__rest_begin(c, &b, "POST", "/login");
    r = body.err != LQ_OK ? body.err : lq__rest_queue(c, &b, NULL, true, &body, LQ__R_OBJECT, fn, user_data, out);
    lq__buf_free(&b);
    lq__buf_free(&body);
    return r;
}

lq_result lq_cancel(lq_client *c, lq_request req) {
    lq__req **pp, *q;
    if (!c || !c->rest || req.id == 0) return LQ_ERR_INVALID_ARG;
    for (pp = &c->rest->head; (q = *pp) != NULL; pp = &q->next) {
        if (q->id != req.id) continue;
        if (!q->fn) return LQ_ERR_INVALID_ARG;              /* cancelled while on the wire */
        if (q == c->rest->head && c->rest->link == LQ__H_BUSY) {
            q->fn = NULL;                                   /* on the wire: read its answer, tell nobody */
            return LQ_OK;
        }
        *pp = q->next;
        if (c->rest->tail == q) {
            lq__req *t = c->rest->head;
            while (t && t->next) t = t->next;
            c->rest->tail = t;
        }
        lq__rest_req_free(c, q);
        return LQ_OK;
    }
    return LQ_ERR_INVALID_ARG;
}

#endif /* LQ_NO_REST */

/* >>client -------------------------------------------------------------------------------------- */

static void lq__link_opened(lq_client *c) {
    lq_result r;
    c->link = LQ__L_OPEN;
    memset(&c->rx, 0, sizeof c->rx);
    r = lq__send_connect(c);
    if (r != LQ_OK) {
        lq__set_error(c, 0, "cannot send the connect message: %s", lq_result_str(r));
        lq__ws_fail(c, 1011, r);
    }
}

static uint32_t lq__backoff(lq_client *c) {
    uint32_t cap_s = c->attempt >= 31 ? 0xFFFFFFFFu : (1u << c->attempt) - 1u, r = 0;
    uint64_t cap_ms = (uint64_t)cap_s * 1000u;
    if (cap_ms > c->max_delay_ms) cap_ms = c->max_delay_ms;
    if (!c->random(&r, sizeof r, c->user_data)) r = 0x80000000u;
    return (uint32_t)((cap_ms * r) >> 32);
}

/* The CLOSE owed after lq_close or a fatal error, once the link is down. */
static void lq__report_close(lq_client *c) {
    lq_event ev;
    if (!c->report_close || c->link != LQ__L_IDLE || c->in_callback) return;
    c->report_close = false;
    lq__reap(c);
    memset(&ev, 0, sizeof ev);
    ev.type = LQ_EVENT_CLOSE;
    ev.close_code = 1000;
    lq__emit(c, &ev);
}

/* The transport is gone: report, then reconnect or stop. */
static void lq__link_lost(lq_client *c) {
    lq_event ev;
    int i;
    int code = c->got_close ? c->close_code : 1006;
    lq_result why = c->fail;
    bool was_open = c->client_id[0] != 0;
    c->link = LQ__L_IDLE;
    lq__buf_clear(&c->out);
    lq__buf_clear(&c->hs);
    c->hs_status = 0;
    lq__buf_clear(&c->msg);
    c->sent_connect = false;
    c->got_close = false;
    c->fail = LQ_OK;
    c->client_id[0] = 0;
    if (c->state == LQ_STATE_DISCONNECTED) {               /* closed on purpose: UNSUBSCRIBED, CLOSE */
        c->report_close = true;
        lq__report_close(c);
        return;
    }
    if (why != LQ_OK && why != LQ_ERR_SERVER)               /* a local failure: the detail is in errdetail */
        lq__emit_error(c, NULL, why, 0, c->no_reconnect, c->errmsg);
    if (c->no_reconnect && c->state != LQ_STATE_DISCONNECTED) {
        lq__kill_all(c);
        c->state = LQ_STATE_DISCONNECTED;
    }
    if (c->state == LQ_STATE_DISCONNECTED) lq__reap(c);     /* for good (or closed by the ERROR callback): */
    memset(&ev, 0, sizeof ev);                              /* UNSUBSCRIBED each, then CLOSE */
    ev.type = LQ_EVENT_CLOSE;
    ev.close_code = code;
    ev.result = why;
    lq__emit(c, &ev);
    c->report_close = false;                                /* reported, even if a callback closed */
    if (c->state == LQ_STATE_DISCONNECTED) return;          /* the callback closed the client */
    for (i = 0; i < c->nsubs; i++) {
        lq__sub *s = c->subs[i];
        bool unsubscribed = s->state == LQ__S_UNSUB || s->state == LQ__S_UNSUB_SENT ||
                            (s->state == LQ__S_SENT && s->after == LQ__AFTER_UNSUB);
        if (unsubscribed) lq__sub_set(c, s, LQ__S_DEAD);
        else if (s->state == LQ__S_SENT || s->state == LQ__S_LIVE) { s->update = false; lq__sub_set(c, s, LQ__S_PENDING); }
        else if (s->state == LQ__S_PENDING) s->update = false;
        s->after = LQ__AFTER_NONE;                          /* a new link sends the current query */
    }
    c->attempt++;
    if (!was_open) lq__endpoint_next(c);                    /* a link that was up retries its endpoint first */
    c->state = LQ_STATE_RECONNECTING;
    memset(&ev, 0, sizeof ev);
    ev.type = LQ_EVENT_RECONNECTING;
    ev.attempt = c->attempt;
    ev.delay_ms = lq__backoff(c);
    c->reconnect_at = c->now + ev.delay_ms;
    lq__emit(c, &ev);
}

static void lq__start_connect(lq_client *c) {
    c->state = LQ_STATE_CONNECTING;
    c->link = LQ__L_CONNECT;
    c->connect_deadline = c->now + c->connect_timeout_ms;
    c->errmsg[0] = 0;
    c->errdetail = 0;
}

lq_result lq_open(lq_client *c) {
    if (!c) return LQ_ERR_INVALID_ARG;
    if (c->state == LQ_STATE_DISCONNECTED) return LQ_ERR_STATE;
    if (c->state == LQ_STATE_INITIALIZED) lq__start_connect(c);
    return LQ_OK;
}

lq_result lq_close(lq_client *c) {
    if (!c) return LQ_ERR_INVALID_ARG;
    if (c->state == LQ_STATE_DISCONNECTED) return LQ_OK;
    lq__shutdown(c);
    return LQ_OK;
}

/* A failed link waits only until its Close frame is out. */
static bool lq__shut_now(const lq_client *c) {
    return c->link == LQ__L_SHUT || (c->link == LQ__L_DRAIN && c->fail != LQ_OK && c->out.len == 0);
}

/* DONE: the WebSocket's part is finished (the REST link may still close its connection). */
static lq_io lq__ws_io(const lq_client *c) {
    if (c->link == LQ__L_CONNECT) return LQ_IO_CONNECT;
    if (lq__shut_now(c)) return LQ_IO_CLOSE;
    if (c->state == LQ_STATE_DISCONNECTED && c->link == LQ__L_IDLE && !c->report_close && !c->reap) return LQ_IO_DONE;
    return LQ_IO_NONE;
}

lq_io lq_core_io(const lq_client *c) {
    lq_io io = lq__ws_io(c);
#ifndef LQ_NO_REST
    if (io == LQ_IO_DONE && c->rest && c->rest->link != LQ__H_IDLE) return LQ_IO_NONE;
#endif
    return io;
}

void lq_core_opened(lq_client *c, uint64_t now_ms) {
    lq_result r;
    c->now = now_ms;
    if (c->link != LQ__L_CONNECT) return;
    c->link = LQ__L_HANDSHAKE;
    c->last_rx = c->last_tx = now_ms;
    lq__buf_clear(&c->hs);
    c->hs_status = 0;
    lq__buf_clear(&c->out);
    r = lq__hs_request(c);
    if (r != LQ_OK) {
        /* a failed random source (LQ_ERR_IO) has said so: keep its message and result */
        if (r != LQ_ERR_IO) lq__set_error(c, 0, "cannot build the upgrade request: %s", lq_result_str(r));
        c->fail = r;
        c->link = LQ__L_SHUT;
    }
}

void lq_core_closed(lq_client *c, lq_result why, int detail, uint64_t now_ms) {
    c->now = now_ms;
    if (c->link == LQ__L_IDLE) return;
    if (c->link == LQ__L_HANDSHAKE && c->hs_status && c->fail == LQ_OK) lq__hs_refused(c);
    if (c->fail == LQ_OK && why != LQ_OK) {
        c->fail = why;
        if (detail || !c->errmsg[0]) { c->errdetail = detail; if (!c->errmsg[0]) snprintf(c->errmsg, sizeof c->errmsg, "%s", lq_result_str(why)); }
    } else if (c->fail == LQ_OK && c->link < LQ__L_OPEN) {
        c->fail = LQ_ERR_HANDSHAKE;
        lq__set_error(c, 0, "connection closed during the handshake");
    }
    lq__link_lost(c);
    lq__reap(c);
}

size_t lq_core_feed(lq_client *c, const void *data, size_t len, uint64_t now_ms) {
    const unsigned char *p = (const unsigned char *)data;
    size_t used = 0;
    c->now = now_ms;
    if (len) c->last_rx = now_ms;
    if (c->link == LQ__L_HANDSHAKE) used += lq__hs_read(c, p, len);
    if (c->link == LQ__L_OPEN || c->link == LQ__L_CLOSING) used += lq__ws_read(c, p + used, len - used);
    if (c->link == LQ__L_DRAIN && c->fail == LQ_OK) used = len;     /* after a clean Close: discard */
    lq__pump(c);
    lq__reap(c);
    return used;
}

const void *lq_core_peek(const lq_client *c, size_t *len) {
    bool can = c->link >= LQ__L_HANDSHAKE && c->link <= LQ__L_DRAIN;
    *len = can ? c->out.len : 0;
    return can && c->out.len ? c->out.data : NULL;
}

void lq_core_consume(lq_client *c, size_t n) {
    if (n > c->out.len) n = c->out.len;
    lq__buf_drop_front(&c->out, n);
    if (n) c->last_tx = c->now;
    lq__pump(c);
}

void lq_core_tick(lq_client *c, uint64_t now_ms) {
    LQ_ASSERT(c->in_callback == 0 && "lq_step or lq_core_tick inside an event callback");
    c->now = now_ms;
    if (c->state == LQ_STATE_INITIALIZED) lq__start_connect(c);
    if (c->state == LQ_STATE_RECONNECTING && c->link == LQ__L_IDLE && now_ms >= c->reconnect_at) lq__start_connect(c);
    if (c->state == LQ_STATE_CONNECTING && c->link != LQ__L_IDLE && now_ms >= c->connect_deadline &&
        c->link < LQ__L_DRAIN) {
        if (c->link == LQ__L_HANDSHAKE && c->hs_status) {
            lq__hs_refused(c);                              /* the status is the news, not the time */
        } else {
            lq__set_error(c, 0, "no connected answer within %u ms", (unsigned)c->connect_timeout_ms);
            lq__ws_fail(c, 1000, LQ_ERR_TIMEOUT);
        }
    }
    if (c->link == LQ__L_OPEN && now_ms - c->last_rx >= c->dead_link_ms) {
        lq__set_error(c, 0, "nothing received for %u ms: link dead", (unsigned)c->dead_link_ms);
        c->fail = LQ_ERR_TIMEOUT;
        c->link = LQ__L_SHUT;                               /* a dead peer reads no Close */
    }
    if (c->link == LQ__L_OPEN && c->ping_interval_ms && now_ms - c->last_tx >= c->ping_interval_ms &&
        c->out.len == 0) {
        lq__ws_frame(c, 9, NULL, 0);
        c->last_tx = now_ms;
    }
    if ((c->link == LQ__L_CLOSING || c->link == LQ__L_DRAIN) && now_ms >= c->drain_deadline) c->link = LQ__L_SHUT;
    if (lq__shut_now(c)) c->link = LQ__L_SHUT;
    lq__report_close(c);
    lq__pump(c);
    lq__reap(c);
#ifndef LQ_NO_REST
    lq__rest_tick(c);
    lq__views_tick(c);
#endif
}

static int64_t lq__ws_timeout(const lq_client *c, uint64_t now_ms) {
    int64_t t = -1;
    if (c->reap || c->report_close || c->state == LQ_STATE_INITIALIZED || lq__shut_now(c)) return 0;
    if (c->state == LQ_STATE_RECONNECTING && c->link == LQ__L_IDLE) t = lq__until(c->reconnect_at, now_ms);
    if (c->state == LQ_STATE_CONNECTING && c->link != LQ__L_IDLE && c->link < LQ__L_DRAIN)   /* as lq_core_tick */
        t = lq__min_timer(t, lq__until(c->connect_deadline, now_ms));
    if (c->link == LQ__L_OPEN) {
        t = lq__min_timer(t, lq__until(c->last_rx + c->dead_link_ms, now_ms));
        if (c->ping_interval_ms && !c->out.len)             /* a ping waits for queued output */
            t = lq__min_timer(t, lq__until(c->last_tx + c->ping_interval_ms, now_ms));
    }
    if (c->link == LQ__L_CLOSING || c->link == LQ__L_DRAIN) t = lq__min_timer(t, lq__until(c->drain_deadline, now_ms));
    return t;
}

int64_t lq_core_timeout(const lq_client *c, uint64_t now_ms) {
    int64_t t = lq__ws_timeout(c, now_ms);
#ifndef LQ_NO_REST
    t = lq__min_timer(t, lq__rest_timeout(c, now_ms));
    t = lq__min_timer(t, lq__views_timeout(c, now_ms));
#endif
    return t;
}

/* ---- the links ---- */

lq_io lq_core_link_io(const lq_client *c, lq_link link) {
    if (link == LQ_LINK_LIVEQUERY) return lq_core_io(c);
#ifndef LQ_NO_REST
    if (link == LQ_LINK_REST && lq__rest_io(c) != LQ_IO_NONE) return lq__rest_io(c);
#endif
    return lq__ws_io(c) == LQ_IO_DONE ? LQ_IO_DONE : LQ_IO_NONE;
}

const lq_url *lq_core_link_url(const lq_client *c, lq_link link) {
    if (!c) return NULL;
    if (link == LQ_LINK_LIVEQUERY) return &c->url;
#ifndef LQ_NO_REST
    if (link == LQ_LINK_REST && c->rest) return &c->rest->url;
#endif
    return NULL;
}

void lq_core_link_opened(lq_client *c, lq_link link, uint64_t now_ms) {
    if (link == LQ_LINK_LIVEQUERY) { lq_core_opened(c, now_ms); return; }
    c->now = now_ms;
#ifndef LQ_NO_REST
    if (link == LQ_LINK_REST) lq__rest_opened(c);
#endif
}

void lq_core_link_closed(lq_client *c, lq_link link, lq_result why, int detail, uint64_t now_ms) {
    if (link == LQ_LINK_LIVEQUERY) { lq_core_closed(c, why, detail, now_ms); return; }
    c->now = now_ms;
#ifndef LQ_NO_REST
    if (link == LQ_LINK_REST) lq__rest_closed(c, why);
#endif
    (void)detail;
}

size_t lq_core_link_feed(lq_client *c, lq_link link, const void *data, size_t len, uint64_t now_ms) {
    if (link == LQ_LINK_LIVEQUERY) return lq_core_feed(c, data, len, now_ms);
    c->now = now_ms;
#ifndef LQ_NO_REST
    if (link == LQ_LINK_REST) return lq__rest_feed(c, data, len);
#endif
    (void)data;
    return len;
}

const void *lq_core_link_peek(const lq_client *c, lq_link link, size_t *len) {
    if (link == LQ_LINK_LIVEQUERY) return lq_core_peek(c, len);
#ifndef LQ_NO_REST
    if (link == LQ_LINK_REST) return lq__rest_peek(c, len);
#endif
    *len = 0;
    return NULL;
}

void lq_core_link_consume(lq_client *c, lq_link link, size_t n) {
    if (link == LQ_LINK_LIVEQUERY) { lq_core_consume(c, n); return; }
#ifndef LQ_NO_REST
    if (link == LQ_LINK_REST) lq__rest_consume(c, n);
#endif
}

/* >>api ----------------------------------------------------------------------------------------- */

#ifndef LQ_NO_SOCKETS
static bool lq__os_random(void *buf, size_t len, void *user);
static lq_result lq__transport_setup(lq_client *c, const lq_desc *d);
static void lq__transport_free(lq_client *c);
static const char *lq__proxy_check(const char *url);
static lq_result lq__proxy_setup(lq_client *c, const char *url);
#endif

static bool lq__header_ok(const char *h) {
    static const char *const reserved[] = {"host", "upgrade", "connection", "sec-websocket-key",
        "sec-websocket-version", "sec-websocket-extensions", "sec-websocket-protocol", "content-length"};
    const char *colon = strchr(h, ':');
    size_t i;
    if (!colon || colon == h) return false;
    for (i = 0; h + i < colon; i++)
        if (!strchr("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", h[i])) return false;
    for (i = 0; h[i]; i++)
        if ((unsigned char)h[i] < 0x20 && h[i] != '\t') return false;     /* CR, LF: header injection */
    for (i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (lq__ieq(h, (size_t)(colon - h), reserved[i])) return false;
    return true;
}

static lq_result lq__copy_str(lq_client *c, char **dst, const char *src) {
    if (!src) return LQ_OK;
    if (!lq__utf8_valid((const unsigned char *)src, strlen(src))) return LQ_ERR_UTF8;
    *dst = lq__strdup(&c->a, src);
    return *dst ? LQ_OK : LQ_ERR_NOMEM;
}

/* Why lq_client_create failed, through desc.log: there is no client to ask. */
static lq_result lq__create_fail(const lq_desc *d, lq_result r, const char *fmt, ...) {
    char line[320];
    va_list ap;
    if (!d || !d->log) return r;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    d->log(LQ_LOG_ERROR, line, d->user_data);
    return r;
}

#ifndef LQ_NO_SOCKETS
/* A base64 SHA-256 digest: 43 characters of the alphabet and one '='. */
#ifndef LQ_NO_SOCKETS
static bool lq__dns_servers_ok(const char *s);     /* >>dns */
#endif
static bool lq__pin_valid(const char *pin) {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    int i;
    if (!pin || strlen(pin) != 44 || pin[43] != '=') return false;
    for (i = 0; i < 43; i++)
        if (!strchr(alphabet, pin[i])) return false;
    return true;
}

static lq_result lq__copy_pins(lq_client *c, const lq_desc *d) {
    int i;
    if (!d->num_tls_pin_sha256) return LQ_OK;
    c->pins = (char *)lq__alloc(&c->a, (size_t)d->num_tls_pin_sha256 * 45);
    if (!c->pins) return LQ_ERR_NOMEM;
    for (i = 0; i < d->num_tls_pin_sha256; i++) memcpy(c->pins + 45 * i, d->tls_pin_sha256[i], 45);
    c->num_pins = d->num_tls_pin_sha256;
    return LQ_OK;
}
#endif

/* Checks what can be checked before anything is allocated. */
/* Every endpoint parses, and all are TLS or none is; url: the first. */
static lq_result lq__endpoints_check(const lq_desc *d, lq_url *url) {
    int i, n = lq__endpoint_count(d);
    bool tls = false;
    memset(url, 0, sizeof *url);
    for (i = 0; i < n; i++) {
        const char *s = lq__endpoint(d, i);
        lq_url u;
        lq_result r;
        int at = d->server_url ? i - 1 : i;
        if (!s) return lq__create_fail(d, LQ_ERR_INVALID_ARG, "desc.server_urls[%d] is NULL", at);
        r = lq_url_parse(s, &u);
        if (r != LQ_OK && d->server_url && i == 0)
            return lq__create_fail(d, r, "desc.server_url \"%.200s\": %s", s, u.error);
        if (r != LQ_OK) return lq__create_fail(d, r, "desc.server_urls[%d] \"%.200s\": %s", at, s, u.error);
        if (i == 0) { *url = u; tls = u.tls; }
        else if (u.tls != tls)
            return lq__create_fail(d, LQ_ERR_INVALID_ARG, "the endpoints mix TLS and plain URLs (\"%.200s\" and \"%.200s\"): "
                                   "use one kind", lq__endpoint(d, 0), s);
    }
    return LQ_OK;
}

static lq_result lq__desc_check(const lq_desc *d, lq_url *url) {
    lq_result r;
    int i;
    if (!d) return LQ_ERR_INVALID_ARG;
    if (d->num_server_urls < 0 || (d->num_server_urls && !d->server_urls))
        return lq__create_fail(d, LQ_ERR_INVALID_ARG, "desc.num_server_urls is %d with server_urls %s",
                               d->num_server_urls, d->server_urls ? "set" : "NULL");
    if (!d->server_url && !d->num_server_urls)
        return lq__create_fail(d, LQ_ERR_INVALID_ARG, "desc.server_url (or server_urls) is required");
    if (!d->application_id) return lq__create_fail(d, LQ_ERR_INVALID_ARG, "desc.application_id is required");
    if (d->num_extra_headers < 0 || (d->num_extra_headers && !d->extra_headers))
        return lq__create_fail(d, LQ_ERR_INVALID_ARG, "desc.num_extra_headers is %d with extra_headers %s",
                               d->num_extra_headers, d->extra_headers ? "set" : "NULL");
    if (!d->allocator.alloc != !d->allocator.free)
        return lq__create_fail(d, LQ_ERR_INVALID_ARG, "desc.allocator needs both alloc and free");
#ifdef LQ_NO_SOCKETS
    if (!d->random) return lq__create_fail(d, LQ_ERR_INVALID_ARG, "desc.random is required with LQ_NO_SOCKETS");
#endif
    r = lq__endpoints_check(d, url);
    if (r != LQ_OK) return r;
#ifndef LQ_NO_REST
    if (d->rest_url) {
        lq_url ru;
        r = lq_url_parse(d->rest_url, &ru);
        if (r != LQ_OK) return lq__create_fail(d, r, "desc.rest_url \"%.200s\": %s", d->rest_url, ru.error);
#if !defined(LQ_NO_SOCKETS) && !defined(LQ__TLS_BACKEND)
        if (ru.tls && !(d->transport && d->transport->tls))
            return lq__create_fail(d, LQ_ERR_TLS_UNAVAILABLE, "%.200s needs TLS: define LQ_USE_MBEDTLS, "
                                   "LQ_USE_OPENSSL or LQ_USE_SCHANNEL, or give a desc.transport that does TLS (tls = true)", d->rest_url);
#endif
    }
#endif
#if !defined(LQ_NO_SOCKETS) && !defined(LQ__TLS_BACKEND)
    if (url->tls && !(d->transport && d->transport->tls))
        return lq__create_fail(d, LQ_ERR_TLS_UNAVAILABLE, "%.200s needs TLS: define LQ_USE_MBEDTLS, LQ_USE_OPENSSL or "
                               "LQ_USE_SCHANNEL, or give a desc.transport that does TLS (tls = true)", lq__endpoint(d, 0));
#endif
#ifndef LQ_NO_SOCKETS
    if (d->num_tls_pin_sha256 < 0 || (d->num_tls_pin_sha256 && !d->tls_pin_sha256))
        return lq__create_fail(d, LQ_ERR_INVALID_ARG, "desc.num_tls_pin_sha256 is %d with tls_pin_sha256 %s",
                               d->num_tls_pin_sha256, d->tls_pin_sha256 ? "set" : "NULL");
#ifndef LQ__TLS_BACKEND
    if (d->num_tls_pin_sha256)
        return lq__create_fail(d, LQ_ERR_TLS_UNAVAILABLE, "desc.tls_pin_sha256 needs a TLS backend (LQ_USE_MBEDTLS, LQ_USE_OPENSSL or LQ_USE_SCHANNEL)");
#endif
    for (i = 0; i < d->num_tls_pin_sha256; i++)
        if (!lq__pin_valid(d->tls_pin_sha256[i]))
            return lq__create_fail(d, LQ_ERR_INVALID_ARG, "desc.tls_pin_sha256[%d] is not the base64 of a SHA-256 "
                                   "digest (44 characters ending in '=')", i);
    if (d->dns_servers && !lq__dns_servers_ok(d->dns_servers))
        return lq__create_fail(d, LQ_ERR_INVALID_ARG, "desc.dns_servers \"%.200s\" is not up to 3 numeric addresses "
                               "(\"ip\", \"ip:port\" or \"[ipv6]:port\") separated by spaces or commas", d->dns_servers);
    if (d->proxy_url && *d->proxy_url) {
        const char *why = lq__proxy_check(d->proxy_url);        /* not echoed: it may hold a password */
        if (why) return lq__create_fail(d, LQ_ERR_URL, "desc.proxy_url: %s", why);
        if (d->transport && d->transport->tls)
            return lq__create_fail(d, LQ_ERR_INVALID_ARG, "desc.proxy_url needs a desc.transport that carries plain "
                                   "bytes (tls = false): the CONNECT comes before TLS");
    }
#else
    if (d->proxy_url && *d->proxy_url)
        return lq__create_fail(d, LQ_ERR_INVALID_ARG, "desc.proxy_url needs the socket layer (with LQ_NO_SOCKETS "
                               "your own I/O makes the connections)");
#endif
    for (i = 0; i < d->num_extra_headers; i++)
        if (!d->extra_headers[i] || !lq__header_ok(d->extra_headers[i]))
            return lq__create_fail(d, LQ_ERR_INVALID_ARG, "desc.extra_headers[%d] is not a \"Name: value\" header "
                                   "of printable text, or names one the library sets", i);
    return LQ_OK;
}

/* The endpoints, copied and parsed; the first is in use. */
static lq_result lq__endpoints_copy(lq_client *c, const lq_desc *d) {
    int i, n = lq__endpoint_count(d);
    c->ep_text = (char **)lq__alloc(&c->a, (size_t)n * sizeof *c->ep_text);
    c->ep = (lq_url *)lq__alloc(&c->a, (size_t)n * sizeof *c->ep);
    if (!c->ep_text || !c->ep) return LQ_ERR_NOMEM;
    memset(c->ep_text, 0, (size_t)n * sizeof *c->ep_text);
    c->nep = n;
    for (i = 0; i < n; i++) {
        c->ep_text[i] = lq__strdup(&c->a, lq__endpoint(d, i));
        if (!c->ep_text[i]) return LQ_ERR_NOMEM;
        if (lq_url_parse(c->ep_text[i], &c->ep[i]) != LQ_OK) return LQ_ERR_URL;     /* checked before */
    }
    c->url = c->ep[0];
    return LQ_OK;
}

/* Copies the desc's strings; a failure names the field. */
static lq_result lq__copy_strings(lq_client *c, const lq_desc *d) {
    struct { const char *name, *src; char **dst; } f[10];
    lq_result r = LQ_OK;
    int i, n = 0;
#define LQ__FIELD(field, to) f[n].name = #field; f[n].src = d->field; f[n].dst = &c->to; n++;
    LQ__FIELD(server_url, url_text) LQ__FIELD(application_id, application_id)
    LQ__FIELD(javascript_key, javascript_key) LQ__FIELD(client_key, client_key)
    LQ__FIELD(master_key, master_key) LQ__FIELD(session_token, session_token)
    LQ__FIELD(installation_id, installation_id)
#ifndef LQ_NO_SOCKETS
    LQ__FIELD(tls_ca_file, tls_ca_file) LQ__FIELD(tls_ca_pem, tls_ca_pem)
    LQ__FIELD(dns_servers, dns_servers)
#endif
#undef LQ__FIELD
    for (i = 0; i < n && r == LQ_OK; i++) {
        r = lq__copy_str(c, f[i].dst, f[i].src);
        if (r == LQ_ERR_UTF8) return lq__create_fail(d, r, "desc.%s is not UTF-8", f[i].name);
    }
    return r;
}

lq_result lq_client_create(const lq_desc *d, lq_client **out) {
    lq_client *c;
    lq_allocator a;
    lq_result r;
    lq_url url;
    uint32_t tag;
    unsigned char t[4];
    int i;
    if (!out) return lq__create_fail(d, LQ_ERR_INVALID_ARG, "lq_client_create: out is NULL");
    *out = NULL;
    r = lq__desc_check(d, &url);
    if (r != LQ_OK) return r;
    a.alloc = d->allocator.alloc ? d->allocator.alloc : lq__default_alloc;
    a.free = d->allocator.free ? d->allocator.free : lq__default_free;
    a.user_data = d->allocator.alloc ? d->allocator.user_data : NULL;
    c = (lq_client *)lq__alloc(&a, sizeof *c);
    if (!c) return lq__create_fail(d, LQ_ERR_NOMEM, "out of memory for the client");
    memset(c, 0, sizeof *c);
    c->a = a;
    c->on_event = d->on_event;
    c->user_data = d->user_data;
    c->random = d->random;
    c->log = d->log;
    c->resolve = d->resolve;
    c->resolve_async = d->resolve_async;
#ifndef LQ_NO_SOCKETS
    c->tls_insecure = d->tls_insecure_skip_verify_for_tests_only;
    if (!c->random) c->random = lq__os_random;
#endif
    /* The handles' tag: 4 bytes of the random source, so that a client made where a destroyed
       one was does not inherit its tag (two clients share one 1 time in 255). If the source
       fails, the client's address stands in. */
    if (c->random(t, sizeof t, c->user_data))
        tag = (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
    else
        tag = (uint32_t)(((uint64_t)(uintptr_t)c >> 4) * 0x9E3779B97F4A7C15u >> 32);
    c->tag = (tag % 255u + 1u) << 24;                       /* a top byte of 1..255 */
    c->use_fields = d->use_fields;
    c->no_reconnect = d->no_reconnect;
    c->connect_timeout_ms = d->connect_timeout_ms ? d->connect_timeout_ms : LQ_DEFAULT_CONNECT_TIMEOUT_MS;
    c->dead_link_ms = d->dead_link_ms ? d->dead_link_ms : LQ_DEFAULT_DEAD_LINK_MS;
    c->ping_interval_ms = d->ping_interval_ms;
    c->close_timeout_ms = d->close_timeout_ms ? d->close_timeout_ms : LQ_DEFAULT_CLOSE_TIMEOUT_MS;
    c->max_delay_ms = d->max_reconnect_delay_ms ? d->max_reconnect_delay_ms : LQ_DEFAULT_MAX_RECONNECT_DELAY_MS;
    c->max_message = d->max_message_bytes ? d->max_message_bytes : LQ_DEFAULT_MAX_MESSAGE_BYTES;
    c->max_handshake = d->max_handshake_bytes ? d->max_handshake_bytes : LQ_DEFAULT_MAX_HANDSHAKE_BYTES;
    c->max_outgoing = d->max_outgoing_bytes ? d->max_outgoing_bytes : LQ_DEFAULT_MAX_OUTGOING_BYTES;
    c->max_depth = d->max_json_depth > 0 ? d->max_json_depth : LQ_DEFAULT_MAX_JSON_DEPTH;
    c->max_subs = d->max_subscriptions > 0 ? d->max_subscriptions : LQ_DEFAULT_MAX_SUBSCRIPTIONS;
    if (c->max_message > 0xFFFFFFFEu) c->max_message = 0xFFFFFFFEu;
    c->hs.a = c->msg.a = c->out.a = c->tmp.a = &c->a;
    c->hs.limit = c->max_handshake + 128;                  /* the head, then up to 100 bytes of an error body */
    c->msg.limit = c->max_message;
    c->out.limit = c->max_outgoing;
    c->tmp.limit = c->max_outgoing;
    c->next_id = 1;
    r = lq__copy_strings(c, d);
    if (r == LQ_OK && d->num_extra_headers) {
        lq__buf h;
        memset(&h, 0, sizeof h);
        h.a = &c->a;
        h.limit = c->max_handshake;
        for (i = 0; i < d->num_extra_headers; i++) {
            lq__buf_puts(&h, d->extra_headers[i]);
            lq__buf_puts(&h, "\r\n");
        }
        lq__buf_put(&h, "", 1);                             /* the NUL */
        r = h.err;
        if (r == LQ_OK) c->extra_headers = h.data;
        else lq__buf_free(&h);
        if (r == LQ_ERR_LIMIT) lq__create_fail(d, r, "desc.extra_headers are over max_handshake_bytes");
    }
    if (r == LQ_OK) r = lq__endpoints_copy(c, d);
#ifndef LQ_NO_REST
    if (r == LQ_OK) r = lq__rest_setup(c, d);
#endif
#ifndef LQ_NO_SOCKETS
    if (r == LQ_OK) r = lq__copy_pins(c, d);
    if (r == LQ_OK) r = lq__proxy_setup(c, d->proxy_url);
    if (r == LQ_OK) r = lq__transport_setup(c, d);
#endif
    if (r != LQ_OK) {
        if (r == LQ_ERR_NOMEM) lq__create_fail(d, r, "out of memory");
        else if (c->errmsg[0]) lq__create_fail(d, r, "%s", c->errmsg);
        lq_client_destroy(c);
        return r;
    }
    *out = c;
    return LQ_OK;
}

void lq_client_destroy(lq_client *c) {
    int i;
    if (!c) return;
    LQ_ASSERT(c->in_callback == 0 && "lq_client_destroy inside an event callback");
#ifndef LQ_NO_SOCKETS
    lq__transport_free(c);
    lq__free(&c->a, c->tls_ca_file);
    lq__free(&c->a, c->tls_ca_pem);
    lq__free(&c->a, c->pins);
    lq__free(&c->a, c->dns_servers);
#endif
#ifndef LQ_NO_REST
    lq__views_free(c);
    lq__rest_free(c);
#endif
    for (i = 0; i < c->nsubs; i++) {
        lq__free(&c->a, c->subs[i]->body);
        lq__free(&c->a, c->subs[i]);
    }
    lq__free(&c->a, c->subs);
    lq__buf_free(&c->hs);
    lq__buf_free(&c->msg);
    lq__buf_free(&c->out);
    lq__buf_free(&c->tmp);
    lq__free(&c->a, c->toks);
    lq__free(&c->a, c->url_text);
    for (i = 0; c->ep_text && i < c->nep; i++) lq__free(&c->a, c->ep_text[i]);
    lq__free(&c->a, c->ep_text);
    lq__free(&c->a, c->ep);
    lq__free(&c->a, c->application_id);
    lq__free(&c->a, c->javascript_key);
    lq__free(&c->a, c->client_key);
    lq__free(&c->a, c->master_key);
    lq__free(&c->a, c->session_token);
    lq__free(&c->a, c->installation_id);
    lq__free(&c->a, c->extra_headers);
    lq__free(&c->a, c);
}

/* A query body, copied into an exact-size allocation. */
static lq_result lq__make_body(lq_client *c, const lq_query *q, char **body, size_t *len, lq__shape *sh) {
    lq_result r;
    lq__buf_clear(&c->tmp);
    r = lq__query_body(c, q, &c->tmp, sh, len);
    if (r != LQ_OK) return r;
    if (sh->extra_end + 64 > c->max_outgoing) return LQ_ERR_LIMIT;
    *body = (char *)lq__alloc(&c->a, c->tmp.len);
    if (!*body) return LQ_ERR_NOMEM;
    memcpy(*body, c->tmp.data, c->tmp.len);
    return LQ_OK;
}

lq_result lq_subscribe(lq_client *c, const lq_query *q, lq_sub *out) {
    lq__sub *s;
    lq_result r;
    if (out) out->id = 0;
    if (!c || !q) return LQ_ERR_INVALID_ARG;
    if (c->state == LQ_STATE_DISCONNECTED) return LQ_ERR_STATE;
    if ((uint32_t)c->next_id == c->tag) c->next_id++;       /* its handle would be 0 */
    if (c->nsubs >= c->max_subs || c->next_id == INT32_MAX) return LQ_ERR_LIMIT;
    if (c->nsubs == c->capsubs) {
        int cap = c->capsubs ? c->capsubs * 2 : 8;
        lq__sub **n = (lq__sub **)lq__alloc(&c->a, (size_t)cap * sizeof *n);
        if (!n) return LQ_ERR_NOMEM;
        if (c->nsubs) memcpy(n, c->subs, (size_t)c->nsubs * sizeof *n);
        lq__free(&c->a, c->subs);
        c->subs = n;
        c->capsubs = cap;
    }
    s = (lq__sub *)lq__alloc(&c->a, sizeof *s);
    if (!s) return LQ_ERR_NOMEM;
    memset(s, 0, sizeof *s);
    r = lq__make_body(c, q, &s->body, &s->body_len, &s->sh);
    if (r != LQ_OK) {
        lq__free(&c->a, s);
        return r;
    }
    s->id = c->next_id++;
    s->user_data = q->user_data;
    s->state = LQ__S_DEAD;                                  /* so that lq__sub_set counts it */
    c->subs[c->nsubs++] = s;
    lq__sub_set(c, s, LQ__S_PENDING);
    if (out) *out = lq__handle(c, s);
    lq__pump(c);
    return LQ_OK;
}

/* The subscription a handle names, until its UNSUBSCRIBED has been reported; NULL for any other
   handle. Only the number is used: nothing the caller holds is dereferenced. */
static lq__sub *lq__sub_find(const lq_client *c, lq_sub h) {
    uint32_t id;
    int i;
    if (!c || !h.id) return NULL;
    id = h.id ^ c->tag;
    if (id < 1 || id > (uint32_t)INT32_MAX) return NULL;
    i = lq__sub_index(c, (int32_t)id);
    return i < 0 ? NULL : c->subs[i];
}

/* ... and still open to lq_unsubscribe and lq_update. */
static lq__sub *lq__live_sub(const lq_client *c, lq_sub h) {
    lq__sub *s = lq__sub_find(c, h);
    if (!s || s->state == LQ__S_DEAD || s->state == LQ__S_UNSUB || s->state == LQ__S_UNSUB_SENT ||
        s->after == LQ__AFTER_UNSUB)
        return NULL;
    return s;
}

lq_result lq_unsubscribe(lq_client *c, lq_sub h) {
    lq__sub *s = lq__live_sub(c, h);
    if (!s) return LQ_ERR_INVALID_ARG;
    /* The server knows the id only if a subscribe went out on this link. */
    if (c->link == LQ__L_OPEN && s->state == LQ__S_SENT)
        s->after = LQ__AFTER_UNSUB;
    else if (c->link == LQ__L_OPEN && (s->state == LQ__S_LIVE || s->update))
        lq__sub_set(c, s, LQ__S_UNSUB);
    else
        lq__sub_set(c, s, LQ__S_DEAD);
    lq__pump(c);
    return LQ_OK;
}

lq_result lq_update(lq_client *c, lq_sub h, const lq_query *q) {
    lq__sub *s = lq__live_sub(c, h);
    char *body;
    size_t len;
    lq__shape sh;
    lq_result r;
    if (!s || !q) return LQ_ERR_INVALID_ARG;
    r = lq__make_body(c, q, &body, &len, &sh);
    if (r != LQ_OK) return r;
    lq__free(&c->a, s->body);
    s->body = body;
    s->body_len = len;
    s->sh = sh;
    s->user_data = q->user_data ? q->user_data : s->user_data;
    if (s->state == LQ__S_SENT) {                           /* after the answer in flight */
        s->after = LQ__AFTER_UPDATE;
    } else if (s->state != LQ__S_PENDING) {                 /* the server has it: update op */
        s->update = true;
        lq__sub_set(c, s, LQ__S_PENDING);
    }
    lq__pump(c);
    return LQ_OK;
}

bool lq_sub_valid(const lq_client *c, lq_sub h) { return lq__sub_find(c, h) != NULL; }

void *lq_sub_user_data(const lq_client *c, lq_sub h) {
    lq__sub *s = lq__sub_find(c, h);
    return s ? s->user_data : NULL;
}

lq_result lq_sub_set_user_data(lq_client *c, lq_sub h, void *user_data) {
    lq__sub *s = lq__sub_find(c, h);
    if (!s) return LQ_ERR_INVALID_ARG;
    s->user_data = user_data;
    return LQ_OK;
}

lq_state lq_client_state(const lq_client *c) { return c ? c->state : LQ_STATE_DISCONNECTED; }
const char *lq_client_id(const lq_client *c) { return c ? c->client_id : ""; }
void *lq_client_user_data(const lq_client *c) { return c ? c->user_data : NULL; }
const char *lq_error_message(const lq_client *c) { return c ? c->errmsg : ""; }
int lq_error_detail(const lq_client *c) { return c ? c->errdetail : 0; }
const lq_url *lq_client_url(const lq_client *c) { return c ? &c->url : NULL; }

int lq_subscription_count(const lq_client *c) {
    int i, n = 0;
    if (!c) return 0;
    for (i = 0; i < c->nsubs; i++) n += c->subs[i]->state != LQ__S_DEAD;
    return n;
}

const char *lq_state_str(lq_state s) {
    switch (s) {
    case LQ_STATE_INITIALIZED: return "initialized";
    case LQ_STATE_CONNECTING: return "connecting";
    case LQ_STATE_CONNECTED: return "connected";
    case LQ_STATE_RECONNECTING: return "reconnecting";
    case LQ_STATE_DISCONNECTED: return "disconnected";
    }
    return "?";
}

const char *lq_event_str(lq_event_type t) {
    switch (t) {
    case LQ_EVENT_NONE: return "none";
    case LQ_EVENT_OPEN: return "open";
    case LQ_EVENT_CLOSE: return "close";
    case LQ_EVENT_ERROR: return "error";
    case LQ_EVENT_RECONNECTING: return "reconnecting";
    case LQ_EVENT_SUBSCRIBED: return "subscribed";
    case LQ_EVENT_CREATE: return "create";
    case LQ_EVENT_ENTER: return "enter";
    case LQ_EVENT_UPDATE: return "update";
    case LQ_EVENT_LEAVE: return "leave";
    case LQ_EVENT_DELETE: return "delete";
    case LQ_EVENT_UNSUBSCRIBED: return "unsubscribed";
    }
    return "?";
}

/* >>order --------------------------------------------------------------------------------------- */
#ifndef LQ_NO_REST
/* The order of a live view's rows: what Parse Server on PostgreSQL does with an `order` parameter
   such as "-score,playerName" (tests/order/live.sh checks it against the real server).

   lq__order_parse(s, o) reads the parameter as the server does: keys split at commas and trimmed,
   "-" for descending; a repeated key keeps its first place and takes its last direction;
   _created_at and _updated_at stand for createdAt and updatedAt, taking their place when they
   are keys too and else moving to the end (createdAt first), with their own direction. The part
   before the first dot must be a name the server takes ([A-Za-z][A-Za-z0-9_]*, not className or
   length; not authData.X.id) and no part may be empty, else LQ_ERR_INVALID_ARG (where the server
   answers 105). At most LQ__ORDER_MAX keys. objectId is appended unless present, so the order
   is total. "" and NULL give objectId alone (the server then has no order). The keys point into
   s, which the caller keeps, or at static names.

   lq__order_cache(o, row, kv) finds and converts each key's value of a row once (o->n of them);
   lq__order_kcmp(o, ka, kb) is then <0, 0, >0 as row a sorts before, with, after row b (Parse objects as
   JSON, as REST find and LiveQuery events give them). Each key's value orders as its column's
   PostgreSQL type does, told from the JSON:
     - strings (String; a Pointer, or the object include put there, by objectId; a File by
       name): decoded, by bytes, which is code point order (the C.UTF-8 collation);
     - numbers as doubles (-0 = 0, 1e3 = 1000); booleans false < true;
     - Dates by time, createdAt and updatedAt as plain ISO strings too (ISO text that is not a
       time sorts after every time, by bytes);
     - Arrays, Objects and every dotted key ("o.b" is the server's "o"->'b'; a digits-only part
       indexes an array, as "arr.0") as jsonb: null < string < number < boolean < array <
       object, an array with more items and an object with more members greater, objects member
       by member with keys shortest first; at the top an empty array sorts before a scalar. A
       JSON null found by a dotted key is jsonb's null, not a missing value;
     - GeoPoints and Polygons compare equal: the server refuses to sort by them (code 1);
     - a missing or null value (SQL NULL) after every other, so last ascending and first
       descending. An unknown key (the server drops it) is missing in every row: no effect.
   Values of different kinds (which one column cannot hold) sort by kind in that order. jsonb
   deeper than LQ__ORDER_DEPTH compares equal. Nothing is allocated. */

#define LQ__ORDER_MAX 8             /* keys of one order, the appended objectId not counted */
#define LQ__ORDER_DEPTH 64          /* levels of a jsonb value compared */

enum { LQ__ORDER_FIELD, LQ__ORDER_TIME, LQ__ORDER_PATH };   /* how a key finds its value */

typedef struct lq__order_key {
    const char *name;           /* into the parsed string, or a static name */
    size_t len;
    bool desc;
    uint8_t kind;               /* LQ__ORDER_TIME: createdAt, updatedAt; _PATH: a dotted key */
} lq__order_key;

typedef struct lq__order {
    lq__order_key key[LQ__ORDER_MAX + 1];
    int n;
} lq__order;

/* ---- parsing ---------------------------------------------------------------------------------- */

static bool lq__order_is(const char *s, size_t n, const char *name) {
    return strlen(name) == n && memcmp(s, name, n) == 0;
}

static bool lq__order_word(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static bool lq__order_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* DatabaseController's "Cannot sort by authData.X.id". */
static bool lq__order_auth_id(const char *s, size_t n) {
    size_t i;
    if (n < 13 || memcmp(s, "authData.", 9) != 0 || memcmp(s + n - 3, ".id", 3) != 0) return false;
    for (i = 9; i < n - 3; i++)
        if (!lq__order_word(s[i])) return false;
    return true;
}

/* A key the server sorts by: its root passes SchemaController.fieldNameIsValid, no part is empty. */
static bool lq__order_name_ok(const char *s, size_t n) {
    size_t i, root = 0;
    if (n == 0 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) return false;
    for (; root < n && s[root] != '.'; root++)
        if (!lq__order_word(s[root])) return false;
    for (i = root; i < n; i++)
        if (s[i] == '.' && (i + 1 == n || s[i + 1] == '.')) return false;
    if (lq__order_is(s, root, "className") || lq__order_is(s, root, "length")) return false;
    return !lq__order_auth_id(s, n);
}

static int lq__order_find(const lq__order *o, const char *name, size_t len) {
    int i;
    for (i = 0; i < o->n; i++)
        if (o->key[i].len == len && memcmp(o->key[i].name, name, len) == 0) return i;
    return -1;
}

static lq_result lq__order_add(lq__order *o, const char *name, size_t len, bool desc) {
    int i = lq__order_find(o, name, len);
    lq__order_key *k;
    if (i >= 0) {
        o->key[i].desc = desc;
        return LQ_OK;
    }
    if (o->n == LQ__ORDER_MAX) return LQ_ERR_INVALID_ARG;
    k = &o->key[o->n++];
    k->name = name;
    k->len = len;
    k->desc = desc;
    k->kind = LQ__ORDER_FIELD;
    if (memchr(name, '.', len)) k->kind = LQ__ORDER_PATH;
    else if (lq__order_is(name, len, "createdAt") || lq__order_is(name, len, "updatedAt")) k->kind = LQ__ORDER_TIME;
    return LQ_OK;
}

/* One key of the list, p..end without the comma. */
static lq_result lq__order_parse_key(lq__order *o, const char *p, const char *end) {
    bool desc;
    size_t n;
    while (p < end && lq__order_space(*p)) p++;
    while (end > p && lq__order_space(end[-1])) end--;
    desc = p < end && *p == '-';
    if (desc) p++;
    n = (size_t)(end - p);
    if (!lq__order_is(p, n, "_created_at") && !lq__order_is(p, n, "_updated_at") && !lq__order_name_ok(p, n))
        return LQ_ERR_INVALID_ARG;
    return lq__order_add(o, p, n, desc);
}

/* DatabaseController.find renames _created_at: deleted, then set as createdAt (a new key goes
   last in a JavaScript object), with its direction. */
static void lq__order_alias(lq__order *o, const char *alias, const char *name) {
    int i = lq__order_find(o, alias, strlen(alias));
    bool desc;
    if (i < 0) return;
    desc = o->key[i].desc;
    memmove(&o->key[i], &o->key[i + 1], (size_t)(o->n - i - 1) * sizeof o->key[0]);
    o->n--;
    (void)lq__order_add(o, name, strlen(name), desc);   /* room: one key just left */
}

static lq_result lq__order_parse(const char *s, lq__order *o) {
    const char *p = s, *end;
    o->n = 0;
    if (s && *s) {
        do {                                        /* "a," ends with an empty key: refused */
            lq_result r;
            end = p + strcspn(p, ",");
            r = lq__order_parse_key(o, p, end);
            if (r != LQ_OK) {
                o->n = 0;
                return r;
            }
            p = end + 1;
        } while (*end);
    }
    lq__order_alias(o, "_created_at", "createdAt");
    lq__order_alias(o, "_updated_at", "updatedAt");
    if (lq__order_find(o, "objectId", 8) < 0) {
        lq__order_key *k = &o->key[o->n++];          /* key[LQ__ORDER_MAX] is its room */
        k->name = "objectId";
        k->len = 8;
        k->desc = false;
        k->kind = LQ__ORDER_FIELD;
    }
    return LQ_OK;
}

/* ---- values ----------------------------------------------------------------------------------- */

/* Kinds of values in the order they sort in when two differ. */
enum { LQ__OV_STRING, LQ__OV_NUMBER, LQ__OV_BOOL, LQ__OV_TIME, LQ__OV_JSONB, LQ__OV_SPATIAL, LQ__OV_NULL };

typedef struct lq__order_val {
    int kind;
    lq_json v;                  /* STRING, TIME: a string; NUMBER, BOOL, JSONB: the value */
} lq__order_val;

static int lq__order_sign(size_t a, size_t b) { return (a > b) - (a < b); }

/* A decoded string, a byte at a time. */
typedef struct lq__order_str {
    const unsigned char *p, *end;
    unsigned char tmp[4];
    size_t ti, tn;
} lq__order_str;

static void lq__order_str_init(lq__order_str *r, lq_json v) {
    r->p = (const unsigned char *)v.src + v.tok->start + 1;
    r->end = r->p + v.tok->len - 2;
    r->ti = r->tn = 0;
}

static int lq__order_str_next(lq__order_str *r) {
    if (r->ti < r->tn) return r->tmp[r->ti++];
    if (r->p == r->end) return -1;
    if (*r->p != '\\') return *r->p++;
    r->p++;
    r->tn = lq__json_unescape(&r->p, r->tmp);
    r->ti = 1;
    return r->tmp[0];
}

/* Two string tokens (values or keys), decoded, by bytes. */
static int lq__order_strcmp(lq_json a, lq_json b) {
    lq__order_str x, y;
    int c, d;
    if (!((a.tok->flags | b.tok->flags) & LQ__TOK_ESC)) {
        size_t la = a.tok->len - 2, lb = b.tok->len - 2;
        int r = memcmp(a.src + a.tok->start + 1, b.src + b.tok->start + 1, la < lb ? la : lb);
        return r ? (r < 0 ? -1 : 1) : lq__order_sign(la, lb);
    }
    lq__order_str_init(&x, a);
    lq__order_str_init(&y, b);
    do {
        c = lq__order_str_next(&x);
        d = lq__order_str_next(&y);
    } while (c == d && c >= 0);
    return (c > d) - (c < d);
}

static size_t lq__order_strlen(lq_json v) {
    lq__order_str r;
    size_t n = 0;
    if (!(v.tok->flags & LQ__TOK_ESC)) return v.tok->len - 2;
    lq__order_str_init(&r, v);
    while (lq__order_str_next(&r) >= 0) n++;
    return n;
}

/* Beyond a double (which no column holds) is the largest double. */
static double lq__order_num(lq_json v) {
    const unsigned char *p = (const unsigned char *)v.src + v.tok->start;
    double x;
    if (lq__json_to_double(p, p + v.tok->len, &x)) return x;
    return *p == '-' ? -1.7976931348623157e308 : 1.7976931348623157e308;
}

static int lq__order_numcmp(lq_json a, lq_json b) {
    double x = lq__order_num(a), y = lq__order_num(b);
    return (x > y) - (x < y);
}

/* n digits at *p, moving past them. */
static bool lq__order_digits(const char **p, int n, int64_t *out) {
    int64_t v = 0;
    int i;
    for (i = 0; i < n; i++) {
        unsigned d = (unsigned)((unsigned char)(*p)[i] - '0');
        if (d > 9) return false;
        v = v * 10 + (int64_t)d;
    }
    *p += n;
    *out = v;
    return true;
}

static bool lq__order_take(const char **p, char c) {
    if (**p != c) return false;
    (*p)++;
    return true;
}

static int64_t lq__order_floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((b - 1 - a) / b); }

/* Days from 1970-01-01 to y-m-d, proleptic Gregorian: 365 a year, the leap days of the years
   before y (from year 0), the months before m. */
static int64_t lq__order_days(int64_t y, int64_t m, int64_t d) {
    static const int before[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    int64_t leaps = lq__order_floor_div(y + 3, 4) - lq__order_floor_div(y + 99, 100) + lq__order_floor_div(y + 399, 400);
    bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    return 365 * y + leaps + before[m - 1] + (m > 2 && leap) + d - 1 - 719528;
}

/* The time of day, "12:34:56.789", seconds and fraction optional: in ms. */
static bool lq__order_clock(const char **p, int64_t *ms) {
    int64_t h, mi, s = 0, frac = 0, digit;
    int scale = 100;
    if (!lq__order_digits(p, 2, &h) || h > 23 || !lq__order_take(p, ':')) return false;
    if (!lq__order_digits(p, 2, &mi) || mi > 59) return false;
    if (lq__order_take(p, ':') && (!lq__order_digits(p, 2, &s) || s > 59)) return false;
    if (lq__order_take(p, '.')) {
        if (!lq__order_digits(p, 1, &digit)) return false;
        do {
            frac += digit * scale;                  /* past milliseconds, digits are dropped */
            scale /= 10;
        } while (lq__order_digits(p, 1, &digit));
    }
    *ms = ((h * 60 + mi) * 60 + s) * 1000 + frac;
    return true;
}

/* "Z", "+01:00", "-0130", or nothing (UTC): the offset in ms. */
static bool lq__order_zone(const char **p, int64_t *ms) {
    int64_t h, m = 0;
    int sign = **p == '-' ? -1 : 1;
    *ms = 0;
    if (lq__order_take(p, 'Z') || lq__order_take(p, 'z') || !**p) return true;
    if (!lq__order_take(p, '+') && !lq__order_take(p, '-')) return false;
    if (!lq__order_digits(p, 2, &h) || h > 23) return false;
    (void)lq__order_take(p, ':');
    if (**p && (!lq__order_digits(p, 2, &m) || m > 59)) return false;
    *ms = sign * (h * 60 + m) * 60000;
    return true;
}

/* Milliseconds since 1970 of an ISO 8601 time as Parse writes it ("2026-11-27T23:40:37.606Z",
   and +YYYYYY years, an offset, fewer fields); false for any other text. */
static bool lq__order_time(lq_json v, int64_t *ms) {
    char buf[48];
    const char *p = buf;
    int64_t y, mo, d, clock = 0, zone = 0;
    int sign = 1;
    size_t len = lq_json_string(v, buf, sizeof buf);
    if (len >= sizeof buf) return false;
    if (*p == '+' || *p == '-') {
        sign = *p++ == '-' ? -1 : 1;
        if (!lq__order_digits(&p, 6, &y)) return false;
    } else if (!lq__order_digits(&p, 4, &y)) {
        return false;
    }
    if (!lq__order_take(&p, '-') || !lq__order_digits(&p, 2, &mo) || mo < 1 || mo > 12) return false;
    if (!lq__order_take(&p, '-') || !lq__order_digits(&p, 2, &d) || d < 1 || d > 31) return false;
    if ((lq__order_take(&p, 'T') || lq__order_take(&p, 't') || lq__order_take(&p, ' ')) &&
        !lq__order_clock(&p, &clock))
        return false;
    if (!lq__order_zone(&p, &zone) || p != buf + len) return false;    /* all of it, no NUL inside */
    *ms = lq__order_days(sign * y, mo, d) * 86400000 + clock - zone;
    return true;
}

/* ---- jsonb -------------------------------------------------------------------------------------- */

static int lq__order_jsonb(lq_json a, lq_json b, int depth);

/* jsonb's order of types. */
static int lq__order_jrank(lq_json v) {
    switch (lq_json_kind(v)) {
    case LQ_JSON_STRING: return 1;
    case LQ_JSON_NUMBER: return 2;
    case LQ_JSON_FALSE: case LQ_JSON_TRUE: return 3;
    case LQ_JSON_ARRAY: return 4;
    case LQ_JSON_OBJECT: return 5;
    default: return 0;
    }
}

/* jsonb keeps an object's keys shortest first, then by bytes, and compares them in that order. */
static int lq__order_keycmp(lq_json a, lq_json b) {
    int r = lq__order_sign(lq__order_strlen(a), lq__order_strlen(b));
    return r ? r : lq__order_strcmp(a, b);
}

/* The member of o whose key follows prev's in that order (prev none: the first). */
static lq_json lq__order_member(lq_json o, lq_json prev) {
    lq_json m, best;
    best.src = o.src;
    best.tok = NULL;
    for (m = lq_json_child(o); m.tok; m = lq_json_next(m)) {
        lq_json k = lq_json_key(m);
        if (prev.tok && lq__order_keycmp(k, lq_json_key(prev)) <= 0) continue;
        if (!best.tok || lq__order_keycmp(k, lq_json_key(best)) < 0) best = m;
    }
    return best;
}

static int lq__order_jobject(lq_json a, lq_json b, int depth) {
    lq_json ma, mb;
    int r = lq__order_sign(lq_json_count(a), lq_json_count(b));
    ma.src = a.src;
    mb.src = b.src;
    ma.tok = mb.tok = NULL;
    while (r == 0) {
        ma = lq__order_member(a, ma);
        mb = lq__order_member(b, mb);
        if (!ma.tok || !mb.tok) return (ma.tok != NULL) - (mb.tok != NULL);   /* a repeated key */
        r = lq__order_strcmp(lq_json_key(ma), lq_json_key(mb));
        if (r == 0) r = lq__order_jsonb(ma, mb, depth + 1);
    }
    return r;
}

static int lq__order_jarray(lq_json a, lq_json b, int depth) {
    int r = lq__order_sign(lq_json_count(a), lq_json_count(b));
    for (a = lq_json_child(a), b = lq_json_child(b); r == 0 && a.tok && b.tok;
         a = lq_json_next(a), b = lq_json_next(b))
        r = lq__order_jsonb(a, b, depth + 1);
    return r;
}

static int lq__order_jsonb(lq_json a, lq_json b, int depth) {
    int ra = lq__order_jrank(a), rb = lq__order_jrank(b);
    if (depth > LQ__ORDER_DEPTH) return 0;
    /* At the top jsonb holds a scalar as an array of one, and compares arrays by length first. */
    if (depth == 0 && ra != rb && ra < 5 && rb < 5) {
        if (ra == 4 && lq_json_count(a) == 0) return -1;
        if (rb == 4 && lq_json_count(b) == 0) return 1;
    }
    if (ra != rb) return ra < rb ? -1 : 1;
    switch (ra) {
    case 1: return lq__order_strcmp(a, b);
    case 2: return lq__order_numcmp(a, b);
    case 3: return (int)lq_json_kind(a) - (int)lq_json_kind(b);
    case 4: return lq__order_jarray(a, b, depth);
    case 5: return lq__order_jobject(a, b, depth);
    default: return 0;
    }
}

/* ---- rows -------------------------------------------------------------------------------------- */

/* A part of digits only is an array index (parse-server's isArrayIndex); a huge one finds nothing. */
static bool lq__order_index(const char *p, size_t n, size_t *index) {
    size_t i;
    *index = 0;
    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return false;
        *index = *index > 100000000u ? (size_t)-1 : *index * 10 + (size_t)(p[i] - '0');
    }
    return true;
}

/* "o.b.0" as PostgreSQL's "o"->'b'->0: an index reaches into arrays only, a name into objects. */
static lq_json lq__order_path(lq_json v, const lq__order_key *k) {
    const char *p = k->name, *end = p + k->len;
    while (v.tok) {
        const char *dot = (const char *)memchr(p, '.', (size_t)(end - p));
        size_t n = (size_t)((dot ? dot : end) - p), index;
        v = lq__order_index(p, n, &index) ? lq_json_at(v, index) : lq_json_getn(v, p, n);
        if (!dot) break;
        p = dot + 1;
    }
    return v;
}

/* A Parse type as its column holds it: a Date as a time, a Pointer (or the object include put in
   its place) as its objectId, a File as its name; GeoPoint and Polygon have no order; any other
   object is jsonb. */
static lq__order_val lq__order_typed(lq_json v) {
    lq__order_val r;
    lq_json id = lq_json_get(v, "objectId"), name = lq_json_get(v, "name");
    r.kind = LQ__OV_STRING;
    if (lq_json_date(v, &r.v)) {
        r.kind = LQ__OV_TIME;
    } else if ((lq__json_has_type(v, "Pointer") || lq__json_has_type(v, "Object")) && lq__json_is(id, LQ_JSON_STRING)) {
        r.v = id;
    } else if (lq__json_has_type(v, "File") && lq__json_is(name, LQ_JSON_STRING)) {
        r.v = name;
    } else {
        r.v = v;
        r.kind = lq__json_has_type(v, "GeoPoint") || lq__json_has_type(v, "Polygon") ? LQ__OV_SPATIAL : LQ__OV_JSONB;
    }
    return r;
}

static lq__order_val lq__order_value(const lq__order_key *k, lq_json row) {
    lq__order_val r;
    r.v = k->kind == LQ__ORDER_PATH ? lq__order_path(row, k) : lq_json_getn(row, k->name, k->len);
    r.kind = LQ__OV_NULL;
    if (r.v.tok && k->kind == LQ__ORDER_PATH) {
        r.kind = LQ__OV_JSONB;
        return r;
    }
    switch (lq_json_kind(r.v)) {
    case LQ_JSON_STRING: r.kind = k->kind == LQ__ORDER_TIME ? LQ__OV_TIME : LQ__OV_STRING; break;
    case LQ_JSON_NUMBER: r.kind = LQ__OV_NUMBER; break;
    case LQ_JSON_FALSE: case LQ_JSON_TRUE: r.kind = LQ__OV_BOOL; break;
    case LQ_JSON_ARRAY: r.kind = LQ__OV_JSONB; break;
    case LQ_JSON_OBJECT: return lq__order_typed(r.v);
    default: break;                                 /* missing, null: SQL NULL */
    }
    return r;
}

/* A row's value of each key, found and converted once: a live view compares its rows by these
   (the same order as lq__order_cmp, without a lookup and a number parse per comparison). */
typedef struct lq__order_kv {
    lq__order_val val;
    double x;                   /* NUMBER: the number; TIME: the time in ms (when ok) */
    bool ok;
} lq__order_kv;

static void lq__order_cache(const lq__order *o, lq_json row, lq__order_kv *out) {
    int i;
    for (i = 0; i < o->n; i++) {
        int64_t ms = 0;
        out[i].val = lq__order_value(&o->key[i], row);
        out[i].x = 0;
        out[i].ok = true;
        if (out[i].val.kind == LQ__OV_NUMBER) out[i].x = lq__order_num(out[i].val.v);
        else if (out[i].val.kind == LQ__OV_TIME) { out[i].ok = lq__order_time(out[i].val.v, &ms); out[i].x = (double)ms; }
    }
}

static int lq__order_kcmp(const lq__order *o, const lq__order_kv *a, const lq__order_kv *b) {
    int i, r = 0;
    for (i = 0; i < o->n && r == 0; i++) {
        const lq__order_val *x = &a[i].val, *y = &b[i].val;
        if (x->kind != y->kind) r = x->kind < y->kind ? -1 : 1;
        else if (x->kind == LQ__OV_NUMBER || (x->kind == LQ__OV_TIME && a[i].ok && b[i].ok)) r = (a[i].x > b[i].x) - (a[i].x < b[i].x);
        else if (x->kind == LQ__OV_TIME) r = a[i].ok != b[i].ok ? (a[i].ok ? -1 : 1) : lq__order_strcmp(x->v, y->v);
        else if (x->kind == LQ__OV_STRING) r = lq__order_strcmp(x->v, y->v);
        else if (x->kind == LQ__OV_BOOL) r = (int)lq_json_kind(x->v) - (int)lq_json_kind(y->v);
        else if (x->kind == LQ__OV_JSONB) r = lq__order_jsonb(x->v, y->v, 0);
        if (o->key[i].desc) r = -r;
    }
    return r;
}
#endif /* LQ_NO_REST */

/* >>view: a live, ordered, limited result set ----------------------------------------------------
   A view subscribes, holds its events until SUBSCRIBED and a REST find has answered, then applies
   the held events to the find's rows (skipping an update that the find has already seen: the find
   returned the object with a later updatedAt; never a leave or a delete), and from then on applies
   each event as it comes. It tracks up to twice the limit, in order (>>order): the rows past the
   limit are a reserve that refills the window when a row leaves it, so that the first `limit`
   rows are always those a fresh find returns. Knowing nothing past its last tracked row, it drops
   a row that falls below it; when fewer than `limit` rows are left and the server may have more
   (the last find was full), it loads again. Every (re)load is diffed against the rows it has into
   ordinary row events. A reconnect (resubscribe), a refused event (which names no object) or an
   update whose original is not the row the view holds reloads too. */
#ifndef LQ_NO_REST

#define LQ__VIEW_ID_MAX 64
#define LQ__VIEW_PAGE 1000          /* first find of a view without a limit; x4 while full */
#define LQ__VIEW_ALL 0x3FFFFFFF     /* "no limit" as a row count */
#define LQ__VIEW_HELD_MAX 65536     /* events held while loading, at most */

enum { LQ__V_SUBSCRIBING = 0, LQ__V_LOADING, LQ__V_LIVE, LQ__V_DEAD };

typedef struct lq__row {
    char *text;                 /* the object's JSON; text, tokens and keys share the row's block */
    size_t len;
    lq_json_token *toks;
    lq_json obj;
    bool keep;                  /* a reload returned it */
    int at;                     /* its position, while a reload is diffed */
    lq__order_kv *keys;         /* its value of each order key (order.n of them) */
    size_t bytes;               /* of its one block: struct, keys, tokens, text */
    char id[LQ__VIEW_ID_MAX];
    char updated[40];           /* updatedAt as sent, for the held-event rule */
} lq__row;

typedef struct lq__held {
    uint8_t type;               /* LQ_EVENT_CREATE .. LQ_EVENT_DELETE */
    bool skip;
    bool has_original;
    uint32_t seq;               /* the view's count of events when it came */
    lq__row *row;
    char original_updated[40];  /* an update's original.updatedAt */
} lq__held;

struct lq_view {
    lq_client *c;
    struct lq_view *next;       /* the client's views */
    lq_view_fn fn;
    void *user_data;
    char *class_name, *where, *order_text, *keys, *include, *session_token;
    char *find_order;           /* the order the finds send: the parsed keys, objectId last */
    lq__order order;
    int limit;                  /* rows shown; LQ__VIEW_ALL without a limit */
    int track;                  /* rows tracked at most (2 x limit); LQ__VIEW_ALL without */
    int page;                   /* a view without a limit: what the find asks for */
    int state;
    bool loaded, stale, complete, again, diffing, dead_reported;
    lq_sub sub;
    lq_request req;
    int retries;
    uint64_t retry_at;          /* a failed find is retried then (0: none) */
    lq__row **rows;
    int n, cap;
    lq__row **hash;             /* objectId -> row, open addressing */
    size_t hcap, hn;
    lq__held *held;
    int nheld, capheld;
    uint32_t seq;               /* events received */
    bool snapshot;              /* a load just answered: the held-event rule applies once */
    char (*scope)[LQ__VIEW_ID_MAX];   /* a load of these rows only (include), else NULL */
    int nscope;
    uint32_t scope_seq;         /* seq when that load was sent */
    const char *inc[16];        /* the include's first keys, into inc_text */
    size_t inc_len[16];
    int ninc;
    size_t heap;                /* bytes of the rows */
};

/* ---- rows ---- */

static void lq__row_free(lq_view *v, lq__row *r) {
    if (!r) return;
    v->heap -= r->bytes;
    lq__free(&v->c->a, r);
}

/* A row in one block: the struct, its order keys, ntoks tokens and n bytes of text (+ NUL). */
static lq__row *lq__row_alloc(lq_view *v, size_t n, uint32_t ntoks) {
    size_t head = (sizeof(lq__row) + 7) & ~(size_t)7, keys = (size_t)v->order.n * sizeof(lq__order_kv);
    size_t toks = (size_t)ntoks * sizeof(lq_json_token), bytes = head + keys + toks + n + 1;
    lq__row *r;
    if (ntoks == 0 || n > (size_t)-1 / 2) return NULL;
    r = (lq__row *)lq__alloc(&v->c->a, bytes);
    if (!r) return NULL;
    memset(r, 0, sizeof *r);
    r->keys = (lq__order_kv *)(void *)((char *)r + head);
    r->toks = (lq_json_token *)(void *)((char *)r + head + keys);
    r->text = (char *)r + head + keys + toks;
    r->len = n;
    r->bytes = bytes;
    return r;
}

/* The row's id, updatedAt and order keys, from its parsed object; NULL (freed) without an id. */
static lq__row *lq__row_finish(lq_view *v, lq__row *r) {
    if (lq_json_string(lq_json_get(r->obj, "objectId"), r->id, sizeof r->id) == 0 || strlen(r->id) >= sizeof r->id - 1) {
        lq__free(&v->c->a, r);
        return NULL;
    }
    lq_json_string(lq_json_get(r->obj, "updatedAt"), r->updated, sizeof r->updated);
    lq__order_cache(&v->order, r->obj, r->keys);
    v->heap += r->bytes;
    return r;
}

/* A row of its own from the text of an object of ntoks tokens (a grafted row: parsed). */
static lq__row *lq__row_make(lq_view *v, const char *raw, size_t n, uint32_t ntoks) {
    lq__row *r = lq__row_alloc(v, n, ntoks);
    if (!r) return NULL;
    memcpy(r->text, raw, n);
    r->text[n] = 0;
    if (lq_json_parse(r->text, n, r->toks, ntoks, 0, &r->obj) < 0) { lq__free(&v->c->a, r); return NULL; }
    return lq__row_finish(v, r);
}

/* A row from an object of a find or an event: its text and its tokens copied (the tokens
   rebased to the copy), not parsed again. */
static lq__row *lq__row_new(lq_view *v, lq_json obj) {
    size_t n = 0, i;
    const char *raw = lq_json_raw(obj, &n);
    lq__row *r;
    if (!raw || lq_json_kind(obj) != LQ_JSON_OBJECT) return NULL;
    r = lq__row_alloc(v, n, obj.tok->skip);
    if (!r) return NULL;
    memcpy(r->text, raw, n);
    r->text[n] = 0;
    memcpy(r->toks, obj.tok, (size_t)obj.tok->skip * sizeof *r->toks);
    for (i = 0; i < obj.tok->skip; i++) r->toks[i].start -= obj.tok->start;
    r->obj.src = r->text;
    r->obj.tok = r->toks;
    return lq__row_finish(v, r);
}

/* ---- the objectId index ---- */

static size_t lq__view_hash(const char *id) {
    uint32_t h = 2166136261u;
    for (; *id; id++) h = (h ^ (unsigned char)*id) * 16777619u;
    return h;
}

static size_t lq__view_slot(const lq_view *v, const char *id) {
    size_t i = lq__view_hash(id) & (v->hcap - 1);
    while (v->hash[i] && strcmp(v->hash[i]->id, id) != 0) i = (i + 1) & (v->hcap - 1);
    return i;
}

static lq__row *lq__view_lookup(const lq_view *v, const char *id) {
    return v->hcap ? v->hash[lq__view_slot(v, id)] : NULL;
}

static bool lq__view_hash_grow(lq_view *v) {
    size_t cap = v->hcap ? v->hcap * 2 : 64, i;
    lq__row **old = v->hash, **t = (lq__row **)lq__alloc(&v->c->a, cap * sizeof *t);
    size_t oldcap = v->hcap;
    if (!t) return false;
    memset(t, 0, cap * sizeof *t);
    v->hash = t;
    v->hcap = cap;
    for (i = 0; i < oldcap; i++)
        if (old[i]) v->hash[lq__view_slot(v, old[i]->id)] = old[i];
    lq__free(&v->c->a, old);
    return true;
}

/* Puts r under its id (replacing a row of the same id). */
static bool lq__view_index(lq_view *v, lq__row *r) {
    size_t i;
    if ((v->hn + 1) * 2 > v->hcap && !lq__view_hash_grow(v)) return false;
    i = lq__view_slot(v, r->id);
    if (!v->hash[i]) v->hn++;
    v->hash[i] = r;
    return true;
}

/* Removes id, moving later entries of its probe run back (no tombstones). */
static void lq__view_unindex(lq_view *v, const char *id) {
    size_t i, j, k;
    if (!v->hcap) return;
    i = lq__view_slot(v, id);
    if (!v->hash[i]) return;
    v->hash[i] = NULL;
    v->hn--;
    for (j = (i + 1) & (v->hcap - 1); v->hash[j]; j = (j + 1) & (v->hcap - 1)) {
        k = lq__view_hash(v->hash[j]->id) & (v->hcap - 1);
        if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
            v->hash[i] = v->hash[j];
            v->hash[j] = NULL;
            i = j;
        }
    }
}

/* ---- the ordered rows, and the events they make ---- */

static void lq__view_emit(lq_view *v, lq_view_event *ev) {
    if (!v->fn) return;
    v->c->in_callback++;
    v->fn(v, ev, v->user_data);
    v->c->in_callback--;
}

static void lq__view_row_event(lq_view *v, lq_view_event_type type, int index, int from, const lq__row *r) {
    lq_view_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    ev.index = index;
    ev.from = from;
    ev.object = r->obj;
    ev.object_id = r->id;
    lq__view_emit(v, &ev);
}

/* The index of r in the sorted rows (binary search; a linear scan while a reload reorders them). */
static int lq__view_pos(const lq_view *v, const lq__row *r) {
    int lo = 0, hi = v->n, i;
    if (v->diffing) {
        for (i = 0; i < v->n; i++) if (v->rows[i] == r) return i;
        return -1;
    }
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2, d = lq__order_kcmp(&v->order, v->rows[mid]->keys, r->keys);
        if (d == 0) return v->rows[mid] == r ? mid : -1;
        if (d < 0) lo = mid + 1; else hi = mid;
    }
    return -1;
}

/* Where r goes among the sorted rows, not counting skip (a row being moved). */
static int lq__view_place(const lq_view *v, const lq__row *r, int skip) {
    int lo = 0, hi = v->n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (lq__order_kcmp(&v->order, v->rows[mid]->keys, r->keys) < 0) lo = mid + 1; else hi = mid;
    }
    return skip >= 0 && lo > skip ? lo - 1 : lo;
}

static bool lq__view_reserve(lq_view *v) {
    lq__row **n;
    int cap;
    if (v->n < v->cap) return true;
    cap = v->cap ? v->cap * 2 : 16;
    n = (lq__row **)lq__alloc(&v->c->a, (size_t)cap * sizeof *n);
    if (!n) return false;
    if (v->n) memcpy(n, v->rows, (size_t)v->n * sizeof *n);
    lq__free(&v->c->a, v->rows);
    v->rows = n;
    v->cap = cap;
    return true;
}

/* Removes the row at p: REMOVE when it was shown, and INSERT of the reserve row that slides into
   the window's last place. */
static void lq__view_take(lq_view *v, int p) {
    lq__row *r = v->rows[p];
    memmove(v->rows + p, v->rows + p + 1, (size_t)(v->n - p - 1) * sizeof *v->rows);
    v->n--;
    lq__view_unindex(v, r->id);
    if (p < v->limit) {
        lq__view_row_event(v, LQ_VIEW_REMOVE, p, p, r);
        if (v->n >= v->limit) lq__view_row_event(v, LQ_VIEW_INSERT, v->limit - 1, v->limit - 1, v->rows[v->limit - 1]);
    }
    lq__row_free(v, r);
}

/* Puts r at q (room reserved): the window's last row goes first when r pushes it out. */
static void lq__view_put(lq_view *v, int q, lq__row *r) {
    memmove(v->rows + q + 1, v->rows + q, (size_t)(v->n - q) * sizeof *v->rows);
    v->rows[q] = r;
    v->n++;
    lq__view_index(v, r);                                   /* room made by lq__view_prepare */
    if (q < v->limit) {
        if (v->n > v->limit) lq__view_row_event(v, LQ_VIEW_REMOVE, v->limit - 1, v->limit - 1, v->rows[v->limit]);
        lq__view_row_event(v, LQ_VIEW_INSERT, q, q, r);
    }
}

/* Replaces the row at p by r at q (its place once the old one is out). */
static void lq__view_move(lq_view *v, int p, int q, lq__row *r) {
    lq__row *old = v->rows[p];
    bool shown_p = p < v->limit, shown_q = q < v->limit, same = old->len == r->len && memcmp(old->text, r->text, r->len) == 0;
    if (p < q) memmove(v->rows + p, v->rows + p + 1, (size_t)(q - p) * sizeof *v->rows);   /* only between */
    else if (p > q) memmove(v->rows + q + 1, v->rows + q, (size_t)(p - q) * sizeof *v->rows);
    v->rows[q] = r;
    lq__view_index(v, r);                                   /* the same id: no growth */
    if (shown_p && shown_q) {
        if (p != q) lq__view_row_event(v, LQ_VIEW_MOVE, q, p, r);
        else if (!same) lq__view_row_event(v, LQ_VIEW_CHANGE, q, q, r);
    } else if (shown_p) {
        lq__view_row_event(v, LQ_VIEW_REMOVE, p, p, old);
        if (v->n >= v->limit) lq__view_row_event(v, LQ_VIEW_INSERT, v->limit - 1, v->limit - 1, v->rows[v->limit - 1]);
    } else if (shown_q) {
        lq__view_row_event(v, LQ_VIEW_REMOVE, v->limit - 1, v->limit - 1, v->rows[v->limit]);
        lq__view_row_event(v, LQ_VIEW_INSERT, q, q, r);
    }
    lq__row_free(v, old);
}

/* Room for one more row in the array and the index. */
static bool lq__view_prepare(lq_view *v) {
    return lq__view_reserve(v) && ((v->hn + 1) * 2 <= v->hcap || lq__view_hash_grow(v));
}

static void lq__view_reload(lq_view *v);

/* An object as it now is (create, enter, update): placed, moved, or dropped past the last row. */
static void lq__view_upsert(lq_view *v, lq__row *r) {
    lq__row *old = lq__view_lookup(v, r->id);
    if (!lq__view_prepare(v)) { lq__row_free(v, r); v->again = true; return; }
    if (old) {
        int p = lq__view_pos(v, old), q = lq__view_place(v, r, p);
        if (p < 0) { lq__row_free(v, r); v->again = true; return; }
        if (v->complete || q < v->n - 1) lq__view_move(v, p, q, r);
        else { lq__row_free(v, r); lq__view_take(v, p); }    /* it fell past what the view knows */
    } else {
        int q = lq__view_place(v, r, -1);
        if (v->complete || q < v->n) lq__view_put(v, q, r);
        else lq__row_free(v, r);
    }
    while (v->n > v->track) { lq__view_take(v, v->n - 1); v->complete = false; }
}

static void lq__view_remove_id(lq_view *v, const char *id) {
    lq__row *old = lq__view_lookup(v, id);
    int p = old ? lq__view_pos(v, old) : -1;
    if (p >= 0) lq__view_take(v, p);
    else if (old) v->again = true;                          /* cannot be: load again rather than keep it */
}

/* One event applied to the rows (its row is taken). */
static void lq__view_apply(lq_view *v, lq__held *h) {
    lq__row *r = h->row;
    h->row = NULL;
    if (h->type == LQ_EVENT_LEAVE || h->type == LQ_EVENT_DELETE) {
        lq__view_remove_id(v, r->id);
        lq__row_free(v, r);
    } else {
        lq__row *old = lq__view_lookup(v, r->id);
        if (old && h->has_original && strcmp(h->original_updated, old->updated) != 0)
            v->again = true;                                /* a write it never saw: load again */
        lq__view_upsert(v, r);
    }
    if (!v->complete && v->n < v->limit) v->again = true;  /* the window lost a row the server has */
}

/* include: an event's row has bare Pointers where the view's rows have objects. Where the row
   the view holds has the same object under that key, it is put in (the pointer did not change);
   false when some pointer is new: the row must be loaded. */
static bool lq__view_graft(lq_view *v, lq__held *h) {
    int k;
    for (k = 0; k < v->ninc; k++) {
        lq_json p = lq_json_getn(h->row->obj, v->inc[k], v->inc_len[k]), pid, have, hid;
        lq__row *old = lq__view_lookup(v, h->row->id), *r;
        const char *pr, *hr;
        size_t pn, hn;
        lq__buf b;
        if (!lq_json_pointer(p, NULL, &pid)) continue;      /* missing, or an object already */
        have = old ? lq_json_getn(old->obj, v->inc[k], v->inc_len[k]) : p;
        hid = lq_json_get(have, "objectId");
        if (!old || !lq__json_has_type(have, "Object") || !lq_json_exists(hid)) return false;
        pr = lq_json_raw(pid, &pn);
        hr = lq_json_raw(hid, &hn);
        if (pn != hn || memcmp(pr, hr, pn) != 0) return false;
        lq__buf_init(&b, v->c);
        b.limit = (size_t)-1;                               /* a row is as large as the server sent it */
        pr = lq_json_raw(p, &pn);
        hr = lq_json_raw(have, &hn);
        lq__buf_put(&b, h->row->text, (size_t)(pr - h->row->text));
        lq__buf_put(&b, hr, hn);
        lq__buf_put(&b, pr + pn, h->row->len - (size_t)(pr + pn - h->row->text));
        r = b.err == LQ_OK ? lq__row_make(v, b.data, b.len, h->row->obj.tok->skip + have.tok->skip - p.tok->skip) : NULL;
        lq__buf_free(&b);
        if (!r) return false;
        lq__row_free(v, h->row);
        h->row = r;
    }
    return true;
}

/* ---- loading ---- */

static void lq__view_error(lq_view *v, lq_result r, int code, const char *msg, bool fatal) {
    lq_view_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = LQ_VIEW_ERROR;
    ev.result = r;
    ev.error_code = code;
    ev.error_message = msg ? msg : "";
    ev.fatal = fatal;
    lq__view_emit(v, &ev);
}

static void lq__view_simple(lq_view *v, lq_view_event_type type) {
    lq_view_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    ev.count = v->n < v->limit ? v->n : v->limit;
    ev.resync = type == LQ_VIEW_READY && v->loaded;
    lq__view_emit(v, &ev);
}

/* Lets go of the find in flight and of the subscription, whose events (its UNSUBSCRIBED too)
   are nobody's news from now on. */
static void lq__view_detach(lq_view *v) {
    if (v->req.id) lq_cancel(v->c, v->req);
    v->req.id = 0;
    if (v->sub.id) {
        lq__sub *s = lq__sub_find(v->c, v->sub);
        if (s) s->view = NULL, s->silent = true;
        if (v->c->state != LQ_STATE_DISCONNECTED) lq_unsubscribe(v->c, v->sub);
        v->sub.id = 0;
    }
}

/* The view is finished: its subscription goes, nothing more is reported but this error. */
static void lq__view_die(lq_view *v, lq_result r, int code, const char *msg) {
    if (v->state == LQ__V_DEAD) return;
    v->state = LQ__V_DEAD;
    lq__view_detach(v);
    lq__view_error(v, r, code, msg, true);
}

/* Sorts a find's rows by the view's order when the server's differs (another collation): the
   rows must be in the view's own order for its binary searches. Merge sort; the usual case, rows
   already in order, costs one pass. */
static bool lq__view_sort(lq_view *v, lq__row **rows, int n) {
    lq__row **tmp, **src = rows, **dst;
    int i, width;
    for (i = 1; i < n && lq__order_kcmp(&v->order, rows[i - 1]->keys, rows[i]->keys) <= 0; i++) {}
    if (i >= n) return true;
    tmp = (lq__row **)lq__alloc(&v->c->a, (size_t)n * sizeof *tmp);
    if (!tmp) return false;
    dst = tmp;
    for (width = 1; width < n; width *= 2) {
        int lo;
        for (lo = 0; lo < n; lo += 2 * width) {
            int mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n, a = lo, b = mid, k = lo;
            while (a < mid && b < hi) dst[k++] = lq__order_kcmp(&v->order, src[a]->keys, src[b]->keys) <= 0 ? src[a++] : src[b++];
            while (a < mid) dst[k++] = src[a++];
            while (b < hi) dst[k++] = src[b++];
        }
        { lq__row **t = src; src = dst; dst = t; }
    }
    if (src != rows) memcpy(rows, src, (size_t)n * sizeof *rows);
    lq__free(&v->c->a, tmp);
    return true;
}

/* Which fresh rows keep their place: the longest run, in the find's order, of rows whose old
   positions increase (patience sorting, O(n log n)). Moving only the others is the fewest moves.
   at[i] is the old position of fresh[i], -1 for a new row. */
static bool lq__view_stay(lq_view *v, const int *at, int nf, bool *stay) {
    int *tails = (int *)lq__alloc(&v->c->a, (size_t)(nf ? nf : 1) * 2 * sizeof(int)), *prev, len = 0, i;
    if (!tails) return false;
    prev = tails + nf;
    for (i = 0; i < nf; i++) {
        int lo = 0, hi = len;
        stay[i] = false;
        if (at[i] < 0) continue;
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (at[tails[mid]] < at[i]) lo = mid + 1; else hi = mid;
        }
        prev[i] = lo ? tails[lo - 1] : -1;
        tails[lo] = i;
        if (lo == len) len++;
    }
    for (i = len ? tails[len - 1] : -1; i >= 0; i = prev[i]) stay[i] = true;
    lq__free(&v->c->a, tails);
    return true;
}

/* Makes the rows those of the reload (fresh, taken), as row events: REMOVE for rows gone, MOVE
   for the fewest rows, INSERT for new ones, CHANGE for rows in place with new values. */
static void lq__view_diff(lq_view *v, lq__row **fresh, int nf) {
    int i, k, last, *at = (int *)lq__alloc(&v->c->a, (size_t)(nf ? nf : 1) * sizeof(int));
    bool *stay = (bool *)lq__alloc(&v->c->a, (size_t)(nf ? nf : 1) * sizeof(bool));
    if (!at || !stay || !lq__view_stay(v, at, 0, stay)) {
        lq__free(&v->c->a, at);
        lq__free(&v->c->a, stay);
        for (i = 0; i < nf; i++) lq__row_free(v, fresh[i]);
        v->again = true;
        return;
    }
    for (i = 0; i < nf; i++) {                              /* rows of the find that the view has */
        lq__row *old = lq__view_lookup(v, fresh[i]->id);
        if (old && old->keep) { lq__row_free(v, fresh[i]); fresh[i] = NULL; continue; }   /* a duplicate */
        if (old) old->keep = true;
    }
    for (i = v->n - 1; i >= 0; i--)
        if (!v->rows[i]->keep) lq__view_take(v, i);
    for (i = 0; i < v->n; i++) v->rows[i]->at = i;
    for (i = 0; i < nf; i++) {
        lq__row *old = fresh[i] ? lq__view_lookup(v, fresh[i]->id) : NULL;
        at[i] = old ? old->at : -1;
    }
    if (!lq__view_stay(v, at, nf, stay)) memset(stay, 0, (size_t)nf * sizeof(bool));
    v->diffing = true;
    for (i = 0, last = -1; i < nf; i++) {                   /* the others, each after its predecessor */
        lq__row *old, *before = NULL;
        int p, q, j;
        if (!fresh[i]) continue;
        if (stay[i]) { last = -2; continue; }               /* its place is not tracked: look it up */
        old = lq__view_lookup(v, fresh[i]->id);
        p = old ? lq__view_pos(v, old) : -1;
        if (last == -2) {
            for (j = i - 1; j >= 0 && !before; j--) if (fresh[j]) before = lq__view_lookup(v, fresh[j]->id);
            last = before ? lq__view_pos(v, before) : -1;
        }
        q = (p >= 0 && p < last) ? last : last + 1;
        if (old) lq__view_move(v, p, q, fresh[i]);          /* fresh[i] is the view's row now */
        else if (lq__view_prepare(v)) lq__view_put(v, q, fresh[i]);
        else { lq__row_free(v, fresh[i]); fresh[i] = NULL; v->again = true; continue; }
        last = q;
    }
    for (i = 0, k = 0; i < nf; i++) {                       /* the rows that stayed: new values */
        lq__row *old;
        int p;
        if (!fresh[i]) continue;
        p = k++;                                            /* the rows are in the find's order now */
        if (!stay[i]) continue;
        old = lq__view_lookup(v, fresh[i]->id);
        if (p >= v->n || v->rows[p] != old) p = old ? lq__view_pos(v, old) : -1;
        if (p >= 0) lq__view_move(v, p, p, fresh[i]);
        else { lq__row_free(v, fresh[i]); v->again = true; }
    }
    v->diffing = false;
    for (i = 0; i < v->n; i++) v->rows[i]->keep = false;
    lq__free(&v->c->a, at);
    lq__free(&v->c->a, stay);
}

static void lq__view_find(lq_view *v);

static void lq__view_held_free(lq_view *v) {
    int i;
    for (i = 0; i < v->nheld; i++) lq__row_free(v, v->held[i].row);
    v->nheld = 0;
}

static bool lq__view_upserts(int type) { return type != LQ_EVENT_LEAVE && type != LQ_EVENT_DELETE; }

static bool lq__view_in_scope(const lq_view *v, const char *id) {
    int i;
    for (i = 0; i < v->nscope; i++) if (strcmp(v->scope[i], id) == 0) return true;
    return false;
}

static void lq__view_scoped(lq_view *v);

/* Applies the held events in order. Right after a load, the rule first: an update is skipped
   when the find returned its object with a later updatedAt (never a leave or a delete), and after
   a load of some rows (include), their events from before it are covered by it. It stops before
   an event whose row needs its includes loaded, and loads the rows of every such event held. */
static void lq__view_drain(lq_view *v) {
    int i, done;
    if (v->snapshot) {
        for (i = 0; i < v->nheld; i++) {
            lq__held *h = &v->held[i];
            lq__row *seen = lq__view_lookup(v, h->row->id);
            h->skip = (lq__view_upserts(h->type) && seen && strcmp(seen->updated, h->row->updated) > 0) ||
                      (v->scope && h->seq < v->scope_seq && lq__view_in_scope(v, h->row->id));
        }
        v->snapshot = false;
    }
    lq__free(&v->c->a, v->scope);
    v->scope = NULL;
    v->nscope = 0;
    for (i = 0; i < v->nheld; i++) {
        lq__held *h = &v->held[i];
        if (h->skip) { lq__row_free(v, h->row); h->row = NULL; continue; }
        if (v->ninc && lq__view_upserts(h->type) && !lq__view_graft(v, h)) break;
        lq__view_apply(v, h);
    }
    done = i;
    if (done && done < v->nheld) memmove(v->held, v->held + done, (size_t)(v->nheld - done) * sizeof *v->held);
    v->nheld -= done;
    if (v->again) lq__view_reload(v);
    else if (v->nheld) lq__view_scoped(v);
}

/* A find answered: the rows it gives, diffed in, then the held events; ready. */
static void lq__view_loaded(lq_view *v, const lq_response *res) {
    lq__row **fresh;
    lq_json it;
    int nf = 0, total = (int)lq_json_count(res->results), i;
    if (!v->scope && v->track == LQ__VIEW_ALL && total >= v->page && v->page < LQ__VIEW_ALL / 2) {
        /* no limit, and a full page: ask for all there are (the count said how many), and more */
        int64_t count = lq_json_int(lq_json_get(res->body, "count"), 0);
        int64_t want = count + count / 8 + 100;
        if (want <= v->page) want = (int64_t)v->page * 4;
        v->page = want < LQ__VIEW_ALL / 2 ? (int)want : LQ__VIEW_ALL / 2;
        lq__view_find(v);
        return;
    }
    fresh = (lq__row **)lq__alloc(&v->c->a, (size_t)(total ? total : 1) * sizeof *fresh);
    if (!fresh) { lq__view_error(v, LQ_ERR_NOMEM, 0, "out of memory for the view's rows", false); v->retry_at = v->c->now + 1000; return; }
    for (it = lq_json_child(res->results); lq_json_exists(it) && nf < total; it = lq_json_next(it)) {
        lq__row *r = lq__row_new(v, it);
        if (r) fresh[nf++] = r;
    }
    v->retries = 0;
    v->state = LQ__V_LIVE;
    v->snapshot = true;
    if (v->scope) {                                         /* some rows: each as it now is, or gone */
        for (i = 0; i < v->nscope; i++) {
            int k;
            for (k = 0; k < nf && (!fresh[k] || strcmp(fresh[k]->id, v->scope[i]) != 0); k++) {}
            if (k < nf) { lq__view_upsert(v, fresh[k]); fresh[k] = NULL; }
            else lq__view_remove_id(v, v->scope[i]);
        }
        for (i = 0; i < nf; i++) lq__row_free(v, fresh[i]);
        if (!v->complete && v->n < v->limit) v->again = true;
    } else {
        v->complete = v->track == LQ__VIEW_ALL || total < v->track;
        if (!lq__view_sort(v, fresh, nf)) v->again = true;
        lq__view_diff(v, fresh, nf);
    }
    lq__free(&v->c->a, fresh);
    if (!v->loaded || v->stale) lq__view_simple(v, LQ_VIEW_READY);
    v->loaded = true;
    v->stale = false;
    lq__view_drain(v);
}

static void lq__view_on_find(lq_client *c, const lq_response *res, void *ud) {
    lq_view *v = (lq_view *)ud;
    (void)c;
    v->req.id = 0;
    if (v->state != LQ__V_LOADING) return;
    if (res->result == LQ_OK) { lq__view_loaded(v, res); return; }
    if ((res->result == LQ_ERR_SERVER && (res->error_code == 209 || res->error_code == 119 || res->error_code == 102 ||
                                          res->error_code == 103 || res->error_code == 105)) ||
        res->status == 401 || res->status == 403 ||                  /* and wrong keys ("unauthorized") */
        (res->result == LQ_ERR_PROXY && lq_error_detail(c) >= 401 && lq_error_detail(c) <= 407)) {
        lq__view_die(v, res->result, res->error_code, res->error_message);   /* asking again cannot help */
        return;
    }
    lq__view_error(v, res->result, res->error_code, res->error_message, false);
    if (res->result == LQ_ERR_CLOSED) return;
    v->retries++;
    v->retry_at = c->now + (uint64_t)(v->retries < 5 ? 500u << v->retries : 15000u);
}

static void lq__view_find(lq_view *v) {
    lq_find_desc f;
    lq_result r;
    lq__buf w;
    int i;
    memset(&f, 0, sizeof f);
    lq__buf_init(&w, v->c);
    f.class_name = v->class_name;
    f.where = v->where;
    if (v->scope) {                                         /* {"$and":[WHERE,{"objectId":{"$in":[ids]}}]} */
        lq__buf_puts(&w, "{\"$and\":[");
        lq__buf_puts(&w, v->where ? v->where : "{}");
        lq__buf_puts(&w, ",{\"objectId\":{\"$in\":[");
        for (i = 0; i < v->nscope; i++) { if (i) lq__buf_puts(&w, ","); lq__json_put_strz(&w, v->scope[i]); }
        lq__buf_puts(&w, "]}}]}");
        f.where = lq__buf_cstr(&w);
        if (!f.where) { v->retry_at = v->c->now + 1000; return; }
    }
    f.order = v->find_order;
    f.keys = v->keys;
    f.include = v->include;
    f.limit = v->scope ? v->nscope : v->track == LQ__VIEW_ALL ? v->page : v->track;
    f.count = !v->scope && v->track == LQ__VIEW_ALL && v->page == LQ__VIEW_PAGE;   /* to size a second find */
    f.session_token = v->session_token;
    f.on_response = lq__view_on_find;
    f.user_data = v;
    v->retry_at = 0;
    r = lq_find(v->c, &f, &v->req);
    lq__buf_free(&w);
    if (r != LQ_OK) {
        lq__view_error(v, r, 0, lq_result_str(r), false);
        v->retry_at = v->c->now + 1000;
    }
}

/* Holds the events from now, and asks for the rows. */
static void lq__view_reload(lq_view *v) {
    if (v->state == LQ__V_DEAD) return;
    if (v->req.id) lq_cancel(v->c, v->req);
    v->req.id = 0;
    lq__free(&v->c->a, v->scope);
    v->scope = NULL;
    v->nscope = 0;
    v->state = LQ__V_LOADING;
    v->again = false;                                       /* what happens from now needs another load */
    v->page = LQ__VIEW_PAGE;
    lq__view_find(v);
}

/* Loads the rows of the held events that need their includes (one find for all of them). */
static void lq__view_scoped(lq_view *v) {
    int i, n = 0;
    v->scope = (char (*)[LQ__VIEW_ID_MAX])lq__alloc(&v->c->a, (size_t)v->nheld * sizeof *v->scope);
    if (!v->scope) { lq__view_reload(v); return; }
    for (i = 0; i < v->nheld; i++) {
        lq__held *h = &v->held[i];
        if (!lq__view_upserts(h->type) || lq__view_in_scope(v, h->row->id) || (i > 0 && lq__view_graft(v, h))) continue;
        memcpy(v->scope[n], h->row->id, LQ__VIEW_ID_MAX);
        v->nscope = ++n;
    }
    v->state = LQ__V_LOADING;
    v->scope_seq = v->seq;
    lq__view_find(v);
}

/* ---- the view's subscription events, and the client's ---- */

static void lq__view_hold(lq_view *v, int type, lq__row *r, lq_json original) {
    if (v->nheld >= LQ__VIEW_HELD_MAX) {                    /* a find that takes long on a busy class: */
        lq__view_held_free(v);                              /* let one more load cover them instead */
        v->again = true;
    }
    if (v->nheld == v->capheld) {
        int cap = v->capheld ? v->capheld * 2 : 16;
        lq__held *n = (lq__held *)lq__alloc(&v->c->a, (size_t)cap * sizeof *n);
        if (!n) { lq__row_free(v, r); v->again = true; return; }
        if (v->nheld) memcpy(n, v->held, (size_t)v->nheld * sizeof *n);
        lq__free(&v->c->a, v->held);
        v->held = n;
        v->capheld = cap;
    }
    memset(&v->held[v->nheld], 0, sizeof v->held[0]);
    v->held[v->nheld].type = (uint8_t)type;
    v->held[v->nheld].row = r;
    v->held[v->nheld].seq = v->seq++;
    if (type == LQ_EVENT_UPDATE && lq_json_exists(original)) {
        v->held[v->nheld].has_original = true;
        lq_json_string(lq_json_get(original, "updatedAt"), v->held[v->nheld].original_updated, sizeof v->held[0].original_updated);
    }
    v->nheld++;
}

static void lq__view_sub_event(lq_view *v, const lq_event *ev) {
    switch (ev->type) {
    case LQ_EVENT_SUBSCRIBED:
        lq__view_held_free(v);                              /* from before: the reload covers them */
        lq__view_reload(v);
        break;
    case LQ_EVENT_CREATE: case LQ_EVENT_ENTER: case LQ_EVENT_UPDATE: case LQ_EVENT_LEAVE: case LQ_EVENT_DELETE: {
        lq__row *r = lq__row_new(v, ev->object);
        if (!r) { v->again = true; if (v->state == LQ__V_LIVE) lq__view_reload(v); break; }
        if (v->state == LQ__V_DEAD || v->state == LQ__V_SUBSCRIBING) { lq__row_free(v, r); break; }
        lq__view_hold(v, (int)ev->type, r, ev->original);
        if (v->state == LQ__V_LIVE) lq__view_drain(v);
        break;
    }
    case LQ_EVENT_ERROR:
        if (ev->fatal) { lq__view_die(v, ev->result, ev->error_code, ev->error_message); break; }
        lq__view_error(v, ev->result, ev->error_code, ev->error_message, false);
        if (v->state == LQ__V_LIVE) lq__view_reload(v);     /* a refused event names no object */
        else v->again = true;
        break;
    case LQ_EVENT_UNSUBSCRIBED:
        v->sub.id = 0;
        lq__view_die(v, LQ_ERR_CLOSED, 0, "the view's subscription ended");
        break;
    default:
        break;
    }
}

/* A client event: the link lost makes every loaded view stale. */
static void lq__views_client_event(lq_client *c, const lq_event *ev) {
    lq_view *v;
    if (ev->type != LQ_EVENT_CLOSE) return;
    for (v = c->views; v; v = v->next) {
        if (v->loaded && !v->stale && v->state != LQ__V_DEAD) {
            v->stale = true;
            lq__view_simple(v, LQ_VIEW_STALE);
        }
    }
}

static void lq__views_tick(lq_client *c) {
    lq_view *v;
    for (v = c->views; v; v = v->next)
        if (v->state == LQ__V_LOADING && v->retry_at && c->now >= v->retry_at) lq__view_find(v);
}

static int64_t lq__views_timeout(const lq_client *c, uint64_t now) {
    const lq_view *v;
    int64_t t = -1;
    for (v = c->views; v; v = v->next)
        if (v->state == LQ__V_LOADING && v->retry_at) t = lq__min_timer(t, lq__until(v->retry_at, now));
    return t;
}

/* ---- the API ---- */

/* The order for the finds, from the parsed keys: "-score,objectId", so that the server breaks
   ties as the view does (and picks the same rows at the limit). */
static char *lq__view_order_text(lq_client *c, const lq__order *o) {
    lq__buf b;
    int i;
    lq__buf_init(&b, c);
    for (i = 0; i < o->n; i++) {
        if (i) lq__buf_puts(&b, ",");
        if (o->key[i].desc) lq__buf_puts(&b, "-");
        lq__buf_put(&b, o->key[i].name, o->key[i].len);
    }
    return lq__buf_cstr(&b);
}

/* "a,b" for the find: the caller's keys, the order's and those the view needs; NULL for all. */
/* Adds ",key" to a comma-separated list unless it is there (LiveQuery refuses a repeated key). */
static void lq__key_add(lq__buf *b, const char *key, size_t n) {
    size_t at = 0;
    while (at < b->len) {
        size_t end = at;
        while (end < b->len && b->data[end] != ',') end++;
        if (end - at == n && memcmp(b->data + at, key, n) == 0) return;
        at = end + 1;
    }
    lq__buf_puts(b, ",");
    lq__buf_put(b, key, n);
}

static char *lq__view_keys(lq_client *c, const lq_view_desc *d, const lq__order *o) {
    lq__buf b;
    int i;
    if (!d->num_keys) return NULL;
    lq__buf_init(&b, c);
    lq__buf_puts(&b, "objectId,createdAt,updatedAt");
    for (i = 0; i < d->num_keys; i++) lq__key_add(&b, d->keys[i], strlen(d->keys[i]));
    for (i = 0; i < o->n; i++) lq__key_add(&b, o->key[i].name, o->key[i].len);
    return lq__buf_cstr(&b);
}

static char *lq__view_join(lq_client *c, const char *const *items, int n) {
    lq__buf b;
    int i;
    if (!n) return NULL;
    lq__buf_init(&b, c);
    for (i = 0; i < n; i++) { if (i) lq__buf_puts(&b, ","); lq__buf_puts(&b, items[i]); }
    return lq__buf_cstr(&b);
}

static lq_result lq__view_check(const lq_client *c, const lq_view_desc *d) {
    int i;
    if (!c || !d || !d->on_event || !lq__rest_name_ok(d->class_name, false) || d->limit < 0 || d->num_keys < 0 ||
        d->num_include < 0 || (d->num_keys && !d->keys) || (d->num_include && !d->include))
        return LQ_ERR_INVALID_ARG;
    for (i = 0; i < d->num_keys; i++) if (!d->keys[i] || !d->keys[i][0] || strchr(d->keys[i], ',')) return LQ_ERR_INVALID_ARG;
    for (i = 0; i < d->num_include; i++) if (!d->include[i] || !d->include[i][0] || strchr(d->include[i], ',')) return LQ_ERR_INVALID_ARG;
    if (d->limit > (LQ__VIEW_ALL / 2)) return LQ_ERR_LIMIT;
    if (!c->rest || c->state == LQ_STATE_DISCONNECTED) return LQ_ERR_STATE;
    return LQ_OK;
}

static void lq__view_free(lq_view *v) {
    lq_client *c = v->c;
    int i;
    for (i = 0; i < v->n; i++) lq__row_free(v, v->rows[i]);
    lq__view_held_free(v);
    lq__free(&c->a, v->scope);
    lq__free(&c->a, v->held);
    lq__free(&c->a, v->rows);
    lq__free(&c->a, v->hash);
    lq__free(&c->a, v->class_name);
    lq__free(&c->a, v->where);
    lq__free(&c->a, v->order_text);
    lq__free(&c->a, v->find_order);
    lq__free(&c->a, v->keys);
    lq__free(&c->a, v->include);
    lq__free(&c->a, v->session_token);
    lq__free(&c->a, v);
}

static void lq__views_free(lq_client *c) {
    while (c->views) {
        lq_view *v = c->views;
        c->views = v->next;
        lq__view_free(v);
    }
}

lq_result lq_view_create(lq_client *c, const lq_view_desc *d, lq_view **out) {
    lq_view *v;
    lq_query q;
    lq_result r;
    const char *key_list[LQ__ORDER_MAX + 68];
    char *split = NULL;
    int nk = 0;
    lq__sub *s;
    if (out) *out = NULL;
    if (!out) return LQ_ERR_INVALID_ARG;
    if ((r = lq__view_check(c, d)) != LQ_OK) return r;
    v = (lq_view *)lq__alloc(&c->a, sizeof *v);
    if (!v) return LQ_ERR_NOMEM;
    memset(v, 0, sizeof *v);
    v->c = c;
    v->fn = d->on_event;
    v->user_data = d->user_data;
    v->limit = d->limit ? d->limit : LQ__VIEW_ALL;
    v->track = d->limit ? d->limit * 2 : LQ__VIEW_ALL;
    v->page = LQ__VIEW_PAGE;
    r = LQ_ERR_NOMEM;
    v->class_name = lq__strdup(&c->a, d->class_name);
    v->order_text = lq__strdup(&c->a, d->order ? d->order : "createdAt");
    if (d->where) v->where = lq__strdup(&c->a, d->where);
    if (d->session_token) v->session_token = lq__strdup(&c->a, d->session_token);
    if (!v->class_name || !v->order_text || (d->where && !v->where) || (d->session_token && !v->session_token)) goto fail;
    if ((r = lq__order_parse(v->order_text, &v->order)) != LQ_OK) goto fail;
    r = LQ_ERR_NOMEM;
    if (!(v->find_order = lq__view_order_text(c, &v->order))) goto fail;
    if (d->num_keys && !(v->keys = lq__view_keys(c, d, &v->order))) goto fail;
    if (d->num_include && !(v->include = lq__view_join(c, d->include, d->num_include))) goto fail;
    if (d->num_include > 16) { r = LQ_ERR_LIMIT; goto fail; }
    if (v->include) {                                       /* the first key of each path, into the copy */
        const char *k = v->include;
        while (*k) {
            size_t n = strcspn(k, ",.");
            v->inc[v->ninc] = k;
            v->inc_len[v->ninc++] = n;
            k += strcspn(k, ",");
            if (*k) k++;
        }
    }
    memset(&q, 0, sizeof q);
    q.class_name = d->class_name;
    q.where = d->where;
    q.session_token = d->session_token;
    if (d->num_keys) {                                      /* the subscription's keys: the same as the find's */
        char *k;
        if (d->num_keys > 64) { r = LQ_ERR_LIMIT; goto fail; }
        if (!(split = lq__strdup(&c->a, v->keys))) goto fail;
        for (k = split; k; ) {
            char *comma = strchr(k, ',');
            if (comma) *comma = 0;
            key_list[nk++] = k;
            k = comma ? comma + 1 : NULL;
        }
        q.keys = key_list;
        q.num_keys = nk;
    }
    r = lq_subscribe(c, &q, &v->sub);
    lq__free(&c->a, split);
    if (r != LQ_OK) goto fail;
    s = lq__sub_find(c, v->sub);
    s->view = v;
    v->next = c->views;
    c->views = v;
    *out = v;
    return LQ_OK;
fail:
    lq__view_free(v);
    return r;
}

void lq_view_destroy(lq_view *v) {
    lq_client *c;
    lq_view **pp;
    if (!v) return;
    c = v->c;
    LQ_ASSERT(c->in_callback == 0 && "lq_view_destroy inside a callback");
    for (pp = &c->views; *pp; pp = &(*pp)->next)
        if (*pp == v) { *pp = v->next; break; }
    lq__view_detach(v);
    lq__view_free(v);
}

int lq_view_count(const lq_view *v) { return v ? (v->n < v->limit ? v->n : v->limit) : 0; }

lq_json lq_view_row(const lq_view *v, int index) {
    lq_json none;
    if (v && index >= 0 && index < lq_view_count(v)) return v->rows[index]->obj;
    none.src = NULL;
    none.tok = NULL;
    return none;
}

int lq_view_index_of(const lq_view *v, const char *object_id) {
    const lq__row *r;
    int p;
    if (!v || !object_id) return -1;
    r = lq__view_lookup(v, object_id);
    p = r ? lq__view_pos(v, r) : -1;
    return p < lq_view_count(v) ? p : -1;
}

bool lq_view_is_ready(const lq_view *v) { return v && v->loaded && !v->stale && v->state == LQ__V_LIVE; }

size_t lq_view_heap_bytes(const lq_view *v) {
    if (!v) return 0;
    return sizeof *v + v->heap + (size_t)v->cap * sizeof *v->rows + v->hcap * sizeof *v->hash +
           (size_t)v->capheld * sizeof *v->held;
}

void *lq_view_user_data(const lq_view *v) { return v ? v->user_data : NULL; }

lq_client *lq_view_client(const lq_view *v) { return v ? v->c : NULL; }

#endif /* LQ_NO_REST */

/* >>sockets ------------------------------------------------------------------------------------- */
#ifndef LQ_NO_SOCKETS
#if defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <bcrypt.h>
#include <iphlpapi.h>
#ifdef _MSC_VER
#pragma comment(lib, "ws2_32.lib")
#pragma comment(lib, "bcrypt.lib")
#endif
typedef SOCKET lq__socket;
#define LQ__BAD_SOCKET INVALID_SOCKET
#define lq__closesocket closesocket
#define lq__poll WSAPoll
typedef int lq__socklen;
typedef int lq__iolen;
static int lq__sock_errno(void) { return WSAGetLastError(); }
static bool lq__again(int e) { return e == WSAEWOULDBLOCK; }
static bool lq__in_progress(int e) { return e == WSAEWOULDBLOCK || e == WSAEINPROGRESS; }
static bool lq__interrupted(int e) { return e == WSAEINTR; }
#define LQ__SEND_FLAGS 0
#else
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/types.h>
#if defined(__linux__)
#include <sys/random.h>
#endif
typedef int lq__socket;
#define LQ__BAD_SOCKET (-1)
#define lq__closesocket close
#define lq__poll poll
typedef socklen_t lq__socklen;
typedef size_t lq__iolen;
static int lq__sock_errno(void) { return errno; }
static bool lq__again(int e) { return e == EAGAIN || e == EWOULDBLOCK; }
static bool lq__in_progress(int e) { return e == EINPROGRESS || e == EINTR; }
static bool lq__interrupted(int e) { return e == EINTR; }
#ifdef MSG_NOSIGNAL
#define LQ__SEND_FLAGS MSG_NOSIGNAL         /* a dead peer must not kill the program with SIGPIPE */
#else
#define LQ__SEND_FLAGS 0
#endif
#endif

/* A socket error as text: strerror, or the Winsock code. */
static const char *lq__sock_strerror(int e, char *buf, size_t cap) {
#if defined(_WIN32)
    snprintf(buf, cap, "Winsock error %d", e);
    return buf;
#else
    (void)buf; (void)cap;
    return strerror(e);
#endif
}

static bool lq__os_random(void *buf, size_t len, void *user) {
    unsigned char *p = (unsigned char *)buf;
    (void)user;
#if defined(_WIN32)
    return BCryptGenRandom(NULL, p, (ULONG)len, BCRYPT_USE_SYSTEM_PREFERRED_RNG) == 0;
#elif defined(__linux__)
    while (len) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) { if (errno == EINTR) continue; return false; }
        p += n; len -= (size_t)n;
    }
    return true;
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__)
    arc4random_buf(p, len);
    return true;
#else
    {
        int fd = open("/dev/urandom", O_RDONLY);
        if (fd < 0) return false;
        while (len) {
            ssize_t n = read(fd, p, len);
            if (n <= 0) { if (n < 0 && errno == EINTR) continue; close(fd); return false; }
            p += n; len -= (size_t)n;
        }
        close(fd);
        return true;
    }
#endif
}

uint64_t lq_now_ms(void) {
#if defined(_WIN32)
    return (uint64_t)GetTickCount64();
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
#endif
}

/* Winsock needs WSAStartup before any call; it counts, so each client starts and cleans up. */
static bool lq__net_init(void) {
#if defined(_WIN32)
    WSADATA wsa;
    return WSAStartup(MAKEWORD(2, 2), &wsa) == 0;
#else
    return true;
#endif
}

static void lq__net_done(void) {
#if defined(_WIN32)
    WSACleanup();
#endif
}

static bool lq__set_nonblocking(lq__socket fd) {
#if defined(_WIN32)
    u_long on = 1;
    return ioctlsocket(fd, (long)FIONBIO, &on) == 0;
#else
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK) < 0) return false;
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    return true;
#endif
}

void lq_transport_error(lq_client *c, int detail, const char *message) {
    if (c) lq__set_error(c, detail, "%s", message ? message : "transport error");
}

/* Has the connect under way finished? */
static bool lq__tcp_writable(lq__socket fd) {
#if defined(_WIN32)
    /* WSAPoll of older Windows never reports a failed connect: select's exception set does */
    fd_set w, e;
    struct timeval zero = {0, 0};
    FD_ZERO(&w);
    FD_ZERO(&e);
    FD_SET(fd, &w);
    FD_SET(fd, &e);
    return select(0, NULL, &w, &e, &zero) > 0;
#else
    struct pollfd pfd;
    pfd.fd = fd;
    pfd.events = POLLOUT;
    pfd.revents = 0;
    return lq__poll(&pfd, 1, 0) > 0;
#endif
}

/* >>dns: an asynchronous stub resolver, with no thread -----------------------------------------
   The hosts file first; then A and AAAA queries over UDP to the nameservers of /etc/resolv.conf
   (or desc.dns_servers), with its search domains, ndots, timeout and attempts; the query again
   over TCP when an answer is truncated. The query IDs and the UDP source port come from the
   client's random source; an answer counts only from the server asked (a connected socket) and
   only when its ID, question, type and class are those asked. lq__dns_run advances it without
   blocking; the socket goes into the poll set through the transport's fd. */

#define LQ__ADDR_MAX 16         /* addresses kept per family */
#define LQ__NS_MAX 3            /* nameservers, as resolv.conf */
#define LQ__SEARCH_MAX 6        /* search domains, as resolv.conf */
#define LQ__DNS_SETTLE_MS 50    /* one family answered: wait this long for the other (RFC 8305) */

typedef union lq__sa {
    struct sockaddr sa;
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
} lq__sa;

typedef char lq__sa_fits_good_addr[sizeof(lq__sa) <= 32 ? 1 : -1];  /* lq_client.good_addr holds one */

static lq__socklen lq__sa_len(const lq__sa *a) {
    return (lq__socklen)(a->sa.sa_family == AF_INET6 ? sizeof a->v6 : sizeof a->v4);
}

/* The same address and port (a union's padding is not compared). */
static bool lq__sa_eq(const lq__sa *a, const lq__sa *b) {
    if (a->sa.sa_family != b->sa.sa_family) return false;
    if (a->sa.sa_family == AF_INET6)
        return a->v6.sin6_port == b->v6.sin6_port && a->v6.sin6_scope_id == b->v6.sin6_scope_id &&
               memcmp(&a->v6.sin6_addr, &b->v6.sin6_addr, sizeof a->v6.sin6_addr) == 0;
    return a->v4.sin_port == b->v4.sin_port && memcmp(&a->v4.sin_addr, &b->v4.sin_addr, sizeof a->v4.sin_addr) == 0;
}

static void lq__sa_port(lq__sa *a, unsigned port) {
    if (a->sa.sa_family == AF_INET6) a->v6.sin6_port = htons((unsigned short)port);
    else a->v4.sin_port = htons((unsigned short)port);
}

/* A numeric IPv4 or IPv6 address, an IPv6 one with its zone ("fe80::1%eth0" or "%2"). No
   getaddrinfo: nothing to block, and a static program needs no NSS. */
static bool lq__sa_numeric(const char *s, unsigned port, lq__sa *out) {
    char ip[64];
    const char *zone = strchr(s, '%');
    size_t n = zone ? (size_t)(zone - s) : strlen(s);
    memset(out, 0, sizeof *out);
    if (n == 0 || n >= sizeof ip) return false;
    memcpy(ip, s, n);
    ip[n] = 0;
    if (!zone && inet_pton(AF_INET, ip, &out->v4.sin_addr) == 1) {
        out->v4.sin_family = AF_INET;
    } else if (inet_pton(AF_INET6, ip, &out->v6.sin6_addr) == 1) {
        out->v6.sin6_family = AF_INET6;
        if (zone) {
            char *end;
            unsigned long id = strtoul(zone + 1, &end, 10);
            if (end == zone + 1 || *end) {
#if defined(_WIN32)
                return false;
#else
                id = if_nametoindex(zone + 1);
#endif
            }
            if (id == 0 || id > 0xFFFFFFFFu) return false;
            out->v6.sin6_scope_id = (uint32_t)id;
        }
    } else {
        return false;
    }
    lq__sa_port(out, port);
    return true;
}

/* The addresses found, per family. */
typedef struct lq__addrs {
    lq__sa a[2][LQ__ADDR_MAX];  /* [0] IPv4, [1] IPv6 */
    int n[2];
} lq__addrs;

static void lq__addrs_add(lq__addrs *s, const lq__sa *a) {
    int f = a->sa.sa_family == AF_INET6, i;
    for (i = 0; i < s->n[f]; i++)
        if (lq__sa_eq(&s->a[f][i], a)) return;
    if (s->n[f] < LQ__ADDR_MAX) s->a[f][s->n[f]++] = *a;
}

/* The next item of a list separated by spaces, commas or tabs, NUL-terminated in out: its length
   (0 at the end of the list; cap or more: too long, and out is ""). */
static size_t lq__list_next(const char **s, char *out, size_t cap) {
    size_t n;
    *s += strspn(*s, " ,\t");
    n = strcspn(*s, " ,\t");
    if (n < cap) memcpy(out, *s, n);
    out[n < cap ? n : 0] = 0;
    *s += n;
    return n;
}

/* Adds the numeric addresses in text ("a b,c"); the count added. */
static int lq__addrs_parse(lq__addrs *s, const char *text, unsigned port) {
    char one[64];
    int added = 0;
    lq__sa a;
    while (lq__list_next(&text, one, sizeof one))
        if (lq__sa_numeric(one, port, &a)) { lq__addrs_add(s, &a); added++; }
    return added;
}

static bool lq__name_eq(const char *a, const char *b) {
    size_t na = strlen(a), nb = strlen(b);
    if (na && a[na - 1] == '.') na--;
    if (nb && b[nb - 1] == '.') nb--;
    if (na != nb) return false;
    while (na--) {
        if (lq__lower((unsigned char)*a) != lq__lower((unsigned char)*b)) return false;
        a++; b++;
    }
    return true;
}

static FILE *lq__open_etc(const char *name) {
#if defined(_WIN32)
    char path[MAX_PATH];
    UINT n = GetSystemDirectoryA(path, (UINT)sizeof path);
    if (n == 0 || n + strlen(name) + 20 >= sizeof path) return NULL;
    snprintf(path + n, sizeof path - n, "\\drivers\\etc\\%s", name);
    return fopen(path, "r");
#else
    char path[64];
    snprintf(path, sizeof path, "/etc/%s", name);
    return fopen(path, "r");
#endif
}

/* The next whitespace-separated word of *p (a '#' or ';' ends the line), NUL-terminated in place. */
static char *lq__word(char **p) {
    char *s = *p, *w;
    s += strspn(s, " \t\r\n");
    if (!*s || *s == '#' || *s == ';') { *p = s + strlen(s); return NULL; }
    w = s;
    s += strcspn(s, " \t\r\n");
    if (*s) *s++ = 0;
    *p = s;
    return w;
}

/* The hosts file's addresses for host; the count found. */
static int lq__hosts_lookup(const char *host, unsigned port, lq__addrs *out) {
    char line[512];
    int found = 0;
    FILE *f = lq__open_etc("hosts");
    if (!f) return 0;
    while (fgets(line, sizeof line, f)) {
        char *p = line, *ip = lq__word(&p), *name;
        lq__sa a;
        if (!ip || !lq__sa_numeric(ip, port, &a)) continue;
        while ((name = lq__word(&p)) != NULL)
            if (lq__name_eq(name, host)) { lq__addrs_add(out, &a); found++; break; }
    }
    fclose(f);
    return found;
}

/* "localhost" and names under it are the loopback addresses (RFC 6761), hosts file or not (Windows
   has none for them). */
static bool lq__localhost(const char *host, unsigned port, lq__addrs *out) {
    size_t n = strlen(host);
    lq__sa a;
    if (n && host[n - 1] == '.') n--;
    if (!(n == 9 || (n > 9 && host[n - 10] == '.')) || !lq__ieq(host + n - 9, 9, "localhost")) return false;
    if (lq__sa_numeric("::1", port, &a)) lq__addrs_add(out, &a);
    if (lq__sa_numeric("127.0.0.1", port, &a)) lq__addrs_add(out, &a);
    return true;
}

typedef struct lq__dns_conf {
    lq__sa ns[LQ__NS_MAX];
    int nns, nsearch, ndots, timeout_ms, attempts;
    char search[LQ__SEARCH_MAX][254];
} lq__dns_conf;

/* "ip", "ip:port" or "[ipv6]:port"; port 53 unless given. */
static bool lq__ns_parse(const char *s, lq__sa *out) {
    char ip[64];
    const char *colon = strrchr(s, ':'), *end = s + strlen(s);
    unsigned long port = 53;
    if (*s == '[') {
        const char *close = strchr(s, ']');
        if (!close) return false;
        if (close[1] == ':') { colon = close + 1; end = close; }
        else if (close[1]) return false;
        else end = close;
        s++;
        if (close[1] != ':') colon = NULL;
    } else if (colon && strchr(s, ':') != colon) {
        colon = NULL;                                       /* a bare IPv6 address */
    } else if (colon) {
        end = colon;
    }
    if (colon) {
        char *e;
        port = strtoul(colon + 1, &e, 10);
        if (*e || e == colon + 1 || port == 0 || port > 65535) return false;
    }
    if ((size_t)(end - s) >= sizeof ip) return false;
    memcpy(ip, s, (size_t)(end - s));
    ip[end - s] = 0;
    return lq__sa_numeric(ip, (unsigned)port, out);
}

/* "name:N" as a number from lo to hi (clamped), or -1 when opt is not that option. */
static long lq__conf_number(const char *opt, const char *name, long lo, long hi) {
    size_t n = strlen(name);
    char *end;
    long v;
    if (strncmp(opt, name, n) != 0 || opt[n] != ':') return -1;
    v = strtol(opt + n + 1, &end, 10);
    if (end == opt + n + 1) return -1;
    return v < lo ? lo : v > hi ? hi : v;
}

static void lq__conf_option(lq__dns_conf *k, const char *opt) {
    long v;
    if ((v = lq__conf_number(opt, "ndots", 0, 15)) >= 0) k->ndots = (int)v;
    else if ((v = lq__conf_number(opt, "timeout", 1, 30)) >= 0) k->timeout_ms = (int)v * 1000;
    else if ((v = lq__conf_number(opt, "attempts", 1, 5)) >= 0) k->attempts = (int)v;
}

static void lq__conf_search(lq__dns_conf *k, char *p) {
    char *w;
    k->nsearch = 0;
    while ((w = lq__word(&p)) != NULL && k->nsearch < LQ__SEARCH_MAX)
        if (strlen(w) < sizeof k->search[0] && strcmp(w, ".") != 0) snprintf(k->search[k->nsearch++], sizeof k->search[0], "%s", w);
}

#if defined(_WIN32)
/* Windows has no resolv.conf: the nameservers and domain of GetNetworkParams, loaded when needed
   (no library to link). */
typedef DWORD(WINAPI *lq__gnp_fn)(PFIXED_INFO, PULONG);
static void lq__conf_windows(lq__dns_conf *k) {
    HMODULE dll = LoadLibraryA("iphlpapi.dll");
    lq__gnp_fn gnp;
    ULONG size = 0;
    FIXED_INFO *fi;
    const IP_ADDR_STRING *s;
    if (!dll) return;
    gnp = (lq__gnp_fn)(void (*)(void))GetProcAddress(dll, "GetNetworkParams");
    if (gnp && gnp(NULL, &size) == ERROR_BUFFER_OVERFLOW && (fi = (FIXED_INFO *)malloc(size)) != NULL) {
        if (gnp(fi, &size) == NO_ERROR) {
            for (s = &fi->DnsServerList; s && k->nns < LQ__NS_MAX; s = s->Next)
                if (lq__sa_numeric(s->IpAddress.String, 53, &k->ns[k->nns])) k->nns++;
            if (fi->DomainName[0] && k->nsearch == 0 && strlen(fi->DomainName) < sizeof k->search[0])
                snprintf(k->search[k->nsearch++], sizeof k->search[0], "%s", fi->DomainName);
        }
        free(fi);
    }
    FreeLibrary(dll);
}
#endif

/* resolv.conf as glibc reads it (the last search or domain line wins), or servers instead of its
   nameservers. Defaults: 127.0.0.1, timeout 5 s, 2 attempts, ndots 1. */
static void lq__conf_load(lq__dns_conf *k, const char *servers) {
    char line[1024];
    FILE *f = lq__open_etc("resolv.conf");
    memset(k, 0, sizeof *k);
    k->ndots = 1;
    k->timeout_ms = 5000;
    k->attempts = 2;
    while (f && fgets(line, sizeof line, f)) {
        char *p = line, *key = lq__word(&p), *w;
        if (!key) continue;
        if (strcmp(key, "nameserver") == 0) {
            if ((w = lq__word(&p)) != NULL && k->nns < LQ__NS_MAX && lq__sa_numeric(w, 53, &k->ns[k->nns])) k->nns++;
        } else if (strcmp(key, "search") == 0 || strcmp(key, "domain") == 0) {
            lq__conf_search(k, p);
        } else if (strcmp(key, "options") == 0) {
            while ((w = lq__word(&p)) != NULL) lq__conf_option(k, w);
        }
    }
    if (f) fclose(f);
#if defined(_WIN32)
    lq__conf_windows(k);
#endif
    if (servers) k->nns = 0;
    while (servers && k->nns < LQ__NS_MAX && lq__list_next(&servers, line, sizeof line))
        if (lq__ns_parse(line, &k->ns[k->nns])) k->nns++;
    if (k->nns == 0) lq__sa_numeric("127.0.0.1", 53, &k->ns[k->nns++]);
}

static bool lq__dns_servers_ok(const char *s) {
    char one[80];
    int n = 0;
    lq__sa a;
    while (lq__list_next(&s, one, sizeof one))
        if (++n > LQ__NS_MAX || !lq__ns_parse(one, &a)) return false;
    return n > 0;
}

/* The i-th name to ask for host: as it is first when it has ndots dots or more, else after the
   search domains; only as it is when it ends with a dot. False when there is no i-th. */
static bool lq__dns_candidate(const lq__dns_conf *k, const char *host, int i, char out[256]) {
    size_t n = strlen(host);
    int dots = 0, as_is;
    const char *p;
    for (p = host; *p; p++) dots += *p == '.';
    if (n && host[n - 1] == '.') {
        if (i) return false;
        snprintf(out, 256, "%.*s", (int)(n - 1), host);
        return true;
    }
    as_is = dots >= k->ndots ? 0 : k->nsearch;
    if (i == as_is) { snprintf(out, 256, "%s", host); return true; }
    if (i > as_is) i--;
    if (i >= k->nsearch) return false;
    return snprintf(out, 256, "%s.%s", host, k->search[i]) < 256;
}

enum { LQ__Q_A, LQ__Q_AAAA };
#define LQ__DNS_PENDING (-1)

typedef struct lq__dns {
    lq__socket fd;
    bool tcp;                   /* the nameserver is asked over TCP (an answer was truncated) */
    bool tcp_up;                /* its TCP connect finished and the queries are written */
    lq__dns_conf conf;
    char host[256], qname[256];
    unsigned port;
    int cand;                   /* which candidate name qname is */
    int ns, sends;              /* the nameserver asked; rounds sent for this name */
    uint16_t id[2];             /* per query type */
    int rcode[2];               /* its answer's RCODE, LQ__DNS_PENDING until then */
    bool nxdomain;              /* some candidate said NXDOMAIN (for the message) */
    int servfail;               /* the RCODE (2 or 5) of an answer that said the server failed, else 0 */
    bool timed_out;             /* every server had its rounds */
    uint64_t deadline, settle;  /* the nameserver's time is up; stop waiting for the other family */
    unsigned char *tcpbuf;      /* 2 + 65535 bytes, once TCP is needed */
    size_t tcplen;
    lq__addrs found;
} lq__dns;

/* A DNS question for qname (labels of 1..63 bytes); its length, or 0 if the name cannot be asked. */
static size_t lq__dns_query(unsigned char *q, uint16_t id, const char *qname, int type) {
    size_t n = 12;
    const char *p = qname;
    memset(q, 0, 12);
    q[0] = (unsigned char)(id >> 8); q[1] = (unsigned char)id;
    q[2] = 0x01;                                            /* RD */
    q[5] = 1;                                               /* QDCOUNT */
    while (*p) {
        size_t len = strcspn(p, ".");
        if (len == 0 || len > 63 || n + len + 1 > 12 + 255) return 0;
        q[n++] = (unsigned char)len;
        memcpy(q + n, p, len);
        n += len;
        p += len;
        if (*p) p++;
    }
    q[n++] = 0;
    q[n++] = 0; q[n++] = type == LQ__Q_A ? 1 : 28;          /* A or AAAA */
    q[n++] = 0; q[n++] = 1;                                 /* IN */
    return n;
}

/* The name at *pos in msg, dotted and lowercase in out (compression pointers followed, only
   backwards); *pos moves past it. False when it is malformed. */
static bool lq__dns_name(const unsigned char *m, size_t len, size_t *pos, char out[256]) {
    size_t p = *pos, o = 0;
    int hops = 0;
    bool jumped = false;
    for (;;) {
        unsigned c;
        if (p >= len) return false;
        c = m[p];
        if ((c & 0xC0) == 0xC0) {
            size_t to;
            if (p + 1 >= len || ++hops > 32) return false;
            to = ((size_t)(c & 0x3F) << 8) | m[p + 1];
            if (to >= p) return false;
            if (!jumped) *pos = p + 2;
            jumped = true;
            p = to;
        } else if (c & 0xC0) {
            return false;
        } else if (c == 0) {
            if (!jumped) *pos = p + 1;
            out[o] = 0;
            return true;
        } else {
            size_t i;
            if (p + 1 + c > len || o + c + 1 > 255) return false;
            if (o) out[o++] = '.';
            for (i = 0; i < c; i++) out[o++] = (char)lq__lower(m[p + 1 + i]);
            p += 1 + c;
        }
    }
}

static unsigned lq__be16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }

/* Takes the addresses an answer gives for qname or the names its CNAMEs lead to. */
static bool lq__dns_records(lq__dns *d, const unsigned char *m, size_t len, size_t pos, unsigned count) {
    char names[8][256], owner[256];
    int nnames = 1, pass;
    snprintf(names[0], sizeof names[0], "%s", d->qname);
    for (pass = 0; pass < 2; pass++) {               /* CNAMEs first, as they may come in any order */
        size_t p = pos;
        unsigned i;
        for (i = 0; i < count; i++) {
            unsigned type, cls, rdlen;
            int k;
            bool ours = false;
            if (!lq__dns_name(m, len, &p, owner) || p + 10 > len) return false;
            type = lq__be16(m + p); cls = lq__be16(m + p + 2); rdlen = lq__be16(m + p + 8);
            p += 10;
            if (p + rdlen > len) return false;
            for (k = 0; k < nnames; k++) ours = ours || lq__name_eq(owner, names[k]);
            if (ours && cls == 1 && type == 5 && pass == 0 && nnames < 8) {
                size_t q = p;
                if (!lq__dns_name(m, len, &q, names[nnames])) return false;
                nnames++;
            } else if (ours && cls == 1 && pass == 1 && ((type == 1 && rdlen == 4) || (type == 28 && rdlen == 16))) {
                lq__sa a;
                memset(&a, 0, sizeof a);
                if (type == 1) { a.v4.sin_family = AF_INET; memcpy(&a.v4.sin_addr, m + p, 4); }
                else { a.v6.sin6_family = AF_INET6; memcpy(&a.v6.sin6_addr, m + p, 16); }
                lq__sa_port(&a, d->port);
                lq__addrs_add(&d->found, &a);
            }
            p += rdlen;
        }
    }
    return true;
}

/* One message from the nameserver: counted only if it answers a question asked. */
static void lq__dns_answer(lq__dns *d, const unsigned char *m, size_t len) {
    char qn[256];
    size_t pos = 12;
    int t;
    unsigned id;
    if (len < 12) return;
    id = lq__be16(m);
    t = id == d->id[LQ__Q_A] && d->rcode[LQ__Q_A] == LQ__DNS_PENDING ? LQ__Q_A
        : id == d->id[LQ__Q_AAAA] && d->rcode[LQ__Q_AAAA] == LQ__DNS_PENDING ? LQ__Q_AAAA : -1;
    if (t < 0 || !(m[2] & 0x80) || (m[2] & 0x78) || lq__be16(m + 4) != 1) return;   /* QR, QUERY, one question */
    if (!lq__dns_name(m, len, &pos, qn) || pos + 4 > len || !lq__name_eq(qn, d->qname) ||
        lq__be16(m + pos) != (t == LQ__Q_A ? 1u : 28u) || lq__be16(m + pos + 2) != 1) return;
    if ((m[2] & 0x02) && !d->tcp) { d->tcp = true; return; }            /* TC: ask again over TCP */
    if (!lq__dns_records(d, m, len, pos + 4, lq__be16(m + 6))) return;
    d->rcode[t] = m[3] & 0x0F;
}

static void lq__dns_close(lq__dns *d) {
    if (d->fd != LQ__BAD_SOCKET) lq__closesocket(d->fd);
    d->fd = LQ__BAD_SOCKET;
}

/* A socket to the nameserver: UDP from a random port, or TCP. */
static bool lq__dns_socket(lq_client *c, lq__dns *d) {
    const lq__sa *ns = &d->conf.ns[d->ns];
    int tries;
    lq__dns_close(d);
    d->fd = socket(ns->sa.sa_family, d->tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
    if (d->fd == LQ__BAD_SOCKET) return false;
    if (!lq__set_nonblocking(d->fd)) { lq__dns_close(d); return false; }
    for (tries = 0; !d->tcp && tries < 8; tries++) {       /* else the system's (random on most) port */
        unsigned char r[2];
        lq__sa me;
        if (!c->random(r, 2, c->user_data)) break;
        memset(&me, 0, sizeof me);
        me.sa.sa_family = ns->sa.sa_family;
        lq__sa_port(&me, 1024u + (lq__be16(r) % 64512u));
        if (bind(d->fd, &me.sa, lq__sa_len(&me)) == 0) break;
    }
    if (connect(d->fd, &ns->sa, lq__sa_len(ns)) != 0 && !lq__in_progress(lq__sock_errno())) {
        lq__dns_close(d);
        return false;
    }
    d->tcp_up = false;
    d->tcplen = 0;
    return true;
}

/* Sends the questions not answered yet, with new IDs. */
static void lq__dns_send(lq_client *c, lq__dns *d) {
    int t;
    d->tcplen = 0;
    for (t = 0; t < 2; t++) {
        unsigned char q[12 + 256 + 4], r[2];
        size_t n;
        if (d->rcode[t] != LQ__DNS_PENDING) continue;
        if (!c->random(r, 2, c->user_data)) r[0] = r[1] = (unsigned char)(t + d->sends);
        d->id[t] = (uint16_t)lq__be16(r);
        if (t == LQ__Q_AAAA && d->id[t] == d->id[LQ__Q_A]) d->id[t] ^= 1;
        n = lq__dns_query(q, d->id[t], d->qname, t);
        if (d->tcp) {                                       /* written once connected */
            d->tcpbuf[d->tcplen] = (unsigned char)(n >> 8);
            d->tcpbuf[d->tcplen + 1] = (unsigned char)n;
            memcpy(d->tcpbuf + d->tcplen + 2, q, n);
            d->tcplen += n + 2;
        } else {
            if (send(d->fd, (const char *)q, (lq__iolen)n, LQ__SEND_FLAGS) < 0 && !lq__again(lq__sock_errno()))
                d->deadline = 0;                            /* refused already: the next server */
        }
    }
}

/* Asks the current nameserver (a new socket each time); false when none could be asked. */
static bool lq__dns_ask(lq_client *c, lq__dns *d, uint64_t now) {
    int left;
    for (left = d->conf.nns; left > 0; left--) {
        if (lq__dns_socket(c, d)) break;
        d->ns = (d->ns + 1) % d->conf.nns;
    }
    if (!left) return false;
    d->deadline = now + (uint64_t)d->conf.timeout_ms;
    lq__dns_send(c, d);
    d->sends++;
    return true;
}

/* Starts on candidate name i; false when there is none (or it cannot be asked). */
static bool lq__dns_begin(lq_client *c, lq__dns *d, int i, uint64_t now) {
    unsigned char probe[12 + 256 + 4];
    if (!lq__dns_candidate(&d->conf, d->host, i, d->qname)) return false;
    if (!lq__dns_query(probe, 0, d->qname, LQ__Q_A)) return lq__dns_begin(c, d, i + 1, now);
    d->cand = i;
    d->ns = 0;
    d->sends = 0;
    d->settle = 0;
    d->rcode[0] = d->rcode[1] = LQ__DNS_PENDING;
    return lq__dns_ask(c, d, now) || lq__dns_begin(c, d, i + 1, now);
}

/* TCP: connects, writes the questions, reads length-prefixed answers. */
static void lq__dns_tcp_io(lq__dns *d) {
    if (!d->tcp_up) {
        long w;
        if (!lq__tcp_writable(d->fd)) return;
        w = (long)send(d->fd, (const char *)d->tcpbuf, (lq__iolen)d->tcplen, LQ__SEND_FLAGS);
        if (w != (long)d->tcplen) { if (w < 0 && lq__again(lq__sock_errno())) return; d->deadline = 0; return; }
        d->tcp_up = true;
        d->tcplen = 0;
    }
    for (;;) {
        long r = (long)recv(d->fd, (char *)d->tcpbuf + d->tcplen, (lq__iolen)(2 + 65535 - d->tcplen), 0);
        size_t need;
        if (r <= 0) { if (r == 0 || !lq__again(lq__sock_errno())) d->deadline = 0; return; }   /* closed: next server */
        d->tcplen += (size_t)r;
        while (d->tcplen >= 2 && d->tcplen >= (need = 2 + lq__be16(d->tcpbuf))) {
            lq__dns_answer(d, d->tcpbuf + 2, need - 2);
            memmove(d->tcpbuf, d->tcpbuf + need, d->tcplen - need);
            d->tcplen -= need;
        }
    }
}

static void lq__dns_udp_io(lq__dns *d) {
    unsigned char m[1232];
    int i;
    for (i = 0; i < 64; i++) {
        long r = (long)recv(d->fd, (char *)m, (lq__iolen)sizeof m, 0);
        if (r < 0) {                                        /* nothing more; refused: the next server */
            if (!lq__again(lq__sock_errno()) && !lq__interrupted(lq__sock_errno())) d->deadline = 0;
            return;
        }
        lq__dns_answer(d, m, (size_t)r);
        if (d->tcp) return;
    }
}

static int lq__dns_fail(lq_client *c, lq__dns *d) {
    const char *why = d->servfail ? "the nameserver failed (SERVFAIL or REFUSED)" :
                      d->timed_out ? "no answer from the nameservers" : d->nxdomain ? "no such host" :
                      d->sends ? "no address for it" : "no nameserver could be asked";
    lq__set_error(c, d->servfail ? d->servfail : d->timed_out ? 0 : d->nxdomain ? 3 : 0, "cannot resolve %s: %s", d->host, why);
    return LQ_ERR_DNS;
}

/* Advances the lookup: LQ_OK when addresses are found (d->found), LQ_IO_WANT_READ while under
   way (*wake: when to be called again), LQ_ERR_DNS when the name does not resolve. */
static int lq__dns_run(lq_client *c, lq__dns *d, uint64_t now, uint64_t *wake) {
    int t, answered = 0;
    bool tcp = d->tcp;
    if (d->tcp && d->fd != LQ__BAD_SOCKET) lq__dns_tcp_io(d);
    else if (d->fd != LQ__BAD_SOCKET) lq__dns_udp_io(d);
    if (d->tcp && !tcp) {                                   /* truncated: the same server over TCP */
        if (!d->tcpbuf) d->tcpbuf = (unsigned char *)lq__alloc(&c->a, 2 + 65535);
        if (!d->tcpbuf) { lq__set_error(c, 0, "out of memory for a DNS answer over TCP"); return LQ_ERR_NOMEM; }
        if (!lq__dns_socket(c, d)) d->deadline = 0;
        else { d->deadline = now + (uint64_t)d->conf.timeout_ms; lq__dns_send(c, d); }
    }
    for (t = 0; t < 2; t++) {                               /* a server that failed: ask the next one */
        d->nxdomain = d->nxdomain || d->rcode[t] == 3;
        if (d->rcode[t] == 2 || d->rcode[t] == 5) { d->servfail = d->rcode[t]; d->rcode[t] = LQ__DNS_PENDING; d->deadline = 0; }
        answered += d->rcode[t] != LQ__DNS_PENDING;
    }
    if (d->found.n[0] + d->found.n[1] > 0) {
        if (answered == 2) return LQ_OK;
        if (!d->settle) d->settle = now + LQ__DNS_SETTLE_MS;
        if (now >= d->settle) return LQ_OK;
    } else if (answered == 2) {                             /* NXDOMAIN or no address: the next name */
        lq__dns_close(d);
        if (!lq__dns_begin(c, d, d->cand + 1, now)) return lq__dns_fail(c, d);
    }
    if (now >= d->deadline) {                               /* the next server, or the next round */
        if (d->sends >= d->conf.attempts * d->conf.nns) {
            d->timed_out = !d->servfail;
            return lq__dns_fail(c, d);
        } else {
            d->ns = (d->ns + 1) % d->conf.nns;
            if (!lq__dns_ask(c, d, now)) return lq__dns_fail(c, d);
        }
    }
    *wake = d->settle && d->settle < d->deadline ? d->settle : d->deadline;
    return LQ_IO_WANT_READ;
}

/* Did the nameservers answer that the name has no address (rather than fail to answer)? */
static bool lq__dns_said_no(const lq__dns *d) { return !d->servfail && !d->timed_out && d->sends; }

static void lq__dns_free(lq_client *c, lq__dns *d) {
    if (!d) return;
    lq__dns_close(d);
    lq__free(&c->a, d->tcpbuf);
    lq__free(&c->a, d);
}

static int lq__dns_fd(const lq__dns *d) { return d->fd == LQ__BAD_SOCKET ? -1 : (int)d->fd; }
static int lq__dns_want(const lq__dns *d) { return d->tcp && !d->tcp_up ? LQ_IO_WANT_WRITE : LQ_IO_WANT_READ; }

/* >>tcp: the built-in transport ------------------------------------------------------------------
   A connection resolves the host without blocking (a numeric host; desc.resolve or
   desc.resolve_async; else >>dns), puts the address that last connected to this host first, then
   alternates IPv6 and IPv4 (RFC 8305) and races them: the next address starts 250 ms after the
   previous one, or at once when it fails; the first to connect wins and the others are closed. */

#define LQ__RACE_MAX 4              /* connects under way at once */
#define LQ__RACE_DELAY_MS 250       /* RFC 8305's Connection Attempt Delay */

typedef struct lq__tcp {
    lq__socket fd;                  /* the connected socket */
    lq__dns *dns;                   /* while the built-in resolver works */
    bool async;                     /* while desc.resolve_async has not answered */
    lq__sa *addr;                   /* in the order they are tried (freed once connected) */
    int naddr, next;
    lq__socket race[LQ__RACE_MAX];  /* connects under way, oldest first */
    int race_addr[LQ__RACE_MAX];
    int nrace, err;
    uint64_t next_at;               /* when the next address starts */
} lq__tcp;

/* The URL's host as a C string (the parser bounds it to 253 characters). */
static void lq__host_cstr(const lq_url *u, char out[256]) {
    size_t n = u->host_len < 255 ? u->host_len : 255;
    memcpy(out, u->host, n);
    out[n] = 0;
}

#ifdef LQ__TLS_BACKEND
/* The host as an IP address: its 4 or 16 bytes, else 0. */
static size_t lq__host_ip(const char *host, unsigned char out[16]) {
    lq__sa a;
    if (!lq__sa_numeric(host, 0, &a)) return 0;
    if (a.sa.sa_family == AF_INET6) { memcpy(out, &a.v6.sin6_addr, 16); return 16; }
    memcpy(out, &a.v4.sin_addr, 4);
    return 4;
}
#endif

/* Which host and port the remembered address of a link belongs to. */
static uint32_t lq__host_key(const lq_url *u) {
    uint32_t h = 2166136261u;
    size_t i;
    for (i = 0; i < u->host_len; i++) h = (h ^ (uint32_t)lq__lower((unsigned char)u->host[i])) * 16777619u;
    return (h ^ u->port) * 16777619u | 1u;
}

static void lq__tcp_close(lq_client *c, void *self, void *conn) {
    lq__tcp *t = (lq__tcp *)conn;
    int i;
    (void)self;
    if (!t) return;
    if (t->fd != LQ__BAD_SOCKET) lq__closesocket(t->fd);
    for (i = 0; i < t->nrace; i++) lq__closesocket(t->race[i]);
    lq__dns_free(c, t->dns);
    lq__free(&c->a, t->addr);
    lq__free(&c->a, t);
}

/* The addresses in the order to try: the one that last connected to this host first, then IPv6
   and IPv4 in turn. */
static bool lq__tcp_order(lq_client *c, lq__tcp *t, const lq__addrs *s, const lq_url *url) {
    const lq__sa *good = (const lq__sa *)(const void *)c->good_addr[c->io_link];
    int i, f;
    bool have_good = c->good_key[c->io_link] == lq__host_key(url);
    t->addr = (lq__sa *)lq__alloc(&c->a, (size_t)(s->n[0] + s->n[1]) * sizeof *t->addr);
    if (!t->addr) return false;
    t->naddr = 0;
    for (i = 0; i < LQ__ADDR_MAX; i++)
        for (f = 1; f >= 0; f--)
            if (i < s->n[f]) t->addr[t->naddr++] = s->a[f][i];
    for (i = 1; have_good && i < t->naddr; i++) {
        if (lq__sa_eq(&t->addr[i], good)) {
            lq__sa keep = t->addr[i];
            memmove(&t->addr[1], &t->addr[0], (size_t)i * sizeof t->addr[0]);
            t->addr[0] = keep;
            break;
        }
    }
    return true;
}

static int lq__tcp_fail(lq_client *c, lq__tcp *t, const lq_url *url) {
    char host[256], tmp[64];
    lq__host_cstr(url, host);
    lq__set_error(c, t->err, "cannot connect to %s port %u: %s", host, (unsigned)url->port,
                  lq__sock_strerror(t->err, tmp, sizeof tmp));
    return LQ_ERR_CONNECT;
}

/* Starts a non-blocking connect to the next address; false when none could be started. */
static bool lq__tcp_start_next(lq__tcp *t) {
    while (t->next < t->naddr && t->nrace < LQ__RACE_MAX) {
        const lq__sa *a = &t->addr[t->next++];
        lq__socket fd = socket(a->sa.sa_family, SOCK_STREAM, IPPROTO_TCP);
        int one = 1;
        if (fd == LQ__BAD_SOCKET) { t->err = lq__sock_errno(); continue; }
        if (!lq__set_nonblocking(fd)) { t->err = lq__sock_errno(); lq__closesocket(fd); continue; }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
#ifdef SO_NOSIGPIPE
        setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
        if (connect(fd, &a->sa, lq__sa_len(a)) == 0 || lq__in_progress(lq__sock_errno())) {
            t->race_addr[t->nrace] = t->next - 1;
            t->race[t->nrace++] = fd;
            return true;
        }
        t->err = lq__sock_errno();
        lq__closesocket(fd);
    }
    return false;
}

/* 0: connected; an errno: failed; -1: under way. */
static int lq__connect_result(lq__socket fd) {
    int err = 0;
    lq__socklen len = sizeof err;
    if (!lq__tcp_writable(fd)) return -1;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, (char *)&err, &len) < 0) err = lq__sock_errno();
    return err;
}

/* The race: the first connect to finish wins. */
static int lq__tcp_race(lq_client *c, lq__tcp *t, const lq_url *url, uint64_t now) {
    int i = 0;
    while (i < t->nrace) {
        int err = lq__connect_result(t->race[i]);
        if (err == 0) {
            t->fd = t->race[i];
            memcpy(c->good_addr[c->io_link], &t->addr[t->race_addr[i]], sizeof(lq__sa));
            c->good_key[c->io_link] = lq__host_key(url);
            t->race[i] = LQ__BAD_SOCKET;
            for (i = 0; i < t->nrace; i++)
                if (t->race[i] != LQ__BAD_SOCKET) lq__closesocket(t->race[i]);
            t->nrace = 0;
            lq__free(&c->a, t->addr);
            t->addr = NULL;
            t->naddr = t->next = 0;
            c->wake[c->io_link] = 0;
            return LQ_OK;
        }
        if (err < 0) { i++; continue; }
        t->err = err;
        lq__closesocket(t->race[i]);
        memmove(&t->race[i], &t->race[i + 1], (size_t)(t->nrace - i - 1) * sizeof t->race[0]);
        memmove(&t->race_addr[i], &t->race_addr[i + 1], (size_t)(t->nrace - i - 1) * sizeof t->race_addr[0]);
        t->nrace--;
    }
    if ((t->nrace == 0 || now >= t->next_at) && lq__tcp_start_next(t)) t->next_at = now + LQ__RACE_DELAY_MS;
    if (t->nrace == 0) return lq__tcp_fail(c, t, url);
    c->wake[c->io_link] = t->next < t->naddr && t->nrace < LQ__RACE_MAX ? t->next_at : 0;
    return LQ_IO_WANT_WRITE;
}

/* The addresses are known: in order, and the race starts. */
static int lq__tcp_resolved(lq_client *c, lq__tcp *t, const lq__addrs *s, const lq_url *url, uint64_t now) {
    if (!lq__tcp_order(c, t, s, url)) { lq__set_error(c, 0, "out of memory for a connection"); return LQ_ERR_NOMEM; }
    return lq__tcp_race(c, t, url, now);
}

/* The resolver of desc.resolve_async, asked again: WANT_READ until it answers. */
static int lq__tcp_ask_async(lq_client *c, lq__tcp *t, const char *host, const lq_url *url, uint64_t now) {
    char out[512];
    lq__addrs s;
    int r = c->resolve_async(host, out, sizeof out, c->user_data);
    memset(&s, 0, sizeof s);
    out[sizeof out - 1] = 0;
    if (r > 0 && lq__addrs_parse(&s, out, url->port) > 0) { t->async = false; return lq__tcp_resolved(c, t, &s, url, now); }
    if (r == 0) { t->async = true; c->wake[c->io_link] = now + 10; return LQ_IO_WANT_READ; }
    lq__set_error(c, 0, "cannot resolve %s: %s", host, r > 0 ? "desc.resolve_async gave no numeric address" : "desc.resolve_async failed");
    return LQ_ERR_DNS;
}

/* Resolves: at once when it can, else the asynchronous lookup starts. */
static int lq__tcp_start(lq_client *c, lq__tcp *t, const lq_url *url, uint64_t now) {
    char host[256], out[512];
    lq__addrs s;
    lq__sa one;
    memset(&s, 0, sizeof s);
    lq__host_cstr(url, host);
    if (lq__sa_numeric(host, url->port, &one)) {                  /* a numeric host: no lookup */
        lq__addrs_add(&s, &one);
        return lq__tcp_resolved(c, t, &s, url, now);
    }
    if (c->resolve && c->resolve(host, out, sizeof out, c->user_data)) {
        out[sizeof out - 1] = 0;
        if (lq__addrs_parse(&s, out, url->port) > 0) return lq__tcp_resolved(c, t, &s, url, now);
    }
    if (c->resolve_async) return lq__tcp_ask_async(c, t, host, url, now);
    if (lq__hosts_lookup(host, url->port, &s) > 0 || lq__localhost(host, url->port, &s))
        return lq__tcp_resolved(c, t, &s, url, now);
    t->dns = (lq__dns *)lq__alloc(&c->a, sizeof *t->dns);
    if (!t->dns) { lq__set_error(c, 0, "out of memory for a DNS lookup"); return LQ_ERR_NOMEM; }
    memset(t->dns, 0, sizeof *t->dns);
    t->dns->fd = LQ__BAD_SOCKET;
    snprintf(t->dns->host, sizeof t->dns->host, "%s", host);
    t->dns->port = url->port;
    lq__conf_load(&t->dns->conf, c->dns_servers);
    if (!lq__dns_begin(c, t->dns, 0, now)) return lq__dns_fail(c, t->dns);
    c->wake[c->io_link] = t->dns->deadline;
    return lq__dns_want(t->dns);
}

/* The built-in resolver's turn; once it has the addresses, the race starts. */
static int lq__tcp_lookup(lq_client *c, lq__tcp *t, const lq_url *url, uint64_t now) {
    uint64_t wake = 0;
    int r = lq__dns_run(c, t->dns, now, &wake);
    if (r == LQ_OK) {
        lq__addrs s = t->dns->found;
        lq__dns_free(c, t->dns);
        t->dns = NULL;
        return lq__tcp_resolved(c, t, &s, url, now);
    }
    if (r == LQ_ERR_DNS && c->good_key[c->io_link] == lq__host_key(url) && !lq__dns_said_no(t->dns)) {
        lq__addrs s;
        lq__logf(c, LQ_LOG_WARN, "%s; trying the address that last connected", lq_error_message(c));
        memset(&s, 0, sizeof s);
        lq__addrs_add(&s, (const lq__sa *)(const void *)c->good_addr[c->io_link]);
        lq__dns_free(c, t->dns);
        t->dns = NULL;
        return lq__tcp_resolved(c, t, &s, url, now);
    }
    if (r != LQ_IO_WANT_READ) return r;
    c->wake[c->io_link] = wake;
    return lq__dns_want(t->dns);
}

static int lq__tcp_connect(lq_client *c, void *self, void **conn, const lq_url *url) {
    lq__tcp *t = (lq__tcp *)*conn;
    uint64_t now = lq_now_ms();
    char host[256];
    (void)self;
    if (!t) {
        int i;
        t = (lq__tcp *)lq__alloc(&c->a, sizeof *t);
        if (!t) { lq__set_error(c, 0, "out of memory for a connection"); return LQ_ERR_NOMEM; }
        memset(t, 0, sizeof *t);
        t->fd = LQ__BAD_SOCKET;
        for (i = 0; i < LQ__RACE_MAX; i++) t->race[i] = LQ__BAD_SOCKET;
        *conn = t;
        return lq__tcp_start(c, t, url, now);
    }
    if (t->fd != LQ__BAD_SOCKET) return LQ_OK;
    if (t->dns) return lq__tcp_lookup(c, t, url, now);
    if (t->async) { lq__host_cstr(url, host); return lq__tcp_ask_async(c, t, host, url, now); }
    return lq__tcp_race(c, t, url, now);
}

static long lq__tcp_send(lq_client *c, void *self, void *conn, const void *buf, size_t n) {
    lq__tcp *t = (lq__tcp *)conn;
    char tmp[64];
    (void)self;
    if (n > 1u << 30) n = 1u << 30;
    for (;;) {
        long w = (long)send(t->fd, (const char *)buf, (lq__iolen)n, LQ__SEND_FLAGS);
        int e;
        if (w >= 0) return w;
        e = lq__sock_errno();
        if (lq__interrupted(e)) continue;
        if (lq__again(e)) return LQ_IO_WANT_WRITE;
        lq__set_error(c, e, "send: %s", lq__sock_strerror(e, tmp, sizeof tmp));
        return LQ_ERR_IO;
    }
}

static long lq__tcp_recv(lq_client *c, void *self, void *conn, void *buf, size_t n) {
    lq__tcp *t = (lq__tcp *)conn;
    char tmp[64];
    (void)self;
    if (n > 1u << 30) n = 1u << 30;
    for (;;) {
        long r = (long)recv(t->fd, (char *)buf, (lq__iolen)n, 0);
        int e;
        if (r >= 0) return r;
        e = lq__sock_errno();
        if (lq__interrupted(e)) continue;
        if (lq__again(e)) return LQ_IO_WANT_READ;
        lq__set_error(c, e, "recv: %s", lq__sock_strerror(e, tmp, sizeof tmp));
        return LQ_ERR_IO;
    }
}

/* On Windows a SOCKET is a small handle: it fits the int that poll-style callers use. */
static int lq__tcp_fd(lq_client *c, void *self, void *conn) {
    lq__tcp *t = (lq__tcp *)conn;
    (void)c; (void)self;
    if (!t) return -1;
    if (t->fd != LQ__BAD_SOCKET) return (int)t->fd;
    if (t->nrace) return (int)t->race[t->nrace - 1];       /* the newest connect; lq_timeout_ms looks after the others */
    return t->dns ? lq__dns_fd(t->dns) : -1;
}

static const lq_transport lq__tcp_transport = {lq__tcp_connect, lq__tcp_send, lq__tcp_recv, NULL, lq__tcp_close,
                                               lq__tcp_fd, NULL, false};

/* >>proxy: an HTTP proxy's CONNECT tunnel ----------------------------------------------------------
   With desc.proxy_url every link's transport is this one, over the plain one (the built-in TCP, or
   the caller's, which is given the proxy's host and port) and under TLS, which so runs inside the
   tunnel and verifies the server's host. connect has the inner transport reach the proxy, sends
   CONNECT host:port (with Basic credentials when the URL has them), reads the answer (at most
   max_handshake_bytes, in whatever pieces it comes) and on 2xx is done: from then on bytes pass
   straight through, any read past the answer's head first. Another answer is LQ_ERR_PROXY, its
   status in lq_error_detail. */

#define LQ__PROXY_HOST_MAX 300  /* "http://", a host (253) or [v6] (47), ":port" */

enum { LQ__P_PROXY = 0, LQ__P_ASK, LQ__P_ANSWER, LQ__P_OPEN };     /* a tunnel's phases */

typedef struct lq__proxy {      /* per client, for both links */
    lq_transport inner;
    char *url_text;             /* "http://host:port", no credentials: what inner connects to */
    lq_url url;
    char *auth;                 /* "Proxy-Authorization: Basic ...\r\n", or NULL */
} lq__proxy;

typedef struct lq__tunnel {     /* per connection */
    void *inner;                /* the inner transport's connection */
    int phase;
    lq__buf buf;                /* the CONNECT request, then the answer, then what followed its head */
    size_t at;                  /* request bytes sent; once open, bytes of buf handed on */
} lq__tunnel;

/* The parts of http://[userinfo@]host[:port][/], escapes left in. */
typedef struct lq__proxy_parts {
    const char *userinfo, *host;        /* host: with its port, if any */
    size_t userinfo_len, host_len;
    bool port;
} lq__proxy_parts;

static const char *lq__proxy_split(const char *s, lq__proxy_parts *out) {
    const char *p, *end, *q, *bracket;
    memset(out, 0, sizeof *out);
    for (q = s; *q; q++)
        if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
            return "it contains a space, a control or a non-ASCII character (percent-encode them in the credentials)";
    p = strstr(s, "://");
    if (!p) return "it has no scheme: write http://host:port";
    if (lq__ieq(s, (size_t)(p - s), "https")) return "https:// proxies (TLS to the proxy) are not supported: use http://";
    if (!lq__ieq(s, (size_t)(p - s), "http")) return "only http:// proxies are supported";
    p += 3;
    end = p + strcspn(p, "/?#");
    if (*end && strcmp(end, "/") != 0) return "a proxy URL has no path, query or fragment";
    for (q = p; q < end; q++) {
        if (*q != '@') continue;
        out->userinfo = p;                                  /* the last '@' ends it */
        out->userinfo_len = (size_t)(q - p);
    }
    if (out->userinfo) p += out->userinfo_len + 1;
    out->host = p;
    out->host_len = (size_t)(end - p);
    if (!out->host_len || *p == ':') return "it has no host";
    bracket = *p == '[' ? (const char *)memchr(p, ']', out->host_len) : p;
    out->port = bracket && memchr(bracket, ':', (size_t)(end - bracket)) != NULL;
    return NULL;
}

/* "http://host:port" into text (the port 1080 when none is given), parsed into u. */
static const char *lq__proxy_host(const lq__proxy_parts *pp, char text[LQ__PROXY_HOST_MAX], lq_url *u) {
    if (pp->host_len > LQ__PROXY_HOST_MAX - 14) return "its host is too long";
    snprintf(text, LQ__PROXY_HOST_MAX, "http://%.*s%s", (int)pp->host_len, pp->host, pp->port ? "" : ":1080");
    return lq_url_parse(text, u) == LQ_OK ? NULL : u->error;
}

/* Percent-decodes s into out (a buffer without allocator only counts); false on a bad escape. */
static bool lq__pct_decode(const char *s, size_t n, lq__buf *out) {
    size_t i;
    for (i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '%') {
            int hi = i + 2 < n ? lq__json_hexval((unsigned char)s[i + 1]) : -1;
            int lo = hi >= 0 ? lq__json_hexval((unsigned char)s[i + 2]) : -1;
            if (lo < 0) return false;
            ch = (char)(hi << 4 | lo);
            i += 2;
        }
        lq__buf_put(out, &ch, 1);
    }
    return true;
}

/* NULL when desc.proxy_url can be used, else why not (never echoing the credentials). */
static const char *lq__proxy_check(const char *url) {
    lq__proxy_parts pp;
    lq__buf count;
    char text[LQ__PROXY_HOST_MAX];
    lq_url u;
    const char *why = lq__proxy_split(url, &pp);
    if (why) return why;
    memset(&count, 0, sizeof count);
    count.limit = (size_t)-1;
    if (!lq__pct_decode(pp.userinfo, pp.userinfo_len, &count)) return "a bad %-escape in the user name or password";
    return lq__proxy_host(&pp, text, &u);
}

/* "Proxy-Authorization: Basic base64(user:password)\r\n", the escapes decoded. */
static lq_result lq__proxy_auth(lq_client *c, lq__proxy *p, const lq__proxy_parts *pp) {
    static const char head[] = "Proxy-Authorization: Basic ";
    lq__buf plain;
    size_t n;
    memset(&plain, 0, sizeof plain);
    plain.a = &c->a;
    plain.limit = (size_t)-1 / 8;
    lq__pct_decode(pp->userinfo, pp->userinfo_len, &plain);
    if (!memchr(pp->userinfo, ':', pp->userinfo_len)) lq__buf_put(&plain, ":", 1);     /* a user alone */
    n = sizeof head - 1 + (plain.len + 2) / 3 * 4;
    p->auth = plain.err == LQ_OK ? (char *)lq__alloc(&c->a, n + 3) : NULL;
    if (p->auth) {
        memcpy(p->auth, head, sizeof head - 1);
        lq__base64((const unsigned char *)plain.data, plain.len, p->auth + sizeof head - 1);
        memcpy(p->auth + n, "\r\n", 3);
    }
    lq__buf_free(&plain);
    return p->auth ? LQ_OK : LQ_ERR_NOMEM;
}

/* Copies desc.proxy_url (lq__desc_check has checked it). */
static lq_result lq__proxy_setup(lq_client *c, const char *url) {
    lq__proxy_parts pp;
    char text[LQ__PROXY_HOST_MAX];
    lq_url u;
    lq__proxy *p;
    if (!url || !*url) return LQ_OK;
    if (lq__proxy_split(url, &pp) || lq__proxy_host(&pp, text, &u)) return LQ_ERR_URL;
    p = (lq__proxy *)lq__alloc(&c->a, sizeof *p);
    if (!p) return LQ_ERR_NOMEM;
    memset(p, 0, sizeof *p);
    c->proxy = p;
    p->url_text = lq__strdup(&c->a, text);
    if (!p->url_text) return LQ_ERR_NOMEM;
    lq_url_parse(p->url_text, &p->url);
    return pp.userinfo ? lq__proxy_auth(c, p, &pp) : LQ_OK;
}

static void lq__proxy_free(lq_client *c) {
    if (!c->proxy) return;
    lq__free(&c->a, c->proxy->url_text);
    lq__free(&c->a, c->proxy->auth);
    lq__free(&c->a, c->proxy);
    c->proxy = NULL;
}

static void lq__tunnel_hostport(lq__buf *b, const lq_url *u) {
    if (u->ipv6) lq__buf_puts(b, "[");
    lq__buf_put(b, u->host, u->host_len);
    lq__buf_puts(b, u->ipv6 ? "]:" : ":");
    lq__buf_putu(b, u->port);
}

static lq_result lq__tunnel_ask(lq_client *c, const lq__proxy *p, lq__tunnel *k, const lq_url *url) {
    lq__buf *b = &k->buf;
    b->limit = c->max_outgoing;
    lq__buf_puts(b, "CONNECT ");
    lq__tunnel_hostport(b, url);
    lq__buf_puts(b, " HTTP/1.1\r\nHost: ");
    lq__tunnel_hostport(b, url);
    lq__buf_puts(b, "\r\nUser-Agent: livequery.h\r\n");
    if (p->auth) lq__buf_puts(b, p->auth);
    lq__buf_puts(b, "\r\n");
    if (b->err != LQ_OK) lq__set_error(c, 0, "cannot build the proxy's CONNECT request: %s", lq_result_str(b->err));
    return b->err;
}

/* The inner transport could not reach the proxy: its message, said to be about the proxy. */
static int lq__proxy_unreachable(lq_client *c, int rc) {
    char was[sizeof c->errmsg];
    memcpy(was, c->errmsg, sizeof was);
    snprintf(c->errmsg, sizeof c->errmsg, "proxy: %.240s", was[0] ? was : lq_result_str((lq_result)rc));
    return rc;
}

static int lq__tunnel_send(lq_client *c, const lq__proxy *p, lq__tunnel *k) {
    while (k->at < k->buf.len) {
        long w = p->inner.send(c, p->inner.self, k->inner, k->buf.data + k->at, k->buf.len - k->at);
        if (w < 0) return (int)w;
        if (w == 0) return LQ_IO_WANT_WRITE;
        k->at += (size_t)w;
    }
    lq__buf_clear(&k->buf);
    k->buf.limit = c->max_handshake;
    k->at = 0;
    k->phase = LQ__P_ANSWER;
    return LQ_OK;
}

/* Where the head ends (after its empty line; bare LFs allowed), searching from from; 0: not yet. */
static size_t lq__head_end(const char *h, size_t n, size_t from) {
    size_t i;
    for (i = from; i + 1 < n; i++) {
        if (h[i] != '\n') continue;
        if (h[i + 1] == '\n') return i + 2;
        if (h[i + 1] == '\r' && i + 2 < n && h[i + 2] == '\n') return i + 3;
    }
    return 0;
}

/* Up to cap - 1 bytes of s before its line ends, anything unprintable as a space. */
static void lq__printable_line(const char *s, size_t n, char *out, size_t cap) {
    size_t i;
    for (i = 0; i < n && i + 1 < cap && s[i] != '\r' && s[i] != '\n'; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : ' ';
    out[i] = 0;
}

static int lq__tunnel_fail(lq_client *c, int status, const char *what, const char *text) {
    lq__set_error(c, status, "proxy %s%s", what, text);
    return LQ_ERR_PROXY;
}

/* The answer's head is complete: a 2xx opens the tunnel. */
static int lq__tunnel_answer(lq_client *c, lq__tunnel *k, size_t end) {
    const char *h = k->buf.data;
    char line[104];
    int status;
    if (end < 13 || memcmp(h, "HTTP/1.", 7) != 0 || h[7] < '0' || h[7] > '9' || h[8] != ' ' ||
        h[9] < '1' || h[9] > '5' || h[10] < '0' || h[10] > '9' || h[11] < '0' || h[11] > '9' ||
        (h[12] != ' ' && h[12] != '\r' && h[12] != '\n')) {
        lq__printable_line(h, end, line, 48);
        return lq__tunnel_fail(c, 0, "answered CONNECT with no HTTP status line: ", line);
    }
    status = (h[9] - '0') * 100 + (h[10] - '0') * 10 + (h[11] - '0');
    if (status / 100 != 2) {
        lq__printable_line(h + 9, end - 9, line, sizeof line);
        return lq__tunnel_fail(c, status, "refused CONNECT: ", line);
    }
    k->phase = LQ__P_OPEN;
    k->at = end;
    if (k->at == k->buf.len) { lq__buf_free(&k->buf); k->at = 0; }
    return LQ_OK;
}

static int lq__tunnel_read(lq_client *c, const lq__proxy *p, lq__tunnel *k) {
    for (;;) {
        size_t room = c->max_handshake - k->buf.len, from = k->buf.len > 2 ? k->buf.len - 2 : 0, end;
        long r;
        if (room == 0) {
            char max[24];
            snprintf(max, sizeof max, "%lu", (unsigned long)c->max_handshake);
            return lq__tunnel_fail(c, 0, "answered CONNECT with a head over max_handshake_bytes, ", max);
        }
        if (room > 2048) room = 2048;
        if (lq__buf_reserve(&k->buf, room) != LQ_OK) { lq__set_error(c, 0, "out of memory for the proxy's answer"); return LQ_ERR_NOMEM; }
        r = p->inner.recv(c, p->inner.self, k->inner, k->buf.data + k->buf.len, room);
        if (r == 0) return lq__tunnel_fail(c, 0, "closed the connection before it answered CONNECT", "");
        if (r < 0) return (int)r;
        k->buf.len += (size_t)r;
        end = lq__head_end(k->buf.data, k->buf.len, from);
        if (end) return lq__tunnel_answer(c, k, end);
    }
}

static int lq__proxy_connect(lq_client *c, void *self, void **conn, const lq_url *url) {
    lq__proxy *p = (lq__proxy *)self;
    lq__tunnel *k = (lq__tunnel *)*conn;
    int rc;
    if (!k) {
        k = (lq__tunnel *)lq__alloc(&c->a, sizeof *k);
        if (!k) { lq__set_error(c, 0, "out of memory for a proxy connection"); return LQ_ERR_NOMEM; }
        memset(k, 0, sizeof *k);
        k->buf.a = &c->a;
        *conn = k;
    }
    if (k->phase == LQ__P_PROXY) {
        rc = p->inner.connect(c, p->inner.self, &k->inner, &p->url);
        if (rc == LQ_IO_WANT_READ || rc == LQ_IO_WANT_WRITE) return rc;
        if (rc != LQ_OK) return lq__proxy_unreachable(c, rc);
        if ((rc = lq__tunnel_ask(c, p, k, url)) != LQ_OK) return rc;
        k->phase = LQ__P_ASK;
    }
    if (k->phase == LQ__P_ASK && (rc = lq__tunnel_send(c, p, k)) != LQ_OK) return rc;
    return k->phase == LQ__P_ANSWER ? lq__tunnel_read(c, p, k) : LQ_OK;
}

static long lq__proxy_send(lq_client *c, void *self, void *conn, const void *buf, size_t n) {
    lq__proxy *p = (lq__proxy *)self;
    return p->inner.send(c, p->inner.self, ((lq__tunnel *)conn)->inner, buf, n);
}

/* What came after the answer's head goes first. */
static long lq__proxy_recv(lq_client *c, void *self, void *conn, void *buf, size_t n) {
    lq__proxy *p = (lq__proxy *)self;
    lq__tunnel *k = (lq__tunnel *)conn;
    if (k->at < k->buf.len) {
        size_t m = k->buf.len - k->at < n ? k->buf.len - k->at : n;
        memcpy(buf, k->buf.data + k->at, m);
        k->at += m;
        if (k->at == k->buf.len) { lq__buf_free(&k->buf); k->at = 0; }
        return (long)m;
    }
    return p->inner.recv(c, p->inner.self, k->inner, buf, n);
}

static size_t lq__proxy_pending(lq_client *c, void *self, void *conn) {
    lq__proxy *p = (lq__proxy *)self;
    lq__tunnel *k = (lq__tunnel *)conn;
    if (!k || k->phase != LQ__P_OPEN) return 0;
    return k->buf.len - k->at + (p->inner.pending ? p->inner.pending(c, p->inner.self, k->inner) : 0);
}

static void lq__proxy_close(lq_client *c, void *self, void *conn) {
    lq__proxy *p = (lq__proxy *)self;
    lq__tunnel *k = (lq__tunnel *)conn;
    if (!k) return;
    if (p->inner.close) p->inner.close(c, p->inner.self, k->inner);
    lq__buf_free(&k->buf);
    lq__free(&c->a, k);
}

static int lq__proxy_fd(lq_client *c, void *self, void *conn) {
    lq__proxy *p = (lq__proxy *)self;
    lq__tunnel *k = (lq__tunnel *)conn;
    return k && p->inner.fd ? p->inner.fd(c, p->inner.self, k->inner) : -1;
}

/* Puts the proxy between a link and its transport t (the same inner transport for every link). */
static void lq__proxy_wrap(lq_client *c, lq_transport *t) {
    lq__proxy *p = c->proxy;
    p->inner = *t;
    memset(t, 0, sizeof *t);
    t->connect = lq__proxy_connect;
    t->send = lq__proxy_send;
    t->recv = lq__proxy_recv;
    t->pending = lq__proxy_pending;
    t->close = lq__proxy_close;
    t->fd = lq__proxy_fd;
    t->self = p;
}

/* >>tls: the seam ---------------------------------------------------------------------------------
   A TLS backend is one section, selected by LQ__TLS_BACKEND at the top of the implementation. It
   defines
       static lq_result lq__tls_new(lq_client *c, const lq_transport *inner, lq_transport *out);
   which fills *out with a transport that runs TLS over any inner one (the built-in TCP or the
   caller's): its self is the backend's state for this client (settings, trusted CAs, a copy of
   inner), its conn one TLS session over one connection of inner. And
       static void lq__tls_delete(lq_client *c, void *self);
   which frees that state. The backend reads the client's settings (tls_ca_file, tls_ca_pem,
   tls_insecure), checks the certificate against url's host, and names its failures through
   lq__set_error with LQ_ERR_TLS. */

#ifdef LQ__TLS_BACKEND
/* Is digest, the SHA-256 of the leaf's SubjectPublicKeyInfo, pinned? (Yes when nothing is.) Its
   base64 goes into why for the message. */
static bool lq__pinned(const lq_client *c, const unsigned char digest[32], char why[45]) {
    int i;
    lq__base64(digest, 32, why);
    for (i = 0; i < c->num_pins; i++)
        if (memcmp(c->pins + 45 * i, why, 44) == 0) return true;
    return c->num_pins == 0;
}

static int lq__pin_failed(lq_client *c, const char *digest, const char *host) {
    lq__set_error(c, 0, "TLS certificate rejected: its key (sha256/%s) is not one of desc.tls_pin_sha256 (host %s)",
                  digest, host);
    return LQ_ERR_TLS;
}
#endif

/* >>tls-mbedtls ---------------------------------------------------------------------------------- */
#ifdef LQ_USE_MBEDTLS
#include <mbedtls/ssl.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/x509_crt.h>
#include <mbedtls/error.h>
#include <mbedtls/version.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/sha256.h>
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#include <psa/crypto.h>
#define lq__mbed_sha256 mbedtls_sha256
#else
#define lq__mbed_sha256 mbedtls_sha256_ret
#endif

typedef struct lq__mbed {       /* per client */
    lq_client *c;
    lq_transport inner;
    mbedtls_ssl_config conf;
    mbedtls_x509_crt ca;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_ssl_session saved;  /* the last session, offered again on reconnect (resumption) */
    bool have_saved;
    uint32_t saved_for;         /* its host and port (lq__host_key): offered only to them */
    bool configured;            /* conf, ca, drbg and saved are set up */
} lq__mbed;

typedef struct lq__mbed_conn {  /* per connection */
    lq__mbed *m;
    void *inner;                /* the inner transport's connection */
    bool inner_up;
    bool session;               /* ssl is set up */
    uint32_t key;               /* the URL's host and port */
    unsigned char ip[16];       /* the URL's host when it is an IP literal (ip_len 4 or 16) */
    size_t ip_len;
    bool unpinned;              /* the leaf's key is not pinned: digest says which it is */
    char digest[45];
    mbedtls_ssl_context ssl;
} lq__mbed_conn;

static const char *const lq__ca_paths[] = {
    "/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/ca-bundle.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", "/etc/ssl/cert.pem",
    "/usr/local/share/certs/ca-root-nss.crt", "/usr/local/etc/openssl/cert.pem"};

static int lq__mbed_entropy(void *ctx, unsigned char *out, size_t n) {
    lq_client *c = (lq_client *)ctx;
    return c->random(out, n, c->user_data) ? 0 : -1;
}

/* mbedTLS talks to the inner transport through these. */
static int lq__mbed_bio_send(void *ctx, const unsigned char *buf, size_t n) {
    lq__mbed_conn *k = (lq__mbed_conn *)ctx;
    long r = k->m->inner.send(k->m->c, k->m->inner.self, k->inner, buf, n);
    if (r == LQ_IO_WANT_WRITE) return MBEDTLS_ERR_SSL_WANT_WRITE;
    if (r == LQ_IO_WANT_READ) return MBEDTLS_ERR_SSL_WANT_READ;
    return r < 0 ? MBEDTLS_ERR_NET_SEND_FAILED : (int)r;
}

static int lq__mbed_bio_recv(void *ctx, unsigned char *buf, size_t n) {
    lq__mbed_conn *k = (lq__mbed_conn *)ctx;
    long r = k->m->inner.recv(k->m->c, k->m->inner.self, k->inner, buf, n);
    if (r == LQ_IO_WANT_READ) return MBEDTLS_ERR_SSL_WANT_READ;
    if (r == LQ_IO_WANT_WRITE) return MBEDTLS_ERR_SSL_WANT_WRITE;
    return r < 0 ? MBEDTLS_ERR_NET_RECV_FAILED : (int)r;
}

static int lq__mbed_fail(lq_client *c, int rc, const char *what) {
    char buf[160];
    mbedtls_strerror(rc, buf, sizeof buf);
    lq__set_error(c, rc, "TLS %s failed: %s (-0x%04x)", what, buf, (unsigned)-rc);
    return LQ_ERR_TLS;
}

static int lq__mbed_load_ca(lq_client *c, lq__mbed *m) {
    int rc, i;
    if (c->tls_ca_pem) {
        rc = mbedtls_x509_crt_parse(&m->ca, (const unsigned char *)c->tls_ca_pem, strlen(c->tls_ca_pem) + 1);
        return rc < 0 ? lq__mbed_fail(c, rc, "CA PEM parsing") : LQ_OK;
    }
    if (c->tls_ca_file) {
        rc = mbedtls_x509_crt_parse_file(&m->ca, c->tls_ca_file);
        return rc < 0 ? lq__mbed_fail(c, rc, "CA file loading") : LQ_OK;
    }
    for (i = 0, rc = -1; i < (int)(sizeof lq__ca_paths / sizeof lq__ca_paths[0]) && rc < 0; i++)
        rc = mbedtls_x509_crt_parse_file(&m->ca, lq__ca_paths[i]);     /* a missing file just fails */
    if (rc >= 0) return LQ_OK;
    lq__set_error(c, 0, "no system CA bundle found: set desc.tls_ca_file");
    return LQ_ERR_TLS;
}

static int lq__mbed_configure(lq_client *c, lq__mbed *m) {
    int rc;
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    if (psa_crypto_init() != PSA_SUCCESS) { lq__set_error(c, 0, "psa_crypto_init failed"); return LQ_ERR_TLS; }
#endif
    mbedtls_ssl_config_init(&m->conf);
    mbedtls_x509_crt_init(&m->ca);
    mbedtls_ctr_drbg_init(&m->drbg);
    mbedtls_ssl_session_init(&m->saved);
    rc = mbedtls_ctr_drbg_seed(&m->drbg, lq__mbed_entropy, c, (const unsigned char *)"livequery.h", 11);
    if (rc) return lq__mbed_fail(c, rc, "random generator seeding");
    rc = mbedtls_ssl_config_defaults(&m->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
    if (rc) return lq__mbed_fail(c, rc, "configuration");
    mbedtls_ssl_conf_rng(&m->conf, mbedtls_ctr_drbg_random, &m->drbg);
#if defined(MBEDTLS_SSL_TLS1_3_SIGNAL_NEW_SESSION_TICKETS_ENABLED) && defined(MBEDTLS_SSL_PROTO_TLS1_3) && \
    defined(MBEDTLS_SSL_SESSION_TICKETS) && defined(MBEDTLS_SSL_CLI_C)
    /* TLS 1.3 tickets (3.6.1 on ignores them unless asked): lq__mbed_recv keeps them for resumption */
    mbedtls_ssl_conf_tls13_enable_signal_new_session_tickets(&m->conf, MBEDTLS_SSL_TLS1_3_SIGNAL_NEW_SESSION_TICKETS_ENABLED);
#endif
    if (c->tls_insecure) {
        mbedtls_ssl_conf_authmode(&m->conf, MBEDTLS_SSL_VERIFY_NONE);
        lq__logf(c, LQ_LOG_WARN, "TLS certificate verification is OFF (tls_insecure_skip_verify_for_tests_only)");
        return LQ_OK;
    }
    mbedtls_ssl_conf_authmode(&m->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    rc = lq__mbed_load_ca(c, m);
    if (rc != LQ_OK) return rc;
    mbedtls_ssl_conf_ca_chain(&m->conf, &m->ca, NULL);
    return LQ_OK;
}

static void lq__mbed_unconfigure(lq__mbed *m) {
    mbedtls_ssl_session_free(&m->saved);
    m->have_saved = false;
    mbedtls_ssl_config_free(&m->conf);
    mbedtls_x509_crt_free(&m->ca);
    mbedtls_ctr_drbg_free(&m->drbg);
    m->configured = false;
}

static void lq__mbed_close(lq_client *c, void *self, void *conn) {
    lq__mbed *m = (lq__mbed *)self;
    lq__mbed_conn *k = (lq__mbed_conn *)conn;
    if (!k) return;
    if (k->session) {
        if (k->inner_up) mbedtls_ssl_close_notify(&k->ssl);
        mbedtls_ssl_free(&k->ssl);
    }
    if (m->inner.close) m->inner.close(c, m->inner.self, k->inner);
    lq__free(&c->a, k);
}

/* RFC 6125 for an IP literal: only an iPAddress subjectAltName of the same bytes names it (never
   a DNS name, never the CN). mbedTLS before 3.5 checks DNS names only, and an IP as the host name
   would go out as SNI, which RFC 6066 forbids: so the name check is ours, on every version. */
static int lq__mbed_verify(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags) {
    lq__mbed_conn *k = (lq__mbed_conn *)ctx;
    const mbedtls_x509_sequence *san;
    unsigned char digest[32];
    if (depth != 0) return 0;
    if (k->m->c->num_pins) {                                /* pk_raw: the SubjectPublicKeyInfo */
        if (lq__mbed_sha256(crt->pk_raw.p, crt->pk_raw.len, digest, 0) != 0) memset(digest, 0, sizeof digest);
        k->unpinned = !lq__pinned(k->m->c, digest, k->digest);
        if (k->unpinned) *flags |= MBEDTLS_X509_BADCERT_OTHER;
    }
    if (!k->ip_len) return 0;
    for (san = &crt->subject_alt_names; san && san->buf.p; san = san->next)
        if (san->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_IP_ADDRESS) &&
            san->buf.len == k->ip_len && memcmp(san->buf.p, k->ip, k->ip_len) == 0)
            return 0;
    *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
    return 0;
}

static int lq__mbed_verify_failed(lq_client *c, lq__mbed_conn *k, const char *host) {
    char why[200];
    uint32_t flags = mbedtls_ssl_get_verify_result(&k->ssl);
    if (k->unpinned && flags == MBEDTLS_X509_BADCERT_OTHER) return lq__pin_failed(c, k->digest, host);
    if (k->ip_len && flags == MBEDTLS_X509_BADCERT_CN_MISMATCH) {
        lq__set_error(c, (int)flags, "TLS certificate rejected: it names no IP address %s (iPAddress "
                      "subjectAltName)", host);
        return LQ_ERR_TLS;
    }
    int n = mbedtls_x509_crt_verify_info(why, sizeof why, "", flags), i;
    while (n > 0 && (why[n - 1] == '\n' || why[n - 1] == ' ')) why[--n] = 0;
    for (i = 0; why[i]; i++) if (why[i] == '\n') why[i] = ';';
    lq__set_error(c, (int)flags, "TLS certificate rejected: %s (host %s)", why, host);
    return LQ_ERR_TLS;
}

/* Keeps the session of a verified connection (TLS 1.2: at the end of the handshake; TLS 1.3:
   when a ticket arrives) for the next connect to the same server. */
static void lq__mbed_save_session(lq__mbed *m, lq__mbed_conn *k) {
    mbedtls_ssl_session_free(&m->saved);
    mbedtls_ssl_session_init(&m->saved);
    m->have_saved = mbedtls_ssl_get_session(&k->ssl, &m->saved) == 0;
    m->saved_for = k->key;
}

static int lq__mbed_connect(lq_client *c, void *self, void **conn, const lq_url *url) {
    lq__mbed *m = (lq__mbed *)self;
    lq__mbed_conn *k = (lq__mbed_conn *)*conn;
    char host[256];
    int rc;
    if (!k) {
        k = (lq__mbed_conn *)lq__alloc(&c->a, sizeof *k);
        if (!k) { lq__set_error(c, 0, "out of memory for a TLS connection"); return LQ_ERR_NOMEM; }
        memset(k, 0, sizeof *k);
        k->m = m;
        *conn = k;
    }
    if (!m->configured) {                       /* a failed setup is retried whole on the next attempt */
        rc = lq__mbed_configure(c, m);
        if (rc != LQ_OK) { lq__mbed_unconfigure(m); return rc; }
        m->configured = true;
    }
    if (!k->inner_up) {
        rc = m->inner.connect(c, m->inner.self, &k->inner, url);
        if (rc != LQ_OK) return rc;
        k->inner_up = true;
    }
    lq__host_cstr(url, host);
    if (!k->session) {
        mbedtls_ssl_init(&k->ssl);
        k->session = true;
        if ((rc = mbedtls_ssl_setup(&k->ssl, &m->conf)) != 0) return lq__mbed_fail(c, rc, "setup");
        k->ip_len = lq__host_ip(host, k->ip);
        /* an IP: no SNI and no name check by mbedTLS (NULL says so on purpose), lq__mbed_verify's */
        if ((rc = mbedtls_ssl_set_hostname(&k->ssl, k->ip_len ? NULL : host)) != 0) return lq__mbed_fail(c, rc, "host name");
        if (!c->tls_insecure) mbedtls_ssl_set_verify(&k->ssl, lq__mbed_verify, k);
        mbedtls_ssl_set_bio(&k->ssl, k, lq__mbed_bio_send, lq__mbed_bio_recv, NULL);
        k->key = lq__host_key(url);
        if (m->have_saved && m->saved_for == k->key) mbedtls_ssl_set_session(&k->ssl, &m->saved);   /* resume, if the server will */
    }
    rc = mbedtls_ssl_handshake(&k->ssl);
#ifdef MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET
    if (rc == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) rc = 0;  /* tickets come after the handshake */
#endif
    if (rc == MBEDTLS_ERR_SSL_WANT_READ) return LQ_IO_WANT_READ;
    if (rc == MBEDTLS_ERR_SSL_WANT_WRITE) return LQ_IO_WANT_WRITE;
    if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) return lq__mbed_verify_failed(c, k, host);
    if (rc) return lq__mbed_fail(c, rc, "handshake");
    lq__mbed_save_session(m, k);
    return LQ_OK;
}

static long lq__mbed_send(lq_client *c, void *self, void *conn, const void *buf, size_t n) {
    lq__mbed_conn *k = (lq__mbed_conn *)conn;
    int rc;
    (void)self;
    if (n > 16384) n = 16384;                               /* one record; the caller repeats n */
    rc = mbedtls_ssl_write(&k->ssl, (const unsigned char *)buf, n);
#ifdef MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET
    {   /* a TLS 1.3 ticket read on the way: keep it, write again */
        int tickets = 0;
        while (rc == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET && ++tickets < 8) {
            lq__mbed_save_session(k->m, k);
            rc = mbedtls_ssl_write(&k->ssl, (const unsigned char *)buf, n);
        }
        if (rc == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) return LQ_IO_WANT_WRITE;
    }
#endif
    if (rc == MBEDTLS_ERR_SSL_WANT_READ) return LQ_IO_WANT_READ;
    if (rc == MBEDTLS_ERR_SSL_WANT_WRITE) return LQ_IO_WANT_WRITE;
    if (rc < 0) return lq__mbed_fail(c, rc, "write");
    return rc;
}

static long lq__mbed_recv(lq_client *c, void *self, void *conn, void *buf, size_t n) {
    lq__mbed_conn *k = (lq__mbed_conn *)conn;
    int rc = mbedtls_ssl_read(&k->ssl, (unsigned char *)buf, n);
    (void)self;
#ifdef MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET
    /* TLS 1.3 servers send tickets after the handshake (Node sends two): read on past them, a
       few at a time, so data behind them is not left for the next lq_step */
    {
        int tickets = 0;
        while (rc == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET && ++tickets < 8) {
            lq__mbed_save_session(k->m, k);
            rc = mbedtls_ssl_read(&k->ssl, (unsigned char *)buf, n);
        }
        if (rc == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) return LQ_IO_WANT_READ;
    }
#endif
    if (rc == MBEDTLS_ERR_SSL_WANT_READ) return LQ_IO_WANT_READ;
    if (rc == MBEDTLS_ERR_SSL_WANT_WRITE) return LQ_IO_WANT_WRITE;
    if (rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) return 0;
    if (rc < 0) return lq__mbed_fail(c, rc, "read");
    return rc;
}

static size_t lq__mbed_pending(lq_client *c, void *self, void *conn) {
    lq__mbed_conn *k = (lq__mbed_conn *)conn;
    (void)c; (void)self;
    if (!k || !k->session) return 0;
    return mbedtls_ssl_get_bytes_avail(&k->ssl) + (size_t)mbedtls_ssl_check_pending(&k->ssl);
}

static int lq__mbed_fd(lq_client *c, void *self, void *conn) {
    lq__mbed *m = (lq__mbed *)self;
    lq__mbed_conn *k = (lq__mbed_conn *)conn;
    return k && m->inner.fd ? m->inner.fd(c, m->inner.self, k->inner) : -1;
}

static lq_result lq__tls_new(lq_client *c, const lq_transport *inner, lq_transport *out) {
    lq__mbed *m = (lq__mbed *)lq__alloc(&c->a, sizeof *m);
    if (!m) return LQ_ERR_NOMEM;
    memset(m, 0, sizeof *m);
    m->c = c;
    m->inner = *inner;
    memset(out, 0, sizeof *out);
    out->connect = lq__mbed_connect;
    out->send = lq__mbed_send;
    out->recv = lq__mbed_recv;
    out->pending = lq__mbed_pending;
    out->close = lq__mbed_close;
    out->fd = lq__mbed_fd;
    out->self = m;
    out->tls = true;
    return LQ_OK;
}

static void lq__tls_delete(lq_client *c, void *self) {
    lq__mbed *m = (lq__mbed *)self;
    if (m->configured) lq__mbed_unconfigure(m);
    lq__free(&c->a, m);
}
#endif /* LQ_USE_MBEDTLS */

/* >>tls-openssl ---------------------------------------------------------------------------------- */
#ifdef LQ_USE_OPENSSL
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <openssl/sha.h>

typedef struct lq__ossl {       /* per client */
    lq_client *c;
    lq_transport inner;
    SSL_CTX *ctx;               /* settings and trusted CAs, made at the first connect */
    BIO_METHOD *method;         /* the BIO that talks to the inner transport */
    SSL_SESSION *saved;         /* the last session, offered again on reconnect (resumption) */
    uint32_t saved_for;         /* its host and port (lq__host_key): offered only to them */
} lq__ossl;

typedef struct lq__ossl_conn {  /* per connection */
    lq__ossl *o;
    void *inner;                /* the inner transport's connection */
    bool inner_up;
    SSL *ssl;
    uint32_t key;               /* the URL's host and port */
    unsigned char ip[16];       /* the URL's host when it is an IP literal (ip_len 4 or 16) */
    size_t ip_len;
} lq__ossl_conn;

/* The first queued OpenSSL error as text (the queue is emptied). */
static void lq__ossl_err(char *buf, size_t cap) {
    unsigned long e = ERR_get_error();
    if (e) ERR_error_string_n(e, buf, cap);
    else snprintf(buf, cap, "no further detail");
    ERR_clear_error();
}

static int lq__ossl_fail(lq_client *c, int detail, const char *what) {
    char buf[200];
    lq__ossl_err(buf, sizeof buf);
    lq__set_error(c, detail, "TLS %s failed: %s", what, buf);
    return LQ_ERR_TLS;
}

/* The BIO under SSL: bytes go to and come from the inner transport; WANT_* become retries. */
static int lq__ossl_bio_write(BIO *b, const char *buf, int n) {
    lq__ossl_conn *k = (lq__ossl_conn *)BIO_get_data(b);
    long r = k->o->inner.send(k->o->c, k->o->inner.self, k->inner, buf, (size_t)n);
    BIO_clear_retry_flags(b);
    if (r == LQ_IO_WANT_WRITE || r == LQ_IO_WANT_READ) { BIO_set_retry_write(b); return -1; }
    return r < 0 ? -1 : (int)r;
}

static int lq__ossl_bio_read(BIO *b, char *buf, int n) {
    lq__ossl_conn *k = (lq__ossl_conn *)BIO_get_data(b);
    long r = k->o->inner.recv(k->o->c, k->o->inner.self, k->inner, buf, (size_t)n);
    BIO_clear_retry_flags(b);
    if (r == LQ_IO_WANT_READ || r == LQ_IO_WANT_WRITE) { BIO_set_retry_read(b); return -1; }
    return r < 0 ? -1 : (int)r;
}

static long lq__ossl_bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
    (void)b; (void)num; (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int lq__ossl_load_ca(lq_client *c, SSL_CTX *ctx) {
    if (c->tls_ca_pem) {
        BIO *mem = BIO_new_mem_buf(c->tls_ca_pem, -1);
        X509_STORE *store = SSL_CTX_get_cert_store(ctx);
        X509 *x;
        int n = 0;
        while (mem && (x = PEM_read_bio_X509(mem, NULL, NULL, NULL)) != NULL) {
            n += X509_STORE_add_cert(store, x) == 1;
            X509_free(x);
        }
        BIO_free(mem);
        ERR_clear_error();                                  /* the end of the PEM text */
        if (n) return LQ_OK;
        lq__set_error(c, 0, "TLS CA PEM parsing failed: no certificate in desc.tls_ca_pem");
        return LQ_ERR_TLS;
    }
    if (c->tls_ca_file) {
        if (SSL_CTX_load_verify_locations(ctx, c->tls_ca_file, NULL) == 1) return LQ_OK;
        return lq__ossl_fail(c, 0, "CA file loading");
    }
    if (SSL_CTX_set_default_verify_paths(ctx) == 1) return LQ_OK;
    return lq__ossl_fail(c, 0, "loading the system CA store");
}

/* OpenSSL hands over each new session (TLS 1.3: each ticket): keep the last one. */
static int lq__ossl_new_session(SSL *ssl, SSL_SESSION *session) {
    lq__ossl_conn *k = (lq__ossl_conn *)SSL_get_app_data(ssl);
    if (!k) return 0;
    SSL_SESSION_free(k->o->saved);
    k->o->saved = session;
    k->o->saved_for = k->key;
    return 1;                                               /* it is ours now */
}

static int lq__ossl_configure(lq_client *c, lq__ossl *o) {
    o->ctx = SSL_CTX_new(TLS_client_method());
    if (!o->ctx) return lq__ossl_fail(c, 0, "configuration");
    SSL_CTX_set_session_cache_mode(o->ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(o->ctx, lq__ossl_new_session);
    SSL_CTX_set_min_proto_version(o->ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(o->ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
    if (c->tls_insecure) {
        SSL_CTX_set_verify(o->ctx, SSL_VERIFY_NONE, NULL);
        lq__logf(c, LQ_LOG_WARN, "TLS certificate verification is OFF (tls_insecure_skip_verify_for_tests_only)");
        return LQ_OK;
    }
    SSL_CTX_set_verify(o->ctx, SSL_VERIFY_PEER, NULL);
    return lq__ossl_load_ca(c, o->ctx);
}

static void lq__ossl_close(lq_client *c, void *self, void *conn) {
    lq__ossl *o = (lq__ossl *)self;
    lq__ossl_conn *k = (lq__ossl_conn *)conn;
    if (!k) return;
    if (k->ssl) {
        if (k->inner_up && SSL_is_init_finished(k->ssl)) SSL_shutdown(k->ssl);   /* close_notify, not waited for */
        SSL_free(k->ssl);                                   /* and its BIO */
    }
    ERR_clear_error();
    if (o->inner.close) o->inner.close(c, o->inner.self, k->inner);
    lq__free(&c->a, k);
}

/* The session of a new connection: SNI and the host check for a name, the IP check for an IP
   literal (RFC 6125: iPAddress subjectAltNames only; no SNI, RFC 6066). */
static int lq__ossl_session(lq_client *c, lq__ossl_conn *k, const char *host) {
    X509_VERIFY_PARAM *param;
    BIO *bio;
    k->ssl = SSL_new(k->o->ctx);
    bio = k->ssl ? BIO_new(k->o->method) : NULL;
    if (!bio) return lq__ossl_fail(c, 0, "setup");
    BIO_set_data(bio, k);
    BIO_set_init(bio, 1);
    SSL_set_bio(k->ssl, bio, bio);
    SSL_set_app_data(k->ssl, k);
    if (k->o->saved && k->o->saved_for == k->key) SSL_set_session(k->ssl, k->o->saved);   /* resume, if the server will */
    param = SSL_get0_param(k->ssl);
    k->ip_len = lq__host_ip(host, k->ip);
    if (k->ip_len) {
        if (X509_VERIFY_PARAM_set1_ip(param, k->ip, k->ip_len) != 1) return lq__ossl_fail(c, 0, "host check");
    } else {
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (X509_VERIFY_PARAM_set1_host(param, host, 0) != 1 || SSL_set_tlsext_host_name(k->ssl, host) != 1)
            return lq__ossl_fail(c, 0, "host name");
    }
    return LQ_OK;
}

static int lq__ossl_verify_failed(lq_client *c, lq__ossl_conn *k, const char *host) {
    long v = SSL_get_verify_result(k->ssl);
    ERR_clear_error();
    if (v == X509_V_ERR_IP_ADDRESS_MISMATCH)
        lq__set_error(c, (int)v, "TLS certificate rejected: it names no IP address %s (iPAddress subjectAltName)", host);
    else
        lq__set_error(c, (int)v, "TLS certificate rejected: %s (host %s)", X509_verify_cert_error_string(v), host);
    return LQ_ERR_TLS;
}

/* With pins set, the leaf's SubjectPublicKeyInfo must hash to one of them. */
static int lq__ossl_check_pin(lq_client *c, lq__ossl_conn *k, const char *host) {
    unsigned char digest[32], *der = NULL;
    char b64[45];
    X509 *leaf;
    int n = -1;
    if (!c->num_pins || c->tls_insecure) return LQ_OK;
    leaf = SSL_get_peer_certificate(k->ssl);
    if (leaf) n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(leaf), &der);
    X509_free(leaf);
    if (n <= 0 || !SHA256(der, (size_t)n, digest)) memset(digest, 0, sizeof digest);
    OPENSSL_free(der);
    ERR_clear_error();
    return lq__pinned(c, digest, b64) ? LQ_OK : lq__pin_failed(c, b64, host);
}

static int lq__ossl_want(lq_client *c, lq__ossl_conn *k, int rc, const char *what) {
    int e = SSL_get_error(k->ssl, rc);
    if (e == SSL_ERROR_WANT_READ) return LQ_IO_WANT_READ;
    if (e == SSL_ERROR_WANT_WRITE) return LQ_IO_WANT_WRITE;
    if (e == SSL_ERROR_ZERO_RETURN) return 0;
    if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && lq_error_message(c)[0] && rc <= 0)
        return LQ_ERR_IO;                                   /* the inner transport said why */
    return lq__ossl_fail(c, e, what);
}

static int lq__ossl_connect(lq_client *c, void *self, void **conn, const lq_url *url) {
    lq__ossl *o = (lq__ossl *)self;
    lq__ossl_conn *k = (lq__ossl_conn *)*conn;
    char host[256];
    int rc;
    if (!k) {
        k = (lq__ossl_conn *)lq__alloc(&c->a, sizeof *k);
        if (!k) { lq__set_error(c, 0, "out of memory for a TLS connection"); return LQ_ERR_NOMEM; }
        memset(k, 0, sizeof *k);
        k->o = o;
        *conn = k;
    }
    if (!o->ctx && (rc = lq__ossl_configure(c, o)) != LQ_OK) {     /* retried whole on the next attempt */
        SSL_CTX_free(o->ctx);
        o->ctx = NULL;
        return rc;
    }
    if (!k->inner_up) {
        rc = o->inner.connect(c, o->inner.self, &k->inner, url);
        if (rc != LQ_OK) return rc;
        k->inner_up = true;
    }
    lq__host_cstr(url, host);
    if (!k->ssl) k->key = lq__host_key(url);
    if (!k->ssl && (rc = lq__ossl_session(c, k, host)) != LQ_OK) return rc;
    rc = SSL_connect(k->ssl);
    if (rc == 1) return lq__ossl_check_pin(c, k, host);
    if (SSL_get_verify_result(k->ssl) != X509_V_OK && SSL_get_error(k->ssl, rc) == SSL_ERROR_SSL)
        return lq__ossl_verify_failed(c, k, host);
    rc = lq__ossl_want(c, k, rc, "handshake");
    return rc == 0 ? lq__ossl_fail(c, 0, "handshake") : rc;
}

static long lq__ossl_send(lq_client *c, void *self, void *conn, const void *buf, size_t n) {
    lq__ossl_conn *k = (lq__ossl_conn *)conn;
    int rc;
    (void)self;
    if (n > 16384) n = 16384;                               /* one record; the caller repeats n */
    rc = SSL_write(k->ssl, buf, (int)n);
    if (rc > 0) return rc;
    rc = lq__ossl_want(c, k, rc, "write");
    return rc == 0 ? LQ_ERR_CLOSED : rc;
}

static long lq__ossl_recv(lq_client *c, void *self, void *conn, void *buf, size_t n) {
    lq__ossl_conn *k = (lq__ossl_conn *)conn;
    int rc;
    (void)self;
    if (n > 0x40000000u) n = 0x40000000u;
    rc = SSL_read(k->ssl, buf, (int)n);
    if (rc > 0) return rc;
    return lq__ossl_want(c, k, rc, "read");
}

static size_t lq__ossl_pending(lq_client *c, void *self, void *conn) {
    lq__ossl_conn *k = (lq__ossl_conn *)conn;
    (void)c; (void)self;
    return k && k->ssl ? (size_t)SSL_pending(k->ssl) + (size_t)SSL_has_pending(k->ssl) : 0;
}

static int lq__ossl_fd(lq_client *c, void *self, void *conn) {
    lq__ossl *o = (lq__ossl *)self;
    lq__ossl_conn *k = (lq__ossl_conn *)conn;
    return k && o->inner.fd ? o->inner.fd(c, o->inner.self, k->inner) : -1;
}

static lq_result lq__tls_new(lq_client *c, const lq_transport *inner, lq_transport *out) {
    lq__ossl *o = (lq__ossl *)lq__alloc(&c->a, sizeof *o);
    if (!o) return LQ_ERR_NOMEM;
    memset(o, 0, sizeof *o);
    o->c = c;
    o->inner = *inner;
    o->method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "livequery.h transport");
    if (!o->method || !BIO_meth_set_write(o->method, lq__ossl_bio_write) ||
        !BIO_meth_set_read(o->method, lq__ossl_bio_read) || !BIO_meth_set_ctrl(o->method, lq__ossl_bio_ctrl)) {
        BIO_meth_free(o->method);
        lq__free(&c->a, o);
        return LQ_ERR_NOMEM;
    }
    memset(out, 0, sizeof *out);
    out->connect = lq__ossl_connect;
    out->send = lq__ossl_send;
    out->recv = lq__ossl_recv;
    out->pending = lq__ossl_pending;
    out->close = lq__ossl_close;
    out->fd = lq__ossl_fd;
    out->self = o;
    out->tls = true;
    return LQ_OK;
}

static void lq__tls_delete(lq_client *c, void *self) {
    lq__ossl *o = (lq__ossl *)self;
    SSL_SESSION_free(o->saved);
    SSL_CTX_free(o->ctx);
    BIO_meth_free(o->method);
    lq__free(&c->a, o);
}
#endif /* LQ_USE_OPENSSL */

/* >>tls-schannel --------------------------------------------------------------------------------- */
#ifdef LQ_USE_SCHANNEL
/* Windows' own TLS: nothing to ship. Schannel does the records and the handshake; the checks are
   the library's, the same as the other backends': the chain is built by CryptoAPI against the
   system store or the caller's CAs alone, the host is matched here from the subjectAltNames
   (RFC 6125), the pins from the leaf's DER. Schannel gets SCH_CRED_MANUAL_CRED_VALIDATION and
   no target name for an IP literal (that is also what keeps SNI off for it). */
#define SECURITY_WIN32
#define SCHANNEL_USE_BLACKLISTS         /* SCH_CREDENTIALS, the only way to TLS 1.3 */
#include <subauth.h>
#include <security.h>
#include <schannel.h>
#include <wincrypt.h>
#ifdef _MSC_VER
#pragma comment(lib, "secur32.lib")
#pragma comment(lib, "crypt32.lib")
#endif

#define LQ__SCH_IN_START (5 + 16384 + 2048)     /* one record, the largest */
#define LQ__SCH_IN_MAX ((size_t)256 << 10)      /* a handshake flight; a bigger one fails, named */
#define LQ__SCH_ISC_FLAGS (ISC_REQ_SEQUENCE_DETECT | ISC_REQ_REPLAY_DETECT | ISC_REQ_CONFIDENTIALITY | \
                           ISC_REQ_ALLOCATE_MEMORY | ISC_REQ_STREAM | ISC_REQ_MANUAL_CRED_VALIDATION)

typedef struct lq__sch {        /* per client */
    lq_transport inner;
    CredHandle cred;            /* one for the client's life: Schannel's session cache hangs on it */
    HCERTSTORE roots;           /* tls_ca_file / tls_ca_pem, the only trust anchors; NULL: the system's */
    bool configured;            /* cred (and roots) are set up */
} lq__sch;

typedef struct lq__sch_conn {   /* per connection */
    lq__sch *s;
    void *inner;                /* the inner transport's connection */
    bool inner_up;
    CtxtHandle ctx;
    bool have_ctx;
    bool hs_done;               /* the handshake (or a renegotiation) is over */
    bool need_input;            /* Schannel wants more bytes than in holds */
    bool checked;               /* the certificate of this handshake passed */
    bool incomplete;            /* in holds part of a record only */
    bool eof;                   /* close_notify came */
    char host[256];             /* the URL's host: the target name and SNI unless it is an IP */
    unsigned char ip[16];       /* the URL's host when it is an IP literal (ip_len 4 or 16) */
    size_t ip_len;
    SecPkgContext_StreamSizes sizes;
    unsigned char *in;          /* bytes from inner: [plain_off, +plain_len) decrypted, then the */
    size_t in_len, in_cap;      /* undecrypted ones from raw_off to in_len */
    size_t plain_off, plain_len, raw_off;
    unsigned char *out;         /* bytes for inner, sent from out_off; sealed: the plaintext */
    size_t out_len, out_off, out_cap, sealed;   /* bytes a record in out carries (0: a token) */
} lq__sch_conn;

/* SECURITY_STATUS names, for messages a reader can look up. */
static const char *lq__sch_status_name(SECURITY_STATUS st) {
    static const struct { SECURITY_STATUS st; const char *name; } names[] = {
        {SEC_E_ILLEGAL_MESSAGE, "SEC_E_ILLEGAL_MESSAGE"}, {SEC_E_ALGORITHM_MISMATCH, "SEC_E_ALGORITHM_MISMATCH"},
        {SEC_E_INVALID_TOKEN, "SEC_E_INVALID_TOKEN"}, {SEC_E_MESSAGE_ALTERED, "SEC_E_MESSAGE_ALTERED"},
        {SEC_E_DECRYPT_FAILURE, "SEC_E_DECRYPT_FAILURE"}, {SEC_E_ENCRYPT_FAILURE, "SEC_E_ENCRYPT_FAILURE"},
        {SEC_E_INTERNAL_ERROR, "SEC_E_INTERNAL_ERROR"}, {SEC_E_UNSUPPORTED_FUNCTION, "SEC_E_UNSUPPORTED_FUNCTION"},
        {SEC_E_NO_CREDENTIALS, "SEC_E_NO_CREDENTIALS"}, {SEC_E_UNKNOWN_CREDENTIALS, "SEC_E_UNKNOWN_CREDENTIALS"},
        {SEC_E_INSUFFICIENT_MEMORY, "SEC_E_INSUFFICIENT_MEMORY"}, {SEC_E_INVALID_HANDLE, "SEC_E_INVALID_HANDLE"},
        {SEC_E_CONTEXT_EXPIRED, "SEC_E_CONTEXT_EXPIRED"}, {SEC_E_BUFFER_TOO_SMALL, "SEC_E_BUFFER_TOO_SMALL"},
        {SEC_E_WRONG_PRINCIPAL, "SEC_E_WRONG_PRINCIPAL"}, {SEC_E_UNTRUSTED_ROOT, "SEC_E_UNTRUSTED_ROOT"},
        {SEC_E_CERT_EXPIRED, "SEC_E_CERT_EXPIRED"}, {SEC_E_CERT_UNKNOWN, "SEC_E_CERT_UNKNOWN"},
        {SEC_E_INCOMPLETE_MESSAGE, "SEC_E_INCOMPLETE_MESSAGE"}, {SEC_I_INCOMPLETE_CREDENTIALS, "SEC_I_INCOMPLETE_CREDENTIALS"}};
    size_t i;
    for (i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].st == st) return names[i].name;
    return "SECURITY_STATUS";
}

static int lq__sch_fail(lq_client *c, SECURITY_STATUS st, const char *what) {
    char text[160] = "";
    size_t n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, (DWORD)st, 0, text,
                              (DWORD)sizeof text, NULL);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' ' || text[n - 1] == '.')) text[--n] = 0;
    lq__set_error(c, (int)st, "TLS %s failed: %s (0x%08lx)%s%s", what, lq__sch_status_name(st), (unsigned long)(DWORD)st,
                  n ? ": " : "", text);
    return LQ_ERR_TLS;
}

/* ---- trusted CAs: the PEM text's certificates into a memory store -------------------------- */

static int lq__sch_add_pem(lq_client *c, HCERTSTORE store, const char *pem, const char *what) {
    static const char begin[] = "-----BEGIN CERTIFICATE-----", end[] = "-----END CERTIFICATE-----";
    const char *b, *e;
    int n = 0;
    for (b = strstr(pem, begin); b; b = strstr(e, begin)) {
        DWORD len = 0;
        BYTE *der;
        BOOL ok;
        e = strstr(b, end);
        if (!e) break;
        e += sizeof end - 1;
        if (!CryptStringToBinaryA(b, (DWORD)(e - b), CRYPT_STRING_BASE64HEADER, NULL, &len, NULL, NULL) || !len ||
            !(der = (BYTE *)lq__alloc(&c->a, len))) {
            lq__set_error(c, (int)GetLastError(), "TLS %s parsing failed: certificate %d is not base64 DER", what, n + 1);
            return LQ_ERR_TLS;
        }
        ok = CryptStringToBinaryA(b, (DWORD)(e - b), CRYPT_STRING_BASE64HEADER, der, &len, NULL, NULL) &&
             CertAddEncodedCertificateToStore(store, X509_ASN_ENCODING, der, len, CERT_STORE_ADD_ALWAYS, NULL);
        lq__free(&c->a, der);
        if (!ok) {
            lq__set_error(c, (int)GetLastError(), "TLS %s parsing failed: certificate %d is not an X.509 certificate", what, n + 1);
            return LQ_ERR_TLS;
        }
        n++;
    }
    if (n) return LQ_OK;
    lq__set_error(c, 0, "TLS %s parsing failed: no certificate in it", what);
    return LQ_ERR_TLS;
}

static int lq__sch_load_file(lq_client *c, HCERTSTORE store) {
    FILE *f = fopen(c->tls_ca_file, "rb");
    char *text = NULL;
    long n = -1;
    int rc;
    if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n < (16L << 20) && fseek(f, 0, SEEK_SET) == 0 &&
        (text = (char *)lq__alloc(&c->a, (size_t)n + 1)) != NULL && fread(text, 1, (size_t)n, f) == (size_t)n) {
        text[n] = 0;
        fclose(f);
        rc = lq__sch_add_pem(c, store, text, "CA file");
        lq__free(&c->a, text);
        return rc;
    }
    if (f) fclose(f);
    lq__free(&c->a, text);
    lq__set_error(c, 0, "TLS CA file loading failed: cannot read %s", c->tls_ca_file);
    return LQ_ERR_TLS;
}

/* TLS 1.2 and 1.3 through SCH_CREDENTIALS (Windows 10 1809 on); older systems only know
   SCHANNEL_CRED, and TLS 1.2 there. */
static int lq__sch_credentials(lq_client *c, lq__sch *s) {
    SCH_CREDENTIALS sc;
    TLS_PARAMETERS tp;
    SCHANNEL_CRED old;
    SECURITY_STATUS st;
    TimeStamp expiry;
    memset(&sc, 0, sizeof sc);
    memset(&tp, 0, sizeof tp);
    sc.dwVersion = SCH_CREDENTIALS_VERSION;
    sc.dwFlags = SCH_CRED_MANUAL_CRED_VALIDATION | SCH_CRED_NO_DEFAULT_CREDS;
    tp.grbitDisabledProtocols = ~(DWORD)(SP_PROT_TLS1_2_CLIENT | SP_PROT_TLS1_3_CLIENT);
    sc.cTlsParameters = 1;
    sc.pTlsParameters = &tp;
    st = AcquireCredentialsHandleA(NULL, (SEC_CHAR *)UNISP_NAME_A, SECPKG_CRED_OUTBOUND, NULL, &sc, NULL, NULL, &s->cred, &expiry);
    if (st == SEC_E_OK) return LQ_OK;
    memset(&old, 0, sizeof old);
    old.dwVersion = SCHANNEL_CRED_VERSION;
    old.dwFlags = SCH_CRED_MANUAL_CRED_VALIDATION | SCH_CRED_NO_DEFAULT_CREDS;
    old.grbitEnabledProtocols = SP_PROT_TLS1_2_CLIENT;
    st = AcquireCredentialsHandleA(NULL, (SEC_CHAR *)UNISP_NAME_A, SECPKG_CRED_OUTBOUND, NULL, &old, NULL, NULL, &s->cred, &expiry);
    return st == SEC_E_OK ? LQ_OK : lq__sch_fail(c, st, "credentials (AcquireCredentialsHandle)");
}

static void lq__sch_unconfigure(lq__sch *s) {
    if (s->roots) CertCloseStore(s->roots, 0);
    s->roots = NULL;
    if (s->configured) FreeCredentialsHandle(&s->cred);
    s->configured = false;
}

static int lq__sch_configure(lq_client *c, lq__sch *s) {
    int rc;
    if (c->tls_insecure)
        lq__logf(c, LQ_LOG_WARN, "TLS certificate verification is OFF (tls_insecure_skip_verify_for_tests_only)");
    else if (c->tls_ca_pem || c->tls_ca_file) {
        s->roots = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, 0, 0, NULL);
        if (!s->roots) { lq__set_error(c, (int)GetLastError(), "TLS CA store: CertOpenStore failed"); return LQ_ERR_TLS; }
        rc = c->tls_ca_pem ? lq__sch_add_pem(c, s->roots, c->tls_ca_pem, "CA PEM") : lq__sch_load_file(c, s->roots);
        if (rc != LQ_OK) return rc;
    }
    rc = lq__sch_credentials(c, s);
    s->configured = rc == LQ_OK;
    return rc;
}

/* ---- the certificate: chain, host, pins ----------------------------------------------------- */

static char lq__sch_server_auth[] = szOID_PKIX_KP_SERVER_AUTH;
static char lq__sch_cn_oid[] = szOID_COMMON_NAME;

static int lq__sch_chain_failed(lq_client *c, lq__sch_conn *k, DWORD err) {
    static const struct { DWORD flags; const char *why; } reasons[] = {
        {CERT_TRUST_IS_UNTRUSTED_ROOT | CERT_TRUST_IS_PARTIAL_CHAIN, "it is not signed by a trusted CA"},
        {CERT_TRUST_IS_NOT_TIME_VALID, "the certificate has expired or is not yet valid"},
        {CERT_TRUST_IS_NOT_SIGNATURE_VALID, "a signature in the chain does not verify"},
        {CERT_TRUST_IS_REVOKED, "a certificate in the chain is revoked"},
        {CERT_TRUST_IS_NOT_VALID_FOR_USAGE, "the certificate is not for TLS servers (extendedKeyUsage)"},
        {CERT_TRUST_INVALID_BASIC_CONSTRAINTS, "a certificate in the chain may not sign (basicConstraints)"},
        {CERT_TRUST_IS_CYCLIC, "the chain is cyclic"}};
    char why[400] = "";
    size_t i, n = 0;
    for (i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        if ((err & reasons[i].flags) && n < sizeof why)
            n += (size_t)snprintf(why + n, sizeof why - n, "%s%s", n ? "; " : "", reasons[i].why);
    if (!n) snprintf(why, sizeof why, "the chain does not verify (CERT_TRUST 0x%08lx)", (unsigned long)err);
    lq__set_error(c, (int)err, "TLS certificate rejected: %s (host %s)", why, k->host);
    return LQ_ERR_TLS;
}

/* The chain, built from the leaf and what the server sent with it, to the system's roots; with
   the caller's CAs, to one of them and nothing else (their store joins the search, and the root
   the chain ends in must be one of them). */
static int lq__sch_chain(lq_client *c, lq__sch_conn *k, PCCERT_CONTEXT leaf) {
    HCERTSTORE roots = k->s->roots, search = leaf->hCertStore, both = NULL;
    LPSTR usage[1];
    CERT_CHAIN_PARA para;
    PCCERT_CHAIN_CONTEXT chain = NULL;
    DWORD err;
    if (roots) {
        both = CertOpenStore(CERT_STORE_PROV_COLLECTION, 0, 0, 0, NULL);
        if (!both || !CertAddStoreToCollection(both, leaf->hCertStore, 0, 0) || !CertAddStoreToCollection(both, roots, 0, 0)) {
            lq__set_error(c, (int)GetLastError(), "TLS certificate check: CertAddStoreToCollection failed");
            if (both) CertCloseStore(both, 0);
            return LQ_ERR_TLS;
        }
        search = both;
    }
    memset(&para, 0, sizeof para);
    para.cbSize = sizeof para;
    usage[0] = lq__sch_server_auth;
    para.RequestedUsage.dwType = USAGE_MATCH_TYPE_AND;
    para.RequestedUsage.Usage.cUsageIdentifier = 1;
    para.RequestedUsage.Usage.rgpszUsageIdentifier = usage;
    if (!CertGetCertificateChain(NULL, leaf, NULL, search, &para, 0, NULL, &chain)) {
        lq__set_error(c, (int)GetLastError(), "TLS certificate check: CertGetCertificateChain failed (host %s)", k->host);
        if (both) CertCloseStore(both, 0);
        return LQ_ERR_TLS;
    }
    err = chain->TrustStatus.dwErrorStatus;
    if (roots) {
        const CERT_SIMPLE_CHAIN *sc = chain->rgpChain[0];
        PCCERT_CONTEXT top = sc->rgpElement[sc->cElement - 1]->pCertContext;
        PCCERT_CONTEXT mine = CertFindCertificateInStore(roots, X509_ASN_ENCODING, 0, CERT_FIND_EXISTING, top, NULL);
        if (mine) err &= ~(DWORD)CERT_TRUST_IS_UNTRUSTED_ROOT;
        else err |= CERT_TRUST_IS_UNTRUSTED_ROOT;
        if (mine) CertFreeCertificateContext(mine);
    }
    CertFreeCertificateChain(chain);
    if (both) CertCloseStore(both, 0);
    return err ? lq__sch_chain_failed(c, k, err) : LQ_OK;
}

static bool lq__sch_ieq(const char *a, size_t an, const char *b, size_t bn) {
    size_t i;
    if (an != bn) return false;
    for (i = 0; i < an; i++)
        if (lq__lower((unsigned char)a[i]) != lq__lower((unsigned char)b[i])) return false;
    return true;
}

/* RFC 6125 6.4: a DNS name matches the host without regard to case; a wildcard only as the whole
   left-most label, for exactly one label, and with two labels at least after it. */
static bool lq__sch_name_match(const char *pat, const char *host) {
    size_t pn = strlen(pat), hn = strlen(host);
    const char *dot;
    if (pn && pat[pn - 1] == '.') pn--;
    if (hn && host[hn - 1] == '.') hn--;
    if (pn > 2 && pat[0] == '*' && pat[1] == '.') {
        dot = (const char *)memchr(host, '.', hn);
        if (!dot || dot == host || !memchr(pat + 2, '.', pn - 2)) return false;
        return lq__sch_ieq(dot, hn - (size_t)(dot - host), pat + 1, pn - 1);
    }
    return !memchr(pat, '*', pn) && lq__sch_ieq(pat, pn, host, hn);
}

/* A dNSName as ASCII (it is an IA5String); false for anything else. */
static bool lq__sch_ascii(const WCHAR *w, char out[256]) {
    size_t i;
    for (i = 0; w[i]; i++) {
        if (w[i] > 127 || i == 255) return false;
        out[i] = (char)w[i];
    }
    out[i] = 0;
    return true;
}

/* The host, as RFC 6125 says: an IP literal against iPAddress subjectAltNames, byte for byte; a
   name against the dNSNames, the CN only when there is no subjectAltName at all. */
static int lq__sch_host(lq_client *c, lq__sch_conn *k, PCCERT_CONTEXT leaf) {
    const CERT_INFO *info = leaf->pCertInfo;
    PCERT_EXTENSION ext = CertFindExtension(szOID_SUBJECT_ALT_NAME2, info->cExtension, info->rgExtension);
    CERT_ALT_NAME_INFO *alt = NULL;
    DWORD size = 0, i;
    bool any = false, ok = false;
    char name[256];
    if (ext && !CryptDecodeObjectEx(X509_ASN_ENCODING, X509_ALTERNATE_NAME, ext->Value.pbData, ext->Value.cbData,
                                    CRYPT_DECODE_ALLOC_FLAG, NULL, &alt, &size)) {
        lq__set_error(c, (int)GetLastError(), "TLS certificate rejected: its subjectAltName does not decode (host %s)", k->host);
        return LQ_ERR_TLS;
    }
    for (i = 0; alt && i < alt->cAltEntry && !ok; i++) {
        const CERT_ALT_NAME_ENTRY *e = &alt->rgAltEntry[i];
        any = true;
        if (e->dwAltNameChoice == CERT_ALT_NAME_IP_ADDRESS)
            ok = k->ip_len && e->IPAddress.cbData == k->ip_len && memcmp(e->IPAddress.pbData, k->ip, k->ip_len) == 0;
        else if (e->dwAltNameChoice == CERT_ALT_NAME_DNS_NAME)
            ok = !k->ip_len && lq__sch_ascii(e->pwszDNSName, name) && lq__sch_name_match(name, k->host);
    }
    if (alt) LocalFree(alt);
    if (!ok && !any && !k->ip_len &&
        CertGetNameStringA(leaf, CERT_NAME_ATTR_TYPE, 0, lq__sch_cn_oid, name, (DWORD)sizeof name) > 1)
        ok = lq__sch_name_match(name, k->host);
    if (ok) return LQ_OK;
    if (k->ip_len)
        lq__set_error(c, 0, "TLS certificate rejected: it names no IP address %s (iPAddress subjectAltName)", k->host);
    else
        lq__set_error(c, 0, "TLS certificate rejected: it does not name host %s (%s)", k->host,
                      any ? "no dNSName subjectAltName matches" : "no subjectAltName, and the CN does not match");
    return LQ_ERR_TLS;
}

/* A DER element at p (n bytes): its header and content lengths; false when it does not fit. */
static bool lq__der_element(const unsigned char *p, size_t n, size_t *hdr, size_t *len) {
    size_t i, k, l = 0;
    if (n < 2) return false;
    if (p[1] < 0x80) { *hdr = 2; l = p[1]; }
    else {
        k = p[1] & 0x7Fu;
        if (k == 0 || k > 4 || n < 2 + k) return false;
        for (i = 0; i < k; i++) l = l << 8 | p[2 + i];
        *hdr = 2 + k;
    }
    *len = l;
    return l <= n - *hdr;
}

/* The leaf's SubjectPublicKeyInfo as the bytes it was signed in (a re-encoding could differ):
   in tbsCertificate, after the optional [0] version, serial, signature, issuer, validity and
   subject. */
static bool lq__sch_spki(PCCERT_CONTEXT leaf, const unsigned char **spki, size_t *spki_len) {
    const unsigned char *p = leaf->pbCertEncoded;
    size_t n = leaf->cbCertEncoded, h, l;
    int i;
    for (i = 0; i < 2; i++) {                               /* into Certificate, then tbsCertificate */
        if (!lq__der_element(p, n, &h, &l)) return false;
        p += h;
        n = l;
    }
    for (i = 0; i < 6; i++) {
        if (!lq__der_element(p, n, &h, &l)) return false;
        if (i == 0 && p[0] != 0xA0) i++;                    /* no version: v1 */
        if (i == 6) break;
        p += h + l;
        n -= h + l;
    }
    if (!lq__der_element(p, n, &h, &l) || p[0] != 0x30) return false;
    *spki = p;
    *spki_len = h + l;
    return true;
}

static int lq__sch_pin(lq_client *c, lq__sch_conn *k, PCCERT_CONTEXT leaf) {
    const unsigned char *spki;
    size_t n;
    unsigned char digest[32];
    DWORD dn = sizeof digest;
    char b64[45];
    if (!c->num_pins) return LQ_OK;
    if (!lq__sch_spki(leaf, &spki, &n) || !CryptHashCertificate(0, CALG_SHA_256, 0, spki, (DWORD)n, digest, &dn))
        memset(digest, 0, sizeof digest);
    return lq__pinned(c, digest, b64) ? LQ_OK : lq__pin_failed(c, b64, k->host);
}

/* Checks the server's certificate as soon as Schannel has it, before the client's Finished that
   would answer it goes out; final: the handshake is over, so it must be there. */
static int lq__sch_check(lq_client *c, lq__sch_conn *k, bool final) {
    PCCERT_CONTEXT leaf = NULL;
    int rc = LQ_OK;
    if (k->checked) return LQ_OK;
    if (QueryContextAttributesA(&k->ctx, SECPKG_ATTR_REMOTE_CERT_CONTEXT, &leaf) != SEC_E_OK || !leaf) {
        if (!final) return LQ_OK;
        lq__set_error(c, 0, "TLS handshake failed: the server sent no certificate (host %s)", k->host);
        return LQ_ERR_TLS;
    }
    if (!c->tls_insecure) {
        rc = lq__sch_chain(c, k, leaf);
        if (rc == LQ_OK) rc = lq__sch_host(c, k, leaf);
        if (rc == LQ_OK) rc = lq__sch_pin(c, k, leaf);
    }
    CertFreeCertificateContext(leaf);
    k->checked = rc == LQ_OK;
    return rc;
}

/* ---- bytes to and from the inner transport -------------------------------------------------- */

static bool lq__sch_reserve(lq_client *c, unsigned char **buf, size_t *cap, size_t used, size_t need) {
    unsigned char *grown;
    if (need <= *cap) return true;
    grown = (unsigned char *)lq__alloc(&c->a, need);
    if (!grown) { lq__set_error(c, 0, "out of memory for a TLS buffer"); return false; }
    if (used) memcpy(grown, *buf, used);
    lq__free(&c->a, *buf);
    *buf = grown;
    *cap = need;
    return true;
}

/* Sends what out holds; LQ_OK once it is all gone. */
static int lq__sch_flush(lq_client *c, lq__sch_conn *k) {
    lq__sch *s = k->s;
    while (k->out_off < k->out_len) {
        long r = s->inner.send(c, s->inner.self, k->inner, k->out + k->out_off, k->out_len - k->out_off);
        if (r < 0) return (int)r;
        if (r == 0) return LQ_IO_WANT_WRITE;
        k->out_off += (size_t)r;
    }
    k->out_off = k->out_len = 0;
    return LQ_OK;
}

/* Reads more raw bytes into in (room made first): the inner transport's answer. */
static long lq__sch_fill(lq_client *c, lq__sch_conn *k) {
    lq__sch *s = k->s;
    long r;
    if (k->raw_off && !k->plain_len) {
        memmove(k->in, k->in + k->raw_off, k->in_len - k->raw_off);
        k->in_len -= k->raw_off;
        k->raw_off = 0;
    }
    if (k->in_len == k->in_cap) {
        if (k->in_cap >= LQ__SCH_IN_MAX) {
            lq__set_error(c, 0, "TLS read failed: a record or handshake flight over %u KiB", (unsigned)(LQ__SCH_IN_MAX >> 10));
            return LQ_ERR_TLS;
        }
        if (!lq__sch_reserve(c, &k->in, &k->in_cap, k->in_len, k->in_cap ? 2 * k->in_cap : LQ__SCH_IN_START)) return LQ_ERR_NOMEM;
    }
    r = s->inner.recv(c, s->inner.self, k->inner, k->in + k->in_len, k->in_cap - k->in_len);
    if (r > 0) { k->in_len += (size_t)r; k->incomplete = false; k->need_input = false; }
    return r;
}

/* One InitializeSecurityContext: what in holds goes in, a token to send comes out. */
static int lq__sch_isc(lq_client *c, lq__sch_conn *k) {
    SecBuffer ib[2], ob[1];
    SecBufferDesc id, od;
    SECURITY_STATUS st;
    unsigned long attrs = 0;
    int rc = LQ_OK;
    ib[0].BufferType = SECBUFFER_TOKEN; ib[0].pvBuffer = k->in; ib[0].cbBuffer = (unsigned long)k->in_len;
    ib[1].BufferType = SECBUFFER_EMPTY; ib[1].pvBuffer = NULL; ib[1].cbBuffer = 0;
    ob[0].BufferType = SECBUFFER_TOKEN; ob[0].pvBuffer = NULL; ob[0].cbBuffer = 0;
    id.ulVersion = od.ulVersion = SECBUFFER_VERSION;
    id.cBuffers = 2; id.pBuffers = ib;
    od.cBuffers = 1; od.pBuffers = ob;
    /* an IP literal: no target name, so no SNI (RFC 6066); the name checks are ours anyway */
    st = InitializeSecurityContextA(&k->s->cred, k->have_ctx ? &k->ctx : NULL, k->ip_len ? NULL : k->host,
                                    LQ__SCH_ISC_FLAGS, 0, 0, k->have_ctx ? &id : NULL, 0, k->have_ctx ? NULL : &k->ctx,
                                    &od, &attrs, NULL);
    if (!k->have_ctx && (st == SEC_I_CONTINUE_NEEDED || st == SEC_E_OK)) k->have_ctx = true;
    if (ob[0].pvBuffer) {
        if (ob[0].cbBuffer && (st == SEC_I_CONTINUE_NEEDED || st == SEC_E_OK)) {
            if (lq__sch_reserve(c, &k->out, &k->out_cap, k->out_len, k->out_len + ob[0].cbBuffer)) {
                memcpy(k->out + k->out_len, ob[0].pvBuffer, ob[0].cbBuffer);
                k->out_len += ob[0].cbBuffer;
            } else rc = LQ_ERR_NOMEM;
        }
        FreeContextBuffer(ob[0].pvBuffer);
    }
    if (rc != LQ_OK) return rc;
    if (st == SEC_E_INCOMPLETE_MESSAGE) { k->need_input = true; return LQ_OK; }
    if (st != SEC_I_CONTINUE_NEEDED && st != SEC_E_OK) {
        if (st == SEC_I_INCOMPLETE_CREDENTIALS) {
            lq__set_error(c, (int)st, "TLS handshake failed: the server asks for a client certificate (host %s)", k->host);
            return LQ_ERR_TLS;
        }
        return lq__sch_fail(c, st, "handshake");
    }
    if (k->have_ctx && ib[1].BufferType == SECBUFFER_EXTRA && ib[1].cbBuffer) {     /* the start of what follows */
        memmove(k->in, k->in + k->in_len - ib[1].cbBuffer, ib[1].cbBuffer);
        k->in_len = ib[1].cbBuffer;
        k->need_input = false;
    } else {
        k->in_len = 0;
        k->need_input = true;
    }
    if (st == SEC_I_CONTINUE_NEEDED) return lq__sch_check(c, k, false);
    k->hs_done = true;
    rc = lq__sch_check(c, k, true);
    if (rc != LQ_OK) return rc;
    st = QueryContextAttributesA(&k->ctx, SECPKG_ATTR_STREAM_SIZES, &k->sizes);
    if (st != SEC_E_OK) return lq__sch_fail(c, st, "handshake (stream sizes)");
    return LQ_OK;
}

/* Moves the handshake (or a renegotiation) on as far as the inner transport lets it. */
static int lq__sch_handshake(lq_client *c, lq__sch_conn *k) {
    for (;;) {
        int rc = lq__sch_flush(c, k);
        if (rc != LQ_OK) return rc;
        if (k->hs_done) return LQ_OK;
        if (k->have_ctx && k->need_input) {
            long r = lq__sch_fill(c, k);
            if (r == 0) {
                lq__set_error(c, 0, "TLS handshake failed: the server closed the connection (host %s)", k->host);
                return LQ_ERR_TLS;
            }
            if (r < 0) return (int)r;
        }
        rc = lq__sch_isc(c, k);
        if (rc != LQ_OK) return rc;
    }
}

static int lq__sch_connect(lq_client *c, void *self, void **conn, const lq_url *url) {
    lq__sch *s = (lq__sch *)self;
    lq__sch_conn *k = (lq__sch_conn *)*conn;
    int rc;
    if (!k) {
        k = (lq__sch_conn *)lq__alloc(&c->a, sizeof *k);
        if (!k) { lq__set_error(c, 0, "out of memory for a TLS connection"); return LQ_ERR_NOMEM; }
        memset(k, 0, sizeof *k);
        k->s = s;
        *conn = k;
    }
    if (!s->configured) {                       /* a failed setup is retried whole on the next attempt */
        rc = lq__sch_configure(c, s);
        if (rc != LQ_OK) { lq__sch_unconfigure(s); return rc; }
    }
    if (!k->inner_up) {
        rc = s->inner.connect(c, s->inner.self, &k->inner, url);
        if (rc != LQ_OK) return rc;
        k->inner_up = true;
        lq__host_cstr(url, k->host);
        k->ip_len = lq__host_ip(k->host, k->ip);
    }
    return lq__sch_handshake(c, k);
}

static long lq__sch_send(lq_client *c, void *self, void *conn, const void *buf, size_t n) {
    lq__sch_conn *k = (lq__sch_conn *)conn;
    SecBuffer b[4];
    SecBufferDesc d;
    SECURITY_STATUS st;
    long sent;
    int rc, i;
    (void)self;
    if (!k->sealed) {                           /* a retry finds its record still in out */
        if (!k->hs_done && (rc = lq__sch_handshake(c, k)) != LQ_OK) return rc;
        if ((rc = lq__sch_flush(c, k)) != LQ_OK) return rc;
        if (n > k->sizes.cbMaximumMessage) n = k->sizes.cbMaximumMessage;   /* one record; the caller repeats n */
        if (!lq__sch_reserve(c, &k->out, &k->out_cap, 0, k->sizes.cbHeader + n + k->sizes.cbTrailer)) return LQ_ERR_NOMEM;
        memcpy(k->out + k->sizes.cbHeader, buf, n);
        b[0].BufferType = SECBUFFER_STREAM_HEADER; b[0].pvBuffer = k->out; b[0].cbBuffer = k->sizes.cbHeader;
        b[1].BufferType = SECBUFFER_DATA; b[1].pvBuffer = k->out + k->sizes.cbHeader; b[1].cbBuffer = (unsigned long)n;
        b[2].BufferType = SECBUFFER_STREAM_TRAILER; b[2].pvBuffer = k->out + k->sizes.cbHeader + n;
        b[2].cbBuffer = k->sizes.cbTrailer;
        b[3].BufferType = SECBUFFER_EMPTY; b[3].pvBuffer = NULL; b[3].cbBuffer = 0;
        d.ulVersion = SECBUFFER_VERSION; d.cBuffers = 4; d.pBuffers = b;
        st = EncryptMessage(&k->ctx, 0, &d, 0);
        if (st != SEC_E_OK) return lq__sch_fail(c, st, "write (EncryptMessage)");
        for (k->out_len = 0, i = 0; i < 3; i++) k->out_len += b[i].cbBuffer;
        k->out_off = 0;
        k->sealed = n;
    }
    if ((rc = lq__sch_flush(c, k)) != LQ_OK) return rc;
    sent = (long)k->sealed;
    k->sealed = 0;
    return sent;
}

/* One DecryptMessage over the raw bytes: plaintext lands in place, what follows stays raw. */
static int lq__sch_decrypt(lq_client *c, lq__sch_conn *k) {
    SecBuffer b[4];
    SecBufferDesc d;
    SECURITY_STATUS st;
    size_t extra = 0;
    int i;
    b[0].BufferType = SECBUFFER_DATA; b[0].pvBuffer = k->in + k->raw_off; b[0].cbBuffer = (unsigned long)(k->in_len - k->raw_off);
    for (i = 1; i < 4; i++) { b[i].BufferType = SECBUFFER_EMPTY; b[i].pvBuffer = NULL; b[i].cbBuffer = 0; }
    d.ulVersion = SECBUFFER_VERSION; d.cBuffers = 4; d.pBuffers = b;
    st = DecryptMessage(&k->ctx, &d, 0, NULL);
    if (st == SEC_E_INCOMPLETE_MESSAGE) { k->incomplete = true; return LQ_OK; }
    if (st != SEC_E_OK && st != SEC_I_RENEGOTIATE && st != SEC_I_CONTEXT_EXPIRED) return lq__sch_fail(c, st, "read (DecryptMessage)");
    for (i = 1; i < 4; i++) {
        if (b[i].BufferType == SECBUFFER_DATA && b[i].cbBuffer) {
            k->plain_off = (size_t)((unsigned char *)b[i].pvBuffer - k->in);
            k->plain_len = b[i].cbBuffer;
        }
        if (b[i].BufferType == SECBUFFER_EXTRA) extra = b[i].cbBuffer;
    }
    k->raw_off = k->in_len - extra;
    if (st == SEC_I_CONTEXT_EXPIRED) k->eof = true;             /* close_notify */
    if (st == SEC_I_RENEGOTIATE) {              /* TLS 1.3 post-handshake messages, or a TLS 1.2 renegotiation: */
        k->hs_done = false;                     /* InitializeSecurityContext at once, with the raw bytes */
        k->checked = false;                     /* that follow (none is fine), before anything is read */
        k->need_input = false;
    }
    return LQ_OK;
}

static long lq__sch_recv(lq_client *c, void *self, void *conn, void *buf, size_t n) {
    lq__sch_conn *k = (lq__sch_conn *)conn;
    int rc;
    (void)self;
    for (;;) {
        if (k->plain_len) {
            if (n > k->plain_len) n = k->plain_len;
            memcpy(buf, k->in + k->plain_off, n);
            k->plain_off += n;
            k->plain_len -= n;
            return (long)n;
        }
        if (k->eof) return 0;
        if (k->raw_off) {                       /* the plaintext is all out: move the raw bytes up */
            memmove(k->in, k->in + k->raw_off, k->in_len - k->raw_off);
            k->in_len -= k->raw_off;
            k->raw_off = 0;
        }
        if (!k->hs_done) {
            if ((rc = lq__sch_handshake(c, k)) != LQ_OK) return rc;
            continue;
        }
        if (k->in_len && !k->incomplete) {
            if ((rc = lq__sch_decrypt(c, k)) != LQ_OK) return rc;
            continue;
        }
        {
            long r = lq__sch_fill(c, k);
            if (r <= 0) return r;               /* 0: the peer closed without close_notify */
        }
    }
}

static size_t lq__sch_pending(lq_client *c, void *self, void *conn) {
    lq__sch_conn *k = (lq__sch_conn *)conn;
    (void)c; (void)self;
    if (!k) return 0;
    return k->plain_len + (k->in_len > k->raw_off && !k->incomplete && k->hs_done ? 1u : 0u);
}

/* close_notify, sent once if the socket takes it now; not waited for. */
static void lq__sch_shutdown(lq_client *c, lq__sch_conn *k) {
    lq__sch *s = k->s;
    DWORD type = SCHANNEL_SHUTDOWN;
    SecBuffer b;
    SecBufferDesc d;
    SECURITY_STATUS st;
    unsigned long attrs = 0;
    b.BufferType = SECBUFFER_TOKEN; b.pvBuffer = &type; b.cbBuffer = sizeof type;
    d.ulVersion = SECBUFFER_VERSION; d.cBuffers = 1; d.pBuffers = &b;
    if (k->out_len || ApplyControlToken(&k->ctx, &d) != SEC_E_OK) return;     /* a half-sent record: no more */
    b.BufferType = SECBUFFER_TOKEN; b.pvBuffer = NULL; b.cbBuffer = 0;
    st = InitializeSecurityContextA(&s->cred, &k->ctx, k->ip_len ? NULL : k->host, LQ__SCH_ISC_FLAGS, 0, 0, NULL, 0, NULL,
                                    &d, &attrs, NULL);
    if ((st == SEC_E_OK || st == SEC_I_CONTEXT_EXPIRED) && b.pvBuffer && b.cbBuffer)
        (void)s->inner.send(c, s->inner.self, k->inner, b.pvBuffer, b.cbBuffer);
    if (b.pvBuffer) FreeContextBuffer(b.pvBuffer);
}

static void lq__sch_close(lq_client *c, void *self, void *conn) {
    lq__sch *s = (lq__sch *)self;
    lq__sch_conn *k = (lq__sch_conn *)conn;
    if (!k) return;
    if (k->have_ctx) {
        if (k->inner_up && k->hs_done && k->checked) lq__sch_shutdown(c, k);
        DeleteSecurityContext(&k->ctx);
    }
    if (s->inner.close) s->inner.close(c, s->inner.self, k->inner);
    lq__free(&c->a, k->in);
    lq__free(&c->a, k->out);
    lq__free(&c->a, k);
}

static int lq__sch_fd(lq_client *c, void *self, void *conn) {
    lq__sch *s = (lq__sch *)self;
    lq__sch_conn *k = (lq__sch_conn *)conn;
    return k && s->inner.fd ? s->inner.fd(c, s->inner.self, k->inner) : -1;
}

static lq_result lq__tls_new(lq_client *c, const lq_transport *inner, lq_transport *out) {
    lq__sch *s = (lq__sch *)lq__alloc(&c->a, sizeof *s);
    if (!s) return LQ_ERR_NOMEM;
    memset(s, 0, sizeof *s);
    s->inner = *inner;
    memset(out, 0, sizeof *out);
    out->connect = lq__sch_connect;
    out->send = lq__sch_send;
    out->recv = lq__sch_recv;
    out->pending = lq__sch_pending;
    out->close = lq__sch_close;
    out->fd = lq__sch_fd;
    out->self = s;
    out->tls = true;
    return LQ_OK;
}

static void lq__tls_delete(lq_client *c, void *self) {
    lq__sch *s = (lq__sch *)self;
    lq__sch_unconfigure(s);
    lq__free(&c->a, s);
}
#endif /* LQ_USE_SCHANNEL */

/* >>step: the socket layer, on the public core alone -------------------------------------------- */

/* A link's transport: the caller's or TCP, in a proxy's tunnel (desc.proxy_url), wrapped by the
   TLS backend for a TLS URL. */
static lq_result lq__transport_setup(lq_client *c, const lq_desc *d) {
    int l;
    if (!lq__net_init()) { lq__set_error(c, lq__sock_errno(), "the socket library did not start"); return LQ_ERR_IO; }
    c->net_init = true;
    for (l = 0; l < LQ_LINK_COUNT; l++) {
        const lq_url *u = lq_core_link_url(c, (lq_link)l);
        c->tr[l] = d->transport ? *d->transport : lq__tcp_transport;
        if (c->proxy) lq__proxy_wrap(c, &c->tr[l]);
#ifdef LQ__TLS_BACKEND
        if (u && u->tls && !c->tr[l].tls) {
            lq_transport inner = c->tr[l];
            lq_result r = lq__tls_new(c, &inner, &c->tr[l]);
            if (r != LQ_OK) return r;
            c->tls[l] = c->tr[l].self;
        }
#else
        (void)u;
#endif
    }
    return LQ_OK;
}

static void lq__conn_close(lq_client *c, int l) {
    lq__conn *k = &c->conn[l];
    if (k->active && c->tr[l].close) c->tr[l].close(c, c->tr[l].self, k->state);
    memset(k, 0, sizeof *k);
    c->wake[l] = 0;
}

static void lq__transport_free(lq_client *c) {
    int l;
    for (l = 0; l < LQ_LINK_COUNT; l++) {
        lq__conn_close(c, l);
#ifdef LQ__TLS_BACKEND
        if (c->tls[l]) lq__tls_delete(c, c->tls[l]);
        c->tls[l] = NULL;
#endif
    }
    lq__proxy_free(c);
    lq__free(&c->a, c->rbig);
    c->rbig = NULL;
    if (c->net_init) lq__net_done();
    c->net_init = false;
}

static int lq__want(long rc) { return rc == LQ_IO_WANT_READ ? LQ_WANT_READ : LQ_WANT_WRITE; }

/* A transport call failed (or the stream ended: rc 0): close it and tell the core. */
static void lq__conn_fail(lq_client *c, int l, long rc, uint64_t now) {
    lq_result why = rc == 0 ? LQ_OK : (lq_result)rc;
    lq__conn_close(c, l);
    lq_core_link_closed(c, (lq_link)l, why, lq_error_detail(c), now);
}

static void lq__conn_connect(lq_client *c, int l, uint64_t now) {
    lq__conn *k = &c->conn[l];
    int rc;
    k->active = true;
    c->io_link = l;
    rc = c->tr[l].connect(c, c->tr[l].self, &k->state, lq_core_link_url(c, (lq_link)l));
    if (rc == LQ_OK) {
        k->up = true;
        lq_core_link_opened(c, (lq_link)l, now);
    } else if (rc == LQ_IO_WANT_READ || rc == LQ_IO_WANT_WRITE) {
        k->want = lq__want(rc);
    } else {
        lq__conn_fail(c, l, rc, now);
    }
}

/* Sends what the core has; false when the transport failed. */
static bool lq__conn_write(lq_client *c, int l, uint64_t now) {
    lq__conn *k = &c->conn[l];
    for (;;) {
        size_t n;
        const void *p = lq_core_link_peek(c, (lq_link)l, &n);
        long w;
        if (!n) return true;
        if (n > 1u << 30) n = 1u << 30;
        if (k->blocked && n > k->blocked) n = k->blocked;   /* a retry: the same bytes */
        w = c->tr[l].send(c, c->tr[l].self, k->state, p, n);
        if (w == LQ_IO_WANT_WRITE || w == LQ_IO_WANT_READ) {
            k->blocked = n;
            k->blocked_read = w == LQ_IO_WANT_READ;
            k->want |= lq__want(w);
            return true;
        }
        k->blocked = 0;
        if (w < 0) { lq__conn_fail(c, l, w, now); return false; }
        lq_core_link_consume(c, (lq_link)l, (size_t)w);
    }
}

/* Reads what the transport has (bounded, so one busy link cannot starve the caller's loop). Once
   connected (never for the handshake, which max_handshake_bytes bounds), a read that fills rbuf
   means more is waiting: the next ones go to the larger rbig, which lq__rbig_idle gives back once
   the link has calmed down. */
static bool lq__conn_read(lq_client *c, int l, uint64_t now) {
    lq__conn *k = &c->conn[l];
    int rounds;
    for (rounds = 0; rounds < 16 && k->up; rounds++) {
        unsigned char *buf = c->rbig ? c->rbig : c->rbuf;
        size_t cap = c->rbig ? (size_t)LQ_READ_BUFFER_MAX : sizeof c->rbuf;
        long r = c->tr[l].recv(c, c->tr[l].self, k->state, buf, cap);
        if (r == LQ_IO_WANT_READ || r == LQ_IO_WANT_WRITE) { k->want |= lq__want(r); return true; }
        if (r <= 0) { lq__conn_fail(c, l, r, now); return false; }      /* 0: the server closed the stream */
        lq_core_link_feed(c, (lq_link)l, buf, (size_t)r, now);
        if ((size_t)r > sizeof c->rbuf) {
            c->rbig_used = now;
        } else if ((size_t)r == cap && !c->rbig && (l != LQ_LINK_LIVEQUERY || lq_client_state(c) == LQ_STATE_CONNECTED) &&
                   LQ_READ_BUFFER_MAX > LQ_READ_BUFFER_BYTES) {
            c->rbig = (unsigned char *)lq__alloc(&c->a, (size_t)LQ_READ_BUFFER_MAX);   /* NULL: rbuf will do */
            c->rbig_used = now;
        }
        if (lq_core_link_io(c, (lq_link)l) != LQ_IO_NONE) return true;
    }
    return true;
}

/* Gives rbig back after a second in which no read needed it. */
static void lq__rbig_idle(lq_client *c, uint64_t now) {
    if (c->rbig && now - c->rbig_used >= 1000) {
        lq__free(&c->a, c->rbig);
        c->rbig = NULL;
    }
}

/* One round of one link: what its core asks (connect, close), then read and write. Returns true
   when something changed that another round should look at. */
static bool lq__link_round(lq_client *c, int l, uint64_t now) {
    lq__conn *k = &c->conn[l];
    lq_io io = lq_core_link_io(c, (lq_link)l);
    bool was_up = k->up;
    k->want = 0;
    if (io == LQ_IO_CLOSE) {
        if (k->up) lq__conn_write(c, l, now);               /* the last Close frame, if it fits */
        lq__conn_close(c, l);
        lq_core_link_closed(c, (lq_link)l, LQ_OK, 0, now);
    } else if (io == LQ_IO_CONNECT) {
        lq__conn_connect(c, l, now);                        /* new, or under way: ask the transport */
    }
    if (k->up && lq__conn_read(c, l, now) && k->up) lq__conn_write(c, l, now);
    return io == LQ_IO_CLOSE || lq_core_link_io(c, (lq_link)l) != io || k->up != was_up;
}

lq_result lq_step(lq_client *c) {
    uint64_t now;
    int round, l;
    if (!c) return LQ_ERR_INVALID_ARG;
    now = lq_now_ms();
    lq_core_tick(c, now);
    for (round = 0; round < 4; round++) {
        bool again = false;
        for (l = 0; l < LQ_LINK_COUNT; l++) again = lq__link_round(c, l, now) || again;
        lq_core_tick(c, now);
        if (!again) break;
    }
    for (l = 0; l < LQ_LINK_COUNT; l++)
        if (c->conn[l].up) c->conn[l].want |= LQ_WANT_READ;
    lq__rbig_idle(c, now);
    return lq_core_io(c) == LQ_IO_DONE ? LQ_ERR_CLOSED : LQ_OK;
}

static int lq__link_fd(const lq_client *c, int l) {
    if (!c->conn[l].active || !c->tr[l].fd) return -1;
    return c->tr[l].fd((lq_client *)c, c->tr[l].self, c->conn[l].state);
}

static int lq__link_events(const lq_client *c, int l) {
    const lq__conn *k = &c->conn[l];
    size_t n;
    if (!k->active) return 0;
    if (!k->up) return k->want;
    lq_core_link_peek(c, (lq_link)l, &n);
    if (k->blocked && k->blocked_read) n = 0;               /* the send waits for readable, not writable */
    return k->want | LQ_WANT_READ | (n ? LQ_WANT_WRITE : 0);
}

int lq_fd(const lq_client *c) { return c ? lq__link_fd(c, LQ_LINK_LIVEQUERY) : -1; }

int lq_fd_events(const lq_client *c) { return c ? lq__link_events(c, LQ_LINK_LIVEQUERY) : 0; }

int lq_pollfds(const lq_client *c, lq_pollfd *out, int max) {
    int l, n = 0;
    if (!c || max < 0 || (max && !out)) return 0;
    for (l = 0; l < LQ_LINK_COUNT; l++) {
        int fd = lq__link_fd(c, l);
        if (fd < 0) continue;
        if (n < max) {
            out[n].fd = fd;
            out[n].events = lq__link_events(c, l);
        }
        n++;
    }
    return n;
}

int lq_timeout_ms(const lq_client *c) {
    uint64_t now = lq_now_ms();
    int64_t t;
    int l;
    if (!c) return -1;
    t = lq_core_timeout(c, now);
    for (l = 0; l < LQ_LINK_COUNT; l++) {
        const lq__conn *k = &c->conn[l];
        lq_io io = lq_core_link_io(c, (lq_link)l);
        if (io == LQ_IO_CLOSE || (io == LQ_IO_CONNECT && !k->active)) t = 0;   /* lq_step has work */
        if (k->up && c->tr[l].pending && c->tr[l].pending((lq_client *)c, c->tr[l].self, k->state)) t = 0;  /* decrypted data */
        if (k->active && !k->up) t = lq__min_timer(t, 50);                   /* connecting: poll SO_ERROR */
        if (k->active && !k->up && c->wake[l]) t = lq__min_timer(t, c->wake[l] > now ? (int64_t)(c->wake[l] - now) : 0);
        if (k->active && lq__link_fd(c, l) < 0) t = lq__min_timer(t, 10);
    }
    return t > 0x7FFFFFFF ? 0x7FFFFFFF : (int)t;
}

lq_result lq_wait(lq_client *c, int max_ms) {
    struct pollfd pfd[LQ_LINK_COUNT];
    lq_pollfd fds[LQ_LINK_COUNT];
    int t, i, n;
    if (!c) return LQ_ERR_INVALID_ARG;
    t = lq_timeout_ms(c);
    if (max_ms >= 0 && (t < 0 || t > max_ms)) t = max_ms;  /* max_ms < 0: only the client's timers */
    n = lq_pollfds(c, fds, LQ_LINK_COUNT);
    for (i = 0; i < n; i++) {
        pfd[i].fd = (lq__socket)fds[i].fd;
        pfd[i].events = (short)((fds[i].events & LQ_WANT_READ ? POLLIN : 0) | (fds[i].events & LQ_WANT_WRITE ? POLLOUT : 0));
        pfd[i].revents = 0;
    }
    if (n > 0) {
        if (lq__poll(pfd, (unsigned)n, t) < 0 && !lq__interrupted(lq__sock_errno())) return LQ_ERR_IO;
    } else if (t > 0) {
#if defined(_WIN32)
        Sleep((DWORD)t);
#else
        poll(NULL, 0, t);
#endif
    }
    return lq_step(c);
}

#endif /* LQ_NO_SOCKETS */

#endif /* LIVEQUERY_IMPLEMENTATION_INCLUDED */
#endif /* LIVEQUERY_IMPLEMENTATION */

/*
    REVISION HISTORY
        unreleased  additions only: a REST client (lq_find, lq_get, lq_login, lq_cancel; LQ_NO_REST
               leaves it out) on a second link of the core (lq_core_link_*, lq_pollfds, LQ_ERR_HTTP,
               desc.rest_url, rest_timeout_ms, max_response_bytes); live views (lq_view_*: a query's
               results, ordered as Parse Server on PostgreSQL orders, limited, kept exact through
               events, reconnects and partitions, with include); LQ_ZERO; the handles' tag comes
               from the random source (4 bytes at create), so a destroyed client's handles stay dead;
               desc.proxy_url: both links through an HTTP proxy's CONNECT tunnel, TLS inside it,
               Basic credentials, LQ_ERR_PROXY for a refusal; nothing blocks, DNS included: a stub
               resolver in the header (hosts, resolv.conf, UDP then TCP; desc.dns_servers,
               desc.resolve_async) and Happy Eyeballs, the last good address first; several
               endpoints (desc.server_urls); every Parse Server from 6.0 without configuration
               (keys/fields and watch fall back silently, watch emulated); LQ_USE_SCHANNEL; TLS
               sessions offered only to their own host; a view with keys works (keys sent once).
        1.0.0  (2026-12) API 1.0: subscriptions are value handles (lq_sub); transports carry a
               per-connection state and say whether they do TLS; one TLS seam (mbedTLS over any
               transport); the core's contract is complete (LQ_IO_DONE, the connect deadline in
               lq_core_timeout) and lq_step uses it alone; lq_json_parse counts (tokens NULL);
               create failures are said through desc.log; LQ_DEFAULT_* timers; the socket
               declarations are left out with LQ_NO_SOCKETS.
        0.1.0  first version: the I/O-free core, POSIX sockets, ws://; later, under the same
               number: wss:// (mbedTLS 2.28 and 3.6), Windows, 32-bit and big-endian, the
               hostile-peer and fuzz suites, a read buffer that grows under load.

    LICENSE (MIT)
    Copyright (c) 2026 the livequery.h authors

    Permission is hereby granted, free of charge, to any person obtaining a copy of this software
    and associated documentation files (the "Software"), to deal in the Software without
    restriction, including without limitation the rights to use, copy, modify, merge, publish,
    distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
    Software is furnished to do so, subject to the following conditions:

    The above copyright notice and this permission notice shall be included in all copies or
    substantial portions of the Software.

    THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING
    BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
    NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
    DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
    OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
*/
