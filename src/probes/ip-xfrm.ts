/**
 * IPsec state and policy (XFRM): `ip xfrm state list nokeys` and `ip xfrm policy list`. iproute2 6.1 has no JSON
 * for xfrm, so this parses the text of ip/ipxfrm.c (xfrm_state_info_print / xfrm_policy_info_print): a top line
 * at column 0, then TAB-indented lines. Marks matter here: Cilium's IPsec uses `mark 0xd00/0xf00` on the
 * decrypt (in) side and `0xe00/0xf00` (with the key index and node ID above it) on the encrypt (out) side.
 *
 * Key material is never kept: the state collector asks for `nokeys`, and for text that has keys the parser keeps
 * only the key length.
 */
import {FULL_MASK, parseU32, type Mark} from '../model/mark.js'
import {parseCidr} from '../util/ip.js'
import {problem} from './parsed.js'
import type {Parsed, ParseProblem} from '../model/warning.js'
import type {XfrmPolicy, XfrmTemplate, XfrmState, XfrmAlgorithm, XfrmId, XfrmSelector, XfrmPrefix} from '../model/xfrm.js'
import {probe} from './descriptor.js'

/** `nokeys` (iproute2 ≥ 5.1, commit a6af9f2e): the keys are printed as `<<Keys hidden>>` and never reach the snapshot. @internal tested directly (a test seam) */
export const IP_XFRM_STATE_ARGV = ['ip', 'xfrm', 'state', 'list', 'nokeys'] as const
/** @internal tested directly (a test seam) */
export const IP_XFRM_POLICY_ARGV = ['ip', 'xfrm', 'policy', 'list'] as const

export const xfrmStateProbe = probe({argv: IP_XFRM_STATE_ARGV}, (t) => parseIpXfrmState(t), [] as XfrmState[])
export const xfrmPolicyProbe = probe({argv: IP_XFRM_POLICY_ARGV}, (t) => parseIpXfrmPolicy(t), [] as XfrmPolicy[])

const STATE_PROBE = 'ip xfrm state list nokeys'
const POLICY_PROBE = 'ip xfrm policy list'

/** Problems may quote a line; never a key. */
function redact(raw: string): string {
  return raw.replace(/0x[0-9a-fA-F]{16,}/g, '0x…')
}

/**
 * What a problem quotes of a line: its head (problem() keeps 200 characters), redacted once per line. Redacting
 * the whole line for each of its problems made a long line of bad words quadratic.
 */
function quoted(raw: string): string {
  return raw.length > 400 ? `${redact(raw.slice(0, 400))}…` : redact(raw)
}

function u32(s: string | undefined): number | undefined {
  if (s === undefined) return undefined
  const r = parseU32(s)
  return 'value' in r ? r.value : undefined
}

/** `0xd00/0xf00`, `0/0xffffffff` (ip prints %#x, so zero has no 0x), `0xe00` (no mask). */
function markOf(s: string | undefined): Mark | undefined {
  if (s === undefined) return undefined
  const [v, m, extra] = s.split('/')
  const value = u32(v)
  const mask = m === undefined ? FULL_MASK : u32(m)
  return value === undefined || mask === undefined || extra !== undefined ? undefined : {value, mask}
}

function prefixOf(s: string | undefined): XfrmPrefix | undefined {
  const p = s === undefined ? undefined : parseCidr(s)
  return p && {address: p.address, prefixLen: p.prefixLen}
}

interface Lines {
  /** Indentation-free words of each line, with its 1-based number and the line itself. */
  entries: Array<{lineNo: number; raw: string; depth: number; words: string[]}>
}

function splitLines(text: string): Lines {
  const entries: Lines['entries'] = []
  text.split('\n').forEach((l, i) => {
    const raw = l.replace(/\r$/, '')
    if (raw.trim() === '') return
    const lead = /^[\t ]*/.exec(raw)![0]
    // iproute2 indents with TABs; a copy may have spaces (8 per level).
    const depth = lead.includes('\t') ? (lead.match(/\t/g) ?? []).length : Math.floor(lead.length / 8) + (lead.length > 0 && lead.length < 8 ? 1 : 0)
    entries.push({lineNo: i + 1, raw, depth, words: raw.trim().split(/\s+/)})
  })
  return {entries}
}

/** The words after `sel` or a policy's top line: `src A/L dst B/L [proto P] [sport N] [dport N] [type N] [code N] [key N] [dev D]`. */
function parseSelector(words: string[], bad: (m: string) => void): XfrmSelector | undefined {
  if (words[0] !== 'src' || words[2] !== 'dst') {
    bad('selector does not start with "src … dst …"')
    return undefined
  }
  const src = prefixOf(words[1])
  const dst = prefixOf(words[3])
  if (!src || !dst) {
    bad(`bad selector prefix "${words[1] ?? ''}" / "${words[3] ?? ''}"`)
    return undefined
  }
  const sel: XfrmSelector = {src, dst}
  for (let k = 4; k < words.length; k += 2) {
    const key = words[k]!
    const v = words[k + 1]
    if (v === undefined) {
      bad(`selector ${key} without a value`)
      break
    }
    switch (key) {
      case 'proto':
        sel.proto = v
        break
      case 'sport':
      case 'dport':
      case 'type':
      case 'code':
      case 'key': {
        if (!/^\d+$/.test(v)) bad(`selector ${key} "${v}" is not a number`)
        else sel[key] = Number(v)
        break
      }
      case 'dev':
        sel.dev = v
        break
      case 'uid': // only with -s
        break
      default:
        bad(`unknown selector word "${key}"`)
    }
  }
  return sel
}

/** `proto esp spi 0x00000003 reqid 1 mode tunnel` (spi absent in templates without one). */
function parseIdLine(words: string[], bad: (m: string) => void): Omit<XfrmId, 'src' | 'dst'> | undefined {
  if (words[0] !== 'proto' || words[1] === undefined) {
    bad('expected "proto … reqid … mode …"')
    return undefined
  }
  const id: Omit<XfrmId, 'src' | 'dst'> = {proto: words[1], reqid: 0, mode: ''}
  for (let k = 2; k < words.length; k += 2) {
    const key = words[k]!
    const v = words[k + 1]
    if (v === undefined) {
      bad(`${key} without a value`)
      break
    }
    if (key === 'spi') {
      // -s adds "(N)" after the hex
      const n = u32(v.replace(/\(\d+\)$/, ''))
      if (n === undefined) bad(`bad spi "${v}"`)
      else id.spi = n
    } else if (key === 'reqid') {
      const n = /^(\d+)/.exec(v)
      if (!n) bad(`bad reqid "${v}"`)
      else id.reqid = Number(n[1])
    } else if (key === 'mode') id.mode = v
    else bad(`unknown word "${key}"`)
  }
  return id
}

/** `mark 0xd00/0xf00 output-mark 0xe00/0xf00`, or `output-mark …` alone. */
function parseMarks(words: string[], into: {mark?: Mark; outputMark?: Mark}, bad: (m: string) => void): void {
  for (let k = 0; k < words.length; k += 2) {
    const key = words[k]
    const m = markOf(words[k + 1])
    if (key !== 'mark' && key !== 'output-mark') {
      bad(`unknown word "${key ?? ''}" on a mark line`)
      return
    }
    if (!m) bad(`bad ${key} "${words[k + 1] ?? ''}"`)
    else if (key === 'mark') into.mark = m
    else into.outputMark = m
  }
}

const ALGO_TYPES = new Set(['enc', 'auth', 'auth-trunc', 'aead', 'comp'])

function parseAlgorithm(words: string[], bad: (m: string) => void): XfrmAlgorithm | undefined {
  const type = words[0] as XfrmAlgorithm['type']
  const name = words[1]
  if (name === undefined) {
    bad(`${type} without an algorithm name`)
    return undefined
  }
  const a: XfrmAlgorithm = {type, name, keyHidden: false}
  const key = words[2]
  if (key === '<<Keys') a.keyHidden = true
  else if (key !== undefined && /^0x[0-9a-fA-F]*$/.test(key)) a.keyBits = (key.length - 2) * 4
  else if (key !== undefined && !/^\d+$/.test(key)) bad(`${type}: unexpected "${key.slice(0, 10)}"`)
  const last = words[words.length - 1]
  if ((type === 'aead' || type === 'auth-trunc') && last !== undefined && /^\d+$/.test(last) && words.length >= 4) a.icvBits = Number(last)
  return a
}

/**
 * `ip xfrm state list nokeys`, e.g.
 * ```
 * src 10.56.0.17 dst 10.56.1.238
 * 	proto esp spi 0x00000003 reqid 1 mode tunnel
 * 	replay-window 0
 * 	mark 0xcb93e00/0xffffff00 output-mark 0xe00/0xffffff00
 * 	aead rfc4106(gcm(aes)) <<Keys hidden>> 128
 * 	anti-replay context: seq 0x0, oseq 0x36, bitmap 0x00000000
 * 	sel src 0.0.0.0/0 dst 0.0.0.0/0
 * ```
 * @internal tested directly (a test seam)
 */
export function parseIpXfrmState(text: string): Parsed<XfrmState[]> {
  const problems: ParseProblem[] = []
  const facts: XfrmState[] = []
  let cur: XfrmState | undefined
  let inEsn = false
  for (const e of splitLines(text).entries) {
    let shown: string | undefined
    const bad = (m: string) => problems.push(problem(STATE_PROBE, m, e.lineNo, (shown ??= quoted(e.raw))))
    const w = e.words
    if (e.depth === 0) {
      inEsn = false
      if (w[0] !== 'src' || w[2] !== 'dst' || w[1] === undefined || w[3] === undefined) {
        bad('expected "src ADDR dst ADDR" to start a state')
        cur = undefined
        continue
      }
      cur = {line: e.lineNo, src: w[1], dst: w[3], proto: '', reqid: 0, mode: '', flags: [], algorithms: []}
      facts.push(cur)
      continue
    }
    if (!cur) {
      bad('indented line outside a state')
      continue
    }
    const first = w[0]!
    // the ESN replay block continues with lines that start with a space after the TAB
    if (inEsn && (/^\t /.test(e.raw) || first === 'seq-hi' || first === 'replay_window' || /^[0-9a-f]{8}$/.test(first))) continue
    inEsn = false
    if (first === 'proto') {
      const id = parseIdLine(w, bad)
      if (id) Object.assign(cur, id)
    } else if (first === 'replay-window') {
      const n = w[1]
      if (n === undefined || !/^\d+$/.test(n)) bad(`bad replay-window "${n ?? ''}"`)
      else cur.replayWindow = Number(n)
      if (w[2] === 'flag') cur.flags = w.slice(3)
      else if (w.length > 2 && w[2] !== 'seq') bad(`unknown word "${w[2]}"`)
    } else if (first === 'mark' || first === 'output-mark') parseMarks(w, cur, bad)
    else if (ALGO_TYPES.has(first)) {
      const a = parseAlgorithm(w, bad)
      if (a) cur.algorithms.push(a)
    } else if (first === 'encap') {
      // encap type espinudp sport 4500 dport 4500 addr 0.0.0.0
      const get = (k: string) => w[w.indexOf(k) + 1]
      const sport = get('sport')
      const dport = get('dport')
      if (w[1] !== 'type' || !sport || !dport || !get('addr')) bad('bad encap line')
      else cur.encap = {type: w[2] ?? '', sport: Number(sport), dport: Number(dport), addr: get('addr') ?? ''}
    } else if (first === 'sel') {
      const sel = parseSelector(w.slice(1), bad)
      if (sel) cur.selector = sel
    } else if (first === 'if_id') {
      const n = u32(w[1])
      if (n === undefined) bad(`bad if_id "${w[1] ?? ''}"`)
      else cur.ifId = n
    } else if (first === 'crypto' && w[1] === 'offload') {
      const dev = w[w.indexOf('dev') + 1]
      const dir = w[w.indexOf('dir') + 1]
      if (dev && dir) cur.offload = {dev, dir}
      else bad('bad crypto offload line')
    } else if (first === 'security' && w[1] === 'context') cur.securityContext = w.slice(2).join(' ')
    else if (first === 'anti-replay') inEsn = w[1] === 'esn'
    else if (first === 'coa' || first === 'lastused' || first === 'tfcpad') {
      /* not used by the marks analysis; printed by iproute2 when set */
    } else bad(`unknown line "${first}"`)
  }
  for (const s of facts) if (s.proto === '') problems.push(problem(STATE_PROBE, 'state without a "proto … reqid … mode …" line', s.line))
  return {facts, problems}
}

/**
 * `ip xfrm policy list`, e.g.
 * ```
 * src 0.0.0.0/0 dst 10.56.1.0/24
 * 	dir out priority 0 ptype main
 * 	mark 0xcb93e00/0xffffff00
 * 	tmpl src 10.56.0.17 dst 10.56.1.238
 * 		proto esp spi 0x00000003 reqid 1 mode tunnel
 * ```
 * @internal tested directly (a test seam)
 */
export function parseIpXfrmPolicy(text: string): Parsed<XfrmPolicy[]> {
  const problems: ParseProblem[] = []
  const facts: XfrmPolicy[] = []
  let cur: XfrmPolicy | undefined
  let tmpl: XfrmTemplate | undefined
  for (const e of splitLines(text).entries) {
    let shown: string | undefined
    const bad = (m: string) => problems.push(problem(POLICY_PROBE, m, e.lineNo, (shown ??= quoted(e.raw))))
    const w = e.words
    if (e.depth === 0) {
      tmpl = undefined
      const sel = parseSelector(w, bad)
      if (!sel) {
        cur = undefined
        continue
      }
      cur = {line: e.lineNo, selector: sel, dir: '', socket: false, action: 'allow', priority: 0, flags: [], templates: []}
      facts.push(cur)
      continue
    }
    if (!cur) {
      bad('indented line outside a policy')
      continue
    }
    const first = w[0]!
    if (first === 'dir' || first === 'socket') {
      cur.socket = first === 'socket'
      cur.dir = w[1] ?? ''
      for (let k = 2; k < w.length; k++) {
        const key = w[k]!
        const v = w[k + 1]
        if (key === 'action' && v !== undefined) {
          cur.action = v
          k++
        } else if (key === 'priority' && v !== undefined && /^\d+$/.test(v)) {
          cur.priority = Number(v)
          k++
        } else if (key === 'index' && v !== undefined && /^\d+$/.test(v)) {
          cur.index = Number(v)
          k++
        } else if (key === 'ptype' && v !== undefined) {
          cur.ptype = v
          k++
        } else if (key === 'share' && v !== undefined) k++
        else if (key === 'flag') {
          cur.flags = w.slice(k + 1).filter((f) => !f.startsWith('('))
          break
        } else {
          bad(`unknown word "${key}"`)
          break
        }
      }
    } else if (first === 'mark' || first === 'output-mark') {
      if (first === 'output-mark') bad('output-mark on a policy')
      parseMarks(w, cur, bad)
    } else if (first === 'tmpl') {
      if (w[1] !== 'src' || w[3] !== 'dst' || w[2] === undefined || w[4] === undefined) {
        bad('expected "tmpl src ADDR dst ADDR"')
        tmpl = undefined
        continue
      }
      tmpl = {src: w[2], dst: w[4], proto: '', reqid: 0, mode: '', level: 'required'}
      cur.templates.push(tmpl)
    } else if (first === 'proto') {
      if (!tmpl) {
        bad('"proto" line outside a tmpl')
        continue
      }
      const id = parseIdLine(w, bad)
      if (id) Object.assign(tmpl, id)
    } else if (first === 'level') {
      if (!tmpl) bad('"level" line outside a tmpl')
      else tmpl.level = w[1] ?? ''
    } else if (first === 'if_id') {
      const n = u32(w[1])
      if (n === undefined) bad(`bad if_id "${w[1] ?? ''}"`)
      else cur.ifId = n
    } else if (first === 'security' && w[1] === 'context') cur.securityContext = w.slice(2).join(' ')
    else bad(`unknown line "${first}"`)
  }
  for (const p of facts) if (p.dir === '') problems.push(problem(POLICY_PROBE, 'policy without a "dir …" line', p.line))
  return {facts, problems}
}
