// The helper's `nft-tables` against the real kernel: a throwaway netns with iptables-nft rules and native nft tables
// made between them; the helper must list exactly the tables nft lists there, in the same order, with use counting
// their chains (and named sets), and say so again after the tables change.
import {existsSync} from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {checkLabPrerequisites} from '../../src/lab/privileges.js'
import {bpfHelperPath} from '../../src/source/helper-path.js'
import {runCommand} from '../../src/source/run-command.js'
import {createTestNetns, type TestNetns} from '../probes/netns-helpers.js'

const helper = bpfHelperPath()
const pre = checkLabPrerequisites(['ip', 'nft', 'iptables-restore', 'nsenter', 'setpriv'])
const skipReason = !pre.ok ? pre.reason : !existsSync(helper) ? `no helper binary at ${helper} (run: make -C native)` : ''
if (skipReason) console.warn(`test/native/nft-tables.test.ts: skipping the kernel tests: ${skipReason}`)

interface Listed {
  helper: string
  version: number
  supported: boolean
  tables: Array<{family: string; name: string; handle: number; use: number; flags: number}>
  dump_interrupted?: boolean
}

type NftItem = Record<string, {family: string; name?: string; table?: string; handle?: number}>

describe.skipIf(skipReason !== '')(`nodeinspect-bpf nft-tables on the kernel (${skipReason || 'root, nft, helper built'})`, () => {
  let ns: TestNetns

  /** The helper inside the test netns (entered by its holder's ns file: the name may be swept by another run). */
  const helperIn = (...pre: string[]) => runCommand({file: 'nsenter', args: [`--net=${ns.path}`, '--', ...pre, helper, 'nft-tables'], logicalArgv: [helper, 'nft-tables'], timeoutMs: 20_000})
  const listed = async (): Promise<Listed> => {
    const r = await helperIn()
    expect(r.stderr).toBe('')
    expect(r.exitCode).toBe(0)
    return JSON.parse(r.stdout) as Listed
  }
  const nftJson = async (...what: string[]): Promise<NftItem[]> => (JSON.parse((await ns.sh(['nft', '-j', 'list', ...what])).stdout) as {nftables: NftItem[]}).nftables

  beforeAll(async () => {
    ns = await createTestNetns('nfttables')
    await ns.sh(['ip', 'link', 'set', 'lo', 'up'])
    // iptables-nft first (ip mangle, ip nat), then two native tables, then ip6tables-nft (ip6 raw): the kernel's
    // order is the order they were made, so the native ones sit between iptables-nft's.
    await ns.sh(['iptables-restore'], '*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j MARK --set-xmark 0x40/0x40\nCOMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n-A PREROUTING -j KUBE-SERVICES\nCOMMIT\n')
    await ns.sh(['nft', 'add', 'table', 'inet', 'ni_a'])
    await ns.sh(['nft', 'add', 'chain', 'inet', 'ni_a', 'pre', '{ type filter hook prerouting priority 0; }'])
    await ns.sh(['nft', 'add', 'rule', 'inet', 'ni_a', 'pre', 'meta', 'mark', 'set', 'meta', 'mark', 'or', '0x10'])
    await ns.sh(['nft', 'add', 'table', 'ip', 'ni_b'])
    await ns.sh(['nft', 'add', 'chain', 'ip', 'ni_b', 'one'])
    await ns.sh(['nft', 'add', 'chain', 'ip', 'ni_b', 'two'])
    await ns.sh(['ip6tables', '-t', 'raw', '-A', 'PREROUTING', '-j', 'ACCEPT'])
  })

  afterAll(async () => {
    await ns?.close()
  })

  it('exactly the tables nft lists, in its order, with their handles, and use = their chains', async () => {
    const got = await listed()
    expect(got).toMatchObject({helper: 'nodeinspect-bpf', version: 1, supported: true})
    expect(got.dump_interrupted).toBeUndefined()
    const ruleset = await nftJson('ruleset')
    const tables = ruleset.filter((x) => x.table).map((x) => ({family: x.table!.family, name: x.table!.name!, handle: x.table!.handle!}))
    const chainsOf = (t: {family: string; name: string}) => ruleset.filter((x) => x.chain && x.chain.family === t.family && x.chain.table === t.name).length
    expect(got.tables.map((t) => `${t.family} ${t.name}`)).toEqual(['ip mangle', 'ip nat', 'inet ni_a', 'ip ni_b', 'ip6 raw'])
    expect(got.tables.map(({family, name, handle}) => ({family, name, handle}))).toEqual(tables)
    expect(got.tables.map((t) => t.use)).toEqual(tables.map(chainsOf))
    expect(got.tables.map((t) => t.flags)).toEqual([0, 0, 0, 0, 0])
    // `nft -j list chains`, which marks and trace read before: the same tables, in the same order.
    const byChains = [...new Set((await nftJson('chains')).filter((x) => x.chain).map((x) => `${x.chain!.family} ${x.chain!.table}`))]
    expect(byChains).toEqual(got.tables.map((t) => `${t.family} ${t.name}`))
  })

  it('follows the tables as they change: a new table comes last, a deleted one is gone, a named set counts in use', async () => {
    await ns.sh(['nft', 'add', 'table', 'bridge', 'ni_c'])
    await ns.sh(['nft', 'add', 'set', 'ip', 'ni_b', 'allowed', '{ type ipv4_addr; }'])
    await ns.sh(['nft', 'delete', 'table', 'inet', 'ni_a'])
    const got = await listed()
    expect(got.tables.map((t) => `${t.family} ${t.name} ${t.use}`)).toEqual(['ip mangle 1', 'ip nat 2', 'ip ni_b 3', 'ip6 raw 1', 'bridge ni_c 0'])
    const tables = (await nftJson('tables')).filter((x) => x.table).map((x) => `${x.table!.family} ${x.table!.name}`)
    expect(got.tables.map((t) => `${t.family} ${t.name}`)).toEqual(tables)
  })

  it('errors as the other subcommands report them: {"error"} on stdout, one line on stderr, exit 1 (2 for usage)', async () => {
    // Every nfnetlink message needs CAP_NET_ADMIN (net/netfilter/nfnetlink.c nfnetlink_rcv).
    const noAdmin = await helperIn('setpriv', '--bounding-set=-net_admin', '--inh-caps=-net_admin')
    expect(noAdmin.exitCode).toBe(1)
    expect(JSON.parse(noAdmin.stdout)).toEqual({error: 'NFT_MSG_GETTABLE: Operation not permitted (needs CAP_NET_ADMIN in this network namespace)'})
    expect(noAdmin.stderr).toBe('nodeinspect-bpf: NFT_MSG_GETTABLE: Operation not permitted (needs CAP_NET_ADMIN in this network namespace)\n')
    const usage = await runCommand({file: helper, args: ['nft-tables', 'extra'], logicalArgv: [helper, 'nft-tables', 'extra'], timeoutMs: 20_000})
    expect(usage.exitCode).toBe(2)
    expect(JSON.parse(usage.stdout)).toEqual({error: "nft-tables: unknown argument 'extra' (usage: nft-tables)"})
  })
})
