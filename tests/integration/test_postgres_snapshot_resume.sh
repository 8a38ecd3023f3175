#!/usr/bin/env bash
# A kill -9 in the middle of a chunked snapshot (primary-key chunks and ctid chunks), then a rerun
# that resumes from the last committed chunk, not from zero, and ends with every row delivered.
source "$(dirname "$0")/pg_lib.sh"
pg_start
URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
# kill_mid_run PID TABLE MIN: once TABLE has MIN rows, hold a SHARE lock on it (readers pass, the
# run's next COPY waits), so the kill -9 lands mid-snapshot however fast the machine is; then
# release the lock.
kill_mid_run() {
  local pid=$1 table=$2 min=$3 n
  for _ in $(seq 1 400); do
    n=$(val -c "SELECT count(*) FROM $table" 2>/dev/null || echo 0)
    [ "${n:-0}" -ge "$min" ] && break
    sleep 0.025
  done
  psqlq -c "BEGIN" -c "LOCK TABLE $table IN SHARE MODE" -c "SELECT pg_sleep(60)" >/dev/null 2>&1 & local locker=$!
  BG_PIDS+=($locker)
  for _ in $(seq 1 400); do
    [ "$(val -c "SELECT count(*) FROM pg_locks WHERE relation = '$table'::regclass AND mode = 'ShareLock' AND granted")" = 1 ] && break
    sleep 0.025
  done
  sleep 0.2   # the run reaches its next COPY and waits there
  kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  kill "$locker" 2>/dev/null || true; wait "$locker" 2>/dev/null || true
  val -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()" >/dev/null
}
psqlq <<'SQL'
CREATE TABLE big (id int PRIMARY KEY, v text);
INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 300000) g;
CREATE TABLE heap (a int, b text);
INSERT INTO heap SELECT g, 'h' || g FROM generate_series(1, 100000) g;
ANALYZE big, heap;
SQL
cat > snap.yaml <<EOF
source: { type: postgres, url: "$URL", tables: [public.big, public.heap], chunk_rows: 5000, snapshot_workers: 1 }
destination: { type: postgres, url: "$URL", schema: dst }
state: { path: snap.state.json }
EOF
# --storage row commits (and checkpoints) every 2000-row batch, so a kill between the destination's
# commit and the state write repeats at most one batch however fast the machine is.
"$NEBULA" run -c snap.yaml --batch-size 2000 --storage row >run1.out 2>run1.err & k=$!
BG_PIDS+=($k)
kill_mid_run $k dst.big 40000
before=$(val -c "SELECT count(*) FROM dst.big")
[ "$before" -gt 0 ] && [ "$before" -lt 300000 ] && pass || fail "the kill came mid-snapshot (had $before rows)"
grep -q '"phase":"snapshot","key":\["[0-9]*"\]' snap.state.json && pass || fail "a chunk position was saved: $(cat snap.state.json)"

sed -i 's/, snapshot_workers: 1//' snap.yaml
nb run -c snap.yaml --batch-size 2000 --max-concurrency 3
expect_rc 0 "rerun"
expect_err_contains "public.big: reading"   # the rest of big is read by parallel connections
expect_err_contains "chunks with 3 connections"
rows_in=$(summary_field "rows in")
[ "$rows_in" -lt $((400000 - before + 10000)) ] && pass || fail "rerun read $rows_in rows: it did not resume ($before were committed)"
expect_eq "$(val -c 'SELECT count(DISTINCT id), min(id), max(id) FROM dst.big')" "300000|1|300000" "every row of big"
expect_eq "$(val -c 'SELECT count(*) - count(DISTINCT id) <= 10000 FROM dst.big')" "t" "duplicates bounded by one checkpoint"
expect_eq "$(val -c 'SELECT count(DISTINCT a) FROM dst.heap')" "100000" "every row of heap (ctid chunks)"
expect_eq "$(val -c "SELECT count(*) FROM dst.big b JOIN big s USING (id) WHERE b.v <> s.v")" "0" "values intact"

# Kill during the ctid-chunked table too: resume from its page position.
psqlq -c "DROP SCHEMA dst CASCADE"
rm -f snap.state.json
cat > heap.yaml <<EOF
source: { type: postgres, url: "$URL", tables: [public.heap], chunk_rows: 5000 }
destination: { type: postgres, url: "$URL", schema: dst }
state: { path: heap.state.json }
EOF
"$NEBULA" run -c heap.yaml --batch-size 1000 --storage row >run2.out 2>run2.err & k=$!
BG_PIDS+=($k)
kill_mid_run $k dst.heap 20000
before=$(val -c "SELECT count(*) FROM dst.heap")
[ "$before" -gt 0 ] && [ "$before" -lt 100000 ] && pass || fail "the kill came mid-snapshot of heap (had $before rows)"
grep -q '"page":[1-9]' heap.state.json && pass || fail "a page position was saved: $(cat heap.state.json)"
nb run -c heap.yaml --batch-size 1000
expect_rc 0 "heap rerun"
expect_eq "$(val -c 'SELECT count(DISTINCT a) FROM dst.heap')" "100000" "every row of heap after a kill"
finish
