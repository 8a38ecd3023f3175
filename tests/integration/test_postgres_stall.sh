#!/usr/bin/env bash
# Backpressure: a destination that stalls longer than the server's wal_sender_timeout. The engine's
# queue fills and it stops calling the source; the keepalive thread keeps answering the server with
# the confirmed flush LSN (never more), so the replication session survives and nothing is lost.
# (With status_interval above the timeout the same run fails: the server ends the session.) The
# progress line and the summary show the lag.
source "$(dirname "$0")/pg_lib.sh"
pg_start
URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
psqlq <<'SQL'
CREATE TABLE bulk (id int PRIMARY KEY, n int);
INSERT INTO bulk SELECT g, 0 FROM generate_series(1, 100000) g;
CREATE PUBLICATION nebula FOR TABLE bulk;
SQL
cat > bulk.yaml <<EOF
source: { type: postgres, url: "$URL", tables: [public.bulk], mode: cdc, cdc: { until: now } }
destination: { type: postgres, url: "$URL", schema: replica, mode: merge, primary_key: [id] }
state: { path: bulk.state.json }
EOF
nb run -c bulk.yaml --batch-size 10000
expect_rc 0 "snapshot"
psqlq -c "ALTER SYSTEM SET wal_sender_timeout = '2s'" -c "SELECT pg_reload_conf()" >/dev/null
sed 's/cdc: { until: now }/cdc: { status_interval: 500ms }/' bulk.yaml > stall.yaml
"$NEBULA" run -c stall.yaml --batch-size 100 --flush-interval 200ms --memory-limit 1MiB --progress always >stall.out 2>stall.err & k=$!
BG_PIDS+=($k)
sleep 1
psqlq -c "BEGIN; LOCK TABLE replica.bulk IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(5); COMMIT" >/dev/null & locker=$!
sleep 0.3
psqlq -c "UPDATE bulk SET n = n + 1 WHERE id <= 30000"
wait $locker
psqlq -c "UPDATE bulk SET n = -1 WHERE id = 99999"
for _ in $(seq 1 100); do
  [ "$(val -c 'SELECT n FROM replica.bulk WHERE id = 99999')" = "-1" ] && break
  sleep 0.1
done
kill -TERM $k 2>/dev/null || true
set +e; wait $k; rc=$?; set -e
expect_eq "$rc" "143" "streamed through a destination stall longer than wal_sender_timeout (stderr: $(grep -i error stall.err | head -3))"
expect_eq "$(val -c 'SELECT count(*) FROM replica.bulk r JOIN bulk b USING (id) WHERE r.n = b.n')" "100000" "replica in sync after the stall"
# The lag: seconds from the commit of the oldest change not yet durable to the server's clock. The
# stall holds changes back for seconds; the progress line is drawn by the committer, which sits
# inside the stalled write, so it catches the lag only while the backlog drains (how much depends
# on the machine's load): it must show some. The summary ends with one.
max_lag=$(tr '\r' '\n' < stall.err | grep -o 'lag [0-9.]*s' | awk '{ v = $2 + 0; if (v > m) m = v } END { print m + 0 }')
expect_eq "$(awk -v m="$max_lag" 'BEGIN { print (m >= 0.2) ? "yes" : "no" }')" "yes" "the progress line showed the stall as lag (max $max_lag s)"
expect_eq "$(grep -c 'stopped:.*, lag [0-9.]* s$' stall.err)" "1" "the summary shows the lag ($(tail -1 stall.err))"
finish
