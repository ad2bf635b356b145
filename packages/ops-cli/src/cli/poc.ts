import { type Command, Option } from 'commander';
import {
  connectionOptions,
  examples,
  nonNegativeNumber,
  positiveNumber,
  type SetOutcome,
} from './options.js';

/** `dmskit poc`: a proof-of-concept migration with pg_dump and pg_restore, timed. */
export function registerPoc(program: Command, done: SetOutcome): void {
  const cmd = program
    .command('poc')
    .description(
      'Proof-of-concept migration with pg_dump -Fc and pg_restore -j, timed per phase, then validation (needs downtime)',
    );
  connectionOptions(cmd, {
    source: 'source database URL',
    target: 'target database URL (empty)',
    required: ['source', 'target'],
  });
  cmd
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
      const { poc } = await import('../commands/poc.js');
      done(await poc({ ...opts, source: opts.sourceUrl, target: opts.targetUrl, cwd: process.cwd() }));
    });
  examples(cmd, [
    [
      'dmskit poc --source-url postgres://app@onprem:5432/shop --target-url postgres://app@aurora:5432/shop_poc',
      'dump, restore and validate, timed per phase',
    ],
    [
      'dmskit poc --source-url ... --target-url ... --jobs 8 --compress 0 --json',
      'eight restore jobs, no compression',
    ],
  ]);
}
