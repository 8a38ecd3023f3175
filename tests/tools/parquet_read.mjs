#!/usr/bin/env node
// Independent Parquet reader for tests (DESIGN.md §7): reads a file with DuckDB or hyparquet and
// prints it as JSON lines, so C and shell tests compare exact text.
//
//   node parquet_read.mjs FILE...           rows as JSON arrays of strings/null (DuckDB, every value
//                                           CAST to VARCHAR: exact decimals, timestamps in UTC, blobs hex);
//                                           with several files, each file's rows follow {"file": FILE}
//   node parquet_read.mjs --columns FILE    one JSON line: [[name, duckdb type], ...]
//   node parquet_read.mjs --metadata FILE   parquet_metadata() rows as JSON objects (values as text)
//   node parquet_read.mjs --schema FILE     parquet_schema() rows as JSON objects
//   node parquet_read.mjs --kv FILE         parquet_kv_metadata() as {"key": "value"} lines
//   node parquet_read.mjs --sql "Q" FILE    any query; the text FILE in Q is replaced by the quoted path
//   node parquet_read.mjs --hyparquet FILE...  rows read by hyparquet (+ compressors: ZSTD, GZIP, LZ4...);
//                                           several files as in the DuckDB mode
//   node parquet_read.mjs --hyparquet-index FILE  hyparquet's view of the page index (per column chunk)
//   node parquet_read.mjs --pages FILE      every page header of every column chunk, decoded with
//                                           hyparquet's Thrift reader: [page type, num_values, encoding]
//                                           (the walk must end exactly at the chunk's end)
// Exit status 0 on success, 1 when the reader rejects the file (message on stderr).
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'package.json'));
const args = process.argv.slice(2);
let mode = 'rows';
let sql = null;
while (args.length && args[0].startsWith('--')) {
  const a = args.shift();
  if (a === '--sql') { mode = 'sql'; sql = args.shift(); }
  else mode = a.slice(2);
}
const file = args[0];
if (!file) { console.error('usage: parquet_read.mjs [--columns|--metadata|--schema|--kv|--sql Q|--hyparquet] FILE'); process.exit(2); }
const quoted = "'" + path.resolve(file).replaceAll("'", "''") + "'";

const norm = (v) => {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (typeof v === 'object') return JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? x.toString() : x));
  return String(v);
};

function out(line) { process.stdout.write(line + '\n'); }

async function duck(query) {
  const { DuckDBInstance } = await import(require.resolve('@duckdb/node-api'));
  const inst = await DuckDBInstance.create(':memory:');
  const conn = await inst.connect();
  await conn.run("SET TimeZone = 'UTC'");
  return { conn, run: async (q) => conn.runAndReadAll(q) };
}

async function textRows(d, from) {
  const desc = await d.run(`DESCRIBE SELECT * FROM ${from}`);
  const cols = desc.getRowObjectsJson().map((r) => [r.column_name, r.column_type]);
  if (cols.length === 0) return { cols, rows: [] };
  const sel = cols.map(([n, t]) => {
    const id = '"' + n.replaceAll('"', '""') + '"';
    if (t === 'BLOB') return `hex(${id})`;
    return `CAST(${id} AS VARCHAR)`;
  }).join(', ');
  const r = await d.run(`SELECT ${sel} FROM ${from}`);
  return { cols, rows: r.getRowsJson() };
}

async function main() {
  if (mode.startsWith('hyparquet') || mode === 'pages') {
    const hp = await import(require.resolve('hyparquet'));
    const { compressors } = await import(require.resolve('hyparquet-compressors'));
    const buf = fs.readFileSync(file);
    const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    if (mode === 'hyparquet-pages' || mode === 'pages') {
      const thrift = await import(path.join(here, '..', 'node_modules', 'hyparquet', 'src', 'thrift.js'));
      const md = hp.parquetMetadata(ab);
      const view = new DataView(ab);
      md.row_groups.forEach((rg, g) => {
        for (const cc of rg.columns) {
          const m = cc.meta_data;
          let pos = Number(m.dictionary_page_offset ?? m.data_page_offset);
          const end = pos + Number(m.total_compressed_size);
          const pages = [];
          while (pos < end) {
            const reader = { view, offset: pos };
            const h = thrift.deserializeTCompactProtocol(reader);
            const sub = h.field_5 ?? h.field_7;
            pages.push([h.field_1, sub ? sub.field_1 : null, sub ? sub.field_2 : null]);
            pos = reader.offset + h.field_3;
          }
          if (pos !== end) throw new Error(`column ${m.path_in_schema} of row group ${g}: pages end at ${pos}, chunk at ${end}`);
          out(JSON.stringify({ row_group: g, column: m.path_in_schema.join('.'), pages }));
        }
      });
      return;
    }
    if (mode === 'hyparquet-index') {
      const md = hp.parquetMetadata(ab);
      for (const rg of md.row_groups) {
        for (const cc of rg.columns) {
          const rec = { column: cc.meta_data.path_in_schema.join('.') };
          if (cc.offset_index_offset !== undefined) {
            const s = Number(cc.offset_index_offset);
            const oi = hp.readOffsetIndex({ view: new DataView(ab, s, cc.offset_index_length), offset: 0 });
            rec.pages = oi.page_locations.map((p) => [Number(p.offset), p.compressed_page_size, Number(p.first_row_index)]);
          }
          if (cc.column_index_offset !== undefined) {
            const s = Number(cc.column_index_offset);
            const se = md.schema.find((e) => e.name === rec.column);
            const ci = hp.readColumnIndex({ view: new DataView(ab, s, cc.column_index_length), offset: 0 }, se);
            rec.null_pages = ci.null_pages;
            rec.null_counts = ci.null_counts?.map(Number);
            rec.min = ci.min_values.map(norm);
            rec.max = ci.max_values.map(norm);
          }
          out(JSON.stringify(rec));
        }
      }
      return;
    }
    for (const f of args) {
      if (args.length > 1) out(JSON.stringify({ file: f }));
      const b = fs.readFileSync(f);
      const fab = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
      const rows = await hp.parquetReadObjects({ file: fab, compressors, rowFormat: 'array' });
      for (const row of rows) out(JSON.stringify((Array.isArray(row) ? row : Object.values(row)).map(norm)));
    }
    return;
  }
  const d = await duck();
  const from = `read_parquet(${quoted})`;
  if (mode === 'rows' && args.length > 1) {
    // several files in one DuckDB start: each file's rows follow a {"file": path} line
    for (const f of args) {
      out(JSON.stringify({ file: f }));
      const q = "'" + path.resolve(f).replaceAll("'", "''") + "'";
      const { rows } = await textRows(d, `read_parquet(${q})`);
      for (const r of rows) out(JSON.stringify(r));
    }
  } else if (mode === 'rows') {
    const { rows } = await textRows(d, from);
    for (const r of rows) out(JSON.stringify(r));
  } else if (mode === 'columns') {
    const desc = await d.run(`DESCRIBE SELECT * FROM ${from}`);
    out(JSON.stringify(desc.getRowObjectsJson().map((r) => [r.column_name, r.column_type])));
  } else if (mode === 'metadata' || mode === 'schema') {
    const r = await d.run(`SELECT COLUMNS(*)::VARCHAR FROM parquet_${mode}(${quoted})`);
    for (const o of r.getRowObjectsJson()) out(JSON.stringify(o));
  } else if (mode === 'kv') {
    const r = await d.run(`SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata(${quoted})`);
    for (const o of r.getRowObjectsJson()) out(JSON.stringify({ [o.k]: o.v }));
  } else if (mode === 'sql') {
    const r = await d.run(sql.replaceAll('FILE', quoted));
    for (const row of r.getRowsJson()) out(JSON.stringify(row));
  } else {
    console.error('unknown mode --' + mode);
    process.exit(2);
  }
}

main().catch((e) => { console.error(String(e && e.message ? e.message : e)); process.exit(1); });
