import type { Command } from 'commander';
import { connectionOptions, examples, type SetOutcome } from './options.js';

/** `dmskit catalog`: every database of a source server, inventoried. */
export function registerCatalog(program: Command, done: SetOutcome): void {
  const cmd = program
    .command('catalog')
    .description('Inventory every database of a source server into a catalog file (merged on later runs)');
  connectionOptions(cmd, {
    source: 'source server URL (any database on it)',
    target: false,
    required: ['source'],
  });
  cmd
    .option('-o, --out <file>', 'catalog file (default catalog/<host>-<port>.json)')
    .option('--json', 'print the catalog as JSON')
    .action(async (opts) => {
      const { catalog } = await import('../commands/catalog.js');
      done(await catalog({ ...opts, source: opts.sourceUrl, cwd: process.cwd() }));
    });
  examples(cmd, [
    ['dmskit catalog --source-url postgres://dms@onprem:5432/postgres', 'every database of the server'],
    [
      'PGHOST=onprem PGUSER=dms dmskit catalog --source-url postgres:///postgres --json',
      'host and user from the environment, as psql takes them',
    ],
  ]);
}
