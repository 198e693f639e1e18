#!/usr/bin/env bash
# Starts and stops real PostgreSQL and Redis servers from Debian's packages on
# loopback, under one directory, for tests and local development (no Docker,
# no system services touched).
#
#   scripts/services.sh start DIR   # prints the variables to export, also in DIR/env
#   scripts/services.sh stop DIR
#   scripts/services.sh pg-stop DIR | pg-start DIR   # restart PostgreSQL alone
#
# PostgreSQL listens on 127.0.0.1:$PG_PORT (a free port unless set) with a
# database and user "parley" (password "parley"); Redis on 127.0.0.1:$REDIS_PORT
# with requirepass "parley". Each process is stopped by the PID it wrote.
set -euo pipefail

cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: $0 start|stop|pg-stop|pg-start DIR" >&2
  exit 2
fi

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# PostgreSQL refuses to run as root: run it as the "postgres" system user.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_pg() {
  as_pg "$pg_bin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $1 -k $dir/pg -c fsync=on -c synchronous_commit=on" \
    start >/dev/null || { cat "$dir/pg/server.log" >&2; exit 1; }
}

stop_pg() {
  if [ -f "$dir/pg/data/postmaster.pid" ] && [ -n "$pg_bin" ]; then
    as_pg "$pg_bin/pg_ctl" -D "$dir/pg/data" -m fast -w -t 30 stop >/dev/null || true
  fi
}

start() {
  [ -n "$pg_bin" ] || { echo "services: PostgreSQL is not installed (scripts/install-deps.sh)" >&2; exit 1; }
  command -v redis-server >/dev/null || { echo "services: redis-server is not installed" >&2; exit 1; }
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  local pg_port=${PG_PORT:-$(free_port)} redis_port=${REDIS_PORT:-$(free_port)}

  mkdir -p "$dir/pg" "$dir/redis"
  # The postgres user must be able to reach its directory (mktemp makes 0700 ones).
  if [ "$(id -u)" -eq 0 ]; then chmod a+x "$dir"; chown postgres "$dir/pg"; chmod 700 "$dir/pg"; fi
  local pwfile="$dir/pg/.pw"
  if [ ! -f "$dir/pg/data/PG_VERSION" ]; then
    echo parley | as_pg tee "$pwfile" >/dev/null
    as_pg "$pg_bin/initdb" -D "$dir/pg/data" -U parley --pwfile="$pwfile" -A scram-sha-256 \
      -E UTF8 --locale=C.UTF-8 >"$dir/pg/initdb.log" 2>&1 ||
      { cat "$dir/pg/initdb.log" >&2; exit 1; }
  fi
  start_pg "$pg_port"
  PGPASSWORD=parley "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U parley -d postgres -q -tAc \
    "SELECT 1 FROM pg_database WHERE datname = 'parley'" | grep -q 1 ||
    PGPASSWORD=parley "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U parley -d postgres -q \
      -c "CREATE DATABASE parley" >/dev/null

  redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$dir/redis" --daemonize yes \
    --pidfile "$dir/redis/redis.pid" --logfile "$dir/redis/redis.log" --requirepass parley \
    --save "" --appendonly no >/dev/null
  for _ in $(seq 1 50); do
    redis-cli -h 127.0.0.1 -p "$redis_port" -a parley --no-auth-warning ping 2>/dev/null | grep -q PONG && break
    sleep 0.1
  done

  cat >"$dir/env" <<EOF
PG_PORT=$pg_port
REDIS_PORT=$redis_port
PARLEY_TEST_POSTGRES_URL=postgres://parley:parley@127.0.0.1:$pg_port/parley
PARLEY_TEST_REDIS_URL=redis://:parley@127.0.0.1:$redis_port/0
EOF
  cat "$dir/env"
}

stop() {
  [ -d "$dir" ] || exit 0
  stop_pg
  if [ -f "$dir/redis/redis.pid" ]; then
    local pid
    pid=$(cat "$dir/redis/redis.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  # PostgreSQL alone, for restart tests: stopped (fast: connections are cut) and
  # started again on the port it had.
  pg-stop) stop_pg ;;
  pg-start) start_pg "$(sed -n 's/^PG_PORT=//p' "$dir/env")" ;;
  *) echo "usage: $0 start|stop|pg-stop|pg-start DIR" >&2; exit 2 ;;
esac
