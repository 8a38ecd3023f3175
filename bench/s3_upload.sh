#!/usr/bin/env bash
# S3 upload throughput (issue 7, for `make bench`): Nebula writing Parquet (csv -> s3, snappy) to
# the local signature-checking S3 server with max_concurrency 1, 4 and 16, beside the same pipeline
# to a local file (no network) and curl -T (SigV4, one PUT) of the same Parquet file.
# Environment: BENCH_S3_ROWS (default 25000000 users rows, 445 MiB of snappy Parquet), BENCH_RUNS (3),
# BENCH_S3_PART (part_size, default 16MiB). Prints markdown rows; appends them to
# bench/results/latest.md when it exists.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
NEBULA=${NEBULA:-$ROOT/bin/nebula}
GEN=${GEN:-$ROOT/build/bin/nb-gen}
ROWS=${BENCH_S3_ROWS:-25000000}
RUNS=${BENCH_RUNS:-3}
PART=${BENCH_S3_PART:-16MiB}
W=$(mktemp -d /tmp/nebula-bench-s3.XXXXXX)
S3ENV=$("$ROOT/scripts/services/s3.sh" start bench) || { echo "bench s3: no S3 server (npm tools missing?)"; exit 0; }
eval "$S3ENV"
trap '"$ROOT/scripts/services/s3.sh" stop "$NB_S3_DIR"; rm -rf "$W"' EXIT

"$GEN" users "$ROWS" csv > "$W/users.csv"
"$NEBULA" pipeline csv parquet --source-path "$W/users.csv" --dest-path "$W/users.parquet" --progress never \
  --log-level warn --dest-opt compression=snappy
PQ_BYTES=$(stat -c %s "$W/users.parquet")

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
TCK=$(getconf CLK_TCK)
# CPU seconds: of this shell's finished children (utime+stime of waited children), and of the server.
children_cpu() { awk -v t="$TCK" '{ printf "%.2f", ($16 + $17) / t }' "/proc/$1/stat"; }
server_cpu() { awk -v t="$TCK" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$NB_S3_PID/stat"; }
timeit() {   # timeit cmd... -> "wall tool_cpu server_cpu": medians over RUNS
  local t=() c=() sv=() me=$BASHPID
  for ((r = 0; r < RUNS; r++)); do
    local s e c0 c1 s0 s1
    c0=$(children_cpu "$me"); s0=$(server_cpu)
    s=$(date +%s.%N)
    "$@" > "$W/out.txt" 2>&1 || { echo "FAILED: $* $(tail -3 "$W/out.txt")" >&2; echo "0 0 0"; return; }
    e=$(date +%s.%N)
    c1=$(children_cpu "$me"); s1=$(server_cpu)
    t+=("$(awk -v a="$s" -v b="$e" 'BEGIN { printf "%.3f", b - a }')")
    c+=("$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }')")
    sv+=("$(awk -v a="$s0" -v b="$s1" 'BEGIN { printf "%.2f", b - a }')")
  done
  echo "$(median "${t[@]}") $(median "${c[@]}") $(median "${sv[@]}")"
}
n=0
s3_run() {   # s3_run CONCURRENCY
  n=$((n + 1))
  cat > "$W/p.yaml" <<Y
name: bench-s3
source: { type: csv, path: $W/users.csv }
destination:
  type: s3
  bucket: bench
  endpoint: http://127.0.0.1:$S3PORT
  path_style: true
  access_key_id: S3RVER
  secret_access_key: S3RVER
  path: "run$n-$RANDOM-{seq}/users.parquet"
  compression: snappy
  part_size: $PART
  max_concurrency: $1
Y
  "$NEBULA" run -c "$W/p.yaml" --progress never --log-level warn
}
local_run() { "$NEBULA" pipeline csv parquet --source-path "$W/users.csv" --dest-path "$W/l-$RANDOM.parquet" --progress never --log-level warn --dest-opt compression=snappy; }
curl_run() {
  curl -sf -o /dev/null --aws-sigv4 "aws:amz:us-east-1:s3" --user S3RVER:S3RVER -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
    -T "$W/users.parquet" "http://127.0.0.1:$S3PORT/bench/curl-$RANDOM.parquet"
}

rows=()
# A row: wall, MiB/s, the tool's and the S3 server's CPU seconds, and the CPU floor on this
# machine's cores ((tool + server CPU) / cores): a wall time near it means the upload overlaps the
# encoding and the two processes are simply out of CPU, not waiting on each other.
CORES=$(nproc)
row() {   # row TOOL "wall tool_cpu server_cpu"
  local w c sv
  read -r w c sv <<<"$2"
  rows+=("$(printf '| s3 upload (%s rows, %.0f MiB parquet) | %s | %s | %s | %s | %s | %s |' "$ROWS" \
    "$(awk -v b="$PQ_BYTES" 'BEGIN{print b/1048576}')" "$1" "$w" \
    "$(awk -v b="$PQ_BYTES" -v w="$w" 'BEGIN { printf "%.1f", (w > 0 ? b / 1048576 / w : 0) }')" "$c" "$sv" \
    "$(awk -v a="$c" -v b="$sv" -v n="$CORES" 'BEGIN { printf "%.2f", (a + b) / n }')")")
  echo "${rows[-1]}"
}
HEAD="| case | tool | wall s | MiB/s of parquet | tool CPU s | S3 server CPU s | CPU floor s |"
SEP="|---|---|---:|---:|---:|---:|---:|"
echo "$HEAD"; echo "$SEP"
row "nebula csv -> local parquet (no network)" "$(timeit local_run)"
for c in 1 4 16; do row "nebula csv -> s3 parquet, max_concurrency $c" "$(timeit s3_run "$c")"; done
row "curl -T of the parquet file (one PUT)" "$(timeit curl_run)"
if [ -z "${BENCH_S3_NO_APPEND:-}" ] && [ -f "$ROOT/bench/results/latest.md" ]; then
  { echo; echo "$HEAD"; echo "$SEP"; printf '%s\n' "${rows[@]}"; } >> "$ROOT/bench/results/latest.md"
fi
