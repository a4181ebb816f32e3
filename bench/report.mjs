// The benchmark suite's verdicts and its written results: each budget of issue 10 checked against the medians of
// one run (bench/run.mjs), and bench/RESULTS.md rendered from results.json's numbers, never by hand.
import {execFileSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {cpus, loadavg, release} from 'node:os'
import {stats} from './measure.mjs'

const fmtS = (s) => (s === undefined ? '—' : `${s.toFixed(s < 10 ? 3 : 2)} s`)
const fmtMB = (kb) => (kb === undefined ? '—' : `${Math.round(kb / 1024)} MB`)
const fmtX = (x) => (x === undefined || !Number.isFinite(x) ? '—' : `${x.toFixed(2)}×`)

/** The first line a tool prints for its version, or why not. */
function version(argv) {
  try {
    return execFileSync(argv[0], argv.slice(1), {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000}).trim().split('\n')[0]
  } catch (e) {
    return `unknown (${String(e.message).split('\n')[0]})`
  }
}

/** What the results say about the machine they were measured on. */
export function machine() {
  const model = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown'
  return {
    cpu: model,
    cores: cpus().length,
    kernel: release(),
    node: process.version,
    iptables: version(['iptables', '--version']),
    iptablesLegacy: version(['iptables-legacy', '--version']),
    nft: version(['nft', '--version']),
    bpftool: version(['bpftool', 'version']),
    loadavgStart: loadavg().map((x) => Number(x.toFixed(2))),
  }
}

/**
 * The budgets, checked. Each is built from the recorded commands (by id) and counts; a budget whose commands
 * failed is missed, and says so.
 */
export class Budgets {
  constructor(commands, counts) {
    this.commands = commands
    this.counts = counts
    this.list = []
  }

  cmd(id) {
    const c = this.commands.find((x) => x.id === id)
    if (!c) throw new Error(`bench: no command ${id} was measured`)
    return c
  }

  wall(id) {
    return stats(this.cmd(id).wallS)?.median
  }

  failed(ids) {
    const bad = ids.map((id) => this.cmd(id)).filter((c) => c.errors.length > 0 || c.wallS.length === 0)
    return bad.length ? `failed: ${bad.map((c) => `${c.label}: ${c.errors[0] ?? 'no run'}`).join('; ')}` : undefined
  }

  add(b) {
    this.list.push({...b, result: b.error ? 'FAIL' : b.pass ? 'PASS' : 'FAIL'})
  }

  /** median(subject) ≤ factor × median(anchor) + plusS (+ median(plusCmd)). */
  time({text, subject, anchor, factor, plusS = 0, plusCmd}) {
    const error = this.failed([subject, anchor, ...(plusCmd ? [plusCmd] : [])])
    const v = this.wall(subject)
    const a = this.wall(anchor)
    const limit = error ? undefined : factor * a + plusS + (plusCmd ? this.wall(plusCmd) : 0)
    this.add({text, kind: 'time', subject, anchor, value: v, against: a, ratio: v / a, limit, pass: !error && v <= limit, error})
  }

  /** median(subject) ≤ limitS. */
  absolute({text, subject, limitS}) {
    const error = this.failed([subject])
    const v = this.wall(subject)
    this.add({text, kind: 'absolute', subject, value: v, limit: limitS, pass: !error && v <= limitS, error})
  }

  /** median(large) / median(small) ≤ factor. */
  growth({text, small, large, factor}) {
    const error = this.failed([small, large])
    const s = this.wall(small)
    const l = this.wall(large)
    this.add({text, kind: 'growth', subject: large, anchor: small, value: l, against: s, ratio: l / s, limit: factor, pass: !error && l / s <= factor, error})
  }

  /** The largest peak RSS of subject's runs ≤ limitMB. */
  rss({text, subject, limitMB}) {
    const error = this.failed([subject])
    const max = stats(this.cmd(subject).rssKB)?.max
    this.add({text, kind: 'rss', subject, value: max, limit: limitMB * 1024, pass: !error && max <= limitMB * 1024, error})
  }

  /** The same number of programs executed at both sizes. */
  constant({text, small, large}) {
    const s = this.counts.find((c) => c.id === small)
    const l = this.counts.find((c) => c.id === large)
    const error = [s, l].filter((c) => c.error).map((c) => `${c.label}: ${c.error}`).join('; ') || undefined
    const programs = [...new Set([...Object.keys(s.byProgram), ...Object.keys(l.byProgram)])].sort()
    const differ = programs.filter((p) => s.byProgram[p] !== l.byProgram[p]).map((p) => `${p} ${s.byProgram[p] ?? 0} → ${l.byProgram[p] ?? 0}`)
    const notes = []
    if (differ.length) notes.push(`differ: ${differ.join(', ')}`)
    if (JSON.stringify(s.others) !== JSON.stringify(l.others)) notes.push(`other users' netns, BPF programs and maps changed between the counts: ${Object.values(s.others ?? {}).join('/')} → ${Object.values(l.others ?? {}).join('/')}`)
    const note = notes.join('; ') || undefined
    this.add({text, kind: 'constant', subject: large, anchor: small, value: l.execs, against: s.execs, pass: !error && l.execs === s.execs, error, note})
  }

  get met() {
    return this.list.filter((b) => b.result === 'PASS').length
  }

  get missed() {
    return this.list.length - this.met
  }
}

/** One budget's cells: what nodeinspect measured, against what, the ratio, the limit. */
function budgetCells(b) {
  switch (b.kind) {
    case 'time':
      return [fmtS(b.value), fmtS(b.against), fmtX(b.ratio), `≤ ${fmtS(b.limit)}`]
    case 'absolute':
      return [fmtS(b.value), '', '', `≤ ${fmtS(b.limit)}`]
    case 'growth':
      return [`${fmtS(b.value)} (large)`, `${fmtS(b.against)} (small)`, fmtX(b.ratio), `≤ ${b.limit}×`]
    case 'rss':
      return [`${fmtMB(b.value)} (max)`, '', '', `≤ ${fmtMB(b.limit)}`]
    case 'constant':
      return [`${b.value} (large)`, `${b.against} (small)`, '', 'equal']
    default:
      return ['', '', '', '']
  }
}

const cell = (s) => String(s).replaceAll('|', '\\|').replaceAll('\n', ' ')

/** bench/RESULTS.md from the results. */
export function renderResults(r) {
  const m = r.machine
  const out = []
  out.push('# nodeinspect benchmark results', '')
  out.push(
    `Written by \`npm run bench\` (bench/run.mjs) from what it measured; do not edit by hand. Started ${r.startedAt}, took ${Math.round(r.durationS)} s; ` +
      `${r.options.rounds} rounds of every command${r.options.warmUp ? ' after one warm-up run' : ''}, the commands of each node run in turn (alternately, the order rotated every round). ` +
      `Raw numbers: results.json.${r.options.smoke ? ' **Smoke run at toy sizes: its figures mean nothing.**' : ''}` +
      `${r.options.only ? ` **Only start-up and ${r.options.only.join(', ')} were measured (\`--only\`): the other budgets are not here.**` : ''}`,
    '',
  )
  out.push('## Machine', '')
  out.push(`- CPU: ${m.cpu}, ${m.cores} cores; kernel ${m.kernel}; Node ${m.node}`)
  out.push(`- ${m.iptables}; ${m.iptablesLegacy}; ${m.nft}; ${m.bpftool}`)
  out.push(`- load average (1, 5, 15 min) at start: ${m.loadavgStart.join(', ')}; at end: ${m.loadavgEnd.join(', ')}. The machine is shared: other work running at the same time slows both sides of a ratio, not always equally.`)
  out.push(`- named network namespaces on the host at start (not the suite's): ${m.namedNetnsAtStart}`, '')
  out.push('## Nodes', '')
  out.push('| node | network namespace | what it holds | set up in |', '| --- | --- | --- | --- |')
  for (const n of r.nodes) out.push(`| ${cell(n.label)} | \`${n.netns ?? '—'}\` | ${cell(n.holds)} | ${fmtS(n.setupS)} |`)
  out.push('')
  out.push(`## Budgets (issue 10): ${r.summary.met} met, ${r.summary.missed} missed`, '')
  out.push('| # | budget | nodeinspect | against | ratio | limit | result |', '| --- | --- | --- | --- | --- | --- | --- |')
  r.budgets.forEach((b, i) => {
    out.push(`| ${i + 1} | ${cell(b.text)} | ${budgetCells(b).map(cell).join(' | ')} | ${b.result}${b.error ? ` (${cell(b.error)})` : ''}${b.note ? ` (${cell(b.note)})` : ''} |`)
  })
  out.push('')
  out.push('## Every command', '')
  out.push(`Wall time (median, min–max of ${r.options.rounds} rounds), the ratio of medians against the tool a user would run instead, peak RSS (median, max); the answer is from the first run.`, '')
  out.push('| node | command | median | min–max | against | peak RSS | answer |', '| --- | --- | --- | --- | --- | --- | --- |')
  for (const c of r.commands) {
    const w = stats(c.wallS)
    const k = stats(c.rssKB)
    const a = c.anchor && r.commands.find((x) => x.id === c.anchor)
    const am = a && stats(a.wallS)?.median
    const against = a ? `${fmtX(w && am ? w.median / am : undefined)} \`${cell(a.label)}\`` : ''
    const err = c.errors.length ? ` **${c.errors.length} failed**: ${c.errors[0]}` : ''
    out.push(`| ${cell(c.node)} | \`${cell(c.label)}\` | ${fmtS(w?.median)} | ${w ? `${fmtS(w.min)} – ${fmtS(w.max)}` : '—'} | ${against} | ${fmtMB(k?.median)} (${fmtMB(k?.max)}) | ${cell(c.answer ?? '')}${cell(err)} |`)
  }
  out.push('')
  out.push('## Processes spawned', '')
  out.push('Programs executed (successful execve, the command itself not counted), from one run of each under `strace -ff -e trace=execve`, apart from the timed runs. BPF programs and maps are not per netns: every node sees the host’s (other users’ labs included), and `trace` reads the Cilium maps it finds there.', '')
  out.push('| node | command | on the host: named netns, BPF programs, maps | processes | of which |', '| --- | --- | --- | --- | --- |')
  for (const c of r.counts) {
    const by = Object.entries(c.byProgram).map(([p, n]) => `${p} ${n}`).join(', ')
    out.push(`| ${cell(c.node)} | \`${cell(c.label)}\` | ${c.namedNetns}, ${c.bpfProgs}, ${c.bpfMaps} | ${c.execs}${c.error ? ` (failed: ${cell(c.error)})` : ''} | ${cell(by)} |`)
  }
  out.push('')
  return out.join('\n')
}
