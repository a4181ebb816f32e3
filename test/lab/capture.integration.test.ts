// Captures what the lab observation support (test/support/) sees for the five flows of the lab
// (src/lab/topology.ts flows), for the parser and path-order unit tests (test/lab/observe.unit.test.ts). Opt-in:
// run as root, after the build, with
//   NODEINSPECT_LAB_CAPTURE=1 npx vitest run test/lab/capture.integration.test.ts
// It brings up a lab with prefix nilab-cap, sends one probe per flow from curl with a fixed source port
// (41001…41005) under `nft monitor trace` in node 1, and writes into testdata/lab/:
//   nft-trace-<flow kind>.txt   the raw `nft -a monitor trace` output (the trace table's own lines included)
//   flows-dump.json             `bpftool -j map dump` of nilab_flows after the five probes
//   probes.json                 each flow's probe result (sendProbe)
// then takes the lab down.
import {writeFileSync} from 'node:fs'
import {describe, it} from 'vitest'
import {labDown} from '../../src/lab/teardown.js'
import {labUp} from '../../src/lab/up.js'
import {runCommand} from '../../src/source/run-command.js'
import {ROOT} from '../helpers/fixtures.js'
import {sendProbe, type ProbeResult} from '../support/lab-probe.js'
import {withNftTrace} from '../support/nft-trace.js'
import {LIVE_LAB_TEST_TIMEOUT} from './live.js'

const capture = process.env.NODEINSPECT_LAB_CAPTURE === '1'

describe.skipIf(!capture)('capture the lab samples of testdata/lab/ (NODEINSPECT_LAB_CAPTURE=1)', () => {
  it('writes the traces, probe results and flow dump of the five flows', {timeout: LIVE_LAB_TEST_TIMEOUT}, async () => {
    const prefix = 'nilab-cap'
    const out = (name: string) => `${ROOT}testdata/lab/${name}`
    const state = await labUp({prefix})
    try {
      const probes: Array<{kind: string} & Partial<ProbeResult>> = []
      let sport = 41000
      for (const f of state.flows) {
        sport++
        let res: ProbeResult | undefined
        let raw = ''
        await withNftTrace(
          `${prefix}-node1`,
          {saddr: f.src, daddr: f.dst, proto: f.proto, sport, dport: f.dport},
          async () => {
            res = await sendProbe(prefix, {fromPod: f.fromPod, dst: f.dst, dport: f.dport, proto: f.proto, sport, timeoutMs: 1000})
          },
          {keepOwnTable: true, onRaw: (t) => (raw = t)},
        )
        writeFileSync(out(`nft-trace-${f.kind}.txt`), raw)
        probes.push({kind: f.kind, ...res})
      }
      writeFileSync(out('probes.json'), `${JSON.stringify(probes, null, 2)}\n`)
      const argv = ['bpftool', '-j', 'map', 'dump', 'pinned', state.flowMapPin]
      const dump = await runCommand({file: argv[0]!, args: argv.slice(1), logicalArgv: argv, timeoutMs: 10_000})
      writeFileSync(out('flows-dump.json'), `${JSON.stringify(JSON.parse(dump.stdout))}\n`)
      console.log(probes.map((p) => `${p.kind}: connected=${p.connected} sport=${p.localPort}${p.peerSeen ? ` peerSeen=${p.peerSeen.address}` : ''}`).join('\n'))
    } finally {
      await labDown(prefix)
    }
  })
})
