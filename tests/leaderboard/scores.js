#!/usr/bin/env node
// Scores for examples/leaderboard.c, through the REST API (master key).
//
//   scores.js set NAME SCORE [NAME SCORE ...]   each player's GameScore, made or updated
//   scores.js delete NAME                       that player's GameScore gone
//   scores.js top N                             "rank<TAB>name<TAB>score" of a fresh find, best first
//   scores.js play [SECONDS]                    a dozen players, then a change every 0.7 s (forever
//                                               without SECONDS): what make leaderboard shows
//
// Env (STATE_DIR/env of lqserver.sh): PARSE_HTTP_URL, PARSE_APP_ID, PARSE_MASTER_KEY. Every
// request has a 15 s timeout. Exit 0 on success, 1 on a server error, 2 on bad usage.
'use strict';

const URL_ = process.env.PARSE_HTTP_URL || 'http://127.0.0.1:1337/parse';
const HEADERS = {
  'X-Parse-Application-Id': process.env.PARSE_APP_ID || 'testAppId',
  'X-Parse-Master-Key': process.env.PARSE_MASTER_KEY || 'testMasterKey',
  'Content-Type': 'application/json',
};
const CLASS = 'GameScore';
const PLAYERS = ['Ada', 'Brian', 'Chloé', 'Dmitri', 'Erin', 'Farah', 'Gus', 'Hana', 'Ivo', 'Jun', 'Kofi', 'Lena'];

async function rest(method, path, body) {
  const res = await fetch(URL_ + path, {
    method, headers: HEADERS,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15000),
  });
  const json = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${JSON.stringify(json)}`);
  return json;
}

const query = (params) => new URLSearchParams(
  Object.fromEntries(Object.entries(params).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])));

async function idOf(name) {
  const r = await rest('GET', `/classes/${CLASS}?${query({ where: { playerName: name }, limit: 1 })}`);
  return r.results.length ? r.results[0].objectId : null;
}

async function set(name, score) {
  const id = await idOf(name);
  if (id) await rest('PUT', `/classes/${CLASS}/${id}`, { score });
  else await rest('POST', `/classes/${CLASS}`, { playerName: name, score });
}

async function top(n) {
  const r = await rest('GET', `/classes/${CLASS}?${query({
    where: { score: { $exists: true } }, order: '-score,playerName', limit: n, keys: 'playerName,score' })}`);
  return r.results.map((o, i) => `${i + 1}\t${o.playerName}\t${o.score.toFixed(0)}\n`).join('');
}

async function play(seconds) {
  const end = seconds ? Date.now() + seconds * 1000 : Infinity;
  const score = {};
  for (const [i, name] of PLAYERS.entries()) {
    score[name] = 1000 + 37 * i;
    await set(name, score[name]);
  }
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, 700));
    const name = PLAYERS[Math.floor(Math.random() * PLAYERS.length)];
    // Mostly a climb; now and then a bad round that drops the player out of the top 10.
    score[name] = Math.random() < 0.15 ? Math.max(0, score[name] - 400) : score[name] + 20 + Math.floor(Math.random() * 120);
    await set(name, score[name]);
    process.stderr.write(`scores: ${name} ${score[name]}\n`);
  }
}

async function main(argv) {
  const [cmd, ...args] = argv;
  if (cmd === 'set' && args.length >= 2 && args.length % 2 === 0) {
    for (let i = 0; i < args.length; i += 2) await set(args[i], Number(args[i + 1]));
  } else if (cmd === 'delete' && args.length === 1) {
    const id = await idOf(args[0]);
    if (id) await rest('DELETE', `/classes/${CLASS}/${id}`);
  } else if (cmd === 'top' && args.length === 1) {
    process.stdout.write(await top(Number(args[0])));
  } else if (cmd === 'play' && args.length <= 1) {
    await play(Number(args[0] || 0));
  } else {
    process.stderr.write('usage: scores.js set NAME SCORE ... | delete NAME | top N | play [SECONDS]\n');
    process.exit(2);
  }
}

main(process.argv.slice(2)).catch((e) => {
  process.stderr.write(`scores: ${e.message}\n`);
  process.exit(1);
});
