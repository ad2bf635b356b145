import type { Route53Client } from '@aws-sdk/client-route-53';
import type { FenceMethod, PoolerConfig, SelectionRule, TableName, TransformationRule } from '@dmskit/shared';
import type { ComparisonResult, ConnectionInput } from '@dmskit/validation';
import type pg from 'pg';
import type { ApplicationCheck } from './app-checks.js';
import type { DnsSwitch } from './dns.js';
import type { CutoverEngine } from './engine.js';
import type { FallbackNames } from './fallback.js';
import type { FenceRecord } from './fence.js';
import type { MigrationServers } from './identity.js';
import type { ValidationRecordStore } from './scope.js';
import type { SequenceCopy } from './sequences.js';
import type { CutoverStep, StateStore } from './state.js';

/** Where the final validation runs: after ready (default, out of the window) or before. */
export type FinalValidation = 'after-ready' | 'before-ready';

/** The write-unavailability window and its parts, in ms. */
export interface CutoverWindow {
  /**
   * From the moment writes stopped (the pooler paused, else the fence began) to the moment the target was
   * declared ready and the pooler resumed (across a resume).
   */
  readonly totalMs: number;
  /** PAUSE in the pooler (0 without one). */
  readonly pauseMs: number;
  readonly fenceMs: number;
  /** From the watermark's commit on the source until the target showed it. */
  readonly watermarkMs: number;
  readonly stopReplicationMs: number;
  readonly sequencesMs: number;
  /** Repointing the pooler or running the switch command (0 without them). */
  readonly switchMs: number;
  /** 0 when the final validation runs after ready. */
  readonly validationMs: number;
}

export interface CutoverResult {
  readonly window: CutoverWindow;
  readonly fenceMethod: FenceMethod;
  /** How the fence was proven in a new session. */
  readonly fenceProof: string;
  /** The source's WAL position right after the watermark's commit. */
  readonly fenceLsn: string;
  readonly sessionsEnded: number;
  readonly sequences: readonly SequenceCopy[];
  readonly finalValidation: FinalValidation;
  /** The final validation: source and target as they were at ready (snapshots taken then). */
  readonly validation?: ComparisonResult;
  /** Whether this run picked up an interrupted cutover. */
  readonly resumed: boolean;
  /** The fence, still in place: a real cutover keeps it; a rehearsal releases it with {@link releaseFence}. */
  readonly fence: FenceRecord;
}

/** The settings of a cutover that come from the migration config. */
export interface CutoverSettings {
  readonly fenceMethod: FenceMethod;
  /** Name of the lock-tables fence's trigger and function. */
  readonly fenceTrigger: string;
  /** Roles locked out by the revoke-login fence. */
  readonly applicationRoles: readonly string[];
  /** Lag (s) above which the cutover does not start. */
  readonly maxLagSeconds: number;
  /** Lag (bytes) above which the cutover does not start. */
  readonly maxLagBytes: number;
  /** Longest time (ms) the source may be fenced before ready; past it the fence is released. */
  readonly maxFenceMs: number;
  /** Longest wait (ms) for the watermark, within `maxFenceMs`. */
  readonly lsnWaitTimeoutMs: number;
  readonly finalValidation: FinalValidation;
  /** The pooler paused before the fence and switched to the target at ready. */
  readonly pooler?: PoolerConfig;
  /** A shell command run at the switch (target host, port, database in its environment). */
  readonly switchCommand?: string;
  /** The fall-back path's names, when it is on (`cutover.fallback`). */
  readonly fallback?: FallbackNames;
  readonly selection: readonly SelectionRule[];
  /** The DMS task's transformation rules: the final validation compares each table with what DMS wrote. */
  readonly transformations?: readonly TransformationRule[];
  /** `name/environment`, in the state file and messages. */
  readonly migration: string;
  /** The identities of both servers, recorded in a new state (the command checks a resumed one). */
  readonly servers?: MigrationServers;
  /** Tables accepted without a replica identity (`cutover.insertOnlyTables`). @default [] */
  readonly insertOnlyTables?: readonly { readonly schema: string; readonly table: string }[];
  /**
   * The applications' DNS name (`cutover.dns`), pointed at the target at the switch and back at the
   * source by a failure before ready; `client` is Route 53's (runbook/dns.ts).
   */
  readonly dns?: DnsSwitch & { readonly client: Route53Client };
  /** Probes of the application on the target, before ready (`cutover.applicationChecks`). @default [] */
  readonly applicationChecks?: readonly ApplicationCheck[];
  /**
   * The validation gate (`cutover.maxValidationAgeMinutes`, in ms): the oldest clean validation accepted
   * before the fence, else one is run; null or absent: no gate.
   */
  readonly maxValidationAgeMs?: number | null;
}

export interface CutoverOptions extends CutoverSettings {
  readonly source: ConnectionInput;
  readonly target: ConnectionInput;
  /** dmskit sessions on the source and target databases (not read-only). */
  readonly sourceControl: pg.Client;
  readonly targetControl: pg.Client;
  readonly engine: CutoverEngine;
  /** The migrated tables; `hasReplicaIdentity: false` ones are published insert-only on the fall-back path. */
  readonly tables: readonly (TableName & { readonly hasReplicaIdentity?: boolean })[];
  /**
   * Runs in the ready step before clients are resumed (the fall-back releases the old source's fence
   * here, so that clients switched back find it writable). @returns a line for the operator
   */
  readonly beforeResume?: () => Promise<string>;
  /** Backend pids on the source that the fence must not end, besides `sourceControl` (the lock's). */
  readonly exemptPids?: readonly number[];
  /** Where the validation gate's record is read and written. @default none: a validation is run */
  readonly validationRecords?: ValidationRecordStore;
  /** Where progress is kept; a file makes the cutover resumable. @default in memory */
  readonly state?: StateStore;
  readonly onStep?: (step: CutoverStep, detail: string) => void;
  readonly signal?: AbortSignal;
}
