/** A mistake in what the user asked for: printed as one line, exit 2, never a stack trace. */
export class UserError extends Error {
  readonly exitCode = 2
  constructor(message: string) {
    super(message)
    this.name = 'UserError'
  }
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
