#!/usr/bin/env bash
# Every run flag of DESIGN.md §1 changes behaviour; output is identical whatever workers/batch size.
source "$(dirname "$0")/lib.sh"

make_users_csv 20000 users.csv
run() { nb pipeline csv json --source-path users.csv --dest-path "$1" --format lines "${@:2}"; }

run w1.ndjson --workers 1 --batch-size 1000; expect_rc 0 "workers 1"
b1000=$(grep -o '[0-9]* batches' "$T/err" | cut -d' ' -f1)
run w4.ndjson --workers 4 --batch-size 100 --log-level debug; expect_rc 0 "workers 4"
b100=$(grep -o '[0-9]* batches' "$T/err" | cut -d' ' -f1)
expect_file_eq w4.ndjson w1.ndjson
[ "$b100" -gt "$b1000" ] && pass || fail "--batch-size: $b100 batches with 100 rows, $b1000 with 1000"
expect_err_contains "4 workers"
run w7.ndjson --workers 3 --batch-size 7; expect_rc 0 "odd batch size"; expect_file_eq w7.ndjson w1.ndjson

# --log-level: debug shows debug lines, error hides info lines.
run l.ndjson --log-level debug; grep -q " debug " "$T/err" && pass || fail "no debug lines"
run l.ndjson --log-level error; grep -q " info " "$T/err" && fail "info lines at error level" || pass
# --log-format json: every log line is a JSON object.
run l.ndjson --log-format json --log-level debug; expect_rc 0 "json logs"
grep '^{' "$T/err" | python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin]' && pass || fail "json log lines"
grep -q '"level":"debug"' "$T/err" && pass || fail "json debug line"
# --progress always draws a progress line even without a terminal; never does not.
run p.ndjson --progress always --batch-size 100; grep -q $'\r' "$T/err" && pass || fail "no progress line"
run p.ndjson --progress never; grep -q $'\r' "$T/err" && fail "progress drawn with never" || pass
# The summary line is always there.
expect_err_contains "20000 rows in, 20000 rows out"
# --memory-limit, --max-concurrency, --flush-interval are parsed and checked.
run m.ndjson --memory-limit 1MiB --batch-size 50; expect_rc 0 "memory limit"; expect_file_eq m.ndjson w1.ndjson
run m.ndjson --memory-limit lots; expect_rc 2 "bad size"; expect_err_contains "not a size"
run m.ndjson --flush-interval soon; expect_rc 2 "bad duration"; expect_err_contains "not a duration"
run m.ndjson --max-concurrency 0; expect_rc 2 "bad concurrency"; expect_err_contains "max_concurrency"
# --flush-interval: a slow stream arrives before its input ends.
mkfifo slow.csv
( head -n 101 users.csv; sleep 3 ) > slow.csv &
feeder=$!
"$NEBULA" pipeline csv json --source-path slow.csv --dest-path slow.ndjson --format lines --state s.json \
  --flush-interval 100ms >"$T/out" 2>"$T/err" &
pid=$!
ok=0
for _ in $(seq 1 40); do grep -q '"rows": 100' s.json 2>/dev/null && { ok=1; break; }; sleep 0.05; done
[ "$ok" = 1 ] && pass || fail "--flush-interval: 100 rows not committed while the input is open"
wait "$pid" || true; wait "$feeder" || true
# --metrics-addr serves Prometheus metrics while the run lasts.
port=$((20000 + RANDOM % 20000))
mkfifo slow2.csv
( head -n 101 users.csv; sleep 2 ) > slow2.csv &
feeder=$!
"$NEBULA" pipeline csv json --source-path slow2.csv --dest-path slow2.ndjson --format lines --flush-interval 100ms \
  --metrics-addr "127.0.0.1:$port" --source-opt stream=slow >"$T/out" 2>"$T/err" &
pid=$!
ok=0
for _ in $(seq 1 40); do
  curl -sf "http://127.0.0.1:$port/metrics" > metrics.txt 2>/dev/null && grep -q 'nebula_rows_out_total{stream="slow"} 100' metrics.txt && { ok=1; break; }
  sleep 0.05
done
[ "$ok" = 1 ] && pass || fail "--metrics-addr: $(cat metrics.txt 2>/dev/null | head -20)"
wait "$pid" || true; wait "$feeder" || true
# timeouts.idle: a source that stops answering ends the run with a clear error, no output left behind.
mkfifo stalled.csv
( head -n 3 users.csv; sleep 15 ) > stalled.csv &
feeder=$!
nb pipeline csv json --source-path stalled.csv --dest-path stalled.ndjson --format lines --set timeouts.idle=1s
expect_rc 1 "idle timeout"; expect_err_contains "timeouts.idle"; expect_no_file stalled.ndjson
kill "$feeder" 2>/dev/null || true; wait "$feeder" 2>/dev/null || true
# A flag overrides the file; the file overrides the default.
cat > p.yaml <<'Y'
source: { type: csv, path: users.csv }
destination: { type: json, path: f.ndjson, format: lines }
performance: { batch_size: 20000 }
Y
nb run -c p.yaml; expect_rc 0 "file batch size"; expect_err_contains " 1 batches"
nb run -c p.yaml --batch-size 10000; expect_rc 0 "flag batch size"; expect_err_contains " 2 batches"
finish
