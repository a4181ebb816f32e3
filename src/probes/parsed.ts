import type {RunFailure} from '../source/types.js'

/** Something a parser could not understand. Parsers never throw on the node's data: they report this. */
export interface ParseProblem {
  /** Which probe's output, e.g. 'bpftool -j net show'. */
  probe: string
  /** 1-based line of the input where known. */
  line?: number
  message: string
  /** The offending text, cut to 200 characters. */
  raw?: string
}

export interface Parsed<T> {
  facts: T
  problems: ParseProblem[]
}

/** A degraded probe, carried inside every report (oclif's warn() is silent under --json). */
export interface Warning {
  probe: string
  kind: RunFailure | 'parse' | 'unsupported'
  message: string
}

export function problem(probe: string, message: string, line?: number, raw?: string): ParseProblem {
  const p: ParseProblem = {probe, message}
  if (line !== undefined) p.line = line
  if (raw !== undefined) p.raw = raw.length > 200 ? `${raw.slice(0, 200)}…` : raw
  return p
}

/** Parse a JSON document without throwing: a syntax error becomes a problem. */
export function parseJson(probe: string, text: string): {value?: unknown; problem?: ParseProblem} {
  if (text.trim() === '') return {problem: problem(probe, 'empty output')}
  try {
    return {value: JSON.parse(text)}
  } catch (e) {
    return {problem: problem(probe, `not valid JSON: ${(e as Error).message}`, undefined, text.slice(0, 200))}
  }
}

/** Nesting shown in a problem's raw text; deeper levels print as `[…]` / `{…}`. */
const RAW_DEPTH = 16

/**
 * A parsed JSON value as a problem's `raw` text: JSON, cut after about `max` characters. Not JSON.stringify,
 * which recurses once per nesting level and throws RangeError (stack overflow) on input nested a few thousand
 * deep (JSON.parse reads it fine), and which would write out a whole huge value only to cut it to 200 characters.
 */
export function rawJson(v: unknown, max = 200): string {
  let out = ''
  const put = (s: string): boolean => {
    out += s
    return out.length <= max
  }
  const walk = (x: unknown, depth: number): boolean => {
    if (Array.isArray(x)) {
      if (depth >= RAW_DEPTH) return put('[…]')
      if (!put('[')) return false
      for (let i = 0; i < x.length; i++) if ((i > 0 && !put(',')) || !walk(x[i], depth + 1)) return false
      return put(']')
    }
    if (x !== null && typeof x === 'object') {
      if (depth >= RAW_DEPTH) return put('{…}')
      if (!put('{')) return false
      let first = true
      for (const [k, y] of Object.entries(x)) {
        if ((!first && !put(',')) || !put(`${JSON.stringify(k)}:`) || !walk(y, depth + 1)) return false
        first = false
      }
      return put('}')
    }
    return put(JSON.stringify(x) ?? String(x))
  }
  walk(v, 0)
  return out
}

/** A JSON value as text for a fact or a message: a string as it is, anything else as {@link rawJson} (not String(), which recurses into nested arrays the same way). */
export function shown(v: unknown): string {
  return typeof v === 'string' ? v : rawJson(v, 60)
}
