import {describe, expect, it} from 'vitest'
import {nothingRead, summariseFailures, traceNodeUnread} from '../../src/analyses/readable.js'
import {sourceRead} from '../../src/state/readable.js'

describe('nothingRead', () => {
  it('one source read is enough for an answer', () => {
    expect(nothingRead([{probe: 'a', failure: 'a: x'}, {probe: 'b'}])).toBeUndefined()
  })
  it('all failed: the causes, grouped', () => {
    expect(nothingRead([{probe: 'ip rule', failure: 'ip rule: ip is not installed'}, {probe: 'nft', failure: 'nft: nft is not installed'}, {probe: 'ip xfrm', failure: 'ip xfrm: ip is not installed'}])).toBe(
      'ip rule, ip xfrm: ip is not installed; nft: nft is not installed',
    )
  })
  it('no source at all is not "nothing read"', () => {
    expect(nothingRead([])).toBeUndefined()
  })
})

describe('sourceRead / summariseFailures', () => {
  it('a run with a failure carries its message; a run without one was read', () => {
    const ok = {argv: ['ss'], stdout: '', stderr: '', exitCode: 0, durationMs: 1}
    expect(sourceRead('ss', ok)).toEqual({probe: 'ss'})
    expect(sourceRead('ss', {...ok, exitCode: null, failure: 'missing-binary', message: 'ss -e: ss is not installed'})).toEqual({probe: 'ss', failure: 'ss -e: ss is not installed'})
    expect(sourceRead('ss', undefined)).toEqual({probe: 'ss', failure: 'ss: not run'})
  })
  it('a message without a command is kept whole', () => {
    expect(summariseFailures(['no device', 'x: y', 'z: y'])).toBe('no device; x, z: y')
  })
})

describe('traceNodeUnread', () => {
  it('needs ip\'s own device list (the fallback devices carry no address)', () => {
    expect(traceNodeUnread('n1', {deviceList: 'ip', attachmentSources: [], programList: {probe: 'p'}})).toBeUndefined()
    expect(traceNodeUnread('n1', {deviceList: 'other-probes', deviceListFailure: 'ip: gone', attachmentSources: [], programList: {probe: 'p'}})).toBe(
      'node n1: no device list could be read (ip: gone), so no address can be placed on the path',
    )
  })
})
