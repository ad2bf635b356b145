import { closeQuietly, openConnection } from '@dmskit/validation';
import type { NativeStartState } from '../native/start-state.js';
import { migrationObjectsOn } from '../native/sweep.js';
import { fenceOnSource } from '../runbook/fence.js';
import { type RunSeen, runOf } from '../runbook/liveness.js';
import type { CutoverState } from '../runbook/state.js';

/** What `status` says of a run's state file: lines, and how many of them are problems. */
export interface RunLines {
  readonly lines: string[];
  readonly problems: number;
  /** Whether the run that wrote the state still runs. */
  readonly running: boolean;
}

/**
 * Whether the run of `migration` is alive, read on the source when it can be reached (its advisory lock)
 * and else from the lock file.
 */
export async function seeRun(sourceUrl: string, migration: string, lockFile: string): Promise<RunSeen> {
  const source = await openConnection(sourceUrl, 'source', {
    applicationName: 'dmskit-status',
    connectTimeoutMs: 5000,
  }).catch(() => undefined);
  try {
    return await runOf({ migration, lockFile, source });
  } finally {
    await closeQuietly(source);
  }
}

/**
 * A cutover not ready: whether its run is alive and what of its fence is on the source, read back now
 * (never taken from the state file alone). A fence left by a run that is gone is a problem: writes are
 * refused and nobody is bounding it.
 */
export async function cutoverRunLines(
  sourceUrl: string,
  cutover: CutoverState,
  lockFile: string,
): Promise<RunLines> {
  const run = await seeRun(sourceUrl, cutover.migration, lockFile);
  const at = cutover.current ? ` at step ${cutover.current}` : '';
  const head = run.running
    ? `cutover of ${cutover.migration} running${at} (${run.who})`
    : `cutover of ${cutover.migration} begun ${cutover.startedAt} stopped${at}: ${cutover.status === 'failed' ? `it failed (${cutover.error ?? 'see its output'})` : `its run (${run.who}) is no longer running`}`;
  const lines = [head];
  let problems = 0;
  if (cutover.fence && !cutover.fenceReleased) {
    let onServer: string | null | undefined;
    let unreadable: string | undefined;
    try {
      onServer = await fenceOnSource(sourceUrl, cutover.fence);
    } catch (error) {
      unreadable = (error as Error).message;
    }
    if (unreadable) {
      lines.push(
        `problem: the source could not be read (${unreadable}); its fence (${cutover.fence.method}, since ${cutover.fenceStartedAt ?? cutover.fence.since}) may still hold`,
      );
      problems++;
    } else if (onServer) {
      lines.push(
        run.running
          ? `the source is fenced since ${cutover.fenceStartedAt ?? cutover.fence.since} (read back: ${onServer}); the running cutover releases it at ready's failure or bound`
          : `problem: the source is fenced since ${cutover.fenceStartedAt ?? cutover.fence.since} (read back: ${onServer}) by a cutover that is no longer running: dmskit rollback releases it and resumes replication (dmskit cutover continues it)`,
      );
      if (!run.running) problems++;
    } else lines.push('the source is not fenced (read back: nothing of the fence is on it)');
  } else if (!run.running && cutover.status !== 'rolled-back') {
    lines.push('the source was never fenced by it: dmskit cutover starts again, dmskit rollback clears it');
  }
  return { lines, problems, running: run.running };
}

/** A start that has not reached its subscription: alive (the ETA means something) or interrupted. */
export async function startRunLines(
  sourceUrl: string,
  start: NativeStartState,
  lockFile: string,
): Promise<RunLines> {
  const run = await seeRun(sourceUrl, start.migration, lockFile);
  if (run.running) return { lines: [`running (${run.who})`], problems: 0, running: true };
  return {
    lines: [
      `problem: interrupted${start.intent ? ` at ${start.intent}` : ''} (${run.who} is no longer running): dmskit start continues it, dmskit abandon removes what it created`,
    ],
    problems: 1,
    running: false,
  };
}

/**
 * One line per server of what of the migration is on it now, found by name (never from a record); a
 * server that cannot be reached says so.
 */
export async function objectsLines(
  config: { name: string; environment: string },
  sourceUrl: string,
  targetUrl: string | undefined,
): Promise<string[]> {
  const sides: ['source' | 'target', string][] = [['source', sourceUrl]];
  if (targetUrl) sides.push(['target', targetUrl]);
  return Promise.all(
    sides.map(async ([side, url]) => {
      const found = await migrationObjectsOn(url, side, config).catch((e: Error) => [
        `not reachable (${e.message})`,
      ]);
      return `on the ${side} now: ${found.length ? found.join(', ') : 'nothing of this migration'}`;
    }),
  );
}
