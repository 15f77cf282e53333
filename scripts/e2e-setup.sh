#!/usr/bin/env bash
# Installs what the end-to-end browser test (test/e2e/) needs, and nothing else: Chromium from the
# system's packages, and in e2e/sao/ the Tryton web client sao (npm `tryton-sao`, served by trytond)
# with playwright-core, which drives the system Chromium and downloads no browser of its own.
# Safe to run repeatedly: it does nothing when both are there and e2e/sao/package-lock.json is unchanged.
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

# sao's index.html loads its libraries from node_modules/ next to it, so e2e/sao/.npmrc installs
# nested (not hoisted); their peer ranges need --legacy-peer-deps. The stamp is the hash of what
# was installed.
STAMP="$SAO/node_modules/.e2e-setup-stamp"
digest() { cat "$SAO/.npmrc" "$SAO/package.json" "$SAO/package-lock.json" 2>/dev/null | sha256sum | cut -d' ' -f1; }
want="$(digest || true)"
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$want" || ! -f "$SAO/node_modules/tryton-sao/index.html" ]]; then
  echo "e2e-setup: installing sao and playwright-core in e2e/sao" >&2
  if [[ -f "$SAO/package-lock.json" ]]; then
    (cd "$SAO" && npm ci --legacy-peer-deps --no-audit --no-fund --loglevel=error)
  else
    (cd "$SAO" && npm install --legacy-peer-deps --no-audit --no-fund --loglevel=error)
    want="$(digest)"
  fi
  echo "$want" > "$STAMP"
fi
echo "e2e-setup: ready ($("$CHROMIUM" --version 2>/dev/null), sao $(node -p "require('$SAO/node_modules/tryton-sao/package.json').version"), playwright-core $(node -p "require('$SAO/node_modules/playwright-core/package.json').version"))" >&2
