import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import type { CommandOutcome } from '../outcome.js';
import { registerCatalog } from './catalog.js';
import { registerCutover } from './cutover.js';
import { registerDmsOperations } from './dms.js';
import { registerInit } from './init.js';
import { checkConnectionFlags } from './options.js';
import { registerPlan } from './plan.js';
import { registerPoc } from './poc.js';
import { registerPreflight } from './preflight.js';
import { registerRehearse } from './rehearse.js';
import { registerRoles } from './roles.js';
import { registerSchema } from './schema.js';
import { registerScope } from './scope.js';
import { registerSecrets } from './secrets.js';
import { registerStart } from './start.js';
import { registerStatus } from './status.js';
import { registerValidate } from './validate.js';

const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/** The exit codes and environment every command shares, under `dmskit --help`. */
const HELP_EPILOG = `
Exit codes:
  0    done; equal; ready
  1    done, and it found something: validation different, preflight not ready, a policy failed, a problem in status
  2    could not do it: a usage error, an unreachable server, a failed step (one line says which, and what was undone)
  3    a dmskit bug (the message has a stack)
  130  interrupted (Ctrl-C, SIGTERM, SIGHUP) after cleaning up

Flags:
  --source-url, --target-url              every command's servers (--source and --target are the same flags)
  durations                               500ms, 30s, 10m, 1h; a bare number is seconds

Environment:
  PGPASSWORD, PGPASSFILE (~/.pgpass)      passwords for URLs without one, as libpq finds them
  PGHOST, PGPORT, PGDATABASE, PGUSER,     what a postgres:// URL leaves out
  PGSSLMODE
  DMSKIT_SOURCE_PASSWORD (the config's    the source password when no --source-url is given
  source.password.variable)
  DMSKIT_PG_BIN                           where pg_dump and pg_restore are
  DMSKIT_PROVIDER_MIRROR                  the terraform provider mirror for dmskit plan --offline

Start here:
  dmskit init --source-url postgres://dms@onprem:5432/shop     a config of your own, from your source
  dmskit <command> --help                                      each command's flags and examples
`;

/** Every command's declaration, in the order `--help` lists them. */
const COMMANDS = [
  registerInit,
  registerRehearse,
  registerValidate,
  registerPreflight,
  registerCatalog,
  registerPoc,
  registerStart,
  registerSchema,
  registerSecrets,
  registerStatus,
  registerScope,
  registerRoles,
  registerDmsOperations,
  registerCutover,
  registerPlan,
] as const;

/**
 * The `dmskit` program: each command module in `cli/` declares its flags and examples and lazy-imports
 * its handler, so `dmskit --help` loads neither pg nor the AWS SDK. Exported for the tests that read
 * every command's help.
 * @param done - receives the outcome of the command that ran
 */
export function buildProgram(done: (outcome: CommandOutcome) => void): Command {
  const program = new Command('dmskit')
    .description(
      'Move on-premises PostgreSQL to Aurora PostgreSQL: rehearse, validate and cut over a migration.',
    )
    .version(VERSION, '-V, --version', 'print the version of dmskit')
    .addHelpText('after', HELP_EPILOG)
    .showHelpAfterError('(run with --help for usage)')
    .showSuggestionAfterError(true)
    .exitOverride();
  for (const register of COMMANDS) register(program, done);
  program.hook('preAction', async (_program, command) => checkConnectionFlags(command));
  return program;
}

/**
 * Parses `argv` (without node and the script) and runs the command. Returns the exit code; only
 * `bin.ts` calls `process.exit`. A bad flag or argument is a usage error: exit 2.
 */
export async function main(argv: readonly string[]): Promise<number> {
  let outcome: CommandOutcome = { exitCode: 0 };
  const program = buildProgram((o) => {
    outcome = o;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  return outcome.exitCode;
}
