import {describe, expect, it} from 'vitest'
import {parseSnapshot, RecordingSource, SnapshotSource, type SnapshotFile} from '../../src/source/snapshot.js'
import type {RawOutput, RunRequest, Source} from '../../src/source/types.js'

const fake: Source = {
  meta: {kind: 'live', hostname: 'h', kernel: '6.18', takenAt: '2026-11-22T00:00:00Z'},
  async run(req: RunRequest): Promise<RawOutput> {
    return {argv: [...req.argv], ...(req.input !== undefined ? {input: req.input} : {}), stdout: `out:${req.argv.join(' ')}:${req.input ?? ''}`, stderr: '', exitCode: 0, durationMs: 1}
  },
}

const OK = {argv: ['ip', '-j', 'rule'], stdout: '[]', stderr: '', exitCode: 0, durationMs: 3}
/** A snapshot document with some parts replaced. */
function snap(over: {meta?: unknown; outputs?: unknown[]}): string {
  return JSON.stringify({format: 'nodeinspect-snapshot', version: 1, meta: over.meta ?? {}, outputs: over.outputs ?? [OK]})
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

  it('accepts every field of a recorded output, null exit codes and known failures included', () => {
    const outputs = [OK, {...OK, argv: ['tc', '-batch', '-'], input: 'x\n', exitCode: null, failure: 'timeout', message: 'tc: timed out'}]
    const meta = {hostname: 'h', kernel: '6.18', netns: 'n', takenAt: 't', nodeinspectVersion: '0.1.0', note: 'n', tools: {ip: 'ip utility'}}
    expect(parseSnapshot(snap({meta, outputs}), 'f.json')).toEqual({format: 'nodeinspect-snapshot', version: 1, meta, outputs})
  })

  const bad: Array<[string, string, string]> = [
    ['not JSON', '{"format":', 'snapshot f.json: not valid JSON'],
    ['another format', '{"format":"something-else","version":1}', 'snapshot f.json: not a nodeinspect snapshot (format is "something-else", expected "nodeinspect-snapshot")'],
    ['another version', '{"format":"nodeinspect-snapshot","version":2,"meta":{},"outputs":[]}', 'snapshot f.json: format version 2 is not supported (this nodeinspect reads version 1)'],
    ['no outputs', '{"format":"nodeinspect-snapshot","version":1,"meta":{}}', 'snapshot f.json: corrupt: "outputs" is not a list'],
    ['a list', '[]', 'snapshot f.json: not a nodeinspect snapshot (expected a JSON object)'],
    ['a format marker that runs on', `{"format":"${'n'.repeat(100)}"}`, `snapshot f.json: not a nodeinspect snapshot (format is "${'n'.repeat(39)}…, expected "nodeinspect-snapshot")`],
    ['meta as a list', snap({meta: []}), 'snapshot f.json: corrupt: "meta" is a list, expected an object'],
    ...(['hostname', 'kernel', 'netns', 'takenAt', 'nodeinspectVersion', 'note'] as const).map((k): [string, string, string] => [
      `a number as meta.${k}`,
      snap({meta: {[k]: 5}}),
      `snapshot f.json: corrupt: meta.${k} is a number, expected a string`,
    ]),
    ['meta.note nested 6,000 levels deep', snap({}).replace('"meta":{}', `"meta":{"note":${'['.repeat(6000)}${']'.repeat(6000)}}`), 'snapshot f.json: corrupt: meta.note is a list, expected a string'],
    ['meta.tools as a list', snap({meta: {tools: ['ip']}}), 'snapshot f.json: corrupt: meta.tools is a list, expected an object'],
    ['a version that is not a string', snap({meta: {tools: {ip: 6}}}), 'snapshot f.json: corrupt: meta.tools["ip"] is a number, expected a string'],
    ['an output that is not an object', snap({outputs: [null]}), 'snapshot f.json: corrupt: outputs[0] is null, expected an object'],
    ['an output without argv', snap({outputs: [{...OK, argv: undefined}]}), 'snapshot f.json: corrupt: outputs[0].argv is missing, expected a non-empty list of strings'],
    ['an empty argv', snap({outputs: [{...OK, argv: []}]}), 'snapshot f.json: corrupt: outputs[0].argv is a list, expected a non-empty list of strings'],
    ['a number in argv', snap({outputs: [OK, {...OK, argv: ['ip', 4]}]}), 'snapshot f.json: corrupt: outputs[1].argv[1] is a number, expected a string'],
    ['a number as stdout', snap({outputs: [{...OK, stdout: 1}]}), 'snapshot f.json: corrupt: outputs[0].stdout is a number, expected a string'],
    ['no stderr', snap({outputs: [{...OK, stderr: undefined}]}), 'snapshot f.json: corrupt: outputs[0].stderr is missing, expected a string'],
    ['a list as input', snap({outputs: [{...OK, input: ['a']}]}), 'snapshot f.json: corrupt: outputs[0].input is a list, expected a string'],
    ['an object as message', snap({outputs: [{...OK, message: {}}]}), 'snapshot f.json: corrupt: outputs[0].message is an object, expected a string'],
    ['a string as exitCode', snap({outputs: [{...OK, exitCode: '0'}]}), 'snapshot f.json: corrupt: outputs[0].exitCode is a string, expected an integer or null'],
    ['no exitCode', snap({outputs: [{...OK, exitCode: undefined}]}), 'snapshot f.json: corrupt: outputs[0].exitCode is missing, expected an integer or null'],
    ['a negative durationMs', snap({outputs: [{...OK, durationMs: -1}]}), 'snapshot f.json: corrupt: outputs[0].durationMs is -1, expected milliseconds (a number ≥ 0)'],
    ['no durationMs', snap({outputs: [{...OK, durationMs: undefined}]}), 'snapshot f.json: corrupt: outputs[0].durationMs is missing, expected milliseconds (a number ≥ 0)'],
    ['an unknown failure', snap({outputs: [{...OK, failure: 'exploded'}]}), 'snapshot f.json: corrupt: outputs[0].failure is "exploded", expected one of missing-binary, permission, timeout, exit, spawn, not-recorded'],
  ]
  for (const [name, text, msg] of bad) {
    it(`rejects ${name} with one clear line`, () => {
      expect(() => parseSnapshot(text, 'f.json')).toThrow(msg)
    })
  }
})
