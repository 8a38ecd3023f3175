#!/usr/bin/env bash
# Fault tests for the S3 upload path, through a proxy (tests/fakes/fault_proxy.mjs) in front of the
# signature-checking S3 server: 500s, 503 with Retry-After, a connection dropped mid-part and a
# slow response all end in a complete, byte-identical object (nothing lost or duplicated); retries
# are bounded; the circuit breaker opens and recovers; a dead endpoint fails with a clear message
# and the multipart upload is aborted.
source "$(dirname "$0")/../e2e/lib.sh"
source "$NB_ROOT/tests/integration/s3_lib.sh"

make_users_csv 200000 big.csv    # ~13 MB: three 5 MiB parts
make_users_csv 2000 small.csv
nb pipeline csv csv --source-path big.csv --dest-path local/big.csv; expect_rc 0 "local csv"
nb pipeline csv csv --source-path small.csv --dest-path local/small.csv; expect_rc 0 "local small csv"

# 1. Transient faults on every part.
cat > plan1 <<'P'
500 ^PUT .*partNumber=1&
503ra ^PUT .*partNumber=2&
drop ^PUT .*partNumber=3&
slow ^PUT .*partNumber=2&
500 ^POST .*uploadId=
P
start_proxy plan1
S3_EP="http://127.0.0.1:$PROXY_PORT" s3_pipeline f1.yaml big.csv "f/{stream}.csv" "part_size: 5MiB" "max_concurrency: 3" \
  "retry_base: 20ms" "retry_max: 200ms"
nb run -c f1.yaml --log-level debug; expect_rc 0 "upload through transient faults"
expect_file_eq "$(s3_object nebula f/big.csv)" local/big.csv
for f in "500 500 PUT" "503ra 503 PUT" "drop 0 PUT" "500 500 POST"; do
  grep -q "^$f" "$T/proxy.log" && pass || fail "fault '$f' was not exercised: $(cat "$T/proxy.log")"
done
grep -q '^slow 200 PUT' "$T/proxy.log" && pass || fail "slow response not exercised"
grep -q 'retrying in 1000 ms' "$T/err" && pass || fail "Retry-After: 1 not honoured: $(grep retrying "$T/err")"
# Each part reached the server successfully exactly as often as it was retried into success: once.
for p in 1 2 3; do
  n=$(grep -c "^\(ok\|slow\) 200 PUT .*partNumber=$p&" "$T/proxy.log" || true)
  expect_eq "$n" 1 "successful uploads of part $p"
done
total=$(wc -l < "$T/proxy.log")
[ "$total" -le 14 ] && pass || fail "too many requests ($total): $(cat "$T/proxy.log")"
stop_proxy

# 2. The circuit breaker opens after 2 consecutive failures, waits, probes and recovers.
printf '500 ^PUT \n500 ^PUT \n500 ^PUT \n' > plan2
start_proxy plan2
S3_EP="http://127.0.0.1:$PROXY_PORT" s3_pipeline f2.yaml small.csv "b/{stream}.csv" "breaker_threshold: 2" \
  "breaker_cooldown: 300ms" "retry_base: 10ms" "retry_max: 50ms" "max_attempts: 8"
nb run -c f2.yaml --log-level debug; expect_rc 0 "upload recovers after the breaker opened"
grep -q 'circuit open, waiting' "$T/err" && pass || fail "breaker never opened: $(grep http "$T/err" | tail -5)"
expect_file_eq "$(s3_object nebula b/small.csv)" local/small.csv
stop_proxy

# 3. A dead endpoint: bounded retries, a clear error, the multipart upload aborted, no object.
printf 'always500 ^PUT .*partNumber=\n' > plan3
start_proxy plan3
S3_EP="http://127.0.0.1:$PROXY_PORT" s3_pipeline f3.yaml big.csv "d/{stream}.csv" "part_size: 5MiB" "max_concurrency: 1" \
  "max_attempts: 3" "retry_base: 10ms" "retry_max: 50ms" "breaker_threshold: 100"
nb run -c f3.yaml; expect_rc 1 "dead endpoint fails"
expect_err_contains "HTTP 500 InternalError"
expect_err_contains "s3://nebula/d/big.csv"
n=$(grep -c "PUT .*partNumber=1&" "$T/proxy.log" || true)
expect_eq "$n" 3 "attempts at part 1 (max_attempts)"
grep -q "DELETE .*uploadId=" "$T/proxy.log" && pass || fail "multipart upload not aborted"
expect_no_file "$(s3_object nebula d/big.csv)"
stop_proxy

# 4. A stalled upload: the progress line keeps moving and says what it waits for.
printf 'stall ^PUT \n' > plan4
start_proxy plan4
S3_EP="http://127.0.0.1:$PROXY_PORT" s3_pipeline f4.yaml small.csv "s/{stream}.csv"
nb run -c f4.yaml --progress always; expect_rc 0 "upload after a 3 s stall"
grep -Eq 'waiting on the destination [23]s' "$T/err" && pass || fail "no 'waiting on the destination' in the progress line"
expect_file_eq "$(s3_object nebula s/small.csv)" local/small.csv
stop_proxy

finish
