import { createRequire } from 'node:module';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { CommandOutcome } from './outcome.js';

const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

/** The exit codes and environment every command shares, under `dmskit --help`. */
const HELP_EPILOG = `
Exit codes:
  0    done; equal; ready
  1    done, and it found something: validation different, preflight not ready, a policy failed, a problem in status
  2    could not do it: a usage error, an unreachable server, a failed step (one line says which, and what was undone)
  3    a dmskit bug (the message has a stack)
  130  interrupted (Ctrl-C, SIGTERM, SIGHUP) after cleaning up

Environment:
  PGPASSWORD, PGPASSFILE (~/.pgpass)      passwords for URLs without one, as libpq finds them
  PGHOST, PGPORT, PGDATABASE, PGUSER,     what a postgres:// URL leaves out
  PGSSLMODE
  DMSKIT_SOURCE_PASSWORD (the config's    the source password when no --source-url is given
  source.password.variable)
  DMSKIT_PG_BIN                           where pg_dump and pg_restore are
  DMSKIT_PROVIDER_MIRROR                  the terraform provider mirror for dmskit plan --offline
`;

export type { CommandOutcome };

function positiveNumber(name: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
    return n;
  };
}

/** `--jobs N` of the native full load: workers copying and post-data jobs (an integer, 1-64). */
function jobsOption(): Option {
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

/**
 * `--engine` of commands only the native engine has: DMS handles DDL and new tables itself (task settings
 * `ChangeProcessingDdlHandlingPolicy`; selection rules with wildcards pick up new tables).
 */
function engineNativeOnly(): Option {
  return new Option('--engine <engine>', 'replication engine (native only)')
    .choices(['native'])
    .default('native');
}

function nonNegativeNumber(name: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number, 0 or more`);
    return n;
  };
}

/**
 * Declares the commands and their flags; each action lazy-imports its command module, so `dmskit --help`
 * loads neither pg nor the AWS SDK. Returns the exit code; only `bin.ts` calls `process.exit`.
 */
export async function main(argv: readonly string[]): Promise<number> {
  let outcome: CommandOutcome = { exitCode: 0 };
  const program = new Command('dmskit')
    .description(
      'Move on-premises PostgreSQL to Aurora PostgreSQL: rehearse, validate and cut over a migration.',
    )
    .version(VERSION, '-V, --version', 'print the version of dmskit')
    .addHelpText('after', HELP_EPILOG)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program
    .command('rehearse')
    .description(
      'Rehearse a whole migration on two PostgreSQL servers: schema, full load, CDC under live writes, cutover, validation, report',
    )
    .option('-c, --config <file>', 'migration config (.ts or .json)', 'migrations/ecommerce.ts')
    .option('--source-url <url>', 'use this source server and database instead of starting one')
    .option('--target-url <url>', 'use this target server and database instead of starting one')
    .option('--no-sample-data', 'load nothing and run no writer: migrate the source database as it is')
    .option(
      '--scale <n>',
      'size of the sample data set (1 = about 41,000 rows)',
      positiveNumber('--scale'),
      1,
    )
    .option('--write-rate <n>', 'sample writer transactions per second', positiveNumber('--write-rate'), 50)
    .option(
      '--cdc-seconds <n>',
      'how long CDC runs with live writes before the cutover',
      nonNegativeNumber('--cdc-seconds'),
      10,
    )
    .option('-o, --out <dir>', 'folder for report.json and report.md', 'rehearsal-out')
    .option(
      '--state-dir <dir>',
      'servers passed in: state while it runs (a killed rehearsal is cleaned up by the next)',
      '.dmskit',
    )
    .addOption(jobsOption())
    .option('--json', 'print the report as JSON on stdout (progress goes to stderr)')
    .action(async (opts) => {
      const { rehearse } = await import('./commands/rehearse.js');
      outcome = await rehearse({ ...opts, cwd: process.cwd() });
    });

  program
    .command('validate')
    .description(
      'Compare schema and data of two databases: counts and checksums by key range, naming every differing row',
    )
    .requiredOption('--source <url>', 'source database URL')
    .requiredOption('--target <url>', 'target database URL')
    .option(
      '-c, --config <file>',
      'migration config whose selection rules and row filters scope the comparison; the verdict is recorded for the cutover',
    )
    .option('--state-dir <dir>', 'with --config: folder where the verdict is recorded', '.dmskit')
    .addOption(
      new Option('--concurrency <n>', 'connections per side')
        .argParser(positiveNumber('--concurrency'))
        .default(2),
    )
    .option('--no-schema', 'compare data only')
    .addOption(
      new Option(
        '--hash <mode>',
        'row digest: typed (each column by its type, fast), md5 (of the row text, portable); auto runs the self-check',
      )
        .choices(['auto', 'typed', 'md5'])
        .default('auto'),
    )
    .addOption(
      new Option(
        '--recheck-delay <ms>',
        'while CDC runs: re-check differing ranges after this delay (the replication lag)',
      ).argParser(nonNegativeNumber('--recheck-delay')),
    )
    .addOption(
      new Option('--rechecks <n>', 'how many times to re-check')
        .argParser(positiveNumber('--rechecks'))
        .default(3),
    )
    .option('--markdown <file>', 'write a Markdown report')
    .option('--junit <file>', 'write JUnit XML for CI')
    .option('--json', 'print the typed result as JSON')
    .action(async (opts) => {
      const { validate } = await import('./commands/validate.js');
      outcome = await validate({ ...opts, cwd: process.cwd() });
    });

  program
    .command('preflight')
    .description(
      'Check a source (and target) for everything a PostgreSQL to Aurora PostgreSQL migration needs',
    )
    .option(
      '-c, --config <file>',
      'migration config: task settings (migration type, selection rules, LOB mode)',
    )
    .option('--source <url>', 'source database URL')
    .option('--target <url>', 'target database URL')
    .option('--markdown <file>', 'write the report in Markdown')
    .option('--json', 'print the typed report as JSON')
    .action(async (opts) => {
      const { preflight } = await import('./commands/preflight.js');
      outcome = await preflight({ ...opts, cwd: process.cwd() });
    });

  const dmsCommand = (name: string, description: string) =>
    program
      .command(name)
      .description(description)
      .option('-c, --config <file>', 'migration config (.ts or .json)', 'migrations/ecommerce.ts')
      .addOption(
        new Option('--timeout <minutes>', 'how long to wait for DMS').argParser(positiveNumber('--timeout')),
      )
      .option('--json', 'print JSON');

  program
    .command('catalog')
    .description('Inventory every database of a source server into a catalog file (merged on later runs)')
    .requiredOption('--source <url>', 'source server URL (any database on it)')
    .option('-o, --out <file>', 'catalog file (default catalog/<host>-<port>.json)')
    .option('--json', 'print the catalog as JSON')
    .action(async (opts) => {
      const { catalog } = await import('./commands/catalog.js');
      outcome = await catalog({ ...opts, cwd: process.cwd() });
    });

  program
    .command('poc')
    .description(
      'Proof-of-concept migration with pg_dump -Fc and pg_restore -j, timed per phase, then validation (needs downtime)',
    )
    .requiredOption('--source <url>', 'source database URL')
    .requiredOption('--target <url>', 'target database URL (empty)')
    .addOption(
      new Option('--compress <level>', 'pg_dump compression level 0-9')
        .argParser(nonNegativeNumber('--compress'))
        .default(6),
    )
    .addOption(
      new Option('--jobs <n>', 'pg_restore parallel jobs').argParser(positiveNumber('--jobs')).default(2),
    )
    .option('--json', 'print the timings as JSON')
    .action(async (opts) => {
      const { poc } = await import('./commands/poc.js');
      outcome = await poc({ ...opts, cwd: process.cwd() });
    });

  dmsCommand(
    'start',
    'Start the replication (DMS task, or native: schema, full load, post-data, then CDC runs on)',
  )
    .addOption(
      new Option('--engine <engine>', 'replication engine').choices(['dms', 'native']).default('dms'),
    )
    .addOption(
      new Option('--mode <mode>', 'DMS: start, resume or reload')
        .choices(['start', 'resume', 'reload'])
        .default('start'),
    )
    .option(
      '--source-url <url>',
      'native: source database URL (default: from the config and its password variable)',
    )
    .option('--target-url <url>', 'native: target database URL')
    .option(
      '--cdc-start-position <lsn>',
      'DMS, a CDC-only task: where CDC starts (an LSN such as 4AF/B00000D0; default: its slot, created by the first start)',
    )
    .option('--cdc-start-time <time>', 'DMS, a CDC-only task: where CDC starts, as a time (ISO 8601)')
    .option(
      '--cdc-stop-position <position>',
      'DMS: where CDC stops (server_time:2026-11-22T12:00:00 or commit_time:...)',
    )
    .addOption(jobsOption())
    .option(
      '--reload-target',
      'native: the target holds an earlier copy of the tables in scope (a second attempt after a rollback and dmskit abandon): empty them (they are named first) and load them again',
    )
    .option('--state-dir <dir>', 'folder of the state and lock files', '.dmskit')
    .action(async (opts) => {
      if (opts.engine === 'native') {
        const { nativeStart } = await import('./commands/native.js');
        outcome = await nativeStart({ ...opts, cwd: process.cwd() });
      } else {
        const { start } = await import('./commands/dms.js');
        outcome = await start({ ...opts, cwd: process.cwd() });
      }
    });

  program
    .command('schema')
    .description(
      "Create the target schema of a DMS migration before its first start: the selected tables with keys, indexes and constraints, under the names and columns the task's transformation rules give them, in one transaction",
    )
    .option('-c, --config <file>', 'migration config (.ts or .json)', 'migrations/ecommerce.ts')
    .option('--source-url <url>', 'source database URL (default: from the config and its password variable)')
    .option('--target-url <url>', 'target database URL (the Aurora writer)')
    .option('--dry-run', 'print what would be created and the transformation DDL; change nothing')
    .option(
      '--foreign-keys',
      'after the full load: add the foreign keys the schema copy left out (NOT VALID, then validated)',
    )
    .option('--json', 'print the result as JSON')
    .action(async (opts) => {
      const { schema } = await import('./commands/schema.js');
      outcome = await schema({ ...opts, cwd: process.cwd() });
    });

  program
    .command('secrets')
    .description(
      'Write the DMS endpoint secrets the stack created empty: the source from the config and its password variable, the target from --target-url',
    )
    .option('-c, --config <file>', 'migration config (.ts or .json)', 'migrations/ecommerce.ts')
    .option('--target-url <url>', 'the DMS user on Aurora, without its password (PGPASSWORD or the passfile)')
    .option('--dry-run', 'print what would be written (passwords masked), write nothing')
    .action(async (opts) => {
      const { secrets } = await import('./commands/secrets.js');
      outcome = await secrets({ ...opts, cwd: process.cwd() });
    });

  dmsCommand('stop', 'Stop the DMS replication task and wait until it is stopped').action(async (opts) => {
    const { stop } = await import('./commands/dms.js');
    outcome = await stop({ ...opts, cwd: process.cwd() });
  });

  dmsCommand('status', 'Task status, full-load progress per table, CDC latency, validation state, last error')
    .addOption(
      new Option('--engine <engine>', 'replication engine').choices(['dms', 'native']).default('dms'),
    )
    .option('-w, --watch', 'refresh until Ctrl-C')
    .addOption(new Option('--interval <seconds>', 'refresh interval').argParser(positiveNumber('--interval')))
    .option('--source-url <url>', 'native: source database URL')
    .option('--target-url <url>', 'native: target database URL')
    .option('--state-dir <dir>', 'folder of the state files', '.dmskit')
    .action(async (opts) => {
      if (opts.engine === 'native') {
        const { nativeStatus } = await import('./commands/native.js');
        outcome = await nativeStatus({ ...opts, cwd: process.cwd() });
      } else {
        const { dmsStatus } = await import('./commands/dms.js');
        outcome = await dmsStatus({ ...opts, cwd: process.cwd() });
      }
    });

  program
    .command('scope')
    .description(
      'Native engine: the tables in scope on the source now against those replicated, both schemas, the DDL captured during CDC; --join adds tables created during CDC with their rows',
    )
    .option('-c, --config <file>', 'migration config (.ts or .json)', 'migrations/ecommerce.ts')
    .option('--source-url <url>', 'source database URL (default: from the config and its password variable)')
    .option('--target-url <url>', 'target database URL')
    .addOption(engineNativeOnly())
    .option('--join', 'add the tables in scope that are not replicated, copying their rows')
    .option('--state-dir <dir>', 'folder of the state files', '.dmskit')
    .option('--json', 'print the report as JSON')
    .action(async (opts) => {
      const { scope } = await import('./commands/scope.js');
      outcome = await scope({ ...opts, cwd: process.cwd() });
    });

  program
    .command('roles')
    .description(
      'Make the roles the objects in scope need on the target as Aurora allows them: attributes, memberships, settings, SCRAM password verifiers copied as stored (never shown); start does this first',
    )
    .option('-c, --config <file>', 'migration config (.ts or .json)', 'migrations/ecommerce.ts')
    .option('--source-url <url>', 'source database URL (default: from the config and its password variable)')
    .option('--target-url <url>', 'target database URL')
    .option(
      '--dry-run',
      'print the SQL (passwords masked) and change nothing; exit 1 when something would change',
    )
    .option(
      '--update-roles',
      'change roles that exist on the target and differ from the source (default: compare and warn)',
    )
    .option('--json', 'print the plan as JSON')
    .action(async (opts) => {
      const { roles } = await import('./commands/roles.js');
      outcome = await roles({ ...opts, cwd: process.cwd() });
    });

  program
    .command('ddl')
    .description(
      'Native engine: apply a schema change during CDC to the target and the source, in the order that keeps replication running (writes on the tables it names wait about the lag)',
    )
    .argument('<sql>', 'the statement, e.g. "ALTER TABLE public.ledger ADD COLUMN note text"')
    .option('-c, --config <file>', 'migration config (.ts or .json)', 'migrations/ecommerce.ts')
    .option('--source-url <url>', 'source database URL (default: from the config and its password variable)')
    .option('--target-url <url>', 'target database URL')
    .addOption(engineNativeOnly())
    .option('--tables <list>', 'schema.table,... to hold still (default: the tables the statement names)')
    .option('--state-dir <dir>', 'folder of the state files', '.dmskit')
    .action(async (sql, opts) => {
      const { ddl } = await import('./commands/scope.js');
      outcome = await ddl({ ...opts, sql, cwd: process.cwd() });
    });

  dmsCommand(
    'test-connection',
    'Test both DMS endpoints from the replication instance and wait for the result',
  ).action(async (opts) => {
    const { testConnection } = await import('./commands/dms.js');
    outcome = await testConnection({ ...opts, cwd: process.cwd() });
  });

  dmsCommand('assess', 'Run a DMS premigration assessment and summarize it')
    .requiredOption('--bucket <name>', 'S3 bucket for the assessment results')
    .requiredOption('--role-arn <arn>', 'IAM role DMS uses to write to the bucket')
    .action(async (opts) => {
      const { assessment } = await import('./commands/dms.js');
      outcome = await assessment({ ...opts, cwd: process.cwd() });
    });

  dmsCommand('reload-table', 'Reload one table of the running DMS task')
    .argument('<table>', 'schema.table')
    .action(async (table, opts) => {
      const { reload } = await import('./commands/dms.js');
      outcome = await reload({ ...opts, table, cwd: process.cwd() });
    });

  for (const [name, description] of [
    [
      'cutover',
      'Cut over: fence the source, prove with a watermark that every write reached the target, stop replication, copy sequences, switch, validate (resumable)',
    ],
    [
      'rollback',
      'Undo a cutover: before ready, release the fence and resume replication; after ready, fall back over the fall-back path without loss',
    ],
    [
      'finish',
      'End the fall-back path after the cutover: the reverse subscription, its slot and publications',
    ],
    [
      'abandon',
      'Remove everything the migration created on both servers: fence, subscription, slot, publications, watermark',
    ],
  ] as const) {
    const cmd = program
      .command(name)
      .description(description)
      .option('-c, --config <file>', 'migration config (.ts or .json)', 'migrations/ecommerce.ts')
      .addOption(
        new Option('--engine <engine>', 'replication engine').choices(['dms', 'native']).default('dms'),
      )
      .option(
        '--source-url <url>',
        'source database URL (default: from the config and its password variable)',
      )
      .option('--target-url <url>', 'target database URL (the Aurora writer)')
      .option('--state-dir <dir>', 'folder of the state and lock files', '.dmskit')
      .option('--state <file>', 'cutover state file (default <state-dir>/cutover-<name>-<environment>.json)');
    if (name === 'cutover') {
      cmd
        .option('--dry-run', 'print the steps and what each would run; connect nowhere')
        .option('--json', 'print the result as JSON')
        .action(async (opts) => {
          const { cutover } = await import('./commands/cutover.js');
          outcome = await cutover({ ...opts, cwd: process.cwd() });
        });
    } else if (name === 'rollback') {
      cmd
        .option(
          '--force',
          'after ready without a healthy fall-back path: unfence the old source although the two diverge',
        )
        .action(async (opts) => {
          const { rollback } = await import('./commands/cutover.js');
          outcome = await rollback({ ...opts, cwd: process.cwd() });
        });
    } else if (name === 'finish') {
      cmd.action(async (opts) => {
        const { finish } = await import('./commands/finish.js');
        outcome = await finish({ ...opts, cwd: process.cwd() });
      });
    } else {
      cmd.option('--dry-run', 'print what would be removed; connect nowhere').action(async (opts) => {
        const { abandon } = await import('./commands/abandon.js');
        outcome = await abandon({ ...opts, cwd: process.cwd() });
      });
    }
  }

  program
    .command('plan')
    .description(
      'Plan the landing zone for a pull request: synth, terraform init/validate/plan, policies, Markdown summary',
    )
    .requiredOption('-c, --config <file>', 'migration config (.ts or .json)')
    .option('--offline', 'plan without AWS: no credentials, local state, providers from the mirror')
    .option(
      '-o, --out <dir>',
      'folder for cdktf.out, the plan, plan.json and plan-summary.md (default: .dmskit/plan/<config name>)',
    )
    .option(
      '--state <file>',
      'with --offline: plan against this Terraform state file (e.g. the S3 state copied in CI)',
    )
    .option('--json', 'print the typed report as JSON')
    .action(async (opts) => {
      const { plan } = await import('./commands/plan.js');
      outcome = await plan({ ...opts, cwd: process.cwd() });
    });

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // help and version exit 0; a bad flag or argument is a usage error
      return error.exitCode === 0 ? 0 : 2;
    }
    throw error;
  }
  return outcome.exitCode;
}
