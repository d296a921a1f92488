#!/usr/bin/env bash
# Integration tests against a real Parse Server (LiveQuery), started here and always stopped.
#
#   tests/run-integration.sh STATE_DIR BUILD_DIR
#
# Needs BUILD_DIR/test_live (tests/test_live.c with ASan+UBSan) and BUILD_DIR/lqwatch-san
# (examples/lqwatch.c with sanitizers). Installs the server (lqserver.sh install), starts it in
# STATE_DIR, runs test_live, then checks the lqwatch command-line contract. Every wait has a
# deadline. The last line is "integration: N passed, M failed"; the exit status is 1 on any failure.
# shellcheck disable=SC2317  # functions run through check() and traps
set -uo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 STATE_DIR BUILD_DIR" >&2
  exit 2
fi
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVER_SH="$ROOT/tests/server/lqserver.sh"
PARSECTL="$ROOT/tests/server/parsectl.js"
mkdir -p "$1" "$2"
STATE="$(cd "$1" && pwd)"
BUILD="$(cd "$2" && pwd)"
TEST_LIVE="$BUILD/test_live"
LQWATCH="$BUILD/lqwatch-san"
LQVIEW="$BUILD/lqview-san"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/lqit-work.XXXXXX")"
T0=$SECONDS
PASS=0
FAIL=0
SERVER_STARTED=0
LIVE_PID=""
WATCH_PID=""

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

pass() { PASS=$((PASS + 1)); echo "ok   $*"; }
fail() { FAIL=$((FAIL + 1)); echo "FAIL $*"; }
# check DESCRIPTION COMMAND...: passes when the command succeeds
check() { local d="$1"; shift; if "$@"; then pass "$d"; else fail "$d"; fi; }

# PARSE_PID from STATE/env (changes on every restart).
parse_pid() { sed -n 's/^PARSE_PID=//p' "$STATE/env" 2>/dev/null || true; }

now_ms() { date +%s%3N; }

kill_children() {
  local p
  for p in "$LIVE_PID" "$WATCH_PID"; do
    [[ -n "$p" ]] && kill -TERM "$p" 2>/dev/null
  done
  return 0
}

cleanup() {
  local rc=$? pid
  trap - EXIT INT TERM
  kill_children
  # a server left frozen by an interrupted test would not handle SIGTERM
  pid="$(parse_pid)"
  if [[ -n "$pid" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q server.js; then
    kill -CONT "$pid" 2>/dev/null || true
  fi
  if [[ $SERVER_STARTED -eq 1 ]]; then
    timeout 60 bash "$SERVER_SH" stop "$STATE" >>"$WORK/server.log" 2>&1 || echo "run-integration: stopping the server failed" >&2
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "run-integration: interrupted" >&2; exit 130' INT TERM

finish() {
  echo "run time: $((SECONDS - T0)) s"
  echo "integration: $PASS passed, $FAIL failed"
  if [[ $FAIL -eq 0 ]]; then exit 0; fi
  exit 1
}

for f in "$TEST_LIVE" "$LQWATCH"; do
  if [[ ! -x "$f" ]]; then
    fail "missing $f (build it first: make $BUILD/test_live $BUILD/lqwatch-san)"
  fi
done
[[ $FAIL -eq 0 ]] || finish

# ---------------------------------------------------------------- the server
echo "== server"
if ! timeout 300 bash "$SERVER_SH" install >"$WORK/install.log" 2>&1; then
  tail -n 20 "$WORK/install.log"
  fail "lqserver.sh install"
  finish
fi
SERVER_STARTED=1
if ! timeout 150 bash "$SERVER_SH" start "$STATE" >"$WORK/start.log" 2>&1; then
  tail -n 30 "$WORK/start.log"
  fail "lqserver.sh start $STATE"
  finish
fi
set -a
# shellcheck disable=SC1091
source "$STATE/env"
set +a
export LQ_STATE="$STATE" LQ_SERVER_SH="$SERVER_SH"
echo "server up: $PARSE_SERVER_URL (pid $PARSE_PID)"

# Make sure the server runs (a test may have left it down).
ensure_server() {
  if ! timeout 30 bash "$SERVER_SH" status "$STATE" >/dev/null 2>&1; then
    local pid; pid="$(parse_pid)"
    [[ -n "$pid" ]] && kill -CONT "$pid" 2>/dev/null
    echo "run-integration: the parse server is down, starting it again"
    timeout 120 bash "$SERVER_SH" start-parse "$STATE" >>"$WORK/server.log" 2>&1 || return 1
  fi
  set -a
  # shellcheck disable=SC1091
  source "$STATE/env"
  set +a
}

# ---------------------------------------------------------------- test_live
echo "== test_live"
# In the background, so that a signal interrupts "wait" at once (timeout runs its child in a
# process group of its own: a terminal's Ctrl-C would not reach it).
(cd "$ROOT" && exec timeout -k 10 180 "$TEST_LIVE") >"$WORK/live.out" 2>&1 &
LIVE_PID=$!
tail -n +1 -f --pid="$LIVE_PID" "$WORK/live.out" &
tail_pid=$!
wait "$LIVE_PID"
live_rc=$?
LIVE_PID=""
wait "$tail_pid" 2>/dev/null
summary="$(grep -E '^live: [0-9]+ passed, [0-9]+ failed$' "$WORK/live.out" | tail -n 1)"
if [[ -n "$summary" ]]; then
  n="$(sed -E 's/^live: ([0-9]+) passed, ([0-9]+) failed$/\1/' <<<"$summary")"
  m="$(sed -E 's/^live: ([0-9]+) passed, ([0-9]+) failed$/\2/' <<<"$summary")"
  PASS=$((PASS + n))
  FAIL=$((FAIL + m))
else
  fail "test_live printed no summary (crashed or timed out?)"
fi
if [[ $live_rc -eq 0 ]]; then pass "test_live exit status 0"; else fail "test_live exit status $live_rc"; fi
check "the server runs after test_live" ensure_server

# ---------------------------------------------------------------- lqwatch
echo "== lqwatch"
TAGBASE="lw$$-$RANDOM"

# jcheck FILE EXPR [ARGS...]: every non-empty line of FILE is JSON and EXPR holds, with
# lines (parsed), raw (text) and arg (ARGS) in scope.
jcheck() {
  node -e '
    const fs = require("fs");
    const raw = fs.readFileSync(process.argv[1], "utf8").split("\n").filter((l) => l.length);
    let lines;
    try { lines = raw.map((l) => JSON.parse(l)); }
    catch (e) { console.error("  invalid JSON line in " + process.argv[1] + ": " + e.message); process.exit(1); }
    const ok = new Function("lines", "raw", "arg", "return (" + process.argv[2] + ");")(lines, raw, process.argv.slice(3));
    if (!ok) { console.error("  not true: " + process.argv[2] + "\n  " + raw.join("\n  ")); process.exit(1); }
  ' "$@"
}

# create CLASS JSON -> objectId on stdout
create() {
  timeout 20 node "$PARSECTL" create "$1" "$2" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s);if(!o.objectId)process.exit(1);console.log(o.objectId)})'
}
update() { timeout 20 node "$PARSECTL" update "$1" "$2" "$3" >/dev/null; }
delete() { timeout 20 node "$PARSECTL" delete "$1" "$2" >/dev/null; }

# wait_line FILE REGEX SECONDS
wait_line() {
  local deadline=$((SECONDS + $3))
  while ! grep -qE "$2" "$1" 2>/dev/null; do
    (( SECONDS >= deadline )) && return 1
    sleep 0.1
  done
}

# start_watch NAME ARGS...: lqwatch in the background (bounded by timeout), output in $WORK/NAME.{out,err}
start_watch() {
  local name="$1"; shift
  timeout -k 2 30 "$LQWATCH" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  WATCH_PID=$!
  WATCH_NAME="$name"
}
# subscribed: waits (15 s at most) for the background lqwatch's subscribed line; stops it if none
subscribed() {
  wait_line "$WORK/$WATCH_NAME.out" '"event":"subscribed"' 15 && return 0
  echo "  $WATCH_NAME: no subscribed line within 15 s: $(cat "$WORK/$WATCH_NAME.out" "$WORK/$WATCH_NAME.err")"
  kill -TERM "$WATCH_PID" 2>/dev/null
  return 1
}
# finish_watch: waits for the background lqwatch; its exit status in WATCH_RC
finish_watch() { wait "$WATCH_PID"; WATCH_RC=$?; WATCH_PID=""; }
is_running() { kill -0 "$1" 2>/dev/null; }
rc_is() { [[ "$1" -eq "$2" ]] || { echo "  exit status $1, want $2" >&2; return 1; }; }

# -- -n 2 with two creates
tag="$TAGBASE-n2"
start_watch n2 -n 2 --timeout 20 GameScore "{\"playerName\":\"$tag\"}"
id1=""; id2=""
if subscribed; then
  id1="$(create GameScore "{\"playerName\":\"$tag\",\"score\":1}")"
  id2="$(create GameScore "{\"playerName\":\"$tag\",\"score\":2}")"
fi
finish_watch
check "lqwatch -n 2: exit 0 after two creates" rc_is "$WATCH_RC" 0
check "lqwatch -n 2: every line is JSON" jcheck "$WORK/n2.out" 'true'
check "lqwatch -n 2: open line with a clientId" jcheck "$WORK/n2.out" \
  'lines[0].event === "open" && typeof lines[0].clientId === "string" && lines[0].clientId.length > 0'
check "lqwatch -n 2: subscribed requestId 1, resubscribe false" jcheck "$WORK/n2.out" \
  'lines.some((l) => l.event === "subscribed" && l.requestId === 1 && l.resubscribe === false)'
check "lqwatch -n 2: two create lines with the right objectIds" jcheck "$WORK/n2.out" \
  'JSON.stringify(lines.filter((l) => l.event === "create").map((l) => [l.requestId, l.object.objectId, l.object.className, l.object.playerName, "original" in l])) === JSON.stringify([[1, arg[0], "GameScore", arg[2], false], [1, arg[1], "GameScore", arg[2], false]])' \
  "$id1" "$id2" "$tag"

# -- update / leave / delete lines carry original when the server sent one
tag="$TAGBASE-upd"
idu="$(create GameScore "{\"playerName\":\"$tag\",\"score\":20}")"
start_watch upd -n 3 --timeout 20 GameScore "{\"playerName\":\"$tag\",\"score\":{\"\$gt\":10}}"
if subscribed; then
  update GameScore "$idu" '{"score":30}'
  update GameScore "$idu" '{"score":5}'
  update GameScore "$idu" '{"score":40}'
fi
finish_watch
check "lqwatch update/leave/enter: exit 0" rc_is "$WATCH_RC" 0
check "lqwatch update/leave/enter: objects and originals" jcheck "$WORK/upd.out" \
  'JSON.stringify(lines.filter((l) => l.object).map((l) => [l.event, l.object.objectId, l.object.score, l.original && l.original.score])) === JSON.stringify([["update", arg[0], 30, 20], ["leave", arg[0], 5, 30], ["enter", arg[0], 40, 5]])' \
  "$idu"
start_watch del -n 1 --timeout 20 GameScore "{\"playerName\":\"$tag\"}"
if subscribed; then delete GameScore "$idu"; fi
finish_watch
check "lqwatch delete: exit 0, a delete line without original" jcheck "$WORK/del.out" \
  'lines.filter((l) => l.object).length === 1 && lines.some((l) => l.event === "delete" && l.object.objectId === arg[0] && !("original" in l))' "$idu"

# -- wrong javascript key and wrong application id (and no master key): exit 3 quickly
t=$(now_ms)
env -u PARSE_MASTER_KEY timeout -k 2 15 "$LQWATCH" -a wrongAppId -k wrongJsKey GameScore \
  >"$WORK/keys.out" 2>"$WORK/keys.err"
rc=$?
dt=$(($(now_ms) - t))
check "lqwatch wrong keys: exit 3" rc_is "$rc" 3
check "lqwatch wrong keys: within 5 s (took ${dt} ms)" test "$dt" -le 5000
check "lqwatch wrong keys: error line code 4, fatal true" jcheck "$WORK/keys.out" \
  'lines.some((l) => l.event === "error" && l.code === 4 && l.fatal === true && typeof l.message === "string" && l.message.length > 0)'
check "lqwatch wrong keys: no reconnecting line" jcheck "$WORK/keys.out" \
  '!lines.some((l) => l.event === "reconnecting" || l.event === "open")'
check "lqwatch wrong keys: a reason on stderr" test -s "$WORK/keys.err"

# -- a closed port: exit 2 with a reason on stderr
port="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
t=$(now_ms)
timeout -k 2 20 "$LQWATCH" -s "ws://127.0.0.1:$port/parse" GameScore >"$WORK/port.out" 2>"$WORK/port.err"
rc=$?
dt=$(($(now_ms) - t))
check "lqwatch closed port: exit 2" rc_is "$rc" 2
check "lqwatch closed port: within 5 s (took ${dt} ms)" test "$dt" -le 5000
check "lqwatch closed port: a reason on stderr" grep -qi "connect" "$WORK/port.err"
check "lqwatch closed port: stdout is JSON lines" jcheck "$WORK/port.out" 'true'

# -- several endpoints (-s more than once): the first refuses, the second is the server by name
#    (localhost: the built-in resolver, from the hosts file)
tag="$TAGBASE-eps"
srv_port="${PARSE_SERVER_URL##*:}"; srv_port="${srv_port%%/*}"
start_watch eps -s "ws://127.0.0.1:$port/parse" -s "ws://localhost:$srv_port/parse" -n 1 --timeout 20 GameScore "{\"playerName\":\"$tag\"}"
if subscribed; then create GameScore "{\"playerName\":\"$tag\",\"score\":1}" >/dev/null; fi
finish_watch
check "lqwatch -s twice, the first refused: exit 0" rc_is "$WATCH_RC" 0
check "lqwatch -s twice: the first endpoint's failure is not fatal, then open, subscribed, the create" jcheck "$WORK/eps.out" \
  'lines[0].event === "error" && lines[0].fatal === false && /127.0.0.1 port/.test(lines[0].message) && lines.some((l) => l.event === "open") && lines.some((l) => l.event === "create")'
port2="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
t=$(now_ms)
timeout -k 2 20 "$LQWATCH" -s "ws://127.0.0.1:$port/parse" -s "ws://127.0.0.1:$port2/parse" GameScore >"$WORK/eps2.out" 2>"$WORK/eps2.err"
rc=$?
dt=$(($(now_ms) - t))
check "lqwatch -s twice, both refused: exit 2 (got $rc) within 5 s (${dt} ms)" test "$rc" -eq 2 -a "$dt" -le 5000
check "lqwatch -s twice, both refused: one error each, only the last fatal" jcheck "$WORK/eps2.out" \
  '((e) => e.length === 2 && !e[0].fatal && e[1].fatal && e[0].message.includes("port '"$port"':") && e[1].message.includes("port '"$port2"':"))(lines.filter((l) => l.event === "error"))'

timeout -k 2 20 "$LQVIEW" -s "ws://127.0.0.1:$port/parse" -s "ws://127.0.0.1:$port2/parse" --rest-url "http://127.0.0.1:$port2/parse" \
  GameScore >"$WORK/veps.out" 2>"$WORK/veps.err"
rc=$?
check "lqview -s twice, both refused: exit 2 (got $rc)" test "$rc" -eq 2
check "lqview -s twice, both refused: the first endpoint's error is not fatal" jcheck "$WORK/veps.out" \
  '((e) => e.length >= 2 && !e[0].fatal && e.some((x) => x.fatal))(lines.filter((l) => l.event === "error"))'

timeout -k 2 20 "$LQVIEW" -s "ws://127.0.0.1:$port/parse" -s "$PARSE_SERVER_URL" --for 3 GameScore "{\"playerName\":\"$TAGBASE-veps\"}" \
  >"$WORK/veps2.out" 2>"$WORK/veps2.err"
rc=$?
check "lqview -s twice, the first refused: exit 0 (got $rc), ready from the second (REST follows it)" test "$rc" -eq 0
check "lqview -s twice, the first refused: one error, not fatal, then ready" jcheck "$WORK/veps2.out" \
  'lines[0].event === "error" && lines[0].fatal === false && lines.some((l) => l.event === "ready")'

# -- --retry-connect: the server is down when lqwatch starts; it retries with the backoff and ends
#    subscribed once the server is back (issue 14's "a cut during connect healed later")
timeout 60 bash "$SERVER_SH" kill-parse "$STATE" >>"$WORK/server.log" 2>&1
tag="$TAGBASE-retry"
start_watch retry --retry-connect --connect-timeout 3000 -n 1 --timeout 28 GameScore "{\"playerName\":\"$tag\"}"
wait_line "$WORK/retry.out" '"event":"reconnecting"' 10
check "lqwatch --retry-connect: still running while the server is down" is_running "$WATCH_PID"
ensure_server
if subscribed; then create GameScore "{\"playerName\":\"$tag\",\"score\":1}" >/dev/null; fi
finish_watch
check "lqwatch --retry-connect: exit 0 after the server came back" rc_is "$WATCH_RC" 0
check "lqwatch --retry-connect: failed attempts were not fatal, then subscribed and a create" jcheck "$WORK/retry.out" \
  'lines.some((l) => l.event === "error" && l.fatal === false) && lines.some((l) => l.event === "reconnecting") && lines.some((l) => l.event === "subscribed") && lines.some((l) => l.event === "create")'

# -- --retry-connect does not retry what no retry can fix: an HTTP 4xx answer to the upgrade (as a
#    gateway in front of LiveQuery gives; Parse Server itself upgrades on any path)
node -e 'const s = require("http").createServer((q, r) => { r.writeHead(403); r.end("no"); });
  s.on("upgrade", (q, sock) => sock.end("HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno"));
  s.listen(0, "127.0.0.1", () => console.log(s.address().port)); setTimeout(() => process.exit(0), 20000);' \
  >"$WORK/gate.port" 2>/dev/null &
gate_pid=$!
wait_line "$WORK/gate.port" '^[0-9]+$' 10
t=$(now_ms)
timeout -k 2 20 "$LQWATCH" --retry-connect -s "ws://127.0.0.1:$(cat "$WORK/gate.port")/parse" GameScore \
  >"$WORK/r403.out" 2>"$WORK/r403.err"
rc=$?
dt=$(($(now_ms) - t))
kill "$gate_pid" 2>/dev/null; wait "$gate_pid" 2>/dev/null
check "lqwatch --retry-connect, HTTP 403 to the upgrade: exit 2 (got $rc) within 5 s (${dt} ms)" test "$rc" -eq 2 -a "$dt" -le 5000
check "lqwatch --retry-connect, HTTP 403: the status on stderr" grep -q "403" "$WORK/r403.err"

# -- --timeout 2 -n 1 without writes: exit 4
t=$(now_ms)
timeout -k 2 20 "$LQWATCH" --timeout 2 -n 1 GameScore "{\"playerName\":\"$TAGBASE-none\"}" \
  >"$WORK/to.out" 2>"$WORK/to.err"
rc=$?
dt=$(($(now_ms) - t))
check "lqwatch --timeout 2 -n 1: exit 4" rc_is "$rc" 4
check "lqwatch --timeout 2 -n 1: after 2-5 s (took ${dt} ms)" test "$dt" -ge 2000 -a "$dt" -le 5000
check "lqwatch --timeout: stdout is JSON lines" jcheck "$WORK/to.out" 'true'

# -- usage errors: exit 1 with the usage on stderr
# usage_case NAME [--says TEXT] CMD...: TEXT must be in the first line of stderr
usage_case() {
  local name="$1" says=""; shift
  if [[ "$1" == --says ]]; then says="$2"; shift 2; fi
  timeout -k 2 10 "$@" >"$WORK/usage.out" 2>"$WORK/usage.err"
  local rc=$?
  local tool; tool="$(basename "$1")"; tool="${tool%-san}"; [[ "$1" == env ]] && tool="$(basename "${@: -2:1}")" && tool="${tool%-san}"
  check "$tool usage ($name): exit 1" rc_is "$rc" 1
  check "$tool usage ($name): says why on stderr" test -s "$WORK/usage.err"
  [[ -z "$says" ]] || check "$tool usage ($name): says \"$says\"" grep -qF -- "$says" <(head -n 1 "$WORK/usage.err")
}
usage_case "no class" "$LQWATCH"
usage_case "unknown option" --says "unknown option --bogus" "$LQWATCH" --bogus GameScore
usage_case "-n 0" "$LQWATCH" -n 0 GameScore
usage_case "-n without value" --says "a value is missing after -n" "$LQWATCH" GameScore -n
usage_case "--timeout abc" "$LQWATCH" --timeout abc GameScore
usage_case "too many arguments" "$LQWATCH" GameScore '{}' extra
usage_case "no server" env -u PARSE_SERVER_URL "$LQWATCH" GameScore
usage_case "where not JSON" --says "WHERE is not valid JSON" "$LQWATCH" GameScore '{bad'
usage_case "where not an object" --says "WHERE must be a JSON object" "$LQWATCH" GameScore '[1]'
for opt in --connect-timeout --dead-link --ping-interval; do
  for bad in 0 -5 abc; do
    usage_case "$opt $bad" --says "a positive number of milliseconds is needed by $opt" "$LQWATCH" "$opt" "$bad" GameScore
  done
done
# lqview: the same connection options, and its own
usage_case "no class" "$LQVIEW"
usage_case "unknown option" --says "unknown option --bogus" "$LQVIEW" --bogus GameScore
usage_case "--limit 0" --says "--limit needs a positive number" "$LQVIEW" --limit 0 GameScore
usage_case "--limit abc" "$LQVIEW" --limit abc GameScore
usage_case "--for 0" --says "--for needs a positive number of seconds" "$LQVIEW" --for 0 GameScore
usage_case "--order without value" --says "a value is missing after --order" "$LQVIEW" GameScore --order
usage_case "where not an object" --says "WHERE must be a JSON object" "$LQVIEW" GameScore '[1]'
usage_case "bad order" --says "bad query" "$LQVIEW" --order '-' GameScore
timeout -k 2 10 "$LQVIEW" --help >"$WORK/help.out" 2>&1
check "lqview --help: exit 0" rc_is "$?" 0
check "lqview --help: prints the usage" grep -q "usage: lqview" "$WORK/help.out"
timeout -k 2 10 "$LQWATCH" --help >"$WORK/help.out" 2>&1
rc=$?
check "lqwatch --help: exit 0" rc_is "$rc" 0
check "lqwatch --help: prints the usage" grep -q "usage: lqwatch" "$WORK/help.out"

# -- -q: only the final line
tag="$TAGBASE-q"
start_watch quiet -q -n 1 --timeout 20 GameScore "{\"playerName\":\"$tag\"}"
for _i in $(seq 1 40); do                      # nothing shows when it is subscribed: write until it exits
  is_running "$WATCH_PID" || break
  create GameScore "{\"playerName\":\"$tag\",\"score\":$_i}" >/dev/null
  sleep 0.5
done
finish_watch
check "lqwatch -q: exit 0" rc_is "$WATCH_RC" 0
check "lqwatch -q: exactly one line {events:1, seconds:S}" jcheck "$WORK/quiet.out" \
  'lines.length === 1 && JSON.stringify(Object.keys(lines[0])) === JSON.stringify(["events", "seconds"]) && lines[0].events === 1 && typeof lines[0].seconds === "number" && lines[0].seconds >= 0'

# -- --keys score
tag="$TAGBASE-keys"
start_watch keys2 -n 1 --keys score --timeout 20 GameScore "{\"playerName\":\"$tag\"}"
idk=""
if subscribed; then
  idk="$(create GameScore "{\"playerName\":\"$tag\",\"score\":77,\"tags\":[\"t\"]}")"
fi
finish_watch
check "lqwatch --keys score: exit 0" rc_is "$WATCH_RC" 0
check "lqwatch --keys score: object has score, not playerName" jcheck "$WORK/keys2.out" \
  'lines.filter((l) => l.object).length === 1 && lines.some((l) => l.event === "create" && l.object.objectId === arg[0] && l.object.score === 77 && !("playerName" in l.object) && !("tags" in l.object))' \
  "$idk"

# -- --watch playerName: a score update gives nothing, a playerName update one line
tag="$TAGBASE-watch"
idw="$(create GameScore "{\"playerName\":\"w0\",\"score\":1,\"tags\":[\"$tag\"]}")"
start_watch watch -n 1 --watch playerName --timeout 20 GameScore "{\"tags\":\"$tag\"}"
if subscribed; then
  update GameScore "$idw" '{"score":2}'
  sleep 1.5
  check "lqwatch --watch: an unwatched field changes nothing" is_running "$WATCH_PID"
  update GameScore "$idw" '{"playerName":"w1"}'
fi
finish_watch
check "lqwatch --watch: exit 0" rc_is "$WATCH_RC" 0
check "lqwatch --watch: one update line for the watched field" jcheck "$WORK/watch.out" \
  'JSON.stringify(lines.filter((l) => l.object).map((l) => [l.event, l.object.objectId, l.object.playerName, l.object.score, l.original && l.original.playerName])) === JSON.stringify([["update", arg[0], "w1", 2, "w0"]])' \
  "$idw"

# ---------------------------------------------------------------- the examples
# Each example subscribes to GameScore and exits 0 after the first delete it sees. core_loop drives
# the I/O-free core over sockets of its own (no lq_step).
echo "== examples"
for ex in poll_loop select_loop game_loop custom_transport core_loop; do
  [[ -x "$BUILD/$ex" ]] || { [[ "$ex" == custom_transport ]] && continue; fail "example $ex is not built"; continue; }
  timeout -k 2 40 "$BUILD/$ex" </dev/null >"$WORK/$ex.out" 2>"$WORK/$ex.err" &
  expid=$!
  sleep 1.5                                   # connected and subscribed (a game loop needs frames)
  ide="$(create GameScore "{\"playerName\":\"$TAGBASE-$ex\",\"score\":50}")"
  update GameScore "$ide" '{"score":60}'
  delete GameScore "$ide"
  wait "$expid"; rc=$?
  check "example $ex: exit 0 after the delete" rc_is "$rc" 0
  check "example $ex: printed the delete" grep -q "delete" "$WORK/$ex.out"
  if [[ "$ex" == poll_loop || "$ex" == select_loop || "$ex" == custom_transport ]]; then
    check "example $ex: a REST find in the same loop" grep -Eq "^find: [0-9]+ objects$" "$WORK/$ex.out"
  fi
done

# live_list (the README's live list): a new best score is printed first
timeout -k 2 20 "$BUILD/live_list" </dev/null >"$WORK/live_list.out" 2>&1 &
lbpid=$!
sleep 2
idl="$(create GameScore "{\"playerName\":\"$TAGBASE-lb\",\"score\":99999999}")"
sleep 2
kill -TERM "$lbpid" 2>/dev/null; wait "$lbpid" 2>/dev/null
check "example live_list: printed a top 10 after its first load" grep -q "^--- top 10$" "$WORK/live_list.out"
check "example live_list: a new best score is printed first" grep -Eq "^ 1\. $TAGBASE-lb +99999999$" "$WORK/live_list.out"
delete GameScore "$idl"

finish
