#!/usr/bin/env bash
# CSV -> Parquet through the CLI, read back by DuckDB (tests/tools/parquet_read.mjs): every value,
# the codec and row-group options of the parquet destination, and a failed run leaving no file.
source "$(dirname "$0")/lib.sh"
READ="$NB_ROOT/tests/tools/parquet_read.mjs"
if ! command -v node >/dev/null || [ ! -d "$NB_ROOT/tests/node_modules/@duckdb/node-api" ]; then
  echo "NOTICE: node or tests/node_modules missing: parquet e2e skipped"; exit 77
fi

nb spec parquet; expect_rc 0 "spec parquet"
expect_out_contains "none|snappy|gzip|zstd|lz4_raw"
expect_out_contains "row_group_size"

make_users_csv 5000 users.csv
nb pipeline csv parquet --source-path users.csv --dest-path pq/users.parquet --batch-size 700
expect_rc 0 "csv -> parquet"
expect_file pq/users.parquet
expect_no_file pq/users.parquet.nebula-partial
# Every row, every column, checked against the generator's formulas.
got=$(node "$READ" --sql "SELECT count(*), bool_and(name = 'User ' || id), bool_and(email = 'user' || id || '@example.com'),
  bool_and(age = 18 + id % 60), bool_and(score::VARCHAR = ((id % 1000) + (id % 100) / 100)::DECIMAL(10,2)::DOUBLE::VARCHAR),
  bool_and(active = (id % 3 <> 0)),
  bool_and(created_at = make_timestamptz(2024, 1 + id % 12, 1 + id % 28, id % 24, id % 60, (id * 7) % 60)),
  sum(id) FROM FILE" pq/users.parquet)
expect_eq "$got" '["5000",true,true,true,true,true,true,"12502500"]' "users.parquet values"
got=$(node "$READ" --columns pq/users.parquet)
expect_eq "$got" '[["id","BIGINT"],["name","VARCHAR"],["email","VARCHAR"],["age","BIGINT"],["score","DOUBLE"],["active","BOOLEAN"],["created_at","TIMESTAMP WITH TIME ZONE"]]' "parquet column types"
got=$(node "$READ" --sql "SELECT DISTINCT compression FROM parquet_metadata(FILE)" pq/users.parquet)
expect_eq "$got" '["SNAPPY"]' "default codec"

# The file does not depend on how the rows were cut into batches or how many workers encoded them
# (byte-bounded row groups and small pages make every boundary count).
for run in "700 1" "333 3" "5000 2" "64 4"; do
  set -- $run
  nb pipeline csv parquet --source-path users.csv --dest-path pq/det-$1-$2.parquet --batch-size $1 --workers $2 \
    --dest-opt row_group_bytes=48KiB --dest-opt page_size=4KiB --dest-opt compression=zstd
  expect_rc 0 "deterministic run batch $1 workers $2"
done
for f in pq/det-333-3.parquet pq/det-5000-2.parquet pq/det-64-4.parquet; do
  cmp -s pq/det-700-1.parquet "$f" || fail "$f differs from pq/det-700-1.parquet"
done
got=$(node "$READ" --sql "SELECT count(DISTINCT row_group_id) > 3, (SELECT count(*) FROM FILE), (SELECT sum(id) FROM FILE) FROM parquet_metadata(FILE)" pq/det-64-4.parquet)
expect_eq "$got" '[true,"5000","12502500"]' "deterministic file: row groups and values"

# A pipeline file with the format options: zstd, lz4_raw, small row groups.
for codec in zstd lz4_raw gzip none; do
  cat > p_$codec.yaml <<Y
name: users-$codec
source: { type: csv, path: users.csv }
destination: { type: parquet, path: "pq/{stream}-$codec.parquet", compression: $codec, row_group_size: 1000, page_size: 64KiB }
Y
  nb run -c p_$codec.yaml; expect_rc 0 "run $codec"
  got=$(node "$READ" --sql "SELECT count(DISTINCT row_group_id), string_agg(DISTINCT compression, ','), (SELECT count(*) FROM FILE) FROM parquet_metadata(FILE)" pq/users-$codec.parquet)
  want=$(echo $codec | tr a-z A-Z | sed 's/NONE/UNCOMPRESSED/')
  expect_eq "$got" "[\"5\",\"$want\",\"5000\"]" "$codec row groups and codec"
done
# hyparquet reads the zstd one too.
node "$READ" --hyparquet pq/users-zstd.parquet > hyp.txt || fail "hyparquet zstd"
expect_eq "$(wc -l < hyp.txt)" "5000" "hyparquet rows"

# A bad option is a configuration error naming the key.
cat > bad.yaml <<'Y'
source: { type: csv, path: users.csv }
destination: { type: parquet, path: pq/bad.parquet, compression: brotli }
Y
nb run -c bad.yaml; expect_rc 2 "unknown codec"
expect_err_contains "compression"

# A value that does not fit the inferred type is a bad record: policy fail stops the run and leaves
# no file that looks complete; skip drops the row.
{ cat users.csv; echo "5001,User 5001,user5001@example.com,N/A,1.00,true,2024-01-01T00:00:00Z"; } > bad.csv
nb pipeline csv parquet --source-path bad.csv --dest-path pq/bad.parquet --set source.infer_rows=1000
expect_rc 1 "bad record with policy fail"
expect_err_contains "N/A"
expect_no_file pq/bad.parquet
expect_no_file pq/bad.parquet.nebula-partial
nb pipeline csv parquet --source-path bad.csv --dest-path pq/skip.parquet --on-bad-record skip --set source.infer_rows=1000
expect_rc 0 "bad record with policy skip"
got=$(node "$READ" --sql "SELECT count(*), max(id) FROM FILE" pq/skip.parquet)
expect_eq "$got" '["5000","5000"]' "skipped row"

finish
