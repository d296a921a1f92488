#!/usr/bin/env bash
# Demo for `make demo`: watch GameScore with lqwatch while a scripted writer changes it.
#
#   demo.sh STATE_DIR LQWATCH
#
# STATE_DIR is a running server started by `lqserver.sh start STATE_DIR` (its env file is
# read); LQWATCH is the lqwatch binary. lqwatch's event lines (one JSON per event) go to
# stdout; the writer's comments go to stderr. lqwatch is stopped by PID at the end.
set -euo pipefail

SERVER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STEP_DELAY="${DEMO_STEP_DELAY:-1}"

if [[ $# -ne 2 ]]; then
  echo "usage: $0 STATE_DIR LQWATCH" >&2
  exit 2
fi
STATE_DIR="$1" LQWATCH="$2"
[[ -f "$STATE_DIR/env" ]] || { echo "demo: no $STATE_DIR/env (run lqserver.sh start $STATE_DIR first)" >&2; exit 1; }
[[ -x "$LQWATCH" ]] || { echo "demo: $LQWATCH is not an executable (build lqwatch first)" >&2; exit 1; }

set -a
# shellcheck disable=SC1091
source "$STATE_DIR/env"
set +a
[[ -n "${PARSE_PID:-}" ]] || { echo "demo: parse server in $STATE_DIR is not running" >&2; exit 1; }

WATCH_PID=""
stop_watch() {
  [[ -n "$WATCH_PID" ]] || return 0
  if kill -0 "$WATCH_PID" 2>/dev/null; then
    kill -TERM "$WATCH_PID" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$WATCH_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$WATCH_PID" 2>/dev/null || true
  fi
  wait "$WATCH_PID" 2>/dev/null || true
  WATCH_PID=""
}
trap stop_watch EXIT
trap 'exit 130' INT TERM

say() { printf '\n--- %s\n' "$*" >&2; }
ctl() { timeout 20 node "$SERVER_DIR/parsectl.js" "$@"; }
field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[process.argv[1]]))' "$1"; }
watch_alive() {
  kill -0 "$WATCH_PID" 2>/dev/null || { echo "demo: lqwatch exited early" >&2; WATCH_PID=""; exit 1; }
}

# shellcheck disable=SC2016
WHERE='{"score":{"$gt":10}}'
say "starting: $LQWATCH GameScore '$WHERE'  (server $PARSE_SERVER_URL)"
"$LQWATCH" GameScore "$WHERE" </dev/null &
WATCH_PID=$!
sleep 2   # give it time to connect and subscribe
watch_alive

say "create a GameScore with score 20 -> expect 'create'"
ID="$(ctl create GameScore '{"score":20,"playerName":"demo"}' | field objectId)"
echo "    objectId $ID" >&2
sleep "$STEP_DELAY"; watch_alive

say "update score to 30 -> expect 'update'"
ctl update GameScore "$ID" '{"score":30}' >/dev/null
sleep "$STEP_DELAY"; watch_alive

say "update score to 5 (no longer matches) -> expect 'leave'"
ctl update GameScore "$ID" '{"score":5}' >/dev/null
sleep "$STEP_DELAY"; watch_alive

say "update score to 50 (matches again) -> expect 'enter'"
ctl update GameScore "$ID" '{"score":50}' >/dev/null
sleep "$STEP_DELAY"; watch_alive

say "delete it -> expect 'delete'"
ctl delete GameScore "$ID" >/dev/null
sleep "$STEP_DELAY"

say "done; stopping lqwatch"
stop_watch
