#!/usr/bin/env bash
# Slot hygiene: a bulk transaction of 100k updates streams through (split over many batches, flush
# LSN confirmed only after the whole transaction is durable); an idle database whose slot still
# advances while other databases write WAL (keepalives, heartbeat messages).
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
expect_eq "$(val -c 'SELECT count(*) FROM replica.bulk')" "100000" "snapshot rows"
psqlq -c "UPDATE bulk SET n = n + id"
commit_end=$(val -c "SELECT pg_current_wal_insert_lsn()")
nb run -c bulk.yaml --batch-size 10000 --flush-interval 500ms
expect_rc 0 "bulk transaction"
expect_eq "$(summary_field 'rows in')" "100000" "100k changes"
expect_eq "$(val -c 'SELECT count(*) FROM replica.bulk r JOIN bulk b USING (id) WHERE r.n = b.n AND r.n = r.id')" "100000" "replica in sync"
expect_eq "$(val -c "SELECT count(DISTINCT _nb_xid) FROM replica.bulk WHERE _nb_op = 'update'")" "1" "one transaction"
cf=$(val -c "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'nebula'")
expect_eq "$(val -c "SELECT '$cf'::pg_lsn >= '$commit_end'::pg_lsn")" "t" "confirmed flush past the bulk commit ($cf >= $commit_end)"
grep -q "lag" "$T/err" && pass || fail "lag is logged"

# Idle database: the slot's database has no writes; another database writes a lot of WAL.
psqlq -c "CREATE DATABASE busy"
psqlq -d busy -c "CREATE TABLE w (a int, b text)"
before=$(val -c "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'nebula'")
psqlq -d busy -c "INSERT INTO w SELECT g, repeat('x', 100) FROM generate_series(1, 5000) g"
psqlq -d busy -c "CHECKPOINT"   # logs running transactions: the decoder may move restart_lsn past it
after_writes=$(val -c "SELECT pg_current_wal_insert_lsn()")
sed 's/until: now }/until: now, heartbeat: 100ms }/' bulk.yaml > idle.yaml
nb run -c idle.yaml
expect_rc 0 "idle run"
expect_eq "$(summary_field 'rows in')" "0" "no changes in the idle database"
cf=$(val -c "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'nebula'")
expect_eq "$(val -c "SELECT '$cf'::pg_lsn >= '$after_writes'::pg_lsn AND '$cf'::pg_lsn > '$before'::pg_lsn")" "t" "idle slot advanced ($before -> $cf, WAL at $after_writes)"
rs=$(val -c "SELECT restart_lsn FROM pg_replication_slots WHERE slot_name = 'nebula'")
expect_eq "$(val -c "SELECT '$rs'::pg_lsn > '$before'::pg_lsn")" "t" "restart_lsn advanced too ($rs)"

# A run without until stops cleanly on SIGTERM with state saved and the slot released.
sed 's/cdc: { until: now }/cdc: { heartbeat: 200ms }/' bulk.yaml > forever.yaml
"$NEBULA" run -c forever.yaml >f.out 2>f.err & k=$!
BG_PIDS+=($k)
sleep 1
psqlq -c "UPDATE bulk SET n = 0 WHERE id <= 10"
sleep 1
kill -TERM $k 2>/dev/null || true
set +e; wait $k; rc=$?; set -e
expect_eq "$rc" "143" "SIGTERM exit status"
expect_eq "$(val -c 'SELECT count(*) FROM replica.bulk WHERE n = 0')" "10" "changes before SIGTERM delivered"
expect_eq "$(val -c "SELECT active FROM pg_replication_slots WHERE slot_name = 'nebula'")" "f" "slot released"

finish
