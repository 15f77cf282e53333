#!/usr/bin/env bash
# The project's test command (README, `npm test`): the sidecar's TypeScript tests (vitest, real
# PostgreSQL, real trytond for the schema-parity test) and the Tryton module's tests (ModuleTestCase
# and proteus scenarios on PostgreSQL). Ends with one summary line: "total: N passed, N failed".
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
mkdir -p .cache

bash scripts/ensure-postgres.sh || exit 1
bash scripts/python-env.sh || exit 1
# Chromium and the Tryton web client for the browser test (idempotent; quick when present).
bash scripts/e2e-setup.sh || exit 1
npm run --silent build || exit 1

echo "== TypeScript tests (vitest)"
npx vitest run --reporter=default --reporter=json --outputFile.json=.cache/vitest.json
ts_status=$?
read -r ts_passed ts_failed ts_skipped < <(node -e '
  try {
    const r = JSON.parse(require("fs").readFileSync(".cache/vitest.json", "utf8"));
    // A file that failed without a failed test (an error in a hook or an import) counts as one failure.
    const broken = r.testResults.filter((f) => f.status === "failed" && !f.assertionResults.some((t) => t.status === "failed")).length;
    console.log(r.numPassedTests, r.numFailedTests + broken, r.numPendingTests + r.numTodoTests);
  } catch { console.log(0, 1, 0); }')

echo "== Tryton module tests (trytond 8.0 on PostgreSQL)"
# test-tryton.sh ends with its own "tryton: N passed" line; the summary below says it once, so it is
# kept in the log (read below) and left out of the terminal.
bash scripts/test-tryton.sh | tee .cache/tryton-tests.log | grep --line-buffered -v -E '^tryton: [0-9]+ passed, [0-9]+ failed'
py_status=${PIPESTATUS[0]}
read -r py_passed py_failed py_skipped < <(tail -n 1 .cache/tryton-tests.log |
  sed -nE 's/^tryton: ([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?$/\1 \2 \4/p' | awk '{print $1, $2, ($3 == "" ? 0 : $3)}')
py_passed=${py_passed:-0}; py_failed=${py_failed:-1}; py_skipped=${py_skipped:-0}

# CI keeps only the end of the output: name the failed tests there, not just their count.
node -e '
  try {
    const r = JSON.parse(require("fs").readFileSync(".cache/vitest.json", "utf8"));
    for (const file of r.testResults) {
      const rel = require("path").relative(process.cwd(), file.name);
      if (file.status === "failed" && !file.assertionResults.some((t) => t.status === "failed"))
        console.log(`FAILED ${rel}: ${(file.message || "").split("\n")[0]}`);
      for (const t of file.assertionResults)
        if (t.status === "failed")
          console.log(`FAILED ${rel} > ${t.fullName}: ${(t.failureMessages[0] || "").split("\n")[0].slice(0, 300)}`);
    }
  } catch {}'
grep -E '^(FAIL|ERROR): ' .cache/tryton-tests.log | sed 's/^/FAILED tryton /' || true
echo "typescript: ${ts_passed} passed, ${ts_failed} failed, ${ts_skipped} skipped"
echo "tryton: ${py_passed} passed, ${py_failed} failed, ${py_skipped} skipped"
failed=$((ts_failed + py_failed))
if [[ $ts_status -ne 0 || $py_status -ne 0 ]] && [[ $failed -eq 0 ]]; then failed=1; fi
echo "total: $((ts_passed + py_passed)) passed, ${failed} failed, $((ts_skipped + py_skipped)) skipped"
[[ $failed -eq 0 ]]
