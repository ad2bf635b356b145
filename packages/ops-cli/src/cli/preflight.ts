import type { Command } from 'commander';
import { connectionOptions, examples, type SetOutcome } from './options.js';

/** `dmskit preflight`: what a PostgreSQL to Aurora PostgreSQL migration needs, checked. */
export function registerPreflight(program: Command, done: SetOutcome): void {
  const cmd = program
    .command('preflight')
    .description(
      'Check a source (and target) for everything a PostgreSQL to Aurora PostgreSQL migration needs',
    )
    .option(
      '-c, --config <file>',
      'migration config: task settings (migration type, selection rules, LOB mode)',
    );
  connectionOptions(cmd, { source: 'source database URL', target: 'target database URL' });
  cmd
    .option(
      '--fix-sql',
      'print one SQL script of the fixes the failed checks name (settings, replica identity, grants)',
    )
    .option('--markdown <file>', 'write the report in Markdown')
    .option('--json', 'print the typed report as JSON')
    .action(async (opts) => {
      const { preflight } = await import('../commands/preflight.js');
      done(await preflight({ ...opts, source: opts.sourceUrl, target: opts.targetUrl, cwd: process.cwd() }));
    });
  examples(cmd, [
    ['dmskit preflight --source-url postgres://dms@onprem:5432/shop', 'the source alone'],
    [
      'dmskit preflight --config migrations/shop.ts --source-url ... --target-url postgres://dms@aurora:5432/shop',
      "both servers, against a migration's settings",
    ],
    ['dmskit preflight --source-url ... --fix-sql > fixes.sql', 'the fixes as one script to review and run'],
  ]);
}
