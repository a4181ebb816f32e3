#!/usr/bin/env node
// Writes an iptables-restore file shaped like kube-proxy's nat table in iptables mode: N Services with E
// endpoints each (KUBE-SERVICES → KUBE-SVC-* → statistic → KUBE-SEP-* → KUBE-MARK-MASQ/DNAT), plus the
// masquerade chains. 10,000 × 3 gives about 110k rules (DEPS.md 6). Usage: node kube-proxy-rules.mjs [N] [E]
const n = Number(process.argv[2] ?? 10000)
const e = Number(process.argv[3] ?? 3)
const out = []
const hash = (s) => {
  let h = 2166136261
  for (const c of s) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0
  return h.toString(36).toUpperCase().padStart(16, 'X').slice(0, 16)
}
out.push('*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]')
out.push(':KUBE-SERVICES - [0:0]', ':KUBE-POSTROUTING - [0:0]', ':KUBE-MARK-MASQ - [0:0]', ':KUBE-NODEPORTS - [0:0]')
const chains = []
const rules = []
for (let s = 0; s < n; s++) {
  const ip = `10.96.${(s >> 8) & 255}.${s & 255}`
  const svc = `KUBE-SVC-${hash(`svc${s}`)}`
  chains.push(`:${svc} - [0:0]`)
  rules.push(`-A KUBE-SERVICES -d ${ip}/32 -p tcp -m comment --comment "ns${s % 50}/svc${s}:http cluster IP" -m tcp --dport 80 -j ${svc}`)
  rules.push(`-A ${svc} ! -s 10.244.0.0/16 -d ${ip}/32 -p tcp -m comment --comment "ns${s % 50}/svc${s}:http cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ`)
  for (let k = 0; k < e; k++) {
    const sep = `KUBE-SEP-${hash(`sep${s}-${k}`)}`
    const ep = `10.244.${(s * e + k) >> 8 & 255}.${(s * e + k) & 255}`
    chains.push(`:${sep} - [0:0]`)
    const left = e - k
    rules.push(`-A ${svc} -m comment --comment "ns${s % 50}/svc${s}:http -> ${ep}:8080"${left > 1 ? ` -m statistic --mode random --probability ${(1 / left).toFixed(11)}` : ''} -j ${sep}`)
    rules.push(`-A ${sep} -s ${ep}/32 -m comment --comment "ns${s % 50}/svc${s}:http" -j KUBE-MARK-MASQ`)
    rules.push(`-A ${sep} -p tcp -m comment --comment "ns${s % 50}/svc${s}:http" -m tcp -j DNAT --to-destination ${ep}:8080`)
  }
}
for (const c of chains) out.push(c)
out.push('-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES')
out.push('-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES')
out.push('-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING')
out.push('-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN')
out.push('-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000')
out.push('-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully')
out.push('-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000')
for (const r of rules) out.push(r)
out.push('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS')
out.push('COMMIT')
process.stdout.write(`${out.join('\n')}\n`)
