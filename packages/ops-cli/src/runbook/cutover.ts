import { DmskitError, type MigrationConfig, nativeObjectNames, UsageError } from '@dmskit/shared';
import { type ConnectionInput, closeQuietly } from '@dmskit/validation';
import {
  openBeforeWindow,
  refence,
  STEPS,
  type StepContext,
  undoDns,
  undoFallback,
  undoPooler,
} from './cutover-steps.js';
import type { CutoverOptions, CutoverResult, CutoverSettings } from './cutover-types.js';
import type { CutoverEngine } from './engine.js';
import { dropFallbackObjects, fallbackNames } from './fallback.js';
import { faultPoint } from './faults.js';
import { FenceReleaseFailed, releaseFence } from './fence.js';
import {
  CUTOVER_STEPS,
  type CutoverState,
  type CutoverStep,
  memoryStateStore,
  type StateStore,
} from './state.js';

export type * from './cutover-types.js';
export { CUTOVER_STEPS, type CutoverStep };

/** The options of a cutover that come from the migration config. */
export function cutoverSettings(config: MigrationConfig): CutoverSettings {
  const c = config.cutover;
  return {
    fenceMethod: c.fenceMethod,
    fenceTrigger: nativeObjectNames(config).fenceTrigger,
    applicationRoles: c.applicationRoles,
    maxLagSeconds: c.maxLagSeconds,
    maxLagBytes: c.maxLagBytes,
    maxFenceMs: c.maxFenceSeconds * 1000,
    lsnWaitTimeoutMs: c.lsnWaitTimeoutSeconds * 1000,
    finalValidation: c.finalValidation,
    ...(c.pooler ? { pooler: c.pooler } : {}),
    ...(c.switchCommand ? { switchCommand: c.switchCommand } : {}),
    ...(c.fallback ? { fallback: fallbackNames(nativeObjectNames(config)) } : {}),
    selection: config.task.tableMappings,
    migration: `${config.name}/${config.environment}`,
    insertOnlyTables: c.insertOnlyTables,
    applicationChecks: c.applicationChecks,
    maxValidationAgeMs: c.maxValidationAgeMinutes === null ? null : c.maxValidationAgeMinutes * 60_000,
  };
}

/**
 * A cutover that failed before the target was ready. The message says what was read back from the
 * source: unfenced, never fenced, or still fenced with the SQL that releases it.
 */
export class CutoverFailed extends DmskitError {
  readonly step: CutoverStep;
  constructor(
    step: CutoverStep,
    message: string,
    options: { cause?: unknown; exitCode?: number; interrupted?: boolean },
  ) {
    super('external', options.interrupted ? message : `cutover failed at ${step}: ${message}`, options);
    this.step = step;
  }
}

/**
 * The order of the steps: `pause` only with a pooler, `switch` only with a pooler, a switch command or
 * application checks (they run first in it), validation inside the window only with `before-ready`.
 */
export function cutoverOrder(
  settings: Pick<CutoverSettings, 'finalValidation' | 'pooler' | 'switchCommand' | 'fallback'> & {
    readonly applicationChecks?: readonly unknown[];
    readonly dns?: unknown;
  },
): CutoverStep[] {
  const order: CutoverStep[] = [
    'preconditions',
    ...(settings.pooler ? (['pause'] as const) : []),
    'fence',
    'watermark',
    'stop-replication',
    'sequences',
    ...(settings.pooler || settings.switchCommand || settings.dns || settings.applicationChecks?.length
      ? (['switch'] as const)
      : []),
  ];
  const fallback: CutoverStep[] = settings.fallback ? ['fallback'] : [];
  return settings.finalValidation === 'before-ready'
    ? [...order, 'validation', 'ready', ...fallback, 'finish']
    : [...order, 'ready', ...fallback, 'validation', 'finish'];
}

function newState(options: CutoverOptions): CutoverState {
  return {
    version: 2,
    migration: options.migration,
    engine: options.engine.name,
    status: 'in-progress',
    startedAt: new Date().toISOString(),
    ...(options.servers ? { servers: options.servers } : {}),
    steps: {},
  };
}

/**
 * Where a new run starts from: an interrupted cutover resumes; a failed or rolled-back one starts anew,
 * unless its fence is still in place (its record is the only one that knows the setting it replaced).
 * @throws UsageError when the last cutover left a fence, or the cutover is already complete
 */
function startingState(previous: CutoverState | undefined, options: CutoverOptions): CutoverState {
  if (!previous) return newState(options);
  if (previous.status === 'in-progress') return previous;
  if (previous.status === 'ready') {
    if (previous.steps.finish && previous.steps.validation)
      throw new UsageError(
        `the cutover of ${previous.migration} completed at ${previous.readyAt ?? previous.steps.ready?.at}: nothing left to do`,
      );
    return previous;
  }
  if (previous.status === 'rolled-back' && previous.readyAt)
    throw new UsageError(secondAttemptAdvice(previous));
  if (previous.fence && !previous.fenceReleased)
    throw new UsageError(
      `the last cutover of ${previous.migration} (${previous.status}) left the source fenced (${previous.fence.method}): run dmskit rollback first`,
    );
  return newState(options);
}

/**
 * What to do after a cutover that reached ready and was rolled back (fell back to the old source): the
 * target's copy is behind and replication is gone, so a second attempt starts over on the same target.
 */
export function secondAttemptAdvice(state: Pick<CutoverState, 'migration' | 'readyAt'>): string {
  return `the cutover of ${state.migration} reached ready at ${state.readyAt} and was rolled back to the old source: to try again, run dmskit abandon (with --target-url: it removes everything of the migration from both servers), then dmskit start --reload-target (loads the target's tables again), then dmskit cutover`;
}

/**
 * The cutover runbook, the same for every engine, as a list of steps (runbook/cutover-steps.ts) driven by
 * this loop: each step is recorded in the state store before it starts and after it ends, and skipped
 * when run again after an interruption. Preconditions (full load, lag in seconds and bytes, slot health,
 * no prepared transaction, the watermark table); fence (planned and saved first, applied, proven in a new
 * session); watermark (committed on the source, waited for on the target while replication health is
 * polled: a break ends the fence at once); stop replication; sequences; ready; the final validation
 * (after ready by default, against the target's snapshot taken at ready); finish.
 * Any failure before ready releases the fence, reads the source back and resumes replication; the fence
 * never lasts longer than `maxFenceMs` before ready.
 * @throws CutoverFailed (exit 2) saying what was read back from the source; the signal's reason when
 *   aborted (after the same undo); UsageError when the state forbids a new run
 */
export async function runCutover(options: CutoverOptions): Promise<CutoverResult> {
  const say = options.onStep ?? (() => undefined);
  const store = options.state ?? memoryStateStore();
  const previous = await store.load();
  const state = startingState(previous, options);
  const resumed = state === previous;
  if (resumed) {
    const done = cutoverOrder(options).filter((s) => state.steps[s]);
    say(
      'preconditions',
      `resuming the cutover started ${state.startedAt} (done: ${done.join(', ') || 'nothing'})`,
    );
  }
  const ctx: StepContext = { options, state, save: () => store.save(state), resumed };
  let step: CutoverStep = 'preconditions';
  try {
    if (state.steps.preconditions) await openBeforeWindow(ctx);
    if (resumed && state.status === 'in-progress' && state.steps.fence && !state.fenceReleased) {
      step = 'fence';
      say('fence', await refence(ctx));
    }
    for (step of cutoverOrder(options)) {
      if (state.steps[step]) continue;
      options.signal?.throwIfAborted();
      state.current = step;
      await store.save(state);
      const t = performance.now();
      const detail = await STEPS[step](ctx);
      state.steps[step] = { at: new Date().toISOString(), ms: Math.round(performance.now() - t), detail };
      await store.save(state);
      say(step, detail);
      await faultPoint(step, options.signal);
    }
    return ctx.result!();
  } catch (error) {
    await undo(ctx, step, error);
    throw error; // not reached: undo throws
  } finally {
    await Promise.all([closeQuietly(ctx.targetSnapshot), closeQuietly(ctx.sourceSnapshot)]);
    await ctx.poolerAdmin?.close();
  }
}

/**
 * After a failure: before ready, releases the fence (read back) and resumes replication; after ready,
 * records the error and leaves the fence (the target is the primary now).
 */
async function undo(ctx: StepContext, step: CutoverStep, error: unknown): Promise<never> {
  const { options, state } = ctx;
  const message = (error as Error)?.message ?? String(error);
  state.error = message;
  if (state.status === 'ready') {
    await ctx.save().catch(() => undefined);
    throw error;
  }
  let source = 'the source was never fenced';
  let exitCode: number | undefined;
  if (state.fence && !state.fenceReleased) {
    try {
      const readBack = await releaseFence(options.source, state.fence);
      state.fenceReleased = { at: new Date().toISOString(), readBack };
      source = `the source was unfenced and takes writes again (${readBack})`;
    } catch (releaseError) {
      source =
        releaseError instanceof FenceReleaseFailed
          ? releaseError.message
          : `the fence could not be released: ${String(releaseError)}`;
    }
  } else if (state.fenceReleased) source = 'the source was unfenced';
  if (state.steps['stop-replication'] || state.current === 'stop-replication') {
    await options.engine
      .resumeReplication()
      .then(() => {
        source += '; replication resumed';
      })
      .catch((e: Error) => {
        source += `; replication could not be resumed (${e.message}): run dmskit rollback`;
      });
  }
  if (state.current === 'ready' && options.engine.closeTarget)
    await options.engine.closeTarget().catch((e: Error) => {
      source += `; the target guard could not be closed again (${e.message}): run dmskit rollback`;
    });
  source += await undoDns(ctx);
  source += await undoPooler(ctx);
  source += await undoFallback(ctx);
  state.status = 'failed';
  await ctx.save().catch(() => undefined);
  const reason = options.signal?.aborted ? options.signal.reason : undefined;
  if (reason instanceof DmskitError) exitCode = reason.exitCode;
  throw new CutoverFailed(
    step,
    reason instanceof Error
      ? `${reason.message.split(':')[0]} at ${step}: ${source}`
      : `${message}; ${source}`,
    { cause: error, ...(exitCode !== undefined ? { exitCode, interrupted: true } : {}) },
  );
}

/** What `dmskit rollback` did, one line each, every one read back from the servers. */
export interface RollbackResult {
  readonly lines: readonly string[];
}

/**
 * `dmskit rollback`: undoes a cutover from its state: releases the fence (restoring what its record says
 * it replaced, read back) and resumes replication if it was stopped.
 * @throws UsageError after ready without `force` (writes on the target since then are not on the source)
 * @throws FenceReleaseFailed (exit 2) with the SQL to run by hand
 */
export async function rollbackCutover(options: {
  source: ConnectionInput;
  /** Where the fall-back path's slot and publications were made before the window, to drop them. */
  target?: ConnectionInput;
  engine: CutoverEngine;
  state: StateStore;
  force?: boolean;
}): Promise<RollbackResult> {
  const state = await options.state.load();
  if (!state) return { lines: ['no cutover state: nothing to undo'] };
  const ready = state.status === 'ready' || Boolean(state.readyAt);
  if (ready && !options.force) {
    throw new UsageError(
      `the target of ${state.migration} was declared ready at ${state.readyAt}: replication ${state.steps.finish ? 'was removed' : 'is stopped'}, so writes made on the target since then are not on the source and the two would diverge; run rollback --force to unfence the source anyway`,
    );
  }
  const lines: string[] = [];
  if (state.fence && !state.fenceReleased) {
    const readBack = await releaseFence(options.source, state.fence);
    state.fenceReleased = { at: new Date().toISOString(), readBack };
    lines.push(`fence released (${state.fence.method}): ${readBack}`);
  } else if (state.fenceReleased) lines.push(`the fence was already released at ${state.fenceReleased.at}`);
  else lines.push('the source was never fenced');
  if ((state.steps['stop-replication'] || state.current === 'stop-replication') && !state.steps.finish) {
    await options.engine.resumeReplication();
    lines.push(`replication resumed (${options.engine.name})`);
  } else if (state.steps.finish)
    lines.push('replication was removed at finish: the source and target now diverge');
  if (!ready && state.current === 'ready' && options.engine.closeTarget) {
    await options.engine.closeTarget();
    lines.push('writes on the target are refused again until the next cutover');
  }
  const path = state.fallback;
  if (!ready && path && (path.slot || path.publications.length)) {
    if (options.target) {
      const removed = await dropFallbackObjects(options.target, path);
      if (removed.length)
        lines.push(`removed ${removed.join(', ')} (the fall-back path made before the fence)`);
    } else
      lines.push(
        `the fall-back path's slot ${path.slot ?? ''} is left on the target: run dmskit abandon with --target-url`,
      );
  }
  state.status = 'rolled-back';
  await options.state.save(state);
  return { lines };
}
