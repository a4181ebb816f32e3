import type {DiffReport} from '../../src/analyses/diff/diff.js'

/** Each change of a diff report on one line, ids left out: what the diff must name, and all it may. */
export function changeLines(r: DiffReport): string[] {
  return [
    ...r.hooks.map((h) => `hook ${h.change} ${h.device} ${h.hook}: ${h.before?.attachName ?? '-'} (${h.before?.tag ?? '-'}) → ${h.after?.attachName ?? '-'} (${h.after?.tag ?? '-'})`),
    ...r.markUses.added.map((u) => `mark use added: ${u.subsystem} ${u.place}: ${u.operation}`),
    ...r.markUses.removed.map((u) => `mark use removed: ${u.subsystem} ${u.place}: ${u.operation}`),
    ...r.findings.appeared.map((f) => `finding appeared: ${f.kind}`),
    ...r.findings.resolved.map((f) => `finding resolved: ${f.kind}`),
    ...r.rules.map((x) => `rule ${x.change}: ${x.engine} ${x.table}/${x.chain}: ${x.rule}`),
    ...r.routes.map((x) => `route ${x.change}: ${x.family} ${x.table}: ${x.route}`),
    ...r.ipRules.map((x) => `ip rule ${x.change}: ${x.rule}`),
    ...(r.cilium ?? []).map((c) => `cilium ${c.change}: ${c.map} ${c.key}`),
  ]
}

