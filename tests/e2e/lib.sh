# Helpers for end-to-end tests: they drive $NEBULA as a user would. Source this file.
set -euo pipefail
: "${NEBULA:?NEBULA must point at the nebula binary (ctest sets it)}"
NB_ROOT=${NB_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
NB_SHARED=${NB_SHARED:-$NB_ROOT/../shared}
T=$(mktemp -d "${TMPDIR:-/tmp}/nebula-e2e.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"
FAILS=0
CHECKS=0

fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
pass() { CHECKS=$((CHECKS + 1)); }
# Run nebula, capturing stdout/stderr into $T/out and $T/err and the status into RC.
nb() { set +e; "$NEBULA" "$@" >"$T/out" 2>"$T/err"; RC=$?; set -e; }
expect_rc() {
  local want=$1; shift
  if [ "$RC" -eq "$want" ]; then pass; else fail "$* : exit $RC, wanted $want; stderr: $(head -c 2000 "$T/err")"; fi
}
expect_err_contains() {
  if grep -qF -- "$1" "$T/err"; then pass; else fail "stderr lacks '$1': $(head -c 2000 "$T/err")"; fi
}
expect_out_contains() {
  if grep -qF -- "$1" "$T/out"; then pass; else fail "stdout lacks '$1': $(head -c 2000 "$T/out")"; fi
}
expect_file_eq() {   # expect_file_eq actual expected
  if cmp -s "$1" "$2"; then pass; else fail "$1 differs from $2: $(diff <(head -c 3000 "$1") <(head -c 3000 "$2") | head -20)"; fi
}
expect_eq() {        # expect_eq actual expected what
  if [ "$1" == "$2" ]; then pass; else fail "$3: got '$1', wanted '$2'"; fi
}
expect_no_file() { if [ -e "$1" ]; then fail "$1 exists but should not"; else pass; fi; }
expect_file() { if [ -e "$1" ]; then pass; else fail "$1 is missing"; fi; }
# Summary line values: summary_field "rows out"
summary_field() { grep -o "[0-9]* $1" "$T/err" | tail -1 | cut -d' ' -f1; }
finish() {
  echo "$CHECKS passed, $FAILS failed"
  [ "$FAILS" -eq 0 ]
}
# A deterministic users CSV of N rows (the bench shape, small).
make_users_csv() {
  local n=$1 out=$2
  awk -v n="$n" 'BEGIN {
    print "id,name,email,age,score,active,created_at";
    for (i = 1; i <= n; i++) {
      printf "%d,User %d,user%d@example.com,%d,%d.%02d,%s,2024-%02d-%02dT%02d:%02d:%02dZ\n",
        i, i, i, 18 + i % 60, i % 1000, i % 100, (i % 3 ? "true" : "false"),
        1 + i % 12, 1 + i % 28, i % 24, i % 60, (i * 7) % 60
    }
  }' > "$out"
}
