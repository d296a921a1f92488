#!/usr/bin/env bash
# Builds the libFuzzer targets, replays the committed seeds and every kept crash input
# (fuzz/regressions/<target>/), then fuzzes each target for SECONDS (default 10).
#   bash fuzz/run.sh [SECONDS]            BUILD (default build) and CLANG (default clang) from env
#   bash fuzz/run.sh --regress            only build and replay seeds and regressions
# Prints, per target, the executions and the coverage (libFuzzer's final "cov:"), and fails if a
# target crashes, leaks or breaks one of its invariants. A new crash input is left in
# $BUILD/fuzz/crashes/<target>/: copy it to fuzz/regressions/<target>/ once understood.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECONDS_EACH=10
REGRESS_ONLY=0
case "${1:-}" in
  --regress) REGRESS_ONLY=1 ;;
  '') ;;
  *) SECONDS_EACH=$1 ;;
esac
BUILD=${BUILD:-build}
CLANG=${CLANG:-clang}
OUT=$BUILD/fuzz
TARGETS="fuzz_handshake fuzz_frames fuzz_json fuzz_core fuzz_order fuzz_rest"
FLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I."
mkdir -p "$OUT"
status=0
summary=""

for t in $TARGETS; do
  if ! $CLANG $FLAGS "fuzz/$t.c" -o "$OUT/$t"; then
    echo "fuzz: $t does not build"; exit 1
  fi
done

for t in $TARGETS; do
  # 1. replay: the committed seeds and the kept crash inputs, once each
  inputs=()
  for d in "fuzz/corpus/$t" "fuzz/regressions/$t"; do
    [ -d "$d" ] && while IFS= read -r f; do inputs+=("$f"); done < <(find "$d" -type f ! -name '*.md' | sort)
  done
  if [ ${#inputs[@]} -gt 0 ]; then
    if ! "$OUT/$t" -runs=1 "${inputs[@]}" > "$OUT/$t.replay.log" 2>&1; then
      echo "fuzz: $t FAILS on a committed input (see $OUT/$t.replay.log):"
      grep -E 'Running: |invariant broken|ERROR: |SUMMARY' "$OUT/$t.replay.log" | tail -5
      status=1
    else
      echo "fuzz: $t replays ${#inputs[@]} committed inputs: ok"
    fi
  fi
  [ $REGRESS_ONLY = 1 ] && continue

  # 2. fuzz for a bounded time on a scratch copy of the seeds
  work="$OUT/corpus-$t"
  crashes="$OUT/crashes/$t"
  mkdir -p "$work" "$crashes"
  [ -d "fuzz/corpus/$t" ] && cp -n fuzz/corpus/$t/* "$work/" 2>/dev/null
  log="$OUT/$t.log"
  "$OUT/$t" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -max_len=200000 \
      -print_final_stats=1 -artifact_prefix="$crashes/" "$work" > "$log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  cov=$(grep -E '^#[0-9]+' "$log" | grep -o 'cov: [0-9]*' | tail -1 | grep -o '[0-9]*')
  ft=$(grep -E '^#[0-9]+' "$log" | grep -o 'ft: [0-9]*' | tail -1 | grep -o '[0-9]*')
  line="$t: ${execs:-?} executions in ${SECONDS_EACH}s, cov: ${cov:-?} ft: ${ft:-?}"
  if [ $rc -ne 0 ]; then
    line="$line  CRASH (exit $rc, input in $crashes/, log $log)"
    grep -E 'invariant broken|ERROR: |SUMMARY' "$log" | head -3
    status=1
  fi
  echo "fuzz: $line"
  summary="$summary$line"$'\n'
done

[ $REGRESS_ONLY = 1 ] || printf '%s' "$summary" > "$OUT/summary.txt"
if [ $status -ne 0 ]; then echo "fuzz: FAILED"; else echo "fuzz: ok"; fi
exit $status
