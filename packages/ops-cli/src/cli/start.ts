import { type Command, Option } from 'commander';
import { dmsCommand } from './dms.js';
import {
  connectionOptions,
  engineOption,
  examples,
  jobsOption,
  type SetOutcome,
  stateDirOption,
} from './options.js';

/** `dmskit start`: the DMS task started, or the native engine's schema, full load and CDC. */
export function registerStart(program: Command, done: SetOutcome): void {
  const cmd = dmsCommand(
    program,
    'start',
    'Start the replication (DMS task, or native: schema, full load, post-data, then CDC runs on)',
  )
    .addOption(engineOption())
    .addOption(
      new Option('--mode <mode>', 'DMS: start, resume or reload')
        .choices(['start', 'resume', 'reload'])
        .default('start'),
    );
  connectionOptions(cmd, {
    source: 'native: source database URL (default: from the config and its password variable)',
    target: 'native: target database URL',
  });
  cmd
    .option(
      '--cdc-start-position <lsn>',
      'DMS, a CDC-only task: where CDC starts (an LSN such as 4AF/B00000D0; default: its slot, created by the first start)',
    )
    .option('--cdc-start-time <time>', 'DMS, a CDC-only task: where CDC starts, as a time (ISO 8601)')
    .option(
      '--cdc-stop-position <position>',
      'DMS: where CDC stops (server_time:2026-11-22T12:00:00 or commit_time:...)',
    )
    .addOption(jobsOption())
    .option(
      '--reload-target',
      'native: the target holds an earlier copy of the tables in scope (a second attempt after a rollback and dmskit abandon): empty them (they are named first) and load them again',
    );
  stateDirOption(cmd);
  cmd.action(async (opts) => {
    if (opts.engine === 'native') {
      const { nativeStart } = await import('../commands/native.js');
      done(await nativeStart({ ...opts, cwd: process.cwd() }));
    } else {
      const { start } = await import('../commands/dms.js');
      done(await start({ ...opts, cwd: process.cwd() }));
    }
  });
  examples(cmd, [
    ['dmskit start --config migrations/shop.ts', 'start the DMS task and wait for its full load'],
    [
      'dmskit start --engine native --config migrations/shop.ts --target-url postgres://migrator@aurora:5432/shop --jobs 8',
      'native: roles, schema, full load with 8 jobs, indexes, then CDC (Ctrl-C stops it; running it again continues)',
    ],
    ['dmskit start --config migrations/shop.ts --mode resume', 'DMS: resume a stopped task where it stopped'],
  ]);
}
