#!/usr/bin/env bash
# The json connector as a user drives it: array and NDJSON in and out with exact values, discover,
# bad records under each policy with file:line:column, new keys under schema.on_new_column,
# compressed input, and a resume that writes every row once.
source "$(dirname "$0")/lib.sh"

printf '[\n{"id":1,"price":291.07,"big":12345678901234567890,"ok":true,"tags":{"x":[1,2]},"name":"caf\xc3\xa9 \\u00e9"},\n{"id":2,"price":1e3,"big":7,"ok":false,"tags":null,"name":"x\\ny"}\n]\n' > in.json

nb pipeline json json --source-path in.json --dest-path out.ndjson
expect_rc 0 "array -> ndjson"
python3 - out.ndjson <<'P' || fail "ndjson content: $(cat out.ndjson)"
import json, sys
text = open(sys.argv[1]).read()
rows = [json.loads(l) for l in text.splitlines()]
assert len(rows) == 2, rows
assert rows[0]["tags"] == {"x": [1, 2]} and rows[1]["tags"] is None
assert rows[0]["name"] == "café é" and rows[1]["name"] == "x\ny"
assert rows[0]["ok"] is True and rows[1]["ok"] is False
assert "291.07" in text and "1e3" in text and "12345678901234567890" in text, "numbers keep their text"
assert list(rows[0].keys()) == ["id", "price", "big", "ok", "tags", "name"], "keys in order of first appearance"
P
pass

# NDJSON back to an array: valid JSON, same values.
nb pipeline json json --source-path out.ndjson --dest-path back.json
expect_rc 0 "ndjson -> array"
python3 - back.json <<'P' || fail "array content: $(cat back.json)"
import json, sys
rows = json.load(open(sys.argv[1]))
assert len(rows) == 2 and rows[0]["id"] == 1 and rows[1]["price"] == 1000
P
pass
expect_eq "$(head -c 2 back.json | head -1)" "[" "array opens with ["

# discover: the schema inferred from the sample.
cat > p.yaml <<Y
source: { type: json, path: in.json, stream: items }
destination: { type: json, path: "o/{stream}.json" }
Y
nb discover -c p.yaml
expect_rc 0 "discover"
expect_out_contains '"name":"items"'
expect_out_contains '"name":"price","type":"float64"'
expect_out_contains '"name":"tags","type":"json"'

# Bad records: fail names file:line:column; skip keeps the good rows.
printf '{"a":1}\n{"a":2,}\n{"a":3}\n' > bad.ndjson
nb pipeline json json --source-path bad.ndjson --dest-path b.ndjson
expect_rc 1 "bad record, policy fail"
expect_err_contains "bad.ndjson:2:8"
expect_err_contains "trailing comma"
expect_no_file b.ndjson
nb pipeline json json --source-path bad.ndjson --dest-path b.ndjson --on-bad-record skip
expect_rc 0 "bad record, policy skip"
expect_eq "$(cat b.ndjson | tr '\n' ' ')" '{"a":1} {"a":3} ' "skip keeps good rows"

# A key first seen after the sample, under each policy.
printf '{"a":1}\n{"a":2,"b":"new"}\n' > keys.ndjson
for policy in add ignore fail; do
  cat > k.yaml <<Y
source: { type: json, path: keys.ndjson, infer_rows: 1, stream: keys }
destination: { type: json, path: "k-$policy.ndjson" }
schema: { on_new_column: $policy }
Y
  nb run -c k.yaml
  case $policy in
    add) expect_rc 0 "new key add"; expect_eq "$(sed -n 2p k-add.ndjson)" '{"a":2,"b":"new"}' "add keeps the new key" ;;
    ignore) expect_rc 0 "new key ignore"; expect_eq "$(sed -n 2p k-ignore.ndjson)" '{"a":2}' "ignore drops it" ;;
    fail) expect_rc 1 "new key fail"; expect_err_contains "keys.ndjson:2"; expect_err_contains "new key 'b'" ;;
  esac
done

# Compressed input by extension; NDJSON -> NDJSON is byte for byte when every value fits its type.
printf '{"id":1,"v":0.1,"s":"a\\"b","n":{"k":[true,null]}}\n{"id":-2,"v":1E-7,"s":"","n":[]}\n' > plain.ndjson
gzip -k plain.ndjson
nb pipeline json json --source-path plain.ndjson.gz --dest-path gz.ndjson
expect_rc 0 "gzip input"
expect_file_eq gz.ndjson plain.ndjson

finish
