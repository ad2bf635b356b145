import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type {
  DatabaseMigrationServiceClient,
  ReplicationTask,
} from '@aws-sdk/client-database-migration-service';
import {
  DMSKIT_SCHEMA,
  dmsSlotName,
  dmsTaskIds,
  ExternalError,
  type MigrationConfig,
  shardWatermarkTables,
} from '@dmskit/shared';
import type pg from 'pg';
import { dropReplicationSlot } from '../native/subscription.js';
import type { CutoverEngine, ReplicationReadiness } from '../runbook/engine.js';
import { slotHealth } from '../runbook/slot-health.js';
import { watermarkTableName } from '../runbook/watermark.js';
import { LOADED_TABLE_STATES, startTask, stopTask, taskStatus, VALIDATION_FAILURES } from './operations.js';
import {
  describeReplication,
  findReplicationConfig,
  serverlessTableStatistics,
  startServerless,
  stopServerless,
} from './serverless.js';
import { dmsResourceIds, findTasks } from './task.js';

/** Table states of a task whose full load is done (DMS: "Table state during tasks"). */

/**
 * AWS DMS as the cutover runbook drives it: readiness from the task status, table statistics and
 * CloudWatch CDC latency; stop = StopReplicationTask (through `stopping`); resume = resume-processing;
 * finish = drop the task's replication slot on the source (DMS leaves it when the task is stopped).
 */
export function dmsCutoverEngine(options: {
  client: DatabaseMigrationServiceClient;
  cloudwatch: CloudWatchClient;
  config: MigrationConfig;
  source: pg.Client;
  /** The target database (Aurora), where the watermark must arrive. */
  target?: pg.Client;
  waitTimeoutMs?: number;
  pollMs?: number;
  /** The task's slot on the source (see resolveDmsSlot). @default the name the stack gives a CDC-only task's slot */
  slot?: string;
  /** The slots of every task (`task.shards` > 1; see resolveDmsSlots). @default [slot] */
  slots?: readonly string[];
}): CutoverEngine {
  const ids = dmsResourceIds(options.config);
  const slots = options.slots?.length ? [...options.slots] : [options.slot ?? dmsSlotName(options.config)];
  const slot = slots[0]!;
  /** The slot that is furthest behind, with every slot's problems and warnings. */
  const slotsHealth = async () => {
    const all = await Promise.all(slots.map((s) => slotHealth(options.source, s)));
    const worst = all.reduce((a, b) => (b.lagBytes > a.lagBytes ? b : a));
    const lags = all.map((h) => h.lagSeconds);
    return {
      ...worst,
      lagSeconds: lags.includes(null) ? null : Math.max(...(lags as number[])),
      problems: all.flatMap((h) => h.problems),
      warnings: all.flatMap((h) => h.warnings),
    };
  };
  const wait = {
    timeoutMs: options.waitTimeoutMs ?? 15 * 60_000,
    ...(options.pollMs ? { pollMs: options.pollMs } : {}),
  };
  const tasks = (): Promise<ReplicationTask[]> => findTasks(options.client, options.config);
  // DMS Serverless: the same runbook on StartReplication/StopReplication/DescribeReplications, keyed
  // by the replication config; its lag is the slot's walsender lag on the source.
  const serverless = Boolean(options.config.replicationInstance.serverless);
  let configArn: string | undefined;
  const replicationConfig = async () => {
    configArn ??= await findReplicationConfig(options.client, options.config);
    return configArn;
  };
  const serverlessReadiness = async (): Promise<ReplicationReadiness> => {
    const arn = await replicationConfig();
    const [r, stats, health] = await Promise.all([
      describeReplication(options.client, arn),
      serverlessTableStatistics(options.client, arn),
      slotsHealth(),
    ]);
    const problems: string[] = [...health.problems];
    const status = r?.Status ?? 'not started';
    if (status !== 'running') problems.push(`serverless replication ${ids.task} is ${status}, not running`);
    if (r?.FailureMessages?.length) problems.push(`last error: ${r.FailureMessages.join('; ')}`);
    const loading = stats.filter((x) => !LOADED_TABLE_STATES.has(x.TableState ?? ''));
    if (health.lagSeconds === null)
      problems.push(`no walsender reads slot ${health.slot}: the lag is unknown`);
    return {
      fullLoadComplete: stats.length > 0 && loading.length === 0,
      lagSeconds: health.lagSeconds,
      slot: health,
      warnings: health.warnings,
      validationFailures: stats
        .filter(
          (x) => VALIDATION_FAILURES.has(x.ValidationState ?? '') || (x.ValidationFailedRecords ?? 0) > 0,
        )
        .map((x) => `${x.SchemaName}.${x.TableName}`),
      problems: [
        ...problems,
        ...loading.slice(0, 5).map((x) => `${x.SchemaName}.${x.TableName} is ${x.TableState}`),
      ],
    };
  };
  // One watermark table per task: each task replicates its own, so the token in all proves all caught up.
  const watermarkTables = shardWatermarkTables(options.config);
  const watermarkTable = watermarkTables[0]!;
  const taskIds = dmsTaskIds(options.config);
  return {
    name: 'dms',
    slot,
    slots,
    watermarkTable,
    watermarkTables,
    readiness: async (): Promise<ReplicationReadiness> => {
      if (serverless) return serverlessReadiness();
      const all = await tasks();
      const statuses = await Promise.all(
        all.map((t) => taskStatus(options.client, options.cloudwatch, t, ids.instance)),
      );
      const health = await slotsHealth();
      const problems: string[] = [...health.problems];
      let lag: number | null = 0;
      const tables: (typeof statuses)[number]['tables'][number][] = [];
      for (const status of statuses) {
        if (status.status !== 'running')
          problems.push(`task ${status.task} is ${status.status}, not running`);
        if (status.lastError && status.status !== 'running')
          problems.push(`last error${statuses.length > 1 ? ` of ${status.task}` : ''}: ${status.lastError}`);
        // CDCLatencySource is the delay reading the source, CDCLatencyTarget the delay applying on the
        // target: the total is their sum (DMS: "Replication task metrics"); the migration is as far
        // behind as its slowest task.
        const { source, target } = status.cdcLatencySeconds;
        const latency = source === null && target === null ? null : (source ?? 0) + (target ?? 0);
        if (latency === null)
          problems.push(
            `no CDC latency${statuses.length > 1 ? ` of ${status.task}` : ''} in CloudWatch for the last 10 minutes`,
          );
        lag = latency === null || lag === null ? null : Math.max(lag, latency);
        tables.push(...status.tables);
      }
      const loading = tables.filter((x) => !LOADED_TABLE_STATES.has(x.state));
      return {
        fullLoadComplete: statuses.every((s) => s.tables.length > 0) && loading.length === 0,
        lagSeconds: lag,
        slot: health,
        warnings: health.warnings,
        validationFailures: tables
          .filter((x) => VALIDATION_FAILURES.has(x.validationState) || x.validationFailedRecords > 0)
          .map((x) => x.table),
        problems: [...problems, ...loading.slice(0, 5).map((x) => `${x.table} is ${x.state}`)],
      };
    },
    health: async () => {
      const h = await slotsHealth();
      return { problems: h.problems, applyErrors: 0 };
    },
    prepareWatermark: async () => {
      for (const [side, client] of [
        ['source', options.source],
        ['target', options.target],
      ] as const) {
        if (!client) continue;
        for (const table of watermarkTables) {
          const { rowCount } = await client.query(
            'SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2',
            [DMSKIT_SCHEMA, table],
          );
          if (!rowCount)
            throw new ExternalError(
              `the watermark table ${watermarkTableName(table)} is not on the ${side}: dmskit start creates it on the source before the task starts, and the task's table mappings replicate it`,
            );
        }
      }
    },
    // Every task at once: the window is the slowest stop, not their sum.
    stopReplication: async () => {
      if (serverless) await stopServerless(options.client, await replicationConfig(), wait);
      else await Promise.all((await tasks()).map((t) => stopTask(options.client, t, wait)));
    },
    resumeReplication: async () => {
      if (serverless) await startServerless(options.client, await replicationConfig(), 'resume', wait);
      else await Promise.all((await tasks()).map((t) => startTask(options.client, t, 'resume', wait)));
    },
    finish: async () => {
      for (const s of slots) await dropReplicationSlot(options.source, s);
    },
    describe: () => ({
      stop: serverless
        ? `DMS Serverless: StopReplication ${ids.task}, wait until stopped`
        : `DMS: StopReplicationTask ${taskIds.join(', ')}, wait until stopped`,
      resume: serverless
        ? `DMS Serverless: StartReplication ${ids.task} (resume-processing), wait until running`
        : `DMS: StartReplicationTask ${taskIds.join(', ')} (resume-processing), wait until running`,
      finish: slots.map((s) => `source: pg_drop_replication_slot('${s}')`).join('; '),
    }),
  };
}
