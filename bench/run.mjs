#!/usr/bin/env node
// The benchmark suite of issue 10 (`npm run bench`; not part of `npm test`, whose smoke test runs it with --smoke).
// As root, it builds scale nodes in throwaway network namespaces named ni-t<pid>-bench-… (removed at the end, on
// failure and on Ctrl-C; the root namespace's links, routes, rules and firewall are never touched):
//   - 50 then 500 pod veths, each host end with its own tc program of a distinct tag (bench/scale-node.mjs);
//   - kube-proxy-shaped rulesets of 11k and 110k rules (bench/kube-proxy-rules.mjs: hashed chain names, because
//     iptables 1.8.9 sorts user chains with a quicksort that goes quadratic on names created in sorted order),
//     once through iptables-restore (nft backend) and once through iptables-legacy-restore;
//   - a Calico-size native nft ruleset (bench/calico-mark-rules.mjs, translated by iptables-restore-translate).
// On each it runs the built CLI (bin/run.js --netns NAME) and the tool a user would run instead, in turn, ROUNDS
// times after one warm-up run, timing wall and peak RSS; then counts each nodeinspect command's processes in a
// separate run under strace. It writes OUT/RESULTS.md and OUT/results.json (OUT: bench/, or a temporary directory
// with --smoke) and ends with one line `N budgets met, M missed`. A missed budget is reported, not an error: the
// exit is 0 unless the suite itself failed (1), or was used wrongly (2).
// Usage: node bench/run.mjs [--rounds N] [--out DIR] [--smoke] [--only pods,kube-proxy,calico]; --check prints why it
// cannot run here (nothing if it can) and exits 0. --only runs start-up and the named nodes' cases and budgets only,
// writing to a temporary directory unless --out says where (bench/RESULTS.md holds whole runs).
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {calicoRuleset, endpointsFor} from './calico-mark-rules.mjs'
import {countExecs, live, stats, timeOne} from './measure.mjs'
import {Budgets, machine, renderResults} from './report.mjs'
import {addEndpoints, compileProgram, run} from './scale-node.mjs'

const ROOT = fileURLToPath(new URL('../', import.meta.url))
const USAGE = 'usage: node bench/run.mjs [--rounds N] [--out DIR] [--smoke] [--only pods,kube-proxy,calico] | --check'
/** The nodes --only can choose; start-up is always measured (a budget of the legacy backend adds it). */
const SECTIONS = ['pods', 'kube-proxy', 'calico']

/** The sizes of issue 10, and toy ones that only show the suite works. */
const SIZES = {
  full: {pods: [50, 500], services: [1000, 10000], extraNetns: 30, calicoMarkRules: 5000},
  smoke: {pods: [2, 4], services: [20, 200], extraNetns: 2, calicoMarkRules: 60},
}

function parseOptions(argv) {
  const o = {rounds: 5, smoke: false, out: undefined}
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--smoke') o.smoke = true
    else if (a === '--check') o.check = true
    else if (a === '--only') {
      const v = argv[++i]
      if (v === undefined) usage('--only needs a value')
      const list = v.split(',').filter(Boolean)
      const bad = list.filter((x) => !SECTIONS.includes(x))
      if (list.length === 0 || bad.length > 0) usage(`invalid --only "${v}": expected some of ${SECTIONS.join(', ')}, separated by commas`)
      o.only = list
    }    else if (a === '--rounds' || a === '--out') {
      const v = argv[++i]
      if (v === undefined) usage(`${a} needs a value`)
      if (a === '--out') o.out = v
      else if (!/^[1-9]\d*$/.test(v)) usage(`invalid --rounds "${v}": expected a whole number ≥ 1`)
      else o.rounds = Number(v)
    } else if (a === '--help' || a === '-h') {
      console.log(USAGE)
      process.exit(0)
    } else usage(`unexpected argument "${a}"`)
  }
  if (o.smoke && !argv.includes('--rounds')) o.rounds = 1
  o.warmUp = !o.smoke
  return o
}

function usage(msg) {
  console.error(`bench: ${msg}\n${USAGE}`)
  process.exit(2)
}

/** Why the suite cannot run here, or ''. */
function cannotRun() {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, iptables-restore, bpftool prog load)'
  const inPath = (t) => (process.env.PATH ?? '').split(':').some((d) => d !== '' && existsSync(join(d, t)))
  const tools = ['ip', 'tc', 'bpftool', 'nsenter', 'nft', 'iptables-save', 'iptables-restore', 'iptables-legacy-save', 'iptables-legacy-restore', 'iptables-restore-translate', 'clang', 'strace', 'mount', 'umount']
  const missing = tools.filter((t) => !inPath(t))
  if (!existsSync('/usr/bin/time')) missing.push('/usr/bin/time (GNU time)')
  if (missing.length) return `missing: ${missing.join(', ')}`
  if (!existsSync('/usr/include/bpf/bpf_helpers.h')) return 'libbpf-dev not installed (no bpf/bpf_helpers.h)'
  if (!existsSync(join(ROOT, 'dist/commands/marks.js')) || !existsSync(join(ROOT, 'oclif.manifest.json'))) return 'nodeinspect is not built (npm run build)'
  if (!existsSync(join(ROOT, 'native/build/nodeinspect-bpf'))) return 'the nodeinspect-bpf helper is not built (make -C native)'
  return ''
}

// ---- clean-up: everything the suite creates is registered here at once, and removed in reverse order ----
const cleanups = []
function cleanUp() {
  for (let f = cleanups.pop(); f; f = cleanups.pop()) {
    try {
      f()
    } catch (e) {
      console.error(`bench: clean-up: ${String(e.message).split('\n')[0]}`)
    }
  }
}
for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) {
  process.on(sig, () => {
    console.error(`bench: ${sig}: removing what the suite created`)
    for (const child of live) child.kill('SIGKILL')
    cleanUp()
    process.exit(code)
  })
}

const sh = (argv) => execFileSync(argv[0], argv.slice(1), {stdio: 'ignore', timeout: 60_000})

/** What crashed earlier runs left (their process is gone): their namespaces and bpffs. */
function sweepLeftovers() {
  const dead = (pid) => !existsSync(`/proc/${pid}`)
  for (const name of existsSync('/run/netns') ? readdirSync('/run/netns') : []) {
    const m = /^ni-t(\d+)-bench-/.exec(name)
    if (m && dead(m[1])) sh(['ip', 'netns', 'del', name])
  }
  for (const d of readdirSync('/run')) {
    const m = /^nodeinspect-bench-(\d+)$/.exec(d)
    if (!m || !dead(m[1])) continue
    try {
      sh(['umount', `/run/${d}/bpffs`])
    } catch {
      /* not mounted */
    }
    rmSync(`/run/${d}`, {recursive: true, force: true})
  }
}

const PREFIX = `ni-t${process.pid}-bench`
/** The suite's own named netns and loaded programs at this moment: the rest of the host's are other users'. */
const own = {netns: 0, progs: 0}

/** A named netns of the suite's own; `remove()` takes it away early. */
async function netns(suffix) {
  const name = `${PREFIX}-${suffix}`
  await run(['ip', 'netns', 'add', name])
  const del = () => sh(['ip', 'netns', 'del', name])
  cleanups.push(del)
  own.netns++
  return {
    name,
    remove() {
      cleanups.splice(cleanups.indexOf(del), 1)
      del()
      own.netns--
    },
  }
}

const inNs = (ns, argv) => ['nsenter', `--net=/run/netns/${ns}`, '--', ...argv]
// The CLI as a user runs it: its bin file, started by its own first line (bin/run.js says why that matters).
const ni = (...args) => [join(ROOT, 'bin/run.js'), ...args]
const namedNetns = () => (existsSync('/run/netns') ? readdirSync('/run/netns').length : 0)
const sizeLabel = (n) => (n >= 1000 ? `${Math.round(n / 1000)}k` : String(n))
const log = (s) => process.stderr.write(`[bench] ${s}\n`)

/** A short account of a command's answer, to show it answered what was asked. */
function answerOf(outFile) {
  const text = readFileSync(outFile, 'utf8')
  let d
  try {
    d = JSON.parse(text)
  } catch {
    return `${text.split('\n').filter(Boolean).length} lines of text`
  }
  if (d.error) return `error: ${d.error.message}`
  const parts = []
  if (d.schema) parts.push(d.schema)
  if (d.summary?.usages !== undefined) parts.push(`${d.summary.usages} mark uses`)
  if (d.outcome) parts.push(`${d.steps?.length ?? 0} steps, outcome ${d.outcome.kind}`)
  if (Array.isArray(d.devices)) parts.push(`${d.devices.length} devices`)
  if (Array.isArray(d.warnings)) parts.push(`${d.warnings.length} warnings`)
  return parts.join(', ')
}

async function main() {
  const opts = parseOptions(process.argv.slice(2))
  const why = cannotRun()
  if (opts.check) {
    if (why) console.log(why)
    return
  }
  if (why) {
    console.error(`bench: cannot run here: ${why}`)
    process.exit(1)
  }
  const sizes = opts.smoke ? SIZES.smoke : SIZES.full
  const out = opts.out ?? (opts.smoke || opts.only ? mkdtempSync(join(tmpdir(), `nodeinspect-bench-${opts.smoke ? 'smoke' : 'only'}-`)) : join(ROOT, 'bench'))
  const want = (section) => !opts.only || opts.only.includes(section)
  mkdirSync(out, {recursive: true})
  sweepLeftovers()
  const work = mkdtempSync(join(tmpdir(), 'nodeinspect-bench-'))
  cleanups.push(() => rmSync(work, {recursive: true, force: true}))
  const started = new Date()
  const m = {...machine(), namedNetnsAtStart: namedNetns()}
  log(`${opts.smoke ? 'smoke run' : 'full run'}${opts.only ? ` of start-up and ${opts.only.join(', ')}` : ''}, ${opts.rounds} rounds; load average ${m.loadavgStart.join(' ')}; results to ${out}`)

  const nodes = []
  const commands = []
  const counts = []
  let seq = 0

  /**
   * One warm-up run of each command (its answer kept; none with --smoke), then `rounds` rounds of all of them in
   * turn, the order rotated every round so that no command always follows the same one.
   */
  const measure = async (node, cmds) => {
    const recs = cmds.map((c) => ({id: `${node.id}:${c.id}`, node: node.label, label: c.label, argv: c.argv, anchor: c.anchor && `${node.id}:${c.anchor}`, wallS: [], rssKB: [], errors: []}))
    commands.push(...recs)
    if (opts.warmUp) {
      for (const c of recs) {
        const r = await timeOne(c.argv, work, `run-${++seq}`)
        if (r.error) c.errors.push(`warm-up: ${r.error}`)
        else c.answer = answerOf(r.outFile)
      }
    }
    for (let round = 0; round < opts.rounds; round++) {
      for (let k = 0; k < recs.length; k++) {
        const c = recs[(round + k) % recs.length]
        const r = await timeOne(c.argv, work, `run-${++seq}`)
        if (r.error) c.errors.push(r.error)
        else {
          c.wallS.push(r.wallS)
          c.rssKB.push(r.rssKB)
          c.answer ??= answerOf(r.outFile)
        }
      }
    }
    log(`${node.label}: ${recs.map((c) => `${c.label} ${stats(c.wallS)?.median.toFixed(3) ?? 'failed'} s`).join('; ')}`)
  }
  // What the host holds that every netns sees: named namespaces, and BPF programs and maps (not per netns).
  const hostObjects = async (what) => JSON.parse(await run(['bpftool', '-j', what, 'show'])).length
  const count = async (node, id, label, argv) => {
    const host = {namedNetns: namedNetns(), bpfProgs: await hostObjects('prog'), bpfMaps: await hostObjects('map')}
    const others = {netns: host.namedNetns - own.netns, progs: host.bpfProgs - own.progs, maps: host.bpfMaps}
    const r = await countExecs(argv, work, `count-${++seq}`)
    return {id: `${node.id}:${id}`, node: node.label, label, ...host, others, ...r}
  }
  const sameOthers = (a, b) => JSON.stringify(a.others) === JSON.stringify(b.others)
  /**
   * Two counts to compare, taken again (up to 3 times) while what other users hold on the host changed between
   * them: BPF maps and programs are global, and `trace` reads the Cilium maps it finds.
   */
  const countPair = async (a, b) => {
    let r = []
    for (let attempt = 1; attempt <= 3; attempt++) {
      r = [await a(), await b()]
      if (sameOthers(r[0], r[1])) break
      log(`other users' netns or BPF objects changed while counting ${r[1].id}: ${JSON.stringify(r[0].others)} → ${JSON.stringify(r[1].others)}${attempt < 3 ? ', counting again' : ''}`)
    }
    counts.push(...r)
  }
  const setUp = async (node, f) => {
    const t0 = performance.now()
    await f()
    node.setupS = (performance.now() - t0) / 1000
    nodes.push(node)
    log(`${node.label}: set up in ${node.setupS.toFixed(1)} s`)
  }

  // ---- start-up: nodeinspect --version against a bare oclif 4 CLI built from the installed @oclif/core ----
  const bare = join(work, 'bare-oclif')
  mkdirSync(join(bare, 'bin'), {recursive: true})
  mkdirSync(join(bare, 'commands'))
  writeFileSync(join(bare, 'package.json'), `${JSON.stringify({name: 'bare', version: '1.0.0', type: 'module', oclif: {bin: 'bare', commands: './commands'}})}\n`)
  // Run as its bin too, with the shebang oclif's generator writes.
  writeFileSync(join(bare, 'bin/run.js'), "#!/usr/bin/env node\nimport {execute} from '@oclif/core'\nawait execute({dir: import.meta.url})\n", {mode: 0o755})
  writeFileSync(join(bare, 'commands/hello.js'), "import {Command} from '@oclif/core'\nexport default class Hello extends Command {\n  async run() {\n    this.log('hello')\n  }\n}\n")
  execFileSync('ln', ['-s', join(ROOT, 'node_modules'), join(bare, 'node_modules')])
  const startup = {id: 'startup', label: 'start-up', holds: 'no node: `--version` only', netns: undefined, setupS: 0}
  nodes.push(startup)
  await measure(startup, [
    {id: 'ni-version', label: 'nodeinspect --version', argv: ni('--version'), anchor: 'bare-version'},
    {id: 'bare-version', label: 'bare oclif 4 CLI --version', argv: [join(bare, 'bin/run.js'), '--version']},
  ])

  // ---- pods: N veths, each with its own program; the same netns grows from the small size to the large ----
  if (want('pods')) {
    const [small, large] = sizes.pods
    const bpfBase = `/run/nodeinspect-bench-${process.pid}`
    const bpffs = `${bpfBase}/bpffs`
    mkdirSync(bpffs, {recursive: true})
    cleanups.push(() => rmSync(bpfBase, {recursive: true, force: true}))
    await run(['mount', '-t', 'bpf', 'bpf', bpffs])
    const unmount = () => sh(['umount', bpffs])
    cleanups.push(unmount)
    const ns = await netns('pods')
    const obj = await compileProgram(work)
    let have = 0
    const countPods = async (node) => {
      for (const [id, label, argv] of [['marks-json', 'marks --json', ni('marks', '--json', '--netns', ns.name)], ['hooks-json', 'hooks --json', ni('hooks', '--json', '--netns', ns.name)]]) counts.push(await count(node, id, label, argv))
    }
    for (const n of [small, large]) {
      const node = {id: `pods-${n}`, label: `${n} pods`, netns: ns.name, holds: `${n} veth pairs, each host end with its own clsact ingress program (distinct tags)`}
      await setUp(node, () => addEndpoints({ns: ns.name, bpffs, work, obj, from: have, to: n}))
      have = n
      own.progs = n
      // The small node's counts come after its timings and the large one's before, as close in time as they can
      // be (the small node cannot be counted again once grown).
      if (n === large) await countPods(node)
      await measure(node, [
        {id: 'marks-json', label: 'marks --json', argv: ni('marks', '--json', '--netns', ns.name), anchor: 'bpftool'},
        {id: 'hooks', label: 'hooks', argv: ni('hooks', '--netns', ns.name), anchor: 'bpftool'},
        {id: 'hooks-json', label: 'hooks --json', argv: ni('hooks', '--json', '--netns', ns.name), anchor: 'bpftool'},
        {id: 'bpftool', label: 'bpftool -j net show', argv: inNs(ns.name, ['bpftool', '-j', 'net', 'show'])},
      ])
      if (n === small) await countPods(node)
    }
    ns.remove()
    // The pins hold the programs (loaded programs are the host's, not the netns's): gone with the mount, so that
    // the other nodes' `bpftool prog show` does not list them.
    cleanups.splice(cleanups.indexOf(unmount), 1)
    unmount()
    own.progs = 0
  }

  // ---- kube-proxy: 11k and 110k rules, on each backend, each in a netns of its own; both sizes' processes are
  // counted one after the other, so that what else changes on the host (BPF maps are global) changes least ----
  const ruleCount = {}
  for (const backend of want('kube-proxy') ? ['nft', 'legacy'] : []) {
    const save = backend === 'nft' ? 'iptables-save' : 'iptables-legacy-save'
    const built = []
    for (const services of sizes.services) {
      const ns = await netns(`kp-${backend}-${services}`)
      const rules = execFileSync(process.execPath, [join(ROOT, 'bench/kube-proxy-rules.mjs'), String(services), '3'], {encoding: 'utf8', maxBuffer: 1 << 30})
      const n = rules.split('\n').filter((l) => l.startsWith('-A ')).length
      ruleCount[services] = n
      const node = {id: `kp-${backend}-${services}`, label: `${sizeLabel(n)} rules, ${backend}`, netns: ns.name, holds: `${n} kube-proxy-shaped nat rules (${services} Services × 3 endpoints) through ${backend === 'nft' ? 'iptables-restore (nf_tables)' : 'iptables-legacy-restore'}; a veth uplink eth0 192.168.50.2/24 with a default route`}
      await setUp(node, async () => {
        await run(['ip', '-n', ns.name, '-batch', '-'], {input: 'link set lo up\nlink add eth0 type veth peer name eth0p\naddr add 192.168.50.2/24 dev eth0\nlink set eth0 up\nlink set eth0p up\nroute add default via 192.168.50.1\n'})
        await run(inNs(ns.name, [backend === 'nft' ? 'iptables-restore' : 'iptables-legacy-restore']), {input: rules})
      })
      // The node's own connection to the last Service: its rule is the last of KUBE-SERVICES, so the walk
      // evaluates every Service's rule before it.
      const s = services - 1
      const flow = ['192.168.50.2', `10.96.${(s >> 8) & 255}.${s & 255}:80`]
      const small = services === sizes.services[0]
      await measure(node, [
        {id: 'marks-json', label: 'marks --json', argv: ni('marks', '--json', '--netns', ns.name), anchor: 'save'},
        {id: 'trace-json', label: `trace ${flow.join(' ')} --json`, argv: ni('trace', ...flow, '--json', '--netns', ns.name), anchor: 'save'},
        ...(small && backend === 'nft' ? [{id: 'trace', label: `trace ${flow.join(' ')} (tree)`, argv: ni('trace', ...flow, '--netns', ns.name), anchor: 'trace-json'}] : []),
        {id: 'save', label: save, argv: inNs(ns.name, [save])},
      ])
      built.push({node, ns, flow, small})
    }
    const [a, b] = built
    for (const [id, label, args] of [['marks-json', 'marks --json', () => []], ['trace-json', 'trace --json', (x) => x.flow]]) {
      const argv = (x) => ni(id.split('-')[0], ...args(x), '--json', '--netns', x.ns.name)
      await countPair(() => count(a.node, id, label, argv(a)), () => count(b.node, id, label, argv(b)))
    }
    if (backend === 'nft') {
      // The same trace with more named namespaces on the host (containerd names every pod's), right after it
      // without them.
      const argv = ni('trace', ...a.flow, '--json', '--netns', a.ns.name)
      const withExtra = async () => {
        const extra = []
        for (let i = 0; i < sizes.extraNetns; i++) extra.push(await netns(`x${i}`))
        const r = await count(a.node, 'trace-json-netns', `trace --json, ${sizes.extraNetns} more named netns`, argv)
        for (const x of extra) x.remove()
        return r
      }
      await countPair(() => count(a.node, 'trace-json-netns0', 'trace --json, before the more named netns', argv), withExtra)
    }
    for (const {ns} of built) ns.remove()
  }

  // ---- Calico: felix's ruleset with its endpoints, as native nft tables ----
  if (want('calico')) {
    const rs = calicoRuleset(endpointsFor(sizes.calicoMarkRules))
    const ns = await netns('calico')
    const node = {id: 'calico', label: `Calico, ${rs.markRules} mark rules`, netns: ns.name, holds: `felix's dump with ${rs.endpoints} endpoints (${rs.rules} rules, ${rs.markRules} on marks) as native nft tables calico-raw/mangle/nat/filter (iptables-restore-translate)`}
    await setUp(node, async () => {
      writeFileSync(join(work, 'calico.rules'), rs.text)
      const nft = (await run(['iptables-restore-translate', '-f', join(work, 'calico.rules')])).replace(/^add (table|chain|rule) ip ([a-z]+)/gm, 'add $1 ip calico-$2')
      await run(inNs(ns.name, ['nft', '-f', '-']), {input: nft})
    })
    await measure(node, [
      {id: 'marks-json', label: 'marks --json', argv: ni('marks', '--json', '--netns', ns.name), anchor: 'nft'},
      {id: 'nft', label: 'nft list ruleset', argv: inNs(ns.name, ['nft', 'list', 'ruleset'])},
    ])
    counts.push(await count(node, 'marks-json', 'marks --json', ni('marks', '--json', '--netns', ns.name)))
    ns.remove()
  }

  // ---- the budgets of issue 10, in their fixed order; with --only, those of the nodes measured ----
  const b = new Budgets(commands, counts)
  const [sv, lv] = sizes.services
  const [sp, lp] = sizes.pods
  const big = sizeLabel(ruleCount[lv])
  const little = sizeLabel(ruleCount[sv])
  const kp = want('kube-proxy')
  const pods = want('pods')
  if (kp) {
    for (const [cmd, what] of [['marks-json', '`marks --json`'], ['trace-json', '`trace --json`']]) {
      b.time({text: `${what}, ${big} rules, nft: ≤ 1.3× \`iptables-save\``, subject: `kp-nft-${lv}:${cmd}`, anchor: `kp-nft-${lv}:save`, factor: 1.3})
      b.time({text: `${what}, ${big} rules, legacy: ≤ 1.3× \`iptables-legacy-save\` + start-up (\`--version\`)`, subject: `kp-legacy-${lv}:${cmd}`, anchor: `kp-legacy-${lv}:save`, factor: 1.3, plusCmd: 'startup:ni-version'})
    }
    for (const backend of ['nft', 'legacy']) {
      for (const [cmd, what] of [['marks-json', '`marks --json`'], ['trace-json', '`trace --json`']]) b.rss({text: `${what}, ${big} rules, ${backend}: peak RSS ≤ 300 MB`, subject: `kp-${backend}-${lv}:${cmd}`, limitMB: 300})
    }
    for (const backend of ['nft', 'legacy']) {
      for (const [cmd, what] of [['marks-json', '`marks --json`'], ['trace-json', '`trace --json`']]) b.growth({text: `${what}, ${backend}: ${little} → ${big} rules ≤ 11×`, small: `kp-${backend}-${sv}:${cmd}`, large: `kp-${backend}-${lv}:${cmd}`, factor: 11})
    }
  }
  if (pods) {
    for (const [cmd, what] of [['marks-json', '`marks --json`'], ['hooks', '`hooks`'], ['hooks-json', '`hooks --json`']]) b.growth({text: `${what}: ${sp} → ${lp} pods ≤ 11×`, small: `pods-${sp}:${cmd}`, large: `pods-${lp}:${cmd}`, factor: 11})
    b.absolute({text: `\`marks --json\`, ${lp} pods: ≤ 3 s`, subject: `pods-${lp}:marks-json`, limitS: 3})
    b.absolute({text: `\`hooks\` (table), ${lp} pods: ≤ 1 s`, subject: `pods-${lp}:hooks`, limitS: 1})
    b.time({text: `\`hooks --json\`, ${lp} pods: ≤ 2× \`bpftool -j net show\` + 0.4 s`, subject: `pods-${lp}:hooks-json`, anchor: `pods-${lp}:bpftool`, factor: 2, plusS: 0.4})
    for (const [cmd, what] of [['marks-json', '`marks --json`'], ['hooks-json', '`hooks --json`']]) b.constant({text: `${what}: processes spawned, ${sp} → ${lp} pods (devices, programs)`, small: `pods-${sp}:${cmd}`, large: `pods-${lp}:${cmd}`})
  }
  if (kp) {
    for (const backend of ['nft', 'legacy']) {
      for (const [cmd, what] of [['marks-json', '`marks --json`'], ['trace-json', '`trace --json`']]) b.constant({text: `${what}, ${backend}: processes spawned, ${little} → ${big} rules`, small: `kp-${backend}-${sv}:${cmd}`, large: `kp-${backend}-${lv}:${cmd}`})
    }
    b.constant({text: `\`trace --json\`: processes spawned, with ${sizes.extraNetns} more named netns on the host`, small: `kp-nft-${sv}:trace-json-netns0`, large: `kp-nft-${sv}:trace-json-netns`})
  }
  b.time({text: 'start-up (`--version`): ≤ 1.2× a bare oclif 4 CLI', subject: 'startup:ni-version', anchor: 'startup:bare-version', factor: 1.2})
  if (kp) b.time({text: `tree output (ink): \`trace\` ≤ \`trace --json\` + 0.2 s (${little} rules, nft)`, subject: `kp-nft-${sv}:trace`, anchor: `kp-nft-${sv}:trace-json`, factor: 1, plusS: 0.2})

  const results = {
    schema: 'nodeinspect.bench/v1',
    startedAt: started.toISOString(),
    durationS: (Date.now() - started.getTime()) / 1000,
    options: {rounds: opts.rounds, warmUp: opts.warmUp, smoke: opts.smoke, ...(opts.only ? {only: opts.only} : {}), sizes},
    machine: {...m, loadavgEnd: loadavg().map((x) => Number(x.toFixed(2)))},
    nodes,
    commands,
    counts,
    budgets: b.list,
    summary: {met: b.met, missed: b.missed},
  }
  writeFileSync(join(out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`)
  writeFileSync(join(out, 'RESULTS.md'), renderResults(results))
  log(`wrote ${join(out, 'RESULTS.md')} and results.json`)
  for (const x of b.list) if (x.result !== 'PASS') log(`missed: ${x.text}${x.error ? ` (${x.error})` : ''}`)
  console.log(`${b.met} budgets met, ${b.missed} missed`)
}

try {
  await main()
} catch (e) {
  console.error(`bench: failed: ${e.message}`)
  process.exitCode = 1
} finally {
  cleanUp()
}
