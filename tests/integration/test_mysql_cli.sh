#!/usr/bin/env bash
# `nebula` with a mysql source against a real throwaway MariaDB: check (bad credentials, missing
# grants), discover, full refresh into JSON lines, CDC snapshot + concurrent writes + stream with
# kill -9 mid-snapshot and mid-stream then resume (nothing lost), and a purged binlog position.
command -v mariadbd >/dev/null || { echo "mariadbd not installed: skipped"; exit 77; }
source "$(dirname "$0")/../e2e/lib.sh"
eval "$(bash "$NB_ROOT/scripts/services/mariadb.sh" start)"
trap 'bash "$NB_ROOT/scripts/services/mariadb.sh" stop "$NB_MY_DIR"; rm -rf "$T"' EXIT
SQL() { mariadb --no-defaults -h127.0.0.1 -P"$MYPORT" -uroot -N -B -e "$1"; }
URL="mysql://nebula:nebula-pw@127.0.0.1:$MYPORT/t1"

SQL "CREATE DATABASE t1; CREATE TABLE t1.big (id INT PRIMARY KEY, v VARCHAR(20), n BIGINT UNSIGNED, d DECIMAL(12,3));
     INSERT INTO t1.big SELECT seq, CONCAT('v', seq), 18446744073709551615 - seq, seq / 1000 FROM t1.seq_1_to_20000;
     CREATE TABLE t1.small (k VARCHAR(10) PRIMARY KEY, ts DATETIME(3)); INSERT INTO t1.small VALUES ('a', '2024-01-02 03:04:05.678');"

# --- check: bad credentials, missing grants ---------------------------------------------------
cat > bad.yaml <<EOF
source: { type: mysql, url: "mysql://nebula:not-the-password@127.0.0.1:$MYPORT/t1" }
destination: { type: json, path: "out/{stream}.json" }
EOF
nb check -c bad.yaml
if [ "$RC" -ne 0 ]; then pass; else fail "check with a bad password succeeded"; fi
expect_err_contains "Access denied"
if grep -q "not-the-password" "$T/err"; then fail "the password reached stderr"; else pass; fi
SQL "CREATE USER 'weak'@'127.0.0.1' IDENTIFIED BY 'pw'; GRANT SELECT ON t1.* TO 'weak'@'127.0.0.1';"
cat > weak.yaml <<EOF
source: { type: mysql, url: "mysql://weak:pw@127.0.0.1:$MYPORT/t1", mode: cdc }
destination: { type: json, path: "out/{stream}.json" }
EOF
nb check -c weak.yaml
if [ "$RC" -ne 0 ]; then pass; else fail "check without replication grants succeeded"; fi
expect_err_contains "REPLICATION SLAVE"
expect_err_contains "GRANT REPLICATION CLIENT"

# --- discover ---------------------------------------------------------------------------------
cat > fr.yaml <<EOF
source: { type: mysql, url: "$URL", tables: ["t1.*"] }
destination: { type: json, path: "fr/{stream}.json", format: lines }
EOF
nb discover -c fr.yaml
expect_rc 0 discover
expect_out_contains '"name":"t1.big"'
expect_out_contains '"namespace":"t1","table":"big"'
expect_out_contains '"primary_key":["id"]'
expect_out_contains '{"name":"n","type":"decimal(20,0)","nullable":true}'

# --- full refresh -----------------------------------------------------------------------------
nb run -c fr.yaml --batch-size 3000
expect_rc 0 "full refresh"
expect_eq "$(wc -l < fr/t1.big.json)" 20000 "rows of t1.big"
grep -q '^{"id":7,"v":"v7","n":"18446744073709551608","d":"0.007"}$' fr/t1.big.json && pass || fail "row 7: $(sed -n 7p fr/t1.big.json)"
grep -q '"ts":"2024-01-02 03:04:05.678"' fr/t1.small.json && pass || fail "datetime(3): $(cat fr/t1.small.json)"

# A cdc stream never ends, so its output keeps the partial name (the next run appends to it).
# --- CDC: kill -9 mid-snapshot, writes, kill -9 mid-stream, resume ------------------------------
cat > cdc.yaml <<EOF
source: { type: mysql, url: "$URL", tables: [t1.big, t1.small], mode: cdc, chunk_size: 1000 }
destination: { type: json, path: "cdc/{stream}.{run_id}.json", format: lines }
state: { path: cdc-state.json }
EOF
sed 's/mode: cdc,/mode: cdc, cdc: { until: now },/' cdc.yaml > cdc-until.yaml
# Hold t1.small behind a write lock so the snapshot stops after copying t1.big. One connection:
# with several, the shared snapshot's FLUSH TABLES WITH READ LOCK would wait for the lock first
# (test_mysql_parallel.sh kills a parallel snapshot).
( mariadb --no-defaults -h127.0.0.1 -P"$MYPORT" -uroot -e "LOCK TABLES t1.small WRITE; SELECT SLEEP(4);" >/dev/null 2>&1 ) &
locker=$!
sleep 0.5
"$NEBULA" run -c cdc.yaml --workers 1 --batch-size 500 --flush-interval 100ms >run1.log 2>&1 &
nbpid=$!
for _ in $(seq 1 60); do grep -q '"t1.big"' cdc-state.json 2>/dev/null && break; sleep 0.1; done
sleep 0.5
kill -9 "$nbpid" 2>/dev/null; wait "$nbpid" 2>/dev/null || true
grep -q '"t1.big"' cdc-state.json && pass || fail "no checkpoint before the kill: $(cat run1.log)"
wait "$locker" || true
# concurrent writes while the next run snapshots the rest and streams
SQL "INSERT INTO t1.big VALUES (30001, 'new', 1, 1.5); UPDATE t1.big SET v='upd' WHERE id=5; DELETE FROM t1.big WHERE id=6;"
"$NEBULA" run -c cdc.yaml --batch-size 500 --flush-interval 100ms >run2.log 2>&1 &
nbpid=$!
for i in $(seq 1 40); do SQL "INSERT INTO t1.big VALUES ($((40000 + i)), 'w$i', $i, $i); UPDATE t1.big SET v='u$i' WHERE id=$((100 + i)); DELETE FROM t1.big WHERE id=$((200 + i));"; sleep 0.02; done
sleep 1
kill -9 "$nbpid" 2>/dev/null; wait "$nbpid" 2>/dev/null || true
SQL "INSERT INTO t1.big VALUES (50000, 'last', 0, 0); UPDATE t1.small SET ts='2025-05-05 05:05:05.5' WHERE k='a';"
nb run -c cdc-until.yaml --batch-size 500 --flush-interval 100ms
expect_rc 0 "cdc resume with until: now"
# Replaying the change log (r/c/u = upsert, d = delete) must give the table as it is now.
SQL "SELECT id, v FROM t1.big ORDER BY id" | awk '{print $1 "|" $2}' > want.txt
node -e '
const fs = require("fs");
const rows = new Map();
for (const line of fs.readFileSync(process.argv[1], "utf8").split("\n")) {
  if (!line) continue;
  const r = JSON.parse(line);
  if (r._nb_op === "d") rows.delete(r.id); else rows.set(r.id, r.v);
}
const ids = [...rows.keys()].sort((a, b) => a - b);
fs.writeFileSync("got.txt", ids.map(i => i + "|" + rows.get(i)).join("\n") + "\n");
' cdc/t1.big.*json*
expect_file_eq got.txt want.txt
grep -q '"_nb_op":"c"' cdc/t1.big.*json* && pass || fail "no streamed inserts"
grep -q '"ts":"2025-05-05 05:05:05.500","_nb_op":"u"' cdc/t1.small.*json* && pass || fail "t1.small update: $(cat cdc/t1.small.*json*)"
dups=$(node -e '
const fs = require("fs"); const seen = new Set(); let d = 0;
for (const l of fs.readFileSync(process.argv[1], "utf8").split("\n")) { if (!l) continue; const r = JSON.parse(l);
  if (r._nb_op !== "r") continue; if (seen.has(r.id)) d++; seen.add(r.id); }
console.log(d);' cdc/t1.big.*json*)
# the snapshot resumes each key range after its last committed key: no row twice
expect_eq "$dups" 0 "snapshot rows copied twice after the kill"

# a later run continues where the last one stopped: the new change once, nothing repeated
before=$(cat cdc/t1.big.*json* | wc -l)
SQL "INSERT INTO t1.big VALUES (60000, 'again', 0, 0);"
nb run -c cdc-until.yaml
expect_rc 0 "second cdc run"
expect_eq "$(cat cdc/t1.big.*json* | wc -l)" "$((before + 1))" "lines after one more insert"
grep -q '"id":60000,"v":"again"' cdc/t1.big.*json* && pass || fail "the insert of the second run is missing"

# --- a saved position the server no longer has -----------------------------------------------
SQL "FLUSH BINARY LOGS; FLUSH BINARY LOGS;"
last=$(SQL "SHOW BINARY LOGS" | tail -1 | cut -f1)
SQL "PURGE BINARY LOGS TO '$last';"
cat > lost-state.json <<EOF
{"version": 1, "pipeline": "lost", "streams": {"t1.small": {"source": {"gtid":"0-1-1","file":"bin.000001","pos":4}, "destination": null, "rows": 0, "done": false}}}
EOF
cat > lost.yaml <<EOF
name: lost
source: { type: mysql, url: "$URL", tables: [t1.small], mode: cdc, cdc: { until: now } }
destination: { type: json, path: "lost/{stream}.json", format: lines }
state: { path: lost-state.json }
EOF
nb run -c lost.yaml
if [ "$RC" -ne 0 ]; then pass; else fail "a purged position did not fail"; fi
expect_err_contains "no longer has the saved binlog position"
expect_err_contains "snapshot: when_needed"
sed -i 's/mode: cdc,/mode: cdc, snapshot: when_needed,/' lost.yaml
nb run -c lost.yaml
expect_rc 0 "purged position with snapshot: when_needed"
grep -q '"k":"a"' lost/t1.small.json* && pass || fail "re-snapshot: $(cat "$T/err")"
finish
