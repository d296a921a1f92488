#!/usr/bin/env node
// REST helpers of tests/faults/run.sh, straight to the Parse Server (never through the relay).
//
//   node rest.js creates TAG N [FIRST_SCORE]    N GameScore {playerName: TAG, score} one after the
//                                              other (each waits for the last), prints their ids
//   node rest.js ops JSON                      [[op, id, body]...]: "update" id body, "delete" id,
//                                              "create" - body, in order; prints the created ids
//   node rest.js same-list FILE WHERE ORDER LIMIT
//                                              the last {"event":"list"} line of lqview's output
//                                              FILE equals a fresh find (WHERE, ORDER then
//                                              objectId, LIMIT): same ids in the same order, same
//                                              fields (className, nulls and a one-sided ACL aside)
// env: PARSE_HTTP_URL, PARSE_APP_ID, PARSE_MASTER_KEY (lqserver.sh's STATE/env). Exit 0 on
// success, 1 with the reason on stderr.
'use strict';

const fs = require('fs');

const HTTP = (process.env.PARSE_HTTP_URL || '').replace(/\/+$/, '');
const headers = {
  'X-Parse-Application-Id': process.env.PARSE_APP_ID || 'testAppId',
  'X-Parse-Master-Key': process.env.PARSE_MASTER_KEY || 'testMasterKey',
  'Content-Type': 'application/json',
};

async function rest(method, path, body) {
  const res = await fetch(HTTP + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10000),
  });
  const json = await res.json().catch(() => null);
  if (res.status < 200 || res.status >= 300) throw new Error(`${method} ${path}: HTTP ${res.status} ${JSON.stringify(json)}`);
  return json;
}

function canon(v) {
  if (Array.isArray(v)) return v.map(canon);
  if (v && typeof v === 'object') {
    const out = {};
    for (const k of Object.keys(v).sort()) out[k] = canon(v[k]);
    return out;
  }
  return v;
}
function normalize(o, dropAcl) {
  const out = {};
  for (const k of Object.keys(o).sort()) {
    if (k === 'className' || o[k] === null || o[k] === undefined || (k === 'ACL' && dropAcl)) continue;
    out[k] = canon(o[k]);
  }
  return JSON.stringify(out);
}

async function sameList(file, where, order, limit) {
  const lists = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.includes('"event":"list"'));
  if (!lists.length) throw new Error(`no list line in ${file}`);
  const got = JSON.parse(lists[lists.length - 1]).objects;
  const q = new URLSearchParams({ where, order: `${order},objectId`, limit: String(limit) });
  const want = (await rest('GET', `/classes/GameScore?${q}`)).results;
  const errs = [];
  const ids = (l) => l.map((o) => `${o.objectId}(${o.score})`).join(' ');
  if (ids(got) !== ids(want)) errs.push(`objectIds differ:\n  lqview: ${ids(got)}\n  REST:   ${ids(want)}`);
  const byId = new Map(want.map((o) => [o.objectId, o]));
  for (const o of got) {
    const w = byId.get(o.objectId);
    const dropAcl = !(w && 'ACL' in o && 'ACL' in w);
    if (w && normalize(o, dropAcl) !== normalize(w, dropAcl)) errs.push(`${o.objectId} differs:\n  lqview: ${JSON.stringify(o)}\n  REST:   ${JSON.stringify(w)}`);
  }
  if (errs.length) throw new Error(errs.join('\n'));
  console.log(`${got.length} rows, as a fresh find`);
}

async function main() {
  const [cmd, ...a] = process.argv.slice(2);
  if (!HTTP) throw new Error('PARSE_HTTP_URL is not set');
  if (cmd === 'creates') {
    const n = parseInt(a[1], 10), first = parseInt(a[2] || '1', 10);
    for (let i = 0; i < n; i++) console.log((await rest('POST', '/classes/GameScore', { playerName: a[0], score: first + i })).objectId);
  } else if (cmd === 'ops') {
    for (const [op, id, body] of JSON.parse(a[0])) {
      if (op === 'update') await rest('PUT', `/classes/GameScore/${id}`, body);
      else if (op === 'delete') await rest('DELETE', `/classes/GameScore/${id}`);
      else if (op === 'create') console.log((await rest('POST', '/classes/GameScore', body)).objectId);
      else throw new Error(`unknown op ${op}`);
    }
  } else if (cmd === 'same-list') {
    await sameList(a[0], a[1], a[2], parseInt(a[3], 10));
  } else {
    throw new Error('usage: rest.js creates TAG N [FIRST] | ops JSON | same-list FILE WHERE ORDER LIMIT');
  }
}

main().catch((e) => { process.stderr.write(`rest.js: ${e.message}\n`); process.exit(1); });
