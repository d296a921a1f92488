#!/usr/bin/env node
// A TLS front for the Parse Server, for the TLS tests of livequery.h.
//
//   node front.js --cert CERT --key KEY --target 127.0.0.1:PORT [--split] [--log FILE]
//                 [--max-seconds S]
//
// Listens on 127.0.0.1 (a port the OS picks), prints "LISTEN <port>" on stdout, ends TLS and pipes
// the plaintext of each connection to the target (the Parse Server: REST and LiveQuery on one port).
// --split puts a raw TCP relay in front of the TLS server that writes what the TLS server sends
// one byte per write, each after the previous one has reached the kernel, with Nagle off: records
// reach the client cut at every byte boundary. --log appends one line per event, so a test can
// prove that a client that rejected the certificate sent no application data:
//   accept N                    a TCP connection
//   tls-error N <message>       the handshake failed (e.g. the client sent an alert)
//   secure N <protocol> resumed=<bool> sni=<name>  the handshake completed (sni=- when the client
//                              sent none; resumed=true when it resumed an earlier session)
//   upstream N                  a connection to the target was opened
//   close N plaintext_in=B plaintext_out=B   B: application bytes from / to the client
//   relay-close raw_out_writes=W  (--split) the relay's writes to the client, one byte each
// It exits by itself after --max-seconds (default 300), so a lost front cannot linger.
'use strict';
const fs = require('fs');
const net = require('net');
const tls = require('tls');

function usage(msg) {
  process.stderr.write(`front.js: ${msg}\nusage: node front.js --cert CERT --key KEY --target HOST:PORT [--split] [--host ADDR] [--log FILE] [--max-seconds S]\n`);
  process.exit(2);
}

const opt = { split: false, maxSeconds: 300, host: '127.0.0.1' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const val = () => { if (i + 1 >= argv.length) usage(`${a} needs a value`); return argv[++i]; };
  if (a === '--cert') opt.cert = val();
  else if (a === '--key') opt.key = val();
  else if (a === '--target') opt.target = val();
  else if (a === '--log') opt.log = val();
  else if (a === '--max-seconds') opt.maxSeconds = Number(val());
  else if (a === '--split') opt.split = true;
  else if (a === '--host') opt.host = val();
  else usage(`unknown argument ${a}`);
}
if (!opt.cert || !opt.key || !opt.target) usage('--cert, --key and --target are required');
const m = /^([^:]+):(\d+)$/.exec(opt.target);
if (!m) usage('--target must be HOST:PORT');
const target = { host: m[1], port: Number(m[2]) };

function log(line) {
  if (opt.log) fs.appendFileSync(opt.log, line + '\n');
}

let nextId = 1;
const tlsServer = tls.createServer({
  cert: fs.readFileSync(opt.cert),
  key: fs.readFileSync(opt.key),
  minVersion: 'TLSv1.2',
});

// Connection ids by the client's port: the TLS socket is a new object over the raw one.
const ids = new Map();
const idOf = (sock) => ids.get(sock.remotePort) || '?';

tlsServer.on('tlsClientError', (err, sock) => {
  const id = idOf(sock);
  ids.delete(sock.remotePort);
  log(`tls-error ${id} ${err.code || ''} ${err.message.replace(/\s+/g, ' ')}`);
  log(`close ${id} plaintext_in=0 plaintext_out=0`);
});

tlsServer.on('secureConnection', (sock) => {
  const id = idOf(sock);
  let plainIn = 0;
  let plainOut = 0;
  let closed = false;
  log(`secure ${id} ${sock.getProtocol()} resumed=${sock.isSessionReused()} sni=${sock.servername || '-'}`);
  sock.setNoDelay(true);
  const up = net.connect(target.port, target.host, () => log(`upstream ${id}`));
  up.setNoDelay(true);
  sock.on('data', (d) => { plainIn += d.length; if (!up.write(d)) sock.pause(); });
  up.on('drain', () => sock.resume());
  up.on('data', (d) => { plainOut += d.length; if (!sock.write(d)) up.pause(); });
  sock.on('drain', () => up.resume());
  const done = () => {
    if (closed) return;
    closed = true;
    ids.delete(sock.remotePort);
    log(`close ${id} plaintext_in=${plainIn} plaintext_out=${plainOut}`);
    sock.destroy();
    up.destroy();
  };
  sock.on('end', () => up.end());
  up.on('end', () => sock.end());
  sock.on('close', done);
  up.on('close', done);
  sock.on('error', () => done());
  up.on('error', () => done());
});

tlsServer.on('connection', (raw) => {
  const id = nextId++;
  ids.set(raw.remotePort, id);
  log(`accept ${id}`);
});

// Writes the queued buffers to dst one byte per write, each after the previous write was
// flushed; calls state.low() when the queue runs short.
function trickle(dst, queue, state) {
  if (state.busy || state.dead) return;
  if (queue.length < 16) state.low();
  if (queue.length === 0) { if (state.ended) dst.end(); return; }
  state.busy = true;
  const head = queue[0];
  const byte = head.subarray(state.off, state.off + 1);
  state.off++;
  if (state.off >= head.length) { queue.shift(); state.off = 0; }
  state.writes++;
  dst.write(byte, () => { state.busy = false; trickle(dst, queue, state); });
}

// --split: clients connect here; the relay talks to the TLS server on a private port.
function startSplitRelay(tlsPort, onListen) {
  const relay = net.createServer((client) => {
    client.setNoDelay(true);
    const inner = net.connect(tlsPort, '127.0.0.1');
    inner.setNoDelay(true);
    const queue = [];
    const state = { busy: false, off: 0, writes: 0, ended: false, dead: false, low: () => inner.resume() };
    inner.on('data', (d) => {
      queue.push(d);
      if (queue.length > 64) inner.pause();
      trickle(client, queue, state);
    });
    inner.on('end', () => { state.ended = true; trickle(client, queue, state); });
    client.on('data', (d) => inner.write(d));
    client.on('end', () => inner.end());
    const kill = () => {
      if (state.dead) return;
      state.dead = true;
      log(`relay-close raw_out_writes=${state.writes}`);
      client.destroy();
      inner.destroy();
    };
    client.on('close', kill);
    client.on('error', kill);
    inner.on('error', kill);
    inner.on('close', () => { state.ended = true; trickle(client, queue, state); });
  });
  relay.listen(0, '127.0.0.1', () => onListen(relay.address().port));
}

tlsServer.listen(0, opt.host, () => {
  const tlsPort = tlsServer.address().port;
  const announce = (port) => process.stdout.write(`LISTEN ${port}\n`);
  if (opt.split) startSplitRelay(tlsPort, announce);
  else announce(tlsPort);
});

setTimeout(() => process.exit(0), opt.maxSeconds * 1000).unref();
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
