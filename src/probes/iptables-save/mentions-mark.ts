import {jumpWord, jumpWordEnd} from './jump-word.js'

/**
 * Every MARK/CONNMARK/TPROXY target and mark/connmark match spells "mark" or "MARK" somewhere (--set-xmark,
 * --restore-mark, --tproxy-mark, -m mark, --restore-skmark, rpfilter --validmark): a rule without it cannot use
 * the mark. Nor can a rule whose only "mark" is the user chain it jumps to: kube-proxy's 40k
 * `-j KUBE-MARK-MASQ` at 110k rules are jumps (the chain graph keeps them), not mark uses, and are not built.
 */
export function mentionsMark(line: string, jumpAt = jumpWord(line)): boolean {
  // Targets are spelled MARK/CONNMARK and options in lower case (-m mark, --set-xmark): two searches, no regex.
  const lower = line.indexOf('mark')
  const upper = line.indexOf('MARK')
  if (lower === -1 && upper === -1) return false
  if (jumpAt === -1) return true
  const end = jumpWordEnd(line, jumpAt)
  // A target spelled MARK/CONNMARK is the mark's own target, not a chain (target names are case-sensitive).
  if (end - jumpAt <= 8 && MARK_TARGETS.has(line.slice(jumpAt, end))) return true
  return outside(line, 'mark', lower, jumpAt, end) || outside(line, 'MARK', upper, jumpAt, end)
}

/** Whether `word`, first found at `at`, occurs anywhere outside [from, to). */
function outside(line: string, word: string, at: number, from: number, to: number): boolean {
  for (let i = at; i !== -1; i = line.indexOf(word, i + 1)) if (i < from || i >= to) return true
  return false
}

const MARK_TARGETS = new Set(['MARK', 'CONNMARK'])

