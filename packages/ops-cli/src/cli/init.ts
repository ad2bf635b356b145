import type { Command } from 'commander';
import { connectionOptions, examples, type SetOutcome } from './options.js';

/** `dmskit init`: a migration config of one's own, written from the source's catalog and preflight. */
export function registerInit(program: Command, done: SetOutcome): void {
  const cmd = program
    .command('init')
    .description(
      'Write migrations/<name>.ts for a source database: selection rules, sizes, tables without a key flagged, suggested shards, typed and commented',
    );
  connectionOptions(cmd, { source: 'source database URL', target: false, required: ['source'] });
  cmd
    .option('--name <name>', 'migration name (default: the database name)')
    .option('-o, --out <file>', 'config file to write (default migrations/<name>.ts)')
    .option('--force', 'overwrite the file when it exists')
    .action(async (opts) => {
      const { init } = await import('../commands/init.js');
      done(await init({ ...opts, cwd: process.cwd() }));
    });
  examples(cmd, [
    ['dmskit init --source-url postgres://dms@onprem:5432/shop', 'write migrations/shop.ts'],
    [
      'dmskit init --source-url postgres://dms@onprem:5432/shop --name shop-eu --out migrations/shop-eu.ts',
      'another name and file',
    ],
  ]);
}
