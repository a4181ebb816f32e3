import type {HookAttachment, TcFilter, TcFilterInfo} from '../model/hooks.js'
import type {RawOutput, Source} from '../source/types.js'
import {num} from './bpftool-net.js'
import {jsonDepth, MAX_JSON_DEPTH, problem, rawJson} from './parsed.js'
import type {Parsed, ParseProblem} from '../model/warning.js'
import {parseToolJson} from './tool-json.js'
import type {TcFilterFacts} from '../model/hooks.js'

/**
 * Every device's tc filters in ONE process: `tc -j -force -batch -` reading `filter show dev X ingress|egress`
 * lines from stdin. The JSON has no device name, so answers are matched to commands by order; commands that
 * failed print nothing on stdout and `Command failed -:N` on stderr (checked on iproute2 6.1).
 */
const TC_BATCH_ARGV = ['tc', '-j', '-force', '-batch', '-'] as const
const PROBE = 'tc -j -force -batch - (filter show)'

export interface TcBatchCommand {
  devname: string
  direction: 'ingress' | 'egress'
}

/**
 * A device name as one word of a tc batch line, or undefined when no line can carry it. iproute2 (lib/utils.c)
 * getcmdline() cuts a line at the first '#', and makeargs() splits it on blanks, a word that starts with a quote
 * running to the next same quote; quotes and backslashes inside a word are plain characters (checked on 6.1).
 * The kernel forbids blanks in a name (dev_valid_name()) but not '#' or quotes.
 * @internal tested directly (a test seam)
 */
export function tcBatchWord(name: string): string | undefined {
  if (name === '' || name.includes('#') || /[ \t\r\n]/.test(name)) return undefined
  if (name[0] !== '"' && name[0] !== "'") return name
  if (!name.includes('"')) return `"${name}"`
  if (!name.includes("'")) return `'${name}'`
  return undefined
}

/** Devices whose name no batch line can carry are left out: the caller says so (collect/hooks-inputs.ts). */
export function buildTcFilterBatch(devnames: readonly string[]): {commands: TcBatchCommand[]; script: string} {
  const commands: TcBatchCommand[] = []
  const lines: string[] = []
  for (const d of devnames) {
    const word = tcBatchWord(d)
    if (word === undefined) continue
    for (const direction of ['ingress', 'egress'] as const) {
      commands.push({devname: d, direction})
      lines.push(`filter show dev ${word} ${direction}\n`)
    }
  }
  return {commands, script: lines.join('')}
}

export function collectTcFilters(src: Source, devnames: readonly string[]): Promise<RawOutput> | undefined {
  const {script, commands} = buildTcFilterBatch(devnames)
  if (commands.length === 0) return undefined
  return src.run({argv: TC_BATCH_ARGV, input: script, okExitCodes: [1], timeoutMs: 30_000})
}

/** Split a stream of concatenated JSON values (`[...]\n[...]`) without assuming one per line. @internal tested directly (a test seam) */
export function splitJsonValues(text: string): {values: string[]; trailing: string} {
  const values: string[] = []
  let depth = 0
  let start = -1
  let inStr = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inStr) {
      if (c === 92 /* \ */) i++
      else if (c === 34 /* " */) inStr = false
      continue
    }
    if (c === 34) inStr = true
    else if (c === 91 || c === 123) {
      if (depth === 0) start = i
      depth++
    } else if (c === 93 || c === 125) {
      depth--
      if (depth === 0 && start >= 0) {
        values.push(text.slice(start, i + 1))
        start = -1
      }
    }
  }
  return {values, trailing: depth !== 0 && start >= 0 ? text.slice(start) : ''}
}

/**
 * Each answer is a list holding, per filter, a chain/pref header `{"protocol":"all","pref":49152,"kind":"bpf","chain":0}`
 * and then the filter itself with `options`:
 * `{"protocol":"all","pref":1,"kind":"bpf","chain":0,"options":{"handle":"0x1","bpf_name":"bpf_lxc.o:[from-container]","direct-action":true,"not_in_hw":true,"prog":{"id":2901,"name":"handle_xgress","tag":"d578585f7e71464b","jited":1}}}`.
 */
export function parseTcFilterBatch(stdout: string, stderr: string, commands: readonly TcBatchCommand[]): Parsed<TcFilterFacts> {
  const facts: TcFilterFacts = {bpf: [], other: []}
  const problems: ParseProblem[] = []
  const failed = new Set<number>()
  for (const m of stderr.matchAll(/Command failed -:(\d+)/g)) failed.add(Number(m[1]))
  const answered = commands.filter((_, i) => !failed.has(i + 1))
  const {values, trailing} = splitJsonValues(stdout)
  if (trailing) problems.push(problem(PROBE, 'output ends inside a JSON value (truncated?)', undefined, trailing))
  if (values.length !== answered.length) {
    problems.push(problem(PROBE, `expected ${answered.length} answers for ${commands.length} commands (${failed.size} failed), got ${values.length}: cannot tell which device each belongs to`))
    return {facts, problems}
  }
  for (const f of failed) {
    const c = commands[f - 1]
    if (c) problems.push(problem(PROBE, `filter show dev ${c.devname} ${c.direction} failed (device gone?)`, f))
  }
  values.forEach((v, i) => {
    const cmd = answered[i]!
    let list: unknown
    try {
      list = parseToolJson(v)
    } catch (e) {
      problems.push(problem(PROBE, `answer for dev ${cmd.devname} ${cmd.direction} is not JSON: ${(e as Error).message}`, undefined, v))
      return
    }
    if (!Array.isArray(list)) return void problems.push(problem(PROBE, `answer for dev ${cmd.devname} is not a list`, undefined, v))
    if (jsonDepth(list) > MAX_JSON_DEPTH) return void problems.push(problem(PROBE, `answer for dev ${cmd.devname} is nested deeper than ${MAX_JSON_DEPTH} levels: corrupt`, undefined, v))
    for (const entry of list) addFilter(facts, problems, cmd, entry as Record<string, unknown>)
  })
  return {facts, problems}
}

function addFilter(facts: TcFilterFacts, problems: ParseProblem[], cmd: TcBatchCommand, e: Record<string, unknown>): void {
  if (typeof e !== 'object' || e === null || !('options' in e)) return // chain/pref header line
  const opts = (e.options ?? {}) as Record<string, unknown>
  const kind = typeof e.kind === 'string' ? e.kind : 'unknown'
  const pref = num(e.pref)
  const chain = num(e.chain)
  if (kind === 'bpf') {
    const prog = (opts.prog ?? {}) as Record<string, unknown>
    const id = num(prog.id)
    if (id === undefined) return void problems.push(problem(PROBE, `bpf filter on ${cmd.devname} ${cmd.direction} without a program id`, undefined, rawJson(e)))
    const tc: TcFilterInfo = {pref: pref ?? 0}
    if (typeof opts.handle === 'string') tc.handle = opts.handle
    if (chain !== undefined) tc.chain = chain
    if (typeof e.protocol === 'string') tc.protocol = e.protocol
    tc.directAction = opts['direct-action'] === true
    if (typeof opts.bpf_name === 'string') tc.bpfName = opts.bpf_name
    if (opts.not_in_hw === true) tc.notInHw = true
    if (prog.jited !== undefined) tc.jited = prog.jited === 1 || prog.jited === true
    const a: HookAttachment = {ifindex: 0, devname: cmd.devname, hook: cmd.direction === 'ingress' ? 'tc-ingress' : 'tc-egress', progId: id, tc, witnesses: ['tc-filter']}
    if (tc.bpfName) a.attachName = tc.bpfName
    facts.bpf.push(a)
    return
  }
  const f: TcFilter = {devname: cmd.devname, direction: cmd.direction, kind, options: opts}
  if (pref !== undefined) f.pref = pref
  if (chain !== undefined) f.chain = chain
  if (typeof opts.handle === 'string') f.handle = opts.handle
  if (typeof e.protocol === 'string') f.protocol = e.protocol
  facts.other.push(f)
}

const TEXT_RE = /^filter(?: parent \S+)? protocol (\S+) pref (\d+) (\S+)(?: chain (\d+))?(.*)$/

/**
 * Text form of `tc filter show dev X ingress`, as pasted in issues, e.g.
 * `filter protocol all pref 1 bpf chain 0 handle 0x1 bpf_lxc.o:[from-container] direct-action not_in_hw id 15843 tag a7a920f725fab0ef jited `
 * (old iproute2 prints no `chain` and no `id`: then the program id is unknown and only the tag identifies it).
 * @internal tested directly (a test seam)
 */
export function parseTcFilterText(text: string, devname: string, direction: 'ingress' | 'egress'): Parsed<{filters: Array<TcFilterInfo & {kind: string; progId?: number; tag?: string}>}> {
  const filters: Array<TcFilterInfo & {kind: string; progId?: number; tag?: string}> = []
  const problems: ParseProblem[] = []
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim()
    if (line === '') return
    const m = TEXT_RE.exec(line)
    if (!m) return void problems.push(problem(`tc filter show dev ${devname} ${direction}`, 'unrecognised line', i + 1, raw))
    const rest = m[5]!.trim()
    if (rest === '') return // chain/pref header
    const f: TcFilterInfo & {kind: string; progId?: number; tag?: string} = {kind: m[3]!, pref: Number(m[2]), protocol: m[1]!}
    if (m[4] !== undefined) f.chain = Number(m[4])
    const tok = rest.split(/\s+/)
    for (let j = 0; j < tok.length; j++) {
      const t = tok[j]!
      if (t === 'handle') f.handle = tok[++j]
      else if (t === 'direct-action') f.directAction = true
      else if (t === 'not_in_hw') f.notInHw = true
      else if (t === 'id') f.progId = Number(tok[++j])
      else if (t === 'tag') f.tag = tok[++j]
      else if (t === 'jited') f.jited = true
      else if (f.kind === 'bpf' && f.bpfName === undefined && /\S/.test(t) && j > 0 && tok[j - 1] !== 'handle') f.bpfName = t
    }
    if (f.kind === 'bpf' && f.directAction === undefined) f.directAction = false
    filters.push(f)
  })
  return {facts: {filters}, problems}
}
