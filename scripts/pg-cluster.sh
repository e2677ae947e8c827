#!/usr/bin/env bash
# A private PostgreSQL cluster for the tests and the benchmark: Debian's
# PostgreSQL (15 or the newest installed) in a temp folder, run as the
# `postgres` user when we are root (initdb refuses root), listening on a free
# loopback port and a socket in its own folder, trust auth on loopback only.
#
# Usage: scripts/pg-cluster.sh start DIR   prints the URL on stdout (postgres://…)
#        scripts/pg-cluster.sh stop DIR    stops it (the folder is left to the caller)
#        scripts/pg-cluster.sh halt DIR    a clean shutdown that keeps the data; resume DIR starts it again
#        scripts/pg-cluster.sh bin         prints the binaries folder, or exits 1 if none
#        PGBOUNCER=1 … start DIR            also starts pgbouncer (transaction mode) and
#                                           prints its URL on a second line
set -euo pipefail

pg_bin() {
  if [ -n "${SATCHEL_PG_BIN:-}" ] && [ -x "$SATCHEL_PG_BIN/initdb" ]; then echo "$SATCHEL_PG_BIN"; return; fi
  for v in 15 16 17 18 14 13; do
    if [ -x "/usr/lib/postgresql/$v/bin/initdb" ]; then echo "/usr/lib/postgresql/$v/bin"; return; fi
  done
  local initdb
  initdb=$(command -v initdb 2>/dev/null) || return 1
  dirname "$initdb"
}

# A loopback port nothing listens on, below the kernel's ephemeral range (32768-60999 by default): a port in that
# range may be the local end of an outgoing connection, which a probe cannot see and which makes bind() fail.
free_port() {
  local port low
  low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  [ "$low" -gt 11000 ] 2>/dev/null || low=32768
  for _ in $(seq 50); do
    port=$(( 10000 + RANDOM % (low - 10000) ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
  echo "no free port found" >&2
  return 1
}

# Runs a command as the cluster's owner: `postgres` when we are root, else ourselves.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cmd=${1:-}
case "$cmd" in
  bin)
    pg_bin ;;
  start)
    dir=${2:?usage: pg-cluster.sh start DIR}
    bin=$(pg_bin) || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 3; }
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
    port=$(free_port)
    as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
    # Loopback and the socket folder only; small and fast (no fsync: test data only).
    cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
shared_buffers = 128MB
log_min_messages = warning
EOF
    # Another process may take the port between the probe and the bind: then try another (the last `port` line wins).
    for attempt in 1 2 3; do
      if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 start >/dev/null; then break; fi
      if [ "$attempt" -eq 3 ] || ! grep -q "could not bind\|already in use" "$dir/postgres.log"; then
        cat "$dir/postgres.log" >&2
        exit 1
      fi
      port=$(free_port)
      echo "port = $port" >>"$dir/data/postgresql.conf"
    done
    as_owner "$bin/psql" -h "$dir" -p "$port" -U postgres -qAt -c "CREATE DATABASE satchel" postgres >/dev/null
    echo "$port" >"$dir/port"
    echo "postgres://postgres@127.0.0.1:$port/satchel"
    if [ -n "${PGBOUNCER:-}" ] && command -v pgbouncer >/dev/null 2>&1; then
      echo '"postgres" ""' >"$dir/userlist.txt"
      up=""
      # As for PostgreSQL: a port taken between the probe and pgbouncer's bind means another try on another port.
      for _ in 1 2 3; do
        bport=$(free_port)
        cat >"$dir/pgbouncer.ini" <<EOF
[databases]
satchel = host=127.0.0.1 port=$port dbname=satchel user=postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bport
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
default_pool_size = 10
max_client_conn = 200
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
EOF
        [ "$(id -u)" -eq 0 ] && chown postgres: "$dir/pgbouncer.ini" "$dir/userlist.txt"
        rm -f "$dir/pgbouncer.pid"
        : >"$dir/pgbouncer.log"
        [ "$(id -u)" -eq 0 ] && chown postgres: "$dir/pgbouncer.log"
        as_owner pgbouncer -d "$dir/pgbouncer.ini" >/dev/null 2>&1 || { cat "$dir/pgbouncer.log" >&2 || true; exit 1; }
        # pgbouncer -d exits 0 even when it cannot listen: wait for its own process to hold the port.
        for _ in $(seq 100); do
          if [ -f "$dir/pgbouncer.pid" ] && kill -0 "$(cat "$dir/pgbouncer.pid")" 2>/dev/null &&
            (exec 3<>"/dev/tcp/127.0.0.1/$bport") 2>/dev/null; then up=1; break; fi
          grep -q "nowhere to listen" "$dir/pgbouncer.log" 2>/dev/null && break
          sleep 0.1
        done
        [ -n "$up" ] && break
        { [ -f "$dir/pgbouncer.pid" ] && kill "$(cat "$dir/pgbouncer.pid")"; } 2>/dev/null || true
      done
      [ -n "$up" ] || { echo "pg-cluster.sh: pgbouncer is not listening on $bport" >&2; cat "$dir/pgbouncer.log" >&2 || true; exit 1; }
      echo "postgres://postgres@127.0.0.1:$bport/satchel"
    fi
    ;;
  halt)
    # A clean (fast) shutdown that keeps the data, for restart tests.
    dir=${2:?usage: pg-cluster.sh halt DIR}
    as_owner "$(pg_bin)/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null ;;
  resume)
    dir=${2:?usage: pg-cluster.sh resume DIR}
    as_owner "$(pg_bin)/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 start >/dev/null ;;
  stop)
    dir=${2:?usage: pg-cluster.sh stop DIR}
    if [ -f "$dir/pgbouncer.pid" ]; then kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null || true; fi
    if [ -f "$dir/data/postmaster.pid" ]; then
      bin=$(pg_bin)
      as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
    ;;
  *)
    echo "usage: pg-cluster.sh start DIR | stop DIR | halt DIR | resume DIR | bin" >&2
    exit 2 ;;
esac
