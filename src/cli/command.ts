/** Each `qbl` sub-command is a module exporting one of these; main.ts only dispatches. */
export interface CliCommand {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  /** Returns the process exit code. Throw UsageError or ConfigError for a one-line failure. */
  run(argv: readonly string[]): Promise<number>;
}

/** Bad flags: printed as one line with the command's usage hint, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
