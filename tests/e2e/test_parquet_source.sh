#!/usr/bin/env bash
# The parquet source: DuckDB writes Parquet files (every type, nulls, each codec, dictionary and plain,
# data pages v1 and v2, several row groups, 0 rows) and nebula's NDJSON of each equals DuckDB's own
# reading value by value (tests/tools/parquet_source_check.mjs); our writer -> our reader round trips
# the nb-gen shapes; globs, streams, discover, resume; broken files fail cleanly naming the file.
source "$(dirname "$0")/lib.sh"
CHECK="$NB_ROOT/tests/tools/parquet_source_check.mjs"
GEN="$NB_BUILD/bin/nb-gen"
if ! command -v node >/dev/null || [ ! -d "$NB_ROOT/tests/node_modules/@duckdb/node-api" ]; then
  echo "NOTICE: node or tests/node_modules missing: parquet source e2e skipped"; exit 77
fi
check() { node --harmony-json-parse-with-source "$CHECK" "$@" >"$T/cmp" 2>&1 && pass || fail "$(cat "$T/cmp")"; }

nb spec parquet; expect_rc 0 "spec parquet"
expect_out_contains "stream_per_file"
expect_out_contains "source"

node "$CHECK" gen duck || { fail "DuckDB could not write the test files"; finish; exit 1; }
for f in duck/*.parquet; do
  b=$(basename "$f" .parquet)
  nb pipeline parquet json --source-path "$f" --dest-path "got/$b.ndjson" --format lines --batch-size 700
  expect_rc 0 "read $b"
  check compare "$f" "got/$b.ndjson"
done
expect_eq "$(wc -c < got/empty.ndjson)" "0" "a file with 0 rows gives an empty output"

# discover: the schema as our types.
printf 'name: d\nsource: { type: parquet, path: duck/types_zstd.parquet }\ndestination: { type: json, path: d.ndjson }\n' > d.yaml
nb discover -c d.yaml
expect_rc 0 "discover"
for t in '"name":"u64","type":"decimal(20,0)"' '"name":"dec38","type":"decimal(38,10)"' '"name":"f","type":"float64"' \
  '"name":"ts_ms","type":"timestamp"' '"name":"tstz","type":"timestamptz"' '"name":"dt","type":"date"' \
  '"name":"tm","type":"time"' '"name":"bl","type":"binary"' '"name":"j","type":"json"' '"name":"uid","type":"string"'; do
  expect_out_contains "$t"
done

# A glob: one stream in file order, or one stream per file (files of other layouts are refused in one stream).
cp duck/types_snappy.parquet duck/types_gzip.parquet .
nb pipeline parquet json --source-path 'types_*.parquet' --dest-path glob.ndjson --format lines
expect_rc 0 "glob as one stream"
cat got/types_gzip.ndjson got/types_snappy.ndjson > want_glob.ndjson
expect_file_eq glob.ndjson want_glob.ndjson
cat > per_file.yaml <<Y
name: per-file
source: { type: parquet, path: "types_*.parquet", stream_per_file: true }
destination: { type: json, path: "pf/{stream}.ndjson", format: lines }
Y
nb run -c per_file.yaml; expect_rc 0 "stream per file"
expect_file_eq pf/types_snappy.ndjson got/types_snappy.ndjson
expect_file_eq pf/types_gzip.ndjson got/types_gzip.ndjson
cp duck/required.parquet types_zz.parquet
nb pipeline parquet json --source-path 'types_*.parquet' --dest-path mixed.ndjson
expect_rc 1 "files of two layouts in one stream"
expect_err_contains "types_zz.parquet has other columns"
expect_no_file mixed.ndjson

# Our writer -> our reader equals CSV -> NDJSON directly, on the nasty and wide shapes.
for shape in nasty wide users; do
  "$GEN" $shape 3000 csv > $shape.csv
  nb pipeline csv parquet --source-path $shape.csv --dest-path $shape.parquet --dest-opt row_group_size=1000 \
    --dest-opt page_size=4KiB --dest-opt compression=zstd
  expect_rc 0 "$shape csv -> parquet"
  nb pipeline parquet json --source-path $shape.parquet --dest-path $shape.pq.ndjson --format lines --batch-size 333
  expect_rc 0 "$shape parquet -> json"
  nb pipeline csv json --source-path $shape.csv --dest-path $shape.csv.ndjson --format lines
  expect_rc 0 "$shape csv -> json"
  check same $shape.pq.ndjson $shape.csv.ndjson
done

# Resume: a saved position (file, row group, row) continues at the next row.
nb pipeline parquet json --source-path users.parquet --dest-path full.ndjson --format lines
cat > st.json <<J
{"version": 1, "pipeline": "parquet-to-json", "streams": {"users": {"source": {"file":"users.parquet","row_group":1,"row":250},
 "destination": null, "rows": 1250, "done": false}}}
J
nb pipeline parquet json --source-path users.parquet --dest-path rest.ndjson --format lines --state st.json
expect_rc 0 "resume at row group 1, row 250"
tail -n +1251 full.ndjson > want_rest.ndjson
expect_file_eq rest.ndjson want_rest.ndjson
# A run killed part-way resumes from its last checkpoint and ends identical to a clean run.
"$GEN" users 200000 csv > big.csv
nb pipeline csv parquet --source-path big.csv --dest-path big.parquet --dest-opt row_group_size=7000
nb pipeline parquet json --source-path big.parquet --dest-path big_clean.ndjson --format lines
"$NEBULA" pipeline parquet json --source-path big.parquet --dest-path big.ndjson --format lines --batch-size 500 \
  --state kst.json --flush-interval 20ms >"$T/out" 2>"$T/err" &
pid=$!
for _ in $(seq 1 400); do grep -qs '"rows": [1-9]' kst.json && break; sleep 0.01; done
kill -KILL $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
nb pipeline parquet json --source-path big.parquet --dest-path big.ndjson --format lines --state kst.json
expect_rc 0 "resume after kill -9"
expect_file_eq big.ndjson big_clean.ndjson

# Broken files: a clear error naming the file, exit 1, no output that looks complete.
f=duck/types_zstd.parquet
sz=$(stat -c %s $f)
head -c $((sz / 2)) $f > truncated.parquet
cp $f badfooter.parquet
printf '\xff\xff\xff\x7f' | dd of=badfooter.parquet bs=1 seek=$((sz - 8)) conv=notrunc 2>/dev/null
cp $f garbled.parquet   # the metadata itself overwritten in places
mlen=$(od -An -tu4 -j $((sz - 8)) -N4 $f | tr -d ' ')
for i in $(seq 20 37 $((mlen - 1))); do printf '\xff' | dd of=garbled.parquet bs=1 seek=$((sz - 8 - mlen + i)) conv=notrunc 2>/dev/null; done
cp $f badpage.parquet   # page data overwritten: a page header or compressed page no longer decodes
for i in $(seq 200 997 $((sz / 2))); do printf '\xa5\x5a\xff' | dd of=badpage.parquet bs=1 seek=$i conv=notrunc 2>/dev/null; done
cp nasty.csv notparquet.parquet
: > zero.parquet
for x in truncated badfooter garbled badpage notparquet zero; do
  nb pipeline parquet json --source-path $x.parquet --dest-path bad_$x.ndjson
  expect_rc 1 "$x"
  expect_err_contains "$x.parquet"
  expect_no_file bad_$x.ndjson
done
expect_err_contains "not a Parquet file"
nb pipeline parquet json --source-path missing.parquet --dest-path m.ndjson
expect_rc 1 "a path that matches nothing (as the csv source)"
expect_err_contains "missing.parquet"

finish
