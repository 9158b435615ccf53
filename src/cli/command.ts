/** Each `qbl` sub-command is a module exporting one of these; main.ts only dispatches. */
export interface CliCommand {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  /** Returns the process exit code. Throw UsageError (src/flags.ts) or ConfigError for a one-line failure. */
  run(argv: readonly string[]): Promise<number>;
}
