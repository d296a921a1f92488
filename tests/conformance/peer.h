/* peer.h - an in-memory LiveQuery server that reacts to what the client sends, for tests whose
   client takes unexpected turns (allocation failures, transport faults): it answers the upgrade,
   connect, subscribe, update, unsubscribe, ping and Close, whatever order they come in, and it
   can push scripted messages. Bytes go in with peer_input() and come out of peer.out.
   Include after livequery.h and testutil.h. */
#ifndef PEER_H
#define PEER_H

typedef struct peer {
    tbuf in;                    /* the client's bytes on this connection */
    size_t req_len;             /* the request head, once complete */
    size_t parsed;              /* client bytes already handled as frames */
    tbuf out;                   /* bytes for the client */
    bool eof;                   /* the server closes TCP once out is delivered */
    bool got_close;
    int conns;
    int subscribes, unsubscribes, connects, pings;
} peer;

static TU_UNUSED void peer_reset(peer *p) {
    tb_reset(&p->in);
    tb_reset(&p->out);
    p->req_len = p->parsed = 0;
    p->eof = p->got_close = false;
}

static TU_UNUSED void peer_free(peer *p) {
    tb_free(&p->in);
    tb_free(&p->out);
}

static TU_UNUSED void peer_text(peer *p, const char *json) { tu_text(&p->out, json); }

/* The integer after "key": in a client message, or -1. */
static TU_UNUSED long peer_int(const char *json, const char *key) {
    char pat[40];
    const char *at;
    snprintf(pat, sizeof pat, "\"%s\":", key);
    at = strstr(json, pat);
    return at ? strtol(at + strlen(pat), NULL, 10) : -1;
}

static TU_UNUSED void peer_message(peer *p, const char *json) {
    char reply[160];
    long id = peer_int(json, "requestId");
    if (strstr(json, "\"op\":\"connect\"")) {
        p->connects++;
        peer_text(p, "{\"op\":\"connected\",\"clientId\":\"peer-client\"}");
    } else if (strstr(json, "\"op\":\"subscribe\"") || strstr(json, "\"op\":\"update\"")) {
        p->subscribes++;
        snprintf(reply, sizeof reply, "{\"op\":\"subscribed\",\"clientId\":\"peer-client\",\"requestId\":%ld}", id);
        peer_text(p, reply);
    } else if (strstr(json, "\"op\":\"unsubscribe\"")) {
        p->unsubscribes++;
        snprintf(reply, sizeof reply, "{\"op\":\"unsubscribed\",\"clientId\":\"peer-client\",\"requestId\":%ld}", id);
        peer_text(p, reply);
    }
}

/* Takes client bytes and queues the answers. */
static TU_UNUSED void peer_input(peer *p, const void *data, size_t n) {
    tu_cframes fs;
    int i;
    tb_put(&p->in, data, n);
    if (!p->req_len) {
        const char *e = strstr(tb_str(&p->in), "\r\n\r\n");
        char key[64], accept[32];
        if (!e) return;
        p->req_len = p->parsed = (size_t)(e + 4 - tb_str(&p->in));
        p->conns++;
        tu_http_header(tb_str(&p->in), "Sec-WebSocket-Key", key, sizeof key);
        tu_ws_accept(key, accept);
        tb_printf(&p->out, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Accept: %s\r\n\r\n", accept);
    }
    tu_parse_client(p->in.p + p->parsed, p->in.len - p->parsed, &fs);
    for (i = 0; i < fs.n; i++) {
        const tu_cframe *f = &fs.f[i];
        size_t hl = f->lenform == 7 ? 2 : f->lenform == 16 ? 4 : 10;
        p->parsed += hl + (f->masked ? 4 : 0) + f->len;
        if (p->got_close) continue;
        if (f->opcode == 1) peer_message(p, (const char *)f->payload);
        else if (f->opcode == 9) { p->pings++; tu_frame(&p->out, 0x8A, f->payload, f->len); }
        else if (f->opcode == 8) {
            p->got_close = true;
            tu_frame(&p->out, 0x88, f->payload, f->len >= 2 ? 2 : 0);
            p->eof = true;
        }
    }
    tu_cframes_free(&fs);
}

#endif /* PEER_H */
