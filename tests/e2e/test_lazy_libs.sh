#!/usr/bin/env bash
# libcurl, libpq, libmariadb, libmicrohttpd, OpenSSL's libcrypto and libsnappy are loaded only by a
# run that uses them (core/dynlib.h): `version` and a local csv -> json run map none of them, nor the
# C++ runtime libsnappy pulls in (seen in the dynamic loader's own trace, LD_DEBUG=files); a postgres /
# mysql / s3 / metrics / snappy run maps its library, and a library that cannot be loaded is a clear
# error naming it and the Debian package to install.
source "$(dirname "$0")/lib.sh"

LAZY='lib(curl|pq|mariadb|microhttpd)\.so'
# ld_run NAME nebula-args...: run nebula with the loader's trace in ld-NAME.<pid>; RC as nb sets it.
ld_run() {
  local name=$1; shift
  rm -f "$T/ld-$name".*
  set +e
  LD_DEBUG=files LD_DEBUG_OUTPUT="$T/ld-$name" "$NEBULA" "$@" >"$T/out" 2>"$T/err"
  RC=$?
  set -e
}
# The lazy libraries the last ld_run NAME loaded, sorted, space separated.
loaded() { { cat "$T/ld-$1".* 2>/dev/null | grep -oE "file=$LAZY\.[0-9]+" || true; } | sed 's/file=//' | sort -u | tr '\n' ' ' | sed 's/ $//'; }
expect_loaded() {   # expect_loaded NAME "libs" what
  local got; got=$(loaded "$1")
  if [ "$got" == "$2" ]; then pass; else fail "$3: loaded '$got', wanted '$2'"; fi
}
# libcrypto, libssl, libsnappy and the C++ runtime (libsnappy's) are checked apart: libpq and libcurl
# bring libssl and libcrypto with them, so which ones a network run maps is Debian's choice, not ours.
HEAVY='lib(crypto|ssl|snappy|stdc\+\+|gcc_s)\.so'
# The sanitizer runtimes bring the C++ runtime themselves: there only libsnappy tells.
[ "${NB_SANITIZE:-0}" == 1 ] && HEAVY='lib(crypto|ssl|snappy)\.so'
heavy() { { cat "$T/ld-$1".* 2>/dev/null | grep -oE "file=$HEAVY\.[0-9]+" || true; } | sed 's/file=//' | sort -u | tr '\n' ' ' | sed 's/ $//'; }
expect_no_heavy() {   # expect_no_heavy NAME what
  local got; got=$(heavy "$1")
  if [ -z "$got" ]; then pass; else fail "$2: loaded '$got', wanted none of libcrypto, libssl, libsnappy, libstdc++"; fi
}
expect_maps() {       # expect_maps NAME soname what
  if heavy "$1" | tr ' ' '\n' | grep -qxF "$2"; then pass; else fail "$3: did not load $2 (loaded '$(heavy "$1")')"; fi
}
# A port nothing listens on.
free_port() { local p=$((20000 + RANDOM % 20000)); while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done; echo "$p"; }

# The trace works here at all (a loader that ignores LD_DEBUG would make the checks below vacuous).
ld_run probe version
expect_rc 0 "version"
if cat "$T/ld-probe".* 2>/dev/null | grep -q 'file=libc.so.6'; then pass; else
  echo "NOTICE: the dynamic loader wrote no LD_DEBUG trace: test skipped"; exit 77; fi
expect_loaded probe "" "nebula version"
expect_no_heavy probe "nebula version"

ld_run flag --version
expect_rc 0 "--version"
expect_loaded flag "" "nebula --version"
expect_no_heavy flag "nebula --version"

make_users_csv 50 users.csv
ld_run csv pipeline csv json --source-path users.csv --dest-path users.json --progress never
expect_rc 0 "csv -> json"
expect_loaded csv "" "local csv -> json run"
expect_no_heavy csv "local csv -> json run"
expect_eq "$(grep -c '"id"' users.json)" 50 "rows written by the csv -> json run"

# Snappy is loaded by the runs that compress or decompress with it, and only by them.
ld_run pqz pipeline csv parquet --source-path users.csv --dest-path users-zstd.parquet --progress never --dest-opt compression=zstd
expect_rc 0 "csv -> parquet (zstd)"
expect_no_heavy pqz "csv -> parquet with zstd pages"
ld_run pqs pipeline csv parquet --source-path users.csv --dest-path users.parquet --progress never --dest-opt compression=snappy
expect_rc 0 "csv -> parquet (snappy)"
expect_maps pqs libsnappy.so.1 "csv -> parquet with snappy pages"
expect_loaded pqs "" "csv -> parquet with snappy pages"
ld_run pqr pipeline parquet json --source-path users.parquet --dest-path back.json --progress never
expect_rc 0 "parquet (snappy) -> json"
expect_maps pqr libsnappy.so.1 "reading snappy parquet pages"
ld_run pqzr pipeline parquet json --source-path users-zstd.parquet --dest-path back-zstd.json --progress never
expect_rc 0 "parquet (zstd) -> json"
expect_no_heavy pqzr "reading zstd parquet pages"
expect_file_eq back.json back-zstd.json
ld_run szf pipeline csv csv --source-path users.csv --dest-path users.csv.sz --progress never --dest-opt compression=snappy
expect_rc 0 "csv -> framed snappy csv"
expect_maps szf libsnappy.so.1 "writing a framed snappy file"

# Each network connector loads its own library and nothing else. Nothing listens on the ports, so
# the runs fail after loading; that is enough.
port=$(free_port)
cat > pg.yaml <<EOF
source: { type: postgres, host: 127.0.0.1, port: $port, user: postgres, database: postgres }
destination: { type: csv, path: "o/{stream}.csv" }
EOF
ld_run pg check -c pg.yaml
expect_rc 1 "postgres check against a closed port"
expect_err_contains "cannot connect to 127.0.0.1:$port"
expect_loaded pg "libpq.so.5" "postgres check"

cat > my.yaml <<EOF
source: { type: mysql, url: "mysql://nebula:pw@127.0.0.1:$port/db" }
destination: { type: csv, path: "o/{stream}.csv" }
EOF
ld_run my check -c my.yaml
expect_rc 1 "mysql check against a closed port"
expect_err_contains "cannot connect to 127.0.0.1:$port"
expect_loaded my "libmariadb.so.3" "mysql check"

cat > s3.yaml <<EOF
source: { type: csv, path: users.csv }
destination: { type: s3, bucket: b, endpoint: "http://127.0.0.1:$port", path_style: true, access_key_id: K, secret_access_key: S, path: "x/{stream}.csv" }
EOF
ld_run s3 check -c s3.yaml
expect_rc 1 "s3 check against a closed port"
expect_loaded s3 "libcurl.so.4" "s3 check"
expect_maps s3 libcrypto.so.3 "s3 check (SigV4)"

mport=$(free_port)
ld_run metrics pipeline csv json --source-path users.csv --dest-path m.json --progress never --metrics-addr "127.0.0.1:$mport"
expect_rc 0 "csv -> json with a metrics endpoint"
expect_loaded metrics "libmicrohttpd.so.12" "run with --metrics-addr"

# A library that cannot be loaded: an empty file of that name found first on LD_LIBRARY_PATH.
mkdir -p broken
for so in libpq.so.5 libmariadb.so.3 libcurl.so.4 libmicrohttpd.so.12; do : > "broken/$so"; done
broken() { set +e; LD_LIBRARY_PATH="$T/broken" "$NEBULA" "$@" >"$T/out" 2>"$T/err"; RC=$?; set -e; }

broken check -c pg.yaml
expect_rc 1 "postgres without a loadable libpq"
expect_err_contains "postgres: cannot load libpq.so.5 ($T/broken/libpq.so.5: file too short); install the Debian package libpq5"

broken check -c my.yaml
expect_rc 1 "mysql without a loadable libmariadb"
expect_err_contains "mysql: cannot load libmariadb.so.3 ($T/broken/libmariadb.so.3: file too short); install the Debian package libmariadb3"

broken check -c s3.yaml
expect_rc 1 "s3 without a loadable libcurl"
expect_err_contains "http: cannot load libcurl.so.4 ($T/broken/libcurl.so.4: file too short); install the Debian package libcurl4"

broken pipeline csv json --source-path users.csv --dest-path m2.json --progress never --metrics-addr "127.0.0.1:$mport"
expect_rc 2 "metrics without a loadable libmicrohttpd"
expect_err_contains "metrics: cannot load libmicrohttpd.so.12 ($T/broken/libmicrohttpd.so.12: file too short); install the Debian package libmicrohttpd12"

# ... while runs that do not need them are unaffected.
broken pipeline csv json --source-path users.csv --dest-path users2.json --progress never
expect_rc 0 "csv -> json with broken network libraries on the path"
expect_file_eq users2.json users.json

# The same for libsnappy and libcrypto, in a directory of their own.
mkdir -p broken2
for so in libsnappy.so.1 libcrypto.so.3; do : > "broken2/$so"; done
broken2() { set +e; LD_LIBRARY_PATH="$T/broken2" "$NEBULA" "$@" >"$T/out" 2>"$T/err"; RC=$?; set -e; }
SNAPPY_ERR="snappy: cannot load libsnappy.so.1 ($T/broken2/libsnappy.so.1: file too short); install the Debian package libsnappy1v5"

broken2 pipeline csv parquet --source-path users.csv --dest-path nosnappy.parquet --progress never --dest-opt compression=snappy
expect_rc 1 "csv -> parquet (snappy) without a loadable libsnappy"
expect_err_contains "$SNAPPY_ERR"
broken2 pipeline parquet json --source-path users.parquet --dest-path nosnappy.json --progress never
expect_rc 1 "reading snappy parquet without a loadable libsnappy"
expect_err_contains "$SNAPPY_ERR"
broken2 pipeline csv avro --source-path users.csv --dest-path nosnappy.avro --progress never --dest-opt codec=snappy
expect_rc 1 "csv -> avro (snappy) without a loadable libsnappy"
expect_err_contains "$SNAPPY_ERR"
broken2 pipeline csv csv --source-path users.csv --dest-path nosnappy.csv.sz --progress never --dest-opt compression=snappy
expect_rc 1 "csv -> framed snappy without a loadable libsnappy"
expect_err_contains "$SNAPPY_ERR"
broken2 pipeline csv csv --source-path users.csv.sz --dest-path nosnappy.csv --progress never --source-opt compression=snappy
expect_rc 1 "reading a framed snappy file without a loadable libsnappy"
expect_err_contains "$SNAPPY_ERR"
# libcurl needs libcrypto itself, so an s3 run stops at libcurl, naming libcrypto (nebula's own
# message for a first use of libcrypto is checked by tests/unit/net/test_crypto_lib.c).
broken2 check -c s3.yaml
expect_rc 1 "s3 without a loadable libcrypto"
expect_err_contains "http: cannot load libcurl.so.4 ($T/broken2/libcrypto.so.3: file too short); install the Debian package libcurl4"

broken2 pipeline csv json --source-path users.csv --dest-path users3.json --progress never
expect_rc 0 "csv -> json with broken libsnappy and libcrypto on the path"
expect_file_eq users3.json users.json
broken2 pipeline csv parquet --source-path users.csv --dest-path users3.parquet --progress never --dest-opt compression=zstd
expect_rc 0 "csv -> parquet (zstd) with broken libsnappy and libcrypto on the path"

finish
