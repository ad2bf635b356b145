import { type ConnectionInput, closeQuietly, openConnection } from '@dmskit/validation';
import pg from 'pg';
import { faultPoint } from '../runbook/faults.js';

/**
 * A primary key or unique constraint built in two steps: `CREATE UNIQUE INDEX`, then `ALTER TABLE ... ADD
 * CONSTRAINT ... USING INDEX` (PostgreSQL: "ALTER TABLE", `table_constraint_using_index`). `ADD CONSTRAINT
 * ... PRIMARY KEY (cols)` holds an ACCESS EXCLUSIVE lock on the table while it builds the index, so no
 * other index of the table can be built meanwhile; `CREATE INDEX` holds a SHARE lock, which its siblings
 * share ("Explicit Locking", table-level locks), and the constraint then only adopts the finished index.
 * The end state is the same as pg_dump's `ADD CONSTRAINT`: the constraint, its index of the same name.
 */
export interface KeyIndex {
  readonly schema: string;
  readonly table: string;
  /** The constraint's name, which its index shares. */
  readonly constraint: string;
  readonly kind: 'PRIMARY KEY' | 'UNIQUE';
  /** `pg_get_indexdef` of the constraint's index, every name schema-qualified. */
  readonly indexDef: string;
}

/** The key a {@link KeyIndex} has in the map {@link keyIndexes} returns: the TOC body's `CONSTRAINT` words. */
export function keyIndexKey(k: { schema: string; table: string; constraint: string }): string {
  return `CONSTRAINT ${k.schema} ${k.table} ${k.constraint}`;
}

/**
 * The source's primary key and unique constraints that can be built through {@link buildKeyIndex}: on
 * ordinary tables (partitions included), not deferrable (a deferrable constraint's index differs from a
 * plain unique index: `indimmediate`), keyed by {@link keyIndexKey}. Others (exclusion constraints,
 * deferrable ones, those of partitioned parents) are left to pg_restore's `ADD CONSTRAINT`.
 */
export async function keyIndexes(source: pg.Client): Promise<Map<string, KeyIndex>> {
  // With an empty search_path, pg_get_indexdef qualifies every name ("System Catalog Information Functions").
  const results =
    (await source.query(`SET LOCAL search_path = ''; SELECT n.nspname AS schema, c.relname AS table, con.conname AS constraint,
            CASE con.contype WHEN 'p' THEN 'PRIMARY KEY' ELSE 'UNIQUE' END AS kind,
            pg_catalog.pg_get_indexdef(con.conindid) AS "indexDef"
       FROM pg_catalog.pg_constraint con JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_catalog.pg_class i ON i.oid = con.conindid
      WHERE con.contype IN ('p', 'u') AND NOT con.condeferrable AND c.relkind = 'r' AND i.relname = con.conname`)) as unknown as pg.QueryResult[];
  const rows = (results.at(-1)?.rows ?? []) as KeyIndex[];
  return new Map(rows.map((k) => [keyIndexKey(k), k]));
}

/**
 * Makes sure the target has the constraint `key` with its index: nothing to do when it has; adopts a
 * unique index of that name left without its constraint (a build stopped between its two steps); else
 * builds the index, then adds the constraint on it. `maintenanceWorkMemMb` (MiB) and
 * `parallelWorkers` (`max_parallel_maintenance_workers`) are set for the session; the server stops the
 * build within a second of the session's end (`client_connection_check_interval`, PostgreSQL 14 and
 * later), so an aborted build does not run on.
 * @throws the server's error when a step fails (an index it built and could not adopt is dropped)
 */
export async function buildKeyIndex(
  target: ConnectionInput,
  key: KeyIndex,
  options: {
    maintenanceWorkMemMb: number;
    parallelWorkers?: number;
    signal?: AbortSignal;
    /** false: build the index only ('indexed'); {@link attachKeyIndex} adds the constraint. @default true */
    attach?: boolean;
  },
): Promise<'built' | 'indexed' | 'adopted' | 'present'> {
  options.signal?.throwIfAborted();
  const session = await openConnection(target, 'target', { applicationName: 'dmskit-index-build' });
  const onAbort = () => void closeQuietly(session);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await session.query(
      `SET maintenance_work_mem = '${Math.max(1, Math.round(options.maintenanceWorkMemMb))}MB'`,
    );
    if (options.parallelWorkers !== undefined)
      await session.query(
        `SET max_parallel_maintenance_workers = ${Math.max(0, Math.floor(options.parallelWorkers))}`,
      );
    await session.query("SET client_connection_check_interval = '1s'").catch(() => undefined);
    const state = await keyState(session, key);
    if (state === 'constraint') return 'present';
    if (state === 'index') {
      if (options.attach === false) return 'indexed';
      await addConstraint(session, key);
      return 'adopted';
    }
    options.signal?.throwIfAborted();
    await session.query(key.indexDef);
    if (options.attach === false) return 'indexed';
    await faultPoint('index-build:constraint', options.signal);
    await addConstraintOrDropIndex(session, key);
    return 'built';
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await closeQuietly(session);
  }
}

/**
 * The second step of {@link buildKeyIndex} on its own: adds the constraint on the unique index of its
 * name (ACCESS EXCLUSIVE on the table for a moment: the caller runs it when no other build holds a lock
 * on the table). Nothing to do when the constraint is there.
 * @throws Error when the index is missing; the server's error when the constraint cannot be added (the
 *   index is then dropped, for the post-data restore to build the key again)
 */
export async function attachKeyIndex(
  target: ConnectionInput,
  key: KeyIndex,
  options: { signal?: AbortSignal } = {},
): Promise<'attached' | 'present'> {
  options.signal?.throwIfAborted();
  const session = await openConnection(target, 'target', { applicationName: 'dmskit-index-build' });
  try {
    await faultPoint('index-build:constraint', options.signal);
    const state = await keyState(session, key);
    if (state === 'constraint') return 'present';
    if (state === 'none')
      throw new Error(`the index of ${key.schema}.${key.table}.${key.constraint} is missing`);
    await addConstraintOrDropIndex(session, key);
    return 'attached';
  } finally {
    await closeQuietly(session);
  }
}

/**
 * Adds the constraints whose unique index a stopped start left without them (see {@link buildKeyIndex}),
 * so that the post-data restore that follows does not fail on an index of the constraint's name.
 * @returns the constraints adopted, as `schema.table.constraint`
 */
export async function adoptKeyIndexes(target: pg.Client, keys: Iterable<KeyIndex>): Promise<string[]> {
  const { rows } = await target.query(ORPHAN_INDEXES_SQL);
  const orphans = new Set((rows as { key: string }[]).map((r) => r.key));
  const adopted: string[] = [];
  for (const key of keys) {
    if (!orphans.has(keyIndexKey(key))) continue;
    await addConstraint(target, key);
    adopted.push(`${key.schema}.${key.table}.${key.constraint}`);
  }
  return adopted;
}

/** Valid unique indexes of ordinary tables that back no constraint, keyed as {@link keyIndexKey}. */
const ORPHAN_INDEXES_SQL = `SELECT 'CONSTRAINT ' || n.nspname || ' ' || t.relname || ' ' || i.relname AS key
       FROM pg_catalog.pg_class i JOIN pg_catalog.pg_namespace n ON n.oid = i.relnamespace
       JOIN pg_catalog.pg_index x ON x.indexrelid = i.oid JOIN pg_catalog.pg_class t ON t.oid = x.indrelid
      WHERE x.indisunique AND x.indisvalid AND t.relkind = 'r'
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint con WHERE con.conindid = i.oid)`;

/** Whether the target has the constraint, only a unique index of its name on its table, or neither. */
async function keyState(session: pg.Client, key: KeyIndex): Promise<'constraint' | 'index' | 'none'> {
  const { rows } = await session.query(
    `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint con WHERE con.conindid = i.oid) AS "hasConstraint"
       FROM pg_catalog.pg_class i JOIN pg_catalog.pg_namespace n ON n.oid = i.relnamespace
       JOIN pg_catalog.pg_index x ON x.indexrelid = i.oid JOIN pg_catalog.pg_class t ON t.oid = x.indrelid
      WHERE n.nspname = $1 AND i.relname = $2 AND t.relname = $3 AND x.indisunique AND x.indisvalid`,
    [key.schema, key.constraint, key.table],
  );
  const row = rows[0] as { hasConstraint: boolean } | undefined;
  return row === undefined ? 'none' : row.hasConstraint ? 'constraint' : 'index';
}

function addConstraint(session: pg.Client, key: KeyIndex): Promise<unknown> {
  const name = ident(key.constraint);
  return session.query(
    `ALTER TABLE ONLY ${ident(key.schema)}.${ident(key.table)} ADD CONSTRAINT ${name} ${key.kind} USING INDEX ${name}`,
  );
}

/** Adds the constraint on its index; when that fails, drops the index, for post-data to build the key again. */
async function addConstraintOrDropIndex(session: pg.Client, key: KeyIndex): Promise<void> {
  try {
    await addConstraint(session, key);
  } catch (error) {
    await session
      .query(`DROP INDEX IF EXISTS ${ident(key.schema)}.${ident(key.constraint)}`)
      .catch(() => undefined);
    throw error;
  }
}

const ident = (s: string) => pg.escapeIdentifier(s);
