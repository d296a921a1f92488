#!/usr/bin/env bash
# The same lqwatch, with no version flag, against Parse Server 6.0, 6.5, 7, 8 and 9.10.
#
#   tests/versions/run.sh BUILD_DIR
#
# Needs BUILD_DIR/lqwatch-san. Installs each older server once into LQ_VERSIONS_CACHE (default
# BUILD_DIR/versions; npm ci from tests/versions/npm/V, --engine-strict=false because their
# engines exclude Node 20); 9.10 is tests/server's own. One PostgreSQL cluster (lqserver.sh); the
# servers run one after the other on it, oldest first, each on its own database. For each: the
# server says its version, then lqwatch --keys, --keys with --watch, and --watch alone, while
# objects are created and updated: one subscribed line, no error, the kept fields and the
# dropped updates as Parse Server 9 gives them. Every wait has a deadline. The last line is
# "versions: N passed, M failed"; the exit status is 1 on any failure.
# shellcheck disable=SC2317  # functions run through check() and traps
set -uo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SERVER_SH="$ROOT/tests/server/lqserver.sh"
PARSECTL="$ROOT/tests/server/parsectl.js"
mkdir -p "$1"
BUILD="$(cd "$1" && pwd)"
LQWATCH="$BUILD/lqwatch-san"
CACHE="${LQ_VERSIONS_CACHE:-$BUILD/versions}"
STATE="$BUILD/versions-server"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/lqver-work.XXXXXX")"
# directory under tests/versions/npm (none: tests/server's) and the version it must report
VERSIONS=("6.0 6.0.0" "6.5 6.5.11" "7 7.5.4" "8 8.6.94" "- 9.10.0")
T0=$SECONDS
PASS=0
FAIL=0
SERVER_STARTED=0
WATCH_PID=""

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

pass() { PASS=$((PASS + 1)); echo "ok   $*"; }
fail() { FAIL=$((FAIL + 1)); echo "FAIL $*"; }
check() { local d="$1"; shift; if "$@"; then pass "$d"; else fail "$d"; fi; }

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [[ -n "$WATCH_PID" ]] && kill -TERM "$WATCH_PID" 2>/dev/null
  if [[ $SERVER_STARTED -eq 1 ]]; then
    timeout 60 bash "$SERVER_SH" stop "$STATE" >>"$WORK/server.log" 2>&1 || echo "versions: stopping the server failed" >&2
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "versions: interrupted" >&2; exit 130' INT TERM

finish() {
  echo "run time: $((SECONDS - T0)) s"
  echo "versions: $PASS passed, $FAIL failed"
  [[ $FAIL -eq 0 ]] && exit 0
  exit 1
}

[[ -x "$LQWATCH" ]] || { fail "missing $LQWATCH (make $LQWATCH)"; finish; }

# ---------------------------------------------------------------- installs (once)
# install DIR: npm ci of tests/versions/npm/DIR into CACHE/DIR, unless its lock file is there already.
install() {
  local src="$ROOT/tests/versions/npm/$1" dst="$CACHE/$1" t=$SECONDS
  local stamp="$dst/node_modules/.lq-installed"
  if [[ -f "$stamp" ]] && cmp -s "$src/package-lock.json" "$dst/package-lock.json"; then return 0; fi
  rm -rf "$dst"
  mkdir -p "$dst"
  cp "$src/package.json" "$src/package-lock.json" "$dst/"
  if ! (cd "$dst" && timeout 600 npm ci --engine-strict=false --prefer-offline --no-audit --no-fund \
          --loglevel=error >"$WORK/npm-$1.log" 2>&1); then
    tail -n 20 "$WORK/npm-$1.log"
    return 1
  fi
  touch "$stamp"
  echo "installed parse-server $1 in $((SECONDS - t)) s"
}

echo "== installs"
mkdir -p "$CACHE"
exec 9>>"$CACHE/.lock"
flock -w 1200 9 || { fail "waiting for $CACHE/.lock"; finish; }
# All at once: an install spends its time unpacking (a warm npm cache saves little), not waiting.
pids=()
for row in "${VERSIONS[@]}"; do
  dir="${row% *}"
  [[ "$dir" == - ]] && continue
  install "$dir" >"$WORK/install-$dir.out" 2>&1 &
  pids+=("$dir $!")
done
for p in "${pids[@]}"; do
  rc=0; wait "${p#* }" || rc=$?
  cat "$WORK/install-${p% *}.out"
  check "npm ci parse-server ${p% *}" test "$rc" -eq 0
done
exec 9>&-
if ! timeout 900 bash "$SERVER_SH" install >"$WORK/install.log" 2>&1; then
  tail -n 20 "$WORK/install.log"
  fail "lqserver.sh install"
fi
[[ $FAIL -eq 0 ]] || finish
echo "installs ready after $((SECONDS - T0)) s"

# ---------------------------------------------------------------- helpers
# jcheck FILE EXPR [ARGS...]: every non-empty line of FILE is JSON and EXPR holds, with lines
# (parsed), ev (the object events: create, update, ...) and arg (ARGS) in scope.
jcheck() {
  node -e '
    const fs = require("fs");
    const raw = fs.readFileSync(process.argv[1], "utf8").split("\n").filter((l) => l.length);
    let lines;
    try { lines = raw.map((l) => JSON.parse(l)); }
    catch (e) { console.error("  invalid JSON line in " + process.argv[1] + ": " + e.message + "\n  " + raw.join("\n  ")); process.exit(1); }
    const ev = lines.filter((l) => l.object);
    const ok = new Function("lines", "ev", "arg", "return (" + process.argv[2] + ");")(lines, ev, process.argv.slice(3));
    if (!ok) { console.error("  not true: " + process.argv[2] + "\n  " + raw.join("\n  ")); process.exit(1); }
  ' "$@"
}

create() {
  timeout 20 node "$PARSECTL" create "$1" "$2" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s);if(!o.objectId)process.exit(1);console.log(o.objectId)})'
}
update() { timeout 20 node "$PARSECTL" update "$1" "$2" "$3" >/dev/null; }

# The version the running server reports (GET /serverInfo with the master key).
server_version() {
  timeout 20 node -e '
    fetch(process.env.PARSE_HTTP_URL + "/serverInfo", { headers: { "X-Parse-Application-Id": process.env.PARSE_APP_ID,
      "X-Parse-Master-Key": process.env.PARSE_MASTER_KEY }, signal: AbortSignal.timeout(10000) })
      .then((r) => r.json()).then((j) => console.log(j.parseServerVersion), (e) => { console.error(e); process.exit(1); });'
}
version_is() {
  local got; got="$(server_version)"
  [[ "$got" == "$1" ]] || { echo "  the server says $got, want $1" >&2; return 1; }
}

wait_line() {  # FILE REGEX SECONDS
  local deadline=$((SECONDS + $3))
  while ! grep -qE "$2" "$1" 2>/dev/null; do
    (( SECONDS >= deadline )) && return 1
    sleep 0.05
  done
}

# watch NAME ARGS...: lqwatch in the background, output in WORK/NAME.{out,err}; true once subscribed.
# With the JavaScript key, as an app runs it: with the master key, 6.x and 7.x fail every event
# (server-facts.md).
watch() {
  local name="$1"; shift
  : >"$WORK/$name.out"                    # now, not in the child: the wait below reads it at once
  env -u PARSE_MASTER_KEY timeout -k 2 30 "$LQWATCH" "$@" >>"$WORK/$name.out" 2>"$WORK/$name.err" &
  WATCH_PID=$!
  WATCH_NAME="$name"
  wait_line "$WORK/$name.out" '"event":"(subscribed|error)"' 15 && grep -q '"event":"subscribed"' "$WORK/$name.out" && return 0
  echo "  $name: no subscribed line: $(cat "$WORK/$name.out" "$WORK/$name.err")"
  kill -TERM "$WATCH_PID" 2>/dev/null
  return 1
}
finish_watch() { wait "$WATCH_PID"; WATCH_RC=$?; WATCH_PID=""; }
rc_is() { [[ "$1" -eq "$2" ]] || { echo "  exit status $1, want $2: $(cat "$WORK/$WATCH_NAME.err")" >&2; return 1; }; }

# What every run must show: exit 0, one subscribed line, no error line.
clean_run() {
  local f="$WORK/$1.out"
  check "$V $1: exit 0" rc_is "$WATCH_RC" 0
  check "$V $1: one subscribed line, no error" jcheck "$f" \
    'lines.filter((l) => l.event === "subscribed").length === 1 && !lines.some((l) => l.event === "error")'
}

# ---------------------------------------------------------------- one server
run_version() {  # DIR VERSION
  local dir="$1" tag id t=$SECONDS
  V="parse-server $2"
  echo "== $V"
  if [[ "$dir" == - ]]; then unset LQ_PARSE_SERVER_DIR; else export LQ_PARSE_SERVER_DIR="$CACHE/$dir"; fi
  # Each version on a database of its own: an older server on a newer one's schema is not a case.
  export LQSERVER_DATABASE="v${2//./_}"
  if [[ $SERVER_STARTED -eq 0 ]]; then
    SERVER_STARTED=1
    timeout 150 bash "$SERVER_SH" start "$STATE" >"$WORK/start.log" 2>&1
  else
    timeout 60 bash "$SERVER_SH" kill-parse "$STATE" >>"$WORK/server.log" 2>&1
    timeout 120 bash "$SERVER_SH" start-parse "$STATE" >"$WORK/start.log" 2>&1
  fi
  # shellcheck disable=SC2181
  if [[ $? -ne 0 ]]; then
    tail -n 30 "$WORK/start.log"
    fail "$V: the server starts"
    return
  fi
  pass "$V: the server starts ($((SECONDS - t)) s)"
  set -a
  # shellcheck disable=SC1091
  source "$STATE/env"
  set +a
  check "$V: the server reports $2" version_is "$2"

  # --keys: only score (and className, objectId, createdAt, updatedAt) in object and original
  tag="v$$-${2//./}-keys" id=""
  if watch keys --keys score -n 2 --timeout 20 GameScore "{\"playerName\":\"$tag\"}"; then
    id="$(create GameScore "{\"playerName\":\"$tag\",\"score\":1,\"tags\":[\"a\"]}")"
    update GameScore "$id" '{"score":2}'
  fi
  finish_watch
  clean_run keys
  check "$V keys: create and update with score only" jcheck "$WORK/keys.out" \
    'JSON.stringify(ev.map((l) => [l.event, l.object.objectId, Object.keys(l.object).sort().join(), l.object.score,
       l.original ? Object.keys(l.original).sort().join() : null, l.original ? l.original.score : null])) ===
     JSON.stringify([["create", arg[0], "className,createdAt,objectId,score,updatedAt", 1, null, null],
                     ["update", arg[0], "className,createdAt,objectId,score,updatedAt", 2, "className,createdAt,objectId,score,updatedAt", 1]])' "$id"

  # --keys with --watch: the update of tags alone is dropped (by the server, or on 6.0 by lqwatch)
  tag="v$$-${2//./}-kw" id=""
  if watch kw --keys score,playerName --watch score -n 2 --timeout 20 GameScore "{\"playerName\":\"$tag\"}"; then
    id="$(create GameScore "{\"playerName\":\"$tag\",\"score\":1}")"
    update GameScore "$id" '{"tags":["b"]}'
    update GameScore "$id" '{"score":2}'
  fi
  finish_watch
  clean_run kw
  check "$V kw: create, then only the update of score" jcheck "$WORK/kw.out" \
    'JSON.stringify(ev.map((l) => [l.event, l.object.objectId, Object.keys(l.object).sort().join(), l.object.score,
       l.original ? l.original.score : null])) ===
     JSON.stringify([["create", arg[0], "className,createdAt,objectId,playerName,score,updatedAt", 1, null],
                     ["update", arg[0], "className,createdAt,objectId,playerName,score,updatedAt", 2, 1]])' "$id"

  # --watch alone: whole objects; a create without score is dropped, as is the update of tags
  tag="v$$-${2//./}-w" id=""
  if watch w --watch score -n 2 --timeout 20 GameScore "{\"playerName\":\"$tag\"}"; then
    create GameScore "{\"playerName\":\"$tag\",\"tags\":[\"x\"]}" >/dev/null
    id="$(create GameScore "{\"playerName\":\"$tag\",\"score\":1}")"
    update GameScore "$id" '{"tags":["b"]}'
    update GameScore "$id" '{"score":2}'
  fi
  finish_watch
  clean_run w
  check "$V w: the create with score, then only the update of score" jcheck "$WORK/w.out" \
    'JSON.stringify(ev.map((l) => [l.event, l.object.objectId, l.object.playerName, l.object.score, l.original ? l.original.score : null])) ===
     JSON.stringify([["create", arg[0], arg[1], 1, null], ["update", arg[0], arg[1], 2, 1]])' "$id" "$tag"
}

for row in "${VERSIONS[@]}"; do
  run_version "${row% *}" "${row#* }"
done
finish
