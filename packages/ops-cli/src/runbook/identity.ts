import { UsageError } from '@dmskit/shared';
import type pg from 'pg';

/**
 * Which server and database a record was made on, beyond its address: a server destroyed and made again
 * at the same address (a new initdb, a restored snapshot under a new cluster) has another
 * `system_identifier` (PostgreSQL: "pg_control_system", set by initdb), and a database dropped and
 * created again another OID.
 */
export interface ServerIdentity {
  /** pg_control_system().system_identifier, as text (a 64-bit number); null where it cannot be read. */
  readonly systemIdentifier: string | null;
  /** The database's OID (pg_database.oid). */
  readonly databaseOid: number;
}

/** The identity of the server and database `client` is connected to. */
export async function serverIdentity(client: pg.Client): Promise<ServerIdentity> {
  const oid = Number(
    (
      (await client.query('SELECT oid FROM pg_database WHERE datname = current_database()')).rows[0] as {
        oid: string;
      }
    ).oid,
  );
  // pg_control_system() may be refused to a role without the privilege (SQLSTATE 42501): the OID alone.
  const system = await client
    .query('SELECT system_identifier::text AS id FROM pg_control_system()')
    .then((r) => (r.rows[0] as { id: string }).id)
    .catch(() => null);
  return { systemIdentifier: system, databaseOid: oid };
}

/** The identities of both sides of a migration, as a record keeps them. */
export interface MigrationServers {
  readonly source: ServerIdentity;
  readonly target: ServerIdentity;
}

function differs(a: ServerIdentity, b: ServerIdentity): boolean {
  if (a.databaseOid !== b.databaseOid) return true;
  return (
    a.systemIdentifier !== null && b.systemIdentifier !== null && a.systemIdentifier !== b.systemIdentifier
  );
}

function describe(i: ServerIdentity): string {
  return `system ${i.systemIdentifier ?? '?'}, database OID ${i.databaseOid}`;
}

/**
 * What differs between the servers a record names and the servers reached now, one phrase per side
 * (`the source 127.0.0.1:5432/shop was system 73..., database OID 16384 and is system 74..., database OID
 * 16385`); empty when they are the same, or when the record predates identities.
 */
export function serversChanged(
  recorded: MigrationServers | undefined,
  now: MigrationServers,
  where: { source: string; target: string },
): string[] {
  if (!recorded) return [];
  const out: string[] = [];
  for (const side of ['source', 'target'] as const)
    if (differs(recorded[side], now[side]))
      out.push(`the ${side} ${where[side]} was ${describe(recorded[side])} and is ${describe(now[side])}`);
  return out;
}

/**
 * Refuses a record made on other servers than those reached now (recreated at the same address).
 * @param what - the record (`the start state .dmskit/start-shop-prod.json`)
 * @throws UsageError (exit 2) naming both identities and the command that clears the record
 */
export function assertSameServers(
  what: string,
  recorded: MigrationServers | undefined,
  now: MigrationServers,
  where: { source: string; target: string },
): void {
  const changed = serversChanged(recorded, now, where);
  if (changed.length)
    throw new UsageError(
      `${what} was made on other servers: ${changed.join('; ')} (recreated at the same address?): run dmskit abandon --target-url ... (it drops the records of other servers and removes by name what is on these), then start again`,
    );
}
