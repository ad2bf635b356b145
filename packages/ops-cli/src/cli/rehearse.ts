import type { Command } from 'commander';
import {
  configOption,
  connectionOptions,
  examples,
  jobsOption,
  nonNegativeNumber,
  positiveNumber,
  type SetOutcome,
  stateDirOption,
} from './options.js';

/** `dmskit rehearse`: a whole migration on two servers, started here or passed in. */
export function registerRehearse(program: Command, done: SetOutcome): void {
  const cmd = program
    .command('rehearse')
    .description(
      'Rehearse a whole migration on two PostgreSQL servers: schema, full load, CDC under live writes, cutover, validation, report',
    );
  configOption(cmd);
  connectionOptions(cmd, {
    source: 'use this source server and database instead of starting one',
    target: 'use this target server and database instead of starting one',
  });
  cmd
    .option('--no-sample-data', 'load nothing and run no writer: migrate the source database as it is')
    .option(
      '--scale <n>',
      'size of the sample data set (1 = about 41,000 rows)',
      positiveNumber('--scale'),
      1,
    )
    .option('--write-rate <n>', 'sample writer: transactions per second', positiveNumber('--write-rate'), 50)
    .option(
      '--cdc-seconds <n>',
      'how long CDC runs with live writes before the cutover, seconds',
      nonNegativeNumber('--cdc-seconds'),
      10,
    )
    .option('-o, --out <dir>', 'folder for report.json and report.md', 'rehearsal-out');
  stateDirOption(
    cmd,
    'servers passed in: state while it runs (a killed rehearsal is cleaned up by the next)',
  );
  cmd
    .addOption(jobsOption())
    .option('--json', 'print the report as JSON on stdout (progress goes to stderr)')
    .action(async (opts) => {
      const { rehearse } = await import('../commands/rehearse.js');
      done(await rehearse({ ...opts, cwd: process.cwd() }));
    });
  examples(cmd, [
    ['dmskit rehearse', 'on two servers started here, with sample data and live writes'],
    [
      'dmskit rehearse --source-url postgres://app@db1:5432/shop --target-url postgres://app@db2:5432/shop --no-sample-data --cdc-seconds 60',
      'on your own servers (passwords from PGPASSWORD or ~/.pgpass), migrating the database as it is',
    ],
    ['dmskit rehearse --scale 25 --write-rate 200 --json > report.json', 'a bigger data set, a JSON report'],
  ]);
}
