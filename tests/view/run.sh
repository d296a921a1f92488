#!/usr/bin/env bash
# Chaos tests of lqview (lq_view) against a real Parse Server, started here and always stopped.
#
#   tests/view/run.sh STATE_DIR BUILD_DIR
#
# Needs BUILD_DIR/lqview-san (make BUILD_DIR/lqview-san). Installs the server (lqserver.sh
# install), starts it in STATE_DIR, runs tests/view/chaos.js (the replay checker, the initial
# load race, the leaderboard under server restarts and a silent partition, an invalid session),
# and stops the server. Every wait has a deadline. The last line is "view: N passed, M failed";
# the exit status is 1 on any failure. VIEW_KEEP=DIR keeps every lqview output in DIR;
# VIEW_CASES=checker,race,leaderboard,invalid runs a subset.
# shellcheck disable=SC2317  # functions run through traps
set -uo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 STATE_DIR BUILD_DIR" >&2
  exit 2
fi
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SERVER_SH="$ROOT/tests/server/lqserver.sh"
mkdir -p "$1" "$2"
STATE="$(cd "$1" && pwd)"
BUILD="$(cd "$2" && pwd)"
LQVIEW="$BUILD/lqview-san"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/lqview-work.XXXXXX")"
T0=$SECONDS
PASS=0
FAIL=0
SERVER_STARTED=0
CHAOS_PID=""

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

pass() { PASS=$((PASS + 1)); echo "ok   $*"; }
fail() { FAIL=$((FAIL + 1)); echo "FAIL $*"; }

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  # chaos.js ends its lqview processes on SIGTERM (and each has --for as a last bound)
  if [[ -n "$CHAOS_PID" ]]; then
    kill -TERM "$CHAOS_PID" 2>/dev/null
    wait "$CHAOS_PID" 2>/dev/null
  fi
  if [[ $SERVER_STARTED -eq 1 ]]; then
    timeout 60 bash "$SERVER_SH" stop "$STATE" >>"$WORK/server.log" 2>&1 || echo "view: stopping the server failed" >&2
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "view: interrupted" >&2; exit 130' INT TERM

finish() {
  echo "run time: $((SECONDS - T0)) s"
  echo "view: $PASS passed, $FAIL failed"
  if [[ $FAIL -eq 0 ]]; then exit 0; fi
  exit 1
}

if [[ ! -x "$LQVIEW" ]]; then
  fail "missing $LQVIEW (build it first: make $LQVIEW)"
  finish
fi

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
echo "server up: $PARSE_HTTP_URL (pid $PARSE_PID)"

# In the background, so that a signal interrupts "wait" at once.
: >"$WORK/chaos.out"
LQVIEW="$LQVIEW" LQ_STATE="$STATE" LQ_SERVER_SH="$SERVER_SH" \
  timeout -k 10 230 node "$ROOT/tests/view/chaos.js" >"$WORK/chaos.out" 2>&1 &
CHAOS_PID=$!
tail -n +1 -f --pid="$CHAOS_PID" "$WORK/chaos.out" &
tail_pid=$!
wait "$CHAOS_PID"
chaos_rc=$?
CHAOS_PID=""
wait "$tail_pid" 2>/dev/null
summary="$(grep -E '^chaos: [0-9]+ passed, [0-9]+ failed$' "$WORK/chaos.out" | tail -n 1)"
if [[ -n "$summary" ]]; then
  n="$(sed -E 's/^chaos: ([0-9]+) passed, ([0-9]+) failed$/\1/' <<<"$summary")"
  m="$(sed -E 's/^chaos: ([0-9]+) passed, ([0-9]+) failed$/\2/' <<<"$summary")"
  PASS=$((PASS + n))
  FAIL=$((FAIL + m))
else
  fail "chaos.js printed no summary (crashed or timed out? exit $chaos_rc)"
fi
if [[ $chaos_rc -eq 0 ]]; then pass "chaos.js exit status 0"; else fail "chaos.js exit status $chaos_rc"; fi
if timeout 30 bash "$SERVER_SH" status "$STATE" >/dev/null 2>&1; then pass "the server runs after the chaos"; else fail "the server is down after the chaos"; fi

finish
