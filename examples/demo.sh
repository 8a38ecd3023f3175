#!/usr/bin/env bash
# `make demo`: runs the sample pipelines in examples/ with the freshly built binary and shows what
# they produced.
set -euo pipefail
cd "$(dirname "$0")/.."
NEBULA=${NEBULA:-bin/nebula}
rm -rf out && mkdir -p out

echo "== nebula run -c examples/users-to-json.yaml"
"$NEBULA" run -c examples/users-to-json.yaml --progress never
echo "-- out/users.json:"
cat out/users.json

echo
echo "== nebula pipeline json csv (and back): values survive the round trip"
"$NEBULA" pipeline json csv --source-path out/users.json --dest-path out/users.roundtrip.csv --progress never
cat out/users.roundtrip.csv

if "$NEBULA" list | grep -q '^parquet '; then
  echo
  echo "== nebula pipeline csv parquet"
  "$NEBULA" pipeline csv parquet --source-path examples/users.csv --dest-path out/users.parquet --progress never
  ls -l out/users.parquet
  if [ -d tests/node_modules/@duckdb/node-api ]; then
    echo "-- read back by DuckDB, an independent reader:"
    node tests/tools/parquet_read.mjs out/users.parquet
  fi
  echo "-- and by nebula's own Parquet reader, back to JSON lines:"
  "$NEBULA" pipeline parquet json --source-path out/users.parquet --dest-path out/users.from-parquet.ndjson \
    --format lines --progress never --log-level warn
  cat out/users.from-parquet.ndjson
fi
