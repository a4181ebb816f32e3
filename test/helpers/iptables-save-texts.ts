import {readdirSync, readFileSync} from 'node:fs'
import type {IptablesSaveOptions} from '../../src/probes/iptables-save.js'
import {ROOT} from './fixtures.js'

/** Every iptables-save text the repository holds, with the options its own test reads it with. */
export function iptablesSaveTexts(): Array<{name: string; text: string; opts: IptablesSaveOptions}> {
  const out: Array<{name: string; text: string; opts: IptablesSaveOptions}> = []
  const dirs = [`${ROOT}testdata/fixtures/iptables-save`, `${ROOT}testdata/marks/iptables-save`]
  for (const dir of dirs)
    for (const f of readdirSync(dir).sort()) {
      if (!f.endsWith('.txt')) continue
      const opts: IptablesSaveOptions = {family: f.includes('ipv6') || f.includes('ip6tables') ? 'ipv6' : 'ipv4', backend: 'nft'}
      if (f.includes('iptables-S-nat')) opts.table = 'nat'
      out.push({name: f, text: readFileSync(`${dir}/${f}`, 'utf8'), opts})
    }
  return out
}
