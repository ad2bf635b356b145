import { DMSKIT_SCHEMA } from '@dmskit/shared';
import pg from 'pg';
import { runInTransaction } from '../pg/transaction.js';
import { settingSql } from './roles.js';

/**
 * The owner of every object of the schemas in scope on the source that is not the bootstrap superuser's
 * (those become the target's migration user's, as on Aurora, where no superuser exists): schemas,
 * relations (sequences owned by a table follow their table), routines and types. `stmt` is the ALTER
 * statement without its `OWNER TO` part.
 */
const OWNERS_SQL = `
SELECT 'schema' AS kind, n.nspname AS name, format('ALTER SCHEMA %I', n.nspname) AS stmt, r.rolname AS owner, NULL AS schema
  FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner
 WHERE n.nspname = ANY($1::text[]) AND n.nspowner <> 10
UNION ALL
SELECT 'relation', format('%I.%I', n.nspname, c.relname),
       format('ALTER %s %I.%I', CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
                                   WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, n.nspname, c.relname), r.rolname, n.nspname
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_roles r ON r.oid = c.relowner
 WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND c.relowner <> 10
   AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
            AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))
UNION ALL
SELECT 'routine', p.oid::regprocedure::text, format('ALTER ROUTINE %s', p.oid::regprocedure), r.rolname, n.nspname
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_roles r ON r.oid = p.proowner
 WHERE n.nspname = ANY($1::text[]) AND p.proowner <> 10
   AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid AND e.deptype = 'e')
UNION ALL
SELECT 'type', format('%I.%I', n.nspname, t.typname),
       format('ALTER %s %I.%I', CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, n.nspname, t.typname), r.rolname, n.nspname
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_roles r ON r.oid = t.typowner
 WHERE n.nspname = ANY($1::text[]) AND t.typowner <> 10 AND t.typtype IN ('e', 'd', 'r')
   AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_type'::regclass AND e.objid = t.oid AND e.deptype = 'e')`;

interface OwnerRow {
  kind: string;
  name: string;
  stmt: string;
  owner: string;
  /** The schema of the object (null for a schema). */
  schema: string | null;
}

/** What {@link copyOwners} did: statements run, and what it could not give its owner. */
export interface OwnersCopied {
  readonly changed: number;
  readonly notes: readonly string[];
}

/**
 * Gives the target's objects in scope the owners they have on the source, in one transaction (PostgreSQL:
 * "ALTER TABLE", OWNER TO: the new owner must be a role the session can SET ROLE to, so a migration user
 * that is no superuser, as on Aurora, is first made a member of each owner it lacks). An object missing on
 * the target, or whose owner does not exist there, is skipped and said.
 * @param schemas - the schemas of the tables in scope
 */
export async function copyOwners(
  source: pg.Client,
  target: pg.Client,
  schemas: readonly string[],
): Promise<OwnersCopied> {
  const wanted = (await source.query(OWNERS_SQL, [schemas.filter((s) => s !== DMSKIT_SCHEMA)]))
    .rows as OwnerRow[];
  if (!wanted.length) return { changed: 0, notes: [] };
  const { rows: there } = await target.query(OWNERS_SQL.replace(/<> 10/g, '<> 0'), [schemas]);
  const onTarget = new Map((there as OwnerRow[]).map((r) => [`${r.kind} ${r.name}`, r.owner]));
  const roles = new Set(
    ((await target.query('SELECT rolname FROM pg_roles')).rows as { rolname: string }[]).map(
      (r) => r.rolname,
    ),
  );
  const me = (
    await target.query(
      "SELECT current_user AS name, rolsuper AS su, ARRAY(SELECT b.rolname FROM pg_roles b WHERE pg_has_role(current_user, b.oid, 'MEMBER')) AS member_of FROM pg_roles WHERE rolname = current_user",
    )
  ).rows[0] as { name: string; su: boolean; member_of: string[] };
  const memberOf = new Set(me.member_of);
  const notes: string[] = [];
  const statements: string[] = [];
  const joined = new Set<string>();
  const lent = new Set<string>();
  const after: string[] = [];
  for (const w of wanted) {
    const current = onTarget.get(`${w.kind} ${w.name}`);
    if (current === undefined) continue; // not on the target (not in scope)
    if (current === w.owner) continue;
    if (!roles.has(w.owner)) {
      notes.push(`${w.kind} ${w.name}: owner ${w.owner} does not exist on the target, kept ${current}`);
      continue;
    }
    if (!me.su && !memberOf.has(w.owner) && !joined.has(w.owner)) {
      joined.add(w.owner);
      statements.push(`GRANT ${pg.escapeIdentifier(w.owner)} TO ${pg.escapeIdentifier(me.name)}`);
      notes.push(`the migration user ${me.name} was made a member of ${w.owner} (to give it its objects)`);
    }
    // The new owner of an object must have CREATE on its schema, unless a superuser changes it (PostgreSQL:
    // "ALTER TABLE", OWNER TO): granted for the change and taken back, the schema's own privileges are
    // restored after from the source's (restorePrivileges).
    if (!me.su && w.schema) {
      const key = `${w.schema}\u0000${w.owner}`;
      if (!lent.has(key)) {
        const { rows } = await target.query("SELECT has_schema_privilege($1, $2, 'CREATE') AS ok", [
          w.owner,
          w.schema,
        ]);
        if (!(rows[0] as { ok: boolean }).ok) {
          lent.add(key);
          statements.push(
            `GRANT CREATE ON SCHEMA ${pg.escapeIdentifier(w.schema)} TO ${pg.escapeIdentifier(w.owner)}`,
          );
          after.push(
            `REVOKE CREATE ON SCHEMA ${pg.escapeIdentifier(w.schema)} FROM ${pg.escapeIdentifier(w.owner)}`,
          );
        } else lent.add(key);
      }
    }
    statements.push(`${w.stmt} OWNER TO ${pg.escapeIdentifier(w.owner)}`);
  }
  statements.push(...after);
  if (!statements.length) return { changed: 0, notes };
  await runInTransaction(target, statements);
  return { changed: statements.filter((s) => s.includes(' OWNER TO ')).length, notes };
}

/**
 * The migrated database's own settings (`ALTER DATABASE ... SET`) from the source to the target, but
 * never `default_transaction_read_only` (the read-only fence's, not the application's).
 * @returns the settings copied (`name=value`)
 */
export async function copyDatabaseSettings(source: pg.Client, target: pg.Client): Promise<string[]> {
  const { rows } = await source.query(
    `SELECT unnest(setconfig) AS s FROM pg_db_role_setting
      WHERE setrole = 0 AND setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())`,
  );
  const settings = (rows as { s: string }[])
    .map((r) => r.s)
    .filter((s) => !s.startsWith('default_transaction_read_only='));
  if (!settings.length) return [];
  const db = ((await target.query('SELECT current_database() AS d')).rows[0] as { d: string }).d;
  for (const s of settings) await target.query(`ALTER DATABASE ${pg.escapeIdentifier(db)} ${settingSql(s)}`);
  return settings;
}
