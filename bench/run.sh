#!/usr/bin/env bash
# `make bench`: Nebula beside the reference tools on the same machine in the same run.
# For each case: rows/s, MB/s of input, wall seconds, peak RSS and bytes of memory per record, the
# median of several runs after a warm-up, whole-process (GNU time). DuckDB's own COPY time (without
# node start-up) is what the ratio uses, which is the stricter comparison for Nebula.
# Environment: BENCH_SIZES="1000 10000 100000 1000000 10000000", BENCH_RUNS=3, BENCH_QUICK=1 (1K..1M),
# BENCH_ROWS (rows of the single-size cases, 1000000), BENCH_SERVICES=0 (skip databases and S3).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
NEBULA=${NEBULA:-$ROOT/bin/nebula}
GEN=${GEN:-$ROOT/build/bin/nb-gen}
DATA=${BENCH_DATA:-$ROOT/bench/data}
OUT=$ROOT/bench/out
RUNS=${BENCH_RUNS:-3}
SIZES=${BENCH_SIZES:-"1000 10000 100000 1000000 10000000"}
[ "${BENCH_QUICK:-0}" = 1 ] && SIZES="1000 10000 100000 1000000"
ONE_M=${BENCH_ROWS:-1000000}     # the size of the single-size cases (shapes, formats, workers)
mkdir -p "$DATA" "$OUT" "$ROOT/bench/results"

# Reference tools: install what is missing and say so.
need=()
command -v mlr >/dev/null || need+=(miller)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  echo "bench: installing reference tools: ${need[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 || echo "bench: could not install ${need[*]}" >&2
fi
HAVE_DUCKDB=0; [ -d "$ROOT/tests/node_modules/@duckdb/node-api" ] && HAVE_DUCKDB=1
HAVE_MLR=0; command -v mlr >/dev/null && HAVE_MLR=1
HAVE_PARQUET=0; "$NEBULA" list | grep -q '^parquet ' && HAVE_PARQUET=1

gen() {   # gen shape rows fmt -> path (parquet: the csv written by nebula, snappy)
  local f="$DATA/$1-$2.$3"
  if [ "$3" = parquet ]; then
    [ -s "$f" ] || "$NEBULA" pipeline csv parquet --source-path "$(gen "$1" "$2" csv)" --dest-path "$f" \
      --progress never --log-level warn --dest-opt compression=snappy >&2
  else
    [ -s "$f" ] || "$GEN" "$1" "$2" "$3" > "$f"
  fi
  echo "$f"
}

# Every tool writes a new file: the previous run's output is removed before each timed run, not by
# the tool inside it (replacing a large file costs the kernel ~50 ms of dropping its cached pages).
# Then `sync`: the dirty pages that the previous tool (or the data generator) left behind are
# written now, not by the kernel's flusher in the middle of the next tool's timed run (a 10M-row
# input generated just before made the first nebula runs 1.9 s instead of 1.6 s).
clear_outputs() { find "$OUT" -maxdepth 1 -type f ! -name '*.txt' -delete; sync; }

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# timed <P> <command...>: one timed run after clearing the outputs; appends its wall seconds, peak
# RSS (KiB) and inner time (the command's last line if it is a number, else the wall) to the
# caller's arrays P_W, P_R and P_I (FAILED when the command fails).
timed() {
  local -n tw=${1}_W tr=${1}_R ti=${1}_I
  shift
  clear_outputs
  local t0 t1 w m
  t0=$(date +%s%N)
  /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "${@}" > "$OUT/inner.txt" 2>"$OUT/err.txt" || { tw+=(FAILED); return 0; }
  t1=$(date +%s%N)
  read -r _ m < "$OUT/time.txt"
  w=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')   # GNU time rounds to 10 ms
  tw+=("$w"); tr+=("$m"); ti+=("$(tail -1 "$OUT/inner.txt" 2>/dev/null | grep -Eo '^[0-9.]+$' || echo "$w")")
}

# medians <P>: "wall maxrss_kb inner" medians of the caller's P_ arrays, or FAILED.
medians() {
  local -n mw=${1}_W mr=${1}_R mi=${1}_I
  case " ${mw[*]} " in *" FAILED "*) echo FAILED; return 0 ;; esac
  echo "$(median "${mw[@]}") $(median "${mr[@]}") $(median "${mi[@]}")"
}

# measure <command...>: prints "wall maxrss_kb inner" medians over RUNS (after one warm-up)
measure() {
  local M_W=() M_R=() M_I=()
  clear_outputs
  "${@}" > "$OUT/inner.txt" 2>"$OUT/err.txt" || { echo "FAILED"; cat "$OUT/err.txt" >&2; return 0; }
  for ((r = 0; r < RUNS; r++)); do timed M "${@}"; done
  medians M
}

results=$ROOT/bench/results/latest.md
{
  echo "# Benchmark results"
  echo
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r); $(date -u +%Y-%m-%d)."
  echo "Median of $RUNS runs after a warm-up; Nebula, the floor and DuckDB take turns run by run. MB/s = input MB / wall s. ratio = reference time / Nebula time (DuckDB: its COPY time without node start-up)."
  echo
  echo "| case | rows | tool | wall s | rows/s | MB/s | peak RSS MiB | bytes/record | ratio |"
  echo "|---|---:|---|---:|---:|---:|---:|---:|---:|"
} > "$results"

row() {   # row case rows tool wall rss_kb input_bytes ratio
  local rps mbs mib bpr
  rps=$(awk -v r="$2" -v w="$4" 'BEGIN { printf "%.0f", (w > 0 ? r / w : 0) }')
  mbs=$(awk -v b="$6" -v w="$4" 'BEGIN { printf "%.1f", (w > 0 ? b / 1e6 / w : 0) }')
  mib=$(awk -v k="$5" 'BEGIN { printf "%.1f", k / 1024 }')
  bpr=$(awk -v k="$5" -v r="$2" 'BEGIN { printf "%.0f", k * 1024 / r }')
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4" "$rps" "$mbs" "$mib" "$bpr" "$7" | tee -a "$results"
}

declare -A NEB_WALL NEB_MBS NEB_RSS DUCK_RATIO WORKERS_WALL   # by "case|rows", for the targets summary
run_case() {   # run_case name shape rows informat nebula-dest-type nebula-args duckdb-kind mlr-args
  local name=$1 shape=$2 rows=$3 infmt=$4 dtype=$5 nargs=$6 dkind=$7 margs=$8
  local input; input=$(gen "$shape" "$rows" "$infmt")
  local bytes; bytes=$(stat -c %s "$input")
  local ext=${dkind%%_*}; [ "$ext" = json_array ] && ext=json
  local src=csv; [ "$infmt" = ndjson ] && src=json; [ "$infmt" = parquet ] && src=parquet
  # Nebula, the floor and DuckDB take turns, run by run (after a warm-up of each), so a slow spell
  # of the machine (this VM's speed drifts by 20-30% over seconds) falls on all of them alike.
  # shellcheck disable=SC2206
  local ncmd=("$NEBULA" pipeline "$src" "$dtype" --source-path "$input" --dest-path "$OUT/nebula.out"
              --progress never --log-level warn $nargs)
  local fcmd=(bash -c "cat '$input' > '$OUT/floor.out'")
  local dcmd=(node "$ROOT/bench/duckdb_copy.mjs" "$input" "$OUT/duck.$ext" "$dkind")
  local duck=0; [ "$HAVE_DUCKDB" = 1 ] && [ -n "$dkind" ] && duck=1
  local N_W=() N_R=() N_I=() F_W=() F_R=() F_I=() D_W=() D_R=() D_I=() ns=0 ds=0
  clear_outputs
  "${ncmd[@]}" > /dev/null 2>"$OUT/err.txt" || { cat "$OUT/err.txt" >&2; N_W=(FAILED); }
  "${fcmd[@]}"
  [ "$duck" = 1 ] && { "${dcmd[@]}" > /dev/null 2>&1 || D_W=(FAILED); }
  for ((r = 0; r < RUNS; r++)); do
    timed N "${ncmd[@]}"; ns=$(stat -c %s "$OUT/nebula.out" 2>/dev/null || echo 0)
    timed F "${fcmd[@]}"
    [ "$duck" = 1 ] && { timed D "${dcmd[@]}"; ds=$(stat -c %s "$OUT/duck.$ext" 2>/dev/null || echo 0); }
  done
  local nw nr floor_w floor_r
  read -r nw nr _ < <(medians N)
  read -r floor_w floor_r _ < <(medians F)
  row "$name" "$rows" "nebula" "$nw" "$nr" "$bytes" "1.00"
  NEB_WALL["$name|$rows"]=$nw; NEB_MBS["$name|$rows"]=$(awk -v b="$bytes" -v w="$nw" 'BEGIN { printf "%.1f", b / 1e6 / w }')
  NEB_RSS["$name|$rows"]=$nr
  row "$name" "$rows" "cat (floor)" "$floor_w" "$floor_r" "$bytes" "$(awk -v a="$floor_w" -v b="$nw" 'BEGIN { printf "%.2f", a / b }')"
  if [ "$duck" = 1 ]; then
    local dw dr di
    read -r dw dr di < <(medians D)
    row "$name" "$rows" "duckdb (COPY $di s)" "$dw" "$dr" "$bytes" "$(awk -v a="$di" -v b="$nw" 'BEGIN { printf "%.2f", a / b }')"
    DUCK_RATIO["$name|$rows"]=$(awk -v a="$di" -v b="$nw" 'BEGIN { printf "%.2f", a / b }')
  fi
  if [ "$dtype" = parquet ] && [ "$ds" -gt 0 ]; then
    printf '| %s: file size | %s | nebula %s B, duckdb %s B | | | | | | %s |\n' "$name" "$rows" "$ns" "$ds" \
      "$(awk -v a="$ns" -v b="$ds" 'BEGIN { printf "%.3f", a / b }')" | tee -a "$results"
  fi
  if [ "$HAVE_MLR" = 1 ] && [ -n "$margs" ] && [ "$rows" -le 1000000 ]; then
    # shellcheck disable=SC2086
    read -r mw mr _ < <(measure bash -c "mlr $margs '$input' > '$OUT/mlr.out'")
    row "$name" "$rows" "miller" "$mw" "$mr" "$bytes" "$(awk -v a="$mw" -v b="$nw" 'BEGIN { printf "%.2f", a / b }')"
  fi
}

for n in $SIZES; do
  run_case "csv -> ndjson" users "$n" csv json "--format lines" json "--icsv --ojsonl cat"
done
run_case "csv -> json array" users "$ONE_M" csv json "--format array" json_array "--icsv --ojson cat"
run_case "ndjson -> csv" users "$ONE_M" ndjson csv "" csv "--ijsonl --ocsv cat"
for shape in narrow wide nasty; do
  run_case "csv -> ndjson ($shape)" "$shape" "$ONE_M" csv json "--format lines" json "--icsv --ojsonl cat"
done
if [ "$HAVE_PARQUET" = 1 ]; then
  run_case "parquet (snappy) -> ndjson" users "$ONE_M" parquet json "--format lines" json ""
  for n in "$ONE_M" $( [ "${BENCH_QUICK:-0}" = 1 ] || [ "$ONE_M" != 1000000 ] || echo 10000000 ); do
    run_case "csv -> parquet snappy" users "$n" csv parquet "--dest-opt compression=snappy" parquet_snappy ""
    run_case "csv -> parquet zstd" users "$n" csv parquet "--dest-opt compression=zstd" parquet_zstd ""
  done
fi
# Avro: DuckDB cannot write Avro offline (its avro extension is not bundled), so Nebula and the floor.
if "$NEBULA" list | grep -q '^avro '; then
  run_case "csv -> avro snappy" users "$ONE_M" csv avro "--dest-opt codec=snappy" "" ""
  run_case "csv -> avro deflate" users "$ONE_M" csv avro "--dest-opt codec=deflate" "" ""
fi
# Scaling: the second core.
input=$(gen users "$ONE_M" csv)
for w in 1 2; do
  read -r ww wr _ < <(measure "$NEBULA" pipeline csv json --source-path "$input" --dest-path "$OUT/w.out" --format lines \
      --progress never --log-level warn --workers "$w")
  row "csv -> ndjson --workers $w" "$ONE_M" nebula "$ww" "$wr" "$(stat -c %s "$input")" "-"
  WORKERS_WALL[$w]=$ww
done

# Issue #3's targets, from the rows above.
{
  echo
  echo "Targets (issue #3), this run:"
  echo
  for n in 1000000 10000000; do
    k="csv -> ndjson|$n"
    [ -n "${DUCK_RATIO[$k]:-}" ] && echo "- csv -> ndjson, $n rows: $(printf '%.2f' "${DUCK_RATIO[$k]}")x DuckDB's COPY (target: at least 6x)"
  done
  r1=${NEB_RSS["csv -> ndjson|1000000"]:-}; r10=${NEB_RSS["csv -> ndjson|10000000"]:-}
  [ -n "$r1" ] && [ -n "$r10" ] && echo "- peak RSS: $(awk -v k="$r1" 'BEGIN { printf "%.1f", k / 1024 }') MiB at 1M rows, $(awk -v k="$r10" 'BEGIN { printf "%.1f", k / 1024 }') MiB at 10M ($(awk -v a="$r10" -v b="$r1" 'BEGIN { printf "%+.0f%%", (a / b - 1) * 100 }'); target: at most 64 MiB, within 10%)"
  u=${NEB_MBS["csv -> ndjson|$ONE_M"]:-}
  for shape in nasty wide; do
    m=${NEB_MBS["csv -> ndjson ($shape)|$ONE_M"]:-}
    [ -n "$u" ] && [ -n "$m" ] && echo "- $shape: $m MB/s against users' $u MB/s, $(awk -v a="$u" -v b="$m" 'BEGIN { printf "%.2f", a / b }')x apart (target: within 2x)"
  done
  [ -n "${WORKERS_WALL[1]:-}" ] && echo "- --workers 2 against 1: $(awk -v a="${WORKERS_WALL[1]}" -v b="${WORKERS_WALL[2]}" 'BEGIN { printf "%.2f", a / b }')x faster"
} | tee -a "$results"
# Databases and object stores (PostgreSQL, MariaDB, S3) beside psql, pg_dump, mariadb and curl.
if [ "${BENCH_SERVICES:-1}" = 1 ] && [ -x "$ROOT/bench/services.sh" ]; then
  BENCH_RESULTS=$results NEBULA=$NEBULA bash "$ROOT/bench/services.sh" || echo "bench: services section failed" >&2
fi
echo
echo "results written to bench/results/latest.md"
