#!/usr/bin/env node
// Parse Server 9.10.0 + LiveQuery for the livequery.h tests.
//
// Environment:
//   PORT          (required) TCP port, bound on 127.0.0.1 only
//   DATABASE_URI  (required) postgres://USER:PASS@127.0.0.1:PGPORT/DB
//   PARSE_APP_ID, PARSE_JAVASCRIPT_KEY, PARSE_MASTER_KEY, PARSE_CLIENT_KEY (optional, test defaults)
//   LQ_PARSE_SERVER_DIR (optional) a directory whose node_modules holds another parse-server
//                 (tests/versions: 6.0 to 8.x); default: the 9.10.0 beside this file
//
// LiveQuery runs on the same HTTP server: ws://127.0.0.1:PORT/parse
// When the LiveQuery classes exist (with open class-level permissions) the process
// prints exactly one line "READY <port>" on stdout. SIGTERM/SIGINT: shut down and exit.
'use strict';

// Must be set before parse-server is loaded, or it writes log files into ./logs.
process.env.PARSE_SERVER_LOGS_FOLDER = 'null';

const HOST = '127.0.0.1';
const PORT = parseInt(process.env.PORT || '', 10);
const DATABASE_URI = process.env.DATABASE_URI;
const APP_ID = process.env.PARSE_APP_ID || 'testAppId';
const JS_KEY = process.env.PARSE_JAVASCRIPT_KEY || 'testJsKey';
const MASTER_KEY = process.env.PARSE_MASTER_KEY || 'testMasterKey';
const CLIENT_KEY = process.env.PARSE_CLIENT_KEY || 'testClientKey';
const MOUNT = '/parse';
const LQ_CLASSES = ['GameScore', 'Message', 'Private', 'Guarded'];

if (!Number.isInteger(PORT) || PORT <= 0 || PORT > 65535 || !DATABASE_URI) {
  process.stderr.write('server.js: PORT and DATABASE_URI must be set\n');
  process.exit(2);
}

const PARSE_SERVER_DIR = process.env.LQ_PARSE_SERVER_DIR;
const { ParseServer } = require(PARSE_SERVER_DIR
  ? require('path').resolve(PARSE_SERVER_DIR, 'node_modules', 'parse-server')
  : 'parse-server');

const OPEN_CLP = {
  find: { '*': true },
  count: { '*': true },
  get: { '*': true },
  create: { '*': true },
  update: { '*': true },
  delete: { '*': true },
  addField: { '*': true },
  protectedFields: { '*': [] },
};

const SCHEMAS = {
  GameScore: {
    score: { type: 'Number' },
    playerName: { type: 'String' },
    tags: { type: 'Array' },
    owner: { type: 'Pointer', targetClass: '_User' },
    loc: { type: 'GeoPoint' },
    when: { type: 'Date' },
  },
  Message: {
    text: { type: 'String' },
    room: { type: 'String' },
  },
  Private: {
    secret: { type: 'String' },
  },
  // An afterLiveQueryEvent trigger (below) refuses the events of objects whose note is "refuse":
  // parse-server then sends an error for that one event and keeps the subscription.
  Guarded: {
    tag: { type: 'String' },
    note: { type: 'String' },
  },
};

const serverURL = `http://${HOST}:${PORT}${MOUNT}`;
let parseServer = null;
let shuttingDown = false;

async function rest(method, path, body) {
  const res = await fetch(serverURL + path, {
    method,
    headers: {
      'X-Parse-Application-Id': APP_ID,
      'X-Parse-Master-Key': MASTER_KEY,
      'Content-Type': 'application/json',
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15000),
  });
  let json = null;
  try {
    json = await res.json();
  } catch (_) {
    json = null;
  }
  return { status: res.status, json };
}

async function ensureClass(className, fields) {
  const current = await rest('GET', `/schemas/${className}`);
  if (current.status !== 200) {
    const created = await rest('POST', `/schemas/${className}`, {
      className,
      fields,
      classLevelPermissions: OPEN_CLP,
    });
    if (created.status === 200 || created.status === 201) return;
    throw new Error(`create schema ${className}: HTTP ${created.status} ${JSON.stringify(created.json)}`);
  }
  // Restart on an existing database: make sure the permissions are open and add any
  // field that is missing.
  const have = (current.json && current.json.fields) || {};
  const missing = {};
  for (const [name, def] of Object.entries(fields)) {
    if (!have[name]) missing[name] = def;
  }
  const updated = await rest('PUT', `/schemas/${className}`, {
    className,
    fields: missing,
    classLevelPermissions: OPEN_CLP,
  });
  if (updated.status !== 200) {
    throw new Error(`update schema ${className}: HTTP ${updated.status} ${JSON.stringify(updated.json)}`);
  }
}

function shutdown(signal) {
  if (shuttingDown) return;
  shuttingDown = true;
  // Bounded: whatever happens, the process is gone within 5 s.
  setTimeout(() => process.exit(0), 5000).unref();
  const done = () => process.exit(0);
  if (!parseServer) return done();
  Promise.resolve()
    .then(() => parseServer.handleShutdown())
    .then(done, (e) => {
      process.stderr.write(`server.js: shutdown after ${signal}: ${e && e.stack ? e.stack : e}\n`);
      done();
    });
}

// express 5's app.listen reports a bind error through the listen callback, so
// ParseServer.startApp "succeeds" with a server that is not listening (and its
// serverURL check may then talk to whoever holds the port). Check the port first.
function checkPortFree() {
  return new Promise((resolve) => {
    const probe = require('net').createServer();
    probe.once('error', (e) => resolve(e.code || String(e)));
    probe.listen(PORT, HOST, () => probe.close(() => resolve(null)));
  });
}

function portBusy(code) {
  process.stderr.write(`server.js: cannot listen on ${HOST}:${PORT}: ${code}\n`);
  process.exit(3);
}

async function main() {
  const busy = await checkPortFree();
  if (busy) portBusy(busy);
  parseServer = await ParseServer.startApp({
    appId: APP_ID,
    masterKey: MASTER_KEY,
    javascriptKey: JS_KEY,
    clientKey: CLIENT_KEY,
    // Loopback only; parse-server's default masterKeyIps already allow 127.0.0.1/::1.
    serverURL,
    publicServerURL: serverURL,
    databaseURI: DATABASE_URI,
    host: HOST,
    port: PORT,
    mountPath: MOUNT,
    logLevel: 'error',
    logsFolder: null,
    allowClientClassCreation: false,
    verifyServerUrl: false, // we call our own REST API below anyway
    liveQuery: { classNames: LQ_CLASSES },
    cloud: (Parse) => {
      Parse.Cloud.afterLiveQueryEvent('Guarded', (req) => {
        if (req.object && req.object.get('note') === 'refuse') {
          throw new Parse.Error(141, 'afterLiveQueryEvent refused this event');
        }
      });
    },
    startLiveQueryServer: true,
    liveQueryServerOptions: {
      appId: APP_ID,
      masterKey: MASTER_KEY,
      serverURL,
      keyPairs: {
        applicationId: APP_ID,
        javascriptKey: JS_KEY,
        masterKey: MASTER_KEY,
        clientKey: CLIENT_KEY,
      },
      websocketTimeout: 10000,
      logLevel: 'ERROR',
    },
  });

  if (!parseServer.server || !parseServer.server.listening) portBusy('EADDRINUSE (lost the race)');

  // parse-server's own SIGTERM/SIGINT handler shuts down but never exits: replace it.
  process.removeAllListeners('SIGTERM');
  process.removeAllListeners('SIGINT');
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  for (const [className, fields] of Object.entries(SCHEMAS)) {
    await ensureClass(className, fields);
  }
  process.stdout.write(`READY ${PORT}\n`);
}

// Install a handler early too, in case a signal arrives while booting.
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

main().catch((e) => {
  process.stderr.write(`server.js: startup failed: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
