#!/usr/bin/env bash
# The mysql source against a real throwaway MariaDB (ROW binlog, GTID): runs the C-level live tests
# (tests/unit/connector_mysql/test_live.c) with NB_MY_PORT pointing at the server.
set -euo pipefail
command -v mariadbd >/dev/null || { echo "mariadbd not installed: skipped"; exit 77; }
root=${NB_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${NB_BUILD:-$root/build}
bin=$build/tests/unit_connector_mysql_test_live
[ -x "$bin" ] || { echo "missing $bin"; exit 1; }
eval "$(bash "$root/scripts/services/mariadb.sh" start)"
trap 'bash "$root/scripts/services/mariadb.sh" stop "$NB_MY_DIR"' EXIT
NB_MY_PORT=$MYPORT "$bin"
