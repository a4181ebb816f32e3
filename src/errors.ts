/** A mistake in what the user asked for: printed as one line, exit 2, never a stack trace. */
export class UserError extends Error {
  readonly exitCode = 2
  constructor(message: string) {
    super(message)
    this.name = 'UserError'
  }
}

/**
 * The user's own text inside an error line, quoted and cut: an error must stay one readable line even when
 * the input was 40,000 characters (`--dev` of a pasted file, a wrong shell expansion).
 */
export function quoteInput(s: string, max = 64): string {
  if (s.length <= max) return JSON.stringify(s)
  return `${JSON.stringify(s.slice(0, max)).slice(0, -1)}…" (${s.length} characters)`
}

/**
 * The node could not be read at all (every probe a command needs failed): one line saying why, exit 3, instead of
 * an empty answer that would read as "nothing there". A partial failure is an answer with warnings, exit 0.
 */
export class NodeUnreadableError extends Error {
  readonly exitCode = 3
  constructor(message: string) {
    super(message)
    this.name = 'NodeUnreadableError'
  }
}
