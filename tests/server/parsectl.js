#!/usr/bin/env node
// Drive writes/reads on the test Parse Server through REST.
//
// usage: parsectl.js [--session TOKEN] COMMAND ARGS...
//   create CLASS JSON          -> {"objectId":...,"createdAt":...}
//   update CLASS ID JSON       -> {"updatedAt":...}
//   delete CLASS ID            -> {}
//   get CLASS ID               -> the object
//   signup USERNAME PASSWORD   -> {"objectId":...,"createdAt":...,"sessionToken":...}
//
// Config from the environment (see STATE_DIR/env written by lqserver.sh):
//   PARSE_HTTP_URL (required), PARSE_APP_ID, PARSE_MASTER_KEY, PARSE_JAVASCRIPT_KEY
// Without --session the master key is used; with --session TOKEN the request is made as
// that user (application id + javascript key + session token, no master key).
// Prints the JSON response on one line; exit 0 on success, 1 on a server/HTTP error,
// 2 on bad usage.
'use strict';

const USAGE = `usage: parsectl.js [--session TOKEN] COMMAND ARGS...
  create CLASS JSON
  update CLASS ID JSON
  delete CLASS ID
  get CLASS ID
  signup USERNAME PASSWORD
env: PARSE_HTTP_URL PARSE_APP_ID PARSE_MASTER_KEY PARSE_JAVASCRIPT_KEY`;

function fail(code, msg) {
  process.stderr.write(`parsectl: ${msg}\n`);
  process.exit(code);
}

function parseArgs(argv) {
  const rest = [];
  let session = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--session') {
      if (i + 1 >= argv.length) fail(2, '--session needs a token');
      session = argv[++i];
    } else if (a.startsWith('--session=')) {
      session = a.slice('--session='.length);
    } else if (a === '-h' || a === '--help') {
      process.stdout.write(USAGE + '\n');
      process.exit(0);
    } else {
      rest.push(a);
    }
  }
  return { session, rest };
}

function parseJsonArg(s) {
  try {
    const v = JSON.parse(s);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v;
  } catch (e) {
    fail(2, `invalid JSON object argument: ${e.message}`);
  }
}

function enc(s) {
  return encodeURIComponent(s);
}

async function main() {
  const { session, rest } = parseArgs(process.argv.slice(2));
  const baseUrl = (process.env.PARSE_HTTP_URL || '').replace(/\/+$/, '');
  const appId = process.env.PARSE_APP_ID || 'testAppId';
  const masterKey = process.env.PARSE_MASTER_KEY || 'testMasterKey';
  const jsKey = process.env.PARSE_JAVASCRIPT_KEY || 'testJsKey';
  if (!baseUrl) fail(2, 'PARSE_HTTP_URL is not set (source STATE_DIR/env)');

  const [cmd, ...args] = rest;
  const need = (n) => {
    if (args.length !== n) fail(2, `${cmd}: expected ${n} argument(s)\n${USAGE}`);
  };
  let method;
  let path;
  let body;
  let asUser = session !== null;
  switch (cmd) {
    case 'create':
      need(2);
      method = 'POST';
      path = `/classes/${enc(args[0])}`;
      body = parseJsonArg(args[1]);
      break;
    case 'update':
      need(3);
      method = 'PUT';
      path = `/classes/${enc(args[0])}/${enc(args[1])}`;
      body = parseJsonArg(args[2]);
      break;
    case 'delete':
      need(2);
      method = 'DELETE';
      path = `/classes/${enc(args[0])}/${enc(args[1])}`;
      break;
    case 'get':
      need(2);
      method = 'GET';
      path = `/classes/${enc(args[0])}/${enc(args[1])}`;
      break;
    case 'signup':
      need(2);
      method = 'POST';
      path = '/users';
      body = { username: args[0], password: args[1] };
      asUser = true; // sign up like a client would (a session token is returned)
      break;
    case undefined:
      fail(2, USAGE);
      break;
    default:
      fail(2, `unknown command '${cmd}'\n${USAGE}`);
  }

  const headers = { 'X-Parse-Application-Id': appId };
  if (asUser) {
    headers['X-Parse-Javascript-Key'] = jsKey;
    if (session) headers['X-Parse-Session-Token'] = session;
  } else {
    headers['X-Parse-Master-Key'] = masterKey;
  }
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (cmd === 'signup') headers['X-Parse-Revocable-Session'] = '1';

  let res;
  try {
    res = await fetch(baseUrl + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15000),
    });
  } catch (e) {
    const c = e.cause || {};
    const code = c.code || (c.errors && c.errors[0] && c.errors[0].code) || c.message;
    const cause = code ? ` (${code})` : '';
    fail(1, `${method} ${baseUrl}${path}: ${e.message}${cause}`);
  }
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch (_) {
    fail(1, `${method} ${path}: HTTP ${res.status}, non-JSON response: ${text.slice(0, 200)}`);
  }
  if (!res.ok || (json && typeof json.code === 'number' && typeof json.error === 'string')) {
    fail(1, `${method} ${path}: HTTP ${res.status} ${JSON.stringify(json)}`);
  }
  process.stdout.write(JSON.stringify(json) + '\n');
}

main().catch((e) => fail(1, e && e.stack ? e.stack : String(e)));
