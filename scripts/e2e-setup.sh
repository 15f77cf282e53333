#!/usr/bin/env bash
# Installs what the end-to-end browser test (test/e2e/) needs, and nothing else: Chromium from the
# system's packages, and in e2e/sao/ the Tryton web client sao (npm `tryton-sao`, served by trytond)
# with playwright-core, which drives the system Chromium and downloads no browser of its own.
# Safe to run repeatedly: it does nothing when both are there and e2e/sao/package-lock.json is unchanged
# (sao's install is scripts/sao-setup.sh, which the demo runs too).
# CHROMIUM=/path/to/chromium uses another Chromium and skips the system package.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SAO="$ROOT/e2e/sao"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

if [[ ! -x "$CHROMIUM" ]]; then
  [[ "$CHROMIUM" == /usr/bin/chromium ]] || { echo "e2e-setup: CHROMIUM=$CHROMIUM is not executable" >&2; exit 1; }
  sudo=()
  [[ "$(id -u)" == 0 ]] || sudo=(sudo)
  echo "e2e-setup: installing chromium (apt)" >&2
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

bash "$ROOT/scripts/sao-setup.sh"
echo "e2e-setup: ready ($("$CHROMIUM" --version 2>/dev/null), sao $(node -p "require('$SAO/node_modules/tryton-sao/package.json').version"), playwright-core $(node -p "require('$SAO/node_modules/playwright-core/package.json').version"))" >&2
