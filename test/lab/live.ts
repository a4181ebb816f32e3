// Shared by the live lab tests: why they would skip, and sweeping what a crashed earlier run left behind.
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {checkLabPrerequisites} from '../../src/lab/privileges.js'
import {labDown} from '../../src/lab/teardown.js'
import {LAB_RUN_ROOT, labTopology} from '../../src/lab/topology.js'
import {runCommand} from '../../src/source/run-command.js'
import {bpfHelperPath} from '../../src/source/helper-path.js'

/**
 * Per-test timeout of the live lab tests: a guard against a hang, not a speed bound. One CLI run against the lab
 * takes a few seconds on an idle 2-core machine and went past 60 s on a loaded one (load average 17), and a test
 * makes up to two of them plus probes; vitest's default here (30 s) made those tests fail on a slow machine.
 */
export const LIVE_LAB_TEST_TIMEOUT = 600_000

/** Empty when the live lab can run here; else one line saying why not. */
export function liveLabSkipReason(extraTools: readonly string[] = []): string {
  const pre = checkLabPrerequisites()
  const tools = checkLabPrerequisites(extraTools)
  return [pre.reason, tools.missingTools.length ? `missing tools: ${tools.missingTools.join(', ')}` : '', existsSync(bpfHelperPath()) ? '' : `no helper binary at ${bpfHelperPath()} (run: make -C native)`]
    .filter(Boolean)
    .join('; ')
}

/** Labs `nilab-t<pid><suffix>` of test runs whose process is gone (their namespaces or state directories). */
export async function sweepStaleLabs(suffix: string): Promise<void> {
  const re = new RegExp(`^(nilab-t(\\d+)${suffix})(?:-|$)`)
  const prefixes = new Set<string>()
  const names = [...(existsSync('/run/netns') ? readdirSync('/run/netns') : []), ...(existsSync(LAB_RUN_ROOT) ? readdirSync(LAB_RUN_ROOT) : [])]
  for (const n of names) {
    const m = re.exec(n)
    if (m && !existsSync(`/proc/${m[2]}`)) prefixes.add(m[1]!)
  }
  for (const p of prefixes) await labDown(p)
}

const ROOT_SYSCTLS = [
  'net.ipv4.ip_forward',
  'net.ipv4.conf.all.rp_filter',
  'net.ipv4.conf.default.rp_filter',
  'net.ipv4.conf.all.proxy_arp',
  'net.ipv4.conf.all.arp_ignore',
  'net.ipv6.conf.all.disable_ipv6',
  'net.bridge.bridge-nf-call-iptables',
]

/**
 * The host's own network state and mounts, to compare before and after (the root netns must be left exactly as
 * it was). Other concurrent test runs' throwaway mounts and labs are left out; this lab's are kept.
 */
export async function hostStateSnapshot(prefix: string): Promise<Record<string, string>> {
  const stateDir = labTopology(prefix).stateDir
  const cmds: Record<string, string[]> = {
    'ip -j -d link': ['ip', '-j', '-d', 'link', 'show'],
    'ip -j route show table all': ['ip', '-j', 'route', 'show', 'table', 'all'],
    'ip -j -6 route show table all': ['ip', '-j', '-6', 'route', 'show', 'table', 'all'],
    'ip -j rule': ['ip', '-j', 'rule'],
    'iptables-save': ['iptables-save'],
    'nft list ruleset': ['nft', 'list', 'ruleset'],
  }
  const out: Record<string, string> = {}
  for (const [name, argv] of Object.entries(cmds)) {
    const r = await runCommand({file: argv[0]!, args: argv.slice(1), logicalArgv: argv, timeoutMs: 20_000})
    let text = r.failure === 'missing-binary' ? '<not installed>' : `${r.stdout}${r.failure ? `\n<${r.message}>` : ''}`
    // Timestamps and packet counters are not state.
    if (name === 'iptables-save') text = text.split('\n').filter((l) => !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]/g, '[0:0]')).join('\n')
    if (name === 'nft list ruleset') text = text.replace(/packets \d+ bytes \d+/g, 'packets 0 bytes 0')
    out[name] = text
  }
  // Mounts minus /run/netns (ip netns bind mounts) and minus other concurrent test runs' own throwaway mounts.
  const others = (p: string) => (/^\/run\/nodeinspect-test-\d+(\/|$)/.test(p) && !p.startsWith(`/run/nodeinspect-test-${process.pid}`)) || (p.startsWith(`${LAB_RUN_ROOT}/`) && !p.startsWith(`${stateDir}/`) && p !== `${stateDir}`)
  out.mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const f = l.split(' ')
      const dash = f.indexOf('-')
      return `${f[4]} ${f[dash + 1]} ${f[dash + 2]}`
    })
    .filter((m) => !m.startsWith('/run/netns ') && !m.startsWith('/run/netns/') && !others(m.split(' ')[0]!))
    .sort()
    .join('\n')
  // The root netns's sysctls the labs set in their own namespaces (the CNI variants' br_netfilter and proxy ARP
  // included): per-netns keys, which a lab must never change here.
  out.sysctls = ROOT_SYSCTLS.map((k) => {
    try {
      return `${k} = ${readFileSync(`/proc/sys/${k.replaceAll('.', '/')}`, 'utf8').trim()}`
    } catch {
      return `${k} absent`
    }
  }).join('\n')
  out.netns = readdirSync('/run/netns')
    .filter((n) => n.startsWith(`${prefix}-`))
    .sort()
    .join('\n')
  return out
}
