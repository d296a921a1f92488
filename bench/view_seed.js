#!/usr/bin/env node
// view_seed: creates N GameScore objects with playerName TAG (random scores), through the REST
// batch endpoint, for the live-view load benchmark (make bench, section 8).
//
//   node bench/view_seed.js HTTP_URL APP_ID MASTER_KEY TAG N
'use strict';

const [url, app, master, tag, nArg] = process.argv.slice(2);
const n = parseInt(nArg || '', 10);
if (!url || !app || !master || !tag || !(n > 0)) {
  process.stderr.write('usage: view_seed.js HTTP_URL APP_ID MASTER_KEY TAG N\n');
  process.exit(2);
}
const headers = { 'X-Parse-Application-Id': app, 'X-Parse-Master-Key': master, 'Content-Type': 'application/json' };
const path = new URL(url).pathname.replace(/\/$/, '');

async function batch(from, count) {
  const requests = [];
  for (let i = from; i < from + count; i++)
    requests.push({ method: 'POST', path: `${path}/classes/GameScore`,
                    body: { playerName: tag, score: (i * 7919) % 100003, tags: ['bench', 'view'] } });
  const res = await fetch(`${url}/batch`, { method: 'POST', headers, body: JSON.stringify({ requests }) });
  if (!res.ok) throw new Error(`batch: HTTP ${res.status} ${await res.text()}`);
  const out = await res.json();
  if (!Array.isArray(out) || out.some((r) => !r.success)) throw new Error('batch: a create failed');
}

(async () => {
  const per = 100, lanes = 4;
  let next = 0;
  async function lane() {
    while (next < n) {
      const from = next;
      next += per;
      await batch(from, Math.min(per, n - from));
    }
  }
  const t0 = Date.now();
  await Promise.all(Array.from({ length: lanes }, lane));
  console.log(`seeded=${n} seconds=${((Date.now() - t0) / 1000).toFixed(1)}`);
})().catch((e) => { process.stderr.write(`view_seed: ${e.message}\n`); process.exit(1); });
