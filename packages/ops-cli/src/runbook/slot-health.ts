import type pg from 'pg';

/**
 * The health of the replication slot that feeds the target, read on the source (PostgreSQL:
 * "pg_replication_slots", "pg_stat_replication"). Engine-neutral: the native subscription and a DMS
 * task both read the source through a logical slot.
 */
export interface SlotHealth {
  readonly slot: string;
  readonly exists: boolean;
  /** Whether a walsender is streaming from the slot (the subscriber or the DMS task is reading). */
  readonly walsenderConnected: boolean;
  /** `reserved`, `extended`, `unreserved` (WAL about to be removed) or `lost` (the slot is unusable). */
  readonly walStatus: string | null;
  /** Bytes of WAL that can still be written before the slot is invalidated; null: no limit is set. */
  readonly safeWalSizeBytes: number | null;
  readonly currentLsn: string;
  readonly confirmedLsn: string | null;
  /** WAL bytes the slot has not confirmed: `pg_current_wal_lsn() - confirmed_flush_lsn`. */
  readonly lagBytes: number;
  /** The walsender's `replay_lag` in seconds; 0 when it is connected and idle; null without a walsender. */
  readonly lagSeconds: number | null;
  /** What is wrong, one line each; empty when replication can carry the cutover. */
  readonly problems: readonly string[];
  /** What may soon be wrong (the slot close to invalidation). */
  readonly warnings: readonly string[];
}

const SLOT_HEALTH_SQL = `
SELECT pg_current_wal_lsn()::text AS current_lsn,
       s.slot_name IS NOT NULL AS exists, s.wal_status, s.safe_wal_size::int8 AS safe_wal_size,
       s.confirmed_flush_lsn::text AS confirmed_lsn,
       coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn), 0)::int8 AS lag_bytes,
       r.pid IS NOT NULL AS walsender, extract(epoch FROM r.replay_lag)::float8 AS replay_lag
  FROM (SELECT 1) one
  LEFT JOIN pg_replication_slots s ON s.slot_name = $1
  LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid`;

/**
 * Reads the slot's health. A slot within `warnBytes` (default 1 GiB) of invalidation by
 * `max_slot_wal_keep_size` is a warning; `unreserved` or `lost` is a problem, as is a slot no walsender
 * reads.
 */
export async function slotHealth(
  source: pg.Client,
  slot: string,
  options: { warnBytes?: number } = {},
): Promise<SlotHealth> {
  const r = (await source.query(SLOT_HEALTH_SQL, [slot])).rows[0] as {
    current_lsn: string;
    exists: boolean;
    wal_status: string | null;
    safe_wal_size: string | null;
    confirmed_lsn: string | null;
    lag_bytes: string;
    walsender: boolean;
    replay_lag: number | null;
  };
  const problems: string[] = [];
  const warnings: string[] = [];
  const safe = r.safe_wal_size === null ? null : Number(r.safe_wal_size);
  if (!r.exists) problems.push(`replication slot ${slot} does not exist on the source`);
  else {
    if (r.wal_status === 'lost')
      problems.push(
        `replication slot ${slot} is lost: the WAL it needs was removed (max_slot_wal_keep_size); replication cannot continue`,
      );
    else if (r.wal_status === 'unreserved')
      problems.push(`replication slot ${slot} is unreserved: the WAL it needs is about to be removed`);
    if (!r.walsender)
      problems.push(
        `no walsender reads replication slot ${slot}: the subscriber or DMS task is not connected`,
      );
    if (safe !== null && safe < (options.warnBytes ?? 1024 ** 3))
      warnings.push(
        `replication slot ${slot} is ${safe} bytes of WAL from invalidation (max_slot_wal_keep_size)`,
      );
  }
  return {
    slot,
    exists: r.exists,
    walsenderConnected: r.walsender,
    walStatus: r.wal_status,
    safeWalSizeBytes: safe,
    currentLsn: r.current_lsn,
    confirmedLsn: r.confirmed_lsn,
    lagBytes: Math.max(0, Number(r.lag_bytes)),
    lagSeconds: r.walsender ? (r.replay_lag ?? 0) : null,
    problems,
    warnings,
  };
}
