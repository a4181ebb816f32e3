#!/usr/bin/env node
// Captures what the lab's observation functions see for the five flows of the lab (src/lab/topology.ts flows), for
// the parser and path-order unit tests (test/lab/observe.unit.test.ts). Run as root from the repository after
// `npm run build`: node testdata/lab/capture.mjs. It brings up a lab with prefix nilab-cap, sends one probe per
// flow from curl with a fixed source port (41001…41005) under `nft monitor trace` in node 1, and writes:
//   nft-trace-<flow kind>.txt   the raw `nft -a monitor trace` output (the trace table's own lines included)
//   flows-dump.json             `bpftool -j map dump` of nilab_flows after the five probes
//   probes.json                 each flow's probe result (sendProbe)
// then takes the lab down.
import {writeFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {labDown} from '../../dist/lab/teardown.js'
import {labUp} from '../../dist/lab/up.js'
import {sendProbe, withNftTrace} from '../../dist/lab/observe.js'
import {runCommand} from '../../dist/source/run-command.js'

const prefix = 'nilab-cap'
const out = (name) => fileURLToPath(new URL(name, import.meta.url))
const state = await labUp({prefix})
try {
  const probes = []
  let sport = 41000
  for (const f of state.flows) {
    sport++
    let res
    let raw = ''
    await withNftTrace(`${prefix}-node1`, {saddr: f.src, daddr: f.dst, proto: f.proto, sport, dport: f.dport}, async () => {
      res = await sendProbe(prefix, {fromPod: f.fromPod, dst: f.dst, dport: f.dport, proto: f.proto, sport, timeoutMs: 1000})
    }, {keepOwnTable: true, onRaw: (t) => (raw = t)})
    writeFileSync(out(`nft-trace-${f.kind}.txt`), raw)
    probes.push({kind: f.kind, ...res})
  }
  writeFileSync(out('probes.json'), `${JSON.stringify(probes, null, 2)}\n`)
  const argv = ['bpftool', '-j', 'map', 'dump', 'pinned', state.flowMapPin]
  const dump = await runCommand({file: argv[0], args: argv.slice(1), logicalArgv: argv, timeoutMs: 10_000})
  writeFileSync(out('flows-dump.json'), `${JSON.stringify(JSON.parse(dump.stdout))}\n`)
  console.log(probes.map((p) => `${p.kind}: connected=${p.connected} sport=${p.localPort}${p.peerSeen ? ` peerSeen=${p.peerSeen.address}` : ''}`).join('\n'))
} finally {
  await labDown(prefix)
}
