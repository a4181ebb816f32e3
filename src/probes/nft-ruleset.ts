/**
 * `nft -j list ruleset` (nftables 1.0.6 on Debian 12, JSON schema version 1).
 *
 * Native nft rules are fully structured in JSON, so each rule keeps its expression list for an evaluator, and
 * mark reads/writes are extracted on the side. Rules that iptables-nft wrote carry its extensions as opaque
 * `{"xt":{"type":"target","name":"MARK"}}` (docs/kernel-notes.md#kn-7-nft-json-hides-xt): those tables are flagged to be read through
 * iptables-save instead, so no rule is counted twice.
 */
import type {NftBaseChain, NftChain, NftRule, NftRuleset, NftSet, NftTable} from '../model/netfilter.js'
import type {RawOutput, Source} from '../source/types.js'
import {parseJson, problem, rawJson, shown} from './parsed.js'
import type {Parsed, ParseProblem} from '../model/warning.js'
import {int, str} from './nft-ruleset/json.js'
import {classifyOwner} from './nft-ruleset/owners.js'
import {readStatements, resolveNamedVmaps} from './nft-ruleset/statements.js'
import {isJsonObject, type JsonObject} from '../util/json.js'

/** @internal tested directly (a test seam) */
export const NFT_LIST_RULESET_ARGV = ['nft', '-j', 'list', 'ruleset'] as const
/** 110k iptables-nft rules take nft -j ~7 s and 854 MB (docs/kernel-notes.md#kn-8-ruleset-scale). */
const NFT_LIST_RULESET_TIMEOUT_MS = 60_000

/** @internal tested directly (a test seam) */
export function collectNftRuleset(src: Source): Promise<RawOutput> {
  return src.run({argv: NFT_LIST_RULESET_ARGV, timeoutMs: NFT_LIST_RULESET_TIMEOUT_MS})
}

const PROBE = 'nft -j list ruleset'

/** Objects nft lists that hold no rules and that nothing here evaluates. */
const IGNORED_OBJECTS = new Set(['counter', 'quota', 'ct helper', 'ct timeout', 'ct expectation', 'limit', 'secmark', 'synproxy', 'flowtable', 'element', 'tunnel'])

/**
 * Parse `nft -j list ruleset`, e.g.
 * `{"rule":{"family":"ip","table":"kube-proxy","chain":"mark-for-masquerade","handle":77,"expr":[{"mangle":{"key":{"meta":{"key":"mark"}},"value":{"|":[{"meta":{"key":"mark"}},16384]}}}]}}`.
 * Problems carry no line numbers (nft prints one line); the message names the `nftables[i]` element.
 */
export function parseNftJson(text: string): Parsed<NftRuleset> {
  const problems: ParseProblem[] = []
  const facts: NftRuleset = {tables: []}
  const {value, problem: p} = parseJson(PROBE, text)
  if (p) return {facts, problems: [p]}
  if (!isJsonObject(value) || !Array.isArray(value.nftables)) {
    problems.push(problem(PROBE, 'expected {"nftables": [...]}', undefined, text.slice(0, 200)))
    return {facts, problems}
  }
  const items = value.nftables as unknown[]
  const tables = new Map<string, NftTable>()
  const chains = new Map<string, NftChain>()
  const key = (family: string, table: string) => `${family}\u0000${table}`
  const bad = (i: number, msg: string, v: unknown) => problems.push(problem(PROBE, `nftables[${i}]: ${msg}`, undefined, rawJson(v)))

  // Pass 1: metainfo, tables, chains, sets. nft lists them before the rules, but do not rely on it.
  let sawMeta = false
  for (let i = 0; i < items.length; i++) {
    const it = items[i]
    if (!isJsonObject(it)) {
      bad(i, 'not an object', it)
      continue
    }
    const kind = Object.keys(it)[0] ?? ''
    const o = it[kind]
    if (kind === 'rule') continue
    if (!isJsonObject(o)) {
      bad(i, `"${kind}" is not an object`, it)
      continue
    }
    switch (kind) {
      case 'metainfo': {
        sawMeta = true
        const v = str(o.version)
        if (v !== undefined) facts.nftVersion = v
        const sv = int(o.json_schema_version)
        if (sv !== undefined) facts.schemaVersion = sv
        if (sv !== 1) problems.push(problem(PROBE, `json_schema_version ${sv ?? 'missing'}: this parser knows version 1 only; reading it anyway`))
        break
      }
      case 'table': {
        const family = str(o.family)
        const name = str(o.name)
        if (family === undefined || name === undefined) {
          bad(i, 'table without family or name', it)
          break
        }
        const t: NftTable = {family, name, owner: 'nft', readThrough: 'nft', xtCount: 0, chains: [], sets: []}
        const h = int(o.handle)
        if (h !== undefined) t.handle = h
        const flags = o.flags
        if (typeof flags === 'string') t.flags = [flags]
        else if (Array.isArray(flags)) t.flags = flags.map(shown)
        const c = str(o.comment)
        if (c !== undefined) t.comment = c
        if (tables.has(key(family, name))) bad(i, `table ${family} ${name} listed twice`, it)
        tables.set(key(family, name), t)
        facts.tables.push(t)
        break
      }
      case 'chain': {
        const t = tableOf(o)
        const name = str(o.name)
        if (!t || name === undefined) {
          bad(i, t ? 'chain without a name' : `chain of an unlisted table ${str(o.family)} ${str(o.table)}`, it)
          break
        }
        const c: NftChain = {name, rules: []}
        const h = int(o.handle)
        if (h !== undefined) c.handle = h
        const cm = str(o.comment)
        if (cm !== undefined) c.comment = cm
        const hook = str(o.hook)
        if (hook !== undefined) {
          const base: NftBaseChain = {type: str(o.type) ?? 'filter', hook, prio: int(o.prio) ?? 0}
          const pol = str(o.policy)
          if (pol !== undefined) base.policy = pol
          if (typeof o.dev === 'string') base.dev = o.dev
          else if (Array.isArray(o.dev)) base.dev = o.dev.map(shown)
          if (int(o.prio) === undefined) bad(i, `base chain ${name} without a numeric prio`, it)
          c.base = base
        }
        chains.set(`${key(t.family, t.name)}\u0000${name}`, c)
        t.chains.push(c)
        break
      }
      case 'set':
      case 'map': {
        const t = tableOf(o)
        const name = str(o.name)
        if (!t || name === undefined) {
          bad(i, `${kind} without a known table or a name`, it)
          break
        }
        const s: NftSet = {kind, name, type: Array.isArray(o.type) ? o.type.map(shown) : (str(o.type) ?? ''), elements: Array.isArray(o.elem) ? o.elem : []}
        const h = int(o.handle)
        if (h !== undefined) s.handle = h
        if (o.map !== undefined) s.map = Array.isArray(o.map) ? o.map.map(shown) : shown(o.map)
        if (typeof o.flags === 'string') s.flags = [o.flags]
        else if (Array.isArray(o.flags)) s.flags = o.flags.map(shown)
        const cm = str(o.comment)
        if (cm !== undefined) s.comment = cm
        t.sets.push(s)
        break
      }
      default:
        if (!IGNORED_OBJECTS.has(kind)) bad(i, `unknown object "${kind}"`, it)
    }
  }
  if (!sawMeta) problems.push(problem(PROBE, 'no metainfo object: cannot check json_schema_version'))

  // Pass 2: rules, in the order nft lists them (chain order).
  for (let i = 0; i < items.length; i++) {
    const it = items[i]
    if (!isJsonObject(it) || !('rule' in it)) continue
    const o = it.rule
    if (!isJsonObject(o)) {
      bad(i, '"rule" is not an object', it)
      continue
    }
    const t = tableOf(o)
    const chainName = str(o.chain)
    const c = t && chainName !== undefined ? chains.get(`${key(t.family, t.name)}\u0000${chainName}`) : undefined
    if (!t || !c) {
      bad(i, `rule of an unlisted chain ${str(o.family)} ${str(o.table)} ${chainName}`, it)
      continue
    }
    if (!Array.isArray(o.expr)) {
      bad(i, 'rule without an expr list', it)
      continue
    }
    const r: NftRule = {position: c.rules.length + 1, expr: o.expr, markMatches: [], markWrites: [], xt: []}
    const h = int(o.handle)
    if (h !== undefined) r.handle = h
    const cm = str(o.comment)
    if (cm !== undefined) r.comment = cm
    readStatements(r, o.expr)
    t.xtCount += r.xt.length
    c.rules.push(r)
  }

  for (const t of facts.tables) {
    resolveNamedVmaps(t)
    classifyOwner(t)
  }
  return {facts, problems}

  function tableOf(o: JsonObject): NftTable | undefined {
    const family = str(o.family)
    const table = str(o.table)
    return family === undefined || table === undefined ? undefined : tables.get(key(family, table))
  }
}

/**
 * `nft -j list chains`: every table and chain without their rules. On a kube-proxy-sized node (110k
 * iptables-nft rules) it takes 0.12 s where `nft -j list ruleset` takes 6 s and 1 GB (measured here, nft 1.0.6).
 * It named the tables to list in full (the native ones) until the helper's one-dump table list
 * (bpf-helper-nft-tables.ts) did; it still does where the helper cannot answer, and in older snapshots.
 */
export const NFT_LIST_CHAINS_ARGV = ['nft', '-j', 'list', 'chains'] as const

export const collectNftChains = (src: Source): Promise<RawOutput> => src.run({argv: NFT_LIST_CHAINS_ARGV, timeoutMs: NFT_LIST_RULESET_TIMEOUT_MS})

function nftListTableArgv(family: string, name: string): string[] {
  return ['nft', '-j', 'list', 'table', family, name]
}

export const collectNftTable = (src: Source, family: string, name: string): Promise<RawOutput> => src.run({argv: nftListTableArgv(family, name), timeoutMs: NFT_LIST_RULESET_TIMEOUT_MS})

export interface NftTableSummary {
  family: string
  name: string
  chains: string[]
  /** Base chains' hooks, e.g. {"PREROUTING": "prerouting"}. */
  hooks: Record<string, string>
}

/** e.g. `{"nftables":[{"metainfo":{…}},{"chain":{"family":"ip","table":"nat","name":"PREROUTING","handle":1,"type":"nat","hook":"prerouting","prio":-100,"policy":"accept"}}]}` */
export function parseNftChainsJson(text: string): Parsed<NftTableSummary[]> {
  const probe = 'nft -j list chains'
  const {value, problem: p} = parseJson(probe, text)
  if (p) return {facts: [], problems: [p]}
  if (!isJsonObject(value) || !Array.isArray(value.nftables)) return {facts: [], problems: [problem(probe, 'expected {"nftables": [...]}', undefined, text.slice(0, 200))]}
  const byKey = new Map<string, NftTableSummary>()
  for (const it of value.nftables as unknown[]) {
    if (!isJsonObject(it) || !isJsonObject(it.chain)) continue
    const c = it.chain
    const family = str(c.family)
    const table = str(c.table)
    const name = str(c.name)
    if (!family || !table || !name) continue
    const k = `${family} ${table}`
    const t = byKey.get(k) ?? {family, name: table, chains: [], hooks: {}}
    t.chains.push(name)
    const hook = str(c.hook)
    if (hook) t.hooks[name] = hook
    byKey.set(k, t)
  }
  return {facts: [...byKey.values()], problems: []}
}

/** Merge per-table `nft -j list table` answers into one ruleset (each carries its own metainfo). */
export function mergeNftRulesets(parts: readonly NftRuleset[]): NftRuleset {
  const out: NftRuleset = {tables: parts.flatMap((p) => p.tables)}
  const withMeta = parts.find((p) => p.nftVersion !== undefined || p.schemaVersion !== undefined)
  if (withMeta?.nftVersion !== undefined) out.nftVersion = withMeta.nftVersion
  if (withMeta?.schemaVersion !== undefined) out.schemaVersion = withMeta.schemaVersion
  return out
}
