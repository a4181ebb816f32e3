/**
 * Packet marks (skb->mark, "nfmark") and connection marks (ct->mark): the value/mask type, its text form,
 * and the exact arithmetic each netfilter operation performs, so an evaluator can compute the mark after a rule.
 *
 * Everything is a u32: JavaScript bit operators work on signed 32-bit integers, so every result goes through
 * `>>> 0` to come back as 0..0xffffffff.
 */
import {UserError} from '../errors.js'

/** A mark and the bits it covers. A match is `(mark & mask) === value`; mask 0xffffffff when the tool printed none. */
export interface Mark {
  value: number
  mask: number
}

export const FULL_MASK = 0xffffffff

export type MarkSpecErrorReason = 'empty' | 'syntax' | 'range' | 'octal'

/**
 * A mark that is not `VALUE[/MASK]` with u32 numbers. Extends UserError so a command flag (`--mark`) reports it
 * in one line with exit 2; parsers use {@link tryParseMarkSpec} and turn it into a ParseProblem instead.
 */
export class MarkSpecError extends UserError {
  readonly input: string
  readonly reason: MarkSpecErrorReason
  constructor(input: string, reason: MarkSpecErrorReason, detail: string) {
    super(`invalid mark value "${input}": ${detail}; expected MARK[/MASK], e.g. 0x200/0xf00`)
    this.name = 'MarkSpecError'
    this.input = input
    this.reason = reason
  }
}

const DEC_RE = /^(0|[1-9][0-9]*)$/
const HEX_RE = /^0[xX][0-9a-fA-F]+$/
const OCT_RE = /^0[0-7]+$/

/**
 * One u32 in the forms the tools print: decimal (`1337`) or hex (`0x4000`). A leading zero followed by digits is
 * refused: iptables and ip read it with strtoul(base 0), i.e. as octal, which nobody means when typing `010`.
 */
export function parseU32(text: string): {value: number} | {reason: MarkSpecErrorReason; detail: string} {
  const t = text.trim()
  if (t === '') return {reason: 'empty', detail: 'empty number'}
  if (OCT_RE.test(t)) return {reason: 'octal', detail: `"${t}" has a leading 0 that iptables and ip read as octal; write it in hex or decimal`}
  if (!DEC_RE.test(t) && !HEX_RE.test(t)) return {reason: 'syntax', detail: `"${t}" is not a decimal or 0x-hex number`}
  const n = HEX_RE.test(t) ? parseInt(t.slice(2), 16) : Number(t)
  if (!Number.isSafeInteger(n) || n > FULL_MASK) return {reason: 'range', detail: `${t} does not fit in 32 bits`}
  return {value: n}
}

/** Non-throwing form for parsers: `"0x200/0xf00"`, `"1337"`, `"0x4000"`. */
export function tryParseMarkSpec(text: string): {mark: Mark} | {error: MarkSpecError} {
  const s = text.trim()
  if (s === '') return {error: new MarkSpecError(text, 'empty', 'empty')}
  const parts = s.split('/')
  if (parts.length > 2) return {error: new MarkSpecError(text, 'syntax', 'more than one "/"')}
  const v = parseU32(parts[0] ?? '')
  if ('reason' in v) return {error: new MarkSpecError(text, v.reason, v.detail)}
  if (parts.length === 1) return {mark: {value: v.value, mask: FULL_MASK}}
  const m = parseU32(parts[1] ?? '')
  if ('reason' in m) return {error: new MarkSpecError(text, m.reason, `mask: ${m.detail}`)}
  return {mark: {value: v.value, mask: m.value}}
}

/** `"0x200/0xf00"` → {value: 0x200, mask: 0xf00}; throws {@link MarkSpecError}. @internal tested directly (a test seam) */
export function parseMarkSpec(text: string): Mark {
  const r = tryParseMarkSpec(text)
  if ('error' in r) throw r.error
  return r.mark
}

export function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`
}

/** `0x200/0xf00`, or `0x4000` when the mask is the whole word (as iptables and ip print it). @internal tested directly (a test seam) */
export function formatMark(m: Mark): string {
  return (m.mask >>> 0) === FULL_MASK ? hex(m.value) : `${hex(m.value)}/${hex(m.mask)}`
}

/** xt_mark / xt_connmark / fib rule fwmark / xfrm mark: `(mark & mask) == value`. */
export function markMatches(mark: number, m: Mark): boolean {
  return ((mark & m.mask) >>> 0) === m.value >>> 0
}

/** A match whose value has bits outside its mask can never be true (e.g. a typo like 0x4000/0x400). @internal tested directly (a test seam) */
export function markMatchIsSatisfiable(m: Mark): boolean {
  return ((m.value & ~m.mask) >>> 0) === 0
}

// ---- the operations, one pure function each (iptables-extensions(8), kernel xt_MARK.c / xt_connmark.c) ----

/** MARK --set-mark V (no mask) and nft `meta mark set V`: the whole word. @internal tested directly (a test seam) */
export const markSet = (_mark: number, value: number): number => value >>> 0
/** MARK/CONNMARK --set-xmark V/M and TPROXY --tproxy-mark V/M: "zero out the bits given by mask and XOR value". @internal tested directly (a test seam) */
export const markSetXmark = (mark: number, value: number, mask: number): number => ((mark & ~mask) ^ value) >>> 0
/** MARK/CONNMARK --set-mark V/M: "zero out the bits given by mask and OR value" (libxt stores it as xmark V/(V|M)). @internal tested directly (a test seam) */
export const markSetMasked = (mark: number, value: number, mask: number): number => ((mark & ~mask) | value) >>> 0
/** --and-mark B (saved by iptables-save as --set-xmark 0x0/~B). @internal tested directly (a test seam) */
export const markAnd = (mark: number, bits: number): number => (mark & bits) >>> 0
/** --or-mark B (saved as --set-xmark B/B). @internal tested directly (a test seam) */
export const markOr = (mark: number, bits: number): number => (mark | bits) >>> 0
/** --xor-mark B (saved as --set-xmark B/0x0). @internal tested directly (a test seam) */
export const markXor = (mark: number, bits: number): number => (mark ^ bits) >>> 0

/** CONNMARK rev 2 `--left-shift-mark N` / `--right-shift-mark N`, applied to the copied bits. */
export interface MarkShift {
  dir: 'left' | 'right'
  bits: number
}

function shifted(x: number, shift?: MarkShift): number {
  if (!shift || shift.bits === 0) return x >>> 0
  return (shift.dir === 'left' ? x << shift.bits : x >>> shift.bits) >>> 0
}

/** CONNMARK --save-mark: `ctmark = (ctmark & ~ctmask) ^ (nfmark & nfmask)`; returns the new ctmark. @internal tested directly (a test seam) */
export function connmarkSave(nfmark: number, ctmark: number, nfmask = FULL_MASK, ctmask = FULL_MASK, shift?: MarkShift): number {
  return ((ctmark & ~ctmask) ^ shifted(nfmark & nfmask, shift)) >>> 0
}

/** CONNMARK --restore-mark: `nfmark = (nfmark & ~nfmask) ^ (ctmark & ctmask)`; returns the new nfmark. @internal tested directly (a test seam) */
export function connmarkRestore(nfmark: number, ctmark: number, nfmask = FULL_MASK, ctmask = FULL_MASK, shift?: MarkShift): number {
  return ((nfmark & ~nfmask) ^ shifted(ctmark & ctmask, shift)) >>> 0
}

/** nft's kernel bitwise expression: `dst = (src & and) ^ xor`; `src` absent for a constant. @internal tested directly (a test seam) */
export function markBitwise(src: number, and: number, xor: number): number {
  return ((src & and) ^ xor) >>> 0
}

/** Which mark an operation writes: the packet's (skb->mark) or its connection's (ct->mark). */
export type MarkTarget = 'packet' | 'conntrack'

/** One mark-changing operation, with the semantics of the function named in each comment. */
export type MarkOp =
  /** {@link markSet}: nft `meta mark set 0x10`, ip/ss-level whole values. */
  | {kind: 'set'; target: MarkTarget; value: number}
  /** {@link markSetXmark}: what iptables-save prints for every MARK and CONNMARK set/and/or/xor. */
  | {kind: 'set-xmark'; target: MarkTarget; value: number; mask: number}
  /** {@link markSetMasked}: `--set-mark V/M` as written in a restore file. */
  | {kind: 'set-mark'; target: MarkTarget; value: number; mask: number}
  | {kind: 'and' | 'or' | 'xor'; target: MarkTarget; value: number}
  /** {@link connmarkSave}: writes the conntrack mark from the packet mark. */
  | {kind: 'save'; nfmask: number; ctmask: number; shift?: MarkShift}
  /** {@link connmarkRestore}: writes the packet mark from the conntrack mark. */
  | {kind: 'restore'; nfmask: number; ctmask: number; shift?: MarkShift}
  /** {@link markBitwise}: nft `meta mark set ct mark & 0x80`, `meta mark set meta mark | 0x4000` (nft folds and/or/xor into this). */
  | {kind: 'bitwise'; target: MarkTarget; source: MarkTarget | 'none'; and: number; xor: number}
  /** `-m socket --restore-skmark`: the packet mark becomes the socket's SO_MARK. */
  | {kind: 'from-socket'}

export interface MarkState {
  packet: number
  conntrack: number
  /** The SO_MARK of the socket a `-m socket --restore-skmark` found; 0 when unknown. */
  socket?: number
}

/** The marks after one operation. Pure: returns a new state. */
export function applyMarkOp(op: MarkOp, s: MarkState): MarkState {
  const out: MarkState = {...s}
  switch (op.kind) {
    case 'save':
      out.conntrack = connmarkSave(s.packet, s.conntrack, op.nfmask, op.ctmask, op.shift)
      return out
    case 'restore':
      out.packet = connmarkRestore(s.packet, s.conntrack, op.nfmask, op.ctmask, op.shift)
      return out
    case 'from-socket':
      out.packet = (s.socket ?? 0) >>> 0
      return out
    case 'bitwise': {
      const src = op.source === 'none' ? 0 : s[op.source]
      out[op.target] = markBitwise(src, op.source === 'none' ? 0 : op.and, op.xor)
      return out
    }
    default: {
      const cur = s[op.target]
      out[op.target] = applyToWord(op, cur)
      return out
    }
  }
}

function applyToWord(op: Extract<MarkOp, {kind: 'set' | 'set-xmark' | 'set-mark' | 'and' | 'or' | 'xor'}>, cur: number): number {
  switch (op.kind) {
    case 'set':
      return markSet(cur, op.value)
    case 'set-xmark':
      return markSetXmark(cur, op.value, op.mask)
    case 'set-mark':
      return markSetMasked(cur, op.value, op.mask)
    case 'and':
      return markAnd(cur, op.value)
    case 'or':
      return markOr(cur, op.value)
    case 'xor':
      return markXor(cur, op.value)
  }
}

/**
 * The bits of the written mark that the operation may change. 0xffffffff means it may rewrite the whole word
 * (a "whole" writer, which clobbers every other user's bits: docs/kernel-notes.md#kn-10-mark-write-style).
 * @internal tested directly (a test seam)
 */
export function markOpWrites(op: MarkOp): number {
  switch (op.kind) {
    case 'set':
    case 'from-socket':
      return FULL_MASK
    case 'set-xmark':
    case 'set-mark':
      return (op.mask | op.value) >>> 0
    case 'and':
      return ~op.value >>> 0
    case 'or':
    case 'xor':
      return op.value >>> 0
    case 'save':
      return shiftedMask(op.ctmask, op.nfmask, op.shift)
    case 'restore':
      return shiftedMask(op.nfmask, op.ctmask, op.shift)
    case 'bitwise':
      // Same mark in and out: only cleared (and=0) or flipped (xor=1) bits change. From another mark or a
      // constant: every bit can end up different.
      return op.source === op.target ? (~op.and | op.xor) >>> 0 : FULL_MASK
  }
}

function shiftedMask(clearMask: number, copyMask: number, shift?: MarkShift): number {
  // Bits cleared by the destination mask, plus the bits the copied (and shifted) value can set.
  return (clearMask | shifted(copyMask, shift)) >>> 0
}

/** 'whole' when the operation may rewrite all 32 bits, else 'bitwise' (docs/kernel-notes.md#kn-10-mark-write-style). @internal tested directly (a test seam) */
export function markOpStyle(op: MarkOp): 'whole' | 'bitwise' {
  return markOpWrites(op) === FULL_MASK ? 'whole' : 'bitwise'
}

/** One line for humans: `set-xmark 0x4000/0x4000`, `save nfmask 0x80 ctmask 0x80`, `meta = (meta & 0xffffbfff) ^ 0x4000`. */
export function formatMarkOp(op: MarkOp): string {
  const sh = (s?: MarkShift) => (s && s.bits ? ` ${s.dir}-shift ${s.bits}` : '')
  switch (op.kind) {
    case 'set':
      return `${op.target} set ${hex(op.value)}`
    case 'set-xmark':
    case 'set-mark':
      return `${op.target} ${op.kind} ${hex(op.value)}/${hex(op.mask)}`
    case 'and':
    case 'or':
    case 'xor':
      return `${op.target} ${op.kind} ${hex(op.value)}`
    case 'save':
    case 'restore':
      return `${op.kind} nfmask ${hex(op.nfmask)} ctmask ${hex(op.ctmask)}${sh(op.shift)}`
    case 'bitwise':
      return op.source === 'none' ? `${op.target} = ${hex(op.xor)}` : `${op.target} = (${op.source} & ${hex(op.and)}) ^ ${hex(op.xor)}`
    case 'from-socket':
      return 'packet = socket mark'
  }
}
