#!/usr/bin/env node
// The parquet source's independent oracle (DESIGN.md §7): DuckDB writes Parquet files, and the
// NDJSON nebula reads out of them is compared value by value with DuckDB's own reading of the same
// file. Run with --harmony-json-parse-with-source (numbers are compared as their exact text).
//
//   node parquet_source_check.mjs gen DIR           write DIR/*.parquet (every type, codecs, v1/v2, row groups, empty)
//   node parquet_source_check.mjs compare FILE OUT  OUT (nebula's NDJSON of FILE) equals DuckDB's rows of FILE
//   node parquet_source_check.mjs same A B          two NDJSON files hold the same values (numbers by value,
//                                                   timestamps by instant text)
// Exit 0 when equal, 1 with the first differences on stderr.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'package.json'));
const [mode, a1, a2] = process.argv.slice(2);

async function duck() {
  const { DuckDBInstance } = await import(require.resolve('@duckdb/node-api'));
  const inst = await DuckDBInstance.create(':memory:');
  const conn = await inst.connect();
  await conn.run("SET TimeZone = 'UTC'");
  return conn;
}
const q = (p) => "'" + path.resolve(p).replaceAll("'", "''") + "'";

// Every type the reader maps, with nulls, negative and pre-1970 values, and repeats (dictionaries).
const TYPES_SQL = `
SELECT i::BIGINT AS id,
  CASE WHEN i % 7 = 0 THEN NULL ELSE i % 3 = 0 END AS b,
  CASE WHEN i % 5 = 0 THEN NULL ELSE (i % 256 - 128)::TINYINT END AS i8,
  (i * 37 % 65536 - 32768)::SMALLINT AS i16,
  CASE WHEN i % 11 = 0 THEN NULL ELSE (i * 7919 - 2000000)::INTEGER END AS i32,
  (i * 1234567890123 - 9000000000000000000)::BIGINT AS i64,
  (i % 256)::UTINYINT AS u8, (i * 13 % 65536)::USMALLINT AS u16, (4294967295 - i)::UINTEGER AS u32,
  (18446744073709551615 - i)::UBIGINT AS u64,
  CASE WHEN i % 9 = 0 THEN NULL ELSE (i / 7.0 - 100)::FLOAT END AS f,
  CASE WHEN i % 6 = 0 THEN NULL ELSE i / 3.0 - 1e6 + 0.1 END AS d,
  (((i * 7) % 19999 - 9999) / 100)::DECIMAL(4,2) AS dec4,
  ((i * 1000003 - 500000000)::DECIMAL(18,0) / 7)::DECIMAL(18,6) AS dec18,
  CASE WHEN i % 4 = 0 THEN NULL ELSE ('-12345678901234567890.' || lpad((i * 7)::VARCHAR, 10, '0'))::DECIMAL(38,10) END AS dec38,
  CASE WHEN i % 8 = 0 THEN NULL WHEN i % 8 = 1 THEN '' ELSE 'name ' || (i % 50) || ' naïve "q" \\ 日本' END AS s,
  ['red', 'green', 'blue'][1 + i % 3] AS color,
  CASE WHEN i % 10 = 0 THEN NULL ELSE json_object('k', i, 'a', [i::VARCHAR, 'x']) END AS j,
  CASE WHEN i % 3 = 0 THEN NULL ELSE ('\\x00\\xFFab' || i)::BLOB END AS bl,
  CASE WHEN i % 5 = 0 THEN NULL ELSE ('0000' || lpad(printf('%x', i), 4, '0') || '-1234-5678-9abc-def012345678')::UUID END AS uid,
  DATE '1960-01-01' + (i * 3)::INTEGER AS dt,
  CASE WHEN i % 7 = 0 THEN NULL ELSE TIME '00:00:00' + INTERVAL (i * 12345678) MICROSECOND END AS tm,
  TIMESTAMP '1969-12-31 23:59:59' + INTERVAL (i * 3600123457) MICROSECOND AS ts,
  (TIMESTAMP '2000-01-01' + INTERVAL (i * 86400123) MILLISECOND)::TIMESTAMP_MS AS ts_ms,
  CASE WHEN i % 13 = 0 THEN NULL ELSE make_timestamp_ns(946684800000000000 + i * 3600000000123) END AS ts_ns,
  CASE WHEN i % 2 = 0 THEN NULL ELSE TIMESTAMPTZ '1999-06-30 12:00:00+00' + INTERVAL (i * 999999) MICROSECOND END AS tstz
FROM range(0, 3000) t(i)`;

async function gen(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const c = await duck();
  await c.run(`CREATE TABLE t AS ${TYPES_SQL}`);
  const out = (name, opts) => c.run(`COPY t TO ${q(path.join(dir, name))} (FORMAT PARQUET${opts ? ', ' + opts : ''})`);
  for (const codec of ['uncompressed', 'snappy', 'gzip', 'zstd', 'lz4_raw']) await out(`types_${codec}.parquet`, `COMPRESSION ${codec}`);
  // Several row groups (small pages too), data page v2 with DELTA/BYTE_STREAM_SPLIT/RLE encodings.
  await out('types_rowgroups.parquet', 'ROW_GROUP_SIZE 500, COMPRESSION zstd');
  await out('types_v2.parquet', "PARQUET_VERSION 'V2', ROW_GROUP_SIZE 1000, COMPRESSION uncompressed");
  await out('types_v2_snappy.parquet', "PARQUET_VERSION 'V2', COMPRESSION snappy");
  // Plain (no dictionary): distinct values in every column and a dictionary that may not grow.
  await c.run(`CREATE TABLE u AS SELECT id, i64, d, s || id AS s, dec38, ts FROM t`);
  await c.run(`COPY u TO ${q(path.join(dir, 'plain.parquet'))} (FORMAT PARQUET, DICTIONARY_SIZE_LIMIT 1)`);
  // Required (NOT NULL) columns.
  await c.run(`CREATE TABLE r (id BIGINT NOT NULL, s VARCHAR NOT NULL, d DOUBLE NOT NULL)`);
  await c.run(`INSERT INTO r SELECT i, 'v' || (i % 17), i * 0.25 FROM range(0, 2500) t(i)`);
  await c.run(`COPY r TO ${q(path.join(dir, 'required.parquet'))} (FORMAT PARQUET, ROW_GROUP_SIZE 1000)`);
  await c.run(`COPY (SELECT * FROM t LIMIT 0) TO ${q(path.join(dir, 'empty.parquet'))} (FORMAT PARQUET)`);
}

// ---- canonical forms -------------------------------------------------------------------------
// A date/time text -> "YYYY-MM-DD hh:mm:ss.fffffffff" (zone dropped: both sides are UTC).
function canonTime(s) {
  const m = /^(?:(-?\d{4,}-\d\d-\d\d)[T ])?(\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d(?::?\d\d)?)?$/.exec(s);
  if (!m) return null;
  return (m[1] ? m[1] + ' ' : '') + m[2] + '.' + (m[3] || '').padEnd(9, '0');
}

function parseLines(text, withSource) {
  const lines = text.split('\n').filter((l) => l.length);
  if (!withSource) return lines.map((l) => JSON.parse(l));
  return lines.map((l) => JSON.parse(l, (k, v, ctx) => (typeof v === 'number' ? { num: ctx.source } : v)));
}

function fail(msgs) {
  for (const m of msgs.slice(0, 20)) console.error(m);
  if (msgs.length > 20) console.error(`... ${msgs.length - 20} more`);
  process.exit(1);
}

async function compare(file, ndjson) {
  const c = await duck();
  const desc = (await c.runAndReadAll(`DESCRIBE SELECT * FROM ${q(file)}`)).getRowObjectsJson();
  const cols = desc.map((r) => [r.column_name, r.column_type]);
  const sel = cols.map(([n, t]) => {
    const id = '"' + n.replaceAll('"', '""') + '"';
    return t === 'BLOB' ? `hex(${id})` : `${id}::VARCHAR`;
  });
  const rows = (await c.runAndReadAll(`SELECT ${sel.join(', ')} FROM ${q(file)}`)).getRows();
  const text = fs.readFileSync(ndjson, 'utf8');
  const ours = parseLines(text, true), plain = parseLines(text, false);
  const errs = [];
  if (ours.length !== rows.length) errs.push(`${file}: ${ours.length} rows from nebula, ${rows.length} from DuckDB`);
  for (let i = 0; i < Math.min(ours.length, rows.length); i++) {
    const keys = Object.keys(ours[i]);
    if (keys.join(',') !== cols.map((x) => x[0]).join(','))
      errs.push(`row ${i}: columns ${keys.join(',')} != ${cols.map((x) => x[0]).join(',')}`);
    cols.forEach(([name, type], k) => {
      const want = rows[i][k];
      const got = ours[i][name];
      const where = `${path.basename(file)} row ${i} ${name} (${type})`;
      if (want === null || got === null || got === undefined) {
        if (!(want === null && got === null)) errs.push(`${where}: nebula ${JSON.stringify(got)} DuckDB ${want}`);
        return;
      }
      const gotText = typeof got === 'object' && got && 'num' in got ? got.num : got;
      let ok;
      if (type === 'FLOAT') ok = Number(gotText) === Math.fround(Number(want));        // the float, exactly as a double
      else if (type === 'DOUBLE') ok = Number(gotText) === Number(want) && typeof got === 'object';
      else if (type === 'BOOLEAN') ok = String(got) === want;
      else if (type === 'BLOB') ok = Buffer.from(got, 'base64').toString('hex').toUpperCase() === want;
      else if (type === 'JSON') ok = JSON.stringify(plain[i][name]) === JSON.stringify(JSON.parse(want));
      else if (/^(TIME|TIMESTAMP|DATE)/.test(type)) {
        ok = canonTime(gotText) !== null ? canonTime(gotText) === canonTime(want) : gotText === want;
        if (ok && type.startsWith('TIMESTAMP')) ok = gotText.endsWith('Z') === (type === 'TIMESTAMP WITH TIME ZONE');
      } else ok = gotText === want;   // integers (exact text), decimals (exact text), strings, uuids, enums
      if (!ok) errs.push(`${where}: nebula ${JSON.stringify(gotText)} DuckDB ${JSON.stringify(want)}`);
    });
  }
  if (errs.length) fail(errs);
  console.log(`${path.basename(file)}: ${rows.length} rows x ${cols.length} columns equal`);
}

function same(a, b) {
  const x = parseLines(fs.readFileSync(a, 'utf8'), true), y = parseLines(fs.readFileSync(b, 'utf8'), true);
  const errs = [];
  if (x.length !== y.length) errs.push(`${a}: ${x.length} rows, ${b}: ${y.length}`);
  const val = (v) => {
    if (v && typeof v === 'object' && 'num' in v) return ['n', Number(v.num)];
    if (typeof v === 'string' && canonTime(v)) return ['t', canonTime(v)];
    return ['v', JSON.stringify(v)];
  };
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const ka = Object.keys(x[i]), kb = Object.keys(y[i]);
    if (ka.join(',') !== kb.join(',')) errs.push(`row ${i}: columns differ`);
    for (const k of ka) {
      const [p, q2] = [val(x[i][k]), val(y[i][k])];
      if (p[0] !== q2[0] || p[1] !== q2[1]) errs.push(`row ${i} ${k}: ${JSON.stringify(x[i][k])} vs ${JSON.stringify(y[i][k])}`);
    }
  }
  if (errs.length) fail(errs);
  console.log(`${path.basename(a)} = ${path.basename(b)}: ${x.length} rows`);
}

try {
  if (mode === 'gen') await gen(a1);
  else if (mode === 'compare') await compare(a1, a2);
  else if (mode === 'same') same(a1, a2);
  else { console.error('usage: parquet_source_check.mjs gen DIR | compare FILE NDJSON | same A B'); process.exit(2); }
} catch (e) {
  console.error(e.message || String(e));
  process.exit(1);
}
