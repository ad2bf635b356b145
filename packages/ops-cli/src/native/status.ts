import type { TableName } from '@dmskit/shared';
import type pg from 'pg';

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

/** Where replication stands: per-table full load, and lag of the slot behind the source's WAL. */
export interface ReplicationStatus {
  readonly tables: readonly TableProgress[];
  /** WAL bytes the slot has not yet confirmed: `pg_current_wal_lsn() - confirmed_flush_lsn`. */
  readonly lagBytes: number;
  /** Seconds behind, from the walsender's `replay_lag`; 0 when it reports none (caught up and idle). */
  readonly lagSeconds: number;
  readonly currentLsn: string;
  readonly confirmedLsn: string | null;
  /** Whether every table reached `ready` (full load done, CDC applying). */
  readonly fullLoadDone: boolean;
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
 WHERE s.subname = $1
 ORDER BY 1, 2`;

const SLOT_LAG_SQL = `
SELECT pg_current_wal_lsn()::text AS current_lsn, s.confirmed_flush_lsn::text AS confirmed_lsn,
       coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn), 0)::int8 AS lag_bytes,
       coalesce((SELECT extract(epoch FROM r.replay_lag) FROM pg_stat_replication r WHERE r.pid = s.active_pid), 0)::float8 AS lag_seconds
  FROM pg_replication_slots s
 WHERE s.slot_name = $1`;

/**
 * Reads the subscription's per-table state on the target and the slot's lag on the source.
 * @throws Error when the slot does not exist on the source
 */
export async function replicationStatus(
  source: pg.Client,
  target: pg.Client,
  names: { subscription: string; slot: string },
): Promise<ReplicationStatus> {
  const [tables, slot] = await Promise.all([
    target.query(TABLE_STATES_SQL, [names.subscription]),
    source.query(SLOT_LAG_SQL, [names.slot]),
  ]);
  const s = slot.rows[0] as
    | { current_lsn: string; confirmed_lsn: string | null; lag_bytes: string; lag_seconds: number }
    | undefined;
  if (!s) throw new Error(`replication slot ${names.slot} does not exist on the source`);
  const progress = tables.rows.map((r: { schema: string; table: string; state: string; rows: string }) => ({
    schema: r.schema,
    table: r.table,
    state: STATES[r.state] ?? 'queued',
    rows: Number(r.rows),
  }));
  return {
    tables: progress,
    lagBytes: Math.max(0, Number(s.lag_bytes)),
    lagSeconds: Number(s.lag_seconds),
    currentLsn: s.current_lsn,
    confirmedLsn: s.confirmed_lsn,
    fullLoadDone: progress.length > 0 && progress.every((t) => t.state === 'ready'),
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
