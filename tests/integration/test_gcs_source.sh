#!/usr/bin/env bash
# The gcs source against tests/fakes/gcs_fake.mjs: objects written by the gcs destination are listed
# (paged), streamed with ranged media GETs pinned to their generation, decompressed by extension, in
# name or newest-first order, and arrive byte-identical.
source "$(dirname "$0")/../e2e/lib.sh"
source "$NB_ROOT/tests/integration/gcs_lib.sh"
: > noplan
start_fake noplan
sa_key key.pem sa.json

upload() {   # upload SRC KEY
  { echo "name: up"; echo "source: { type: csv, path: $1 }"; echo "destination:"; echo "  type: gcs"; echo "  bucket: nebula"
    echo "  endpoint: http://127.0.0.1:$GPORT"; echo "  credentials_file: sa.json"; echo "  path: \"$2\""; } > up.yaml
  nb run -c up.yaml; expect_rc 0 "upload $2"
}
src_yaml() {   # src_yaml FILE GLOB DEST [lines]
  local f=$1 glob=$2 dest=$3; shift 3
  { echo "name: gsrc"; echo "source:"; echo "  type: gcs"; echo "  bucket: nebula"; echo "  endpoint: http://127.0.0.1:$GPORT"
    echo "  credentials_file: sa.json"; echo "  path: \"$glob\""; for l in "$@"; do echo "  $l"; done
    echo "destination: { type: csv, path: \"$dest\" }"; } > "$f"
}
make_users_csv 150000 big.csv
make_users_csv 300 a.csv
awk 'NR == 1 || NR > 300' <(make_users_csv 600 /dev/stdout) > b.csv
make_users_csv 50 c.csv
upload big.csv "in/{stream}.csv"
upload a.csv "in/parts/{stream}.csv"
upload c.csv "in/parts/{stream}.csv"
sleep 0.05
upload b.csv "in/parts/{stream}.csv.gz"

src_yaml s1.yaml "in/big.csv" "got/{stream}.csv"
nb run -c s1.yaml --log-level debug; expect_rc 0 "read big object"
expect_file_eq got/big.csv big.csv
n=$(grep -c 'alt=media.* -> 206' "$T/err" || true)
[ "$n" -ge 2 ] && pass || fail "expected ranged GETs, saw $n"
grep -q 'ya29\.' "$T/err" && fail "token in the debug log" || pass

src_yaml s2.yaml "in/parts/[ab]*" "got/lex.csv" "stream: lex"
nb run -c s2.yaml; expect_rc 0 "glob, by name (listing paged)"
cat a.csv <(tail -n +2 b.csv) > want_lex.csv
expect_file_eq got/lex.csv want_lex.csv
src_yaml s3.yaml "in/parts/*" "got/new.csv" "stream: new" "order: newest"
nb run -c s3.yaml; expect_rc 0 "glob, newest first"
cat b.csv <(tail -n +2 c.csv) <(tail -n +2 a.csv) > want_new.csv
expect_file_eq got/new.csv want_new.csv

src_yaml s4.yaml "nothing/*" "got/x.csv"
nb run -c s4.yaml; expect_rc 1 "no match"
expect_err_contains "no object in gs://nebula matches 'nothing/*'"
finish
