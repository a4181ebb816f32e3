import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {Args, Flags} from '@oclif/core'
import {parseFlow} from '../analyses/path/flow.js'
import type {TraceReport} from '../analyses/path/trace.js'
import {BaseCommand} from '../cli/base-command.js'
import {traceNodeUnread} from '../analyses/readable.js'
import {NodeUnreadableError, UserError} from '../errors.js'
import {loadSnapshot, RecordingSource, SnapshotSource} from '../source/snapshot.js'
import {expandSnapshotPaths} from '../source/snapshot-dir.js'
import type {Source} from '../source/types.js'
import {liveSource} from '../state/sources.js'
import {LIVE_NODES_AT_ONCE} from '../state/head-start-plan.js'
import {mapLimit} from '../util/map-limit.js'

/** Snapshot files read and parsed at once (a folder of a fleet's nodes): I/O and inflating overlap the parsing. */
const SNAPSHOTS_AT_ONCE = 8

export default class Trace extends BaseCommand {
  static override summary = 'The path of a flow through the node, hook by hook, with the mark after each step and the evidence'
  static override description = `Walks the flow from where SRC lives (a pod behind a veth, the node itself, or the wire) through the eBPF
programs on each device (XDP, tcx, tc; Cilium's maps read where its programs decide), netfilter (rules evaluated
against the flow), policy routing (asked of the kernel live; recomputed from the recorded tables offline), tunnels,
and on to the receiving node when it is given too (--snapshot n1.json --snapshot n2.json, or --netns twice).
Every step says how it is known: kernel, rule, program or assumed. --json prints nodeinspect.trace/v1.
Addresses are routed ones: a link-local address with a zone (fe80::1%eth0) names one link, not a path, and is refused.`
  static override examples = [
    '<%= config.bin %> trace 10.42.1.80 10.42.0.51:80',
    '<%= config.bin %> trace 10.42.1.80 10.42.0.51:80 --snapshot node1.json --snapshot node2.json',
    '<%= config.bin %> trace 10.42.1.80 10.96.0.80:80 --netns nilab-node1 --netns nilab-node2 --format mermaid',
    {description: 'Does the answer come back? The reply walked from the destination to the source:', command: '<%= config.bin %> trace 10.42.1.80 10.42.0.51:80 --netns nilab-node1 --netns nilab-node2 --reply'},
    {description: "A packet the node itself sends with a mark (a pod's mark does not survive its veth into the node):", command: '<%= config.bin %> trace 192.168.1.12 10.42.0.52:6379 --proto tcp --mark 0x200 --json'},
  ]
  static override enableJsonFlag = true
  static override args = {
    src: Args.string({description: 'source address, e.g. 10.42.1.80 or fd00::5 (its port is --sport)', required: true}),
    dst: Args.string({
      description:
        'destination ADDRESS[:PORT], e.g. 10.42.0.51:80; an IPv6 address takes a port only in brackets, [fd00::51]:80 (fd00::51 alone is an address, and fd00::1:80, which could be either, is refused with both spellings)',
      required: true,
    }),
  }
  static override flags = {
    proto: Flags.string({description: 'tcp, udp or icmp (default: tcp with a port, icmp without)'}),
    sport: Flags.integer({description: 'source port (default: 40000, said so)'}),
    mark: Flags.string({description: 'the packet mark it starts with, e.g. 0x200 (a pod\'s mark does not survive its veth into the node: the kernel clears it)'}),
    netns: Flags.string({description: 'read a node inside this named network namespace; once per node, any number of nodes', multiple: true, exclusive: ['snapshot']}),
    snapshot: Flags.string({
      description: 'read a node from a snapshot file (.json or .json.gz); once per node, any number of nodes; a directory stands for every *.json and *.json.gz in it',
      multiple: true,
      exclusive: ['netns'],
    }),
    record: Flags.string({
      description: 'also write every node read live into this directory as a snapshot (DIR/NODE.json) holding all this trace asked, route answers included: trace --snapshot on those files gives this same answer',
      exclusive: ['snapshot'],
    }),
    reply: Flags.boolean({description: 'also walk the answer from DST back to SRC (conntrack ESTABLISHED, the forward NAT undone): where does the SYN-ACK stop?', default: false}),
    format: Flags.string({description: 'text output: a numbered tree, or a graph (Graphviz DOT, Mermaid, or SVG drawn in-process: no Graphviz needed)', options: ['text', 'dot', 'mermaid', 'svg'], default: 'text'}),
    timeout: Flags.integer({description: 'per-tool timeout in milliseconds, for every tool (default: 20000; slow dumps such as iptables-save get longer)', min: 100}),
  }

  async run(): Promise<TraceReport> {
    const {args, flags} = await this.parse(Trace)
    const flow = parseFlow({src: args.src, dst: args.dst, proto: flags.proto, sport: flags.sport, mark: flags.mark})
    // The tree's renderer (ink, react, yoga: ~0.4 s to load and warm up) loads on another thread while the nodes are
    // read; bin/run.js has started it already when the arguments said a tree.
    const tree = !this.jsonEnabled() && flags.format === 'text' ? treeRenderer(flags['no-color']) : undefined
    tree?.catch(() => {}) // awaited below
    // Any number of nodes; the walk picks the next one by address, not by its place on the command line. Each
    // live node runs its own tools and each snapshot is read whole: a few at a time keeps both bounded.
    let sources: Source[]
    let expanded: {files: string[]; directories: string[]} | undefined
    if (flags.snapshot?.length) {
      expanded = await expandSnapshotPaths(flags.snapshot)
      sources = await mapLimit(expanded.files, SNAPSHOTS_AT_ONCE, async (f) => new SnapshotSource(await loadSnapshot(f), f))
    }
    else if (flags.netns?.length) sources = flags.netns.map((n) => liveSource({netns: n, timeoutMs: flags.timeout}))
    else sources = [liveSource({timeoutMs: flags.timeout})]
    const recordings = flags.record === undefined ? undefined : sources.map((s) => new RecordingSource(s))
    if (recordings) sources = recordings
    // The nodes' tools start first; the walk's modules load while they run.
    const {buildNodeState} = await import('../state/build.js')
    const [nodes, {traceFlow}, {SourceKernelOracle}] = await Promise.all([mapLimit(sources, expanded ? SNAPSHOTS_AT_ONCE : LIVE_NODES_AT_ONCE, (s) => buildNodeState(s, {trace: true})), import('../analyses/path/trace.js'), import('../oracle/source-oracle.js')])
    const unread = nodes.map((n) => traceNodeUnread(n.label, n.hooks.readable)).filter(Boolean)
    if (unread.length > 0) throw new NodeUnreadableError(`trace: ${unread.join('; ')}`)
    const report = await traceFlow(nodes, flow, new SourceKernelOracle(new Map(nodes.map((n, i) => [n, sources[i]!]))), {reply: flags.reply})
    // A folder: which of its snapshots were read, and which nodes the path crossed (the rest hold none of its addresses).
    if (expanded && expanded.directories.length > 0) {
      const crossed = new Set([...report.steps, ...(report.reply?.steps ?? [])].map((s) => s.node))
      report.snapshots = {directories: expanded.directories, read: expanded.files.map((file, i) => ({file, node: nodes[i]!.label, crossed: crossed.has(nodes[i]!.label)}))}
    }
    if (recordings && flags.record !== undefined) await writeRecordings(flags.record, recordings, nodes.map((n) => n.label), this.config.version)
    if (!this.jsonEnabled()) {
      if (flags.format === 'svg') {
        const {renderTraceSvg} = await import('../render/trace-svg.js')
        this.log(await renderTraceSvg(report))
      } else if (flags.format === 'dot' || flags.format === 'mermaid') {
        const {renderTraceDot, renderTraceMermaid} = await import('../render/trace-graph.js')
        this.log(flags.format === 'dot' ? renderTraceDot(report) : renderTraceMermaid(report))
      } else {
        this.log(await (await (tree ?? treeRenderer(flags['no-color']))).render(report, process.stdout.columns || 120))
      }
    }
    return report
  }
}

/** The tree renderer, started, with colour decided first. */
async function treeRenderer(noColorFlag: boolean): Promise<import('../render/trace-tree-thread.js').TreeRenderer> {
  const [{colourWanted}, {startTreeRenderer}, {treeWorkerUrl}] = await Promise.all([import('../render/style.js'), import('../render/trace-tree-thread.js'), import('../entry/tree-worker-url.js')])
  return startTreeRenderer(colourWanted(process.stdout, noColorFlag), treeWorkerUrl())
}

/** Each node's recording as DIR/LABEL.json (a label that is not a plain file name is written as node-N.json). */
async function writeRecordings(dir: string, recordings: readonly RecordingSource[], labels: readonly string[], version: string): Promise<void> {
  try {
    await mkdir(dir, {recursive: true})
    await Promise.all(
      recordings.map((r, i) => {
        const label = labels[i] ?? ''
        const name = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$/.test(label) && labels.indexOf(label) === i ? label : `node-${i + 1}`
        return writeFile(join(dir, `${name}.json`), `${JSON.stringify(r.toSnapshot({nodeinspectVersion: version}), null, 1)}\n`)
      }),
    )
  } catch (e) {
    throw new UserError(`cannot write the recordings into ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
  }
}
