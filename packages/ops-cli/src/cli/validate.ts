import { type Command, Option } from 'commander';
import {
  connectionOptions,
  durationOption,
  examples,
  positiveNumber,
  type SetOutcome,
  stateDirOption,
} from './options.js';

/** `dmskit validate`: schema and data of two databases compared, every differing row named. */
export function registerValidate(program: Command, done: SetOutcome): void {
  const cmd = program
    .command('validate')
    .description(
      'Compare schema and data of two databases: counts and checksums by key range, naming every differing row',
    );
  connectionOptions(cmd, {
    source: 'source database URL',
    target: 'target database URL',
    required: ['source', 'target'],
  });
  cmd.option(
    '-c, --config <file>',
    'migration config whose selection rules and row filters scope the comparison; the verdict is recorded for the cutover',
  );
  stateDirOption(cmd, 'with --config: folder where the verdict is recorded');
  cmd
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
      durationOption(
        '--recheck-delay <duration>',
        'while CDC runs: re-check differing ranges after this delay (about the replication lag)',
        { min: 0 },
      ),
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
      const { validate } = await import('../commands/validate.js');
      done(
        await validate({
          ...opts,
          source: opts.sourceUrl,
          target: opts.targetUrl,
          recheckDelay: opts.recheckDelay,
          cwd: process.cwd(),
        }),
      );
    });
  examples(cmd, [
    [
      'dmskit validate --source-url postgres://app@onprem:5432/shop --target-url postgres://app@aurora:5432/shop',
      'two databases, every table',
    ],
    [
      'dmskit validate --source-url ... --target-url ... --config migrations/shop.ts --recheck-delay 5s',
      "a migration's tables while CDC runs, ranges that differ re-checked after the lag; the verdict is recorded for the cutover",
    ],
    [
      'dmskit validate --source-url ... --target-url ... --junit validate.xml --markdown validate.md',
      'reports for CI',
    ],
  ]);
}
