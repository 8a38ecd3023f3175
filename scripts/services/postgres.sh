#!/usr/bin/env bash
# Throwaway PostgreSQL 15 on loopback for tests (DESIGN.md §7): a temp dir, a free port, wal_level=logical.
#   postgres.sh start [extra postgres -c settings...]  prints PGHOST=, PGPORT=, PGUSER=, NB_PG_DIR=, NB_PG_PID=
#   postgres.sh stop DIR                                stops the server by its pid and removes DIR
set -euo pipefail
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

run_as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
  [ -x "$PGBIN/initdb" ] || { echo "postgres.sh: $PGBIN/initdb not found" >&2; exit 77; }
  local dir
  dir=$(mktemp -d /tmp/nebula-pg.XXXXXX)
  chmod 755 "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
  run_as_pg "$PGBIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; rm -rf "$dir"; exit 1; }
  local extra=() a
  for a in "$@"; do extra+=("-c $a"); done
  local tries=0 port
  while :; do
    port=$(( 20000 + (RANDOM * 7 + $$) % 30000 ))
    if port_free "$port"; then
      if run_as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 -o \
        "-c listen_addresses=127.0.0.1 -p $port -k $dir -c wal_level=logical -c max_wal_senders=10 -c max_replication_slots=10 -c fsync=off -c synchronous_commit=off -c full_page_writes=off ${extra[*]}" \
        start >"$dir/pg_ctl.log" 2>&1; then
        break
      fi
    fi
    tries=$((tries + 1))
    if [ $tries -ge 10 ]; then cat "$dir/server.log" >&2 2>/dev/null || true; rm -rf "$dir"; echo "postgres.sh: could not start" >&2; exit 1; fi
  done
  local pid
  pid=$(head -1 "$dir/data/postmaster.pid")
  echo "PGHOST=127.0.0.1"
  echo "PGPORT=$port"
  echo "PGUSER=postgres"
  echo "NB_PG_DIR=$dir"
  echo "NB_PG_PID=$pid"
}

stop() {
  local dir=$1
  [ -n "$dir" ] && [ -d "$dir" ] || exit 0
  local pid=""
  [ -f "$dir/data/postmaster.pid" ] && pid=$(head -1 "$dir/data/postmaster.pid")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -INT "$pid" 2>/dev/null || true    # fast shutdown
    for _ in $(seq 1 100); do
      [ -d "/proc/$pid" ] || break
      state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo Z)
      [ "$state" = "Z" ] && break
      sleep 0.1
    done
    if [ -d "/proc/$pid" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo Z)" != "Z" ]; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  case "$dir" in /tmp/nebula-pg.*) rm -rf "$dir" ;; esac
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) stop "${2:-}" ;;
  *) echo "usage: postgres.sh start [setting=value...] | stop DIR" >&2; exit 2 ;;
esac
