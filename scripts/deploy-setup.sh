#!/usr/bin/env bash
# Installs what the deployment tests (test/deploy/) need, and nothing else: nginx from the system's
# packages (Debian's `nginx`, through apt: root or sudo) and the WSGI server gunicorn in the project's
# virtualenv (pinned in tryton-module/requirements-dev.txt once that lists it; until then, here).
# Safe to run repeatedly: it does nothing when both are there. NGINX=/path/to/nginx uses another nginx.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${GOOGLE_INTEGRATION_VENV:-$ROOT/.venv}"
NGINX="${NGINX:-/usr/sbin/nginx}"
GUNICORN_PIN="gunicorn==27.0.1"

if [[ ! -x "$NGINX" ]]; then
  [[ "$NGINX" == /usr/sbin/nginx ]] || { echo "deploy-setup: NGINX=$NGINX is not executable" >&2; exit 1; }
  sudo=()
  [[ "$(id -u)" == 0 ]] || sudo=(sudo)
  echo "deploy-setup: installing nginx (apt)" >&2
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  # Only the binary is wanted: the tests run it as their own child process with their own config.
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends nginx >/dev/null
fi

[[ -x "$VENV/bin/python" ]] || bash "$ROOT/scripts/python-env.sh"
if [[ ! -x "$VENV/bin/gunicorn" ]]; then
  echo "deploy-setup: installing $GUNICORN_PIN in $VENV" >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$GUNICORN_PIN"
fi
echo "deploy-setup: ready ($("$NGINX" -v 2>&1), gunicorn $("$VENV/bin/gunicorn" --version 2>&1 | grep -o '[0-9][0-9.]*' | head -1))" >&2
