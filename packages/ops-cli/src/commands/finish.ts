import { nativeObjectNames, UsageError } from '@dmskit/shared';
import type { CommandOutcome } from '../outcome.js';
import { endFallback, fallbackNames } from '../runbook/fallback.js';
import { lockMigration } from '../runbook/lock.js';
import { fileStateStore } from '../runbook/state.js';
import { loadConfigOption } from './config.js';
import { sourceUrlOf, statePaths, targetUrlOf } from './context.js';

export interface FinishOptions {
  readonly cwd: string;
  readonly config: string;
  readonly sourceUrl?: string;
  readonly targetUrl?: string;
  readonly state?: string;
  readonly stateDir?: string;
}

/**
 * `dmskit finish`: the operator lets go of the fall-back path once satisfied with the new primary: drops
 * the subscription on the old source, the slot and publications on the target (a forgotten slot retains
 * WAL and fills Aurora's storage) and the watermark tables. The old source stays fenced.
 * @throws UsageError when the cutover is not complete or there is no fall-back path
 */
export async function finish(o: FinishOptions): Promise<CommandOutcome> {
  const { config } = await loadConfigOption(o.config, o.cwd);
  const paths = statePaths(o, config);
  const store = fileStateStore(paths.cutover);
  const state = await store.load();
  if (!state?.readyAt)
    throw new UsageError(`no completed cutover of ${config.name} in ${paths.cutover}: nothing to finish`);
  if (!state.fallback || state.fallback.endedAt) {
    process.stdout.write(
      `the fall-back path of ${state.migration} ${state.fallback?.endedAt ? `was ended at ${state.fallback.endedAt}` : 'was never set up'}: nothing to do\n`,
    );
    return { exitCode: 0 };
  }
  const sourceUrl = sourceUrlOf(config, o.sourceUrl);
  const lock = await lockMigration({
    source: sourceUrl,
    migration: `${config.name}/${config.environment}`,
    file: `${paths.cutover}.lock`,
  });
  try {
    const removed = await endFallback(
      sourceUrl,
      targetUrlOf(o.targetUrl),
      fallbackNames(nativeObjectNames(config)),
      state.fallback,
    );
    await store.save(state);
    for (const r of removed) process.stdout.write(`removed ${r}\n`);
    process.stdout.write(
      `the fall-back path of ${state.migration} is ended: nothing of it is left on either server; the old source stays fenced\n`,
    );
    return { exitCode: 0 };
  } finally {
    await lock.release();
  }
}
