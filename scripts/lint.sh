#!/usr/bin/env bash
# Lint (npm run lint; scripts/test.sh runs it before the tests): biome's recommended rules (biome.jsonc: no
# formatting checks) and no unused exports (knip, scripts/unused-exports.mjs). Exits 1 on any finding.
set -uo pipefail
cd "$(dirname "$0")/.."
rc=0
npx biome lint --error-on-warnings --no-errors-on-unmatched || rc=1
node scripts/unused-exports.mjs || rc=1
exit $rc
