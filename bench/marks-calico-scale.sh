#!/usr/bin/env bash
# Benchmark (not a test): `nodeinspect marks --json` on Calico-like nodes (bench/calico-mark-rules.mjs: felix's
# real dump plus N endpoints, 6 mark rules each, all on bit 16), each ruleset loaded with iptables-restore into a
# throwaway netns, next to `iptables-save` alone in the same netns. Every command is timed ROUNDS times with
# /usr/bin/time (wall seconds, peak RSS); the medians are printed, and the run fails when marks takes more than
# 30 s or 1 GB. BASELINE=/path/to/another/checkout times that checkout's build too (v1 dies of heap
# exhaustion from 2,000 mark rules: its failures are reported, not fatal).
# Usage: sudo bash bench/marks-calico-scale.sh [MARK_RULES ...]   (default 1000 2000 5000; ROUNDS=3)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "marks-calico-scale: needs root (ip netns add, iptables-restore)" >&2; exit 1; }
rounds=${ROUNDS:-3}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 2000 5000)
ns="ni-t$$-calico"
work=$(mktemp -d)
trap 'ip netns del "$ns" 2>/dev/null || true; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
ip netns add "$ns"
in_ns() { nsenter --net="/run/netns/$ns" -- "$@"; }

# time_one OUT ARGV…: runs it, prints "WALL_S RSS_KB EXIT" (stdout to OUT).
time_one() {
  local out=$1
  shift
  local rc=0
  /usr/bin/time -f '%e %M' -o "$work/time" "$@" > "$out" 2> "$work/stderr" || rc=$?
  echo "$(tail -1 "$work/time") $rc"
}
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
max() { sort -n | tail -1; }

fail=0
printf '%-10s %-7s %-6s %-7s %-12s | %-34s | %-22s\n' 'mark rules' 'rules' 'uses' 'groups' 'pairs' "marks --json: wall s / peak RSS MB (median of $rounds, max RSS)" 'iptables-save: wall s / RSS MB'
for n in "${sizes[@]}"; do
  node bench/calico-mark-rules.mjs "$n" > "$work/rules" 2> "$work/gen"
  in_ns iptables-restore < "$work/rules"
  loaded=$(in_ns iptables-save | grep -c '^-A ')
  marked=$(in_ns iptables-save | grep '^-A ' | grep -ci mark)
  : > "$work/m"
  : > "$work/s"
  : > "$work/b"
  for ((i = 0; i < rounds; i++)); do
    time_one "$work/out.json" ./bin/run.js marks --netns "$ns" --json >> "$work/m"
    time_one "$work/save" nsenter --net="/run/netns/$ns" -- iptables-save >> "$work/s"
    [ -z "${BASELINE:-}" ] || time_one "$work/base.json" "$BASELINE/bin/run.js" marks --netns "$ns" --json >> "$work/b"
  done
  if awk '$3 != 0 {bad = 1} END {exit !bad}' "$work/m" "$work/s"; then
    echo "marks --json or iptables-save failed at $n mark rules: $(head -c 300 "$work/stderr")" >&2
    fail=1
    continue
  fi
  read -r uses groups pairs < <(node -e '
    const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))
    if (d.schema !== "nodeinspect.marks/v2") throw new Error(`schema ${d.schema}`)
    console.log(d.summary.usages, d.summary.flows.groups, d.summary.flows.pairs)' "$work/out.json")
  m_wall=$(awk '{print $1}' "$work/m" | median)
  m_rss=$(awk '{print $2}' "$work/m" | median)
  m_max=$(awk '{print $2}' "$work/m" | max)
  s_wall=$(awk '{print $1}' "$work/s" | median)
  s_rss=$(awk '{print $2}' "$work/s" | median)
  printf '%-10s %-7s %-6s %-7s %-12s | %-34s | %-22s\n' "$marked" "$loaded" "$uses" "$groups" "$pairs" \
    "$m_wall s / $((m_rss / 1024)) MB (max $((m_max / 1024)) MB)" "$s_wall s / $((s_rss / 1024)) MB"
  if [ -n "${BASELINE:-}" ]; then
    b_ok=$(awk '$3 == 0' "$work/b" | wc -l)
    b_wall=$(awk '{print $1}' "$work/b" | median)
    b_rss=$(awk '{print $2}' "$work/b" | median)
    echo "    baseline $BASELINE: $b_ok/$rounds succeeded; wall $b_wall s, peak RSS $((b_rss / 1024)) MB (medians over every run)$([ "$b_ok" = "$rounds" ] || echo "; last error: $(grep -m1 -oE 'heap out of memory|Invalid string length|Maximum call stack size exceeded|nodeinspect: [^\n]{0,120}' "$work/stderr" || head -c 120 "$work/stderr")")"
  fi
  if awk -v w="$m_wall" 'BEGIN {exit !(w > 30)}' || [ "$m_max" -gt $((1024 * 1024)) ]; then
    echo "    over budget (30 s, 1 GB) at $n mark rules" >&2
    fail=1
  fi
done
exit $fail
