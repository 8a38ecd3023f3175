#!/usr/bin/env bash
# Checkpoints and resume (DESIGN.md §4): a run stopped part-way (SIGINT, SIGTERM, kill -9, --timeout)
# and started again with the same --state ends with output byte-identical to a clean run's.
# The input is a FIFO fed half the rows so the stop point is deterministic, then the whole file.
source "$(dirname "$0")/lib.sh"

make_users_csv 50000 full.csv
head -n 25001 full.csv > half.csv
nb pipeline csv json --source-path full.csv --dest-path clean.ndjson --format lines --source-opt stream=users
expect_rc 0 "clean run"

wait_rows() {   # wait until the state file records $1 rows
  for _ in $(seq 1 200); do
    if [ -f st.json ] && grep -q "\"rows\": $1" st.json; then return 0; fi
    sleep 0.05
  done
  return 1
}

interrupted_run() {   # interrupted_run <signal> <expected exit>
  local sig=$1 want=$2
  rm -f in.csv st.json out.ndjson out.ndjson.nebula-partial
  mkfifo in.csv
  ( cat half.csv; sleep 20 ) > in.csv &
  local feeder=$!
  "$NEBULA" pipeline csv json --source-path in.csv --dest-path out.ndjson --format lines --source-opt stream=users \
    --state st.json --flush-interval 50ms >"$T/out" 2>"$T/err" &
  local pid=$!
  if wait_rows 25000; then pass; else fail "$sig: no checkpoint of 25000 rows: $(cat st.json 2>/dev/null) $(cat "$T/err")"; fi
  kill "-$sig" "$pid"
  set +e; wait "$pid"; local rc=$?; set -e
  kill "$feeder" 2>/dev/null || true; wait "$feeder" 2>/dev/null || true
  expect_eq "$rc" "$want" "$sig exit status"
  expect_no_file out.ndjson
  expect_file out.ndjson.nebula-partial
  rm -f in.csv && cp full.csv in.csv
  nb pipeline csv json --source-path in.csv --dest-path out.ndjson --format lines --source-opt stream=users --state st.json
  expect_rc 0 "resume after $sig"
  expect_file_eq out.ndjson clean.ndjson
  expect_no_file out.ndjson.nebula-partial
  grep -q '"done": true' st.json && pass || fail "state not done after resume: $(cat st.json)"
  # A rerun with a finished state has nothing to do and leaves the output alone.
  nb pipeline csv json --source-path in.csv --dest-path out.ndjson --format lines --source-opt stream=users --state st.json
  expect_rc 0 "rerun finished"; expect_file_eq out.ndjson clean.ndjson
}

interrupted_run INT 130
interrupted_run TERM 143
interrupted_run KILL 137

# Compressed output resumes too (a new frame is appended after the committed length).
rm -f in.csv st.json
mkfifo in.csv
( cat half.csv; sleep 20 ) > in.csv &
feeder=$!
"$NEBULA" pipeline csv json --source-path in.csv --dest-path out.ndjson.gz --format lines --source-opt stream=users \
  --state st.json --flush-interval 50ms >"$T/out" 2>"$T/err" &
pid=$!
wait_rows 25000 && pass || fail "gz: no checkpoint"
kill -KILL "$pid"; wait "$pid" 2>/dev/null || true
kill "$feeder" 2>/dev/null || true; wait "$feeder" 2>/dev/null || true
rm -f in.csv && cp full.csv in.csv
nb pipeline csv json --source-path in.csv --dest-path out.ndjson.gz --format lines --source-opt stream=users --state st.json
expect_rc 0 "gz resume"
gzip -t out.ndjson.gz && pass || fail "gzip -t"
expect_file_eq <(gzip -dc out.ndjson.gz) clean.ndjson

# --timeout stops the run with exit 1 and saved progress; the rerun completes it.
rm -f in.csv st.json out.ndjson*
mkfifo in.csv
( cat half.csv; sleep 20 ) > in.csv &
feeder=$!
nb pipeline csv json --source-path in.csv --dest-path out.ndjson --format lines --source-opt stream=users \
  --state st.json --flush-interval 50ms --timeout 1s
kill "$feeder" 2>/dev/null || true; wait "$feeder" 2>/dev/null || true
expect_rc 1 "timeout"; expect_err_contains "timeouts.run"; expect_err_contains "timed out"
expect_no_file out.ndjson
rm -f in.csv && cp full.csv in.csv
nb pipeline csv json --source-path in.csv --dest-path out.ndjson --format lines --source-opt stream=users --state st.json
expect_rc 0 "resume after timeout"; expect_file_eq out.ndjson clean.ndjson

# Without --state a stopped run leaves nothing behind.
rm -f in.csv out.ndjson*
mkfifo in.csv
( cat half.csv; sleep 20 ) > in.csv &
feeder=$!
"$NEBULA" pipeline csv json --source-path in.csv --dest-path out.ndjson --format lines --flush-interval 50ms \
  >"$T/out" 2>"$T/err" &
pid=$!
sleep 1
kill -INT "$pid"; set +e; wait "$pid"; rc=$?; set -e
kill "$feeder" 2>/dev/null || true; wait "$feeder" 2>/dev/null || true
expect_eq "$rc" "130" "SIGINT without state"
expect_no_file out.ndjson; expect_no_file out.ndjson.nebula-partial
finish
