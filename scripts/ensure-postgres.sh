#!/usr/bin/env bash
# Makes sure the PostgreSQL the tests and the demo use answers on 127.0.0.1:5432 (trust auth): the
# machine's own server, started if it is down; on a machine without one, the server the project
# brings (scripts/embedded-postgres.sh, data under .cache/postgres or EMBEDDED_PG_DIR).
# TEST_POSTGRES_URI pointing elsewhere skips all this.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[[ -n "${TEST_POSTGRES_URI:-}" ]] && exit 0
ready() { node -e "
  const socket = require('node:net').connect(5432, '127.0.0.1');
  socket.on('connect', () => process.exit(0)).on('error', () => process.exit(1));" 2>/dev/null &&
  { ! command -v pg_isready >/dev/null || pg_isready -h 127.0.0.1 -p 5432 -q; }; }
ready && exit 0
if command -v pg_ctlcluster >/dev/null && [[ -d /etc/postgresql ]] && [[ -n "$(ls /etc/postgresql)" ]]; then
  version="$(ls /etc/postgresql | sort -V | tail -n 1)"
  echo "ensure-postgres: starting the machine's PostgreSQL $version" >&2
  # Waiting is worth it only when it started (not when it says it already runs yet does not answer).
  if pg_ctlcluster --skip-systemctl-redirect "$version" main start; then
    for _ in $(seq 1 30); do ready && exit 0; sleep 1; done
  fi
fi
echo "ensure-postgres: no PostgreSQL answers on 127.0.0.1:5432; starting the project's own" >&2
# On 5432 whatever EMBEDDED_PG_PORT says: that is the port this script promises.
LOG="${EMBEDDED_PG_DIR:-$ROOT/.cache/postgres}/postgres.log"
EMBEDDED_PG_PORT=5432 bash "$ROOT/scripts/embedded-postgres.sh" start || exit 1
for _ in $(seq 1 30); do ready && exit 0; sleep 1; done
echo "ensure-postgres: the project's PostgreSQL does not answer on 127.0.0.1:5432; its log is $LOG (or set TEST_POSTGRES_URI to another server)" >&2
exit 1
