#!/usr/bin/env bash
# The gcs source against tests/fakes/gcs_fake.mjs: incremental mode (objects remembered by name +
# generation: a rerun reads only new or overwritten objects), NDJSON objects (format: json), and a
# token refused once with 401 on the listing and on a media GET (refreshed, retried once).
source "$(dirname "$0")/../e2e/lib.sh"
source "$NB_ROOT/tests/integration/gcs_lib.sh"
cat > plan <<'P'
badtoken ^GET /storage/v1/b/nebula/o\?prefix=inc
badtoken ^GET /storage/v1/b/nebula/o/inc%2Fa\.csv\?alt=media
P
start_fake plan
sa_key key.pem sa.json

upload() {   # upload SRC KEY
  { echo "name: up"; echo "source: { type: csv, path: $1 }"; echo "destination:"; echo "  type: gcs"; echo "  bucket: nebula"
    echo "  endpoint: http://127.0.0.1:$GPORT"; echo "  credentials_file: sa.json"; echo "  path: \"$2\""
    echo "  overwrite: true"; } > up.yaml
  nb run -c up.yaml; expect_rc 0 "upload $2"
}
src_yaml() {   # src_yaml FILE GLOB DEST [lines]
  local f=$1 glob=$2 dest=$3; shift 3
  { echo "name: ginc"; echo "source:"; echo "  type: gcs"; echo "  bucket: nebula"; echo "  endpoint: http://127.0.0.1:$GPORT"
    echo "  credentials_file: sa.json"; echo "  path: \"$glob\""; for l in "$@"; do echo "  $l"; done
    echo "destination: { type: csv, path: \"$dest\" }"; } > "$f"
}
rows() { awk -v a="$1" -v b="$2" 'NR == 1 || (NR - 1 >= a && NR - 1 <= b)' all.csv > "$3"; }
body() { tail -n +2 "$1"; }

make_users_csv 2000 all.csv
rows 1 300 a.csv; rows 301 600 b.csv
upload a.csv inc/a.csv; upload b.csv inc/b.csv

src_yaml i.yaml "inc/*" "res/{stream}-{run_id}.csv" "stream: users" "mode: incremental"
nb run -c i.yaml --state st.json --log-level debug; expect_rc 0 "incremental run 1 (through two 401s)"
expect_err_contains "refreshing the access token"
n=$(grep -c '^401 ' fake.log || true)
expect_eq "$n" "2" "401s answered by the fake"
f1=$(ls res/users-*.csv)
cat a.csv <(body b.csv) > want1.csv
expect_file_eq "$f1" want1.csv

rows 601 700 c.csv; rows 1001 1050 a2.csv
upload c.csv inc/c.csv; upload a2.csv inc/a.csv    # a new object and a new generation of a
sleep 1.1
nb run -c i.yaml --state st.json; expect_rc 0 "incremental run 2"
expect_err_contains "2 new or changed objects, 1 already loaded"
f2=$(ls res/users-*.csv | grep -v "$f1")
cat a2.csv <(body c.csv) > want2.csv
expect_file_eq "$f2" want2.csv

# NDJSON objects through the json source.
nb pipeline csv json --source-path a.csv --dest-path want.ndjson --format lines; expect_rc 0 "local ndjson"
upload a.csv js/a.ndjson
{ echo "name: gj"; echo "source: { type: gcs, bucket: nebula, endpoint: \"http://127.0.0.1:$GPORT\", credentials_file: sa.json,"
  echo "          path: js/a.ndjson, format: json }"; echo "destination: { type: json, path: \"gotj/{stream}.ndjson\" }"; } > j.yaml
nb run -c j.yaml; expect_rc 0 "gcs ndjson source"
nb pipeline json json --source-path want.ndjson --dest-path want2.ndjson --format lines; expect_rc 0 "local json -> json"
expect_file_eq gotj/a.ndjson want2.ndjson

finish
