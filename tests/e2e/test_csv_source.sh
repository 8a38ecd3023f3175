#!/usr/bin/env bash
# The csv connector's own options as a user drives them: globs into one stream or one per file,
# dialect options, discover, --batch-size, CSV -> CSV with null vs "" kept, a long-line guard.
source "$(dirname "$0")/lib.sh"

mkdir -p data
printf 'id,name\n1,ann\n2,"b, ob"\n' > data/part_1.csv
printf 'id,name\r\n3,cy\r\n4,""\r\n5,\r\n' > data/part_2.csv
gzip -c data/part_1.csv > data/part_3.csv.gz
printf 'id,name\n6,dee\n' | gzip -c > data/part_3.csv.gz

# One stream for all matched files (the default), named by the first file's base name.
nb pipeline csv json --source-path 'data/part_*' --dest-path all.ndjson --format lines
expect_rc 0 "glob, one stream"
expect_eq "$(wc -l < all.ndjson)" "6" "six rows from three files"
expect_eq "$(sed -n 2p all.ndjson)" '{"id":2,"name":"b, ob"}' "quoted comma"
expect_eq "$(sed -n 4p all.ndjson)" '{"id":4,"name":""}' "quoted empty is the empty string"
expect_eq "$(sed -n 5p all.ndjson)" '{"id":5,"name":null}' "empty unquoted is null"

# One stream per file: {stream} in the destination path.
nb pipeline csv json --source-path 'data/part_*' --dest-path 'per/{stream}.ndjson' --format lines --source-opt stream_per_file=true
expect_rc 0 "stream per file"
expect_file per/part_1.ndjson; expect_file per/part_2.ndjson; expect_file per/part_3.ndjson
expect_eq "$(cat per/part_3.ndjson)" '{"id":6,"name":"dee"}' "compressed file as its own stream"

# discover shows streams, files and inferred types ("007" stays a string).
printf 'code,amount,day\n007,291.07,2024-01-31\n010,1.5,2024-02-01\n' > codes.csv
cat > p.yaml <<Y
source: { type: csv, path: codes.csv }
destination: { type: json, path: "o/{stream}.json" }
Y
nb discover -c p.yaml; expect_rc 0 "discover"
expect_out_contains '"name":"codes"'
expect_out_contains '{"name":"code","type":"string"'
expect_out_contains '{"name":"amount","type":"float64"'
expect_out_contains '{"name":"day","type":"date"'

# Dialect options through a pipeline file.
printf 'exported by a tool\n# a comment\nA;B\n1;NA\n# another\n2;"x;y"\n' > semi.csv
cat > d.yaml <<Y
source: { type: csv, path: semi.csv, delimiter: ";", skip_rows: 1, comment: "#", null_values: [NA] }
destination: { type: csv, path: semi_out.csv, null_string: "NULL" }
Y
nb run -c d.yaml; expect_rc 0 "dialect options"
expect_file_eq semi_out.csv <(printf 'A,B\n1,NULL\n2,x;y\n')

# CSV -> CSV keeps null vs "", quoting only where needed, values verbatim.
printf 'a,b,c\n1,,""\n" x",291.070,"q""q"\n' > nulls.csv
nb pipeline csv csv --source-path nulls.csv --dest-path nulls_out.csv; expect_rc 0 "csv -> csv"
expect_file_eq nulls_out.csv nulls.csv

# --batch-size bounds the rows per batch, so it changes the number of batches.
make_users_csv 5000 users.csv
nb pipeline csv json --source-path users.csv --dest-path u1.ndjson --format lines --batch-size 5000
b1=$(grep -o '[0-9]* batches' "$T/err" | cut -d' ' -f1)
nb pipeline csv json --source-path users.csv --dest-path u2.ndjson --format lines --batch-size 500
b2=$(grep -o '[0-9]* batches' "$T/err" | cut -d' ' -f1)
expect_eq "$b1" "1" "one batch of 5000"
expect_eq "$b2" "10" "ten batches of 500"
expect_file_eq u2.ndjson u1.ndjson

# A record longer than max_record_size fails naming its line; memory stays bounded.
{ printf 'a\n1\n"'; head -c 3000000 /dev/zero | tr '\0' x; } > long.csv
nb pipeline csv json --source-path long.csv --dest-path long.ndjson --source-opt max_record_size=1MiB
expect_rc 1 "long record"; expect_err_contains "long.csv:3"; expect_err_contains "max_record_size"

# Standard input ("-") is one stream named stdin, read once.
nb pipeline csv json --source-path - --dest-path stdin.ndjson --format lines < data/part_1.csv
expect_rc 0 "stdin"; expect_eq "$(cat stdin.ndjson)" "$(head -2 all.ndjson)" "stdin rows"

# A glob that matches nothing names the pattern.
nb pipeline csv json --source-path 'nothing/*.csv' --dest-path x.ndjson
[ "$RC" -ne 0 ] && pass || fail "empty glob succeeded"
expect_err_contains "nothing/*.csv"
finish
