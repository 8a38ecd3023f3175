#!/usr/bin/env bash
# PostgreSQL types through the file formats: JSON lines (exact text) and Parquet, read back by
# DuckDB (tests/tools/parquet_read.mjs). Values that do not fit a typed column (NaN, infinity, BC)
# are bad records for Parquet, kept as text by JSON.
source "$(dirname "$0")/pg_lib.sh"
pg_start
URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
psqlq <<'SQL'
CREATE TABLE tp (id int PRIMARY KEY, b bool, i2 int2, i8 int8, n2 numeric(12,3), n numeric, f8 float8, f4 float4, tx text,
  by bytea, d date, tm time, ts timestamp, tstz timestamptz, j jsonb, u uuid, arr int[], iv interval);
INSERT INTO tp VALUES
 (1, true, -7, 9007199254740993, 123456789.125, 3.14159265358979323846264338327950288, 0.1, 0.1, 'héllo "w"', '\x00ff', '2024-02-29',
  '13:14:15.123456', '2024-01-02 03:04:05.654321', '2024-06-30 23:59:59.999999+02', '{"k": [1, "two", null]}',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{1,2}', '1 day 02:00:00'),
 (2, false, NULL, -1, -0.001, -1e-20, -1.5e300, 3.4028235e38, '', '', '1970-01-01', '00:00:00', '1970-01-01 00:00:00',
  '1969-12-31 23:59:59.999999+00', '[]', NULL, '{}', '-1 mons');
CREATE TABLE special (id int PRIMARY KEY, f8 float8, d date);
INSERT INTO special VALUES (1, 1.5, '2024-01-01'), (2, 'NaN', '2024-01-02'), (3, 2.5, 'infinity'), (4, 3.5, '0044-03-15 BC');
SQL

cat > json.yaml <<EOF
source: { type: postgres, url: "$URL", tables: [public.tp, public.special] }
destination: { type: json, path: "js/{stream}.ndjson", format: lines }
EOF
nb run -c json.yaml
expect_rc 0 "postgres -> json"
row1=$(grep '"id":1,' js/public.tp.ndjson || true)
for frag in '"b":true' '"i8":9007199254740993' '"n2":"123456789.125"' '"n":"3.14159265358979323846264338327950288"' \
            '"f8":0.1' '"tx":"héllo \"w\""' '"d":"2024-02-29"' '"tm":"13:14:15.123456"' '"ts":"2024-01-02 03:04:05.654321"' \
            '"tstz":"2024-06-30 21:59:59.999999+00:00"' '"j":{"k": [1, "two", null]}' '"arr":"{1,2}"' '"iv":"P1DT2H"'; do
  case "$row1" in *"$frag"*) pass ;; *) fail "json row 1 lacks $frag: $row1" ;; esac
done
grep -q '"f8":NaN' js/public.special.ndjson && fail "NaN must not be a bare JSON number" || pass
expect_eq "$(wc -l < js/public.special.ndjson | tr -d ' ')" "4" "json keeps every special row"

READ="$NB_ROOT/tests/tools/parquet_read.mjs"
if command -v node >/dev/null && [ -d "$NB_ROOT/tests/node_modules/@duckdb/node-api" ]; then
  cat > pq.yaml <<EOF
source: { type: postgres, url: "$URL", tables: [public.tp] }
destination: { type: parquet, path: "pq/{stream}.parquet" }
EOF
  nb run -c pq.yaml
  expect_rc 0 "postgres -> parquet"
  got=$(node "$READ" --sql "SELECT id, b, i2, i8, n2::VARCHAR, f8, tx, hex(\"by\"), d, tm, ts::VARCHAR, epoch_us(tstz) FROM FILE ORDER BY id" pq/public.tp.parquet)
  expect_eq "$(echo "$got" | head -1)" '[1,true,-7,"9007199254740993","123456789.125",0.1,"héllo \"w\"","00FF","2024-02-29","13:14:15.123456","2024-01-02 03:04:05.654321","1719784799999999"]' "parquet row 1"
  expect_eq "$(echo "$got" | sed -n 2p)" '[2,false,null,"-1","-0.001",-1.5e+300,"","","1970-01-01","00:00:00","1970-01-01 00:00:00","-1"]' "parquet row 2"
  cat > pq2.yaml <<EOF
source: { type: postgres, url: "$URL", tables: [public.special] }
destination: { type: parquet, path: "pq/{stream}.parquet" }
errors: { on_bad_record: skip }
EOF
  nb run -c pq2.yaml
  expect_rc 0 "special values to parquet (skip)"
  expect_eq "$(node "$READ" --sql "SELECT list(id ORDER BY id) FROM FILE" pq/public.special.parquet)" '[[1]]' "only the row that fits a typed column"
else
  echo "NOTICE: node or tests/node_modules missing: the Parquet part is skipped"
fi
finish
