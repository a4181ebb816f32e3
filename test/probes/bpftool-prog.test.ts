import {describe, expect, it} from 'vitest'
import {parseBpftoolProgJson, parseBpftoolProgText} from '../../src/probes/bpftool-prog.js'
import {fixtures} from '../helpers/fixtures.js'

describe('parseBpftoolProgText on real captures', () => {
  it('reads the modern named form with BTF (Cilium 1.14)', () => {
    const f = fixtures('bpftool-prog').find((x) => x.name.startsWith('cilium-1.14'))!
    expect(parseBpftoolProgText(f.text)).toEqual({
      facts: [{id: 2490, type: 'sched_cls', name: 'cil_from_container', tag: '2547a15a9196a2d0', gplCompatible: true, loadedAt: '2023-12-05T07:09:11Z', uid: 0, bytesXlated: 696, bytesJited: 532, bytesMemlock: 4096, mapIds: [1161, 53], btfId: 1551}],
      problems: [],
    })
  })

  it('reads unnamed programs and reports the author\'s "..." elision as a problem (minikube Cilium 1.9)', () => {
    const f = fixtures('bpftool-prog').find((x) => x.name.startsWith('minikube'))!
    const {facts, problems} = parseBpftoolProgText(f.text)
    expect(facts.map((p) => [p.id, p.name, p.tag, p.mapIds.length])).toEqual([
      [1217, undefined, '20ac549643fd38fa', 2],
      [1222, undefined, '57afe8b782a3abe6', 7],
      [1274, undefined, '48d26f069d0a48cc', 13],
    ])
    expect(facts[1]!.bytesXlated).toBe(24072)
    expect(problems).toEqual([{probe: 'bpftool -j prog show', line: 7, message: 'elided output ("...")', raw: '...'}])
  })
})

describe('parseBpftoolProgJson', () => {
  it('reads bpftool 7.1 JSON and turns loaded_at epoch seconds into ISO time', () => {
    const text = '[{"id":100,"type":"sched_cls","name":"handle_xgress","tag":"4ad0feeb9534414b","gpl_compatible":true,"loaded_at":1795367684,"uid":0,"bytes_xlated":200,"jited":true,"bytes_jited":125,"bytes_memlock":4096,"map_ids":[25],"btf_id":22}]'
    expect(parseBpftoolProgJson(text).facts).toEqual([
      {id: 100, type: 'sched_cls', name: 'handle_xgress', tag: '4ad0feeb9534414b', gplCompatible: true, loadedAt: '2026-11-22T17:14:44Z', uid: 0, bytesXlated: 200, bytesJited: 125, bytesMemlock: 4096, mapIds: [25], btfId: 22},
    ])
  })

  it('reports bpftool errors, non-lists and entries without id', () => {
    expect(parseBpftoolProgJson('{"error":"can\'t get next program: Operation not permitted"}').problems[0]!.message).toMatch(/bpftool error: can't get next program/)
    expect(parseBpftoolProgJson('[{"type":"xdp"}]').problems[0]!.message).toMatch(/lacks id or type/)
    expect(parseBpftoolProgJson('[{"id": 1').problems[0]!.message).toMatch(/not valid JSON/)
  })
})
