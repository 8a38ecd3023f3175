#!/usr/bin/env bash
# storage.mode (DESIGN.md §3): row commits every batch at once, auto commits a trickling stream at
# once, columnar waits for flush_interval. Proven on a pipe that delivers two rows and stays open:
# the state file (written only at a checkpoint, after the destination is durable) tells.
source "$(dirname "$0")/lib.sh"

# run_on_fifo MODE: start a run reading a FIFO, write a header and two rows, wait, look, close.
run_on_fifo() {
  local mode=$1 d="$T/$1"
  mkdir -p "$d"
  mkfifo "$d/in.csv"
  cat > "$d/p.yaml" <<Y
name: storage-$mode
source: { type: csv, path: $d/in.csv }
destination: { type: json, path: $d/out.ndjson }
performance: { flush_interval: 60s }
storage: { mode: $mode }
state: { path: $d/state.json }
Y
  "$NEBULA" run -c "$d/p.yaml" --progress never > "$d/log" 2>&1 &
  local pid=$!
  exec 3> "$d/in.csv"
  printf 'id,name\n1,a\n2,b\n' >&3
  for _ in $(seq 1 100); do [ -f "$d/state.json" ] && break; sleep 0.1; done
  sleep 0.5   # columnar: give a wrong checkpoint time to show up
  if [ -f "$d/state.json" ]; then echo committed > "$d/seen"; else echo waiting > "$d/seen"; fi
  cp "$d/out.ndjson.nebula-partial" "$d/partial.seen" 2>/dev/null || : > "$d/partial.seen"
  exec 3>&-
  wait "$pid" || fail "$mode: nebula exited with $? ($(tail -2 "$d/log"))"
}

run_on_fifo row
expect_eq "$(cat "$T/row/seen")" "committed" "row: committed before flush_interval"
expect_eq "$(wc -l < "$T/row/partial.seen")" "2" "row: both rows durable while the pipe is open"
grep -q '"row":2' "$T/row/state.json" && pass || fail "row: state position after row 2: $(cat "$T/row/state.json")"

run_on_fifo auto
expect_eq "$(cat "$T/auto/seen")" "committed" "auto: a trickle is committed at once"

run_on_fifo columnar
expect_eq "$(cat "$T/columnar/seen")" "waiting" "columnar: no checkpoint before flush_interval"

for m in row auto columnar; do
  # bash writes the header and each row separately: the types come from the rows, never from none.
  expect_eq "$(cat "$T/$m/out.ndjson")" '{"id":1,"name":"a"}
{"id":2,"name":"b"}' "$m: output"
done
finish
