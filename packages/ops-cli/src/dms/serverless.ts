import {
  type DatabaseMigrationServiceClient,
  DescribeReplicationConfigsCommand,
  DescribeReplicationsCommand,
  DescribeReplicationTableStatisticsCommand,
  ReloadReplicationTablesCommand,
  type Replication,
  StartReplicationCommand,
  StopReplicationCommand,
  type TableStatistics,
} from '@aws-sdk/client-database-migration-service';
import { ExternalError, type MigrationConfig, UsageError } from '@dmskit/shared';
import { sleep } from '../util/time.js';
import { START_MODES, type StartMode } from './operations.js';
import { dmsResourceIds } from './task.js';

/**
 * DMS Serverless, keyed by the replication config's ARN (DMS API reference: StartReplication,
 * StopReplication, DescribeReplications, DescribeReplicationTableStatistics, ReloadReplicationTables).
 * A replication's statuses between start and `running` (initializing, fetching metadata, calculating
 * and provisioning capacity...) are many and not enumerated by the API reference, so every status but
 * the wanted one, `stopped` and `failed` is taken as transitional.
 */

/** The ARN of the migration's replication config, found by the id the stack gives it (`<name>-task`). */
export async function findReplicationConfig(
  client: DatabaseMigrationServiceClient,
  config: Pick<MigrationConfig, 'name' | 'environment'>,
): Promise<string> {
  const id = dmsResourceIds(config).task;
  const out = await client.send(
    new DescribeReplicationConfigsCommand({ Filters: [{ Name: 'replication-config-id', Values: [id] }] }),
  );
  const arn = out.ReplicationConfigs?.find((c) => c.ReplicationConfigIdentifier === id)?.ReplicationConfigArn;
  if (!arn)
    throw new UsageError(
      `DMS Serverless replication config ${id} not found: deploy the stack first (dmskit plan, then cdktf deploy)`,
    );
  return arn;
}

/** The replication of a config; undefined before its first start. */
export async function describeReplication(
  client: DatabaseMigrationServiceClient,
  configArn: string,
): Promise<Replication | undefined> {
  const out = await client.send(
    new DescribeReplicationsCommand({ Filters: [{ Name: 'replication-config-arn', Values: [configArn] }] }),
  );
  return out.Replications?.[0];
}

/** Whether a stopped replication stopped because its full load (of a full-load-only replication) ended. */
export function fullLoadFinished(r: Replication): boolean {
  return /FULL_LOAD_ONLY_FINISHED/i.test(r.StopReason ?? '');
}

const failureOf = (r: Replication) =>
  [r.FailureMessages?.join('; '), r.StopReason].filter(Boolean).join(' ') || 'no reason given';

/**
 * Polls until the replication's status is one of `want`. As for tasks, the status before the call
 * (`from`) means "not yet" until the replication is seen to move.
 * @throws ExternalError when it fails, settles elsewhere, or the time runs out
 */
export async function waitForReplication(
  client: DatabaseMigrationServiceClient,
  configArn: string,
  want: readonly string[],
  options: { timeoutMs: number; pollMs?: number; from?: string; onStatus?: (s: string) => void },
): Promise<Replication> {
  const deadline = Date.now() + options.timeoutMs;
  let moved = options.from === undefined;
  let last = '';
  for (;;) {
    const r = await describeReplication(client, configArn);
    const status = r?.Status ?? 'created';
    if (status !== last) options.onStatus?.(status);
    last = status;
    const unchanged = !moved && status === options.from;
    if (!unchanged) moved = true;
    if (r && !unchanged) {
      if (want.includes(status)) return r;
      if (status === 'failed')
        throw new ExternalError(
          `DMS Serverless replication ${r.ReplicationConfigIdentifier} failed: ${failureOf(r)}`,
        );
      // A full-load-only replication stops by itself once every table is loaded: that stop is its end,
      // not a failure (DMS API reference, Replication.StopReason: FULL_LOAD_ONLY_FINISHED).
      if (status === 'stopped' && fullLoadFinished(r)) return r;
      if (status === 'stopped')
        throw new ExternalError(
          `DMS Serverless replication ${r.ReplicationConfigIdentifier} is stopped, not ${want.join(' or ')} (${failureOf(r)})`,
        );
    }
    if (Date.now() > deadline)
      throw new ExternalError(
        `DMS Serverless replication did not reach ${want.join(' or ')} within ${Math.round(options.timeoutMs / 1000)} s (last status: ${last})`,
      );
    await sleep(options.pollMs ?? 10_000);
  }
}

/**
 * Starts, resumes or reloads the serverless replication and waits until it runs (StartReplication,
 * StartReplicationType as for tasks: `start-replication` only for the first run).
 * @throws UsageError for a mode its state does not allow
 */
export async function startServerless(
  client: DatabaseMigrationServiceClient,
  configArn: string,
  mode: StartMode,
  wait: { timeoutMs: number; pollMs?: number; onStatus?: (s: string) => void },
  cdc: { startPosition?: string; startTime?: Date; stopPosition?: string } = {},
): Promise<Replication> {
  const current = await describeReplication(client, configArn);
  const status = current?.Status;
  const neverRan = !current || status === 'created';
  if (status === 'running' && mode !== 'reload') return current!;
  if (neverRan && mode !== 'start')
    throw new UsageError('the serverless replication has never run: use --mode start');
  if (!neverRan && mode === 'start')
    throw new UsageError(
      `the serverless replication has run before (it is ${status}): use --mode resume to continue where it stopped, or --mode reload to load every table again`,
    );
  if (mode === 'reload' && status === 'running') await stopServerless(client, configArn, wait);
  await client.send(
    new StartReplicationCommand({
      ReplicationConfigArn: configArn,
      StartReplicationType: START_MODES[mode],
      ...(cdc.startPosition ? { CdcStartPosition: cdc.startPosition } : {}),
      ...(cdc.startTime ? { CdcStartTime: cdc.startTime } : {}),
      ...(cdc.stopPosition ? { CdcStopPosition: cdc.stopPosition } : {}),
    }),
  );
  return waitForReplication(client, configArn, ['running'], { ...wait, ...(status ? { from: status } : {}) });
}

/** Stops the serverless replication and waits until it is stopped (StopReplication). */
export async function stopServerless(
  client: DatabaseMigrationServiceClient,
  configArn: string,
  wait: { timeoutMs: number; pollMs?: number; onStatus?: (s: string) => void },
): Promise<Replication | undefined> {
  const current = await describeReplication(client, configArn);
  if (!current || ['stopped', 'failed', 'created'].includes(current.Status ?? '')) return current;
  await client.send(new StopReplicationCommand({ ReplicationConfigArn: configArn }));
  return waitForReplication(client, configArn, ['stopped'], { ...wait, from: current.Status ?? 'running' });
}

/** Every page of the replication's table statistics (DescribeReplicationTableStatistics). */
export async function serverlessTableStatistics(
  client: DatabaseMigrationServiceClient,
  configArn: string,
): Promise<TableStatistics[]> {
  const out: TableStatistics[] = [];
  let marker: string | undefined;
  do {
    const page = await client.send(
      new DescribeReplicationTableStatisticsCommand({
        ReplicationConfigArn: configArn,
        MaxRecords: 500,
        ...(marker ? { Marker: marker } : {}),
      }),
    );
    out.push(...(page.ReplicationTableStatistics ?? []));
    marker = page.Marker;
  } while (marker);
  return out;
}

/** Reloads one table of a running serverless replication (ReloadReplicationTables, data-reload). */
export async function reloadServerlessTable(
  client: DatabaseMigrationServiceClient,
  configArn: string,
  schema: string,
  table: string,
): Promise<void> {
  const current = await describeReplication(client, configArn);
  if (current?.Status !== 'running')
    throw new UsageError(
      `the serverless replication is ${current?.Status ?? 'not started'}: a table can be reloaded only while it runs`,
    );
  await client.send(
    new ReloadReplicationTablesCommand({
      ReplicationConfigArn: configArn,
      TablesToReload: [{ SchemaName: schema, TableName: table }],
      ReloadOption: 'data-reload',
    }),
  );
}
