#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets from real Parse Server frames.

Usage: python3 fuzz/corpus/make-seeds.py PATH/TO/captured-frames.txt
Writes fuzz/corpus/{fuzz_json,fuzz_frames,fuzz_handshake,fuzz_core,fuzz_order}/seed-NNN (small files; the
same input always gives the same seeds). The random source of the fuzz targets is fixed, so the
client's key is base64(16 x 0x5a) and the right Sec-WebSocket-Accept is known here."""
import base64, hashlib, os, re, sys

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = base64.b64encode(b"\x5a" * 16).decode()
ACCEPT = base64.b64encode(hashlib.sha1((KEY + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()


def frame(b0, payload, lenform=0):
    n = len(payload)
    if lenform == 0:
        lenform = 7 if n < 126 else 16 if n <= 0xFFFF else 64
    h = bytes([b0])
    if lenform == 7:
        h += bytes([n])
    elif lenform == 16:
        h += bytes([126]) + n.to_bytes(2, "big")
    else:
        h += bytes([127]) + n.to_bytes(8, "big")
    return h + payload


def text(s):
    return frame(0x81, s.encode())


def close(code, reason=b""):
    return frame(0x88, code.to_bytes(2, "big") + reason)


def hs101(accept=ACCEPT, extra=""):
    return ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: %s\r\n%s\r\n" % (accept, extra)).encode()


def main():
    msgs = []
    with open(sys.argv[1], encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^\[[^\]]+\] (<<|>>) (\{.*\})\s*$", line)
            if m and m.group(2) not in msgs:
                msgs.append(m.group(2))
    server = [m for m in msgs if '"clientId"' in m or '"op":"error"' in m]
    # one of each op, then the rest up to a small number
    picked, seen = [], set()
    for m in server:
        op = re.search(r'"op":"(\w+)"', m).group(1)
        if op not in seen:
            seen.add(op)
            picked.append(m)
    for m in server:
        if len(picked) >= 24:
            break
        if m not in picked and len(m) < 1500:
            picked.append(m)
    out = {"fuzz_json": [], "fuzz_frames": [], "fuzz_handshake": [], "fuzz_core": []}
    out["fuzz_json"] = [m.encode() for m in picked] + [m.encode() for m in msgs if '"op":"subscribe"' in m][:4]
    ev = [m.encode() for m in picked if re.search(rb'"requestId":[12][,}]', m.encode())]
    frames = out["fuzz_frames"]
    for i, m in enumerate(ev[:12]):
        frames.append(bytes([0x07 | (i % 2) * 0x40]) + frame(0x81, m))
    big = ev[0]
    frames.append(b"\x07" + frame(0x01, big[:10]) + frame(0x89, b"hi") + frame(0x00, big[10:20]) + frame(0x80, big[20:]))
    frames.append(b"\x00" + frame(0x81, big))                         # one byte per feed
    frames.append(b"\x07" + frame(0x89, b"ping") + frame(0x8A, b"") + close(1000, b"bye"))
    frames.append(b"\x27" + frame(0x81, big, 16) + frame(0x81, big, 64))
    frames.append(b"\x0f" + frame(0x81, big))                         # over the 300-byte limit
    frames.append(b"\x17" + text('{"op":"create","requestId":1,"object":{"a":1}}') + text('{"op":"delete","requestId":2,"object":{}}'))
    frames.append(b"\x07" + frame(0x81, "é€𐍈".encode()[:5]) + frame(0x80, "é€𐍈".encode()[5:]))
    hs = out["fuzz_handshake"]
    hs.append(b"\x7f" + hs101())
    hs.append(b"\x7f" + hs101() + text(picked[0]))
    hs.append(b"\x01" + hs101() + text(picked[0]))
    hs.append(b"\x85" + hs101(extra="Sec-WebSocket-Extensions: permessage-deflate\r\n"))
    hs.append(b"\x7f" + hs101(accept="s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))
    hs.append(b"\x7f" + b"HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: 22\r\n\r\n{\"error\":\"forbidden\"}\n")
    hs.append(b"\x90" + b"HTTP/1.1 502 Bad Gateway\r\n\r\n<html>bad gateway</html>")
    hs.append(b"\x7f" + b"HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\nconnection: keep-alive, Upgrade\r\nsec-websocket-accept: " + ACCEPT.encode() + b"\r\n\r\n")
    core = out["fuzz_core"]
    for i, m in enumerate(ev[:6]):
        core.append(bytes([0x01 | ((i % 4) << 1)]) + frame(0x81, m))
    core.append(b"\x0f" + frame(0x89, b"") + frame(0x81, ev[0]) + close(1001))
    core.append(b"\x00" + hs101() + text(picked[0]))
    # an older server: subscription 2 (keys and watch) refused twice, then live with watch emulated
    refusal = '{"op":"error","error":"Additional properties not allowed","code":1,"reconnect":true,"requestId":null}'
    core.append(b"\x01" + b"".join(text(m) for m in [
        '{"op":"connected","clientId":"c"}', '{"op":"subscribed","requestId":1}', refusal, refusal,
        '{"op":"subscribed","requestId":2}', '{"op":"create","requestId":2,"object":{"k":1}}',
        '{"op":"update","requestId":2,"object":{"k":1,"w":2},"original":{"k":1,"w":1}}',
        '{"op":"update","requestId":2,"object":{"k":1,"w":2},"original":{"k":1,"w":2}}', refusal]))
    # fuzz_order: an order, then rows as REST and LiveQuery events give them
    row = ['{"x":%s,"y":1,"objectId":"a%d","createdAt":"2026-12-01T13:45:23.%03dZ"}' % (v, i, i) for i, v in enumerate([
        '"\\u00e9"', '"e\\u0301"', '-0', '1e3', 'true', 'null', '[]', '[null,[1]]', '{"b":1,"aa":2}', '{"b":[]}',
        '{"__type":"Date","iso":"2019-06-01T12:00:00.000+02:00"}', '{"__type":"Pointer","className":"_User","objectId":"Zz"}',
        '{"__type":"GeoPoint","latitude":1,"longitude":2}', '{"__type":"File","name":"a.txt","url":"http://x/a.txt"}'])]
    orders = ["-x,y", "x.b", "x.0,-createdAt", "_created_at,x", "t,b,-t", "-updatedAt,objectId", "a.b.c,d,e,f,g,h,i"]
    out["fuzz_order"] = [("%s\n%s\n%s\n%s" % (o, row[i % len(row)], row[(i * 5 + 1) % len(row)], row[(i * 3 + 2) % len(row)])).encode()
                         for i, o in enumerate(orders * 2)]
    for name, seeds in out.items():
        d = os.path.join(HERE, name)
        os.makedirs(d, exist_ok=True)
        for old in os.listdir(d):
            if old.startswith("seed-"):
                os.remove(os.path.join(d, old))
        for i, s in enumerate(seeds):
            with open(os.path.join(d, "seed-%03d" % i), "wb") as f:
                f.write(s)
        print("%s: %d seeds" % (name, len(seeds)))


if __name__ == "__main__":
    main()
