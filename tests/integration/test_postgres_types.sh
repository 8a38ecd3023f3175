#!/usr/bin/env bash
# Every built-in type through the postgres source: discover's type map, exact text into CSV, and a
# PostgreSQL -> PostgreSQL round trip (append, overwrite, merge) compared as COPY text.
source "$(dirname "$0")/pg_lib.sh"
pg_start
psqlq -d postgres -c "CREATE DATABASE src" -c "CREATE DATABASE dst"
psqlq -d src <<'SQL'
CREATE TYPE mood AS ENUM ('sad', 'happy');
CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
CREATE DOMAIN money2 AS numeric(12,2);
CREATE DOMAIN money3 AS money2;
CREATE TABLE t (id serial PRIMARY KEY, b bool, i2 int2, i4 int4, i8 int8, n numeric, n2 numeric(10,2), f4 float4, f8 float8,
  tx text, vc varchar(10), ch char(3), by bytea, d date, tm time, ttz timetz, ts timestamp, tstz timestamptz, iv interval,
  u uuid, j json, jb jsonb, arr int[], tarr text[], m mood, marr mood[], ip inet, cid cidr, mac macaddr, dom posint, dn money3,
  mo money, x xml, pt point, rng int4range, bits bit varying(8), nm name, "Mixed Case" text);
INSERT INTO t (b,i2,i4,i8,n,n2,f4,f8,tx,vc,ch,by,d,tm,ttz,ts,tstz,iv,u,j,jb,arr,tarr,m,marr,ip,cid,mac,dom,dn,mo,x,pt,rng,bits,nm,"Mixed Case") VALUES
 (true, -32768, 2147483647, -9223372036854775808, 123456789012345678901234567890.123456789012345, 12345678.99, 1.17549435e-38, 0.1,
  E'tab\there\nnewline \\ back "q" ''s'' ünï €', 'abc', 'ab', '\x00ff10'::bytea, '2024-02-29', '23:59:59.999999', '12:00:00+05:30',
  '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.123456+02', '1 year 2 mons 3 days 04:05:06.789', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  '{"a":  [1, 2.50, "x"], "a": 2}', '{"b": {"c": null}}', '{1,NULL,3}', '{"a b","c,d",NULL}', 'happy', '{sad,happy}',
  '192.168.0.1/24', '10.0.0.0/8', '08:00:2b:01:02:03', 5, 1234.50, 12.34, '<a>x</a>', '(1.5,2)', '[1,10)', B'101', 'nm', 'mc'),
 (false, 32767, -2147483648, 9223372036854775807, 'NaN', -0.01, 'Infinity', '-Infinity', '', '', '', '', '-infinity',
  '00:00:00', '00:00:00-12', '0001-01-01 00:00:00', 'infinity', '-178000000 years', '00000000-0000-0000-0000-000000000000',
  'null', '[]', '{}', '{}', 'sad', '{}', '::1', '::/0', 'ff:ff:ff:ff:ff:ff', 1, -0.5, -1, '', '(0,0)', 'empty', B'', '', ''),
 (NULL, 0, 0, 0, 1e-30, 0, 'NaN', 1.7976931348623157e308, NULL, NULL, NULL, NULL, '0044-03-15 BC', '24:00:00', NULL,
  '2024-01-01 00:00:00 BC', '1970-01-01 00:00:00.000001+00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (NULL, NULL, NULL, NULL, -0.0000000001, NULL, -0.0, 5e-324, E'\\N', 'x', 'x', '\x5c4e'::bytea, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, '"\u00e9"', '"\u00e9"', NULL, '{"\\\\"}', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL);
CREATE TABLE nopk (a int, b text);
INSERT INTO nopk SELECT g, 'r' || g FROM generate_series(1, 2500) g;
CREATE SCHEMA other;
CREATE TABLE other.skipme (a int);
SQL
COLS=$(val -d src -c "SELECT string_agg(quote_ident(attname), ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 't'::regclass AND attnum > 0")
URL="postgres://postgres@127.0.0.1:$PGPORT"

# discover: types, keys, domains as their base type, excluded schemas
cat > disc.yaml <<EOF
source: { type: postgres, url: "$URL/src", tables: ["*.*"], exclude: ["other.*"] }
destination: { type: csv, path: "x.csv" }
EOF
nb discover -c disc.yaml
expect_rc 0 "discover"
expect_out_contains '"name":"public.t"'
expect_out_contains '"name":"public.nopk"'
expect_out_contains '"primary_key":["id"]'
expect_out_contains '{"name":"n2","type":"decimal(10,2)","nullable":true}'
expect_out_contains '{"name":"dom","type":"int32","nullable":true}'
expect_out_contains '{"name":"dn","type":"decimal(12,2)","nullable":true}'
expect_out_contains '{"name":"tstz","type":"timestamptz","nullable":true}'
expect_out_contains '{"name":"jb","type":"json","nullable":true}'
expect_out_contains '{"name":"by","type":"binary","nullable":true}'
expect_out_contains '{"name":"id","type":"int32","nullable":false}'
if grep -q skipme "$T/out"; then fail "discover listed an excluded table"; else pass; fi

cat > p_csv.yaml <<EOF
source: { type: postgres, url: "$URL/src", tables: [public.t, nopk], chunk_rows: 1000 }
destination: { type: csv, path: "csv/{stream}.csv" }
EOF
nb check -c p_csv.yaml
expect_rc 0 "check"

# CSV: exact text
nb run -c p_csv.yaml --batch-size 700
expect_rc 0 "run to csv"
expect_eq "$(wc -l < csv/public.nopk.csv | tr -d ' ')" "2501" "nopk rows (ctid chunks)"
expect_eq "$(sed 1d csv/public.nopk.csv | sort -t, -k1n | head -1)" "1,r1" "nopk first row"
grep -q '^1,true,-32768,2147483647,-9223372036854775808,123456789012345678901234567890.123456789012345,12345678.99,1.1754944e-38,0.1,' csv/public.t.csv && pass || fail "row 1 text: $(head -c 400 csv/public.t.csv)"
grep -qF '2024-01-02 01:04:05.123456+00:00' csv/public.t.csv && pass || fail "timestamptz as RFC 3339 offset"
grep -qF 'P1Y2M3DT4H5M6.789S' csv/public.t.csv && pass || fail "interval as ISO 8601"
grep -qF '1970-01-01 00:00:00.000001+00:00' csv/public.t.csv && pass || fail "microseconds kept"
grep -qF '1.7976931348623157e+308' csv/public.t.csv && pass || fail "float8 max exact"

# PostgreSQL -> PostgreSQL: append, then compare every column as COPY text
cat > p_pg.yaml <<EOF
source: { type: postgres, url: "$URL/src", tables: [public.t, nopk], chunk_rows: 1000 }
destination: { type: postgres, url: "$URL/dst" }
EOF
nb run -c p_pg.yaml --batch-size 700
expect_rc 0 "run to postgres (append)"
copy_text src t "$COLS" > a.txt
copy_text dst t "$COLS" > b.txt
expect_file_eq b.txt a.txt
expect_eq "$(val -d dst -c 'SELECT count(*) FROM nopk')" "2500" "nopk rows in dst"
for pair in "n2:numeric(10,2)" "tstz:timestamp with time zone" "by:bytea" "j:json" "i8:bigint" "b:boolean" "d:date"; do
  col=${pair%%:*}
  expect_eq "$(val -d dst -c "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = '$col'")" "${pair#*:}" "type of $col"
done

# overwrite: a second run replaces (not appends), atomically
cat > p_over.yaml <<EOF
source: { type: postgres, url: "$URL/src", tables: [public.t, nopk], chunk_rows: 1000 }
destination: { type: postgres, url: "$URL/dst", mode: overwrite }
EOF
nb run -c p_over.yaml
expect_rc 0 "overwrite run"
expect_eq "$(val -d dst -c 'SELECT count(*) FROM nopk')" "2500" "overwrite keeps one copy"
copy_text dst t "$COLS" > b2.txt
expect_file_eq b2.txt a.txt
expect_eq "$(val -d dst -c "SELECT count(*) FROM pg_class WHERE relname LIKE '%__nb_new'")" "0" "no side tables left"

# merge: upsert by primary key, idempotent
cat > p_merge.yaml <<EOF
source: { type: postgres, url: "$URL/src", tables: [public.t] }
destination: { type: postgres, url: "$URL/dst", schema: merged, mode: merge, primary_key: [id] }
EOF
nb run -c p_merge.yaml
expect_rc 0 "merge run 1"
nb run -c p_merge.yaml
expect_rc 0 "merge run 2"
expect_eq "$(val -d dst -c 'SELECT count(*) FROM merged.t')" "4" "merge is idempotent"
copy_text dst merged.t "$COLS" > b3.txt
expect_file_eq b3.txt a.txt
finish
