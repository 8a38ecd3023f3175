#!/usr/bin/env bash
# TLS: a server with a test certificate (made here with openssl), client sslmode=verify-full with
# the test CA; a wrong CA and a wrong host name are clear errors (exit 1).
source "$(dirname "$0")/pg_lib.sh"
command -v openssl >/dev/null || { echo "skip: openssl not installed"; exit 77; }
CERTS=$(mktemp -d /tmp/nebula-pgtls.XXXXXX)
trap 'pg_cleanup; rm -rf "$CERTS"' EXIT
cd "$CERTS"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Nebula Test CA" -keyout ca.key -out ca.crt 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > san.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out server.crt 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Other CA" -keyout other.key -out other.crt 2>/dev/null
chmod 755 "$CERTS"; chmod 600 server.key; chmod 644 server.crt ca.crt other.crt
[ "$(id -u)" -eq 0 ] && chown postgres server.key server.crt
cd "$T"
pg_start ssl=on "ssl_cert_file=$CERTS/server.crt" "ssl_key_file=$CERTS/server.key"
# Only TLS connections over TCP.
sed -i '1i hostnossl all all 0.0.0.0/0 reject' "$NB_PG_DIR/data/pg_hba.conf"
val -h "$NB_PG_DIR" -d postgres -c "SELECT pg_reload_conf()" >/dev/null
val -h "$NB_PG_DIR" -d postgres -c "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'over tls')" >/dev/null

cat > tls.yaml <<EOF
source: { type: postgres, host: localhost, port: $PGPORT, user: postgres, database: postgres, sslmode: verify-full, sslrootcert: "$CERTS/ca.crt", tables: [public.t] }
destination: { type: csv, path: "o/{stream}.csv" }
EOF
nb run -c tls.yaml
expect_rc 0 "verify-full with the test CA"
expect_eq "$(sed -n 2p o/public.t.csv)" "1,over tls" "row read over TLS"
# The session really is encrypted.
cat > tls_check.yaml <<EOF
source: { type: postgres, url: "postgres://postgres@localhost:$PGPORT/postgres?sslmode=verify-full&sslrootcert=$CERTS/ca.crt", tables: [public.t] }
destination: { type: postgres, url: "postgres://postgres@127.0.0.1:$PGPORT/postgres?sslmode=verify-ca&sslrootcert=$CERTS/ca.crt", schema: copy }
EOF
nb run -c tls_check.yaml
expect_rc 0 "url with sslmode and a postgres destination over TLS"
expect_eq "$(val -h "$NB_PG_DIR" -d postgres -c 'SELECT v FROM copy.t')" "over tls" "written over TLS"

sed "s|$CERTS/ca.crt|$CERTS/other.crt|" tls.yaml > wrong_ca.yaml
nb run -c wrong_ca.yaml
expect_rc 1 "wrong CA"
expect_err_contains "certificate verify failed"
expect_err_contains "check sslmode, sslrootcert"

# A host name the certificate does not name (hostaddr reaches the same server).
cat > wrong_host.yaml <<EOF
source: { type: postgres, url: "postgres://postgres@wrong.example:$PGPORT/postgres?hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert=$CERTS/ca.crt" }
destination: { type: csv, path: "o/{stream}.csv" }
EOF
nb run -c wrong_host.yaml
expect_rc 1 "host name mismatch"
expect_err_contains "does not match host name"

sed 's/sslmode: verify-full, sslrootcert: "[^"]*"/sslmode: disable/' tls.yaml > plain.yaml
nb run -c plain.yaml
expect_rc 1 "plaintext refused by the server"
expect_err_contains "no encryption"
finish
