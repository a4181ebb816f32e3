import type {XtMatchParser} from '../extension.js'

/** libxt_socket: `--transparent`, `--nowildcard`, `--restore-skmark` (copies the socket's mark to the packet). */
export const socketMatch: XtMatchParser = {
  names: ['socket'],
  parse: (module, x) => ({module, kind: 'socket', transparent: x.flag('transparent'), nowildcard: x.flag('nowildcard'), restoreSkmark: x.flag('restore-skmark')}),
}
