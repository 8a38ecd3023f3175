#!/usr/bin/env bash
# The gcs destination against tests/fakes/gcs_fake.mjs (resumable uploads and OAuth2 as documented):
# a service-account key made here signs the JWT the fake verifies; objects go up in 256 KiB-multiple
# chunks with CRC32C; a dropped connection mid-chunk, 500 and 503 are resumed from the session's
# offset; ifGenerationMatch=0 refuses to overwrite; bad keys and buckets give clear errors.
source "$(dirname "$0")/../e2e/lib.sh"
source "$NB_ROOT/tests/integration/gcs_lib.sh"
READ="$NB_ROOT/tests/tools/parquet_read.mjs"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out other.pem 2>/dev/null

pipeline() {   # pipeline FILE SRC KEY [lines]
  local f=$1 src=$2 key=$3; shift 3
  { echo "name: gcstest"; echo "source: { type: csv, path: $src }"; echo "destination:"; echo "  type: gcs"
    echo "  bucket: ${GBUCKET:-nebula}"; echo "  endpoint: http://127.0.0.1:$GPORT"; echo "  credentials_file: ${GKEY:-sa.json}"
    echo "  path: \"$key\""; for l in "$@"; do echo "  $l"; done; } > "$f"
}

nb spec gcs; expect_rc 0 "spec gcs"
expect_out_contains "chunk_size"
make_users_csv 30000 users.csv       # ~2 MB: eight 256 KiB chunks
nb pipeline csv csv --source-path users.csv --dest-path local/users.csv; expect_rc 0 "local csv"

: > noplan
start_fake noplan
sa_key key.pem sa.json
pipeline g1.yaml users.csv "csv/{stream}.csv" "chunk_size: 256KiB"
nb run -c g1.yaml --log-level debug; expect_rc 0 "csv -> gcs"
expect_file_eq gcsdata/nebula/csv/users.csv local/users.csv
n=$(grep -c '^ok - PUT /upload' fake.log || true)
[ "$n" -ge 8 ] && pass || fail "expected several chunks, saw $n"
expect_eq "$(grep -c '^token 200' fake.log)" 1 "one token, cached across requests"
grep -q 'ya29\.' "$T/err" && fail "access token in the debug log" || pass

# Parquet, read back by DuckDB.
if [ -d "$NB_ROOT/tests/node_modules/@duckdb/node-api" ]; then
  pipeline g2.yaml users.csv "pq/{stream}.parquet"
  nb run -c g2.yaml; expect_rc 0 "csv -> gcs parquet"
  got=$(node "$READ" --sql "SELECT count(*), sum(id), bool_and(email = 'user' || id || '@example.com') FROM FILE" gcsdata/nebula/pq/users.parquet)
  expect_eq "$got" '["30000","450015000",true]' "parquet from gcs"
fi

# Write-once: ifGenerationMatch=0.
nb run -c g1.yaml; expect_rc 1 "rerun onto an existing object"
expect_err_contains "HTTP 412"
expect_err_contains "gs://nebula/csv/users.csv"
nb check -c g1.yaml; expect_rc 0 "check"
stop_fake

# Faults: a connection dropped mid-chunk (the aligned prefix persisted), 500, 503.
cat > plan <<'P'
badtoken ^PUT /upload.*upload_id
drop ^PUT /upload.*upload_id
500 ^PUT /upload.*upload_id
503 ^PUT /upload.*upload_id
drop ^PUT /upload.*upload_id
P
start_fake plan
sa_key key.pem sa.json
pipeline g3.yaml users.csv "f/{stream}.csv" "chunk_size: 512KiB" "retry_base: 10ms" "retry_max: 50ms"
nb run -c g3.yaml --log-level debug; expect_rc 0 "upload through faults"
expect_file_eq gcsdata/nebula/f/users.csv local/users.csv
for f in "drop 0 PUT" "500 500 PUT" "503 503 PUT"; do
  grep -q "^$f" fake.log && pass || fail "fault '$f' not exercised: $(cat fake.log)"
done
grep -q "asking the session for its offset" "$T/err" && pass || fail "no resume after the drop"
grep -q "^401 401 PUT" fake.log && pass || fail "revoked token not exercised"
expect_eq "$(grep -c '^token 200' fake.log)" 2 "a new token after the 401"

# Wrong key (signature the fake rejects), unknown bucket.
sa_key other.pem bad.json
GKEY=bad.json pipeline g4.yaml users.csv "x/{stream}.csv"
nb run -c g4.yaml; expect_rc 1 "wrong key"
expect_err_contains "Invalid JWT Signature"
grep -q "PRIVATE KEY" "$T/err" && fail "key material in the error" || pass
GBUCKET=missing pipeline g5.yaml users.csv "x/{stream}.csv"
nb run -c g5.yaml; expect_rc 1 "missing bucket"
expect_err_contains "HTTP 404"
expect_err_contains "gs://missing/x/users.csv"
stop_fake

finish
