import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, userInfo } from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { ExternalError, redact, registerSecret } from '@dmskit/shared';
import pg from 'pg';
import { parse as parseConnectionString } from 'pg-connection-string';

/** A PostgreSQL server to connect to: a `postgres://` URL or node-postgres client options. */
export type ConnectionInput = string | pg.ClientConfig;

/** `host:port/database` of a connection, for messages. Never includes the password. */
export function describeConnection(input: ConnectionInput): string {
  if (typeof input === 'string') {
    try {
      // What the URL leaves out comes from libpq's environment, as the connection takes it.
      const url = new URL(input);
      const env = process.env;
      const host = url.hostname || env.PGHOST || 'localhost';
      const database = url.pathname.length > 1 ? url.pathname : env.PGDATABASE ? `/${env.PGDATABASE}` : '';
      return `${host}:${url.port || env.PGPORT || '5432'}${database}`;
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

/** The passfile libpq reads (PGPASSFILE, else ~/.pgpass) when group or others may read it, else undefined. */
function loosePassfile(): string | undefined {
  const file = process.env.PGPASSFILE ?? path.join(homedir(), '.pgpass');
  try {
    const mode = statSync(file).mode;
    return mode & 0o077 ? file : undefined;
  } catch {
    return undefined;
  }
}

function connectFailure(
  role: string,
  where: string,
  user: string | undefined,
  error: unknown,
): ExternalError {
  const e = error as NodeJS.ErrnoException & { code?: string };
  if (/client password must be a (non-empty )?string/.test(e.message ?? '')) {
    const loose = loosePassfile();
    return new ExternalError(
      `no password supplied for user ${user ?? userInfo().username} at ${role} ${where} (PGPASSWORD, a passfile, or the URL)${loose ? `; the passfile ${loose} was ignored: group or others may read it (chmod 0600 ${loose})` : ''}`,
      { cause: error },
    );
  }
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

type PassfileLookup = (
  connInfo: { host: string; port: number | string; database: string; user: string },
  callback: (password: string | undefined) => void,
) => void;
const pgpass = createRequire(import.meta.url)('pgpass') as PassfileLookup;

/**
 * The password of `connInfo` in the passfile (PGPASSFILE, else ~/.pgpass; only when its mode is 0600 or
 * stricter), read with the `pgpass` package as libpq reads it ("The Password File").
 */
export function passfilePassword(connInfo: {
  host: string;
  port: number | string;
  database: string;
  user: string;
}): Promise<string | undefined> {
  // libpq reads the passfile when the password is empty, PGPASSWORD='' included; pgpass skips the file
  // whenever PGPASSWORD is set at all.
  if (process.env.PGPASSWORD === '') delete process.env.PGPASSWORD;
  return new Promise((resolve) => pgpass(connInfo, resolve)).then((found) => {
    if (found) registerSecret(found as string);
    return found as string | undefined;
  });
}

/**
 * For a URL without a password: the password as libpq finds it, PGPASSWORD, else the passfile (PGPASSFILE
 * or ~/.pgpass, only when its mode is 0600 or stricter: "The Password File"), asked for only when the
 * server wants one.
 */
function passwordFromEnvironment(url: string): Pick<pg.ClientConfig, 'password'> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return {};
  }
  if (u.password) return {};
  return {
    password: async () => {
      if (process.env.PGPASSWORD) return process.env.PGPASSWORD;
      const found = await passfilePassword({
        host: u.hostname || process.env.PGHOST || 'localhost',
        port: u.port || process.env.PGPORT || '5432',
        database: decodeURIComponent(u.pathname.slice(1)) || process.env.PGDATABASE || '',
        user: decodeURIComponent(u.username) || process.env.PGUSER || userInfo().username,
      });
      return found ?? '';
    },
  };
}

/**
 * `sslmode` with libpq's meaning ("SSL Support": `require` encrypts without verifying the certificate,
 * `verify-full` verifies it and the host name) instead of node-postgres' default, which treats `require`
 * as `verify-full` and warns.
 */
export function withLibpqSslmode(url: string): string {
  if (!/[?&]sslmode=/.test(url) || /[?&]uselibpqcompat=/.test(url)) return url;
  return `${url}&uselibpqcompat=true`;
}

/**
 * Opens one client. `role` ("source", "target") names the server in errors.
 * @param options.pinSettings - set {@link PINNED_SETTINGS} on the session (validation and the full load do)
 * @throws ExternalError naming host and port when the server cannot be reached or refuses the login
 */
export async function openConnection(
  input: ConnectionInput,
  role: string,
  options: {
    pinSettings?: boolean;
    applicationName?: string;
    connectTimeoutMs?: number;
    /** A logical replication connection (PostgreSQL: "Streaming Replication Protocol"). */
    replication?: 'database';
    /** The socket node-postgres connects with (its `stream` option; given the connection's `ssl`). */
    stream?: (config: { ssl?: unknown }) => Duplex;
  } = {},
): Promise<pg.Client> {
  // The URL parsed here, not by node-postgres: its own parse would drop the password function.
  const base: pg.ClientConfig =
    typeof input === 'string'
      ? {
          ...(parseConnectionString(withLibpqSslmode(input)) as pg.ClientConfig),
          ...passwordFromEnvironment(input),
        }
      : { ...input };
  const client = new pg.Client({
    ...base,
    application_name: options.applicationName ?? 'dmskit',
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    // Not in @types/pg; node-postgres sends it in the startup message (lib/connection-parameters.js).
    ...((options.replication ? { replication: options.replication } : {}) as pg.ClientConfig),
    ...((options.stream ? { stream: options.stream } : {}) as pg.ClientConfig),
  });
  // An idle client whose server goes away emits 'error'; without a listener that would crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw connectFailure(role, describeConnection(input), base.user, error);
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
