import {Box, renderToString, Text} from './ink-core.js'
import type {TraceReport} from '../analyses/path/trace.js'
import {hex} from '../model/mark.js'
import {endsThePacket, type PathStep, type TraceOutcome, type Tuple} from '../model/path.js'
import {printableReport} from '../util/printable.js'

const tupleText = (t: Tuple) => `${t.proto} ${t.src}${t.sport ? `:${t.sport}` : ''} → ${t.dst}${t.dport ? `:${t.dport}` : ''}`

/** The packet's conntrack entry, when one is attached: `  ct NEW zone 0 ctmark 0x0 dnat`. */
const ctText = (s: PathStep) => (s.ct ? `  ct ${s.ct.state}${s.ct.zone ? ` zone ${s.ct.zone}` : ''}${s.ct.mark ? ` ctmark ${hex(s.ct.mark)}` : ''}${s.ct.nat?.dnat ? ' dnat' : ''}${s.ct.nat?.snat ? ' snat' : ''}` : '')

function Step({s, prev}: {s: PathStep; prev?: PathStep}) {
  const where = [s.where.inPod ? `pod ${s.where.inPod}` : undefined, s.where.device, s.where.hook].filter(Boolean).join(' · ')
  const changed = !prev || tupleText(prev.tuple) !== tupleText(s.tuple) || prev.mark !== s.mark || prev.markUnknown !== s.markUnknown || JSON.stringify(prev.outer) !== JSON.stringify(s.outer) || ctText(prev) !== ctText(s)
  const lines: string[] = []
  for (const d of s.details) lines.push(d)
  for (const t of s.tables ?? []) lines.push(`${t.engine === 'nft' ? 'nft ' : ''}${t.table}/${t.chain} (priority ${t.priority}): ${t.verdict}${t.decidedBy ? ` — ${t.decidedBy}` : ''}`)
  for (const r of s.rules ?? []) lines.push(`rule ${r.table}/${r.chain} #${r.position}: ${r.raw}  → ${r.action}`)
  for (const b of s.branches ?? []) lines.push(`branch: ${b}`)
  if (changed) lines.push(`packet now: ${tupleText(s.tuple)}${s.outer ? `  in ${tupleText(s.outer)}${s.outer.vni !== undefined ? ` vni ${s.outer.vni}` : ''}` : ''}  mark ${hex(s.mark)}${s.markUnknown ? ` (bits ${hex(s.markUnknown)} unknown)` : ''}${ctText(s)}`)
  return (
    <Box flexDirection="column">
      <Box>
        <Box width={5} flexShrink={0}>
          <Text bold>{`${String(s.n).padStart(3)}.`}</Text>
        </Box>
        <Box flexGrow={1}>
          <Text>
            <Text dimColor>{where ? `${where}  ` : ''}</Text>
            <Text>{s.what}</Text>
            <Text>{'  ⇒ '}</Text>
            <Text bold color={endsThePacket(s.verdictKind) ? 'red' : undefined}>{s.verdict}</Text>
            <Text dimColor>{`  [${s.evidence}]`}</Text>
          </Text>
        </Box>
      </Box>
      {lines.map((l, i) => (
        <Box key={i} paddingLeft={5}>
          <Box width={3} flexShrink={0}>
            <Text dimColor>{i === lines.length - 1 ? '└─' : '├─'}</Text>
          </Box>
          <Text>{l}</Text>
        </Box>
      ))}
    </Box>
  )
}

/** A netfilter hook where no rule decided or changed anything and nothing was assumed: it may fold with its neighbours. */
function passesQuietly(s: PathStep, prev: PathStep | undefined): boolean {
  const same = prev !== undefined && tupleText(prev.tuple) === tupleText(s.tuple) && prev.mark === s.mark && JSON.stringify(prev.outer) === JSON.stringify(s.outer) && ctText(prev) === ctText(s)
  const noRule = (s.rules ?? []).every((x) => /^(jump|goto) |^RETURN$/.test(x.action)) && (s.tables ?? []).every((t) => t.decidedBy === undefined && /^ACCEPT/.test(t.verdict))
  return s.kind === 'netfilter' && s.verdictKind === 'accept' && s.details.length === 0 && same && noRule
}

/** A run of quiet hooks as one line: `4–6. netfilter output (eth0) · postrouting (eth0)  no rule decided  ⇒ ACCEPT`. */
function QuietHooks({steps}: {steps: PathStep[]}) {
  const first = steps[0]!
  const last = steps[steps.length - 1]!
  const label = steps.length > 1 ? `${String(first.n).padStart(3)}–${last.n}.` : `${String(first.n).padStart(3)}.`
  const hooks = steps.map((s) => `${(s.where.hook ?? '').replace(/^netfilter /, '')}${s.where.device ? ` (${s.where.device})` : ''}`).join(' · ')
  return (
    <Box>
      <Box width={Math.max(5, label.length + 1)} flexShrink={0}>
        <Text bold>{label}</Text>
      </Box>
      <Box flexGrow={1}>
        <Text>
          <Text dimColor>{`netfilter ${hooks}  `}</Text>
          <Text>{'no rule decided'}</Text>
          <Text>{'  ⇒ '}</Text>
          <Text bold>{'ACCEPT'}</Text>
          <Text dimColor>{'  [rule]'}</Text>
        </Text>
      </Box>
    </Box>
  )
}

type Row = {kind: 'step'; s: PathStep} | {kind: 'quiet'; steps: PathStep[]}

function rowsOf(steps: PathStep[], all: PathStep[]): Row[] {
  const rows: Row[] = []
  for (const s of steps) {
    const last = rows[rows.length - 1]
    if (passesQuietly(s, all[s.n - 2])) {
      if (last?.kind === 'quiet') last.steps.push(s)
      else rows.push({kind: 'quiet', steps: [s]})
    } else rows.push({kind: 'step', s})
  }
  return rows
}

function groupsOf(steps: PathStep[]): Array<{node: string; steps: PathStep[]}> {
  const groups: Array<{node: string; steps: PathStep[]}> = []
  for (const s of steps) {
    const g = groups[groups.length - 1]
    if (g && g.node === s.node) g.steps.push(s)
    else groups.push({node: s.node, steps: [s]})
  }
  return groups
}

const outcomeColour = (o: TraceOutcome) => (o.kind === 'delivered' || o.kind === 'local' ? 'green' : o.kind === 'dropped' || o.kind === 'black-hole' ? 'red' : 'yellow')

/** One direction's steps, grouped by node, and its outcome. */
function Path({steps, outcome, label}: {steps: PathStep[]; outcome: TraceOutcome; label: string}) {
  return (
    <>
      {groupsOf(steps).map((g, i) => (
        <Box key={i} flexDirection="column" marginTop={1}>
          <Text bold underline>{g.node}</Text>
          {rowsOf(g.steps, steps).map((row) => (row.kind === 'step' ? <Step key={row.s.n} s={row.s} prev={steps[row.s.n - 2]} /> : <QuietHooks key={row.steps[0]!.n} steps={row.steps} />))}
        </Box>
      ))}
      <Box marginTop={1}>
        <Text bold color={outcomeColour(outcome)}>{`${label}: ${outcome.kind}${outcome.step ? ` (step ${outcome.step})` : ''}: ${outcome.text}`}</Text>
      </Box>
    </>
  )
}

/** A folder of snapshots: how many were read, and that only the nodes the path crossed are listed. */
function snapshotsLine(s: NonNullable<TraceReport['snapshots']>): string {
  const crossed = s.read.filter((x) => x.crossed).length
  return `${s.read.length} snapshot${s.read.length === 1 ? '' : 's'} read (${s.directories.join(', ')}); the path crosses ${crossed} of their nodes:`
}

function Trace({r}: {r: TraceReport}) {
  const f = r.flow
  const back = r.reply?.flow
  return (
    <Box flexDirection="column">
      <Text bold>{`trace ${f.proto} ${f.src}${f.sport ? `:${f.sport}` : ''} → ${f.dst}${f.dport ? `:${f.dport}` : ''}  mark ${hex(f.mark)}`}</Text>
      {r.snapshots && <Text dimColor>{snapshotsLine(r.snapshots)}</Text>}
      {r.nodes.filter((n) => !r.snapshots || r.snapshots.read.some((s) => s.crossed && s.node === n.label)).map((n) => (
        <Text key={n.label} dimColor>{`node ${n.label}${n.hostname && n.hostname !== n.label ? ` (${n.hostname})` : ''}${n.kernel ? ` · kernel ${n.kernel}` : ''} · ${n.source === 'snapshot' ? `snapshot ${n.snapshotFile ?? ''}` : 'live'}`}</Text>
      ))}
      <Path steps={r.steps} outcome={r.outcome} label="outcome" />
      {r.reply && (
        <Box flexDirection="column" marginTop={1}>
          <Text bold>{`reply${back ? ` ${back.proto} ${back.src}${back.sport ? `:${back.sport}` : ''} → ${back.dst}${back.dport ? `:${back.dport}` : ''}` : ''} (conntrack ESTABLISHED, NAT undone)`}</Text>
          <Path steps={r.reply.steps} outcome={r.reply.outcome} label="reply" />
        </Box>
      )}
      {r.unseen.length > 0 && (
        <Box flexDirection="column">
          <Text bold>not seen on this path:</Text>
          {r.unseen.map((u, i) => (
            <Text key={i}>{`  - ${u}`}</Text>
          ))}
        </Box>
      )}
      {r.warnings.map((w, i) => (
        <Text key={`w${i}`} color="yellow">{`warning: ${w.message}`}</Text>
      ))}
    </Box>
  )
}

/**
 * The path as a numbered tree, grouped by node; one string, identical in a terminal, a pipe and CI.
 * Rules, device and node names come from the node or a snapshot: every string is made printable first.
 */
export function renderTraceTree(r: TraceReport, columns = 120): string {
  return renderToString(<Trace r={printableReport(r)} />, {columns})
}
