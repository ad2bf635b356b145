import type { FenceMethod, TableName } from '@dmskit/shared';
import { type ConnectionInput, closeQuietly, openConnection, qualifiedName } from '@dmskit/validation';
import pg from 'pg';

/** What is needed to undo a fence from another process: the method, and the setting it replaced. */
export interface FenceRecord {
  readonly method: FenceMethod;
  /** read-only: the database, and its `default_transaction_read_only` before the fence (null: not set). */
  readonly database?: string;
  readonly prior?: string | null;
}

/** Writes on the source are stopped until {@link Fence.release} is called. */
export interface Fence {
  readonly method: FenceMethod;
  readonly record: FenceRecord;
  /** Client sessions the fence ended (read-only method). */
  readonly sessionsEnded: number;
  /** Lets writes in again, restoring the database setting that was there before. Safe to call twice. */
  release(): Promise<void>;
}

const SETTING = 'default_transaction_read_only';

const PRIOR_SETTING_SQL = `
SELECT (SELECT split_part(s, '=', 2) FROM unnest(rs.setconfig) s WHERE s LIKE '${SETTING}=%') AS value
  FROM pg_db_role_setting rs
 WHERE rs.setrole = 0 AND rs.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())`;

const END_SESSIONS_SQL = `
SELECT pid, pg_terminate_backend(pid) AS ended
  FROM pg_stat_activity
 WHERE datname = current_database() AND pid <> pg_backend_pid()
   AND backend_type = 'client backend' AND NOT (pid = ANY($1::int[]))`;

async function waitGone(client: pg.Client, pids: readonly number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (pids.length) {
    const { rowCount } = await client.query('SELECT 1 FROM pg_stat_activity WHERE pid = ANY($1::int[])', [
      pids,
    ]);
    if (!rowCount) return;
    if (Date.now() > deadline)
      throw new Error(`sessions ${pids.join(', ')} did not end within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * read-only fence: `ALTER DATABASE ... SET default_transaction_read_only = on`, so every new session is
 * read-only, then ends every other client session of the database and waits until they are gone, so no
 * transaction can commit after the fence LSN is read (PostgreSQL: "Client Connection Defaults",
 * "Server Signaling Functions"). Replication walsenders and the `exempt` sessions (dmskit's own) stay.
 */
async function fenceReadOnly(
  source: ConnectionInput,
  control: pg.Client,
  exempt: readonly number[],
  previous?: FenceRecord,
): Promise<Fence> {
  const database = ((await control.query('SELECT current_database() AS db')).rows[0] as { db: string }).db;
  // A resumed cutover keeps the setting recorded before its first fence, not its own 'on'.
  const prior =
    previous?.method === 'read-only'
      ? (previous.prior ?? null)
      : (((await control.query(PRIOR_SETTING_SQL)).rows[0] as { value: string | null } | undefined)?.value ??
        null);
  await control.query(`SET ${SETTING} = off`);
  await control.query(`ALTER DATABASE ${pg.escapeIdentifier(database)} SET ${SETTING} = on`);
  const record: FenceRecord = { method: 'read-only', database, prior };
  let released = false;
  // A new session: the control session may be gone (Ctrl-C), and new sessions now start read-only.
  const release = async () => {
    if (released) return;
    await releaseFenceRecord(source, record);
    released = true;
  };
  try {
    const ended = await control.query(END_SESSIONS_SQL, [exempt]);
    const pids = ended.rows.filter((r: { ended: boolean }) => r.ended).map((r: { pid: number }) => r.pid);
    await waitGone(control, pids, 30_000);
    return { method: 'read-only', record, sessionsEnded: pids.length, release };
  } catch (error) {
    await release();
    throw error;
  }
}

/**
 * lock-tables fence: one transaction takes EXCLUSIVE locks on every migrated table (reads go on, writes
 * wait) and holds them until release (PostgreSQL: "Explicit Locking", "Table-Level Locks"). Taking the lock
 * waits for transactions already writing, so every write before the fence has committed.
 */
async function fenceLockTables(source: ConnectionInput, tables: readonly TableName[]): Promise<Fence> {
  const holder = await openConnection(source, 'source', { applicationName: 'dmskit-fence' });
  try {
    await holder.query('BEGIN');
    await holder.query("SET LOCAL lock_timeout = '60s'");
    await holder.query(`LOCK TABLE ${tables.map(qualifiedName).join(', ')} IN EXCLUSIVE MODE`);
  } catch (error) {
    await closeQuietly(holder);
    throw error;
  }
  let released = false;
  return {
    method: 'lock-tables',
    record: { method: 'lock-tables' },
    sessionsEnded: 0,
    release: async () => {
      if (released) return;
      released = true;
      await holder.query('ROLLBACK').catch(() => undefined);
      await closeQuietly(holder);
    },
  };
}

/**
 * Undoes a fence from its record, in any process: read-only restores the database's setting as it was
 * before the fence (in a new session, which may itself start read-only); lock-tables needs nothing, its
 * locks ended with the session that held them.
 */
export async function releaseFenceRecord(source: ConnectionInput, record: FenceRecord): Promise<void> {
  if (record.method !== 'read-only' || !record.database) return;
  const c = await openConnection(source, 'source', { applicationName: 'dmskit-unfence' });
  try {
    const db = pg.escapeIdentifier(record.database);
    await c.query(`SET ${SETTING} = off`);
    await c.query(
      record.prior === null || record.prior === undefined
        ? `ALTER DATABASE ${db} RESET ${SETTING}`
        : `ALTER DATABASE ${db} SET ${SETTING} = ${pg.escapeLiteral(record.prior)}`,
    );
  } finally {
    await closeQuietly(c);
  }
}

/**
 * Stops writes on the source with the configured method. `control` is a dmskit session on the source
 * database; `exempt` are backend pids of dmskit's own sessions that must survive the fence.
 * @throws when the fence cannot be put in place; nothing is left fenced then
 */
export async function fenceWrites(options: {
  method: FenceMethod;
  source: ConnectionInput;
  control: pg.Client;
  tables: readonly TableName[];
  exempt?: readonly number[];
  /** The record of an earlier fence of the same cutover (resume). */
  previous?: FenceRecord;
}): Promise<Fence> {
  if (options.method === 'lock-tables') return fenceLockTables(options.source, options.tables);
  return fenceReadOnly(options.source, options.control, options.exempt ?? [], options.previous);
}
