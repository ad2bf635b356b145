import {
  DMSKIT_SCHEMA,
  DmskitError,
  displayName,
  ExternalError,
  type MigrationConfig,
  nativeObjectNames,
  selectTables,
  type TableName,
  UsageError,
} from '@dmskit/shared';
import {
  closeQuietly,
  describeConnection,
  listTables,
  openConnection,
  qualifiedName,
  type TableInfo,
} from '@dmskit/validation';
import pg from 'pg';
import { dropLoadForeignKeys, runBuild } from '../fullload/build-run.js';
import { type BuildStep, buildTailMicros, loadBuildUnits } from '../fullload/build-units.js';
import { buildScheduler } from '../fullload/indexes.js';
import { defaultJobs, type FullLoadResult, fullLoad } from '../fullload/run.js';
import { isConnectionLost, reconnect } from '../pg/reconnect.js';
import { subscriptionConninfo } from '../pg/url.js';
import {
  assertLogged,
  assertReplicable,
  assertTargetEmpty,
  replicaIdentityWarning,
  serverFacts,
} from '../rehearsal/checks.js';
import type { CutoverEngine, ReplicationHealth, ReplicationReadiness } from '../runbook/engine.js';
import { faultPoint } from '../runbook/faults.js';
import { assertSameServers, serverIdentity } from '../runbook/identity.js';
import { slotHealth } from '../runbook/slot-health.js';
import { memoryStateStore, type StateStore } from '../runbook/state.js';
import { ensureWatermarkTable, watermarkTableName } from '../runbook/watermark.js';
import {
  dumpSchema,
  existingObjects,
  presentPostData,
  primaryKeys,
  restorePostData,
  restorePreData,
  restorePrivileges,
} from '../schema/copy.js';
import { adoptKeyIndexes, keyIndexes } from '../schema/key-index.js';
import { refreshMaterializedViews } from '../schema/matviews.js';
import { copyDatabaseSettings, copyOwners } from '../schema/owners.js';
import { applyRoles, configRoles, planRoles, readSourceRoles, schemasOf } from '../schema/roles.js';
import { formatBytes, formatCount, formatDuration } from '../ui/format.js';
import type { Progress } from '../ui/progress.js';
import { since, sleep } from '../util/time.js';
import { dropDdlCapture, installDdlCapture } from './ddl-capture.js';
import { assertNamesFree, dropCreatedObjects } from './objects.js';
import { createPublications, dropPublications, publicationPlan } from './publication.js';
import { type NativeStartState, type NativeStartStep, newStartState } from './start-state.js';
import { type ReplicationStatus, replicationStatus, subscriptionHealth } from './status.js';
import { createSubscription, dropReplicationSlot, dropSubscription } from './subscription.js';
import { targetChangeCounters } from './table-statistics.js';
import {
  closeTargetGuard,
  dropTargetGuard,
  installTargetGuard,
  openTargetGuard,
  probeTargetGuard,
  targetGuardGaps,
} from './target-guard.js';

export type NativeNames = ReturnType<typeof nativeObjectNames>;

/** Peak lag seen by a watcher, in bytes and seconds. */
export interface LagPeak {
  bytes: number;
  seconds: number;
}

/** How long a new subscription may take to connect before "no walsender" is worth saying, ms. */
export const STARTUP_GRACE_MS = 15_000;

/** The problems of a subscription that is still connecting: its walsender or apply worker not up yet. */
export function isStartupProblem(problem: string): boolean {
  return /^no walsender reads replication slot |^the apply worker of subscription \S+ is not running$/.test(
    problem,
  );
}

/**
 * Polls the subscription and slot every 500 ms, showing each reading as a progress frame, until
 * `until` holds. Given {@link LiveSessions} (and no `target`), a lost connection is reopened with backoff
 * (pg/reconnect.ts) and the watch goes on with the new sessions, which replace the old in the object.
 * Problems of a subscription still connecting are shown only after `graceMs` ({@link isStartupProblem}).
 * @throws ExternalError when `timeoutMs` passes first, or a server stays unreachable; the signal's reason
 *   when aborted
 */
export async function watchReplication(
  source: pg.Client | LiveSessions,
  target: pg.Client | undefined,
  names: NativeNames,
  options: {
    until: (s: ReplicationStatus) => boolean;
    timeoutMs: number;
    what: string;
    progress: Progress;
    peak?: LagPeak;
    sourceRows?: ReadonlyMap<string, number>;
    writes?: () => number;
    signal?: AbortSignal;
    /** How long a subscription's "not connected yet" problems stay unsaid, ms. @default 15000 */
    graceMs?: number;
  },
): Promise<ReplicationStatus> {
  const deadline = Date.now() + options.timeoutMs;
  const startedAt = Date.now();
  const live: LiveSessions =
    'reopen' in source ? source : { source, target: target!, reopen: undefined as never };
  for (;;) {
    options.signal?.throwIfAborted();
    let status: ReplicationStatus;
    try {
      status = await replicationStatus(live.source, live.target, names);
    } catch (error) {
      // A server restarted or the network cut: replication resumes by itself, so the watch does too.
      if (!('reopen' in source) || !isConnectionLost(error)) throw error;
      options.progress.stop();
      const { value } = await reconnect(() => live.reopen(), {
        why: error,
        say: (line) => options.progress.info(line),
        signal: options.signal,
      });
      const old = [live.source, live.target];
      live.source = value.source;
      live.target = value.target;
      await Promise.all(old.map((c) => c.end().catch(() => undefined)));
      continue;
    }
    if (options.peak) {
      options.peak.bytes = Math.max(options.peak.bytes, status.lagBytes);
      options.peak.seconds = Math.max(options.peak.seconds, status.lagSeconds ?? 0);
    }
    // A subscription just made takes a moment to connect: "no walsender" and "the apply worker is not
    // running" are said only once they stay true past the grace period.
    const settling = Date.now() - startedAt < (options.graceMs ?? STARTUP_GRACE_MS);
    const shown = (p: string) => !(settling && isStartupProblem(p));
    options.progress.frame({
      ...status,
      problems: [...status.slot.problems, ...status.subscription.problems, ...status.slot.warnings].filter(
        shown,
      ),
      ...(options.sourceRows ? { sourceRows: options.sourceRows } : {}),
      ...(options.writes ? { writes: options.writes() } : {}),
    });
    if (options.until(status)) return status;
    if (Date.now() > deadline)
      throw new ExternalError(
        `${options.what} did not happen within ${Math.round(options.timeoutMs / 1000)} s`,
      );
    await sleep(500, options.signal);
  }
}

/**
 * The control sessions of a long-running command, replaced when a connection is lost: `reopen` opens both
 * again (the watch of replication then goes on, saying so).
 */
export interface LiveSessions {
  source: pg.Client;
  target: pg.Client;
  reopen(): Promise<{ source: pg.Client; target: pg.Client }>;
}

/**
 * {@link LiveSessions} over two open sessions that reopens both from their URLs; `closeReopened` closes
 * the sessions it opened (the caller closes its own).
 */
export function liveSessions(
  source: pg.Client,
  target: pg.Client,
  sourceUrl: string,
  targetUrl: string,
): LiveSessions & { closeReopened(): Promise<void> } {
  const opened: pg.Client[] = [];
  return {
    source,
    target,
    reopen: async () => {
      const s = await openConnection(sourceUrl, 'source', { applicationName: 'dmskit-control' });
      try {
        const t = await openConnection(targetUrl, 'target', { applicationName: 'dmskit-control' });
        opened.push(s, t);
        return { source: s, target: t };
      } catch (error) {
        await closeQuietly(s);
        throw error;
      }
    },
    closeReopened: async () => {
      await Promise.all(opened.map((c) => closeQuietly(c)));
    },
  };
}

/** What `startNativeMigration` set up and measured. */
export interface NativeStart {
  readonly names: NativeNames;
  readonly tables: readonly TableInfo[];
  readonly publications: readonly string[];
  readonly insertOnly: readonly TableInfo[];
  readonly schema: {
    readonly preDataEntries: number;
    readonly postDataEntries: number;
    readonly pgDump: string;
  };
  readonly fullLoadMs: number;
  readonly fullLoadRows: number;
  /** Each table's rows, COPY bytes and ms. */
  readonly fullLoad: FullLoadResult;
  /** Workers of the full load and jobs of post-data. */
  readonly jobs: number;
  readonly warnings: readonly string[];
  readonly sourceMajor: number;
  readonly targetMajor: number;
  /** Whether this run continued an interrupted start. */
  readonly resumed: boolean;
  /** The final state: what was created (the only objects a cleanup may drop). */
  readonly state: NativeStartState;
}

/** The native engine's start state of a migration, for `start`, `cutover`, `abandon` and the rehearsal. */
export function nativeStartNames(names: NativeNames): NativeStartState['names'] {
  return {
    publications: [names.publication, names.insertOnlyPublication],
    subscription: names.subscription,
    slot: names.slot,
    watermarkTable: names.watermarkTable,
  };
}

/**
 * Starts a native migration and returns once the full load is done and post-data is in place, CDC
 * running: checks both servers, copies pre-data and primary keys with pg_dump/pg_restore, creates the
 * watermark table, publishes the tables in scope (insert-only for tables without replica identity),
 * subscribes the target, watches the full load, then restores post-data.
 * Every step is recorded in `store` before and after it runs: run again after a kill, it continues where
 * it stopped (schema copied: skipped; subscription there: watched; post-data missing: applied). On a
 * failure or an abort, what this start created (as recorded, never guessed from a name) is dropped through
 * new connections, and the error says what was removed or the SQL of what could not be.
 * `beforeReplication` runs after the schema copy (the rehearsal starts its writer there).
 * @throws UsageError for a source without wal_level=logical, a non-empty target, an empty scope, a name
 *   taken by another migration, a state file of other servers
 */
export async function startNativeMigration(options: {
  config: MigrationConfig;
  sourceUrl: string;
  targetUrl: string;
  source: pg.Client;
  target: pg.Client;
  progress: Progress;
  store?: StateStore<NativeStartState>;
  peak?: LagPeak;
  writes?: () => number;
  beforeReplication?: () => void;
  /** Full-load workers and post-data jobs. @default config.fullLoad.jobs, else {@link defaultJobs} */
  jobs?: number;
  /**
   * The target holds an earlier copy of tables in scope (a second attempt after a rollback and `dmskit
   * abandon`): they are named, emptied (TRUNCATE) and loaded again, their schema objects kept.
   */
  reloadTarget?: boolean;
  signal?: AbortSignal;
}): Promise<NativeStart> {
  const { config, source, target, progress, signal } = options;
  const names = nativeObjectNames(config);
  const where = {
    source: describeConnection(options.sourceUrl),
    target: describeConnection(options.targetUrl),
  };
  const store = options.store ?? memoryStateStore<NativeStartState>();
  const migration = `${config.name}/${config.environment}`;
  const previous = await store.load();
  if (previous && (previous.source !== where.source || previous.target !== where.target))
    throw new UsageError(
      `${store.location} holds the start of ${previous.migration} from ${previous.source} to ${previous.target}, not ${where.source} to ${where.target}: run dmskit abandon with those servers, or move the file away`,
    );
  const servers = { source: await serverIdentity(source), target: await serverIdentity(target) };
  assertSameServers(`the start state ${store.location}`, previous?.servers, servers, where);
  const state = previous ?? newStartState(migration, where.source, where.target, nativeStartNames(names));
  state.servers ??= servers;
  const resumed = Object.keys(state.steps).length > 0;
  const [sourceFacts, targetFacts] = await Promise.all([serverFacts(source), serverFacts(target)]);
  assertReplicable(sourceFacts, targetFacts, where);
  const allTables = await listTables(source);
  const tables = selectTables(allTables, config.task.tableMappings);
  if (tables.length === 0)
    throw new UsageError(`no table of ${where.source} matches task.tableMappings of ${config.name}`);
  assertLogged(tables, where.source);
  const warnings: string[] = [];
  const identityWarning = replicaIdentityWarning(tables);
  if (identityWarning) {
    warnings.push(identityWarning);
    progress.info(`warning: ${identityWarning}`);
  }
  if (resumed)
    progress.info(
      `continuing the start begun ${state.startedAt} (done: ${Object.keys(state.steps).join(', ')})`,
    );
  else if (options.reloadTarget) {
    const emptied = await emptyTargetCopy(target, tables, names, where.target);
    if (emptied.length) {
      progress.info(
        `--reload-target: emptied ${emptied.length} table(s) on the target to load them again: ${emptied.join(', ')}; their schema is kept (the preconditions of the cutover compare it with the source's)`,
      );
      // The earlier copy's schema stays: its tables, keys, indexes and the objects they use.
      state.steps['pre-data'] = new Date().toISOString();
    }
  } else await assertTargetEmpty(target, tables, where.target);
  signal?.throwIfAborted();

  const step = async <T>(name: NativeStartStep, run: () => Promise<T>): Promise<T | undefined> => {
    if (state.steps[name]) return undefined;
    signal?.throwIfAborted();
    state.intent = name;
    await store.save(state);
    const began = performance.now();
    const out = await run();
    state.stepMs = { ...state.stepMs, [name]: Math.round(performance.now() - began) };
    state.steps[name] = new Date().toISOString();
    state.intent = undefined;
    await store.save(state);
    await faultPoint(`start:${name}`, signal);
    return out;
  };

  progress.phase(
    `copying the schema (pg_dump --schema-only): pre-data and primary keys of ${tables.length} table(s)`,
  );
  const dump = await dumpSchema({
    // Next to a file state: a dump a killed start left is replaced, not piled up in the temporary folder.
    ...(store.location !== 'memory' ? { dir: `${store.location}.schema` } : {}),
    sourceUrl: options.sourceUrl,
    sourceMajor: sourceFacts.major,
    targetMajor: targetFacts.major,
    selected: tables,
    all: allTables,
  });
  const schema = {
    preDataEntries: 0,
    postDataEntries: 0,
    pgDump: `${dump.pgDump.path} (${dump.pgDump.version})`,
  };
  const publish = [...tables];
  try {
    progress.info(`using ${dump.pgDump.path} (${dump.pgDump.version})`);
    const existing = await existingObjects(target);
    const keys = await primaryKeys(source);
    // Primary keys and unique constraints built as an index, then the constraint on it (key-index.ts).
    const keyIndex = await keyIndexes(source);
    const sourceKeys = await presentPostData(source);
    await step('roles', async () => {
      // Owners, grantees and policy roles exist on the target before the schema names them.
      const roles = await readSourceRoles(source, schemasOf(tables), configRoles(config));
      const plan = await planRoles(roles, target, { database: await currentDatabase(target) });
      for (const d of plan.differences) {
        warnings.push(d);
        progress.info(`warning: ${d}`);
      }
      await applyRoles(target, plan);
      for (const n of plan.notes) progress.info(n);
    });
    await step('pre-data', async () => {
      state.created.targetTables = tables.map(qualifiedName);
      await store.save(state);
      schema.preDataEntries = await restorePreData(dump, options.targetUrl, existing, keys);
    });
    options.beforeReplication?.();

    await step('watermark', async () => {
      state.created.watermark = { table: names.watermarkTable, source: false, target: false };
      state.created.watermark.source = await ensureWatermarkTable(source, names.watermarkTable);
      state.created.watermark.target = await ensureWatermarkTable(target, names.watermarkTable);
    });
    const watermark = await watermarkTableInfo(source, names.watermarkTable);
    if (watermark) publish.push(watermark);

    await assertNamesFree(source, target, state, {
      publications: [names.publication, names.insertOnlyPublication],
      subscription: names.subscription,
      slot: names.slot,
    });
    const publications = publicationPlan(publish, names);
    await step('publication', async () => {
      state.created.publications = [...publications.names];
      await store.save(state);
      await createPublications(source, publish, names);
    });
    await step('ddl-capture', async () => {
      state.created.ddlCapture = { trigger: names.ddlCapture, log: names.ddlLog };
      await store.save(state);
      const off = await installDdlCapture(source, state.created.ddlCapture);
      if (off) {
        state.created.ddlCapture = undefined;
        state.ddlCaptureOff = off;
        warnings.push(off);
        progress.info(`warning: ${off}`);
      }
    });
    const jobs = options.jobs ?? config.fullLoad.jobs ?? defaultJobs();
    await step('full-load', async () => {
      // A load that was stopped half way is redone from a new snapshot: the old one died with its session,
      // and the slot it came with would replay changes the new copy already holds.
      if (state.created.slot) {
        const { rows } = await source.query(
          'SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND database = current_database()',
          [state.created.slot],
        );
        if (rows.length) await dropReplicationSlot(source, state.created.slot);
        state.created.slot = undefined;
        await store.save(state);
      }
      state.created.slot = names.slot;
      await store.save(state);
      // Each table's indexes, keys and foreign keys are built once its rows are in, while the other
      // tables copy (fullload/build-units.ts, fullload/indexes.ts).
      const copiedTables = new Set(publish.map((t) => `${t.schema}.${t.table}`));
      await dropLoadForeignKeys(target, copiedTables);
      const units = await loadBuildUnits(dump.entries, source, copiedTables, keyIndex, sourceKeys);
      const building = new AbortController();
      const onAbort = () => building.abort();
      signal?.addEventListener('abort', onAbort, { once: true });
      let n = 0;
      let lastSaved = 0;
      // While rows still copy, the cores are the copy's: a build takes no parallel workers (their merge
      // is work of its own); after it, cores no build uses go to parallel workers.
      let copied = false;
      const builder = buildScheduler<BuildStep>(
        (unit, slot) =>
          runBuild(unit, slot, {
            dump,
            targetUrl: options.targetUrl,
            // After it, a b-tree build takes at least one worker: when the build beside it ends first,
            // its workers keep the freed core busy instead of leaving it idle to the end.
            parallelWorkers: copied ? Math.max(jobs > 1 ? 1 : 0, jobs - slot.running) : 0,
            name: String(++n),
            signal: building.signal,
          }),
        { memoryBudgetMb: config.fullLoad.maintenanceWorkMemMb },
      );
      builder.add(units);
      let failed = false;
      try {
        state.fullLoad = await fullLoad({
          sourceUrl: options.sourceUrl,
          targetUrl: options.targetUrl,
          source,
          slot: names.slot,
          sourceMajor: sourceFacts.major,
          tables: publish,
          jobs,
          ...(config.fullLoad.chunkMb
            ? { chunkBytes: Math.round(config.fullLoad.chunkMb * 1024 * 1024) }
            : {}),
          // The tables whose builds take longest come in first (fullload/plan.ts).
          tailMicros: buildTailMicros(units),
          onTableDone: (t) => builder.tableDone(`${t.schema}.${t.table}`),
          onWorkersIdle: (idle, workers) => {
            if (idle >= workers) copied = true;
            builder.raise(copied ? jobs : Math.min(jobs, 1 + idle));
          },
          onFigures: (figures) => {
            if (Date.now() - lastSaved < 2000 && figures.fraction < 1) return;
            lastSaved = Date.now();
            state.loading = { at: new Date().toISOString(), figures };
            store.save(state).catch(() => undefined);
          },
          progress,
          ...(signal ? { signal } : {}),
        });
        state.loading = undefined;
        copied = true;
        // One build per worker: the costliest started first keeps a core of its own, where more builds
        // sharing the cores would stretch the longest one, the end of the load (BENCHMARKS.md, session 15:
        // a GiST build of 3.7 s took 9 s beside three others on two cores).
        builder.raise(jobs);
      } catch (error) {
        failed = true;
        building.abort();
        throw error;
      } finally {
        const built = failed ? await builder.stop() : await builder.settle();
        signal?.removeEventListener('abort', onAbort);
        if (built.length && !building.signal.aborted)
          progress.info(`${built.length} index(es), key(s) and foreign key step(s) built during the copy`);
      }
    });
    const loaded = state.fullLoad ?? { ms: 0, rows: 0, tables: [] };
    progress.info(
      `full load done in ${formatDuration(loaded.ms)}: ${formatCount(loaded.rows)} rows, ${formatBytes(
        loaded.tables.reduce((n, t) => n + t.bytes, 0),
      )} with ${jobs} worker(s)`,
    );
    progress.phase(`post-data: foreign keys, triggers and what is left (${jobs} jobs)`);
    await step('post-data', async () => {
      const t = performance.now();
      // A start stopped between a key's index and its constraint left the index: the constraint adopts it.
      const adopted = await adoptKeyIndexes(target, keyIndex.values());
      if (adopted.length) progress.info(`adopted the index of ${adopted.join(', ')}`);
      schema.postDataEntries = await restorePostData(dump, options.targetUrl, existing, {
        jobs,
        maintenanceWorkMemMb: Math.max(64, Math.floor(config.fullLoad.maintenanceWorkMemMb / jobs)),
        present: await presentPostData(target),
        known: sourceKeys,
      });
      progress.info(`post-data done in ${formatDuration(since(t))} (${schema.postDataEntries} entries)`);
    });
    await step('materialized-views', async () => {
      // The schema-only dump made them WITH NO DATA; before owners change, while this session owns them.
      const mv = await refreshMaterializedViews(source, target, schemasOf(tables));
      if (mv.refreshed.length)
        progress.info(
          `refreshed ${mv.refreshed.length} materialized view(s) in ${formatDuration(mv.ms)}: ${mv.refreshed.slice(0, 5).join(', ')}${mv.refreshed.length > 5 ? ', ...' : ''}`,
        );
      for (const f of mv.failed) {
        const w = `materialized view ${f} (left unpopulated: refresh it on the target)`;
        warnings.push(w);
        progress.info(`warning: ${w}`);
      }
    });
    await step('privileges', async () => {
      // Owners, GRANTs (columns too), default privileges and the database's settings, as on the source.
      const owners = await copyOwners(source, target, schemasOf(tables));
      const acl = await restorePrivileges(dump, options.targetUrl);
      const settings = await copyDatabaseSettings(source, target);
      for (const n of owners.notes) progress.info(n);
      progress.info(
        `owners of ${owners.changed} object(s), ${acl} privilege entr${acl === 1 ? 'y' : 'ies'} and ${settings.length} database setting(s) as on the source`,
      );
    });
    await step('target-guard', async () => {
      // Until ready, the target takes writes from the apply alone (target-guard.ts).
      state.created.targetGuard = names.targetGuard;
      await store.save(state);
      const guarded = await installTargetGuard(target, names.targetGuard, tables);
      progress.info(
        `target guard on ${guarded.length} table(s): writes on the target are refused until the cutover's ready`,
      );
    });
    progress.phase("subscription on the target, on the full load's slot: CDC from its snapshot");
    await step('subscription', async () => {
      state.created.subscription = names.subscription;
      // What the target counted before CDC: status shows the changes applied since.
      state.cdcBaseline = await targetChangeCounters(target);
      await store.save(state);
      await createSubscription(target, {
        name: names.subscription,
        slot: names.slot,
        publications: publications.names,
        conninfo: await subscriptionConninfo(options.sourceUrl, '--source-url'),
      });
    });
    // A server restarted while the subscription takes its tables: the watch reconnects and goes on.
    const catchUpFrom = performance.now();
    const live = liveSessions(source, target, options.sourceUrl, options.targetUrl);
    await watchReplication(live, undefined, names, {
      until: (s) => s.fullLoadDone && s.subscription.problems.length === 0,
      timeoutMs: 60_000,
      what: 'the subscription taking every table',
      progress,
      ...(options.peak ? { peak: options.peak } : {}),
      ...(options.writes ? { writes: options.writes } : {}),
      ...(signal ? { signal } : {}),
    }).finally(() => live.closeReopened());
    state.catchUpMs = Math.round(performance.now() - catchUpFrom);
    await store.save(state);
    progress.stop();
    return {
      names,
      tables,
      publications: publications.names,
      insertOnly: publications.insertOnly,
      schema,
      fullLoadMs: loaded.ms,
      fullLoadRows: loaded.rows,
      fullLoad: loaded,
      jobs,
      warnings,
      sourceMajor: sourceFacts.major,
      targetMajor: targetFacts.major,
      resumed,
      state,
    };
  } catch (error) {
    progress.stop();
    throw await cleanupAfterFailure(error, {
      source: options.sourceUrl,
      target: options.targetUrl,
      state,
      store,
    });
  } finally {
    await dump.dispose();
  }
}

/**
 * Drops what a failed start created and returns the error to throw: one line, saying what was removed
 * and, when a server could not be reached, the SQL that removes the rest.
 */
export async function cleanupAfterFailure(
  error: unknown,
  options: { source: string; target: string; state: NativeStartState; store: StateStore<NativeStartState> },
): Promise<unknown> {
  const cleanup = await dropCreatedObjects({
    source: options.source,
    target: options.target,
    state: options.state,
  });
  await options.store.save(options.state).catch(() => undefined);
  const what = cleanup.left.length
    ? `; could not remove everything, run by hand: ${cleanup.left.join(' ')}`
    : cleanup.removed.length
      ? `; removed ${cleanup.removed.join(', ')}`
      : '';
  if (error instanceof DmskitError) {
    const Kind = error.kind === 'usage' ? UsageError : ExternalError;
    return new Kind(`${error.message}${what}`, { exitCode: error.exitCode, cause: error });
  }
  return new ExternalError(`start failed: ${(error as Error)?.message ?? String(error)}${what}`, {
    cause: error,
  });
}

/**
 * `start --reload-target`: the target's earlier copy of the tables in scope, emptied in one TRUNCATE
 * (rolled back whole if any table cannot be). Refused while anything of an earlier run of this migration
 * is still on the target (a fence, a guard, a subscription): `dmskit abandon` removes it first.
 * @returns the tables emptied (qualified names)
 * @throws UsageError naming what is left, or a table that cannot be emptied (a foreign key from outside the scope)
 */
async function emptyTargetCopy(
  target: pg.Client,
  tables: readonly TableInfo[],
  names: NativeNames,
  where: string,
): Promise<string[]> {
  const { rows: leftOver } = await target.query(
    `SELECT 'trigger ' || tgname AS what FROM pg_trigger WHERE tgname = ANY($1::text[])
     UNION SELECT 'subscription ' || subname FROM pg_subscription WHERE subname = $2
     UNION SELECT 'the read-only fence' FROM pg_db_role_setting rs, unnest(rs.setconfig) s
      WHERE rs.setrole = 0 AND s = 'default_transaction_read_only=on'
        AND rs.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [[names.targetGuard, names.fenceTrigger], names.subscription],
  );
  if (leftOver.length)
    throw new UsageError(
      `--reload-target: the target ${where} still has ${(leftOver as { what: string }[]).map((r) => r.what).join(', ')} of an earlier run: run dmskit abandon with --target-url first`,
    );
  const { rows } = await target.query(
    `SELECT format('%I.%I', n.nspname, c.relname) AS name, n.nspname AS schema, c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND (n.nspname, c.relname) IN (SELECT * FROM unnest($1::text[], $2::text[]))
      ORDER BY 1`,
    [tables.map((t) => t.schema), tables.map((t) => t.table)],
  );
  const found = rows as { name: string; schema: string; table: string }[];
  const present = found.map((r) => r.name);
  if (!present.length) return [];
  if (present.length < tables.length) {
    const there = new Set(found.map((r) => `${r.schema}\u0000${r.table}`));
    const missing = tables.filter((t) => !there.has(`${t.schema}\u0000${t.table}`)).map(displayName);
    throw new UsageError(
      `--reload-target: the target ${where} holds ${present.length} of the ${tables.length} tables in scope (missing: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}): a reload needs the earlier copy whole; migrate into an empty database instead`,
    );
  }
  try {
    await target.query(`TRUNCATE ${present.join(', ')}`);
  } catch (error) {
    throw new UsageError(
      `--reload-target: cannot empty ${present.join(', ')} on the target ${where}: ${(error as Error).message}`,
    );
  }
  return present;
}

async function currentDatabase(c: pg.Client): Promise<string> {
  return ((await c.query('SELECT current_database() AS d')).rows[0] as { d: string }).d;
}

async function watermarkTableInfo(source: pg.Client, table: string): Promise<TableInfo | undefined> {
  const all = await listTables(source);
  return all.find((t) => t.schema === DMSKIT_SCHEMA && t.table === table);
}

/**
 * The native engine as the cutover runbook drives it: readiness and health from the slot (walsender,
 * `wal_status`, byte lag) and the subscription (enabled, apply worker, apply errors, every table ready);
 * stop = `ALTER SUBSCRIPTION ... DISABLE` (so a rollback can enable it again); finish = drop the
 * subscription, its slot and the publications. With `owned` (the start state's record), finish drops only
 * what the start created.
 */
export function nativeCutoverEngine(
  source: pg.Client,
  target: pg.Client,
  names: NativeNames,
  owned?: NativeStartState['created'],
): CutoverEngine {
  const sub = pg.escapeIdentifier(names.subscription);
  const publications = owned ? owned.publications : [names.publication, names.insertOnlyPublication];
  const health = async (): Promise<ReplicationHealth & { slot: Awaited<ReturnType<typeof slotHealth>> }> => {
    const [slot, subscription] = await Promise.all([
      slotHealth(source, names.slot),
      subscriptionHealth(target, names.subscription),
    ]);
    return {
      slot,
      problems: [...slot.problems, ...subscription.problems],
      applyErrors: subscription.applyErrors,
    };
  };
  return {
    name: 'native',
    slot: names.slot,
    watermarkTable: names.watermarkTable,
    readiness: async (): Promise<ReplicationReadiness> => {
      const h = await health();
      if (!h.slot.exists || h.problems.some((p) => p.includes('does not exist'))) {
        return {
          fullLoadComplete: false,
          lagSeconds: null,
          slot: h.slot,
          validationFailures: [],
          problems: [...h.problems, 'run dmskit start --engine native first'],
          warnings: h.slot.warnings,
        };
      }
      const status = await replicationStatus(source, target, names);
      return {
        fullLoadComplete: status.fullLoadDone,
        lagSeconds: h.slot.lagSeconds,
        slot: h.slot,
        validationFailures: [],
        problems: h.problems,
        warnings: h.slot.warnings,
      };
    },
    health,
    prepareWatermark: async () => {
      await ensureWatermarkTable(source, names.watermarkTable);
      await ensureWatermarkTable(target, names.watermarkTable);
      const { rowCount } = await source.query(
        'SELECT 1 FROM pg_publication_tables WHERE pubname = $1 AND schemaname = $2 AND tablename = $3',
        [names.publication, DMSKIT_SCHEMA, names.watermarkTable],
      );
      if (rowCount) return;
      // A migration started by an older dmskit: publish the watermark and let the subscription see it,
      // without copying (the table is empty).
      await source.query(
        `ALTER PUBLICATION ${pg.escapeIdentifier(names.publication)} ADD TABLE ${watermarkTableName(names.watermarkTable)}`,
      );
      await target.query(`ALTER SUBSCRIPTION ${sub} REFRESH PUBLICATION WITH (copy_data = false)`);
    },
    publishedTables: async () => {
      const { rows } = await source.query(
        'SELECT DISTINCT schemaname AS schema, tablename AS table FROM pg_publication_tables WHERE pubname = ANY($1::text[]) ORDER BY 1, 2',
        [publications],
      );
      return rows as TableName[];
    },
    guardTarget: async (tables) => {
      const gaps = await targetGuardGaps(target, names.targetGuard, tables);
      if (!gaps.length) return [];
      // A migration started before the guard existed, or a guard dropped by hand: put it (back).
      await installTargetGuard(target, names.targetGuard, tables);
      if (owned && !owned.targetGuard) owned.targetGuard = names.targetGuard;
      return targetGuardGaps(target, names.targetGuard, tables);
    },
    openTarget: async () => {
      await openTargetGuard(target, names.targetGuard);
    },
    closeTarget: async () => {
      await closeTargetGuard(target, names.targetGuard);
    },
    probeTarget: async (token) => {
      await probeTargetGuard(target, names.targetGuard, token);
    },
    stopReplication: async () => {
      await target.query(`ALTER SUBSCRIPTION ${sub} DISABLE`);
    },
    resumeReplication: async () => {
      await target.query(`ALTER SUBSCRIPTION ${sub} ENABLE`);
    },
    finish: async () => {
      if (!owned || owned.subscription) await dropSubscription(target, names.subscription);
      if (!owned || owned.slot) {
        const { rows } = await source.query(
          'SELECT database = current_database() AS ours FROM pg_replication_slots WHERE slot_name = $1',
          [names.slot],
        );
        if ((rows[0] as { ours: boolean } | undefined)?.ours) await dropReplicationSlot(source, names.slot);
      }
      await dropPublications(source, publications);
      if (!owned || owned.targetGuard) await dropTargetGuard(target, names.targetGuard);
      if (!owned || owned.ddlCapture)
        await dropDdlCapture(source, { trigger: names.ddlCapture, log: names.ddlLog });
      if (owned) {
        owned.targetGuard = undefined;
        owned.ddlCapture = undefined;
        owned.publications = [];
        owned.subscription = undefined;
        owned.slot = undefined;
      }
    },
    describe: () => ({
      stop: `target: ALTER SUBSCRIPTION ${sub} DISABLE`,
      resume: `target: ALTER SUBSCRIPTION ${sub} ENABLE`,
      finish: `target: DROP SUBSCRIPTION ${sub}; source: pg_drop_replication_slot('${names.slot}') if left; DROP PUBLICATION ${publications.join(', ')}; both: DROP TABLE ${watermarkTableName(names.watermarkTable)}`,
    }),
  };
}
