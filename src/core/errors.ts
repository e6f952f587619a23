/**
 * An error caused by the user's input (bad file, bad flag, corrupt checkpoint).
 * The CLI prints its message as one line without a stack trace, so messages
 * should be a single line that names the offending file or option.
 */
export class UserError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UserError';
  }
}
