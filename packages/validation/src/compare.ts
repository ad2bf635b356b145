import {
  displayName,
  isSelected,
  type NameMapping,
  nameMapping,
  type SelectionRule,
  type TableName,
  type TransformationRule,
} from '@dmskit/shared';
import pg from 'pg';
import { listTables, type TableInfo, tableKey } from './catalog.js';
import { type ConnectionInput, closeQuietly, openConnection } from './connection.js';
import {
  type ChecksumFold,
  type ChunkMethod,
  diffRanges,
  diffTableData,
  type RowDifference,
  rangeAggregates,
  type TableDataDiff,
  type TableSpec,
} from './datadiff.js';
import { rowFilterSql } from './filters.js';
import { chooseHashMode, type HashMode } from './hashing.js';
import type { KeyColumn, KeyRange } from './keys.js';
import { diffSchemas, readSchema, type SchemaDifference } from './schema.js';

/** The selection rules with their filters' columns named as on the target (for the target's row filter). */
function renameFilterColumns(
  rules: readonly SelectionRule[],
  table: TableName,
  mapping: NameMapping,
): SelectionRule[] {
  return rules.map((r) =>
    r.filters
      ? {
          ...r,
          filters: r.filters.map((f) => ({ ...f, column: mapping.column(table, f.column) ?? f.column })),
        }
      : r,
  );
}

/**
 * How one table compared. Only `equal` counts as equal. `skipped`: by request, or because it could not
 * be compared (the reason has the server's error); the verdict is then `incomplete` at best.
 */
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
  readonly source?: { readonly rows: number; readonly checksum: string };
  readonly target?: { readonly rows: number; readonly checksum: string };
  /** Why the table is not equal, skipped or failed: one sentence each. */
  readonly reasons: readonly string[];
  /** Whether rows can be named (the table has a primary key, or a unique index on NOT NULL columns). */
  readonly keyed?: boolean;
  /** The key rows are named by: the primary key, else a unique index whose columns are all NOT NULL. */
  readonly key?: { readonly columns: readonly string[]; readonly from: 'primary-key' | 'unique-index' };
  readonly chunks?: number;
  /** How the table was cut into chunks: key ranges, key hashes, one chunk, or a multiset checksum. */
  readonly method?: ChunkMethod;
  /** Differing rows named by key, at most `maxDifferences` of them. */
  readonly differences?: readonly RowDifference[];
  /** Differing rows in all. */
  readonly differenceCount?: number;
  /** Re-checks done after the replication delay before the difference was reported. */
  readonly rechecks?: number;
}

/** equal: everything in scope compared equal; different: something differs; incomplete: nothing differs but not everything was compared. */
export type Verdict = 'equal' | 'different' | 'incomplete';

export interface ComparisonResult {
  readonly verdict: Verdict;
  readonly tables: readonly TableComparison[];
  readonly counts: Readonly<Record<TableStatus, number>>;
  /** Schema differences; null when the schema diff was not asked for. */
  readonly schema: readonly SchemaDifference[] | null;
  readonly hashMode: HashMode;
  /** How chunk checksums were folded: `xor` (PostgreSQL 14+ on both sides) or `sum`. */
  readonly checksumFold: ChecksumFold;
  readonly hashModeReason: string;
  /** Wall time of the whole comparison, in ms. */
  readonly durationMs: number;
  /** Bytes received from each server (query results), measured at the sockets. */
  readonly bytesReceived: { readonly source: number; readonly target: number };
  /** What the comparison could not do or did differently, one sentence each. */
  readonly notes: readonly string[];
}

export interface CompareOptions {
  readonly source: ConnectionInput;
  readonly target: ConnectionInput;
  /** Selection rules (and their row filters) that scope the comparison. @default every user table */
  readonly selection?: readonly SelectionRule[];
  /** Tables to report as skipped (never as equal). */
  readonly skip?: readonly TableName[];
  /** Connections per side. @default 2 */
  readonly concurrency?: number;
  /** Compare the schema too. @default true */
  readonly schema?: boolean;
  /** `auto` runs the hash self-check. @default 'auto' */
  readonly hashMode?: 'auto' | HashMode;
  /** `auto`: `xor` when both servers have `bit_xor` (PostgreSQL 14+), else `sum`. @default 'auto' */
  readonly checksumFold?: 'auto' | ChecksumFold;
  /** Rows per first-level chunk. @default 2_000 */
  readonly chunkRows?: number;
  /** Ranges up to this many rows are compared row by row. @default 2_000 */
  readonly leafRows?: number;
  /** Differing rows described per table. @default 1_000 */
  readonly maxDifferences?: number;
  /** First-level scans of tables of at least this many rows are compiled with JIT (datadiff.ts). @default 3_000_000 */
  readonly jitMinRows?: number;
  /**
   * While CDC runs: differing ranges are checked again after `delayMs` (the replication lag), up to
   * `attempts` times, before a difference is reported. @default no re-check
   */
  readonly recheck?: {
    readonly delayMs: number;
    readonly attempts: number;
    /**
     * For a last, exact re-check of a table still differing after `attempts`: holds the source table
     * still (no write can commit on it) until the target has applied every earlier write, and returns how
     * to let it go. Its ranges are then read in new snapshots of both sides, so a difference is no longer
     * lag. @default none: the differences after `attempts` are reported
     */
    readonly settle?: (table: TableName) => Promise<() => Promise<void>>;
  };
  /**
   * A snapshot exported on the target (`pg_export_snapshot()`) by a transaction that stays open until the
   * comparison ends: the target is read as it was then (the cutover's ready moment), whatever the
   * application writes after it. @default a snapshot of its own
   */
  readonly targetSnapshot?: string;
  /** The same for the source (the cutover's ready moment, before the fall-back path writes into it). */
  readonly sourceSnapshot?: string;
  /**
   * How long a read may wait for a lock (a session holding a table in ACCESS EXCLUSIVE mode), in ms; the
   * table is then skipped with the server's error. @default no limit
   */
  readonly lockTimeoutMs?: number;
  /** Called when a table is done, for progress displays. */
  readonly onTable?: (result: TableComparison, done: number, total: number) => void;
  /**
   * The DMS task's transformation rules: each source table is compared with the table DMS wrote on the
   * target (renamed schemas, tables and columns; removed columns left out of the comparison; added
   * columns ignored). @default none: the target's names are the source's
   */
  readonly transformations?: readonly TransformationRule[];
}

const ALL: readonly SelectionRule[] = [{ action: 'include', schema: '%', table: '%' }];
/** DMS control tables on a target (awsdms_apply_exceptions, ...): not migrated data. */
const DMS_CONTROL_TABLE = /^awsdms_/;

function socketBytes(client: pg.Client): number {
  return ((client as unknown as { connection?: { stream?: { bytesRead?: number } } }).connection?.stream
    ?.bytesRead ?? 0) as number;
}

/** Whether both servers have the `bit_xor` aggregate (PostgreSQL 14: "Aggregate Functions"). */
async function bothHaveBitXor(source: pg.Client, target: pg.Client): Promise<boolean> {
  const sql = "SELECT current_setting('server_version_num')::int >= 140000 AS ok";
  const [a, b] = await Promise.all([source.query(sql), target.query(sql)]);
  return (a.rows[0] as { ok: boolean }).ok && (b.rows[0] as { ok: boolean }).ok;
}

/**
 * Planner settings of validation sessions. The planner cannot estimate how many chunks a bucket
 * expression yields, assumes one per row, and groups by sorting (spilling gigabytes at 10M rows);
 * without sorts it hashes the few thousand chunks in memory. Queries that need an order still get one
 * (through an index, or a sort when nothing else can give it) (PostgreSQL: "Planner Method Configuration").
 * JIT off (PostgreSQL 11+): a server built with LLVM (Debian's, Aurora's) compiles every chunk query's
 * long hash expression, which cost 3-4x the whole comparison of a 1M-row table in bench:validate
 * (PostgreSQL: "JIT Compilation", "When to JIT?"). Only the first-level scan of a large table turns it
 * on, for itself (`jitMinRows`, datadiff.ts).
 */
export const PLANNER_SETTINGS =
  "SET enable_sort = off; SELECT set_config('jit', 'off', false) WHERE current_setting('server_version_num')::int >= 110000";

/**
 * Opens `n` connections that all read one snapshot: the first exports it inside a REPEATABLE READ
 * transaction, the others import it (PostgreSQL: "Snapshot Synchronization Functions"). With `imported`,
 * every connection imports that snapshot instead (its exporting transaction must stay open meanwhile).
 * The connections are opened at once (a login with SCRAM costs a few ms of CPU on each side); the
 * others import the snapshot once the first has exported it.
 * @throws ExternalError when a connection cannot be opened; every connection opened is closed then
 */
export async function openSnapshotSessions(
  input: ConnectionInput,
  role: string,
  n: number,
  imported?: string,
  /** Each read waits at most this long for a lock (`lock_timeout`); the table is then skipped. */
  lockTimeoutMs?: number,
): Promise<pg.Client[]> {
  const opened = await Promise.allSettled(
    Array.from({ length: n }, () =>
      openConnection(input, role, { pinSettings: true, applicationName: 'dmskit-validate' }),
    ),
  );
  const clients = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
  try {
    const failed = opened.find((o) => o.status === 'rejected');
    if (failed) throw failed.reason;
    const begin = async (c: pg.Client, snapshot: string | undefined) => {
      await c.query(PLANNER_SETTINGS);
      if (lockTimeoutMs !== undefined) await c.query(`SET lock_timeout = ${Math.round(lockTimeoutMs)}`);
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      if (snapshot) await c.query(`SET TRANSACTION SNAPSHOT ${pg.escapeLiteral(snapshot)}`);
    };
    const [first, ...rest] = clients;
    await begin(first!, imported);
    const snapshot =
      imported ?? ((await first!.query('SELECT pg_export_snapshot() AS id')).rows[0] as { id: string }).id;
    await Promise.all(rest.map((c) => begin(c, snapshot)));
    return clients;
  } catch (error) {
    await Promise.all(clients.map(closeQuietly));
    throw error;
  }
}

async function openBoth(options: CompareOptions, n: number): Promise<[pg.Client[], pg.Client[]]> {
  const opened = await Promise.allSettled([
    openSnapshotSessions(options.source, 'source', n, options.sourceSnapshot, options.lockTimeoutMs),
    openSnapshotSessions(options.target, 'target', n, options.targetSnapshot, options.lockTimeoutMs),
  ]);
  const failed = opened.find((o) => o.status === 'rejected');
  if (failed) {
    await Promise.all(opened.flatMap((o) => (o.status === 'fulfilled' ? o.value.map(closeQuietly) : [])));
    throw failed.reason;
  }
  return opened.map((o) => (o as PromiseFulfilledResult<pg.Client[]>).value) as [pg.Client[], pg.Client[]];
}

function columnReasons(source: TableInfo, target: TableInfo): string[] {
  const reasons: string[] = [];
  const targetCols = new Map(target.columns.map((c) => [c.name, c]));
  const sourceCols = new Set(source.columns.map((c) => c.name));
  for (const c of source.columns) {
    const t = targetCols.get(c.name);
    if (!t) reasons.push(`column ${c.name} is missing on the target`);
    else if (t.type !== c.type)
      reasons.push(`column ${c.name} is ${c.type} on the source but ${t.type} on the target`);
  }
  for (const c of target.columns)
    if (!sourceCols.has(c.name)) reasons.push(`column ${c.name} exists only on the target`);
  return reasons;
}

/** The key columns with their types and whether they are text-like (compared under `COLLATE "C"`). */
async function collatable(client: pg.Client, t: TableInfo, key: readonly string[]): Promise<KeyColumn[]> {
  const { rows } = await client.query(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attcollation <> 0 AS collatable
       FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attname = ANY($2)`,
    [`${pg.escapeIdentifier(t.schema)}.${pg.escapeIdentifier(t.table)}`, key],
  );
  const byName = new Map(rows.map((r: KeyColumn) => [r.name, r]));
  return key.map((k) => byName.get(k)!);
}

/** An error as one line: the server's message and SQLSTATE, or the message. */
function sqlError(error: unknown): string {
  const e = error as { message?: string; code?: string; severity?: string };
  return e?.severity && e.code ? `${e.message} (SQLSTATE ${e.code})` : (e?.message ?? String(error));
}

function describeData(d: TableDataDiff): string[] {
  if (d.sourceRows === d.targetRows && d.sourceChecksum === d.targetChecksum) return [];
  const reasons: string[] = [];
  if (d.sourceRows !== d.targetRows)
    reasons.push(`row count differs: ${d.sourceRows} on the source, ${d.targetRows} on the target`);
  if (!d.keyed) {
    reasons.push('rows differ; they cannot be named: the table has no primary key (compared as a multiset)');
    return reasons;
  }
  const kinds = { 'missing-on-target': 0, 'extra-on-target': 0, different: 0 };
  for (const x of d.differences) kinds[x.kind]++;
  reasons.push(
    `${d.differenceCount} row(s) differ: ${kinds['missing-on-target']} missing on the target, ${kinds['extra-on-target']} extra on the target, ${kinds.different} changed${d.differenceCount > d.differences.length ? ` (first ${d.differences.length} named)` : ''}`,
  );
  return reasons;
}

/**
 * Compares two databases: the schema (objects by definition) and, per table, the data by key ranges,
 * naming every differing row (missing on the target, extra on the target, or changed, with the columns
 * that changed). Each side reads one snapshot shared by its connections; row text is built from the
 * columns both sides have, by name, with pinned output settings; each chunk is summed up by 128 bits
 * (a 64-bit row digest folded twice, the second time remixed). A table missing
 * on a side, skipped, or failing is never counted as equal.
 * @throws ExternalError when either server cannot be reached
 */
export async function compareDatabases(options: CompareOptions): Promise<ComparisonResult> {
  const started = performance.now();
  const selection = options.selection ?? ALL;
  const concurrency = Math.max(1, options.concurrency ?? 2);
  let [sourceSessions, targetSessions] = await openBoth(options, concurrency);
  let bytes = { source: 0, target: 0 };
  const collect = () => {
    bytes = {
      source: bytes.source + sourceSessions.reduce((s, c) => s + socketBytes(c), 0),
      target: bytes.target + targetSessions.reduce((s, c) => s + socketBytes(c), 0),
    };
  };
  try {
    const checks = async () => {
      const hash =
        options.hashMode && options.hashMode !== 'auto'
          ? { mode: options.hashMode, reason: `${options.hashMode} chosen by the caller` }
          : await chooseHashMode(sourceSessions[0]!, targetSessions[0]!);
      const fold: ChecksumFold =
        options.checksumFold && options.checksumFold !== 'auto'
          ? options.checksumFold
          : (await bothHaveBitXor(sourceSessions[0]!, targetSessions[0]!))
            ? 'xor'
            : 'sum';
      return { hash, fold };
    };
    const catalogs = () =>
      Promise.all([listTables(sourceSessions.at(-1)!), listTables(targetSessions.at(-1)!)]);
    // The self-check on the first sessions and the catalogs on the last ones, at once when they differ
    // (a client runs one query at a time).
    const [{ hash, fold }, [sourceTables, targetTables]] =
      concurrency > 1 ? await Promise.all([checks(), catalogs()]) : [await checks(), await catalogs()];
    const skip = new Set((options.skip ?? []).map(tableKey));
    const inScope = (t: TableInfo) => isSelected(t, selection) && !DMS_CONTROL_TABLE.test(t.table);
    const mapping = nameMapping(options.transformations ?? []);
    const notes: string[] = [];
    const sourceMap = new Map(sourceTables.filter(inScope).map((t) => [tableKey(t), t]));
    // Each target table keyed by the source table DMS wrote it from (by name when no rule renames).
    const targetByName = new Map(targetTables.map((t) => [tableKey(t), t]));
    const targetMap = new Map<string, TableInfo>();
    const imaged = new Set<string>();
    for (const [key, src] of sourceMap) {
      const to = mapping.table(src);
      const t = targetByName.get(tableKey(to));
      if (t) {
        targetMap.set(key, t);
        imaged.add(tableKey(to));
      }
    }
    for (const t of targetTables.filter(inScope))
      if (!imaged.has(tableKey(t)) && !sourceMap.has(tableKey(t)) && !targetMap.has(tableKey(t)))
        targetMap.set(tableKey(t), t);
    const keys = [...new Set([...sourceMap.keys(), ...targetMap.keys()])].sort();

    let schema: SchemaDifference[] | null = null;
    if (mapping.changesNames && (options.schema ?? true))
      notes.push(
        "schema not compared: the transformation rules rename objects, so the target's schema is DMS's, not a copy of the source's",
      );
    if ((options.schema ?? true) && !mapping.changesNames) {
      const scope = { tables: [...sourceMap.values()] };
      const [s, t] = await Promise.all([
        readSchema(sourceSessions[0]!, scope),
        readSchema(targetSessions[0]!, { tables: [...targetMap.values()] }),
      ]);
      schema = diffSchemas(s, t);
    }

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

    const specs = new Map<string, TableSpec>();
    const pending: { key: string; spec: TableSpec; targetSpec: TableSpec; ranges: KeyRange[] }[] = [];
    // Tables without a key differ as a whole (a multiset): only the exact re-check can look again.
    const unkeyed: { key: string; spec: TableSpec; targetSpec: TableSpec }[] = [];
    const queue = [...work].sort((a, b) => b.source.estimatedRows - a.source.estimatedRows);
    const diffOptions = {
      mode: hash.mode,
      fold,
      ...(options.chunkRows ? { chunkRows: options.chunkRows } : {}),
      ...(options.leafRows ? { leafRows: options.leafRows } : {}),
      ...(options.maxDifferences ? { maxDifferences: options.maxDifferences } : {}),
      ...(options.jitMinRows !== undefined ? { jitMinRows: options.jitMinRows } : {}),
    };
    const worker = async (sc: pg.Client, tc: pg.Client) => {
      for (let item = queue.shift(); item; item = queue.shift()) {
        const table: TableName = { schema: item.source.schema, table: item.source.table };
        // In source terms: the source's columns DMS migrates, the target's columns named by the source
        // column each came from (columns DMS added are not compared).
        const targetName = (c: string) => mapping.column(table, c);
        const sourceView: TableInfo = {
          ...item.source,
          columns: item.source.columns.filter((c) => targetName(c.name) !== undefined),
        };
        const byTargetName = new Map(item.target.columns.map((c) => [c.name, c]));
        const imagedColumns = new Set(sourceView.columns.map((c) => targetName(c.name)!));
        const targetView: TableInfo = {
          ...item.target,
          columns: [
            ...sourceView.columns.flatMap((c) => {
              const t = byTargetName.get(targetName(c.name)!);
              return t ? [{ ...t, name: c.name }] : [];
            }),
            ...(mapping.changesNames ? [] : item.target.columns.filter((c) => !imagedColumns.has(c.name))),
          ],
        };
        const reasons = columnReasons(sourceView, targetView);
        const targetTypes = new Map(targetView.columns.map((c) => [c.name, c.type]));
        const targetNotNull = new Set(targetView.columns.filter((c) => c.notNull).map((c) => c.name));
        let result: TableComparison;
        // Each table in a subtransaction of the snapshot's transaction: an error (a type without a
        // function the comparison needs, a cancelled query) aborts this table alone.
        await Promise.all([sc.query('SAVEPOINT dmskit_table'), tc.query('SAVEPOINT dmskit_table')]);
        try {
          const keyColumns = item.source.primaryKey.length ? item.source.primaryKey : item.source.uniqueKey;
          const spec: TableSpec = {
            ...table,
            keys: keyColumns.length ? await collatable(sc, item.source, keyColumns) : [],
            // A column typed differently on the two sides is hashed by its text (the schema diff reports the type).
            columns: sourceView.columns
              .filter((c) => targetTypes.has(c.name))
              .map((c) => ({
                name: c.name,
                type: targetTypes.get(c.name) === c.type ? c.type : '',
                notNull: c.notNull && targetNotNull.has(c.name),
              }))
              .sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0)),
            filter: rowFilterSql(table, selection),
            // Never analyzed: guess from the size (about 100 bytes a row); the chunk bounds come from a sample anyway.
            estimatedRows:
              item.source.estimatedRows >= 0 ? item.source.estimatedRows : Math.ceil(item.source.bytes / 100),
          };
          specs.set(item.key, spec);
          // The same table in the target's names, columns in the same order.
          const targetSpec: TableSpec = {
            ...spec,
            schema: item.target.schema,
            table: item.target.table,
            keys: spec.keys.map((k) => ({ ...k, name: targetName(k.name) ?? k.name })),
            columns: spec.columns.map((c) => ({ ...c, name: targetName(c.name) ?? c.name })),
            filter: rowFilterSql(table, renameFilterColumns(selection, table, mapping)),
          };
          const d = await diffTableData(sc, tc, spec, diffOptions, targetSpec);
          reasons.push(...describeData(d));
          result = {
            table,
            status: reasons.length ? 'different' : 'equal',
            source: { rows: d.sourceRows, checksum: d.sourceChecksum },
            target: { rows: d.targetRows, checksum: d.targetChecksum },
            reasons,
            keyed: d.keyed,
            ...(spec.keys.length
              ? {
                  key: {
                    columns: spec.keys.map((k) => k.name),
                    from: item.source.primaryKey.length
                      ? ('primary-key' as const)
                      : ('unique-index' as const),
                  },
                }
              : {}),
            chunks: d.chunks,
            method: d.method,
            differences: d.differences,
            differenceCount: d.differenceCount,
          };
          await Promise.all([
            sc.query('RELEASE SAVEPOINT dmskit_table'),
            tc.query('RELEASE SAVEPOINT dmskit_table'),
          ]);
          if (d.mismatchedRanges.length && d.keyed && options.recheck)
            pending.push({ key: item.key, spec, targetSpec, ranges: [...d.mismatchedRanges] });
          else if (!d.keyed && describeData(d).length && options.recheck?.settle)
            unkeyed.push({ key: item.key, spec, targetSpec });
        } catch (error) {
          // Back to the savepoint on both sides (each waits for its query in flight). When that fails
          // too, the connection is gone: the comparison cannot go on, and says why.
          await Promise.all([
            sc.query('ROLLBACK TO SAVEPOINT dmskit_table'),
            tc.query('ROLLBACK TO SAVEPOINT dmskit_table'),
          ]).catch(() => {
            throw error;
          });
          result = {
            table,
            status: 'skipped',
            reasons: [...reasons, `cannot be compared: ${sqlError(error)}`],
          };
        }
        results.set(item.key, result);
        if (!pending.some((p) => p.key === item.key)) options.onTable?.(result, ++done, total);
      }
    };
    await Promise.all(sourceSessions.map((s, i) => worker(s, targetSessions[i]!)));

    // Looks again at a table's differing ranges in the sessions' snapshots; equal ranges are dropped, and a
    // table left with none is equal. `how` says, in the reason, under what the rows still differ.
    const recheckTable = async (p: (typeof pending)[number], rechecks: number, how: string) => {
      const sc = sourceSessions[0]!;
      const tc = targetSessions[0]!;
      const still: { range: KeyRange; sourceRows: number; targetRows: number }[] = [];
      for (const range of p.ranges) {
        const [a, b] = await Promise.all([
          rangeAggregates(sc, p.spec, diffOptions, range),
          rangeAggregates(tc, p.targetSpec, diffOptions, range),
        ]);
        if (a.n !== b.n || a.s0 !== b.s0 || a.s1 !== b.s1)
          still.push({ range, sourceRows: a.n, targetRows: b.n });
      }
      const prev = results.get(p.key)!;
      const columnProblems = prev.reasons.filter((r) => r.startsWith('column '));
      if (still.length === 0) {
        results.set(p.key, {
          ...prev,
          status: columnProblems.length ? 'different' : 'equal',
          reasons: columnProblems,
          differences: [],
          differenceCount: 0,
          rechecks,
        });
        pending.splice(pending.indexOf(p), 1);
        return;
      }
      const found = await diffRanges(sc, tc, p.spec, still, diffOptions, p.targetSpec);
      p.ranges = still.map((x) => x.range);
      const kinds = { 'missing-on-target': 0, 'extra-on-target': 0, different: 0 };
      for (const x of found.differences) kinds[x.kind]++;
      results.set(p.key, {
        ...prev,
        status: 'different',
        reasons: [
          ...columnProblems,
          `${found.count} row(s) differ ${how}: ${kinds['missing-on-target']} missing on the target, ${kinds['extra-on-target']} extra on the target, ${kinds.different} changed`,
        ],
        differences: found.differences,
        differenceCount: found.count,
        rechecks,
      });
    };
    const reopen = async () => {
      collect();
      await Promise.all([...sourceSessions, ...targetSessions].map(closeQuietly));
    };

    // While CDC runs, a difference may only be lag: look again at the differing ranges with new snapshots.
    let rechecks = 0;
    for (; pending.length && options.recheck && rechecks < options.recheck.attempts; ) {
      rechecks++;
      await reopen();
      await new Promise((r) => setTimeout(r, options.recheck!.delayMs));
      [sourceSessions, targetSessions] = await openBoth(options, 1);
      for (const p of [...pending]) await recheckTable(p, rechecks, `after ${rechecks} re-check(s)`);
    }
    // Still differing: once more, exactly, each table held still on the source while it is read.
    const settle = options.recheck?.settle;
    for (const p of settle ? [...pending] : []) {
      await reopen();
      const release = await settle!(results.get(p.key)!.table);
      try {
        [sourceSessions, targetSessions] = await openBoth(options, 1);
        await recheckTable(p, rechecks + 1, 'with the source table held still until the target caught up');
      } finally {
        await release();
      }
    }
    for (const u of settle ? unkeyed : []) {
      await reopen();
      const release = await settle!(results.get(u.key)!.table);
      try {
        [sourceSessions, targetSessions] = await openBoth(options, 1);
        const d = await diffTableData(
          sourceSessions[0]!,
          targetSessions[0]!,
          u.spec,
          diffOptions,
          u.targetSpec,
        );
        const prev = results.get(u.key)!;
        const columnProblems = prev.reasons.filter((r) => r.startsWith('column '));
        const data = describeData(d).map(
          (r) => `${r} (the source table held still until the target caught up)`,
        );
        results.set(u.key, {
          ...prev,
          status: columnProblems.length || data.length ? 'different' : 'equal',
          source: { rows: d.sourceRows, checksum: d.sourceChecksum },
          target: { rows: d.targetRows, checksum: d.targetChecksum },
          reasons: [...columnProblems, ...data],
          differences: d.differences,
          differenceCount: d.differenceCount,
          rechecks: 1,
        });
      } finally {
        await release();
      }
    }
    for (const p of pending) options.onTable?.(results.get(p.key)!, ++done, total);

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
    const schemaDiffers = (schema ?? []).some(
      (d) => !(d.kind === 'extension' && d.difference === 'extra-on-target'),
    );
    const differs =
      schemaDiffers || counts.different + counts['missing-on-target'] + counts['missing-on-source'] > 0;
    const verdict: Verdict = differs
      ? 'different'
      : counts.equal === tables.length && tables.length > 0
        ? 'equal'
        : 'incomplete';
    collect();
    return {
      verdict,
      tables,
      counts,
      schema,
      hashMode: hash.mode,
      hashModeReason: hash.reason,
      checksumFold: fold,
      durationMs: Math.round(performance.now() - started),
      notes,
      bytesReceived: bytes,
    };
  } finally {
    await Promise.all([...sourceSessions, ...targetSessions].map(closeQuietly));
  }
}
