import {Flags} from '@oclif/core'
import {analyseHooks, hooksUnreadable, type HooksReport} from '../analyses/hooks.js'
import {BaseCommand, sourceFlags} from '../cli/base-command.js'
import {probeLabel} from '../probes/descriptor.js'
import {ipLinksProbe} from '../probes/ip-link.js'
import {buildNodeState} from '../state/build.js'
import {sourceFrom} from '../state/sources.js'
import {NodeUnreadableError, quoteInput, UserError} from '../errors.js'

/** An altname is at most 127 characters (ALTIFNAMSIZ 128 with its NUL, include/uapi/linux/if.h); a name 15. */
const MAX_DEV_PATTERN = 127

function checkDevPattern(p: string): void {
  if (p === '') throw new UserError(`invalid --dev "": give a device name or glob, e.g. eth0 or 'lxc*' (leave --dev out for every device)`)
  if (p.length > MAX_DEV_PATTERN) throw new UserError(`invalid --dev ${quoteInput(p, 32)}: longer than any device name or altname (${MAX_DEV_PATTERN} characters at most)`)
}

export default class Hooks extends BaseCommand {
  static override summary = 'Which eBPF programs sit on which hook of each device, and what they are'
  static override description = `Reads XDP, tc clsact, tcx, netkit and flow-dissector attachments of every device (bpftool, tc, ip and the
nodeinspect-bpf helper for tcx/netkit, which Debian 12's bpftool cannot see), with each program's id, type,
name, tag, object and section, load time and maps, and what it is where nodeinspect recognises it.
A constant number of tool runs, whatever the number of devices. --json prints the nodeinspect.hooks/v1 schema.`
  static override examples = ['<%= config.bin %> hooks', '<%= config.bin %> hooks --dev eth0', "<%= config.bin %> hooks --dev 'lxc*' --netns nilab-node1 --json", '<%= config.bin %> hooks --snapshot node1.json']
  static override enableJsonFlag = true
  static override flags = {
    dev: Flags.string({description: "only devices whose name (or altname, or ifindex) matches this glob (* any run, ? one character), e.g. eth0 or 'lxc*'"}),
    ...sourceFlags,
  }

  async run(): Promise<HooksReport> {
    const {flags} = await this.parse(Hooks)
    if (flags.dev !== undefined) checkDevPattern(flags.dev)
    // The table's renderer loads while the node is read (it is not needed for --json).
    const rendererP = this.jsonEnabled() ? undefined : Promise.all([import('../render/hooks-table.js'), import('../render/style.js')])
    const src = await sourceFrom(flags)
    const state = await buildNodeState(src, {hooks: true})
    const unreadable = hooksUnreadable(state.hooks.readable)
    if (unreadable) throw new NodeUnreadableError(`hooks: ${unreadable}`)
    const report = analyseHooks(state, {dev: flags.dev})
    if (flags.dev !== undefined && report.devices.length === 0) {
      const fatal = report.warnings.find((w) => w.probe === probeLabel(ipLinksProbe))
      throw new UserError(fatal ? `no devices could be read: ${fatal.message}` : `no device matches --dev ${quoteInput(flags.dev)}`)
    }
    if (rendererP) {
      const [{renderHooksTable}, {styleFor}] = await rendererP
      this.log(renderHooksTable(report, styleFor(process.stdout, flags['no-color']), process.stdout.columns || 120))
    }
    return report
  }
}
