#!/usr/bin/env node
// A TCP relay on 127.0.0.1 in front of a server, whose faults are set at run time.
//
//   node tests/faults/relay.js TARGET_PORT [LISTEN_PORT]
//
// Prints "READY <port> <control port>" once it listens (LISTEN_PORT 0 or none: the OS picks).
// The control port takes one command per line and answers one line, "ok ..." once the command is
// in effect (or "error ..."), so a script knows the fault is in place when the answer comes:
//
//   pass          forward everything (the default); held bytes flow again, in order
//   delay MS      forward each chunk MS ms after it arrived, in both directions, order kept
//   blackhole     forward nothing either way, a side's close included: a silent partition.
//                 New connections are accepted and held (no byte moves); heal connects them on,
//                 and what was held flows then, in order.
//   cut           reset every connection (RST both ways); the listener stays up
//   close         close every connection with a FIN both ways
//   refuse        close the listener: a connect is refused (RST to the SYN)
//   drop          accept a connection and close it at once (a FIN; what comes is dropped)
//   reset         accept a connection and reset it (an RST) once the client has sent something
//   noanswer      a listener that never accepts, its backlog full: a SYN is never answered
//   heal          pass, the listener back if refuse/noanswer took it (same port)
//   stats         "ok {json}": mode, accepted, open, bytes each way
//   quit          close everything and exit
//
// "noanswer" needs a socket that listens without accepting, which Node cannot make: a perl
// one-liner (perl-base, on every Debian) binds the port with a backlog of 0 and fills it with one
// connection of its own; Linux then drops every further SYN (tcp_abort_on_overflow = 0). The relay
// kills it on heal (and it ends by itself when the relay is gone). The relay ends on SIGTERM,
// SIGINT or quit.
'use strict';

const net = require('net');
const { spawn } = require('child_process');

const TARGET = parseInt(process.argv[2] || '', 10);
const WANT_PORT = parseInt(process.argv[3] || '0', 10);
if (!(TARGET > 0)) {
  process.stderr.write('usage: relay.js TARGET_PORT [LISTEN_PORT]\n');
  process.exit(2);
}

let mode = 'pass';
let delayMs = 0;
let port = 0;
let listener = null;     // the relay's net.Server while it listens
let holder = null;       // the perl process holding the port in noanswer
const pairs = new Set();
const stats = { accepted: 0, bytesUp: 0, bytesDown: 0 };

// One direction of a pair: what arrives (chunks, the end, the close) leaves in the same order, each
// no earlier than it is due, and nothing leaves in a blackhole: a close of one side is held with
// the bytes before it, as a real partition would hold the FIN.
function pipe(from, to, count) {
  const q = [];
  let timer = null;
  let lastDue = 0;
  const pump = () => {
    timer = null;
    if (mode === 'blackhole') return;
    const now = Date.now();
    while (q.length && q[0].due <= now) {
      const item = q.shift();
      if (item.data) { stats[count] += item.data.length; to.write(item.data); }
      else if (item.end) to.end();
      else closeAfterWrites(to);
    }
    if (q.length) timer = setTimeout(pump, q[0].due - now);
  };
  const push = (item) => {
    item.due = Math.max(Date.now() + (mode === 'delay' ? delayMs : 0), lastDue);
    lastDue = item.due;
    q.push(item);
    if (!timer) pump();
  };
  from.on('data', (d) => push({ data: d }));
  from.on('end', () => push({ end: true }));
  from.on('close', () => push({ close: true }));
  return { resume: () => { if (!timer) pump(); } };
}

function closeAfterWrites(s) {
  if (s.destroyed) return;
  s.end();
  if (s.writableFinished) s.destroy();
  else s.once('finish', () => s.destroy());
}

function accept(c) {
  stats.accepted++;
  if (mode === 'drop' || mode === 'reset') {
    c.on('error', () => {});
    if (mode === 'reset') c.once('data', () => c.resetAndDestroy());
    else c.end();
    c.resume();
    return;
  }
  const pair = { c, u: null, up: null, down: null };
  pairs.add(pair);
  c.on('error', () => {});
  c.on('close', () => forget(pair));
  c.pause();
  if (mode !== 'blackhole') connect(pair);
}

// A pair is kept until both sides are closed: a held close still has to reach the other side.
function forget(pair) {
  if (pair.c.destroyed && (!pair.u || pair.u.destroyed)) pairs.delete(pair);
}

function connect(pair) {
  const u = net.connect({ port: TARGET, host: '127.0.0.1', allowHalfOpen: true });
  pair.u = u;
  u.on('error', () => {});
  u.on('close', () => forget(pair));
  pair.up = pipe(pair.c, u, 'bytesUp');
  pair.down = pipe(u, pair.c, 'bytesDown');
  pair.c.resume();
}

function listen() {
  return new Promise((resolve, reject) => {
    const s = net.createServer({ allowHalfOpen: true }, accept);
    s.once('error', reject);
    s.listen(port || WANT_PORT, '127.0.0.1', () => {
      port = s.address().port;
      listener = s;
      resolve();
    });
  });
}

function unlisten() {
  if (!listener) return Promise.resolve();
  const s = listener;
  listener = null;
  // close() stops listening at once; its callback waits for the connections, which we keep.
  return new Promise((resolve) => { s.close(); setImmediate(resolve); });
}

// A listener that never accepts, on our port: resolves once its backlog is full.
function hold() {
  return new Promise((resolve, reject) => {
    const perl = `
      use Socket; $| = 1;
      socket(L, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
      setsockopt(L, SOL_SOCKET, SO_REUSEADDR, 1) or die "setsockopt: $!";
      bind(L, sockaddr_in($ARGV[0], inet_aton("127.0.0.1"))) or die "bind: $!";
      listen(L, 0) or die "listen: $!";
      socket(F, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
      connect(F, sockaddr_in($ARGV[0], inet_aton("127.0.0.1"))) or die "connect: $!";
      print "HELD\\n";
      my $parent = getppid();
      sleep 1 while getppid() == $parent;`;
    const p = spawn('perl', ['-e', perl, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    const t = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`perl did not hold the port: ${err}`)); }, 5000);
    p.stdout.on('data', (d) => {
      out += d;
      if (out.includes('HELD')) { clearTimeout(t); holder = p; resolve(); }
    });
    p.stderr.on('data', (d) => { err += d; });
    p.on('exit', () => { if (holder === p) holder = null; });
    p.on('error', (e) => { clearTimeout(t); reject(e); });
  });
}

function unhold() {
  if (!holder) return Promise.resolve();
  const p = holder;
  holder = null;
  return new Promise((resolve) => { p.once('exit', resolve); p.kill('SIGKILL'); });
}

function resumeAll() {
  for (const p of pairs) {
    if (!p.u) connect(p);
    else { p.up.resume(); p.down.resume(); }
  }
}

function every(fn) { for (const p of [...pairs]) { fn(p); } }

async function command(line) {
  const [cmd, arg] = line.trim().split(/\s+/);
  switch (cmd) {
    case 'pass': case 'heal':
      await unhold();
      if (!listener) await listen();
      mode = 'pass';
      resumeAll();
      return 'ok';
    case 'delay': {
      const ms = parseInt(arg, 10);
      if (!(ms >= 0)) return 'error delay needs milliseconds';
      delayMs = ms;
      mode = 'delay';
      resumeAll();
      return 'ok';
    }
    case 'blackhole':
      mode = 'blackhole';
      return 'ok';
    case 'cut':
      every((p) => { p.c.resetAndDestroy(); if (p.u) p.u.resetAndDestroy(); });
      return 'ok';
    case 'close':
      every((p) => { p.c.end(); if (p.u) p.u.end(); });
      return 'ok';
    case 'drop': case 'reset':
      mode = cmd;
      return 'ok';
    case 'refuse':
      await unhold();
      await unlisten();
      return 'ok';
    case 'noanswer':
      await unlisten();
      if (!holder) await hold();
      return 'ok';
    case 'stats':
      return `ok ${JSON.stringify({ mode, delayMs, listening: !!listener, holding: !!holder, open: pairs.size, ...stats })}`;
    case 'quit':
      setImmediate(quit);
      return 'ok';
    default:
      return `error unknown command ${JSON.stringify(cmd || '')}`;
  }
}

// Commands run one at a time, in the order they came, whatever connection sent them.
let chain = Promise.resolve();
const control = net.createServer((s) => {
  let buf = '';
  s.on('error', () => {});
  s.on('data', (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      chain = chain.then(() => command(line)).catch((e) => `error ${e.message}`).then((r) => { if (!s.destroyed) s.write(r + '\n'); });
    }
  });
});

async function quit() {
  every((p) => { p.c.destroy(); if (p.u) p.u.destroy(); });
  await unhold();
  await unlisten();
  control.close();
  process.exit(0);
}
process.on('SIGTERM', quit);
process.on('SIGINT', quit);

listen().then(() => {
  control.listen(0, '127.0.0.1', () => console.log(`READY ${port} ${control.address().port}`));
}, (e) => { process.stderr.write(`relay: ${e.message}\n`); process.exit(1); });
