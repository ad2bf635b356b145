import { UsageError } from '@dmskit/shared';
import { type Command, InvalidArgumentError, Option } from 'commander';
import ms from 'ms';
import type { CommandOutcome } from '../outcome.js';

/** What a command's action hands back: its outcome, set once the handler has run. */
export type SetOutcome = (outcome: CommandOutcome) => void;

/** The default config of commands that read one: the example migration. */
export const DEFAULT_CONFIG = 'migrations/ecommerce.ts';

/** A parser for a number greater than 0; the error names the flag. */
export function positiveNumber(flag: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${flag} must be a positive number`);
    return n;
  };
}

/** A parser for a number of 0 or more; the error names the flag. */
export function nonNegativeNumber(flag: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${flag} must be a number, 0 or more`);
    return n;
  };
}

/**
 * A duration flag, parsed to milliseconds. Every duration flag takes the same forms: a number with a
 * unit (`500ms`, `30s`, `10m`, `1h`, read by the `ms` package), or a bare number of seconds.
 * @param min - the smallest accepted value, ms (default 1: durations are positive)
 */
export function durationOption(flags: string, help: string, options: { min?: number } = {}): Option {
  const flag = flags.split(/[ ,]/)[0] ?? flags;
  const min = options.min ?? 1;
  return new Option(flags, `${help} (a duration: 500ms, 30s, 10m, 1h; a bare number is seconds)`).argParser(
    (value: string) => {
      const trimmed = value.trim();
      const parsed = /^\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) * 1000 : ms(trimmed as ms.StringValue);
      if (typeof parsed !== 'number' || !Number.isFinite(parsed) || parsed < min)
        throw new InvalidArgumentError(
          `${flag} takes a duration such as 30s, 10m or 1h${min === 0 ? '' : ', more than 0'}`,
        );
      return Math.round(parsed);
    },
  );
}

/** `--jobs N` of the native full load: workers copying and post-data jobs (a whole number, 1-64). */
export function jobsOption(): Option {
  return new Option(
    '--jobs <n>',
    'native full load: tables copied at once and index builds (default: config fullLoad.jobs, else the cores, at least 2)',
  ).argParser((value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > 64)
      throw new InvalidArgumentError('--jobs must be a whole number from 1 to 64');
    return n;
  });
}

/** `--engine`: the replication engine, AWS DMS (the default) or PostgreSQL's logical replication. */
export function engineOption(): Option {
  return new Option('--engine <engine>', 'replication engine').choices(['dms', 'native']).default('dms');
}

/**
 * `--engine` of commands only the native engine has: DMS handles DDL and new tables itself (task settings
 * `ChangeProcessingDdlHandlingPolicy`; selection rules with wildcards pick up new tables).
 */
export function engineNativeOnly(): Option {
  return new Option('--engine <engine>', 'replication engine (native only)')
    .choices(['native'])
    .default('native');
}

/** `-c, --config <file>`: the migration config, by default the example's. */
export function configOption(command: Command, help = 'migration config (.ts or .json)'): Command {
  return command.option('-c, --config <file>', help, DEFAULT_CONFIG);
}

/** `--state-dir <dir>`: where state, lock and verdict files are kept. */
export function stateDirOption(command: Command, help = 'folder of the state and lock files'): Command {
  return command.option('--state-dir <dir>', help, '.dmskit');
}

/** The two connection flags of every command, and their one spelling. */
const CONNECTION_FLAGS = [
  { canonical: 'sourceUrl', alias: 'source', flag: '--source-url' },
  { canonical: 'targetUrl', alias: 'target', flag: '--target-url' },
] as const;

const required = new WeakMap<Command, Set<'sourceUrl' | 'targetUrl'>>();

/**
 * `--source-url <url>` and `--target-url <url>`, the one spelling every command uses; `--source` and
 * `--target` are accepted as aliases (hidden from the help). The URLs are checked before the command
 * runs ({@link checkConnectionFlags}).
 * @param help - each flag's help, or `false` for a command that has no such flag
 */
export function connectionOptions(
  command: Command,
  help: {
    source: string | false;
    target: string | false;
    required?: readonly ('source' | 'target')[];
  },
): Command {
  for (const { alias, flag, canonical } of CONNECTION_FLAGS) {
    const text = help[alias];
    if (text === false) continue;
    const needed = help.required?.includes(alias) ?? false;
    command.addOption(new Option(`${flag} <url>`, needed ? `${text} (required)` : text));
    command.addOption(new Option(`--${alias} <url>`, `alias of ${flag}`).hideHelp());
    if (needed) required.set(command, new Set([...(required.get(command) ?? []), canonical]));
  }
  return command;
}

/**
 * Before a command runs: folds `--source`/`--target` into `--source-url`/`--target-url` (both given
 * differently is refused), refuses a missing required URL, and parses each URL so that a malformed one
 * is one line naming the flag (exit 2) instead of an error deep in a handler.
 * @throws UsageError naming the flag
 */
export async function checkConnectionFlags(command: Command): Promise<void> {
  const opts = command.opts<Record<string, string | undefined>>();
  const typed = new Map<string, string>();
  for (const { canonical, alias, flag } of CONNECTION_FLAGS) {
    const aliasValue = opts[alias];
    typed.set(canonical, aliasValue !== undefined ? `--${alias}` : flag);
    if (aliasValue !== undefined) {
      if (opts[canonical] !== undefined && opts[canonical] !== aliasValue)
        throw new UsageError(`--${alias} and ${flag} are the same flag and were given two values: give one`);
      command.setOptionValue(canonical, aliasValue);
      command.setOptionValue(alias, undefined);
    }
  }
  const after = command.opts<Record<string, string | undefined>>();
  for (const { canonical, flag } of CONNECTION_FLAGS) {
    const value = after[canonical];
    if (value === undefined) {
      if (required.get(command)?.has(canonical))
        throw new UsageError(`${flag} is required (a postgres://user@host:port/database URL)`);
      continue;
    }
    const { parseConnectionUrl } = await import('../pg/url.js');
    parseConnectionUrl(value, typed.get(canonical) ?? flag);
  }
}

/** Adds an "Examples:" section to a command's `--help`. */
export function examples(command: Command, lines: readonly [string, string][]): Command {
  const text = lines.map(([cmd, what]) => `  # ${what}\n  $ ${cmd}`).join('\n\n');
  return command.addHelpText('after', `\nExamples:\n${text}\n`);
}
