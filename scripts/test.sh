#!/usr/bin/env bash
# The test command README names (npm test): build, then every test (unit, snapshot and live lab tests),
# then one plain summary line `N passed, N failed, N skipped` that CI reads (it does not read vitest's).
set -uo pipefail
cd "$(dirname "$0")/.."
npm run build || exit 1
rm -f .vitest.json
npx vitest run --reporter=default --reporter=json --outputFile=.vitest.json "$@"
rc=$?
if [ -f .vitest.json ]; then
  node -e "const r=JSON.parse(require('fs').readFileSync('.vitest.json','utf8'));console.log(r.numPassedTests+' passed, '+r.numFailedTests+' failed, '+(r.numPendingTests+r.numTodoTests)+' skipped')"
else
  echo "0 passed, 1 failed, 0 skipped"
  rc=1
fi
exit $rc
