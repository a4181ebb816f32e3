// Tests for src/model/mark.ts (kept beside the probe tests that use it; test/model/ is not part of this change).
import {describe, expect, it} from 'vitest'
import {
  applyMarkOp,
  connmarkRestore,
  connmarkSave,
  formatMark,
  formatMarkOp,
  markAnd,
  markBitwise,
  markMatches,
  markMatchIsSatisfiable,
  markOpStyle,
  markOpWrites,
  markOr,
  markSet,
  markSetMasked,
  markSetXmark,
  markXor,
  MarkSpecError,
  parseMarkSpec,
  tryParseMarkSpec,
  type MarkOp,
} from '../../src/model/mark.js'
import {UserError} from '../../src/errors.js'

describe('parseMarkSpec / formatMark', () => {
  it.each([
    ['0x200/0xf00', {value: 0x200, mask: 0xf00}],
    ['1337', {value: 1337, mask: 0xffffffff}],
    ['0x4000', {value: 0x4000, mask: 0xffffffff}],
    ['0X4000/0X4000', {value: 0x4000, mask: 0x4000}],
    ['0', {value: 0, mask: 0xffffffff}],
    ['0/0', {value: 0, mask: 0}],
    ['0xffffffff', {value: 0xffffffff, mask: 0xffffffff}],
    ['4294967295/0x80', {value: 4294967295, mask: 0x80}],
    [' 0xd00/0xf00 ', {value: 0xd00, mask: 0xf00}],
  ])('%s', (text, mark) => {
    expect(parseMarkSpec(text)).toEqual(mark)
  })

  it.each([
    ['', 'empty'],
    ['0x', 'syntax'],
    ['0xzz', 'syntax'],
    ['-1', 'syntax'],
    ['1.5', 'syntax'],
    ['0x100000000', 'range'],
    ['4294967296', 'range'],
    ['010', 'octal'],
    ['0x1/0x2/0x3', 'syntax'],
    ['0x1/', 'empty'],
    ['/0x1', 'empty'],
  ])('rejects %j (%s) with a typed, one-line error', (text, reason) => {
    let err: unknown
    try {
      parseMarkSpec(text)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(MarkSpecError)
    expect(err).toBeInstanceOf(UserError)
    expect((err as MarkSpecError).reason).toBe(reason)
    expect((err as MarkSpecError).message).toMatch(/^invalid mark value ".*": .*; expected MARK\[\/MASK\], e\.g\. 0x200\/0xf00$/)
    expect((err as UserError).exitCode).toBe(2)
    expect('error' in tryParseMarkSpec(text)).toBe(true)
  })

  it('formats like iptables and ip: mask omitted when it is the whole word', () => {
    expect(formatMark({value: 0x200, mask: 0xf00})).toBe('0x200/0xf00')
    expect(formatMark({value: 0x4000, mask: 0xffffffff})).toBe('0x4000')
    expect(formatMark({value: 0, mask: 0})).toBe('0x0/0x0')
    expect(formatMark({value: 0xffffffff, mask: 0xffffffff})).toBe('0xffffffff')
    // bit operators give negative numbers; formatting must not
    expect(formatMark({value: 0x80000000 | 0, mask: 0x80000000 | 0})).toBe('0x80000000/0x80000000')
  })
})

describe('matching', () => {
  it('(mark & mask) == value', () => {
    expect(markMatches(0x4a00, {value: 0xa00, mask: 0xf00})).toBe(true)
    expect(markMatches(0x4b00, {value: 0xa00, mask: 0xf00})).toBe(false)
    expect(markMatches(0xca6c, {value: 0xa00, mask: 0xf00})).toBe(true) // wg-quick's 51820 hits Cilium's 0xa00 rule
    expect(markMatches(0x80000000, {value: 0x80000000, mask: 0x80000000})).toBe(true)
    expect(markMatches(1337, {value: 1337, mask: 0xffffffff})).toBe(true)
    expect(markMatches(1337 | 0x4000, {value: 1337, mask: 0xffffffff})).toBe(false)
    expect(markMatches(0x12345, {value: 0, mask: 0})).toBe(true)
  })
  it('a value outside its mask can never match', () => {
    expect(markMatchIsSatisfiable({value: 0x4000, mask: 0x400})).toBe(false)
    expect(markMatchIsSatisfiable({value: 0xa00, mask: 0xfffffeff})).toBe(true)
  })
})

describe('operations (iptables-extensions(8) semantics, kernel xt_MARK / xt_connmark)', () => {
  it('MARK forms', () => {
    expect(markSet(0xffff, 0x539)).toBe(0x539)
    expect(markSetXmark(0xffff, 0x10, 0xf0)).toBe(0xff1f) // zero bits 4-7, then xor 0x10
    expect(markSetXmark(0x4000, 0x4000, 0)).toBe(0) // kube-proxy's xor clear: mask 0 means pure xor
    expect(markSetXmark(0x1234, 0x4000, 0x4000)).toBe(0x5234) // or-mark as iptables-save prints it
    expect(markSetXmark(0x12345678, 0, 0xffff0000)).toBe(0x5678) // and-mark 0xffff
    expect(markSetMasked(0xfff, 0x200, 0xf00)).toBe(0x2ff)
    // --set-mark V/M is stored by libxt_MARK as xmark V/(V|M); the two spellings agree
    for (const m of [0, 0xffffffff, 0x12345678, 0x10]) expect(markSetMasked(m, 0x10, 0x1)).toBe(markSetXmark(m, 0x10, 0x11))
    expect(markAnd(0xffffffff, 0xffff)).toBe(0xffff)
    expect(markOr(0x80000000, 1)).toBe(0x80000001)
    expect(markXor(0xffffffff, 0x1)).toBe(0xfffffffe)
  })

  it('CONNMARK save/restore with nfmask/ctmask (and --mask sets both)', () => {
    // save: ctmark = (ctmark & ~ctmask) ^ (nfmark & nfmask)
    expect(connmarkSave(0x4080, 0xff00, 0x80, 0x80)).toBe(0xff80)
    expect(connmarkSave(0x4000, 0xff00, 0x80, 0x80)).toBe(0xff00)
    expect(connmarkSave(0xabcd, 0x1111)).toBe(0xabcd)
    // restore: nfmark = (nfmark & ~nfmask) ^ (ctmark & ctmask)
    expect(connmarkRestore(0x4000, 0x80, 0x80, 0x80)).toBe(0x4080) // AWS VPC CNI keeps kube-proxy's 0x4000
    expect(connmarkRestore(0x4000, 0x111, 0xffffffff, 0xffffffff)).toBe(0x111) // Istio in-pod restore clobbers every bit
    // masks that disagree: bits outside the destination mask are flipped, not cleared
    expect(connmarkSave(0x00ff, 0x0000, 0xffff, 0x00f0)).toBe(0x00ff)
    // rev 2 shifts
    expect(connmarkSave(0xab00, 0, 0xff00, 0xff, {dir: 'right', bits: 8})).toBe(0xab)
    expect(connmarkRestore(0, 0xab, 0xff00, 0xff, {dir: 'left', bits: 8})).toBe(0xab00)
  })

  it('nft bitwise: dst = (src & and) ^ xor, results always unsigned', () => {
    expect(markBitwise(0x12341678, 0xffffbfff, 0x4000)).toBe(0x12345678) // meta mark set meta mark | 0x4000
    expect(markBitwise(0xffffffff, 0x80, 0)).toBe(0x80) // AWS VPC CNI nft backend: meta mark set ct mark & 0x80
    expect(markBitwise(0x80000000, 0xffffffff, 0)).toBe(0x80000000)
  })

  it('applyMarkOp on packet, conntrack and socket marks', () => {
    const s = {packet: 0x4000, conntrack: 0x80, socket: 0x80000}
    const cases: Array<[MarkOp, {packet: number; conntrack: number}]> = [
      [{kind: 'set', target: 'packet', value: 0x539}, {packet: 0x539, conntrack: 0x80}],
      [{kind: 'set-xmark', target: 'conntrack', value: 0x111, mask: 0xfff}, {packet: 0x4000, conntrack: 0x111}],
      [{kind: 'set-mark', target: 'packet', value: 0x200, mask: 0xf00}, {packet: 0x4200, conntrack: 0x80}],
      [{kind: 'and', target: 'packet', value: 0xbfff}, {packet: 0, conntrack: 0x80}],
      [{kind: 'or', target: 'conntrack', value: 0x1}, {packet: 0x4000, conntrack: 0x81}],
      [{kind: 'xor', target: 'packet', value: 0x4000}, {packet: 0, conntrack: 0x80}],
      [{kind: 'save', nfmask: 0xffffffff, ctmask: 0xffffffff}, {packet: 0x4000, conntrack: 0x4000}],
      [{kind: 'restore', nfmask: 0x80, ctmask: 0x80}, {packet: 0x4080, conntrack: 0x80}],
      [{kind: 'bitwise', target: 'packet', source: 'conntrack', and: 0x80, xor: 0}, {packet: 0x80, conntrack: 0x80}],
      [{kind: 'bitwise', target: 'packet', source: 'none', and: 0, xor: 0x10}, {packet: 0x10, conntrack: 0x80}],
      [{kind: 'from-socket'}, {packet: 0x80000, conntrack: 0x80}],
    ]
    for (const [op, want] of cases) expect(applyMarkOp(op, s), formatMarkOp(op)).toEqual({...s, ...want})
    expect(s).toEqual({packet: 0x4000, conntrack: 0x80, socket: 0x80000}) // pure
  })

  it('which bits an operation may change, and whole vs bitwise (docs/kernel-notes.md#kn-10-mark-write-style)', () => {
    const w = (op: MarkOp) => [markOpWrites(op), markOpStyle(op)]
    expect(w({kind: 'set-xmark', target: 'packet', value: 0x4000, mask: 0x4000})).toEqual([0x4000, 'bitwise'])
    expect(w({kind: 'set-xmark', target: 'packet', value: 0x539, mask: 0xffffffff})).toEqual([0xffffffff, 'whole'])
    expect(w({kind: 'set-xmark', target: 'packet', value: 0x4000, mask: 0})).toEqual([0x4000, 'bitwise'])
    expect(w({kind: 'set', target: 'packet', value: 0x200})).toEqual([0xffffffff, 'whole'])
    expect(w({kind: 'and', target: 'packet', value: 0xfffeffff})).toEqual([0x10000, 'bitwise'])
    expect(w({kind: 'restore', nfmask: 0xffffffff, ctmask: 0xffffffff})).toEqual([0xffffffff, 'whole'])
    expect(w({kind: 'restore', nfmask: 0x80, ctmask: 0x80})).toEqual([0x80, 'bitwise'])
    expect(w({kind: 'save', nfmask: 0xff00, ctmask: 0xff, shift: {dir: 'right', bits: 8}})).toEqual([0xff, 'bitwise'])
    expect(w({kind: 'bitwise', target: 'packet', source: 'packet', and: 0xffffbfff, xor: 0x4000})).toEqual([0x4000, 'bitwise'])
    expect(w({kind: 'bitwise', target: 'packet', source: 'conntrack', and: 0x80, xor: 0})).toEqual([0xffffffff, 'whole'])
    expect(w({kind: 'from-socket'})).toEqual([0xffffffff, 'whole'])
  })

  it('formats operations for humans', () => {
    expect(formatMarkOp({kind: 'set-xmark', target: 'packet', value: 0x4000, mask: 0x4000})).toBe('packet set-xmark 0x4000/0x4000')
    expect(formatMarkOp({kind: 'restore', nfmask: 0x80, ctmask: 0x80})).toBe('restore nfmask 0x80 ctmask 0x80')
    expect(formatMarkOp({kind: 'bitwise', target: 'packet', source: 'packet', and: 0xffffbfff, xor: 0x4000})).toBe('packet = (packet & 0xffffbfff) ^ 0x4000')
  })
})
