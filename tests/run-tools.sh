#!/usr/bin/env bash
# The tool checks of `make test`:
#   1. valgrind (memcheck, --leak-check=full) on the unit tests built WITHOUT sanitizers
#      (-O1 -g, into BUILD_DIR/vg/): ASan and valgrind find different things (valgrind sees reads
#      of uninitialised memory; ASan sees overflows of stack and global arrays).
#   2. cppcheck on livequery.h in its three configurations (default, LQ_NO_SOCKETS,
#      LQ_USE_MBEDTLS when the headers exist).
#   3. clang-tidy (bugprone-*, cert-*, clang-analyzer-*) on the implementation, same three
#      configurations.
# Usage: bash tests/run-tools.sh [BUILD_DIR]      (default build); TOOLS_SKIP="valgrind tidy"
# skips parts. The ASan+UBSan build of all tests is the Makefile's own (CFLAGS_T).
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD=${1:-build}
CC=${CC:-cc}
SKIP=${TOOLS_SKIP:-}
status=0
mkdir -p "$BUILD/vg"

configs=("" "-DLQ_NO_SOCKETS")
[ -f /usr/include/mbedtls/ssl.h ] && configs+=("-DLQ_USE_MBEDTLS")
[ -f /usr/include/openssl/ssl.h ] && configs+=("-DLQ_USE_OPENSSL")

# ---- 1. valgrind ----------------------------------------------------------------------------------
# The unit tests: the core-level suites and the in-memory fault suites. The loopback conformance
# suite is timing-bound (close timeouts, 100 ms trickles) and runs under ASan/LSan instead.
if [[ " $SKIP " != *" valgrind "* ]]; then
  if ! command -v valgrind >/dev/null; then echo "tools: valgrind not installed"; exit 1; fi
  for t in test_json test_ws test_core test_versions test_handles test_order test_rest test_view test_proxy test_hostile test_alloc test_iofaults; do
    [ -f "tests/$t.c" ] || continue
    if ! $CC -std=c99 -O1 -g -I. "tests/$t.c" -o "$BUILD/vg/$t"; then
      echo "tools: $t does not build"; status=1; continue
    fi
    start=$(date +%s)
    if valgrind -q --error-exitcode=1 --leak-check=full --show-leak-kinds=definite,indirect,possible \
         --errors-for-leak-kinds=definite,indirect,possible --track-origins=yes \
         "$BUILD/vg/$t" > "$BUILD/vg/$t.log" 2>&1; then
      echo "tools: valgrind $t: clean ($(( $(date +%s) - start )) s) - $(tail -1 "$BUILD/vg/$t.log")"
    else
      echo "tools: valgrind $t: FAILED (see $BUILD/vg/$t.log)"
      grep -E '^==[0-9]+==' "$BUILD/vg/$t.log" | head -20
      status=1
    fi
  done
fi

# ---- 2. cppcheck ------------------------------------------------------------------------------------
# Checks: warning (bugs: null derefs, leaks, bad logic), portability, performance; style is left
# out (it argues with the house style: C99 declarations at block start, one-line ifs).
# Suppressed, and why:
#   incorrectLogicOperator   the non-finite test of lq_where values, `n > DBL_MAX || n < -DBL_MAX`,
#                            is true for +-infinity; cppcheck assumes a double cannot exceed DBL_MAX.
#   missingIncludeSystem     system headers are not given to cppcheck; it would only warn.
if [[ " $SKIP " != *" cppcheck "* ]]; then
  if ! command -v cppcheck >/dev/null; then echo "tools: cppcheck not installed"; exit 1; fi
  for cfg in "${configs[@]}"; do
    if cppcheck --enable=warning,portability,performance --std=c99 --error-exitcode=1 --inline-suppr \
         --suppress=incorrectLogicOperator:livequery.h --suppress=missingIncludeSystem \
         -DLIVEQUERY_IMPLEMENTATION -D__linux__ $cfg -I. --quiet livequery.h > "$BUILD/cppcheck.log" 2>&1; then
      echo "tools: cppcheck ${cfg:-(default)}: clean"
    else
      echo "tools: cppcheck ${cfg:-(default)}: FAILED"; cat "$BUILD/cppcheck.log"; status=1
    fi
  done
fi

# ---- 3. clang-tidy ------------------------------------------------------------------------------------
# bugprone-*, cert-*, clang-analyzer-* (the static analyzer: null derefs, leaks, use after free,
# uninitialised reads along paths), minus checks that only restate what -Wconversion already
# enforces or that flag the header's deliberate idioms:
#   bugprone-easily-swappable-parameters       API style, not a bug
#   bugprone-narrowing-conversions             -Wconversion -Werror already covers it
#   bugprone-implicit-widening-of-multiplication-result   4*i and 16u*1024u*1024u are small
#   bugprone-reserved-identifier, cert-dcl37-c, cert-dcl51-cpp   _POSIX_C_SOURCE is a feature-test
#                                              macro the header must define
#   bugprone-not-null-terminated-result        JSON escapes are copied into a buffer by length
#   cert-err33-c                               snprintf/memcpy results are not errors to check
#   bugprone-sizeof-expression                 flags sizeof *subs of the subscription table, an
#                                              array of pointers where the pointer size is meant
#                                              (clang-tidy 14 cannot turn off just that part)
if [[ " $SKIP " != *" tidy "* ]]; then
  TIDY=$(command -v clang-tidy-14 || command -v clang-tidy)
  if [ -z "$TIDY" ]; then echo "tools: clang-tidy not installed"; exit 1; fi
  printf '#define LIVEQUERY_IMPLEMENTATION\n#include "livequery.h"\n' > "$BUILD/tidy_main.c"
  checks='-*,bugprone-*,cert-*,clang-analyzer-*,-bugprone-easily-swappable-parameters,-bugprone-narrowing-conversions,-bugprone-implicit-widening-of-multiplication-result,-bugprone-reserved-identifier,-cert-dcl37-c,-cert-dcl51-cpp,-bugprone-not-null-terminated-result,-cert-err33-c,-bugprone-sizeof-expression'
  for cfg in "${configs[@]}"; do
    "$TIDY" --quiet -header-filter='.*livequery\.h' -checks="$checks" -warnings-as-errors='*' \
      "$BUILD/tidy_main.c" -- -std=c99 -I. $cfg > "$BUILD/tidy.log" 2>&1
    if grep -q 'warning:\|error:' "$BUILD/tidy.log"; then
      echo "tools: clang-tidy ${cfg:-(default)}: FAILED"; grep -E 'warning:|error:' "$BUILD/tidy.log"; status=1
    else
      echo "tools: clang-tidy ${cfg:-(default)}: clean"
    fi
  done
fi

[ $status -eq 0 ] && echo "tools: ok" || echo "tools: FAILED"
exit $status
