#!/usr/bin/env bash
# The CLI surface: version, list, spec, help on every command, usage errors and exit codes.
source "$(dirname "$0")/lib.sh"

nb version; expect_rc 0 version; expect_out_contains "nebula "
nb list; expect_rc 0 list; expect_out_contains "csv"; expect_out_contains "json"
nb list --json; expect_rc 0 "list --json"; expect_out_contains '"name":"csv"'
nb spec csv; expect_rc 0 "spec csv"; expect_out_contains "source keys"; expect_out_contains "destination keys"
expect_out_contains "delimiter"
nb spec json --json; expect_rc 0 "spec json --json"; expect_out_contains '"source"'
nb spec pipeline; expect_rc 0 "spec pipeline"; expect_out_contains "batch_size"
nb spec nosuch; expect_rc 2 "spec unknown"; expect_err_contains "unknown connector 'nosuch'"
for cmd in run pipeline check discover list spec; do
  nb "$cmd" --help; expect_rc 0 "$cmd --help"; expect_out_contains "usage"
done
nb; expect_rc 2 "no command"
nb frobnicate; expect_rc 2 "unknown command"; expect_err_contains "unknown command 'frobnicate'"
nb run; expect_rc 2 "run without config"; expect_err_contains "-c pipeline.yaml"
nb run -c nosuch.yaml; expect_rc 2 "missing config file"; expect_err_contains "nosuch.yaml"
nb pipeline csv json --source-path a.csv --dest-path b.json --batch-sise 10
expect_rc 2 "unknown flag"; expect_err_contains "did you mean '--batch-size'"
nb pipeline csv json --source-path a.csv --dest-path b.json --workers 0
expect_rc 2 "workers 0"; expect_err_contains "performance.workers"
nb pipeline csv nosuch --source-path a.csv --dest-path b.json
expect_rc 2 "unknown destination"; expect_err_contains "unknown connector 'nosuch'"

# Unknown keys in the file name the place and the nearest valid key.
cat > p.yaml <<'Y'
name: t
source: { type: csv, path: in.csv }
destination: { type: json, path: out.json }
performance:
  batch_sise: 10
Y
echo "a,b" > in.csv
nb run -c p.yaml; expect_rc 2 "unknown key"; expect_err_contains "p.yaml:5:3"; expect_err_contains "did you mean 'batch_size'"
cat > p.yaml <<'Y'
source: { type: csv, path: in.csv, delimeter: ";" }
destination: { type: json, path: out.json }
Y
nb run -c p.yaml; expect_rc 2 "unknown connector key"; expect_err_contains "did you mean 'delimiter'"

# ${ENV} and ${file:} interpolation; an unset variable is a config error naming it.
printf 'id\n1\n' > in.csv
cat > p.yaml <<'Y'
source: { type: csv, path: "${NB_TEST_INPUT}" }
destination: { type: json, path: "${file:dest_path.txt}" }
Y
echo "out.json" > dest_path.txt
NB_TEST_INPUT=in.csv nb run -c p.yaml; expect_rc 0 "interpolation"
expect_file_eq out.json <(printf '[\n{"id":1}\n]\n')
unset NB_TEST_INPUT || true
nb run -c p.yaml; expect_rc 2 "unset env"; expect_err_contains "NB_TEST_INPUT"

# A missing input is a run failure (exit 1) naming the file, and leaves no output behind.
nb pipeline csv json --source-path missing.csv --dest-path m.json
expect_rc 1 "missing input"; expect_err_contains "missing.csv"; expect_no_file m.json
finish
