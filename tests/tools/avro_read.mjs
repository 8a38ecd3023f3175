// Independent Avro reader for the tests: decodes an Object Container File with avsc and prints or
// checks its records in a canonical form (the same one the C tests write as expectations):
//   long/int -> decimal text, boolean -> "true"/"false", double -> hex of its IEEE-754 bits (exact),
//   bytes -> hex, decimal logical type -> exact decimal text with `scale` fraction digits,
//   string -> itself, null -> null. A record is a JSON array in field order.
// Usage: node avro_read.mjs FILE.avro [--expect EXPECTED.ndjson]
//   without --expect: prints {"codec","schema","rows","blocks"} then one canonical row per line.
//   with --expect: exits 0 when every row equals the expected line, 1 with the first difference.
//        node avro_read.mjs --batch LIST   (LIST: lines "FILE<TAB>EXPECTED"; one node start for many
//   files) exits 1 if any file differs.
// Snappy blocks: snappyjs on the data without its trailing CRC-32, which is checked (big-endian,
// of the uncompressed bytes). Zstandard blocks: fzstd (avsc has no zstd codec); exit 77 if it is missing.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import zlib from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'package.json'));
const avro = require('avsc');
const snappy = require('snappyjs');
// fzstd comes with hyparquet-compressors; without it zstd files are skipped (exit 77), others still read.
let fzstd = null;
try { fzstd = require('fzstd'); } catch { fzstd = null; }

const args = process.argv.slice(2);
const bi = args.indexOf('--batch');
const ei = args.indexOf('--expect');
if (!args.length) {
  console.error('usage: avro_read.mjs FILE.avro [--expect EXPECTED.ndjson] | --batch LIST');
  process.exit(2);
}

const longType = avro.types.LongType.__with({
  fromBuffer: (buf) => buf.readBigInt64LE(),
  toBuffer: (n) => { const b = Buffer.alloc(8); b.writeBigInt64LE(BigInt(n)); return b; },
  fromJSON: BigInt,
  toJSON: Number,
  isValid: (n) => typeof n === 'bigint',
  compare: (a, b) => (a === b ? 0 : a < b ? -1 : 1),
});

function crc32(buf) {
  if (zlib.crc32) return zlib.crc32(buf) >>> 0;
  let c, crc = 0xffffffff;
  for (const byte of buf) {
    c = (crc ^ byte) & 0xff;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
    crc = (crc >>> 8) ^ c;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function makeCodecs(file, counter) {
  return {
    null: (buf, cb) => { counter.blocks++; cb(null, buf); },
    deflate: (buf, cb) => { counter.blocks++; zlib.inflateRaw(buf, cb); },
    snappy: (buf, cb) => {
      counter.blocks++;
      try {
        const data = Buffer.from(snappy.uncompress(buf.subarray(0, buf.length - 4)));
        const want = buf.readUInt32BE(buf.length - 4);
        if (crc32(data) !== want) return cb(new Error('snappy block CRC-32 mismatch'));
        cb(null, data);
      } catch (e) { cb(e); }
    },
    zstandard: (buf, cb) => {
      counter.blocks++;
      if (!fzstd) {
        console.error(`NOTICE: avro_read: no zstd decoder (npm fzstd) in tests/node_modules: ${file} not checked`);
        process.exit(77);
      }
      try { cb(null, Buffer.from(fzstd.decompress(new Uint8Array(buf)))); } catch (e) { cb(e); }
    },
  };
}

function decimalText(buf, scale) {
  let v = 0n;
  for (const byte of buf) v = (v << 8n) | BigInt(byte);
  if (buf.length && buf[0] & 0x80) v -= 1n << BigInt(8 * buf.length);
  const neg = v < 0n;
  let digits = (neg ? -v : v).toString();
  if (scale > 0) {
    digits = digits.padStart(scale + 1, '0');
    digits = digits.slice(0, digits.length - scale) + '.' + digits.slice(digits.length - scale);
  }
  return (neg ? '-' : '') + digits;
}

function canon(schema, v) {
  if (v === null || v === undefined) return null;
  if (Array.isArray(schema)) {
    // ["null", T]: avsc unwraps the union value for us.
    return canon(schema.find((s) => s !== 'null'), v);
  }
  const t = typeof schema === 'string' ? schema : schema.type;
  const lt = typeof schema === 'object' ? schema.logicalType : undefined;
  switch (t) {
    case 'boolean': return v ? 'true' : 'false';
    case 'int': return String(v);
    case 'long': return v.toString();
    case 'double': { const b = Buffer.alloc(8); b.writeDoubleBE(v); return b.toString('hex'); }
    case 'string': return v;
    case 'bytes': return lt === 'decimal' ? decimalText(v, schema.scale || 0) : v.toString('hex');
    case 'null': return null;
    default: throw new Error('unexpected type ' + JSON.stringify(schema));
  }
}

async function read(file) {
  const counter = { blocks: 0 };
  let header = null;
  const rows = [];
  await new Promise((resolve, reject) => {
    avro.createFileDecoder(file, {
      codecs: makeCodecs(file, counter),
      parseHook: (schema) => avro.Type.forSchema(schema, {
        typeHook: (s) => (s === 'long' || (s && s.type === 'long') ? longType : undefined),
      }),
    })
      .on('metadata', (type, codec, h) => {
        header = { codec, schema: JSON.parse(h.meta['avro.schema'].toString()) };
      })
      .on('data', (rec) => {
        rows.push(header.schema.fields.map((f) => canon(f.type, rec[f.name])));
      })
      .on('error', reject)
      .on('end', resolve);
  });
  return { header, rows, blocks: counter.blocks };
}

// Compare a file with its expected rows; returns an error message or null.
async function check(file, expectPath) {
  let got;
  try { got = await read(file); } catch (e) { return `avro_read: ${file}: ${e.message}`; }
  const expected = fs.readFileSync(expectPath, 'utf8').split('\n').filter((l) => l.length).map((l) => JSON.parse(l));
  if (expected.length !== got.rows.length) return `avro_read: ${file}: ${got.rows.length} rows, expected ${expected.length}`;
  for (let i = 0; i < got.rows.length; i++) {
    const a = JSON.stringify(got.rows[i]), e = JSON.stringify(expected[i]);
    if (a !== e) return `avro_read: ${file}: row ${i + 1} differs\n  got      ${a}\n  expected ${e}`;
  }
  console.log(`avro_read: ${file}: ${got.rows.length} rows match (codec ${got.header.codec}, ${got.blocks} blocks)`);
  return null;
}

if (bi >= 0) {
  const list = fs.readFileSync(args[bi + 1], 'utf8').split('\n').filter((l) => l.length);
  let failed = 0;
  for (const line of list) {
    const [file, exp] = line.split('\t');
    const msg = await check(file, exp);
    if (msg) { console.error(msg); failed++; }
  }
  process.exit(failed ? 1 : 0);
} else if (ei >= 0) {
  const msg = await check(args[0], args[ei + 1]);
  if (msg) { console.error(msg); process.exit(1); }
} else {
  const got = await read(args[0]);
  console.log(JSON.stringify({ codec: got.header.codec, schema: got.header.schema, rows: got.rows.length, blocks: got.blocks }));
  for (const r of got.rows) console.log(JSON.stringify(r));
}
