import type { Command } from 'commander';
import { configOption, connectionOptions, examples, type SetOutcome } from './options.js';

/** `dmskit roles`: the roles in scope made on the target as Aurora allows them. */
export function registerRoles(program: Command, done: SetOutcome): void {
  const cmd = program
    .command('roles')
    .description(
      'Make the roles the objects in scope need on the target as Aurora allows them: attributes, memberships, settings, SCRAM password verifiers copied as stored (never shown); start does this first',
    );
  configOption(cmd);
  connectionOptions(cmd, {
    source: 'source database URL (default: from the config and its password variable)',
    target: 'target database URL',
  });
  cmd
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
      const { roles } = await import('../commands/roles.js');
      done(await roles({ ...opts, cwd: process.cwd() }));
    });
  examples(cmd, [
    [
      'dmskit roles --config migrations/shop.ts --target-url postgres://migrator@aurora:5432/shop --dry-run',
      'the SQL, passwords masked',
    ],
    [
      'dmskit roles --config migrations/shop.ts --target-url ... --update-roles',
      'make them, changing those that differ',
    ],
  ]);
}
