import { randomUUID } from 'node:crypto';
import { DMSKIT_SCHEMA, ExternalError } from '@dmskit/shared';
import pg from 'pg';
import { formatDuration } from '../ui/format.js';
import { sleep } from '../util/time.js';

/**
 * The watermark: a row dmskit commits on the source after the fence and then reads on the target.
 * Logical replication and DMS apply transactions in commit order (PostgreSQL: "Logical Replication >
 * Architecture"; DMS: "Transactional apply"), so when the target shows it, every write the source
 * committed before it is on the target too: the proof that nothing was left behind. It does not rely on
 * the slot's confirmed position, which a DMS task advances as it reads (and spills on the replication
 * instance), nor on the subscriber's feedback interval.
 */

/** The qualified name of a migration's watermark table (in the `dmskit` schema, on both sides). */
export function watermarkTableName(table: string): string {
  return `${pg.escapeIdentifier(DMSKIT_SCHEMA)}.${pg.escapeIdentifier(table)}`;
}

/** The table's DDL: one row per cutover attempt; a primary key so that DMS and subscriptions apply it. */
export function watermarkDdl(table: string): string[] {
  return [
    `CREATE SCHEMA IF NOT EXISTS ${pg.escapeIdentifier(DMSKIT_SCHEMA)}`,
    `CREATE TABLE IF NOT EXISTS ${watermarkTableName(table)} (token uuid PRIMARY KEY, committed_at timestamptz NOT NULL DEFAULT now(), note text)`,
  ];
}

/**
 * Creates the watermark table if missing (on the source, and the same table on the target).
 * @returns whether it was created now
 */
export async function ensureWatermarkTable(client: pg.Client, table: string): Promise<boolean> {
  const { rowCount } = await client.query(
    'SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2',
    [DMSKIT_SCHEMA, table],
  );
  if (rowCount) return false;
  for (const sql of watermarkDdl(table)) await client.query(sql);
  return true;
}

/**
 * Drops the watermark table, and the `dmskit` schema when nothing else is left in it.
 */
export async function dropWatermarkTable(client: pg.Client, table: string): Promise<void> {
  await client.query(`DROP TABLE IF EXISTS ${watermarkTableName(table)}`);
  await dropDmskitSchemaIfEmpty(client);
}

/** Drops the `dmskit` schema when no object is left in it (another migration's may be). */
export async function dropDmskitSchemaIfEmpty(client: pg.Client): Promise<void> {
  const { rowCount } = await client.query(
    `SELECT 1 FROM pg_depend d JOIN pg_namespace n ON d.refobjid = n.oid
      WHERE n.nspname = $1 AND d.refclassid = 'pg_namespace'::regclass LIMIT 1`,
    [DMSKIT_SCHEMA],
  );
  if (!rowCount) await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(DMSKIT_SCHEMA)}`);
}

/** A committed watermark: its token and the source's WAL position right after its commit. */
export interface Watermark {
  readonly token: string;
  readonly lsn: string;
}

const tablesOf = (table: string | readonly string[]): readonly string[] =>
  typeof table === 'string' ? [table] : table;

/**
 * Commits a new watermark row on the source (in its own transaction, through `control`, which must be
 * allowed to write under the fence) and reads the WAL position after the commit. With several tables
 * (one per DMS task), the same token goes into each in that one transaction: every task then carries it.
 */
export async function commitWatermark(
  control: pg.Client,
  table: string | readonly string[],
  note: string,
): Promise<Watermark> {
  const token = randomUUID();
  const tables = tablesOf(table);
  if (tables.length > 1) await control.query('BEGIN');
  try {
    for (const t of tables)
      await control.query(`INSERT INTO ${watermarkTableName(t)} (token, note) VALUES ($1, $2)`, [
        token,
        note,
      ]);
    if (tables.length > 1) await control.query('COMMIT');
  } catch (error) {
    if (tables.length > 1) await control.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  const { rows } = await control.query('SELECT pg_current_wal_lsn()::text AS lsn');
  return { token, lsn: (rows[0] as { lsn: string }).lsn };
}

/** Whether the target shows the watermark (in every table, when there are several). */
export async function watermarkSeen(
  target: pg.Client,
  table: string | readonly string[],
  token: string,
): Promise<boolean> {
  for (const t of tablesOf(table)) {
    const { rowCount } = await target.query(`SELECT 1 FROM ${watermarkTableName(t)} WHERE token = $1`, [
      token,
    ]);
    if (!rowCount) return false;
  }
  return true;
}

/** SQLSTATE lock_not_available: a read gave up waiting for a lock (`lock_timeout`). */
const LOCK_NOT_AVAILABLE = '55P03';

/**
 * Waits until the target shows the watermark, polling every `pollMs` (default 5 ms); between polls,
 * `check` may throw to stop the wait at once (replication broken, fence gone). A read that waits on a
 * lock (a session holding the watermark table on the target) gives up after 250 ms (`lock_timeout`,
 * set for the wait and restored after) and counts as "not yet", so the deadline holds and the source is
 * never left fenced behind a blocked read.
 * @returns the wait in ms
 * @throws ExternalError when `timeoutMs` passes first
 */
export async function waitForWatermark(
  target: pg.Client,
  table: string | readonly string[],
  token: string,
  options: {
    timeoutMs: number;
    pollMs?: number;
    check?: () => Promise<void>;
    checkEveryMs?: number;
    signal?: AbortSignal;
  },
): Promise<number> {
  const start = performance.now();
  const deadline = Date.now() + options.timeoutMs;
  let nextCheck = Date.now() + (options.checkEveryMs ?? 250);
  // One round trip inside the window: the prior value read and the new one set.
  const { rows } = await target.query(
    "SELECT current_setting('lock_timeout') AS prior, set_config('lock_timeout', '250ms', false)",
  );
  const prior = (rows[0] as { prior: string }).prior;
  try {
    for (;;) {
      options.signal?.throwIfAborted();
      const seen = await watermarkSeen(target, table, token).catch((error: { code?: string }) => {
        if (error.code === LOCK_NOT_AVAILABLE) return false;
        throw error;
      });
      if (seen) return Math.round(performance.now() - start);
      if (Date.now() > deadline)
        throw new ExternalError(
          `the watermark did not reach the target within ${formatDuration(options.timeoutMs)}`,
        );
      if (options.check && Date.now() >= nextCheck) {
        await options.check();
        nextCheck = Date.now() + (options.checkEveryMs ?? 250);
      }
      await sleep(options.pollMs ?? 5, options.signal);
    }
  } finally {
    await target.query('SELECT set_config($1, $2, false)', ['lock_timeout', prior]).catch(() => undefined);
  }
}
