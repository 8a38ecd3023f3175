#!/usr/bin/env bash
# Benchmarks of the database and object-store connectors beside the reference tools, in the same run
# (issues 5, 6, 7): PostgreSQL and MariaDB snapshots, PostgreSQL -> PostgreSQL, CDC changes/s and lag,
# and the S3 upload rows of bench/s3_upload.sh. Throwaway servers on loopback, stopped by pid on exit.
# Environment: BENCH_SERVICES_ROWS (1000000), BENCH_RUNS (3), BENCH_RESULTS (bench/results/services.md),
# BENCH_S3_ROWS (default 4 x BENCH_SERVICES_ROWS), NEBULA, GEN, PGBIN.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
NEBULA=${NEBULA:-$ROOT/bin/nebula}
GEN=${GEN:-$ROOT/build/bin/nb-gen}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
ROWS=${BENCH_SERVICES_ROWS:-1000000}
RUNS=${BENCH_RUNS:-3}
RESULTS=${BENCH_RESULTS:-$ROOT/bench/results/services.md}
if [ ! -x "$NEBULA" ] || [ ! -x "$GEN" ]; then echo "bench services: build first (make build): $NEBULA, $GEN" >&2; exit 2; fi
[ -x /usr/bin/time ] || { echo "bench services: GNU time (/usr/bin/time) is missing: apt-get install time" >&2; exit 2; }
case "$ROWS" in '' | *[!0-9]*) echo "bench services: BENCH_SERVICES_ROWS must be a number" >&2; exit 2 ;; esac

W=$(mktemp -d /tmp/nebula-bench-svc.XXXXXX)
chmod 755 "$W"
PG_DIR="" MY_DIR=""
cleanup() {
  if [ -n "$PG_DIR" ]; then "$ROOT/scripts/services/postgres.sh" stop "$PG_DIR" >/dev/null 2>&1 || true; fi
  if [ -n "$MY_DIR" ]; then "$ROOT/scripts/services/mariadb.sh" stop "$MY_DIR" >/dev/null 2>&1 || true; fi
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
say() { echo "bench services: $*" >&2; }

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }

# measure PRE CMD...: one warm-up then RUNS timed runs of CMD (GNU time: wall s, peak RSS KiB), each
# preceded by PRE (untimed; a function name, `:` for none). Sets M_WALL, M_RSS and, when PRE set
# T_COMMIT, M_LAG (median of end-of-run minus T_COMMIT). Returns 1 (M_WALL empty) if a run failed.
measure() {
  local pre=$1; shift
  local walls=() rss=() lags=() r w m t_end
  M_WALL="" M_RSS="" M_LAG=""
  for ((r = 0; r <= RUNS; r++)); do
    T_COMMIT=""
    "$pre" || { say "FAILED before: $*"; return 1; }
    if ! /usr/bin/time -f "%e %M" -o "$W/time.txt" "$@" > "$W/cmd.out" 2> "$W/cmd.err"; then
      t_end=$(now)
      say "FAILED: $*"; tail -5 "$W/cmd.err" >&2; tail -2 "$W/time.txt" >&2 2>/dev/null || true
      return 1
    fi
    t_end=$(now)
    [ "$r" -eq 0 ] && continue
    read -r w m < <(tail -1 "$W/time.txt")
    walls+=("$w"); rss+=("$m")
    [ -n "$T_COMMIT" ] && lags+=("$(awk -v a="$T_COMMIT" -v b="$t_end" 'BEGIN { printf "%.2f", b - a }')")
  done
  M_WALL=$(median "${walls[@]}")
  M_RSS=$(median "${rss[@]}")
  [ ${#lags[@]} -gt 0 ] && M_LAG=$(median "${lags[@]}")
  return 0
}

TABLE=()
row() {   # row case rows tool wall rss_kb bytes ratio   (wall "" = the tool failed)
  local line rps mbs mib bpr
  if [ -z "$4" ]; then
    line=$(printf '| %s | %s | %s | FAILED | - | - | - | - | - |' "$1" "$2" "$3")
  else
    rps=$(awk -v r="$2" -v w="$4" 'BEGIN { printf "%.0f", (w > 0 ? r / w : 0) }')
    mbs=$(awk -v b="$6" -v w="$4" 'BEGIN { if (b == "-") print "-"; else printf "%.1f", (w > 0 ? b / 1e6 / w : 0) }')
    if [ "$5" = "-" ]; then mib="-"; bpr="-"; else
      mib=$(awk -v k="$5" 'BEGIN { printf "%.1f", k / 1024 }')
      bpr=$(awk -v k="$5" -v r="$2" 'BEGIN { printf "%.0f", k * 1024 / r }')
    fi
    line=$(printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |' "$1" "$2" "$3" "$4" "$rps" "$mbs" "$mib" "$bpr" "$7")
  fi
  TABLE+=("$line")
  echo "$line" >&2
}
ratio() { if [ -z "$1" ] || [ -z "$2" ]; then echo "-"; else awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; fi; }
# check WHAT EXPECTED ACTUAL: a wrong count makes the run a failure (a fast wrong answer is no result)
check() { [ "$2" = "$3" ] && return 0; say "CHECK FAILED: $1: expected $2, got $3"; return 1; }
NOTES=()

# ---------------------------------------------------------------- PostgreSQL (issue 5)
pg_section() {
  local out
  if ! out=$("$ROOT/scripts/services/postgres.sh" start 2>"$W/pg-start.err"); then
    NOTES+=("PostgreSQL section skipped: could not start a server ($(tail -1 "$W/pg-start.err"))"); say "${NOTES[-1]}"; return 0
  fi
  eval "$out"
  PG_DIR=$NB_PG_DIR
  local P=(-X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" -U postgres)
  local URL1="postgres://postgres@127.0.0.1:$PGPORT/db1" URL2="postgres://postgres@127.0.0.1:$PGPORT/db2"
  local DDL="CREATE TABLE users (id bigint PRIMARY KEY, name text, email text, age int, score numeric(10,2), active bool, created_at timestamptz)"
  local COLS="id, name, email, age, score, active, created_at"
  say "PostgreSQL on 127.0.0.1:$PGPORT: loading $ROWS rows"
  "$PGBIN/psql" "${P[@]}" -d postgres -c "CREATE DATABASE db1" -c "CREATE DATABASE db2"
  # The primary key is added after the load (one index build instead of 1M insertions).
  "$PGBIN/psql" "${P[@]}" -d db1 <<SQL
${DDL/ PRIMARY KEY/};
INSERT INTO users
SELECT g,
       (ARRAY['Ada','Grace','Alan','Edsger','Barbara','Dennis','Ken','Niklaus'])[1 + g % 8] || ' ' ||
       (ARRAY['Lovelace','Hopper','Turing','Dijkstra','Liskov','Ritchie','Thompson','Wirth','Knuth'])[1 + (g / 8) % 9],
       'user' || g || '@mail.io', 18 + g % 60, ((g * 7919) % 100000) / 100.0, g % 3 <> 0,
       timestamptz '2024-01-01 00:00:00+00' + g * interval '7 seconds' + (g % 1000) * interval '1 microsecond'
FROM generate_series(1::bigint, $ROWS) g;
ALTER TABLE users ADD PRIMARY KEY (id);
VACUUM ANALYZE users;
CREATE PUBLICATION nebula_bench FOR TABLE users;
SQL
  "$PGBIN/psql" "${P[@]}" -d db2 -c "$DDL"
  mkdir -p "$W/pg"

  # Snapshots: nebula to NDJSON and CSV beside psql \copy to CSV. Bytes = nebula's CSV of the table.
  local fmt ext
  for fmt in json csv; do
    ext=$([ "$fmt" = json ] && echo ndjson || echo csv)
    cat > "$W/pg/snap-$ext.yaml" <<Y
name: bench-pg-$ext
source: { type: postgres, url: "$URL1", tables: [public.users], mode: full_refresh }
destination: { type: $fmt, path: "$W/pg/users.$ext"$([ "$fmt" = json ] && echo ", format: lines") }
state: { path: "$W/pg/snap-$ext.state.json" }
Y
  done
  pre_snap() { rm -f "$W"/pg/users.* "$W"/pg/snap-*.state.json; }
  local nj_w="" nj_r="" nc_w="" nc_r="" ps_w="" ps_r="" bytes
  if measure pre_snap "$NEBULA" run -c "$W/pg/snap-ndjson.yaml" --progress never --log-level warn \
     && check "pg ndjson lines" "$ROWS" "$(wc -l < "$W/pg/users.ndjson")"; then nj_w=$M_WALL nj_r=$M_RSS; fi
  if measure pre_snap "$NEBULA" run -c "$W/pg/snap-csv.yaml" --progress never --log-level warn \
     && check "pg csv lines" "$((ROWS + 1))" "$(wc -l < "$W/pg/users.csv")"; then nc_w=$M_WALL nc_r=$M_RSS; fi
  bytes=$(stat -c %s "$W/pg/users.csv" 2>/dev/null || echo -)
  pre_psql() { rm -f "$W/pg/psql.csv"; }
  if measure pre_psql "$PGBIN/psql" "${P[@]}" -d db1 -c "\\copy (SELECT $COLS FROM users) TO '$W/pg/psql.csv' CSV HEADER" \
     && check "psql csv lines" "$((ROWS + 1))" "$(wc -l < "$W/pg/psql.csv")"; then ps_w=$M_WALL ps_r=$M_RSS; fi
  row "pg snapshot -> ndjson" "$ROWS" "nebula" "$nj_w" "$nj_r" "$bytes" "1.00"
  row "pg snapshot -> ndjson" "$ROWS" "psql \\copy to CSV (same runs as below)" "$ps_w" "$ps_r" "$bytes" "$(ratio "$ps_w" "$nj_w")"
  row "pg snapshot -> csv" "$ROWS" "nebula" "$nc_w" "$nc_r" "$bytes" "1.00"
  row "pg snapshot -> csv" "$ROWS" "psql \\copy to CSV" "$ps_w" "$ps_r" "$bytes" "$(ratio "$ps_w" "$nc_w")"
  rm -f "$W"/pg/users.* "$W/pg/psql.csv"

  # PostgreSQL -> PostgreSQL: append into db2.users (same DDL, primary key kept during the load)
  # beside pg_dump | psql (which creates the table, loads it, then builds the key).
  cat > "$W/pg/copy.yaml" <<Y
name: bench-pg-pg
source: { type: postgres, url: "$URL1", tables: [public.users], mode: full_refresh }
destination: { type: postgres, url: "$URL2", schema: public, table: users, mode: append }
state: { path: "$W/pg/copy.state.json" }
Y
  pre_copy() { rm -f "$W/pg/copy.state.json"; "$PGBIN/psql" "${P[@]}" -d db2 -c "TRUNCATE users"; }
  pre_dump() { "$PGBIN/psql" "${P[@]}" -d db2 -c "DROP TABLE IF EXISTS users"; }
  count2() { "$PGBIN/psql" "${P[@]}" -At -d db2 -c "SELECT count(*) FROM users"; }
  local pp_w="" pp_r="" p1_w="" p1_r="" pd_w="" pd_r=""
  if measure pre_copy "$NEBULA" run -c "$W/pg/copy.yaml" --progress never --log-level warn \
     && check "pg -> pg rows" "$ROWS" "$(count2)"; then pp_w=$M_WALL pp_r=$M_RSS; fi
  # One snapshot connection: here both servers share these 2 cores with nebula, so reading chunks
  # on parallel connections takes CPU from the loading backend (on separate servers it does not).
  if measure pre_copy "$NEBULA" run -c "$W/pg/copy.yaml" --progress never --log-level warn --max-concurrency 1 \
     && check "pg -> pg rows (1 connection)" "$ROWS" "$(count2)"; then p1_w=$M_WALL p1_r=$M_RSS; fi
  if measure pre_dump bash -c "set -o pipefail; '$PGBIN/pg_dump' -h 127.0.0.1 -p $PGPORT -U postgres -t public.users db1 \
       | '$PGBIN/psql' -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $PGPORT -U postgres -d db2 >/dev/null" \
     && check "pg_dump | psql rows" "$ROWS" "$(count2)"; then pd_w=$M_WALL pd_r=$M_RSS; fi
  row "pg -> pg (append, 2nd database)" "$ROWS" "nebula" "$pp_w" "$pp_r" "$bytes" "1.00"
  row "pg -> pg (append, 2nd database)" "$ROWS" "nebula --max-concurrency 1 (one snapshot connection)" "$p1_w" "$p1_r" "$bytes" "$(ratio "$p1_w" "$pp_w")"
  row "pg -> pg (append, 2nd database)" "$ROWS" "pg_dump -t users \\| psql" "$pd_w" "$pd_r" "$bytes" "$(ratio "$pd_w" "$pp_w")"
  "$PGBIN/psql" "${P[@]}" -d db2 -c "DROP TABLE IF EXISTS users"

  # CDC: the first run creates the slot and copies the snapshot (untimed); each timed run drains one
  # UPDATE of every row with until: now. Lag = from the UPDATE's commit to nebula's exit.
  mkdir -p "$W/pgcdc"
  cat > "$W/pgcdc/cdc.yaml" <<Y
name: bench-pg-cdc
source: { type: postgres, url: "$URL1", tables: [public.users], mode: cdc, cdc: { slot: nebula_bench, publication: nebula_bench, until: now } }
destination: { type: json, path: "$W/pgcdc/out/users.{run_id}.ndjson", format: lines }
state: { path: "$W/pgcdc/state.json" }
Y
  local cw="" cr="" cl=""
  say "PostgreSQL CDC: initial snapshot"
  if "$NEBULA" run -c "$W/pgcdc/cdc.yaml" --progress never --log-level warn > "$W/cmd.out" 2> "$W/cmd.err"; then
    pre_cdc() {
      rm -rf "$W/pgcdc/out"; mkdir -p "$W/pgcdc/out"
      "$PGBIN/psql" "${P[@]}" -d db1 -c "UPDATE users SET age = age + 1" || return 1
      T_COMMIT=$(now)
    }
    if measure pre_cdc "$NEBULA" run -c "$W/pgcdc/cdc.yaml" --progress never --log-level warn \
       && check "pg cdc change rows" "$ROWS" "$(find "$W/pgcdc/out" -type f -exec cat {} + | grep -c '"_nb_op":"update"')"; then
      cw=$M_WALL cr=$M_RSS cl=$M_LAG
    fi
  else
    say "FAILED: pg cdc initial run"; tail -5 "$W/cmd.err" >&2
  fi
  # Reference: pg_recvlogical with test_decoding (the server's own text decoder) draining the same
  # UPDATE from a fresh slot up to the WAL position after its commit. The insert position, not
  # pg_current_wal_lsn(): with synchronous_commit=off the write position can still be before the
  # commit record, and pg_recvlogical would stop in the middle of the transaction.
  local rw="" rr="" rl=""
  if [ -n "$cw" ] && "$PGBIN/psql" "${P[@]}" -d db1 -o /dev/null -c "SELECT pg_create_logical_replication_slot('bench_ref', 'test_decoding')"; then
    pre_recv() {
      rm -f "$W/recv.txt"
      "$PGBIN/psql" "${P[@]}" -d db1 -c "UPDATE users SET age = age + 1" || return 1
      T_COMMIT=$(now)
      "$PGBIN/psql" "${P[@]}" -At -d db1 -c "SELECT pg_current_wal_insert_lsn()" > "$W/endpos"
    }
    if measure pre_recv bash -c "exec timeout 300 '$PGBIN/pg_recvlogical' -h 127.0.0.1 -p $PGPORT -U postgres -d db1 --slot bench_ref \
         --start --no-loop --endpos \"\$(cat '$W/endpos')\" -f '$W/recv.txt'" \
       && check "pg_recvlogical updates" "$ROWS" "$(grep -c '^table public.users: UPDATE' "$W/recv.txt")"; then
      rw=$M_WALL rr=$M_RSS rl=$M_LAG
    fi
    "$PGBIN/psql" "${P[@]}" -d db1 -o /dev/null -c "SELECT pg_drop_replication_slot('bench_ref')" || true
    rm -f "$W/recv.txt"
  fi
  row "pg cdc: UPDATE of $ROWS rows -> ndjson (until: now)" "$ROWS" "nebula (lag ${cl:-?} s)" "$cw" "$cr" "$bytes" "1.00"
  row "pg cdc: UPDATE of $ROWS rows -> ndjson (until: now)" "$ROWS" "pg_recvlogical, test_decoding to a file (lag ${rl:-?} s)" "$rw" "$rr" "$bytes" "$(ratio "$rw" "$cw")"
  [ -n "$cl" ] && NOTES+=("PostgreSQL CDC: $(awk -v r="$ROWS" -v w="$cw" 'BEGIN { printf "%.0f", r / w }') changes/s delivered; lag from the UPDATE's commit to nebula's exit $cl s (median).")

  # CDC into a merge destination (a replica table kept in sync by key): one UPDATE of every row per
  # timed run, drained with until: now; the first run copies the snapshot (untimed). Its own slot,
  # created here, so the earlier UPDATEs are not in it.
  cat > "$W/pgcdc/merge.yaml" <<Y
name: bench-pg-merge
source: { type: postgres, url: "$URL1", tables: [public.users], mode: cdc, cdc: { slot: nebula_bench_merge, publication: nebula_bench, until: now } }
destination: { type: postgres, url: "$URL2", schema: public, table: users_merge, mode: merge, primary_key: [id] }
state: { path: "$W/pgcdc/merge.state.json" }
Y
  local mw="" mr=""
  say "PostgreSQL CDC -> merge: initial snapshot"
  if "$NEBULA" run -c "$W/pgcdc/merge.yaml" --progress never --log-level warn > "$W/cmd.out" 2> "$W/cmd.err"; then
    pre_merge() { "$PGBIN/psql" "${P[@]}" -d db1 -c "UPDATE users SET age = age + 1" || return 1; }
    sum_age() { "$PGBIN/psql" "${P[@]}" -At -d "$1" -c "SELECT sum(age) FROM $2"; }
    if measure pre_merge "$NEBULA" run -c "$W/pgcdc/merge.yaml" --progress never --log-level warn \
       && check "pg merge replica ages" "$(sum_age db1 users)" "$(sum_age db2 users_merge)"; then
      mw=$M_WALL mr=$M_RSS
    fi
  else
    say "FAILED: pg merge initial run"; tail -5 "$W/cmd.err" >&2
  fi
  row "pg cdc: UPDATE of $ROWS rows -> postgres merge (until: now)" "$ROWS" "nebula" "$mw" "$mr" "$bytes" "1.00"
  [ -n "$mw" ] && NOTES+=("PostgreSQL CDC -> merge: $(awk -v r="$ROWS" -v w="$mw" 'BEGIN { printf "%.0f", r / w }') changes/s applied to a replica table by key.")
  "$ROOT/scripts/services/postgres.sh" stop "$PG_DIR" >/dev/null 2>&1 || true
  PG_DIR=""
}

# ---------------------------------------------------------------- MariaDB (issue 6)
my_section() {
  local out
  if ! command -v mariadb >/dev/null; then NOTES+=("MariaDB section skipped: no mariadb client"); say "${NOTES[-1]}"; return 0; fi
  if ! out=$("$ROOT/scripts/services/mariadb.sh" start 2>"$W/my-start.err"); then
    NOTES+=("MariaDB section skipped: could not start a server ($(tail -1 "$W/my-start.err"))"); say "${NOTES[-1]}"; return 0
  fi
  eval "$out"
  MY_DIR=$NB_MY_DIR
  local M=(mariadb --no-defaults -h127.0.0.1 -P"$MYPORT" -uroot)
  local URL="mysql://root@127.0.0.1:$MYPORT/bench"
  local COLS="id, name, email, age, score, active, created_at"
  # The script's server is sized for tests (64M buffer pool, 16M redo log): give the load room.
  "${M[@]}" -e "SET GLOBAL innodb_buffer_pool_size = 1073741824" 2>/dev/null || say "could not grow innodb_buffer_pool_size"
  "${M[@]}" -e "SET GLOBAL innodb_log_file_size = 536870912" 2>/dev/null || say "could not grow innodb_log_file_size"
  local csv=$W/users-$ROWS.csv
  "$GEN" users "$ROWS" csv > "$csv"
  say "MariaDB on 127.0.0.1:$MYPORT: loading $ROWS rows"
  "${M[@]}" --local-infile=1 -e "
    SET sql_log_bin = 0; SET time_zone = '+00:00';
    CREATE DATABASE bench;
    CREATE TABLE bench.users (id bigint PRIMARY KEY, name text, email text, age int, score decimal(10,2),
      active bool, created_at timestamp NULL DEFAULT NULL) ENGINE=InnoDB;
    LOAD DATA LOCAL INFILE '$csv' INTO TABLE bench.users FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"'
      IGNORE 1 LINES (id, name, email, age, score, @active, @created)
      SET active = (@active = 'true'), created_at = STR_TO_DATE(@created, '%Y-%m-%dT%H:%i:%sZ');
    ANALYZE TABLE bench.users;" >/dev/null
  check "mariadb rows loaded" "$ROWS" "$("${M[@]}" -N -B -e "SELECT count(*) FROM bench.users")" || return 0
  rm -f "$csv"
  mkdir -p "$W/my"
  local fmt ext
  for fmt in json csv; do
    ext=$([ "$fmt" = json ] && echo ndjson || echo csv)
    cat > "$W/my/snap-$ext.yaml" <<Y
name: bench-my-$ext
source: { type: mysql, url: "$URL", tables: [bench.users], mode: full_refresh }
destination: { type: $fmt, path: "$W/my/users.$ext"$([ "$fmt" = json ] && echo ", format: lines") }
state: { path: "$W/my/snap-$ext.state.json" }
Y
  done
  pre_snap() { rm -f "$W"/my/users.* "$W"/my/snap-*.state.json; }
  local nj_w="" nj_r="" nc_w="" nc_r="" mb_w="" mb_r="" mq_w="" mq_r="" bytes
  if measure pre_snap "$NEBULA" run -c "$W/my/snap-ndjson.yaml" --progress never --log-level warn \
     && check "mariadb ndjson lines" "$ROWS" "$(wc -l < "$W/my/users.ndjson")"; then nj_w=$M_WALL nj_r=$M_RSS; fi
  if measure pre_snap "$NEBULA" run -c "$W/my/snap-csv.yaml" --progress never --log-level warn \
     && check "mariadb csv lines" "$((ROWS + 1))" "$(wc -l < "$W/my/users.csv")"; then nc_w=$M_WALL nc_r=$M_RSS; fi
  # the default above reads the table with 2 connections (workers: 2, chunks in parallel); one:
  local n1_w="" n1_r=""
  if measure pre_snap "$NEBULA" run -c "$W/my/snap-ndjson.yaml" --workers 1 --progress never --log-level warn \
     && check "mariadb ndjson lines (one connection)" "$ROWS" "$(wc -l < "$W/my/users.ndjson")"; then n1_w=$M_WALL n1_r=$M_RSS; fi
  bytes=$(stat -c %s "$W/my/users.csv" 2>/dev/null || echo -)
  pre_none() { rm -f "$W/my/client.tsv"; }
  if measure pre_none bash -c "mariadb --no-defaults -h127.0.0.1 -P$MYPORT -uroot --batch -e 'SELECT $COLS FROM bench.users' > '$W/my/client.tsv'" \
     && check "mariadb --batch lines" "$((ROWS + 1))" "$(wc -l < "$W/my/client.tsv")"; then mb_w=$M_WALL mb_r=$M_RSS; fi
  # --quick streams row by row instead of buffering the whole result: the client's best case.
  if measure pre_none bash -c "mariadb --no-defaults -h127.0.0.1 -P$MYPORT -uroot --batch --quick -e 'SELECT $COLS FROM bench.users' > '$W/my/client.tsv'" \
     && check "mariadb --batch --quick lines" "$((ROWS + 1))" "$(wc -l < "$W/my/client.tsv")"; then mq_w=$M_WALL mq_r=$M_RSS; fi
  local c
  for c in ndjson csv; do
    local nw nr
    if [ $c = ndjson ]; then nw=$nj_w nr=$nj_r; else nw=$nc_w nr=$nc_r; fi
    row "mariadb snapshot -> $c" "$ROWS" "nebula (workers 2: chunks on 2 connections)" "$nw" "$nr" "$bytes" "1.00"
    if [ $c = ndjson ]; then row "mariadb snapshot -> $c" "$ROWS" "nebula --workers 1 (one connection)" "$n1_w" "$n1_r" "$bytes" "$(ratio "$n1_w" "$nw")"; fi
    row "mariadb snapshot -> $c" "$ROWS" "mariadb --batch -e SELECT > file (TSV)" "$mb_w" "$mb_r" "$bytes" "$(ratio "$mb_w" "$nw")"
    row "mariadb snapshot -> $c" "$ROWS" "mariadb --batch --quick (TSV)" "$mq_w" "$mq_r" "$bytes" "$(ratio "$mq_w" "$nw")"
  done
  rm -f "$W"/my/users.* "$W/my/client.tsv"

  # CDC: the first run copies the snapshot and records the binlog position (untimed); each timed
  # run streams one UPDATE of every row from the binlog with until: now.
  mkdir -p "$W/mycdc"
  cat > "$W/mycdc/cdc.yaml" <<Y
name: bench-my-cdc
source: { type: mysql, url: "$URL", tables: [bench.users], mode: cdc, cdc: { until: now } }
destination: { type: json, path: "$W/mycdc/out/users.{run_id}.ndjson", format: lines }
state: { path: "$W/mycdc/state.json" }
Y
  local cw="" cr="" cl=""
  say "MariaDB CDC: initial snapshot"
  if "$NEBULA" run -c "$W/mycdc/cdc.yaml" --progress never --log-level warn > "$W/cmd.out" 2> "$W/cmd.err"; then
    pre_cdc() {
      rm -rf "$W/mycdc/out"; mkdir -p "$W/mycdc/out"
      "${M[@]}" -e "UPDATE bench.users SET age = age + 1" || return 1
      T_COMMIT=$(now)
    }
    if measure pre_cdc "$NEBULA" run -c "$W/mycdc/cdc.yaml" --progress never --log-level warn \
       && check "mariadb cdc change rows" "$ROWS" "$(find "$W/mycdc/out" -type f -exec cat {} + | grep -c '"_nb_op":"u"')"; then
      cw=$M_WALL cr=$M_RSS cl=$M_LAG
    fi
  else
    say "FAILED: mariadb cdc initial run"; tail -5 "$W/cmd.err" >&2
  fi
  # Reference: mariadb-binlog reading the same UPDATE from the server and decoding its rows
  # (-v --base64-output=DECODE-ROWS), from the binlog position before it to the end of the log.
  local rw="" rr="" rl=""
  if [ -n "$cw" ] && command -v mariadb-binlog >/dev/null; then
    pre_binlog() {
      rm -f "$W/binlog.txt"
      "${M[@]}" -N -B -e "SHOW MASTER STATUS" | awk '{print $1, $2}' > "$W/binpos"
      "${M[@]}" -e "UPDATE bench.users SET age = age + 1" || return 1
      T_COMMIT=$(now)
    }
    if measure pre_binlog bash -c "read -r f p < '$W/binpos'; exec mariadb-binlog --no-defaults --read-from-remote-server \
         -h127.0.0.1 -P$MYPORT -uroot --to-last-log --start-position=\"\$p\" -v --base64-output=DECODE-ROWS \"\$f\" > '$W/binlog.txt'" \
       && check "mariadb-binlog updates" "$ROWS" "$(grep -c '^### UPDATE' "$W/binlog.txt")"; then
      rw=$M_WALL rr=$M_RSS rl=$M_LAG
    fi
    rm -f "$W/binlog.txt"
  fi
  row "mariadb cdc: UPDATE of $ROWS rows -> ndjson (until: now)" "$ROWS" "nebula (lag ${cl:-?} s)" "$cw" "$cr" "$bytes" "1.00"
  row "mariadb cdc: UPDATE of $ROWS rows -> ndjson (until: now)" "$ROWS" "mariadb-binlog -v from the server to a file (lag ${rl:-?} s)" "$rw" "$rr" "$bytes" "$(ratio "$rw" "$cw")"
  [ -n "$cl" ] && NOTES+=("MariaDB CDC: $(awk -v r="$ROWS" -v w="$cw" 'BEGIN { printf "%.0f", r / w }') changes/s delivered; lag from the UPDATE's commit to nebula's exit $cl s (median).")
  "$ROOT/scripts/services/mariadb.sh" stop "$MY_DIR" >/dev/null 2>&1 || true
  MY_DIR=""
}

# ---------------------------------------------------------------- S3 (issue 7)
s3_section() {
  if [ ! -f "$ROOT/bench/s3_upload.sh" ]; then NOTES+=("S3 section skipped: bench/s3_upload.sh does not exist"); say "${NOTES[-1]}"; return 0; fi
  # Four times the table: a Parquet file of several 16 MiB parts, so max_concurrency has parts to overlap.
  local s3rows=${BENCH_S3_ROWS:-$((ROWS * 4))}
  say "S3: bench/s3_upload.sh with $s3rows rows"
  if ! BENCH_S3_NO_APPEND=1 BENCH_S3_ROWS=$s3rows BENCH_RUNS=$RUNS bash "$ROOT/bench/s3_upload.sh" > "$W/s3.out" 2> "$W/s3.err"; then
    NOTES+=("S3 section failed: $(tail -1 "$W/s3.err")"); say "${NOTES[-1]}"; return 0
  fi
  grep -q '^| s3 upload' "$W/s3.out" || { NOTES+=("S3 section skipped: $(head -1 "$W/s3.out")"); say "${NOTES[-1]}"; return 0; }
  # s3_upload.sh prints | case | tool | wall s | MiB/s of parquet |; its times come from date, not
  # GNU time (no RSS), without a warm-up. Ratio: curl's single PUT / nebula at max_concurrency 16.
  local neb16="" curlw="" c tool w mibs bytes
  while IFS='|' read -r _ c tool w mibs _; do
    tool=$(echo "$tool" | sed 's/^ *//; s/ *$//'); w=$(echo "$w" | tr -d ' ')
    case "$tool" in *"max_concurrency 16"*) neb16=$w ;; curl*) curlw=$w ;; esac
  done < <(grep '^| s3 upload' "$W/s3.out")
  while IFS='|' read -r _ c tool w mibs _; do
    c=$(echo "$c" | sed 's/^ *//; s/ *$//'); tool=$(echo "$tool" | sed 's/^ *//; s/ *$//')
    w=$(echo "$w" | tr -d ' '); mibs=$(echo "$mibs" | tr -d ' ')
    bytes=$(awk -v m="$mibs" -v w="$w" 'BEGIN { printf "%.0f", m * 1048576 * w }')
    [ "$w" = 0 ] && w=""
    local rt="-"
    case "$tool" in *"max_concurrency 16"*) rt="1.00" ;; curl*) rt=$(ratio "$curlw" "$neb16") ;; esac
    row "$c" "$s3rows" "$tool" "$w" "-" "$bytes" "$rt"
  done < <(grep '^| s3 upload' "$W/s3.out")
  S3_CPU_TABLE=$(grep '^|' "$W/s3.out")   # the same runs with their CPU seconds, shown after the table
}
S3_CPU_TABLE=""

START=$(date +%s)
pg_section
my_section
s3_section
ELAPSED=$(( $(date +%s) - START ))

{
  echo
  echo "## Databases and object stores"
  echo
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r); $(date -u '+%Y-%m-%d %H:%M UTC'); $ROWS rows; bench/services.sh took ${ELAPSED} s."
  echo "Median of $RUNS runs after a warm-up (GNU time: wall s, peak RSS; a pipeline's RSS is its largest process)."
  echo "MB/s = MB of the table as nebula's CSV / wall s (S3: MB of Parquet uploaded). ratio = reference time / nebula time."
  echo "CDC rows: rows/s = changes delivered per second by a run that drains one UPDATE of every row; lag = from the UPDATE's commit to nebula's exit."
  echo "S3 rows come from bench/s3_upload.sh (its own timing: no RSS, no warm-up); ratio = curl -T / nebula at max_concurrency 16."
  echo
  echo "| case | rows | tool | wall s | rows/s | MB/s | peak RSS MiB | bytes/record | ratio |"
  echo "|---|---:|---|---:|---:|---:|---:|---:|---:|"
  [ ${#TABLE[@]} -gt 0 ] && printf '%s\n' "${TABLE[@]}"
  if [ -n "$S3_CPU_TABLE" ]; then
    echo
    echo "The S3 runs with CPU seconds (CPU floor = (tool + server CPU) / cores: a wall time near it means"
    echo "the upload overlaps the encoding and the two processes are out of CPU, not waiting on each other):"
    echo
    echo "$S3_CPU_TABLE"
  fi
  if [ ${#NOTES[@]} -gt 0 ]; then echo; printf -- '- %s\n' "${NOTES[@]}"; fi
} > "$W/table.md"
cat "$W/table.md"
mkdir -p "$(dirname "$RESULTS")"
cat "$W/table.md" >> "$RESULTS"
say "appended to $RESULTS"
