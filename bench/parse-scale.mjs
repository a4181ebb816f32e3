#!/usr/bin/env node
// Benchmark (not a test: timings depend on the machine and its load, so `npm test` asserts none of them).
// How long the in-process parsers take on this machine, from the built dist/ (`npm run build` first):
// - parseIptablesSave on kube-proxy-shaped dumps of N and 4N Services (bench/kube-proxy-rules.mjs); a linear parser
//   takes about 4x as long on 4x the input, a quadratic one about 16x (exit 1 above 12x);
// - parseSkBuffLayout on this kernel's /sys/kernel/btf/vmlinux (one pass over every BTF type).
// Usage: node bench/parse-scale.mjs [SERVICES, default 2500]
import {execFileSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('../', import.meta.url))
if (!existsSync(`${root}dist/probes/iptables-save.js`)) {
  console.error('nodeinspect: bench/parse-scale.mjs needs the build: run npm run build first')
  process.exit(2)
}
const {parseIptablesSave} = await import(`${root}dist/probes/iptables-save.js`)
const {parseSkBuffLayout, readVmlinuxBtf, VMLINUX_BTF_PATH} = await import(`${root}dist/probes/btf-sk-buff.js`)

/** Best of `runs` wall times in ms (the least disturbed by other processes), after one warm-up run. */
function best(runs, f) {
  f()
  let min = Infinity
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    f()
    min = Math.min(min, performance.now() - t0)
  }
  return min
}

const n = Number(process.argv[2] ?? 2500)
const dump = (services) => execFileSync(process.execPath, [`${root}bench/kube-proxy-rules.mjs`, String(services), '3'], {encoding: 'utf8', maxBuffer: 1 << 30})
const small = dump(n)
const big = dump(4 * n)
const parse = (text) => parseIptablesSave(text, {family: 'ipv4', backend: 'legacy'})
const problems = parse(big).problems
if (problems.length > 0) console.error(`parse problems: ${problems.slice(0, 3).map((p) => p.message).join('; ')}`)
const s = best(3, () => parse(small))
const b = best(3, () => parse(big))
const ratio = b / s
console.log(`iptables-save parse: ${small.split('\n').length} lines ${s.toFixed(0)} ms, ${big.split('\n').length} lines ${b.toFixed(0)} ms; ratio ${ratio.toFixed(2)} for 4x input (linear ≈ 4, quadratic ≈ 16)`)

const btf = await readVmlinuxBtf()
if ('error' in btf) console.log(`BTF parse: skipped (${btf.error})`)
else console.log(`BTF parse of ${VMLINUX_BTF_PATH}, ${btf.bytes.byteLength} bytes: ${best(5, () => parseSkBuffLayout(btf.bytes)).toFixed(1)} ms`)

process.exit(ratio > 12 ? 1 : 0)
