import { displayName, UsageError } from '@dmskit/shared';
import type { TableInfo } from '@dmskit/validation';
import type pg from 'pg';

/** Version and replication settings of a server, as read before anything is created. */
export interface ServerFacts {
  /** e.g. 150018 */
  readonly versionNum: number;
  readonly major: number;
  readonly walLevel: string;
}

/** Reads version and `wal_level`. */
export async function serverFacts(client: pg.Client): Promise<ServerFacts> {
  const { rows } = await client.query(
    "SELECT current_setting('server_version_num')::int AS version_num, current_setting('wal_level') AS wal_level",
  );
  const r = rows[0] as { version_num: number; wal_level: string };
  return { versionNum: r.version_num, major: Math.floor(r.version_num / 10_000), walLevel: r.wal_level };
}

/**
 * Refuses a source that cannot feed logical replication, and a target older than the source, before
 * anything is created on either side (PostgreSQL: "Logical Replication > Configuration Settings").
 * @throws UsageError naming the server and the setting to change
 */
export function assertReplicable(
  source: ServerFacts,
  target: ServerFacts,
  where: { source: string; target: string },
): void {
  if (source.walLevel !== 'logical') {
    throw new UsageError(
      `source ${where.source}: wal_level is '${source.walLevel}', logical replication needs 'logical' (ALTER SYSTEM SET wal_level = logical; then restart the server)`,
    );
  }
  if (target.major < source.major) {
    throw new UsageError(
      `target ${where.target} runs PostgreSQL ${target.major}, older than the source's ${source.major}; the target must be at least as new`,
    );
  }
}

/**
 * Refuses a target that already has a table in scope: the pre-data restore would fail half-way, and the
 * initial copy would load on top of existing rows.
 * @throws UsageError naming the first such table
 */
export async function assertTargetEmpty(
  target: pg.Client,
  tables: readonly TableInfo[],
  where: string,
): Promise<void> {
  const { rows } = await target.query(
    `SELECT n.nspname AS schema, c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND (n.nspname, c.relname) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
    [tables.map((t) => t.schema), tables.map((t) => t.table)],
  );
  if (rows.length) {
    const first = rows[0] as { schema: string; table: string };
    throw new UsageError(
      `target ${where} already has table ${displayName(first)} (${rows.length} of the migrated tables exist); migrate into an empty database`,
    );
  }
}

/** The warning for tables whose UPDATE and DELETE cannot be replicated. */
export function replicaIdentityWarning(tables: readonly TableInfo[]): string | undefined {
  const keyless = tables.filter((t) => !t.hasReplicaIdentity);
  if (!keyless.length) return undefined;
  return `${keyless.length} table(s) have no primary key or REPLICA IDENTITY, so their UPDATE and DELETE are not replicated (only INSERT): ${keyless.map(displayName).join(', ')}. Add a primary key or ALTER TABLE ... REPLICA IDENTITY FULL before the migration.`;
}

/**
 * The tables in scope that logical replication cannot carry: UNLOGGED ones write no WAL, so logical
 * decoding never sees their changes and `CREATE PUBLICATION`/`ALTER PUBLICATION ... ADD TABLE` refuse
 * them (PostgreSQL: "CREATE PUBLICATION"). A DMS task reads the same WAL through its slot, so it misses
 * them too (DMS: "Limitations on using a PostgreSQL database as a DMS source").
 * @returns one line naming them and the two ways out, or undefined when there is none
 */
export function unloggedProblem(tables: readonly TableInfo[]): string | undefined {
  const unlogged = tables.filter((t) => t.unlogged);
  if (!unlogged.length) return undefined;
  const names = unlogged.map(displayName);
  const one = unlogged.length === 1;
  return `${names.slice(0, 10).join(', ')}${names.length > 10 ? ` and ${names.length - 10} more` : ''} ${one ? 'is' : 'are'} UNLOGGED: ${one ? 'its' : 'their'} changes never reach the WAL, so replication cannot carry them; ALTER TABLE ... SET LOGGED on the source, or exclude ${one ? 'it' : 'them'} in task.tableMappings`;
}

/**
 * Refuses a scope with an UNLOGGED table before anything is created (see {@link unloggedProblem}).
 * @throws UsageError naming the source and the tables
 */
export function assertLogged(tables: readonly TableInfo[], where: string): void {
  const problem = unloggedProblem(tables);
  if (problem) throw new UsageError(`source ${where}: ${problem}`);
}
