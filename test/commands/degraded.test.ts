// What each command says when tools are missing, on the real kernel: PATH holds only a shim directory with the
// tools a case keeps (symlinks to the real ones), and a throwaway netns is inspected through --netns.
// Total failure (nothing the command needs could be read) is one line and exit 3; partial failure is the answer
// with warnings and exit 0 (README "Degraded environments").
import {mkdtempSync, rmSync, symlinkSync} from 'node:fs'
import {spawnSync} from 'node:child_process'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {cli} from '../helpers/cli.js'
import {createTestNetns, liveSkipReason, type TestNetns} from '../probes/netns-helpers.js'

const skip = liveSkipReason(['nft'])
if (skip) console.warn(`test/commands/degraded.test.ts: ${skip}`)

/** A directory holding only `tools` (symlinks to the real ones), to be the whole PATH. */
function shim(tools: readonly string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'ni-shim-'))
  for (const t of tools) {
    const real = spawnSync('sh', ['-c', `command -v ${t}`], {encoding: 'utf8'}).stdout.trim()
    if (real) symlinkSync(real, join(dir, t))
  }
  return dir
}

describe.skipIf(!!skip)('missing tools: total failure says why and exits 3, partial failure answers with warnings', () => {
  let ns: TestNetns
  const dirs: string[] = []
  const withPath = (tools: readonly string[]) => {
    const d = shim(tools)
    dirs.push(d)
    return {env: {PATH: d}}
  }

  beforeAll(async () => {
    // A name under /run/netns for --netns; the holder keeps it alive (netns-helpers.ts).
    ns = await createTestNetns('deg')
    await ns.sh(['ip', 'link', 'add', 'ni-d0', 'type', 'veth', 'peer', 'name', 'ni-d1'])
    // A native nft table with a mark rule: without nft, its rules are what marks loses.
    await ns.sh(['nft', '-f', '-'], 'table inet ni_deg {\n\tchain pre {\n\t\ttype filter hook prerouting priority 0;\n\t\tmeta mark 0x40 accept\n\t}\n}\n')
  })

  afterAll(async () => {
    await ns?.close()
    for (const d of dirs) rmSync(d, {recursive: true, force: true})
  })

  describe('nsenter missing: nothing can enter the netns', () => {
    for (const [cmd, re] of [
      [['hooks'], /^nodeinspect: hooks: no device list could be read: ip -j -d addr show, bpftool -j net show, nodeinspect-bpf query: cannot enter netns ni-t\d+-deg: nsenter is not installed \(util-linux\)/],
      [['marks'], /^nodeinspect: marks: no source of mark use could be read: iptables-save, ip6tables-save, .*nft -j list chains, .*: cannot enter netns ni-t\d+-deg: nsenter is not installed \(util-linux\)/],
      [['trace', '10.0.0.1', '10.0.0.2:80'], /^nodeinspect: trace: node ni-t\d+-deg: no device list could be read \(ip -j -d addr show: cannot enter netns ni-t\d+-deg: nsenter is not installed \(util-linux\)/],
    ] as const) {
      it(cmd[0], () => {
        const r = cli([...cmd, '--netns', ns.name], withPath([]))
        expect(r.status).toBe(3)
        expect(r.stdout).toBe('')
        expect(r.stderr).toMatch(re)
        expect(r.stderr.trim().split('\n')).toHaveLength(1)
      })
    }

    it('--json too: the error, never a document that would read as "0 devices"', () => {
      const r = cli(['hooks', '--netns', ns.name, '--json'], withPath([]))
      expect(r.status).toBe(3)
      const doc = JSON.parse(r.stdout) as {error: {message: string; exit: number}; devices?: unknown}
      expect(doc.error.exit).toBe(3)
      expect(doc.error.message).toMatch(/^hooks: no device list could be read: /)
      expect(doc.devices).toBeUndefined()
    })
  })

  describe('every tool missing but nsenter: the tools are named', () => {
    it('hooks', () => {
      const r = cli(['hooks', '--netns', ns.name], withPath(['nsenter']))
      expect(r.status).toBe(3)
      expect(r.stderr).toMatch(/^nodeinspect: hooks: no device list could be read: ip -j -d addr show: ip is not installed \(not found in PATH\); bpftool -j net show: bpftool is not installed/)
    })
  })

  describe('only nsenter and ip: partial answers, exit 0, each loss in a warning', () => {
    it('hooks lists the devices, and says which attachment sources are missing', () => {
      const r = cli(['hooks', '--netns', ns.name], withPath(['nsenter', 'ip']))
      expect(r.stderr).toBe('')
      expect(r.status).toBe(0)
      expect(r.stdout).toMatch(/^3 devices, 0 with programs/m)
      expect(r.stdout).toContain('warning: bpftool -j net show: bpftool is not installed (not found in PATH)')
      expect(r.stdout).toContain('warning: tc -j -force -batch -: tc is not installed (not found in PATH)')
    })

    it('marks answers from ip rule and xfrm, and names what it could not read', () => {
      const r = cli(['marks', '--netns', ns.name, '--json'], withPath(['nsenter', 'ip']))
      expect(r.status).toBe(0)
      const doc = JSON.parse(r.stdout) as {warnings: Array<{message: string}>}
      const msgs = doc.warnings.map((w) => w.message)
      expect(msgs).toContain('iptables-save: iptables-save is not installed (not found in PATH)')
      // The helper listed the tables (nft-tables): only the native one needed nft.
      expect(msgs).toContain('nft -j list table inet ni_deg: nft is not installed (not found in PATH)')
      expect(msgs.filter((m) => m.startsWith('nft '))).toHaveLength(1)
      expect(msgs).toContain('ss -H -O -a -n -e -p -t -u -w: ss is not installed (not found in PATH)')
    })

    it('marks without the helper too: nft -j list chains would have named the tables, and says nft is missing', () => {
      const r = cli(['marks', '--netns', ns.name, '--json'], {env: {...withPath(['nsenter', 'ip']).env, NODEINSPECT_BPF_HELPER: '/nonexistent/nodeinspect-bpf'}})
      expect(r.status).toBe(0)
      const msgs = (JSON.parse(r.stdout) as {warnings: Array<{message: string}>}).warnings.map((w) => w.message)
      expect(msgs).toContain('nft -j list chains: nft is not installed (not found in PATH)')
      expect(msgs.filter((m) => m.includes('nft-tables'))).toEqual([])
    })
  })
})
