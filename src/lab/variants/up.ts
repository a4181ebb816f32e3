/**
 * `lab up --variant NAME` for a CNI variant: refuse a variant this kernel cannot carry (with its reason), then, in
 * the guard every lab up shares (up-guard.ts), carry out the variant's plan phase by phase, start its listeners,
 * read it back (verify.ts) and write the state file.
 */
import {mkdirSync} from 'node:fs'
import {UserError} from '../../errors.js'
import {labRun} from '../exec.js'
import type {LabPlanCommand} from '../plan.js'
import {checkLabPrerequisites} from '../privileges.js'
import {LAB_STATE_VERSION, writeLabState} from '../state.js'
import {validatePrefix} from '../topology.js'
import {startListeners} from '../up.js'
import {guardedLabUp} from '../up-guard.js'
import {LAB_VARIANT_NAMES, labVariant} from './registry.js'
import type {LabVariantState} from './state.js'
import type {LabVariantPlan} from './variant-plan.js'
import {verifyVariantLab} from './verify.js'

export interface LabVariantUpOptions {
  prefix: string
  variant: string
  rebuild?: boolean
  onStep?: (step: string) => void
  /** A plan to carry out instead of the variant's own (the live tests break one step with it). */
  plan?: LabVariantPlan
}

const run = ({step, argv, ...opts}: LabPlanCommand) => labRun(step, argv, opts)

/**
 * Why this variant cannot be built here (unknown name, or the kernel lacks what it needs), or undefined.
 * @internal tested directly (a test seam)
 */
export function variantUnavailable(name: string): string | undefined {
  const def = labVariant(name)
  if (!def) return `unknown variant "${name}" (variants: ${LAB_VARIANT_NAMES.join(', ')})`
  return def.unavailable?.()
}

export async function labUpVariant(opts: LabVariantUpOptions): Promise<LabVariantState> {
  const started = performance.now()
  const step = (s: string) => opts.onStep?.(s)
  validatePrefix(opts.prefix)
  const why = variantUnavailable(opts.variant)
  if (why) throw new UserError(`lab up --variant ${opts.variant}: ${why}`)
  const plan = opts.plan ?? labVariant(opts.variant)!.plan(opts.prefix)
  if (plan.prefix !== opts.prefix || plan.variant !== opts.variant) throw new UserError(`lab up --variant ${opts.variant}: the plan is for variant ${plan.variant}, prefix ${plan.prefix}`)

  step('check')
  const tools = ['ip', 'bridge', 'nsenter', 'sysctl', 'iptables-restore', 'iptables-save', ...(plan.nft.length ? ['nft'] : [])]
  const pre = checkLabPrerequisites(tools)
  if (!pre.ok) throw new UserError(`lab up: ${pre.reason}`)

  return guardedLabUp(plan.prefix, opts, () => build(plan, step, started))
}

async function build(plan: LabVariantPlan, step: (s: string) => void, started: number): Promise<LabVariantState> {
  mkdirSync(plan.stateDir, {recursive: true, mode: 0o755})
  for (const phase of plan.phases) {
    step(phase.step)
    await Promise.all(phase.commands.map(run))
  }
  step('listeners')
  const processes = await startListeners(plan.listeners)
  step('read back')
  const back = await verifyVariantLab(plan)
  const state: LabVariantState = {
    version: LAB_STATE_VERSION,
    prefix: plan.prefix,
    variant: plan.variant,
    summary: plan.summary,
    createdAt: new Date().toISOString(),
    upMs: 0,
    stateDir: plan.stateDir,
    statePath: plan.statePath,
    namespaces: plan.namespaces,
    nodes: plan.nodes,
    pods: plan.pods,
    ...(plan.outside ? {outside: plan.outside} : {}),
    services: plan.services,
    flows: plan.flows,
    processes,
    ...back,
  }
  state.upMs = Math.round(performance.now() - started)
  step('state')
  writeLabState(state)
  return state
}
