import { nativeObjectNames } from '@dmskit/shared';
import { closeQuietly, openConnection } from '@dmskit/validation';
import type { CommandOutcome } from '../cli.js';
import { startNativeMigration } from '../native/engine.js';
import { replicationStatus } from '../native/status.js';
import { formatBytes } from '../ui/format.js';
import { createProgress } from '../ui/progress.js';
import { sleep } from '../util/time.js';
import { loadConfigOption } from './config.js';
import { sourceUrlOf, targetUrlOf } from './context.js';

interface NativeOptions {
  readonly cwd: string;
  readonly config: string;
  readonly sourceUrl?: string;
  readonly targetUrl?: string;
  readonly json?: boolean;
}

async function sessions(o: NativeOptions) {
  const { config } = await loadConfigOption(o.config, o.cwd);
  const sourceUrl = sourceUrlOf(config, o.sourceUrl);
  const targetUrl = targetUrlOf(o.targetUrl);
  const source = await openConnection(sourceUrl, 'source', { applicationName: 'dmskit-control' });
  try {
    const target = await openConnection(targetUrl, 'target', { applicationName: 'dmskit-control' });
    return { config, sourceUrl, targetUrl, source, target };
  } catch (error) {
    await closeQuietly(source);
    throw error;
  }
}

/**
 * `dmskit start --engine native`: schema, publication and subscription, full load and post-data; returns
 * with CDC running on the servers (the subscription keeps applying changes after dmskit exits).
 */
export async function nativeStart(o: NativeOptions): Promise<CommandOutcome> {
  const s = await sessions(o);
  const progress = createProgress(process.stderr);
  try {
    const started = await startNativeMigration({
      config: s.config,
      sourceUrl: s.sourceUrl,
      targetUrl: s.targetUrl,
      source: s.source,
      target: s.target,
      progress,
    });
    await started.dump.dispose();
    process.stdout.write(
      `full load done: ${started.fullLoadRows} rows of ${started.tables.length} table(s) in ${started.fullLoadMs} ms; subscription ${started.names.subscription} is applying changes\n`,
    );
    return { exitCode: 0 };
  } finally {
    progress.stop();
    await Promise.all([closeQuietly(s.source), closeQuietly(s.target)]);
  }
}

/** `dmskit status --engine native [--watch]`: per-table state and lag of the subscription. */
export async function nativeStatus(
  o: NativeOptions & { watch?: boolean; interval?: number },
): Promise<CommandOutcome> {
  const s = await sessions(o);
  const progress = createProgress(process.stderr, { plainIntervalMs: 0 });
  try {
    for (;;) {
      const status = await replicationStatus(s.source, s.target, nativeObjectNames(s.config));
      if (o.json) process.stdout.write(`${JSON.stringify(status)}\n`);
      else if (o.watch) progress.frame(status);
      else {
        for (const t of status.tables)
          process.stdout.write(`${t.schema}.${t.table}: ${t.state} (${t.rows} rows)\n`);
        process.stdout.write(
          `lag: ${formatBytes(status.lagBytes)} / ${status.lagSeconds.toFixed(2)} s; full load ${status.fullLoadDone ? 'done' : 'in progress'}\n`,
        );
      }
      if (!o.watch) return { exitCode: 0 };
      await sleep((o.interval ?? 2) * 1000);
    }
  } finally {
    progress.stop();
    await Promise.all([closeQuietly(s.source), closeQuietly(s.target)]);
  }
}
