// The kernel's offset of skb->mark (its BTF, ~5 MB parsed in process) matters only to read programs' code: a node
// read for marks or trace asks for it when there is code to read, and not otherwise.
import {afterAll, describe, expect, it} from 'vitest'
import {SK_BUFF_LAYOUT_ARGV} from '../../src/probes/sk-buff-layout.js'
import {loadSnapshot, SnapshotSource} from '../../src/source/snapshot.js'
import type {RawOutput, RunRequest, Source} from '../../src/source/types.js'
import {buildNodeState} from '../../src/state/build.js'
import {ROOT} from '../helpers/fixtures.js'
import {createTestNetns, liveSkipReason, type TestNetns} from '../probes/netns-helpers.js'

/** `inner`, and every command it was asked, in order. */
function recorded(inner: Source): {src: Source; asked: string[]} {
  const asked: string[] = []
  const src: Source = {
    meta: inner.meta,
    run: (req: RunRequest): Promise<RawOutput> => {
      asked.push(req.argv.join(' '))
      return inner.run(req)
    },
  }
  return {src, asked}
}

const SKB = SK_BUFF_LAYOUT_ARGV.join(' ')

describe('the sk_buff layout', () => {
  it('is asked, once, for a node with programs on its hooks (marks, trace)', async () => {
    // The reference snapshot has programs attached (and no recorded layout: it predates the probe).
    const file = `${ROOT}testdata/reference/node2.json`
    for (const needs of [{marks: true}, {trace: true}, {marks: true, trace: true}]) {
      const {src, asked} = recorded(new SnapshotSource(await loadSnapshot(file), file))
      await buildNodeState(src, needs)
      expect(asked.filter((a) => a === SKB), JSON.stringify(needs)).toHaveLength(1)
    }
  })

  const skip = liveSkipReason(['iptables-save', 'bpftool', 'tc'])
  let ns: TestNetns | undefined
  afterAll(async () => ns?.close())
  it.skipIf(skip !== undefined)('is not read for a node with no program on any hook', async () => {
    ns = await createTestNetns('skbasked')
    for (const needs of [{marks: true}, {trace: true}]) {
      const {src, asked} = recorded(ns.source)
      const state = await buildNodeState(src, needs)
      expect(asked.length, JSON.stringify(needs)).toBeGreaterThan(5)
      expect(asked).not.toContain(SKB)
      expect(state.markOffset).toBeUndefined()
      expect(state.code.size).toBe(0)
    }
  })
})
