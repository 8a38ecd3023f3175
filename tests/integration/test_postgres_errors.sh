#!/usr/bin/env bash
# Clear errors and exit 1: bad password, unreachable host, missing publication, wal_level=replica,
# no matching table; `check` reports wal_level, publication and slot; secrets never reach the output.
source "$(dirname "$0")/pg_lib.sh"
pg_start
psqlq -d postgres -c "CREATE ROLE pwuser LOGIN PASSWORD 'right-pass-123'" -c "CREATE TABLE t (id int PRIMARY KEY)"
# Password authentication for pwuser (the rest of the cluster stays trust).
sed -i '1i host all pwuser 127.0.0.1/32 scram-sha-256' "$NB_PG_DIR/data/pg_hba.conf"
val -d postgres -c "SELECT pg_reload_conf()" >/dev/null
URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"

cat > bad_pw.yaml <<EOF
source: { type: postgres, host: 127.0.0.1, port: $PGPORT, user: pwuser, password: "wrong-pass-987", database: postgres }
destination: { type: csv, path: "o/{stream}.csv" }
EOF
nb run -c bad_pw.yaml --log-level debug
expect_rc 1 "bad password"
expect_err_contains "password authentication failed"
expect_err_contains "check user and password"
if grep -q "wrong-pass-987" "$T/err" "$T/out"; then fail "the password appeared in the output"; else pass; fi
nb check -c bad_pw.yaml
expect_rc 1 "check with bad password"
expect_err_contains "password authentication failed"

cat > good_pw.yaml <<EOF
source: { type: postgres, url: "postgres://pwuser:right-pass-123@127.0.0.1:$PGPORT/postgres", tables: [public.t] }
destination: { type: csv, path: "o/{stream}.csv" }
EOF
psqlq -d postgres -c "GRANT SELECT ON t TO pwuser"
nb run -c good_pw.yaml --log-level debug
expect_rc 0 "url with the right password"
if grep -q "right-pass-123" "$T/err" "$T/out"; then fail "the password in the url appeared in the output"; else pass; fi

# Nothing listens on this port (found free by trying).
free=$((PGPORT + 1)); while (exec 3<>"/dev/tcp/127.0.0.1/$free") 2>/dev/null; do free=$((free + 1)); done
cat > unreachable.yaml <<EOF
source: { type: postgres, host: 127.0.0.1, port: $free, user: postgres, database: postgres }
destination: { type: csv, path: "o/{stream}.csv" }
EOF
nb run -c unreachable.yaml
expect_rc 1 "unreachable host"
expect_err_contains "cannot connect to 127.0.0.1:$free/postgres"
expect_err_contains "Connection refused"

cat > nopub.yaml <<EOF
source: { type: postgres, url: "$URL", tables: [public.t], mode: cdc, cdc: { publication: nope, until: now } }
destination: { type: csv, path: "o/{stream}.csv" }
EOF
nb run -c nopub.yaml
expect_rc 1 "missing publication"
expect_err_contains 'publication "nope" does not exist'
expect_err_contains "CREATE PUBLICATION nope"
nb check -c nopub.yaml
expect_rc 1 "check: missing publication"

psqlq -d postgres -c "CREATE PUBLICATION pub FOR TABLE t"
cat > okpub.yaml <<EOF
source: { type: postgres, url: "$URL", tables: [public.t], mode: cdc, cdc: { publication: pub, slot: s1, until: now } }
destination: { type: csv, path: "o/{stream}.csv" }
EOF
nb check -c okpub.yaml
expect_rc 0 "check cdc"
expect_err_contains "wal_level=logical"
expect_err_contains 'publication "pub" exists'
expect_err_contains 'slot "s1" does not exist yet'

# cdc without `tables`: the publication's tables only; an empty publication is an error.
psqlq -d postgres -c "CREATE TABLE not_published (id int PRIMARY KEY)" -c "CREATE PUBLICATION empty_pub"
cat > pubtables.yaml <<EOF
source: { type: postgres, url: "$URL", mode: cdc, cdc: { publication: pub } }
destination: { type: csv, path: "o/{stream}.csv" }
EOF
nb discover -c pubtables.yaml
expect_rc 0 "discover cdc without tables"
expect_out_contains '"name":"public.t"'
if grep -q not_published "$T/out"; then fail "a table outside the publication was listed"; else pass; fi
sed 's/publication: pub/publication: empty_pub/' pubtables.yaml > emptypub.yaml
nb check -c emptypub.yaml
expect_rc 1 "empty publication"
expect_err_contains 'publication "empty_pub" has no tables'

cat > notable.yaml <<EOF
source: { type: postgres, url: "$URL", tables: [public.nothing_here] }
destination: { type: csv, path: "o/{stream}.csv" }
EOF
nb run -c notable.yaml
expect_rc 1 "no table matches"
expect_err_contains "no table matches tables: [public.nothing_here]"

cat > nodb.yaml <<EOF
source: { type: postgres, url: "postgres://postgres@127.0.0.1:$PGPORT/no_such_db" }
destination: { type: csv, path: "o/{stream}.csv" }
EOF
nb run -c nodb.yaml
expect_rc 1 "missing database"
expect_err_contains 'database "no_such_db" does not exist'

# A second server with wal_level=replica.
pg_start wal_level=replica
cat > replica.yaml <<EOF
source: { type: postgres, url: "postgres://postgres@127.0.0.1:$PGPORT/postgres", mode: cdc, cdc: { until: now } }
destination: { type: csv, path: "o/{stream}.csv" }
EOF
psqlq -d postgres -c "CREATE TABLE t (id int PRIMARY KEY)"
nb run -c replica.yaml
expect_rc 1 "wal_level=replica"
expect_err_contains "wal_level is 'replica', cdc needs 'logical'"
expect_err_contains "ALTER SYSTEM SET wal_level = logical"
finish
