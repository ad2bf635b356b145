import type { Command } from 'commander';
import { configOption, connectionOptions, examples, type SetOutcome } from './options.js';

/** `dmskit schema`: the target schema of a DMS migration, made before its first start. */
export function registerSchema(program: Command, done: SetOutcome): void {
  const cmd = program
    .command('schema')
    .description(
      "Create the target schema of a DMS migration before its first start: the selected tables with keys, indexes and constraints, under the names and columns the task's transformation rules give them, in one transaction",
    );
  configOption(cmd);
  connectionOptions(cmd, {
    source: 'source database URL (default: from the config and its password variable)',
    target: 'target database URL (the Aurora writer)',
  });
  cmd
    .option('--dry-run', 'print what would be created and the transformation DDL; change nothing')
    .option(
      '--foreign-keys',
      'after the full load: add the foreign keys the schema copy left out (NOT VALID, then validated)',
    )
    .option('--json', 'print the result as JSON')
    .action(async (opts) => {
      const { schema } = await import('../commands/schema.js');
      done(await schema({ ...opts, cwd: process.cwd() }));
    });
  examples(cmd, [
    [
      'dmskit schema --config migrations/shop.ts --target-url postgres://migrator@aurora:5432/shop --dry-run',
      'what would be made',
    ],
    [
      'dmskit schema --config migrations/shop.ts --target-url postgres://migrator@aurora:5432/shop',
      'make it',
    ],
    [
      'dmskit schema --config migrations/shop.ts --target-url ... --foreign-keys',
      'after the full load: the foreign keys',
    ],
  ]);
}
