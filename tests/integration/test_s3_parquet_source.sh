#!/usr/bin/env bash
# The s3 source with format: parquet against the signature-checking S3 server: Parquet objects
# (written by nebula's s3 destination) are read through ranged GETs, footer first, and arrive with
# the same values as reading the local file; a glob of two objects is one stream; a damaged object
# fails naming it.
source "$(dirname "$0")/../e2e/lib.sh"
source "$NB_ROOT/tests/integration/s3_lib.sh"

make_users_csv 40000 users.csv
nb pipeline csv parquet --source-path users.csv --dest-path users.parquet --dest-opt row_group_size=9000
expect_rc 0 "local parquet"
make_users_csv 500 small.csv
s3_pipeline up1.yaml users.csv "pq/{stream}.parquet" "format: parquet" "row_group_size: 9000"
nb run -c up1.yaml; expect_rc 0 "upload users.parquet"
s3_pipeline up2.yaml small.csv "pq/{stream}.parquet" "format: parquet"
nb run -c up2.yaml; expect_rc 0 "upload small.parquet"
printf 'PAR1 this is not parquet' > bad.csv
s3_pipeline up3.yaml bad.csv "bad/x.parquet" "format: csv" "compression: none"
nb run -c up3.yaml   # a CSV object under a .parquet name

src_yaml() {   # src_yaml FILE PATH-GLOB DEST [extra source lines]
  local f=$1 glob=$2 dest=$3; shift 3
  {
    echo "name: s3pq"
    echo "source:"
    echo "  type: s3"
    echo "  bucket: nebula"
    echo "  endpoint: $S3_ENDPOINT"
    echo "  path_style: true"
    echo "  access_key_id: S3RVER"
    echo "  secret_access_key: S3RVER"
    echo "  format: parquet"
    echo "  path: \"$glob\""
    for l in "$@"; do echo "  $l"; done
    echo "destination: { type: json, path: \"$dest\", format: lines }"
  } > "$f"
}

nb pipeline parquet json --source-path users.parquet --dest-path local.ndjson --format lines
expect_rc 0 "local read"
src_yaml s1.yaml "pq/users.parquet" "got/{stream}.ndjson"
nb run -c s1.yaml --log-level debug; expect_rc 0 "read a Parquet object"
expect_file_eq got/users.ndjson local.ndjson
n=$(grep -c 'GET .*pq/users.parquet -> 206' "$T/err" || true)
[ "$n" -ge 5 ] && pass || fail "expected ranged GETs (footer, then column chunks of 5 row groups), saw $n"

# Two objects as one stream, in lexical order; discover shows the schema.
nb pipeline csv parquet --source-path small.csv --dest-path small.parquet; expect_rc 0 "local small parquet"
nb pipeline parquet json --source-path small.parquet --dest-path small_local.ndjson --format lines
src_yaml s2.yaml "pq/*.parquet" "got/both.ndjson" "stream: both"
nb run -c s2.yaml; expect_rc 0 "glob of two objects"
cat small_local.ndjson local.ndjson > want_both.ndjson
expect_file_eq got/both.ndjson want_both.ndjson
nb discover -c s2.yaml; expect_rc 0 "discover"
expect_out_contains '"name":"created_at","type":"timestamptz"'

# An object that is not Parquet.
src_yaml s3.yaml "bad/x.parquet" "got/bad.ndjson"
nb run -c s3.yaml; expect_rc 1 "not parquet"
expect_err_contains "bad/x.parquet"
expect_no_file got/bad.ndjson

finish
