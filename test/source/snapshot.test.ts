import {describe, expect, it} from 'vitest'
import {parseSnapshot, RecordingSource, SnapshotSource, type SnapshotFile} from '../../src/source/snapshot.js'
import type {RawOutput, RunRequest, Source} from '../../src/source/types.js'

const fake: Source = {
  meta: {kind: 'live', hostname: 'h', kernel: '6.18', takenAt: '2026-11-22T00:00:00Z'},
  async run(req: RunRequest): Promise<RawOutput> {
    return {argv: [...req.argv], ...(req.input !== undefined ? {input: req.input} : {}), stdout: `out:${req.argv.join(' ')}:${req.input ?? ''}`, stderr: '', exitCode: 0, durationMs: 1}
  },
}

describe('snapshots', () => {
  it('record then replay gives the same outputs, keyed by argv and standard input', async () => {
    const rec = new RecordingSource(fake)
    await rec.run({argv: ['tc', '-batch', '-'], input: 'a\n'})
    await rec.run({argv: ['tc', '-batch', '-'], input: 'b\n'})
    await rec.run({argv: ['ip', '-j', 'rule']})
    const snap = JSON.parse(JSON.stringify(rec.toSnapshot({tools: {ip: 'ip utility'}}))) as SnapshotFile
    expect(snap.meta).toEqual({hostname: 'h', kernel: '6.18', takenAt: '2026-11-22T00:00:00Z', tools: {ip: 'ip utility'}})
    const replay = new SnapshotSource(parseSnapshot(JSON.stringify(snap), 'x.json'), 'x.json')
    expect((await replay.run({argv: ['tc', '-batch', '-'], input: 'b\n'})).stdout).toBe('out:tc -batch -:b\n')
    expect((await replay.run({argv: ['ip', '-j', 'rule']})).stdout).toBe('out:ip -j rule:')
    const missing = await replay.run({argv: ['nft', '-j', 'list', 'ruleset']})
    expect(missing.failure).toBe('not-recorded')
    expect(missing.message).toMatch(/^nft -j list ruleset: not in the snapshot x\.json/)
  })

  const bad: Array<[string, string, string]> = [
    ['not JSON', '{"format":', 'snapshot f.json: not valid JSON'],
    ['another format', '{"format":"something-else","version":1}', 'snapshot f.json: not a nodeinspect snapshot (format is "something-else", expected "nodeinspect-snapshot")'],
    ['another version', '{"format":"nodeinspect-snapshot","version":2,"meta":{},"outputs":[]}', 'snapshot f.json: format version 2 is not supported (this nodeinspect reads version 1)'],
    ['no outputs', '{"format":"nodeinspect-snapshot","version":1,"meta":{}}', 'snapshot f.json: corrupt: "outputs" is not a list'],
    ['a broken output', '{"format":"nodeinspect-snapshot","version":1,"meta":{},"outputs":[{"argv":["ip"],"stdout":1}]}', 'snapshot f.json: corrupt: outputs[0] lacks argv, stdout or stderr'],
    ['a list', '[]', 'snapshot f.json: not a nodeinspect snapshot (expected a JSON object)'],
  ]
  for (const [name, text, msg] of bad) {
    it(`rejects ${name} with one clear line`, () => {
      expect(() => parseSnapshot(text, 'f.json')).toThrow(msg)
    })
  }
})
