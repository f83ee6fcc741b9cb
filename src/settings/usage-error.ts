/** A mistake in how mlrun was invoked: reported as one line and exit code 2, before the command starts. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const USAGE_EXIT_CODE = 2;
