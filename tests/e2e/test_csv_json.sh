#!/usr/bin/env bash
# The seed's first promise: CSV <-> JSON with exact values, types inferred by DESIGN.md §5.
source "$(dirname "$0")/lib.sh"

cat > users.csv <<'C'
id,name,zip,score,active,joined,note,big
1,Ada,007,291.07,true,2024-01-15,"quoted, with comma",12345678901234567890
2,Bob,10115,-3.50,FALSE,2024-02-29,,-42
3,"Zoë ""Z""",99999,1e5,true,2023-12-31,"",7
C
nb pipeline csv json --source-path users.csv --dest-path users.json --format array
expect_rc 0 "csv -> json array"
# The exact expectations below are the contract; a value is never reformatted.
python3 - users.json <<'P' || fail "json content"
import json, sys
rows = json.load(open(sys.argv[1]))
assert len(rows) == 3, rows
a, b, c = rows
assert a["id"] == 1 and a["zip"] == "007", a
assert open(sys.argv[1]).read().count("291.07") == 1
assert a["active"] is True and b["active"] is False
assert a["joined"] == "2024-01-15"
assert a["note"] == "quoted, with comma"
assert b["note"] is None, "empty unquoted field is null"
assert c["note"] == "", "quoted empty field is the empty string"
assert c["name"] == 'Zoë "Z"'
assert a["big"] == "12345678901234567890" or a["big"] == 12345678901234567890
text = open(sys.argv[1]).read()
assert "12345678901234567890" in text and "-3.50" in text and "1e5" in text, "numbers keep their text"
P
pass

# lines format, and back to CSV: the values survive the round trip.
nb pipeline csv json --source-path users.csv --dest-path users.ndjson --format lines; expect_rc 0 "csv -> ndjson"
expect_eq "$(wc -l < users.ndjson)" "3" "ndjson lines"
nb pipeline json csv --source-path users.ndjson --dest-path back.csv; expect_rc 0 "ndjson -> csv"
python3 - users.csv back.csv <<'P' || fail "round trip values"
import csv, sys
a = list(csv.reader(open(sys.argv[1], newline='')))
b = list(csv.reader(open(sys.argv[2], newline='')))
assert a[0] == b[0], (a[0], b[0])
for ra, rb in zip(a[1:], b[1:]):
    for x, y in zip(ra, rb):
        if x.lower() in ("true", "false"):
            assert x.lower() == y.lower(), (x, y)
        else:
            assert x == y, (x, y)
assert len(a) == len(b)
P
pass
# null vs "" survives CSV -> JSON -> CSV
grep -q '^2,Bob,10115,-3.50,' back.csv && pass || fail "row 2 $(sed -n 3p back.csv)"
sed -n 4p back.csv | grep -q ',"",7$' && pass || fail "quoted empty string lost: $(sed -n 4p back.csv)"

# infer_types: false keeps every value a string
nb pipeline csv json --source-path users.csv --dest-path s.json --format lines --source-opt infer_types=false
expect_rc 0 "infer off"; grep -q '"id":"1"' s.json && pass || fail "infer off: $(head -1 s.json)"

# Compressed input and output by extension.
gzip -k users.csv
nb pipeline csv json --source-path users.csv.gz --dest-path z.ndjson.zst --format lines; expect_rc 0 "gz -> zst"
zstd -dc z.ndjson.zst > z.ndjson 2>/dev/null && expect_file_eq z.ndjson users.ndjson || fail "zstd output"

# Empty input and header-only input: valid empty output, exit 0.
: > empty.csv
nb pipeline csv json --source-path empty.csv --dest-path empty.json --format array; expect_rc 0 "empty file"
expect_file_eq empty.json <(printf '[]\n')
echo "a,b" > header.csv
nb pipeline csv json --source-path header.csv --dest-path header.json --format array; expect_rc 0 "header only"
expect_file_eq header.json <(printf '[]\n')

# Bad input: unterminated quote fails naming file and line; no output file left behind.
printf 'a,b\n1,2\n3,"oops\n' > bad.csv
nb pipeline csv json --source-path bad.csv --dest-path bad.json; expect_rc 1 "unterminated quote"
expect_err_contains "bad.csv:3"; expect_no_file bad.json; expect_no_file bad.json.nebula-partial
# Ragged rows: fail by default, skip or dead-letter by policy, always counted.
printf 'a,b\n1,2\n3\n4,5\n' > ragged.csv
nb pipeline csv json --source-path ragged.csv --dest-path r.json; expect_rc 1 "ragged fail"; expect_err_contains "ragged.csv:3"
nb pipeline csv json --source-path ragged.csv --dest-path r.json --on-bad-record skip --format lines
expect_rc 0 "ragged skip"; expect_eq "$(wc -l < r.json)" "2" "skip keeps good rows"; expect_err_contains "1 bad records"
nb pipeline csv json --source-path ragged.csv --dest-path r.json --on-bad-record dead_letter --dead-letter dl.ndjson
expect_rc 0 "ragged dead letter"; expect_file dl.ndjson
grep -q 'ragged.csv:3' dl.ndjson && pass || fail "dead letter lacks location: $(cat dl.ndjson)"
nb pipeline csv json --source-path ragged.csv --dest-path r.json --on-bad-record skip --max-bad-records 0
expect_rc 0 "max 0 = unlimited"
printf 'a,b\n1\n2\n3,4\n' > ragged2.csv
nb pipeline csv json --source-path ragged2.csv --dest-path r2.json --on-bad-record skip --max-bad-records 1
expect_rc 1 "max bad records"; expect_err_contains "max_bad_records"; expect_no_file r2.json
# Invalid UTF-8 is a bad record, not a crash.
printf 'a,b\n1,\xff\xfe\n2,ok\n' > utf.csv
nb pipeline csv json --source-path utf.csv --dest-path u.json --on-bad-record skip --format lines
expect_rc 0 "invalid utf-8 skipped"; expect_eq "$(wc -l < u.json)" "1" "one good row"
# Binary garbage never crashes.
head -c 100000 /dev/urandom > garbage.csv
nb pipeline csv json --source-path garbage.csv --dest-path g.json
if [ "$RC" -eq 0 ] || [ "$RC" -eq 1 ]; then pass; else fail "garbage: exit $RC"; fi
finish
