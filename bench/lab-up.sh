#!/usr/bin/env bash
# Benchmark (not a test: how long the kernel takes to build namespaces and load programs depends on the machine and
# its load, so the lab tests assert none of it). Times `nodeinspect lab up` and `lab down` of a lab of its own
# (prefix nibench<pid>, torn down on exit), as root, from the built CLI (`npm run build` first).
# Usage: bash bench/lab-up.sh [ROUNDS, default 3]
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="nibench$$"
trap './bin/run.js lab down --prefix "$prefix" >/dev/null 2>&1 || true' EXIT
for i in $(seq 1 "${1:-3}"); do
  echo "-- round $i"
  TIMEFORMAT="lab up: %R s"
  time ./bin/run.js lab up --prefix "$prefix" >/dev/null
  TIMEFORMAT="lab down: %R s"
  time ./bin/run.js lab down --prefix "$prefix" >/dev/null
done
