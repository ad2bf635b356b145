import { type Command, Option } from 'commander';
import { dmsCommand } from './dms.js';
import {
  connectionOptions,
  durationOption,
  engineOption,
  examples,
  type SetOutcome,
  stateDirOption,
} from './options.js';

/** The columns `status` can sort its per-table view by. */
export const STATUS_SORTS = [
  'name',
  'state',
  'rows',
  'inserts',
  'updates',
  'deletes',
  'changes',
  'last-apply',
] as const;

/** `dmskit status`: the task, per table, like the DMS console's Table statistics. */
export function registerStatus(program: Command, done: SetOutcome): void {
  const cmd = dmsCommand(
    program,
    'status',
    'Task status, per table (state, full-load rows, inserts, updates, deletes, last apply, validation), CDC latency, last error',
  ).addOption(engineOption());
  cmd
    .option('-w, --watch', 'refresh until Ctrl-C')
    .addOption(
      durationOption(
        '--interval <duration>',
        'refresh interval with --watch (default 10s for DMS, 2s native)',
      ),
    )
    .addOption(
      new Option('--sort <column>', 'order of the per-table view (largest first for numbers)')
        .choices([...STATUS_SORTS])
        .default('name'),
    );
  connectionOptions(cmd, { source: 'native: source database URL', target: 'native: target database URL' });
  stateDirOption(cmd, 'folder of the state files');
  cmd.action(async (opts) => {
    if (opts.engine === 'native') {
      const { nativeStatus } = await import('../commands/native.js');
      done(await nativeStatus({ ...opts, cwd: process.cwd() }));
    } else {
      const { dmsStatus } = await import('../commands/dms.js');
      done(await dmsStatus({ ...opts, cwd: process.cwd() }));
    }
  });
  examples(cmd, [
    ['dmskit status --config migrations/shop.ts --watch', 'the DMS task, refreshed every 10 s'],
    [
      'dmskit status --engine native --config migrations/shop.ts --target-url postgres://migrator@aurora:5432/shop --watch --sort changes',
      'native: the busiest tables first',
    ],
    ['dmskit status --config migrations/shop.ts --json', 'once, as JSON'],
  ]);
}
