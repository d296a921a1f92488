/* cli.h - what lqwatch and lqview share (include after livequery.h): the proxy choice, made as
   curl makes it, and what no retry can fix. Not part of livequery.h, which takes a proxy only as
   desc.proxy_url: which proxy a program uses, and for which hosts, is the program's policy.

   The proxy for a server URL: --proxy (cli_proxy_for's option) wins over the environment, and ""
   means none; else https_proxy (or HTTPS_PROXY) for wss:// and https://, http_proxy (or
   HTTP_PROXY, but not in a CGI program: there a request's "Proxy:" header arrives as
   HTTP_PROXY, "httpoxy", which is why curl never reads it) for ws:// and http://, the lower-case
   name first. Either way no proxy is used when no_proxy (or NO_PROXY)
   names the host: a comma-separated list of host names (each matching itself and its
   subdomains; a leading "." or "*." is ignored), IP addresses (IPv6 without brackets, or with),
   IP/bits ranges, or "*" for every host. As in curl, loopback hosts are proxied unless no_proxy
   lists them, and a proxy written without a scheme is http://. */
#ifndef LQ_CLI_H
#define LQ_CLI_H

#include <stdlib.h>
#include <string.h>

/* What no retry can fix: a rejected certificate, an HTTP 4xx answer to the upgrade, a proxy
   that refuses the credentials or the destination (401, 403, 407). */
static bool cli_unfixable(lq_result r, int detail) {
    return r == LQ_ERR_TLS || (r == LQ_ERR_HANDSHAKE && detail >= 400 && detail < 500) ||
           (r == LQ_ERR_PROXY && (detail == 401 || detail == 403 || detail == 407));
}

/* A first connection that failed this way is a connect failure (exit 2). */
static bool cli_connect_failure(lq_result r) {
    /* IO: a reset before the server said connected (during the upgrade) is a failed connect too */
    return r == LQ_ERR_DNS || r == LQ_ERR_CONNECT || r == LQ_ERR_HANDSHAKE || r == LQ_ERR_TLS ||
           r == LQ_ERR_TIMEOUT || r == LQ_ERR_PROXY || r == LQ_ERR_IO;
}

static const char *cli_env(const char *lower, const char *upper) {
    const char *v = getenv(lower);
    if ((!v || !*v) && !(strcmp(upper, "HTTP_PROXY") == 0 && getenv("REQUEST_METHOD"))) v = getenv(upper);
    return v && *v ? v : NULL;
}

static int cli_lower(int ch) { return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch; }

static bool cli_ieq(const char *a, const char *b, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if (cli_lower((unsigned char)a[i]) != cli_lower((unsigned char)b[i])) return false;
    return true;
}

/* A dotted-quad IPv4 address: 4 bytes into out, else 0. */
static int cli_ipv4(const char *s, size_t n, unsigned char *out) {
    size_t i = 0;
    int part;
    for (part = 0; part < 4; part++) {
        unsigned v = 0;
        size_t digits = 0;
        if (part && (i >= n || s[i++] != '.')) return 0;
        while (i < n && s[i] >= '0' && s[i] <= '9' && digits < 4) { v = v * 10 + (unsigned)(s[i++] - '0'); digits++; }
        if (!digits || digits > 3 || v > 255) return 0;
        out[part] = (unsigned char)v;
    }
    return i == n ? 4 : 0;
}

static int cli_hex(int ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    ch = cli_lower(ch);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* An IPv6 address ("::" and a trailing IPv4 allowed): 16 bytes into out, else 0. */
static int cli_ipv6(const char *s, size_t n, unsigned char *out) {
    unsigned char w[16];
    int len = 0, gap = -1;
    size_t i = 0;
    if (n >= 2 && s[0] == ':' && s[1] == ':') { gap = 0; i = 2; }
    while (i < n) {
        size_t j = i;
        unsigned v = 0;
        while (j < n && j - i < 4 && cli_hex((unsigned char)s[j]) >= 0) v = v * 16 + (unsigned)cli_hex((unsigned char)s[j++]);
        if (j < n && s[j] == '.') {
            if (len > 12 || !cli_ipv4(s + i, n - i, w + len)) return 0;
            len += 4;
            break;
        }
        if (j == i || len > 14 || (j < n && s[j] != ':')) return 0;
        w[len++] = (unsigned char)(v >> 8);
        w[len++] = (unsigned char)v;
        if ((i = j) == n) break;
        if (++i == n) return 0;                             /* a trailing single ':' */
        if (s[i] == ':') {
            if (gap >= 0) return 0;
            gap = len;
            i++;
        }
    }
    if (gap < 0 ? len != 16 : len > 14) return 0;
    memset(out, 0, 16);
    if (gap < 0) gap = len;
    memcpy(out, w, (size_t)gap);
    memcpy(out + 16 - (len - gap), w + gap, (size_t)(len - gap));
    return 16;
}

static int cli_ip(const char *s, size_t n, unsigned char *out) {
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') { s++; n -= 2; }
    return cli_ipv4(s, n, out) ? 4 : cli_ipv6(s, n, out);
}

/* Does one no_proxy entry (trimmed, non-empty) name host? */
static bool cli_no_proxy_entry(const char *host, size_t hn, const char *e, size_t en) {
    unsigned char hip[16], eip[16];
    const char *slash = (const char *)memchr(e, '/', en);
    int hl = cli_ip(host, hn, hip), el;
    if (en == 1 && e[0] == '*') return true;
    if (slash) {                                            /* address/bits */
        size_t bits = 0, i, k;
        el = cli_ip(e, (size_t)(slash - e), eip);
        for (k = (size_t)(slash - e) + 1; k < en && e[k] >= '0' && e[k] <= '9' && bits <= 128; k++) bits = bits * 10 + (size_t)(e[k] - '0');
        if (!el || el != hl || k != en || k == (size_t)(slash - e) + 1 || bits > (size_t)el * 8) return false;
        for (i = 0; i < bits; i++)
            if (((hip[i / 8] ^ eip[i / 8]) >> (7 - i % 8)) & 1) return false;
        return true;
    }
    el = cli_ip(e, en, eip);
    if (el || hl) return el == hl && memcmp(hip, eip, (size_t)hl) == 0;
    if (en >= 2 && e[0] == '*' && e[1] == '.') { e++; en--; }
    while (en && e[0] == '.') { e++; en--; }
    while (en && e[en - 1] == '.') en--;
    while (hn && host[hn - 1] == '.') hn--;
    if (!en || en > hn) return false;
    return cli_ieq(host + hn - en, e, en) && (hn == en || host[hn - en - 1] == '.');
}

/* Does the no_proxy list name host? */
static bool cli_no_proxy(const char *host, size_t hn, const char *list) {
    while (*list) {
        size_t n = strcspn(list, ",");
        const char *e = list;
        list += n + (list[n] == ',');
        while (n && (*e == ' ' || *e == '\t')) { e++; n--; }
        while (n && (e[n - 1] == ' ' || e[n - 1] == '\t')) n--;
        if (n && cli_no_proxy_entry(host, hn, e, n)) return true;
    }
    return false;
}

/* The proxy for url (option: --proxy's value, NULL when not given), or NULL for none. A proxy
   without a scheme is written into buf with http:// in front. */
static const char *cli_proxy_for(const char *url, const char *option, char *buf, size_t cap) {
    lq_url u;
    const char *proxy = option, *no = cli_env("no_proxy", "NO_PROXY");
    bool parsed = lq_url_parse(url, &u) == LQ_OK;
    if (!proxy) proxy = parsed && u.tls ? cli_env("https_proxy", "HTTPS_PROXY") : cli_env("http_proxy", "HTTP_PROXY");
    if (!proxy || !*proxy || (no && parsed && cli_no_proxy(u.host, u.host_len, no))) return NULL;
    if (strstr(proxy, "://") || strlen(proxy) + 8 > cap) return proxy;
    snprintf(buf, cap, "http://%s", proxy);
    return buf;
}

#endif /* LQ_CLI_H */
