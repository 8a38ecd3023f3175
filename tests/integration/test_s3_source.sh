#!/usr/bin/env bash
# The s3 source against the signature-checking S3 server: objects matched by a glob are streamed with
# ranged GETs (an object larger than one 8 MiB range), decompressed by extension, in lexical or
# newest-first order, and arrive byte-identical to the originals.
source "$(dirname "$0")/../e2e/lib.sh"
source "$NB_ROOT/tests/integration/s3_lib.sh"

make_users_csv 150000 big.csv          # ~10 MB: two ranges
make_users_csv 300 a.csv
awk 'NR == 1 || NR > 300' <(make_users_csv 600 /dev/stdout) > b.csv
s3_pipeline up1.yaml big.csv "in/{stream}.csv"; nb run -c up1.yaml; expect_rc 0 "upload big"
s3_pipeline up2.yaml a.csv "in/parts/{stream}.csv"; nb run -c up2.yaml; expect_rc 0 "upload a"
sleep 1.1   # LastModified has 1 s resolution
s3_pipeline up3.yaml b.csv "in/parts/{stream}.csv.gz"; nb run -c up3.yaml; expect_rc 0 "upload b.gz"

src_yaml() {   # src_yaml FILE PATH-GLOB DEST [extra source lines]
  local f=$1 glob=$2 dest=$3; shift 3
  {
    echo "name: s3src"
    echo "source:"
    echo "  type: s3"
    echo "  bucket: nebula"
    echo "  endpoint: $S3_ENDPOINT"
    echo "  path_style: true"
    echo "  access_key_id: S3RVER"
    echo "  secret_access_key: ${S3_SECRET:-S3RVER}"
    echo "  path: \"$glob\""
    for l in "$@"; do echo "  $l"; done
    echo "destination: { type: csv, path: \"$dest\" }"
  } > "$f"
}

# One large object, streamed in ranges.
src_yaml s1.yaml "in/big.csv" "got/{stream}.csv"
nb run -c s1.yaml --log-level debug; expect_rc 0 "read big object"
expect_file_eq got/big.csv big.csv
n=$(grep -c 'GET .*in/big.csv -> 206' "$T/err" || true)
[ "$n" -ge 2 ] && pass || fail "expected ranged GETs, saw $n"

# A glob over two objects (one gzip) in lexical order, then newest first, as one stream.
src_yaml s2.yaml "in/parts/*" "got/lex.csv" "stream: lex"
nb run -c s2.yaml; expect_rc 0 "glob, lexical"
cat a.csv <(tail -n +2 b.csv) > want_lex.csv
expect_file_eq got/lex.csv want_lex.csv
src_yaml s3.yaml "in/parts/*" "got/new.csv" "stream: new" "order: newest"
nb run -c s3.yaml; expect_rc 0 "glob, newest first"
cat b.csv <(tail -n +2 a.csv) > want_new.csv
expect_file_eq got/new.csv want_new.csv

# csv options pass through; discover lists the objects.
src_yaml s4.yaml "in/parts/a.csv" "got/{stream}.csv" "csv: { infer_types: false }"
nb discover -c s4.yaml; expect_rc 0 "discover"
expect_out_contains '"s3://nebula/in/parts/a.csv"'
expect_out_contains '"type":"string"'

# No match, bad credentials.
src_yaml s5.yaml "nothing/*.csv" "got/x.csv"
nb run -c s5.yaml; expect_rc 1 "no match"
expect_err_contains "no object in s3://nebula matches 'nothing/*.csv'"
S3_SECRET=wrong src_yaml s6.yaml "in/*.csv" "got/y.csv"
nb run -c s6.yaml; expect_rc 1 "wrong secret"
expect_err_contains "HTTP 403 SignatureDoesNotMatch"

finish
