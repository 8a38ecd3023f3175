#!/usr/bin/env bash
# CSV -> Avro through the CLI, read back by avsc (tests/tools/avro_read.mjs): every value against the
# generator's formulas, every codec with block options, sanitised names, bad options and bad records.
source "$(dirname "$0")/lib.sh"
READ="$NB_ROOT/tests/tools/avro_read.mjs"
if ! command -v node >/dev/null || [ ! -d "$NB_ROOT/tests/node_modules/avsc" ]; then
  echo "NOTICE: node or tests/node_modules missing: avro e2e skipped"; exit 77
fi

# check_users FILE N: the dump of FILE holds rows 1..N of make_users_csv, exactly.
check_users() {
  set +e; node "$READ" "$1" > dump.ndjson; local rc=$?; set -e
  if [ $rc -eq 77 ]; then echo "NOTICE: $1 not checked (no zstd decoder)"; echo '{}' > dump.ndjson; return; fi
  [ $rc -eq 0 ] || { fail "avro_read $1"; return; }
  if node - "$2" <<'JS'; then pass; else fail "values of $1"; fi
const fs = require('fs');
const n = Number(process.argv[2]);
const lines = fs.readFileSync('dump.ndjson', 'utf8').trim().split('\n');
const meta = JSON.parse(lines[0]);
if (meta.rows !== n) throw new Error(`rows ${meta.rows}, wanted ${n}`);
const hex = (d) => { const b = Buffer.alloc(8); b.writeDoubleBE(d); return b.toString('hex'); };
const pad = (x) => String(x).padStart(2, '0');
for (let i = 1; i <= n; i++) {
  const want = JSON.stringify([String(i), `User ${i}`, `user${i}@example.com`, String(18 + i % 60),
    hex(parseFloat(`${i % 1000}.${pad(i % 100)}`)), i % 3 ? 'true' : 'false',
    String(BigInt(Date.UTC(2024, i % 12, 1 + i % 28, i % 24, i % 60, (i * 7) % 60)) * 1000n)]);
  if (lines[i] !== want) throw new Error(`row ${i}: ${lines[i]} != ${want}`);
}
JS
}
meta() { head -1 dump.ndjson; }

nb spec avro; expect_rc 0 "spec avro"
expect_out_contains "null|none|deflate|snappy|zstd"
expect_out_contains "sync_interval"
nb list; expect_rc 0 "list"
expect_out_contains "avro"

make_users_csv 3000 users.csv
nb pipeline csv avro --source-path users.csv --dest-path av/users.avro --batch-size 700
expect_rc 0 "csv -> avro"
expect_file av/users.avro
expect_no_file av/users.avro.nebula-partial
check_users av/users.avro 3000
m=$(meta)
case "$m" in *'"codec":"snappy"'*) pass ;; *) fail "default codec: $m" ;; esac
case "$m" in *'{"name":"created_at","type":["null",{"type":"long","logicalType":"timestamp-micros"}],"default":null}'*) pass ;;
  *) fail "created_at schema: $m" ;; esac

# Every codec from a pipeline file, with small blocks.
# (`codec: null` unquoted is a YAML null: it still means the null codec.)
for codec in null deflate snappy zstd none; do
  cat > p_$codec.yaml <<Y
name: users-$codec
source: { type: csv, path: users.csv }
destination: { type: avro, path: "av/{stream}-$codec.avro", codec: $codec, compression_level: 3, block_size: 4KiB, sync_interval: 50 }
Y
  nb run -c p_$codec.yaml; expect_rc 0 "run $codec"
  f=$(ls av/*-$codec.avro 2>/dev/null | head -1)
  [ -n "$f" ] || { fail "no output for $codec"; continue; }
  check_users "$f" 3000
  want=$codec; [ $codec = zstd ] && want=zstandard; [ $codec = none ] && want=null
  blocks=$(meta | sed 's/.*"blocks":\([0-9]*\).*/\1/')
  [ "$(meta)" = '{}' ] && continue   # not readable here (notice printed)
  case "$(meta)" in *"\"codec\":\"$want\""*) pass ;; *) fail "$codec: $(meta | head -c 300)" ;; esac
  [ "$blocks" -ge 50 ] && pass || fail "$codec: $blocks blocks, wanted >= 50"
done

# Names Avro does not allow are sanitised; the original is kept.
printf 'user id,1st,ok\n1,a,true\n2,,false\n' > names.csv
nb pipeline csv avro --source-path names.csv --dest-path av/names.avro
expect_rc 0 "names"
node "$READ" av/names.avro > dump.ndjson || fail "read names"
case "$(meta)" in *'{"name":"user_id","type":["null","long"],"default":null,"nebula.original_name":"user id"}'*) pass ;;
  *) fail "names schema: $(meta)" ;; esac
case "$(meta)" in *'"name":"_1st"'*'"nebula.original_name":"1st"'*) pass ;; *) fail "names schema: $(meta)" ;; esac
expect_eq "$(sed -n 3p dump.ndjson)" '["2",null,"false"]' "null from an empty CSV field"

# A bad option is a configuration error naming the key.
cat > bad.yaml <<'Y'
source: { type: csv, path: users.csv }
destination: { type: avro, path: av/bad.avro, codec: brotli }
Y
nb run -c bad.yaml; expect_rc 2 "unknown codec"
expect_err_contains "codec"

# A value that does not fit the inferred type is a bad record: fail leaves no file; skip drops it.
{ cat users.csv; echo "3001,User 3001,user3001@example.com,N/A,1.00,true,2024-01-01T00:00:00Z"; } > bad.csv
nb pipeline csv avro --source-path bad.csv --dest-path av/bad.avro --set source.infer_rows=1000
expect_rc 1 "bad record with policy fail"
expect_err_contains "N/A"
expect_no_file av/bad.avro
expect_no_file av/bad.avro.nebula-partial
nb pipeline csv avro --source-path bad.csv --dest-path av/skip.avro --on-bad-record skip --set source.infer_rows=1000
expect_rc 0 "bad record with policy skip"
check_users av/skip.avro 3000

finish
