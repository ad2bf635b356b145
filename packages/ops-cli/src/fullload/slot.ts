import { DmskitError, ExternalError, UsageError } from '@dmskit/shared';
import { type ConnectionInput, closeQuietly, openConnection } from '@dmskit/validation';
import pg from 'pg';
import { slotBlockers, withDeadline } from '../pg/waits.js';

/** A logical replication slot created with an exported snapshot, held open while the copy imports it. */
export interface SnapshotSlot {
  readonly slot: string;
  /** The LSN from which the slot streams: every change committed after the snapshot. */
  readonly consistentPoint: string;
  /** The snapshot name for `SET TRANSACTION SNAPSHOT`; valid only while {@link release} has not run. */
  readonly snapshot: string;
  /** Ends the replication connection, and so the exported snapshot (the slot itself stays). */
  release(): Promise<void>;
}

/**
 * Creates a `pgoutput` logical replication slot on a replication connection and keeps its exported
 * snapshot: the rows a transaction reads with `SET TRANSACTION SNAPSHOT` are exactly those the slot's
 * stream does not carry, so a copy at that snapshot followed by a subscription on the slot has neither a
 * gap nor a duplicate (PostgreSQL: "Streaming Replication Protocol", CREATE_REPLICATION_SLOT with
 * `SNAPSHOT 'export'`, or `EXPORT_SNAPSHOT` before PostgreSQL 15; "Snapshot Synchronization Functions").
 * The snapshot lives until {@link SnapshotSlot.release} or until the connection is lost.
 * @param major - the source's major version (picks the command's syntax)
 * @throws UsageError when the slot name is taken; ExternalError when it waited past `wait.timeoutMs` for
 *   running transactions (named); the signal's reason when aborted; ExternalError when the source refuses (no REPLICATION
 *   attribute, max_replication_slots reached, wal_level not logical)
 */
export async function createSnapshotSlot(
  source: ConnectionInput,
  slot: string,
  major: number,
  wait: { signal?: AbortSignal | undefined; say?: (line: string) => void; timeoutMs?: number } = {},
): Promise<SnapshotSlot> {
  const conn = await openConnection(source, 'source', {
    replication: 'database',
    applicationName: 'dmskit-snapshot',
  });
  const options = major >= 15 ? "(SNAPSHOT 'export')" : 'EXPORT_SNAPSHOT';
  try {
    const pid = ((await conn.query('SELECT pg_backend_pid() AS pid')).rows[0] as { pid: number }).pid;
    // It waits for every transaction running on the source: said after 2 s, cancelled at the deadline
    // (10 min by default) or at Ctrl-C.
    const { rows } = await withDeadline(
      () => conn.query(`CREATE_REPLICATION_SLOT ${pg.escapeIdentifier(slot)} LOGICAL pgoutput ${options}`),
      {
        pid,
        server: source,
        side: 'source',
        what: `creating replication slot ${slot} on the source`,
        timeoutMs: wait.timeoutMs ?? 600_000,
        signal: wait.signal,
        blockers: slotBlockers,
        ...(wait.say ? { say: wait.say } : {}),
      },
    );
    const r = rows[0] as { consistent_point: string; snapshot_name: string };
    return {
      slot,
      consistentPoint: r.consistent_point,
      snapshot: r.snapshot_name,
      release: () => closeQuietly(conn),
    };
  } catch (error) {
    await closeQuietly(conn);
    if (error instanceof DmskitError) throw error;
    const e = error as { code?: string; message?: string };
    if (e.code === '42710')
      throw new UsageError(`replication slot ${slot} already exists on the source`, { cause: error });
    throw new ExternalError(`cannot create replication slot ${slot} on the source: ${e.message}`, {
      cause: error,
    });
  }
}
