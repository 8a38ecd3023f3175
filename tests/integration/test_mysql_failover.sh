#!/usr/bin/env bash
# Failover: a primary and a replica replicating from it by GTID; nebula streams the primary's
# binlog with hosts: [primary, replica]; the primary is killed (-9) mid-stream, the replica is
# promoted and takes more writes, and nebula finishes from the replica with the same final data:
# no transaction lost, none repeated.
command -v mariadbd >/dev/null || { echo "mariadbd not installed: skipped"; exit 77; }
source "$(dirname "$0")/../e2e/lib.sh"
eval "$(bash "$NB_ROOT/scripts/services/mariadb.sh" start)"
P_PORT=$MYPORT P_DIR=$NB_MY_DIR P_PID=$NB_MY_PID
eval "$(bash "$NB_ROOT/scripts/services/mariadb.sh" start --replica-of "$P_PORT")"
R_PORT=$MYPORT R_DIR=$NB_MY_DIR
nbpid=""
cleanup() {
  if [ -n "$nbpid" ]; then kill -9 "$nbpid" 2>/dev/null || true; fi
  bash "$NB_ROOT/scripts/services/mariadb.sh" stop "$P_DIR"
  bash "$NB_ROOT/scripts/services/mariadb.sh" stop "$R_DIR"
  rm -rf "$T"
}
trap cleanup EXIT
P() { mariadb --no-defaults -h127.0.0.1 -P"$P_PORT" -uroot -N -B -e "$1"; }
R() { mariadb --no-defaults -h127.0.0.1 -P"$R_PORT" -uroot -N -B -e "$1"; }
caught_up() {
  for _ in $(seq 1 100); do
    [ "$(R "SELECT @@gtid_binlog_pos")" = "$(P "SELECT @@gtid_binlog_pos")" ] && return 0
    sleep 0.1
  done
  return 1
}

P "CREATE DATABASE f; CREATE TABLE f.t (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO f.t SELECT seq, 'snap' FROM f.seq_1_to_500;"
caught_up && pass || fail "replica did not catch up: $(R 'SHOW SLAVE STATUS\G' | head -40)"

cat > p.yaml <<EOF
name: failover
source:
  type: mysql
  hosts: ["127.0.0.1:$P_PORT", "127.0.0.1:$R_PORT"]
  user: nebula
  password: nebula-pw
  tables: [f.t]
  mode: cdc
  cdc: { heartbeat: 200ms }
destination: { type: json, path: "out/{stream}.json", format: lines }
state: { path: state.json }
EOF
"$NEBULA" run -c p.yaml --flush-interval 100ms >run.log 2>&1 &
nbpid=$!
for i in $(seq 1 100); do P "INSERT INTO f.t VALUES ($((1000 + i)), 'p$i'); UPDATE f.t SET v='p$i' WHERE id=$i;"; done
caught_up && pass || fail "replica behind before the kill"
sleep 1
kill -9 "$P_PID"
for _ in $(seq 1 50); do [ -d "/proc/$P_PID" ] || break; sleep 0.1; done
# promote the replica and keep writing there
R "STOP SLAVE; RESET SLAVE ALL;"
for i in $(seq 1 100); do R "INSERT INTO f.t VALUES ($((2000 + i)), 'r$i'); DELETE FROM f.t WHERE id=$((200 + i));"; done
want=$(R "SELECT COUNT(*) FROM f.t")
# wait until nebula has applied everything from the replica, then stop it cleanly
for _ in $(seq 1 100); do
  f=$(ls out/f.t.json* 2>/dev/null | head -1)
  [ -n "$f" ] && grep -q '"id":2100,' "$f" && break
  sleep 0.2
done
sleep 0.5
kill -TERM "$nbpid"; rc=0; wait "$nbpid" || rc=$?; nbpid=""
if [ "$rc" -eq 143 ] || [ "$rc" -eq 0 ]; then pass; else fail "nebula exit $rc: $(tail -20 run.log)"; fi
grep -q "failed over to 127.0.0.1:$R_PORT" run.log && pass || fail "no failover in the log: $(tail -20 run.log)"
f=$(ls out/f.t.json* | head -1)
R "SELECT id, v FROM f.t ORDER BY id" | awk '{print $1 "|" $2}' > want.txt
node -e '
const fs = require("fs");
const rows = new Map(); const seen = new Set(); let dup = 0;
for (const line of fs.readFileSync(process.argv[1], "utf8").split("\n")) {
  if (!line) continue;
  const r = JSON.parse(line);
  if (r._nb_op !== "r") { const k = r._nb_position + "/" + r._nb_op + "/" + r.id; if (seen.has(k)) dup++; seen.add(k); }
  if (r._nb_op === "d") rows.delete(r.id); else rows.set(r.id, r.v);
}
const ids = [...rows.keys()].sort((a, b) => a - b);
fs.writeFileSync("got.txt", ids.map(i => i + "|" + rows.get(i)).join("\n") + "\n");
fs.writeFileSync("dups.txt", String(dup));
' "$f"
expect_file_eq got.txt want.txt
expect_eq "$(cat dups.txt)" 0 "changes delivered twice"
expect_eq "$(wc -l < want.txt)" "$want" "rows on the replica"
finish
