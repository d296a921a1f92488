#!/usr/bin/env bash
# examples/leaderboard.c under Xvfb against a real Parse Server, started here and always stopped.
#
#   tests/leaderboard/run.sh STATE_DIR BUILD_DIR
#
# Needs BUILD_DIR/leaderboard and BUILD_DIR/leaderboard-check (make leaderboard-test builds them),
# Xvfb, xwd, ImageMagick's convert and a font (DejaVuSans; env LEADERBOARD_FONT): says SKIP
# without them. Seeds a dozen scores, shows the window on an Xvfb display of its own, moves rows
# (overtakes, a tie, players entering, one dropping out, one deleted), then rows going (7 left),
# then the server away (stale) and back (live). After each step it waits until the window has
# settled, takes a screenshot of the X display and has leaderboard-check compare every row band
# with the rows of a fresh REST find drawn independently; it also shows that the checker rejects
# wrong rows. LEADERBOARD_SCREENSHOT=FILE.png keeps the screenshot of the full board;
# LEADERBOARD_KEEP=DIR keeps every screenshot, expected list and log in DIR. Every wait
# has a deadline. The last line is "leaderboard: N passed, M failed"; exit 1 on any failure.
# shellcheck disable=SC2317  # functions run through traps
set -uo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 STATE_DIR BUILD_DIR" >&2
  exit 2
fi
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SERVER_SH="$ROOT/tests/server/lqserver.sh"
SCORES="$ROOT/tests/leaderboard/scores.js"
FONT="${LEADERBOARD_FONT:-/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf}"
T0=$SECONDS

missing=()
for tool in Xvfb xwd convert; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
[[ -f "$FONT" ]] || missing+=("$FONT")
[[ -x "$2/leaderboard" && -x "$2/leaderboard-check" ]] || missing+=("$2/leaderboard (SDL2, SDL2_ttf)")
if (( ${#missing[@]} )); then
  echo "leaderboard: SKIP (missing ${missing[*]}; Debian: apt-get install libsdl2-dev libsdl2-ttf-dev xvfb x11-apps imagemagick fonts-dejavu-core)"
  exit 0
fi

mkdir -p "$1"
STATE="$(cd "$1" && pwd)"
BUILD="$(cd "$2" && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/leaderboard-work.XXXXXX")"
PASS=0 FAIL=0
SERVER_STARTED=0 XVFB_PID="" BOARD_PID="" DISP=""

pass() { PASS=$((PASS + 1)); echo "ok   $*"; }
fail() { FAIL=$((FAIL + 1)); echo "FAIL $*"; }

stop_pid() {  # pid: TERM, then KILL after 5 s
  [[ -n "$1" ]] || return 0
  kill -TERM "$1" 2>/dev/null
  for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pid "$BOARD_PID"
  stop_pid "$XVFB_PID"
  if [[ $SERVER_STARTED -eq 1 ]]; then
    timeout 60 bash "$SERVER_SH" stop "$STATE" >>"$WORK/server.log" 2>&1 || echo "leaderboard: stopping the server failed" >&2
  fi
  if [[ -n "${LEADERBOARD_KEEP:-}" ]]; then mkdir -p "$LEADERBOARD_KEEP" && cp -a "$WORK"/. "$LEADERBOARD_KEEP"/; fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "leaderboard: interrupted" >&2; exit 130' INT TERM

finish() {
  echo "run time: $((SECONDS - T0)) s"
  echo "leaderboard: $PASS passed, $FAIL failed"
  [[ $FAIL -eq 0 ]] && exit 0
  exit 1
}

scores() { timeout 30 node "$SCORES" "$@"; }

# A screenshot of the whole X display: WORK/NAME.ppm (for the checker) and WORK/NAME.png.
shot() {
  timeout 20 xwd -root -silent -display ":$DISP" >"$WORK/$1.xwd" &&
    timeout 20 convert "xwd:$WORK/$1.xwd" "ppm:$WORK/$1.ppm" &&
    timeout 20 convert "xwd:$WORK/$1.xwd" "png:$WORK/$1.png"
}

check() {  # NAME EXPECTED.tsv STATUS: the checker on WORK/NAME.ppm
  timeout 20 "$BUILD/leaderboard-check" "$FONT" "$WORK/$1.ppm" "$2" "$3" >"$WORK/check.out" 2>&1
}

# Waits until the window has drawn and settled the rows of a fresh find (its --rows-file says so),
# then screenshots it and checks the picture against those rows. A screenshot that does not pass
# is taken again (the X server may not have shown the last frame yet), for at most 10 s.
settled_and_drawn() {  # NAME WHAT [SECONDS]
  local limit="${3:-30}" deadline=$((SECONDS + ${3:-30}))
  scores top 10 >"$WORK/$1.want" || { fail "$2: the REST find failed"; return 1; }
  until cmp -s "$WORK/rows.tsv" "$WORK/$1.want"; do
    if (( SECONDS >= deadline )) || ! kill -0 "$BOARD_PID" 2>/dev/null; then
      fail "$2: the view's rows are not the REST find's within $limit s"
      diff "$WORK/$1.want" "$WORK/rows.tsv" | head -n 20
      return 1
    fi
    sleep 0.2
  done
  pass "$2: the view's rows are the REST find's ($(wc -l <"$WORK/$1.want") rows)"
  deadline=$((SECONDS + 10))
  sleep 0.3
  while :; do
    if shot "$1" && check "$1" "$WORK/$1.want" live; then
      pass "$2: the screenshot shows them: $(cat "$WORK/check.out")"
      return 0
    fi
    if (( SECONDS >= deadline )); then
      fail "$2: the screenshot does not show them"
      cat "$WORK/check.out"
      return 1
    fi
    sleep 1
  done
}

rejects() {  # WHAT SHOT EXPECTED STATUS PATTERN: the checker must say no, naming PATTERN
  check "$2" "$3" "$4"
  local rc=$?
  if [[ $rc -eq 1 ]] && grep -q -- "$5" "$WORK/check.out"; then
    pass "the checker rejects $1 ($(grep -- "$5" "$WORK/check.out" | head -n 1))"
  else
    fail "the checker does not reject $1 (exit $rc)"
    cat "$WORK/check.out"
  fi
}

echo "== server"
if ! timeout 300 bash "$SERVER_SH" install >"$WORK/install.log" 2>&1; then
  tail -n 20 "$WORK/install.log"; fail "lqserver.sh install"; finish
fi
SERVER_STARTED=1
if ! timeout 150 bash "$SERVER_SH" start "$STATE" >"$WORK/start.log" 2>&1; then
  tail -n 30 "$WORK/start.log"; fail "lqserver.sh start $STATE"; finish
fi
set -a
# shellcheck disable=SC1091
source "$STATE/env"
set +a
echo "server up: $PARSE_HTTP_URL (pid $PARSE_PID)"
scores set Ada 1500 Brian 1400 Chloé 1300 Dmitri 1200 Erin 1100 Farah 1000 Gus 900 Hana 800 \
  Ivo 700 Jun 600 Kofi 500 Lena 400 || { fail "seeding the scores"; finish; }

echo "== Xvfb"
# -displayfd: Xvfb takes the first display number free (no /tmp/.X11-unix/X<n> socket or lock),
# and writes it when it accepts connections.
Xvfb -displayfd 3 -screen 0 640x480x24 -nolisten tcp 3>"$WORK/display" >"$WORK/xvfb.log" 2>&1 &
XVFB_PID=$!
for _ in $(seq 1 100); do [[ -s "$WORK/display" ]] && break; kill -0 "$XVFB_PID" 2>/dev/null || break; sleep 0.1; done
DISP="$(tr -dc 0-9 <"$WORK/display")"
if [[ -z "$DISP" ]]; then
  tail -n 20 "$WORK/xvfb.log"; fail "Xvfb did not start within 10 s"; finish
fi
echo "Xvfb on :$DISP (pid $XVFB_PID)"

echo "== the board"
DISPLAY=":$DISP" timeout -k 5 240 "$BUILD/leaderboard" -s "$PARSE_SERVER_URL" -a "$PARSE_APP_ID" \
  -k "$PARSE_JAVASCRIPT_KEY" --font "$FONT" --rows-file "$WORK/rows.tsv" --for 230 \
  >"$WORK/board.out" 2>"$WORK/board.err" &
BOARD_PID=$!
settled_and_drawn first "the first load"

# Overtakes (Ivo from 9th to 2nd, Chloé past Brian), a tie broken by name (Hana = Farah), players
# entering (Lena from 12th, Zoë new), one dropping out (Dmitri) and one deleted (Gus); a few
# tenths of a second apart, so that the animations overlap.
for step in "set Ivo 1450" "set Chloé 1420" "set Lena 1350" "set Dmitri 50" "set Zoë 1250" \
            "delete Gus" "set Hana 1000"; do
  # shellcheck disable=SC2086
  scores $step || fail "scores.js $step"
  sleep 0.3
done
if settled_and_drawn moved "rows moved, entered and left"; then
  [[ -z "${LEADERBOARD_SCREENSHOT:-}" ]] || cp "$WORK/moved.png" "$LEADERBOARD_SCREENSHOT"
  cp "$WORK/moved.ppm" "$WORK/full.ppm"
  want="$WORK/moved.want"
  awk -F'\t' 'NR==2{a=$2"\t"$3} NR==3{b=$2"\t"$3} {r[NR]=$0} END{for(i=1;i<=NR;i++){
      if(i==2)print "2\t"b; else if(i==3)print "3\t"a; else print r[i]}}' "$want" >"$WORK/swapped.tsv"
  sed '3s/\t\([0-9]*\)0$/\t\18/' "$want" >"$WORK/digit.tsv"        # 1420 -> 1428
  sed 's/Chloé/Chloe/' "$want" >"$WORK/accent.tsv"
  head -n 9 "$want" >"$WORK/nine.tsv"
  cmp -s "$want" "$WORK/digit.tsv" && fail "the digit case changed nothing"
  cmp -s "$want" "$WORK/accent.tsv" && fail "the accent case changed nothing"
  rejects "rows 2 and 3 swapped" full "$WORK/swapped.tsv" live "row 2 is not"
  rejects "a score one digit off" full "$WORK/digit.tsv" live "row 3 is not"
  rejects "an accent missing (Chloé as Chloe)" full "$WORK/accent.tsv" live "is not \"[0-9]*\. Chloe"
  rejects "nine rows where ten are drawn" full "$WORK/nine.tsv" live "10 rows drawn, 9 expected"
  rejects "\"connecting\" where the status is live" full "$want" connecting "the status line"
fi

# Rows going: five deleted, seven left (the empty bands must be empty).
for name in Ada Zoë Erin Kofi Jun; do scores delete "$name" || fail "scores.js delete $name"; done
if settled_and_drawn fewer "rows deleted, 7 left"; then
  rejects "the full board's rows on a board of 7" fewer "$WORK/moved.want" live "row 8 is not"
  rejects "the board of 7's rows on the full board" full "$WORK/fewer.want" live "row 8 should be empty"
fi

# The server away: the status says stale; back: live, and the rows are the find's again.
timeout 30 bash "$SERVER_SH" kill-parse "$STATE" >>"$WORK/server.log" 2>&1 || fail "kill-parse"
deadline=$((SECONDS + 20))
until shot stale && check stale "$WORK/fewer.want" "stale: reconnecting"; do
  if (( SECONDS >= deadline )); then deadline=0; break; fi
  sleep 0.5
done
if (( deadline )); then pass "server away: the rows stay, the status says stale: $(cat "$WORK/check.out")"
else fail "the status does not say stale within 20 s"; cat "$WORK/check.out"; fi
if timeout 90 bash "$SERVER_SH" start-parse "$STATE" >>"$WORK/server.log" 2>&1; then
  scores set Brian 1600 || fail "scores.js set Brian 1600"
  settled_and_drawn back "server back, a new top score" 60   # the reconnect backoff
else
  fail "start-parse"
fi

if kill -0 "$BOARD_PID" 2>/dev/null; then pass "the board still runs"; else fail "the board exited early"; fi
stop_pid "$BOARD_PID"
BOARD_PID=""
if [[ -s "$WORK/board.err" ]]; then
  echo "its stderr:"; sed 's/^/  /' "$WORK/board.err" | head -n 20
fi
finish
