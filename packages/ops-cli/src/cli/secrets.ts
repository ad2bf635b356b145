import type { Command } from 'commander';
import { configOption, connectionOptions, examples, type SetOutcome } from './options.js';

/** `dmskit secrets`: the DMS endpoint secrets the stack made empty, written. */
export function registerSecrets(program: Command, done: SetOutcome): void {
  const cmd = program
    .command('secrets')
    .description(
      'Write the DMS endpoint secrets the stack created empty: the source from the config and its password variable, the target from --target-url',
    );
  configOption(cmd);
  connectionOptions(cmd, {
    source: false,
    target: 'the DMS user on Aurora, without its password (PGPASSWORD or the passfile)',
  });
  cmd
    .option('--dry-run', 'print what would be written (passwords masked), write nothing')
    .action(async (opts) => {
      const { secrets } = await import('../commands/secrets.js');
      done(await secrets({ ...opts, cwd: process.cwd() }));
    });
  examples(cmd, [
    [
      'DMSKIT_SOURCE_PASSWORD=... dmskit secrets --config migrations/shop.ts --target-url postgres://dms@aurora:5432/shop --dry-run',
      'what would be written, masked',
    ],
    [
      'PGPASSWORD=... dmskit secrets --config migrations/shop.ts --target-url postgres://dms@aurora:5432/shop',
      'write both secrets',
    ],
  ]);
}
