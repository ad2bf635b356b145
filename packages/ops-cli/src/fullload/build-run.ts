import { type ConnectionInput, closeQuietly, openConnection } from '@dmskit/validation';
import type pg from 'pg';
import { faultPoint } from '../runbook/faults.js';
import { restoreTableIndexes, type SchemaDump } from '../schema/copy.js';
import { attachKeyIndex, buildKeyIndex } from '../schema/key-index.js';
import type { BuildStep, LoadForeignKey } from './build-units.js';
import type { BuildSlot, BuildUnit } from './indexes.js';

/**
 * Runs one build of the full load (fullload/build-units.ts) on the target: an index or constraint entry
 * through pg_restore, a key's index or its constraint, a foreign key added `NOT VALID` or validated.
 * `maintenance_work_mem` is the build's share of the budget (`slot.memoryMb`); `parallelWorkers` caps
 * `max_parallel_maintenance_workers` (b-tree builds only use them: PostgreSQL 15, "CREATE INDEX").
 * @throws the server's or pg_restore's error: a foreign key whose validation fails is dropped again, so
 *   that the post-data restore adds it and reports what breaks it
 */
export async function runBuild(
  unit: BuildUnit<BuildStep>,
  slot: BuildSlot,
  options: {
    dump: SchemaDump;
    targetUrl: string;
    parallelWorkers: number;
    /** Names the pg_restore list files apart. */
    name: string;
    signal: AbortSignal;
  },
): Promise<void> {
  const step = unit.payload;
  const settings = {
    maintenanceWorkMemMb: slot.memoryMb,
    parallelWorkers: options.parallelWorkers,
    signal: options.signal,
  };
  switch (step.kind) {
    case 'entry':
      await restoreTableIndexes(options.dump, options.targetUrl, [step.entry], {
        ...settings,
        name: options.name,
      });
      return;
    case 'key-index':
      await buildKeyIndex(options.targetUrl, step.key, { ...settings, attach: false });
      return;
    case 'key-attach':
      await attachKeyIndex(options.targetUrl, step.key, { signal: options.signal });
      return;
    case 'fk-add':
      await withSession(options.targetUrl, options.signal, async (s) => {
        if ((await foreignKeyState(s, step.fk)) === 'none') await s.query(step.fk.addSql);
      });
      return;
    case 'fk-validate':
      await withSession(options.targetUrl, options.signal, async (s) => {
        if ((await foreignKeyState(s, step.fk)) !== 'not valid' || !step.fk.validateSql) return;
        await faultPoint('index-build:validate', options.signal);
        try {
          await s.query(step.fk.validateSql);
        } catch (error) {
          if (!options.signal.aborted) await s.query(step.fk.dropSql).catch(() => undefined);
          throw error;
        }
      });
      return;
  }
}

/** Whether the target has the foreign key, validated or not. */
async function foreignKeyState(s: pg.Client, fk: LoadForeignKey): Promise<'none' | 'not valid' | 'valid'> {
  const { rows } = await s.query(
    `SELECT con.convalidated FROM pg_catalog.pg_constraint con JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE con.contype = 'f' AND con.conname = $1 AND n.nspname = $2 AND c.relname = $3`,
    [fk.name, fk.schema, fk.table],
  );
  const row = rows[0] as { convalidated: boolean } | undefined;
  return row === undefined ? 'none' : row.convalidated ? 'valid' : 'not valid';
}

/** A target session of its own for one statement, ended when `signal` aborts (the server stops it then). */
async function withSession(
  target: ConnectionInput,
  signal: AbortSignal,
  fn: (s: pg.Client) => Promise<void>,
): Promise<void> {
  signal.throwIfAborted();
  const session = await openConnection(target, 'target', { applicationName: 'dmskit-index-build' });
  const onAbort = () => void closeQuietly(session);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await session.query("SET client_connection_check_interval = '1s'").catch(() => undefined);
    await fn(session);
  } finally {
    signal.removeEventListener('abort', onAbort);
    await closeQuietly(session);
  }
}

/**
 * Drops the target's foreign keys from or to the copied tables (`schema.table`): a full load stopped
 * after some were added is copied again from a new snapshot, and `TRUNCATE` refuses a table another
 * references ("TRUNCATE"). Pre-data brings no foreign key, so every one found was added by a load.
 * @returns the keys dropped, as `schema.table.constraint`
 */
export async function dropLoadForeignKeys(target: pg.Client, tables: ReadonlySet<string>): Promise<string[]> {
  const { rows } = await target.query(
    `SELECT format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', con.conrelid::regclass, con.conname) AS drop_sql,
            n.nspname || '.' || c.relname AS table, rn.nspname || '.' || r.relname AS referenced, con.conname AS name
       FROM pg_catalog.pg_constraint con
       JOIN pg_catalog.pg_class c ON c.oid = con.conrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_catalog.pg_class r ON r.oid = con.confrelid JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace
      WHERE con.contype = 'f'`,
  );
  const dropped: string[] = [];
  for (const r of rows as { drop_sql: string; table: string; referenced: string; name: string }[]) {
    if (!tables.has(r.table) && !tables.has(r.referenced)) continue;
    await target.query(r.drop_sql);
    dropped.push(`${r.table}.${r.name}`);
  }
  return dropped;
}
