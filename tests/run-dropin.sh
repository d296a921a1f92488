#!/usr/bin/env bash
# Drop-in checks: make install into a scratch prefix, then build a program against it with
# pkg-config, with CMake find_package(livequery), and with add_subdirectory() of the source tree;
# and compile every C snippet of README.md. Usage: tests/run-dropin.sh BUILD_DIR
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
B="$ROOT/${1:-build}/dropin"
rm -rf "$B"; mkdir -p "$B"
pass=0 fail=0
ok()  { echo "  ok    $*"; pass=$((pass + 1)); }
bad() { echo "  FAIL  $*"; fail=$((fail + 1)); }
run() { local what=$1; shift; if "$@" >"$B/last.log" 2>&1; then ok "$what"; else bad "$what"; tail -n 8 "$B/last.log"; fi; }

cat >"$B/app.c" <<'C'
#define LIVEQUERY_IMPLEMENTATION
#include <livequery.h>
#include <stdio.h>
int main(void) {
    lq_url u;
    if (lq_url_parse("https://example.com/parse", &u) != LQ_OK || !u.tls || u.port != 443) return 1;
    printf("livequery %d.%d.%d\n", LQ_VERSION_MAJOR, LQ_VERSION_MINOR, LQ_VERSION_PATCH);
    return 0;
}
C

echo "== make install"
run "make install PREFIX=$B/prefix" make -s install PREFIX="$B/prefix" BUILD="${1:-build}"
run "installed files" test -f "$B/prefix/include/livequery.h" -a -x "$B/prefix/bin/lqwatch" \
  -a -f "$B/prefix/lib/pkgconfig/livequery.pc" -a -f "$B/prefix/lib/cmake/livequery/livequery-config.cmake"
run "installed lqwatch runs (--help)" "$B/prefix/bin/lqwatch" --help

echo "== pkg-config"
if command -v pkg-config >/dev/null; then
  run "cc \$(pkg-config --cflags livequery)" bash -c "cc -std=c99 -Wall -Werror \$(PKG_CONFIG_PATH='$B/prefix/lib/pkgconfig' pkg-config --cflags livequery) '$B/app.c' -o '$B/app_pc' && '$B/app_pc'"
else bad "pkg-config missing"; fi

echo "== CMake"
if command -v cmake >/dev/null; then
  mkdir -p "$B/fp" "$B/sub"
  cat >"$B/fp/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.13)
project(app C)
find_package(livequery 0.1 REQUIRED)
add_executable(app $B/app.c)
target_link_libraries(app PRIVATE livequery::livequery)
CM
  cat >"$B/sub/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.13)
project(app C)
add_subdirectory($ROOT livequery)
add_executable(app $B/app.c)
target_link_libraries(app PRIVATE livequery::livequery)
CM
  run "find_package(livequery)" bash -c "cmake -S '$B/fp' -B '$B/fp/b' -DCMAKE_PREFIX_PATH='$B/prefix' && cmake --build '$B/fp/b' && '$B/fp/b/app'"
  run "add_subdirectory(livequery)" bash -c "cmake -S '$B/sub' -B '$B/sub/b' && cmake --build '$B/sub/b' && '$B/sub/b/app'"
  if [[ -f /usr/include/openssl/ssl.h ]]; then
    mkdir -p "$B/fpo"
    sed 's/livequery::livequery)/livequery::livequery_openssl)/' "$B/fp/CMakeLists.txt" >"$B/fpo/CMakeLists.txt"
    run "find_package(livequery) with livequery::livequery_openssl" bash -c \
      "cmake -S '$B/fpo' -B '$B/fpo/b' -DCMAKE_PREFIX_PATH='$B/prefix' && cmake --build '$B/fpo/b' && '$B/fpo/b/app'"
  fi
else bad "cmake missing"; fi

echo "== README snippets"
# Each \`\`\`c block: a whole program (with main) is built as is; a fragment goes into a function
# that has a client c at hand.
awk -v dir="$B" '
  /^```c$/ { n++; f = dir "/snippet" n ".c"; inblk = 1; next }
  /^```/ && inblk { inblk = 0; close(f); next }
  inblk { print > f }' README.md
for f in "$B"/snippet*.c; do
  [ -e "$f" ] || { bad "no C snippets found in README.md"; break; }
  if grep -q "int main" "$f"; then src="$f"
  else
    src="${f%.c}_wrapped.c"
    { echo '#define LIVEQUERY_IMPLEMENTATION'; echo '#include "livequery.h"'; echo '#include <poll.h>'
      echo 'void snippet(lq_client *c);'; echo 'void snippet(lq_client *c) {'; echo '(void)c;'; cat "$f"; echo '}'
      echo 'int main(void) { return 0; }'; } >"$src"
  fi
  run "README snippet $(basename "$f")" cc -std=c99 -Wall -Wextra -pedantic -Werror -Wno-unused-variable -I"$ROOT" "$src" -o "${f%.c}"
  # a whole program is also C++ without a warning (LQ_ZERO, not {0}, for the descs)
  if [[ "$src" == "$f" ]] && command -v "${CXX:-g++}" >/dev/null; then
    run "README snippet $(basename "$f") as C++" "${CXX:-g++}" -x c++ -std=c++11 -Wall -Wextra -pedantic -Werror \
      -Wno-unused-variable -I"$ROOT" -fsyntax-only "$src"
  fi
done

echo "== examples as C++"
for f in "$ROOT"/examples/*.c; do
  command -v "${CXX:-g++}" >/dev/null || break
  extra=()
  # the leaderboard window includes SDL2 and SDL2_ttf: only where pkg-config finds them
  if [[ "$(basename "$f")" == leaderboard.c ]]; then
    if ! pkg-config --exists sdl2 SDL2_ttf 2>/dev/null; then
      echo "  SKIP  leaderboard.c as C++ (no SDL2 and SDL2_ttf: libsdl2-dev libsdl2-ttf-dev)"; continue
    fi
    read -r -a extra <<<"$(pkg-config --cflags sdl2 SDL2_ttf)"
  fi
  run "$(basename "$f") as C++ (-Wall -Wextra)" "${CXX:-g++}" -x c++ -std=c++11 -Wall -Wextra -pedantic -Werror \
    -I"$ROOT" "${extra[@]}" -fsyntax-only "$f"
done

echo "dropin: $pass passed, $fail failed"
[ "$fail" = 0 ]
