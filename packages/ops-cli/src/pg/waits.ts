import { ExternalError } from '@dmskit/shared';
import { type ConnectionInput, closeQuietly, openConnection } from '@dmskit/validation';
import type pg from 'pg';

/**
 * The transactions a new logical replication slot waits for: creating one waits until every transaction
 * running on the server (in any database) that holds a transaction id ends, to find a consistent point
 * (PostgreSQL: "Logical Decoding Concepts", exported snapshots). Oldest first, at most three.
 */
const SLOT_BLOCKERS_SQL = `
SELECT pid, datname AS database, usename AS user, state,
       round(extract(epoch FROM now() - xact_start))::int AS age_s
  FROM pg_stat_activity
 WHERE pid <> $1 AND xact_start IS NOT NULL AND backend_xid IS NOT NULL
 ORDER BY xact_start
 LIMIT 3`;

/** What a waiting statement waits for, one phrase (`transaction pid 4242 in database crm, open 35 s`). */
export async function slotBlockers(c: pg.Client, waitingPid: number): Promise<string | undefined> {
  const { rows } = await c.query(SLOT_BLOCKERS_SQL, [waitingPid]);
  const list = rows as {
    pid: number;
    database: string | null;
    user: string | null;
    state: string;
    age_s: number;
  }[];
  if (!list.length) return undefined;
  return list
    .map(
      (r) =>
        `transaction pid ${r.pid} in database ${r.database ?? '-'} (user ${r.user ?? '-'}, ${r.state}, open ${r.age_s} s)`,
    )
    .join('; ');
}

/**
 * Runs `run` (a statement on the session whose backend pid is `pid`) under a deadline and `signal`: after
 * `sayAfterMs` (default 2 s) of waiting, `say` is told what it waits for (`blockers`, read in a session of
 * its own); on the deadline or the signal, the statement is cancelled (`pg_cancel_backend` of its own
 * backend, never another's: PostgreSQL "Server Signaling Functions"), so that no wait on a server outlives
 * dmskit's decision to stop.
 * @param what - the wait, for messages (`creating replication slot x on the target`)
 * @throws ExternalError (exit 2) on the deadline, naming what it waited for; the signal's reason when aborted
 */
export async function withDeadline<T>(
  run: () => Promise<T>,
  options: {
    pid: number;
    server: ConnectionInput;
    side: 'source' | 'target';
    what: string;
    timeoutMs: number;
    signal?: AbortSignal | undefined;
    blockers?: (c: pg.Client, pid: number) => Promise<string | undefined>;
    say?: (line: string) => void;
    sayAfterMs?: number;
  },
): Promise<T> {
  let watcher: pg.Client | undefined;
  let stopped: 'deadline' | 'signal' | undefined;
  let waitingFor: string | undefined;
  const session = async () => {
    watcher ??= await openConnection(options.server, options.side, {
      applicationName: 'dmskit-watch',
      connectTimeoutMs: 5000,
    });
    return watcher;
  };
  const cancel = async (why: 'deadline' | 'signal') => {
    stopped ??= why;
    const c = await session().catch(() => undefined);
    await c?.query('SELECT pg_cancel_backend($1)', [options.pid]).catch(() => undefined);
  };
  let done = false;
  const jobs: Promise<unknown>[] = [];
  const tell = setTimeout(() => {
    jobs.push(
      (async () => {
        const c = await session().catch(() => undefined);
        waitingFor =
          c && options.blockers ? await options.blockers(c, options.pid).catch(() => undefined) : undefined;
        if (!done)
          options.say?.(
            `${options.what}: waiting${waitingFor ? ` for ${waitingFor}` : ''} (cancelled in ${Math.round(options.timeoutMs / 1000)} s, or at Ctrl-C)`,
          );
      })(),
    );
  }, options.sayAfterMs ?? 2000);
  const deadline = setTimeout(() => jobs.push(cancel('deadline')), options.timeoutMs);
  const onAbort = () => jobs.push(cancel('signal'));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await run();
  } catch (error) {
    if (stopped === 'signal') throw options.signal?.reason ?? error;
    if (stopped === 'deadline') {
      const c = await session().catch(() => undefined);
      waitingFor ??=
        c && options.blockers ? await options.blockers(c, options.pid).catch(() => undefined) : undefined;
      throw new ExternalError(
        `${options.what} did not finish within ${Math.round(options.timeoutMs / 1000)} s${waitingFor ? `: it waits for ${waitingFor}; end that transaction (or let it finish), then run again` : ''}`,
        { cause: error },
      );
    }
    throw error;
  } finally {
    done = true;
    clearTimeout(tell);
    clearTimeout(deadline);
    options.signal?.removeEventListener('abort', onAbort);
    await Promise.allSettled(jobs);
    await closeQuietly(watcher);
  }
}
