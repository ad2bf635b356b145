import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import {
  dmsSlotName,
  type MigrationConfig,
  nativeObjectNames,
  selectTables,
  UsageError,
} from '@dmskit/shared';
import { closeQuietly, describeConnection, listTables, openConnection } from '@dmskit/validation';
import type pg from 'pg';
import type { CommandOutcome } from '../cli.js';
import { dmsCutoverEngine } from '../dms/engine.js';
import { createDmsClient, dmsResourceIds } from '../dms/task.js';
import { nativeCutoverEngine } from '../native/engine.js';
import { type CutoverResult, cutoverSettings, rollbackCutover, runCutover } from '../runbook/cutover.js';
import type { CutoverEngine } from '../runbook/engine.js';
import { defaultStateFile, fileStateStore } from '../runbook/state.js';
import { loadConfigOption } from './config.js';
import { type EngineName, sourceUrlOf, targetUrlOf } from './context.js';

export interface CutoverCommandOptions {
  readonly cwd: string;
  readonly config: string;
  readonly engine: EngineName;
  readonly sourceUrl?: string;
  readonly targetUrl?: string;
  readonly state?: string;
  readonly dryRun?: boolean;
  readonly json?: boolean;
}

function engineFor(
  name: EngineName,
  config: MigrationConfig,
  source: pg.Client,
  target: pg.Client,
): CutoverEngine {
  if (name === 'native') return nativeCutoverEngine(source, target, nativeObjectNames(config));
  return dmsCutoverEngine({
    client: createDmsClient(config.aws.region),
    cloudwatch: new CloudWatchClient({ region: config.aws.region, retryMode: 'adaptive', maxAttempts: 8 }),
    config,
    source,
  });
}

/** The runbook with what each step would run, without connecting anywhere (`--dry-run`). */
export function cutoverDryRun(config: MigrationConfig, engine: EngineName, stateFile: string): string {
  const n = nativeObjectNames(config);
  const ids = dmsResourceIds(config);
  const slot = engine === 'native' ? n.slot : dmsSlotName(config);
  const fence =
    config.cutover.fenceMethod === 'read-only'
      ? [
          `source: ALTER DATABASE ${config.source.database} SET default_transaction_read_only = on`,
          'source: pg_terminate_backend() for every other client session of the database; wait until they are gone',
        ]
      : ['source: BEGIN; LOCK TABLE <every migrated table> IN EXCLUSIVE MODE (held until dmskit exits)'];
  const steps: [string, string[]][] = [
    [
      'preconditions',
      engine === 'native'
        ? [
            `target: pg_subscription_rel of ${n.subscription}: every table ready`,
            `source: lag of slot ${slot} <= ${config.cutover.maxLagSeconds} s`,
          ]
        : [
            `DMS: DescribeReplicationTasks ${ids.task}: running`,
            'DMS: DescribeTableStatistics: every table loaded, no validation failure',
            `CloudWatch: CDCLatencyTarget <= ${config.cutover.maxLagSeconds} s`,
          ],
    ],
    ['fence', fence],
    ['read-lsn', ['source: SELECT pg_current_wal_lsn()']],
    [
      'wait-for-lsn',
      [
        `source: poll pg_replication_slots until confirmed_flush_lsn of ${slot} >= the fence LSN (timeout ${config.cutover.lsnWaitTimeoutSeconds} s)`,
      ],
    ],
    [
      'stop-replication',
      [
        engine === 'native'
          ? `target: ALTER SUBSCRIPTION ${n.subscription} DISABLE`
          : `DMS: StopReplicationTask ${ids.task}; wait until stopped`,
      ],
    ],
    [
      'sequences',
      [
        'source: last_value, is_called of every sequence in scope',
        'target: SELECT setval(...) for each, in one transaction',
      ],
    ],
    ['validation', ['both: schema diff and data by key ranges (dmskit validate); must be equal']],
    ['ready', ['print the connection switch and the write-unavailability window; the source stays fenced']],
    [
      'finish',
      [
        engine === 'native'
          ? `target: DROP SUBSCRIPTION ${n.subscription}; source: DROP PUBLICATION ${n.publication}, ${n.insertOnlyPublication}`
          : `source: pg_drop_replication_slot('${slot}')`,
      ],
    ],
  ];
  const lines = [
    `Cutover runbook of ${config.name} (${config.environment}), engine ${engine}, fence ${config.cutover.fenceMethod}; state in ${stateFile}`,
    '',
  ];
  steps.forEach(([step, actions], i) => {
    lines.push(`${i + 1}. ${step}`);
    for (const a of actions) lines.push(`     ${a}`);
  });
  lines.push(
    '',
    'On any failure before ready: the fence is released and replication resumed. `dmskit rollback` does the same by hand.',
  );
  return `${lines.join('\n')}\n`;
}

/**
 * `dmskit cutover`: the cutover runbook against the real servers, resumable from its state file; or,
 * with `--dry-run`, the steps it would run.
 */
export async function cutover(
  o: CutoverCommandOptions,
): Promise<CommandOutcome & { result?: CutoverResult }> {
  const { config } = await loadConfigOption(o.config, o.cwd);
  const stateFile = o.state ?? defaultStateFile(o.cwd, config.name, config.environment);
  if (o.dryRun) {
    process.stdout.write(cutoverDryRun(config, o.engine, stateFile));
    return { exitCode: 0 };
  }
  if (config.cutover.fenceMethod === 'lock-tables') {
    throw new UsageError(
      "cutover.fenceMethod 'lock-tables' fences only while dmskit runs (rehearsals): use 'read-only' for a cutover",
    );
  }
  const sourceUrl = sourceUrlOf(config, o.sourceUrl);
  const targetUrl = targetUrlOf(o.targetUrl);
  const source = await openConnection(sourceUrl, 'source', { applicationName: 'dmskit-control' });
  let target: pg.Client | undefined;
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort(
      new UsageError(`interrupted by ${signal}: the source was unfenced and replication resumed`, {
        exitCode: 130,
      }),
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await source.query('SET default_transaction_read_only = off');
    target = await openConnection(targetUrl, 'target', { applicationName: 'dmskit-control' });
    const engine = engineFor(o.engine, config, source, target);
    const tables = selectTables(await listTables(source), config.task.tableMappings);
    const result = await runCutover({
      source: sourceUrl,
      target: targetUrl,
      sourceControl: source,
      targetControl: target,
      engine,
      ...cutoverSettings(config),
      tables,
      state: fileStateStore(stateFile),
      onStep: (step, detail) => process.stderr.write(`  ${step}: ${detail}\n`),
      signal: controller.signal,
    });
    const w = result.window;
    const { fence: _fence, ...printable } = result;
    if (o.json) process.stdout.write(`${JSON.stringify(printable, null, 2)}\n`);
    else {
      process.stdout.write(
        [
          `Target ready${result.resumed ? ' (resumed cutover)' : ''}. Switch the applications' connection strings from ${describeConnection(sourceUrl)} to ${describeConnection(targetUrl)}.`,
          `Writes were unavailable for ${w.totalMs} ms: fence ${w.fenceMs} ms, waiting for LSN ${result.fenceLsn} ${w.waitForLsnMs} ms, stopping replication ${w.stopReplicationMs} ms, sequences ${w.sequencesMs} ms (${result.sequences.length}), final validation ${w.validationMs} ms.`,
          `The source stays fenced (read-only); state in ${stateFile}.`,
          '',
        ].join('\n'),
      );
    }
    return { exitCode: 0, result };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await Promise.all([closeQuietly(source), closeQuietly(target)]);
  }
}

/** `dmskit rollback`: releases the fence of an unfinished cutover and resumes replication. */
export async function rollback(o: Omit<CutoverCommandOptions, 'dryRun'>): Promise<CommandOutcome> {
  const { config } = await loadConfigOption(o.config, o.cwd);
  const stateFile = o.state ?? defaultStateFile(o.cwd, config.name, config.environment);
  const sourceUrl = sourceUrlOf(config, o.sourceUrl);
  const source = await openConnection(sourceUrl, 'source', { applicationName: 'dmskit-control' });
  let target: pg.Client | undefined;
  try {
    await source.query('SET default_transaction_read_only = off');
    target =
      o.engine === 'native'
        ? await openConnection(targetUrlOf(o.targetUrl), 'target', { applicationName: 'dmskit-control' })
        : undefined;
    const engine = engineFor(o.engine, config, source, target ?? source);
    for (const line of await rollbackCutover({ source: sourceUrl, engine, state: fileStateStore(stateFile) }))
      process.stdout.write(`${line}\n`);
    return { exitCode: 0 };
  } finally {
    await Promise.all([closeQuietly(source), closeQuietly(target)]);
  }
}
