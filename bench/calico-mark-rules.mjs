#!/usr/bin/env node
// Writes an iptables-restore file shaped like Calico felix's filter table on a node with N workload endpoints:
// the real felix dump in testdata (raw, mangle, nat, filter with its ~20 mark rules) plus, per endpoint, the
// to- and from-workload chains and one policy chain each way. Every policy chain accepts with
// `-j MARK --set-xmark 0x10000/0x10000` and returns on `-m mark --mark 0x10000/0x10000 -j RETURN`, and every
// endpoint chain returns on the same mark after its policies: 6 mark rules per endpoint (3 each way), all on
// bit 16, which is what makes every writer reach every reader.
// Usage: node bench/calico-mark-rules.mjs MARK_RULES (about; the endpoints are MARK_RULES / 6).
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

const FELIX_DUMP = fileURLToPath(new URL('../testdata/fixtures/iptables-save/calico-felix-fv-cali-iptables-dump-2025.txt', import.meta.url))

/** felix's chain hashes are base64-ish: any stable 16-character name will do here. */
function hash(s) {
  let h = 2166136261
  for (const c of s) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0
  let out = ''
  for (let i = 0; i < 16; i++) {
    out += 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-'[h & 63]
    h = Math.imul(h ^ i, 2654435761) >>> 0
  }
  return out
}

/**
 * The ruleset as iptables-restore/iptables-save text, with `endpoints` workload endpoints.
 * @param {number} endpoints
 * @returns {{text: string, endpoints: number, markRules: number, rules: number}}
 */
export function calicoRuleset(endpoints) {
  const chains = []
  const rules = []
  for (let e = 0; e < endpoints; e++) {
    const iface = `cali${(e * 2654435761 >>> 0).toString(16).padStart(8, '0')}${(e & 0xfff).toString(16).padStart(3, '0')}`
    const ip = `10.65.${(e >> 8) & 255}.${e & 255}`
    for (const [dir, pol, dispatch, io] of [['tw', 'pi', 'cali-to-wl-dispatch', '-o'], ['fw', 'po', 'cali-from-wl-dispatch', '-i']]) {
      const ep = `cali-${dir}-${iface}`
      // felix names policy chains by a hash of the policy; the endpoint's number keeps these distinct (28
      // characters at most: iptables refuses longer chain names).
      const policy = `cali-${pol}-_${e.toString(36).padStart(6, '0')}${hash(`${dir}${e}`).slice(0, 13)}`
      const c = (what) => `-m comment --comment "cali:${hash(`${what}${dir}${e}`)}"`
      chains.push(`:${ep} - [0:0]`, `:${policy} - [0:0]`)
      rules.push(
        `-A ${dispatch} ${io} ${iface} ${c('d')} -g ${ep}`,
        `-A ${ep} ${c('a')} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
        `-A ${ep} ${c('b')} -m conntrack --ctstate INVALID -j DROP`,
        `-A ${ep} ${c('p')} -m comment --comment "Start of policies" -j ${policy}`,
        `-A ${ep} ${c('r')} -m comment --comment "Return if policy accepted" -m mark --mark 0x10000/0x10000 -j RETURN`,
        `-A ${ep} ${c('x')} -m comment --comment "Drop if no policies passed packet" -j DROP`,
        `-A ${policy} -p tcp ${c('s')} -m comment --comment "Policy default/allow-${e} ingress" ${dir === 'tw' ? '-s' : '-d'} ${ip}/32 -m multiport --dports 80,443,8080 -j MARK --set-xmark 0x10000/0x10000`,
        `-A ${policy} ${c('t')} -m mark --mark 0x10000/0x10000 -j RETURN`,
      )
    }
  }
  const out = []
  let table = ''
  let inserted = false
  for (const line of readFileSync(FELIX_DUMP, 'utf8').split('\n')) {
    if (line.startsWith('*')) table = line.slice(1)
    // The endpoint rules go after the filter table's chain declarations, ahead of the dispatch chains' final
    // "Unknown interface" DROP, where felix puts them.
    if (table === 'filter' && !inserted && line.startsWith('-A ')) {
      for (const l of chains) out.push(l)
      for (const l of rules) out.push(l)
      inserted = true
    }
    out.push(line)
  }
  const text = `${out.join('\n').trimEnd()}\n`
  const all = text.split('\n').filter((l) => l.startsWith('-A '))
  return {text, endpoints, markRules: all.filter((l) => /mark/i.test(l)).length, rules: all.length}
}

/** The endpoints that give about `markRules` mark rules. */
export const endpointsFor = (markRules) => Math.max(1, Math.round(markRules / 6))

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const r = calicoRuleset(endpointsFor(Number(process.argv[2] ?? 1000)))
  process.stdout.write(r.text)
  process.stderr.write(`${r.endpoints} endpoints, ${r.rules} rules, ${r.markRules} mark rules\n`)
}
