#!/usr/bin/env bash
# Portability checks: 32-bit (gcc -m32 under qemu-i386), big-endian (s390x under qemu-s390x),
# Windows (mingw-w64 under wine, lqwatch.exe against a real Parse Server; the Schannel backend
# through tests/tls/run-schannel.sh).
# Usage: tests/run-portability.sh BUILD_DIR. A missing toolchain is reported as SKIP.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.."
B="${1:-build}/port"
mkdir -p "$B"
pass=0 fail=0 skip=0
ok()   { echo "  ok    $*"; pass=$((pass + 1)); }
bad()  { echo "  FAIL  $*"; fail=$((fail + 1)); }
skp()  { echo "  SKIP  $*"; skip=$((skip + 1)); }
WARN="-std=c99 -Wall -Wextra -pedantic -Wshadow -Wconversion -Wsign-conversion -Wundef -Werror -O1 -g -I."
UNITS="json ws core"

# run_units NAME RUNNER CC FLAGS... : builds each unit test with CC and runs it with RUNNER
run_units() {
  local name=$1 runner=$2 cc=$3; shift 3
  local t
  for t in $UNITS; do
    if ! $cc $WARN "$@" "tests/test_$t.c" -o "$B/${name}_$t$EXE" $LIBS >"$B/${name}_$t.log" 2>&1; then
      bad "$name: test_$t does not build"; sed -n 1,5p "$B/${name}_$t.log"; continue
    fi
    if timeout 600 $runner "$B/${name}_$t$EXE" >"$B/${name}_$t.out" 2>&1; then ok "$name: $(tail -n 1 "$B/${name}_$t.out")"
    else bad "$name: test_$t: $(tail -n 3 "$B/${name}_$t.out")"; fi
  done
}

echo "== 32-bit (x86, -m32)"
LIBS="" EXE=""
if command -v qemu-i386 >/dev/null && echo 'int main(void){return 0;}' | gcc -m32 -static -x c - -o "$B/probe32" 2>/dev/null; then
  # Without gcc-multilib (it conflicts with Debian's cross compilers) the kernel's asm headers
  # for x86 come from the 64-bit tree: they serve both.
  run_units m32 qemu-i386 gcc -m32 -static -idirafter /usr/include/x86_64-linux-gnu
else skp "gcc -m32 or qemu-i386 missing (lib32gcc-12-dev, libc6-dev-i386, qemu-user)"; fi

echo "== big-endian (s390x)"
if command -v s390x-linux-gnu-gcc >/dev/null && command -v qemu-s390x >/dev/null; then
  run_units s390x qemu-s390x s390x-linux-gnu-gcc -static
else skp "s390x-linux-gnu-gcc or qemu-s390x missing (gcc-s390x-linux-gnu, qemu-user)"; fi

echo "== Windows (mingw-w64 + wine)"
WINE=$(command -v wine64 || command -v wine || ls /usr/lib/wine/wine64 2>/dev/null || true)
if command -v x86_64-w64-mingw32-gcc >/dev/null && [ -n "$WINE" ]; then
  export WINEDEBUG=-all WINEPREFIX="$PWD/$B/wineprefix"
  LIBS="-lws2_32 -lbcrypt" EXE=".exe"
  "$WINE" cmd /c exit >/dev/null 2>&1 || true          # creates the prefix once, quietly
  run_units win "$WINE" x86_64-w64-mingw32-gcc
  if x86_64-w64-mingw32-gcc $WARN examples/lqwatch.c -o "$B/lqwatch.exe" $LIBS >"$B/lqwatch.log" 2>&1; then
    ok "win: lqwatch.exe builds"
    st="$PWD/$B/server"
    if bash tests/server/lqserver.sh start "$st" >/dev/null 2>"$B/server.log"; then
      set -a; . "$st/env"; set +a
      timeout 60 "$WINE" "$B/lqwatch.exe" -n 2 --timeout 40 GameScore '{"score":{"$gt":1000}}' >"$B/lqwatch.out" 2>"$B/lqwatch.err" &
      pid=$!
      for _ in $(seq 1 100); do grep -q '"subscribed"' "$B/lqwatch.out" 2>/dev/null && break; sleep 0.3; done
      id=$(node tests/server/parsectl.js create GameScore '{"score":1234,"playerName":"wine"}' | sed 's/.*"objectId":"\([^"]*\)".*/\1/')
      node tests/server/parsectl.js update GameScore "$id" '{"score":1235}' >/dev/null
      wait "$pid"; rc=$?
      if [ "$rc" = 0 ] && grep -q "\"event\":\"create\".*\"objectId\":\"$id\"" "$B/lqwatch.out" &&
         grep -q "\"event\":\"update\".*\"score\":1235" "$B/lqwatch.out"; then
        ok "win: lqwatch.exe streams create and update from the real Parse Server"
      else bad "win: lqwatch.exe (exit $rc): $(cat "$B/lqwatch.out" "$B/lqwatch.err" | tail -n 5)"; fi
      # a host name: the built-in resolver on Windows (localhost is loopback, RFC 6761), ::1 first
      # (refused: the server listens on 127.0.0.1), then 127.0.0.1
      port="${PARSE_SERVER_URL##*:}"; port="${port%%/*}"
      timeout 60 "$WINE" "$B/lqwatch.exe" -s "ws://localhost:$port/parse" -n 1 --timeout 40 GameScore '{"playerName":"wine-localhost"}' \
        >"$B/lqwatch-name.out" 2>"$B/lqwatch-name.err" &
      pid=$!
      for _ in $(seq 1 100); do grep -q '"subscribed"' "$B/lqwatch-name.out" 2>/dev/null && break; sleep 0.3; done
      node tests/server/parsectl.js create GameScore '{"score":1,"playerName":"wine-localhost"}' >/dev/null
      wait "$pid"; rc=$?
      if [ "$rc" = 0 ] && grep -q '"event":"create"' "$B/lqwatch-name.out"; then
        ok "win: lqwatch.exe -s ws://localhost:PORT resolves the name and streams a create"
      else bad "win: lqwatch.exe by name (exit $rc): $(cat "$B/lqwatch-name.out" "$B/lqwatch-name.err" | tail -n 5)"; fi
      # the resolver itself on Windows: names asked of tests/dns/fakedns.js over UDP (and TCP when
      # truncated), NXDOMAIN named
      if x86_64-w64-mingw32-gcc $WARN tests/dns/win_resolve.c -o "$B/win_resolve.exe" $LIBS >"$B/win_resolve.log" 2>&1; then
        dport=$((20000 + RANDOM % 20000)); : >"$B/wdns.log"
        node tests/dns/fakedns.js "$dport" "$B/wdns.log" >"$B/wdns.out" 2>&1 &
        dpid=$!
        for _ in $(seq 50); do grep -q READY "$B/wdns.out" 2>/dev/null && break; sleep 0.1; done
        for name in he trunc; do
          if timeout 60 "$WINE" "$B/win_resolve.exe" "ws://$name.test:$port/parse" "127.0.0.1:$dport" >"$B/wr-$name.out" 2>&1 &&
             grep -q "\"name\":\"$name.test\"" "$B/wdns.log"; then
            ok "win: the built-in resolver: $name.test from the nameserver, then OPEN ($(head -n 1 "$B/wr-$name.out"))"
          else bad "win: the built-in resolver, $name.test: $(tail -n 3 "$B/wr-$name.out")"; fi
        done
        if grep -q '"proto":"tcp","name":"trunc.test"' "$B/wdns.log"; then ok "win: a truncated answer is asked again over TCP"
        else bad "win: trunc.test was never asked over TCP"; fi
        if ! timeout 60 "$WINE" "$B/win_resolve.exe" "ws://nx.test:$port/parse" "127.0.0.1:$dport" >"$B/wr-nx.out" 2>&1 &&
           grep -q "cannot resolve nx.test: no such host" "$B/wr-nx.out"; then ok "win: NXDOMAIN: cannot resolve nx.test: no such host"
        else bad "win: NXDOMAIN: $(tail -n 3 "$B/wr-nx.out")"; fi
        kill "$dpid" 2>/dev/null; wait "$dpid" 2>/dev/null
      else bad "win: win_resolve.exe does not build: $(head -n 5 "$B/win_resolve.log")"; fi
      # The Schannel backend: wine's Schannel runs over the host's GnuTLS (libwine only recommends it).
      if ! ldconfig -p 2>/dev/null | grep -q 'libgnutls\.so\.30'; then
        skp "win: Schannel (LQ_USE_SCHANNEL): wine's Schannel needs the host's GnuTLS (libgnutls30)"
      elif WINE="$WINE" timeout 500 bash tests/tls/run-schannel.sh "$st" "$B" >"$B/schannel.out" 2>&1; then
        ok "win: Schannel (LQ_USE_SCHANNEL): $(tail -n 1 "$B/schannel.out") (certificate cases, pins, wss:// and https:// events)"
      else bad "win: Schannel (LQ_USE_SCHANNEL): $(grep -E '^FAIL' "$B/schannel.out" | head -n 5; tail -n 1 "$B/schannel.out")"; fi
      bash tests/server/lqserver.sh stop "$st" >/dev/null 2>&1
    else bad "win: cannot start the Parse Server: $(tail -n 5 "$B/server.log")"; fi
  else bad "win: lqwatch.exe does not build: $(head -n 5 "$B/lqwatch.log")"; fi
else skp "mingw-w64 or wine missing (gcc-mingw-w64-x86-64, wine64)"; fi

echo "portability: $pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
