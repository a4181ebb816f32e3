import {describe, expect, it} from 'vitest'
import {analyseHooks, type HooksReport} from '../../src/analyses/hooks.js'
import {buildNodeState} from '../../src/state/build.js'
import {renderHooksTable} from '../../src/render/hooks-table.js'
import {loadSnapshot, SnapshotSource} from '../../src/source/snapshot.js'
import {ROOT} from '../helpers/fixtures.js'
import {hostile, TERMINAL_CONTROL} from './hostile.js'

async function reference(): Promise<HooksReport> {
  const file = `${ROOT}testdata/reference/node1.json`
  return analyseHooks(await buildNodeState(new SnapshotSource(await loadSnapshot(file), file), {hooks: true}))
}

const lxcHook = (r: HooksReport) => r.devices.find((d) => d.name === 'lxc48c4aa0637ce')!.hooks[0]!

describe('renderHooksTable with names from a hostile node', () => {
  it('shows control characters in every field as visible escapes, and --json data stays true', async () => {
    const r = await reference()
    const h = lxcHook(r)
    r.node.hostname = hostile('host')
    r.node.note = hostile('note')
    const dev = r.devices.find((d) => d.name === 'lxc48c4aa0637ce')!
    dev.name = hostile('lxc')
    dev.peer!.netns = hostile('netns')
    h.program!.name = hostile('prog')
    h.notes = [hostile('a note')]
    h.recognised!.matched = hostile('section')
    r.warnings.push({probe: 'bpftool', kind: 'parse', message: hostile('bpftool said')})
    const text = renderHooksTable(r)
    expect(text).not.toMatch(TERMINAL_CONTROL)
    expect(text).not.toContain('\t')
    const shown = (what: string) => `${what}\\x1b]0;owned\\x07\\x1b[2J\\x1b[H\\x00\\u202e\\x9b31m\\x7f\\x0d\\x0a\\x09end`
    // lines of their own: the whole value on one line (its newline shown, not obeyed)
    expect(text).toContain(`node ${shown('host')} · kernel`)
    expect(text).toContain(`\nnote: ${shown('note')}\n`)
    expect(text).toContain(`\n${shown('lxc')} · ifindex 43 · veth`)
    expect(text).toContain(`\n  peer: ifindex 42 in netns ${shown('netns')}\n`)
    expect(text).toContain(`\nwarning: ${shown('bpftool said')}`)
    // table cells: wrapped to the column, escaped all the same
    for (const cell of ['│ prog\\x1b]0;owned\\x07', '│ note\\x1b]0;owned', '"section\\x1b]0;owned']) expect(text).toContain(cell)
    expect(h.program!.name).toBe(hostile('prog')) // the report (what --json prints) is not changed
  })
})

describe('renderHooksTable is linear in the length of a name', () => {
  it('renders a report with a 72,000-character program name in well under 2 s, shortened with its length', async () => {
    const r = await reference()
    const name = 'p'.repeat(72_000)
    lxcHook(r).program!.name = name
    const t0 = performance.now()
    const text = renderHooksTable(r)
    const ms = performance.now() - t0
    expect(ms).toBeLessThan(2000)
    // the head of the name, broken over the program column (38 columns inside), then its true length
    expect(text).toMatch(/│ id 2901 sched_cls\s+│/)
    expect(text).toContain(`│ ${'p'.repeat(38)} │`)
    expect(text).toMatch(/│ p+… \(72,000\s+│/)
    expect(text).toMatch(/│ chars\)\s+│/)
    const ps = (text.match(/p{2,}/g) ?? []).join('').length
    expect(ps).toBeLessThan(300) // 256 shown, not 72,000
    expect(lxcHook(r).program!.name).toBe(name)
  })

  it('breaks a long name over lines instead of hiding its end behind …', async () => {
    const r = await reference()
    lxcHook(r).program!.name = `${'a'.repeat(40)}TAIL`
    const text = renderHooksTable(r)
    expect(text).toContain(`│ ${'a'.repeat(38)} │`)
    expect(text).toMatch(/│ aaTAIL\s+│/)
  })
})

describe('renderHooksTable at 500 devices', () => {
  it('draws 500 devices with programs in well under 1 s, each device once', async () => {
    const r = await reference()
    const withProgs = r.devices.filter((d) => d.hooks.length > 0)
    const devices = Array.from({length: 500}, (_, i) => {
      const d = withProgs[i % withProgs.length]!
      return {...d, name: `${d.name}-${i}`, ifindex: 1000 + i}
    })
    const big: HooksReport = {...r, devices, summary: {...r.summary, devices: 500, devicesWithPrograms: 500}}
    const t0 = performance.now()
    const text = renderHooksTable(big)
    const ms = performance.now() - t0
    // ~30 ms here; cli-table3 took 1.4 s (it re-measured each cell per line drawn): a loose bound, machines are shared.
    expect(ms).toBeLessThan(1000)
    for (const i of [0, 249, 499]) expect(text).toContain(`${devices[i]!.name} · ifindex ${1000 + i}`)
    expect(text.split('\n').filter((l) => l.startsWith('┌')).length).toBe(500)
  })
})
