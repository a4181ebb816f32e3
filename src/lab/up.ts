/**
 * `lab up`: build the two-node Cilium-like lab of topology.ts in network namespaces by carrying out its plan
 * (plan.ts): namespaces, links, rules, maps, the lab's BPF programs attached like Cilium does, the listeners;
 * then read every attachment back (verify.ts) and write the state file. The lock, the owner mark, the refusal of
 * a lab that is up and the teardown after a failure are up-guard.ts's (shared with the CNI variants).
 */
import {existsSync, mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {UserError} from '../errors.js'
import {bpfHelperPath} from '../source/helper-path.js'
import {compileBpfObjects} from './bpf-objects.js'
import {labAsset, LabError, labRun, PROJECT_ROOT, parseLabJson} from './exec.js'
import {labPlan, type LabListenerSpec, type LabPlan, type LabPlanCommand} from './plan.js'
import {checkLabPrerequisites} from './privileges.js'
import {LAB_STATE_VERSION, writeLabState, type LabProcessState, type LabState} from './state.js'
import {guardedLabUp} from './up-guard.js'
import {labTopology, type ExpectedAttachment} from './topology.js'
import {verifyLab, type TcxAttachResult} from './verify.js'

export interface LabUpOptions {
  prefix: string
  /** Extra clang defines for every lab object, e.g. ['-DNI_MARK_OR=0x200'] (see lab/bpf/nilab.h). */
  bpfDefines?: string[]
  /**
   * The collide variant: node 1 also gets the marks of owners that collide (Cilium's mangle/filter rules and ip
   * rule, Istio's whole-mark writer and nibble match: src/lab/netfilter.ts) and its from-container program ORs
   * 0x800 into the mark (-DNI_MARK_OR on that one object).
   */
  collide?: boolean
  /** Tear down and rebuild a lab of this prefix that is up; without it, `lab up` refuses a running lab. */
  rebuild?: boolean
  /** Called before each step (for progress output). */
  onStep?: (step: string) => void
}

async function ensureHelper(): Promise<string> {
  const helper = bpfHelperPath()
  if (existsSync(helper)) return helper
  const makefile = join(PROJECT_ROOT, 'native', 'Makefile')
  if (!existsSync(makefile)) throw new LabError('helper', `helper: ${helper} is missing and ${makefile} is not there to build it`)
  await labRun('helper', ['make', '-s', '-C', join(PROJECT_ROOT, 'native')], {timeoutMs: 60_000})
  if (!existsSync(helper)) throw new LabError('helper', `helper: make did not produce ${helper}`)
  return helper
}

const run = ({step, argv, ...opts}: LabPlanCommand) => labRun(step, argv, opts)

export async function labUp(opts: LabUpOptions): Promise<LabState> {
  const started = performance.now()
  const topo = labTopology(opts.prefix)
  const step = (s: string) => opts.onStep?.(s)

  step('check')
  const pre = checkLabPrerequisites()
  if (!pre.ok) throw new UserError(`lab up: ${pre.reason}`)
  const helper = await ensureHelper()

  return guardedLabUp(topo.prefix, opts, () => build(labPlan(topo, opts), helper, step, started))
}

async function build(plan: LabPlan, helper: string, step: (s: string) => void, started: number): Promise<LabState> {
  const {topo} = plan
  mkdirSync(topo.stateDir, {recursive: true, mode: 0o755})

  // Compile in the background while the namespaces are built.
  const compiled = compileBpfObjects(plan.objects)
  compiled.catch(() => undefined)

  step('namespaces')
  await run(plan.namespaces)

  step('sysctls')
  await Promise.all(plan.sysctls.map(run))

  for (const {node, commands} of plan.links) {
    step(`links (${node})`)
    for (const c of commands) await run(c)
  }
  step('pods, ext, rules')
  await Promise.all([
    ...plan.podNetworks.map(run),
    ...plan.rules.map(async (commands) => {
      for (const c of commands) await run(c)
    }),
  ])

  // The listeners only need the pod network: start them now, in the background (awaited before the read back).
  const listening = startListeners(plan.listeners)
  listening.catch(() => undefined)

  step('bpffs')
  mkdirSync(topo.bpffs, {recursive: true})
  await run(plan.mountBpffs)
  for (const d of plan.bpffsDirs) mkdirSync(d, {recursive: true})

  step('maps')
  await run(plan.maps)

  step('compile')
  await compiled

  for (const {node, command} of plan.tc) {
    step(`tc (${node})`)
    await run(command)
  }
  for (const {node, command} of plan.xdp) {
    step(`xdp (${node})`)
    await run(command)
  }

  step('bpftool')
  await run(plan.bpftool)

  step('tcx')
  const tcxResults = new Map<ExpectedAttachment, TcxAttachResult>()
  for (const {attachment: a, helperArgs} of plan.tcx) {
    const what = `tcx attach (${a.node} ${a.devname})`
    const out = await labRun(what, [helper, ...helperArgs], {netns: a.netns})
    tcxResults.set(a, parseLabJson(what, out.stdout))
  }

  step('listeners')
  const processes = await listening

  step('read back')
  const back = await verifyLab(plan, helper, tcxResults)

  const state: LabState = {
    version: LAB_STATE_VERSION,
    prefix: topo.prefix,
    createdAt: new Date().toISOString(),
    upMs: 0,
    stateDir: topo.stateDir,
    statePath: topo.statePath,
    bpffs: topo.bpffs,
    flowMapPin: topo.flowMapPin,
    helper,
    namespaces: topo.namespaces,
    nodes: topo.nodes.map(({devices: devs, ...n}) => ({...n, devices: Object.values(devs).map((d) => d.name)})),
    pods: topo.pods,
    devices: back.devices,
    attachments: back.attachments,
    tailCalls: back.tailCalls,
    ciliumMaps: back.ciliumMaps,
    cilium: topo.cilium.map(({node, ipcache, endpoints, tunnels}) => ({node, ipcache, endpoints, tunnels})),
    processes,
    objects: plan.objects.map((p) => ({node: p.node, object: p.object, source: `lab/bpf/${p.source}`, defines: p.defines, path: p.path})),
    variant: plan.variant,
    ext: topo.ext,
    services: topo.services,
    flows: topo.flows,
    netfilter: back.netfilter,
    ...(back.collide ? {collide: back.collide} : {}),
  }
  state.upMs = Math.round(performance.now() - started)
  step('state')
  writeLabState(state)
  return state
}

/**
 * One `lab/httpd.mjs daemons` process starts every listener, each inside its own netns (nsenter), so `lab up`
 * pays for one extra Node start-up, not two per listener.
 */
export async function startListeners(specs: readonly LabListenerSpec[]): Promise<LabProcessState[]> {
  const out = await labRun('listeners', [process.execPath, labAsset('httpd.mjs'), 'daemons'], {input: JSON.stringify(specs), timeoutMs: 15_000})
  const started = parseLabJson<Array<{name: string; pid: number; listen: string}>>('listeners', out.stdout)
  return specs.map((s) => {
    const r = started.find((x) => x?.name === s.name)
    if (!r) throw new LabError('listeners', `listeners: ${s.name} did not start`)
    return {name: 'httpd', pod: s.name, netns: s.netns, pid: r.pid, listen: r.listen, pidFile: s.pidfile, peerLog: s.peerLog}
  })
}
