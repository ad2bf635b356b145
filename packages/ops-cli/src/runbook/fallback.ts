import { ExternalError, type TableName } from '@dmskit/shared';
import { type ConnectionInput, closeQuietly, openConnection, qualifiedName } from '@dmskit/validation';
import pg from 'pg';
import { subscriptionHealth } from '../native/status.js';
import { dropReplicationSlot, dropSubscription } from '../native/subscription.js';
import { slotBlockers, withDeadline } from '../pg/waits.js';
import { sleep } from '../util/time.js';
import type { CutoverEngine } from './engine.js';
import { type SlotHealth, slotHealth } from './slot-health.js';
import { dropWatermarkTable, watermarkTableName } from './watermark.js';

/**
 * The fall-back path: after the cutover, PostgreSQL logical replication from the new primary (the target,
 * Aurora) back to the old source, until the operator lets go, so that a rollback after ready loses no
 * write made on the target. Independent of the forward engine.
 *
 * It starts exactly at the ready moment, with no copy: the publication and the slot are created on the
 * target before the window (the slot then sees the forward apply too), and at ready, with replication
 * stopped and clients still held, the slot is advanced to the target's current LSN; after ready, the
 * subscription on the old source is created on that slot, disabled, its replication origin advanced to
 * the same LSN, then enabled (PostgreSQL: "Replication Progress Tracking", `pg_replication_origin_advance`;
 * "pg_replication_slot_advance"). The apply worker writes into the fenced old source: it runs with
 * `session_replication_role = replica`, so the fence's triggers do not fire for it, and
 * `default_transaction_read_only` does not apply to it.
 */

/** The names of the fall-back path's objects. */
export interface FallbackNames {
  /** On the target: tables with replica identity, and the insert-only ones. */
  readonly publication: string;
  readonly insertOnlyPublication: string;
  /** On the target. */
  readonly slot: string;
  /** On the old source. */
  readonly subscription: string;
  readonly watermarkTable: string;
}

/** What the fall-back path created, recorded in the cutover state. */
export interface FallbackRecord {
  publications: string[];
  slot?: string | undefined;
  /** The target's LSN at ready: where the path starts. */
  startLsn?: string;
  subscription?: string | undefined;
  /** The old source's apply-error count when the path started streaming (the statistics are cumulative). */
  applyErrorsAtStart?: number;
  /** When `dmskit finish` ended it. */
  endedAt?: string;
}

/** The reverse path's names from the forward ones: `<base>_rpub`, `_rslot`, `_rsub`. */
export function fallbackNames(names: {
  publication: string;
  subscription: string;
  slot: string;
  watermarkTable: string;
}): FallbackNames {
  const base = names.slot.replace(/_slot$/, '');
  return {
    publication: `${base}_rpub`,
    insertOnlyPublication: `${base}_rpub_ins`,
    slot: `${base}_rslot`,
    subscription: `${base}_rsub`,
    watermarkTable: names.watermarkTable,
  };
}

/**
 * Before the window: checks that the target can publish (wal_level = logical: on Aurora,
 * `rds.logical_replication = 1`), creates the publications of the migrated tables and the watermark on the
 * target, and the slot, recording each in `record` before it is created. Idempotent. The slot's creation
 * waits for the target's running transactions: at most `wait.timeoutMs`, saying what it waits for.
 * @throws ExternalError when the target cannot be a publisher, or the slot waited past its deadline
 */
export async function prepareFallback(
  target: pg.Client,
  names: FallbackNames,
  tables: readonly (TableName & { hasReplicaIdentity: boolean })[],
  record: FallbackRecord,
  save: () => Promise<void>,
  wait: {
    /** The target, for a session that watches and cancels the slot's creation. */
    server: ConnectionInput;
    signal?: AbortSignal | undefined;
    say?: (line: string) => void;
    /** @default 60 s */
    timeoutMs?: number;
  },
): Promise<void> {
  const { rows } = await target.query("SELECT current_setting('wal_level') AS level");
  if ((rows[0] as { level: string }).level !== 'logical')
    throw new ExternalError(
      `the fall-back path needs wal_level = logical on the target (Aurora: rds.logical_replication = 1 in the cluster parameter group, then a reboot), found ${(rows[0] as { level: string }).level}; or set cutover.fallback: false`,
    );
  const full = tables.filter((t) => t.hasReplicaIdentity);
  const insertOnly = tables.filter((t) => !t.hasReplicaIdentity);
  const wanted: [string, string][] = [
    [names.publication, [...full.map(qualifiedName), watermarkTableName(names.watermarkTable)].join(', ')],
    ...(insertOnly.length
      ? ([[names.insertOnlyPublication, `${insertOnly.map(qualifiedName).join(', ')}`]] as [string, string][])
      : []),
  ];
  for (const [name, list] of wanted) {
    if (record.publications.includes(name)) continue;
    record.publications.push(name);
    await save();
    const { rowCount } = await target.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [name]);
    if (!rowCount)
      await target.query(
        `CREATE PUBLICATION ${pg.escapeIdentifier(name)} FOR TABLE ${list}${name === names.insertOnlyPublication ? " WITH (publish = 'insert, truncate')" : ''}`,
      );
  }
  if (!record.slot) {
    record.slot = names.slot;
    await save();
  }
  const { rowCount } = await target.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [
    names.slot,
  ]);
  if (rowCount) return;
  // Creating a logical slot waits for every transaction running on the target, in any database: before
  // the fence, under a deadline, cancelled at Ctrl-C, naming what it waits for.
  const pid = ((await target.query('SELECT pg_backend_pid() AS pid')).rows[0] as { pid: number }).pid;
  await withDeadline(
    () => target.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [names.slot]),
    {
      pid,
      server: wait.server,
      side: 'target',
      what: `creating the fall-back path's replication slot ${names.slot} on the target`,
      timeoutMs: wait.timeoutMs ?? 60_000,
      signal: wait.signal,
      blockers: slotBlockers,
      ...(wait.say ? { say: wait.say } : {}),
    },
  );
}

/**
 * In the window, once replication is stopped and before clients reach the target: the target's current
 * LSN is where the fall-back path starts; the slot is advanced to it (the forward apply before it is not
 * sent back).
 * @returns the LSN
 */
export async function markFallbackStart(target: pg.Client, slot: string): Promise<string> {
  const { rows } = await target.query('SELECT pg_current_wal_lsn()::text AS lsn');
  const lsn = (rows[0] as { lsn: string }).lsn;
  await target.query('SELECT pg_replication_slot_advance($1, $2::pg_lsn)', [slot, lsn]);
  return lsn;
}

/**
 * After ready: the subscription on the old source, on the slot the target already holds, starting at
 * `startLsn`: created disabled without copy, its origin advanced, then enabled. Idempotent.
 */
export async function startFallback(
  source: pg.Client,
  names: FallbackNames,
  options: { conninfo: string; publications: readonly string[]; startLsn: string },
): Promise<void> {
  const sub = pg.escapeIdentifier(names.subscription);
  const existing = await source.query(
    'SELECT oid, subenabled FROM pg_subscription WHERE subname = $1 AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())',
    [names.subscription],
  );
  let row = existing.rows[0] as { oid: number; subenabled: boolean } | undefined;
  if (!row) {
    await source.query(
      `CREATE SUBSCRIPTION ${sub} CONNECTION ${pg.escapeLiteral(options.conninfo)}
         PUBLICATION ${options.publications.map((p) => pg.escapeIdentifier(p)).join(', ')}
         WITH (create_slot = false, slot_name = ${pg.escapeLiteral(names.slot)}, copy_data = false, enabled = false)`,
    );
    row = (
      await source.query('SELECT oid, subenabled FROM pg_subscription WHERE subname = $1', [
        names.subscription,
      ])
    ).rows[0] as { oid: number; subenabled: boolean };
  }
  if (row.subenabled) return;
  // The origin of a subscription is named pg_<oid> (PostgreSQL: "Replication Progress Tracking"); while
  // the subscription is disabled no worker holds it, and advancing it again to the same LSN is harmless.
  await source.query('SELECT pg_replication_origin_advance($1, $2::pg_lsn)', [
    `pg_${row.oid}`,
    options.startLsn,
  ]);
  await source.query(`ALTER SUBSCRIPTION ${sub} ENABLE`);
}

/** The fall-back path's health: the slot on the target, the subscription on the old source. */
export interface FallbackHealth {
  readonly slot: SlotHealth;
  readonly subscription: Awaited<ReturnType<typeof subscriptionHealth>>;
  readonly problems: readonly string[];
}

export async function fallbackHealth(
  source: pg.Client,
  target: pg.Client,
  names: FallbackNames,
): Promise<FallbackHealth> {
  const [slot, subscription] = await Promise.all([
    slotHealth(target, names.slot),
    subscriptionHealth(source, names.subscription),
  ]);
  return {
    slot,
    subscription,
    problems: [
      ...slot.problems.map((p) => `fall-back path: ${p.replace('on the source', 'on the target')}`),
      ...subscription.problems.map(
        (p) => `fall-back path: ${p.replace('on the target', 'on the old source')}`,
      ),
    ],
  };
}

/**
 * Waits until the fall-back path streams: a walsender on the target reads its slot and the old source's
 * apply worker runs (the launcher starts it a moment after the subscription is enabled).
 * @returns the health read last: problems left when `timeoutMs` passed first
 */
export async function waitForFallback(
  source: pg.Client,
  target: pg.Client,
  names: FallbackNames,
  timeoutMs: number,
): Promise<FallbackHealth> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const h = await fallbackHealth(source, target, names);
    if (!h.problems.length || Date.now() > deadline) return h;
    await sleep(100);
  }
}

/**
 * Drops the fall-back path's objects on the target (slot, publications) through a new connection, as
 * `record` names them; a cutover that failed before ready leaves nothing of the path.
 * @returns what was removed
 */
export async function dropFallbackObjects(
  targetUrl: ConnectionInput,
  record: FallbackRecord,
): Promise<string[]> {
  const removed: string[] = [];
  const target = await openConnection(targetUrl, 'target', { applicationName: 'dmskit-cleanup' });
  try {
    await target.query('SET default_transaction_read_only = off');
    if (record.slot && (await dropReplicationSlot(target, record.slot)))
      removed.push(`slot ${record.slot} on the target`);
    record.slot = undefined;
    for (const p of record.publications)
      await target.query(`DROP PUBLICATION IF EXISTS ${pg.escapeIdentifier(p)}`);
    if (record.publications.length)
      removed.push(`publication ${record.publications.join(', ')} on the target`);
    record.publications = [];
    return removed;
  } finally {
    await closeQuietly(target);
  }
}

/**
 * `dmskit finish`: ends the fall-back path through new connections: the subscription on the old source,
 * the slot and publications on the target, the watermark tables on both. Drops only what `record` names.
 * @returns what was removed
 */
export async function endFallback(
  sourceUrl: ConnectionInput,
  targetUrl: ConnectionInput,
  names: FallbackNames,
  record: FallbackRecord,
): Promise<string[]> {
  const removed: string[] = [];
  const source = await openConnection(sourceUrl, 'source', { applicationName: 'dmskit-finish' });
  const target = await openConnection(targetUrl, 'target', { applicationName: 'dmskit-finish' });
  try {
    // Either side may be fenced (read-only by default): dmskit's own sessions write.
    await source.query('SET default_transaction_read_only = off');
    await target.query('SET default_transaction_read_only = off');
    if (record.subscription && (await dropSubscription(source, record.subscription)))
      removed.push(`subscription ${record.subscription} on the old source`);
    record.subscription = undefined;
    removed.push(...(await dropFallbackObjects(targetUrl, record)));
    await dropWatermarkTable(source, names.watermarkTable);
    await dropWatermarkTable(target, names.watermarkTable);
    record.endedAt = new Date().toISOString();
    return removed;
  } finally {
    await Promise.all([closeQuietly(source), closeQuietly(target)]);
  }
}

/**
 * The fall-back path as the cutover runbook drives it, for a rollback after ready: the same runbook run
 * the other way (the target fenced, a watermark committed on it and waited for on the old source, the
 * reverse subscription stopped, sequences copied back, the pooler switched back); finish ends the path.
 */
export function fallbackEngine(
  oldSource: pg.Client,
  newPrimary: pg.Client,
  names: FallbackNames,
  ends: { sourceUrl: ConnectionInput; targetUrl: ConnectionInput; record: FallbackRecord },
): CutoverEngine {
  const sub = pg.escapeIdentifier(names.subscription);
  const health = async () => {
    const h = await fallbackHealth(oldSource, newPrimary, names);
    return { h, problems: h.problems, applyErrors: h.subscription.applyErrors };
  };
  return {
    name: 'native',
    slot: names.slot,
    watermarkTable: names.watermarkTable,
    readiness: async () => {
      const { h, problems } = await health();
      return {
        fullLoadComplete: true,
        lagSeconds: h.slot.lagSeconds,
        slot: h.slot,
        validationFailures: [],
        problems,
        warnings: h.slot.warnings,
      };
    },
    health: async () => {
      const { problems, applyErrors } = await health();
      return { problems, applyErrors };
    },
    prepareWatermark: async () => {
      const { rowCount } = await newPrimary.query(
        "SELECT 1 FROM pg_publication_tables WHERE pubname = $1 AND schemaname = 'dmskit' AND tablename = $2",
        [names.publication, names.watermarkTable],
      );
      if (!rowCount)
        throw new ExternalError(`the watermark table is not published on the target (${names.publication})`);
    },
    publishedTables: async () => {
      const { rows } = await newPrimary.query(
        'SELECT DISTINCT schemaname AS schema, tablename AS table FROM pg_publication_tables WHERE pubname = ANY($1::text[]) ORDER BY 1, 2',
        [[names.publication, names.insertOnlyPublication]],
      );
      return rows as { schema: string; table: string }[];
    },
    stopReplication: async () => {
      await oldSource.query(`ALTER SUBSCRIPTION ${sub} DISABLE`);
    },
    resumeReplication: async () => {
      await oldSource.query(`ALTER SUBSCRIPTION ${sub} ENABLE`);
    },
    finish: async () => {
      await endFallback(ends.sourceUrl, ends.targetUrl, names, ends.record);
    },
    describe: () => ({
      stop: `old source: ALTER SUBSCRIPTION ${sub} DISABLE`,
      resume: `old source: ALTER SUBSCRIPTION ${sub} ENABLE`,
      finish: `old source: DROP SUBSCRIPTION ${sub}; target: DROP PUBLICATION ${names.publication}`,
    }),
  };
}
