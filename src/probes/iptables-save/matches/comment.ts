import type {XtMatchParser} from '../extension.js'

/** libxt_comment: `-m comment --comment "kube-proxy …"`; matches every packet. */
export const commentMatch: XtMatchParser = {
  names: ['comment'],
  parse(module, x) {
    const c = x.take('comment')
    if (!c) x.bad(`${x.what} without --comment`)
    return {module, kind: 'comment', text: c ? (x.one(c) ?? '') : ''}
  },
}
