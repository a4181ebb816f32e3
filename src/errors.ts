/** A mistake in what the user asked for: printed as one line, exit 2, never a stack trace. */
export class UserError extends Error {
  readonly exitCode = 2
  constructor(message: string) {
    super(message)
    this.name = 'UserError'
  }
}
