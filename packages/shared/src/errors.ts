/**
 * The three kinds of error dmskit raises, after the cdktf/CDK Terrain convention:
 * - {@link UsageError}: the user's mistake (bad flag, bad config, wrong server setting). Message only, exit 2.
 * - {@link ExternalError}: a remote system failed or said no (a server is unreachable, AWS throttled). Message only, exit 2.
 * - {@link InternalError}: a dmskit bug. Message and stack, exit 3.
 * A command that finishes and finds a difference (validation unequal, a failed policy) is not an error:
 * it returns a result and the entry point maps it to exit 1.
 */
export type ErrorKind = 'usage' | 'external' | 'internal';

/** An error that carries the process exit code; only the CLI entry point calls `process.exit`. */
export class DmskitError extends Error {
  readonly kind: ErrorKind;
  readonly exitCode: number;

  constructor(kind: ErrorKind, message: string, options?: { exitCode?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.kind = kind;
    this.exitCode = options?.exitCode ?? (kind === 'internal' ? 3 : 2);
  }
}

/** The user's mistake: a bad flag, config field or server setting. Exit code 2 unless given. */
export class UsageError extends DmskitError {
  constructor(message: string, options?: { exitCode?: number; cause?: unknown }) {
    super('usage', message, options);
  }
}

/** A remote system (PostgreSQL server, AWS, terraform) failed or refused. Exit code 2 unless given. */
export class ExternalError extends DmskitError {
  constructor(message: string, options?: { exitCode?: number; cause?: unknown }) {
    super('external', message, options);
  }
}

/** A dmskit bug: printed with its stack. Exit code 3. */
export class InternalError extends DmskitError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('internal', message, options);
  }
}

/** One invalid field of a migration config, by dot path (`task.tableMappings.selection[2].table`). */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * A migration config that does not parse. The message lists every bad field by its path, one per line,
 * so that a user fixes them all in one go. Exit code 2.
 */
export class ConfigError extends UsageError {
  readonly issues: readonly ConfigIssue[];
  readonly file: string | undefined;

  constructor(issues: readonly ConfigIssue[], file?: string) {
    const where = file ? ` in ${file}` : '';
    super(
      `invalid migration config${where}: ${issues.length} problem(s)\n` +
        issues.map((i) => `  ${i.path || '(root)'}: ${i.message}`).join('\n'),
    );
    this.issues = issues;
    this.file = file;
  }
}
