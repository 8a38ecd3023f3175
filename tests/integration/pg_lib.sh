# Helpers for the PostgreSQL integration tests: the e2e helpers plus a throwaway PostgreSQL 15
# (scripts/services/postgres.sh) stopped by pid when the test exits. Source this file.
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
if [ ! -x "$PGBIN/initdb" ] || [ ! -x "$PGBIN/psql" ]; then
  echo "skip: PostgreSQL 15 binaries not found under $PGBIN"
  exit 77
fi
# shellcheck source=../e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"
PG_DIRS=()
BG_PIDS=()
pg_cleanup() {
  local p d
  for p in "${BG_PIDS[@]+"${BG_PIDS[@]}"}"; do kill -KILL "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  for d in "${PG_DIRS[@]+"${PG_DIRS[@]}"}"; do "$NB_ROOT/scripts/services/postgres.sh" stop "$d" || true; done
  rm -rf "$T"
}
trap pg_cleanup EXIT
# pg_start [setting=value ...]: sets PGHOST PGPORT PGUSER NB_PG_DIR NB_PG_PID (exported for psql).
pg_start() {
  local out
  out=$("$NB_ROOT/scripts/services/postgres.sh" start "$@") || { echo "could not start PostgreSQL" >&2; exit 1; }
  eval "$out"
  export PGHOST PGPORT PGUSER
  PG_DIRS+=("$NB_PG_DIR")
}
psqlq() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
val() { "$PGBIN/psql" -X -At -v ON_ERROR_STOP=1 "$@"; }
# Value text exactly as nebula's sessions write it, for comparing tables as COPY text.
export PGOPTIONS="-c intervalstyle=iso_8601 -c timezone=UTC -c extra_float_digits=3 -c datestyle=ISO,YMD"
copy_text() { val -d "$1" -c "COPY (SELECT $3 FROM $2 ORDER BY 1) TO STDOUT"; }
