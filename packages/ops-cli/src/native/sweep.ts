import { DMSKIT_SCHEMA, nativeObjectNames } from '@dmskit/shared';
import { type ConnectionInput, closeQuietly, openConnection } from '@dmskit/validation';
import pg from 'pg';
import { runInTransaction } from '../pg/transaction.js';
import { fallbackNames } from '../runbook/fallback.js';
import { dropDmskitSchemaIfEmpty } from '../runbook/watermark.js';
import { dropReplicationSlot, dropSubscription } from './subscription.js';

/** What a sweep of one server found and removed, and the SQL of what it could not. */
export interface SweepResult {
  readonly removed: string[];
  readonly left: string[];
}

/**
 * Every object name one migration gives the objects it creates on either server, both directions: the
 * forward path (publications, slot and subscription), the fall-back path (`_rpub`, `_rslot`, `_rsub`),
 * the fence's write guard, the target guard, the DDL capture, and the `dmskit` schema's tables and
 * functions, all named from `dmskit_<name>_<environment>` (shared/names.ts).
 */
export function migrationObjectNames(config: { name: string; environment: string }) {
  const forward = nativeObjectNames(config);
  const back = fallbackNames(forward);
  return {
    subscriptions: [forward.subscription, back.subscription],
    slots: [forward.slot, back.slot],
    publications: [
      forward.publication,
      forward.insertOnlyPublication,
      back.publication,
      back.insertOnlyPublication,
    ],
    triggers: [forward.fenceTrigger, forward.targetGuard],
    eventTriggers: [`${forward.ddlCapture}_end`, `${forward.ddlCapture}_drop`],
    /** Prefix of the `dmskit` schema's tables and functions of this migration. */
    prefix: forward.watermarkTable.replace(/_watermark$/, '_'),
    fenceTrigger: forward.fenceTrigger,
  };
}

const TRIGGERS_SQL = `
SELECT t.tgname AS name, n.nspname AS schema, c.relname AS table
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE NOT t.tgisinternal AND t.tgname = ANY($1::text[])`;

const DMSKIT_OBJECTS_SQL = `
SELECT 'table' AS kind, c.relname AS name, NULL AS args
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND starts_with(c.relname, $2)
UNION ALL
SELECT 'function', p.proname, pg_get_function_identity_arguments(p.oid)
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = $1 AND starts_with(p.proname, $2)`;

const READ_ONLY_SQL = `
SELECT EXISTS (SELECT 1 FROM pg_db_role_setting rs, unnest(rs.setconfig) s
                WHERE rs.setrole = 0 AND s = 'default_transaction_read_only=on'
                  AND rs.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())) AS on`;

/**
 * Removes from one server's database everything that carries one of this migration's names, whatever the
 * state files say (they may be lost, stale, or of servers recreated since): subscriptions (their remote
 * slot let go first, so an unreachable peer cannot hang it), replication slots of this database,
 * publications, event triggers, the fence's and the target guard's triggers on any table, the `dmskit`
 * schema's tables and functions of this migration (the schema itself when empty). A database left
 * `default_transaction_read_only = on` is reset only where this migration's fence trigger was found: that
 * setting is dmskit's read-only fence, not an operator's choice. Tables and rows of the application are
 * never touched.
 * @returns what was removed (one phrase each) and the SQL of what could not be
 * @throws the connection's error when the server cannot be reached
 */
export async function sweepServer(
  input: ConnectionInput,
  side: 'source' | 'target',
  config: { name: string; environment: string },
): Promise<SweepResult> {
  const names = migrationObjectNames(config);
  const removed: string[] = [];
  const left: string[] = [];
  const c = await openConnection(input, side, { applicationName: 'dmskit-abandon', connectTimeoutMs: 5000 });
  const attempt = async (what: string, sql: string, run: () => Promise<unknown>) => {
    try {
      if ((await run()) !== false) removed.push(`${what} on the ${side}`);
    } catch (error) {
      left.push(`${side}: ${sql} (${(error as Error).message})`);
    }
  };
  try {
    await c.query('SET default_transaction_read_only = off');
    await c.query("SET lock_timeout = '10s'");
    const subs = (
      await c.query(
        'SELECT subname FROM pg_subscription WHERE subname = ANY($1::text[]) AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())',
        [names.subscriptions],
      )
    ).rows as { subname: string }[];
    for (const { subname } of subs) {
      const id = pg.escapeIdentifier(subname);
      await attempt(`subscription ${subname}`, `DROP SUBSCRIPTION ${id};`, async () => {
        // The slot on the other server is swept there, by name: no connection to it is needed here.
        await c.query(`ALTER SUBSCRIPTION ${id} DISABLE`);
        await c.query(`ALTER SUBSCRIPTION ${id} SET (slot_name = NONE)`);
        return dropSubscription(c, subname);
      });
    }
    const slots = (
      await c.query(
        'SELECT slot_name FROM pg_replication_slots WHERE slot_name = ANY($1::text[]) AND database = current_database()',
        [names.slots],
      )
    ).rows as { slot_name: string }[];
    for (const { slot_name } of slots)
      await attempt(`replication slot ${slot_name}`, `SELECT pg_drop_replication_slot('${slot_name}');`, () =>
        dropReplicationSlot(c, slot_name),
      );
    const pubs = (
      await c.query('SELECT pubname FROM pg_publication WHERE pubname = ANY($1::text[])', [
        names.publications,
      ])
    ).rows as { pubname: string }[];
    for (const { pubname } of pubs)
      await attempt(`publication ${pubname}`, `DROP PUBLICATION ${pg.escapeIdentifier(pubname)};`, () =>
        c.query(`DROP PUBLICATION IF EXISTS ${pg.escapeIdentifier(pubname)}`),
      );
    const events = (
      await c.query('SELECT evtname FROM pg_event_trigger WHERE evtname = ANY($1::text[])', [
        names.eventTriggers,
      ])
    ).rows as { evtname: string }[];
    for (const { evtname } of events)
      await attempt(`event trigger ${evtname}`, `DROP EVENT TRIGGER ${pg.escapeIdentifier(evtname)};`, () =>
        c.query(`DROP EVENT TRIGGER IF EXISTS ${pg.escapeIdentifier(evtname)}`),
      );
    const triggers = (await c.query(TRIGGERS_SQL, [names.triggers])).rows as {
      name: string;
      schema: string;
      table: string;
    }[];
    const fenced = triggers.some((t) => t.name === names.fenceTrigger);
    if (triggers.length) {
      const on = triggers.map(
        (t) =>
          `DROP TRIGGER IF EXISTS ${pg.escapeIdentifier(t.name)} ON ${pg.escapeIdentifier(t.schema)}.${pg.escapeIdentifier(t.table)};`,
      );
      await attempt(`${triggers.length} fence or guard trigger(s)`, on.join(' '), () =>
        runInTransaction(c, on),
      );
    }
    if (fenced && ((await c.query(READ_ONLY_SQL)).rows[0] as { on: boolean }).on) {
      const sql = `ALTER DATABASE ${pg.escapeIdentifier(await databaseName(c))} RESET default_transaction_read_only`;
      await attempt('the read-only fence (default_transaction_read_only reset)', `${sql};`, () =>
        c.query(sql),
      );
    }
    const objects = (await c.query(DMSKIT_OBJECTS_SQL, [DMSKIT_SCHEMA, names.prefix])).rows as {
      kind: 'table' | 'function';
      name: string;
      args: string | null;
    }[];
    for (const o of objects) {
      const sql =
        o.kind === 'table'
          ? `DROP TABLE IF EXISTS ${DMSKIT_SCHEMA}.${pg.escapeIdentifier(o.name)}`
          : `DROP FUNCTION IF EXISTS ${DMSKIT_SCHEMA}.${pg.escapeIdentifier(o.name)}(${o.args ?? ''}) CASCADE`;
      await attempt(`${o.kind} ${DMSKIT_SCHEMA}.${o.name}`, `${sql};`, () => c.query(sql));
    }
    await dropDmskitSchemaIfEmpty(c).catch(() => undefined);
    return { removed, left };
  } finally {
    await closeQuietly(c);
  }
}

async function databaseName(c: pg.Client): Promise<string> {
  return ((await c.query('SELECT current_database() AS d')).rows[0] as { d: string }).d;
}

/**
 * What of this migration is on one server's database now, found by name as {@link sweepServer} finds it
 * (read only): one phrase per object, for `dmskit status`.
 * @throws the connection's error when the server cannot be reached
 */
export async function migrationObjectsOn(
  input: ConnectionInput,
  side: 'source' | 'target',
  config: { name: string; environment: string },
): Promise<string[]> {
  const names = migrationObjectNames(config);
  const c = await openConnection(input, side, { applicationName: 'dmskit-status', connectTimeoutMs: 5000 });
  try {
    const { rows } = await c.query(
      `SELECT 'subscription ' || subname || CASE WHEN subenabled THEN '' ELSE ' (disabled)' END AS what FROM pg_subscription
        WHERE subname = ANY($1::text[]) AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
       UNION ALL SELECT 'slot ' || slot_name || CASE WHEN active THEN ' (active)' ELSE ' (inactive)' END FROM pg_replication_slots
        WHERE slot_name = ANY($2::text[]) AND database = current_database()
       UNION ALL SELECT 'publication ' || pubname FROM pg_publication WHERE pubname = ANY($3::text[])
       UNION ALL SELECT 'event trigger ' || evtname FROM pg_event_trigger WHERE evtname = ANY($4::text[])
       UNION ALL SELECT tgname || ' on ' || count(*) || ' table(s)' FROM pg_trigger WHERE tgname = ANY($5::text[]) GROUP BY tgname
       UNION ALL SELECT 'the read-only fence (default_transaction_read_only = on)' FROM pg_db_role_setting rs, unnest(rs.setconfig) s
        WHERE rs.setrole = 0 AND s = 'default_transaction_read_only=on'
          AND rs.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [names.subscriptions, names.slots, names.publications, names.eventTriggers, names.triggers],
    );
    return (rows as { what: string }[]).map((r) => r.what);
  } finally {
    await closeQuietly(c);
  }
}
