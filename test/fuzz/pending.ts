// Fuzz properties that fail on this branch's base for a reason another branch fixes. Each entry skips that one
// property (or assertion) with the reason; delete the entry once the branch named is merged, and it runs again.
export const PENDING: Record<string, string> = {
  // A long run of blanks or words in one line takes seconds (quadratic regexes): fixed on branch h-omission
  // (these four pass with FUZZ_SEED=2 on main at 65e8973, which has it; they fail with it on this branch's base).
  parseBpftoolNetText: 'quadratic on a long run of blanks: fixed on branch h-omission',
  parseIpRuleText: 'quadratic on a long run of blanks: fixed on branch h-omission',
  parseIpXfrmState: 'quadratic on a long line of words: fixed on branch h-omission',
  parseIpXfrmPolicy: 'quadratic on a long line of words: fixed on branch h-omission',
  // A "format" (or "version") nested a few thousand arrays deep: JSON.stringify in the error message overflows the
  // stack (RangeError instead of a UserError). Snapshot validation, branch h-input; NOTE: still failing on main at
  // 65e8973 after the h-input merge (src/source/snapshot.ts shown() uses JSON.stringify).
  parseSnapshot: 'RangeError on a deeply nested format value: snapshot validation (h-input; still open on main 65e8973)',
  // Node's JSON.parse message quotes the text around the error, newlines included, so "not valid JSON (…)" can span
  // lines. Only this assertion is skipped, not the property. Still failing on main at 65e8973.
  'snapshot error on one line': "JSON.parse message with the input's newlines in the UserError (h-input; still open on main 65e8973)",
}
