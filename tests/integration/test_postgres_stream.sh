#!/usr/bin/env bash
# pgoutput protocol version 2 against a real server with logical_decoding_work_mem=64kB, so large
# transactions are streamed before they commit: a committed one (with a rolled-back savepoint and a
# column added mid-transaction) comes out once, at its commit LSN, after a small transaction that
# committed first; an aborted one emits nothing; spill files leave nothing behind; the slot's
# confirmed flush ends at the last commit; a transaction still open when a run ends is delivered by
# the next run, once; the summary shows a lag.
source "$(dirname "$0")/pg_lib.sh"
pg_start logical_decoding_work_mem=64kB
URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
psqlq -d postgres <<'SQL'
CREATE TABLE big (id int PRIMARY KEY, v text);
INSERT INTO big VALUES (0, 'snapshot');
CREATE TABLE side (id int PRIMARY KEY, v text);
-- side is published but not read: its first Relation message arrives in a savepoint rolled back
-- below; the change after the rollback needs one again (pgoutput resends it after a Stream Abort).
CREATE PUBLICATION nebula FOR TABLE big, side;
CREATE TABLE j (n serial, doc jsonb);
SQL
mkdir -p spill o
cat > s.yaml <<EOF
name: stream
source: { type: postgres, url: "$URL", tables: [public.big], mode: cdc, cdc: { slot: s2, until: now, spill_dir: "$T/spill" } }
destination: { type: json, path: "$T/o/big.{run_id}.ndjson", format: lines }
state: { path: s.state.json }
EOF
nb run -c s.yaml --batch-size 1000 --log-level info
expect_rc 0 "run 1 (snapshot)"
expect_err_contains "pgoutput proto_version 2"

# A large transaction stays open while a small one commits (the small one must come out first).
psqlq -d postgres >/dev/null <<'SQL' &
BEGIN;
INSERT INTO big SELECT g, 'a' || g FROM generate_series(1, 6000) g;
SAVEPOINT s1;
INSERT INTO big SELECT g, 'rolled back' FROM generate_series(100001, 104000) g;
ROLLBACK TO s1;
SAVEPOINT s2;
INSERT INTO side VALUES (1, 'rolled back');
INSERT INTO big SELECT g, 'rolled back' FROM generate_series(110001, 114000) g;
ROLLBACK TO s2;
INSERT INTO side VALUES (2, 'kept');
SELECT pg_sleep(1.5);
ALTER TABLE big ADD COLUMN extra int;
INSERT INTO big SELECT g, 'b' || g, g FROM generate_series(6001, 12000) g;
COMMIT;
SQL
big=$!
sleep 0.7
psqlq -d postgres -c "INSERT INTO big VALUES (50000, 'small')"
wait $big
psqlq -d postgres <<'SQL'
BEGIN;
INSERT INTO big SELECT g, 'aborted' FROM generate_series(200001, 210000) g;
ROLLBACK;
INSERT INTO big VALUES (50001, 'last');
SQL

nb run -c s.yaml --batch-size 1000 --log-level info
expect_rc 0 "run 2 (stream) $(tail -3 "$T/err")"
expect_err_contains " lag "
streamed=$(val -d postgres -c "SELECT stream_txns FROM pg_stat_replication_slots WHERE slot_name = 's2'")
expect_eq "$([ "${streamed:-0}" -ge 2 ] && echo yes)" "yes" "the server streamed the large transactions (stream_txns $streamed)"
expect_eq "$(ls spill | wc -l | tr -d ' ')" "0" "no spill file left behind"

f=$(ls -t o/*.ndjson | head -1)
psqlq -d postgres -c "\\copy j(doc) FROM '$T/$f' WITH (FORMAT csv, QUOTE e'\\x01', DELIMITER e'\\x02')"
q() { val -d postgres -c "$1"; }
expect_eq "$(q "SELECT count(*) FROM j")" "12002" "rows emitted (12000 + small + last)"
expect_eq "$(q "SELECT count(*) FROM j WHERE doc->>'v' IN ('rolled back', 'aborted')")" "0" "rolled back and aborted changes are not emitted"
expect_eq "$(q "SELECT count(DISTINCT (doc->>'id')::int) FROM j WHERE (doc->>'id')::int BETWEEN 1 AND 12000")" "12000" "each row of the large transaction once"
expect_eq "$(q "SELECT count(DISTINCT doc->>'_nb_lsn') || ' ' || count(DISTINCT doc->>'_nb_xid') || ' ' || count(DISTINCT doc->>'_nb_commit_ts') FROM j WHERE (doc->>'id')::int BETWEEN 1 AND 12000")" "1 1 1" "one commit LSN, xid and time for the large transaction"
expect_eq "$(q "SELECT string_agg(doc->>'id', ',' ORDER BY n) FROM j WHERE (doc->>'id')::int IN (50000, 50001, 1, 12000)")" "50000,1,12000,50001" "commit order: small, large (in its own order), last"
expect_eq "$(q "SELECT count(*) FROM j WHERE (doc->>'id')::int > 6000 AND (doc->>'id')::int <= 12000 AND (doc->>'extra')::int = (doc->>'id')::int")" "6000" "the column added inside the stream"
expect_eq "$(q "SELECT count(*) FROM j WHERE doc->>'_nb_op' <> 'insert'")" "0" "every change an insert"
# The large transaction's LSN is its commit record's: the small one's is lower, the last one's higher.
expect_eq "$(q "SELECT (SELECT (doc->>'_nb_lsn')::pg_lsn FROM j WHERE doc->>'id' = '50000') < (SELECT (doc->>'_nb_lsn')::pg_lsn FROM j WHERE doc->>'id' = '1') AND (SELECT (doc->>'_nb_lsn')::pg_lsn FROM j WHERE doc->>'id' = '1') < (SELECT (doc->>'_nb_lsn')::pg_lsn FROM j WHERE doc->>'id' = '50001')")" "t" "commit LSNs in order"
cf=$(q "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 's2'")
expect_eq "$(q "SELECT '$cf'::pg_lsn >= (SELECT max((doc->>'_nb_lsn')::pg_lsn) FROM j)")" "t" "confirmed flush reached the last commit"

# A streamed transaction still open when a run ends: nothing of it is emitted (nor confirmed), and
# the next run, after its commit, delivers it once.
psqlq -d postgres >/dev/null <<'SQL' &
BEGIN;
INSERT INTO big SELECT g, 'open', g FROM generate_series(400001, 406000) g;
SELECT pg_sleep(3);
COMMIT;
SQL
open_txn=$!
sleep 1.2
nb run -c s.yaml --batch-size 1000 --log-level info
expect_rc 0 "run while a large transaction is open"
f=$(ls -t o/*.ndjson | head -1)
expect_eq "$(grep -c '"open"' "$f" || true)" "0" "an uncommitted streamed transaction is not emitted"
expect_eq "$(ls spill | wc -l | tr -d ' ')" "0" "no spill file left behind by a run that ended mid-transaction"
wait $open_txn
nb run -c s.yaml --batch-size 1000 --log-level info
expect_rc 0 "run after the commit"
f=$(ls -t o/*.ndjson | head -1)
expect_eq "$(grep -c '"open"' "$f")" "6000" "the transaction delivered after its commit"
expect_eq "$(cat o/*.ndjson | grep -c '"open"')" "6000" "and only once"

# Proto 1 still works when asked for (the server then decodes and spills large transactions itself).
psqlq -d postgres -c "INSERT INTO big SELECT g, 'p1', g FROM generate_series(300001, 306000) g"
sed -i 's/spill_dir:/proto_version: 1, spill_dir:/' s.yaml
nb run -c s.yaml --batch-size 1000 --log-level info
expect_rc 0 "run 3 (proto 1)"
expect_err_contains "pgoutput proto_version 1"
f=$(ls -t o/*.ndjson | head -1)
expect_eq "$(grep -c '"p1"' "$f")" "6000" "proto 1 rows"
finish
