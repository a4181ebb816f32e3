import type {BpfProgram} from '../model/hooks.js'
import {asArray, num} from './bpftool-net.js'
import {parseJson, problem, rawJson} from './parsed.js'
import type {Parsed, ParseProblem} from '../model/warning.js'
import {probe} from './descriptor.js'

/** `bpftool -j prog show`: every loaded program, once, however many devices a node has. */
export const BPFTOOL_PROG_ARGV = ['bpftool', '-j', 'prog', 'show'] as const
const PROBE = 'bpftool -j prog show'

export const bpftoolProgProbe = probe({argv: BPFTOOL_PROG_ARGV}, (t) => parseBpftoolProgJson(t), [] as BpfProgram[])

/**
 * bpftool prints loaded_at as epoch seconds in JSON. A Date holds ±8.64e15 ms (ECMA-262 TimeClip) and
 * toISOString() throws RangeError outside it: a corrupt or edited value (1e20) is undefined, reported as a problem.
 */
function isoFromEpoch(s: number): string | undefined {
  const d = new Date(s * 1000)
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString().replace('.000Z', 'Z')
}

/** "2023-12-05T07:09:11+0000" (text form) → "2023-12-05T07:09:11Z". */
function isoFromText(s: string): string | undefined {
  const d = new Date(s.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'))
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString().replace('.000Z', 'Z')
}

/** e.g. `{"id":100,"type":"sched_cls","name":"handle_xgress","tag":"4ad0feeb9534414b","gpl_compatible":true,"loaded_at":1795367684,"uid":0,"bytes_xlated":200,"jited":true,"bytes_jited":125,"bytes_memlock":4096,"map_ids":[25],"btf_id":22}` */
export function parseBpftoolProgJson(text: string): Parsed<BpfProgram[]> {
  const {value, problem: p} = parseJson(PROBE, text)
  if (p) return {facts: [], problems: [p]}
  const problems: ParseProblem[] = []
  const facts: BpfProgram[] = []
  if (!Array.isArray(value)) {
    const err = (value as {error?: unknown} | null)?.error
    return {facts, problems: [problem(PROBE, typeof err === 'string' ? `bpftool error: ${err}` : 'expected a list of programs')]}
  }
  for (const v of value) {
    const e = (v ?? {}) as Record<string, unknown>
    const id = num(e.id)
    if (id === undefined || typeof e.type !== 'string') {
      problems.push(problem(PROBE, 'program entry lacks id or type', undefined, rawJson(v)))
      continue
    }
    const prog: BpfProgram = {id, type: e.type, mapIds: asArray(e.map_ids).flatMap((m) => (num(m) === undefined ? [] : [num(m)!]))}
    if (typeof e.name === 'string') prog.name = e.name
    if (typeof e.tag === 'string') prog.tag = e.tag
    if (typeof e.gpl_compatible === 'boolean') prog.gplCompatible = e.gpl_compatible
    if (num(e.loaded_at) !== undefined) {
      const iso = isoFromEpoch(num(e.loaded_at)!)
      if (iso) prog.loadedAt = iso
      else problems.push(problem(PROBE, `program ${id}: loaded_at ${num(e.loaded_at)} is not a time (epoch seconds beyond what a date can hold)`))
    }
    if (num(e.uid) !== undefined) prog.uid = num(e.uid)
    if (num(e.bytes_xlated) !== undefined) prog.bytesXlated = num(e.bytes_xlated)
    if (num(e.bytes_jited) !== undefined) prog.bytesJited = num(e.bytes_jited)
    if (num(e.bytes_memlock) !== undefined) prog.bytesMemlock = num(e.bytes_memlock)
    if (num(e.btf_id) !== undefined) prog.btfId = num(e.btf_id)
    facts.push(prog)
  }
  return {facts, problems}
}

const HEAD_RE = /^(\d+): (\S+)(.*)$/

/**
 * Text form, e.g.
 * `2490: sched_cls  name cil_from_container  tag 2547a15a9196a2d0  gpl` / `        loaded_at 2023-12-05T07:09:11+0000  uid 0` /
 * `        xlated 696B  jited 532B  memlock 4096B  map_ids 1161,53` / `        btf_id 1551`.
 * Continuation lines are indented (tab, 8 spaces or 1 space, depending on who copied them).
 * @internal tested directly (a test seam)
 */
export function parseBpftoolProgText(text: string): Parsed<BpfProgram[]> {
  const facts: BpfProgram[] = []
  const problems: ParseProblem[] = []
  let cur: BpfProgram | undefined
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trimEnd()
    if (line.trim() === '') return
    const head = HEAD_RE.exec(line)
    if (head) {
      cur = {id: Number(head[1]), type: head[2]!, mapIds: []}
      facts.push(cur)
      applyFields(cur, head[3]!)
      return
    }
    if (!/^\s/.test(line) || !cur) {
      problems.push(problem(PROBE, line.trim() === '...' ? 'elided output ("...")' : 'unrecognised line', i + 1, raw))
      return
    }
    applyFields(cur, line)
  })
  return {facts, problems}
}

function applyFields(p: BpfProgram, rest: string): void {
  const t = rest.trim().split(/\s+/)
  for (let i = 0; i < t.length; i++) {
    const k = t[i]!
    const v = t[i + 1]
    switch (k) {
      case 'name':
        if (v) p.name = v
        i++
        break
      case 'tag':
        if (v) p.tag = v
        i++
        break
      case 'gpl':
        p.gplCompatible = true
        break
      case 'loaded_at': {
        const iso = v ? isoFromText(v) : undefined
        if (iso) p.loadedAt = iso
        i++
        break
      }
      case 'uid':
        p.uid = Number(v)
        i++
        break
      case 'xlated':
        p.bytesXlated = parseInt(v ?? '', 10)
        i++
        break
      case 'jited':
        if (v && /^\d+B$/.test(v)) {
          p.bytesJited = parseInt(v, 10)
          i++
        }
        break
      case 'memlock':
        p.bytesMemlock = parseInt(v ?? '', 10)
        i++
        break
      case 'map_ids':
        p.mapIds = (v ?? '').split(',').filter(Boolean).map(Number)
        i++
        break
      case 'btf_id':
        p.btfId = Number(v)
        i++
        break
      default:
        break
    }
  }
}
