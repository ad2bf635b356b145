import { ExternalError, type TableName } from '@dmskit/shared';
import type pg from 'pg';
import { type SlotHealth, slotHealth } from '../runbook/slot-health.js';

/**
 * Full-load state of one table in a subscription, from `pg_subscription_rel.srsubstate`
 * (PostgreSQL: "pg_subscription_rel"): i init, d copying, f copied, s synchronized, r ready.
 */
export type TableLoadState = 'queued' | 'copying' | 'copied' | 'synchronized' | 'ready';

const STATES: Record<string, TableLoadState> = {
  i: 'queued',
  d: 'copying',
  f: 'copied',
  s: 'synchronized',
  r: 'ready',
};

export interface TableProgress extends TableName {
  readonly state: TableLoadState;
  /** Rows copied so far while copying (`pg_stat_progress_copy`), else the target's live-row estimate. */
  readonly rows: number;
}

/** Where replication stands: per-table full load, lag and the health of both ends. */
export interface ReplicationStatus {
  readonly tables: readonly TableProgress[];
  /** WAL bytes the slot has not yet confirmed: `pg_current_wal_lsn() - confirmed_flush_lsn`. */
  readonly lagBytes: number;
  /** Seconds behind, from the walsender's `replay_lag`; null when no walsender reads the slot. */
  readonly lagSeconds: number | null;
  readonly currentLsn: string;
  readonly confirmedLsn: string | null;
  /** Whether every table reached `ready` (full load done, CDC applying). */
  readonly fullLoadDone: boolean;
  readonly slot: SlotHealth;
  readonly subscription: SubscriptionHealth;
}

const TABLE_STATES_SQL = `
SELECT n.nspname AS schema, c.relname AS table, sr.srsubstate AS state,
       coalesce(p.tuples_processed, st.n_live_tup, 0)::int8 AS rows
  FROM pg_subscription s
  JOIN pg_subscription_rel sr ON sr.srsubid = s.oid
  JOIN pg_class c ON c.oid = sr.srrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_stat_progress_copy p ON p.relid = c.oid
  LEFT JOIN pg_stat_user_tables st ON st.relid = c.oid
 WHERE s.subname = $1 AND n.nspname <> 'dmskit'
 ORDER BY 1, 2`;

/**
 * Reads the subscription's per-table state and health on the target and the slot's health on the source.
 * @throws ExternalError when the slot or the subscription does not exist
 */
export async function replicationStatus(
  source: pg.Client,
  target: pg.Client,
  names: { subscription: string; slot: string },
): Promise<ReplicationStatus> {
  const [tables, slot, subscription] = await Promise.all([
    target.query(TABLE_STATES_SQL, [names.subscription]),
    slotHealth(source, names.slot),
    subscriptionHealth(target, names.subscription),
  ]);
  if (!slot.exists) throw new ExternalError(`replication slot ${names.slot} does not exist on the source`);
  if (!subscription.exists)
    throw new ExternalError(`subscription ${names.subscription} does not exist on the target`);
  const progress = tables.rows.map((r: { schema: string; table: string; state: string; rows: string }) => ({
    schema: r.schema,
    table: r.table,
    state: STATES[r.state] ?? 'queued',
    rows: Number(r.rows),
  }));
  return {
    tables: progress,
    lagBytes: slot.lagBytes,
    lagSeconds: slot.lagSeconds,
    currentLsn: slot.currentLsn,
    confirmedLsn: slot.confirmedLsn,
    fullLoadDone: progress.length > 0 && progress.every((t) => t.state === 'ready'),
    slot,
    subscription,
  };
}

/** Whether LSN `a` is at or past LSN `b` (both `X/Y` hex text). */
export function lsnAtLeast(a: string, b: string): boolean {
  const n = (lsn: string) => {
    const [hi = '0', lo = '0'] = lsn.split('/');
    return BigInt(`0x${hi}`) * 2n ** 32n + BigInt(`0x${lo}`);
  };
  return n(a) >= n(b);
}

/** The subscription's side of replication health, read on the target. */
export interface SubscriptionHealth {
  readonly exists: boolean;
  readonly enabled: boolean;
  /** Whether the subscription's apply worker is running (`pg_stat_subscription`, relid null). */
  readonly applyWorker: boolean;
  /** Errors while applying changes and while copying tables, since the statistics were reset. */
  readonly applyErrors: number;
  readonly syncErrors: number;
  readonly problems: readonly string[];
}

// pg_stat_subscription_stats exists from PostgreSQL 15 ("pg_stat_subscription_stats").
const SUBSCRIPTION_HEALTH_SQL = `
SELECT s.subenabled AS enabled,
       EXISTS (SELECT 1 FROM pg_stat_subscription w WHERE w.subid = s.oid AND w.relid IS NULL AND w.pid IS NOT NULL) AS worker,
       %STATS%
  FROM pg_subscription s
 WHERE s.subname = $1 AND s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`;

/**
 * Reads the subscription's health on the target: enabled, its apply worker running, its error counts.
 * An apply error count that grows means the subscriber cannot apply a change (for example a row that
 * breaks a constraint on the target); the server log has the message.
 */
export async function subscriptionHealth(
  target: pg.Client,
  subscription: string,
): Promise<SubscriptionHealth> {
  const major = Number(
    ((await target.query('SHOW server_version_num')).rows[0] as { server_version_num: string })
      .server_version_num,
  );
  const stats =
    major >= 150000
      ? '(SELECT st.apply_error_count FROM pg_stat_subscription_stats st WHERE st.subid = s.oid)::int8 AS apply_errors, (SELECT st.sync_error_count FROM pg_stat_subscription_stats st WHERE st.subid = s.oid)::int8 AS sync_errors'
      : '0::int8 AS apply_errors, 0::int8 AS sync_errors';
  const row = (await target.query(SUBSCRIPTION_HEALTH_SQL.replace('%STATS%', stats), [subscription]))
    .rows[0] as
    | { enabled: boolean; worker: boolean; apply_errors: string | null; sync_errors: string | null }
    | undefined;
  if (!row)
    return {
      exists: false,
      enabled: false,
      applyWorker: false,
      applyErrors: 0,
      syncErrors: 0,
      problems: [`subscription ${subscription} does not exist on the target`],
    };
  const problems: string[] = [];
  if (!row.enabled) problems.push(`subscription ${subscription} is disabled`);
  else if (!row.worker) problems.push(`the apply worker of subscription ${subscription} is not running`);
  return {
    exists: true,
    enabled: row.enabled,
    applyWorker: row.worker,
    applyErrors: Number(row.apply_errors ?? 0),
    syncErrors: Number(row.sync_errors ?? 0),
    problems,
  };
}

// The server log's tail, where PostgreSQL writes the apply worker's errors (PostgreSQL 15 counts them in
// pg_stat_subscription_stats but keeps no text). Readable with the logging collector on, by a superuser
// or a member of pg_read_server_files ("System Administration Functions": pg_read_file).
const LOG_TAIL_SQL = `
SELECT pg_read_file(f, greatest(0, (pg_stat_file(f)).size - 262144), 262144) AS tail
  FROM pg_current_logfile() AS f WHERE f IS NOT NULL`;

/**
 * The last error of a logical replication worker in the target's server log, with its detail, as one
 * line; null when there is none or the log cannot be read (no logging collector, no privilege).
 */
export async function lastApplyError(target: pg.Client): Promise<string | null> {
  const tail = await target
    .query(LOG_TAIL_SQL)
    .then((r) => (r.rows[0] as { tail: string } | undefined)?.tail ?? null)
    .catch(() => null);
  if (!tail) return null;
  const lines = tail.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    if (/ERROR:\s+(logical replication|could not|duplicate key|null value|.*replicated)/.test(line)) {
      const message = line.replace(/^.*?ERROR:\s+/, '');
      const context = lines
        .slice(i + 1, i + 4)
        .filter((l) => /(DETAIL|CONTEXT):/.test(l))
        .map((l) => l.replace(/^.*?(DETAIL|CONTEXT):\s+/, ''));
      return [message, ...context].join('; ').slice(0, 400);
    }
  }
  return null;
}

/** What to do about an apply error, from its text: one line, or none when dmskit does not know. */
export function applyErrorFix(error: string): string[] {
  if (/missing replicated column/.test(error))
    return [
      'fix: the source has a column the target lacks (DDL on the source only): run the same ALTER TABLE on the target and the apply goes on by itself; next time use dmskit ddl',
    ];
  if (/duplicate key value/.test(error))
    return [
      'fix: the target already holds a row the source inserts (a write on the target during CDC?): dmskit validate names it; remove it on the target with session_replication_role = replica',
    ];
  if (/logical replication target relation .* does not exist/.test(error))
    return [
      'fix: a published table has no twin on the target (created or renamed during CDC): create or rename it there too, then dmskit scope',
    ];
  return [];
}
