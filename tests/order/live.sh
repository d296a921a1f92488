#!/usr/bin/env bash
# The order of a live view against the real server: starts a Parse Server of its own
# (tests/server/lqserver.sh, PostgreSQL made with --locale=C.UTF-8), fills class OrderCheck with
# varied values (live.js), asks for many `order` parameters and checks that lq__order_parse and
# lq__order_cmp agree with every answer (check.c). Stops its server whatever happens.
# Usage: tests/order/live.sh [BUILD_DIR]   (CC may override the compiler; about 15 s)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
out="${1:-build}/order"
mkdir -p "$out"
CC="${CC:-cc}"
WARN="-Wall -Wextra -pedantic -Wshadow -Wconversion -Wsign-conversion -Wstrict-prototypes -Wmissing-prototypes -Wundef -Werror"
SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"

$CC -std=c99 $WARN -g -O1 $SAN tests/order/check.c -o "$out/check"

state="$(mktemp -d "${TMPDIR:-/tmp}/lqs-order.XXXXXX")"
stop() { bash tests/server/lqserver.sh stop "$state" >/dev/null 2>&1 || true; rm -rf "$state"; }
trap stop EXIT
trap 'exit 1' INT TERM
timeout 180 bash tests/server/lqserver.sh start "$state" >/dev/null
timeout 180 node tests/order/live.js "$state/env" "$out/results.json"
timeout 60 "$out/check" "$out/results.json"
