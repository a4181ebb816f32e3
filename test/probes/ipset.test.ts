import {describe, expect, it} from 'vitest'
import {parseIpsetSave} from '../../src/probes/ipset.js'

describe('parseIpsetSave', () => {
  it('reads sets and members in restore syntax, and reports stray lines', async () => {
    const r = parseIpsetSave('create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536\nadd KUBE-CLUSTER-IP 10.96.0.1,tcp:443\nadd KUBE-CLUSTER-IP 10.96.0.10,udp:53\ncreate empty hash:net family inet\nadd nope 1.2.3.4\ngarbage\n')
    expect(r.facts.get('KUBE-CLUSTER-IP')).toEqual({type: 'hash:ip,port', members: ['10.96.0.1,tcp:443', '10.96.0.10,udp:53']})
    expect(r.facts.get('empty')).toEqual({type: 'hash:net', members: []})
    expect(r.problems.map((p) => [p.line, p.message])).toEqual([
      [5, 'member of undeclared set nope'],
      [6, 'unrecognised line'],
    ])
  })
})
