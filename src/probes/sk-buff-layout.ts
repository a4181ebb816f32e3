import {readSkBuffLayout} from './btf-sk-buff.js'
import {parseJson, problem} from './parsed.js'
import type {Parsed} from '../model/warning.js'
import {probe} from './descriptor.js'

/**
 * offsetof(struct sk_buff, mark) for this kernel, from its BTF: the verifier rewrites `__sk_buff.mark` to that
 * offset in xlated code (164 on 6.18). BTF is binary, so this "probe" runs in-process and answers JSON text,
 * which a snapshot records like any tool's output.
 */
export const SK_BUFF_LAYOUT_ARGV = ['nodeinspect-internal', 'sk-buff-layout'] as const

export const skBuffLayoutProbe = probe({argv: SK_BUFF_LAYOUT_ARGV}, (t) => parseSkBuffLayoutJson(t), {} as {mark?: number}, 'sk_buff layout (BTF)')

/** In-process implementation behind SK_BUFF_LAYOUT_ARGV (used by LiveSource only). */
export async function runSkBuffLayout(): Promise<{stdout: string; stderr: string; exitCode: number}> {
  const r = await readSkBuffLayout()
  if (r.problems.length > 0 && r.facts.mark === undefined) return {stdout: '', stderr: r.problems.map((p) => p.message).join('\n'), exitCode: 1}
  return {stdout: `${JSON.stringify(Object.fromEntries(Object.entries(r.facts).map(([k, v]) => [k, v.offsetBytes])))}\n`, stderr: '', exitCode: 0}
}

/** e.g. `{"mark":164,"priority":140,"tc_index":132,"hash":148,"protocol":176,"len":112}` */
export function parseSkBuffLayoutJson(text: string): Parsed<{mark?: number}> {
  const {value, problem: p} = parseJson('sk_buff layout (BTF)', text)
  if (p) return {facts: {}, problems: [p]}
  const mark = (value as {mark?: unknown} | null)?.mark
  if (typeof mark !== 'number') return {facts: {}, problems: [problem('sk_buff layout (BTF)', 'no offset for mark')]}
  return {facts: {mark}, problems: []}
}
