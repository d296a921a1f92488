#!/usr/bin/env bash
# TLS tests of livequery.h against the real Parse Server, through local Node TLS fronts.
#
#   tests/tls/run.sh STATE_DIR BUILD_DIR
#
# Needs BUILD_DIR/lqwatch-san (examples/lqwatch.c with a TLS backend and sanitizers), openssl,
# node and cc with the backend's headers. The backend is LQ_TLS_CFLAGS / LQ_TLS_LIBS (default
# mbedTLS: -DLQ_USE_MBEDTLS, -lmbedtls -lmbedx509 -lmbedcrypto; OpenSSL: -DLQ_USE_OPENSSL, -lssl
# -lcrypto); the messages the cases expect are each backend's own. If STATE_DIR holds a running lqserver.sh server
# it is used as is; otherwise one is started in STATE_DIR and stopped at the end. Builds
# BUILD_DIR/test_tls and BUILD_DIR/custom_transport itself. Makes certificates (mkcerts.sh) in a
# temporary directory, starts fronts (front.js) and checks:
#   good      lqwatch --ca over wss://, https:// and wss://localhost streams create/update events
#   split     the same with every TLS byte in its own TCP write (--split)
#   bad       wrong CA, expired certificate, wrong host name, no --ca (system bundle), missing CA
#             file: exit 2 within seconds, stderr names the cause, and the front saw no
#             application byte and opened no connection to the Parse Server
#   test_tls  tests/tls/test_tls.c: tls_ca_pem, events over the split front, error messages
#   custom    examples/custom_transport.c: a transport of its own, exits 0 on a delete event
# Every wait has a deadline; the whole run takes well under 2 minutes. The last line is
# "tls: N passed, M failed"; the exit status is 1 on any failure.
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
read -r -a TLS_CFLAGS <<<"${LQ_TLS_CFLAGS:--DLQ_USE_MBEDTLS}"
read -r -a TLS_LIBS <<<"${LQ_TLS_LIBS:--lmbedtls -lmbedx509 -lmbedcrypto}"
# What each backend says: a chain from another CA, a name the certificate does not carry.
if [[ " ${TLS_CFLAGS[*]} " == *" -DLQ_USE_OPENSSL "* ]]; then
  BACKEND=OpenSSL BAD_CA='unable to get local issuer certificate' BAD_NAME='hostname mismatch'
else
  BACKEND=mbedTLS BAD_CA='not correctly signed by the trusted CA' BAD_NAME='Common Name \(CN\) does not match'
fi
WORK="$(mktemp -d "${TMPDIR:-/tmp}/lqtls.XXXXXX")"
CERTS="$WORK/certs"
T0=$SECONDS
PASS=0
FAIL=0
OWN_SERVER=0
FRONT_PIDS=()
BG_PID=""

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

pass() { PASS=$((PASS + 1)); echo "ok   $*"; }
fail() { FAIL=$((FAIL + 1)); echo "FAIL $*"; }
# check DESCRIPTION COMMAND...: passes when the command succeeds
check() { local d="$1"; shift; if "$@"; then pass "$d"; else fail "$d"; fi; }
now_ms() { date +%s%3N; }

cleanup() {
  local rc=$? p
  trap - EXIT INT TERM
  for p in "${FRONT_PIDS[@]}" "$BG_PID"; do
    [[ -n "$p" ]] && kill -TERM "$p" 2>/dev/null
  done
  if [[ $OWN_SERVER -eq 1 ]]; then
    timeout 60 bash "$SERVER_SH" stop "$STATE" >>"$WORK/server.log" 2>&1 || echo "tls: stopping the server failed" >&2
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "tls: interrupted" >&2; exit 130' INT TERM

finish() {
  echo "run time: $((SECONDS - T0)) s"
  echo "tls: $PASS passed, $FAIL failed"
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

# new_lines FILE BEFORE: the lines of FILE after its first BEFORE lines
new_lines() { tail -n +"$(($2 + 1))" "$1"; }

# wait_new FILE BEFORE REGEX SECONDS: 0 once a line after the first BEFORE lines matches
wait_new() {
  local deadline=$(( $(now_ms) + $4 * 1000 ))
  while (( $(now_ms) < deadline )); do
    new_lines "$1" "$2" | grep -Eq -- "$3" && return 0
    sleep 0.05
  done
  return 1
}

CC="${CC:-cc}"
# The house warning set and the sanitizers of the Makefile's tests.
# shellcheck disable=SC2054  # the comma is part of -fsanitize=address,undefined
CFLAGS_T=(-std=c99 -Wall -Wextra -pedantic -Wshadow -Wconversion -Wsign-conversion -Wstrict-prototypes
          -Wmissing-prototypes -Wundef -Werror -g -O1 -fsanitize=address,undefined -fno-omit-frame-pointer
          -fno-sanitize-recover=all)
for tool in openssl node "$CC"; do
  command -v "$tool" >/dev/null || { fail "$tool not found"; finish; }
done
hdr='#include <mbedtls/ssl.h>' pkg=libmbedtls-dev
[[ $BACKEND == OpenSSL ]] && hdr='#include <openssl/ssl.h>' pkg=libssl-dev
if ! echo "$hdr" | "$CC" -E -x c - >/dev/null 2>&1; then
  fail "$BACKEND headers not found (Debian: apt-get install $pkg)"; finish
fi
echo "backend: $BACKEND"
[[ -x "$LQWATCH" ]] || { fail "missing $LQWATCH (make $LQWATCH, with libmbedtls-dev installed)"; finish; }

# ---------------------------------------------------------------- certificates, server, fronts
echo "== setup ($((SECONDS - T0)) s)"
if ! timeout 30 bash "$ROOT/tests/tls/mkcerts.sh" "$CERTS" >"$WORK/mkcerts.log" 2>&1; then
  cat "$WORK/mkcerts.log"; fail "mkcerts.sh"; finish
fi
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
echo "server: $PARSE_HTTP_URL"

# start_front NAME CERT_NAME [--split]: sets PORT[NAME]; the front logs to $WORK/NAME.log
declare -A PORT
start_front() {
  local name="$1" cert="$2" out="$WORK/$1.out" pid port
  shift 2
  : >"$WORK/$name.log"
  node "$FRONT" --cert "$CERTS/$cert.pem" --key "$CERTS/$cert.key" --target "127.0.0.1:$PARSE_PORT" \
    --log "$WORK/$name.log" --max-seconds 180 "$@" >"$out" 2>"$WORK/$name.err" &
  pid=$!
  FRONT_PIDS+=("$pid")
  if ! wait_for "$out" '^LISTEN [0-9]+$' 10; then
    cat "$WORK/$name.err"; fail "front $name did not start"; finish
  fi
  port="$(sed -n 's/^LISTEN //p' "$out")"
  PORT[$name]="$port"
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
echo "fronts: good ${PORT[good]}, split ${PORT[split]}, expired ${PORT[expired]}, wrong host ${PORT[wrong]}"

parsectl() { timeout 20 node "$PARSECTL" "$@"; }
object_id() { sed -n 's/.*"objectId":"\([^"]*\)".*/\1/p'; }

# ---------------------------------------------------------------- good cases
# events_ok OUT ID: every line of OUT is a JSON object; open, subscribed, a create of ID with
# score 1 and an update of ID with score 2 (and its original with score 1), in that order
events_ok() {
  node -e '
    const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean);
    const id = process.argv[2];
    const ev = lines.map((l) => JSON.parse(l));
    const names = ev.map((e) => e.event).join(",");
    const c = ev.find((e) => e.event === "create");
    const u = ev.find((e) => e.event === "update");
    const ok = names.startsWith("open,subscribed,create,update") && c && u &&
      c.object.objectId === id && c.object.score === 1 && u.object.objectId === id &&
      u.object.score === 2 && u.original && u.original.score === 1;
    if (!ok) { console.error("unexpected events: " + names); process.exit(1); }' "$1" "$2"
}

# front_served LINES: the front completed a handshake, connected upstream and moved data
front_served() {
  grep -q '^secure ' <<<"$1" && grep -q '^upstream ' <<<"$1" && grep -Eq '^close .* plaintext_in=[1-9]' <<<"$1"
}

# watch_case NAME URL FRONTLOG [lqwatch options]: lqwatch streams create + update of an object
watch_case() {
  local name="$1" url="$2" flog="$3" out="$WORK/$1.watch" err="$WORK/$1.watch.err" rc id t before
  shift 3
  before=$(wc -l <"$flog")
  t=$(now_ms)
  timeout 40 "$LQWATCH" "$@" -s "$url" -a "$PARSE_APP_ID" -k "$PARSE_JAVASCRIPT_KEY" -n 2 --timeout 20 \
    GameScore "{\"playerName\":\"$name\"}" >"$out" 2>"$err" &
  BG_PID=$!
  if wait_for "$out" '"event":"subscribed"' 15; then
    id="$(parsectl create GameScore "{\"score\":1,\"playerName\":\"$name\"}" | object_id)"
    [[ -n "$id" ]] && parsectl update GameScore "$id" '{"score":2}' >/dev/null
  fi
  wait "$BG_PID"; rc=$?
  BG_PID=""
  t=$(( $(now_ms) - t ))
  if [[ $rc -eq 0 && -n "${id:-}" ]] && events_ok "$out" "$id" && wait_new "$flog" "$before" '^close ' 3 &&
     front_served "$(new_lines "$flog" "$before")"; then
    pass "$name: $url streams create/update ($t ms)"
  else
    fail "$name: $url (exit $rc, $t ms)"
    sed 's/^/    out: /' "$out"; sed 's/^/    err: /' "$err"; sed 's/^/    front: /' "$flog"
  fi
}

# view_case NAME URL FRONTLOG: lqview over TLS loads an object, its WebSocket and its REST calls
# both through the front (two TLS connections at least).
view_case() {
  local name="$1" url="$2" flog="$3" out="$WORK/$1.view" err="$WORK/$1.view.err" rc id before secure
  before=$(wc -l <"$flog")
  id="$(parsectl create GameScore "{\"score\":7,\"playerName\":\"$name\"}" | object_id)"
  timeout 30 "$LQVIEW" -s "$url" --ca "$CERTS/ca.pem" -a "$PARSE_APP_ID" -k "$PARSE_JAVASCRIPT_KEY" --for 4 \
    GameScore "{\"playerName\":\"$name\"}" >"$out" 2>"$err"
  rc=$?
  secure=$(new_lines "$flog" "$before" | grep -c '^secure ')
  if [[ $rc -eq 0 && -n "$id" ]] && grep -q '"event":"ready","count":1' "$out" && grep -q "\"objectId\":\"$id\"" "$out" &&
     [[ $secure -ge 2 ]]; then
    pass "$name: lqview over $url: the REST find and the WebSocket over TLS ($secure TLS connections)"
  else
    fail "$name: lqview over $url (exit $rc, $secure TLS connections)"
    sed 's/^/    out: /' "$out"; sed 's/^/    err: /' "$err"
  fi
}

echo "== good certificates ($((SECONDS - T0)) s)"
watch_case wss "wss://127.0.0.1:${PORT[good]}/parse" "$WORK/good.log" --ca "$CERTS/ca.pem"
watch_case https "https://127.0.0.1:${PORT[good]}/parse" "$WORK/good.log" --ca "$CERTS/ca.pem"
watch_case localhost "wss://localhost:${PORT[good]}/parse" "$WORK/good.log" --ca "$CERTS/ca.pem"
check "localhost: the name went out as SNI" grep -q '^secure .* sni=localhost$' "$WORK/good.log"
view_case view-wss "wss://127.0.0.1:${PORT[good]}/parse" "$WORK/good.log"

# RFC 6125 host checks, on whichever mbedTLS this is (2.28 checks DNS names only by itself): an IP
# literal is matched against iPAddress subjectAltNames alone, byte for byte, and sent without SNI
# (RFC 6066); a name against DNS names, the CN only when there is no subjectAltName at all.
echo "== host checks ($((SECONDS - T0)) s)"
watch_case ip-only "wss://127.0.0.1:${PORT[ip-only]}/parse" "$WORK/ip-only.log" --ca "$CERTS/ca.pem"
check "ip-only: no SNI for an IP literal" grep -q '^secure .* sni=-$' "$WORK/ip-only.log"
check "ip-only: never an SNI at all" bash -c "! grep -q 'sni=[^-]' '$WORK/ip-only.log'"
if (( V6 )); then
  watch_case ipv6 "wss://[::1]:${PORT[ipv6]}/parse" "$WORK/ipv6.log" --ca "$CERTS/ca.pem"
else
  echo "SKIP ipv6: no ::1 on this machine"
fi
watch_case cn-only "wss://localhost:${PORT[cn-only]}/parse" "$WORK/cn-only.log" --ca "$CERTS/ca.pem"

echo "== records split at every byte ($((SECONDS - T0)) s)"
watch_case split "wss://127.0.0.1:${PORT[split]}/parse" "$WORK/split.log" --ca "$CERTS/ca.pem"
# The handshake alone is over a thousand bytes from the server: as many one-byte writes.
writes="$(sed -n 's/^relay-close raw_out_writes=//p' "$WORK/split.log" | sort -n | tail -n 1)"
check "split: the relay sent ${writes:-0} one-byte writes (>= 1000)" test "${writes:-0}" -ge 1000

# ---------------------------------------------------------------- bad certificates
no_open() { ! grep -q '"event":"open"' "$1"; }
indent() { sed "s/^/    $1/"; }

# bad_case NAME URL FRONTLOG MODE CAUSE_REGEX [lqwatch options]: lqwatch exits 2 within 5 s, with
# stderr matching the cause and no open event. MODE alert: the front logged a failed handshake, no
# upstream connection and no application byte; MODE noconnect: not even a TCP connection.
bad_case() {
  local name="$1" url="$2" flog="$3" mode="$4" cause="$5" out="$WORK/$1.watch" err="$WORK/$1.watch.err"
  local rc t before new
  shift 5
  before=$(wc -l <"$flog")
  t=$(now_ms)
  timeout 20 "$LQWATCH" "$@" -s "$url" -a "$PARSE_APP_ID" -k "$PARSE_JAVASCRIPT_KEY" -n 1 --timeout 10 \
    GameScore >"$out" 2>"$err"
  rc=$?
  t=$(( $(now_ms) - t ))
  check "$name: exit 2 (got $rc) within 5 s ($t ms)" test "$rc" -eq 2 -a "$t" -lt 5000
  if grep -Eiq -- "$cause" "$err"; then
    pass "$name: stderr names the cause: $(head -n 1 "$err")"
  else
    fail "$name: stderr does not match /$cause/:"; sed 's/^/    err: /' "$err"
  fi
  check "$name: no open event" no_open "$out"
  if [[ "$mode" == noconnect ]]; then
    sleep 0.3
    new="$(new_lines "$flog" "$before")"
    check "$name: fails closed: no connection to the front at all" test -z "$new"
    return
  fi
  wait_new "$flog" "$before" '^close ' 3
  new="$(new_lines "$flog" "$before")"
  if grep -q '^tls-error ' <<<"$new" && ! grep -Eq '^(secure|upstream) ' <<<"$new" &&
     ! grep -Eq 'plaintext_in=[1-9]' <<<"$new" && grep -q '^close ' <<<"$new"; then
    pass "$name: fails closed: handshake aborted, 0 application bytes, no upstream connection"
  else
    fail "$name: the front saw more than a failed handshake:"; indent "front: " <<<"$new"
  fi
}

echo "== bad certificates ($((SECONDS - T0)) s)"
bad_case wrong-ca "wss://127.0.0.1:${PORT[good]}/parse" "$WORK/good.log" alert \
  "$BAD_CA" --ca "$CERTS/other-ca.pem"
bad_case wrong-ca-retry "wss://127.0.0.1:${PORT[good]}/parse" "$WORK/good.log" alert \
  "$BAD_CA" --ca "$CERTS/other-ca.pem" --retry-connect
bad_case expired "wss://127.0.0.1:${PORT[expired]}/parse" "$WORK/expired.log" alert 'expired' --ca "$CERTS/ca.pem"
bad_case wrong-host "wss://127.0.0.1:${PORT[wrong]}/parse" "$WORK/wrong.log" alert \
  'names no IP address 127.0.0.1' --ca "$CERTS/ca.pem"
bad_case wrong-host-name "wss://localhost:${PORT[wrong]}/parse" "$WORK/wrong.log" alert \
  "$BAD_NAME" --ca "$CERTS/ca.pem"
bad_case wrong-ip "wss://127.0.0.1:${PORT[wrong-ip]}/parse" "$WORK/wrong-ip.log" alert \
  'names no IP address 127.0.0.1' --ca "$CERTS/ca.pem"
bad_case cn-ip "wss://127.0.0.1:${PORT[cn-ip]}/parse" "$WORK/cn-ip.log" alert \
  'names no IP address 127.0.0.1' --ca "$CERTS/ca.pem"
bad_case san-cn "wss://localhost:${PORT[san-cn]}/parse" "$WORK/san-cn.log" alert \
  "$BAD_NAME" --ca "$CERTS/ca.pem"
bad_case system-bundle "wss://127.0.0.1:${PORT[good]}/parse" "$WORK/good.log" alert \
  "$BAD_CA"
bad_case split-wrong-ca "wss://127.0.0.1:${PORT[split]}/parse" "$WORK/split.log" alert \
  "$BAD_CA" --ca "$CERTS/other-ca.pem"
bad_case missing-ca-file "wss://127.0.0.1:${PORT[good]}/parse" "$WORK/good.log" noconnect 'CA file' \
  --ca "$WORK/no-such-ca.pem"

# ---------------------------------------------------------------- test_tls.c
echo "== test_tls ($((SECONDS - T0)) s)"
# the pin of server.pem's key, as HPKP computes it: base64(SHA-256(SubjectPublicKeyInfo))
PIN="$(openssl x509 -in "$CERTS/server.pem" -pubkey -noout | openssl pkey -pubin -outform der |
       openssl dgst -sha256 -binary | base64)"
if "$CC" "${CFLAGS_T[@]}" "${TLS_CFLAGS[@]}" -I"$ROOT" "$ROOT/tests/tls/test_tls.c" -o "$BUILD/test_tls" \
     "${TLS_LIBS[@]}" 2>"$WORK/test_tls.build"; then
  pass "test_tls builds"
  if timeout 60 "$BUILD/test_tls" "wss://127.0.0.1:${PORT[split]}/parse" "wss://127.0.0.1:${PORT[wrong]}/parse" \
       "$CERTS/ca.pem" "$CERTS/other-ca.pem" \
       "node '$PARSECTL' create GameScore '{\"score\":7,\"playerName\":\"test_tls\"}' >/dev/null" \
       "${PORT[wildcard]}" "$PIN" "$WORK/split.log" \
       >"$WORK/test_tls.out" 2>&1; then
    pass "test_tls: $(tail -n 1 "$WORK/test_tls.out")"
  else
    fail "test_tls"; sed 's/^/    /' "$WORK/test_tls.out"
  fi
else
  fail "test_tls does not build"; sed 's/^/    /' "$WORK/test_tls.build"
fi

# ---------------------------------------------------------------- examples/custom_transport.c
# The example's own sockets, plain for ws:// and under the TLS backend (mbedTLS over them) for
# wss://, also through the front that splits every record into one-byte writes.
echo "== custom transport ($((SECONDS - T0)) s)"
custom_case() {
  local name="$1" url="$2" out="$WORK/custom-$1.out" rc t id
  t=$(now_ms)
  PARSE_SERVER_URL="$url" PARSE_CA_FILE="$CERTS/ca.pem" timeout 40 "$BUILD/custom_transport-tls" >"$out" 2>&1 &
  BG_PID=$!
  id=""
  if wait_for "$out" '^subscribed' 15; then
    id="$(parsectl create GameScore "{\"score\":3,\"playerName\":\"custom-$name\"}" | object_id)"
    [[ -n "$id" ]] && parsectl delete GameScore "$id" >/dev/null
  fi
  wait "$BG_PID"; rc=$?
  BG_PID=""
  t=$(( $(now_ms) - t ))
  if [[ $rc -eq 0 ]] && grep -q '^delete' "$out" && grep -Eq '^find: [0-9]+ objects$' "$out"; then
    pass "custom_transport $name: $url, exit 0 after the delete event, and a REST find over the same transport ($t ms)"
  else
    fail "custom_transport $name: $url, exit $rc ($t ms)"; sed 's/^/    /' "$out"
  fi
}
if "$CC" "${CFLAGS_T[@]}" "${TLS_CFLAGS[@]}" "$ROOT/examples/custom_transport.c" -o "$BUILD/custom_transport-tls" \
     "${TLS_LIBS[@]}" 2>"$WORK/custom.build"; then
  pass "custom_transport builds with $BACKEND"
  custom_case ws "$PARSE_SERVER_URL"
  custom_case wss "wss://127.0.0.1:${PORT[good]}/parse"
  custom_case wss-split "wss://127.0.0.1:${PORT[split]}/parse"
else
  fail "custom_transport does not build"; sed 's/^/    /' "$WORK/custom.build"
fi

finish
