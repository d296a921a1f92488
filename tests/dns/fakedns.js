// A scripted nameserver for the resolver's faults (what a real one will not do on demand).
//
//   node fakedns.js PORT LOG [ADDRESS]    UDP and TCP on ADDRESS (127.0.0.1) port PORT; one JSON line
//                                         per query in LOG; prints "READY PORT"
//
// Names (anything else: NXDOMAIN):
//   slow.test       A 127.0.0.1 and an empty AAAA, after SLOW_MS (env, default 3000) ms
//   lost.test       the first query of each type is dropped, later ones answered (A 127.0.0.1)
//   wrongid.test    before the right answer (A 127.0.0.1): one with another ID, one for another
//                   name, one of another type, one of another class, a malformed one (each with
//                   127.0.0.2 in it), and one without the QR bit
//   trunc.test      over UDP: TC set and no answer; over TCP: A 127.0.0.1
//   servfail.test   SERVFAIL
//   he.test         AAAA ::1 and A 127.0.0.1
//   v6.test         AAAA ::1 only
//   cname.test      CNAME alias.test, whose A is 127.0.0.1 (the A first, then the CNAME)
//   short.corp.test A 127.0.0.1 (for search domains)
//   dots.a.b        A 127.0.0.1 (for ndots)
'use strict';
const dgram = require('dgram');
const net = require('net');
const fs = require('fs');

const PORT = parseInt(process.argv[2], 10);
const LOG = process.argv[3];
const ADDR = process.argv[4] || '127.0.0.1';
const SLOW_MS = parseInt(process.env.SLOW_MS || '3000', 10);
const seen = new Map();

function log(o) { fs.appendFileSync(LOG, JSON.stringify(o) + '\n'); }

function parseQuery(m) {
  if (m.length < 12) return null;
  let p = 12;
  const labels = [];
  while (p < m.length && m[p] !== 0) {
    const n = m[p];
    labels.push(m.slice(p + 1, p + 1 + n).toString('latin1'));
    p += 1 + n;
  }
  if (p + 5 > m.length) return null;
  return { id: m.readUInt16BE(0), flags: m.readUInt16BE(2), name: labels.join('.').toLowerCase(),
           qtype: m.readUInt16BE(p + 1), qclass: m.readUInt16BE(p + 3), question: m.slice(12, p + 5) };
}

function encodeName(name) {
  const parts = name.split('.').filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  return Buffer.concat([...parts, Buffer.from([0])]);
}

function rr(name, type, data) {
  const h = Buffer.alloc(10);
  h.writeUInt16BE(type, 0); h.writeUInt16BE(1, 2); h.writeUInt32BE(60, 4); h.writeUInt16BE(data.length, 8);
  return Buffer.concat([encodeName(name), h, data]);
}

function ip4(s) { return Buffer.from(s.split('.').map(Number)); }
function ip6loop() { const b = Buffer.alloc(16); b[15] = 1; return b; }

// A response: id, the question bytes, rcode, answer records, extra flag bits.
function response(id, question, rcode, answers, flags) {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(0x8180 | rcode | (flags || 0), 2);
  h.writeUInt16BE(1, 4); h.writeUInt16BE(answers.length, 6);
  return Buffer.concat([h, question, ...answers]);
}

function questionFor(name, qtype, qclass) {
  const t = Buffer.alloc(4);
  t.writeUInt16BE(qtype, 0); t.writeUInt16BE(qclass || 1, 2);
  return Buffer.concat([encodeName(name), t]);
}

// The answers to send for q, in order: [{delay, msg}].
function plan(q, proto) {
  const A = q.qtype === 1, AAAA = q.qtype === 28;
  const ok = (answers) => [{ delay: 0, msg: response(q.id, q.question, 0, answers) }];
  const a127 = (name) => (A ? [rr(name, 1, ip4('127.0.0.1'))] : []);
  switch (q.name) {
    case 'slow.test':
      return [{ delay: SLOW_MS, msg: response(q.id, q.question, 0, a127(q.name)) }];
    case 'lost.test': {
      const k = q.name + '/' + q.qtype;
      const n = (seen.get(k) || 0) + 1;
      seen.set(k, n);
      return n === 1 ? [] : ok(a127(q.name));
    }
    case 'wrongid.test': {
      const bad = A ? [rr(q.name, 1, ip4('127.0.0.2'))] : [rr(q.name, 28, ip6loop())];
      const malformed = response(q.id, q.question, 0, bad).slice(0, q.question.length + 12 + 5);
      malformed.writeUInt16BE(1, 6);
      return [
        { delay: 0, msg: response(q.id ^ 0x5a5a, q.question, 0, bad) },
        { delay: 0, msg: response(q.id, questionFor('other.test', q.qtype), 0, bad) },
        { delay: 0, msg: response(q.id, questionFor(q.name, A ? 28 : 1), 0, bad) },
        { delay: 0, msg: response(q.id, questionFor(q.name, q.qtype, 3), 0, bad) },
        { delay: 0, msg: malformed },
        { delay: 0, msg: (() => { const m = response(q.id, q.question, 0, bad); m[2] &= 0x7f; return m; })() },
        { delay: 30, msg: response(q.id, q.question, 0, a127(q.name)) },
      ];
    }
    case 'trunc.test':
      if (proto === 'udp') return [{ delay: 0, msg: response(q.id, q.question, 0, [], 0x0200) }];
      return ok(a127(q.name));
    case 'servfail.test':
      return [{ delay: 0, msg: response(q.id, q.question, 2, []) }];
    case 'he.test':
      return ok(A ? [rr(q.name, 1, ip4('127.0.0.1'))] : [rr(q.name, 28, ip6loop())]);
    case 'v6.test':
      return ok(AAAA ? [rr(q.name, 28, ip6loop())] : []);
    case 'cname.test':
      return ok(A ? [rr('alias.test', 1, ip4('127.0.0.1')), rr(q.name, 5, encodeName('alias.test'))]
                  : [rr(q.name, 5, encodeName('alias.test'))]);
    case 'short.corp.test':
    case 'dots.a.b':
      return ok(a127(q.name));
    default:
      return [{ delay: 0, msg: response(q.id, q.question, 3, []) }];
  }
}

function serve(m, proto, port, send) {
  const q = parseQuery(m);
  if (!q) return;
  log({ proto, name: q.name, qtype: q.qtype, id: q.id, port, rd: (q.flags & 0x0100) !== 0 });
  for (const step of plan(q, proto)) setTimeout(() => send(step.msg), step.delay);
}

const udp = dgram.createSocket(ADDR.includes(':') ? 'udp6' : 'udp4');
udp.on('message', (m, r) => serve(m, 'udp', r.port, (b) => udp.send(b, r.port, r.address)));
const tcp = net.createServer((s) => {
  let buf = Buffer.alloc(0);
  s.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      const m = buf.slice(2, 2 + buf.readUInt16BE(0));
      buf = buf.slice(2 + m.length);
      serve(m, 'tcp', s.remotePort, (b) => {
        const l = Buffer.alloc(2);
        l.writeUInt16BE(b.length, 0);
        if (!s.destroyed) s.write(Buffer.concat([l, b]));
      });
    }
  });
  s.on('error', () => {});
});
udp.bind(PORT, ADDR, () => tcp.listen(PORT, ADDR, () => console.log('READY ' + PORT)));
setTimeout(() => process.exit(0), parseInt(process.env.FAKEDNS_LIFETIME_MS || '600000', 10)).unref();
