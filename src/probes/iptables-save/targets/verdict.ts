import type {XtTargetParser} from '../extension.js'

/** The built-in verdicts: they take no options. */
export const verdictTarget: XtTargetParser = {
  names: ['ACCEPT', 'DROP', 'RETURN', 'QUEUE'],
  parse: (name) => ({name, kind: name.toLowerCase() as 'accept' | 'drop' | 'return' | 'queue'}),
}
