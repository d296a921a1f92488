#!/usr/bin/env node
// Asks a running Parse Server what its LiveQuery accepts: the answers to subscribe and update
// with keys, fields and watch, and what an update event carries. Prints one JSON line per case.
//   node probe.js ENV_FILE        (the env file lqserver.sh writes)
// Used to write server-facts.md; not part of the suite.
'use strict';
const fs = require('fs');
const path = require('path');
const WebSocket = require(path.join(__dirname, '..', 'server', 'node_modules', 'ws'));

const env = {};
for (const line of fs.readFileSync(process.argv[2], 'utf8').split('\n')) {
  const m = /^([A-Z_]+)=(.*)$/.exec(line);
  if (m) env[m[1]] = m[2];
}
const HTTP = env.PARSE_HTTP_URL;
const headers = { 'X-Parse-Application-Id': env.PARSE_APP_ID, 'X-Parse-Master-Key': env.PARSE_MASTER_KEY,
  'Content-Type': 'application/json' };
const rest = async (method, p, body) => (await fetch(HTTP + p, { method, headers,
  body: body && JSON.stringify(body), signal: AbortSignal.timeout(10000) })).json();

function open() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(env.PARSE_SERVER_URL);
    const inbox = [];
    let waiter = null;
    ws.on('message', (d) => { inbox.push(JSON.parse(String(d))); if (waiter) waiter(); });
    ws.next = (ms = 1500) => new Promise((res) => {
      const take = () => { waiter = null; clearTimeout(t); res(inbox.shift()); };
      const t = setTimeout(() => { waiter = null; res(null); }, ms);
      if (inbox.length) take(); else waiter = take;
    });
    ws.on('error', reject);
    ws.on('open', async () => {
      ws.send(JSON.stringify({ op: 'connect', applicationId: env.PARSE_APP_ID, javascriptKey: env.PARSE_JAVASCRIPT_KEY }));
      const m = await ws.next(5000);
      if (!m || m.op !== 'connected') reject(new Error('no connected: ' + JSON.stringify(m)));
      else resolve(ws);
    });
  });
}

const strip = (m) => { if (m) { delete m.clientId; delete m.installationId; } return m; };

async function main() {
  const version = require(path.join(process.env.LQ_PARSE_SERVER_DIR || path.join(__dirname, '..', 'server'),
    'node_modules', 'parse-server', 'package.json')).version;
  const out = (o) => console.log(JSON.stringify({ version, ...o }));
  const where = { playerName: 'probe' };
  const cases = {
    plain: {},
    keys: { keys: ['score'] },
    fields: { fields: ['score'] },
    watch: { watch: ['score'] },
    keysWatch: { keys: ['score'], watch: ['score'] },
    fieldsWatch: { fields: ['score'], watch: ['score'] },
  };
  let rid = 1;
  for (const [name, extra] of Object.entries(cases)) {
    const ws = await open();
    ws.send(JSON.stringify({ op: 'subscribe', requestId: rid, query: { className: 'GameScore', where, ...extra } }));
    out({ case: 'subscribe ' + name, answer: strip(await ws.next()) });
    ws.send(JSON.stringify({ op: 'update', requestId: rid, query: { className: 'GameScore', where, ...extra } }));
    out({ case: 'update ' + name, answer: strip(await ws.next()) });
    ws.close();
    rid++;
  }
  // Two subscribes back to back, the first refused on some servers: the order of the answers.
  {
    const ws = await open();
    ws.send(JSON.stringify({ op: 'subscribe', requestId: 1, query: { className: 'GameScore', where } }));
    ws.send(JSON.stringify({ op: 'subscribe', requestId: 2, query: { className: 'GameScore', where, keys: ['score'] } }));
    ws.send(JSON.stringify({ op: 'subscribe', requestId: 3, query: { className: 'GameScore', where, fields: ['score'] } }));
    const a = [];
    for (let i = 0; i < 3; i++) a.push(strip(await ws.next()));
    out({ case: 'three in a row: plain, keys, fields', answers: a });
    ws.close();
  }
  // What events carry: one subscription per accepted spelling, then a create and an update.
  {
    const ws = await open();
    const subs = { 1: {}, 2: { keys: ['score'] }, 3: { fields: ['score'] }, 4: { watch: ['score'] } };
    for (const [id, extra] of Object.entries(subs))
      ws.send(JSON.stringify({ op: 'subscribe', requestId: +id, query: { className: 'GameScore', where, ...extra } }));
    const acc = {};
    for (let i = 0; i < 4; i++) { const m = await ws.next(); if (m && m.op === 'subscribed') acc[m.requestId] = true; }
    const o = await rest('POST', '/classes/GameScore', { playerName: 'probe', score: 1, tags: ['a'] });
    await rest('PUT', '/classes/GameScore/' + o.objectId, { tags: ['b'] });
    await rest('PUT', '/classes/GameScore/' + o.objectId, { score: 2 });
    const ev = [];
    for (;;) { const m = await ws.next(1500); if (!m) break; ev.push(m); }
    for (const m of ev) {
      const r = m.requestId;
      out({ case: `event ${m.op} for ${JSON.stringify(subs[r])}`, accepted: !!acc[r],
        objectKeys: m.object && Object.keys(m.object).sort(), original: m.original === undefined ? 'absent' : m.original === null ? 'null' : Object.keys(m.original).sort() });
    }
    ws.close();
  }
}
main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
