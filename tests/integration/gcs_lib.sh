# Shared setup for the GCS integration tests: source after tests/e2e/lib.sh. Makes a test RSA key
# (key.pem, pub.pem), offers start_fake/stop_fake for tests/fakes/gcs_fake.mjs (sets GPORT) and
# sa_key to write a service-account key file for it, and stops the fake on exit.
command -v node >/dev/null || { echo "NOTICE: node missing: gcs tests skipped"; exit 77; }
command -v openssl >/dev/null || { echo "NOTICE: openssl missing: gcs tests skipped"; exit 77; }
FAKE_PID=""
trap '[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null; rm -rf "$T"' EXIT
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out key.pem 2>/dev/null
openssl pkey -in key.pem -pubout -out pub.pem

start_fake() {   # start_fake PLAN (a file of faults, see gcs_fake.mjs; empty for none)
  : > fake.log
  node "$NB_ROOT/tests/fakes/gcs_fake.mjs" pub.pem gcsdata "$1" fake.log nebula > fake.out 2>fake.err &
  FAKE_PID=$!
  for _ in $(seq 1 100); do grep -q PORT= fake.out 2>/dev/null && break; sleep 0.05; done
  GPORT=$(sed -n 's/PORT=//p' fake.out)
  [ -n "$GPORT" ] || { echo "gcs fake did not start: $(cat fake.err)"; exit 1; }
}
stop_fake() { kill "$FAKE_PID" 2>/dev/null; wait "$FAKE_PID" 2>/dev/null || true; FAKE_PID=""; }
sa_key() {   # sa_key PEM OUT: a service-account key whose token_uri is the running fake
  python3 -c 'import json,sys; print(json.dumps({"type":"service_account","project_id":"p","private_key_id":"k1",
    "private_key":open(sys.argv[1]).read(),"client_email":"nebula@p.iam.gserviceaccount.com",
    "token_uri":"http://127.0.0.1:%s/token" % sys.argv[2]}))' "$1" "$GPORT" > "$2"
}
