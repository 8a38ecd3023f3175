#!/usr/bin/env bash
# The pipeline file as a user writes it: JSON accepted, YAML mistakes named with file:line:column,
# interpolation ($${ literal, ${file:} contents kept out of logs), type and enum errors (exit 2).
source "$(dirname "$0")/lib.sh"

printf 'id,name\n1,a\n2,b\n' > in.csv

# JSON is YAML: a .json pipeline file runs.
cat > p.json <<'J'
{
  "name": "from-json",
  "source": {"type": "csv", "path": "in.csv"},
  "destination": {"type": "json", "path": "out.ndjson", "format": "lines"},
  "performance": {"batch_size": 1}
}
J
nb run -c p.json; expect_rc 0 "json pipeline file"; expect_file out.ndjson
expect_eq "$(wc -l < out.ndjson | tr -d ' ')" 2 "rows from the json pipeline"

# Duplicate keys and aliases are errors with their place.
cat > p.yaml <<'Y'
source: { type: csv, path: in.csv }
destination: { type: json, path: o.json }
source: { type: csv, path: other.csv }
Y
nb run -c p.yaml; expect_rc 2 "duplicate key"; expect_err_contains "p.yaml:3:1: duplicate key 'source' (first at line 1)"
cat > p.yaml <<'Y'
source: &src { type: csv, path: in.csv }
destination: *src
Y
nb run -c p.yaml; expect_rc 2 "alias"; expect_err_contains "p.yaml:2:14: YAML aliases (*src) are not supported"
printf 'source: { type: csv, path: in.csv\ndestination: {}\n' > p.yaml
nb run -c p.yaml; expect_rc 2 "yaml syntax"; expect_err_contains "p.yaml:"; expect_err_contains "YAML error"
: > p.yaml
nb run -c p.yaml; expect_rc 2 "empty file"; expect_err_contains "missing required key 'source'"

# Types and enums are checked before anything runs.
cat > p.yaml <<'Y'
source: { type: csv, path: in.csv }
destination: { type: json, path: o.json }
performance:
  workers: many
Y
nb run -c p.yaml; expect_rc 2 "bad int"; expect_err_contains "p.yaml:4:3: performance.workers: 'many' is not a whole number"
cat > p.yaml <<'Y'
source: { type: csv, path: in.csv }
destination: { type: json, path: o.json }
storage: { mode: colunar }
Y
nb run -c p.yaml; expect_rc 2 "bad enum"; expect_err_contains "storage.mode: 'colunar' is not one of auto|row|columnar; did you mean 'columnar'?"

# $${ is a literal ${; what ${file:} reads never reaches the logs.
printf 'hush-hush-name\n' > name.txt
cat > p.yaml <<'Y'
name: "${file:name.txt}"
source: { type: csv, path: in.csv }
destination: { type: json, path: lit.ndjson, format: lines }
Y
nb run -c p.yaml --log-level debug; expect_rc 0 "file interpolation"
# Log lines are redacted. (The final summary line is the CLI's own print and is not checked here.)
if grep "hush-hush-name" "$T/err" | grep -q " info \| debug "; then fail "a \${file:} value appeared in a log line"; else pass; fi
expect_err_contains "engine: ***:"
cat > p.yaml <<'Y'
name: "cost$${not_a_var}"
source: { type: csv, path: in.csv }
destination: { type: json, path: lit2.ndjson, format: lines }
Y
nb run -c p.yaml --log-level debug; expect_rc 0 "literal \${"; expect_err_contains 'cost${not_a_var}'
rm -f name.txt
sed -i 's/cost\$\${not_a_var}/${file:name.txt}/' p.yaml
nb run -c p.yaml; expect_rc 2 "missing secret file"; expect_err_contains "p.yaml:1:7: cannot read file 'name.txt'"

finish
