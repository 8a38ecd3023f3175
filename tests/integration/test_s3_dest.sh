#!/usr/bin/env bash
# The s3 destination against a real S3-compatible server that verifies SigV4 signatures
# (@20minutes/s3rver): single PUTs and concurrent multipart uploads, every format read back by an
# independent reader (DuckDB for Parquet, avsc for Avro, byte comparison with the local file
# destination for CSV/JSON), write-once objects, clear errors for bad credentials and buckets.
source "$(dirname "$0")/../e2e/lib.sh"
source "$NB_ROOT/tests/integration/s3_lib.sh"
READ="$NB_ROOT/tests/tools/parquet_read.mjs"

nb spec s3; expect_rc 0 "spec s3"
expect_out_contains "secret_access_key"
expect_out_contains "part_size"

make_users_csv 5000 users.csv
make_users_csv 150000 big.csv     # ~10 MB of CSV: several 5 MiB parts

# Parquet, one PUT; read back by DuckDB, every value against the generator's formulas.
s3_pipeline p.yaml users.csv "pq/{stream}.parquet" "format: parquet" "compression: zstd"
nb run -c p.yaml; expect_rc 0 "csv -> s3 parquet"
obj=$(s3_object nebula pq/users.parquet)
expect_file "$obj"
if [ -d "$NB_ROOT/tests/node_modules/@duckdb/node-api" ]; then
  cp "$obj" users.parquet
  got=$(node "$READ" --sql "SELECT count(*), bool_and(name = 'User ' || id), bool_and(email = 'user' || id || '@example.com'),
    bool_and(age = 18 + id % 60), bool_and(active = (id % 3 <> 0)),
    bool_and(created_at = make_timestamptz(2024, 1 + id % 12, 1 + id % 28, id % 24, id % 60, (id * 7) % 60)),
    sum(id) FROM FILE" users.parquet)
  expect_eq "$got" '["5000",true,true,true,true,true,"12502500"]' "parquet from s3 read by DuckDB"
  got=$(node "$READ" --sql "SELECT DISTINCT compression FROM parquet_metadata(FILE)" users.parquet)
  expect_eq "$got" '["ZSTD"]' "parquet compression"
  node "$READ" --hyparquet users.parquet > hyp.txt || fail "hyparquet reads the object"
  expect_eq "$(wc -l < hyp.txt)" "5000" "hyparquet rows"
fi

# CSV through concurrent multipart (5 MiB parts, 4 at a time): byte-identical to the local csv destination.
nb pipeline csv csv --source-path big.csv --dest-path local/big.csv; expect_rc 0 "local csv"
s3_pipeline c.yaml big.csv "csv/{stream}.csv" "part_size: 5MiB" "max_concurrency: 4"
nb run -c c.yaml --log-level debug; expect_rc 0 "csv -> s3 multipart"
expect_file_eq "$(s3_object nebula csv/big.csv)" local/big.csv
n_parts=$(grep -c 'PUT .*partNumber=' "$T/err" || true)
[ "$n_parts" -ge 2 ] && pass || fail "expected several parts, saw $n_parts"
grep -q 'uploads -> 200' "$T/err" && pass || fail "no multipart upload started"
# Request logs never carry credentials.
grep -q 'Signature=\|S3RVER' "$T/err" && fail "credentials or signature in the debug log" || pass

# NDJSON + gzip around the object.
nb pipeline csv json --source-path users.csv --dest-path local/users.ndjson; expect_rc 0 "local ndjson"
s3_pipeline j.yaml users.csv "js/{stream}.ndjson.gz"
nb run -c j.yaml; expect_rc 0 "csv -> s3 ndjson.gz"
gzip -dc "$(s3_object nebula js/users.ndjson.gz)" > got.ndjson || fail "gzip object"
expect_file_eq got.ndjson local/users.ndjson

# Avro, read by avsc.
s3_pipeline a.yaml users.csv "av/{stream}.avro" "compression: deflate"
nb run -c a.yaml; expect_rc 0 "csv -> s3 avro"
cp "$(s3_object nebula av/users.avro)" users.avro
got=$(node "$NB_ROOT/tests/tools/avro_read.mjs" users.avro | head -1)
case "$got" in *'"rows":5000'*) pass ;; *) fail "avro read back: $got" ;; esac

# Key templates.
s3_pipeline t.yaml users.csv "t/{yyyy}/{mm}/{dd}/{stream}-{seq}.csv"
nb run -c t.yaml; expect_rc 0 "templated key"
expect_file "$(s3_object nebula "t/$(date -u +%Y/%m/%d)/users-00000.csv")"

# Write-once: a rerun does not overwrite a finished object silently; overwrite: true does.
before=$(md5sum < "$(s3_object nebula csv/big.csv)")
s3_pipeline c2.yaml users.csv "csv/big.csv"
nb run -c c2.yaml; expect_rc 1 "rerun onto an existing object"
expect_err_contains "already exists"
expect_eq "$(md5sum < "$(s3_object nebula csv/big.csv)")" "$before" "object untouched"
s3_pipeline c3.yaml users.csv "csv/big.csv" "overwrite: true"
nb run -c c3.yaml; expect_rc 0 "overwrite: true"
nb pipeline csv csv --source-path users.csv --dest-path local/users.csv
expect_file_eq "$(s3_object nebula csv/big.csv)" local/users.csv

# Bad credentials: a clear 403 naming the bucket and key; wrong bucket: NoSuchBucket.
S3_SECRET=wrong s3_pipeline bad.yaml users.csv "bad/{stream}.csv"
nb run -c bad.yaml; expect_rc 1 "wrong secret"
expect_err_contains "HTTP 403"
expect_err_contains "s3://nebula/bad/users.csv"
grep -q "wrong" "$T/err" && fail "the secret appears in the error" || pass
expect_no_file "$(s3_object nebula bad/users.csv)"
S3_BUCKET=missing s3_pipeline nob.yaml users.csv "x/{stream}.csv" "overwrite: true"
nb run -c nob.yaml; expect_rc 1 "missing bucket"
expect_err_contains "NoSuchBucket"
expect_err_contains "s3://missing/x/users.csv"

# check: lists the bucket.
nb check -c p.yaml; expect_rc 0 "check"
S3_SECRET=wrong s3_pipeline badc.yaml users.csv "x.csv"
nb check -c badc.yaml; expect_rc 1 "check with a wrong secret"
expect_err_contains "403"

finish
