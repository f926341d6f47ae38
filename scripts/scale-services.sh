#!/usr/bin/env bash
# A throwaway PostgreSQL cluster and Redis server on 127.0.0.1, for the scale tests
# (make test-scale) and for trying the "bigger than one machine" set-up by hand.
#
#   scripts/scale-services.sh start   install postgresql + redis-server (Debian) if missing, start both
#   scripts/scale-services.sh env     print the variables that point the test suite at them
#   scripts/scale-services.sh stop    stop both and delete their data
#
# Nothing here touches a PostgreSQL or Redis the machine already runs: the cluster lives in
# $SCALE_DIR (default /tmp/mediaparser-scale), on its own ports, and holds test data only
# (fsync off, no Redis persistence).
set -euo pipefail
SCALE_DIR="${SCALE_DIR:-/tmp/mediaparser-scale}"
PG_PORT="${SCALE_PG_PORT:-5433}"
REDIS_PORT="${SCALE_REDIS_PORT:-6390}"
PG_DATA="$SCALE_DIR/pg"

as_db_user() {
  # initdb and postgres refuse to run as root: run them as the postgres user when we are root.
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/pg_ctl" ] && { echo "$dir"; return; }
  done
  command -v pg_ctl >/dev/null && dirname "$(command -v pg_ctl)" && return
  return 1
}

install_missing() {
  local missing=()
  pg_bin >/dev/null || missing+=(postgresql)
  command -v redis-server >/dev/null || missing+=(redis-server)
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "Please install ${missing[*]} (apt-get install ${missing[*]})" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "Installing Debian packages: ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

start() {
  install_missing
  local bin
  bin="$(pg_bin)"
  mkdir -p "$SCALE_DIR"
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    rm -rf "$PG_DATA"
    mkdir -p "$PG_DATA"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$PG_DATA"
    as_db_user "$bin/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if ! as_db_user "$bin/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
    # Test data only: no fsync, no waiting for the disk; enough connections for several workers.
    as_db_user "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w -t 60 start -o \
      "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DATA -c fsync=off -c synchronous_commit=off \
       -c full_page_writes=off -c max_connections=200 -c deadlock_timeout=200ms" >/dev/null
  fi
  if ! redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --save "" --appendonly no \
      --dir "$SCALE_DIR" --pidfile "$SCALE_DIR/redis.pid" --logfile "$SCALE_DIR/redis.log"
    for _ in $(seq 50); do
      redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
      sleep 0.1
    done
  fi
  echo "PostgreSQL on 127.0.0.1:$PG_PORT and Redis on 127.0.0.1:$REDIS_PORT are running ($SCALE_DIR)"
}

stop() {
  local bin
  if [ -f "$PG_DATA/PG_VERSION" ] && bin="$(pg_bin)"; then
    as_db_user "$bin/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1 || true
  fi
  if [ -f "$SCALE_DIR/redis.pid" ]; then
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    for _ in $(seq 50); do
      kill -0 "$(cat "$SCALE_DIR/redis.pid" 2>/dev/null)" 2>/dev/null || break
      sleep 0.1
    done
  fi
  rm -rf "$SCALE_DIR"
  echo "PostgreSQL and Redis for the scale tests are stopped"
}

env_lines() {
  echo "export MEDIAPARSER_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/postgres"
  echo "export MEDIAPARSER_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) env_lines ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
