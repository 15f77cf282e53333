#!/usr/bin/env bash
# Runs the google_integration Tryton module's tests (ModuleTestCase + proteus
# scenarios) against a real PostgreSQL. Last line: "tryton: N passed, N failed".
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${GOOGLE_INTEGRATION_VENV:-$ROOT/.venv}"
MODULE="$ROOT/tryton-module"

bash "$ROOT/scripts/python-env.sh"

# The end-to-end scenarios run the compiled sidecar and emulator (bin/tryton-google.js).
if [[ ! -f "$ROOT/dist/src/cli.js" ]]; then
  echo "test-tryton: building the sidecar (npm run build)" >&2
  (cd "$ROOT" && npm run build --silent)
fi

export TRYTOND_DATABASE_URI="${TEST_POSTGRES_URI:-postgresql://127.0.0.1:5432/}"
export DB_NAME="${DB_NAME:-test_google_integration_tryton}"
export PYTHONWARNINGS="${PYTHONWARNINGS:-default}"
# trytond keys its database cache by module names only, so a cache made before
# a change to the module would be restored as is: key the folder by the
# module's sources (and trytond's version) and drop caches of other versions.
sources_hash="$(cd "$MODULE" && { "$VENV/bin/trytond" --version; \
  find . -path ./build -prune -o \( -name '*.py' -o -name '*.xml' -o -name '*.po' \
  -o -name tryton.cfg \) -type f -print | LC_ALL=C sort | xargs cat; } \
  | sha256sum | cut -c1-16)"
cache_root="$ROOT/.cache/tryton-db"
export DB_CACHE="${DB_CACHE:-$cache_root/$sources_hash}"
if [[ "$DB_CACHE" == "$cache_root/$sources_hash" && -d "$cache_root" ]]; then
  find "$cache_root" -mindepth 1 -maxdepth 1 ! -name "$sources_hash" -exec rm -rf {} +
fi

# Run from outside the source tree so the installed package (not ./) is tested.
cd /
"$VENV/bin/python" - <<'PY'
import sys
import unittest

names = [
    'trytond.modules.google_integration.tests.test_module',
    'trytond.modules.google_integration.tests.test_scenario',
    ]
suite = unittest.defaultTestLoader.loadTestsFromNames(names)
result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
failed = len(result.failures) + len(result.errors) + len(
    result.unexpectedSuccesses)
passed = result.testsRun - failed - len(result.skipped) - len(
    result.expectedFailures)
line = f'tryton: {passed} passed, {failed} failed'
if result.skipped:
    line += f', {len(result.skipped)} skipped'
sys.stdout.flush()
print(line)
sys.exit(1 if failed or not result.testsRun else 0)
PY
