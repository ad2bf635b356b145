import {
  DmskitError,
  ExternalError,
  type FenceMethod,
  type SelectionRule,
  type TableName,
} from '@dmskit/shared';
import { type ComparisonResult, type ConnectionInput, compareDatabases } from '@dmskit/validation';
import type pg from 'pg';
import { since } from '../util/time.js';
import { type Fence, fenceWrites } from './fence.js';
import { currentLsn, waitForConfirmedLsn } from './lsn.js';
import { copySequences, type SequenceCopy } from './sequences.js';

/** The steps of the cutover runbook, in order. */
export const CUTOVER_STEPS = [
  'fence',
  'read-lsn',
  'wait-for-lsn',
  'sequences',
  'validation',
  'ready',
  'stop-replication',
] as const;
export type CutoverStep = (typeof CUTOVER_STEPS)[number];

/** The write-unavailability window and its parts, in ms. */
export interface CutoverWindow {
  /** From the moment the fence began to the moment the target was declared ready. */
  readonly totalMs: number;
  readonly fenceMs: number;
  readonly waitForLsnMs: number;
  readonly sequencesMs: number;
  readonly validationMs: number;
}

export interface CutoverResult {
  readonly window: CutoverWindow;
  readonly fenceMethod: FenceMethod;
  /** The source's WAL position right after the fence, and what the slot confirmed. */
  readonly fenceLsn: string;
  readonly confirmedLsn: string;
  readonly sessionsEnded: number;
  readonly sequences: readonly SequenceCopy[];
  readonly validation: ComparisonResult;
  /** The fence, still in place: a real cutover keeps it; a rehearsal releases it. */
  readonly fence: Fence;
}

export interface CutoverOptions {
  readonly source: ConnectionInput;
  readonly target: ConnectionInput;
  /** dmskit sessions on the source and target databases (not read-only). */
  readonly sourceControl: pg.Client;
  readonly targetControl: pg.Client;
  /** The slot on the source that feeds the target (subscription slot or DMS slot). */
  readonly slot: string;
  readonly fenceMethod: FenceMethod;
  readonly tables: readonly TableName[];
  readonly selection: readonly SelectionRule[];
  readonly lsnWaitTimeoutMs: number;
  /** Backend pids on the source that the fence must not end (dmskit's own sessions). */
  readonly exemptPids?: readonly number[];
  /** Stops replication once the target is ready (drops the subscription, stops the DMS task). */
  readonly stopReplication: () => Promise<void>;
  readonly onStep?: (step: CutoverStep, detail: string) => void;
  readonly signal?: AbortSignal;
}

/** A cutover that failed before the target was ready; the source has been unfenced. */
export class CutoverFailed extends DmskitError {
  readonly step: CutoverStep;
  constructor(step: CutoverStep, message: string, cause?: unknown) {
    super(
      'external',
      `cutover failed at ${step}: ${message}; the source was unfenced and takes writes again`,
      { cause },
    );
    this.step = step;
  }
}

/**
 * The cutover runbook, the same for every engine: fence writes on the source, read the source's current
 * LSN, wait until the slot feeding the target has confirmed it (the proof that every committed write
 * reached the target), copy sequence values, run a final validation, and only then declare the target
 * ready and stop replication. Any failure before ready releases the fence and throws {@link CutoverFailed}.
 */
export async function runCutover(options: CutoverOptions): Promise<CutoverResult> {
  const say = options.onStep ?? (() => undefined);
  let step: CutoverStep = 'fence';
  const start = performance.now();
  say('fence', `fencing writes on the source (${options.fenceMethod})`);
  const fence = await fenceWrites({
    method: options.fenceMethod,
    source: options.source,
    control: options.sourceControl,
    tables: options.tables,
    exempt: options.exemptPids ?? [],
  });
  try {
    const fenceMs = since(start);
    step = 'read-lsn';
    const fenceLsn = await currentLsn(options.sourceControl);
    say('read-lsn', `fence LSN ${fenceLsn} (${fence.sessionsEnded} session(s) ended)`);
    step = 'wait-for-lsn';
    let t = performance.now();
    const confirmedLsn = await waitForConfirmedLsn(options.sourceControl, options.slot, fenceLsn, {
      timeoutMs: options.lsnWaitTimeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const waitForLsnMs = since(t);
    say('wait-for-lsn', `slot ${options.slot} confirmed ${confirmedLsn} in ${waitForLsnMs} ms`);
    step = 'sequences';
    t = performance.now();
    const sequences = await copySequences(options.sourceControl, options.targetControl, options.selection);
    const sequencesMs = since(t);
    say('sequences', `${sequences.length} sequence value(s) copied in ${sequencesMs} ms`);
    step = 'validation';
    t = performance.now();
    const validation = await compareDatabases({
      source: options.source,
      target: options.target,
      selection: options.selection,
    });
    const validationMs = since(t);
    if (validation.verdict !== 'equal') {
      const bad = validation.tables
        .filter((x) => x.status !== 'equal')
        .map((x) => `${x.table.schema}.${x.table.table}: ${x.reasons.join('; ')}`);
      throw new ExternalError(`final validation is ${validation.verdict}: ${bad.slice(0, 5).join(' | ')}`);
    }
    say(
      'validation',
      `final validation equal over ${validation.tables.length} table(s) in ${validationMs} ms`,
    );
    const window: CutoverWindow = { totalMs: since(start), fenceMs, waitForLsnMs, sequencesMs, validationMs };
    step = 'ready';
    say('ready', `target ready; writes were unavailable for ${window.totalMs} ms`);
    step = 'stop-replication';
    await options.stopReplication();
    say('stop-replication', 'replication stopped');
    return {
      window,
      fenceMethod: options.fenceMethod,
      fenceLsn,
      confirmedLsn,
      sessionsEnded: fence.sessionsEnded,
      sequences,
      validation,
      fence,
    };
  } catch (error) {
    if (step === 'stop-replication') throw error; // the target is ready; the fence stays
    await fence.release();
    if (error instanceof DmskitError && error.kind === 'usage') throw error;
    throw new CutoverFailed(step, (error as Error).message, error);
  }
}
