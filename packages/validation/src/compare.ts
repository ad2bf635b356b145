import { displayName, isSelected, type SelectionRule, type TableName } from '@dmskit/shared';
import pg from 'pg';
import { listTables, type TableInfo, tableKey } from './catalog.js';
import { type TableChecksum, tableChecksum } from './checksum.js';
import { type ConnectionInput, closeQuietly, openConnection } from './connection.js';

/** How one table compared. Only `equal` counts as equal. */
export type TableStatus =
  | 'equal'
  | 'different'
  | 'missing-on-target'
  | 'missing-on-source'
  | 'skipped'
  | 'error';

export interface TableComparison {
  readonly table: TableName;
  readonly status: TableStatus;
  readonly source?: TableChecksum;
  readonly target?: TableChecksum;
  /** Why the table is not equal, skipped or failed: one sentence each. */
  readonly reasons: readonly string[];
}

/** equal: every table in scope compared equal; different: at least one differs; incomplete: none differ but some could not be compared. */
export type Verdict = 'equal' | 'different' | 'incomplete';

export interface ComparisonResult {
  readonly verdict: Verdict;
  readonly tables: readonly TableComparison[];
  readonly counts: Readonly<Record<TableStatus, number>>;
  /** Wall time of the whole comparison, in ms. */
  readonly durationMs: number;
}

export interface CompareOptions {
  readonly source: ConnectionInput;
  readonly target: ConnectionInput;
  /** Selection rules that scope the comparison (the migration task's). @default every user table */
  readonly selection?: readonly SelectionRule[];
  /** Tables to report as skipped (never as equal), e.g. excluded by the operator. */
  readonly skip?: readonly TableName[];
  /** Connections per side that checksum tables at the same time. @default 2 */
  readonly concurrency?: number;
  /** Called when a table is done, for progress displays. */
  readonly onTable?: (result: TableComparison, done: number, total: number) => void;
}

const ALL: readonly SelectionRule[] = [{ action: 'include', schema: '%', table: '%' }];

/**
 * Opens `n` connections that all read one snapshot: the first exports it inside a REPEATABLE READ
 * transaction, the others import it (PostgreSQL: "Snapshot Synchronization Functions").
 */
async function openSnapshotSessions(input: ConnectionInput, role: string, n: number): Promise<pg.Client[]> {
  const clients: pg.Client[] = [];
  try {
    const first = await openConnection(input, role, {
      pinSettings: true,
      applicationName: 'dmskit-validate',
    });
    clients.push(first);
    await first.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const { rows } = await first.query('SELECT pg_export_snapshot() AS id');
    const snapshot = (rows[0] as { id: string }).id;
    for (let i = 1; i < n; i++) {
      const c = await openConnection(input, role, { pinSettings: true, applicationName: 'dmskit-validate' });
      clients.push(c);
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await c.query(`SET TRANSACTION SNAPSHOT ${pg.escapeLiteral(snapshot)}`);
    }
    return clients;
  } catch (error) {
    await Promise.all(clients.map(closeQuietly));
    throw error;
  }
}

function columnDifferences(source: TableInfo, target: TableInfo): string[] {
  const reasons: string[] = [];
  const targetCols = new Map(target.columns.map((c) => [c.name, c]));
  const sourceCols = new Map(source.columns.map((c) => [c.name, c]));
  for (const c of source.columns) {
    const t = targetCols.get(c.name);
    if (!t) reasons.push(`column ${c.name} is missing on the target`);
    else if (t.type !== c.type)
      reasons.push(`column ${c.name} is ${c.type} on the source but ${t.type} on the target`);
  }
  for (const c of target.columns) {
    if (!sourceCols.has(c.name)) reasons.push(`column ${c.name} exists only on the target`);
  }
  return reasons;
}

/**
 * Compares two databases table by table: the set of tables in scope, then per table the row count and a
 * checksum computed inside each database (no row is pulled into Node). Both sides read one consistent
 * snapshot each. Columns are matched by name, so a different column order on the target is still equal.
 * A table missing on a side, skipped, or failing is reported as such and never counted as equal.
 * @throws ExternalError when either server cannot be reached
 */
export async function compareDatabases(options: CompareOptions): Promise<ComparisonResult> {
  const started = performance.now();
  const selection = options.selection ?? ALL;
  const concurrency = Math.max(1, options.concurrency ?? 2);
  const opened = await Promise.allSettled([
    openSnapshotSessions(options.source, 'source', concurrency),
    openSnapshotSessions(options.target, 'target', concurrency),
  ]);
  const failed = opened.find((o) => o.status === 'rejected');
  if (failed) {
    await Promise.all(opened.flatMap((o) => (o.status === 'fulfilled' ? o.value.map(closeQuietly) : [])));
    throw failed.reason;
  }
  const [sourceSessions, targetSessions] = opened.map(
    (o) => (o as PromiseFulfilledResult<pg.Client[]>).value,
  ) as [pg.Client[], pg.Client[]];
  try {
    const [sourceTables, targetTables] = await Promise.all([
      listTables(sourceSessions[0]!),
      listTables(targetSessions[0]!),
    ]);
    const skip = new Set((options.skip ?? []).map(tableKey));
    const inScope = (t: TableInfo) => isSelected(t, selection);
    const sourceMap = new Map(sourceTables.filter(inScope).map((t) => [tableKey(t), t]));
    const targetMap = new Map(targetTables.filter(inScope).map((t) => [tableKey(t), t]));
    const keys = [...new Set([...sourceMap.keys(), ...targetMap.keys()])].sort();

    const results = new Map<string, TableComparison>();
    const work: { key: string; source: TableInfo; target: TableInfo }[] = [];
    for (const key of keys) {
      const s = sourceMap.get(key);
      const t = targetMap.get(key);
      const table: TableName = { schema: (s ?? t)!.schema, table: (s ?? t)!.table };
      if (skip.has(key)) results.set(key, { table, status: 'skipped', reasons: ['skipped by request'] });
      else if (!t)
        results.set(key, {
          table,
          status: 'missing-on-target',
          reasons: [`${displayName(table)} does not exist on the target`],
        });
      else if (!s)
        results.set(key, {
          table,
          status: 'missing-on-source',
          reasons: [`${displayName(table)} exists only on the target`],
        });
      else work.push({ key, source: s, target: t });
    }
    let done = results.size;
    const total = keys.length;
    for (const r of results.values()) options.onTable?.(r, done, total);

    const queue = [...work];
    const worker = async (sourceClient: pg.Client, targetClient: pg.Client) => {
      for (let item = queue.shift(); item; item = queue.shift()) {
        const table: TableName = { schema: item.source.schema, table: item.source.table };
        const reasons = columnDifferences(item.source, item.target);
        const targetNames = new Set(item.target.columns.map((c) => c.name));
        const common = item.source.columns
          .map((c) => c.name)
          .filter((n) => targetNames.has(n))
          .sort();
        let result: TableComparison;
        try {
          const [s, t] = await Promise.all([
            tableChecksum(sourceClient, table, common),
            tableChecksum(targetClient, table, common),
          ]);
          if (s.rows !== t.rows)
            reasons.push(`row count differs: ${s.rows} on the source, ${t.rows} on the target`);
          else if (s.checksum !== t.checksum) reasons.push(`checksum differs over ${s.rows} rows`);
          result = { table, status: reasons.length ? 'different' : 'equal', source: s, target: t, reasons };
        } catch (error) {
          result = { table, status: 'error', reasons: [...reasons, (error as Error).message] };
        }
        results.set(item.key, result);
        done++;
        options.onTable?.(result, done, total);
      }
    };
    await Promise.all(sourceSessions.map((s, i) => worker(s, targetSessions[i]!)));

    const tables = keys.map((k) => results.get(k)!);
    const counts: Record<TableStatus, number> = {
      equal: 0,
      different: 0,
      'missing-on-target': 0,
      'missing-on-source': 0,
      skipped: 0,
      error: 0,
    };
    for (const t of tables) counts[t.status]++;
    const differs = counts.different + counts['missing-on-target'] + counts['missing-on-source'] > 0;
    const verdict: Verdict = differs
      ? 'different'
      : counts.equal === tables.length && tables.length > 0
        ? 'equal'
        : 'incomplete';
    return { verdict, tables, counts, durationMs: Math.round(performance.now() - started) };
  } finally {
    await Promise.all([...sourceSessions, ...targetSessions].map(closeQuietly));
  }
}
