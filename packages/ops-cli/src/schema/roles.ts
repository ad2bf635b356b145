import { registerSecret, type TableName, UsageError } from '@dmskit/shared';
import pg from 'pg';
import { runInTransaction } from '../pg/transaction.js';

/** A role of the source as `dmskit roles` copies it (PostgreSQL: "CREATE ROLE", "pg_authid"). */
export interface SourceRole {
  readonly name: string;
  readonly superuser: boolean;
  readonly inherit: boolean;
  readonly createRole: boolean;
  readonly createDb: boolean;
  readonly login: boolean;
  readonly replication: boolean;
  readonly bypassRls: boolean;
  /** -1: no limit. */
  readonly connectionLimit: number;
  /** ISO time, or null. */
  readonly validUntil: string | null;
  /**
   * The stored password: a SCRAM-SHA-256 verifier (`SCRAM-SHA-256$...`), an MD5 hash (`md5...`), null
   * (none), or undefined when it cannot be read (pg_authid needs a superuser).
   */
  readonly password: string | null | undefined;
  /** Roles this one is a member of, with ADMIN OPTION or not. */
  readonly memberOf: readonly { readonly role: string; readonly admin: boolean }[];
  /** `ALTER ROLE ... SET` settings: for every database, and for the migrated one. */
  readonly settings: readonly string[];
  readonly databaseSettings: readonly string[];
}

/**
 * The roles the objects in scope need, on the source: owners of the schemas of the tables in scope and of
 * every relation, function and type in them; grantees of their privileges (columns too); roles of
 * `ALTER DEFAULT PRIVILEGES` in those schemas or everywhere; roles of row-level security policies; roles
 * named in the config; then, recursively, the roles that are members of those (they use the privileges),
 * and the roles all of these are members of (their memberships are copied). Predefined roles (`pg_*`),
 * PUBLIC and the bootstrap superuser are not in it.
 */
const ROLES_IN_SCOPE_SQL = `
WITH RECURSIVE
sch AS (SELECT oid FROM pg_namespace WHERE nspname = ANY($1::text[])),
rel AS (SELECT c.oid, c.relowner, c.relacl FROM pg_class c WHERE c.relnamespace IN (SELECT oid FROM sch) AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')),
direct(r) AS (
  SELECT nspowner FROM pg_namespace WHERE oid IN (SELECT oid FROM sch)
  UNION SELECT (aclexplode(nspacl)).grantee FROM pg_namespace WHERE oid IN (SELECT oid FROM sch) AND nspacl IS NOT NULL
  UNION SELECT relowner FROM rel
  UNION SELECT (aclexplode(relacl)).grantee FROM rel WHERE relacl IS NOT NULL
  UNION SELECT (aclexplode(a.attacl)).grantee FROM pg_attribute a WHERE a.attrelid IN (SELECT oid FROM rel) AND a.attacl IS NOT NULL
  UNION SELECT proowner FROM pg_proc WHERE pronamespace IN (SELECT oid FROM sch)
  UNION SELECT (aclexplode(proacl)).grantee FROM pg_proc WHERE pronamespace IN (SELECT oid FROM sch) AND proacl IS NOT NULL
  UNION SELECT typowner FROM pg_type WHERE typnamespace IN (SELECT oid FROM sch) AND typtype IN ('e', 'd', 'c', 'r', 'm') AND typrelid = 0
  UNION SELECT defaclrole FROM pg_default_acl WHERE defaclnamespace = 0 OR defaclnamespace IN (SELECT oid FROM sch)
  UNION SELECT (aclexplode(defaclacl)).grantee FROM pg_default_acl WHERE defaclnamespace = 0 OR defaclnamespace IN (SELECT oid FROM sch)
  UNION SELECT unnest(polroles) FROM pg_policy WHERE polrelid IN (SELECT oid FROM rel)
  UNION SELECT oid FROM pg_roles WHERE rolname = ANY($2::text[])
),
members(r) AS (
  SELECT r FROM direct
  UNION SELECT m.member FROM pg_auth_members m JOIN members c ON m.roleid = c.r
),
closure(r) AS (
  SELECT r FROM members
  UNION SELECT m.roleid FROM pg_auth_members m JOIN closure c ON m.member = c.r
)
SELECT rolname FROM pg_roles
 WHERE oid IN (SELECT r FROM closure) AND oid <> 10 AND rolname !~ '^pg_'
 ORDER BY rolname`;

const ROLE_SQL = (authid: boolean) => `
SELECT r.rolname AS name, r.rolsuper AS superuser, r.rolinherit AS inherit, r.rolcreaterole AS create_role,
       r.rolcreatedb AS create_db, r.rolcanlogin AS login, r.rolreplication AS replication,
       r.rolbypassrls AS bypass_rls, r.rolconnlimit AS connection_limit,
       to_char(r.rolvaliduntil AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS valid_until,
       ${authid ? 'r.rolpassword' : 'NULL::text'} AS password,
       coalesce((SELECT json_agg(json_build_object('role', g.rolname, 'admin', m.admin_option) ORDER BY g.rolname)
                   FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid), '[]') AS member_of,
       coalesce((SELECT s.setconfig FROM pg_db_role_setting s WHERE s.setrole = r.oid AND s.setdatabase = 0), '{}') AS settings,
       coalesce((SELECT s.setconfig FROM pg_db_role_setting s, pg_database d
                  WHERE s.setrole = r.oid AND s.setdatabase = d.oid AND d.datname = current_database()), '{}') AS database_settings
  FROM ${authid ? 'pg_authid' : 'pg_roles'} r
 WHERE r.rolname = ANY($1::text[])
 ORDER BY r.rolname`;

interface RoleRow {
  name: string;
  superuser: boolean;
  inherit: boolean;
  create_role: boolean;
  create_db: boolean;
  login: boolean;
  replication: boolean;
  bypass_rls: boolean;
  connection_limit: number;
  valid_until: string | null;
  password: string | null;
  member_of: { role: string; admin: boolean }[];
  settings: string[];
  database_settings: string[];
}

function toRole(r: RoleRow, passwordKnown: boolean): SourceRole {
  if (r.password) registerSecret(r.password);
  return {
    name: r.name,
    superuser: r.superuser,
    inherit: r.inherit,
    createRole: r.create_role,
    createDb: r.create_db,
    login: r.login,
    replication: r.replication,
    bypassRls: r.bypass_rls,
    connectionLimit: r.connection_limit,
    validUntil: r.valid_until,
    password: passwordKnown ? r.password : undefined,
    memberOf: r.member_of,
    settings: r.settings,
    databaseSettings: r.database_settings,
  };
}

/**
 * The roles in scope on the source (see ROLES_IN_SCOPE_SQL), with their attributes, memberships,
 * settings and stored password (read from pg_authid when the session may; else `password` is undefined).
 * Passwords are registered as secrets: `redact` hides them in any output.
 * @param schemas - the schemas of the tables in scope
 * @param named - roles the config lists (`roles.include`)
 */
export async function readSourceRoles(
  source: pg.Client,
  schemas: readonly string[],
  named: readonly string[] = [],
): Promise<SourceRole[]> {
  const names = (
    (await source.query(ROLES_IN_SCOPE_SQL, [schemas, named])).rows as { rolname: string }[]
  ).map((r) => r.rolname);
  if (!names.length) return [];
  let rows: RoleRow[];
  let known = true;
  try {
    rows = (await source.query(ROLE_SQL(true), [names])).rows as RoleRow[];
  } catch {
    known = false;
    rows = (await source.query(ROLE_SQL(false), [names])).rows as RoleRow[];
  }
  return rows.map((r) => toRole(r, known));
}

/** What the target has of roles: those that exist, their memberships, and Aurora's own roles. */
interface TargetRoles {
  readonly existing: Map<string, RoleRow>;
  readonly superuser: boolean;
  readonly currentUser: string;
}

async function readTargetRoles(target: pg.Client, names: readonly string[]): Promise<TargetRoles> {
  const rows = (await target.query(ROLE_SQL(false), [[...names, 'rds_superuser', 'rds_replication']]))
    .rows as RoleRow[];
  const me = (
    await target.query(
      'SELECT current_user AS name, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS su',
    )
  ).rows[0] as { name: string; su: boolean };
  return { existing: new Map(rows.map((r) => [r.name, r])), superuser: me.su, currentUser: me.name };
}

/** One statement of a role plan, and how it is printed (a password verifier masked). */
export interface RoleStatement {
  readonly sql: string;
  readonly shown: string;
}

/** What `dmskit roles` does on the target, and what it says of each role. */
export interface RolePlan {
  readonly roles: readonly string[];
  readonly statements: readonly RoleStatement[];
  /** Per role: created, mapped or dropped attributes, passwords that could not be copied. */
  readonly notes: readonly string[];
  /** Roles that exist on the target and differ from the source's (changed only with `updateRoles`). */
  readonly differences: readonly string[];
  /** Roles that cannot be made as they are (an MD5 password): the start refuses them. */
  readonly refused: readonly string[];
}

// GUCs whose value is a list: each element quoted apart (as pg_dumpall does, "GUC_LIST_QUOTE").
const LIST_SETTINGS = new Set([
  'search_path',
  'temp_tablespaces',
  'session_preload_libraries',
  'local_preload_libraries',
  'shared_preload_libraries',
]);

/** `name=value` of pg_db_role_setting as the tail of `ALTER ROLE ... SET`. */
export function settingSql(setting: string): string {
  const at = setting.indexOf('=');
  const name = setting.slice(0, at);
  const value = setting.slice(at + 1);
  const values = LIST_SETTINGS.has(name.toLowerCase())
    ? value.split(',').map((v) => v.trim().replace(/^"(.*)"$/, '$1'))
    : [value];
  return `SET ${pg.escapeIdentifier(name)} TO ${values.map((v) => pg.escapeLiteral(v)).join(', ')}`;
}

function attributes(r: SourceRole, alter = false): string {
  return [
    r.login ? 'LOGIN' : 'NOLOGIN',
    r.inherit ? 'INHERIT' : 'NOINHERIT',
    r.createDb ? 'CREATEDB' : 'NOCREATEDB',
    r.createRole ? 'CREATEROLE' : 'NOCREATEROLE',
    `CONNECTION LIMIT ${r.connectionLimit}`,
    // A new role without an expiry gets none; one altered back to none, 'infinity'.
    r.validUntil ? `VALID UNTIL ${pg.escapeLiteral(r.validUntil)}` : alter ? "VALID UNTIL 'infinity'" : '',
  ]
    .filter(Boolean)
    .join(' ');
}

function differsOnTarget(r: SourceRole, t: RoleRow): string[] {
  const out: string[] = [];
  const pairs: [string, unknown, unknown][] = [
    ['LOGIN', r.login, t.login],
    ['INHERIT', r.inherit, t.inherit],
    ['CREATEDB', r.createDb, t.create_db],
    ['CREATEROLE', r.createRole, t.create_role],
    ['CONNECTION LIMIT', r.connectionLimit, t.connection_limit],
    // 'infinity' reads back as no expiry.
    ['VALID UNTIL', r.validUntil, t.valid_until?.startsWith('infinity') ? null : t.valid_until],
  ];
  for (const [what, a, b] of pairs)
    if (a !== b) out.push(`${what} ${String(a)} on the source, ${String(b)} on the target`);
  const has = new Set(t.member_of.map((m) => m.role));
  for (const m of r.memberOf) if (!has.has(m.role)) out.push(`not a member of ${m.role} on the target`);
  return out;
}

/**
 * The plan that makes the roles in scope exist on the target as Aurora PostgreSQL allows them (PostgreSQL
 * "CREATE ROLE"; Aurora: "Understanding PostgreSQL roles and permissions"): attributes, connection limit,
 * validity, memberships (with ADMIN OPTION), `ALTER ROLE ... SET` settings (everywhere, and in the
 * migrated database), and the password's SCRAM-SHA-256 verifier as stored on the source (the application's
 * password then works unchanged; never printed). SUPERUSER becomes membership of `rds_superuser` and
 * REPLICATION of `rds_replication` where the target has them, else they are dropped; BYPASSRLS is dropped;
 * each is said per role. An MD5 password is refused (Aurora PostgreSQL 14 and later store SCRAM-SHA-256:
 * `password_encryption`). Roles the target has already are compared, and changed only with `updateRoles`.
 */
export async function planRoles(
  roles: readonly SourceRole[],
  target: pg.Client,
  options: { database: string; updateRoles?: boolean },
): Promise<RolePlan> {
  const t = await readTargetRoles(
    target,
    roles.map((r) => r.name),
  );
  const create: RoleStatement[] = [];
  const grants: RoleStatement[] = [];
  const notes: string[] = [];
  const differences: string[] = [];
  const refused: string[] = [];
  const inPlan = new Set(roles.map((r) => r.name));
  for (const r of roles) {
    const id = pg.escapeIdentifier(r.name);
    const there = t.existing.get(r.name);
    const changes: string[] = [];
    if (there) {
      const diff = differsOnTarget(r, there);
      if (!diff.length) continue;
      if (!options.updateRoles) {
        differences.push(
          `role ${r.name} exists on the target and differs: ${diff.join('; ')} (--update-roles changes it)`,
        );
        continue;
      }
    }
    let password = '';
    let shown = '';
    if (r.password?.startsWith('SCRAM-SHA-256$')) {
      password = ` PASSWORD ${pg.escapeLiteral(r.password)}`;
      shown = " PASSWORD '<SCRAM-SHA-256 verifier>'";
    } else if (r.password?.startsWith('md5')) {
      if (!there)
        refused.push(
          `role ${r.name} has an MD5 password, which Aurora PostgreSQL 14 and later do not take (password_encryption = scram-sha-256): set it again on the source with SET password_encryption = 'scram-sha-256' then \\password ${r.name}, or create ${r.name} on the target yourself`,
        );
      continue;
    } else if (r.password === undefined && r.login) {
      changes.push(
        'its password could not be read on the source (pg_authid needs a superuser): set it on the target',
      );
    }
    const sql = there
      ? `ALTER ROLE ${id} WITH ${attributes(r, true)}${password}`
      : `CREATE ROLE ${id} WITH ${attributes(r)}${password}`;
    create.push({ sql, shown: `${sql.slice(0, sql.length - password.length)}${shown}` });
    if (r.superuser) {
      if (t.existing.has('rds_superuser')) {
        grants.push(plain(`GRANT rds_superuser TO ${id}`));
        changes.push('SUPERUSER mapped to membership of rds_superuser');
      } else
        changes.push('SUPERUSER dropped (the target has no rds_superuser, and Aurora allows no superuser)');
    }
    if (r.replication) {
      if (t.existing.has('rds_replication')) {
        grants.push(plain(`GRANT rds_replication TO ${id}`));
        changes.push('REPLICATION mapped to membership of rds_replication');
      } else changes.push('REPLICATION dropped (Aurora: membership of rds_replication)');
    }
    if (r.bypassRls) changes.push('BYPASSRLS dropped (Aurora does not allow it)');
    for (const m of r.memberOf) {
      if (there?.member_of.some((x) => x.role === m.role)) continue;
      if (!inPlan.has(m.role) && !t.existing.has(m.role) && !m.role.startsWith('pg_')) {
        changes.push(`membership of ${m.role} dropped (not on the target)`);
        continue;
      }
      grants.push(
        plain(`GRANT ${pg.escapeIdentifier(m.role)} TO ${id}${m.admin ? ' WITH ADMIN OPTION' : ''}`),
      );
    }
    for (const s of r.settings) grants.push(plain(`ALTER ROLE ${id} ${settingSql(s)}`));
    for (const s of r.databaseSettings)
      grants.push(
        plain(`ALTER ROLE ${id} IN DATABASE ${pg.escapeIdentifier(options.database)} ${settingSql(s)}`),
      );
    notes.push(
      `role ${r.name}: ${there ? 'updated' : 'created'}${changes.length ? ` (${changes.join('; ')})` : ''}`,
    );
  }
  return {
    roles: roles.map((r) => r.name),
    statements: [...create, ...grants],
    notes,
    differences,
    refused,
  };
}

function plain(sql: string): RoleStatement {
  return { sql, shown: sql };
}

/**
 * Runs a role plan on the target in one transaction: all of it or nothing.
 * @throws UsageError (exit 2) for refused roles (before anything runs), naming each
 */
export async function applyRoles(target: pg.Client, plan: RolePlan): Promise<void> {
  if (plan.refused.length) throw new UsageError(plan.refused.join('; '));
  if (!plan.statements.length) return;
  await runInTransaction(
    target,
    plan.statements.map((s) => s.sql),
  );
}

/**
 * The roles a config names (`cutover.applicationRoles`, the roles of `cutover.applicationChecks`): copied
 * whether or not an object in scope names them.
 */
export function configRoles(config: {
  cutover: { applicationRoles: readonly string[]; applicationChecks: readonly { role: string }[] };
}): string[] {
  return [
    ...new Set([...config.cutover.applicationRoles, ...config.cutover.applicationChecks.map((c) => c.role)]),
  ];
}

/** The schemas of tables, for {@link readSourceRoles}. */
export function schemasOf(tables: readonly TableName[]): string[] {
  return [...new Set(tables.map((t) => t.schema))].sort();
}
