import { userInfo } from 'node:os';
import { UsageError } from '@dmskit/shared';
import { passfilePassword } from '@dmskit/validation';
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

/** The authority of a URL (`user:password@host:port`), without its user and password. */
function hostPart(url: string): string {
  const rest = url.replace(/^postgres(ql)?:\/\//, '');
  const end = rest.search(/[/?]/);
  const authority = end === -1 ? rest : rest.slice(0, end);
  const at = authority.lastIndexOf('@');
  return at === -1 ? authority : authority.slice(at + 1);
}

/**
 * What is wrong with a postgres:// URL, in words that never repeat its password; undefined when the
 * WHATWG URL parser and the port range accept it (RFC 3986: a `#`, `@`, `/` or `?` in the user or the
 * password is written percent-encoded).
 */
function urlProblem(url: string): string | undefined {
  const rest = url.replace(/^postgres(ql)?:\/\//, '');
  const hash = rest.indexOf('#');
  if (hash !== -1 && rest.slice(hash).includes('@'))
    return "a '#' in the user or password must be percent-encoded as %23 (and '@' as %40, '/' as %2F, '?' as %3F)";
  if (hash !== -1) return "the URL has a '#' fragment, which a connection URL cannot have";
  const host = hostPart(url);
  if (host.startsWith('[') && !host.includes(']'))
    return `the IPv6 address '${host}' has no closing ']' (postgres://user@[::1]:5432/db)`;
  const port = host.startsWith('[')
    ? host.slice(host.indexOf(']') + 1).replace(/^:/, '')
    : host.split(':')[1];
  if (port !== undefined && port !== '') {
    if (!/^\d+$/.test(port)) return `port '${port}' is not a number`;
    if (Number(port) < 1 || Number(port) > 65535) return `port ${port} is out of range (1-65535)`;
  }
  try {
    new URL(url);
  } catch {
    return `not a valid URL (host '${host}'); special characters in the user or password must be percent-encoded`;
  }
  return undefined;
}

/**
 * Parses a `postgres://user:password@host:port/database?sslmode=...` URL. What the URL leaves out comes
 * from libpq's environment, as psql and pg_dump take it ("Environment Variables"): PGHOST, PGPORT,
 * PGDATABASE, PGUSER, PGSSLMODE; the password is looked up later ({@link resolvePassword}).
 * @param flag - the option it came from, named in the error
 * @throws UsageError naming the flag when it is not a PostgreSQL URL (a bad port, an unclosed IPv6
 *   bracket, an unencoded `#`), or no host or database is given either way
 */
export function parseConnectionUrl(url: string, flag: string): ConnectionParts {
  if (!/^postgres(ql)?:\/\//.test(url))
    throw new UsageError(`${flag}: expected a postgres://user@host:port/database URL`);
  const problem = urlProblem(url);
  if (problem) throw new UsageError(`${flag}: ${problem}`);
  const c = parse(url);
  const env = process.env;
  const host = c.host || env.PGHOST;
  const database = c.database || env.PGDATABASE;
  if (!host) throw new UsageError(`${flag}: the URL has no host (and PGHOST is not set)`);
  if (!database) throw new UsageError(`${flag}: the URL has no database name (and PGDATABASE is not set)`);
  const sslmode = new URL(url).searchParams.get('sslmode') ?? env.PGSSLMODE ?? undefined;
  return {
    host,
    port: c.port ? Number(c.port) : env.PGPORT ? Number(env.PGPORT) : 5432,
    database,
    user: c.user || env.PGUSER || userInfo().username,
    password: c.password || undefined,
    sslmode,
  };
}

/**
 * The password of a connection as libpq finds it: the URL's, else PGPASSWORD, else the passfile
 * (PGPASSFILE or ~/.pgpass, only when its mode is 0600 or stricter: "The Password File").
 * @returns undefined when there is none (a server that trusts, or a certificate)
 */
export async function resolvePassword(parts: ConnectionParts): Promise<string | undefined> {
  if (parts.password) return parts.password;
  if (process.env.PGPASSWORD) return process.env.PGPASSWORD;
  return passfilePassword({ host: parts.host, port: parts.port, database: parts.database, user: parts.user });
}

/**
 * The conninfo a subscription connects with (`CREATE SUBSCRIPTION ... CONNECTION`), the password found
 * as libpq finds it: a subscription runs in the server, which has neither dmskit's environment nor its
 * passfile. It contains the password: never print it.
 */
export async function subscriptionConninfo(url: string, flag: string): Promise<string> {
  const parts = parseConnectionUrl(url, flag);
  const password = await resolvePassword(parts);
  return toConninfo({ ...parts, password });
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

/**
 * The environment a PostgreSQL client program needs for a URL's password: `PGPASSWORD` when the URL has
 * one (the program gets {@link urlWithoutPassword}, so no password is on its command line), else none
 * (libpq then reads PGPASSWORD or the passfile itself).
 */
export function passwordEnv(url: string): Record<string, string> {
  const password = decodeURIComponent(new URL(url).password);
  return password ? { PGPASSWORD: password } : {};
}
