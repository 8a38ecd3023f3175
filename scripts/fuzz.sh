#!/usr/bin/env bash
# `make fuzz`: runs every libFuzzer target built in BUILD/fuzz for FUZZ_SECONDS each (default 60),
# starting from its corpus in tests/fuzz/<module>/corpus/<target>/ (new finds go to a scratch dir,
# crashes to BUILD/fuzz/artifacts/). Add a reproducer to the corpus when you fix what it found.
set -euo pipefail
build=${1:-build-fuzz}
secs=${FUZZ_SECONDS:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$build/fuzz/artifacts" "$build/fuzz/new"
status=0
for bin in "$build"/fuzz/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  corpus=$(ls -d "$root"/tests/fuzz/*/corpus/"$name" 2>/dev/null | head -1)
  mkdir -p "$build/fuzz/new/$name"
  echo "== $name (${secs}s)"
  "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$build/fuzz/artifacts/$name-" \
    "$build/fuzz/new/$name" ${corpus:+"$corpus"} 2>&1 | grep -E "^#[0-9]+ +DONE|ERROR|SUMMARY|Done" || true
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
done
ls "$build/fuzz/artifacts" | grep -q . && { echo "fuzz: findings in $build/fuzz/artifacts"; status=1; }
exit $status
