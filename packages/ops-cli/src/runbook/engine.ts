/** Where replication stands before a cutover. */
export interface ReplicationReadiness {
  /** The full load of every table is complete and CDC is applying changes. */
  readonly fullLoadComplete: boolean;
  readonly lagSeconds: number;
  /** Tables whose replication-side validation reports a failure (DMS), by name. */
  readonly validationFailures: readonly string[];
  /** One line per problem that blocks the cutover. */
  readonly problems: readonly string[];
}

/**
 * What the cutover runbook needs from a replication engine (native logical replication or AWS DMS).
 * Every method is idempotent: the runbook may call it again after an interruption.
 */
export interface CutoverEngine {
  readonly name: 'native' | 'dms';
  /** The replication slot on the source that feeds the target. */
  readonly slot: string;
  readiness(): Promise<ReplicationReadiness>;
  /** Stops applying changes to the target (disable the subscription, stop the task). */
  stopReplication(): Promise<void>;
  /** Undoes stopReplication (rollback). */
  resumeReplication(): Promise<void>;
  /** After the target is ready: removes what replication left on both sides (subscription, slot). */
  finish(): Promise<void>;
  /** What each engine step would do, for --dry-run. */
  describe(): { readonly stop: string; readonly resume: string; readonly finish: string };
}
