import { UsageError } from '@dmskit/shared';
import { parse } from 'pg-connection-string';

/** The parts of a `postgres://` URL that dmskit needs, parsed by pg-connection-string. */
export interface ConnectionParts {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string | undefined;
  readonly sslmode: string | undefined;
}

/**
 * Parses a `postgres://user:password@host:port/database?sslmode=...` URL.
 * @param flag - the option it came from, named in the error
 * @throws UsageError when it is not a PostgreSQL URL with a host and a database
 */
export function parseConnectionUrl(url: string, flag: string): ConnectionParts {
  if (!/^postgres(ql)?:\/\//.test(url)) throw new UsageError(`${flag}: expected a postgres:// URL`);
  const c = parse(url);
  if (!c.host) throw new UsageError(`${flag}: the URL has no host`);
  if (!c.database) throw new UsageError(`${flag}: the URL has no database name`);
  const sslmode = new URL(url).searchParams.get('sslmode') ?? undefined;
  return {
    host: c.host,
    port: c.port ? Number(c.port) : 5432,
    database: c.database,
    user: c.user ?? process.env.PGUSER ?? 'postgres',
    password: c.password ?? undefined,
    sslmode,
  };
}

/** The same URL without its password (for client programs that read `PGPASSWORD`). */
export function urlWithoutPassword(url: string): string {
  const u = new URL(url);
  u.password = '';
  return u.toString();
}

/** The same server, another database. */
export function urlWithDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/** Quotes a libpq keyword value: single quotes, with `\` and `'` backslash-escaped (libpq: "Connection Strings"). */
function conninfoValue(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * A libpq keyword/value connection string (`host='..' port='..' ...`), the form `CREATE SUBSCRIPTION ...
 * CONNECTION` takes. It contains the password: never print it.
 */
export function toConninfo(parts: ConnectionParts): string {
  const pairs: [string, string | undefined][] = [
    ['host', parts.host],
    ['port', String(parts.port)],
    ['dbname', parts.database],
    ['user', parts.user],
    ['password', parts.password],
    ['sslmode', parts.sslmode],
  ];
  return pairs
    .filter((p): p is [string, string] => p[1] !== undefined && p[1] !== '')
    .map(([k, v]) => `${k}=${conninfoValue(v)}`)
    .join(' ');
}
