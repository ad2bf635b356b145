import { displayName } from '@dmskit/shared';
import type pg from 'pg';
import type { ValidationRecord } from '../runbook/scope.js';
import type { TableStatistics } from '../ui/table-statistics.js';

/** Row changes counted on a table (`pg_stat_user_tables`: n_tup_ins, n_tup_upd, n_tup_del), rows. */
export interface ChangeCounters {
  readonly inserts: number;
  readonly updates: number;
  readonly deletes: number;
}

const COUNTERS_SQL = `
SELECT n.nspname AS schema, c.relname AS table, sr.srsubstate AS state,
       coalesce(st.n_tup_ins, 0)::int8 AS ins, coalesce(st.n_tup_upd, 0)::int8 AS upd,
       coalesce(st.n_tup_del, 0)::int8 AS del
  FROM pg_subscription s
  JOIN pg_subscription_rel sr ON sr.srsubid = s.oid
  JOIN pg_class c ON c.oid = sr.srrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_stat_user_tables st ON st.relid = c.oid
 WHERE s.subname = $1 AND n.nspname <> 'dmskit'`;

const TABLE_COUNTERS_SQL = `
SELECT schemaname AS schema, relname AS table,
       n_tup_ins::int8 AS ins, n_tup_upd::int8 AS upd, n_tup_del::int8 AS del
  FROM pg_stat_user_tables WHERE schemaname <> 'dmskit'`;

/**
 * The change counters of every user table on the target, by `schema.table` (displayName): taken by `start`
 * right before the subscription is made (the full load's rows are in, the target guard lets only the
 * apply write), so that `status` counts exactly the changes CDC applied since (PostgreSQL: "The
 * Cumulative Statistics System", pg_stat_all_tables). A table joined later has no baseline: its counts
 * include the rows its table synchronization copied.
 */
export async function targetChangeCounters(target: pg.Client): Promise<Record<string, ChangeCounters>> {
  const { rows } = await target.query(TABLE_COUNTERS_SQL);
  const out: Record<string, ChangeCounters> = {};
  for (const r of rows as { schema: string; table: string; ins: string; upd: string; del: string }[])
    out[displayName(r)] = { inserts: Number(r.ins), updates: Number(r.upd), deletes: Number(r.del) };
  return out;
}

/** DMS's table states for `pg_subscription_rel.srsubstate` (PostgreSQL: "pg_subscription_rel"). */
const STATE: Record<string, string> = {
  i: 'Before load',
  d: 'Full load',
  f: 'Full load',
  s: 'Full load',
  r: 'Table completed',
};

/** What {@link nativeTableStatistics} reads besides the target. */
export interface NativeStatisticsInputs {
  /** The subscription's name. */
  readonly subscription: string;
  /** Counters when CDC began (`start`'s record); zero for a table without one. */
  readonly baseline: Readonly<Record<string, ChangeCounters>>;
  /** Rows the full load copied, by `schema.table` (displayName). */
  readonly fullLoadRows: Readonly<Record<string, number>>;
  /** The last recorded validation (`validate --config`, the cutover), if any. */
  readonly validation?: ValidationRecord | undefined;
  /** When each table's counters were last seen to move (ISO), kept by the caller between refreshes. */
  readonly lastSeen: Map<string, { total: number; at: string | null }>;
}

const VALIDATION: Record<string, string> = {
  equal: 'Validated',
  different: 'Mismatched records',
  'missing-on-target': 'Mismatched records',
  'missing-on-source': 'Mismatched records',
};

/**
 * The native engine's per-table statistics in the DMS console's terms: state from the subscription,
 * full-load rows from the start's record, inserts/updates/deletes applied by CDC (the target's counters
 * less the baseline), the last time they were seen to move (the first sight of a table counts as unknown),
 * and the table's verdict in the last validation.
 */
export async function nativeTableStatistics(
  target: pg.Client,
  inputs: NativeStatisticsInputs,
  now = new Date(),
): Promise<TableStatistics[]> {
  const { rows } = await target.query(COUNTERS_SQL, [inputs.subscription]);
  const verdicts = new Map((inputs.validation?.tables ?? []).map((t) => [displayName(t), t.status]));
  type Row = { schema: string; table: string; state: string; ins: string; upd: string; del: string };
  return (rows as Row[]).map((row) => {
    const r = { ...row, name: displayName(row) };
    const base = inputs.baseline[r.name] ?? { inserts: 0, updates: 0, deletes: 0 };
    const inserts = Math.max(0, Number(r.ins) - base.inserts);
    const updates = Math.max(0, Number(r.upd) - base.updates);
    const deletes = Math.max(0, Number(r.del) - base.deletes);
    const total = inserts + updates + deletes;
    const seen = inputs.lastSeen.get(r.name);
    const at = seen === undefined ? null : seen.total !== total ? now.toISOString() : seen.at;
    inputs.lastSeen.set(r.name, { total, at });
    const verdict = verdicts.get(r.name);
    return {
      table: r.name,
      state: STATE[r.state] ?? r.state,
      fullLoadRows: inputs.fullLoadRows[r.name] ?? 0,
      inserts,
      updates,
      deletes,
      lastApply: at,
      validation: verdict === undefined ? 'Not validated' : (VALIDATION[verdict] ?? verdict),
    };
  });
}
