import {
  DmskitError,
  ExternalError,
  type FenceMethod,
  type MigrationConfig,
  type SelectionRule,
  type TableName,
} from '@dmskit/shared';
import { type ComparisonResult, type ConnectionInput, compareDatabases } from '@dmskit/validation';
import type pg from 'pg';
import { since } from '../util/time.js';
import type { CutoverEngine } from './engine.js';
import { type Fence, fenceWrites, releaseFenceRecord } from './fence.js';
import { currentLsn, waitForConfirmedLsn } from './lsn.js';
import { copySequences, type SequenceCopy } from './sequences.js';
import {
  CUTOVER_STEPS,
  type CutoverState,
  type CutoverStep,
  memoryStateStore,
  type StateStore,
} from './state.js';

export { CUTOVER_STEPS, type CutoverStep };

/** The write-unavailability window and its parts, in ms. */
export interface CutoverWindow {
  /** From the moment the fence began to the moment the target was declared ready (across a resume). */
  readonly totalMs: number;
  readonly fenceMs: number;
  readonly waitForLsnMs: number;
  readonly stopReplicationMs: number;
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
  /** Whether this run picked up an interrupted cutover. */
  readonly resumed: boolean;
  /** The fence, still in place: a real cutover keeps it; a rehearsal releases it. */
  readonly fence: Fence;
}

export interface CutoverOptions {
  readonly source: ConnectionInput;
  readonly target: ConnectionInput;
  /** dmskit sessions on the source and target databases (not read-only). */
  readonly sourceControl: pg.Client;
  readonly targetControl: pg.Client;
  readonly engine: CutoverEngine;
  readonly fenceMethod: FenceMethod;
  /** Lag (s) above which the cutover does not start. */
  readonly maxLagSeconds: number;
  readonly tables: readonly TableName[];
  readonly selection: readonly SelectionRule[];
  readonly lsnWaitTimeoutMs: number;
  /** Backend pids on the source that the fence must not end, besides `sourceControl` (always kept). */
  readonly exemptPids?: readonly number[];
  /** Where progress is kept; a file makes the cutover resumable. @default in memory */
  readonly state?: StateStore;
  readonly migration?: string;
  readonly onStep?: (step: CutoverStep, detail: string) => void;
  readonly signal?: AbortSignal;
}

/** The options of a cutover that come from the migration config. */
export function cutoverSettings(
  config: MigrationConfig,
): Pick<CutoverOptions, 'fenceMethod' | 'maxLagSeconds' | 'selection' | 'lsnWaitTimeoutMs' | 'migration'> {
  return {
    fenceMethod: config.cutover.fenceMethod,
    maxLagSeconds: config.cutover.maxLagSeconds,
    selection: config.task.tableMappings,
    lsnWaitTimeoutMs: config.cutover.lsnWaitTimeoutSeconds * 1000,
    migration: config.name,
  };
}

/** A cutover that failed before the target was ready; the source has been unfenced. */
export class CutoverFailed extends DmskitError {
  readonly step: CutoverStep;
  constructor(step: CutoverStep, message: string, options: { cause?: unknown; unfenced: boolean }) {
    super(
      'external',
      `cutover failed at ${step}: ${message}${options.unfenced ? '; the source was unfenced and takes writes again' : ''}`,
      { cause: options.cause },
    );
    this.step = step;
  }
}

/**
 * The cutover runbook, the same for every engine: check that the full load is complete, lag is under the
 * limit and no validation failed; fence writes on the source; read its current LSN; wait until the slot
 * feeding the target has confirmed it (the proof that every committed write reached the target); stop
 * replication; copy sequence values; run a final validation; declare the target ready; clean up.
 * Each step is recorded in the state store: run again after an interruption, it fences again (which is
 * idempotent), reads a new LSN and goes on; the window counts from the first fence. Any failure before
 * ready releases the fence and resumes replication, and throws {@link CutoverFailed}.
 */
export async function runCutover(options: CutoverOptions): Promise<CutoverResult> {
  const say = options.onStep ?? (() => undefined);
  const store = options.state ?? memoryStateStore();
  const engine = options.engine;
  const previous = await store.load();
  const resumed = previous?.status === 'in-progress';
  const state: CutoverState = resumed
    ? previous
    : {
        version: 1,
        migration: options.migration ?? '',
        engine: engine.name,
        status: 'in-progress',
        startedAt: new Date().toISOString(),
        steps: {},
      };
  const mark = async (step: CutoverStep, started: number, detail: string) => {
    state.steps[step] = { at: new Date().toISOString(), ms: since(started), detail };
    await store.save(state);
    say(step, detail);
  };
  if (resumed)
    say(
      'preconditions',
      `resuming the cutover started ${state.startedAt} (done: ${Object.keys(state.steps).join(', ') || 'nothing'})`,
    );

  let step: CutoverStep = 'preconditions';
  if (!state.steps.preconditions) {
    const t = performance.now();
    const r = await engine.readiness();
    const problems = [...r.problems];
    if (!r.fullLoadComplete) problems.push('the full load is not complete');
    if (r.lagSeconds > options.maxLagSeconds)
      problems.push(
        `lag is ${r.lagSeconds.toFixed(1)} s, over cutover.maxLagSeconds = ${options.maxLagSeconds}`,
      );
    if (r.validationFailures.length)
      problems.push(`validation failed for ${r.validationFailures.join(', ')}`);
    if (problems.length) {
      state.status = 'failed';
      state.error = problems.join('; ');
      await store.save(state);
      throw new CutoverFailed('preconditions', problems.join('; '), { unfenced: false });
    }
    await mark(
      'preconditions',
      t,
      `full load complete, lag ${r.lagSeconds.toFixed(2)} s, no validation failure`,
    );
  }

  const controlPid = (
    (await options.sourceControl.query('SELECT pg_backend_pid() AS pid')).rows[0] as { pid: number }
  ).pid;
  let fence: Fence | undefined;
  let replicationStopped = Boolean(state.steps['stop-replication']);
  try {
    step = 'fence';
    let t = performance.now();
    state.fenceStartedAt ??= new Date().toISOString();
    fence = await fenceWrites({
      method: options.fenceMethod,
      source: options.source,
      control: options.sourceControl,
      tables: options.tables,
      exempt: [controlPid, ...(options.exemptPids ?? [])],
      ...(state.fence ? { previous: state.fence } : {}),
    });
    state.fence = fence.record;
    const fenceMs = state.steps.fence?.ms ?? since(t);
    await mark('fence', t, `writes fenced (${options.fenceMethod}), ${fence.sessionsEnded} session(s) ended`);

    step = 'read-lsn';
    t = performance.now();
    state.fenceLsn = await currentLsn(options.sourceControl);
    await mark('read-lsn', t, `fence LSN ${state.fenceLsn}`);

    step = 'wait-for-lsn';
    t = performance.now();
    state.confirmedLsn = await waitForConfirmedLsn(options.sourceControl, engine.slot, state.fenceLsn, {
      timeoutMs: options.lsnWaitTimeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const waitForLsnMs = since(t);
    await mark(
      'wait-for-lsn',
      t,
      `slot ${engine.slot} confirmed ${state.confirmedLsn} in ${waitForLsnMs} ms`,
    );

    step = 'stop-replication';
    t = performance.now();
    await engine.stopReplication();
    replicationStopped = true;
    const stopReplicationMs = since(t);
    await mark('stop-replication', t, `replication stopped (${engine.name}) in ${stopReplicationMs} ms`);

    step = 'sequences';
    t = performance.now();
    const sequences = await copySequences(options.sourceControl, options.targetControl, options.selection);
    const sequencesMs = since(t);
    await mark('sequences', t, `${sequences.length} sequence value(s) copied in ${sequencesMs} ms`);

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
      const schema = (validation.schema ?? []).map((d) => `${d.kind} ${d.object} ${d.difference}`);
      throw new ExternalError(
        `final validation is ${validation.verdict}: ${[...bad, ...schema].slice(0, 5).join(' | ')}`,
      );
    }
    await mark(
      'validation',
      t,
      `final validation equal over ${validation.tables.length} table(s) in ${validationMs} ms`,
    );

    step = 'ready';
    const totalMs = Date.now() - Date.parse(state.fenceStartedAt);
    const window: CutoverWindow = {
      totalMs,
      fenceMs,
      waitForLsnMs,
      stopReplicationMs,
      sequencesMs,
      validationMs,
    };
    state.status = 'ready';
    await mark('ready', performance.now(), `target ready; writes were unavailable for ${totalMs} ms`);

    step = 'finish';
    t = performance.now();
    await engine.finish();
    await mark('finish', t, 'replication objects removed');
    return {
      window,
      fenceMethod: options.fenceMethod,
      fenceLsn: state.fenceLsn,
      confirmedLsn: state.confirmedLsn,
      sessionsEnded: fence.sessionsEnded,
      sequences,
      validation,
      resumed,
      fence,
    };
  } catch (error) {
    if (state.status === 'ready') throw error; // the target is ready; the fence stays
    if (fence) await fence.release().catch(() => undefined);
    else if (state.fence) await releaseFenceRecord(options.source, state.fence).catch(() => undefined);
    if (replicationStopped) await engine.resumeReplication().catch(() => undefined);
    state.status = 'failed';
    state.error = (error as Error).message;
    await store.save(state).catch(() => undefined);
    if (error instanceof DmskitError && error.kind === 'usage' && options.signal?.aborted) throw error;
    throw new CutoverFailed(step, (error as Error).message, { cause: error, unfenced: true });
  }
}

/**
 * `dmskit rollback`: undoes an unfinished cutover from its state: releases the fence (restoring the
 * setting it replaced) and resumes replication if it was stopped.
 * @returns what was undone
 */
export async function rollbackCutover(options: {
  source: ConnectionInput;
  engine: CutoverEngine;
  state: StateStore;
}): Promise<string[]> {
  const state = await options.state.load();
  const done: string[] = [];
  if (!state) return ['no cutover state: nothing to undo'];
  if (state.fence) {
    await releaseFenceRecord(options.source, state.fence);
    done.push(`fence released (${state.fence.method})`);
  }
  if (state.steps['stop-replication'] && !state.steps.finish) {
    await options.engine.resumeReplication();
    done.push(`replication resumed (${options.engine.name})`);
  }
  state.status = 'rolled-back';
  await options.state.save(state);
  return done;
}
