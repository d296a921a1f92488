#!/usr/bin/env node
// view_sdk: the Parse JS SDK's query.find() of the objects view_load loads, for comparison
// (make bench, section 8). Prints key=value: find_ms (median of ROUNDS), heap_bytes (the heap the
// first round's results hold, after a GC; the SDK keeps one state per objectId), per_row.
//
//   node --expose-gc bench/view_sdk.js HTTP_URL APP_ID JS_KEY TAG N [ROUNDS]
'use strict';

const path = require('path');
const sdkDir = process.env.PARSE_SDK_DIR || path.join(__dirname, '..', 'tests', 'server', 'node_modules', 'parse');
const Parse = require(path.join(sdkDir, 'node.js'));

const [url, app, key, tag, nArg, roundsArg] = process.argv.slice(2);
const n = parseInt(nArg || '', 10), rounds = parseInt(roundsArg || '3', 10);
if (!url || !app || !key || !tag || !(n > 0) || typeof global.gc !== 'function') {
  process.stderr.write('usage: node --expose-gc view_sdk.js HTTP_URL APP_ID JS_KEY TAG N [ROUNDS]\n');
  process.exit(2);
}
Parse.initialize(app, key);
Parse.serverURL = url;

(async () => {
  const times = [];
  let heap = 0;
  for (let r = 0; r < rounds; r++) {
    global.gc();
    const before = process.memoryUsage().heapUsed;
    const t0 = process.hrtime.bigint();
    const q = new Parse.Query('GameScore');
    q.equalTo('playerName', tag);
    q.descending('score');
    q.limit(n + 1000);
    const rows = await q.find();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (rows.length !== n) throw new Error(`${rows.length} rows, want ${n}`);
    global.gc();
    if (r === 0) heap = process.memoryUsage().heapUsed - before;   /* later rounds reuse the SDK's object states */
    if (rows[0].get('score') === undefined) throw new Error('no score');
  }
  times.sort((a, b) => a - b);
  console.log(`find_ms=${times[Math.floor(times.length / 2)].toFixed(1)} heap_bytes=${heap} per_row=${Math.round(heap / n)}`);
})().catch((e) => { process.stderr.write(`view_sdk: ${e.message}\n`); process.exit(1); });
