import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { ExternalError, UsageError } from '@dmskit/shared';
import { type ConnectionInput, closeQuietly, openConnection } from '@dmskit/validation';
import type pg from 'pg';
import { alive } from '../util/process.js';

/** Who holds a migration's lock. */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  /** ISO time the holder took the lock. */
  readonly since: string;
}

/** A migration locked for one dmskit run: `start`, `cutover`, `rollback`, `abandon`, a rehearsal. */
export interface MigrationLock {
  /** The session that holds the advisory lock; dmskit's other sessions must never end it. */
  readonly session: pg.Client;
  /** Its backend pid on the source, to exempt from a fence. */
  readonly pid: number;
  /** Lets the lock go (closes the session, removes the lock file). Safe to call twice. */
  release(): Promise<void>;
}

// 'dmsk' as an int4: the first key of every dmskit advisory lock, so that an application's own advisory
// locks (usually on the one-bigint form) cannot collide with a migration's.
const LOCK_CLASS = 0x646d736b;

/** The second advisory-lock key of a migration: FNV-1a of `name/environment`, as a signed int4. */
export function migrationLockKey(migration: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(migration, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

const TRY_LOCK_SQL = 'SELECT pg_try_advisory_lock($1::int4, $2::int4) AS locked';

// The two-int4 form of an advisory lock shows its keys in classid and objid, with objsubid = 2
// (PostgreSQL: "pg_locks").
const HOLDER_SQL = `
SELECT a.pid, a.application_name, a.backend_start
  FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
   AND l.classid = ($1::int4)::oid AND l.objid = ($2::int4)::oid
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`;

/** The run that holds a migration's advisory lock on the source, as the server shows it. */
export interface LockHolderSeen {
  /** `dmskit pid 4242 on ops-1`, or `backend 123` for a session that is not dmskit's. */
  readonly who: string;
  /** The holder's pid and host, when it is a dmskit run. */
  readonly pid?: number;
  readonly host?: string;
  /** ISO time its session began. */
  readonly since: string;
}

/**
 * Who holds the advisory lock of `migration` on the source now (read in `session`, any session of the
 * source database): the lock lives as long as the run's session, so a run that died holds nothing.
 * @returns undefined when no session holds it
 */
export async function lockHolder(session: pg.Client, migration: string): Promise<LockHolderSeen | undefined> {
  const holder = (await session.query(HOLDER_SQL, [LOCK_CLASS, migrationLockKey(migration)])).rows[0] as
    | { pid: number; application_name: string; backend_start: Date }
    | undefined;
  if (!holder) return undefined;
  const who = /^dmskit-lock (\d+)@(.+)$/.exec(holder.application_name ?? '');
  return who
    ? {
        who: `dmskit pid ${who[1]} on ${who[2]}`,
        pid: Number(who[1]),
        host: who[2]!,
        since: holder.backend_start.toISOString(),
      }
    : { who: `backend ${holder.pid}`, since: holder.backend_start.toISOString() };
}

/**
 * The lock file next to a state file: created exclusively (`wx`), holding the holder's pid, host and
 * start time. A file left by a process that is gone (same host, pid not alive) is taken over.
 * @throws UsageError (exit 2) naming the holder when another live process holds it
 */
async function lockFile(file: string, migration: string): Promise<() => Promise<void>> {
  const me: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  await mkdir(path.dirname(file), { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(file, 'wx');
      await handle.writeFile(`${JSON.stringify(me)}\n`);
      await handle.close();
      return async () => {
        const text = await readFile(file, 'utf8').catch(() => '');
        if (text.includes(`"pid":${me.pid},`)) await rm(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const text = await readFile(file, 'utf8').catch(() => '');
      let holder: Partial<LockHolder> = {};
      try {
        holder = JSON.parse(text) as LockHolder;
      } catch {
        // a file cut short by a kill while being written: nobody holds it
      }
      if (holder.pid && holder.host === me.host && !alive(holder.pid)) {
        await rm(file, { force: true });
        continue;
      }
      if (holder.pid && holder.host) {
        throw new UsageError(
          `migration ${migration} is locked by dmskit pid ${holder.pid} on ${holder.host} since ${holder.since} (lock file ${file})`,
        );
      }
      await rm(file, { force: true });
    }
  }
  throw new UsageError(`cannot take the lock file ${file}`);
}

/**
 * Locks a migration for one run, so that two runs of `start`, `cutover`, `rollback` or `abandon` never
 * interleave: a session-level advisory lock on the source database, keyed by the migration's name and
 * environment, held by a session of its own for the whole run (PostgreSQL: "Advisory Locks"; the server
 * lets it go when the session ends, also when dmskit is killed), plus an exclusive lock file next to the
 * state file when one is given.
 * @throws UsageError (exit 2) naming the holder (pid, host, since) when another run holds either lock
 * @throws ExternalError when the source cannot be reached
 */
export async function lockMigration(options: {
  source: ConnectionInput;
  /** `name/environment` */
  migration: string;
  /** The lock file (`<state file>.lock`). */
  file?: string;
}): Promise<MigrationLock> {
  const releaseFile = options.file ? await lockFile(options.file, options.migration) : async () => undefined;
  let session: pg.Client | undefined;
  try {
    session = await openConnection(options.source, 'source', {
      applicationName: `dmskit-lock ${process.pid}@${hostname()}`.slice(0, 63),
    });
    const key = migrationLockKey(options.migration);
    const { rows } = await session.query(TRY_LOCK_SQL, [LOCK_CLASS, key]);
    if (!(rows[0] as { locked: boolean }).locked) {
      const holder = await lockHolder(session, options.migration);
      throw new UsageError(
        `migration ${options.migration} is locked by ${holder?.who ?? 'a session'} since ${holder?.since ?? '?'}`,
      );
    }
    const pid = ((await session.query('SELECT pg_backend_pid() AS pid')).rows[0] as { pid: number }).pid;
    const held = session;
    let released = false;
    return {
      session: held,
      pid,
      release: async () => {
        if (released) return;
        released = true;
        await closeQuietly(held);
        await releaseFile();
      },
    };
  } catch (error) {
    await closeQuietly(session);
    await releaseFile();
    if (error instanceof UsageError || error instanceof ExternalError) throw error;
    throw new ExternalError(
      `cannot lock migration ${options.migration} on the source: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}
