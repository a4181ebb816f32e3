import type {TraceReport} from '../../src/analyses/path/trace.js'
import type {PathStep} from '../../src/model/path.js'

/** A small trace report as traceFlow returns it: node 1 to node 2, with `name` put in every field a node supplies. */
export function traceReport(name: (what: string) => string): TraceReport {
  const tuple = {src: '10.42.1.80', dst: '10.42.0.51', proto: 'tcp' as const, sport: 40000, dport: 80}
  const step = (n: number, node: string, s: Partial<PathStep>): PathStep => ({n, node, where: {}, kind: 'bpf', what: '', verdict: 'pass', verdictKind: 'pass', tuple, mark: 0, evidence: 'program', details: [], ...s})
  return {
    schema: 'nodeinspect.trace/v1',
    flow: {...tuple, family: 'ipv4', mark: 0},
    nodes: [
      {label: name('node-a'), hostname: name('host-a'), kernel: name('6.8'), source: 'snapshot', snapshotFile: name('a.json'), note: name('note')},
      {label: 'node-b', source: 'live'},
    ],
    steps: [
      step(1, name('node-a'), {where: {device: name('lxc1'), hook: 'tc ingress'}, what: name('bpf_lxc.o: from-container'), details: [name('cilium_ipcache: 10.42.0.51/32')], branches: [name('branch')]}),
      step(2, name('node-a'), {kind: 'netfilter', where: {device: 'eth0', table: 'filter', chain: 'FORWARD'}, what: 'iptables filter/FORWARD', rules: [{engine: 'iptables', table: 'filter', chain: name('KUBE-FORWARD'), position: 1, raw: name('-A KUBE-FORWARD -m comment --comment "x"'), action: 'ACCEPT'}], verdict: name('ACCEPT'), verdictKind: 'accept', evidence: 'rule'}),
      step(3, 'node-b', {kind: 'deliver', where: {device: 'lxc2'}, what: 'deliver', verdict: 'deliver', verdictKind: 'deliver', evidence: 'kernel'}),
    ],
    outcome: {kind: 'delivered', step: 3, text: name('delivered to pod')},
    unseen: [name('unseen thing')],
    warnings: [{probe: 'bpftool', kind: 'parse', message: name('bpftool said')}],
  }
}
