#!/usr/bin/env bash
# The s3 source in incremental mode (objects remembered by key + ETag in the state: a rerun reads
# only new or changed objects) and reading JSON objects (NDJSON and arrays, format: json), against
# the signature-checking S3 server.
source "$(dirname "$0")/../e2e/lib.sh"
source "$NB_ROOT/tests/integration/s3_lib.sh"

rows() {   # rows FROM TO FILE: users rows FROM..TO with the header
  awk -v a="$1" -v b="$2" 'NR == 1 || (NR - 1 >= a && NR - 1 <= b)' all.csv > "$3"
}
upload() {   # upload LOCAL KEY
  s3_pipeline up.yaml "$1" "$2" "overwrite: true"
  nb run -c up.yaml; expect_rc 0 "upload $2"
}
src_yaml() {   # src_yaml FILE GLOB DEST [extra source lines]
  local f=$1 glob=$2 dest=$3; shift 3
  {
    echo "name: s3inc"
    echo "source:"
    echo "  type: s3"
    echo "  bucket: nebula"
    echo "  endpoint: $S3_ENDPOINT"
    echo "  path_style: true"
    echo "  access_key_id: S3RVER"
    echo "  secret_access_key: S3RVER"
    echo "  path: \"$glob\""
    for l in "$@"; do echo "  $l"; done
    echo "destination: { type: csv, path: \"$dest\" }"
  } > "$f"
}
body() { tail -n +2 "$1"; }

nb spec s3; expect_out_contains "full_refresh|incremental"; expect_out_contains "csv|json"

make_users_csv 2000 all.csv
rows 1 300 a.csv; rows 301 600 b.csv
upload a.csv inc/a.csv; upload b.csv inc/b.csv

src_yaml i.yaml "inc/*.csv" "res/{stream}-{run_id}.csv" "stream: users" "mode: incremental"
# Without a fixed stream name the state could not follow the stream: refused.
src_yaml bad.yaml "inc/*.csv" "res/x.csv" "mode: incremental"
nb run -c bad.yaml --state bad.json; expect_rc 2 "incremental without stream"; expect_err_contains "needs \`stream\`"

# Run 1 loads both objects.
nb run -c i.yaml --state st.json; expect_rc 0 "incremental run 1"
f1=$(ls res/users-*.csv)
cat a.csv <(body b.csv) > want1.csv
expect_file_eq "$f1" want1.csv
grep -q '"s3://nebula/inc/a.csv":"' st.json && pass || fail "state lacks the loaded objects: $(cat st.json)"

# One new object (c), one overwritten (a, new rows and so a new ETag), one untouched (b).
rows 601 700 c.csv; rows 1001 1050 a2.csv
upload c.csv inc/c.csv; upload a2.csv inc/a.csv
sleep 1.1   # {run_id} has 1 s resolution
nb run -c i.yaml --state st.json; expect_rc 0 "incremental run 2"
expect_err_contains "2 new or changed objects, 1 already loaded"
f2=$(ls res/users-*.csv | grep -v "$f1")
cat a2.csv <(body c.csv) > want2.csv
expect_file_eq "$f2" want2.csv
expect_eq "$(summary_field "rows out")" "150" "rows of run 2"

# Run 3: nothing changed, nothing read, no new output.
sleep 1.1
nb run -c i.yaml --state st.json; expect_rc 0 "incremental run 3"
expect_err_contains "0 new or changed objects, 3 already loaded"
expect_eq "$(ls res | wc -l)" "2" "no output for an empty increment"

# Run 4: b is deleted (as by a lifecycle rule) and d arrives: d is read, b leaves the saved set.
rm -f "$NB_S3_DIR/data/nebula/inc/b.csv._S3rver_"*
rows 701 720 d.csv; upload d.csv inc/d.csv
sleep 1.1
nb run -c i.yaml --state st.json; expect_rc 0 "incremental run 4"
expect_err_contains "1 new or changed objects, 2 already loaded"
expect_err_contains "1 loaded object is no longer listed, forgotten"
expect_eq "$(summary_field "rows out")" "20" "rows of run 4"
grep -q 'inc/b.csv' st.json && fail "the deleted object is still in the state: $(cat st.json)" || pass
for k in a c d; do grep -q "\"s3://nebula/inc/$k.csv\":\"" st.json && pass || fail "state lacks inc/$k.csv: $(cat st.json)"; done

# full_refresh (the default) with a finished state stays a no-op rerun, as for local files.
src_yaml f.yaml "inc/*.csv" "full/{stream}.csv" "stream: users"
nb run -c f.yaml --state fst.json; expect_rc 0 "full refresh"
cat a2.csv <(body c.csv) <(body d.csv) > want_full.csv
expect_file_eq full/users.csv want_full.csv
nb run -c f.yaml --state fst.json; expect_rc 0 "full refresh rerun"
expect_file_eq full/users.csv want_full.csv

# JSON objects: NDJSON (gzip) and a JSON array, read as the json source reads local files.
nb pipeline csv json --source-path a.csv --dest-path a.ndjson --format lines; expect_rc 0 "local ndjson"
nb pipeline csv json --source-path b.csv --dest-path b.json --format array; expect_rc 0 "local json array"
gzip -c a.ndjson > a.ndjson.gz
s3_pipeline upj.yaml a.csv "js/a.ndjson.gz" "overwrite: true"; nb run -c upj.yaml; expect_rc 0 "upload ndjson.gz"
s3_pipeline upj2.yaml b.csv "js/b.json" "overwrite: true" "json_format: array"; nb run -c upj2.yaml; expect_rc 0 "upload json array"
nb pipeline json json --source-path "a.ndjson.gz" --dest-path want_a.ndjson --format lines; expect_rc 0 "local json read"
{
  echo "name: s3json"
  echo "source: { type: s3, bucket: nebula, endpoint: \"$S3_ENDPOINT\", path_style: true, access_key_id: S3RVER,"
  echo "          secret_access_key: S3RVER, path: \"js/a.ndjson.gz\", format: json }"
  echo "destination: { type: json, path: \"gotj/{stream}.ndjson\" }"
} > j.yaml
nb run -c j.yaml; expect_rc 0 "s3 ndjson.gz source"
expect_file_eq gotj/a.ndjson want_a.ndjson
sed -i 's|js/a.ndjson.gz|js/*|; s|gotj/{stream}.ndjson|gotj/all.ndjson|' j.yaml
sed -i 's|format: json }|format: json, stream: all, json: { format: auto } }|' j.yaml
nb run -c j.yaml; expect_rc 0 "s3 json glob (ndjson + array)"
nb pipeline csv json --source-path want1.csv --dest-path want_all.ndjson --format lines; expect_rc 0 "local want"
expect_file_eq gotj/all.ndjson want_all.ndjson

finish
