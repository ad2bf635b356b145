import { DMSKIT_SCHEMA, ExternalError, type FenceMethod, type TableName, UsageError } from '@dmskit/shared';
import { type ConnectionInput, closeQuietly, openConnection, qualifiedName } from '@dmskit/validation';
import pg from 'pg';
import { formatDuration } from '../ui/format.js';
import { sleep } from '../util/time.js';
import { dropDmskitSchemaIfEmpty } from './watermark.js';

/**
 * Everything needed to put a fence in place and to undo it from any process, read once before the first
 * fence of a cutover and saved in the state file before the source changes (write-ahead): a fence applied
 * again, or released, always uses this record, never what dmskit's own fence left on the server.
 */
export interface FenceRecord {
  readonly method: FenceMethod;
  /** The source database. */
  readonly database: string;
  /** When the fence was planned (ISO); sessions started after it are ended when it is released. */
  readonly since: string;
  /** read-only: the database's `default_transaction_read_only` before the fence (null: not set). */
  readonly prior?: string | null;
  /** revoke-login: the application roles and whether each could log in before the fence. */
  readonly roles?: readonly { readonly name: string; readonly canLogin: boolean }[];
  /**
   * read-only and lock-tables: the tables the write guard covers, and the name of its trigger and of the
   * trigger's function in the `dmskit` schema.
   */
  readonly tables?: readonly TableName[];
  readonly trigger?: string;
  /** How many of `tables` are partitioned or inheritance parents of the tables in scope. */
  readonly parents?: number;
}

/** A fence that could not be released: the source stays fenced until the SQL in the message is run. */
export class FenceReleaseFailed extends ExternalError {
  readonly sql: readonly string[];
  constructor(record: FenceRecord, reason: string, options?: { cause?: unknown }) {
    const sql = releaseSql(record);
    super(
      `the source ${record.database} is still fenced (${record.method}): ${reason}; release it by hand: ${sql.join(' ')}`,
      options,
    );
    this.sql = sql;
  }
}

const SETTING = 'default_transaction_read_only';

const PRIOR_SETTING_SQL = `
SELECT (SELECT split_part(s, '=', 2) FROM unnest(rs.setconfig) s WHERE s LIKE '${SETTING}=%') AS value
  FROM pg_db_role_setting rs
 WHERE rs.setrole = 0 AND rs.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())`;

// A role-level setting wins over the database's (PostgreSQL: "ALTER ROLE": role-and-database settings
// override role settings, which override database settings): such a role would start read-write.
const ROLE_OVERRIDES_SQL = `
SELECT DISTINCT r.rolname
  FROM pg_db_role_setting rs JOIN pg_roles r ON r.oid = rs.setrole
 WHERE rs.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
   AND EXISTS (SELECT 1 FROM unnest(rs.setconfig) s WHERE s LIKE '${SETTING}=%')
 ORDER BY 1`;

const PREPARED_SQL = `
SELECT gid FROM pg_prepared_xacts WHERE database = current_database() ORDER BY prepared`;

const ROLES_SQL = 'SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = ANY($1::text[])';

// The tables in scope and every table a write can reach them through: partitioned parents (an INSERT
// into the parent is routed to the partition, and fires the parent's statement triggers, not the
// partition's) and inheritance parents (UPDATE, DELETE and TRUNCATE of a parent reach its children)
// (PostgreSQL: "Table Partitioning", "Inheritance", "Overview of Trigger Behavior"). With whether
// dmskit may put a trigger on each ("CREATE TRIGGER": the TRIGGER privilege).
const GUARDED_TABLES_SQL = `
WITH RECURSIVE scope(oid) AS (
  SELECT to_regclass(quote_ident(s) || '.' || quote_ident(n))::oid FROM unnest($1::text[], $2::text[]) AS x(s, n)
  UNION
  SELECT i.inhparent FROM pg_inherits i JOIN scope ON i.inhrelid = scope.oid)
SELECT n.nspname AS schema, c.relname AS table, has_table_privilege(c.oid, 'TRIGGER') AS may
  FROM scope JOIN pg_class c ON c.oid = scope.oid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p')
 ORDER BY 1, 2`;

const END_SESSIONS_SQL = `
SELECT pid, pg_terminate_backend(pid) AS ended
  FROM pg_stat_activity
 WHERE datname = current_database() AND pid <> pg_backend_pid()
   AND backend_type = 'client backend' AND NOT (pid = ANY($1::int[]))
   AND (cardinality($2::text[]) = 0 OR usename = ANY($2::text[]))
   -- another migration's lock: its run must keep it (a lock session never writes)
   AND application_name NOT LIKE 'dmskit-lock %'`;

// Sessions that write: a transaction id is assigned at the first write (PostgreSQL: "pg_stat_activity",
// backend_xid). Under a read-only fence only a session that asked for read-write can have one.
const END_WRITERS_SQL = `
SELECT pid, pg_terminate_backend(pid) AS ended
  FROM pg_stat_activity
 WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL
   AND backend_type = 'client backend' AND NOT (pid = ANY($1::int[]))`;

// Sessions started while the fence held begin read-only: ended on release, so applications reconnect
// writable. dmskit's own sessions are named dmskit-*.
const END_FENCED_SESSIONS_SQL = `
SELECT pid, pg_terminate_backend(pid) AS ended
  FROM pg_stat_activity
 WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
   AND backend_start >= $1::timestamptz AND application_name NOT LIKE 'dmskit%'`;

async function waitGone(client: pg.Client, pids: readonly number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (pids.length) {
    const { rowCount } = await client.query('SELECT 1 FROM pg_stat_activity WHERE pid = ANY($1::int[])', [
      pids,
    ]);
    if (!rowCount) return;
    if (Date.now() > deadline)
      throw new ExternalError(`sessions ${pids.join(', ')} did not end within ${formatDuration(timeoutMs)}`);
    await sleep(2);
  }
}

async function endSessions(
  client: pg.Client,
  sql: string,
  params: unknown[],
  timeoutMs = 30_000,
): Promise<number> {
  const { rows } = await client.query(sql, params);
  const pids = (rows as { pid: number; ended: boolean }[]).filter((r) => r.ended).map((r) => r.pid);
  await waitGone(client, pids, timeoutMs);
  return pids.length;
}

/**
 * The prepared transactions of the source database, by gid. One that is committed after the fence would
 * write past it, and `COMMIT PREPARED` needs no read-write session (PostgreSQL: "PREPARE TRANSACTION").
 */
export async function preparedTransactions(client: pg.Client): Promise<string[]> {
  return ((await client.query(PREPARED_SQL)).rows as { gid: string }[]).map((r) => r.gid);
}

/**
 * While fencing: a transaction prepared since the preconditions would hold its locks (the write guard
 * would wait for it) and could commit past the fence.
 * @throws ExternalError naming it
 */
async function refusePrepared(control: pg.Client): Promise<void> {
  const gids = await preparedTransactions(control);
  if (gids.length)
    throw new ExternalError(
      `prepared transaction(s) ${gids.join(', ')} appeared while fencing; they could commit past the fence`,
    );
}

/** @throws UsageError (exit 2) naming every prepared transaction of the database */
export async function assertNoPreparedTransactions(client: pg.Client, when: string): Promise<void> {
  const gids = await preparedTransactions(client);
  if (gids.length) {
    throw new UsageError(
      `${when}: the source has ${gids.length} prepared transaction(s) (${gids.join(', ')}), which could commit past the fence: COMMIT PREPARED or ROLLBACK PREPARED them first`,
    );
  }
}

/**
 * Reads what a fence will replace and checks that it can hold, changing nothing: the database's prior
 * `default_transaction_read_only` (read-only), the roles' LOGIN (revoke-login), the tables (lock-tables).
 * @throws UsageError when the method cannot hold: a role that sets `default_transaction_read_only` itself
 *   (read-only), an application role that does not exist or is dmskit's own user (revoke-login), no table
 */
export async function planFence(
  control: pg.Client,
  options: { method: FenceMethod; tables: readonly TableName[]; roles: readonly string[]; trigger: string },
): Promise<FenceRecord> {
  const { db, me } = (await control.query('SELECT current_database() AS db, current_user AS me')).rows[0] as {
    db: string;
    me: string;
  };
  const since = new Date().toISOString();
  const guard = await guardedTables(control, options);
  if (options.method === 'read-only') {
    const overrides = ((await control.query(ROLE_OVERRIDES_SQL)).rows as { rolname: string }[]).map(
      (r) => r.rolname,
    );
    if (overrides.length) {
      throw new UsageError(
        `the read-only fence cannot hold for role(s) ${overrides.join(', ')}, which set ${SETTING} themselves (ALTER ROLE ... SET): reset it, or use fenceMethod 'revoke-login'`,
      );
    }
    const prior =
      ((await control.query(PRIOR_SETTING_SQL)).rows[0] as { value: string | null } | undefined)?.value ??
      null;
    return { method: 'read-only', database: db, since, prior, ...guard };
  }
  if (options.method === 'revoke-login') {
    if (options.roles.includes(me))
      throw new UsageError(`cutover.applicationRoles names ${me}, the user dmskit connects as`);
    const found = (await control.query(ROLES_SQL, [options.roles])).rows as {
      rolname: string;
      rolcanlogin: boolean;
    }[];
    const missing = options.roles.filter((r) => !found.some((f) => f.rolname === r));
    if (missing.length)
      throw new UsageError(`cutover.applicationRoles: no role ${missing.join(', ')} on the source`);
    return {
      method: 'revoke-login',
      database: db,
      since,
      roles: options.roles.map((name) => ({
        name,
        canLogin: found.find((f) => f.rolname === name)!.rolcanlogin,
      })),
      ...guard,
    };
  }
  if (options.tables.length === 0) throw new UsageError('the lock-tables fence needs at least one table');
  return { method: 'lock-tables', database: db, since, ...guard };
}

/**
 * The write guard's tables: those in scope and their partitioned and inheritance parents, read on the
 * source.
 * @throws UsageError naming the tables dmskit may not put a trigger on (the TRIGGER privilege, or
 *   ownership): without the guard, a session that asks for read-write, or a role the fence does not
 *   name, could write
 */
export async function guardedTables(
  control: pg.Client,
  options: { tables: readonly TableName[]; trigger: string },
): Promise<{ tables?: TableName[]; trigger?: string; parents?: number }> {
  if (!options.tables.length) return {};
  const { rows } = await control.query(GUARDED_TABLES_SQL, [
    options.tables.map((t) => t.schema),
    options.tables.map((t) => t.table),
  ]);
  const all = rows as { schema: string; table: string; may: boolean }[];
  const refused = all.filter((r) => !r.may);
  if (refused.length)
    throw new UsageError(
      `the fence needs the TRIGGER privilege on ${refused
        .slice(0, 5)
        .map((r) => qualifiedName(r))
        .join(
          ', ',
        )}${refused.length > 5 ? ` and ${refused.length - 5} more` : ''}: GRANT TRIGGER ON those tables TO the user dmskit connects as (or make it their owner)`,
    );
  const inScope = new Set(options.tables.map((t) => `${t.schema}\u0000${t.table}`));
  const parents = all.filter((r) => !inScope.has(`${r.schema}\u0000${r.table}`)).length;
  return {
    tables: all.map((r) => ({ schema: r.schema, table: r.table })),
    trigger: options.trigger,
    ...(parents ? { parents } : {}),
  };
}

function triggerFunction(record: FenceRecord): string {
  return `${pg.escapeIdentifier(DMSKIT_SCHEMA)}.${pg.escapeIdentifier(record.trigger!)}`;
}

/**
 * Puts the fence of `record` in place (idempotent: applying it again is harmless) and ends the sessions
 * that could still write. `control` is a dmskit session on the source; `exempt` are pids of dmskit's own
 * sessions that must survive. When this returns, no transaction that began before it can still commit a
 * write on the migrated tables.
 * - read-only: `ALTER DATABASE ... SET default_transaction_read_only = on`, then every other client
 *   session of the database is ended (PostgreSQL: "Client Connection Defaults", "Server Signaling
 *   Functions"); walsenders stay.
 * - lock-tables: in one transaction, EXCLUSIVE locks on every table (waiting out the writes in flight;
 *   "Table-Level Locks"), then a statement trigger on each that refuses INSERT, UPDATE, DELETE and
 *   TRUNCATE; committed, so it outlives dmskit. Writers queued behind the locks meet the trigger. Apply
 *   workers (session_replication_role = replica) do not fire it ("ALTER TABLE ... ENABLE TRIGGER").
 * - revoke-login: `ALTER ROLE ... NOLOGIN` for each application role, then their sessions are ended.
 * @returns how many sessions were ended
 */
export async function applyFence(
  control: pg.Client,
  record: FenceRecord,
  exempt: readonly number[],
): Promise<{ sessionsEnded: number; guarded: boolean }> {
  await control.query(`SET ${SETTING} = off`);
  const db = pg.escapeIdentifier(record.database);
  if (record.method === 'read-only') {
    await control.query(`ALTER DATABASE ${db} SET ${SETTING} = on`);
    const sessionsEnded = await endSessions(control, END_SESSIONS_SQL, [exempt, []]);
    await refusePrepared(control);
    // The write guard too: a session may ask for read-write itself (BEGIN READ WRITE, SET
    // transaction_read_only = off), which the setting cannot stop.
    await installGuard(control, record, '5s');
    return { sessionsEnded, guarded: Boolean(record.tables?.length) };
  }
  if (record.method === 'revoke-login') {
    for (const role of record.roles ?? [])
      await control.query(`ALTER ROLE ${pg.escapeIdentifier(role.name)} NOLOGIN`);
    const names = (record.roles ?? []).map((r) => r.name);
    const sessionsEnded = await endSessions(control, END_SESSIONS_SQL, [exempt, names]);
    // Roles outside the list (or a role's session kept by a pooler) meet the write guard.
    await refusePrepared(control);
    await installGuard(control, record, '20s');
    return { sessionsEnded, guarded: Boolean(record.tables?.length) };
  }
  await refusePrepared(control);
  await installGuard(control, record, '20s');
  return { sessionsEnded: 0, guarded: true };
}

/**
 * The write guard: in one transaction, EXCLUSIVE locks on every table (waiting out the writes in flight;
 * PostgreSQL "Table-Level Locks"), then a statement trigger on each that refuses INSERT, UPDATE, DELETE
 * and TRUNCATE; committed, so it outlives dmskit. Apply workers (session_replication_role = replica) do
 * not fire it ("ALTER TABLE ... ENABLE TRIGGER").
 * @throws the server's error (42501 without the privilege to create triggers); nothing is left then
 */
async function installGuard(control: pg.Client, record: FenceRecord, lockTimeout: string): Promise<void> {
  if (!record.trigger || !record.tables?.length) return;
  const fn = triggerFunction(record);
  const trigger = pg.escapeIdentifier(record.trigger);
  await control.query('BEGIN');
  try {
    await control.query(`SET LOCAL lock_timeout = ${pg.escapeLiteral(lockTimeout)}`);
    await control.query(`LOCK TABLE ${record.tables.map(qualifiedName).join(', ')} IN EXCLUSIVE MODE`);
    await control.query(`CREATE SCHEMA IF NOT EXISTS ${pg.escapeIdentifier(DMSKIT_SCHEMA)}`);
    await control.query(
      `CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $fence$
       BEGIN
         RAISE EXCEPTION 'dmskit: %.% is fenced for a cutover: writes go to the new primary', TG_TABLE_SCHEMA, TG_TABLE_NAME
           USING ERRCODE = 'read_only_sql_transaction';
       END $fence$`,
    );
    // One round trip for every table: the window does not grow with a trip per table.
    await control.query(
      record.tables
        .map(
          (t) =>
            `DROP TRIGGER IF EXISTS ${trigger} ON ${qualifiedName(t)}; CREATE TRIGGER ${trigger} BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${qualifiedName(t)} FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`,
        )
        .join('; '),
    );
    await control.query('COMMIT');
  } catch (error) {
    await control.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * Between the fence and ready: ends any session that is writing although the fence holds (read-only: a
 * session that asked for read-write; revoke-login: a role outside the list cannot be stopped and is left).
 * @returns how many sessions were ended
 */
export async function enforceFence(
  control: pg.Client,
  record: FenceRecord,
  exempt: readonly number[],
): Promise<number> {
  if (record.method !== 'read-only') return 0;
  return endSessions(control, END_WRITERS_SQL, [exempt]);
}

/**
 * Reads back, in a new session, whether the fence of `record` is in place.
 * @returns null when it holds, else what is missing (one line)
 */
export async function fenceGap(source: ConnectionInput, record: FenceRecord): Promise<string | null> {
  return (await inspectFence(source, record)).gap;
}

/** One new session: what of the fence is missing, and whether the write guard holds. */
async function inspectFence(
  source: ConnectionInput,
  record: FenceRecord,
): Promise<{ gap: string | null; guarded: boolean }> {
  const c = await openConnection(source, 'source', { applicationName: 'dmskit-fence-check' });
  try {
    const guard = record.tables?.length ? await guardGap(c, record) : null;
    const guarded = guard === null && Boolean(record.tables?.length);
    if (guard) return { gap: guard, guarded };
    if (record.method === 'revoke-login') {
      const names = (record.roles ?? []).map((r) => r.name);
      const can = (
        (await c.query(`${ROLES_SQL} AND rolcanlogin`, [names])).rows as { rolname: string }[]
      ).map((r) => r.rolname);
      if (can.length) return { gap: `role(s) ${can.join(', ')} can log in`, guarded };
      const { rows } = await c.query(
        'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND usename = ANY($1::text[])',
        [names],
      );
      const n = (rows[0] as { n: number }).n;
      return { gap: n ? `${n} session(s) of the application roles are still open` : null, guarded };
    }
    if (record.method === 'lock-tables') return { gap: null, guarded };
    const { rows } = await c.query(`SELECT current_setting('${SETTING}') AS v`);
    const on = (rows[0] as { v: string }).v === 'on';
    return { gap: on ? null : `a new session starts with ${SETTING} = off`, guarded };
  } finally {
    await closeQuietly(c);
  }
}

// Every guarded table must carry the trigger, enabled in origin mode, BEFORE, per statement, on INSERT,
// UPDATE, DELETE and TRUNCATE (pg_trigger.tgtype bits: ROW 1, BEFORE 2, INSERT 4, DELETE 8, UPDATE 16,
// TRUNCATE 32).
const GUARD_TRIGGERS_SQL = `
SELECT x.s AS schema, x.n AS table
  FROM unnest($2::text[], $3::text[]) AS x(s, n)
 WHERE NOT EXISTS (
       SELECT 1 FROM pg_trigger t
        WHERE t.tgrelid = to_regclass(quote_ident(x.s) || '.' || quote_ident(x.n))
          AND t.tgname = $1 AND t.tgenabled = 'O' AND (t.tgtype & 63) = 62)`;

/**
 * What of the write guard is missing, read in `c`: the trigger on every guarded table, and a real write
 * refused on each (a DELETE that matches no row, in one read-write transaction rolled back: a statement
 * trigger fires on zero rows).
 */
async function guardGap(c: pg.Client, record: FenceRecord): Promise<string | null> {
  const tables = record.tables ?? [];
  if (!tables.length) return 'no table to guard';
  const { rows } = await c.query(GUARD_TRIGGERS_SQL, [
    record.trigger,
    tables.map((t) => t.schema),
    tables.map((t) => t.table),
  ]);
  const bare = rows as TableName[];
  if (bare.length)
    return `${bare.length} of ${tables.length} table(s) have no fence trigger (${bare
      .slice(0, 3)
      .map(qualifiedName)
      .join(', ')}${bare.length > 3 ? ', ...' : ''})`;
  const leaked = await writesNotRefused(c, tables);
  return leaked.length
    ? `a DELETE on ${leaked.slice(0, 3).join(', ')}${leaked.length > 3 ? ` and ${leaked.length - 3} more` : ''} was not refused`
    : null;
}

/**
 * Tries a write (`DELETE ... WHERE false`) on each table in one read-write transaction, rolled back, in
 * one round trip, and returns the tables (qualified) where it was not refused.
 */
export async function writesNotRefused(c: pg.Client, tables: readonly TableName[]): Promise<string[]> {
  const list = tables.map((t) => pg.escapeLiteral(qualifiedName(t))).join(', ');
  await c.query('BEGIN READ WRITE');
  try {
    await c.query(`DO $proof$
      DECLARE t text; leaked text[] := '{}';
      BEGIN
        FOREACH t IN ARRAY ARRAY[${list}]::text[] LOOP
          BEGIN
            EXECUTE 'DELETE FROM ' || t || ' WHERE false';
            leaked := leaked || t;
          EXCEPTION WHEN read_only_sql_transaction THEN NULL;
          END;
        END LOOP;
        IF cardinality(leaked) > 0 THEN
          RAISE EXCEPTION USING ERRCODE = 'DMSK1', MESSAGE = array_to_string(leaked, ', ');
        END IF;
      END $proof$`);
    return [];
  } catch (error) {
    if ((error as { code?: string }).code === 'DMSK1') return (error as Error).message.split(', ');
    throw error;
  } finally {
    await c.query('ROLLBACK').catch(() => undefined);
  }
}

/**
 * Proves the fence in a new session (as the checks of {@link fenceGap}).
 * @returns how it was proven, for the operator
 * @throws ExternalError naming what does not hold
 */
export async function proveFence(source: ConnectionInput, record: FenceRecord): Promise<string> {
  const { gap, guarded } = await inspectFence(source, record);
  if (gap) throw new ExternalError(`the fence (${record.method}) does not hold: ${gap}`);
  const guard = guarded
    ? `a write on ${displayTables(record)} is refused even in a read-write transaction`
    : 'no write guard';
  if (record.method === 'read-only') return `a new session starts read-only, and ${guard}`;
  return record.method === 'revoke-login'
    ? `role(s) ${(record.roles ?? []).map((r) => r.name).join(', ')} cannot log in and have no session, and ${guard}`
    : guard;
}

function displayTables(record: FenceRecord): string {
  const n = record.tables?.length ?? 0;
  if (n === 1) return qualifiedName(record.tables![0]!);
  return `each of ${n} tables${record.parents ? ` (${record.parents} of them partitioned or inheritance parents)` : ''}`;
}

/**
 * What no fence method can stop, for the docs and `cutover --dry-run`: a superuser may write past the
 * write guard (`SET session_replication_role = replica` skips ordinary triggers; PostgreSQL "ALTER TABLE
 * ... ENABLE TRIGGER"), and a table's owner may drop or disable the trigger; under revoke-login, a
 * superuser or a role outside `cutover.applicationRoles` can still log in, but meets the write guard.
 */
export function fenceLimits(method: FenceMethod): string {
  const common =
    "cannot stop a superuser's session that sets session_replication_role = replica (nor a role granted SET on that parameter, or a subscription's apply on the source: the preconditions refuse both), nor a table owner who drops or disables the fence trigger (ALTER TABLE ... DISABLE TRIGGER)";
  if (method === 'read-only') return `${common}; a session that asks for read-write meets the write guard`;
  if (method === 'revoke-login')
    return `${common}; roles outside cutover.applicationRoles can still log in, but meet the write guard`;
  return common;
}

/** The SQL that releases a fence by hand, for messages when dmskit cannot. */
export function releaseSql(record: FenceRecord): string[] {
  const db = pg.escapeIdentifier(record.database);
  const guard =
    record.trigger && record.tables?.length
      ? [
          ...record.tables.map(
            (t) => `DROP TRIGGER IF EXISTS ${pg.escapeIdentifier(record.trigger!)} ON ${qualifiedName(t)};`,
          ),
          `DROP FUNCTION IF EXISTS ${triggerFunction(record)}();`,
        ]
      : [];
  if (record.method === 'revoke-login')
    return [
      ...(record.roles ?? [])
        .filter((r) => r.canLogin)
        .map((r) => `ALTER ROLE ${pg.escapeIdentifier(r.name)} LOGIN;`),
      ...guard,
    ];
  if (record.method !== 'read-only') return guard;
  return [
    record.prior === null || record.prior === undefined
      ? `ALTER DATABASE ${db} RESET ${SETTING};`
      : `ALTER DATABASE ${db} SET ${SETTING} = ${pg.escapeLiteral(record.prior)};`,
    ...guard,
  ];
}

/**
 * Releases a fence from its record, in a new session of any process, then reads the source back: the
 * database setting restored to what it was before the first fence (read-only), LOGIN given back to the
 * roles that had it (revoke-login), the triggers and their function dropped (lock-tables). Sessions
 * opened while a read-only fence held are ended, so applications reconnect writable.
 * Connection failures are retried for about `retryMs`.
 * @returns a line saying what was read back
 * @throws FenceReleaseFailed (exit 2) with the exact SQL to run by hand when it cannot be released or read back
 */
export async function releaseFence(
  source: ConnectionInput,
  record: FenceRecord,
  options: { retryMs?: number } = {},
): Promise<string> {
  const deadline = Date.now() + (options.retryMs ?? 10_000);
  for (;;) {
    try {
      return await releaseOnce(source, record);
    } catch (error) {
      if (error instanceof FenceReleaseFailed || Date.now() > deadline)
        throw error instanceof FenceReleaseFailed
          ? error
          : new FenceReleaseFailed(record, (error as Error).message, { cause: error });
      await sleep(500);
    }
  }
}

async function releaseOnce(source: ConnectionInput, record: FenceRecord): Promise<string> {
  const c = await openConnection(source, 'source', {
    applicationName: 'dmskit-unfence',
    connectTimeoutMs: 5000,
  });
  try {
    await c.query(`SET ${SETTING} = off`);
    await c.query("SET lock_timeout = '10s'");
    for (const sql of releaseSql(record)) await c.query(sql);
    if (record.trigger) await dropDmskitSchemaIfEmpty(c);
    let ended = 0;
    if (record.method === 'read-only') ended = await endSessions(c, END_FENCED_SESSIONS_SQL, [record.since]);
    const gap = await releaseGap(c, record);
    if (gap) throw new FenceReleaseFailed(record, `read back: ${gap}`);
    return record.method === 'read-only'
      ? `${SETTING} of ${record.database} is ${record.prior ?? 'not set'} again${record.trigger ? ', no write guard left' : ''}${ended ? `; ${ended} session(s) opened during the fence ended` : ''}`
      : record.method === 'revoke-login'
        ? `LOGIN given back to ${
            (record.roles ?? [])
              .filter((r) => r.canLogin)
              .map((r) => r.name)
              .join(', ') || 'no role (none had it)'
          }${record.trigger ? ', no write guard left' : ''}`
        : `fence triggers dropped from ${record.tables!.length} table(s)`;
  } finally {
    await closeQuietly(c);
  }
}

/**
 * What of the fence of `record` is on the source now, read back in a new session without changing
 * anything (`dmskit status`): the database setting, the roles without LOGIN, the write guard's triggers.
 * @returns null when nothing of it is there, else what is (one line)
 * @throws the connection's error when the source cannot be reached
 */
export async function fenceOnSource(source: ConnectionInput, record: FenceRecord): Promise<string | null> {
  const c = await openConnection(source, 'source', {
    applicationName: 'dmskit-status',
    connectTimeoutMs: 5000,
  });
  try {
    return await releaseGap(c, record);
  } finally {
    await closeQuietly(c);
  }
}

/** What of a released fence is still on the server, read in `c`; null when nothing is. */
async function releaseGap(c: pg.Client, record: FenceRecord): Promise<string | null> {
  if (record.method === 'revoke-login') {
    const want = (record.roles ?? []).filter((r) => r.canLogin).map((r) => r.name);
    const locked = (
      (await c.query(`${ROLES_SQL} AND NOT rolcanlogin`, [want])).rows as { rolname: string }[]
    ).map((r) => r.rolname);
    if (locked.length) return `role(s) ${locked.join(', ')} still cannot log in`;
  }
  if (record.method === 'read-only') {
    const value =
      ((await c.query(PRIOR_SETTING_SQL)).rows[0] as { value: string | null } | undefined)?.value ?? null;
    if (value !== (record.prior ?? null)) return `${SETTING} of ${record.database} is ${value ?? 'not set'}`;
  }
  if (!record.trigger) return null;
  const { rows } = await c.query('SELECT count(*)::int AS n FROM pg_trigger WHERE tgname = $1', [
    record.trigger,
  ]);
  const n = (rows[0] as { n: number }).n;
  return n ? `${n} fence trigger(s) ${record.trigger} remain` : null;
}
