import { ExternalError } from '@dmskit/shared';
import type pg from 'pg';
import { sleep } from '../util/time.js';

/** The source's current WAL write position, `X/Y` (PostgreSQL: "pg_current_wal_lsn"). */
export async function currentLsn(source: pg.Client): Promise<string> {
  return ((await source.query('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0] as { lsn: string }).lsn;
}

/**
 * Waits until the replication slot has confirmed `lsn`: its `confirmed_flush_lsn` is at or past it, which
 * means the consumer (subscription or DMS task) has durably applied every change up to that point
 * (PostgreSQL: "pg_replication_slots"). Polls every 20 ms, so the wait is measured to the tens of ms.
 * @returns the confirmed LSN
 * @throws ExternalError when the slot disappears or the timeout passes
 */
export async function waitForConfirmedLsn(
  source: pg.Client,
  slot: string,
  lsn: string,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<string> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    options.signal?.throwIfAborted();
    const { rows } = await source.query(
      'SELECT confirmed_flush_lsn::text AS confirmed, confirmed_flush_lsn >= $2::pg_lsn AS done FROM pg_replication_slots WHERE slot_name = $1',
      [slot, lsn],
    );
    const row = rows[0] as { confirmed: string | null; done: boolean | null } | undefined;
    if (!row)
      throw new ExternalError(
        `replication slot ${slot} disappeared from the source while waiting for LSN ${lsn}`,
      );
    if (row.done) return row.confirmed!;
    if (Date.now() > deadline) {
      throw new ExternalError(
        `replication slot ${slot} confirmed only ${row.confirmed ?? 'nothing'} of ${lsn} within ${options.timeoutMs} ms`,
      );
    }
    await sleep(20, options.signal);
  }
}
