import {Args, Flags} from '@oclif/core'
import type {DiffReport} from '../analyses/diff/diff.js'
import {parseFlow} from '../analyses/path/flow.js'
import {traceNodeUnread} from '../analyses/readable.js'
import {BaseCommand} from '../cli/base-command.js'
import {NodeUnreadableError, UserError} from '../errors.js'
import type {FlowSpec} from '../model/path.js'
import {loadSnapshot, SnapshotSource} from '../source/snapshot.js'
import type {Source} from '../source/types.js'
import {liveSource} from '../state/sources.js'

export default class Diff extends BaseCommand {
  static override summary = 'What changed on a node between two readings ("worked" and "broken"), by meaning, not by text'
  static override description = `Compares two snapshots of a node (or a snapshot with the node now, --netns): programs attached, detached or
replaced on each hook (same hook, another tag), mark uses added or removed and the findings that appeared or went,
iptables and nft rules added or removed (by table, chain and text: not counters, handles or positions), routes and
ip rules. With --flow SRC DST[:PORT], also Cilium's map entries for its addresses and where its path differs: the
first step that does, and both outcomes. Ids, counters and times never count as changes. --json prints
nodeinspect.diff/v1 (docs/json-diff.md).`
  static override examples = [
    '<%= config.bin %> diff before.json after.json.gz',
    '<%= config.bin %> diff before.json --netns nilab-node1',
    '<%= config.bin %> diff before.json after.json --flow 10.42.1.80 10.42.0.51:80 --json',
  ]
  static override enableJsonFlag = true
  static override args = {
    before: Args.string({description: 'the snapshot of "worked" (from `nodeinspect snapshot -o FILE`; .json or .json.gz)', required: true}),
    after: Args.string({description: 'the snapshot of "broken"; leave it out with --netns to compare with the node now'}),
  }
  static override flags = {
    netns: Flags.string({description: 'compare with the node now, read live inside this named network namespace, instead of a second snapshot'}),
    live: Flags.boolean({description: "compare with the host's own network namespace now, instead of a second snapshot", exclusive: ['netns'], default: false}),
    flow: Flags.string({description: 'a flow to trace on both: SRC DST[:PORT] (two words), e.g. --flow 10.42.1.80 10.42.0.51:80', multiple: true}),
    proto: Flags.string({description: 'the flow\'s protocol: tcp, udp or icmp (default: tcp with a port, icmp without)'}),
    sport: Flags.integer({description: 'the flow\'s source port (default: 40000)'}),
    mark: Flags.string({description: 'the mark the flow starts with, e.g. 0x200'}),
    timeout: Flags.integer({description: 'per-tool timeout in milliseconds when reading live (default: 20000; slow dumps get longer)', min: 100}),
  }

  async run(): Promise<DiffReport> {
    const {args, flags} = await this.parse(Diff)
    const live = flags.netns !== undefined || flags.live
    if (args.after !== undefined && live) throw new UserError(`give a second snapshot or ${flags.netns !== undefined ? '--netns' : '--live'}, not both: "${args.after}" and the node now`)
    if (args.after === undefined && !live) throw new UserError('missing the second reading: a second snapshot (diff BEFORE AFTER), or --netns NAME (or --live) for the node now')
    let flow: FlowSpec | undefined
    if (flags.flow !== undefined) {
      const words = flags.flow.flatMap((w) => w.split(/\s+/)).filter(Boolean)
      if (words.length !== 2)
        throw new UserError(`invalid --flow ${JSON.stringify(flags.flow.join(' ').slice(0, 80))}: expected SRC DST[:PORT], two words, e.g. --flow 10.42.1.80 10.42.0.51:80 (give the snapshots first: --flow takes the words after it)`)
      flow = parseFlow({src: words[0]!, dst: words[1]!, proto: flags.proto, sport: flags.sport, mark: flags.mark})
    } else if (flags.proto !== undefined || flags.sport !== undefined || flags.mark !== undefined) throw new UserError('--proto, --sport and --mark describe the flow: give --flow SRC DST[:PORT] too')
    const [beforeSrc, afterSrc] = await Promise.all([
      loadSnapshot(args.before).then((s) => new SnapshotSource(s, args.before)),
      args.after !== undefined ? loadSnapshot(args.after).then((s) => new SnapshotSource(s, args.after)) : Promise.resolve(liveSource({netns: flags.netns, timeoutMs: flags.timeout}) as Source),
    ])
    const [{buildNodeState}, {traceFlow}, {SourceKernelOracle}, {analyseDiff}] = await Promise.all([
      import('../state/build.js'),
      import('../analyses/path/trace.js'),
      import('../oracle/source-oracle.js'),
      import('../analyses/diff/diff.js'),
    ])
    // Everything `snapshot` records, so that what one side lacks is the node's, not the command's.
    const sides = await Promise.all(
      [beforeSrc, afterSrc].map(async (src) => {
        const state = await buildNodeState(src, {hooks: true, marks: true, trace: true})
        const unread = traceNodeUnread(state.label, state.hooks.readable)
        if (unread) throw new NodeUnreadableError(`diff: ${unread}`)
        const trace = flow ? await traceFlow([state], flow, new SourceKernelOracle(new Map([[state, src]]))) : undefined
        return {state, trace}
      }),
    )
    const report = analyseDiff(sides[0]!, sides[1]!, flow)
    if (!this.jsonEnabled()) {
      const [{renderDiff}, {styleFor}] = await Promise.all([import('../render/diff-text.js'), import('../render/style.js')])
      this.log(renderDiff(report, styleFor(), process.stdout.columns || 120))
    }
    return report
  }
}
