#!/usr/bin/env node
// Benchmark (not a test): `marks --json` and `trace --json` on a kube-proxy-sized ruleset (bench/kube-proxy-rules.mjs,
// 10,000 Services × 3 endpoints ≈ 110k rules) in throwaway netns, one per iptables backend, next to the anchor that
// alone reads the same rules (`iptables-save`, `iptables-legacy-save`) in the same netns. Runs alternate (anchor,
// this build, the --base build) so a load change on a shared machine hits them all; medians and ratios to the anchor.
// Also 11k → 110k: the same at a tenth of the Services, for the growth ratio. Peak RSS from /usr/bin/time.
// Usage (root): node bench/rules-scale.mjs [--rounds 5] [--services 10000] [--base DIR] [--backends nft,legacy] [--small]
import {execFileSync, spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('../', import.meta.url))
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? dflt : process.argv[i + 1]
}
const rounds = Number(arg('rounds', 5))
const services = Number(arg('services', 10000))
const base = arg('base', undefined)
const backends = arg('backends', 'nft,legacy').split(',')
const small = process.argv.includes('--small')
if (process.getuid?.() !== 0) {
  console.error('bench/rules-scale.mjs: needs root (it makes throwaway network namespaces)')
  process.exit(2)
}
if (!existsSync('/usr/bin/time')) {
  console.error('bench/rules-scale.mjs: needs /usr/bin/time (Debian package time) for peak RSS')
  process.exit(2)
}

const made = []
const cleanup = () => {
  for (const ns of made.splice(0)) spawnSync('ip', ['netns', 'del', ns])
}
process.on('exit', cleanup)
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(130))

/** A netns with lo and a veth pair up, 10.0.0.1/24 and a default route, and the rules loaded by `restore`. */
function makeNetns(suffix, restore, rules) {
  const ns = `ni-t${process.pid}-${suffix}`
  execFileSync('ip', ['netns', 'add', ns])
  made.push(ns)
  for (const a of [['link', 'set', 'lo', 'up'], ['link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1'], ['link', 'set', 'v0', 'up'], ['link', 'set', 'v1', 'up'], ['addr', 'add', '10.0.0.1/24', 'dev', 'v0'], ['route', 'add', 'default', 'via', '10.0.0.254']])
    execFileSync('ip', ['-n', ns, ...a])
  execFileSync('nsenter', [`--net=/run/netns/${ns}`, '--', restore], {input: rules, maxBuffer: 1 << 30})
  return ns
}

/** Wall seconds, peak RSS (MB) and CPU seconds (user + system, the tools it waited for included) of one run. */
function timed(argv) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M %U %S', ...argv], {cwd: root, encoding: 'utf8', maxBuffer: 1 << 30, env: {...process.env, NO_COLOR: '1'}})
  const last = r.stderr.trim().split('\n').pop() ?? ''
  const [s, kb, user, sys] = last.split(' ').map(Number)
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr.slice(0, 300)}`)
  return {s, mb: kb / 1024, cpu: user + sys}
}

const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b)
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2
}

const builds = [['this', root], ...(base ? [['base', base.endsWith('/') ? base : `${base}/`]] : [])]
const sizes = small ? [services / 10, services] : [services]
for (const backend of backends) {
  const [restore, anchor] = backend === 'legacy' ? ['iptables-legacy-restore', 'iptables-legacy-save'] : ['iptables-restore', 'iptables-save']
  const results = {}
  for (const n of sizes) {
    const rules = execFileSync(process.execPath, [`${root}bench/kube-proxy-rules.mjs`, String(n), '3'], {encoding: 'utf8', maxBuffer: 1 << 30})
    const count = rules.split('\n').filter((l) => l.startsWith('-A ')).length
    const ns = makeNetns(`${backend}${n}`, restore, rules)
    const cmds = [['anchor', ['nsenter', `--net=/run/netns/${ns}`, '--', anchor]]]
    for (const [label, dir] of builds) {
      cmds.push([`${label} marks`, [process.execPath, `${dir}bin/run.js`, 'marks', '--netns', ns, '--json']])
      cmds.push([`${label} trace`, [process.execPath, `${dir}bin/run.js`, 'trace', '10.0.0.1', '10.96.0.1:80', '--netns', ns, '--json']])
    }
    const samples = Object.fromEntries(cmds.map(([l]) => [l, []]))
    for (const [, argv] of cmds) timed(argv) // warm-up: page cache, the kernel's nft state
    for (let i = 0; i < rounds; i++) for (const [l, argv] of i % 2 ? [...cmds].reverse() : cmds) samples[l].push(timed(argv))
    // Each run against the anchor of its own round: a load change between rounds cancels out.
    const perRound = (l) => median(samples[l].map((x, i) => x.s / samples.anchor[i].s))
    results[n] = Object.fromEntries(Object.entries(samples).map(([l, xs]) => [l, {s: median(xs.map((x) => x.s)), ratio: perRound(l), mb: Math.max(...xs.map((x) => x.mb)), mbMedian: median(xs.map((x) => x.mb)), cpu: median(xs.map((x) => x.cpu)), all: xs.map((x) => x.s)}]))
    console.log(`\n${backend} backend, ${count} rules (${n} Services), ${rounds} rounds (anchor: ${anchor} alone in the same netns; ×anchor is the median of each round's ratio)`)
    for (const [l, r] of Object.entries(results[n])) console.log(`  ${l.padEnd(12)} median ${r.s.toFixed(2)} s  ×${r.ratio.toFixed(2)} anchor  CPU ${r.cpu.toFixed(2)} s  peak RSS median ${r.mbMedian.toFixed(0)} MB, max ${r.mb.toFixed(0)} MB   runs ${r.all.map((x) => x.toFixed(2)).join(' ')}`)
    if (base) for (const c of ['marks', 'trace']) console.log(`  this/base ${c}: ×${median(samples[`this ${c}`].map((x, i) => x.s / samples[`base ${c}`][i].s)).toFixed(2)} (median of each round's ratio)`)
    spawnSync('ip', ['netns', 'del', ns])
    made.splice(made.indexOf(ns), 1)
  }
  if (sizes.length === 2) {
    const [s, b] = sizes
    console.log(`  growth ${s} → ${b} Services:`)
    for (const l of Object.keys(results[b])) console.log(`    ${l.padEnd(12)} ×${(results[b][l].s / results[s][l].s).toFixed(2)}`)
  }
}
