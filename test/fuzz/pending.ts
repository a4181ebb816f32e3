// Fuzz properties that fail on main for a reason another branch fixes. Each entry skips that one property with
// the reason; delete the entry once the branch named is merged, and the property runs again.
export const PENDING: Record<string, string> = {
  // A long run of blanks or words in one line takes seconds (quadratic regexes): fixed on branch h-omission.
  parseBpftoolNetText: 'quadratic on a long run of blanks: fixed on branch h-omission',
  parseIpRuleText: 'quadratic on a long run of blanks: fixed on branch h-omission',
  parseIpXfrmState: 'quadratic on a long line of words: fixed on branch h-omission',
  parseIpXfrmPolicy: 'quadratic on a long line of words: fixed on branch h-omission',
  // A "format" (or "version") nested a few thousand arrays deep: JSON.stringify in the error message overflows the
  // stack (RangeError instead of a UserError). Snapshot loading is being rewritten on branch h-input.
  parseSnapshot: 'RangeError on a deeply nested format value: snapshot validation, branch h-input',
  // Node's JSON.parse message quotes the text around the error, newlines included, so "not valid JSON (…)" can span
  // lines. Only this assertion is skipped, not the property.
  'snapshot error on one line': 'JSON.parse message with the input\'s newlines in the UserError: snapshot validation, branch h-input',
}
