#!/usr/bin/env bash
# The main job (npm run demo): install what is missing, build, bring the two-node lab up, show what sits on
# the hooks of both nodes, trace a flow across them (and through a Service VIP), show the mark map of node 1,
# then take the lab down again (KEEP_LAB=1 leaves it up for you to explore).
# Where the kernel refuses (not root, no BPF, no network namespaces), it shows the bundled reference
# snapshots of SCENARIO.md instead.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh || exit 1
npm run build >/dev/null || exit 1
ni() { echo; echo "\$ nodeinspect $*"; ./bin/run.js "$@"; }

fallback() {
  echo
  echo "== the lab could not come up here (reason above): showing the bundled reference snapshots instead"
  ni hooks --snapshot testdata/reference/node1.json
  ni hooks --snapshot testdata/reference/node2.json
  ni trace 10.42.1.80 10.42.0.51:80 --snapshot testdata/reference/node1.json --snapshot testdata/reference/node2.json
  ni marks --snapshot testdata/snapshots/marks-node.json --bit 14
}

if [ "$(id -u)" != 0 ]; then
  echo "nodeinspect demo: not root, so no lab" >&2
  fallback
  exit 0
fi

cleanup() { [ "${KEEP_LAB:-0}" = 1 ] || ./bin/run.js lab down >/dev/null 2>&1 || true; }
trap cleanup EXIT INT TERM

if ! ni lab up --rebuild; then
  fallback
  exit 0
fi
ni hooks --netns nilab-node1
ni hooks --netns nilab-node2 --dev 'eth0'
ni hooks --netns nilab-node2 --dev 'lxc*'
ni trace 10.42.1.80 10.42.0.51:80 --netns nilab-node1 --netns nilab-node2
ni trace 10.42.1.80 10.96.0.80:80 --netns nilab-node1 --netns nilab-node2 --format mermaid
ni marks --netns nilab-node1
if [ "${KEEP_LAB:-0}" = 1 ]; then
  echo; echo "the lab stays up (KEEP_LAB=1): 'nodeinspect lab status', then 'nodeinspect lab down' when done"
else
  echo; echo "\$ nodeinspect lab down"
fi
