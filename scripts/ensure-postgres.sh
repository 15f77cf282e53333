#!/usr/bin/env bash
# Makes sure the PostgreSQL the tests and the demo use answers on 127.0.0.1:5432 (trust auth),
# starting the machine's cluster if it is down. TEST_POSTGRES_URI points elsewhere and skips this.
set -euo pipefail
[[ -n "${TEST_POSTGRES_URI:-}" ]] && exit 0
ready() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
ready && exit 0
if command -v pg_ctlcluster >/dev/null && [[ -d /etc/postgresql ]]; then
  version="$(ls /etc/postgresql | sort -V | tail -n 1)"
  echo "ensure-postgres: starting PostgreSQL $version" >&2
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
fi
for _ in $(seq 1 30); do ready && exit 0; sleep 1; done
echo "ensure-postgres: no PostgreSQL on 127.0.0.1:5432 (install one, or set TEST_POSTGRES_URI)" >&2
exit 1
