import { type CloudWatchClient, GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch';
import {
  type DatabaseMigrationServiceClient,
  DescribeConnectionsCommand,
  DescribeEndpointsCommand,
  DescribeReplicationTaskAssessmentRunsCommand,
  DescribeReplicationTaskIndividualAssessmentsCommand,
  DescribeTableStatisticsCommand,
  ModifyReplicationTaskCommand,
  ReloadTablesCommand,
  type ReplicationTask,
  StartReplicationTaskAssessmentRunCommand,
  StartReplicationTaskCommand,
  StopReplicationTaskCommand,
  type TableStatistics,
  TestConnectionCommand,
} from '@aws-sdk/client-database-migration-service';
import { ExternalError, UsageError } from '@dmskit/shared';
import { sleep } from '../util/time.js';
import { FAILED_STATES, taskResourceId, waitForTask } from './task.js';

/** `dmskit start --mode`: DMS StartReplicationTaskType (DMS API: "StartReplicationTask"). */
export const START_MODES = {
  start: 'start-replication',
  resume: 'resume-processing',
  reload: 'reload-target',
} as const;
export type StartMode = keyof typeof START_MODES;

/**
 * Starts (or resumes, or reloads) the task and waits until it runs (or, for a full-load task, stops
 * after the load). The modes follow `StartReplicationTaskType` (DMS API reference:
 * "StartReplicationTask"): `start-replication` only for a task's first run (status `ready`);
 * `resume-processing` continues a stopped task where it stopped; `reload-target` loads every table again
 * and needs a stopped task, so a running task is stopped first. Already running (start, resume):
 * nothing to do.
 * @throws UsageError for a mode the task's state does not allow, naming the mode that fits
 */
export async function startTask(
  client: DatabaseMigrationServiceClient,
  task: ReplicationTask,
  mode: StartMode,
  wait: { timeoutMs: number; pollMs?: number; onStatus?: (s: string) => void },
  /**
   * Where CDC starts and stops (DMS API reference: "StartReplicationTask"): `startPosition` (a native
   * start point, an LSN `X/Y` for PostgreSQL) or `startTime`, never both; `stopPosition`
   * (`server_time:...` or `commit_time:...`).
   */
  cdc: { startPosition?: string; startTime?: Date; stopPosition?: string } = {},
): Promise<ReplicationTask> {
  if (cdc.startPosition && cdc.startTime)
    throw new UsageError('--cdc-start-position and --cdc-start-time: give one of them (DMS refuses both)');
  if (cdc.stopPosition && !/^(server_time|commit_time):\S+$/.test(cdc.stopPosition))
    throw new UsageError(
      `--cdc-stop-position must be server_time:<time> or commit_time:<time>, not '${cdc.stopPosition}'`,
    );
  if ((cdc.startPosition || cdc.startTime) && task.MigrationType !== 'cdc')
    throw new UsageError(
      `task ${task.ReplicationTaskIdentifier} is ${task.MigrationType}: a CDC start point is for a CDC-only task (task.migrationType: cdc)`,
    );
  const id = task.ReplicationTaskIdentifier;
  if (task.Status === 'running' && mode !== 'reload') return task;
  if (task.Status === 'ready' && mode !== 'start')
    throw new UsageError(`task ${id} has never run: use --mode start`);
  if (mode === 'start' && task.Status !== 'ready')
    throw new UsageError(
      `task ${id} has run before (it is ${task.Status}): start-replication is for a first run; use --mode resume to continue where it stopped, or --mode reload to load every table again`,
    );
  let current = task;
  if (
    mode === 'start' &&
    cdc.startPosition &&
    task.CdcStartPosition?.toUpperCase() !== cdc.startPosition.toUpperCase()
  )
    current = await setCdcStartPosition(client, task, cdc.startPosition, wait);
  if (mode === 'reload' && (task.Status === 'running' || task.Status === 'stopping')) {
    wait.onStatus?.(`stopping the task before reloading it`);
    current = await stopTask(client, task, wait);
  }
  const out = await client.send(
    new StartReplicationTaskCommand({
      ReplicationTaskArn: current.ReplicationTaskArn,
      StartReplicationTaskType: START_MODES[mode],
      ...(cdc.startPosition ? { CdcStartPosition: cdc.startPosition } : {}),
      ...(cdc.startTime ? { CdcStartTime: cdc.startTime } : {}),
      ...(cdc.stopPosition ? { CdcStopPosition: cdc.stopPosition } : {}),
    }),
  );
  const wanted = current.MigrationType === 'full-load' ? ['running', 'stopped'] : ['running'];
  return waitForTask(client, current.ReplicationTaskArn!, wanted, {
    ...wait,
    ...(current.Status ? { from: current.Status } : {}),
    ...(out?.ReplicationTask?.Status ? { returned: out.ReplicationTask.Status } : {}),
  });
}

/**
 * Gives a CDC-only task its native start point before its first run: DMS checks the endpoint's
 * `SlotName` against the start position the task carries, and raises an error when the task has none
 * (DMS API reference: "PostgreSQLSettings", SlotName: "It also verifies that the task was created with a
 * valid setting of CdcStartPosition"). The stack cannot create the task with it (the slot and its LSN
 * exist only once `dmskit start` made them), so the start sets it with ModifyReplicationTask (API
 * reference: "ModifyReplicationTask", CdcStartPosition) and waits until the task is `ready` with it.
 * The stack leaves `cdc_start_position` unset, and the provider reads it back as computed: no diff.
 * @param position - the LSN, `X/Y`
 * @returns the task as described once it carries the position
 */
export async function setCdcStartPosition(
  client: DatabaseMigrationServiceClient,
  task: ReplicationTask,
  position: string,
  wait: { timeoutMs: number; pollMs?: number; onStatus?: (s: string) => void },
): Promise<ReplicationTask> {
  wait.onStatus?.(`setting the task's CDC start position to ${position}`);
  const out = await client.send(
    new ModifyReplicationTaskCommand({
      ReplicationTaskArn: task.ReplicationTaskArn,
      CdcStartPosition: position,
    }),
  );
  return waitForTask(client, task.ReplicationTaskArn!, ['ready'], {
    ...wait,
    ...(out?.ReplicationTask?.Status ? { returned: out.ReplicationTask.Status } : {}),
    shows: (t) => t.CdcStartPosition?.toUpperCase() === position.toUpperCase(),
  });
}

/**
 * Stops the task and waits until it is stopped (through `stopping`). Already stopped, never run or
 * failed: nothing to do.
 */
export async function stopTask(
  client: DatabaseMigrationServiceClient,
  task: ReplicationTask,
  wait: { timeoutMs: number; pollMs?: number; onStatus?: (s: string) => void },
): Promise<ReplicationTask> {
  if (task.Status === 'stopped' || task.Status === 'ready' || FAILED_STATES.has(task.Status ?? ''))
    return task;
  let returned: string | undefined = task.Status;
  if (task.Status !== 'stopping') {
    const out = await client.send(
      new StopReplicationTaskCommand({ ReplicationTaskArn: task.ReplicationTaskArn }),
    );
    returned = out?.ReplicationTask?.Status;
  }
  return waitForTask(client, task.ReplicationTaskArn!, ['stopped'], {
    ...wait,
    ...(task.Status ? { from: task.Status } : {}),
    ...(returned ? { returned } : {}),
  });
}

/** Reloads one table (DMS API: "ReloadTables", data-reload). */
export async function reloadTable(
  client: DatabaseMigrationServiceClient,
  task: ReplicationTask,
  schema: string,
  table: string,
): Promise<void> {
  if (task.Status !== 'running')
    throw new UsageError(
      `task ${task.ReplicationTaskIdentifier} is ${task.Status}: a table can be reloaded only while it runs`,
    );
  await client.send(
    new ReloadTablesCommand({
      ReplicationTaskArn: task.ReplicationTaskArn,
      TablesToReload: [{ SchemaName: schema, TableName: table }],
      ReloadOption: 'data-reload',
    }),
  );
}

/** Every page of the task's table statistics. */
export async function tableStatistics(
  client: DatabaseMigrationServiceClient,
  arn: string,
): Promise<TableStatistics[]> {
  const out: TableStatistics[] = [];
  let marker: string | undefined;
  do {
    const page = await client.send(
      new DescribeTableStatisticsCommand({
        ReplicationTaskArn: arn,
        MaxRecords: 500,
        ...(marker ? { Marker: marker } : {}),
      }),
    );
    out.push(...(page.TableStatistics ?? []));
    marker = page.Marker;
  } while (marker);
  return out;
}

/** Latest CDC latency of the task, source and target (CloudWatch AWS/DMS, seconds; null when no data yet). */
export async function cdcLatency(
  cw: CloudWatchClient,
  task: ReplicationTask,
  instanceId: string,
): Promise<{ source: number | null; target: number | null }> {
  const end = new Date();
  const start = new Date(end.getTime() - 10 * 60_000);
  const read = async (metric: string) => {
    const out = await cw.send(
      new GetMetricStatisticsCommand({
        Namespace: 'AWS/DMS',
        MetricName: metric,
        Dimensions: [
          { Name: 'ReplicationInstanceIdentifier', Value: instanceId },
          { Name: 'ReplicationTaskIdentifier', Value: taskResourceId(task.ReplicationTaskArn!) },
        ],
        StartTime: start,
        EndTime: end,
        Period: 60,
        Statistics: ['Average'],
      }),
    );
    const points = [...(out.Datapoints ?? [])].sort(
      (a, b) => (b.Timestamp?.getTime() ?? 0) - (a.Timestamp?.getTime() ?? 0),
    );
    return points[0]?.Average ?? null;
  };
  const [source, target] = await Promise.all([read('CDCLatencySource'), read('CDCLatencyTarget')]);
  return { source, target };
}

/** The task view of `dmskit status`: status, full-load progress per table, CDC latency, validation, last error. */
export interface DmsTaskStatus {
  readonly task: string;
  readonly status: string;
  readonly fullLoadProgressPercent: number | null;
  readonly tables: readonly {
    readonly table: string;
    readonly state: string;
    readonly fullLoadRows: number;
    readonly inserts: number;
    readonly updates: number;
    readonly deletes: number;
    readonly validationState: string;
    readonly validationFailedRecords: number;
    /** `LastUpdateTime`: when the table's statistics last changed (ISO), if DMS says. */
    readonly lastUpdateTime: string | null;
  }[];
  readonly cdcLatencySeconds: { readonly source: number | null; readonly target: number | null };
  readonly lastError: string | null;
}

/** Reads the whole status of a task. */
export async function taskStatus(
  client: DatabaseMigrationServiceClient,
  cw: CloudWatchClient,
  task: ReplicationTask,
  instanceId: string,
): Promise<DmsTaskStatus> {
  const [stats, latency] = await Promise.all([
    tableStatistics(client, task.ReplicationTaskArn!),
    cdcLatency(cw, task, instanceId).catch(() => ({ source: null, target: null })),
  ]);
  return {
    task: task.ReplicationTaskIdentifier ?? '',
    status: task.Status ?? 'unknown',
    fullLoadProgressPercent: task.ReplicationTaskStats?.FullLoadProgressPercent ?? null,
    tables: stats.map((s) => ({
      table: `${s.SchemaName}.${s.TableName}`,
      state: s.TableState ?? 'unknown',
      fullLoadRows: s.FullLoadRows ?? 0,
      inserts: s.Inserts ?? 0,
      updates: s.Updates ?? 0,
      deletes: s.Deletes ?? 0,
      validationState: s.ValidationState ?? 'Not enabled',
      validationFailedRecords: s.ValidationFailedRecords ?? 0,
      lastUpdateTime: s.LastUpdateTime ? new Date(s.LastUpdateTime).toISOString() : null,
    })),
    cdcLatencySeconds: latency,
    lastError: task.LastFailureMessage ?? null,
  };
}

/**
 * `TableStatistics.ValidationState` values that mean rows differ or were never compared (DMS API
 * reference: "TableStatistics"; DMS: "AWS DMS data validation"): `No primary key` means the table
 * cannot be validated at all, so it is never counted as validated.
 */
export const VALIDATION_FAILURES = new Set([
  'Mismatched records',
  'Suspended records',
  'No primary key',
  'Table error',
  'Error',
]);

/** `TableStatistics.TableState` of a table whose full load is done (DMS API reference: "TableStatistics"). */
export const LOADED_TABLE_STATES = new Set(['Table completed']);

/**
 * Tests both endpoints from the replication instance and waits for the results (DMS API:
 * "TestConnection", "DescribeConnections").
 * @returns one line per endpoint
 * @throws ExternalError naming the endpoint whose test failed
 */
export async function testConnections(
  client: DatabaseMigrationServiceClient,
  task: ReplicationTask,
  wait: { timeoutMs: number; pollMs?: number },
): Promise<string[]> {
  const endpoints = [task.SourceEndpointArn!, task.TargetEndpointArn!];
  for (const EndpointArn of endpoints)
    await client.send(
      new TestConnectionCommand({ ReplicationInstanceArn: task.ReplicationInstanceArn, EndpointArn }),
    );
  const results: string[] = [];
  for (const arn of endpoints) {
    const deadline = Date.now() + wait.timeoutMs;
    for (;;) {
      const out = await client.send(
        new DescribeConnectionsCommand({
          Filters: [
            { Name: 'endpoint-arn', Values: [arn] },
            { Name: 'replication-instance-arn', Values: [task.ReplicationInstanceArn!] },
          ],
        }),
      );
      const c = out.Connections?.[0];
      if (c?.Status === 'successful') {
        results.push(`${c.EndpointIdentifier}: successful`);
        break;
      }
      if (c?.Status === 'failed')
        throw new ExternalError(
          `connection test of endpoint ${c.EndpointIdentifier} failed: ${c.LastFailureMessage ?? 'no reason given'}`,
        );
      if (Date.now() > deadline)
        throw new ExternalError(
          `connection test of ${arn} did not finish within ${Math.round(wait.timeoutMs / 1000)} s`,
        );
      await sleep(wait.pollMs ?? 5000);
    }
  }
  return results;
}

/** The result of a premigration assessment run, summarized. */
export interface AssessmentSummary {
  readonly status: string;
  readonly assessments: readonly { readonly name: string; readonly status: string }[];
  readonly failed: number;
  readonly warnings: number;
  /** Whether the run completed (passed, warning or failed); a run that errored or was cancelled did not. */
  readonly completed: boolean;
}

/**
 * Starts a premigration assessment run and waits for it (DMS: "Enabling and working with premigration
 * assessments"). Results go to `bucket`; `roleArn` lets DMS write there.
 */
export async function assess(
  client: DatabaseMigrationServiceClient,
  task: ReplicationTask,
  options: { bucket: string; roleArn: string; timeoutMs: number; pollMs?: number },
): Promise<AssessmentSummary> {
  const started = await client.send(
    new StartReplicationTaskAssessmentRunCommand({
      ReplicationTaskArn: task.ReplicationTaskArn,
      ServiceAccessRoleArn: options.roleArn,
      ResultLocationBucket: options.bucket,
      AssessmentRunName: `dmskit-${Date.now()}`,
    }),
  );
  const runArn = started.ReplicationTaskAssessmentRun?.ReplicationTaskAssessmentRunArn;
  if (!runArn) throw new ExternalError('DMS did not return an assessment run ARN');
  const deadline = Date.now() + options.timeoutMs;
  let status = 'starting';
  for (;;) {
    const out = await client.send(
      new DescribeReplicationTaskAssessmentRunsCommand({
        Filters: [{ Name: 'replication-task-assessment-run-arn', Values: [runArn] }],
      }),
    );
    status = out.ReplicationTaskAssessmentRuns?.[0]?.Status ?? 'unknown';
    if (!ASSESSMENT_RUN_TRANSITIONAL.has(status)) break;
    if (Date.now() > deadline)
      throw new ExternalError(
        `assessment run did not finish within ${Math.round(options.timeoutMs / 1000)} s (status ${status})`,
      );
    await sleep(options.pollMs ?? 10_000);
  }
  // Every page of the individual assessments.
  const assessments: { name: string; status: string }[] = [];
  let marker: string | undefined;
  do {
    const page = await client.send(
      new DescribeReplicationTaskIndividualAssessmentsCommand({
        Filters: [{ Name: 'replication-task-assessment-run-arn', Values: [runArn] }],
        MaxRecords: 100,
        ...(marker ? { Marker: marker } : {}),
      }),
    );
    for (const a of page.ReplicationTaskIndividualAssessments ?? [])
      assessments.push({ name: a.IndividualAssessmentName ?? '', status: a.Status ?? 'unknown' });
    marker = page.Marker;
  } while (marker);
  return {
    status,
    assessments,
    failed: assessments.filter((a) => a.status === 'failed' || a.status === 'error').length,
    warnings: assessments.filter((a) => a.status === 'warning').length,
    completed: ASSESSMENT_RUN_COMPLETED.has(status),
  };
}

/**
 * `ReplicationTaskAssessmentRun.Status` values (DMS API reference: "ReplicationTaskAssessmentRun"):
 * the run is under way in these, and has ended in any other.
 */
export const ASSESSMENT_RUN_TRANSITIONAL = new Set([
  'starting',
  'provisioning',
  'running',
  'cancelling',
  'deleting',
]);

/** End states in which the run completed its assessments (`passed`, `warning`, `failed`); the rest (`error-provisioning`, `error-executing`, `invalid state`, `cancelled`...) did not. */
export const ASSESSMENT_RUN_COMPLETED = new Set(['passed', 'warning', 'failed']);

/** Endpoint identifiers of the task (for messages). */
export async function endpointNames(
  client: DatabaseMigrationServiceClient,
  task: ReplicationTask,
): Promise<string[]> {
  const out = await client.send(
    new DescribeEndpointsCommand({
      Filters: [{ Name: 'endpoint-arn', Values: [task.SourceEndpointArn!, task.TargetEndpointArn!] }],
    }),
  );
  return (out.Endpoints ?? []).map((e) => e.EndpointIdentifier ?? '');
}
