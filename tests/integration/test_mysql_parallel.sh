#!/usr/bin/env bash
# Chunks of one table read in parallel on several connections (`--workers`), against a real
# throwaway MariaDB: a full refresh and a cdc snapshot (one consistent snapshot shared by all
# connections) are killed with -9 mid-copy and resumed: every row exactly once, and the cdc
# stream after it gives the table as it is. Without the RELOAD privilege the cdc snapshot falls
# back to one snapshot per table, read by one connection.
command -v mariadbd >/dev/null || { echo "mariadbd not installed: skipped"; exit 77; }
source "$(dirname "$0")/../e2e/lib.sh"
eval "$(bash "$NB_ROOT/scripts/services/mariadb.sh" start)"
nbpid=""
trap 'if [ -n "$nbpid" ]; then kill -9 "$nbpid" 2>/dev/null || true; fi; bash "$NB_ROOT/scripts/services/mariadb.sh" stop "$NB_MY_DIR"; rm -rf "$T"' EXIT
SQL() { mariadb --no-defaults -h127.0.0.1 -P"$MYPORT" -uroot -N -B -e "$1"; }
URL="mysql://nebula:nebula-pw@127.0.0.1:$MYPORT/p"
N=200000

SQL "CREATE DATABASE p; CREATE TABLE p.big (id INT PRIMARY KEY, v VARCHAR(20), n BIGINT);
     INSERT INTO p.big SELECT seq, CONCAT('v', seq), seq * 7 FROM p.seq_1_to_$N;"

# Start a run that commits often, wait until its state shows a snapshot with ranges left, kill -9 it.
run_and_kill() {   # config log state
  "$NEBULA" run -c "$1" --workers 3 --batch-size 100 --flush-interval 10ms >"$2" 2>&1 &
  nbpid=$!
  for _ in $(seq 1 2000); do grep -q '"ranges"' "$3" 2>/dev/null && break; sleep 0.005; done
  kill -9 "$nbpid" 2>/dev/null || true
  wait "$nbpid" 2>/dev/null || true
  nbpid=""
}
# "rows distinct-ids duplicates" of the JSON lines files (op: only rows of that _nb_op)
count_ids() { node -e '
const fs = require("fs"); const op = process.argv[1]; const seen = new Set(); let dups = 0, rows = 0;
for (const f of process.argv.slice(2)) for (const l of fs.readFileSync(f, "utf8").split("\n")) {
  if (!l) continue; const r = JSON.parse(l); if (op && r._nb_op !== op) continue;
  rows++; if (seen.has(r.id)) dups++; seen.add(r.id); }
console.log(rows + " " + seen.size + " " + dups);' "$@"; }

# --- full refresh -----------------------------------------------------------------------------
cat > fr.yaml <<YAML
source: { type: mysql, url: "$URL", tables: [p.big], chunk_size: 5000 }
destination: { type: json, path: "fr/{stream}.json", format: lines }
state: { path: fr-state.json }
YAML
run_and_kill fr.yaml fr1.log fr-state.json
grep -q '"ranges"' fr-state.json && pass || fail "no snapshot ranges saved before the kill: $(cat fr1.log)"
grep -q 'chunks of a table in parallel' fr1.log && pass || fail "not read in parallel: $(cat fr1.log)"
nb run -c fr.yaml --workers 3 --batch-size 200
expect_rc 0 "full refresh resumed"
expect_err_contains "resuming the copy"
expect_eq "$(count_ids "" fr/p.big.json)" "$N $N 0" "rows, distinct ids, duplicates after the resume"
SQL "SELECT id, v, n FROM p.big ORDER BY id" | awk '{printf "%s|%s|%s\n", $1, $2, $3}' > want-fr.txt
node -e '
const fs = require("fs"); const rows = fs.readFileSync(process.argv[1], "utf8").trim().split("\n").map(l => JSON.parse(l));
rows.sort((a, b) => a.id - b.id);
fs.writeFileSync("got-fr.txt", rows.map(r => r.id + "|" + r.v + "|" + r.n).join("\n") + "\n");' fr/p.big.json
expect_file_eq got-fr.txt want-fr.txt

# --- cdc: shared snapshot, kill -9 mid-copy, writes, resume, stream ------------------------------
cat > cdc.yaml <<YAML
source: { type: mysql, url: "$URL", tables: [p.big], mode: cdc, chunk_size: 5000, cdc: { until: now } }
destination: { type: json, path: "cdc/{stream}.{run_id}.json", format: lines }
state: { path: cdc-state.json }
YAML
run_and_kill cdc.yaml cdc1.log cdc-state.json
grep -q '"ranges"' cdc-state.json && pass || fail "no snapshot ranges saved before the kill: $(cat cdc1.log)"
grep -q 'chunks of a table in parallel' cdc1.log && pass || fail "cdc not read in parallel: $(cat cdc1.log)"
SQL "INSERT INTO p.big VALUES ($((N + 1)), 'new', 1); UPDATE p.big SET v='upd' WHERE id IN (5, $((N - 5)));
     DELETE FROM p.big WHERE id IN (6, $((N - 6)));"
nb run -c cdc.yaml --workers 3 --batch-size 200
expect_rc 0 "cdc resumed"
expect_err_contains "resuming the snapshot"
grep -Eq 'pipeline done: .*, lag [0-9]+\.[0-9]+ s' "$T/err" && pass || fail "no lag in the summary: $(tail -1 "$T/err")"
read -r _ _ rdups <<<"$(count_ids r cdc/p.big.*json*)"
expect_eq "$rdups" 0 "snapshot rows copied twice"
# Replaying the change log (r/c/u = upsert, d = delete) gives the table as it is now.
SQL "SELECT id, v FROM p.big ORDER BY id" | awk '{print $1 "|" $2}' > want.txt
node -e '
const fs = require("fs"); const rows = new Map();
for (const f of process.argv.slice(1)) for (const line of fs.readFileSync(f, "utf8").split("\n")) {
  if (!line) continue; const r = JSON.parse(line);
  if (r._nb_op === "d") rows.delete(r.id); else rows.set(r.id, r.v); }
const ids = [...rows.keys()].sort((a, b) => a - b);
fs.writeFileSync("got.txt", ids.map(i => i + "|" + rows.get(i)).join("\n") + "\n");' cdc/p.big.*json*
expect_file_eq got.txt want.txt

# --- cdc without the RELOAD privilege: one snapshot per table ---------------------------------
SQL "CREATE USER 'noreload'@'127.0.0.1' IDENTIFIED BY 'pw';
     GRANT SELECT, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'noreload'@'127.0.0.1';
     CREATE TABLE p.two (id INT PRIMARY KEY, v INT); INSERT INTO p.two SELECT seq, seq FROM p.seq_1_to_3000;"
cat > nr.yaml <<YAML
source: { type: mysql, url: "mysql://noreload:pw@127.0.0.1:$MYPORT/p", tables: [p.big, p.two], mode: cdc, chunk_size: 5000, cdc: { until: now } }
destination: { type: json, path: "nr/{stream}.json", format: lines }
YAML
nb check -c nr.yaml
expect_rc 0 "check without RELOAD (MariaDB: a warning)"
expect_err_contains "no RELOAD privilege"
nb run -c nr.yaml --workers 3
expect_rc 0 "cdc without RELOAD"
expect_err_contains "each table gets its own snapshot"
expect_err_contains "RELOAD"
expect_eq "$(count_ids r nr/p.two.json*)" "3000 3000 0" "p.two rows"
expect_eq "$(count_ids r nr/p.big.json* | cut -d' ' -f2)" "$(SQL 'SELECT COUNT(*) FROM p.big')" "p.big rows"
finish
