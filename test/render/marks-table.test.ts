import {describe, expect, it} from 'vitest'
import {analyseMarks, type MarksReport} from '../../src/analyses/marks.js'
import {markUsagesOf} from '../../src/analyses/mark-uses.js'
import {buildNodeState} from '../../src/state/build.js'
import {renderMarks} from '../../src/render/marks-table.js'
import {loadSnapshot, SnapshotSource} from '../../src/source/snapshot.js'
import {ROOT} from '../helpers/fixtures.js'
import {hostile, TERMINAL_CONTROL} from './hostile.js'

async function recorded(): Promise<MarksReport> {
  const file = `${ROOT}testdata/snapshots/marks-node.json`
  const src = new SnapshotSource(await loadSnapshot(file), file)
  const state = await buildNodeState(src, {marks: true})
  return analyseMarks({hostname: src.meta.hostname, source: 'snapshot', snapshotFile: file}, markUsagesOf(state), state.warnings)
}

describe('renderMarks with strings from a hostile node', () => {
  it('shows control characters in rule text, process names, owners and warnings as visible escapes', async () => {
    const r = await recorded()
    r.node.hostname = hostile('host')
    r.node.note = hostile('note')
    const sock = r.usages.find((u) => u.subsystem === 'socket')!
    sock.where.process = hostile('tailscaled')
    sock.where.place = `${sock.where.process}: ${sock.where.detail}` // the place as the socket source writes it
    sock.operation = hostile('SO_MARK')
    const owned = r.usages.find((u) => u.owner)!
    owned.owner!.matched = hostile('comment')
    r.findings[0]!.message = hostile('finding')
    r.warnings.push({probe: 'iptables-save', kind: 'parse', message: hostile('iptables-save said')})
    const text = renderMarks(r)
    expect(text).not.toMatch(TERMINAL_CONTROL)
    expect(text).not.toContain('\t')
    expect(text).toContain('node host\\x1b]0;owned\\x07\\x1b[2J\\x1b[H\\x00\\u202e\\x9b31m\\x7f\\x0d\\x0a\\x09end · ')
    expect(text).toContain('\nwarning: iptables-save said\\x1b]0;owned\\x07')
    expect(text).toContain('tailscaled\\x1b]0;owned')
    expect(sock.where.process).toBe(hostile('tailscaled')) // --json keeps the true string
  })

  it('draws a 72,000-character rule comment, and a cell of 3,000 short values (56,000 characters), in well under 2 s', async () => {
    const r = await recorded()
    const owned = r.usages.find((u) => u.owner)!
    owned.owner!.matched = 'c'.repeat(72_000) // one value: clipped
    const rule = r.usages.find((u) => u.subsystem === 'iptables')!
    rule.where.hooks = Array.from({length: 3000}, (_, i) => `nat/KUBE-SEP-${i}`) // many short values: all shown, wrapped
    rule.where.showHooks = true
    const t0 = performance.now()
    const text = renderMarks(r)
    expect(performance.now() - t0).toBeLessThan(2000)
    expect(text).toMatch(/\(72,000\s+chars\)/)
    expect(text).toContain('nat/KUBE-SEP-2999')
  })
})
