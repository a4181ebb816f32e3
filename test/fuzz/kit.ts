// The fuzz suite's machinery: how many cases, which seed, the mutations applied to real captures, and the
// properties every parser must keep (never throw, answer fast, problems that point inside the input).
//
// FUZZ_RUNS sets the cases per parser (default 100: the whole suite stays within ~20 s in `npm test`;
// `npm run fuzz` sets 10000). FUZZ_SEED fixes the seed; without it one is drawn and printed with any failure,
// so `FUZZ_SEED=<n> npx vitest run test/fuzz -t '<parser>'` replays it. FUZZ_LOG=<file> logs each property's result.
import {appendFileSync} from 'node:fs'
import fc from 'fast-check'
import {expect} from 'vitest'
import type {Parsed} from '../../src/model/warning.js'

export const RUNS = Number(process.env.FUZZ_RUNS ?? 100)
/** The long mode (npm run fuzz) also draws the biggest inputs: longer tokens, deeper nesting, every seed whatever its size. */
export const LONG_MODE = RUNS >= 1000
/** Longest run of one token inserted (default mode: enough to show a quadratic parser past the time limit). */
const MAX_TOKEN = LONG_MODE ? 100_000 : 20_000
/** Deepest nesting inserted: JSON.stringify and String() overflow the stack a few thousand levels down. */
const MAX_DEPTH = LONG_MODE ? 50_000 : 12_000
/** Seeds larger than this are left to the long mode (one is 340 kB: parsing it 100 times is most of a default run). */
export const MAX_SEED = LONG_MODE ? Infinity : 100_000
export const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 0x7fffffff)
/** A parser that needs more than this for one input is as good as hung on a node with a big ruleset. */
export const LIMIT_MS = 1000
/** vitest's own per-test timeout: generous in the long mode (a sync property cannot be interrupted anyway). */
export const TEST_TIMEOUT = RUNS > 1000 ? 3_600_000 : 120_000

/** Run a property with the suite's seed and run count; a failure names the seed to replay it. */
export function check<T>(arb: fc.Arbitrary<T>, predicate: (v: T) => void, runs = RUNS): void {
  const t0 = performance.now()
  const r = fc.check(fc.property(arb, predicate), {seed: SEED, numRuns: runs})
  log(r, t0)
  if (r.failed) throw failure(r)
}

/**
 * FUZZ_LOG=<file>: one line per property as it ends (name, cases run, seconds, passed or the error), so a long run
 * stopped half-way still tells what it covered.
 */
function log<T>(r: fc.RunDetails<T>, t0: number): void {
  const file = process.env.FUZZ_LOG
  if (!file) return
  const err = r.errorInstance instanceof Error ? r.errorInstance.message.split('\n')[0] : ''
  const name = expect.getState().currentTestName ?? '?'
  const cx = r.failed ? `\t${fc.stringify(r.counterexample).slice(0, 600)}` : ''
  appendFileSync(file, `${name}\t${r.numRuns} cases\t${((performance.now() - t0) / 1000).toFixed(1)} s\t${r.failed ? `FAILED: ${err}` : 'passed'}\tseed ${SEED}${cx}\n`)
}

function failure<T>(r: fc.RunDetails<T>): Error {
  const e = r.errorInstance
  // The stack without repeats (a stack overflow is thousands of the same frame) and without fast-check's frames.
  const why = e instanceof Error ? [...new Set((e.stack ?? e.message).split('\n'))].filter((l) => !l.includes('node_modules')).slice(0, 10).join('\n') : String(e)
  return new Error(`${fc.defaultReportMessage(r)}\n${why}\nreplay with FUZZ_SEED=${SEED}`)
}

export async function checkAsync<T>(arb: fc.Arbitrary<T>, predicate: (v: T) => Promise<void>, runs = RUNS): Promise<void> {
  const t0 = performance.now()
  const r = await fc.check(fc.asyncProperty(arb, predicate), {seed: SEED, numRuns: runs})
  log(r, t0)
  if (r.failed) throw failure(r)
}

/**
 * Time spent on `fn`: the smaller of wall-clock and this process's CPU time, so a machine shared with other jobs
 * (wall time stretched) or the GC's helper threads (CPU time inflated) do not make a fast parser look slow, while a
 * slow one is slow by both.
 */
function spent(wall0: number, cpu0: NodeJS.CpuUsage): number {
  const cpu = process.cpuUsage(cpu0)
  return Math.min(performance.now() - wall0, (cpu.user + cpu.system) / 1000)
}

/** Call `fn`, failing when it took longer than `limit` ms (a sync parser cannot be stopped, only measured). */
export function timed<R>(fn: () => R, limit = LIMIT_MS): R {
  const wall0 = performance.now()
  const cpu0 = process.cpuUsage()
  const r = fn()
  const ms = spent(wall0, cpu0)
  if (ms > limit) throw new Error(`took ${ms.toFixed(0)} ms (limit ${limit} ms)`)
  return r
}

export async function timedAsync<R>(fn: () => Promise<R>, limit: number): Promise<R> {
  const wall0 = performance.now()
  const cpu0 = process.cpuUsage()
  const r = await fn()
  const ms = spent(wall0, cpu0)
  if (ms > limit) throw new Error(`took ${ms.toFixed(0)} ms (limit ${limit} ms)`)
  return r
}

export type FactsShape = 'array' | 'map' | 'object'

/**
 * The structural promises of Parsed<T>: facts of the declared shape, problems that carry a probe and a message,
 * a line number (when given) inside the input, raw text cut to 200 characters; and the facts serialise (--json).
 */
export function expectParsed(p: Parsed<unknown>, input: string, shape: FactsShape): void {
  if (shape === 'array') expect(Array.isArray(p.facts)).toBe(true)
  else if (shape === 'map') expect(p.facts).toBeInstanceOf(Map)
  else expect(typeof p.facts === 'object' && p.facts !== null && !Array.isArray(p.facts)).toBe(true)
  expectProblems(p.problems, input)
  try {
    JSON.stringify(p.facts instanceof Map ? [...p.facts] : p.facts)
  } catch (e) {
    // Facts may keep a value of the input as it is (nft set elements): as deep as the input, too deep for
    // JSON.stringify's recursion. Only a value JSON cannot write at all (a cycle, a BigInt) fails here; the
    // commands' own JSON is checked from snapshots (snapshot.test.ts).
    if (!(e instanceof RangeError)) throw e
  }
}

export function expectProblems(problems: unknown, input: string): void {
  expect(Array.isArray(problems)).toBe(true)
  const lines = input.split('\n').length
  for (const q of problems as Array<Record<string, unknown>>) {
    expect(typeof q.probe).toBe('string')
    expect(typeof q.message).toBe('string')
    if (q.line !== undefined) {
      expect(Number.isInteger(q.line)).toBe(true)
      expect(q.line as number).toBeGreaterThanOrEqual(1)
      expect(q.line as number).toBeLessThanOrEqual(lines)
    }
    if (q.raw !== undefined) expect((q.raw as string).length).toBeLessThanOrEqual(201)
  }
}

// ---- mutations of real captures ---------------------------------------------------------------------------------
// A case is the seed's index plus a list of operations (not the mutated text), so a failure prints small.
// Positions are drawn as plain naturals and taken modulo the text's length, so they shrink well on any seed.

export type Op =
  | {k: 'flip'; at: number; bit: number}
  | {k: 'cut'; at: number}
  | {k: 'dupLine'; line: number}
  | {k: 'delLine'; line: number}
  | {k: 'swapLines'; a: number; b: number}
  | {k: 'insert'; at: number; s: string}
  | {k: 'token'; at: number; s: string}
  | {k: 'repeat'; at: number; len: number; times: number}

const CONTROL = fc.integer({min: 0, max: 0x1f}).map((c) => String.fromCharCode(c))
const SPECIALS = fc.constantFrom('\0', '\x1b', '\x1b[31m', '\x1b]0;x\x07', '\r', '\r\n', '\t', '\x7f', '\u0085', '\u2028', '\ufeff', '\ud800', '\udc00', '\u{1F600}', '\u202e', 'é', '\n', ' ', '"', "'", '\\', '{', '}', '[', ']', ',', ':', '/', '#', '*', '-', '=', '@', '(', ')', '<', '>', '|')
/** Numbers and number-like tokens at the edges of every width the parsers convert to. */
export const HUGE_NUMBERS = fc.constantFrom(
  '99999999999999999999999999',
  '-1',
  '-0',
  '1e308',
  '1e309',
  '1e-400',
  '4294967295',
  '4294967296',
  '18446744073709551616',
  '0xffffffffffffffffffff',
  '0x100000000',
  '0xffffffff',
  '0x',
  'NaN',
  'Infinity',
  '2147483648',
  '-2147483649',
  '9007199254740993',
  '0',
  '00',
  '0/0',
  '/0xffffffff',
  '0x0/0x0',
  '65536',
  '256',
  '1.5',
  '0b101',
  '1_000',
)
/** Long runs of one token: quadratic regexes and per-character loops show up here. */
const LONG_TOKENS = fc.tuple(fc.constantFrom('a', '0', '9', ' ', '\t', 'x ', '0x', '/', ':', '.', '-', ',', 'ab', '{', '[', '"', '\\', 'fwmark ', 'dev '), fc.integer({min: 500, max: MAX_TOKEN})).map(([c, n]) => c.repeat(n))
/** Nesting deep enough to overflow a recursive walker. */
const DEEP = fc.tuple(fc.constantFrom('[', '{"a":', '{"expr":[', '{"match":{"left":'), fc.integer({min: 100, max: MAX_DEPTH}), fc.boolean()).map(([open, n, closed]) => {
  const close = open === '[' ? ']' : open === '{"a":' ? '}' : open === '{"expr":[' ? ']}' : '}}'
  return open.repeat(n) + (closed ? `1${close.repeat(n)}` : '')
})
const UNICODE = fc.oneof(fc.string({unit: 'grapheme', maxLength: 12}), fc.string({unit: 'binary', maxLength: 12}))

/** What gets inserted or put in place of a token. */
export const NASTY = fc.oneof(
  {arbitrary: SPECIALS, weight: 4},
  {arbitrary: CONTROL, weight: 2},
  {arbitrary: HUGE_NUMBERS, weight: 3},
  {arbitrary: UNICODE, weight: 2},
  {arbitrary: LONG_TOKENS, weight: 1},
  {arbitrary: DEEP, weight: 1},
)

const pos = fc.nat()
export const OP: fc.Arbitrary<Op> = fc.oneof(
  fc.record({k: fc.constant('flip' as const), at: pos, bit: fc.integer({min: 0, max: 7})}),
  fc.record({k: fc.constant('cut' as const), at: pos}),
  fc.record({k: fc.constant('dupLine' as const), line: pos}),
  fc.record({k: fc.constant('delLine' as const), line: pos}),
  fc.record({k: fc.constant('swapLines' as const), a: pos, b: pos}),
  fc.record({k: fc.constant('insert' as const), at: pos, s: NASTY}),
  fc.record({k: fc.constant('token' as const), at: pos, s: NASTY}),
  fc.record({k: fc.constant('repeat' as const), at: pos, len: fc.integer({min: 1, max: 400}), times: fc.integer({min: 2, max: LONG_MODE ? 300 : 100})}),
)

export const OPS = fc.array(OP, {minLength: 1, maxLength: 4})

export function applyOp(text: string, op: Op): string {
  const at = (n: number, len: number) => (len === 0 ? 0 : n % (len + 1))
  switch (op.k) {
    case 'flip': {
      // On the UTF-8 bytes, decoded back as a node's tool output is (invalid sequences become U+FFFD).
      const b = Buffer.from(text, 'utf8')
      if (b.length === 0) return text
      const i = op.at % b.length
      b[i] = b[i]! ^ (1 << op.bit)
      return b.toString('utf8')
    }
    case 'cut':
      return text.slice(0, at(op.at, text.length))
    case 'dupLine':
    case 'delLine': {
      const lines = text.split('\n')
      const i = op.line % lines.length
      if (op.k === 'dupLine') lines.splice(i, 0, lines[i]!)
      else lines.splice(i, 1)
      return lines.join('\n')
    }
    case 'swapLines': {
      const lines = text.split('\n')
      const a = op.a % lines.length
      const b = op.b % lines.length
      ;[lines[a], lines[b]] = [lines[b]!, lines[a]!]
      return lines.join('\n')
    }
    case 'insert': {
      const i = at(op.at, text.length)
      return text.slice(0, i) + op.s + text.slice(i)
    }
    case 'token': {
      // The whitespace-delimited token around the position (or the nearest JSON scalar-ish run).
      const i = at(op.at, text.length)
      let s = i
      let e = i
      while (s > 0 && !/[\s,:[\]{}]/.test(text[s - 1]!)) s--
      while (e < text.length && !/[\s,:[\]{}]/.test(text[e]!)) e++
      return text.slice(0, s) + op.s + text.slice(e)
    }
    case 'repeat': {
      const i = at(op.at, text.length)
      const chunk = text.slice(i, i + op.len)
      return text.slice(0, i) + chunk.repeat(op.times) + text.slice(i)
    }
  }
}

export const applyOps = (text: string, ops: readonly Op[]): string => ops.reduce(applyOp, text)

export interface Seed {
  name: string
  text: string
}

/** A mutated capture: which seed, and the operations applied to it. */
export interface TextCase {
  seed: number
  ops: Op[]
}

export function textCases(seeds: readonly Seed[]): fc.Arbitrary<TextCase> {
  if (seeds.length === 0) throw new Error('no seeds')
  return fc.record({seed: fc.nat({max: seeds.length - 1}), ops: fc.oneof({arbitrary: fc.constant([] as Op[]), weight: 1}, {arbitrary: OPS, weight: 12})})
}

export const textOf = (seeds: readonly Seed[], c: TextCase): string => applyOps(seeds[c.seed]!.text, c.ops)

// ---- JSON: structural edits of JSON captures, and documents built from the parser's own vocabulary ----------------

export type JsonEdit = {path: number[]; act: 'set'; v: unknown} | {path: number[]; act: 'del'} | {path: number[]; act: 'wrap'; depth: number} | {path: number[]; act: 'dup'}

/** Values of every JSON type, and the corner cases parsers mistake for numbers or strings. */
export const WRONG: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1e308, -1e308, 4294967296, 2 ** 53 + 2, 0.5, '', '0', '0x1', '-1', 'x', [], {}, [null], [[]], {'': null}),
  HUGE_NUMBERS,
  UNICODE,
  fc.integer(),
  fc.double({noNaN: true}),
  fc.jsonValue({maxDepth: 3}),
  LONG_TOKENS,
)

export const JSON_EDITS = fc.array(
  fc.oneof(
    fc.record({path: fc.array(fc.nat(), {maxLength: 8}), act: fc.constant('set' as const), v: WRONG}),
    fc.record({path: fc.array(fc.nat(), {maxLength: 8}), act: fc.constant('del' as const)}),
    fc.record({path: fc.array(fc.nat(), {maxLength: 8}), act: fc.constant('wrap' as const), depth: fc.integer({min: 1, max: MAX_DEPTH})}),
    fc.record({path: fc.array(fc.nat(), {maxLength: 8}), act: fc.constant('dup' as const)}),
  ),
  {minLength: 1, maxLength: 5},
)

function editAt(v: unknown, path: readonly number[], e: JsonEdit): unknown {
  const container = Array.isArray(v) ? v : v !== null && typeof v === 'object' ? v : undefined
  const keys = container ? Object.keys(container) : []
  if (path.length === 0 || !container || keys.length === 0) {
    switch (e.act) {
      case 'set':
        return e.v
      case 'del':
        return undefined
      case 'wrap':
        // Nested in the text afterwards (applyJsonEdits): JSON.stringify itself overflows on deep nesting.
        return `${WRAP}${e.depth}:${JSON.stringify(v) ?? 'null'}`
      case 'dup':
        return Array.isArray(v) ? [...v, ...v] : v
    }
  }
  const k = keys[path[0]! % keys.length]!
  if (Array.isArray(container)) {
    const copy = [...container]
    const child = editAt(copy[Number(k)], path.slice(1), e)
    if (child === undefined) copy.splice(Number(k), 1)
    else copy[Number(k)] = child
    return copy
  }
  const copy: Record<string, unknown> = {...(container as Record<string, unknown>)}
  const child = editAt(copy[k], path.slice(1), e)
  if (child === undefined) delete copy[k]
  else copy[k] = child
  return copy
}

export function applyJsonEdits(text: string, edits: readonly JsonEdit[]): string {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    return text
  }
  try {
    for (const e of edits) doc = editAt(doc, e.path, e) ?? null
    return unwrap(JSON.stringify(doc))
  } catch (e) {
    // The text is already nested too deep for JSON.stringify (an earlier edit of the same output): keep it.
    if (e instanceof RangeError) return text
    throw e
  }
}

const WRAP = '\u0001wrap:'
/** A wrapped value is a string "\u0001wrap:DEPTH:JSON" in the document: put it DEPTH arrays deep, as text. */
function unwrap(text: string): string {
  return text.replace(/"\\u0001wrap:(\d+):((?:[^"\\]|\\.)*)"/g, (_, depth: string, body: string) => {
    const inner = unwrap(JSON.parse(`"${body}"`) as string)
    const n = Number(depth)
    return '['.repeat(n) + inner + ']'.repeat(n)
  })
}

export interface JsonCase {
  seed: number
  edits: JsonEdit[]
  /** Text mutations after the structural ones (raw control characters, cuts, …). */
  ops: Op[]
}

export function jsonCases(seeds: readonly Seed[]): fc.Arbitrary<JsonCase> {
  return fc.record({seed: fc.nat({max: seeds.length - 1}), edits: JSON_EDITS, ops: fc.array(OP, {maxLength: 2})})
}

export const jsonOf = (seeds: readonly Seed[], c: JsonCase): string => applyOps(applyJsonEdits(seeds[c.seed]!.text, c.edits), c.ops)

/** Every object key used in the seeds: a document of these keys with values of any type reaches deep into a parser. */
export function keysOf(seeds: readonly Seed[], extra: readonly string[] = []): string[] {
  const keys = new Set<string>(extra)
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk)
    else if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) {
        keys.add(k)
        walk(x)
      }
  }
  for (const s of seeds) {
    try {
      walk(JSON.parse(s.text))
    } catch {
      /* not JSON */
    }
  }
  return [...keys].sort()
}

/** Random JSON documents whose objects use `keys`, of any depth up to a few levels, as text. */
export function vocabularyJson(keys: readonly string[]): fc.Arbitrary<string> {
  const key = keys.length > 0 ? fc.oneof({arbitrary: fc.constantFrom(...keys), weight: 9}, {arbitrary: fc.string({maxLength: 6}), weight: 1}) : fc.string({maxLength: 6})
  const {doc} = fc.letrec<{value: unknown; obj: Record<string, unknown>; doc: unknown}>((tie) => ({
    value: fc.oneof({depthSize: 'small', maxDepth: 5}, WRONG, tie('obj'), fc.array(tie('value'), {maxLength: 4})),
    obj: fc.dictionary(key, tie('value'), {maxKeys: 8}),
    doc: fc.oneof(fc.array(tie('obj'), {maxLength: 5}), tie('obj'), tie('value')),
  }))
  return doc.map((d) => JSON.stringify(d) ?? 'null')
}
