#!/usr/bin/env bash
# The TLS build and the whole TLS suite again, against mbedTLS 3.6 (Debian 12 ships 2.28; Debian 13,
# Ubuntu 24.04 and most new systems ship 3.x, whose API differs: PSA init, TLS 1.3 tickets).
#
#   tests/tls/run-mbedtls3.sh BUILD_DIR
#
# Uses MBEDTLS3 (a prefix holding include/mbedtls and lib/<triplet>/libmbedtls.so) when set.
# Otherwise it fetches Debian 13's libmbedtls-dev 3.6 and its three libraries with apt-get download
# (a private package list under BUILD_DIR; nothing is installed) and unpacks them with dpkg -x.
# If that is not possible (no apt, no network) it says SKIP and exits 0. Then:
#   - livequery.h with LQ_USE_MBEDTLS compiles clean against 3.x as C99 (gcc, clang) and C++11;
#   - tests/tls/run.sh runs with a compiler wrapper that points at 3.x (its own Parse Server).
# Last line: "tls3: N passed, M failed" (or SKIP); exit status 1 on any failure.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
mkdir -p "$1"
B="$(cd "$1" && pwd)"
PASS=0 FAIL=0
ok() { echo "ok   $*"; PASS=$((PASS + 1)); }
bad() { echo "FAIL $*"; FAIL=$((FAIL + 1)); }
skip() { echo "tls3: SKIP ($*)"; exit 0; }

fetch() {  # -> prefix on stdout
  local apt=(-o "Dir::Etc::SourceList=$B/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
             -o "Dir::State::Lists=$B/apt/lists" -o "Dir::Cache=$B/apt/cache" -o Debug::NoLocking=1)
  local v
  command -v apt-get >/dev/null && command -v dpkg >/dev/null || return 1
  [[ "$(dpkg --print-architecture)" == amd64 ]] || return 1
  mkdir -p "$B/apt/lists/partial" "$B/apt/cache/archives/partial" "$B/debs"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" \
    >"$B/apt/sources.list"
  timeout 300 apt-get "${apt[@]}" -qq update >>"$B/fetch.log" 2>&1 || return 1
  v="$(apt-cache "${apt[@]}" show libmbedtls-dev 2>>"$B/fetch.log" | awk '/^Version: 3\./ {print $2; exit}')"
  [[ -n "$v" ]] || return 1
  (cd "$B/debs" && timeout 300 apt-get "${apt[@]}" -qq download "libmbedtls-dev=$v" \
     $(apt-cache "${apt[@]}" show "libmbedtls-dev=$v" | sed -n 's/^Depends: //p' | tr ',' '\n' |
       sed -n 's/^ *\(libmbed[a-z0-9-]*\) (= \(.*\))$/\1=\2/p')) >>"$B/fetch.log" 2>&1 || return 1
  rm -rf "$B/pkg"
  for d in "$B"/debs/*.deb; do dpkg -x "$d" "$B/pkg" || return 1; done
  echo "$B/pkg/usr"
}

P="${MBEDTLS3:-}"
if [[ -z "$P" ]]; then
  if [[ -f "$B/pkg/usr/include/mbedtls/build_info.h" ]]; then P="$B/pkg/usr"
  else P="$(fetch)" || skip "cannot fetch Debian 13's libmbedtls-dev; see $B/fetch.log"; fi
fi
[[ -f "$P/include/mbedtls/build_info.h" ]] || skip "no mbedTLS 3.x headers under $P"
LIB="$(dirname "$(find "$P/lib" -name 'libmbedtls.so' | head -n 1)")"
[[ -d "$LIB" ]] || skip "no libmbedtls.so under $P/lib"
VERSION="$(sed -n 's/^#define MBEDTLS_VERSION_STRING *"\(.*\)"/\1/p' "$P/include/mbedtls/build_info.h")"
echo "== mbedTLS $VERSION from $P"

CCW="$B/cc"
cat >"$CCW" <<WRAP
#!/bin/sh
exec ${CC:-cc} -I$P/include "\$@" -L$LIB -Wl,-rpath,$LIB
WRAP
chmod +x "$CCW"

WARN=(-Wall -Wextra -pedantic -Wshadow -Wconversion -Wsign-conversion -Wundef -Werror)
printf '#define LQ_USE_MBEDTLS\n#define LIVEQUERY_IMPLEMENTATION\n#include "livequery.h"\n' >"$B/unit.c"
for cc in "${CC:-cc} -std=c99 -Wstrict-prototypes -Wmissing-prototypes" "clang -std=c99 -Wstrict-prototypes -Wmissing-prototypes" \
          "${CXX:-g++} -std=c++11 -x c++"; do
  command -v "${cc%% *}" >/dev/null || { echo "     (no ${cc%% *})"; continue; }
  # shellcheck disable=SC2086  # $cc is a command and its flags
  if $cc "${WARN[@]}" -I"$P/include" -I"$ROOT" -c "$B/unit.c" -o "$B/unit.o" 2>"$B/unit.err"; then
    ok "compiles clean against mbedTLS $VERSION: $cc"
  else
    bad "compiles clean against mbedTLS $VERSION: $cc"; head -n 20 "$B/unit.err"
  fi
done

echo "== the TLS suite against mbedTLS $VERSION"
if make -s -C "$ROOT" CC="$CCW" BUILD="$B/build" HAVE_MBEDTLS=1 tls >"$B/tls.log" 2>&1; then
  ok "tests/tls/run.sh: $(tail -n 1 "$B/tls.log")"
else
  bad "tests/tls/run.sh: $(tail -n 1 "$B/tls.log")"; grep -E '^FAIL' "$B/tls.log" | head -n 20
fi
if ldd "$B/build/test_tls" 2>/dev/null | grep "$LIB/libmbedtls" >/dev/null; then   # not -q: an early exit would SIGPIPE ldd, and pipefail fail the check
  ok "test_tls is linked to $LIB/libmbedtls.so"
else
  bad "test_tls did not link the mbedTLS 3.x libraries"
fi
echo "tls3: $PASS passed, $FAIL failed"
[[ $FAIL -eq 0 ]]
