import type { TableName } from '@dmskit/shared';
import type { SlotHealth } from './slot-health.js';

/** Where replication stands before a cutover. */
export interface ReplicationReadiness {
  /** The full load of every table is complete and CDC is applying changes. */
  readonly fullLoadComplete: boolean;
  /** Seconds behind; null when unknown (no walsender, no latency metric): never read as 0. */
  readonly lagSeconds: number | null;
  /** The slot on the source, read back: walsender, `wal_status`, `safe_wal_size`, byte lag. */
  readonly slot: SlotHealth;
  /** Tables whose replication-side validation reports a failure (DMS), by name. */
  readonly validationFailures: readonly string[];
  /** One line per problem that blocks the cutover. */
  readonly problems: readonly string[];
  /** One line per thing worth knowing that does not block it. */
  readonly warnings: readonly string[];
}

/** Replication health while the source is fenced: anything in `problems` ends the fence at once. */
export interface ReplicationHealth {
  readonly problems: readonly string[];
  /** Apply errors counted so far by the target (a count that grows is a problem). */
  readonly applyErrors: number;
}

/**
 * What the cutover runbook needs from a replication engine (native logical replication or AWS DMS).
 * Every method is idempotent: the runbook may call it again after an interruption.
 */
export interface CutoverEngine {
  readonly name: 'native' | 'dms';
  /** The replication slot on the source that feeds the target (the first, when there are several). */
  readonly slot: string;
  /** Every slot that feeds the target (DMS: one per task). @default [slot] */
  readonly slots?: readonly string[];
  /** The watermark table (in the `dmskit` schema) that this engine replicates to the target. */
  readonly watermarkTable: string;
  /**
   * Every watermark table, when several tasks each replicate their own: the cutover commits one token
   * into all and waits until the target shows it in all. @default [watermarkTable]
   */
  readonly watermarkTables?: readonly string[];
  readiness(): Promise<ReplicationReadiness>;
  /** Cheap health read, polled while the source is fenced. */
  health(): Promise<ReplicationHealth>;
  /**
   * Makes sure the watermark table exists on both sides and replicates (native: created and published if a
   * migration started without it).
   * @throws ExternalError when it cannot replicate (DMS: the table is not in the task's table mappings)
   */
  prepareWatermark(): Promise<void>;
  /** Stops applying changes to the target (disable the subscription, stop the task). */
  stopReplication(): Promise<void>;
  /** Undoes stopReplication (rollback). */
  resumeReplication(): Promise<void>;
  /** After the target is ready: removes what replication left on both sides (subscription, slot). */
  finish(): Promise<void>;
  /**
   * The tables this engine replicates now, read on the server (native: the publications' tables), for the
   * scope check; undefined when the engine cannot tell (DMS selects by its table mappings as it goes).
   */
  publishedTables?(): Promise<TableName[]>;
  /**
   * Makes sure writes on the target's `tables` are refused for everyone but the apply until ready (puts
   * the guard back when missing) and reads it back.
   * @returns the tables (qualified) a write would still reach; empty when the guard holds
   */
  guardTarget?(tables: readonly TableName[]): Promise<string[]>;
  /** At ready, before clients are resumed: lets writes through the target guard (constant time). */
  openTarget?(): Promise<void>;
  /** A rollback before ready: the target guard refuses writes again. */
  closeTarget?(): Promise<void>;
  /** While the application checks run: the target guard lets through a transaction that shows `token`. */
  probeTarget?(token: string): Promise<void>;
  /** What each engine step would do, for --dry-run. */
  describe(): { readonly stop: string; readonly resume: string; readonly finish: string };
}
