import { DMSKIT_SCHEMA } from '@dmskit/shared';
import pg from 'pg';
import { dropDmskitSchemaIfEmpty } from '../runbook/watermark.js';

/*
 * DDL capture on the source while CDC runs. PostgreSQL's logical replication does not replicate DDL
 * ("Logical Replication > Restrictions"): a column added on the source stops the apply at the first row
 * that uses it, a table created there is not replicated at all. Event triggers (PostgreSQL: "Event
 * Triggers") on `ddl_command_end` and `sql_drop` record every DDL command (its text, time, command tag,
 * object and user) into a table of the `dmskit` schema on the source, as DMS's `awsdms_ddl_audit` and
 * pgl_ddl_deploy do; `dmskit status` and the cutover's preconditions read it.
 *
 * The functions are SECURITY DEFINER (an application role needs no privilege on the log), skip temporary
 * objects (a `CREATE TEMP TABLE` in a read-only transaction must keep working) and dmskit's own sessions
 * (their fence and guard triggers), except `dmskit ddl`'s, whose changes are recorded as applied to both.
 * Creating an event trigger needs a superuser; without one, capture is off and the preconditions' schema
 * comparison still sees every difference.
 */

/** One captured DDL command. */
export interface CapturedDdl {
  readonly id: number;
  /** When it ran (ISO). */
  readonly at: string;
  /** The command tag, e.g. `ALTER TABLE`, `CREATE TABLE`, `DROP TABLE`. */
  readonly tag: string;
  /** `table`, `table column`, `index`, ...; null for a GRANT or REVOKE. */
  readonly objectType: string | null;
  /** The object's identity, e.g. `public.ledger`, `public.ledger.note`; null for a GRANT or REVOKE. */
  readonly object: string | null;
  readonly schema: string | null;
  /** The statement's text as the client sent it (`current_query()`). */
  readonly query: string;
  readonly user: string;
  /** `both` when `dmskit ddl` applied it to the target too; null when only the source has it. */
  readonly applied: string | null;
}

function q(name: string): string {
  return `${pg.escapeIdentifier(DMSKIT_SCHEMA)}.${pg.escapeIdentifier(name)}`;
}

/** The DDL that installs the capture: the log table, two functions, two event triggers. */
export function ddlCaptureSql(names: { trigger: string; log: string }): string[] {
  const log = q(names.log);
  const endFn = q(`${names.trigger}_end`);
  const dropFn = q(`${names.trigger}_drop`);
  const skip = `current_setting('application_name') LIKE 'dmskit%' AND current_setting('application_name') <> 'dmskit-ddl'`;
  const applied = `CASE WHEN current_setting('application_name') = 'dmskit-ddl' THEN 'both' END`;
  return [
    `CREATE SCHEMA IF NOT EXISTS ${pg.escapeIdentifier(DMSKIT_SCHEMA)}`,
    `CREATE TABLE IF NOT EXISTS ${log} (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp(),
       tag text NOT NULL, object_type text, object text, schema_name text, query text,
       by_user text NOT NULL DEFAULT session_user, applied text)`,
    `CREATE OR REPLACE FUNCTION ${endFn}() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER
       SET search_path = pg_catalog AS $ddl$
     DECLARE r record;
     BEGIN
       IF ${skip} THEN RETURN; END IF;
       FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
         IF r.schema_name IS DISTINCT FROM '${DMSKIT_SCHEMA}' AND NOT r.in_extension
            AND coalesce(r.schema_name, '') NOT LIKE 'pg\\_temp%' THEN
           BEGIN
             INSERT INTO ${log} (tag, object_type, object, schema_name, query, applied)
             VALUES (r.command_tag, r.object_type, r.object_identity, r.schema_name, current_query(), ${applied});
           EXCEPTION WHEN OTHERS THEN
             -- Never in the application's way: its DDL goes on, the schema comparison still sees it.
             RAISE WARNING 'dmskit DDL capture: % (%)', SQLERRM, r.command_tag;
           END;
         END IF;
       END LOOP;
     END $ddl$`,
    `CREATE OR REPLACE FUNCTION ${dropFn}() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER
       SET search_path = pg_catalog AS $ddl$
     DECLARE r record;
     BEGIN
       IF ${skip} THEN RETURN; END IF;
       FOR r IN SELECT * FROM pg_event_trigger_dropped_objects() LOOP
         IF r.original AND NOT r.is_temporary AND r.schema_name IS DISTINCT FROM '${DMSKIT_SCHEMA}'
            AND r.object_type IN ('table', 'table column', 'schema', 'index', 'type', 'sequence') THEN
           BEGIN
             INSERT INTO ${log} (tag, object_type, object, schema_name, query, applied)
             VALUES (tg_tag, r.object_type, r.object_identity, r.schema_name, current_query(), ${applied});
           EXCEPTION WHEN OTHERS THEN
             RAISE WARNING 'dmskit DDL capture: % (%)', SQLERRM, tg_tag;
           END;
         END IF;
       END LOOP;
     END $ddl$`,
    `DROP EVENT TRIGGER IF EXISTS ${pg.escapeIdentifier(`${names.trigger}_end`)}`,
    `CREATE EVENT TRIGGER ${pg.escapeIdentifier(`${names.trigger}_end`)} ON ddl_command_end EXECUTE FUNCTION ${endFn}()`,
    `DROP EVENT TRIGGER IF EXISTS ${pg.escapeIdentifier(`${names.trigger}_drop`)}`,
    `CREATE EVENT TRIGGER ${pg.escapeIdentifier(`${names.trigger}_drop`)} ON sql_drop EXECUTE FUNCTION ${dropFn}()`,
  ];
}

/**
 * Installs the DDL capture on the source in one transaction (idempotent).
 * @returns null when installed, else why it is off (not a superuser)
 * @throws the server's error for anything but a missing privilege
 */
export async function installDdlCapture(
  source: pg.Client,
  names: { trigger: string; log: string },
): Promise<string | null> {
  const { rows } = await source.query('SELECT rolsuper FROM pg_roles WHERE rolname = current_user');
  if (!(rows[0] as { rolsuper: boolean } | undefined)?.rolsuper)
    return 'DDL capture is off: event triggers need a superuser (the preconditions still compare the schemas)';
  await source.query('BEGIN');
  try {
    for (const sql of ddlCaptureSql(names)) await source.query(sql);
    await source.query('COMMIT');
    return null;
  } catch (error) {
    await source.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Drops the capture's event triggers, functions and log table if they exist. */
export async function dropDdlCapture(
  source: pg.Client,
  names: { trigger: string; log: string },
): Promise<void> {
  await source.query(`DROP EVENT TRIGGER IF EXISTS ${pg.escapeIdentifier(`${names.trigger}_end`)}`);
  await source.query(`DROP EVENT TRIGGER IF EXISTS ${pg.escapeIdentifier(`${names.trigger}_drop`)}`);
  await source.query(`DROP FUNCTION IF EXISTS ${q(`${names.trigger}_end`)}()`);
  await source.query(`DROP FUNCTION IF EXISTS ${q(`${names.trigger}_drop`)}()`);
  await source.query(`DROP TABLE IF EXISTS ${q(names.log)}`);
  await dropDmskitSchemaIfEmpty(source);
}

/**
 * The captured DDL, oldest first (at most `limit`, the newest kept), or null when the capture is not
 * installed.
 */
export async function capturedDdl(
  source: pg.Client,
  log: string,
  limit = 200,
): Promise<CapturedDdl[] | null> {
  const { rowCount } = await source.query(
    'SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2',
    [DMSKIT_SCHEMA, log],
  );
  if (!rowCount) return null;
  const { rows } = await source.query(
    `SELECT * FROM (SELECT id, at, tag, object_type, object, schema_name, query, by_user, applied
                      FROM ${q(log)} ORDER BY id DESC LIMIT $1) x ORDER BY id`,
    [limit],
  );
  return (
    rows as {
      id: string;
      at: Date;
      tag: string;
      object_type: string | null;
      object: string | null;
      schema_name: string | null;
      query: string | null;
      by_user: string;
      applied: string | null;
    }[]
  ).map((r) => ({
    id: Number(r.id),
    at: r.at.toISOString(),
    tag: r.tag,
    objectType: r.object_type,
    object: r.object,
    schema: r.schema_name,
    query: (r.query ?? '').trim(),
    user: r.by_user,
    applied: r.applied,
  }));
}
