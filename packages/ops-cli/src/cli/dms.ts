import type { Command } from 'commander';
import { configOption, durationOption, examples, type SetOutcome } from './options.js';

/** A command that drives the DMS task of a config: `--config`, `--timeout`, `--json`. */
export function dmsCommand(program: Command, name: string, description: string): Command {
  const cmd = program.command(name).description(description);
  configOption(cmd);
  return cmd
    .addOption(durationOption('--timeout <duration>', 'how long to wait for DMS'))
    .option('--json', 'print JSON');
}

/** `dmskit stop`, `test-connection`, `assess`, `reload-table`: the DMS task's own operations. */
export function registerDmsOperations(program: Command, done: SetOutcome): void {
  const stop = dmsCommand(
    program,
    'stop',
    'Stop the DMS replication task and wait until it is stopped',
  ).action(async (opts) => {
    const { stop } = await import('../commands/dms.js');
    done(await stop({ ...opts, cwd: process.cwd() }));
  });
  examples(stop, [
    [
      'dmskit stop --config migrations/shop.ts',
      'stop the task (its slot stays: dmskit start --mode resume goes on)',
    ],
    ['dmskit stop --config migrations/shop.ts --timeout 20m', 'wait up to 20 minutes'],
  ]);

  const test = dmsCommand(
    program,
    'test-connection',
    'Test both DMS endpoints from the replication instance and wait for the result',
  ).action(async (opts) => {
    const { testConnection } = await import('../commands/dms.js');
    done(await testConnection({ ...opts, cwd: process.cwd() }));
  });
  examples(test, [
    ['dmskit test-connection --config migrations/shop.ts', 'both endpoints, from the replication instance'],
    ['dmskit test-connection --config migrations/shop.ts --timeout 5m --json', 'as JSON, at most 5 minutes'],
  ]);

  const assess = dmsCommand(program, 'assess', 'Run a DMS premigration assessment and summarize it')
    .option(
      '--bucket <name>',
      "S3 bucket for the results (default: the stack's, <name>-<env>-dms-assess-<account>-<region>)",
    )
    .option(
      '--role-arn <arn>',
      "IAM role DMS writes there with (default: the stack's, <name>-<env>-dms-assessment)",
    )
    .action(async (opts) => {
      const { assessment } = await import('../commands/dms.js');
      done(await assessment({ ...opts, cwd: process.cwd() }));
    });
  examples(assess, [
    [
      'dmskit assess --config migrations/shop.ts',
      "run every assessment the task supports; results in the stack's encrypted bucket",
    ],
    [
      'dmskit assess --config migrations/shop.ts --bucket acme-dms-assessments --role-arn arn:aws:iam::123456789012:role/acme-dms-assessment',
      'into a bucket of your own',
    ],
    [
      'dmskit assess --config migrations/shop.ts --bucket ... --role-arn ... --timeout 2h --json',
      'a long one, as JSON',
    ],
  ]);

  const reload = dmsCommand(program, 'reload-table', 'Reload one table of the running DMS task')
    .argument('<table>', 'schema.table')
    .action(async (table, opts) => {
      const { reload } = await import('../commands/dms.js');
      done(await reload({ ...opts, table, cwd: process.cwd() }));
    });
  examples(reload, [
    [
      'dmskit reload-table public.orders --config migrations/shop.ts',
      'load one table again while CDC goes on',
    ],
    ['dmskit reload-table sales."Order Lines" --config migrations/shop.ts --json', 'a quoted name'],
  ]);
}
