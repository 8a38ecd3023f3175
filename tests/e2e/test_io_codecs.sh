#!/usr/bin/env bash
# The io layer through the CLI: compressed inputs written by the system tools (codec by extension),
# compressed outputs the system tools accept, framed snappy both ways, truncated input and globs
# reported with the file / pattern, and no partial file left by a failed run.
source "$(dirname "$0")/lib.sh"

make_users_csv 3000 users.csv
nb pipeline csv json --source-path users.csv --dest-path plain.ndjson --format lines
expect_rc 0 "plain run"

for spec in "gzip gz" "zstd zst" "lz4 lz4" "bzip2 bz2" "xz xz"; do
  set -- $spec; tool=$1; ext=$2
  if ! command -v "$tool" >/dev/null; then echo "skipping $tool: not installed"; continue; fi
  # Two concatenated streams, as `cat a.gz b.gz` makes: read as one input.
  head -n 1001 users.csv | "$tool" -q -c > "users.csv.$ext"
  tail -n +1002 users.csv | "$tool" -q -c >> "users.csv.$ext"
  nb pipeline csv json --source-path "users.csv.$ext" --dest-path "in_$ext.ndjson" --format lines
  expect_rc 0 "$tool input"; expect_file_eq "in_$ext.ndjson" plain.ndjson

  nb pipeline csv json --source-path users.csv --dest-path "out.ndjson.$ext" --format lines
  expect_rc 0 "$tool output"
  "$tool" -q -t "out.ndjson.$ext" && pass || fail "$tool -t rejects out.ndjson.$ext"
  expect_file_eq <("$tool" -d -c < "out.ndjson.$ext") plain.ndjson
  expect_no_file "out.ndjson.$ext.nebula-partial"

  # A truncated input is an error naming the file and the offset, not a short read.
  size=$(stat -c %s "users.csv.$ext")
  head -c $((size - 3)) "users.csv.$ext" > "cut.csv.$ext"
  nb pipeline csv json --source-path "cut.csv.$ext" --dest-path "cut_$ext.ndjson" --format lines
  expect_rc 1 "truncated $tool input"
  expect_err_contains "cut.csv.$ext: truncated $tool stream at compressed byte $((size - 3))"
  expect_no_file "cut_$ext.ndjson"; expect_no_file "cut_$ext.ndjson.nebula-partial"
done

# Framed snappy (.sz) has no system tool here: out through nebula, back in through nebula.
nb pipeline csv csv --source-path users.csv --dest-path users2.csv.sz
expect_rc 0 "snappy output"
head -c 10 users2.csv.sz | od -An -c | tr -d ' \n' | grep -q '377006\\0\\0sNaPpY' && pass || fail "no stream identifier"
nb pipeline csv json --source-path users2.csv.sz --dest-path sz.ndjson --format lines
expect_rc 0 "snappy input"; expect_file_eq sz.ndjson plain.ndjson

# An explicit level reaches the codec; a level out of range is refused before anything is written.
nb pipeline csv json --source-path users.csv --dest-path lvl.ndjson.gz --format lines --dest-opt compression_level=1
expect_rc 0 "gzip level 1"; expect_file_eq <(gzip -dc lvl.ndjson.gz) plain.ndjson
nb pipeline csv json --source-path users.csv --dest-path bad.ndjson.gz --format lines --dest-opt compression_level=12
if [ "$RC" -ne 0 ]; then pass; else fail "gzip level 12 accepted"; fi
expect_err_contains "out of range"
expect_no_file bad.ndjson.gz; expect_no_file bad.ndjson.gz.nebula-partial

# Globs: ** at any depth, sorted, hidden files skipped; no match names the pattern.
mkdir -p g/a/deep g/b
head -n 1001 users.csv > g/a/1.csv
{ head -n 1 users.csv; sed -n 1002,2001p users.csv; } > g/a/deep/2.csv
{ head -n 1 users.csv; sed -n 2002,3001p users.csv; } > g/b/3.csv
cp g/b/3.csv g/.hidden.csv
nb pipeline csv json --source-path 'g/**/*.csv' --dest-path glob.ndjson --format lines
expect_rc 0 "glob"; expect_file_eq glob.ndjson plain.ndjson
nb pipeline csv json --source-path 'g/**/*.tsv' --dest-path none.ndjson --format lines
expect_rc 1 "no match"; expect_err_contains "no file matches 'g/**/*.tsv'"
nb pipeline csv json --source-path missing.csv --dest-path none.ndjson --format lines
expect_rc 1 "missing input"; expect_err_contains "missing.csv"
finish
