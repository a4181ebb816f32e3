import {Box, Text, renderToString} from 'ink'
import type {TraceReport} from '../analyses/path/trace.js'
import {hex} from '../model/mark.js'
import {endsThePacket, type PathStep, type Tuple} from '../model/path.js'
import {printableReport} from '../util/printable.js'

const tupleText = (t: Tuple) => `${t.proto} ${t.src}${t.sport ? `:${t.sport}` : ''} → ${t.dst}${t.dport ? `:${t.dport}` : ''}`

function Step({s, prev}: {s: PathStep; prev?: PathStep}) {
  const where = [s.where.inPod ? `pod ${s.where.inPod}` : undefined, s.where.device, s.where.hook].filter(Boolean).join(' · ')
  const changed = !prev || tupleText(prev.tuple) !== tupleText(s.tuple) || prev.mark !== s.mark || prev.markUnknown !== s.markUnknown || JSON.stringify(prev.outer) !== JSON.stringify(s.outer)
  const lines: string[] = []
  for (const d of s.details) lines.push(d)
  for (const r of s.rules ?? []) lines.push(`rule ${r.table}/${r.chain} #${r.position}: ${r.raw}  → ${r.action}`)
  for (const b of s.branches ?? []) lines.push(`branch: ${b}`)
  if (changed) lines.push(`packet now: ${tupleText(s.tuple)}${s.outer ? `  in ${tupleText(s.outer)}${s.outer.vni !== undefined ? ` vni ${s.outer.vni}` : ''}` : ''}  mark ${hex(s.mark)}${s.markUnknown ? ` (bits ${hex(s.markUnknown)} unknown)` : ''}`)
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

function Trace({r}: {r: TraceReport}) {
  const f = r.flow
  const groups: Array<{node: string; steps: PathStep[]}> = []
  for (const s of r.steps) {
    const g = groups[groups.length - 1]
    if (g && g.node === s.node) g.steps.push(s)
    else groups.push({node: s.node, steps: [s]})
  }
  return (
    <Box flexDirection="column">
      <Text bold>{`trace ${f.proto} ${f.src}${f.sport ? `:${f.sport}` : ''} → ${f.dst}${f.dport ? `:${f.dport}` : ''}  mark ${hex(f.mark)}`}</Text>
      {r.nodes.map((n) => (
        <Text key={n.label} dimColor>{`node ${n.label}${n.hostname && n.hostname !== n.label ? ` (${n.hostname})` : ''}${n.kernel ? ` · kernel ${n.kernel}` : ''} · ${n.source === 'snapshot' ? `snapshot ${n.snapshotFile ?? ''}` : 'live'}`}</Text>
      ))}
      {groups.map((g, i) => (
        <Box key={i} flexDirection="column" marginTop={1}>
          <Text bold underline>{g.node}</Text>
          {g.steps.map((s) => (
            <Step key={s.n} s={s} prev={r.steps[s.n - 2]} />
          ))}
        </Box>
      ))}
      <Box marginTop={1}>
        <Text bold color={r.outcome.kind === 'delivered' ? 'green' : r.outcome.kind === 'dropped' || r.outcome.kind === 'black-hole' ? 'red' : 'yellow'}>{`outcome: ${r.outcome.kind}${r.outcome.step ? ` (step ${r.outcome.step})` : ''}: ${r.outcome.text}`}</Text>
      </Box>
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
