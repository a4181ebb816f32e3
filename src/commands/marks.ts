import {Flags} from '@oclif/core'
import {MAX_FLOW_PAIRS} from '../analyses/mark-flow-limit.js'
import type {MarksReport} from '../analyses/marks.js'
import {nothingRead} from '../analyses/readable.js'
import {BaseCommand, sourceFlags} from '../cli/base-command.js'
import {buildNodeState} from '../state/build.js'
import {sourceFrom} from '../state/sources.js'
import {NodeUnreadableError, UserError} from '../errors.js'
import {tryParseMarkSpec} from '../model/mark.js'
import {compact} from '../util/compact.js'
import type {MarksFleetReport} from '../analyses/mark-drift.js'
import type {NodeIdentity} from '../analyses/hooks.js'
import {SnapshotSource, loadSnapshot} from '../source/snapshot.js'
import {snapshotFilesOf} from '../source/snapshot-dir.js'
import type {Source} from '../source/types.js'
import {mapLimit} from '../util/map-limit.js'

/** Snapshots of a folder read and analysed at once. */
const SNAPSHOTS_AT_ONCE = 8

function identityOf(src: Source): NodeIdentity {
  const m = src.meta
  return compact({hostname: m.hostname, kernel: m.kernel, netns: m.netns, source: m.kind, snapshotFile: m.snapshotFile, takenAt: m.takenAt, note: m.note})
}

export default class Marks extends BaseCommand {
  static override summary = 'Who sets and who matches every bit of the packet mark, who owns it, and where owners collide'
  static override description = `Reads every source of mark use on the node — iptables/ip6tables (nft and legacy backends), native nft
tables, ip rules, tc filters, xfrm states and policies, and the eBPF programs on hooks (from their
instructions) — and shows a 32-bit map of owners, the fields and values each owner uses, every use with its
evidence, the flows from writers to readers (grouped: uses alike in owner, operation and hooks count once),
and findings where owners collide. --flows, --rule, --bit and --mask also list the write → read pairs
themselves (at most ${MAX_FLOW_PAIRS.toLocaleString('en-US')}). --json prints the nodeinspect.marks/v2 schema (docs/json-marks.md).`
  static override examples = [
    '<%= config.bin %> marks',
    '<%= config.bin %> marks --bit 14',
    '<%= config.bin %> marks --rule u12',
    '<%= config.bin %> marks --rule KUBE-POSTROUTING --json',
    '<%= config.bin %> marks --mask 0xf00 --netns nilab-node1',
    '<%= config.bin %> marks --snapshot node.json --json',
    {description: 'A fleet: every snapshot in a folder, and the bits its nodes use differently:', command: '<%= config.bin %> marks --snapshot snapshots/'},
  ]
  static override enableJsonFlag = true
  static override flags = {
    bit: Flags.integer({description: 'focus on one bit (0-31)', min: 0, max: 31, exclusive: ['mask']}),
    mask: Flags.string({description: 'focus on the bits of this mask, e.g. 0xf00', exclusive: ['bit']}),
    rule: Flags.string({description: 'focus on these uses: ids as listed (u12, comma-separated) or rules by place, [TABLE/]CHAIN[#POSITION]'}),
    'all-bits': Flags.boolean({description: 'list all 32 bits in the bit table, not only those in use (the text view; --json always has all 32)'}),
    flows: Flags.boolean({description: `list every write → read pair too, not only the groups (at most ${MAX_FLOW_PAIRS.toLocaleString('en-US')})`}),
    ...sourceFlags,
  }

  async run(): Promise<MarksReport | MarksFleetReport> {
    const {flags} = await this.parse(Marks)
    let mask: number | undefined
    if (flags.mask !== undefined) {
      const r = tryParseMarkSpec(flags.mask)
      if ('error' in r || r.mark.mask !== 0xffffffff) throw new UserError(`invalid --mask "${flags.mask}": expected a 32-bit value such as 0xf00`)
      if (r.mark.value === 0) throw new UserError(`invalid --mask "${flags.mask}": it selects no bit`)
      mask = r.mark.value
    }
    if (flags.snapshot !== undefined) {
      const {files, directory} = await snapshotFilesOf(flags.snapshot)
      if (directory !== undefined) {
        if (flags.bit !== undefined || mask !== undefined || flags.rule !== undefined || flags.flows)
          throw new UserError(`--snapshot ${directory} is a folder: its nodes are compared bit by bit; --bit, --mask, --rule and --flows take one node's snapshot`)
        return this.fleet(directory, files)
      }
    }
    const src = await sourceFrom(flags)
    // The analyses load while the node is read (its tools start first: state/build.ts).
    const [state, {selectRules}, {analyseMarks}, {markUsagesOf}] = await Promise.all([buildNodeState(src, {marks: true}), import('../analyses/mark-focus.js'), import('../analyses/marks.js'), import('../analyses/mark-uses.js')])
    const unread = nothingRead(state.markSourcesRead)
    if (unread) throw new NodeUnreadableError(`marks: no source of mark use could be read: ${unread}`)
    const node = identityOf(src)
    const usages = markUsagesOf(state)
    let rule: {spec: string; ids: Set<string>} | undefined
    if (flags.rule !== undefined) {
      const sel = selectRules(usages, flags.rule)
      if ('error' in sel) throw new UserError(`invalid --rule "${flags.rule}": ${sel.error}`)
      rule = {spec: flags.rule, ids: sel.selected}
    }
    const report = analyseMarks(node, usages, state.warnings, {bit: flags.bit, mask, rule, flows: flags.flows})
    if (!this.jsonEnabled()) {
      const [{renderMarks}, {styleFor}] = await Promise.all([import('../render/marks-table.js'), import('../render/style.js')])
      this.log(renderMarks(report, styleFor(process.stdout, flags['no-color']), process.stdout.columns || 140, {allBits: flags['all-bits']}))
    }
    return report
  }

  /** `--snapshot DIR`: every node's overview and the bits they use differently. */
  private async fleet(directory: string, files: string[]): Promise<MarksFleetReport> {
    const {markUsagesOf} = await import('../analyses/mark-uses.js')
    const nodes = await mapLimit(files, SNAPSHOTS_AT_ONCE, async (file) => {
      const src = new SnapshotSource(await loadSnapshot(file), file)
      const state = await buildNodeState(src, {marks: true})
      const unread = nothingRead(state.markSourcesRead)
      if (unread) throw new NodeUnreadableError(`marks: ${file}: no source of mark use could be read: ${unread}`)
      return {file, label: state.label, node: identityOf(src), usages: markUsagesOf(state), warnings: state.warnings}
    })
    // A node is named by its label; where two files hold the same label (before/after of one node), by its file.
    const named = nodes.map((n) => ({...n, name: nodes.filter((o) => o.label === n.label).length > 1 ? n.file.slice(directory.length).replace(/^\/+/, '') : n.label}))
    const {analyseMarksFleet} = await import('../analyses/mark-drift.js')
    const report = analyseMarksFleet([directory], named)
    if (!this.jsonEnabled()) {
      const [{renderMarksFleet}, {styleFor}] = await Promise.all([import('../render/marks-fleet.js'), import('../render/style.js')])
      this.log(renderMarksFleet(report, styleFor(), process.stdout.columns || 140))
    }
    return report
  }

  /**
   * oclif's own logJson colourises by tokenising the whole pretty-printed text into one object per token, many
   * times the report's size on a large node: this writes the same JSON text, once.
   */
  protected override logJson(json: unknown): void {
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`)
  }
}
