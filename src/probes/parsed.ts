
import {parseToolJson} from './tool-json.js'
import type {ParseProblem} from '../model/warning.js'

export function problem(probe: string, message: string, line?: number, raw?: string): ParseProblem {
  const p: ParseProblem = {probe, message}
  if (line !== undefined) p.line = line
  if (raw !== undefined) p.raw = raw.length > 200 ? `${raw.slice(0, 200)}…` : raw
  return p
}

/**
 * Deeper than any tool nests its JSON (nft's expressions, the deepest, stay under 20). JSON.parse itself takes
 * any depth, but what walks the result afterwards recurses (JSON.stringify, the nft expression walkers), and a
 * corrupt or hostile recorded output 6,000 levels deep would overflow the stack there.
 */
export const MAX_JSON_DEPTH = 256

/** The nesting depth of a parsed JSON value, counted without recursion; stops counting past `limit`. */
export function jsonDepth(value: unknown, limit = MAX_JSON_DEPTH): number {
  // Two flat stacks rather than one of pairs: this runs over every probe's output, some of them 100 MB.
  const values: object[] = []
  const depths: number[] = []
  if (typeof value === 'object' && value !== null) {
    values.push(value)
    depths.push(1)
  }
  let max = 0
  while (values.length > 0) {
    const v = values.pop()!
    const d = depths.pop()!
    if (d > max) {
      max = d
      if (max > limit) return max
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const c: unknown = v[i]
        if (typeof c === 'object' && c !== null) {
          values.push(c)
          depths.push(d + 1)
        }
      }
    } else {
      for (const k in v) {
        const c: unknown = (v as Record<string, unknown>)[k]
        if (typeof c === 'object' && c !== null) {
          values.push(c)
          depths.push(d + 1)
        }
      }
    }
  }
  return max
}

/**
 * Parse a tool's JSON document without throwing: a syntax error, or nesting no tool produces, becomes a problem.
 * Raw control characters inside strings (iproute2 and bpftool print a device name as it is) are read as the
 * characters they are (tool-json.ts).
 */
export function parseJson(probe: string, text: string): {value?: unknown; problem?: ParseProblem} {
  if (text.trim() === '') return {problem: problem(probe, 'empty output')}
  let value: unknown
  try {
    value = parseToolJson(text)
  } catch (e) {
    return {problem: problem(probe, `not valid JSON: ${(e as Error).message}`, undefined, text.slice(0, 200))}
  }
  if (jsonDepth(value) > MAX_JSON_DEPTH) return {problem: problem(probe, `JSON nested deeper than ${MAX_JSON_DEPTH} levels: no tool writes that, the output is corrupt`, undefined, text.slice(0, 200))}
  return {value}
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
