import { execFile } from 'node:child_process';
import { access, readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { ExternalError, UsageError } from '@dmskit/shared';

const run = promisify(execFile);

/** A PostgreSQL client program found on this machine. */
export interface PgTool {
  readonly path: string;
  /** Major version, e.g. 15. */
  readonly major: number;
  readonly version: string;
}

/** Folders searched for `pg_dump` and `pg_restore` besides `$PATH`: `$DMSKIT_PG_BIN`, then Debian's and the usual prefixes. */
function candidateDirs(): string[] {
  const dirs = [process.env.DMSKIT_PG_BIN, ...(process.env.PATH ?? '').split(path.delimiter)];
  return dirs.filter((d): d is string => Boolean(d));
}

async function versionedDirs(): Promise<string[]> {
  const roots = ['/usr/lib/postgresql', '/usr/local/pgsql', '/opt/homebrew/opt', '/usr/pgsql'];
  const found: string[] = [];
  for (const root of roots) {
    const entries = await readdir(root).catch(() => [] as string[]);
    for (const e of entries) found.push(path.join(root, e, 'bin'));
  }
  return found;
}

async function probe(file: string): Promise<PgTool | undefined> {
  try {
    await access(file);
    const { stdout } = await run(file, ['--version']);
    const m = /(\d+)(?:\.(\d+))?/.exec(stdout);
    if (!m) return undefined;
    return { path: file, major: Number(m[1]), version: `${m[1]}${m[2] ? `.${m[2]}` : ''}` };
  } catch {
    return undefined;
  }
}

/**
 * Finds the newest `program` (pg_dump, pg_restore) whose major version is at least `serverMajor`
 * (PostgreSQL: "pg_dump": it cannot dump from servers newer than its own major version).
 * Looks in `$DMSKIT_PG_BIN`, `$PATH`, and `/usr/lib/postgresql/<major>/bin`; of equal versions, the first
 * in that order. Each file is asked its version once (`/bin` is often `/usr/bin`), all at once, and real
 * programs first: a launcher such as Debian's `pg_wrapper` (what `/usr/bin/pg_dump` links to there, a Perl
 * script that picks a version and runs it) costs about 50 ms a run, so it is used only when no program
 * found directly fits.
 * @throws UsageError naming every version found when none is new enough, or saying none was found
 */
export async function findPgTool(program: 'pg_dump' | 'pg_restore', serverMajor: number): Promise<PgTool> {
  const dirs = [...candidateDirs(), ...(await versionedDirs())];
  const files = await Promise.all(
    dirs.map(async (dir) => {
      const file = path.join(dir, program);
      return { file, real: await realpath(file).catch(() => undefined) };
    }),
  );
  const direct: string[] = [];
  const launchers: string[] = [];
  const seen = new Set<string>();
  for (const { file, real } of files) {
    if (real === undefined || seen.has(real)) continue;
    seen.add(real);
    (path.basename(real) === program ? direct : launchers).push(file);
  }
  const probeAll = async (list: string[]) =>
    (await Promise.all(list.map(probe))).filter((t): t is PgTool => t !== undefined);
  const newestFirst = (list: PgTool[]) => [...list].sort((a, b) => b.major - a.major);
  let tools = newestFirst(await probeAll(direct));
  let fit = tools.find((t) => t.major >= serverMajor);
  if (!fit) {
    tools = newestFirst([...tools, ...(await probeAll(launchers))]);
    fit = tools.find((t) => t.major >= serverMajor);
  }
  if (fit) return fit;
  if (tools.length === 0) {
    throw new UsageError(
      `${program} not found: install the PostgreSQL ${serverMajor} client programs (Debian: apt-get install postgresql-client-${serverMajor}) or set DMSKIT_PG_BIN to their folder`,
    );
  }
  throw new UsageError(
    `${program} is too old for the server (PostgreSQL ${serverMajor}): found ${tools.map((t) => `${t.path} (${t.version})`).join(', ')}; install the PostgreSQL ${serverMajor} client programs or set DMSKIT_PG_BIN`,
  );
}

/**
 * Runs a PostgreSQL client program with the password in `PGPASSWORD`, never on its command line; `signal`
 * ends it (SIGTERM) when aborted.
 * @throws ExternalError with the program's last stderr lines when it exits non-zero
 */
export async function runPgTool(
  tool: PgTool,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
  signal?: AbortSignal,
): Promise<string> {
  try {
    const { stdout } = await run(tool.path, [...args], {
      env: { ...process.env, ...env },
      maxBuffer: 256 * 1024 * 1024,
      ...(signal ? { signal } : {}),
    });
    return stdout;
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? '').trim();
    const last = stderr.split('\n').filter(Boolean).slice(-3).join(' | ');
    throw new ExternalError(`${path.basename(tool.path)} failed: ${last || (error as Error).message}`);
  }
}
