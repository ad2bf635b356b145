import { rm } from 'node:fs/promises';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import {
  assessmentResources,
  dmsSlotName,
  ExternalError,
  type MigrationConfig,
  shardWatermarkTables,
  UsageError,
} from '@dmskit/shared';
import { closeQuietly, openConnection } from '@dmskit/validation';
import type pg from 'pg';
import {
  assess,
  reloadTable,
  startTask,
  stopTask,
  tableStatistics,
  taskStatus,
  testConnections,
} from '../dms/operations.js';
import {
  describeReplication,
  findReplicationConfig,
  reloadServerlessTable,
  serverlessTableStatistics,
  startServerless,
  stopServerless,
} from '../dms/serverless.js';
import {
  dmsSlotStore,
  dmsWatermarkStore,
  prepareCdcStartPoint,
  resolveDmsSlots,
  usesNamedSlot,
} from '../dms/slot.js';
import { createDmsClient, dmsResourceIds, findTasks } from '../dms/task.js';
import type { CommandOutcome } from '../outcome.js';
import { type SlotHealth, slotHealth } from '../runbook/slot-health.js';
import { ensureWatermarkTable } from '../runbook/watermark.js';
import { renderTable } from '../ui/table.js';
import { type StatisticsSort, statisticsView, type TableStatistics } from '../ui/table-statistics.js';
import { sleep } from '../util/time.js';
import { loadConfigOption } from './config.js';
import { sourceUrlOf, statePaths } from './context.js';

interface DmsOptions {
  readonly cwd: string;
  readonly config: string;
  readonly json?: boolean;
  /** --timeout: how long to wait for a state change, ms (default per command). */
  readonly timeout?: number;
  /** Milliseconds between two reads of the task's status (tests shorten it). @default 5000 */
  readonly pollMs?: number;
  /** Folder of dmskit's state files. @default .dmskit */
  readonly stateDir?: string;
}

/**
 * Before a CDC-only task's first start: records the slot it is about to create (so that a run killed
 * in between, or `dmskit abandon`, removes it), creates or reuses it, and returns the LSN to start at.
 * `owned`: dmskit created the slot (now or in an earlier, interrupted start), so a failed start drops it.
 */
async function prepareNamedSlot(
  o: DmsOptions,
  config: MigrationConfig,
  source: pg.Client,
): Promise<{ lsn: string; owned: boolean; store: ReturnType<typeof dmsSlotStore> }> {
  const store = dmsSlotStore(statePaths(o, config).dmsSlot);
  const prior = await store.load();
  if (!prior)
    await store.save({
      version: 1,
      migration: `${config.name}/${config.environment}`,
      slot: dmsSlotName(config),
      steps: { recorded: new Date().toISOString() },
    });
  const point = await prepareCdcStartPoint(source, config);
  const owned = point.created || prior !== undefined;
  if (!owned) await rm(store.location, { force: true }); // a slot someone else made: not ours to drop
  process.stderr.write(
    `  ${point.created ? 'created' : 'using'} replication slot ${point.slot} on the source; CDC starts at ${point.lsn}\n`,
  );
  return { lsn: point.lsn, owned, store };
}

/** After a first start: the slot now belongs to the running task; if the start failed, it goes. */
async function settleNamedSlot(
  named: Awaited<ReturnType<typeof prepareNamedSlot>> | undefined,
  config: MigrationConfig,
  o: DmsOptions & { sourceUrl?: string },
  started: boolean,
): Promise<void> {
  if (!named?.owned) return;
  const record = await named.store.load();
  if (!record) return;
  if (started) {
    await named.store.save({ ...record, steps: { ...record.steps, started: new Date().toISOString() } });
    return;
  }
  await dropCreatedSlot(config, o.sourceUrl, record.slot);
  await rm(named.store.location, { force: true });
}

const WAIT = (o: DmsOptions) => ({
  timeoutMs: o.timeout ?? 30 * 60_000,
  ...(o.pollMs ? { pollMs: o.pollMs } : {}),
  onStatus: (s: string) => process.stderr.write(`  task status: ${s}\n`),
});

async function context(o: DmsOptions) {
  const { config } = await loadConfigOption(o.config, o.cwd);
  const client = createDmsClient(config.aws.region);
  const tasks = await findTasks(client, config);
  return { config, client, task: tasks[0]!, tasks };
}

/** The config, a client and, for DMS Serverless (replicationInstance.serverless), the replication config's ARN. */
async function serverlessContext(o: DmsOptions) {
  const { config } = await loadConfigOption(o.config, o.cwd);
  const client = createDmsClient(config.aws.region);
  return {
    config,
    client,
    configArn: config.replicationInstance.serverless
      ? await findReplicationConfig(client, config)
      : undefined,
  };
}

/** `test-connection` and `assess` drive a replication instance's task; DMS Serverless has neither. */
function instanceOnly(configArn: string | undefined, command: string): void {
  if (configArn)
    throw new UsageError(
      `${command} works on a replication instance's task; DMS Serverless tests its connections when it starts (the Testing Connection state)`,
    );
}

/**
 * `dmskit start [--mode start|resume|reload]`: starts the replication task (or, with
 * `replicationInstance.serverless`, the serverless replication) and waits until it runs. A first start
 * creates the watermark table on the source (`dmskit.<name>_watermark`, which the task's table mappings
 * include), so that the cutover can prove on the target that every write arrived.
 */
export async function start(o: StartOptions): Promise<CommandOutcome> {
  const startTime = o.cdcStartTime ? new Date(o.cdcStartTime) : undefined;
  if (startTime && Number.isNaN(startTime.getTime()))
    throw new UsageError(
      `--cdc-start-time: '${o.cdcStartTime}' is not a time (ISO 8601, e.g. 2026-11-22T12:00:00Z)`,
    );
  const sc = await serverlessContext(o);
  if (sc.configArn) {
    const arn = sc.configArn;
    const firstRun = !(await describeReplication(sc.client, arn));
    return startReplicating(o, sc.config, firstRun, startTime, async (cdc) => {
      const r = await startServerless(sc.client, arn, o.mode, WAIT(o), cdc);
      return `${r.ReplicationConfigIdentifier ?? dmsResourceIds(sc.config).task}: ${r.Status}`;
    });
  }
  const { client, task, tasks, config } = await context(o);
  return startReplicating(o, config, task.Status === 'ready', startTime, async (cdc) => {
    // Every task of the migration at once (task.shards); each waits for its own status.
    const started = await Promise.all(tasks.map((t) => startTask(client, t, o.mode, WAIT(o), cdc)));
    return started.map((t) => `${t.ReplicationTaskIdentifier}: ${t.Status}`).join('\n');
  });
}

type StartOptions = DmsOptions & {
  mode: 'start' | 'resume' | 'reload';
  sourceUrl?: string;
  cdcStartPosition?: string;
  cdcStartTime?: string;
  cdcStopPosition?: string;
};

/**
 * What every start does around the DMS call (`launch`, for a task or a serverless replication): with
 * --mode start, the watermark table on the source and, for a CDC-only task's first run, its slot and
 * start point; then the call, and the slot kept (it is the task's now) or dropped (the start failed).
 */
async function startReplicating(
  o: StartOptions,
  config: MigrationConfig,
  firstRun: boolean,
  startTime: Date | undefined,
  launch: (cdc: { startPosition?: string; startTime?: Date; stopPosition?: string }) => Promise<string>,
): Promise<CommandOutcome> {
  let cdcStartPosition = o.cdcStartPosition;
  let named: Awaited<ReturnType<typeof prepareNamedSlot>> | undefined;
  if (o.mode === 'start') {
    const source = await openConnection(sourceUrlOf(config, o.sourceUrl), 'source', {
      applicationName: 'dmskit-control',
    });
    try {
      // One per task: the cutover proves every task caught up by a token in each. Recorded before they
      // are made, so that dmskit abandon removes them even after a start killed in between.
      const store = dmsWatermarkStore(statePaths(o, config).dmsWatermarks);
      const tables = shardWatermarkTables(config);
      const record = await store.load();
      if (!record || tables.some((t) => !record.tables.includes(t)))
        await store.save({
          version: 1,
          migration: `${config.name}/${config.environment}`,
          tables: [...new Set([...(record?.tables ?? []), ...tables])],
          steps: { recorded: record?.steps.recorded ?? new Date().toISOString() },
        });
      for (const table of tables)
        if (await ensureWatermarkTable(source, table))
          process.stderr.write(`  created the watermark table dmskit.${table} on the source\n`);
      // A CDC-only task starts at a native start point: its slot, created here, and the slot's LSN.
      if (usesNamedSlot(config) && firstRun) {
        named = await prepareNamedSlot(o, config, source);
        if (!cdcStartPosition && !startTime) cdcStartPosition = named.lsn;
      }
    } finally {
      await closeQuietly(source);
    }
  }
  let line: string;
  try {
    line = await launch({
      ...(cdcStartPosition ? { startPosition: cdcStartPosition } : {}),
      ...(startTime ? { startTime } : {}),
      ...(o.cdcStopPosition ? { stopPosition: o.cdcStopPosition } : {}),
    });
  } catch (error) {
    // A slot this start created and nothing reads would keep WAL on the source: remove it again.
    await settleNamedSlot(named, config, o, false);
    throw error;
  }
  await settleNamedSlot(named, config, o, true);
  process.stdout.write(`${line}\n`);
  return { exitCode: 0 };
}

async function dropCreatedSlot(
  config: MigrationConfig,
  sourceUrl: string | undefined,
  slot: string,
): Promise<void> {
  const source = await openConnection(sourceUrlOf(config, sourceUrl), 'source', {
    applicationName: 'dmskit-control',
  });
  try {
    await source.query(
      'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active',
      [slot],
    );
    process.stderr.write(`  dropped replication slot ${slot} again: the task did not start\n`);
  } finally {
    await closeQuietly(source);
  }
}

/** `dmskit stop`: stops the replication task and waits until it is stopped. */
export async function stop(o: DmsOptions): Promise<CommandOutcome> {
  const sc = await serverlessContext(o);
  if (sc.configArn) {
    const r = await stopServerless(sc.client, sc.configArn, WAIT(o));
    process.stdout.write(`${dmsResourceIds(sc.config).task}: ${r?.Status ?? 'not started'}\n`);
    return { exitCode: 0 };
  }
  const { client, tasks } = await context(o);
  const stopped = await Promise.all(tasks.map((t) => stopTask(client, t, WAIT(o))));
  for (const t of stopped) process.stdout.write(`${t.ReplicationTaskIdentifier}: ${t.Status}\n`);
  return { exitCode: 0 };
}

/** `dmskit reload-table <schema.table>`. */
export async function reload(o: DmsOptions & { table: string }): Promise<CommandOutcome> {
  const m = /^([^.]+)\.(.+)$/.exec(o.table);
  if (!m) throw new UsageError(`reload-table: expected schema.table, got '${o.table}'`);
  const sc = await serverlessContext(o);
  if (sc.configArn) {
    await reloadServerlessTable(sc.client, sc.configArn, m[1]!, m[2]!);
    process.stdout.write(`reload of ${o.table} requested on ${dmsResourceIds(sc.config).task}\n`);
    return { exitCode: 0 };
  }
  const { client, tasks } = await context(o);
  // The task that replicates the table: the only one, or the one whose statistics list it.
  let task = tasks[0]!;
  if (tasks.length > 1) {
    const holds = await Promise.all(
      tasks.map(async (t) =>
        (await tableStatistics(client, t.ReplicationTaskArn!)).some(
          (x) => x.SchemaName === m[1] && x.TableName === m[2],
        ),
      ),
    );
    const i = holds.indexOf(true);
    if (i < 0)
      throw new UsageError(
        `reload-table: no task of ${tasks.map((t) => t.ReplicationTaskIdentifier).join(', ')} replicates ${o.table}`,
      );
    task = tasks[i]!;
  }
  await reloadTable(client, task, m[1]!, m[2]!);
  process.stdout.write(`reload of ${o.table} requested on ${task.ReplicationTaskIdentifier}\n`);
  return { exitCode: 0 };
}

/** `dmskit test-connection`: both endpoints, from the replication instance. */
export async function testConnection(o: DmsOptions): Promise<CommandOutcome> {
  instanceOnly((await serverlessContext(o)).configArn, 'test-connection');
  const { client, task } = await context(o);
  for (const line of await testConnections(client, task, { timeoutMs: o.timeout ?? 10 * 60_000 }))
    process.stdout.write(`${line}\n`);
  return { exitCode: 0 };
}

/**
 * `dmskit assess [--bucket B --role-arn R]`: a premigration assessment run, summarized; results in the
 * stack's bucket (SSE-KMS with the migration's key by the bucket's default) unless another is named.
 * Exit 1 when one failed.
 */
export async function assessment(
  o: DmsOptions & { bucket?: string; roleArn?: string },
): Promise<CommandOutcome> {
  instanceOnly((await serverlessContext(o)).configArn, 'assess');
  const { client, tasks, config } = await context(o);
  // The stack's bucket (private, encrypted with the migration's key) and role, unless others are named.
  const made = assessmentResources(config);
  const bucket = o.bucket ?? made?.bucket;
  const roleArn = o.roleArn ?? made?.roleArn;
  if (!bucket || !roleArn)
    throw new UsageError(
      'assess needs --bucket and --role-arn: the stack makes them only when the config names aws.accountId',
    );
  // Each task assesses its own tables (task.shards): one run per task, one after the other.
  let failed = 0;
  const summaries = [];
  for (const task of tasks) {
    const summary = await assess(client, task, {
      bucket,
      roleArn,
      timeoutMs: o.timeout ?? 60 * 60_000,
    });
    summaries.push(summary);
    if (!o.json) {
      const table = renderTable(
        ['assessment', 'status'],
        summary.assessments.map((a) => [a.name, a.status]),
      ).join('\n');
      process.stdout.write(
        `${tasks.length > 1 ? `${task.ReplicationTaskIdentifier}\n` : ''}${table}\nassessment run ${summary.status}: ${summary.failed} failed, ${summary.warnings} warning(s)\n`,
      );
    }
    // A run that did not complete (error-provisioning, error-executing, invalid state, cancelled) assessed
    // nothing: it cannot be passed off as a clean result.
    if (!summary.completed)
      throw new ExternalError(
        `the assessment run of ${task.ReplicationTaskIdentifier} ended ${summary.status} without completing its assessments: see the run in the DMS console or its S3 results`,
      );
    failed += summary.failed;
  }
  if (o.json)
    process.stdout.write(`${JSON.stringify(summaries.length === 1 ? summaries[0] : summaries, null, 2)}\n`);
  return { exitCode: failed ? 1 : 0 };
}

/** `dmskit status [--watch]` on DMS: task, tables, CDC latency, validation, last error. */
export async function dmsStatus(
  o: DmsOptions & { watch?: boolean /** ms */; interval?: number; sourceUrl?: string; sort?: string },
): Promise<CommandOutcome> {
  const sc = await serverlessContext(o);
  if (sc.configArn) return serverlessStatus(o, sc.config, sc.client, sc.configArn);
  const { config, client } = await context(o);
  const cw = new CloudWatchClient({ region: config.aws.region, retryMode: 'adaptive', maxAttempts: 8 });
  for (;;) {
    const tasks = await findTasks(client, config);
    const statuses = await Promise.all(
      tasks.map((task) => taskStatus(client, cw, task, dmsResourceIds(config).instance)),
    );
    // The tasks' slots on the source, when dmskit can reach it: DMS reports neither wal_status nor how
    // close a slot is to invalidation.
    const slots = await sourceSlotHealth(config, o.sourceUrl);
    if (o.json)
      process.stdout.write(
        `${JSON.stringify(
          statuses.length === 1
            ? { ...statuses[0], slot: slots?.[0] ?? null }
            : { tasks: statuses, slots: slots ?? null },
        )}\n`,
      );
    else {
      const lat = (v: number | null) => (v === null ? 'n/a' : `${v.toFixed(1)} s`);
      for (const s of statuses)
        process.stdout.write(
          `${s.task}: ${s.status}, full load ${s.fullLoadProgressPercent ?? 0}%, CDC latency source ${lat(s.cdcLatencySeconds.source)} / target ${lat(s.cdcLatencySeconds.target)}${s.lastError ? `\nlast error: ${s.lastError}` : ''}\n${tablesTable(s.tables, (o.sort ?? 'name') as StatisticsSort)}\n`,
        );
      for (const slot of slots ?? [])
        process.stdout.write(
          [
            `slot ${slot.slot} on the source: wal_status ${slot.walStatus ?? '-'}, ${slot.walsenderConnected ? 'walsender connected' : 'no walsender'}, ${slot.lagBytes} bytes behind, ${slot.safeWalSizeBytes === null ? 'no limit on retained WAL' : `${slot.safeWalSizeBytes} bytes of WAL before invalidation`}`,
            ...slot.problems.map((p) => `problem: ${p}`),
            ...slot.warnings.map((w) => `warning: ${w}`),
            '',
          ].join('\n'),
        );
    }
    if (!o.watch) return { exitCode: slots?.some((x) => x.problems.length) ? 1 : 0 };
    await sleep(o.interval ?? 10_000);
  }
}

/** `dmskit status` on DMS Serverless: the replication, its tables, the slot's lag on the source. */
async function serverlessStatus(
  o: DmsOptions & { watch?: boolean /** ms */; interval?: number; sourceUrl?: string; sort?: string },
  config: MigrationConfig,
  client: ReturnType<typeof createDmsClient>,
  configArn: string,
): Promise<CommandOutcome> {
  for (;;) {
    const [r, stats] = await Promise.all([
      describeReplication(client, configArn),
      serverlessTableStatistics(client, configArn),
    ]);
    const slot = (await sourceSlotHealth(config, o.sourceUrl))?.[0];
    const view = {
      replication: dmsResourceIds(config).task,
      status: r?.Status ?? 'not started',
      tables: stats.map((t) => ({
        table: `${t.SchemaName}.${t.TableName}`,
        state: t.TableState ?? 'unknown',
        fullLoadRows: t.FullLoadRows ?? 0,
        inserts: t.Inserts ?? 0,
        updates: t.Updates ?? 0,
        deletes: t.Deletes ?? 0,
        validationState: t.ValidationState ?? 'Not enabled',
        lastUpdateTime: t.LastUpdateTime ? new Date(t.LastUpdateTime).toISOString() : null,
      })),
      lastError: r?.FailureMessages?.join('; ') || null,
      slot: slot ?? null,
    };
    if (o.json) process.stdout.write(`${JSON.stringify(view)}\n`);
    else {
      const table = tablesTable(view.tables, (o.sort ?? 'name') as StatisticsSort);
      const lag = slot?.lagSeconds == null ? 'n/a' : `${slot.lagSeconds.toFixed(1)} s`;
      process.stdout.write(
        `DMS Serverless ${view.replication}: ${view.status}; lag ${lag} (the slot's walsender on the source)${view.lastError ? `; last error: ${view.lastError}` : ''}\n${table}\n`,
      );
    }
    if (!o.watch) return { exitCode: view.status === 'running' && !slot?.problems.length ? 0 : 1 };
    await sleep(o.interval ?? 10_000);
  }
}

/**
 * The per-table view of `dmskit status` from DMS's table statistics (`DescribeTableStatistics`), laid out
 * as the native engine's: state, full-load rows, inserts, updates, deletes, last update, validation.
 */
function tablesTable(
  tables: readonly {
    table: string;
    state: string;
    fullLoadRows: number;
    inserts: number;
    updates: number;
    deletes: number;
    validationState: string;
    lastUpdateTime: string | null;
  }[],
  sort: StatisticsSort,
): string {
  const rows: TableStatistics[] = tables.map((t) => ({
    table: t.table,
    state: t.state,
    fullLoadRows: t.fullLoadRows,
    inserts: t.inserts,
    updates: t.updates,
    deletes: t.deletes,
    lastApply: t.lastUpdateTime,
    validation: t.validationState,
  }));
  return statisticsView(rows, { sort, columns: process.stdout.columns ?? 120 }).join('\n');
}

/** The DMS tasks' slots on the source, read when the source can be reached (`--source-url` or the config). */
async function sourceSlotHealth(
  config: MigrationConfig,
  flag: string | undefined,
): Promise<SlotHealth[] | undefined> {
  let url: string;
  try {
    url = sourceUrlOf(config, flag);
  } catch {
    return undefined;
  }
  const c = await openConnection(url, 'source', {
    applicationName: 'dmskit-status',
    connectTimeoutMs: 5000,
  }).catch(() => undefined);
  if (!c) return undefined;
  try {
    const slots = await resolveDmsSlots(c, config).catch(() => [dmsSlotName(config)]);
    return await Promise.all(slots.map((slot) => slotHealth(c, slot)));
  } finally {
    await closeQuietly(c);
  }
}
