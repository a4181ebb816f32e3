import type {RunFailure} from '../source/types.js'
import {parseToolJson} from './tool-json.js'

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

/**
 * Parse a tool's JSON document without throwing: a syntax error becomes a problem. Raw control characters inside
 * strings (iproute2 and bpftool print a device name as it is) are read as the characters they are (tool-json.ts).
 */
export function parseJson(probe: string, text: string): {value?: unknown; problem?: ParseProblem} {
  if (text.trim() === '') return {problem: problem(probe, 'empty output')}
  try {
    return {value: parseToolJson(text)}
  } catch (e) {
    return {problem: problem(probe, `not valid JSON: ${(e as Error).message}`, undefined, text.slice(0, 200))}
  }
}
