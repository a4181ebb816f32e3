import type {XtTargetParser} from '../extension.js'

/** libxt_NOTRACK: the packet gets no conntrack entry. */
export const notrackTarget: XtTargetParser = {
  names: ['NOTRACK'],
  parse: (name) => ({name, kind: 'notrack'}),
}
