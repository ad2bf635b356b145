import { ExternalError } from '@dmskit/shared';
import { sleep } from '../util/time.js';

/**
 * Whether `error` is a lost connection (a server restarted or shut down, the network cut, a session
 * terminated by an administrator) rather than an error of the statement: the cases where opening a new
 * session and asking again is the right answer for a read.
 */
export function isConnectionLost(error: unknown): boolean {
  const e = error as { code?: string; message?: string } | undefined;
  if (!e) return false;
  // 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now, 08xxx connection exceptions
  // (PostgreSQL: "PostgreSQL Error Codes").
  if (e.code && /^(57P0[123]|08...)$/.test(e.code)) return true;
  if (['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH'].includes(e.code ?? ''))
    return true;
  return /Connection terminated|Client has encountered a connection error|terminating connection|Client was closed|not queryable|connection (is )?(closed|lost)|the database system is (starting up|shutting down|in recovery)/i.test(
    e.message ?? '',
  );
}

/**
 * Opens sessions again after a lost connection, with backoff (0.5 s doubling to 5 s) for at most `maxMs`
 * (default 120 s), saying that it does and when it is back; stops at `signal`.
 * @returns what `open` returned, and after how many ms
 * @throws ExternalError naming the first error and how long it tried; the signal's reason when aborted
 */
export async function reconnect<T>(
  open: () => Promise<T>,
  options: { why: unknown; say: (line: string) => void; signal?: AbortSignal | undefined; maxMs?: number },
): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const maxMs = options.maxMs ?? 120_000;
  const first = (options.why as Error)?.message ?? String(options.why);
  options.say(
    `lost the connection to a server (${first}): reconnecting for up to ${Math.round(maxMs / 1000)} s`,
  );
  let delay = 500;
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    await sleep(delay, options.signal);
    try {
      const value = await open();
      const ms = Date.now() - started;
      options.say(`reconnected after ${(ms / 1000).toFixed(1)} s (attempt ${attempt}); going on`);
      return { value, ms };
    } catch (error) {
      if (!isConnectionLost(error) && !/connect|timeout|refused/i.test((error as Error)?.message ?? ''))
        throw error;
      if (Date.now() - started > maxMs)
        throw new ExternalError(
          `lost the connection to a server (${first}) and could not reconnect within ${Math.round(maxMs / 1000)} s: ${(error as Error).message}`,
          { cause: error },
        );
      delay = Math.min(5000, delay * 2);
    }
  }
}
