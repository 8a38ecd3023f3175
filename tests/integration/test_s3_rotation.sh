#!/usr/bin/env bash
# Rotation on the s3 destination against the signature-checking S3 server: one object per rotation
# named with {seq}, each a complete Parquet file on its own; a run killed with -9 mid-way and
# resumed with the same state ends with every row exactly once across the objects (read back by
# DuckDB), including when the killed run had finished an object its state did not record yet.
source "$(dirname "$0")/../e2e/lib.sh"
source "$NB_ROOT/tests/integration/s3_lib.sh"
READ="$NB_ROOT/tests/tools/parquet_read.mjs"
HAVE_DUCKDB=0
[ -d "$NB_ROOT/tests/node_modules/@duckdb/node-api" ] && HAVE_DUCKDB=1

nb spec s3; expect_out_contains "rotate_rows"; expect_out_contains "rotate_interval"

make_users_csv 5000 users.csv
# The objects under a prefix, copied out of the server's storage as local files.
fetch() {   # fetch PREFIX DIR
  rm -rf "$2"; mkdir -p "$2"
  local d="$NB_S3_DIR/data/nebula/$1"
  [ -d "$d" ] || return 0
  for f in "$d"/*._S3rver_object; do
    [ -e "$f" ] || continue
    local b; b=$(basename "$f" ._S3rver_object)
    cp "$f" "$2/$b"
  done
}
rows_sql="SELECT count(*), count(DISTINCT id), sum(id) FROM read_parquet(FILE)"

# Rotation by rows, no {seq} in the key: "-{seq}" before the extension.
s3_pipeline r.yaml users.csv "rot/{stream}.parquet" "rotate_rows: 2000"
nb run -c r.yaml --batch-size 1000 --flush-interval 0ms; expect_rc 0 "rotated s3 run"
fetch rot got
expect_eq "$(ls got | tr '\n' ' ')" "users-00000.parquet users-00001.parquet users-00002.parquet " "object names"
if [ "$HAVE_DUCKDB" = 1 ]; then
  counts=""
  for f in got/*.parquet; do counts="$counts$(node "$READ" --sql "SELECT count(*) FROM FILE" "$f") "; done
  expect_eq "$counts" '["2000"] ["2000"] ["1000"] ' "rows per object (each readable alone)"
fi
# A fresh run (no state) onto the same keys is still write-once.
nb run -c r.yaml --batch-size 1000 --flush-interval 0ms; expect_rc 1 "rerun without state"
expect_err_contains "already exists"

# CSV objects: the header is repeated in each.
s3_pipeline rc.yaml users.csv "rc/{stream}-{seq}.csv" "rotate_rows: 2500"
nb run -c rc.yaml --batch-size 500 --flush-interval 0ms; expect_rc 0 "rotated csv objects"
fetch rc gotc
expect_eq "$(ls gotc | tr '\n' ' ')" "users-00000.csv users-00001.csv " "csv object names"
for f in gotc/*.csv; do expect_eq "$(head -1 "$f")" "$(head -1 users.csv)" "header of $f"; done

# kill -9 mid-run, then resume with the same state.
# The FIFO is opened read-write by the feeder so it never blocks in open() if nebula fails early.
mkfifo in.csv
( head -n 3001 users.csv; sleep 30 ) 1<>in.csv 2>/dev/null &
feeder=$!
s3_pipeline k.yaml in.csv "kill/{stream}.parquet" "rotate_rows: 1000"
sed -i 's|^source: .*|source: { type: csv, path: in.csv, stream: users, infer_rows: 100 }|' k.yaml
"$NEBULA" run -c k.yaml --batch-size 500 --flush-interval 0ms --state st.json >"$T/out" 2>"$T/err" &
pid=$!
for _ in $(seq 1 300); do grep -q '"seq":2' st.json 2>/dev/null && break; sleep 0.05; done
grep -q '"seq":2' st.json && pass || fail "no checkpoint after two objects: $(cat st.json 2>/dev/null) $(cat "$T/err")"
sleep 0.3
kill -KILL "$pid"; wait "$pid" 2>/dev/null || true
kill $(pgrep -P "$feeder") "$feeder" 2>/dev/null || true; wait "$feeder" 2>/dev/null || true
seq=$(grep -o '"seq":[0-9]*' st.json | cut -d: -f2)
fetch kill before
expect_eq "$(ls before | wc -l)" "$seq" "objects complete at the kill = the state's seq"
# The window between finishing an object and saving the state: pretend the killed run completed
# object number $seq (with other rows) just before dying. The resumed run must replace it.
printf 'id,name\n999999,stray\n' > stray.csv
s3_pipeline s.yaml stray.csv "kill/users-0000$seq.parquet"
nb run -c s.yaml; expect_rc 0 "plant a stray object"
rm -f in.csv && cp users.csv in.csv
nb run -c k.yaml --batch-size 500 --flush-interval 0ms --state st.json
expect_rc 0 "resume after kill -9"
grep -q '"done": true' st.json && pass || fail "state not done: $(cat st.json)"
fetch kill after
n=$(ls after | wc -l)
[ "$n" -ge 4 ] && [ "$n" -le 6 ] && pass || fail "objects after resume: $n"
if [ "$HAVE_DUCKDB" = 1 ]; then
  got=$(node "$READ" --sql "$rows_sql" 'after/*.parquet')
  expect_eq "$got" '["5000","5000","12502500"]' "every row exactly once across the objects"
fi
# Objects finished before the kill were not rewritten.
for f in before/*.parquet; do expect_file_eq "after/$(basename "$f")" "$f"; done

finish
