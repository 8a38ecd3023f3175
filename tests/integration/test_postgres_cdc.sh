#!/usr/bin/env bash
# CDC against a real server: the slot's exported snapshot, then the change stream, with writes
# running concurrently: no gap (the merged replica equals the source) and no overlap (every row is
# read or inserted exactly once); schema changes and unchanged TOAST values; a kill -9 in the middle
# of the stream with confirmed_flush_lsn never ahead of what the destination holds, then a rerun
# that delivers everything.
source "$(dirname "$0")/pg_lib.sh"
pg_start
URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
psqlq -d postgres <<'SQL'
CREATE TABLE acc (id int PRIMARY KEY, n int NOT NULL, pad text);
INSERT INTO acc SELECT g, 0, 'p' || g FROM generate_series(1, 2000) g;
CREATE PUBLICATION nebula FOR TABLE acc;
-- The audit slot sees every transaction with its commit LSN (test_decoding, text output).
SELECT 'audit' FROM pg_create_logical_replication_slot('audit', 'test_decoding');
CREATE PROCEDURE work(cnt int, base int) LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..cnt LOOP
    INSERT INTO acc VALUES (base + i, i, 'w');
    UPDATE acc SET n = n + 1 WHERE id = base + i - 5 OR id = i;
    IF i % 7 = 0 THEN DELETE FROM acc WHERE id = base + i - 3; END IF;
    COMMIT;
    PERFORM pg_sleep(0.001);
  END LOOP;
END $$;
SQL

pipeline() {   # name slot dest-schema mode [extra source keys]
  cat > "$1.yaml" <<EOF
name: $1
source: { type: postgres, url: "$URL", tables: [public.acc], mode: cdc, cdc: { slot: $2, until: now $5 } }
destination: { type: postgres, url: "$URL", schema: $3, mode: $4, primary_key: [id] }
state: { path: $1.state.json }
EOF
}
pipeline merged slot_m replica merge ""
pipeline logged slot_l changes append ""
run_bg() { "$NEBULA" run -c "$1.yaml" --flush-interval 300ms --batch-size 500 >"$1.out" 2>"$1.err" & BG_PIDS+=($!); }

# 1. Snapshot + stream while the writer runs.
psqlq -d postgres -c "CALL work(800, 100000)" & writer=$!
sleep 0.3
run_bg merged; m=$!
run_bg logged; l=$!
wait $m; rc_m=$?
wait $l; rc_l=$?
expect_eq "$rc_m" 0 "merged run 1 (see merged.err: $(tail -2 merged.err))"
expect_eq "$rc_l" 0 "logged run 1 (see logged.err: $(tail -2 logged.err))"
wait $writer
# 2. Catch up with what was written after "now".
nb run -c merged.yaml --flush-interval 300ms
expect_rc 0 "merged run 2"
nb run -c logged.yaml --flush-interval 300ms
expect_rc 0 "logged run 2"

copy_text postgres public.acc "id, n, pad" > src.txt
copy_text postgres replica.acc "id, n, pad" > rep.txt
expect_file_eq rep.txt src.txt
expect_eq "$(wc -l < src.txt | tr -d ' ')" "$(val -d postgres -c 'SELECT count(*) FROM acc')" "source rows"
# No overlap between the snapshot and the stream, no duplicate change.
expect_eq "$(val -d postgres -c "SELECT count(*) FROM (SELECT id FROM changes.acc WHERE _nb_op IN ('read','insert') GROUP BY id HAVING count(*) <> 1) x")" "0" "each row read or inserted once"
expect_eq "$(val -d postgres -c "SELECT count(*) FROM (SELECT id, _nb_lsn, _nb_op, n FROM changes.acc GROUP BY 1,2,3,4 HAVING count(*) > 1) x")" "0" "no duplicate change"
expect_eq "$(val -d postgres -c "SELECT count(*) FROM acc WHERE id NOT IN (SELECT id FROM changes.acc WHERE _nb_op IN ('read','insert'))")" "0" "every source row seen"
expect_eq "$(val -d postgres -c "SELECT count(*) FROM (SELECT DISTINCT id FROM changes.acc WHERE _nb_op IN ('read','insert')) s WHERE id NOT IN (SELECT id FROM acc) AND (SELECT count(*) FROM changes.acc c WHERE c.id = s.id AND c._nb_op = 'delete') <> 1")" "0" "every deleted row has one delete"
expect_eq "$(val -d postgres -c "SELECT count(*) > 100 FROM changes.acc WHERE _nb_op = 'insert'")" "t" "the writer overlapped the snapshot and the stream"
expect_eq "$(val -d postgres -c "SELECT count(*) FROM changes.acc WHERE _nb_op = 'read' AND (_nb_commit_ts IS NOT NULL OR _nb_xid IS NOT NULL)")" "0" "snapshot rows have no commit time or xid"
expect_eq "$(val -d postgres -c "SELECT count(*) FROM changes.acc WHERE _nb_op <> 'read' AND (_nb_xid IS NULL OR _nb_commit_ts IS NULL OR _nb_lsn IS NULL)")" "0" "change metadata present"
# The slot's confirmed flush reached the end.
cf=$(val -d postgres -c "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'slot_m'")
expect_eq "$(val -d postgres -c "SELECT '$cf'::pg_lsn >= max(lsn) FROM pg_logical_slot_peek_changes('audit', NULL, NULL) WHERE data LIKE 'COMMIT%' AND xid IN (SELECT _nb_xid::text::xid FROM changes.acc WHERE _nb_op <> 'read')")" "t" "confirmed flush at the end"

# 3. Schema changes and unchanged TOAST values flow to the merged replica.
psqlq -d postgres <<'SQL'
ALTER TABLE acc ADD COLUMN big text;
UPDATE acc SET big = repeat('x', 200000) WHERE id = 1;
UPDATE acc SET n = 4242 WHERE id = 1;
INSERT INTO acc VALUES (900000, 1, 'new', 'small');
TRUNCATE acc;
INSERT INTO acc VALUES (1, 1, 'after truncate', repeat('y', 300000));
UPDATE acc SET n = 2 WHERE id = 1;
ALTER TABLE acc DROP COLUMN pad;
INSERT INTO acc VALUES (2, 2, 'z');
SQL
nb run -c merged.yaml
expect_rc 0 "merged run 3 (schema changes)"
expect_eq "$(val -d postgres -c "SELECT id, n, length(big) FROM replica.acc ORDER BY id" | tr '\n' ' ')" "1|2|300000 2|2|1 " "replica after truncate, TOAST and columns"
nb run -c logged.yaml
expect_rc 0 "logged run 3"
expect_eq "$(val -d postgres -c "SELECT _nb_unchanged_toast FROM changes.acc WHERE id = 1 AND n = 4242")" '["big"]' "unchanged TOAST is named"
expect_eq "$(val -d postgres -c "SELECT count(*) FROM changes.acc WHERE _nb_op = 'truncate'")" "1" "truncate row"

# 4. kill -9 in the middle of the stream; confirmed_flush_lsn never ahead of the destination.
pipeline killed slot_k killed append ", status_interval: 200ms"
sed 's/until: now ,/ /' killed.yaml > forever.yaml
psqlq -d postgres -c "ALTER TABLE acc ADD COLUMN pad text"
nb run -c killed.yaml --flush-interval 200ms   # creates the slot and reads the snapshot
expect_rc 0 "killed: first run"
psqlq -d postgres -c "CALL work(1000, 200000)" & writer=$!
"$NEBULA" run -c forever.yaml --flush-interval 200ms --batch-size 100 >killed.out 2>killed.err & k=$!
BG_PIDS+=($k)
for _ in $(seq 1 100); do
  n=$(val -d postgres -c "SELECT count(*) FROM killed.acc WHERE _nb_op = 'insert'" 2>/dev/null || echo 0)
  [ "${n:-0}" -gt 200 ] && break
  sleep 0.1
done
kill -KILL $k; wait $k 2>/dev/null || true
wait $writer
cf=$(val -d postgres -c "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'slot_k'")
delivered=$(val -d postgres -c "SELECT count(*) FROM killed.acc WHERE _nb_op = 'insert'")
[ "$delivered" -gt 0 ] && [ "$delivered" -lt 1000 ] && pass || fail "the kill came mid-stream (delivered $delivered)"
# Every insert whose transaction committed at or before confirmed_flush_lsn is in the destination.
missing=$(val -d postgres -c "
  WITH c AS (SELECT lsn, xid, data FROM pg_logical_slot_peek_changes('audit', NULL, NULL)),
  commits AS (SELECT xid, lsn FROM c WHERE data LIKE 'COMMIT%'),
  ins AS (SELECT xid, substring(data FROM 'id\[integer\]:(\d+)')::int AS id FROM c WHERE data LIKE 'table public.acc: INSERT:%')
  SELECT count(*) FROM ins JOIN commits USING (xid)
  WHERE commits.lsn <= '$cf'::pg_lsn AND ins.id BETWEEN 200001 AND 201000 AND ins.id NOT IN (SELECT id FROM killed.acc WHERE _nb_op = 'insert')")
expect_eq "$missing" "0" "confirmed_flush_lsn ($cf) not ahead of the destination"
if [ "$missing" != "0" ]; then
  val -d postgres -c "
  WITH c AS (SELECT lsn, xid, data FROM pg_logical_slot_peek_changes('audit', NULL, NULL)),
  commits AS (SELECT xid, lsn FROM c WHERE data LIKE 'COMMIT%'),
  ins AS (SELECT xid, substring(data FROM 'id\[integer\]:(\d+)')::int AS id FROM c WHERE data LIKE 'table public.acc: INSERT:%')
  SELECT ins.id, ins.xid, commits.lsn FROM ins JOIN commits USING (xid)
  WHERE commits.lsn <= '$cf'::pg_lsn AND ins.id BETWEEN 200001 AND 201000 AND ins.id NOT IN (SELECT id FROM killed.acc WHERE _nb_op = 'insert')" >&2
  val -d postgres -c "SELECT max(id), max(_nb_lsn::pg_lsn) FROM killed.acc WHERE _nb_op = 'insert'" >&2
  cat killed.err >&2
fi
nb run -c killed.yaml --flush-interval 200ms
expect_rc 0 "rerun after kill -9"
expect_eq "$(val -d postgres -c "SELECT count(DISTINCT id) FROM killed.acc WHERE _nb_op = 'insert' AND id > 200000")" "1000" "rerun delivers every insert"
finish
