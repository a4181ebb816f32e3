/**
 * The trace tree's renderer on a thread of its own (src/render/trace-tree-thread.ts starts it). Loading ink, react
 * and yoga takes ~0.3 s and a first render another ~0.1 s (Intl.Segmenter, string-width's Unicode regexes, cold
 * code); on the main thread that adds to the command, which is busy parsing the node's dumps nearly all the time.
 * Here it happens on another core while the node is read, and the report's own render finds everything warm.
 */
import {parentPort, receiveMessageOnPort} from 'node:worker_threads'
import type {TraceReport} from '../analyses/path/trace.js'

/**
 * A two-step walk shaped like a kube-proxy one: the characters the real tree uses (→ ⇒ · ├─ └─) and rule lines long
 * enough to wrap. A first render pays the one-time costs, and a few wrapped lines warm wrap-ansi's width loop, the
 * bulk of a real render (a fifth faster after this than after short lines only).
 */
const WARM_UP: TraceReport = (() => {
  const tuple = {src: '10.0.0.1', dst: '10.96.0.10', proto: 'tcp' as const, sport: 40000, dport: 80}
  const step = {node: 'warm-up', where: {device: 'eth0', hook: 'netfilter output'}, tuple, mark: 0, details: ['asked the kernel: ip route get 10.96.0.10 from 10.0.0.1 → via 10.0.0.254 dev eth0']}
  const rule = (position: number, chain: string, target: string) => ({
    engine: 'iptables' as const,
    table: 'nat',
    chain,
    position,
    raw: `-A ${chain} ! -s 10.244.0.0/16 -d 10.96.0.10/32 -p tcp -m comment --comment "ns${position}/svc${position}:http cluster IP" -m tcp --dport 80 -j ${target}`,
    action: `jump ${target}`,
  })
  return {
    schema: 'nodeinspect.trace/v1',
    flow: {...tuple, family: 'ipv4', mark: 0},
    nodes: [{label: 'warm-up', source: 'live'}],
    steps: [
      {...step, n: 1, kind: 'routing', what: 'routing (output)', verdict: 'out eth0', verdictKind: 'route', evidence: 'kernel', ct: {state: 'NEW', zone: 0, mark: 0}},
      {...step, n: 2, kind: 'netfilter', what: 'nat/OUTPUT #1: DNAT', verdict: 'DROP', verdictKind: 'drop', evidence: 'rule', rules: [rule(1, 'KUBE-SERVICES', 'KUBE-SVC-XXXXXXXXXXXXXXXX'), rule(2, 'KUBE-SVC-XXXXXXXXXXXXXXXX', 'KUBE-MARK-MASQ'), rule(3, 'KUBE-SVC-XXXXXXXXXXXXXXXX', 'KUBE-SEP-XXXXXXXXXXXXXXXX'), rule(4, 'KUBE-SEP-XXXXXXXXXXXXXXXX', 'DNAT')]},
    ],
    outcome: {kind: 'dropped', step: 2, text: 'dropped'},
    unseen: ['nothing'],
    warnings: [{probe: 'warm-up', kind: 'parse', message: 'warm-up'}],
  }
})()

const port = parentPort
if (!port) throw new Error('trace-tree-worker: not a worker thread')

// A report that cannot be read here, or a renderer that cannot load: the main thread draws it itself rather than wait.
const failed = (e: unknown) => port.postMessage({error: String(e)})
// Listening starts the port: until then a report that comes early waits in it (receiveMessageOnPort below).
const listen = (reply: (m: {report: TraceReport; columns: number}) => void) => port.on('message', reply).on('messageerror', failed)

// Nothing on this thread fetches. yoga-layout's wasm loader, given fetch, fetches its own inlined data: URL, which
// loads Node's fetch (undici, ~30 ms); without it, it decodes the same bytes itself.
delete (globalThis as {fetch?: unknown}).fetch

import('./trace-tree.js').then(
  ({renderTraceTree}) => {
    const reply = ({report, columns}: {report: TraceReport; columns: number}) => {
      try {
        port.postMessage({text: renderTraceTree(report, columns)})
      } catch (e) {
        failed(e) // the main thread draws it again, and fails there with the stack
      }
    }
    // A report that came while ink loaded is drawn at once: warming up then would only delay it.
    const early = receiveMessageOnPort(port)
    if (early) reply(early.message)
    else renderTraceTree(WARM_UP, 120)
    listen(reply)
  },
  (e) => listen(() => failed(e)),
)
