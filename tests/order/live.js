#!/usr/bin/env node
// The Node half of tests/order/live.sh: fills class OrderCheck on a running Parse Server and
// writes what the server answers for many `order` parameters, for check.c to compare with
// lq__order_cmp.
//
//   node live.js ENV_FILE OUT_JSON
//
// ENV_FILE is the env file of tests/server/lqserver.sh start. OUT_JSON gets an array of
// {order, exact, status, code, error, results}: exact when the order ends every tie (objectId is
// one of its keys). Every request has a timeout; the whole run is bounded by live.sh.
'use strict';
const fs = require('fs');

const [envFile, outFile] = process.argv.slice(2);
if (!envFile || !outFile) {
  process.stderr.write('usage: node live.js ENV_FILE OUT_JSON\n');
  process.exit(2);
}
const env = Object.fromEntries(fs.readFileSync(envFile, 'utf8').split('\n').filter(Boolean).map((l) => {
  const i = l.indexOf('=');
  return [l.slice(0, i), l.slice(i + 1)];
}));
const URL_BASE = env.PARSE_HTTP_URL;
const CLASS = 'OrderCheck';

async function rest(method, path, body) {
  const res = await fetch(URL_BASE + path, {
    method,
    headers: {
      'X-Parse-Application-Id': env.PARSE_APP_ID,
      'X-Parse-Master-Key': env.PARSE_MASTER_KEY,
      'Content-Type': 'application/json',
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15000),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch (_) { json = { error: text }; }
  return { status: res.status, json };
}

const ptr = (id) => ({ __type: 'Pointer', className: '_User', objectId: id });
const file = (name) => ({ __type: 'File', name, url: `http://127.0.0.1/files/${name}` });
const geo = (latitude, longitude) => ({ __type: 'GeoPoint', latitude, longitude });
const date = (iso) => ({ __type: 'Date', iso });

// undefined: the field is left out; null: set to null.
const VALUES = {
  s: [undefined, '', 'a', 'B', 'b', 'ab', 'a b', '\t', '\u0001', '"q', '\\', '\u00e9', 'e\u0301', '\uE000',
      '\uFFFD', '\u{1F600}', 'z', 'Z', '10', '9', 'a', null],
  n: [undefined, -1e300, -1, -0.5, 0, -0, 0.1, 0.30000000000000004, 1, 1000, 1000.5, 2 ** 53, 1e300, 5e-324,
      -5e-324, 2.5, 3, 1, null],
  b: [undefined, true, false],
  d: [undefined, date('0001-01-01T00:00:00.000Z'), date('1969-12-31T23:59:59.999Z'), date('1970-01-01T00:00:00.000Z'),
      date('2019-06-01T12:00:00.000+02:00'), date('2019-06-01T11:00:00Z'), date('2020-01-01T00:00:00.000Z'),
      date('2020-01-01T00:00:00.001Z'), date('9999-12-31T23:59:59.999Z')],
  arr: [undefined, [], [null], [1], ['a'], [true], [false], [[]], [[1]], [{}], [{ x: 1 }], [1, 2], [1, 3], ['b', 'a'],
        [1, 'a'], [[1, 2]], [[3]], [null, null], [1, 2, 3], ['\u{1F600}'], ['\uE000']],
  o: [undefined, {}, { b: null }, { b: '' }, { b: 'str' }, { b: -2.5 }, { b: 3 }, { b: true }, { b: false }, { b: [] },
      { b: [1] }, { b: [1, 2] }, { b: {} }, { b: { k: 1 } }, { c: 1 }, { b: 3, c: 'x' }, { b: 1, aa: 2 },
      { b: 2, aa: 1 }, { zz: 0 }, { b: { k: [] } }, { b: { k: 'z' } }, { d: date('2020-01-01T01:30:00.000Z') },
      { d: date('2020-01-01T02:00:00.000+01:00') }, { b: '\u00e9' }, { b: '\uE000' }, { b: '\u{1F600}' }, { b: 1e3 },
      { aa: 9, b: 1 }, { ab: 0, b: 1 }],
  p: [undefined, ptr('AAA'), ptr('mmm'), ptr('zzz'), ptr('aaa'), ptr('Zz')],
  f: [undefined, file('a.txt'), file('b.txt'), file('B.txt')],
  g: [undefined, geo(10, 10), geo(-5, 1)],
};
const COUNT = 64;

const ORDERS = [
  's', '-s', 'n', '-n', 'b', '-b', 'd', '-d', 'createdAt', '-createdAt', 'updatedAt', '-updatedAt',
  '_created_at', '-_updated_at', 'b,-n', '-b,s', 'b,d,-n', 's,n,b,d', '-b,-s,n', 'arr', '-arr', 'o', '-o',
  'o.b', '-o.b', 'o.b.k', 'o.d', 'o.aa', 'o.B', 'arr.0', '-arr.0', 'arr.1', 'p', '-p', 'f', '-f', 'nosuch',
  'nosuch,-n', 't,b,-t', 'b,n,-b', '_created_at,b', '-createdAt,_created_at', '_updated_at,_created_at,b',
  'objectId', '-objectId', ' -n , s ', 'u,-s', '',
  // refused or odd on the server side
  'g', '-g', '$x', 'className', 'length', 'a b', 's,,b', 's,', '-', '- n', '_x', 'authData.x.id', 's.x', 'd.iso',
  'p.objectId', 'ACL', 'score', 'o.',
];

const keysOf = (order) => order.split(',').map((k) => k.trim().replace(/^-/, ''));

async function main() {
  let r = await rest('POST', `/schemas/${CLASS}`, {
    className: CLASS,
    fields: {
      t: { type: 'String' }, s: { type: 'String' }, n: { type: 'Number' }, b: { type: 'Boolean' },
      d: { type: 'Date' }, arr: { type: 'Array' }, o: { type: 'Object' }, p: { type: 'Pointer', targetClass: '_User' },
      f: { type: 'File' }, g: { type: 'GeoPoint' }, u: { type: 'Number' },
    },
  });
  if (r.status !== 200 && r.status !== 201) throw new Error(`schema: ${r.status} ${JSON.stringify(r.json)}`);
  const ids = [];
  let seed = 20261201;
  const rand = (n) => {                             // a fixed sequence: the same objects every run
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  for (let i = 0; i < COUNT; i++) {
    const obj = { t: String(i).padStart(2, '0') };
    for (const [key, list] of Object.entries(VALUES)) {
      const v = list[rand(list.length)];
      if (v !== undefined) obj[key] = v;
    }
    r = await rest('POST', `/classes/${CLASS}`, obj);
    if (r.status !== 201) throw new Error(`create ${JSON.stringify(obj)}: ${r.status} ${JSON.stringify(r.json)}`);
    ids.push(r.json.objectId);
  }
  // updatedAt in another order than createdAt: every third object, last first
  for (let i = COUNT - 1; i >= 0; i -= 3) {
    r = await rest('PUT', `/classes/${CLASS}/${ids[i]}`, { u: i % 5 });
    if (r.status !== 200) throw new Error(`update: ${r.status} ${JSON.stringify(r.json)}`);
  }
  const out = [];
  for (const order of ORDERS) {
    const variants = [order];
    if (order !== '' && !keysOf(order).includes('objectId')) variants.push(`${order},objectId`);
    for (const v of variants) {
      const q = new URLSearchParams({ order: v, limit: '1000' });
      r = await rest('GET', `/classes/${CLASS}?${q}`);
      const j = r.json || {};
      out.push({ order: v, exact: keysOf(v).includes('objectId'), status: r.status, code: j.code ?? null,
                 error: j.error ?? null, results: j.results ?? null });
    }
  }
  fs.writeFileSync(outFile, JSON.stringify(out));
  process.stdout.write(`live.js: ${COUNT} objects, ${out.length} queries\n`);
}

main().catch((e) => {
  process.stderr.write(`live.js: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
