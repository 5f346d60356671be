#!/usr/bin/env bash
# Starts a private PostgreSQL cluster for Parchi's tests and prints the URL to use.
#
#   eval "$(scripts/start-postgres.sh)"     # exports PARCHI_TEST_PG and PARCHI_TEST_PG_SOCKET
#
# Idempotent: a second run finds the running cluster and prints the same URL. Needs root (or the
# postgres user) on Debian/Ubuntu; installs the `postgresql` package with apt when missing. There
# is no systemd here: the cluster is started with pg_ctl, in $PARCHI_PG_DIR (default
# /var/tmp/parchi-pg), listening on 127.0.0.1 only.
set -euo pipefail

DIR="${PARCHI_PG_DIR:-/var/tmp/parchi-pg}"
DB="${PARCHI_PG_DB:-parchi_test}"
log() { echo "start-postgres: $*" >&2; }

find_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  return 1
}

BIN="$(find_bin || true)"
if [ -z "$BIN" ]; then
  log "installing postgresql with apt"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql >&2
  BIN="$(find_bin)"
fi

as_pg() {
  if [ "$(id -u)" = 0 ]; then
    su postgres -s /bin/sh -c "$*"
  else
    sh -c "$*"
  fi
}

mkdir -p "$DIR"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$DIR"
DATA="$DIR/data"
SOCK="$DIR/sock"
PORTFILE="$DIR/port"
as_pg "mkdir -p '$SOCK'"

if [ ! -f "$DATA/PG_VERSION" ]; then
  log "initdb in $DATA"
  as_pg "'$BIN/initdb' -D '$DATA' -U postgres --auth=trust -E UTF8 >/dev/null"
fi

running() { as_pg "'$BIN/pg_ctl' -D '$DATA' status" >/dev/null 2>&1; }

if running && [ -f "$PORTFILE" ]; then
  PORT="$(cat "$PORTFILE")"
else
  # A free port: ask the kernel for one.
  PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 55432)"
  log "starting on 127.0.0.1:$PORT"
  as_pg "'$BIN/pg_ctl' -D '$DATA' -l '$DIR/log' -w -o \"-p $PORT -k '$SOCK' -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200\" start >/dev/null"
  echo "$PORT" > "$PORTFILE"
fi

# Create the test database if it is missing.
if ! as_pg "'$BIN/psql' -h '$SOCK' -p $PORT -U postgres -Atc \"SELECT 1 FROM pg_database WHERE datname = '$DB'\"" | grep -q 1; then
  as_pg "'$BIN/createdb' -h '$SOCK' -p $PORT -U postgres '$DB'"
fi

URL="postgres://postgres@127.0.0.1:$PORT/$DB"
echo "export PARCHI_TEST_PG=$URL"
# The directory of the server's Unix socket (the same server, reached without TCP).
echo "export PARCHI_TEST_PG_SOCKET=$SOCK"
