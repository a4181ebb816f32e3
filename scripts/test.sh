#!/usr/bin/env bash
# The test command README names (npm test): installs what is missing, builds, lints (scripts/lint.sh), runs
# every test (unit, snapshot and the live lab tests), then prints one plain summary line `N passed, N failed,
# N skipped` that CI reads (CI does not read vitest's own summary).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh || exit 1
npm run build >/dev/null || { echo "build failed"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
# Lint before the tests; a lint failure counts as one failed test in the summary line, and the tests still run.
lint=0
bash scripts/lint.sh || { lint=1; echo "lint failed: see the findings above (npm run lint)"; }
rm -f .vitest.json
npx vitest run --reporter=default --reporter=json --outputFile=.vitest.json "$@"
rc=$?
if [ -f .vitest.json ]; then
  # A suite that fails to load has no failed test: count it, so the line never says 0 failed on a red run.
  RC=$rc LINT=$lint node -e "const r=JSON.parse(require('fs').readFileSync('.vitest.json','utf8'));const f=(r.numFailedTests||(process.env.RC!=='0'?Math.max(1,r.numFailedTestSuites):0))+Number(process.env.LINT);console.log(r.numPassedTests+' passed, '+f+' failed, '+(r.numPendingTests+r.numTodoTests)+' skipped')"
else
  echo "0 passed, $((1 + lint)) failed, 0 skipped"
  rc=1
fi
[ "$lint" = 0 ] || rc=1
exit $rc
