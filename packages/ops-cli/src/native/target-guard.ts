import { DMSKIT_SCHEMA, type TableName } from '@dmskit/shared';
import { qualifiedName } from '@dmskit/validation';
import pg from 'pg';
import { CHECK_SETTING } from '../runbook/app-checks.js';
import { guardedTables, writesNotRefused } from '../runbook/fence.js';
import { dropDmskitSchemaIfEmpty } from '../runbook/watermark.js';

/*
 * The target guard of the native engine: while CDC runs, a write on a table in scope on the target by
 * anyone but the apply is refused. A row the application deletes on the target would make a later
 * UPDATE or DELETE from the source find nothing, which PostgreSQL's apply skips without an error
 * ("Logical Replication > Conflicts"): a lost write no watermark can see.
 *
 * A statement trigger (BEFORE INSERT, UPDATE, DELETE, TRUNCATE) on every table in scope and its
 * partitioned and inheritance parents calls a function that raises. Logical replication workers run with
 * `session_replication_role = replica`, so ordinary triggers do not fire for the apply or the table
 * synchronization ("ALTER TABLE ... ENABLE TRIGGER"); a superuser can do the same on purpose.
 *
 * At ready the function is replaced by one that lets writes through (no table lock, constant time, in
 * the window); the triggers themselves are dropped after ready (`dropTargetGuard`).
 */
function fn(trigger: string): string {
  return `${pg.escapeIdentifier(DMSKIT_SCHEMA)}.${pg.escapeIdentifier(trigger)}`;
}

const REFUSE_BODY = `BEGIN
  RAISE EXCEPTION 'dmskit: %.% on the target is replicated from the source until the cutover: write on the source', TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = 'read_only_sql_transaction';
END`;
const OPEN_BODY = 'BEGIN RETURN NULL; END';

function functionSql(trigger: string, body: string): string {
  return `CREATE OR REPLACE FUNCTION ${fn(trigger)}() RETURNS trigger LANGUAGE plpgsql AS $guard$ ${body} $guard$`;
}

/**
 * Puts the guard on the target's tables in scope (and their parents), idempotently, in one transaction.
 * `CREATE TRIGGER` takes a SHARE ROW EXCLUSIVE lock, which waits for the apply's transaction in flight
 * on that table (at most `lockTimeout`).
 * @returns the guarded tables (parents included)
 * @throws UsageError without the TRIGGER privilege on a table; the server's error otherwise (nothing is
 *   left then)
 */
export async function installTargetGuard(
  target: pg.Client,
  trigger: string,
  tables: readonly TableName[],
  lockTimeout = '10s',
): Promise<TableName[]> {
  const guarded = (await guardedTables(target, { tables, trigger })).tables ?? [];
  if (!guarded.length) return [];
  const t = pg.escapeIdentifier(trigger);
  await target.query('BEGIN');
  try {
    await target.query(`SET LOCAL lock_timeout = ${pg.escapeLiteral(lockTimeout)}`);
    await target.query(`CREATE SCHEMA IF NOT EXISTS ${pg.escapeIdentifier(DMSKIT_SCHEMA)}`);
    await target.query(functionSql(trigger, REFUSE_BODY));
    await target.query(
      guarded
        .map(
          (x) =>
            `DROP TRIGGER IF EXISTS ${t} ON ${qualifiedName(x)}; CREATE TRIGGER ${t} BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${qualifiedName(x)} FOR EACH STATEMENT EXECUTE FUNCTION ${fn(trigger)}()`,
        )
        .join('; '),
    );
    await target.query('COMMIT');
  } catch (error) {
    await target.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  return guarded;
}

/**
 * At ready: lets writes through the guard by replacing its function (no table lock: constant time).
 * Idempotent; does nothing when the guard is not there.
 */
export async function openTargetGuard(target: pg.Client, trigger: string): Promise<boolean> {
  if (!(await guardFunctionExists(target, trigger))) return false;
  await target.query(functionSql(trigger, OPEN_BODY));
  return true;
}

/**
 * While the cutover's application checks run (runbook/app-checks.ts): the guard lets through the writes
 * of a transaction that set `dmskit.application_check` to `token` (the checks roll theirs back), and
 * refuses every other write as before. {@link closeTargetGuard} or {@link openTargetGuard} replaces it.
 */
export async function probeTargetGuard(target: pg.Client, trigger: string, token: string): Promise<boolean> {
  if (!(await guardFunctionExists(target, trigger))) return false;
  const body = `BEGIN
  IF current_setting('${CHECK_SETTING}', true) = ${pg.escapeLiteral(token)} THEN RETURN NULL; END IF;
  ${REFUSE_BODY.replace(/^BEGIN\s*/, '').replace(/END$/, '')}
END`;
  await target.query(functionSql(trigger, body));
  return true;
}

/** Puts the refusing function back (a rollback before the target took any application write). */
export async function closeTargetGuard(target: pg.Client, trigger: string): Promise<boolean> {
  if (!(await guardFunctionExists(target, trigger))) return false;
  await target.query(functionSql(trigger, REFUSE_BODY));
  return true;
}

async function guardFunctionExists(c: pg.Client, trigger: string): Promise<boolean> {
  const { rowCount } = await c.query(
    `SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 AND p.proname = $2`,
    [DMSKIT_SCHEMA, trigger],
  );
  return Boolean(rowCount);
}

/**
 * Drops the guard's triggers (on whatever table carries one of that name, read from `pg_trigger`) and its
 * function. `DROP TRIGGER` takes an ACCESS EXCLUSIVE lock on each table, briefly.
 * @returns how many triggers were dropped
 */
export async function dropTargetGuard(target: pg.Client, trigger: string): Promise<number> {
  const { rows } = await target.query(
    `SELECT n.nspname AS schema, c.relname AS table FROM pg_trigger t
       JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE t.tgname = $1 AND t.tgfoid = to_regprocedure($2)`,
    [trigger, `${fn(trigger)}()`],
  );
  const on = rows as TableName[];
  if (on.length) {
    const t = pg.escapeIdentifier(trigger);
    // After ready the application writes these tables: a drop waits for a lock at most 5 s, not longer.
    await target.query('BEGIN');
    try {
      await target.query("SET LOCAL lock_timeout = '5s'");
      await target.query(on.map((x) => `DROP TRIGGER IF EXISTS ${t} ON ${qualifiedName(x)}`).join('; '));
      await target.query('COMMIT');
    } catch (error) {
      await target.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }
  await target.query(`DROP FUNCTION IF EXISTS ${fn(trigger)}()`);
  await dropDmskitSchemaIfEmpty(target);
  return on.length;
}

/**
 * Reads the guard back on the target: which of `tables` (and their parents) a write is not refused on,
 * in a read-write transaction rolled back.
 * @returns the qualified names of the tables a write would reach; empty when the guard holds
 */
export async function targetGuardGaps(
  target: pg.Client,
  trigger: string,
  tables: readonly TableName[],
): Promise<string[]> {
  const guarded = (await guardedTables(target, { tables, trigger })).tables ?? [];
  if (!guarded.length) return [];
  return writesNotRefused(target, guarded);
}
