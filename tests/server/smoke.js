#!/usr/bin/env node
// Smoke test of the test server with the official Parse JS SDK's LiveQueryClient.
//
// usage: node smoke.js [STATE_DIR]
//   Config from STATE_DIR/env if given, else from the environment:
//   PARSE_SERVER_URL, PARSE_HTTP_URL, PARSE_APP_ID, PARSE_JAVASCRIPT_KEY, PARSE_MASTER_KEY.
//
// Checks (each write goes through REST with the master key, like parsectl.js):
//   1. subscribe GameScore score > 10; create score 42 -> "create"; update 5 -> "leave";
//      update 50 -> "enter"; delete -> "delete"
//   2. a user-private Private object (ACL for one user only) reaches that user's
//      session-token client and not an anonymous client (fails with router 2.3.0)
//   3. POST /batch works (answers "Internal server error" with router 2.3.0)
//   4. a wrong key is refused on LiveQuery with error code 4
// Exit 0 on success, 1 on failure; the whole run is bounded by 30 s.
'use strict';

const fs = require('fs');
const path = require('path');

const TOTAL_TIMEOUT_MS = 30000;
const EVENT_TIMEOUT_MS = 8000;

const hardTimer = setTimeout(() => {
  process.stderr.write(`smoke: FAIL: timed out after ${TOTAL_TIMEOUT_MS / 1000} s\n`);
  process.exit(1);
}, TOTAL_TIMEOUT_MS);

function loadEnvFile(file) {
  const out = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) out[m[1]] = m[2];
  }
  return out;
}

const cfg = Object.assign({}, process.env);
if (process.argv[2]) Object.assign(cfg, loadEnvFile(path.join(process.argv[2], 'env')));
for (const k of ['PARSE_SERVER_URL', 'PARSE_HTTP_URL']) {
  if (!cfg[k]) {
    process.stderr.write(`smoke: ${k} not set (pass STATE_DIR or source STATE_DIR/env)\n`);
    process.exit(2);
  }
}
const APP_ID = cfg.PARSE_APP_ID || 'testAppId';
const JS_KEY = cfg.PARSE_JAVASCRIPT_KEY || 'testJsKey';
const MASTER_KEY = cfg.PARSE_MASTER_KEY || 'testMasterKey';
const HTTP_URL = cfg.PARSE_HTTP_URL.replace(/\/+$/, '');
const WS_URL = cfg.PARSE_SERVER_URL;

const Parse = require('parse/node');
Parse.initialize(APP_ID, JS_KEY);
Parse.serverURL = HTTP_URL;

const log = (msg) => process.stdout.write(`smoke: ${msg}\n`);

async function rest(method, p, body, { asClient = false } = {}) {
  const headers = { 'X-Parse-Application-Id': APP_ID, 'Content-Type': 'application/json' };
  if (asClient) headers['X-Parse-Javascript-Key'] = JS_KEY;
  else headers['X-Parse-Master-Key'] = MASTER_KEY;
  const res = await fetch(HTTP_URL + p, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10000),
  });
  const json = await res.json();
  if (!res.ok || (json && json.code && json.error)) {
    throw new Error(`${method} ${p}: HTTP ${res.status} ${JSON.stringify(json)}`);
  }
  return json;
}

// Collects events of a subscription; next(op, id) waits for a matching one.
function recorder(sub, ops) {
  const queue = [];
  const waiters = [];
  for (const op of ops) {
    sub.on(op, (obj) => {
      const ev = { op, id: obj && obj.id, obj };
      const i = waiters.findIndex((w) => w.op === ev.op && w.id === ev.id);
      if (i >= 0) waiters.splice(i, 1)[0].resolve(ev);
      else queue.push(ev);
    });
  }
  return {
    events: queue,
    next(op, id, ms = EVENT_TIMEOUT_MS) {
      const i = queue.findIndex((e) => e.op === op && e.id === id);
      if (i >= 0) return Promise.resolve(queue.splice(i, 1)[0]);
      return new Promise((resolve, reject) => {
        const w = { op, id, resolve };
        waiters.push(w);
        setTimeout(() => {
          const j = waiters.indexOf(w);
          if (j >= 0) {
            waiters.splice(j, 1);
            reject(new Error(`no '${op}' event for ${id} within ${ms} ms`));
          }
        }, ms).unref();
      });
    },
  };
}

function within(promise, ms, what) {
  let t;
  const timeout = new Promise((_, reject) => {
    t = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(t));
}

function openClient(opts) {
  const client = new Parse.LiveQueryClient(
    Object.assign({ applicationId: APP_ID, serverURL: WS_URL, javascriptKey: JS_KEY }, opts),
  );
  client.on('error', (e) => log(`client error: ${e && e.message ? e.message : e}`));
  client.open();
  return client;
}

const clients = [];

async function main() {
  const t0 = Date.now();
  const ALL_OPS = ['create', 'update', 'enter', 'leave', 'delete'];
  const tag = `smoke-${process.pid}-${Date.now()}`;

  // 1. basic event flow
  const client = openClient({});
  clients.push(client);
  const q = new Parse.Query('GameScore');
  q.greaterThan('score', 10);
  q.equalTo('playerName', tag);
  const sub = client.subscribe(q);
  const rec = recorder(sub, ALL_OPS);
  await within(sub.subscribePromise, EVENT_TIMEOUT_MS, 'subscribe GameScore');
  log(`subscribed to GameScore on ${WS_URL} (${Date.now() - t0} ms)`);

  const created = await rest('POST', '/classes/GameScore', { score: 42, playerName: tag });
  const id = created.objectId;
  let ev = await rec.next('create', id);
  if (ev.obj.get('score') !== 42) throw new Error(`create: score ${ev.obj.get('score')}`);
  log(`create ${id} received`);
  await rest('PUT', `/classes/GameScore/${id}`, { score: 43 });
  ev = await rec.next('update', id);
  if (ev.obj.get('score') !== 43) throw new Error(`update: score ${ev.obj.get('score')}`);
  await rest('PUT', `/classes/GameScore/${id}`, { score: 5 });
  await rec.next('leave', id);
  await rest('PUT', `/classes/GameScore/${id}`, { score: 50 });
  await rec.next('enter', id);
  await rest('DELETE', `/classes/GameScore/${id}`);
  await rec.next('delete', id);
  log('update/leave/enter/delete received');

  // 2. ACL + session token (router pin check)
  // Sign up as a client: with the master key the answer carries no sessionToken.
  const user = await rest('POST', '/users', { username: tag, password: 'pw' }, { asClient: true });
  const userClient = openClient({ sessionToken: user.sessionToken });
  const anonClient = openClient({});
  clients.push(userClient, anonClient);
  const pq = () => new Parse.Query('Private').equalTo('secret', tag);
  const userSub = userClient.subscribe(pq(), user.sessionToken);
  const anonSub = anonClient.subscribe(pq());
  const userRec = recorder(userSub, ALL_OPS);
  const anonRec = recorder(anonSub, ALL_OPS);
  await within(
    Promise.all([userSub.subscribePromise, anonSub.subscribePromise]),
    EVENT_TIMEOUT_MS,
    'subscribe Private',
  );
  const priv = await rest('POST', '/classes/Private', {
    secret: tag,
    ACL: { [user.objectId]: { read: true, write: true } },
  });
  await userRec.next('create', priv.objectId);
  // Public marker afterwards: once the anonymous client has it, it would have had the private one.
  const pub = await rest('POST', '/classes/Private', { secret: tag });
  await anonRec.next('create', pub.objectId);
  if (anonRec.events.some((e) => e.id === priv.objectId)) {
    throw new Error('anonymous client received a user-private object');
  }
  log('ACL: private object reached only the session-token client');

  // 3. batch
  const batch = await rest('POST', '/batch', {
    requests: [
      { method: 'DELETE', path: `/parse/classes/Private/${priv.objectId}` },
      { method: 'DELETE', path: `/parse/classes/Private/${pub.objectId}` },
    ],
  });
  if (!Array.isArray(batch) || batch.length !== 2 || !batch.every((r) => r.success)) {
    throw new Error(`batch: ${JSON.stringify(batch)}`);
  }
  await rest('DELETE', `/users/${user.objectId}`);
  log('batch ok');

  // 4. wrong keys are refused (keyPairs configured)
  const WebSocket = require('ws');
  const code = await new Promise((resolve, reject) => {
    const ws = new WebSocket(WS_URL);
    const t = setTimeout(() => {
      ws.terminate();
      reject(new Error('no answer to a connect with wrong keys'));
    }, EVENT_TIMEOUT_MS);
    ws.on('open', () =>
      ws.send(JSON.stringify({ op: 'connect', applicationId: 'wrongApp', javascriptKey: 'wrongKey' })),
    );
    ws.on('message', (data) => {
      clearTimeout(t);
      ws.close();
      const msg = JSON.parse(String(data));
      resolve(msg.op === 'error' ? msg.code : `op=${msg.op}`);
    });
    ws.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
  if (code !== 4) throw new Error(`wrong keys: expected error code 4, got ${code}`);
  log('wrong keys refused with code 4');

  log(`ok (${Date.now() - t0} ms)`);
}

main().then(
  async () => {
    await Promise.race([Promise.all(clients.map((c) => c.close())), new Promise((r) => setTimeout(r, 2000))]);
    clearTimeout(hardTimer);
    process.exit(0);
  },
  (e) => {
    process.stderr.write(`smoke: FAIL: ${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
  },
);
