import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type {
  DatabaseMigrationServiceClient,
  ReplicationTask,
} from '@aws-sdk/client-database-migration-service';
import { dmsSlotName, type MigrationConfig } from '@dmskit/shared';
import type pg from 'pg';
import { dropReplicationSlot } from '../native/subscription.js';
import type { CutoverEngine, ReplicationReadiness } from '../runbook/engine.js';
import { startTask, stopTask, taskStatus, VALIDATION_FAILURES } from './operations.js';
import { dmsResourceIds, findTask } from './task.js';

/** Table states of a task whose full load is done (DMS: "Table state during tasks"). */
const LOADED = new Set(['Table completed', 'Full load completed']);

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
  waitTimeoutMs?: number;
  pollMs?: number;
}): CutoverEngine {
  const ids = dmsResourceIds(options.config);
  const slot = dmsSlotName(options.config);
  const wait = {
    timeoutMs: options.waitTimeoutMs ?? 15 * 60_000,
    ...(options.pollMs ? { pollMs: options.pollMs } : {}),
  };
  const task = (): Promise<ReplicationTask> => findTask(options.client, options.config);
  return {
    name: 'dms',
    slot,
    readiness: async (): Promise<ReplicationReadiness> => {
      const t = await task();
      const status = await taskStatus(options.client, options.cloudwatch, t, ids.instance);
      const problems: string[] = [];
      if (status.status !== 'running') problems.push(`task ${status.task} is ${status.status}, not running`);
      if (status.lastError && status.status !== 'running') problems.push(`last error: ${status.lastError}`);
      const loading = status.tables.filter((x) => !LOADED.has(x.state));
      const latency = status.cdcLatencySeconds.target ?? status.cdcLatencySeconds.source;
      if (latency === null) problems.push('no CDC latency in CloudWatch for the last 10 minutes');
      return {
        fullLoadComplete: status.tables.length > 0 && loading.length === 0,
        lagSeconds: latency ?? Number.POSITIVE_INFINITY,
        validationFailures: status.tables
          .filter((x) => VALIDATION_FAILURES.has(x.validationState) || x.validationFailedRecords > 0)
          .map((x) => x.table),
        problems: [...problems, ...loading.slice(0, 5).map((x) => `${x.table} is ${x.state}`)],
      };
    },
    stopReplication: async () => {
      await stopTask(options.client, await task(), wait);
    },
    resumeReplication: async () => {
      await startTask(options.client, await task(), 'resume', wait);
    },
    finish: async () => {
      await dropReplicationSlot(options.source, slot);
    },
    describe: () => ({
      stop: `DMS: StopReplicationTask ${ids.task}, wait until stopped`,
      resume: `DMS: StartReplicationTask ${ids.task} (resume-processing), wait until running`,
      finish: `source: pg_drop_replication_slot('${slot}')`,
    }),
  };
}
