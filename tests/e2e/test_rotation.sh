#!/usr/bin/env bash
# File rotation for the local file destinations (rotate_rows / rotate_bytes / rotate_interval):
# one file per rotation named with {seq} (appended before the extension when the template lacks
# it), each file complete on its own (CSV header repeated, JSON array closed, Parquet footer), and
# a run killed with -9 mid-way then resumed with the same state writes every row exactly once.
source "$(dirname "$0")/lib.sh"
READ="$NB_ROOT/tests/tools/parquet_read.mjs"

nb spec csv; expect_rc 0 "spec csv"
expect_out_contains "rotate_rows"; expect_out_contains "rotate_bytes"; expect_out_contains "rotate_interval"
nb spec parquet; expect_out_contains "rotate_rows"

make_users_csv 5000 users.csv
nb pipeline csv csv --source-path users.csv --dest-path clean.csv; expect_rc 0 "clean csv"
nb pipeline csv json --source-path users.csv --dest-path clean.ndjson --format lines; expect_rc 0 "clean ndjson"

# Every checkpoint (flush-interval 0) after a 500-row batch: rotation at exactly 1000 rows.
# No {seq} in the template: "-{seq}" goes before the extension.
nb pipeline csv csv --source-path users.csv --dest-path "rot/{stream}.csv" --dest-opt rotate_rows=1000 \
  --batch-size 500 --flush-interval 0ms
expect_rc 0 "csv rotate_rows"
expect_eq "$(ls rot | tr '\n' ' ')" "users-00000.csv users-00001.csv users-00002.csv users-00003.csv users-00004.csv " "rotated csv names"
head -1 clean.csv > hdr.txt
for f in rot/*.csv; do
  expect_file_eq <(head -1 "$f") hdr.txt
  expect_eq "$(($(wc -l < "$f") - 1))" "1000" "rows in $f"
done
# Header once + every body in order == the unrotated output.
{ cat hdr.txt; for f in rot/*.csv; do tail -n +2 "$f"; done; } > joined.csv
expect_file_eq joined.csv clean.csv
ls rot | grep -q nebula-partial && fail "partial file left" || pass

# At the default flush_interval (10 s) the destination asks for the checkpoint itself when a limit
# is reached, so the files are as exact (to the batch) as with a checkpoint after every batch.
nb pipeline csv csv --source-path users.csv --dest-path "rd/{stream}.csv" --dest-opt rotate_rows=1000 --batch-size 500
expect_rc 0 "csv rotate_rows, default flush_interval"
for f in rd/*.csv; do expect_eq "$(($(wc -l < "$f") - 1))" "1000" "rows in $f (default flush_interval)"; done
expect_eq "$(ls rd | wc -l)" "5" "files at the default flush_interval"

# JSON arrays: each file is a whole array on its own; an explicit {seq} is honoured.
nb pipeline csv json --source-path users.csv --dest-path "rj/part-{seq}-{stream}.json" --format array \
  --dest-opt rotate_rows=2000 --batch-size 1000 --flush-interval 0ms
expect_rc 0 "json rotate_rows"
expect_eq "$(ls rj | tr '\n' ' ')" "part-00000-users.json part-00001-users.json part-00002-users.json " "json names"
got=$(python3 -c 'import json,sys; print(" ".join(str(len(json.load(open(f)))) for f in sys.argv[1:]))' rj/*.json)
expect_eq "$got" "2000 2000 1000" "each json file is a complete array"

# rotate_bytes: ~100 KiB of CSV per file; compressed files are each a whole gzip stream.
nb pipeline csv csv --source-path users.csv --dest-path "rb/{stream}.csv.gz" --dest-opt rotate_bytes=20KiB \
  --batch-size 250 --flush-interval 0ms
expect_rc 0 "csv rotate_bytes"
n=$(ls rb | wc -l)
[ "$n" -ge 3 ] && pass || fail "rotate_bytes made $n files"
total=0
for f in rb/*.csv.gz; do
  gzip -t "$f" || fail "gzip -t $f"
  total=$((total + $(gzip -dc "$f" | wc -l) - 1))
done
expect_eq "$total" "5000" "rows across rotate_bytes files"

# Parquet: each file has its footer (DuckDB reads each one alone), all rows once.
nb pipeline csv parquet --source-path users.csv --dest-path "rp/{stream}.parquet" --dest-opt rotate_rows=1500 \
  --batch-size 500 --flush-interval 0ms
expect_rc 0 "parquet rotate_rows"
expect_eq "$(ls rp | wc -l)" "4" "parquet files"
if [ -d "$NB_ROOT/tests/node_modules/@duckdb/node-api" ]; then
  counts=""
  for f in rp/*.parquet; do counts="$counts$(node "$READ" --sql "SELECT count(*) FROM FILE" "$f") "; done
  expect_eq "$counts" '["1500"] ["1500"] ["1500"] ["500"] ' "rows per parquet file"
  got=$(node "$READ" --sql "SELECT count(*), count(DISTINCT id), sum(id) FROM read_parquet(FILE)" 'rp/*.parquet')
  expect_eq "$got" '["5000","5000","12502500"]' "parquet rows across files"
fi

# Avro: each file has its own header and schema (avsc reads each alone).
nb pipeline csv avro --source-path users.csv --dest-path "ra/{stream}.avro" --dest-opt rotate_rows=2000 \
  --batch-size 1000 --flush-interval 0ms
expect_rc 0 "avro rotate_rows"
expect_eq "$(ls ra | tr '\n' ' ')" "users-00000.avro users-00001.avro users-00002.avro " "avro names"
if [ -d "$NB_ROOT/tests/node_modules/avsc" ]; then
  got=""
  for f in ra/*.avro; do got="$got$(node "$NB_ROOT/tests/tools/avro_read.mjs" "$f" | head -1 | grep -o '"rows":[0-9]*') "; done
  expect_eq "$got" '"rows":2000 "rows":2000 "rows":1000 ' "rows per avro file (avsc)"
fi

# rotate_interval: a file open longer than the interval is closed at the next checkpoint.
mkfifo slow.csv
( head -n 2001 users.csv; sleep 2.5; tail -n +2002 users.csv ) 1<>slow.csv 2>/dev/null &
feeder=$!
nb pipeline csv csv --source-path slow.csv --dest-path "ri/{stream}.csv" --dest-opt rotate_interval=1s \
  --batch-size 500 --flush-interval 0ms --source-opt stream=users --source-opt infer_rows=100
wait "$feeder" 2>/dev/null || true
expect_rc 0 "csv rotate_interval"
n=$(ls ri | wc -l)
[ "$n" -ge 2 ] && pass || fail "rotate_interval made $n files"
{ cat hdr.txt; for f in ri/*.csv; do tail -n +2 "$f"; done; } > joined_i.csv
expect_file_eq joined_i.csv clean.csv

# A bad value is a configuration error naming the key.
nb pipeline csv csv --source-path users.csv --dest-path "bad/{stream}.csv" --dest-opt rotate_interval=soon
expect_rc 2 "bad rotate_interval"; expect_err_contains "rotate_interval"

# kill -9 in the middle of a rotated run, then a rerun with the same state: every row once.
# The FIFO is fed 3000 rows and held, so the kill lands after some files were completed (batch
# sizes follow what the FIFO delivers, so files hold 1000 rows or a little more).
killed_run() {   # killed_run <dest path> <format> <state text to wait for>
  local dest=$1 fmt=$2 want=$3
  rm -rf kr st.json in.csv
  mkfifo in.csv
  ( head -n 3001 users.csv; sleep 20 ) 1<>in.csv 2>/dev/null &   # read-write: never blocks in open()
  local feeder=$!
  "$NEBULA" pipeline csv "$fmt" --source-path in.csv --dest-path "$dest" --source-opt stream=users \
    --source-opt infer_rows=100 --dest-opt rotate_rows=1000 --batch-size 500 --flush-interval 0ms --state st.json \
    >"$T/out" 2>"$T/err" &
  local pid=$!
  for _ in $(seq 1 200); do grep -qF "$want" st.json 2>/dev/null && break; sleep 0.05; done
  grep -qF "$want" st.json && pass || fail "$fmt: no checkpoint with $want: $(cat st.json 2>/dev/null) $(cat "$T/err")"
  kill -KILL "$pid"; wait "$pid" 2>/dev/null || true
  kill $(pgrep -P "$feeder") "$feeder" 2>/dev/null || true; wait "$feeder" 2>/dev/null || true
  local seq; seq=$(grep -o '"seq":[0-9]*' st.json | cut -d: -f2)
  [ "${seq:-0}" -ge 2 ] && pass || fail "$fmt: state records $seq complete files: $(cat st.json)"
  expect_eq "$(ls kr | grep -vc nebula-partial || true)" "$seq" "$fmt: complete files before the kill = the state's seq"
  rm -f in.csv && cp users.csv in.csv
  nb pipeline csv "$fmt" --source-path in.csv --dest-path "$dest" --source-opt stream=users \
    --source-opt infer_rows=100 --dest-opt rotate_rows=1000 --batch-size 500 --flush-interval 0ms --state st.json
  expect_rc 0 "$fmt: resume after kill -9"
  ls kr | grep -q nebula-partial && fail "$fmt: partial left after resume" || pass
}
# CSV checkpoints mid-file too: the kill lands with all 3000 rows saved, the last file partial.
killed_run "kr/{stream}.csv" csv '"rows": 3000'
n=$(ls kr | wc -l)
[ "$n" -ge 4 ] && [ "$n" -le 5 ] && pass || fail "csv files after resume: $n"
{ cat hdr.txt; for f in kr/*.csv; do tail -n +2 "$f"; done; } > joined_k.csv
expect_file_eq joined_k.csv clean.csv

# Parquet is durable only per finished file: the state moves at rotations only.
killed_run "kr/{stream}.parquet" parquet '"seq":2'
n=$(ls kr | wc -l)
[ "$n" -ge 4 ] && [ "$n" -le 5 ] && pass || fail "parquet files after resume: $n"
if [ -d "$NB_ROOT/tests/node_modules/@duckdb/node-api" ]; then
  got=$(node "$READ" --sql "SELECT count(*), count(DISTINCT id), sum(id) FROM read_parquet(FILE)" 'kr/*.parquet')
  expect_eq "$got" '["5000","5000","12502500"]' "parquet rows after kill -9 and resume"
fi

finish
