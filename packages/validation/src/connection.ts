import { ExternalError, redact } from '@dmskit/shared';
import pg from 'pg';

/** A PostgreSQL server to connect to: a `postgres://` URL or node-postgres client options. */
export type ConnectionInput = string | pg.ClientConfig;

/** `host:port/database` of a connection, for messages. Never includes the password. */
export function describeConnection(input: ConnectionInput): string {
  if (typeof input === 'string') {
    try {
      const url = new URL(input);
      return `${url.hostname || 'localhost'}:${url.port || '5432'}${url.pathname || ''}`;
    } catch {
      return redact(input);
    }
  }
  return `${input.host ?? 'localhost'}:${input.port ?? 5432}/${input.database ?? ''}`;
}

/**
 * The session settings that change how values print as text; pinned on every validation session so that
 * `ROW(...)::text` of the same row is the same string on both servers (PostgreSQL: "Client Connection
 * Defaults"; `extra_float_digits = 3` prints float8 exactly, shortest round-trip since PostgreSQL 12).
 */
export const PINNED_SETTINGS: Readonly<Record<string, string>> = {
  TimeZone: 'UTC',
  DateStyle: 'ISO, YMD',
  IntervalStyle: 'postgres',
  extra_float_digits: '3',
  bytea_output: 'hex',
  lc_monetary: 'C',
  lc_numeric: 'C',
};

function connectFailure(role: string, where: string, error: unknown): ExternalError {
  const e = error as NodeJS.ErrnoException & { code?: string };
  const reason =
    e.code === 'ECONNREFUSED'
      ? 'connection refused'
      : e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN'
        ? 'host not found'
        : e.code === 'ETIMEDOUT'
          ? 'timed out'
          : redact(e.message ?? String(error));
  return new ExternalError(`cannot connect to ${role} ${where}: ${reason}`, { cause: error });
}

/**
 * Opens one client. `role` ("source", "target") names the server in errors.
 * @param options.pinSettings - set {@link PINNED_SETTINGS} on the session (validation does)
 * @throws ExternalError naming host and port when the server cannot be reached or refuses the login
 */
export async function openConnection(
  input: ConnectionInput,
  role: string,
  options: { pinSettings?: boolean; applicationName?: string; connectTimeoutMs?: number } = {},
): Promise<pg.Client> {
  const base: pg.ClientConfig = typeof input === 'string' ? { connectionString: input } : { ...input };
  const client = new pg.Client({
    ...base,
    application_name: options.applicationName ?? 'dmskit',
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
  });
  // An idle client whose server goes away emits 'error'; without a listener that would crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw connectFailure(role, describeConnection(input), error);
  }
  if (options.pinSettings) {
    const sets = Object.entries(PINNED_SETTINGS)
      .map(([name, value]) => `SET ${name} = ${pg.escapeLiteral(value)}`)
      .join('; ');
    await client.query(sets);
  }
  return client;
}

/** Closes a client, ignoring a connection that is already gone. */
export async function closeQuietly(client: pg.Client | undefined): Promise<void> {
  if (client) await client.end().catch(() => undefined);
}
