import {describe, expect, it} from 'vitest'
import {loadSnapshot, SnapshotSource} from '../../src/source/snapshot.js'
import {runKey, type RawOutput, type RunRequest, type Source} from '../../src/source/types.js'
import {buildNodeState} from '../../src/state/build.js'
import {ROOT} from '../helpers/fixtures.js'

/** A Source that counts how often each command (argv and input) is asked. */
class CountingSource implements Source {
  readonly asked = new Map<string, number>()
  constructor(private readonly inner: Source) {}
  get meta() {
    return this.inner.meta
  }
  run(req: RunRequest): Promise<RawOutput> {
    const k = runKey(req.argv, req.input)
    this.asked.set(k, (this.asked.get(k) ?? 0) + 1)
    return this.inner.run(req)
  }
}

async function counted(needs: Parameters<typeof buildNodeState>[1]) {
  const file = `${ROOT}testdata/reference/node2.json`
  const src = new CountingSource(new SnapshotSource(await loadSnapshot(file), file))
  const state = await buildNodeState(src, needs)
  return {state, asked: src.asked}
}

describe('buildNodeState: one read of a node for every command', () => {
  it('asks each command once, whatever the needs (bpftool -j prog show used to run twice for trace)', async () => {
    for (const needs of [{hooks: true}, {marks: true}, {trace: true}, {hooks: true, marks: true, trace: true}]) {
      const {asked} = await counted(needs)
      const twice = [...asked].filter(([, n]) => n > 1).map(([k]) => k)
      expect(twice, JSON.stringify(needs)).toEqual([])
    }
  })

  it('reads only what the needs ask for: hooks reads no rules, marks no datapath maps, and trace its plugins', async () => {
    const hooks = await counted({hooks: true})
    const keys = (m: Map<string, number>) => [...m.keys()].map((k) => (JSON.parse(k) as [string[]])[0].join(' '))
    expect(keys(hooks.asked).some((k) => k.startsWith('iptables-save'))).toBe(false)
    const marks = await counted({marks: true})
    expect(keys(marks.asked)).toContain('iptables-save')
    expect(keys(marks.asked).some((k) => k.startsWith('bpftool -j map'))).toBe(false)
    const trace = await counted({trace: true})
    expect(keys(trace.asked)).toContain('bpftool -j map show')
    expect(Object.keys(trace.state.datapaths)).toEqual(['cilium'])
    expect(marks.state.datapaths).toEqual({})
  })

  it('holds plain data: no Source, and every command reads the same state', async () => {
    const {state} = await counted({hooks: true, marks: true, trace: true})
    expect(Object.values(state).some((v) => typeof v === 'object' && v !== null && 'run' in v)).toBe(false)
    expect(state.label).toBe(state.meta.netns ?? state.meta.hostname)
    expect(state.attachments.length).toBeGreaterThan(0)
  })

  it('reads the datapath maps while the iptables dump still runs, not after it', async () => {
    const file = `${ROOT}testdata/reference/node2.json`
    const inner = new SnapshotSource(await loadSnapshot(file), file)
    const asked: string[] = []
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    // iptables-save answers only once released: what the node read meanwhile did not wait for it.
    const gated: Source = {
      meta: inner.meta,
      run: async (req) => {
        asked.push(req.argv.join(' '))
        if (req.argv[0] === 'iptables-save') await gate
        return inner.run(req)
      },
    }
    const built = buildNodeState(gated, {trace: true})
    for (let i = 0; i < 200 && !asked.some((a) => a.startsWith('bpftool -j map dump')); i++) await new Promise((r) => setTimeout(r, 5))
    const before = [...asked]
    release()
    const state = await built
    expect(before).toEqual(expect.arrayContaining(['bpftool -j map show', expect.stringMatching(/^bpftool -j map dump id \d+$/)]))
    expect(Object.keys(state.datapaths)).toEqual(['cilium'])
  })
})
