// Reference tool for the benchmark: DuckDB (npm @duckdb/node-api) converting a file the way a user
// would, `COPY (SELECT * FROM read_csv(...)) TO ... (FORMAT ...)`. Prints the COPY's own wall time
// in seconds (the process's time, node start-up included, is measured outside).
// usage: node duckdb_copy.mjs <input> <output> <json|json_array|parquet_snappy|parquet_zstd|csv>
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'tests', 'package.json'));
const { DuckDBInstance } = require('@duckdb/node-api');

const [input, output, kind] = process.argv.slice(2);
const q = (s) => `'${s.replaceAll("'", "''")}'`;
const reader = input.endsWith('.csv') ? `read_csv(${q(input)})`
  : input.endsWith('.parquet') ? `read_parquet(${q(input)})`
  : `read_json(${q(input)}, format='newline_delimited')`;
const target = {
  json: '(FORMAT json)',
  json_array: '(FORMAT json, ARRAY true)',
  parquet_snappy: "(FORMAT parquet, COMPRESSION snappy)",
  parquet_zstd: "(FORMAT parquet, COMPRESSION zstd)",
  csv: '(FORMAT csv, HEADER true)',
}[kind];
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const t0 = performance.now();
await con.run(`COPY (SELECT * FROM ${reader}) TO ${q(output)} ${target}`);
const t1 = performance.now();
console.log(((t1 - t0) / 1000).toFixed(4));
