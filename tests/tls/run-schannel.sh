#!/usr/bin/env bash
# The Schannel backend (LQ_USE_SCHANNEL) under wine, against the real Parse Server through the
# Node TLS fronts of tests/tls (wine's Schannel runs over the host's GnuTLS).
#
#   tests/tls/run-schannel.sh STATE_DIR BUILD_DIR
#
# Needs x86_64-w64-mingw32-gcc, wine (WINE, else wine64 / wine / /usr/lib/wine/wine64), openssl
# and node. If STATE_DIR holds a running lqserver.sh server it is used as is; otherwise one is
# started there and stopped at the end. WINEPREFIX defaults to BUILD_DIR/wineprefix. Builds
# BUILD_DIR/lqwatch-schannel.exe and BUILD_DIR/test_tls-schannel.exe with the house warnings (and
# lqwatch as C++ when x86_64-w64-mingw32-g++ is there), makes certificates (mkcerts.sh), starts
# fronts (front.js) and checks:
#   good   lqwatch.exe --ca streams a create and an update over wss://127.0.0.1, https://,
#          wss://localhost (SNI sent), the IP-only SAN (no SNI), the IPv6 SAN over [::1], the
#          CN-only legacy certificate, and through the front that writes every byte on its own
#   bad    wrong CA, the system store (the test CA is not in it), expired, a wrong host as IP and
#          as name, an IP only as a DNS SAN (wrong-ip), an IP only in the CN, a SAN beside a
#          matching CN, a missing CA file: exit 2 within seconds, stderr names the cause, and
#          the front saw a failed handshake only: no application byte, no upstream connection
#   test_tls  tests/tls/test_tls.c: tls_ca_pem, the caller's plain transport under Schannel, the
#          wildcard, pins (match, second of two, mismatch), the reconnect (TLS_NO_RESUMPTION: wine
#          resumes nothing), a bad CA PEM on every attempt, insecure mode
# Every wait has a deadline. The last line is "tls-schannel: N passed, M failed"; the exit
# status is 1 on any failure.
# shellcheck disable=SC2317  # functions run through traps
set -uo pipefail

if [[ $# -ne 2 ]]; then echo "usage: $0 STATE_DIR BUILD_DIR" >&2; exit 2; fi
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SERVER_SH="$ROOT/tests/server/lqserver.sh"
PARSECTL="$ROOT/tests/server/parsectl.js"
FRONT="$ROOT/tests/tls/front.js"
mkdir -p "$1" "$2"
STATE="$(cd "$1" && pwd)"
BUILD="$(cd "$2" && pwd)"
WINE="${WINE:-$(command -v wine64 || command -v wine || ls /usr/lib/wine/wine64 2>/dev/null || true)}"
export WINEDEBUG=-all WINEPREFIX="${WINEPREFIX:-$BUILD/wineprefix}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/lqsch.XXXXXX")"
CERTS="$WORK/certs"
T0=$SECONDS PASS=0 FAIL=0 OWN_SERVER=0 BG_PID=""
FRONT_PIDS=()

pass() { PASS=$((PASS + 1)); echo "ok   $*"; }
fail() { FAIL=$((FAIL + 1)); echo "FAIL $*"; }
check() { local d="$1"; shift; if "$@"; then pass "$d"; else fail "$d"; fi; }
now_ms() { date +%s%3N; }

cleanup() {
  local rc=$? p
  trap - EXIT INT TERM
  for p in "${FRONT_PIDS[@]}" "$BG_PID"; do [[ -n "$p" ]] && kill -TERM "$p" 2>/dev/null; done
  if [[ $OWN_SERVER -eq 1 ]]; then
    timeout 60 bash "$SERVER_SH" stop "$STATE" >>"$WORK/server.log" 2>&1 || echo "tls-schannel: stopping the server failed" >&2
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "tls-schannel: interrupted" >&2; exit 130' INT TERM

finish() {
  echo "run time: $((SECONDS - T0)) s"
  echo "tls-schannel: $PASS passed, $FAIL failed"
  [[ $FAIL -eq 0 ]]
  exit $?
}

wait_for() {          # FILE REGEX SECONDS
  local deadline=$(( $(now_ms) + $3 * 1000 ))
  while (( $(now_ms) < deadline )); do grep -Eq -- "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  return 1
}
new_lines() { tail -n +"$(($2 + 1))" "$1"; }
wait_new() {          # FILE BEFORE REGEX SECONDS
  local deadline=$(( $(now_ms) + $4 * 1000 ))
  while (( $(now_ms) < deadline )); do new_lines "$1" "$2" | grep -Eq -- "$3" && return 0; sleep 0.05; done
  return 1
}

for tool in x86_64-w64-mingw32-gcc openssl node; do
  command -v "$tool" >/dev/null || { fail "$tool not found"; finish; }
done
[[ -n "$WINE" ]] || { fail "wine not found (Debian: apt-get install wine64)"; finish; }
echo "backend: Schannel under $("$WINE" --version 2>/dev/null)"

# ---------------------------------------------------------------- builds
echo "== builds ($((SECONDS - T0)) s)"
WARN=(-Wall -Wextra -pedantic -Wshadow -Wconversion -Wsign-conversion -Wundef -Werror)
LIBS=(-lsecur32 -lcrypt32 -lws2_32 -lbcrypt)
LQWATCH="$BUILD/lqwatch-schannel.exe" TEST_TLS="$BUILD/test_tls-schannel.exe"
if x86_64-w64-mingw32-gcc -std=c99 "${WARN[@]}" -Wstrict-prototypes -Wmissing-prototypes -O1 -g -I"$ROOT" \
     -DLQ_USE_SCHANNEL "$ROOT/examples/lqwatch.c" -o "$LQWATCH" "${LIBS[@]}" >"$WORK/lqwatch.build" 2>&1; then
  pass "lqwatch builds with LQ_USE_SCHANNEL (C99, mingw-w64)"
else fail "lqwatch does not build"; sed 's/^/    /' "$WORK/lqwatch.build"; finish; fi
if command -v x86_64-w64-mingw32-g++ >/dev/null; then
  if x86_64-w64-mingw32-g++ -x c++ -std=c++11 "${WARN[@]}" -O1 -I"$ROOT" -DLQ_USE_SCHANNEL "$ROOT/examples/lqwatch.c" \
       -o "$BUILD/lqwatch-schannel-cxx.exe" "${LIBS[@]}" >"$WORK/cxx.build" 2>&1; then
    pass "lqwatch builds with LQ_USE_SCHANNEL as C++11 (mingw-w64)"
  else fail "lqwatch does not build as C++"; sed 's/^/    /' "$WORK/cxx.build"; fi
else echo "SKIP C++ build: x86_64-w64-mingw32-g++ missing (g++-mingw-w64-x86-64)"; fi
if x86_64-w64-mingw32-gcc -std=c99 "${WARN[@]}" -Wstrict-prototypes -Wmissing-prototypes -O1 -g -I"$ROOT" \
     -DLQ_USE_SCHANNEL "$ROOT/tests/tls/test_tls.c" -o "$TEST_TLS" "${LIBS[@]}" >"$WORK/test_tls.build" 2>&1; then
  pass "test_tls builds with LQ_USE_SCHANNEL"
else fail "test_tls does not build"; sed 's/^/    /' "$WORK/test_tls.build"; TEST_TLS=""; fi
"$WINE" cmd /c exit >/dev/null 2>&1 || true          # makes the prefix once, quietly

# ---------------------------------------------------------------- certificates, server, fronts
echo "== setup ($((SECONDS - T0)) s)"
if ! timeout 30 bash "$ROOT/tests/tls/mkcerts.sh" "$CERTS" >"$WORK/mkcerts.log" 2>&1; then
  cat "$WORK/mkcerts.log"; fail "mkcerts.sh"; finish
fi
if [[ -f "$STATE/env" ]] && timeout 30 bash "$SERVER_SH" status "$STATE" >/dev/null 2>&1; then
  echo "using the running server in $STATE"
else
  OWN_SERVER=1
  if ! timeout 300 bash "$SERVER_SH" install >"$WORK/install.log" 2>&1 ||
     ! timeout 150 bash "$SERVER_SH" start "$STATE" >"$WORK/start.log" 2>&1; then
    tail -n 20 "$WORK"/*.log; fail "cannot start the Parse Server"; finish
  fi
fi
set -a
# shellcheck disable=SC1091
source "$STATE/env"
set +a

declare -A PORT
start_front() {       # NAME CERT [front options]
  local name="$1" cert="$2"
  shift 2
  : >"$WORK/$name.log"
  node "$FRONT" --cert "$CERTS/$cert.pem" --key "$CERTS/$cert.key" --target "127.0.0.1:$PARSE_PORT" \
    --log "$WORK/$name.log" --max-seconds 300 "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  FRONT_PIDS+=("$!")
  wait_for "$WORK/$name.out" '^LISTEN [0-9]+$' 10 || { cat "$WORK/$name.err"; fail "front $name did not start"; finish; }
  PORT[$name]="$(sed -n 's/^LISTEN //p' "$WORK/$name.out")"
}
start_front good server
start_front split server --split
start_front expired expired
start_front wrong wrong
for c in ip-only wrong-ip cn-only cn-ip san-cn wildcard; do start_front "$c" "$c"; done
V6=0
if node -e 'require("net").createServer().listen(0, "::1", function () { this.close(); }).on("error", () => process.exit(1))' 2>/dev/null; then
  V6=1; start_front ipv6 ipv6 --host ::1
fi

parsectl() { timeout 20 node "$PARSECTL" "$@"; }
object_id() { sed -n 's/.*"objectId":"\([^"]*\)".*/\1/p'; }
front_served() { grep -q '^secure ' <<<"$1" && grep -q '^upstream ' <<<"$1" && grep -Eq '^close .* plaintext_in=[1-9]' <<<"$1"; }

# watch_case NAME URL FRONT [lqwatch options]: a create and an update of an object, in order
watch_case() {
  local name="$1" url="$2" flog="$WORK/$3.log" out="$WORK/$1.watch" err="$WORK/$1.watch.err" rc id="" t before
  shift 3
  before=$(wc -l <"$flog")
  t=$(now_ms)
  timeout 60 "$WINE" "$LQWATCH" "$@" -s "$url" -a "$PARSE_APP_ID" -k "$PARSE_JAVASCRIPT_KEY" -n 2 --timeout 30 \
    GameScore "{\"playerName\":\"sch-$name\"}" >"$out" 2>"$err" &
  BG_PID=$!
  if wait_for "$out" '"event":"subscribed"' 30; then
    id="$(parsectl create GameScore "{\"score\":1,\"playerName\":\"sch-$name\"}" | object_id)"
    [[ -n "$id" ]] && parsectl update GameScore "$id" '{"score":2}' >/dev/null
  fi
  wait "$BG_PID"; rc=$?
  BG_PID=""
  t=$(( $(now_ms) - t ))
  if [[ $rc -eq 0 && -n "$id" ]] && grep -q "\"event\":\"create\".*\"objectId\":\"$id\"" "$out" &&
     grep -q "\"event\":\"update\".*\"score\":2" "$out" && wait_new "$flog" "$before" '^close ' 5 &&
     front_served "$(new_lines "$flog" "$before")"; then
    pass "$name: $url streams create/update ($t ms)"
  else
    fail "$name: $url (exit $rc, $t ms)"
    sed 's/^/    out: /' "$out"; sed 's/^/    err: /' "$err"; new_lines "$flog" "$before" | sed 's/^/    front: /'
  fi
}

# bad_case NAME URL FRONT MODE CAUSE_REGEX [lqwatch options]: exit 2 within 8 s (wine starts in
# about one), stderr names the cause, no open event; MODE alert: the front saw a failed handshake
# only; noconnect: not even a connection.
bad_case() {
  local name="$1" url="$2" flog="$WORK/$3.log" mode="$4" cause="$5" out="$WORK/$1.watch" err="$WORK/$1.watch.err"
  local rc t before new
  shift 5
  before=$(wc -l <"$flog")
  t=$(now_ms)
  timeout 30 "$WINE" "$LQWATCH" "$@" -s "$url" -a "$PARSE_APP_ID" -k "$PARSE_JAVASCRIPT_KEY" -n 1 --timeout 10 \
    GameScore >"$out" 2>"$err"
  rc=$?
  t=$(( $(now_ms) - t ))
  check "$name: exit 2 (got $rc) within 8 s ($t ms)" test "$rc" -eq 2 -a "$t" -lt 8000
  if grep -Eq -- "$cause" "$err"; then pass "$name: stderr names the cause: $(head -n 1 "$err")"
  else fail "$name: stderr does not match /$cause/:"; sed 's/^/    err: /' "$err"; fi
  check "$name: no open event" bash -c "! grep -q '\"event\":\"open\"' '$out'"
  if [[ "$mode" == noconnect ]]; then
    sleep 0.3
    check "$name: fails closed: no connection to the front at all" test -z "$(new_lines "$flog" "$before")"
    return
  fi
  wait_new "$flog" "$before" '^close ' 3
  new="$(new_lines "$flog" "$before")"
  if grep -q '^tls-error ' <<<"$new" && ! grep -Eq '^(secure|upstream) ' <<<"$new" && ! grep -Eq 'plaintext_in=[1-9]' <<<"$new"; then
    pass "$name: fails closed: handshake aborted before the client's Finished, 0 application bytes, no upstream"
  else fail "$name: the front saw more than a failed handshake:"; awk '{ print "    front: " $0 }' <<<"$new"; fi
}

echo "== good certificates ($((SECONDS - T0)) s)"
watch_case wss "wss://127.0.0.1:${PORT[good]}/parse" good --ca "$CERTS/ca.pem"
watch_case https "https://127.0.0.1:${PORT[good]}/parse" good --ca "$CERTS/ca.pem"
check "127.0.0.1: no SNI for an IP literal" bash -c "! grep -q 'sni=[^-]' '$WORK/good.log'"
watch_case localhost "wss://localhost:${PORT[good]}/parse" good --ca "$CERTS/ca.pem"
check "localhost: the name went out as SNI" grep -q '^secure .* sni=localhost$' "$WORK/good.log"
watch_case ip-only "wss://127.0.0.1:${PORT[ip-only]}/parse" ip-only --ca "$CERTS/ca.pem"
check "ip-only: no SNI for an IP literal" bash -c "grep -q '^secure .* sni=-$' '$WORK/ip-only.log' && ! grep -q 'sni=[^-]' '$WORK/ip-only.log'"
if (( V6 )); then
  watch_case ipv6 "wss://[::1]:${PORT[ipv6]}/parse" ipv6 --ca "$CERTS/ca.pem"
  check "ipv6: no SNI for an IP literal" bash -c "! grep -q 'sni=[^-]' '$WORK/ipv6.log'"
else echo "SKIP ipv6: no ::1 on this machine"; fi
watch_case cn-only "wss://localhost:${PORT[cn-only]}/parse" cn-only --ca "$CERTS/ca.pem"
watch_case split "wss://127.0.0.1:${PORT[split]}/parse" split --ca "$CERTS/ca.pem"
writes="$(sed -n 's/^relay-close raw_out_writes=//p' "$WORK/split.log" | sort -n | tail -n 1)"
check "split: the relay sent ${writes:-0} one-byte writes (>= 1000)" test "${writes:-0}" -ge 1000

echo "== bad certificates ($((SECONDS - T0)) s)"
BAD_CA='not signed by a trusted CA' BAD_NAME='does not name host localhost' BAD_IP='names no IP address 127.0.0.1'
bad_case wrong-ca "wss://127.0.0.1:${PORT[good]}/parse" good alert "$BAD_CA" --ca "$CERTS/other-ca.pem"
bad_case system-store "wss://127.0.0.1:${PORT[good]}/parse" good alert "$BAD_CA"
bad_case expired "wss://127.0.0.1:${PORT[expired]}/parse" expired alert 'expired' --ca "$CERTS/ca.pem"
bad_case wrong-host "wss://127.0.0.1:${PORT[wrong]}/parse" wrong alert "$BAD_IP" --ca "$CERTS/ca.pem"
bad_case wrong-host-name "wss://localhost:${PORT[wrong]}/parse" wrong alert "$BAD_NAME" --ca "$CERTS/ca.pem"
bad_case wrong-ip "wss://127.0.0.1:${PORT[wrong-ip]}/parse" wrong-ip alert "$BAD_IP" --ca "$CERTS/ca.pem"
bad_case cn-ip "wss://127.0.0.1:${PORT[cn-ip]}/parse" cn-ip alert "$BAD_IP" --ca "$CERTS/ca.pem"
bad_case san-cn "wss://localhost:${PORT[san-cn]}/parse" san-cn alert "$BAD_NAME" --ca "$CERTS/ca.pem"
bad_case split-wrong-ca "wss://127.0.0.1:${PORT[split]}/parse" split alert "$BAD_CA" --ca "$CERTS/other-ca.pem"
bad_case missing-ca-file "wss://127.0.0.1:${PORT[good]}/parse" good noconnect 'CA file' --ca "$WORK/no-such-ca.pem"

echo "== test_tls ($((SECONDS - T0)) s)"
if [[ -n "$TEST_TLS" ]]; then
  PIN="$(openssl x509 -in "$CERTS/server.pem" -pubkey -noout | openssl pkey -pubin -outform der |
         openssl dgst -sha256 -binary | base64)"
  # The create command runs through wine's cmd: `start /wait /unix` runs a host program.
  printf 'exec node %q create GameScore %q >/dev/null\n' "$PARSECTL" '{"score":7,"playerName":"test_tls"}' >"$WORK/create.sh"
  if TLS_NO_RESUMPTION="wine's Schannel keeps no session cache" timeout 180 "$WINE" "$TEST_TLS" \
       "wss://127.0.0.1:${PORT[split]}/parse" "wss://127.0.0.1:${PORT[wrong]}/parse" "$CERTS/ca.pem" "$CERTS/other-ca.pem" \
       "start /wait /unix /bin/sh $WORK/create.sh" "${PORT[wildcard]}" "$PIN" "$WORK/split.log" >"$WORK/test_tls.out" 2>&1; then
    pass "test_tls: $(tail -n 1 "$WORK/test_tls.out")"
    grep -E '^(resumption|pins|wildcard|bad CA PEM|wrong)' "$WORK/test_tls.out" | sed 's/^/    /'
  else fail "test_tls"; sed 's/^/    /' "$WORK/test_tls.out"; fi
fi

finish
