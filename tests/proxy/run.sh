#!/usr/bin/env bash
# HTTP proxy tests of livequery.h (desc.proxy_url, lqwatch/lqview --proxy and the proxy variables)
# against a real proxy, tinyproxy (Debian: tinyproxy-bin), and the real Parse Server.
#
#   tests/proxy/run.sh STATE_DIR BUILD_DIR
#
# Needs BUILD_DIR/lqwatch-san and BUILD_DIR/lqview-san (with a TLS backend for the wss cases:
# LQ_TLS=none skips them), tinyproxy, node and openssl. If STATE_DIR holds a running lqserver.sh
# server it is used as is; otherwise one is started there and stopped at the end. Starts, on
# 127.0.0.1 and as this user, three tinyproxy instances with config files of their own in a
# temporary directory (each killed by its PID): "open" (no credentials), "auth" (BasicAuth) and
# "idle" (closes a connection idle for 2 s); and a TLS front (tests/tls/front.js) for wss://.
# Cases:
#   ws        lqwatch --proxy streams create/update; the proxy logged the CONNECT to the server
#   view      lqview --proxy: the REST find and the WebSocket, each through its own tunnel
#   auth      credentials (percent-encoded in the URL) accepted; wrong or none: exit 2 within
#             seconds with "proxy refused CONNECT: 40x ...", --retry-connect too; a port the
#             proxy does not allow: 403, exit 2 even with --retry-connect; a proxy that cannot
#             reach the server (5xx) is retried with --retry-connect; a proxy that is not there
#   env       http_proxy / HTTP_PROXY for ws://, https_proxy for wss:// (and not for ws://),
#             --proxy over the environment, --proxy "" for none, no_proxy (an IP, a range, *,
#             a name that is not the host: loopback is proxied unless listed)
#   idle      through the proxy that closes idle connections: without pings the link drops and
#             reconnects; with --ping-interval it stays up and an event arrives after the idle time
#   wss       TLS inside the tunnel: events over wss://127.0.0.1 and wss://localhost (SNI and the
#             certificate checked against the server, not the proxy), a wrong CA refused, lqview
#             over https
# Every wait has a deadline; the run takes about a minute. The last line is
# "proxy: N passed, M failed"; the exit status is 1 on any failure.
# shellcheck disable=SC2317  # functions run through check() and traps
set -uo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 STATE_DIR BUILD_DIR" >&2
  exit 2
fi
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SERVER_SH="$ROOT/tests/server/lqserver.sh"
PARSECTL="$ROOT/tests/server/parsectl.js"
FRONT="$ROOT/tests/tls/front.js"
mkdir -p "$1" "$2"
STATE="$(cd "$1" && pwd)"
BUILD="$(cd "$2" && pwd)"
LQWATCH="$BUILD/lqwatch-san"
LQVIEW="$BUILD/lqview-san"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/lqproxy.XXXXXX")"
T0=$SECONDS
PASS=0
FAIL=0
OWN_SERVER=0
PIDS=()
BG_PID=""
TAG="$$-$RANDOM"                  # in the objects' names: a reused server may hold an earlier run's

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
# The cases set these themselves; none may leak in from the caller's environment.
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY no_proxy NO_PROXY all_proxy ALL_PROXY

pass() { PASS=$((PASS + 1)); echo "ok   $*"; }
fail() { FAIL=$((FAIL + 1)); echo "FAIL $*"; }
check() { local d="$1"; shift; if "$@"; then pass "$d"; else fail "$d"; fi; }
now_ms() { date +%s%3N; }

# stop PID: TERM, then KILL after 3 s (tinyproxy takes a moment to join its threads)
stop() {
  local p="$1"
  kill -TERM "$p" 2>/dev/null || return 0
  for _ in $(seq 1 30); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null
}

cleanup() {
  local rc=$? p
  trap - EXIT INT TERM
  [[ -n "$BG_PID" ]] && stop "$BG_PID"
  for p in "${PIDS[@]}"; do stop "$p"; done
  if [[ $OWN_SERVER -eq 1 ]]; then
    timeout 60 bash "$SERVER_SH" stop "$STATE" >>"$WORK/server.log" 2>&1 || echo "proxy: stopping the server failed" >&2
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "proxy: interrupted" >&2; exit 130' INT TERM

finish() {
  echo "run time: $((SECONDS - T0)) s"
  echo "proxy: $PASS passed, $FAIL failed"
  [[ $FAIL -eq 0 ]] && exit 0
  exit 1
}

# wait_for FILE REGEX SECONDS: 0 once a line of FILE matches
wait_for() {
  local deadline=$(( $(now_ms) + $3 * 1000 ))
  while (( $(now_ms) < deadline )); do
    grep -Eq -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}
lines() { wc -l <"$1"; }
new_lines() { tail -n +"$(($2 + 1))" "$1"; }
indent() { sed "s/^/    $1/"; }

for tool in tinyproxy node openssl; do
  command -v "$tool" >/dev/null || { fail "$tool not found (Debian: apt-get install tinyproxy-bin nodejs openssl)"; finish; }
done
for b in "$LQWATCH" "$LQVIEW"; do
  [[ -x "$b" ]] || { fail "missing $b (make $b)"; finish; }
done
TLS_OK=1
[[ "${LQ_TLS:-}" == none ]] && TLS_OK=0

# ---------------------------------------------------------------- server, proxies, TLS front
echo "== setup ($((SECONDS - T0)) s)"
if [[ -f "$STATE/env" ]] && timeout 30 bash "$SERVER_SH" status "$STATE" >/dev/null 2>&1; then
  echo "using the running server in $STATE"
else
  OWN_SERVER=1
  if ! timeout 300 bash "$SERVER_SH" install >"$WORK/install.log" 2>&1; then
    tail -n 20 "$WORK/install.log"; fail "lqserver.sh install"; finish
  fi
  if ! timeout 150 bash "$SERVER_SH" start "$STATE" >"$WORK/start.log" 2>&1; then
    tail -n 30 "$WORK/start.log"; fail "lqserver.sh start $STATE"; finish
  fi
fi
set -a
# shellcheck disable=SC1091
source "$STATE/env"
set +a
echo "server: $PARSE_SERVER_URL"

free_port() {
  node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'
}

FRONT_PORT=0
if (( TLS_OK )); then
  if ! timeout 30 bash "$ROOT/tests/tls/mkcerts.sh" "$WORK/certs" >"$WORK/mkcerts.log" 2>&1; then
    cat "$WORK/mkcerts.log"; fail "mkcerts.sh"; finish
  fi
  : >"$WORK/front.log"
  node "$FRONT" --cert "$WORK/certs/server.pem" --key "$WORK/certs/server.key" --target "127.0.0.1:$PARSE_PORT" \
    --log "$WORK/front.log" --max-seconds 300 >"$WORK/front.out" 2>"$WORK/front.err" &
  PIDS+=("$!")
  wait_for "$WORK/front.out" '^LISTEN [0-9]+$' 10 || { cat "$WORK/front.err"; fail "the TLS front did not start"; finish; }
  FRONT_PORT="$(sed -n 's/^LISTEN //p' "$WORK/front.out")"
fi
DEAD_PORT="$(free_port)"          # nothing listens there

# start_proxy NAME TIMEOUT [CONFIG LINES...]: sets PORT[NAME]; tinyproxy logs to $WORK/NAME.log
declare -A PORT
start_proxy() {
  local name="$1" idle="$2" conf="$WORK/$1.conf" port pid line
  shift 2
  port="$(free_port)"
  {
    echo "Port $port"
    echo "Listen 127.0.0.1"
    echo "Timeout $idle"
    echo "MaxClients 50"
    echo "LogFile \"$WORK/$name.log\""
    echo "LogLevel Connect"
    echo "Allow 127.0.0.1"
    echo "ConnectPort $PARSE_PORT"
    echo "ConnectPort $DEAD_PORT"
    (( FRONT_PORT )) && echo "ConnectPort $FRONT_PORT"
    for line in "$@"; do echo "$line"; done
  } >"$conf"
  : >"$WORK/$name.log"
  tinyproxy -d -c "$conf" >"$WORK/$name.out" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  # up once it accepts a connection
  for _ in $(seq 1 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    cat "$WORK/$name.out"; fail "tinyproxy $name did not start"; finish
  fi
  PORT[$name]="$port"
}
start_proxy open 600
start_proxy auth 600 "BasicAuth lq.user s3cret-pw"
start_proxy idle 2
OPEN="http://127.0.0.1:${PORT[open]}"
AUTH_OK="http://lq.user:s3cret%2dpw@127.0.0.1:${PORT[auth]}"     # %2d: '-', decoded by the client
echo "proxies: open ${PORT[open]}, auth ${PORT[auth]}, idle ${PORT[idle]}; front $FRONT_PORT; dead port $DEAD_PORT"

parsectl() { timeout 20 node "$PARSECTL" "$@"; }
object_id() { sed -n 's/.*"objectId":"\([^"]*\)".*/\1/p'; }
# connects LOG BEFORE HOSTPORT: how many CONNECTs to HOSTPORT the proxy logged after line BEFORE
connects() { new_lines "$1" "$2" | grep -c "Request (file descriptor [0-9]*): CONNECT $3 HTTP/1.1"; }

# events_ok OUT ID: open, subscribed, a create of ID with score 1, an update of it to 2, in order
events_ok() {
  node -e '
    const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean);
    const id = process.argv[2];
    const ev = lines.map((l) => JSON.parse(l));
    const names = ev.map((e) => e.event).join(",");
    const c = ev.find((e) => e.event === "create");
    const u = ev.find((e) => e.event === "update");
    const ok = names.startsWith("open,subscribed,create,update") && c && u && c.object.objectId === id &&
      c.object.score === 1 && u.object.objectId === id && u.object.score === 2;
    if (!ok) { console.error("unexpected events: " + names); process.exit(1); }' "$1" "$2"
}

# watch_case NAME URL PROXYLOG HOSTPORT [env NAME=VALUE...] -- [lqwatch options]: lqwatch gets
# a create and an update through the proxy, which logged a CONNECT to HOSTPORT
watch_case() {
  local name="$1" url="$2" plog="$3" hp="$4" out="$WORK/$1.out" err="$WORK/$1.err" rc id="" t before n
  local envs=()
  shift 4
  while [[ $# -gt 0 && "$1" != "--" ]]; do envs+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift
  before=$(lines "$plog")
  t=$(now_ms)
  env "${envs[@]}" timeout 40 "$LQWATCH" "$@" -s "$url" -a "$PARSE_APP_ID" -k "$PARSE_JAVASCRIPT_KEY" -n 2 \
    --timeout 20 GameScore "{\"playerName\":\"$name\"}" >"$out" 2>"$err" &
  BG_PID=$!
  if wait_for "$out" '"event":"subscribed"' 15; then
    id="$(parsectl create GameScore "{\"score\":1,\"playerName\":\"$name\"}" | object_id)"
    [[ -n "$id" ]] && parsectl update GameScore "$id" '{"score":2}' >/dev/null
  fi
  wait "$BG_PID"; rc=$?
  BG_PID=""
  t=$(( $(now_ms) - t ))
  n=$(connects "$plog" "$before" "$hp")
  if [[ $rc -eq 0 && -n "$id" && $n -ge 1 ]] && events_ok "$out" "$id"; then
    pass "$name: $url streams create/update through the proxy ($n CONNECT $hp, $t ms)"
  else
    fail "$name: $url (exit $rc, $n CONNECT $hp, $t ms)"
    indent "out: " <"$out"; indent "err: " <"$err"; new_lines "$plog" "$before" | indent "proxy: "
  fi
}

# reach_case NAME WANT [env NAME=VALUE...] -- [lqwatch options]: lqwatch subscribes within 10 s
# (exit 0 after 1.5 s), through the open proxy when WANT is "proxied", past it when "direct"
reach_case() {
  local name="$1" want="$2" out="$WORK/$1.out" err="$WORK/$1.err" rc before n
  local envs=()
  shift 2
  while [[ $# -gt 0 && "$1" != "--" ]]; do envs+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift
  before=$(lines "$WORK/open.log")
  env "${envs[@]}" timeout 20 "$LQWATCH" "$@" -a "$PARSE_APP_ID" -k "$PARSE_JAVASCRIPT_KEY" --timeout 1.5 \
    GameScore >"$out" 2>"$err"
  rc=$?
  n=$(connects "$WORK/open.log" "$before" "127.0.0.1:$PARSE_PORT")
  if [[ $rc -eq 0 ]] && grep -q '"event":"subscribed"' "$out" &&
     { [[ $want == proxied && $n -ge 1 ]] || [[ $want == direct && $n -eq 0 ]]; }; then
    pass "$name: subscribed, $want ($n CONNECT through the open proxy)"
  else
    fail "$name: want $want (exit $rc, $n CONNECT through the open proxy)"
    indent "out: " <"$out"; indent "err: " <"$err"
  fi
}

# refused_case NAME CAUSE_REGEX [env NAME=VALUE...] -- [lqwatch options]: exit 2 within 5 s, no
# open event, stderr matching the cause
refused_case() {
  local name="$1" cause="$2" out="$WORK/$1.out" err="$WORK/$1.err" rc t
  local envs=()
  shift 2
  while [[ $# -gt 0 && "$1" != "--" ]]; do envs+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift
  t=$(now_ms)
  env "${envs[@]}" timeout 20 "$LQWATCH" "$@" -a "$PARSE_APP_ID" -k "$PARSE_JAVASCRIPT_KEY" -n 1 --timeout 10 \
    GameScore >"$out" 2>"$err"
  rc=$?
  t=$(( $(now_ms) - t ))
  if [[ $rc -eq 2 && $t -lt 5000 ]] && ! grep -q '"event":"open"' "$out" && grep -Eq -- "$cause" "$err"; then
    pass "$name: exit 2 in $t ms: $(head -n 1 "$err")"
  else
    fail "$name: want exit 2 within 5 s and /$cause/ (exit $rc, $t ms)"
    indent "out: " <"$out"; indent "err: " <"$err"
  fi
}

# ---------------------------------------------------------------- through the proxy
echo "== ws and REST through the proxy ($((SECONDS - T0)) s)"
watch_case ws "$PARSE_SERVER_URL" "$WORK/open.log" "127.0.0.1:$PARSE_PORT" -- --proxy "$OPEN"
watch_case http-url "$PARSE_HTTP_URL" "$WORK/open.log" "127.0.0.1:$PARSE_PORT" -- --proxy "$OPEN/"

# lqview: its REST find and its WebSocket, two tunnels
view_case() {
  local name="$1" url="$2" proxy="$3" plog="$4" hp="$5" out="$WORK/$1.out" err="$WORK/$1.err" rc id before n
  shift 5
  before=$(lines "$plog")
  id="$(parsectl create GameScore "{\"score\":7,\"playerName\":\"$name-$TAG\"}" | object_id)"
  timeout 30 "$LQVIEW" "$@" -s "$url" --proxy "$proxy" -a "$PARSE_APP_ID" -k "$PARSE_JAVASCRIPT_KEY" --for 3 \
    GameScore "{\"playerName\":\"$name-$TAG\"}" >"$out" 2>"$err"
  rc=$?
  n=$(connects "$plog" "$before" "$hp")
  if [[ $rc -eq 0 && -n "$id" && $n -ge 2 ]] && grep -q '"event":"ready","count":1' "$out" &&
     grep -q "\"objectId\":\"$id\"" "$out"; then
    pass "$name: lqview loads the object and goes live: $n tunnels (the REST find and the WebSocket)"
  else
    fail "$name: lqview (exit $rc, $n CONNECT $hp)"
    indent "out: " <"$out"; indent "err: " <"$err"
  fi
}
view_case view "$PARSE_SERVER_URL" "$OPEN" "$WORK/open.log" "127.0.0.1:$PARSE_PORT"

# ---------------------------------------------------------------- credentials and refusals
echo "== credentials and refusals ($((SECONDS - T0)) s)"
watch_case auth-ok "$PARSE_SERVER_URL" "$WORK/auth.log" "127.0.0.1:$PARSE_PORT" -- --proxy "$AUTH_OK"
BAD="http://lq.user:wrong@127.0.0.1:${PORT[auth]}"
refused_case auth-wrong 'cannot connect: proxy refused CONNECT: 40[17] [A-Z]' -- -s "$PARSE_SERVER_URL" --proxy "$BAD"
refused_case auth-wrong-retry 'proxy refused CONNECT: 40[17] ' -- -s "$PARSE_SERVER_URL" --proxy "$BAD" --retry-connect
refused_case auth-none-retry 'proxy refused CONNECT: 40[17] ' -- -s "$PARSE_SERVER_URL" --proxy "http://127.0.0.1:${PORT[auth]}" --retry-connect
refused_case auth-env 'proxy refused CONNECT: 40[17] ' http_proxy="$BAD" -- -s "$PARSE_SERVER_URL" --retry-connect
refused_case port-refused 'proxy refused CONNECT: 403 ' -- -s "ws://127.0.0.1:1/parse" --proxy "$OPEN" --retry-connect
refused_case proxy-down "proxy: cannot connect to 127.0.0.1 port $DEAD_PORT" -- -s "$PARSE_SERVER_URL" --proxy "http://127.0.0.1:$DEAD_PORT"
refused_case server-down 'proxy refused CONNECT: 5[0-9][0-9] ' -- -s "ws://127.0.0.1:$DEAD_PORT/parse" --proxy "$OPEN"
check "the password is in no message" bash -c "! grep -l 's3cret\|wrong@' '$WORK'/auth-*.err '$WORK'/auth-*.out"

# lqview: a refused proxy ends the run too
out="$WORK/view-auth.out"
timeout 20 "$LQVIEW" -s "$PARSE_SERVER_URL" --proxy "$BAD" --retry-connect -a "$PARSE_APP_ID" -k "$PARSE_JAVASCRIPT_KEY" \
  --for 10 GameScore >"$out" 2>"$WORK/view-auth.err"
rc=$?
check "view-auth: lqview with wrong credentials exits 2 (got $rc): $(head -n 1 "$WORK/view-auth.err")" \
  bash -c "[[ $rc -eq 2 ]] && grep -Eq 'proxy refused CONNECT: 40[17]' '$WORK/view-auth.err'"

# a proxy that cannot reach the server (5xx) is worth retrying: --retry-connect keeps at it
out="$WORK/server-down-retry.out"
timeout 20 "$LQWATCH" -s "ws://127.0.0.1:$DEAD_PORT/parse" --proxy "$OPEN" --retry-connect -a "$PARSE_APP_ID" \
  --timeout 3 GameScore >"$out" 2>"$WORK/server-down-retry.err"
rc=$?
check "server-down-retry: a 5xx is retried with --retry-connect (exit $rc, $(grep -c '"reconnecting"' "$out") reconnects)" \
  bash -c "[[ $rc -eq 0 ]] && grep -q '\"reconnecting\"' '$out' && grep -Eq 'proxy refused CONNECT: 5[0-9][0-9].*\"fatal\":false' '$out'"

# ---------------------------------------------------------------- the environment
echo "== the environment ($((SECONDS - T0)) s)"
DEAD="http://127.0.0.1:$DEAD_PORT"
reach_case env-http_proxy proxied http_proxy="$OPEN" -- -s "$PARSE_SERVER_URL"
reach_case env-HTTP_PROXY proxied HTTP_PROXY="$OPEN" -- -s "$PARSE_SERVER_URL"
reach_case env-no-scheme proxied http_proxy="127.0.0.1:${PORT[open]}" -- -s "$PARSE_SERVER_URL"
reach_case env-https_proxy-not-for-ws direct https_proxy="$DEAD" HTTPS_PROXY="$DEAD" -- -s "$PARSE_SERVER_URL"
reach_case env-option-wins proxied http_proxy="$DEAD" -- -s "$PARSE_SERVER_URL" --proxy "$OPEN"
reach_case env-option-empty direct http_proxy="$DEAD" -- -s "$PARSE_SERVER_URL" --proxy ""
reach_case env-no_proxy-ip direct http_proxy="$DEAD" no_proxy="example.com,127.0.0.1" -- -s "$PARSE_SERVER_URL"
reach_case env-NO_PROXY-range direct http_proxy="$DEAD" NO_PROXY="10.0.0.0/8, 127.0.0.0/8" -- -s "$PARSE_SERVER_URL"
reach_case env-no_proxy-star direct http_proxy="$DEAD" no_proxy="*" -- -s "$PARSE_SERVER_URL"
reach_case env-no_proxy-option direct no_proxy="127.0.0.1" -- -s "$PARSE_SERVER_URL" --proxy "$DEAD"
reach_case env-no_proxy-other proxied http_proxy="$OPEN" no_proxy="localhost,.example.com" -- -s "$PARSE_SERVER_URL"
refused_case env-loopback-proxied "proxy: cannot connect to 127.0.0.1 port $DEAD_PORT" http_proxy="$DEAD" \
  no_proxy="localhost" -- -s "$PARSE_SERVER_URL"

# ---------------------------------------------------------------- idle tunnels
echo "== a proxy that closes idle connections after 2 s ($((SECONDS - T0)) s)"
out="$WORK/idle.out"
before=$(lines "$WORK/idle.log")
timeout 20 "$LQWATCH" -s "$PARSE_SERVER_URL" --proxy "http://127.0.0.1:${PORT[idle]}" -a "$PARSE_APP_ID" \
  -k "$PARSE_JAVASCRIPT_KEY" --timeout 5 GameScore >"$out" 2>"$WORK/idle.err"
rc=$?
n=$(connects "$WORK/idle.log" "$before" "127.0.0.1:$PARSE_PORT")
check "idle: without pings the tunnel is cut and lqwatch reconnects (exit $rc, $n tunnels in 5 s)" \
  bash -c "[[ $rc -eq 0 && $n -ge 2 ]] && grep -q '\"event\":\"close\",\"code\":1006' '$out' && grep -q '\"reconnecting\"' '$out' &&
           grep -q '\"resubscribe\":true' '$out'"

out="$WORK/idle-ping.out"
before=$(lines "$WORK/idle.log")
timeout 30 "$LQWATCH" -s "$PARSE_SERVER_URL" --proxy "http://127.0.0.1:${PORT[idle]}" --ping-interval 500 \
  -a "$PARSE_APP_ID" -k "$PARSE_JAVASCRIPT_KEY" -n 1 --timeout 15 GameScore '{"playerName":"idle-ping"}' \
  >"$out" 2>"$WORK/idle-ping.err" &
BG_PID=$!
id=""
if wait_for "$out" '"event":"subscribed"' 10; then
  sleep 5                                               # 2.5 times the proxy's idle limit
  id="$(parsectl create GameScore '{"score":3,"playerName":"idle-ping"}' | object_id)"
fi
wait "$BG_PID"; rc=$?
BG_PID=""
n=$(connects "$WORK/idle.log" "$before" "127.0.0.1:$PARSE_PORT")
check "idle-ping: with --ping-interval 500 the tunnel stays up 5 s idle and the event arrives (exit $rc, $n tunnel)" \
  bash -c "[[ $rc -eq 0 && -n '$id' && $n -eq 1 ]] && grep -q '\"event\":\"create\".*\"objectId\":\"$id\"' '$out' &&
           ! grep -Eq '\"event\":\"(reconnecting|error)\"|\"code\":1006' '$out'"
[[ $FAIL -eq 0 ]] || { indent "idle: " <"$WORK/idle.out"; indent "idle-ping: " <"$WORK/idle-ping.out"; }

# ---------------------------------------------------------------- TLS inside the tunnel
if (( TLS_OK )); then
  echo "== wss through the proxy ($((SECONDS - T0)) s)"
  fb=$(lines "$WORK/front.log")
  watch_case wss "wss://127.0.0.1:$FRONT_PORT/parse" "$WORK/open.log" "127.0.0.1:$FRONT_PORT" -- \
    --proxy "$OPEN" --ca "$WORK/certs/ca.pem"
  watch_case wss-localhost "wss://localhost:$FRONT_PORT/parse" "$WORK/auth.log" "localhost:$FRONT_PORT" \
    https_proxy="$AUTH_OK" -- --ca "$WORK/certs/ca.pem"
  fnew="$(new_lines "$WORK/front.log" "$fb")"
  check "wss: the front saw TLS from the client, SNI localhost for the name and none for the IP" \
    bash -c "grep -q '^secure .* sni=localhost\$' <<<'$fnew' && grep -q '^secure .* sni=-\$' <<<'$fnew'"
  refused_case wss-wrong-ca 'TLS|certificate' -- -s "wss://127.0.0.1:$FRONT_PORT/parse" --proxy "$OPEN" \
    --ca "$WORK/certs/other-ca.pem"
  view_case view-https "https://127.0.0.1:$FRONT_PORT/parse" "$OPEN" "$WORK/open.log" "127.0.0.1:$FRONT_PORT" \
    --ca "$WORK/certs/ca.pem"
else
  echo "SKIP wss through the proxy: no TLS backend (LQ_TLS=none)"
fi

finish
