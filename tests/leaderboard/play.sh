#!/usr/bin/env bash
# make leaderboard: the leaderboard window on a running server while scores.js writes scores.
#
#   play.sh STATE_DIR LEADERBOARD
#
# STATE_DIR is a running server (lqserver.sh start, make server); its env file is read. The
# writer is started here and stopped by its PID when the window closes or on Ctrl-C.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 STATE_DIR LEADERBOARD" >&2
  exit 2
fi
[[ -f "$1/env" ]] || { echo "play: no $1/env (make server first)" >&2; exit 1; }
set -a
# shellcheck disable=SC1091
source "$1/env"
set +a
[[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]] || echo "play: no DISPLAY: the window needs a desktop (or Xvfb)" >&2

WRITER=""
stop_writer() {
  [[ -n "$WRITER" ]] || return 0
  kill -TERM "$WRITER" 2>/dev/null || true
  wait "$WRITER" 2>/dev/null || true
}
trap stop_writer EXIT
trap 'exit 130' INT TERM

echo "play: a dozen players on $PARSE_HTTP_URL, a new score every 0.7 s; close the window to stop" >&2
node "$(dirname "${BASH_SOURCE[0]}")/scores.js" play &
WRITER=$!
"$2" -s "$PARSE_SERVER_URL" -a "$PARSE_APP_ID" -k "$PARSE_JAVASCRIPT_KEY"
