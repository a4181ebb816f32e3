import type {XtTarget} from '../../../model/netfilter.js'
import type {XtTargetParser} from '../extension.js'
import {markValue, portNumber} from '../values.js'

/** libxt_TPROXY: `--on-port 15001 --on-ip 0.0.0.0 --tproxy-mark 0x111/0xfff`. */
export const tproxyTarget: XtTargetParser = {
  names: ['TPROXY'],
  parse(name, x) {
    const t: XtTarget = {name, kind: 'tproxy'}
    const port = x.take('on-port')
    if (port) t.onPort = portNumber(x.one(port) ?? '', x.bad, `${x.what} --on-port`)
    const ip = x.take('on-ip')
    if (ip) t.onIp = x.one(ip)
    const mk = x.take('tproxy-mark')
    if (mk) t.mark = markValue(x, mk)
    if (!port) x.bad(`${x.what} without --on-port`)
    return t
  },
}
