#!/usr/bin/env bash
# Rotation on the gcs destination against tests/fakes/gcs_fake.mjs: one object per rotation named
# with {seq}; a run killed with -9 and resumed with the same state writes every row exactly once
# across the objects (DuckDB counts them), replacing the one object the killed run may have
# finished after its last checkpoint although uploads are otherwise ifGenerationMatch=0.
source "$(dirname "$0")/../e2e/lib.sh"
source "$NB_ROOT/tests/integration/gcs_lib.sh"
READ="$NB_ROOT/tests/tools/parquet_read.mjs"
: > noplan
start_fake noplan
sa_key key.pem sa.json
pipeline() {   # pipeline FILE SOURCE-MAP KEY [lines]
  local f=$1 src=$2 key=$3; shift 3
  { echo "name: grot"; echo "source: $src"; echo "destination:"; echo "  type: gcs"; echo "  bucket: nebula"
    echo "  endpoint: http://127.0.0.1:$GPORT"; echo "  credentials_file: sa.json"; echo "  path: \"$key\""
    for l in "$@"; do echo "  $l"; done; } > "$f"
}

make_users_csv 5000 users.csv
pipeline r.yaml "{ type: csv, path: users.csv }" "rot/{stream}.csv" "rotate_rows: 2000"
nb run -c r.yaml --batch-size 1000 --flush-interval 0ms; expect_rc 0 "rotated gcs run"
expect_eq "$(ls gcsdata/nebula/rot | tr '\n' ' ')" "users-00000.csv users-00001.csv users-00002.csv " "object names"
for f in gcsdata/nebula/rot/*.csv; do expect_eq "$(head -1 "$f")" "$(head -1 users.csv)" "header of $f"; done

mkfifo in.csv
( head -n 3001 users.csv; sleep 30 ) 1<>in.csv 2>/dev/null &   # read-write: never blocks in open()
feeder=$!
pipeline k.yaml "{ type: csv, path: in.csv, stream: users, infer_rows: 100 }" "kill/{stream}.parquet" "rotate_rows: 1000"
"$NEBULA" run -c k.yaml --batch-size 500 --flush-interval 0ms --state st.json >"$T/out" 2>"$T/err" &
pid=$!
for _ in $(seq 1 300); do grep -q '"seq":2' st.json 2>/dev/null && break; sleep 0.05; done
grep -q '"seq":2' st.json && pass || fail "no checkpoint after two objects: $(cat st.json 2>/dev/null) $(cat "$T/err")"
sleep 0.3
kill -KILL "$pid"; wait "$pid" 2>/dev/null || true
kill $(pgrep -P "$feeder") "$feeder" 2>/dev/null || true; wait "$feeder" 2>/dev/null || true
seq=$(grep -o '"seq":[0-9]*' st.json | cut -d: -f2)
expect_eq "$(ls gcsdata/nebula/kill | wc -l)" "$seq" "objects complete at the kill = the state's seq"
# As if the killed run had finished object $seq just before dying: the resumed run replaces it.
printf 'id,name\n999999,stray\n' > stray.csv
pipeline s.yaml "{ type: csv, path: stray.csv }" "kill/users-0000$seq.parquet"
nb run -c s.yaml; expect_rc 0 "plant a stray object"
rm -f in.csv && cp users.csv in.csv
nb run -c k.yaml --batch-size 500 --flush-interval 0ms --state st.json; expect_rc 0 "resume after kill -9"
n=$(ls gcsdata/nebula/kill | wc -l)
[ "$n" -ge 4 ] && [ "$n" -le 6 ] && pass || fail "objects after resume: $n"
if [ -d "$NB_ROOT/tests/node_modules/@duckdb/node-api" ]; then
  got=$(node "$READ" --sql "SELECT count(*), count(DISTINCT id), sum(id) FROM read_parquet(FILE)" 'gcsdata/nebula/kill/*.parquet')
  expect_eq "$got" '["5000","5000","12502500"]' "every row exactly once across the objects"
fi

finish
