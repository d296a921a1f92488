#!/usr/bin/env bash
# The compile matrix: livequery.h built clean (warnings are errors) in every combination of
# LQ_NO_SOCKETS, LIVEQUERY_STATIC (two translation units with static copies, linked together),
# the TLS backend (none, LQ_USE_MBEDTLS, LQ_USE_OPENSSL) and one of LQ_NO_SIMD, LQ_NO_REST, as C99 (gcc, clang) and
# C++ (g++ C++11, clang++ C++17). LQ_NO_SOCKETS with a TLS backend must stop at its #error, and
# so must LQ_USE_SCHANNEL outside Windows; with mingw-w64 it builds as C99 and C++.
# Usage: tests/run-compile.sh BUILD_DIR   (CC, CLANG, CXX, CLANGXX may override the compilers)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="${1:-build}/compile"
mkdir -p "$out"
CC="${CC:-cc}" CLANG="${CLANG:-clang}" CXX="${CXX:-g++}" CLANGXX="${CLANGXX:-clang++}"
WARN="-Wall -Wextra -pedantic -Wshadow -Wconversion -Wsign-conversion -Wundef -Werror"
CWARN="$WARN -Wstrict-prototypes -Wmissing-prototypes"
have_mbedtls=0 have_openssl=0
[[ -f /usr/include/mbedtls/ssl.h || -n "${MBEDTLS_CFLAGS:-}" ]] && have_mbedtls=1
[[ -f /usr/include/openssl/ssl.h ]] && have_openssl=1

# One translation unit uses the core and, when there, the socket layer; the second (static builds)
# has its own copy of everything.
cat > "$out/main.c" <<'C'
#define LIVEQUERY_IMPLEMENTATION
#include "livequery.h"
#include <string.h>
int other(void);
static bool fake_random(void *buf, size_t len, void *user) { (void)user; memset(buf, 7, len); return true; }
/* wss:// as each build must take it: a core-only build lets its user bring TLS (it was refused
   with "TLS not compiled in" once); a socket build needs a TLS backend or a transport that does TLS. */
static int wss_create(void) {
    lq_desc d;
    lq_client *c = NULL;
    lq_result r, want = LQ_OK;
    memset(&d, 0, sizeof d);
    d.server_url = "wss://example.com/parse";
    d.application_id = "app";
    d.random = fake_random;
#if !defined(LQ_NO_SOCKETS) && !defined(LQ_USE_MBEDTLS) && !defined(LQ_USE_OPENSSL) && !defined(LQ_USE_SCHANNEL)
    want = LQ_ERR_TLS_UNAVAILABLE;
#endif
    r = lq_client_create(&d, &c);
    if (r == LQ_OK && !(lq_client_url(c)->tls && lq_core_io(c) == LQ_IO_NONE)) r = LQ_ERR_STATE;
    lq_client_destroy(c);
#if !defined(LQ_NO_SOCKETS) && !defined(LQ_USE_MBEDTLS) && !defined(LQ_USE_OPENSSL) && !defined(LQ_USE_SCHANNEL)
    if (r == want) {                                /* a transport with its own TLS is taken */
        lq_transport t;
        memset(&t, 0, sizeof t);
        t.tls = true;
        d.transport = &t;
        if (lq_client_create(&d, &c) != LQ_OK) r = LQ_ERR_STATE;
        lq_client_destroy(c);
    }
#endif
    return r == want ? 0 : 1;
}
int main(void) {
    lq_url u;
    int r = lq_url_parse("wss://x/parse", &u) == LQ_OK && u.tls ? 0 : 1;
    r += wss_create();
#ifndef LQ_NO_SOCKETS
    r += lq_step(NULL) == LQ_ERR_INVALID_ARG ? 0 : 1;
#endif
#ifndef LQ_NO_REST
    r += lq_find(NULL, NULL, NULL) == LQ_ERR_INVALID_ARG ? 0 : 1;
#endif
#ifdef LIVEQUERY_STATIC
    r += other();
#endif
    return r;
}
C
cat > "$out/second.c" <<'C'
#define LIVEQUERY_IMPLEMENTATION
#include "livequery.h"
int other(void);
int other(void) { return lq_result_str(LQ_OK)[0] == 'o' ? 0 : 1; }
C

compilers=("c|$CC -std=c99 $CWARN" "c|$CLANG -std=c99 $CWARN" "cxx|$CXX -x c++ -std=c++11 $WARN" "cxx|$CLANGXX -x c++ -std=c++17 $WARN")
built=0 refused=0 skipped=0 failed=0
for sockets in "" "-DLQ_NO_SOCKETS"; do
for static in "" "-DLIVEQUERY_STATIC"; do
for tls in "" "-DLQ_USE_MBEDTLS" "-DLQ_USE_OPENSSL"; do
for simd in "" "-DLQ_NO_SIMD" "-DLQ_NO_REST"; do
  flags="$sockets $static $tls $simd"
  name=$(echo "x$flags" | tr -d ' -' | tr 'A-Z' 'a-z')
  libs=""
  case "$tls" in
    -DLQ_USE_MBEDTLS) (( have_mbedtls )) || { skipped=$((skipped + 4)); continue; }; libs="-lmbedtls -lmbedx509 -lmbedcrypto" ;;
    -DLQ_USE_OPENSSL) (( have_openssl )) || { skipped=$((skipped + 4)); continue; }; libs="-lssl -lcrypto" ;;
  esac
  for entry in "${compilers[@]}"; do
    lang=${entry%%|*} cc=${entry#*|}
    tag="$name-$(echo "$cc" | cut -d' ' -f1 | tr -c 'a-z0-9+\n' '_')-$lang"
    srcs="$out/main.c"
    [[ -n "$static" ]] && srcs="$out/main.c $out/second.c"
    if [[ -n "$sockets" && -n "$tls" ]]; then
      if $cc $flags -I. ${MBEDTLS_CFLAGS:-} -c "$out/main.c" -o "$out/$tag.o" 2> "$out/$tag.err"; then
        echo "FAIL: LQ_NO_SOCKETS with a TLS backend compiled ($cc $flags)"; failed=$((failed + 1))
      elif grep -q "${tls#-D} needs the socket layer" "$out/$tag.err"; then
        refused=$((refused + 1))
      else
        echo "FAIL: $cc $flags: not the #error hint"; head -5 "$out/$tag.err"; failed=$((failed + 1))
      fi
      continue
    fi
    if $cc $flags -I. ${MBEDTLS_CFLAGS:-} $srcs -o "$out/$tag" ${MBEDTLS_LIBS:-} $libs > "$out/$tag.err" 2>&1 && "./$out/$tag"; then
      built=$((built + 1))
    else
      echo "FAIL: $cc $flags"; head -10 "$out/$tag.err"; failed=$((failed + 1))
    fi
  done
done; done; done; done
# Schannel: Windows only. Outside Windows it stops at its #error; with mingw-w64 it builds (and
# links) as C99 and C++, once and twice static (tests/run-portability.sh runs it under wine).
for entry in "c|$CC -std=c99 $CWARN" "cxx|$CXX -x c++ -std=c++11 $WARN"; do
  cc=${entry#*|}
  if $cc -DLQ_USE_SCHANNEL -I. -c "$out/main.c" -o "$out/schannel-host.o" 2> "$out/schannel-host.err"; then
    echo "FAIL: LQ_USE_SCHANNEL compiled outside Windows ($cc)"; failed=$((failed + 1))
  elif grep -q "LQ_USE_SCHANNEL is Windows' own TLS" "$out/schannel-host.err"; then refused=$((refused + 1))
  else echo "FAIL: $cc -DLQ_USE_SCHANNEL: not the #error hint"; head -5 "$out/schannel-host.err"; failed=$((failed + 1)); fi
done
wincc=()
command -v x86_64-w64-mingw32-gcc >/dev/null && wincc+=("c|x86_64-w64-mingw32-gcc -std=c99 $CWARN")
command -v x86_64-w64-mingw32-g++ >/dev/null && wincc+=("cxx|x86_64-w64-mingw32-g++ -x c++ -std=c++11 $WARN")
(( ${#wincc[@]} )) || skipped=$((skipped + 4))
for entry in "${wincc[@]}"; do
  lang=${entry%%|*} cc=${entry#*|}
  for static in "" "-DLIVEQUERY_STATIC"; do
    srcs="$out/main.c"
    [[ -n "$static" ]] && srcs="$out/main.c $out/second.c"
    if $cc -DLQ_USE_SCHANNEL $static -I. $srcs -o "$out/schannel-$lang${static:+-static}.exe" \
         -lsecur32 -lcrypt32 -lws2_32 -lbcrypt > "$out/schannel.err" 2>&1; then built=$((built + 1))
    else echo "FAIL: $cc -DLQ_USE_SCHANNEL $static"; head -10 "$out/schannel.err"; failed=$((failed + 1)); fi
  done
done
echo "compile matrix: $built built and ran, $refused refused as they must (LQ_NO_SOCKETS + a TLS backend, Schannel outside Windows), $skipped skipped (backend not installed); the mingw-w64 Schannel builds are linked, not run"
(( failed == 0 )) || { echo "compile matrix: $failed FAILED"; exit 1; }
echo "compile-check: ok"
