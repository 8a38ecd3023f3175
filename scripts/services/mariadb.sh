#!/usr/bin/env bash
# Throwaway MariaDB servers on loopback for tests (ROW binlog, full row image and metadata, GTID).
#   mariadb.sh start [--replica-of PORT]   prints MYPORT=.. NB_MY_DIR=.. NB_MY_PID=.. (eval-able)
#   mariadb.sh stop DIR                    stops the server by its pid, then removes DIR
# Accounts: root@127.0.0.1 (no password) and nebula@127.0.0.1 / 'nebula-pw' with SELECT, RELOAD,
# REPLICATION SLAVE, REPLICATION CLIENT. A replica replicates from 127.0.0.1:PORT by GTID.
set -euo pipefail

free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$(( 20000 + RANDOM % 30000 ))
    if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo "$p"; return 0; fi
  done
  return 1
}

sql() { mariadb --no-defaults -h127.0.0.1 -P"$1" -uroot -N -B -e "$2"; }

start() {
  local replica_of=""
  if [ "${1:-}" = "--replica-of" ]; then replica_of=$2; fi
  command -v mariadbd >/dev/null || { echo "mariadbd not installed" >&2; exit 77; }
  local dir port pid sid
  dir=$(mktemp -d /tmp/nb-mariadb.XXXXXX)
  chmod 755 "$dir"
  mkdir -p "$dir/data" "$dir/binlog" "$dir/tmp"
  chown -R mysql:mysql "$dir" 2>/dev/null || true
  # Each server its own tmpdir: internal temporary tables (information_schema queries, the install's
  # bootstrap) are named by thread and counter, and two servers sharing /tmp collided on them
  # ("Could not remove temporary table", a server lost mid-query) when test jobs ran at once.
  mariadb-install-db --no-defaults --user=mysql --datadir="$dir/data" --tmpdir="$dir/tmp" \
    --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve >"$dir/install.log" 2>&1 \
    || { cat "$dir/install.log" >&2; exit 1; }
  # Several test jobs pick free ports at once: a port taken between the probe and the bind is
  # retried with another; any other start failure removes the directory and fails.
  local attempt up=""
  for attempt in 1 2 3; do
    port=$(free_port)
    sid=$(( (port % 1000) + 1 ))
    mariadbd --no-defaults --user=mysql --datadir="$dir/data" --tmpdir="$dir/tmp" --bind-address=127.0.0.1 --port="$port" \
      --socket="$dir/sock" --pid-file="$dir/pid" --server-id="$sid" --log-bin="$dir/binlog/bin" \
      --binlog-format=ROW --binlog-row-image=FULL --binlog-row-metadata=FULL --log-slave-updates \
      --gtid-strict-mode=ON --skip-name-resolve --innodb-buffer-pool-size=64M --innodb-log-file-size=16M \
      --innodb-flush-log-at-trx-commit=2 --sync-binlog=0 --max-connections=50 \
      --log-error="$dir/error.log" >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 1 300); do
      if mariadb --no-defaults -uroot --socket="$dir/sock" -e "SELECT 1" >/dev/null 2>&1; then up=1; break; fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    [ -n "$up" ] && break
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    if [ "$attempt" -lt 3 ] && grep -q "another server running on port" "$dir/error.log" 2>/dev/null; then
      : > "$dir/error.log"; continue
    fi
    cat "$dir/error.log" >&2
    case "$dir" in /tmp/nb-mariadb.*) rm -rf "$dir" ;; esac
    exit 1
  done
  mariadb --no-defaults -uroot --socket="$dir/sock" -e "
    SET sql_log_bin=0;
    CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
    GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
    CREATE USER 'nebula'@'127.0.0.1' IDENTIFIED BY 'nebula-pw';
    GRANT SELECT, RELOAD, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'nebula'@'127.0.0.1';
    FLUSH PRIVILEGES;" >&2
  if [ -n "$replica_of" ]; then
    # Bring over what the primary already has by GTID from the start of its binlog.
    mariadb --no-defaults -uroot --socket="$dir/sock" -e "
      SET GLOBAL gtid_slave_pos='';
      CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$replica_of, MASTER_USER='root',
        MASTER_USE_GTID=slave_pos;
      START SLAVE;" >&2
  fi
  echo "MYPORT=$port"
  echo "NB_MY_DIR=$dir"
  echo "NB_MY_PID=$pid"
}

stop() {
  local dir=$1 pid
  [ -n "$dir" ] && [ -d "$dir" ] || return 0
  if [ -f "$dir/pid" ]; then
    pid=$(cat "$dir/pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      [ -d "/proc/$pid" ] || break
      grep -q '^[0-9]* ([^)]*) Z' "/proc/$pid/stat" 2>/dev/null && break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  case "$dir" in /tmp/nb-mariadb.*) rm -rf "$dir" ;; esac
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) stop "${2:-}" ;;
  *) echo "usage: $0 start [--replica-of PORT] | stop DIR" >&2; exit 2 ;;
esac
