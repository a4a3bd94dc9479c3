#!/usr/bin/env bash
# Entry point of the Debian-made PostgreSQL image. It follows the interface of
# the official image's docker-entrypoint.sh, in the parts this project uses:
#
#   POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE)  superuser password; required
#                      unless POSTGRES_HOST_AUTH_METHOD=trust
#   POSTGRES_USER      superuser name (default: postgres)
#   POSTGRES_DB        database created at first start (default: $POSTGRES_USER)
#   POSTGRES_INITDB_ARGS  extra arguments for initdb
#   POSTGRES_HOST_AUTH_METHOD  auth method for host connections (default: scram-sha-256)
#   PGDATA             data directory (default: /var/lib/postgresql/data)
#
# Started as root, it makes the data directory the postgres user's, then runs
# itself again as that user (gosu). When PGDATA holds no cluster it runs initdb,
# creates the database and runs /docker-entrypoint-initdb.d/*.sh and *.sql on a
# server that only listens on its Unix socket. Then it execs postgres in the
# foreground, so signals reach the server (SIGTERM: smart, SIGINT: fast shutdown).
set -Eeuo pipefail

# file_env VAR [DEFAULT]: VAR from the environment or from the file named by VAR_FILE.
file_env() {
  local var="$1" fileVar="${1}_FILE" def="${2:-}"
  if [ -n "${!var:-}" ] && [ -n "${!fileVar:-}" ]; then
    echo >&2 "error: both $var and $fileVar are set (but are exclusive)"
    exit 1
  fi
  local val="$def"
  if [ -n "${!var:-}" ]; then
    val="${!var}"
  elif [ -n "${!fileVar:-}" ]; then
    val="$(< "${!fileVar}")"
  fi
  export "$var"="$val"
  unset "$fileVar"
}

log() { echo "docker-entrypoint: $*" >&2; }

# `docker run IMAGE -c foo=bar` means `postgres -c foo=bar`.
if [ "$#" -eq 0 ] || [ "${1:0:1}" = '-' ]; then
  set -- postgres "$@"
fi

# Only a server start initialises anything; `postgres --version` and the like run as they are.
want_help() {
  local arg
  for arg; do
    case "$arg" in
      -'?'|--help|--describe-config|-V|--version) return 0 ;;
    esac
  done
  return 1
}
if [ "$1" != postgres ] || want_help "$@"; then
  exec "$@"
fi

export PGDATA="${PGDATA:-/var/lib/postgresql/data}"

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chmod 00700 "$PGDATA" || :
  chmod 03775 /var/run/postgresql || :
  find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
  find /var/run/postgresql \! -user postgres -exec chown postgres:postgres '{}' +
  exec gosu postgres "${BASH_SOURCE[0]}" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  file_env POSTGRES_PASSWORD
  file_env POSTGRES_USER postgres
  file_env POSTGRES_DB "$POSTGRES_USER"
  file_env POSTGRES_INITDB_ARGS
  auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"

  if [ -z "$POSTGRES_PASSWORD" ] && [ "$auth" != trust ]; then
    cat >&2 <<'MSG'
error: database is uninitialized and superuser password is not specified.
       Set POSTGRES_PASSWORD to a non-empty value for the superuser
       (or POSTGRES_HOST_AUTH_METHOD=trust to allow all connections without one).
MSG
    exit 1
  fi

  log "initialising a cluster in $PGDATA"
  # The password goes through a pipe-backed file, never a command line.
  # shellcheck disable=SC2086
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
         --auth-local=trust --auth-host="$auth" $POSTGRES_INITDB_ARGS >&2
  grep -q "^listen_addresses = '\*'" "$PGDATA/postgresql.conf" \
    || echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
  # Host connections from any address (containers on the same network), with a password.
  printf '\nhost all all all %s\n' "$auth" >> "$PGDATA/pg_hba.conf"

  # A server reachable only through the Unix socket, for the set-up steps.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start >&2
  psql=(psql -v ON_ERROR_STOP=1 --no-password --no-psqlrc --username "$POSTGRES_USER" -p 5432 -h /var/run/postgresql)
  if [ "$POSTGRES_DB" != postgres ]; then
    log "creating database $POSTGRES_DB"
    "${psql[@]}" --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";' >&2
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh)  log "running $f"; if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
      *.sql) log "running $f"; "${psql[@]}" --dbname "$POSTGRES_DB" -f "$f" >&2 ;;
      *.sql.gz) log "running $f"; gunzip -c "$f" | "${psql[@]}" --dbname "$POSTGRES_DB" >&2 ;;
      *) [ ! -e "$f" ] || log "ignoring $f" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >&2
  unset POSTGRES_PASSWORD
  log "initialisation complete; ready for start up"
else
  log "PostgreSQL data directory $PGDATA holds a cluster; skipping initialisation"
fi

unset POSTGRES_PASSWORD POSTGRES_PASSWORD_FILE
exec "$@"
