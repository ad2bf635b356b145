import type { LoadFigures } from '../fullload/copy.js';
import type { FullLoadResult } from '../fullload/run.js';
import type { MigrationServers } from '../runbook/identity.js';

/** The steps of `dmskit start --engine native`, in order; each is recorded when done. */
export const NATIVE_START_STEPS = [
  'roles',
  'pre-data',
  'watermark',
  'publication',
  'ddl-capture',
  'full-load',
  'post-data',
  'materialized-views',
  'privileges',
  'target-guard',
  'subscription',
] as const;
export type NativeStartStep = (typeof NATIVE_START_STEPS)[number];

/**
 * What a native start has done and created, saved before and after each step (write-ahead), so that a
 * killed start continues where it stopped and a cleanup drops only what this migration created: objects
 * are recorded here, never guessed from a name (another migration's slot may have the same name).
 */
export interface NativeStartState {
  readonly version: 1;
  readonly migration: string;
  /** `host:port/database` of each side, so that a state is never applied to other servers. */
  readonly source: string;
  readonly target: string;
  readonly startedAt: string;
  /** Which servers and databases, beyond their address (a server recreated at the same address differs). */
  servers?: MigrationServers;
  /** The names this start uses (from the config), so a cleanup knows what an unfinished step created. */
  readonly names: {
    readonly publications: readonly string[];
    readonly subscription: string;
    readonly slot: string;
    readonly watermarkTable: string;
  };
  /** The step begun last; its objects may exist although it was not recorded as done. */
  intent?: NativeStartStep;
  steps: Partial<Record<NativeStartStep, string>>;
  created: {
    publications: string[];
    subscription?: string | undefined;
    /** The slot on the source, created by the full load (recorded before it is created). */
    slot?: string | undefined;
    watermark?: { table: string; source: boolean; target: boolean };
    /** The target guard's trigger name (recorded before it is installed). */
    targetGuard?: string | undefined;
    /**
     * The tables pre-data created on the target (qualified), recorded before it runs on a target checked
     * to hold none of them: a rehearsal that does not complete drops them, so the next one finds the
     * target empty again.
     */
    targetTables?: string[] | undefined;
    /** The DDL capture on the source: its event triggers' base name and log table (recorded first). */
    ddlCapture?: { trigger: string; log: string } | undefined;
  };
  /** Why the DDL capture is off (the event trigger needs a superuser), when it is. */
  ddlCaptureOff?: string;
  fullLoad?: FullLoadResult;
  /** Wall time of each step, ms, for the closing summary. */
  stepMs?: Partial<Record<NativeStartStep, number>>;
  /** From the subscription's creation until every table applied changes (the CDC catch-up), ms. */
  catchUpMs?: number;
  /**
   * The target's change counters right before the subscription was made, by `schema.table`: what
   * `status` subtracts to count the changes CDC applied (native/table-statistics.ts).
   */
  cdcBaseline?: Record<string, { inserts: number; updates: number; deletes: number }>;
  /** The full load's figures while it runs, saved every few seconds for `dmskit status`. */
  loading?: { at: string; figures: LoadFigures };
}

/** A new state for a start of `migration` between the two servers. */
export function newStartState(
  migration: string,
  source: string,
  target: string,
  names: NativeStartState['names'],
): NativeStartState {
  return {
    version: 1,
    migration,
    source,
    target,
    names,
    startedAt: new Date().toISOString(),
    steps: {},
    created: { publications: [] },
  };
}
