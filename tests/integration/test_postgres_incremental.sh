#!/usr/bin/env bash
# Incremental reads by a cursor column: rows that share the boundary cursor value are neither lost
# nor duplicated (ties broken by the primary key, across chunks, batches and runs); timestamps keep
# their microseconds and time zones.
source "$(dirname "$0")/pg_lib.sh"
pg_start
URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
psqlq -d postgres <<'SQL'
CREATE TABLE ev (id bigserial PRIMARY KEY, ts timestamptz, v text);
INSERT INTO ev (ts, v) SELECT '2024-01-01 00:00:00.000001+00', 'a' || g FROM generate_series(1, 5) g;
INSERT INTO ev (ts, v) SELECT '2024-01-01 05:30:00.000002+05:30', 'b' || g FROM generate_series(1, 5) g;
CREATE TABLE plain (k numeric(20,6) PRIMARY KEY, v text);
INSERT INTO plain SELECT g / 1000000.0, 'p' FROM generate_series(1, 7) g;
SQL
cat > inc.yaml <<EOF
source: { type: postgres, url: "$URL", tables: [public.ev], mode: incremental, cursor_field: ts, chunk_rows: 3 }
destination: { type: postgres, url: "$URL", schema: dst }
state: { path: inc.state.json }
EOF
nb run -c inc.yaml --batch-size 2
expect_rc 0 "run 1"
expect_eq "$(val -c 'SELECT count(*), count(DISTINCT id) FROM dst.ev')" "10|10" "run 1 rows"
grep -q '"cursor":"2024-01-01 00:00:00.000002+00:00"' inc.state.json && pass || fail "cursor saved exactly: $(cat inc.state.json)"

# New rows on the boundary value (higher keys), later values, and a null cursor (never read).
psqlq -c "INSERT INTO ev (ts, v) SELECT '2024-01-01 00:00:00.000002+00', 'c' || g FROM generate_series(1, 3) g"
psqlq -c "INSERT INTO ev (ts, v) VALUES ('2024-01-01 00:00:00.000003+00', 'd1'), ('2030-06-01 12:00:00.999999-07', 'd2'), (NULL, 'null cursor')"
nb run -c inc.yaml --batch-size 2
expect_rc 0 "run 2"
expect_eq "$(val -c 'SELECT count(*), count(DISTINCT id) FROM dst.ev')" "15|15" "run 2: boundary rows neither lost nor duplicated"
nb run -c inc.yaml
expect_rc 0 "run 3 (nothing new)"
expect_eq "$(val -c 'SELECT count(*) FROM dst.ev')" "15" "run 3 adds nothing"
copy_text postgres "ev WHERE ts IS NOT NULL" "id, ts, v" > a.txt
copy_text postgres dst.ev "id, ts, v" > b.txt
expect_file_eq b.txt a.txt

# A numeric cursor (the key itself), read in chunks of 3.
cat > inc2.yaml <<EOF
source: { type: postgres, url: "$URL", tables: [public.plain], mode: incremental, cursor_field: k, chunk_rows: 3 }
destination: { type: postgres, url: "$URL", schema: dst }
state: { path: inc2.state.json }
EOF
nb run -c inc2.yaml --batch-size 2
expect_rc 0 "numeric cursor run 1"
psqlq -c "INSERT INTO plain VALUES (0.000008, 'new')"
nb run -c inc2.yaml
expect_rc 0 "numeric cursor run 2"
expect_eq "$(val -c "SELECT string_agg(k::text, ',' ORDER BY k) FROM dst.plain")" "0.000001,0.000002,0.000003,0.000004,0.000005,0.000006,0.000007,0.000008" "numeric cursor rows"

# Missing cursor column: a clear configuration error.
sed 's/cursor_field: k/cursor_field: nope/' inc2.yaml > bad.yaml
nb run -c bad.yaml
expect_rc 2 "missing cursor column"
expect_err_contains 'has no column "nope"'
finish
