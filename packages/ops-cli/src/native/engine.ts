import {
  ExternalError,
  type MigrationConfig,
  nativeObjectNames,
  selectTables,
  UsageError,
} from '@dmskit/shared';
import { describeConnection, listTables, qualifiedName, type TableInfo } from '@dmskit/validation';
import pg from 'pg';
import { parseConnectionUrl, toConninfo } from '../pg/url.js';
import {
  assertReplicable,
  assertTargetEmpty,
  replicaIdentityWarning,
  serverFacts,
} from '../rehearsal/checks.js';
import type { CutoverEngine, ReplicationReadiness } from '../runbook/engine.js';
import {
  dumpSchema,
  existingObjects,
  primaryKeys,
  restorePostData,
  restorePreData,
  type SchemaDump,
} from '../schema/copy.js';
import type { Progress } from '../ui/progress.js';
import { since, sleep } from '../util/time.js';
import { createPublications, dropPublications, type Publications } from './publication.js';
import { type ReplicationStatus, replicationStatus } from './status.js';
import { createSubscription, dropReplicationSlot, dropSubscription } from './subscription.js';

export type NativeNames = ReturnType<typeof nativeObjectNames>;

/** Peak lag seen by a watcher, in bytes and seconds. */
export interface LagPeak {
  bytes: number;
  seconds: number;
}

/**
 * Polls the subscription and slot every 500 ms, showing each reading as a progress frame, until
 * `until` holds.
 * @throws ExternalError when `timeoutMs` passes first; the signal's reason when aborted
 */
export async function watchReplication(
  source: pg.Client,
  target: pg.Client,
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
  },
): Promise<ReplicationStatus> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    options.signal?.throwIfAborted();
    const status = await replicationStatus(source, target, names);
    if (options.peak) {
      options.peak.bytes = Math.max(options.peak.bytes, status.lagBytes);
      options.peak.seconds = Math.max(options.peak.seconds, status.lagSeconds);
    }
    options.progress.frame({
      ...status,
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

/** What `startNativeMigration` set up and measured. */
export interface NativeStart {
  readonly names: NativeNames;
  readonly tables: readonly TableInfo[];
  readonly publications: Publications;
  readonly dump: SchemaDump;
  readonly schema: {
    readonly preDataEntries: number;
    readonly primaryKeys: number;
    readonly postDataEntries: number;
  };
  readonly fullLoadMs: number;
  readonly fullLoadRows: number;
  readonly warnings: readonly string[];
  readonly sourceMajor: number;
  readonly targetMajor: number;
}

/**
 * Starts a native migration and returns once the full load is done and post-data is in place, CDC
 * running: checks both servers, copies pre-data and primary keys with pg_dump/pg_restore, publishes the
 * tables in scope (insert-only for tables without replica identity), subscribes the target, watches the
 * full load, then restores post-data. Nothing is left behind if it fails: the subscription, slot and
 * publications it created are dropped. `beforeReplication` runs after the schema copy (the rehearsal
 * starts its writer there).
 * @throws UsageError for a source without wal_level=logical, a non-empty target, an empty scope
 */
export async function startNativeMigration(options: {
  config: MigrationConfig;
  sourceUrl: string;
  targetUrl: string;
  source: pg.Client;
  target: pg.Client;
  progress: Progress;
  peak?: LagPeak;
  writes?: () => number;
  beforeReplication?: () => void;
  signal?: AbortSignal;
}): Promise<NativeStart> {
  const { config, source, target, progress, signal } = options;
  const names = nativeObjectNames(config);
  const where = {
    source: describeConnection(options.sourceUrl),
    target: describeConnection(options.targetUrl),
  };
  const [sourceFacts, targetFacts] = await Promise.all([serverFacts(source), serverFacts(target)]);
  assertReplicable(sourceFacts, targetFacts, where);
  const allTables = await listTables(source);
  const tables = selectTables(allTables, config.task.tableMappings);
  if (tables.length === 0)
    throw new UsageError(`no table of ${where.source} matches task.tableMappings of ${config.name}`);
  const warnings: string[] = [];
  const identityWarning = replicaIdentityWarning(tables);
  if (identityWarning) {
    warnings.push(identityWarning);
    progress.info(`warning: ${identityWarning}`);
  }
  await assertTargetEmpty(target, tables, where.target);
  signal?.throwIfAborted();

  progress.phase(
    `copying the schema (pg_dump --schema-only): pre-data and primary keys of ${tables.length} table(s)`,
  );
  const dump = await dumpSchema({
    sourceUrl: options.sourceUrl,
    sourceMajor: sourceFacts.major,
    targetMajor: targetFacts.major,
    selected: tables,
    all: allTables,
  });
  let created: Publications | undefined;
  try {
    progress.info(`using ${dump.pgDump.path} (${dump.pgDump.version})`);
    const existing = await existingObjects(target);
    const keys = await primaryKeys(source);
    const restored = await restorePreData(dump, options.targetUrl, existing, keys);
    options.beforeReplication?.();

    progress.phase('full load: publication on the source, subscription on the target');
    created = await createPublications(source, tables, names);
    await createSubscription(target, {
      name: names.subscription,
      slot: names.slot,
      publications: created.names,
      conninfo: toConninfo(parseConnectionUrl(options.sourceUrl, '--source-url')),
    });
    const t = performance.now();
    await watchReplication(source, target, names, {
      until: (s) => s.fullLoadDone,
      timeoutMs: 24 * 3600_000,
      what: 'the full load',
      progress,
      sourceRows: new Map(tables.map((x) => [`${x.schema}.${x.table}`, x.estimatedRows])),
      ...(options.peak ? { peak: options.peak } : {}),
      ...(options.writes ? { writes: options.writes } : {}),
      ...(signal ? { signal } : {}),
    });
    const fullLoadMs = since(t);
    progress.stop();
    let fullLoadRows = 0;
    for (const x of tables) {
      fullLoadRows += Number(
        (
          (await target.query(`SELECT count(*)::int8 AS n FROM ONLY ${qualifiedName(x)}`)).rows[0] as {
            n: string;
          }
        ).n,
      );
    }
    progress.info(
      `full load done in ${fullLoadMs} ms (${fullLoadRows.toLocaleString('en-US')} rows); CDC is applying changes`,
    );
    progress.phase('post-data: secondary indexes, foreign keys, triggers');
    const postData = await restorePostData(dump, options.targetUrl, existing, keys);
    return {
      names,
      tables,
      publications: created,
      dump,
      schema: {
        preDataEntries: restored.preData,
        primaryKeys: restored.primaryKeys,
        postDataEntries: postData,
      },
      fullLoadMs,
      fullLoadRows,
      warnings,
      sourceMajor: sourceFacts.major,
      targetMajor: targetFacts.major,
    };
  } catch (error) {
    await dropSubscription(target, names.subscription).catch(() => undefined);
    await dropReplicationSlot(source, names.slot).catch(() => undefined);
    if (created) await dropPublications(source, created.names).catch(() => undefined);
    await dump.dispose();
    throw error;
  }
}

/**
 * The native engine as the cutover runbook drives it: readiness from pg_subscription_rel and the slot;
 * stop = `ALTER SUBSCRIPTION ... DISABLE` (so a rollback can enable it again); finish = drop the
 * subscription, its slot and the publications.
 */
export function nativeCutoverEngine(source: pg.Client, target: pg.Client, names: NativeNames): CutoverEngine {
  const sub = pg.escapeIdentifier(names.subscription);
  const publications = [names.publication, names.insertOnlyPublication];
  return {
    name: 'native',
    slot: names.slot,
    readiness: async (): Promise<ReplicationReadiness> => {
      const problems: string[] = [];
      const { rows } = await target.query('SELECT subenabled FROM pg_subscription WHERE subname = $1', [
        names.subscription,
      ]);
      if (rows.length === 0) {
        return {
          fullLoadComplete: false,
          lagSeconds: Number.POSITIVE_INFINITY,
          validationFailures: [],
          problems: [
            `subscription ${names.subscription} does not exist on the target (run dmskit start first)`,
          ],
        };
      }
      if (!(rows[0] as { subenabled: boolean }).subenabled)
        problems.push(`subscription ${names.subscription} is disabled`);
      const status = await replicationStatus(source, target, names);
      return {
        fullLoadComplete: status.fullLoadDone,
        lagSeconds: status.lagSeconds,
        validationFailures: [],
        problems,
      };
    },
    stopReplication: async () => {
      await target.query(`ALTER SUBSCRIPTION ${sub} DISABLE`);
    },
    resumeReplication: async () => {
      await target.query(`ALTER SUBSCRIPTION ${sub} ENABLE`);
    },
    finish: async () => {
      await dropSubscription(target, names.subscription);
      await dropReplicationSlot(source, names.slot);
      await dropPublications(source, publications);
    },
    describe: () => ({
      stop: `target: ALTER SUBSCRIPTION ${sub} DISABLE`,
      resume: `target: ALTER SUBSCRIPTION ${sub} ENABLE`,
      finish: `target: DROP SUBSCRIPTION ${sub}; source: pg_drop_replication_slot('${names.slot}') if left; DROP PUBLICATION ${publications.join(', ')}`,
    }),
  };
}
