/** What a command hands back to the entry point: the exit code, and output already printed. */
export interface CommandOutcome {
  readonly exitCode: number;
}
