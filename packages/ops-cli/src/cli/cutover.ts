import type { Command } from 'commander';
import {
  configOption,
  connectionOptions,
  engineOption,
  examples,
  type SetOutcome,
  stateDirOption,
} from './options.js';

/** The flags `cutover`, `rollback`, `finish` and `abandon` share: config, engine, servers, state. */
function cutoverFamily(program: Command, name: string, description: string): Command {
  const cmd = program.command(name).description(description);
  configOption(cmd);
  cmd.addOption(engineOption());
  connectionOptions(cmd, {
    source: 'source database URL (default: from the config and its password variable)',
    target: 'target database URL (the Aurora writer)',
  });
  stateDirOption(cmd);
  return cmd.option(
    '--state <file>',
    'cutover state file (default <state-dir>/cutover-<name>-<environment>.json)',
  );
}

/** `dmskit cutover`, `rollback`, `finish`, `abandon`: the way to ready, and the ways back. */
export function registerCutover(program: Command, done: SetOutcome): void {
  const cutover = cutoverFamily(
    program,
    'cutover',
    'Cut over: fence the source, prove with a watermark that every write reached the target, stop replication, copy sequences, switch, validate (resumable)',
  )
    .option('--dry-run', 'print the steps and what each would run; connect nowhere')
    .option('--json', 'print the result as JSON')
    .action(async (opts) => {
      const { cutover } = await import('../commands/cutover.js');
      done(await cutover({ ...opts, cwd: process.cwd() }));
    });
  examples(cutover, [
    [
      'dmskit cutover --config migrations/shop.ts --dry-run',
      'the steps, the window estimate and the SQL; nothing runs',
    ],
    [
      'dmskit cutover --engine native --config migrations/shop.ts --target-url postgres://migrator@aurora:5432/shop',
      'cut over a native migration',
    ],
    [
      'dmskit cutover --config migrations/shop.ts',
      'cut over the DMS task; run again to resume an interrupted one',
    ],
  ]);

  const rollback = cutoverFamily(
    program,
    'rollback',
    'Undo a cutover: before ready, release the fence and resume replication; after ready, fall back over the fall-back path without loss',
  )
    .option(
      '--force',
      'after ready without a healthy fall-back path: unfence the old source although the two diverge',
    )
    .action(async (opts) => {
      const { rollback } = await import('../commands/cutover.js');
      done(await rollback({ ...opts, cwd: process.cwd() }));
    });
  examples(rollback, [
    ['dmskit rollback --engine native --config migrations/shop.ts --target-url ...', 'undo the last cutover'],
    [
      'dmskit rollback --config migrations/shop.ts --force',
      'after ready with no fall-back path: unfence the source anyway',
    ],
  ]);

  const finish = cutoverFamily(
    program,
    'finish',
    'End the fall-back path after the cutover: the reverse subscription, its slot and publications',
  ).action(async (opts) => {
    const { finish } = await import('../commands/finish.js');
    done(await finish({ ...opts, cwd: process.cwd() }));
  });
  examples(finish, [
    [
      'dmskit finish --engine native --config migrations/shop.ts --target-url ...',
      'the target is the database now: drop the way back',
    ],
    [
      'dmskit finish --config migrations/shop.ts --state .dmskit/cutover-shop-prod.json',
      'with a state file kept elsewhere',
    ],
  ]);

  const abandon = cutoverFamily(
    program,
    'abandon',
    'Remove everything the migration created on both servers: fence, subscription, slot, publications, watermark',
  )
    .option('--dry-run', 'print what would be removed; connect nowhere')
    .action(async (opts) => {
      const { abandon } = await import('../commands/abandon.js');
      done(await abandon({ ...opts, cwd: process.cwd() }));
    });
  examples(abandon, [
    [
      'dmskit abandon --engine native --config migrations/shop.ts --target-url ... --dry-run',
      'what would be removed',
    ],
    [
      'dmskit abandon --engine native --config migrations/shop.ts --target-url ...',
      'remove it all (the source keeps no slot)',
    ],
  ]);
}
