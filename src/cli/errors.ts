/** A failure to start that the user can fix: one line, exit code 1. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}
