#!/usr/bin/env bash
# Installs the Tryton web client sao (npm `tryton-sao`, which trytond serves) with playwright-core in
# e2e/sao/, for the demo (`npm start`) and the browser test (`npm test`, through scripts/e2e-setup.sh)
# alike: one check in one place, so neither installs it again after the other did.
# Safe to run repeatedly: it does nothing when it is there and e2e/sao's package files are unchanged.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SAO="$ROOT/e2e/sao"

# sao's index.html loads its libraries from node_modules/ next to it, so e2e/sao/.npmrc installs
# nested (not hoisted); their peer ranges need --legacy-peer-deps. The stamp is the hash of what
# was installed (its name predates the demo's use of it: renaming it would reinstall everywhere).
STAMP="$SAO/node_modules/.e2e-setup-stamp"
digest() { cat "$SAO/.npmrc" "$SAO/package.json" "$SAO/package-lock.json" 2>/dev/null | sha256sum | cut -d' ' -f1; }
want="$(digest || true)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" && -f "$SAO/node_modules/tryton-sao/index.html" ]]; then
  exit 0
fi
echo "sao-setup: installing the Tryton web client (tryton-sao) and playwright-core in e2e/sao" >&2
if [[ -f "$SAO/package-lock.json" ]]; then
  (cd "$SAO" && npm ci --legacy-peer-deps --no-audit --no-fund --loglevel=error)
else
  (cd "$SAO" && npm install --legacy-peer-deps --no-audit --no-fund --loglevel=error)
  want="$(digest)"
fi
echo "$want" > "$STAMP"
