#!/usr/bin/env node
// ingest_sdk: the Parse JS SDK (npm parse 8.6.2) LiveQueryClient receiving N update events from
// bench/source, for comparison with ingest_lq.
//
//   node bench/ingest_sdk.js PORT N [original]
//
// Subscribes to GameScore; for every update reads two fields (score, playerName) of the
// Parse.Object the SDK hands over. Prints the same key=value line as ingest_lq.
// The SDK comes from tests/server/node_modules (bash tests/server/lqserver.sh install), or from
// the directory in PARSE_SDK_DIR.
'use strict';

const path = require('path');

const sdkDir = process.env.PARSE_SDK_DIR || path.join(__dirname, '..', 'tests', 'server', 'node_modules', 'parse');
const Parse = require(path.join(sdkDir, 'node.js'));
const sdkVersion = require(path.join(sdkDir, 'package.json')).version;

const port = process.argv[2];
const want = parseInt(process.argv[3] || '', 10);
const original = process.argv.length > 4;
if (!port || !(want > 1)) {
  process.stderr.write('usage: ingest_sdk.js PORT N [original]\n');
  process.exit(2);
}
if (sdkVersion !== '8.6.2') process.stderr.write(`ingest_sdk: warning: parse ${sdkVersion}, not 8.6.2\n`);

Parse.initialize('benchApp', 'benchKey');
Parse.serverURL = `http://127.0.0.1:${port}/parse`;

const cpuNs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};

let got = 0;
let t0 = 0n;
let t1 = 0n;
let cpu0 = 0;
let cpu1 = 0;
let sum = 0;
let nameLen = 0;

const client = new Parse.LiveQueryClient({
  applicationId: 'benchApp',
  serverURL: `ws://127.0.0.1:${port}/parse?n=${want}${original ? '&o=1' : ''}`,
  javascriptKey: 'benchKey',
});
client.on('error', (e) => {
  process.stderr.write(`ingest_sdk: error ${e}\n`);
  process.exit(1);
});
client.open();
const sub = client.subscribe(new Parse.Query('GameScore'));
sub.on('update', (object) => {
  sum += object.get('score');
  nameLen += object.get('playerName').length;
  got++;
  if (got === 1) {
    t0 = process.hrtime.bigint();
    cpu0 = cpuNs();
  }
  if (got === want) {
    t1 = process.hrtime.bigint();
    cpu1 = cpuNs();
    const secs = Number(t1 - t0) / 1e9;
    const cpu = (cpu1 - cpu0) / 1e9;
    const rss = process.resourceUsage().maxRSS;
    process.stdout.write(
      `events=${want} secs=${secs.toFixed(6)} cpu=${cpu.toFixed(6)} allocs=NA heap=${process.memoryUsage().heapUsed} ` +
        `rss_kb=${rss} check=${sum}/${nameLen}\n`,
      () => process.exit(0)
    );
  }
});
setTimeout(() => {
  process.stderr.write(`ingest_sdk: ${got} of ${want} events\n`);
  process.exit(1);
}, 300000).unref();
