import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';

/** What a command hands back to the entry point: the exit code, and output already printed. */
export interface CommandOutcome {
  readonly exitCode: number;
}

function positiveNumber(name: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
    return n;
  };
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
      'size of the sample data set (1 = about 50,000 rows)',
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
      'migration config whose selection rules and row filters scope the comparison',
    )
    .addOption(
      new Option('--concurrency <n>', 'connections per side')
        .argParser(positiveNumber('--concurrency'))
        .default(2),
    )
    .option('--no-schema', 'compare data only')
    .addOption(
      new Option('--hash <mode>', 'row digest: auto runs the self-check')
        .choices(['auto', 'hashtextextended', 'md5'])
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
    .command('plan')
    .description(
      'Plan the landing zone for a pull request: synth, terraform init/validate/plan, policies, Markdown summary',
    )
    .requiredOption('-c, --config <file>', 'migration config (.ts or .json)')
    .option('--offline', 'plan without AWS: no credentials, local state, providers from the mirror')
    .option('-o, --out <dir>', 'folder for cdktf.out, the plan, plan.json and plan-summary.md')
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
