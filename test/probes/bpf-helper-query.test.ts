import {describe, expect, it} from 'vitest'
import {parseBpfHelperQuery} from '../../src/probes/bpf-helper.js'

const HEAD = '"helper":"nodeinspect-bpf","version":1,"queried":2,"tcx_supported":true,"netkit_supported":false'

describe('parseBpfHelperQuery: the flow dissector of the netns', () => {
  it('the programs BPF_PROG_QUERY listed (none is an answer too)', () => {
    expect(parseBpfHelperQuery(`{${HEAD},"flow_dissector":{"supported":true,"progs":[{"prog_id":7}]},"attachments":[],"errors":[]}`)).toEqual({facts: {attachments: [], tcxSupported: true, netkitSupported: false, queried: 2, flowDissectorProgIds: [7]}, problems: []})
    expect(parseBpfHelperQuery(`{${HEAD},"flow_dissector":{"supported":true,"progs":[]},"attachments":[],"errors":[]}`).facts.flowDissectorProgIds).toEqual([])
    // A kernel without the attach type: none can be attached.
    expect(parseBpfHelperQuery(`{${HEAD},"flow_dissector":{"supported":false,"progs":[]},"attachments":[],"errors":[]}`).facts.flowDissectorProgIds).toEqual([])
  })

  it('a helper older than the query (in a snapshot) says nothing of it: unknown, not "none"', () => {
    const r = parseBpfHelperQuery(`{${HEAD},"attachments":[],"errors":[]}`)
    expect(r.problems).toEqual([])
    expect(r.facts.flowDissectorProgIds).toBeUndefined()
  })

  it('a failed query is a problem, and leaves the flow dissector unknown', () => {
    const r = parseBpfHelperQuery(`{${HEAD},"flow_dissector":{"errno":1,"error":"Operation not permitted"},"attachments":[],"errors":[]}`)
    expect(r.problems.map((p) => p.message)).toEqual(['flow dissector: Operation not permitted'])
    expect(r.facts.flowDissectorProgIds).toBeUndefined()
    expect(parseBpfHelperQuery(`{${HEAD},"flow_dissector":{"progs":[{"id":7}]},"attachments":[],"errors":[]}`).problems.map((p) => p.message)).toEqual(['flow dissector program entry lacks prog_id'])
    expect(parseBpfHelperQuery(`{${HEAD},"flow_dissector":null,"attachments":[],"errors":[]}`).problems.map((p) => p.message)).toEqual(['flow dissector: no program list in null'])
  })
})
