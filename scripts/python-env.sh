#!/usr/bin/env bash
# Creates (or refreshes) the project's Python virtualenv with trytond 8.0 LTS, proteus and the
# google_integration module installed in editable mode. Safe to run repeatedly: it only
# reinstalls when requirements or the module's pyproject changed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${GOOGLE_INTEGRATION_VENV:-$ROOT/.venv}"
REQ="$ROOT/tryton-module/requirements-dev.txt"
STAMP="$VENV/.installed-stamp"
PYTHON="${PYTHON:-python3}"

want="$(cat "$REQ" "$ROOT/tryton-module/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
  exit 0
fi
echo "python-env: preparing $VENV" >&2
[[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e "$ROOT/tryton-module"
echo "$want" > "$STAMP"
echo "python-env: ready ($("$VENV/bin/trytond" --version 2>/dev/null || echo trytond))" >&2
